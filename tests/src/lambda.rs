//! Benchmark support: a minimal Lambda Runtime API on loopback that hands a release binary one
//! event, so that its cold start (process start → first answer) can be measured as Lambda sees
//! it; the API Gateway event of one request; release builds; and the tables' arithmetic.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use local_stack::names::workspace_root;
use serde_json::{Value, json};
use tokio::sync::mpsc;

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// (median, p99).
pub fn summary(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    (percentile(&samples, 0.5), percentile(&samples, 0.99))
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"))
}

/// Writes a benchmark's table to `target/bench/<name>.md` and prints it.
pub fn write_table(name: &str, table: &str) {
    println!("\n{table}");
    let out = target_dir().join("bench");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(out.join(format!("{name}.md")), table);
}

/// The API Gateway (HTTP API, payload 2.0) event of one request.
pub fn api_event(method: &str, path: &str, body: Option<&Value>, token: Option<&str>) -> Value {
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

/// The environment a release binary needs to reach the local stack of `config`.
pub fn lambda_env(config: &igny8_domain::Config) -> Vec<(&'static str, String)> {
    let mut env = local_stack::env_lines(config);
    for name in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"] {
        let default = if name == "AWS_REGION" { "us-east-1" } else { "test" };
        env.push((name, std::env::var(name).unwrap_or_else(|_| default.into())));
    }
    // Every scope by name (no `*`), so that binaries of older commits read it too.
    let relaxed: Vec<String> =
        igny8_domain::throttle::DEFAULT_RATES.iter().map(|(scope, _)| format!("{scope}=100000/min")).collect();
    env.push(("THROTTLE_RATES", relaxed.join(",")));
    env
}

/// Events seen by the minimal Runtime API.
pub enum RuntimeEvent {
    FirstPoll(Instant),
    Response(Instant, Value),
}

/// Serves the Lambda Runtime API for one process: hands out `event` once, reports the poll and the
/// response. Returns the port.
pub async fn runtime_api(event: Value) -> (u16, mpsc::UnboundedReceiver<RuntimeEvent>) {
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

/// Starts `command` (the function `binary`, maybe under a profiler) as Lambda would, against the
/// Runtime API on `port`.
fn spawn(
    mut command: tokio::process::Command,
    binary: &Path,
    env: &[(&'static str, String)],
    port: u16,
) -> tokio::process::Child {
    command
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", binary.file_name().and_then(|n| n.to_str()).unwrap_or("function"))
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the release binary")
}

/// Spawns `binary` once and measures (init, first response); answers the response too.
pub async fn cold_start(binary: &Path, env: &[(&'static str, String)], event: Value) -> (Duration, Duration, Value) {
    let (port, mut rx) = runtime_api(event).await;
    let started = Instant::now();
    let mut child = spawn(tokio::process::Command::new(binary), binary, env, port);
    let mut init = None;
    let response = loop {
        match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
            Ok(Some(RuntimeEvent::FirstPoll(at))) => init = Some(at - started),
            Ok(Some(RuntimeEvent::Response(at, body))) => break (at - started, body),
            _ => panic!("the binary did not answer within 30 s"),
        }
    };
    let _ = child.kill().await;
    let (at, body) = response;
    (init.unwrap_or(at), at, body)
}

/// What one process did with a run of events: its cold start (process start → first answer),
/// each later event's latency (event handed over → answer posted), its CPU time over the later
/// events, and its peak resident memory.
#[derive(Debug, Clone)]
pub struct WarmRun {
    pub cold: Duration,
    pub latencies: Vec<Duration>,
    /// CPU time (every thread, user and system) spent on the events after the first.
    pub cpu: Duration,
    pub peak_rss_kb: u64,
    pub last_answer: Value,
}

/// CPU time of every thread of process `pid` so far (`/proc/<pid>/task/*/schedstat`, in ns).
fn cpu_time(pid: u32) -> Duration {
    let mut total = 0u64;
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            total += stat.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    Duration::from_nanos(total)
}

fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Spawns `binary` once and hands it `event` `count` times in a row, as Lambda would a warm
/// container's invocations (see [`WarmRun`]).
pub async fn warm_run(binary: &Path, env: &[(&'static str, String)], event: Value, count: usize) -> WarmRun {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Instant, Value)>();
    // The next poll hands out the event; the answer comes back on its own request.
    let handed: Arc<std::sync::Mutex<Instant>> = Arc::new(std::sync::Mutex::new(Instant::now()));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let (tx, event, handed) = (tx.clone(), event.clone(), Arc::clone(&handed));
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let (tx, event, handed) = (tx.clone(), event.clone(), Arc::clone(&handed));
                    async move {
                        let response = if req.uri().path().ends_with("/invocation/next") {
                            if let Ok(mut at) = handed.lock() {
                                *at = Instant::now();
                            }
                            let deadline = (std::time::SystemTime::now() + Duration::from_secs(30))
                                .duration_since(std::time::UNIX_EPOCH)
                                .map(|d| d.as_millis())
                                .unwrap_or_default();
                            hyper::Response::builder()
                                .header("lambda-runtime-aws-request-id", uuid::Uuid::new_v4().to_string())
                                .header("lambda-runtime-deadline-ms", deadline.to_string())
                                .header(
                                    "lambda-runtime-invoked-function-arn",
                                    "arn:aws:lambda:us-east-1:000000000000:function:bench",
                                )
                                .header("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000")
                                .body(Full::new(Bytes::from(event.to_string())))
                        } else {
                            let bytes = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                            let at = handed.lock().map(|a| *a).unwrap_or_else(|_| Instant::now());
                            let _ = tx.send((at, Instant::now(), value));
                            hyper::Response::builder().status(202).body(Full::new(Bytes::new()))
                        };
                        Ok::<_, Infallible>(response.expect("static response"))
                    }
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    let started = Instant::now();
    // `BENCH_WRAP="perf record -e cpu-clock -g -o perf.data --"` runs the binary under a profiler.
    let wrap: Vec<String> =
        std::env::var("BENCH_WRAP").map(|w| w.split_whitespace().map(str::to_owned).collect()).unwrap_or_default();
    let command = match wrap.split_first() {
        Some((program, args)) => {
            let mut command = tokio::process::Command::new(program);
            command.args(args).arg(binary);
            command
        }
        None => tokio::process::Command::new(binary),
    };
    let mut child = spawn(command, binary, env, port);
    let pid = child.id().expect("pid");
    let mut latencies = Vec::with_capacity(count);
    let mut cold = Duration::ZERO;
    let mut cpu_after_first = Duration::ZERO;
    let mut last_answer = Value::Null;
    for n in 0..count {
        let (handed_at, answered_at, answer) = match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
            Ok(Some(event)) => event,
            _ => panic!("the binary did not answer within 30 s"),
        };
        if n == 0 {
            cold = answered_at - started;
            cpu_after_first = cpu_time(pid);
        } else {
            latencies.push(answered_at - handed_at);
        }
        last_answer = answer;
    }
    // The last answer is posted before its next poll: let the process settle before reading.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let cpu = cpu_time(pid).saturating_sub(cpu_after_first);
    let peak_rss_kb = peak_rss_kb(pid);
    if wrap.is_empty() {
        let _ = child.kill().await;
    } else {
        // A profiler writes its data when interrupted, not when killed.
        let _ = std::process::Command::new("kill").args(["-INT", &pid.to_string()]).status();
        let _ = child.wait().await;
    }
    WarmRun { cold, latencies, cpu, peak_rss_kb, last_answer }
}

/// Builds the release binaries `bins` of package `package`; answers their paths.
pub fn build_release(package: &str, bins: &[&str]) -> Vec<PathBuf> {
    build_releases(&bins.iter().map(|bin| (package, *bin)).collect::<Vec<_>>())
}

/// Builds the release binaries `(package, bin)` in one cargo run; answers their paths.
pub fn build_releases(bins: &[(&str, &str)]) -> Vec<PathBuf> {
    let mut command = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.args(["build", "--release"]);
    for (package, bin) in bins {
        command.args(["-p", package, "--bin", bin]);
    }
    let status = command.current_dir(workspace_root()).status().expect("cargo build");
    assert!(status.success(), "release build failed");
    bins.iter().map(|(_, bin)| target_dir().join("release").join(bin)).collect()
}
