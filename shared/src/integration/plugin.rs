//! What the site's WordPress plugin calls, behind the API-key authorizer ([`crate::http::SiteKey`]):
//! the webhooks that tell a post's changes (`webhooks/wordpress/status/`, `.../metadata/`), the
//! site's published content, and the site's structure (post types and taxonomies). A key reaches
//! its own site only: every read starts from the key's account and site.
//!
//! A site may have several WordPress integrations: a body may name its `integration_id`; without
//! it the site's only WordPress integration is meant.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::integrations::{self, Integration};
use super::posts;
use crate::http::SiteKey;
use crate::store::{Item, Key, Query, keys};
use crate::validation::input::{Bounded, Choice, Custom, Id, Integer, Text, Texts};
use crate::validation::{FieldErrors, max};
use crate::writer::{Content, ContentAnswer, taxonomies};
use crate::{ApiError, Services};

/// A post's statuses in WordPress.
pub const WP_STATUSES: &[&str] = &["publish", "future", "private", "pending", "draft", "trash"];

/// The content status a post's status in WordPress means.
pub fn content_status(wp_status: &str) -> &'static str {
    match wp_status {
        "publish" | "future" | "private" => "published",
        "pending" => "review",
        _ => "draft",
    }
}

crate::input! {
    /// A post's status changed in WordPress.
    pub struct StatusWebhook {
        /// The WordPress post id.
        post_id: required i64 = Integer(1, i64::MAX),
        /// Its status in WordPress: `publish`, `future` and `private` make the content
        /// `published`, `pending` makes it `review`, `draft` and `trash` make it `draft`.
        status: required String = Choice(WP_STATUSES),
        /// The integration the post belongs to (required when the site has several).
        integration_id: optional String = Id,
    }
}

crate::input! {
    /// A post's title, slug, address, categories or tags changed in WordPress.
    pub struct MetadataWebhook {
        post_id: required i64 = Integer(1, i64::MAX),
        integration_id: optional String = Id,
        title: optional String = Bounded(max::TITLE),
        slug: optional String = Text(max::NAME),
        /// The post's address (http or https).
        url: optional String = Custom(web_url, web_url_schema),
        /// Category names; those the site has among its taxonomies are assigned.
        categories: optional Vec<String> = Texts(50, max::NAME),
        /// Tag names; those the site has among its taxonomies are assigned.
        tags: optional Vec<String> = Texts(50, max::NAME),
    }
}

fn web_url(value: &Value) -> Result<String, String> {
    let text = value.as_str().ok_or("Not a valid string.")?.trim();
    if text.len() > max::URL {
        return Err(format!("Ensure this field has no more than {} characters.", max::URL));
    }
    match url::Url::parse(text) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(text.to_owned()),
        _ => Err("Enter a valid URL.".into()),
    }
}

fn web_url_schema() -> utoipa::openapi::schema::Schema {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .format(Some(utoipa::openapi::schema::SchemaFormat::Custom("uri".into())))
        .max_length(Some(max::URL))
        .into()
}

/// The integration a plugin request means: the one it names (of its site), or the site's only
/// WordPress integration.
pub async fn integration_of(
    services: &Services,
    key: &SiteKey<impl Send>,
    named: Option<&str>,
) -> Result<Integration, ApiError> {
    if let Some(id) = named {
        let found: Option<Integration> = services.store().await.get(&Integration::key(&key.account_id, id)).await?;
        return found.filter(|i| i.site_id == key.site_id).ok_or_else(ApiError::not_found);
    }
    let mut wordpress: Vec<Integration> = integrations::of_site(services, &key.account_id, &key.site_id)
        .await?
        .into_iter()
        .filter(|i| i.platform == "wordpress")
        .collect();
    match wordpress.len() {
        0 => Err(ApiError::NotFound("This site has no WordPress integration.".into())),
        1 => Ok(wordpress.remove(0)),
        _ => Err(ApiError::field("integration_id", "This site has several WordPress integrations: name one.")),
    }
}

/// The content a post of the key's site is, through the integration the body names (or the
/// site's only one): 404 when no content of the site is linked to it.
async fn linked_content(
    services: &Services,
    key: &SiteKey<impl Send>,
    integration_id: Option<&str>,
    post_id: i64,
) -> Result<Content, ApiError> {
    let integration = integration_of(services, key, integration_id).await?;
    posts::content_of(services, &key.account_id, &key.site_id, &integration.id, &post_id.to_string())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("No content of this site is linked to post {post_id}.")))
}

fn answer(content: &Content) -> Value {
    crate::http::answer(ContentAnswer::from(content))
}

/// `webhooks/wordpress/status/`: the content follows its post's status.
pub async fn status_changed(
    services: &Services,
    key: &SiteKey<impl Send>,
    input: StatusWebhook,
) -> Result<Value, ApiError> {
    let before = linked_content(services, key, input.integration_id.as_deref(), input.post_id).await?;
    let mut after = before.clone();
    after.status = content_status(&input.status).to_owned();
    after.external.sync_status = "synced".into();
    after.external.sync_metadata.insert("wp_status".into(), json!(input.status));
    let after = crate::writer::content::save(services, &before, after, Vec::new()).await?;
    tracing::info!(content_id = %after.id, post_id = input.post_id, status = %input.status, "post status from WordPress");
    Ok(answer(&after))
}

/// `webhooks/wordpress/metadata/`: the content takes its post's title, address, slug,
/// categories and tags (those of the site's taxonomies; the names are kept as WordPress sent them).
pub async fn metadata_changed(
    services: &Services,
    key: &SiteKey<impl Send>,
    input: MetadataWebhook,
) -> Result<Value, ApiError> {
    let before = linked_content(services, key, input.integration_id.as_deref(), input.post_id).await?;
    let mut after = before.clone();
    if let Some(title) = input.title {
        after.title = title.trim().to_owned();
    }
    if let Some(url) = input.url {
        after.external.external_url = Some(url);
    }
    let meta = &mut after.external.sync_metadata;
    if let Some(slug) = input.slug {
        meta.insert("slug".into(), json!(slug));
    }
    if input.categories.is_some() || input.tags.is_some() {
        let site = taxonomies::of_site(services, &key.account_id, &key.site_id).await?;
        let mut chosen = Vec::new();
        for (kind, names) in [("category", &input.categories), ("tag", &input.tags)] {
            let Some(names) = names else {
                // Not sent: this kind's assignments stay as they are.
                chosen.extend(
                    before
                        .taxonomy_ids
                        .iter()
                        .filter(|id| site.iter().any(|t| &t.id == *id && t.taxonomy_type == kind))
                        .cloned(),
                );
                continue;
            };
            meta.insert(if kind == "category" { "categories" } else { "tags" }.into(), json!(names));
            for name in names {
                let found = site.iter().find(|t| {
                    t.taxonomy_type == kind && (t.name.eq_ignore_ascii_case(name.trim()) || t.slug == name.trim())
                });
                if let Some(t) = found.filter(|t| !chosen.contains(&t.id)) {
                    chosen.push(t.id.clone());
                }
            }
        }
        after.taxonomy_ids = chosen;
    }
    after.external.sync_status = "synced".into();
    let after = crate::writer::content::save(services, &before, after, Vec::new()).await?;
    tracing::info!(content_id = %after.id, post_id = input.post_id, "post metadata from WordPress");
    Ok(answer(&after))
}

/// `plugin/content/`: the key's site's published content, newest change first (each sector's
/// published content from its status index, the site's sectors read at once).
pub async fn published(services: &Services, key: &SiteKey<impl Send>) -> Result<Vec<Value>, ApiError> {
    let sectors: Vec<_> = crate::sites::all_sectors(services, &key.account_id)
        .await?
        .into_iter()
        .filter(|s| s.site_id == key.site_id)
        .collect();
    let reads = sectors.iter().map(|sector| async move {
        let (pk, _) = crate::records::pages::status_gsi3::<Content>(&key.account_id, &sector.id, "published", "");
        let items = services.store().await.query_all(Query::index(keys::GSI3, pk)).await?;
        items.into_iter().map(crate::store::decode).collect::<Result<Vec<Content>, _>>().map_err(ApiError::from)
    });
    let mut found: Vec<Content> = futures_util::future::try_join_all(reads).await?.into_iter().flatten().collect();
    // The index may lag a moment behind a change: each record's own status is trusted.
    found.retain(|c| c.status == "published" && c.site_id == key.site_id);
    found.sort_by_key(|c| std::cmp::Reverse(c.updated_at.unwrap_or(c.generated_at)));
    Ok(found.iter().map(answer).collect())
}

/// One post type of the site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostType {
    /// Its name in WordPress (`post`, `page`, `product`...).
    #[schema(max_length = 100)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 100)]
    pub label: String,
    /// How many items of it the site has.
    #[serde(default)]
    pub count: Option<u64>,
}

/// One taxonomy of the site and its terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteTaxonomy {
    /// Its name in WordPress (`category`, `post_tag`, `product_cat`...).
    #[schema(max_length = 100)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 100)]
    pub label: String,
    #[serde(default)]
    pub terms: Vec<Term>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Term {
    #[schema(max_length = 100)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 100)]
    pub slug: String,
    #[serde(default)]
    pub count: Option<u64>,
}

/// The most post types and taxonomies a structure holds, the most terms in all, and the longest
/// name, label or slug: a structure item stays far below DynamoDB's 400 KB.
pub const MAX_TYPES: usize = 50;
pub const MAX_TERMS: usize = 1000;
pub const MAX_STRUCTURE_TEXT: usize = 100;

/// A site's structure: what the plugin pushes, or what `update-structure/` read from the site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Structure {
    pub post_types: Vec<PostType>,
    pub taxonomies: Vec<SiteTaxonomy>,
}

/// Names present and every text within [`MAX_STRUCTURE_TEXT`].
fn texts_fit<'a>(
    names: impl IntoIterator<Item = &'a String>,
    others: impl IntoIterator<Item = &'a String>,
) -> Result<(), String> {
    let mut blank = false;
    let mut long = false;
    for name in names {
        blank |= name.trim().is_empty();
        long |= name.chars().count() > MAX_STRUCTURE_TEXT;
    }
    for other in others {
        long |= other.chars().count() > MAX_STRUCTURE_TEXT;
    }
    if long {
        return Err(format!("Ensure names, labels and slugs have no more than {MAX_STRUCTURE_TEXT} characters."));
    }
    if blank {
        return Err("A name may not be blank.".into());
    }
    Ok(())
}

fn check_post_types(types: &[PostType]) -> Result<(), String> {
    if types.len() > MAX_TYPES {
        return Err(format!("Ensure this field has no more than {MAX_TYPES} elements."));
    }
    texts_fit(types.iter().map(|t| &t.name), types.iter().map(|t| &t.label))
}

fn check_taxonomies(taxonomies: &[SiteTaxonomy]) -> Result<(), String> {
    if taxonomies.len() > MAX_TYPES {
        return Err(format!("Ensure this field has no more than {MAX_TYPES} elements."));
    }
    if taxonomies.iter().map(|t| t.terms.len()).sum::<usize>() > MAX_TERMS {
        return Err(format!("Ensure the taxonomies have no more than {MAX_TERMS} terms in all."));
    }
    let terms = taxonomies.iter().flat_map(|t| t.terms.iter());
    texts_fit(
        taxonomies.iter().map(|t| &t.name).chain(terms.clone().map(|t| &t.name)),
        taxonomies.iter().map(|t| &t.label).chain(terms.map(|t| &t.slug)),
    )
}

impl Structure {
    /// Checks the bounds (what the site's REST API answered is held to the plugin's).
    pub fn check(&self) -> Result<(), ApiError> {
        let mut errors = FieldErrors::new();
        if let Err(message) = check_post_types(&self.post_types) {
            errors.add("post_types", message);
        }
        if let Err(message) = check_taxonomies(&self.taxonomies) {
            errors.add("taxonomies", message);
        }
        errors.finish()
    }
}

/// A structure as stored: `ACCOUNT#<a>` / `SITESTRUCTURE#<integration>`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredStructure {
    pub integration_id: String,
    pub site_id: String,
    #[serde(flatten)]
    pub structure: Structure,
    /// `plugin` (pushed by the plugin) or `site` (read from the site's REST API).
    pub source: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

pub fn structure_key(account_id: &str, integration_id: &str) -> Key {
    Key::new(keys::account_pk(account_id), format!("SITESTRUCTURE#{integration_id}"))
}

/// Keeps `structure` as the integration's.
pub async fn save_structure(
    services: &Services,
    integration: &Integration,
    structure: Structure,
    source: &str,
) -> Result<StoredStructure, ApiError> {
    structure.check()?;
    let stored = StoredStructure {
        integration_id: integration.id.clone(),
        site_id: integration.site_id.clone(),
        structure,
        source: source.to_owned(),
        updated_at: OffsetDateTime::now_utc(),
    };
    let key = structure_key(&integration.account_id, &integration.id);
    services.store().await.put(Item::new(&key, "SiteStructure", &stored)?, None).await?;
    Ok(stored)
}

/// The integration's structure, if it has one.
pub async fn structure_of(services: &Services, integration: &Integration) -> Result<Option<StoredStructure>, ApiError> {
    Ok(services.store().await.get(&structure_key(&integration.account_id, &integration.id)).await?)
}

crate::input! {
    /// The site's structure as the plugin sends it.
    pub struct StructurePush {
        /// The integration it is for (required when the site has several).
        integration_id: optional String = Id,
        /// `[{name, label?, count?}]`, at most 50.
        post_types: required Vec<PostType> = Custom(post_types, post_types_schema),
        /// `[{name, label?, terms?: [{name, slug?, count?}]}]`, at most 50, 1,000 terms in all.
        taxonomies: optional Vec<SiteTaxonomy> = Custom(site_taxonomies, taxonomies_schema),
    }
}

fn post_types(value: &Value) -> Result<Vec<PostType>, String> {
    let types: Vec<PostType> =
        serde_json::from_value(value.clone()).map_err(|_| "Expected a list of {name, label?, count?}.".to_owned())?;
    check_post_types(&types)?;
    Ok(types)
}

fn site_taxonomies(value: &Value) -> Result<Vec<SiteTaxonomy>, String> {
    let taxonomies: Vec<SiteTaxonomy> = serde_json::from_value(value.clone())
        .map_err(|_| "Expected a list of {name, label?, terms?: [{name, slug?, count?}]}.".to_owned())?;
    check_taxonomies(&taxonomies)?;
    Ok(taxonomies)
}

fn post_types_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::PartialSchema;
    utoipa::openapi::schema::ArrayBuilder::new().items(PostType::schema()).max_items(Some(MAX_TYPES)).into()
}

fn taxonomies_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::PartialSchema;
    utoipa::openapi::schema::ArrayBuilder::new().items(SiteTaxonomy::schema()).max_items(Some(MAX_TYPES)).into()
}

/// `plugin/structure/`: keeps the site's structure as the plugin sends it.
pub async fn push_structure(
    services: &Services,
    key: &SiteKey<impl Send>,
    input: StructurePush,
) -> Result<StoredStructure, ApiError> {
    let integration = integration_of(services, key, input.integration_id.as_deref()).await?;
    let structure = Structure { post_types: input.post_types, taxonomies: input.taxonomies.unwrap_or_default() };
    save_structure(services, &integration, structure, "plugin").await
}
