//! What one request cost, for a developer: recorded only for an authenticated request that asks
//! with `X-Debug-Resource-Tracking: 1` (the original's header), answered in
//! `X-Resource-Tracking-Id`, read at `system/request-metrics/{request_id}/` and kept a day.
//!
//! An ordinary request pays nothing for it: the store asks DynamoDB for consumed capacity only
//! inside a tracked request ([`crate::metering::measure_capacity`]), and nothing is written.
//! Stored as `REQMETRICS#<request id>` / `REQMETRICS`, written once (a request id sent again by a
//! client does not replace the first request's metrics), with `expires_at` a day on.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::metering::{Service, Usage};
use crate::store::{Condition, Item, Key, StoreError};
use crate::{ApiError, Services};

/// The request header that asks for the request's metrics.
pub const ASK_HEADER: &str = "x-debug-resource-tracking";
/// The answer header naming the metrics' id (the request id).
pub const ID_HEADER: &str = "x-resource-tracking-id";
/// How long metrics are kept.
pub const KEEP_SECONDS: i64 = 24 * 60 * 60;

/// Whether a request asks for its metrics (`1`, `true`, `yes` or `on`).
pub fn asked(headers: &http::HeaderMap) -> bool {
    headers
        .get(ASK_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| ["1", "true", "yes", "on"].contains(&v.trim().to_ascii_lowercase().as_str()))
}

/// What one request cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RequestMetrics {
    pub request_id: String,
    /// `GET /api/v1/planner/keywords/`, the route matched.
    pub route: String,
    pub status: u16,
    pub account_id: String,
    pub user_id: String,
    /// The function that served it (`AWS_LAMBDA_FUNCTION_NAME`; `local` outside Lambda).
    pub function: String,
    pub duration_ms: f64,
    /// CPU time of the thread that ran the request, when the system tells it.
    pub cpu_ms: Option<f64>,
    /// The function's configured memory (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`).
    pub memory_mb: Option<u32>,
    /// The process's resident memory after the request, and its peak so far.
    pub rss_mb: Option<f64>,
    pub peak_rss_mb: Option<f64>,
    /// AWS requests the request made (its SDK retries included), and how many it waited for in
    /// turn.
    pub aws_requests: u64,
    pub round_trips: u64,
    pub dynamodb_requests: u64,
    pub sqs_requests: u64,
    pub s3_requests: u64,
    pub secrets_manager_requests: u64,
    pub dynamodb_items_read: u64,
    pub dynamodb_capacity_units: f64,
    #[schema(format = DateTime)]
    pub recorded_at: String,
}

/// A request's measures, before the metrics are made.
#[derive(Debug)]
pub struct Measured {
    pub request_id: String,
    pub route: String,
    pub status: u16,
    pub account_id: String,
    pub user_id: String,
    pub duration_ms: f64,
    pub cpu_ms: Option<f64>,
    pub usage: Usage,
}

impl RequestMetrics {
    pub fn new(m: Measured) -> Self {
        let (rss_mb, peak_rss_mb) = memory();
        let round = |v: f64| (v * 1000.0).round() / 1000.0;
        Self {
            request_id: m.request_id,
            route: m.route,
            status: m.status,
            account_id: m.account_id,
            user_id: m.user_id,
            function: std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".into()),
            duration_ms: round(m.duration_ms),
            cpu_ms: m.cpu_ms.map(round),
            memory_mb: std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").ok().and_then(|v| v.parse().ok()),
            rss_mb,
            peak_rss_mb,
            aws_requests: m.usage.requests,
            round_trips: m.usage.round_trips,
            dynamodb_requests: m.usage.of(Service::DynamoDb),
            sqs_requests: m.usage.of(Service::Sqs),
            s3_requests: m.usage.of(Service::S3),
            secrets_manager_requests: m.usage.of(Service::SecretsManager),
            dynamodb_items_read: m.usage.items_read,
            dynamodb_capacity_units: round(m.usage.capacity_units()),
            recorded_at: OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default(),
        }
    }

    fn key(request_id: &str) -> Key {
        Key::new(format!("REQMETRICS#{request_id}"), "REQMETRICS")
    }

    /// Keeps the metrics a day; `false` when a request with this id was recorded already.
    pub async fn record(&self, services: &Services) -> Result<bool, ApiError> {
        let expires = OffsetDateTime::now_utc().unix_timestamp() + KEEP_SECONDS;
        let item = Item::new(&Self::key(&self.request_id), "RequestMetrics", self)?.expires_at(expires);
        match services.store().await.put(item, Some(Condition::not_exists())).await {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// A request's metrics, if they were recorded and are not a day old.
    pub async fn find(services: &Services, request_id: &str) -> Result<Option<Self>, ApiError> {
        if request_id.is_empty() || request_id.len() > 128 {
            return Ok(None);
        }
        let raw = services.store().await.get_raw(&Self::key(request_id)).await?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        // DynamoDB deletes expired items late: one past its day is gone already.
        let live = raw.filter(|item| {
            item.get(crate::store::keys::TTL)
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<i64>().ok())
                .is_none_or(|at| at > now)
        });
        Ok(live.map(crate::store::decode).transpose()?)
    }
}

/// CPU time this thread has run, in milliseconds (Linux's `schedstat`), if the system tells it.
pub fn thread_cpu_ms() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(nanos / 1_000_000.0)
}

/// The process's resident memory and its peak, in MiB (Linux's `/proc/self/status`).
fn memory() -> (Option<f64>, Option<f64>) {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return (None, None);
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map(|kib| (kib / 1024.0 * 100.0).round() / 100.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_request_that_asks_is_tracked() {
        let mut headers = http::HeaderMap::new();
        assert!(!asked(&headers));
        headers.insert(ASK_HEADER, http::HeaderValue::from_static("0"));
        assert!(!asked(&headers));
        headers.insert(ASK_HEADER, http::HeaderValue::from_static("True"));
        assert!(asked(&headers));
        let metrics = RequestMetrics::new(Measured {
            request_id: "r".into(),
            route: "GET /x/".into(),
            status: 200,
            account_id: "a".into(),
            user_id: "u".into(),
            duration_ms: 1.23456,
            cpu_ms: thread_cpu_ms(),
            usage: Usage::default(),
        });
        assert_eq!(metrics.duration_ms, 1.235);
        assert!(metrics.peak_rss_mb.unwrap_or(1.0) > 0.0);
    }
}
