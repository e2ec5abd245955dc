//! Automation: a site's pipeline run by itself through the AI job pipeline, paused, resumed and
//! cancelled, within its credits.

use std::time::Duration;

use api_tests::{Tenant, TestApp, spawn_app};
use serde_json::{Value, json};

const AUTOMATION: &str = "/api/v1/automation";

async fn run_now(app: &TestApp, t: &Tenant) -> Value {
    let started = app.post(&format!("{AUTOMATION}/run_now/"), &json!({"site_id": t.site}), Some(&t.token)).await;
    assert_eq!(started.status, 201, "{}", started.body);
    assert_eq!(started.data()["status"], json!("queued"));
    started.data().clone()
}

/// Polls `current_run/` until the run is in one of `states`; answers it.
async fn until(app: &TestApp, t: &Tenant, states: &[&str]) -> Value {
    for _ in 0..1200 {
        let current = app.get(&format!("{AUTOMATION}/current_run/?site_id={}", t.site), Some(&t.token)).await;
        assert_eq!(current.status, 200, "{}", current.body);
        if states.iter().any(|s| current.data()["status"] == json!(s)) {
            return current.data().clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the run did not reach {states:?}");
}

async fn count(app: &TestApp, t: &Tenant, list: &str) -> u64 {
    let answer = app.get(&format!("/api/v1/{list}?sector_id={}&page_size=1", t.sector), Some(&t.token)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["count"].as_u64().unwrap_or_default()
}

async fn events(app: &TestApp, t: &Tenant, run_id: &str) -> Vec<Value> {
    let logs = app.get(&format!("{AUTOMATION}/logs/?run_id={run_id}&page_size=100"), Some(&t.token)).await;
    assert_eq!(logs.status, 200, "{}", logs.body);
    logs.body["results"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_run_takes_a_sites_keywords_through_every_stage_to_wordpress_and_charges_each_job_once() {
    let app = api_tests::spawn_app_configured(api_tests::RELAXED_RATES, |c| {
        c.retry_delay = Duration::ZERO;
        c.wordpress_timeout = Duration::from_secs(5);
    })
    .await;
    let wp = api_tests::wordpress::wordpress();
    let t = app.tenant(&format!("auto-{}@example.com", igny8_domain::ids::new_id()), "growth").await;
    api_tests::jobs::use_provider(&app, &t, 4).await;
    api_tests::jobs::keywords(&app, &t, 100, "auto").await;
    let site = json!({"site_id": t.site, "site_url": wp.url, "username": wp.admin.0, "app_password": wp.admin.1});
    assert_eq!(app.post("/api/v1/integration/integrations/", &site, Some(&t.token)).await.status, 201);
    let before = app.credits(&t.account_id).await;

    let config = app.get(&format!("{AUTOMATION}/config/?site_id={}", t.site), Some(&t.token)).await;
    assert_eq!(config.data()["stages"]["clusters"], json!({"enabled": true, "batch_size": 200}), "{}", config.body);
    let publish = json!({"site_id": t.site, "stages": {"publish": {"enabled": true}}});
    let saved = app.call("PATCH", &format!("{AUTOMATION}/update_config/"), Some(&publish), Some(&t.token)).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let run = run_now(&app, &t).await;
    let run_id = run["id"].as_str().unwrap_or_default().to_owned();
    let done = until(&app, &t, &["completed", "failed", "paused"]).await;
    assert_eq!(done["status"], json!("completed"), "{done}");
    assert_eq!(done["current_stage"], Value::Null);

    // Every stage ran, and left its records.
    let stages: Vec<&Value> = done["stages"].as_array().map(|s| s.iter().collect()).unwrap_or_default();
    let names: Vec<&str> = stages.iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["clusters", "ideas", "tasks", "content", "image_prompts", "images", "publish"]);
    for stage in &stages {
        assert_eq!(stage["status"], json!("done"), "{stage}");
        assert!(stage["items"].as_u64().unwrap_or_default() > 0, "{stage}");
        assert_eq!(stage["failed_jobs"], json!(0), "{stage}");
    }
    assert_eq!(stages[0]["items"], json!(100), "every keyword clustered");
    assert_eq!(count(&app, &t, "planner/clusters/").await, 3);
    assert_eq!(count(&app, &t, "planner/ideas/").await, 9);
    assert_eq!(count(&app, &t, "writer/tasks/").await, 9);
    assert_eq!(count(&app, &t, "writer/content/").await, 9);
    let images =
        app.get(&format!("/api/v1/writer/images/?sector_id={}&status=generated", t.sector), Some(&t.token)).await;
    assert_eq!(images.body["count"], json!(20), "one batch of images: {}", images.body);

    // Charged once per job: the run's charges are what the balance lost; the ledger agrees.
    let charged: i64 = stages.iter().filter_map(|s| s["credits_charged"].as_i64()).sum();
    assert!(charged > 0);
    assert_eq!(done["credits_charged"], json!(charged));
    assert_eq!(app.credits(&t.account_id).await, before - charged);
    assert_eq!(app.ledger_sum(&t.account_id).await, app.credits(&t.account_id).await);

    // The story: history and logs.
    let history = app.get(&format!("{AUTOMATION}/history/?site_id={}", t.site), Some(&t.token)).await;
    assert_eq!(history.body["count"], json!(1));
    assert_eq!(history.body["results"][0]["id"], json!(run_id));
    let logged = events(&app, &t, &run_id).await;
    let kinds: Vec<(String, String)> = logged
        .iter()
        .map(|e| (e["event"].as_str().unwrap_or_default().into(), e["stage"].as_str().unwrap_or_default().into()))
        .collect();
    assert_eq!(kinds.first().map(|k| k.0.as_str()), Some("run_started"));
    assert_eq!(kinds.last().map(|k| k.0.as_str()), Some("completed"));
    for stage in &names {
        assert!(kinds.contains(&("stage_finished".into(), (*stage).into())), "{stage}: {kinds:?}");
    }
    // The nine articles reach the test WordPress through the publish worker.
    let mut published = 0;
    for _ in 0..600 {
        let records = app.get("/api/v1/publisher/publishing-records/?page_size=20", Some(&t.token)).await;
        let rows = records.body["results"].as_array().cloned().unwrap_or_default();
        published = rows.iter().filter(|r| r["status"] == json!("published")).count();
        if published == 9 || rows.iter().any(|r| r["status"] == json!("failed")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(published, 9, "every article published");
    let records = app.get("/api/v1/publisher/publishing-records/?page_size=20", Some(&t.token)).await;
    for record in records.body["results"].as_array().cloned().unwrap_or_default() {
        let post = wp.get(&format!("posts/{}", record["post_id"])).await;
        assert_eq!(post["status"], json!("publish"), "{record}: {post}");
    }
    let logged_credits: i64 =
        logged.iter().filter(|e| e["event"] == json!("stage_finished")).filter_map(|e| e["credits"].as_i64()).sum();
    assert_eq!(logged_credits, charged);

    // The site is free again: a second run finds only what the first left (the images over its
    // batch) and completes.
    run_now(&app, &t).await;
    let second = until(&app, &t, &["completed", "failed", "paused"]).await;
    assert_eq!(second["status"], json!("completed"), "{second}");
    let images =
        app.get(&format!("/api/v1/writer/images/?sector_id={}&status=generated", t.sector), Some(&t.token)).await;
    assert_eq!(images.body["count"], json!(27));
    assert_eq!(count(&app, &t, "planner/clusters/").await, 3, "nothing clustered twice");
}

#[tokio::test]
async fn two_runs_at_once_make_one_run_and_a_cancelled_run_frees_the_site() {
    let app = spawn_app().await;
    let t = app.tenant(&format!("once-{}@example.com", igny8_domain::ids::new_id()), "growth").await;
    // Nothing to do but quickly: every stage off.
    let off: serde_json::Map<String, Value> =
        igny8_domain::automation::config::STAGES.iter().map(|s| ((*s).to_owned(), json!({"enabled": false}))).collect();
    let body = json!({"site_id": t.site, "stages": off});
    assert_eq!(
        app.call("PATCH", &format!("{AUTOMATION}/update_config/"), Some(&body), Some(&t.token)).await.status,
        200
    );

    let request = json!({"site_id": t.site});
    let url = format!("{AUTOMATION}/run_now/");
    let (a, b) = tokio::join!(app.post(&url, &request, Some(&t.token)), app.post(&url, &request, Some(&t.token)));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{} {}", a.body, b.body);
    let done = until(&app, &t, &["completed"]).await;
    let stages = done["stages"].as_array().cloned().unwrap_or_default();
    assert!(stages.iter().all(|s| s["status"] == json!("skipped")), "{done}");
    let history = app.get(&format!("{AUTOMATION}/history/?site_id={}", t.site), Some(&t.token)).await;
    assert_eq!(history.body["count"], json!(1));

    // Cancelled: stopped, the site free for the next run; a cancelled run is not resumed.
    let run = run_now(&app, &t).await;
    let run_id = run["id"].as_str().unwrap_or_default();
    let cancelled = app.post(&format!("{AUTOMATION}/cancel/"), &json!({"run_id": run_id}), Some(&t.token)).await;
    if cancelled.status == 200 {
        assert_eq!(cancelled.data()["status"], json!("cancelled"));
        app.post(&format!("{AUTOMATION}/resume/"), &json!({"run_id": run_id}), Some(&t.token))
            .await
            .assert_error(409, "The run is cancelled.");
    } else {
        cancelled.assert_error(409, "The run is completed."); // it was quicker
    }
    run_now(&app, &t).await;
}

#[tokio::test]
async fn a_paused_run_stops_at_its_next_stage_and_resumes_where_it_stopped() {
    let app = spawn_app().await;
    let t = app.tenant(&format!("pause-{}@example.com", igny8_domain::ids::new_id()), "growth").await;
    api_tests::jobs::use_provider(&app, &t, 4).await;
    api_tests::jobs::keywords(&app, &t, 12, "pause").await;
    // The provider is slow: the clusters stage is in flight when the pause comes.
    app.provider.set_delay(Duration::from_millis(1500));
    let run = run_now(&app, &t).await;
    let run_id = run["id"].as_str().unwrap_or_default().to_owned();
    let paused = app.post(&format!("{AUTOMATION}/pause/"), &json!({"run_id": run_id}), Some(&t.token)).await;
    assert_eq!(paused.status, 200, "{}", paused.body);
    assert_eq!(paused.data()["pause_requested"], json!(true));
    let at_rest = until(&app, &t, &["paused"]).await;
    app.provider.set_delay(Duration::ZERO);
    assert_eq!(at_rest["reason"], json!("paused"));
    let stages = at_rest["stages"].as_array().cloned().unwrap_or_default();
    let started = stages.iter().filter(|s| s["status"] != json!("pending")).count();
    assert!(started <= 1, "no stage started after the pause: {at_rest}");
    // It stays paused.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let still = app.get(&format!("{AUTOMATION}/current_run/?site_id={}", t.site), Some(&t.token)).await;
    assert_eq!((still.data()["status"].clone(), still.data()["stages"].clone()), (json!("paused"), json!(stages)));
    app.post(&format!("{AUTOMATION}/run_now/"), &json!({"site_id": t.site}), Some(&t.token))
        .await
        .assert_error(409, "A run of this site is active: pause, resume or cancel it.");

    let resumed = app.post(&format!("{AUTOMATION}/resume/"), &json!({"run_id": run_id}), Some(&t.token)).await;
    assert_eq!((resumed.status, &resumed.data()["status"]), (200, &json!("running")), "{}", resumed.body);
    let done = until(&app, &t, &["completed", "failed"]).await;
    assert_eq!(done["status"], json!("completed"), "{done}");
    let kinds: Vec<String> =
        events(&app, &t, &run_id).await.iter().filter_map(|e| e["event"].as_str().map(str::to_owned)).collect();
    for kind in ["pause_requested", "paused", "resumed", "completed"] {
        assert!(kinds.contains(&kind.to_owned()), "{kind}: {kinds:?}");
    }
    assert_eq!(count(&app, &t, "planner/clusters/").await, 3);
    assert_eq!(app.ledger_sum(&t.account_id).await, app.credits(&t.account_id).await);
}

#[tokio::test]
async fn credits_running_out_pause_the_run_with_the_reason_and_nothing_is_overspent() {
    let app = spawn_app().await;
    let t = app.tenant(&format!("short-{}@example.com", igny8_domain::ids::new_id()), "growth").await;
    api_tests::jobs::use_provider(&app, &t, 4).await;
    api_tests::jobs::keywords(&app, &t, 12, "short").await;
    // 25 credits: the clustering (10) fits, the ideas of three clusters (45) do not.
    let platform = app.platform_token().await;
    let balance = app.credits(&t.account_id).await;
    let adjust = json!({"amount": 25 - balance, "reason": "automation test"});
    let adjusted =
        app.post(&format!("/api/v1/admin/accounts/{}/adjust_credits/", t.account_id), &adjust, Some(&platform)).await;
    assert_eq!(adjusted.status, 200, "{}", adjusted.body);

    let run = run_now(&app, &t).await;
    let run_id = run["id"].as_str().unwrap_or_default().to_owned();
    let paused = until(&app, &t, &["paused", "completed", "failed"]).await;
    assert_eq!((&paused["status"], &paused["reason"]), (&json!("paused"), &json!("insufficient_credits")), "{paused}");
    assert_eq!(paused["current_stage"], json!("ideas"));
    assert_eq!(paused["stages"][1]["status"], json!("pending"));
    let left = app.credits(&t.account_id).await;
    let clustered = paused["stages"][0]["credits_charged"].as_i64().unwrap_or_default();
    assert!(clustered > 0);
    assert_eq!(left, 25 - clustered, "the ideas stage reserved nothing");
    assert_eq!(app.ledger_sum(&t.account_id).await, left);
    assert_eq!(count(&app, &t, "planner/clusters/").await, 3);
    assert_eq!(count(&app, &t, "planner/ideas/").await, 0);

    // Topped up, it resumes where it stopped.
    let top_up = json!({"amount": 5000, "reason": "top up"});
    app.post(&format!("/api/v1/admin/accounts/{}/adjust_credits/", t.account_id), &top_up, Some(&platform)).await;
    app.post(&format!("{AUTOMATION}/resume/"), &json!({"run_id": run_id}), Some(&t.token)).await;
    let done = until(&app, &t, &["completed", "failed", "paused"]).await;
    assert_eq!(done["status"], json!("completed"), "{done}");
    assert_eq!(done["stages"][0]["credits_charged"], paused["stages"][0]["credits_charged"], "clustered once");
    assert_eq!(app.ledger_sum(&t.account_id).await, app.credits(&t.account_id).await);
}

#[tokio::test]
async fn the_credit_ceiling_is_never_passed() {
    let app = spawn_app().await;
    let t = app.tenant(&format!("ceiling-{}@example.com", igny8_domain::ids::new_id()), "growth").await;
    api_tests::jobs::use_provider(&app, &t, 4).await;
    api_tests::jobs::keywords(&app, &t, 12, "ceiling").await;
    let body = json!({"site_id": t.site, "credit_ceiling": 30});
    assert_eq!(
        app.call("PATCH", &format!("{AUTOMATION}/update_config/"), Some(&body), Some(&t.token)).await.status,
        200
    );
    let before = app.credits(&t.account_id).await;
    run_now(&app, &t).await;
    let done = until(&app, &t, &["completed", "failed", "paused"]).await;
    assert_eq!((&done["status"], &done["reason"]), (&json!("completed"), &json!("credit_ceiling")), "{done}");
    let spent = before - app.credits(&t.account_id).await;
    assert!(spent <= 30, "spent {spent} over a ceiling of 30");
    assert_eq!(done["credits_charged"], json!(spent));
    assert_eq!(app.ledger_sum(&t.account_id).await, app.credits(&t.account_id).await);
}

#[tokio::test]
async fn bad_settings_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let t = app.tenant(&format!("cfg-{}@example.com", igny8_domain::ids::new_id()), "growth").await;
    let other = app.tenant(&format!("cfg-other-{}@example.com", igny8_domain::ids::new_id()), "growth").await;
    let url = format!("{AUTOMATION}/update_config/");
    for (body, field) in [
        (json!({"site_id": t.site, "schedule": {"time": "25:00"}}), "schedule"),
        (json!({"site_id": t.site, "schedule": {"frequency": "hourly"}}), "schedule"),
        (json!({"site_id": t.site, "schedule": {"timezone": "not a zone"}}), "schedule"),
        (json!({"site_id": t.site, "schedule": {"when": "soon"}}), "schedule"),
        (json!({"site_id": t.site, "stages": {"publishing": {"enabled": true}}}), "stages"),
        (json!({"site_id": t.site, "stages": {"content": {"batch_size": 0}}}), "stages"),
        (json!({"site_id": t.site, "credit_ceiling": -5}), "credit_ceiling"),
        (json!({"site_id": t.site, "enabled": "yes"}), "enabled"),
        (json!({"site_id": t.site, "author_profile_id": "8d1c3c0e-0000-4000-8000-000000000000"}), "author_profile_id"),
        (json!({"enabled": true}), "site_id"),
    ] {
        let refused = app.call("PATCH", &url, Some(&body), Some(&t.token)).await;
        refused.assert_error(400, "Validation failed");
        assert!(!refused.field_errors(field).is_empty(), "{field}: {}", refused.body);
    }
    let config = app.get(&format!("{AUTOMATION}/config/?site_id={}", t.site), Some(&t.token)).await;
    assert_eq!((config.data()["enabled"].clone(), config.data()["updated_at"].clone()), (json!(false), Value::Null));
    let saved = app
        .call(
            "PUT",
            &url,
            Some(&json!({"site_id": t.site, "enabled": true, "schedule": {"frequency": "weekly", "weekday": 2, "time": "06:30", "timezone": "Europe/Paris"},
                          "stages": {"images": {"enabled": false}}, "credit_ceiling": 400})),
            Some(&t.token),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_eq!(saved.data()["schedule"]["timezone"], json!("Europe/Paris"));
    assert_eq!(saved.data()["stages"]["images"], json!({"enabled": false, "batch_size": 20}));
    // Another account's site is not found, to read or to change.
    app.get(&format!("{AUTOMATION}/config/?site_id={}", t.site), Some(&other.token))
        .await
        .assert_error(404, "Resource not found");
    app.call("PATCH", &url, Some(&json!({"site_id": t.site, "enabled": false})), Some(&other.token))
        .await
        .assert_error(404, "Resource not found");
    app.get(&format!("{AUTOMATION}/config/"), Some(&t.token)).await.assert_error(400, "Validation failed");
    app.get(&format!("{AUTOMATION}/logs/"), Some(&t.token)).await.assert_error(400, "Validation failed");
}

#[tokio::test]
async fn a_step_taken_twice_or_cut_short_advances_the_run_once_and_charges_once() {
    use igny8_domain::automation::{runs, stages, worker};
    // The automation queue is parked: this test delivers the steps itself.
    let app = api_tests::spawn_app_configured(api_tests::RELAXED_RATES, |c| {
        c.automation_queue_url =
            c.automation_queue_url.as_ref().map(|u| u.replace("automation-queue", "automation-dlq"));
    })
    .await;
    let t = app.tenant(&format!("twice-{}@example.com", igny8_domain::ids::new_id()), "growth").await;
    api_tests::jobs::use_provider(&app, &t, 4).await;
    api_tests::jobs::keywords(&app, &t, 12, "twice").await;
    let before = app.credits(&t.account_id).await;
    let run_id = run_now(&app, &t).await["id"].as_str().unwrap_or_default().to_owned();
    let load = || async { runs::load(&app.services, &t.account_id, &run_id).await.expect("read").expect("the run") };

    // The same step delivered twice at once: one transition, one job, one reservation.
    let run = load().await;
    let (a, b) = tokio::join!(worker::step(&app.services, run.clone()), worker::step(&app.services, run.clone()));
    a.expect("first delivery");
    b.expect("second delivery");
    let run = load().await;
    assert_eq!((run.step, run.stages[0].status.as_str(), run.stages[0].jobs.len()), (1, "running", 1), "{run:?}");
    assert_eq!(before - app.credits(&t.account_id).await, run.stages[0].credits_reserved, "reserved once");

    // Let the clustering end; the next step moves the run to the ideas stage.
    let mut run = run;
    while run.stage_index == 0 {
        worker::step(&app.services, run).await.expect("a step");
        tokio::time::sleep(Duration::from_millis(100)).await;
        run = load().await;
    }
    // A worker killed after queueing the ideas stage's job, before writing the run: the next
    // delivery queues nothing twice and goes on.
    let account = app
        .services
        .store()
        .await
        .get::<igny8_domain::accounts::Account>(&igny8_domain::store::Key::account(&t.account_id))
        .await
        .expect("read")
        .expect("the account");
    let lost = stages::start(&app.services, &run, &account, 1).await.expect("the stage's jobs queued");
    assert_eq!(lost.jobs.len(), 1);
    let after_lost = app.credits(&t.account_id).await;
    worker::step(&app.services, run.clone()).await.expect("the redelivery");
    let run = load().await;
    assert_eq!(run.stages[1].jobs, vec![lost.jobs[0].id.clone()], "the same job");
    assert_eq!(app.credits(&t.account_id).await, after_lost, "nothing reserved twice");

    // The rest, delivered one step at a time.
    let mut run = run;
    for _ in 0..600 {
        if !run.is_active() {
            break;
        }
        worker::step(&app.services, run).await.expect("a step");
        tokio::time::sleep(Duration::from_millis(50)).await;
        run = load().await;
    }
    assert_eq!(run.status, "completed", "{run:?}");
    let charged: i64 = run.stages.iter().map(|s| s.credits_charged).sum();
    assert_eq!(before - app.credits(&t.account_id).await, charged);
    assert_eq!(app.ledger_sum(&t.account_id).await, app.credits(&t.account_id).await);
    assert!(run.stages.iter().all(|s| s.jobs.len() <= 1), "one job per stage and sector: {run:?}");
}

#[tokio::test]
async fn the_estimate_is_what_the_run_then_reserves_and_charges_within_the_words_written() {
    let app = spawn_app().await;
    let t = app.tenant(&format!("estimate-{}@example.com", igny8_domain::ids::new_id()), "growth").await;
    api_tests::jobs::use_provider(&app, &t, 4).await;
    api_tests::jobs::keywords(&app, &t, 40, "est").await;
    // Only the clustering: its cost is per model call, known before the model answers.
    let only = |stage: &str| {
        let stages: serde_json::Map<String, Value> = igny8_domain::automation::config::STAGES
            .iter()
            .map(|s| ((*s).to_owned(), json!({"enabled": *s == stage})))
            .collect();
        json!({"site_id": t.site, "stages": stages})
    };
    let url = format!("{AUTOMATION}/update_config/");
    assert_eq!(app.call("PATCH", &url, Some(&only("clusters")), Some(&t.token)).await.status, 200);

    let overview = app.get(&format!("{AUTOMATION}/pipeline_overview/?site_id={}", t.site), Some(&t.token)).await;
    assert_eq!(overview.status, 200, "{}", overview.body);
    assert_eq!(overview.data()[0]["waiting"], json!(40), "{}", overview.body);
    let estimate = app.get(&format!("{AUTOMATION}/estimate/?site_id={}", t.site), Some(&t.token)).await;
    assert_eq!(estimate.status, 200, "{}", estimate.body);
    let e = estimate.data();
    assert_eq!((&e["stages"][0]["items"], &e["stages"][0]["credits"]), (&json!(40), &json!(20)), "{e}");
    assert_eq!(e["total_credits"], json!(20));
    assert_eq!(e["enough_credits"], json!(true));
    let before = app.credits(&t.account_id).await;
    run_now(&app, &t).await;
    let done = until(&app, &t, &["completed", "failed", "paused"]).await;
    assert_eq!(done["stages"][0]["credits_charged"], json!(20), "{done}");
    assert_eq!(before - app.credits(&t.account_id).await, 20);

    // The content of the tasks waiting: estimated at 1,000 words each, charged by the words
    // written (the provider test server writes fewer).
    assert_eq!(app.call("PATCH", &url, Some(&only("ideas")), Some(&t.token)).await.status, 200);
    run_now(&app, &t).await;
    until(&app, &t, &["completed"]).await;
    assert_eq!(app.call("PATCH", &url, Some(&only("tasks")), Some(&t.token)).await.status, 200);
    run_now(&app, &t).await;
    until(&app, &t, &["completed"]).await;
    assert_eq!(app.call("PATCH", &url, Some(&only("content")), Some(&t.token)).await.status, 200);
    let estimate = app.get(&format!("{AUTOMATION}/estimate/?site_id={}", t.site), Some(&t.token)).await;
    let content = estimate.data()["stages"][3].clone();
    assert_eq!((&content["waiting"], &content["items"]), (&json!(9), &json!(9)), "{}", estimate.body);
    assert_eq!(content["credits"], json!(90), "9 tasks of 1,000 words");
    run_now(&app, &t).await;
    let done = until(&app, &t, &["completed", "failed", "paused"]).await;
    let charged = done["stages"][3]["credits_charged"].as_i64().unwrap_or_default();
    assert!(charged > 0 && charged <= 90, "charged {charged} for an estimate of 90: {done}");
    assert_eq!(app.ledger_sum(&t.account_id).await, app.credits(&t.account_id).await);
}

#[tokio::test]
async fn current_processing_shows_the_stage_and_jobs_in_flight() {
    let app = spawn_app().await;
    let t = app.tenant(&format!("proc-{}@example.com", igny8_domain::ids::new_id()), "growth").await;
    api_tests::jobs::use_provider(&app, &t, 4).await;
    api_tests::jobs::keywords(&app, &t, 12, "proc").await;
    let none = app.get(&format!("{AUTOMATION}/current_processing/?site_id={}", t.site), Some(&t.token)).await;
    assert_eq!((none.status, none.data()), (200, &Value::Null), "{}", none.body);
    app.provider.set_delay(Duration::from_millis(1500));
    run_now(&app, &t).await;
    let mut seen = None;
    for _ in 0..100 {
        let now = app.get(&format!("{AUTOMATION}/current_processing/?site_id={}", t.site), Some(&t.token)).await;
        if now.data()["stage"] == json!("clusters") && !now.data()["jobs"].as_array().is_none_or(Vec::is_empty) {
            seen = Some(now.data().clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.provider.set_delay(Duration::ZERO);
    let seen = seen.expect("the clustering seen in flight");
    assert_eq!(seen["items"], json!(12));
    assert_eq!(seen["jobs"][0]["function"], json!("auto_cluster"));
    assert!(seen["percentage"].as_u64().unwrap_or(101) <= 100);
    until(&app, &t, &["completed", "failed", "paused"]).await;
}

#[tokio::test]
async fn the_schedule_starts_one_run_per_slot_however_often_it_fires_and_moves_on() {
    use igny8_domain::automation::config::AutomationConfig;
    use igny8_domain::automation::schedule::run_due;
    let app = spawn_app().await;
    let t = app.tenant(&format!("sched-{}@example.com", igny8_domain::ids::new_id()), "growth").await;
    let off: serde_json::Map<String, Value> =
        igny8_domain::automation::config::STAGES.iter().map(|s| ((*s).to_owned(), json!({"enabled": false}))).collect();
    let body = json!({"site_id": t.site, "enabled": true, "stages": off,
                      "schedule": {"frequency": "daily", "time": "09:00", "timezone": "Europe/Paris"}});
    let saved = app.call("PATCH", &format!("{AUTOMATION}/update_config/"), Some(&body), Some(&t.token)).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let next_run_at = saved.data()["next_run_at"].as_str().unwrap_or_default().to_owned();
    assert!(next_run_at.contains("T07:00:00Z") || next_run_at.contains("T08:00:00Z"), "09:00 in Paris: {next_run_at}");
    let config = || async {
        app.services
            .store()
            .await
            .get::<AutomationConfig>(&AutomationConfig::key(&t.account_id, &t.site))
            .await
            .expect("read")
            .expect("the config")
    };
    let slot = config().await.next_due_at.expect("a slot");

    // Not due yet: nothing starts.
    assert_eq!(run_due(&app.services, slot - 60).await.expect("a pass").started, 0);
    // The rule fires twice for the slot, at once: one run.
    let (a, b) = tokio::join!(run_due(&app.services, slot + 5), run_due(&app.services, slot + 7));
    assert_eq!(a.expect("a pass").started + b.expect("a pass").started, 1);
    let done = until(&app, &t, &["completed"]).await;
    assert_eq!(done["trigger"], json!("schedule"));
    // Fired again late for the same slot: nothing more; the config has moved a day on.
    assert_eq!(run_due(&app.services, slot + 600).await.expect("a pass").started, 0);
    let history = app.get(&format!("{AUTOMATION}/history/?site_id={}", t.site), Some(&t.token)).await;
    assert_eq!(history.body["count"], json!(1));
    let next = config().await.next_due_at.expect("the next slot");
    assert_eq!(next, slot + 86_400);

    // A slot that finds a run active is skipped, and the schedule still moves on.
    let manual = run_now(&app, &t).await;
    let paused = app.post(&format!("{AUTOMATION}/pause/"), &json!({"run_id": manual["id"]}), Some(&t.token)).await;
    assert_eq!(paused.status, 200, "{}", paused.body);
    until(&app, &t, &["paused", "completed"]).await;
    let pass = run_due(&app.services, next + 1).await.expect("a pass");
    let current = app.get(&format!("{AUTOMATION}/current_run/?site_id={}", t.site), Some(&t.token)).await;
    if current.data()["status"] == json!("paused") {
        assert_eq!(pass.started, 0, "the paused run holds the site");
    }
    assert_eq!(config().await.next_due_at, Some(next + 86_400));

    // Switched off: no longer due.
    let off = json!({"site_id": t.site, "enabled": false});
    let saved = app.call("PATCH", &format!("{AUTOMATION}/update_config/"), Some(&off), Some(&t.token)).await;
    assert_eq!(saved.data()["next_run_at"], Value::Null);
    assert_eq!(run_due(&app.services, next + 3 * 86_400).await.expect("a pass").due, 0);
}

#[tokio::test]
async fn the_publish_stage_puts_the_sites_new_content_on_its_wordpress() {
    let app = api_tests::spawn_app_configured(api_tests::RELAXED_RATES, |c| {
        c.retry_delay = Duration::ZERO;
        c.wordpress_timeout = Duration::from_secs(5);
    })
    .await;
    let wp = api_tests::wordpress::wordpress();
    let t = app.tenant(&format!("autopub-{}@example.com", igny8_domain::ids::new_id()), "agency").await;
    let owner = Some(t.token.as_str());
    let site = json!({"site_id": t.site, "site_url": wp.url, "username": wp.admin.0, "app_password": wp.admin.1});
    assert_eq!(app.post("/api/v1/integration/integrations/", &site, owner).await.status, 201);
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let mut titles = Vec::new();
    for i in 0..2 {
        let title = format!("Automated {tag} {i}");
        let body = json!({"sector_id": t.sector, "title": title, "html_content": "<p>Written by the pipeline.</p>"});
        assert_eq!(app.post("/api/v1/writer/content/", &body, owner).await.status, 201);
        titles.push(title);
    }
    // Publishing is off by default; this site turns it on, and only it.
    let config = app.get(&format!("{AUTOMATION}/config/?site_id={}", t.site), owner).await;
    assert_eq!(config.data()["stages"]["publish"]["enabled"], json!(false));
    let stages: serde_json::Map<String, Value> = igny8_domain::automation::config::STAGES
        .iter()
        .map(|s| ((*s).to_owned(), json!({"enabled": *s == "publish"})))
        .collect();
    let body = json!({"site_id": t.site, "stages": stages});
    assert_eq!(app.call("PATCH", &format!("{AUTOMATION}/update_config/"), Some(&body), owner).await.status, 200);

    run_now(&app, &t).await;
    let done = until(&app, &t, &["completed", "failed", "paused"]).await;
    assert_eq!(done["status"], json!("completed"), "{done}");
    assert_eq!(done["stages"][6]["items"], json!(2), "{done}");
    let mut published = 0;
    for _ in 0..300 {
        let records = app.get("/api/v1/publisher/publishing-records/?page_size=10", owner).await;
        let rows = records.body["results"].as_array().cloned().unwrap_or_default();
        published = rows.iter().filter(|r| r["status"] == json!("published")).count();
        if published == 2 || rows.iter().any(|r| r["status"] == json!("failed")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(published, 2, "both contents published");
    for title in &titles {
        let posts = wp.posts_titled(title).await;
        assert_eq!(posts.len(), 1, "{title}: {posts:?}");
        assert_eq!(posts[0]["status"], json!("publish"));
    }
    // A second run finds nothing left to publish.
    run_now(&app, &t).await;
    let again = until(&app, &t, &["completed", "failed", "paused"]).await;
    assert_eq!(again["stages"][6]["status"], json!("skipped"), "{again}");
}

#[tokio::test]
async fn a_run_of_an_account_that_switches_automation_off_pauses_and_resumes_once_it_is_on() {
    let app = spawn_app().await;
    let t = app.tenant(&format!("switch-{}@example.com", igny8_domain::ids::new_id()), "growth").await;
    api_tests::jobs::use_provider(&app, &t, 4).await;
    api_tests::jobs::keywords(&app, &t, 12, "switch").await;
    app.provider.set_delay(Duration::from_millis(1500));
    let run = run_now(&app, &t).await;
    let enable = "/api/v1/system/settings/modules/enable/";
    let off = app.call("PATCH", enable, Some(&json!({"automation_enabled": false})), Some(&t.token)).await;
    assert_eq!(off.status, 200, "{}", off.body);
    // Its routes answer 403; the run pauses at its next step.
    app.get(&format!("{AUTOMATION}/current_run/?site_id={}", t.site), Some(&t.token))
        .await
        .assert_error(403, "Module disabled");
    let mut paused = None;
    for _ in 0..100 {
        let found =
            igny8_domain::automation::runs::load(&app.services, &t.account_id, run["id"].as_str().unwrap_or_default())
                .await
                .expect("read")
                .expect("the run");
        if found.status == "paused" {
            paused = Some(found);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.provider.set_delay(Duration::ZERO);
    let paused = paused.expect("the run paused");
    assert_eq!(paused.reason.as_deref(), Some("module_disabled"));
    app.call("PATCH", enable, Some(&json!({"automation_enabled": true})), Some(&t.token)).await;
    let resumed = app.post(&format!("{AUTOMATION}/resume/"), &json!({"run_id": run["id"]}), Some(&t.token)).await;
    assert_eq!(resumed.status, 200, "{}", resumed.body);
    let done = until(&app, &t, &["completed", "failed", "paused"]).await;
    assert_eq!(done["status"], json!("completed"), "{done}");
    assert_eq!(app.ledger_sum(&t.account_id).await, app.credits(&t.account_id).await);
}

#[tokio::test]
async fn a_run_cancelled_mid_stage_stops_there_and_keeps_what_its_jobs_did() {
    let app = spawn_app().await;
    let t = app.tenant(&format!("cancel-{}@example.com", igny8_domain::ids::new_id()), "growth").await;
    api_tests::jobs::use_provider(&app, &t, 4).await;
    api_tests::jobs::keywords(&app, &t, 12, "cancel").await;
    app.provider.set_delay(Duration::from_millis(1500));
    let run = run_now(&app, &t).await;
    let run_id = run["id"].as_str().unwrap_or_default().to_owned();
    // Mid-stage: the clustering is in flight.
    let mut in_flight = false;
    for _ in 0..100 {
        let now = app.get(&format!("{AUTOMATION}/current_processing/?site_id={}", t.site), Some(&t.token)).await;
        if now.data()["stage"] == json!("clusters") {
            in_flight = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(in_flight, "the clustering was seen in flight");
    let cancelled = app.post(&format!("{AUTOMATION}/cancel/"), &json!({"run_id": run_id}), Some(&t.token)).await;
    assert_eq!((cancelled.status, &cancelled.data()["status"]), (200, &json!("cancelled")), "{}", cancelled.body);
    app.provider.set_delay(Duration::ZERO);
    // The clustering job finishes and keeps its clusters; no later stage starts.
    let job = cancelled.data()["stages"][0]["jobs"][0].as_str().unwrap_or_default().to_owned();
    assert_eq!(app.settled(&t.token, &job).await["state"], json!("SUCCESS"));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = app.get(&format!("{AUTOMATION}/current_run/?site_id={}", t.site), Some(&t.token)).await;
    assert_eq!(after.data()["status"], json!("cancelled"), "{}", after.body);
    let later = after.data()["stages"].as_array().cloned().unwrap_or_default();
    assert!(later[1..].iter().all(|s| s["status"] == json!("pending")), "{}", after.body);
    assert_eq!(count(&app, &t, "planner/clusters/").await, 3, "what was done stays");
    assert_eq!(count(&app, &t, "planner/ideas/").await, 0);
    app.post(&format!("{AUTOMATION}/resume/"), &json!({"run_id": run_id}), Some(&t.token))
        .await
        .assert_error(409, "The run is cancelled.");
    assert_eq!(app.ledger_sum(&t.account_id).await, app.credits(&t.account_id).await);
    // The site is free for the next run.
    run_now(&app, &t).await;
}
