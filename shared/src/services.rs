//! What a function holds for the life of its container: configuration and the lazily built AWS
//! clients (each metered: [`crate::metering`]) and signing key. Building it does no I/O, so it costs nothing at cold start.

use tokio::sync::OnceCell;

use crate::auth::{SigningKey, SigningKeySource};
use crate::aws::LazySdk;
use crate::metering::{Metered, Service};
use crate::store::Store;
use crate::{ApiError, Config};

#[derive(Debug)]
pub struct Services {
    pub config: Config,
    sdk: LazySdk,
    store: OnceCell<Store>,
    secrets: OnceCell<aws_sdk_secretsmanager::Client>,
    sqs: OnceCell<aws_sdk_sqs::Client>,
    s3: OnceCell<aws_sdk_s3::Client>,
    http: OnceCell<crate::outbound::Outbound>,
    signing_key: SigningKeySource,
    pub(crate) leases: crate::throttle::Leases,
    pub(crate) health: crate::health::Memo,
}

impl Services {
    /// Services whose AWS configuration is loaded from the environment on first use.
    pub fn new(config: Config) -> Self {
        Self::with_sdk(config, LazySdk::new())
    }

    /// Services over an SDK configuration made elsewhere (the local stack, tests).
    pub fn with_sdk_config(config: Config, sdk: aws_config::SdkConfig) -> Self {
        Self::with_sdk(config, LazySdk::preset(sdk))
    }

    fn with_sdk(config: Config, sdk: LazySdk) -> Self {
        let signing_key = SigningKeySource::new(config.jwt_secret_id.clone());
        Self {
            config,
            sdk,
            store: OnceCell::new(),
            secrets: OnceCell::new(),
            sqs: OnceCell::new(),
            s3: OnceCell::new(),
            http: OnceCell::new(),
            signing_key,
            leases: crate::throttle::Leases::default(),
            health: crate::health::Memo::default(),
        }
    }

    /// The single-table store.
    pub async fn store(&self) -> &Store {
        self.store
            .get_or_init(|| async {
                let sdk = self.sdk.get(&self.config).await;
                let config =
                    aws_sdk_dynamodb::config::Builder::from(sdk).interceptor(Metered(Service::DynamoDb)).build();
                Store::new(aws_sdk_dynamodb::Client::from_conf(config), self.config.table_name.clone())
            })
            .await
    }

    pub async fn secrets(&self) -> &aws_sdk_secretsmanager::Client {
        self.secrets
            .get_or_init(|| async {
                let sdk = self.sdk.get(&self.config).await;
                let config =
                    aws_sdk_secretsmanager::config::Builder::from(sdk).interceptor(Metered(Service::SecretsManager));
                aws_sdk_secretsmanager::Client::from_conf(config.build())
            })
            .await
    }

    pub async fn sqs(&self) -> &aws_sdk_sqs::Client {
        self.sqs
            .get_or_init(|| async {
                let sdk = self.sdk.get(&self.config).await;
                aws_sdk_sqs::Client::from_conf(
                    aws_sdk_sqs::config::Builder::from(sdk).interceptor(Metered(Service::Sqs)).build(),
                )
            })
            .await
    }

    /// Sends `body` to the queue at `url`; the error says why, for the log.
    pub async fn send_message(&self, url: &str, body: String) -> Result<(), String> {
        self.sqs()
            .await
            .send_message()
            .queue_url(url)
            .message_body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
    }

    /// S3, path-style when a local endpoint is configured (any local endpoint needs it).
    pub async fn s3(&self) -> &aws_sdk_s3::Client {
        self.s3
            .get_or_init(|| async {
                let sdk = self.sdk.get(&self.config).await;
                let config = aws_sdk_s3::config::Builder::from(sdk)
                    .force_path_style(self.config.aws_endpoint_url.is_some())
                    .interceptor(Metered(Service::S3))
                    .build();
                aws_sdk_s3::Client::from_conf(config)
            })
            .await
    }

    /// The guarded HTTP client for every URL a user can set (AI providers, WordPress sites):
    /// see [`crate::outbound`]. Built once, with the deployment's policy.
    pub async fn http(&self) -> &crate::outbound::Outbound {
        self.http
            .get_or_init(|| async { crate::outbound::Outbound::new(self.config.deployment.outbound_policy()) })
            .await
    }

    /// The JWT signing key if this container has fetched it already.
    pub fn loaded_signing_key(&self) -> Option<&SigningKey> {
        self.signing_key.loaded()
    }

    /// The JWT signing key, fetched from Secrets Manager on first use.
    pub async fn signing_key(&self) -> Result<&SigningKey, ApiError> {
        let secrets = self.secrets().await;
        self.signing_key.get(secrets).await.map_err(ApiError::internal)
    }
}
