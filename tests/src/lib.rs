//! Test harness: each test gets its own resources (table, secret, queues, bucket) on the
//! AWS-compatible endpoint named by `AWS_ENDPOINT_URL`, and its own gateway on a free loopback
//! port, serving the routes of `template.yaml` exactly as `local-gateway` does.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use igny8_domain::ai::RetryPolicy;
use local_stack::bootstrap::{Provisioned, bootstrap, local_sdk_config};
use local_stack::gateway::{Gateway, serve};
use local_stack::template::{Template, logical_ids};
use local_stack::{LocalNames, functions};
use provider_test_server::ProviderTestServer;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

pub mod field_limits;
pub mod jobs;
pub mod lambda;
pub mod wordpress;

pub const PASSWORD: &str = "correct horse battery";

/// The endpoint the tests run against; the test command starts it and exports this variable.
pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").expect(
        "AWS_ENDPOINT_URL is not set: run the tests with ./scripts/test.sh, which starts the local AWS endpoint",
    )
}

pub struct TestApp {
    pub base: String,
    /// The provider test server the AI functions talk to.
    pub provider: ProviderTestServer,
    /// The domain services over this test's resources (to seed records and submit jobs).
    pub services: Arc<igny8_domain::Services>,
    pub sqs: aws_sdk_sqs::Client,
    pub client: reqwest::Client,
    pub provisioned: Provisioned,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    /// The access token of a platform user (developer role), made on first use.
    platform: tokio::sync::OnceCell<String>,
}

/// An HTTP answer: status, headers and the JSON body (`Value::Null` when the body is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    /// The messages of one field of the envelope's `errors`.
    pub fn field_errors(&self, field: &str) -> Vec<String> {
        self.body["errors"][field]
            .as_array()
            .map(|a| a.iter().filter_map(|m| m.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }

    /// Asserts the error envelope: status, `success: false`, the message, and a request id that
    /// matches the `X-Request-ID` header.
    #[track_caller]
    pub fn assert_error(&self, status: u16, error: &str) {
        assert_eq!(self.status, status, "unexpected status, body {}", self.body);
        assert_eq!(self.body["success"], json!(false), "body {}", self.body);
        assert_eq!(self.body["error"], json!(error), "body {}", self.body);
        self.assert_request_id();
    }

    #[track_caller]
    pub fn assert_request_id(&self) {
        let header = self.headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(!header.is_empty(), "no X-Request-ID header");
        assert_eq!(self.body["request_id"], json!(header));
    }
}

/// An account owner with a site and a sector, as most module tests start.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub token: String,
    pub account_id: String,
    pub user_id: String,
    pub site: String,
    pub sector: String,
}

/// Tokens from a login.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

/// The SDK configuration of the local endpoint.
pub async fn sdk_config() -> aws_config::SdkConfig {
    local_sdk_config(&endpoint()).await
}

/// How long the test gateway caches an authorizer's answer: the template's 5 minutes scaled down,
/// so that a test sees a cached answer end.
pub const AUTHORIZER_CACHE: std::time::Duration = std::time::Duration::from_secs(2);

/// Rates so high that no test meets them unless it means to.
pub const RELAXED_RATES: &str = "*=100000/min";

/// A fresh app whose throttle never gets in the way.
pub async fn spawn_app() -> TestApp {
    spawn_app_with_rates(RELAXED_RATES).await
}

/// A fresh app with the production rates, overridden by `rates` (`scope=N/unit,...`).
pub async fn spawn_app_with_rates(rates: &str) -> TestApp {
    spawn_app_configured(rates, |_| {}).await
}

/// A fresh app whose configuration `configure` changes after the bootstrap (e.g. a deployment
/// that is not a local one).
pub async fn spawn_app_configured(rates: &str, configure: impl FnOnce(&mut igny8_domain::Config)) -> TestApp {
    spawn(rates, configure, igny8_domain::modules::ai_functions()).await
}

/// A fresh app whose workers run the AI functions of `functions` (the modules' own and any a test
/// adds).
pub async fn spawn_app_with_functions(functions: igny8_domain::ai::Registry) -> TestApp {
    spawn(RELAXED_RATES, |_| {}, functions).await
}

async fn spawn(
    rates: &str,
    configure: impl FnOnce(&mut igny8_domain::Config),
    functions: igny8_domain::ai::Registry,
) -> TestApp {
    let endpoint = endpoint();
    let template = Template::load_default().expect("template.yaml parses");
    let names = LocalNames::unique();
    let mut provisioned = bootstrap(&endpoint, &names, &template).await.expect("bootstrap on the local endpoint");
    provisioned.config.throttle =
        igny8_domain::throttle::Rates::from_config(Some(rates)).expect("valid throttle rates");
    let provider = ProviderTestServer::start().await.expect("start the provider test server");
    provisioned.config.provider_test_server_url = Some(provider.base_url());
    provisioned.config.provider_retry = RetryPolicy {
        attempts: 3,
        base_delay: std::time::Duration::from_millis(20),
        max_delay: std::time::Duration::from_millis(200),
        timeout: std::time::Duration::from_secs(10),
    };
    // Pagination links point at this gateway, as `local-gateway` makes them.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("bound address"));
    provisioned.config.public_base_url = Some(base.clone());
    configure(&mut provisioned.config);
    let sdk = local_sdk_config(&endpoint).await;
    let handlers = functions::handlers(&provisioned.config, &sdk);
    let workers = functions::sqs_handlers(&provisioned.config, &sdk, functions);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    local_stack::workers::start_all(&template, &provisioned.queue_urls, &workers, &sqs)
        .expect("start the queue workers");
    let services = Arc::new(igny8_domain::Services::with_sdk_config(provisioned.config.clone(), sdk.clone()));
    let authorizers = functions::authorizer_handlers(&provisioned.config, &sdk);
    let gateway = Gateway::new(&template, handlers, authorizers)
        .expect("every template route has a handler")
        .with_authorizer_cache(AUTHORIZER_CACHE);
    tokio::spawn(serve(listener, Arc::new(gateway), std::future::pending()));
    TestApp {
        base,
        provider,
        services,
        sqs,
        client: reqwest::Client::new(),
        dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
        secrets: aws_sdk_secretsmanager::Client::new(&sdk),
        provisioned,
        platform: tokio::sync::OnceCell::new(),
    }
}

impl TestApp {
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("request reaches the gateway");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("response body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer { status, headers, body }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(&self, path: &str, body: &Value, token: Option<&str>) -> Answer {
        let mut request = self.client.post(self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        self.send(request).await
    }

    pub async fn post_raw(&self, path: &str, body: &'static str) -> Answer {
        self.send(self.client.post(self.url(path)).header("content-type", "application/json").body(body)).await
    }

    /// Any method, with an optional JSON body and token.
    pub async fn call(&self, method: &str, path: &str, body: Option<&Value>, token: Option<&str>) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let mut request = self.client.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        self.send(request).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        self.send(request).await
    }

    pub async fn register(&self, email: &str) -> Answer {
        self.post("/api/v1/auth/register/", &json!({"email": email, "password": PASSWORD}), None).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Answer {
        self.post("/api/v1/auth/login/", &json!({"email": email, "password": password}), None).await
    }

    /// The access token of the platform's operator (a developer of its own account), made once.
    pub async fn platform_token(&self) -> String {
        self.platform
            .get_or_init(|| async {
                let email = "operator@platform.igny8.example";
                let registered = self.register(email).await;
                assert_eq!(registered.status, 201, "{}", registered.body);
                let user = &registered.data()["user"];
                let (account, id) = (user["account"]["id"].as_str(), user["id"].as_str());
                self.make_role(account.unwrap_or_default(), id.unwrap_or_default(), "developer").await;
                let login = self.login(email, PASSWORD).await;
                login.data()["access"].as_str().unwrap_or_default().to_owned()
            })
            .await
            .clone()
    }

    /// A new account and its owner from a registration body. Self-registration is on the free
    /// plan only; an account on a paid plan (`plan_id` other than `free`) is created by the
    /// platform (`POST /api/v1/auth/accounts/`), as a confirmed purchase or an operator would.
    /// Answers like registration: 201 with `data.user` (and its account).
    pub async fn register_on_plan(&self, body: Value) -> Answer {
        let plan = body["plan_id"].as_str().unwrap_or("free");
        if plan == "free" {
            return self.post("/api/v1/auth/register/", &body, None).await;
        }
        let token = self.platform_token().await;
        let created = self.post("/api/v1/auth/accounts/", &body, Some(&token)).await;
        if created.status != 201 {
            return created;
        }
        let email = body["email"].as_str().unwrap_or_default();
        let password = body["password"].as_str().unwrap_or_default();
        let login = self.login(email, password).await;
        Answer {
            status: created.status,
            headers: login.headers,
            body: json!({"success": true, "data": {"user": login.body["data"]["user"]}}),
        }
    }

    /// An owner of a new account on `plan`, with one site and one sector.
    pub async fn tenant(&self, email: &str, plan: &str) -> Tenant {
        let reg = self.register_on_plan(json!({"email": email, "password": PASSWORD, "plan_id": plan})).await;
        assert_eq!(reg.status, 201, "{}", reg.body);
        let user = &reg.data()["user"];
        let token = self.login(email, PASSWORD).await.data()["access"].as_str().unwrap_or_default().to_owned();
        let site = self
            .post("/api/v1/auth/sites/", &json!({"name": "Clinic", "industry_id": "healthcare"}), Some(&token))
            .await;
        let site = site.data()["id"].as_str().unwrap_or_default().to_owned();
        let sector =
            self.post("/api/v1/auth/sectors/", &json!({"site_id": site, "name": "Dental"}), Some(&token)).await;
        Tenant {
            token,
            account_id: user["account"]["id"].as_str().unwrap_or_default().into(),
            user_id: user["id"].as_str().unwrap_or_default().into(),
            site,
            sector: sector.data()["id"].as_str().unwrap_or_default().into(),
        }
    }

    /// Polls `task_progress/` until the job is settled; answers its progress. A job that ends in
    /// SUCCESS has done every part, at 100 percent, whatever its function.
    pub async fn settled(&self, token: &str, task_id: &str) -> Value {
        for _ in 0..600 {
            let answer = self.get(&format!("/api/v1/system/settings/task_progress/{task_id}/"), Some(token)).await;
            assert_eq!(answer.status, 200, "{}", answer.body);
            let state = answer.data()["state"].as_str().unwrap_or_default().to_owned();
            if state == "SUCCESS" {
                let meta = &answer.data()["meta"];
                assert_eq!(meta["parts_done"], meta["parts_total"], "SUCCESS with parts left: {}", answer.body);
                assert_eq!(meta["percentage"], json!(100), "SUCCESS below 100%: {}", answer.body);
            }
            if state == "SUCCESS" || state == "FAILURE" {
                return answer.data().clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("job {task_id} did not settle");
    }

    /// Waits until the queue holds no message, visible or in flight; answers whether it did
    /// within 10 seconds.
    pub async fn queue_drained(&self, queue_url: &str) -> bool {
        use aws_sdk_sqs::types::QueueAttributeName;
        for _ in 0..100 {
            let attributes = self
                .sqs
                .get_queue_attributes()
                .queue_url(queue_url)
                .attribute_names(QueueAttributeName::All)
                .send()
                .await
                .expect("queue attributes")
                .attributes
                .unwrap_or_default();
            let count = |name: &QueueAttributeName| attributes.get(name).map(String::as_str) == Some("0");
            if count(&QueueAttributeName::ApproximateNumberOfMessages)
                && count(&QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        false
    }

    /// Whether the queued sector purges are all done (their queue drained by the local worker).
    pub async fn purges_done(&self) -> bool {
        let queue = self.services.config.purge_queue_url.clone().expect("the purge queue");
        self.queue_drained(&queue).await
    }

    /// The sum of an account's ledger.
    pub async fn ledger_sum(&self, account_id: &str) -> i64 {
        let items = self.partitions(&[format!("ACCOUNT#{account_id}")]).await;
        items
            .iter()
            .filter(|i| i["SK"].as_s().is_ok_and(|sk| sk.starts_with("LEDGER#")))
            .filter_map(|i| i["amount"].as_n().ok()?.parse::<i64>().ok())
            .sum()
    }

    /// The first message that reaches the dead-letter queue `logical_id` within 5 s.
    pub async fn dlq_message(&self, logical_id: &str) -> Option<String> {
        let dlq = self.provisioned.queue_urls.get(logical_id)?.clone();
        for _ in 0..50 {
            let out = self.sqs.receive_message().queue_url(&dlq).send().await.ok()?;
            if let Some(message) = out.messages.unwrap_or_default().into_iter().next() {
                return message.body;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        None
    }

    /// The keys of the objects the images bucket holds under an account's prefix.
    pub async fn objects(&self, account_id: &str) -> Vec<String> {
        let Some(bucket) = self.services.config.images_bucket.clone() else {
            return Vec::new();
        };
        let s3 = self.services.s3().await;
        let listed = s3.list_objects_v2().bucket(bucket).prefix(format!("accounts/{account_id}/")).send().await;
        listed.map(|l| l.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect()).unwrap_or_default()
    }

    /// An account's balance.
    pub async fn credits(&self, account_id: &str) -> i64 {
        let key = igny8_domain::store::Key::account(account_id);
        let account: Option<igny8_domain::accounts::Account> =
            self.services.store().await.get(&key).await.unwrap_or_default();
        account.map_or(0, |a| a.credits)
    }

    /// Registers `email` and logs in.
    pub async fn signed_up(&self, email: &str) -> Tokens {
        assert_eq!(self.register(email).await.status, 201);
        let login = self.login(email, PASSWORD).await;
        assert_eq!(login.status, 200, "{}", login.body);
        Tokens {
            access: login.data()["access"].as_str().unwrap_or_default().to_owned(),
            refresh: login.data()["refresh"].as_str().unwrap_or_default().to_owned(),
        }
    }

    /// Every data item of this test's table, sorted by key: to show that a failed request changed
    /// nothing. Rate-limit counters (`THROTTLE#...`) are left out: every request counts, by design.
    /// (A test-only scan; no request path scans.)
    pub async fn snapshot(&self) -> Vec<HashMap<String, AttributeValue>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .dynamodb
                .scan()
                .table_name(&self.provisioned.config.table_name)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan the test table");
            items.extend(
                out.items
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|i| !i.get("PK").and_then(|v| v.as_s().ok()).is_some_and(|pk| pk.starts_with("THROTTLE#"))),
            );
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        let key = |i: &HashMap<String, AttributeValue>| {
            let s = |k: &str| i.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            (s("PK"), s("SK"))
        };
        items.sort_by_key(key);
        items
    }

    /// The items of the given partitions (e.g. `ACCOUNT#<id>`, or a sector's
    /// `ACCOUNT#<id>#SECTOR#<id>`), on the table and on GSI1 (where a sector's records are
    /// indexed), each once, in key order: a cheaper snapshot than [`TestApp::snapshot`] when only
    /// some tenants matter.
    pub async fn partitions(&self, pks: &[String]) -> Vec<HashMap<String, AttributeValue>> {
        let mut found: std::collections::BTreeMap<(String, String), HashMap<String, AttributeValue>> =
            std::collections::BTreeMap::new();
        for pk in pks {
            for (index, key) in [(None, "PK"), (Some("GSI1"), "GSI1PK")] {
                let mut start = None;
                loop {
                    let out = self
                        .dynamodb
                        .query()
                        .table_name(&self.provisioned.config.table_name)
                        .set_index_name(index.map(str::to_owned))
                        .key_condition_expression("#pk = :pk")
                        .expression_attribute_names("#pk", key)
                        .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                        .consistent_read(index.is_none())
                        .set_exclusive_start_key(start)
                        .send()
                        .await
                        .expect("query the test table");
                    for item in out.items.unwrap_or_default() {
                        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                        found.insert((text("PK"), text("SK")), item);
                    }
                    match out.last_evaluated_key {
                        Some(key) if !key.is_empty() => start = Some(key),
                        _ => break,
                    }
                }
            }
        }
        found.into_values().collect()
    }

    /// Gives a user a role directly in the table: the platform roles (developer, system_bot) are
    /// never given through the API to the first platform user, so tests set them up this way.
    pub async fn make_role(&self, account_id: &str, user_id: &str, role: &str) {
        let (pk, sk) = (format!("ACCOUNT#{account_id}"), format!("USER#{user_id}"));
        self.set_raw(&pk, &sk, "SET #role = :v", &[("#role", "role")], role).await;
    }

    /// Runs `expression` (with `:v` = `value`) on one item directly in the table: for what the API
    /// never writes, which a test must stage.
    pub async fn set_raw(&self, pk: &str, sk: &str, expression: &str, names: &[(&str, &str)], value: &str) {
        let mut update = self
            .dynamodb
            .update_item()
            .table_name(&self.provisioned.config.table_name)
            .key("PK", AttributeValue::S(pk.to_owned()))
            .key("SK", AttributeValue::S(sk.to_owned()))
            .update_expression(expression)
            .expression_attribute_values(":v", AttributeValue::S(value.to_owned()));
        for (placeholder, name) in names {
            update = update.expression_attribute_names(*placeholder, *name);
        }
        update.send().await.expect("update the item directly");
    }

    /// The raw bytes of this test's JWT signing key, read from Secrets Manager.
    pub async fn signing_key(&self) -> Vec<u8> {
        let secret = self
            .secrets
            .get_secret_value()
            .secret_id(self.provisioned.names.secret(logical_ids::JWT_SIGNING_KEY))
            .send()
            .await
            .expect("read the signing key");
        base64::engine::general_purpose::STANDARD
            .decode(secret.secret_string().unwrap_or_default())
            .expect("the signing key is base64")
    }
}

/// The claims of a token, decoded without verification (to forge variants of it in tests).
pub fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

/// Keyword `i` of a benchmark's sector: heads, volumes, difficulties, intents and statuses cycle.
pub fn bench_keyword(t: &Tenant, sector: &str, i: usize, cluster: Option<&str>) -> igny8_domain::planner::Keyword {
    let heads = ["implants", "braces", "whitening", "veneers", "crowns", "fillings", "dentures", "aligners"];
    igny8_domain::planner::Keyword {
        id: igny8_domain::ids::new_id(),
        account_id: t.account_id.clone(),
        site_id: t.site.clone(),
        sector_id: sector.to_owned(),
        keyword: format!("bench {i} {}", heads[i % heads.len()]),
        volume: (i * 37 % 10_000) as u32,
        difficulty: (i % 100) as u32,
        intent: ["informational", "commercial", "transactional", "navigational"][i % 4].into(),
        status: ["active", "pending", "archived"][i % 3].into(),
        cluster_id: cluster.map(str::to_owned),
        seed_keyword_id: None,
        created_at: time::OffsetDateTime::now_utc(),
    }
}
