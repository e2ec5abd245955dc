//! Local development and tests without an AWS account or a Docker engine.
//!
//! - [`template`]: reads `template.yaml`, the one source of truth for routes and resources.
//! - [`bootstrap`]: creates the table, queues, bucket and secrets of the template on an
//!   AWS-compatible endpoint (moto server or LocalStack) and loads the reference data, idempotently.
//! - [`gateway`]: serves `/api/v1` on one port, routing by the template's `HttpApi` events to the
//!   function handlers linked into this crate, through the same API Gateway v2 event the functions
//!   receive in AWS.
//! - [`functions`]: the handlers of every function crate, by binary name.

pub mod bootstrap;
pub mod functions;
pub mod gateway;
pub mod names;
pub mod template;
pub mod workers;

pub use names::LocalNames;

/// The environment variables of a function configured by `config` (for `cargo lambda watch`).
pub fn env_lines(config: &igny8_domain::Config) -> Vec<(&'static str, String)> {
    let mut lines = vec![("TABLE_NAME", config.table_name.clone()), ("JWT_SECRET_ID", config.jwt_secret_id.clone())];
    if config.deployment == igny8_domain::Deployment::Local {
        lines.push(("DEPLOYMENT", "local".into()));
    }
    let optional = [
        ("AI_JOBS_QUEUE_URL", &config.ai_jobs_queue_url),
        ("IMAGE_JOBS_QUEUE_URL", &config.image_jobs_queue_url),
        ("PURGE_QUEUE_URL", &config.purge_queue_url),
        ("PUBLISH_QUEUE_URL", &config.publish_queue_url),
        ("AUTOMATION_QUEUE_URL", &config.automation_queue_url),
        ("IMAGES_BUCKET", &config.images_bucket),
        ("AWS_ENDPOINT_URL", &config.aws_endpoint_url),
        ("PUBLIC_BASE_URL", &config.public_base_url),
    ];
    lines.extend(optional.into_iter().filter_map(|(k, v)| v.clone().map(|v| (k, v))));
    lines
}
