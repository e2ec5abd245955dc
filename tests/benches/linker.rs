//! Linking 1,000 contents of one site: the `link_content` jobs (20 jobs of 50, as `process/`
//! takes them) through SQS and the AI worker, with the DynamoDB requests per content; and the
//! linker's in-process work (candidates and injection) per content. Needs `AWS_ENDPOINT_URL` (run
//! it with `./scripts/bench.sh`). The table is printed and written to `target/bench/linker.md`.

use std::time::{Duration, Instant};

use api_tests::spawn_app;
use igny8_domain::records::SectorRecord;
use igny8_domain::store::{self, Change, n};
use igny8_domain::writer::{Content, External, Pipeline};
use serde_json::json;
use time::OffsetDateTime;

const CONTENTS: usize = 1_000;
const PER_JOB: usize = 50;

fn html(i: usize) -> String {
    let filler = "Good care starts with a clear plan and a short list of questions for the clinic. ".repeat(6);
    let mention = |j: usize| format!("topic{:04}", j % CONTENTS);
    format!(
        "<p>{filler}</p><h2>About {}</h2><p>See {} and {} before you choose. {filler}</p><p>Also {} helps.</p>",
        mention(i + 1),
        mention(i + 1),
        mention(i + 2),
        mention(i + 7)
    )
}

#[tokio::main]
async fn main() {
    igny8_domain::telemetry::init();
    let app = spawn_app().await;
    let t = app.tenant("bench@linker.example", "agency").await;
    let store = app.services.store().await;
    store
        .update(Change::new(store::Key::account(&t.account_id), "SET credits = :c").value(":c", n(1_000_000)))
        .await
        .unwrap();
    let now = OffsetDateTime::now_utc();
    let contents: Vec<Content> = (0..CONTENTS)
        .map(|i| Content {
            id: igny8_domain::ids::new_id(),
            account_id: t.account_id.clone(),
            site_id: t.site.clone(),
            sector_id: t.sector.clone(),
            task_id: None,
            title: format!("Guide {i}"),
            word_count: igny8_domain::writer::word_count(&html(i)),
            html: html(i),
            meta_title: String::new(),
            meta_description: String::new(),
            primary_keyword: format!("topic{i:04}"),
            status: "draft".into(),
            taxonomy_ids: Vec::new(),
            generated_at: now,
            updated_at: Some(now),
            external: External::default(),
            pipeline: Pipeline::default(),
        })
        .collect();
    store.put_batch(contents.iter().map(|c| c.item().unwrap()).collect()).await.unwrap();

    // The linker's own work per content, no I/O: candidates among the 1,000, then injection.
    let clusters = Default::default();
    let mut times = Vec::new();
    for content in contents.iter().take(200) {
        let started = Instant::now();
        let targets = igny8_domain::linker::targets(content, &contents, &clusters);
        let (html, links) = igny8_domain::linker::inject::inject(&content.html, &targets, 5);
        std::hint::black_box(igny8_domain::writer::sanitize_html(&html));
        assert_eq!(links.len(), 3, "{html}");
        times.push(started.elapsed());
    }
    times.sort();
    let median = times[times.len() / 2];

    // The jobs, all queued at once.
    let before = store::requests_sent();
    let started = Instant::now();
    let mut jobs = Vec::new();
    for chunk in contents.chunks(PER_JOB) {
        let ids: Vec<&str> = chunk.iter().map(|c| c.id.as_str()).collect();
        let queued = app.post("/api/v1/linker/process/", &json!({"content_ids": ids}), Some(&t.token)).await;
        assert_eq!(queued.status, 200, "{}", queued.body);
        jobs.push(queued.body["task_id"].as_str().unwrap().to_owned());
    }
    for job in &jobs {
        assert_eq!(app.settled(&t.token, job).await["state"], "SUCCESS");
    }
    let elapsed = started.elapsed();
    let requests = store::requests_sent() - before;
    let graph = app.get(&format!("/api/v1/linker/graph/?site_id={}", t.site), Some(&t.token)).await;
    let edges = graph.data()["edges"].as_array().map_or(0, Vec::len);
    assert_eq!(edges, 3 * CONTENTS);

    let per = |d: Duration| d.as_secs_f64() * 1000.0 / CONTENTS as f64;
    let table = format!(
        "| linking {CONTENTS} contents of one site | jobs | links | wall time | per content | DynamoDB requests (API + worker) | per content |\n\
         |---|---|---|---|---|---|---|\n\
         | `process/`, {PER_JOB} a job | {} | {edges} | {:.1} s | {:.1} ms | {requests} | {:.1} |\n\n\
         | the linker's in-process work, per content (candidates among {CONTENTS}, injection, sanitising) | median |\n|---|---|\n\
         | 200 contents | {:.2} ms |\n",
        jobs.len(),
        elapsed.as_secs_f64(),
        per(elapsed),
        requests as f64 / CONTENTS as f64,
        median.as_secs_f64() * 1000.0,
    );
    println!("\n{table}");
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(out.join("linker.md"), &table);
}
