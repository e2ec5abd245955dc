//! `/api/v1/writer/taxonomies/`: a site's categories and tags, assignable to its content. Stored
//! in the account's partition (`TAXONOMY#<id>`), with a guard keeping a slug unique per site and
//! kind (`TAXSLUG#<site>#<kind>#<slug>`).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::access::Caller;
use crate::accounts::rfc3339;
use crate::store::{Condition, Item, Key, Query, StoreError, Write, keys};
use crate::validation::{Fields, bounded, choice, id, max, text};
use crate::{ApiError, Services, ids, sites};

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
        json!({
            "id": self.id, "site_id": self.site_id, "taxonomy_type": self.taxonomy_type, "name": self.name,
            "slug": self.slug, "description": self.description, "parent_id": self.parent_id,
            "created_at": rfc3339(self.created_at),
        })
    }
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

/// Taxonomies of the sites the caller may see; filters `site_id`, `taxonomy_type`, `search`.
pub async fn list(
    services: &Services,
    caller: &Caller,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    let param = |n: &str| query.get(n).map(|v| v.trim()).filter(|v| !v.is_empty());
    if let Some(site) = param("site_id") {
        sites::visible_site(services, caller, site).await?;
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
    Ok(found.iter().map(Taxonomy::to_json).collect())
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

fn slug_taken() -> ApiError {
    ApiError::field("slug", "This site already has a taxonomy of this type with this slug.")
}

async fn parent_field(
    services: &Services,
    caller: &Caller,
    f: &mut Fields,
    taxonomy: &mut Taxonomy,
) -> Result<(), ApiError> {
    if f.sent_null("parent_id") {
        taxonomy.parent_id = None;
    } else if let Some(parent) = f.optional("parent_id", id) {
        match visible(services, caller, &parent).await {
            Ok(p)
                if p.site_id == taxonomy.site_id
                    && p.taxonomy_type == "category"
                    && taxonomy.taxonomy_type == "category"
                    && p.id != taxonomy.id =>
            {
                taxonomy.parent_id = Some(p.id)
            }
            Ok(_) | Err(ApiError::NotFound(_)) => {
                f.error("parent_id", "The parent must be another category of the same site.")
            }
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// `POST taxonomies/` `{site_id, taxonomy_type, name, slug?, description?, parent_id?}`.
pub async fn create(services: &Services, caller: &Caller, body: &[u8]) -> Result<Value, ApiError> {
    let mut f = Fields::parse(body)?;
    let site_id = f.required("site_id", id);
    let site = match &site_id {
        Some(site_id) => match sites::visible_site(services, caller, site_id).await {
            Ok(site) => Some(site),
            Err(ApiError::NotFound(_)) => {
                f.error("site_id", format!("Invalid pk \"{site_id}\" - object does not exist."));
                None
            }
            Err(err) => return Err(err),
        },
        None => None,
    };
    if let Some(site) = &site {
        caller.require_site_write(&site.id)?;
    }
    let kind = f.required("taxonomy_type", choice(KINDS));
    let name = f.required("name", bounded(max::NAME));
    let slug = f.optional("slug", bounded(max::SLUG)).map(|s| slugify(&s));
    let description = f.optional("description", text(max::DESCRIPTION)).unwrap_or_default();
    let mut taxonomy = Taxonomy {
        id: ids::new_id(),
        account_id: caller.account_id().to_owned(),
        site_id: site.map(|s| s.id).unwrap_or_default(),
        taxonomy_type: kind.unwrap_or_default(),
        name: name.clone().unwrap_or_default(),
        slug: slug.or_else(|| name.as_deref().map(slugify)).unwrap_or_default(),
        description,
        parent_id: None,
        created_at: OffsetDateTime::now_utc(),
    };
    if taxonomy.slug.is_empty() && !f.has_error("name") {
        f.error("slug", "The slug needs a letter or a digit.");
    }
    parent_field(services, caller, &mut f, &mut taxonomy).await?;
    f.finish()?;
    let guard = Item::new(&taxonomy.guard(), "TaxonomySlug", &json!({"taxonomy_id": taxonomy.id}))?;
    let writes = vec![
        Write::Put(Item::new(&taxonomy.key(), "Taxonomy", &taxonomy)?, Some(Condition::not_exists())),
        Write::Put(guard, Some(Condition::not_exists())),
    ];
    match services.store().await.transact(writes).await {
        Ok(()) => Ok(taxonomy.to_json()),
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&1) => Err(slug_taken()),
        Err(err) => Err(err.into()),
    }
}

/// `PUT`/`PATCH taxonomies/{id}/`: name, slug (kept unique), description, parent.
pub async fn update(services: &Services, caller: &Caller, taxonomy_id: &str, body: &[u8]) -> Result<Value, ApiError> {
    let before = visible(services, caller, taxonomy_id).await?;
    caller.require_site_write(&before.site_id)?;
    let mut f = Fields::parse(body)?;
    let mut after = before.clone();
    if let Some(name) = f.optional("name", bounded(max::NAME)) {
        after.name = name;
    }
    if let Some(slug) = f.optional("slug", bounded(max::SLUG)) {
        after.slug = slugify(&slug);
        if after.slug.is_empty() {
            f.error("slug", "The slug needs a letter or a digit.");
        }
    }
    if let Some(description) = f.optional("description", text(max::DESCRIPTION)) {
        after.description = description;
    }
    for fixed in ["site_id", "taxonomy_type"] {
        if f.sent(fixed)
            && f.optional(fixed, crate::validation::string).as_deref()
                != Some(before.to_json()[fixed].as_str().unwrap_or_default())
        {
            f.error(fixed, "This field cannot be changed.");
        }
    }
    parent_field(services, caller, &mut f, &mut after).await?;
    f.finish()?;
    let mut writes = vec![Write::Put(Item::new(&after.key(), "Taxonomy", &after)?, Some(Condition::exists()))];
    if after.slug != before.slug {
        let guard = Item::new(&after.guard(), "TaxonomySlug", &json!({"taxonomy_id": after.id}))?;
        writes.push(Write::Put(guard, Some(Condition::not_exists())));
        writes.push(Write::Delete(before.guard(), None));
    }
    match services.store().await.transact(writes).await {
        Ok(()) => Ok(after.to_json()),
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&1) => Err(slug_taken()),
        Err(StoreError::TransactionCancelled { .. }) => Err(ApiError::not_found()),
        Err(err) => Err(err.into()),
    }
}

/// `DELETE taxonomies/{id}/`: also taken off the site's content, and off its child categories.
pub async fn delete(services: &Services, caller: &Caller, taxonomy_id: &str) -> Result<(), ApiError> {
    let taxonomy = visible(services, caller, taxonomy_id).await?;
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
    Ok(())
}

/// Deletes a site's taxonomies with their slug guards (when the site goes).
pub async fn purge_site(services: &Services, account_id: &str, site_id: &str) -> Result<(), ApiError> {
    let keys: Vec<Key> =
        of_site(services, account_id, site_id).await?.iter().flat_map(|t| [t.key(), t.guard()]).collect();
    services.store().await.delete_batch(&keys).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs() {
        assert_eq!(super::slugify("  Dental Implants & Costs! "), "dental-implants-costs");
        assert_eq!(super::slugify("---"), "");
    }
}
