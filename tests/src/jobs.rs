//! Submitting AI jobs directly (reservation and queueing, as an API action would), for tests and
//! benchmarks that need a job of a given function and input.

use igny8_domain::accounts::Account;
use igny8_domain::jobs::{self, Job, Queue, Submission};
use igny8_domain::planner::{Keyword, SectorRecord};
use igny8_domain::{Services, modules};
use serde_json::{Value, json};

use crate::{Tenant, TestApp};

/// The submission of a job of the module function named `function` on `input` (JSON), with its
/// estimate.
pub fn submission(services: &Services, function: &str, input: Value) -> Submission {
    modules::ai_functions()
        .submission(function, &services.config.credit_costs, input)
        .expect("a registered function and an input it reads")
}

/// What `function` reserves for `input`, and in how many parts.
pub fn estimate(services: &Services, function: &str, input: &Value) -> (i64, u32) {
    let submission = submission(services, function, input.clone());
    (submission.reserve, submission.parts)
}

/// Reserves what the function estimates for `input` and queues the job through `services`.
pub async fn submit(services: &Services, account: &Account, user_id: &str, function: &str, input: Value) -> Job {
    let submission = submission(services, function, input);
    jobs::submit(services, account, user_id, submission, "test job").await.expect("job submitted")
}

/// A submission as it is, estimate and all: for jobs no function would have queued.
pub fn raw(function: &str, queue: Queue, input: Value, reserve: i64, parts: u32) -> Submission {
    Submission { function: function.to_owned(), queue, input, reserve, parts }
}

/// A new keyword of the tenant's sector (not stored yet).
pub fn keyword(t: &Tenant, text: String, volume: u32) -> Keyword {
    Keyword {
        id: igny8_domain::ids::new_id(),
        account_id: t.account_id.clone(),
        site_id: t.site.clone(),
        sector_id: t.sector.clone(),
        keyword: text,
        volume,
        difficulty: 30,
        intent: "informational".into(),
        status: "new".into(),
        cluster_id: None,
        seed_keyword_id: None,
        created_at: time::OffsetDateTime::now_utc(),
    }
}

/// Writes `keywords` straight to the table; answers their ids.
pub async fn put_keywords(app: &TestApp, keywords: Vec<Keyword>) -> Vec<String> {
    let ids = keywords.iter().map(|k| k.id.clone()).collect();
    app.services.store().await.put_batch(keywords.iter().map(|k| k.item().unwrap()).collect()).await.unwrap();
    ids
}

/// `n` keywords of the tenant's sector, written straight to the table; the provider test server
/// clusters them by their last word (`{tag}implants`, ...).
pub async fn keywords(app: &TestApp, t: &Tenant, n: usize, tag: &str) -> Vec<String> {
    let heads = ["implants", "braces", "whitening"];
    let fresh = (0..n)
        .map(|i| {
            let unique = igny8_domain::ids::new_id();
            keyword(t, format!("keyword {} {tag}{}", &unique[unique.len() - 8..], heads[i % heads.len()]), 100)
        })
        .collect();
    put_keywords(app, fresh).await
}

/// Services whose AI queue nobody polls: their jobs wait to be run by hand.
pub async fn parked(app: &TestApp) -> Services {
    let queue = app.sqs.create_queue().queue_name(format!("{}-parked", app.provisioned.names.prefix)).send().await;
    let mut config = app.services.config.clone();
    config.ai_jobs_queue_url = queue.unwrap().queue_url;
    Services::with_sdk_config(config, crate::sdk_config().await)
}

/// Points the tenant's OpenAI settings at the provider test server, `max_concurrency` calls at once.
pub async fn use_provider(app: &TestApp, t: &Tenant, max_concurrency: u32) {
    let saved = app
        .call(
            "PUT",
            "/api/v1/system/settings/integrations/openai/",
            Some(&json!({"apiKey": "sk-test-0123456789", "config": {
                "model": "gpt-4o-mini", "base_url": app.provider.base_url(), "max_concurrency": max_concurrency,
            }})),
            Some(&t.token),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
}
