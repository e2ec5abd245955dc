//! The planner: keywords, clusters and content ideas. Each record is stored by id, in its
//! account's partition of its kind (`ACCOUNT#<account>#<KIND>` / `<KIND>#<id>`: read by id with
//! one consistent `GetItem`), and indexed in its sector on GSI1
//! (`ACCOUNT#<account>#SECTOR#<sector>` / `<KIND>#<id>`). Writer records share the layout
//! ([`SectorRecord`]); the uniqueness guards of keyword texts and cluster names are items of the
//! sector partition itself.
//!
//! - [`crate::records`]: what the planner's records share with the writer's (storage, scope,
//!   lists, counts);
//! - [`membership`]: keyword writes that keep the clusters' `keywords_count` and `volume` exact;
//! - [`keywords`], [`clusters`], [`ideas`]: the endpoints' domain logic; [`csv`]: import/export.

pub mod ai;
pub mod clusters;
pub mod csv;
pub mod ideas;
pub mod keywords;
pub mod membership;
pub mod routes;

use crate::validation::input::{Bounded, Custom, Rule, Text, Texts};
use crate::validation::max;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::accounts::rfc3339;
pub use crate::records::{
    SectorRecord, by_ids, find, in_account, in_sector, listing, record_key, scope, sector_gsi1, sector_pk,
};
use crate::store::{self, Condition, Item, Key, Query, StoreError, Write, keys};
use crate::{ApiError, Services};

pub const KEYWORD_PREFIX: &str = "KEYWORD#";
pub const CLUSTER_PREFIX: &str = "CLUSTER#";
pub const IDEA_PREFIX: &str = "IDEA#";
/// The uniqueness guard of a keyword's text in its sector: `KWTEXT#<normalised text>`.
pub const KEYWORD_TEXT_PREFIX: &str = "KWTEXT#";
/// The uniqueness guard of a cluster's name in its sector: `CLNAME#<normalised name>`.
pub const CLUSTER_NAME_PREFIX: &str = "CLNAME#";

/// Lower case, single spaces: two texts that normalise the same are the same keyword or name.
pub fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// GSI2 of a keyword in a cluster: the cluster's keywords (`ACCOUNT#<a>#CLUSTER#<c>` / `KEYWORD#<id>`).
pub fn cluster_members_gsi2(account_id: &str, cluster_id: &str, keyword_id: &str) -> (String, String) {
    (format!("{}#{CLUSTER_PREFIX}{cluster_id}", keys::account_pk(account_id)), format!("{KEYWORD_PREFIX}{keyword_id}"))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Keyword {
    pub id: String,
    pub account_id: String,
    pub site_id: String,
    pub sector_id: String,
    pub keyword: String,
    pub volume: u32,
    pub difficulty: u32,
    pub intent: String,
    pub status: String,
    /// Left out of the item when `None`, so that conditions can say `attribute_not_exists`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    #[serde(default)]
    pub seed_keyword_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    pub id: String,
    pub account_id: String,
    pub site_id: String,
    pub sector_id: String,
    pub name: String,
    pub description: String,
    pub status: String,
    pub keywords_count: u32,
    pub volume: u64,
    /// The sum of its keywords' difficulties, moved with `keywords_count` (the answer's
    /// `difficulty` is their mean).
    #[serde(default)]
    pub difficulty_sum: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Cluster {
    /// The mean difficulty of its keywords, rounded; 0 without keywords.
    pub fn difficulty(&self) -> u32 {
        match self.keywords_count {
            0 => 0,
            count => ((self.difficulty_sum + u64::from(count) / 2) / u64::from(count)).min(100) as u32,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Idea {
    pub id: String,
    pub account_id: String,
    pub site_id: String,
    pub sector_id: String,
    #[serde(default)]
    pub cluster_id: Option<String>,
    pub idea_title: String,
    pub description: String,
    pub content_type: String,
    pub content_structure: String,
    pub target_keywords: Vec<String>,
    pub estimated_word_count: u32,
    pub status: String,
    #[serde(default)]
    pub task_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A keyword as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeywordAnswer {
    pub id: String,
    pub keyword: String,
    pub site_id: String,
    pub sector_id: String,
    pub volume: u32,
    /// 0–100.
    pub difficulty: u32,
    /// `informational`, `navigational`, `commercial` or `transactional`.
    pub intent: String,
    /// `active`, `pending` or `archived`.
    pub status: String,
    pub cluster_id: Option<String>,
    pub seed_keyword_id: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&Keyword> for KeywordAnswer {
    fn from(k: &Keyword) -> Self {
        Self {
            id: k.id.clone(),
            keyword: k.keyword.clone(),
            site_id: k.site_id.clone(),
            sector_id: k.sector_id.clone(),
            volume: k.volume,
            difficulty: k.difficulty,
            intent: k.intent.clone(),
            status: k.status.clone(),
            cluster_id: k.cluster_id.clone(),
            seed_keyword_id: k.seed_keyword_id.clone(),
            created_at: rfc3339(k.created_at),
        }
    }
}

/// A cluster as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClusterAnswer {
    pub id: String,
    pub name: String,
    pub description: String,
    pub site_id: String,
    pub sector_id: String,
    pub status: String,
    /// Its keywords, kept exact on every keyword write.
    pub keywords_count: u32,
    /// The sum of its keywords' volumes.
    pub volume: u64,
    /// The mean difficulty (0–100) of its keywords, rounded; 0 without keywords.
    pub difficulty: u32,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&Cluster> for ClusterAnswer {
    fn from(c: &Cluster) -> Self {
        Self {
            id: c.id.clone(),
            name: c.name.clone(),
            description: c.description.clone(),
            site_id: c.site_id.clone(),
            sector_id: c.sector_id.clone(),
            status: c.status.clone(),
            keywords_count: c.keywords_count,
            volume: c.volume,
            difficulty: c.difficulty(),
            created_at: rfc3339(c.created_at),
        }
    }
}

/// A content idea as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IdeaAnswer {
    pub id: String,
    pub idea_title: String,
    pub description: String,
    pub cluster_id: Option<String>,
    /// The original's name for `cluster_id`.
    pub keyword_cluster_id: Option<String>,
    pub content_type: String,
    pub content_structure: String,
    pub target_keywords: Vec<String>,
    pub estimated_word_count: u32,
    pub status: String,
    /// The writer task made from it, once queued.
    pub task_id: Option<String>,
    pub site_id: String,
    pub sector_id: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&Idea> for IdeaAnswer {
    fn from(i: &Idea) -> Self {
        Self {
            id: i.id.clone(),
            idea_title: i.idea_title.clone(),
            description: i.description.clone(),
            cluster_id: i.cluster_id.clone(),
            keyword_cluster_id: i.cluster_id.clone(),
            content_type: i.content_type.clone(),
            content_structure: i.content_structure.clone(),
            target_keywords: i.target_keywords.clone(),
            estimated_word_count: i.estimated_word_count,
            status: i.status.clone(),
            task_id: i.task_id.clone(),
            site_id: i.site_id.clone(),
            sector_id: i.sector_id.clone(),
            created_at: rfc3339(i.created_at),
        }
    }
}

use crate::records::sector_record;

impl SectorRecord for Keyword {
    type Answer = KeywordAnswer;
    sector_record!(Keyword, KEYWORD_PREFIX, "Keyword");

    /// `cluster_id`: a cluster's keywords on GSI2, counted by the cluster's `keywords_count`.
    fn member_of() -> Option<crate::records::pages::MemberOf> {
        Some(crate::records::pages::MemberOf {
            param: "cluster_id",
            index: keys::GSI2,
            index_keys: (keys::GSI2_PK, keys::GSI2_SK),
            partition: |account, cluster| cluster_members_gsi2(account, cluster, "").0,
            owner: record_key::<Cluster>,
            count: "keywords_count",
        })
    }

    /// Also on GSI2 under its cluster, when it has one.
    fn indexed(&self, item: Item) -> Item {
        match &self.cluster_id {
            Some(cluster) => item.gsi2(cluster_members_gsi2(&self.account_id, cluster, &self.id)),
            None => item,
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "id": self.id, "keyword": self.keyword, "site_id": self.site_id, "sector_id": self.sector_id,
            "volume": self.volume, "difficulty": self.difficulty, "intent": self.intent, "status": self.status,
            "cluster_id": self.cluster_id, "seed_keyword_id": self.seed_keyword_id, "created_at": rfc3339(self.created_at),
        })
    }
}

impl SectorRecord for Cluster {
    type Answer = ClusterAnswer;
    sector_record!(Cluster, CLUSTER_PREFIX, "Cluster");
}

impl SectorRecord for Idea {
    type Answer = IdeaAnswer;
    sector_record!(Idea, IDEA_PREFIX, "ContentIdea");
}

impl Cluster {
    /// The uniqueness guard of this cluster's name.
    pub fn name_guard(&self) -> Key {
        name_guard(&self.account_id, &self.sector_id, &self.name)
    }

    /// The guard item of this cluster's name.
    pub fn guard_item(&self) -> Result<Item, StoreError> {
        Item::new(&self.name_guard(), "ClusterName", &json!({"cluster_id": self.id, "name": self.name}))
    }

    /// The writes that create the cluster with its name guard (index 1 fails when the name is taken).
    pub fn create_writes(&self) -> Result<Vec<Write>, StoreError> {
        Ok(vec![
            Write::Put(self.item()?, Some(Condition::not_exists())),
            Write::Put(self.guard_item()?, Some(Condition::not_exists())),
        ])
    }
}

/// The key of the guard that keeps cluster names unique in a sector.
pub fn name_guard(account_id: &str, sector_id: &str, name: &str) -> Key {
    Key::new(sector_pk(account_id, sector_id), format!("{CLUSTER_NAME_PREFIX}{}", normalise(name)))
}

/// A keyword's text: not blank, at most [`max::KEYWORD`] characters and
/// [`max::KEYWORD_BYTES`] bytes (it is part of the key that keeps keywords unique).
pub const KEYWORD_TEXT: Custom<String> = Custom(keyword_text, keyword_schema);

fn keyword_schema() -> utoipa::openapi::schema::Schema {
    Bounded(max::KEYWORD).schema()
}

/// The keywords of an idea or a task (a list, or a comma-separated string).
pub const KEYWORD_LIST: Custom<Vec<String>> = Custom(keyword_list, keyword_list_schema);

fn keyword_list_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{OneOfBuilder, Schema};
    let list: Schema = Texts(50, max::KEYWORD).schema();
    OneOfBuilder::new().item(list).item(Text(50 * (max::KEYWORD + 1)).schema()).into()
}

pub fn keyword_text(value: &serde_json::Value) -> Result<String, String> {
    let text = crate::validation::bounded(max::KEYWORD)(value)?;
    check_keyword_bytes(&text)?;
    Ok(text)
}

/// Refuses a keyword too long in bytes for its uniqueness key.
pub fn check_keyword_bytes(text: &str) -> Result<(), String> {
    if normalise(text).len() > max::KEYWORD_BYTES {
        Err(format!("Ensure this field has no more than {} bytes.", max::KEYWORD_BYTES))
    } else {
        Ok(())
    }
}

/// Keywords of an idea or a task: a list (or a comma-separated string) of at most 50 keywords.
pub fn keyword_list(value: &serde_json::Value) -> Result<Vec<String>, String> {
    const MAX_ITEMS: usize = 50;
    let list: Vec<String> = match value {
        serde_json::Value::String(s) => {
            if s.chars().count() > MAX_ITEMS * (max::KEYWORD + 1) {
                return Err(crate::validation::too_long(MAX_ITEMS * (max::KEYWORD + 1)));
            }
            s.split(',').map(|k| k.trim().to_owned()).filter(|k| !k.is_empty()).collect()
        }
        other => crate::validation::text_list(MAX_ITEMS, max::KEYWORD)(other)?,
    };
    if list.len() > MAX_ITEMS {
        return Err(format!("Ensure this list has no more than {MAX_ITEMS} items."));
    }
    if list.iter().any(|k| k.chars().count() > max::KEYWORD) {
        return Err(format!("Ensure every item has no more than {} characters.", max::KEYWORD));
    }
    Ok(list)
}

/// The key of the guard that keeps keyword texts unique in a sector.
pub fn text_guard(account_id: &str, sector_id: &str, text: &str) -> Key {
    Key::new(sector_pk(account_id, sector_id), format!("{KEYWORD_TEXT_PREFIX}{}", normalise(text)))
}

/// The keywords of a cluster (GSI2).
pub async fn cluster_keywords(
    services: &Services,
    account_id: &str,
    cluster_id: &str,
) -> Result<Vec<Keyword>, ApiError> {
    let (pk, _) = cluster_members_gsi2(account_id, cluster_id, "");
    let items = services.store().await.query_all(Query::index(keys::GSI2, pk)).await?;
    let keywords: Vec<Keyword> = items.into_iter().map(store::decode).collect::<Result<Vec<_>, _>>()?;
    // The index may lag a moment behind a move; trust the item itself.
    Ok(keywords.into_iter().filter(|k| k.cluster_id.as_deref() == Some(cluster_id)).collect())
}
