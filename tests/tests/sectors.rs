//! A sector's records: the counts kept on the sector with every write (what a list's `count`
//! reads), and a deleted sector that takes nothing more, even from a job already running.

use std::time::Duration;

use api_tests::{Tenant, TestApp, spawn_app};
use aws_sdk_dynamodb::types::AttributeValue;
use igny8_domain::accounts::Account;
use igny8_domain::ai::Batch;
use igny8_domain::ai::worker::{self, Delivery, Outcome};
use igny8_domain::jobs::{self, JobMessage};
use igny8_domain::planner::{Cluster, Idea, Keyword};
use igny8_domain::records::counts::Counts;
use igny8_domain::store::Key;
use igny8_domain::writer::{Content, ImageRecord, Task};
use igny8_domain::{Services, modules};
use serde_json::{Value, json};

async fn sector_counts(app: &TestApp, t: &Tenant) -> Counts {
    let key = Key::sector(&t.account_id, &t.sector);
    let out = app
        .dynamodb
        .get_item()
        .table_name(&app.provisioned.config.table_name)
        .key("PK", AttributeValue::S(key.pk))
        .key("SK", AttributeValue::S(key.sk))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    Counts::of_item(&out.item.unwrap_or_default())
}

fn ids(answer: &api_tests::Answer) -> Vec<String> {
    answer.body["results"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

/// The whole of a list, every page, and the `count` its first page answered.
async fn listed(app: &TestApp, t: &Tenant, path: &str, query: &str) -> (u64, usize) {
    let mut page = 1;
    let mut seen = 0;
    let mut count = None;
    loop {
        let answer =
            app.get(&format!("{path}?sector_id={}&page_size=3&page={page}{query}", t.sector), Some(&t.token)).await;
        assert_eq!(answer.status, 200, "{path}{query}: {}", answer.body);
        count.get_or_insert(answer.body["count"].as_u64().unwrap());
        seen += ids(&answer).len();
        if answer.body["next"].is_null() {
            return (count.unwrap_or(0), seen);
        }
        page += 1;
    }
}

/// How many records of one kind (and status) a sector's counts say it holds.
type CountOf = fn(&Counts, Option<&str>) -> u64;

/// Each list's `count` is the number of records its pages return, and the sector's own count
/// of that kind (and status): after creates, status changes and deletes by hand, in bulk and by
/// the AI.
#[tokio::test]
async fn every_lists_count_is_what_its_pages_return_and_what_the_sector_counts() {
    let app = spawn_app().await;
    let t = app.tenant("counts@sectors.example", "starter").await;
    let tok = Some(t.token.as_str());
    let at = |mut body: Value| {
        body["sector_id"] = json!(t.sector);
        body
    };
    let id = |answer: api_tests::Answer| {
        assert!(answer.status < 300, "{}", answer.body);
        answer.data()["id"].as_str().unwrap().to_owned()
    };
    let heads = ["implants", "braces", "whitening"];
    let mut keywords = Vec::new();
    for i in 0..9 {
        let body = at(json!({"keyword": format!("count {i} {}", heads[i % 3]), "status": "pending"}));
        keywords.push(id(app.post("/api/v1/planner/keywords/", &body, tok).await));
    }
    let changed = app
        .post("/api/v1/planner/keywords/bulk_update_status/", &json!({"ids": keywords[..4], "status": "active"}), tok)
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let deleted = app.post("/api/v1/planner/keywords/bulk_delete/", &json!({"ids": keywords[7..]}), tok).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    // The AI clusters the rest.
    let job = app
        .post("/api/v1/planner/keywords/auto_cluster/", &json!({"ids": keywords[..7], "sector_id": t.sector}), tok)
        .await;
    let done = app.settled(&t.token, job.data()["task_id"].as_str().unwrap()).await;
    assert_eq!(done["state"], json!("SUCCESS"), "{done}");
    let manual = id(app.post("/api/v1/planner/clusters/", &at(json!({"name": "By hand"})), tok).await);
    app.call("PATCH", &format!("/api/v1/planner/clusters/{manual}/"), Some(&json!({"status": "inactive"})), tok).await;
    let idea_ids: Vec<String> = {
        let mut made = Vec::new();
        for n in 0..4 {
            made.push(id(app
                .post("/api/v1/planner/ideas/", &at(json!({"idea_title": format!("Idea {n}")})), tok)
                .await));
        }
        made
    };
    let queued = app.post("/api/v1/planner/ideas/bulk_queue_to_writer/", &json!({"ids": idea_ids[..3]}), tok).await;
    assert_eq!(queued.status, 200, "{}", queued.body);
    let task_ids: Vec<String> =
        queued.data()["task_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    let updated =
        app.post("/api/v1/writer/tasks/bulk_update/", &json!({"ids": task_ids[..1], "status": "completed"}), tok).await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    let content = id(app
        .post(
            "/api/v1/writer/content/",
            &at(json!({"title": "C", "html_content": "<p>x</p>", "task_id": task_ids[1]})),
            tok,
        )
        .await);
    app.call("PATCH", &format!("/api/v1/writer/content/{content}/"), Some(&json!({"status": "review"})), tok).await;
    for _ in 0..2 {
        id(app
            .post("/api/v1/writer/images/", &at(json!({"image_type": "in_article", "content_id": content})), tok)
            .await);
    }
    let gone = app.call("DELETE", &format!("/api/v1/writer/tasks/{}/", task_ids[2]), None, tok).await;
    assert_eq!(gone.status, 204);

    let counts = sector_counts(&app, &t).await;
    let kinds: [(&str, CountOf, &[&str]); 6] = [
        ("/api/v1/planner/keywords/", |c, s| c.of::<Keyword>(s), &["active", "pending"]),
        ("/api/v1/planner/clusters/", |c, s| c.of::<Cluster>(s), &["active", "inactive"]),
        ("/api/v1/planner/ideas/", |c, s| c.of::<Idea>(s), &["new", "scheduled"]),
        ("/api/v1/writer/tasks/", |c, s| c.of::<Task>(s), &["queued", "completed"]),
        ("/api/v1/writer/content/", |c, s| c.of::<Content>(s), &["draft", "review"]),
        ("/api/v1/writer/images/", |c, s| c.of::<ImageRecord>(s), &["pending"]),
    ];
    for (path, of, statuses) in kinds {
        let (count, seen) = listed(&app, &t, path, "").await;
        assert_eq!(count as usize, seen, "{path}: count {count}, pages {seen}");
        assert_eq!(of(&counts, None), count, "{path}: the sector counts {:?}", counts);
        assert!(count > 0, "{path} has records");
        for status in statuses {
            let (count, seen) = listed(&app, &t, path, &format!("&status={status}")).await;
            assert_eq!(count as usize, seen, "{path} {status}");
            assert_eq!(of(&counts, Some(status)), count, "{path} {status}: the sector counts {counts:?}");
        }
    }
}

async fn account(app: &TestApp, t: &Tenant) -> Account {
    app.services.store().await.get::<Account>(&Key::account(&t.account_id)).await.unwrap().unwrap()
}

/// A clustering job is running (its model call under way) when its sector is deleted: the job
/// writes nothing into the deleted sector, fails, and its credits come back.
#[tokio::test]
async fn a_job_still_running_for_a_deleted_sector_writes_nothing_and_is_refunded() {
    let app = spawn_app().await;
    let t = app.tenant("gone@sectors.example", "starter").await;
    let tok = Some(t.token.as_str());
    let mut keywords = Vec::new();
    for head in ["implants", "braces", "whitening"] {
        let body = json!({"keyword": format!("gone {head}"), "sector_id": t.sector});
        keywords
            .push(app.post("/api/v1/planner/keywords/", &body, tok).await.data()["id"].as_str().unwrap().to_owned());
    }
    // A queue nobody polls: the job is run by hand, and the sector deleted while it runs.
    let queue = app.sqs.create_queue().queue_name(format!("{}-parked", app.provisioned.names.prefix)).send().await;
    let mut config = app.services.config.clone();
    config.ai_jobs_queue_url = queue.unwrap().queue_url;
    let parked = Services::with_sdk_config(config, api_tests::sdk_config().await);
    let before = account(&app, &t).await.credits;
    let input = json!({"site_id": t.site, "sector_id": t.sector, "keyword_ids": keywords});
    let job = api_tests::jobs::submit(&parked, &account(&app, &t).await, &t.user_id, "auto_cluster", input).await;
    assert!(account(&app, &t).await.credits < before, "reserved");

    app.provider.set_delay(Duration::from_millis(1500));
    let functions = modules::ai_functions();
    let batch = Batch::new();
    let config = &app.services.config;
    let delivery = Delivery {
        receive_count: 1,
        max_receives: config.job_max_receives,
        retry: config.provider_retry,
        deadline: None,
    };
    let message = JobMessage { account_id: t.account_id.clone(), job_id: job.id.clone() };
    let running = worker::handle(&app.services, &functions, &batch, &message, delivery);
    let deleting = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        app.call("DELETE", &format!("/api/v1/auth/sectors/{}/", t.sector), None, tok).await
    };
    let (outcome, deleted) = tokio::join!(running, deleting);
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert_eq!(outcome.unwrap(), Outcome::Done);
    assert!(!app.provider.requests().is_empty(), "the model was asked before the sector went");

    let job = jobs::load(&app.services, &t.account_id, &job.id).await.unwrap().unwrap();
    assert_eq!(job.state, jobs::JobState::Failure, "{:?}", job.error);
    assert_eq!(account(&app, &t).await.credits, before, "the reservation came back");
    assert_eq!(app.ledger_sum(&t.account_id).await, before);
    let sector = igny8_domain::planner::sector_pk(&t.account_id, &t.sector);
    assert!(app.partitions(&[sector]).await.is_empty(), "nothing came back into the deleted sector");
    let clusters: Vec<Cluster> = igny8_domain::records::in_account(&app.services, &t.account_id).await.unwrap();
    assert!(clusters.is_empty(), "{clusters:?}");
    assert!(app.get(&format!("/api/v1/auth/sectors/{}/", t.sector), tok).await.status == 404);
}

/// Deleting a sector of 10,000 keywords answers at once, with the same few requests as an empty
/// sector's (the tombstone and the queued purge), and the purge worker then takes everything.
#[tokio::test]
async fn deleting_a_sector_of_ten_thousand_keywords_answers_at_once_and_the_purge_completes() {
    let app = spawn_app().await;
    let t = app.tenant("big@sectors.example", "starter").await;
    let items: Vec<_> = (0..10_000)
        .map(|i| {
            let keyword = Keyword {
                id: igny8_domain::ids::new_id(),
                account_id: t.account_id.clone(),
                site_id: t.site.clone(),
                sector_id: t.sector.clone(),
                keyword: format!("purged keyword {i}"),
                volume: 10,
                difficulty: 10,
                intent: "informational".into(),
                status: "active".into(),
                cluster_id: None,
                seed_keyword_id: None,
                created_at: time::OffsetDateTime::now_utc(),
            };
            igny8_domain::records::SectorRecord::item(&keyword).unwrap()
        })
        .collect();
    app.services.store().await.put_batch(items).await.unwrap();

    let router = auth_function::MODULE.router(std::sync::Arc::clone(&app.services));
    let request = http::Request::delete(format!("/api/v1/auth/sectors/{}/", t.sector))
        .header("authorization", format!("Bearer {}", t.token))
        .body(axum::body::Body::empty())
        .unwrap();
    let started = std::time::Instant::now();
    let (answer, usage) = igny8_domain::metering::measure(tower::ServiceExt::oneshot(router, request)).await;
    let elapsed = started.elapsed();
    assert_eq!(answer.unwrap().status(), 204);
    assert!(usage.requests <= 6, "the delete's requests do not grow with the sector: {usage:?}");
    assert!(elapsed < Duration::from_secs(1), "answered in {elapsed:?}");
    let tok = Some(t.token.as_str());
    assert_eq!(app.get(&format!("/api/v1/auth/sectors/{}/", t.sector), tok).await.status, 404, "hidden at once");

    let sector = igny8_domain::planner::sector_pk(&t.account_id, &t.sector);
    let mut purged = false;
    for _ in 0..60 {
        if app.purges_done().await && app.partitions(std::slice::from_ref(&sector)).await.is_empty() {
            purged = true;
            break;
        }
    }
    assert!(purged, "the purge completed");
    let left: Vec<Keyword> = igny8_domain::records::in_account(&app.services, &t.account_id).await.unwrap();
    assert!(left.is_empty(), "{} keywords left", left.len());
    let raw = app.partitions(&[format!("ACCOUNT#{}", t.account_id)]).await;
    assert!(
        !raw.iter().any(|i| i["SK"].as_s().is_ok_and(|sk| sk.starts_with("SECTOR#"))),
        "the sector itself went last"
    );
}

/// A site's purge (what the modules keep per site: the writer's taxonomies) waits for the site to
/// be gone: queued for a site that stays, it removes nothing and ends in the DLQ.
#[tokio::test]
async fn a_sites_purge_removes_nothing_while_the_site_is_there() {
    let app = spawn_app().await;
    let t = app.tenant("stays@sectors.example", "starter").await;
    let made = app
        .post(
            "/api/v1/writer/taxonomies/",
            &json!({"site_id": t.site, "taxonomy_type": "tag", "name": "Kept"}),
            Some(&t.token),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let message = igny8_domain::purge::SitePurgeMessage { account_id: t.account_id.clone(), site_id: t.site.clone() };
    igny8_domain::purge::enqueue_site(&app.services, message).await.unwrap();
    let dead = app.dlq_message("PurgeDlq").await.expect("the purge of a live site ends in the DLQ");
    assert!(dead.contains(&t.site), "{dead}");
    let listed = app.get(&format!("/api/v1/writer/taxonomies/?site_id={}", t.site), Some(&t.token)).await;
    assert_eq!(listed.body["count"], json!(1), "{}", listed.body);
}
