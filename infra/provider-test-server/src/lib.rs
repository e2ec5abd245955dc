//! **Provider test server** — for tests and offline development only.
//!
//! Speaks the wire formats the AI clients use: OpenAI-compatible `POST /v1/chat/completions` and
//! `POST /v1/images/generations`, and Runware's `POST /v1` task array. By default it answers like a
//! cooperative model: our prompts end with an `INPUT:` line holding a JSON object with a `task`
//! field, and the answer is a valid JSON reply for that task built from the input. A test can
//! script the next answers instead (status codes with `Retry-After`, malformed JSON, a specific
//! reply) and set a fixed delay, and it can read what was asked.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// One scripted answer, used once, in order.
#[derive(Debug, Clone)]
pub enum Step {
    /// An error status, optionally with `Retry-After` seconds.
    Status { code: u16, retry_after: Option<u64> },
    /// A 200 whose message content is not the JSON the caller asked for.
    Malformed,
    /// A 200 whose message content is this JSON.
    Reply(Value),
}

#[derive(Debug, Default)]
struct State {
    script: VecDeque<Step>,
    delay: Duration,
    requests: Vec<Value>,
    authorizations: Vec<String>,
    /// Requests being answered now, and the most there have been at once.
    in_flight: usize,
    peak_in_flight: usize,
    /// For each request, how many were being answered when it arrived (itself included).
    arrivals: Vec<usize>,
}

/// A running test server on 127.0.0.1.
#[derive(Debug, Clone)]
pub struct ProviderTestServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

/// A 1×1 PNG, the image every image request gets.
pub const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0, 0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D,
    0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

impl ProviderTestServer {
    /// Starts on a free loopback port, serving until the runtime ends.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on(0).await
    }

    pub async fn start_on(port: u16) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let server = Self { addr: listener.local_addr()?, state: Arc::default() };
        let state = Arc::clone(&server.state);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, Infallible>(answer(&state, req).await) }
                    });
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        Ok(server)
    }

    /// The base URL to configure as the provider's (`http://127.0.0.1:<port>/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Queues answers for the next requests.
    pub fn script(&self, steps: impl IntoIterator<Item = Step>) {
        if let Ok(mut s) = self.state.lock() {
            s.script.extend(steps);
        }
    }

    /// Every answer waits this long first.
    pub fn set_delay(&self, delay: Duration) {
        if let Ok(mut s) = self.state.lock() {
            s.delay = delay;
        }
    }

    /// The `Authorization` headers received so far (to check which key a client sent).
    pub fn authorizations(&self) -> Vec<String> {
        self.state.lock().map(|s| s.authorizations.clone()).unwrap_or_default()
    }

    /// The most requests that were being answered at once so far.
    pub fn peak_in_flight(&self) -> usize {
        self.state.lock().map(|s| s.peak_in_flight).unwrap_or_default()
    }

    /// For each request so far, in order, how many were being answered when it arrived (itself
    /// included).
    pub fn in_flight_at_arrival(&self) -> Vec<usize> {
        self.state.lock().map(|s| s.arrivals.clone()).unwrap_or_default()
    }

    /// The bodies of the requests received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.state.lock().map(|s| s.requests.clone()).unwrap_or_default()
    }
}

fn response(status: u16, body: Value, retry_after: Option<u64>) -> http::Response<Full<Bytes>> {
    let mut builder = http::Response::builder().status(status).header("content-type", "application/json");
    if let Some(seconds) = retry_after {
        builder = builder.header("retry-after", seconds.to_string());
    }
    builder
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_else(|_| http::Response::new(Full::new(Bytes::new())))
}

async fn answer(state: &Mutex<State>, req: http::Request<Incoming>) -> http::Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    let authorization = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let body: Value = match req.into_body().collect().await {
        Ok(b) => serde_json::from_slice(&b.to_bytes()).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    let (step, delay) = match state.lock() {
        Ok(mut s) => {
            s.requests.push(body.clone());
            s.authorizations.push(authorization);
            s.in_flight += 1;
            s.peak_in_flight = s.peak_in_flight.max(s.in_flight);
            let now = s.in_flight;
            s.arrivals.push(now);
            (s.script.pop_front(), s.delay)
        }
        Err(_) => (None, Duration::ZERO),
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if let Ok(mut s) = state.lock() {
        s.in_flight -= 1;
    }
    match step {
        Some(Step::Status { code, retry_after }) => {
            return response(
                code,
                json!({"error": {"message": format!("scripted {code}"), "type": "test"}}),
                retry_after,
            );
        }
        Some(Step::Malformed) if path.ends_with("/chat/completions") => {
            return response(200, chat_reply(&body, "this is not {json"), None);
        }
        Some(Step::Reply(content)) if path.ends_with("/chat/completions") => {
            return response(200, chat_reply(&body, &content.to_string()), None);
        }
        _ => {}
    }
    match path.as_str() {
        p if p.ends_with("/chat/completions") => {
            response(200, chat_reply(&body, &default_content(&body).to_string()), None)
        }
        p if p.ends_with("/images/generations") => {
            let b64 = base64::engine::general_purpose::STANDARD.encode(PNG_1X1);
            response(200, json!({"created": 0, "data": [{"b64_json": b64}]}), None)
        }
        "/v1" | "/v1/" => {
            let b64 = base64::engine::general_purpose::STANDARD.encode(PNG_1X1);
            let tasks = body.as_array().cloned().unwrap_or_default();
            let data: Vec<Value> = tasks
                .iter()
                .filter(|t| t["taskType"] == json!("imageInference"))
                .map(|t| json!({"taskType": "imageInference", "taskUUID": t["taskUUID"], "imageBase64Data": b64, "cost": 0.0013}))
                .collect();
            response(200, json!({"data": data}), None)
        }
        _ => response(404, json!({"error": {"message": "unknown path"}}), None),
    }
}

fn chat_reply(request: &Value, content: &str) -> Value {
    let prompt_tokens = request.to_string().len() as u64 / 4;
    let completion_tokens = content.len() as u64 / 4;
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": request["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens},
    })
}

/// The task input: the JSON object after the last `INPUT:` of the last user message.
fn task_input(request: &Value) -> Value {
    let text = request["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == json!("user")))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default();
    text.rsplit_once("INPUT:").and_then(|(_, json)| serde_json::from_str(json.trim()).ok()).unwrap_or(Value::Null)
}

/// A valid reply for the task, built from its input.
fn default_content(request: &Value) -> Value {
    let input = task_input(request);
    match input["task"].as_str() {
        Some("auto_cluster") => {
            // Keywords sharing their last word go together.
            let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
            for keyword in input["keywords"].as_array().into_iter().flatten() {
                let text = keyword.as_str().unwrap_or_default();
                let head = text.split_whitespace().last().unwrap_or("misc").to_owned();
                match groups.iter_mut().find(|(h, _)| *h == head) {
                    Some((_, members)) => members.push(keyword.clone()),
                    None => groups.push((head, vec![keyword.clone()])),
                }
            }
            let clusters: Vec<Value> = groups
                .into_iter()
                .map(|(head, keywords)| json!({"name": format!("{head} topics"), "description": format!("Searches about {head}."), "keywords": keywords}))
                .collect();
            json!({"clusters": clusters})
        }
        Some("generate_ideas") => {
            let name = input["cluster"]["name"].as_str().unwrap_or("the topic");
            let keywords = input["cluster"]["keywords"].clone();
            let ideas: Vec<Value> = ["The complete guide to", "10 questions about", "How to choose"]
                .iter()
                .map(|lead| {
                    json!({"title": format!("{lead} {name}"), "description": format!("An article on {name}."),
                           "content_type": "post", "content_structure": "guide", "target_keywords": keywords, "estimated_word_count": 1200})
                })
                .collect();
            json!({"ideas": ideas})
        }
        Some("generate_content") => {
            let title = input["title"].as_str().unwrap_or("Untitled");
            let paragraph =
                "Good writing explains one thing at a time and shows why it matters to the reader. ".repeat(12);
            json!({
                "title": title,
                "meta_title": format!("{title} | Guide"),
                "meta_description": format!("Everything about {title}."),
                "content_html": format!("<h2>{title}</h2><p>{paragraph}</p><h2>Summary</h2><p>{paragraph}</p>"),
            })
        }
        Some("generate_image_prompts") => {
            let title = input["title"].as_str().unwrap_or("the article");
            let count = input["in_article_count"].as_u64().unwrap_or(2);
            let in_article: Vec<Value> = (1..=count).map(|i| json!(format!("Illustration {i} for {title}"))).collect();
            json!({"featured_prompt": format!("A hero photo for {title}"), "in_article_prompts": in_article})
        }
        Some("optimize_content") => {
            let keyword = input["primary_keyword"].as_str().filter(|k| !k.is_empty()).unwrap_or("the topic");
            let html = input["content_html"].as_str().unwrap_or_default();
            json!({
                "html_content": format!("<p>A short guide to {keyword}.</p>{html}<h2>More on {keyword}</h2><p>Ask us about {keyword}. We answer fast.</p>"),
                "meta_title": format!("{keyword}: a short, plain guide for readers"),
                "meta_description": format!("Everything a reader needs to know about {keyword}: what it is, why it matters, what it costs and how to choose well, in a short and plain guide."),
            })
        }
        _ => json!({"echo": input}),
    }
}
