//! The credit views: balance, usage log (list, summary, limits) and ledger transactions. Ledger
//! and usage ids are UUID v7, so a date range is a key range of the account's partition.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use time::{Date, OffsetDateTime, Time};

use crate::access::Caller;
use crate::credits::{LedgerEntry, USAGE_LOG_PREFIX, UsageLog};
use crate::store::{Key, Query, keys};
use crate::usage::{parse_date, uuid_v7_floor};
use crate::{ApiError, Services, reference};

const TRANSACTION_TYPES: &[&str] =
    &["purchase", "subscription", "refund", "deduction", "adjustment", "reservation", "settlement"];

fn start_of_month(now: OffsetDateTime) -> OffsetDateTime {
    now.replace_day(1).unwrap_or(now).replace_time(Time::MIDNIGHT)
}

/// The SK range of `prefix` items created between `from` and `to` (whole days, inclusive).
fn sk_range(prefix: &str, from: Option<Date>, to: Option<Date>) -> (String, String) {
    let low =
        from.map_or_else(|| prefix.to_owned(), |d| format!("{prefix}{}", uuid_v7_floor(d.midnight().assume_utc())));
    let high = to.map_or_else(
        || format!("{prefix}\u{10ffff}"),
        |d| format!("{prefix}{}", uuid_v7_floor(d.next_day().unwrap_or(d).midnight().assume_utc())),
    );
    (low, high)
}

fn dates(query: &HashMap<String, String>) -> Result<(Option<Date>, Option<Date>), ApiError> {
    let (from, to) = (parse_date(query, "start_date")?, parse_date(query, "end_date")?);
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(ApiError::field("end_date", "The end date is before the start date."));
    }
    Ok((from, to))
}

async fn usage_logs(
    services: &Services,
    account_id: &str,
    from: Option<Date>,
    to: Option<Date>,
) -> Result<Vec<Value>, ApiError> {
    let (low, high) = sk_range(USAGE_LOG_PREFIX, from, to);
    let query = Query::partition(keys::account_pk(account_id)).sk_between(low, high).newest_first();
    let items = services.store().await.query_all(query).await?;
    let logs = items.into_iter().map(crate::store::decode::<UsageLog>).collect::<Result<Vec<_>, _>>()?;
    Ok(logs.iter().map(UsageLog::to_json).collect())
}

fn credits_of(log: &Value) -> i64 {
    log["credits_used"].as_i64().unwrap_or(0)
}

/// `credits/balance/`: the balance, the plan's monthly credits and this month's use.
pub async fn balance(services: &Services, caller: &Caller) -> Result<Value, ApiError> {
    let now = OffsetDateTime::now_utc();
    let used: i64 = usage_logs(services, caller.account_id(), Some(start_of_month(now).date()), Some(now.date()))
        .await?
        .iter()
        .map(credits_of)
        .sum();
    let plan = reference::plan(&caller.account.plan_id)?;
    Ok(crate::http::answer(Balance {
        credits: caller.account.credits,
        plan_credits_per_month: plan.map_or(0, |p| p.included_credits),
        credits_used_this_month: used,
        credits_remaining: caller.account.credits,
    }))
}

/// The account's credit balance and this month's use.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Balance {
    pub credits: i64,
    pub plan_credits_per_month: i64,
    pub credits_used_this_month: i64,
    pub credits_remaining: i64,
}

/// Credits used, by operation, over a period.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct UsageSummary {
    pub total_credits_used: i64,
    pub total_cost_usd: f64,
    pub total_calls: usize,
    /// Operation → credits.
    pub by_operation: BTreeMap<String, i64>,
    pub by_operation_detail: Vec<OperationUsage>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
}

/// One operation's use over the period.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct OperationUsage {
    pub operation_type: String,
    pub credits: i64,
    pub cost_usd: f64,
    pub calls: i64,
}

/// The plan's limits and how much of them is used.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Limits {
    pub limits: Vec<Limit>,
}

/// One limit: what it allows, what is used, what is left (`null` where it does not apply).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Limit {
    pub title: &'static str,
    pub limit: Option<i64>,
    pub used: Option<i64>,
    pub available: Option<i64>,
    pub unit: &'static str,
    pub category: &'static str,
    /// Of the limit used, to one decimal.
    pub percentage: Option<f64>,
}

/// `credits/usage/`: the usage log, newest first; filters `operation_type`, `start_date`, `end_date`.
pub async fn usage(
    services: &Services,
    caller: &Caller,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    let (from, to) = dates(query)?;
    let mut logs = usage_logs(services, caller.account_id(), from, to).await?;
    if let Some(op) = query.get("operation_type").filter(|o| !o.is_empty()) {
        logs.retain(|l| l["operation_type"].as_str() == Some(op.as_str()));
    }
    Ok(logs)
}

/// `credits/usage/{id}/`.
pub async fn usage_entry(services: &Services, caller: &Caller, id: &str) -> Result<Value, ApiError> {
    let log: UsageLog = services.store().await.by_id(id, |id| UsageLog::key(caller.account_id(), id)).await?;
    Ok(log.to_json())
}

/// `credits/usage/summary/`: totals and per operation, credits and USD.
pub async fn summary(services: &Services, caller: &Caller, query: &HashMap<String, String>) -> Result<Value, ApiError> {
    let (from, to) = dates(query)?;
    let logs = usage_logs(services, caller.account_id(), from, to).await?;
    let mut by_operation: BTreeMap<String, (i64, f64, u64)> = BTreeMap::new();
    for log in &logs {
        let entry = by_operation.entry(log["operation_type"].as_str().unwrap_or("other").to_owned()).or_default();
        entry.0 += credits_of(log);
        entry.1 += log["cost_usd"].as_f64().unwrap_or(0.0);
        entry.2 += 1;
    }
    let round = |usd: f64| (usd * 1_000_000.0).round() / 1_000_000.0;
    Ok(crate::http::answer(UsageSummary {
        total_credits_used: by_operation.values().map(|e| e.0).sum::<i64>(),
        total_cost_usd: round(by_operation.values().map(|e| e.1).sum::<f64>()),
        total_calls: logs.len(),
        by_operation: by_operation.iter().map(|(op, e)| (op.clone(), e.0)).collect(),
        by_operation_detail: by_operation
            .iter()
            .map(|(op, e)| OperationUsage {
                operation_type: op.clone(),
                credits: e.0,
                cost_usd: round(e.1),
                calls: e.2 as i64,
            })
            .collect(),
        start_date: from.map(|d| d.to_string()),
        end_date: to.map(|d| d.to_string()),
    }))
}

/// `credits/usage/limits/`: the plan's monthly credits against this month's use, the balance, use
/// per kind of operation, and the plan's user and site limits.
pub async fn limits(services: &Services, caller: &Caller) -> Result<Value, ApiError> {
    let Some(plan) = reference::plan(&caller.account.plan_id)? else {
        return Ok(crate::http::answer(Limits { limits: Vec::new() }));
    };
    let now = OffsetDateTime::now_utc();
    let logs = usage_logs(services, caller.account_id(), Some(start_of_month(now).date()), Some(now.date())).await?;
    let used_by = |ops: &[&str]| -> i64 {
        logs.iter().filter(|l| l["operation_type"].as_str().is_some_and(|o| ops.contains(&o))).map(credits_of).sum()
    };
    let used: i64 = logs.iter().map(credits_of).sum();
    let limit = plan.included_credits;
    let pct = |used: i64, limit: i64| {
        Some(if limit > 0 { (used as f64 / limit as f64 * 1000.0).round() / 10.0 } else { 0.0 })
    };
    let credits = |title, limit, used, available, percentage| Limit {
        title,
        limit,
        used,
        available,
        unit: "credits",
        category: "credits",
        percentage,
    };
    let kind = |title, ops: &[&str]| credits(title, None, Some(used_by(ops)), None, None);
    let counted = |title, unit, limit: u32, used: u32| Limit {
        title,
        limit: Some(limit.into()),
        used: Some(used.into()),
        available: Some(limit.saturating_sub(used).into()),
        unit,
        category: "account",
        percentage: pct(used.into(), limit.into()),
    };
    let account = &caller.account;
    Ok(crate::http::answer(Limits {
        limits: vec![
            credits("Monthly Credits", Some(limit), Some(used), Some((limit - used).max(0)), pct(used, limit)),
            credits("Current Balance", None, None, Some(account.credits), None),
            kind("Clustering Credits", &["clustering"]),
            kind("Content Generation Credits", &["content", "content_generation"]),
            kind("Image Generation Credits", &["images", "image_generation", "image_prompt_extraction"]),
            kind("Idea Generation Credits", &["ideas", "idea_generation"]),
            counted("Users", "users", plan.max_users, account.user_count),
            counted("Sites", "sites", plan.max_sites, account.site_count),
        ],
    }))
}

/// `credits/transactions/` (and `transactions/`): the ledger, newest first; filters
/// `transaction_type`, `start_date`, `end_date`.
pub async fn transactions(
    services: &Services,
    caller: &Caller,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    caller.require_manager()?;
    let (from, to) = dates(query)?;
    let kind = query.get("transaction_type").map(|t| t.trim()).filter(|t| !t.is_empty());
    if let Some(kind) = kind
        && !TRANSACTION_TYPES.contains(&kind)
    {
        return Err(ApiError::field("transaction_type", format!("\"{kind}\" is not a valid choice.")));
    }
    let (low, high) = sk_range(keys::LEDGER_PREFIX, from, to);
    let query = Query::partition(keys::account_pk(caller.account_id())).sk_between(low, high).newest_first();
    let items = services.store().await.query_all(query).await?;
    let entries: Vec<LedgerEntry> = items.into_iter().map(crate::store::decode).collect::<Result<_, _>>()?;
    Ok(entries
        .iter()
        .filter(|e| {
            kind.is_none_or(|k| {
                serde_json::to_value(e.transaction_type).ok().and_then(|v| v.as_str().map(|s| s == k)).unwrap_or(false)
            })
        })
        .map(LedgerEntry::to_json)
        .collect())
}

/// `credits/transactions/{id}/`.
pub async fn transaction(services: &Services, caller: &Caller, id: &str) -> Result<Value, ApiError> {
    caller.require_manager()?;
    let entry: LedgerEntry = services.store().await.by_id(id, |id| Key::ledger_entry(caller.account_id(), id)).await?;
    Ok(entry.to_json())
}
