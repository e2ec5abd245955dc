//! The system module (`/api/v1/system/`): AI job progress, prompts and the account's AI provider
//! settings.

pub mod routes;
