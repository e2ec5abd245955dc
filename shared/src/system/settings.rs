//! The keyed settings of `settings/system|account|user|modules|ai/`: a JSON value under a key,
//! one family each.
//!
//! - `system`: platform-wide (`PLATFORM#SETTINGS`); every member reads, the platform roles write.
//! - `account`, `ai`: the account's (`ACCOUNT#<id>` / `SETTING#<family>#<key>`); members read,
//!   owners and admins write.
//! - `modules`: the account's, per module (`SETTING#modules#<module>#<key>`); its id is
//!   `<module>:<key>`, and a bare key finds it when one module has it.
//! - `user`: the caller's own (`SETTING#user#<user>#<key>`), whatever the role; nobody else's.
//!
//! A key is `[a-z][a-z0-9_.]*` (64 at most); its id is the key. A value is any JSON up to
//! [`MAX_VALUE_BYTES`]; the keys of [`known`] have their own rule (a boolean, a bounded number, a
//! choice...), checked on every write. The values are kept as JSON text, so they come back exactly
//! as sent.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::switches::SWITCHES;
use crate::access::Caller;
use crate::accounts::rfc3339;
use crate::store::{Condition, Item, Key, Query, StoreError, keys};
use crate::validation::input::{Choice, Json, Text};
use crate::validation::{FieldErrors, Submitted, max};
use crate::{ApiError, Services};

/// The largest value, as JSON text.
pub const MAX_VALUE_BYTES: usize = 16 * 1024;
/// The longest key.
pub const MAX_KEY: usize = 64;
const PREFIX: &str = "SETTING#";

/// A family of settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    System,
    Account,
    User,
    Modules,
    Ai,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Account => "account",
            Self::User => "user",
            Self::Modules => "modules",
            Self::Ai => "ai",
        }
    }

    /// The partition and the sort-key prefix of the family's settings the caller reaches.
    fn place(self, caller: &Caller) -> (String, String) {
        let family = self.name();
        match self {
            Self::System => ("PLATFORM#SETTINGS".into(), format!("{PREFIX}{family}#")),
            Self::User => (keys::account_pk(&caller.user.account_id), format!("{PREFIX}{family}#{}#", caller.user.id)),
            _ => (keys::account_pk(caller.account_id()), format!("{PREFIX}{family}#")),
        }
    }

    fn key(self, caller: &Caller, id: &SettingId) -> Key {
        let (pk, prefix) = self.place(caller);
        match &id.module {
            Some(module) => Key::new(pk, format!("{prefix}{module}#{}", id.key)),
            None => Key::new(pk, format!("{prefix}{}", id.key)),
        }
    }

    /// 403 unless the caller may change the family's settings.
    fn require_writer(self, caller: &Caller) -> Result<(), ApiError> {
        match self {
            Self::System if caller.crosses_accounts() => Ok(()),
            Self::System => Err(ApiError::permission_denied()),
            Self::User => Ok(()),
            _ => caller.require_manager(),
        }
    }
}

/// How a known key's value is checked.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Boolean,
    Integer(i64, i64),
    Number(f64, f64),
    Text(usize),
    Choice(&'static [&'static str]),
    /// An IANA time zone name (`Europe/Paris`, `UTC`).
    TimeZone,
}

/// The keys whose values have a rule, by family: what the SPA sets. Any other key takes any JSON
/// value up to [`MAX_VALUE_BYTES`].
pub fn known(family: Family, key: &str) -> Option<Kind> {
    const LANGUAGE: Kind = Kind::Text(35);
    Some(match (family, key) {
        (Family::System, "maintenance_mode") => Kind::Boolean,
        (Family::System, "announcement") => Kind::Text(max::ANY_TEXT),
        (Family::System, "support_email") => Kind::Text(254),
        (Family::Account, "timezone") | (Family::User, "timezone") => Kind::TimeZone,
        (Family::Account, "default_language") | (Family::User, "language") => LANGUAGE,
        (Family::Account, "default_word_count") => Kind::Integer(100, 20_000),
        (Family::Account, "email_notifications") | (Family::User, "email_notifications") => Kind::Boolean,
        (Family::User, "theme") => Kind::Choice(&["light", "dark", "system"]),
        (Family::User, "page_size") => Kind::Integer(1, 100),
        (Family::Ai, "temperature") => Kind::Number(0.0, 2.0),
        (Family::Ai, "max_tokens") => Kind::Integer(1, 128_000),
        (Family::Ai, "default_model") | (Family::Ai, "image_model") => Kind::Text(100),
        (Family::Ai, "image_style") => Kind::Text(max::NAME),
        _ => return None,
    })
}

fn check(kind: Kind, value: &Value) -> Result<(), String> {
    let fail = |what: &str| Err(what.to_owned());
    match kind {
        Kind::Boolean if value.is_boolean() => Ok(()),
        Kind::Boolean => fail("Must be a valid boolean."),
        Kind::Integer(low, high) => match value.as_i64() {
            Some(n) if (low..=high).contains(&n) => Ok(()),
            _ => Err(format!("Must be a whole number from {low} to {high}.")),
        },
        Kind::Number(low, high) => match value.as_f64() {
            Some(n) if (low..=high).contains(&n) => Ok(()),
            _ => Err(format!("Must be a number from {low} to {high}.")),
        },
        Kind::Text(max) => match value.as_str() {
            Some(text) if text.chars().count() <= max && !text.chars().any(char::is_control) => Ok(()),
            Some(_) => Err(crate::validation::too_long(max)),
            None => fail(crate::validation::NOT_A_STRING),
        },
        Kind::Choice(options) => match value.as_str() {
            Some(text) if options.contains(&text) => Ok(()),
            _ => Err(format!("Must be one of: {}.", options.join(", "))),
        },
        Kind::TimeZone => match value.as_str() {
            Some(zone) if is_time_zone(zone) => Ok(()),
            _ => fail("Enter a time zone name, such as \"Europe/Paris\" or \"UTC\"."),
        },
    }
}

/// A time zone's shape: `UTC`, or `Area/Location[/More]` of letters, `_`, `-` and `+`.
fn is_time_zone(zone: &str) -> bool {
    let part =
        |p: &str| !p.is_empty() && p.len() <= 30 && p.chars().all(|c| c.is_ascii_alphanumeric() || "_-+".contains(c));
    zone == "UTC" || (zone.contains('/') && zone.len() <= 64 && zone.split('/').all(part))
}

fn key_error(key: &str) -> Option<String> {
    let mut chars = key.chars();
    let starts = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
    if key.len() > MAX_KEY {
        Some(crate::validation::too_long(MAX_KEY))
    } else if !(starts && rest) {
        Some("Use lowercase letters, digits, \"_\" and \".\", starting with a letter.".into())
    } else {
        None
    }
}

/// A setting as kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Setting {
    key: String,
    #[serde(default)]
    module_name: Option<String>,
    /// The value as JSON text.
    value: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    updated_by: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

/// A setting as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SettingAnswer {
    /// The key (`<module>:<key>` for a module's setting).
    pub id: String,
    pub key: String,
    /// Module settings only: the module.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module_name: Option<String>,
    #[schema(value_type = Object)]
    pub value: Value,
    pub description: String,
    pub created_at: String,
    pub updated_at: String,
}

impl Setting {
    fn answer(&self) -> SettingAnswer {
        SettingAnswer {
            id: match &self.module_name {
                Some(module) => format!("{module}:{}", self.key),
                None => self.key.clone(),
            },
            key: self.key.clone(),
            module_name: self.module_name.clone(),
            value: serde_json::from_str(&self.value).unwrap_or(Value::Null),
            description: self.description.clone(),
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
        }
    }

    fn to_json(&self) -> Value {
        crate::http::answer(self.answer())
    }
}

/// Where a setting is: its key, and its module for a module's setting.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SettingId {
    module: Option<String>,
    key: String,
}

crate::input! {
    /// A setting as `POST` and `PUT` send it, or, as `SettingChanges`, what `PATCH` changes.
    pub struct NewSetting, changes SettingChanges {
        /// `[a-z][a-z0-9_.]*`, 64 characters at most; fixed once created.
        key: required String = Text(MAX_KEY),
        /// Any JSON (16 KiB at most); the known keys have their own rule.
        value: required Value = Json,
        description: optional String = Text(max::DESCRIPTION),
    }
}

crate::input! {
    /// A module's setting as `POST` and `PUT` send it, or, as `ModuleSettingChanges`, what
    /// `PATCH` changes.
    pub struct NewModuleSetting, changes ModuleSettingChanges {
        /// One of `planner`, `writer`, `thinker`, `automation`, `site_builder`, `linker`,
        /// `optimizer`, `publisher`; fixed once created.
        module_name: required String = Choice(&SWITCHES),
        key: required String = Text(MAX_KEY),
        value: required Value = Json,
        description: optional String = Text(max::DESCRIPTION),
    }
}

impl From<SettingChanges> for ModuleSettingChanges {
    fn from(c: SettingChanges) -> Self {
        Self { module_name: None, key: c.key, value: c.value, description: c.description }
    }
}

/// Checks a value against its key's rule and the size limit.
fn value_text(family: Family, key: &str, value: &Value, errors: &mut FieldErrors) -> String {
    let text = value.to_string();
    if text.len() > MAX_VALUE_BYTES {
        errors.add("value", format!("Ensure the value is at most {MAX_VALUE_BYTES} bytes as JSON."));
    } else if let Some(kind) = known(family, key)
        && let Err(why) = check(kind, value)
    {
        errors.add("value", why);
    }
    text
}

async fn all(services: &Services, family: Family, caller: &Caller) -> Result<Vec<Setting>, ApiError> {
    let (pk, prefix) = family.place(caller);
    Ok(services.store().await.all_of(Query::partition(pk).sk_prefix(prefix)).await?)
}

/// Reads the id of a setting: the key, or `<module>:<key>` (a bare key of the modules' family is
/// looked up among the account's module settings).
async fn find(services: &Services, family: Family, caller: &Caller, id: &str) -> Result<Setting, ApiError> {
    let (module, key) = match id.split_once(':') {
        Some((module, key)) if family == Family::Modules && SWITCHES.contains(&module) => {
            (Some(module.to_owned()), key.to_owned())
        }
        Some(_) => return Err(ApiError::not_found()),
        None => (None, id.to_owned()),
    };
    if key_error(&key).is_some() {
        return Err(ApiError::not_found());
    }
    if family == Family::Modules && module.is_none() {
        let mut found: Vec<Setting> =
            all(services, family, caller).await?.into_iter().filter(|s| s.key == key).collect();
        return match found.len() {
            0 => Err(ApiError::not_found()),
            1 => Ok(found.remove(0)),
            _ => Err(ApiError::BadRequest(format!(
                "Several modules have the setting \"{key}\": name it as <module>:{key}."
            ))),
        };
    }
    let id = SettingId { module, key };
    services.store().await.get(&family.key(caller, &id)).await?.ok_or_else(ApiError::not_found)
}

/// The family's settings, by key; `key` and (modules) `module_name` filter.
pub async fn list(
    services: &Services,
    family: Family,
    caller: &Caller,
    query: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    let wanted = |name: &str| query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let mut found: Vec<Setting> = all(services, family, caller)
        .await?
        .into_iter()
        .filter(|s| wanted("key").is_none_or(|k| k == s.key))
        .filter(|s| wanted("module_name").is_none_or(|m| s.module_name.as_deref() == Some(m)))
        .collect();
    found.sort_by(|a, b| (&a.module_name, &a.key).cmp(&(&b.module_name, &b.key)));
    Ok(found.iter().map(Setting::to_json).collect())
}

pub async fn show(services: &Services, family: Family, caller: &Caller, id: &str) -> Result<Value, ApiError> {
    Ok(find(services, family, caller, id).await?.to_json())
}

/// `settings/modules/module/{module_name}/`: one module's settings as `{module, settings: {key:
/// value}}`.
pub async fn of_module(services: &Services, caller: &Caller, module: &str) -> Result<Value, ApiError> {
    if !SWITCHES.contains(&module) {
        return Err(ApiError::not_found());
    }
    let settings: serde_json::Map<String, Value> = all(services, Family::Modules, caller)
        .await?
        .into_iter()
        .filter(|s| s.module_name.as_deref() == Some(module))
        .map(|s| {
            let value = s.answer().value;
            (s.key, value)
        })
        .collect();
    Ok(serde_json::json!({"module": module, "settings": settings}))
}

/// Creates a setting (409 when its key is taken).
pub async fn create(
    services: &Services,
    family: Family,
    caller: &Caller,
    input: NewModuleSetting,
) -> Result<Value, ApiError> {
    family.require_writer(caller)?;
    let mut errors = FieldErrors::new();
    if let Some(why) = key_error(&input.key) {
        errors.add("key", why);
    }
    let value = value_text(family, &input.key, &input.value, &mut errors);
    errors.finish()?;
    let now = OffsetDateTime::now_utc();
    let module = (family == Family::Modules).then_some(input.module_name);
    let setting = Setting {
        key: input.key,
        module_name: module.clone(),
        value,
        description: input.description.unwrap_or_default(),
        updated_by: caller.user.id.clone(),
        created_at: now,
        updated_at: now,
    };
    let key = family.key(caller, &SettingId { module, key: setting.key.clone() });
    match services.store().await.put(Item::new(&key, "Setting", &setting)?, Some(Condition::not_exists())).await {
        Ok(()) => Ok(setting.to_json()),
        Err(StoreError::ConditionFailed) => {
            Err(ApiError::field("key", "A setting with this key exists already: change it instead."))
        }
        Err(err) => Err(err.into()),
    }
}

/// Changes a setting's value or description (its key and module stay).
pub async fn update(
    services: &Services,
    family: Family,
    caller: &Caller,
    id: &str,
    changes: ModuleSettingChanges,
) -> Result<Value, ApiError> {
    let before = find(services, family, caller, id).await?;
    family.require_writer(caller)?;
    let mut errors = FieldErrors::new();
    if changes.key.as_ref().is_some_and(|k| *k != before.key) {
        errors.add("key", "A setting keeps its key: create another one.");
    }
    if family == Family::Modules && changes.module_name.as_ref().is_some_and(|m| Some(m) != before.module_name.as_ref())
    {
        errors.add("module_name", "A setting stays with its module.");
    }
    let mut after = before.clone();
    if let Some(value) = &changes.value {
        after.value = value_text(family, &before.key, value, &mut errors);
    }
    errors.finish()?;
    if let Some(description) = changes.description {
        after.description = description;
    }
    after.updated_by = caller.user.id.clone();
    after.updated_at = OffsetDateTime::now_utc();
    let key = family.key(caller, &SettingId { module: before.module_name.clone(), key: before.key.clone() });
    services.store().await.replace(Item::new(&key, "Setting", &after)?).await?;
    Ok(after.to_json())
}

pub async fn delete(services: &Services, family: Family, caller: &Caller, id: &str) -> Result<(), ApiError> {
    let setting = find(services, family, caller, id).await?;
    family.require_writer(caller)?;
    let key = family.key(caller, &SettingId { module: setting.module_name, key: setting.key });
    services.store().await.delete(&key, Some(Condition::exists())).await.map_err(StoreError::gone_is_not_found)
}

/// A body of the families without a module, read as a module setting's (its module unused).
pub fn plain(body: Submitted<NewSetting>) -> Result<NewModuleSetting, ApiError> {
    let input = body.read()?;
    Ok(NewModuleSetting {
        module_name: String::new(),
        key: input.key,
        value: input.value,
        description: input.description,
    })
}

/// A change of the families without a module.
pub fn plain_changes(body: Submitted<SettingChanges>) -> Result<ModuleSettingChanges, ApiError> {
    Ok(body.read()?.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_keys_have_their_rule_and_other_keys_take_any_json() {
        let ok = |family, key, value: Value| {
            let mut errors = FieldErrors::new();
            value_text(family, key, &value, &mut errors);
            errors.is_empty()
        };
        assert!(ok(Family::User, "theme", json!("dark")));
        assert!(!ok(Family::User, "theme", json!("pink")));
        assert!(!ok(Family::User, "page_size", json!(0)));
        assert!(ok(Family::Ai, "temperature", json!(0.7)));
        assert!(!ok(Family::Ai, "temperature", json!("hot")));
        assert!(ok(Family::Account, "timezone", json!("America/New_York")));
        assert!(!ok(Family::Account, "timezone", json!("../../etc")));
        assert!(ok(Family::Account, "anything.else", json!({"nested": [1, 2, {"x": null}]})));
        assert!(!ok(Family::Account, "big", json!("x".repeat(MAX_VALUE_BYTES))));
        assert!(key_error("seo.title_length").is_none());
        assert!(key_error("Bad Key").is_some());
        assert!(key_error("9lives").is_some());
        assert!(key_error(&"k".repeat(MAX_KEY + 1)).is_some());
    }
}
