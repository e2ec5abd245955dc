//! The system settings: module switches, the keyed settings families, author profiles and
//! strategies (the thinker), the public status and ping, and request metrics.

use std::time::Duration;

use api_tests::{PASSWORD, Tenant, TestApp, spawn_app};
use local_stack::template::Template;
use serde_json::{Value, json};

const SYSTEM: &str = "/api/v1/system";

/// A user of `role` in the tenant's account, granted the tenant's site; answers its token.
async fn member(app: &TestApp, t: &Tenant, role: &str) -> String {
    let email = format!("{role}-{}@example.com", igny8_domain::ids::new_id());
    let made = app
        .post("/api/v1/auth/users/", &json!({"email": email, "password": PASSWORD, "role": role}), Some(&t.token))
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let user_id = made.data()["id"].as_str().unwrap_or_default().to_owned();
    let grant =
        app.post("/api/v1/auth/site-access/", &json!({"user_id": user_id, "site_id": t.site}), Some(&t.token)).await;
    assert!(grant.status == 201 || role == "admin", "{}", grant.body);
    app.login(&email, PASSWORD).await.data()["access"].as_str().unwrap_or_default().to_owned()
}

fn ids(answer: &Value) -> Vec<String> {
    answer["results"].as_array().into_iter().flatten().filter_map(|r| r["id"].as_str().map(str::to_owned)).collect()
}

#[tokio::test]
async fn ping_and_status_are_public_and_status_names_a_part_that_does_not_answer() {
    let app = spawn_app().await;
    let ping = app.get(&format!("{SYSTEM}/ping/"), None).await;
    assert_eq!(ping.status, 200, "{}", ping.body);
    assert_eq!(ping.body["success"], json!(true));
    assert_eq!(ping.data(), &json!({"status": "ok"}));
    ping.assert_request_id();

    let status = app.get(&format!("{SYSTEM}/status/"), None).await;
    assert_eq!(status.status, 200, "{}", status.body);
    assert_eq!(status.data()["status"], json!("healthy"));
    assert_eq!(status.data()["version"], json!(env!("CARGO_PKG_VERSION")));
    let parts = status.data()["components"].as_object().cloned().unwrap_or_default();
    for part in ["table", "queue.ai_jobs", "queue.image_jobs", "queue.purge", "queue.publish", "bucket"] {
        assert_eq!(parts.get(part), Some(&json!("connected")), "{part}: {}", status.body);
    }

    // A queue removed: 503 naming it (once the healthy answer of the last 5 s has passed).
    let purge = app.services.config.purge_queue_url.clone().unwrap_or_default();
    app.sqs.delete_queue().queue_url(&purge).send().await.expect("delete the purge queue");
    let mut down = None;
    for _ in 0..40 {
        let answer = app.get(&format!("{SYSTEM}/status/"), None).await;
        if answer.status == 503 {
            down = Some(answer);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let down = down.expect("status answers 503 once a queue is gone");
    down.assert_error(503, "Service unavailable");
    assert_eq!(down.field_errors("queue.purge"), vec!["not found".to_owned()], "{}", down.body);
    assert!(down.field_errors("table").is_empty(), "{}", down.body);

    // The endpoint stopped: the function's router, over services whose AWS endpoint does not
    // answer, says so for every part within its wait.
    let stopped = local_stack::bootstrap::local_sdk_config("http://127.0.0.1:9").await;
    let services = std::sync::Arc::new(igny8_domain::Services::with_sdk_config(app.services.config.clone(), stopped));
    let router = system_function::router(services);
    let request =
        http::Request::builder().uri("/api/v1/system/status/").body(axum::body::Body::empty()).expect("a request");
    let started = std::time::Instant::now();
    let response = tower::ServiceExt::oneshot(router, request).await.expect("an answer");
    assert_eq!(response.status().as_u16(), 503);
    assert!(started.elapsed() < Duration::from_secs(10), "bounded by the checks' wait");
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("a body");
    let body: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(body["success"], json!(false));
    for part in ["table", "queue.ai_jobs", "bucket"] {
        assert!(body["errors"][part].is_array(), "{part}: {body}");
    }
}

#[tokio::test]
async fn author_profiles_are_kept_within_the_plan_by_managers_and_read_by_members() {
    let app = spawn_app().await;
    let t = app.tenant(&format!("ap-{}@example.com", igny8_domain::ids::new_id()), "starter").await;
    let other = app.tenant(&format!("ap-other-{}@example.com", igny8_domain::ids::new_id()), "growth").await;
    let viewer = member(&app, &t, "viewer").await;
    let list = format!("{SYSTEM}/author-profiles/");

    // Bad input: 400 with the fields' errors, nothing made.
    for (body, field) in [
        (json!({"tone": "warm", "language": "en"}), "name"),
        (json!({"name": "A", "language": "en"}), "tone"),
        (
            json!({"name": "A", "tone": "warm", "language": "en", "structure_template": "sections"}),
            "structure_template",
        ),
        (json!({"name": "A", "tone": "warm", "language": "x".repeat(36)}), "language"),
        (json!({"name": "A", "tone": "warm", "language": "en", "is_active": "maybe"}), "is_active"),
    ] {
        let refused = app.post(&list, &body, Some(&t.token)).await;
        refused.assert_error(400, "Validation failed");
        assert!(!refused.field_errors(field).is_empty(), "{field}: {}", refused.body);
    }
    assert_eq!(app.get(&list, Some(&t.token)).await.body["count"], json!(0));

    // A viewer reads, never writes.
    let denied = app.post(&list, &json!({"name": "V", "tone": "warm", "language": "en"}), Some(&viewer)).await;
    denied.assert_error(403, "Permission denied");

    // Starter allows 5.
    let mut made = Vec::new();
    for i in 0..5 {
        let language = if i % 2 == 0 { "en" } else { "es" };
        let body = json!({"name": format!("Voice {i}"), "tone": "warm", "language": language,
                          "structure_template": {"sections": ["Intro", "Body"]}, "is_active": i != 4});
        let created = app.post(&list, &body, Some(&t.token)).await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.data()["structure_template"], json!({"sections": ["Intro", "Body"]}));
        made.push(created.data()["id"].as_str().unwrap_or_default().to_owned());
    }
    let sixth = app.post(&list, &json!({"name": "Six", "tone": "warm", "language": "en"}), Some(&t.token)).await;
    sixth.assert_error(400, "Validation failed");
    assert!(sixth.field_errors("non_field_errors")[0].contains("allows 5"), "{}", sixth.body);

    let listed = app.get(&list, Some(&viewer)).await;
    assert_eq!(listed.body["count"], json!(5), "{}", listed.body);
    assert_eq!(app.get(&format!("{list}?language=ES"), Some(&viewer)).await.body["count"], json!(2));
    assert_eq!(app.get(&format!("{list}?is_active=false"), Some(&viewer)).await.body["count"], json!(1));
    app.get(&format!("{list}?is_active=maybe"), Some(&viewer)).await.assert_error(400, "Validation failed");

    // Another account neither sees nor changes them.
    let first = format!("{list}{}/", made[0]);
    app.get(&first, Some(&other.token)).await.assert_error(404, "Resource not found");
    app.call("PATCH", &first, Some(&json!({"tone": "cold"})), Some(&other.token))
        .await
        .assert_error(404, "Resource not found");
    assert_eq!(app.get(&list, Some(&other.token)).await.body["count"], json!(0));

    // PATCH changes what is sent; a bad change changes nothing.
    let changed = app.call("PATCH", &first, Some(&json!({"tone": "playful"})), Some(&t.token)).await;
    assert_eq!(
        (changed.status, &changed.data()["tone"], &changed.data()["name"]),
        (200, &json!("playful"), &json!("Voice 0"))
    );
    let bad = app.call("PATCH", &first, Some(&json!({"structure_template": 3})), Some(&t.token)).await;
    bad.assert_error(400, "Validation failed");
    assert_eq!(
        app.get(&first, Some(&t.token)).await.data()["structure_template"],
        json!({"sections": ["Intro", "Body"]})
    );
    app.call("PATCH", &first, Some(&json!({"tone": "x"})), Some(&viewer)).await.assert_error(403, "Permission denied");

    // A delete frees a place under the plan.
    assert_eq!(app.call("DELETE", &first, None, Some(&t.token)).await.status, 204);
    app.get(&first, Some(&t.token)).await.assert_error(404, "Resource not found");
    let again = app.post(&list, &json!({"name": "Again", "tone": "warm", "language": "en"}), Some(&t.token)).await;
    assert_eq!(again.status, 201, "{}", again.body);
}

#[tokio::test]
async fn a_task_naming_an_author_profile_is_written_in_its_voice() {
    let app = spawn_app().await;
    let t = app.tenant(&format!("voice-{}@example.com", igny8_domain::ids::new_id()), "growth").await;
    api_tests::jobs::use_provider(&app, &t, 4).await;
    let profile = app
        .post(
            &format!("{SYSTEM}/author-profiles/"),
            &json!({"name": "Playful Spanish", "tone": "playful and warm", "language": "Spanish",
                    "structure_template": {"sections": ["Hook", "Three tips", "Call to action"]}}),
            Some(&t.token),
        )
        .await;
    let profile_id = profile.data()["id"].as_str().unwrap_or_default().to_owned();
    let inactive = app
        .post(
            &format!("{SYSTEM}/author-profiles/"),
            &json!({"name": "Retired", "tone": "dry", "language": "en", "is_active": false}),
            Some(&t.token),
        )
        .await;
    let inactive_id = inactive.data()["id"].as_str().unwrap_or_default().to_owned();

    let task = |title: &str, profile: Option<&str>| json!({"sector_id": t.sector, "title": title, "keywords": ["dental implants"], "author_profile_id": profile});
    for (bad, why) in [(inactive_id.as_str(), "not active"), ("8d1c3c0e-0000-4000-8000-000000000000", "does not exist")]
    {
        let refused = app.post("/api/v1/writer/tasks/", &task("Refused", Some(bad)), Some(&t.token)).await;
        refused.assert_error(400, "Validation failed");
        assert!(refused.field_errors("author_profile_id")[0].contains(why), "{}", refused.body);
    }
    let voiced =
        app.post("/api/v1/writer/tasks/", &task("Implants explained", Some(&profile_id)), Some(&t.token)).await;
    assert_eq!(voiced.status, 201, "{}", voiced.body);
    assert_eq!(voiced.data()["author_profile_id"], json!(profile_id));
    let plain = app.post("/api/v1/writer/tasks/", &task("Braces explained", None), Some(&t.token)).await;
    let ids = [voiced.data()["id"].clone(), plain.data()["id"].clone()];

    let queued = app.post("/api/v1/writer/tasks/auto_generate_content/", &json!({"ids": ids}), Some(&t.token)).await;
    assert_eq!(queued.status, 200, "{}", queued.body);
    let job = app.settled(&t.token, queued.body["task_id"].as_str().unwrap_or_default()).await;
    assert_eq!(job["state"], json!("SUCCESS"), "{job}");

    // What the provider received: the voiced task with its profile, the other without.
    let asked: Vec<Value> = app
        .provider
        .requests()
        .iter()
        .filter_map(|r| r["messages"].as_array().and_then(|m| m.last()).and_then(|m| m["content"].as_str()))
        .filter_map(|text| text.rsplit_once("INPUT: ").and_then(|(_, input)| serde_json::from_str::<Value>(input).ok()))
        .filter(|v| v["task"] == json!("generate_content"))
        .collect();
    let voiced = asked.iter().find(|a| a["title"] == json!("Implants explained")).expect("the voiced task was asked");
    assert_eq!(voiced["author_profile"]["tone"], json!("playful and warm"));
    assert_eq!(voiced["author_profile"]["language"], json!("Spanish"));
    assert_eq!(voiced["author_profile"]["structure_template"]["sections"][1], json!("Three tips"));
    assert!(voiced["instructions"].as_str().unwrap_or_default().contains("playful and warm"), "{voiced}");
    let plain = asked.iter().find(|a| a["title"] == json!("Braces explained")).expect("the plain task was asked");
    assert!(plain.get("author_profile").is_none(), "{plain}");
}

#[tokio::test]
async fn strategies_name_prompt_types_and_a_sector_of_the_account() {
    let app = spawn_app().await;
    let t = app.tenant(&format!("st-{}@example.com", igny8_domain::ids::new_id()), "growth").await;
    let other = app.tenant(&format!("st-other-{}@example.com", igny8_domain::ids::new_id()), "growth").await;
    let editor = member(&app, &t, "editor").await;
    let list = format!("{SYSTEM}/strategies/");
    for (body, field) in [
        (json!({"name": "S", "prompt_types": ["clustering", "poetry"]}), "prompt_types"),
        (json!({"name": "S", "sector_id": other.sector}), "sector_id"),
        (json!({"name": "S", "section_logic": "first this"}), "section_logic"),
        (json!({"prompt_types": ["ideas"]}), "name"),
    ] {
        let refused = app.post(&list, &body, Some(&t.token)).await;
        refused.assert_error(400, "Validation failed");
        assert!(!refused.field_errors(field).is_empty(), "{field}: {}", refused.body);
    }
    app.post(&list, &json!({"name": "By editor"}), Some(&editor)).await.assert_error(403, "Permission denied");

    let sectored = app
        .post(
            &list,
            &json!({"name": "Pillars", "sector_id": t.sector, "prompt_types": ["clustering", "ideas", "ideas"],
                    "section_logic": {"pillar": "guide"}}),
            Some(&t.token),
        )
        .await;
    assert_eq!(sectored.status, 201, "{}", sectored.body);
    assert_eq!(sectored.data()["prompt_types"], json!(["clustering", "ideas"]));
    assert_eq!(sectored.data()["sector"], json!(t.sector));
    let general = app.post(&list, &json!({"name": "General", "is_active": false}), Some(&t.token)).await;
    assert_eq!(general.data()["sector_id"], Value::Null);

    let by_sector = app.get(&format!("{list}?sector={}", t.sector), Some(&editor)).await;
    assert_eq!(ids(&by_sector.body), vec![sectored.data()["id"].as_str().unwrap_or_default().to_owned()]);
    assert_eq!(app.get(&format!("{list}?is_active=false"), Some(&editor)).await.body["count"], json!(1));
    assert_eq!(app.get(&list, Some(&other.token)).await.body["count"], json!(0));

    let item = format!("{list}{}/", sectored.data()["id"].as_str().unwrap_or_default());
    let cleared = app.call("PATCH", &item, Some(&json!({"sector_id": null})), Some(&t.token)).await;
    assert_eq!((cleared.status, &cleared.data()["sector_id"]), (200, &Value::Null), "{}", cleared.body);
    app.call("DELETE", &item, None, Some(&other.token)).await.assert_error(404, "Resource not found");
    assert_eq!(app.call("DELETE", &item, None, Some(&t.token)).await.status, 204);
}

#[tokio::test]
async fn the_settings_families_are_keyed_validated_and_written_by_whom_the_seeds_say() {
    let app = spawn_app().await;
    let t = app.tenant(&format!("set-{}@example.com", igny8_domain::ids::new_id()), "growth").await;
    let other = app.tenant(&format!("set-other-{}@example.com", igny8_domain::ids::new_id()), "growth").await;
    let viewer = member(&app, &t, "viewer").await;
    let platform = app.platform_token().await;

    // The account's families: managers write, members read, another account sees nothing.
    for family in ["account", "ai"] {
        let list = format!("{SYSTEM}/settings/{family}/");
        let custom = json!({"key": "seo.rules", "value": {"h1": true, "limits": [1, 2.5, "x", null]}});
        app.post(&list, &custom, Some(&viewer)).await.assert_error(403, "Permission denied");
        let made = app.post(&list, &custom, Some(&t.token)).await;
        assert_eq!(made.status, 201, "{}", made.body);
        assert_eq!((&made.data()["id"], &made.data()["value"]), (&json!("seo.rules"), &custom["value"]));
        app.post(&list, &custom, Some(&t.token)).await.assert_error(400, "Validation failed");
        let read = app.get(&format!("{list}seo.rules/"), Some(&viewer)).await;
        assert_eq!(read.data()["value"], custom["value"], "values come back exactly as sent");
        let page = app.get(&list, Some(&viewer)).await;
        assert_eq!((page.body["count"].clone(), page.body["next"].clone()), (json!(1), Value::Null));
        app.get(&format!("{list}seo.rules/"), Some(&other.token)).await.assert_error(404, "Resource not found");
        assert_eq!(app.get(&list, Some(&other.token)).await.body["count"], json!(0));
        let patched = app.call("PATCH", &format!("{list}seo.rules/"), Some(&json!({"value": 7})), Some(&t.token)).await;
        assert_eq!(patched.data()["value"], json!(7));
        let rekeyed = app
            .call("PUT", &format!("{list}seo.rules/"), Some(&json!({"key": "other", "value": 1})), Some(&t.token))
            .await;
        assert!(!rekeyed.field_errors("key").is_empty(), "{}", rekeyed.body);
        app.call("DELETE", &format!("{list}seo.rules/"), None, Some(&viewer))
            .await
            .assert_error(403, "Permission denied");
        assert_eq!(app.call("DELETE", &format!("{list}seo.rules/"), None, Some(&t.token)).await.status, 204);
    }

    // Known keys have their rule; bad keys and oversized values are refused; nothing is kept.
    let account = format!("{SYSTEM}/settings/account/");
    for (body, field) in [
        (json!({"key": "timezone", "value": "Mars/Olympus Mons"}), "value"),
        (json!({"key": "default_word_count", "value": 50}), "value"),
        (json!({"key": "Bad Key", "value": 1}), "key"),
        (json!({"key": "big", "value": "x".repeat(17 * 1024)}), "value"),
        (json!({"key": "no_value"}), "value"),
    ] {
        let refused = app.post(&account, &body, Some(&t.token)).await;
        refused.assert_error(400, "Validation failed");
        assert!(!refused.field_errors(field).is_empty(), "{field}: {}", refused.body);
    }
    let ai = format!("{SYSTEM}/settings/ai/");
    app.post(&ai, &json!({"key": "temperature", "value": 3}), Some(&t.token))
        .await
        .assert_error(400, "Validation failed");
    assert_eq!(app.post(&ai, &json!({"key": "temperature", "value": 0.4}), Some(&t.token)).await.status, 201);
    assert_eq!(app.get(&account, Some(&t.token)).await.body["count"], json!(0));

    // The platform's settings: members read, only the platform writes.
    let system = format!("{SYSTEM}/settings/system/");
    let notice = json!({"key": "announcement", "value": "Maintenance on Sunday"});
    app.post(&system, &notice, Some(&t.token)).await.assert_error(403, "Permission denied");
    let posted = app.post(&system, &notice, Some(&platform)).await;
    assert!(posted.status == 201 || posted.status == 400, "{}", posted.body);
    let read = app.get(&format!("{system}announcement/"), Some(&other.token)).await;
    assert_eq!(read.data()["value"], json!("Maintenance on Sunday"));
    app.call("DELETE", &format!("{system}announcement/"), None, Some(&t.token))
        .await
        .assert_error(403, "Permission denied");
    app.post(&system, &json!({"key": "maintenance_mode", "value": "yes"}), Some(&platform))
        .await
        .assert_error(400, "Validation failed");

    // A user's own settings: any role writes its own; nobody else sees them.
    let user = format!("{SYSTEM}/settings/user/");
    assert_eq!(app.post(&user, &json!({"key": "theme", "value": "dark"}), Some(&viewer)).await.status, 201);
    app.post(&user, &json!({"key": "theme", "value": "pink"}), Some(&t.token))
        .await
        .assert_error(400, "Validation failed");
    assert_eq!(app.get(&user, Some(&t.token)).await.body["count"], json!(0));
    assert_eq!(app.get(&format!("{user}theme/"), Some(&viewer)).await.data()["value"], json!("dark"));
    app.get(&format!("{user}theme/"), Some(&t.token)).await.assert_error(404, "Resource not found");

    // Module settings: per module and key; a bare key finds the one module that has it.
    let modules = format!("{SYSTEM}/settings/modules/");
    app.post(&modules, &json!({"module_name": "weather", "key": "k", "value": 1}), Some(&t.token))
        .await
        .assert_error(400, "Validation failed");
    for (module, value) in [("planner", json!(12)), ("writer", json!("long"))] {
        let made =
            app.post(&modules, &json!({"module_name": module, "key": "size", "value": value}), Some(&t.token)).await;
        assert_eq!((made.status, &made.data()["id"]), (201, &json!(format!("{module}:size"))), "{}", made.body);
    }
    app.post(&modules, &json!({"module_name": "planner", "key": "depth", "value": 2}), Some(&t.token)).await;
    assert_eq!(app.get(&format!("{modules}planner:size/"), Some(&viewer)).await.data()["value"], json!(12));
    assert_eq!(app.get(&format!("{modules}depth/"), Some(&viewer)).await.data()["module_name"], json!("planner"));
    app.get(&format!("{modules}size/"), Some(&viewer))
        .await
        .assert_error(400, "Several modules have the setting \"size\": name it as <module>:size.");
    assert_eq!(app.get(&format!("{modules}?module_name=planner"), Some(&viewer)).await.body["count"], json!(2));
    let planner = app.get(&format!("{modules}module/planner/"), Some(&viewer)).await;
    assert_eq!(planner.data(), &json!({"module": "planner", "settings": {"size": 12, "depth": 2}}));
    app.get(&format!("{modules}module/weather/"), Some(&viewer)).await.assert_error(404, "Resource not found");
    let moved = app
        .call("PATCH", &format!("{modules}planner:size/"), Some(&json!({"module_name": "writer"})), Some(&t.token))
        .await;
    assert!(!moved.field_errors("module_name").is_empty(), "{}", moved.body);

    // The switches are their own route, not a setting called "enable".
    let switches = app.get(&format!("{modules}enable/"), Some(&viewer)).await;
    assert_eq!(switches.data()["planner_enabled"], json!(true), "{}", switches.body);
}

/// Every route of the template that a switch turns off, by switch: the routes of its function
/// (the thinker's are the system function's prompts, author profiles and strategies).
fn switched_routes(template: &Template, switch: &str) -> Vec<(String, String)> {
    let thinker = ["/api/v1/system/prompts/", "/api/v1/system/author-profiles/", "/api/v1/system/strategies/"];
    template
        .routes
        .iter()
        .filter(|r| match switch {
            "thinker" => r.binary == "system" && thinker.iter().any(|p| r.path.starts_with(p)),
            _ => r.binary == switch,
        })
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect()
}

fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').map_or(rest.len(), |e| start + e + 1);
        out.push_str("8d1c3c0e-0000-4000-8000-000000000000");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn a_switched_off_module_answers_403_on_every_route_and_its_queued_jobs_do_not_start() {
    let app = spawn_app().await;
    let t = app.tenant(&format!("sw-{}@example.com", igny8_domain::ids::new_id()), "growth").await;
    let other = app.tenant(&format!("sw-other-{}@example.com", igny8_domain::ids::new_id()), "growth").await;
    let viewer = member(&app, &t, "viewer").await;
    let enable = format!("{SYSTEM}/settings/modules/enable/");
    let template = Template::load_default().expect("template.yaml");

    let all_on = app.get(&enable, Some(&viewer)).await;
    for switch in igny8_domain::system::switches::SWITCHES {
        assert_eq!(all_on.data()[format!("{switch}_enabled")], json!(true), "{}", all_on.body);
    }
    // Bad input changes nothing; viewers do not switch.
    let bad = app
        .call("PATCH", &enable, Some(&json!({"planner_enabled": "off", "weather_enabled": false})), Some(&t.token))
        .await;
    bad.assert_error(400, "Validation failed");
    assert!(!bad.field_errors("planner_enabled").is_empty() && !bad.field_errors("weather_enabled").is_empty());
    app.call("PATCH", &enable, Some(&json!({"planner_enabled": false})), Some(&viewer))
        .await
        .assert_error(403, "Permission denied");
    assert_eq!(app.get(&enable, Some(&t.token)).await.data()["planner_enabled"], json!(true));

    // A keyword kept through the switch.
    let keyword = app
        .post("/api/v1/planner/keywords/", &json!({"keyword": "implants kept", "sector_id": t.sector}), Some(&t.token))
        .await;
    assert_eq!(keyword.status, 201, "{}", keyword.body);
    let keyword_id = keyword.data()["id"].as_str().unwrap_or_default().to_owned();

    for switch in ["planner", "writer", "thinker", "linker", "optimizer", "publisher", "automation"] {
        let routes = switched_routes(&template, switch);
        assert!(routes.len() >= 3, "{switch} has routes: {routes:?}");
        let off = app.call("PUT", &enable, Some(&json!({format!("{switch}_enabled"): false})), Some(&t.token)).await;
        assert_eq!((off.status, &off.data()[format!("{switch}_enabled")]), (200, &json!(false)), "{}", off.body);
        for (method, path) in &routes {
            let answer = app.call(method, &concrete(path), Some(&json!({})), Some(&t.token)).await;
            assert_eq!(answer.status, 403, "{switch}: {method} {path}: {}", answer.body);
            assert_eq!(answer.body["error"], json!("Module disabled"), "{method} {path}");
            // Another account's modules are its own.
            if method == "GET" && !path.contains('{') {
                let theirs = app.call(method, path, None, Some(&other.token)).await;
                assert_ne!(theirs.status, 403, "{switch}: another account: {method} {path}: {}", theirs.body);
            }
        }
        // Unauthenticated is still a 401 first.
        app.call(&routes[0].0, &concrete(&routes[0].1), Some(&json!({})), None)
            .await
            .assert_error(401, "Authentication required");
        let on = app.call("PATCH", &enable, Some(&json!({format!("{switch}_enabled"): true})), Some(&t.token)).await;
        assert_eq!(on.data()[format!("{switch}_enabled")], json!(true));
    }
    // Back on: all the module had is there.
    let kept = app.get(&format!("/api/v1/planner/keywords/{keyword_id}/"), Some(&t.token)).await;
    assert_eq!((kept.status, &kept.data()["keyword"]), (200, &json!("implants kept")), "{}", kept.body);

    // A job queued while the module was on does not start once it is off: failed, refunded.
    let before = app.credits(&t.account_id).await;
    let account = app
        .services
        .store()
        .await
        .get::<igny8_domain::accounts::Account>(&igny8_domain::store::Key::account(&t.account_id))
        .await
        .expect("read")
        .expect("the account");
    let parked = api_tests::jobs::parked(&app).await;
    let input = json!({"site_id": t.site, "sector_id": t.sector, "keyword_ids": [keyword_id]});
    let job = api_tests::jobs::submit(&parked, &account, &t.user_id, "auto_cluster", input).await;
    assert!(app.credits(&t.account_id).await < before, "the job reserved its credits");
    app.call("PATCH", &enable, Some(&json!({"planner_enabled": false})), Some(&t.token)).await;
    let parked_url = parked.config.ai_jobs_queue_url.clone().unwrap_or_default();
    let message = app.sqs.receive_message().queue_url(&parked_url).send().await.expect("receive");
    let body = message.messages().first().and_then(|m| m.body()).expect("the queued message").to_owned();
    let ai_queue = app.services.config.ai_jobs_queue_url.clone().unwrap_or_default();
    app.sqs.send_message().queue_url(&ai_queue).message_body(body).send().await.expect("deliver");
    // task_progress/ is the system function's: readable with the planner off.
    let settled = app.settled(&t.token, &job.id).await;
    assert_eq!(settled["state"], json!("FAILURE"), "{settled}");
    assert!(settled["meta"]["error"].as_str().unwrap_or_default().contains("Module disabled"), "{settled}");
    assert_eq!(settled["meta"]["error_type"], json!("ModuleDisabled"));
    assert_eq!(app.credits(&t.account_id).await, before, "refunded");
    assert_eq!(app.ledger_sum(&t.account_id).await, app.credits(&t.account_id).await);
    app.call("PATCH", &enable, Some(&json!({"planner_enabled": true})), Some(&t.token)).await;
    let clusters = app.get("/api/v1/planner/clusters/", Some(&t.token)).await;
    assert_eq!((clusters.status, &clusters.body["count"]), (200, &json!(0)), "nothing was clustered");
}

#[tokio::test]
async fn request_metrics_are_recorded_only_when_asked_and_read_by_developers() {
    let app = spawn_app().await;
    let t = app.tenant(&format!("rm-{}@example.com", igny8_domain::ids::new_id()), "growth").await;
    let platform = app.platform_token().await;
    let keywords = app.url("/api/v1/planner/keywords/");

    let plain = app.send(app.client.get(&keywords).bearer_auth(&t.token)).await;
    assert_eq!(plain.status, 200);
    assert!(plain.headers.get("x-resource-tracking-id").is_none());
    let plain_id = plain.headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    app.get(&format!("{SYSTEM}/request-metrics/{plain_id}/"), Some(&platform))
        .await
        .assert_error(404, "Resource not found");

    let tracked =
        app.send(app.client.get(&keywords).bearer_auth(&t.token).header("X-Debug-Resource-Tracking", "1")).await;
    assert_eq!(tracked.status, 200);
    let id = tracked.headers.get("x-resource-tracking-id").and_then(|v| v.to_str().ok()).expect("tracked").to_owned();
    assert_eq!(Some(id.as_str()), tracked.headers.get("x-request-id").and_then(|v| v.to_str().ok()));

    let metrics = app.get(&format!("{SYSTEM}/request-metrics/{id}/"), Some(&platform)).await;
    assert_eq!(metrics.status, 200, "{}", metrics.body);
    let m = metrics.data();
    assert_eq!(m["route"], json!("GET /api/v1/planner/keywords/"));
    assert_eq!((&m["status"], &m["account_id"], &m["user_id"]), (&json!(200), &json!(t.account_id), &json!(t.user_id)));
    assert!(m["duration_ms"].as_f64().unwrap_or_default() > 0.0, "{m}");
    let requests = m["aws_requests"].as_u64().unwrap_or_default();
    assert!(requests >= 2 && m["dynamodb_requests"].as_u64() == Some(requests), "{m}");
    assert!(m["round_trips"].as_u64().unwrap_or_default() >= 1, "{m}");
    assert!(m["dynamodb_capacity_units"].as_f64().unwrap_or_default() > 0.0, "{m}");
    assert!(m["peak_rss_mb"].as_f64().unwrap_or_default() > 0.0, "{m}");

    // Developers only; the account's own owner is refused.
    app.get(&format!("{SYSTEM}/request-metrics/{id}/"), Some(&t.token)).await.assert_error(403, "Permission denied");
    // An anonymous request that asks records nothing.
    let anonymous =
        app.send(app.client.get(app.url("/api/v1/auth/plans/")).header("X-Debug-Resource-Tracking", "1")).await;
    assert!(anonymous.headers.get("x-resource-tracking-id").is_none());
    // A request id sent again does not replace the first request's metrics.
    let again = app
        .send(
            app.client
                .get(app.url("/api/v1/writer/tasks/"))
                .bearer_auth(&t.token)
                .header("X-Debug-Resource-Tracking", "1")
                .header("X-Request-ID", &id),
        )
        .await;
    assert!(again.headers.get("x-resource-tracking-id").is_none());
    let still = app.get(&format!("{SYSTEM}/request-metrics/{id}/"), Some(&platform)).await;
    assert_eq!(still.data()["route"], json!("GET /api/v1/planner/keywords/"));
}

#[test]
fn every_switched_module_names_a_switch_of_the_enable_route() {
    for module in api_docs::MODULES {
        if let Some(switch) = module.switch {
            assert!(igny8_domain::system::switches::SWITCHES.contains(&switch), "{}: {switch}", module.tag);
        }
    }
}

#[tokio::test]
async fn a_publish_queued_before_the_publisher_was_switched_off_does_not_start() {
    // Publishing is queued where no worker polls (the DLQ) and delivered by hand.
    let app = api_tests::spawn_app_configured(api_tests::RELAXED_RATES, |c| {
        c.publish_queue_url = c.publish_queue_url.as_ref().map(|u| u.replace("publish-queue", "publish-dlq"));
    })
    .await;
    let t = app.tenant(&format!("pub-{}@example.com", igny8_domain::ids::new_id()), "growth").await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a port").local_addr().expect("addr").port();
    let wordpress = json!({"site_id": t.site, "site_url": format!("http://127.0.0.1:{closed}"), "username": "editor",
                           "app_password": "abcd efgh ijkl mnop"});
    let integration = app.post("/api/v1/integration/integrations/", &wordpress, Some(&t.token)).await;
    assert_eq!(integration.status, 201, "{}", integration.body);
    let content = app
        .post(
            "/api/v1/writer/content/",
            &json!({"title": "Kept", "html_content": "<p>Hello</p>", "sector_id": t.sector}),
            Some(&t.token),
        )
        .await;
    let content_id = content.data()["id"].as_str().unwrap_or_default().to_owned();
    let body = json!({"content_ids": [content_id], "destinations": [integration.data()["id"]]});
    let published = app.post("/api/v1/publisher/publish/", &body, Some(&t.token)).await;
    assert_eq!(published.status, 200, "{}", published.body);
    let record = published.data()[0]["id"].as_str().unwrap_or_default().to_owned();

    let enable = format!("{SYSTEM}/settings/modules/enable/");
    app.call("PATCH", &enable, Some(&json!({"publisher_enabled": false})), Some(&t.token)).await;
    let parked = app.services.config.publish_queue_url.clone().unwrap_or_default();
    let message = app.sqs.receive_message().queue_url(&parked).send().await.expect("receive");
    let body = message.messages().first().and_then(|m| m.body()).expect("the queued publish").to_owned();
    let queue = parked.replace("publish-dlq", "publish-queue");
    app.sqs.send_message().queue_url(&queue).message_body(body).send().await.expect("deliver");

    let mut ended = None;
    for _ in 0..100 {
        let found = igny8_domain::publisher::records::get(&app.services, &t.account_id, &record).await.expect("read");
        if let Some(r) = found.filter(|r| r.status == "failed") {
            ended = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ended = ended.expect("the record failed");
    assert!(ended.error.as_deref().unwrap_or_default().contains("Module disabled"), "{:?}", ended.error);
    assert_eq!(ended.attempts, 0, "nothing was tried on the site");
    // Switched back on, the content and the record are there.
    app.call("PATCH", &enable, Some(&json!({"publisher_enabled": true})), Some(&t.token)).await;
    let read = app.get(&format!("/api/v1/publisher/publishing-records/{record}/"), Some(&t.token)).await;
    assert_eq!((read.status, &read.data()["status"]), (200, &json!("failed")), "{}", read.body);
    let kept = app.get(&format!("/api/v1/writer/content/{content_id}/"), Some(&t.token)).await;
    assert_eq!(kept.data()["title"], json!("Kept"));
}
