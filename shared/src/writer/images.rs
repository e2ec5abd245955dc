//! `/api/v1/writer/images/`: image records (prompt, type, position, status, S3 file), their files
//! through short-lived presigned URLs, and image generation jobs on the image queue.

use std::collections::HashMap;

use serde_json::Value;
use time::OffsetDateTime;

use super::ai::{GenerateImages, ImagesInput};
use super::{Content, IMAGE_PREFIX, ImageRecord, Task};
use crate::access::Caller;
use crate::http::openapi::{Data, Queued};
use crate::http::{self, AppState, Ctx, JsonBody, Reply};
use crate::jobs::JobQueued;
use crate::records::counts::{self, Step};
use crate::records::listing::{ListSpec, Match};
use crate::records::scope::Updated;
use crate::records::{SectorRecord, find, in_sector, scope};
use crate::store::{Change, Condition, Write, s};
use crate::throttle::scopes::{ImageGen, Writer};
use crate::validation::FieldErrors;
use crate::validation::choice;
use crate::validation::input::{Bounded, Choice, Custom, Id, Ids, Integer, Json};
use crate::{ApiError, Services, ids};
use axum::extract::{Path, State};

pub const TYPES: &[&str] = &["featured", "desktop", "mobile", "in_article"];
pub const STATUSES: &[&str] = &["pending", "generated", "failed", "published"];

/// A status as a client sends it: one of [`STATUSES`], or `completed` (the original's examples)
/// for `generated`.
fn status(value: &serde_json::Value) -> Result<String, String> {
    if value.as_str() == Some("completed") { Ok("generated".to_owned()) } else { choice(STATUSES)(value) }
}
/// How long a file URL stays valid.
pub const URL_TTL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

pub const LIST: ListSpec = ListSpec {
    filters: &[
        ("image_type", "image_type", Match::Eq),
        ("status", "status", Match::Eq),
        ("content_id", "content_id", Match::Eq),
        ("task_id", "task_id", Match::Eq),
    ],
    search: &["prompt"],
    orderings: &[("created_at", "created_at"), ("position", "position"), ("id", "id")],
    default_ordering: "-created_at",
};

/// The list's page source: the `records` the caller may see, filtered and ordered.
pub async fn list(
    services: &Services,
    records: Vec<ImageRecord>,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    scope::listed(services, records, query, &LIST).await
}

/// An image's status, or the original's `completed` (stored as `generated`).
pub const STATUS: Custom<String> = Custom(status, status_schema);

fn status_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let names = STATUSES.iter().copied().chain(["completed"]);
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(names)).into()
}

crate::input! {
    /// An image of a content or a task, in one sector.
    pub struct NewImage, changes ImageChanges {
        /// The sector's site (optional; it must be the sector's).
        site_id: optional String = Id,
        /// The sector (only read when the image is created).
        sector_id: required String = Id,
        /// A content of the same sector.
        content_id: optional String = Id,
        /// A task of the same sector.
        task_id: optional String = Id,
        image_type: required String = Choice(TYPES),
        prompt: optional String = Bounded(2000),
        position: optional i64 = Integer(0, 100),
        status: optional String = STATUS,
        /// Set by image generation: may not be sent.
        s3_key: nullable Value = Json,
    }
}

async fn apply(
    services: &Services,
    caller: &Caller,
    errors: &mut FieldErrors,
    image: &mut ImageRecord,
    input: ImageChanges,
) -> Result<(), ApiError> {
    image.image_type = input.image_type.unwrap_or(std::mem::take(&mut image.image_type));
    image.prompt = input.prompt.unwrap_or(std::mem::take(&mut image.prompt));
    if let Some(position) = input.position {
        image.position = position as u32;
    }
    image.status = input.status.unwrap_or(std::mem::take(&mut image.status));
    if input.s3_key.is_some() {
        errors.add("s3_key", "The file is set by image generation.");
    }
    if let Some(content_id) = input.content_id {
        match find::<Content>(services, caller.account_id(), &content_id).await? {
            Some(c) if c.sector_id == image.sector_id => {
                image.content_id = Some(c.id);
                image.task_id = image.task_id.take().or(c.task_id);
            }
            _ => errors.add("content_id", format!("Invalid pk \"{content_id}\" - object does not exist.")),
        }
    }
    if let Some(task_id) = input.task_id {
        match find::<Task>(services, caller.account_id(), &task_id).await? {
            Some(t) if t.sector_id == image.sector_id => image.task_id = Some(t.id),
            _ => errors.add("task_id", format!("Invalid pk \"{task_id}\" - object does not exist.")),
        }
    }
    Ok(())
}

/// `POST images/`.
pub async fn create(services: &Services, caller: &Caller, input: NewImage) -> Result<Value, ApiError> {
    let mut errors = FieldErrors::new();
    let sector =
        scope::target_sector(services, caller, input.site_id.as_deref(), &input.sector_id, &mut errors).await?;
    let mut image = ImageRecord {
        id: ids::new_id(),
        account_id: caller.account_id().to_owned(),
        site_id: sector.as_ref().map(|s| s.site_id.clone()).unwrap_or_default(),
        sector_id: sector.as_ref().map(|s| s.id.clone()).unwrap_or_default(),
        content_id: None,
        task_id: None,
        image_type: String::new(),
        prompt: String::new(),
        position: 0,
        status: "pending".into(),
        s3_key: None,
        created_at: OffsetDateTime::now_utc(),
    };
    let mut input: ImageChanges = input.into();
    if sector.is_none() {
        (input.content_id, input.task_id) = (None, None);
    }
    apply(services, caller, &mut errors, &mut image, input).await?;
    errors.finish()?;
    let step = Step::created(&image, vec![Write::Put(image.item()?, Some(Condition::not_exists()))]);
    let done = counts::commit(services.store().await, &[step], |_| Vec::new()).await?;
    if done.done.is_empty() {
        return Err(ApiError::not_found());
    }
    Ok(image.to_json())
}

/// `PUT`/`PATCH images/{id}/`.
pub async fn update(
    services: &Services,
    caller: &Caller,
    before: ImageRecord,
    input: ImageChanges,
) -> Result<Value, ApiError> {
    let mut errors = FieldErrors::new();
    let mut after = before.clone();
    apply(services, caller, &mut errors, &mut after, input).await?;
    errors.finish()?;
    // The worker may set the file and the status meanwhile: only these fields are written, the
    // status only with its counts.
    // Its place under its content (GSI2) follows its `content_id`.
    let (set, content_index) = match after.content_id.as_deref() {
        Some(content) => (
            "SET image_type = :t, prompt = :p, #position = :pos, content_id = :c, task_id = :k, GSI2PK = :g2pk, GSI2SK = :g2sk",
            Some(super::content_images_gsi2(&after.account_id, content, &after.id)),
        ),
        None => (
            "SET image_type = :t, prompt = :p, #position = :pos, content_id = :c, task_id = :k REMOVE GSI2PK, GSI2SK",
            None,
        ),
    };
    let mut change = Change::new(before.key(), set);
    if let Some((pk, sk)) = content_index {
        change = change.value(":g2pk", s(pk)).value(":g2sk", s(sk));
    }
    let change = change
        .name("#position", "position")
        .value(":t", s(&after.image_type))
        .value(":p", s(&after.prompt))
        .value(":pos", crate::store::n(after.position))
        .value(":c", after.content_id.as_deref().map_or_else(crate::store::null, s))
        .value(":k", after.task_id.as_deref().map_or_else(crate::store::null, s));
    let store = services.store().await;
    if after.status == before.status {
        let item = store.update(change.condition(Condition::exists())).await.map_err(|e| e.gone_is_not_found())?;
        return Ok(crate::store::decode::<ImageRecord>(item)?.to_json());
    }
    // A new status moves the sector's counts: written together, then read back.
    let done = counts::commit(store, &[Step::status(&before, &after.status, Some(change))], |_| Vec::new()).await?;
    if !done.sector_gone.is_empty() {
        return Err(ApiError::not_found());
    }
    if !done.refused.is_empty() {
        return Err(ApiError::Conflict("The image was changed meanwhile; reload it and try again.".into()));
    }
    let image: ImageRecord = store.get(&before.key()).await?.ok_or_else(ApiError::not_found)?;
    Ok(image.to_json())
}

/// `DELETE images/{id}/`: the record and its file.
pub async fn delete(services: &Services, caller: &Caller, image_id: &str) -> Result<(), ApiError> {
    let image = scope::writable::<ImageRecord>(services, caller, image_id).await?;
    super::removal::remove_images(services, &[image]).await.map(|_| ())
}

/// A short-lived link to an image's file.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ImageFile {
    pub id: String,
    /// A presigned URL of the file.
    pub image_url: String,
    /// Seconds the URL stays valid.
    pub expires_in: u64,
}

/// A short-lived link to an image's file, only for an image the caller may see.
#[utoipa::path(get, path = "/api/v1/writer/images/{id}/file/", operation_id = "image_file",
    responses((status = 200, description = "The link", body = Data<ImageFile>)))]
pub async fn file(
    State(services): State<AppState>,
    caller: http::Caller<Writer>,
    Path(image_id): Path<String>,
) -> Result<Reply, ApiError> {
    let image = scope::visible::<ImageRecord>(&services, &caller, &image_id).await?;
    let key = image.s3_key.as_deref().ok_or_else(|| ApiError::NotFound("This image has no file yet.".into()))?;
    // The key is the system's own, under the account's prefix; refuse anything else.
    if !key.starts_with(&format!("accounts/{}/", caller.account_id())) {
        return Err(ApiError::not_found());
    }
    let image_url = super::presigned_url(&services, key, URL_TTL).await?;
    Reply::data(&ImageFile { id: image.id, image_url, expires_in: URL_TTL.as_secs() })
}

/// The images of one content.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ContentImages {
    pub content_id: String,
    /// By position.
    #[schema(value_type = Vec<super::ImageAnswer>)]
    pub images: Vec<Value>,
}

/// `?content_id=`: the content whose images to answer.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OfContent {
    /// Required.
    #[allow(dead_code)]
    content_id: String,
}

/// The content's images (and its task's), by position.
#[utoipa::path(get, path = "/api/v1/writer/images/content_images/", params(OfContent),
    responses((status = 200, description = "The content's images", body = Data<ContentImages>)))]
pub async fn content_images(
    State(services): State<AppState>,
    caller: http::Caller<Writer>,
    ctx: Ctx,
) -> Result<Reply, ApiError> {
    let content_id = ctx.query().get("content_id").map(|c| c.trim()).filter(|c| !c.is_empty());
    let content_id = content_id.ok_or_else(|| ApiError::field("content_id", "This query parameter is required."))?;
    let content = scope::visible::<Content>(&services, &caller, content_id).await?;
    let mut images: Vec<ImageRecord> =
        in_sector::<ImageRecord>(&services, &content.account_id, &content.sector_id, IMAGE_PREFIX)
            .await?
            .into_iter()
            .filter(|i| {
                i.content_id.as_deref() == Some(&content.id)
                    || (i.content_id.is_none() && content.task_id.is_some() && i.task_id == content.task_id)
            })
            .collect();
    images.sort_by(|a, b| a.position.cmp(&b.position).then_with(|| a.id.cmp(&b.id)));
    Reply::data(&ContentImages { content_id: content.id, images: images.iter().map(ImageRecord::to_json).collect() })
}

/// The images of a content the caller may change.
async fn images_of_content(
    services: &Services,
    caller: &Caller,
    content_id: &str,
) -> Result<Vec<ImageRecord>, ApiError> {
    let content = scope::writable::<Content>(services, caller, content_id).await?;
    super::content_images(services, &content.account_id, &content.id).await
}

async fn submit(services: &Services, caller: &Caller, images: &[ImageRecord]) -> Result<Reply, ApiError> {
    let first = scope::one_sector(images)?;
    let image_ids: Vec<String> = images.iter().map(|i| i.id.clone()).collect();
    let description = format!("{} images", image_ids.len());
    let input = ImagesInput { site_id: first.site_id.clone(), sector_id: first.sector_id.clone(), image_ids };
    Ok(Reply::job(&crate::ai::plugin::start(services, caller, &GenerateImages, input, &description).await?))
}

crate::input! {
    /// The images to generate: by id, or every image of a content not generated yet.
    pub struct ToGenerate {
        /// The images (at most 50).
        ids: optional Vec<String> = Ids(super::tasks::GENERATE_MAX),
        /// A content whose waiting images to generate (when `ids` is not sent).
        content_id: optional String = Id,
    }
}

/// Generates the images named by `ids`, or the waiting images of `content_id` (a job).
#[utoipa::path(post, path = "/api/v1/writer/images/generate_images/", request_body = ToGenerate,
    responses((status = 200, description = "The job", body = Queued<JobQueued>)))]
pub async fn generate_images(
    State(services): State<AppState>,
    caller: http::Caller<ImageGen>,
    JsonBody(ToGenerate { ids, content_id }): JsonBody<ToGenerate>,
) -> Result<Reply, ApiError> {
    let images = match (ids, content_id) {
        (Some(ids), _) => scope::writable_many::<ImageRecord>(&services, &caller, "ids", &ids, None).await?,
        (None, Some(content_id)) => {
            let mut images = images_of_content(&services, &caller, &content_id).await?;
            images.retain(|i| i.status != "generated");
            images
        }
        (None, None) => return Err(ApiError::field("ids", NAME_THE_IMAGES)),
    };
    if images.is_empty() {
        return Err(ApiError::field("content_id", "This content has no images waiting; generate image prompts first."));
    }
    submit(&services, &caller, &images).await
}

const NAME_THE_IMAGES: &str = "Name the images (ids) or their content (content_id).";

crate::input! {
    /// Tasks whose waiting images to generate (the original's action).
    pub struct TasksImages {
        /// The tasks (at most 10).
        ids: required Vec<String> = Ids(10),
    }
}

/// Generates every waiting image of the tasks named by `ids` and of their content (a job).
#[utoipa::path(post, path = "/api/v1/writer/images/auto_generate/", operation_id = "auto_generate_images", request_body = TasksImages,
    responses((status = 200, description = "The job", body = Queued<JobQueued>)))]
pub async fn auto_generate(
    State(services): State<AppState>,
    caller: http::Caller<ImageGen>,
    JsonBody(TasksImages { ids }): JsonBody<TasksImages>,
) -> Result<Reply, ApiError> {
    let tasks = scope::writable_many::<Task>(&services, &caller, "ids", &ids, None).await?;
    let first = scope::one_sector(&tasks)?;
    let images: Vec<ImageRecord> =
        in_sector::<ImageRecord>(&services, &first.account_id, &first.sector_id, IMAGE_PREFIX)
            .await?
            .into_iter()
            .filter(|i| {
                i.status != "generated"
                    && tasks.iter().any(|t| {
                        i.task_id.as_deref() == Some(&t.id) || (t.content_id.is_some() && i.content_id == t.content_id)
                    })
            })
            .collect();
    if images.is_empty() {
        return Err(ApiError::field("ids", "These tasks have no images waiting; generate image prompts first."));
    }
    submit(&services, &caller, &images).await
}

crate::input! {
    /// Images (by id, or every image of a content) and the status they all take.
    pub struct ImageStatusChange {
        /// The images (at most 1,000).
        ids: optional Vec<String> = Ids(scope::BULK_MAX),
        /// A content whose images to update (when `ids` is not sent).
        content_id: optional String = Id,
        status: required String = STATUS,
    }
}

/// Sets the status of the images named by `ids`, or of a content's images.
#[utoipa::path(post, path = "/api/v1/writer/images/bulk_update/", operation_id = "bulk_update_images", request_body = ImageStatusChange,
    responses((status = 200, description = "How many were updated", body = Data<Updated>)))]
pub async fn bulk_update(
    State(services): State<AppState>,
    caller: http::Caller<Writer>,
    JsonBody(ImageStatusChange { ids, content_id, status }): JsonBody<ImageStatusChange>,
) -> Result<Reply, ApiError> {
    let images = match (ids, content_id) {
        (Some(ids), _) => scope::writable_many::<ImageRecord>(&services, &caller, "ids", &ids, None).await?,
        (None, Some(content_id)) => images_of_content(&services, &caller, &content_id).await?,
        (None, None) => return Err(ApiError::field("ids", NAME_THE_IMAGES)),
    };
    let steps: Vec<Step> = images.iter().map(|i| Step::status(i, &status, None)).collect();
    let done = counts::commit(services.store().await, &steps, |_| Vec::new()).await?;
    Reply::data(&Updated { updated_count: done.done.len() })
}
