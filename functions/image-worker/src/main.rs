//! The image worker: the same job pipeline as the AI worker, on its own queue so that slow image
//! generation never holds up text jobs.

use aws_lambda_events::event::sqs::SqsEvent;

#[tokio::main]
async fn main() -> Result<(), igny8_domain::http::LambdaError> {
    igny8_domain::runtime::run_events(|services, event: SqsEvent| async move {
        Ok(igny8_domain::ai::worker::handle_batch(&services, event).await)
    })
    .await
}
