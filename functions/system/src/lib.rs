//! `/api/v1/system/`: AI task progress, prompts, and the account's provider settings. A thin
//! adapter from HTTP to the domain crate.

use igny8_domain::ai::{prompts, settings, test_image};
use igny8_domain::http::{Reply, RequestCtx};
use igny8_domain::{ApiError, Services, jobs};
use lambda_http::{Body, Request, Response};

pub const PREFIX: &str = "/api/v1/system/";

const ROUTES: &[&str] = &[
    "settings/task_progress/{task_id}/",
    "settings/integrations/{pk}/save/",
    "settings/integrations/{pk}/test/",
    "settings/integrations/{pk}/generate/",
    "integrations/image_generation/",
    "settings/integrations/{pk}/",
    "prompts/by_type/{prompt_type}/",
    "prompts/save/",
    "prompts/reset/",
    "prompts/{prompt_type}/",
    "prompts/",
];

fn methods(pattern: &str) -> &'static [&'static str] {
    match pattern {
        "settings/integrations/{pk}/" => &["GET", "PUT"],
        "settings/integrations/{pk}/save/"
        | "settings/integrations/{pk}/test/"
        | "settings/integrations/{pk}/generate/"
        | "prompts/save/"
        | "prompts/reset/" => &["POST"],
        "prompts/{prompt_type}/" => &["GET", "PUT", "PATCH", "DELETE"],
        "prompts/" => &["GET", "POST"],
        _ => &["GET"],
    }
}

fn scope(pattern: &str) -> &'static str {
    if pattern.starts_with("settings/integrations/") { "system_admin" } else { "system" }
}

/// Handles one API Gateway request.
pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    igny8_domain::http::serve(services, request, route).await
}

async fn route(services: &Services, ctx: &mut RequestCtx) -> Result<Reply, ApiError> {
    let (pattern, params, method) = ctx.route(PREFIX, ROUTES, methods)?;
    let caller = ctx.caller(services, scope(pattern)).await?;
    let param = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();
    match pattern {
        "settings/task_progress/{task_id}/" => {
            let job =
                jobs::load(services, caller.account_id(), param("task_id")).await?.ok_or_else(ApiError::not_found)?;
            Ok(Reply::ok(job.progress_json()))
        }
        "settings/integrations/{pk}/" if method == "GET" => {
            Ok(Reply::ok(settings::get(services, &caller, param("pk")).await?))
        }
        "settings/integrations/{pk}/" | "settings/integrations/{pk}/save/" => {
            let saved = settings::save(services, &caller, param("pk"), ctx.body()).await?;
            Ok(Reply::ok(saved).with_message("Settings saved"))
        }
        "settings/integrations/{pk}/test/" => {
            Ok(Reply::ok(settings::test_connection(services, &caller, param("pk")).await?))
        }
        "settings/integrations/{pk}/generate/" => {
            let image = test_image::generate(services, &caller, param("pk"), ctx.body()).await?;
            Ok(Reply::ok(image).with_message("Test image generated"))
        }
        "integrations/image_generation/" => {
            Ok(Reply::ok(settings::image_generation(services, caller.account_id()).await?))
        }
        "prompts/by_type/{prompt_type}/" => {
            Ok(Reply::ok(prompts::get(services, caller.account_id(), param("prompt_type")).await?))
        }
        "prompts/save/" => {
            Ok(Reply::ok(prompts::save(services, &caller, ctx.body()).await?).with_message("Prompt saved"))
        }
        "prompts/reset/" => {
            Ok(Reply::ok(prompts::reset(services, &caller, ctx.body()).await?)
                .with_message("Prompt reset to the default"))
        }
        "prompts/{prompt_type}/" => match method.as_str() {
            "GET" => Ok(Reply::ok(prompts::get(services, caller.account_id(), param("prompt_type")).await?)),
            "DELETE" => {
                prompts::delete(services, &caller, param("prompt_type")).await?;
                Ok(Reply::no_content())
            }
            _ => Ok(Reply::ok(prompts::update(services, &caller, param("prompt_type"), ctx.body()).await?)
                .with_message("Prompt saved")),
        },
        "prompts/" if method == "POST" => {
            Ok(Reply::created(prompts::save(services, &caller, ctx.body()).await?).with_message("Prompt saved"))
        }
        _ => ctx.page(prompts::list(services, caller.account_id()).await?),
    }
}
