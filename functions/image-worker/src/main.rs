//! The image worker: the same job pipeline as the AI worker, on its own queue so that slow image
//! generation never holds up text jobs.

use std::sync::LazyLock;

use aws_lambda_events::event::sqs::SqsEvent;
use igny8_domain::ai::Registry;

/// The AI functions of every module, registered once per container.
static FUNCTIONS: LazyLock<Registry> = LazyLock::new(igny8_domain::modules::ai_functions);

#[tokio::main]
async fn main() -> Result<(), igny8_domain::http::LambdaError> {
    igny8_domain::runtime::run_events(|services, event: SqsEvent, deadline| async move {
        Ok(igny8_domain::ai::worker::handle_batch(&services, &FUNCTIONS, event, deadline).await)
    })
    .await
}
