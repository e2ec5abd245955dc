//! The linker on a site of 50 contents: links go only to the same site's other content (never
//! itself, another site's or another account's), their anchors are words of the running text
//! (never in a heading or an existing link), the HTML stays sanitised, a second run adds no link
//! twice, the graph's edges are the recorded links, and 8 credits are charged per content once,
//! refunded when the job fails.

use std::collections::BTreeSet;

use api_tests::{Tenant, TestApp, spawn_app};
use igny8_domain::writer::Content;
use serde_json::{Value, json};

const N: usize = 50;

fn phrase(i: usize) -> String {
    format!("topic{i:02}")
}

/// Content `i` names `i+1` and `i+2` in running text (and `i+1` in a heading, `i+3` in a link).
fn html(i: usize) -> String {
    let mut html = format!("<p>This page is about {} itself.</p>", phrase(i));
    if i + 1 < N {
        html.push_str(&format!("<h2>More on {}</h2><p>See {} for details", phrase(i + 1), phrase(i + 1)));
        if i + 2 < N {
            html.push_str(&format!(" and {} as well", phrase(i + 2)));
        }
        html.push_str(".</p>");
    }
    if i + 3 < N {
        html.push_str(&format!("<p>Elsewhere: <a href=\"https://elsewhere.example/\">{}</a>.</p>", phrase(i + 3)));
    }
    // Another site's topic, and another account's.
    html.push_str("<p>Nothing about topic90 or topic91 here.</p><script>alert(1)</script>");
    html
}

async fn content(app: &TestApp, t: &Tenant, sector: &str, title: &str, keyword: &str, html: &str) -> String {
    let body = json!({"sector_id": sector, "title": title, "primary_keyword": keyword, "html_content": html});
    let created = app.post("/api/v1/writer/content/", &body, Some(&t.token)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.data()["id"].as_str().unwrap().to_owned()
}

async fn stored(app: &TestApp, t: &Tenant, id: &str) -> Content {
    igny8_domain::records::find(&app.services, &t.account_id, id).await.unwrap().expect("the content")
}

#[tokio::test]
async fn fifty_contents_are_linked_within_their_site_once_and_charged_once() {
    let app = spawn_app().await;
    let t = app.tenant("linker@linker.example", "agency").await;
    let other = app.tenant("linker-other@linker.example", "agency").await;
    let owner = Some(t.token.as_str());
    let mut ids = Vec::new();
    for i in 0..N {
        ids.push(content(&app, &t, &t.sector, &format!("Guide {i}"), &phrase(i), &html(i)).await);
    }
    // The same account's other site, and another account, have content named topic90 / topic91.
    let site2 = app.post("/api/v1/auth/sites/", &json!({"name": "Second"}), owner).await;
    let site2 = site2.data()["id"].as_str().unwrap().to_owned();
    let sector2 = app.post("/api/v1/auth/sectors/", &json!({"site_id": site2, "name": "Second"}), owner).await;
    let sector2 = sector2.data()["id"].as_str().unwrap().to_owned();
    content(&app, &t, &sector2, "Other site", "topic90", "<p>x</p>").await;
    content(&app, &other, &other.sector, "Other account", "topic91", "<p>x</p>").await;

    let credits = app.credits(&t.account_id).await;
    let job = app.post("/api/v1/linker/process/", &json!({"content_ids": ids}), owner).await;
    assert_eq!(job.status, 200, "{}", job.body);
    let done = app.settled(&t.token, job.body["task_id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "SUCCESS", "{done}");
    assert_eq!(app.credits(&t.account_id).await, credits - 8 * N as i64, "8 per content");
    assert_eq!(app.ledger_sum(&t.account_id).await, app.credits(&t.account_id).await);

    let mut recorded = BTreeSet::new();
    for (i, id) in ids.iter().enumerate() {
        let c = stored(&app, &t, id).await;
        let expected: Vec<String> = [i + 1, i + 2].iter().filter(|j| **j < N).map(|j| ids[*j].clone()).collect();
        let targets: Vec<String> = c.pipeline.internal_links.iter().map(|l| l.target_id.clone()).collect();
        assert_eq!(targets, expected, "content {i}: {}", c.html);
        for link in &c.pipeline.internal_links {
            assert_ne!(link.target_id, c.id, "never itself");
            assert!(c.html.contains(&format!(">{}</a>", link.anchor)), "the anchor is text of the content: {}", c.html);
            recorded.insert((c.id.clone(), link.target_id.clone()));
        }
        assert!(!c.html.contains("<h2>More on <a"), "no link in a heading: {}", c.html);
        if i + 3 < N {
            assert!(
                c.html.contains(&format!(
                    "<a href=\"https://elsewhere.example/\" rel=\"noopener noreferrer\">{}</a>",
                    phrase(i + 3)
                )),
                "{}",
                c.html
            );
        }
        assert!(
            !c.html.contains("topic90</a>") && !c.html.contains("topic91</a>"),
            "another site or account: {}",
            c.html
        );
        assert!(!c.html.contains("<script"), "sanitised");
        assert_eq!((c.pipeline.linker_version, c.status.as_str()), (1, "linked"));
    }

    // The graph's edges are the recorded links; content 0 is the orphan.
    let graph = app.get(&format!("/api/v1/linker/graph/?site_id={}", t.site), owner).await;
    assert_eq!(graph.status, 200, "{}", graph.body);
    let edges: BTreeSet<(String, String)> = graph.data()["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["source"].as_str().unwrap().to_owned(), e["target"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(edges, recorded);
    assert_eq!(graph.data()["orphans"], json!([ids[0]]));
    assert_eq!(graph.data()["nodes"].as_array().map(Vec::len), Some(N));

    // A second run adds nothing twice (and charges its run).
    let before: Vec<Content> = futures_util::future::join_all(ids.iter().map(|id| stored(&app, &t, id))).await;
    let again = app.post("/api/v1/linker/batch_process/", &json!({"site_id": t.site}), owner).await;
    assert_eq!(again.status, 400, "everything is linked already: {}", again.body);
    let rerun = app.post("/api/v1/linker/process/", &json!({"content_ids": ids}), owner).await;
    assert_eq!(app.settled(&t.token, rerun.body["task_id"].as_str().unwrap()).await["state"], "SUCCESS");
    for (b, id) in before.iter().zip(&ids) {
        let a = stored(&app, &t, id).await;
        assert_eq!((a.html.as_str(), &a.pipeline.internal_links), (b.html.as_str(), &b.pipeline.internal_links));
        assert_eq!(a.pipeline.linker_version, 2);
    }
    assert_eq!(app.ledger_sum(&t.account_id).await, app.credits(&t.account_id).await);

    // The writer's "Add links" on one content; the filters.
    let one = content(&app, &t, &t.sector, "Late", "latecomer", "<p>Read topic05 now.</p>").await;
    let linked = app.post(&format!("/api/v1/writer/content/{one}/link/"), &json!({}), owner).await;
    assert_eq!(app.settled(&t.token, linked.body["task_id"].as_str().unwrap()).await["state"], "SUCCESS");
    assert_eq!(stored(&app, &t, &one).await.pipeline.internal_links[0].target_id, ids[5]);
    let listed =
        app.get(&format!("/api/v1/writer/content/?sector_id={}&linking_status=not_linked", t.sector), owner).await;
    assert_eq!(listed.body["count"], json!(0), "{}", listed.body);
}

#[tokio::test]
async fn a_failed_link_job_is_refunded_and_another_accounts_content_is_not_found() {
    let app = spawn_app().await;
    let t = app.tenant("linker-fail@linker.example", "agency").await;
    let other = app.tenant("linker-fail-other@linker.example", "agency").await;
    let owner = Some(t.token.as_str());
    let id = content(&app, &t, &t.sector, "Gone", "gone", "<p>x</p>").await;
    let theirs = content(&app, &other, &other.sector, "Theirs", "theirs", "<p>x</p>").await;

    let foreign = app.post("/api/v1/linker/process/", &json!({"content_ids": [theirs]}), owner).await;
    assert_eq!(foreign.status, 400, "{}", foreign.body);
    assert!(!foreign.field_errors("content_ids").is_empty());
    assert_eq!(app.post(&format!("/api/v1/writer/content/{theirs}/link/"), &json!({}), owner).await.status, 404);
    let graph = app.get(&format!("/api/v1/linker/graph/?site_id={}", other.site), owner).await;
    assert_eq!(graph.status, 400, "{}", graph.body);

    // The content is deleted before the job runs: the job fails and its reservation comes back.
    let credits = app.credits(&t.account_id).await;
    assert_eq!(app.call("DELETE", &format!("/api/v1/writer/content/{id}/"), None, owner).await.status, 204);
    let key = igny8_domain::store::Key::account(&t.account_id);
    let account: igny8_domain::accounts::Account = app.services.store().await.get(&key).await.unwrap().unwrap();
    let job = api_tests::jobs::submit(
        &app.services,
        &account,
        &t.user_id,
        "link_content",
        json!({"site_id": t.site, "content_ids": [id]}),
    )
    .await;
    let done: Value = app.settled(&t.token, &job.id).await;
    assert_eq!(done["state"], "FAILURE", "{done}");
    assert_eq!(app.credits(&t.account_id).await, credits, "refunded");
    assert_eq!(app.ledger_sum(&t.account_id).await, credits);
}
