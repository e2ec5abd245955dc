//! JWT access (15 minutes) and refresh (7 days) tokens, HS256 only.

use jsonwebtoken::{Algorithm, Header, Validation, decode, encode, errors::ErrorKind};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::SigningKey;

pub const ACCESS_TTL: Duration = Duration::minutes(15);
pub const REFRESH_TTL: Duration = Duration::days(7);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Access,
    Refresh,
}

impl TokenType {
    fn ttl(self) -> Duration {
        match self {
            Self::Access => ACCESS_TTL,
            Self::Refresh => REFRESH_TTL,
        }
    }
}

/// The claims of both token types. `ver` is the user's token version: changing the password bumps
/// it, which retires every token issued before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub user_id: String,
    pub account_id: String,
    #[serde(rename = "type")]
    pub token_type: TokenType,
    pub ver: u32,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// The user's role when the token was issued: only a hint of what a request will need to
    /// read (an editor's site grants), never a right; the stored user decides. Older tokens lack it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// A signed token and when it expires.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token expired")]
    Expired,
    #[error("token invalid")]
    Invalid,
    #[error("wrong token type")]
    WrongType,
    #[error("token could not be signed: {0}")]
    Signing(String),
}

/// Allowed clock difference between containers when checking `exp`.
const LEEWAY_SECONDS: u64 = 5;

impl SigningKey {
    /// Signs a token of `token_type` for the user, valid from `now`.
    pub fn issue(
        &self,
        token_type: TokenType,
        user_id: &str,
        account_id: &str,
        ver: u32,
        role: &str,
        now: OffsetDateTime,
    ) -> Result<IssuedToken, TokenError> {
        let expires_at = now + token_type.ttl();
        let claims = Claims {
            user_id: user_id.to_owned(),
            account_id: account_id.to_owned(),
            token_type,
            ver,
            iat: now.unix_timestamp(),
            exp: expires_at.unix_timestamp(),
            jti: uuid::Uuid::new_v4().simple().to_string(),
            role: Some(role.to_owned()),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| TokenError::Signing(e.to_string()))?;
        Ok(IssuedToken { token, expires_at })
    }

    /// Verifies signature, algorithm (HS256 only: `none` and every other algorithm are refused),
    /// expiry and type.
    pub fn verify(&self, token: &str, expected: TokenType) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECONDS;
        validation.set_required_spec_claims(&["exp", "iat"]);
        let data = decode::<Claims>(token, &self.decoding, &validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => TokenError::Expired,
            _ => TokenError::Invalid,
        })?;
        if data.claims.token_type != expected {
            return Err(TokenError::WrongType);
        }
        Ok(data.claims)
    }
}

/// The claims of `token` read without checking its signature or expiry: what a container that has
/// not fetched its signing key yet reads to start the caller's reads at the same time as the
/// key's. Nothing may be answered from them before [`SigningKey::verify`] has accepted the token.
pub fn unverified_claims(token: &str) -> Result<Claims, TokenError> {
    jsonwebtoken::dangerous::insecure_decode_claims::<Claims>(token).map_err(|_| TokenError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn key(byte: u8) -> SigningKey {
        SigningKey::from_secret_string(&base64::engine::general_purpose::STANDARD.encode([byte; 48])).unwrap()
    }

    fn b64(json: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn round_trip_and_type_check() {
        let k = key(1);
        let now = OffsetDateTime::now_utc();
        let access = k.issue(TokenType::Access, "u", "a", 3, "owner", now).unwrap();
        let claims = k.verify(&access.token, TokenType::Access).unwrap();
        assert_eq!((claims.user_id.as_str(), claims.account_id.as_str(), claims.ver), ("u", "a", 3));
        assert_eq!(claims.exp - claims.iat, 15 * 60);
        assert_eq!(k.verify(&access.token, TokenType::Refresh), Err(TokenError::WrongType));
        let refresh = k.issue(TokenType::Refresh, "u", "a", 3, "owner", now).unwrap();
        assert_eq!(refresh.expires_at - now, Duration::days(7));
        assert_eq!(k.verify(&refresh.token, TokenType::Access), Err(TokenError::WrongType));
    }

    #[test]
    fn expired_tampered_foreign_and_unsigned_tokens_fail() {
        let k = key(1);
        let old = OffsetDateTime::now_utc() - Duration::minutes(16);
        let expired = k.issue(TokenType::Access, "u", "a", 0, "owner", old).unwrap();
        assert_eq!(k.verify(&expired.token, TokenType::Access), Err(TokenError::Expired));

        let good = k.issue(TokenType::Access, "u", "a", 0, "owner", OffsetDateTime::now_utc()).unwrap().token;
        let parts: Vec<&str> = good.split('.').collect();
        let forged_payload = b64(&format!(
            r#"{{"user_id":"other","account_id":"a","type":"access","ver":0,"iat":{0},"exp":{1},"jti":"x"}}"#,
            OffsetDateTime::now_utc().unix_timestamp(),
            OffsetDateTime::now_utc().unix_timestamp() + 600
        ));
        let tampered = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_eq!(k.verify(&tampered, TokenType::Access), Err(TokenError::Invalid));

        let unsigned = format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), forged_payload);
        assert_eq!(k.verify(&unsigned, TokenType::Access), Err(TokenError::Invalid));

        assert_eq!(key(2).verify(&good, TokenType::Access), Err(TokenError::Invalid));
        assert_eq!(k.verify("not-a-jwt", TokenType::Access), Err(TokenError::Invalid));
    }
}
