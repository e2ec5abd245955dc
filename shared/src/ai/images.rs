//! Image generation clients: OpenAI-compatible `POST /images/generations` (base64 answers) and
//! Runware's task API (`POST /` with an `imageInference` task). Both reuse the provider client's
//! retries; both answer the image bytes and what the call cost.

use std::time::Instant;

use base64::Engine;
use serde_json::{Value, json};

use super::provider::{ProviderClient, ProviderError};

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
