#![recursion_limit = "256"] // the replenishment's future (accounts credited concurrently) is deep

#[tokio::main]
async fn main() -> Result<(), igny8_domain::http::LambdaError> {
    igny8_domain::runtime::run_events(|services, event: serde_json::Value, _deadline| async move {
        Ok(credit_replenisher::handle(&services, &event).await?)
    })
    .await
}
