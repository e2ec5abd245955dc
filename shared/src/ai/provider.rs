//! OpenAI-compatible chat completions (JSON output) over reqwest, with timeouts, retries with
//! exponential backoff and full jitter on 429/5xx and connection errors (honouring `Retry-After`),
//! and token and cost accounting per call. The API key is sent, never logged.

use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{Value, json};

use crate::outbound::{Outbound, OutboundError, OutboundRequest};

/// USD per million tokens (input, output); unknown models use the last row's rates.
pub const MODEL_RATES: &[(&str, f64, f64)] = &[
    ("gpt-4o-mini", 0.15, 0.60),
    ("gpt-4o", 2.50, 10.00),
    ("gpt-4.1-mini", 0.40, 1.60),
    ("gpt-4.1", 2.00, 8.00),
    ("default", 2.00, 8.00),
];

pub fn cost_usd(model: &str, input_tokens: u64, output_tokens: u64) -> f64 {
    let (_, input, output) = MODEL_RATES
        .iter()
        .find(|(m, _, _)| *m == model)
        .or(MODEL_RATES.last())
        .copied()
        .unwrap_or(("default", 2.0, 8.0));
    (input_tokens as f64 * input + output_tokens as f64 * output) / 1_000_000.0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (the first one included).
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Timeout of one attempt.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            timeout: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// Full-jitter backoff for attempt `n` (0-based), or the server's `Retry-After` when given.
    fn delay(&self, n: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_delay);
        }
        let ceiling = self.base_delay.saturating_mul(1 << n.min(16)).min(self.max_delay);
        let millis = rand::rng().random_range(0..=ceiling.as_millis().max(1) as u64);
        Duration::from_millis(millis)
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// Retried to the end and still failing (429, 5xx, timeouts, connection errors).
    #[error("provider unavailable after {attempts} attempts: {last}")]
    Unavailable { attempts: u32, last: String },
    /// A 4xx other than 429: retrying will not help.
    #[error("provider refused the request ({status}): {message}")]
    Refused { status: u16, message: String },
    /// A 200 whose body is not a chat completion.
    #[error("provider answered something that is not a completion: {0}")]
    BadResponse(String),
    /// The outbound guard refused the provider's URL (an internal address, a plain-http URL...).
    #[error("the provider URL was refused: {0}")]
    Blocked(String),
}

impl ProviderError {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unavailable { .. } => "ProviderUnavailable",
            Self::Refused { .. } => "ProviderRefused",
            Self::BadResponse(_) => "ProviderBadResponse",
            Self::Blocked(_) => "ProviderUrlRefused",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ChatRequest {
    pub model: String,
    pub system: String,
    pub user: String,
    pub temperature: f64,
    pub max_tokens: u32,
    /// Ask for a JSON object (`response_format: json_object`).
    pub json: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatReply {
    pub content: String,
    pub model: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    pub duration_ms: u64,
    /// Attempts it took (1 when the first one answered).
    pub attempts: u32,
}

/// A client for one provider endpoint and key, over the guarded outbound client.
#[derive(Clone)]
pub struct ProviderClient {
    http: Outbound,
    base_url: String,
    api_key: String,
    retry: RetryPolicy,
    /// 429 answers this client (and its clones) met, retried or not.
    throttled: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

impl std::fmt::Debug for ProviderClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderClient").field("base_url", &self.base_url).field("api_key", &"<redacted>").finish()
    }
}

fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<f64>().ok().filter(|s| *s >= 0.0).map(Duration::from_secs_f64)
}

/// What a refusal means, without the upstream body (which may come from anywhere and is never
/// echoed).
fn refusal_reason(status: u16) -> &'static str {
    match status {
        400 => "the request was not accepted",
        401 => "the API key was not accepted",
        402 => "the provider account has no funds",
        403 => "the API key may not do this",
        404 => "the endpoint or the model was not found",
        413 => "the request was too large",
        415 | 422 => "the request was not understood",
        _ => "the request was refused",
    }
}

impl ProviderClient {
    pub fn new(http: Outbound, base_url: impl Into<String>, api_key: impl Into<String>, retry: RetryPolicy) -> Self {
        Self {
            http,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            api_key: api_key.into(),
            retry,
            throttled: Default::default(),
        }
    }

    /// How many 429 answers the client has met so far.
    pub fn throttled(&self) -> u32 {
        self.throttled.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sends `body` to `path`, retrying what is worth retrying; returns the JSON answer and the
    /// number of attempts. A URL the outbound guard refuses is not retried.
    pub async fn post_json(&self, path: &str, body: &Value) -> Result<(Value, u32), ProviderError> {
        let url = format!("{}{path}", self.base_url);
        let mut last = String::new();
        for attempt in 0..self.retry.attempts {
            let request = OutboundRequest::post_json(&url, body, self.retry.timeout).bearer(&self.api_key);
            let wait = match self.http.send(request).await {
                Ok(response) if (200..300).contains(&response.status) => {
                    let value = serde_json::from_slice::<Value>(&response.body)
                        .map_err(|_| ProviderError::BadResponse("the answer is not JSON".into()))?;
                    return Ok((value, attempt + 1));
                }
                Ok(response) if response.status == 429 || response.status >= 500 => {
                    if response.status == 429 {
                        self.throttled.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    last = format!("HTTP {}", response.status);
                    retry_after(&response.headers)
                }
                Ok(response) => {
                    let status = response.status;
                    return Err(ProviderError::Refused { status, message: refusal_reason(status).to_owned() });
                }
                Err(OutboundError::Refused(refused)) => return Err(ProviderError::Blocked(refused.to_string())),
                Err(OutboundError::TooLarge { limit }) => {
                    return Err(ProviderError::BadResponse(format!("the answer is larger than {limit} bytes")));
                }
                Err(err) => {
                    last = err.to_string();
                    None
                }
            };
            if attempt + 1 < self.retry.attempts {
                let delay = self.retry.delay(attempt, wait);
                tracing::warn!(attempt = attempt + 1, delay_ms = delay.as_millis() as u64, reason = %last, "provider call failed, retrying");
                tokio::time::sleep(delay).await;
            }
        }
        Err(ProviderError::Unavailable { attempts: self.retry.attempts, last })
    }

    /// One chat completion.
    pub async fn chat(&self, request: &ChatRequest) -> Result<ChatReply, ProviderError> {
        let mut body = json!({
            "model": request.model,
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": request.user},
            ],
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        });
        if request.json {
            body["response_format"] = json!({"type": "json_object"});
        }
        let started = Instant::now();
        let (answer, attempts) = self.post_json("/chat/completions", &body).await?;
        let content = answer["choices"][0]["message"]["content"]
            .as_str()
            .ok_or_else(|| ProviderError::BadResponse("no choices[0].message.content".into()))?
            .to_owned();
        let input_tokens = answer["usage"]["prompt_tokens"].as_u64().unwrap_or(0);
        let output_tokens = answer["usage"]["completion_tokens"].as_u64().unwrap_or(0);
        let model = answer["model"].as_str().unwrap_or(&request.model).to_owned();
        Ok(ChatReply {
            cost_usd: cost_usd(&model, input_tokens, output_tokens),
            content,
            model,
            input_tokens,
            output_tokens,
            duration_ms: started.elapsed().as_millis() as u64,
            attempts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_per_million_tokens() {
        assert!((cost_usd("gpt-4o-mini", 1_000_000, 1_000_000) - 0.75).abs() < 1e-9);
        assert!((cost_usd("unknown-model", 500_000, 0) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn backoff_is_bounded_and_honours_retry_after() {
        let policy = RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
        };
        for n in 0..10 {
            assert!(policy.delay(n, None) <= Duration::from_secs(1));
        }
        assert_eq!(policy.delay(0, Some(Duration::from_millis(700))), Duration::from_millis(700));
        assert_eq!(policy.delay(0, Some(Duration::from_secs(60))), Duration::from_secs(1));
    }
}
