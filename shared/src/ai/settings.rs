//! The account's provider settings (`integration_type` `openai`, `runware`, `image_generation`).
//! The model, temperature and token limit come from here — there is no built-in model default.
//! API keys live in Secrets Manager (`<INTEGRATION_SECRETS_PREFIX>/<account>/<type>`); the table
//! keeps only a masked hint, and the API never answers a key.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::access::Caller;
use crate::accounts::rfc3339;
use crate::store::{Item, Key, keys};
use crate::validation::input::{Boolean, Custom, Raw};
use crate::validation::{FieldErrors, Submitted, max, raw_string, too_long};
use crate::{ApiError, Services};

pub const TYPES: &[&str] = &["openai", "runware", "image_generation"];
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
pub const RUNWARE_BASE_URL: &str = "https://api.runware.ai/v1";
/// Model calls one job has in flight unless the account's `max_concurrency` says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// The most calls one job may have in flight, whatever the setting.
pub const MAX_CONCURRENCY: u64 = 16;
/// Longest text setting (`model`, `provider`, `image_type`, `image_format`; characters).
pub const MAX_SETTING_TEXT: usize = 100;

fn check(valid: bool) -> Result<(), String> {
    if valid { Ok(()) } else { Err("Invalid value.".to_owned()) }
}

/// A non-blank string of at most `max` characters.
fn short_text(value: &Value, max: usize) -> Result<(), String> {
    match value.as_str().map(str::trim) {
        None | Some("") => Err("Invalid value.".to_owned()),
        Some(s) if s.chars().count() > max => Err(too_long(max)),
        Some(_) => Ok(()),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntegrationSettings {
    pub account_id: String,
    pub integration_type: String,
    pub is_active: bool,
    /// `model`, `max_tokens`, `temperature`, `base_url` (and image options): never the key.
    pub config: Value,
    /// `sk-…abcd`: enough to recognise a key, not to use it.
    #[serde(default)]
    pub api_key_hint: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

pub fn key(account_id: &str, integration_type: &str) -> Key {
    Key::new(keys::account_pk(account_id), format!("INTEGRATION#{integration_type}"))
}

fn secret_id(services: &Services, account_id: &str, integration_type: &str) -> String {
    crate::secrets::name(services, account_id, integration_type)
}

/// Provider settings as the API answers them: the key only masked.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IntegrationSettingsAnswer {
    /// The integration type.
    pub id: String,
    /// `openai`, `runware` or `image_generation`.
    pub integration_type: String,
    pub is_active: bool,
    /// `model`, `max_tokens`, `temperature`, `base_url` and the image options.
    pub config: Value,
    /// The key, masked (`sk-…abcd`), if one is set.
    #[serde(rename = "apiKey")]
    pub api_key: Option<String>,
    pub api_key_set: bool,
    /// When they were saved; `null` before.
    #[schema(format = DateTime)]
    pub updated_at: Option<String>,
}

impl From<&IntegrationSettings> for IntegrationSettingsAnswer {
    fn from(s: &IntegrationSettings) -> Self {
        Self {
            id: s.integration_type.clone(),
            integration_type: s.integration_type.clone(),
            is_active: s.is_active,
            config: s.config.clone(),
            api_key: s.api_key_hint.clone(),
            api_key_set: s.api_key_hint.is_some(),
            updated_at: Some(rfc3339(s.updated_at)),
        }
    }
}

impl IntegrationSettings {
    pub fn to_json(&self) -> Value {
        crate::http::answer(IntegrationSettingsAnswer::from(self))
    }
}

pub async fn load(
    services: &Services,
    account_id: &str,
    integration_type: &str,
) -> Result<Option<IntegrationSettings>, ApiError> {
    Ok(services.store().await.get(&key(account_id, integration_type)).await?)
}

/// The settings as the API shows them (a masked key), or an empty inactive record.
pub async fn get(services: &Services, caller: &Caller, integration_type: &str) -> Result<Value, ApiError> {
    caller.require_manager()?;
    let account_id = caller.account_id();
    if !TYPES.contains(&integration_type) {
        return Err(ApiError::not_found());
    }
    Ok(match load(services, account_id, integration_type).await? {
        Some(settings) => settings.to_json(),
        None => crate::http::answer(IntegrationSettingsAnswer {
            id: integration_type.to_owned(),
            integration_type: integration_type.to_owned(),
            is_active: false,
            config: json!({}),
            api_key: None,
            api_key_set: false,
            updated_at: None,
        }),
    })
}

fn config_object(value: &Value) -> Result<serde_json::Map<String, Value>, String> {
    value.as_object().cloned().ok_or_else(|| "Expected an object.".to_owned())
}

fn config_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let text = |max: usize| ObjectBuilder::new().schema_type(Type::String).max_length(Some(max));
    let integer =
        |min: i64, max: i64| ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(min)).maximum(Some(max));
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some("The settings to change; the others keep their saved values."))
        .property("model", text(MAX_SETTING_TEXT))
        .property("image_type", text(MAX_SETTING_TEXT))
        .property("image_format", text(MAX_SETTING_TEXT))
        .property("provider", text(MAX_SETTING_TEXT))
        .property("max_tokens", integer(1, 128_000))
        .property(
            "max_concurrency",
            integer(1, MAX_CONCURRENCY as i64).description(Some(
                "Model calls one job may have in flight (4 unless set); a 429 halves it for the rest of the job.",
            )),
        )
        .property("temperature", ObjectBuilder::new().schema_type(Type::Number).minimum(Some(0)).maximum(Some(2)))
        .property("base_url", text(max::URL).description(Some("A public http(s) URL.")))
        .property("max_in_article_images", integer(0, 10))
        .property("desktop_enabled", ObjectBuilder::new().schema_type(Type::Boolean))
        .property("mobile_enabled", ObjectBuilder::new().schema_type(Type::Boolean))
        .property("featured_image_size", text(20).description(Some("`WIDTHxHEIGHT`")))
        .property("desktop_image_size", text(20).description(Some("`WIDTHxHEIGHT`")))
        .property(
            "apiKey",
            text(512).description(Some("Where the original's clients send the key: kept like `apiKey`.")),
        )
        .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(false)))
        .into()
}

crate::input! {
    /// The body of `PUT settings/integrations/{pk}/` and `POST .../save/`.
    pub struct SettingsInput {
        /// Defaults to the saved value (true for new settings).
        is_active: optional bool = Boolean,
        /// The provider's key: stored in Secrets Manager, answered only masked.
        apiKey: optional String = Raw(512),
        config: optional serde_json::Map<String, Value> = Custom(config_object, config_schema),
    }
}

/// Saves settings: `config` fields are validated; `apiKey`, when given, goes to Secrets Manager.
pub async fn save(
    services: &Services,
    caller: &Caller,
    integration_type: &str,
    body: Submitted<SettingsInput>,
) -> Result<Value, ApiError> {
    caller.require_manager()?;
    let account_id = caller.account_id();
    if !TYPES.contains(&integration_type) {
        return Err(ApiError::not_found());
    }
    let SettingsInput { is_active, apiKey: api_key, config } = body.read()?;
    let mut f = FieldErrors::new();
    let current = load(services, account_id, integration_type).await?;
    let is_active = is_active.or(current.as_ref().map(|c| c.is_active)).unwrap_or(true);
    let mut config = config.unwrap_or_default();
    // The original's clients send the key inside `config`: it goes to Secrets Manager all the same.
    let (api_key, key_field) = match (api_key, config.remove("apiKey")) {
        (Some(key), _) => (Some(key), "apiKey"),
        (None, Some(nested)) => {
            (raw_string(&nested).map_err(|message| f.add("config.apiKey", message)).ok(), "config.apiKey")
        }
        (None, None) => (None, "apiKey"),
    };
    let mut merged = current.as_ref().and_then(|c| c.config.as_object().cloned()).unwrap_or_default();
    let policy = services.config.deployment.outbound_policy();
    for (name, value) in config {
        let valid: Result<(), String> = match name.as_str() {
            "model" | "image_type" | "image_format" | "provider" => short_text(&value, MAX_SETTING_TEXT),
            "max_tokens" => check(value.as_u64().is_some_and(|n| (1..=128_000).contains(&n))),
            "max_concurrency" => check(value.as_u64().is_some_and(|n| (1..=MAX_CONCURRENCY).contains(&n))),
            "temperature" => check(value.as_f64().is_some_and(|t| (0.0..=2.0).contains(&t))),
            "base_url" => match value.as_str() {
                Some(u) if u.chars().count() > max::URL => Err(too_long(max::URL)),
                Some(u) => {
                    policy.check_url(u).map(|_| ()).map_err(|refused| format!("This URL is refused: {refused}."))
                }
                None => Err(crate::validation::NOT_A_STRING.to_owned()),
            },
            "max_in_article_images" => check(value.as_u64().is_some_and(|n| n <= 10)),
            "desktop_enabled" | "mobile_enabled" => check(value.is_boolean()),
            "featured_image_size" | "desktop_image_size" => {
                short_text(&value, 20).and_then(|()| check(value.as_str().is_some_and(|s| s.contains('x'))))
            }
            _ => {
                f.add(&format!("config.{name}"), "Unknown setting.");
                continue;
            }
        };
        match valid {
            Ok(()) => {
                merged.insert(name, value);
            }
            Err(message) => f.add(&format!("config.{name}"), message),
        }
    }
    if let Some(k) = &api_key
        && (k.len() < 8 || k.len() > 512 || k.chars().any(char::is_whitespace))
    {
        f.add(key_field, "Enter the provider's API key.");
    }
    f.finish()?;
    let mut hint = current.as_ref().and_then(|c| c.api_key_hint.clone());
    if let Some(api_key) = api_key {
        crate::secrets::put(services, &secret_id(services, account_id, integration_type), &api_key).await?;
        hint = Some(crate::secrets::mask(&api_key));
    }
    let settings = IntegrationSettings {
        account_id: account_id.to_owned(),
        integration_type: integration_type.to_owned(),
        is_active,
        config: Value::Object(merged),
        api_key_hint: hint,
        updated_at: OffsetDateTime::now_utc(),
    };
    services
        .store()
        .await
        .put(Item::new(&key(account_id, integration_type), "IntegrationSettings", &settings)?, None)
        .await?;
    Ok(settings.to_json())
}

/// What a chat call needs, resolved for an account.
#[derive(Clone)]
pub struct ModelConfig {
    pub base_url: String,
    pub api_key: String,
    pub model: String,
    pub max_tokens: u32,
    pub temperature: f64,
    /// Calls one job may have in flight.
    pub max_concurrency: usize,
}

impl std::fmt::Debug for ModelConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

/// Why an account cannot run AI functions.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigurationError(pub String);

/// The account's chat model configuration. With no OpenAI settings, only a configured provider
/// TEST server (local stack, tests) stands in; in a deployment the job fails with a clear message.
pub async fn model_config(
    services: &Services,
    account_id: &str,
) -> Result<Result<ModelConfig, ConfigurationError>, ApiError> {
    let settings = load(services, account_id, "openai").await?;
    model_config_from(services, account_id, settings.as_ref(), async || fetch_key(services, account_id, "openai").await)
        .await
}

/// [`model_config`] from settings already read; `key` fetches the saved key when one is needed.
pub async fn model_config_from(
    services: &Services,
    account_id: &str,
    settings: Option<&IntegrationSettings>,
    key: impl AsyncFnOnce() -> Result<String, ApiError>,
) -> Result<Result<ModelConfig, ConfigurationError>, ApiError> {
    let Some(settings) = settings.filter(|s| s.is_active) else {
        return Ok(match &services.config.provider_test_server_url {
            Some(url) => Ok(ModelConfig {
                base_url: url.clone(),
                api_key: "test-server".into(),
                model: "test-model".into(),
                max_tokens: 4000,
                temperature: 0.7,
                max_concurrency: DEFAULT_CONCURRENCY,
            }),
            None => Err(ConfigurationError(format!(
                "OpenAI IntegrationSettings not configured for account {account_id}. Please configure OpenAI settings in the integration page."
            ))),
        });
    };
    let config = &settings.config;
    let Some(model) = config["model"].as_str().map(str::to_owned) else {
        return Ok(Err(ConfigurationError(format!(
            "Model not configured in IntegrationSettings for account {account_id}. Please set 'model' in OpenAI integration settings."
        ))));
    };
    if settings.api_key_hint.is_none() {
        return Ok(Err(ConfigurationError("OpenAI API key not configured".into())));
    }
    Ok(Ok(ModelConfig {
        base_url: config["base_url"].as_str().unwrap_or(OPENAI_BASE_URL).to_owned(),
        api_key: key().await?,
        model,
        max_tokens: config["max_tokens"].as_u64().unwrap_or(4000) as u32,
        temperature: config["temperature"].as_f64().unwrap_or(0.7),
        max_concurrency: config["max_concurrency"]
            .as_u64()
            .map_or(DEFAULT_CONCURRENCY, |n| n.clamp(1, MAX_CONCURRENCY) as usize),
    }))
}

/// The key saved for `integration_type`, from Secrets Manager (whether one is saved is the
/// caller's to check, from the settings' hint).
pub async fn fetch_key(services: &Services, account_id: &str, integration_type: &str) -> Result<String, ApiError> {
    crate::secrets::get(services, &secret_id(services, account_id, integration_type))
        .await?
        .ok_or_else(|| ApiError::internal(format!("the {integration_type} key of account {account_id} is missing")))
}

/// `settings/integrations/{pk}/test/`: one small call with the account's settings, to show that
/// the key and model work. Answers what the provider said, never the key.
pub async fn test_connection(services: &Services, caller: &Caller, integration_type: &str) -> Result<Value, ApiError> {
    caller.require_manager()?;
    let account_id = caller.account_id();
    if integration_type != "openai" {
        return Err(ApiError::field(
            "integration_type",
            "Only the OpenAI-compatible chat settings can be tested here.",
        ));
    }
    let config = match model_config(services, account_id).await? {
        Ok(config) => config,
        Err(err) => return Err(ApiError::BadRequest(err.0)),
    };
    let retry = super::RetryPolicy { attempts: 1, ..services.config.provider_retry };
    let client = super::ProviderClient::new(services.http().await.clone(), &config.base_url, &config.api_key, retry);
    let request = super::ChatRequest {
        model: config.model.clone(),
        system: "You answer only with JSON.".into(),
        user: super::prompts::with_input("Answer {\"ok\": true}.", &json!({"task": "ping"})),
        temperature: 0.0,
        max_tokens: 20,
        json: true,
    };
    match client.chat(&request).await {
        Ok(reply) => Ok(crate::http::answer(ConnectionTest {
            success: true,
            model: reply.model,
            duration_ms: reply.duration_ms,
            tokens: reply.input_tokens + reply.output_tokens,
            cost_usd: reply.cost_usd,
        })),
        Err(err) => Err(ApiError::BadRequest(format!("The provider did not answer as expected: {err}"))),
    }
}

/// `integrations/image_generation/`: the image providers, their models, and the account's image
/// settings.
pub async fn image_generation(services: &Services, account_id: &str) -> Result<Value, ApiError> {
    let settings = load(services, account_id, "image_generation").await?;
    let models =
        [("openai", &["dall-e-3", "dall-e-2", "gpt-image-1"][..]), ("runware", &["runware:97@1", "runware:100@1"])];
    Ok(crate::http::answer(ImageGenerationAnswer {
        providers: vec!["openai".into(), "runware".into()],
        models: models.iter().map(|(p, m)| ((*p).to_owned(), m.iter().map(|s| (*s).to_owned()).collect())).collect(),
        settings: settings.map(|s| s.config).unwrap_or_else(|| json!({})),
    }))
}

/// What one small call to the provider showed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectionTest {
    pub success: bool,
    pub model: String,
    pub duration_ms: u64,
    pub tokens: u64,
    pub cost_usd: f64,
}

/// The image providers, their models, and the account's image settings.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImageGenerationAnswer {
    pub providers: Vec<String>,
    /// Provider → its models.
    pub models: std::collections::BTreeMap<String, Vec<String>>,
    /// The saved `image_generation` settings (`{}` before any).
    pub settings: Value,
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_masked() {
        assert_eq!(crate::secrets::mask("sk-proj-1234567890abcd"), "sk-…abcd");
    }
}
