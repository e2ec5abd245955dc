//! What the queue workers share about SQS deliveries: the queue a message came from, and a failed
//! message's next delivery after a short backoff.
//!
//! With `ReportBatchItemFailures`, a message the worker reports as failed becomes visible again
//! only when its visibility timeout ends, and that timeout is at least six times the worker's
//! timeout (AWS's guidance for SQS event sources). So the worker sets the failed message's
//! visibility itself to a backoff of `retry_delay × 2^(receives − 1)`, at most five minutes: a
//! failure is retried within minutes, and only an invocation that crashed or timed out waits out
//! the whole visibility timeout.

use std::time::Duration;

use aws_lambda_events::event::sqs::SqsMessage;

use crate::{Config, Services};

/// The longest wait before a failed message is delivered again.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// The configured queue `message` came from: the one whose URL ends with the queue name that ends
/// the message's `eventSourceARN`.
pub fn url_of<'c>(config: &'c Config, message: &SqsMessage) -> Option<&'c str> {
    let name = message.event_source_arn.as_deref()?.rsplit(':').next()?;
    [&config.ai_jobs_queue_url, &config.image_jobs_queue_url, &config.purge_queue_url, &config.publish_queue_url]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .find(|url| url.trim_end_matches('/').rsplit('/').next() == Some(name))
}

/// The wait before the `receives + 1`-th delivery.
pub fn backoff(base: Duration, receives: u32) -> Duration {
    base.saturating_mul(1 << receives.saturating_sub(1).min(16)).min(MAX_BACKOFF)
}

/// How many times `message` was received (this delivery included).
pub fn receives(message: &SqsMessage) -> u32 {
    message.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1)
}

/// Makes a message the worker reports as failed visible again after its backoff. When that
/// cannot be done, the queue's visibility timeout applies (later, not lost).
pub async fn retry_later(services: &Services, message: &SqsMessage) {
    let (Some(url), Some(handle)) = (url_of(&services.config, message), message.receipt_handle.as_deref()) else {
        return;
    };
    let wait = backoff(services.config.retry_delay, receives(message));
    let changed = services
        .sqs()
        .await
        .change_message_visibility()
        .queue_url(url)
        .receipt_handle(handle)
        .visibility_timeout(wait.as_secs() as i32)
        .send()
        .await;
    if let Err(err) = changed {
        tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(err), "the failed message keeps the queue's visibility timeout");
    }
}

/// Sends `message`'s body again to its queue as a new message (its receive count starts over):
/// the continuation of work that stopped at its deadline with progress saved.
pub async fn continue_in_new_message(services: &Services, message: &SqsMessage) -> Result<(), String> {
    let url = url_of(&services.config, message).ok_or("the message's queue is not configured")?;
    services.send_message(url, message.body.clone().unwrap_or_default()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_up_to_five_minutes() {
        let base = Duration::from_secs(30);
        let waits: Vec<u64> = (1..=6).map(|r| backoff(base, r).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 300, 300]);
        assert_eq!(backoff(Duration::ZERO, 3), Duration::ZERO);
        assert_eq!(backoff(base, u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn a_message_finds_its_queue_by_the_name_ending_its_arn() {
        let mut config = Config::from_lookup(|name| match name {
            "TABLE_NAME" => Some("t".into()),
            "JWT_SECRET_ID" => Some("s".into()),
            "AI_JOBS_QUEUE_URL" => Some("https://sqs.eu-west-1.amazonaws.com/1/stack-AiJobsQueue-X".into()),
            "PURGE_QUEUE_URL" => Some("http://127.0.0.1:4566/000000000000/stack-PurgeQueue-Y".into()),
            _ => None,
        })
        .unwrap();
        let mut message = SqsMessage::default();
        message.event_source_arn = Some("arn:aws:sqs:eu-west-1:1:stack-PurgeQueue-Y".into());
        assert_eq!(url_of(&config, &message), Some("http://127.0.0.1:4566/000000000000/stack-PurgeQueue-Y"));
        message.event_source_arn = Some("arn:aws:sqs:eu-west-1:1:stack-AiJobsQueue".into());
        assert_eq!(url_of(&config, &message), None, "a name is matched whole");
        config.purge_queue_url = None;
        message.event_source_arn = Some("arn:aws:sqs:eu-west-1:1:stack-PurgeQueue-Y".into());
        assert_eq!(url_of(&config, &message), None);
    }
}
