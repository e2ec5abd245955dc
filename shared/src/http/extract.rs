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

/// Counts this request against `S` for `identity` (`user:<id>`, or `ip:<addr>` when anonymous).
async fn count<S: Scope>(services: &Services, identity: &str) -> Result<throttle::Status, ApiError> {
    let store = services.store().await;
    let now = time::OffsetDateTime::now_utc();
    throttle::hit(store, &services.config.throttle, &services.leases, S::NAME, identity, now).await
}

/// Applies a request's count: the `X-Throttle-*` headers go on the answer either way; over the
/// limit it is a 429.
fn apply(state: &RequestState, status: throttle::Status) -> Result<(), ApiError> {
    state.add_headers(status.headers());
    if status.exceeded { Err(ApiError::Throttled) } else { Ok(()) }
}

/// Authenticates the request's bearer token and counts the request in `S`, at the same time: the
/// user and account are read while the count is written, so a warm request waits for one round
/// trip. In a container that has no signing key yet, the key is fetched while the user is read,
/// and the request is counted once the token is verified, off the critical path: the first
/// request of a container passes uncounted by the answer (its lease is taken in the background,
/// so the next request knows where the caller stands). An authentication failure comes before
/// the count's 429; the platform roles are not throttled.
async fn authenticate<S: Scope>(
    services: &AppState,
    state: &RequestState,
    bearer: &accounts::Bearer,
) -> Result<accounts::Principal, ApiError> {
    let identity = format!("user:{}", bearer.user_id());
    let (principal, counted) = if bearer.is_verified() {
        let (principal, counted) =
            tokio::join!(accounts::authenticate_token(services, bearer), count::<S>(services, &identity));
        (principal?, Some(counted))
    } else {
        let principal = accounts::authenticate_token(services, bearer).await?;
        let services = Arc::clone(services);
        tokio::spawn(async move {
            if let Err(err) = count::<S>(&services, &identity).await {
                tracing::warn!(error = %err, "a cold container's first count failed");
            }
        });
        (principal, None)
    };
    state.set_principal(&principal.account.id, &principal.user.id);
    if let Some(counted) = counted.filter(|_| !throttle::BYPASS_ROLES.contains(&principal.user.role)) {
        apply(state, counted?)?;
    }
    Ok(principal)
}

/// The caller of an authenticated request (see [`Caller::resolve_with`](access::Caller)): the
/// token's user and account, the request's count, and, when the token's role hint says so, the
/// user's site grants, all read at once.
async fn resolve_caller<S: Scope>(
    services: &AppState,
    state: &RequestState,
    bearer: &accounts::Bearer,
) -> Result<access::Caller, ApiError> {
    resolve_caller_in::<S>(services, state, bearer, state.query()).await
}

/// [`resolve_caller`] with the request's account named by `query` (empty: the caller's own).
async fn resolve_caller_in<S: Scope>(
    services: &AppState,
    state: &RequestState,
    bearer: &accounts::Bearer,
    query: &HashMap<String, String>,
) -> Result<access::Caller, ApiError> {
    let grants = async {
        match bearer.role_hint() {
            Some(role) if access::sees_granted_sites_only(role) => {
                access::granted_sites(services, bearer.account_id(), bearer.user_id()).await.map(Some)
            }
            _ => Ok(None),
        }
    };
    let (principal, grants) = tokio::join!(authenticate::<S>(services, state, bearer), grants);
    let principal = principal?;
    // Grants read for an unverified token's claims are the verified token's: the claims matched.
    let caller = access::Caller::resolve_with(services, principal, query, grants?).await?;
    state.require_module(|switch| caller.account.module_enabled(switch))?;
    Ok(caller)
}

/// An anonymous request, throttled by client IP in scope `S`.
#[derive(Debug)]
pub struct Anonymous<S>(PhantomData<S>);

impl<S: Scope> FromRequestParts<AppState> for Anonymous<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, services: &AppState) -> Result<Self, ApiError> {
        let state = request_state(parts)?;
        apply(&state, count::<S>(services, &format!("ip:{}", state.client_ip)).await?)?;
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
        let bearer = accounts::Bearer::read(services, bearer(&parts.headers))?;
        Ok(Self(authenticate::<S>(services, &state, &bearer).await?, PhantomData))
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
        let state = request_state(parts)?;
        let bearer = accounts::Bearer::read(services, bearer(&parts.headers))?;
        Ok(Self(resolve_caller::<S>(services, &state, &bearer).await?, PhantomData))
    }
}

impl<S> Deref for Caller<S> {
    type Target = access::Caller;
    fn deref(&self) -> &access::Caller {
        &self.0
    }
}

/// An authenticated read whose caller is confirmed (token, user, account, grants, the request's
/// count: [`Caller`]) while the handler's own first reads run, so that a warm read waits for one
/// round trip in all. Nothing the reads found is released before the caller is confirmed: a
/// failed authentication or a 429 wins over whatever they found.
pub struct Reading<S> {
    services: AppState,
    state: Arc<RequestState>,
    bearer: accounts::Bearer,
    scope: PhantomData<S>,
}

impl<S> std::fmt::Debug for Reading<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reading").field("account_id", &self.bearer.account_id()).finish_non_exhaustive()
    }
}

impl<S: Scope> FromRequestParts<AppState> for Reading<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, services: &AppState) -> Result<Self, ApiError> {
        let state = request_state(parts)?;
        let bearer = accounts::Bearer::read(services, bearer(&parts.headers))?;
        Ok(Self { services: Arc::clone(services), state, bearer, scope: PhantomData })
    }
}

impl<S: Scope> Reading<S> {
    /// The account the token names: the caller's own once it is confirmed (see [`Self::read`]).
    pub fn own_account_id(&self) -> &str {
        self.bearer.account_id()
    }

    /// Runs `read` for the account the request acts on at the same time as the caller is
    /// confirmed, and answers both. The account is the token's own unless the request names
    /// another (`?account_id=`, for the platform roles): then `read` runs after the caller, for
    /// the account it acts on.
    pub async fn read<T, F, Fut>(self, read: F) -> Result<(access::Caller, T), ApiError>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Result<T, ApiError>>,
    {
        let names_another = self.state.query().get("account_id").is_some_and(|id| id != self.bearer.account_id());
        if names_another {
            let caller = resolve_caller::<S>(&self.services, &self.state, &self.bearer).await?;
            let found = read(caller.account_id().to_owned()).await?;
            return Ok((caller, found));
        }
        let caller = resolve_caller::<S>(&self.services, &self.state, &self.bearer);
        let (caller, found) = tokio::join!(caller, read(self.bearer.account_id().to_owned()));
        let caller = caller?;
        if caller.account_id() != self.bearer.account_id() {
            let found = read(caller.account_id().to_owned()).await?;
            return Ok((caller, found));
        }
        Ok((caller, found?))
    }

    /// [`Self::read`] for the caller's own account, whatever the request names (`auth/me/`).
    pub async fn read_own<T, Fut>(self, read: Fut) -> Result<(access::Caller, T), ApiError>
    where
        Fut: std::future::Future<Output = Result<T, ApiError>>,
    {
        let own = HashMap::new();
        let principal = resolve_caller_in::<S>(&self.services, &self.state, &self.bearer, &own);
        let (caller, found) = tokio::join!(principal, read);
        Ok((caller?, found?))
    }
}

/// The context keys a Lambda authorizer of the HTTP API passes on (`requestContext.authorizer.lambda`).
pub mod authorizer_context {
    pub const ACCOUNT_ID: &str = "account_id";
    pub const SITE_ID: &str = "site_id";
    pub const KEY_ID: &str = "key_id";
}

/// A request that the API-key authorizer let through: the site a live key opens, and its
/// account. Only the gateway writes the authorizer's context (a client cannot), so a route that
/// takes it must have the authorizer in the template (the contract test checks it); without that
/// context the request is a 401. Throttled per key in scope `S`.
#[derive(Debug, Clone)]
pub struct SiteKey<S> {
    pub account_id: String,
    pub site_id: String,
    pub key_id: String,
    scope: PhantomData<S>,
}

/// The authorizer's context of a request, if an authorizer ran.
fn authorizer_fields(parts: &Parts) -> Option<&HashMap<String, Value>> {
    match parts.extensions.get::<lambda_http::request::RequestContext>()? {
        lambda_http::request::RequestContext::ApiGatewayV2(c) => c.authorizer.as_ref().map(|a| &a.fields),
        _ => None,
    }
}

impl<S: Scope> FromRequestParts<AppState> for SiteKey<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, services: &AppState) -> Result<Self, ApiError> {
        let state = request_state(parts)?;
        let field = |name: &str| {
            authorizer_fields(parts)
                .and_then(|f| f.get(name))
                .and_then(Value::as_str)
                .filter(|v| crate::ids::is_valid_id(v))
                .map(str::to_owned)
        };
        let (Some(account_id), Some(site_id), Some(key_id)) = (
            field(authorizer_context::ACCOUNT_ID),
            field(authorizer_context::SITE_ID),
            field(authorizer_context::KEY_ID),
        ) else {
            return Err(ApiError::Unauthenticated("A valid API key is required.".into()));
        };
        state.set_principal(&account_id, &format!("key:{key_id}"));
        apply(&state, count::<S>(services, &format!("key:{key_id}")).await?)?;
        Ok(Self { account_id, site_id, key_id, scope: PhantomData })
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

    /// Where this request's list lives, for its pages' links.
    pub fn links(&self) -> crate::pagination::Links {
        self.state.links()
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
