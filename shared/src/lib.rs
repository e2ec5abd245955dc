//! The IGNY8 domain crate.
//!
//! Every Lambda in `functions/` is a thin adapter over this crate: it parses the event, calls
//! [`http::serve`] with a router, and the router calls the domain services defined here.
//!
//! - [`config`]: settings read from the environment.
//! - [`aws`]: lazily built AWS SDK clients (one set per container); [`metering`]: what their
//!   requests cost a piece of work.
//! - [`store`]: the single-table DynamoDB store and its key design (see `docs/data-model.md`).
//! - [`auth`]: JWT access/refresh tokens, argon2id password hashing, the signing key.
//! - [`accounts`]: accounts, users and plans, and the auth use cases (register, login, ...).
//! - [`error`], [`envelope`], [`pagination`], [`validation`]: the API contract.
//! - [`http`]: the request pipeline shared by every function (request id, logging, errors).
//! - [`telemetry`]: structured JSON logs.

pub mod access;
pub mod account;
pub mod accounts;
pub mod ai;
pub mod auth;
pub mod automation;
pub mod aws;
pub mod billing;
pub mod config;
pub mod credits;
pub mod envelope;
pub mod error;
pub mod health;
pub mod http;
pub mod ids;
pub mod integration;
pub mod jobs;
pub mod linker;
pub mod metering;
pub mod modules;
pub mod optimizer;
pub mod outbound;
pub mod pagination;
pub mod planner;
pub mod publisher;
pub mod purge;
pub mod queue;
pub mod records;
pub mod reference;
pub mod runtime;
pub mod secrets;
pub mod services;
pub mod settings;
pub mod sites;
pub mod store;
pub mod subscriptions;
pub mod system;
pub mod telemetry;
pub mod thinker;
pub mod throttle;
pub mod tracking;
pub mod usage;
pub mod validation;
pub mod writer;

pub use config::{Config, Deployment};
pub use error::ApiError;
pub use services::Services;
