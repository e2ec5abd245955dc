//! The rules behind the black-box review's defects, each swept over everything it covers:
//! - outbound requests to user-set URLs: every provider URL setting × internal addresses, at save
//!   time and at call time (jobs and connection tests), in a deployment and in a local one;
//! - self-registration is on the free plan;
//! - every text field of every write route at its documented maximum + 1 (`docs/field-limits.md`);
//! - no answer of any GET route carries a storage key, and no pagination link follows `Host`;
//! - payment methods hold no card-number-like digits;
//! - a deleted user's refresh token is a 401;
//! - a body over the limit is a 413 in the envelope.

use std::collections::{BTreeSet, HashMap};

use api_tests::{Answer, PASSWORD, RELAXED_RATES, Tenant, TestApp, spawn_app, spawn_app_configured};
use igny8_domain::Deployment;
use local_stack::template::Template;
use serde_json::{Value, json};

const INTEGRATIONS: &str = "/api/v1/system/settings/integrations";

/// Internal targets, in the spellings the review tried and a few more.
const INTERNAL_URLS: &[&str] = &[
    "http://127.0.0.1:4566/",
    "https://169.254.169.254/latest",
    "https://10.0.0.1/v1",
    "https://[::1]/v1",
    "https://0x7f000001/v1",
    "https://metadata.google.internal/",
    "https://2130706433/v1",
    "https://0177.0.0.1/v1",
    "https://[::ffff:127.0.0.1]/v1",
    "https://172.16.0.1/v1",
    "https://192.168.1.1/v1",
    "https://100.100.100.200/latest",
    "https://[fd00:ec2::254]/latest",
    "https://[fe80::1]/v1",
    "https://0.0.0.0/v1",
    "https://localhost/v1",
    "https://user:pw@api.example.com/v1",
    "file:///etc/passwd",
];

async fn deployed_app() -> TestApp {
    spawn_app_configured(RELAXED_RATES, |config| config.deployment = Deployment::Aws).await
}

fn base_url_errors(answer: &Answer) -> Vec<String> {
    answer.field_errors("config.base_url")
}

#[tokio::test]
async fn every_provider_url_setting_refuses_internal_addresses() {
    let app = deployed_app().await;
    let t = app.tenant("ssrf@hard.example", "free").await;
    let before = app.snapshot().await;
    for kind in ["openai", "runware", "image_generation"] {
        for url in INTERNAL_URLS.iter().chain(&["http://api.openai.com/v1"]) {
            let body = json!({"config": {"base_url": url}});
            for (method, path) in
                [("PUT", format!("{INTEGRATIONS}/{kind}/")), ("POST", format!("{INTEGRATIONS}/{kind}/save/"))]
            {
                let answer = app.call(method, &path, Some(&body), Some(&t.token)).await;
                answer.assert_error(400, "Validation failed");
                let errors = base_url_errors(&answer);
                assert!(errors.iter().any(|e| e.contains("refused")), "{method} {path} {url}: {}", answer.body);
            }
        }
    }
    assert_eq!(app.snapshot().await, before, "no refused setting was stored");
    // A public https URL is accepted.
    let ok = app
        .call(
            "PUT",
            &format!("{INTEGRATIONS}/openai/"),
            Some(&json!({"config": {"base_url": "https://llm.example.com/v1"}})),
            Some(&t.token),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);

    // A local deployment reaches loopback (its provider test server) and nothing else internal.
    let local = spawn_app().await;
    let l = local.tenant("ssrf@local.example", "free").await;
    let loopback = json!({"config": {"base_url": local.provider.base_url()}});
    assert_eq!(
        local.call("PUT", &format!("{INTEGRATIONS}/openai/"), Some(&loopback), Some(&l.token)).await.status,
        200
    );
    for url in ["https://169.254.169.254/latest", "https://10.0.0.1/v1", "https://metadata.google.internal/"] {
        let answer = local
            .call(
                "PUT",
                &format!("{INTEGRATIONS}/runware/"),
                Some(&json!({"config": {"base_url": url}})),
                Some(&l.token),
            )
            .await;
        assert_eq!(answer.status, 400, "{url}: {}", answer.body);
    }
}

/// Puts `base_url` on the account's stored settings directly, as a record saved before the rule
/// or a host whose DNS answer changed would hold it.
async fn poison(app: &TestApp, account_id: &str, kind: &str, base_url: &str) {
    let (pk, sk) = (format!("ACCOUNT#{account_id}"), format!("INTEGRATION#{kind}"));
    app.set_raw(&pk, &sk, "SET config.base_url = :v", &[], base_url).await;
}

#[tokio::test]
async fn a_stored_internal_url_is_refused_when_called_and_nothing_upstream_is_echoed() {
    let app = deployed_app().await;
    let t = app.tenant("calls@hard.example", "starter").await;
    let key = json!({"apiKey": "sk-test-1234567890", "config": {"model": "gpt-4o-mini"}});
    assert_eq!(app.call("PUT", &format!("{INTEGRATIONS}/openai/"), Some(&key), Some(&t.token)).await.status, 200);
    let port = app.provider.base_url().rsplit(':').next().unwrap_or_default().trim_end_matches("/v1").to_owned();
    // Every spelling reaches the provider test server on loopback if the guard lets it through.
    let spellings = [
        format!("http://127.0.0.1:{port}/v1"),
        format!("https://0x7f000001:{port}/v1"),
        format!("https://[::ffff:127.0.0.1]:{port}/v1"),
        format!("https://2130706433:{port}/v1"),
        format!("https://localhost:{port}/v1"),
    ];
    for url in &spellings {
        poison(&app, &t.account_id, "openai", url).await;
        let answer = app.post(&format!("{INTEGRATIONS}/openai/test/"), &json!({}), Some(&t.token)).await;
        assert_eq!(answer.status, 400, "{url}: {}", answer.body);
        let error = answer.body["error"].as_str().unwrap_or_default();
        assert!(error.contains("refused"), "{url}: {error}");
    }
    // An AI job with such a setting fails, refunds, and never calls out.
    let balance = app.credits(&t.account_id).await;
    let kw = app
        .post(
            "/api/v1/planner/keywords/",
            &json!({"sector_id": t.sector, "keyword": "dental implants"}),
            Some(&t.token),
        )
        .await;
    let job = app
        .post(
            "/api/v1/planner/keywords/auto_cluster/",
            &json!({"ids": [kw.data()["id"]], "sector_id": t.sector}),
            Some(&t.token),
        )
        .await;
    assert_eq!(job.status, 200, "{}", job.body);
    let progress = app.settled(&t.token, job.body["task_id"].as_str().unwrap_or_default()).await;
    assert_eq!(progress["state"], json!("FAILURE"), "{progress}");
    assert_eq!(progress["meta"]["error_type"], json!("ProviderUrlRefused"), "{progress}");
    assert_eq!(app.credits(&t.account_id).await, balance, "the reservation came back");
    // A test image through the image settings is refused and refunded as well.
    let image_settings = json!({"config": {"provider": "openai", "model": "dall-e-3"}});
    assert_eq!(
        app.call("PUT", &format!("{INTEGRATIONS}/image_generation/"), Some(&image_settings), Some(&t.token))
            .await
            .status,
        200
    );
    poison(&app, &t.account_id, "image_generation", &spellings[0]).await;
    let image = app
        .post(&format!("{INTEGRATIONS}/image_generation/generate/"), &json!({"prompt": "a tooth"}), Some(&t.token))
        .await;
    assert_eq!(image.status, 400, "{}", image.body);
    assert!(image.body["error"].as_str().unwrap_or_default().contains("refused"), "{}", image.body);
    assert_eq!(app.credits(&t.account_id).await, balance);
    assert!(app.provider.requests().is_empty(), "the provider on loopback was never called");
}

#[tokio::test]
async fn self_registration_is_on_the_free_plan_only() {
    let app = spawn_app().await;
    let before = app.snapshot().await;
    for plan in ["starter", "growth", "agency"] {
        let answer = app
            .post(
                "/api/v1/auth/register/",
                &json!({"email": format!("{plan}@paid.example"), "password": PASSWORD, "plan_id": plan}),
                None,
            )
            .await;
        answer.assert_error(400, "Validation failed");
        assert_eq!(answer.field_errors("plan_id"), [igny8_domain::accounts::PAID_PLAN_AT_REGISTRATION]);
    }
    assert_eq!(app.snapshot().await, before, "a refused registration writes nothing");
    let free = app.register("free@paid.example").await;
    assert_eq!(free.status, 201);
    assert_eq!(free.data()["user"]["account"]["plan"]["id"], json!("free"));
    assert_eq!(free.data()["user"]["account"]["credits"], json!(100));
    // The platform opens an account on a paid plan, with its credits.
    let platform = app.platform_token().await;
    let paid = app
        .post(
            "/api/v1/auth/accounts/",
            &json!({"email": "paid@paid.example", "password": PASSWORD, "plan_id": "agency"}),
            Some(&platform),
        )
        .await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    assert_eq!(paid.data()["plan"]["id"], json!("agency"));
    assert_eq!(paid.data()["credits"], json!(20000));
}

/// A body whose `field` (`a.b` nested, `a[]` a list item) holds `value`.
fn body_with(field: &str, value: &str) -> Value {
    // `list[].rest`: one object in the list, with `rest` in it.
    if let Some((list, rest)) = field.split_once("[].") {
        return json!({ list: [body_with(rest, value)] });
    }
    if let Some(list) = field.strip_suffix("[]") {
        return json!({ list: [value] });
    }
    if let Some((outer, inner)) = field.split_once('.') {
        return json!({ outer: { inner: value } });
    }
    json!({ field: value })
}

/// A value of exactly `len` characters that is otherwise well formed for `field`.
fn value_of(field: &str, len: usize) -> String {
    match field {
        "email" | "billing_email" => format!("{}@example.com", "a".repeat(len.saturating_sub(12))),
        "config.base_url" => format!("https://example.com/{}", "a".repeat(len.saturating_sub(20))),
        "domain" => format!("{}.example", "a".repeat(len.saturating_sub(8))),
        _ => "x".repeat(len),
    }
}

/// Everything the sweeps need: an owner with two of most records, and the platform.
struct World {
    t: Tenant,
    platform: String,
    /// An API key of the tenant's site, for the WordPress plugin's routes.
    plugin_key: String,
    ids: HashMap<&'static str, String>,
}

async fn id_of(answer: Answer) -> String {
    assert!(answer.status == 200 || answer.status == 201, "{}", answer.body);
    answer.data()["id"].as_str().unwrap_or_default().to_owned()
}

async fn world(app: &TestApp) -> World {
    let t = app.tenant("owner@sweep.example", "agency").await;
    let o = Some(t.token.as_str());
    let platform = app.platform_token().await;
    let mut ids: HashMap<&'static str, String> = HashMap::new();
    let (site, sector) = (t.site.clone(), t.sector.clone());
    ids.insert("site", site.clone());
    ids.insert("sector", sector.clone());
    ids.insert("account", t.account_id.clone());
    for (name, value) in [
        ("plan", "starter"),
        ("industry", "healthcare"),
        ("group", "owner"),
        ("integration", "openai"),
        ("package", "credits-500"),
    ] {
        ids.insert(name, value.to_owned());
    }
    let second = id_of(app.post("/api/v1/auth/sites/", &json!({"name": "Second"}), o).await).await;
    id_of(app.post("/api/v1/auth/sectors/", &json!({"site_id": second, "name": "Other"}), o).await).await;
    let editor = id_of(
        app.post(
            "/api/v1/auth/users/",
            &json!({"email": "ed@sweep.example", "password": "editor passphrase", "role": "editor"}),
            o,
        )
        .await,
    )
    .await;
    ids.insert("user", editor.clone());
    let invited = id_of(
        app.post("/api/v1/auth/users/invite/", &json!({"email": "new@sweep.example", "role": "viewer"}), o).await,
    )
    .await;
    ids.insert("invited", invited);
    ids.insert(
        "site_access",
        id_of(app.post("/api/v1/auth/site-access/", &json!({"user_id": editor, "site_id": site}), o).await).await,
    );
    let mut keywords = Vec::new();
    for k in ["dental implants", "teeth whitening"] {
        keywords.push(
            id_of(app.post("/api/v1/planner/keywords/", &json!({"sector_id": sector, "keyword": k}), o).await).await,
        );
    }
    ids.insert("keyword", keywords[0].clone());
    let job =
        app.post("/api/v1/planner/keywords/auto_cluster/", &json!({"ids": keywords, "sector_id": sector}), o).await;
    let task_id = job.body["task_id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(app.settled(&t.token, &task_id).await["state"], json!("SUCCESS"));
    ids.insert("job", task_id);
    for n in 0..2 {
        let s = json!({"sector_id": sector});
        let with = |extra: Value| {
            let mut b = s.clone();
            if let (Some(m), Some(e)) = (b.as_object_mut(), extra.as_object()) {
                m.extend(e.clone());
            }
            b
        };
        ids.insert(
            "cluster",
            id_of(app.post("/api/v1/planner/clusters/", &with(json!({"name": format!("C{n}")})), o).await).await,
        );
        ids.insert(
            "idea",
            id_of(app.post("/api/v1/planner/ideas/", &with(json!({"idea_title": format!("I{n}")})), o).await).await,
        );
        ids.insert(
            "task",
            id_of(app.post("/api/v1/writer/tasks/", &with(json!({"title": format!("T{n}")})), o).await).await,
        );
        ids.insert(
            "content",
            id_of(
                app.post(
                    "/api/v1/writer/content/",
                    &with(json!({"title": format!("A{n}"), "html_content": "<p>Hello world</p>"})),
                    o,
                )
                .await,
            )
            .await,
        );
        ids.insert(
            "image",
            id_of(
                app.post("/api/v1/writer/images/", &with(json!({"image_type": "featured", "prompt": "a tooth"})), o)
                    .await,
            )
            .await,
        );
        ids.insert(
            "taxonomy",
            id_of(
                app.post(
                    "/api/v1/writer/taxonomies/",
                    &json!({"site_id": site, "taxonomy_type": "category", "name": format!("Cat {n}")}),
                    o,
                )
                .await,
            )
            .await,
        );
    }
    let wordpress = json!({"site_id": site, "site_url": "https://wordpress.example", "username": "editor", "app_password": "abcd efgh ijkl mnop"});
    ids.insert("site_integration", id_of(app.post("/api/v1/integration/integrations/", &wordpress, o).await).await);
    // A publish to it, ended (the site is unreachable) before the sweeps take their snapshots.
    let published = app.post("/api/v1/publisher/publish/", &json!({"content_ids": [ids["content"]]}), o).await;
    let record = published.data()[0]["id"].as_str().unwrap_or_default().to_owned();
    for _ in 0..200 {
        let seen = app.get(&format!("/api/v1/publisher/publishing-records/{record}/"), o).await;
        if seen.data()["status"] == "failed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    ids.insert("publishing_record", record);
    // An optimisation of the content, and its task.
    let job = app.post("/api/v1/optimizer/optimize/", &json!({"content_ids": [ids["content"]]}), o).await;
    app.settled(&t.token, job.body["task_id"].as_str().unwrap_or_default()).await;
    let tasks = app.get("/api/v1/optimizer/tasks/", o).await;
    ids.insert("optimization_task", tasks.body["results"][0]["id"].as_str().unwrap_or_default().to_owned());
    let key = json!({"site_id": site, "name": "Plugin"});
    ids.insert("api_key", id_of(app.post("/api/v1/integration/api-keys/", &key, o).await).await);
    let plugin_key =
        app.post("/api/v1/integration/api-keys/", &key, o).await.data()["key"].as_str().unwrap_or_default().to_owned();
    let prompts = app.get("/api/v1/system/prompts/", o).await;
    let prompt_type = prompts.body["results"][0]["prompt_type"].as_str().unwrap_or("clustering").to_owned();
    app.post("/api/v1/system/prompts/", &json!({"prompt_type": prompt_type, "prompt_value": "Group these."}), o).await;
    ids.insert("prompt_type", prompt_type);
    let voice = json!({"name": "Voice", "tone": "warm", "language": "en"});
    ids.insert("author_profile", id_of(app.post("/api/v1/system/author-profiles/", &voice, o).await).await);
    ids.insert("strategy", id_of(app.post("/api/v1/system/strategies/", &json!({"name": "Plan"}), o).await).await);
    let setting = |key: &str| json!({"key": key, "value": {"on": true}});
    let p = Some(platform.as_str());
    for (family, token) in [("system", p), ("account", o), ("user", o), ("ai", o)] {
        let made = app.post(&format!("/api/v1/system/settings/{family}/"), &setting("sweep.key"), token).await;
        assert_eq!(made.status, 201, "{}", made.body);
        ids.insert(
            match family {
                "system" => "system_setting",
                "account" => "account_setting",
                "user" => "user_setting",
                _ => "ai_setting",
            },
            "sweep.key".to_owned(),
        );
    }
    let module_setting = json!({"module_name": "planner", "key": "sweep.key", "value": 1});
    assert_eq!(app.post("/api/v1/system/settings/modules/", &module_setting, o).await.status, 201);
    ids.insert("module_setting", "planner:sweep.key".to_owned());
    ids.insert("module_name", "planner".to_owned());
    let tracked = app
        .send(
            app.client.get(app.url("/api/v1/auth/me/")).bearer_auth(&t.token).header("X-Debug-Resource-Tracking", "1"),
        )
        .await;
    let tracked = tracked.headers.get("x-resource-tracking-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
    ids.insert("request_metrics", tracked.to_owned());
    // A run with every stage off: it ends at once, before the sweeps take their snapshots.
    let off: serde_json::Map<String, Value> =
        igny8_domain::automation::config::STAGES.iter().map(|s| ((*s).to_owned(), json!({"enabled": false}))).collect();
    let config = json!({"site_id": site, "stages": off});
    assert_eq!(app.call("PATCH", "/api/v1/automation/update_config/", Some(&config), o).await.status, 200);
    let run = id_of(app.post("/api/v1/automation/run_now/", &json!({"site_id": site}), o).await).await;
    for _ in 0..200 {
        let current = app.get(&format!("/api/v1/automation/current_run/?site_id={site}"), o).await;
        if current.data()["status"] == "completed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    ids.insert("automation_run", run);
    app.call("PUT", &format!("{INTEGRATIONS}/openai/"), Some(&json!({"config": {"model": "gpt-4o-mini"}})), o).await;
    ids.insert(
        "payment_method",
        id_of(
            app.post("/api/v1/billing/payment-methods/", &json!({"type": "card", "label": "Visa", "last4": "4242"}), o)
                .await,
        )
        .await,
    );
    let invoice = id_of(app.post("/api/v1/billing/credit-packages/credits-500/purchase/", &json!({}), o).await).await;
    ids.insert("invoice", invoice.clone());
    let payment = app
        .post(
            "/api/v1/billing/payments/",
            &json!({"invoice_id": invoice, "method": "bank_transfer", "reference": "REF-1", "amount": "9.00"}),
            o,
        )
        .await;
    ids.insert("payment", id_of(payment).await);
    let first = |answer: Answer| answer.body["results"][0]["id"].as_str().unwrap_or_default().to_owned();
    ids.insert("subscription", first(app.get("/api/v1/auth/subscriptions/", o).await));
    ids.insert("ledger", first(app.get("/api/v1/billing/credits/transactions/", o).await));
    ids.insert("usage", first(app.get("/api/v1/billing/credits/usage/", o).await));
    ids.insert("seed", first(app.get("/api/v1/auth/seed-keywords/?page_size=1", o).await));
    ids.insert("docs_file", "swagger-ui.css".to_owned());
    assert!(ids.values().all(|v| !v.is_empty()), "{ids:?}");
    World { t, platform, plugin_key, ids }
}

/// Which record of the world a route's parameters name, by path prefix (the first match wins).
const RECORDS: &[(&str, &str)] = &[
    ("/api/v1/auth/users/{id}/activate/", "invited"),
    ("/api/v1/auth/users/", "user"),
    ("/api/v1/account/team/", "user"),
    ("/api/v1/auth/accounts/", "account"),
    ("/api/v1/admin/accounts/", "account"),
    ("/api/v1/auth/subscriptions/", "subscription"),
    ("/api/v1/auth/site-access/", "site_access"),
    ("/api/v1/auth/sites/", "site"),
    ("/api/v1/auth/sectors/", "sector"),
    ("/api/v1/auth/plans/", "plan"),
    ("/api/v1/auth/seed-keywords/", "seed"),
    ("/api/v1/auth/industries/", "industry"),
    ("/api/v1/auth/groups/", "group"),
    ("/api/v1/planner/keywords/", "keyword"),
    ("/api/v1/planner/clusters/", "cluster"),
    ("/api/v1/planner/ideas/", "idea"),
    ("/api/v1/writer/tasks/", "task"),
    ("/api/v1/writer/content/", "content"),
    ("/api/v1/writer/images/", "image"),
    ("/api/v1/writer/taxonomies/", "taxonomy"),
    ("/api/v1/system/settings/task_progress/", "job"),
    ("/api/v1/system/settings/integrations/", "integration"),
    ("/api/v1/integration/integrations/", "site_integration"),
    ("/api/v1/integration/api-keys/", "api_key"),
    ("/api/v1/publisher/publishing-records/", "publishing_record"),
    ("/api/v1/optimizer/tasks/", "optimization_task"),
    ("/api/v1/system/prompts/", "prompt_type"),
    ("/api/v1/system/author-profiles/", "author_profile"),
    ("/api/v1/system/strategies/", "strategy"),
    ("/api/v1/system/settings/system/", "system_setting"),
    ("/api/v1/system/settings/account/", "account_setting"),
    ("/api/v1/system/settings/user/", "user_setting"),
    ("/api/v1/system/settings/ai/", "ai_setting"),
    ("/api/v1/system/settings/modules/module/", "module_name"),
    ("/api/v1/system/settings/modules/", "module_setting"),
    ("/api/v1/system/request-metrics/", "request_metrics"),
    ("/api/v1/billing/credit-packages/", "package"),
    ("/api/v1/billing/credits/usage/", "usage"),
    ("/api/v1/billing/credits/transactions/", "ledger"),
    ("/api/v1/billing/transactions/", "ledger"),
    ("/api/v1/billing/invoices/", "invoice"),
    ("/api/v1/billing/payment-methods/", "payment_method"),
    ("/api/v1/admin/payments/", "payment"),
    ("/api/docs/", "docs_file"),
];

/// The concrete path of a template route in `w`, and whether the platform calls it.
fn concrete(w: &World, route: &str) -> (String, bool) {
    let id = |name: &str| w.ids.get(name).cloned().unwrap_or_default();
    let record = RECORDS.iter().find(|(prefix, _)| route.starts_with(prefix)).map(|(_, name)| id(name));
    let mut path = route.to_owned();
    for param in ["{id}", "{pk}", "{task_id}", "{prompt_type}", "{file}", "{module_name}", "{request_id}"] {
        path = path.replace(param, record.as_deref().unwrap_or("{missing}"));
    }
    path = path.replace("{account_id}", &id("account"));
    assert!(!path.contains('{'), "no record for the parameters of {route}");
    // The platform's own: the billing desk, accounts, the platform's settings, request metrics.
    let platform = route.starts_with("/api/v1/admin/")
        || route == "/api/v1/auth/accounts/"
        || route.starts_with("/api/v1/system/settings/system/")
        || route.starts_with("/api/v1/system/request-metrics/");
    (path, platform)
}

fn write_routes(template: &Template) -> BTreeSet<(String, String)> {
    template
        .routes
        .iter()
        .filter(|r| ["POST", "PUT", "PATCH"].contains(&r.method.as_str()))
        .map(|r| (r.path.clone(), r.method.clone()))
        .collect()
}

#[tokio::test]
async fn every_text_field_at_its_maximum_plus_one_is_refused_and_at_its_maximum_accepted() {
    let (limits, no_text) = api_tests::field_limits::table();
    // The document covers every write route of the template, and names no route it lacks.
    let template = Template::load_default().expect("template.yaml");
    let routes = write_routes(&template);
    let mut documented: BTreeSet<(String, String)> = BTreeSet::new();
    for l in &limits {
        documented.extend(l.methods.iter().map(|m| (l.route.clone(), m.clone())));
    }
    for (route, methods) in &no_text {
        documented.extend(methods.iter().map(|m| (route.clone(), m.clone())));
    }
    let missing: Vec<_> = routes.difference(&documented).collect();
    assert!(missing.is_empty(), "write routes without documented limits: {missing:?}");
    let unknown: Vec<_> = documented.difference(&routes).collect();
    assert!(unknown.is_empty(), "documented routes the template lacks: {unknown:?}");

    let app = spawn_app().await;
    let w = world(&app).await;
    let before = app.snapshot().await;
    for limit in &limits {
        let (path, platform) = concrete(&w, &limit.route);
        // Subscriptions are written by the platform, naming the account.
        let subscription = limit.route.starts_with("/api/v1/auth/subscriptions/");
        let keyed = template.routes.iter().any(|r| r.path == limit.route && r.authorizer.is_some());
        let token = if platform || subscription {
            w.platform.clone()
        } else if keyed {
            w.plugin_key.clone()
        } else {
            w.t.token.clone()
        };
        let path = if subscription { format!("{path}?account_id={}", w.t.account_id) } else { path };
        let body = body_with(&limit.field, &value_of(&limit.field, limit.max + 1));
        for method in &limit.methods {
            let answer = app.call(method, &path, Some(&body), Some(&token)).await;
            // A field inside a list's objects is the list's error.
            let field = limit.field.split("[]").next().unwrap_or_default();
            assert_eq!(answer.status, 400, "{method} {path} {field} at {} chars: {}", limit.max + 1, answer.body);
            assert!(!answer.field_errors(field).is_empty(), "{method} {path}: no error on {field}: {}", answer.body);
        }
    }
    assert_eq!(app.snapshot().await, before, "no refused write changed anything");

    // At its maximum, a text an owner edits is kept whole.
    let plain = [
        "name",
        "description",
        "title",
        "idea_title",
        "username",
        "first_name",
        "last_name",
        "meta_title",
        "meta_description",
        "primary_keyword",
        "keyword",
        "prompt",
        "prompt_value",
        "slug",
        "html_content",
        "target_keywords[]",
        "keywords[]",
    ];
    for limit in limits.iter().filter(|l| l.route.ends_with("{id}/") && plain.contains(&l.field.as_str())) {
        let (path, platform) = concrete(&w, &limit.route);
        let value = value_of(&limit.field, limit.max);
        let token = if platform { &w.platform } else { &w.t.token };
        let answer = app.call("PATCH", &path, Some(&body_with(&limit.field, &value)), Some(token)).await;
        assert_eq!(answer.status, 200, "PATCH {path} {} at {} chars: {}", limit.field, limit.max, answer.body);
    }
}

/// Object keys of storage, and values shaped like a storage key (`ACCOUNT#...`).
fn storage_leaks(value: &Value, at: &str, found: &mut Vec<String>) {
    const KEYS: &[&str] = &["PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "entity", "expires_at"];
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if KEYS.contains(&k.as_str()) {
                    found.push(format!("{at}.{k}"));
                }
                storage_leaks(v, &format!("{at}.{k}"), found);
            }
        }
        Value::Array(items) => {
            items.iter().enumerate().for_each(|(i, v)| storage_leaks(v, &format!("{at}[{i}]"), found))
        }
        Value::String(s) => {
            let head: String = s.chars().take_while(|c| *c != '#').collect();
            if s.contains('#') && head.len() >= 3 && head.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                found.push(format!("{at} = {s}"));
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn no_get_route_answers_a_storage_key_and_links_never_follow_the_host_header() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let template = Template::load_default().expect("template.yaml");
    let mut with_links = 0;
    let mut lists = 0;
    let gets: Vec<_> = template.routes.iter().filter(|r| r.method == "GET").collect();
    assert!(gets.len() > 50, "the sweep sees the template's GET routes");
    for route in gets {
        let (path, platform) = concrete(&w, &route.path);
        let token = match (platform, route.authorizer.is_some()) {
            (true, _) => w.platform.clone(),
            (false, true) => w.plugin_key.clone(),
            (false, false) => w.t.token.clone(),
        };
        // Two pages where there are two records, so that links are made.
        let extra = match route.path.as_str() {
            "/api/v1/writer/images/content_images/" => format!("&content_id={}", w.ids["content"]),
            "/api/v1/linker/graph/"
            | "/api/v1/automation/config/"
            | "/api/v1/automation/current_run/"
            | "/api/v1/automation/history/"
            | "/api/v1/automation/pipeline_overview/"
            | "/api/v1/automation/estimate/"
            | "/api/v1/automation/current_processing/" => format!("&site_id={}", w.ids["site"]),
            "/api/v1/automation/logs/" => format!("&run_id={}", w.ids["automation_run"]),
            _ => String::new(),
        };
        let url = format!("{}{path}?page_size=1{extra}", app.base);
        let request = app
            .client
            .get(&url)
            .bearer_auth(&token)
            .header("host", "evil.example")
            .header("x-forwarded-proto", "gopher")
            .header("x-forwarded-host", "evil.example");
        let answer = app.send(request).await;
        assert!(answer.status < 500, "GET {path}: {}", answer.status);
        if answer.body.is_null() {
            continue; // a download (PDF, CSV)
        }
        // An image without a file yet has no file to point at: 404 in the envelope.
        let expected = if route.path.ends_with("/images/{id}/file/") { 404 } else { 200 };
        assert_eq!(answer.status, expected, "GET {path}: {}", answer.body);
        let mut leaks = Vec::new();
        storage_leaks(&answer.body, "", &mut leaks);
        assert!(leaks.is_empty(), "GET {path} answers storage keys: {leaks:?}");
        if answer.body.get("results").is_some() {
            lists += 1;
            for link in ["next", "previous"] {
                if let Some(href) = answer.body[link].as_str() {
                    with_links += 1;
                    assert!(!href.contains("evil.example") && !href.contains("gopher"), "GET {path}: {href}");
                    assert!(href.starts_with(&format!("{}{path}?", app.base)), "GET {path}: {link} is {href}");
                    let followed = app.get(href.trim_start_matches(&app.base), Some(&token)).await;
                    assert_eq!(followed.status, 200, "{href} can be followed as given");
                }
            }
        }
    }
    assert!(lists >= 25, "{lists} lists answered");
    assert!(with_links >= 15, "only {with_links} lists made links: the sweep must see links");
}

#[tokio::test]
async fn payment_methods_never_hold_a_card_number() {
    let app = spawn_app().await;
    let t = app.tenant("cards@hard.example", "free").await;
    let before = app.snapshot().await;
    for body in [
        json!({"type": "card", "label": "Visa 4111 1111 1111 1111"}),
        json!({"type": "card", "label": "Visa 4111-1111-1111-1111"}),
        json!({"type": "bank_transfer", "label": "Account 123456789012"}),
        json!({"type": "card", "label": "Visa", "note": "4111111111111111"}),
    ] {
        let answer = app.post("/api/v1/billing/payment-methods/", &body, Some(&t.token)).await;
        answer.assert_error(400, "Validation failed");
        assert!(answer.body.to_string().contains("only the last 4 digits"), "{}", answer.body);
        assert!(!answer.body.to_string().contains("4111 1111"), "the number is not echoed");
    }
    assert_eq!(app.snapshot().await, before);
    let ok = app
        .post(
            "/api/v1/billing/payment-methods/",
            &json!({"type": "card", "label": "Visa", "last4": "1111"}),
            Some(&t.token),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.body);
}

#[tokio::test]
async fn a_deleted_users_refresh_token_is_a_401() {
    let app = spawn_app().await;
    let t = app.tenant("boss@refresh.example", "starter").await;
    app.post(
        "/api/v1/auth/users/",
        &json!({"email": "gone@refresh.example", "password": "member passphrase", "role": "editor"}),
        Some(&t.token),
    )
    .await;
    let login = app.login("gone@refresh.example", "member passphrase").await;
    let refresh = login.data()["refresh"].as_str().unwrap_or_default().to_owned();
    let id = login.data()["user"]["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(app.call("DELETE", &format!("/api/v1/auth/users/{id}/"), None, Some(&t.token)).await.status, 204);
    let answer = app.post("/api/v1/auth/refresh/", &json!({"refresh": refresh}), None).await;
    answer.assert_error(401, "Invalid or expired refresh token");
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_in_the_envelope() {
    let app = spawn_app().await;
    let t = app.tenant("big@hard.example", "free").await;
    let before = app.snapshot().await;
    let big = json!({"description": "x".repeat(igny8_domain::http::MAX_BODY_BYTES)});
    let answer = app.call("PATCH", &format!("/api/v1/auth/sites/{}/", t.site), Some(&big), Some(&t.token)).await;
    answer.assert_error(413, "Request body too large");
    // The review's 450,000 characters fit the body limit and are refused on the field.
    let long = json!({"description": "x".repeat(450_000)});
    let answer = app.call("PATCH", &format!("/api/v1/auth/sites/{}/", t.site), Some(&long), Some(&t.token)).await;
    answer.assert_error(400, "Validation failed");
    assert!(!answer.field_errors("description").is_empty());
    // Over what a Lambda invocation takes, the gateway answers the same envelope.
    let huge = "x".repeat(7 * 1024 * 1024);
    let request = app.client.post(app.url("/api/v1/auth/login/")).header("content-type", "application/json").body(huge);
    app.send(request).await.assert_error(413, "Request body too large");
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn a_job_whose_output_outgrows_an_item_keeps_every_article() {
    let app = spawn_app().await;
    let t = app.tenant("long@hard.example", "agency").await;
    let mut tasks = Vec::new();
    for n in 0..4 {
        let task = app
            .post(
                "/api/v1/writer/tasks/",
                &json!({"sector_id": t.sector, "title": format!("Guide {n}")}),
                Some(&t.token),
            )
            .await;
        tasks.push(id_of(task).await);
    }
    // Four articles of ~150 KB: together far more than one DynamoDB item holds.
    let article = format!("<p>{}</p>", "teeth ".repeat(25_000));
    app.provider.script((0..4).map(|n| {
        provider_test_server::Step::Reply(
            json!({"title": format!("Guide {n}"), "meta_title": "m", "meta_description": "d", "content_html": article}),
        )
    }));
    let job = app
        .post(
            "/api/v1/writer/tasks/auto_generate_content/",
            &json!({"ids": tasks, "sector_id": t.sector}),
            Some(&t.token),
        )
        .await;
    assert_eq!(job.status, 200, "{}", job.body);
    let task_id = job.body["task_id"].as_str().unwrap_or_default().to_owned();
    let done = app.settled(&t.token, &task_id).await;
    assert_eq!(done["state"], json!("SUCCESS"), "{done}");
    let contents =
        app.get(&format!("/api/v1/writer/content/?sector_id={}&page_size=10", t.sector), Some(&t.token)).await;
    assert_eq!(contents.body["count"], json!(4), "{}", contents.body["count"]);
    for c in contents.body["results"].as_array().into_iter().flatten() {
        let one =
            app.get(&format!("/api/v1/writer/content/{}/", c["id"].as_str().unwrap_or_default()), Some(&t.token)).await;
        assert_eq!(one.data()["word_count"], json!(25_000), "every article whole");
    }
    let parts = app.partitions(&[format!("ACCOUNT#{}", t.account_id)]).await;
    let pieces = parts
        .iter()
        .filter(|i| {
            i.get("SK").and_then(|v| v.as_s().ok()).is_some_and(|sk| sk.starts_with(&format!("JOBOUT#{task_id}#")))
        })
        .count();
    assert!(pieces >= 2, "the output went to {pieces} part items");
}
