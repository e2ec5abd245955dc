//! AI functions as plug-ins: a function the test crate defines runs through the queue and the
//! worker like the modules' own; a job whose function is not registered, or whose input no longer
//! reads, fails with its reservation refunded and leaves nothing in the queue; the requests a job
//! makes stay bounded; calls in flight follow the account's setting and the provider's 429s; and
//! the engine imports no module.

use api_tests::{Tenant, TestApp, spawn_app, spawn_app_with_functions};
use igny8_domain::accounts::Account;
use igny8_domain::ai::worker::{self, Delivery, Outcome};
use igny8_domain::ai::{AiFunction, Applied, Batch, Estimate, JobContext, JobError, Run};
use igny8_domain::credits::{CreditCosts, Operation};
use igny8_domain::jobs::{self, JobMessage, Queue};
use igny8_domain::planner::{self, Cluster, Keyword};
use igny8_domain::store::{self, Item, Key};
use igny8_domain::{ApiError, modules};
use provider_test_server::Step;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A function no module has: summarises a text into one record of the account.
struct Summarise;

#[derive(Serialize, Deserialize)]
struct SummaryInput {
    text: String,
}

#[derive(Serialize, Deserialize)]
struct SummaryOutput {
    id: String,
    summary: String,
}

#[derive(Serialize)]
struct Summarised {
    summary_id: String,
}

fn summary_key(account_id: &str, id: &str) -> Key {
    Key::new(format!("ACCOUNT#{account_id}"), format!("SUMMARY#{id}"))
}

impl AiFunction for Summarise {
    const NAME: &'static str = "summarise";
    const MODULE: &'static str = "writer";
    const OPERATION: Operation = Operation::IdeaGeneration;
    type Input = SummaryInput;
    type Output = SummaryOutput;
    type Result = Summarised;

    fn estimate(&self, costs: &CreditCosts, _: &SummaryInput) -> Estimate {
        Estimate { credits: costs.cost(Self::OPERATION, 2), parts: 1 }
    }

    async fn run(&self, job: &JobContext<'_>, input: &SummaryInput) -> Result<Run<SummaryOutput>, JobError> {
        let model = job.model().await?;
        let (answer, call) = model
            .ask("You answer only with JSON.", "Summarise INPUT.", &json!({"task": "summarise", "text": input.text}))
            .await?;
        let summary = answer["summary"].as_str().ok_or_else(|| JobError::malformed("no summary"))?.to_owned();
        Ok(Run { output: SummaryOutput { id: igny8_domain::ids::new_id(), summary }, calls: vec![call], parts: 1 })
    }

    async fn apply(
        &self,
        job: &JobContext<'_>,
        _: &SummaryInput,
        output: &SummaryOutput,
    ) -> Result<Applied<Summarised>, ApiError> {
        let item =
            Item::new(&summary_key(job.account_id(), &output.id), "Summary", &json!({"summary": output.summary}))?;
        job.services.store().await.put(item, None).await?;
        Ok(Applied { result: Summarised { summary_id: output.id.clone() }, once: vec![] })
    }
}

async fn account(app: &TestApp, t: &Tenant) -> Account {
    app.services.store().await.get::<Account>(&Key::account(&t.account_id)).await.unwrap().unwrap()
}

fn ai_queue(app: &TestApp) -> String {
    app.services.config.ai_jobs_queue_url.clone().unwrap()
}

#[tokio::test]
async fn a_function_the_engine_never_heard_of_runs_through_the_queue_and_the_worker() {
    let app = spawn_app_with_functions(modules::ai_functions().with(Summarise)).await;
    let t = app.tenant("plug@ai.example", "starter").await;
    app.provider.script([Step::Reply(json!({"summary": "Implants last."}))]);
    let input = SummaryInput { text: "Dental implants replace missing teeth for decades.".into() };
    let submission =
        igny8_domain::ai::plugin::submission(&Summarise, &app.services.config.credit_costs, &input).unwrap();
    assert_eq!((submission.reserve, submission.parts), (30, 1));
    let job = jobs::submit(&app.services, &account(&app, &t).await, &t.user_id, submission, "summary").await.unwrap();

    let done = app.settled(&t.token, &job.id).await;
    assert_eq!(done["state"], json!("SUCCESS"), "{done}");
    assert_eq!(done["meta"]["function"], json!("summarise"));
    let summary_id = done["meta"]["result"]["summary_id"].as_str().unwrap();
    let stored: Value = app.services.store().await.get(&summary_key(&t.account_id, summary_id)).await.unwrap().unwrap();
    assert_eq!(stored["summary"], json!("Implants last."));
    let asked = app.provider.requests();
    assert_eq!(asked.len(), 1);
    assert!(asked[0].to_string().contains("Dental implants replace missing teeth"), "the model got the input");
    // Charged like any function: its operation's price for its units, once, with a usage log.
    assert_eq!(done["meta"]["credits_charged"], json!(15));
    assert_eq!(account(&app, &t).await.credits, 1000 - 15);
    assert_eq!(app.ledger_sum(&t.account_id).await, 1000 - 15);
    assert!(app.queue_drained(&ai_queue(&app)).await);
}

#[tokio::test]
async fn a_job_of_an_unregistered_function_fails_refunded_and_leaves_the_queue() {
    let app = spawn_app().await;
    let t = app.tenant("unknown@ai.example", "starter").await;
    let submission = api_tests::jobs::raw("summarise", Queue::Ai, json!({"text": "x"}), 10, 1);
    let job = jobs::submit(&app.services, &account(&app, &t).await, &t.user_id, submission, "t").await.unwrap();
    assert_eq!(account(&app, &t).await.credits, 1000 - 10, "reserved");

    let done = app.settled(&t.token, &job.id).await;
    assert_eq!(done["state"], json!("FAILURE"), "{done}");
    assert_eq!(done["meta"]["error_type"], json!("UnknownFunction"));
    assert!(done["meta"]["error"].as_str().unwrap().contains("summarise"), "{done}");
    assert_eq!(done["meta"]["attempts"], json!(1), "not retried: it cannot get better");
    assert_eq!(account(&app, &t).await.credits, 1000, "the reservation came back");
    assert_eq!(app.ledger_sum(&t.account_id).await, 1000);
    assert!(app.queue_drained(&ai_queue(&app)).await, "the message was deleted");
    assert!(app.dlq_message("AiJobsDlq").await.is_none());
    assert!(app.provider.requests().is_empty());
}

#[tokio::test]
async fn a_job_whose_input_no_longer_reads_fails_refunded_and_leaves_the_queue() {
    let app = spawn_app().await;
    let t = app.tenant("unread@ai.example", "starter").await;
    for (input, email) in [
        (json!({"site_id": t.site, "keyword_ids": ["a"]}), "no sector"),
        (json!({"site_id": t.site, "sector_id": t.sector, "keyword_ids": "not a list"}), "not a list"),
        (json!("a string"), "not an object"),
    ] {
        let submission = api_tests::jobs::raw("auto_cluster", Queue::Ai, input, 10, 1);
        let job = jobs::submit(&app.services, &account(&app, &t).await, &t.user_id, submission, email).await.unwrap();
        let done = app.settled(&t.token, &job.id).await;
        assert_eq!(done["state"], json!("FAILURE"), "{email}: {done}");
        assert_eq!(done["meta"]["error_type"], json!("InvalidInput"), "{email}");
        assert_eq!(done["meta"]["attempts"], json!(1), "{email}");
    }
    assert_eq!(account(&app, &t).await.credits, 1000);
    assert_eq!(app.ledger_sum(&t.account_id).await, 1000);
    assert!(app.queue_drained(&ai_queue(&app)).await);
    assert!(app.dlq_message("AiJobsDlq").await.is_none());
    assert!(app.provider.requests().is_empty());
}

#[tokio::test]
async fn a_one_call_clustering_job_makes_at_most_nine_requests_and_a_batch_reads_settings_once() {
    let app = spawn_app().await;
    let parked = api_tests::jobs::parked(&app).await;
    let t = app.tenant("count@ai.example", "starter").await;
    let functions = modules::ai_functions();
    let batch = Batch::new();
    let config = &app.services.config;
    let delivery = Delivery {
        receive_count: 1,
        max_receives: config.job_max_receives,
        retry: config.provider_retry,
        deadline: None,
    };
    let mut counts = Vec::new();
    // New cluster names; then the first ones again with new ones: names the sector has are reused.
    for round in [&["first"][..], &["second"], &["first", "third"]] {
        let mut ids = Vec::new();
        for tag in round {
            ids.extend(api_tests::jobs::keywords(&app, &t, 3, tag).await);
        }
        let input = json!({"site_id": t.site, "sector_id": t.sector, "keyword_ids": ids});
        let job = api_tests::jobs::submit(&parked, &account(&app, &t).await, &t.user_id, "auto_cluster", input).await;
        let message = JobMessage { account_id: t.account_id.clone(), job_id: job.id.clone() };
        let (outcome, requests) =
            store::counting(worker::handle(&app.services, &functions, &batch, &message, delivery)).await;
        assert_eq!(outcome.unwrap(), Outcome::Done);
        let job = jobs::load(&app.services, &t.account_id, &job.id).await.unwrap().unwrap();
        assert_eq!(job.state, jobs::JobState::Success, "{:?}", job.error);
        counts.push(requests);
    }
    // Nine with the account's item, read at the same time as the attempt for its module switches.
    assert!(counts[0] <= 9, "a one-call clustering job made {} DynamoDB requests", counts[0]);
    assert_eq!(counts[1], counts[0] - 1, "the second job of the batch read no settings or prompts: {counts:?}");
    assert_eq!(
        counts[2],
        counts[1] + 2,
        "reusing three of the sector's clusters costs a read of their names and a second transaction: {counts:?}"
    );
    let clusters: Vec<Cluster> =
        planner::in_sector(&app.services, &t.account_id, &t.sector, planner::CLUSTER_PREFIX).await.unwrap();
    assert_eq!(clusters.len(), 9, "first, second and third of each head, once");
    let keywords: Vec<Keyword> =
        planner::in_sector(&app.services, &t.account_id, &t.sector, planner::KEYWORD_PREFIX).await.unwrap();
    for cluster in &clusters {
        let members: Vec<&Keyword> =
            keywords.iter().filter(|k| k.cluster_id.as_deref() == Some(cluster.id.as_str())).collect();
        let expected = if cluster.name.starts_with("first") { 2 } else { 1 };
        assert_eq!(members.len(), expected, "{}", cluster.name);
        assert_eq!(cluster.keywords_count as usize, expected, "{}", cluster.name);
        let head = cluster.name.trim_end_matches(" topics");
        assert!(members.iter().all(|k| k.keyword.ends_with(head)), "{}", cluster.name);
    }
}

#[tokio::test]
async fn calls_in_flight_follow_the_accounts_setting_and_halve_after_a_429() {
    let app = spawn_app().await;
    let t = app.tenant("flight@ai.example", "starter").await;
    let bad = app
        .call(
            "PUT",
            "/api/v1/system/settings/integrations/openai/",
            Some(&json!({"config": {"max_concurrency": 17}})),
            Some(&t.token),
        )
        .await;
    bad.assert_error(400, "Validation failed");
    assert!(!bad.field_errors("config.max_concurrency").is_empty(), "{}", bad.body);

    api_tests::jobs::use_provider(&app, &t, 2).await;
    app.provider.set_delay(std::time::Duration::from_millis(300));
    let ids = api_tests::jobs::keywords(&app, &t, 100, "").await;
    let queued = app
        .post("/api/v1/planner/keywords/auto_cluster/", &json!({"ids": ids, "sector_id": t.sector}), Some(&t.token))
        .await;
    assert_eq!(queued.status, 200, "{}", queued.body);
    let done = app.settled(&t.token, queued.data()["task_id"].as_str().unwrap()).await;
    assert_eq!(done["state"], json!("SUCCESS"), "{done}");
    assert_eq!(app.provider.requests().len(), 5);
    assert_eq!(app.provider.peak_in_flight(), 2, "{:?}", app.provider.in_flight_at_arrival());

    // Four at once, until the provider answers 429: two at once for the rest of the job.
    api_tests::jobs::use_provider(&app, &t, 4).await;
    app.provider.script([Step::Status { code: 429, retry_after: None }]);
    let ids = api_tests::jobs::keywords(&app, &t, 200, "").await;
    let queued = app
        .post("/api/v1/planner/keywords/auto_cluster/", &json!({"ids": ids, "sector_id": t.sector}), Some(&t.token))
        .await;
    let done = app.settled(&t.token, queued.data()["task_id"].as_str().unwrap()).await;
    assert_eq!(done["state"], json!("SUCCESS"), "{done}");
    let arrivals = app.provider.in_flight_at_arrival();
    assert_eq!(arrivals.len(), 5 + 10 + 1, "ten calls and one retry: {arrivals:?}");
    let job = &arrivals[5..];
    assert_eq!(job[..4].iter().max(), Some(&4), "the first wave: {arrivals:?}");
    assert!(job[5..].iter().all(|&n| n <= 2), "after the 429: {arrivals:?}");
}

/// The engine's files: the job record, reservation and settlement, the usage log, the store, the
/// event runtime and `ai/` (provider clients, settings, prompts, the plug-in contract, the worker).
fn engine_files() -> Vec<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src");
    let mut files: Vec<std::path::PathBuf> =
        ["jobs.rs", "credits.rs", "usage.rs", "runtime.rs", "services.rs", "config.rs"]
            .iter()
            .map(|f| root.join(f))
            .collect();
    for dir in ["ai", "store"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    files
}

#[test]
fn the_engine_imports_no_module() {
    let files = engine_files();
    assert!(files.len() > 12, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for module in ["planner", "writer"] {
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                assert!(
                    !(code.contains(&format!("crate::{module}")) || code.contains(&format!("{module}::"))),
                    "{}:{} names the {module} module: {line}",
                    file.display(),
                    n + 1
                );
            }
        }
    }
}
