//! The optimizer's analyzer through the API: a content's scores, each dimension with its reason,
//! nothing changed and nothing charged; another account's content is not found.

use api_tests::spawn_app;
use serde_json::json;

#[tokio::test]
async fn analyze_scores_a_content_and_changes_nothing() {
    let app = spawn_app().await;
    let t = app.tenant("analyze@optimizer.example", "agency").await;
    let other = app.tenant("analyze-other@optimizer.example", "agency").await;
    let owner = Some(t.token.as_str());
    let body = json!({
        "sector_id": t.sector, "title": "Dental implants: a short guide", "primary_keyword": "dental implants",
        "meta_title": "Dental implants explained simply for patients",
        "html_content": "<p>Dental implants replace lost teeth.</p><h2>Why dental implants work</h2><p>They fit well.</p>",
    });
    let created = app.post("/api/v1/writer/content/", &body, owner).await;
    let id = created.data()["id"].as_str().unwrap().to_owned();
    let credits = app.credits(&t.account_id).await;
    let before = app.snapshot().await;

    let scored = app.post("/api/v1/optimizer/analyze/", &json!({"content_id": id}), owner).await;
    assert_eq!(scored.status, 200, "{}", scored.body);
    let dimensions = scored.data()["dimensions"].as_array().unwrap();
    assert_eq!(dimensions.len(), 11);
    let score = |name: &str| dimensions.iter().find(|d| d["name"] == name).map(|d| d["score"].clone());
    assert_eq!(score("keyword_in_title"), Some(json!(100)));
    assert_eq!(score("keyword_in_intro"), Some(json!(100)));
    assert_eq!(score("meta_description_length"), Some(json!(0)));
    assert_eq!(score("internal_links"), Some(json!(0)));
    assert!(dimensions.iter().all(|d| d["reason"].as_str().is_some_and(|r| !r.is_empty())));
    let total = scored.data()["total"].as_u64().unwrap();
    assert!(total > 0 && total < 100, "{total}");
    assert_eq!(app.credits(&t.account_id).await, credits, "nothing charged");
    assert_eq!(app.snapshot().await, before, "nothing changed");

    let foreign = app.post("/api/v1/optimizer/analyze/", &json!({"content_id": id}), Some(&other.token)).await;
    assert_eq!(foreign.status, 404, "{}", foreign.body);
    let bad = app.post("/api/v1/optimizer/analyze/", &json!({"content_id": "x".repeat(300)}), owner).await;
    assert_eq!(bad.status, 400, "{}", bad.body);
}

fn article() -> String {
    let paragraph =
        "Dental implants replace a lost tooth with a post and a crown. Most people heal in weeks. ".repeat(8);
    format!("<p>{paragraph}</p><h2>How it goes</h2><p>{paragraph}</p><h2>Costs</h2><p>{paragraph}</p>")
}

#[tokio::test]
async fn optimize_rewrites_keeps_the_original_and_revert_puts_it_back_exactly() {
    let app = spawn_app().await;
    let t = app.tenant("optimize@optimizer.example", "agency").await;
    let owner = Some(t.token.as_str());
    let original = article();
    let body = json!({"sector_id": t.sector, "title": "Implants", "primary_keyword": "dental implants",
                      "meta_title": "Implants", "html_content": original});
    let created = app.post("/api/v1/writer/content/", &body, owner).await;
    let id = created.data()["id"].as_str().unwrap().to_owned();
    let words = created.data()["word_count"].as_i64().unwrap();
    let before_html = created.data()["html_content"].as_str().unwrap().to_owned();
    let credits = app.credits(&t.account_id).await;

    let job = app.post("/api/v1/optimizer/optimize/", &json!({"content_ids": [id]}), owner).await;
    assert_eq!(job.status, 200, "{}", job.body);
    let done = app.settled(&t.token, job.body["task_id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "SUCCESS", "{done}");
    assert_eq!(app.credits(&t.account_id).await, credits - (words / 200).max(1), "1 per 200 words ({words})");
    assert_eq!(app.ledger_sum(&t.account_id).await, app.credits(&t.account_id).await);
    assert!(app.provider.requests().iter().any(|r| r.to_string().contains("optimize_content")));

    let optimized = app.get(&format!("/api/v1/writer/content/{id}/"), owner).await;
    let data = optimized.data();
    assert!(data["html_content"].as_str().unwrap().starts_with("<p>A short guide to dental implants.</p>"));
    assert_eq!((data["optimizer_version"].as_u64(), data["status"].as_str()), (Some(1), Some("optimized")));
    assert!(data["optimization_scores"]["total"].is_u64(), "{data}");
    assert_ne!(data["optimization_status"], "not_optimized");

    let tasks = app.get(&format!("/api/v1/optimizer/tasks/?content_id={id}"), owner).await;
    assert_eq!(tasks.body["count"], json!(1), "{}", tasks.body);
    let task_id = tasks.body["results"][0]["id"].as_str().unwrap().to_owned();
    let task = app.get(&format!("/api/v1/optimizer/tasks/{task_id}/"), owner).await;
    assert_eq!(task.data()["html_before"], before_html.as_str(), "the original is kept");
    assert_eq!(task.data()["html_after"], data["html_content"]);
    assert!(
        task.data()["scores_after"]["total"].as_u64() > task.data()["scores_before"]["total"].as_u64(),
        "{}",
        task.body
    );

    // Another account sees no task of this one, and reverts none.
    let other = app.tenant("optimize-other@optimizer.example", "agency").await;
    let theirs = Some(other.token.as_str());
    assert_eq!(app.get(&format!("/api/v1/optimizer/tasks/{task_id}/"), theirs).await.status, 404);
    assert_eq!(app.post(&format!("/api/v1/optimizer/tasks/{task_id}/revert/"), &json!({}), theirs).await.status, 404);
    assert_eq!(app.get("/api/v1/optimizer/tasks/", theirs).await.body["count"], json!(0));

    let reverted = app.post(&format!("/api/v1/optimizer/tasks/{task_id}/revert/"), &json!({}), owner).await;
    assert_eq!(reverted.status, 200, "{}", reverted.body);
    let back = app.get(&format!("/api/v1/writer/content/{id}/"), owner).await;
    assert_eq!(back.data()["html_content"], before_html.as_str(), "exactly the original");
    assert_eq!(back.data()["meta_title"], "Implants");
    assert_eq!(back.data()["word_count"].as_i64(), Some(words));
    let twice = app.post(&format!("/api/v1/optimizer/tasks/{task_id}/revert/"), &json!({}), owner).await;
    assert_eq!(twice.status, 409, "{}", twice.body);
}

#[tokio::test]
async fn a_failed_optimisation_changes_nothing_and_is_refunded() {
    use provider_test_server::Step;
    let app = spawn_app().await;
    let t = app.tenant("optimize-fail@optimizer.example", "agency").await;
    let owner = Some(t.token.as_str());
    let body = json!({"sector_id": t.sector, "title": "Implants", "primary_keyword": "dental implants", "html_content": article()});
    let id = app.post("/api/v1/writer/content/", &body, owner).await.data()["id"].as_str().unwrap().to_owned();
    let content = |app: &api_tests::TestApp| {
        let id = id.clone();
        let account = t.account_id.clone();
        let services = app.services.clone();
        async move { igny8_domain::records::find::<igny8_domain::writer::Content>(&services, &account, &id).await.unwrap() }
    };
    let before = content(&app).await;
    let credits = app.credits(&t.account_id).await;
    // Every call of every delivery fails.
    app.provider.script((0..30).map(|_| Step::Status { code: 500, retry_after: None }));
    let job = app.post(&format!("/api/v1/writer/content/{id}/optimize/"), &json!({}), owner).await;
    assert_eq!(job.status, 200, "{}", job.body);
    let done = app.settled(&t.token, job.body["task_id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "FAILURE", "{done}");
    assert_eq!(app.credits(&t.account_id).await, credits, "refunded");
    assert_eq!(app.ledger_sum(&t.account_id).await, credits);
    assert_eq!(content(&app).await, before, "nothing changed");
    assert_eq!(app.get(&format!("/api/v1/optimizer/tasks/?content_id={id}"), owner).await.body["count"], json!(0));
}

#[tokio::test]
async fn link_and_optimize_links_then_optimises_in_a_follow_up_job_queued_once() {
    let app = spawn_app().await;
    let t = app.tenant("link-optimize@optimizer.example", "agency").await;
    let owner = Some(t.token.as_str());
    let target = json!({"sector_id": t.sector, "title": "Whitening", "primary_keyword": "teeth whitening", "html_content": "<p>x</p>"});
    let target = app.post("/api/v1/writer/content/", &target, owner).await.data()["id"].as_str().unwrap().to_owned();
    let body = json!({"sector_id": t.sector, "title": "Implants", "primary_keyword": "dental implants",
                      "html_content": format!("{}<p>Ask about teeth whitening too.</p>", article())});
    let created = app.post("/api/v1/writer/content/", &body, owner).await;
    let id = created.data()["id"].as_str().unwrap().to_owned();
    let words = created.data()["word_count"].as_i64().unwrap();
    let credits = app.credits(&t.account_id).await;

    let job = app.post(&format!("/api/v1/writer/content/{id}/link_and_optimize/"), &json!({}), owner).await;
    assert_eq!(job.status, 200, "{}", job.body);
    let linked = app.settled(&t.token, job.body["task_id"].as_str().unwrap()).await;
    assert_eq!(linked["state"], "SUCCESS", "{linked}");
    let next = linked["meta"]["result"]["optimize_task_id"]
        .as_str()
        .unwrap_or_else(|| panic!("the follow-up job: {linked}"))
        .to_owned();
    let optimized = app.settled(&t.token, &next).await;
    assert_eq!(optimized["state"], "SUCCESS", "{optimized}");

    let content = app.get(&format!("/api/v1/writer/content/{id}/"), owner).await;
    let data = content.data();
    assert_eq!((data["linker_version"].as_u64(), data["optimizer_version"].as_u64()), (Some(1), Some(1)));
    assert_eq!(data["status"], "optimized");
    assert_eq!(data["internal_links"][0]["target_id"], target.as_str());
    assert!(data["html_content"].as_str().unwrap().contains("teeth whitening</a>"), "the links survive the rewrite");
    // Words grew with the links? No: links add no words. 8 for the links, then 1 per 200 words.
    assert_eq!(app.credits(&t.account_id).await, credits - 8 - (words / 200).max(1));

    // Queued under a known id, once: a second submission reserves nothing and answers the same job.
    let key = igny8_domain::store::Key::account(&t.account_id);
    let account: igny8_domain::accounts::Account = app.services.store().await.get(&key).await.unwrap().unwrap();
    let before = app.credits(&t.account_id).await;
    let input = json!({"site_id": t.site, "content_ids": [id], "words": 10});
    let submission = || api_tests::jobs::submission(&app.services, "optimize_content", input.clone());
    let first = igny8_domain::jobs::submit_once(&app.services, &account, &t.user_id, submission(), "t", next.clone())
        .await
        .unwrap();
    assert_eq!((first.id.as_str(), first.settled), (next.as_str(), true), "the settled one, untouched");
    assert_eq!(app.credits(&t.account_id).await, before);
}
