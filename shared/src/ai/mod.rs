//! The AI engine: provider clients, integration settings, prompts, the plug-in contract of AI
//! functions and their registry, and the worker that runs their jobs. It knows no module: the
//! modules register their functions (see [`crate::modules`]).

pub mod context;
pub mod images;
pub mod model;
pub mod plugin;
pub mod prompts;
pub mod provider;
pub mod settings;
pub mod test_image;
pub mod worker;

pub use context::{Batch, JobContext, Pace};
pub use model::{CallRecord, JobError, Model};
pub use plugin::{AiFunction, Applied, Estimate, Registry, Run};
pub use provider::{ChatReply, ChatRequest, ProviderClient, ProviderError, RetryPolicy};
