//! `/api/v1/automation/`: a site's automation settings, its runs (start, pause, resume, cancel)
//! and what they did. Every route names the site (`site_id`) or the run (`run_id`); members
//! who read the site read its automation, those who may write it run and change it.

use axum::extract::State;

use super::config::{self, ConfigAnswer, ConfigChange};
use super::progress::{self, Estimate, Processing, StageOverview};
use super::runs::{self, RunAction, RunAnswer, RunEvent, RunRequest};
use crate::ApiError;

use super::MODULE_SWITCH;
use crate::http::openapi::{Data, Paged};
use crate::http::{AppState, Caller, Ctx, Module, Reply};
use crate::throttle::scopes::Automation;
use crate::validation::Submitted;

type Answer = Result<Reply, ApiError>;

fn site_of(ctx: &Ctx) -> Result<String, ApiError> {
    ctx.query()
        .get("site_id")
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::field("site_id", "This query parameter is required."))
}

/// A site's automation settings (the defaults until changed).
#[utoipa::path(get, path = "/api/v1/automation/config/",
    params(("site_id" = String, Query, description = "The site")),
    responses((status = 200, description = "The settings", body = Data<ConfigAnswer>)))]
async fn get_config(State(s): State<AppState>, caller: Caller<Automation>, ctx: Ctx) -> Answer {
    Reply::data(&config::show(&s, &caller, &site_of(&ctx)?).await?)
}

/// Changes a site's automation settings: what is sent (`PUT` and `PATCH` alike).
#[utoipa::path(method(put, patch), path = "/api/v1/automation/update_config/", request_body = ConfigChange,
    responses((status = 200, description = "The settings as saved", body = Data<ConfigAnswer>)))]
async fn update_config(State(s): State<AppState>, caller: Caller<Automation>, body: Submitted<ConfigChange>) -> Answer {
    Ok(Reply::data(&config::update(&s, &caller, body).await?)?.with_message("Automation settings saved"))
}

/// Starts a run of the site's pipeline now (409 while one is active).
#[utoipa::path(post, path = "/api/v1/automation/run_now/", request_body = RunRequest,
    responses((status = 201, description = "The run, queued", body = Data<RunAnswer>)))]
async fn run_now(State(s): State<AppState>, caller: Caller<Automation>, body: Submitted<RunRequest>) -> Answer {
    Ok(Reply::created(runs::run_now(&s, &caller, body).await?).with_message("Automation run started"))
}

/// The site's active run, else its last one (`null` before any).
#[utoipa::path(get, path = "/api/v1/automation/current_run/",
    params(("site_id" = String, Query, description = "The site")),
    responses((status = 200, description = "The run", body = Data<Option<RunAnswer>>)))]
async fn current_run(State(s): State<AppState>, caller: Caller<Automation>, ctx: Ctx) -> Answer {
    Ok(Reply::ok(runs::current(&s, &caller, &site_of(&ctx)?).await?))
}

/// The site's runs, newest first.
#[utoipa::path(get, path = "/api/v1/automation/history/",
    params(("site_id" = String, Query, description = "The site")),
    responses((status = 200, description = "One page of runs", body = Paged<RunAnswer>)))]
async fn history(State(s): State<AppState>, caller: Caller<Automation>, ctx: Ctx) -> Answer {
    ctx.page(runs::history(&s, &caller, &site_of(&ctx)?).await?)
}

/// A run's events, in order: started, each stage started, finished or skipped (its items and
/// credits), jobs that failed, pauses, the end.
#[utoipa::path(get, path = "/api/v1/automation/logs/",
    params(("run_id" = String, Query, description = "The run")),
    responses((status = 200, description = "One page of events", body = Paged<RunEvent>)))]
async fn logs(State(s): State<AppState>, caller: Caller<Automation>, ctx: Ctx) -> Answer {
    let run_id = ctx.query().get("run_id").cloned().unwrap_or_default();
    if run_id.trim().is_empty() {
        return Err(ApiError::field("run_id", "This query parameter is required."));
    }
    ctx.page(runs::logs(&s, &caller, run_id.trim()).await?)
}

/// Pauses a run at its next job boundary (its jobs in flight finish).
#[utoipa::path(post, path = "/api/v1/automation/pause/", request_body = RunAction,
    responses((status = 200, description = "The run", body = Data<RunAnswer>)))]
async fn pause(State(s): State<AppState>, caller: Caller<Automation>, body: Submitted<RunAction>) -> Answer {
    Ok(Reply::ok(runs::pause(&s, &caller, body).await?).with_message("The run pauses at its next step"))
}

/// Resumes a paused run where it stopped.
#[utoipa::path(post, path = "/api/v1/automation/resume/", request_body = RunAction,
    responses((status = 200, description = "The run", body = Data<RunAnswer>)))]
async fn resume(State(s): State<AppState>, caller: Caller<Automation>, body: Submitted<RunAction>) -> Answer {
    Ok(Reply::ok(runs::resume(&s, &caller, body).await?).with_message("Run resumed"))
}

/// Cancels a run: it stops, and what it did stays.
#[utoipa::path(post, path = "/api/v1/automation/cancel/", request_body = RunAction,
    responses((status = 200, description = "The run", body = Data<RunAnswer>)))]
async fn cancel(State(s): State<AppState>, caller: Caller<Automation>, body: Submitted<RunAction>) -> Answer {
    Ok(Reply::ok(runs::cancel(&s, &caller, body).await?).with_message("Run cancelled"))
}

/// The items waiting at each stage of the site's pipeline.
#[utoipa::path(get, path = "/api/v1/automation/pipeline_overview/",
    params(("site_id" = String, Query, description = "The site")),
    responses((status = 200, description = "The stages", body = Data<Vec<StageOverview>>)))]
async fn pipeline_overview(State(s): State<AppState>, caller: Caller<Automation>, ctx: Ctx) -> Answer {
    Reply::data(&progress::overview(&s, &caller, &site_of(&ctx)?).await?)
}

/// What a run of the site would take and reserve now, stage by stage, against the balance and
/// the credit ceiling (how it estimates: the module documentation of `automation::progress`).
#[utoipa::path(get, path = "/api/v1/automation/estimate/",
    params(("site_id" = String, Query, description = "The site")),
    responses((status = 200, description = "The estimate", body = Data<Estimate>)))]
async fn estimate(State(s): State<AppState>, caller: Caller<Automation>, ctx: Ctx) -> Answer {
    Reply::data(&progress::estimate(&s, &caller, &site_of(&ctx)?).await?)
}

/// The active run's stage and its jobs in flight, with progress (`null` without an active run).
#[utoipa::path(get, path = "/api/v1/automation/current_processing/",
    params(("site_id" = String, Query, description = "The site")),
    responses((status = 200, description = "What is in flight", body = Data<Option<Processing>>)))]
async fn current_processing(State(s): State<AppState>, caller: Caller<Automation>, ctx: Ctx) -> Answer {
    Reply::data(&progress::processing(&s, &caller, &site_of(&ctx)?).await?)
}

crate::module_routes! {
    [pipeline_overview],
    [estimate],
    [current_processing],
    [get_config],
    [update_config],
    [run_now],
    [current_run],
    [history],
    [logs],
    [pause],
    [resume],
    [cancel],
}

/// The automation function's part of the API.
pub const MODULE: Module = Module {
    tag: "automation",
    description: "A site's content pipeline run by itself: settings, runs (pause, resume, cancel), history and logs.",
    switch: Some(MODULE_SWITCH),
    routes,
    serve,
};
