//! `/api/v1/system/`: AI task progress, provider settings, the settings families and module
//! switches, status, ping and request metrics — and the thinker's prompts, author profiles and
//! strategies, under the same path. The routes, their handlers and their contract belong to the
//! domain crate's system and thinker modules; this function only runs them.

use igny8_domain::http::{AppState, Module};

pub use igny8_domain::system::routes::MODULE;
pub use igny8_domain::thinker::routes::MODULE as THINKER;

/// The modules this function serves.
pub const MODULES: [Module; 2] = [MODULE, THINKER];

/// The function's router, with the shared pipeline.
pub fn router(services: AppState) -> axum::Router {
    Module::serve_all(&MODULES, services)
}
