//! The monthly credit replenishment, run by the EventBridge schedule (and on demand): every
//! active account receives its plan's monthly credits once per billing period (a calendar month,
//! UTC) as a `subscription` ledger entry.
//!
//! "Once" is kept by a marker item per account and period (`ACCOUNT#<id>` / `REPLENISH#<yyyy-mm>`)
//! written in the same transaction as the credits: a second run, a run resumed after a crash, or
//! a late run finds the marker and moves nothing. Accounts are read a page at a time from GSI1
//! and credited several at once; a failure on one account is reported and the others go on.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;

use crate::accounts::{Account, AccountStatus, Plan};
use crate::credits::TransactionType;
use crate::store::{Condition, Item, Key, Query, StoreError, keys};
use crate::{ApiError, Services, reference};

/// Accounts read per page.
const PAGE: i32 = 100;

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub period: String,
    pub total_accounts: usize,
    pub replenished: usize,
    pub already_replenished: usize,
    pub skipped: usize,
    pub credits_added: i64,
    /// `(account id, reason)` of the accounts that failed.
    pub errors: Vec<(String, String)>,
}

/// The billing period of an instant: `2026-11`.
pub fn period_of(at: OffsetDateTime) -> String {
    format!("{:04}-{:02}", at.year(), at.month() as u8)
}

/// A period given by an operator (`2026-11`), checked.
pub fn parse_period(text: &str) -> Option<String> {
    let (year, month) = text.trim().split_once('-')?;
    let (year, month): (u16, u8) = (year.parse().ok()?, month.parse().ok()?);
    ((2000..=2999).contains(&year) && (1..=12).contains(&month) && text.trim().len() == 7)
        .then(|| format!("{year:04}-{month:02}"))
}

/// The marker that says an account got its credits for `period`.
pub fn marker_key(account_id: &str, period: &str) -> Key {
    Key::new(keys::account_pk(account_id), format!("REPLENISH#{period}"))
}

enum Outcome {
    Replenished(i64),
    Already,
    Skipped,
}

async fn replenish_one(
    services: &Services,
    account: &Account,
    plans: &HashMap<String, Plan>,
    period: &str,
) -> Result<Outcome, String> {
    if account.status != AccountStatus::Active {
        return Ok(Outcome::Skipped);
    }
    let plan = plans.get(&account.plan_id).ok_or_else(|| format!("unknown plan {}", account.plan_id))?;
    if plan.included_credits <= 0 {
        return Ok(Outcome::Skipped);
    }
    let now = OffsetDateTime::now_utc();
    let marker = json!({"account_id": account.id, "period": period, "credits": plan.included_credits, "plan_id": plan.id,
                        "created_at": crate::accounts::rfc3339(now)});
    let mut writes = vec![crate::store::Write::Put(
        Item::new(&marker_key(&account.id, period), "Replenishment", &marker).map_err(|e| e.to_string())?,
        Some(Condition::not_exists()),
    )];
    let description = format!("Monthly credit replenishment - {} plan ({period})", plan.name);
    writes.extend(
        crate::credits::credit(
            &account.id,
            plan.included_credits,
            TransactionType::Subscription,
            &description,
            None,
            now,
        )
        .map_err(|e| e.to_string())?,
    );
    match services.store().await.transact(writes).await {
        Ok(()) => Ok(Outcome::Replenished(plan.included_credits)),
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => Ok(Outcome::Already),
        Err(err) => Err(err.to_string()),
    }
}

/// Replenishes every account for `period`, `concurrency` accounts at a time.
pub async fn run(services: &Services, period: &str, concurrency: usize) -> Result<Report, ApiError> {
    let plans: HashMap<String, Plan> = reference::plans()?.into_iter().map(|p| (p.id.clone(), p)).collect();
    let mut report = Report { period: period.to_owned(), ..Report::default() };
    let store = services.store().await;
    let mut start = None;
    loop {
        let page = store.query(Query::index(keys::GSI1, "ACCOUNTS").limit(PAGE).start(start)).await?;
        let accounts: Vec<Account> = page.items.into_iter().map(crate::store::decode).collect::<Result<_, _>>()?;
        report.total_accounts += accounts.len();
        for group in accounts.chunks(concurrency.max(1)) {
            let runs = group.iter().map(|a| replenish_one(services, a, &plans, period));
            for (account, outcome) in group.iter().zip(futures_util::future::join_all(runs).await) {
                match outcome {
                    Ok(Outcome::Replenished(credits)) => {
                        report.replenished += 1;
                        report.credits_added += credits;
                    }
                    Ok(Outcome::Already) => report.already_replenished += 1,
                    Ok(Outcome::Skipped) => report.skipped += 1,
                    Err(reason) => {
                        tracing::error!(account_id = %account.id, %reason, period, "replenishment failed");
                        report.errors.push((account.id.clone(), reason));
                    }
                }
            }
        }
        match page.next {
            Some(next) => start = Some(next),
            None => break,
        }
    }
    tracing::info!(
        period,
        total = report.total_accounts,
        replenished = report.replenished,
        already = report.already_replenished,
        skipped = report.skipped,
        failed = report.errors.len(),
        "replenishment run"
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    #[test]
    fn periods() {
        let at = time::macros::datetime!(2026-11-03 04:05 UTC);
        assert_eq!(super::period_of(at), "2026-11");
        assert_eq!(super::parse_period("2026-02").as_deref(), Some("2026-02"));
        for bad in ["2026-13", "26-01", "2026-1", "x"] {
            assert_eq!(super::parse_period(bad), None, "{bad}");
        }
    }
}
