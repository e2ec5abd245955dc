//! Usage analytics (`/api/v1/account/usage/analytics/`): per day or month, how many keywords,
//! clusters, ideas, tasks, content pieces and images an account created, and the credits it used
//! and received.
//!
//! The modules that create those records add to a per-day counter item in the same transaction
//! ([`count_write`]); credits come from the ledger, read by the time range of its UUID v7 ids.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};
use time::{Date, Duration, Month, OffsetDateTime};

use crate::access::Caller;
use crate::credits::LedgerEntry;
use crate::store::{self, Change, Key, Query, Write, keys, n};
use crate::{ApiError, Services};

pub const METRICS: &[&str] = &["keywords", "clusters", "ideas", "tasks", "content", "images"];
const USAGE_PREFIX: &str = "USAGE#";

fn day_key(day: Date) -> String {
    format!("{}{:04}-{:02}-{:02}", USAGE_PREFIX, day.year(), day.month() as u8, day.day())
}

/// The write that counts `amount` new records of `metric` for the account on the day of `at`.
pub fn count_write(account_id: &str, metric: &'static str, amount: i64, at: OffsetDateTime) -> Write {
    Write::Update(
        Change::new(Key::new(keys::account_pk(account_id), day_key(at.date())), "ADD #metric :n")
            .name("#metric", metric)
            .value(":n", n(amount)),
    )
}

/// The smallest UUID v7 of the millisecond `at` (for ledger range reads).
pub(crate) fn uuid_v7_floor(at: OffsetDateTime) -> String {
    let ms = (at.unix_timestamp_nanos() / 1_000_000).max(0) as u64;
    let bytes = [
        (ms >> 40) as u8,
        (ms >> 32) as u8,
        (ms >> 24) as u8,
        (ms >> 16) as u8,
        (ms >> 8) as u8,
        ms as u8,
        0x70,
        0,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    ];
    uuid::Uuid::from_bytes(bytes).to_string()
}

pub(crate) fn parse_date(query: &HashMap<String, String>, name: &str) -> Result<Option<Date>, ApiError> {
    let Some(text) = query.get(name).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format).map(Some).map_err(|_| ApiError::field(name, "Date has wrong format. Use YYYY-MM-DD."))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Period {
    Day,
    Month,
}

fn bucket(period: Period, day: Date) -> String {
    match period {
        Period::Day => format!("{:04}-{:02}-{:02}", day.year(), day.month() as u8, day.day()),
        Period::Month => format!("{:04}-{:02}", day.year(), day.month() as u8),
    }
}

/// Counts per period between `start_date` and `end_date` (inclusive; default the last 30 days
/// by day, or the last 6 months by month).
pub async fn analytics(
    services: &Services,
    caller: &Caller,
    query: &HashMap<String, String>,
) -> Result<Value, ApiError> {
    caller.require_manager()?;
    let period = match query.get("period").map(String::as_str).unwrap_or("month") {
        "day" => Period::Day,
        "month" => Period::Month,
        _ => return Err(ApiError::field("period", "Choose \"day\" or \"month\".")),
    };
    let today = OffsetDateTime::now_utc().date();
    let end = parse_date(query, "end_date")?.unwrap_or(today);
    let start = match parse_date(query, "start_date")? {
        Some(d) => d,
        None if period == Period::Day => end - Duration::days(29),
        None => {
            let (mut y, mut m) = (end.year(), end.month() as u8 as i32 - 5);
            if m < 1 {
                m += 12;
                y -= 1;
            }
            Date::from_calendar_date(y, Month::try_from(m as u8).unwrap_or(Month::January), 1).unwrap_or(end)
        }
    };
    if start > end {
        return Err(ApiError::field("start_date", "The start date must not be after the end date."));
    }
    if end - start > Duration::days(366 * 2) {
        return Err(ApiError::field("start_date", "Ask for at most two years at a time."));
    }

    let mut buckets: BTreeMap<String, BTreeMap<&str, i64>> = BTreeMap::new();
    let mut day = start;
    while day <= end {
        let entry = buckets.entry(bucket(period, day)).or_default();
        for metric in METRICS.iter().chain(&["credits_used", "credits_added"]) {
            entry.entry(metric).or_insert(0);
        }
        day += Duration::days(1);
    }
    let store = services.store().await;
    let pk = keys::account_pk(caller.account_id());
    let counters = store.query_all(Query::partition(&pk).sk_between(day_key(start), day_key(end))).await?;
    for item in counters {
        let Some(date) = item
            .get(keys::SK)
            .and_then(|v| v.as_s().ok())
            .and_then(|sk| sk.strip_prefix(USAGE_PREFIX))
            .map(str::to_owned)
        else {
            continue;
        };
        let Ok(Some(day)) = parse_date(&HashMap::from([("d".to_owned(), date)]), "d") else {
            continue;
        };
        let entry = buckets.entry(bucket(period, day)).or_default();
        for metric in METRICS {
            let value = item.get(*metric).and_then(|v| v.as_n().ok()).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
            *entry.entry(metric).or_insert(0) += value;
        }
    }
    let from = start.midnight().assume_utc();
    let to = (end + Duration::days(1)).midnight().assume_utc();
    let ledger = store
        .query_all(Query::partition(&pk).sk_between(
            format!("{}{}", keys::LEDGER_PREFIX, uuid_v7_floor(from)),
            format!("{}{}", keys::LEDGER_PREFIX, uuid_v7_floor(to)),
        ))
        .await?;
    for item in ledger {
        let entry: LedgerEntry = store::decode(item)?;
        let counts = buckets.entry(bucket(period, entry.created_at.date())).or_default();
        let metric = if entry.amount < 0 { "credits_used" } else { "credits_added" };
        *counts.entry(metric).or_insert(0) += entry.amount.abs();
    }

    let mut totals: BTreeMap<&str, i64> = BTreeMap::new();
    let periods: Vec<Value> = buckets
        .into_iter()
        .map(|(label, counts)| {
            for (k, v) in &counts {
                *totals.entry(k).or_insert(0) += v;
            }
            let mut value = json!(counts);
            value["period"] = json!(label);
            value
        })
        .collect();
    Ok(crate::http::answer(Analytics {
        period: if period == Period::Day { "day" } else { "month" },
        start_date: bucket(Period::Day, start),
        end_date: bucket(Period::Day, end),
        periods,
        totals: totals.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        credits_balance: caller.account.credits,
    }))
}

/// Credits used and AI operations run, by day or month.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Analytics {
    /// `day` or `month`: the size of a period.
    pub period: &'static str,
    pub start_date: String,
    pub end_date: String,
    /// One object per period: `period` (its label) and a count per metric (`credits_used`,
    /// `credits_added` and the operations run).
    pub periods: Vec<Value>,
    /// Metric → its total over the range.
    pub totals: BTreeMap<String, i64>,
    pub credits_balance: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v7_floor_orders_with_real_ids() {
        let now = OffsetDateTime::now_utc();
        let before = uuid_v7_floor(now - Duration::seconds(1));
        let id = crate::ids::new_id();
        let after = uuid_v7_floor(now + Duration::seconds(1));
        assert!(before < id && id < after, "{before} < {id} < {after}");
    }
}
