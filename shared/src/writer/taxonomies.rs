//! `/api/v1/writer/taxonomies/`: a site's categories and tags, assignable to its content. Stored
//! in the account's partition (`TAXONOMY#<id>`), with a guard keeping a slug unique per site and
//! kind (`TAXSLUG#<site>#<kind>#<slug>`).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::access::Caller;
use crate::accounts::rfc3339;
use crate::http::openapi::{Data, Paged};
use crate::http::{self, AppState, Ctx, JsonBody, Reply};
use crate::store::{Condition, Item, Key, Query, StoreError, Write, keys};
use crate::throttle::scopes::Writer;
use crate::validation::input::{Bounded, Choice, Id, Text};
use crate::validation::{FieldErrors, Submitted, max};
use crate::{ApiError, Services, ids, sites};
use axum::extract::{Path, State};

pub const KINDS: &[&str] = &["category", "tag"];
const PREFIX: &str = "TAXONOMY#";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Taxonomy {
    pub id: String,
    pub account_id: String,
    pub site_id: String,
    pub taxonomy_type: String,
    pub name: String,
    pub slug: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub parent_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Taxonomy {
    fn key(&self) -> Key {
        Key::new(keys::account_pk(&self.account_id), format!("{PREFIX}{}", self.id))
    }

    fn guard(&self) -> Key {
        Key::new(
            keys::account_pk(&self.account_id),
            format!("TAXSLUG#{}#{}#{}", self.site_id, self.taxonomy_type, self.slug),
        )
    }

    pub fn to_json(&self) -> Value {
        crate::http::answer(TaxonomyAnswer {
            id: self.id.clone(),
            site_id: self.site_id.clone(),
            taxonomy_type: self.taxonomy_type.clone(),
            name: self.name.clone(),
            slug: self.slug.clone(),
            description: self.description.clone(),
            parent_id: self.parent_id.clone(),
            created_at: rfc3339(self.created_at),
        })
    }
}

/// A category or tag as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TaxonomyAnswer {
    pub id: String,
    pub site_id: String,
    /// `category` or `tag`.
    pub taxonomy_type: String,
    pub name: String,
    pub slug: String,
    pub description: String,
    /// The parent category.
    pub parent_id: Option<String>,
    pub created_at: String,
}

/// `Dental Implants & Costs` → `dental-implants-costs`.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').chars().take(100).collect()
}

async fn all(services: &Services, account_id: &str) -> Result<Vec<Taxonomy>, ApiError> {
    let items =
        services.store().await.query_all(Query::partition(keys::account_pk(account_id)).sk_prefix(PREFIX)).await?;
    Ok(items.into_iter().map(crate::store::decode).collect::<Result<Vec<_>, _>>()?)
}

/// The taxonomies of one site.
pub async fn of_site(services: &Services, account_id: &str, site_id: &str) -> Result<Vec<Taxonomy>, ApiError> {
    Ok(all(services, account_id).await?.into_iter().filter(|t| t.site_id == site_id).collect())
}

/// The list's filters.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct Filters {
    /// Only this site's.
    site_id: Option<String>,
    /// `category` or `tag`.
    taxonomy_type: Option<String>,
    /// Text found in the name (case-insensitive).
    search: Option<String>,
    page: Option<u32>,
    page_size: Option<u32>,
}

/// The categories and tags of the sites the caller may see, by name.
#[utoipa::path(get, path = "/api/v1/writer/taxonomies/", operation_id = "list_taxonomies", params(Filters),
    responses((status = 200, description = "Taxonomies", body = Paged<TaxonomyAnswer>)))]
pub async fn list(State(services): State<AppState>, caller: http::Caller<Writer>, ctx: Ctx) -> Result<Reply, ApiError> {
    let (services, query) = (&*services, ctx.query());
    let param = |n: &str| query.get(n).map(|v| v.trim()).filter(|v| !v.is_empty());
    if let Some(site) = param("site_id") {
        sites::visible_site(services, &caller, site).await?;
    }
    let needle = param("search").map(str::to_lowercase);
    let mut found: Vec<Taxonomy> = all(services, caller.account_id())
        .await?
        .into_iter()
        .filter(|t| caller.can_read_site(&t.site_id))
        .filter(|t| param("site_id").is_none_or(|s| s == t.site_id))
        .filter(|t| param("taxonomy_type").is_none_or(|k| k == t.taxonomy_type))
        .filter(|t| needle.as_ref().is_none_or(|n| t.name.to_lowercase().contains(n)))
        .collect();
    found.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then_with(|| a.id.cmp(&b.id)));
    ctx.page(found.iter().map(Taxonomy::to_json).collect())
}

/// A taxonomy the caller may see, else 404.
pub async fn visible(services: &Services, caller: &Caller, taxonomy_id: &str) -> Result<Taxonomy, ApiError> {
    let found = services
        .store()
        .await
        .by_id::<Taxonomy>(taxonomy_id, |id| Key::new(keys::account_pk(caller.account_id()), format!("{PREFIX}{id}")))
        .await?;
    if caller.can_read_site(&found.site_id) { Ok(found) } else { Err(ApiError::not_found()) }
}

/// Makes sure the site has each `(name, slug)` taxonomy of `taxonomy_type` (a sync's terms): those
/// whose slug it has are left as they are, the rest created with their guard (one created
/// meanwhile counts as known). Answers how many were created and how many known.
pub async fn ensure(
    services: &Services,
    account_id: &str,
    site_id: &str,
    taxonomy_type: &str,
    wanted: &[(String, String)],
) -> Result<(u32, u32), ApiError> {
    let site = of_site(services, account_id, site_id).await?;
    let (mut created, mut known) = (0, 0);
    for (name, slug) in wanted {
        let slug = slugify(slug);
        let name: String = name.trim().chars().take(max::NAME).collect();
        if slug.is_empty() || name.is_empty() {
            continue;
        }
        if site.iter().any(|t| t.taxonomy_type == taxonomy_type && t.slug == slug) {
            known += 1;
            continue;
        }
        let taxonomy = Taxonomy {
            id: ids::new_id(),
            account_id: account_id.to_owned(),
            site_id: site_id.to_owned(),
            taxonomy_type: taxonomy_type.to_owned(),
            name,
            slug,
            description: String::new(),
            parent_id: None,
            created_at: OffsetDateTime::now_utc(),
        };
        let guard = Item::new(&taxonomy.guard(), "TaxonomySlug", &json!({"taxonomy_id": taxonomy.id}))?;
        let writes = vec![
            Write::Put(Item::new(&taxonomy.key(), "Taxonomy", &taxonomy)?, Some(Condition::not_exists())),
            Write::Put(guard, Some(Condition::not_exists())),
        ];
        match services.store().await.transact(writes).await {
            Ok(()) => created += 1,
            Err(StoreError::TransactionCancelled { failed }) if failed.contains(&1) => known += 1,
            Err(err) => return Err(err.into()),
        }
    }
    Ok((created, known))
}

fn slug_taken() -> ApiError {
    ApiError::field("slug", "This site already has a taxonomy of this type with this slug.")
}

crate::input! {
    /// A category or tag of a site.
    pub struct NewTaxonomy, changes TaxonomyChanges {
        /// Fixed once created.
        site_id: required String = Id,
        /// `category` or `tag`; fixed once created.
        taxonomy_type: required String = Choice(KINDS),
        name: required String = Bounded(max::NAME),
        /// Made from the name unless sent; unique per site and type.
        slug: optional String = Bounded(max::SLUG),
        description: optional String = Text(max::DESCRIPTION),
        /// Another category of the same site (categories only); `null` clears it.
        parent_id: nullable String = Id,
    }
}

async fn check_parent(
    services: &Services,
    caller: &Caller,
    errors: &mut FieldErrors,
    taxonomy: &mut Taxonomy,
    parent: Option<Option<String>>,
) -> Result<(), ApiError> {
    match parent {
        None => {}
        Some(None) => taxonomy.parent_id = None,
        Some(Some(parent)) => match visible(services, caller, &parent).await {
            Ok(p)
                if p.site_id == taxonomy.site_id
                    && p.taxonomy_type == "category"
                    && taxonomy.taxonomy_type == "category"
                    && p.id != taxonomy.id =>
            {
                taxonomy.parent_id = Some(p.id)
            }
            Ok(_) | Err(ApiError::NotFound(_)) => {
                errors.add("parent_id", "The parent must be another category of the same site.")
            }
            Err(err) => return Err(err),
        },
    }
    Ok(())
}

/// Adds a category or tag to a site.
#[utoipa::path(post, path = "/api/v1/writer/taxonomies/", operation_id = "create_taxonomy", request_body = NewTaxonomy,
    responses((status = 201, description = "The taxonomy", body = Data<TaxonomyAnswer>)))]
pub async fn create(
    State(services): State<AppState>,
    caller: http::Caller<Writer>,
    JsonBody(input): JsonBody<NewTaxonomy>,
) -> Result<Reply, ApiError> {
    let mut errors = FieldErrors::new();
    let site = match sites::visible_site(&services, &caller, &input.site_id).await {
        Ok(site) => Some(site),
        Err(ApiError::NotFound(_)) => {
            errors.add("site_id", format!("Invalid pk \"{}\" - object does not exist.", input.site_id));
            None
        }
        Err(err) => return Err(err),
    };
    if let Some(site) = &site {
        caller.require_site_write(&site.id)?;
    }
    let mut taxonomy = Taxonomy {
        id: ids::new_id(),
        account_id: caller.account_id().to_owned(),
        site_id: site.map(|s| s.id).unwrap_or_default(),
        taxonomy_type: input.taxonomy_type,
        slug: slugify(input.slug.as_deref().unwrap_or(&input.name)),
        name: input.name,
        description: input.description.unwrap_or_default(),
        parent_id: None,
        created_at: OffsetDateTime::now_utc(),
    };
    if taxonomy.slug.is_empty() {
        errors.add("slug", "The slug needs a letter or a digit.");
    }
    check_parent(&services, &caller, &mut errors, &mut taxonomy, input.parent_id).await?;
    errors.finish()?;
    let guard = Item::new(&taxonomy.guard(), "TaxonomySlug", &json!({"taxonomy_id": taxonomy.id}))?;
    let writes = vec![
        Write::Put(Item::new(&taxonomy.key(), "Taxonomy", &taxonomy)?, Some(Condition::not_exists())),
        Write::Put(guard, Some(Condition::not_exists())),
    ];
    match services.store().await.transact(writes).await {
        Ok(()) => Ok(Reply::created(taxonomy.to_json())),
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&1) => Err(slug_taken()),
        Err(err) => Err(err.into()),
    }
}

/// One category or tag.
#[utoipa::path(get, path = "/api/v1/writer/taxonomies/{id}/", operation_id = "taxonomy",
    responses((status = 200, description = "The taxonomy", body = Data<TaxonomyAnswer>)))]
pub async fn get(
    State(services): State<AppState>,
    caller: http::Caller<Writer>,
    Path(taxonomy_id): Path<String>,
) -> Result<Reply, ApiError> {
    Ok(Reply::ok(visible(&services, &caller, &taxonomy_id).await?.to_json()))
}

/// Changes a category or tag: name, slug (kept unique), description, parent.
#[utoipa::path(method(put, patch), path = "/api/v1/writer/taxonomies/{id}/", operation_id = "update_taxonomy", request_body = TaxonomyChanges,
    responses((status = 200, description = "The taxonomy", body = Data<TaxonomyAnswer>)))]
pub async fn update(
    State(services): State<AppState>,
    caller: http::Caller<Writer>,
    Path(taxonomy_id): Path<String>,
    body: Submitted<TaxonomyChanges>,
) -> Result<Reply, ApiError> {
    let before = visible(&services, &caller, &taxonomy_id).await?;
    caller.require_site_write(&before.site_id)?;
    let input = body.read()?;
    let mut errors = FieldErrors::new();
    let mut after = before.clone();
    after.name = input.name.unwrap_or(after.name);
    if let Some(slug) = input.slug {
        after.slug = slugify(&slug);
        if after.slug.is_empty() {
            errors.add("slug", "The slug needs a letter or a digit.");
        }
    }
    after.description = input.description.unwrap_or(after.description);
    for (fixed, sent, now) in
        [("site_id", &input.site_id, &before.site_id), ("taxonomy_type", &input.taxonomy_type, &before.taxonomy_type)]
    {
        if sent.as_ref().is_some_and(|sent| sent != now) {
            errors.add(fixed, "This field cannot be changed.");
        }
    }
    check_parent(&services, &caller, &mut errors, &mut after, input.parent_id).await?;
    errors.finish()?;
    let mut writes = vec![Write::Put(Item::new(&after.key(), "Taxonomy", &after)?, Some(Condition::exists()))];
    if after.slug != before.slug {
        let guard = Item::new(&after.guard(), "TaxonomySlug", &json!({"taxonomy_id": after.id}))?;
        writes.push(Write::Put(guard, Some(Condition::not_exists())));
        writes.push(Write::Delete(before.guard(), None));
    }
    match services.store().await.transact(writes).await {
        Ok(()) => Ok(Reply::ok(after.to_json())),
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&1) => Err(slug_taken()),
        Err(StoreError::TransactionCancelled { .. }) => Err(ApiError::not_found()),
        Err(err) => Err(err.into()),
    }
}

/// Deletes a category or tag: it is also taken off the site's content, and off its child
/// categories.
#[utoipa::path(delete, path = "/api/v1/writer/taxonomies/{id}/", operation_id = "delete_taxonomy", responses((status = 204, description = "Deleted")))]
pub async fn delete(
    State(services): State<AppState>,
    caller: http::Caller<Writer>,
    Path(taxonomy_id): Path<String>,
) -> Result<Reply, ApiError> {
    let (services, caller) = (&*services, &*caller);
    let taxonomy = visible(services, caller, taxonomy_id.as_str()).await?;
    caller.require_site_write(&taxonomy.site_id)?;
    let store = services.store().await;
    store
        .transact(vec![Write::Delete(taxonomy.key(), Some(Condition::exists())), Write::Delete(taxonomy.guard(), None)])
        .await
        .map_err(|e| e.gone_is_not_found())?;
    let contents: Vec<super::Content> = crate::planner::in_account(services, caller.account_id()).await?;
    for mut content in contents.into_iter().filter(|c| c.taxonomy_ids.contains(&taxonomy.id)) {
        content.taxonomy_ids.retain(|t| t != &taxonomy.id);
        content.updated_at = Some(time::OffsetDateTime::now_utc());
        let item = crate::planner::SectorRecord::item(&content)?;
        match store.put(item, Some(Condition::exists())).await {
            Ok(()) | Err(StoreError::ConditionFailed) => {}
            Err(err) => return Err(err.into()),
        }
    }
    for mut child in
        all(services, caller.account_id()).await?.into_iter().filter(|t| t.parent_id.as_deref() == Some(&taxonomy.id))
    {
        child.parent_id = None;
        match store.put(Item::new(&child.key(), "Taxonomy", &child)?, Some(Condition::exists())).await {
            Ok(()) | Err(StoreError::ConditionFailed) => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(Reply::no_content())
}

/// The writer's part of a site's purge ([`crate::purge::SitePurgeHook`]): the site's taxonomies
/// with their slug guards.
pub fn purge_site<'a>(
    services: &'a Services,
    account_id: &'a str,
    site_id: &'a str,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ApiError>> + Send + 'a>> {
    Box::pin(async move {
        let keys: Vec<Key> =
            of_site(services, account_id, site_id).await?.iter().flat_map(|t| [t.key(), t.guard()]).collect();
        services.store().await.delete_batch(&keys).await?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs() {
        assert_eq!(super::slugify("  Dental Implants & Costs! "), "dental-implants-costs");
        assert_eq!(super::slugify("---"), "");
    }
}
