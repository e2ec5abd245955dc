//! Sync against the real WordPress the test command starts: posts, pages, categories and tags
//! created in WordPress appear as the site's content and taxonomies; a second sync duplicates
//! nothing and takes what changed; a post IGNY8 published is not pulled as a second content; the
//! structure, the sync status and the debug status tell what they should; and the plugin's status
//! webhook moves a pulled post's content.

use std::time::Duration;

use api_tests::wordpress::{WordPress, wordpress};
use api_tests::{RELAXED_RATES, Tenant, TestApp, spawn_app_configured};
use serde_json::{Value, json};

async fn app() -> TestApp {
    spawn_app_configured(RELAXED_RATES, |c| c.retry_delay = Duration::ZERO).await
}

/// Creates in WordPress as its admin: answers what WordPress answered.
async fn create(wp: &WordPress, path: &str, body: Value) -> Value {
    let answer = reqwest::Client::new()
        .post(format!("{}/wp-json/wp/v2/{path}", wp.url))
        .basic_auth(&wp.admin.0, Some(&wp.admin.1))
        .json(&body)
        .send()
        .await
        .expect("WordPress answers");
    assert!(answer.status().is_success(), "{path}: {}", answer.status());
    answer.json().await.expect("JSON")
}

/// Waits for the integration's last sync to end; answers the sync status.
async fn synced(app: &TestApp, t: &Tenant, integration: &str) -> Value {
    for _ in 0..300 {
        let status =
            app.get(&format!("/api/v1/integration/integrations/{integration}/sync_status/"), Some(&t.token)).await;
        assert_eq!(status.status, 200, "{}", status.body);
        let state = status.data()["last_event"]["status"].as_str().unwrap_or_default().to_owned();
        if state == "success" || state == "failed" {
            return status.data().clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the sync did not end");
}

/// Whether a content is the pulled `post` (its `external_id` is the post's id).
fn is_post(content: &Value, post: &Value) -> bool {
    content["external_id"].as_str() == Some(post["id"].to_string().as_str())
}

async fn pulled(app: &TestApp, t: &Tenant, tag: &str) -> Vec<Value> {
    let listed = app
        .get(
            &format!("/api/v1/writer/content/?sector_id={}&source=wordpress&search={tag}&page_size=100", t.sector),
            Some(&t.token),
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    listed.body["results"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_sync_pulls_posts_pages_and_terms_once_and_a_resync_takes_changes_without_duplicates() {
    let app = app().await;
    let wp = wordpress();
    let t = app.tenant("sync@integration.example", "agency").await;
    let owner = Some(t.token.as_str());
    let tag = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let body = json!({"site_id": t.site, "site_url": wp.url, "username": wp.admin.0, "app_password": wp.admin.1});
    let integration = app.post("/api/v1/integration/integrations/", &body, owner).await;
    let integration = integration.data()["id"].as_str().unwrap().to_owned();

    let category = create(&wp, "categories", json!({"name": format!("Sync desk {tag}")})).await;
    let label = create(&wp, "tags", json!({"name": format!("synctag{tag}")})).await;
    let mut posts = Vec::new();
    for n in 1..=2 {
        let post = json!({"title": format!("Pulled {tag} {n}"), "content": format!("<!-- wp:paragraph --><p>Body {n} of {tag}.</p><!-- /wp:paragraph --><script>x()</script>"),
                          "status": "publish", "categories": [category["id"]], "tags": [label["id"]]});
        posts.push(create(&wp, "posts", post).await);
    }
    let page = create(
        &wp,
        "pages",
        json!({"title": format!("Pulled {tag} page"), "content": "<p>A page.</p>", "status": "draft"}),
    )
    .await;

    // Before any: no structure; the status is pending.
    let types = app.get(&format!("/api/v1/integration/integrations/{integration}/get_content_types/"), owner).await;
    assert_eq!(types.data()["source"], Value::Null);

    let started = app.post(&format!("/api/v1/integration/integrations/{integration}/sync/"), &json!({}), owner).await;
    assert_eq!(started.status, 200, "{}", started.body);
    assert_eq!(started.data()["status"], "queued");
    let status = synced(&app, &t, &integration).await;
    assert_eq!(status["last_event"]["status"], "success", "{status}");
    assert_eq!(status["sync_status"], "success");
    assert!(status["last_sync_at"].is_string());
    assert!(status["last_event"]["counts"]["posts"]["created"].as_u64().unwrap() >= 2, "{status}");

    // The terms are the site's taxonomies; the posts and the page its content, once each.
    let taxonomies =
        app.get(&format!("/api/v1/writer/taxonomies/?site_id={}&page_size=100&search={tag}", t.site), owner).await;
    let names: Vec<&str> =
        taxonomies.body["results"].as_array().unwrap().iter().filter_map(|x| x["name"].as_str()).collect();
    assert!(
        names.contains(&format!("Sync desk {tag}").as_str()) && names.contains(&format!("synctag{tag}").as_str()),
        "{names:?}"
    );
    let contents = pulled(&app, &t, &tag).await;
    assert_eq!(contents.len(), 3, "{contents:?}");
    for post in posts.iter().chain([&page]) {
        let c = contents.iter().find(|c| is_post(c, post)).expect("pulled once");
        assert_eq!(c["external_url"], post["link"]);
        assert_eq!(c["sync_status"], "synced");
        assert_eq!(c["source"], "wordpress");
        assert!(!c["html_content"].as_str().unwrap().contains("<script"), "sanitised");
        assert_eq!(c["sync_metadata"]["integration_id"], integration.as_str());
    }
    let first = contents.iter().find(|c| is_post(c, &posts[0])).unwrap();
    assert_eq!(first["status"], "published");
    assert_eq!(first["taxonomy_ids"].as_array().map(Vec::len), Some(2), "its category and tag: {first}");
    let pulled_page = contents.iter().find(|c| is_post(c, &page)).unwrap();
    assert_eq!(
        (pulled_page["status"].as_str(), pulled_page["sync_metadata"]["post_type"].as_str()),
        (Some("draft"), Some("page"))
    );

    // Changed in WordPress, synced again: updated, nothing duplicated.
    create(&wp, &format!("posts/{}", posts[0]["id"]), json!({"title": format!("Pulled {tag} 1 renamed")})).await;
    app.post(&format!("/api/v1/integration/integrations/{integration}/sync/"), &json!({}), owner).await;
    let status = synced(&app, &t, &integration).await;
    assert_eq!(status["last_event"]["status"], "success", "{status}");
    assert_eq!(status["last_event"]["counts"]["posts"]["created"], 0, "{status}");
    assert!(status["last_event"]["counts"]["posts"]["updated"].as_u64().unwrap() >= 1, "{status}");
    let contents = pulled(&app, &t, &tag).await;
    assert_eq!(contents.len(), 3);
    assert!(contents.iter().any(|c| c["title"] == format!("Pulled {tag} 1 renamed")));

    // The optimizer works on pulled content as on any: it stays WordPress's.
    let pulled_id = first["id"].as_str().unwrap().to_owned();
    let job = app.post(&format!("/api/v1/writer/content/{pulled_id}/optimize/"), &json!({}), owner).await;
    assert_eq!(app.settled(&t.token, job.body["task_id"].as_str().unwrap()).await["state"], "SUCCESS");
    let optimized = app.get(&format!("/api/v1/writer/content/{pulled_id}/"), owner).await;
    assert_eq!(optimized.data()["optimizer_version"], 1);
    assert_eq!(
        (optimized.data()["source"].as_str(), optimized.data()["external_id"].as_str()),
        (Some("wordpress"), first["external_id"].as_str())
    );

    // The plugin's status webhook moves a pulled post's content.
    let key = app.post("/api/v1/integration/api-keys/", &json!({"site_id": t.site, "name": "Plugin"}), owner).await;
    let key = key.data()["key"].as_str().unwrap().to_owned();
    let hook = json!({"post_id": posts[1]["id"], "status": "trash"});
    let moved = app.post("/api/v1/integration/webhooks/wordpress/status/", &hook, Some(&key)).await;
    assert_eq!((moved.status, moved.data()["status"].as_str()), (200, Some("draft")), "{}", moved.body);

    // The site's structure read from its REST API; the debug status.
    let structure =
        app.post(&format!("/api/v1/integration/integrations/{integration}/update-structure/"), &json!({}), owner).await;
    assert_eq!(structure.status, 200, "{}", structure.body);
    let types = app.get(&format!("/api/v1/integration/integrations/{integration}/get_content_types/"), owner).await;
    assert_eq!(types.data()["source"], "site");
    let post_types: Vec<&str> =
        types.data()["post_types"].as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
    assert!(post_types.contains(&"post") && post_types.contains(&"page"), "{post_types:?}");
    let debug = app.get(&format!("/api/v1/integration/integrations/{integration}/debug_status/"), owner).await;
    assert_eq!(debug.status, 200, "{}", debug.body);
    assert_eq!(debug.data()["connection"]["connected"], true);
    assert!(debug.data()["linked_posts"].as_u64().unwrap() >= 3);
    assert_eq!(debug.data()["recent_syncs"].as_array().map(Vec::len), Some(2));
    assert!(!debug.body.to_string().contains(&wp.admin.1), "no password in the answer");

    // The site-level action syncs each active integration.
    let all =
        app.post("/api/v1/integration/integrations/sync_wordpress_content/", &json!({"site_id": t.site}), owner).await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(all.data().as_array().map(Vec::len), Some(1));
    synced(&app, &t, &integration).await;
    assert_eq!(pulled(&app, &t, &tag).await.len(), 3);
}

#[tokio::test]
async fn a_post_igny8_published_is_not_pulled_as_a_second_content() {
    let app = app().await;
    let wp = wordpress();
    let t = app.tenant("sync-own@integration.example", "agency").await;
    let owner = Some(t.token.as_str());
    let body = json!({"site_id": t.site, "site_url": wp.url, "username": wp.admin.0, "app_password": wp.admin.1});
    let integration = app.post("/api/v1/integration/integrations/", &body, owner).await;
    let integration = integration.data()["id"].as_str().unwrap().to_owned();
    let title = format!("Ours {}", uuid::Uuid::new_v4().simple());
    let content = app
        .post(
            "/api/v1/writer/content/",
            &json!({"sector_id": t.sector, "title": title, "html_content": "<p>Ours.</p>"}),
            owner,
        )
        .await;
    let id = content.data()["id"].as_str().unwrap().to_owned();
    let queued = app.post(&format!("/api/v1/writer/content/{id}/publish/"), &json!({"status": "publish"}), owner).await;
    assert_eq!(queued.status, 200, "{}", queued.body);
    let record = queued.data()[0]["id"].as_str().unwrap().to_owned();
    for _ in 0..300 {
        let seen = app.get(&format!("/api/v1/publisher/publishing-records/{record}/"), owner).await;
        if seen.data()["status"] == "published" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.post(&format!("/api/v1/integration/integrations/{integration}/sync/"), &json!({}), owner).await;
    assert_eq!(synced(&app, &t, &integration).await["last_event"]["status"], "success");
    let same = app
        .get(
            &format!("/api/v1/writer/content/?sector_id={}&search={}", t.sector, title.split(' ').nth(1).unwrap()),
            owner,
        )
        .await;
    assert_eq!(same.body["count"], json!(1), "{}", same.body);
    assert_eq!(same.body["results"][0]["id"], id.as_str());
    assert_eq!(same.body["results"][0]["source"], "igny8");
}

#[tokio::test]
async fn a_sync_out_of_time_saves_its_place_and_the_next_delivery_goes_on_from_it() {
    use igny8_domain::integration::sync::{self, Delivery, SyncMessage};
    // No worker polls where this app queues (the publish queue's DLQ): the test delivers itself.
    let app = spawn_app_configured(RELAXED_RATES, |c| {
        c.publish_queue_url = c.publish_queue_url.as_ref().map(|u| u.replace("publish-queue", "publish-dlq"));
    })
    .await;
    let wp = wordpress();
    let t = app.tenant("sync-later@integration.example", "agency").await;
    let owner = Some(t.token.as_str());
    let body = json!({"site_id": t.site, "site_url": wp.url, "username": wp.admin.0, "app_password": wp.admin.1});
    let integration = app.post("/api/v1/integration/integrations/", &body, owner).await;
    let integration = integration.data()["id"].as_str().unwrap().to_owned();
    let started = app.post(&format!("/api/v1/integration/integrations/{integration}/sync/"), &json!({}), owner).await;
    let message = SyncMessage {
        account_id: t.account_id.clone(),
        integration_id: integration.clone(),
        event_id: started.data()["id"].as_str().unwrap().to_owned(),
    };

    // A delivery with no time left pulls nothing and asks to go on.
    let out_of_time = sync::run(&app.services, &message, Some(std::time::Instant::now()), false).await;
    assert_eq!(out_of_time, Ok(Delivery::Continue));
    let status = app.get(&format!("/api/v1/integration/integrations/{integration}/sync_status/"), owner).await;
    assert_eq!(status.data()["last_event"]["status"], "running");
    assert_eq!(status.data()["last_event"]["phase"], "categories");
    assert_eq!(status.data()["sync_status"], "syncing");

    // The next one does the rest; one more finds it ended and does nothing.
    assert_eq!(sync::run(&app.services, &message, None, false).await, Ok(Delivery::Done));
    let status = app.get(&format!("/api/v1/integration/integrations/{integration}/sync_status/"), owner).await;
    assert_eq!(status.data()["last_event"]["status"], "success", "{}", status.body);
    assert_eq!(status.data()["last_event"]["phase"], "done");
    let created = status.data()["last_event"]["counts"]["posts"]["created"].as_u64().unwrap();
    assert!(created > 0);
    assert_eq!(sync::run(&app.services, &message, None, false).await, Ok(Delivery::Done));
    let again = app.get(&format!("/api/v1/integration/integrations/{integration}/sync_status/"), owner).await;
    assert_eq!(again.data()["last_event"]["counts"], status.data()["last_event"]["counts"]);
}
