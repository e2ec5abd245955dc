#![recursion_limit = "256"] // a slot's run started through the runtime is deep

//! The automation scheduler: every 15 minutes, the runs that are due
//! (`igny8_domain::automation::schedule::run_due`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), igny8_domain::http::LambdaError> {
    igny8_domain::runtime::run_events(|services, _event: serde_json::Value, _deadline| async move {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let pass = igny8_domain::automation::schedule::run_due(&services, now).await?;
        tracing::info!(due = pass.due, started = pass.started, "automation schedule pass");
        Ok(serde_json::json!({"due": pass.due, "started": pass.started}))
    })
    .await
}
