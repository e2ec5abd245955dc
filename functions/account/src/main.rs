use std::sync::Arc;

use igny8_domain::{Config, Services, telemetry};
use lambda_http::{Error, Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let services = Arc::new(Services::new(Config::from_env()?));
    lambda_http::run(service_fn(move |request: Request| {
        let services = Arc::clone(&services);
        async move { Ok::<_, Error>(account_function::handle(&services, request).await) }
    }))
    .await
}
