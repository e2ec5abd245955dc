//! `/api/v1/billing/` and `/api/v1/admin/`: credits, packages, invoices, payments and the
//! platform's billing desk. The routes, their handlers and their contract belong to the domain
//! crate's billing module; this function only runs them.

pub use igny8_domain::billing::routes::MODULE;
