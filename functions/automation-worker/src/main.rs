#![recursion_limit = "256"] // a run's step (a stage's jobs queued in turn, through the runtime) is deep

//! The automation worker: each message advances one run by one step
//! (`igny8_domain::automation::worker`).

use aws_lambda_events::event::sqs::SqsEvent;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), igny8_domain::http::LambdaError> {
    igny8_domain::runtime::run_events(|services, event: SqsEvent, _deadline| async move {
        Ok(igny8_domain::automation::worker::handle_batch(&services, event).await)
    })
    .await
}
