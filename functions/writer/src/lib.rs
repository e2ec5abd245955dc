//! `/api/v1/writer/`: tasks, content, images and taxonomies. The routes, their handlers and their
//! contract belong to the domain crate's writer module; this function only runs them.

pub use igny8_domain::writer::routes::MODULE;
