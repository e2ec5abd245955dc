//! The writer: tasks, content and image records, stored per sector next to the planner's
//! (`ACCOUNT#<account>#SECTOR#<sector>`), site taxonomies, and the HTML rules for what a model
//! writes.
//!
//! - [`tasks`], [`content`], [`images`], [`taxonomies`]: the endpoints' domain logic;
//! - [`removal`]: deleting a task, content or image with what belongs to it.

pub mod ai;
pub mod content;
pub mod images;
pub mod removal;
pub mod routes;
pub mod tasks;
pub mod taxonomies;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::accounts::rfc3339;
use crate::records::{SectorRecord, sector_record};
use crate::store::Item;
use crate::{ApiError, Services};

/// Largest HTML body accepted (characters).
pub const MAX_HTML: usize = 200_000;
/// Largest HTML kept once sanitised (UTF-8 bytes): with the other fields, a content item stays
/// well under DynamoDB's 400 KB.
pub const MAX_HTML_BYTES: usize = 300_000;
pub const TASK_PREFIX: &str = "TASK#";
pub const CONTENT_PREFIX: &str = "CONTENT#";
pub const IMAGE_PREFIX: &str = "IMAGE#";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub account_id: String,
    pub site_id: String,
    pub sector_id: String,
    pub title: String,
    pub description: String,
    pub keywords: Vec<String>,
    #[serde(default)]
    pub cluster_id: Option<String>,
    #[serde(default)]
    pub idea_id: Option<String>,
    pub content_type: String,
    pub content_structure: String,
    /// The length asked for.
    pub word_count: u32,
    pub status: String,
    #[serde(default)]
    pub content_id: Option<String>,
    /// The author profile whose voice its content is written in.
    #[serde(default)]
    pub author_profile_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Content {
    pub id: String,
    pub account_id: String,
    pub site_id: String,
    pub sector_id: String,
    #[serde(default)]
    pub task_id: Option<String>,
    pub title: String,
    pub html: String,
    /// Counted from the text, never taken from the model.
    pub word_count: u32,
    pub meta_title: String,
    pub meta_description: String,
    pub primary_keyword: String,
    pub status: String,
    /// Categories and tags of the content's site.
    #[serde(default)]
    pub taxonomy_ids: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// The last write; content written before it was kept answers `generated_at`.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
    /// Where it comes from and where its copy on the site stands (stored as one map).
    #[serde(default)]
    pub external: External,
    /// What the linker and the optimizer did to it (stored as one map).
    #[serde(default)]
    pub pipeline: Pipeline,
}

/// An internal link the linker put in a content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InternalLink {
    /// The linked words, as they are in the text.
    pub anchor: String,
    /// The content linked to (of the same site).
    pub target_id: String,
    pub url: String,
}

/// The post-processing of a content: links, optimisation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    #[serde(default)]
    pub internal_links: Vec<InternalLink>,
    /// How many times the linker ran on it.
    #[serde(default)]
    pub linker_version: u32,
    /// How many times the optimizer rewrote it.
    #[serde(default)]
    pub optimizer_version: u32,
    /// The analyzer's last scores (`total` and one per dimension).
    #[serde(default)]
    pub optimization_scores: serde_json::Map<String, Value>,
}

/// Below this total, content `needs_optimization`.
pub const NEEDS_OPTIMIZATION_BELOW: f64 = 70.0;

impl Pipeline {
    pub fn linking_status(&self) -> &'static str {
        if self.linker_version > 0 { "linked" } else { "not_linked" }
    }

    pub fn optimization_status(&self) -> &'static str {
        match self.optimization_scores.get("total").and_then(Value::as_f64) {
            Some(total) if total < NEEDS_OPTIMIZATION_BELOW => "needs_optimization",
            _ if self.optimizer_version > 0 => "optimized",
            _ => "not_optimized",
        }
    }
}

/// Where a content comes from and where its copy on the site stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct External {
    /// `igny8` (written here) or `wordpress` (pulled from the site by a sync).
    #[serde(default = "External::own")]
    pub source: String,
    /// `native` (written here, not on a site yet), `synced` (linked to its post: published from
    /// here or pulled by a sync) or `imported` (taken once from elsewhere). How a publish goes is
    /// its publishing record's.
    #[serde(default = "External::native")]
    pub sync_status: String,
    /// Its post on the site (the WordPress post id).
    #[serde(default)]
    pub external_id: Option<String>,
    /// That post's address.
    #[serde(default)]
    pub external_url: Option<String>,
    /// What the site says of the post: `integration_id`, `post_type`, `slug`, `wp_status`,
    /// `categories`, `tags`, `modified`.
    #[serde(default)]
    pub sync_metadata: serde_json::Map<String, Value>,
}

pub const SOURCES: &[&str] = &["igny8", "wordpress"];
pub const SYNC_STATUSES: &[&str] = &["native", "imported", "synced"];

impl External {
    fn own() -> String {
        "igny8".into()
    }
    fn native() -> String {
        "native".into()
    }
}

impl Default for External {
    fn default() -> Self {
        Self {
            source: Self::own(),
            sync_status: Self::native(),
            external_id: None,
            external_url: None,
            sync_metadata: serde_json::Map::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRecord {
    pub id: String,
    pub account_id: String,
    pub site_id: String,
    pub sector_id: String,
    #[serde(default)]
    pub content_id: Option<String>,
    #[serde(default)]
    pub task_id: Option<String>,
    /// `featured`, `desktop`, `mobile` or `in_article`.
    pub image_type: String,
    pub prompt: String,
    pub position: u32,
    pub status: String,
    #[serde(default)]
    pub s3_key: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A writer task as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TaskAnswer {
    pub id: String,
    pub title: String,
    pub description: String,
    /// Comma-separated, as the original answered.
    pub keywords: String,
    pub cluster_id: Option<String>,
    pub idea_id: Option<String>,
    pub content_type: String,
    pub content_structure: String,
    /// The length asked for.
    pub word_count: u32,
    pub status: String,
    /// The content written for it.
    pub content_id: Option<String>,
    /// The author profile whose voice its content is written in.
    pub author_profile_id: Option<String>,
    pub site_id: String,
    pub sector_id: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&Task> for TaskAnswer {
    fn from(t: &Task) -> Self {
        Self {
            id: t.id.clone(),
            title: t.title.clone(),
            description: t.description.clone(),
            keywords: t.keywords.join(", "),
            cluster_id: t.cluster_id.clone(),
            idea_id: t.idea_id.clone(),
            content_type: t.content_type.clone(),
            content_structure: t.content_structure.clone(),
            word_count: t.word_count,
            status: t.status.clone(),
            content_id: t.content_id.clone(),
            author_profile_id: t.author_profile_id.clone(),
            site_id: t.site_id.clone(),
            sector_id: t.sector_id.clone(),
            created_at: rfc3339(t.created_at),
        }
    }
}

/// A piece of content as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContentAnswer {
    pub id: String,
    pub task_id: Option<String>,
    pub title: String,
    /// Sanitised HTML.
    pub html_content: String,
    /// Counted from the text.
    pub word_count: u32,
    pub meta_title: String,
    pub meta_description: String,
    pub primary_keyword: String,
    pub status: String,
    #[schema(format = DateTime)]
    pub generated_at: String,
    /// The last change, by hand or by the AI.
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// Whether image records with prompts exist for it.
    pub has_image_prompts: bool,
    /// Whether one of its images has been generated.
    pub has_generated_images: bool,
    /// Categories and tags of the content's site.
    pub taxonomy_ids: Vec<String>,
    pub site_id: String,
    pub sector_id: String,
    /// `igny8` or `wordpress`.
    pub source: String,
    /// `native`, `imported` or `synced`.
    pub sync_status: String,
    /// Its WordPress post id, once published or synced.
    pub external_id: Option<String>,
    /// The same as a number (the original's `wp_post_id`).
    pub wp_post_id: Option<i64>,
    pub external_url: Option<String>,
    #[schema(value_type = Object)]
    pub sync_metadata: serde_json::Map<String, Value>,
    /// The internal links the linker put in.
    pub internal_links: Vec<InternalLink>,
    pub linker_version: u32,
    pub optimizer_version: u32,
    /// The analyzer's last scores: `total` and one per dimension, 0–100.
    #[schema(value_type = Object)]
    pub optimization_scores: serde_json::Map<String, Value>,
    /// `not_linked` or `linked`.
    pub linking_status: String,
    /// `not_optimized`, `optimized`, or `needs_optimization` (scored below 70).
    pub optimization_status: String,
}

impl From<&Content> for ContentAnswer {
    fn from(c: &Content) -> Self {
        Self {
            id: c.id.clone(),
            task_id: c.task_id.clone(),
            title: c.title.clone(),
            html_content: c.html.clone(),
            word_count: c.word_count,
            meta_title: c.meta_title.clone(),
            meta_description: c.meta_description.clone(),
            primary_keyword: c.primary_keyword.clone(),
            status: c.status.clone(),
            generated_at: rfc3339(c.generated_at),
            updated_at: rfc3339(c.updated_at.unwrap_or(c.generated_at)),
            // Known from its images: filled in by `Content::answers`.
            has_image_prompts: false,
            has_generated_images: false,
            taxonomy_ids: c.taxonomy_ids.clone(),
            site_id: c.site_id.clone(),
            sector_id: c.sector_id.clone(),
            source: c.external.source.clone(),
            sync_status: c.external.sync_status.clone(),
            external_id: c.external.external_id.clone(),
            wp_post_id: c.external.external_id.as_deref().and_then(|id| id.parse().ok()),
            external_url: c.external.external_url.clone(),
            sync_metadata: c.external.sync_metadata.clone(),
            internal_links: c.pipeline.internal_links.clone(),
            linker_version: c.pipeline.linker_version,
            optimizer_version: c.pipeline.optimizer_version,
            optimization_scores: c.pipeline.optimization_scores.clone(),
            linking_status: c.pipeline.linking_status().to_owned(),
            optimization_status: c.pipeline.optimization_status().to_owned(),
        }
    }
}

/// An image record as the API answers it (its file through `images/{id}/file/`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImageAnswer {
    pub id: String,
    pub content_id: Option<String>,
    pub task_id: Option<String>,
    /// `featured`, `desktop`, `mobile` or `in_article`.
    pub image_type: String,
    pub prompt: String,
    pub position: u32,
    pub status: String,
    /// Whether a file was generated.
    pub has_file: bool,
    pub site_id: String,
    pub sector_id: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&ImageRecord> for ImageAnswer {
    fn from(i: &ImageRecord) -> Self {
        Self {
            id: i.id.clone(),
            content_id: i.content_id.clone(),
            task_id: i.task_id.clone(),
            image_type: i.image_type.clone(),
            prompt: i.prompt.clone(),
            position: i.position,
            status: i.status.clone(),
            has_file: i.s3_key.is_some(),
            site_id: i.site_id.clone(),
            sector_id: i.sector_id.clone(),
            created_at: rfc3339(i.created_at),
        }
    }
}

impl SectorRecord for Task {
    type Answer = TaskAnswer;
    sector_record!(Task, TASK_PREFIX, "Task");
}

impl SectorRecord for Content {
    type Answer = ContentAnswer;
    sector_record!(Content, CONTENT_PREFIX, "Content");

    /// With `has_image_prompts` and `has_generated_images` from each content's own images (one
    /// index query per content, all at once: a page reads its contents' images, not the sector's).
    async fn answers(services: &Services, records: Vec<Self>) -> Result<Vec<Value>, ApiError> {
        let images =
            futures_util::future::try_join_all(records.iter().map(|c| content_images(services, &c.account_id, &c.id)))
                .await?;
        let mut prompts = std::collections::HashSet::new();
        let mut generated = std::collections::HashSet::new();
        for image in images.iter().flatten() {
            if let Some(content) = &image.content_id {
                if !image.prompt.is_empty() {
                    prompts.insert(content.as_str());
                }
                if image.status == "generated" {
                    generated.insert(content.as_str());
                }
            }
        }
        Ok(records
            .iter()
            .map(|c| {
                let mut answer = ContentAnswer::from(c);
                answer.has_image_prompts = prompts.contains(c.id.as_str());
                answer.has_generated_images = generated.contains(c.id.as_str());
                serde_json::to_value(answer).unwrap_or_default()
            })
            .collect())
    }
}

impl SectorRecord for ImageRecord {
    type Answer = ImageAnswer;
    sector_record!(ImageRecord, IMAGE_PREFIX, "Image");

    /// Also on GSI2 under its content, when it has one.
    fn indexed(&self, item: Item) -> Item {
        match &self.content_id {
            Some(content) => item.gsi2(content_images_gsi2(&self.account_id, content, &self.id)),
            None => item,
        }
    }
}

/// GSI2 of an image of a content: the content's images (`ACCOUNT#<a>#CONTENT#<c>` / `IMAGE#<id>`).
pub fn content_images_gsi2(account_id: &str, content_id: &str, image_id: &str) -> (String, String) {
    (
        format!("{}#{CONTENT_PREFIX}{content_id}", crate::store::keys::account_pk(account_id)),
        format!("{IMAGE_PREFIX}{image_id}"),
    )
}

/// The images of a content (GSI2; the index may lag a moment behind a change, so each image's own
/// `content_id` is trusted).
pub async fn content_images(
    services: &Services,
    account_id: &str,
    content_id: &str,
) -> Result<Vec<ImageRecord>, ApiError> {
    let (pk, _) = content_images_gsi2(account_id, content_id, "");
    let items = services.store().await.query_all(crate::store::Query::index(crate::store::keys::GSI2, pk)).await?;
    let images = items.into_iter().map(crate::store::decode).collect::<Result<Vec<ImageRecord>, _>>()?;
    Ok(images.into_iter().filter(|i| i.content_id.as_deref() == Some(content_id)).collect())
}

/// Keeps the structure of an article and drops everything that could run: scripts, styles,
/// event handlers, `javascript:` and other non-web URLs, frames and forms.
pub fn sanitize_html(html: &str) -> String {
    ammonia::Builder::default()
        .tags(
            [
                "h1",
                "h2",
                "h3",
                "h4",
                "h5",
                "h6",
                "p",
                "br",
                "hr",
                "ul",
                "ol",
                "li",
                "strong",
                "b",
                "em",
                "i",
                "u",
                "blockquote",
                "code",
                "pre",
                "a",
                "img",
                "table",
                "thead",
                "tbody",
                "tr",
                "th",
                "td",
                "figure",
                "figcaption",
                "span",
                "div",
            ]
            .into_iter()
            .collect(),
        )
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer"))
        .clean(html)
        .to_string()
}

/// The text a reader sees in `html` (entities left as they are).
pub fn word_text(html: &str) -> String {
    // Tags separate words (`</h2><p>`); the space before each keeps them apart once removed.
    ammonia::Builder::empty().clean(&html.replace('<', " <")).to_string()
}

/// The number of words a reader sees in `html`.
pub fn word_count(html: &str) -> u32 {
    word_text(html).split(|c: char| c.is_whitespace()).filter(|w| w.chars().any(char::is_alphanumeric)).count() as u32
}

pub use crate::ai::images::presigned_url;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_html_is_defused() {
        let hostile = r#"<h2 onclick="steal()">Title</h2><script>alert(1)</script><p style="x">Hi <a href="javascript:alert(1)">there</a>
            <img src="x" onerror="alert(2)"><iframe src="https://evil.example"></iframe><a href="https://ok.example">ok</a></p>
            <svg><script>alert(3)</script></svg><form action="/steal"><input name="p"></form>"#;
        let clean = sanitize_html(hostile);
        for bad in
            ["<script", "onclick", "onerror", "javascript:", "<iframe", "<form", "<input", "style=", "<svg", "alert("]
        {
            assert!(!clean.to_lowercase().contains(bad), "{bad} survived: {clean}");
        }
        assert!(clean.contains("<h2>Title</h2>"));
        assert!(clean.contains(r#"href="https://ok.example""#));
    }

    #[test]
    fn words_are_counted_from_the_text() {
        assert_eq!(word_count("<h2>Two words</h2><p>and <strong>three</strong> more — here</p>"), 6);
        assert_eq!(word_count("<script>not counted at all</script><p>one</p>"), 1);
    }
}
