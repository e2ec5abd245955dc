//! The system module (`/api/v1/system/`): AI job progress, the account's AI provider settings,
//! the keyed settings families, the module switches, the public status and ping, and request
//! metrics. The system function also serves the thinker's routes ([`crate::thinker`]).

pub mod routes;
pub mod settings;
pub mod switches;
