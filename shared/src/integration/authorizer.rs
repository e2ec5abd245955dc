//! The API-key authorizer of the HTTP API (a Lambda authorizer, payload 2.0, simple responses):
//! the WordPress plugin's routes let a request through only with a live key of a site, and pass
//! its account, site and key to the function (`requestContext.authorizer.lambda`, read by
//! [`crate::http::SiteKey`]).
//!
//! The key comes as `Authorization: Bearer igny8_...` (the original's `APIKeyAuthentication`:
//! a bearer token that is not a JWT). API Gateway answers a request without that header 401
//! without calling the authorizer, a refused key 403, and caches each answer per header value for
//! the template's `ReauthorizeEvery` (300 s): a revoked key is refused once its cached answer ends.

use aws_lambda_events::event::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use serde_json::json;

use super::api_keys;
use crate::http::authorizer_context::{ACCOUNT_ID, KEY_ID, SITE_ID};
use crate::{ApiError, Services};

/// The key of an `Authorization` header's value: `Bearer <key>` (or the bare key).
fn presented(header: &str) -> &str {
    let header = header.trim();
    match header.split_once(' ') {
        Some((scheme, key)) if scheme.eq_ignore_ascii_case("bearer") => key.trim(),
        _ => header,
    }
}

/// Decides one request: one `GetItem` for a key of ours, none for anything else. A store failure
/// is an error (API Gateway answers 500 and caches nothing).
pub async fn authorize(
    services: &Services,
    request: ApiGatewayV2CustomAuthorizerV2Request,
) -> Result<ApiGatewayV2CustomAuthorizerSimpleResponse, ApiError> {
    let header = request.headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let identity = api_keys::resolve(services, presented(header)).await?;
    let mut answer = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    match identity {
        Some(key) => {
            answer.is_authorized = true;
            answer.context = json!({ ACCOUNT_ID: key.account_id, SITE_ID: key.site_id, KEY_ID: key.key_id });
            tracing::info!(key_id = %key.key_id, site_id = %key.site_id, "API key accepted");
        }
        None => tracing::info!(route = request.route_key.as_deref().unwrap_or("-"), "API key refused"),
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_read_with_or_without_its_scheme() {
        assert_eq!(presented("Bearer igny8_x_y"), "igny8_x_y");
        assert_eq!(presented("bearer   igny8_x_y "), "igny8_x_y");
        assert_eq!(presented("igny8_x_y"), "igny8_x_y");
        assert_eq!(presented(""), "");
    }
}
