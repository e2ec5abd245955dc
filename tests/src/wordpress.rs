//! The real WordPress the test command starts on loopback (`scripts/wordpress.sh`): its address
//! and users from the environment, a direct look at its REST API (what a test asserts publishing
//! left there), and a faulty stand-in in front of it (a site answering 500, or one whose answer
//! to a post's creation comes too late).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::Value;

/// A variable `scripts/wordpress.sh env` sets; its absence fails the test, saying how to start it.
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests with ./scripts/test.sh, which starts WordPress (scripts/wordpress.sh start; then eval \"$(scripts/wordpress.sh env)\")")
    })
}

/// The test WordPress and its users: (user name, application password).
#[derive(Debug, Clone)]
pub struct WordPress {
    pub url: String,
    pub admin: (String, String),
    pub author: (String, String),
    pub contributor: (String, String),
}

pub fn wordpress() -> WordPress {
    WordPress {
        url: env("WORDPRESS_URL"),
        admin: (env("WORDPRESS_ADMIN_USER"), env("WORDPRESS_ADMIN_APP_PASSWORD")),
        author: (env("WORDPRESS_AUTHOR_USER"), env("WORDPRESS_AUTHOR_APP_PASSWORD")),
        contributor: (env("WORDPRESS_CONTRIBUTOR_USER"), env("WORDPRESS_CONTRIBUTOR_APP_PASSWORD")),
    }
}

impl WordPress {
    /// `GET /wp-json/wp/v2/<path>` as the admin, in the edit context.
    pub async fn get(&self, path: &str) -> Value {
        let separator = if path.contains('?') { '&' } else { '?' };
        let url = format!("{}/wp-json/wp/v2/{path}{separator}context=edit", self.url);
        let answer = reqwest::Client::new()
            .get(url)
            .basic_auth(&self.admin.0, Some(&self.admin.1))
            .send()
            .await
            .expect("WordPress answers");
        answer.json().await.expect("JSON from WordPress")
    }

    /// Every post (any status) whose title is exactly `title`.
    pub async fn posts_titled(&self, title: &str) -> Vec<Value> {
        let search: String = url::form_urlencoded::byte_serialize(title.as_bytes()).collect();
        let found =
            self.get(&format!("posts?search={search}&status=publish,future,draft,pending,private&per_page=100")).await;
        found.as_array().cloned().unwrap_or_default().into_iter().filter(|p| p["title"]["raw"] == title).collect()
    }
}

/// What the stand-in does.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Every request: 500.
    ServerError,
    /// Forwards to WordPress, but answers the first post creation (`POST /wp-json/wp/v2/posts`)
    /// only after WordPress made it and `delay` has passed.
    SlowFirstPost(Duration),
}

struct Proxy {
    target: String,
    fault: Fault,
    posts: AtomicUsize,
    client: reqwest::Client,
}

/// A faulty site on a loopback port: its base URL.
pub async fn faulty_site(target: &str, fault: Fault) -> String {
    let proxy = Arc::new(Proxy {
        target: target.trim_end_matches('/').to_owned(),
        fault,
        posts: AtomicUsize::new(0),
        client: reqwest::Client::new(),
    });
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let app = app.clone();
            let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                use tower::ServiceExt;
                app.clone().oneshot(request.map(Body::new))
            });
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
            });
        }
    });
    base
}

async fn forward(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    if let Fault::ServerError = proxy.fault {
        return Response::builder()
            .status(500)
            .body(Body::from(r#"{"code":"boom","message":"Internal error"}"#))
            .unwrap_or_default();
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024 * 1024).await.unwrap_or_default();
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut outbound =
        proxy.client.request(parts.method.clone(), format!("{}{path}", proxy.target)).body(bytes.to_vec());
    for (name, value) in &parts.headers {
        if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
            outbound = outbound.header(name, value);
        }
    }
    let Ok(answer) = outbound.send().await else {
        return Response::builder().status(502).body(Body::empty()).unwrap_or_default();
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let body = answer.bytes().await.unwrap_or_default();
    let creates_post = parts.method == http::Method::POST && parts.uri.path() == "/wp-json/wp/v2/posts";
    if let Fault::SlowFirstPost(delay) = proxy.fault
        && creates_post
        && proxy.posts.fetch_add(1, Ordering::SeqCst) == 0
    {
        tokio::time::sleep(delay).await;
    }
    let mut response = Response::builder().status(status);
    for (name, value) in &headers {
        if name != http::header::TRANSFER_ENCODING && name != http::header::CONTENT_LENGTH {
            response = response.header(name, value);
        }
    }
    response.body(Body::from(body)).unwrap_or_default()
}
