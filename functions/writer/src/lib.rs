//! `/api/v1/writer/`: tasks, content, images and taxonomies. A thin adapter from HTTP to the
//! domain crate's writer module.

use igny8_domain::http::{Reply, RequestCtx};
use igny8_domain::planner::{SectorRecord, scope};
use igny8_domain::writer::{Content, ImageRecord, Task, content, images, tasks, taxonomies};
use igny8_domain::{ApiError, Services};
use lambda_http::{Body, Request, Response};

pub const PREFIX: &str = "/api/v1/writer/";

const ROUTES: &[&str] = &[
    "tasks/bulk_delete/",
    "tasks/bulk_update/",
    "tasks/auto_generate_content/",
    "tasks/{id}/",
    "tasks/",
    "content/generate_image_prompts/",
    "content/{id}/",
    "content/",
    "images/content_images/",
    "images/generate_images/",
    "images/auto_generate/",
    "images/bulk_update/",
    "images/{id}/file/",
    "images/{id}/",
    "images/",
    "taxonomies/{id}/",
    "taxonomies/",
];

fn methods(pattern: &str) -> &'static [&'static str] {
    match pattern {
        "tasks/" | "content/" | "images/" | "taxonomies/" => &["GET", "POST"],
        "tasks/{id}/" | "content/{id}/" | "images/{id}/" | "taxonomies/{id}/" => &["GET", "PUT", "PATCH", "DELETE"],
        "images/{id}/file/" | "images/content_images/" => &["GET"],
        _ => &["POST"],
    }
}

fn scope_of(pattern: &str) -> &'static str {
    match pattern {
        "tasks/auto_generate_content/" | "content/generate_image_prompts/" => "writer_ai",
        "images/generate_images/" | "images/auto_generate/" => "image_gen",
        _ => "writer",
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
    let deleted = || Ok(Reply::no_content());
    match (kind, action, method.as_str()) {
        ("tasks", "", "GET") => ctx.page(tasks::list(services, &caller, ctx.query()).await?),
        ("tasks", "", _) => Ok(Reply::created(tasks::create(services, &caller, &body).await?)),
        ("tasks", "{id}/", "GET") => Ok(Reply::ok(scope::visible::<Task>(services, &caller, &id).await?.to_json())),
        ("tasks", "{id}/", "DELETE") => tasks::delete(services, &caller, &id).await.and_then(|()| deleted()),
        ("tasks", "{id}/", _) => Ok(Reply::ok(tasks::update(services, &caller, &id, &body).await?)),
        ("tasks", "bulk_delete/", _) => Ok(Reply::ok(tasks::bulk_delete(services, &caller, &body).await?)),
        ("tasks", "bulk_update/", _) => Ok(Reply::ok(tasks::bulk_update(services, &caller, &body).await?)),
        ("tasks", "auto_generate_content/", _) => {
            Ok(Reply::job(&tasks::auto_generate_content(services, &caller, &body).await?))
        }
        ("content", "", "GET") => ctx.page(content::list(services, &caller, ctx.query()).await?),
        ("content", "", _) => Ok(Reply::created(content::create(services, &caller, &body).await?)),
        ("content", "{id}/", "GET") => {
            Ok(Reply::ok(scope::visible::<Content>(services, &caller, &id).await?.to_json()))
        }
        ("content", "{id}/", "DELETE") => content::delete(services, &caller, &id).await.and_then(|()| deleted()),
        ("content", "{id}/", _) => Ok(Reply::ok(content::update(services, &caller, &id, &body).await?)),
        ("content", "generate_image_prompts/", _) => {
            Ok(Reply::job(&content::generate_image_prompts(services, &caller, &body).await?))
        }
        ("images", "", "GET") => ctx.page(images::list(services, &caller, ctx.query()).await?),
        ("images", "", _) => Ok(Reply::created(images::create(services, &caller, &body).await?)),
        ("images", "{id}/", "GET") => {
            Ok(Reply::ok(scope::visible::<ImageRecord>(services, &caller, &id).await?.to_json()))
        }
        ("images", "{id}/", "DELETE") => images::delete(services, &caller, &id).await.and_then(|()| deleted()),
        ("images", "{id}/", _) => Ok(Reply::ok(images::update(services, &caller, &id, &body).await?)),
        ("images", "{id}/file/", _) => Ok(Reply::ok(images::file(services, &caller, &id).await?)),
        ("images", "content_images/", _) => {
            Ok(Reply::ok(images::content_images(services, &caller, ctx.query()).await?))
        }
        ("images", "generate_images/", _) => Ok(Reply::job(&images::generate_images(services, &caller, &body).await?)),
        ("images", "auto_generate/", _) => Ok(Reply::job(&images::auto_generate(services, &caller, &body).await?)),
        ("images", "bulk_update/", _) => Ok(Reply::ok(images::bulk_update(services, &caller, &body).await?)),
        ("taxonomies", "", "GET") => ctx.page(taxonomies::list(services, &caller, ctx.query()).await?),
        ("taxonomies", "", _) => Ok(Reply::created(taxonomies::create(services, &caller, &body).await?)),
        ("taxonomies", "{id}/", "GET") => Ok(Reply::ok(taxonomies::visible(services, &caller, &id).await?.to_json())),
        ("taxonomies", "{id}/", "DELETE") => taxonomies::delete(services, &caller, &id).await.and_then(|()| deleted()),
        _ => Ok(Reply::ok(taxonomies::update(services, &caller, &id, &body).await?)),
    }
}
