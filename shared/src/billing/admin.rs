//! `/api/v1/admin/`: the platform's billing desk (developer and system roles only): every
//! account's balance, credit adjustments with a reason, and the decision on manual payments.

use std::collections::HashMap;

use serde_json::Value;
use time::OffsetDateTime;

use super::invoices::confirm_writes;
use super::{Invoice, PAYMENT_PREFIX, Payment, PaymentStatus};
use crate::access::Caller;
use crate::accounts::{Account, AccountStatus};
use crate::credits::TransactionType;
use crate::store::{Change, Condition, Key, Query, StoreError, Write, keys, s};
use crate::validation::Submitted;
use crate::validation::input::{Bounded, Integer};
use crate::{ApiError, Services};

/// `admin/accounts/`: every account with its plan, status and balance; filters `status`, `search`.
pub async fn accounts(
    services: &Services,
    caller: &Caller,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    caller.require_platform()?;
    let items = services.store().await.query_all(Query::index(keys::GSI1, "ACCOUNTS")).await?;
    let all: Vec<Account> = items.into_iter().map(crate::store::decode).collect::<Result<_, _>>()?;
    let status = query.get("status").filter(|s| !s.is_empty());
    let needle = query.get("search").map(|s| s.to_lowercase()).filter(|s| !s.is_empty());
    Ok(all
        .iter()
        .filter(|a| {
            status.is_none_or(|s| {
                serde_json::to_value(a.status).ok().and_then(|v| v.as_str().map(|v| v == s)).unwrap_or(false)
            })
        })
        .filter(|a| needle.as_ref().is_none_or(|n| a.name.to_lowercase().contains(n) || a.slug.contains(n)))
        .map(|a| {
            crate::http::answer(AccountBalance {
                id: a.id.clone(),
                name: a.name.clone(),
                slug: a.slug.clone(),
                plan_id: a.plan_id.clone(),
                status: a.status,
                credits: a.credits,
            })
        })
        .collect())
}

/// An account on the billing desk: who it is and its balance.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AccountBalance {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub plan_id: String,
    pub status: AccountStatus,
    pub credits: i64,
}

crate::input! {
    /// The body of `POST admin/accounts/{id}/adjust_credits/`.
    pub struct Adjustment {
        /// Credits to add (positive) or remove (negative); the balance never goes below zero.
        amount: required i64 = Integer(-10_000_000, 10_000_000),
        /// Why: kept in the ledger entry.
        reason: required String = Bounded(500),
    }
}

/// The balance after an adjustment.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Adjusted {
    pub account_id: String,
    pub amount: i64,
    pub reason: String,
    pub credits: i64,
}

/// `admin/accounts/{id}/adjust_credits/`: a signed adjustment with its ledger entry; a debit
/// never takes the balance below zero.
pub async fn adjust_credits(
    services: &Services,
    caller: &Caller,
    account_id: &str,
    body: Submitted<Adjustment>,
) -> Result<Value, ApiError> {
    caller.require_platform()?;
    let account: Account = services.store().await.by_id(account_id, Key::account).await?;
    let Adjustment { amount, reason } = body.read()?;
    if amount == 0 {
        return Err(ApiError::field("amount", "An adjustment of zero changes nothing."));
    }
    let description = format!("Adjustment by {}: {reason}", caller.user.email);
    let now = OffsetDateTime::now_utc();
    let writes = if amount > 0 {
        crate::credits::credit(&account.id, amount, TransactionType::Adjustment, &description, None, now)?
    } else {
        crate::credits::debit(&account.id, -amount, TransactionType::Adjustment, &description, None, now)?
    };
    let store = services.store().await;
    match store.transact(writes).await {
        Ok(()) => {}
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => {
            return Err(ApiError::field(
                "amount",
                format!("The balance is {}; it cannot go below zero.", account.credits),
            ));
        }
        Err(err) => return Err(err.into()),
    }
    let after: Account = store.get(&Key::account(&account.id)).await?.ok_or_else(ApiError::not_found)?;
    tracing::info!(account_id = %account.id, amount, admin = %caller.user.id, "credits adjusted");
    Ok(crate::http::answer(Adjusted { account_id: account.id, amount, reason, credits: after.credits }))
}

/// `admin/payments/?status=pending` (the default): payments of one status, oldest first.
pub async fn payments(
    services: &Services,
    caller: &Caller,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    caller.require_platform()?;
    let status = query.get("status").map(|s| s.trim()).filter(|s| !s.is_empty()).unwrap_or("pending");
    if !["pending", "confirmed", "rejected"].contains(&status) {
        return Err(ApiError::field("status", format!("\"{status}\" is not a valid choice.")));
    }
    let items = services.store().await.query_all(Query::index(keys::GSI2, format!("PAYMENTS#{status}"))).await?;
    let all: Vec<Payment> = items.into_iter().map(crate::store::decode).collect::<Result<_, _>>()?;
    Ok(all.iter().map(Payment::to_json).collect())
}

async fn find_payment(services: &Services, payment_id: &str) -> Result<Payment, ApiError> {
    if !crate::ids::is_valid_id(payment_id) {
        return Err(ApiError::not_found());
    }
    let store = services.store().await;
    let page = store.query(Query::index(keys::GSI1, format!("{PAYMENT_PREFIX}{payment_id}")).limit(1)).await?;
    let indexed: Payment = crate::store::decode(page.items.into_iter().next().ok_or_else(ApiError::not_found)?)?;
    store.get(&Payment::key(&indexed.account_id, &indexed.id)).await?.ok_or_else(ApiError::not_found)
}

fn decided() -> ApiError {
    ApiError::Conflict("This payment was decided already.".into())
}

/// `admin/payments/{id}/approve/`: confirms the payment, marks its invoice paid and adds the
/// credits, all at once and only once.
pub async fn approve(services: &Services, caller: &Caller, payment_id: &str) -> Result<Value, ApiError> {
    caller.require_platform()?;
    let payment = find_payment(services, payment_id).await?;
    let store = services.store().await;
    let invoice: Invoice =
        store.get(&Invoice::key(&payment.account_id, &payment.invoice_id)).await?.ok_or_else(ApiError::not_found)?;
    let writes = confirm_writes(&payment, &invoice, &caller.user.id, OffsetDateTime::now_utc())?;
    match store.transact(writes).await {
        Ok(()) => {}
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => return Err(decided()),
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&1) => {
            return Err(ApiError::Conflict("The invoice was paid by another payment.".into()));
        }
        Err(err) => return Err(err.into()),
    }
    let account: Account = store.get(&Key::account(&payment.account_id)).await?.ok_or_else(ApiError::not_found)?;
    tracing::info!(payment_id = %payment.id, account_id = %payment.account_id, credits = invoice.credits, "payment confirmed");
    Ok(crate::http::answer(Decision {
        payment_id: payment.id,
        status: PaymentStatus::Confirmed,
        invoice_id: Some(invoice.id),
        credits_added: Some(invoice.credits),
        credits: Some(account.credits),
    }))
}

/// What the desk decided about a payment.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Decision {
    pub payment_id: String,
    pub status: PaymentStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credits_added: Option<i64>,
    /// The account's balance after the payment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credits: Option<i64>,
}

crate::input! {
    /// The body of `POST admin/payments/{id}/reject/`.
    pub struct Rejection {
        /// Why: kept on the payment.
        reason: required String = Bounded(500),
    }
}

/// `admin/payments/{id}/reject/`: the invoice stays pending for another payment.
pub async fn reject(
    services: &Services,
    caller: &Caller,
    payment_id: &str,
    body: Submitted<Rejection>,
) -> Result<Value, ApiError> {
    caller.require_platform()?;
    let Rejection { reason } = body.read()?;
    let payment = find_payment(services, payment_id).await?;
    let change = Change::new(
        Payment::key(&payment.account_id, &payment.id),
        "SET #status = :rejected, note = :note, decided_at = :at, decided_by = :admin, GSI2PK = :gsi",
    )
    .name("#status", "status")
    .value(":rejected", s("rejected"))
    .value(":note", s(reason))
    .value(":at", s(crate::accounts::rfc3339(OffsetDateTime::now_utc())))
    .value(":admin", s(&caller.user.id))
    .value(":gsi", s("PAYMENTS#rejected"))
    .condition(Condition::new("#status = :pending").value(":pending", s("pending")));
    match services.store().await.transact(vec![Write::Update(change)]).await {
        Ok(()) => Ok(crate::http::answer(Decision {
            payment_id: payment.id,
            status: PaymentStatus::Rejected,
            invoice_id: None,
            credits_added: None,
            credits: None,
        })),
        Err(StoreError::TransactionCancelled { .. }) => Err(decided()),
        Err(err) => Err(err.into()),
    }
}
