//! Throttling: per scope, per user (per client IP when anonymous), with the `X-Throttle-*`
//! headers and the 429 envelope; the window passes and the caller is let in again.

use std::time::Duration;

use api_tests::{Answer, spawn_app_with_rates};
use serde_json::json;

fn header(answer: &Answer, name: &str) -> i64 {
    answer.headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(-1)
}

#[tokio::test]
async fn a_scope_past_its_limit_answers_429_then_recovers() {
    let app = spawn_app_with_rates("content_read=3/3s").await;
    // Start right after a window boundary so that the window does not pass mid-test.
    let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as f64 / 1e9;
    let to_boundary = 3.0 - now.rem_euclid(3.0);
    tokio::time::sleep(Duration::from_secs_f64(to_boundary + 0.05)).await;
    for remaining in [2, 1, 0] {
        let answer = app.get("/api/v1/auth/plans/", None).await;
        assert_eq!(answer.status, 200);
        assert_eq!((header(&answer, "x-throttle-limit"), header(&answer, "x-throttle-remaining")), (3, remaining));
    }
    let refused = app.get("/api/v1/auth/plans/", None).await;
    refused.assert_error(429, "Rate limit exceeded");
    assert_eq!((header(&refused, "x-throttle-limit"), header(&refused, "x-throttle-remaining")), (3, 0));
    let reset = header(&refused, "x-throttle-reset");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(reset > now - 1 && reset <= now + 3, "reset {reset} vs now {now}");
    // Other scopes are not affected.
    assert_eq!(app.post("/api/v1/auth/login/", &json!({"email": "a@b.co", "password": "x"}), None).await.status, 401);

    let wait = (reset - time::OffsetDateTime::now_utc().unix_timestamp()).max(0) as f64 + 0.2;
    tokio::time::sleep(Duration::from_secs_f64(wait)).await;
    let again = app.get("/api/v1/auth/plans/", None).await;
    assert_eq!(again.status, 200);
    assert_eq!(header(&again, "x-throttle-remaining"), 2);
}

#[tokio::test]
async fn users_are_counted_apart_and_platform_roles_are_not_throttled() {
    let app = spawn_app_with_rates("auth=1000/min,default=2/min").await;
    let first = app.signed_up("one@throttle.example").await;
    let second = app.signed_up("two@throttle.example").await;
    for _ in 0..2 {
        assert_eq!(app.get("/api/v1/account/settings/", Some(&first.access)).await.status, 200);
    }
    app.get("/api/v1/account/settings/", Some(&first.access)).await.assert_error(429, "Rate limit exceeded");
    assert_eq!(app.get("/api/v1/account/settings/", Some(&second.access)).await.status, 200);

    let dev = app.register("dev@throttle.example").await;
    let user = &dev.data()["user"];
    app.make_role(user["account"]["id"].as_str().unwrap(), user["id"].as_str().unwrap(), "developer").await;
    let token =
        app.login("dev@throttle.example", api_tests::PASSWORD).await.data()["access"].as_str().unwrap().to_owned();
    for _ in 0..5 {
        let answer = app.get("/api/v1/account/settings/", Some(&token)).await;
        assert_eq!(answer.status, 200);
        assert!(answer.headers.get("x-throttle-limit").is_none());
    }
}

#[tokio::test]
async fn containers_taking_leases_hold_the_limit_within_ten_percent_with_fewer_writes() {
    use igny8_domain::throttle::{Leases, Rates, hit};
    let app = api_tests::spawn_app().await;
    let store = app.services.store().await;
    let rates = Rates::from_config(Some("planner=100/h")).unwrap();
    let now = time::OffsetDateTime::now_utc();
    // One container alone: exactly the limit, with about one write per ten requests.
    let one = Leases::default();
    let (served, writes) = {
        let before = igny8_domain::store::requests_sent();
        let mut served = 0;
        for _ in 0..130 {
            if !hit(store, &rates, &one, "planner", "user:alone", now).await.unwrap().exceeded {
                served += 1;
            }
        }
        (served, igny8_domain::store::requests_sent() - before)
    };
    assert_eq!(served, 100);
    assert!(writes <= 45, "{writes} writes for 130 requests");
    // Two containers taking turns: never more than the limit, and at most their leases less.
    let (a, b) = (Leases::default(), Leases::default());
    let mut served = 0;
    let mut remaining = Vec::new();
    for i in 0..160 {
        let leases = if i % 2 == 0 { &a } else { &b };
        let status = hit(store, &rates, leases, "planner", "user:shared", now).await.unwrap();
        if !status.exceeded {
            served += 1;
            remaining.push(status.remaining);
        }
    }
    assert!((90..=100).contains(&served), "served {served}");
    assert!(remaining.iter().all(|r| *r < 100));
    // A caller's requests spread over ten containers (Lambda scaling out): still within 10 %.
    let many: Vec<Leases> = (0..10).map(|_| Leases::default()).collect();
    let mut served = 0;
    for i in 0..150 {
        if !hit(store, &rates, &many[i % 10], "planner", "user:spread", now).await.unwrap().exceeded {
            served += 1;
        }
    }
    assert!((90..=100).contains(&served), "served {served} over ten containers");
}
