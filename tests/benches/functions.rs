//! Cold start and release binary size of every function. Needs `AWS_ENDPOINT_URL` (run it with
//! `./scripts/bench.sh`).
//!
//! Each function's release binary is spawned with a minimal Lambda Runtime API on loopback that
//! hands it one event (an owner's ordinary GET for the HTTP functions, an empty batch for the
//! queue workers, a period for the replenisher); the cold start is the time from process start to
//! the posted answer, including the first AWS requests.
//!
//! With `BENCH_BEFORE_DIR` naming a folder of binaries built from another commit (same names),
//! those are measured the same way, side by side. The table is printed and written to
//! `target/bench/functions.md`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use api_tests::lambda::{api_event, build_releases, cold_start, lambda_env, ms, summary, write_table};
use api_tests::spawn_app;
use serde_json::{Value, json};

const SAMPLES: usize = 10;

/// (package, binary, the event of its cold start, whether it is an HTTP function).
fn functions(token: &str) -> Vec<(&'static str, &'static str, Value, bool)> {
    let get = |path: &str| api_event("GET", path, None, Some(token));
    vec![
        ("auth-function", "auth", get("/api/v1/auth/me/"), true),
        ("account-function", "account", get("/api/v1/account/settings/"), true),
        ("planner-function", "planner", get("/api/v1/planner/keywords/"), true),
        ("writer-function", "writer", get("/api/v1/writer/tasks/"), true),
        ("billing-function", "billing", get("/api/v1/billing/credits/balance/"), true),
        ("system-function", "system", get("/api/v1/system/prompts/"), true),
        ("api-docs", "docs", api_event("GET", "/api/schema/", None, None), true),
        ("ai-worker", "ai-worker", json!({"Records": []}), false),
        ("image-worker", "image-worker", json!({"Records": []}), false),
        ("credit-replenisher", "credit-replenisher", json!({"period": "2000-01"}), false),
    ]
}

async fn measure(binary: &Path, env: &[(&'static str, String)], event: &Value, http: bool) -> Duration {
    let mut samples = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let (_, first, answer) = cold_start(binary, env, event.clone()).await;
        if http {
            assert_eq!(answer["statusCode"], json!(200), "{} answered {answer}", binary.display());
        }
        samples.push(first);
    }
    summary(samples).0
}

fn size(binary: &Path) -> Option<u64> {
    std::fs::metadata(binary).ok().map(|m| m.len())
}

fn mb(bytes: Option<u64>) -> String {
    bytes.map(|b| format!("{:.2} MB", b as f64 / 1_000_000.0)).unwrap_or_else(|| "—".into())
}

fn change(before: Option<f64>, after: f64) -> String {
    before.map(|b| format!("{:+.1} %", (after - b) / b * 100.0)).unwrap_or_else(|| "new".into())
}

#[tokio::main]
async fn main() {
    let app = spawn_app().await;
    let tokens = app.signed_up("bench-functions@example.com").await;
    let functions = functions(&tokens.access);
    let binaries = build_releases(&functions.iter().map(|(package, bin, _, _)| (*package, *bin)).collect::<Vec<_>>());
    let before_dir = std::env::var_os("BENCH_BEFORE_DIR").map(PathBuf::from);
    let env = lambda_env(&app.provisioned.config);

    let mut table = String::from(
        "| function | binary before | binary after | change | cold start before | cold start after | change |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for ((_, bin, event, http), binary) in functions.iter().zip(&binaries) {
        let before = before_dir.as_ref().map(|d| d.join(bin)).filter(|p| p.exists());
        let after_size = size(binary);
        let before_size = before.as_deref().and_then(size);
        let after_cold = measure(binary, &env, event, *http).await;
        let before_cold = match &before {
            Some(b) => Some(measure(b, &env, event, *http).await),
            None => None,
        };
        table.push_str(&format!(
            "| {bin} | {} | {} | {} | {} | {} | {} |\n",
            mb(before_size),
            mb(after_size),
            change(before_size.map(|b| b as f64), after_size.unwrap_or_default() as f64),
            before_cold.map(ms).unwrap_or_else(|| "—".into()),
            ms(after_cold),
            change(before_cold.map(|d| d.as_secs_f64()), after_cold.as_secs_f64()),
        ));
    }
    write_table("functions", &table);
}
