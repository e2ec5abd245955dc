//! The provider clients against the provider test server: wire formats, retries with
//! `Retry-After`, giving up, refusals, and accounting.

use std::time::{Duration, Instant};

use igny8_domain::ai::images::{self, ImageRequest};
use igny8_domain::ai::{ChatRequest, ProviderClient, ProviderError, RetryPolicy};
use igny8_domain::outbound::{Outbound, Policy};
use provider_test_server::{PNG_1X1, ProviderTestServer, Step};
use serde_json::json;

fn client(server: &ProviderTestServer, attempts: u32) -> ProviderClient {
    let retry = RetryPolicy {
        attempts,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(2),
        timeout: Duration::from_millis(500),
    };
    ProviderClient::new(Outbound::new(Policy::LOCAL), server.base_url(), "sk-test-key", retry)
}

fn chat() -> ChatRequest {
    ChatRequest {
        model: "gpt-4o-mini".into(),
        system: "s".into(),
        user: "INPUT: {\"task\":\"echo\"}".into(),
        temperature: 0.1,
        max_tokens: 50,
        json: true,
    }
}

#[tokio::test]
async fn chat_completions_with_accounting() {
    let server = ProviderTestServer::start().await.unwrap();
    let reply = client(&server, 1).chat(&chat()).await.unwrap();
    assert_eq!(serde_json::from_str::<serde_json::Value>(&reply.content).unwrap(), json!({"echo": {"task": "echo"}}));
    assert!(reply.input_tokens > 0 && reply.output_tokens > 0);
    assert!(reply.cost_usd > 0.0);
    assert_eq!(reply.attempts, 1);
    assert_eq!(server.authorizations(), vec!["Bearer sk-test-key".to_owned()]);
    assert_eq!(server.requests()[0]["response_format"], json!({"type": "json_object"}));
}

#[tokio::test]
async fn retries_honour_retry_after_then_succeed() {
    let server = ProviderTestServer::start().await.unwrap();
    server.script([Step::Status { code: 429, retry_after: Some(1) }, Step::Status { code: 502, retry_after: None }]);
    let started = Instant::now();
    let reply = client(&server, 3).chat(&chat()).await.unwrap();
    assert_eq!(reply.attempts, 3);
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was not honoured");
}

#[tokio::test]
async fn gives_up_after_the_attempts_and_does_not_retry_refusals() {
    let server = ProviderTestServer::start().await.unwrap();
    server.script(std::iter::repeat_n(Step::Status { code: 500, retry_after: None }, 3));
    let err = client(&server, 3).chat(&chat()).await.unwrap_err();
    assert!(matches!(err, ProviderError::Unavailable { attempts: 3, .. }), "{err:?}");
    assert_eq!(server.requests().len(), 3);

    server.script([Step::Status { code: 401, retry_after: None }]);
    let err = client(&server, 3).chat(&chat()).await.unwrap_err();
    assert!(matches!(err, ProviderError::Refused { status: 401, .. }), "{err:?}");
    assert_eq!(server.requests().len(), 4, "a refusal is not retried");
}

#[tokio::test]
async fn slow_answers_time_out_and_count_as_failed_attempts() {
    let server = ProviderTestServer::start().await.unwrap();
    server.set_delay(Duration::from_secs(2));
    let err = client(&server, 2).chat(&chat()).await.unwrap_err();
    assert_eq!(err, ProviderError::Unavailable { attempts: 2, last: "timed out".into() });
}

#[tokio::test]
async fn images_from_openai_and_runware() {
    let server = ProviderTestServer::start().await.unwrap();
    let request = ImageRequest {
        model: "dall-e-3".into(),
        prompt: "a tooth".into(),
        negative_prompt: Some("text".into()),
        width: 1024,
        height: 1024,
    };
    let image = images::openai_image(&client(&server, 1), &request).await.unwrap();
    assert_eq!(image.bytes, PNG_1X1);
    assert!((image.cost_usd - 0.04).abs() < 1e-9);
    assert_eq!(server.requests()[0]["size"], json!("1024x1024"));

    let runware = ImageRequest { model: "runware:97@1".into(), ..request };
    let image = images::runware_image(&client(&server, 1), &runware).await.unwrap();
    assert_eq!(image.bytes, PNG_1X1);
    assert!(image.cost_usd > 0.0);
    let task = &server.requests()[1][0];
    assert_eq!(task["taskType"], json!("imageInference"));
    assert_eq!(task["negativePrompt"], json!("text"));
}
