//! Local stand-in for the SQS event source mappings: polls a queue of the local endpoint and
//! hands the messages to the worker function as the SQS event it gets in AWS, with the deadline
//! its `Timeout` gives, deleting what the worker finished and leaving what it reported as failed
//! to the queue (the worker sets when it comes back, `igny8_domain::queue`). The queue's redrive
//! policy moves a message to its DLQ after its last receive, as in AWS.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use serde_json::json;

pub type SqsHandler =
    Arc<dyn Fn(SqsEvent, Option<Instant>) -> Pin<Box<dyn Future<Output = SqsBatchResponse> + Send>> + Send + Sync>;

/// Polls `queue_url` until the task is dropped. Short polls (the local endpoint serialises
/// requests, so a long poll would hold everyone up).
pub async fn poll(
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    handler: SqsHandler,
    batch_size: i32,
    timeout: Duration,
) {
    loop {
        let received = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(batch_size)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .wait_time_seconds(0)
            .send()
            .await;
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(err) => {
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(err), "receive failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if messages.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let deadline = Instant::now() + timeout;
        let queue_name = queue_url.rsplit('/').next().unwrap_or_default();
        let records: Vec<serde_json::Value> = messages
            .iter()
            .map(|m| {
                let attributes: serde_json::Map<String, serde_json::Value> = m
                    .attributes()
                    .map(|a| a.iter().map(|(k, v)| (k.as_str().to_owned(), json!(v))).collect())
                    .unwrap_or_default();
                json!({
                    "messageId": m.message_id(), "receiptHandle": m.receipt_handle(), "body": m.body(),
                    "attributes": attributes, "messageAttributes": {}, "md5OfBody": m.md5_of_body(),
                    "eventSource": "aws:sqs", "eventSourceARN": format!("arn:aws:sqs:us-east-1:000000000000:{queue_name}"),
                    "awsRegion": "us-east-1",
                })
            })
            .collect();
        let event: SqsEvent = match serde_json::from_value(json!({"Records": records})) {
            Ok(event) => event,
            Err(err) => {
                tracing::error!(error = %err, "could not build the SQS event");
                continue;
            }
        };
        let response = handler(event, Some(deadline)).await;
        for m in &messages {
            let failed =
                response.batch_item_failures.iter().any(|f| Some(f.item_identifier.as_str()) == m.message_id());
            let Some(handle) = m.receipt_handle().filter(|_| !failed) else { continue };
            let deleted = sqs.delete_message().queue_url(&queue_url).receipt_handle(handle).send().await;
            if let Err(err) = deleted {
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(err), "could not delete a message");
            }
        }
    }
}

/// Starts a poller for every SQS worker of the template; the tasks end with the runtime.
pub fn start_all(
    template: &crate::template::Template,
    queue_urls: &std::collections::HashMap<String, String>,
    handlers: &std::collections::HashMap<&'static str, SqsHandler>,
    sqs: &aws_sdk_sqs::Client,
) -> Result<(), String> {
    for worker in &template.sqs_workers {
        let handler = handlers
            .get(worker.binary.as_str())
            .ok_or_else(|| format!("no local handler for worker {}", worker.binary))?;
        let url = queue_urls.get(&worker.queue).ok_or_else(|| format!("no queue {} was bootstrapped", worker.queue))?;
        let timeout = Duration::from_secs(worker.timeout_seconds);
        tokio::spawn(poll(sqs.clone(), url.clone(), Arc::clone(handler), worker.batch_size, timeout));
    }
    Ok(())
}
