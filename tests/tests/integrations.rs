//! A site's WordPress integrations (`/api/v1/integration/integrations/`), against the real
//! WordPress the test command starts (`scripts/wordpress.sh`): owners and admins manage them,
//! members of the site read them, other accounts see nothing; the application password lives in
//! Secrets Manager and is answered only masked; connection tests report what the site says, and a
//! refused password, an unreachable site or an internal address in a deployment is a clear 400.

use api_tests::wordpress::wordpress;
use api_tests::{Answer, Tenant, TestApp, spawn_app, spawn_app_configured};
use igny8_domain::Deployment;
use serde_json::{Value, json};

const LIST: &str = "/api/v1/integration/integrations/";
const CHECK: &str = "/api/v1/integration/integrations/test-connection/";

/// A user of the tenant's account with `role`, granted the tenant's site when an editor or viewer.
async fn member(app: &TestApp, t: &Tenant, email: &str, role: &str) -> String {
    let owner = Some(t.token.as_str());
    let created = app
        .post("/api/v1/auth/users/", &json!({"email": email, "password": "member passphrase", "role": role}), owner)
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    if role == "editor" || role == "viewer" {
        let user = created.data()["id"].as_str().unwrap().to_owned();
        let granted = app.post("/api/v1/auth/site-access/", &json!({"user_id": user, "site_id": t.site}), owner).await;
        assert_eq!(granted.status, 201, "{}", granted.body);
    }
    app.login(email, "member passphrase").await.data()["access"].as_str().unwrap().to_owned()
}

fn body(t: &Tenant, (user, password): &(String, String), url: &str) -> Value {
    json!({"site_id": t.site, "site_url": url, "username": user, "app_password": password})
}

async fn secret(app: &TestApp, account_id: &str, id: &str) -> Option<String> {
    let name = format!("{}/{account_id}/wordpress/{id}", app.services.config.integration_secrets_prefix);
    app.services
        .secrets()
        .await
        .get_secret_value()
        .secret_id(name)
        .send()
        .await
        .ok()?
        .secret_string()
        .map(str::to_owned)
}

fn no_password(answer: &Answer, password: &str) {
    assert!(!answer.body.to_string().contains(password), "the password is answered: {}", answer.body);
}

#[tokio::test]
async fn owners_and_admins_manage_integrations_members_read_them_and_the_password_stays_in_secrets_manager() {
    let app = spawn_app().await;
    let wp = wordpress();
    let t = app.tenant("owner@integrations.example", "agency").await;
    let other = app.tenant("owner@elsewhere.example", "agency").await;
    let admin = member(&app, &t, "admin@integrations.example", "admin").await;
    let editor = member(&app, &t, "editor@integrations.example", "editor").await;
    let viewer = member(&app, &t, "viewer@integrations.example", "viewer").await;
    let (owner, password) = (Some(t.token.as_str()), wp.admin.1.clone());

    // Bad input: a clear 400 with the fields, nothing saved.
    let empty = app.post(LIST, &json!({}), owner).await;
    empty.assert_error(400, "Validation failed");
    for field in ["site_id", "site_url", "username", "app_password"] {
        assert!(!empty.field_errors(field).is_empty(), "{field}: {}", empty.body);
    }
    let ftp = app.post(LIST, &body(&t, &wp.admin, "ftp://example.com"), owner).await;
    assert!(!ftp.field_errors("site_url").is_empty(), "{}", ftp.body);
    let foreign_site =
        json!({"site_id": other.site, "site_url": wp.url, "username": "admin", "app_password": password});
    assert!(!app.post(LIST, &foreign_site, owner).await.field_errors("site_id").is_empty());
    let short = app.post(LIST, &body(&t, &(wp.admin.0.clone(), "short".into()), &wp.url), owner).await;
    assert!(!short.field_errors("app_password").is_empty(), "{}", short.body);
    assert_eq!(app.get(LIST, owner).await.body["count"], json!(0));

    // Editors and viewers may not create one; the owner does.
    assert_eq!(app.post(LIST, &body(&t, &wp.admin, &wp.url), Some(&editor)).await.status, 403);
    assert_eq!(app.post(LIST, &body(&t, &wp.admin, &wp.url), Some(&viewer)).await.status, 403);
    let created = app.post(LIST, &body(&t, &wp.admin, &format!("{}/", wp.url)), owner).await;
    assert_eq!(created.status, 201, "{}", created.body);
    no_password(&created, &password);
    let id = created.data()["id"].as_str().unwrap().to_owned();
    let item = format!("{LIST}{id}/");
    let data = created.data();
    assert_eq!((data["site_url"].as_str(), data["platform"].as_str()), (Some(wp.url.as_str()), Some("wordpress")));
    assert_eq!((data["is_active"].clone(), data["sync_status"].clone()), (json!(true), json!("pending")));
    assert!(data["password_hint"].as_str().unwrap().contains('…'));
    assert_eq!(secret(&app, &t.account_id, &id).await.as_deref(), Some(password.as_str()));
    let stored = app.partitions(&[format!("ACCOUNT#{}", t.account_id)]).await;
    assert!(!format!("{stored:?}").contains(&password), "the table holds the password");

    // Members of the site read it; other accounts and strangers do not.
    for token in [owner, Some(admin.as_str()), Some(editor.as_str()), Some(viewer.as_str())] {
        let listed = app.get(LIST, token).await;
        assert_eq!(listed.body["count"], json!(1), "{}", listed.body);
        no_password(&listed, &password);
        assert_eq!(app.get(&item, token).await.status, 200);
    }
    let stranger = Some(other.token.as_str());
    assert_eq!(app.get(LIST, stranger).await.body["count"], json!(0));
    for (method, path) in [("GET", &item), ("PATCH", &item), ("DELETE", &item)] {
        let answer = app.call(method, path, Some(&json!({"username": "x"})), stranger).await;
        assert_eq!(answer.status, 404, "{method} {path}: {}", answer.body);
    }
    assert_eq!(app.call("POST", &format!("{item}test_connection/"), None, stranger).await.status, 404);
    assert_eq!(app.get(LIST, None).await.status, 401);

    // Only owners and admins change or delete it.
    assert_eq!(app.call("PATCH", &item, Some(&json!({"is_active": false})), Some(&editor)).await.status, 403);
    assert_eq!(app.call("DELETE", &item, None, Some(&viewer)).await.status, 403);
    let moved = app.call("PATCH", &item, Some(&json!({"site_id": other.site})), owner).await;
    assert!(!moved.field_errors("site_id").is_empty(), "{}", moved.body);
    let changed = app
        .call(
            "PATCH",
            &item,
            Some(&json!({"app_password": "abcd efgh ijkl mnop qrst uvwx", "sync_enabled": true})),
            Some(&admin),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.data()["sync_enabled"], json!(true));
    assert_ne!(changed.data()["password_hint"], data["password_hint"]);
    assert_eq!(secret(&app, &t.account_id, &id).await.as_deref(), Some("abcdefghijklmnopqrstuvwx"), "spaces dropped");
    no_password(&changed, "abcdefghijklmnopqrstuvwx");

    // Deleting it takes its password.
    assert_eq!(app.call("DELETE", &item, None, owner).await.status, 204);
    assert_eq!(app.get(&item, owner).await.status, 404);
    assert_eq!(secret(&app, &t.account_id, &id).await, None);

    // Deleting the site takes its integrations and their passwords (the site's purge).
    let kept = app.post(LIST, &body(&t, &wp.admin, &wp.url), owner).await;
    let kept = kept.data()["id"].as_str().unwrap().to_owned();
    assert!(secret(&app, &t.account_id, &kept).await.is_some());
    assert_eq!(app.call("DELETE", &format!("/api/v1/auth/sites/{}/", t.site), None, owner).await.status, 204);
    assert!(app.purges_done().await);
    assert_eq!(app.get(&format!("{LIST}{kept}/"), owner).await.status, 404);
    assert_eq!(secret(&app, &t.account_id, &kept).await, None);
    let stored = app.partitions(&[format!("ACCOUNT#{}", t.account_id)]).await;
    assert!(!format!("{stored:?}").contains("SITEINTEGRATION#"), "no integration item is left");
}

#[tokio::test]
async fn a_connection_test_says_what_the_real_wordpress_answers_and_who_may_publish() {
    let app = spawn_app().await;
    let wp = wordpress();
    let t = app.tenant("owner@connections.example", "agency").await;
    let owner = Some(t.token.as_str());
    let check =
        |user: &(String, String), url: &str| json!({"site_url": url, "username": user.0, "app_password": user.1});

    let admin = app.post(CHECK, &check(&wp.admin, &wp.url), owner).await;
    assert_eq!(admin.status, 200, "{}", admin.body);
    no_password(&admin, &wp.admin.1);
    let found = admin.data();
    assert_eq!((found["connected"].clone(), found["can_publish"].clone()), (json!(true), json!(true)));
    assert_eq!(found["user"]["roles"], json!(["administrator"]));
    assert!(!found["site_name"].as_str().unwrap().is_empty());
    assert!(found["wordpress_version"].as_str().is_some_and(|v| v.starts_with(char::is_numeric)), "{found}");

    let contributor = app.post(CHECK, &check(&wp.contributor, &wp.url), owner).await;
    assert_eq!(contributor.status, 200, "{}", contributor.body);
    assert_eq!(contributor.data()["can_publish"], json!(false));

    let wrong =
        app.post(CHECK, &check(&(wp.admin.0.clone(), "wrong application password".into()), &wp.url), owner).await;
    wrong.assert_error(400, "WordPress refused the username or application password.");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let closed = format!("http://127.0.0.1:{port}");
    let down = app.post(CHECK, &check(&wp.admin, &closed), owner).await;
    assert_eq!(down.status, 400, "{}", down.body);
    assert!(down.body["error"].as_str().unwrap().contains("could not be reached"), "{}", down.body);
    let not_wordpress = app.post(CHECK, &check(&wp.admin, &format!("{}/wp-content", wp.url)), owner).await;
    assert_eq!(not_wordpress.status, 400, "{}", not_wordpress.body);

    // The saved integration's own test.
    let created = app.post(LIST, &body(&t, &wp.admin, &wp.url), owner).await;
    let id = created.data()["id"].as_str().unwrap().to_owned();
    let tested = app.post(&format!("{LIST}{id}/test_connection/"), &json!({}), owner).await;
    assert_eq!(tested.status, 200, "{}", tested.body);
    assert_eq!(tested.data()["user"]["roles"], json!(["administrator"]));
}

#[tokio::test]
async fn a_deployment_refuses_internal_site_addresses_saved_or_tested() {
    let app = spawn_app_configured(api_tests::RELAXED_RATES, |config| config.deployment = Deployment::Aws).await;
    let t = app.tenant("owner@ssrf-integrations.example", "agency").await;
    let owner = Some(t.token.as_str());
    for url in [
        "http://169.254.169.254",
        "https://169.254.169.254/latest/meta-data",
        "https://127.0.0.1",
        "https://10.0.0.8",
        "https://localhost",
        "https://user:pw@example.com",
        "file:///etc/passwd",
    ] {
        let saved = app
            .post(
                LIST,
                &json!({"site_id": t.site, "site_url": url, "username": "admin", "app_password": "abcdefghijkl"}),
                owner,
            )
            .await;
        assert!(!saved.field_errors("site_url").is_empty(), "{url}: {}", saved.body);
        let tested = app
            .post(CHECK, &json!({"site_url": url, "username": "admin", "app_password": "abcdefghijkl"}), owner)
            .await;
        assert!(!tested.field_errors("site_url").is_empty(), "{url}: {}", tested.body);
    }
    assert_eq!(app.get(LIST, owner).await.body["count"], json!(0));
}
