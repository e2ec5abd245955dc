//! Automation (`/api/v1/automation/`): a site's content pipeline run by itself — keywords to
//! clusters, clusters to ideas, ideas to writer tasks, tasks to content, content to image prompts,
//! prompts to images — as a run the automation worker advances stage by stage through the AI job
//! pipeline, which can be paused, resumed and cancelled.

/// The account's switch of automation (`settings/modules/enable/`).
pub const MODULE_SWITCH: &str = "automation";

pub mod config;
pub mod progress;
pub mod routes;
pub mod runs;
pub mod schedule;
pub mod slots;
pub mod stages;
pub mod worker;
