//! Image generation clients: OpenAI-compatible `POST /images/generations` (base64 answers) and
//! Runware's task API (`POST /` with an `imageInference` task). Both reuse the provider client's
//! retries; both answer the image bytes and what the call cost.

use std::time::Instant;

use base64::Engine;
use serde_json::{Value, json};

use super::model::JobError;
use super::provider::{ProviderClient, ProviderError, RetryPolicy};
use super::settings;
use super::settings::IntegrationSettings;
use crate::{ApiError, Services};

/// USD per image, by model; unknown models use the last row.
pub const IMAGE_RATES: &[(&str, f64)] =
    &[("dall-e-3", 0.040), ("dall-e-2", 0.020), ("gpt-image-1", 0.042), ("default", 0.040)];

#[derive(Debug, Clone, PartialEq)]
pub struct ImageRequest {
    pub model: String,
    pub prompt: String,
    pub negative_prompt: Option<String>,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedImage {
    pub bytes: Vec<u8>,
    pub model: String,
    pub cost_usd: f64,
    pub duration_ms: u64,
    pub attempts: u32,
}

fn decode(b64: Option<&str>) -> Result<Vec<u8>, ProviderError> {
    let data = b64.ok_or_else(|| ProviderError::BadResponse("no image data".into()))?;
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| ProviderError::BadResponse(format!("image data is not base64: {e}")))
}

/// One image from an OpenAI-compatible endpoint.
pub async fn openai_image(client: &ProviderClient, request: &ImageRequest) -> Result<GeneratedImage, ProviderError> {
    let started = Instant::now();
    let body = json!({
        "model": request.model,
        "prompt": request.prompt,
        "n": 1,
        "size": format!("{}x{}", request.width, request.height),
        "response_format": "b64_json",
    });
    let (answer, attempts) = client.post_json("/images/generations", &body).await?;
    let bytes = decode(answer["data"][0]["b64_json"].as_str())?;
    let rate = IMAGE_RATES.iter().find(|(m, _)| *m == request.model).or(IMAGE_RATES.last()).map_or(0.04, |r| r.1);
    Ok(GeneratedImage {
        bytes,
        model: request.model.clone(),
        cost_usd: rate,
        duration_ms: started.elapsed().as_millis() as u64,
        attempts,
    })
}

/// One image from Runware.
pub async fn runware_image(client: &ProviderClient, request: &ImageRequest) -> Result<GeneratedImage, ProviderError> {
    let started = Instant::now();
    let task_id = uuid::Uuid::new_v4().to_string();
    let mut task = json!({
        "taskType": "imageInference",
        "taskUUID": task_id,
        "model": request.model,
        "positivePrompt": request.prompt,
        "width": request.width,
        "height": request.height,
        "numberResults": 1,
        "outputType": "base64Data",
        "includeCost": true,
    });
    if let Some(negative) = &request.negative_prompt {
        task["negativePrompt"] = json!(negative);
    }
    let (answer, attempts) = client.post_json("", &Value::Array(vec![task])).await?;
    let result = answer["data"]
        .as_array()
        .and_then(|d| d.iter().find(|r| r["taskUUID"] == json!(task_id)))
        .ok_or_else(|| ProviderError::BadResponse("no result for the task".into()))?;
    Ok(GeneratedImage {
        bytes: decode(result["imageBase64Data"].as_str())?,
        model: request.model.clone(),
        cost_usd: result["cost"].as_f64().unwrap_or(0.0),
        duration_ms: started.elapsed().as_millis() as u64,
        attempts,
    })
}

/// The account's image provider: its client, which API it speaks, and the model.
pub struct ImageProvider {
    client: ProviderClient,
    provider: String,
    pub model: String,
}

impl ImageProvider {
    /// `openai` or `runware`.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// How many 429 answers the client has met so far.
    pub fn throttled(&self) -> u32 {
        self.client.throttled()
    }

    /// One image.
    pub async fn draw(&self, request: &ImageRequest) -> Result<GeneratedImage, ProviderError> {
        if self.provider == "runware" {
            runware_image(&self.client, request).await
        } else {
            openai_image(&self.client, request).await
        }
    }
}

/// The image provider of an account: its `image_generation` settings (`saved`, if active) name
/// the provider and model, `key(provider)` answers that provider's saved key; without settings
/// only the provider TEST server stands in.
pub(crate) async fn image_provider(
    services: &Services,
    account_id: &str,
    retry: RetryPolicy,
    saved: Option<&IntegrationSettings>,
    key: impl AsyncFnOnce(&str) -> Result<String, JobError>,
) -> Result<ImageProvider, JobError> {
    let http = services.http().await.clone();
    let Some(settings) = saved else {
        return match &services.config.provider_test_server_url {
            Some(url) => Ok(ImageProvider {
                client: ProviderClient::new(http, url, "test-server", retry),
                provider: "openai".into(),
                model: "test-image".into(),
            }),
            None => Err(JobError::fatal(
                format!("Image generation is not configured for account {account_id}."),
                "ConfigurationError",
            )),
        };
    };
    let provider = settings.config["provider"].as_str().unwrap_or("openai").to_owned();
    let model = settings.config["model"].as_str().map(str::to_owned).ok_or_else(|| {
        JobError::fatal("No image model is set in the image_generation settings.", "ConfigurationError")
    })?;
    let base = settings.config["base_url"]
        .as_str()
        .unwrap_or(if provider == "runware" { settings::RUNWARE_BASE_URL } else { settings::OPENAI_BASE_URL })
        .to_owned();
    let key = key(&provider).await?;
    Ok(ImageProvider { client: ProviderClient::new(http, base, key, retry), provider, model })
}

/// Stores an image's bytes in the images bucket.
pub(crate) async fn put_image(services: &Services, bucket: &str, key: &str, bytes: Vec<u8>) -> Result<(), JobError> {
    services
        .s3()
        .await
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("image/png")
        .body(bytes.into())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| JobError::Retry {
            message: aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
            kind: "StorageError",
        })
}

/// An image's bytes, from the images bucket.
pub async fn read_image(services: &Services, s3_key: &str) -> Result<Vec<u8>, ApiError> {
    let bucket =
        services.config.images_bucket.clone().ok_or_else(|| ApiError::internal("no images bucket configured"))?;
    let object = services
        .s3()
        .await
        .get_object()
        .bucket(bucket)
        .key(s3_key)
        .send()
        .await
        .map_err(|e| ApiError::internal(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))?;
    let bytes = object.body.collect().await.map_err(ApiError::internal)?;
    Ok(bytes.into_bytes().to_vec())
}

/// A short-lived URL to read an image's file straight from S3.
pub async fn presigned_url(services: &Services, s3_key: &str, ttl: std::time::Duration) -> Result<String, ApiError> {
    let bucket =
        services.config.images_bucket.clone().ok_or_else(|| ApiError::internal("no images bucket configured"))?;
    let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(ttl).map_err(ApiError::internal)?;
    let request = services
        .s3()
        .await
        .get_object()
        .bucket(bucket)
        .key(s3_key)
        .presigned(config)
        .await
        .map_err(ApiError::internal)?;
    Ok(request.uri().to_owned())
}
