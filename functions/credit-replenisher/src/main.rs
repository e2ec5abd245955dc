use std::sync::Arc;

use igny8_domain::{Config, Services, telemetry};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    // Clients are built on first use, inside the first invocation.
    let services = Arc::new(Services::new(Config::from_env()?));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let services = Arc::clone(&services);
        async move {
            let report = credit_replenisher::handle(&services, &event.payload).await?;
            Ok::<_, Error>(serde_json::to_value(report)?)
        }
    }))
    .await
}
