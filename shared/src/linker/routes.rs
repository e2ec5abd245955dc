//! `/api/v1/linker/`, and the writer's `content/{id}/link/` (which the linker function serves:
//! the template routes it here).

use std::collections::HashMap;

use axum::extract::{Path, State};

use super::ai::{LinkContent, LinkInput};
use super::graph::{self, Graph};
use crate::ApiError;
use crate::http::openapi::{Data, Queued};
use crate::http::{AppState, Caller, Ctx, JsonBody, Module, Reply};
use crate::jobs::JobQueued;
use crate::records::scope;
use crate::throttle::scopes::AiFunction;
use crate::validation::input::{Id, Ids, Integer};
use crate::writer::Content;

/// The most content one job links.
pub const MAX_CONTENT: usize = 50;
/// The most content `batch_process/` takes at once.
pub const MAX_BATCH: usize = 100;

crate::input! {
    /// Content to link (of one site).
    pub struct Process {
        /// At most 50, of one site the caller may write.
        content_ids: required Vec<String> = Ids(MAX_CONTENT),
        /// The most internal links a content holds (5 unless said; 1 to 20).
        max_links: optional i64 = Integer(1, 20),
    }
}

crate::input! {
    /// A site whose content not linked yet to link.
    pub struct BatchProcess {
        site_id: required String = Id,
        max_links: optional i64 = Integer(1, 20),
    }
}

crate::input! {
    /// How to link one content.
    pub struct LinkOne {
        max_links: optional i64 = Integer(1, 20),
    }
}

async fn start(
    s: &AppState,
    caller: &Caller<AiFunction>,
    site_id: String,
    content_ids: Vec<String>,
    max_links: Option<i64>,
) -> Result<Reply, ApiError> {
    start_with(s, caller, site_id, content_ids, max_links, false).await
}

async fn start_with(
    s: &AppState,
    caller: &Caller<AiFunction>,
    site_id: String,
    content_ids: Vec<String>,
    max_links: Option<i64>,
    then_optimize: bool,
) -> Result<Reply, ApiError> {
    let description = format!("Internal links for {} contents", content_ids.len());
    let input = LinkInput { site_id, content_ids, max_links: max_links.map(|m| m as u32), then_optimize };
    Ok(Reply::job(&crate::ai::plugin::start(s, caller, &LinkContent, input, &description).await?))
}

/// Links content to the same site's other content (a job, 8 credits per content).
#[utoipa::path(post, path = "/api/v1/linker/process/", request_body = Process,
    responses((status = 200, description = "The job", body = Queued<JobQueued>)))]
async fn process(
    State(s): State<AppState>,
    caller: Caller<AiFunction>,
    JsonBody(input): JsonBody<Process>,
) -> Result<Reply, ApiError> {
    let contents = scope::writable_many::<Content>(&s, &caller, "content_ids", &input.content_ids, None).await?;
    let site = contents.first().map(|c| c.site_id.clone()).unwrap_or_default();
    if contents.iter().any(|c| c.site_id != site) {
        return Err(ApiError::field("content_ids", "The content must be of one site."));
    }
    start(&s, &caller, site, input.content_ids, input.max_links).await
}

/// Links the site's content not linked yet (at most 100 at a time; call again for more).
#[utoipa::path(post, path = "/api/v1/linker/batch_process/", request_body = BatchProcess,
    responses((status = 200, description = "The job", body = Queued<JobQueued>)))]
async fn batch_process(
    State(s): State<AppState>,
    caller: Caller<AiFunction>,
    JsonBody(input): JsonBody<BatchProcess>,
) -> Result<Reply, ApiError> {
    if crate::sites::visible_site(&s, &caller, &input.site_id).await.is_err() {
        return Err(ApiError::field("site_id", format!("Invalid pk \"{}\" - object does not exist.", input.site_id)));
    }
    caller.require_site_write(&input.site_id)?;
    let mut waiting: Vec<Content> = super::site_contents(&s, caller.account_id(), &input.site_id)
        .await?
        .into_iter()
        .filter(|c| c.pipeline.linker_version == 0)
        .collect();
    if waiting.is_empty() {
        return Err(ApiError::field("site_id", "Every content of the site is linked already."));
    }
    waiting.sort_by_key(|c| c.generated_at);
    let ids = waiting.into_iter().take(MAX_BATCH).map(|c| c.id).collect();
    start(&s, &caller, input.site_id, ids, input.max_links).await
}

/// "Add links" on one content.
#[utoipa::path(post, path = "/api/v1/writer/content/{id}/link/", request_body = LinkOne,
    responses((status = 200, description = "The job", body = Queued<JobQueued>)))]
async fn link_one(
    State(s): State<AppState>,
    caller: Caller<AiFunction>,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<LinkOne>,
) -> Result<Reply, ApiError> {
    let content = scope::writable::<Content>(&s, &caller, &id).await?;
    start(&s, &caller, content.site_id, vec![content.id], input.max_links).await
}

/// "Link & optimize" on one content: the links (8 credits), then, from that job, an optimisation
/// job (1 credit per 200 words, reserved when it is queued): its id is the link job's
/// `result.optimize_task_id`.
#[utoipa::path(post, path = "/api/v1/writer/content/{id}/link_and_optimize/", request_body = LinkOne,
    responses((status = 200, description = "The link job", body = Queued<JobQueued>)))]
async fn link_and_optimize(
    State(s): State<AppState>,
    caller: Caller<AiFunction>,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<LinkOne>,
) -> Result<Reply, ApiError> {
    let content = scope::writable::<Content>(&s, &caller, &id).await?;
    start_with(&s, &caller, content.site_id, vec![content.id], input.max_links, true).await
}

/// The site's link graph: nodes, edges, and the orphans nothing links to.
#[utoipa::path(get, path = "/api/v1/linker/graph/",
    params(("site_id" = String, Query, description = "The site")),
    responses((status = 200, description = "The graph", body = Data<Graph>)))]
async fn link_graph(State(s): State<AppState>, caller: Caller<AiFunction>, ctx: Ctx) -> Result<Reply, ApiError> {
    let query: &HashMap<String, String> = ctx.query();
    Reply::data(&graph::of_site(&s, &caller, query.get("site_id").map(String::as_str)).await?)
}

crate::module_routes! {
    [process],
    [batch_process],
    [link_one],
    [link_and_optimize],
    [link_graph],
}

/// The linker function's part of the API.
pub const MODULE: Module = Module {
    tag: "linker",
    description: "Internal links between a site's content, and its link graph.",
    switch: Some("linker"),
    routes,
    serve,
};
