//! The request pipeline every function shares: request id (taken from `X-Request-ID` or made),
//! the unified envelope, error mapping, and one JSON log line per request.

use std::collections::HashMap;
use std::time::Instant;

use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderName, HeaderValue, Method, StatusCode};
use lambda_http::{Body as LambdaBody, Request, RequestExt, Response};
use serde_json::Value;

use crate::accounts::Principal;
use crate::envelope::{self, Body};
use crate::pagination::{Page, PageRequest};
use crate::{ApiError, Config, Services, throttle};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The largest request body a function reads (2 MiB): room for the largest documented field (an
/// article's HTML) and a keyword CSV of the most rows an import takes. A larger body is a 413 in
/// the envelope before any handler runs.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// A successful answer: status, body and extra headers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Body,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Reply {
    fn new(status: StatusCode, body: Body) -> Self {
        Self { status, body, headers: Vec::new() }
    }

    /// 200 with `data`.
    pub fn ok(data: Value) -> Self {
        Self::new(StatusCode::OK, Body::Data { data: Some(data), message: None })
    }

    /// 201 with `data`.
    pub fn created(data: Value) -> Self {
        Self::new(StatusCode::CREATED, Body::Data { data: Some(data), message: None })
    }

    /// 200 with only a message.
    pub fn message(message: impl Into<String>) -> Self {
        Self::new(StatusCode::OK, Body::Data { data: None, message: Some(message.into()) })
    }

    /// 200 with `task_id` at the top, as the original's AI actions answer, and `data`.
    pub fn queued(task_id: impl Into<String>, data: Value) -> Self {
        Self::new(StatusCode::OK, Body::Queued { task_id: task_id.into(), data, message: None })
    }

    /// The answer of an action that queued an AI job.
    pub fn job(job: &crate::jobs::Job) -> Self {
        Self::queued(job.id.clone(), crate::jobs::queued_json(job)).with_message("Job queued")
    }

    /// 200 with a page of results.
    pub fn page(page: Page<Value>) -> Self {
        Self::new(StatusCode::OK, Body::Page { page, message: None })
    }

    /// 204 without a body.
    pub fn no_content() -> Self {
        Self::new(StatusCode::NO_CONTENT, Body::Empty)
    }

    /// A non-JSON download.
    pub fn raw(content_type: impl Into<String>, bytes: Vec<u8>) -> Self {
        Self::new(StatusCode::OK, Body::Raw { content_type: content_type.into(), bytes })
    }

    /// Adds (or replaces) the envelope's `message`.
    pub fn with_message(mut self, text: impl Into<String>) -> Self {
        match &mut self.body {
            Body::Data { message, .. } | Body::Page { message, .. } | Body::Queued { message, .. } => {
                *message = Some(text.into())
            }
            Body::Raw { .. } | Body::Empty => {}
        }
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// JSON is text: API Gateway passes it through without base64.
fn json_body(bytes: Vec<u8>) -> LambdaBody {
    match String::from_utf8(bytes) {
        Ok(text) => LambdaBody::Text(text),
        Err(err) => LambdaBody::Binary(err.into_bytes()),
    }
}

/// One request as the handlers see it.
#[derive(Debug)]
pub struct RequestCtx {
    pub request_id: String,
    method: Method,
    path: String,
    raw_query: Option<String>,
    query: HashMap<String, String>,
    headers: http::HeaderMap,
    body: Vec<u8>,
    started: Instant,
    route: Option<String>,
    account_id: Option<String>,
    user_id: Option<String>,
    public_base_url: Option<String>,
    client_ip: String,
    /// Headers every answer carries (the throttle's).
    extra_headers: Vec<(HeaderName, HeaderValue)>,
}

fn valid_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

impl RequestCtx {
    pub fn new(req: Request, config: &Config) -> Self {
        let started = Instant::now();
        let query =
            req.query_string_parameters().iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect::<HashMap<_, _>>();
        let client_ip = match req.request_context_ref() {
            Some(lambda_http::request::RequestContext::ApiGatewayV2(c)) => c.http.source_ip.clone(),
            _ => None,
        }
        .unwrap_or_else(|| "unknown".into());
        let (parts, body) = req.into_parts();
        let request_id = parts
            .headers
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|id| valid_request_id(id))
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let body = match body {
            LambdaBody::Empty => Vec::new(),
            LambdaBody::Text(text) => text.into_bytes(),
            LambdaBody::Binary(bytes) => bytes,
            _ => Vec::new(),
        };
        Self {
            request_id,
            method: parts.method,
            path: parts.uri.path().to_owned(),
            raw_query: parts.uri.query().map(str::to_owned),
            query,
            headers: parts.headers,
            body,
            started,
            route: None,
            account_id: None,
            user_id: None,
            public_base_url: config.public_base_url.clone(),
            client_ip,
            extra_headers: Vec::new(),
        }
    }

    /// Counts this request against `scope` for the caller (the user, or the client IP when
    /// anonymous); over the limit it is a 429. The `X-Throttle-*` headers go on the answer either way.
    pub async fn throttle(
        &mut self,
        services: &Services,
        scope: &str,
        user: Option<&crate::accounts::User>,
    ) -> Result<(), ApiError> {
        if user.is_some_and(|u| throttle::BYPASS_ROLES.contains(&u.role)) {
            return Ok(());
        }
        let identity = match user {
            Some(u) => format!("user:{}", u.id),
            None => format!("ip:{}", self.client_ip),
        };
        let status = throttle::hit(
            services.store().await,
            &services.config.throttle,
            scope,
            &identity,
            time::OffsetDateTime::now_utc(),
        )
        .await?;
        self.extra_headers.extend(status.headers());
        if status.exceeded { Err(ApiError::Throttled) } else { Ok(()) }
    }

    /// Finds the route of this request among `routes` (patterns below `prefix`): 404 when no
    /// pattern matches, 405 when the pattern does not take this method. Names the route for the
    /// log line and answers the pattern, its parameters and the method.
    pub fn route(
        &mut self,
        prefix: &str,
        routes: &[&'static str],
        methods: fn(&str) -> &'static [&'static str],
    ) -> Result<(&'static str, Params, String), ApiError> {
        let rest = self.path_under(prefix).ok_or_else(ApiError::not_found)?;
        let (pattern, params) = find_route(routes, &rest).ok_or_else(ApiError::not_found)?;
        let method = self.method.as_str().to_owned();
        if !methods(pattern).contains(&method.as_str()) {
            return Err(ApiError::MethodNotAllowed);
        }
        self.set_route(format!("{method} {prefix}{pattern}"));
        Ok((pattern, params, method))
    }

    /// Authenticates the bearer token, counts the request against `scope` for the user and
    /// resolves the account it acts on.
    pub async fn caller(&mut self, services: &Services, scope: &str) -> Result<crate::access::Caller, ApiError> {
        let principal = crate::accounts::authenticate(services, self.bearer()).await?;
        self.set_principal(&principal);
        self.throttle(services, scope, Some(&principal.user)).await?;
        crate::access::Caller::resolve(services, principal, &self.query).await
    }

    /// Answers one page of `items` (the full, ordered result) as `page`/`page_size` ask.
    pub fn page(&self, items: Vec<Value>) -> Result<Reply, ApiError> {
        let request = PageRequest::from_query(&self.query)?;
        Ok(Reply::page(request.paginate(items, &self.links())?))
    }

    pub fn method(&self) -> &Method {
        &self.method
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn query(&self) -> &HashMap<String, String> {
        &self.query
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The token of an `Authorization: Bearer <token>` header.
    pub fn bearer(&self) -> Option<&str> {
        let value = self.headers.get(AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
    }

    /// The rest of the path below `prefix`, if the path starts with it.
    pub fn path_under(&self, prefix: &str) -> Option<String> {
        self.path.strip_prefix(prefix).map(str::to_owned)
    }

    /// Names the matched route for the request log line (`POST /api/v1/auth/login/`).
    pub fn set_route(&mut self, route: impl Into<String>) {
        self.route = Some(route.into());
    }

    /// Records who is calling, for the request log line.
    pub fn set_principal(&mut self, principal: &Principal) {
        self.account_id = Some(principal.account.id.clone());
        self.user_id = Some(principal.user.id.clone());
    }

    /// Where this request's list lives, for pagination links: under the configured public URL,
    /// or relative. Never from the `Host` or `X-Forwarded-*` headers, which a client controls.
    pub fn links(&self) -> crate::pagination::Links {
        crate::pagination::Links::new(self.public_base_url.as_deref(), &self.path, self.raw_query.as_deref())
    }

    /// Turns the handler's result into the HTTP response and writes the request's log line.
    pub fn finish(self, result: Result<Reply, ApiError>) -> Response<LambdaBody> {
        let (status, content_type, body, extra) = match &result {
            Ok(reply) => match &reply.body {
                Body::Raw { content_type, bytes } => {
                    (reply.status, Some(content_type.as_str()), LambdaBody::Binary(bytes.clone()), &reply.headers[..])
                }
                Body::Empty => (reply.status, None, LambdaBody::Empty, &reply.headers[..]),
                body => (
                    reply.status,
                    Some("application/json"),
                    json_body(envelope::success_json(body, &self.request_id).unwrap_or_default()),
                    &reply.headers[..],
                ),
            },
            Err(err) => (
                err.status(),
                Some("application/json"),
                json_body(envelope::error_json(err, &self.request_id)),
                &[][..],
            ),
        };
        let mut response = Response::new(body);
        *response.status_mut() = status;
        let headers = response.headers_mut();
        if let Some(content_type) = content_type.and_then(|c| HeaderValue::from_str(c).ok()) {
            headers.insert(CONTENT_TYPE, content_type);
        }
        if let Ok(id) = HeaderValue::from_str(&self.request_id) {
            headers.insert(HeaderName::from_static(REQUEST_ID_HEADER), id);
        }
        for (name, value) in extra.iter().chain(&self.extra_headers) {
            headers.insert(name.clone(), value.clone());
        }

        let latency_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        let route = self.route.as_deref().unwrap_or("unmatched");
        if let Err(ApiError::Internal(detail)) = &result {
            tracing::error!(request_id = %self.request_id, route, error = %detail, "request failed");
        }
        tracing::info!(
            request_id = %self.request_id,
            account_id = self.account_id.as_deref().unwrap_or("-"),
            user_id = self.user_id.as_deref().unwrap_or("-"),
            method = %self.method,
            path = %self.path,
            route,
            status = status.as_u16(),
            latency_ms = (latency_ms * 1000.0).round() / 1000.0,
            "request"
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::from_lookup(|k| match k {
            "TABLE_NAME" => Some("t".into()),
            "JWT_SECRET_ID" => Some("s".into()),
            _ => None,
        })
        .unwrap()
    }

    fn request(headers: &[(&str, &str)]) -> Request {
        let mut builder = http::Request::builder().method("GET").uri("https://api.example.com/api/v1/auth/me/?page=2");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(LambdaBody::Empty).unwrap()
    }

    #[test]
    fn request_id_is_echoed_when_sane_and_made_otherwise() {
        let ctx = RequestCtx::new(request(&[("x-request-id", "abc-123")]), &config());
        assert_eq!(ctx.request_id, "abc-123");
        let response = ctx.finish(Ok(Reply::message("hi")));
        assert_eq!(response.headers()["x-request-id"], "abc-123");

        let ctx = RequestCtx::new(request(&[("x-request-id", "bad id with spaces")]), &config());
        assert!(uuid::Uuid::parse_str(&ctx.request_id).is_ok());
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(RequestCtx::new(request(&[("authorization", "Bearer abc")]), &config()).bearer(), Some("abc"));
        assert_eq!(RequestCtx::new(request(&[("authorization", "bearer  abc ")]), &config()).bearer(), Some("abc"));
        assert_eq!(RequestCtx::new(request(&[("authorization", "Basic abc")]), &config()).bearer(), None);
        assert_eq!(RequestCtx::new(request(&[("authorization", "Bearer ")]), &config()).bearer(), None);
        assert_eq!(RequestCtx::new(request(&[]), &config()).bearer(), None);
    }

    #[test]
    fn errors_become_envelopes_with_status() {
        let ctx = RequestCtx::new(request(&[]), &config());
        let id = ctx.request_id.clone();
        let response = ctx.finish(Err(ApiError::not_found()));
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(body, serde_json::json!({"success": false, "error": "Resource not found", "request_id": id}));
    }
}

/// Path parameters of a matched route pattern.
pub type Params = HashMap<String, String>;

/// Matches `path` (below a function's prefix) against a pattern such as `users/{id}/activate/`;
/// `{name}` takes one non-empty segment.
pub fn match_pattern(pattern: &str, path: &str) -> Option<Params> {
    let pattern: Vec<&str> = pattern.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    if pattern.len() != path.len() {
        return None;
    }
    let mut params = Params::new();
    for (p, s) in pattern.iter().zip(&path) {
        match p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) if !s.is_empty() => {
                params.insert(name.to_owned(), (*s).to_owned());
            }
            Some(_) => return None,
            None if p == s => {}
            None => return None,
        }
    }
    Some(params)
}

/// Finds the first of `patterns` that matches `path`; patterns with literals must come before
/// patterns with parameters in the same position.
pub fn find_route<'a>(patterns: &[&'a str], path: &str) -> Option<(&'a str, Params)> {
    patterns.iter().find_map(|p| match_pattern(p, path).map(|params| (*p, params)))
}

#[cfg(test)]
mod pattern_tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(match_pattern("users/", "users/").is_some());
        assert_eq!(match_pattern("users/{id}/", "users/42/").unwrap()["id"], "42");
        assert!(match_pattern("users/{id}/", "users//").is_none());
        assert!(match_pattern("users/{id}/", "users/42/activate/").is_none());
        let found = find_route(&["users/invite/", "users/{id}/"], "users/invite/").unwrap();
        assert_eq!(found.0, "users/invite/");
    }
}

/// One request through a function's router: the request context in, the envelope and the log
/// line out.
pub async fn serve(
    services: &Services,
    request: Request,
    route: impl AsyncFnOnce(&Services, &mut RequestCtx) -> Result<Reply, ApiError>,
) -> Response<LambdaBody> {
    let mut ctx = RequestCtx::new(request, &services.config);
    if ctx.body.len() > MAX_BODY_BYTES {
        return ctx.finish(Err(ApiError::PayloadTooLarge));
    }
    let result = route(services, &mut ctx).await;
    ctx.finish(result)
}

/// The Lambda entry point shared by every function: installs the JSON logs, reads the
/// configuration (no I/O: clients are built on first use), and serves events with `handler`.
pub async fn run<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(std::sync::Arc<Services>, Request) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<LambdaBody>> + Send + 'static,
{
    crate::telemetry::init();
    let services = std::sync::Arc::new(Services::new(Config::from_env()?));
    let handler = std::sync::Arc::new(handler);
    lambda_http::run(lambda_http::service_fn(move |request: Request| {
        let response = handler(std::sync::Arc::clone(&services), request);
        async move { Ok::<_, lambda_http::Error>(response.await) }
    }))
    .await
}
