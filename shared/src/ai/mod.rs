//! The AI engine: provider clients, integration settings, prompts, and the AI functions the
//! workers run.

pub mod functions;
pub mod images;
pub mod model;
pub mod prompts;
pub mod provider;
pub mod settings;
pub mod test_image;
pub mod worker;

pub use provider::{ChatReply, ChatRequest, ProviderClient, ProviderError, RetryPolicy};
