//! AWS requests of one AI job, per function. Needs `AWS_ENDPOINT_URL` (run it with
//! `./scripts/bench.sh`).
//!
//! Each job is reserved and queued on a queue nobody polls, then run once through the worker's
//! own entry point (`ai::worker::handle`, what the SQS handler calls for each message) inside
//! `store::counting`, so that the count is the job's own DynamoDB requests and nothing else's.
//! S3 requests (one `PutObject` per generated image) are counted apart; the provider test server
//! stands in for the provider, so no Secrets Manager read happens here (with an account's own key
//! there is one per account and batch). The request that queues a job is counted apart as well.
//! The table is printed and written to `target/bench/ai_jobs.md`.

use api_tests::{Tenant, TestApp, spawn_app};
use igny8_domain::Services;
use igny8_domain::accounts::Account;
use igny8_domain::ai::worker::{self, Outcome};
use igny8_domain::jobs::{self, JobMessage, JobState};
use igny8_domain::planner::{self, Cluster, SectorRecord};
use igny8_domain::store::{self, Key};
use igny8_domain::writer::{self, Content, ImageRecord, Task};
use serde_json::{Value, json};

const HEADS: [&str; 8] = ["implants", "braces", "whitening", "veneers", "crowns", "fillings", "dentures", "aligners"];

async fn keywords(app: &TestApp, t: &Tenant, n: usize) -> Vec<String> {
    let fresh = (0..n).map(|i| api_tests::jobs::keyword(t, format!("bench {i} {}", HEADS[i % HEADS.len()]), 100));
    api_tests::jobs::put_keywords(app, fresh.collect()).await
}

/// Services whose job queues nobody polls: jobs submitted through them wait for [`run`].
async fn parked(app: &TestApp) -> Services {
    let queue =
        app.sqs.create_queue().queue_name(format!("{}-bench-parked", app.provisioned.names.prefix)).send().await;
    let mut config = app.services.config.clone();
    config.ai_jobs_queue_url = queue.unwrap().queue_url;
    config.image_jobs_queue_url = config.ai_jobs_queue_url.clone();
    Services::with_sdk_config(config, api_tests::sdk_config().await)
}

/// Submits a job (parked) and runs it once through the worker; answers its DynamoDB requests.
async fn run(app: &TestApp, parked: &Services, t: &Tenant, function: &str, input: Value) -> (u64, Value) {
    let account: Account = app.services.store().await.get(&Key::account(&t.account_id)).await.unwrap().unwrap();
    let job = api_tests::jobs::submit(parked, &account, &t.user_id, function, input).await;
    let message = JobMessage { account_id: t.account_id.clone(), job_id: job.id.clone() };
    let config = &app.services.config;
    // A batch of one: what is shared by the jobs of a batch is read again for every job.
    let (functions, batch) = (igny8_domain::modules::ai_functions(), igny8_domain::ai::Batch::new());
    let delivery = worker::Delivery {
        receive_count: 1,
        max_receives: config.job_max_receives,
        retry: config.provider_retry,
        deadline: None,
    };
    let handled = worker::handle(&app.services, &functions, &batch, &message, delivery);
    let (outcome, requests) = store::counting(handled).await;
    assert_eq!(outcome.unwrap(), Outcome::Done);
    let job = jobs::load(&app.services, &t.account_id, &job.id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Success, "{:?}", job.error);
    (requests, job.result.unwrap_or_default())
}

#[tokio::main]
async fn main() {
    let app = spawn_app().await;
    let parked = parked(&app).await;
    let t = app.tenant("bench@jobs.example", "agency").await;
    let mut rows: Vec<(String, u64, u64)> = Vec::new();

    let ids = keywords(&app, &t, 5).await;
    let input = json!({"site_id": t.site, "sector_id": t.sector, "keyword_ids": ids});
    let (n, _) = run(&app, &parked, &t, "auto_cluster", input).await;
    rows.push(("`auto_cluster`, 5 keywords (1 model call)".into(), n, 0));

    let ids = keywords(&app, &t, 45).await;
    let input = json!({"site_id": t.site, "sector_id": t.sector, "keyword_ids": ids});
    let (n, _) = run(&app, &parked, &t, "auto_cluster", input).await;
    rows.push(("`auto_cluster`, 45 keywords (3 calls)".into(), n, 0));

    let clusters: Vec<Cluster> =
        planner::in_sector(&app.services, &t.account_id, &t.sector, planner::CLUSTER_PREFIX).await.unwrap();
    let cluster_ids: Vec<&String> = clusters.iter().take(2).map(|c| &c.id).collect();
    let input = json!({"site_id": t.site, "sector_id": t.sector, "cluster_ids": cluster_ids});
    let (n, _) = run(&app, &parked, &t, "generate_ideas", input).await;
    rows.push(("`generate_ideas`, 2 clusters (2 calls)".into(), n, 0));

    let mut task_ids = Vec::new();
    for title in ["Dental implants explained", "Choosing braces"] {
        let task = Task {
            id: igny8_domain::ids::new_id(),
            account_id: t.account_id.clone(),
            site_id: t.site.clone(),
            sector_id: t.sector.clone(),
            title: title.into(),
            description: "An article".into(),
            keywords: vec!["dental implants".into()],
            cluster_id: None,
            idea_id: None,
            content_type: "post".into(),
            content_structure: "guide".into(),
            word_count: 1000,
            status: "queued".into(),
            content_id: None,
            author_profile_id: None,
            created_at: time::OffsetDateTime::now_utc(),
        };
        app.services.store().await.put(task.item().unwrap(), None).await.unwrap();
        task_ids.push(task.id);
    }
    let input = json!({"site_id": t.site, "sector_id": t.sector, "task_ids": task_ids, "estimated_word_count": 2000});
    let (n, _) = run(&app, &parked, &t, "generate_content", input).await;
    rows.push(("`generate_content`, 2 tasks (2 calls)".into(), n, 0));

    let contents: Vec<Content> =
        planner::in_sector(&app.services, &t.account_id, &t.sector, writer::CONTENT_PREFIX).await.unwrap();
    let content_ids: Vec<&String> = contents.iter().map(|c| &c.id).collect();
    let input = json!({"site_id": t.site, "sector_id": t.sector, "content_ids": content_ids, "in_article_count": 2});
    let (n, _) = run(&app, &parked, &t, "generate_image_prompts", input).await;
    rows.push(("`generate_image_prompts`, 2 contents (2 calls)".into(), n, 0));

    let images: Vec<ImageRecord> =
        planner::in_sector(&app.services, &t.account_id, &t.sector, writer::IMAGE_PREFIX).await.unwrap();
    let image_ids: Vec<&String> = images.iter().map(|i| &i.id).collect();
    let input = json!({"site_id": t.site, "sector_id": t.sector, "image_ids": image_ids});
    let (n, _) = run(&app, &parked, &t, "generate_images", input).await;
    rows.push((format!("`generate_images`, {} images ({} calls)", images.len(), images.len()), n, images.len() as u64));

    // The large clustering job: the API request that checks and queues it, then the job.
    let big = app.post("/api/v1/auth/sectors/", &json!({"site_id": t.site, "name": "Big"}), Some(&t.token)).await;
    let big = Tenant { sector: big.data()["id"].as_str().unwrap().to_owned(), ..t.clone() };
    let ids = keywords(&app, &big, 2000).await;
    let api_before = store::requests_sent();
    let queued = app
        .post("/api/v1/planner/keywords/auto_cluster/", &json!({"ids": ids, "sector_id": big.sector}), Some(&t.token))
        .await;
    let api = store::requests_sent() - api_before;
    assert_eq!(queued.status, 200, "{}", queued.body);
    // That job runs through the polled queue; the one measured below has the same size, parked.
    app.settled(&t.token, queued.body["task_id"].as_str().unwrap()).await;
    let fresh = app.post("/api/v1/auth/sectors/", &json!({"site_id": t.site, "name": "Big2"}), Some(&t.token)).await;
    let fresh = Tenant { sector: fresh.data()["id"].as_str().unwrap().to_owned(), ..t.clone() };
    let ids = keywords(&app, &fresh, 2000).await;
    let input = json!({"site_id": fresh.site, "sector_id": fresh.sector, "keyword_ids": ids});
    let (n, _) = run(&app, &parked, &fresh, "auto_cluster", input).await;
    rows.push((format!("`auto_cluster`, 2,000 keywords (100 calls; the API request queueing it: {api})"), n, 0));

    let mut table = String::from("| job | DynamoDB requests (worker) | S3 requests |\n|---|---|---|\n");
    for (name, n, s3) in &rows {
        table.push_str(&format!("| {name} | {n} | {s3} |\n"));
    }
    println!("\n{table}");
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(out.join("ai_jobs.md"), &table);
}
