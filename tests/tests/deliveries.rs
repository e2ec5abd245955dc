//! How the workers use their deliveries: a job longer than one invocation saves its parts and goes
//! on in a new message, asking the model once per part and charging once; a message that failed
//! comes back after a short backoff, not after the queue's whole visibility timeout; and the
//! template keeps every worker queue's visibility timeout at six times its function's timeout,
//! with room in each timeout for one whole model call.

use std::time::{Duration, Instant};

use api_tests::{TestApp, spawn_app};
use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use igny8_domain::accounts::Account;
use igny8_domain::ai::context::WRAP_UP;
use igny8_domain::ai::{RetryPolicy, worker};
use igny8_domain::jobs::{self, JobState};
use igny8_domain::planner::{self, Keyword};
use igny8_domain::store::Key;
use igny8_domain::{Services, modules};
use local_stack::template::Template;
use provider_test_server::Step;
use serde_json::json;

/// Every message the queue at `url` hands out now, as the SQS event Lambda would pass on.
async fn receive(app: &TestApp, url: &str) -> SqsEvent {
    let out = app
        .sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .expect("receive");
    let name = url.rsplit('/').next().unwrap();
    let records: Vec<serde_json::Value> = out
        .messages()
        .iter()
        .map(|m| {
            let attributes: serde_json::Map<String, serde_json::Value> =
                m.attributes().into_iter().flatten().map(|(k, v)| (k.as_str().to_owned(), json!(v))).collect();
            json!({"messageId": m.message_id(), "receiptHandle": m.receipt_handle(), "body": m.body(),
                   "attributes": attributes, "messageAttributes": {},
                   "eventSource": "aws:sqs", "eventSourceARN": format!("arn:aws:sqs:us-east-1:000000000000:{name}")})
        })
        .collect();
    serde_json::from_value(json!({"Records": records})).expect("an SQS event")
}

async fn account(app: &TestApp, account_id: &str) -> Account {
    app.services.store().await.get::<Account>(&Key::account(account_id)).await.unwrap().unwrap()
}

fn queue_of(services: &Services) -> String {
    services.config.ai_jobs_queue_url.clone().expect("a queue")
}

#[tokio::test]
async fn a_job_longer_than_its_delivery_goes_on_in_a_new_message_and_asks_each_part_once() {
    let app = spawn_app().await;
    let parked = api_tests::jobs::parked(&app).await;
    let t = app.tenant("resume@deliveries.example", "starter").await;
    api_tests::jobs::use_provider(&app, &t, 1).await;
    app.provider.set_delay(Duration::from_secs(1));
    let ids = api_tests::jobs::keywords(&app, &t, 5 * planner::ai::CLUSTER_BATCH, "").await;
    let before = app.credits(&t.account_id).await;
    let input = json!({"site_id": t.site, "sector_id": t.sector, "keyword_ids": ids});
    let (reserve, parts) = api_tests::jobs::estimate(&parked, "auto_cluster", &input);
    assert_eq!(parts, 5);
    let account = account(&app, &t.account_id).await;
    let job = api_tests::jobs::submit(&parked, &account, &t.user_id, "auto_cluster", input).await;
    let functions = modules::ai_functions();

    // A delivery with time for one call and a second and a half more: a part or two, one call at a time.
    let retry = parked.config.provider_retry;
    let deadline = Instant::now() + retry.timeout + WRAP_UP + Duration::from_millis(1500);
    let first = receive(&app, &queue_of(&parked)).await;
    assert_eq!(first.records.len(), 1);
    let answer = worker::handle_batch(&parked, &functions, first.clone(), Some(deadline)).await;
    assert!(answer.batch_item_failures.is_empty(), "a continuation is not a failure: {answer:?}");
    let asked = app.provider.requests().len();
    assert!((1..5).contains(&asked), "the first delivery asked for {asked} of 5 parts");
    let stopped = jobs::load(&app.services, &t.account_id, &job.id).await.unwrap().unwrap();
    assert_eq!(stopped.state, JobState::Progress);
    assert!(!stopped.settled);
    assert!(stopped.message.contains("continuing"), "{}", stopped.message);
    assert_eq!(app.credits(&t.account_id).await, before - reserve, "reserved, nothing charged yet");

    // The job goes on in a new message (its receive count starts over), without a deadline now.
    let next = receive(&app, &queue_of(&parked)).await;
    assert_eq!(next.records.len(), 1, "one continuation");
    assert_eq!(next.records[0].body, first.records[0].body);
    assert_ne!(next.records[0].message_id, first.records[0].message_id);
    assert_eq!(igny8_domain::queue::receives(&next.records[0]), 1);
    let answer = worker::handle_batch(&parked, &functions, next, None).await;
    assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
    let done = jobs::load(&app.services, &t.account_id, &job.id).await.unwrap().unwrap();
    assert_eq!(done.state, JobState::Success, "{:?}", done.error);
    assert_eq!(app.provider.requests().len(), 5, "each part asked once");
    assert_eq!(app.credits(&t.account_id).await, before - reserve, "charged once, for the five parts");
    let keywords: Vec<Keyword> =
        planner::in_sector(&app.services, &t.account_id, &t.sector, planner::KEYWORD_PREFIX).await.unwrap();
    assert_eq!(keywords.iter().filter(|k| k.cluster_id.is_some()).count(), 100, "every keyword clustered");
    assert!(receive(&app, &queue_of(&parked)).await.records.is_empty(), "nothing left in the queue");
}

#[tokio::test]
async fn a_failed_message_comes_back_after_its_backoff_not_the_queues_visibility_timeout() {
    let app = spawn_app().await;
    let mut parked = api_tests::jobs::parked(&app).await;
    let url = queue_of(&parked);
    // The queue's own timeout: longer than the test.
    let attributes =
        app.sqs.set_queue_attributes().queue_url(&url).attributes(QueueAttributeName::VisibilityTimeout, "900");
    attributes.send().await.expect("set the visibility timeout");
    parked.config.retry_delay = Duration::from_secs(2);
    let t = app.tenant("backoff@deliveries.example", "starter").await;
    api_tests::jobs::use_provider(&app, &t, 1).await;
    let ids = api_tests::jobs::keywords(&app, &t, 3, "").await;
    let account = account(&app, &t.account_id).await;
    let input = json!({"site_id": t.site, "sector_id": t.sector, "keyword_ids": ids});
    let job = api_tests::jobs::submit(&parked, &account, &t.user_id, "auto_cluster", input).await;
    let failing = Step::Status { code: 503, retry_after: None };
    app.provider.script(std::iter::repeat_n(failing, parked.config.provider_retry.attempts as usize));

    let first = receive(&app, &url).await;
    let answer = worker::handle_batch(&parked, &modules::ai_functions(), first, None).await;
    assert_eq!(answer.batch_item_failures.len(), 1, "the provider is down: deliver again");
    let failed_at = Instant::now();
    assert!(receive(&app, &url).await.records.is_empty(), "not at once");
    let again = loop {
        let got = receive(&app, &url).await;
        if !got.records.is_empty() || failed_at.elapsed() > Duration::from_secs(30) {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let waited = failed_at.elapsed();
    assert_eq!(again.records.len(), 1, "back after the backoff, not after 900 s");
    assert!(waited >= Duration::from_millis(1500), "after about 2 s: {waited:?}");
    assert_eq!(igny8_domain::queue::receives(&again.records[0]), 2);
    let answer = worker::handle_batch(&parked, &modules::ai_functions(), again, None).await;
    assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
    let done = jobs::load(&app.services, &t.account_id, &job.id).await.unwrap().unwrap();
    assert_eq!(done.state, JobState::Success, "{:?}", done.error);
}

#[test]
fn worker_queues_wait_six_times_their_functions_timeout_and_a_timeout_holds_a_whole_model_call() {
    let template = Template::load_default().expect("template.yaml");
    assert!(template.sqs_workers.len() >= 3, "{:?}", template.sqs_workers);
    for worker in &template.sqs_workers {
        let queue = template.queues.iter().find(|q| q.logical_id == worker.queue).expect("the worker's queue");
        let visibility = queue.visibility_timeout.expect("a stated visibility timeout");
        assert!(
            visibility >= 6 * worker.timeout_seconds,
            "{}: {visibility} s < 6 × {} s",
            worker.binary,
            worker.timeout_seconds
        );
        // A retry after a crash waits the visibility timeout: at most a quarter of an hour.
        assert!(visibility <= 900, "{}: {visibility} s", worker.binary);
        if worker.binary.ends_with("ai-worker") || worker.binary.ends_with("image-worker") {
            let call = RetryPolicy::default().timeout + WRAP_UP;
            assert!(
                Duration::from_secs(worker.timeout_seconds) > call,
                "{}: a {} s timeout leaves no room for one call and its wrap-up",
                worker.binary,
                worker.timeout_seconds
            );
        }
    }
}
