//! `/api/v1/account/`: the account's settings, its team and its usage analytics. The routes and
//! their contract, over [`crate::settings`], [`crate::accounts::users`] and [`crate::usage`].

use axum::extract::{Path, State};

use crate::accounts::{UserSummary, users};
use crate::http::openapi::{Data, Paged};
use crate::http::{AppState, Caller, Ctx, Module, Reply};
use crate::throttle::scopes::Default as Scope;
use crate::usage::Analytics;
use crate::validation::Submitted;
use crate::{ApiError, settings, usage};

type Answer = Result<Reply, ApiError>;

/// The account's team.
#[utoipa::path(get, path = "/api/v1/account/team/", responses((status = 200, description = "Members", body = Paged<UserSummary>)))]
async fn team(State(s): State<AppState>, caller: Caller<Scope>, ctx: Ctx) -> Answer {
    ctx.page(users::list(&s, &caller, ctx.query()).await?)
}

/// Adds a member.
#[utoipa::path(post, path = "/api/v1/account/team/", request_body = users::NewUser,
    responses((status = 201, description = "The member", body = Data<UserSummary>)))]
async fn add_member(State(s): State<AppState>, caller: Caller<Scope>, body: Submitted<users::NewUser>) -> Answer {
    Ok(Reply::created(users::create(&s, &caller, body).await?))
}

/// Removes a member.
#[utoipa::path(delete, path = "/api/v1/account/team/{id}/", responses((status = 204, description = "Removed")))]
async fn remove_member(State(s): State<AppState>, caller: Caller<Scope>, Path(id): Path<String>) -> Answer {
    users::delete(&s, &caller, &id).await.map(|()| Reply::no_content())
}

/// Credits used and AI operations run, by day and by operation.
#[utoipa::path(get, path = "/api/v1/account/usage/analytics/",
    responses((status = 200, description = "Usage", body = Data<Analytics>)))]
async fn analytics(State(s): State<AppState>, caller: Caller<Scope>, ctx: Ctx) -> Answer {
    Ok(Reply::ok(usage::analytics(&s, &caller, ctx.query()).await?))
}

crate::module_routes! {
    [settings::get, settings::patch],
    [team, add_member],
    [remove_member],
    [analytics],
}

/// The account function's part of the API.
pub const MODULE: Module = Module {
    tag: "account",
    description: "The account's settings, team and usage analytics.",
    switch: None,
    routes,
    serve,
};
