//! `/api/v1/linker/` and the writer's `content/{id}/link/`: internal links between a site's
//! content. The routes, their handlers and their contract belong to the domain crate's linker
//! module; this function only runs them (the links themselves are made by the AI worker's
//! `link_content` jobs).

pub use igny8_domain::linker::routes::MODULE;
