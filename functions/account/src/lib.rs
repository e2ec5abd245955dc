//! `/api/v1/account/`: the account's settings, its team and its usage analytics. A thin adapter
//! from HTTP to the domain crate.

use igny8_domain::accounts::users;
use igny8_domain::http::{Reply, RequestCtx};
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
    igny8_domain::http::serve(services, request, route).await
}

async fn route(services: &Services, ctx: &mut RequestCtx) -> Result<Reply, ApiError> {
    let (pattern, params, method) = ctx.route(PREFIX, ROUTES, methods)?;
    let caller = ctx.caller(services, "default").await?;
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
