//! Subscriptions: which plan an account is on and for which period. Owners and admins read them;
//! they are written by the platform (developer and system roles, and the billing flows), since a
//! subscription to a paid plan must follow a payment.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::access::Caller;
use crate::accounts::{Account, rfc3339};
use crate::store::{self, Condition, Item, Key, Query, StoreError, Write, keys};
use crate::validation::input::{Bounded, Choice, Custom};
use crate::validation::{FieldErrors, Submitted, max, string};
use crate::{ApiError, Services, ids, reference};

pub const STATUSES: &[&str] = &["active", "trialing", "past_due", "cancelled"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: String,
    pub account_id: String,
    pub plan_id: String,
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub current_period_start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub current_period_end: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Subscription {
    /// The subscription an account starts with: active, one month from `now`.
    pub fn starting(account_id: &str, plan_id: &str, now: OffsetDateTime) -> Self {
        Self {
            id: ids::new_id(),
            account_id: account_id.to_owned(),
            plan_id: plan_id.to_owned(),
            status: "active".into(),
            current_period_start: now,
            current_period_end: now + Duration::days(30),
            created_at: now,
            updated_at: now,
        }
    }

    pub fn write(&self) -> Result<Write, StoreError> {
        Ok(Write::Put(self.item()?, Some(Condition::not_exists())))
    }

    fn item(&self) -> Result<Item, StoreError> {
        Item::new(&Key::subscription(&self.account_id, &self.id), "Subscription", self)
    }

    pub fn to_json(&self) -> Value {
        crate::http::answer(SubscriptionAnswer::from(self))
    }
}

/// A subscription as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubscriptionAnswer {
    pub id: String,
    pub account: String,
    /// The plan's id.
    pub plan: String,
    pub status: String,
    #[schema(format = DateTime)]
    pub current_period_start: String,
    #[schema(format = DateTime)]
    pub current_period_end: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<&Subscription> for SubscriptionAnswer {
    fn from(s: &Subscription) -> Self {
        Self {
            id: s.id.clone(),
            account: s.account_id.clone(),
            plan: s.plan_id.clone(),
            status: s.status.clone(),
            current_period_start: rfc3339(s.current_period_start),
            current_period_end: rfc3339(s.current_period_end),
            created_at: rfc3339(s.created_at),
            updated_at: rfc3339(s.updated_at),
        }
    }
}

async fn of_account(services: &Services, account_id: &str) -> Result<Vec<Subscription>, ApiError> {
    let items = services
        .store()
        .await
        .query_all(Query::partition(keys::account_pk(account_id)).sk_prefix(keys::SUBSCRIPTION_PREFIX))
        .await?;
    Ok(items.into_iter().map(store::decode).collect::<Result<Vec<_>, _>>()?)
}

/// The subscriptions of the acted-on account; filter `status`.
pub async fn list(
    services: &Services,
    caller: &Caller,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    caller.require_manager()?;
    Ok(of_account(services, caller.account_id())
        .await?
        .iter()
        .filter(|s| query.get("status").is_none_or(|v| &s.status == v))
        .map(Subscription::to_json)
        .collect())
}

/// `by-account/{account_id}/`: an account's subscriptions; another account is 404 except for the
/// platform roles.
pub async fn by_account(services: &Services, caller: &Caller, account_id: &str) -> Result<Vec<Value>, ApiError> {
    caller.require_manager()?;
    if account_id != caller.account_id() && !caller.crosses_accounts() {
        return Err(ApiError::not_found());
    }
    if !ids::is_valid_id(account_id)
        || services.store().await.get::<Account>(&Key::account(account_id)).await?.is_none()
    {
        return Err(ApiError::not_found());
    }
    Ok(of_account(services, account_id).await?.iter().map(Subscription::to_json).collect())
}

pub async fn get(services: &Services, caller: &Caller, id: &str) -> Result<Subscription, ApiError> {
    caller.require_manager()?;
    services.store().await.by_id(id, |id| Key::subscription(caller.account_id(), id)).await
}

fn timestamp(value: &Value) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(&string(value)?, &time::format_description::well_known::Rfc3339)
        .map_err(|_| "Datetime has wrong format. Use ISO 8601 (RFC 3339).".to_owned())
}

fn timestamp_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
    ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::Custom("date-time".into()))).into()
}

const TIMESTAMP: Custom<OffsetDateTime> = Custom(timestamp, timestamp_schema);

crate::input! {
    /// A subscription as `POST` and `PUT` send it, or, as `SubscriptionChanges`, what `PATCH`
    /// changes.
    pub struct SubscriptionFields, changes SubscriptionChanges {
        plan_id: required String = Bounded(max::REFERENCE),
        status: optional String = Choice(STATUSES),
        current_period_start: optional OffsetDateTime = TIMESTAMP,
        /// After `current_period_start`.
        current_period_end: optional OffsetDateTime = TIMESTAMP,
    }
}

/// Reads the body and checks the plan it names; a malformed body still has its plan checked,
/// so that one 400 reports every problem.
fn read<T>(body: Submitted<T>) -> Result<T, ApiError> {
    let named = body.sent_text("plan_id");
    let read = body.read();
    let mut errors = match &read {
        Ok(_) => FieldErrors::new(),
        Err(ApiError::Validation(errors)) => errors.clone(),
        Err(_) => return read,
    };
    if let Some(plan_id) = named.filter(|p| errors.get("plan_id").is_none() && !p.is_empty())
        && reference::plan(&plan_id)?.is_none()
    {
        errors.add("plan_id", format!("Invalid pk \"{plan_id}\" - object does not exist."));
    }
    errors.finish()?;
    read
}

/// Applies the change; `current` is the subscription being updated, if any.
fn apply(input: SubscriptionChanges, current: Option<&Subscription>) -> Result<Subscription, ApiError> {
    let mut errors = FieldErrors::new();
    let now = OffsetDateTime::now_utc();
    let mut sub = current.cloned().unwrap_or_else(|| Subscription::starting("", "", now));
    if let Some(p) = input.plan_id {
        sub.plan_id = p;
    }
    if let Some(s) = input.status {
        sub.status = s;
    }
    if let Some(s) = input.current_period_start {
        sub.current_period_start = s;
    }
    if let Some(e) = input.current_period_end {
        sub.current_period_end = e;
    }
    if sub.current_period_end <= sub.current_period_start {
        errors.add("current_period_end", "The period must end after it starts.");
    }
    errors.finish()?;
    sub.updated_at = now;
    Ok(sub)
}

pub async fn create(
    services: &Services,
    caller: &Caller,
    body: Submitted<SubscriptionFields>,
) -> Result<Value, ApiError> {
    caller.require_manager()?;
    caller.require_platform()?;
    let mut sub = apply(read(body)?.into(), None)?;
    sub.account_id = caller.account_id().to_owned();
    services.store().await.put(sub.item()?, Some(Condition::not_exists())).await?;
    Ok(sub.to_json())
}

/// The subscription as the API shows it.
pub async fn show(services: &Services, caller: &Caller, id: &str) -> Result<Value, ApiError> {
    Ok(get(services, caller, id).await?.to_json())
}

pub async fn update(
    services: &Services,
    caller: &Caller,
    id: &str,
    body: Submitted<SubscriptionChanges>,
) -> Result<Value, ApiError> {
    let current = get(services, caller, id).await?;
    caller.require_platform()?;
    let sub = apply(read(body)?, Some(&current))?;
    services.store().await.put(sub.item()?, Some(Condition::exists())).await?;
    Ok(sub.to_json())
}

pub async fn delete(services: &Services, caller: &Caller, id: &str) -> Result<(), ApiError> {
    let current = get(services, caller, id).await?;
    caller.require_platform()?;
    services
        .store()
        .await
        .transact(vec![Write::Delete(Key::subscription(&current.account_id, &current.id), Some(Condition::exists()))])
        .await
        .map_err(|_| ApiError::not_found())
}
