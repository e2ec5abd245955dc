//! The API's contract, served: the OpenAPI 3.1 document of every module at `/api/schema/` (JSON,
//! or YAML with `?format=yaml`), Swagger UI at `/api/docs/` and ReDoc at `/api/redoc/`, their
//! assets from the binary. Every path no other function claims also lands here (the template's
//! fallback route): a path of the document with another method is a 405, anything else a 404, both
//! in the envelope.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{Path, Request};
use axum::routing::any;
use http::{HeaderName, HeaderValue};
use igny8_domain::ApiError;
use igny8_domain::http::openapi::document;
use igny8_domain::http::{AppState, Ctx, Module, Reply};
use tower::ServiceExt;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every module of the API but this one.
pub const MODULES: &[Module] = &[
    auth_function::MODULE,
    account_function::MODULE,
    planner_function::MODULE,
    writer_function::MODULE,
    integration_function::MODULE,
    publisher_function::MODULE,
    linker_function::MODULE,
    optimizer_function::MODULE,
    billing_function::MODULE,
    automation_function::MODULE,
    system_function::MODULE,
    system_function::THINKER,
];

const REDOC_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/redoc.standalone.js"));

const REDOC_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>IGNY8 API</title>
<style>body { margin: 0; padding: 0; }</style>
</head>
<body>
<redoc spec-url="/api/schema/"></redoc>
<script src="/api/redoc/redoc.standalone.js"></script>
</body>
</html>
"#;

/// The whole API's OpenAPI document, made once per container.
pub fn openapi() -> &'static utoipa::openapi::OpenApi {
    static DOCUMENT: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOCUMENT.get_or_init(|| document(MODULES.iter().chain([&MODULE]).map(Module::openapi)))
}

fn cached() -> HeaderValue {
    HeaderValue::from_static("public, max-age=300")
}

/// The OpenAPI 3.1 document of the whole API.
#[utoipa::path(get, path = "/api/schema/", security(()),
    params(("format" = Option<String>, Query, description = "`yaml` for YAML; JSON otherwise")),
    responses(
        (status = 200, description = "The document", content(
            (String = "application/json"),
            (String = "application/yaml"),
        )),
    ))]
async fn schema(ctx: Ctx) -> Result<Reply, ApiError> {
    let (content_type, text) = match ctx.query().get("format").map(String::as_str) {
        Some("yaml") => ("application/yaml", openapi().to_yaml().map_err(ApiError::internal)?),
        _ => ("application/json", openapi().to_json().map_err(ApiError::internal)?),
    };
    Ok(Reply::raw(content_type, text.into_bytes()).with_header(http::header::CACHE_CONTROL, cached()))
}

fn swagger_file(file: &str) -> Result<Reply, ApiError> {
    static CONFIG: OnceLock<Arc<utoipa_swagger_ui::Config<'static>>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| Arc::new(utoipa_swagger_ui::Config::new(["/api/schema/"])));
    match utoipa_swagger_ui::serve(file, Arc::clone(config)) {
        Ok(Some(found)) => {
            let mut reply = Reply::raw(found.content_type, found.bytes.into_owned())
                .with_header(http::header::CACHE_CONTROL, cached());
            if found.gzpipped {
                reply =
                    reply.with_header(HeaderName::from_static("content-encoding"), HeaderValue::from_static("gzip"));
            }
            Ok(reply)
        }
        Ok(None) => Err(ApiError::not_found()),
        Err(err) => Err(ApiError::internal(err)),
    }
}

/// Swagger UI over the document.
#[utoipa::path(get, path = "/api/docs/", security(()),
    responses((status = 200, description = "The page", content_type = "text/html", body = String)))]
async fn swagger_ui() -> Result<Reply, ApiError> {
    swagger_file("index.html")
}

/// Swagger UI's scripts, styles and images.
#[utoipa::path(get, path = "/api/docs/{file}", security(()),
    responses((status = 200, description = "The file", content_type = "application/octet-stream", body = Vec<u8>)))]
async fn swagger_asset(Path(file): Path<String>) -> Result<Reply, ApiError> {
    swagger_file(&file)
}

/// ReDoc over the document.
#[utoipa::path(get, path = "/api/redoc/", security(()),
    responses((status = 200, description = "The page", content_type = "text/html", body = String)))]
async fn redoc() -> Reply {
    Reply::raw("text/html; charset=utf-8", REDOC_PAGE.as_bytes().to_vec())
}

/// ReDoc's script.
#[utoipa::path(get, path = "/api/redoc/redoc.standalone.js", security(()),
    responses((status = 200, description = "The script", content_type = "text/javascript", body = String)))]
async fn redoc_script() -> Reply {
    Reply::raw("text/javascript; charset=utf-8", REDOC_JS.to_vec()).with_header(http::header::CACHE_CONTROL, cached())
}

/// A request no route of this function took: 405 on a path of the document, 404 otherwise.
async fn unclaimed(request: Request) -> Result<Reply, ApiError> {
    static KNOWN: OnceLock<Router> = OnceLock::new();
    let known = KNOWN.get_or_init(|| {
        let refuse = any(|| async { ApiError::MethodNotAllowed });
        openapi()
            .paths
            .paths
            .keys()
            .fold(Router::new(), |router, path| router.route(path, refuse.clone()))
            .fallback(|| async { ApiError::not_found() })
    });
    let response = match known.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    Err(if response.status() == http::StatusCode::METHOD_NOT_ALLOWED {
        ApiError::MethodNotAllowed
    } else {
        ApiError::not_found()
    })
}

/// The docs function's routes and their documentation.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(schema))
        .routes(routes!(swagger_ui))
        .routes(routes!(swagger_asset))
        .routes(routes!(redoc))
        .routes(routes!(redoc_script))
}

/// The docs function's part of the API.
pub const MODULE: Module =
    Module { tag: "docs", description: "This document, and pages that read it.", switch: None, routes, serve };

/// The docs function serves the document, so it builds its own routes' descriptions anyway.
fn serve() -> axum::Router<AppState> {
    routes().split_for_parts().0
}

/// The function's router: its routes, and every other path answered 404 or 405.
pub fn router(services: AppState) -> Router {
    let routes = routes().split_for_parts().0.fallback(unclaimed);
    igny8_domain::http::app(routes, services)
}
