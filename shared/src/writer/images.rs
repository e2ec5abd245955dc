//! `/api/v1/writer/images/`: image records (prompt, type, position, status, S3 file), their files
//! through short-lived presigned URLs, and image generation jobs on the image queue.

use std::collections::HashMap;

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{Content, IMAGE_PREFIX, ImageRecord, Task};
use crate::access::Caller;
use crate::jobs::{self, AiFunction, Job};
use crate::planner::listing::{ListSpec, Match};
use crate::planner::{SectorRecord, find, in_sector, scope};
use crate::store::{Change, Condition, Write, s};
use crate::validation::{Fields, bounded, choice, id, id_list, integer};
use crate::{ApiError, Services, ids};

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

pub async fn list(
    services: &Services,
    caller: &Caller,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    scope::listed::<ImageRecord>(services, caller, query, &LIST).await
}

/// The content or task an image belongs to must be in the image's sector.
async fn owner_fields(
    services: &Services,
    caller: &Caller,
    f: &mut Fields,
    image: &mut ImageRecord,
) -> Result<(), ApiError> {
    if let Some(content_id) = f.optional("content_id", id) {
        match find::<Content>(services, caller.account_id(), &content_id).await? {
            Some(c) if c.sector_id == image.sector_id => {
                image.content_id = Some(c.id);
                image.task_id = image.task_id.take().or(c.task_id);
            }
            _ => f.error("content_id", format!("Invalid pk \"{content_id}\" - object does not exist.")),
        }
    }
    if let Some(task_id) = f.optional("task_id", id) {
        match find::<Task>(services, caller.account_id(), &task_id).await? {
            Some(t) if t.sector_id == image.sector_id => image.task_id = Some(t.id),
            _ => f.error("task_id", format!("Invalid pk \"{task_id}\" - object does not exist.")),
        }
    }
    Ok(())
}

fn editable_fields(f: &mut Fields, image: &mut ImageRecord, creating: bool) {
    if let Some(t) = f.field(creating, "image_type", choice(TYPES)) {
        image.image_type = t;
    }
    if let Some(prompt) = f.optional("prompt", bounded(2000)) {
        image.prompt = prompt;
    }
    if let Some(position) = f.optional("position", integer(0, 100)) {
        image.position = position as u32;
    }
    if let Some(status) = f.optional("status", status) {
        image.status = status;
    }
    if f.sent("s3_key") {
        f.error("s3_key", "The file is set by image generation.");
    }
}

/// `POST images/`.
pub async fn create(services: &Services, caller: &Caller, body: &[u8]) -> Result<Value, ApiError> {
    let mut f = Fields::parse(body)?;
    let sector = scope::target_sector(services, caller, &mut f).await?;
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
    editable_fields(&mut f, &mut image, true);
    if sector.is_some() {
        owner_fields(services, caller, &mut f, &mut image).await?;
    }
    f.finish()?;
    services.store().await.put(image.item()?, Some(Condition::not_exists())).await?;
    Ok(image.to_json())
}

/// `PUT`/`PATCH images/{id}/`.
pub async fn update(services: &Services, caller: &Caller, image_id: &str, body: &[u8]) -> Result<Value, ApiError> {
    let before = scope::writable::<ImageRecord>(services, caller, image_id).await?;
    let mut f = Fields::parse(body)?;
    let mut after = before.clone();
    editable_fields(&mut f, &mut after, false);
    owner_fields(services, caller, &mut f, &mut after).await?;
    f.finish()?;
    // The worker may set the file meanwhile: only these fields are written.
    let change = Change::new(
        before.key(),
        "SET image_type = :t, prompt = :p, #position = :pos, #status = :st, content_id = :c, task_id = :k",
    )
    .name("#position", "position")
    .name("#status", "status")
    .value(":t", s(&after.image_type))
    .value(":p", s(&after.prompt))
    .value(":pos", crate::store::n(after.position))
    .value(":st", s(&after.status))
    .value(":c", after.content_id.as_deref().map_or_else(crate::store::null, s))
    .value(":k", after.task_id.as_deref().map_or_else(crate::store::null, s))
    .condition(Condition::exists());
    let item = services.store().await.update(change).await.map_err(|e| e.gone_is_not_found())?;
    Ok(crate::store::decode::<ImageRecord>(item)?.to_json())
}

/// `DELETE images/{id}/`: the record and its file.
pub async fn delete(services: &Services, caller: &Caller, image_id: &str) -> Result<(), ApiError> {
    let image = scope::writable::<ImageRecord>(services, caller, image_id).await?;
    super::removal::remove_images(services, &[image]).await.map(|_| ())
}

/// `GET images/{id}/file/`: a short-lived URL of the image's file, only for an image the caller
/// may see.
pub async fn file(services: &Services, caller: &Caller, image_id: &str) -> Result<Value, ApiError> {
    let image = scope::visible::<ImageRecord>(services, caller, image_id).await?;
    let key = image.s3_key.as_deref().ok_or_else(|| ApiError::NotFound("This image has no file yet.".into()))?;
    // The key is the system's own, under the account's prefix; refuse anything else.
    if !key.starts_with(&format!("accounts/{}/", caller.account_id())) {
        return Err(ApiError::not_found());
    }
    let url = super::presigned_url(services, key, URL_TTL).await?;
    Ok(json!({"id": image.id, "image_url": url, "expires_in": URL_TTL.as_secs()}))
}

/// `GET images/content_images/?content_id=`: the content's images (and its task's), by position.
pub async fn content_images(
    services: &Services,
    caller: &Caller,
    query: &HashMap<String, String>,
) -> Result<Value, ApiError> {
    let content_id = query.get("content_id").map(|c| c.trim()).filter(|c| !c.is_empty());
    let content_id = content_id.ok_or_else(|| ApiError::field("content_id", "This query parameter is required."))?;
    let content = scope::visible::<Content>(services, caller, content_id).await?;
    let mut images: Vec<ImageRecord> =
        in_sector::<ImageRecord>(services, &content.account_id, &content.sector_id, IMAGE_PREFIX)
            .await?
            .into_iter()
            .filter(|i| {
                i.content_id.as_deref() == Some(&content.id)
                    || (i.content_id.is_none() && content.task_id.is_some() && i.task_id == content.task_id)
            })
            .collect();
    images.sort_by(|a, b| a.position.cmp(&b.position).then_with(|| a.id.cmp(&b.id)));
    Ok(json!({"content_id": content.id, "images": images.iter().map(ImageRecord::to_json).collect::<Vec<_>>()}))
}

/// The images of a content the caller may change.
async fn images_of_content(
    services: &Services,
    caller: &Caller,
    content_id: &str,
) -> Result<Vec<ImageRecord>, ApiError> {
    let content = scope::writable::<Content>(services, caller, content_id).await?;
    Ok(in_sector::<ImageRecord>(services, &content.account_id, &content.sector_id, IMAGE_PREFIX)
        .await?
        .into_iter()
        .filter(|i| i.content_id.as_deref() == Some(&content.id))
        .collect())
}

async fn submit(services: &Services, caller: &Caller, images: &[ImageRecord]) -> Result<Job, ApiError> {
    let first = scope::one_sector(images)?;
    let ids: Vec<&str> = images.iter().map(|i| i.id.as_str()).collect();
    let input = json!({"site_id": first.site_id, "sector_id": first.sector_id, "image_ids": ids});
    jobs::start(services, caller, AiFunction::GenerateImages, input, &format!("{} images", ids.len())).await
}

/// `POST images/generate_images/` `{ids}` or `{content_id}` (its images not generated yet).
pub async fn generate_images(services: &Services, caller: &Caller, body: &[u8]) -> Result<Job, ApiError> {
    let mut f = Fields::parse(body)?;
    let ids = f.optional("ids", id_list(super::tasks::GENERATE_MAX));
    let content_id = f.optional("content_id", id);
    if ids.is_none() && content_id.is_none() {
        f.error("ids", "Name the images (ids) or their content (content_id).");
    }
    f.finish()?;
    let images = match (ids, content_id) {
        (Some(ids), _) => scope::writable_many::<ImageRecord>(services, caller, "ids", &ids, None).await?,
        (None, Some(content_id)) => {
            let mut images = images_of_content(services, caller, &content_id).await?;
            images.retain(|i| i.status != "generated");
            images
        }
        (None, None) => Vec::new(),
    };
    if images.is_empty() {
        return Err(ApiError::field("content_id", "This content has no images waiting; generate image prompts first."));
    }
    submit(services, caller, &images).await
}

/// `POST images/auto_generate/` `{ids}` (task ids, the legacy action): the waiting images of those
/// tasks and their content, through the same pipeline.
pub async fn auto_generate(services: &Services, caller: &Caller, body: &[u8]) -> Result<Job, ApiError> {
    let mut f = Fields::parse(body)?;
    let ids = f.required("ids", id_list(10));
    f.finish()?;
    let tasks = scope::writable_many::<Task>(services, caller, "ids", &ids.unwrap_or_default(), None).await?;
    let first = scope::one_sector(&tasks)?;
    let images: Vec<ImageRecord> =
        in_sector::<ImageRecord>(services, &first.account_id, &first.sector_id, IMAGE_PREFIX)
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
    submit(services, caller, &images).await
}

/// `POST images/bulk_update/` `{ids | content_id, status}`.
pub async fn bulk_update(services: &Services, caller: &Caller, body: &[u8]) -> Result<Value, ApiError> {
    let mut f = Fields::parse(body)?;
    let ids = f.optional("ids", id_list(crate::planner::keywords::BULK_MAX));
    let content_id = f.optional("content_id", id);
    let status = f.required("status", status);
    if ids.is_none() && content_id.is_none() {
        f.error("ids", "Name the images (ids) or their content (content_id).");
    }
    f.finish()?;
    let status = status.unwrap_or_default();
    let images = match (ids, content_id) {
        (Some(ids), _) => scope::writable_many::<ImageRecord>(services, caller, "ids", &ids, None).await?,
        (None, Some(content_id)) => images_of_content(services, caller, &content_id).await?,
        (None, None) => Vec::new(),
    };
    let store = services.store().await;
    for chunk in images.chunks(100) {
        let writes = chunk
            .iter()
            .map(|i| {
                Write::Update(
                    Change::new(i.key(), "SET #status = :status")
                        .name("#status", "status")
                        .value(":status", s(&status))
                        .condition(Condition::exists()),
                )
            })
            .collect();
        store.transact(writes).await.map_err(|e| e.gone_is_not_found())?;
    }
    Ok(json!({"updated_count": images.len()}))
}
