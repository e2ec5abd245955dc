//! Sites, their sectors, and the site access granted to editors and viewers.
//!
//! A site belongs to one account; a sector always belongs to a site of the same account. At most
//! [`MAX_ACTIVE_SECTORS`] sectors of a site are active; the site keeps the count, and every change
//! of it is a conditional write in the same transaction as the sector, so concurrent requests
//! cannot pass the limit. The plan's `max_sites` is enforced the same way on the account.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::access::Caller;
use crate::accounts::{Account, Role, User, rfc3339};
use crate::purge::{PurgeMessage, SitePurgeMessage};
use crate::reference;
use crate::store::{self, Change, Condition, Item, Key, Query, StoreError, Write, keys, n, s};
use crate::validation::input::{Boolean, Bounded, Custom, Id, Rule, Text, Texts};
use crate::validation::{FieldErrors, Submitted, given, max, text};
use crate::{ApiError, Services, ids};

pub const MAX_ACTIVE_SECTORS: u32 = 5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub slug: String,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub industry_id: Option<String>,
    /// The account's active (selected) site.
    pub is_active: bool,
    pub status: String,
    /// How many of its sectors are active (kept in step with the sectors, see the module doc).
    #[serde(default)]
    pub active_sectors: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sector {
    pub id: String,
    pub account_id: String,
    pub site_id: String,
    pub name: String,
    pub slug: String,
    #[serde(default)]
    pub industry_sector_id: Option<String>,
    #[serde(default)]
    pub description: String,
    pub is_active: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Set when the sector is deleted, before what it holds is purged: a tombstone that hides it
    /// and refuses every write into it ([`crate::records::counts::live`]). Absent while live.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub deleted_at: Option<OffsetDateTime>,
}

/// An editor's or viewer's access to one site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteAccess {
    pub id: String,
    pub account_id: String,
    pub user_id: String,
    pub site_id: String,
    pub granted_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A site as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SiteAnswer {
    pub id: String,
    pub account: String,
    pub name: String,
    pub slug: String,
    pub domain: Option<String>,
    pub description: String,
    /// The industry's id.
    pub industry: Option<String>,
    /// The account's selected site.
    pub is_active: bool,
    pub status: String,
    pub active_sectors_count: u32,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<&Site> for SiteAnswer {
    fn from(s: &Site) -> Self {
        Self {
            id: s.id.clone(),
            account: s.account_id.clone(),
            name: s.name.clone(),
            slug: s.slug.clone(),
            domain: s.domain.clone(),
            description: s.description.clone(),
            industry: s.industry_id.clone(),
            is_active: s.is_active,
            status: s.status.clone(),
            active_sectors_count: s.active_sectors,
            created_at: rfc3339(s.created_at),
            updated_at: rfc3339(s.updated_at),
        }
    }
}

/// A sector as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SectorAnswer {
    pub id: String,
    pub account: String,
    pub site: String,
    pub name: String,
    pub slug: String,
    /// The industry sector it follows, if any.
    pub industry_sector: Option<String>,
    pub description: String,
    pub is_active: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<&Sector> for SectorAnswer {
    fn from(s: &Sector) -> Self {
        Self {
            id: s.id.clone(),
            account: s.account_id.clone(),
            site: s.site_id.clone(),
            name: s.name.clone(),
            slug: s.slug.clone(),
            industry_sector: s.industry_sector_id.clone(),
            description: s.description.clone(),
            is_active: s.is_active,
            created_at: rfc3339(s.created_at),
            updated_at: rfc3339(s.updated_at),
        }
    }
}

/// An editor's or viewer's access to a site, as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SiteAccessAnswer {
    pub id: String,
    pub account: String,
    /// The user's id.
    pub user: String,
    /// The site's id.
    pub site: String,
    /// Who granted (or last moved) it.
    pub granted_by: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&SiteAccess> for SiteAccessAnswer {
    fn from(g: &SiteAccess) -> Self {
        Self {
            id: g.id.clone(),
            account: g.account_id.clone(),
            user: g.user_id.clone(),
            site: g.site_id.clone(),
            granted_by: g.granted_by.clone(),
            created_at: rfc3339(g.created_at),
        }
    }
}

impl Site {
    pub fn to_json(&self) -> Value {
        crate::http::answer(SiteAnswer::from(self))
    }

    fn item(&self) -> Result<Item, StoreError> {
        Item::new(&Key::site(&self.account_id, &self.id), "Site", self)
    }
}

impl Sector {
    pub fn to_json(&self) -> Value {
        crate::http::answer(SectorAnswer::from(self))
    }

    fn item(&self) -> Result<Item, StoreError> {
        Item::new(&Key::sector(&self.account_id, &self.id), "Sector", self)
    }
}

impl SiteAccess {
    pub fn to_json(&self) -> Value {
        crate::http::answer(SiteAccessAnswer::from(self))
    }

    fn key(&self) -> Key {
        Key::site_access(&self.account_id, &self.user_id, &self.site_id)
    }
}

async fn account_items<T: serde::de::DeserializeOwned>(
    services: &Services,
    account_id: &str,
    prefix: &str,
) -> Result<Vec<T>, ApiError> {
    let query = Query::partition(keys::account_pk(account_id)).sk_prefix(prefix);
    Ok(services.store().await.all_of(query).await?)
}

pub async fn all_sites(services: &Services, account_id: &str) -> Result<Vec<Site>, ApiError> {
    account_items(services, account_id, keys::SITE_PREFIX).await
}

/// The account's sectors (a deleted one, whose records are being purged, is left out).
pub async fn all_sectors(services: &Services, account_id: &str) -> Result<Vec<Sector>, ApiError> {
    let sectors: Vec<Sector> = account_items(services, account_id, keys::SECTOR_PREFIX).await?;
    Ok(sectors.into_iter().filter(|s| s.deleted_at.is_none()).collect())
}

async fn all_grants(services: &Services, account_id: &str) -> Result<Vec<SiteAccess>, ApiError> {
    account_items(services, account_id, keys::SITE_ACCESS_PREFIX).await
}

/// The site `site_id` of the account, if `site_id` is an id and the site exists (no caller's
/// rights checked: read ahead of them, see [`crate::http::Reading`]).
pub async fn site_of(services: &Services, account_id: &str, site_id: &str) -> Result<Option<Site>, ApiError> {
    if !ids::is_valid_id(site_id) {
        return Ok(None);
    }
    Ok(services.store().await.get::<Site>(&Key::site(account_id, site_id)).await?)
}

/// A site the caller may see, else 404.
pub async fn visible_site(services: &Services, caller: &Caller, site_id: &str) -> Result<Site, ApiError> {
    if !ids::is_valid_id(site_id) || !caller.can_read_site(site_id) {
        return Err(ApiError::not_found());
    }
    services.store().await.get::<Site>(&Key::site(caller.account_id(), site_id)).await?.ok_or_else(ApiError::not_found)
}

/// Reads a site id from a body field: it must name a site the caller may change (else a field error).
/// The site a body names, which the caller may write to; else an error on `field`.
async fn site_field(
    services: &Services,
    caller: &Caller,
    errors: &mut FieldErrors,
    field: &str,
    site_id: &str,
) -> Result<Option<Site>, ApiError> {
    match visible_site(services, caller, site_id).await {
        Ok(site) if caller.can_write_site(&site.id) => Ok(Some(site)),
        Ok(_) | Err(ApiError::NotFound(_)) => {
            errors.add(field, format!("Invalid pk \"{site_id}\" - object does not exist."));
            Ok(None)
        }
        Err(err) => Err(err),
    }
}

fn matches_bool(query: &HashMap<String, String>, name: &str, value: bool) -> bool {
    match query.get(name).map(|v| v.to_ascii_lowercase()) {
        Some(v) if v == "true" || v == "1" => value,
        Some(v) if v == "false" || v == "0" => !value,
        _ => true,
    }
}

/// Sites the caller may see; filters `is_active`, `industry_id`, `search` (name or domain).
pub async fn list_sites(
    services: &Services,
    caller: &Caller,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    Ok(visible_sites(caller, all_sites(services, caller.account_id()).await?, query))
}

/// Of the account's `sites`, those the caller may see, filtered as `query` asks ([`list_sites`]).
pub fn visible_sites(caller: &Caller, sites: Vec<Site>, query: &HashMap<String, String>) -> Vec<Value> {
    let search = query.get("search").map(|s| s.to_lowercase());
    sites
        .into_iter()
        .filter(|site| caller.can_read_site(&site.id))
        .filter(|site| matches_bool(query, "is_active", site.is_active))
        .filter(|site| query.get("industry_id").is_none_or(|i| site.industry_id.as_deref() == Some(i.as_str())))
        .filter(|site| {
            search.as_ref().is_none_or(|q| {
                site.name.to_lowercase().contains(q) || site.domain.as_deref().unwrap_or_default().contains(q.as_str())
            })
        })
        .map(|site| site.to_json())
        .collect()
}

fn domain(value: &Value) -> Result<String, String> {
    let raw = text(max::URL)(value)?;
    let host = raw.strip_prefix("https://").or_else(|| raw.strip_prefix("http://")).unwrap_or(&raw);
    let host = host.strip_suffix('/').unwrap_or(host);
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.contains('.')
        && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == ':');
    if valid { Ok(raw) } else { Err("Enter a valid domain or URL.".into()) }
}

fn industry_field(errors: &mut FieldErrors, industry_id: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(industry_id) = given(industry_id) else {
        return Ok(None);
    };
    if reference::industry(&industry_id)?.is_none() {
        errors.add("industry_id", format!("Invalid pk \"{industry_id}\" - object does not exist."));
        return Ok(None);
    }
    Ok(Some(industry_id))
}

const DOMAIN: Custom<String> = Custom(domain, domain_schema);

fn domain_schema() -> utoipa::openapi::schema::Schema {
    Text(max::URL).schema()
}

crate::input! {
    /// A site as `POST` and `PUT` send it (the name required), or, as `SiteChanges`, what
    /// `PATCH` changes.
    pub struct NewSite, changes SiteChanges {
        name: required String = Bounded(max::NAME),
        /// A domain (`example.com`) or a URL.
        domain: optional String = DOMAIN,
        description: optional String = Text(max::DESCRIPTION),
        /// One of the industries of `auth/industries/`; blank for none.
        industry_id: optional String = Text(max::ANY_TEXT),
    }
}

pub async fn create_site(services: &Services, caller: &Caller, body: Submitted<NewSite>) -> Result<Value, ApiError> {
    caller.require_manager()?;
    let NewSite { name, domain, description, industry_id } = body.read()?;
    let mut errors = FieldErrors::new();
    let industry_id = industry_field(&mut errors, industry_id)?;
    errors.finish()?;
    let description = description.unwrap_or_default();

    let plan = crate::reference::any_plan(&caller.account.plan_id)?;
    let max_sites = plan.map_or(1, |p| p.max_sites);
    let now = OffsetDateTime::now_utc();
    let site = Site {
        id: ids::new_id(),
        account_id: caller.account_id().to_owned(),
        slug: ids::slugify(&name),
        name,
        domain,
        description,
        industry_id,
        is_active: false,
        status: "active".into(),
        active_sectors: 0,
        created_at: now,
        updated_at: now,
    };
    let count =
        Change::new(Key::account(caller.account_id()), "SET site_count = if_not_exists(site_count, :zero) + :one")
            .value(":zero", n(0))
            .value(":one", n(1))
            .condition(
                Condition::new("attribute_not_exists(site_count) OR site_count < :max").value(":max", n(max_sites)),
            );
    match services
        .store()
        .await
        .transact(vec![Write::Update(count), Write::Put(site.item()?, Some(Condition::not_exists()))])
        .await
    {
        Ok(()) => Ok(site.to_json()),
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => Err(ApiError::field(
            "non_field_errors",
            format!("Your plan allows {max_sites} site(s); delete one or upgrade the plan."),
        )),
        Err(err) => Err(err.into()),
    }
}

/// The site as the API shows it.
pub async fn show_site(services: &Services, caller: &Caller, site_id: &str) -> Result<Value, ApiError> {
    Ok(visible_site(services, caller, site_id).await?.to_json())
}

pub async fn update_site(
    services: &Services,
    caller: &Caller,
    site_id: &str,
    body: Submitted<SiteChanges>,
) -> Result<Value, ApiError> {
    let mut site = visible_site(services, caller, site_id).await?;
    caller.require_site_write(&site.id)?;
    let SiteChanges { name, domain, description, industry_id } = body.read()?;
    let mut errors = FieldErrors::new();
    let industry_id = industry_field(&mut errors, industry_id)?;
    errors.finish()?;
    if let Some(name) = name {
        site.slug = ids::slugify(&name);
        site.name = name;
    }
    if domain.is_some() {
        site.domain = domain;
    }
    if let Some(description) = description {
        site.description = description;
    }
    if industry_id.is_some() {
        site.industry_id = industry_id;
    }
    site.updated_at = OffsetDateTime::now_utc();
    // Only the descriptive fields change; the sector count is left to its own conditional writes.
    let change = Change::new(
        Key::site(&site.account_id, &site.id),
        "SET #name = :name, slug = :slug, #domain = :domain, description = :description, industry_id = :industry, updated_at = :updated",
    )
    .name("#name", "name")
    .name("#domain", "domain")
    .value(":name", s(&site.name))
    .value(":slug", s(&site.slug))
    .value(":domain", site.domain.as_ref().map_or(store::null(), s))
    .value(":description", s(&site.description))
    .value(":industry", site.industry_id.as_ref().map_or(store::null(), s))
    .value(":updated", s(rfc3339(site.updated_at)))
    .condition(Condition::exists());
    let updated = services.store().await.update(change).await.map_err(StoreError::gone_is_not_found)?;
    Ok(store::decode::<Site>(updated)?.to_json())
}

/// Deletes a site with its sectors (and everything they hold), its taxonomies and access grants.
pub async fn delete_site(services: &Services, caller: &Caller, site_id: &str) -> Result<(), ApiError> {
    let site = visible_site(services, caller, site_id).await?;
    caller.require_manager()?;
    let account_id = caller.account_id();
    let mut children: Vec<Write> = Vec::new();
    // Every sector of the site, a deleted one whose purge was cut short too.
    let sectors: Vec<Sector> = account_items(services, account_id, keys::SECTOR_PREFIX).await?;
    // Each sector tombstoned and its purge queued (the purge deletes the sector last).
    let now = s(rfc3339(OffsetDateTime::now_utc()));
    for sector in sectors.into_iter().filter(|s| s.site_id == site.id) {
        let tombstone =
            Change::new(Key::sector(account_id, &sector.id), "SET deleted_at = if_not_exists(deleted_at, :now)")
                .value(":now", now.clone())
                .condition(Condition::exists());
        match services.store().await.update(tombstone).await {
            Ok(_) | Err(StoreError::ConditionFailed) => {}
            Err(err) => return Err(err.into()),
        }
        crate::purge::enqueue(services, PurgeMessage { account_id: account_id.to_owned(), sector_id: sector.id })
            .await?;
    }
    // What the modules keep for the site goes after it, through the purge queue (queued first:
    // the purge waits until the site is gone, and removes nothing if it stays).
    let site_purge = SitePurgeMessage { account_id: account_id.to_owned(), site_id: site.id.clone() };
    crate::purge::enqueue_site(services, site_purge).await?;
    for grant in all_grants(services, account_id).await?.into_iter().filter(|g| g.site_id == site.id) {
        children.push(Write::Delete(grant.key(), None));
    }
    let store = services.store().await;
    // Children first (in chunks), then the site with the account's count, so that a failure
    // half-way leaves a site that can be deleted again, never orphans.
    for chunk in children.chunks(90) {
        store.transact(chunk.to_vec()).await?;
    }
    let count = Change::new(Key::account(account_id), "SET site_count = site_count - :one")
        .value(":one", n(1))
        .condition(Condition::new("site_count > :zero").value(":zero", n(0)));
    store
        .transact(vec![Write::Delete(Key::site(account_id, &site.id), Some(Condition::exists())), Write::Update(count)])
        .await
        .map_err(StoreError::gone_is_not_found)
}

/// Makes `site_id` the account's active site (and no other).
pub async fn set_active(services: &Services, caller: &Caller, site_id: &str) -> Result<Value, ApiError> {
    let site = visible_site(services, caller, site_id).await?;
    caller.require_site_write(&site.id)?;
    let now = s(rfc3339(OffsetDateTime::now_utc()));
    let mut writes = Vec::new();
    for other in all_sites(services, caller.account_id()).await?.into_iter().filter(|o| o.is_active && o.id != site.id)
    {
        writes.push(Write::Update(
            Change::new(Key::site(&other.account_id, &other.id), "SET is_active = :no, updated_at = :now")
                .value(":no", store::boolean(false))
                .value(":now", now.clone()),
        ));
    }
    writes.push(Write::Update(
        Change::new(Key::site(&site.account_id, &site.id), "SET is_active = :yes, updated_at = :now")
            .value(":yes", store::boolean(true))
            .value(":now", now)
            .condition(Condition::exists()),
    ));
    services.store().await.transact(writes).await?;
    visible_site(services, caller, site_id).await.map(|s| s.to_json())
}

/// The sectors of a site the caller may see.
pub async fn site_sectors(services: &Services, caller: &Caller, site_id: &str) -> Result<Vec<Value>, ApiError> {
    let site = visible_site(services, caller, site_id).await?;
    Ok(all_sectors(services, caller.account_id())
        .await?
        .into_iter()
        .filter(|s| s.site_id == site.id)
        .map(|s| s.to_json())
        .collect())
}

crate::input! {
    /// The body of `POST sites/{id}/select_sectors/`.
    pub struct SectorSelection {
        /// The site's industry when it has none yet (or another one).
        industry_id: optional String = Text(max::ANY_TEXT),
        /// Sectors of the industry (`auth/industries/`), at most five.
        sector_ids: required Vec<String> = Texts(max::LIST_ITEMS, max::ANY_TEXT),
    }
}

/// Chooses which sectors of the site's industry the site works on: the chosen ones become active
/// (created if needed), the others inactive. At most five.
pub async fn select_sectors(
    services: &Services,
    caller: &Caller,
    site_id: &str,
    body: Submitted<SectorSelection>,
) -> Result<Value, ApiError> {
    let site = visible_site(services, caller, site_id).await?;
    caller.require_site_write(&site.id)?;
    let SectorSelection { industry_id, sector_ids } = body.read()?;
    let mut f = FieldErrors::new();
    let industry_id = given(industry_id).or(site.industry_id.clone());
    let chosen = Some(sector_ids);
    let industry = match &industry_id {
        Some(i) => reference::industry(i)?,
        None => None,
    };
    if industry.is_none() {
        f.add("industry_id", "Choose the site's industry first.");
    }
    let mut wanted: Vec<reference::IndustrySector> = Vec::new();
    if let (Some(industry), Some(chosen)) = (&industry, &chosen) {
        if chosen.is_empty() {
            f.add("sector_ids", "Select at least one sector.");
        }
        if chosen.len() > MAX_ACTIVE_SECTORS as usize {
            f.add("sector_ids", format!("A site can have at most {MAX_ACTIVE_SECTORS} active sectors."));
        }
        for id in chosen {
            match industry.sectors.iter().find(|s| &s.id == id) {
                Some(s) if !wanted.iter().any(|w| w.id == s.id) => wanted.push(s.clone()),
                Some(_) => {}
                None => f.add("sector_ids", format!("\"{id}\" is not a sector of {}.", industry.name)),
            }
        }
    }
    f.finish()?;
    let industry_id = industry.map(|i| i.id).unwrap_or_default();

    let now = OffsetDateTime::now_utc();
    let existing: Vec<Sector> =
        all_sectors(services, caller.account_id()).await?.into_iter().filter(|s| s.site_id == site.id).collect();
    // For each chosen industry sector, the first existing sector made from it (if any) is reused.
    let mut reused: BTreeMap<&str, &str> = BTreeMap::new();
    for sector in &existing {
        if let Some(source) = sector.industry_sector_id.as_deref()
            && wanted.iter().any(|w| w.id == source)
        {
            reused.entry(source).or_insert(sector.id.as_str());
        }
    }
    let mut writes = Vec::new();
    for sector in &existing {
        let on = reused.values().any(|id| *id == sector.id);
        if on != sector.is_active {
            writes.push(Write::Update(
                Change::new(Key::sector(&sector.account_id, &sector.id), "SET is_active = :on, updated_at = :now")
                    .value(":on", store::boolean(on))
                    .value(":now", s(rfc3339(now))),
            ));
        }
    }
    for w in wanted.iter().filter(|w| !reused.contains_key(w.id.as_str())) {
        let sector = Sector {
            id: ids::new_id(),
            account_id: site.account_id.clone(),
            site_id: site.id.clone(),
            name: w.name.clone(),
            slug: w.slug.clone(),
            industry_sector_id: Some(w.id.clone()),
            description: String::new(),
            is_active: true,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        writes.push(Write::Put(sector.item()?, Some(Condition::not_exists())));
    }
    let active = wanted.len() as u32;
    writes.push(Write::Update(
        Change::new(
            Key::site(&site.account_id, &site.id),
            "SET active_sectors = :active, industry_id = :industry, updated_at = :now",
        )
        .value(":active", n(active))
        .value(":industry", s(industry_id))
        .value(":now", s(rfc3339(now)))
        .condition(Condition::new("active_sectors = :seen").value(":seen", n(site.active_sectors))),
    ));
    match services.store().await.transact(writes).await {
        Ok(()) => {}
        Err(StoreError::TransactionCancelled { .. }) => {
            return Err(ApiError::Conflict("The site's sectors changed meanwhile; try again.".into()));
        }
        Err(err) => return Err(err.into()),
    }
    let sectors = site_sectors(services, caller, &site.id).await?;
    let site = visible_site(services, caller, &site.id).await?.to_json();
    Ok(crate::http::answer(SectorsSelected { site, sectors }))
}

/// The site and its sectors after a selection.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SectorsSelected {
    #[schema(value_type = SiteAnswer)]
    pub site: Value,
    #[schema(value_type = Vec<SectorAnswer>)]
    pub sectors: Vec<Value>,
}

/// Sectors of the sites the caller may see; filters `site_id`, `is_active`.
pub async fn list_sectors(
    services: &Services,
    caller: &Caller,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    Ok(all_sectors(services, caller.account_id())
        .await?
        .into_iter()
        .filter(|s| caller.can_read_site(&s.site_id))
        .filter(|s| query.get("site_id").is_none_or(|id| &s.site_id == id))
        .filter(|s| matches_bool(query, "is_active", s.is_active))
        .map(|s| s.to_json())
        .collect())
}

/// A sector the caller may see, else 404.
pub async fn visible_sector(services: &Services, caller: &Caller, sector_id: &str) -> Result<Sector, ApiError> {
    if !ids::is_valid_id(sector_id) {
        return Err(ApiError::not_found());
    }
    match services.store().await.get::<Sector>(&Key::sector(caller.account_id(), sector_id)).await? {
        Some(sector) if caller.can_read_site(&sector.site_id) && sector.deleted_at.is_none() => Ok(sector),
        _ => Err(ApiError::not_found()),
    }
}

fn sector_limit_error() -> ApiError {
    ApiError::field("is_active", format!("A site can have at most {MAX_ACTIVE_SECTORS} active sectors."))
}

/// The write that moves a site's active-sector count by `delta`, refusing to pass the limit.
fn active_count(site: &Site, delta: i64) -> Write {
    let change = Change::new(
        Key::site(&site.account_id, &site.id),
        "SET active_sectors = if_not_exists(active_sectors, :zero) + :delta",
    )
    .value(":zero", n(0))
    .value(":delta", n(delta));
    Write::Update(if delta > 0 {
        change.condition(
            Condition::new("attribute_exists(PK) AND (attribute_not_exists(active_sectors) OR active_sectors < :max)")
                .value(":max", n(MAX_ACTIVE_SECTORS)),
        )
    } else {
        change.condition(Condition::exists())
    })
}

fn industry_sector_field(
    f: &mut FieldErrors,
    wanted: Option<String>,
    site: Option<&Site>,
) -> Result<Option<reference::IndustrySector>, ApiError> {
    let Some(wanted) = given(wanted) else {
        return Ok(None);
    };
    let industry_id = wanted.split("--").next().unwrap_or_default().to_owned();
    let found = reference::industry(&industry_id)?.and_then(|i| i.sectors.into_iter().find(|s| s.id == wanted));
    match (found, site.and_then(|s| s.industry_id.as_deref())) {
        (Some(sector), Some(site_industry)) if site_industry != industry_id => {
            f.add("industry_sector_id", format!("\"{}\" is not a sector of the site's industry.", sector.id));
            Ok(None)
        }
        (Some(sector), _) => Ok(Some(sector)),
        (None, _) => {
            f.add("industry_sector_id", format!("Invalid pk \"{wanted}\" - object does not exist."));
            Ok(None)
        }
    }
}

crate::input! {
    /// A sector as `POST` sends it.
    pub struct NewSector {
        /// The site, which the caller may write to.
        site_id: required String = Id,
        name: required String = Bounded(max::NAME),
        description: optional String = Text(max::DESCRIPTION),
        /// Defaults to true; a site has at most five active sectors.
        is_active: optional bool = Boolean,
        /// A sector of the site's industry.
        industry_sector_id: optional String = Text(max::ANY_TEXT),
    }
}

crate::input! {
    /// A sector as `PUT` sends it (the name required), or, as `SectorChanges`, what `PATCH`
    /// changes.
    pub struct SectorFields, changes SectorChanges {
        name: required String = Bounded(max::NAME),
        description: optional String = Text(max::DESCRIPTION),
        /// A site has at most five active sectors.
        is_active: optional bool = Boolean,
        /// A sector cannot move: it may only be sent as it is.
        site_id: optional String = Text(max::ANY_TEXT),
    }
}

pub async fn create_sector(
    services: &Services,
    caller: &Caller,
    body: Submitted<NewSector>,
) -> Result<Value, ApiError> {
    if caller.role() == Role::Viewer {
        return Err(ApiError::permission_denied());
    }
    let NewSector { site_id, name, description, is_active, industry_sector_id } = body.read()?;
    let mut f = FieldErrors::new();
    let site = site_field(services, caller, &mut f, "site_id", &site_id).await?;
    let description = description.unwrap_or_default();
    let is_active = is_active.unwrap_or(true);
    let industry_sector = industry_sector_field(&mut f, industry_sector_id, site.as_ref())?;
    if let Some(site) = &site
        && is_active
        && site.active_sectors >= MAX_ACTIVE_SECTORS
    {
        f.add("is_active", format!("A site can have at most {MAX_ACTIVE_SECTORS} active sectors."));
    }
    f.finish()?;
    let Some(site) = site else {
        return Err(ApiError::internal("validated fields missing"));
    };
    let now = OffsetDateTime::now_utc();
    let sector = Sector {
        id: ids::new_id(),
        account_id: site.account_id.clone(),
        site_id: site.id.clone(),
        slug: ids::slugify(&name),
        name,
        industry_sector_id: industry_sector.map(|s| s.id),
        description,
        is_active,
        created_at: now,
        updated_at: now,
        deleted_at: None,
    };
    let mut writes = vec![Write::Put(sector.item()?, Some(Condition::not_exists()))];
    if is_active {
        writes.push(active_count(&site, 1));
    }
    match services.store().await.transact(writes).await {
        Ok(()) => Ok(sector.to_json()),
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&1) => Err(sector_limit_error()),
        Err(err) => Err(err.into()),
    }
}

/// The sector as the API shows it.
pub async fn show_sector(services: &Services, caller: &Caller, sector_id: &str) -> Result<Value, ApiError> {
    Ok(visible_sector(services, caller, sector_id).await?.to_json())
}

pub async fn update_sector(
    services: &Services,
    caller: &Caller,
    sector_id: &str,
    body: Submitted<SectorChanges>,
) -> Result<Value, ApiError> {
    let sector = visible_sector(services, caller, sector_id).await?;
    caller.require_site_write(&sector.site_id)?;
    let site = visible_site(services, caller, &sector.site_id).await?;
    let SectorChanges { name, description, is_active, site_id } = body.read()?;
    let mut f = FieldErrors::new();
    if site_id.is_some_and(|moved| moved != sector.site_id) {
        f.add("site_id", "A sector cannot move to another site.");
    }
    if is_active == Some(true) && !sector.is_active && site.active_sectors >= MAX_ACTIVE_SECTORS {
        f.add("is_active", format!("A site can have at most {MAX_ACTIVE_SECTORS} active sectors."));
    }
    f.finish()?;
    let mut updated = sector.clone();
    if let Some(name) = name {
        updated.slug = ids::slugify(&name);
        updated.name = name;
    }
    if let Some(description) = description {
        updated.description = description;
    }
    if let Some(active) = is_active {
        updated.is_active = active;
    }
    updated.updated_at = OffsetDateTime::now_utc();
    // Only the sector's own fields: its item also holds what the modules count on it.
    let change = Change::new(
        Key::sector(&sector.account_id, &sector.id),
        "SET #name = :name, slug = :slug, description = :description, is_active = :active, updated_at = :now",
    )
    .name("#name", "name")
    .value(":name", s(&updated.name))
    .value(":slug", s(&updated.slug))
    .value(":description", s(&updated.description))
    .value(":active", store::boolean(updated.is_active))
    .value(":now", s(rfc3339(updated.updated_at)))
    .condition(
        Condition::new("is_active = :was AND attribute_not_exists(deleted_at)")
            .value(":was", store::boolean(sector.is_active)),
    );
    let mut writes = vec![Write::Update(change)];
    match (sector.is_active, updated.is_active) {
        (false, true) => writes.push(active_count(&site, 1)),
        (true, false) => writes.push(active_count(&site, -1)),
        _ => {}
    }
    match services.store().await.transact(writes).await {
        Ok(()) => Ok(updated.to_json()),
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&1) => Err(sector_limit_error()),
        Err(StoreError::TransactionCancelled { .. }) => {
            Err(ApiError::Conflict("The sector changed meanwhile; try again.".into()))
        }
        Err(err) => Err(err.into()),
    }
}

pub async fn delete_sector(services: &Services, caller: &Caller, sector_id: &str) -> Result<(), ApiError> {
    // A sector whose delete was cut short (tombstoned) can be deleted again.
    let found = match ids::is_valid_id(sector_id) {
        true => services.store().await.get::<Sector>(&Key::sector(caller.account_id(), sector_id)).await?,
        false => None,
    };
    let sector = found.filter(|s| caller.can_read_site(&s.site_id)).ok_or_else(ApiError::not_found)?;
    caller.require_site_write(&sector.site_id)?;
    // The tombstone first: from now on nothing is written into the sector (a job still running
    // for it writes nothing), then what it holds goes; a delete cut short leaves a tombstoned
    // sector that can be deleted again.
    let tombstone = Change::new(Key::sector(&sector.account_id, &sector.id), "SET deleted_at = :now")
        .value(":now", s(rfc3339(OffsetDateTime::now_utc())))
        .condition(Condition::exists());
    services.store().await.update(tombstone).await.map_err(StoreError::gone_is_not_found)?;
    crate::purge::enqueue(services, PurgeMessage { account_id: sector.account_id, sector_id: sector.id }).await
}

/// Access grants of the account (managers only); filters `user_id`, `site_id`.
pub async fn list_access(
    services: &Services,
    caller: &Caller,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    caller.require_manager()?;
    Ok(all_grants(services, caller.account_id())
        .await?
        .into_iter()
        .filter(|g| query.get("user_id").is_none_or(|u| &g.user_id == u))
        .filter(|g| query.get("site_id").is_none_or(|s| &g.site_id == s))
        .map(|g| g.to_json())
        .collect())
}

pub async fn find_access(services: &Services, caller: &Caller, access_id: &str) -> Result<SiteAccess, ApiError> {
    caller.require_manager()?;
    all_grants(services, caller.account_id())
        .await?
        .into_iter()
        .find(|g| g.id == access_id)
        .ok_or_else(ApiError::not_found)
}

/// Checks the user (an editor or viewer of the account) and the site (of the account) a grant
/// names, as field errors.
async fn check_grant(
    services: &Services,
    caller: &Caller,
    f: &mut FieldErrors,
    user_id: Option<&str>,
    site_id: Option<&str>,
) -> Result<(), ApiError> {
    let store = services.store().await;
    if let Some(user_id) = user_id {
        match store.get::<User>(&Key::user(caller.account_id(), user_id)).await? {
            None => f.add("user_id", format!("Invalid pk \"{user_id}\" - object does not exist.")),
            Some(user) if !matches!(user.role, Role::Editor | Role::Viewer) => {
                f.add("user_id", "Only editors and viewers are granted sites; owners and admins see every site.")
            }
            Some(_) => {}
        }
    }
    if let Some(site_id) = site_id
        && store.get::<Site>(&Key::site(caller.account_id(), site_id)).await?.is_none()
    {
        f.add("site_id", format!("Invalid pk \"{site_id}\" - object does not exist."));
    }
    Ok(())
}

fn already_granted() -> ApiError {
    ApiError::field("non_field_errors", "This user already has access to this site.")
}

crate::input! {
    /// A grant as `POST` and `PUT` send it, or, as `GrantChanges`, what `PATCH` changes.
    pub struct NewGrant, changes GrantChanges {
        /// An editor or viewer of the account.
        user_id: required String = Id,
        /// A site of the account.
        site_id: required String = Id,
    }
}

/// Grants an editor or viewer access to a site.
pub async fn grant_access(services: &Services, caller: &Caller, body: Submitted<NewGrant>) -> Result<Value, ApiError> {
    caller.require_manager()?;
    let NewGrant { user_id, site_id } = body.read()?;
    let mut f = FieldErrors::new();
    check_grant(services, caller, &mut f, Some(&user_id), Some(&site_id)).await?;
    f.finish()?;
    let grant = SiteAccess {
        id: ids::new_id(),
        account_id: caller.account_id().to_owned(),
        user_id,
        site_id,
        granted_by: caller.user.id.clone(),
        created_at: OffsetDateTime::now_utc(),
    };
    let item = Item::new(&grant.key(), "SiteAccess", &grant)?;
    match services.store().await.put(item, Some(Condition::not_exists())).await {
        Ok(()) => Ok(grant.to_json()),
        Err(StoreError::ConditionFailed) => Err(already_granted()),
        Err(err) => Err(err.into()),
    }
}

/// `PUT`/`PATCH site-access/{id}/` `{user_id?, site_id?}`: the grant moves to another user or
/// site (its key is the pair, so the old item goes and the new one comes in one transaction).
/// The grant as the API shows it.
pub async fn show_access(services: &Services, caller: &Caller, access_id: &str) -> Result<Value, ApiError> {
    Ok(find_access(services, caller, access_id).await?.to_json())
}

pub async fn update_access(
    services: &Services,
    caller: &Caller,
    access_id: &str,
    body: Submitted<GrantChanges>,
) -> Result<Value, ApiError> {
    let before = find_access(services, caller, access_id).await?;
    let GrantChanges { user_id, site_id } = body.read()?;
    let mut f = FieldErrors::new();
    check_grant(services, caller, &mut f, user_id.as_deref(), site_id.as_deref()).await?;
    f.finish()?;
    let mut after = before.clone();
    after.user_id = user_id.unwrap_or(after.user_id);
    after.site_id = site_id.unwrap_or(after.site_id);
    if after.key() == before.key() {
        return Ok(after.to_json());
    }
    after.granted_by = caller.user.id.clone();
    let writes = vec![
        Write::Delete(before.key(), Some(Condition::exists())),
        Write::Put(Item::new(&after.key(), "SiteAccess", &after)?, Some(Condition::not_exists())),
    ];
    match services.store().await.transact(writes).await {
        Ok(()) => Ok(after.to_json()),
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&1) => Err(already_granted()),
        Err(StoreError::TransactionCancelled { .. }) => Err(ApiError::not_found()),
        Err(err) => Err(err.into()),
    }
}

pub async fn revoke_access(services: &Services, caller: &Caller, access_id: &str) -> Result<(), ApiError> {
    let grant = find_access(services, caller, access_id).await?;
    services
        .store()
        .await
        .transact(vec![Write::Delete(grant.key(), Some(Condition::exists()))])
        .await
        .map_err(StoreError::gone_is_not_found)
}

/// The grants of one user (removed with the user).
pub async fn grants_of(services: &Services, account: &Account, user_id: &str) -> Result<Vec<Key>, ApiError> {
    Ok(all_grants(services, &account.id).await?.into_iter().filter(|g| g.user_id == user_id).map(|g| g.key()).collect())
}
