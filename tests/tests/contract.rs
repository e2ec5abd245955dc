//! The API's contract: the OpenAPI document served at `/api/schema/` names exactly the routes of
//! `template.yaml`, is valid OpenAPI 3.1, and the pages that read it are served with everything
//! they load.

use std::collections::{BTreeMap, BTreeSet};

use api_tests::spawn_app;
use local_stack::names::workspace_root;
use local_stack::template::Template;
use serde_json::{Value, json};

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch"];

fn operations(spec: &Value) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(*method).is_some() {
                found.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    found
}

#[tokio::test]
async fn the_document_names_exactly_the_routes_of_the_template() {
    let app = spawn_app().await;
    let answer = app.get("/api/schema/", None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["openapi"], "3.1.0");
    let spec = operations(&answer.body);
    let template: BTreeSet<(String, String)> = Template::load_default()
        .expect("template.yaml")
        .routes
        .iter()
        // The greedy fallback is not an operation: it answers 404 and 405 for everything else.
        .filter(|r| !r.path.contains('+'))
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    // The plugin's operations (secured by its API key) are exactly the routes behind the API-key
    // authorizer: a handler that trusts the authorizer's context is never reachable without it.
    let behind_authorizer: BTreeSet<(String, String)> = Template::load_default()
        .expect("template.yaml")
        .routes
        .iter()
        .filter(|r| r.authorizer.as_deref() == Some("PluginApiKey"))
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    let keyed: BTreeSet<(String, String)> = spec
        .iter()
        .filter(|(method, path)| {
            answer.body["paths"][path][method.to_lowercase()]["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("api_key").is_some()))
        })
        .cloned()
        .collect();
    assert!(!keyed.is_empty(), "the plugin has operations");
    assert_eq!(keyed, behind_authorizer, "the API-key operations are the authorizer's routes");
    let missing: Vec<_> = template.difference(&spec).collect();
    let extra: Vec<_> = spec.difference(&template).collect();
    assert!(missing.is_empty(), "routes of template.yaml missing from the document: {missing:?}");
    assert!(extra.is_empty(), "operations of the document that template.yaml lacks: {extra:?}");

    // Every operation is tagged by its module, has a unique id, and says how it is secured.
    let mut ids = BTreeSet::new();
    for (path, item) in answer.body["paths"].as_object().expect("paths") {
        for method in METHODS {
            let Some(op) = item.get(*method) else { continue };
            assert_eq!(op["tags"].as_array().map(Vec::len), Some(1), "{method} {path}");
            let id = op["operationId"].as_str().expect("operationId").to_owned();
            assert!(ids.insert(id.clone()), "operation id {id} twice");
            assert!(op["security"].is_array(), "{method} {path} says nothing of its security");
            assert!(op["responses"]["429"].is_object(), "{method} {path} lacks the throttle's answer");
        }
    }
    // The typed answers name all their fields: nothing else may come (schemathesis checks it).
    let schemas = answer.body["components"]["schemas"].as_object().expect("schemas");
    for name in
        ["SiteAnswer", "UserSummary", "LedgerEntryAnswer", "KeywordAnswer", "ContentAnswer", "PaymentMethodAnswer"]
    {
        assert_eq!(schemas[name]["additionalProperties"], json!(false), "{name} is closed");
    }
    // Every JSON body is typed: each names a schema that states its fields.
    for (path, item) in answer.body["paths"].as_object().expect("paths") {
        for method in METHODS {
            let Some(body) = item.get(*method).and_then(|op| op["requestBody"]["content"].get("application/json"))
            else {
                continue;
            };
            let name = body["schema"]["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/"));
            let name = name.unwrap_or_else(|| panic!("{method} {path}: the body names no schema"));
            assert!(schemas[name]["properties"].is_object(), "{method} {path}: {name} states no fields");
        }
    }
    // ... with the rules the parser applies, one schema per body (no two bodies share a name).
    assert_eq!(schemas["NewKeyword"]["required"], json!(["sector_id"]));
    assert_eq!(schemas["NewKeyword"]["properties"]["keyword"]["maxLength"], 255);
    assert_eq!(schemas["KeywordChanges"].get("required"), None);
    let statuses = |name: &str| schemas[name]["properties"]["status"]["enum"].clone();
    assert_eq!(statuses("KeywordStatusChange"), json!(["active", "pending", "archived"]));
    assert!(statuses("TaskStatusChange").as_array().is_some_and(|s| s.contains(&json!("in_progress"))));
    assert!(statuses("ImageStatusChange").as_array().is_some_and(|s| s.contains(&json!("completed"))));
    assert_eq!(schemas["SettingsChanges"]["additionalProperties"], json!(false));

    let schemes = &answer.body["components"]["securitySchemes"];
    assert_eq!(schemes["jwt"]["scheme"], "bearer");
    assert_eq!(schemes["api_key"]["scheme"], "bearer");
}

#[tokio::test]
async fn the_document_is_valid_openapi_3_1_in_json_and_yaml() {
    let app = spawn_app().await;
    let json = app.send(app.client.get(app.url("/api/schema/"))).await;
    assert_eq!(json.headers["content-type"], "application/json");
    let yaml = app.client.get(app.url("/api/schema/?format=yaml")).send().await.expect("yaml");
    assert_eq!(yaml.headers()["content-type"], "application/yaml");
    let yaml: Value = serde_yaml::from_str(&yaml.text().await.expect("text")).expect("the YAML parses");
    assert_eq!(yaml, json.body, "the YAML is the same document");

    let dir = tempfile_dir();
    let file = dir.join("openapi.json");
    std::fs::write(&file, json.body.to_string()).expect("write");
    let validator = workspace_root().join(".venv/bin/openapi-spec-validator");
    let output = std::process::Command::new(&validator)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (run ./scripts/test.sh, which installs it)", validator.display()));
    assert!(
        output.status.success(),
        "openapi-spec-validator refused the document:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("igny8-contract-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[tokio::test]
async fn swagger_ui_and_redoc_load_everything_from_the_api() {
    let app = spawn_app().await;
    let page = |path: &'static str| {
        let request = app.client.get(app.url(path));
        async move {
            let response = request.send().await.expect("page");
            let status = response.status().as_u16();
            let content_type = response.headers()["content-type"].to_str().unwrap_or_default().to_owned();
            (status, content_type, response.text().await.unwrap_or_default())
        }
    };
    let (status, content_type, swagger) = page("/api/docs/").await;
    assert_eq!((status, content_type.starts_with("text/html")), (200, true));
    let (status, _, redoc) = page("/api/redoc/").await;
    assert_eq!(status, 200);
    let (_, _, initializer) = page("/api/docs/swagger-initializer.js").await;
    assert!(initializer.contains("/api/schema/"), "Swagger UI reads this API's document: {initializer}");
    assert!(redoc.contains(r#"spec-url="/api/schema/""#));

    // Every script and style the pages name is served here; none comes from another host.
    for (base, html) in [("/api/docs/", &swagger), ("/api/redoc/", &redoc)] {
        let sources: Vec<&str> =
            html.split(['"', '\'']).filter(|s| s.ends_with(".js") || s.ends_with(".css")).collect();
        assert!(!sources.is_empty(), "{base} loads its scripts");
        for source in sources {
            assert!(!source.contains("//"), "{base} loads {source} from elsewhere");
            let url = if source.starts_with('/') {
                source.to_owned()
            } else {
                format!("{base}{}", source.trim_start_matches("./"))
            };
            let response = app.client.get(app.url(&url)).send().await.expect("asset");
            assert_eq!(response.status(), 200, "{url}");
            let content_type = response.headers()["content-type"].to_str().unwrap_or_default().to_owned();
            assert!(content_type.contains("javascript") || content_type.contains("css"), "{url}: {content_type}");
            assert!(!response.bytes().await.expect("bytes").is_empty(), "{url} is empty");
        }
    }
    let (status, _, _) = page("/api/docs/no-such-file.js").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_path_of_the_document_with_another_method_is_405_and_an_unknown_path_404() {
    let app = spawn_app().await;
    // Paths of other functions than the one behind the fallback route.
    let answer = app.send(app.client.delete(app.url("/api/v1/planner/keywords/export/"))).await;
    answer.assert_error(405, "Method not allowed");
    let answer = app.send(app.client.put(app.url("/api/v1/billing/credits/balance/"))).await;
    answer.assert_error(405, "Method not allowed");
    let answer = app.send(app.client.post(app.url("/api/schema/"))).await;
    answer.assert_error(405, "Method not allowed");
    app.get("/api/v1/planner/nothing/", None).await.assert_error(404, "Resource not found");
    app.get("/api/v2/planner/keywords/", None).await.assert_error(404, "Resource not found");
}

/// Opens `page` in headless Chromium (Debian's `chromium`, installed by the setup) with every
/// address but loopback unreachable, and answers the DOM once its scripts have run.
fn rendered(url: &str) -> String {
    let profile = tempfile_dir();
    let output = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // No network: names resolve to nothing and anything not on loopback goes to a closed port.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--proxy-server=http://127.0.0.1:9",
            "--virtual-time-budget=30000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .output()
        .unwrap_or_else(|e| panic!("chromium: {e} (run ./scripts/test.sh, whose setup installs it)"));
    let _ = std::fs::remove_dir_all(&profile);
    assert!(output.status.success(), "chromium failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn swagger_ui_and_redoc_render_every_operation_in_chromium_without_network() {
    let app = spawn_app().await;
    let spec = app.get("/api/schema/", None).await.body;
    let operations = operations(&spec);
    let swagger = {
        let url = app.url("/api/docs/");
        tokio::task::spawn_blocking(move || rendered(&url)).await.expect("chromium")
    };
    // Swagger UI: one block per operation, each linking to its tag and operation id.
    let blocks = swagger.matches("class=\"opblock-summary-path\"").count();
    assert_eq!(blocks, operations.len(), "Swagger UI rendered {blocks} of {} operations", operations.len());
    for (tag, id) in tagged_ids(&spec) {
        assert!(swagger.contains(&format!("href=\"#/{tag}/{id}\"")), "Swagger UI lacks {tag}/{id}");
    }
    assert!(!swagger.contains("Failed to load API definition"), "Swagger UI could not read the document");

    let redoc = {
        let url = app.url("/api/redoc/");
        tokio::task::spawn_blocking(move || rendered(&url)).await.expect("chromium")
    };
    // ReDoc: a section per operation, named by its tag and operation id.
    for (tag, id) in tagged_ids(&spec) {
        assert!(redoc.contains(&format!("tag/{tag}/operation/{id}")), "ReDoc lacks {tag}/{id}");
    }
}

/// `(tag, operationId)` of every operation of the document.
fn tagged_ids(spec: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for item in spec["paths"].as_object().expect("paths").values() {
        for method in METHODS {
            if let Some(op) = item.get(*method) {
                let id = op["operationId"].as_str().expect("operationId");
                found.push((op["tags"][0].as_str().expect("tag").to_owned(), id.to_owned()));
            }
        }
    }
    found
}

/// The request bodies of `000-api-endpoints-analysis.txt` are accepted as written — with this
/// API's UUIDs where the original's examples have integers (the README's "differences from the
/// original API").
#[tokio::test]
async fn the_original_example_bodies_are_accepted_as_written() {
    let app = spawn_app().await;
    let ok = |answer: &api_tests::Answer, what: &str| {
        assert!(answer.status < 300, "{what}: {} {}", answer.status, answer.body);
        answer.data().clone()
    };
    let ids = |records: &Value| -> Vec<Value> {
        records.as_array().expect("a list").iter().map(|r| r["id"].clone()).collect()
    };

    // Auth: register, login, change-password.
    let email = "examples@contract.example";
    let body = json!({"email": email, "password": "password123", "password_confirm": "password123"});
    ok(&app.post("/api/v1/auth/register/", &body, None).await, "register");
    let login = app.post("/api/v1/auth/login/", &json!({"email": email, "password": "password123"}), None).await;
    let token = ok(&login, "login")["access"].as_str().expect("access").to_owned();
    let body =
        json!({"old_password": "password123", "new_password": "newpass123", "new_password_confirm": "newpass123"});
    ok(&app.post("/api/v1/auth/change-password/", &body, Some(&token)).await, "change-password");

    // Planner and writer, in the order a user goes.
    let t = app.tenant("examples-owner@contract.example", "growth").await;
    let tok = Some(t.token.as_str());
    let seeds = app.get("/api/v1/auth/seed-keywords/?industry_id=healthcare&page_size=3", tok).await;
    let seed_ids = ids(&seeds.body["results"]);
    let body = json!({"seed_keyword_ids": seed_ids, "site_id": t.site, "sector_id": t.sector});
    let added = ok(&app.post("/api/v1/planner/keywords/bulk_add_from_seed/", &body, tok).await, "bulk_add_from_seed");
    let keywords = ids(&added["keywords"]);
    assert_eq!(keywords.len(), 3);
    let body = json!({"ids": keywords, "status": "active"});
    let updated = ok(&app.post("/api/v1/planner/keywords/bulk_update_status/", &body, tok).await, "bulk_update_status");
    assert!(updated["updated_count"].is_u64(), "{updated}");
    let job =
        app.post("/api/v1/planner/keywords/auto_cluster/", &json!({"ids": keywords, "sector_id": t.sector}), tok).await;
    assert_eq!(job.status, 200, "auto_cluster: {}", job.body);
    assert_eq!(app.settled(&t.token, job.body["task_id"].as_str().expect("task_id")).await["state"], json!("SUCCESS"));
    let clusters = ids(&app.get("/api/v1/planner/clusters/", tok).await.body["results"]);
    let job = app.post("/api/v1/planner/clusters/auto_generate_ideas/", &json!({"ids": [clusters[0]]}), tok).await;
    assert_eq!(app.settled(&t.token, job.body["task_id"].as_str().expect("task_id")).await["state"], json!("SUCCESS"));
    let ideas = ids(&app.get("/api/v1/planner/ideas/", tok).await.body["results"]);
    let queued = ok(
        &app.post("/api/v1/planner/ideas/bulk_queue_to_writer/", &json!({"ids": ideas}), tok).await,
        "bulk_queue_to_writer",
    );
    assert_eq!(queued["tasks_created"], json!(ideas.len()));
    let tasks = ids(&queued["tasks"]);
    let job = app.post("/api/v1/writer/tasks/auto_generate_content/", &json!({"ids": tasks}), tok).await;
    assert_eq!(app.settled(&t.token, job.body["task_id"].as_str().expect("task_id")).await["state"], json!("SUCCESS"));
    let updated = ok(
        &app.post("/api/v1/writer/tasks/bulk_update/", &json!({"ids": tasks, "status": "review"}), tok).await,
        "tasks bulk_update",
    );
    assert_eq!(updated["updated_count"], json!(tasks.len()));
    let contents = ids(&app.get("/api/v1/writer/content/", tok).await.body["results"]);
    let job = app.post("/api/v1/writer/content/generate_image_prompts/", &json!({"ids": [contents[0]]}), tok).await;
    assert_eq!(app.settled(&t.token, job.body["task_id"].as_str().expect("task_id")).await["state"], json!("SUCCESS"));
    let listed =
        app.get(&format!("/api/v1/writer/images/?content_id={}", contents[0].as_str().unwrap_or_default()), tok).await;
    let images = ids(&listed.body["results"]);
    assert!(!images.is_empty(), "{}", listed.body);
    let job = app.post("/api/v1/writer/images/generate_images/", &json!({"ids": [images[0]]}), tok).await;
    assert_eq!(app.settled(&t.token, job.body["task_id"].as_str().expect("task_id")).await["state"], json!("SUCCESS"));
    let body = json!({"ids": images, "status": "completed"});
    ok(&app.post("/api/v1/writer/images/bulk_update/", &body, tok).await, "images bulk_update by ids");
    let body = json!({"content_id": contents[0], "status": "completed"});
    let updated =
        ok(&app.post("/api/v1/writer/images/bulk_update/", &body, tok).await, "images bulk_update by content");
    assert_eq!(updated["updated_count"], json!(images.len()));

    // System: prompts and the provider settings.
    let body = json!({"prompt_type": "auto_cluster", "prompt_value": "Group these keywords: [IGNY8_KEYWORDS]"});
    ok(&app.post("/api/v1/system/prompts/save/", &body, tok).await, "prompts save");
    ok(&app.post("/api/v1/system/prompts/reset/", &json!({"prompt_type": "auto_cluster"}), tok).await, "prompts reset");
    // (The test and the test image first: saved settings with a key and no `base_url` call the real provider.)
    ok(
        &app.post("/api/v1/system/settings/integrations/openai/test/", &json!({"provider": "openai"}), tok).await,
        "integrations test",
    );
    let body = json!({"prompt": "A dental clinic", "provider": "openai", "model": "dall-e-3"});
    ok(
        &app.post("/api/v1/system/settings/integrations/image_generation/generate/", &body, tok).await,
        "integrations generate",
    );

    let body = json!({"config": {"apiKey": "sk-example-key-1234", "model": "gpt-4"}, "is_active": true});
    let saved =
        ok(&app.post("/api/v1/system/settings/integrations/openai/save/", &body, tok).await, "integrations save");
    assert_eq!(saved["api_key_set"], json!(true), "the key inside config is kept as the key: {saved}");
    assert!(saved["config"].get("apiKey").is_none(), "and not as a setting: {saved}");
    assert!(!saved.to_string().contains("sk-example-key-1234"), "the key is never answered");

    // And the bulk deletes.
    for (path, records) in [
        ("/api/v1/writer/tasks/bulk_delete/", &tasks),
        ("/api/v1/planner/ideas/bulk_delete/", &ideas),
        ("/api/v1/planner/clusters/bulk_delete/", &clusters),
        ("/api/v1/planner/keywords/bulk_delete/", &keywords),
    ] {
        let deleted = ok(&app.post(path, &json!({"ids": records}), tok).await, path);
        assert_eq!(deleted["deleted_count"], json!(records.len()), "{path}");
    }
}

/// `docs/field-limits.md` and the document agree: every limit of the table is the `maxLength` of
/// its field in the route's body schema, and every `maxLength` of a body's text field is in the
/// table (so that the hardening sweep sends it one character too many).
fn collect_text_fields(schemas: &Value, schema: &Value, name: &str, found: &mut BTreeMap<String, u64>) {
    let schema = match schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(reference) => &schemas[reference],
        None => schema,
    };
    let schema = schema.get("oneOf").map(|options| &options[0]).unwrap_or(schema);
    if let Some(max) = schema["maxLength"].as_u64() {
        found.insert(name.to_owned(), max);
    }
    if schema.get("items").is_some() {
        collect_text_fields(schemas, &schema["items"], &format!("{name}[]"), found);
    }
    for (inner, field) in schema["properties"].as_object().into_iter().flatten() {
        let path = match name {
            "" => inner.clone(),
            n if n.ends_with("[]") => format!("{n}.{inner}"),
            n => format!("{n}.{inner}"),
        };
        collect_text_fields(schemas, field, &path, found);
    }
}

#[tokio::test]
async fn the_field_limits_table_is_the_documents() {
    let app = spawn_app().await;
    let spec = app.send(app.client.get(app.url("/api/schema/"))).await.body;
    let schemas = &spec["components"]["schemas"];
    // The text fields of one body, by the table's names (`a.b`, `a[]`, `a[].b`), with their maxLength.
    let text_fields = |body: &Value| -> BTreeMap<String, u64> {
        let mut found = BTreeMap::new();
        collect_text_fields(schemas, body, "", &mut found);
        found
    };
    let (limits, _) = api_tests::field_limits::table();
    let mut documented: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in METHODS {
            let Some(body) = item.get(*method).and_then(|op| op["requestBody"]["content"].get("application/json"))
            else {
                continue;
            };
            for (field, max) in text_fields(&body["schema"]) {
                documented.insert((path.clone(), method.to_uppercase(), field), max);
            }
        }
    }
    let mut tabled: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for limit in &limits {
        for method in &limit.methods {
            tabled.insert((limit.route.clone(), method.clone(), limit.field.clone()), limit.max as u64);
        }
    }
    let line = |((route, method, field), max): (&(String, String, String), &u64)| {
        format!("| {route} | {method} | {field} | {max} |")
    };
    let differ: Vec<_> = tabled.iter().filter(|(k, max)| documented.get(*k) != Some(max)).map(line).collect();
    assert!(differ.is_empty(), "rows of docs/field-limits.md the document states otherwise:\n{}", differ.join("\n"));
    let untabled: Vec<_> = documented.iter().filter(|(k, _)| !tabled.contains_key(*k)).map(line).collect();
    assert!(untabled.is_empty(), "text fields missing from docs/field-limits.md:\n{}", untabled.join("\n"));
}
