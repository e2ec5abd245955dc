//! Deleting writer records with what belongs to them, and nothing else: a task takes its content
//! and images, a content its images, an image its S3 object. Objects go first, then the records,
//! so that a delete cut short can simply be repeated (a record never outlives nothing, an object
//! is never left without its record to find it by).

use super::{Content, IMAGE_PREFIX, ImageRecord, Task};
use crate::records::counts::{self, Step};
use crate::records::{SectorRecord, in_sector};
use crate::store::{Change, Condition, Write};
use crate::{ApiError, Services};

async fn delete_objects(services: &Services, images: &[ImageRecord]) -> Result<(), ApiError> {
    let Some(bucket) = services.config.images_bucket.clone() else {
        return Ok(());
    };
    let s3 = services.s3().await;
    for key in images.iter().filter_map(|i| i.s3_key.as_deref()) {
        // Deleting a missing object succeeds: a repeated delete is fine.
        s3.delete_object()
            .bucket(&bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| ApiError::internal(aws_sdk_s3::error::DisplayErrorContext(e)))?;
    }
    Ok(())
}

/// The step that deletes `record` with its sector's count, as read (a record already gone, or
/// whose status moved meanwhile, is left).
fn deletion<T: SectorRecord>(record: &T, mut also: Vec<Write>) -> Step {
    let as_read = Condition::new("attribute_exists(PK) AND #status = :status")
        .name("#status", "status")
        .value(":status", crate::store::s(record.status()));
    let mut writes = vec![Write::Delete(record.key(), Some(as_read))];
    writes.append(&mut also);
    Step::deleted(record, writes)
}

/// Deletes image records and their files.
pub async fn remove_images(services: &Services, images: &[ImageRecord]) -> Result<usize, ApiError> {
    delete_objects(services, images).await?;
    let steps: Vec<Step> = images.iter().map(|i| deletion(i, Vec::new())).collect();
    counts::commit(services.store().await, &steps, |_| Vec::new()).await?;
    Ok(images.len())
}

async fn images_where(
    services: &Services,
    account_id: &str,
    sector_id: &str,
    keep: impl Fn(&ImageRecord) -> bool,
) -> Result<Vec<ImageRecord>, ApiError> {
    Ok(in_sector::<ImageRecord>(services, account_id, sector_id, IMAGE_PREFIX)
        .await?
        .into_iter()
        .filter(keep)
        .collect())
}

/// Deletes a content with its images; its task forgets it.
pub async fn remove_content(services: &Services, content: &Content) -> Result<(), ApiError> {
    let images = images_where(services, &content.account_id, &content.sector_id, |i| {
        i.content_id.as_deref() == Some(&content.id)
    })
    .await?;
    remove_images(services, &images).await?;
    let mut writes = Vec::new();
    if let Some(task_id) = &content.task_id {
        let key = crate::planner::record_key::<Task>(&content.account_id, task_id);
        let unlink = Change::new(key, "REMOVE content_id").condition(
            Condition::new("attribute_exists(PK) AND content_id = :content")
                .value(":content", crate::store::s(&content.id)),
        );
        writes.push(Write::Update(unlink));
    }
    let store = services.store().await;
    let unlinking = !writes.is_empty();
    let done = counts::commit(store, &[deletion(content, writes)], |_| Vec::new()).await?;
    if unlinking && !done.refused.is_empty() {
        // The task is gone or points elsewhere: delete the content alone.
        counts::commit(store, &[deletion(content, Vec::new())], |_| Vec::new()).await?;
    }
    Ok(())
}

/// Deletes a task with its content and their images.
pub async fn remove_task(services: &Services, task: &Task) -> Result<(), ApiError> {
    let contents: Vec<Content> =
        in_sector::<Content>(services, &task.account_id, &task.sector_id, super::CONTENT_PREFIX)
            .await?
            .into_iter()
            .filter(|c| c.task_id.as_deref() == Some(&task.id) || task.content_id.as_deref() == Some(&c.id))
            .collect();
    for content in &contents {
        remove_content(services, content).await?;
    }
    let images =
        images_where(services, &task.account_id, &task.sector_id, |i| i.task_id.as_deref() == Some(&task.id)).await?;
    remove_images(services, &images).await?;
    counts::commit(services.store().await, &[deletion(task, Vec::new())], |_| Vec::new()).await?;
    Ok(())
}

/// The writer's part of a sector's purge ([`crate::purge::PurgeHook`]): the files of the image
/// records among `items`, deleted before the records are.
pub fn purge_files<'a>(
    services: &'a Services,
    items: &'a [crate::store::RawItem],
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ApiError>> + Send + 'a>> {
    Box::pin(async move {
        let images = items
            .iter()
            .filter(|item| matches!(item.get(crate::store::keys::ENTITY), Some(aws_sdk_dynamodb::types::AttributeValue::S(e)) if e == ImageRecord::ENTITY))
            .map(|item| crate::store::decode::<ImageRecord>(item.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        delete_objects(services, &images).await
    })
}
