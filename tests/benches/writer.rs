//! 50 tasks through `writer/tasks/auto_generate_content/` on the local stack, the provider test
//! server answering each article after a fixed delay. Needs `AWS_ENDPOINT_URL` (run it with
//! `./scripts/bench.sh`). The ideal is `delay × tasks / articles in flight`; the table is printed
//! and written to `target/bench/writer.md`.

use std::time::{Duration, Instant};

use api_tests::spawn_app;
use igny8_domain::ai::settings::DEFAULT_CONCURRENCY as CONTENT_CONCURRENCY;
use serde_json::json;

const TASKS: usize = 50;

#[tokio::main]
async fn main() {
    let mut table = String::from(
        "| tasks | provider delay | articles in flight | request answered in | job done in | ideal | efficiency | words written | credits charged |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for delay in [Duration::from_millis(200), Duration::from_millis(1000)] {
        let app = spawn_app().await;
        let t = app.tenant(&format!("bench{}@writer.example", delay.as_millis()), "agency").await;
        let tok = Some(t.token.as_str());
        let mut ids = Vec::new();
        for n in 0..TASKS {
            let made = app
                .post(
                    "/api/v1/writer/tasks/",
                    &json!({"title": format!("Article {n}"), "keywords": "dental implants", "word_count": 1000, "sector_id": t.sector}),
                    tok,
                )
                .await;
            ids.push(made.data()["id"].as_str().unwrap().to_owned());
        }
        let before = app.credits(&t.account_id).await;
        app.provider.set_delay(delay);
        let started = Instant::now();
        let queued = app.post("/api/v1/writer/tasks/auto_generate_content/", &json!({"ids": ids}), tok).await;
        assert_eq!(queued.status, 200, "{}", queued.body);
        let answered = started.elapsed();
        let done = app.settled(&t.token, queued.body["task_id"].as_str().unwrap()).await;
        let elapsed = started.elapsed();
        assert_eq!(done["state"], json!("SUCCESS"), "{done}");
        let contents = app.get("/api/v1/writer/content/?page_size=100", tok).await;
        let words: u64 =
            contents.body["results"].as_array().unwrap().iter().map(|c| c["word_count"].as_u64().unwrap()).sum();
        let ideal = delay.as_secs_f64() * TASKS as f64 / CONTENT_CONCURRENCY as f64;
        table.push_str(&format!(
            "| {TASKS} | {} ms | {CONTENT_CONCURRENCY} | {:.0} ms | {:.2} s | {ideal:.2} s | {:.0} % | {words} | {} |\n",
            delay.as_millis(),
            answered.as_secs_f64() * 1000.0,
            elapsed.as_secs_f64(),
            100.0 * ideal / elapsed.as_secs_f64(),
            before - app.credits(&t.account_id).await,
        ));
    }
    println!("\n{table}");
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(out.join("writer.md"), &table);
}
