//! Reads that cost what they read: a record is read by id from the table itself (strongly
//! consistent, whatever its indexes say), and a warm read request waits for one round trip.

use api_tests::spawn_app;
use igny8_domain::metering;
use serde_json::{Value, json};

/// Every kind of sector record, created through the API, is found by `GET /{id}/` at once even
/// when its index entries are not there yet (as in the instant after a write on DynamoDB, whose
/// indexes are eventually consistent): the index attributes are taken off the item first.
#[tokio::test]
async fn a_record_is_found_by_id_right_after_its_create_whatever_its_index_says() {
    let app = spawn_app().await;
    let t = app.tenant("reads@consistency.example", "starter").await;
    let tok = Some(t.token.as_str());
    let at = |mut body: Value| {
        body["sector_id"] = json!(t.sector);
        body
    };
    let id = |answer: api_tests::Answer| {
        assert_eq!(answer.status, 201, "{}", answer.body);
        answer.data()["id"].as_str().unwrap().to_owned()
    };
    let keyword = id(app.post("/api/v1/planner/keywords/", &at(json!({"keyword": "fresh"})), tok).await);
    let cluster = id(app.post("/api/v1/planner/clusters/", &at(json!({"name": "Fresh"})), tok).await);
    let idea = id(app.post("/api/v1/planner/ideas/", &at(json!({"idea_title": "Fresh idea"})), tok).await);
    let task = id(app.post("/api/v1/writer/tasks/", &at(json!({"title": "Fresh task"})), tok).await);
    let content = id(app
        .post(
            "/api/v1/writer/content/",
            &at(json!({"title": "Fresh", "html_content": "<p>x</p>", "task_id": task})),
            tok,
        )
        .await);
    let image = id(app
        .post("/api/v1/writer/images/", &at(json!({"image_type": "featured", "content_id": content})), tok)
        .await);
    let records = [
        ("/api/v1/planner/keywords/", "KEYWORD", &keyword),
        ("/api/v1/planner/clusters/", "CLUSTER", &cluster),
        ("/api/v1/planner/ideas/", "IDEA", &idea),
        ("/api/v1/writer/tasks/", "TASK", &task),
        ("/api/v1/writer/content/", "CONTENT", &content),
        ("/api/v1/writer/images/", "IMAGE", &image),
    ];
    for (path, kind, id) in records {
        let (pk, sk) = (format!("ACCOUNT#{}#{kind}", t.account_id), format!("{kind}#{id}"));
        app.set_raw(&pk, &sk, "REMOVE GSI1PK, GSI1SK, GSI2PK, GSI2SK SET #probe = :v", &[("#probe", "probe")], "x")
            .await;
        let found = app.get(&format!("{path}{id}/"), tok).await;
        assert_eq!(found.status, 200, "{path}{id}/: {}", found.body);
        assert_eq!(found.data()["id"], json!(id));
    }
}

/// `GET /{id}/` of a sector record on a warm container: the caller, the rate limit and the
/// record are read at once (one round trip).
#[tokio::test]
async fn a_warm_read_by_id_waits_for_one_round_trip() {
    let app = spawn_app().await;
    let t = app.tenant("reads@trips.example", "starter").await;
    let tok = Some(t.token.as_str());
    let made = app.post("/api/v1/planner/keywords/", &json!({"keyword": "trip", "sector_id": t.sector}), tok).await;
    let path = format!("/api/v1/planner/keywords/{}/", made.data()["id"].as_str().unwrap());
    let router = igny8_domain::planner::routes::MODULE.router(std::sync::Arc::clone(&app.services));
    let call = || {
        let request = http::Request::get(&path)
            .header("authorization", format!("Bearer {}", t.token))
            .body(axum::body::Body::empty())
            .unwrap();
        tower::ServiceExt::oneshot(router.clone(), request)
    };
    assert_eq!(call().await.unwrap().status(), 200);
    for _ in 0..30 {
        let (response, usage) = metering::measure(call()).await;
        assert_eq!(response.unwrap().status(), 200);
        assert_eq!(usage.round_trips, 1, "{usage:?}");
        assert!(usage.requests <= 3, "{usage:?}");
    }
}
