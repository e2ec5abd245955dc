//! Author profiles (`system/author-profiles/`): a writing voice — tone, language and the
//! structure an article follows. A writer task may name one; its content is then written in that
//! voice (the profile goes to the model with the task). An account keeps at most its plan's
//! `max_author_profiles`, counted on the account by the write that creates one.
//!
//! Stored in the account's partition, `AUTHORPROFILE#<id>`. Every member reads them; owners and
//! admins change them.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::access::Caller;
use crate::accounts::rfc3339;
use crate::store::{Change, Condition, Item, Key, Query, StoreError, Write, keys, n};
use crate::validation::input::{Boolean, Bounded, Json, Text};
use crate::validation::{FieldErrors, Submitted, max};
use crate::{ApiError, Services, ids};

const PREFIX: &str = "AUTHORPROFILE#";
/// The largest structure template, as JSON text.
pub const MAX_TEMPLATE_BYTES: usize = 16 * 1024;
/// The longest tone and language.
pub const MAX_TONE: usize = 100;
pub const MAX_LANGUAGE: usize = 35;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorProfile {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub description: String,
    pub tone: String,
    pub language: String,
    /// The sections an article follows, as JSON text (an object or a list).
    pub structure_template: String,
    pub is_active: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// An author profile as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuthorProfileAnswer {
    pub id: String,
    pub name: String,
    pub description: String,
    /// The voice: `professional`, `friendly, witty`...
    pub tone: String,
    /// The language content is written in (`en`, `English`...).
    pub language: String,
    /// The sections an article follows (an object or a list).
    #[schema(value_type = Object)]
    pub structure_template: Value,
    pub is_active: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl AuthorProfile {
    pub fn key(account_id: &str, id: &str) -> Key {
        Key::new(keys::account_pk(account_id), format!("{PREFIX}{id}"))
    }

    fn item(&self) -> Result<Item, StoreError> {
        Item::new(&Self::key(&self.account_id, &self.id), "AuthorProfile", self)
    }

    pub fn template(&self) -> Value {
        serde_json::from_str(&self.structure_template).unwrap_or(Value::Null)
    }

    pub fn answer(&self) -> AuthorProfileAnswer {
        AuthorProfileAnswer {
            id: self.id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            tone: self.tone.clone(),
            language: self.language.clone(),
            structure_template: self.template(),
            is_active: self.is_active,
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
        }
    }

    fn to_json(&self) -> Value {
        crate::http::answer(self.answer())
    }

    /// What the model is told of the voice it writes in.
    pub fn for_prompt(&self) -> Value {
        serde_json::json!({
            "name": self.name,
            "tone": self.tone,
            "language": self.language,
            "structure_template": self.template(),
        })
    }
}

crate::input! {
    /// An author profile as `POST` and `PUT` send it, or, as `AuthorProfileChanges`, what
    /// `PATCH` changes.
    pub struct NewAuthorProfile, changes AuthorProfileChanges {
        name: required String = Bounded(max::NAME),
        description: optional String = Text(max::DESCRIPTION),
        /// The voice content is written in.
        tone: required String = Bounded(MAX_TONE),
        /// The language content is written in (`en`, `English`...).
        language: required String = Bounded(MAX_LANGUAGE),
        /// The sections an article follows: a JSON object or list (16 KiB at most).
        structure_template: optional Value = Json,
        is_active: optional bool = Boolean,
    }
}

fn template(errors: &mut FieldErrors, value: &Value) -> String {
    let text = value.to_string();
    if !(value.is_object() || value.is_array()) {
        errors.add("structure_template", "Must be a JSON object or list.");
    } else if text.len() > MAX_TEMPLATE_BYTES {
        errors.add("structure_template", format!("Ensure this is at most {MAX_TEMPLATE_BYTES} bytes as JSON."));
    }
    text
}

async fn all(services: &Services, account_id: &str) -> Result<Vec<AuthorProfile>, ApiError> {
    let query = Query::partition(keys::account_pk(account_id)).sk_prefix(PREFIX);
    Ok(services.store().await.all_of(query).await?)
}

async fn find(services: &Services, caller: &Caller, id: &str) -> Result<AuthorProfile, ApiError> {
    services.store().await.by_id(id, |id| AuthorProfile::key(caller.account_id(), id)).await
}

/// The account's profiles of `ids` that exist (for a content job: its tasks' profiles).
pub async fn by_ids(
    services: &Services,
    account_id: &str,
    ids: &[String],
) -> Result<HashMap<String, AuthorProfile>, ApiError> {
    let mut wanted: Vec<&String> = ids.iter().filter(|id| ids::is_valid_id(id)).collect();
    wanted.sort();
    wanted.dedup();
    let keys: Vec<Key> = wanted.iter().map(|id| AuthorProfile::key(account_id, id)).collect();
    let mut found = HashMap::new();
    for chunk in keys.chunks(100) {
        for item in services.store().await.get_many(chunk).await?.into_iter().flatten() {
            let profile: AuthorProfile = crate::store::decode(item)?;
            found.insert(profile.id.clone(), profile);
        }
    }
    Ok(found)
}

/// Whether `id` names an active profile of the account (a task naming one checks it).
pub async fn check_active(services: &Services, account_id: &str, id: &str) -> Result<Option<String>, ApiError> {
    if !ids::is_valid_id(id) {
        return Ok(Some(format!("Invalid pk \"{id}\" - object does not exist.")));
    }
    let found: Option<AuthorProfile> = services.store().await.get(&AuthorProfile::key(account_id, id)).await?;
    Ok(match found {
        None => Some(format!("Invalid pk \"{id}\" - object does not exist.")),
        Some(p) if !p.is_active => Some("This author profile is not active.".into()),
        Some(_) => None,
    })
}

/// `author-profiles/`: the account's profiles by name; `is_active` and `language` filter.
pub async fn list(
    services: &Services,
    caller: &Caller,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    let wanted = |name: &str| query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let active = crate::validation::query_flag(query, "is_active")?;
    let mut found: Vec<AuthorProfile> = all(services, caller.account_id())
        .await?
        .into_iter()
        .filter(|p| active.is_none_or(|a| a == p.is_active))
        .filter(|p| wanted("language").is_none_or(|l| l.eq_ignore_ascii_case(&p.language)))
        .collect();
    found.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then(a.id.cmp(&b.id)));
    Ok(found.iter().map(AuthorProfile::to_json).collect())
}

pub async fn show(services: &Services, caller: &Caller, id: &str) -> Result<Value, ApiError> {
    Ok(find(services, caller, id).await?.to_json())
}

fn count_change(account_id: &str, update: &str) -> Change {
    Change::new(Key::account(account_id), update.to_owned()).value(":one", n(1))
}

/// Creates a profile (owners and admins), within the plan's `max_author_profiles`.
pub async fn create(
    services: &Services,
    caller: &Caller,
    body: Submitted<NewAuthorProfile>,
) -> Result<Value, ApiError> {
    caller.require_manager()?;
    let input = body.read()?;
    let mut errors = FieldErrors::new();
    let structure = match &input.structure_template {
        Some(value) => template(&mut errors, value),
        None => "{}".into(),
    };
    errors.finish()?;
    let plan = crate::reference::any_plan(&caller.account.plan_id)?;
    let limit = plan.map_or(1, |p| p.max_author_profiles);
    let now = OffsetDateTime::now_utc();
    let profile = AuthorProfile {
        id: ids::new_id(),
        account_id: caller.account_id().to_owned(),
        name: input.name.trim().to_owned(),
        description: input.description.unwrap_or_default(),
        tone: input.tone.trim().to_owned(),
        language: input.language.trim().to_owned(),
        structure_template: structure,
        is_active: input.is_active.unwrap_or(true),
        created_at: now,
        updated_at: now,
    };
    let count = count_change(
        caller.account_id(),
        "SET author_profile_count = if_not_exists(author_profile_count, :zero) + :one",
    )
    .value(":zero", n(0))
    .condition(
        Condition::new("attribute_not_exists(author_profile_count) OR author_profile_count < :max")
            .value(":max", n(limit)),
    );
    match services
        .store()
        .await
        .transact(vec![Write::Update(count), Write::Put(profile.item()?, Some(Condition::not_exists()))])
        .await
    {
        Ok(()) => Ok(profile.to_json()),
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => Err(ApiError::field(
            "non_field_errors",
            format!("Your plan allows {limit} author profile(s); delete one or upgrade the plan."),
        )),
        Err(err) => Err(err.into()),
    }
}

/// Changes a profile (owners and admins): what is sent.
pub async fn update(
    services: &Services,
    caller: &Caller,
    id: &str,
    body: Submitted<AuthorProfileChanges>,
) -> Result<Value, ApiError> {
    let before = find(services, caller, id).await?;
    caller.require_manager()?;
    let input = body.read()?;
    let mut errors = FieldErrors::new();
    let mut after = before.clone();
    if let Some(value) = &input.structure_template {
        after.structure_template = template(&mut errors, value);
    }
    errors.finish()?;
    if let Some(name) = input.name {
        after.name = name.trim().to_owned();
    }
    if let Some(description) = input.description {
        after.description = description;
    }
    if let Some(tone) = input.tone {
        after.tone = tone.trim().to_owned();
    }
    if let Some(language) = input.language {
        after.language = language.trim().to_owned();
    }
    if let Some(active) = input.is_active {
        after.is_active = active;
    }
    after.updated_at = OffsetDateTime::now_utc();
    services.store().await.replace(after.item()?).await?;
    Ok(after.to_json())
}

/// Deletes a profile (owners and admins); the tasks naming it are written without a voice.
pub async fn delete(services: &Services, caller: &Caller, id: &str) -> Result<(), ApiError> {
    let profile = find(services, caller, id).await?;
    caller.require_manager()?;
    let count = count_change(caller.account_id(), "SET author_profile_count = author_profile_count - :one")
        .condition(Condition::new("author_profile_count > :zero").value(":zero", n(0)));
    services
        .store()
        .await
        .transact(vec![
            Write::Delete(AuthorProfile::key(&profile.account_id, &profile.id), Some(Condition::exists())),
            Write::Update(count),
        ])
        .await
        .map_err(StoreError::gone_is_not_found)
}
