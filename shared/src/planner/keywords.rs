//! `/api/v1/planner/keywords/`: CRUD, filters, bulk actions, CSV import/export and AI clustering.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::listing::{ListSpec, Match};
use super::membership::{self, KeywordChange, Refused};
use super::{Cluster, Keyword, SectorRecord, csv, scope};
use crate::access::Caller;
use crate::jobs::{self, AiFunction, Job};
use crate::sites::Sector;
use crate::validation::{Fields, choice, id, id_list, integer};
use crate::{ApiError, Services, ids, reference};

pub const STATUSES: &[&str] = &["active", "pending", "archived"];
pub const INTENTS: &[&str] = &["informational", "navigational", "commercial", "transactional"];
/// Keywords one `auto_cluster/` request may send; the job splits them into model-sized calls.
pub const AUTO_CLUSTER_MAX: usize = 2000;
/// Ids one bulk action may name.
pub const BULK_MAX: usize = 1000;
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
pub async fn list(
    services: &Services,
    caller: &Caller,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    scope::listed::<Keyword>(services, caller, query, &LIST).await
}

fn refused(refusal: Refused) -> ApiError {
    match refusal {
        Refused::Duplicate => ApiError::field("keyword", "This keyword already exists in the sector."),
        Refused::ClusterMissing => ApiError::field("cluster_id", "The cluster does not exist."),
        Refused::Changed => ApiError::Conflict("The keyword was changed meanwhile; reload it and try again.".into()),
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

/// A cluster id from the body: a cluster of `sector`.
async fn cluster_field(
    services: &Services,
    caller: &Caller,
    f: &mut Fields,
    sector_id: Option<&str>,
) -> Result<Option<Option<String>>, ApiError> {
    if f.sent_null("cluster_id") {
        return Ok(Some(None));
    }
    let Some(cluster_id) = f.optional("cluster_id", id) else {
        return Ok(None);
    };
    match super::find::<Cluster>(services, caller.account_id(), &cluster_id).await? {
        Some(cluster) if Some(cluster.sector_id.as_str()) == sector_id => Ok(Some(Some(cluster.id))),
        _ => {
            f.error("cluster_id", format!("Invalid pk \"{cluster_id}\" - object does not exist."));
            Ok(None)
        }
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

/// `POST keywords/`: a keyword typed in, or taken from the seed library (`seed_keyword_id`).
pub async fn create(services: &Services, caller: &Caller, body: &[u8]) -> Result<Value, ApiError> {
    let mut f = Fields::parse(body)?;
    let sector = scope::target_sector(services, caller, &mut f).await?;
    let seed = match f.optional("seed_keyword_id", crate::validation::string) {
        Some(seed_id) => match reference::seed_keywords(services).await?.iter().find(|s| s.id == seed_id) {
            Some(seed) => Some(seed.clone()),
            None => {
                f.error("seed_keyword_id", format!("Invalid pk \"{seed_id}\" - object does not exist."));
                None
            }
        },
        None => None,
    };
    let text = f.field(seed.is_none() && !f.has_error("seed_keyword_id"), "keyword", super::keyword_text);
    let volume = f.optional("volume", integer(0, 1_000_000_000));
    let difficulty = f.optional("difficulty", integer(0, 100));
    let intent = f.optional("intent", choice(INTENTS));
    let status = f.optional("status", choice(STATUSES));
    let cluster = cluster_field(services, caller, &mut f, sector.as_ref().map(|s| s.id.as_str())).await?;
    f.finish()?;
    let sector = sector.ok_or_else(|| ApiError::internal("validated sector missing"))?;
    let mut keyword = new_keyword(&sector, String::new(), OffsetDateTime::now_utc());
    if let Some(seed) = &seed {
        keyword.keyword = seed.keyword.clone();
        keyword.volume = seed.volume;
        keyword.difficulty = seed.difficulty;
        keyword.intent = seed.intent.clone();
        keyword.seed_keyword_id = Some(seed.id.clone());
    }
    if let Some(text) = text {
        keyword.keyword = text;
    }
    if let Some(v) = volume {
        keyword.volume = v as u32;
    }
    if let Some(d) = difficulty {
        keyword.difficulty = d as u32;
    }
    keyword.intent = intent.unwrap_or(keyword.intent);
    keyword.status = status.unwrap_or(keyword.status);
    keyword.cluster_id = cluster.flatten();
    commit_one(services, KeywordChange::create(keyword.clone())).await?;
    Ok(keyword.to_json())
}

/// `PUT`/`PATCH keywords/{id}/`: text, volume, difficulty, intent, status, cluster (`null` clears it).
pub async fn update(services: &Services, caller: &Caller, keyword_id: &str, body: &[u8]) -> Result<Value, ApiError> {
    let before = scope::writable::<Keyword>(services, caller, keyword_id).await?;
    let mut f = Fields::parse(body)?;
    let mut after = before.clone();
    if let Some(text) = f.optional("keyword", super::keyword_text) {
        after.keyword = text;
    }
    if let Some(v) = f.optional("volume", integer(0, 1_000_000_000)) {
        after.volume = v as u32;
    }
    if let Some(d) = f.optional("difficulty", integer(0, 100)) {
        after.difficulty = d as u32;
    }
    if let Some(intent) = f.optional("intent", choice(INTENTS)) {
        after.intent = intent;
    }
    if let Some(status) = f.optional("status", choice(STATUSES)) {
        after.status = status;
    }
    if let Some(cluster) = cluster_field(services, caller, &mut f, Some(&before.sector_id)).await? {
        after.cluster_id = cluster;
    }
    for moved in ["site_id", "sector_id", "seed_keyword_id"] {
        if f.sent(moved) && f.optional(moved, crate::validation::string).as_deref() != before_field(&before, moved) {
            f.error(moved, "A keyword cannot move to another site, sector or seed keyword.");
        }
    }
    f.finish()?;
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

fn ids_field(body: &[u8], max: usize) -> Result<(Fields, Option<Vec<String>>), ApiError> {
    let mut f = Fields::parse(body)?;
    let ids = f.required("ids", id_list(max));
    Ok((f, ids))
}

/// `POST keywords/bulk_delete/` `{ids}`.
pub async fn bulk_delete(services: &Services, caller: &Caller, body: &[u8]) -> Result<Value, ApiError> {
    let (f, ids) = ids_field(body, BULK_MAX)?;
    f.finish()?;
    let ids = ids.unwrap_or_default();
    let keywords = scope::writable_many::<Keyword>(services, caller, "ids", &ids, None).await?;
    let changes: Vec<KeywordChange> = keywords.into_iter().map(KeywordChange::delete).collect();
    let committed = membership::commit(services, &changes).await?;
    Ok(json!({"deleted_count": committed.done.len()}))
}

/// `POST keywords/bulk_update_status/` `{ids, status}`.
pub async fn bulk_update_status(services: &Services, caller: &Caller, body: &[u8]) -> Result<Value, ApiError> {
    let (mut f, ids) = ids_field(body, BULK_MAX)?;
    let status = f.required("status", choice(STATUSES));
    f.finish()?;
    let (ids, status) = (ids.unwrap_or_default(), status.unwrap_or_default());
    let keywords = scope::writable_many::<Keyword>(services, caller, "ids", &ids, None).await?;
    let changes: Vec<KeywordChange> = keywords
        .into_iter()
        .filter(|k| k.status != status)
        .map(|k| {
            let mut after = k.clone();
            after.status = status.clone();
            KeywordChange::update(k, after)
        })
        .collect();
    let committed = membership::commit(services, &changes).await?;
    Ok(json!({"updated_count": committed.done.len()}))
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

/// `POST keywords/bulk_add_from_seed/` `{seed_keyword_ids, site_id, sector_id}`.
pub async fn bulk_add_from_seed(services: &Services, caller: &Caller, body: &[u8]) -> Result<Value, ApiError> {
    let mut f = Fields::parse(body)?;
    let sector = scope::target_sector(services, caller, &mut f).await?;
    let wanted = f.required("seed_keyword_ids", |v| {
        let list = crate::validation::string_list(v)?;
        match list.len() {
            0 => Err("This list may not be empty.".to_owned()),
            n if n > BULK_MAX => Err(format!("Ensure this list has no more than {BULK_MAX} items.")),
            _ => Ok(list),
        }
    });
    let library = reference::seed_keywords(services).await?;
    let mut seeds = Vec::new();
    if let Some(wanted) = &wanted {
        let unknown: Vec<&str> =
            wanted.iter().filter(|w| !library.iter().any(|s| &s.id == *w)).map(String::as_str).collect();
        if !unknown.is_empty() {
            f.error("seed_keyword_ids", format!("Invalid pk \"{}\" - object does not exist.", unknown.join(", ")));
        }
        seeds = library.iter().filter(|s| wanted.contains(&s.id)).cloned().collect();
    }
    f.finish()?;
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
    let (created, skipped) = create_many(services, keywords).await?;
    Ok(json!({
        "added_count": created.len(), "skipped_count": skipped,
        "keywords": created.iter().map(Keyword::to_json).collect::<Vec<_>>(),
    }))
}

/// `GET keywords/export/`: the list's keywords (with its filters, or `ids=a,b`) as CSV.
pub async fn export(
    services: &Services,
    caller: &Caller,
    query: &HashMap<String, String>,
) -> Result<Vec<u8>, ApiError> {
    let mut rows = list(services, caller, query).await?;
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
    Ok(out.into_bytes())
}

/// `POST keywords/import_keywords/`: a CSV (`multipart/form-data` field `file`, or a `text/csv`
/// body) with a `keyword` column and optional `volume`, `difficulty`, `intent`, `status`. The
/// sector comes from the form's or the query's `site_id`/`sector_id`. A bad row is reported and
/// skipped; the good ones are imported; a keyword the sector already has is skipped.
pub async fn import(
    services: &Services,
    caller: &Caller,
    content_type: &str,
    body: &[u8],
    query: &HashMap<String, String>,
) -> Result<Value, ApiError> {
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
    let sector = scope::target_sector(services, caller, &mut f).await?;
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
            errors.push(json!({"row": n + 1, "keyword": shown, "errors": problems}));
        } else if seen.insert(super::normalise(&keyword.keyword)) {
            keywords.push(keyword);
        } else {
            skipped += 1;
        }
    }
    let (created, existing) = create_many(services, keywords).await?;
    Ok(json!({
        "imported_count": created.len(), "skipped_count": skipped + existing, "error_count": errors.len(),
        "errors": errors, "total_rows": rows.len().saturating_sub(1),
    }))
}

/// `POST keywords/auto_cluster/` `{ids, sector_id}`: up to 2,000 keywords of one sector, clustered
/// by one job in model-sized parts.
pub async fn auto_cluster(services: &Services, caller: &Caller, body: &[u8]) -> Result<Job, ApiError> {
    let mut f = Fields::parse(body)?;
    let ids = f.required("ids", id_list(AUTO_CLUSTER_MAX));
    let sector = scope::target_sector(services, caller, &mut f).await?;
    f.finish()?;
    let (ids, sector) =
        (ids.unwrap_or_default(), sector.ok_or_else(|| ApiError::internal("validated sector missing"))?);
    scope::writable_many::<Keyword>(services, caller, "ids", &ids, Some(&sector.id)).await?;
    let input = json!({"site_id": sector.site_id, "sector_id": sector.id, "keyword_ids": ids});
    jobs::start(services, caller, AiFunction::AutoCluster, input, &format!("Clustering {} keywords", ids.len())).await
}
