//! The WordPress REST calls of publishing and sync: terms (found by slug, created when missing),
//! media uploads, posts (created, updated, or found again after a call whose answer was lost),
//! pages of posts, pages and terms, and the site's structure, through the guarded outbound client
//! with the integration's timeout.
//!
//! Errors say whether trying again may help ([`WpError::retryable`]): a site that is down, slow or
//! answering 5xx or 429 may recover; refused credentials or a refused body will not.

use std::time::Duration;

use serde_json::{Value, json};

use super::wordpress::Credentials;
use crate::Services;
use crate::outbound::{Outbound, OutboundError, OutboundRequest, OutboundResponse};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WpError {
    /// The site could not be reached, timed out, or answered 5xx or 429.
    #[error("WordPress is unavailable: {0}")]
    Unavailable(String),
    /// The credentials were refused (401, or 403 on what publishing needs).
    #[error("WordPress refused the username or application password: {0}")]
    Refused(String),
    /// The site refused the request itself (another 4xx).
    #[error("WordPress refused the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    /// The site's address is one the deployment may not reach (checked on every call, redirects
    /// included).
    #[error("the site's address is not allowed: {0}")]
    AddressRefused(String),
    /// The post to update is gone from WordPress.
    #[error("the post is gone from WordPress")]
    PostGone,
}

impl WpError {
    pub fn retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// A post as WordPress answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostRef {
    pub id: i64,
    pub link: String,
    pub status: String,
    pub slug: String,
    /// When WordPress last changed it (`modified_gmt`): a sync takes a post again only when it
    /// changed since.
    pub modified: String,
}

/// A media item uploaded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Media {
    pub id: i64,
    pub url: String,
}

/// One site, reached as the integration's user.
pub struct Site<'a> {
    http: Outbound,
    credentials: &'a Credentials,
    timeout: Duration,
}

/// WordPress's own message (`{"code", "message"}`), short, or the status.
fn message_of(answer: &OutboundResponse) -> String {
    let parsed: Option<Value> = serde_json::from_slice(&answer.body).ok();
    let message = parsed.as_ref().and_then(|v| v["message"].as_str()).map(|m| m.chars().take(200).collect::<String>());
    message.unwrap_or_else(|| format!("HTTP {}", answer.status))
}

fn post_ref(value: &Value) -> Option<PostRef> {
    Some(PostRef {
        id: value["id"].as_i64()?,
        link: value["link"].as_str().unwrap_or_default().to_owned(),
        status: value["status"].as_str().unwrap_or_default().to_owned(),
        slug: value["slug"].as_str().unwrap_or_default().to_owned(),
        modified: value["modified_gmt"].as_str().unwrap_or_default().to_owned(),
    })
}

/// A path segment or query value, percent-encoded.
fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

impl<'a> Site<'a> {
    pub async fn new(services: &Services, credentials: &'a Credentials) -> Self {
        Self { http: services.http().await.clone(), credentials, timeout: services.config.wordpress_timeout }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/wp-json/wp/v2/{path}", self.credentials.site_url.trim_end_matches('/'))
    }

    /// Sends `request` as the integration's user; a 2xx answer's JSON, or the error it means.
    async fn call(&self, request: OutboundRequest<'_>) -> Result<Value, WpError> {
        let request = request.basic(&self.credentials.username, &self.credentials.password);
        let answer = self.http.send(request).await.map_err(|e| match e {
            OutboundError::Refused(refused) => WpError::AddressRefused(refused.to_string()),
            other => WpError::Unavailable(other.to_string()),
        })?;
        match answer.status {
            200..=299 => {
                serde_json::from_slice(&answer.body).map_err(|_| WpError::Unavailable("the answer is not JSON".into()))
            }
            401 => Err(WpError::Refused(message_of(&answer))),
            403 => Err(WpError::Refused(message_of(&answer))),
            429 | 500..=599 => Err(WpError::Unavailable(message_of(&answer))),
            status => Err(WpError::Rejected { status, message: message_of(&answer) }),
        }
    }

    /// The id of the integration's user.
    pub async fn me(&self) -> Result<i64, WpError> {
        let me = self.call(OutboundRequest::get(&self.url("users/me"), self.timeout)).await?;
        me["id"].as_i64().ok_or_else(|| WpError::Unavailable("no user id".into()))
    }

    /// The id of the term `slug` of `taxonomy` (`categories` or `tags`), created with `name` when
    /// the site has none; `None` when the user may not create it (authors may not create
    /// categories).
    pub async fn term(&self, taxonomy: &str, name: &str, slug: &str) -> Result<Option<i64>, WpError> {
        let found = self
            .call(OutboundRequest::get(
                &self.url(&format!("{taxonomy}?slug={}&context=edit", encode(slug))),
                self.timeout,
            ))
            .await?;
        if let Some(id) = found.as_array().and_then(|terms| terms.first()).and_then(|t| t["id"].as_i64()) {
            return Ok(Some(id));
        }
        let body = json!({"name": name, "slug": slug});
        match self.call(OutboundRequest::post_json(&self.url(taxonomy), &body, self.timeout)).await {
            Ok(created) => Ok(created["id"].as_i64()),
            Err(WpError::Refused(_)) => Ok(None),
            // Created meanwhile (a concurrent publish): WordPress names the existing term.
            Err(WpError::Rejected { status: 400, .. }) => Ok(self
                .call(OutboundRequest::get(
                    &self.url(&format!("{taxonomy}?slug={}&context=edit", encode(slug))),
                    self.timeout,
                ))
                .await?
                .as_array()
                .and_then(|terms| terms.first())
                .and_then(|t| t["id"].as_i64())),
            Err(other) => Err(other),
        }
    }

    /// Uploads a file to the media library, with `alt` text.
    pub async fn upload(&self, bytes: &[u8], filename: &str, content_type: &str, alt: &str) -> Result<Media, WpError> {
        let disposition = format!("attachment; filename=\"{filename}\"");
        let headers = [("content-type", content_type), ("content-disposition", disposition.as_str())];
        let uploaded = self.call(OutboundRequest::post_raw(&self.url("media"), bytes, &headers, self.timeout)).await?;
        let id = uploaded["id"].as_i64().ok_or_else(|| WpError::Unavailable("no media id".into()))?;
        if !alt.is_empty() {
            let body = json!({"alt_text": alt});
            self.call(OutboundRequest::post_json(&self.url(&format!("media/{id}")), &body, self.timeout)).await?;
        }
        Ok(Media { id, url: uploaded["source_url"].as_str().unwrap_or_default().to_owned() })
    }

    /// A post of `author` titled exactly `title`, dated after `after` (RFC 3339), whose content
    /// holds `marker`: the one an earlier attempt created when its answer was lost.
    pub async fn find_post(
        &self,
        title: &str,
        author: i64,
        after: &str,
        marker: &str,
    ) -> Result<Option<PostRef>, WpError> {
        let path = format!(
            "posts?search={}&author={author}&after={}&status=publish,future,draft,pending,private&context=edit&per_page=100",
            encode(title),
            encode(after)
        );
        let found = self.call(OutboundRequest::get(&self.url(&path), self.timeout)).await?;
        Ok(found
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["title"]["raw"].as_str() == Some(title))
            .filter(|p| p["content"]["raw"].as_str().is_some_and(|c| c.contains(marker)))
            .filter_map(post_ref)
            .min_by_key(|p| p.id))
    }

    /// One page (from 1) of `kind`: `posts` and `pages` of every status with their terms embedded,
    /// or `categories` and `tags`; past the last page, none.
    pub async fn list(&self, kind: &str, page: u32, per_page: usize) -> Result<Vec<Value>, WpError> {
        let extra = match kind {
            "posts" | "pages" => "&status=publish,future,draft,pending,private&_embed=wp:term",
            _ => "",
        };
        let path = format!("{kind}?context=edit&per_page={per_page}&page={page}&orderby=id&order=asc{extra}");
        match self.call(OutboundRequest::get(&self.url(&path), self.timeout)).await {
            Ok(items) => Ok(items.as_array().cloned().unwrap_or_default()),
            // WordPress answers a page past the last one with a 400.
            Err(WpError::Rejected { status: 400, .. }) if page > 1 => Ok(Vec::new()),
            Err(other) => Err(other),
        }
    }

    /// The site's post types and taxonomies, with the first 100 categories and tags.
    pub async fn structure(&self) -> Result<crate::integration::plugin::Structure, WpError> {
        use crate::integration::plugin::{PostType, SiteTaxonomy, Structure, Term};
        let (types_url, taxonomies_url) = (self.url("types?context=edit"), self.url("taxonomies?context=edit"));
        let (types, taxonomies, categories, tags) = tokio::join!(
            self.call(OutboundRequest::get(&types_url, self.timeout)),
            self.call(OutboundRequest::get(&taxonomies_url, self.timeout)),
            self.list("categories", 1, 100),
            self.list("tags", 1, 100),
        );
        let text = |v: &Value| v.as_str().unwrap_or_default().chars().take(100).collect::<String>();
        let terms = |items: Vec<Value>| -> Vec<Term> {
            items
                .iter()
                .map(|t| Term { name: text(&t["name"]), slug: text(&t["slug"]), count: t["count"].as_u64() })
                .filter(|t| !t.name.trim().is_empty())
                .collect()
        };
        let (categories, tags) = (terms(categories?), terms(tags?));
        let post_types = types?
            .as_object()
            .into_iter()
            .flatten()
            .take(50)
            .map(|(name, t)| PostType { name: name.chars().take(100).collect(), label: text(&t["name"]), count: None })
            .collect();
        let taxonomies = taxonomies?
            .as_object()
            .into_iter()
            .flatten()
            .take(50)
            .map(|(name, t)| SiteTaxonomy {
                name: name.chars().take(100).collect(),
                label: text(&t["name"]),
                terms: match name.as_str() {
                    "category" => categories.clone(),
                    "post_tag" => tags.clone(),
                    _ => Vec::new(),
                },
            })
            .collect();
        Ok(Structure { post_types, taxonomies })
    }

    /// Creates a post (`post_id` none) or updates one.
    pub async fn save_post(&self, post_id: Option<i64>, body: &Value) -> Result<PostRef, WpError> {
        let url = match post_id {
            Some(id) => self.url(&format!("posts/{id}")),
            None => self.url("posts"),
        };
        let saved = match self.call(OutboundRequest::post_json(&url, body, self.timeout)).await {
            Err(WpError::Rejected { status: 404 | 410, .. }) if post_id.is_some() => return Err(WpError::PostGone),
            other => other?,
        };
        post_ref(&saved).ok_or_else(|| WpError::Unavailable("no post id".into()))
    }
}
