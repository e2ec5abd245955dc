//! `/api/v1/auth/accounts/`: owners and admins read and rename their own account; the platform
//! roles list every account, create accounts and close them.

use std::collections::HashMap;

use serde_json::Value;
use time::OffsetDateTime;

use super::{Account, AccountStatus, RegisterInput, register, rfc3339};
use crate::access::Caller;
use crate::store::{self, Change, Condition, Key, Query, StoreError, keys, s};
use crate::validation::input::{Bounded, Json, Variant};
use crate::validation::{FieldErrors, Submitted, max};
use crate::{ApiError, Services, ids};

fn with_plan(account: &Account) -> Result<Value, ApiError> {
    let plan = crate::reference::any_plan(&account.plan_id)?;
    Ok(account.to_json(plan.as_ref()))
}

/// The caller's account, or every account for the platform roles (filter `status`).
pub async fn list_accounts(
    services: &Services,
    caller: &Caller,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    caller.require_manager()?;
    let accounts: Vec<Account> = if caller.crosses_accounts() {
        let items = services.store().await.query_all(Query::index(keys::GSI1, "ACCOUNTS")).await?;
        items.into_iter().map(store::decode).collect::<Result<_, _>>()?
    } else {
        vec![caller.account.clone()]
    };
    let mut out = Vec::new();
    for account in accounts.iter().filter(|a| query.get("status").is_none_or(|s| a.status.as_str() == s)) {
        out.push(with_plan(account)?);
    }
    Ok(out)
}

async fn find(services: &Services, caller: &Caller, account_id: &str) -> Result<Account, ApiError> {
    caller.require_manager()?;
    if account_id == caller.account_id() {
        return Ok(caller.account.clone());
    }
    if !caller.crosses_accounts() || !ids::is_valid_id(account_id) {
        return Err(ApiError::not_found());
    }
    services.store().await.get::<Account>(&Key::account(account_id)).await?.ok_or_else(ApiError::not_found)
}

pub async fn get_account(services: &Services, caller: &Caller, account_id: &str) -> Result<Value, ApiError> {
    let account = find(services, caller, account_id).await?;
    with_plan(&account)
}

/// Platform only: creates an account with its owner, like registration.
pub async fn create_account(
    services: &Services,
    caller: &Caller,
    body: Submitted<RegisterInput>,
) -> Result<Value, ApiError> {
    caller.require_manager()?;
    caller.require_platform()?;
    let input = body.read()?;
    let created = register(services, input, super::OpenedBy::Platform).await?;
    Ok(created["user"]["account"].clone())
}

crate::input! {
    /// An account as `PUT` sends it (the name required), or, as `AccountChanges`, what `PATCH`
    /// changes.
    pub struct AccountFields, changes AccountChanges {
        name: required String = Bounded(max::NAME),
        /// Changed by the platform roles only.
        status: optional AccountStatus = Variant::<AccountStatus>::new(),
        /// Refused: credits change through billing.
        credits: optional Value = Json,
        /// Refused: the plan changes through a subscription.
        plan_id: optional Value = Json,
        /// Refused.
        owner: optional Value = Json,
    }
}

/// Renames the account; the platform roles may also change its status.
pub async fn update_account(
    services: &Services,
    caller: &Caller,
    account_id: &str,
    body: Submitted<AccountChanges>,
) -> Result<Value, ApiError> {
    let account = find(services, caller, account_id).await?;
    let AccountChanges { name, status: new_status, credits, plan_id, owner } = body.read()?;
    let mut errors = FieldErrors::new();
    if new_status.is_some_and(|s| s != account.status) && !caller.crosses_accounts() {
        errors.add("status", "Only the platform changes an account's status.");
    }
    for (fixed, sent) in [("credits", credits), ("plan_id", plan_id), ("owner", owner)] {
        if sent.is_some() {
            errors.add(fixed, "This field cannot be changed here.");
        }
    }
    errors.finish()?;
    let change = Change::new(Key::account(&account.id), "SET #name = :name, #status = :status, updated_at = :now")
        .name("#name", "name")
        .name("#status", "status")
        .value(":name", s(name.unwrap_or(account.name.clone())))
        .value(":status", s(new_status.unwrap_or(account.status).as_str()))
        .value(":now", s(rfc3339(OffsetDateTime::now_utc())))
        .condition(Condition::exists());
    let updated = services.store().await.update(change).await.map_err(StoreError::gone_is_not_found)?;
    with_plan(&store::decode::<Account>(updated)?)
}

/// Platform only: closes an account (status `cancelled`); its data stays for the retention period.
pub async fn delete_account(services: &Services, caller: &Caller, account_id: &str) -> Result<(), ApiError> {
    let account = find(services, caller, account_id).await?;
    caller.require_platform()?;
    let change = Change::new(Key::account(&account.id), "SET #status = :cancelled, updated_at = :now")
        .name("#status", "status")
        .value(":cancelled", s("cancelled"))
        .value(":now", s(rfc3339(OffsetDateTime::now_utc())))
        .condition(Condition::exists());
    services.store().await.update(change).await?;
    Ok(())
}
