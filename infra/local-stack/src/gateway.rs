//! A local stand-in for API Gateway (HTTP API, payload 2.0): routes by the template's `HttpApi`
//! events, answers CORS preflights from its `CorsConfiguration`, runs a route's Lambda authorizer
//! the way API Gateway does (identity headers required, simple responses, answers cached per
//! identity for `ReauthorizeEvery`), and hands each function the same event it receives in AWS. A
//! route missing from the template is missing here too.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::request::LambdaRequest;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::functions::{AuthorizerHandler, Handler};
use crate::template::{Authorizer, Cors, Route, Template};

/// The largest body that reaches a function: a synchronous Lambda invocation takes 6 MB.
const MAX_BODY: usize = 6 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("template route {method} {path} names binary {binary:?}, which the local stack does not link")]
    UnknownBinary { method: String, path: String, binary: String },
    #[error("authorizer {name} names binary {binary:?}, which the local stack does not link")]
    UnknownAuthorizer { name: String, binary: String },
}

/// An authorizer's answer for one identity, kept until `until`: the context it passes on, or
/// `None` for a refusal.
type Cached = (Instant, Option<Value>);

pub struct Gateway {
    routes: Vec<Route>,
    cors: Cors,
    handlers: HashMap<&'static str, Handler>,
    authorizers: HashMap<String, (Authorizer, AuthorizerHandler)>,
    /// Answers by authorizer and identity.
    cache: Mutex<HashMap<(String, Vec<String>), Cached>>,
    /// Replaces every authorizer's `ReauthorizeEvery` (tests that wait for a window to end).
    cache_window: Option<Duration>,
}

/// Why the authorizer stage stopped a request, as API Gateway answers it.
enum Refused {
    /// An identity header is missing or empty: 401, the authorizer not called.
    Unauthorized,
    /// The authorizer said no: 403.
    Forbidden,
    /// The authorizer failed or answered something else: 500.
    Failed,
}

/// A matched route and its path parameters.
struct Matched<'a> {
    route: &'a Route,
    params: HashMap<String, String>,
}

/// Matches `path` against a template path: `{name}` takes one segment, `{name+}` the rest.
fn match_path(template: &str, path: &str) -> Option<HashMap<String, String>> {
    let t: Vec<&str> = template.trim_start_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut params = HashMap::new();
    for (i, seg) in t.iter().enumerate() {
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix("+}")) {
            let rest = p.get(i..)?.join("/");
            if rest.is_empty() {
                return None;
            }
            params.insert(name.to_owned(), rest);
            return Some(params);
        }
        let actual = p.get(i)?;
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            if actual.is_empty() {
                return None;
            }
            params.insert(name.to_owned(), (*actual).to_owned());
        } else if seg != actual {
            return None;
        }
    }
    (t.len() == p.len()).then_some(params)
}

/// API Gateway's precedence: literal paths before parameters, parameters before greedy paths,
/// a method before `ANY`.
fn specificity(route: &Route) -> (bool, usize, usize, bool) {
    let segments: Vec<&str> = route.path.split('/').collect();
    let greedy = segments.iter().any(|s| s.ends_with("+}"));
    let literal = segments.iter().filter(|s| !s.starts_with('{')).count();
    (!greedy, literal, segments.len(), route.method != "ANY")
}

impl Gateway {
    /// The gateway of `template`'s HTTP API, calling `handlers` and `authorizers` by binary name.
    pub fn new(
        template: &Template,
        handlers: HashMap<&'static str, Handler>,
        authorizers: HashMap<&'static str, AuthorizerHandler>,
    ) -> Result<Self, GatewayError> {
        if let Some(r) = template.routes.iter().find(|r| !handlers.contains_key(r.binary.as_str())) {
            return Err(GatewayError::UnknownBinary {
                method: r.method.clone(),
                path: r.path.clone(),
                binary: r.binary.clone(),
            });
        }
        let authorizers = template
            .authorizers
            .iter()
            .map(|a| match authorizers.get(a.binary.as_str()) {
                Some(handler) => Ok((a.name.clone(), (a.clone(), Arc::clone(handler)))),
                None => Err(GatewayError::UnknownAuthorizer { name: a.name.clone(), binary: a.binary.clone() }),
            })
            .collect::<Result<HashMap<_, _>, _>>()?;
        let mut routes = template.routes.clone();
        routes.sort_by_key(|r| std::cmp::Reverse(specificity(r)));
        Ok(Self {
            routes,
            cors: template.cors.clone(),
            handlers,
            authorizers,
            cache: Mutex::new(HashMap::new()),
            cache_window: None,
        })
    }

    /// Caches every authorizer's answers for `window` instead of its `ReauthorizeEvery`.
    pub fn with_authorizer_cache(mut self, window: Duration) -> Self {
        self.cache_window = Some(window);
        self
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    fn find(&self, method: &Method, path: &str) -> Option<Matched<'_>> {
        self.routes.iter().find_map(|route| {
            if route.method != "ANY" && route.method != method.as_str() {
                return None;
            }
            match_path(&route.path, path).map(|params| Matched { route, params })
        })
    }

    fn allowed_origin(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        let origin = headers.get(http::header::ORIGIN)?;
        let allowed = self.cors.allow_origins.iter().any(|o| o == "*" || origin.to_str().is_ok_and(|v| v == o));
        allowed.then(|| origin.clone())
    }

    fn preflight(&self, headers: &HeaderMap) -> http::Response<Full<Bytes>> {
        let mut response = http::Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::NO_CONTENT;
        if let Some(origin) = self.allowed_origin(headers) {
            let h = response.headers_mut();
            h.insert("access-control-allow-origin", origin);
            let join = |v: &[String]| HeaderValue::from_str(&v.join(",")).ok();
            if let Some(v) = join(&self.cors.allow_methods) {
                h.insert("access-control-allow-methods", v);
            }
            if let Some(v) = join(&self.cors.allow_headers) {
                h.insert("access-control-allow-headers", v);
            }
            if let Some(age) = self.cors.max_age.and_then(|a| HeaderValue::from_str(&a.to_string()).ok()) {
                h.insert("access-control-max-age", age);
            }
            h.insert(http::header::VARY, HeaderValue::from_static("origin"));
        }
        response
    }

    /// Answers one HTTP request the way API Gateway would.
    pub async fn handle(&self, peer: SocketAddr, request: http::Request<Incoming>) -> http::Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        if parts.method == Method::OPTIONS && parts.headers.contains_key("access-control-request-method") {
            return self.preflight(&parts.headers);
        }
        let body = match Limited::new(body, MAX_BODY).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return too_large(),
        };
        let path = parts.uri.path().to_owned();
        let Some(matched) = self.find(&parts.method, &path) else {
            return plain(StatusCode::NOT_FOUND, r#"{"message":"Not Found"}"#);
        };
        let Some(handler) = self.handlers.get(matched.route.binary.as_str()) else {
            return plain(StatusCode::BAD_GATEWAY, r#"{"message":"Internal Server Error"}"#);
        };
        let mut event = api_gateway_event(&parts, &body, peer, &matched);
        if let Some(name) = &matched.route.authorizer {
            match self.authorize(name, &parts.headers, &event).await {
                Ok(context) => event["requestContext"]["authorizer"] = json!({ "lambda": context }),
                Err(Refused::Unauthorized) => return plain(StatusCode::UNAUTHORIZED, r#"{"message":"Unauthorized"}"#),
                Err(Refused::Forbidden) => return plain(StatusCode::FORBIDDEN, r#"{"message":"Forbidden"}"#),
                Err(Refused::Failed) => {
                    return plain(StatusCode::INTERNAL_SERVER_ERROR, r#"{"message":"Internal Server Error"}"#);
                }
            }
        }
        let request = match serde_json::from_value::<LambdaRequest>(event) {
            Ok(lambda_request) => lambda_http::Request::from(lambda_request),
            Err(_) => return plain(StatusCode::BAD_REQUEST, r#"{"message":"Bad Request"}"#),
        };
        let response = handler(request).await;
        let (mut out_parts, out_body) = response.into_parts();
        let bytes = match out_body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return plain(StatusCode::BAD_GATEWAY, r#"{"message":"Internal Server Error"}"#),
        };
        if let Some(origin) = self.allowed_origin(&parts.headers) {
            out_parts.headers.insert("access-control-allow-origin", origin);
            if let Ok(v) = HeaderValue::from_str(&self.cors.expose_headers.join(",")) {
                out_parts.headers.insert("access-control-expose-headers", v);
            }
            out_parts.headers.append(http::header::VARY, HeaderValue::from_static("origin"));
        }
        http::Response::from_parts(out_parts, Full::new(bytes))
    }
}

impl Gateway {
    /// Runs the route's authorizer (or takes its cached answer for the same identity): the
    /// context it passes to the function, or why the request stops here.
    async fn authorize(&self, name: &str, headers: &HeaderMap, event: &Value) -> Result<Value, Refused> {
        let (authorizer, handler) = self.authorizers.get(name).ok_or(Refused::Failed)?;
        let identity: Vec<String> = authorizer
            .identity_headers
            .iter()
            .map(|h| headers.get(h.as_str()).and_then(|v| v.to_str().ok()).filter(|v| !v.trim().is_empty()))
            .map(|v| v.map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or(Refused::Unauthorized)?;
        let cache_key = (name.to_owned(), identity.clone());
        let now = Instant::now();
        let cached = self.cache.lock().ok().and_then(|c| c.get(&cache_key).filter(|(until, _)| *until > now).cloned());
        let answer = match cached {
            Some((_, answer)) => answer,
            None => {
                let answer = match handler(authorizer_event(event, identity)).await {
                    Ok(response) => match response.get("isAuthorized").and_then(Value::as_bool) {
                        Some(true) => Some(response.get("context").cloned().unwrap_or_else(|| json!({}))),
                        Some(false) => None,
                        None => return Err(Refused::Failed),
                    },
                    // A failed authorizer is not cached.
                    Err(error) => {
                        tracing::error!(authorizer = name, %error, "the authorizer failed");
                        return Err(Refused::Failed);
                    }
                };
                let window = self.cache_window.unwrap_or(Duration::from_secs(authorizer.cache_seconds));
                if !window.is_zero()
                    && let Ok(mut cache) = self.cache.lock()
                {
                    cache.retain(|_, (until, _)| *until > now);
                    cache.insert(cache_key, (now + window, answer.clone()));
                }
                answer
            }
        };
        answer.ok_or(Refused::Forbidden)
    }
}

/// The authorizer's event (payload 2.0, `REQUEST`) for a request whose own event is `request`.
fn authorizer_event(request: &Value, identity: Vec<String>) -> Value {
    let mut event = request.clone();
    if let Some(fields) = event.as_object_mut() {
        fields.remove("body");
        fields.remove("isBase64Encoded");
        // API Gateway leaves out what the request does not have.
        fields.retain(|_, v| !v.is_null());
        fields.insert("type".into(), json!("REQUEST"));
        let route = request["routeKey"].as_str().unwrap_or_default().replacen(' ', "", 1);
        fields
            .insert("routeArn".into(), json!(format!("arn:aws:execute-api:local:000000000000:local/$default/{route}")));
        fields.insert("identitySource".into(), json!(identity));
    }
    event
}

/// A body over the limit: 413 in the API's envelope, with a request id like every answer.
fn too_large() -> http::Response<Full<Bytes>> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let body = igny8_domain::envelope::error_json(&igny8_domain::ApiError::PayloadTooLarge, &request_id);
    let mut response = http::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(id) = HeaderValue::from_str(&request_id) {
        headers.insert(igny8_domain::http::REQUEST_ID_HEADER, id);
    }
    response
}

fn plain(status: StatusCode, body: &'static str) -> http::Response<Full<Bytes>> {
    let mut response = http::Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The API Gateway HTTP API (payload format 2.0) event for one request.
fn api_gateway_event(parts: &http::request::Parts, body: &Bytes, peer: SocketAddr, matched: &Matched<'_>) -> Value {
    let mut headers: HashMap<String, String> = HashMap::new();
    let mut cookies = Vec::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == http::header::COOKIE {
            cookies.extend(value.split(';').map(|c| c.trim().to_owned()));
            continue;
        }
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push(',');
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let raw_query = parts.uri.query().unwrap_or_default();
    let mut query: HashMap<String, String> = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw_query.as_bytes()) {
        query
            .entry(k.into_owned())
            .and_modify(|e| {
                e.push(',');
                e.push_str(&v);
            })
            .or_insert_with(|| v.into_owned());
    }
    let route_key = format!("{} {}", matched.route.method, matched.route.path);
    let now = time_now_ms();
    let host = headers.get("host").cloned().unwrap_or_else(|| "localhost".into());
    json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": parts.uri.path(),
        "rawQueryString": raw_query,
        "cookies": if cookies.is_empty() { Value::Null } else { json!(cookies) },
        "headers": headers,
        "queryStringParameters": if query.is_empty() { Value::Null } else { json!(query) },
        "pathParameters": if matched.params.is_empty() { Value::Null } else { json!(matched.params) },
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": host,
            "domainPrefix": "local",
            "http": {
                "method": parts.method.as_str(),
                "path": parts.uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": peer.ip().to_string(),
                "userAgent": headers.get("user-agent").cloned().unwrap_or_default(),
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": route_key,
            "stage": "$default",
            "time": "",
            "timeEpoch": now,
        },
        "body": if body.is_empty() { Value::Null } else { json!(base64::engine::general_purpose::STANDARD.encode(body)) },
        "isBase64Encoded": !body.is_empty(),
    })
}

fn time_now_ms() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default()
}

/// Serves until `shutdown` resolves; connections already open finish their current request.
pub async fn serve(listener: TcpListener, gateway: Arc<Gateway>, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(err) => {
                    tracing::warn!(error = %err, "accept failed");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let gateway = Arc::clone(&gateway);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let gateway = Arc::clone(&gateway);
                async move { Ok::<_, Infallible>(gateway.handle(peer, request).await) }
            });
            if let Err(err) = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await {
                tracing::debug!(error = %err, "connection closed with an error");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: &str, path: &str) -> Route {
        Route { method: method.into(), path: path.into(), function: "F".into(), binary: "b".into(), authorizer: None }
    }

    #[test]
    fn path_matching() {
        assert!(match_path("/api/v1/auth/login/", "/api/v1/auth/login/").is_some());
        assert!(match_path("/api/v1/auth/login/", "/api/v1/auth/login").is_none());
        let p = match_path("/api/v1/auth/sites/{id}/", "/api/v1/auth/sites/42/").unwrap();
        assert_eq!(p["id"], "42");
        assert!(match_path("/api/v1/auth/sites/{id}/", "/api/v1/auth/sites//").is_none());
        let p = match_path("/{proxy+}", "/api/v1/nope/").unwrap();
        assert_eq!(p["proxy"], "api/v1/nope/");
    }

    #[test]
    fn precedence_prefers_literal_then_method() {
        let gateway = Gateway {
            routes: {
                let mut r = vec![
                    route("ANY", "/{proxy+}"),
                    route("GET", "/a/{id}/"),
                    route("GET", "/a/me/"),
                    route("ANY", "/a/me/"),
                ];
                r.sort_by_key(|r| std::cmp::Reverse(specificity(r)));
                r
            },
            cors: Cors::default(),
            handlers: HashMap::new(),
            authorizers: HashMap::new(),
            cache: Mutex::new(HashMap::new()),
            cache_window: None,
        };
        assert_eq!(gateway.find(&Method::GET, "/a/me/").unwrap().route.path, "/a/me/");
        assert_eq!(gateway.find(&Method::GET, "/a/me/").unwrap().route.method, "GET");
        assert_eq!(gateway.find(&Method::POST, "/a/me/").unwrap().route.method, "ANY");
        assert_eq!(gateway.find(&Method::GET, "/a/7/").unwrap().route.path, "/a/{id}/");
        assert_eq!(gateway.find(&Method::DELETE, "/b/").unwrap().route.path, "/{proxy+}");
    }
}
