//! The integration module: a site's connections to where its content is published (WordPress),
//! and the API keys its WordPress plugin uses to reach the API.

pub mod api_keys;
pub mod authorizer;
pub mod integrations;
pub mod plugin;
pub mod posts;
pub mod removal;
pub mod routes;
pub mod site_api;
pub mod sync;
pub mod wordpress;
