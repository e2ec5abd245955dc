//! The JWT signing key: read from Secrets Manager once per container.

use base64::Engine;
use jsonwebtoken::{DecodingKey, EncodingKey};
use tokio::sync::OnceCell;

/// The symmetric HS256 key, in both forms jsonwebtoken needs.
#[derive(Clone)]
pub struct SigningKey {
    pub(crate) encoding: EncodingKey,
    pub(crate) decoding: DecodingKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    #[error("the signing key secret could not be read: {0}")]
    Fetch(String),
    #[error("the signing key secret must hold at least 32 bytes (base64)")]
    TooShort,
}

impl SigningKey {
    /// Builds the key from the secret's value: base64 of at least 32 random bytes.
    pub fn from_secret_string(secret: &str) -> Result<Self, SigningKeyError> {
        let secret = secret.trim();
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(secret).unwrap_or_else(|_| secret.as_bytes().to_vec());
        if bytes.len() < 32 {
            return Err(SigningKeyError::TooShort);
        }
        Ok(Self { encoding: EncodingKey::from_secret(&bytes), decoding: DecodingKey::from_secret(&bytes) })
    }
}

/// Fetches the key on first use and keeps it for the life of the container.
#[derive(Debug)]
pub struct SigningKeySource {
    secret_id: String,
    cell: OnceCell<SigningKey>,
}

impl SigningKeySource {
    pub fn new(secret_id: impl Into<String>) -> Self {
        Self { secret_id: secret_id.into(), cell: OnceCell::new() }
    }

    /// The key, if this container has fetched it already.
    pub fn loaded(&self) -> Option<&SigningKey> {
        self.cell.get()
    }

    pub async fn get(&self, client: &aws_sdk_secretsmanager::Client) -> Result<&SigningKey, SigningKeyError> {
        self.cell
            .get_or_try_init(|| async {
                let out = client.get_secret_value().secret_id(&self.secret_id).send().await.map_err(|e| {
                    SigningKeyError::Fetch(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())
                })?;
                let value = out
                    .secret_string()
                    .ok_or_else(|| SigningKeyError::Fetch("the secret has no string value".into()))?;
                SigningKey::from_secret_string(value)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_are_refused() {
        assert!(SigningKey::from_secret_string("c2hvcnQ=").is_err());
        let long = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert!(SigningKey::from_secret_string(&long).is_ok());
    }
}
