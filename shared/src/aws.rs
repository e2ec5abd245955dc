//! AWS SDK clients, built on first use and shared for the life of the container.

use aws_config::{BehaviorVersion, SdkConfig};
use tokio::sync::OnceCell;

use crate::Config;

/// Loads the shared SDK configuration: region and credentials from the usual chain, and the
/// endpoint from `AWS_ENDPOINT_URL` when one is configured (moto or LocalStack locally).
pub async fn sdk_config(config: &Config) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(endpoint) = &config.aws_endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

/// Lazily built SDK configuration; cloning a client from it is cheap.
#[derive(Debug, Default)]
pub struct LazySdk {
    cell: OnceCell<SdkConfig>,
}

impl LazySdk {
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses `sdk` instead of loading the configuration from the environment (local stack, tests).
    pub fn preset(sdk: SdkConfig) -> Self {
        Self { cell: OnceCell::new_with(Some(sdk)) }
    }

    pub async fn get(&self, config: &Config) -> &SdkConfig {
        self.cell.get_or_init(|| sdk_config(config)).await
    }
}
