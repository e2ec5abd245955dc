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

pub use names::LocalNames;
