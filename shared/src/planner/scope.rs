//! Which records a request may reach. Like the original's site/sector view sets: lists are the
//! account's records, narrowed by `site_id` and `sector_id`, and for editors and viewers to their
//! granted sites; a new record names its sector (and optionally its site) in the body.

use std::collections::{HashMap, HashSet};

use super::{SectorRecord, find, in_account, in_sector};
use crate::access::Caller;
use crate::sites::{self, Sector};
use crate::validation::{FieldErrors, Fields, id};
use crate::{ApiError, Services};

/// The records of kind `T` a list request covers: one sector's partition when `sector_id` is
/// given, else the account's records (GSI1) on live sectors of sites the caller may see.
pub async fn list<T: SectorRecord>(
    services: &Services,
    caller: &Caller,
    query: &HashMap<String, String>,
) -> Result<Vec<T>, ApiError> {
    let param = |name: &str| query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    if let Some(site_id) = param("site_id") {
        sites::visible_site(services, caller, site_id).await?;
    }
    if let Some(sector_id) = param("sector_id") {
        let sector = sites::visible_sector(services, caller, sector_id).await?;
        if param("site_id").is_some_and(|site| site != sector.site_id) {
            return Ok(Vec::new());
        }
        return in_sector(services, caller.account_id(), &sector.id, T::PREFIX).await;
    }
    let live: HashSet<String> = sites::all_sectors(services, caller.account_id())
        .await?
        .into_iter()
        .filter(|s| caller.can_read_site(&s.site_id))
        .map(|s| s.id)
        .collect();
    let site = param("site_id");
    Ok(in_account::<T>(services, caller.account_id())
        .await?
        .into_iter()
        .filter(|r| live.contains(r.sector_id()) && site.is_none_or(|s| s == r.site_id()))
        .collect())
}

/// A record the caller may see, else 404.
pub async fn visible<T: SectorRecord>(services: &Services, caller: &Caller, id: &str) -> Result<T, ApiError> {
    match find::<T>(services, caller.account_id(), id).await? {
        Some(record) if caller.can_read_site(record.site_id()) => Ok(record),
        _ => Err(ApiError::not_found()),
    }
}

/// A record the caller may change: 404 if it may not see it, 403 if it may only read it.
pub async fn writable<T: SectorRecord>(services: &Services, caller: &Caller, id: &str) -> Result<T, ApiError> {
    let record = visible::<T>(services, caller, id).await?;
    caller.require_site_write(record.site_id())?;
    Ok(record)
}

/// The sector a new record goes into, from the body's `sector_id` and `site_id` (optional; must be
/// the sector's site). A sector the caller may not see is an error on `sector_id` in `errors`;
/// one it may only read is a 403.
pub async fn target_sector(
    services: &Services,
    caller: &Caller,
    site_id: Option<&str>,
    sector_id: &str,
    errors: &mut FieldErrors,
) -> Result<Option<Sector>, ApiError> {
    let sector = match sites::visible_sector(services, caller, sector_id).await {
        Ok(sector) => sector,
        Err(ApiError::NotFound(_)) => {
            errors.add("sector_id", format!("Invalid pk \"{sector_id}\" - object does not exist."));
            return Ok(None);
        }
        Err(err) => return Err(err),
    };
    if site_id.is_some_and(|site| site != sector.site_id) {
        errors.add("site_id", "The sector does not belong to this site.");
        return Ok(None);
    }
    caller.require_site_write(&sector.site_id)?;
    Ok(Some(sector))
}

/// [`target_sector`] from a body read field by field (`sector_id` required, `site_id` optional).
pub async fn target_sector_of(
    services: &Services,
    caller: &Caller,
    f: &mut Fields,
) -> Result<Option<Sector>, ApiError> {
    let site_id = f.optional("site_id", id);
    let Some(sector_id) = f.required("sector_id", id) else {
        return Ok(None);
    };
    target_sector(services, caller, site_id.as_deref(), &sector_id, f.errors_mut()).await
}

/// The caller's records of kind `T` with the given ids, which it may change. Unknown ids are a
/// field error on `field` naming them. With `sector_id` they are read in batches from that
/// sector's partition; without, one by one for a few ids, else from the account's index.
pub async fn writable_many<T: SectorRecord>(
    services: &Services,
    caller: &Caller,
    field: &str,
    ids: &[String],
    sector_id: Option<&str>,
) -> Result<Vec<T>, ApiError> {
    let account_id = caller.account_id();
    let mut found: Vec<T> = match sector_id {
        Some(sector) => super::by_ids(services, account_id, sector, T::PREFIX, ids).await?,
        None if ids.len() <= 25 => {
            let lookups = ids.iter().map(|id| find::<T>(services, account_id, id));
            let mut out = Vec::new();
            for record in futures_util::future::join_all(lookups).await {
                out.extend(record?);
            }
            out
        }
        None => {
            let wanted: HashSet<&str> = ids.iter().map(String::as_str).collect();
            in_account::<T>(services, account_id).await?.into_iter().filter(|r| wanted.contains(r.id())).collect()
        }
    };
    found.retain(|r| caller.can_read_site(r.site_id()));
    if found.len() < ids.len() {
        let present: HashSet<&str> = found.iter().map(|r| r.id()).collect();
        let missing: Vec<&str> = ids.iter().map(String::as_str).filter(|id| !present.contains(id)).collect();
        return Err(ApiError::field(field, format!("Invalid pk \"{}\" - object does not exist.", missing.join(", "))));
    }
    let sites: HashSet<&str> = found.iter().map(|r| r.site_id()).collect();
    for site in sites {
        caller.require_site_write(site)?;
    }
    Ok(found)
}

/// A list endpoint's answer: the records `query` reaches, filtered and ordered by `spec`.
pub async fn listed<T: SectorRecord>(
    services: &Services,
    caller: &Caller,
    query: &HashMap<String, String>,
    spec: &super::listing::ListSpec,
) -> Result<Vec<serde_json::Value>, ApiError> {
    let records = list::<T>(services, caller, query).await?;
    spec.apply(T::answers(services, records).await?, query)
}

/// Writes a new record with one more `metric` on today's usage counter, together.
pub async fn insert<T: SectorRecord>(
    services: &Services,
    record: &T,
    metric: &'static str,
    at: time::OffsetDateTime,
) -> Result<(), ApiError> {
    let writes = vec![
        crate::store::Write::Put(record.item()?, Some(crate::store::Condition::not_exists())),
        crate::usage::count_write(record.account_id(), metric, 1, at),
    ];
    services.store().await.transact(writes).await?;
    Ok(())
}

/// Replaces a record, but only if its link `field` (set by other writers: a task's
/// `content_id`, an idea's `task_id`) is still `before`: else 409.
pub async fn replace_keeping_link<T: SectorRecord>(
    services: &Services,
    record: &T,
    field: &str,
    before: Option<&str>,
) -> Result<(), ApiError> {
    use crate::store::{Condition, StoreError};
    let condition = match before {
        Some(value) => Condition::new("#link = :link").value(":link", crate::store::s(value)),
        None => Condition::new("attribute_exists(PK) AND (attribute_not_exists(#link) OR #link = :null)")
            .value(":null", crate::store::null()),
    }
    .name("#link", field);
    match services.store().await.put(record.item()?, Some(condition)).await {
        Ok(()) => Ok(()),
        Err(StoreError::ConditionFailed) => {
            Err(ApiError::Conflict("The record was changed meanwhile; reload it and try again.".into()))
        }
        Err(err) => Err(err.into()),
    }
}

/// The first of `records` if all are in one sector (a job works on one sector), else a field
/// error on `ids`.
pub fn one_sector<T: SectorRecord>(records: &[T]) -> Result<&T, ApiError> {
    let first = records.first().ok_or_else(|| ApiError::field("ids", "This list may not be empty."))?;
    if records.iter().any(|r| r.sector_id() != first.sector_id()) {
        return Err(ApiError::field("ids", "All records must be in one sector."));
    }
    Ok(first)
}

/// Ids one bulk action may name.
pub const BULK_MAX: usize = 1000;

crate::input! {
    /// The records a bulk action works on.
    pub struct Selection {
        /// Their ids (at most 1,000; repeats count once).
        ids: required Vec<String> = crate::validation::input::Ids(BULK_MAX),
    }
}

/// What a bulk delete did.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Deleted {
    pub deleted_count: usize,
}

/// What a bulk update did.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Updated {
    pub updated_count: usize,
}
