//! Publish requests: `publish/` (content ids → their sites' destinations) and the writer's
//! `content/{id}/publish/`. Each content and destination gets its record queued under a new
//! request id and one message on the publish queue; the worker ([`super::run`]) does the rest.
//! Editors publish on the sites they are granted; viewers do not publish.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::records::{self, POST_STATUSES, PublishingRecord};
use crate::access::Caller;
use crate::integration::integrations::{self, Integration};
use crate::records::scope;
use crate::store::{Condition, StoreError, n, s};
use crate::validation::FieldErrors;
use crate::validation::input::{Choice, Ids};
use crate::writer::Content;
use crate::{ApiError, Services};

/// The most content ids one request publishes.
pub const MAX_CONTENT: usize = 50;

crate::input! {
    /// Content to publish, and where.
    pub struct PublishRequest {
        /// The content (at most 50), of sites the caller may write.
        content_ids: required Vec<String> = Ids(MAX_CONTENT),
        /// Integrations of the content's sites (at most 10); all their active WordPress
        /// integrations when left out.
        destinations: optional Vec<String> = Ids(10),
        /// The post's status in WordPress; without it, `publish` for content that is
        /// `published`, else `draft`.
        status: optional String = Choice(POST_STATUSES),
    }
}

crate::input! {
    /// Where to publish one content.
    pub struct PublishOne {
        destinations: optional Vec<String> = Ids(10),
        status: optional String = Choice(POST_STATUSES),
    }
}

/// The message of one record's publishing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishMessage {
    pub account_id: String,
    pub record_id: String,
    pub request: String,
}

/// `publish/`.
pub async fn publish(services: &Services, caller: &Caller, input: PublishRequest) -> Result<Vec<Value>, ApiError> {
    let contents = scope::writable_many::<Content>(services, caller, "content_ids", &input.content_ids, None).await?;
    queue(services, caller, contents, input.destinations, input.status).await
}

/// `writer/content/{id}/publish/`.
pub async fn publish_one(
    services: &Services,
    caller: &Caller,
    content_id: &str,
    input: PublishOne,
) -> Result<Vec<Value>, ApiError> {
    let content = scope::writable::<Content>(services, caller, content_id).await?;
    queue(services, caller, vec![content], input.destinations, input.status).await
}

/// The destinations of each content: the named integrations (each an active one of the content's
/// site) or all of its site's active WordPress integrations.
async fn destinations(
    services: &Services,
    account_id: &str,
    contents: &[Content],
    named: Option<&[String]>,
) -> Result<Vec<(usize, Integration)>, ApiError> {
    let mut by_site: HashMap<String, Vec<Integration>> = HashMap::new();
    for content in contents {
        if !by_site.contains_key(&content.site_id) {
            let active: Vec<Integration> = integrations::of_site(services, account_id, &content.site_id)
                .await?
                .into_iter()
                .filter(|i| i.is_active && i.platform == "wordpress")
                .collect();
            by_site.insert(content.site_id.clone(), active);
        }
    }
    let mut errors = FieldErrors::new();
    let mut pairs = Vec::new();
    for (i, content) in contents.iter().enumerate() {
        let active = &by_site[&content.site_id];
        match named {
            Some(named) => {
                for id in named {
                    match active.iter().find(|a| &a.id == id) {
                        Some(integration) => pairs.push((i, integration.clone())),
                        None => errors.add(
                            "destinations",
                            format!(
                                "Invalid pk \"{id}\" - not an active integration of the site of content {}.",
                                content.id
                            ),
                        ),
                    }
                }
            }
            None if active.is_empty() => errors
                .add("content_ids", format!("The site of content {} has no active WordPress integration.", content.id)),
            None => pairs.extend(active.iter().map(|a| (i, a.clone()))),
        }
    }
    errors.finish()?;
    Ok(pairs)
}

async fn queue(
    services: &Services,
    caller: &Caller,
    contents: Vec<Content>,
    named: Option<Vec<String>>,
    status: Option<String>,
) -> Result<Vec<Value>, ApiError> {
    queue_for(services, caller.account_id(), &caller.user.id, contents, named, status).await
}

/// Queues the publishing of `contents` of the account (to the `named` integrations of their
/// sites, or all their active WordPress ones) as `user_id`; automation publishes through it.
pub async fn queue_for(
    services: &Services,
    account_id: &str,
    user_id: &str,
    contents: Vec<Content>,
    named: Option<Vec<String>>,
    status: Option<String>,
) -> Result<Vec<Value>, ApiError> {
    let Some(queue_url) = services.config.publish_queue_url.clone() else {
        return Err(ApiError::internal("no publish queue is configured (PUBLISH_QUEUE_URL)"));
    };
    let pairs = destinations(services, account_id, &contents, named.as_deref()).await?;
    let now = OffsetDateTime::now_utc();
    let mut queued = Vec::new();
    for (i, integration) in pairs {
        let content = &contents[i];
        let id = records::record_id(&content.id, &integration.id);
        let before = records::get(services, account_id, &id).await?;
        let post_status = status
            .clone()
            .unwrap_or_else(|| if content.status == "published" { "publish".into() } else { "draft".into() });
        let record = match before {
            Some(mut record) => {
                record.status = "queued".into();
                record.post_status = post_status;
                record.attempts = 0;
                record.error = None;
                record.notes.clear();
                record.requested_by = user_id.to_owned();
                record.updated_at = now;
                record
            }
            None => PublishingRecord {
                id: id.clone(),
                account_id: account_id.to_owned(),
                site_id: content.site_id.clone(),
                sector_id: content.sector_id.clone(),
                content_id: content.id.clone(),
                integration_id: integration.id.clone(),
                destination: integration.platform.clone(),
                status: "queued".into(),
                post_status,
                attempts: 0,
                error: None,
                notes: Vec::new(),
                post_id: None,
                url: None,
                request: String::new(),
                intent_at: None,
                media: Default::default(),
                held_until: 0,
                requested_by: user_id.to_owned(),
                created_at: now,
                updated_at: now,
                published_at: None,
            },
        };
        let mut record = record;
        record.request = crate::ids::new_id();
        // Not over a worker that still holds it (it would race this request's post).
        let free = Condition::new("attribute_not_exists(PK) OR #status <> :publishing OR held_until < :now")
            .name("#status", "status")
            .value(":publishing", s("publishing"))
            .value(":now", n(now.unix_timestamp()));
        match services.store().await.put(record.item()?, Some(free)).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed) => {
                return Err(ApiError::Conflict(format!(
                    "Content {} is being published to this destination; try again when it is done.",
                    content.id
                )));
            }
            Err(err) => return Err(err.into()),
        }
        let message =
            PublishMessage { account_id: record.account_id.clone(), record_id: id, request: record.request.clone() };
        let body = serde_json::to_string(&message).map_err(ApiError::internal)?;
        if let Err(err) = services.send_message(&queue_url, body).await {
            record.status = "failed".into();
            record.error = Some("The publish could not be queued; try again.".into());
            record.save(services).await?;
            return Err(ApiError::internal(format!("publish queue: {err}")));
        }
        tracing::info!(record_id = %record.id, content_id = %content.id, integration_id = %integration.id, "publish queued");
        queued.push(record.to_json());
    }
    Ok(queued)
}
