use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use igny8_domain::{Config, Services, telemetry};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let services = Arc::new(Services::new(Config::from_env()?));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let services = Arc::clone(&services);
        async move { Ok::<_, Error>(ai_worker::handle(&services, event.payload).await) }
    }))
    .await
}
