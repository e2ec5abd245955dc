//! The AI worker: one SQS batch of job messages in, the ids of the messages to deliver again out
//! (`ReportBatchItemFailures`). A thin adapter over [`igny8_domain::ai::worker`].

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use igny8_domain::Services;
use igny8_domain::ai::worker::{self, Outcome};
use igny8_domain::jobs::JobMessage;

async fn one(services: &Services, message: &SqsMessage) -> Result<(), String> {
    let body = message.body.as_deref().unwrap_or_default();
    let Ok(job) = serde_json::from_str::<JobMessage>(body) else {
        // Not a job message: retrying cannot help; let it reach the DLQ for a person to look at.
        return Err("unreadable message".into());
    };
    let receives = message.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1);
    let config = &services.config;
    match worker::handle(services, &job, receives, config.job_max_receives, config.provider_retry).await {
        Ok(Outcome::Done) => Ok(()),
        Ok(Outcome::Retry(reason)) => Err(reason),
        Err(err) => Err(err.to_string()),
    }
}

/// Handles a batch; the messages of the batch run concurrently.
pub async fn handle(services: &Services, event: SqsEvent) -> SqsBatchResponse {
    let results = futures_util::future::join_all(event.records.iter().map(|m| one(services, m))).await;
    let mut response = SqsBatchResponse::default();
    for (message, result) in event.records.iter().zip(results) {
        if let Err(reason) = result {
            tracing::warn!(message_id = ?message.message_id, reason = %reason, "job message will be delivered again");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message.message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    response
}
