//! `/api/v1/writer/` over HTTP: tasks, content, images and taxonomies; filters, search, ordering;
//! bulk actions; files through presigned URLs; deletes that take what belongs to a record and
//! nothing else; tenancy and bad input; and an idea's way to generated images in S3.

use api_tests::{Answer, Tenant, TestApp, spawn_app};
use serde_json::{Value, json};

const TASKS: &str = "/api/v1/writer/tasks/";
const CONTENT: &str = "/api/v1/writer/content/";
const IMAGES: &str = "/api/v1/writer/images/";
const TAX: &str = "/api/v1/writer/taxonomies/";

fn id(answer: &Answer) -> String {
    assert!(answer.status < 300, "{}", answer.body);
    answer.data()["id"].as_str().unwrap().to_owned()
}

fn with(t: &Tenant, body: Value) -> Value {
    let mut out = json!({"site_id": t.site, "sector_id": t.sector});
    if let (Some(o), Some(b)) = (out.as_object_mut(), body.as_object()) {
        o.extend(b.clone());
    }
    out
}

async fn column(app: &TestApp, t: &Tenant, path: &str, field: &str) -> Vec<Value> {
    let answer = app.get(path, Some(&t.token)).await;
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    answer.body["results"].as_array().unwrap().iter().map(|r| r[field].clone()).collect()
}

fn strs(values: Vec<Value>) -> Vec<String> {
    values.into_iter().map(|v| v.as_str().unwrap_or_default().to_owned()).collect()
}

/// Gives an image a file, as the image worker would.
async fn give_file(app: &TestApp, account_id: &str, _sector_id: &str, image_id: &str) -> String {
    let key = format!("accounts/{account_id}/images/{image_id}.png");
    let bucket = app.services.config.images_bucket.clone().unwrap();
    app.services
        .s3()
        .await
        .put_object()
        .bucket(bucket)
        .key(&key)
        .body(provider_test_server::PNG_1X1.to_vec().into())
        .send()
        .await
        .unwrap();
    let record = igny8_domain::planner::record_key::<igny8_domain::writer::ImageRecord>(account_id, image_id);
    app.services
        .store()
        .await
        .update(
            igny8_domain::store::Change::new(record, "SET s3_key = :k, #s = :g")
                .name("#s", "status")
                .value(":k", igny8_domain::store::s(&key))
                .value(":g", igny8_domain::store::s("generated")),
        )
        .await
        .unwrap();
    key
}

#[tokio::test]
async fn tasks_crud_filters_ordering_and_bulk_actions() {
    let app = spawn_app().await;
    let t = app.tenant("tasks@writer.example", "starter").await;
    let tok = Some(t.token.as_str());
    let cluster = id(&app.post("/api/v1/planner/clusters/", &with(&t, json!({"name": "Implants"})), tok).await);
    let rows = [
        ("Implant costs", "implant cost, implant price", "guide", "pillar_page", 1800, "queued", Some(&cluster)),
        ("Braces for adults", "adult braces", "article", "supporting_page", 900, "review", None),
        ("Whitening at home", "whitening kit", "tutorial", "supporting_page", 1200, "draft", None),
    ];
    let mut ids = Vec::new();
    for (title, keywords, ctype, structure, words, status, cluster) in rows {
        let made = app
            .post(TASKS, &with(&t, json!({"title": title, "keywords": keywords, "content_type": ctype, "content_structure": structure, "word_count": words, "status": status, "cluster_id": cluster})), tok)
            .await;
        assert_eq!(made.status, 201, "{}", made.body);
        ids.push(id(&made));
    }
    assert_eq!(
        strs(column(&app, &t, TASKS, "title").await),
        ["Whitening at home", "Braces for adults", "Implant costs"]
    );
    let q = |s: &str| format!("{TASKS}?{s}");
    assert_eq!(strs(column(&app, &t, &q("status=review"), "title").await), ["Braces for adults"]);
    assert_eq!(strs(column(&app, &t, &q(&format!("cluster_id={cluster}")), "title").await), ["Implant costs"]);
    assert_eq!(strs(column(&app, &t, &q("content_type=tutorial"), "title").await), ["Whitening at home"]);
    assert_eq!(column(&app, &t, &q("content_structure=supporting_page"), "id").await.len(), 2);
    assert_eq!(
        strs(column(&app, &t, &q("search=price"), "title").await),
        ["Implant costs"],
        "search looks at keywords"
    );
    assert_eq!(strs(column(&app, &t, &q("search=BRACES"), "title").await), ["Braces for adults"]);
    assert_eq!(strs(column(&app, &t, &q("ordering=title"), "title").await)[0], "Braces for adults");
    assert_eq!(strs(column(&app, &t, &q("ordering=-word_count"), "title").await)[0], "Implant costs");
    assert_eq!(strs(column(&app, &t, &q("ordering=status"), "status").await), ["draft", "queued", "review"]);
    app.get(&q("ordering=secret"), tok).await.assert_error(400, "Validation failed");

    let one = format!("{TASKS}{}/", ids[1]);
    assert_eq!(app.get(&one, tok).await.data()["keywords"], json!("adult braces"));
    let changed = app
        .call("PATCH", &one, Some(&json!({"title": "Braces for grown-ups", "keywords": ["braces", "adults"]})), tok)
        .await;
    assert_eq!(changed.data()["title"], json!("Braces for grown-ups"));
    assert_eq!(changed.data()["keywords"], json!("braces, adults"));
    let before = app.snapshot().await;
    for bad in [
        json!({"status": "lost"}),
        json!({"word_count": 5}),
        json!({"content_id": ids[0]}),
        json!({"title": ""}),
        json!({"cluster_id": "nope"}),
    ] {
        app.call("PATCH", &one, Some(&bad), tok).await.assert_error(400, "Validation failed");
    }
    app.post(TASKS, &with(&t, json!({})), tok).await.assert_error(400, "Validation failed");
    app.post(&format!("{TASKS}bulk_update/"), &json!({"ids": ids, "status": "gone"}), tok)
        .await
        .assert_error(400, "Validation failed");
    assert_eq!(app.snapshot().await, before);

    let updated =
        app.post(&format!("{TASKS}bulk_update/"), &json!({"ids": ids[..2], "status": "completed"}), tok).await;
    assert_eq!(updated.data()["updated_count"], json!(2));
    assert_eq!(column(&app, &t, &q("status=completed"), "id").await.len(), 2);
    let deleted = app.post(&format!("{TASKS}bulk_delete/"), &json!({"ids": ids[..2]}), tok).await;
    assert_eq!(deleted.data()["deleted_count"], json!(2));
    assert_eq!(app.call("DELETE", &format!("{TASKS}{}/", ids[2]), None, tok).await.status, 204);
    assert_eq!(app.get(TASKS, tok).await.body["count"], json!(0));
}

#[tokio::test]
async fn content_is_sanitised_counted_searchable_and_tagged() {
    let app = spawn_app().await;
    let t = app.tenant("content@writer.example", "starter").await;
    let tok = Some(t.token.as_str());
    let task = id(&app.post(TASKS, &with(&t, json!({"title": "Implants"})), tok).await);
    let hostile = "<h2 onclick=\"steal()\">Implants</h2><script>alert(1)</script><p>Implants last for decades. <a href=\"javascript:alert(1)\">More</a></p><iframe src=\"https://evil.example\"></iframe>";
    let made = app
        .post(CONTENT, &with(&t, json!({"title": "Implants guide", "html_content": hostile, "task_id": task, "meta_title": "Implants", "primary_keyword": "implants"})), tok)
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let html = made.data()["html_content"].as_str().unwrap().to_owned();
    for bad in ["<script", "onclick", "javascript:", "<iframe"] {
        assert!(!html.contains(bad), "{bad} kept: {html}");
    }
    assert_eq!(made.data()["word_count"], json!(6), "Implants | Implants last for decades. | More");
    let content = id(&made);
    assert_eq!(app.get(&format!("{TASKS}{task}/"), tok).await.data()["content_id"], json!(content));
    // A second content for the same task is refused.
    app.post(CONTENT, &with(&t, json!({"title": "Again", "html_content": "<p>x</p>", "task_id": task})), tok)
        .await
        .assert_error(400, "Validation failed");
    let other = id(&app
        .post(
            CONTENT,
            &with(&t, json!({"title": "Braces", "html_content": "<p>one two three</p>", "status": "review"})),
            tok,
        )
        .await);
    app.post(CONTENT, &with(&t, json!({"title": "x", "html_content": "<p>x</p>", "word_count": 9000})), tok)
        .await
        .assert_error(400, "Validation failed");

    let q = |s: &str| format!("{CONTENT}?{s}");
    assert_eq!(column(&app, &t, &q("status=review"), "id").await, [json!(other)]);
    assert_eq!(column(&app, &t, &q(&format!("task_id={task}")), "id").await, [json!(content)]);
    assert_eq!(column(&app, &t, &q("search=implants"), "id").await, [json!(content)]);
    assert_eq!(column(&app, &t, &q("ordering=word_count"), "id").await, [json!(other), json!(content)]);
    let edited = app
        .call(
            "PATCH",
            &format!("{CONTENT}{other}/"),
            Some(&json!({"html_content": "<p>now <b>four</b> words here</p><script>x()</script>"})),
            tok,
        )
        .await;
    assert_eq!(edited.data()["word_count"], json!(4));
    assert!(!edited.data()["html_content"].as_str().unwrap().contains("script"));

    // Taxonomies: unique slugs per site and type, parents, assignment, removal.
    let cat =
        app.post(TAX, &json!({"site_id": t.site, "taxonomy_type": "category", "name": "Dental Implants"}), tok).await;
    assert_eq!(cat.data()["slug"], json!("dental-implants"));
    let cat = id(&cat);
    let sub = id(&app
        .post(TAX, &json!({"site_id": t.site, "taxonomy_type": "category", "name": "Costs", "parent_id": cat}), tok)
        .await);
    let tag =
        id(&app.post(TAX, &json!({"site_id": t.site, "taxonomy_type": "tag", "name": "Dental implants"}), tok).await);
    app.post(TAX, &json!({"site_id": t.site, "taxonomy_type": "category", "name": "dental implants!"}), tok)
        .await
        .assert_error(400, "Validation failed");
    app.post(TAX, &json!({"site_id": t.site, "taxonomy_type": "tag", "name": "x", "parent_id": cat}), tok)
        .await
        .assert_error(400, "Validation failed");
    app.post(TAX, &json!({"site_id": t.site, "taxonomy_type": "genre", "name": "x"}), tok)
        .await
        .assert_error(400, "Validation failed");
    assert_eq!(column(&app, &t, &format!("{TAX}?taxonomy_type=category"), "id").await.len(), 2);
    assert_eq!(column(&app, &t, &format!("{TAX}?search=cost"), "id").await, [json!(sub)]);
    let renamed =
        app.call("PATCH", &format!("{TAX}{tag}/"), Some(&json!({"name": "Implants", "slug": "implants"})), tok).await;
    assert_eq!(renamed.data()["slug"], json!("implants"));
    let tagged =
        app.call("PATCH", &format!("{CONTENT}{content}/"), Some(&json!({"taxonomy_ids": [cat, tag, tag]})), tok).await;
    assert_eq!(tagged.data()["taxonomy_ids"], json!([cat, tag]));
    assert_eq!(column(&app, &t, &q(&format!("taxonomy_id={tag}")), "id").await, [json!(content)]);
    let foreign_site = id(&app.post("/api/v1/auth/sites/", &json!({"name": "Other"}), tok).await);
    let foreign =
        id(&app.post(TAX, &json!({"site_id": foreign_site, "taxonomy_type": "tag", "name": "Elsewhere"}), tok).await);
    app.call("PATCH", &format!("{CONTENT}{content}/"), Some(&json!({"taxonomy_ids": [foreign]})), tok)
        .await
        .assert_error(400, "Validation failed");
    assert_eq!(app.call("DELETE", &format!("{TAX}{cat}/"), None, tok).await.status, 204);
    assert_eq!(app.get(&format!("{CONTENT}{content}/"), tok).await.data()["taxonomy_ids"], json!([tag]));
    assert_eq!(app.get(&format!("{TAX}{sub}/"), tok).await.data()["parent_id"], json!(null));

    // Deleting the content frees its task.
    assert_eq!(app.call("DELETE", &format!("{CONTENT}{content}/"), None, tok).await.status, 204);
    assert_eq!(app.get(&format!("{TASKS}{task}/"), tok).await.data()["content_id"], json!(null));
    app.get(&format!("{CONTENT}{content}/"), tok).await.assert_error(404, "Resource not found");
}

#[tokio::test]
async fn images_files_order_and_bulk_updates() {
    let app = spawn_app().await;
    let t = app.tenant("images@writer.example", "starter").await;
    let tok = Some(t.token.as_str());
    let content =
        id(&app.post(CONTENT, &with(&t, json!({"title": "Implants", "html_content": "<p>text</p>"})), tok).await);
    let mut ids = Vec::new();
    for (kind, position) in [("in_article", 2), ("featured", 0), ("in_article", 1), ("mobile", 3)] {
        let made = app.post(IMAGES, &with(&t, json!({"image_type": kind, "prompt": format!("{kind} {position}"), "position": position, "content_id": content})), tok).await;
        assert_eq!(made.status, 201, "{}", made.body);
        ids.push(id(&made));
    }
    let loose = id(&app.post(IMAGES, &with(&t, json!({"image_type": "desktop", "prompt": "loose"})), tok).await);
    app.post(IMAGES, &with(&t, json!({"image_type": "poster"})), tok).await.assert_error(400, "Validation failed");
    app.post(IMAGES, &with(&t, json!({"image_type": "featured", "s3_key": "accounts/x/y.png"})), tok)
        .await
        .assert_error(400, "Validation failed");
    let q = |s: &str| format!("{IMAGES}?{s}");
    assert_eq!(column(&app, &t, &q("image_type=in_article"), "id").await.len(), 2);
    assert_eq!(
        column(&app, &t, &q(&format!("content_id={content}&ordering=position")), "position").await,
        [json!(0), json!(1), json!(2), json!(3)]
    );
    let ordered = app.get(&format!("{IMAGES}content_images/?content_id={content}"), tok).await;
    let positions: Vec<Value> =
        ordered.data()["images"].as_array().unwrap().iter().map(|i| i["position"].clone()).collect();
    assert_eq!(positions, [json!(0), json!(1), json!(2), json!(3)]);
    app.get(&format!("{IMAGES}content_images/"), tok).await.assert_error(400, "Validation failed");

    // Files: none yet is a 404; then a presigned URL that serves the bytes.
    app.get(&format!("{IMAGES}{}/file/", ids[1]), tok).await.assert_error(404, "This image has no file yet.");
    give_file(&app, &t.account_id, &t.sector, &ids[1]).await;
    let file = app.get(&format!("{IMAGES}{}/file/", ids[1]), tok).await;
    let url = file.data()["image_url"].as_str().unwrap();
    assert!(url.contains("X-Amz-Signature") && url.contains("X-Amz-Expires=900"), "{url}");
    assert_eq!(&reqwest::get(url).await.unwrap().bytes().await.unwrap()[..], provider_test_server::PNG_1X1);
    assert_eq!(column(&app, &t, &q("status=generated"), "id").await, [json!(ids[1])]);

    let by_content =
        app.post(&format!("{IMAGES}bulk_update/"), &json!({"content_id": content, "status": "published"}), tok).await;
    assert_eq!(by_content.data()["updated_count"], json!(4));
    let by_ids = app.post(&format!("{IMAGES}bulk_update/"), &json!({"ids": [loose], "status": "failed"}), tok).await;
    assert_eq!(by_ids.data()["updated_count"], json!(1));
    app.post(&format!("{IMAGES}bulk_update/"), &json!({"status": "failed"}), tok)
        .await
        .assert_error(400, "Validation failed");
    let patched =
        app.call("PATCH", &format!("{IMAGES}{loose}/"), Some(&json!({"prompt": "better", "position": 5})), tok).await;
    assert_eq!((patched.data()["prompt"].clone(), patched.data()["position"].clone()), (json!("better"), json!(5)));

    // Deleting an image takes its file; deleting the content takes the rest; the loose one stays.
    assert_eq!(app.objects(&t.account_id).await.len(), 1);
    assert_eq!(app.call("DELETE", &format!("{IMAGES}{}/", ids[1]), None, tok).await.status, 204);
    assert!(app.objects(&t.account_id).await.is_empty());
    give_file(&app, &t.account_id, &t.sector, &ids[0]).await;
    give_file(&app, &t.account_id, &t.sector, &loose).await;
    assert_eq!(app.call("DELETE", &format!("{CONTENT}{content}/"), None, tok).await.status, 204);
    assert_eq!(column(&app, &t, IMAGES, "id").await, [json!(loose)]);
    assert_eq!(app.objects(&t.account_id).await, [format!("accounts/{}/images/{loose}.png", t.account_id)]);
}

#[tokio::test]
async fn content_answers_when_it_changed_and_whether_it_has_image_prompts_and_generated_images() {
    let app = spawn_app().await;
    let t = app.tenant("flags@writer.example", "starter").await;
    let tok = Some(t.token.as_str());
    let first = app.post(CONTENT, &with(&t, json!({"title": "First", "html_content": "<p>one</p>"})), tok).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.data()["updated_at"], first.data()["generated_at"]);
    assert_eq!(
        (first.data()["has_image_prompts"].clone(), first.data()["has_generated_images"].clone()),
        (json!(false), json!(false))
    );
    let first = id(&first);
    let second = id(&app.post(CONTENT, &with(&t, json!({"title": "Second", "html_content": "<p>two</p>"})), tok).await);
    // Changing the older one makes it the latest changed.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let edited = app.call("PATCH", &format!("{CONTENT}{first}/"), Some(&json!({"title": "First, edited"})), tok).await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    assert!(edited.data()["updated_at"].as_str() > edited.data()["generated_at"].as_str(), "{}", edited.body);
    assert_eq!(column(&app, &t, &format!("{CONTENT}?ordering=-updated_at"), "id").await, [json!(first), json!(second)]);
    assert_eq!(
        column(&app, &t, &format!("{CONTENT}?ordering=-generated_at"), "id").await,
        [json!(second), json!(first)]
    );

    // An image prompt for the first content, then its image generated (the original's `completed`).
    let image = app
        .post(IMAGES, &with(&t, json!({"content_id": first, "image_type": "featured", "prompt": "A smile"})), tok)
        .await;
    assert_eq!(image.status, 201, "{}", image.body);
    let image = id(&image);
    let flags = |content: &str| {
        let path = format!("{CONTENT}{content}/");
        let app = &app;
        async move {
            let answer = app.get(&path, tok).await;
            (answer.data()["has_image_prompts"].clone(), answer.data()["has_generated_images"].clone())
        }
    };
    assert_eq!(flags(&first).await, (json!(true), json!(false)));
    assert_eq!(flags(&second).await, (json!(false), json!(false)));
    let updated =
        app.post(&format!("{IMAGES}bulk_update/"), &json!({"ids": [image], "status": "completed"}), tok).await;
    assert_eq!(updated.data()["updated_count"], json!(1), "{}", updated.body);
    assert_eq!(app.get(&format!("{IMAGES}{image}/"), tok).await.data()["status"], json!("generated"));
    assert_eq!(flags(&first).await, (json!(true), json!(true)));
    let listed = app.get(&format!("{CONTENT}?ordering=title"), tok).await;
    let rows = listed.body["results"].as_array().unwrap().clone();
    assert_eq!(
        rows.iter()
            .map(|r| (r["id"].clone(), r["has_image_prompts"].clone(), r["has_generated_images"].clone()))
            .collect::<Vec<_>>(),
        [(json!(first), json!(true), json!(true)), (json!(second), json!(false), json!(false))]
    );
    app.post(&format!("{IMAGES}bulk_update/"), &json!({"ids": [image], "status": "done"}), tok)
        .await
        .assert_error(400, "Validation failed");
    // Its image deleted, the content has neither any more.
    assert_eq!(app.call("DELETE", &format!("{IMAGES}{image}/"), None, tok).await.status, 204);
    assert_eq!(flags(&first).await, (json!(false), json!(false)));
}

#[tokio::test]
async fn deleting_a_task_takes_its_content_images_and_files_and_nothing_else() {
    let app = spawn_app().await;
    let t = app.tenant("cascade@writer.example", "starter").await;
    let tok = Some(t.token.as_str());
    let mut kept = Vec::new();
    let mut gone = Vec::new();
    for n in 0..2 {
        let task = id(&app.post(TASKS, &with(&t, json!({"title": format!("Task {n}")})), tok).await);
        let content = id(&app
            .post(CONTENT, &with(&t, json!({"title": "C", "html_content": "<p>x</p>", "task_id": task})), tok)
            .await);
        let a = id(&app.post(IMAGES, &with(&t, json!({"image_type": "featured", "content_id": content})), tok).await);
        let b = id(&app.post(IMAGES, &with(&t, json!({"image_type": "in_article", "task_id": task})), tok).await);
        give_file(&app, &t.account_id, &t.sector, &a).await;
        give_file(&app, &t.account_id, &t.sector, &b).await;
        if n == 0 { gone.extend([task, content, a, b]) } else { kept.extend([task, content, a, b]) }
    }
    assert_eq!(app.objects(&t.account_id).await.len(), 4);
    // An image of a task's content belongs to the task too.
    let of_task = app.get(&format!("{IMAGES}?task_id={}&ordering=id", kept[0]), tok).await;
    assert_eq!(of_task.body["count"], json!(2), "{}", of_task.body);
    assert_eq!(app.call("DELETE", &format!("{TASKS}{}/", gone[0]), None, tok).await.status, 204);
    for (path, record) in [(TASKS, &gone[0]), (CONTENT, &gone[1]), (IMAGES, &gone[2]), (IMAGES, &gone[3])] {
        app.get(&format!("{path}{record}/"), tok).await.assert_error(404, "Resource not found");
    }
    for (path, record) in [(TASKS, &kept[0]), (CONTENT, &kept[1]), (IMAGES, &kept[2]), (IMAGES, &kept[3])] {
        assert_eq!(app.get(&format!("{path}{record}/"), tok).await.status, 200);
    }
    let mut left = app.objects(&t.account_id).await;
    left.sort();
    let mut expected: Vec<String> =
        kept[2..].iter().map(|i| format!("accounts/{}/images/{i}.png", t.account_id)).collect();
    expected.sort();
    assert_eq!(left, expected);
}

#[tokio::test]
async fn other_accounts_and_roles_reach_nothing_and_bad_input_changes_nothing() {
    let app = spawn_app().await;
    let a = app.tenant("a@writer.example", "starter").await;
    let b = app.tenant("b@writer.example", "starter").await;
    let at = Some(a.token.as_str());
    let task = id(&app.post(TASKS, &with(&a, json!({"title": "Mine"})), at).await);
    let content = id(&app.post(CONTENT, &with(&a, json!({"title": "Mine", "html_content": "<p>x</p>"})), at).await);
    let image = id(&app.post(IMAGES, &with(&a, json!({"image_type": "featured", "content_id": content})), at).await);
    give_file(&app, &a.account_id, &a.sector, &image).await;
    let tax = id(&app.post(TAX, &json!({"site_id": a.site, "taxonomy_type": "tag", "name": "Mine"}), at).await);
    let before = app.snapshot().await;
    let bt = Some(b.token.as_str());
    for (path, record) in [(TASKS, &task), (CONTENT, &content), (IMAGES, &image), (TAX, &tax)] {
        let one = format!("{path}{record}/");
        app.get(&one, bt).await.assert_error(404, "Resource not found");
        app.call("PATCH", &one, Some(&json!({"status": "review"})), bt).await.assert_error(404, "Resource not found");
        app.call("DELETE", &one, None, bt).await.assert_error(404, "Resource not found");
        assert_eq!(app.get(path, bt).await.body["count"], json!(0));
    }
    let file = app.get(&format!("{IMAGES}{image}/file/"), bt).await;
    file.assert_error(404, "Resource not found");
    assert!(!file.body.to_string().contains("X-Amz"), "no URL for another account's image");
    app.get(&format!("{IMAGES}content_images/?content_id={content}"), bt).await.assert_error(404, "Resource not found");
    for (path, body) in [
        (format!("{TASKS}bulk_delete/"), json!({"ids": [task]})),
        (format!("{TASKS}bulk_update/"), json!({"ids": [task], "status": "review"})),
        (format!("{TASKS}auto_generate_content/"), json!({"ids": [task]})),
        (format!("{CONTENT}generate_image_prompts/"), json!({"ids": [content]})),
        (format!("{IMAGES}generate_images/"), json!({"ids": [image]})),
        (format!("{IMAGES}auto_generate/"), json!({"ids": [task]})),
        (format!("{IMAGES}bulk_update/"), json!({"ids": [image], "status": "failed"})),
        (TASKS.to_owned(), json!({"title": "x", "sector_id": a.sector})),
        (CONTENT.to_owned(), with(&b, json!({"title": "x", "html_content": "<p>x</p>", "task_id": task}))),
        (TAX.to_owned(), json!({"site_id": a.site, "taxonomy_type": "tag", "name": "x"})),
    ] {
        app.post(&path, &body, bt).await.assert_error(400, "Validation failed");
    }
    app.post(&format!("{IMAGES}generate_images/"), &json!({"content_id": content}), bt)
        .await
        .assert_error(404, "Resource not found");
    let too_many: Vec<String> = (0..51).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    app.post(&format!("{TASKS}auto_generate_content/"), &json!({"ids": too_many}), at)
        .await
        .assert_error(400, "Validation failed");
    assert_eq!(app.snapshot().await, before, "nothing changed");

    // A's viewer reads, cannot write or start jobs.
    let viewer = id(&app
        .post(
            "/api/v1/auth/users/",
            &json!({"email": "v@writer.example", "password": "viewer passphrase", "role": "viewer"}),
            at,
        )
        .await);
    assert_eq!(
        app.post("/api/v1/auth/site-access/", &json!({"user_id": viewer, "site_id": a.site}), at).await.status,
        201
    );
    let v = app.login("v@writer.example", "viewer passphrase").await.data()["access"].as_str().unwrap().to_owned();
    let vt = Some(v.as_str());
    assert_eq!(app.get(&format!("{IMAGES}{image}/file/"), vt).await.status, 200);
    app.call("PATCH", &format!("{TASKS}{task}/"), Some(&json!({"title": "x"})), vt)
        .await
        .assert_error(403, "Permission denied");
    app.post(&format!("{TASKS}auto_generate_content/"), &json!({"ids": [task]}), vt)
        .await
        .assert_error(403, "Permission denied");
    app.call("DELETE", &format!("{IMAGES}{image}/"), None, vt).await.assert_error(403, "Permission denied");
    app.post(TAX, &json!({"site_id": a.site, "taxonomy_type": "tag", "name": "v"}), vt)
        .await
        .assert_error(403, "Permission denied");
}

#[tokio::test]
async fn an_idea_becomes_content_and_images_in_s3_each_step_charged_once() {
    let app = spawn_app().await;
    let t = app.tenant("flow@writer.example", "starter").await;
    let tok = Some(t.token.as_str());
    let start = app.credits(&t.account_id).await;
    let idea = id(&app.post("/api/v1/planner/ideas/", &with(&t, json!({"idea_title": "Dental implants explained", "target_keywords": ["dental implants"], "estimated_word_count": 800})), tok).await);
    let queued = app.post("/api/v1/planner/ideas/bulk_queue_to_writer/", &json!({"ids": [idea]}), tok).await;
    let task = queued.data()["task_ids"][0].as_str().unwrap().to_owned();

    let job = app.post(&format!("{TASKS}auto_generate_content/"), &json!({"ids": [task]}), tok).await;
    assert_eq!(job.status, 200, "{}", job.body);
    assert_eq!(job.data()["credits_reserved"], json!(8), "800 words asked for");
    let done = app.settled(&t.token, job.body["task_id"].as_str().unwrap()).await;
    assert_eq!(done["state"], json!("SUCCESS"), "{done}");
    let task_now = app.get(&format!("{TASKS}{task}/"), tok).await;
    assert_eq!(task_now.data()["status"], json!("draft"));
    let content_id = task_now.data()["content_id"].as_str().unwrap().to_owned();
    let content = app.get(&format!("{CONTENT}{content_id}/"), tok).await;
    let words = content.data()["word_count"].as_i64().unwrap();
    assert!(words > 0 && !content.data()["meta_title"].as_str().unwrap().is_empty());
    let content_cost = (words / 100).max(1);
    assert_eq!(app.credits(&t.account_id).await, start - content_cost);

    let job = app
        .post(&format!("{CONTENT}generate_image_prompts/"), &json!({"ids": [content_id], "in_article_count": 2}), tok)
        .await;
    assert_eq!(app.settled(&t.token, job.body["task_id"].as_str().unwrap()).await["state"], json!("SUCCESS"));
    let images = app.get(&format!("{IMAGES}content_images/?content_id={content_id}"), tok).await;
    assert_eq!(images.data()["images"].as_array().unwrap().len(), 3);
    assert_eq!(app.credits(&t.account_id).await, start - content_cost - 2);

    let job = app.post(&format!("{IMAGES}generate_images/"), &json!({"content_id": content_id}), tok).await;
    assert_eq!(job.status, 200, "{}", job.body);
    let done = app.settled(&t.token, job.body["task_id"].as_str().unwrap()).await;
    assert_eq!(done["state"], json!("SUCCESS"), "{done}");
    let images = app.get(&format!("{IMAGES}content_images/?content_id={content_id}"), tok).await;
    for image in images.data()["images"].as_array().unwrap() {
        assert_eq!(image["status"], json!("generated"));
        let file = app.get(&format!("{IMAGES}{}/file/", image["id"].as_str().unwrap()), tok).await;
        let bytes = reqwest::get(file.data()["image_url"].as_str().unwrap()).await.unwrap().bytes().await.unwrap();
        assert_eq!(&bytes[..], provider_test_server::PNG_1X1);
    }
    assert_eq!(app.objects(&t.account_id).await.len(), 3);
    assert_eq!(app.credits(&t.account_id).await, start - content_cost - 2 - 15);
    // Nothing waits any more: asking again starts nothing and charges nothing.
    app.post(&format!("{IMAGES}generate_images/"), &json!({"content_id": content_id}), tok)
        .await
        .assert_error(400, "Validation failed");
    assert_eq!(app.ledger_sum(&t.account_id).await, app.credits(&t.account_id).await);
}

#[tokio::test]
async fn a_content_job_that_fails_puts_its_tasks_back_and_refunds() {
    let app = spawn_app().await;
    let t = app.tenant("fail@writer.example", "starter").await;
    let tok = Some(t.token.as_str());
    let start = app.credits(&t.account_id).await;
    let task = id(&app.post(TASKS, &with(&t, json!({"title": "Doomed", "word_count": 500})), tok).await);
    app.provider.script(std::iter::repeat_n(provider_test_server::Step::Status { code: 500, retry_after: None }, 9));
    let job = app.post(&format!("{TASKS}auto_generate_content/"), &json!({"ids": [task]}), tok).await;
    assert_eq!(job.status, 200, "{}", job.body);
    let done = app.settled(&t.token, job.body["task_id"].as_str().unwrap()).await;
    assert_eq!(done["state"], json!("FAILURE"), "{done}");
    let back = app.get(&format!("{TASKS}{task}/"), tok).await;
    assert_eq!((back.data()["status"].clone(), back.data()["content_id"].clone()), (json!("queued"), json!(null)));
    assert_eq!(app.get(CONTENT, tok).await.body["count"], json!(0));
    assert_eq!(app.credits(&t.account_id).await, start);
    assert_eq!(app.ledger_sum(&t.account_id).await, start);
}

#[tokio::test]
async fn deleting_a_sector_or_a_site_takes_everything_it_holds() {
    let app = spawn_app().await;
    let t = app.tenant("sweep@writer.example", "starter").await;
    let tok = Some(t.token.as_str());
    let other = id(&app.post("/api/v1/auth/sectors/", &json!({"site_id": t.site, "name": "Other"}), tok).await);
    let mut files = Vec::new();
    for sector in [&t.sector, &other] {
        let at = |body: Value| {
            let mut body = body;
            body["sector_id"] = json!(sector);
            body
        };
        app.post("/api/v1/planner/keywords/", &at(json!({"keyword": "implants"})), tok).await;
        app.post("/api/v1/planner/clusters/", &at(json!({"name": "Implants"})), tok).await;
        let task = id(&app.post(TASKS, &at(json!({"title": "T"})), tok).await);
        let content =
            id(&app.post(CONTENT, &at(json!({"title": "C", "html_content": "<p>x</p>", "task_id": task})), tok).await);
        let image = id(&app.post(IMAGES, &at(json!({"image_type": "featured", "content_id": content})), tok).await);
        files.push(give_file(&app, &t.account_id, sector, &image).await);
    }
    let partition = |sector: &str| vec![igny8_domain::planner::sector_pk(&t.account_id, sector)];
    assert!(app.partitions(&partition(&t.sector)).await.len() >= 7);
    let kept = app.partitions(&partition(&other)).await;

    assert_eq!(app.call("DELETE", &format!("/api/v1/auth/sectors/{}/", t.sector), None, tok).await.status, 204);
    assert!(app.purges_done().await, "the sector's purge ran (queued by the delete)");
    assert!(app.partitions(&partition(&t.sector)).await.is_empty(), "the sector's records and guards are gone");
    assert_eq!(app.objects(&t.account_id).await, [files[1].clone()], "its image file is gone, the other stays");
    assert_eq!(app.partitions(&partition(&other)).await, kept, "the other sector is untouched");

    // A site takes its sectors' records and its taxonomies.
    app.post(TAX, &json!({"site_id": t.site, "taxonomy_type": "tag", "name": "Gone"}), tok).await;
    assert_eq!(app.call("DELETE", &format!("/api/v1/auth/sites/{}/", t.site), None, tok).await.status, 204);
    assert!(app.purges_done().await, "the site's sectors' purges ran");
    assert!(app.partitions(&partition(&other)).await.is_empty());
    assert!(app.objects(&t.account_id).await.is_empty());
    let account = app.partitions(&[format!("ACCOUNT#{}", t.account_id)]).await;
    assert!(
        !account
            .iter()
            .any(|i| i["SK"].as_s().is_ok_and(|sk| sk.starts_with("TAXONOMY#") || sk.starts_with("TAXSLUG#"))),
        "the site's taxonomies are gone"
    );
}
