//! One automation run of a site with 100 keywords through every stage, the provider answering
//! after a fixed delay: the run's wall time against the sum of its jobs' ideal times (each job's
//! model calls in waves of the account's concurrency, at that delay), and the automation's own
//! AWS requests per stage (its steps, measured one by one; the jobs' own requests are the AI
//! worker's, measured by `--bench ai_jobs`). The steps are taken every 100 ms (in a deployment the
//! worker looks at a stage's jobs every `AUTOMATION_POLL_SECONDS`, 15). Needs `AWS_ENDPOINT_URL`
//! (run it with `./scripts/bench.sh`). The table is printed and written to
//! `target/bench/automation.md`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use igny8_domain::automation::{runs, worker};
use igny8_domain::metering;
use serde_json::json;

const KEYWORDS: usize = 100;
const DELAY: Duration = Duration::from_millis(200);
const CONCURRENCY: u32 = 4;

#[tokio::main]
async fn main() {
    igny8_domain::telemetry::init();
    // The automation queue is parked: the bench takes the steps itself, to measure each.
    let app = api_tests::spawn_app_configured(api_tests::RELAXED_RATES, |c| {
        c.automation_queue_url =
            c.automation_queue_url.as_ref().map(|u| u.replace("automation-queue", "automation-dlq"));
    })
    .await;
    let t = app.tenant("bench@automation.example", "agency").await;
    api_tests::jobs::use_provider(&app, &t, CONCURRENCY).await;
    api_tests::jobs::keywords(&app, &t, KEYWORDS, "bench").await;
    app.provider.set_delay(DELAY);

    let started = Instant::now();
    let run = app.post("/api/v1/automation/run_now/", &json!({"site_id": t.site}), Some(&t.token)).await;
    assert_eq!(run.status, 201, "{}", run.body);
    let run_id = run.data()["id"].as_str().unwrap().to_owned();
    let mut per_stage: BTreeMap<usize, (String, u64, u64, u64)> = BTreeMap::new();
    let mut run = runs::load(&app.services, &t.account_id, &run_id).await.unwrap().unwrap();
    while run.is_active() {
        let index = run.stage_index;
        let name = run.stages.get(index).map_or("end".to_owned(), |s| s.name.clone());
        let (stepped, usage) = metering::measure(worker::step(&app.services, run)).await;
        stepped.unwrap();
        let entry = per_stage.entry(index).or_insert((name, 0, 0, 0));
        entry.1 += 1;
        entry.2 += usage.requests;
        entry.3 += usage.round_trips;
        tokio::time::sleep(Duration::from_millis(100)).await;
        run = runs::load(&app.services, &t.account_id, &run_id).await.unwrap().unwrap();
    }
    let wall = started.elapsed();
    assert_eq!(run.status, "completed", "{run:?}");

    // Each job's ideal time: its parts (model calls) in waves of the concurrency, at the delay.
    let mut ideal = Duration::ZERO;
    let mut calls = 0;
    for stage in &run.stages {
        for id in &stage.jobs {
            let job = igny8_domain::jobs::load(&app.services, &t.account_id, id).await.unwrap().unwrap();
            calls += job.parts_total;
            ideal += DELAY * job.parts_total.div_ceil(CONCURRENCY);
        }
    }
    let mut rows = String::new();
    for (name, steps, requests, trips) in per_stage.values() {
        let stage = run.stages.iter().find(|s| &s.name == name);
        let items = stage.map_or(0, |s| s.items);
        rows.push_str(&format!("| {name} | {items} | {steps} | {requests} | {trips} |\n"));
    }
    let table = format!(
        "| a run of {KEYWORDS} keywords, provider delay {} ms, {CONCURRENCY} calls at once | model calls | wall time | jobs' ideal time | overhead |\n\
         |---|---|---|---|---|\n\
         | every stage (clusters, ideas, tasks, content, image prompts, images) | {calls} | {:.1} s | {:.1} s | {:.1} s |\n\n\
         | stage | items | steps | the automation's AWS requests | sequential round trips |\n|---|---|---|---|---|\n{rows}",
        DELAY.as_millis(),
        wall.as_secs_f64(),
        ideal.as_secs_f64(),
        (wall.saturating_sub(ideal)).as_secs_f64(),
    );
    println!("\n{table}");
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(out.join("automation.md"), &table);
}
