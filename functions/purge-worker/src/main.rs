//! The purge worker: deletes what a deleted sector or site held (`igny8_domain::purge`), asking
//! each module for its part (`igny8_domain::modules::purge_hooks`).

use std::sync::LazyLock;

use aws_lambda_events::event::sqs::SqsEvent;
use igny8_domain::purge::Hooks;

static HOOKS: LazyLock<Hooks> = LazyLock::new(igny8_domain::modules::purge_hooks);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), igny8_domain::http::LambdaError> {
    igny8_domain::runtime::run_events(|services, event: SqsEvent, deadline| async move {
        Ok(igny8_domain::purge::handle_batch(&services, &HOOKS, event, deadline).await)
    })
    .await
}
