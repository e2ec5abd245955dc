//! The AI worker: one SQS batch of job messages in, the ids of the messages to deliver again out
//! (`ReportBatchItemFailures`). A thin adapter over [`igny8_domain::ai::worker`].

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use igny8_domain::Services;

/// Handles a batch; the messages of the batch run concurrently.
pub async fn handle(services: &Services, event: SqsEvent) -> SqsBatchResponse {
    igny8_domain::ai::worker::handle_batch(services, event).await
}
