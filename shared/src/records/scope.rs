//! Which records a request may reach. Like the original's site/sector view sets: lists are the
//! account's records, narrowed by `site_id` and `sector_id`, and for editors and viewers to their
//! granted sites; a new record names its sector (and optionally its site) in the body.

use std::collections::{HashMap, HashSet};

use super::counts::{self, Counts, Tally};
use super::pages::IN_MEMORY_MAX;
use super::{SectorRecord, find, in_account, in_sector};
use crate::access::Caller;
use crate::sites::{self, Sector};
use crate::validation::{FieldErrors, Fields, id};
use crate::{ApiError, Services};

/// What a list request reads, all at once, before the caller is known to may see it: the site
/// and sector the query names (`site_id`, `sector_id`), and the records of kind `T` (the sector's
/// partition when `sector_id` is given, else the account's records on GSI1 with the account's
/// sectors). [`visible_list`] then keeps what the caller may see.
#[derive(Debug)]
pub struct ListRead<T> {
    site: Option<Option<sites::Site>>,
    sector: Option<Option<Sector>>,
    sectors: Vec<Sector>,
    records: Vec<T>,
}

fn param<'a>(query: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// Reads what a list of `account_id`'s records of kind `T` needs (see [`ListRead`]): one round
/// trip.
pub async fn read_list<T: SectorRecord>(
    services: &Services,
    account_id: &str,
    query: &HashMap<String, String>,
) -> Result<ListRead<T>, ApiError> {
    let site = async {
        match param(query, "site_id") {
            Some(id) => sites::site_of(services, account_id, id).await.map(Some),
            None => Ok(None),
        }
    };
    // What the list covers is counted first (the sectors' counts): more than a list may read in
    // memory is a 400 before anything else is read.
    let store = services.store().await;
    match param(query, "sector_id") {
        Some(sector_id) if crate::ids::is_valid_id(sector_id) => {
            let (site, sector) = tokio::try_join!(site, async {
                Ok(store.get_raw(&crate::store::Key::sector(account_id, sector_id)).await?)
            })?;
            let covered = sector.as_ref().map(|s| Counts::of_item(s).of::<T>(None)).unwrap_or(0);
            too_many(covered)?;
            let sector = sector.map(crate::store::decode::<Sector>).transpose()?.filter(|s| s.deleted_at.is_none());
            let records = match &sector {
                Some(_) => in_sector::<T>(services, account_id, sector_id, T::PREFIX).await?,
                None => Vec::new(),
            };
            Ok(ListRead { site, sector: Some(sector), sectors: Vec::new(), records })
        }
        Some(_) => Ok(ListRead { site: site.await?, sector: Some(None), sectors: Vec::new(), records: Vec::new() }),
        None => {
            let query = crate::store::Query::partition(crate::store::keys::account_pk(account_id))
                .sk_prefix(crate::store::keys::SECTOR_PREFIX);
            let (site, raw) = tokio::try_join!(site, async { Ok(store.query_all(query).await?) })?;
            let covered: u64 = raw.iter().map(|s| Counts::of_item(s).of::<T>(None)).sum();
            too_many(covered)?;
            let sectors: Vec<Sector> = raw
                .into_iter()
                .map(crate::store::decode::<Sector>)
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .filter(|s| s.deleted_at.is_none())
                .collect();
            let records = in_account::<T>(services, account_id).await?;
            Ok(ListRead { site, sector: None, sectors, records })
        }
    }
}

/// A 400 for a list read in memory that would cover more than [`IN_MEMORY_MAX`] records.
fn too_many(covered: u64) -> Result<(), ApiError> {
    if covered <= IN_MEMORY_MAX {
        return Ok(());
    }
    Err(ApiError::BadRequest(format!(
        "This list covers {covered} records: filters other than status, search and other orderings read at most \
         {IN_MEMORY_MAX}. Narrow it to one sector (sector_id) and use status, or page through it in its default order."
    )))
}

/// Of what [`read_list`] read, the records the caller may see: a site or sector it may not see
/// is a 404; without `sector_id`, records of live sectors of the sites it may see.
pub fn visible_list<T: SectorRecord>(
    caller: &Caller,
    read: ListRead<T>,
    query: &HashMap<String, String>,
) -> Result<Vec<T>, ApiError> {
    let ListRead { site, sector, sectors, records } = read;
    if let Some(site) = site {
        match site {
            Some(site) if caller.can_read_site(&site.id) => {}
            _ => return Err(ApiError::not_found()),
        }
    }
    if let Some(sector) = sector {
        let sector = match sector {
            Some(sector) if caller.can_read_site(&sector.site_id) => sector,
            _ => return Err(ApiError::not_found()),
        };
        if param(query, "site_id").is_some_and(|site| site != sector.site_id) {
            return Ok(Vec::new());
        }
        return Ok(records);
    }
    let live: HashSet<String> =
        sectors.into_iter().filter(|s| caller.can_read_site(&s.site_id)).map(|s| s.id).collect();
    let site = param(query, "site_id");
    Ok(records.into_iter().filter(|r| live.contains(r.sector_id()) && site.is_none_or(|s| s == r.site_id())).collect())
}

/// The records of kind `T` a list request covers ([`read_list`] then [`visible_list`]).
pub async fn list<T: SectorRecord>(
    services: &Services,
    caller: &Caller,
    query: &HashMap<String, String>,
) -> Result<Vec<T>, ApiError> {
    visible_list(caller, read_list::<T>(services, caller.account_id(), query).await?, query)
}

/// A record found by id for the caller's account (see [`find`]), if the caller may see it; else 404.
pub fn visible_found<T: SectorRecord>(caller: &Caller, found: Option<T>) -> Result<T, ApiError> {
    match found {
        Some(record) if caller.can_read_site(record.site_id()) => Ok(record),
        _ => Err(ApiError::not_found()),
    }
}

/// A record the caller may see, else 404.
pub async fn visible<T: SectorRecord>(services: &Services, caller: &Caller, id: &str) -> Result<T, ApiError> {
    visible_found(caller, find::<T>(services, caller.account_id(), id).await?)
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
        Some(sector) => super::by_ids(services, account_id, sector, ids).await?,
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

/// A list endpoint's answer: the visible `records`, filtered and ordered by `spec` as `query` asks.
pub async fn listed<T: SectorRecord>(
    services: &Services,
    records: Vec<T>,
    query: &HashMap<String, String>,
    spec: &super::listing::ListSpec,
) -> Result<Vec<serde_json::Value>, ApiError> {
    spec.apply(T::answers(services, records).await?, query)
}

/// Writes a new record with one more `metric` on today's usage counter and its sector's count,
/// together. A sector deleted meanwhile is a 404.
pub async fn insert<T: SectorRecord>(
    services: &Services,
    record: &T,
    metric: &'static str,
    at: time::OffsetDateTime,
) -> Result<(), ApiError> {
    let writes = vec![
        crate::store::Write::Put(record.item()?, Some(crate::store::Condition::not_exists())),
        crate::usage::count_write(record.account_id(), metric, 1, at),
        Tally::of(record).created(record).write(),
    ];
    match services.store().await.transact(writes).await {
        Ok(()) => Ok(()),
        Err(err) if counts::sector_refused(&err, 2) => Err(ApiError::not_found()),
        Err(err) => Err(err.into()),
    }
}

/// Replaces a record, but only if its link `field` (set by other writers: a task's
/// `content_id`, an idea's `task_id`) is still `link_before` and its status still `before`'s:
/// else 409. A status change moves its sector's counts in the same transaction.
pub async fn replace_keeping_link<T: SectorRecord>(
    services: &Services,
    before: &T,
    record: &T,
    field: &str,
    link_before: Option<&str>,
) -> Result<(), ApiError> {
    use crate::store::{Condition, StoreError, Write};
    let condition = match link_before {
        Some(value) => Condition::new("#link = :link AND #status = :status").value(":link", crate::store::s(value)),
        None => Condition::new(
            "attribute_exists(PK) AND (attribute_not_exists(#link) OR #link = :null) AND #status = :status",
        )
        .value(":null", crate::store::null()),
    }
    .name("#link", field)
    .name("#status", "status")
    .value(":status", crate::store::s(before.status()));
    let mut tally = Tally::of(record);
    tally.changed(before, record);
    let mut writes = vec![Write::Put(record.item()?, Some(condition))];
    if !tally.is_empty() {
        writes.push(tally.write());
    }
    match services.store().await.transact(writes).await {
        Ok(()) => Ok(()),
        Err(err) if counts::sector_refused(&err, 1) => Err(ApiError::not_found()),
        Err(StoreError::TransactionCancelled { .. }) => {
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
