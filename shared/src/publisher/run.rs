//! The publish worker: one message per record ([`super::request::PublishMessage`]); the same
//! queue carries the integration module's syncs ([`crate::integration::sync`]).
//!
//! For a record of the message's request, in this order, so that a failure anywhere loses
//! nothing and a retry makes nothing twice:
//! 1. the record is taken (`publishing`, one more attempt, held for 15 minutes) and, before a
//!    post is first created, the intent is written (`intent_at`);
//! 2. the categories and tags of the content are found on the site by slug, or created (a term
//!    the user may not create is left out, with a note);
//! 3. the content's generated images are uploaded to the media library, each recorded on the
//!    record as soon as it is (a retry uploads none twice);
//! 4. the post is updated when the record knows it (republish), else, when an earlier attempt may
//!    have created it, looked for (its author, its exact title, made since the intent, and the
//!    record's marker in its content) and adopted, else created; its id is saved at once;
//! 5. the content is linked to its post (`external_id`, `external_url`, `sync_status = synced`)
//!    and moves to `published` when the post is published;
//! 6. the record is `published`.
//!
//! A site that is down, slow or answering 5xx is tried again (the queue's backoff) until the last
//! delivery, when the record is `failed` with the reason (the content is left as it was);
//! refused credentials fail at once.

use std::time::Instant;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::html::{self, Placed};
use super::records::{self, HOLD_SECONDS, PublishingRecord};
use super::request::PublishMessage;
use crate::integration::integrations::Integration;
use crate::integration::plugin::content_status;
use crate::integration::posts::{self, Post};
use crate::integration::site_api::{PostRef, Site, WpError};
use crate::integration::sync::{self, SyncMessage};
use crate::writer::{Content, ImageRecord, Task};
use crate::{ApiError, Services};

/// Why one record's publishing stopped.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Site(#[from] WpError),
    #[error("{0}")]
    Gone(String),
    #[error(transparent)]
    Store(#[from] ApiError),
}

impl Failure {
    fn retryable(&self) -> bool {
        match self {
            Self::Site(e) => e.retryable(),
            Self::Gone(_) => false,
            Self::Store(e) => matches!(e, ApiError::Internal(_) | ApiError::Conflict(_)),
        }
    }

    /// What the record says (an internal failure's detail stays in the log).
    fn reason(&self) -> String {
        match self {
            Self::Store(ApiError::Internal(_)) => "An internal error stopped the publishing.".into(),
            other => other.to_string(),
        }
    }
}

/// What the publish queue carries: a record to publish, or a site to sync (both are calls to
/// customers' sites, with the same retries).
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
enum SiteWork {
    Publish(PublishMessage),
    Sync(SyncMessage),
}

/// Runs a batch of the publish queue; the failed messages come back after their backoff, and a
/// sync out of time goes on in a new message.
pub async fn handle_batch(services: &Services, event: SqsEvent, deadline: Option<Instant>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for message in &event.records {
        if let Err(reason) = handle(services, message, deadline).await {
            tracing::warn!(message_id = ?message.message_id, reason = %reason, "publish queue message will be delivered again");
            crate::queue::retry_later(services, message).await;
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message.message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    response
}

async fn handle(services: &Services, message: &SqsMessage, deadline: Option<Instant>) -> Result<(), String> {
    let Ok(work) = serde_json::from_str::<SiteWork>(message.body.as_deref().unwrap_or_default()) else {
        tracing::error!(message_id = ?message.message_id, "unreadable publish queue message dropped");
        return Ok(());
    };
    let last = crate::queue::receives(message) >= services.config.job_max_receives;
    match work {
        SiteWork::Publish(order) => publish(services, &order, last).await,
        SiteWork::Sync(order) => match sync::run(services, &order, deadline, last).await? {
            sync::Delivery::Done => Ok(()),
            sync::Delivery::Continue => crate::queue::continue_in_new_message(services, message).await,
        },
    }
}

/// Publishes one record for `order`; `Err` asks for another delivery.
pub async fn publish(services: &Services, order: &PublishMessage, last: bool) -> Result<(), String> {
    let found = records::get(services, &order.account_id, &order.record_id).await.map_err(|e| e.to_string())?;
    let Some(mut record) = found.filter(|r| r.request == order.request) else {
        return Ok(()); // a request since replaced this one
    };
    if record.status == "published" || record.status == "failed" {
        return Ok(()); // delivered again after it ended
    }
    // Boxed: the attempt's future is deep (a post's calls in turn), and a worker's stack small.
    match Box::pin(attempt(services, &mut record)).await {
        Ok(()) => Ok(()),
        Err(failure) if failure.retryable() && !last => {
            if let Failure::Store(ApiError::Internal(detail)) = &failure {
                tracing::error!(record_id = %record.id, error = %detail, "publishing failed");
            }
            record.status = "queued".into();
            record.error = Some(format!("{}; trying again.", failure.reason()));
            record.held_until = 0;
            record.save(services).await.map_err(|e| e.to_string())?;
            Err(failure.to_string())
        }
        Err(failure) => {
            if let Failure::Store(ApiError::Internal(detail)) = &failure {
                tracing::error!(record_id = %record.id, error = %detail, "publishing failed");
            }
            record.status = "failed".into();
            record.error = Some(failure.reason());
            record.held_until = 0;
            record.save(services).await.map_err(|e| e.to_string())?;
            tracing::warn!(record_id = %record.id, reason = %failure, "publishing failed for good");
            Ok(())
        }
    }
}

async fn attempt(services: &Services, record: &mut PublishingRecord) -> Result<(), Failure> {
    let store = services.store().await;
    let account_key = crate::store::Key::account(&record.account_id);
    let (content, account) = tokio::join!(
        crate::records::find::<Content>(services, &record.account_id, &record.content_id),
        store.get::<crate::accounts::Account>(&account_key)
    );
    // Switched off after it was queued: the publishing does not start.
    if account.map_err(ApiError::from)?.is_some_and(|a| !a.module_enabled(super::routes::MODULE_SWITCH)) {
        return Err(Failure::Gone("Module disabled: the account switched publishing off.".into()));
    }
    let content = content?.ok_or_else(|| Failure::Gone("The content was deleted.".into()))?;
    let integration: Integration = services
        .store()
        .await
        .get(&Integration::key(&record.account_id, &record.integration_id))
        .await
        .map_err(ApiError::from)?
        .filter(|i: &Integration| i.is_active)
        .ok_or_else(|| Failure::Gone("The integration was deleted or deactivated.".into()))?;
    let credentials = integration.credentials(services).await?;
    let now = OffsetDateTime::now_utc();
    record.status = "publishing".into();
    record.attempts += 1;
    record.held_until = now.unix_timestamp() + HOLD_SECONDS;
    record.notes.clear();
    let earlier_intent = record.intent_at;
    if record.post_id.is_none() && record.intent_at.is_none() {
        record.intent_at = Some(now);
    }
    if !record.save(services).await? {
        return Ok(()); // replaced by a newer request meanwhile
    }
    let site = Site::new(services, &credentials).await;

    let terms = terms(services, &site, record, &content).await?;
    let images = upload_images(services, &site, record, &content).await?;
    let body = post_body(services, record, &content, &terms, &images).await?;
    let post = save_post(&site, record, &content, &body, earlier_intent).await?;
    record.post_id = Some(post.id);
    record.url = Some(post.link.clone());
    record.save(services).await?;

    link_content(services, record, &integration, &post).await?;
    record.status = "published".into();
    record.error = None;
    record.held_until = 0;
    record.published_at = Some(OffsetDateTime::now_utc());
    record.save(services).await?;
    tracing::info!(record_id = %record.id, post_id = post.id, "published");
    Ok(())
}

/// The WordPress ids of the content's categories and tags.
struct Terms {
    categories: Vec<i64>,
    tags: Vec<i64>,
}

async fn terms(
    services: &Services,
    site: &Site<'_>,
    record: &mut PublishingRecord,
    content: &Content,
) -> Result<Terms, Failure> {
    let mut terms = Terms { categories: Vec::new(), tags: Vec::new() };
    if content.taxonomy_ids.is_empty() {
        return Ok(terms);
    }
    let taxonomies = crate::writer::taxonomies::of_site(services, &record.account_id, &content.site_id).await?;
    for taxonomy in taxonomies.iter().filter(|t| content.taxonomy_ids.contains(&t.id)) {
        let (rest, into) = match taxonomy.taxonomy_type.as_str() {
            "category" => ("categories", &mut terms.categories),
            _ => ("tags", &mut terms.tags),
        };
        match site.term(rest, &taxonomy.name, &taxonomy.slug).await? {
            Some(id) => into.push(id),
            None => record.notes.push(format!(
                "The {} \"{}\" is not on the site and the user may not create it.",
                taxonomy.taxonomy_type, taxonomy.name
            )),
        }
    }
    Ok(terms)
}

/// The content's generated images, uploaded (or known from an earlier attempt): the featured
/// one's media id, and the in-article ones placed.
struct Images {
    featured: Option<i64>,
    placed: Vec<Placed>,
    uploaded: Vec<(String, String)>,
}

async fn upload_images(
    services: &Services,
    site: &Site<'_>,
    record: &mut PublishingRecord,
    content: &Content,
) -> Result<Images, Failure> {
    let mut images: Vec<ImageRecord> = crate::writer::content_images(services, &record.account_id, &content.id)
        .await?
        .into_iter()
        .filter(|i| i.s3_key.is_some() && matches!(i.image_type.as_str(), "featured" | "in_article"))
        .collect();
    images.sort_by_key(|i| (i.image_type != "featured", i.position));
    let mut out = Images { featured: None, placed: Vec::new(), uploaded: Vec::new() };
    for image in &images {
        let media = match record.media.get(&image.id) {
            Some(media) => media.clone(),
            None => {
                let Some(key) = &image.s3_key else { continue };
                let bytes = crate::ai::images::read_image(services, key).await?;
                let media = site.upload(&bytes, &format!("{}.png", image.id), "image/png", &content.title).await?;
                record.media.insert(image.id.clone(), media.clone());
                record.save(services).await?;
                media
            }
        };
        out.uploaded.push((image.id.clone(), media.url.clone()));
        match image.image_type.as_str() {
            "featured" if out.featured.is_none() => out.featured = Some(media.id),
            "in_article" => {
                out.placed.push(Placed { position: image.position, url: media.url, alt: content.title.clone() })
            }
            _ => {}
        }
    }
    Ok(out)
}

async fn post_body(
    services: &Services,
    record: &PublishingRecord,
    content: &Content,
    terms: &Terms,
    images: &Images,
) -> Result<Value, Failure> {
    let title = if content.meta_title.trim().is_empty() { content.title.clone() } else { content.meta_title.clone() };
    let secondary: Vec<String> = match &content.task_id {
        Some(task_id) => crate::records::find::<Task>(services, &record.account_id, task_id)
            .await?
            .map(|t| t.keywords.into_iter().filter(|k| k != &content.primary_keyword).collect())
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let mut body = json!({
        "title": title,
        "content": html::compose(&content.html, &record.id, &images.placed, &images.uploaded),
        "status": record.post_status,
        "excerpt": content.meta_description,
        "categories": terms.categories,
        "tags": terms.tags,
        // Kept where the site registers these keys for the REST API; ignored elsewhere.
        "meta": {"igny8_primary_keyword": content.primary_keyword, "igny8_secondary_keywords": secondary.join(", ")},
    });
    if let Some(featured) = images.featured {
        body["featured_media"] = json!(featured);
    }
    Ok(body)
}

async fn save_post(
    site: &Site<'_>,
    record: &PublishingRecord,
    content: &Content,
    body: &Value,
    earlier_intent: Option<OffsetDateTime>,
) -> Result<PostRef, Failure> {
    if let Some(id) = record.post_id {
        match site.save_post(Some(id), body).await {
            Err(WpError::PostGone) => {}
            other => return Ok(other?),
        }
    }
    // An earlier attempt may have created the post and lost the answer: find it before creating.
    if let Some(intent) = earlier_intent.or(record.intent_at.filter(|_| record.attempts > 1)) {
        let me = site.me().await?;
        let since = crate::accounts::rfc3339(intent - time::Duration::days(1));
        let title = body["title"].as_str().unwrap_or(&content.title);
        if let Some(found) = site.find_post(title, me, &since, &html::marker(&record.id)).await? {
            tracing::info!(record_id = %record.id, post_id = found.id, "adopted the post an earlier attempt made");
            return Ok(site.save_post(Some(found.id), body).await?);
        }
    }
    Ok(site.save_post(None, body).await?)
}

/// Links the content to its post and moves it to `published` when the post is.
async fn link_content(
    services: &Services,
    record: &PublishingRecord,
    integration: &Integration,
    post: &PostRef,
) -> Result<(), Failure> {
    let linked = Post {
        post_id: post.id.to_string(),
        url: Some(post.link.clone()),
        wp_status: post.status.clone(),
        post_type: "post".into(),
        slug: Some(post.slug.clone()),
        modified: Some(post.modified.clone()),
    };
    // The content may change meanwhile (an edit, a webhook): read it again and retry a little.
    for _ in 0..3 {
        let content = crate::records::find::<Content>(services, &record.account_id, &record.content_id)
            .await?
            .ok_or_else(|| Failure::Gone("The content was deleted.".into()))?;
        let result = posts::attach(services, &content, &integration.id, &linked, |c| {
            if content_status(&post.status) == "published" {
                c.status = "published".into();
            }
        })
        .await;
        match result {
            Ok(_) => return Ok(()),
            Err(ApiError::Conflict(_)) => continue,
            Err(err) => return Err(err.into()),
        }
    }
    Err(ApiError::Conflict("The content kept changing while it was published.".into()).into())
}
