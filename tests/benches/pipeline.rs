//! Throughput of the AI job pipeline on the local stack. Needs `AWS_ENDPOINT_URL` (run it with
//! `./scripts/bench.sh`).
//!
//! Jobs (one clustering call each) are submitted at once; the provider test server answers every
//! call after a fixed delay; the local poller hands the AI worker batches of 5 (the template's
//! `BatchSize`), run concurrently. The ideal is `delay × jobs / concurrency`; the rest is the
//! pipeline's own cost (reservation, SQS, progress writes, settlement). The table is printed and
//! written to `target/bench/pipeline.md`.

use igny8_domain::planner::SectorRecord;
use std::time::{Duration, Instant};

use api_tests::spawn_app;
use igny8_domain::accounts::Account;
use igny8_domain::jobs::{self, Job, JobState, Queue};
use igny8_domain::planner::Keyword;
use igny8_domain::store::{Key, Query, decode};
use serde_json::json;

const CONCURRENCY: f64 = 5.0;

async fn run(delay: Duration, count: usize) -> (Duration, Duration) {
    let app = spawn_app().await;
    app.provider.set_delay(delay);
    // A paid plan is opened by the platform (public sign-up is on the free plan).
    let reg = app
        .register_on_plan(json!({"email": "bench@pipe.example", "password": api_tests::PASSWORD, "plan_id": "agency"}))
        .await;
    let user = reg.data()["user"].clone();
    let account_id = user["account"]["id"].as_str().unwrap().to_owned();
    let token =
        app.login("bench@pipe.example", api_tests::PASSWORD).await.data()["access"].as_str().unwrap().to_owned();
    let site = app.post("/api/v1/auth/sites/", &json!({"name": "B"}), Some(&token)).await.data()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sector =
        app.post("/api/v1/auth/sectors/", &json!({"site_id": site, "name": "B"}), Some(&token)).await.data()["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let mut inputs = Vec::new();
    let mut items = Vec::new();
    for i in 0..count {
        let k = Keyword {
            id: igny8_domain::ids::new_id(),
            account_id: account_id.clone(),
            site_id: site.clone(),
            sector_id: sector.clone(),
            keyword: format!("bench keyword {i}"),
            volume: 10,
            difficulty: 10,
            intent: "informational".into(),
            status: "new".into(),
            cluster_id: None,
            seed_keyword_id: None,
            created_at: time::OffsetDateTime::now_utc(),
        };
        inputs.push(json!({"site_id": site, "sector_id": sector, "keyword_ids": [k.id]}));
        items.push(k.item().unwrap());
    }
    app.services.store().await.put_batch(items).await.unwrap();
    let account: Account = app.services.store().await.get(&Key::account(&account_id)).await.unwrap().unwrap();
    let user_id = user["id"].as_str().unwrap().to_owned();

    let started = Instant::now();
    let mut ids = Vec::new();
    for input in inputs {
        let job = jobs::submit(
            &app.services,
            &account,
            &user_id,
            api_tests::jobs::raw("auto_cluster", Queue::Ai, input, 10, 1),
            "bench",
        )
        .await
        .unwrap();
        ids.push(job.id);
    }
    // One query a poll, so that watching does not slow the pipeline down.
    let query = Query::partition(format!("ACCOUNT#{account_id}")).sk_prefix(jobs::JOB_PREFIX);
    loop {
        let items = app.services.store().await.query_all(query.clone()).await.unwrap();
        let states: Vec<Job> = items.into_iter().map(|i| decode(i).unwrap()).collect();
        assert!(states.iter().all(|j| j.state != JobState::Failure), "a job failed");
        if states.iter().filter(|j| j.state == JobState::Success).count() == ids.len() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(600), "jobs did not finish");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let elapsed = started.elapsed();
    let ideal = Duration::from_secs_f64(delay.as_secs_f64() * count as f64 / CONCURRENCY);
    (elapsed, ideal)
}

#[tokio::main]
async fn main() {
    let mut table = String::from(
        "| provider delay | jobs | concurrency | elapsed | ideal | jobs/min | ideal jobs/min | efficiency |\n|---|---|---|---|---|---|---|---|\n",
    );
    for (delay_ms, count) in [(200u64, 40usize), (1000, 20)] {
        let (elapsed, ideal) = run(Duration::from_millis(delay_ms), count).await;
        let per_min = count as f64 / elapsed.as_secs_f64() * 60.0;
        let ideal_per_min = count as f64 / ideal.as_secs_f64() * 60.0;
        table.push_str(&format!(
            "| {delay_ms} ms | {count} | {CONCURRENCY} | {:.2} s | {:.2} s | {per_min:.0} | {ideal_per_min:.0} | {:.0} % |\n",
            elapsed.as_secs_f64(),
            ideal.as_secs_f64(),
            100.0 * ideal.as_secs_f64() / elapsed.as_secs_f64()
        ));
    }
    println!("\n{table}");
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(out.join("pipeline.md"), &table);
}
