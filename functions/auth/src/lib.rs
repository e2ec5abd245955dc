//! `/api/v1/auth/`: credentials, users, accounts, subscriptions, sites, sectors, site access,
//! roles and the public reference data. A thin adapter from HTTP to the domain crate: it matches
//! the route, authenticates, throttles and hands over.

use igny8_domain::access::{self, Caller};
use igny8_domain::accounts::{self, ChangePassword, LoginInput, RegisterInput, users};
use igny8_domain::http::{Params, Reply, RequestCtx};
use igny8_domain::{ApiError, Services, reference, sites, subscriptions};
use lambda_http::{Body, Request, Response};
use serde_json::json;

pub const PREFIX: &str = "/api/v1/auth/";

/// Route patterns below [`PREFIX`], literal segments before parameters.
const ROUTES: &[&str] = &[
    "register/",
    "login/",
    "refresh/",
    "change-password/",
    "me/",
    "groups/",
    "groups/{id}/",
    "users/invite/",
    "users/",
    "users/{id}/activate/",
    "users/{id}/",
    "accounts/",
    "accounts/{id}/",
    "subscriptions/by-account/{account_id}/",
    "subscriptions/",
    "subscriptions/{id}/",
    "site-access/",
    "site-access/{id}/",
    "plans/",
    "plans/{id}/",
    "industries/",
    "industries/{id}/",
    "seed-keywords/",
    "seed-keywords/{id}/",
    "sites/",
    "sites/{id}/sectors/",
    "sites/{id}/set_active/",
    "sites/{id}/select_sectors/",
    "sites/{id}/",
    "sectors/",
    "sectors/{id}/",
];

const READ: &[&str] = &["GET"];
const POST: &[&str] = &["POST"];
const COLLECTION: &[&str] = &["GET", "POST"];
const RECORD: &[&str] = &["GET", "PUT", "PATCH", "DELETE"];

fn methods(pattern: &str) -> &'static [&'static str] {
    match pattern {
        "register/"
        | "login/"
        | "refresh/"
        | "change-password/"
        | "users/invite/"
        | "users/{id}/activate/"
        | "sites/{id}/set_active/"
        | "sites/{id}/select_sectors/" => POST,
        "me/"
        | "groups/"
        | "groups/{id}/"
        | "plans/"
        | "plans/{id}/"
        | "industries/"
        | "industries/{id}/"
        | "seed-keywords/"
        | "seed-keywords/{id}/"
        | "sites/{id}/sectors/"
        | "subscriptions/by-account/{account_id}/" => READ,
        "site-access/{id}/" => &["GET", "DELETE"],
        p if p.ends_with("{id}/") => RECORD,
        _ => COLLECTION,
    }
}

/// Routes answered without a token.
fn is_public(pattern: &str) -> bool {
    matches!(
        pattern,
        "register/"
            | "login/"
            | "refresh/"
            | "plans/"
            | "plans/{id}/"
            | "industries/"
            | "industries/{id}/"
            | "seed-keywords/"
            | "seed-keywords/{id}/"
    )
}

/// The throttle scope of a route.
fn scope(pattern: &str) -> &'static str {
    match pattern {
        "change-password/" | "users/{id}/activate/" => "auth_strict",
        "plans/" | "plans/{id}/" | "industries/" | "industries/{id}/" | "seed-keywords/" | "seed-keywords/{id}/" => {
            "content_read"
        }
        _ => "auth",
    }
}

/// Handles one API Gateway request.
pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    igny8_domain::http::serve(services, request, route).await
}

async fn route(services: &Services, ctx: &mut RequestCtx) -> Result<Reply, ApiError> {
    let (pattern, params, method) = ctx.route(PREFIX, ROUTES, methods)?;
    if is_public(pattern) {
        ctx.throttle(services, scope(pattern), None).await?;
        return public(services, ctx, pattern, &params).await;
    }
    let principal = accounts::authenticate(services, ctx.bearer()).await?;
    ctx.set_principal(&principal);
    ctx.throttle(services, scope(pattern), Some(&principal.user)).await?;
    if pattern == "me/" {
        return Ok(Reply::ok(accounts::me(services, &principal).await?));
    }
    if pattern == "change-password/" {
        let input = ChangePassword::from_body(ctx.body())?;
        let data = accounts::change_password(services, &principal, input).await?;
        return Ok(Reply::ok(data).with_message("Password changed successfully"));
    }
    let caller = Caller::resolve(services, principal, ctx.query()).await?;
    authenticated(services, ctx, &caller, pattern, &params, &method).await
}

fn param<'a>(params: &'a Params, name: &str) -> &'a str {
    params.get(name).map(String::as_str).unwrap_or_default()
}

async fn public(services: &Services, ctx: &RequestCtx, pattern: &str, params: &Params) -> Result<Reply, ApiError> {
    let id = param(params, "id");
    match pattern {
        "register/" => {
            let input = RegisterInput::from_body(ctx.body())?;
            Ok(Reply::created(accounts::register(services, input, accounts::OpenedBy::SelfRegistration).await?)
                .with_message("Registration successful"))
        }
        "login/" => {
            let input = LoginInput::from_body(ctx.body())?;
            Ok(Reply::ok(accounts::login(services, input).await?).with_message("Login successful"))
        }
        "refresh/" => Ok(Reply::ok(accounts::refresh(services, ctx.body()).await?)),
        "plans/" => ctx.page(reference::plans(services).await?.iter().map(|p| p.to_json()).collect()),
        "plans/{id}/" => Ok(Reply::ok(reference::plan(services, id).await?.ok_or_else(ApiError::not_found)?.to_json())),
        "industries/" => ctx
            .page(reference::industries(services).await?.iter().filter(|i| i.is_active).map(|i| i.to_json()).collect()),
        "industries/{id}/" => {
            Ok(Reply::ok(reference::industry(services, id).await?.ok_or_else(ApiError::not_found)?.to_json()))
        }
        "seed-keywords/" => ctx.page(reference::search_seed_keywords(services, ctx.query()).await?),
        _ => Ok(Reply::ok(reference::seed_keyword(services, id).await?.ok_or_else(ApiError::not_found)?.to_json())),
    }
}

async fn authenticated(
    services: &Services,
    ctx: &RequestCtx,
    caller: &Caller,
    pattern: &str,
    params: &Params,
    method: &str,
) -> Result<Reply, ApiError> {
    let (id, body, query) = (param(params, "id"), ctx.body(), ctx.query());
    let partial = method == "PATCH";
    match (pattern, method) {
        ("groups/", _) => ctx.page(access::roles()),
        ("groups/{id}/", _) => {
            access::roles().into_iter().find(|r| r["id"] == json!(id)).map(Reply::ok).ok_or_else(ApiError::not_found)
        }

        ("users/", "GET") => ctx.page(users::list(services, caller, query).await?),
        ("users/", _) => Ok(Reply::created(users::create(services, caller, body, false).await?)),
        ("users/invite/", _) => {
            Ok(Reply::created(users::create(services, caller, body, true).await?).with_message("User invited"))
        }
        ("users/{id}/activate/", _) => {
            Ok(Reply::ok(users::activate(services, caller, id, body).await?).with_message("User activated"))
        }
        ("users/{id}/", "GET") => Ok(Reply::ok(users::get(services, caller, id).await?.summary_json())),
        ("users/{id}/", "DELETE") => users::delete(services, caller, id).await.map(|()| Reply::no_content()),
        ("users/{id}/", _) => Ok(Reply::ok(users::update(services, caller, id, body, partial).await?)),

        ("accounts/", "GET") => ctx.page(accounts::list_accounts(services, caller, query).await?),
        ("accounts/", _) => Ok(Reply::created(accounts::create_account(services, caller, body).await?)),
        ("accounts/{id}/", "GET") => Ok(Reply::ok(accounts::get_account(services, caller, id).await?)),
        ("accounts/{id}/", "DELETE") => {
            accounts::delete_account(services, caller, id).await.map(|()| Reply::no_content())
        }
        ("accounts/{id}/", _) => Ok(Reply::ok(accounts::update_account(services, caller, id, body, partial).await?)),

        ("subscriptions/by-account/{account_id}/", _) => {
            ctx.page(subscriptions::by_account(services, caller, param(params, "account_id")).await?)
        }
        ("subscriptions/", "GET") => ctx.page(subscriptions::list(services, caller, query).await?),
        ("subscriptions/", _) => Ok(Reply::created(subscriptions::create(services, caller, body).await?)),
        ("subscriptions/{id}/", "GET") => Ok(Reply::ok(subscriptions::get(services, caller, id).await?.to_json())),
        ("subscriptions/{id}/", "DELETE") => {
            subscriptions::delete(services, caller, id).await.map(|()| Reply::no_content())
        }
        ("subscriptions/{id}/", _) => Ok(Reply::ok(subscriptions::update(services, caller, id, body, partial).await?)),

        ("site-access/", "GET") => ctx.page(sites::list_access(services, caller, query).await?),
        ("site-access/", _) => Ok(Reply::created(sites::grant_access(services, caller, body).await?)),
        ("site-access/{id}/", "GET") => Ok(Reply::ok(sites::find_access(services, caller, id).await?.to_json())),
        ("site-access/{id}/", _) => sites::revoke_access(services, caller, id).await.map(|()| Reply::no_content()),

        ("sites/", "GET") => ctx.page(sites::list_sites(services, caller, query).await?),
        ("sites/", _) => Ok(Reply::created(sites::create_site(services, caller, body).await?)),
        ("sites/{id}/sectors/", _) => ctx.page(sites::site_sectors(services, caller, id).await?),
        ("sites/{id}/set_active/", _) => Ok(Reply::ok(sites::set_active(services, caller, id).await?)),
        ("sites/{id}/select_sectors/", _) => Ok(Reply::ok(sites::select_sectors(services, caller, id, body).await?)),
        ("sites/{id}/", "GET") => Ok(Reply::ok(sites::visible_site(services, caller, id).await?.to_json())),
        ("sites/{id}/", "DELETE") => sites::delete_site(services, caller, id).await.map(|()| Reply::no_content()),
        ("sites/{id}/", _) => Ok(Reply::ok(sites::update_site(services, caller, id, body, partial).await?)),

        ("sectors/", "GET") => ctx.page(sites::list_sectors(services, caller, query).await?),
        ("sectors/", _) => Ok(Reply::created(sites::create_sector(services, caller, body).await?)),
        ("sectors/{id}/", "GET") => Ok(Reply::ok(sites::visible_sector(services, caller, id).await?.to_json())),
        ("sectors/{id}/", "DELETE") => sites::delete_sector(services, caller, id).await.map(|()| Reply::no_content()),
        ("sectors/{id}/", _) => Ok(Reply::ok(sites::update_sector(services, caller, id, body, partial).await?)),

        _ => Err(ApiError::not_found()),
    }
}
