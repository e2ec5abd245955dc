//! `/api/v1/account/`: the account's settings, its team and its usage analytics. The routes,
//! their handlers and their contract belong to the domain crate's account module; this function
//! only runs them.

pub use igny8_domain::account::routes::MODULE;
