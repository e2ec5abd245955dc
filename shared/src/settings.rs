//! Account settings (`/api/v1/account/settings/`): every member reads them, owners and admins
//! change them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::access::Caller;
use crate::accounts::Email;
use crate::http::openapi::Data;
use crate::http::{self, AppState, Reply};
use crate::store::{Item, Key};
use crate::throttle::scopes::Default as Scope;
use crate::validation::Submitted;
use crate::validation::input::{Boolean, Choice, Custom, Rule, Text};
use crate::validation::string;
use crate::{ApiError, Services};
use axum::extract::State;

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

async fn load(services: &Services, account_id: &str) -> Result<AccountSettings, ApiError> {
    Ok(services.store().await.get(&Key::account_settings(account_id)).await?.unwrap_or_default())
}

/// The account's settings as the API answers them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SettingsAnswer {
    pub account: AccountRef,
    pub timezone: String,
    pub language: String,
    pub date_format: String,
    pub billing_email: Option<String>,
    pub email_notifications: bool,
}

/// Which account.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountRef {
    pub id: String,
    pub name: String,
}

fn to_json(caller: &Caller, settings: &AccountSettings) -> Value {
    crate::http::answer(SettingsAnswer {
        account: AccountRef { id: caller.account.id.clone(), name: caller.account.name.clone() },
        timezone: settings.timezone.clone(),
        language: settings.language.clone(),
        date_format: settings.date_format.clone(),
        billing_email: settings.billing_email.clone(),
        email_notifications: settings.email_notifications,
    })
}

/// The account's settings (every member).
#[utoipa::path(get, path = "/api/v1/account/settings/", operation_id = "get_settings",
    responses((status = 200, description = "Settings", body = Data<SettingsAnswer>)))]
pub async fn get(State(services): State<AppState>, caller: http::Caller<Scope>) -> Result<Reply, ApiError> {
    Ok(Reply::ok(to_json(&caller, &load(&services, caller.account_id()).await?)))
}

fn timezone_schema() -> utoipa::openapi::schema::Schema {
    Text(64).schema()
}

fn language_schema() -> utoipa::openapi::schema::Schema {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .min_length(Some(2))
        .max_length(Some(5))
        .into()
}

crate::input! {
    /// The settings to change; a field that is not a setting is refused.
    pub struct SettingsChanges, unknown "Unknown setting." {
        /// An IANA time zone, e.g. `Europe/Berlin`.
        timezone: optional String = Custom(timezone, timezone_schema),
        /// A language code such as `en` or `pt-br`.
        language: optional String = Custom(language, language_schema),
        date_format: optional String = Choice(DATE_FORMATS),
        billing_email: optional Email = Email::RULE,
        email_notifications: optional bool = Boolean,
    }
}

/// Changes the given settings (owners and admins).
#[utoipa::path(patch, path = "/api/v1/account/settings/", operation_id = "patch_settings", request_body = SettingsChanges,
    responses((status = 200, description = "Settings as saved", body = Data<SettingsAnswer>)))]
pub async fn patch(
    State(services): State<AppState>,
    caller: http::Caller<Scope>,
    body: Submitted<SettingsChanges>,
) -> Result<Reply, ApiError> {
    caller.require_manager()?;
    let input = body.read()?;
    let mut settings = load(&services, caller.account_id()).await?;
    settings.timezone = input.timezone.unwrap_or(settings.timezone);
    settings.language = input.language.unwrap_or(settings.language);
    settings.date_format = input.date_format.unwrap_or(settings.date_format);
    if let Some(email) = input.billing_email {
        settings.billing_email = Some(email.as_str().to_owned());
    }
    settings.email_notifications = input.email_notifications.unwrap_or(settings.email_notifications);
    let item = Item::new(&Key::account_settings(caller.account_id()), "AccountSettings", &settings)?;
    services.store().await.put(item, None).await?;
    Ok(Reply::ok(to_json(&caller, &settings)).with_message("Settings saved"))
}
