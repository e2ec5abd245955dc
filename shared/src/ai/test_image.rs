//! `POST system/settings/integrations/{pk}/generate/`: one test image through the account's image
//! settings, so that a user sees the provider, model and key work before running a job.
//!
//! It is charged like one generated image. The credits are taken first (a short balance is 402,
//! before the provider is asked) and given back if the provider or the upload fails, so a failed
//! test costs nothing.

use serde_json::Value;
use time::OffsetDateTime;

use super::images::ImageRequest;
use super::images::{image_provider, presigned_url, put_image};
use super::model::{JobError, store_err};
use crate::access::Caller;
use crate::credits::{self, Operation, TransactionType};
use crate::store::StoreError;
use crate::validation::Submitted;
use crate::validation::input::{Bounded, Choice, Custom, Rule};
use crate::{ApiError, Services, ids};

/// How long the answered image URL stays valid.
const URL_TTL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

fn image_type(value: &Value) -> Result<String, String> {
    match value.as_str() {
        Some(t @ ("featured" | "in_article")) => Ok(t.to_owned()),
        _ => Err("Must be \"featured\" or \"in_article\".".into()),
    }
}

fn image_type_schema() -> utoipa::openapi::schema::Schema {
    Choice(&["featured", "in_article"]).schema()
}

crate::input! {
    /// The body of `POST settings/integrations/{pk}/generate/`.
    pub struct TestImage {
        /// What to draw.
        prompt: required String = Bounded(2000),
        /// `featured` (the default) or `in_article`: which of the saved sizes to use.
        image_type: optional String = Custom(image_type, image_type_schema),
    }
}

/// The test image: where it is, and what it cost.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TestImageAnswer {
    pub provider: String,
    pub model: String,
    pub image_type: String,
    pub s3_key: String,
    /// A presigned URL, valid for a while.
    pub image_url: String,
    pub credits_used: i64,
    pub cost_usd: f64,
    pub duration_ms: u64,
}

fn job_error(err: JobError) -> ApiError {
    match err {
        JobError::Fatal { message, .. } => ApiError::BadRequest(message),
        JobError::Retry { message, .. } => {
            ApiError::BadRequest(format!("The image provider did not answer as expected: {message}"))
        }
        // A test image is made within the request, without a delivery's deadline.
        JobError::OutOfTime { .. } => ApiError::BadRequest("The image provider took too long.".into()),
    }
}

/// Generates, stores and answers one test image.
pub async fn generate(
    services: &Services,
    caller: &Caller,
    integration_type: &str,
    body: Submitted<TestImage>,
) -> Result<Value, ApiError> {
    caller.require_manager()?;
    if !super::settings::TYPES.contains(&integration_type) {
        return Err(ApiError::not_found());
    }
    let TestImage { prompt, image_type: kind } = body.read()?;
    let kind = kind.unwrap_or_else(|| "featured".into());
    let account_id = caller.account_id();
    let bucket =
        services.config.images_bucket.clone().ok_or_else(|| ApiError::internal("no images bucket configured"))?;
    let saved = super::settings::load(services, account_id, "image_generation").await?.filter(|s| s.is_active);
    let key = async |provider: &str| -> Result<String, JobError> {
        let saved = super::settings::load(services, account_id, provider).await.map_err(store_err)?;
        if saved.and_then(|s| s.api_key_hint).is_none() {
            return Err(JobError::fatal(format!("No API key is saved for {provider}."), "ConfigurationError"));
        }
        super::settings::fetch_key(services, account_id, provider).await.map_err(store_err)
    };
    let drawer = image_provider(services, account_id, services.config.provider_retry, saved.as_ref(), key)
        .await
        .map_err(job_error)?;
    let provider = drawer.provider().to_owned();
    if integration_type != "image_generation" && integration_type != provider {
        return Err(ApiError::field(
            "integration_type",
            format!("The account's image settings use {provider}, not {integration_type}."),
        ));
    }

    let cost = services.config.credit_costs.cost(Operation::ImageGeneration, 1);
    let now = OffsetDateTime::now_utc();
    let store = services.store().await;
    let debit = credits::debit(account_id, cost, TransactionType::Deduction, "Test image", None, now)?;
    match store.transact(debit).await {
        Ok(()) => {}
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => {
            return Err(ApiError::PaymentRequired(format!("Insufficient credits. Required: {cost}")));
        }
        Err(err) => return Err(err.into()),
    }

    let image_id = ids::new_id();
    let s3_key = format!("accounts/{account_id}/images/test-{image_id}.png");
    let request = ImageRequest {
        model: drawer.model.clone(),
        prompt,
        negative_prompt: None,
        width: 1024,
        height: if kind == "featured" { 576 } else { 1024 },
    };
    let drawn = match drawer.draw(&request).await {
        Ok(mut image) => {
            let bytes = std::mem::take(&mut image.bytes);
            put_image(services, &bucket, &s3_key, bytes).await.map(|()| image)
        }
        Err(err) => Err(JobError::from(err)),
    };
    let image = match drawn {
        Ok(image) => image,
        Err(err) => {
            let refund = credits::credit(account_id, cost, TransactionType::Refund, "Test image failed", None, now)?;
            store.transact(refund).await?;
            return Err(job_error(err));
        }
    };
    let log = crate::credits::UsageLog {
        id: image_id.clone(),
        account_id: account_id.to_owned(),
        job_id: None,
        operation_type: Operation::ImageGeneration.as_str().to_owned(),
        credits_used: cost,
        tokens_input: 0,
        tokens_output: 0,
        model_used: image.model.clone(),
        cost_usd: image.cost_usd,
        duration_ms: image.duration_ms,
        created_at: now,
    };
    store.put(log.item()?, None).await?;
    Ok(crate::http::answer(TestImageAnswer {
        provider: provider.to_string(),
        model: image.model,
        image_type: kind,
        image_url: presigned_url(services, &s3_key, URL_TTL).await?,
        s3_key,
        credits_used: cost,
        cost_usd: image.cost_usd,
        duration_ms: image.duration_ms,
    }))
}
