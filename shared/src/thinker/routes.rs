//! `/api/v1/system/` for the thinker: prompts, author profiles and strategies (the original's
//! "Thinker" module), served by the system function and switched by the account's `thinker`
//! module switch. The collections' five routes are declared by [`crate::crud`].

use axum::extract::{Path, State};

use super::author_profiles::{self, AuthorProfileAnswer};
use super::strategies::{self, StrategyAnswer};
use crate::ai::prompts::{self, NewPrompt, PromptAnswer, PromptChange, PromptReset};
use crate::crud;
use crate::http::openapi::{Data, Paged};
use crate::http::{AppState, Caller, Ctx, Module, Reply};
use crate::throttle::scopes::System;
use crate::validation::Submitted;
use crate::{ApiError, Services};

type Answer = Result<Reply, ApiError>;

crud!(
    author_profile,
    list: "/api/v1/system/author-profiles/",
    item: "/api/v1/system/author-profiles/{id}/",
    scope: System,
    answer: AuthorProfileAnswer,
    params: AuthorProfileFilters,
    index: author_profiles::list,
    create: author_profiles::NewAuthorProfile => author_profiles::create,
    show: author_profiles::show,
    update: author_profiles::NewAuthorProfile, author_profiles::AuthorProfileChanges => author_profiles::update,
    remove: author_profiles::delete,
);

crud!(
    strategy,
    list: "/api/v1/system/strategies/",
    item: "/api/v1/system/strategies/{id}/",
    scope: System,
    answer: StrategyAnswer,
    params: StrategyFilters,
    index: strategies::list,
    create: strategies::NewStrategy => strategies::create,
    show: strategies::show,
    update: strategies::NewStrategy, strategies::StrategyChanges => strategies::update,
    remove: strategies::delete,
);

/// The filters of `author-profiles/`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct AuthorProfileFilters {
    is_active: Option<bool>,
    /// The language, any case.
    language: Option<String>,
}

/// The filters of `strategies/`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct StrategyFilters {
    is_active: Option<bool>,
    /// A sector's id (`sector_id` too).
    sector: Option<String>,
}

async fn prompt_of(s: &Services, caller: &Caller<System>, prompt_type: &str) -> Answer {
    Ok(Reply::ok(prompts::get(s, caller.account_id(), prompt_type).await?))
}

/// The account's prompts (its own, or the defaults).
#[utoipa::path(get, path = "/api/v1/system/prompts/", responses((status = 200, description = "Prompts", body = Paged<PromptAnswer>)))]
async fn list_prompts(State(s): State<AppState>, caller: Caller<System>, ctx: Ctx) -> Answer {
    ctx.page(prompts::list(&s, caller.account_id()).await?)
}

/// Saves a prompt.
#[utoipa::path(post, path = "/api/v1/system/prompts/", request_body = NewPrompt,
    responses((status = 201, description = "The prompt", body = Data<PromptAnswer>)))]
async fn create_prompt(State(s): State<AppState>, caller: Caller<System>, body: Submitted<NewPrompt>) -> Answer {
    Ok(Reply::created(prompts::save(&s, &caller, body).await?).with_message("Prompt saved"))
}

/// Saves a prompt (the original's action route).
#[utoipa::path(post, path = "/api/v1/system/prompts/save/", request_body = NewPrompt,
    responses((status = 200, description = "The prompt", body = Data<PromptAnswer>)))]
async fn save_prompt(State(s): State<AppState>, caller: Caller<System>, body: Submitted<NewPrompt>) -> Answer {
    Ok(Reply::ok(prompts::save(&s, &caller, body).await?).with_message("Prompt saved"))
}

/// Puts a prompt back to the default.
#[utoipa::path(post, path = "/api/v1/system/prompts/reset/", request_body = PromptReset,
    responses((status = 200, description = "The default prompt", body = Data<PromptAnswer>)))]
async fn reset_prompt(State(s): State<AppState>, caller: Caller<System>, body: Submitted<PromptReset>) -> Answer {
    Ok(Reply::ok(prompts::reset(&s, &caller, body).await?).with_message("Prompt reset to the default"))
}

/// One prompt by type.
#[utoipa::path(get, path = "/api/v1/system/prompts/by_type/{prompt_type}/",
    responses((status = 200, description = "The prompt", body = Data<PromptAnswer>)))]
async fn prompt_by_type(State(s): State<AppState>, caller: Caller<System>, Path(prompt_type): Path<String>) -> Answer {
    prompt_of(&s, &caller, &prompt_type).await
}

/// One prompt.
#[utoipa::path(get, path = "/api/v1/system/prompts/{prompt_type}/",
    responses((status = 200, description = "The prompt", body = Data<PromptAnswer>)))]
async fn prompt(State(s): State<AppState>, caller: Caller<System>, Path(prompt_type): Path<String>) -> Answer {
    prompt_of(&s, &caller, &prompt_type).await
}

/// Changes a prompt.
#[utoipa::path(method(put, patch), path = "/api/v1/system/prompts/{prompt_type}/", request_body = PromptChange,
    responses((status = 200, description = "The prompt", body = Data<PromptAnswer>)))]
async fn update_prompt(
    State(s): State<AppState>,
    caller: Caller<System>,
    Path(prompt_type): Path<String>,
    body: Submitted<PromptChange>,
) -> Answer {
    Ok(Reply::ok(prompts::update(&s, &caller, &prompt_type, body).await?).with_message("Prompt saved"))
}

/// Deletes the account's own prompt (the default applies again).
#[utoipa::path(delete, path = "/api/v1/system/prompts/{prompt_type}/", responses((status = 204, description = "Deleted")))]
async fn delete_prompt(State(s): State<AppState>, caller: Caller<System>, Path(prompt_type): Path<String>) -> Answer {
    prompts::delete(&s, &caller, &prompt_type).await?;
    Ok(Reply::no_content())
}

crate::module_routes! {
    [list_prompts, create_prompt],
    [save_prompt],
    [reset_prompt],
    [prompt_by_type],
    [prompt, update_prompt, delete_prompt],
    [author_profile::list, author_profile::create],
    [author_profile::get, author_profile::update, author_profile::delete],
    [strategy::list, strategy::create],
    [strategy::get, strategy::update, strategy::delete],
}

/// The account's switch of the thinker (`settings/modules/enable/`).
pub const MODULE_SWITCH: &str = "thinker";

/// The thinker's part of the API (served by the system function).
pub const MODULE: Module = Module {
    tag: "thinker",
    description: "Prompts, author profiles and content strategies.",
    switch: Some(MODULE_SWITCH),
    routes,
    serve,
};
