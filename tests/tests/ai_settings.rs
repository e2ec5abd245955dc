//! Provider settings and prompts (`/api/v1/system/`): keys are kept in Secrets Manager and only
//! ever answered masked; the model, limits and prompts an account sets are what its jobs use.

use igny8_domain::planner::SectorRecord;
use std::time::Duration;

use api_tests::spawn_app;
use igny8_domain::accounts::Account;
use igny8_domain::jobs::{self, Queue};
use igny8_domain::planner::Keyword;
use igny8_domain::store::Key;
use serde_json::json;

const KEY: &str = "sk-test-0123456789abcdefWXYZ";

#[tokio::test]
async fn keys_are_masked_stored_in_secrets_manager_and_used_by_jobs() {
    let app = spawn_app().await;
    let reg = app
        .register_on_plan(json!({"email": "keys@ai.example", "password": api_tests::PASSWORD, "plan_id": "starter"}))
        .await;
    let user = reg.data()["user"].clone();
    let account_id = user["account"]["id"].as_str().unwrap().to_owned();
    let token = app.login("keys@ai.example", api_tests::PASSWORD).await.data()["access"].as_str().unwrap().to_owned();
    let t = Some(token.as_str());

    let empty = app.get("/api/v1/system/settings/integrations/openai/", t).await;
    assert_eq!(empty.data()["api_key_set"], json!(false));
    let saved = app
        .call(
            "PUT",
            "/api/v1/system/settings/integrations/openai/",
            Some(&json!({"apiKey": KEY, "config": {"model": "gpt-4o-mini", "max_tokens": 1500, "temperature": 0.2, "base_url": app.provider.base_url()}})),
            t,
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    for answer in [&saved, &app.get("/api/v1/system/settings/integrations/openai/", t).await] {
        assert!(!answer.body.to_string().contains(KEY), "the key was answered");
        assert_eq!(answer.data()["apiKey"], json!("sk-…WXYZ"));
        assert_eq!(answer.data()["config"]["model"], json!("gpt-4o-mini"));
    }
    // The key is in Secrets Manager, not in the table.
    let secret = app
        .secrets
        .get_secret_value()
        .secret_id(format!("{}/{account_id}/openai", app.provisioned.config.integration_secrets_prefix))
        .send()
        .await
        .unwrap();
    assert_eq!(secret.secret_string(), Some(KEY));
    let table = app.snapshot().await;
    assert!(!format!("{table:?}").contains(KEY));

    let bad = app
        .call(
            "PUT",
            "/api/v1/system/settings/integrations/openai/",
            Some(&json!({"config": {"temperature": 9, "colour": "red"}})),
            t,
        )
        .await;
    bad.assert_error(400, "Validation failed");
    assert!(!bad.field_errors("config.temperature").is_empty() && !bad.field_errors("config.colour").is_empty());
    app.get("/api/v1/system/settings/integrations/gemini/", t).await.assert_error(404, "Resource not found");

    // A custom clustering prompt.
    let prompt = app
        .post(
            "/api/v1/system/prompts/save/",
            &json!({"prompt_type": "clustering", "prompt_value": "CUSTOM CLUSTERING PROMPT"}),
            t,
        )
        .await;
    assert_eq!(prompt.status, 200, "{}", prompt.body);
    assert_eq!(app.get("/api/v1/system/prompts/by_type/clustering/", t).await.data()["is_custom"], json!(true));

    // A job uses the account's model, limits, key and prompt.
    let site =
        app.post("/api/v1/auth/sites/", &json!({"name": "S"}), t).await.data()["id"].as_str().unwrap().to_owned();
    let sector = app.post("/api/v1/auth/sectors/", &json!({"site_id": site, "name": "X"}), t).await.data()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let keyword = Keyword {
        id: igny8_domain::ids::new_id(),
        account_id: account_id.clone(),
        site_id: site.clone(),
        sector_id: sector.clone(),
        keyword: "dental implants".into(),
        volume: 10,
        difficulty: 10,
        intent: "commercial".into(),
        status: "new".into(),
        cluster_id: None,
        seed_keyword_id: None,
        created_at: time::OffsetDateTime::now_utc(),
    };
    app.services.store().await.put(keyword.item().unwrap(), None).await.unwrap();
    let account: Account = app.services.store().await.get(&Key::account(&account_id)).await.unwrap().unwrap();
    let input = json!({"site_id": site, "sector_id": sector, "keyword_ids": [keyword.id]});
    let job = jobs::submit(
        &app.services,
        &account,
        user["id"].as_str().unwrap(),
        api_tests::jobs::raw("auto_cluster", Queue::Ai, input, 10, 1),
        "t",
    )
    .await
    .unwrap();
    let mut state = String::new();
    for _ in 0..100 {
        let p = app.get(&format!("/api/v1/system/settings/task_progress/{}/", job.id), t).await;
        state = p.data()["state"].as_str().unwrap_or_default().to_owned();
        if state == "SUCCESS" || state == "FAILURE" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(state, "SUCCESS");
    let request = app.provider.requests().pop().unwrap();
    assert_eq!(request["model"], json!("gpt-4o-mini"));
    assert_eq!(request["max_tokens"], json!(1500));
    assert_eq!(request["response_format"], json!({"type": "json_object"}));
    assert!(request["messages"][1]["content"].as_str().unwrap().starts_with("CUSTOM CLUSTERING PROMPT"));
    assert_eq!(app.provider.authorizations().pop().unwrap(), format!("Bearer {KEY}"));

    // Reset brings the default back.
    let reset = app.post("/api/v1/system/prompts/reset/", &json!({"prompt_type": "clustering"}), t).await;
    assert_eq!(reset.data()["is_custom"], json!(false));
    let list = app.get("/api/v1/system/prompts/", t).await;
    assert_eq!(list.body["count"], json!(7));
}

#[tokio::test]
async fn only_managers_change_provider_settings_and_prompts() {
    let app = spawn_app().await;
    let reg = app
        .register_on_plan(json!({"email": "boss@ai.example", "password": api_tests::PASSWORD, "plan_id": "starter"}))
        .await;
    assert_eq!(reg.status, 201);
    let owner = app.login("boss@ai.example", api_tests::PASSWORD).await.data()["access"].as_str().unwrap().to_owned();
    let created = app
        .post(
            "/api/v1/auth/users/",
            &json!({"email": "ed@ai.example", "password": "editor passphrase", "role": "editor"}),
            Some(&owner),
        )
        .await;
    assert_eq!(created.status, 201);
    let editor = app.login("ed@ai.example", "editor passphrase").await.data()["access"].as_str().unwrap().to_owned();
    let e = Some(editor.as_str());
    app.get("/api/v1/system/settings/integrations/openai/", e).await.assert_error(403, "Permission denied");
    app.call("PUT", "/api/v1/system/settings/integrations/openai/", Some(&json!({"apiKey": KEY})), e)
        .await
        .assert_error(403, "Permission denied");
    app.post("/api/v1/system/prompts/save/", &json!({"prompt_type": "ideas", "prompt_value": "x"}), e)
        .await
        .assert_error(403, "Permission denied");
    assert_eq!(app.get("/api/v1/system/prompts/by_type/ideas/", e).await.status, 200);
    let bad = app
        .post("/api/v1/system/prompts/save/", &json!({"prompt_type": "poetry", "prompt_value": ""}), Some(&owner))
        .await;
    bad.assert_error(400, "Validation failed");
    assert!(!bad.field_errors("prompt_type").is_empty() && !bad.field_errors("prompt_value").is_empty());
}

#[tokio::test]
async fn the_connection_test_calls_the_provider_with_the_accounts_settings() {
    let app = spawn_app().await;
    let owner = app.signed_up("ping@ai.example").await;
    let t = Some(owner.access.as_str());
    let saved = app
        .call(
            "PUT",
            "/api/v1/system/settings/integrations/openai/",
            Some(&json!({"apiKey": KEY, "config": {"model": "gpt-4o", "base_url": app.provider.base_url()}})),
            t,
        )
        .await;
    assert_eq!(saved.status, 200);
    let ok = app.post("/api/v1/system/settings/integrations/openai/test/", &json!({}), t).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.data()["model"], json!("gpt-4o"));
    assert!(!ok.body.to_string().contains(KEY));
    app.provider.script([provider_test_server::Step::Status { code: 401, retry_after: None }]);
    let refused = app.post("/api/v1/system/settings/integrations/openai/test/", &json!({}), t).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body["error"].as_str().unwrap().contains("401"));
    let images = app.get("/api/v1/system/integrations/image_generation/", t).await;
    assert_eq!(images.data()["providers"], json!(["openai", "runware"]));
}

#[tokio::test]
async fn prompts_are_read_created_replaced_and_deleted_by_type() {
    let app = spawn_app().await;
    let owner = app.signed_up("crud@ai.example").await;
    let t = Some(owner.access.as_str());
    let created = app
        .post("/api/v1/system/prompts/", &json!({"prompt_type": "ideas", "prompt_value": "MY IDEAS PROMPT"}), t)
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.data()["is_custom"], json!(true));
    let one = app.get("/api/v1/system/prompts/ideas/", t).await;
    assert_eq!(one.data()["prompt_value"], json!("MY IDEAS PROMPT"));
    assert!(one.data()["default_value"].as_str().unwrap().contains("content strategist"));

    for (method, value) in [("PUT", "REPLACED"), ("PATCH", "PATCHED")] {
        let changed = app.call(method, "/api/v1/system/prompts/ideas/", Some(&json!({"prompt_value": value})), t).await;
        assert_eq!(changed.status, 200, "{}", changed.body);
        assert_eq!(app.get("/api/v1/system/prompts/by_type/ideas/", t).await.data()["prompt_value"], json!(value));
    }
    // Bad input changes nothing.
    let before = app.snapshot().await;
    let renamed = app
        .call(
            "PUT",
            "/api/v1/system/prompts/ideas/",
            Some(&json!({"prompt_value": "x", "prompt_type": "clustering"})),
            t,
        )
        .await;
    renamed.assert_error(400, "Validation failed");
    assert!(!renamed.field_errors("prompt_type").is_empty());
    app.call("PUT", "/api/v1/system/prompts/ideas/", Some(&json!({"prompt_value": ""})), t)
        .await
        .assert_error(400, "Validation failed");
    app.call("PUT", "/api/v1/system/prompts/poetry/", Some(&json!({"prompt_value": "x"})), t)
        .await
        .assert_error(404, "Resource not found");
    app.post("/api/v1/system/prompts/", &json!({"prompt_value": "x"}), t).await.assert_error(400, "Validation failed");
    assert_eq!(app.snapshot().await, before);

    // Another account sees only the default.
    let other = app.signed_up("other@ai.example").await;
    let theirs = app.get("/api/v1/system/prompts/ideas/", Some(&other.access)).await;
    assert_eq!(theirs.data()["is_custom"], json!(false));
    assert_eq!(app.call("DELETE", "/api/v1/system/prompts/ideas/", None, Some(&other.access)).await.status, 204);
    assert_eq!(app.get("/api/v1/system/prompts/ideas/", t).await.data()["prompt_value"], json!("PATCHED"));

    // Deleting the override brings the default back; the type itself stays.
    assert_eq!(app.call("DELETE", "/api/v1/system/prompts/ideas/", None, t).await.status, 204);
    let back = app.get("/api/v1/system/prompts/ideas/", t).await;
    assert_eq!(back.data()["is_custom"], json!(false));
    assert_eq!(back.data()["prompt_value"], back.data()["default_value"]);
    app.call("DELETE", "/api/v1/system/prompts/poetry/", None, t).await.assert_error(404, "Resource not found");
}

#[tokio::test]
async fn a_test_image_is_charged_once_and_a_failed_one_is_refunded() {
    let app = spawn_app().await;
    let reg = app
        .register_on_plan(json!({"email": "img@ai.example", "password": api_tests::PASSWORD, "plan_id": "starter"}))
        .await;
    let account_id = reg.data()["user"]["account"]["id"].as_str().unwrap().to_owned();
    let token = app.login("img@ai.example", api_tests::PASSWORD).await.data()["access"].as_str().unwrap().to_owned();
    let t = Some(token.as_str());
    let credits = || async {
        let store = app.services.store().await;
        let account: Account = store.get(&Key::account(&account_id)).await.unwrap().unwrap();
        let ledger = store
            .query_all(igny8_domain::store::Query::partition(format!("ACCOUNT#{account_id}")).sk_prefix("LEDGER#"))
            .await
            .unwrap();
        let sum: i64 = ledger
            .into_iter()
            .map(|i| igny8_domain::store::decode::<igny8_domain::credits::LedgerEntry>(i).unwrap().amount)
            .sum();
        assert_eq!(sum, account.credits, "the ledger sums to the balance");
        account.credits
    };
    let start = credits().await;
    for (pk, body) in [
        ("runware", json!({"apiKey": "rw-key-0123456789"})),
        (
            "image_generation",
            json!({"config": {"provider": "runware", "model": "runware:97@1", "base_url": app.provider.base_url()}}),
        ),
    ] {
        let saved = app.call("PUT", &format!("/api/v1/system/settings/integrations/{pk}/"), Some(&body), t).await;
        assert_eq!(saved.status, 200, "{}", saved.body);
    }

    let made = app
        .post(
            "/api/v1/system/settings/integrations/image_generation/generate/",
            &json!({"prompt": "A bright clinic"}),
            t,
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    assert_eq!(made.data()["provider"], json!("runware"));
    assert_eq!(made.data()["credits_used"], json!(5));
    let key = made.data()["s3_key"].as_str().unwrap();
    assert!(key.starts_with(&format!("accounts/{account_id}/images/test-")), "{key}");
    let bytes = reqwest::get(made.data()["image_url"].as_str().unwrap()).await.unwrap().bytes().await.unwrap();
    assert_eq!(&bytes[..], provider_test_server::PNG_1X1);
    let asked = app.provider.requests().pop().unwrap();
    assert_eq!(asked[0]["positivePrompt"], json!("A bright clinic"));
    assert_eq!(asked[0]["model"], json!("runware:97@1"));
    assert_eq!(app.provider.authorizations().pop().unwrap(), "Bearer rw-key-0123456789");
    assert_eq!(credits().await, start - 5);

    // Bad input, or a provider the settings do not use: 400, nothing charged, provider not asked.
    let asked_before = app.provider.requests().len();
    for (pk, body, field) in [
        ("image_generation", json!({}), "prompt"),
        ("image_generation", json!({"prompt": "x", "image_type": "poster"}), "image_type"),
        ("openai", json!({"prompt": "x"}), "integration_type"),
    ] {
        let bad = app.post(&format!("/api/v1/system/settings/integrations/{pk}/generate/"), &body, t).await;
        bad.assert_error(400, "Validation failed");
        assert!(!bad.field_errors(field).is_empty(), "{}", bad.body);
    }
    assert_eq!(app.provider.requests().len(), asked_before);
    assert_eq!(credits().await, start - 5);

    // The provider fails: the answer says so and the credits come back.
    app.provider.script(std::iter::repeat_n(provider_test_server::Step::Status { code: 500, retry_after: None }, 9));
    let failed = app
        .post("/api/v1/system/settings/integrations/runware/generate/", &json!({"prompt": "A bright clinic"}), t)
        .await;
    assert_eq!(failed.status, 400, "{}", failed.body);
    assert!(failed.body["error"].as_str().unwrap().contains("image provider"), "{}", failed.body);
    assert_eq!(credits().await, start - 5, "refunded");

    // A balance too short for an image is 402, before the provider is asked.
    app.services
        .store()
        .await
        .update(
            igny8_domain::store::Change::new(Key::account(&account_id), "SET credits = :c")
                .value(":c", igny8_domain::store::n(3)),
        )
        .await
        .unwrap();
    let asked_before = app.provider.requests().len();
    let short =
        app.post("/api/v1/system/settings/integrations/image_generation/generate/", &json!({"prompt": "x"}), t).await;
    assert_eq!(short.status, 402, "{}", short.body);
    assert_eq!(app.provider.requests().len(), asked_before);
}
