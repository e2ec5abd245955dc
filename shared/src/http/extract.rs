//! What a handler takes from a request: who is calling (authenticated and throttled by the
//! scope its type names), the request's context, and its body.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use http::header::AUTHORIZATION;
use http::request::Parts;
use serde_json::Value;

use super::{AppState, Reply, RequestState};
use crate::pagination::PageRequest;
use crate::throttle::{self, Scope};
use crate::validation::FromBody;
use crate::{ApiError, Services, access, accounts};

fn request_state(parts: &Parts) -> Result<Arc<RequestState>, ApiError> {
    parts
        .extensions
        .get::<Arc<RequestState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("request state missing: the router was not built with http::app"))
}

/// The token of an `Authorization: Bearer <token>` header.
pub(super) fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// Counts this request against `S` for the caller (the user, or the client IP when anonymous);
/// over the limit it is a 429. The `X-Throttle-*` headers go on the answer either way.
async fn throttle<S: Scope>(
    services: &Services,
    state: &RequestState,
    user: Option<&accounts::User>,
) -> Result<(), ApiError> {
    if user.is_some_and(|u| throttle::BYPASS_ROLES.contains(&u.role)) {
        return Ok(());
    }
    let identity = match user {
        Some(u) => format!("user:{}", u.id),
        None => format!("ip:{}", state.client_ip),
    };
    let status = throttle::hit(
        services.store().await,
        &services.config.throttle,
        S::NAME,
        &identity,
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    state.add_headers(status.headers());
    if status.exceeded { Err(ApiError::Throttled) } else { Ok(()) }
}

/// An anonymous request, throttled by client IP in scope `S`.
#[derive(Debug)]
pub struct Anonymous<S>(PhantomData<S>);

impl<S: Scope> FromRequestParts<AppState> for Anonymous<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, services: &AppState) -> Result<Self, ApiError> {
        let state = request_state(parts)?;
        throttle::<S>(services, &state, None).await?;
        Ok(Self(PhantomData))
    }
}

/// The authenticated user and its own account (the bearer token checked), throttled in scope `S`.
#[derive(Debug)]
pub struct Principal<S>(pub accounts::Principal, PhantomData<S>);

impl<S: Scope> FromRequestParts<AppState> for Principal<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, services: &AppState) -> Result<Self, ApiError> {
        let state = request_state(parts)?;
        let principal = accounts::authenticate(services, bearer(&parts.headers)).await?;
        state.set_principal(&principal.account.id, &principal.user.id);
        throttle::<S>(services, &state, Some(&principal.user)).await?;
        Ok(Self(principal, PhantomData))
    }
}

impl<S> Deref for Principal<S> {
    type Target = accounts::Principal;
    fn deref(&self) -> &accounts::Principal {
        &self.0
    }
}

/// The authenticated caller and the account its request acts on (`?account_id=` for the
/// platform roles), throttled in scope `S`.
#[derive(Debug)]
pub struct Caller<S>(pub access::Caller, PhantomData<S>);

impl<S: Scope> FromRequestParts<AppState> for Caller<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, services: &AppState) -> Result<Self, ApiError> {
        let Principal(principal, _) = Principal::<S>::from_request_parts(parts, services).await?;
        let state = request_state(parts)?;
        Ok(Self(access::Caller::resolve(services, principal, state.query()).await?, PhantomData))
    }
}

impl<S> Deref for Caller<S> {
    type Target = access::Caller;
    fn deref(&self) -> &access::Caller {
        &self.0
    }
}

/// The request's context: its query string, headers and where its pages link to.
#[derive(Debug)]
pub struct Ctx {
    state: Arc<RequestState>,
    headers: http::HeaderMap,
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(Self { state: request_state(parts)?, headers: parts.headers.clone() })
    }
}

impl Ctx {
    pub fn query(&self) -> &HashMap<String, String> {
        self.state.query()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Answers one page of `items` (the full, ordered result) as `page`/`page_size` ask.
    pub fn page(&self, items: Vec<Value>) -> Result<Reply, ApiError> {
        let request = PageRequest::from_query(self.query())?;
        Ok(Reply::page(request.paginate(items, &self.state.links())?))
    }
}

/// The request body as bytes (the pipeline has already bounded its size).
#[derive(Debug)]
pub struct RawBody(pub Vec<u8>);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, _: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::to_bytes(request.into_body(), super::MAX_BODY_BYTES)
            .await
            .map_err(|_| ApiError::PayloadTooLarge)?;
        Ok(Self(bytes.to_vec()))
    }
}

/// A JSON body parsed into `T`; a body that does not parse is a 400 with the fields' errors.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: FromBody> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let RawBody(bytes) = RawBody::from_request(request, state).await?;
        Ok(Self(T::from_body(&bytes)?))
    }
}

impl<S: Send + Sync, T: FromBody> FromRequest<S> for crate::validation::Submitted<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let RawBody(bytes) = RawBody::from_request(request, state).await?;
        Ok(Self::new(bytes))
    }
}
