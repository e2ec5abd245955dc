//! `/api/v1/integration/`: a site's integrations (WordPress) and their connection tests. The
//! routes, their handlers and their contract belong to the domain crate's integration module; this
//! function only runs them.

pub use igny8_domain::integration::routes::MODULE;
