//! `/api/v1/auth/`: credentials, users, accounts, subscriptions, sites, sectors, site access,
//! roles and the public reference data. The routes, their handlers and their contract belong to
//! the domain crate's accounts module; this function only runs them.

pub use igny8_domain::accounts::routes::MODULE;
