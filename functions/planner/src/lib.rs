//! `/api/v1/planner/`: keywords, clusters and content ideas. The routes, their handlers and their
//! contract belong to the domain crate's planner module; this function only runs them.

pub use igny8_domain::planner::routes::MODULE;
