//! Global reference data: plans, industries with their sectors, the seed keyword library (and a
//! module's own, such as billing's credit packages). Read-only through the API.
//!
//! It is part of the build: the files of `infra/reference/` are compiled in and parsed once per
//! container, on first use. So a deployment carries exactly its reference data with nothing to
//! seed (`sam deploy` alone gives a working stack), and no request reads any of it from the table:
//! a cold container's first `me/` or `register/` waits for no plan. A plan changes with a
//! deployment, as it always did.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ApiError;
use crate::accounts::Plan;

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

/// The reference file `name` (its text compiled in), read as a list of `T`; why not, if it does
/// not read (a build whose files are broken answers 500s naming the file, and fails its tests).
pub fn parse<T: DeserializeOwned>(name: &str, text: &str) -> Result<Vec<T>, String> {
    serde_json::from_str(text).map_err(|e| format!("infra/reference/{name}: {e}"))
}

/// A parsed reference file as the API uses it.
pub fn loaded<T>(file: &'static LazyLock<Result<Vec<T>, String>>) -> Result<&'static [T], ApiError> {
    file.as_deref().map_err(|e| ApiError::internal(e.clone()))
}

static PLANS: LazyLock<Result<Vec<Plan>, String>> =
    LazyLock::new(|| parse("plans.json", include_str!("../../infra/reference/plans.json")));
static INDUSTRIES: LazyLock<Result<Vec<Industry>, String>> =
    LazyLock::new(|| parse("industries.json", include_str!("../../infra/reference/industries.json")));
static SEED_KEYWORDS: LazyLock<Result<Vec<SeedKeyword>, String>> =
    LazyLock::new(|| parse("seed_keywords.json", include_str!("../../infra/reference/seed_keywords.json")));

pub fn industries() -> Result<&'static [Industry], ApiError> {
    loaded(&INDUSTRIES)
}

pub fn industry(id: &str) -> Result<Option<Industry>, ApiError> {
    Ok(industries()?.iter().find(|i| i.id == id).cloned())
}

pub fn seed_keywords() -> Result<&'static [SeedKeyword], ApiError> {
    loaded(&SEED_KEYWORDS)
}

/// Every plan, the retired ones too (an account on a retired plan keeps its terms).
pub fn all_plans() -> Result<&'static [Plan], ApiError> {
    loaded(&PLANS)
}

/// The plan `id`, retired or not.
pub fn any_plan(id: &str) -> Result<Option<Plan>, ApiError> {
    Ok(all_plans()?.iter().find(|p| p.id == id).cloned())
}

/// The plans on offer.
pub fn plans() -> Result<Vec<Plan>, ApiError> {
    Ok(all_plans()?.iter().filter(|p| p.is_active).cloned().collect())
}

/// A plan on offer.
pub fn plan(id: &str) -> Result<Option<Plan>, ApiError> {
    Ok(any_plan(id)?.filter(|p| p.is_active))
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
pub fn search_seed_keywords(query: &HashMap<String, String>) -> Result<Vec<Value>, ApiError> {
    let (vmin, vmax) = (number(query, "volume_min")?, number(query, "volume_max")?);
    let (dmin, dmax) = (number(query, "difficulty_min")?, number(query, "difficulty_max")?);
    let search = query.get("search").map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty());
    let all = seed_keywords()?;
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

pub fn seed_keyword(id: &str) -> Result<Option<SeedKeyword>, ApiError> {
    Ok(seed_keywords()?.iter().find(|k| k.id == id).cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_files_read_and_every_seed_keyword_names_a_known_industry_sector() {
        // "free": the plan a registration without one gets.
        assert!(plans().unwrap().iter().any(|p| p.id == "free"));
        let industries = industries().unwrap();
        assert!(!industries.is_empty());
        let seeds = seed_keywords().unwrap();
        assert!(!seeds.is_empty());
        for seed in seeds {
            let known =
                industries.iter().any(|i| i.id == seed.industry_id && i.sectors.iter().any(|s| s.id == seed.sector_id));
            assert!(known, "{} names an unknown industry sector {}", seed.id, seed.sector_id);
        }
    }

    #[test]
    fn a_file_that_does_not_read_is_an_error_naming_it() {
        let err = parse::<Plan>("plans.json", "[{").unwrap_err();
        assert!(err.starts_with("infra/reference/plans.json: "), "{err}");
    }
}
