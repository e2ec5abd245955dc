//! What every AI function shares: the job's error kinds, and the account's chat model (its
//! provider client and settings) with the record of what each call cost.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::prompts;
use super::provider::{ChatReply, ChatRequest, ProviderClient, ProviderError};
use super::settings::ModelConfig;
use crate::{ApiError, ids};

/// Why a job's run stopped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JobError {
    /// Worth another attempt (provider unavailable, malformed answer).
    #[error("{message}")]
    Retry { message: String, kind: &'static str },
    /// Will fail again (no settings, nothing to work on, refused request).
    #[error("{message}")]
    Fatal { message: String, kind: &'static str },
    /// The delivery's time is nearly up, with parts done and saved: the job goes on in a fresh
    /// delivery (a new message), from where it stopped.
    #[error("the delivery's time is up; {done} of {total} parts are saved")]
    OutOfTime { done: usize, total: usize },
}

impl JobError {
    pub fn malformed(detail: impl std::fmt::Display) -> Self {
        Self::Retry {
            message: format!("The model's answer was not the JSON asked for: {detail}"),
            kind: "MalformedOutput",
        }
    }

    pub fn fatal(message: impl Into<String>, kind: &'static str) -> Self {
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

/// What one model (or image) call cost: one usage log each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    /// The usage log's id: fixed when the call is made, so that a replay writes the same log.
    pub id: String,
    pub model: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    pub duration_ms: u64,
    pub attempts: u32,
}

impl CallRecord {
    pub fn of_chat(reply: &ChatReply) -> Self {
        Self {
            id: ids::new_id(),
            model: reply.model.clone(),
            input_tokens: reply.input_tokens,
            output_tokens: reply.output_tokens,
            cost_usd: reply.cost_usd,
            duration_ms: reply.duration_ms,
            attempts: reply.attempts,
        }
    }
}

/// The account's chat model, for one job.
pub struct Model {
    client: ProviderClient,
    config: ModelConfig,
}

impl Model {
    pub(crate) fn new(client: ProviderClient, config: ModelConfig) -> Self {
        Self { client, config }
    }

    /// Asks for a JSON object: `instructions` then `input` as the user message.
    pub async fn ask(&self, system: &str, instructions: &str, input: &Value) -> Result<(Value, CallRecord), JobError> {
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
        Ok((parsed, CallRecord::of_chat(&reply)))
    }

    /// The calls the account lets one job have in flight.
    pub fn concurrency(&self) -> usize {
        self.config.max_concurrency
    }

    /// How many 429 answers this job's calls have met so far.
    pub fn throttled(&self) -> u32 {
        self.client.throttled()
    }
}

/// The system message of every JSON task: the model answers with one JSON object.
pub const JSON_ONLY: &str = "You answer only with JSON.";

/// The text `field` of a model's answer, trimmed, at most `max` characters; missing or blank is a
/// malformed answer.
pub fn answer_text(value: &serde_json::Value, field: &str, max: usize) -> Result<String, JobError> {
    let s = value[field]
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| JobError::malformed(format!("no \"{field}\"")))?;
    Ok(s.chars().take(max).collect())
}

/// A store failure during a job: worth another attempt.
pub fn store_err(e: ApiError) -> JobError {
    match e {
        // What the job writes into is gone (its sector deleted): another attempt fails the same.
        ApiError::NotFound(_) => JobError::Fatal {
            message: "What the job writes into is gone (was its sector deleted?).".into(),
            kind: "Gone",
        },
        e => JobError::Retry { message: e.to_string(), kind: "StoreError" },
    }
}
