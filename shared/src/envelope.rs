//! The unified response body: `{success, data | error, errors, message, request_id}`.

use serde::Serialize;
use serde_json::Value;

use crate::pagination::Page;
use crate::{ApiError, validation::FieldErrors};

/// What a handler answers on success, before the request id is attached.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// `{success: true, data?, message?}`; `data` is left out when `None`.
    Data { data: Option<Value>, message: Option<String> },
    /// `{success: true, count, next, previous, results, message?}`.
    Page { page: Page<Value>, message: Option<String> },
    /// `{success: true, task_id, data, message?}`: an AI job was queued.
    Queued { task_id: String, data: Value, message: Option<String> },
    /// A non-JSON body (CSV, PDF): sent as is with its content type.
    Raw { content_type: String, bytes: Vec<u8> },
    /// 204: no body at all.
    Empty,
}

#[derive(Serialize)]
struct SuccessEnvelope<'a> {
    success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    request_id: &'a str,
}

#[derive(Serialize)]
struct QueuedEnvelope<'a> {
    success: bool,
    task_id: &'a str,
    data: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    request_id: &'a str,
}

#[derive(Serialize)]
struct PageEnvelope<'a> {
    success: bool,
    count: u64,
    next: Option<&'a str>,
    previous: Option<&'a str>,
    results: &'a [Value],
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    request_id: &'a str,
}

#[derive(Serialize)]
struct ErrorEnvelope<'a> {
    success: bool,
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a FieldErrors>,
    request_id: &'a str,
}

/// Serialises a success body; `None` for bodies that are not JSON envelopes.
pub fn success_json(body: &Body, request_id: &str) -> Option<Vec<u8>> {
    let json = match body {
        Body::Data { data, message } => serde_json::to_vec(&SuccessEnvelope {
            success: true,
            data: data.as_ref(),
            message: message.as_deref(),
            request_id,
        }),
        Body::Page { page, message } => serde_json::to_vec(&PageEnvelope {
            success: true,
            count: page.count,
            next: page.next.as_deref(),
            previous: page.previous.as_deref(),
            results: &page.results,
            message: message.as_deref(),
            request_id,
        }),
        Body::Queued { task_id, data, message } => serde_json::to_vec(&QueuedEnvelope {
            success: true,
            task_id,
            data,
            message: message.as_deref(),
            request_id,
        }),
        Body::Raw { .. } | Body::Empty => return None,
    };
    // Serialising `serde_json::Value`s and strings cannot fail.
    json.ok()
}

/// Serialises an error envelope.
pub fn error_json(error: &ApiError, request_id: &str) -> Vec<u8> {
    let message = error.message();
    serde_json::to_vec(&ErrorEnvelope { success: false, error: &message, errors: error.field_errors(), request_id })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(bytes: Vec<u8>) -> Value {
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn success_leaves_out_absent_data_and_message() {
        let body = Body::Data { data: None, message: Some("Password changed successfully".into()) };
        assert_eq!(
            parse(success_json(&body, "r1").unwrap()),
            json!({"success": true, "message": "Password changed successfully", "request_id": "r1"})
        );
        let body = Body::Data { data: Some(json!({"a": 1})), message: None };
        assert_eq!(
            parse(success_json(&body, "r2").unwrap()),
            json!({"success": true, "data": {"a": 1}, "request_id": "r2"})
        );
    }

    #[test]
    fn pages_are_flat() {
        let page = Page { count: 3, next: Some("n".into()), previous: None, results: vec![json!(1)] };
        let body = Body::Page { page, message: None };
        assert_eq!(
            parse(success_json(&body, "r").unwrap()),
            json!({"success": true, "count": 3, "next": "n", "previous": null, "results": [1], "request_id": "r"})
        );
    }

    #[test]
    fn errors_carry_field_messages_only_when_present() {
        assert_eq!(
            parse(error_json(&ApiError::field("email", "Enter a valid email address."), "r")),
            json!({"success": false, "error": "Validation failed", "errors": {"email": ["Enter a valid email address."]}, "request_id": "r"})
        );
        assert_eq!(
            parse(error_json(&ApiError::internal("secret detail"), "r")),
            json!({"success": false, "error": "Internal server error", "request_id": "r"})
        );
    }
}
