//! `/api/v1/auth/` (the original's auth app): credentials, users, accounts, subscriptions,
//! sites, sectors, site access, roles and the public reference data. The routes and their
//! contract; the collections' five routes are declared by [`crate::crud`], every other handler
//! is here, over the use cases of [`crate::accounts`], [`crate::sites`],
//! [`crate::subscriptions`] and [`crate::reference`].

use std::collections::HashMap;

use axum::extract::{Path, State};
use serde_json::Value;

use super::service::{AccessToken, Me, RefreshInput, Registered, SignedIn, Tokens};
use super::{AccountAnswer, ChangePassword, LoginInput, PlanAnswer, RegisterInput, UserSummary, manage, users};
use crate::access::RoleAnswer;
use crate::http::openapi::{Data, Paged, Problem};
use crate::http::{Anonymous, AppState, Caller, Ctx, JsonBody, Module, Principal, Reading, Reply};
use crate::reference::{IndustryAnswer, SeedKeywordAnswer};
use crate::sites::{SectorAnswer, SiteAccessAnswer, SiteAnswer};
use crate::subscriptions::SubscriptionAnswer;
use crate::throttle::scopes::{Auth, AuthStrict, ContentRead};
use crate::validation::Submitted;
use crate::{ApiError, access, accounts, crud, reference, sites, subscriptions};

type Answer = Result<Reply, ApiError>;

// Credentials.

/// Opens an account on the free plan and signs its owner in.
#[utoipa::path(post, path = "/api/v1/auth/register/", security(()), request_body = RegisterInput,
    responses((status = 201, description = "The user, its account and plan", body = Data<Registered>)))]
async fn register(State(s): State<AppState>, _: Anonymous<Auth>, JsonBody(input): JsonBody<RegisterInput>) -> Answer {
    Ok(Reply::created(accounts::register(&s, input, accounts::OpenedBy::SelfRegistration).await?)
        .with_message("Registration successful"))
}

/// Signs in with email and password.
#[utoipa::path(post, path = "/api/v1/auth/login/", security(()), request_body = LoginInput,
    responses((status = 200, description = "The user and tokens", body = Data<SignedIn>),
        (status = 401, description = "The email and password do not match an active user.", body = Problem)))]
async fn login(State(s): State<AppState>, _: Anonymous<Auth>, JsonBody(input): JsonBody<LoginInput>) -> Answer {
    Ok(Reply::ok(accounts::login(&s, input).await?).with_message("Login successful"))
}

/// A new access token for a refresh token.
#[utoipa::path(post, path = "/api/v1/auth/refresh/", security(()), request_body = RefreshInput,
    responses((status = 200, description = "A new access token", body = Data<AccessToken>),
        (status = 401, description = "The refresh token is invalid, expired or revoked.", body = Problem)))]
async fn refresh(State(s): State<AppState>, _: Anonymous<Auth>, JsonBody(input): JsonBody<RefreshInput>) -> Answer {
    Ok(Reply::ok(accounts::refresh(&s, input).await?))
}

/// Changes the caller's password; every token issued before stops working.
#[utoipa::path(post, path = "/api/v1/auth/change-password/", request_body = ChangePassword,
    responses((status = 200, description = "New tokens", body = Data<Tokens>)))]
async fn change_password(
    State(s): State<AppState>,
    principal: Principal<AuthStrict>,
    JsonBody(input): JsonBody<ChangePassword>,
) -> Answer {
    let data = accounts::change_password(&s, &principal, input).await?;
    Ok(Reply::ok(data).with_message("Password changed successfully"))
}

/// The caller: user, account, plan, and the sites the user may work on (`user.accessible_sites`).
#[utoipa::path(get, path = "/api/v1/auth/me/", responses((status = 200, description = "The caller", body = Data<Me>)))]
async fn me(State(s): State<AppState>, reading: Reading<Auth>) -> Answer {
    // The caller's own account, whatever its role: `account_id` is not read here. Its sites are
    // read while the caller is confirmed.
    let account_id = reading.own_account_id().to_owned();
    let (caller, sites) = reading.read_own(sites::all_sites(&s, &account_id)).await?;
    let visible = sites::visible_sites(&caller, sites, &HashMap::new());
    Ok(Reply::ok(accounts::me(&caller.user, &caller.account, visible)?))
}

// Roles.

/// The roles a user may have.
#[utoipa::path(get, path = "/api/v1/auth/groups/", responses((status = 200, description = "The roles", body = Paged<RoleAnswer>)))]
async fn groups(_: Caller<Auth>, ctx: Ctx) -> Answer {
    ctx.page(access::roles().into_iter().map(crate::http::answer).collect())
}

/// One role.
#[utoipa::path(get, path = "/api/v1/auth/groups/{id}/", responses((status = 200, description = "The role", body = Data<RoleAnswer>)))]
async fn group(_: Caller<Auth>, Path(id): Path<String>) -> Answer {
    let role = access::roles().into_iter().find(|r| crate::http::answer(r.id) == Value::String(id.clone()));
    role.map(|r| Reply::ok(crate::http::answer(r))).ok_or_else(ApiError::not_found)
}

// Users.

crud!(
    user,
    list: "/api/v1/auth/users/",
    item: "/api/v1/auth/users/{id}/",
    scope: Auth,
    answer: UserSummary,
    index: users::list,
    create: users::NewUser => users::create,
    show: users::show,
    update: users::UserFields, users::UserChanges => users::update,
    remove: users::delete,
);

/// Invites a user (created inactive until activated).
#[utoipa::path(post, path = "/api/v1/auth/users/invite/", request_body = users::Invitation,
    responses((status = 201, description = "The invited user", body = Data<UserSummary>)))]
async fn invite_user(State(s): State<AppState>, caller: Caller<Auth>, body: Submitted<users::Invitation>) -> Answer {
    Ok(Reply::created(users::invite(&s, &caller, body).await?).with_message("User invited"))
}

/// Activates an invited user with a password.
#[utoipa::path(post, path = "/api/v1/auth/users/{id}/activate/", request_body = users::Activation,
    responses((status = 200, description = "The user", body = Data<UserSummary>)))]
async fn activate_user(
    State(s): State<AppState>,
    caller: Caller<AuthStrict>,
    Path(id): Path<String>,
    body: Submitted<users::Activation>,
) -> Answer {
    Ok(Reply::ok(users::activate(&s, &caller, &id, body).await?).with_message("User activated"))
}

// Accounts.

crud!(
    account,
    list: "/api/v1/auth/accounts/",
    item: "/api/v1/auth/accounts/{id}/",
    scope: Auth,
    answer: AccountAnswer,
    index: manage::list_accounts,
    create: RegisterInput => manage::create_account,
    show: manage::get_account,
    update: manage::AccountFields, manage::AccountChanges => manage::update_account,
    remove: manage::delete_account,
);

// Subscriptions.

crud!(
    subscription,
    list: "/api/v1/auth/subscriptions/",
    item: "/api/v1/auth/subscriptions/{id}/",
    scope: Auth,
    answer: SubscriptionAnswer,
    index: subscriptions::list,
    create: subscriptions::SubscriptionFields => subscriptions::create,
    show: subscriptions::show,
    update: subscriptions::SubscriptionFields, subscriptions::SubscriptionChanges => subscriptions::update,
    remove: subscriptions::delete,
);

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

// Site access.

crud!(
    site_access,
    list: "/api/v1/auth/site-access/",
    item: "/api/v1/auth/site-access/{id}/",
    scope: Auth,
    answer: SiteAccessAnswer,
    index: sites::list_access,
    create: sites::NewGrant => sites::grant_access,
    show: sites::show_access,
    update: sites::GrantChanges, sites::GrantChanges => sites::update_access,
    remove: sites::revoke_access,
);

// Reference data (public).

/// The plans.
#[utoipa::path(get, path = "/api/v1/auth/plans/", security(()), responses((status = 200, description = "Plans", body = Paged<PlanAnswer>)))]
async fn plans(_: Anonymous<ContentRead>, ctx: Ctx) -> Answer {
    ctx.page(reference::plans()?.iter().map(|p| p.to_json()).collect())
}

/// One plan.
#[utoipa::path(get, path = "/api/v1/auth/plans/{id}/", security(()), responses((status = 200, description = "The plan", body = Data<PlanAnswer>)))]
async fn plan(_: Anonymous<ContentRead>, Path(id): Path<String>) -> Answer {
    Ok(Reply::ok(reference::plan(&id)?.ok_or_else(ApiError::not_found)?.to_json()))
}

/// The active industries and their sectors.
#[utoipa::path(get, path = "/api/v1/auth/industries/", security(()),
    responses((status = 200, description = "Industries", body = Paged<IndustryAnswer>)))]
async fn industries(_: Anonymous<ContentRead>, ctx: Ctx) -> Answer {
    ctx.page(reference::industries()?.iter().filter(|i| i.is_active).map(|i| i.to_json()).collect())
}

/// One industry.
#[utoipa::path(get, path = "/api/v1/auth/industries/{id}/", security(()),
    responses((status = 200, description = "The industry", body = Data<IndustryAnswer>)))]
async fn industry(_: Anonymous<ContentRead>, Path(id): Path<String>) -> Answer {
    Ok(Reply::ok(reference::industry(&id)?.ok_or_else(ApiError::not_found)?.to_json()))
}

/// The seed keyword library, searchable.
#[utoipa::path(get, path = "/api/v1/auth/seed-keywords/", security(()),
    responses((status = 200, description = "Seed keywords", body = Paged<SeedKeywordAnswer>)))]
async fn seed_keywords(_: Anonymous<ContentRead>, ctx: Ctx) -> Answer {
    ctx.page(reference::search_seed_keywords(ctx.query())?)
}

/// One seed keyword.
#[utoipa::path(get, path = "/api/v1/auth/seed-keywords/{id}/", security(()),
    responses((status = 200, description = "The seed keyword", body = Data<SeedKeywordAnswer>)))]
async fn seed_keyword(_: Anonymous<ContentRead>, Path(id): Path<String>) -> Answer {
    Ok(Reply::ok(reference::seed_keyword(&id)?.ok_or_else(ApiError::not_found)?.to_json()))
}

// Sites and sectors.

crud!(
    site,
    list: "/api/v1/auth/sites/",
    item: "/api/v1/auth/sites/{id}/",
    scope: Auth,
    answer: SiteAnswer,
    index: sites::list_sites,
    create: sites::NewSite => sites::create_site,
    show: sites::show_site,
    update: sites::NewSite, sites::SiteChanges => sites::update_site,
    remove: sites::delete_site,
);

crud!(
    sector,
    list: "/api/v1/auth/sectors/",
    item: "/api/v1/auth/sectors/{id}/",
    scope: Auth,
    answer: SectorAnswer,
    index: sites::list_sectors,
    create: sites::NewSector => sites::create_sector,
    show: sites::show_sector,
    update: sites::SectorFields, sites::SectorChanges => sites::update_sector,
    remove: sites::delete_sector,
);

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
#[utoipa::path(post, path = "/api/v1/auth/sites/{id}/select_sectors/", request_body = sites::SectorSelection,
    responses((status = 200, description = "The site's sectors", body = Data<sites::SectorsSelected>)))]
async fn select_sectors(
    State(s): State<AppState>,
    caller: Caller<Auth>,
    Path(id): Path<String>,
    body: Submitted<sites::SectorSelection>,
) -> Answer {
    Ok(Reply::ok(sites::select_sectors(&s, &caller, &id, body).await?))
}

crate::module_routes! {
    [register],
    [login],
    [refresh],
    [change_password],
    [me],
    [groups],
    [group],
    [user::list, user::create],
    [invite_user],
    [activate_user],
    [user::get, user::update, user::delete],
    [account::list, account::create],
    [account::get, account::update, account::delete],
    [subscriptions_by_account],
    [subscription::list, subscription::create],
    [subscription::get, subscription::update, subscription::delete],
    [site_access::list, site_access::create],
    [site_access::get, site_access::update, site_access::delete],
    [plans],
    [plan],
    [industries],
    [industry],
    [seed_keywords],
    [seed_keyword],
    [site::list, site::create],
    [site_sectors],
    [set_active],
    [select_sectors],
    [site::get, site::update, site::delete],
    [sector::list, sector::create],
    [sector::get, sector::update, sector::delete],
}

/// The auth function's part of the API.
pub const MODULE: Module = Module {
    tag: "auth",
    description: "Sign-up, sign-in and tokens; users, accounts, subscriptions; sites, sectors and site access; \
         the public plans, industries and seed keywords.",
    switch: None,
    routes,
    serve,
};
