//! Which content a post on a site is: a link per integration and post id
//! (`ACCOUNT#<a>` / `EXTPOST#<integration>#<post>` → content and sector), written with the
//! content's own change by publishing and sync (so that a post is linked to one content at most,
//! and a re-sync or a republish finds it), read by the plugin's webhooks with one `GetItem`.

use serde::{Deserialize, Serialize};

use crate::store::{Condition, Item, Key, Write, keys};
use crate::writer::Content;
use crate::{ApiError, Services};

const PREFIX: &str = "EXTPOST#";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostLink {
    pub account_id: String,
    pub site_id: String,
    pub integration_id: String,
    pub post_id: String,
    pub content_id: String,
    pub sector_id: String,
}

pub fn key(account_id: &str, integration_id: &str, post_id: &str) -> Key {
    Key::new(keys::account_pk(account_id), format!("{PREFIX}{integration_id}#{post_id}"))
}

impl PostLink {
    pub fn of(content: &Content, integration_id: &str, post_id: &str) -> Self {
        Self {
            account_id: content.account_id.clone(),
            site_id: content.site_id.clone(),
            integration_id: integration_id.to_owned(),
            post_id: post_id.to_owned(),
            content_id: content.id.clone(),
            sector_id: content.sector_id.clone(),
        }
    }

    /// Links the post to its content: written only when the post is not linked yet, is linked to
    /// this same content, or is linked to `dead` (a content found gone when the link was read). A
    /// post is never taken from a live content.
    pub fn write(&self, dead: Option<&str>) -> Result<Write, ApiError> {
        let item = Item::new(&key(&self.account_id, &self.integration_id, &self.post_id), "PostLink", self)?;
        let condition = Condition::new("attribute_not_exists(PK) OR content_id = :content OR content_id = :dead")
            .value(":content", crate::store::s(&self.content_id))
            .value(":dead", crate::store::s(dead.unwrap_or(&self.content_id)));
        Ok(Write::Put(item, Some(condition)))
    }
}

/// The keys of an integration's links (to delete them with it).
pub async fn keys_of(services: &Services, account_id: &str, integration_id: &str) -> Result<Vec<Key>, ApiError> {
    let query =
        crate::store::Query::partition(keys::account_pk(account_id)).sk_prefix(format!("{PREFIX}{integration_id}#"));
    let items = services.store().await.query_all(query).await?;
    let links = items.into_iter().map(crate::store::decode).collect::<Result<Vec<PostLink>, _>>()?;
    Ok(links.iter().map(|l| key(&l.account_id, &l.integration_id, &l.post_id)).collect())
}

/// The link of a post of an integration, if the post is linked.
pub async fn find(
    services: &Services,
    account_id: &str,
    integration_id: &str,
    post_id: &str,
) -> Result<Option<PostLink>, ApiError> {
    Ok(services.store().await.get(&key(account_id, integration_id, post_id)).await?)
}

/// The content a post of `site_id` is, if it is linked to one of that site's (two reads in turn).
pub async fn content_of(
    services: &Services,
    account_id: &str,
    site_id: &str,
    integration_id: &str,
    post_id: &str,
) -> Result<Option<Content>, ApiError> {
    let Some(link) = find(services, account_id, integration_id, post_id).await? else { return Ok(None) };
    if link.site_id != site_id {
        return Ok(None);
    }
    let content: Option<Content> = crate::records::find(services, account_id, &link.content_id).await?;
    Ok(content.filter(|c| c.site_id == site_id))
}

/// What a site said of a content's post when it was published or pulled.
#[derive(Debug, Clone)]
pub struct Post {
    pub post_id: String,
    pub url: Option<String>,
    /// Its status in WordPress.
    pub wp_status: String,
    pub post_type: String,
    pub slug: Option<String>,
    /// When WordPress last changed it (`modified_gmt`).
    pub modified: Option<String>,
}

/// Links `before` to its post on `integration`'s site, with the content's own change (`change`
/// applied to it) in one transaction: `external_id`, `external_url`, `sync_status = synced`, and
/// what the site said in `sync_metadata`. A post already linked to another live content is a 409.
pub async fn attach(
    services: &Services,
    before: &Content,
    integration_id: &str,
    post: &Post,
    change: impl FnOnce(&mut Content),
) -> Result<Content, ApiError> {
    let previous = find(services, &before.account_id, integration_id, &post.post_id).await?;
    let dead = match &previous {
        Some(link) if link.content_id != before.id => {
            let live: Option<Content> = crate::records::find(services, &before.account_id, &link.content_id).await?;
            if live.is_some() {
                return Err(ApiError::Conflict(format!("Post {} is another content's.", post.post_id)));
            }
            Some(link.content_id.clone())
        }
        _ => None,
    };
    let mut after = before.clone();
    change(&mut after);
    after.external.external_id = Some(post.post_id.clone());
    after.external.external_url = post.url.clone().or(after.external.external_url);
    after.external.sync_status = "synced".into();
    let meta = &mut after.external.sync_metadata;
    meta.insert("integration_id".into(), serde_json::json!(integration_id));
    meta.insert("wp_status".into(), serde_json::json!(post.wp_status));
    meta.insert("post_type".into(), serde_json::json!(post.post_type));
    if let Some(slug) = &post.slug {
        meta.insert("slug".into(), serde_json::json!(slug));
    }
    if let Some(modified) = &post.modified {
        meta.insert("modified".into(), serde_json::json!(modified));
    }
    let link = PostLink::of(&after, integration_id, &post.post_id).write(dead.as_deref())?;
    crate::writer::content::save(services, before, after, vec![link]).await
}
