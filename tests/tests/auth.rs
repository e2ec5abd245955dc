//! `/api/v1/auth/` over HTTP, through the gateway and the AWS-compatible endpoint.

use api_tests::{PASSWORD, claims_of, spawn_app};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use time::OffsetDateTime;

const REGISTER: &str = "/api/v1/auth/register/";
const LOGIN: &str = "/api/v1/auth/login/";
const REFRESH: &str = "/api/v1/auth/refresh/";
const ME: &str = "/api/v1/auth/me/";
const CHANGE_PASSWORD: &str = "/api/v1/auth/change-password/";

fn ledger_sum(
    items: &[std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>],
    account_id: &str,
) -> i64 {
    items
        .iter()
        .filter(|i| {
            i.get("PK").and_then(|v| v.as_s().ok()).is_some_and(|pk| pk == &format!("ACCOUNT#{account_id}"))
                && i.get("SK").and_then(|v| v.as_s().ok()).is_some_and(|sk| sk.starts_with("LEDGER#"))
        })
        .filter_map(|i| i.get("amount").and_then(|v| v.as_n().ok()).and_then(|n| n.parse::<i64>().ok()))
        .sum()
}

#[tokio::test]
async fn register_creates_account_owner_plan_and_starting_credits() {
    let app = spawn_app().await;
    let answer = app
        .post(
            REGISTER,
            &json!({"email": "Ann@Example.com", "password": PASSWORD, "password_confirm": PASSWORD,
                    "first_name": "Ann", "last_name": "Lee", "plan_id": "free"}),
            None,
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.assert_request_id();
    assert_eq!(answer.body["success"], json!(true));
    assert_eq!(answer.body["message"], json!("Registration successful"));
    let user = &answer.data()["user"];
    assert_eq!(user["email"], json!("ann@example.com"));
    assert_eq!(user["username"], json!("ann"));
    assert_eq!(user["role"], json!("owner"));
    assert_eq!(user["first_name"], json!("Ann"));
    assert!(user.get("password_hash").is_none() && user.get("password").is_none());
    let account = &user["account"];
    assert_eq!(account["name"], json!("Ann's Account"));
    assert_eq!(account["owner"], user["id"]);
    assert_eq!(account["status"], json!("active"));
    assert_eq!(account["plan"]["id"], json!("free"));
    assert_eq!(account["credits"], json!(100));
    assert_eq!(account["plan"]["included_credits"], json!(100));

    // The starting credits are one ledger entry; the ledger sums to the balance.
    let items = app.snapshot().await;
    let account_id = account["id"].as_str().unwrap();
    assert_eq!(ledger_sum(&items, account_id), 100);
    // The stored hash is argon2id, never the password.
    let stored_user =
        items.iter().find(|i| i.get("entity").and_then(|v| v.as_s().ok()).is_some_and(|e| e == "User")).unwrap();
    let hash = stored_user["password_hash"].as_s().unwrap();
    assert!(hash.starts_with("$argon2id$") && !hash.contains(PASSWORD));
}

#[tokio::test]
async fn register_defaults_to_the_free_plan() {
    let app = spawn_app().await;
    let answer = app.register("bob@example.com").await;
    assert_eq!(answer.status, 201);
    assert_eq!(answer.data()["user"]["account"]["plan"]["id"], json!("free"));
    assert_eq!(answer.data()["user"]["account"]["credits"], json!(100));
}

#[tokio::test]
async fn register_rejects_bad_input_per_field_and_writes_nothing() {
    let app = spawn_app().await;
    let before = app.snapshot().await;
    let cases: Vec<(Value, &[(&str, &str)])> = vec![
        (json!({}), &[("email", "This field is required."), ("password", "This field is required.")]),
        (json!({"email": "not-an-email", "password": PASSWORD}), &[("email", "Enter a valid email address.")]),
        (json!({"email": 42, "password": PASSWORD}), &[("email", "Not a valid string.")]),
        (json!({"email": "a@example.com", "password": 12345678}), &[("password", "Not a valid string.")]),
        (
            json!({"email": "a@example.com", "password": "short"}),
            &[("password", "Ensure this field has at least 8 characters.")],
        ),
        (
            json!({"email": "a@example.com", "password": "1234567890"}),
            &[("password", "This password is entirely numeric.")],
        ),
        (
            json!({"email": "a@example.com", "password": PASSWORD, "password_confirm": "something else"}),
            &[("password_confirm", "Passwords do not match.")],
        ),
        (
            json!({"email": "a@example.com", "password": PASSWORD, "plan_id": "platinum"}),
            &[("plan_id", "Invalid plan.")],
        ),
        (
            json!({"email": "a@example.com", "password": PASSWORD, "first_name": "x".repeat(151)}),
            &[("first_name", "Ensure this field has no more than 150 characters.")],
        ),
    ];
    for (body, expected) in cases {
        let answer = app.post(REGISTER, &body, None).await;
        answer.assert_error(400, "Validation failed");
        for (field, message) in expected {
            assert_eq!(answer.field_errors(field), vec![message.to_string()], "body {body}: {}", answer.body);
        }
    }
    let answer = app.post(REGISTER, &json!([1, 2]), None).await;
    answer.assert_error(400, "Validation failed");
    assert_eq!(app.snapshot().await, before, "a rejected registration wrote to the table");
}

#[tokio::test]
async fn malformed_json_is_a_400_envelope() {
    let app = spawn_app().await;
    let before = app.snapshot().await;
    for path in [REGISTER, LOGIN, REFRESH] {
        let answer = app.post_raw(path, "{\"email\": ").await;
        assert_eq!(answer.status, 400, "{path}: {}", answer.body);
        assert_eq!(answer.body["success"], json!(false));
        assert!(answer.body["error"].as_str().unwrap().starts_with("Malformed JSON"));
        answer.assert_request_id();
    }
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn duplicate_email_is_refused_case_insensitively_and_changes_nothing() {
    let app = spawn_app().await;
    assert_eq!(app.register("dup@example.com").await.status, 201);
    let before = app.snapshot().await;
    let answer = app.register("  DUP@example.com ").await;
    answer.assert_error(400, "Validation failed");
    assert_eq!(answer.field_errors("email"), vec!["A user with this email already exists."]);
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn concurrent_registrations_of_one_email_create_one_account() {
    let app = spawn_app().await;
    let attempts = (0..6).map(|_| app.register("race@example.com"));
    let answers = futures_util::future::join_all(attempts).await;
    let created = answers.iter().filter(|a| a.status == 201).count();
    let refused = answers.iter().filter(|a| a.status == 400).count();
    assert_eq!((created, refused), (1, 5));
    let accounts = app
        .snapshot()
        .await
        .into_iter()
        .filter(|i| i.get("entity").and_then(|v| v.as_s().ok()).is_some_and(|e| e == "Account"))
        .count();
    assert_eq!(accounts, 1);
}

#[tokio::test]
async fn login_issues_tokens_with_the_documented_lifetimes() {
    let app = spawn_app().await;
    app.register("carol@example.com").await;
    let answer = app.login("CAROL@example.com", PASSWORD).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["message"], json!("Login successful"));
    let data = answer.data();
    assert_eq!(data["user"]["email"], json!("carol@example.com"));
    assert!(data["user"]["last_login"].is_string());
    let access = claims_of(data["access"].as_str().unwrap());
    let refresh = claims_of(data["refresh"].as_str().unwrap());
    assert_eq!(access["type"], json!("access"));
    assert_eq!(refresh["type"], json!("refresh"));
    assert_eq!(access["user_id"], data["user"]["id"]);
    assert_eq!(access["account_id"], data["user"]["account"]["id"]);
    assert_eq!(access["exp"].as_i64().unwrap() - access["iat"].as_i64().unwrap(), 15 * 60);
    assert_eq!(refresh["exp"].as_i64().unwrap() - refresh["iat"].as_i64().unwrap(), 7 * 24 * 3600);
    assert!(data["access_expires_at"].is_string() && data["refresh_expires_at"].is_string());
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer_and_change_nothing() {
    let app = spawn_app().await;
    app.register("dave@example.com").await;
    let before = app.snapshot().await;
    let wrong = app.login("dave@example.com", "not the password").await;
    let unknown = app.login("nobody@example.com", PASSWORD).await;
    let not_email = app.login("not an email", PASSWORD).await;
    for answer in [&wrong, &unknown, &not_email] {
        answer.assert_error(401, "Invalid credentials");
        assert!(answer.body.get("errors").is_none());
    }
    let missing = app.post(LOGIN, &json!({"email": "dave@example.com"}), None).await;
    missing.assert_error(400, "Validation failed");
    assert_eq!(missing.field_errors("password"), vec!["This field is required."]);
    assert_eq!(app.snapshot().await, before, "a failed login wrote to the table");
}

#[tokio::test]
async fn me_returns_the_caller_with_account_and_plan() {
    let app = spawn_app().await;
    let tokens = app.signed_up("erin@example.com").await;
    let answer = app.get(ME, Some(&tokens.access)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let user = &answer.data()["user"];
    assert_eq!(user["email"], json!("erin@example.com"));
    assert_eq!(user["account"]["plan"]["slug"], json!("free"));
    assert_eq!(user["account"]["credits"], json!(100));
}

#[tokio::test]
async fn bad_tokens_are_401() {
    let app = spawn_app().await;
    let tokens = app.signed_up("frank@example.com").await;
    let key = app.signing_key().await;
    let claims = claims_of(&tokens.access);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let sign =
        |alg: Algorithm, claims: &Value| encode(&Header::new(alg), claims, &EncodingKey::from_secret(&key)).unwrap();

    let mut expired = claims.clone();
    expired["iat"] = json!(now - 3600);
    expired["exp"] = json!(now - 1800);
    let expired = sign(Algorithm::HS256, &expired);

    let other_algorithm = sign(Algorithm::HS512, &claims);
    let foreign_key = encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(&[9u8; 48])).unwrap();

    let b64 = |s: &str| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, s);
    let parts: Vec<&str> = tokens.access.split('.').collect();
    let mut elevated = claims.clone();
    elevated["user_id"] = json!("00000000-0000-7000-8000-000000000000");
    let tampered = format!("{}.{}.{}", parts[0], b64(&elevated.to_string()), parts[2]);
    let alg_none = format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), b64(&claims.to_string()));

    let cases = [
        ("expired", expired.as_str()),
        ("HS512", other_algorithm.as_str()),
        ("foreign key", foreign_key.as_str()),
        ("tampered", tampered.as_str()),
        ("alg none", alg_none.as_str()),
        ("refresh as access", tokens.refresh.as_str()),
        ("garbage", "not.a.token"),
    ];
    for (name, token) in cases {
        let answer = app.get(ME, Some(token)).await;
        assert_eq!(answer.status, 401, "{name}: {}", answer.body);
        answer.assert_error(401, "Invalid or expired token");
    }
    app.get(ME, None).await.assert_error(401, "Authentication required");
    let basic = app.send(app.client.get(app.url(ME)).header("authorization", "Basic Zm9vOmJhcg==")).await;
    basic.assert_error(401, "Authentication required");
    // The real token still works.
    assert_eq!(app.get(ME, Some(&tokens.access)).await.status, 200);
}

#[tokio::test]
async fn refresh_exchanges_a_refresh_token_for_a_new_access_token() {
    let app = spawn_app().await;
    let tokens = app.signed_up("gina@example.com").await;
    let answer = app.post(REFRESH, &json!({"refresh": tokens.refresh}), None).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let access = answer.data()["access"].as_str().unwrap().to_owned();
    assert!(answer.data()["access_expires_at"].is_string());
    assert_eq!(claims_of(&access)["type"], json!("access"));
    assert_eq!(app.get(ME, Some(&access)).await.status, 200);

    app.post(REFRESH, &json!({"refresh": tokens.access}), None).await.assert_error(400, "Invalid token type");
    app.post(REFRESH, &json!({"refresh": "garbage"}), None).await.assert_error(401, "Invalid or expired refresh token");
    let missing = app.post(REFRESH, &json!({}), None).await;
    missing.assert_error(400, "Validation failed");
    assert_eq!(missing.field_errors("refresh"), vec!["This field is required."]);

    let key = app.signing_key().await;
    let mut expired = claims_of(&tokens.refresh);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    expired["iat"] = json!(now - 8 * 24 * 3600);
    expired["exp"] = json!(now - 24 * 3600);
    let expired = encode(&Header::new(Algorithm::HS256), &expired, &EncodingKey::from_secret(&key)).unwrap();
    app.post(REFRESH, &json!({"refresh": expired}), None).await.assert_error(401, "Invalid or expired refresh token");
}

#[tokio::test]
async fn change_password_replaces_the_password_and_retires_old_tokens() {
    let app = spawn_app().await;
    let tokens = app.signed_up("hank@example.com").await;
    let new_password = "a much better passphrase";
    let answer = app
        .post(
            CHANGE_PASSWORD,
            &json!({"old_password": PASSWORD, "new_password": new_password, "new_password_confirm": new_password}),
            Some(&tokens.access),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["message"], json!("Password changed successfully"));
    let fresh_access = answer.data()["access"].as_str().unwrap().to_owned();

    app.login("hank@example.com", PASSWORD).await.assert_error(401, "Invalid credentials");
    assert_eq!(app.login("hank@example.com", new_password).await.status, 200);
    app.get(ME, Some(&tokens.access)).await.assert_error(401, "Invalid or expired token");
    app.post(REFRESH, &json!({"refresh": tokens.refresh}), None)
        .await
        .assert_error(401, "Invalid or expired refresh token");
    assert_eq!(app.get(ME, Some(&fresh_access)).await.status, 200);
}

#[tokio::test]
async fn change_password_refuses_bad_input_and_changes_nothing() {
    let app = spawn_app().await;
    let tokens = app.signed_up("iris@example.com").await;
    let before = app.snapshot().await;
    let wrong_old = app
        .post(
            CHANGE_PASSWORD,
            &json!({"old_password": "wrong password", "new_password": "another good one"}),
            Some(&tokens.access),
        )
        .await;
    wrong_old.assert_error(400, "Current password is incorrect");
    let weak = app
        .post(CHANGE_PASSWORD, &json!({"old_password": PASSWORD, "new_password": "short"}), Some(&tokens.access))
        .await;
    weak.assert_error(400, "Validation failed");
    assert_eq!(weak.field_errors("new_password"), vec!["Ensure this field has at least 8 characters."]);
    let mismatch = app
        .post(
            CHANGE_PASSWORD,
            &json!({"old_password": PASSWORD, "new_password": "another good one", "new_password_confirm": "different"}),
            Some(&tokens.access),
        )
        .await;
    assert_eq!(mismatch.field_errors("new_password_confirm"), vec!["Passwords do not match."]);
    let missing = app.post(CHANGE_PASSWORD, &json!({}), Some(&tokens.access)).await;
    assert_eq!(missing.field_errors("old_password"), vec!["This field is required."]);
    app.post(CHANGE_PASSWORD, &json!({"old_password": PASSWORD, "new_password": "another good one"}), None)
        .await
        .assert_error(401, "Authentication required");
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.get(ME, Some(&tokens.access)).await.status, 200);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_envelope() {
    let app = spawn_app().await;
    app.get("/api/v1/nothing-here/", None).await.assert_error(404, "Resource not found");
    app.get("/api/v1/auth/unknown/", None).await.assert_error(404, "Resource not found");
    app.post("/api/v1/auth/login", &json!({}), None).await.assert_error(404, "Resource not found");
    app.get(LOGIN, None).await.assert_error(405, "Method not allowed");
    app.send(app.client.delete(app.url(ME))).await.assert_error(405, "Method not allowed");
}

#[tokio::test]
async fn request_id_is_echoed_from_the_client() {
    let app = spawn_app().await;
    let answer = app.send(app.client.get(app.url(ME)).header("x-request-id", "client-chosen-id-1")).await;
    assert_eq!(answer.headers["x-request-id"], "client-chosen-id-1");
    assert_eq!(answer.body["request_id"], json!("client-chosen-id-1"));
}

#[tokio::test]
async fn cors_follows_the_template() {
    let app = spawn_app().await;
    let preflight = app
        .send(
            app.client
                .request(reqwest::Method::OPTIONS, app.url(LOGIN))
                .header("origin", "http://localhost:5173")
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "authorization,content-type"),
        )
        .await;
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.headers["access-control-allow-origin"], "http://localhost:5173");
    assert!(preflight.headers["access-control-allow-headers"].to_str().unwrap().contains("authorization"));

    let answer = app.send(app.client.get(app.url(ME)).header("origin", "http://localhost:5173")).await;
    assert_eq!(answer.headers["access-control-allow-origin"], "http://localhost:5173");
    assert!(answer.headers["access-control-expose-headers"].to_str().unwrap().contains("x-request-id"));

    let foreign = app.send(app.client.get(app.url(ME)).header("origin", "https://evil.example")).await;
    assert!(foreign.headers.get("access-control-allow-origin").is_none());
}
