//! `/api/v1/planner/ideas/`: CRUD, bulk delete, and queueing ideas to the writer as tasks (each
//! idea once).

use std::collections::HashMap;

use serde_json::Value;
use time::OffsetDateTime;

use super::listing::{ListSpec, Match};
use super::scope::{Deleted, Selection};
use super::{Cluster, Idea, SectorRecord, scope};
use crate::access::Caller;
use crate::http::openapi::Data;
use crate::http::{self, AppState, JsonBody, Reply};
use crate::records::counts::{self, Step};
use crate::store::{Change, Condition, Write, s};
use crate::throttle::scopes::Planner;
use crate::validation::input::{Bounded, Choice, Id, Integer, Text};
use crate::validation::{FieldErrors, max};
use crate::writer::{Task, TaskAnswer};
use crate::{ApiError, Services, ids, usage};
use axum::extract::State;

pub const STATUSES: &[&str] = &["new", "scheduled", "published"];
pub const CONTENT_TYPES: &[&str] = &["blog_post", "article", "guide", "tutorial"];
pub const CONTENT_STRUCTURES: &[&str] = &["cluster_hub", "landing_page", "pillar_page", "supporting_page"];

pub const LIST: ListSpec = ListSpec {
    filters: &[
        ("status", "status", Match::Eq),
        ("cluster_id", "cluster_id", Match::Eq),
        ("keyword_cluster_id", "cluster_id", Match::Eq),
        ("content_type", "content_type", Match::Eq),
        ("content_structure", "content_structure", Match::Eq),
    ],
    search: &["idea_title"],
    orderings: &[
        ("idea_title", "idea_title"),
        ("created_at", "created_at"),
        ("estimated_word_count", "estimated_word_count"),
    ],
    default_ordering: "-created_at",
};

/// A content type the model or a client sent, mapped onto the choices.
pub fn content_type_of(value: &str) -> String {
    let v = value.trim().to_lowercase().replace([' ', '-'], "_");
    match v.as_str() {
        t if CONTENT_TYPES.contains(&t) => v,
        "post" | "blog" => "blog_post".into(),
        _ => "blog_post".into(),
    }
}

/// A content structure the model or a client sent, mapped onto the choices.
pub fn content_structure_of(value: &str) -> String {
    let v = value.trim().to_lowercase().replace([' ', '-'], "_");
    if CONTENT_STRUCTURES.contains(&v.as_str()) { v } else { "supporting_page".into() }
}

/// The list's page source: the `records` the caller may see, filtered and ordered.
pub async fn list(
    services: &Services,
    records: Vec<Idea>,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    scope::listed(services, records, query, &LIST).await
}

crate::input! {
    /// A content idea in one sector.
    pub struct NewIdea, changes IdeaChanges {
        /// The sector's site (optional; it must be the sector's).
        site_id: optional String = Id,
        sector_id: required String = Id,
        idea_title: required String = Bounded(max::TITLE),
        description: optional String = Text(max::DESCRIPTION),
        content_type: optional String = Choice(CONTENT_TYPES),
        content_structure: optional String = Choice(CONTENT_STRUCTURES),
        /// At most 50 keywords: a list, or one comma-separated string.
        target_keywords: optional Vec<String> = super::KEYWORD_LIST,
        estimated_word_count: optional i64 = Integer(100, 20_000),
        status: optional String = Choice(STATUSES),
        /// A cluster of the same sector; `null` clears it.
        cluster_id: nullable String = Id,
        /// The original's name for `cluster_id` (wins when both are sent).
        keyword_cluster_id: nullable String = Id,
    }
}

/// The editable fields of `input` applied to `idea`; a cluster that is not of the idea's sector
/// is an error on the field that named it.
async fn apply(
    services: &Services,
    caller: &Caller,
    errors: &mut FieldErrors,
    idea: &mut Idea,
    rest: IdeaChanges,
) -> Result<(), ApiError> {
    if let Some(title) = rest.idea_title {
        idea.idea_title = title;
    }
    if let Some(description) = rest.description {
        idea.description = description;
    }
    if let Some(t) = rest.content_type {
        idea.content_type = t;
    }
    if let Some(t) = rest.content_structure {
        idea.content_structure = t;
    }
    if let Some(k) = rest.target_keywords {
        idea.target_keywords = k;
    }
    if let Some(n) = rest.estimated_word_count {
        idea.estimated_word_count = n as u32;
    }
    if let Some(status) = rest.status {
        idea.status = status;
    }
    let (cluster_field, cluster) = match rest.keyword_cluster_id {
        Some(cluster) => ("keyword_cluster_id", Some(cluster)),
        None => ("cluster_id", rest.cluster_id),
    };
    match cluster {
        None => {}
        Some(None) => idea.cluster_id = None,
        Some(Some(cluster_id)) => match super::find::<Cluster>(services, caller.account_id(), &cluster_id).await? {
            Some(c) if c.sector_id == idea.sector_id => idea.cluster_id = Some(c.id),
            _ => errors.add(cluster_field, format!("Invalid pk \"{cluster_id}\" - object does not exist.")),
        },
    }
    Ok(())
}

/// `POST ideas/`.
pub async fn create(services: &Services, caller: &Caller, input: NewIdea) -> Result<Value, ApiError> {
    let mut errors = FieldErrors::new();
    let sector =
        scope::target_sector(services, caller, input.site_id.as_deref(), &input.sector_id, &mut errors).await?;
    let mut idea = Idea {
        id: ids::new_id(),
        account_id: caller.account_id().to_owned(),
        site_id: sector.as_ref().map(|s| s.site_id.clone()).unwrap_or_default(),
        sector_id: sector.as_ref().map(|s| s.id.clone()).unwrap_or_default(),
        cluster_id: None,
        idea_title: String::new(),
        description: String::new(),
        content_type: "blog_post".into(),
        content_structure: "supporting_page".into(),
        target_keywords: Vec::new(),
        estimated_word_count: 1000,
        status: "new".into(),
        task_id: None,
        created_at: OffsetDateTime::now_utc(),
    };
    apply(services, caller, &mut errors, &mut idea, input.into()).await?;
    errors.finish()?;
    scope::insert(services, &idea, "ideas", idea.created_at).await?;
    Ok(idea.to_json())
}

/// `PUT`/`PATCH ideas/{id}/`.
pub async fn update(services: &Services, caller: &Caller, before: Idea, input: IdeaChanges) -> Result<Value, ApiError> {
    let mut errors = FieldErrors::new();
    let mut after = before.clone();
    apply(services, caller, &mut errors, &mut after, input).await?;
    errors.finish()?;
    // Replaced only if nobody queued it meanwhile (its task link must stay).
    scope::replace_keeping_link(services, &before, &after, "task_id", before.task_id.as_deref()).await?;
    Ok(after.to_json())
}

/// `DELETE ideas/{id}/`.
pub async fn delete(services: &Services, caller: &Caller, idea_id: &str) -> Result<(), ApiError> {
    let idea = scope::writable::<Idea>(services, caller, idea_id).await?;
    let done = counts::commit(services.store().await, &[removal(&idea)], |_| Vec::new()).await?;
    if done.done.is_empty() { Err(ApiError::not_found()) } else { Ok(()) }
}

/// The writes that delete an idea as read.
fn removal(idea: &Idea) -> Step {
    let unchanged = Condition::new("attribute_exists(PK) AND #status = :status")
        .name("#status", "status")
        .value(":status", s(&idea.status));
    Step::deleted(idea, vec![Write::Delete(idea.key(), Some(unchanged))])
}

/// Deletes the ideas named by `ids`.
#[utoipa::path(post, path = "/api/v1/planner/ideas/bulk_delete/", operation_id = "bulk_delete_ideas", request_body = Selection,
    responses((status = 200, description = "How many were deleted", body = Data<Deleted>)))]
pub async fn bulk_delete(
    State(services): State<AppState>,
    caller: http::Caller<Planner>,
    JsonBody(Selection { ids }): JsonBody<Selection>,
) -> Result<Reply, ApiError> {
    let ideas = scope::writable_many::<Idea>(&services, &caller, "ids", &ids, None).await?;
    let steps: Vec<Step> = ideas.iter().map(removal).collect();
    let done = counts::commit(services.store().await, &steps, |_| Vec::new()).await?;
    Reply::data(&Deleted { deleted_count: done.done.len() })
}

/// The writer task an idea becomes.
pub fn task_of(idea: &Idea, now: OffsetDateTime) -> Task {
    Task {
        id: ids::new_id(),
        account_id: idea.account_id.clone(),
        site_id: idea.site_id.clone(),
        sector_id: idea.sector_id.clone(),
        title: idea.idea_title.clone(),
        description: idea.description.clone(),
        keywords: idea.target_keywords.clone(),
        cluster_id: idea.cluster_id.clone(),
        idea_id: Some(idea.id.clone()),
        content_type: idea.content_type.clone(),
        content_structure: idea.content_structure.clone(),
        word_count: idea.estimated_word_count,
        status: "queued".into(),
        content_id: None,
        author_profile_id: None,
        created_at: now,
    }
}

/// Turns ideas into writer tasks: one task per idea, written together with the idea's link to
/// it; an idea already queued is skipped, even by a concurrent request.
#[utoipa::path(post, path = "/api/v1/planner/ideas/bulk_queue_to_writer/", request_body = Selection,
    responses((status = 200, description = "The tasks created", body = Data<QueuedToWriter>)))]
pub async fn bulk_queue_to_writer(
    State(services): State<AppState>,
    caller: http::Caller<Planner>,
    JsonBody(Selection { ids }): JsonBody<Selection>,
) -> Result<Reply, ApiError> {
    let ideas = scope::writable_many::<Idea>(&services, &caller, "ids", &ids, None).await?;
    let queued = queue_to_writer(&services, caller.account_id(), ideas, None).await?;
    Ok(Reply::data(&queued)?.with_message("Queued to the writer"))
}

/// Turns `ideas` of the account into writer tasks (written in the voice of `author_profile_id`
/// when given): one task per idea, written with the idea's link to it; an idea queued already,
/// even by a concurrent request, is skipped. Automation queues ideas through it too.
pub async fn queue_to_writer(
    services: &Services,
    account_id: &str,
    ideas: Vec<Idea>,
    author_profile_id: Option<&str>,
) -> Result<QueuedToWriter, ApiError> {
    let now = OffsetDateTime::now_utc();
    let (pending, mut skipped): (Vec<Idea>, Vec<Idea>) = ideas.into_iter().partition(|i| i.task_id.is_none());
    // Each idea with its task: the idea's link (refused when it was queued meanwhile, or its
    // status changed), the task, and the counts of both in their sector.
    let made: Vec<Task> = pending
        .iter()
        .map(|i| Task { author_profile_id: author_profile_id.map(str::to_owned), ..task_of(i, now) })
        .collect();
    let mut steps = Vec::with_capacity(pending.len());
    for (idea, task) in pending.iter().zip(&made) {
        let (g3, _) =
            crate::records::pages::status_gsi3::<Idea>(&idea.account_id, &idea.sector_id, "scheduled", &idea.id);
        let link = Change::new(idea.key(), "SET task_id = :task, #status = :scheduled, GSI3PK = :g3")
            .value(":g3", s(g3))
            .name("#status", "status")
            .value(":task", s(&task.id))
            .value(":scheduled", s("scheduled"))
            .value(":was", s(&idea.status))
            .condition(
                Condition::new(
                    "attribute_exists(PK) AND (attribute_not_exists(task_id) OR task_id = :null) AND #status = :was",
                )
                .value(":null", crate::store::null()),
            );
        let mut step =
            Step::created(task, vec![Write::Update(link), Write::Put(task.item()?, Some(Condition::not_exists()))]);
        step.tally.moved::<Idea>(&idea.status, "scheduled");
        steps.push(step);
    }
    let account = account_id.to_owned();
    let done = counts::commit(services.store().await, &steps, |chunk| {
        vec![usage::count_write(&account, "tasks", chunk.len() as i64, now)]
    })
    .await?;
    let tasks: Vec<Task> = done.done.iter().map(|&i| made[i].clone()).collect();
    // Ideas queued meanwhile (or whose sector is being deleted) are skipped.
    skipped.extend(done.refused.iter().chain(&done.sector_gone).map(|&i| pending[i].clone()));
    let queued = QueuedToWriter {
        created_count: tasks.len(),
        task_ids: tasks.iter().map(|t| t.id.clone()).collect(),
        skipped_count: skipped.len(),
        skipped_ids: skipped.iter().map(|i| i.id.clone()).collect(),
        tasks_created: tasks.len(),
        tasks: tasks.iter().map(TaskAnswer::from).collect(),
    };
    Ok(queued)
}

/// What `bulk_queue_to_writer/` did.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct QueuedToWriter {
    pub created_count: usize,
    pub task_ids: Vec<String>,
    /// Ideas already queued (by this request's predecessors or a concurrent one).
    pub skipped_count: usize,
    pub skipped_ids: Vec<String>,
    /// The original's name for `created_count`.
    pub tasks_created: usize,
    /// The tasks created.
    pub tasks: Vec<TaskAnswer>,
}
