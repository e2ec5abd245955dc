//! What a list call reads as a sector grows: sectors of 1,000, 10,000 and 50,000 keywords
//! (`LISTS_BENCH_SIZES` to change them), each call through the planner's router in process,
//! metered (`igny8_domain::metering`): DynamoDB items read, requests, sequential round trips, and
//! the median time of 3 calls on the local endpoint. Needs `AWS_ENDPOINT_URL` (run it with
//! `./scripts/bench.sh`). The table is printed and written to `target/bench/lists.md`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use api_tests::lambda::write_table;
use api_tests::{Tenant, TestApp, bench_keyword as keyword, spawn_app};
use igny8_domain::metering::{self, Usage};
use igny8_domain::planner::Cluster;
use igny8_domain::records::SectorRecord;
use igny8_domain::store::{Change, Key, n};
use serde_json::{Value, json};
use tower::ServiceExt;

const CLUSTERS: usize = 10;

/// A sector of `size` keywords (a fifth of them in 10 clusters), written in batches, with the
/// counts its writes would have kept; answers the sector and a cluster.
async fn sector_of(app: &TestApp, t: &Tenant, size: usize) -> (String, String) {
    let tok = Some(t.token.as_str());
    let made =
        app.post("/api/v1/auth/sectors/", &json!({"site_id": t.site, "name": format!("Size {size}")}), tok).await;
    let sector = made.data()["id"].as_str().expect("sector").to_owned();
    let mut clusters = Vec::new();
    for c in 0..CLUSTERS {
        let body = json!({"name": format!("Cluster {c} of {size}"), "sector_id": sector});
        clusters
            .push(app.post("/api/v1/planner/clusters/", &body, tok).await.data()["id"].as_str().unwrap().to_owned());
    }
    let mut members = vec![0u64; CLUSTERS];
    let mut statuses = std::collections::BTreeMap::<String, i64>::new();
    let mut items = Vec::with_capacity(size);
    for i in 0..size {
        let cluster = (i % 5 == 0).then_some((i / 5) % CLUSTERS);
        let k = keyword(t, &sector, i, cluster.map(|c| clusters[c].as_str()));
        if let Some(c) = cluster {
            members[c] += 1;
        }
        *statuses.entry(k.status.clone()).or_default() += 1;
        items.push(k.item().unwrap());
    }
    let store = app.services.store().await;
    store.put_batch(items).await.unwrap();
    for (id, count) in clusters.iter().zip(&members) {
        store
            .update(
                Change::new(igny8_domain::planner::record_key::<Cluster>(&t.account_id, id), "SET keywords_count = :c")
                    .value(":c", n(count)),
            )
            .await
            .unwrap();
    }
    let mut counts = Change::new(Key::sector(&t.account_id, &sector), "ADD #all :all")
        .name("#all", "n:KEYWORD")
        .value(":all", n(size));
    for (i, (status, count)) in statuses.iter().enumerate() {
        counts.update.push_str(&format!(", #s{i} :s{i}"));
        counts = counts.name(&format!("#s{i}"), &format!("n:KEYWORD:{status}")).value(&format!(":s{i}"), n(count));
    }
    store.update(counts).await.unwrap();
    (sector, clusters[3].clone())
}

async fn call(router: &axum::Router, token: &str, path: &str) -> (u16, Value, Usage, Duration) {
    let request = http::Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let started = Instant::now();
    let (response, usage) = metering::measure(router.clone().oneshot(request)).await;
    let elapsed = started.elapsed();
    let response = response.unwrap();
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null), usage, elapsed)
}

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = std::env::var("LISTS_BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000, 50_000]);
    let app = spawn_app().await;
    let t = app.tenant("bench@lists.example", "agency").await;
    let router = igny8_domain::planner::routes::MODULE.router(Arc::clone(&app.services));
    let cases: [(&str, &str); 7] = [
        ("page 1, default order", ""),
        ("page 2 (its `next`, with `cursor=`)", "next"),
        ("`status=active`", "&status=active"),
        ("`cluster_id`", "&cluster_id={cluster}"),
        ("`page=50` without a cursor", "&page=50"),
        ("`search=implants` (in memory)", "&search=implants"),
        ("`volume_min`/`max`, `ordering=-volume` (in memory)", "&volume_min=1000&volume_max=2000&ordering=-volume"),
    ];
    let mut rows: Vec<Vec<String>> = cases.iter().map(|(name, _)| vec![(*name).to_owned()]).collect();
    for &size in &sizes {
        let loading = Instant::now();
        let (sector, cluster) = sector_of(&app, &t, size).await;
        eprintln!("loaded {size} keywords in {:.1} s", loading.elapsed().as_secs_f64());
        let base = format!("/api/v1/planner/keywords/?sector_id={sector}");
        let (_, first, _, _) = call(&router, &t.token, &base).await;
        for (row, (_, suffix)) in rows.iter_mut().zip(cases) {
            let path = match suffix {
                "next" => first["next"].as_str().unwrap_or(&base).to_owned(),
                s => format!("{base}{}", s.replace("{cluster}", &cluster)),
            };
            let mut times = Vec::new();
            let mut last = None;
            for _ in 0..3 {
                let (status, body, usage, elapsed) = call(&router, &t.token, &path).await;
                times.push(elapsed);
                last = Some((status, body, usage));
            }
            times.sort();
            let (status, body, usage) = last.unwrap();
            let cell = if status == 200 {
                format!(
                    "{} items, {} req, {} trip(s), {:.0} ms (count {})",
                    usage.items_read,
                    usage.requests,
                    usage.round_trips,
                    times[1].as_secs_f64() * 1000.0,
                    body["count"]
                )
            } else {
                format!("{status}: {} items, {} req", usage.items_read, usage.requests)
            };
            row.push(cell);
        }
    }
    let mut table = String::from("| list call (keywords of one sector, `page_size` 10) |");
    for size in &sizes {
        table.push_str(&format!(" {size} keywords |"));
    }
    table.push('\n');
    table.push_str(&"|---".repeat(sizes.len() + 1));
    table.push_str("|\n");
    for row in rows {
        table.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    write_table("lists", &table);
}
