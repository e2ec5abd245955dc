//! Every function's handler, by the binary name the template gives it. A function added to the
//! workspace is added here and to `template.yaml`; the gateway refuses to start when a route of the
//! template names a binary missing here.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use aws_config::SdkConfig;
use igny8_domain::{Config, Services};
use lambda_http::{Body, Request, Response};

pub type HandlerFuture = Pin<Box<dyn Future<Output = Response<Body>> + Send>>;
pub type Handler = Arc<dyn Fn(Request) -> HandlerFuture + Send + Sync>;

fn handler<F, Fut>(services: Services, f: F) -> Handler
where
    F: Fn(Arc<Services>, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let services = Arc::new(services);
    Arc::new(move |request| Box::pin(f(Arc::clone(&services), request)))
}

/// One handler per function, each with its own [`Services`] as separate Lambdas would have.
pub fn handlers(config: &Config, sdk: &SdkConfig) -> HashMap<&'static str, Handler> {
    let services = || Services::with_sdk_config(config.clone(), sdk.clone());
    HashMap::from([
        ("auth", handler(services(), |s, r| async move { auth_function::handle(&s, r).await })),
        ("account", handler(services(), |s, r| async move { account_function::handle(&s, r).await })),
        ("system", handler(services(), |s, r| async move { system_function::handle(&s, r).await })),
        ("planner", handler(services(), |s, r| async move { planner_function::handle(&s, r).await })),
        ("writer", handler(services(), |s, r| async move { writer_function::handle(&s, r).await })),
        ("billing", handler(services(), |s, r| async move { billing_function::handle(&s, r).await })),
    ])
}

/// The SQS workers by the binary name the template gives them, with their own [`Services`].
pub fn sqs_handlers(config: &Config, sdk: &SdkConfig) -> HashMap<&'static str, crate::workers::SqsHandler> {
    let services = Arc::new(Services::with_sdk_config(config.clone(), sdk.clone()));
    // Both workers run the same domain pipeline; each Lambda has its own queue.
    let worker: crate::workers::SqsHandler = Arc::new(move |event| {
        let services = Arc::clone(&services);
        Box::pin(async move { igny8_domain::ai::worker::handle_batch(&services, event).await })
    });
    HashMap::from([("ai-worker", Arc::clone(&worker)), ("image-worker", worker)])
}
