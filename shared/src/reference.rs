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

/// The container's copy of the reference data: each partition as it was read, for
/// [`CACHE_TTL`].
#[derive(Debug, Default)]
pub struct Cache {
    partitions: RwLock<HashMap<&'static str, Loaded>>,
}

type Loaded = (Instant, Arc<dyn std::any::Any + Send + Sync>);

/// Every item of the reference partition `pk`, decoded as `T`: from the container's copy while
/// it is younger than [`CACHE_TTL`], else read again (one paged `Query`). Other modules' reference
/// data (credit packages) is cached here too.
pub async fn partition<T>(services: &Services, pk: &'static str) -> Result<Arc<Vec<T>>, ApiError>
where
    T: serde::de::DeserializeOwned + Send + Sync + 'static,
{
    let cache = &services.reference.partitions;
    if let Some((at, data)) = cache.read().await.get(pk)
        && at.elapsed() < CACHE_TTL
        && let Ok(data) = Arc::clone(data).downcast::<Vec<T>>()
    {
        return Ok(data);
    }
    let items = services.store().await.query_all(Query::partition(pk)).await?;
    let data = Arc::new(items.into_iter().map(store::decode).collect::<Result<Vec<T>, _>>()?);
    let erased: Arc<dyn std::any::Any + Send + Sync> = Arc::clone(&data) as _;
    cache.write().await.insert(pk, (Instant::now(), erased));
    Ok(data)
}

pub async fn industries(services: &Services) -> Result<Arc<Vec<Industry>>, ApiError> {
    partition(services, keys::INDUSTRIES_PK).await
}

pub async fn industry(services: &Services, id: &str) -> Result<Option<Industry>, ApiError> {
    Ok(industries(services).await?.iter().find(|i| i.id == id).cloned())
}

pub async fn seed_keywords(services: &Services) -> Result<Arc<Vec<SeedKeyword>>, ApiError> {
    partition(services, keys::SEED_KEYWORDS_PK).await
}

/// Every plan, the retired ones too (an account on a retired plan keeps its terms).
pub async fn all_plans(services: &Services) -> Result<Arc<Vec<Plan>>, ApiError> {
    partition(services, keys::PLANS_PK).await
}

/// The plans on offer.
pub async fn plans(services: &Services) -> Result<Vec<Plan>, ApiError> {
    Ok(all_plans(services).await?.iter().filter(|p| p.is_active).cloned().collect())
}

/// A plan on offer.
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
