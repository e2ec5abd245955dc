//! Planner list latency on a sector of 10,000 keywords, and `auto_cluster/` of 2,000 keywords.
//! Needs `AWS_ENDPOINT_URL` (run it with `./scripts/bench.sh`).
//!
//! Each list call goes through the local gateway to the planner handler; the table gives the
//! median time of 3 calls after a warm-up and the DynamoDB requests one call makes (caller
//! lookup and rate-limit counter included). The clustering job runs through SQS, the AI worker and
//! the provider test server answering each call after a fixed delay; its ideal is
//! `delay × calls / concurrent calls`. The table is printed and written to `target/bench/planner.md`.

use std::time::{Duration, Instant};

use api_tests::{TestApp, bench_keyword as keyword, spawn_app};
use igny8_domain::planner::{Keyword, SectorRecord};
use igny8_domain::store::{self, Change, n};
use serde_json::json;

const KEYWORDS: usize = 10_000;
const CLUSTERED: usize = 2_000;
const PROVIDER_DELAY: Duration = Duration::from_millis(200);

/// Median time and DynamoDB requests of one GET.
async fn measure(app: &TestApp, token: &str, path: &str) -> (Duration, u64, u64) {
    let first = app.get(path, Some(token)).await;
    assert_eq!(first.status, 200, "{path}: {}", first.body);
    let mut times = Vec::new();
    let mut requests = 0;
    for _ in 0..3 {
        let before = store::requests_sent();
        let started = Instant::now();
        let answer = app.get(path, Some(token)).await;
        times.push(started.elapsed());
        requests = store::requests_sent() - before;
        assert_eq!(answer.status, 200);
    }
    times.sort();
    (times[1], requests, first.body["count"].as_u64().unwrap_or(0))
}

#[tokio::main]
async fn main() {
    igny8_domain::telemetry::init();
    let keywords: usize = std::env::var("PLANNER_BENCH_KEYWORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(KEYWORDS);
    let app = spawn_app().await;
    let t = app.tenant("bench@planner.example", "agency").await;
    let tok = Some(t.token.as_str());

    // 10,000 keywords, 2,000 of them in 10 clusters.
    let mut clusters = Vec::new();
    for c in 0..10 {
        let made = app
            .post("/api/v1/planner/clusters/", &json!({"name": format!("Cluster {c}"), "sector_id": t.sector}), tok)
            .await;
        clusters.push(made.data()["id"].as_str().unwrap().to_owned());
    }
    let mut items = Vec::new();
    let mut totals = vec![(0u64, 0u64); clusters.len()];
    let loading = Instant::now();
    for i in 0..keywords {
        let cluster = (i < CLUSTERED).then(|| i % clusters.len());
        let k = keyword(&t, &t.sector, i, cluster.map(|c| clusters[c].as_str()));
        if let Some(c) = cluster {
            totals[c].0 += 1;
            totals[c].1 += k.volume as u64;
        }
        items.push(k.item().unwrap());
    }
    let store = app.services.store().await;
    store.put_batch(items).await.unwrap();
    for (c, (count, volume)) in clusters.iter().zip(&totals) {
        let key = igny8_domain::planner::record_key::<igny8_domain::planner::Cluster>(&t.account_id, c);
        store
            .update(
                Change::new(key, "SET keywords_count = :c, volume = :v").value(":c", n(count)).value(":v", n(volume)),
            )
            .await
            .unwrap();
    }

    eprintln!("loaded {keywords} keywords in {:.1} s", loading.elapsed().as_secs_f64());
    let mut table = String::from(
        "| list call (sector of 10,000 keywords) | results | median time | DynamoDB requests |\n|---|---|---|---|\n",
    );
    let s = &t.sector;
    let cluster = &clusters[3];
    let cases = [
        ("no filter, sector partition".to_owned(), format!("/api/v1/planner/keywords/?sector_id={s}")),
        ("no filter, whole account (GSI1)".to_owned(), "/api/v1/planner/keywords/".to_owned()),
        ("`status=active`".to_owned(), format!("/api/v1/planner/keywords/?sector_id={s}&status=active")),
        (
            "`volume_min`/`volume_max`, `ordering=-volume`".to_owned(),
            format!("/api/v1/planner/keywords/?sector_id={s}&volume_min=1000&volume_max=2000&ordering=-volume"),
        ),
        ("`search=implants`".to_owned(), format!("/api/v1/planner/keywords/?sector_id={s}&search=implants")),
        ("`cluster_id`".to_owned(), format!("/api/v1/planner/keywords/?sector_id={s}&cluster_id={cluster}")),
        ("page 50 of 100".to_owned(), format!("/api/v1/planner/keywords/?sector_id={s}&page=50&page_size=100")),
        ("clusters list".to_owned(), format!("/api/v1/planner/clusters/?sector_id={s}")),
    ];
    for (name, path) in &cases {
        let (time, requests, count) = measure(&app, &t.token, path).await;
        eprintln!("{name}: {:.1} ms", time.as_secs_f64() * 1000.0);
        table.push_str(&format!("| {name} | {count} | {:.1} ms | {requests} |\n", time.as_secs_f64() * 1000.0));
    }

    // The handler's own work on the same 10,000 records, without I/O: decoding the items, then
    // filtering, ordering and one page of JSON. On the local endpoint the list time above is
    // mostly moto's (it sorts the partition for every 1 MB page); DynamoDB serves a 1 MB page in
    // tens of milliseconds.
    let raw = store
        .query_all(
            igny8_domain::store::Query::index(
                igny8_domain::store::keys::GSI1,
                igny8_domain::planner::sector_pk(&t.account_id, &t.sector),
            )
            .sk_prefix("KEYWORD#"),
        )
        .await
        .unwrap();
    let bytes: usize = raw.iter().map(|item| format!("{item:?}").len()).sum();
    table.push_str(&format!(
        "\n| in-process work on {} keywords (~{:.1} MB of items) | median time |\n|---|---|\n",
        raw.len(),
        bytes as f64 / 1e6 / 2.0
    ));
    for (name, query) in [
        ("decode items + JSON", ""),
        ("+ default ordering, page 1", "page=1"),
        ("+ `status` filter", "status=active"),
        ("+ volume range, `-volume`", "volume_min=1000&volume_max=2000&ordering=-volume"),
        ("+ `search`", "search=implants"),
    ] {
        let query: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        let mut times = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            let keywords: Vec<Keyword> = raw.iter().cloned().map(|i| store::decode(i).unwrap()).collect();
            let json: Vec<serde_json::Value> = keywords.iter().map(Keyword::to_json).collect();
            if !query.is_empty() {
                let listed = igny8_domain::planner::keywords::LIST.apply(json, &query).unwrap();
                let page: Vec<_> = listed.into_iter().take(10).collect();
                std::hint::black_box(serde_json::to_vec(&page).unwrap());
            } else {
                std::hint::black_box(json);
            }
            times.push(started.elapsed());
        }
        times.sort();
        table.push_str(&format!("| {name} | {:.1} ms |\n", times[2].as_secs_f64() * 1000.0));
    }

    // auto_cluster of 2,000 keywords in a fresh sector.
    let sector = app.post("/api/v1/auth/sectors/", &json!({"site_id": t.site, "name": "Clustering"}), tok).await;
    let sector = sector.data()["id"].as_str().unwrap().to_owned();
    let fresh: Vec<Keyword> = (0..2000).map(|i| keyword(&t, &sector, i, None)).collect();
    let ids: Vec<String> = fresh.iter().map(|k| k.id.clone()).collect();
    store.put_batch(fresh.iter().map(|k| k.item().unwrap()).collect()).await.unwrap();
    app.provider.set_delay(PROVIDER_DELAY);
    let before = store::requests_sent();
    let started = Instant::now();
    let queued =
        app.post("/api/v1/planner/keywords/auto_cluster/", &json!({"ids": ids, "sector_id": sector}), tok).await;
    assert_eq!(queued.status, 200, "{}", queued.body);
    let accepted = started.elapsed();
    let done = app.settled(&t.token, queued.body["task_id"].as_str().unwrap()).await;
    let elapsed = started.elapsed();
    assert_eq!(done["state"], json!("SUCCESS"), "{done}");
    let requests = store::requests_sent() - before;
    let calls = 2000usize.div_ceil(igny8_domain::planner::ai::CLUSTER_BATCH);
    let concurrency = igny8_domain::ai::settings::DEFAULT_CONCURRENCY;
    let ideal = PROVIDER_DELAY.as_secs_f64() * calls as f64 / concurrency as f64;
    let clusters = app.get(&format!("/api/v1/planner/clusters/?sector_id={sector}"), tok).await;
    table.push_str(&format!(
        "\n| `auto_cluster/` | keywords | model calls | calls at once | provider delay | answered in | job done in | ideal | efficiency | clusters | DynamoDB requests (API + worker) |\n|---|---|---|---|---|---|---|---|---|---|---|\n\
         | 2,000 keywords | 2000 | {calls} | {concurrency} | {} ms | {:.0} ms | {:.2} s | {ideal:.2} s | {:.0} % | {} | {requests} |\n",
        PROVIDER_DELAY.as_millis(),
        accepted.as_secs_f64() * 1000.0,
        elapsed.as_secs_f64(),
        100.0 * ideal / elapsed.as_secs_f64(),
        clusters.body["count"],
    ));
    println!("\n{table}");
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(out.join("planner.md"), &table);
}
