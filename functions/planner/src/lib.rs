//! `/api/v1/planner/`: keywords, clusters and content ideas. A thin adapter from HTTP to the
//! domain crate's planner module: its routes, and their contract in the OpenAPI document.

use axum::extract::State;
use http::{HeaderName, HeaderValue};
use igny8_domain::http::openapi::{Data, Queued};
use igny8_domain::http::{AppState, Caller, Ctx, Module, RawBody, Reply};
use igny8_domain::planner::{
    Cluster, ClusterAnswer, Idea, IdeaAnswer, Keyword, KeywordAnswer, clusters, ideas, keywords,
};
use igny8_domain::throttle::scopes::{Planner, PlannerAi};
use igny8_domain::{ApiError, sector_crud};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

type Answer = Result<Reply, ApiError>;

sector_crud!(
    keyword,
    list: "/api/v1/planner/keywords/",
    item: "/api/v1/planner/keywords/{id}/",
    record: Keyword,
    domain: igny8_domain::planner::keywords,
    scope: Planner,
    answer: KeywordAnswer,
);
sector_crud!(
    cluster,
    list: "/api/v1/planner/clusters/",
    item: "/api/v1/planner/clusters/{id}/",
    record: Cluster,
    domain: igny8_domain::planner::clusters,
    scope: Planner,
    answer: ClusterAnswer,
);
sector_crud!(
    idea,
    list: "/api/v1/planner/ideas/",
    item: "/api/v1/planner/ideas/{id}/",
    record: Idea,
    domain: igny8_domain::planner::ideas,
    scope: Planner,
    answer: IdeaAnswer,
);

/// Deletes the keywords named by `ids`.
#[utoipa::path(post, path = "/api/v1/planner/keywords/bulk_delete/", request_body = Value,
    responses((status = 200, description = "How many were deleted", body = Data<Value>)))]
async fn bulk_delete_keywords(State(s): State<AppState>, caller: Caller<Planner>, RawBody(body): RawBody) -> Answer {
    Ok(Reply::ok(keywords::bulk_delete(&s, &caller, &body).await?))
}

/// Sets the status of the keywords named by `ids`.
#[utoipa::path(post, path = "/api/v1/planner/keywords/bulk_update_status/", request_body = Value,
    responses((status = 200, description = "How many were updated", body = Data<Value>)))]
async fn bulk_update_status(State(s): State<AppState>, caller: Caller<Planner>, RawBody(body): RawBody) -> Answer {
    Ok(Reply::ok(keywords::bulk_update_status(&s, &caller, &body).await?))
}

/// The same as `bulk_update_status/`, by the original's other name.
#[utoipa::path(post, path = "/api/v1/planner/keywords/bulk_update/", request_body = Value,
    responses((status = 200, description = "How many were updated", body = Data<Value>)))]
async fn bulk_update_keywords(State(s): State<AppState>, caller: Caller<Planner>, RawBody(body): RawBody) -> Answer {
    Ok(Reply::ok(keywords::bulk_update_status(&s, &caller, &body).await?))
}

/// Adds keywords from the seed library to a sector.
#[utoipa::path(post, path = "/api/v1/planner/keywords/bulk_add_from_seed/", request_body = Value,
    responses((status = 200, description = "What was added and skipped", body = Data<Value>)))]
async fn bulk_add_from_seed(State(s): State<AppState>, caller: Caller<Planner>, RawBody(body): RawBody) -> Answer {
    Ok(Reply::ok(keywords::bulk_add_from_seed(&s, &caller, &body).await?))
}

/// The keywords as CSV, with the list's filters.
#[utoipa::path(get, path = "/api/v1/planner/keywords/export/", params(keyword::Filters),
    responses((status = 200, description = "CSV", content_type = "text/csv", body = String)))]
async fn export_keywords(State(s): State<AppState>, caller: Caller<Planner>, ctx: Ctx) -> Answer {
    let csv = keywords::export(&s, &caller, ctx.query()).await?;
    Ok(Reply::raw("text/csv; charset=utf-8", csv).with_header(
        HeaderName::from_static("content-disposition"),
        HeaderValue::from_static("attachment; filename=\"keywords.csv\""),
    ))
}

/// Imports keywords from CSV (a `text/csv` body, or a multipart `file`).
#[utoipa::path(post, path = "/api/v1/planner/keywords/import_keywords/",
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, description = "What was imported, skipped and refused", body = Data<Value>)))]
async fn import_keywords(
    State(s): State<AppState>,
    caller: Caller<Planner>,
    ctx: Ctx,
    RawBody(body): RawBody,
) -> Answer {
    let content_type = ctx.header("content-type").unwrap_or_default().to_owned();
    let imported = keywords::import(&s, &caller, &content_type, &body, ctx.query()).await?;
    Ok(Reply::ok(imported).with_message("Import finished"))
}

/// Groups keywords into clusters with the AI (a job).
#[utoipa::path(post, path = "/api/v1/planner/keywords/auto_cluster/", request_body = Value,
    responses((status = 200, description = "The job", body = Queued<Value>)))]
async fn auto_cluster(State(s): State<AppState>, caller: Caller<PlannerAi>, RawBody(body): RawBody) -> Answer {
    Ok(Reply::job(&keywords::auto_cluster(&s, &caller, &body).await?))
}

/// Deletes the clusters named by `ids`; their keywords are left unclustered.
#[utoipa::path(post, path = "/api/v1/planner/clusters/bulk_delete/", request_body = Value,
    responses((status = 200, description = "How many were deleted", body = Data<Value>)))]
async fn bulk_delete_clusters(State(s): State<AppState>, caller: Caller<Planner>, RawBody(body): RawBody) -> Answer {
    Ok(Reply::ok(clusters::bulk_delete(&s, &caller, &body).await?))
}

/// Writes content ideas for clusters with the AI (a job).
#[utoipa::path(post, path = "/api/v1/planner/clusters/auto_generate_ideas/", request_body = Value,
    responses((status = 200, description = "The job", body = Queued<Value>)))]
async fn auto_generate_ideas(State(s): State<AppState>, caller: Caller<PlannerAi>, RawBody(body): RawBody) -> Answer {
    Ok(Reply::job(&clusters::auto_generate_ideas(&s, &caller, &body).await?))
}

/// Deletes the ideas named by `ids`.
#[utoipa::path(post, path = "/api/v1/planner/ideas/bulk_delete/", request_body = Value,
    responses((status = 200, description = "How many were deleted", body = Data<Value>)))]
async fn bulk_delete_ideas(State(s): State<AppState>, caller: Caller<Planner>, RawBody(body): RawBody) -> Answer {
    Ok(Reply::ok(ideas::bulk_delete(&s, &caller, &body).await?))
}

/// Turns ideas into writer tasks.
#[utoipa::path(post, path = "/api/v1/planner/ideas/bulk_queue_to_writer/", request_body = Value,
    responses((status = 200, description = "The tasks created", body = Data<ideas::QueuedToWriter>)))]
async fn bulk_queue_to_writer(State(s): State<AppState>, caller: Caller<Planner>, RawBody(body): RawBody) -> Answer {
    Ok(Reply::data(&ideas::bulk_queue_to_writer(&s, &caller, &body).await?)?.with_message("Queued to the writer"))
}

/// The planner's routes and their documentation.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(keyword::list, keyword::create))
        .routes(routes!(keyword::get, keyword::update, keyword::delete))
        .routes(routes!(bulk_delete_keywords))
        .routes(routes!(bulk_update_status))
        .routes(routes!(bulk_update_keywords))
        .routes(routes!(bulk_add_from_seed))
        .routes(routes!(export_keywords))
        .routes(routes!(import_keywords))
        .routes(routes!(auto_cluster))
        .routes(routes!(cluster::list, cluster::create))
        .routes(routes!(cluster::get, cluster::update, cluster::delete))
        .routes(routes!(bulk_delete_clusters))
        .routes(routes!(auto_generate_ideas))
        .routes(routes!(idea::list, idea::create))
        .routes(routes!(idea::get, idea::update, idea::delete))
        .routes(routes!(bulk_delete_ideas))
        .routes(routes!(bulk_queue_to_writer))
}

/// The planner function's part of the API.
pub const MODULE: Module = Module { tag: "planner", description: "Keywords, clusters and content ideas.", routes };
