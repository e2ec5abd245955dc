//! Structured JSON logs. One line per request is written by [`crate::http::RequestCtx::finish`].
//! Nothing logs request bodies, passwords, tokens or keys.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Installs the JSON subscriber; the level comes from `RUST_LOG` (default `info`).
/// Safe to call more than once (later calls do nothing).
pub fn init() {
    init_with_writer(std::io::stdout);
}

/// [`init`] with another destination (tests capture the log lines this way).
pub fn init_with_writer<W>(writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_env_filter(filter)
        .with_writer(writer)
        .try_init();
}
