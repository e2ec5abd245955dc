//! `/api/v1/system/`: AI task progress, prompts, and the account's provider settings. The routes,
//! their handlers and their contract belong to the domain crate's system module; this function
//! only runs them.

pub use igny8_domain::system::routes::MODULE;
