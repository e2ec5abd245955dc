//! `/api/v1/writer/tasks/`: CRUD, bulk delete and status update, and AI content generation.

use std::collections::HashMap;

use serde_json::Value;
use time::OffsetDateTime;

use super::Task;
use super::ai::{ContentInput, GenerateContent};
use crate::access::Caller;
use crate::http::openapi::{Data, Queued};
use crate::http::{self, AppState, JsonBody, Reply};
use crate::jobs::JobQueued;
use crate::planner::{Cluster, ideas};
use crate::records::counts::{self, Step};
use crate::records::listing::{ListSpec, Match};
use crate::records::scope::{Deleted, Selection, Updated};
use crate::records::{SectorRecord, scope};

use crate::throttle::scopes::{Writer, WriterAi};
use crate::validation::input::{Bounded, Choice, Id, Ids, Integer, Json, Text};
use crate::validation::{FieldErrors, max};
use crate::{ApiError, Services, ids};
use axum::extract::State;

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

/// The list's page source: the `records` the caller may see, filtered and ordered.
pub async fn list(
    services: &Services,
    records: Vec<Task>,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    scope::listed(services, records, query, &LIST).await
}

crate::input! {
    /// A writer task: what to write, in one sector.
    pub struct NewTask, changes TaskChanges {
        /// The sector's site (optional; it must be the sector's).
        site_id: optional String = Id,
        /// The sector (only read when the task is created).
        sector_id: required String = Id,
        title: required String = Bounded(max::TITLE),
        description: optional String = Text(max::DESCRIPTION),
        /// At most 50 keywords: a list, or one comma-separated string.
        keywords: optional Vec<String> = crate::planner::KEYWORD_LIST,
        content_type: optional String = Choice(ideas::CONTENT_TYPES),
        content_structure: optional String = Choice(ideas::CONTENT_STRUCTURES),
        word_count: optional i64 = Integer(100, 20_000),
        status: optional String = Choice(STATUSES),
        /// A cluster of the same sector; `null` clears it.
        cluster_id: nullable String = Id,
        /// An active author profile of the account (`system/author-profiles/`): the content is
        /// written in its tone, language and structure; `null` clears it.
        author_profile_id: nullable String = Id,
        /// Set by the system: may not be sent.
        content_id: nullable Value = Json,
        /// Set by the system: may not be sent.
        idea_id: nullable Value = Json,
    }
}

async fn apply(
    services: &Services,
    caller: &Caller,
    errors: &mut FieldErrors,
    task: &mut Task,
    input: TaskChanges,
) -> Result<(), ApiError> {
    task.title = input.title.unwrap_or(std::mem::take(&mut task.title));
    task.description = input.description.unwrap_or(std::mem::take(&mut task.description));
    task.keywords = input.keywords.unwrap_or(std::mem::take(&mut task.keywords));
    task.content_type = input.content_type.unwrap_or(std::mem::take(&mut task.content_type));
    task.content_structure = input.content_structure.unwrap_or(std::mem::take(&mut task.content_structure));
    if let Some(n) = input.word_count {
        task.word_count = n as u32;
    }
    task.status = input.status.unwrap_or(std::mem::take(&mut task.status));
    match input.cluster_id {
        None => {}
        Some(None) => task.cluster_id = None,
        Some(Some(cluster_id)) => {
            match crate::planner::find::<Cluster>(services, caller.account_id(), &cluster_id).await? {
                Some(c) if c.sector_id == task.sector_id => task.cluster_id = Some(c.id),
                _ => errors.add("cluster_id", format!("Invalid pk \"{cluster_id}\" - object does not exist.")),
            }
        }
    }
    match input.author_profile_id {
        None => {}
        Some(None) => task.author_profile_id = None,
        Some(Some(id)) => {
            match crate::thinker::author_profiles::check_active(services, caller.account_id(), &id).await? {
                None => task.author_profile_id = Some(id),
                Some(why) => errors.add("author_profile_id", why),
            }
        }
    }
    for (fixed, sent) in [("content_id", &input.content_id), ("idea_id", &input.idea_id)] {
        if sent.is_some() {
            errors.add(fixed, "This field is set by the system.");
        }
    }
    Ok(())
}

/// `POST tasks/`.
pub async fn create(services: &Services, caller: &Caller, input: NewTask) -> Result<Value, ApiError> {
    let mut errors = FieldErrors::new();
    let sector =
        scope::target_sector(services, caller, input.site_id.as_deref(), &input.sector_id, &mut errors).await?;
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
        author_profile_id: None,
        created_at: OffsetDateTime::now_utc(),
    };
    apply(services, caller, &mut errors, &mut task, input.into()).await?;
    errors.finish()?;
    scope::insert(services, &task, "tasks", task.created_at).await?;
    Ok(task.to_json())
}

/// `PUT`/`PATCH tasks/{id}/`.
pub async fn update(services: &Services, caller: &Caller, before: Task, input: TaskChanges) -> Result<Value, ApiError> {
    let mut errors = FieldErrors::new();
    let mut after = before.clone();
    apply(services, caller, &mut errors, &mut after, input).await?;
    errors.finish()?;
    // Replaced only if the worker did not link content meanwhile.
    scope::replace_keeping_link(services, &before, &after, "content_id", before.content_id.as_deref()).await?;
    Ok(after.to_json())
}

/// `DELETE tasks/{id}/`: with its content and images.
pub async fn delete(services: &Services, caller: &Caller, task_id: &str) -> Result<(), ApiError> {
    let task = scope::writable::<Task>(services, caller, task_id).await?;
    super::removal::remove_task(services, &task).await
}

/// Deletes the tasks named by `ids`, with their content and images.
#[utoipa::path(post, path = "/api/v1/writer/tasks/bulk_delete/", operation_id = "bulk_delete_tasks", request_body = Selection,
    responses((status = 200, description = "How many were deleted", body = Data<Deleted>)))]
pub async fn bulk_delete(
    State(services): State<AppState>,
    caller: http::Caller<Writer>,
    JsonBody(Selection { ids }): JsonBody<Selection>,
) -> Result<Reply, ApiError> {
    let tasks = scope::writable_many::<Task>(&services, &caller, "ids", &ids, None).await?;
    for task in &tasks {
        super::removal::remove_task(&services, task).await?;
    }
    Reply::data(&Deleted { deleted_count: tasks.len() })
}

crate::input! {
    /// Tasks and the status they all take.
    pub struct TaskStatusChange {
        /// The tasks (at most 1,000).
        ids: required Vec<String> = Ids(scope::BULK_MAX),
        status: required String = Choice(STATUSES),
    }
}

/// Sets the status of the tasks named by `ids`.
#[utoipa::path(post, path = "/api/v1/writer/tasks/bulk_update/", operation_id = "bulk_update_tasks", request_body = TaskStatusChange,
    responses((status = 200, description = "How many were updated", body = Data<Updated>)))]
pub async fn bulk_update(
    State(services): State<AppState>,
    caller: http::Caller<Writer>,
    JsonBody(TaskStatusChange { ids, status }): JsonBody<TaskStatusChange>,
) -> Result<Reply, ApiError> {
    let tasks = scope::writable_many::<Task>(&services, &caller, "ids", &ids, None).await?;
    let steps: Vec<Step> = tasks.iter().map(|t| Step::status(t, &status, None)).collect();
    let done = counts::commit(services.store().await, &steps, |_| Vec::new()).await?;
    Reply::data(&Updated { updated_count: done.done.len() })
}

crate::input! {
    /// Tasks of one sector to write.
    pub struct ToWrite {
        /// The tasks (at most 50: one model call each).
        ids: required Vec<String> = Ids(GENERATE_MAX),
    }
}

/// Writes the tasks' content with the AI (a job): credits reserved for the words asked for,
/// charged for the words written.
#[utoipa::path(post, path = "/api/v1/writer/tasks/auto_generate_content/", request_body = ToWrite,
    responses((status = 200, description = "The job", body = Queued<JobQueued>)))]
pub async fn auto_generate_content(
    State(services): State<AppState>,
    caller: http::Caller<WriterAi>,
    JsonBody(ToWrite { ids }): JsonBody<ToWrite>,
) -> Result<Reply, ApiError> {
    let tasks = scope::writable_many::<Task>(&services, &caller, "ids", &ids, None).await?;
    let first = scope::one_sector(&tasks)?;
    let words: u64 = tasks.iter().map(|t| t.word_count as u64).sum();
    let description = format!("Content for {} tasks", ids.len());
    let input = ContentInput {
        site_id: first.site_id.clone(),
        sector_id: first.sector_id.clone(),
        task_ids: ids,
        estimated_word_count: Some(words),
    };
    Ok(Reply::job(&crate::ai::plugin::start(&services, &caller, &GenerateContent, input, &description).await?))
}
