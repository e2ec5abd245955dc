//! The request pipeline every function shares, as axum pieces.
//!
//! A function builds an axum [`Router`] of its routes and hands it to [`app`], which adds:
//! - the pipeline layer ([`pipeline`]): request id (taken from `X-Request-ID` or made), the body
//!   limit (413), the unified envelope around every answer, the throttle headers, and one JSON log
//!   line per request naming the matched route;
//! - 404 for an unknown path and 405 for a known path with another method, in the envelope.
//!
//! Handlers take extractors ([`Caller`], [`Reading`], [`Principal`], [`Anonymous`], [`Ctx`], [`JsonBody`])
//! and answer a [`Reply`] or an [`ApiError`]; both become responses that the pipeline finishes
//! with the request id. [`run`] serves the router on Lambda; the local gateway calls the same
//! router in process.

mod crud;
mod extract;
pub mod openapi;
mod reply;
mod routes;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use axum::Router;
use axum::body::Body as AxumBody;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http::header::CONTENT_TYPE;
use http::{HeaderName, HeaderValue, Method, StatusCode};

use crate::envelope;
use crate::{ApiError, Config, Services};

pub use lambda_http::Error as LambdaError;

pub use extract::{Anonymous, Caller, Ctx, JsonBody, Principal, RawBody, Reading, SiteKey, authorizer_context};
pub use reply::{Reply, answer};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The largest request body a function reads (2 MiB): room for the largest documented field (an
/// article's HTML) and a keyword CSV of the most rows an import takes. A larger body is a 413 in
/// the envelope before any handler runs.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The state every router shares: the container's services.
pub type AppState = Arc<Services>;

/// What one request records on its way: made by the pipeline, filled by the extractors (who is
/// calling, the throttle's headers) and read back for the answer and the log line.
#[derive(Debug)]
pub struct RequestState {
    pub request_id: String,
    client_ip: String,
    path: String,
    raw_query: Option<String>,
    query: HashMap<String, String>,
    public_base_url: Option<String>,
    route: OnceLock<String>,
    /// The module switch of the matched route's module (`planner`), when it has one.
    switch: OnceLock<&'static str>,
    principal: OnceLock<(String, String)>,
    headers: Mutex<Vec<(HeaderName, HeaderValue)>>,
}

fn valid_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

impl RequestState {
    fn new(parts: &http::request::Parts, config: &Config) -> Self {
        use lambda_http::RequestExt;
        let request_id = parts
            .headers
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|id| valid_request_id(id))
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        // API Gateway hands the parsed query string over with the event; a request that did not
        // come through it (a test calling the router) has only the URI's.
        let query = match parts.query_string_parameters_ref() {
            Some(params) => params.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
            None => {
                url::form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes()).into_owned().collect()
            }
        };
        let client_ip = match parts.extensions.get::<lambda_http::request::RequestContext>() {
            Some(lambda_http::request::RequestContext::ApiGatewayV2(c)) => c.http.source_ip.clone(),
            _ => None,
        }
        .unwrap_or_else(|| "unknown".into());
        Self {
            request_id,
            client_ip,
            path: parts.uri.path().to_owned(),
            raw_query: parts.uri.query().map(str::to_owned),
            query,
            public_base_url: config.public_base_url.clone(),
            route: OnceLock::new(),
            switch: OnceLock::new(),
            principal: OnceLock::new(),
            headers: Mutex::new(Vec::new()),
        }
    }

    /// Records who is calling, for the request log line.
    pub fn set_principal(&self, account_id: &str, user_id: &str) {
        let _ = self.principal.set((account_id.to_owned(), user_id.to_owned()));
    }

    /// Adds headers that every answer of this request carries (the throttle's).
    pub fn add_headers(&self, headers: impl IntoIterator<Item = (HeaderName, HeaderValue)>) {
        if let Ok(mut held) = self.headers.lock() {
            held.extend(headers);
        }
    }

    /// Where this request's list lives, for pagination links: under the configured public URL,
    /// or relative. Never from the `Host` or `X-Forwarded-*` headers, which a client controls.
    pub fn links(&self) -> crate::pagination::Links {
        crate::pagination::Links::new(self.public_base_url.as_deref(), &self.path, self.raw_query.as_deref())
    }

    pub fn query(&self) -> &HashMap<String, String> {
        &self.query
    }

    /// 403 "Module disabled" when the matched route's module is switched off (`enabled` says,
    /// by switch, for the account the request acts on).
    pub(crate) fn require_module(&self, enabled: impl Fn(&str) -> bool) -> Result<(), ApiError> {
        match self.switch.get() {
            Some(switch) if !enabled(switch) => Err(ApiError::module_disabled()),
            _ => Ok(()),
        }
    }
}

/// A JSON answer waiting for its request id: handlers' [`Reply`]s and [`ApiError`]s leave one on
/// their response, and the pipeline writes the envelope.
#[derive(Debug, Clone)]
enum Pending {
    Success(Arc<envelope::Body>),
    Failure(Arc<ApiError>),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status().into_response();
        response.extensions_mut().insert(Pending::Failure(Arc::new(self)));
        response
    }
}

/// A function's routes (and its fallback, when it has its own) with the shared pipeline around
/// them, ready to serve.
pub fn app(routes: Router<AppState>, services: AppState) -> Router {
    routes
        .route_layer(middleware::from_fn(record_route))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(Arc::clone(&services), pipeline))
        .with_state(services)
}

/// The fallback of a function's router.
pub async fn not_found() -> ApiError {
    ApiError::not_found()
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Names the matched route (`POST /api/v1/auth/login/`) for the log line.
async fn record_route(request: Request, next: Next) -> Response {
    if let (Some(state), Some(path)) =
        (request.extensions().get::<Arc<RequestState>>(), request.extensions().get::<MatchedPath>())
    {
        let _ = state.route.set(format!("{} {}", request.method(), path.as_str()));
    }
    next.run(request).await
}

/// The pipeline around every request: see the module documentation.
async fn pipeline(State(services): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let (mut parts, body) = request.into_parts();
    let state = Arc::new(RequestState::new(&parts, &services.config));
    let method = parts.method.clone();
    let tracked = crate::tracking::asked(&parts.headers);
    let cpu_before = tracked.then(crate::tracking::thread_cpu_ms).flatten();
    let (response, usage) = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => {
            parts.extensions.insert(Arc::clone(&state));
            let handled = next.run(Request::from_parts(parts, AxumBody::from(bytes)));
            if tracked {
                let (response, usage) = crate::metering::measure_capacity(handled).await;
                (response, Some(usage))
            } else {
                (handled.await, None)
            }
        }
        Err(_) => (ApiError::PayloadTooLarge.into_response(), None),
    };
    let mut response = finish(&state, &method, started, response);
    if let Some(usage) = usage {
        let cpu_ms = cpu_before.zip(crate::tracking::thread_cpu_ms()).map(|(before, after)| after - before);
        track(&services, &state, &mut response, started, cpu_ms, usage).await;
    }
    response
}

/// Records a request's metrics when it asked and its caller is known (an anonymous request
/// records nothing), and names them in the answer.
async fn track(
    services: &Services,
    state: &RequestState,
    response: &mut Response,
    started: Instant,
    cpu_ms: Option<f64>,
    usage: crate::metering::Usage,
) {
    let Some((account_id, user_id)) = state.principal.get().cloned() else {
        return;
    };
    let metrics = crate::tracking::RequestMetrics::new(crate::tracking::Measured {
        request_id: state.request_id.clone(),
        route: state.route.get().cloned().unwrap_or_else(|| "unmatched".into()),
        status: response.status().as_u16(),
        account_id,
        user_id,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        cpu_ms,
        usage,
    });
    match metrics.record(services).await {
        Ok(true) => {
            if let Ok(id) = HeaderValue::from_str(&state.request_id) {
                response.headers_mut().insert(HeaderName::from_static(crate::tracking::ID_HEADER), id);
            }
        }
        Ok(false) => tracing::info!(request_id = %state.request_id, "metrics of this request id were recorded already"),
        Err(err) => tracing::warn!(request_id = %state.request_id, error = %err, "request metrics not recorded"),
    }
}

/// A response that did not come from a handler (an extractor's own rejection) in the envelope.
fn stray_error(status: StatusCode) -> ApiError {
    match status {
        StatusCode::NOT_FOUND => ApiError::not_found(),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        s if s.is_client_error() => ApiError::BadRequest("Invalid request".into()),
        s => ApiError::internal(format!("unhandled {s} from the router")),
    }
}

/// Writes the envelope with the request id, the request's headers and its log line.
fn finish(state: &RequestState, method: &Method, started: Instant, mut response: Response) -> Response {
    let status = response.status();
    let pending = response.extensions_mut().remove::<Pending>().or_else(|| {
        let is_json =
            response.headers().get(CONTENT_TYPE).is_some_and(|c| c.as_bytes().starts_with(b"application/json"));
        (status.as_u16() >= 400 && !is_json).then(|| Pending::Failure(Arc::new(stray_error(status))))
    });
    let internal = match &pending {
        Some(Pending::Failure(err)) => match err.as_ref() {
            ApiError::Internal(detail) => Some(detail.clone()),
            _ => None,
        },
        _ => None,
    };
    let json = match &pending {
        Some(Pending::Success(body)) => envelope::success_json(body, &state.request_id),
        Some(Pending::Failure(err)) => Some(envelope::error_json(err, &state.request_id)),
        None => None,
    };
    if let Some(json) = json {
        *response.body_mut() = AxumBody::from(json);
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response.headers_mut().remove(http::header::CONTENT_LENGTH);
    }
    let headers = response.headers_mut();
    if let Ok(id) = HeaderValue::from_str(&state.request_id) {
        headers.insert(HeaderName::from_static(REQUEST_ID_HEADER), id);
    }
    if let Ok(held) = state.headers.lock() {
        for (name, value) in held.iter() {
            headers.insert(name.clone(), value.clone());
        }
    }

    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let route = state.route.get().map(String::as_str).unwrap_or("unmatched");
    if let Some(detail) = internal {
        tracing::error!(request_id = %state.request_id, route, error = %detail, "request failed");
    }
    let (account_id, user_id) = state.principal.get().map(|(a, u)| (a.as_str(), u.as_str())).unwrap_or(("-", "-"));
    tracing::info!(
        request_id = %state.request_id,
        account_id,
        user_id,
        method = %method,
        path = %state.path,
        route,
        status = response.status().as_u16(),
        latency_ms = (latency_ms * 1000.0).round() / 1000.0,
        "request"
    );
    response
}

/// One function's part of the API: its routes with their documentation, and its tag.
#[derive(Debug, Clone, Copy)]
pub struct Module {
    /// The OpenAPI tag of its operations, e.g. `planner`.
    pub tag: &'static str,
    pub description: &'static str,
    /// The account's switch that turns the module's routes off (`settings/modules/enable/`):
    /// with it off, every route of the module answers 403 "Module disabled" to the account's
    /// callers. `None`: the module is always on (authentication, billing, the settings).
    pub switch: Option<&'static str>,
    pub routes: fn() -> utoipa_axum::router::OpenApiRouter<AppState>,
    /// The same routes without their documentation: what the function serves.
    pub serve: fn() -> Router<AppState>,
}

impl Module {
    /// The function's router, with the shared pipeline; a path it does not know is a 404.
    pub fn router(&self, services: AppState) -> Router {
        Self::serve_all(&[*self], services)
    }

    /// The router of a function that serves several modules' routes.
    pub fn serve_all(modules: &[Module], services: AppState) -> Router {
        let routes = modules.iter().fold(Router::new(), |all, module| all.merge(module.served()));
        app(routes.fallback(not_found), services)
    }

    /// The module's routes as served: each notes the module's switch for the caller's check.
    fn served(&self) -> Router<AppState> {
        let routes = (self.serve)();
        match self.switch {
            Some(switch) => routes.route_layer(middleware::from_fn(move |request: Request, next: Next| async move {
                if let Some(state) = request.extensions().get::<Arc<RequestState>>() {
                    let _ = state.switch.set(switch);
                }
                next.run(request).await
            })),
            None => routes,
        }
    }

    /// The function's part of the OpenAPI document.
    pub fn openapi(&self) -> utoipa::openapi::OpenApi {
        openapi::module((self.routes)().split_for_parts().1, self.tag, self.description)
    }
}

/// The Lambda entry point shared by every HTTP function: installs the JSON logs, reads the
/// configuration (no I/O: clients are built on first use), and serves the router `build` makes
/// (usually [`Module::router`]).
pub async fn run(build: impl FnOnce(AppState) -> Router) -> Result<(), LambdaError> {
    crate::telemetry::init();
    let services = Arc::new(Services::new(Config::from_env()?));
    lambda_http::run(build(services)).await
}

#[cfg(test)]
mod tests;
