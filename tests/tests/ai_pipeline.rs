//! The AI job pipeline end to end: reservation and job in one transaction, SQS, the AI worker (run
//! by the local poller exactly as the SQS event source would), the provider test server, the
//! writes, the settlement — and its faults.

use std::time::Duration;

use api_tests::{Tenant, TestApp, spawn_app};
use igny8_domain::accounts::Account;
use igny8_domain::ai::AiFunction;
use igny8_domain::jobs::{self, JobMessage, Queue};
use igny8_domain::planner::ai::{AutoCluster, ClusterInput, ClusterOutput};
use igny8_domain::planner::{self, Cluster, Idea, Keyword};
use igny8_domain::store::Key;
use igny8_domain::{ai, credits};
use provider_test_server::Step;
use serde_json::{Value, json};

/// `n` keywords in the tenant's sector; a keyword's last word decides its cluster at the test server.
async fn keywords(app: &TestApp, t: &Tenant, n: usize) -> Vec<String> {
    let heads = ["implants", "braces", "whitening"];
    let fresh =
        (0..n).map(|i| api_tests::jobs::keyword(t, format!("keyword {i} {}", heads[i % heads.len()]), 100 + i as u32));
    api_tests::jobs::put_keywords(app, fresh.collect()).await
}

async fn account(app: &TestApp, t: &Tenant) -> Account {
    app.services.store().await.get::<Account>(&Key::account(&t.account_id)).await.unwrap().unwrap()
}

async fn submit(app: &TestApp, t: &Tenant, function: &str, input: Value) -> Result<String, igny8_domain::ApiError> {
    let submission = api_tests::jobs::submission(&app.services, function, input);
    let account = account(app, t).await;
    jobs::submit(&app.services, &account, &t.user_id, submission, "test job").await.map(|j| j.id)
}

async fn records<T: serde::de::DeserializeOwned>(app: &TestApp, t: &Tenant, prefix: &str) -> Vec<T> {
    planner::in_sector(&app.services, &t.account_id, &t.sector, prefix).await.unwrap()
}

async fn cluster_job(app: &TestApp, t: &Tenant, n: usize) -> (String, Vec<String>) {
    let ids = keywords(app, t, n).await;
    let input = json!({"site_id": t.site, "sector_id": t.sector, "keyword_ids": ids});
    (submit(app, t, "auto_cluster", input).await.unwrap(), ids)
}

#[tokio::test]
async fn auto_cluster_then_ideas_are_written_and_charged_once() {
    let app = spawn_app().await;
    let t = app.tenant("ai@pipe.example", "starter").await;
    let (task, ids) = cluster_job(&app, &t, 45).await;
    let done = app.settled(&t.token, &task).await;
    assert_eq!(done["state"], json!("SUCCESS"), "{done}");
    assert_eq!(done["meta"]["phase"], json!("DONE"));
    assert_eq!(done["meta"]["percentage"], json!(100));
    assert_eq!(done["meta"]["parts_total"], json!(3));
    assert_eq!(done["meta"]["credits_charged"], json!(30), "3 calls of 20 keywords at 10 credits");

    let clusters: Vec<Cluster> = records(&app, &t, planner::CLUSTER_PREFIX).await;
    let keywords: Vec<Keyword> = records(&app, &t, planner::KEYWORD_PREFIX).await;
    assert_eq!(clusters.len(), 3, "implants, braces, whitening");
    assert!(keywords.iter().all(|k| k.cluster_id.is_some()));
    for c in &clusters {
        let members: Vec<&Keyword> =
            keywords.iter().filter(|k| k.cluster_id.as_deref() == Some(c.id.as_str())).collect();
        assert_eq!(c.keywords_count as usize, members.len());
        assert_eq!(c.volume, members.iter().map(|k| k.volume as u64).sum::<u64>());
    }
    assert_eq!(keywords.len(), ids.len());
    assert_eq!(app.provider.requests().len(), 3);
    assert_eq!(account(&app, &t).await.credits, 1000 - 30);
    assert_eq!(app.ledger_sum(&t.account_id).await, 1000 - 30);

    // Ideas for two clusters: 15 credits each.
    let input = json!({"site_id": t.site, "sector_id": t.sector, "cluster_ids": [clusters[0].id, clusters[1].id]});
    let task = submit(&app, &t, "generate_ideas", input).await.unwrap();
    let done = app.settled(&t.token, &task).await;
    assert_eq!(done["state"], json!("SUCCESS"), "{done}");
    let ideas: Vec<Idea> = records(&app, &t, planner::IDEA_PREFIX).await;
    assert_eq!(ideas.len(), 6, "three ideas per cluster");
    assert!(
        ideas
            .iter()
            .all(|i| i.cluster_id.as_ref() == Some(&clusters[0].id) || i.cluster_id.as_ref() == Some(&clusters[1].id))
    );
    assert_eq!(account(&app, &t).await.credits, 1000 - 30 - 30);
    assert_eq!(app.ledger_sum(&t.account_id).await, 1000 - 60);
    let usage = app.partitions(&[format!("ACCOUNT#{}", t.account_id)]).await;
    let logs: Vec<_> = usage.iter().filter(|i| i["SK"].as_s().is_ok_and(|sk| sk.starts_with("USAGELOG#"))).collect();
    assert_eq!(logs.len(), 5, "one usage record per model call");
    let logged: i64 = logs.iter().map(|l| l["credits_used"].as_n().unwrap().parse::<i64>().unwrap()).sum();
    assert_eq!(logged, 60);
}

#[tokio::test]
async fn rate_limited_provider_is_retried_and_charged_once() {
    let app = spawn_app().await;
    let t = app.tenant("429@pipe.example", "starter").await;
    app.provider
        .script([Step::Status { code: 429, retry_after: Some(0) }, Step::Status { code: 503, retry_after: None }]);
    let (task, _) = cluster_job(&app, &t, 10).await;
    let done = app.settled(&t.token, &task).await;
    assert_eq!(done["state"], json!("SUCCESS"), "{done}");
    assert_eq!(app.provider.requests().len(), 3, "429, 503, then the answer");
    assert_eq!(account(&app, &t).await.credits, 990);
    assert_eq!(app.ledger_sum(&t.account_id).await, 990);
}

#[tokio::test]
async fn provider_down_ends_in_the_dlq_with_a_refund_and_nothing_written() {
    let app = spawn_app().await;
    let t = app.tenant("500@pipe.example", "starter").await;
    app.provider.script(std::iter::repeat_n(Step::Status { code: 500, retry_after: None }, 9));
    let (task, _) = cluster_job(&app, &t, 10).await;
    let done = app.settled(&t.token, &task).await;
    assert_eq!(done["state"], json!("FAILURE"), "{done}");
    assert_eq!(done["meta"]["error_type"], json!("ProviderUnavailable"));
    assert_eq!(done["meta"]["attempts"], json!(3));
    assert!(records::<Cluster>(&app, &t, planner::CLUSTER_PREFIX).await.is_empty());
    assert!(records::<Keyword>(&app, &t, planner::KEYWORD_PREFIX).await.iter().all(|k| k.cluster_id.is_none()));
    assert_eq!(account(&app, &t).await.credits, 1000, "the reservation came back");
    assert_eq!(app.ledger_sum(&t.account_id).await, 1000);
    // The message went to the dead-letter queue.
    let found = app.dlq_message("AiJobsDlq").await;
    let body: JobMessage = serde_json::from_str(&found.expect("a message in the DLQ")).unwrap();
    assert_eq!(body.job_id, task);
}

#[tokio::test]
async fn malformed_model_output_is_retried_then_fails_cleanly() {
    let app = spawn_app().await;
    let t = app.tenant("bad@pipe.example", "starter").await;
    app.provider.script([Step::Malformed, Step::Reply(json!({"clusters": "nope"})), Step::Malformed]);
    let (task, _) = cluster_job(&app, &t, 5).await;
    let done = app.settled(&t.token, &task).await;
    assert_eq!(done["state"], json!("FAILURE"), "{done}");
    assert_eq!(done["meta"]["error_type"], json!("MalformedOutput"));
    assert_eq!(app.provider.requests().len(), 3, "one call per delivery");
    assert!(records::<Cluster>(&app, &t, planner::CLUSTER_PREFIX).await.is_empty());
    assert_eq!(account(&app, &t).await.credits, 1000);
    assert_eq!(app.ledger_sum(&t.account_id).await, 1000);
}

#[tokio::test]
async fn a_redelivered_message_neither_charges_nor_writes_twice() {
    let app = spawn_app().await;
    let t = app.tenant("dup@pipe.example", "starter").await;
    let (task, _) = cluster_job(&app, &t, 12).await;
    assert_eq!(app.settled(&t.token, &task).await["state"], json!("SUCCESS"));
    let clusters_before: Vec<Cluster> = records(&app, &t, planner::CLUSTER_PREFIX).await;
    let before = account(&app, &t).await.credits;
    let body = serde_json::to_string(&JobMessage { account_id: t.account_id.clone(), job_id: task.clone() }).unwrap();
    let queue = app.services.config.ai_jobs_queue_url.clone().unwrap();
    for _ in 0..2 {
        app.sqs.send_message().queue_url(&queue).message_body(&body).send().await.unwrap();
    }
    // Wait until the poller consumed both.
    for _ in 0..100 {
        let attrs = app
            .sqs
            .get_queue_attributes()
            .queue_url(&queue)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
            .unwrap();
        let a = attrs.attributes.unwrap_or_default();
        let visible =
            a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages).cloned().unwrap_or_default();
        let inflight = a
            .get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .cloned()
            .unwrap_or_default();
        if visible == "0" && inflight == "0" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(account(&app, &t).await.credits, before);
    assert_eq!(records::<Cluster>(&app, &t, planner::CLUSTER_PREFIX).await, clusters_before);
    assert_eq!(app.provider.requests().len(), 1);
    assert_eq!(app.ledger_sum(&t.account_id).await, before);
}

#[tokio::test]
async fn a_worker_killed_between_writes_and_settlement_is_completed_by_the_next_delivery() {
    let app = spawn_app().await;
    let t = app.tenant("crash@pipe.example", "starter").await;
    let ids = keywords(&app, &t, 15).await;
    let input = json!({"site_id": t.site, "sector_id": t.sector, "keyword_ids": ids});
    let (reserve, parts) = api_tests::jobs::estimate(&app.services, "auto_cluster", &input);
    // Submit through services whose queue nobody polls, then do the first run's work by hand and
    // stop before the settlement, as a killed worker would.
    let mut parked = app.services.config.clone();
    let parked_queue =
        app.sqs.create_queue().queue_name(format!("{}-parked", app.provisioned.names.prefix)).send().await.unwrap();
    parked.ai_jobs_queue_url = parked_queue.queue_url;
    let parked = igny8_domain::Services::with_sdk_config(parked, api_tests::sdk_config().await);
    let job = jobs::submit(
        &parked,
        &account(&app, &t).await,
        &t.user_id,
        api_tests::jobs::raw("auto_cluster", Queue::Ai, input, reserve, parts),
        "crash test",
    )
    .await
    .unwrap();
    let job = jobs::start_attempt(&app.services, &job).await.unwrap();
    let batch = ai::Batch::new();
    let context = ai::JobContext::new(&app.services, &job, app.services.config.provider_retry, &batch);
    let input: ClusterInput = serde_json::from_value(job.input.clone()).unwrap();
    let run = AutoCluster.run(&context, &input).await.unwrap();
    let output = jobs::save_output(&app.services, &job, serde_json::to_value(&run).unwrap()).await.unwrap();
    let run: ai::Run<ClusterOutput> = serde_json::from_value(output).unwrap();
    AutoCluster.apply(&context, &input, &run.output).await.unwrap();
    let written: Vec<Cluster> = records(&app, &t, planner::CLUSTER_PREFIX).await;
    assert_eq!(account(&app, &t).await.credits, 1000 - reserve, "reserved, not settled");

    // The message comes back (visibility timeout): the next delivery finishes the job.
    let body = serde_json::to_string(&JobMessage { account_id: t.account_id.clone(), job_id: job.id.clone() }).unwrap();
    app.sqs
        .send_message()
        .queue_url(app.services.config.ai_jobs_queue_url.clone().unwrap())
        .message_body(body)
        .send()
        .await
        .unwrap();
    let done = app.settled(&t.token, &job.id).await;
    assert_eq!(done["state"], json!("SUCCESS"), "{done}");
    assert_eq!(app.provider.requests().len(), 1, "the model was not asked again");
    assert_eq!(
        records::<Cluster>(&app, &t, planner::CLUSTER_PREFIX).await,
        written,
        "the writes were replayed, not duplicated"
    );
    assert_eq!(account(&app, &t).await.credits, 1000 - 10);
    assert_eq!(app.ledger_sum(&t.account_id).await, 1000 - 10);
}

#[tokio::test]
async fn twice_as_many_jobs_as_credits_exactly_the_affordable_ones_are_accepted() {
    let app = spawn_app().await;
    // The free plan starts with 100 credits: ten one-call clustering jobs of 10 credits.
    let t = app.tenant("race@pipe.example", "free").await;
    let ids = keywords(&app, &t, 5).await;
    let input = json!({"site_id": t.site, "sector_id": t.sector, "keyword_ids": ids});
    let attempts = (0..20).map(|_| submit(&app, &t, "auto_cluster", input.clone()));
    let results = futures_util::future::join_all(attempts).await;
    let accepted: Vec<&String> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let refused: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(accepted.len(), 10);
    assert_eq!(refused.len(), 10);
    assert!(refused.iter().all(|e| e.status().as_u16() == 402), "{refused:?}");
    assert!(account(&app, &t).await.credits >= 0);
    for task in accepted {
        assert_eq!(app.settled(&t.token, task).await["state"], json!("SUCCESS"));
    }
    let balance = account(&app, &t).await.credits;
    assert_eq!(balance, 0);
    assert_eq!(app.ledger_sum(&t.account_id).await, balance);
    let costs = credits::CreditCosts::default();
    assert_eq!(costs.cost(credits::Operation::Clustering, 1), 10);
}

#[tokio::test]
async fn task_progress_is_only_for_the_jobs_account() {
    let app = spawn_app().await;
    let t = app.tenant("own@pipe.example", "starter").await;
    let other = app.tenant("other@pipe.example", "starter").await;
    let (task, _) = cluster_job(&app, &t, 3).await;
    app.settled(&t.token, &task).await;
    app.get(&format!("/api/v1/system/settings/task_progress/{task}/"), Some(&other.token))
        .await
        .assert_error(404, "Resource not found");
    app.get(&format!("/api/v1/system/settings/task_progress/{task}/"), None)
        .await
        .assert_error(401, "Authentication required");
}
