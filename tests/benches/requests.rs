//! What one warm read request costs, and the auth function against the least a Lambda can do for
//! the same job. Needs `AWS_ENDPOINT_URL` (run it with `./scripts/bench.sh`).
//!
//! 1. AWS requests and sequential round trips of `GET auth/me/`, a detail `GET` and the first page
//!    of keywords, for an owner and for an editor, counted by `igny8_domain::metering` around the
//!    function's router called in process on a warm container (rate limit included; the limit is
//!    taken in leases, so the rows give the requests of a call that takes one and of one that
//!    does not).
//! 2. The auth function's release binary against `baseline-function` (JWT verify + one
//!    `GetItem`, `tests/baseline`), each spawned with a minimal Lambda Runtime API on loopback:
//!    cold start (process start → first `me/` answered), then `WARM` more `me/` events: their
//!    median latency, the process's CPU time per event (every thread) and its peak RSS. The two
//!    run alternately, `ROUNDS` times, so that both see the same machine.
//!
//! The tables are printed and written to `target/bench/requests.md`.

use std::sync::Arc;
use std::time::Duration;

use api_tests::lambda::{api_event, build_releases, lambda_env, ms, summary, warm_run, write_table};
use api_tests::{TestApp, spawn_app};
use igny8_domain::Services;
use igny8_domain::metering::{self, Usage};
use local_stack::bootstrap::local_sdk_config;
use serde_json::json;
use tower::ServiceExt;

const ROUNDS: usize = 5;
const WARM: usize = 400;
const CALLS: usize = 20;

fn request(method: &str, path: &str, token: &str) -> lambda_http::Request {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut event = api_event(method, path, None, Some(token));
    event["rawQueryString"] = json!(query);
    let parsed: lambda_http::request::LambdaRequest = serde_json::from_value(event).expect("event");
    lambda_http::Request::from(parsed)
}

/// The requests of `CALLS` calls of one route: (the most requests and round trips of a call, the
/// fewest requests of a call, the median round trips).
async fn count(router: &axum::Router, path: &str, token: &str) -> (Usage, u64, u64) {
    let warm = router.clone().oneshot(request("GET", path, token)).await.expect("infallible");
    assert_eq!(warm.status(), 200, "{path}");
    let mut most = Usage::default();
    let mut fewest = u64::MAX;
    let mut trips = Vec::new();
    for _ in 0..CALLS {
        let (response, usage) = metering::measure(router.clone().oneshot(request("GET", path, token))).await;
        assert_eq!(response.expect("infallible").status(), 200, "{path}");
        if (usage.round_trips, usage.requests) > (most.round_trips, most.requests) {
            most = usage;
        }
        fewest = fewest.min(usage.requests);
        trips.push(usage.round_trips);
    }
    trips.sort_unstable();
    (most, fewest, trips[trips.len() / 2])
}

async fn editor(app: &TestApp, owner: &str, site: &str) -> String {
    let h = Some(owner);
    let invited =
        app.post("/api/v1/auth/users/invite/", &json!({"email": "editor@requests.example", "role": "editor"}), h).await;
    let user = invited.data()["id"].as_str().expect("user id").to_owned();
    let activated =
        app.post(&format!("/api/v1/auth/users/{user}/activate/"), &json!({"password": api_tests::PASSWORD}), h).await;
    assert_eq!(activated.status, 200, "{}", activated.body);
    let granted = app.post("/api/v1/auth/site-access/", &json!({"user_id": user, "site_id": site}), h).await;
    assert_eq!(granted.status, 201, "{}", granted.body);
    app.login("editor@requests.example", api_tests::PASSWORD).await.data()["access"].as_str().expect("token").to_owned()
}

#[tokio::main]
async fn main() {
    // `BENCH_BIN_DIR`: take `auth` and `baseline` from there (another commit's, or a build with
    // symbols for a profiler) instead of building them.
    let binaries = match std::env::var_os("BENCH_BIN_DIR") {
        Some(dir) => ["auth", "baseline"].map(|b| std::path::Path::new(&dir).join(b)).to_vec(),
        None => build_releases(&[("auth-function", "auth"), ("baseline-function", "baseline")]),
    };
    let rounds: usize = std::env::var("BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(ROUNDS);
    let app = spawn_app().await;
    let t = app.tenant("owner@requests.example", "agency").await;
    let mut keyword_id = String::new();
    for i in 0..25 {
        let made = app
            .post(
                "/api/v1/planner/keywords/",
                &json!({"keyword": format!("requests keyword {i}"), "sector_id": t.sector, "volume": i}),
                Some(&t.token),
            )
            .await;
        keyword_id = made.data()["id"].as_str().expect("keyword id").to_owned();
    }
    let editor = editor(&app, &t.token, &t.site).await;

    // 1. Requests and round trips, in process.
    let config = app.provisioned.config.clone();
    let sdk = local_sdk_config(&api_tests::endpoint()).await;
    // The suite's relaxed rates: a lease covers every call below, so none writes the count (a call
    // that takes a lease adds one `UpdateItem` in the same round trip: tests/throttle.rs).
    let services = Arc::new(Services::with_sdk_config(config.clone(), sdk));
    let auth = auth_function::MODULE.router(Arc::clone(&services));
    let planner = igny8_domain::planner::routes::MODULE.router(Arc::clone(&services));
    let routes = [
        ("`GET auth/me/`", &auth, "/api/v1/auth/me/".to_owned()),
        ("`GET planner/keywords/{id}/`", &planner, format!("/api/v1/planner/keywords/{keyword_id}/")),
        (
            "`GET planner/keywords/?sector_id=`, page 1",
            &planner,
            format!("/api/v1/planner/keywords/?sector_id={}", t.sector),
        ),
    ];
    let mut table = String::from(
        "| request (warm container) | caller | AWS requests (most; fewest of 20 calls) | DynamoDB items read | sequential round trips (median; most) |\n|---|---|---|---|---|\n",
    );
    for (label, router, path) in &routes {
        for (who, token) in [("owner", t.token.as_str()), ("editor", editor.as_str())] {
            let (most, fewest, median) = count(router, path, token).await;
            table.push_str(&format!(
                "| {label} | {who} | {}; {fewest} | {} | {median}; {} |\n",
                most.requests, most.items_read, most.round_trips
            ));
        }
    }
    write_table("requests-counts", &table);

    // 2. The auth function against the baseline, as processes.
    let env = lambda_env(&config);
    let me = api_event("GET", "/api/v1/auth/me/", None, Some(&t.token));
    let mut runs: [Vec<api_tests::lambda::WarmRun>; 2] = Default::default();
    for _ in 0..rounds {
        for (n, binary) in binaries.iter().enumerate() {
            let run = warm_run(binary, &env, me.clone(), WARM + 1).await;
            let status = run.last_answer["statusCode"].clone();
            assert_eq!(status, json!(200), "{} answered {}", binary.display(), run.last_answer);
            runs[n].push(run);
        }
    }
    let row = |name: &str, runs: &[api_tests::lambda::WarmRun]| -> (String, f64, f64) {
        let (cold, _) = summary(runs.iter().map(|r| r.cold).collect());
        let (warm, warm_p99) = summary(runs.iter().flat_map(|r| r.latencies.clone()).collect());
        let mut cpu: Vec<Duration> = runs.iter().map(|r| r.cpu / (WARM as u32)).collect();
        cpu.sort();
        let cpu = cpu[cpu.len() / 2];
        let rss = runs.iter().map(|r| r.peak_rss_kb).max().unwrap_or(0) as f64 / 1024.0;
        let line = format!("| {name} | {} | {} | {} | {} | {rss:.1} MB |\n", ms(cold), ms(warm), ms(warm_p99), ms(cpu));
        (line, cold.as_secs_f64(), cpu.as_secs_f64())
    };
    let (auth_line, auth_cold, auth_cpu) = row("the project's `auth` function", &runs[0]);
    let (base_line, base_cold, base_cpu) = row("baseline: JWT verify + one `GetItem` (`tests/baseline`)", &runs[1]);
    let mut table = format!(
        "| `GET auth/me/` on the runtime harness ({rounds} processes each, {WARM} warm events each) | cold start | warm median | warm p99 | CPU per warm event | peak RSS |\n|---|---|---|---|---|---|\n"
    );
    table.push_str(&auth_line);
    table.push_str(&base_line);
    table.push_str(&format!(
        "| auth ÷ baseline | {:.2}× | | | {:.2}× | |\n",
        auth_cold / base_cold,
        auth_cpu / base_cpu
    ));
    write_table("requests-functions", &table);
}
