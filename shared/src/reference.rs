//! Global reference data: plans, industries with their sectors, and the seed keyword library.
//! Read-only through the API and loaded by the bootstrap from `infra/reference/`. Each container
//! keeps what it read for [`CACHE_TTL`], since the data changes only with a deployment.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::RwLock;

use crate::accounts::Plan;
use crate::store::{self, Query, keys};
use crate::{ApiError, Services};

pub const CACHE_TTL: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndustrySector {
    pub id: String,
    pub name: String,
    pub slug: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Industry {
    pub id: String,
    pub name: String,
    pub slug: String,
    #[serde(default)]
    pub description: String,
    pub is_active: bool,
    pub sectors: Vec<IndustrySector>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedKeyword {
    pub id: String,
    pub keyword: String,
    pub industry_id: String,
    pub sector_id: String,
    pub volume: u32,
    pub difficulty: u32,
    pub intent: String,
    #[serde(default)]
    pub country: String,
}

impl Industry {
    pub fn to_json(&self) -> Value {
        crate::http::answer(IndustryAnswer::from(self))
    }
}

impl SeedKeyword {
    pub fn to_json(&self) -> Value {
        crate::http::answer(SeedKeywordAnswer::from(self))
    }
}

/// An industry with its sectors, as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IndustryAnswer {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub description: String,
    pub is_active: bool,
    pub sectors: Vec<IndustrySectorAnswer>,
}

/// A sector of an industry.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IndustrySectorAnswer {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub description: String,
}

impl From<&Industry> for IndustryAnswer {
    fn from(i: &Industry) -> Self {
        Self {
            id: i.id.clone(),
            name: i.name.clone(),
            slug: i.slug.clone(),
            description: i.description.clone(),
            is_active: i.is_active,
            sectors: i
                .sectors
                .iter()
                .map(|s| IndustrySectorAnswer {
                    id: s.id.clone(),
                    name: s.name.clone(),
                    slug: s.slug.clone(),
                    description: s.description.clone(),
                })
                .collect(),
        }
    }
}

/// A keyword of the seed library, as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SeedKeywordAnswer {
    pub id: String,
    pub keyword: String,
    /// The industry's id.
    pub industry: String,
    /// The industry sector's id.
    pub sector: String,
    pub volume: u32,
    pub difficulty: u32,
    pub intent: String,
    pub country: String,
}

impl From<&SeedKeyword> for SeedKeywordAnswer {
    fn from(s: &SeedKeyword) -> Self {
        Self {
            id: s.id.clone(),
            keyword: s.keyword.clone(),
            industry: s.industry_id.clone(),
            sector: s.sector_id.clone(),
            volume: s.volume,
            difficulty: s.difficulty,
            intent: s.intent.clone(),
            country: s.country.clone(),
        }
    }
}

#[derive(Debug)]
struct Cached<T> {
    loaded: Option<(Instant, Arc<Vec<T>>)>,
}

impl<T> Default for Cached<T> {
    fn default() -> Self {
        Self { loaded: None }
    }
}

/// The container's copy of the reference data.
#[derive(Debug, Default)]
pub struct Cache {
    industries: RwLock<Cached<Industry>>,
    seed_keywords: RwLock<Cached<SeedKeyword>>,
}

async fn cached<T: serde::de::DeserializeOwned>(
    services: &Services,
    lock: &RwLock<Cached<T>>,
    pk: &str,
) -> Result<Arc<Vec<T>>, ApiError> {
    if let Some((at, data)) = &lock.read().await.loaded
        && at.elapsed() < CACHE_TTL
    {
        return Ok(Arc::clone(data));
    }
    let items = services.store().await.query_all(Query::partition(pk)).await?;
    let data = Arc::new(items.into_iter().map(store::decode).collect::<Result<Vec<T>, _>>()?);
    lock.write().await.loaded = Some((Instant::now(), Arc::clone(&data)));
    Ok(data)
}

pub async fn industries(services: &Services) -> Result<Arc<Vec<Industry>>, ApiError> {
    cached(services, &services.reference.industries, keys::INDUSTRIES_PK).await
}

pub async fn industry(services: &Services, id: &str) -> Result<Option<Industry>, ApiError> {
    Ok(industries(services).await?.iter().find(|i| i.id == id).cloned())
}

pub async fn seed_keywords(services: &Services) -> Result<Arc<Vec<SeedKeyword>>, ApiError> {
    cached(services, &services.reference.seed_keywords, keys::SEED_KEYWORDS_PK).await
}

pub async fn plans(services: &Services) -> Result<Vec<Plan>, ApiError> {
    let items = services.store().await.query_all(Query::partition(keys::PLANS_PK).sk_prefix("PLAN#")).await?;
    Ok(items
        .into_iter()
        .map(store::decode::<Plan>)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|p| p.is_active)
        .collect())
}

pub async fn plan(services: &Services, id: &str) -> Result<Option<Plan>, ApiError> {
    Ok(crate::accounts::load_plan(services, id).await?.filter(|p| p.is_active))
}

fn number(query: &HashMap<String, String>, name: &str) -> Result<Option<u32>, ApiError> {
    query
        .get(name)
        .filter(|v| !v.is_empty())
        .map(|v| v.parse::<u32>().map_err(|_| ApiError::field(name, "A valid integer is required.")))
        .transpose()
}

/// The seed keyword library, filtered by `industry_id`, `sector_id`, `intent`, `volume_min/max`,
/// `difficulty_min/max`, searched by `search` (keyword text) and ordered by `ordering`
/// (`keyword`, `volume`, `difficulty`, `-` for descending; default keyword).
pub async fn search_seed_keywords(
    services: &Services,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    let (vmin, vmax) = (number(query, "volume_min")?, number(query, "volume_max")?);
    let (dmin, dmax) = (number(query, "difficulty_min")?, number(query, "difficulty_max")?);
    let search = query.get("search").map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty());
    let all = seed_keywords(services).await?;
    let mut found: Vec<&SeedKeyword> = all
        .iter()
        .filter(|k| query.get("industry_id").is_none_or(|v| &k.industry_id == v))
        .filter(|k| query.get("sector_id").is_none_or(|v| &k.sector_id == v))
        .filter(|k| query.get("intent").is_none_or(|v| &k.intent == v))
        .filter(|k| vmin.is_none_or(|v| k.volume >= v) && vmax.is_none_or(|v| k.volume <= v))
        .filter(|k| dmin.is_none_or(|v| k.difficulty >= v) && dmax.is_none_or(|v| k.difficulty <= v))
        .filter(|k| search.as_ref().is_none_or(|s| k.keyword.to_lowercase().contains(s.as_str())))
        .collect();
    let ordering = query.get("ordering").map(String::as_str).unwrap_or("keyword");
    let (field, descending) = match ordering.strip_prefix('-') {
        Some(f) => (f, true),
        None => (ordering, false),
    };
    match field {
        "keyword" => found.sort_by(|a, b| a.keyword.cmp(&b.keyword)),
        "volume" => found.sort_by_key(|k| (k.volume, k.keyword.clone())),
        "difficulty" => found.sort_by_key(|k| (k.difficulty, k.keyword.clone())),
        _ => {
            return Err(ApiError::field("ordering", "Order by keyword, volume or difficulty."));
        }
    }
    if descending {
        found.reverse();
    }
    Ok(found.into_iter().map(SeedKeyword::to_json).collect())
}

pub async fn seed_keyword(services: &Services, id: &str) -> Result<Option<SeedKeyword>, ApiError> {
    Ok(seed_keywords(services).await?.iter().find(|k| k.id == id).cloned())
}
