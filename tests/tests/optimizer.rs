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
