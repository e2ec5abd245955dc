//! `/api/v1/planner/clusters/`: CRUD (names unique per sector), bulk delete (keywords are
//! unassigned, not deleted) and AI idea generation. `keywords_count`, `volume` and the difficulty
//! sum are only ever moved by the keyword writes of [`super::membership`].

use std::collections::HashMap;

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::ai::{GenerateIdeas, IdeasInput};
use super::listing::{ListSpec, Match};
use super::membership::{self, KeywordChange};
use super::scope::{Deleted, Selection};
use super::{Cluster, SectorRecord, scope};
use crate::access::Caller;
use crate::http::openapi::{Data, Queued};
use crate::http::{self, AppState, JsonBody, Reply};
use crate::jobs::JobQueued;
use crate::records::counts::{self, Tally};
use crate::store::{Change, Condition, StoreError, Write, s};
use crate::throttle::scopes::{Planner, PlannerAi};
use crate::validation::input::{Bounded, Choice, Id, Ids, Json, Text};
use crate::validation::{FieldErrors, max};
use crate::{ApiError, Services, ids, usage};
use axum::extract::State;

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

/// The list's page source: the `records` the caller may see, filtered and ordered.
pub async fn list(
    services: &Services,
    records: Vec<Cluster>,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    scope::listed(services, records, query, &LIST).await
}

fn taken() -> ApiError {
    ApiError::field("name", "A cluster with this name already exists in the sector.")
}

crate::input! {
    /// A cluster of keywords in one sector; its counts, volume and difficulty come from its keywords.
    pub struct NewCluster, changes ClusterChanges {
        /// The sector's site (optional; it must be the sector's). A cluster never moves.
        site_id: optional String = Id,
        /// A cluster never moves to another sector.
        sector_id: required String = Id,
        /// Unique in the sector, case-insensitively.
        name: required String = Bounded(max::NAME),
        description: optional String = Text(max::DESCRIPTION),
        status: optional String = Choice(STATUSES),
        /// Computed: left out of a new cluster, and only sent back as it is in a change.
        keywords_count: optional Value = Json,
        /// Computed: left out of a new cluster, and only sent back as it is in a change.
        volume: optional Value = Json,
        /// Computed: left out of a new cluster, and only sent back as it is in a change.
        difficulty: optional Value = Json,
    }
}

/// `POST clusters/`.
pub async fn create(services: &Services, caller: &Caller, input: NewCluster) -> Result<Value, ApiError> {
    let mut errors = FieldErrors::new();
    let sector =
        scope::target_sector(services, caller, input.site_id.as_deref(), &input.sector_id, &mut errors).await?;
    errors.finish()?;
    let (Some(sector), name, description, status) = (sector, input.name, input.description, input.status) else {
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
    let mut writes = cluster.create_writes()?;
    writes.push(usage::count_write(&cluster.account_id, "clusters", 1, now));
    writes.push(Tally::of(&cluster).created(&cluster).write());
    match services.store().await.transact(writes).await {
        Ok(()) => Ok(cluster.to_json()),
        Err(err) if counts::sector_refused(&err, 3) => Err(ApiError::not_found()),
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&1) => Err(taken()),
        Err(err) => Err(err.into()),
    }
}

/// `PUT`/`PATCH clusters/{id}/`: name (kept unique), description, status.
pub async fn update(
    services: &Services,
    caller: &Caller,
    before: Cluster,
    input: ClusterChanges,
) -> Result<Value, ApiError> {
    let (name, description, status) = (input.name, input.description, input.status);
    let mut errors = FieldErrors::new();
    let now = before.to_json();
    let text = |v: &Option<String>| v.as_ref().map(|v| json!(v));
    for (fixed, sent) in [
        ("keywords_count", input.keywords_count),
        ("volume", input.volume),
        ("difficulty", input.difficulty),
        ("site_id", text(&input.site_id)),
        ("sector_id", text(&input.sector_id)),
    ] {
        if sent.is_some_and(|v| v != now[fixed]) {
            errors.add(fixed, "This field is computed or fixed and cannot be set.");
        }
    }
    errors.finish()?;
    let mut after = before.clone();
    after.name = name.unwrap_or(after.name);
    after.description = description.unwrap_or(after.description);
    after.status = status.unwrap_or(after.status);
    let (g3, _) =
        crate::records::pages::status_gsi3::<Cluster>(&after.account_id, &after.sector_id, &after.status, &after.id);
    let change =
        Change::new(before.key(), "SET #name = :name, description = :description, #status = :status, GSI3PK = :g3")
            .value(":g3", s(g3))
            .name("#name", "name")
            .name("#status", "status")
            .value(":name", s(&after.name))
            .value(":description", s(&after.description))
            .value(":status", s(&after.status))
            .value(":before", s(&before.status))
            .condition(Condition::new("attribute_exists(PK) AND #status = :before"));
    let mut writes = vec![Write::Update(change)];
    if super::normalise(&after.name) != super::normalise(&before.name) {
        writes.push(Write::Put(after.guard_item()?, Some(Condition::not_exists())));
        writes.push(Write::Delete(before.name_guard(), None));
    }
    let mut tally = Tally::of(&after);
    if !tally.changed(&before, &after).is_empty() {
        writes.push(tally.write());
    }
    let tally_at = writes.len() - 1;
    match services.store().await.transact(writes).await {
        Ok(()) => {}
        Err(err) if tally_at > 0 && counts::sector_refused(&err, tally_at) => return Err(ApiError::not_found()),
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&1) => return Err(taken()),
        Err(StoreError::TransactionCancelled { .. }) => return Err(ApiError::not_found()),
        Err(err) => return Err(err.into()),
    }
    Ok(scope::visible::<Cluster>(services, caller, &before.id).await?.to_json())
}

/// Deletes a cluster and its name guard, then unassigns its keywords (which stay).
async fn remove(services: &Services, cluster: &Cluster) -> Result<bool, ApiError> {
    let writes = vec![
        Write::Delete(
            cluster.key(),
            Some(
                Condition::new("attribute_exists(PK) AND #status = :status")
                    .name("#status", "status")
                    .value(":status", s(&cluster.status)),
            ),
        ),
        Write::Delete(cluster.name_guard(), None),
        Tally::of(cluster).deleted(cluster).write(),
    ];
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

/// Deletes the clusters named by `ids`; their keywords are left unclustered.
#[utoipa::path(post, path = "/api/v1/planner/clusters/bulk_delete/", operation_id = "bulk_delete_clusters", request_body = Selection,
    responses((status = 200, description = "How many were deleted", body = Data<Deleted>)))]
pub async fn bulk_delete(
    State(services): State<AppState>,
    caller: http::Caller<Planner>,
    JsonBody(Selection { ids }): JsonBody<Selection>,
) -> Result<Reply, ApiError> {
    let clusters = scope::writable_many::<Cluster>(&services, &caller, "ids", &ids, None).await?;
    let mut deleted_count = 0;
    for cluster in &clusters {
        if remove(&services, cluster).await? {
            deleted_count += 1;
        }
    }
    Reply::data(&Deleted { deleted_count })
}

crate::input! {
    /// Clusters of one sector to write ideas for.
    pub struct IdeasFor {
        /// The clusters (at most 20: one model call each).
        ids: required Vec<String> = Ids(IDEAS_MAX),
    }
}

/// Writes content ideas for clusters of one sector with the AI (a job).
#[utoipa::path(post, path = "/api/v1/planner/clusters/auto_generate_ideas/", request_body = IdeasFor,
    responses((status = 200, description = "The job", body = Queued<JobQueued>)))]
pub async fn auto_generate_ideas(
    State(services): State<AppState>,
    caller: http::Caller<PlannerAi>,
    JsonBody(IdeasFor { ids }): JsonBody<IdeasFor>,
) -> Result<Reply, ApiError> {
    let clusters = scope::writable_many::<Cluster>(&services, &caller, "ids", &ids, None).await?;
    let first = scope::one_sector(&clusters)?;
    let description = format!("Ideas for {} clusters", ids.len());
    let input = IdeasInput { site_id: first.site_id.clone(), sector_id: first.sector_id.clone(), cluster_ids: ids };
    Ok(Reply::job(&crate::ai::plugin::start(&services, &caller, &GenerateIdeas, input, &description).await?))
}
