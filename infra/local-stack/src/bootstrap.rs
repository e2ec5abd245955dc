//! Creates the template's resources on an AWS-compatible endpoint (the reference data is compiled in:
//! `igny8_domain::reference`). Every step checks what exists first, so running it again changes nothing.

use std::collections::HashMap;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use base64::Engine;
use igny8_domain::Config;
use igny8_domain::credits::CreditCosts;
use igny8_domain::throttle::Rates;
use rand::RngCore;
use thiserror::Error;

use crate::names::LocalNames;
use crate::template::{KeyAttr, Template, logical_ids};

#[derive(Debug, Error)]
pub enum BootstrapError {
    #[error("{step}: {detail}")]
    Aws { step: &'static str, detail: String },
    #[error("configuration {name}: {detail}")]
    Setting { name: String, detail: String },
}

fn aws<E: std::fmt::Debug + std::error::Error + 'static, R: std::fmt::Debug>(
    step: &'static str,
) -> impl FnOnce(aws_sdk_dynamodb::error::SdkError<E, R>) -> BootstrapError {
    move |e| BootstrapError::Aws { step, detail: aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string() }
}

/// SDK configuration for a local endpoint: the region from the environment (default
/// `us-east-1`) and the credentials from the environment (default `test`/`test`, which moto and
/// LocalStack accept).
pub async fn local_sdk_config(endpoint: &str) -> SdkConfig {
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    let key = std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_else(|_| "test".into());
    let secret = std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|_| "test".into());
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(key, secret, None, None, "local"))
        .load()
        .await
}

/// What was provisioned: the configuration a function needs to use it.
#[derive(Debug, Clone)]
pub struct Provisioned {
    pub names: LocalNames,
    pub config: Config,
    /// Queue URLs by logical id.
    pub queue_urls: HashMap<String, String>,
}

/// Creates (if missing) everything the template declares, under `names`, and loads the reference
/// data from `infra/reference/`.
pub async fn bootstrap(endpoint: &str, names: &LocalNames, template: &Template) -> Result<Provisioned, BootstrapError> {
    let sdk = local_sdk_config(endpoint).await;
    create_table(&sdk, &names.table(), template).await?;
    let queue_urls = create_queues(&sdk, names, template).await?;
    for bucket in &template.buckets {
        create_bucket(&sdk, &names.bucket(bucket)).await?;
    }
    for secret in &template.secrets {
        create_random_secret(&sdk, &names.secret(secret)).await?;
    }

    let config = Config {
        table_name: names.table(),
        jwt_secret_id: names.secret(logical_ids::JWT_SIGNING_KEY),
        ai_jobs_queue_url: queue_urls.get(logical_ids::AI_JOBS_QUEUE).cloned(),
        image_jobs_queue_url: queue_urls.get(logical_ids::IMAGE_JOBS_QUEUE).cloned(),
        purge_queue_url: queue_urls.get(logical_ids::PURGE_QUEUE).cloned(),
        publish_queue_url: queue_urls.get(logical_ids::PUBLISH_QUEUE).cloned(),
        images_bucket: template
            .buckets
            .iter()
            .any(|b| b == logical_ids::IMAGES_BUCKET)
            .then(|| names.bucket(logical_ids::IMAGES_BUCKET)),
        aws_endpoint_url: Some(endpoint.to_owned()),
        public_base_url: None,
        deployment: igny8_domain::Deployment::Local,
        throttle: Rates::from_config(std::env::var("THROTTLE_RATES").ok().as_deref())
            .map_err(|e| BootstrapError::Setting { name: "THROTTLE_RATES".into(), detail: e.to_string() })?,
        credit_costs: CreditCosts::from_config(std::env::var("CREDIT_COSTS").ok().as_deref())
            .map_err(|e| BootstrapError::Setting { name: "CREDIT_COSTS".into(), detail: e.to_string() })?,
        integration_secrets_prefix: format!("{}/integrations", names.prefix),
        provider_test_server_url: std::env::var("PROVIDER_TEST_SERVER_URL").ok(),
        job_max_receives: 3,
        retry_delay: std::time::Duration::ZERO,
        provider_retry: igny8_domain::ai::RetryPolicy::default(),
        wordpress_timeout: igny8_domain::integration::wordpress::TIMEOUT,
        automation_queue_url: queue_urls.get(logical_ids::AUTOMATION_QUEUE).cloned(),
        automation_poll: std::time::Duration::from_secs(1),
    };
    Ok(Provisioned { names: names.clone(), config, queue_urls })
}

fn key_schema(keys: &[KeyAttr]) -> Vec<KeySchemaElement> {
    keys.iter()
        .filter_map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.name)
                .key_type(if k.key_type == "HASH" { KeyType::Hash } else { KeyType::Range })
                .build()
                .ok()
        })
        .collect()
}

async fn create_table(sdk: &SdkConfig, name: &str, template: &Template) -> Result<(), BootstrapError> {
    let client = aws_sdk_dynamodb::Client::new(sdk);
    match client.describe_table().table_name(name).send().await {
        Ok(_) => return Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => {}
        Err(e) => return Err(aws("describe table")(e)),
    }
    let def = &template.table;
    let attributes = def
        .attributes
        .iter()
        .filter_map(|(n, t)| {
            AttributeDefinition::builder()
                .attribute_name(n)
                .attribute_type(ScalarAttributeType::from(t.as_str()))
                .build()
                .ok()
        })
        .collect();
    let indexes = def
        .global_indexes
        .iter()
        .filter_map(|i| {
            GlobalSecondaryIndex::builder()
                .index_name(&i.name)
                .set_key_schema(Some(key_schema(&i.keys)))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .ok()
        })
        .collect::<Vec<_>>();
    let created = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(&def.keys)))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .send()
        .await;
    match created {
        Ok(_) => {}
        // Another bootstrap created it between our describe and create.
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => {
            return Ok(());
        }
        Err(e) => return Err(aws("create table")(e)),
    }
    if let Some(attr) = &def.ttl_attribute {
        let spec = TimeToLiveSpecification::builder()
            .attribute_name(attr)
            .enabled(true)
            .build()
            .map_err(|e| BootstrapError::Aws { step: "ttl", detail: e.to_string() })?;
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(aws("enable TTL"))?;
    }
    Ok(())
}

/// Creates the queues, dead-letter queues first, and returns their URLs by logical id.
async fn create_queues(
    sdk: &SdkConfig,
    names: &LocalNames,
    template: &Template,
) -> Result<HashMap<String, String>, BootstrapError> {
    let client = aws_sdk_sqs::Client::new(sdk);
    let mut urls = HashMap::new();
    let mut arns = HashMap::new();
    let mut ordered: Vec<_> = template.queues.iter().collect();
    ordered.sort_by_key(|q| q.dead_letter.is_some());
    for queue in ordered {
        let mut request = client.create_queue().queue_name(names.queue(&queue.logical_id));
        if let Some(timeout) = queue.visibility_timeout {
            request = request.attributes(QueueAttributeName::VisibilityTimeout, timeout.to_string());
        }
        if let Some((dlq, max_receive)) = &queue.dead_letter {
            let arn: &String = arns.get(dlq).ok_or_else(|| BootstrapError::Aws {
                step: "create queue",
                detail: format!("{} names an unknown dead-letter queue {dlq}", queue.logical_id),
            })?;
            let policy = serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": max_receive}).to_string();
            request = request.attributes(QueueAttributeName::RedrivePolicy, policy);
        }
        let url = request.send().await.map_err(aws("create queue"))?.queue_url.unwrap_or_default();
        let attrs = client
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(aws("queue attributes"))?;
        if let Some(arn) = attrs.attributes().and_then(|a| a.get(&QueueAttributeName::QueueArn)) {
            arns.insert(queue.logical_id.clone(), arn.clone());
        }
        urls.insert(queue.logical_id.clone(), url);
    }
    Ok(urls)
}

async fn create_bucket(sdk: &SdkConfig, name: &str) -> Result<(), BootstrapError> {
    let config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build();
    let client = aws_sdk_s3::Client::from_conf(config);
    if client.head_bucket().bucket(name).send().await.is_ok() {
        return Ok(());
    }
    match client.create_bucket().bucket(name).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_bucket_already_owned_by_you()) => Ok(()),
        Err(e) => Err(aws("create bucket")(e)),
    }
}

/// A secret of 48 random bytes (base64), created only if missing so that tokens survive restarts.
async fn create_random_secret(sdk: &SdkConfig, name: &str) -> Result<(), BootstrapError> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    match client.describe_secret().secret_id(name).send().await {
        Ok(_) => return Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => {}
        Err(e) => return Err(aws("describe secret")(e)),
    }
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    let value = base64::engine::general_purpose::STANDARD.encode(bytes);
    match client.create_secret().name(name).secret_string(value).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_exists_exception()) => Ok(()),
        Err(e) => Err(aws("create secret")(e)),
    }
}
