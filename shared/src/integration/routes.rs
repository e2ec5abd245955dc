//! `/api/v1/integration/`: a site's integrations (WordPress) and their connection tests. The
//! collection's five routes are declared by [`crate::crud`] over [`super::integrations`].

use axum::extract::{Path, State};

use super::api_keys::{self, ApiKeyAnswer, CreatedKey, NewApiKey};
use super::integrations::{self, ConnectionCheck, IntegrationAnswer};
use super::plugin::{self, MetadataWebhook, StatusWebhook, StoredStructure, StructurePush};
use super::sync::{self, ContentTypes, DebugStatus, SiteSync, SyncEventAnswer, SyncRequest, SyncStatus};
use super::wordpress::Probe;
use crate::ApiError;
use crate::crud;
use crate::http::openapi::{Data, Paged};
use crate::http::{AppState, Caller, Ctx, JsonBody, Module, Reply, SiteKey};
use crate::throttle::scopes::{Integration, Plugin};
use crate::validation::Submitted;
use crate::writer::ContentAnswer;

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
    remove: crate::integration::removal::delete,
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

/// The account's API keys for its sites' WordPress plugin (owners and admins): never the keys.
#[utoipa::path(get, path = "/api/v1/integration/api-keys/",
    params(("site_id" = Option<String>, Query, description = "Only this site's keys")),
    responses((status = 200, description = "The keys", body = Paged<ApiKeyAnswer>)))]
async fn list_api_keys(State(s): State<AppState>, caller: Caller<Integration>, ctx: Ctx) -> Result<Reply, ApiError> {
    ctx.page(api_keys::list_keys(&s, &caller, ctx.query()).await?)
}

/// Creates a key for one of the account's sites (owners and admins): the answer holds the key,
/// shown this once and kept nowhere.
#[utoipa::path(post, path = "/api/v1/integration/api-keys/", request_body = NewApiKey,
    responses((status = 201, description = "The key, shown this once", body = Data<CreatedKey>)))]
async fn create_api_key(
    State(s): State<AppState>,
    caller: Caller<Integration>,
    body: Submitted<NewApiKey>,
) -> Result<Reply, ApiError> {
    Ok(Reply::created(crate::http::answer(api_keys::create_key(&s, &caller, body).await?)))
}

/// Revokes a key (owners and admins): the plugin holding it is refused from the authorizer's
/// next check on (its cached answers last at most 5 minutes).
#[utoipa::path(delete, path = "/api/v1/integration/api-keys/{id}/", responses((status = 204, description = "Revoked")))]
async fn revoke_api_key(
    State(s): State<AppState>,
    caller: Caller<Integration>,
    Path(id): Path<String>,
) -> Result<Reply, ApiError> {
    api_keys::revoke_key(&s, &caller, &id).await?;
    Ok(Reply::no_content())
}

/// The WordPress plugin (API key): a post's status changed in WordPress; the content linked to
/// it follows (`publish`, `future`, `private` → `published`; `pending` → `review`; `draft`,
/// `trash` → `draft`). 404 when no content of the key's site is linked to the post.
#[utoipa::path(post, path = "/api/v1/integration/webhooks/wordpress/status/", request_body = StatusWebhook,
    security(("api_key" = [])),
    responses((status = 200, description = "The content", body = Data<ContentAnswer>)))]
async fn webhook_status(
    State(s): State<AppState>,
    key: SiteKey<Plugin>,
    JsonBody(input): JsonBody<StatusWebhook>,
) -> Result<Reply, ApiError> {
    Ok(Reply::ok(plugin::status_changed(&s, &key, input).await?))
}

/// The WordPress plugin (API key): a post's title, slug, address, categories or tags changed in
/// WordPress; the content linked to it takes them.
#[utoipa::path(post, path = "/api/v1/integration/webhooks/wordpress/metadata/", request_body = MetadataWebhook,
    security(("api_key" = [])),
    responses((status = 200, description = "The content", body = Data<ContentAnswer>)))]
async fn webhook_metadata(
    State(s): State<AppState>,
    key: SiteKey<Plugin>,
    JsonBody(input): JsonBody<MetadataWebhook>,
) -> Result<Reply, ApiError> {
    Ok(Reply::ok(plugin::metadata_changed(&s, &key, input).await?))
}

/// The WordPress plugin (API key): its site's published content, newest change first.
#[utoipa::path(get, path = "/api/v1/integration/plugin/content/", security(("api_key" = [])),
    responses((status = 200, description = "The site's published content", body = Paged<ContentAnswer>)))]
async fn plugin_content(State(s): State<AppState>, key: SiteKey<Plugin>, ctx: Ctx) -> Result<Reply, ApiError> {
    ctx.page(plugin::published(&s, &key).await?)
}

/// The WordPress plugin (API key): the site's post types and taxonomies, kept as the
/// integration's structure (what `integrations/{id}/get_content_types/` answers).
#[utoipa::path(post, path = "/api/v1/integration/plugin/structure/", request_body = StructurePush,
    security(("api_key" = [])),
    responses((status = 200, description = "The structure kept", body = Data<StoredStructure>)))]
async fn plugin_structure(
    State(s): State<AppState>,
    key: SiteKey<Plugin>,
    JsonBody(input): JsonBody<StructurePush>,
) -> Result<Reply, ApiError> {
    Reply::data(&plugin::push_structure(&s, &key, input).await?)
}

/// Pulls the site's WordPress posts, pages, categories and tags into its content and taxonomies
/// (owners and admins): a queued sync, followed at `{id}/sync_status/`. A re-sync updates, never
/// duplicates.
#[utoipa::path(post, path = "/api/v1/integration/integrations/{id}/sync/", request_body = SyncRequest,
    responses((status = 200, description = "The sync, queued", body = Data<SyncEventAnswer>)))]
async fn sync(
    State(s): State<AppState>,
    caller: Caller<Integration>,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<SyncRequest>,
) -> Result<Reply, ApiError> {
    let integration = integrations::visible(&s, &caller, &id).await?;
    Reply::data(&sync::start(&s, &caller, &integration, input.sector_id.as_deref()).await?.answer())
}

/// Where the integration's syncing stands: its status, its last sync, and that sync's progress,
/// counts and errors.
#[utoipa::path(get, path = "/api/v1/integration/integrations/{id}/sync_status/",
    responses((status = 200, description = "The sync status", body = Data<SyncStatus>)))]
async fn sync_status(
    State(s): State<AppState>,
    caller: Caller<Integration>,
    Path(id): Path<String>,
) -> Result<Reply, ApiError> {
    let integration = integrations::visible(&s, &caller, &id).await?;
    Reply::data(&sync::status(&s, &integration).await?)
}

/// Reads the site's post types and taxonomies (with the categories' and tags' terms) from its
/// REST API and keeps them as the integration's structure (owners and admins).
#[utoipa::path(post, path = "/api/v1/integration/integrations/{id}/update-structure/",
    responses((status = 200, description = "The structure kept", body = Data<StoredStructure>)))]
async fn update_structure(
    State(s): State<AppState>,
    caller: Caller<Integration>,
    Path(id): Path<String>,
) -> Result<Reply, ApiError> {
    let integration = integrations::visible(&s, &caller, &id).await?;
    caller.require_manager()?;
    Reply::data(&sync::update_structure(&s, &integration).await?)
}

/// The site's post types and taxonomies as last pushed by the plugin or read from the site
/// (empty, with no `source`, before either).
#[utoipa::path(get, path = "/api/v1/integration/integrations/{id}/get_content_types/",
    responses((status = 200, description = "The structure", body = Data<ContentTypes>)))]
async fn get_content_types(
    State(s): State<AppState>,
    caller: Caller<Integration>,
    Path(id): Path<String>,
) -> Result<Reply, ApiError> {
    let integration = integrations::visible(&s, &caller, &id).await?;
    Reply::data(&sync::content_types(&s, &integration).await?)
}

/// What to look at when an integration misbehaves (owners and admins): the connection now, the
/// recent syncs, the linked posts, the structure.
#[utoipa::path(get, path = "/api/v1/integration/integrations/{id}/debug_status/",
    responses((status = 200, description = "The integration's state", body = Data<DebugStatus>)))]
async fn debug_status(
    State(s): State<AppState>,
    caller: Caller<Integration>,
    Path(id): Path<String>,
) -> Result<Reply, ApiError> {
    let integration = integrations::visible(&s, &caller, &id).await?;
    caller.require_manager()?;
    Reply::data(&sync::debug_status(&s, &integration).await?)
}

/// Pulls a site's WordPress content through each of its active WordPress integrations (owners and
/// admins): the syncs, queued.
#[utoipa::path(post, path = "/api/v1/integration/integrations/sync_wordpress_content/", request_body = SiteSync,
    responses((status = 200, description = "The syncs, queued", body = Data<Vec<SyncEventAnswer>>)))]
async fn sync_wordpress_content(
    State(s): State<AppState>,
    caller: Caller<Integration>,
    JsonBody(input): JsonBody<SiteSync>,
) -> Result<Reply, ApiError> {
    Reply::data(&sync::start_site(&s, &caller, &input.site_id, input.sector_id.as_deref()).await?)
}

crate::module_routes! {
    [integration::list, integration::create],
    [integration::get, integration::update, integration::delete],
    [check],
    [test_connection],
    [list_api_keys, create_api_key],
    [revoke_api_key],
    [webhook_status],
    [webhook_metadata],
    [plugin_content],
    [plugin_structure],
    [sync],
    [sync_status],
    [update_structure],
    [get_content_types],
    [debug_status],
    [sync_wordpress_content],
}

/// The integration function's part of the API.
pub const MODULE: Module = Module {
    tag: "integration",
    description: "A site's integrations (WordPress): connection tests, sync, structure; the API keys of its WordPress plugin and the plugin's own routes.",
    switch: None,
    routes,
    serve,
};
