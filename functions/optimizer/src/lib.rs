//! `/api/v1/optimizer/`: content quality scores (and, next, AI optimisation). The routes, their
//! handlers and their contract belong to the domain crate's optimizer module; this function only
//! runs them.

pub use igny8_domain::optimizer::routes::MODULE;
