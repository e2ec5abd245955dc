//! `/api/v1/optimizer/`.

use axum::extract::{Path, State};

use super::ai::{OptimizeContent, OptimizeInput};
use super::analyzer::Scores;
use super::tasks::{self, TaskAnswer};
use crate::ApiError;
use crate::http::openapi::{Data, Paged, Queued};
use crate::http::{AppState, Caller, Ctx, JsonBody, Module, Reply};
use crate::jobs::JobQueued;
use crate::records::scope;
use crate::throttle::scopes::{AiFunction, Writer};
use crate::validation::input::{Id, Ids};
use crate::writer::{Content, ContentAnswer};

/// The most content one optimisation job takes.
pub const MAX_CONTENT: usize = 20;

crate::input! {
    /// Content to optimise (of one site).
    pub struct Optimize {
        /// At most 20, of one site the caller may write.
        content_ids: required Vec<String> = Ids(MAX_CONTENT),
    }
}

async fn start(s: &AppState, caller: &Caller<AiFunction>, contents: Vec<Content>) -> Result<Reply, ApiError> {
    let site_id = contents.first().map(|c| c.site_id.clone()).unwrap_or_default();
    if contents.iter().any(|c| c.site_id != site_id) {
        return Err(ApiError::field("content_ids", "The content must be of one site."));
    }
    let words = contents.iter().map(|c| u64::from(c.word_count)).sum();
    let description = format!("Optimising {} contents", contents.len());
    let input = OptimizeInput { site_id, content_ids: contents.into_iter().map(|c| c.id).collect(), words };
    Ok(Reply::job(&crate::ai::plugin::start(s, caller, &OptimizeContent, input, &description).await?))
}

/// Optimises content with the AI (a job, 1 credit per 200 words): scores before, the rewrite
/// (sanitised), scores after; an optimisation task keeps the original, which `tasks/{id}/revert/`
/// puts back.
#[utoipa::path(post, path = "/api/v1/optimizer/optimize/", request_body = Optimize,
    responses((status = 200, description = "The job", body = Queued<JobQueued>)))]
async fn optimize(
    State(s): State<AppState>,
    caller: Caller<AiFunction>,
    JsonBody(input): JsonBody<Optimize>,
) -> Result<Reply, ApiError> {
    let contents = scope::writable_many::<Content>(&s, &caller, "content_ids", &input.content_ids, None).await?;
    start(&s, &caller, contents).await
}

/// "Optimize" on one content.
#[utoipa::path(post, path = "/api/v1/writer/content/{id}/optimize/",
    responses((status = 200, description = "The job", body = Queued<JobQueued>)))]
async fn optimize_one(
    State(s): State<AppState>,
    caller: Caller<AiFunction>,
    Path(id): Path<String>,
) -> Result<Reply, ApiError> {
    let content = scope::writable::<Content>(&s, &caller, &id).await?;
    start(&s, &caller, vec![content]).await
}

/// The optimisation tasks of the sites the caller reads, newest first.
#[utoipa::path(get, path = "/api/v1/optimizer/tasks/",
    params(("content_id" = Option<String>, Query, description = "Only this content's")),
    responses((status = 200, description = "The tasks", body = Paged<TaskAnswer>)))]
async fn list_tasks(State(s): State<AppState>, caller: Caller<Writer>, ctx: Ctx) -> Result<Reply, ApiError> {
    ctx.page(tasks::list(&s, &caller, ctx.query()).await?)
}

/// One optimisation task, with the HTML before and after.
#[utoipa::path(get, path = "/api/v1/optimizer/tasks/{id}/",
    responses((status = 200, description = "The task", body = Data<TaskAnswer>)))]
async fn show_task(
    State(s): State<AppState>,
    caller: Caller<Writer>,
    Path(id): Path<String>,
) -> Result<Reply, ApiError> {
    Reply::data(&tasks::show(&s, &caller, &id).await?)
}

/// Puts the content back exactly as it was before the optimisation (409 when reverted already).
#[utoipa::path(post, path = "/api/v1/optimizer/tasks/{id}/revert/",
    responses((status = 200, description = "The content", body = Data<ContentAnswer>)))]
async fn revert_task(
    State(s): State<AppState>,
    caller: Caller<Writer>,
    Path(id): Path<String>,
) -> Result<Reply, ApiError> {
    Reply::data(&tasks::revert(&s, &caller, &id).await?)
}

crate::input! {
    /// The content to score.
    pub struct Analyze {
        content_id: required String = Id,
    }
}

/// Scores a content (each dimension 0–100 with its reason, and the total): nothing changes,
/// nothing is charged. Everyone who reads the content's site may.
#[utoipa::path(post, path = "/api/v1/optimizer/analyze/", request_body = Analyze,
    responses((status = 200, description = "The scores", body = Data<Scores>)))]
async fn analyze(
    State(s): State<AppState>,
    caller: Caller<Writer>,
    JsonBody(input): JsonBody<Analyze>,
) -> Result<Reply, ApiError> {
    let content = scope::visible::<Content>(&s, &caller, &input.content_id).await?;
    Reply::data(&super::scores(&s, &content).await?)
}

crate::module_routes! {
    [analyze],
    [optimize],
    [optimize_one],
    [list_tasks],
    [show_task],
    [revert_task],
}

/// The optimizer function's part of the API.
pub const MODULE: Module = Module {
    tag: "optimizer",
    description: "Scores of a content's quality, and its AI optimisation.",
    switch: Some("optimizer"),
    routes,
    serve,
};
