//! The thinker (`/api/v1/system/prompts|author-profiles|strategies/`): what shapes the AI's
//! writing — the account's prompts (kept by [`crate::ai::prompts`]), author profiles (a voice a
//! writer task may name) and content strategies.

pub mod author_profiles;
pub mod routes;
pub mod strategies;
