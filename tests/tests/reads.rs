//! Reads that cost what they read: a record is read by id from the table itself (strongly
//! consistent, whatever its indexes say), and a warm read request waits for one round trip.

use api_tests::spawn_app;
use igny8_domain::metering;
use serde_json::{Value, json};

/// `GET path` through `router` in process as the bearer of `token`: the answer (a 200) and what
/// it cost.
async fn metered_get(router: axum::Router, token: &str, path: String) -> (Value, metering::Usage) {
    let request = http::Request::get(&path)
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let (response, usage) = metering::measure(tower::ServiceExt::oneshot(router, request)).await;
    let response = response.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (serde_json::from_slice::<Value>(&body).unwrap(), usage)
}

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

/// The first page of a sector's keywords, and of its keywords of one status, and the page its
/// `next` link names, read what a page holds (the page, one more, the sector, the caller), the
/// same for a sector of 24 keywords as for one of 96: one `Query` of an index from a cursor, and
/// `count` from the sector's counts.
#[tokio::test]
async fn a_page_of_a_sector_reads_a_page_whatever_the_sector_holds() {
    let app = spawn_app().await;
    let t = app.tenant("reads@pages.example", "starter").await;
    let tok = Some(t.token.as_str());
    let router = igny8_domain::planner::routes::MODULE.router(std::sync::Arc::clone(&app.services));
    let call = |path: String| metered_get(router.clone(), &t.token, path);
    let cluster = app.post("/api/v1/planner/clusters/", &json!({"name": "Paged", "sector_id": t.sector}), tok).await;
    let cluster = cluster.data()["id"].as_str().unwrap().to_owned();
    let mut made = 0;
    let mut reads = Vec::new();
    for size in [24, 96] {
        while made < size {
            let status = if made % 3 == 0 { "active" } else { "pending" };
            let mut body = json!({"keyword": format!("paged {made}"), "sector_id": t.sector, "status": status});
            if made % 4 == 0 {
                body["cluster_id"] = json!(cluster);
            }
            assert_eq!(app.post("/api/v1/planner/keywords/", &body, tok).await.status, 201);
            made += 1;
        }
        let first = format!("/api/v1/planner/keywords/?sector_id={}", t.sector);
        call(first.clone()).await; // a warm container: its signing key fetched, a rate-limit lease taken
        let (page, usage) = call(first.clone()).await;
        assert_eq!((page["count"].as_u64(), page["results"].as_array().unwrap().len()), (Some(size as u64), 10));
        assert_eq!(usage.round_trips, 1, "{usage:?}");
        let next = page["next"].as_str().unwrap().to_owned();
        assert!(next.contains("cursor=") && next.contains("page=2"), "{next}");
        let (second, later) = call(next).await;
        assert_eq!(second["results"].as_array().unwrap().len(), 10);
        assert_ne!(second["results"][0]["id"], page["results"][0]["id"]);
        let (active, by_status) = call(format!("{first}&status=active")).await;
        assert_eq!(active["count"].as_u64(), Some(size as u64 / 3));
        assert!(active["results"].as_array().unwrap().iter().all(|k| k["status"] == json!("active")));
        let (members, by_cluster) = call(format!("{first}&cluster_id={cluster}")).await;
        assert_eq!(members["count"].as_u64(), Some(size as u64 / 4), "the cluster's keywords_count");
        assert_eq!(members["results"].as_array().unwrap().len(), (size / 4).min(10));
        assert!(members["results"].as_array().unwrap().iter().all(|k| k["cluster_id"] == json!(cluster)));
        assert!(by_cluster.items_read <= 15, "the page, one more, the cluster, the sector, the caller: {by_cluster:?}");
        reads.push((usage.items_read, later.items_read, by_status.items_read));
    }
    // The caller (user, account), the sector, the page and one more.
    assert!(reads.iter().all(|(first, next, status)| *first <= 14 && *next <= 14 && *status <= 14), "{reads:?}");
    assert_eq!((reads[0].0, reads[0].1), (reads[1].0, reads[1].1), "pages do not grow with the sector: {reads:?}");
}

/// A status or a cluster no record can have is refused or finds nothing, before any index is
/// read with it: never a 500, whatever its length.
#[tokio::test]
async fn odd_status_and_cluster_values_are_answered_not_failed() {
    let app = spawn_app().await;
    let t = app.tenant("reads@odd.example", "starter").await;
    let tok = Some(t.token.as_str());
    let base = format!("/api/v1/planner/keywords/?sector_id={}", t.sector);
    let long = "x".repeat(3000);
    let refused = app.get(&format!("{base}&status={long}"), tok).await;
    refused.assert_error(400, "Validation failed");
    assert!(!refused.field_errors("status").is_empty(), "{}", refused.body);
    let odd = app.get(&format!("{base}&status=a%23b"), tok).await;
    assert_eq!(odd.status, 400, "{}", odd.body);
    for cluster in [long.as_str(), "not-an-id"] {
        let none = app.get(&format!("{base}&cluster_id={cluster}"), tok).await;
        assert_eq!((none.status, none.body["count"].clone()), (200, json!(0)), "{}", none.body);
    }
}

/// A page of contents reads its contents' own images (their `has_image_prompts` and
/// `has_generated_images`), not every image of the sector.
#[tokio::test]
async fn a_page_of_contents_reads_its_contents_images_not_the_sectors() {
    let app = spawn_app().await;
    let t = app.tenant("reads@contents.example", "starter").await;
    let tok = Some(t.token.as_str());
    let router = igny8_domain::writer::routes::MODULE.router(std::sync::Arc::clone(&app.services));
    let page = |path: String| metered_get(router.clone(), &t.token, path);
    let content = |title: &str| json!({"title": title, "html_content": "<p>x</p>", "sector_id": t.sector});
    let shown = app.post("/api/v1/writer/content/", &content("Shown"), tok).await;
    let shown = shown.data()["id"].as_str().unwrap().to_owned();
    let busy = app.post("/api/v1/writer/content/", &content("Busy"), tok).await;
    let busy = busy.data()["id"].as_str().unwrap().to_owned();
    let image = json!({"image_type": "in_article", "prompt": "a chair", "content_id": shown, "sector_id": t.sector});
    assert_eq!(app.post("/api/v1/writer/images/", &image, tok).await.status, 201);
    let path = format!("/api/v1/writer/content/?sector_id={}&page_size=1", t.sector);
    page(path.clone()).await; // a warm container
    let mut reads = Vec::new();
    for more in [0, 40] {
        for n in 0..more {
            let image = json!({"image_type": "in_article", "prompt": format!("p {n}"), "content_id": busy, "sector_id": t.sector});
            assert_eq!(app.post("/api/v1/writer/images/", &image, tok).await.status, 201);
        }
        // Newest first: the busy content's page, then the shown one's (with its image prompt).
        let (first, usage) = page(path.clone()).await;
        assert_eq!(first["results"][0]["id"], json!(busy));
        assert_eq!(first["results"][0]["has_image_prompts"], json!(more > 0));
        let (second, later) = page(first["next"].as_str().unwrap().to_owned()).await;
        assert_eq!(second["results"][0]["id"], json!(shown));
        assert_eq!(second["results"][0]["has_image_prompts"], json!(true));
        assert_eq!(second["results"][0]["has_generated_images"], json!(false));
        reads.push((usage.items_read, later.items_read));
    }
    assert_eq!(
        reads[0].1, reads[1].1,
        "the shown content's page reads the same after 40 more images elsewhere: {reads:?}"
    );
    assert_eq!(reads[1].0, reads[0].0 + 40, "the busy content's page reads its own 40 images: {reads:?}");
}
