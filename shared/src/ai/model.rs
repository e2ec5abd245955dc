//! What every AI function shares: the job's error kinds, and the account's chat model (its
//! provider client and settings) with the record of what each call cost.

use serde_json::{Value, json};

use super::prompts;
use super::provider::{ChatReply, ChatRequest, ProviderClient, ProviderError, RetryPolicy};
use super::settings::{self, ModelConfig};
use crate::{ApiError, Services, ids};

/// Why a job's run stopped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JobError {
    /// Worth another attempt (provider unavailable, malformed answer).
    #[error("{message}")]
    Retry { message: String, kind: &'static str },
    /// Will fail again (no settings, nothing to work on, refused request).
    #[error("{message}")]
    Fatal { message: String, kind: &'static str },
}

impl JobError {
    pub(crate) fn malformed(detail: impl std::fmt::Display) -> Self {
        Self::Retry {
            message: format!("The model's answer was not the JSON asked for: {detail}"),
            kind: "MalformedOutput",
        }
    }

    pub(crate) fn fatal(message: impl Into<String>, kind: &'static str) -> Self {
        Self::Fatal { message: message.into(), kind }
    }
}

impl From<ProviderError> for JobError {
    fn from(err: ProviderError) -> Self {
        match err {
            ProviderError::Refused { .. } | ProviderError::Blocked(_) => {
                Self::Fatal { message: err.to_string(), kind: err.kind() }
            }
            other => Self::Retry { message: other.to_string(), kind: other.kind() },
        }
    }
}

/// What one model call cost.
pub(crate) fn call_record(reply: &ChatReply) -> Value {
    json!({
        "id": ids::new_id(), "model": reply.model, "input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens,
        "cost_usd": reply.cost_usd, "duration_ms": reply.duration_ms, "attempts": reply.attempts,
    })
}

pub(crate) struct Model {
    client: ProviderClient,
    config: ModelConfig,
}

impl Model {
    pub(crate) async fn ask(
        &self,
        system: &str,
        instructions: &str,
        input: &Value,
    ) -> Result<(Value, Value), JobError> {
        let request = ChatRequest {
            model: self.config.model.clone(),
            system: system.to_owned(),
            user: prompts::with_input(instructions, input),
            temperature: self.config.temperature,
            max_tokens: self.config.max_tokens,
            json: true,
        };
        let reply = self.client.chat(&request).await?;
        let parsed: Value = serde_json::from_str(reply.content.trim()).map_err(JobError::malformed)?;
        if !parsed.is_object() {
            return Err(JobError::malformed("not a JSON object"));
        }
        Ok((parsed, call_record(&reply)))
    }
}

pub(crate) async fn model(services: &Services, account_id: &str, retry: RetryPolicy) -> Result<Model, JobError> {
    let config = settings::model_config(services, account_id)
        .await
        .map_err(|e| JobError::Retry { message: e.to_string(), kind: "StoreError" })?
        .map_err(|e| JobError::fatal(e.0, "ConfigurationError"))?;
    let client = ProviderClient::new(services.http().await.clone(), &config.base_url, &config.api_key, retry);
    Ok(Model { client, config })
}

/// A store failure during a job: worth another attempt.
pub(crate) fn store_err(e: ApiError) -> JobError {
    JobError::Retry { message: e.to_string(), kind: "StoreError" }
}
