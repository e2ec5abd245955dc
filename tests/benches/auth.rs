//! Benchmark of the auth function. Needs `AWS_ENDPOINT_URL` (run it with `./scripts/bench.sh`).
//!
//! Reports:
//! - the release binary's size (the native build, and the arm64 Lambda artifact if it was built
//!   with `cargo lambda build --release --arm64`);
//! - cold start: time from spawning the release binary to the response of its first request, with
//!   a minimal Lambda Runtime API on loopback serving the event (and, separately, to its first
//!   poll for an event: the init phase);
//! - handler time (median, p99) of `login/` and `me/` called in-process, no HTTP in between; it
//!   includes the DynamoDB calls to the local endpoint.
//!
//! The table is printed and written to `target/bench/auth.md`.

use std::convert::Infallible;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use api_tests::{PASSWORD, spawn_app};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use igny8_domain::Services;
use local_stack::bootstrap::local_sdk_config;
use local_stack::names::workspace_root;
use serde_json::{Value, json};
use tokio::sync::mpsc;

const COLD_STARTS: usize = 15;
const LOGINS: usize = 200;
const MES: usize = 1000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn summary(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    (percentile(&samples, 0.5), percentile(&samples, 0.99))
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"))
}

fn api_event(method: &str, path: &str, body: Option<&Value>, token: Option<&str>) -> Value {
    let mut headers = json!({"host": "bench.local", "content-type": "application/json"});
    if let Some(token) = token {
        headers["authorization"] = json!(format!("Bearer {token}"));
    }
    json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000", "apiId": "bench", "domainName": "bench.local", "domainPrefix": "bench",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": "bench", "routeKey": format!("{method} {path}"), "stage": "$default", "time": "", "timeEpoch": 0
        },
        "body": body.map(Value::to_string),
        "isBase64Encoded": false
    })
}

/// Events seen by the minimal Runtime API.
enum RuntimeEvent {
    FirstPoll(Instant),
    Response(Instant, Value),
}

/// Serves the Lambda Runtime API for one process: hands out `event` once, reports the poll and the
/// response. Returns the port.
async fn runtime_api(event: Value) -> (u16, mpsc::UnboundedReceiver<RuntimeEvent>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::unbounded_channel();
    let served = Arc::new(std::sync::atomic::AtomicBool::new(false));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (tx, event, served) = (tx.clone(), event.clone(), Arc::clone(&served));
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let (tx, event, served) = (tx.clone(), event.clone(), Arc::clone(&served));
                    async move {
                        let path = req.uri().path().to_owned();
                        let response = if path.ends_with("/invocation/next") {
                            if served.swap(true, std::sync::atomic::Ordering::SeqCst) {
                                // Only one invocation per process: park the second poll.
                                std::future::pending::<()>().await;
                            }
                            let _ = tx.send(RuntimeEvent::FirstPoll(Instant::now()));
                            let deadline = (std::time::SystemTime::now() + Duration::from_secs(30))
                                .duration_since(std::time::UNIX_EPOCH)
                                .map(|d| d.as_millis())
                                .unwrap_or_default();
                            hyper::Response::builder()
                                .header("lambda-runtime-aws-request-id", "bench-1")
                                .header("lambda-runtime-deadline-ms", deadline.to_string())
                                .header(
                                    "lambda-runtime-invoked-function-arn",
                                    "arn:aws:lambda:us-east-1:000000000000:function:auth",
                                )
                                .header("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000")
                                .body(Full::new(Bytes::from(event.to_string())))
                        } else {
                            let bytes = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                            let _ = tx.send(RuntimeEvent::Response(Instant::now(), value));
                            hyper::Response::builder().status(202).body(Full::new(Bytes::new()))
                        };
                        Ok::<_, Infallible>(response.expect("static response"))
                    }
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    (port, rx)
}

/// Spawns the release binary once and measures (init, first response).
async fn cold_start(binary: &PathBuf, env: &[(&'static str, String)], event: Value) -> (Duration, Duration) {
    let (port, mut rx) = runtime_api(event).await;
    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", "auth")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the release binary");
    let mut init = None;
    let response = loop {
        match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
            Ok(Some(RuntimeEvent::FirstPoll(at))) => init = Some(at - started),
            Ok(Some(RuntimeEvent::Response(at, body))) => {
                assert_eq!(body["statusCode"], json!(200), "cold start answered {body}");
                break at - started;
            }
            _ => panic!("the binary did not answer within 30 s"),
        }
    };
    let _ = child.kill().await;
    (init.unwrap_or(response), response)
}

fn build_release() -> PathBuf {
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--release", "-p", "auth-function", "--bin", "auth"])
        .current_dir(workspace_root())
        .status()
        .expect("cargo build");
    assert!(status.success(), "release build failed");
    target_dir().join("release/auth")
}

#[tokio::main]
async fn main() {
    let binary = build_release();
    let size = std::fs::metadata(&binary).expect("binary").len();
    let lambda_artifact = target_dir().join("lambda/auth/bootstrap");
    let arm64_size = std::fs::metadata(&lambda_artifact).ok().map(|m| m.len());

    let app = spawn_app().await;
    let email = "bench@example.com";
    let tokens = app.signed_up(email).await;
    let config = app.provisioned.config.clone();
    let mut env = local_stack::env_lines(&config);
    for name in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"] {
        env.push((
            name,
            std::env::var(name).unwrap_or_else(
                |_| {
                    if name == "AWS_REGION" { "us-east-1".into() } else { "test".into() }
                },
            ),
        ));
    }

    let me_event = api_event("GET", "/api/v1/auth/me/", None, Some(&tokens.access));
    let mut inits = Vec::new();
    let mut firsts = Vec::new();
    for _ in 0..COLD_STARTS {
        let (init, first) = cold_start(&binary, &env, me_event.clone()).await;
        inits.push(init);
        firsts.push(first);
    }

    // In-process handler time, warm container (clients and key already loaded).
    let sdk = local_sdk_config(&api_tests::endpoint()).await;
    let services = Services::with_sdk_config(config, sdk);
    let login_body = json!({"email": email, "password": PASSWORD});
    let request = |event: &Value| {
        let parsed: lambda_http::request::LambdaRequest = serde_json::from_value(event.clone()).expect("event");
        lambda_http::Request::from(parsed)
    };
    let login_event = api_event("POST", "/api/v1/auth/login/", Some(&login_body), None);
    let warm = auth_function::handle(&services, request(&login_event)).await;
    assert_eq!(warm.status(), 200);
    let mut logins = Vec::with_capacity(LOGINS);
    for _ in 0..LOGINS {
        let req = request(&login_event);
        let t = Instant::now();
        let response = auth_function::handle(&services, req).await;
        logins.push(t.elapsed());
        assert_eq!(response.status(), 200);
    }
    let mut mes = Vec::with_capacity(MES);
    for _ in 0..MES {
        let req = request(&me_event);
        let t = Instant::now();
        let response = auth_function::handle(&services, req).await;
        mes.push(t.elapsed());
        assert_eq!(response.status(), 200);
    }

    let (init_p50, init_p99) = summary(inits);
    let (first_p50, first_p99) = summary(firsts);
    let (login_p50, login_p99) = summary(logins);
    let (me_p50, me_p99) = summary(mes);
    let mb = |b: u64| format!("{:.2} MB", b as f64 / 1_000_000.0);
    let mut table = String::new();
    table.push_str("| measure | median | p99 | samples |\n|---|---|---|---|\n");
    table.push_str(&format!("| release binary size, native `{}` | {} | | 1 |\n", std::env::consts::ARCH, mb(size)));
    match arm64_size {
        Some(s) => table.push_str(&format!(
            "| Lambda artifact size, arm64 (`cargo lambda build --release --arm64`) | {} | | 1 |\n",
            mb(s)
        )),
        None => table.push_str("| Lambda artifact size, arm64 | not built | | |\n"),
    }
    table.push_str(&format!(
        "| process start → first poll for an event (init) | {} | {} | {COLD_STARTS} |\n",
        ms(init_p50),
        ms(init_p99)
    ));
    table.push_str(&format!(
        "| process start → first `me/` answered (cold start, incl. secret + DynamoDB) | {} | {} | {COLD_STARTS} |\n",
        ms(first_p50),
        ms(first_p99)
    ));
    table.push_str(&format!(
        "| `login/` handler, warm (argon2id verify + 4 DynamoDB calls) | {} | {} | {LOGINS} |\n",
        ms(login_p50),
        ms(login_p99)
    ));
    table.push_str(&format!("| `me/` handler, warm (2 DynamoDB calls) | {} | {} | {MES} |\n", ms(me_p50), ms(me_p99)));
    println!("\n{table}");
    let out = target_dir().join("bench");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(out.join("auth.md"), &table);
}
