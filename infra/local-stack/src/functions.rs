//! Every function's handler, by the binary name the template gives it. A function added to the
//! workspace is added here and to `template.yaml`; the gateway refuses to start when a route of the
//! template names a binary missing here.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use aws_config::SdkConfig;
use axum::Router;
use igny8_domain::ai::Registry;
use igny8_domain::http::AppState;
use igny8_domain::{Config, Services};
use lambda_http::Request;
use tower::ServiceExt;

pub type HandlerFuture = Pin<Box<dyn Future<Output = http::Response<axum::body::Body>> + Send>>;
pub type Handler = Arc<dyn Fn(Request) -> HandlerFuture + Send + Sync>;
/// A Lambda authorizer: its event in, its answer out (an `Err` is a failed invocation).
pub type AuthorizerFuture = Pin<Box<dyn Future<Output = Result<serde_json::Value, String>> + Send>>;
pub type AuthorizerHandler = Arc<dyn Fn(serde_json::Value) -> AuthorizerFuture + Send + Sync>;

/// Calls `router` in process, as Lambda would with the event of one request.
fn handler(router: Router) -> Handler {
    Arc::new(move |request| {
        let router = router.clone();
        Box::pin(async move {
            match router.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        })
    })
}

/// One handler per function, each with its own [`Services`] as separate Lambdas would have.
pub fn handlers(config: &Config, sdk: &SdkConfig) -> HashMap<&'static str, Handler> {
    let services = || -> AppState { Arc::new(Services::with_sdk_config(config.clone(), sdk.clone())) };
    HashMap::from([
        ("auth", handler(auth_function::MODULE.router(services()))),
        ("account", handler(account_function::MODULE.router(services()))),
        ("system", handler(system_function::router(services()))),
        ("planner", handler(planner_function::MODULE.router(services()))),
        ("writer", handler(writer_function::MODULE.router(services()))),
        ("integration", handler(integration_function::MODULE.router(services()))),
        ("publisher", handler(publisher_function::MODULE.router(services()))),
        ("linker", handler(linker_function::MODULE.router(services()))),
        ("optimizer", handler(optimizer_function::MODULE.router(services()))),
        ("billing", handler(billing_function::MODULE.router(services()))),
        ("automation", handler(automation_function::MODULE.router(services()))),
        ("docs", handler(api_docs::router(services()))),
    ])
}

/// The HTTP API's Lambda authorizers by the binary name the template gives them, called with the
/// JSON event API Gateway sends (the function's own deserialisation included).
pub fn authorizer_handlers(config: &Config, sdk: &SdkConfig) -> HashMap<&'static str, AuthorizerHandler> {
    let services = Arc::new(Services::with_sdk_config(config.clone(), sdk.clone()));
    let api_key: AuthorizerHandler = Arc::new(move |event| {
        let services = Arc::clone(&services);
        Box::pin(async move {
            let request = serde_json::from_value(event).map_err(|e| e.to_string())?;
            let answer = igny8_domain::integration::authorizer::authorize(&services, request)
                .await
                .map_err(|e| e.to_string())?;
            serde_json::to_value(answer).map_err(|e| e.to_string())
        })
    });
    HashMap::from([("api-key-authorizer", api_key)])
}

/// The SQS workers by the binary name the template gives them, with their own [`Services`],
/// running the AI functions of `functions` (the modules' own: [`igny8_domain::modules::ai_functions`]).
pub fn sqs_handlers(
    config: &Config,
    sdk: &SdkConfig,
    functions: Registry,
) -> HashMap<&'static str, crate::workers::SqsHandler> {
    let services = Arc::new(Services::with_sdk_config(config.clone(), sdk.clone()));
    let functions = Arc::new(functions);
    // Both workers run the same domain pipeline; each Lambda has its own queue.
    let worker: crate::workers::SqsHandler = Arc::new(move |event, deadline| {
        let (services, functions) = (Arc::clone(&services), Arc::clone(&functions));
        Box::pin(async move { igny8_domain::ai::worker::handle_batch(&services, &functions, event, deadline).await })
    });
    let purges = Arc::new(Services::with_sdk_config(config.clone(), sdk.clone()));
    let purge: crate::workers::SqsHandler = Arc::new(move |event, deadline| {
        let services = Arc::clone(&purges);
        Box::pin(async move {
            igny8_domain::purge::handle_batch(&services, &igny8_domain::modules::purge_hooks(), event, deadline).await
        })
    });
    let publishes = Arc::new(Services::with_sdk_config(config.clone(), sdk.clone()));
    let publish: crate::workers::SqsHandler = Arc::new(move |event, deadline| {
        let services = Arc::clone(&publishes);
        Box::pin(async move { igny8_domain::publisher::run::handle_batch(&services, event, deadline).await })
    });
    let runs = Arc::new(Services::with_sdk_config(config.clone(), sdk.clone()));
    let automation: crate::workers::SqsHandler = Arc::new(move |event, _deadline| {
        let services = Arc::clone(&runs);
        Box::pin(async move { igny8_domain::automation::worker::handle_batch(&services, event).await })
    });
    HashMap::from([
        ("automation-worker", automation),
        ("ai-worker", Arc::clone(&worker)),
        ("image-worker", worker),
        ("purge-worker", purge),
        ("publish-worker", publish),
    ])
}
