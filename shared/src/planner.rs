//! Planner records: keywords, clusters and content ideas, stored per sector
//! (`ACCOUNT#<account>#SECTOR#<sector>` partitions). This module holds the records and the writes
//! the AI functions need; the planner API is built on it.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::accounts::rfc3339;
use crate::store::{self, Item, Key, Query, StoreError};
use crate::{ApiError, Services};

/// The partition of one sector's planner records.
pub fn sector_pk(account_id: &str, sector_id: &str) -> String {
    format!("ACCOUNT#{account_id}#SECTOR#{sector_id}")
}

pub const KEYWORD_PREFIX: &str = "KEYWORD#";
pub const CLUSTER_PREFIX: &str = "CLUSTER#";
pub const IDEA_PREFIX: &str = "IDEA#";

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
    #[serde(default)]
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
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Idea {
    pub id: String,
    pub account_id: String,
    pub site_id: String,
    pub sector_id: String,
    pub cluster_id: String,
    pub idea_title: String,
    pub description: String,
    pub content_type: String,
    pub content_structure: String,
    pub target_keywords: Vec<String>,
    pub estimated_word_count: u32,
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Keyword {
    pub fn key(&self) -> Key {
        Key::new(sector_pk(&self.account_id, &self.sector_id), format!("{KEYWORD_PREFIX}{}", self.id))
    }

    pub fn item(&self) -> Result<Item, StoreError> {
        Item::new(&self.key(), "Keyword", self)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id, "keyword": self.keyword, "site_id": self.site_id, "sector_id": self.sector_id,
            "volume": self.volume, "difficulty": self.difficulty, "intent": self.intent, "status": self.status,
            "cluster_id": self.cluster_id, "seed_keyword_id": self.seed_keyword_id, "created_at": rfc3339(self.created_at),
        })
    }
}

impl Cluster {
    pub fn key(&self) -> Key {
        Key::new(sector_pk(&self.account_id, &self.sector_id), format!("{CLUSTER_PREFIX}{}", self.id))
    }

    pub fn item(&self) -> Result<Item, StoreError> {
        Item::new(&self.key(), "Cluster", self)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id, "name": self.name, "description": self.description, "site_id": self.site_id,
            "sector_id": self.sector_id, "status": self.status, "keywords_count": self.keywords_count,
            "volume": self.volume, "created_at": rfc3339(self.created_at),
        })
    }
}

impl Idea {
    pub fn key(&self) -> Key {
        Key::new(sector_pk(&self.account_id, &self.sector_id), format!("{IDEA_PREFIX}{}", self.id))
    }

    pub fn item(&self) -> Result<Item, StoreError> {
        Item::new(&self.key(), "ContentIdea", self)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id, "idea_title": self.idea_title, "description": self.description, "cluster_id": self.cluster_id,
            "content_type": self.content_type, "content_structure": self.content_structure,
            "target_keywords": self.target_keywords, "estimated_word_count": self.estimated_word_count,
            "status": self.status, "site_id": self.site_id, "sector_id": self.sector_id, "created_at": rfc3339(self.created_at),
        })
    }
}

/// Every record of one kind (`prefix`) in a sector.
pub async fn in_sector<T: serde::de::DeserializeOwned>(
    services: &Services,
    account_id: &str,
    sector_id: &str,
    prefix: &str,
) -> Result<Vec<T>, ApiError> {
    let items =
        services.store().await.query_all(Query::partition(sector_pk(account_id, sector_id)).sk_prefix(prefix)).await?;
    Ok(items.into_iter().map(store::decode).collect::<Result<Vec<_>, _>>()?)
}

/// The records of one kind with the given ids (missing ones left out), read in batches of 100.
pub async fn by_ids<T: serde::de::DeserializeOwned>(
    services: &Services,
    account_id: &str,
    sector_id: &str,
    prefix: &str,
    ids: &[String],
) -> Result<Vec<T>, ApiError> {
    let pk = sector_pk(account_id, sector_id);
    let store = services.store().await;
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(100) {
        let keys: Vec<Key> = chunk.iter().map(|id| Key::new(pk.clone(), format!("{prefix}{id}"))).collect();
        for item in store.get_many(&keys).await?.into_iter().flatten() {
            found.push(store::decode(item)?);
        }
    }
    Ok(found)
}
