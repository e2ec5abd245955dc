use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;

fn services() -> AppState {
    let config = Config::from_lookup(|k| match k {
        "TABLE_NAME" => Some("t".into()),
        "JWT_SECRET_ID" => Some("s".into()),
        _ => None,
    })
    .expect("config");
    Arc::new(Services::new(config))
}

async fn hello(ctx: Ctx) -> Reply {
    Reply::message(format!("hello {}", ctx.query().get("name").map(String::as_str).unwrap_or("-")))
}

async fn broken() -> Result<Reply, ApiError> {
    Err(ApiError::internal("db exploded: secret"))
}

async fn echo(RawBody(bytes): RawBody) -> Reply {
    Reply::raw("text/plain", bytes)
}

fn router() -> Router {
    let routes = Router::new()
        .route("/api/v1/t/hello/", get(hello))
        .route("/api/v1/t/broken/", get(broken))
        .route("/api/v1/t/echo/", axum::routing::post(echo));
    app(routes.fallback(not_found), services())
}

async fn call(request: Request<Body>) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    let response = router().oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.expect("body");
    (parts.status, parts.headers, bytes.to_vec())
}

fn get_request(uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder().method("GET").uri(uri);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    builder.body(Body::empty()).expect("request")
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("json")
}

#[tokio::test]
async fn request_id_is_echoed_when_sane_and_made_otherwise() {
    let (status, headers, body) = call(get_request("/api/v1/t/hello/?name=x", &[("x-request-id", "abc-123")])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-request-id"], "abc-123");
    assert_eq!(json_of(&body), json!({"success": true, "message": "hello x", "request_id": "abc-123"}));

    let (_, headers, body) = call(get_request("/api/v1/t/hello/", &[("x-request-id", "bad id with spaces")])).await;
    let id = headers["x-request-id"].to_str().expect("ascii");
    assert!(uuid::Uuid::parse_str(id).is_ok());
    assert_eq!(json_of(&body)["request_id"], json!(id));
}

#[test]
fn bearer_parsing() {
    let headers = |value: &str| {
        let mut map = http::HeaderMap::new();
        map.insert(http::header::AUTHORIZATION, value.parse().expect("header"));
        map
    };
    assert_eq!(extract::bearer(&headers("Bearer abc")), Some("abc"));
    assert_eq!(extract::bearer(&headers("bearer  abc ")), Some("abc"));
    assert_eq!(extract::bearer(&headers("Basic abc")), None);
    assert_eq!(extract::bearer(&headers("Bearer ")), None);
    assert_eq!(extract::bearer(&http::HeaderMap::new()), None);
}

#[tokio::test]
async fn errors_become_envelopes_with_status_and_no_detail() {
    let (status, headers, body) = call(get_request("/api/v1/t/broken/", &[])).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(headers["content-type"], "application/json");
    let id = headers["x-request-id"].to_str().expect("ascii").to_owned();
    assert_eq!(json_of(&body), json!({"success": false, "error": "Internal server error", "request_id": id}));
}

#[tokio::test]
async fn unknown_paths_are_404_and_other_methods_405_in_the_envelope() {
    let (status, _, body) = call(get_request("/api/v1/t/nothing/", &[])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(json_of(&body)["error"], json!("Resource not found"));

    let request = Request::builder().method("DELETE").uri("/api/v1/t/hello/").body(Body::empty()).expect("request");
    let (status, _, body) = call(request).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(json_of(&body)["error"], json!("Method not allowed"));
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_before_the_handler() {
    let request = Request::builder()
        .method("POST")
        .uri("/api/v1/t/echo/")
        .body(Body::from(vec![b'x'; MAX_BODY_BYTES + 1]))
        .expect("request");
    let (status, _, body) = call(request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json_of(&body)["error"], json!("Request body too large"));

    let request = Request::builder().method("POST").uri("/api/v1/t/echo/").body(Body::from("abc")).expect("request");
    let (status, headers, body) = call(request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/plain");
    assert_eq!(body, b"abc");
}

/// Every module serves exactly what it documents: each path of its document is routed (another
/// method is a 405, not the fallback's 404), and each operation that needs a token reaches its
/// handler's authentication (401), not a 405.
#[tokio::test]
async fn each_module_serves_the_operations_it_documents() {
    let modules = [
        crate::accounts::routes::MODULE,
        crate::account::routes::MODULE,
        crate::planner::routes::MODULE,
        crate::writer::routes::MODULE,
        crate::billing::routes::MODULE,
        crate::system::routes::MODULE,
    ];
    for module in modules {
        let document = serde_json::to_value(module.openapi()).expect("document");
        let paths = document["paths"].as_object().expect("paths");
        assert!(!paths.is_empty(), "{} documents nothing", module.tag);
        for (path, item) in paths {
            let uri = path
                .split('/')
                .map(|s| if s.starts_with('{') { "01a20875-2d27-70c3-bb02-f33fec943b01" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            let send = |method: &str| {
                let request = Request::builder().method(method).uri(&uri).body(Body::empty()).expect("request");
                module.router(services()).oneshot(request)
            };
            let other = send("TRACE").await.expect("infallible");
            assert_eq!(other.status(), StatusCode::METHOD_NOT_ALLOWED, "{} {path} is not routed", module.tag);
            for (method, op) in item.as_object().expect("item") {
                let public = op["security"]
                    .as_array()
                    .is_some_and(|s| s.iter().all(|r| r.as_object().is_some_and(|o| o.is_empty())));
                if public {
                    continue;
                }
                let answer = send(&method.to_uppercase()).await.expect("infallible");
                assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "{method} {path} of {}", module.tag);
            }
        }
    }
}
