//! Bad input on the tenancy write endpoints: a 400 with field errors, and nothing changed.

use api_tests::{Answer, TestApp, spawn_app};
use serde_json::{Value, json};

struct Setup {
    app: TestApp,
    owner: String,
    account: String,
    other_account: String,
    editor: String,
    site: String,
    other_site: String,
    foreign_site: String,
    sector: String,
}

async fn id(answer: Answer) -> String {
    assert!(answer.status < 300, "{}", answer.body);
    answer.data()["id"].as_str().unwrap().to_owned()
}

async fn setup() -> Setup {
    let app = spawn_app().await;
    let reg = app
        .register_on_plan(json!({"email": "o@in.example", "password": api_tests::PASSWORD, "plan_id": "agency"}))
        .await;
    let account = reg.data()["user"]["account"]["id"].as_str().unwrap().to_owned();
    let owner = app.login("o@in.example", api_tests::PASSWORD).await.data()["access"].as_str().unwrap().to_owned();
    let t = Some(owner.as_str());
    let editor = id(app
        .post(
            "/api/v1/auth/users/",
            &json!({"email": "e@in.example", "password": "editor passphrase", "role": "editor"}),
            t,
        )
        .await)
    .await;
    let site =
        id(app.post("/api/v1/auth/sites/", &json!({"name": "Clinic", "industry_id": "healthcare"}), t).await).await;
    let other_site =
        id(app.post("/api/v1/auth/sites/", &json!({"name": "Garage", "industry_id": "automotive"}), t).await).await;
    let sector =
        id(app.post("/api/v1/auth/sectors/", &json!({"site_id": site, "name": "Dental", "is_active": false}), t).await)
            .await;
    let other = app
        .register_on_plan(json!({"email": "x@other.example", "password": api_tests::PASSWORD, "plan_id": "agency"}))
        .await;
    let other_account = other.data()["user"]["account"]["id"].as_str().unwrap().to_owned();
    let other_token =
        app.login("x@other.example", api_tests::PASSWORD).await.data()["access"].as_str().unwrap().to_owned();
    let foreign_site = id(app.post("/api/v1/auth/sites/", &json!({"name": "Foreign"}), Some(&other_token)).await).await;
    Setup { app, owner, account, other_account, editor, site, other_site, foreign_site, sector }
}

impl Setup {
    /// Sends a bad request and checks the 400, its field errors and that neither account changed.
    async fn refused(&self, method: &str, path: &str, body: Value, fields: &[&str]) {
        let tenants = [format!("ACCOUNT#{}", self.account), format!("ACCOUNT#{}", self.other_account)];
        let before = self.app.partitions(&tenants).await;
        let answer = self.app.call(method, &format!("/api/v1/{path}"), Some(&body), Some(&self.owner)).await;
        assert_eq!(answer.status, 400, "{method} {path} {body}: {}", answer.body);
        assert_eq!(answer.body["success"], json!(false));
        for field in fields {
            assert!(
                !answer.field_errors(field).is_empty(),
                "{method} {path} {body}: no error on {field}: {}",
                answer.body
            );
        }
        assert!(self.app.partitions(&tenants).await == before, "{method} {path} {body} changed data");
    }
}

#[tokio::test]
async fn users_and_team() {
    let s = setup().await;
    for path in ["auth/users/", "account/team/"] {
        s.refused("POST", path, json!({}), &["email", "role", "password"]).await;
        s.refused(
            "POST",
            path,
            json!({"email": 7, "role": ["admin"], "password": true}),
            &["email", "role", "password"],
        )
        .await;
        s.refused(
            "POST",
            path,
            json!({"email": "n@in.example", "role": "owner", "password": "good passphrase"}),
            &["role"],
        )
        .await;
        s.refused(
            "POST",
            path,
            json!({"email": "n@in.example", "role": "developer", "password": "good passphrase"}),
            &["role"],
        )
        .await;
        s.refused(
            "POST",
            path,
            json!({"email": "n@in.example", "role": "wizard", "password": "good passphrase"}),
            &["role"],
        )
        .await;
        s.refused(
            "POST",
            path,
            json!({"email": "e@in.example", "role": "viewer", "password": "good passphrase"}),
            &["email"],
        )
        .await;
        s.refused("POST", path, json!({"email": "n@in.example", "role": "viewer", "password": "short"}), &["password"])
            .await;
    }
    s.refused("POST", "auth/users/invite/", json!({"role": "viewer"}), &["email"]).await;
    let user = format!("auth/users/{}/", s.editor);
    s.refused("PATCH", &user, json!({"role": "emperor"}), &["role"]).await;
    s.refused("PATCH", &user, json!({"is_active": "yes"}), &["is_active"]).await;
    s.refused("PATCH", &user, json!({"email": "new@in.example"}), &["email"]).await;
    s.refused("PUT", &user, json!({"first_name": "No role"}), &["role"]).await;
    let invited = s
        .app
        .post("/api/v1/auth/users/invite/", &json!({"email": "i@in.example", "role": "viewer"}), Some(&s.owner))
        .await;
    let invited = invited.data()["id"].as_str().unwrap().to_owned();
    s.refused("POST", &format!("auth/users/{invited}/activate/"), json!({}), &["password"]).await;
    s.refused("POST", &format!("auth/users/{invited}/activate/"), json!({"password": "123"}), &["password"]).await;
}

#[tokio::test]
async fn sites_sectors_and_access() {
    let s = setup().await;
    s.refused("POST", "auth/sites/", json!({}), &["name"]).await;
    s.refused("POST", "auth/sites/", json!({"name": 5}), &["name"]).await;
    s.refused("POST", "auth/sites/", json!({"name": "x", "domain": "not a domain"}), &["domain"]).await;
    s.refused("POST", "auth/sites/", json!({"name": "x", "industry_id": "alchemy"}), &["industry_id"]).await;
    s.refused("PATCH", &format!("auth/sites/{}/", s.site), json!({"name": "  "}), &["name"]).await;
    s.refused("PUT", &format!("auth/sites/{}/", s.site), json!({"domain": "example.com"}), &["name"]).await;

    let select = format!("auth/sites/{}/select_sectors/", s.site);
    s.refused("POST", &select, json!({}), &["sector_ids"]).await;
    s.refused("POST", &select, json!({"sector_ids": "healthcare--nutrition"}), &["sector_ids"]).await;
    s.refused("POST", &select, json!({"sector_ids": ["automotive--car-repair"]}), &["sector_ids"]).await;
    s.refused("POST", &select, json!({"sector_ids": ["healthcare--nowhere"]}), &["sector_ids"]).await;

    s.refused("POST", "auth/sectors/", json!({}), &["site_id", "name"]).await;
    s.refused("POST", "auth/sectors/", json!({"site_id": "not-an-id", "name": "x"}), &["site_id"]).await;
    s.refused("POST", "auth/sectors/", json!({"site_id": s.foreign_site, "name": "x"}), &["site_id"]).await;
    s.refused("POST", "auth/sectors/", json!({"site_id": s.site, "name": "x", "is_active": "on"}), &["is_active"])
        .await;
    s.refused(
        "POST",
        "auth/sectors/",
        json!({"site_id": s.site, "name": "x", "industry_sector_id": "automotive--car-repair"}),
        &["industry_sector_id"],
    )
    .await;
    s.refused("PATCH", &format!("auth/sectors/{}/", s.sector), json!({"site_id": s.other_site}), &["site_id"]).await;

    s.refused("POST", "auth/site-access/", json!({}), &["user_id", "site_id"]).await;
    s.refused("POST", "auth/site-access/", json!({"user_id": s.editor, "site_id": s.foreign_site}), &["site_id"]).await;
    s.refused(
        "POST",
        "auth/site-access/",
        json!({"user_id": uuid::Uuid::now_v7().to_string(), "site_id": s.site}),
        &["user_id"],
    )
    .await;
    let owner_id =
        s.app.get("/api/v1/auth/me/", Some(&s.owner)).await.data()["user"]["id"].as_str().unwrap().to_owned();
    s.refused("POST", "auth/site-access/", json!({"user_id": owner_id, "site_id": s.site}), &["user_id"]).await;
    let granted =
        s.app.post("/api/v1/auth/site-access/", &json!({"user_id": s.editor, "site_id": s.site}), Some(&s.owner)).await;
    assert_eq!(granted.status, 201);
    let grant = granted.data()["id"].as_str().unwrap().to_owned();
    s.refused("POST", "auth/site-access/", json!({"user_id": s.editor, "site_id": s.site}), &["non_field_errors"])
        .await;

    // A grant moves to another site (PUT and PATCH), never onto a pair that exists or out of the account.
    let path = format!("auth/site-access/{grant}/");
    s.refused("PATCH", &path, json!({"site_id": s.foreign_site}), &["site_id"]).await;
    s.refused("PUT", &path, json!({"user_id": owner_id}), &["user_id"]).await;
    let moved =
        s.app.call("PATCH", &format!("/api/v1/{path}"), Some(&json!({"site_id": s.other_site})), Some(&s.owner)).await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!((moved.data()["id"].clone(), moved.data()["site"].clone()), (json!(grant), json!(s.other_site)));
    let listed = s.app.get(&format!("/api/v1/auth/site-access/?user_id={}", s.editor), Some(&s.owner)).await;
    let sites: Vec<Value> = listed.body["results"].as_array().unwrap().iter().map(|g| g["site"].clone()).collect();
    assert_eq!(sites, [json!(s.other_site)], "the grant moved, none was added");
    let again =
        s.app.post("/api/v1/auth/site-access/", &json!({"user_id": s.editor, "site_id": s.site}), Some(&s.owner)).await;
    assert_eq!(again.status, 201, "the first site is free again");
    s.refused("PUT", &path, json!({"user_id": s.editor, "site_id": s.site}), &["non_field_errors"]).await;
    let put =
        s.app.call("PUT", &format!("/api/v1/{path}"), Some(&json!({"site_id": s.other_site})), Some(&s.owner)).await;
    assert_eq!(put.status, 200, "unchanged is fine: {}", put.body);
}

#[tokio::test]
async fn at_most_five_active_sectors_per_site() {
    let s = setup().await;
    let t = Some(s.owner.as_str());
    let five = ["dental-care", "physical-therapy", "mental-health", "nutrition"].map(|x| format!("healthcare--{x}"));
    let chosen =
        s.app.post(&format!("/api/v1/auth/sites/{}/select_sectors/", s.site), &json!({"sector_ids": five}), t).await;
    assert_eq!(chosen.status, 200, "{}", chosen.body);
    assert_eq!(chosen.data()["site"]["active_sectors_count"], json!(4));
    // The fifth is fine, the sixth is refused, also when switching an inactive one on.
    assert_eq!(s.app.post("/api/v1/auth/sectors/", &json!({"site_id": s.site, "name": "Fifth"}), t).await.status, 201);
    s.refused("POST", "auth/sectors/", json!({"site_id": s.site, "name": "Sixth"}), &["is_active"]).await;
    s.refused("PATCH", &format!("auth/sectors/{}/", s.sector), json!({"is_active": true}), &["is_active"]).await;
    let six: Vec<String> = ["dental-care", "physical-therapy", "mental-health", "nutrition"]
        .iter()
        .map(|x| format!("healthcare--{x}"))
        .chain(["healthcare--x".into(), "healthcare--y".into()])
        .collect();
    s.refused("POST", &format!("auth/sites/{}/select_sectors/", s.site), json!({"sector_ids": six}), &["sector_ids"])
        .await;

    // Concurrent activations on another site cannot pass the limit either.
    let site =
        s.app.post("/api/v1/auth/sites/", &json!({"name": "Race"}), t).await.data()["id"].as_str().unwrap().to_owned();
    let bodies: Vec<_> = (0..8).map(|i| json!({"site_id": site, "name": format!("s{i}")})).collect();
    let attempts = bodies.iter().map(|body| s.app.post("/api/v1/auth/sectors/", body, t));
    let answers = futures_util::future::join_all(attempts).await;
    assert_eq!(answers.iter().filter(|a| a.status == 201).count(), 5);
    assert!(answers.iter().all(|a| a.status == 201 || a.status == 400 || a.status == 409));
    let listed = s.app.get(&format!("/api/v1/auth/sectors/?site_id={site}&is_active=true"), t).await;
    assert_eq!(listed.body["count"], json!(5));
}

#[tokio::test]
async fn accounts_settings_and_analytics() {
    let s = setup().await;
    let account = format!("auth/accounts/{}/", s.account);
    s.refused("PATCH", &account, json!({"status": "suspended"}), &["status"]).await;
    s.refused("PATCH", &account, json!({"credits": 1000000}), &["credits"]).await;
    s.refused("PATCH", &account, json!({"name": ""}), &["name"]).await;
    s.refused("PUT", &account, json!({}), &["name"]).await;
    s.refused("PATCH", "account/settings/", json!({"timezone": "Mars/Olympus Mons"}), &["timezone"]).await;
    s.refused("PATCH", "account/settings/", json!({"language": "english"}), &["language"]).await;
    s.refused("PATCH", "account/settings/", json!({"date_format": "someday"}), &["date_format"]).await;
    s.refused("PATCH", "account/settings/", json!({"billing_email": "nope"}), &["billing_email"]).await;
    s.refused(
        "PATCH",
        "account/settings/",
        json!({"email_notifications": "yes", "favourite_colour": "blue"}),
        &["email_notifications", "favourite_colour"],
    )
    .await;
    for query in ["period=week", "start_date=yesterday", "start_date=2026-05-01&end_date=2026-04-01"] {
        let answer = s.app.get(&format!("/api/v1/account/usage/analytics/?{query}"), Some(&s.owner)).await;
        assert_eq!(answer.status, 400, "{query}: {}", answer.body);
    }
    let saved = s
        .app
        .call(
            "PATCH",
            "/api/v1/account/settings/",
            Some(&json!({"timezone": "Europe/Berlin", "billing_email": "Bills@In.example"})),
            Some(&s.owner),
        )
        .await;
    assert_eq!(saved.status, 200);
    assert_eq!(saved.data()["billing_email"], json!("bills@in.example"));
    let analytics = s.app.get("/api/v1/account/usage/analytics/?period=month", Some(&s.owner)).await;
    assert_eq!(analytics.status, 200);
    assert_eq!(analytics.data()["totals"]["credits_added"], json!(20000), "the agency plan's starting credits");
    assert_eq!(analytics.data()["periods"].as_array().unwrap().len(), 6);
}
