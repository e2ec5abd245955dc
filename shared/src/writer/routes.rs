//! `/api/v1/writer/`: the writer's routes and their part of the OpenAPI document. The sector
//! collections' five routes are declared by [`crate::sector_crud`]; every other handler is the
//! domain function itself, in [`super::tasks`], [`super::content`], [`super::images`] and
//! [`super::taxonomies`].

use super::{Content, ContentAnswer, ImageAnswer, ImageRecord, Task, TaskAnswer, content, images, tasks, taxonomies};
use crate::http::Module;
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

crate::module_routes! {
    [task::list, task::create],
    [task::get, task::update, task::delete],
    [tasks::bulk_delete],
    [tasks::bulk_update],
    [tasks::auto_generate_content],
    [content_item::list, content_item::create],
    [content_item::get, content_item::update, content_item::delete],
    [content::generate_image_prompts],
    [image::list, image::create],
    [image::get, image::update, image::delete],
    [images::content_images],
    [images::generate_images],
    [images::auto_generate],
    [images::bulk_update],
    [images::file],
    [taxonomies::list, taxonomies::create],
    [taxonomies::get, taxonomies::update, taxonomies::delete],
}

/// The writer function's part of the API.
pub const MODULE: Module = Module {
    tag: "writer",
    description: "Writer tasks, AI content, images and the sites' categories and tags.",
    switch: Some("writer"),
    routes,
    serve,
};
