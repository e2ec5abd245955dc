//! Settings read once from the environment at cold start.

use thiserror::Error;

use crate::credits::{CostsError, CreditCosts};
use crate::throttle::{Rates, RatesError};

/// Everything a function needs to find its AWS resources.
///
/// Only the table and the signing-key secret are required by every function; the queues and the
/// bucket are optional here and checked by the code that uses them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The single DynamoDB table (`TABLE_NAME`).
    pub table_name: String,
    /// Secrets Manager id of the JWT signing key (`JWT_SECRET_ID`).
    pub jwt_secret_id: String,
    /// SQS queue for AI jobs (`AI_JOBS_QUEUE_URL`).
    pub ai_jobs_queue_url: Option<String>,
    /// SQS queue for image jobs (`IMAGE_JOBS_QUEUE_URL`).
    pub image_jobs_queue_url: Option<String>,
    /// SQS queue of sector purges (`PURGE_QUEUE_URL`).
    pub purge_queue_url: Option<String>,
    /// SQS queue of publishing to the sites (`PUBLISH_QUEUE_URL`).
    pub publish_queue_url: Option<String>,
    /// S3 bucket for generated images (`IMAGES_BUCKET`).
    pub images_bucket: Option<String>,
    /// An AWS-compatible endpoint for local development (`AWS_ENDPOINT_URL`); `None` in AWS.
    pub aws_endpoint_url: Option<String>,
    /// Public base URL of the API (`PUBLIC_BASE_URL`, e.g. `https://api.example.com`): pagination
    /// links are absolute under it. When unset they are relative (`/api/v1/...?page=2`). Never
    /// taken from a request header.
    pub public_base_url: Option<String>,
    /// Where this deployment runs (`DEPLOYMENT`: `aws`, the default, or `local`). A local one may
    /// call loopback addresses over plain http (the provider test server, a local WordPress).
    pub deployment: Deployment,
    /// Throttle rates: the defaults with `THROTTLE_RATES` overrides (`scope=N/unit,...`).
    pub throttle: Rates,
    /// Credit prices of the AI operations: the defaults with `CREDIT_COSTS` overrides.
    pub credit_costs: CreditCosts,
    /// Where accounts' provider API keys are kept in Secrets Manager (`INTEGRATION_SECRETS_PREFIX`).
    pub integration_secrets_prefix: String,
    /// The provider TEST server (`PROVIDER_TEST_SERVER_URL`), used only when set — local stack and
    /// tests — for accounts without provider settings. Never set in a deployment.
    pub provider_test_server_url: Option<String>,
    /// Deliveries of a job message before it goes to the DLQ (`JOB_MAX_RECEIVES`, the queue's
    /// `maxReceiveCount`, default 3): the last one settles a failing job.
    pub job_max_receives: u32,
    /// The first wait before a failed job or purge message is delivered again (`JOB_RETRY_DELAY_SECONDS`,
    /// default 30, 0 allowed); it doubles with each receive, up to five minutes (`queue`).
    pub retry_delay: std::time::Duration,
    /// Provider calls: `PROVIDER_RETRY_ATTEMPTS` (4), `PROVIDER_RETRY_BASE_MS` (500),
    /// `PROVIDER_TIMEOUT_MS` (120000).
    pub provider_retry: crate::ai::RetryPolicy,
    /// How long one call to a customer's WordPress site may take (`WORDPRESS_TIMEOUT_SECONDS`, 20).
    pub wordpress_timeout: std::time::Duration,
    /// SQS queue of automation runs' steps (`AUTOMATION_QUEUE_URL`).
    pub automation_queue_url: Option<String>,
    /// How often a run looks at its stage's jobs (`AUTOMATION_POLL_SECONDS`, 15).
    pub automation_poll: std::time::Duration,
}

/// Where the functions run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Deployment {
    /// In AWS: outbound requests reach public https addresses only.
    #[default]
    Aws,
    /// The local stack and the tests: loopback and plain http are allowed too.
    Local,
}

impl Deployment {
    /// The outbound policy of this deployment.
    pub fn outbound_policy(self) -> crate::outbound::Policy {
        match self {
            Self::Aws => crate::outbound::Policy::DEPLOYED,
            Self::Local => crate::outbound::Policy::LOCAL,
        }
    }

    fn parse(value: Option<&str>) -> Result<Self, ConfigError> {
        match value {
            None | Some("aws") => Ok(Self::Aws),
            Some("local") => Ok(Self::Local),
            Some(_) => Err(ConfigError::Deployment),
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable DEPLOYMENT must be `aws` or `local`")]
    Deployment,
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error(transparent)]
    Throttle(#[from] RatesError),
    #[error(transparent)]
    Costs(#[from] CostsError),
    #[error("environment variable {0} must be a positive whole number")]
    Number(&'static str),
}

fn number(get: &impl Fn(&str) -> Option<String>, name: &'static str, default: u64) -> Result<u64, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(v) => v.parse::<u64>().ok().filter(|n| *n > 0).ok_or(ConfigError::Number(name)),
    }
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        Ok(Self {
            table_name: get("TABLE_NAME").ok_or(ConfigError::Missing("TABLE_NAME"))?,
            jwt_secret_id: get("JWT_SECRET_ID").ok_or(ConfigError::Missing("JWT_SECRET_ID"))?,
            ai_jobs_queue_url: get("AI_JOBS_QUEUE_URL"),
            image_jobs_queue_url: get("IMAGE_JOBS_QUEUE_URL"),
            purge_queue_url: get("PURGE_QUEUE_URL"),
            publish_queue_url: get("PUBLISH_QUEUE_URL"),
            images_bucket: get("IMAGES_BUCKET"),
            aws_endpoint_url: get("AWS_ENDPOINT_URL"),
            public_base_url: get("PUBLIC_BASE_URL").map(|u| u.trim_end_matches('/').to_owned()),
            deployment: Deployment::parse(get("DEPLOYMENT").as_deref())?,
            throttle: Rates::from_config(get("THROTTLE_RATES").as_deref())?,
            credit_costs: CreditCosts::from_config(get("CREDIT_COSTS").as_deref())?,
            integration_secrets_prefix: get("INTEGRATION_SECRETS_PREFIX")
                .unwrap_or_else(|| "igny8/integrations".into()),
            provider_test_server_url: get("PROVIDER_TEST_SERVER_URL"),
            job_max_receives: number(&get, "JOB_MAX_RECEIVES", 3)? as u32,
            retry_delay: std::time::Duration::from_secs(match get("JOB_RETRY_DELAY_SECONDS") {
                None => 30,
                Some(v) => v.parse::<u64>().map_err(|_| ConfigError::Number("JOB_RETRY_DELAY_SECONDS"))?,
            }),
            provider_retry: crate::ai::RetryPolicy {
                attempts: number(&get, "PROVIDER_RETRY_ATTEMPTS", 4)? as u32,
                base_delay: std::time::Duration::from_millis(number(&get, "PROVIDER_RETRY_BASE_MS", 500)?),
                max_delay: std::time::Duration::from_secs(20),
                timeout: std::time::Duration::from_millis(number(&get, "PROVIDER_TIMEOUT_MS", 120_000)?),
            },
            wordpress_timeout: std::time::Duration::from_secs(number(&get, "WORDPRESS_TIMEOUT_SECONDS", 20)?),
            automation_queue_url: get("AUTOMATION_QUEUE_URL"),
            automation_poll: std::time::Duration::from_secs(number(&get, "AUTOMATION_POLL_SECONDS", 15)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn requires_table_and_secret() {
        assert_eq!(Config::from_lookup(lookup(&[("JWT_SECRET_ID", "s")])), Err(ConfigError::Missing("TABLE_NAME")));
        assert_eq!(
            Config::from_lookup(lookup(&[("TABLE_NAME", "t"), ("JWT_SECRET_ID", "  ")])),
            Err(ConfigError::Missing("JWT_SECRET_ID"))
        );
    }

    #[test]
    fn optional_values_are_trimmed_and_empty_means_unset() {
        let cfg = Config::from_lookup(lookup(&[
            ("TABLE_NAME", "igny8"),
            ("JWT_SECRET_ID", "igny8/jwt"),
            ("AWS_ENDPOINT_URL", ""),
            ("PUBLIC_BASE_URL", "https://api.example.com/"),
            ("AI_JOBS_QUEUE_URL", " http://q "),
        ]))
        .unwrap();
        assert_eq!(cfg.aws_endpoint_url, None);
        assert_eq!(cfg.public_base_url.as_deref(), Some("https://api.example.com"));
        assert_eq!(cfg.ai_jobs_queue_url.as_deref(), Some("http://q"));
        assert_eq!(cfg.images_bucket, None);
        assert_eq!(cfg.throttle.get("auth").limit, 20);
        assert_eq!(cfg.deployment, Deployment::Aws);
    }

    #[test]
    fn deployment_is_aws_unless_said_local() {
        let base = [("TABLE_NAME", "t"), ("JWT_SECRET_ID", "s")];
        let with = |v: &'static str| Config::from_lookup(lookup(&[base[0], base[1], ("DEPLOYMENT", v)]));
        assert_eq!(with("local").unwrap().deployment, Deployment::Local);
        assert_eq!(with("aws").unwrap().deployment, Deployment::Aws);
        assert_eq!(with("prod"), Err(ConfigError::Deployment));
    }

    #[test]
    fn bad_throttle_rates_are_refused() {
        let cfg = Config::from_lookup(lookup(&[
            ("TABLE_NAME", "t"),
            ("JWT_SECRET_ID", "s"),
            ("THROTTLE_RATES", "auth=lots"),
        ]));
        assert!(matches!(cfg, Err(ConfigError::Throttle(_))));
    }
}
