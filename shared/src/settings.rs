//! Account settings (`/api/v1/account/settings/`): every member reads them, owners and admins
//! change them.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::access::Caller;
use crate::accounts::Email;
use crate::store::{Item, Key};
use crate::validation::{Fields, boolean, string};
use crate::{ApiError, Services};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountSettings {
    pub timezone: String,
    pub language: String,
    pub date_format: String,
    #[serde(default)]
    pub billing_email: Option<String>,
    pub email_notifications: bool,
}

impl Default for AccountSettings {
    fn default() -> Self {
        Self {
            timezone: "UTC".into(),
            language: "en".into(),
            date_format: "YYYY-MM-DD".into(),
            billing_email: None,
            email_notifications: true,
        }
    }
}

pub const DATE_FORMATS: &[&str] = &["YYYY-MM-DD", "DD/MM/YYYY", "MM/DD/YYYY"];

fn timezone(value: &Value) -> Result<String, String> {
    let tz = string(value)?;
    let valid = tz == "UTC"
        || (tz.contains('/')
            && tz.len() <= 64
            && tz
                .split('/')
                .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || "_-+".contains(c))));
    if valid { Ok(tz) } else { Err("Enter a valid IANA time zone, e.g. Europe/Berlin.".into()) }
}

fn language(value: &Value) -> Result<String, String> {
    let lang = string(value)?;
    let valid = (2..=5).contains(&lang.len()) && lang.chars().all(|c| c.is_ascii_lowercase() || c == '-');
    if valid { Ok(lang) } else { Err("Enter a language code such as \"en\" or \"pt-br\".".into()) }
}

fn date_format(value: &Value) -> Result<String, String> {
    let f = string(value)?;
    if DATE_FORMATS.contains(&f.as_str()) { Ok(f) } else { Err(format!("\"{f}\" is not a valid choice.")) }
}

async fn load(services: &Services, account_id: &str) -> Result<AccountSettings, ApiError> {
    Ok(services.store().await.get(&Key::account_settings(account_id)).await?.unwrap_or_default())
}

fn to_json(caller: &Caller, settings: &AccountSettings) -> Value {
    json!({
        "account": {"id": caller.account.id, "name": caller.account.name},
        "timezone": settings.timezone,
        "language": settings.language,
        "date_format": settings.date_format,
        "billing_email": settings.billing_email,
        "email_notifications": settings.email_notifications,
    })
}

pub async fn get(services: &Services, caller: &Caller) -> Result<Value, ApiError> {
    Ok(to_json(caller, &load(services, caller.account_id()).await?))
}

/// Changes the given fields; unknown fields are refused so that a typo is not silently ignored.
pub async fn patch(services: &Services, caller: &Caller, body: &[u8]) -> Result<Value, ApiError> {
    caller.require_manager()?;
    let mut f = Fields::parse(body)?;
    let mut settings = load(services, caller.account_id()).await?;
    if let Some(v) = f.optional("timezone", timezone) {
        settings.timezone = v;
    }
    if let Some(v) = f.optional("language", language) {
        settings.language = v;
    }
    if let Some(v) = f.optional("date_format", date_format) {
        settings.date_format = v;
    }
    if let Some(v) = f.optional("billing_email", Email::from_json) {
        settings.billing_email = Some(v.as_str().to_owned());
    }
    if let Some(v) = f.optional("email_notifications", boolean) {
        settings.email_notifications = v;
    }
    for unknown in f.unknown(&["timezone", "language", "date_format", "billing_email", "email_notifications"]) {
        f.error(&unknown, "Unknown setting.");
    }
    f.finish()?;
    let item = Item::new(&Key::account_settings(caller.account_id()), "AccountSettings", &settings)?;
    services.store().await.put(item, None).await?;
    Ok(to_json(caller, &settings))
}
