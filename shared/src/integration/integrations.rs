//! A site's integrations: where its content is published (a WordPress site: its URL, a user and
//! that user's application password). One site may have several. The password is kept in Secrets
//! Manager (`<prefix>/<account>/wordpress/<integration id>`), never in the table, an answer or a
//! log line: the item holds only a masked hint. Stored in the account's partition,
//! `SITEINTEGRATION#<id>`.
//!
//! Everyone who may read the site reads its integrations; owners and admins create, change and
//! delete them.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::wordpress::{self, Credentials, Probe};
use crate::access::Caller;
use crate::accounts::rfc3339;
use crate::store::{Condition, Item, Key, Query, StoreError, keys};
use crate::validation::input::{Boolean, Bounded, Choice, Id, Raw};
use crate::validation::{FieldErrors, Submitted, max};
use crate::{ApiError, Services, ids, secrets, sites};

pub const PLATFORMS: &[&str] = &["wordpress"];
pub const SYNC_STATUSES: &[&str] = &["pending", "syncing", "success", "failed"];
const PREFIX: &str = "SITEINTEGRATION#";
/// The longest application password (WordPress makes 24 characters, shown in groups of four).
pub const MAX_PASSWORD: usize = 256;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Integration {
    pub id: String,
    pub account_id: String,
    pub site_id: String,
    pub platform: String,
    pub site_url: String,
    pub username: String,
    /// The password's masked hint.
    pub password_hint: String,
    pub is_active: bool,
    pub sync_enabled: bool,
    pub sync_status: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_sync_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// An integration as the API answers it: the password only masked.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IntegrationAnswer {
    pub id: String,
    pub site_id: String,
    /// `wordpress`.
    pub platform: String,
    pub site_url: String,
    pub username: String,
    /// The application password's first three and last four characters.
    pub password_hint: String,
    pub is_active: bool,
    pub sync_enabled: bool,
    /// `pending`, `syncing`, `success` or `failed`.
    pub sync_status: String,
    pub last_sync_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Integration {
    pub fn key(account_id: &str, id: &str) -> Key {
        Key::new(keys::account_pk(account_id), format!("{PREFIX}{id}"))
    }

    fn item(&self) -> Result<Item, StoreError> {
        Item::new(&Self::key(&self.account_id, &self.id), "Integration", self)
    }

    pub(super) fn secret(&self, services: &Services) -> String {
        secrets::name(services, &self.account_id, &format!("wordpress/{}", self.id))
    }

    pub fn to_json(&self) -> Value {
        crate::http::answer(self.answer())
    }

    pub fn answer(&self) -> IntegrationAnswer {
        IntegrationAnswer {
            id: self.id.clone(),
            site_id: self.site_id.clone(),
            platform: self.platform.clone(),
            site_url: self.site_url.clone(),
            username: self.username.clone(),
            password_hint: self.password_hint.clone(),
            is_active: self.is_active,
            sync_enabled: self.sync_enabled,
            sync_status: self.sync_status.clone(),
            last_sync_at: self.last_sync_at.map(rfc3339),
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
        }
    }

    /// The credentials to reach the site with (the password read from Secrets Manager).
    pub async fn credentials(&self, services: &Services) -> Result<Credentials, ApiError> {
        let password = secrets::get(services, &self.secret(services))
            .await?
            .ok_or_else(|| ApiError::internal(format!("integration {} lost its password", self.id)))?;
        Ok(Credentials { site_url: self.site_url.clone(), username: self.username.clone(), password })
    }
}

crate::input! {
    /// An integration as `POST` and `PUT` send it, or, as `IntegrationChanges`, what `PATCH`
    /// changes.
    pub struct NewIntegration, changes IntegrationChanges {
        /// The site whose content goes there.
        site_id: required String = Id,
        /// `wordpress` (the default).
        platform: optional String = Choice(PLATFORMS),
        /// The WordPress site's address (`https://example.com`).
        site_url: required String = Bounded(max::URL),
        /// The WordPress user publishing.
        username: required String = Bounded(max::PERSON_NAME),
        /// That user's application password (WordPress: Users → Profile → Application Passwords).
        app_password: required String = Raw(MAX_PASSWORD),
        is_active: optional bool = Boolean,
        sync_enabled: optional bool = Boolean,
    }
}

crate::input! {
    /// What `test-connection/` checks before anything is saved.
    pub struct ConnectionCheck {
        site_url: required String = Bounded(max::URL),
        username: required String = Bounded(max::PERSON_NAME),
        app_password: required String = Raw(MAX_PASSWORD),
    }
}

/// A site address: `http(s)://host[:port][/path]`, without credentials, query or fragment, that
/// the deployment's outbound policy lets the API reach. Answered without a trailing slash.
fn site_url(services_policy: &crate::outbound::Policy, errors: &mut FieldErrors, raw: &str) -> String {
    let raw = raw.trim();
    match services_policy.check_url(raw) {
        Ok(url) if url.query().is_none() && url.fragment().is_none() => raw.trim_end_matches('/').to_owned(),
        Ok(_) => {
            errors.add("site_url", "Enter the site's address, without a query or fragment.");
            String::new()
        }
        Err(refused) => {
            errors.add("site_url", format!("This URL is refused: {refused}."));
            String::new()
        }
    }
}

fn password(errors: &mut FieldErrors, raw: &str) -> String {
    // WordPress shows application passwords in groups of four: the spaces are not part of it.
    let password: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    if password.len() < 8 || password.chars().any(char::is_control) {
        errors.add("app_password", "Enter the user's application password.");
    }
    password
}

async fn all(services: &Services, account_id: &str) -> Result<Vec<Integration>, ApiError> {
    let query = Query::partition(keys::account_pk(account_id)).sk_prefix(PREFIX);
    Ok(services.store().await.all_of(query).await?)
}

/// The integrations of `site_id` (all of them, active or not).
pub async fn of_site(services: &Services, account_id: &str, site_id: &str) -> Result<Vec<Integration>, ApiError> {
    Ok(all(services, account_id).await?.into_iter().filter(|i| i.site_id == site_id).collect())
}

/// An integration the caller may read (404 otherwise, whoever's it is).
pub async fn visible(services: &Services, caller: &Caller, id: &str) -> Result<Integration, ApiError> {
    if !ids::is_valid_id(id) {
        return Err(ApiError::not_found());
    }
    let found: Option<Integration> = services.store().await.get(&Integration::key(caller.account_id(), id)).await?;
    found.filter(|i| caller.can_read_site(&i.site_id)).ok_or_else(ApiError::not_found)
}

/// `integrations/`: the integrations of the sites the caller may read, newest first; `site_id`,
/// `platform`, `is_active` filter.
pub async fn list(
    services: &Services,
    caller: &Caller,
    query: &std::collections::HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    let wanted = |name: &str| query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let active = match wanted("is_active") {
        None => None,
        Some("true" | "1") => Some(true),
        Some("false" | "0") => Some(false),
        Some(_) => return Err(ApiError::field("is_active", "Must be a valid boolean.")),
    };
    let mut found: Vec<Integration> = all(services, caller.account_id())
        .await?
        .into_iter()
        .filter(|i| caller.can_read_site(&i.site_id))
        .filter(|i| wanted("site_id").is_none_or(|s| s == i.site_id))
        .filter(|i| wanted("platform").is_none_or(|p| p == i.platform))
        .filter(|i| active.is_none_or(|a| a == i.is_active))
        .collect();
    found.sort_by(|a, b| b.id.cmp(&a.id));
    Ok(found.iter().map(Integration::to_json).collect())
}

pub async fn show(services: &Services, caller: &Caller, id: &str) -> Result<Value, ApiError> {
    Ok(visible(services, caller, id).await?.to_json())
}

/// Creates an integration of one of the caller's sites (owners and admins).
pub async fn create(services: &Services, caller: &Caller, body: Submitted<NewIntegration>) -> Result<Value, ApiError> {
    caller.require_manager()?;
    let input = body.read()?;
    let policy = services.http().await.policy();
    let mut errors = FieldErrors::new();
    let site_url = site_url(&policy, &mut errors, &input.site_url);
    let password = password(&mut errors, &input.app_password);
    if sites::visible_site(services, caller, &input.site_id).await.is_err() {
        errors.add("site_id", format!("Invalid pk \"{}\" - object does not exist.", input.site_id));
    }
    errors.finish()?;
    let now = OffsetDateTime::now_utc();
    let integration = Integration {
        id: ids::new_id(),
        account_id: caller.account_id().to_owned(),
        site_id: input.site_id,
        platform: input.platform.unwrap_or_else(|| "wordpress".into()),
        site_url,
        username: input.username.trim().to_owned(),
        password_hint: secrets::mask(&password),
        is_active: input.is_active.unwrap_or(true),
        sync_enabled: input.sync_enabled.unwrap_or(false),
        sync_status: "pending".into(),
        last_sync_at: None,
        created_at: now,
        updated_at: now,
    };
    // The secret first: an item is never saved without its password.
    secrets::put(services, &integration.secret(services), &password).await?;
    services.store().await.put(integration.item()?, Some(Condition::not_exists())).await?;
    tracing::info!(integration_id = %integration.id, site_id = %integration.site_id, "integration created");
    Ok(integration.to_json())
}

/// Changes an integration (owners and admins): what is sent; a new password replaces the saved one.
pub async fn update(
    services: &Services,
    caller: &Caller,
    id: &str,
    body: Submitted<IntegrationChanges>,
) -> Result<Value, ApiError> {
    let before = visible(services, caller, id).await?;
    caller.require_manager()?;
    let input = body.read()?;
    let policy = services.http().await.policy();
    let mut errors = FieldErrors::new();
    let mut after = before.clone();
    if let Some(site_id) = input.site_id
        && site_id != before.site_id
    {
        errors.add("site_id", "An integration stays with its site.");
    }
    if let Some(url) = input.site_url {
        after.site_url = site_url(&policy, &mut errors, &url);
    }
    let password = input.app_password.map(|p| password(&mut errors, &p));
    errors.finish()?;
    if let Some(platform) = input.platform {
        after.platform = platform;
    }
    if let Some(username) = input.username {
        after.username = username.trim().to_owned();
    }
    if let Some(active) = input.is_active {
        after.is_active = active;
    }
    if let Some(sync) = input.sync_enabled {
        after.sync_enabled = sync;
    }
    if let Some(password) = &password {
        secrets::put(services, &after.secret(services), password).await?;
        after.password_hint = secrets::mask(password);
    }
    after.updated_at = OffsetDateTime::now_utc();
    services.store().await.replace(after.item()?).await?;
    Ok(after.to_json())
}

/// Sets where the integration's syncing stands (and, when one ended, when), whatever else changed.
pub async fn set_sync_status(
    services: &Services,
    integration: &Integration,
    status: &str,
    finished: Option<OffsetDateTime>,
) -> Result<(), ApiError> {
    let mut change = crate::store::Change::new(
        Integration::key(&integration.account_id, &integration.id),
        "SET sync_status = :status, updated_at = :now",
    )
    .value(":status", crate::store::s(status))
    .value(":now", crate::store::s(rfc3339(OffsetDateTime::now_utc())))
    .condition(Condition::exists());
    if let Some(at) = finished {
        change.update.push_str(", last_sync_at = :at");
        change = change.value(":at", crate::store::s(rfc3339(at)));
    }
    match services.store().await.update(change).await {
        Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// `integrations/test-connection/`: reaches a WordPress site with credentials not saved yet.
pub async fn check(services: &Services, caller: &Caller, body: Submitted<ConnectionCheck>) -> Result<Probe, ApiError> {
    caller.require_manager()?;
    let input = body.read()?;
    let policy = services.http().await.policy();
    let mut errors = FieldErrors::new();
    let site_url = site_url(&policy, &mut errors, &input.site_url);
    let password = password(&mut errors, &input.app_password);
    errors.finish()?;
    let credentials = Credentials { site_url, username: input.username.trim().to_owned(), password };
    wordpress::probe(services, &credentials).await
}

/// `integrations/{id}/test_connection/`: reaches the integration's site with its saved credentials.
pub async fn test_connection(services: &Services, caller: &Caller, id: &str) -> Result<Probe, ApiError> {
    let integration = visible(services, caller, id).await?;
    caller.require_manager()?;
    wordpress::probe(services, &integration.credentials(services).await?).await
}
