//! The writer's AI functions through the pipeline: content (sanitised, words counted from the
//! text, charged by the words written) and image prompts.

use igny8_domain::planner::SectorRecord;
use std::time::Duration;

use api_tests::{TestApp, spawn_app};
use igny8_domain::accounts::Account;
use igny8_domain::jobs::{self, Queue};
use igny8_domain::planner;
use igny8_domain::store::Key;
use igny8_domain::writer::{self, Content, ImageRecord, Task};
use provider_test_server::Step;
use serde_json::{Value, json};

/// The job settled, through the harness (which also holds every SUCCESS to all parts done).
async fn settle(app: &TestApp, token: &str, task: &str) -> Value {
    app.settled(token, task).await
}

#[tokio::test]
async fn content_and_image_prompts() {
    let app = spawn_app().await;
    let reg = app
        .register_on_plan(json!({"email": "w@ai.example", "password": api_tests::PASSWORD, "plan_id": "starter"}))
        .await;
    let user = reg.data()["user"].clone();
    let account_id = user["account"]["id"].as_str().unwrap().to_owned();
    let token = app.login("w@ai.example", api_tests::PASSWORD).await.data()["access"].as_str().unwrap().to_owned();
    let site = app.post("/api/v1/auth/sites/", &json!({"name": "W"}), Some(&token)).await.data()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sector =
        app.post("/api/v1/auth/sectors/", &json!({"site_id": site, "name": "W"}), Some(&token)).await.data()["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let mut task_ids = Vec::new();
    for title in ["Dental implants explained", "Choosing braces"] {
        let task = Task {
            id: igny8_domain::ids::new_id(),
            account_id: account_id.clone(),
            site_id: site.clone(),
            sector_id: sector.clone(),
            title: title.into(),
            description: "An article".into(),
            keywords: vec!["dental implants".into()],
            cluster_id: None,
            idea_id: None,
            content_type: "post".into(),
            content_structure: "guide".into(),
            word_count: 1000,
            status: "queued".into(),
            content_id: None,
            author_profile_id: None,
            created_at: time::OffsetDateTime::now_utc(),
        };
        app.services.store().await.put(task.item().unwrap(), None).await.unwrap();
        task_ids.push(task.id);
    }
    let account =
        || async { app.services.store().await.get::<Account>(&Key::account(&account_id)).await.unwrap().unwrap() };
    let user_id = user["id"].as_str().unwrap().to_owned();

    // The first article comes back hostile.
    let hostile = "<h2 onmouseover=\"x()\">Implants</h2><script>steal()</script><p>Implants replace missing teeth for good. \
        <a href=\"javascript:alert(1)\">Read</a></p><img src=\"x.png\" onerror=\"alert(2)\">";
    app.provider.script([Step::Reply(
        json!({"title": "Implants", "meta_title": "Implants", "meta_description": "d", "content_html": hostile}),
    )]);
    let input = json!({"site_id": site, "sector_id": sector, "task_ids": task_ids, "estimated_word_count": 2000});
    let (reserve, parts) = api_tests::jobs::estimate(&app.services, "generate_content", &input);
    assert_eq!((reserve, parts), (20, 2));
    let job = jobs::submit(
        &app.services,
        &account().await,
        &user_id,
        api_tests::jobs::raw("generate_content", Queue::Ai, input, reserve, parts),
        "t",
    )
    .await
    .unwrap();
    let done = settle(&app, &token, &job.id).await;
    assert_eq!(done["state"], json!("SUCCESS"), "{done}");

    let contents: Vec<Content> =
        planner::in_sector(&app.services, &account_id, &sector, writer::CONTENT_PREFIX).await.unwrap();
    assert_eq!(contents.len(), 2);
    let words: u32 = contents.iter().map(|c| c.word_count).sum();
    for c in &contents {
        assert_eq!(c.word_count, writer::word_count(&c.html), "counted from the text");
        for bad in ["<script", "onmouseover", "onerror", "javascript:"] {
            assert!(!c.html.contains(bad), "{bad} stored: {}", c.html);
        }
    }
    let implants = contents.iter().find(|c| c.title == "Implants").unwrap();
    assert_eq!(implants.word_count, 8, "Implants | Implants replace missing teeth for good. | Read");
    let tasks: Vec<Task> = planner::in_sector(&app.services, &account_id, &sector, writer::TASK_PREFIX).await.unwrap();
    assert!(tasks.iter().all(|t| t.status == "draft" && t.content_id.is_some()));
    let charged = (words as i64 / 100).max(1);
    assert_eq!(done["meta"]["credits_charged"], json!(charged));
    assert_eq!(
        account().await.credits,
        1000 - charged,
        "charged by the words written, the rest of the reservation refunded"
    );

    // Image prompts: a featured and two in-article prompts per content, 2 credits per content.
    let content_ids: Vec<&String> = contents.iter().map(|c| &c.id).collect();
    let input = json!({"site_id": site, "sector_id": sector, "content_ids": content_ids, "in_article_count": 2});
    let (reserve, parts) = api_tests::jobs::estimate(&app.services, "generate_image_prompts", &input);
    let job = jobs::submit(
        &app.services,
        &account().await,
        &user_id,
        api_tests::jobs::raw("generate_image_prompts", Queue::Ai, input, reserve, parts),
        "t",
    )
    .await
    .unwrap();
    assert_eq!(settle(&app, &token, &job.id).await["state"], json!("SUCCESS"));
    let images: Vec<ImageRecord> =
        planner::in_sector(&app.services, &account_id, &sector, writer::IMAGE_PREFIX).await.unwrap();
    assert_eq!(images.len(), 6);
    for c in &contents {
        let mine: Vec<&ImageRecord> =
            images.iter().filter(|i| i.content_id.as_deref() == Some(c.id.as_str())).collect();
        assert_eq!(mine.iter().filter(|i| i.image_type == "featured").count(), 1);
        let mut positions: Vec<u32> = mine.iter().map(|i| i.position).collect();
        positions.sort();
        assert_eq!(positions, vec![0, 1, 2]);
        assert!(mine.iter().all(|i| i.status == "pending" && !i.prompt.is_empty()));
    }
    assert_eq!(account().await.credits, 1000 - charged - 4);

    // Images: generated through the image queue and worker, stored in S3 under the account's
    // prefix, readable through a short-lived presigned URL; 5 credits each.
    let image_ids: Vec<&String> = images.iter().map(|i| &i.id).collect();
    let input = json!({"site_id": site, "sector_id": sector, "image_ids": image_ids});
    let (reserve, parts) = api_tests::jobs::estimate(&app.services, "generate_images", &input);
    assert_eq!((reserve, parts), (30, 6));
    let job = jobs::submit(
        &app.services,
        &account().await,
        &user_id,
        api_tests::jobs::raw("generate_images", Queue::Image, input, reserve, parts),
        "t",
    )
    .await
    .unwrap();
    let done = settle(&app, &token, &job.id).await;
    assert_eq!(done["state"], json!("SUCCESS"), "{done}");
    let images: Vec<ImageRecord> =
        planner::in_sector(&app.services, &account_id, &sector, writer::IMAGE_PREFIX).await.unwrap();
    for image in &images {
        assert_eq!(image.status, "generated");
        let key = image.s3_key.clone().unwrap();
        assert!(key.starts_with(&format!("accounts/{account_id}/images/")), "{key}");
        let url = writer::presigned_url(&app.services, &key, Duration::from_secs(60)).await.unwrap();
        assert!(url.contains("X-Amz-Signature"), "{url}");
        let bytes = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
        assert_eq!(&bytes[..], provider_test_server::PNG_1X1);
    }
    let requests = app.provider.requests();
    let image_requests = requests.iter().filter(|r| r.get("size").is_some()).count();
    assert_eq!(image_requests, 6, "charged and asked once per image");
    assert_eq!(account().await.credits, 1000 - charged - 4 - 30);
}

#[tokio::test]
async fn an_image_provider_that_stays_down_fails_the_job_refunds_it_and_stores_nothing() {
    let app = spawn_app().await;
    let reg = app
        .register_on_plan(json!({"email": "down@ai.example", "password": api_tests::PASSWORD, "plan_id": "starter"}))
        .await;
    let user = reg.data()["user"].clone();
    let account_id = user["account"]["id"].as_str().unwrap().to_owned();
    let token = app.login("down@ai.example", api_tests::PASSWORD).await.data()["access"].as_str().unwrap().to_owned();
    let site = app.post("/api/v1/auth/sites/", &json!({"name": "D"}), Some(&token)).await.data()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sector =
        app.post("/api/v1/auth/sectors/", &json!({"site_id": site, "name": "D"}), Some(&token)).await.data()["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let image = ImageRecord {
        id: igny8_domain::ids::new_id(),
        account_id: account_id.clone(),
        site_id: site.clone(),
        sector_id: sector.clone(),
        content_id: None,
        task_id: None,
        image_type: "featured".into(),
        prompt: "A clinic".into(),
        position: 0,
        status: "pending".into(),
        s3_key: None,
        created_at: time::OffsetDateTime::now_utc(),
    };
    app.services.store().await.put(image.item().unwrap(), None).await.unwrap();
    let account: Account = app.services.store().await.get(&Key::account(&account_id)).await.unwrap().unwrap();

    app.provider.script(std::iter::repeat_n(Step::Status { code: 500, retry_after: None }, 9));
    let input = json!({"site_id": site, "sector_id": sector, "image_ids": [image.id]});
    let job = jobs::submit(
        &app.services,
        &account,
        user["id"].as_str().unwrap(),
        api_tests::jobs::raw("generate_images", Queue::Image, input, 5, 1),
        "t",
    )
    .await
    .unwrap();
    let done = settle(&app, &token, &job.id).await;
    assert_eq!(done["state"], json!("FAILURE"), "{done}");
    assert_eq!(done["meta"]["error_type"], json!("ProviderUnavailable"));
    assert_eq!(done["meta"]["attempts"], json!(3));

    let after: Account = app.services.store().await.get(&Key::account(&account_id)).await.unwrap().unwrap();
    assert_eq!(after.credits, account.credits, "the reservation came back");
    let stored: Vec<ImageRecord> =
        planner::in_sector(&app.services, &account_id, &sector, writer::IMAGE_PREFIX).await.unwrap();
    assert_eq!(stored, vec![image], "the record is untouched");
    assert!(app.objects(&account_id).await.is_empty(), "no object was stored");
    let found = app.dlq_message("ImageJobsDlq").await;
    assert!(found.expect("a message in the image DLQ").contains(&job.id));
}
