//! Prompts: a built-in default for every prompt type, which an account may override. Every
//! prompt ends with the task's input as an `INPUT:` line holding one JSON object.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::store::{Key, keys};
use crate::validation::Submitted;
use crate::validation::input::{Bounded, Custom, Text};
use crate::{ApiError, Services};

pub const TYPES: &[&str] = &[
    "clustering",
    "ideas",
    "content_generation",
    "image_prompt_extraction",
    "image_prompt_template",
    "negative_prompt",
    "optimization",
];

/// The built-in prompt of `prompt_type`.
pub fn default_prompt(prompt_type: &str) -> Option<&'static str> {
    Some(match prompt_type {
        "clustering" => {
            "You are an SEO strategist. Group the keywords in INPUT into topic clusters a single article could rank for. \
Use every keyword at most once and only keywords from INPUT. Answer with a JSON object: \
{\"clusters\": [{\"name\": string, \"description\": string, \"keywords\": [string]}]}."
        }
        "ideas" => {
            "You are a content strategist. Propose articles for the keyword cluster in INPUT. Answer with a JSON object: \
{\"ideas\": [{\"title\": string, \"description\": string, \"content_type\": \"blog_post\"|\"article\"|\"guide\"|\"tutorial\", \
\"content_structure\": \"cluster_hub\"|\"landing_page\"|\"pillar_page\"|\"supporting_page\", \
\"target_keywords\": [string], \"estimated_word_count\": integer}]}."
        }
        "content_generation" => {
            "You are an expert writer. Write the article described in INPUT as HTML (h2/h3, p, ul, ol, strong, em, a). \
Answer with a JSON object: {\"title\": string, \"meta_title\": string, \"meta_description\": string, \"content_html\": string}."
        }
        "image_prompt_extraction" => {
            "Read the article in INPUT and describe the images it needs. Answer with a JSON object: \
{\"featured_prompt\": string, \"in_article_prompts\": [string]} with exactly in_article_count in-article prompts."
        }
        "image_prompt_template" => "{prompt}. Photorealistic, natural light, no text.",
        "negative_prompt" => "text, watermark, logo, blurry, distorted hands, low quality",
        "optimization" => {
            "You are an SEO editor. Improve the article in INPUT for its primary keyword: the keyword early and in a \
subheading, clear h2/h3 structure, short sentences, a meta title of 30-60 characters and a meta description of \
120-160. Keep its facts, links and images. Answer with a JSON object: \
{\"html_content\": string, \"meta_title\": string, \"meta_description\": string}."
        }
        _ => return None,
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptOverride {
    pub prompt_type: String,
    pub prompt_value: String,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

pub fn override_key(account_id: &str, prompt_type: &str) -> Key {
    Key::new(keys::account_pk(account_id), format!("PROMPT#{prompt_type}"))
}

/// The account's prompt of `prompt_type`: its override, else the default.
pub async fn prompt(services: &Services, account_id: &str, prompt_type: &str) -> Result<String, ApiError> {
    if let Some(custom) = services.store().await.get::<PromptOverride>(&override_key(account_id, prompt_type)).await? {
        return Ok(custom.prompt_value);
    }
    default_prompt(prompt_type).map(str::to_owned).ok_or_else(ApiError::not_found)
}

/// The user message: the instructions, then the input.
pub fn with_input(instructions: &str, input: &serde_json::Value) -> String {
    format!("{instructions}\n\nINPUT: {input}")
}

/// A prompt type with the account's text for it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PromptAnswer {
    pub prompt_type: String,
    /// The text the AI functions use: the account's own, or the default.
    pub prompt_value: String,
    /// Whether the account overrides the default.
    pub is_custom: bool,
    pub default_value: Option<String>,
}

fn to_json(prompt_type: &str, value: &str, is_custom: bool) -> serde_json::Value {
    crate::http::answer(PromptAnswer {
        prompt_type: prompt_type.to_owned(),
        prompt_value: value.to_owned(),
        is_custom,
        default_value: default_prompt(prompt_type).map(str::to_owned),
    })
}

/// One prompt type as the API shows it.
pub async fn get(services: &Services, account_id: &str, prompt_type: &str) -> Result<serde_json::Value, ApiError> {
    let default = default_prompt(prompt_type).ok_or_else(ApiError::not_found)?;
    Ok(match services.store().await.get::<PromptOverride>(&override_key(account_id, prompt_type)).await? {
        Some(custom) => to_json(prompt_type, &custom.prompt_value, true),
        None => to_json(prompt_type, default, false),
    })
}

/// Every prompt type, overridden or default.
pub async fn list(services: &Services, account_id: &str) -> Result<Vec<serde_json::Value>, ApiError> {
    let mut out = Vec::new();
    for prompt_type in TYPES {
        out.push(get(services, account_id, prompt_type).await?);
    }
    Ok(out)
}

/// The AI actions' names that clients of the original send for the prompt type they use
/// (`{"prompt_type": "auto_cluster"}` in its examples).
const ACTION_NAMES: &[(&str, &str)] = &[
    ("auto_cluster", "clustering"),
    ("auto_generate_ideas", "ideas"),
    ("generate_ideas", "ideas"),
    ("auto_generate_content", "content_generation"),
    ("generate_content", "content_generation"),
    ("generate_image_prompts", "image_prompt_extraction"),
];

fn prompt_type_field(value: &serde_json::Value) -> Result<String, String> {
    let t = crate::validation::string(value)?;
    if TYPES.contains(&t.as_str()) {
        return Ok(t);
    }
    match ACTION_NAMES.iter().find(|(action, _)| *action == t) {
        Some((_, prompt_type)) => Ok((*prompt_type).to_owned()),
        None => Err(format!("\"{t}\" is not a valid choice.")),
    }
}

const PROMPT_TYPE: Custom<String> = Custom(prompt_type_field, prompt_type_schema);

fn prompt_type_schema() -> utoipa::openapi::schema::Schema {
    let names = TYPES.iter().copied().chain(ACTION_NAMES.iter().map(|(action, _)| *action));
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(names))
        .description(Some("A prompt type, or the name of the AI action that uses it."))
        .into()
}

/// The most characters a prompt may have.
pub const MAX_PROMPT: usize = 20_000;

crate::input! {
    /// The body of `POST prompts/` and `prompts/save/`.
    pub struct NewPrompt {
        prompt_type: required String = PROMPT_TYPE,
        prompt_value: required String = Bounded(MAX_PROMPT),
    }
}

crate::input! {
    /// The body of `PUT`/`PATCH prompts/{prompt_type}/`.
    pub struct PromptChange {
        prompt_value: required String = Bounded(MAX_PROMPT),
        /// The path's type: it may only be sent as it is.
        prompt_type: optional String = Text(crate::validation::max::ANY_TEXT),
    }
}

crate::input! {
    /// The body of `POST prompts/reset/`.
    pub struct PromptReset {
        prompt_type: required String = PROMPT_TYPE,
    }
}

/// `POST prompts/save/` and `POST prompts/`: overrides the prompt type named in the body.
pub async fn save(
    services: &Services,
    caller: &crate::access::Caller,
    body: Submitted<NewPrompt>,
) -> Result<serde_json::Value, ApiError> {
    caller.require_manager()?;
    let NewPrompt { prompt_type, prompt_value } = body.read()?;
    write_override(services, caller.account_id(), &prompt_type, prompt_value).await
}

/// `PUT`/`PATCH prompts/{prompt_type}/`: overrides the prompt type of the path.
pub async fn update(
    services: &Services,
    caller: &crate::access::Caller,
    prompt_type: &str,
    body: Submitted<PromptChange>,
) -> Result<serde_json::Value, ApiError> {
    default_prompt(prompt_type).ok_or_else(ApiError::not_found)?;
    caller.require_manager()?;
    let PromptChange { prompt_value, prompt_type: named } = body.read()?;
    // The type is the path's; a body naming another one is a mistake, not a rename.
    if named.is_some_and(|named| named != prompt_type) {
        return Err(ApiError::field("prompt_type", "The prompt type cannot be changed."));
    }
    write_override(services, caller.account_id(), prompt_type, prompt_value).await
}

async fn write_override(
    services: &Services,
    account_id: &str,
    prompt_type: &str,
    value: String,
) -> Result<serde_json::Value, ApiError> {
    let record = PromptOverride {
        prompt_type: prompt_type.to_owned(),
        prompt_value: value,
        updated_at: OffsetDateTime::now_utc(),
    };
    let item = crate::store::Item::new(&override_key(account_id, prompt_type), "PromptOverride", &record)?;
    services.store().await.put(item, None).await?;
    get(services, account_id, prompt_type).await
}

/// `POST prompts/reset/`: drops the override of the type named in the body; the default applies again.
pub async fn reset(
    services: &Services,
    caller: &crate::access::Caller,
    body: Submitted<PromptReset>,
) -> Result<serde_json::Value, ApiError> {
    caller.require_manager()?;
    let PromptReset { prompt_type } = body.read()?;
    delete(services, caller, &prompt_type).await?;
    get(services, caller.account_id(), &prompt_type).await
}

/// `DELETE prompts/{prompt_type}/`: drops the account's override (the default itself stays).
pub async fn delete(services: &Services, caller: &crate::access::Caller, prompt_type: &str) -> Result<(), ApiError> {
    default_prompt(prompt_type).ok_or_else(ApiError::not_found)?;
    caller.require_manager()?;
    let key = override_key(caller.account_id(), prompt_type);
    services.store().await.transact(vec![crate::store::Write::Delete(key, None)]).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_a_default() {
        for t in TYPES {
            assert!(default_prompt(t).is_some(), "{t}");
        }
        assert!(with_input("Do it.", &serde_json::json!({"task": "x"})).ends_with("INPUT: {\"task\":\"x\"}"));
    }
}
