//! Content strategies (`system/strategies/`): which prompt types a body of work uses and the logic
//! of its sections, for the whole account or one sector. Stored in the account's partition,
//! `STRATEGY#<id>`. Every member reads them; owners and admins change them.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::access::Caller;
use crate::accounts::rfc3339;
use crate::ai::prompts;
use crate::store::{Condition, Item, Key, Query, StoreError, keys};
use crate::validation::input::{Boolean, Bounded, Custom, Id, Json, Text};
use crate::validation::{FieldErrors, Submitted, max};
use crate::{ApiError, Services, ids, sites};

const PREFIX: &str = "STRATEGY#";
/// The largest section logic, as JSON text.
pub const MAX_LOGIC_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Strategy {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub description: String,
    pub sector_id: Option<String>,
    pub prompt_types: Vec<String>,
    /// As JSON text (an object or a list).
    pub section_logic: String,
    pub is_active: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A strategy as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StrategyAnswer {
    pub id: String,
    pub name: String,
    pub description: String,
    /// The sector it is for; `null` for the whole account.
    pub sector_id: Option<String>,
    /// The same, by the original's name.
    pub sector: Option<String>,
    /// Prompt types of `system/prompts/`.
    pub prompt_types: Vec<String>,
    #[schema(value_type = Object)]
    pub section_logic: Value,
    pub is_active: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl Strategy {
    fn key(account_id: &str, id: &str) -> Key {
        Key::new(keys::account_pk(account_id), format!("{PREFIX}{id}"))
    }

    fn item(&self) -> Result<Item, StoreError> {
        Item::new(&Self::key(&self.account_id, &self.id), "Strategy", self)
    }

    fn to_json(&self) -> Value {
        crate::http::answer(StrategyAnswer {
            id: self.id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            sector_id: self.sector_id.clone(),
            sector: self.sector_id.clone(),
            prompt_types: self.prompt_types.clone(),
            section_logic: serde_json::from_str(&self.section_logic).unwrap_or(Value::Null),
            is_active: self.is_active,
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
        })
    }
}

fn prompt_types(value: &Value) -> Result<Vec<String>, String> {
    let list = value.as_array().ok_or("Expected a list of prompt types.")?;
    let mut types = Vec::new();
    for item in list {
        match item.as_str() {
            Some(t) if prompts::TYPES.contains(&t) => {
                if !types.iter().any(|known: &String| known == t) {
                    types.push(t.to_owned());
                }
            }
            _ => return Err(format!("Each must be one of: {}.", prompts::TYPES.join(", "))),
        }
    }
    Ok(types)
}

fn prompt_types_schema() -> utoipa::openapi::schema::Schema {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(utoipa::openapi::schema::ObjectBuilder::new().schema_type(utoipa::openapi::schema::Type::String))
        .into()
}

crate::input! {
    /// A strategy as `POST` and `PUT` send it, or, as `StrategyChanges`, what `PATCH` changes.
    pub struct NewStrategy, changes StrategyChanges {
        name: required String = Bounded(max::NAME),
        description: optional String = Text(max::DESCRIPTION),
        /// The sector it is for (`null`: the whole account).
        sector_id: nullable String = Id,
        /// Prompt types of `system/prompts/` (`clustering`, `ideas`, `content_generation`...).
        prompt_types: optional Vec<String> = Custom(prompt_types, prompt_types_schema),
        /// How sections are laid out: a JSON object or list (16 KiB at most).
        section_logic: optional Value = Json,
        is_active: optional bool = Boolean,
    }
}

fn logic(errors: &mut FieldErrors, value: &Value) -> String {
    let text = value.to_string();
    if !(value.is_object() || value.is_array()) {
        errors.add("section_logic", "Must be a JSON object or list.");
    } else if text.len() > MAX_LOGIC_BYTES {
        errors.add("section_logic", format!("Ensure this is at most {MAX_LOGIC_BYTES} bytes as JSON."));
    }
    text
}

/// A sector the caller may read, or the field's error.
async fn sector(services: &Services, caller: &Caller, errors: &mut FieldErrors, id: &str) -> Result<(), ApiError> {
    match sites::visible_sector(services, caller, id).await {
        Ok(_) => Ok(()),
        Err(ApiError::NotFound(_)) => {
            errors.add("sector_id", format!("Invalid pk \"{id}\" - object does not exist."));
            Ok(())
        }
        Err(err) => Err(err),
    }
}

async fn all(services: &Services, account_id: &str) -> Result<Vec<Strategy>, ApiError> {
    let query = Query::partition(keys::account_pk(account_id)).sk_prefix(PREFIX);
    Ok(services.store().await.all_of(query).await?)
}

async fn find(services: &Services, caller: &Caller, id: &str) -> Result<Strategy, ApiError> {
    services.store().await.by_id(id, |id| Strategy::key(caller.account_id(), id)).await
}

/// `strategies/`: the account's strategies by name; `is_active` and `sector` (or `sector_id`)
/// filter.
pub async fn list(
    services: &Services,
    caller: &Caller,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    let wanted = |name: &str| query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let active = crate::validation::query_flag(query, "is_active")?;
    let sector = wanted("sector").or(wanted("sector_id"));
    let mut found: Vec<Strategy> = all(services, caller.account_id())
        .await?
        .into_iter()
        .filter(|s| active.is_none_or(|a| a == s.is_active))
        .filter(|s| sector.is_none_or(|id| s.sector_id.as_deref() == Some(id)))
        .collect();
    found.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then(a.id.cmp(&b.id)));
    Ok(found.iter().map(Strategy::to_json).collect())
}

pub async fn show(services: &Services, caller: &Caller, id: &str) -> Result<Value, ApiError> {
    Ok(find(services, caller, id).await?.to_json())
}

/// Creates a strategy (owners and admins).
pub async fn create(services: &Services, caller: &Caller, body: Submitted<NewStrategy>) -> Result<Value, ApiError> {
    caller.require_manager()?;
    let input = body.read()?;
    let mut errors = FieldErrors::new();
    let section_logic = match &input.section_logic {
        Some(value) => logic(&mut errors, value),
        None => "{}".into(),
    };
    let sector_id = input.sector_id.flatten();
    if let Some(id) = &sector_id {
        sector(services, caller, &mut errors, id).await?;
    }
    errors.finish()?;
    let now = OffsetDateTime::now_utc();
    let strategy = Strategy {
        id: ids::new_id(),
        account_id: caller.account_id().to_owned(),
        name: input.name.trim().to_owned(),
        description: input.description.unwrap_or_default(),
        sector_id,
        prompt_types: input.prompt_types.unwrap_or_default(),
        section_logic,
        is_active: input.is_active.unwrap_or(true),
        created_at: now,
        updated_at: now,
    };
    services.store().await.put(strategy.item()?, Some(Condition::not_exists())).await?;
    Ok(strategy.to_json())
}

/// Changes a strategy (owners and admins): what is sent.
pub async fn update(
    services: &Services,
    caller: &Caller,
    id: &str,
    body: Submitted<StrategyChanges>,
) -> Result<Value, ApiError> {
    let before = find(services, caller, id).await?;
    caller.require_manager()?;
    let input = body.read()?;
    let mut errors = FieldErrors::new();
    let mut after = before.clone();
    if let Some(value) = &input.section_logic {
        after.section_logic = logic(&mut errors, value);
    }
    if let Some(sector_id) = input.sector_id {
        if let Some(id) = &sector_id {
            sector(services, caller, &mut errors, id).await?;
        }
        after.sector_id = sector_id;
    }
    errors.finish()?;
    if let Some(name) = input.name {
        after.name = name.trim().to_owned();
    }
    if let Some(description) = input.description {
        after.description = description;
    }
    if let Some(types) = input.prompt_types {
        after.prompt_types = types;
    }
    if let Some(active) = input.is_active {
        after.is_active = active;
    }
    after.updated_at = OffsetDateTime::now_utc();
    services.store().await.replace(after.item()?).await?;
    Ok(after.to_json())
}

pub async fn delete(services: &Services, caller: &Caller, id: &str) -> Result<(), ApiError> {
    let strategy = find(services, caller, id).await?;
    caller.require_manager()?;
    services
        .store()
        .await
        .delete(&Strategy::key(&strategy.account_id, &strategy.id), Some(Condition::exists()))
        .await
        .map_err(StoreError::gone_is_not_found)
}
