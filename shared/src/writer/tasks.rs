//! `/api/v1/writer/tasks/`: CRUD, bulk delete and status update, and AI content generation.

use std::collections::HashMap;

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::Task;
use crate::access::Caller;
use crate::jobs::{self, AiFunction, Job};
use crate::planner::listing::{ListSpec, Match};
use crate::planner::{Cluster, SectorRecord, ideas, scope};
use crate::store::{Condition, Write};
use crate::validation::{Fields, bounded, choice, id, id_list, integer, max, text};
use crate::{ApiError, Services, ids};

pub const STATUSES: &[&str] = &["queued", "in_progress", "draft", "review", "published", "completed", "archived"];
/// Tasks one `auto_generate_content/` request may name (one model call each).
pub const GENERATE_MAX: usize = 50;

pub const LIST: ListSpec = ListSpec {
    filters: &[
        ("status", "status", Match::Eq),
        ("cluster_id", "cluster_id", Match::Eq),
        ("content_type", "content_type", Match::Eq),
        ("content_structure", "content_structure", Match::Eq),
    ],
    search: &["title", "keywords"],
    orderings: &[("title", "title"), ("created_at", "created_at"), ("word_count", "word_count"), ("status", "status")],
    default_ordering: "-created_at",
};

pub async fn list(
    services: &Services,
    caller: &Caller,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    scope::listed::<Task>(services, caller, query, &LIST).await
}

async fn read_fields(
    services: &Services,
    caller: &Caller,
    f: &mut Fields,
    task: &mut Task,
    creating: bool,
) -> Result<(), ApiError> {
    if let Some(title) = f.field(creating, "title", bounded(max::TITLE)) {
        task.title = title;
    }
    if let Some(description) = f.optional("description", text(max::DESCRIPTION)) {
        task.description = description;
    }
    if let Some(keywords) = f.optional("keywords", crate::planner::keyword_list) {
        task.keywords = keywords;
    }
    if let Some(t) = f.optional("content_type", choice(ideas::CONTENT_TYPES)) {
        task.content_type = t;
    }
    if let Some(t) = f.optional("content_structure", choice(ideas::CONTENT_STRUCTURES)) {
        task.content_structure = t;
    }
    if let Some(n) = f.optional("word_count", integer(100, 20_000)) {
        task.word_count = n as u32;
    }
    if let Some(status) = f.optional("status", choice(STATUSES)) {
        task.status = status;
    }
    if f.sent_null("cluster_id") {
        task.cluster_id = None;
    } else if let Some(cluster_id) = f.optional("cluster_id", id) {
        match crate::planner::find::<Cluster>(services, caller.account_id(), &cluster_id).await? {
            Some(c) if c.sector_id == task.sector_id => task.cluster_id = Some(c.id),
            _ => f.error("cluster_id", format!("Invalid pk \"{cluster_id}\" - object does not exist.")),
        }
    }
    for fixed in ["content_id", "idea_id"] {
        if f.sent(fixed) {
            f.error(fixed, "This field is set by the system.");
        }
    }
    Ok(())
}

/// `POST tasks/`.
pub async fn create(services: &Services, caller: &Caller, body: &[u8]) -> Result<Value, ApiError> {
    let mut f = Fields::parse(body)?;
    let sector = scope::target_sector(services, caller, &mut f).await?;
    let mut task = Task {
        id: ids::new_id(),
        account_id: caller.account_id().to_owned(),
        site_id: sector.as_ref().map(|s| s.site_id.clone()).unwrap_or_default(),
        sector_id: sector.as_ref().map(|s| s.id.clone()).unwrap_or_default(),
        title: String::new(),
        description: String::new(),
        keywords: Vec::new(),
        cluster_id: None,
        idea_id: None,
        content_type: "blog_post".into(),
        content_structure: "supporting_page".into(),
        word_count: 1000,
        status: "queued".into(),
        content_id: None,
        created_at: OffsetDateTime::now_utc(),
    };
    read_fields(services, caller, &mut f, &mut task, true).await?;
    f.finish()?;
    scope::insert(services, &task, "tasks", task.created_at).await?;
    Ok(task.to_json())
}

/// `PUT`/`PATCH tasks/{id}/`.
pub async fn update(services: &Services, caller: &Caller, task_id: &str, body: &[u8]) -> Result<Value, ApiError> {
    let before = scope::writable::<Task>(services, caller, task_id).await?;
    let mut f = Fields::parse(body)?;
    let mut after = before.clone();
    read_fields(services, caller, &mut f, &mut after, false).await?;
    f.finish()?;
    // Replaced only if the worker did not link content meanwhile.
    scope::replace_keeping_link(services, &after, "content_id", before.content_id.as_deref()).await?;
    Ok(after.to_json())
}

/// `DELETE tasks/{id}/`: with its content and images.
pub async fn delete(services: &Services, caller: &Caller, task_id: &str) -> Result<(), ApiError> {
    let task = scope::writable::<Task>(services, caller, task_id).await?;
    super::removal::remove_task(services, &task).await
}

/// `POST tasks/bulk_delete/` `{ids}`.
pub async fn bulk_delete(services: &Services, caller: &Caller, body: &[u8]) -> Result<Value, ApiError> {
    let mut f = Fields::parse(body)?;
    let ids = f.required("ids", id_list(crate::planner::keywords::BULK_MAX));
    f.finish()?;
    let tasks = scope::writable_many::<Task>(services, caller, "ids", &ids.unwrap_or_default(), None).await?;
    for task in &tasks {
        super::removal::remove_task(services, task).await?;
    }
    Ok(json!({"deleted_count": tasks.len()}))
}

/// `POST tasks/bulk_update/` `{ids, status}`.
pub async fn bulk_update(services: &Services, caller: &Caller, body: &[u8]) -> Result<Value, ApiError> {
    let mut f = Fields::parse(body)?;
    let ids = f.required("ids", id_list(crate::planner::keywords::BULK_MAX));
    let status = f.required("status", choice(STATUSES));
    f.finish()?;
    let (ids, status) = (ids.unwrap_or_default(), status.unwrap_or_default());
    let tasks = scope::writable_many::<Task>(services, caller, "ids", &ids, None).await?;
    let store = services.store().await;
    let mut updated = 0;
    for chunk in tasks.chunks(100) {
        let writes = chunk
            .iter()
            .map(|t| {
                Write::Update(
                    crate::store::Change::new(t.key(), "SET #status = :status")
                        .name("#status", "status")
                        .value(":status", crate::store::s(&status))
                        .condition(Condition::exists()),
                )
            })
            .collect();
        store.transact(writes).await.map_err(|e| e.gone_is_not_found())?;
        updated += chunk.len();
    }
    Ok(json!({"updated_count": updated}))
}

/// `POST tasks/auto_generate_content/` `{ids}`: up to 50 tasks of one sector; credits reserved for
/// the words asked for, charged for the words written.
pub async fn auto_generate_content(services: &Services, caller: &Caller, body: &[u8]) -> Result<Job, ApiError> {
    let mut f = Fields::parse(body)?;
    let ids = f.required("ids", id_list(GENERATE_MAX));
    f.finish()?;
    let ids = ids.unwrap_or_default();
    let tasks = scope::writable_many::<Task>(services, caller, "ids", &ids, None).await?;
    let first = scope::one_sector(&tasks)?;
    let words: u64 = tasks.iter().map(|t| t.word_count as u64).sum();
    let input =
        json!({"site_id": first.site_id, "sector_id": first.sector_id, "task_ids": ids, "estimated_word_count": words});
    jobs::start(services, caller, AiFunction::GenerateContent, input, &format!("Content for {} tasks", ids.len())).await
}
