//! Lists that cost a page. A list of one sector in its default order — newest first, the order
//! of the records' ids (UUID v7) — and narrowed at most by `status` is served by a `Query` of an
//! index with `Limit`, from a cursor; its `count` is the sector's own ([`super::counts`]). Such a
//! page reads the page (and, without a cursor, the pages before it: `page=` deep into a list costs
//! what it skips; the `next` link carries `cursor=`, which costs nothing to follow).
//!
//! Every other list (another filter, `search`, another ordering, no `sector_id`) reads the records
//! it covers and filters, searches and orders them in memory: at most [`IN_MEMORY_MAX`] records,
//! known from the counts before anything is read; a larger list is a 400 that says how to narrow
//! it. `docs/data-model.md` gives each one's cost.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::counts::Counts;
use super::listing::ListSpec;
use super::{SectorRecord, kind_pk, sector_pk};
use crate::pagination::{Links, Page, PageRequest};
use crate::sites::Sector;
use crate::store::{self, Key, Query, RawItem, keys};
use crate::{ApiError, Services, ids};

/// The most records a list filtered, searched or ordered in memory may cover.
pub const IN_MEMORY_MAX: u64 = 10_000;

/// The parameters a keyed page understands; any other one (a filter, `search`, another
/// `ordering`) takes the list into memory.
const KEYED_PARAMS: &[&str] = &["page", "page_size", "cursor", "sector_id", "site_id", "status", "account_id"];

/// A filter naming a record its records are members of (a keyword's cluster), served by an index
/// of the members newest first, and counted on that record.
#[derive(Debug, Clone, Copy)]
pub struct MemberOf {
    /// The query parameter, e.g. `cluster_id`.
    pub param: &'static str,
    /// The index of the members, e.g. GSI2.
    pub index: &'static str,
    /// Its partition key attribute and sort key attribute.
    pub index_keys: (&'static str, &'static str),
    /// The index partition of the members of `(account, id)`.
    pub partition: fn(&str, &str) -> String,
    /// The record `(account, id)` that counts its members.
    pub owner: fn(&str, &str) -> Key,
    /// The attribute of that record holding the count.
    pub count: &'static str,
}

/// GSI3 of a sector record: its sector's records of one status, by kind and id.
pub fn status_gsi3<T: SectorRecord>(account_id: &str, sector_id: &str, status: &str, id: &str) -> (String, String) {
    (status_pk::<T>(account_id, sector_id, status), format!("{}{id}", T::PREFIX))
}

fn status_pk<T: SectorRecord>(account_id: &str, sector_id: &str, status: &str) -> String {
    format!("{}#{}#{status}", sector_pk(account_id, sector_id), T::kind())
}

/// A list request that one sector's index serves a page at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyed {
    pub sector_id: String,
    pub status: Option<String>,
    /// The id a [`MemberOf`] filter names.
    pub member_of: Option<String>,
    pub page: PageRequest,
    /// The id of the last record of the previous page.
    pub cursor: Option<String>,
}

fn param<'a>(query: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// The keyed plan of a list request, if one index serves it; `None` for a list read in memory.
pub fn keyed<T: SectorRecord>(query: &HashMap<String, String>, spec: &ListSpec) -> Result<Option<Keyed>, ApiError> {
    let page = PageRequest::from_query(query)?;
    let cursor = match param(query, "cursor") {
        Some(c) if ids::is_valid_id(c) => Some(c.to_owned()),
        Some(_) => return Err(ApiError::field("cursor", "Invalid cursor: follow a page's `next` link.")),
        None => None,
    };
    let ordering = param(query, "ordering");
    let default_order = ordering.is_none_or(|o| o == spec.default_ordering);
    let member = T::member_of().map(|m| m.param);
    let other = query.iter().any(|(name, value)| {
        !value.trim().is_empty()
            && !KEYED_PARAMS.contains(&name.as_str())
            && name != "ordering"
            && Some(name.as_str()) != member
    });
    let member_of = member.and_then(|m| param(query, m)).map(str::to_owned);
    // Not an id: no index partition to read (the list in memory finds nothing).
    if member_of.as_deref().is_some_and(|id| !ids::is_valid_id(id)) {
        return Ok(None);
    }
    if member_of.is_some() && param(query, "status").is_some() {
        return Ok(None);
    }
    let Some(sector_id) = param(query, "sector_id") else {
        return Ok(None);
    };
    // A status is part of an index key: one no record can have is refused before any read.
    if let Some(status) = param(query, "status")
        && (status.len() > 64 || !status.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
    {
        return Err(ApiError::field("status", "Not a status of these records."));
    }
    if !default_order || other {
        return Ok(None);
    }
    Ok(Some(Keyed {
        sector_id: sector_id.to_owned(),
        status: param(query, "status").map(str::to_owned),
        member_of,
        page,
        cursor,
    }))
}

/// What a keyed page read: its sector (none when it is not the account's, or deleted) with its
/// counts, and the records from the cursor (or from the list's start), at most the records
/// skipped, the page and one more.
#[derive(Debug)]
pub struct KeyedRead<T> {
    pub sector: Option<Sector>,
    pub counts: Counts,
    /// For a [`MemberOf`] filter, its record's count of members (0 when it is not the sector's).
    pub members: Option<u64>,
    pub records: Vec<T>,
}

/// Reads a keyed page of `account_id`'s records of kind `T`: the sector's item and the index
/// query at once, one round trip (more only for a page number far from the start).
pub async fn read_keyed<T: SectorRecord>(
    services: &Services,
    account_id: &str,
    plan: &Keyed,
) -> Result<KeyedRead<T>, ApiError> {
    let store = services.store().await;
    if !ids::is_valid_id(&plan.sector_id) {
        return Ok(KeyedRead { sector: None, counts: Counts::default(), members: None, records: Vec::new() });
    }
    let size = plan.page.page_size as usize;
    let skip = if plan.cursor.is_some() { 0 } else { plan.page.offset() };
    if (skip + size) as u64 > IN_MEMORY_MAX {
        return Err(ApiError::field(
            "page",
            "This page is too far into the list: follow the pages' `next` links (`cursor=`).",
        ));
    }
    let want = skip + size + 1;
    let spk = sector_pk(account_id, &plan.sector_id);
    let member = plan.member_of.as_ref().zip(T::member_of());
    let (index, pk, (index_pk, index_sk)) = match (&plan.status, member) {
        (_, Some((id, m))) => (m.index, (m.partition)(account_id, id), m.index_keys),
        (Some(status), None) => {
            (keys::GSI3, status_pk::<T>(account_id, &plan.sector_id, status), (keys::GSI3_PK, keys::GSI3_SK))
        }
        (None, None) => (keys::GSI1, spk.clone(), (keys::GSI1_PK, keys::GSI1_SK)),
    };
    let start: Option<RawItem> = plan.cursor.as_ref().map(|id| {
        let sk = format!("{}{id}", T::PREFIX);
        HashMap::from([
            (keys::PK.to_owned(), AttributeValue::S(kind_pk(account_id, T::PREFIX))),
            (keys::SK.to_owned(), AttributeValue::S(sk.clone())),
            (index_pk.to_owned(), AttributeValue::S(pk.clone())),
            (index_sk.to_owned(), AttributeValue::S(sk)),
        ])
    });
    let records = async {
        let mut found: Vec<T> = Vec::with_capacity(want);
        let mut from = start;
        loop {
            let query = Query::index(index, pk.clone())
                .sk_prefix(T::PREFIX)
                .newest_first()
                .limit((want - found.len()) as i32)
                .start(from);
            let page = store.query(query).await?;
            for item in page.items {
                found.push(store::decode(item)?);
            }
            match page.next {
                Some(next) if found.len() < want => from = Some(next),
                _ => return Ok::<_, ApiError>(found),
            }
        }
    };
    let sector = async { Ok::<_, ApiError>(store.get_raw(&Key::sector(account_id, &plan.sector_id)).await?) };
    let owner = async {
        match member {
            Some((id, m)) if ids::is_valid_id(id) => {
                Ok::<_, ApiError>(store.get_raw(&(m.owner)(account_id, id)).await?)
            }
            _ => Ok(None),
        }
    };
    let (sector, owner, records) = tokio::try_join!(sector, owner, records)?;
    // The owner counts its members if it is of the sector asked for (else the list is empty).
    let members = member.map(|(_, m)| {
        owner
            .filter(|o| matches!(o.get("sector_id"), Some(AttributeValue::S(s)) if *s == plan.sector_id))
            .and_then(|o| o.get(m.count).and_then(|c| c.as_n().ok()).and_then(|c| c.parse().ok()))
            .unwrap_or(0)
    });
    let records: Vec<T> = match members {
        Some(0) => Vec::new(),
        _ => records.into_iter().filter(|r: &T| r.sector_id() == plan.sector_id).collect(),
    };
    let counts = sector.as_ref().map(Counts::of_item).unwrap_or_default();
    let sector = sector.map(store::decode::<Sector>).transpose()?.filter(|s| s.deleted_at.is_none());
    let records = records.into_iter().skip(skip).collect();
    Ok(KeyedRead { sector, counts, members, records })
}

/// The page a caller gets of a keyed read: a sector it may not see is a 404; a `site_id` that
/// is not the sector's, an empty list. `next` carries the cursor of the page's last record.
pub fn keyed_page<T: SectorRecord>(
    can_read_site: impl Fn(&str) -> bool,
    plan: &Keyed,
    read: KeyedRead<T>,
    site_id: Option<&str>,
    links: &Links,
) -> Result<Page<T>, ApiError> {
    let sector = match read.sector {
        Some(sector) if can_read_site(&sector.site_id) => sector,
        _ => return Err(ApiError::not_found()),
    };
    let empty = Page { count: 0, next: None, previous: None, results: Vec::new() };
    if site_id.is_some_and(|site| site != sector.site_id) {
        return Ok(empty);
    }
    let count = read.members.unwrap_or_else(|| read.counts.of::<T>(plan.status.as_deref()));
    let size = plan.page.page_size as usize;
    let mut records = read.records;
    let more = records.len() > size;
    records.truncate(size);
    if records.is_empty() && plan.page.page > 1 && plan.cursor.is_none() {
        return Err(ApiError::NotFound("Invalid page.".into()));
    }
    let next = match records.last() {
        Some(last) if more => Some(links.page_after(plan.page.page + 1, last.id())),
        _ => None,
    };
    let previous = (plan.page.page > 1).then(|| links.page(plan.page.page - 1));
    Ok(Page { count, next, previous, results: records })
}
