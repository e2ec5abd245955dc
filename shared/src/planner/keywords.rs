//! `/api/v1/planner/keywords/`: CRUD, filters, bulk actions, CSV import/export and AI clustering.

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use time::OffsetDateTime;

use super::listing::{ListSpec, Match};
use super::membership::{self, KeywordChange, Refused};
use super::scope::{Deleted, Selection, Updated};
use super::{Cluster, Keyword, SectorRecord, csv, scope};
use crate::access::Caller;
use crate::http::openapi::{Data, Queued};
use crate::http::{self, AppState, Ctx, JsonBody, RawBody, Reply};
use crate::jobs::JobQueued;

use super::ai::{AutoCluster, ClusterInput};
use crate::sites::Sector;
use crate::throttle::scopes::{Planner, PlannerAi};
use crate::validation::input::{Choice, Id, Ids, Integer, Text, Texts};
use crate::validation::{FieldErrors, Fields, max};
use crate::{ApiError, Services, ids, reference};
use ::http::{HeaderName, HeaderValue};
use axum::extract::State;

pub const STATUSES: &[&str] = &["active", "pending", "archived"];
pub const INTENTS: &[&str] = &["informational", "navigational", "commercial", "transactional"];
/// Keywords one `auto_cluster/` request may send; the job splits them into model-sized calls.
pub const AUTO_CLUSTER_MAX: usize = 2000;
pub use super::scope::BULK_MAX;
/// Rows one import may hold.
pub const IMPORT_MAX_ROWS: usize = 5000;

pub const LIST: ListSpec = ListSpec {
    filters: &[
        ("status", "status", Match::Eq),
        ("cluster_id", "cluster_id", Match::Eq),
        ("intent", "intent", Match::Eq),
        ("seed_keyword__intent", "intent", Match::Eq),
        ("seed_keyword_id", "seed_keyword_id", Match::Eq),
        ("difficulty_min", "difficulty", Match::Min),
        ("difficulty_max", "difficulty", Match::Max),
        ("volume_min", "volume", Match::Min),
        ("volume_max", "volume", Match::Max),
    ],
    search: &["keyword"],
    orderings: &[
        ("created_at", "created_at"),
        ("volume", "volume"),
        ("seed_keyword__volume", "volume"),
        ("difficulty", "difficulty"),
        ("seed_keyword__difficulty", "difficulty"),
        ("keyword", "keyword"),
    ],
    default_ordering: "-created_at",
};

/// The keywords a list request asks for, filtered and ordered.
/// The list's page source: the `records` the caller may see, filtered and ordered.
pub async fn list(
    services: &Services,
    records: Vec<Keyword>,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    scope::listed(services, records, query, &LIST).await
}

fn refused(refusal: Refused) -> ApiError {
    match refusal {
        Refused::Duplicate => ApiError::field("keyword", "This keyword already exists in the sector."),
        Refused::ClusterMissing => ApiError::field("cluster_id", "The cluster does not exist."),
        Refused::Changed => ApiError::Conflict("The keyword was changed meanwhile; reload it and try again.".into()),
        Refused::SectorGone => ApiError::not_found(),
    }
}

/// Commits one change, or answers why it was refused.
async fn commit_one(services: &Services, change: KeywordChange) -> Result<(), ApiError> {
    let committed = membership::commit(services, &[change]).await?;
    match committed.refused.first() {
        Some((_, refusal)) => Err(refused(*refusal)),
        None => Ok(()),
    }
}

fn new_keyword(sector: &Sector, text: String, now: OffsetDateTime) -> Keyword {
    Keyword {
        id: ids::new_id(),
        account_id: sector.account_id.clone(),
        site_id: sector.site_id.clone(),
        sector_id: sector.id.clone(),
        keyword: text,
        volume: 0,
        difficulty: 0,
        intent: "informational".into(),
        status: "active".into(),
        cluster_id: None,
        seed_keyword_id: None,
        created_at: now,
    }
}

crate::input! {
    /// A keyword typed in, or taken from the seed library (`seed_keyword_id`: then `keyword` may be
    /// left out, and the seed's volume, difficulty and intent are its defaults).
    pub struct NewKeyword, changes KeywordChanges {
        /// The sector's site (optional; it must be the sector's). A keyword never moves.
        site_id: optional String = Id,
        /// The sector the keyword goes into. A keyword never moves.
        sector_id: required String = Id,
        /// The seed keyword it comes from. A keyword never moves to another.
        seed_keyword_id: optional String = Text(max::ANY_TEXT),
        /// The keyword (unique in its sector, case-insensitively).
        keyword: optional String = super::KEYWORD_TEXT,
        volume: optional i64 = Integer(0, 1_000_000_000),
        difficulty: optional i64 = Integer(0, 100),
        intent: optional String = Choice(INTENTS),
        status: optional String = Choice(STATUSES),
        /// A cluster of the same sector; `null` takes the keyword out of its cluster.
        cluster_id: nullable String = Id,
    }
}

/// A cluster id from the body: a cluster of `sector`.
async fn check_cluster(
    services: &Services,
    caller: &Caller,
    errors: &mut FieldErrors,
    cluster: &Option<Option<String>>,
    sector_id: Option<&str>,
) -> Result<Option<Option<String>>, ApiError> {
    let Some(Some(cluster_id)) = cluster else {
        return Ok(cluster.clone());
    };
    match super::find::<Cluster>(services, caller.account_id(), cluster_id).await? {
        Some(cluster) if Some(cluster.sector_id.as_str()) == sector_id => Ok(Some(Some(cluster.id))),
        _ => {
            errors.add("cluster_id", format!("Invalid pk \"{cluster_id}\" - object does not exist."));
            Ok(None)
        }
    }
}

/// `POST keywords/`.
pub async fn create(services: &Services, caller: &Caller, input: NewKeyword) -> Result<Value, ApiError> {
    let mut errors = FieldErrors::new();
    let sector =
        scope::target_sector(services, caller, input.site_id.as_deref(), &input.sector_id, &mut errors).await?;
    let seed = match &input.seed_keyword_id {
        Some(seed_id) => match reference::seed_keywords()?.iter().find(|s| &s.id == seed_id) {
            Some(seed) => Some(seed.clone()),
            None => {
                errors.add("seed_keyword_id", format!("Invalid pk \"{seed_id}\" - object does not exist."));
                None
            }
        },
        None => None,
    };
    if input.keyword.is_none() && input.seed_keyword_id.is_none() {
        errors.add("keyword", crate::validation::REQUIRED);
    }
    let cluster =
        check_cluster(services, caller, &mut errors, &input.cluster_id, sector.as_ref().map(|s| s.id.as_str())).await?;
    errors.finish()?;
    let sector = sector.ok_or_else(|| ApiError::internal("validated sector missing"))?;
    let mut keyword = new_keyword(&sector, String::new(), OffsetDateTime::now_utc());
    if let Some(seed) = &seed {
        keyword.keyword = seed.keyword.clone();
        keyword.volume = seed.volume;
        keyword.difficulty = seed.difficulty;
        keyword.intent = seed.intent.clone();
        keyword.seed_keyword_id = Some(seed.id.clone());
    }
    if let Some(text) = input.keyword {
        keyword.keyword = text;
    }
    if let Some(v) = input.volume {
        keyword.volume = v as u32;
    }
    if let Some(d) = input.difficulty {
        keyword.difficulty = d as u32;
    }
    keyword.intent = input.intent.unwrap_or(keyword.intent);
    keyword.status = input.status.unwrap_or(keyword.status);
    keyword.cluster_id = cluster.flatten();
    commit_one(services, KeywordChange::create(keyword.clone())).await?;
    Ok(keyword.to_json())
}

/// `PUT`/`PATCH keywords/{id}/`: text, volume, difficulty, intent, status, cluster (`null` clears it).
pub async fn update(
    services: &Services,
    caller: &Caller,
    before: Keyword,
    input: KeywordChanges,
) -> Result<Value, ApiError> {
    let mut errors = FieldErrors::new();
    let mut after = before.clone();
    if let Some(text) = input.keyword {
        after.keyword = text;
    }
    if let Some(v) = input.volume {
        after.volume = v as u32;
    }
    if let Some(d) = input.difficulty {
        after.difficulty = d as u32;
    }
    after.intent = input.intent.unwrap_or(after.intent);
    after.status = input.status.unwrap_or(after.status);
    if let Some(cluster) =
        check_cluster(services, caller, &mut errors, &input.cluster_id, Some(&before.sector_id)).await?
    {
        after.cluster_id = cluster;
    }
    for (moved, sent) in
        [("site_id", &input.site_id), ("sector_id", &input.sector_id), ("seed_keyword_id", &input.seed_keyword_id)]
    {
        if sent.is_some() && sent.as_deref() != before_field(&before, moved) {
            errors.add(moved, "A keyword cannot move to another site, sector or seed keyword.");
        }
    }
    errors.finish()?;
    if after != before {
        commit_one(services, KeywordChange::update(before, after.clone())).await?;
    }
    Ok(after.to_json())
}

fn before_field<'a>(keyword: &'a Keyword, field: &str) -> Option<&'a str> {
    match field {
        "site_id" => Some(&keyword.site_id),
        "sector_id" => Some(&keyword.sector_id),
        _ => keyword.seed_keyword_id.as_deref(),
    }
}

/// `DELETE keywords/{id}/`.
pub async fn delete(services: &Services, caller: &Caller, keyword_id: &str) -> Result<(), ApiError> {
    let keyword = scope::writable::<Keyword>(services, caller, keyword_id).await?;
    commit_one(services, KeywordChange::delete(keyword)).await
}

/// Deletes the keywords named by `ids`.
#[utoipa::path(post, path = "/api/v1/planner/keywords/bulk_delete/", operation_id = "bulk_delete_keywords", request_body = Selection,
    responses((status = 200, description = "How many were deleted", body = Data<Deleted>)))]
pub async fn bulk_delete(
    State(services): State<AppState>,
    caller: http::Caller<Planner>,
    JsonBody(Selection { ids }): JsonBody<Selection>,
) -> Result<Reply, ApiError> {
    let keywords = scope::writable_many::<Keyword>(&services, &caller, "ids", &ids, None).await?;
    let changes: Vec<KeywordChange> = keywords.into_iter().map(KeywordChange::delete).collect();
    let committed = membership::commit(&services, &changes).await?;
    Reply::data(&Deleted { deleted_count: committed.done.len() })
}

crate::input! {
    /// Keywords and the status they all take.
    pub struct KeywordStatusChange {
        /// The keywords (at most 1,000).
        ids: required Vec<String> = Ids(BULK_MAX),
        status: required String = Choice(STATUSES),
    }
}

/// Sets the status of the keywords named by `ids`.
#[utoipa::path(post, path = "/api/v1/planner/keywords/bulk_update_status/", request_body = KeywordStatusChange,
    responses((status = 200, description = "How many were updated", body = Data<Updated>)))]
pub async fn bulk_update_status(
    State(services): State<AppState>,
    caller: http::Caller<Planner>,
    JsonBody(KeywordStatusChange { ids, status }): JsonBody<KeywordStatusChange>,
) -> Result<Reply, ApiError> {
    let keywords = scope::writable_many::<Keyword>(&services, &caller, "ids", &ids, None).await?;
    let changes: Vec<KeywordChange> = keywords
        .into_iter()
        .filter(|k| k.status != status)
        .map(|k| {
            let mut after = k.clone();
            after.status = status.clone();
            KeywordChange::update(k, after)
        })
        .collect();
    let committed = membership::commit(&services, &changes).await?;
    Reply::data(&Updated { updated_count: committed.done.len() })
}

/// The same as `bulk_update_status/`, by the original's other name.
#[utoipa::path(post, path = "/api/v1/planner/keywords/bulk_update/", operation_id = "bulk_update_keywords", request_body = KeywordStatusChange,
    responses((status = 200, description = "How many were updated", body = Data<Updated>)))]
pub async fn bulk_update(
    state: State<AppState>,
    caller: http::Caller<Planner>,
    body: JsonBody<KeywordStatusChange>,
) -> Result<Reply, ApiError> {
    bulk_update_status(state, caller, body).await
}

/// Creates `keywords` (already free of in-batch duplicates); those whose text the sector already
/// holds are skipped. Answers the created ones and the number skipped.
async fn create_many(services: &Services, keywords: Vec<Keyword>) -> Result<(Vec<Keyword>, usize), ApiError> {
    let changes: Vec<KeywordChange> = keywords.iter().cloned().map(KeywordChange::create).collect();
    let committed = membership::commit(services, &changes).await?;
    let mut done = committed.done;
    done.sort_unstable();
    Ok((done.into_iter().map(|i| keywords[i].clone()).collect(), committed.refused.len()))
}

crate::input! {
    /// Seed keywords to add to a sector.
    pub struct FromSeed {
        /// The sector's site (optional; it must be the sector's).
        site_id: optional String = Id,
        sector_id: required String = Id,
        /// Ids of the seed library's keywords (at most 1,000).
        seed_keyword_ids: required Vec<String> = Texts(BULK_MAX, max::ANY_TEXT),
    }
}

/// What `bulk_add_from_seed/` did.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SeedsAdded {
    pub added_count: usize,
    /// Seeds whose keyword the sector already had.
    pub skipped_count: usize,
    /// The keywords added.
    #[schema(value_type = Vec<super::KeywordAnswer>)]
    pub keywords: Vec<Value>,
}

/// Adds keywords from the seed library to a sector.
#[utoipa::path(post, path = "/api/v1/planner/keywords/bulk_add_from_seed/", request_body = FromSeed,
    responses((status = 200, description = "What was added and skipped", body = Data<SeedsAdded>)))]
pub async fn bulk_add_from_seed(
    State(services): State<AppState>,
    caller: http::Caller<Planner>,
    JsonBody(input): JsonBody<FromSeed>,
) -> Result<Reply, ApiError> {
    let mut errors = FieldErrors::new();
    let sector =
        scope::target_sector(&services, &caller, input.site_id.as_deref(), &input.sector_id, &mut errors).await?;
    let wanted = input.seed_keyword_ids;
    if wanted.is_empty() {
        errors.add("seed_keyword_ids", "This list may not be empty.");
    }
    let library = reference::seed_keywords()?;
    let unknown: Vec<&str> =
        wanted.iter().filter(|w| !library.iter().any(|s| &s.id == *w)).map(String::as_str).collect();
    if !unknown.is_empty() {
        errors.add("seed_keyword_ids", format!("Invalid pk \"{}\" - object does not exist.", unknown.join(", ")));
    }
    let seeds: Vec<_> = library.iter().filter(|s| wanted.contains(&s.id)).cloned().collect();
    errors.finish()?;
    let sector = sector.ok_or_else(|| ApiError::internal("validated sector missing"))?;
    let now = OffsetDateTime::now_utc();
    let mut seen = HashSet::new();
    let keywords: Vec<Keyword> = seeds
        .into_iter()
        .filter(|s| seen.insert(super::normalise(&s.keyword)))
        .map(|seed| Keyword {
            volume: seed.volume,
            difficulty: seed.difficulty,
            intent: seed.intent.clone(),
            seed_keyword_id: Some(seed.id.clone()),
            ..new_keyword(&sector, seed.keyword.clone(), now)
        })
        .collect();
    let (created, skipped) = create_many(&services, keywords).await?;
    Reply::data(&SeedsAdded {
        added_count: created.len(),
        skipped_count: skipped,
        keywords: created.iter().map(Keyword::to_json).collect(),
    })
}

/// The keywords as CSV (the list's filters, or `ids=a,b`).
#[utoipa::path(get, path = "/api/v1/planner/keywords/export/", operation_id = "export_keywords", params(crate::planner::routes::keyword::Filters),
    responses((status = 200, description = "CSV", content_type = "text/csv", body = String)))]
pub async fn export(
    State(services): State<AppState>,
    caller: http::Caller<Planner>,
    ctx: Ctx,
) -> Result<Reply, ApiError> {
    let (services, query) = (&*services, ctx.query());
    let mut rows = list(services, scope::list::<Keyword>(services, &caller, query).await?, query).await?;
    if let Some(ids) = query.get("ids").filter(|v| !v.trim().is_empty()) {
        let wanted: HashSet<&str> = ids.split(',').map(str::trim).collect();
        rows.retain(|r| r["id"].as_str().is_some_and(|id| wanted.contains(id)));
    }
    let clusters: HashMap<String, String> = super::in_account::<Cluster>(services, caller.account_id())
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let mut out = csv::line(&["keyword", "volume", "difficulty", "intent", "status", "cluster", "created_at"]);
    for r in rows {
        let text = |field: &str| match &r[field] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let cluster = r["cluster_id"].as_str().and_then(|c| clusters.get(c)).cloned().unwrap_or_default();
        out.push_str(&csv::line(&[
            text("keyword"),
            text("volume"),
            text("difficulty"),
            text("intent"),
            text("status"),
            cluster,
            text("created_at"),
        ]));
    }
    Ok(Reply::raw("text/csv; charset=utf-8", out.into_bytes()).with_header(
        HeaderName::from_static("content-disposition"),
        HeaderValue::from_static("attachment; filename=\"keywords.csv\""),
    ))
}

/// `POST keywords/import_keywords/`: a CSV (`multipart/form-data` field `file`, or a `text/csv`
/// body) with a `keyword` column and optional `volume`, `difficulty`, `intent`, `status`. The
/// sector comes from the form's or the query's `site_id`/`sector_id`. A bad row is reported and
/// skipped; the good ones are imported; a keyword the sector already has is skipped.
#[utoipa::path(post, path = "/api/v1/planner/keywords/import_keywords/",
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, description = "What was imported, skipped and refused", body = Data<Imported>)))]
pub async fn import_keywords(
    State(services): State<AppState>,
    caller: http::Caller<Planner>,
    ctx: Ctx,
    RawBody(body): RawBody,
) -> Result<Reply, ApiError> {
    let (services, query, body) = (&*services, ctx.query(), body.as_slice());
    let content_type = ctx.header("content-type").unwrap_or_default();
    let (mut params, file) = if content_type.to_ascii_lowercase().starts_with("multipart/form-data") {
        let form = csv::multipart(content_type, body).map_err(|e| ApiError::field("file", e))?;
        (form.fields, form.file)
    } else if body.is_empty() {
        (HashMap::new(), None)
    } else {
        (HashMap::new(), Some(body.to_vec()))
    };
    for name in ["site_id", "sector_id"] {
        if let Some(v) = query.get(name) {
            params.entry(name.to_owned()).or_insert_with(|| v.clone());
        }
    }
    let mut f = Fields::from_object(params.into_iter().map(|(k, v)| (k, Value::String(v))).collect());
    let sector = scope::target_sector_of(services, &caller, &mut f).await?;
    let text = match file.map(String::from_utf8) {
        None => {
            f.error("file", "Upload a CSV file.");
            String::new()
        }
        Some(Err(_)) => {
            f.error("file", "The file is not UTF-8 text.");
            String::new()
        }
        Some(Ok(text)) => text,
    };
    let rows = match csv::parse(&text) {
        Ok(rows) => rows,
        Err(e) => {
            f.error("file", e);
            Vec::new()
        }
    };
    let header: Vec<String> =
        rows.first().map(|h| h.iter().map(|c| c.trim().to_lowercase()).collect()).unwrap_or_default();
    let column = |name: &str| header.iter().position(|c| c == name);
    if !f.has_error("file") && column("keyword").is_none() {
        f.error("file", "The first line must name the columns, one of them \"keyword\".");
    }
    if rows.len() > IMPORT_MAX_ROWS + 1 {
        f.error("file", format!("Import at most {IMPORT_MAX_ROWS} rows at a time."));
    }
    f.finish()?;
    let sector = sector.ok_or_else(|| ApiError::internal("validated sector missing"))?;
    let now = OffsetDateTime::now_utc();
    let mut errors = Vec::new();
    let mut keywords = Vec::new();
    let mut seen = HashSet::new();
    let mut skipped = 0;
    for (n, row) in rows.iter().enumerate().skip(1) {
        let cell = |name: &str| column(name).and_then(|i| row.get(i)).map(|c| c.trim()).filter(|c| !c.is_empty());
        let mut keyword = new_keyword(&sector, String::new(), now);
        let mut problems = Vec::new();
        match cell("keyword") {
            Some(text) if text.chars().count() > crate::validation::max::KEYWORD => {
                problems.push(format!("keyword: at most {} characters", crate::validation::max::KEYWORD))
            }
            Some(text) if super::check_keyword_bytes(text).is_err() => {
                problems.push(format!("keyword: at most {} bytes", crate::validation::max::KEYWORD_BYTES))
            }
            Some(text) => keyword.keyword = text.to_owned(),
            None => problems.push("keyword: required".to_owned()),
        }
        for (name, max, slot) in
            [("volume", 1_000_000_000u32, &mut keyword.volume), ("difficulty", 100u32, &mut keyword.difficulty)]
        {
            if let Some(value) = cell(name) {
                match value.replace(',', "").parse::<u32>() {
                    Ok(v) if v <= max => *slot = v,
                    _ => problems.push(format!("{name}: a whole number from 0 to {max}")),
                }
            }
        }
        for (name, allowed, slot) in
            [("intent", INTENTS, &mut keyword.intent), ("status", STATUSES, &mut keyword.status)]
        {
            if let Some(value) = cell(name) {
                let value = value.to_lowercase();
                if allowed.contains(&value.as_str()) {
                    *slot = value;
                } else {
                    problems.push(format!("{name}: one of {}", allowed.join(", ")));
                }
            }
        }
        if !problems.is_empty() {
            // The cell is echoed only as far as a keyword may go.
            let shown = cell("keyword").map(|k| k.chars().take(crate::validation::max::KEYWORD).collect::<String>());
            errors.push(RowProblem { row: n + 1, keyword: shown, errors: problems });
        } else if seen.insert(super::normalise(&keyword.keyword)) {
            keywords.push(keyword);
        } else {
            skipped += 1;
        }
    }
    let (created, existing) = create_many(services, keywords).await?;
    let imported = Imported {
        imported_count: created.len(),
        skipped_count: skipped + existing,
        error_count: errors.len(),
        errors,
        total_rows: rows.len().saturating_sub(1),
    };
    Ok(Reply::data(&imported)?.with_message("Import finished"))
}

/// What an import did.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Imported {
    pub imported_count: usize,
    /// Rows whose keyword was already in the file or the sector.
    pub skipped_count: usize,
    pub error_count: usize,
    /// The rows refused, and why.
    pub errors: Vec<RowProblem>,
    /// Rows of the file, its header left out.
    pub total_rows: usize,
}

/// A row an import refused.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RowProblem {
    /// The row's line in the file (the header is line 1).
    pub row: usize,
    pub keyword: Option<String>,
    pub errors: Vec<String>,
}

crate::input! {
    /// Keywords of one sector to cluster.
    pub struct ToCluster {
        /// The keywords (at most 2,000).
        ids: required Vec<String> = Ids(AUTO_CLUSTER_MAX),
        site_id: optional String = Id,
        sector_id: required String = Id,
    }
}

/// Groups up to 2,000 keywords of one sector into clusters with the AI: one job, in model-sized
/// parts.
#[utoipa::path(post, path = "/api/v1/planner/keywords/auto_cluster/", request_body = ToCluster,
    responses((status = 200, description = "The job", body = Queued<JobQueued>)))]
pub async fn auto_cluster(
    State(services): State<AppState>,
    caller: http::Caller<PlannerAi>,
    JsonBody(input): JsonBody<ToCluster>,
) -> Result<Reply, ApiError> {
    let mut errors = FieldErrors::new();
    let sector =
        scope::target_sector(&services, &caller, input.site_id.as_deref(), &input.sector_id, &mut errors).await?;
    errors.finish()?;
    let sector = sector.ok_or_else(|| ApiError::internal("validated sector missing"))?;
    let ids = input.ids;
    scope::writable_many::<Keyword>(&services, &caller, "ids", &ids, Some(&sector.id)).await?;
    let description = format!("Clustering {} keywords", ids.len());
    let input = ClusterInput { site_id: sector.site_id, sector_id: sector.id, keyword_ids: ids };
    Ok(Reply::job(&crate::ai::plugin::start(&services, &caller, &AutoCluster, input, &description).await?))
}
