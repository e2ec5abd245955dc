//! The WordPress plugin's way in: the API-key authorizer in front of its routes (run by the local
//! gateway from `template.yaml` as API Gateway runs it), and what those routes do for the key's
//! own site only: the status and metadata webhooks, the site's published content, its structure.

use std::time::Duration;

use api_tests::{AUTHORIZER_CACHE, Answer, Tenant, TestApp, spawn_app, spawn_app_with_rates};
use igny8_domain::integration::posts::{self, Post};
use igny8_domain::writer::Content;
use serde_json::{Value, json};

const STATUS: &str = "/api/v1/integration/webhooks/wordpress/status/";
const METADATA: &str = "/api/v1/integration/webhooks/wordpress/metadata/";
const CONTENT: &str = "/api/v1/integration/plugin/content/";
const STRUCTURE: &str = "/api/v1/integration/plugin/structure/";

async fn integration(app: &TestApp, t: &Tenant, site: &str) -> String {
    let body = json!({"site_id": site, "site_url": "http://127.0.0.1:9/", "username": "editor",
                      "app_password": "abcd efgh ijkl mnop qrst uvwx"});
    let created = app.post("/api/v1/integration/integrations/", &body, Some(&t.token)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.data()["id"].as_str().unwrap().to_owned()
}

async fn new_key(app: &TestApp, t: &Tenant, site: &str) -> (String, String) {
    let created =
        app.post("/api/v1/integration/api-keys/", &json!({"site_id": site, "name": "Plugin"}), Some(&t.token)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    (created.data()["id"].as_str().unwrap().to_owned(), created.data()["key"].as_str().unwrap().to_owned())
}

/// A content of the tenant's sector, linked to `post_id` of the integration as a publish would.
async fn published(app: &TestApp, t: &Tenant, sector: &str, integration: &str, post_id: u64) -> Content {
    let body = json!({"sector_id": sector, "title": format!("Post {post_id}"), "html_content": "<p>Text</p>"});
    let created = app.post("/api/v1/writer/content/", &body, Some(&t.token)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.data()["id"].as_str().unwrap();
    let before: Content = igny8_domain::records::find(&app.services, &t.account_id, id).await.unwrap().unwrap();
    let post = Post {
        post_id: post_id.to_string(),
        url: Some(format!("https://blog.example/?p={post_id}")),
        wp_status: "publish".into(),
        post_type: "post".into(),
        slug: None,
        modified: None,
    };
    posts::attach(&app.services, &before, integration, &post, |c| c.status = "published".into()).await.unwrap()
}

async fn plugin(app: &TestApp, method: &str, path: &str, body: Option<&Value>, key: Option<&str>) -> Answer {
    app.call(method, path, body, key).await
}

async fn second_site(app: &TestApp, t: &Tenant) -> (String, String) {
    let site =
        app.post("/api/v1/auth/sites/", &json!({"name": "Shop", "industry_id": "healthcare"}), Some(&t.token)).await;
    let site = site.data()["id"].as_str().unwrap().to_owned();
    let sector = app.post("/api/v1/auth/sectors/", &json!({"site_id": site, "name": "Eyes"}), Some(&t.token)).await;
    (site, sector.data()["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn the_gateway_lets_a_live_key_through_and_refuses_the_rest_as_api_gateway_does() {
    let app = spawn_app_with_rates("*=100000/min,plugin=120/min").await;
    let a = app.tenant("plugin-gate@integration.example", "agency").await;
    let wp = integration(&app, &a, &a.site).await;
    let content = published(&app, &a, &a.sector, &wp, 41).await;
    let (key_id, key) = new_key(&app, &a, &a.site).await;
    let body = json!({"post_id": 41, "status": "draft"});

    // No header: 401 before the authorizer runs; a JWT or anything else: the authorizer says no.
    let missing = plugin(&app, "POST", STATUS, Some(&body), None).await;
    assert_eq!((missing.status, &missing.body), (401, &json!({"message": "Unauthorized"})));
    for refused in [a.token.as_str(), "igny8_nothing", &key[..key.len() - 1]] {
        let answer = plugin(&app, "POST", STATUS, Some(&body), Some(refused)).await;
        assert_eq!((answer.status, &answer.body), (403, &json!({"message": "Forbidden"})), "{refused}");
    }
    // The key's routes only: the SPA's routes do not take it.
    assert_eq!(app.get("/api/v1/auth/me/", Some(&key)).await.status, 401);

    let moved = plugin(&app, "POST", STATUS, Some(&body), Some(&key)).await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.data()["id"], json!(content.id));
    assert_eq!(moved.data()["status"], "draft");
    assert_eq!(moved.data()["sync_metadata"]["wp_status"], "draft");
    assert_eq!(moved.headers["x-throttle-limit"], "120", "counted in the plugin's scope");

    // Revoked: still let through while the answer is cached, refused once the window ends.
    assert_eq!(
        app.call("DELETE", &format!("/api/v1/integration/api-keys/{key_id}/"), None, Some(&a.token)).await.status,
        204
    );
    let cached = plugin(&app, "POST", STATUS, Some(&json!({"post_id": 41, "status": "publish"})), Some(&key)).await;
    assert_eq!(cached.status, 200, "within the cache window: {}", cached.body);
    tokio::time::sleep(AUTHORIZER_CACHE + Duration::from_millis(200)).await;
    let revoked = plugin(&app, "POST", STATUS, Some(&body), Some(&key)).await;
    assert_eq!((revoked.status, &revoked.body), (403, &json!({"message": "Forbidden"})));
    let stored: Content =
        igny8_domain::records::find(&app.services, &a.account_id, &content.id).await.unwrap().unwrap();
    assert_eq!(stored.status, "published", "the refused call changed nothing");
}

#[tokio::test]
async fn a_key_reaches_its_own_sites_content_only() {
    let app = spawn_app().await;
    let a = app.tenant("plugin-own@integration.example", "agency").await;
    let b = app.tenant("plugin-other@integration.example", "agency").await;
    let (shop, shop_sector) = second_site(&app, &a).await;
    let wp_a = integration(&app, &a, &a.site).await;
    let wp_shop = integration(&app, &a, &shop).await;
    let wp_b = integration(&app, &b, &b.site).await;
    let mine = published(&app, &a, &a.sector, &wp_a, 7).await;
    let shops = published(&app, &a, &shop_sector, &wp_shop, 8).await;
    let theirs = published(&app, &b, &b.sector, &wp_b, 9).await;
    let (_, key) = new_key(&app, &a, &a.site).await;
    let (_, shop_key) = new_key(&app, &a, &shop).await;

    // Site A's key: site A's post 7; the shop's post 8 and the other account's post 9 are not found,
    // whichever integration the body names.
    let status = |post: u64, integration: Option<&str>| {
        let mut body = json!({"post_id": post, "status": "pending"});
        if let Some(i) = integration {
            body["integration_id"] = json!(i);
        }
        body
    };
    assert_eq!(plugin(&app, "POST", STATUS, Some(&status(7, None)), Some(&key)).await.data()["status"], "review");
    for (post, named) in [(8, None), (8, Some(wp_shop.as_str())), (9, Some(wp_b.as_str())), (9, None)] {
        let answer = plugin(&app, "POST", STATUS, Some(&status(post, named)), Some(&key)).await;
        assert_eq!(answer.status, 404, "post {post} via {named:?}: {}", answer.body);
        answer.assert_request_id();
    }
    for c in [&shops, &theirs] {
        let stored: Content = igny8_domain::records::find(&app.services, &c.account_id, &c.id).await.unwrap().unwrap();
        assert_eq!(stored.status, "published", "untouched");
    }

    // The published content each key reads is its own site's.
    let listed = plugin(&app, "GET", CONTENT, None, Some(&shop_key)).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let ids: Vec<&str> = listed.body["results"].as_array().unwrap().iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(ids, [shops.id.as_str()]);
    assert_eq!(listed.body["results"][0]["external_id"], "8");
    // Site A's content is `review` now: not published, not listed.
    assert_eq!(plugin(&app, "GET", CONTENT, None, Some(&key)).await.body["count"], json!(0));
    let _ = mine;
}

#[tokio::test]
async fn metadata_and_structure_from_the_plugin_are_kept_and_bad_bodies_change_nothing() {
    let app = spawn_app().await;
    let a = app.tenant("plugin-meta@integration.example", "agency").await;
    let wp = integration(&app, &a, &a.site).await;
    let content = published(&app, &a, &a.sector, &wp, 12).await;
    let (_, key) = new_key(&app, &a, &a.site).await;
    let owner = Some(a.token.as_str());
    let taxonomy = |name: &str, kind: &str| json!({"site_id": a.site, "name": name, "slug": name.to_lowercase(), "taxonomy_type": kind});
    let news = app.post("/api/v1/writer/taxonomies/", &taxonomy("News", "category"), owner).await;
    assert_eq!(news.status, 201, "{}", news.body);
    let tips = app.post("/api/v1/writer/taxonomies/", &taxonomy("Tips", "tag"), owner).await;

    let body = json!({"post_id": 12, "title": "Renamed in WordPress", "slug": "renamed", "url": "https://blog.example/renamed/",
                      "categories": ["news", "Unknown"], "tags": ["TIPS"]});
    let changed = plugin(&app, "POST", METADATA, Some(&body), Some(&key)).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let data = changed.data();
    assert_eq!(data["title"], "Renamed in WordPress");
    assert_eq!(data["external_url"], "https://blog.example/renamed/");
    assert_eq!(data["sync_metadata"]["slug"], "renamed");
    assert_eq!(data["sync_metadata"]["categories"], json!(["news", "Unknown"]));
    let mut assigned: Vec<&str> = data["taxonomy_ids"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assigned.sort();
    let mut expected = vec![news.data()["id"].as_str().unwrap(), tips.data()["id"].as_str().unwrap()];
    expected.sort();
    assert_eq!(assigned, expected);

    // Bad bodies: a 400 naming the field, and nothing changes.
    let before: Content =
        igny8_domain::records::find(&app.services, &a.account_id, &content.id).await.unwrap().unwrap();
    for (path, body, field) in [
        (STATUS, json!({"post_id": 12, "status": "published"}), "status"),
        (STATUS, json!({"post_id": -1, "status": "draft"}), "post_id"),
        (STATUS, json!({"post_id": 12, "status": "draft", "integration_id": "x".repeat(5000)}), "integration_id"),
        (METADATA, json!({"post_id": 12, "url": "javascript:alert(1)"}), "url"),
        (METADATA, json!({"post_id": 12, "title": "t".repeat(100_000)}), "title"),
        (STRUCTURE, json!({"post_types": "post", "taxonomies": []}), "post_types"),
    ] {
        let answer = plugin(&app, "POST", path, Some(&body), Some(&key)).await;
        assert_eq!(answer.status, 400, "{path} {body}: {}", answer.body);
        assert!(!answer.field_errors(field).is_empty(), "{path}: {}", answer.body);
    }
    let many: Vec<Value> = (0..51).map(|i| json!({"name": format!("t{i}"), "label": "T"})).collect();
    let too_many =
        plugin(&app, "POST", STRUCTURE, Some(&json!({"post_types": many, "taxonomies": []})), Some(&key)).await;
    assert_eq!(too_many.status, 400, "{}", too_many.body);
    let after: Content = igny8_domain::records::find(&app.services, &a.account_id, &content.id).await.unwrap().unwrap();
    assert_eq!(after, before);

    // The structure is kept as the integration's.
    let structure = json!({"post_types": [{"name": "post", "label": "Posts", "count": 3}, {"name": "page", "label": "Pages"}],
                           "taxonomies": [{"name": "category", "label": "Categories", "terms": [{"name": "News", "slug": "news"}]}]});
    let kept = plugin(&app, "POST", STRUCTURE, Some(&structure), Some(&key)).await;
    assert_eq!(kept.status, 200, "{}", kept.body);
    assert_eq!(kept.data()["integration_id"], json!(wp));
    assert_eq!(kept.data()["post_types"][0]["count"], 3);
    assert_eq!(kept.data()["source"], "plugin");

    // Deleting the integration deletes its structure and its posts' links.
    async fn items(app: &TestApp, account_id: &str) -> usize {
        app.partitions(&[format!("ACCOUNT#{account_id}")])
            .await
            .iter()
            .filter_map(|i| i.get("SK").and_then(|v| v.as_s().ok()).cloned())
            .filter(|sk| sk.starts_with("EXTPOST#") || sk.starts_with("SITESTRUCTURE#"))
            .count()
    }
    assert_eq!(items(&app, &a.account_id).await, 2, "a link and a structure");
    let deleted = app.call("DELETE", &format!("/api/v1/integration/integrations/{wp}/"), None, owner).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert_eq!(items(&app, &a.account_id).await, 0);
    let gone = plugin(&app, "POST", STATUS, Some(&json!({"post_id": 12, "status": "draft"})), Some(&key)).await;
    assert_eq!(gone.status, 404, "{}", gone.body);
}
