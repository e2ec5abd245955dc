//! `/api/v1/account/`: the account's settings, its team and its usage analytics. A thin adapter
//! from HTTP to the domain crate.

use igny8_domain::access::Caller;
use igny8_domain::accounts::{self, users};
use igny8_domain::http::{Reply, RequestCtx, find_route};
use igny8_domain::{ApiError, Services, settings, usage};
use lambda_http::{Body, Request, Response};

pub const PREFIX: &str = "/api/v1/account/";

const ROUTES: &[&str] = &["settings/", "team/", "team/{id}/", "usage/analytics/"];

fn methods(pattern: &str) -> &'static [&'static str] {
    match pattern {
        "settings/" => &["GET", "PATCH"],
        "team/" => &["GET", "POST"],
        "team/{id}/" => &["DELETE"],
        _ => &["GET"],
    }
}

/// Handles one API Gateway request.
pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    let mut ctx = RequestCtx::new(request, &services.config);
    let result = route(services, &mut ctx).await;
    ctx.finish(result)
}

async fn route(services: &Services, ctx: &mut RequestCtx) -> Result<Reply, ApiError> {
    let rest = ctx.path_under(PREFIX).ok_or_else(ApiError::not_found)?;
    let (pattern, params) = find_route(ROUTES, &rest).ok_or_else(ApiError::not_found)?;
    let method = ctx.method().as_str().to_owned();
    if !methods(pattern).contains(&method.as_str()) {
        return Err(ApiError::MethodNotAllowed);
    }
    ctx.set_route(format!("{method} {PREFIX}{pattern}"));
    let principal = accounts::authenticate(services, ctx.bearer()).await?;
    ctx.set_principal(&principal);
    ctx.throttle(services, "default", Some(&principal.user)).await?;
    let caller = Caller::resolve(services, principal, ctx.query()).await?;
    let id = params.get("id").map(String::as_str).unwrap_or_default();
    match (pattern, method.as_str()) {
        ("settings/", "GET") => Ok(Reply::ok(settings::get(services, &caller).await?)),
        ("settings/", _) => {
            Ok(Reply::ok(settings::patch(services, &caller, ctx.body()).await?).with_message("Settings saved"))
        }
        ("team/", "GET") => ctx.page(users::list(services, &caller, ctx.query()).await?),
        ("team/", _) => Ok(Reply::created(users::create(services, &caller, ctx.body(), false).await?)),
        ("team/{id}/", _) => users::delete(services, &caller, id).await.map(|()| Reply::no_content()),
        _ => Ok(Reply::ok(usage::analytics(services, &caller, ctx.query()).await?)),
    }
}
