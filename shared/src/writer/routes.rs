//! `/api/v1/writer/`: the writer's routes and their part of the OpenAPI document. The sector
//! collections' five routes are declared by [`crate::sector_crud`]; every other handler is the
//! domain function itself, in [`super::tasks`], [`super::content`], [`super::images`] and
//! [`super::taxonomies`].

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Content, ContentAnswer, ImageAnswer, ImageRecord, Task, TaskAnswer, content, images, tasks, taxonomies};
use crate::http::{AppState, Module};
use crate::sector_crud;
use crate::throttle::scopes::Writer;

sector_crud!(
    task,
    list: "/api/v1/writer/tasks/",
    item: "/api/v1/writer/tasks/{id}/",
    record: Task,
    domain: crate::writer::tasks,
    scope: Writer,
    create: tasks::NewTask,
    update: tasks::TaskChanges,
    answer: TaskAnswer,
);
sector_crud!(
    content_item,
    list: "/api/v1/writer/content/",
    item: "/api/v1/writer/content/{id}/",
    record: Content,
    domain: crate::writer::content,
    scope: Writer,
    create: content::NewContent,
    update: content::ContentChanges,
    answer: ContentAnswer,
);
sector_crud!(
    image,
    list: "/api/v1/writer/images/",
    item: "/api/v1/writer/images/{id}/",
    record: ImageRecord,
    domain: crate::writer::images,
    scope: Writer,
    create: images::NewImage,
    update: images::ImageChanges,
    answer: ImageAnswer,
);

/// The writer's routes and their documentation.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(task::list, task::create))
        .routes(routes!(task::get, task::update, task::delete))
        .routes(routes!(tasks::bulk_delete))
        .routes(routes!(tasks::bulk_update))
        .routes(routes!(tasks::auto_generate_content))
        .routes(routes!(content_item::list, content_item::create))
        .routes(routes!(content_item::get, content_item::update, content_item::delete))
        .routes(routes!(content::generate_image_prompts))
        .routes(routes!(image::list, image::create))
        .routes(routes!(image::get, image::update, image::delete))
        .routes(routes!(images::content_images))
        .routes(routes!(images::generate_images))
        .routes(routes!(images::auto_generate))
        .routes(routes!(images::bulk_update))
        .routes(routes!(images::file))
        .routes(routes!(taxonomies::list, taxonomies::create))
        .routes(routes!(taxonomies::get, taxonomies::update, taxonomies::delete))
}

/// The writer function's part of the API.
pub const MODULE: Module = Module {
    tag: "writer",
    description: "Writer tasks, AI content, images and the sites' categories and tags.",
    routes,
};
