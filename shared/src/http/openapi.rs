//! The API contract as OpenAPI 3.1: the envelope's shapes as schemas, and [`module`], which
//! finishes one function's operations (tag, operation ids, security, the error answers every
//! operation may give). The docs function merges the modules into one document with [`document`].
//!
//! The types here describe what [`crate::envelope`] writes; they are never built at run time.

use std::collections::{BTreeMap, HashSet};

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, ContentBuilder, OpenApi, Ref, ResponseBuilder, Tag};
use utoipa::{PartialSchema, ToSchema};

/// `{success: true, data, message?, request_id}`.
#[derive(Debug, ToSchema)]
pub struct Data<T> {
    pub success: bool,
    pub data: T,
    pub message: Option<String>,
    pub request_id: String,
}

/// `{success: true, message, request_id}`: an action that answers only a message.
#[derive(Debug, ToSchema)]
pub struct Done {
    pub success: bool,
    pub message: String,
    pub request_id: String,
}

/// `{success: true, count, next, previous, results, message?, request_id}`: one page of a list.
#[derive(Debug, ToSchema)]
pub struct Paged<T> {
    pub success: bool,
    /// Every item of the list, over all pages.
    pub count: u64,
    /// The next page's link (absolute under the configured public URL, or relative); `null` on the last page.
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
    pub message: Option<String>,
    pub request_id: String,
}

/// `{success: true, task_id, data, message?, request_id}`: an AI job was queued; follow it at
/// `/api/v1/system/settings/task_progress/{task_id}/`.
#[derive(Debug, ToSchema)]
pub struct Queued<T> {
    pub success: bool,
    pub task_id: String,
    pub data: T,
    pub message: Option<String>,
    pub request_id: String,
}

/// `{success: false, error, errors?, request_id}`.
#[derive(Debug, ToSchema)]
pub struct Problem {
    pub success: bool,
    /// What went wrong, for people: "Validation failed", "Authentication required", ...
    pub error: String,
    /// Per field, its messages (400 and 422 only).
    pub errors: Option<BTreeMap<String, Vec<String>>>,
    pub request_id: String,
}

/// `{message}`: API Gateway's own answer when a route's authorizer stops a request (401 without
/// the `Authorization` header, 403 for a key it refuses), before any function runs.
#[derive(Debug, ToSchema)]
pub struct GatewayRefusal {
    /// `Unauthorized` or `Forbidden`.
    pub message: String,
}

/// The security scheme of the SPA's access tokens.
pub const JWT: &str = "jwt";
/// The security scheme of the WordPress plugin's API keys (`security(("api_key" = []))`): the
/// routes the API-key authorizer guards, and only those, declare it.
pub const API_KEY: &str = "api_key";

/// Whether an operation is the WordPress plugin's (secured by its API key).
pub fn uses_api_key(op: &Operation) -> bool {
    op.security
        .as_ref()
        .is_some_and(|s| s.iter().any(|r| serde_json::to_value(r).ok().is_some_and(|v| v.get(API_KEY).is_some())))
}

/// The error answers an operation may give, beyond its own: (status, when).
const ERRORS: &[(&str, &str, bool)] = &[
    ("400", "The request is invalid: `errors` names each field and what is wrong with it.", false),
    ("401", "No valid access token.", true),
    ("403", "The caller's role may not do this.", true),
    ("404", "No such record for this caller (another account's records are not found either).", false),
    ("413", "The body is larger than 2 MiB.", false),
    ("429", "Too many requests in this scope; `X-Throttle-Reset` tells when to retry.", false),
];

const PAYMENT_REQUIRED: &str = "Not enough credits for this AI operation.";
const CONFLICT: &str = "The request conflicts with the current state (a duplicate, a concurrent change).";

/// Whether an operation queues an AI job (its 200 is a `Queued_*` envelope).
fn queues_a_job(op: &Operation) -> bool {
    serde_json::to_string(&op.responses).is_ok_and(|json| json.contains("#/components/schemas/Queued"))
}

fn problem(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
        .build()
}

/// A refusal of the API-key authorizer's routes: the gateway's `{message}` or, from the
/// function, the envelope.
fn refusal(description: &str) -> utoipa::openapi::Response {
    let either = utoipa::openapi::schema::OneOfBuilder::new()
        .item(Ref::from_schema_name("Problem"))
        .item(Ref::from_schema_name("GatewayRefusal"));
    ResponseBuilder::new()
        .description(description)
        .content("application/json", ContentBuilder::new().schema(Some(either)).build())
        .build()
}

const KEY_MISSING: &str = "No `Authorization: Bearer <API key>` header (API Gateway answers `{message}`).";
const KEY_REFUSED: &str = "The API key is unknown or revoked (API Gateway answers `{message}`; a revoked key \
     is refused once the authorizer's cached answer ends, within 5 minutes).";

/// Calls `f` with every operation and its method (lower case).
fn each_operation(api: &mut OpenApi, mut f: impl FnMut(&str, &mut Operation)) {
    for item in api.paths.paths.values_mut() {
        let methods = [
            ("get", &mut item.get),
            ("put", &mut item.put),
            ("post", &mut item.post),
            ("delete", &mut item.delete),
            ("patch", &mut item.patch),
        ];
        for (method, op) in methods {
            if let Some(op) = op {
                f(method, op);
            }
        }
    }
}

/// Finishes one module's operations: the module's tag; operation ids unique across the API
/// (`planner_list_keywords`, and `_patch` for the PATCH of a handler that also serves PUT); the
/// access token required unless the operation declared itself public (`security(())`); and the
/// error answers every operation may give, in the envelope.
pub fn module(mut api: OpenApi, tag: &str, description: &str) -> OpenApi {
    let mut seen = HashSet::new();
    each_operation(&mut api, |method, op| {
        op.tags = Some(vec![tag.to_owned()]);
        let base = format!("{tag}_{}", op.operation_id.as_deref().unwrap_or("operation"));
        let id = if seen.insert(base.clone()) { base } else { format!("{base}_patch") };
        seen.insert(id.clone());
        op.operation_id = Some(id);
        let public = op.security.as_ref().is_some_and(|s| s.iter().all(is_empty_requirement));
        if op.security.is_none() {
            op.security = Some(vec![SecurityRequirement::new(JWT, Vec::<String>::new())]);
        }
        let job = queues_a_job(op);
        let plugin = uses_api_key(op);
        let responses = &mut op.responses.responses;
        if plugin {
            responses.entry("401".to_owned()).or_insert_with(|| refusal(KEY_MISSING).into());
            responses.entry("403".to_owned()).or_insert_with(|| refusal(KEY_REFUSED).into());
        }
        for (status, description, secured_only) in ERRORS {
            if !(*secured_only && public) {
                responses.entry((*status).to_owned()).or_insert_with(|| problem(description).into());
            }
        }
        if job {
            responses.entry("402".to_owned()).or_insert_with(|| problem(PAYMENT_REQUIRED).into());
        }
        if method != "get" {
            responses.entry("409".to_owned()).or_insert_with(|| problem(CONFLICT).into());
        }
    });
    api.tags = Some(vec![Tag::new(tag)]);
    if let Some(tags) = api.tags.as_mut() {
        for t in tags.iter_mut() {
            t.description = Some(description.to_owned());
        }
    }
    api
}

fn is_empty_requirement(requirement: &SecurityRequirement) -> bool {
    serde_json::to_value(requirement).ok().and_then(|v| v.as_object().map(|o| o.is_empty())).unwrap_or(false)
}

/// The whole API: the modules merged, with the title, the version and the security schemes.
pub fn document(modules: impl IntoIterator<Item = OpenApi>) -> OpenApi {
    let mut api = OpenApi::default();
    api.info.title = "IGNY8 API".into();
    api.info.version = env!("CARGO_PKG_VERSION").into();
    api.info.description = Some(DESCRIPTION.into());
    api.info.license = None;
    for module in modules {
        api.merge(module);
    }
    let components = api.components.take().unwrap_or_default();
    let mut builder = ComponentsBuilder::from(components)
        .schema("Problem", Problem::schema())
        .schema("GatewayRefusal", GatewayRefusal::schema())
        .security_scheme(
            JWT,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("The access token from `/api/v1/auth/login/` (15 minutes)."))
                    .build(),
            ),
        )
        .security_scheme(
            API_KEY,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("igny8 API key")
                    .description(Some(
                        "A site's API key (`igny8_…`, from `/api/v1/integration/api-keys/`), for its WordPress \
                         plugin: checked by the API Gateway authorizer, answers cached up to 5 minutes.",
                    ))
                    .build(),
            ),
        );
    for (name, schema) in envelope_schemas() {
        builder = builder.schema(name, schema);
    }
    let mut components = builder.build();
    close_answers(&mut components);
    api.components = Some(components);
    api
}

/// The typed answers (`…Answer`, `…Summary`) name every field they have: the document says so
/// (`additionalProperties: false`), so a client, and the contract run, can rely on nothing else
/// coming.
fn close_answers(components: &mut utoipa::openapi::Components) {
    use utoipa::openapi::schema::{AdditionalProperties, Schema};
    for (name, schema) in components.schemas.iter_mut() {
        if !(name.ends_with("Answer") || name.ends_with("Summary")) {
            continue;
        }
        if let utoipa::openapi::RefOr::T(Schema::Object(object)) = schema {
            object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
        }
    }
}

fn envelope_schemas() -> Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)> {
    vec![("Done".into(), Done::schema())]
}

const DESCRIPTION: &str = "The IGNY8 content platform's API. Every answer is an envelope: \
`{success, data | error, errors, message, request_id}`; lists are pages \
(`{count, next, previous, results}`, `page` from 1, `page_size` up to 100). Ids are UUIDs. \
Sign in with `POST /api/v1/auth/login/` and send the access token as `Authorization: Bearer <token>`.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_schema_names_the_envelope_fields() {
        let json = serde_json::to_value(Problem::schema()).expect("schema");
        let required: Vec<&str> =
            json["required"].as_array().expect("required").iter().filter_map(|v| v.as_str()).collect();
        assert_eq!(required, ["success", "error", "request_id"]);
    }
}
