//! The AI worker: one SQS batch of job messages in, the ids of the messages to deliver again out
//! (`ReportBatchItemFailures`). A thin adapter over [`igny8_domain::ai::worker`], running the
//! modules' AI functions.

use std::sync::LazyLock;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use igny8_domain::Services;
use igny8_domain::ai::Registry;

/// The AI functions of every module, registered once per container.
pub static FUNCTIONS: LazyLock<Registry> = LazyLock::new(igny8_domain::modules::ai_functions);

/// Handles a batch; the messages of the batch run concurrently, until `deadline`.
pub async fn handle(services: &Services, event: SqsEvent, deadline: Option<std::time::Instant>) -> SqsBatchResponse {
    igny8_domain::ai::worker::handle_batch(services, &FUNCTIONS, event, deadline).await
}
