//! `/api/v1/planner/`: keywords, clusters and content ideas. A thin adapter from HTTP to the
//! domain crate's planner module.

use http::{HeaderName, HeaderValue};
use igny8_domain::http::{Reply, RequestCtx};
use igny8_domain::planner::{Cluster, Idea, Keyword};
use igny8_domain::planner::{SectorRecord, clusters, ideas, keywords, scope};
use igny8_domain::{ApiError, Services};
use lambda_http::{Body, Request, Response};

pub const PREFIX: &str = "/api/v1/planner/";

const ROUTES: &[&str] = &[
    "keywords/bulk_delete/",
    "keywords/bulk_update_status/",
    "keywords/bulk_update/",
    "keywords/bulk_add_from_seed/",
    "keywords/export/",
    "keywords/import_keywords/",
    "keywords/auto_cluster/",
    "keywords/{id}/",
    "keywords/",
    "clusters/bulk_delete/",
    "clusters/auto_generate_ideas/",
    "clusters/{id}/",
    "clusters/",
    "ideas/bulk_delete/",
    "ideas/bulk_queue_to_writer/",
    "ideas/{id}/",
    "ideas/",
];

fn methods(pattern: &str) -> &'static [&'static str] {
    match pattern {
        "keywords/" | "clusters/" | "ideas/" => &["GET", "POST"],
        "keywords/{id}/" | "clusters/{id}/" | "ideas/{id}/" => &["GET", "PUT", "PATCH", "DELETE"],
        "keywords/export/" => &["GET"],
        _ => &["POST"],
    }
}

fn scope_of(pattern: &str) -> &'static str {
    match pattern {
        "keywords/auto_cluster/" | "clusters/auto_generate_ideas/" => "planner_ai",
        _ => "planner",
    }
}

/// Handles one API Gateway request.
pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    igny8_domain::http::serve(services, request, route).await
}

async fn route(services: &Services, ctx: &mut RequestCtx) -> Result<Reply, ApiError> {
    let (pattern, params, method) = ctx.route(PREFIX, ROUTES, methods)?;
    let caller = ctx.caller(services, scope_of(pattern)).await?;
    let id = params.get("id").cloned().unwrap_or_default();
    let body = ctx.body().to_vec();
    let (kind, action) = pattern.split_once('/').unwrap_or((pattern, ""));
    match (kind, action, method.as_str()) {
        ("keywords", "", "GET") => ctx.page(keywords::list(services, &caller, ctx.query()).await?),
        ("keywords", "", _) => Ok(Reply::created(keywords::create(services, &caller, &body).await?)),
        ("keywords", "{id}/", "GET") => {
            Ok(Reply::ok(scope::visible::<Keyword>(services, &caller, &id).await?.to_json()))
        }
        ("keywords", "{id}/", "DELETE") => {
            keywords::delete(services, &caller, &id).await?;
            Ok(Reply::no_content())
        }
        ("keywords", "{id}/", _) => Ok(Reply::ok(keywords::update(services, &caller, &id, &body).await?)),
        ("keywords", "bulk_delete/", _) => Ok(Reply::ok(keywords::bulk_delete(services, &caller, &body).await?)),
        ("keywords", "bulk_update_status/" | "bulk_update/", _) => {
            Ok(Reply::ok(keywords::bulk_update_status(services, &caller, &body).await?))
        }
        ("keywords", "bulk_add_from_seed/", _) => {
            Ok(Reply::ok(keywords::bulk_add_from_seed(services, &caller, &body).await?))
        }
        ("keywords", "export/", _) => {
            let csv = keywords::export(services, &caller, ctx.query()).await?;
            Ok(Reply::raw("text/csv; charset=utf-8", csv).with_header(
                HeaderName::from_static("content-disposition"),
                HeaderValue::from_static("attachment; filename=\"keywords.csv\""),
            ))
        }
        ("keywords", "import_keywords/", _) => {
            let content_type = ctx.header("content-type").unwrap_or_default().to_owned();
            let imported = keywords::import(services, &caller, &content_type, &body, ctx.query()).await?;
            Ok(Reply::ok(imported).with_message("Import finished"))
        }
        ("keywords", "auto_cluster/", _) => Ok(Reply::job(&keywords::auto_cluster(services, &caller, &body).await?)),
        ("clusters", "", "GET") => ctx.page(clusters::list(services, &caller, ctx.query()).await?),
        ("clusters", "", _) => Ok(Reply::created(clusters::create(services, &caller, &body).await?)),
        ("clusters", "{id}/", "GET") => {
            Ok(Reply::ok(scope::visible::<Cluster>(services, &caller, &id).await?.to_json()))
        }
        ("clusters", "{id}/", "DELETE") => {
            clusters::delete(services, &caller, &id).await?;
            Ok(Reply::no_content())
        }
        ("clusters", "{id}/", _) => Ok(Reply::ok(clusters::update(services, &caller, &id, &body).await?)),
        ("clusters", "bulk_delete/", _) => Ok(Reply::ok(clusters::bulk_delete(services, &caller, &body).await?)),
        ("clusters", "auto_generate_ideas/", _) => {
            Ok(Reply::job(&clusters::auto_generate_ideas(services, &caller, &body).await?))
        }
        ("ideas", "", "GET") => ctx.page(ideas::list(services, &caller, ctx.query()).await?),
        ("ideas", "", _) => Ok(Reply::created(ideas::create(services, &caller, &body).await?)),
        ("ideas", "{id}/", "GET") => Ok(Reply::ok(scope::visible::<Idea>(services, &caller, &id).await?.to_json())),
        ("ideas", "{id}/", "DELETE") => {
            ideas::delete(services, &caller, &id).await?;
            Ok(Reply::no_content())
        }
        ("ideas", "{id}/", _) => Ok(Reply::ok(ideas::update(services, &caller, &id, &body).await?)),
        ("ideas", "bulk_delete/", _) => Ok(Reply::ok(ideas::bulk_delete(services, &caller, &body).await?)),
        _ => Ok(Reply::ok(ideas::bulk_queue_to_writer(services, &caller, &body).await?)
            .with_message("Queued to the writer")),
    }
}
