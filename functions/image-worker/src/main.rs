//! The image worker: the same job pipeline as the AI worker, on its own queue so that slow image
//! generation never holds up text jobs.

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
        async move { Ok::<_, Error>(igny8_domain::ai::worker::handle_batch(&services, event.payload).await) }
    }))
    .await
}
