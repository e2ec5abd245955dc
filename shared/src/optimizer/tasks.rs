//! An `OptimizationTask` per rewrite: its scores before and after (`ACCOUNT#<a>` /
//! `OPTTASK#<id>`) and the content's HTML before and after, each its own item
//! (`OPTHTML#<id>#before`, `#after`: two articles would not fit one item). The original is always
//! kept: `tasks/{id}/revert/` puts it back exactly.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::analyzer::Scores;
use crate::access::Caller;
use crate::accounts::rfc3339;
use crate::records::scope;
use crate::store::{Condition, Item, Key, Query, keys};
use crate::writer::{Content, ContentAnswer, word_count};
use crate::{ApiError, Services, ids};

const PREFIX: &str = "OPTTASK#";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizationTask {
    pub id: String,
    pub account_id: String,
    pub site_id: String,
    pub sector_id: String,
    pub content_id: String,
    /// `applied` or `reverted`.
    pub status: String,
    pub meta_title_before: String,
    pub meta_description_before: String,
    pub scores_before: Scores,
    pub scores_after: Scores,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub reverted_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Html {
    html: String,
}

/// A task as the API answers it (the HTML only on `tasks/{id}/`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TaskAnswer {
    pub id: String,
    pub content_id: String,
    pub site_id: String,
    pub sector_id: String,
    /// `applied` or `reverted`.
    pub status: String,
    pub scores_before: Scores,
    pub scores_after: Scores,
    pub created_at: String,
    pub reverted_at: Option<String>,
    pub html_before: Option<String>,
    pub html_after: Option<String>,
}

fn key(account_id: &str, id: &str) -> Key {
    Key::new(keys::account_pk(account_id), format!("{PREFIX}{id}"))
}

fn html_key(account_id: &str, id: &str, which: &str) -> Key {
    Key::new(keys::account_pk(account_id), format!("OPTHTML#{id}#{which}"))
}

impl OptimizationTask {
    fn answer(&self, html: Option<(String, String)>) -> TaskAnswer {
        let (html_before, html_after) = html.map_or((None, None), |(b, a)| (Some(b), Some(a)));
        TaskAnswer {
            id: self.id.clone(),
            content_id: self.content_id.clone(),
            site_id: self.site_id.clone(),
            sector_id: self.sector_id.clone(),
            status: self.status.clone(),
            scores_before: self.scores_before.clone(),
            scores_after: self.scores_after.clone(),
            created_at: rfc3339(self.created_at),
            reverted_at: self.reverted_at.map(rfc3339),
            html_before,
            html_after,
        }
    }
}

/// Writes a task and its two HTML items (puts of known keys: a replay writes the same).
pub async fn put(services: &Services, task: &OptimizationTask, before: &str, after: &str) -> Result<(), ApiError> {
    let store = services.store().await;
    let a = &task.account_id;
    store
        .put(Item::new(&html_key(a, &task.id, "before"), "OptimizationHtml", &Html { html: before.to_owned() })?, None)
        .await?;
    store
        .put(Item::new(&html_key(a, &task.id, "after"), "OptimizationHtml", &Html { html: after.to_owned() })?, None)
        .await?;
    store.put(Item::new(&key(a, &task.id), "OptimizationTask", task)?, None).await?;
    Ok(())
}

async fn find(services: &Services, caller: &Caller, id: &str) -> Result<OptimizationTask, ApiError> {
    if !ids::is_valid_id(id) {
        return Err(ApiError::not_found());
    }
    let task: Option<OptimizationTask> = services.store().await.get(&key(caller.account_id(), id)).await?;
    task.filter(|t| caller.can_read_site(&t.site_id)).ok_or_else(ApiError::not_found)
}

async fn html(services: &Services, task: &OptimizationTask) -> Result<(String, String), ApiError> {
    let store = services.store().await;
    let (before_key, after_key) =
        (html_key(&task.account_id, &task.id, "before"), html_key(&task.account_id, &task.id, "after"));
    let (before, after) = tokio::join!(store.get::<Html>(&before_key), store.get::<Html>(&after_key));
    let missing = || ApiError::internal(format!("optimization task {} lost its HTML", task.id));
    Ok((before?.ok_or_else(missing)?.html, after?.ok_or_else(missing)?.html))
}

/// `tasks/`: the tasks of the sites the caller reads, newest first; `content_id` filters.
pub async fn list(
    services: &Services,
    caller: &Caller,
    query: &std::collections::HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    let content = query.get("content_id").map(|c| c.trim()).filter(|c| !c.is_empty());
    let items = services
        .store()
        .await
        .query_all(Query::partition(keys::account_pk(caller.account_id())).sk_prefix(PREFIX).newest_first())
        .await?;
    let tasks = items.into_iter().map(crate::store::decode).collect::<Result<Vec<OptimizationTask>, _>>()?;
    Ok(tasks
        .iter()
        .filter(|t| caller.can_read_site(&t.site_id))
        .filter(|t| content.is_none_or(|c| c == t.content_id))
        .map(|t| crate::http::answer(t.answer(None)))
        .collect())
}

/// `tasks/{id}/`: with the HTML before and after.
pub async fn show(services: &Services, caller: &Caller, id: &str) -> Result<TaskAnswer, ApiError> {
    let task = find(services, caller, id).await?;
    let html = html(services, &task).await?;
    Ok(task.answer(Some(html)))
}

/// `tasks/{id}/revert/`: the content's HTML, meta title and description back exactly as they
/// were, its scores the ones before; the task `reverted` (once: a second revert is a 409).
pub async fn revert(services: &Services, caller: &Caller, id: &str) -> Result<ContentAnswer, ApiError> {
    let task = find(services, caller, id).await?;
    let before = scope::writable::<Content>(services, caller, &task.content_id).await?;
    if task.status != "applied" {
        return Err(ApiError::Conflict("This optimisation is reverted already.".into()));
    }
    let (html_before, _) = html(services, &task).await?;
    let mut after = before.clone();
    after.word_count = word_count(&html_before);
    after.html = html_before;
    after.meta_title = task.meta_title_before.clone();
    after.meta_description = task.meta_description_before.clone();
    after.pipeline.optimization_scores = task.scores_before.to_map();
    // A later run of a job computed over the optimised version finds it moved on.
    after.pipeline.optimizer_version += 1;
    let mut reverted = task.clone();
    reverted.status = "reverted".into();
    reverted.reverted_at = Some(OffsetDateTime::now_utc());
    let mark = crate::store::Write::Put(
        Item::new(&key(&task.account_id, &task.id), "OptimizationTask", &reverted)?,
        Some(
            Condition::new("#status = :applied")
                .name("#status", "status")
                .value(":applied", crate::store::s("applied")),
        ),
    );
    let saved = crate::writer::content::save(services, &before, after, vec![mark]).await?;
    Ok(ContentAnswer::from(&saved))
}
