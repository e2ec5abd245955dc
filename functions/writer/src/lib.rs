//! `/api/v1/writer/`: tasks, content, images and taxonomies. A thin adapter from HTTP to the
//! domain crate's writer module: its routes, and their contract in the OpenAPI document.

use axum::extract::{Path, State};
use igny8_domain::http::openapi::{Data, Paged, Queued};
use igny8_domain::http::{AppState, Caller, Ctx, Module, RawBody, Reply};
use igny8_domain::throttle::scopes::{ImageGen, Writer, WriterAi};
use igny8_domain::writer::{
    Content, ContentAnswer, ImageAnswer, ImageRecord, Task, TaskAnswer, content, images, tasks, taxonomies,
};
use igny8_domain::{ApiError, sector_crud};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

type Answer = Result<Reply, ApiError>;

sector_crud!(
    task,
    list: "/api/v1/writer/tasks/",
    item: "/api/v1/writer/tasks/{id}/",
    record: Task,
    domain: igny8_domain::writer::tasks,
    scope: Writer,
    answer: TaskAnswer,
);
sector_crud!(
    content_item,
    list: "/api/v1/writer/content/",
    item: "/api/v1/writer/content/{id}/",
    record: Content,
    domain: igny8_domain::writer::content,
    scope: Writer,
    answer: ContentAnswer,
);
sector_crud!(
    image,
    list: "/api/v1/writer/images/",
    item: "/api/v1/writer/images/{id}/",
    record: ImageRecord,
    domain: igny8_domain::writer::images,
    scope: Writer,
    answer: ImageAnswer,
);

/// Deletes the tasks named by `ids`.
#[utoipa::path(post, path = "/api/v1/writer/tasks/bulk_delete/", request_body = Value,
    responses((status = 200, description = "How many were deleted", body = Data<Value>)))]
async fn bulk_delete_tasks(State(s): State<AppState>, caller: Caller<Writer>, RawBody(body): RawBody) -> Answer {
    Ok(Reply::ok(tasks::bulk_delete(&s, &caller, &body).await?))
}

/// Sets the status of the tasks named by `ids`.
#[utoipa::path(post, path = "/api/v1/writer/tasks/bulk_update/", request_body = Value,
    responses((status = 200, description = "How many were updated", body = Data<Value>)))]
async fn bulk_update_tasks(State(s): State<AppState>, caller: Caller<Writer>, RawBody(body): RawBody) -> Answer {
    Ok(Reply::ok(tasks::bulk_update(&s, &caller, &body).await?))
}

/// Writes the tasks' content with the AI (a job).
#[utoipa::path(post, path = "/api/v1/writer/tasks/auto_generate_content/", request_body = Value,
    responses((status = 200, description = "The job", body = Queued<Value>)))]
async fn auto_generate_content(State(s): State<AppState>, caller: Caller<WriterAi>, RawBody(body): RawBody) -> Answer {
    Ok(Reply::job(&tasks::auto_generate_content(&s, &caller, &body).await?))
}

/// Writes image prompts for content with the AI (a job).
#[utoipa::path(post, path = "/api/v1/writer/content/generate_image_prompts/", request_body = Value,
    responses((status = 200, description = "The job", body = Queued<Value>)))]
async fn generate_image_prompts(State(s): State<AppState>, caller: Caller<WriterAi>, RawBody(body): RawBody) -> Answer {
    Ok(Reply::job(&content::generate_image_prompts(&s, &caller, &body).await?))
}

/// The images of each content, grouped.
#[utoipa::path(get, path = "/api/v1/writer/images/content_images/",
    responses((status = 200, description = "Images by content", body = Data<Value>)))]
async fn content_images(State(s): State<AppState>, caller: Caller<Writer>, ctx: Ctx) -> Answer {
    Ok(Reply::ok(images::content_images(&s, &caller, ctx.query()).await?))
}

/// Generates the images named by `ids` (a job).
#[utoipa::path(post, path = "/api/v1/writer/images/generate_images/", request_body = Value,
    responses((status = 200, description = "The job", body = Queued<Value>)))]
async fn generate_images(State(s): State<AppState>, caller: Caller<ImageGen>, RawBody(body): RawBody) -> Answer {
    Ok(Reply::job(&images::generate_images(&s, &caller, &body).await?))
}

/// Generates every pending image of the content named (a job).
#[utoipa::path(post, path = "/api/v1/writer/images/auto_generate/", request_body = Value,
    responses((status = 200, description = "The job", body = Queued<Value>)))]
async fn auto_generate_images(State(s): State<AppState>, caller: Caller<ImageGen>, RawBody(body): RawBody) -> Answer {
    Ok(Reply::job(&images::auto_generate(&s, &caller, &body).await?))
}

/// Sets the status of the images named by `ids`.
#[utoipa::path(post, path = "/api/v1/writer/images/bulk_update/", request_body = Value,
    responses((status = 200, description = "How many were updated", body = Data<Value>)))]
async fn bulk_update_images(State(s): State<AppState>, caller: Caller<Writer>, RawBody(body): RawBody) -> Answer {
    Ok(Reply::ok(images::bulk_update(&s, &caller, &body).await?))
}

/// A short-lived link to an image's file.
#[utoipa::path(get, path = "/api/v1/writer/images/{id}/file/",
    responses((status = 200, description = "The link", body = Data<Value>)))]
async fn image_file(State(s): State<AppState>, caller: Caller<Writer>, Path(id): Path<String>) -> Answer {
    Ok(Reply::ok(images::file(&s, &caller, &id).await?))
}

/// The site's categories and tags.
#[utoipa::path(get, path = "/api/v1/writer/taxonomies/",
    responses((status = 200, description = "Taxonomies", body = Paged<Value>)))]
async fn list_taxonomies(State(s): State<AppState>, caller: Caller<Writer>, ctx: Ctx) -> Answer {
    ctx.page(taxonomies::list(&s, &caller, ctx.query()).await?)
}

/// Adds a category or tag to a site.
#[utoipa::path(post, path = "/api/v1/writer/taxonomies/", request_body = Value,
    responses((status = 201, description = "The taxonomy", body = Data<Value>)))]
async fn create_taxonomy(State(s): State<AppState>, caller: Caller<Writer>, RawBody(body): RawBody) -> Answer {
    Ok(Reply::created(taxonomies::create(&s, &caller, &body).await?))
}

/// One taxonomy.
#[utoipa::path(get, path = "/api/v1/writer/taxonomies/{id}/",
    responses((status = 200, description = "The taxonomy", body = Data<Value>)))]
async fn taxonomy(State(s): State<AppState>, caller: Caller<Writer>, Path(id): Path<String>) -> Answer {
    Ok(Reply::ok(taxonomies::visible(&s, &caller, &id).await?.to_json()))
}

/// Changes a taxonomy.
#[utoipa::path(method(put, patch), path = "/api/v1/writer/taxonomies/{id}/", request_body = Value,
    responses((status = 200, description = "The taxonomy", body = Data<Value>)))]
async fn update_taxonomy(
    State(s): State<AppState>,
    caller: Caller<Writer>,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Answer {
    Ok(Reply::ok(taxonomies::update(&s, &caller, &id, &body).await?))
}

/// Deletes a taxonomy.
#[utoipa::path(delete, path = "/api/v1/writer/taxonomies/{id}/", responses((status = 204, description = "Deleted")))]
async fn delete_taxonomy(State(s): State<AppState>, caller: Caller<Writer>, Path(id): Path<String>) -> Answer {
    taxonomies::delete(&s, &caller, &id).await.map(|()| Reply::no_content())
}

/// The writer function's routes and their documentation.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(task::list, task::create))
        .routes(routes!(task::get, task::update, task::delete))
        .routes(routes!(bulk_delete_tasks))
        .routes(routes!(bulk_update_tasks))
        .routes(routes!(auto_generate_content))
        .routes(routes!(content_item::list, content_item::create))
        .routes(routes!(content_item::get, content_item::update, content_item::delete))
        .routes(routes!(generate_image_prompts))
        .routes(routes!(image::list, image::create))
        .routes(routes!(image::get, image::update, image::delete))
        .routes(routes!(content_images))
        .routes(routes!(generate_images))
        .routes(routes!(auto_generate_images))
        .routes(routes!(bulk_update_images))
        .routes(routes!(image_file))
        .routes(routes!(list_taxonomies, create_taxonomy))
        .routes(routes!(taxonomy, update_taxonomy, delete_taxonomy))
}

/// The writer function's part of the API.
pub const MODULE: Module = Module {
    tag: "writer",
    description: "Writer tasks, AI content, images and the sites' categories and tags.",
    routes,
};
