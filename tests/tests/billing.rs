//! `/api/v1/billing/` and `/api/v1/admin/` over HTTP, and the monthly replenishment run through the
//! replenisher's handler against the local stack: credit views, packages, invoices (a real PDF),
//! manual payments confirmed exactly once, payment methods, the billing desk, roles and tenancy.

use api_tests::{Answer, Tenant, TestApp, spawn_app};
use igny8_domain::accounts::{Account, AccountStatus};
use igny8_domain::billing::replenish;
use igny8_domain::credits::LedgerEntry;
use igny8_domain::store::{Item, Key, Query, keys};
use serde_json::{Value, json};

const B: &str = "/api/v1/billing/";
const ADMIN: &str = "/api/v1/admin/";

fn data_id(answer: &Answer) -> String {
    assert!(answer.status < 300, "{}", answer.body);
    answer.data()["id"].as_str().unwrap().to_owned()
}

async fn user_with_role(app: &TestApp, owner: &Tenant, email: &str, role: &str) -> String {
    let made = app
        .post(
            "/api/v1/auth/users/",
            &json!({"email": email, "password": "member passphrase", "role": role}),
            Some(&owner.token),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    app.login(email, "member passphrase").await.data()["access"].as_str().unwrap().to_owned()
}

/// A developer (platform role) of its own account.
async fn developer(app: &TestApp) -> String {
    let dev = app.tenant("dev@platform.example", "starter").await;
    app.make_role(&dev.account_id, &dev.user_id, "developer").await;
    dev.token
}

async fn ledger(app: &TestApp, account_id: &str) -> Vec<LedgerEntry> {
    let items = app
        .services
        .store()
        .await
        .query_all(Query::partition(keys::account_pk(account_id)).sk_prefix(keys::LEDGER_PREFIX))
        .await
        .unwrap();
    items.into_iter().map(|i| igny8_domain::store::decode(i).unwrap()).collect()
}

#[tokio::test]
async fn credit_views_show_balance_and_usage_to_members_and_transactions_to_owners_and_admins_only() {
    let app = spawn_app().await;
    let t = app.tenant("views@billing.example", "growth").await;
    let tok = Some(t.token.as_str());
    // One clustering job: 10 credits and one usage log item.
    let kw =
        app.post("/api/v1/planner/keywords/", &json!({"keyword": "dental implants", "sector_id": t.sector}), tok).await;
    let job = app
        .post("/api/v1/planner/keywords/auto_cluster/", &json!({"ids": [data_id(&kw)], "sector_id": t.sector}), tok)
        .await;
    assert_eq!(app.settled(&t.token, job.body["task_id"].as_str().unwrap()).await["state"], json!("SUCCESS"));

    let balance = app.get(&format!("{B}credits/balance/"), tok).await;
    assert_eq!(balance.data()["credits"], json!(4990), "{}", balance.body);
    assert_eq!(balance.data()["plan_credits_per_month"], json!(5000));
    assert_eq!(balance.data()["credits_used_this_month"], json!(10));
    assert_eq!(app.get(&format!("{B}credits/balance/balance/"), tok).await.data(), balance.data());

    let usage = app.get(&format!("{B}credits/usage/"), tok).await;
    assert_eq!(usage.body["count"], json!(1));
    let log = &usage.body["results"][0];
    assert_eq!((log["operation_type"].clone(), log["credits_used"].clone()), (json!("clustering"), json!(10)));
    assert!(log["tokens_input"].as_u64().unwrap() > 0 && log["model_used"].is_string());
    let one = app.get(&format!("{B}credits/usage/{}/", log["id"].as_str().unwrap()), tok).await;
    assert_eq!(one.data()["credits_used"], json!(10));
    assert_eq!(
        app.get(&format!("{B}credits/usage/?operation_type=image_generation"), tok).await.body["count"],
        json!(0)
    );
    assert_eq!(app.get(&format!("{B}credits/usage/?start_date=2099-01-01"), tok).await.body["count"], json!(0));
    let today = time::OffsetDateTime::now_utc().date();
    assert_eq!(
        app.get(&format!("{B}credits/usage/?start_date={today}&end_date={today}"), tok).await.body["count"],
        json!(1)
    );
    app.get(&format!("{B}credits/usage/?start_date=yesterday"), tok).await.assert_error(400, "Validation failed");
    app.get(&format!("{B}credits/usage/?start_date=2026-02-01&end_date=2026-01-01"), tok)
        .await
        .assert_error(400, "Validation failed");
    let summary = app.get(&format!("{B}credits/usage/summary/"), tok).await;
    assert_eq!(summary.data()["total_credits_used"], json!(10));
    assert_eq!(summary.data()["by_operation"], json!({"clustering": 10}));
    assert!(summary.data()["total_cost_usd"].as_f64().unwrap() > 0.0);
    let limits = app.get(&format!("{B}credits/usage/limits/"), tok).await;
    let monthly = &limits.data()["limits"][0];
    assert_eq!(
        (monthly["title"].clone(), monthly["limit"].clone(), monthly["used"].clone(), monthly["available"].clone()),
        (json!("Monthly Credits"), json!(5000), json!(10), json!(4990))
    );
    assert_eq!(limits.data()["limits"][6]["title"], json!("Users"));

    // The ledger, newest first: the plan's credits, the reservation, its settlement.
    let tx = app.get(&format!("{B}credits/transactions/"), tok).await;
    let kinds: Vec<Value> =
        tx.body["results"].as_array().unwrap().iter().map(|e| e["transaction_type"].clone()).collect();
    assert_eq!(kinds.last(), Some(&json!("subscription")), "{kinds:?}");
    assert!(kinds.contains(&json!("reservation")));
    let sum: i64 = tx.body["results"].as_array().unwrap().iter().map(|e| e["amount"].as_i64().unwrap()).sum();
    assert_eq!(sum, 4990, "the ledger sums to the balance");
    assert_eq!(app.get(&format!("{B}transactions/"), tok).await.body["count"], tx.body["count"]);
    assert_eq!(
        app.get(&format!("{B}credits/transactions/?transaction_type=reservation"), tok).await.body["count"],
        json!(1)
    );
    // The AI charge is a deduction of what the job actually cost; the reservation is released.
    let deductions = app.get(&format!("{B}credits/transactions/?transaction_type=deduction"), tok).await;
    assert_eq!(deductions.body["count"], json!(1), "{}", deductions.body);
    assert_eq!(deductions.body["results"][0]["amount"], json!(-10));
    let reservation = app.get(&format!("{B}credits/transactions/?transaction_type=reservation"), tok).await;
    let released = app.get(&format!("{B}credits/transactions/?transaction_type=settlement"), tok).await;
    assert_eq!(
        released.body["results"][0]["amount"].as_i64(),
        reservation.body["results"][0]["amount"].as_i64().map(|a| -a)
    );
    app.get(&format!("{B}credits/transactions/?transaction_type=gift"), tok)
        .await
        .assert_error(400, "Validation failed");
    let entry = tx.body["results"][0]["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("{B}transactions/{entry}/"), tok).await.data()["id"], json!(entry));

    // Every member reads the balance, the usage and the limits (as the seeds say); the ledger,
    // invoices and payments stay with owners and admins; strangers see nothing of it.
    let admin = user_with_role(&app, &t, "admin@billing.example", "admin").await;
    assert_eq!(app.get(&format!("{B}credits/balance/"), Some(&admin)).await.status, 200);
    for role in ["editor", "viewer"] {
        let token = user_with_role(&app, &t, &format!("{role}@billing.example"), role).await;
        let usage_entry = format!("credits/usage/{}/", log["id"].as_str().unwrap());
        for path in [
            "credits/balance/",
            "credits/balance/balance/",
            "credits/usage/",
            &usage_entry,
            "credits/usage/summary/",
            "credits/usage/limits/",
        ] {
            let answer = app.get(&format!("{B}{path}"), Some(&token)).await;
            assert_eq!(answer.status, 200, "{role} reads {path}: {}", answer.body);
        }
        let seen = app.get(&format!("{B}credits/balance/"), Some(&token)).await;
        assert_eq!(seen.data(), balance.data(), "{role} sees the account's balance");
        for path in [
            "credits/transactions/",
            "invoices/",
            "payments/",
            "payment-methods/",
            "credit-packages/",
            "credit-packages/credits-500/",
            "payments/available_methods/",
        ] {
            app.get(&format!("{B}{path}"), Some(&token)).await.assert_error(403, "Permission denied");
        }
    }
    app.get(&format!("{B}credits/balance/"), None).await.assert_error(401, "Authentication required");
    let other = app.tenant("other@billing.example", "starter").await;
    app.get(&format!("{B}transactions/{entry}/"), Some(&other.token)).await.assert_error(404, "Resource not found");
    app.get(&format!("{B}credits/usage/{}/", log["id"].as_str().unwrap()), Some(&other.token))
        .await
        .assert_error(404, "Resource not found");
}

/// Checks the PDF's structure the way a reader does: header, trailer, `startxref` pointing at
/// the cross-reference table, every entry pointing at its object, one page; answers its text.
fn parse_pdf(bytes: &[u8]) -> String {
    assert!(bytes.starts_with(b"%PDF-1."), "not a PDF");
    // Binary bytes become '?' so that byte offsets stay offsets into the text.
    let text: String = bytes.iter().map(|&b| if b.is_ascii() { b as char } else { '?' }).collect();
    assert!(text.trim_end().ends_with("%%EOF"));
    let startxref: usize = text.rsplit("startxref").next().unwrap().split_whitespace().next().unwrap().parse().unwrap();
    assert!(text[startxref..].starts_with("xref"), "startxref does not point at the table");
    let mut lines = text[startxref..].lines().skip(1);
    let count: usize = lines.next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    let entries: Vec<&str> = lines.by_ref().take(count).collect();
    assert!(entries[0].ends_with(" f "), "{:?}", entries[0]);
    for (n, entry) in entries.iter().enumerate().skip(1) {
        let offset: usize = entry[..10].parse().unwrap();
        assert!(text[offset..].starts_with(&format!("{n} 0 obj")), "object {n} is not at {offset}");
    }
    assert!(text.contains("/Type /Catalog") && text.contains("/Count 1"));
    let stream_start = text.find("stream\n").unwrap() + 7;
    let length: usize =
        text[..stream_start].rsplit("/Length ").next().unwrap().split_whitespace().next().unwrap().parse().unwrap();
    assert!(text[stream_start + length..].starts_with("endstream"), "the stream length is exact");
    text[stream_start..stream_start + length].to_owned()
}

#[tokio::test]
async fn a_purchase_is_credited_once_when_its_payment_is_confirmed() {
    let app = spawn_app().await;
    let t = app.tenant("buyer@billing.example", "starter").await;
    let tok = Some(t.token.as_str());
    let dev = developer(&app).await;
    let packages = app.get(&format!("{B}credit-packages/"), tok).await;
    let ids: Vec<Value> = packages.body["results"].as_array().unwrap().iter().map(|p| p["id"].clone()).collect();
    assert_eq!(
        ids,
        [json!("credits-500"), json!("credits-2000"), json!("credits-10000")],
        "inactive packages are not sold"
    );
    app.post(&format!("{B}credit-packages/credits-legacy/purchase/"), &json!({}), tok)
        .await
        .assert_error(404, "Resource not found");
    let one = app.get(&format!("{B}credit-packages/credits-2000/"), tok).await;
    assert_eq!((one.data()["credits"].clone(), one.data()["price"].clone()), (json!(2000), json!("29.00")));
    app.get(&format!("{B}credit-packages/credits-legacy/"), tok).await.assert_error(404, "Resource not found");

    let invoice = app.post(&format!("{B}credit-packages/credits-500/purchase/"), &json!({}), tok).await;
    assert_eq!(invoice.status, 201, "{}", invoice.body);
    assert_eq!(
        (invoice.data()["status"].clone(), invoice.data()["amount"].clone(), invoice.data()["credits"].clone()),
        (json!("pending"), json!("9.00"), json!(500))
    );
    let invoice_id = data_id(&invoice);
    assert_eq!(app.credits(&t.account_id).await, 1000, "no credits before the payment is confirmed");

    // The PDF opens.
    let response = app
        .client
        .get(app.url(&format!("{B}invoices/{invoice_id}/download_pdf/")))
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let number = invoice.data()["invoice_number"].as_str().unwrap().to_owned();
    assert!(response.headers()["content-disposition"].to_str().unwrap().contains(&number));
    let text = parse_pdf(&response.bytes().await.unwrap());
    for expected in [number.as_str(), "9.00 USD", "500", "PENDING"] {
        assert!(text.contains(expected), "{expected} missing from the PDF");
    }

    let before = app.snapshot().await;
    for bad in [
        json!({"invoice_id": invoice_id, "method": "bank_transfer", "reference": "X", "amount": "8.00"}),
        json!({"invoice_id": invoice_id, "method": "gold", "reference": "X"}),
        json!({"invoice_id": uuid::Uuid::now_v7().to_string(), "method": "bank_transfer", "reference": "X"}),
        json!({"invoice_id": invoice_id, "method": "bank_transfer"}),
    ] {
        app.post(&format!("{B}payments/"), &bad, tok).await.assert_error(400, "Validation failed");
    }
    assert_eq!(app.snapshot().await, before);
    let methods = app.get(&format!("{B}payments/available_methods/"), tok).await;
    assert!(methods.data().as_array().unwrap().iter().any(|m| m["type"] == json!("bank_transfer")));

    // A payment rejected leaves the invoice open; a second one is confirmed, twice at once.
    let pay = |reference: &str| json!({"invoice_id": invoice_id, "method": "bank_transfer", "reference": reference, "amount": "9.00"});
    let first = data_id(&app.post(&format!("{B}payments/"), &pay("WRONG-REF"), tok).await);
    let pending = app.get(&format!("{ADMIN}payments/"), Some(&dev)).await;
    assert_eq!(pending.body["results"][0]["id"], json!(first));
    app.post(&format!("{ADMIN}payments/{first}/reject/"), &json!({}), Some(&dev))
        .await
        .assert_error(400, "Validation failed");
    let rejected =
        app.post(&format!("{ADMIN}payments/{first}/reject/"), &json!({"reason": "No such transfer"}), Some(&dev)).await;
    assert_eq!(rejected.data()["status"], json!("rejected"));
    app.post(&format!("{ADMIN}payments/{first}/approve/"), &json!({}), Some(&dev))
        .await
        .assert_error(409, "This payment was decided already.");
    assert_eq!(app.get(&format!("{B}invoices/{invoice_id}/"), tok).await.data()["status"], json!("pending"));
    let second = data_id(&app.post(&format!("{B}payments/"), &pay(&number), tok).await);
    let path = format!("{ADMIN}payments/{second}/approve/");
    let empty = json!({});
    let (x, y) = tokio::join!(app.post(&path, &empty, Some(&dev)), app.post(&path, &empty, Some(&dev)));
    let mut statuses = [x.status, y.status];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{} / {}", x.body, y.body);
    app.post(&path, &json!({}), Some(&dev)).await.assert_error(409, "This payment was decided already.");
    assert_eq!(app.credits(&t.account_id).await, 1500, "credited exactly once");
    let purchases: Vec<LedgerEntry> =
        ledger(&app, &t.account_id).await.into_iter().filter(|e| e.amount == 500).collect();
    assert_eq!(purchases.len(), 1);
    assert_eq!(app.ledger_sum(&t.account_id).await, 1500);
    let paid = app.get(&format!("{B}invoices/{invoice_id}/"), tok).await;
    assert_eq!((paid.data()["status"].clone(), paid.data()["payment_id"].clone()), (json!("paid"), json!(second)));
    assert!(
        parse_pdf(
            &app.client
                .get(app.url(&format!("{B}invoices/{invoice_id}/download_pdf/")))
                .bearer_auth(&t.token)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
        )
        .contains("Paid on")
    );
    app.post(&format!("{B}payments/"), &pay("again"), tok).await.assert_error(400, "Validation failed");
    assert_eq!(app.get(&format!("{B}invoices/?status=paid"), tok).await.body["count"], json!(1));
    assert_eq!(app.get(&format!("{B}payments/"), tok).await.body["count"], json!(2));

    // Another account sees none of it and cannot pay it.
    let other = app.tenant("other@billing.example", "starter").await;
    app.get(&format!("{B}invoices/{invoice_id}/"), Some(&other.token)).await.assert_error(404, "Resource not found");
    app.get(&format!("{B}invoices/{invoice_id}/download_pdf/"), Some(&other.token))
        .await
        .assert_error(404, "Resource not found");
    app.post(&format!("{B}payments/"), &pay("theirs"), Some(&other.token)).await.assert_error(400, "Validation failed");
    assert_eq!(app.get(&format!("{B}payments/"), Some(&other.token)).await.body["count"], json!(0));
}

#[tokio::test]
async fn payment_methods_keep_one_default_and_no_full_numbers() {
    let app = spawn_app().await;
    let t = app.tenant("methods@billing.example", "starter").await;
    let tok = Some(t.token.as_str());
    let first = app
        .post(
            &format!("{B}payment-methods/"),
            &json!({"type": "bank_transfer", "label": "Company", "last4": "1234"}),
            tok,
        )
        .await;
    assert_eq!(first.data()["is_default"], json!(true));
    let second = app.post(&format!("{B}payment-methods/"), &json!({"type": "paypal", "label": "PayPal"}), tok).await;
    assert_eq!(second.data()["is_default"], json!(false));
    let (first, second) = (data_id(&first), data_id(&second));
    let set = app.post(&format!("{B}payment-methods/{second}/set_default/"), &json!({}), tok).await;
    assert_eq!(set.data()["is_default"], json!(true));
    let all = app.get(&format!("{B}payment-methods/"), tok).await;
    let defaults: Vec<Value> = all.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["is_default"] == json!(true))
        .map(|m| m["id"].clone())
        .collect();
    assert_eq!(defaults, [json!(second)]);
    for bad in [
        json!({"type": "card", "label": "Visa", "card_number": "4111111111111111"}),
        json!({"type": "card", "label": "Visa", "last4": "41111"}),
        json!({"type": "barter", "label": "Goats"}),
    ] {
        app.post(&format!("{B}payment-methods/"), &bad, tok).await.assert_error(400, "Validation failed");
    }
    assert!(!app.snapshot().await.iter().any(|i| format!("{i:?}").contains("4111111111111111")));
    let other = app.tenant("other@billing.example", "starter").await;
    app.post(&format!("{B}payment-methods/{first}/set_default/"), &json!({}), Some(&other.token))
        .await
        .assert_error(404, "Resource not found");
    app.call("DELETE", &format!("{B}payment-methods/{first}/"), None, Some(&other.token))
        .await
        .assert_error(404, "Resource not found");
    assert_eq!(app.call("DELETE", &format!("{B}payment-methods/{first}/"), None, tok).await.status, 204);
    assert_eq!(app.get(&format!("{B}payment-methods/"), tok).await.body["count"], json!(1));
}

#[tokio::test]
async fn the_billing_desk_is_for_the_platform_only() {
    let app = spawn_app().await;
    let t = app.tenant("desk@billing.example", "starter").await;
    let dev = developer(&app).await;
    let admin = user_with_role(&app, &t, "admin@desk.example", "admin").await;
    let editor = user_with_role(&app, &t, "editor@desk.example", "editor").await;
    let payment = uuid::Uuid::now_v7().to_string();
    for token in [Some(t.token.as_str()), Some(admin.as_str()), Some(editor.as_str()), None] {
        let expected = if token.is_some() { 403 } else { 401 };
        assert_eq!(app.get(&format!("{ADMIN}accounts/"), token).await.status, expected);
        assert_eq!(app.get(&format!("{ADMIN}payments/"), token).await.status, expected);
        let adjust = app
            .post(
                &format!("{ADMIN}accounts/{}/adjust_credits/", t.account_id),
                &json!({"amount": 100, "reason": "x"}),
                token,
            )
            .await;
        assert_eq!(adjust.status, expected);
        assert_eq!(app.post(&format!("{ADMIN}payments/{payment}/approve/"), &json!({}), token).await.status, expected);
    }
    assert_eq!(app.credits(&t.account_id).await, 1000);

    let accounts = app.get(&format!("{ADMIN}accounts/?page_size=100"), Some(&dev)).await;
    let mine =
        accounts.body["results"].as_array().unwrap().iter().find(|a| a["id"] == json!(t.account_id)).unwrap().clone();
    assert_eq!((mine["credits"].clone(), mine["plan_id"].clone()), (json!(1000), json!("starter")));
    let adjust = |amount: i64, reason: &str| {
        let path = format!("{ADMIN}accounts/{}/adjust_credits/", t.account_id);
        let body = json!({"amount": amount, "reason": reason});
        let (app, dev) = (&app, &dev);
        async move { app.post(&path, &body, Some(dev)).await }
    };
    assert_eq!(adjust(250, "Goodwill for the outage").await.data()["credits"], json!(1250));
    assert_eq!(adjust(-1000, "Refunded by card").await.data()["credits"], json!(250));
    let before = app.snapshot().await;
    adjust(-251, "Too much").await.assert_error(400, "Validation failed");
    adjust(0, "Nothing").await.assert_error(400, "Validation failed");
    app.post(&format!("{ADMIN}accounts/{}/adjust_credits/", t.account_id), &json!({"amount": 5}), Some(&dev))
        .await
        .assert_error(400, "Validation failed");
    app.post(
        &format!("{ADMIN}accounts/{}/adjust_credits/", uuid::Uuid::now_v7()),
        &json!({"amount": 5, "reason": "x"}),
        Some(&dev),
    )
    .await
    .assert_error(404, "Resource not found");
    app.get(&format!("{ADMIN}payments/?status=lost"), Some(&dev)).await.assert_error(400, "Validation failed");
    assert_eq!(app.snapshot().await, before);
    let adjustments: Vec<LedgerEntry> = ledger(&app, &t.account_id)
        .await
        .into_iter()
        .filter(|e| e.description.contains("Goodwill") || e.description.contains("Refunded"))
        .collect();
    assert_eq!(adjustments.len(), 2);
    assert!(adjustments.iter().all(|e| e.transaction_type == igny8_domain::credits::TransactionType::Adjustment));
    assert_eq!(app.ledger_sum(&t.account_id).await, 250);
}

/// `n` accounts written straight to the table (registration hashes a password each): active on
/// `plan`, no credits yet.
async fn accounts(app: &TestApp, n: usize, plan: &str, status: AccountStatus) -> Vec<String> {
    let now = time::OffsetDateTime::now_utc();
    let mut items = Vec::new();
    let mut ids = Vec::new();
    for i in 0..n {
        let id = igny8_domain::ids::new_id();
        let account = Account {
            id: id.clone(),
            name: format!("Account {i}"),
            slug: format!("account-{i}-{}", &id[..8]),
            owner_id: igny8_domain::ids::new_id(),
            plan_id: plan.into(),
            status,
            credits: 0,
            site_count: 0,
            user_count: 1,
            author_profile_count: 0,
            disabled_modules: Default::default(),
            created_at: now,
            updated_at: now,
        };
        items.push(Item::new(&Key::account(&id), "Account", &account).unwrap().gsi1(keys::accounts_gsi1(&id)));
        ids.push(id);
    }
    app.services.store().await.put_batch(items).await.unwrap();
    ids
}

async fn run(app: &TestApp, period: &str) -> Result<replenish::Report, String> {
    credit_replenisher::handle(&app.services, &json!({"period": period})).await.map_err(|e| e.to_string())
}

async fn assert_each_credited_once(app: &TestApp, ids: &[String], credits: i64, period: &str) {
    for id in ids {
        assert_eq!(app.credits(id).await, credits, "balance of {id}");
        let entries = ledger(app, id).await;
        let subscriptions: Vec<&LedgerEntry> = entries.iter().filter(|e| e.description.contains(period)).collect();
        assert_eq!(subscriptions.len(), usize::from(credits > 0), "ledger of {id}");
        assert_eq!(entries.iter().map(|e| e.amount).sum::<i64>(), credits, "the ledger of {id} sums to its balance");
    }
}

#[tokio::test]
async fn replenishment_credits_each_active_account_once_per_period() {
    let app = spawn_app().await;
    let starter = accounts(&app, 3, "starter", AccountStatus::Active).await;
    let free = accounts(&app, 2, "free", AccountStatus::Active).await;
    let suspended = accounts(&app, 2, "starter", AccountStatus::Suspended).await;
    let first = run(&app, "2031-01").await.unwrap();
    assert_eq!(
        (first.total_accounts, first.replenished, first.skipped, first.already_replenished),
        (7, 5, 2, 0),
        "{first:?}"
    );
    assert_eq!(first.credits_added, 3 * 1000 + 2 * 100);
    // Twice in one period: nothing more.
    let again = run(&app, "2031-01").await.unwrap();
    assert_eq!((again.replenished, again.already_replenished), (0, 5), "{again:?}");
    assert_each_credited_once(&app, &starter, 1000, "2031-01").await;
    assert_each_credited_once(&app, &free, 100, "2031-01").await;
    assert_each_credited_once(&app, &suspended, 0, "2031-01").await;
    // The next period credits again; the scheduled event's time names the period.
    let event = json!({"time": "2031-02-01T00:15:00Z", "detail-type": "Scheduled Event"});
    let next = credit_replenisher::handle(&app.services, &event).await.unwrap();
    assert_eq!((next.period.as_str(), next.replenished), ("2031-02", 5));
    assert_eq!(app.credits(&starter[0]).await, 2000);
    assert!(credit_replenisher::handle(&app.services, &json!({"period": "2031-13"})).await.is_err());
}

#[tokio::test]
async fn a_run_cut_short_is_completed_by_the_next_and_one_bad_account_stops_nobody() {
    let app = spawn_app().await;
    let ids = accounts(&app, 200, "starter", AccountStatus::Active).await;
    let broken = accounts(&app, 1, "no-such-plan", AccountStatus::Active).await;
    // Crash: the run (one account at a time, in id order) is killed once the 50th has its credits.
    let services = app.services.clone();
    let crashed = tokio::spawn(async move { replenish::run(&services, "2031-03", 1).await });
    let store = app.services.store().await;
    let watched = replenish::marker_key(&ids[49], "2031-03");
    while store.get::<Value>(&watched).await.unwrap().is_none() {
        assert!(!crashed.is_finished(), "the run ended before it could be cut short");
        tokio::task::yield_now().await;
    }
    crashed.abort();
    let _ = crashed.await;
    let partial = futures_util::future::join_all(ids.iter().map(|id| app.credits(id))).await;
    assert!(partial.contains(&0) && partial.contains(&1000), "the crash left some accounts without credits");
    let resumed = run(&app, "2031-03").await;
    let message = resumed.expect_err("the broken account makes the run report a failure");
    assert!(message.contains("1 of 201"), "{message}");
    assert_each_credited_once(&app, &ids, 1000, "2031-03").await;
    assert_eq!(app.credits(&broken[0]).await, 0);
    let report = replenish::run(&app.services, "2031-03", 8).await.unwrap();
    assert_eq!((report.replenished, report.already_replenished, report.errors.len()), (0, 200, 1));
    assert!(report.errors[0].1.contains("unknown plan"));
}

#[tokio::test]
async fn a_thousand_accounts_are_replenished_in_pages() {
    let app = spawn_app().await;
    let ids = accounts(&app, 1000, "starter", AccountStatus::Active).await;
    let report = run(&app, "2031-04").await.unwrap();
    assert_eq!((report.total_accounts, report.replenished), (1000, 1000), "{report:?}");
    assert_each_credited_once(&app, &ids, 1000, "2031-04").await;
}
