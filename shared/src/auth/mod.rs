//! Credentials: JWT access and refresh tokens, argon2id password hashes, the signing key.

pub mod password;
pub mod signing_key;
pub mod tokens;

pub use password::{Password, PasswordHash};
pub use signing_key::{SigningKey, SigningKeySource};
pub use tokens::{Claims, IssuedToken, TokenError, TokenType, unverified_claims};
