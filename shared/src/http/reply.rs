//! What a handler answers on success.

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use http::header::CONTENT_TYPE;
use http::{HeaderName, HeaderValue, StatusCode};
use serde::Serialize;
use serde_json::Value;

use super::Pending;
use crate::ApiError;
use crate::envelope::Body;
use crate::pagination::Page;

/// A successful answer: status, body and extra headers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Body,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Reply {
    fn new(status: StatusCode, body: Body) -> Self {
        Self { status, body, headers: Vec::new() }
    }

    /// 200 with `data`.
    pub fn ok(data: Value) -> Self {
        Self::new(StatusCode::OK, Body::Data { data: Some(data), message: None })
    }

    /// 200 with a typed answer as `data`.
    pub fn data<T: Serialize>(data: &T) -> Result<Self, ApiError> {
        Ok(Self::ok(serde_json::to_value(data).map_err(ApiError::internal)?))
    }

    /// 201 with `data`.
    pub fn created(data: Value) -> Self {
        Self::new(StatusCode::CREATED, Body::Data { data: Some(data), message: None })
    }

    /// 200 with only a message.
    pub fn message(message: impl Into<String>) -> Self {
        Self::new(StatusCode::OK, Body::Data { data: None, message: Some(message.into()) })
    }

    /// 200 with `task_id` at the top, as the original's AI actions answer, and `data`.
    pub fn queued(task_id: impl Into<String>, data: Value) -> Self {
        Self::new(StatusCode::OK, Body::Queued { task_id: task_id.into(), data, message: None })
    }

    /// The answer of an action that queued an AI job.
    pub fn job(job: &crate::jobs::Job) -> Self {
        Self::queued(job.id.clone(), crate::jobs::queued_json(job)).with_message("Job queued")
    }

    /// 200 with a page of results.
    pub fn page(page: Page<Value>) -> Self {
        Self::new(StatusCode::OK, Body::Page { page, message: None })
    }

    /// 204 without a body.
    pub fn no_content() -> Self {
        Self::new(StatusCode::NO_CONTENT, Body::Empty)
    }

    /// A non-JSON download.
    pub fn raw(content_type: impl Into<String>, bytes: Vec<u8>) -> Self {
        Self::new(StatusCode::OK, Body::Raw { content_type: content_type.into(), bytes })
    }

    /// Adds (or replaces) the envelope's `message`.
    pub fn with_message(mut self, text: impl Into<String>) -> Self {
        match &mut self.body {
            Body::Data { message, .. } | Body::Page { message, .. } | Body::Queued { message, .. } => {
                *message = Some(text.into())
            }
            Body::Raw { .. } | Body::Empty => {}
        }
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = match self.body {
            Body::Raw { content_type, bytes } => {
                let mut response = (self.status, bytes).into_response();
                if let Ok(value) = HeaderValue::from_str(&content_type) {
                    response.headers_mut().insert(CONTENT_TYPE, value);
                }
                response
            }
            Body::Empty => self.status.into_response(),
            body => {
                let mut response = self.status.into_response();
                response.extensions_mut().insert(Pending::Success(Arc::new(body)));
                response
            }
        };
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

/// A typed answer as JSON: the only way a record's fields reach a client is by being named in
/// its answer type.
pub fn answer<T: serde::Serialize>(value: T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}
