//! Sync: a site's WordPress posts, pages, categories and tags pulled into its content and
//! taxonomies, as queued work with a `SyncEvent` per sync (progress, counts, errors).
//!
//! - Categories and tags become the site's taxonomies (found by slug, created when missing).
//! - Posts and pages become content of one sector of the site (`source = wordpress`,
//!   `sync_status = synced`, `external_id`, `external_url`, `sync_metadata`), their HTML
//!   sanitised and their words counted, their status mapped as the status webhook maps it, their
//!   terms assigned. A post already linked to a content (by an earlier sync, a publish, or
//!   concurrently) updates that content when WordPress changed it since, and is never made twice:
//!   the content and its post link are written in one transaction, the link conditioned on the
//!   post not being another live content's.
//! - The worker goes page by page (100 items), saving its place on the event after each page; one
//!   that runs out of time goes on in a new message. A site that is down or answering 5xx is tried
//!   on each of the queue's deliveries; the last failure ends the event `failed`.
//!
//! An event is `ACCOUNT#<a>` / `SYNCEVENT#<integration>#<event id>` (ids are UUID v7: newest last).

use std::collections::BTreeMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::integrations::{self, Integration};
use super::plugin::content_status;
use super::posts::{self, PostLink};
use super::site_api::{Site, WpError};
use crate::access::Caller;
use crate::accounts::rfc3339;
use crate::records::SectorRecord;
use crate::records::counts::{self, Step};
use crate::store::{Condition, Item, Key, Query, Write, keys};
use crate::validation::input::Id;
use crate::writer::{Content, External, sanitize_html, taxonomies, word_count};
use crate::{ApiError, Services, ids, usage};

const PREFIX: &str = "SYNCEVENT#";
/// What a sync pulls, in this order (terms first: posts are given the taxonomies they name).
pub const KINDS: &[&str] = &["categories", "tags", "posts", "pages"];
/// Items of one page.
const PER_PAGE: usize = 100;
/// The most errors an event keeps (the count of failed items is exact).
const MAX_ERRORS: usize = 20;
/// Time kept for saving the event and queueing the rest.
const MARGIN: std::time::Duration = std::time::Duration::from_secs(20);

/// Created, updated, unchanged and failed items of one kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Counts {
    pub created: u32,
    pub updated: u32,
    pub unchanged: u32,
    pub failed: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncEvent {
    pub id: String,
    pub account_id: String,
    pub site_id: String,
    pub integration_id: String,
    /// The sector the pulled content goes to.
    pub sector_id: String,
    /// `queued`, `running`, `success` or `failed`.
    pub status: String,
    /// Counts by kind (`categories`, `tags`, `posts`, `pages`).
    pub counts: BTreeMap<String, Counts>,
    pub errors: Vec<String>,
    /// Where it stands: the kind (index into [`KINDS`]) and the next page.
    pub kind: usize,
    pub page: u32,
    pub requested_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
}

/// A sync as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SyncEventAnswer {
    pub id: String,
    pub integration_id: String,
    pub site_id: String,
    pub sector_id: String,
    /// `queued`, `running`, `success` or `failed`.
    pub status: String,
    /// What it is pulling now (`categories`, `tags`, `posts`, `pages`), or `done`.
    pub phase: String,
    pub counts: BTreeMap<String, Counts>,
    pub errors: Vec<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

/// The message of one sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncMessage {
    pub account_id: String,
    pub integration_id: String,
    pub event_id: String,
}

fn key(account_id: &str, integration_id: &str, event_id: &str) -> Key {
    Key::new(keys::account_pk(account_id), format!("{PREFIX}{integration_id}#{event_id}"))
}

impl SyncEvent {
    fn item(&self) -> Result<Item, ApiError> {
        Ok(Item::new(&key(&self.account_id, &self.integration_id, &self.id), "SyncEvent", self)?)
    }

    async fn save(&self, services: &Services) -> Result<(), ApiError> {
        Ok(services.store().await.put(self.item()?, None).await?)
    }

    pub fn answer(&self) -> SyncEventAnswer {
        SyncEventAnswer {
            id: self.id.clone(),
            integration_id: self.integration_id.clone(),
            site_id: self.site_id.clone(),
            sector_id: self.sector_id.clone(),
            status: self.status.clone(),
            phase: KINDS.get(self.kind).copied().unwrap_or("done").to_owned(),
            counts: self.counts.clone(),
            errors: self.errors.clone(),
            created_at: rfc3339(self.created_at),
            finished_at: self.finished_at.map(rfc3339),
        }
    }

    fn count(&mut self, kind: &str) -> &mut Counts {
        self.counts.entry(kind.to_owned()).or_default()
    }

    fn error(&mut self, kind: &str, message: String) {
        self.count(kind).failed += 1;
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(message);
        }
    }
}

/// The integration's syncs, newest first.
pub async fn events(services: &Services, integration: &Integration) -> Result<Vec<SyncEvent>, ApiError> {
    let query = Query::partition(keys::account_pk(&integration.account_id))
        .sk_prefix(format!("{PREFIX}{}#", integration.id))
        .newest_first();
    let items = services.store().await.query_all(query).await?;
    Ok(items.into_iter().map(crate::store::decode).collect::<Result<Vec<_>, _>>()?)
}

/// The keys of an integration's events (deleted with it).
pub async fn keys_of(services: &Services, integration: &Integration) -> Result<Vec<Key>, ApiError> {
    Ok(events(services, integration).await?.iter().map(|e| key(&e.account_id, &e.integration_id, &e.id)).collect())
}

crate::input! {
    /// Where the pulled content goes.
    pub struct SyncRequest {
        /// A sector of the integration's site (its first one when left out).
        sector_id: optional String = Id,
    }
}

crate::input! {
    /// The site whose WordPress content to pull.
    pub struct SiteSync {
        site_id: required String = Id,
        /// A sector of the site (its first one when left out).
        sector_id: optional String = Id,
    }
}

/// Queues a sync of `integration` into `sector_id` (or the site's first sector).
pub async fn start(
    services: &Services,
    caller: &Caller,
    integration: &Integration,
    sector_id: Option<&str>,
) -> Result<SyncEvent, ApiError> {
    caller.require_manager()?;
    if !integration.is_active {
        return Err(ApiError::BadRequest("The integration is not active.".into()));
    }
    let mut sectors: Vec<_> = crate::sites::all_sectors(services, caller.account_id())
        .await?
        .into_iter()
        .filter(|s| s.site_id == integration.site_id)
        .collect();
    sectors.sort_by_key(|s| s.created_at);
    let sector = match sector_id {
        Some(id) => sectors
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| ApiError::field("sector_id", format!("Invalid pk \"{id}\" - not a sector of the site.")))?,
        None => sectors.first().ok_or_else(|| {
            ApiError::field("sector_id", "The site has no sector to put the pulled content in: add one first.")
        })?,
    };
    let Some(queue_url) = services.config.publish_queue_url.clone() else {
        return Err(ApiError::internal("no publish queue is configured (PUBLISH_QUEUE_URL)"));
    };
    let event = SyncEvent {
        id: ids::new_id(),
        account_id: integration.account_id.clone(),
        site_id: integration.site_id.clone(),
        integration_id: integration.id.clone(),
        sector_id: sector.id.clone(),
        status: "queued".into(),
        counts: BTreeMap::new(),
        errors: Vec::new(),
        kind: 0,
        page: 1,
        requested_by: caller.user.id.clone(),
        created_at: OffsetDateTime::now_utc(),
        finished_at: None,
    };
    event.save(services).await?;
    integrations::set_sync_status(services, integration, "pending", None).await?;
    let message = SyncMessage {
        account_id: event.account_id.clone(),
        integration_id: event.integration_id.clone(),
        event_id: event.id.clone(),
    };
    let body = serde_json::to_string(&message).map_err(ApiError::internal)?;
    services.send_message(&queue_url, body).await.map_err(ApiError::internal)?;
    tracing::info!(event_id = %event.id, integration_id = %integration.id, "sync queued");
    Ok(event)
}

/// What a delivery of a sync message did.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Ended (or nothing to do).
    Done,
    /// Out of time with progress saved: go on in a new message.
    Continue,
}

/// Runs (or goes on with) one sync; `Err` asks for another delivery.
pub async fn run(
    services: &Services,
    message: &SyncMessage,
    deadline: Option<Instant>,
    last: bool,
) -> Result<Delivery, String> {
    let event_key = key(&message.account_id, &message.integration_id, &message.event_id);
    let found: Option<SyncEvent> = services.store().await.get(&event_key).await.map_err(|e| e.to_string())?;
    let Some(mut event) = found.filter(|e| e.status == "queued" || e.status == "running") else {
        return Ok(Delivery::Done);
    };
    let integration: Option<Integration> = services
        .store()
        .await
        .get(&Integration::key(&message.account_id, &message.integration_id))
        .await
        .map_err(|e| e.to_string())?;
    let Some(integration) = integration.filter(|i| i.is_active) else {
        event.status = "failed".into();
        event.errors.push("The integration was deleted or deactivated.".into());
        event.finished_at = Some(OffsetDateTime::now_utc());
        event.save(services).await.map_err(|e| e.to_string())?;
        return Ok(Delivery::Done);
    };
    match Box::pin(pull(services, &integration, &mut event, deadline)).await {
        Ok(Delivery::Continue) => Ok(Delivery::Continue),
        Ok(Delivery::Done) => {
            event.status = "success".into();
            event.finished_at = Some(OffsetDateTime::now_utc());
            event.save(services).await.map_err(|e| e.to_string())?;
            integrations::set_sync_status(services, &integration, "success", event.finished_at)
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!(event_id = %event.id, "sync done");
            Ok(Delivery::Done)
        }
        Err(error) if error.retryable() && !last => {
            event.save(services).await.map_err(|e| e.to_string())?;
            Err(error.to_string())
        }
        Err(error) => {
            event.status = "failed".into();
            if event.errors.len() < MAX_ERRORS {
                event.errors.push(error.reason());
            }
            event.finished_at = Some(OffsetDateTime::now_utc());
            event.save(services).await.map_err(|e| e.to_string())?;
            integrations::set_sync_status(services, &integration, "failed", event.finished_at)
                .await
                .map_err(|e| e.to_string())?;
            tracing::warn!(event_id = %event.id, reason = %error, "sync failed");
            Ok(Delivery::Done)
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum PullError {
    #[error(transparent)]
    Site(#[from] WpError),
    #[error(transparent)]
    Store(#[from] ApiError),
}

impl PullError {
    fn retryable(&self) -> bool {
        match self {
            Self::Site(e) => e.retryable(),
            Self::Store(e) => matches!(e, ApiError::Internal(_)),
        }
    }

    fn reason(&self) -> String {
        match self {
            Self::Store(ApiError::Internal(detail)) => {
                tracing::error!(error = %detail, "sync failed");
                "An internal error stopped the sync.".into()
            }
            other => other.to_string(),
        }
    }
}

async fn pull(
    services: &Services,
    integration: &Integration,
    event: &mut SyncEvent,
    deadline: Option<Instant>,
) -> Result<Delivery, PullError> {
    let credentials = integration.credentials(services).await?;
    let site = Site::new(services, &credentials).await;
    if event.status == "queued" {
        event.status = "running".into();
        event.save(services).await?;
        integrations::set_sync_status(services, integration, "syncing", None).await?;
    }
    while let Some(kind) = KINDS.get(event.kind).copied() {
        if deadline.is_some_and(|d| d.saturating_duration_since(Instant::now()) < MARGIN) {
            event.save(services).await?;
            return Ok(Delivery::Continue);
        }
        let items = site.list(kind, event.page, PER_PAGE).await?;
        match kind {
            "categories" | "tags" => terms(services, event, kind, &items).await?,
            _ => contents(services, integration, event, kind, &items).await?,
        }
        if items.len() < PER_PAGE {
            event.kind += 1;
            event.page = 1;
        } else {
            event.page += 1;
        }
        event.save(services).await?;
    }
    Ok(Delivery::Done)
}

/// A page of categories or tags into the site's taxonomies.
async fn terms(services: &Services, event: &mut SyncEvent, kind: &str, items: &[Value]) -> Result<(), ApiError> {
    let taxonomy_type = if kind == "categories" { "category" } else { "tag" };
    let wanted: Vec<(String, String)> =
        items.iter().filter_map(|t| Some((t["name"].as_str()?.to_owned(), t["slug"].as_str()?.to_owned()))).collect();
    let (created, known) =
        taxonomies::ensure(services, &event.account_id, &event.site_id, taxonomy_type, &wanted).await?;
    event.count(kind).created += created;
    event.count(kind).unchanged += known;
    Ok(())
}

/// The text of a rendered-or-raw field (`{"raw": ..., "rendered": ...}`).
fn raw(value: &Value) -> &str {
    value["raw"].as_str().or_else(|| value["rendered"].as_str()).unwrap_or_default()
}

/// The slugs of a post's terms of one taxonomy, from its embedded terms.
fn term_slugs(post: &Value, taxonomy: &str) -> Vec<String> {
    post["_embedded"]["wp:term"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|group| group.as_array().into_iter().flatten())
        .filter(|t| t["taxonomy"] == taxonomy)
        .filter_map(|t| t["slug"].as_str().map(str::to_owned))
        .collect()
}

/// A page of posts or pages into the sector's content.
async fn contents(
    services: &Services,
    integration: &Integration,
    event: &mut SyncEvent,
    kind: &str,
    items: &[Value],
) -> Result<(), ApiError> {
    let site_taxonomies = taxonomies::of_site(services, &event.account_id, &event.site_id).await?;
    for post in items {
        let Some(post_id) = post["id"].as_i64().map(|id| id.to_string()) else { continue };
        let wp_status = post["status"].as_str().unwrap_or("draft").to_owned();
        let mut taxonomy_ids = Vec::new();
        for (taxonomy, ours) in [("category", "category"), ("post_tag", "tag")] {
            for slug in term_slugs(post, taxonomy) {
                if let Some(t) = site_taxonomies.iter().find(|t| t.taxonomy_type == ours && t.slug == slug)
                    && !taxonomy_ids.contains(&t.id)
                {
                    taxonomy_ids.push(t.id.clone());
                }
            }
        }
        let html = sanitize_html(raw(&post["content"]));
        if html.len() > crate::writer::MAX_HTML_BYTES {
            event.error(kind, format!("{kind} {post_id}: the HTML is larger than the content may hold."));
            continue;
        }
        let modified = post["modified_gmt"].as_str().unwrap_or_default().to_owned();
        let mut meta = serde_json::Map::new();
        meta.insert("integration_id".into(), json!(integration.id));
        meta.insert("post_type".into(), json!(post["type"].as_str().unwrap_or(kind)));
        meta.insert("slug".into(), json!(post["slug"]));
        meta.insert("wp_status".into(), json!(wp_status));
        meta.insert("modified".into(), json!(modified));
        meta.insert("categories".into(), json!(term_slugs(post, "category")));
        meta.insert("tags".into(), json!(term_slugs(post, "post_tag")));
        let title: String = raw(&post["title"]).trim().chars().take(crate::validation::max::TITLE).collect();
        let external = External {
            source: String::new(),
            sync_status: "synced".into(),
            external_id: Some(post_id.clone()),
            external_url: post["link"].as_str().map(str::to_owned),
            sync_metadata: meta,
        };
        let link = posts::find(services, &event.account_id, &integration.id, &post_id).await?;
        let linked = match &link {
            Some(link) => crate::records::find::<Content>(services, &event.account_id, &link.content_id).await?,
            None => None,
        };
        let outcome = match linked {
            Some(before)
                if before.external.sync_metadata.get("modified").and_then(Value::as_str) == Some(&modified) =>
            {
                Outcome::Unchanged
            }
            Some(before) => {
                let mut after = before.clone();
                after.title = title;
                after.word_count = word_count(&html);
                after.html = html;
                after.status = content_status(&wp_status).to_owned();
                after.taxonomy_ids = taxonomy_ids;
                after.external = External { source: before.external.source.clone(), ..external };
                match crate::writer::content::save(services, &before, after, Vec::new()).await {
                    Ok(_) => Outcome::Updated,
                    Err(ApiError::Conflict(_)) => Outcome::Failed("changed meanwhile; the next sync takes it".into()),
                    Err(ApiError::NotFound(_)) => Outcome::Failed("its sector is being deleted".into()),
                    Err(err) => return Err(err),
                }
            }
            None => {
                let now = OffsetDateTime::now_utc();
                let content = Content {
                    id: ids::new_id(),
                    account_id: event.account_id.clone(),
                    site_id: event.site_id.clone(),
                    sector_id: event.sector_id.clone(),
                    task_id: None,
                    title,
                    word_count: word_count(&html),
                    html,
                    meta_title: String::new(),
                    meta_description: raw(&post["excerpt"]).chars().take(500).collect(),
                    primary_keyword: String::new(),
                    status: content_status(&wp_status).to_owned(),
                    taxonomy_ids,
                    generated_at: now,
                    updated_at: Some(now),
                    external: External { source: "wordpress".into(), ..external },
                    pipeline: Default::default(),
                };
                create(services, &content, &integration.id, &post_id, link.as_ref()).await?
            }
        };
        match outcome {
            Outcome::Created => event.count(kind).created += 1,
            Outcome::Updated => event.count(kind).updated += 1,
            Outcome::Unchanged => event.count(kind).unchanged += 1,
            Outcome::Failed(why) => event.error(kind, format!("{kind} {post_id}: {why}")),
        }
    }
    Ok(())
}

enum Outcome {
    Created,
    Updated,
    Unchanged,
    Failed(String),
}

/// Creates a pulled content and its post's link together (the link's condition keeps a post from
/// becoming two contents); `dead` is a link found to a content that is gone.
async fn create(
    services: &Services,
    content: &Content,
    integration_id: &str,
    post_id: &str,
    dead: Option<&PostLink>,
) -> Result<Outcome, ApiError> {
    let link = PostLink::of(content, integration_id, post_id).write(dead.map(|l| l.content_id.as_str()))?;
    let step = Step::created(content, vec![Write::Put(content.item()?, Some(Condition::not_exists())), link]);
    let account_id = content.account_id.clone();
    let at = content.generated_at;
    let done =
        counts::commit(services.store().await, &[step], |_| vec![usage::count_write(&account_id, "content", 1, at)])
            .await?;
    Ok(if !done.sector_gone.is_empty() {
        Outcome::Failed("its sector is being deleted".into())
    } else if !done.refused.is_empty() {
        Outcome::Failed("linked to another content meanwhile; the next sync takes it".into())
    } else {
        Outcome::Created
    })
}

/// Queues a sync of each of the site's active WordPress integrations.
pub async fn start_site(
    services: &Services,
    caller: &Caller,
    site_id: &str,
    sector_id: Option<&str>,
) -> Result<Vec<SyncEventAnswer>, ApiError> {
    caller.require_manager()?;
    if crate::sites::visible_site(services, caller, site_id).await.is_err() {
        return Err(ApiError::field("site_id", format!("Invalid pk \"{site_id}\" - object does not exist.")));
    }
    let active: Vec<Integration> = integrations::of_site(services, caller.account_id(), site_id)
        .await?
        .into_iter()
        .filter(|i| i.is_active && i.platform == "wordpress")
        .collect();
    if active.is_empty() {
        return Err(ApiError::field("site_id", "The site has no active WordPress integration."));
    }
    let mut started = Vec::new();
    for integration in &active {
        started.push(start(services, caller, integration, sector_id).await?.answer());
    }
    Ok(started)
}

/// `{id}/sync_status/`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SyncStatus {
    pub integration_id: String,
    /// `pending`, `syncing`, `success` or `failed`.
    pub sync_status: String,
    pub last_sync_at: Option<String>,
    /// The latest sync, if any.
    pub last_event: Option<SyncEventAnswer>,
}

pub async fn status(services: &Services, integration: &Integration) -> Result<SyncStatus, ApiError> {
    let latest = events(services, integration).await?.into_iter().next();
    Ok(SyncStatus {
        integration_id: integration.id.clone(),
        sync_status: integration.sync_status.clone(),
        last_sync_at: integration.last_sync_at.map(rfc3339),
        last_event: latest.map(|e| e.answer()),
    })
}

/// `{id}/get_content_types/`: the structure, or an empty one before any.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContentTypes {
    pub post_types: Vec<super::plugin::PostType>,
    pub taxonomies: Vec<super::plugin::SiteTaxonomy>,
    /// `plugin`, `site`, or none yet.
    pub source: Option<String>,
    pub updated_at: Option<String>,
}

pub async fn content_types(services: &Services, integration: &Integration) -> Result<ContentTypes, ApiError> {
    Ok(match super::plugin::structure_of(services, integration).await? {
        Some(stored) => ContentTypes {
            post_types: stored.structure.post_types,
            taxonomies: stored.structure.taxonomies,
            source: Some(stored.source),
            updated_at: Some(rfc3339(stored.updated_at)),
        },
        None => ContentTypes { post_types: Vec::new(), taxonomies: Vec::new(), source: None, updated_at: None },
    })
}

/// `{id}/update-structure/`: read from the site, a 400 saying why when it cannot be.
pub async fn update_structure(
    services: &Services,
    integration: &Integration,
) -> Result<super::plugin::StoredStructure, ApiError> {
    let credentials = integration.credentials(services).await?;
    let site = Site::new(services, &credentials).await;
    let structure = site.structure().await.map_err(|e| match e {
        WpError::Unavailable(_) | WpError::Refused(_) | WpError::Rejected { .. } | WpError::AddressRefused(_) => {
            ApiError::BadRequest(format!("The site's structure could not be read: {e}."))
        }
        WpError::PostGone => ApiError::internal(e),
    })?;
    super::plugin::save_structure(services, integration, structure, "site").await
}

/// `{id}/debug_status/`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DebugStatus {
    pub integration: super::integrations::IntegrationAnswer,
    /// What a connection test says now.
    pub connection: Connection,
    /// The latest syncs (at most 5).
    pub recent_syncs: Vec<SyncEventAnswer>,
    /// Posts of the site linked to content.
    pub linked_posts: usize,
    pub structure_source: Option<String>,
    pub structure_updated_at: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Connection {
    pub connected: bool,
    /// Why not, when not.
    pub error: Option<String>,
    pub wordpress_version: Option<String>,
    pub can_publish: bool,
}

pub async fn debug_status(services: &Services, integration: &Integration) -> Result<DebugStatus, ApiError> {
    let credentials = integration.credentials(services).await?;
    let (probe, events, links, structure) = tokio::join!(
        super::wordpress::probe(services, &credentials),
        events(services, integration),
        posts::keys_of(services, &integration.account_id, &integration.id),
        super::plugin::structure_of(services, integration),
    );
    let connection = match probe {
        Ok(p) => Connection {
            connected: true,
            error: None,
            wordpress_version: p.wordpress_version,
            can_publish: p.can_publish,
        },
        Err(ApiError::BadRequest(why)) => {
            Connection { connected: false, error: Some(why), wordpress_version: None, can_publish: false }
        }
        Err(err) => return Err(err),
    };
    let structure = structure?;
    Ok(DebugStatus {
        integration: integration.answer(),
        connection,
        recent_syncs: events?.into_iter().take(5).map(|e| e.answer()).collect(),
        linked_posts: links?.len(),
        structure_source: structure.as_ref().map(|s| s.source.clone()),
        structure_updated_at: structure.map(|s| rfc3339(s.updated_at)),
    })
}
