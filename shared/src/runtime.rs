//! Running a function that is not an HTTP API (a queue's worker, a scheduled job): the same
//! start-up as the API functions (telemetry, the configuration, clients built on first use), then
//! `handle` once per event.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};

use crate::http::LambdaError;
use crate::{Config, Services, telemetry};

/// Runs `handle` for every event the Lambda runtime delivers, with the container's services and
/// the invocation's deadline.
pub async fn run_events<E, R, F, Fut>(handle: F) -> Result<(), LambdaError>
where
    E: serde::de::DeserializeOwned + Send + 'static,
    R: serde::Serialize + Send + 'static,
    F: Fn(Arc<Services>, E, Option<Instant>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<R, LambdaError>> + Send + 'static,
{
    telemetry::init();
    let services = Arc::new(Services::new(Config::from_env()?));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<E>| {
        let deadline = deadline_of(event.context.deadline);
        handle(Arc::clone(&services), event.payload, deadline)
    }))
    .await
}

/// The invocation's deadline (epoch milliseconds, from the runtime) as an `Instant`; none when
/// it is not a time to come.
pub fn deadline_of(deadline_ms: u64) -> Option<Instant> {
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_millis() as u64;
    deadline_ms.checked_sub(now_ms).filter(|left| *left > 0).map(|left| Instant::now() + Duration::from_millis(left))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_to_come_is_an_instant_and_one_past_is_none() {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let deadline = deadline_of(now_ms + 60_000).expect("a minute from now");
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(left > Duration::from_secs(58) && left <= Duration::from_secs(60), "{left:?}");
        assert_eq!(deadline_of(now_ms.saturating_sub(1_000)), None);
        assert_eq!(deadline_of(0), None);
    }
}
