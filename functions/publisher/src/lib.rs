//! `/api/v1/publisher/` and the writer's `content/{id}/publish/`: queues content for its sites'
//! destinations. The routes, their handlers and their contract belong to the domain crate's
//! publisher module; this function only runs them.

pub use igny8_domain::publisher::routes::MODULE;
