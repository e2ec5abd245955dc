//! Secrets a user saves (provider API keys, WordPress application passwords), kept in Secrets
//! Manager under the deployment's prefix and never in the table, an answer or a log line: the
//! table holds only a masked hint.

use crate::{ApiError, Services};

/// The secret's name: `<prefix>/<account>/<what>`.
pub fn name(services: &Services, account_id: &str, what: &str) -> String {
    format!("{}/{account_id}/{what}", services.config.integration_secrets_prefix)
}

/// A hint of `secret` that tells saved secrets apart and gives nothing away: its first three and
/// last four characters.
pub fn mask(secret: &str) -> String {
    let tail: String = secret.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    let head: String = secret.chars().take(3).collect();
    format!("{head}…{tail}")
}

fn aws<E: std::error::Error + 'static, R: std::fmt::Debug>(
    err: aws_sdk_secretsmanager::error::SdkError<E, R>,
) -> ApiError {
    ApiError::internal(aws_sdk_secretsmanager::error::DisplayErrorContext(err))
}

/// Saves `value` as the secret `id`, creating it the first time.
pub async fn put(services: &Services, id: &str, value: &str) -> Result<(), ApiError> {
    let secrets = services.secrets().await;
    match secrets.put_secret_value().secret_id(id).secret_string(value).send().await {
        Ok(_) => Ok(()),
        Err(err) if err.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => {
            secrets.create_secret().name(id).secret_string(value).send().await.map(|_| ()).map_err(aws)
        }
        Err(err) => Err(aws(err)),
    }
}

/// The secret `id`'s value; none when it was never saved.
pub async fn get(services: &Services, id: &str) -> Result<Option<String>, ApiError> {
    match services.secrets().await.get_secret_value().secret_id(id).send().await {
        Ok(out) => Ok(out.secret_string().map(str::to_owned)),
        Err(err) if err.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => Ok(None),
        Err(err) => Err(aws(err)),
    }
}

/// Deletes the secret `id` at once (no recovery window: what it held is gone with its record).
pub async fn delete(services: &Services, id: &str) -> Result<(), ApiError> {
    let deleted =
        services.secrets().await.delete_secret().secret_id(id).force_delete_without_recovery(true).send().await;
    match deleted {
        Ok(_) => Ok(()),
        Err(err) if err.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => Ok(()),
        Err(err) => Err(aws(err)),
    }
}
