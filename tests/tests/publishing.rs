//! Publishing to the real WordPress the test command starts (`scripts/wordpress.sh`): a content
//! goes up with its images (uploaded, placed, the featured one set) and its categories and tags
//! (created when missing); republishing updates the same post; a refused password, a site that is
//! down or answering 500, and a post whose creation answer is lost each end as they should — a
//! clear failure with nothing half-published, or exactly one post.

use std::time::Duration;

use api_tests::wordpress::{Fault, WordPress, faulty_site, wordpress};
use api_tests::{RELAXED_RATES, Tenant, TestApp, spawn_app_configured};
use igny8_domain::writer::Content;
use serde_json::{Value, json};

const RECORDS: &str = "/api/v1/publisher/publishing-records/";

async fn app() -> TestApp {
    spawn_app_configured(RELAXED_RATES, |c| {
        c.retry_delay = Duration::ZERO;
        c.wordpress_timeout = Duration::from_secs(3);
    })
    .await
}

async fn integration(app: &TestApp, t: &Tenant, url: &str, (user, password): (&str, &str)) -> String {
    let body = json!({"site_id": t.site, "site_url": url, "username": user, "app_password": password});
    let created = app.post("/api/v1/integration/integrations/", &body, Some(&t.token)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.data()["id"].as_str().unwrap().to_owned()
}

fn admin(wp: &WordPress) -> (&str, &str) {
    (wp.admin.0.as_str(), wp.admin.1.as_str())
}

async fn content(app: &TestApp, t: &Tenant, title: &str, extra: Value) -> String {
    let mut body = json!({
        "sector_id": t.sector,
        "title": title,
        "html_content": "<p>Intro words.</p><h2>First</h2><p>One.</p><h2>Second</h2><p>Two.</p><h2>Third</h2><p>Three.</p>",
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        body[k] = v.clone();
    }
    let created = app.post("/api/v1/writer/content/", &body, Some(&t.token)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.data()["id"].as_str().unwrap().to_owned()
}

/// Waits until every record of the content has ended (published or failed); answers them.
async fn ended(app: &TestApp, t: &Tenant, content_id: &str) -> Vec<Value> {
    let mut last = Vec::new();
    for _ in 0..300 {
        let listed = app.get(&format!("{RECORDS}?content_id={content_id}"), Some(&t.token)).await;
        assert_eq!(listed.status, 200, "{}", listed.body);
        let records = listed.body["results"].as_array().cloned().unwrap_or_default();
        if !records.is_empty() && records.iter().all(|r| r["status"] == "published" || r["status"] == "failed") {
            return records;
        }
        last = records;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the publishing of {content_id} did not end: {last:?}");
}

async fn stored(app: &TestApp, t: &Tenant, id: &str) -> Content {
    igny8_domain::records::find(&app.services, &t.account_id, id).await.unwrap().expect("the content")
}

#[tokio::test]
async fn a_content_goes_up_with_its_images_and_terms_and_republishing_updates_the_same_post() {
    let app = app().await;
    let wp = wordpress();
    let t = app.tenant("publish@publisher.example", "agency").await;
    let owner = Some(t.token.as_str());
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    integration(&app, &t, &wp.url, admin(&wp)).await;
    let taxonomy = |name: String, kind: &str| json!({"site_id": t.site, "name": name, "taxonomy_type": kind});
    let category = app.post("/api/v1/writer/taxonomies/", &taxonomy(format!("Desk {tag}"), "category"), owner).await;
    let label = app.post("/api/v1/writer/taxonomies/", &taxonomy(format!("tips {tag}"), "tag"), owner).await;
    let terms = json!([category.data()["id"], label.data()["id"]]);
    let title = format!("Dental care {tag}");
    let meta_title = format!("Dental care guide {tag}");
    let id = content(
        &app,
        &t,
        &title,
        json!({"meta_title": meta_title, "meta_description": "All about teeth.", "primary_keyword": "dental care", "taxonomy_ids": terms}),
    )
    .await;

    // A featured and two in-article images, generated through the image pipeline.
    let prompts = app
        .post("/api/v1/writer/content/generate_image_prompts/", &json!({"ids": [id], "in_article_count": 2}), owner)
        .await;
    assert_eq!(prompts.status, 200, "{}", prompts.body);
    assert_eq!(app.settled(&t.token, prompts.body["task_id"].as_str().unwrap()).await["state"], "SUCCESS");
    let images = app.post("/api/v1/writer/images/generate_images/", &json!({"content_id": id}), owner).await;
    assert_eq!(images.status, 200, "{}", images.body);
    assert_eq!(app.settled(&t.token, images.body["task_id"].as_str().unwrap()).await["state"], "SUCCESS");

    let queued = app.post(&format!("/api/v1/writer/content/{id}/publish/"), &json!({"status": "publish"}), owner).await;
    assert_eq!(queued.status, 200, "{}", queued.body);
    assert_eq!(queued.data()[0]["status"], "queued");
    let record = ended(&app, &t, &id).await.remove(0);
    assert_eq!(record["status"], "published", "{record}");
    assert_eq!(record["attempts"], 1);
    let post_id = record["post_id"].as_i64().expect("a post id");

    // WordPress has the post: its title, status, terms, featured image and in-article images.
    let post = wp.get(&format!("posts/{post_id}")).await;
    assert_eq!(post["title"]["raw"], meta_title.as_str());
    assert_eq!(post["status"], "publish");
    assert_eq!(post["excerpt"]["raw"], "All about teeth.");
    let html = post["content"]["raw"].as_str().unwrap();
    assert_eq!(html.matches("<img").count(), 2, "{html}");
    assert!(html.contains("/wp-content/uploads/") && !html.contains("/api/v1/"), "{html}");
    let featured = post["featured_media"].as_i64().unwrap();
    assert!(featured > 0);
    assert!(
        wp.get(&format!("media/{featured}")).await["source_url"].as_str().unwrap().contains("/wp-content/uploads/")
    );
    let categories = wp.get(&format!("categories?search={}", url_word(&format!("Desk {tag}")))).await;
    assert_eq!(post["categories"], json!([categories[0]["id"]]), "{categories}");
    let tags = wp.get(&format!("tags?search={tag}")).await;
    assert_eq!(post["tags"], json!([tags[0]["id"]]), "{tags}");

    // The content is linked to it and published.
    let linked = stored(&app, &t, &id).await;
    assert_eq!(linked.status, "published");
    assert_eq!(linked.external.external_id, Some(post_id.to_string()));
    assert_eq!(linked.external.external_url.as_deref(), post["link"].as_str());
    assert_eq!(linked.external.sync_status, "synced");
    let listed = app
        .get(&format!("/api/v1/writer/content/?source=igny8&sync_status=synced&sector_id={}", t.sector), owner)
        .await;
    assert_eq!(listed.body["count"], json!(1), "{}", listed.body);
    assert_eq!(listed.body["results"][0]["wp_post_id"], json!(post_id));

    // Republished after an edit: the same post changes; no image is uploaded twice.
    let media_before =
        wp.get(&format!("media?search={}&per_page=100", url_word(&title))).await.as_array().map(Vec::len);
    let edited = app
        .call(
            "PATCH",
            &format!("/api/v1/writer/content/{id}/"),
            Some(&json!({"meta_title": format!("{meta_title} (2)")})),
            owner,
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    let again = app.post("/api/v1/publisher/publish/", &json!({"content_ids": [id]}), owner).await;
    assert_eq!(again.status, 200, "{}", again.body);
    let record = ended(&app, &t, &id).await.remove(0);
    assert_eq!((record["status"].as_str(), record["post_id"].as_i64()), (Some("published"), Some(post_id)), "{record}");
    assert_eq!(wp.get(&format!("posts/{post_id}")).await["title"]["raw"], format!("{meta_title} (2)"));
    assert_eq!(wp.posts_titled(&format!("{meta_title} (2)")).await.len(), 1);
    assert!(wp.posts_titled(&meta_title).await.is_empty(), "no second post");
    let media_after = wp.get(&format!("media?search={}&per_page=100", url_word(&title))).await.as_array().map(Vec::len);
    assert_eq!(media_after, media_before, "no image uploaded twice");
}

fn url_word(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn a_refused_password_fails_at_once_and_nothing_is_published() {
    let app = app().await;
    let wp = wordpress();
    let t = app.tenant("refused@publisher.example", "agency").await;
    integration(&app, &t, &wp.url, (&wp.admin.0, "wrong wrong wrong wrong")).await;
    let title = format!("Refused {}", uuid::Uuid::new_v4().simple());
    let id = content(&app, &t, &title, json!({"status": "review"})).await;

    let queued = app
        .post("/api/v1/publisher/publish/", &json!({"content_ids": [id], "status": "publish"}), Some(&t.token))
        .await;
    assert_eq!(queued.status, 200, "{}", queued.body);
    let record = ended(&app, &t, &id).await.remove(0);
    assert_eq!(record["status"], "failed");
    assert_eq!(record["attempts"], 1, "not tried again: {record}");
    let error = record["error"].as_str().unwrap();
    assert!(error.contains("refused the username or application password"), "{error}");
    assert!(!error.contains("wrong wrong"), "{error}");
    assert!(wp.posts_titled(&title).await.is_empty());
    let content = stored(&app, &t, &id).await;
    assert_eq!((content.status.as_str(), content.external.sync_status.as_str()), ("review", "native"));
    assert_eq!(content.external.external_id, None);
}

#[tokio::test]
async fn a_site_down_or_answering_500_fails_after_its_retries_with_nothing_half_published() {
    let app = app().await;
    let wp = wordpress();
    let t = app.tenant("down@publisher.example", "agency").await;
    let erroring = faulty_site(&wp.url, Fault::ServerError).await;
    let failing = integration(&app, &t, &erroring, admin(&wp)).await;
    let down = integration(&app, &t, "http://127.0.0.1:9", admin(&wp)).await;
    let title = format!("Down {}", uuid::Uuid::new_v4().simple());
    let id = content(&app, &t, &title, json!({})).await;

    let queued = app.post("/api/v1/publisher/publish/", &json!({"content_ids": [id]}), Some(&t.token)).await;
    assert_eq!(queued.status, 200, "{}", queued.body);
    assert_eq!(queued.data().as_array().map(Vec::len), Some(2), "one record per destination");
    let records = ended(&app, &t, &id).await;
    for integration in [&failing, &down] {
        let record = records.iter().find(|r| r["integration_id"] == integration.as_str()).expect("its record");
        assert_eq!(record["status"], "failed", "{record}");
        assert_eq!(record["attempts"], 3, "tried on each delivery: {record}");
        assert!(record["error"].as_str().unwrap().starts_with("WordPress is unavailable"), "{record}");
        assert_eq!(record["post_id"], Value::Null);
    }
    assert!(wp.posts_titled(&title).await.is_empty());
    let content = stored(&app, &t, &id).await;
    assert_eq!((content.status.as_str(), content.external.sync_status.as_str()), ("draft", "native"));
}

#[tokio::test]
async fn a_lost_answer_to_the_posts_creation_then_a_retry_make_exactly_one_post() {
    let app = app().await;
    let wp = wordpress();
    let t = app.tenant("slow@publisher.example", "agency").await;
    // WordPress makes the post, but its answer comes after the 3 s the worker waits.
    let slow = faulty_site(&wp.url, Fault::SlowFirstPost(Duration::from_secs(5))).await;
    integration(&app, &t, &slow, admin(&wp)).await;
    let title = format!("Slow {}", uuid::Uuid::new_v4().simple());
    let id = content(&app, &t, &title, json!({})).await;

    let queued = app.post(&format!("/api/v1/writer/content/{id}/publish/"), &json!({}), Some(&t.token)).await;
    assert_eq!(queued.status, 200, "{}", queued.body);
    assert_eq!(queued.data()[0]["post_status"], "draft", "draft content makes a draft post");
    let record = ended(&app, &t, &id).await.remove(0);
    assert_eq!(record["status"], "published", "{record}");
    assert_eq!(record["attempts"], 2, "the second attempt found the post: {record}");
    let posts = wp.posts_titled(&title).await;
    assert_eq!(posts.len(), 1, "exactly one post");
    assert_eq!(posts[0]["id"].as_i64(), record["post_id"].as_i64());
    assert_eq!(posts[0]["status"], "draft");
    let content = stored(&app, &t, &id).await;
    assert_eq!(content.status, "draft", "a draft post leaves the content's status");
    assert_eq!(content.external.external_id, Some(posts[0]["id"].to_string()));
}

#[tokio::test]
async fn in_a_deployment_a_stored_internal_site_address_is_refused_when_publishing() {
    let app = spawn_app_configured(RELAXED_RATES, |c| {
        c.deployment = igny8_domain::Deployment::Aws;
        c.retry_delay = Duration::ZERO;
    })
    .await;
    let t = app.tenant("ssrf@publisher.example", "agency").await;
    let id = integration(&app, &t, "https://wordpress.example", ("admin", "abcd efgh ijkl mnop")).await;
    // An address the API would refuse, stored behind its back: the worker's calls refuse it too.
    app.set_raw(
        &format!("ACCOUNT#{}", t.account_id),
        &format!("SITEINTEGRATION#{id}"),
        "SET site_url = :v",
        &[],
        "https://169.254.169.254/latest/meta-data",
    )
    .await;
    let content_id = content(&app, &t, "Metadata", json!({})).await;
    let queued = app.post("/api/v1/publisher/publish/", &json!({"content_ids": [content_id]}), Some(&t.token)).await;
    assert_eq!(queued.status, 200, "{}", queued.body);
    let record = ended(&app, &t, &content_id).await.remove(0);
    assert_eq!(record["status"], "failed", "{record}");
    assert_eq!(record["attempts"], 1, "a refused address is not tried again: {record}");
    let error = record["error"].as_str().unwrap();
    assert!(error.contains("not allowed") && error.contains("metadata"), "{error}");
}
