//! `/api/v1/planner/clusters/`: CRUD (names unique per sector), bulk delete (keywords are
//! unassigned, not deleted) and AI idea generation. `keywords_count`, `volume` and the difficulty
//! sum are only ever moved by the keyword writes of [`super::membership`].

use std::collections::HashMap;

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::listing::{ListSpec, Match};
use super::membership::{self, KeywordChange};
use super::{Cluster, SectorRecord, scope};
use crate::access::Caller;
use crate::jobs::{self, AiFunction, Job};
use crate::store::{Change, Condition, Item, StoreError, Write, s};
use crate::validation::{Fields, bounded, choice, id_list, max, text};
use crate::{ApiError, Services, ids, usage};

pub const STATUSES: &[&str] = &["active", "inactive", "archived"];
/// Clusters one `auto_generate_ideas/` request may name (one model call each).
pub const IDEAS_MAX: usize = 20;

pub const LIST: ListSpec = ListSpec {
    filters: &[
        ("status", "status", Match::Eq),
        ("volume_min", "volume", Match::Min),
        ("volume_max", "volume", Match::Max),
        ("keywords_count_min", "keywords_count", Match::Min),
        ("keywords_count_max", "keywords_count", Match::Max),
        ("difficulty_min", "difficulty", Match::Min),
        ("difficulty_max", "difficulty", Match::Max),
    ],
    search: &["name"],
    orderings: &[
        ("name", "name"),
        ("created_at", "created_at"),
        ("keywords_count", "keywords_count"),
        ("volume", "volume"),
        ("difficulty", "difficulty"),
    ],
    default_ordering: "-created_at",
};

pub async fn list(
    services: &Services,
    caller: &Caller,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    scope::listed::<Cluster>(services, caller, query, &LIST).await
}

fn guard_item(cluster: &Cluster) -> Result<Item, StoreError> {
    Item::new(&cluster.name_guard(), "ClusterName", &json!({"cluster_id": cluster.id, "name": cluster.name}))
}

fn taken() -> ApiError {
    ApiError::field("name", "A cluster with this name already exists in the sector.")
}

/// The writes that create `cluster` with its name guard (index 1 fails when the name is taken).
pub fn create_writes(cluster: &Cluster) -> Result<Vec<Write>, StoreError> {
    Ok(vec![
        Write::Put(cluster.item()?, Some(Condition::not_exists())),
        Write::Put(guard_item(cluster)?, Some(Condition::not_exists())),
    ])
}

/// `POST clusters/` `{name, description?, status?, site_id?, sector_id}`.
pub async fn create(services: &Services, caller: &Caller, body: &[u8]) -> Result<Value, ApiError> {
    let mut f = Fields::parse(body)?;
    let sector = scope::target_sector(services, caller, &mut f).await?;
    let name = f.required("name", bounded(max::NAME));
    let description = f.optional("description", text(max::DESCRIPTION));
    let status = f.optional("status", choice(STATUSES));
    f.finish()?;
    let (Some(sector), Some(name)) = (sector, name) else {
        return Err(ApiError::internal("validated fields missing"));
    };
    let now = OffsetDateTime::now_utc();
    let cluster = Cluster {
        id: ids::new_id(),
        account_id: sector.account_id.clone(),
        site_id: sector.site_id.clone(),
        sector_id: sector.id.clone(),
        name,
        description: description.unwrap_or_default(),
        status: status.unwrap_or_else(|| "active".into()),
        keywords_count: 0,
        volume: 0,
        difficulty_sum: 0,
        created_at: now,
    };
    let mut writes = create_writes(&cluster)?;
    writes.push(usage::count_write(&cluster.account_id, "clusters", 1, now));
    match services.store().await.transact(writes).await {
        Ok(()) => Ok(cluster.to_json()),
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&1) => Err(taken()),
        Err(err) => Err(err.into()),
    }
}

/// `PUT`/`PATCH clusters/{id}/`: name (kept unique), description, status.
pub async fn update(services: &Services, caller: &Caller, cluster_id: &str, body: &[u8]) -> Result<Value, ApiError> {
    let before = scope::writable::<Cluster>(services, caller, cluster_id).await?;
    let mut f = Fields::parse(body)?;
    let name = f.optional("name", bounded(max::NAME));
    let description = f.optional("description", text(max::DESCRIPTION));
    let status = f.optional("status", choice(STATUSES));
    for fixed in ["keywords_count", "volume", "difficulty", "site_id", "sector_id"] {
        if f.sent(fixed) && f.optional(fixed, |v| Ok::<_, String>(v.clone())) != Some(before.to_json()[fixed].clone()) {
            f.error(fixed, "This field is computed or fixed and cannot be set.");
        }
    }
    f.finish()?;
    let mut after = before.clone();
    after.name = name.unwrap_or(after.name);
    after.description = description.unwrap_or(after.description);
    after.status = status.unwrap_or(after.status);
    let change = Change::new(before.key(), "SET #name = :name, description = :description, #status = :status")
        .name("#name", "name")
        .name("#status", "status")
        .value(":name", s(&after.name))
        .value(":description", s(&after.description))
        .value(":status", s(&after.status))
        .condition(Condition::exists());
    let mut writes = vec![Write::Update(change)];
    if super::normalise(&after.name) != super::normalise(&before.name) {
        writes.push(Write::Put(guard_item(&after)?, Some(Condition::not_exists())));
        writes.push(Write::Delete(before.name_guard(), None));
    }
    match services.store().await.transact(writes).await {
        Ok(()) => {}
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&1) => return Err(taken()),
        Err(StoreError::TransactionCancelled { .. }) => return Err(ApiError::not_found()),
        Err(err) => return Err(err.into()),
    }
    Ok(scope::visible::<Cluster>(services, caller, cluster_id).await?.to_json())
}

/// Deletes a cluster and its name guard, then unassigns its keywords (which stay).
async fn remove(services: &Services, cluster: &Cluster) -> Result<bool, ApiError> {
    let writes =
        vec![Write::Delete(cluster.key(), Some(Condition::exists())), Write::Delete(cluster.name_guard(), None)];
    match services.store().await.transact(writes).await {
        Ok(()) => {}
        Err(StoreError::TransactionCancelled { .. }) => return Ok(false),
        Err(err) => return Err(err.into()),
    }
    // Members join no cluster any more; the deleted cluster's counts need no update.
    let members = super::cluster_keywords(services, &cluster.account_id, &cluster.id).await?;
    let changes: Vec<KeywordChange> = members
        .into_iter()
        .map(|k| {
            let mut after = k.clone();
            after.cluster_id = None;
            KeywordChange::update(k, after)
        })
        .collect();
    membership::commit(services, &changes).await?;
    Ok(true)
}

/// `DELETE clusters/{id}/`.
pub async fn delete(services: &Services, caller: &Caller, cluster_id: &str) -> Result<(), ApiError> {
    let cluster = scope::writable::<Cluster>(services, caller, cluster_id).await?;
    if remove(services, &cluster).await? { Ok(()) } else { Err(ApiError::not_found()) }
}

/// `POST clusters/bulk_delete/` `{ids}`.
pub async fn bulk_delete(services: &Services, caller: &Caller, body: &[u8]) -> Result<Value, ApiError> {
    let mut f = Fields::parse(body)?;
    let ids = f.required("ids", id_list(super::keywords::BULK_MAX));
    f.finish()?;
    let clusters = scope::writable_many::<Cluster>(services, caller, "ids", &ids.unwrap_or_default(), None).await?;
    let mut deleted = 0;
    for cluster in &clusters {
        if remove(services, cluster).await? {
            deleted += 1;
        }
    }
    Ok(json!({"deleted_count": deleted}))
}

/// `POST clusters/auto_generate_ideas/` `{ids}`: clusters of one sector, one model call each.
pub async fn auto_generate_ideas(services: &Services, caller: &Caller, body: &[u8]) -> Result<Job, ApiError> {
    let mut f = Fields::parse(body)?;
    let ids = f.required("ids", id_list(IDEAS_MAX));
    f.finish()?;
    let ids = ids.unwrap_or_default();
    let clusters = scope::writable_many::<Cluster>(services, caller, "ids", &ids, None).await?;
    let first = scope::one_sector(&clusters)?;
    let input = json!({"site_id": first.site_id, "sector_id": first.sector_id, "cluster_ids": ids});
    jobs::start(services, caller, AiFunction::GenerateIdeas, input, &format!("Ideas for {} clusters", ids.len())).await
}
