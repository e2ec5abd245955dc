//! `/api/v1/system/`: AI job progress, the account's AI provider settings, the keyed settings
//! families, the module switches, the public status and ping, and request metrics. The routes
//! and their contract, over [`crate::jobs`], [`crate::ai::settings`], [`crate::ai::test_image`],
//! [`super::settings`], [`super::switches`], [`crate::health`] and [`crate::tracking`]. The
//! thinker's routes (prompts, author profiles, strategies) are [`crate::thinker::routes`].

use axum::extract::{Path, State};

use super::settings::{Family, ModuleSettingChanges, NewModuleSetting, NewSetting, SettingAnswer, SettingChanges};
use super::switches::{self, ModuleSwitches, SwitchChange};
use crate::ai::settings::{ConnectionTest, ImageGenerationAnswer, IntegrationSettingsAnswer, SettingsInput};
use crate::ai::test_image::{TestImage, TestImageAnswer};
use crate::ai::{settings, test_image};
use crate::crud;
use crate::http::openapi::Data;
use crate::http::{AppState, Caller, Module, Reply};
use crate::jobs::JobProgress;
use crate::throttle::scopes::{System, SystemAdmin};
use crate::tracking::RequestMetrics;
use crate::validation::FieldErrors;
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

/// The functions of one settings family, as [`crate::crud`] calls them.
macro_rules! family {
    ($name:ident, $family:expr, $new:ty, $changes:ty, $read:path, $read_changes:path) => {
        mod $name {
            use super::*;
            use std::collections::HashMap;

            pub async fn list(
                s: &Services,
                c: &crate::access::Caller,
                q: &HashMap<String, String>,
            ) -> Result<Vec<serde_json::Value>, ApiError> {
                super::super::settings::list(s, $family, c, q).await
            }
            pub async fn show(
                s: &Services,
                c: &crate::access::Caller,
                id: &str,
            ) -> Result<serde_json::Value, ApiError> {
                super::super::settings::show(s, $family, c, id).await
            }
            pub async fn create(
                s: &Services,
                c: &crate::access::Caller,
                body: Submitted<$new>,
            ) -> Result<serde_json::Value, ApiError> {
                super::super::settings::create(s, $family, c, $read(body)?).await
            }
            pub async fn update(
                s: &Services,
                c: &crate::access::Caller,
                id: &str,
                body: Submitted<$changes>,
            ) -> Result<serde_json::Value, ApiError> {
                super::super::settings::update(s, $family, c, id, $read_changes(body)?).await
            }
            pub async fn delete(s: &Services, c: &crate::access::Caller, id: &str) -> Result<(), ApiError> {
                super::super::settings::delete(s, $family, c, id).await
            }
        }
    };
}

fn read_module(body: Submitted<NewModuleSetting>) -> Result<NewModuleSetting, ApiError> {
    body.read()
}

fn read_module_changes(body: Submitted<ModuleSettingChanges>) -> Result<ModuleSettingChanges, ApiError> {
    body.read()
}

family!(
    system_family,
    Family::System,
    NewSetting,
    SettingChanges,
    super::super::settings::plain,
    super::super::settings::plain_changes
);
family!(
    account_family,
    Family::Account,
    NewSetting,
    SettingChanges,
    super::super::settings::plain,
    super::super::settings::plain_changes
);
family!(
    user_family,
    Family::User,
    NewSetting,
    SettingChanges,
    super::super::settings::plain,
    super::super::settings::plain_changes
);
family!(
    ai_family,
    Family::Ai,
    NewSetting,
    SettingChanges,
    super::super::settings::plain,
    super::super::settings::plain_changes
);
family!(
    module_family,
    Family::Modules,
    NewModuleSetting,
    ModuleSettingChanges,
    super::read_module,
    super::read_module_changes
);

crud!(
    system_setting,
    list: "/api/v1/system/settings/system/",
    item: "/api/v1/system/settings/system/{id}/",
    scope: System,
    answer: SettingAnswer,
    index: system_family::list,
    create: NewSetting => system_family::create,
    show: system_family::show,
    update: NewSetting, SettingChanges => system_family::update,
    remove: system_family::delete,
);

crud!(
    account_setting,
    list: "/api/v1/system/settings/account/",
    item: "/api/v1/system/settings/account/{id}/",
    scope: System,
    answer: SettingAnswer,
    index: account_family::list,
    create: NewSetting => account_family::create,
    show: account_family::show,
    update: NewSetting, SettingChanges => account_family::update,
    remove: account_family::delete,
);

crud!(
    user_setting,
    list: "/api/v1/system/settings/user/",
    item: "/api/v1/system/settings/user/{id}/",
    scope: System,
    answer: SettingAnswer,
    index: user_family::list,
    create: NewSetting => user_family::create,
    show: user_family::show,
    update: NewSetting, SettingChanges => user_family::update,
    remove: user_family::delete,
);

crud!(
    ai_setting,
    list: "/api/v1/system/settings/ai/",
    item: "/api/v1/system/settings/ai/{id}/",
    scope: System,
    answer: SettingAnswer,
    index: ai_family::list,
    create: NewSetting => ai_family::create,
    show: ai_family::show,
    update: NewSetting, SettingChanges => ai_family::update,
    remove: ai_family::delete,
);

crud!(
    module_setting,
    list: "/api/v1/system/settings/modules/",
    item: "/api/v1/system/settings/modules/{id}/",
    scope: System,
    answer: SettingAnswer,
    params: ModuleSettingFilters,
    index: module_family::list,
    create: NewModuleSetting => module_family::create,
    show: module_family::show,
    update: NewModuleSetting, ModuleSettingChanges => module_family::update,
    remove: module_family::delete,
);

/// The filters of `settings/modules/`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ModuleSettingFilters {
    /// One module's settings.
    module_name: Option<String>,
    key: Option<String>,
}

/// One module's settings, as `{module, settings: {key: value}}`.
#[utoipa::path(get, path = "/api/v1/system/settings/modules/module/{module_name}/",
    responses((status = 200, description = "The module's settings", body = Data<Object>)))]
async fn module_settings(State(s): State<AppState>, caller: Caller<System>, Path(module_name): Path<String>) -> Answer {
    Ok(Reply::ok(super::settings::of_module(&s, &caller, &module_name).await?))
}

/// The account's module switches (every member reads them).
#[utoipa::path(get, path = "/api/v1/system/settings/modules/enable/",
    responses((status = 200, description = "The switches", body = Data<ModuleSwitches>)))]
async fn module_switches(caller: Caller<System>) -> Answer {
    Reply::data(&switches::get(&caller))
}

/// Switches modules on or off for the account (owners and admins); `PUT` and `PATCH` alike
/// change what is sent. A module switched off answers 403 "Module disabled" on all its routes
/// and its queued jobs do not start; switched on again, all it had is there.
#[utoipa::path(method(put, patch), path = "/api/v1/system/settings/modules/enable/", request_body = SwitchChange,
    responses((status = 200, description = "The switches as saved", body = Data<ModuleSwitches>)))]
async fn change_module_switches(
    State(s): State<AppState>,
    caller: Caller<System>,
    body: Submitted<SwitchChange>,
) -> Answer {
    Reply::data(&switches::update(&s, &caller, body).await?)
}

/// The public health check of the API standard: `{status: "ok"}`, touching nothing.
#[utoipa::path(get, path = "/api/v1/system/ping/", security(()),
    responses((status = 200, description = "The API answers", body = Data<Object>)))]
async fn ping() -> Answer {
    Ok(Reply::ok(serde_json::json!({"status": "ok"})))
}

/// Whether the table, the queues and the images bucket answer (public, for monitoring): 200
/// `healthy` with each component, or 503 naming what does not answer.
#[utoipa::path(get, path = "/api/v1/system/status/", security(()),
    responses(
        (status = 200, description = "Every component answers", body = Data<Object>),
        (status = 503, description = "A component does not answer: `errors` names it"),
    ))]
async fn status(State(s): State<AppState>) -> Answer {
    let report = crate::health::check(&s).await;
    if !report.healthy() {
        let mut errors = FieldErrors::new();
        for (component, state) in report.components.iter().filter(|(_, state)| *state != crate::health::CONNECTED) {
            errors.add(component, state.clone());
        }
        return Err(ApiError::Unavailable(errors));
    }
    Ok(Reply::ok(serde_json::json!({
        "status": "healthy",
        "version": env!("CARGO_PKG_VERSION"),
        "components": report.components,
    })))
}

/// What one request cost (developers): recorded for a request sent with
/// `X-Debug-Resource-Tracking: 1`, whose answer named it in `X-Resource-Tracking-Id`; kept a day.
#[utoipa::path(get, path = "/api/v1/system/request-metrics/{request_id}/",
    responses((status = 200, description = "The request's metrics", body = Data<RequestMetrics>)))]
async fn request_metrics(State(s): State<AppState>, caller: Caller<System>, Path(request_id): Path<String>) -> Answer {
    if caller.role() != crate::accounts::Role::Developer {
        return Err(ApiError::permission_denied());
    }
    let metrics = RequestMetrics::find(&s, &request_id).await?.ok_or_else(ApiError::not_found)?;
    Reply::data(&metrics)
}

crate::module_routes! {
    [task_progress],
    [integration, put_integration],
    [save_integration],
    [test_integration],
    [generate_test_image],
    [image_generation],
    [system_setting::list, system_setting::create],
    [system_setting::get, system_setting::update, system_setting::delete],
    [account_setting::list, account_setting::create],
    [account_setting::get, account_setting::update, account_setting::delete],
    [user_setting::list, user_setting::create],
    [user_setting::get, user_setting::update, user_setting::delete],
    [ai_setting::list, ai_setting::create],
    [ai_setting::get, ai_setting::update, ai_setting::delete],
    [module_switches, change_module_switches],
    [module_settings],
    [module_setting::list, module_setting::create],
    [module_setting::get, module_setting::update, module_setting::delete],
    [ping],
    [status],
    [request_metrics],
}

/// The system function's part of the API.
pub const MODULE: Module = Module {
    tag: "system",
    description: "AI job progress, provider settings, the settings families and module switches; status, ping and request metrics.",
    switch: None,
    routes,
    serve,
};
