//! `/api/v1/automation/`: a site's automation settings and runs. The routes, their handlers and
//! their contract belong to the domain crate's automation module; this function only runs them.

pub use igny8_domain::automation::routes::MODULE;
