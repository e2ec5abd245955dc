//! Running a function that is not an HTTP API (a queue's worker, a scheduled job): the same
//! start-up as the API functions (telemetry, the configuration, clients built on first use), then
//! `handle` once per event.

use std::future::Future;
use std::sync::Arc;

use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};

use crate::http::LambdaError;
use crate::{Config, Services, telemetry};

/// Runs `handle` for every event the Lambda runtime delivers, with the container's services.
pub async fn run_events<E, R, F, Fut>(handle: F) -> Result<(), LambdaError>
where
    E: serde::de::DeserializeOwned + Send + 'static,
    R: serde::Serialize + Send + 'static,
    F: Fn(Arc<Services>, E) -> Fut + Send + 'static,
    Fut: Future<Output = Result<R, LambdaError>> + Send + 'static,
{
    telemetry::init();
    let services = Arc::new(Services::new(Config::from_env()?));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<E>| handle(Arc::clone(&services), event.payload))).await
}
