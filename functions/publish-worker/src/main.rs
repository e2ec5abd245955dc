#![recursion_limit = "256"] // the publish future (a post's calls in turn, through the runtime) is deep

//! The publish worker: one message per publishing record, or a site's sync (`igny8_domain::publisher::run`).

use aws_lambda_events::event::sqs::SqsEvent;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), igny8_domain::http::LambdaError> {
    igny8_domain::runtime::run_events(|services, event: SqsEvent, deadline| async move {
        Ok(igny8_domain::publisher::run::handle_batch(&services, event, deadline).await)
    })
    .await
}
