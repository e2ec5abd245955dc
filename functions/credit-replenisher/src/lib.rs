//! The monthly credit replenishment as a Lambda on the EventBridge schedule. The period is the
//! calendar month (UTC) of the event's `time`, or the event's `period` (`2026-11`) when an
//! operator runs it by hand. Any account that failed makes the invocation fail, so that
//! EventBridge's retry runs it again: the accounts already credited are skipped.

use igny8_domain::billing::replenish::{self, Report};
use igny8_domain::{ApiError, Services};
use serde_json::Value;
use time::OffsetDateTime;

/// Accounts credited at once.
pub const CONCURRENCY: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum ReplenishError {
    #[error("invalid period {0:?} (expected YYYY-MM)")]
    Period(String),
    #[error("replenishment failed: {0}")]
    Store(#[from] ApiError),
    #[error("{failed} of {total} accounts failed; the next run completes them")]
    Accounts { failed: usize, total: usize },
}

/// The billing period an event asks for.
pub fn period(event: &Value) -> Result<String, ReplenishError> {
    if let Some(text) = event["period"].as_str() {
        return replenish::parse_period(text).ok_or_else(|| ReplenishError::Period(text.to_owned()));
    }
    let at = event["time"]
        .as_str()
        .and_then(|t| OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(OffsetDateTime::now_utc);
    Ok(replenish::period_of(at))
}

/// Runs one replenishment for the event.
pub async fn handle(services: &Services, event: &Value) -> Result<Report, ReplenishError> {
    let period = period(event)?;
    let report = replenish::run(services, &period, CONCURRENCY).await?;
    if !report.errors.is_empty() {
        return Err(ReplenishError::Accounts { failed: report.errors.len(), total: report.total_accounts });
    }
    Ok(report)
}
