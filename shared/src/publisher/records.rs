//! A `PublishingRecord` per content and destination: `ACCOUNT#<a>` / `PUBREC#<id>`, its id a
//! UUID v5 of the content and the integration, so that republishing finds the same record (and
//! its post). `queued` → `publishing` → `published` | `failed`; a failed attempt that may succeed
//! later goes back to `queued` with its error until the last one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::access::Caller;
use crate::accounts::rfc3339;
use crate::integration::site_api::Media;
use crate::store::{Condition, Item, Key, Query, keys};
use crate::{ApiError, Services, ids};

const PREFIX: &str = "PUBREC#";
pub const STATUSES: &[&str] = &["queued", "publishing", "published", "failed"];
/// The statuses a post may be asked to have.
pub const POST_STATUSES: &[&str] = &["draft", "publish"];

/// How long a worker holds a record it publishes: another publish of the same content and
/// destination waits for it (409) unless the hold has run out (the worker died).
pub const HOLD_SECONDS: i64 = 15 * 60;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishingRecord {
    pub id: String,
    pub account_id: String,
    pub site_id: String,
    pub sector_id: String,
    pub content_id: String,
    pub integration_id: String,
    /// `wordpress`.
    pub destination: String,
    pub status: String,
    /// The post status asked for: `draft` or `publish`.
    pub post_status: String,
    pub attempts: u32,
    pub error: Option<String>,
    /// What was left out (a category the user may not create).
    #[serde(default)]
    pub notes: Vec<String>,
    pub post_id: Option<i64>,
    pub url: Option<String>,
    /// The publish request the record follows: its messages carry it, and a message of an
    /// earlier request finds the record moved on and does nothing.
    pub request: String,
    /// When a post was first about to be created (written before the call): a retry looks for a
    /// post made since then before creating one.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub intent_at: Option<OffsetDateTime>,
    /// The images uploaded, by image id (a retry uploads none twice).
    #[serde(default)]
    pub media: BTreeMap<String, Media>,
    /// Epoch seconds until which a worker holds it.
    #[serde(default)]
    pub held_until: i64,
    pub requested_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub published_at: Option<OffsetDateTime>,
}

/// A record as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecordAnswer {
    pub id: String,
    pub content_id: String,
    pub integration_id: String,
    pub site_id: String,
    pub sector_id: String,
    /// `wordpress`.
    pub destination: String,
    /// `queued`, `publishing`, `published` or `failed`.
    pub status: String,
    /// `draft` or `publish`.
    pub post_status: String,
    pub attempts: u32,
    pub error: Option<String>,
    pub notes: Vec<String>,
    /// The WordPress post.
    pub post_id: Option<i64>,
    pub url: Option<String>,
    pub requested_by: String,
    pub created_at: String,
    pub updated_at: String,
    pub published_at: Option<String>,
}

/// The namespace of the records' ids.
const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6f0d_8a4e_5b1c_4a7e_9d2f_3c8b_1e6a_7f40);

/// The id of the record of `content_id` on `integration_id`.
pub fn record_id(content_id: &str, integration_id: &str) -> String {
    uuid::Uuid::new_v5(&NAMESPACE, format!("{content_id}/{integration_id}").as_bytes()).to_string()
}

pub fn key(account_id: &str, id: &str) -> Key {
    Key::new(keys::account_pk(account_id), format!("{PREFIX}{id}"))
}

impl PublishingRecord {
    pub fn item(&self) -> Result<Item, ApiError> {
        Ok(Item::new(&key(&self.account_id, &self.id), "PublishingRecord", self)?)
    }

    pub fn answer(&self) -> RecordAnswer {
        RecordAnswer {
            id: self.id.clone(),
            content_id: self.content_id.clone(),
            integration_id: self.integration_id.clone(),
            site_id: self.site_id.clone(),
            sector_id: self.sector_id.clone(),
            destination: self.destination.clone(),
            status: self.status.clone(),
            post_status: self.post_status.clone(),
            attempts: self.attempts,
            error: self.error.clone(),
            notes: self.notes.clone(),
            post_id: self.post_id,
            url: self.url.clone(),
            requested_by: self.requested_by.clone(),
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
            published_at: self.published_at.map(rfc3339),
        }
    }

    pub fn to_json(&self) -> Value {
        crate::http::answer(self.answer())
    }

    /// Saves the record as the worker of its request changed it (nothing when the record has
    /// moved on to another request: `false`).
    pub async fn save(&mut self, services: &Services) -> Result<bool, ApiError> {
        self.updated_at = OffsetDateTime::now_utc();
        let condition = Condition::new("#request = :request")
            .name("#request", "request")
            .value(":request", crate::store::s(&self.request));
        match services.store().await.put(self.item()?, Some(condition)).await {
            Ok(()) => Ok(true),
            Err(crate::store::StoreError::ConditionFailed) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }
}

/// One record of the account, by id.
pub async fn get(services: &Services, account_id: &str, id: &str) -> Result<Option<PublishingRecord>, ApiError> {
    if !ids::is_valid_id(id) {
        return Ok(None);
    }
    Ok(services.store().await.get(&key(account_id, id)).await?)
}

/// Every record of the account.
pub async fn all(services: &Services, account_id: &str) -> Result<Vec<PublishingRecord>, ApiError> {
    let query = Query::partition(keys::account_pk(account_id)).sk_prefix(PREFIX);
    let items = services.store().await.query_all(query).await?;
    Ok(items.into_iter().map(crate::store::decode).collect::<Result<Vec<_>, _>>()?)
}

/// `publishing-records/`: the records of the sites the caller reads, last change first;
/// `content_id`, `site_id`, `integration_id` and `status` filter.
pub async fn list(
    services: &Services,
    caller: &Caller,
    query: &std::collections::HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    let wanted = |name: &str| query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    if let Some(status) = wanted("status").filter(|s| !STATUSES.contains(s)) {
        return Err(ApiError::field(
            "status",
            format!("Select a valid choice. {status} is not one of the available choices."),
        ));
    }
    let mut found: Vec<PublishingRecord> = all(services, caller.account_id())
        .await?
        .into_iter()
        .filter(|r| caller.can_read_site(&r.site_id))
        .filter(|r| wanted("content_id").is_none_or(|v| v == r.content_id))
        .filter(|r| wanted("site_id").is_none_or(|v| v == r.site_id))
        .filter(|r| wanted("integration_id").is_none_or(|v| v == r.integration_id))
        .filter(|r| wanted("status").is_none_or(|v| v == r.status))
        .collect();
    found.sort_by_key(|r| std::cmp::Reverse(r.updated_at));
    Ok(found.iter().map(PublishingRecord::to_json).collect())
}

/// `publishing-records/{id}/`.
pub async fn show(services: &Services, caller: &Caller, id: &str) -> Result<Value, ApiError> {
    get(services, caller.account_id(), id)
        .await?
        .filter(|r| caller.can_read_site(&r.site_id))
        .map(|r| r.to_json())
        .ok_or_else(ApiError::not_found)
}

/// Removes a deleted site's records (the publisher's part of a site's purge).
pub fn purge_site<'a>(
    services: &'a Services,
    account_id: &'a str,
    site_id: &'a str,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ApiError>> + Send + 'a>> {
    Box::pin(async move {
        let keys: Vec<Key> = all(services, account_id)
            .await?
            .iter()
            .filter(|r| r.site_id == site_id)
            .map(|r| key(account_id, &r.id))
            .collect();
        services.store().await.delete_batch(&keys).await?;
        Ok(())
    })
}
