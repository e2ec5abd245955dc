//! The permission matrix: two accounts, each with an owner, an admin, an editor (granted one
//! site) and a viewer, call every tenancy endpoint as each role. Allowed calls succeed, the rest
//! answer 401/403/404 as specified, no answer to one account carries an id of the other, and no
//! refused call (nor any call by the other account) changes the data.

use api_tests::{Answer, RELAXED_RATES, TestApp, spawn_app, spawn_app_configured};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anon,
    Viewer,
    Editor,
    /// The owner of the other account, aiming at this account's records.
    Other,
    Admin,
    Owner,
}

const CALLERS: [Who; 6] = [Who::Anon, Who::Viewer, Who::Editor, Who::Other, Who::Admin, Who::Owner];

#[derive(Debug, Clone)]
struct Member {
    id: String,
    token: String,
}

#[derive(Debug, Clone)]
struct Tenant {
    account: String,
    owner: Member,
    admin: Member,
    editor: Member,
    viewer: Member,
    site1: String,
    site2: String,
    sector1: String,
    sector2: String,
    grant: String,
    subscription: String,
    invited: String,
    /// Planner, writer and billing records by placeholder name (`keyword1` in sector1, which the
    /// editor and viewer are granted; `keyword2` in sector2, which they are not; ...).
    records: std::collections::HashMap<&'static str, String>,
    /// Every id and email of this tenant, for the leak check.
    secrets: Vec<String>,
}

async fn member(app: &TestApp, owner_token: &str, email: &str, role: &str) -> Member {
    let created = app
        .post(
            "/api/v1/auth/users/",
            &json!({"email": email, "password": "member passphrase", "role": role}),
            Some(owner_token),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let login = app.login(email, "member passphrase").await;
    Member { id: created.data()["id"].as_str().unwrap().into(), token: login.data()["access"].as_str().unwrap().into() }
}

async fn created_id(answer: Answer) -> String {
    assert!(answer.status == 201 || answer.status == 200, "{}", answer.body);
    answer.data()["id"].as_str().unwrap().to_owned()
}

async fn tenant(app: &TestApp, tag: &str) -> Tenant {
    let owner_email = format!("owner@{tag}.example");
    let registered =
        app.register_on_plan(json!({"email": owner_email, "password": api_tests::PASSWORD, "plan_id": "agency"})).await;
    assert_eq!(registered.status, 201);
    let account = registered.data()["user"]["account"]["id"].as_str().unwrap().to_owned();
    let login = app.login(&owner_email, api_tests::PASSWORD).await;
    let owner = Member {
        id: login.data()["user"]["id"].as_str().unwrap().into(),
        token: login.data()["access"].as_str().unwrap().into(),
    };
    let t = owner.token.clone();
    let admin = member(app, &t, &format!("admin@{tag}.example"), "admin").await;
    let editor = member(app, &t, &format!("editor@{tag}.example"), "editor").await;
    let viewer = member(app, &t, &format!("viewer@{tag}.example"), "viewer").await;
    let site = |name: &str| json!({"name": name, "industry_id": "healthcare"});
    let site1 = created_id(app.post("/api/v1/auth/sites/", &site(&format!("{tag} one")), Some(&t)).await).await;
    let site2 = created_id(app.post("/api/v1/auth/sites/", &site(&format!("{tag} two")), Some(&t)).await).await;
    let sector =
        |site: &str| json!({"site_id": site, "name": "Dental", "industry_sector_id": "healthcare--dental-care"});
    let sector1 = created_id(app.post("/api/v1/auth/sectors/", &sector(&site1), Some(&t)).await).await;
    let sector2 = created_id(app.post("/api/v1/auth/sectors/", &sector(&site2), Some(&t)).await).await;
    let grant = created_id(
        app.post("/api/v1/auth/site-access/", &json!({"user_id": editor.id, "site_id": site1}), Some(&t)).await,
    )
    .await;
    created_id(app.post("/api/v1/auth/site-access/", &json!({"user_id": viewer.id, "site_id": site1}), Some(&t)).await)
        .await;
    let invited = created_id(
        app.post(
            "/api/v1/auth/users/invite/",
            &json!({"email": format!("invited@{tag}.example"), "role": "viewer"}),
            Some(&t),
        )
        .await,
    )
    .await;
    let subs = app.get("/api/v1/auth/subscriptions/", Some(&t)).await;
    let subscription = subs.body["results"][0]["id"].as_str().unwrap().to_owned();
    let mut records = std::collections::HashMap::new();
    let post = |path: &'static str, body: Value| {
        let t = t.clone();
        async move { created_id(app.post(&format!("/api/v1/{path}"), &body, Some(&t)).await).await }
    };
    records.insert(
        "keyword1",
        post("planner/keywords/", json!({"keyword": format!("{tag} implants"), "sector_id": sector1})).await,
    );
    records.insert(
        "keyword2",
        post("planner/keywords/", json!({"keyword": format!("{tag} braces"), "sector_id": sector2})).await,
    );
    records.insert(
        "cluster1",
        post("planner/clusters/", json!({"name": format!("{tag} cluster"), "sector_id": sector1})).await,
    );
    records.insert(
        "idea1",
        post("planner/ideas/", json!({"idea_title": format!("{tag} idea"), "sector_id": sector1})).await,
    );
    records.insert("task1", post("writer/tasks/", json!({"title": format!("{tag} task"), "sector_id": sector1})).await);
    records.insert(
        "content1",
        post("writer/content/", json!({"title": "c", "html_content": "<p>x</p>", "sector_id": sector1})).await,
    );
    records.insert("image1", post("writer/images/", json!({"image_type": "featured", "sector_id": sector1})).await);
    records.insert(
        "taxonomy1",
        post("writer/taxonomies/", json!({"site_id": site1, "taxonomy_type": "tag", "name": format!("{tag} tag")}))
            .await,
    );
    records.insert("invoice", post("billing/credit-packages/credits-500/purchase/", json!({})).await);
    // WordPress integrations of the granted site and of the other one, at an address that answers
    // nothing (a connection test is then a quick 400).
    for (name, site) in [("integration1", &site1), ("integration2", &site2), ("integration3", &site1)] {
        let wordpress = json!({"site_id": site, "site_url": closed_site(), "username": "editor", "app_password": "abcd efgh ijkl mnop"});
        records.insert(name, post("integration/integrations/", wordpress).await);
    }
    // A publish of content1 to integration1: its record (the matrix's app parks the publish queue,
    // so that no worker changes the account while the matrix compares it).
    let published = app
        .send(
            app.client
                .post(app.url("/api/v1/publisher/publish/"))
                .bearer_auth(&owner.token)
                .json(&json!({"content_ids": [records["content1"]], "destinations": [records["integration1"]]})),
        )
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
    records.insert("record1", published.data()[0]["id"].as_str().unwrap_or_default().to_owned());
    records.insert(
        "apikey1",
        post("integration/api-keys/", json!({"site_id": site1, "name": format!("{tag} plugin")})).await,
    );
    let voice = json!({"name": format!("{tag} voice"), "tone": "warm", "language": "en"});
    records.insert("profile1", post("system/author-profiles/", voice).await);
    records.insert("strategy1", post("system/strategies/", json!({"name": format!("{tag} plan")})).await);
    for (name, family) in [("setting1", "account"), ("ai1", "ai"), ("user_setting1", "user")] {
        let path = format!("/api/v1/system/settings/{family}/");
        let made = app.post(&path, &json!({"key": format!("{tag}.key"), "value": 1}), Some(&t)).await;
        records.insert(name, created_id(made).await);
    }
    // A run of site1, left queued (the matrix's app parks the automation queue).
    records.insert("run1", post("automation/run_now/", json!({"site_id": site1})).await);
    let module = json!({"module_name": "planner", "key": format!("{tag}.key"), "value": 1});
    records.insert("module1", post("system/settings/modules/", module).await);
    let platform = app.platform_token().await;
    let notice = json!({"key": format!("{tag}.notice"), "value": "hello"});
    records.insert(
        "system1",
        created_id(app.post("/api/v1/system/settings/system/", &notice, Some(&platform)).await).await,
    );
    let mut secrets = vec![
        account.clone(),
        owner.id.clone(),
        admin.id.clone(),
        editor.id.clone(),
        viewer.id.clone(),
        site1.clone(),
        site2.clone(),
        sector1.clone(),
        sector2.clone(),
        grant.clone(),
        subscription.clone(),
        invited.clone(),
        format!("@{tag}.example"),
    ];
    // The platform's settings are every account's to read: not a secret of either.
    secrets.extend(records.iter().filter(|(name, _)| **name != "system1").map(|(_, id)| id.clone()));
    Tenant {
        account,
        owner,
        admin,
        editor,
        viewer,
        site1,
        site2,
        sector1,
        sector2,
        grant,
        subscription,
        invited,
        records,
        secrets,
    }
}

struct World {
    app: TestApp,
    a: Tenant,
    b: Tenant,
    counter: std::sync::atomic::AtomicUsize,
}

impl World {
    fn token(&self, who: Who) -> Option<&str> {
        match who {
            Who::Anon => None,
            Who::Viewer => Some(&self.a.viewer.token),
            Who::Editor => Some(&self.a.editor.token),
            Who::Other => Some(&self.b.owner.token),
            Who::Admin => Some(&self.a.admin.token),
            Who::Owner => Some(&self.a.owner.token),
        }
    }

    fn unique(&self) -> usize {
        self.counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    }

    /// Creates a throwaway record of account A for a destructive call; returns its id.
    async fn fresh(&self, kind: &str) -> String {
        let t = Some(self.a.owner.token.as_str());
        let n = self.unique();
        let answer = match kind {
            "user" => self
                .app
                .post(
                    "/api/v1/auth/users/",
                    &json!({"email": format!("fresh{n}@a.example"), "password": "member passphrase", "role": "viewer"}),
                    t,
                )
                .await,
            "site" => self.app.post("/api/v1/auth/sites/", &json!({"name": format!("fresh {n}")}), t).await,
            "sector" => {
                self.app
                    .post(
                        "/api/v1/auth/sectors/",
                        &json!({"site_id": self.a.site1, "name": format!("fresh {n}"), "is_active": false}),
                        t,
                    )
                    .await
            }
            "grant" => {
                let user = Box::pin(self.fresh("user")).await;
                self.app.post("/api/v1/auth/site-access/", &json!({"user_id": user, "site_id": self.a.site2}), t).await
            }
            "keyword" => {
                let body = json!({"keyword": format!("fresh {n}"), "sector_id": self.a.sector1});
                self.app.post("/api/v1/planner/keywords/", &body, t).await
            }
            "task" => {
                let body = json!({"title": format!("fresh {n}"), "sector_id": self.a.sector1});
                self.app.post("/api/v1/writer/tasks/", &body, t).await
            }
            "profile" => {
                let body = json!({"name": format!("fresh {n}"), "tone": "warm", "language": "en"});
                self.app.post("/api/v1/system/author-profiles/", &body, t).await
            }
            "strategy" => self.app.post("/api/v1/system/strategies/", &json!({"name": format!("fresh {n}")}), t).await,
            "account_setting" | "ai_setting" | "user_setting" => {
                let family = kind.trim_end_matches("_setting");
                let body = json!({"key": format!("fresh.{n}"), "value": n});
                self.app.post(&format!("/api/v1/system/settings/{family}/"), &body, t).await
            }
            "module_setting" => {
                let body = json!({"module_name": "writer", "key": format!("fresh.{n}"), "value": n});
                self.app.post("/api/v1/system/settings/modules/", &body, t).await
            }
            "system_setting" => {
                let platform = self.app.platform_token().await;
                let body = json!({"key": format!("fresh.{n}"), "value": n});
                self.app.post("/api/v1/system/settings/system/", &body, Some(&platform)).await
            }
            other => panic!("no fresh {other}"),
        };
        created_id(answer).await
    }

    async fn path(&self, template: &str) -> String {
        let mut path = template
            .replace("{account}", &self.a.account)
            .replace("{site1}", &self.a.site1)
            .replace("{site2}", &self.a.site2)
            .replace("{sector1}", &self.a.sector1)
            .replace("{sector2}", &self.a.sector2)
            .replace("{editor}", &self.a.editor.id)
            .replace("{grant}", &self.a.grant)
            .replace("{subscription}", &self.a.subscription)
            .replace("{invited}", &self.a.invited);
        for (name, id) in &self.a.records {
            path = path.replace(&format!("{{{name}}}"), id);
        }
        for kind in [
            "user",
            "site",
            "sector",
            "grant",
            "keyword",
            "task",
            "profile",
            "strategy",
            "account_setting",
            "ai_setting",
            "user_setting",
            "module_setting",
            "system_setting",
        ] {
            let placeholder = format!("{{fresh_{kind}}}");
            if path.contains(&placeholder) {
                path = path.replace(&placeholder, &self.fresh(kind).await);
            }
        }
        format!("/api/v1/{path}")
    }
}

type Body = fn(&World, Who) -> Option<Value>;

fn none(_: &World, _: Who) -> Option<Value> {
    None
}

fn new_user(w: &World, _: Who) -> Option<Value> {
    Some(json!({"email": format!("new{}@x.example", w.unique()), "password": "member passphrase", "role": "editor"}))
}

fn invite(w: &World, _: Who) -> Option<Value> {
    Some(json!({"email": format!("inv{}@x.example", w.unique()), "role": "viewer"}))
}

fn rename(w: &World, _: Who) -> Option<Value> {
    Some(json!({"name": format!("renamed {}", w.unique())}))
}

fn first_name(_: &World, _: Who) -> Option<Value> {
    Some(json!({"first_name": "Changed"}))
}

fn password(_: &World, _: Who) -> Option<Value> {
    Some(json!({"password": "activation passphrase"}))
}

fn new_account(w: &World, _: Who) -> Option<Value> {
    Some(json!({"email": format!("acct{}@x.example", w.unique()), "password": "member passphrase"}))
}

fn subscription(_: &World, _: Who) -> Option<Value> {
    Some(json!({"plan_id": "growth"}))
}

/// Owner and admin each grant the invited viewer a different site (the members' grants stay
/// as they are); the others aim at account A's records.
fn grant(w: &World, who: Who) -> Option<Value> {
    let site = if who == Who::Owner { &w.a.site1 } else { &w.a.site2 };
    Some(json!({"user_id": w.a.invited, "site_id": site}))
}

/// The editor's grant of site 1, unchanged.
fn same_grant(w: &World, _: Who) -> Option<Value> {
    Some(json!({"site_id": w.a.site1}))
}

fn new_site(w: &World, _: Who) -> Option<Value> {
    Some(json!({"name": format!("site {}", w.unique()), "domain": "example.org"}))
}

fn select(_: &World, _: Who) -> Option<Value> {
    Some(json!({"sector_ids": ["healthcare--dental-care", "healthcare--nutrition"]}))
}

fn new_sector(w: &World, _: Who) -> Option<Value> {
    Some(json!({"site_id": w.a.site1, "name": format!("sector {}", w.unique()), "is_active": false}))
}

fn settings(_: &World, _: Who) -> Option<Value> {
    Some(json!({"timezone": "Europe/Berlin", "language": "de"}))
}

fn new_keyword(w: &World, _: Who) -> Option<Value> {
    Some(json!({"keyword": format!("keyword {}", w.unique()), "sector_id": w.a.sector1}))
}

fn new_cluster(w: &World, _: Who) -> Option<Value> {
    Some(json!({"name": format!("cluster {}", w.unique()), "sector_id": w.a.sector1}))
}

fn new_task(w: &World, _: Who) -> Option<Value> {
    Some(json!({"title": format!("task {}", w.unique()), "sector_id": w.a.sector1}))
}

fn new_taxonomy(w: &World, _: Who) -> Option<Value> {
    Some(json!({"site_id": w.a.site1, "taxonomy_type": "category", "name": format!("category {}", w.unique())}))
}

/// A loopback address where nothing listens.
fn closed_site() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("http://127.0.0.1:{port}")
}

fn new_integration(w: &World, _: Who) -> Option<Value> {
    Some(
        json!({"site_id": w.a.site1, "site_url": closed_site(), "username": "editor", "app_password": "abcd efgh ijkl mnop"}),
    )
}

fn connection(_: &World, _: Who) -> Option<Value> {
    Some(json!({"site_url": closed_site(), "username": "editor", "app_password": "abcd efgh ijkl mnop"}))
}

fn new_api_key(w: &World, _: Who) -> Option<Value> {
    Some(json!({"site_id": w.a.site1, "name": format!("plugin {}", w.unique())}))
}

fn empty(_: &World, _: Who) -> Option<Value> {
    Some(json!({}))
}

fn site1_sync(w: &World, _: Who) -> Option<Value> {
    Some(json!({"site_id": w.a.site1}))
}

fn analyze_content1(w: &World, _: Who) -> Option<Value> {
    Some(json!({"content_id": w.a.records["content1"]}))
}

fn link_content1(w: &World, _: Who) -> Option<Value> {
    Some(json!({"content_ids": [w.a.records["content1"]]}))
}

fn publish_content1(w: &World, _: Who) -> Option<Value> {
    Some(json!({"content_ids": [w.a.records["content1"]], "destinations": [w.a.records["integration1"]]}))
}

fn publish_here(w: &World, _: Who) -> Option<Value> {
    Some(json!({"destinations": [w.a.records["integration1"]], "status": "draft"}))
}

fn sync_on(_: &World, _: Who) -> Option<Value> {
    Some(json!({"sync_enabled": true}))
}

fn volume(_: &World, _: Who) -> Option<Value> {
    Some(json!({"volume": 42}))
}

fn title(w: &World, _: Who) -> Option<Value> {
    Some(json!({"title": format!("title {}", w.unique()), "idea_title": format!("idea {}", w.unique())}))
}

fn keyword_status(w: &World, _: Who) -> Option<Value> {
    Some(json!({"ids": [w.a.records["keyword1"]], "status": "archived"}))
}

fn prompt(_: &World, _: Who) -> Option<Value> {
    Some(json!({"prompt_type": "ideas", "prompt_value": "Our own ideas prompt"}))
}

fn new_profile(w: &World, _: Who) -> Option<Value> {
    Some(json!({"name": format!("voice {}", w.unique()), "tone": "warm", "language": "en"}))
}

fn new_setting(w: &World, _: Who) -> Option<Value> {
    Some(json!({"key": format!("key.{}", w.unique()), "value": {"on": true}}))
}

fn new_module_setting(w: &World, _: Who) -> Option<Value> {
    Some(json!({"module_name": "planner", "key": format!("key.{}", w.unique()), "value": 3}))
}

fn new_value(w: &World, _: Who) -> Option<Value> {
    Some(json!({"value": w.unique()}))
}

/// A whole setting (PUT) keeping the key of account A's record `name`.
fn same_key(w: &World, name: &str) -> Option<Value> {
    let id = w.a.records.get(name).cloned().unwrap_or_default();
    let key = id.split_once(':').map_or(id.as_str(), |(_, key)| key).to_owned();
    Some(json!({"key": key, "value": w.unique(), "module_name": "planner"}))
}

fn site1_automation(w: &World, _: Who) -> Option<Value> {
    Some(json!({"site_id": w.a.site1, "enabled": false, "stages": {"images": {"batch_size": 5}}}))
}

fn site2_automation(w: &World, _: Who) -> Option<Value> {
    Some(json!({"site_id": w.a.site2, "credit_ceiling": 100}))
}

fn run1(w: &World, _: Who) -> Option<Value> {
    Some(json!({"run_id": w.a.records.get("run1").cloned().unwrap_or_default()}))
}

fn switch_on(_: &World, _: Who) -> Option<Value> {
    Some(json!({"site_builder_enabled": true}))
}

fn adjustment(_: &World, _: Who) -> Option<Value> {
    Some(json!({"amount": 100, "reason": "matrix"}))
}

struct Row {
    method: &'static str,
    path: &'static str,
    body: Body,
    /// Expected status for Anon, Viewer, Editor, Other, Admin, Owner.
    expect: [u16; 6],
}

const fn row(method: &'static str, path: &'static str, body: Body, expect: [u16; 6]) -> Row {
    Row { method, path, body, expect }
}

/// Everything an authenticated member may do / only managers / nobody but the platform.
const MEMBERS: [u16; 6] = [401, 200, 200, 200, 200, 200];
const MANAGERS_LIST: [u16; 6] = [401, 403, 403, 200, 200, 200];
const MANAGERS_RECORD: [u16; 6] = [401, 403, 403, 404, 200, 200];
const MANAGERS_CREATE: [u16; 6] = [401, 403, 403, 201, 201, 201];
const MANAGERS_DELETE: [u16; 6] = [401, 403, 403, 404, 204, 204];
const PUBLIC: [u16; 6] = [200, 200, 200, 200, 200, 200];
/// A record in sector1 (site1, granted to the editor and the viewer) / in sector2 (not granted).
const SECTOR1_READ: [u16; 6] = [401, 200, 200, 404, 200, 200];
const SECTOR1_WRITE: [u16; 6] = [401, 403, 200, 404, 200, 200];
const SECTOR2_READ: [u16; 6] = [401, 404, 404, 404, 200, 200];
const SECTOR2_WRITE: [u16; 6] = [401, 404, 404, 404, 200, 200];
/// The billing desk: the platform roles only, none of an account's own.
const PLATFORM_ONLY: [u16; 6] = [401, 403, 403, 403, 403, 403];

fn matrix() -> Vec<Row> {
    vec![
        row("GET", "auth/me/", none, MEMBERS),
        row("GET", "auth/groups/", none, MEMBERS),
        row("GET", "auth/groups/editor/", none, MEMBERS),
        row("GET", "auth/users/", none, MANAGERS_LIST),
        row("POST", "auth/users/", new_user, MANAGERS_CREATE),
        row("POST", "auth/users/invite/", invite, MANAGERS_CREATE),
        row("GET", "auth/users/{editor}/", none, MANAGERS_RECORD),
        row("PATCH", "auth/users/{editor}/", first_name, MANAGERS_RECORD),
        row(
            "PUT",
            "auth/users/{editor}/",
            |_, _| Some(json!({"role": "editor", "first_name": "Put"})),
            MANAGERS_RECORD,
        ),
        row("POST", "auth/users/{invited}/activate/", password, MANAGERS_RECORD),
        row("DELETE", "auth/users/{fresh_user}/", none, MANAGERS_DELETE),
        row("GET", "auth/accounts/", none, MANAGERS_LIST),
        row("POST", "auth/accounts/", new_account, [401, 403, 403, 403, 403, 403]),
        row("GET", "auth/accounts/{account}/", none, MANAGERS_RECORD),
        row("PATCH", "auth/accounts/{account}/", rename, MANAGERS_RECORD),
        row("PUT", "auth/accounts/{account}/", rename, MANAGERS_RECORD),
        row("DELETE", "auth/accounts/{account}/", none, [401, 403, 403, 404, 403, 403]),
        row("GET", "auth/subscriptions/", none, MANAGERS_LIST),
        row("POST", "auth/subscriptions/", subscription, [401, 403, 403, 403, 403, 403]),
        row("GET", "auth/subscriptions/{subscription}/", none, MANAGERS_RECORD),
        row("PATCH", "auth/subscriptions/{subscription}/", subscription, [401, 403, 403, 404, 403, 403]),
        row("DELETE", "auth/subscriptions/{subscription}/", none, [401, 403, 403, 404, 403, 403]),
        row("GET", "auth/subscriptions/by-account/{account}/", none, MANAGERS_RECORD),
        row("GET", "auth/site-access/", none, MANAGERS_LIST),
        row("POST", "auth/site-access/", grant, [401, 403, 403, 400, 201, 201]),
        row("GET", "auth/site-access/{grant}/", none, MANAGERS_RECORD),
        row("PATCH", "auth/site-access/{grant}/", same_grant, MANAGERS_RECORD),
        row("PUT", "auth/site-access/{grant}/", same_grant, MANAGERS_RECORD),
        row("DELETE", "auth/site-access/{fresh_grant}/", none, MANAGERS_DELETE),
        row("GET", "auth/plans/", none, PUBLIC),
        row("GET", "auth/plans/growth/", none, PUBLIC),
        row("GET", "auth/industries/", none, PUBLIC),
        row("GET", "auth/industries/healthcare/", none, PUBLIC),
        row("GET", "auth/seed-keywords/?industry_id=healthcare", none, PUBLIC),
        row("GET", "auth/sites/", none, MEMBERS),
        row("POST", "auth/sites/", new_site, MANAGERS_CREATE),
        row("GET", "auth/sites/{site1}/", none, [401, 200, 200, 404, 200, 200]),
        row("GET", "auth/sites/{site2}/", none, [401, 404, 404, 404, 200, 200]),
        row("PATCH", "auth/sites/{site1}/", rename, [401, 403, 200, 404, 200, 200]),
        row("PUT", "auth/sites/{site1}/", rename, [401, 403, 200, 404, 200, 200]),
        row("PATCH", "auth/sites/{site2}/", rename, [401, 404, 404, 404, 200, 200]),
        row("DELETE", "auth/sites/{fresh_site}/", none, [401, 404, 404, 404, 204, 204]),
        row("GET", "auth/sites/{site1}/sectors/", none, [401, 200, 200, 404, 200, 200]),
        row("POST", "auth/sites/{site1}/set_active/", none, [401, 403, 200, 404, 200, 200]),
        row("POST", "auth/sites/{site1}/select_sectors/", select, [401, 403, 200, 404, 200, 200]),
        row("GET", "auth/sectors/", none, MEMBERS),
        row("POST", "auth/sectors/", new_sector, [401, 403, 201, 400, 201, 201]),
        row("GET", "auth/sectors/{sector1}/", none, [401, 200, 200, 404, 200, 200]),
        row("PATCH", "auth/sectors/{sector1}/", rename, [401, 403, 200, 404, 200, 200]),
        row("DELETE", "auth/sectors/{fresh_sector}/", none, [401, 403, 204, 404, 204, 204]),
        row("GET", "account/settings/", none, MEMBERS),
        row("PATCH", "account/settings/", settings, [401, 403, 403, 200, 200, 200]),
        row("GET", "account/team/", none, MANAGERS_LIST),
        row("POST", "account/team/", new_user, MANAGERS_CREATE),
        row("DELETE", "account/team/{fresh_user}/", none, MANAGERS_DELETE),
        row("GET", "account/usage/analytics/", none, MANAGERS_LIST),
        row("GET", "system/prompts/", none, MEMBERS),
        row("POST", "system/prompts/save/", prompt, [401, 403, 403, 200, 200, 200]),
        row("GET", "system/settings/integrations/openai/", none, MANAGERS_LIST),
        row("GET", "planner/keywords/", none, MEMBERS),
        row("POST", "planner/keywords/", new_keyword, [401, 403, 201, 400, 201, 201]),
        row("GET", "planner/keywords/{keyword1}/", none, SECTOR1_READ),
        row("GET", "planner/keywords/{keyword2}/", none, SECTOR2_READ),
        row("PATCH", "planner/keywords/{keyword1}/", volume, SECTOR1_WRITE),
        row("PATCH", "planner/keywords/{keyword2}/", volume, SECTOR2_WRITE),
        row("DELETE", "planner/keywords/{fresh_keyword}/", none, [401, 403, 204, 404, 204, 204]),
        row("POST", "planner/keywords/bulk_update_status/", keyword_status, [401, 403, 200, 400, 200, 200]),
        row("GET", "planner/keywords/export/", none, MEMBERS),
        row("GET", "planner/clusters/", none, MEMBERS),
        row("POST", "planner/clusters/", new_cluster, [401, 403, 201, 400, 201, 201]),
        row("GET", "planner/clusters/{cluster1}/", none, SECTOR1_READ),
        row("PATCH", "planner/clusters/{cluster1}/", rename, SECTOR1_WRITE),
        row("GET", "planner/ideas/{idea1}/", none, SECTOR1_READ),
        row("PATCH", "planner/ideas/{idea1}/", title, SECTOR1_WRITE),
        row("GET", "writer/tasks/", none, MEMBERS),
        row("POST", "writer/tasks/", new_task, [401, 403, 201, 400, 201, 201]),
        row("GET", "writer/tasks/{task1}/", none, SECTOR1_READ),
        row("PATCH", "writer/tasks/{task1}/", title, SECTOR1_WRITE),
        row("DELETE", "writer/tasks/{fresh_task}/", none, [401, 403, 204, 404, 204, 204]),
        row("GET", "writer/content/{content1}/", none, SECTOR1_READ),
        row("PATCH", "writer/content/{content1}/", title, SECTOR1_WRITE),
        row("GET", "writer/images/{image1}/", none, SECTOR1_READ),
        row("GET", "writer/images/content_images/?content_id={content1}", none, SECTOR1_READ),
        row("GET", "writer/taxonomies/", none, MEMBERS),
        row("POST", "writer/taxonomies/", new_taxonomy, [401, 403, 201, 400, 201, 201]),
        row("GET", "writer/taxonomies/{taxonomy1}/", none, SECTOR1_READ),
        row("GET", "integration/integrations/", none, MEMBERS),
        row("POST", "integration/integrations/", new_integration, [401, 403, 403, 400, 201, 201]),
        row("GET", "integration/integrations/{integration1}/", none, SECTOR1_READ),
        row("GET", "integration/integrations/{integration2}/", none, SECTOR2_READ),
        row("PATCH", "integration/integrations/{integration1}/", sync_on, [401, 403, 403, 404, 200, 200]),
        row("PUT", "integration/integrations/{integration2}/", new_integration, [401, 404, 404, 404, 400, 400]),
        row("DELETE", "integration/integrations/{integration3}/", none, [401, 403, 403, 404, 204, 404]),
        row("POST", "integration/integrations/{integration1}/test_connection/", none, [401, 403, 403, 404, 400, 400]),
        row("POST", "integration/integrations/test-connection/", connection, [401, 403, 403, 400, 400, 400]),
        row("POST", "publisher/publish/", publish_content1, [401, 403, 200, 400, 200, 200]),
        row("POST", "writer/content/{content1}/publish/", publish_here, [401, 403, 200, 404, 200, 200]),
        row("GET", "publisher/publishing-records/", none, MEMBERS),
        row("POST", "linker/process/", link_content1, [401, 403, 200, 400, 200, 200]),
        row("POST", "writer/content/{content1}/link/", empty, [401, 403, 200, 404, 200, 200]),
        row("POST", "writer/content/{content1}/link_and_optimize/", empty, [401, 403, 200, 404, 200, 200]),
        row("POST", "linker/batch_process/", site1_sync, [401, 403, 200, 400, 200, 200]),
        row("GET", "linker/graph/?site_id={site1}", none, [401, 200, 200, 400, 200, 200]),
        row("POST", "optimizer/analyze/", analyze_content1, [401, 200, 200, 404, 200, 200]),
        row("POST", "optimizer/optimize/", link_content1, [401, 403, 200, 400, 200, 200]),
        row("POST", "writer/content/{content1}/optimize/", empty, [401, 403, 200, 404, 200, 200]),
        row("GET", "optimizer/tasks/", none, MEMBERS),
        row("GET", "publisher/publishing-records/{record1}/", none, SECTOR1_READ),
        row("POST", "integration/integrations/{integration1}/sync/", empty, [401, 403, 403, 404, 200, 200]),
        row("GET", "integration/integrations/{integration1}/sync_status/", none, SECTOR1_READ),
        row("POST", "integration/integrations/{integration1}/update-structure/", empty, [401, 403, 403, 404, 400, 400]),
        row("GET", "integration/integrations/{integration1}/get_content_types/", none, SECTOR1_READ),
        row("GET", "integration/integrations/{integration1}/debug_status/", none, [401, 403, 403, 404, 200, 200]),
        row("POST", "integration/integrations/sync_wordpress_content/", site1_sync, [401, 403, 403, 400, 200, 200]),
        row("GET", "integration/api-keys/", none, MANAGERS_LIST),
        row("POST", "integration/api-keys/", new_api_key, [401, 403, 403, 400, 201, 201]),
        row("DELETE", "integration/api-keys/{apikey1}/", none, [401, 403, 403, 404, 204, 404]),
        row("GET", "billing/credits/balance/", none, MEMBERS),
        row("GET", "billing/credits/usage/limits/", none, MEMBERS),
        row("GET", "billing/credits/transactions/", none, MANAGERS_LIST),
        row("GET", "billing/invoices/", none, MANAGERS_LIST),
        row("GET", "billing/invoices/{invoice}/", none, MANAGERS_RECORD),
        row("POST", "billing/credit-packages/credits-500/purchase/", none, MANAGERS_CREATE),
        row("GET", "system/author-profiles/", none, MEMBERS),
        row("POST", "system/author-profiles/", new_profile, MANAGERS_CREATE),
        row("GET", "system/author-profiles/{profile1}/", none, [401, 200, 200, 404, 200, 200]),
        row("PATCH", "system/author-profiles/{profile1}/", rename, MANAGERS_RECORD),
        row("PUT", "system/author-profiles/{profile1}/", new_profile, MANAGERS_RECORD),
        row("DELETE", "system/author-profiles/{fresh_profile}/", none, MANAGERS_DELETE),
        row("GET", "system/strategies/", none, MEMBERS),
        row("POST", "system/strategies/", rename, MANAGERS_CREATE),
        row("GET", "system/strategies/{strategy1}/", none, [401, 200, 200, 404, 200, 200]),
        row("PATCH", "system/strategies/{strategy1}/", rename, MANAGERS_RECORD),
        row("PUT", "system/strategies/{strategy1}/", rename, MANAGERS_RECORD),
        row("DELETE", "system/strategies/{fresh_strategy}/", none, MANAGERS_DELETE),
        row("GET", "system/settings/account/", none, MEMBERS),
        row("POST", "system/settings/account/", new_setting, MANAGERS_CREATE),
        row("GET", "system/settings/account/{setting1}/", none, [401, 200, 200, 404, 200, 200]),
        row("PATCH", "system/settings/account/{setting1}/", new_value, MANAGERS_RECORD),
        row("PUT", "system/settings/account/{setting1}/", |w, _| same_key(w, "setting1"), MANAGERS_RECORD),
        row("DELETE", "system/settings/account/{fresh_account_setting}/", none, MANAGERS_DELETE),
        row("GET", "system/settings/ai/", none, MEMBERS),
        row("POST", "system/settings/ai/", new_setting, MANAGERS_CREATE),
        row("GET", "system/settings/ai/{ai1}/", none, [401, 200, 200, 404, 200, 200]),
        row("PATCH", "system/settings/ai/{ai1}/", new_value, MANAGERS_RECORD),
        row("PUT", "system/settings/ai/{ai1}/", |w, _| same_key(w, "ai1"), MANAGERS_RECORD),
        row("DELETE", "system/settings/ai/{fresh_ai_setting}/", none, MANAGERS_DELETE),
        row("GET", "system/settings/modules/", none, MEMBERS),
        row("POST", "system/settings/modules/", new_module_setting, MANAGERS_CREATE),
        row("GET", "system/settings/modules/{module1}/", none, [401, 200, 200, 404, 200, 200]),
        row("PATCH", "system/settings/modules/{module1}/", new_value, MANAGERS_RECORD),
        row("PUT", "system/settings/modules/{module1}/", |w, _| same_key(w, "module1"), MANAGERS_RECORD),
        row("DELETE", "system/settings/modules/{fresh_module_setting}/", none, MANAGERS_DELETE),
        row("GET", "system/settings/modules/module/planner/", none, MEMBERS),
        row("GET", "system/settings/modules/enable/", none, MEMBERS),
        row("PATCH", "system/settings/modules/enable/", switch_on, [401, 403, 403, 200, 200, 200]),
        row("PUT", "system/settings/modules/enable/", switch_on, [401, 403, 403, 200, 200, 200]),
        // A user's own settings: only the owner made this one, and only the owner reaches it.
        row("GET", "system/settings/user/", none, MEMBERS),
        row("POST", "system/settings/user/", new_setting, [401, 201, 201, 201, 201, 201]),
        row("GET", "system/settings/user/{user_setting1}/", none, [401, 404, 404, 404, 404, 200]),
        row("PATCH", "system/settings/user/{user_setting1}/", new_value, [401, 404, 404, 404, 404, 200]),
        row(
            "PUT",
            "system/settings/user/{user_setting1}/",
            |w, _| same_key(w, "user_setting1"),
            [401, 404, 404, 404, 404, 200],
        ),
        row("DELETE", "system/settings/user/{fresh_user_setting}/", none, [401, 404, 404, 404, 404, 204]),
        // The platform's settings: every member reads them, only the platform writes.
        row("GET", "system/settings/system/", none, MEMBERS),
        row("POST", "system/settings/system/", new_setting, PLATFORM_ONLY),
        row("GET", "system/settings/system/{system1}/", none, MEMBERS),
        row("PATCH", "system/settings/system/{system1}/", new_value, PLATFORM_ONLY),
        row("PUT", "system/settings/system/{system1}/", |w, _| same_key(w, "system1"), PLATFORM_ONLY),
        row("DELETE", "system/settings/system/{fresh_system_setting}/", none, PLATFORM_ONLY),
        row("GET", "system/ping/", none, PUBLIC),
        row("GET", "system/status/", none, PUBLIC),
        row("GET", "system/request-metrics/{account}/", none, PLATFORM_ONLY),
        row("GET", "automation/config/?site_id={site1}", none, SECTOR1_READ),
        row("GET", "automation/config/?site_id={site2}", none, SECTOR2_READ),
        row("PATCH", "automation/update_config/", site1_automation, SECTOR1_WRITE),
        row("PUT", "automation/update_config/", site1_automation, SECTOR1_WRITE),
        row("PATCH", "automation/update_config/", site2_automation, [401, 404, 404, 404, 200, 200]),
        // site1 has a run already (queued): a second is a 409.
        row("POST", "automation/run_now/", site1_sync, [401, 403, 409, 404, 409, 409]),
        row("GET", "automation/current_run/?site_id={site1}", none, SECTOR1_READ),
        row("GET", "automation/pipeline_overview/?site_id={site1}", none, SECTOR1_READ),
        row("GET", "automation/estimate/?site_id={site1}", none, SECTOR1_READ),
        row("GET", "automation/current_processing/?site_id={site2}", none, SECTOR2_READ),
        row("GET", "automation/history/?site_id={site1}", none, SECTOR1_READ),
        row("GET", "automation/logs/?run_id={run1}", none, SECTOR1_READ),
        row("POST", "automation/pause/", run1, SECTOR1_WRITE),
        row("POST", "automation/resume/", run1, [401, 403, 409, 404, 409, 409]),
        row("POST", "automation/cancel/", run1, [401, 403, 200, 404, 409, 409]),
        row("GET", "admin/accounts/", none, PLATFORM_ONLY),
        row("POST", "admin/accounts/{account}/adjust_credits/", adjustment, PLATFORM_ONLY),
    ]
}

#[tokio::test]
async fn every_endpoint_as_every_role() {
    // Publishing and AI jobs are queued where no worker polls (the queues' DLQs): the matrix
    // compares the account before and after each refused call, and a worker would change it
    // meanwhile.
    let app = spawn_app_configured(RELAXED_RATES, |c| {
        c.publish_queue_url = c.publish_queue_url.as_ref().map(|u| u.replace("publish-queue", "publish-dlq"));
        c.ai_jobs_queue_url = c.ai_jobs_queue_url.as_ref().map(|u| u.replace("ai-jobs-queue", "ai-jobs-dlq"));
        c.automation_queue_url =
            c.automation_queue_url.as_ref().map(|u| u.replace("automation-queue", "automation-dlq"));
    })
    .await;
    let a = tenant(&app, "alpha").await;
    let b = tenant(&app, "beta").await;
    let world = World { app, a, b, counter: Default::default() };
    let mut failures = Vec::new();
    for row in matrix() {
        for (i, who) in CALLERS.iter().enumerate() {
            let path = world.path(row.path).await;
            let body = (row.body)(&world, *who);
            // Every request names account A's records; B's own calls may change B.
            let tenants = [
                format!("ACCOUNT#{}", world.a.account),
                igny8_domain::planner::sector_pk(&world.a.account, &world.a.sector1),
                igny8_domain::planner::sector_pk(&world.a.account, &world.a.sector2),
            ];
            // A sector deleted by an earlier call is purged by the queue's worker: let it finish.
            assert!(world.app.purges_done().await);
            let before = world.app.partitions(&tenants).await;
            let answer = world.app.call(row.method, &path, body.as_ref(), world.token(*who)).await;
            let expected = row.expect[i];
            if answer.status != expected {
                failures.push(format!(
                    "{} {} as {who:?}: {} (expected {expected}) {}",
                    row.method, row.path, answer.status, answer.body
                ));
                continue;
            }
            if answer.status >= 400 {
                assert_eq!(answer.body["success"], json!(false), "{} {} as {who:?}", row.method, row.path);
                answer.assert_request_id();
            }
            // A refused call, and any call by the other account, leaves account A's data as it was.
            if expected >= 400 || *who == Who::Other {
                let after = world.app.partitions(&tenants).await;
                assert!(before == after, "{} {} as {who:?} changed account A", row.method, row.path);
            }
            // No answer to one account carries the other's ids or emails (beyond what the caller
            // itself sent).
            let text = answer.body.to_string();
            let sent = format!("{path} {}", body.as_ref().map(Value::to_string).unwrap_or_default());
            let foreign = if *who == Who::Other { &world.a.secrets } else { &world.b.secrets };
            if let Some(leak) = foreign.iter().find(|s| text.contains(s.as_str()) && !sent.contains(s.as_str())) {
                failures.push(format!("{} {} as {who:?} leaked {leak}: {text}", row.method, row.path));
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn editors_and_viewers_see_only_granted_sites() {
    let app = spawn_app().await;
    let a = tenant(&app, "gamma").await;
    let ids = |answer: &Answer| -> Vec<String> {
        answer.body["results"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
    };
    for member in [&a.editor, &a.viewer] {
        assert_eq!(ids(&app.get("/api/v1/auth/sites/", Some(&member.token)).await), vec![a.site1.clone()]);
        assert_eq!(ids(&app.get("/api/v1/auth/sectors/", Some(&member.token)).await), vec![a.sector1.clone()]);
    }
    let mut all = ids(&app.get("/api/v1/auth/sites/", Some(&a.admin.token)).await);
    all.sort();
    let mut expected = vec![a.site1.clone(), a.site2.clone()];
    expected.sort();
    assert_eq!(all, expected);
    // `auth/me/` names the same sites as the user's `accessible_sites`.
    let accessible = |answer: Answer| -> Vec<String> {
        let mut found: Vec<String> = answer.data()["user"]["accessible_sites"]
            .as_array()
            .expect("accessible_sites")
            .iter()
            .map(|s| s["id"].as_str().expect("id").to_owned())
            .collect();
        found.sort();
        found
    };
    assert_eq!(accessible(app.get("/api/v1/auth/me/", Some(&a.editor.token)).await), vec![a.site1.clone()]);
    assert_eq!(accessible(app.get("/api/v1/auth/me/", Some(&a.owner.token)).await), expected);
    // Revoking the grant takes the site away at once.
    let revoked =
        app.call("DELETE", &format!("/api/v1/auth/site-access/{}/", a.grant), None, Some(&a.owner.token)).await;
    assert_eq!(revoked.status, 204);
    assert!(ids(&app.get("/api/v1/auth/sites/", Some(&a.editor.token)).await).is_empty());
    assert_eq!(app.get(&format!("/api/v1/auth/sites/{}/", a.site1), Some(&a.editor.token)).await.status, 404);
}

#[tokio::test]
async fn developers_cross_accounts_by_naming_them() {
    let app = spawn_app().await;
    let a = tenant(&app, "delta").await;
    let dev_email = "dev@platform.example";
    let registered = app.register(dev_email).await;
    let dev_account = registered.data()["user"]["account"]["id"].as_str().unwrap().to_owned();
    let dev_id = registered.data()["user"]["id"].as_str().unwrap().to_owned();
    app.make_role(&dev_account, &dev_id, "developer").await;
    let token = app.login(dev_email, api_tests::PASSWORD).await.data()["access"].as_str().unwrap().to_owned();

    let users = app.get(&format!("/api/v1/auth/users/?account_id={}", a.account), Some(&token)).await;
    assert_eq!(users.status, 200, "{}", users.body);
    assert_eq!(users.body["count"], json!(5), "owner, admin, editor, viewer, invited");
    let site = app.get(&format!("/api/v1/auth/sites/{}/?account_id={}", a.site2, a.account), Some(&token)).await;
    assert_eq!(site.status, 200);
    let accounts = app.get("/api/v1/auth/accounts/", Some(&token)).await;
    assert!(accounts.body["count"].as_u64().unwrap() >= 2);
    // A developer may create accounts and subscriptions; an owner may not.
    let sub = app
        .post(
            &format!("/api/v1/auth/subscriptions/?account_id={}", a.account),
            &json!({"plan_id": "growth"}),
            Some(&token),
        )
        .await;
    assert_eq!(sub.status, 201, "{}", sub.body);
    // Bad subscriptions are refused with field errors.
    let path = format!("/api/v1/auth/subscriptions/?account_id={}", a.account);
    let bad = app.post(&path, &json!({"plan_id": "platinum", "status": "asleep"}), Some(&token)).await;
    bad.assert_error(400, "Validation failed");
    assert!(!bad.field_errors("plan_id").is_empty() && !bad.field_errors("status").is_empty());
    let backwards = app
        .post(
            &path,
            &json!({"plan_id": "growth", "current_period_start": "2026-05-01T00:00:00Z", "current_period_end": "2026-04-01T00:00:00Z"}),
            Some(&token),
        )
        .await;
    assert!(!backwards.field_errors("current_period_end").is_empty(), "{}", backwards.body);
    let missing = app.post(&path, &json!({}), Some(&token)).await;
    assert!(!missing.field_errors("plan_id").is_empty());
    // An owner naming another account is not let in: the parameter is ignored.
    let own = app.get(&format!("/api/v1/auth/users/?account_id={dev_account}"), Some(&a.owner.token)).await;
    assert!(!own.body.to_string().contains(&dev_id));
}
