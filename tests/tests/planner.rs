//! `/api/v1/planner/` over HTTP: keywords, clusters and ideas; filters, search, ordering and
//! pagination; bulk actions; CSV export and import; tenancy and bad input; and the path from
//! imported keywords through AI clustering and idea generation to writer tasks.

use std::collections::{HashMap, HashSet};

use api_tests::{Answer, Tenant, TestApp, spawn_app};
use igny8_domain::planner::{self, Cluster, Keyword};
use igny8_domain::writer::{self, Task};
use serde_json::{Value, json};

const KW: &str = "/api/v1/planner/keywords/";
const CL: &str = "/api/v1/planner/clusters/";
const IDEAS: &str = "/api/v1/planner/ideas/";

async fn add(app: &TestApp, t: &Tenant, text: &str, extra: Value) -> Answer {
    let mut body = json!({"keyword": text, "site_id": t.site, "sector_id": t.sector});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    app.post(KW, &body, Some(&t.token)).await
}

fn id(answer: &Answer) -> String {
    assert!(answer.status < 300, "{}", answer.body);
    answer.data()["id"].as_str().unwrap().to_owned()
}

/// The `field` of every result of a list call, in order.
async fn column(app: &TestApp, t: &Tenant, path: &str, field: &str) -> Vec<Value> {
    let answer = app.get(path, Some(&t.token)).await;
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    answer.body["results"].as_array().unwrap().iter().map(|r| r[field].clone()).collect()
}

fn texts(values: Vec<Value>) -> Vec<String> {
    values.into_iter().map(|v| v.as_str().unwrap_or_default().to_owned()).collect()
}

/// Every cluster's stored count and volume equal what its keywords add up to.
async fn counts_are_exact(app: &TestApp, t: &Tenant) {
    let keywords: Vec<Keyword> =
        planner::in_sector(&app.services, &t.account_id, &t.sector, planner::KEYWORD_PREFIX).await.unwrap();
    let clusters: Vec<Cluster> =
        planner::in_sector(&app.services, &t.account_id, &t.sector, planner::CLUSTER_PREFIX).await.unwrap();
    for c in &clusters {
        let members: Vec<&Keyword> = keywords.iter().filter(|k| k.cluster_id.as_ref() == Some(&c.id)).collect();
        assert_eq!(c.keywords_count as usize, members.len(), "count of {}", c.name);
        assert_eq!(c.volume, members.iter().map(|k| k.volume as u64).sum::<u64>(), "volume of {}", c.name);
        let difficulty = members.iter().map(|k| u64::from(k.difficulty)).sum::<u64>();
        assert_eq!(c.difficulty_sum, difficulty, "difficulty of {}", c.name);
    }
    let ids: HashSet<&String> = clusters.iter().map(|c| &c.id).collect();
    assert!(keywords.iter().all(|k| k.cluster_id.as_ref().is_none_or(|c| ids.contains(c))), "a dangling cluster_id");
}

#[tokio::test]
async fn keywords_crud_filters_search_ordering_and_pages() {
    let app = spawn_app().await;
    let t = app.tenant("kw@planner.example", "starter").await;
    let tok = Some(t.token.as_str());
    let rows = [
        ("dental implants cost", 1200, 40, "commercial", "active"),
        ("how long do implants last", 300, 20, "informational", "active"),
        ("implant dentist near me", 900, 55, "transactional", "pending"),
        ("teeth whitening", 5000, 70, "commercial", "archived"),
        ("braces for adults", 2400, 35, "informational", "active"),
    ];
    let mut ids = Vec::new();
    for (text, volume, difficulty, intent, status) in rows {
        let created = add(
            &app,
            &t,
            text,
            json!({"volume": volume, "difficulty": difficulty, "intent": intent, "status": status}),
        )
        .await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.data()["sector_id"], json!(t.sector));
        ids.push(id(&created));
    }
    // The same keyword again (any case or spacing) is refused; nothing is written.
    let before = app.snapshot().await;
    let dup = add(&app, &t, "  Dental   IMPLANTS cost ", json!({})).await;
    dup.assert_error(400, "Validation failed");
    assert!(!dup.field_errors("keyword").is_empty());
    assert_eq!(app.snapshot().await, before);

    // From the seed library.
    let seeds = app.get("/api/v1/auth/seed-keywords/?page_size=100", tok).await;
    let seed = seeds.body["results"][0].clone();
    let from_seed = app
        .post(
            KW,
            &json!({"seed_keyword_id": seed["id"], "site_id": t.site, "sector_id": t.sector, "status": "active"}),
            tok,
        )
        .await;
    assert_eq!(from_seed.status, 201, "{}", from_seed.body);
    assert_eq!(from_seed.data()["keyword"], seed["keyword"]);
    assert_eq!(from_seed.data()["volume"], seed["volume"]);
    let seed_kw = id(&from_seed);

    // Default order: newest first.
    let all = texts(column(&app, &t, KW, "keyword").await);
    assert_eq!(all.len(), 6);
    assert_eq!(all[0], seed["keyword"].as_str().unwrap());
    assert_eq!(all[5], "dental implants cost");
    let q = |query: &str| format!("{KW}?{query}");
    // The seed keyword's own intent and volume are the library's: these checks leave it out.
    let seed_text = seed["keyword"].as_str().unwrap().to_owned();
    let mine = |values: Vec<Value>| -> Vec<String> { texts(values).into_iter().filter(|k| *k != seed_text).collect() };
    assert_eq!(mine(column(&app, &t, &q("status=pending"), "keyword").await), ["implant dentist near me"]);
    assert_eq!(
        mine(column(&app, &t, &q("intent=commercial&ordering=volume"), "keyword").await),
        ["dental implants cost", "teeth whitening"]
    );
    assert_eq!(
        mine(column(&app, &t, &q("seed_keyword__intent=informational&ordering=-difficulty"), "keyword").await)[..2],
        ["braces for adults", "how long do implants last"]
    );
    assert_eq!(
        column(&app, &t, &q(&format!("seed_keyword_id={}", seed["id"].as_str().unwrap())), "id").await,
        [json!(seed_kw)]
    );
    assert_eq!(
        mine(column(&app, &t, &q("volume_min=900&volume_max=2400&ordering=seed_keyword__volume"), "keyword").await),
        ["implant dentist near me", "dental implants cost", "braces for adults"]
    );
    assert_eq!(
        mine(column(&app, &t, &q("difficulty_min=50&difficulty_max=60"), "keyword").await),
        ["implant dentist near me"]
    );
    assert_eq!(
        mine(column(&app, &t, &q("search=IMPLANT&ordering=keyword"), "keyword").await),
        ["dental implants cost", "how long do implants last", "implant dentist near me"]
    );
    assert_eq!(column(&app, &t, &q(&format!("site_id={}&sector_id={}", t.site, t.sector)), "id").await.len(), 6);
    // A second sector holds its own keywords.
    let other = app.post("/api/v1/auth/sectors/", &json!({"site_id": t.site, "name": "Orthodontics"}), tok).await;
    let other = id(&other);
    let elsewhere =
        app.post(KW, &json!({"keyword": "braces for adults", "site_id": t.site, "sector_id": other}), tok).await;
    assert_eq!(elsewhere.status, 201, "the same text in another sector is fine: {}", elsewhere.body);
    assert_eq!(column(&app, &t, &q(&format!("sector_id={other}")), "keyword").await, [json!("braces for adults")]);
    assert_eq!(column(&app, &t, KW, "id").await.len(), 7);

    // Pages.
    let page = app.get(&q("page_size=3&page=2&ordering=keyword"), tok).await;
    assert_eq!(page.body["count"], json!(7));
    assert_eq!(page.body["results"].as_array().unwrap().len(), 3);
    assert!(page.body["next"].as_str().unwrap().contains("page=3"));
    assert!(page.body["previous"].as_str().unwrap().contains("page=1"));

    // Bad list parameters are a 400.
    app.get(&q("ordering=password"), tok).await.assert_error(400, "Validation failed");
    app.get(&q("volume_min=lots"), tok).await.assert_error(400, "Validation failed");

    // Read, change, delete one.
    let one = app.get(&format!("{KW}{}/", ids[0]), tok).await;
    assert_eq!(one.data()["keyword"], json!("dental implants cost"));
    let patched = app.call("PATCH", &format!("{KW}{}/", ids[0]), Some(&json!({"volume": 1300})), tok).await;
    assert_eq!(patched.data()["volume"], json!(1300));
    let put = app
        .call(
            "PUT",
            &format!("{KW}{}/", ids[0]),
            Some(&json!({"status": "archived", "keyword": "dental implant costs"})),
            tok,
        )
        .await;
    assert_eq!(
        (put.data()["status"].clone(), put.data()["keyword"].clone()),
        (json!("archived"), json!("dental implant costs"))
    );
    // Renamed: the old text is free again, the new one taken.
    assert_eq!(add(&app, &t, "dental implants cost", json!({})).await.status, 201);
    app.call("PATCH", &format!("{KW}{}/", ids[1]), Some(&json!({"keyword": "Dental implant costs"})), tok)
        .await
        .assert_error(400, "Validation failed");
    let before = app.snapshot().await;
    for bad in [
        json!({"volume": -1}),
        json!({"difficulty": 101}),
        json!({"intent": "curious"}),
        json!({"sector_id": other}),
        json!({"keyword": ""}),
    ] {
        app.call("PATCH", &format!("{KW}{}/", ids[1]), Some(&bad), tok).await.assert_error(400, "Validation failed");
    }
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.call("DELETE", &format!("{KW}{}/", ids[1]), None, tok).await.status, 204);
    app.get(&format!("{KW}{}/", ids[1]), tok).await.assert_error(404, "Resource not found");
    app.call("DELETE", &format!("{KW}{}/", ids[1]), None, tok).await.assert_error(404, "Resource not found");
    assert_eq!(
        add(&app, &t, "how long do implants last", json!({})).await.status,
        201,
        "a deleted keyword's text is free"
    );
}

#[tokio::test]
async fn cluster_counts_follow_every_keyword_change() {
    let app = spawn_app().await;
    let t = app.tenant("cl@planner.example", "starter").await;
    let tok = Some(t.token.as_str());
    let mk = |name: &str| json!({"name": name, "description": "d", "site_id": t.site, "sector_id": t.sector});
    let a = app.post(CL, &mk("Implants"), tok).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let a = id(&a);
    let b = id(&app.post(CL, &mk("Whitening"), tok).await);
    app.post(CL, &mk(" implants "), tok).await.assert_error(400, "Validation failed");
    let mut kws = Vec::new();
    for (i, text) in ["implant cost", "implant pain", "implant brands", "whitening strips"].iter().enumerate() {
        let cluster = if i < 3 { &a } else { &b };
        kws.push(id(&add(&app, &t, text, json!({"volume": 100 * (i + 1), "cluster_id": cluster})).await));
    }
    counts_are_exact(&app, &t).await;
    let get = |c: &str| {
        let path = format!("{CL}{c}/");
        let app = &app;
        async move { app.get(&path, tok).await.data().clone() }
    };
    assert_eq!((get(&a).await["keywords_count"].clone(), get(&a).await["volume"].clone()), (json!(3), json!(600)));
    // Move, change volume, unassign, delete: counts follow.
    let patch = |k: &str, body: Value| {
        let path = format!("{KW}{k}/");
        let app = &app;
        async move { app.call("PATCH", &path, Some(&body), tok).await }
    };
    assert_eq!(patch(&kws[0], json!({"cluster_id": b})).await.status, 200);
    assert_eq!(patch(&kws[1], json!({"volume": 250})).await.status, 200);
    assert_eq!(patch(&kws[2], json!({"cluster_id": null})).await.status, 200);
    counts_are_exact(&app, &t).await;
    assert_eq!((get(&a).await["keywords_count"].clone(), get(&a).await["volume"].clone()), (json!(1), json!(250)));
    assert_eq!((get(&b).await["keywords_count"].clone(), get(&b).await["volume"].clone()), (json!(2), json!(500)));
    assert_eq!(app.call("DELETE", &format!("{KW}{}/", kws[3]), None, tok).await.status, 204);
    counts_are_exact(&app, &t).await;
    assert_eq!(get(&b).await["keywords_count"], json!(1));
    // A cluster of another sector is not a valid choice.
    let other = id(&app.post("/api/v1/auth/sectors/", &json!({"site_id": t.site, "name": "Other"}), tok).await);
    let foreign = id(&app.post(CL, &json!({"name": "Elsewhere", "site_id": t.site, "sector_id": other}), tok).await);
    patch(&kws[1], json!({"cluster_id": foreign})).await.assert_error(400, "Validation failed");
    // The keywords list filters by cluster.
    assert_eq!(column(&app, &t, &format!("{KW}?cluster_id={b}"), "id").await, [json!(kws[0])]);

    // Lists: filters, search, ordering.
    assert_eq!(
        texts(column(&app, &t, &format!("{CL}?sector_id={}&ordering=-keywords_count,name", t.sector), "name").await),
        ["Implants", "Whitening"]
    );
    assert_eq!(texts(column(&app, &t, &format!("{CL}?search=whit"), "name").await), ["Whitening"]);
    assert_eq!(texts(column(&app, &t, &format!("{CL}?volume_min=200"), "name").await), ["Implants"]);
    assert_eq!(column(&app, &t, &format!("{CL}?status=archived"), "name").await.len(), 0);
    // Rename (kept unique), counts are not settable.
    let renamed = app
        .call("PATCH", &format!("{CL}{a}/"), Some(&json!({"name": "Dental implants", "status": "archived"})), tok)
        .await;
    assert_eq!(renamed.data()["name"], json!("Dental implants"));
    app.call("PATCH", &format!("{CL}{b}/"), Some(&json!({"name": "dental IMPLANTS"})), tok)
        .await
        .assert_error(400, "Validation failed");
    app.call("PATCH", &format!("{CL}{b}/"), Some(&json!({"keywords_count": 99})), tok)
        .await
        .assert_error(400, "Validation failed");
    assert_eq!(app.post(CL, &mk("Implants"), tok).await.status, 201, "the old name is free again");

    // Deleting a cluster unassigns its keywords and keeps them.
    assert_eq!(app.call("DELETE", &format!("{CL}{b}/"), None, tok).await.status, 204);
    let moved = app.get(&format!("{KW}{}/", kws[0]), tok).await;
    assert_eq!(moved.data()["cluster_id"], json!(null));
    let bulk = app.post(&format!("{CL}bulk_delete/"), &json!({"ids": [a]}), tok).await;
    assert_eq!(bulk.data()["deleted_count"], json!(1));
    assert_eq!(app.get(&format!("{KW}{}/", kws[1]), tok).await.data()["cluster_id"], json!(null));
    counts_are_exact(&app, &t).await;
    app.get(&format!("{CL}{a}/"), tok).await.assert_error(404, "Resource not found");
}

#[tokio::test]
async fn cluster_difficulty_is_the_mean_of_its_keywords_and_filters_and_orders() {
    let app = spawn_app().await;
    let t = app.tenant("difficulty@planner.example", "starter").await;
    let tok = Some(t.token.as_str());
    let mk = |name: &str| json!({"name": name, "site_id": t.site, "sector_id": t.sector});
    let hard = id(&app.post(CL, &mk("Hard"), tok).await);
    let easy = id(&app.post(CL, &mk("Easy"), tok).await);
    let empty = id(&app.post(CL, &mk("Empty"), tok).await);
    let mut kws = Vec::new();
    for (text, difficulty, cluster) in [("a", 80, &hard), ("b", 61, &hard), ("c", 10, &easy), ("d", 25, &easy)] {
        kws.push(id(&add(&app, &t, text, json!({"difficulty": difficulty, "cluster_id": cluster})).await));
    }
    counts_are_exact(&app, &t).await;
    let difficulty = |c: &str| {
        let path = format!("{CL}{c}/");
        let app = &app;
        async move { app.get(&path, tok).await.data()["difficulty"].clone() }
    };
    // (80 + 61) / 2 = 70.5 rounds to 71; (10 + 25) / 2 = 17.5 rounds to 18; no keywords is 0.
    assert_eq!(
        (difficulty(&hard).await, difficulty(&easy).await, difficulty(&empty).await),
        (json!(71), json!(18), json!(0))
    );
    assert_eq!(texts(column(&app, &t, &format!("{CL}?ordering=-difficulty"), "name").await), ["Hard", "Easy", "Empty"]);
    assert_eq!(texts(column(&app, &t, &format!("{CL}?ordering=difficulty"), "name").await), ["Empty", "Easy", "Hard"]);
    assert_eq!(texts(column(&app, &t, &format!("{CL}?difficulty_min=18&difficulty_max=70"), "name").await), ["Easy"]);
    app.get(&format!("{CL}?difficulty_min=hard"), tok).await.assert_error(400, "Validation failed");
    // A keyword's new difficulty and its move follow into the mean.
    let patch = app.call("PATCH", &format!("{KW}{}/", kws[1]), Some(&json!({"difficulty": 100})), tok).await;
    assert_eq!(patch.status, 200, "{}", patch.body);
    assert_eq!(difficulty(&hard).await, json!(90));
    let moved = app.call("PATCH", &format!("{KW}{}/", kws[0]), Some(&json!({"cluster_id": easy})), tok).await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!((difficulty(&hard).await, difficulty(&easy).await), (json!(100), json!(38)));
    app.call("PATCH", &format!("{CL}{hard}/"), Some(&json!({"difficulty": 5})), tok)
        .await
        .assert_error(400, "Validation failed");
    counts_are_exact(&app, &t).await;
}

#[tokio::test]
async fn bulk_keyword_actions() {
    let app = spawn_app().await;
    let t = app.tenant("bulk@planner.example", "starter").await;
    let tok = Some(t.token.as_str());
    let seeds = app.get("/api/v1/auth/seed-keywords/?page_size=5", tok).await;
    let seed_ids: Vec<Value> = seeds.body["results"].as_array().unwrap().iter().map(|s| s["id"].clone()).collect();
    assert!(seed_ids.len() >= 3);
    let body = json!({"seed_keyword_ids": seed_ids, "site_id": t.site, "sector_id": t.sector});
    let added = app.post(&format!("{KW}bulk_add_from_seed/"), &body, tok).await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert_eq!(added.data()["added_count"], json!(seed_ids.len()));
    let again = app.post(&format!("{KW}bulk_add_from_seed/"), &body, tok).await;
    assert_eq!(
        (again.data()["added_count"].clone(), again.data()["skipped_count"].clone()),
        (json!(0), json!(seed_ids.len()))
    );
    let ids: Vec<Value> = column(&app, &t, KW, "id").await;
    assert_eq!(ids.len(), seed_ids.len(), "no duplicates within a sector");
    let updated =
        app.post(&format!("{KW}bulk_update_status/"), &json!({"ids": ids[..2], "status": "archived"}), tok).await;
    assert_eq!(updated.data()["updated_count"], json!(2));
    assert_eq!(column(&app, &t, &format!("{KW}?status=archived"), "id").await.len(), 2);
    let before = app.snapshot().await;
    for bad in [
        json!({"ids": [], "status": "archived"}),
        json!({"ids": ids[..1], "status": "gone"}),
        json!({"ids": "all", "status": "archived"}),
        json!({"ids": [uuid::Uuid::now_v7().to_string()], "status": "archived"}),
    ] {
        app.post(&format!("{KW}bulk_update_status/"), &bad, tok).await.assert_error(400, "Validation failed");
    }
    app.post(
        &format!("{KW}bulk_add_from_seed/"),
        &json!({"seed_keyword_ids": ["nope"], "site_id": t.site, "sector_id": t.sector}),
        tok,
    )
    .await
    .assert_error(400, "Validation failed");
    assert_eq!(app.snapshot().await, before);
    let deleted = app.post(&format!("{KW}bulk_delete/"), &json!({"ids": ids}), tok).await;
    assert_eq!(deleted.data()["deleted_count"], json!(seed_ids.len()));
    assert_eq!(column(&app, &t, KW, "id").await.len(), 0);
}

fn multipart(csv: &str, fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "PlannerTestBoundary7";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"keywords.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    ));
    (format!("multipart/form-data; boundary={boundary}"), body.into_bytes())
}

async fn import(app: &TestApp, t: &Tenant, sector: &str, csv: &str) -> Answer {
    let (content_type, body) = multipart(csv, &[("site_id", &t.site), ("sector_id", sector)]);
    let request = app
        .client
        .post(app.url(&format!("{KW}import_keywords/")))
        .bearer_auth(&t.token)
        .header("content-type", content_type)
        .body(body);
    app.send(request).await
}

#[tokio::test]
async fn csv_import_reports_bad_rows_and_export_round_trips() {
    let app = spawn_app().await;
    let t = app.tenant("csv@planner.example", "starter").await;
    let tok = Some(t.token.as_str());
    assert_eq!(add(&app, &t, "already here", json!({})).await.status, 201);
    let csv = "Keyword,Volume,Difficulty,Intent,Status\r\n\
        \"implants, cost of\",\"1,200\",40,commercial,active\r\n\
        braces for adults,2400,35,informational,pending\r\n\
        ,100,10,commercial,active\r\n\
        whitening,lots,10,commercial,active\r\n\
        veneers,100,10,curious,active\r\n\
        Braces  for ADULTS,1,1,informational,active\r\n\
        already here,5,5,commercial,active\r\n\
        \"say \"\"cheese\"\" smile\",50,101,informational,active\r\n\
        tooth gems,10,10,navigational,archived\r\n";
    let answer = import(&app, &t, &t.sector, csv).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let data = answer.data();
    assert_eq!(data["imported_count"], json!(3), "{data}");
    assert_eq!(data["skipped_count"], json!(2), "a duplicate in the file and one already in the sector: {data}");
    assert_eq!(data["total_rows"], json!(9));
    let rows: Vec<u64> = data["errors"].as_array().unwrap().iter().map(|e| e["row"].as_u64().unwrap()).collect();
    assert_eq!(rows, [4, 5, 6, 9], "{data}");
    let imported = app.get(&format!("{KW}?search=implants"), tok).await;
    assert_eq!(imported.body["results"][0]["keyword"], json!("implants, cost of"));
    assert_eq!(imported.body["results"][0]["volume"], json!(1200));

    // Not a keyword CSV, or no file: 400 and nothing changed.
    let before = app.snapshot().await;
    import(&app, &t, &t.sector, "name,size\nx,1\n").await.assert_error(400, "Validation failed");
    import(&app, &t, &t.sector, "keyword\n\"open quote\n").await.assert_error(400, "Validation failed");
    let no_sector = import(&app, &t, "", "keyword\nx\n").await;
    no_sector.assert_error(400, "Validation failed");
    assert!(!no_sector.field_errors("sector_id").is_empty());
    assert_eq!(app.snapshot().await, before);

    // Export (with the list's filters) and import into a new sector: the same keywords.
    let response = app
        .client
        .get(app.url(&format!("{KW}export/?sector_id={}&ordering=keyword", t.sector)))
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(response.headers()["content-disposition"].to_str().unwrap().contains("keywords.csv"));
    let exported = response.text().await.unwrap();
    assert_eq!(exported.lines().count(), 5, "{exported}");
    let filtered =
        app.client.get(app.url(&format!("{KW}export/?status=archived"))).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(filtered.text().await.unwrap().lines().count(), 2);
    let fresh = id(&app.post("/api/v1/auth/sectors/", &json!({"site_id": t.site, "name": "Copy"}), tok).await);
    let copied = import(&app, &t, &fresh, &exported).await;
    assert_eq!(copied.data()["imported_count"], json!(4), "{}", copied.body);
    let shape = |k: &Keyword| (k.keyword.clone(), k.volume, k.difficulty, k.intent.clone(), k.status.clone());
    let mut original: Vec<_> =
        planner::in_sector::<Keyword>(&app.services, &t.account_id, &t.sector, planner::KEYWORD_PREFIX)
            .await
            .unwrap()
            .iter()
            .map(shape)
            .collect();
    let mut copy: Vec<_> = planner::in_sector::<Keyword>(&app.services, &t.account_id, &fresh, planner::KEYWORD_PREFIX)
        .await
        .unwrap()
        .iter()
        .map(shape)
        .collect();
    original.sort();
    copy.sort();
    assert_eq!(original, copy);

    // A plain text/csv body with the sector in the query works too.
    let plain = app
        .send(
            app.client
                .post(app.url(&format!("{KW}import_keywords/?site_id={}&sector_id={fresh}", t.site)))
                .bearer_auth(&t.token)
                .header("content-type", "text/csv")
                .body("keyword\nfluoride\n"),
        )
        .await;
    assert_eq!(plain.data()["imported_count"], json!(1), "{}", plain.body);
}

#[tokio::test]
async fn ideas_crud_and_each_idea_queued_to_the_writer_once() {
    let app = spawn_app().await;
    let t = app.tenant("ideas@planner.example", "starter").await;
    let tok = Some(t.token.as_str());
    let cluster = id(&app.post(CL, &json!({"name": "Implants", "site_id": t.site, "sector_id": t.sector}), tok).await);
    let mk = |title: &str, extra: Value| {
        let mut body = json!({"idea_title": title, "site_id": t.site, "sector_id": t.sector});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        body
    };
    let first = app
        .post(IDEAS, &mk("Implant costs explained", json!({"cluster_id": cluster, "content_type": "guide", "content_structure": "pillar_page", "target_keywords": "implant cost, implant price", "estimated_word_count": 1800, "description": "All about costs"})), tok)
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.data()["target_keywords"], json!(["implant cost", "implant price"]));
    let first = id(&first);
    let second = id(&app.post(IDEAS, &mk("Do implants hurt?", json!({"keyword_cluster_id": cluster})), tok).await);
    let third = id(&app.post(IDEAS, &mk("Whitening at home", json!({"content_type": "tutorial"})), tok).await);
    for bad in [
        json!({}),
        mk("x", json!({"content_type": "novel"})),
        mk("x", json!({"estimated_word_count": 5})),
        mk("x", json!({"cluster_id": uuid::Uuid::now_v7().to_string()})),
    ] {
        app.post(IDEAS, &bad, tok).await.assert_error(400, "Validation failed");
    }
    assert_eq!(column(&app, &t, &format!("{IDEAS}?cluster_id={cluster}"), "id").await.len(), 2);
    assert_eq!(
        column(&app, &t, &format!("{IDEAS}?keyword_cluster_id={cluster}&content_type=guide"), "id").await,
        [json!(first)]
    );
    assert_eq!(column(&app, &t, &format!("{IDEAS}?content_structure=supporting_page"), "id").await.len(), 2);
    assert_eq!(
        texts(column(&app, &t, &format!("{IDEAS}?search=implant&ordering=idea_title"), "idea_title").await),
        ["Do implants hurt?", "Implant costs explained"]
    );
    assert_eq!(column(&app, &t, &format!("{IDEAS}?ordering=-estimated_word_count"), "id").await[0], json!(first));
    let changed = app
        .call("PATCH", &format!("{IDEAS}{third}/"), Some(&json!({"idea_title": "Whitening at home, safely"})), tok)
        .await;
    assert_eq!(changed.data()["idea_title"], json!("Whitening at home, safely"));

    // Queue: one task per idea, carrying the idea's fields.
    let queued = app.post(&format!("{IDEAS}bulk_queue_to_writer/"), &json!({"ids": [first, second]}), tok).await;
    assert_eq!(queued.status, 200, "{}", queued.body);
    assert_eq!(queued.data()["created_count"], json!(2));
    let tasks: Vec<Task> =
        planner::in_sector(&app.services, &t.account_id, &t.sector, writer::TASK_PREFIX).await.unwrap();
    assert_eq!(tasks.len(), 2);
    let task = tasks.iter().find(|t| t.idea_id.as_deref() == Some(first.as_str())).unwrap();
    assert_eq!(
        (
            task.title.as_str(),
            task.description.as_str(),
            task.keywords.clone(),
            task.cluster_id.as_deref(),
            task.content_type.as_str(),
            task.content_structure.as_str(),
            task.word_count,
            task.status.as_str()
        ),
        (
            "Implant costs explained",
            "All about costs",
            vec!["implant cost".to_owned(), "implant price".to_owned()],
            Some(cluster.as_str()),
            "guide",
            "pillar_page",
            1800,
            "queued"
        )
    );
    let idea = app.get(&format!("{IDEAS}{first}/"), tok).await;
    assert_eq!((idea.data()["status"].clone(), idea.data()["task_id"].clone()), (json!("scheduled"), json!(task.id)));
    // Again, and twice at once: each idea is queued once.
    let again = app.post(&format!("{IDEAS}bulk_queue_to_writer/"), &json!({"ids": [first, second]}), tok).await;
    assert_eq!((again.data()["created_count"].clone(), again.data()["skipped_count"].clone()), (json!(0), json!(2)));
    let path = format!("{IDEAS}bulk_queue_to_writer/");
    let body = json!({"ids": [third]});
    let (x, y) = tokio::join!(app.post(&path, &body, tok), app.post(&path, &body, tok));
    let created = x.data()["created_count"].as_u64().unwrap() + y.data()["created_count"].as_u64().unwrap();
    assert_eq!(created, 1, "{} / {}", x.body, y.body);
    let tasks: Vec<Task> =
        planner::in_sector(&app.services, &t.account_id, &t.sector, writer::TASK_PREFIX).await.unwrap();
    assert_eq!(tasks.len(), 3);

    let deleted = app.post(&format!("{IDEAS}bulk_delete/"), &json!({"ids": [second, third]}), tok).await;
    assert_eq!(deleted.data()["deleted_count"], json!(2));
    assert_eq!(app.call("DELETE", &format!("{IDEAS}{first}/"), None, tok).await.status, 204);
    assert_eq!(column(&app, &t, IDEAS, "id").await.len(), 0);
    let tasks: Vec<Task> =
        planner::in_sector(&app.services, &t.account_id, &t.sector, writer::TASK_PREFIX).await.unwrap();
    assert_eq!(tasks.len(), 3, "the writer's tasks stay");
}

#[tokio::test]
async fn other_accounts_and_roles_reach_nothing_and_bad_input_changes_nothing() {
    let app = spawn_app().await;
    let a = app.tenant("a@planner.example", "starter").await;
    let b = app.tenant("b@planner.example", "starter").await;
    let kw = id(&add(&app, &a, "implant cost", json!({"volume": 10})).await);
    let cl =
        id(&app.post(CL, &json!({"name": "Implants", "site_id": a.site, "sector_id": a.sector}), Some(&a.token)).await);
    let idea = id(&app
        .post(IDEAS, &json!({"idea_title": "Costs", "site_id": a.site, "sector_id": a.sector}), Some(&a.token))
        .await);
    let a_partitions = [format!("ACCOUNT#{}", a.account_id), planner::sector_pk(&a.account_id, &a.sector)];
    let before = app.partitions(&a_partitions).await;
    let bt = Some(b.token.as_str());
    for (path, record) in [(KW, &kw), (CL, &cl), (IDEAS, &idea)] {
        let one = format!("{path}{record}/");
        app.get(&one, bt).await.assert_error(404, "Resource not found");
        app.call("PATCH", &one, Some(&json!({"status": "archived"})), bt).await.assert_error(404, "Resource not found");
        app.call("DELETE", &one, None, bt).await.assert_error(404, "Resource not found");
        assert_eq!(app.get(path, bt).await.body["count"], json!(0));
        app.get(&format!("{path}?sector_id={}", a.sector), bt).await.assert_error(404, "Resource not found");
    }
    for (path, body) in [
        (format!("{KW}bulk_delete/"), json!({"ids": [kw]})),
        (format!("{KW}bulk_update_status/"), json!({"ids": [kw], "status": "archived"})),
        (format!("{KW}auto_cluster/"), json!({"ids": [kw], "sector_id": b.sector})),
        (format!("{KW}auto_cluster/"), json!({"ids": [kw], "sector_id": a.sector})),
        (KW.to_owned(), json!({"keyword": "mine now", "site_id": a.site, "sector_id": a.sector})),
        (CL.to_owned(), json!({"name": "Mine", "sector_id": a.sector})),
        (format!("{CL}bulk_delete/"), json!({"ids": [cl]})),
        (format!("{CL}auto_generate_ideas/"), json!({"ids": [cl]})),
        (format!("{IDEAS}bulk_queue_to_writer/"), json!({"ids": [idea]})),
        (format!("{IDEAS}bulk_delete/"), json!({"ids": [idea]})),
    ] {
        app.post(&path, &body, bt).await.assert_error(400, "Validation failed");
    }
    let export = app.client.get(app.url(&format!("{KW}export/"))).bearer_auth(&b.token).send().await.unwrap();
    assert!(!export.text().await.unwrap().contains("implant cost"));
    assert_eq!(app.partitions(&a_partitions).await, before, "B changed nothing of A's");

    // A's viewer reads but cannot write; an editor without the site sees nothing.
    let viewer = app
        .post(
            "/api/v1/auth/users/",
            &json!({"email": "v@planner.example", "password": "viewer passphrase", "role": "viewer"}),
            Some(&a.token),
        )
        .await;
    let viewer_id = id(&viewer);
    assert_eq!(
        app.post("/api/v1/auth/site-access/", &json!({"user_id": viewer_id, "site_id": a.site}), Some(&a.token))
            .await
            .status,
        201
    );
    let v = app.login("v@planner.example", "viewer passphrase").await.data()["access"].as_str().unwrap().to_owned();
    assert_eq!(app.get(&format!("{KW}{kw}/"), Some(&v)).await.status, 200);
    add(&app, &Tenant { token: v.clone(), ..a_clone(&a) }, "viewer kw", json!({}))
        .await
        .assert_error(403, "Permission denied");
    app.call("PATCH", &format!("{KW}{kw}/"), Some(&json!({"volume": 1})), Some(&v))
        .await
        .assert_error(403, "Permission denied");
    app.post(&format!("{KW}auto_cluster/"), &json!({"ids": [kw], "sector_id": a.sector}), Some(&v))
        .await
        .assert_error(403, "Permission denied");
    let editor = app
        .post(
            "/api/v1/auth/users/",
            &json!({"email": "e@planner.example", "password": "editor passphrase", "role": "editor"}),
            Some(&a.token),
        )
        .await;
    assert_eq!(editor.status, 201);
    let e = app.login("e@planner.example", "editor passphrase").await.data()["access"].as_str().unwrap().to_owned();
    app.get(&format!("{KW}{kw}/"), Some(&e)).await.assert_error(404, "Resource not found");
    assert_eq!(app.get(KW, Some(&e)).await.body["count"], json!(0));
    app.get(KW, None).await.assert_error(401, "Authentication required");

    // Bad input: 400 with field errors, nothing written.
    let before = app.snapshot().await;
    let at = Some(a.token.as_str());
    for body in [
        json!({}),
        json!({"keyword": "x", "sector_id": "not-an-id"}),
        json!({"keyword": 5, "site_id": a.site, "sector_id": a.sector}),
        json!({"keyword": "x", "site_id": b.site, "sector_id": a.sector}),
        json!({"keyword": "x".repeat(300), "site_id": a.site, "sector_id": a.sector}),
        json!({"keyword": "x", "volume": "many", "site_id": a.site, "sector_id": a.sector}),
        json!({"keyword": "x", "status": "mapped?", "site_id": a.site, "sector_id": a.sector}),
        json!({"seed_keyword_id": "no-such-seed", "site_id": a.site, "sector_id": a.sector}),
    ] {
        app.post(KW, &body, at).await.assert_error(400, "Validation failed");
    }
    let too_many: Vec<String> = (0..2001).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let big = app.post(&format!("{KW}auto_cluster/"), &json!({"ids": too_many, "sector_id": a.sector}), at).await;
    big.assert_error(400, "Validation failed");
    assert!(big.field_errors("ids")[0].contains("2000"));
    app.post(&format!("{CL}auto_generate_ideas/"), &json!({"ids": []}), at)
        .await
        .assert_error(400, "Validation failed");
    assert_eq!(app.snapshot().await, before);
}

fn a_clone(t: &Tenant) -> Tenant {
    Tenant {
        token: t.token.clone(),
        account_id: t.account_id.clone(),
        user_id: t.user_id.clone(),
        site: t.site.clone(),
        sector: t.sector.clone(),
    }
}

#[tokio::test]
async fn imported_keywords_become_clusters_ideas_and_writer_tasks() {
    let app = spawn_app().await;
    let t = app.tenant("flow@planner.example", "starter").await;
    let tok = Some(t.token.as_str());
    let start = app.credits(&t.account_id).await;
    // 200 keywords; the test server clusters keywords by their last word (8 of them).
    let heads = ["implants", "braces", "whitening", "veneers", "crowns", "fillings", "dentures", "aligners"];
    let mut csv = String::from("keyword,volume,difficulty,intent\n");
    for i in 0..200 {
        csv.push_str(&format!("topic {i} {},{},{},informational\n", heads[i % heads.len()], 10 + i, i % 100));
    }
    let imported = import(&app, &t, &t.sector, &csv).await;
    assert_eq!(imported.data()["imported_count"], json!(200), "{}", imported.body);
    let ids = column(&app, &t, &format!("{KW}?page_size=100&page=1"), "id").await;
    let mut ids: Vec<Value> = ids;
    ids.extend(column(&app, &t, &format!("{KW}?page_size=100&page=2"), "id").await);
    assert_eq!(ids.len(), 200);

    let queued = app.post(&format!("{KW}auto_cluster/"), &json!({"ids": ids, "sector_id": t.sector}), tok).await;
    assert_eq!(queued.status, 200, "{}", queued.body);
    assert_eq!(queued.body["success"], json!(true));
    let task = queued.body["task_id"].as_str().expect("task_id at the top, as the original answers").to_owned();
    assert_eq!(queued.data()["credits_reserved"], json!(100), "10 parts of 20 keywords, 10 credits each");
    let done = app.settled(&t.token, &task).await;
    assert_eq!(done["state"], json!("SUCCESS"), "{done}");
    assert_eq!(done["meta"]["parts_done"], json!(10), "{done}");
    counts_are_exact(&app, &t).await;
    let clusters = app.get(&format!("{CL}?page_size=100"), tok).await;
    assert_eq!(clusters.body["count"], json!(8), "one cluster per head word, merged across parts");
    let names: HashSet<String> =
        texts(clusters.body["results"].as_array().unwrap().iter().map(|c| c["name"].clone()).collect())
            .into_iter()
            .collect();
    assert_eq!(names.len(), 8);
    let total: u64 =
        clusters.body["results"].as_array().unwrap().iter().map(|c| c["keywords_count"].as_u64().unwrap()).sum();
    assert_eq!(total, 200, "every keyword in exactly one cluster");
    assert_eq!(app.credits(&t.account_id).await, start - 100);

    // Ideas for three clusters: 15 credits each.
    let cluster_ids: Vec<Value> =
        clusters.body["results"].as_array().unwrap().iter().take(3).map(|c| c["id"].clone()).collect();
    let queued = app.post(&format!("{CL}auto_generate_ideas/"), &json!({"ids": cluster_ids}), tok).await;
    assert_eq!(queued.status, 200, "{}", queued.body);
    let done = app.settled(&t.token, queued.body["task_id"].as_str().unwrap()).await;
    assert_eq!(done["state"], json!("SUCCESS"), "{done}");
    assert_eq!(app.credits(&t.account_id).await, start - 100 - 45);
    let ideas = app.get(&format!("{IDEAS}?page_size=100"), tok).await;
    assert_eq!(ideas.body["count"], json!(9), "three ideas per cluster at the test server");
    let by_cluster: HashMap<String, usize> =
        ideas.body["results"].as_array().unwrap().iter().fold(HashMap::new(), |mut m, i| {
            *m.entry(i["cluster_id"].as_str().unwrap().to_owned()).or_default() += 1;
            m
        });
    assert_eq!(by_cluster.len(), 3);
    assert!(
        ideas.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["content_type"] == json!("blog_post") && i["content_structure"] == json!("supporting_page"))
    );

    let idea_ids: Vec<Value> = ideas.body["results"].as_array().unwrap().iter().map(|i| i["id"].clone()).collect();
    let queued = app.post(&format!("{IDEAS}bulk_queue_to_writer/"), &json!({"ids": idea_ids}), tok).await;
    assert_eq!(queued.data()["created_count"], json!(9));
    let tasks: Vec<Task> =
        planner::in_sector(&app.services, &t.account_id, &t.sector, writer::TASK_PREFIX).await.unwrap();
    assert_eq!(tasks.len(), 9);
    assert!(tasks.iter().all(|t| t.status == "queued" && t.idea_id.is_some() && t.cluster_id.is_some()));
    assert_eq!(app.ledger_sum(&t.account_id).await, app.credits(&t.account_id).await);
}

#[tokio::test]
async fn concurrent_moves_keep_cluster_counts_exact() {
    let app = spawn_app().await;
    let t = app.tenant("race@planner.example", "starter").await;
    let tok = Some(t.token.as_str());
    let mut clusters = Vec::new();
    for name in ["One", "Two", "Three"] {
        clusters.push(id(&app.post(CL, &json!({"name": name, "site_id": t.site, "sector_id": t.sector}), tok).await));
    }
    let mut kws = Vec::new();
    for i in 0..6 {
        kws.push(id(&add(&app, &t, &format!("race keyword {i}"), json!({"volume": 10 + i})).await));
    }
    // 36 requests at once, several on the same keyword: each lands whole or answers 409.
    let calls = (0..36).map(|n| {
        let path = format!("{KW}{}/", kws[n % kws.len()]);
        let body = json!({"cluster_id": clusters[(n / 6) % clusters.len()], "volume": 100 + n});
        let app = &app;
        async move { app.call("PATCH", &path, Some(&body), tok).await.status }
    });
    let statuses = futures_util::future::join_all(calls).await;
    assert!(statuses.iter().all(|s| *s == 200 || *s == 409), "{statuses:?}");
    assert!(statuses.contains(&200));
    counts_are_exact(&app, &t).await;
    // And a cluster deleted while keywords join it: none is left pointing at it.
    let joins = kws.iter().map(|k| {
        let path = format!("{KW}{k}/");
        let body = json!({"cluster_id": clusters[0]});
        let app = &app;
        async move { app.call("PATCH", &path, Some(&body), tok).await.status }
    });
    let cluster_path = format!("{CL}{}/", clusters[0]);
    let delete = app.call("DELETE", &cluster_path, None, tok);
    let (_, deleted) = tokio::join!(futures_util::future::join_all(joins), delete);
    assert_eq!(deleted.status, 204);
    counts_are_exact(&app, &t).await;
}
