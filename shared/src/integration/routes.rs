//! `/api/v1/integration/`: a site's integrations (WordPress) and their connection tests. The
//! collection's five routes are declared by [`crate::crud`] over [`super::integrations`].

use axum::extract::{Path, State};

use super::integrations::{self, ConnectionCheck, IntegrationAnswer};
use super::wordpress::Probe;
use crate::ApiError;
use crate::crud;
use crate::http::openapi::Data;
use crate::http::{AppState, Caller, Module, Reply};
use crate::throttle::scopes::Integration;
use crate::validation::Submitted;

crud!(
    integration,
    list: "/api/v1/integration/integrations/",
    item: "/api/v1/integration/integrations/{id}/",
    scope: Integration,
    answer: IntegrationAnswer,
    index: integrations::list,
    create: integrations::NewIntegration => integrations::create,
    show: integrations::show,
    update: integrations::NewIntegration, integrations::IntegrationChanges => integrations::update,
    remove: integrations::delete,
);

/// Reaches a WordPress site with credentials before they are saved: its name and version, the
/// user, and whether it may publish (400 when the site cannot be reached or refuses them).
#[utoipa::path(post, path = "/api/v1/integration/integrations/test-connection/", request_body = ConnectionCheck,
    responses((status = 200, description = "What the site answered", body = Data<Probe>)))]
async fn check(
    State(s): State<AppState>,
    caller: Caller<Integration>,
    body: Submitted<ConnectionCheck>,
) -> Result<Reply, ApiError> {
    Reply::data(&integrations::check(&s, &caller, body).await?)
}

/// Reaches the integration's site with its saved credentials.
#[utoipa::path(post, path = "/api/v1/integration/integrations/{id}/test_connection/",
    responses((status = 200, description = "What the site answered", body = Data<Probe>)))]
async fn test_connection(
    State(s): State<AppState>,
    caller: Caller<Integration>,
    Path(id): Path<String>,
) -> Result<Reply, ApiError> {
    Reply::data(&integrations::test_connection(&s, &caller, &id).await?)
}

crate::module_routes! {
    [integration::list, integration::create],
    [integration::get, integration::update, integration::delete],
    [check],
    [test_connection],
}

/// The integration function's part of the API.
pub const MODULE: Module = Module {
    tag: "integration",
    description: "A site's integrations (WordPress) and their connection tests.",
    routes,
    serve,
};
