//! `/api/v1/system/`: AI job progress, prompts, and the account's AI provider settings. The
//! routes and their contract, over [`crate::jobs`], [`crate::ai::prompts`],
//! [`crate::ai::settings`] and [`crate::ai::test_image`].

use axum::extract::{Path, State};

use crate::ai::prompts::{NewPrompt, PromptAnswer, PromptChange, PromptReset};
use crate::ai::settings::{ConnectionTest, ImageGenerationAnswer, IntegrationSettingsAnswer, SettingsInput};
use crate::ai::test_image::{TestImage, TestImageAnswer};
use crate::ai::{prompts, settings, test_image};
use crate::http::openapi::{Data, Paged};
use crate::http::{AppState, Caller, Ctx, Module, Reply};
use crate::jobs::JobProgress;
use crate::throttle::scopes::{System, SystemAdmin};
use crate::validation::Submitted;
use crate::{ApiError, Services, jobs};

type Answer = Result<Reply, ApiError>;

/// An AI job's state and progress (the `task_id` an AI action answered).
#[utoipa::path(get, path = "/api/v1/system/settings/task_progress/{task_id}/",
    responses((status = 200, description = "The job's progress", body = Data<JobProgress>)))]
async fn task_progress(State(s): State<AppState>, caller: Caller<System>, Path(task_id): Path<String>) -> Answer {
    let job = jobs::load(&s, caller.account_id(), &task_id).await?.ok_or_else(ApiError::not_found)?;
    Ok(Reply::ok(job.progress_json()))
}

/// One provider's settings (`openai`, `runware`, `image_generation`), the key masked.
#[utoipa::path(get, path = "/api/v1/system/settings/integrations/{pk}/",
    responses((status = 200, description = "The settings", body = Data<IntegrationSettingsAnswer>)))]
async fn integration(State(s): State<AppState>, caller: Caller<SystemAdmin>, Path(pk): Path<String>) -> Answer {
    Ok(Reply::ok(settings::get(&s, &caller, &pk).await?))
}

async fn save_settings(s: &Services, caller: &Caller<SystemAdmin>, pk: &str, body: Submitted<SettingsInput>) -> Answer {
    Ok(Reply::ok(settings::save(s, caller, pk, body).await?).with_message("Settings saved"))
}

async fn prompt_of(s: &Services, caller: &Caller<System>, prompt_type: &str) -> Answer {
    Ok(Reply::ok(prompts::get(s, caller.account_id(), prompt_type).await?))
}

/// Saves one provider's settings.
#[utoipa::path(put, path = "/api/v1/system/settings/integrations/{pk}/", request_body = SettingsInput,
    responses((status = 200, description = "The settings as saved", body = Data<IntegrationSettingsAnswer>)))]
async fn put_integration(
    State(s): State<AppState>,
    caller: Caller<SystemAdmin>,
    Path(pk): Path<String>,
    body: Submitted<SettingsInput>,
) -> Answer {
    save_settings(&s, &caller, &pk, body).await
}

/// Saves one provider's settings (the original's action route).
#[utoipa::path(post, path = "/api/v1/system/settings/integrations/{pk}/save/", request_body = SettingsInput,
    responses((status = 200, description = "The settings as saved", body = Data<IntegrationSettingsAnswer>)))]
async fn save_integration(
    State(s): State<AppState>,
    caller: Caller<SystemAdmin>,
    Path(pk): Path<String>,
    body: Submitted<SettingsInput>,
) -> Answer {
    save_settings(&s, &caller, &pk, body).await
}

/// Checks the saved settings against the provider.
#[utoipa::path(post, path = "/api/v1/system/settings/integrations/{pk}/test/",
    responses((status = 200, description = "What the provider answered", body = Data<ConnectionTest>)))]
async fn test_integration(State(s): State<AppState>, caller: Caller<SystemAdmin>, Path(pk): Path<String>) -> Answer {
    Ok(Reply::ok(settings::test_connection(&s, &caller, &pk).await?))
}

/// Generates one test image with the saved settings.
#[utoipa::path(post, path = "/api/v1/system/settings/integrations/{pk}/generate/", request_body = TestImage,
    responses((status = 200, description = "The image", body = Data<TestImageAnswer>)))]
async fn generate_test_image(
    State(s): State<AppState>,
    caller: Caller<SystemAdmin>,
    Path(pk): Path<String>,
    body: Submitted<TestImage>,
) -> Answer {
    let image = test_image::generate(&s, &caller, &pk, body).await?;
    Ok(Reply::ok(image).with_message("Test image generated"))
}

/// The image generation settings the writer uses.
#[utoipa::path(get, path = "/api/v1/system/integrations/image_generation/",
    responses((status = 200, description = "The settings", body = Data<ImageGenerationAnswer>)))]
async fn image_generation(State(s): State<AppState>, caller: Caller<System>) -> Answer {
    Ok(Reply::ok(settings::image_generation(&s, caller.account_id()).await?))
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
    [task_progress],
    [integration, put_integration],
    [save_integration],
    [test_integration],
    [generate_test_image],
    [image_generation],
    [list_prompts, create_prompt],
    [save_prompt],
    [reset_prompt],
    [prompt_by_type],
    [prompt, update_prompt, delete_prompt],
}

/// The system function's part of the API.
pub const MODULE: Module = Module {
    tag: "system",
    description: "AI job progress, prompts and the account's AI provider settings.",
    routes,
    serve,
};
