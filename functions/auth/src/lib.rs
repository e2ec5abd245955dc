//! `/api/v1/auth/`: credentials, users, accounts, subscriptions, sites, sectors, site access,
//! roles and the public reference data. A thin adapter from HTTP to the domain crate: its routes,
//! and their contract in the OpenAPI document.

use igny8_domain::accounts::{AccountAnswer, PlanAnswer, UserSummary};
use igny8_domain::reference::{IndustryAnswer, SeedKeywordAnswer};
use igny8_domain::sites::{SectorAnswer, SiteAccessAnswer, SiteAnswer};
use igny8_domain::subscriptions::SubscriptionAnswer;
use std::collections::HashMap;

use axum::extract::{Path, State};
use http::Method;
use igny8_domain::accounts::{self, ChangePassword, LoginInput, RegisterInput, users};
use igny8_domain::http::openapi::{Data, Paged};
use igny8_domain::http::{Anonymous, AppState, Caller, Ctx, JsonBody, Module, Principal, RawBody, Reply};
use igny8_domain::throttle::scopes::{Auth, AuthStrict, ContentRead};
use igny8_domain::{ApiError, access, reference, sites, subscriptions};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

type Answer = Result<Reply, ApiError>;

fn partial(method: &Method) -> bool {
    method == Method::PATCH
}

// Credentials.

/// Opens an account on the free plan and signs its owner in.
#[utoipa::path(post, path = "/api/v1/auth/register/", security(()), request_body = Value,
    responses((status = 201, description = "The user, the account and tokens", body = Data<Value>)))]
async fn register(State(s): State<AppState>, _: Anonymous<Auth>, JsonBody(input): JsonBody<RegisterInput>) -> Answer {
    Ok(Reply::created(accounts::register(&s, input, accounts::OpenedBy::SelfRegistration).await?)
        .with_message("Registration successful"))
}

/// Signs in with email and password.
#[utoipa::path(post, path = "/api/v1/auth/login/", security(()), request_body = Value,
    responses((status = 200, description = "The user and tokens", body = Data<Value>)))]
async fn login(State(s): State<AppState>, _: Anonymous<Auth>, JsonBody(input): JsonBody<LoginInput>) -> Answer {
    Ok(Reply::ok(accounts::login(&s, input).await?).with_message("Login successful"))
}

/// A new access token for a refresh token.
#[utoipa::path(post, path = "/api/v1/auth/refresh/", security(()), request_body = Value,
    responses((status = 200, description = "A new access token", body = Data<Value>)))]
async fn refresh(State(s): State<AppState>, _: Anonymous<Auth>, RawBody(body): RawBody) -> Answer {
    Ok(Reply::ok(accounts::refresh(&s, &body).await?))
}

/// Changes the caller's password; every token issued before stops working.
#[utoipa::path(post, path = "/api/v1/auth/change-password/", request_body = Value,
    responses((status = 200, description = "New tokens", body = Data<Value>)))]
async fn change_password(
    State(s): State<AppState>,
    principal: Principal<AuthStrict>,
    JsonBody(input): JsonBody<ChangePassword>,
) -> Answer {
    let data = accounts::change_password(&s, &principal, input).await?;
    Ok(Reply::ok(data).with_message("Password changed successfully"))
}

/// The caller: user, account, plan, and the sites the user may work on (`user.accessible_sites`).
#[utoipa::path(get, path = "/api/v1/auth/me/", responses((status = 200, description = "The caller", body = Data<Value>)))]
async fn me(State(s): State<AppState>, principal: Principal<Auth>) -> Answer {
    let own = HashMap::new();
    // The caller's own account, whatever its role: `account_id` is not read here.
    let caller = access::Caller::resolve(&s, principal.0.clone(), &own).await?;
    let (mut me, sites) = tokio::try_join!(accounts::me(&s, &principal), sites::list_sites(&s, &caller, &own))?;
    me["user"]["accessible_sites"] = Value::Array(sites);
    Ok(Reply::ok(me))
}

// Roles.

/// The roles a user may have.
#[utoipa::path(get, path = "/api/v1/auth/groups/", responses((status = 200, description = "The roles", body = Paged<Value>)))]
async fn groups(_: Caller<Auth>, ctx: Ctx) -> Answer {
    ctx.page(access::roles())
}

/// One role.
#[utoipa::path(get, path = "/api/v1/auth/groups/{id}/", responses((status = 200, description = "The role", body = Data<Value>)))]
async fn group(_: Caller<Auth>, Path(id): Path<String>) -> Answer {
    access::roles().into_iter().find(|r| r["id"] == json!(id)).map(Reply::ok).ok_or_else(ApiError::not_found)
}

// Users.

/// The account's users.
#[utoipa::path(get, path = "/api/v1/auth/users/", responses((status = 200, description = "Users", body = Paged<UserSummary>)))]
async fn list_users(State(s): State<AppState>, caller: Caller<Auth>, ctx: Ctx) -> Answer {
    ctx.page(users::list(&s, &caller, ctx.query()).await?)
}

/// Adds a user to the account.
#[utoipa::path(post, path = "/api/v1/auth/users/", request_body = Value,
    responses((status = 201, description = "The user", body = Data<UserSummary>)))]
async fn create_user(State(s): State<AppState>, caller: Caller<Auth>, RawBody(body): RawBody) -> Answer {
    Ok(Reply::created(users::create(&s, &caller, &body, false).await?))
}

/// Invites a user (created inactive until activated).
#[utoipa::path(post, path = "/api/v1/auth/users/invite/", request_body = Value,
    responses((status = 201, description = "The invited user", body = Data<UserSummary>)))]
async fn invite_user(State(s): State<AppState>, caller: Caller<Auth>, RawBody(body): RawBody) -> Answer {
    Ok(Reply::created(users::create(&s, &caller, &body, true).await?).with_message("User invited"))
}

/// Activates an invited user with a password.
#[utoipa::path(post, path = "/api/v1/auth/users/{id}/activate/", request_body = Value,
    responses((status = 200, description = "The user", body = Data<UserSummary>)))]
async fn activate_user(
    State(s): State<AppState>,
    caller: Caller<AuthStrict>,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Answer {
    Ok(Reply::ok(users::activate(&s, &caller, &id, &body).await?).with_message("User activated"))
}

/// One user.
#[utoipa::path(get, path = "/api/v1/auth/users/{id}/", responses((status = 200, description = "The user", body = Data<UserSummary>)))]
async fn user(State(s): State<AppState>, caller: Caller<Auth>, Path(id): Path<String>) -> Answer {
    Ok(Reply::ok(users::get(&s, &caller, &id).await?.summary_json()))
}

/// Changes a user (PUT replaces, PATCH changes what is sent).
#[utoipa::path(method(put, patch), path = "/api/v1/auth/users/{id}/", request_body = Value,
    responses((status = 200, description = "The user", body = Data<UserSummary>)))]
async fn update_user(
    State(s): State<AppState>,
    caller: Caller<Auth>,
    method: Method,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Answer {
    Ok(Reply::ok(users::update(&s, &caller, &id, &body, partial(&method)).await?))
}

/// Removes a user.
#[utoipa::path(delete, path = "/api/v1/auth/users/{id}/", responses((status = 204, description = "Removed")))]
async fn delete_user(State(s): State<AppState>, caller: Caller<Auth>, Path(id): Path<String>) -> Answer {
    users::delete(&s, &caller, &id).await.map(|()| Reply::no_content())
}

// Accounts.

/// Accounts the caller may see (its own; every account for the platform roles).
#[utoipa::path(get, path = "/api/v1/auth/accounts/", responses((status = 200, description = "Accounts", body = Paged<AccountAnswer>)))]
async fn list_accounts(State(s): State<AppState>, caller: Caller<Auth>, ctx: Ctx) -> Answer {
    ctx.page(accounts::list_accounts(&s, &caller, ctx.query()).await?)
}

/// Opens an account on any plan (platform roles).
#[utoipa::path(post, path = "/api/v1/auth/accounts/", request_body = Value,
    responses((status = 201, description = "The account", body = Data<AccountAnswer>)))]
async fn create_account(State(s): State<AppState>, caller: Caller<Auth>, RawBody(body): RawBody) -> Answer {
    Ok(Reply::created(accounts::create_account(&s, &caller, &body).await?))
}

/// One account.
#[utoipa::path(get, path = "/api/v1/auth/accounts/{id}/", responses((status = 200, description = "The account", body = Data<AccountAnswer>)))]
async fn account(State(s): State<AppState>, caller: Caller<Auth>, Path(id): Path<String>) -> Answer {
    Ok(Reply::ok(accounts::get_account(&s, &caller, &id).await?))
}

/// Changes an account.
#[utoipa::path(method(put, patch), path = "/api/v1/auth/accounts/{id}/", request_body = Value,
    responses((status = 200, description = "The account", body = Data<AccountAnswer>)))]
async fn update_account(
    State(s): State<AppState>,
    caller: Caller<Auth>,
    method: Method,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Answer {
    Ok(Reply::ok(accounts::update_account(&s, &caller, &id, &body, partial(&method)).await?))
}

/// Closes an account.
#[utoipa::path(delete, path = "/api/v1/auth/accounts/{id}/", responses((status = 204, description = "Closed")))]
async fn delete_account(State(s): State<AppState>, caller: Caller<Auth>, Path(id): Path<String>) -> Answer {
    accounts::delete_account(&s, &caller, &id).await.map(|()| Reply::no_content())
}

// Subscriptions.

/// One account's subscriptions.
#[utoipa::path(get, path = "/api/v1/auth/subscriptions/by-account/{account_id}/",
    responses((status = 200, description = "Subscriptions", body = Paged<SubscriptionAnswer>)))]
async fn subscriptions_by_account(
    State(s): State<AppState>,
    caller: Caller<Auth>,
    ctx: Ctx,
    Path(account_id): Path<String>,
) -> Answer {
    ctx.page(subscriptions::by_account(&s, &caller, &account_id).await?)
}

/// Subscriptions the caller may see.
#[utoipa::path(get, path = "/api/v1/auth/subscriptions/", responses((status = 200, description = "Subscriptions", body = Paged<SubscriptionAnswer>)))]
async fn list_subscriptions(State(s): State<AppState>, caller: Caller<Auth>, ctx: Ctx) -> Answer {
    ctx.page(subscriptions::list(&s, &caller, ctx.query()).await?)
}

/// Records a subscription.
#[utoipa::path(post, path = "/api/v1/auth/subscriptions/", request_body = Value,
    responses((status = 201, description = "The subscription", body = Data<SubscriptionAnswer>)))]
async fn create_subscription(State(s): State<AppState>, caller: Caller<Auth>, RawBody(body): RawBody) -> Answer {
    Ok(Reply::created(subscriptions::create(&s, &caller, &body).await?))
}

/// One subscription.
#[utoipa::path(get, path = "/api/v1/auth/subscriptions/{id}/",
    responses((status = 200, description = "The subscription", body = Data<SubscriptionAnswer>)))]
async fn subscription(State(s): State<AppState>, caller: Caller<Auth>, Path(id): Path<String>) -> Answer {
    Ok(Reply::ok(subscriptions::get(&s, &caller, &id).await?.to_json()))
}

/// Changes a subscription.
#[utoipa::path(method(put, patch), path = "/api/v1/auth/subscriptions/{id}/", request_body = Value,
    responses((status = 200, description = "The subscription", body = Data<SubscriptionAnswer>)))]
async fn update_subscription(
    State(s): State<AppState>,
    caller: Caller<Auth>,
    method: Method,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Answer {
    Ok(Reply::ok(subscriptions::update(&s, &caller, &id, &body, partial(&method)).await?))
}

/// Deletes a subscription.
#[utoipa::path(delete, path = "/api/v1/auth/subscriptions/{id}/", responses((status = 204, description = "Deleted")))]
async fn delete_subscription(State(s): State<AppState>, caller: Caller<Auth>, Path(id): Path<String>) -> Answer {
    subscriptions::delete(&s, &caller, &id).await.map(|()| Reply::no_content())
}

// Site access.

/// Which editors and viewers may work on which sites.
#[utoipa::path(get, path = "/api/v1/auth/site-access/", responses((status = 200, description = "Grants", body = Paged<SiteAccessAnswer>)))]
async fn list_access(State(s): State<AppState>, caller: Caller<Auth>, ctx: Ctx) -> Answer {
    ctx.page(sites::list_access(&s, &caller, ctx.query()).await?)
}

/// Grants a user a site.
#[utoipa::path(post, path = "/api/v1/auth/site-access/", request_body = Value,
    responses((status = 201, description = "The grant", body = Data<SiteAccessAnswer>)))]
async fn grant_access(State(s): State<AppState>, caller: Caller<Auth>, RawBody(body): RawBody) -> Answer {
    Ok(Reply::created(sites::grant_access(&s, &caller, &body).await?))
}

/// One grant.
#[utoipa::path(get, path = "/api/v1/auth/site-access/{id}/", responses((status = 200, description = "The grant", body = Data<SiteAccessAnswer>)))]
async fn access_grant(State(s): State<AppState>, caller: Caller<Auth>, Path(id): Path<String>) -> Answer {
    Ok(Reply::ok(sites::find_access(&s, &caller, &id).await?.to_json()))
}

/// Moves a grant to another user or site.
#[utoipa::path(method(put, patch), path = "/api/v1/auth/site-access/{id}/", request_body = Value,
    responses((status = 200, description = "The grant", body = Data<SiteAccessAnswer>)))]
async fn update_access(
    State(s): State<AppState>,
    caller: Caller<Auth>,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Answer {
    Ok(Reply::ok(sites::update_access(&s, &caller, &id, &body).await?))
}

/// Revokes a grant.
#[utoipa::path(delete, path = "/api/v1/auth/site-access/{id}/", responses((status = 204, description = "Revoked")))]
async fn revoke_access(State(s): State<AppState>, caller: Caller<Auth>, Path(id): Path<String>) -> Answer {
    sites::revoke_access(&s, &caller, &id).await.map(|()| Reply::no_content())
}

// Reference data (public).

/// The plans.
#[utoipa::path(get, path = "/api/v1/auth/plans/", security(()), responses((status = 200, description = "Plans", body = Paged<PlanAnswer>)))]
async fn plans(State(s): State<AppState>, _: Anonymous<ContentRead>, ctx: Ctx) -> Answer {
    ctx.page(reference::plans(&s).await?.iter().map(|p| p.to_json()).collect())
}

/// One plan.
#[utoipa::path(get, path = "/api/v1/auth/plans/{id}/", security(()), responses((status = 200, description = "The plan", body = Data<PlanAnswer>)))]
async fn plan(State(s): State<AppState>, _: Anonymous<ContentRead>, Path(id): Path<String>) -> Answer {
    Ok(Reply::ok(reference::plan(&s, &id).await?.ok_or_else(ApiError::not_found)?.to_json()))
}

/// The active industries and their sectors.
#[utoipa::path(get, path = "/api/v1/auth/industries/", security(()),
    responses((status = 200, description = "Industries", body = Paged<IndustryAnswer>)))]
async fn industries(State(s): State<AppState>, _: Anonymous<ContentRead>, ctx: Ctx) -> Answer {
    ctx.page(reference::industries(&s).await?.iter().filter(|i| i.is_active).map(|i| i.to_json()).collect())
}

/// One industry.
#[utoipa::path(get, path = "/api/v1/auth/industries/{id}/", security(()),
    responses((status = 200, description = "The industry", body = Data<IndustryAnswer>)))]
async fn industry(State(s): State<AppState>, _: Anonymous<ContentRead>, Path(id): Path<String>) -> Answer {
    Ok(Reply::ok(reference::industry(&s, &id).await?.ok_or_else(ApiError::not_found)?.to_json()))
}

/// The seed keyword library, searchable.
#[utoipa::path(get, path = "/api/v1/auth/seed-keywords/", security(()),
    responses((status = 200, description = "Seed keywords", body = Paged<SeedKeywordAnswer>)))]
async fn seed_keywords(State(s): State<AppState>, _: Anonymous<ContentRead>, ctx: Ctx) -> Answer {
    ctx.page(reference::search_seed_keywords(&s, ctx.query()).await?)
}

/// One seed keyword.
#[utoipa::path(get, path = "/api/v1/auth/seed-keywords/{id}/", security(()),
    responses((status = 200, description = "The seed keyword", body = Data<SeedKeywordAnswer>)))]
async fn seed_keyword(State(s): State<AppState>, _: Anonymous<ContentRead>, Path(id): Path<String>) -> Answer {
    Ok(Reply::ok(reference::seed_keyword(&s, &id).await?.ok_or_else(ApiError::not_found)?.to_json()))
}

// Sites and sectors.

/// The sites the caller may see.
#[utoipa::path(get, path = "/api/v1/auth/sites/", responses((status = 200, description = "Sites", body = Paged<SiteAnswer>)))]
async fn list_sites(State(s): State<AppState>, caller: Caller<Auth>, ctx: Ctx) -> Answer {
    ctx.page(sites::list_sites(&s, &caller, ctx.query()).await?)
}

/// Adds a site (up to the plan's limit).
#[utoipa::path(post, path = "/api/v1/auth/sites/", request_body = Value, responses((status = 201, description = "The site", body = Data<SiteAnswer>)))]
async fn create_site(State(s): State<AppState>, caller: Caller<Auth>, RawBody(body): RawBody) -> Answer {
    Ok(Reply::created(sites::create_site(&s, &caller, &body).await?))
}

/// A site's sectors.
#[utoipa::path(get, path = "/api/v1/auth/sites/{id}/sectors/", responses((status = 200, description = "Sectors", body = Paged<SectorAnswer>)))]
async fn site_sectors(State(s): State<AppState>, caller: Caller<Auth>, ctx: Ctx, Path(id): Path<String>) -> Answer {
    ctx.page(sites::site_sectors(&s, &caller, &id).await?)
}

/// Makes a site the account's active one.
#[utoipa::path(post, path = "/api/v1/auth/sites/{id}/set_active/", responses((status = 200, description = "The site", body = Data<SiteAnswer>)))]
async fn set_active(State(s): State<AppState>, caller: Caller<Auth>, Path(id): Path<String>) -> Answer {
    Ok(Reply::ok(sites::set_active(&s, &caller, &id).await?))
}

/// Chooses a site's sectors from its industry.
#[utoipa::path(post, path = "/api/v1/auth/sites/{id}/select_sectors/", request_body = Value,
    responses((status = 200, description = "The site's sectors", body = Data<Value>)))]
async fn select_sectors(
    State(s): State<AppState>,
    caller: Caller<Auth>,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Answer {
    Ok(Reply::ok(sites::select_sectors(&s, &caller, &id, &body).await?))
}

/// One site.
#[utoipa::path(get, path = "/api/v1/auth/sites/{id}/", responses((status = 200, description = "The site", body = Data<SiteAnswer>)))]
async fn site(State(s): State<AppState>, caller: Caller<Auth>, Path(id): Path<String>) -> Answer {
    Ok(Reply::ok(sites::visible_site(&s, &caller, &id).await?.to_json()))
}

/// Changes a site.
#[utoipa::path(method(put, patch), path = "/api/v1/auth/sites/{id}/", request_body = Value,
    responses((status = 200, description = "The site", body = Data<SiteAnswer>)))]
async fn update_site(
    State(s): State<AppState>,
    caller: Caller<Auth>,
    method: Method,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Answer {
    Ok(Reply::ok(sites::update_site(&s, &caller, &id, &body, partial(&method)).await?))
}

/// Deletes a site and everything in it.
#[utoipa::path(delete, path = "/api/v1/auth/sites/{id}/", responses((status = 204, description = "Deleted")))]
async fn delete_site(State(s): State<AppState>, caller: Caller<Auth>, Path(id): Path<String>) -> Answer {
    sites::delete_site(&s, &caller, &id).await.map(|()| Reply::no_content())
}

/// The sectors the caller may see.
#[utoipa::path(get, path = "/api/v1/auth/sectors/", responses((status = 200, description = "Sectors", body = Paged<SectorAnswer>)))]
async fn list_sectors(State(s): State<AppState>, caller: Caller<Auth>, ctx: Ctx) -> Answer {
    ctx.page(sites::list_sectors(&s, &caller, ctx.query()).await?)
}

/// Adds a sector to a site.
#[utoipa::path(post, path = "/api/v1/auth/sectors/", request_body = Value, responses((status = 201, description = "The sector", body = Data<SectorAnswer>)))]
async fn create_sector(State(s): State<AppState>, caller: Caller<Auth>, RawBody(body): RawBody) -> Answer {
    Ok(Reply::created(sites::create_sector(&s, &caller, &body).await?))
}

/// One sector.
#[utoipa::path(get, path = "/api/v1/auth/sectors/{id}/", responses((status = 200, description = "The sector", body = Data<SectorAnswer>)))]
async fn sector(State(s): State<AppState>, caller: Caller<Auth>, Path(id): Path<String>) -> Answer {
    Ok(Reply::ok(sites::visible_sector(&s, &caller, &id).await?.to_json()))
}

/// Changes a sector.
#[utoipa::path(method(put, patch), path = "/api/v1/auth/sectors/{id}/", request_body = Value,
    responses((status = 200, description = "The sector", body = Data<SectorAnswer>)))]
async fn update_sector(
    State(s): State<AppState>,
    caller: Caller<Auth>,
    method: Method,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Answer {
    Ok(Reply::ok(sites::update_sector(&s, &caller, &id, &body, partial(&method)).await?))
}

/// Deletes a sector and every module's records in it.
#[utoipa::path(delete, path = "/api/v1/auth/sectors/{id}/", responses((status = 204, description = "Deleted")))]
async fn delete_sector(State(s): State<AppState>, caller: Caller<Auth>, Path(id): Path<String>) -> Answer {
    sites::delete_sector(&s, &caller, &id).await.map(|()| Reply::no_content())
}

/// The auth function's routes and their documentation.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(change_password))
        .routes(routes!(me))
        .routes(routes!(groups))
        .routes(routes!(group))
        .routes(routes!(list_users, create_user))
        .routes(routes!(invite_user))
        .routes(routes!(activate_user))
        .routes(routes!(user, update_user, delete_user))
        .routes(routes!(list_accounts, create_account))
        .routes(routes!(account, update_account, delete_account))
        .routes(routes!(subscriptions_by_account))
        .routes(routes!(list_subscriptions, create_subscription))
        .routes(routes!(subscription, update_subscription, delete_subscription))
        .routes(routes!(list_access, grant_access))
        .routes(routes!(access_grant, update_access, revoke_access))
        .routes(routes!(plans))
        .routes(routes!(plan))
        .routes(routes!(industries))
        .routes(routes!(industry))
        .routes(routes!(seed_keywords))
        .routes(routes!(seed_keyword))
        .routes(routes!(list_sites, create_site))
        .routes(routes!(site_sectors))
        .routes(routes!(set_active))
        .routes(routes!(select_sectors))
        .routes(routes!(site, update_site, delete_site))
        .routes(routes!(list_sectors, create_sector))
        .routes(routes!(sector, update_sector, delete_sector))
}

/// The auth function's part of the API.
pub const MODULE: Module = Module {
    tag: "auth",
    description: "Sign-up, sign-in and tokens; users, accounts, subscriptions; sites, sectors and site access; \
         the public plans, industries and seed keywords.",
    routes,
};
