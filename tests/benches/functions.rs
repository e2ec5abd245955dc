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

const SAMPLES: usize = 25;

/// (package, binary, the event of its cold start, whether it is an HTTP function). `auth/me/`
/// is measured too, but it answers more since #13 (`accessible_sites`, one more query made next
/// to the plan's), so `auth/sites/` is the like-for-like row.
fn functions(token: &str) -> Vec<(&'static str, &'static str, Value, bool)> {
    let get = |path: &str| api_event("GET", path, None, Some(token));
    vec![
        ("auth-function", "auth", get("/api/v1/auth/sites/"), true),
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

/// Medians of (init, first answer) of one start.
type Cold = (Duration, Duration);

/// Starts `after` and `before` (when given) alternately, so that both see the same machine.
async fn measure(
    after: &Path,
    before: Option<&Path>,
    env: &[(&'static str, String)],
    event: &Value,
    http: bool,
) -> (Cold, Option<Cold>) {
    let mut samples: [(Vec<Duration>, Vec<Duration>); 2] = Default::default();
    for _ in 0..SAMPLES {
        for (n, binary) in [Some(after), before].into_iter().enumerate() {
            let Some(binary) = binary else { continue };
            let (init, first, answer) = cold_start(binary, env, event.clone()).await;
            if http {
                assert_eq!(answer["statusCode"], json!(200), "{} answered {answer}", binary.display());
            }
            samples[n].0.push(init);
            samples[n].1.push(first);
        }
    }
    let [(after_init, after_first), (before_init, before_first)] = samples;
    let medians = |init: Vec<Duration>, first: Vec<Duration>| (summary(init).0, summary(first).0);
    let before = (!before_init.is_empty()).then(|| medians(before_init, before_first));
    (medians(after_init, after_first), before)
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
        "| function | binary before | binary after | change | init before | init after | cold start before | cold start after | change |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for ((_, bin, event, http), binary) in functions.iter().zip(&binaries) {
        let route = event["rawPath"].as_str().filter(|_| *http).unwrap_or("event");
        let before = before_dir.as_ref().map(|d| d.join(bin)).filter(|p| p.exists());
        let after_size = size(binary);
        let before_size = before.as_deref().and_then(size);
        let ((after_init, after_cold), before_cold) = measure(binary, before.as_deref(), &env, event, *http).await;
        let dash = || "—".to_owned();
        table.push_str(&format!(
            "| {bin} (`{route}`) | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            mb(before_size),
            mb(after_size),
            change(before_size.map(|b| b as f64), after_size.unwrap_or_default() as f64),
            before_cold.map(|(init, _)| ms(init)).unwrap_or_else(dash),
            ms(after_init),
            before_cold.map(|(_, first)| ms(first)).unwrap_or_else(dash),
            ms(after_cold),
            change(before_cold.map(|(_, first)| first.as_secs_f64()), after_cold.as_secs_f64()),
        ));
    }
    write_table("functions", &table);
}
