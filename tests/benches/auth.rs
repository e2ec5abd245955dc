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

use std::time::Instant;

use api_tests::lambda::{api_event, build_release, cold_start, lambda_env, ms, summary, target_dir, write_table};
use api_tests::{PASSWORD, spawn_app};
use igny8_domain::Services;
use local_stack::bootstrap::local_sdk_config;
use serde_json::{Value, json};
use tower::ServiceExt;

const COLD_STARTS: usize = 15;
const LOGINS: usize = 200;
const MES: usize = 1000;

#[tokio::main]
async fn main() {
    let binary = build_release("auth-function", &["auth"]).remove(0);
    let size = std::fs::metadata(&binary).expect("binary").len();
    let lambda_artifact = target_dir().join("lambda/auth/bootstrap");
    let arm64_size = std::fs::metadata(&lambda_artifact).ok().map(|m| m.len());

    let app = spawn_app().await;
    let email = "bench@example.com";
    let tokens = app.signed_up(email).await;
    let config = app.provisioned.config.clone();
    let env = lambda_env(&config);

    let me_event = api_event("GET", "/api/v1/auth/me/", None, Some(&tokens.access));
    let mut inits = Vec::new();
    let mut firsts = Vec::new();
    for _ in 0..COLD_STARTS {
        let (init, first, answer) = cold_start(&binary, &env, me_event.clone()).await;
        assert_eq!(answer["statusCode"], json!(200), "cold start answered {answer}");
        inits.push(init);
        firsts.push(first);
    }

    // In-process handler time, warm container (clients and key already loaded).
    let sdk = local_sdk_config(&api_tests::endpoint()).await;
    let router = auth_function::MODULE.router(std::sync::Arc::new(Services::with_sdk_config(config, sdk)));
    let login_body = json!({"email": email, "password": PASSWORD});
    let request = |event: &Value| {
        let parsed: lambda_http::request::LambdaRequest = serde_json::from_value(event.clone()).expect("event");
        lambda_http::Request::from(parsed)
    };
    let login_event = api_event("POST", "/api/v1/auth/login/", Some(&login_body), None);
    let call = |req: lambda_http::Request| {
        let router = router.clone();
        async move { router.oneshot(req).await.expect("infallible") }
    };
    let warm = call(request(&login_event)).await;
    assert_eq!(warm.status(), 200);
    let mut logins = Vec::with_capacity(LOGINS);
    for _ in 0..LOGINS {
        let req = request(&login_event);
        let t = Instant::now();
        let response = call(req).await;
        logins.push(t.elapsed());
        assert_eq!(response.status(), 200);
    }
    let mut mes = Vec::with_capacity(MES);
    for _ in 0..MES {
        let req = request(&me_event);
        let t = Instant::now();
        let response = call(req).await;
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
    write_table("auth", &table);
}
