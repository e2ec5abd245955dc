//! The request log: one JSON line per request with request id, account, route, status and latency;
//! never a password, token or key. (Its own test binary, because the log subscriber is global.)

use std::io::Write;
use std::sync::{Arc, Mutex};

use api_tests::{PASSWORD, spawn_app};
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn one_structured_line_per_request_and_no_secrets() {
    let capture = Capture::default();
    let writer = capture.clone();
    igny8_domain::telemetry::init_with_writer(move || writer.clone());

    let app = spawn_app().await;
    let tokens = app.signed_up("logs@example.com").await;
    let me = app.get("/api/v1/auth/me/", Some(&tokens.access)).await;
    let new_password = "rotated passphrase 42";
    let changed = app
        .post(
            "/api/v1/auth/change-password/",
            &json!({"old_password": PASSWORD, "new_password": new_password}),
            Some(&tokens.access),
        )
        .await;
    assert_eq!(changed.status, 200);
    app.login("logs@example.com", "wrong password!").await;

    // A site's WordPress application password and its plugin's key stay out of the log too.
    let fresh = Some(changed.data()["access"].as_str().unwrap().to_owned());
    let fresh = fresh.as_deref();
    let site = app.post("/api/v1/auth/sites/", &json!({"name": "Logged"}), fresh).await;
    let site = site.data()["id"].as_str().unwrap().to_owned();
    let app_password = "wpap pass word 1234 abcd";
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let wordpress = json!({"site_id": site, "site_url": format!("http://127.0.0.1:{closed}"), "username": "editor", "app_password": app_password});
    assert_eq!(app.post("/api/v1/integration/integrations/", &wordpress, fresh).await.status, 201);
    let check = app.post("/api/v1/integration/integrations/test-connection/", &wordpress, fresh).await;
    assert_eq!(check.status, 400, "{}", check.body);
    let key = app.post("/api/v1/integration/api-keys/", &json!({"site_id": site, "name": "Plugin"}), fresh).await;
    let plugin_key = key.data()["key"].as_str().unwrap().to_owned();
    // The plugin's key through the authorizer, and a publish the worker tries with the password.
    let hook = app
        .post(
            "/api/v1/integration/webhooks/wordpress/status/",
            &json!({"post_id": 1, "status": "draft"}),
            Some(&plugin_key),
        )
        .await;
    assert_eq!(hook.status, 404, "{}", hook.body);
    let sector = app.post("/api/v1/auth/sectors/", &json!({"site_id": site, "name": "Logged"}), fresh).await;
    let content = json!({"sector_id": sector.data()["id"], "title": "Logged", "html_content": "<p>x</p>"});
    let content = app.post("/api/v1/writer/content/", &content, fresh).await;
    let published =
        app.post("/api/v1/publisher/publish/", &json!({"content_ids": [content.data()["id"]]}), fresh).await;
    assert_eq!(published.status, 200, "{}", published.body);
    let account = me.data()["user"]["account"]["id"].as_str().unwrap().to_owned();
    let record = published.data()[0]["id"].as_str().unwrap().to_owned();
    for _ in 0..200 {
        let found = igny8_domain::publisher::records::get(&app.services, &account, &record).await.unwrap();
        if found.is_some_and(|r| r.status == "failed") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("every log line is JSON")).collect();
    let requests: Vec<&Value> = lines.iter().filter(|l| l["message"] == json!("request")).collect();
    assert_eq!(
        requests.len(),
        13,
        "register, login, me, change-password, failed login, site, integration, connection test, API key, \
         webhook, sector, content, publish:\n{text}"
    );

    let me_line = requests.iter().find(|l| l["request_id"] == me.body["request_id"]).expect("me/ has its line");
    assert_eq!(me_line["route"], json!("GET /api/v1/auth/me/"));
    assert_eq!(me_line["status"], json!(200));
    assert_eq!(me_line["account_id"], me.data()["user"]["account"]["id"]);
    assert!(me_line["latency_ms"].as_f64().is_some());
    assert!(requests.iter().any(|l| l["route"] == json!("POST /api/v1/auth/login/") && l["status"] == json!(401)));

    let key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, app.signing_key().await);
    let app_password_as_saved = app_password.replace(' ', "");
    for secret in [
        PASSWORD,
        new_password,
        "wrong password!",
        &tokens.access,
        &tokens.refresh,
        &key,
        app_password,
        &app_password_as_saved,
        &plugin_key,
    ] {
        assert!(!text.contains(secret), "a secret reached the log");
    }
    assert!(!text.contains("argon2"), "a password hash reached the log");
    assert!(text.contains("API key accepted") && text.contains("publishing failed for good"), "{text}");
}
