//! `/api/v1/publisher/`, and the writer's `content/{id}/publish/` ("Publish to WordPress"), which
//! the publisher function serves (the template routes it here: the writer knows nothing of
//! publishing).

use axum::extract::{Path, State};

use super::records::{self, RecordAnswer};
use super::request::{self, PublishOne, PublishRequest};
use crate::ApiError;
use crate::http::openapi::{Data, Paged};
use crate::http::{AppState, Caller, Ctx, JsonBody, Module, Reply};
use crate::throttle::scopes::Integration;

/// Publishes content to its sites' destinations (their active WordPress integrations, or those
/// named): a record per content and destination, queued; follow them at `publishing-records/`.
/// Republishing updates the same post.
#[utoipa::path(post, path = "/api/v1/publisher/publish/", request_body = PublishRequest,
    responses((status = 200, description = "The records queued", body = Data<Vec<RecordAnswer>>)))]
async fn publish(
    State(s): State<AppState>,
    caller: Caller<Integration>,
    JsonBody(input): JsonBody<PublishRequest>,
) -> Result<Reply, ApiError> {
    Ok(Reply::ok(serde_json::Value::Array(request::publish(&s, &caller, input).await?)))
}

/// "Publish to WordPress": one content to its site's destinations.
#[utoipa::path(post, path = "/api/v1/writer/content/{id}/publish/", request_body = PublishOne,
    responses((status = 200, description = "The records queued", body = Data<Vec<RecordAnswer>>)))]
async fn publish_content(
    State(s): State<AppState>,
    caller: Caller<Integration>,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<PublishOne>,
) -> Result<Reply, ApiError> {
    Ok(Reply::ok(serde_json::Value::Array(request::publish_one(&s, &caller, &id, input).await?)))
}

/// The publishing records of the sites the caller reads, last change first.
#[utoipa::path(get, path = "/api/v1/publisher/publishing-records/",
    params(
        ("content_id" = Option<String>, Query, description = "Only this content's"),
        ("site_id" = Option<String>, Query, description = "Only this site's"),
        ("integration_id" = Option<String>, Query, description = "Only this destination's"),
        ("status" = Option<String>, Query, description = "queued, publishing, published or failed"),
    ),
    responses((status = 200, description = "The records", body = Paged<RecordAnswer>)))]
async fn list_records(State(s): State<AppState>, caller: Caller<Integration>, ctx: Ctx) -> Result<Reply, ApiError> {
    ctx.page(records::list(&s, &caller, ctx.query()).await?)
}

/// One publishing record.
#[utoipa::path(get, path = "/api/v1/publisher/publishing-records/{id}/",
    responses((status = 200, description = "The record", body = Data<RecordAnswer>)))]
async fn show_record(
    State(s): State<AppState>,
    caller: Caller<Integration>,
    Path(id): Path<String>,
) -> Result<Reply, ApiError> {
    Ok(Reply::ok(records::show(&s, &caller, &id).await?))
}

crate::module_routes! {
    [publish],
    [publish_content],
    [list_records],
    [show_record],
}

/// The publisher function's part of the API.
/// The account's switch of publishing (`settings/modules/enable/`).
pub const MODULE_SWITCH: &str = "publisher";

pub const MODULE: Module = Module {
    tag: "publisher",
    description: "Publishing content to its sites (WordPress), as queued work with a record per content and destination.",
    switch: Some(MODULE_SWITCH),
    routes,
    serve,
};
