//! `/api/v1/admin/`: the platform's billing desk (developer and system roles only): every
//! account's balance, credit adjustments with a reason, and the decision on manual payments.

use std::collections::HashMap;

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::invoices::confirm_writes;
use super::{Invoice, PAYMENT_PREFIX, Payment};
use crate::access::Caller;
use crate::accounts::Account;
use crate::credits::TransactionType;
use crate::store::{Change, Condition, Key, Query, StoreError, Write, keys, s};
use crate::validation::{Fields, bounded, integer};
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
        .filter(|a| status.is_none_or(|s| serde_json::to_value(a.status).ok().and_then(|v| v.as_str().map(|v| v == s)).unwrap_or(false)))
        .filter(|a| needle.as_ref().is_none_or(|n| a.name.to_lowercase().contains(n) || a.slug.contains(n)))
        .map(|a| json!({"id": a.id, "name": a.name, "slug": a.slug, "plan_id": a.plan_id, "status": a.status, "credits": a.credits}))
        .collect())
}

/// `admin/accounts/{id}/adjust_credits/` `{amount, reason}`: a signed adjustment with its ledger
/// entry; a debit never takes the balance below zero.
pub async fn adjust_credits(
    services: &Services,
    caller: &Caller,
    account_id: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    caller.require_platform()?;
    let account: Account = services.store().await.by_id(account_id, Key::account).await?;
    let mut f = Fields::parse(body)?;
    let amount = f.required("amount", integer(-10_000_000, 10_000_000));
    let reason = f.required("reason", bounded(500));
    if amount == Some(0) {
        f.error("amount", "An adjustment of zero changes nothing.");
    }
    f.finish()?;
    let (amount, reason) = (amount.unwrap_or_default(), reason.unwrap_or_default());
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
    Ok(json!({"account_id": account.id, "amount": amount, "reason": reason, "credits": after.credits}))
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
    Ok(
        json!({"payment_id": payment.id, "status": "confirmed", "invoice_id": invoice.id, "credits_added": invoice.credits, "credits": account.credits}),
    )
}

/// `admin/payments/{id}/reject/` `{reason}`: the invoice stays pending for another payment.
pub async fn reject(services: &Services, caller: &Caller, payment_id: &str, body: &[u8]) -> Result<Value, ApiError> {
    caller.require_platform()?;
    let mut f = Fields::parse(body)?;
    let reason = f.required("reason", bounded(500));
    f.finish()?;
    let payment = find_payment(services, payment_id).await?;
    let change = Change::new(
        Payment::key(&payment.account_id, &payment.id),
        "SET #status = :rejected, note = :note, decided_at = :at, decided_by = :admin, GSI2PK = :gsi",
    )
    .name("#status", "status")
    .value(":rejected", s("rejected"))
    .value(":note", s(reason.unwrap_or_default()))
    .value(":at", s(crate::accounts::rfc3339(OffsetDateTime::now_utc())))
    .value(":admin", s(&caller.user.id))
    .value(":gsi", s("PAYMENTS#rejected"))
    .condition(Condition::new("#status = :pending").value(":pending", s("pending")));
    match services.store().await.transact(vec![Write::Update(change)]).await {
        Ok(()) => Ok(json!({"payment_id": payment.id, "status": "rejected"})),
        Err(StoreError::TransactionCancelled { .. }) => Err(decided()),
        Err(err) => Err(err.into()),
    }
}
