//! What the AWS requests of a piece of work cost. Every AWS client of [`crate::Services`] carries
//! a [`Metered`] interceptor that notes each request (one per operation called, its SDK retries
//! included): for the process, and for the work that [`measure`] runs, with the number of
//! sequential round trips it waited for. A request that starts while another request of the same
//! work is in flight shares its round trip; one that starts when none is begins a new one.
//!
//! Work running elsewhere at the same time (another job of a batch, another request) is not
//! counted: the meter is task-local, so what a piece of work spawns onto other tasks is not
//! counted either (the request pipeline and the job engine join their futures in place).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;

/// The AWS services the system calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    DynamoDb,
    Sqs,
    S3,
    SecretsManager,
}

const SERVICES: usize = 4;

impl Service {
    fn index(self) -> usize {
        self as usize
    }
}

/// The AWS requests of a piece of work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Requests to every service.
    pub requests: u64,
    /// Sequential round trips: the depth of the work's waiting, whatever ran side by side.
    pub round_trips: u64,
    /// DynamoDB items read (returned by `GetItem`, `BatchGetItem` and `Query`).
    pub items_read: u64,
    /// Thousandths of the DynamoDB capacity units consumed, when the work asked for them
    /// ([`measure_capacity`]).
    capacity_milli: u64,
    per_service: [u64; SERVICES],
}

impl Usage {
    /// The DynamoDB capacity units consumed (when the work asked: [`measure_capacity`]).
    pub fn capacity_units(&self) -> f64 {
        self.capacity_milli as f64 / 1000.0
    }

    /// The requests to one service.
    pub fn of(&self, service: Service) -> u64 {
        self.per_service[service.index()]
    }
}

#[derive(Debug, Default)]
struct Meter {
    requests: AtomicU64,
    round_trips: AtomicU64,
    in_flight: AtomicU64,
    items_read: AtomicU64,
    /// Thousandths of a capacity unit.
    capacity_milli: AtomicU64,
    /// Whether the store asks DynamoDB for the capacity its requests consume.
    wants_capacity: bool,
    per_service: [AtomicU64; SERVICES],
}

impl Meter {
    fn usage(&self) -> Usage {
        Usage {
            requests: self.requests.load(Relaxed),
            round_trips: self.round_trips.load(Relaxed),
            items_read: self.items_read.load(Relaxed),
            capacity_milli: self.capacity_milli.load(Relaxed),
            per_service: std::array::from_fn(|i| self.per_service[i].load(Relaxed)),
        }
    }

    fn start(&self, service: Service) {
        self.requests.fetch_add(1, Relaxed);
        self.per_service[service.index()].fetch_add(1, Relaxed);
        if self.in_flight.fetch_add(1, Relaxed) == 0 {
            self.round_trips.fetch_add(1, Relaxed);
        }
    }

    fn end(&self) {
        // Saturating: an execution that began outside the meter's scope ends inside it.
        let _ = self.in_flight.fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1));
    }
}

tokio::task_local! {
    static SCOPE: Arc<Meter>;
}

/// The whole process's requests (a Lambda process runs one function).
static PROCESS: std::sync::LazyLock<Meter> = std::sync::LazyLock::new(Meter::default);

/// The requests this process has sent so far, to every service.
pub fn process_usage() -> Usage {
    PROCESS.usage()
}

/// Runs `work` and answers, with its result, the AWS requests it made.
pub async fn measure<F: std::future::Future>(work: F) -> (F::Output, Usage) {
    run_metered(Meter::default(), work).await
}

/// [`measure`], the store asking DynamoDB what capacity each request consumed (a request
/// that asked for its own metrics: ordinary work does not ask).
pub async fn measure_capacity<F: std::future::Future>(work: F) -> (F::Output, Usage) {
    run_metered(Meter { wants_capacity: true, ..Meter::default() }, work).await
}

async fn run_metered<F: std::future::Future>(meter: Meter, work: F) -> (F::Output, Usage) {
    let meter = Arc::new(meter);
    let out = SCOPE.scope(Arc::clone(&meter), work).await;
    (out, meter.usage())
}

/// Whether the work running asks for the DynamoDB capacity its requests consume.
pub fn wants_capacity() -> bool {
    SCOPE.try_with(|m| m.wants_capacity).unwrap_or(false)
}

/// Notes DynamoDB capacity consumed (the store calls it with each answer that carries it).
pub fn capacity_consumed(units: f64) {
    if units.is_finite() && units > 0.0 {
        let _ = SCOPE.try_with(|m| m.capacity_milli.fetch_add((units * 1000.0).round() as u64, Relaxed));
    }
}

fn started(service: Service) {
    PROCESS.start(service);
    let _ = SCOPE.try_with(|m| m.start(service));
}

/// Notes DynamoDB items read (the store calls it with each answer).
pub fn items_read(n: u64) {
    PROCESS.items_read.fetch_add(n, Relaxed);
    let _ = SCOPE.try_with(|m| m.items_read.fetch_add(n, Relaxed));
}

fn ended() {
    PROCESS.end();
    let _ = SCOPE.try_with(|m| m.end());
}

/// The SDK interceptor that meters one client's requests.
#[derive(Debug, Clone, Copy)]
pub struct Metered(pub Service);

impl Intercept for Metered {
    fn name(&self) -> &'static str {
        "Metered"
    }

    fn read_before_execution(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        started(self.0);
        Ok(())
    }

    fn read_after_execution(
        &self,
        _: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        ended();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn request(service: Service) {
        started(service);
        tokio::task::yield_now().await;
        ended();
    }

    #[tokio::test]
    async fn requests_side_by_side_share_a_round_trip_and_requests_in_series_do_not() {
        let ((), usage) = measure(async {
            tokio::join!(request(Service::DynamoDb), request(Service::DynamoDb), request(Service::Sqs));
            request(Service::S3).await;
        })
        .await;
        assert_eq!((usage.requests, usage.round_trips), (4, 2));
        assert_eq!((usage.of(Service::DynamoDb), usage.of(Service::Sqs), usage.of(Service::S3)), (2, 1, 1));
        // Two pieces of work at once: each counts its own.
        let (((), one), ((), two)) = tokio::join!(
            measure(request(Service::DynamoDb)),
            measure(async {
                request(Service::DynamoDb).await;
                request(Service::DynamoDb).await;
            })
        );
        assert_eq!((one.requests, two.requests, two.round_trips), (1, 2, 2));
        let before = process_usage().requests;
        request(Service::SecretsManager).await;
        assert!(process_usage().requests > before);
    }
}
