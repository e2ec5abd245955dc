//! The error every request path returns, and how it maps onto HTTP.

use http::StatusCode;
use thiserror::Error;

use crate::validation::FieldErrors;

/// An error answered to the client in the unified envelope
/// (`{success: false, error, errors?, request_id}`).
///
/// Messages follow the original API: 400 "Validation failed" with per-field `errors`,
/// 401 "Authentication required", 403 "Permission denied", 404 "Resource not found",
/// 409 "Conflict", 422 "Validation failed", 429 "Rate limit exceeded", 500 "Internal server error".
#[derive(Debug, Error)]
pub enum ApiError {
    #[error("Validation failed")]
    Validation(FieldErrors),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    PaymentRequired(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("Method not allowed")]
    MethodNotAllowed,
    /// A body over [`crate::http::MAX_BODY_BYTES`].
    #[error("Request body too large")]
    PayloadTooLarge,
    #[error("{0}")]
    Conflict(String),
    #[error("Validation failed")]
    Unprocessable(FieldErrors),
    #[error("Rate limit exceeded")]
    Throttled,
    /// A part of the deployment does not answer (`system/status/`): what failed, by part.
    #[error("Service unavailable")]
    Unavailable(FieldErrors),
    /// The detail is logged, never sent to the client.
    #[error("Internal server error")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::PaymentRequired(_) => StatusCode::PAYMENT_REQUIRED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Throttled => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The top-level `error` message of the envelope.
    pub fn message(&self) -> String {
        self.to_string()
    }

    /// The per-field `errors` of the envelope, if any.
    pub fn field_errors(&self) -> Option<&FieldErrors> {
        match self {
            Self::Validation(errors) | Self::Unprocessable(errors) | Self::Unavailable(errors) => Some(errors),
            _ => None,
        }
    }

    pub fn authentication_required() -> Self {
        Self::Unauthenticated("Authentication required".into())
    }

    pub fn permission_denied() -> Self {
        Self::Forbidden("Permission denied".into())
    }

    /// The account has switched the route's module off.
    pub fn module_disabled() -> Self {
        Self::Forbidden("Module disabled".into())
    }

    pub fn not_found() -> Self {
        Self::NotFound("Resource not found".into())
    }

    /// A validation failure on one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.add(field, message);
        Self::Validation(errors)
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::Internal(detail.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_messages_follow_the_contract() {
        let cases = [
            (ApiError::field("email", "x"), 400, "Validation failed"),
            (ApiError::authentication_required(), 401, "Authentication required"),
            (ApiError::PaymentRequired("Insufficient credits".into()), 402, "Insufficient credits"),
            (ApiError::permission_denied(), 403, "Permission denied"),
            (ApiError::not_found(), 404, "Resource not found"),
            (ApiError::MethodNotAllowed, 405, "Method not allowed"),
            (ApiError::Conflict("Conflict".into()), 409, "Conflict"),
            (ApiError::PayloadTooLarge, 413, "Request body too large"),
            (ApiError::Unprocessable(FieldErrors::new()), 422, "Validation failed"),
            (ApiError::Throttled, 429, "Rate limit exceeded"),
            (ApiError::internal("db exploded: secret"), 500, "Internal server error"),
        ];
        for (err, status, message) in cases {
            assert_eq!(err.status().as_u16(), status);
            assert_eq!(err.message(), message);
        }
    }
}
