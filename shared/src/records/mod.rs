//! What every record of a sector shares, below the modules that own them (the planner's
//! keywords, clusters and ideas; the writer's tasks, content and images):
//!
//! - [`SectorRecord`] and where a record is stored: by id, in its account's partition of its kind
//!   (`ACCOUNT#<account>#<KIND>` / `<KIND>#<id>`, one consistent `GetItem` away), and indexed in
//!   its sector on GSI1 (`ACCOUNT#<account>#SECTOR#<sector>` / `<KIND>#<id>`);
//! - [`scope`]: which records a request reaches, and the site/sector of a new record;
//! - [`listing`]: filters, search and ordering of the list endpoints;
//! - [`pages`]: lists that cost a page (a sector's records from an index, with a cursor);
//! - [`counts`]: how many records of each kind and status a sector holds, kept with every write
//!   that changes them, and the sector's tombstone that stops writes into a sector being purged.

pub mod counts;
pub mod listing;
pub mod pages;
pub mod scope;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::store::{self, Item, Key, Query, StoreError, keys};
use crate::{ApiError, Services};

/// The partition of one sector's planner and writer records.
pub fn sector_pk(account_id: &str, sector_id: &str) -> String {
    format!("ACCOUNT#{account_id}#SECTOR#{sector_id}")
}

/// A record of a sector, stored by id ([`record_key`]) and indexed in its sector on GSI1.
pub trait SectorRecord: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// The sort-key prefix, `KEYWORD#` etc.
    const PREFIX: &'static str;
    /// The `entity` attribute.
    const ENTITY: &'static str;

    /// The record as the API answers it: only the fields it names reach a client.
    type Answer: Serialize + for<'a> From<&'a Self>;

    fn id(&self) -> &str;
    fn account_id(&self) -> &str;
    fn site_id(&self) -> &str;
    fn sector_id(&self) -> &str;
    /// Its status: what lists filter on most, counted per sector ([`counts`]).
    fn status(&self) -> &str;

    /// [`Self::Answer`] as JSON (what lists filter and order).
    fn to_json(&self) -> Value {
        serde_json::to_value(Self::Answer::from(self)).unwrap_or_default()
    }

    /// The answers of `records`, in order: each record's own [`Self::to_json`] unless the
    /// answer needs other records too (a content's image flags), which are read here.
    fn answers(
        services: &Services,
        records: Vec<Self>,
    ) -> impl std::future::Future<Output = Result<Vec<Value>, ApiError>> + Send {
        let _ = services;
        std::future::ready(Ok(records.iter().map(Self::to_json).collect()))
    }

    /// The answer of one record ([`Self::answers`]).
    fn answer(services: &Services, record: Self) -> impl std::future::Future<Output = Result<Value, ApiError>> + Send {
        async move { Ok(Self::answers(services, vec![record]).await?.pop().unwrap_or_default()) }
    }

    fn key(&self) -> Key {
        record_key::<Self>(self.account_id(), self.id())
    }

    /// A filter of this kind's lists that an index serves a page at a time, besides `status`
    /// (a keyword's `cluster_id`: [`pages::MemberOf`]).
    fn member_of() -> Option<pages::MemberOf> {
        None
    }

    /// The kind's name in keys and counts: `KEYWORD`, `TASK`...
    fn kind() -> &'static str {
        Self::PREFIX.trim_end_matches('#')
    }

    /// The stored item: on GSI1 in its sector, on GSI3 in its sector's records of its status, and
    /// on whatever [`Self::indexed`] adds.
    fn item(&self) -> Result<Item, StoreError> {
        let item = Item::new(&self.key(), Self::ENTITY, self)?
            .gsi1(sector_gsi1::<Self>(self.account_id(), self.sector_id(), self.id()))
            .gsi3(pages::status_gsi3::<Self>(self.account_id(), self.sector_id(), self.status(), self.id()));
        Ok(self.indexed(item))
    }

    /// A kind's own index entries (GSI2: a keyword in its cluster, an image under its content).
    fn indexed(&self, item: Item) -> Item {
        item
    }
}

/// Where a record of kind `T` is stored: `ACCOUNT#<account>#<KIND>` / `<KIND>#<id>`.
pub fn record_key<T: SectorRecord>(account_id: &str, id: &str) -> Key {
    Key::new(kind_pk(account_id, T::PREFIX), format!("{}{id}", T::PREFIX))
}

/// GSI1 of a sector record: the records of its sector, by kind and id.
pub fn sector_gsi1<T: SectorRecord>(account_id: &str, sector_id: &str, id: &str) -> (String, String) {
    (sector_pk(account_id, sector_id), format!("{}{id}", T::PREFIX))
}

/// The partition of an account's records of the kind whose sort keys start with `prefix`.
pub(crate) fn kind_pk(account_id: &str, prefix: &str) -> String {
    format!("{}#{}", keys::account_pk(account_id), prefix.trim_end_matches('#'))
}

macro_rules! sector_record {
    ($t:ty, $prefix:expr, $entity:literal) => {
        fn id(&self) -> &str {
            &self.id
        }
        fn account_id(&self) -> &str {
            &self.account_id
        }
        fn site_id(&self) -> &str {
            &self.site_id
        }
        fn sector_id(&self) -> &str {
            &self.sector_id
        }
        fn status(&self) -> &str {
            &self.status
        }
        const PREFIX: &'static str = $prefix;
        const ENTITY: &'static str = $entity;
    };
}

pub(crate) use sector_record;

/// Every record of one kind (`prefix`) in a sector (GSI1: eventually consistent, like every
/// index: a record written in the instant before may be missing).
pub async fn in_sector<T: DeserializeOwned>(
    services: &Services,
    account_id: &str,
    sector_id: &str,
    prefix: &str,
) -> Result<Vec<T>, ApiError> {
    let query = Query::index(keys::GSI1, sector_pk(account_id, sector_id)).sk_prefix(prefix);
    let items = services.store().await.query_all(query).await?;
    Ok(items.into_iter().map(store::decode).collect::<Result<Vec<_>, _>>()?)
}

/// Every record of one kind of an account, all sectors (its partition, strongly consistent).
pub async fn in_account<T: SectorRecord>(services: &Services, account_id: &str) -> Result<Vec<T>, ApiError> {
    let query = Query::partition(kind_pk(account_id, T::PREFIX)).sk_prefix(T::PREFIX);
    let items = services.store().await.query_all(query).await?;
    Ok(items.into_iter().map(store::decode).collect::<Result<Vec<_>, _>>()?)
}

/// One record of an account by id alone (one consistent `GetItem`), or `None`.
pub async fn find<T: SectorRecord>(services: &Services, account_id: &str, id: &str) -> Result<Option<T>, ApiError> {
    if !crate::ids::is_valid_id(id) {
        return Ok(None);
    }
    Ok(services.store().await.get(&record_key::<T>(account_id, id)).await?)
}

/// The records of kind `T` with the given ids, whatever their sectors, in the order given (the
/// missing ones left out): one consistent `GetItem` each, all at once.
pub async fn find_each<T: SectorRecord>(
    services: &Services,
    account_id: &str,
    ids: &[String],
) -> Result<Vec<T>, ApiError> {
    let found = futures_util::future::try_join_all(ids.iter().map(|id| find::<T>(services, account_id, id))).await?;
    Ok(found.into_iter().flatten().collect())
}

/// The records of kind `T` with the given ids in one sector (missing ones, and those of other
/// sectors, left out), read by id 100 at a time.
pub async fn by_ids<T: SectorRecord>(
    services: &Services,
    account_id: &str,
    sector_id: &str,
    ids: &[String],
) -> Result<Vec<T>, ApiError> {
    let store = services.store().await;
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(100) {
        let keys: Vec<Key> =
            chunk.iter().filter(|id| crate::ids::is_valid_id(id)).map(|id| record_key::<T>(account_id, id)).collect();
        for item in store.get_many(&keys).await?.into_iter().flatten() {
            let record: T = store::decode(item)?;
            if record.sector_id() == sector_id {
                found.push(record);
            }
        }
    }
    Ok(found)
}
