//! Passwords: parsed (never logged) and hashed with argon2id.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, PasswordHash as ParsedHash};
use serde::{Deserialize, Serialize};

/// A password that meets the policy: 8 to 128 characters, not entirely numeric.
/// Its `Debug` output is redacted so it cannot reach a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Password {
    pub fn parse(raw: String) -> Result<Self, String> {
        let len = raw.chars().count();
        if len < 8 {
            return Err("Ensure this field has at least 8 characters.".into());
        }
        if len > 128 {
            return Err("Ensure this field has no more than 128 characters.".into());
        }
        if raw.chars().all(|c| c.is_ascii_digit()) {
            return Err("This password is entirely numeric.".into());
        }
        Ok(Self(raw))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The field rule of a new password in a typed body (taken as sent, not trimmed).
    pub const RULE: crate::validation::input::Custom<Password> =
        crate::validation::input::Custom(|v| Self::parse(crate::validation::raw_string(v)?), Self::schema);

    fn schema() -> utoipa::openapi::schema::Schema {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(8))
            .max_length(Some(128))
            .description(Some("At least 8 characters, not only digits."))
            .into()
    }
}

/// An argon2id hash in PHC string format.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

impl PasswordHash {
    /// Hashes with argon2id and a random salt. CPU-bound: call it from a blocking task.
    pub fn new(password: &Password) -> Result<Self, HashError> {
        let mut bytes = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        let salt = SaltString::encode_b64(&bytes).map_err(|e| HashError(e.to_string()))?;
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| Self(h.to_string()))
            .map_err(|e| HashError(e.to_string()))
    }

    /// The PHC string, for storing.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// [`PasswordHash::new`] on a blocking thread, off the async executor.
    pub async fn new_blocking(password: Password) -> Result<Self, crate::ApiError> {
        tokio::task::spawn_blocking(move || Self::new(&password))
            .await
            .map_err(crate::ApiError::internal)?
            .map_err(crate::ApiError::internal)
    }

    /// Whether `candidate` is the password behind this hash. CPU-bound like [`PasswordHash::new`].
    pub fn verify(&self, candidate: &str) -> bool {
        match ParsedHash::new(&self.0) {
            Ok(parsed) => Argon2::default().verify_password(candidate.as_bytes(), &parsed).is_ok(),
            Err(_) => false,
        }
    }

    /// Spends the same work as a real verification, for an unknown email, so that the response
    /// time does not tell whether an account exists. Always `false`.
    pub fn verify_dummy(candidate: &str) -> bool {
        static DUMMY: OnceLock<Option<PasswordHash>> = OnceLock::new();
        let dummy = DUMMY.get_or_init(|| {
            let random: String = uuid::Uuid::new_v4().to_string();
            Password::parse(random).ok().and_then(|p| PasswordHash::new(&p).ok())
        });
        if let Some(hash) = dummy {
            let _ = hash.verify(candidate);
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        assert!(Password::parse("short".into()).is_err());
        assert!(Password::parse("12345678".into()).is_err());
        assert!(Password::parse("x".repeat(129)).is_err());
        assert!(Password::parse("correct horse".into()).is_ok());
    }

    #[test]
    fn hash_verifies_only_the_same_password_and_is_argon2id() {
        let pw = Password::parse("correct horse battery".into()).unwrap();
        let hash = PasswordHash::new(&pw).unwrap();
        assert!(hash.0.starts_with("$argon2id$"));
        assert!(hash.verify("correct horse battery"));
        assert!(!hash.verify("correct horse batterY"));
        assert_ne!(hash, PasswordHash::new(&pw).unwrap(), "salts differ");
        assert!(!PasswordHash::verify_dummy("anything"));
    }

    #[test]
    fn debug_output_is_redacted() {
        let pw = Password::parse("hunter2hunter2".into()).unwrap();
        assert!(!format!("{pw:?}").contains("hunter2"));
        assert!(!format!("{:?}", PasswordHash::new(&pw).unwrap()).contains("argon2"));
    }
}
