//! `/api/v1/auth/`: a thin adapter from HTTP to [`igny8_domain::accounts`].

use http::Method;
use igny8_domain::accounts::{self, ChangePassword, LoginInput, RegisterInput};
use igny8_domain::http::{Reply, RequestCtx};
use igny8_domain::{ApiError, Services};
use lambda_http::{Body, Request, Response};

pub const PREFIX: &str = "/api/v1/auth/";

/// Handles one API Gateway request.
pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    let mut ctx = RequestCtx::new(request, &services.config);
    let result = route(services, &mut ctx).await;
    ctx.finish(result)
}

async fn route(services: &Services, ctx: &mut RequestCtx) -> Result<Reply, ApiError> {
    let Some(rest) = ctx.path_under(PREFIX) else {
        return Err(ApiError::not_found());
    };
    let method = ctx.method().clone();
    let allowed = match rest.as_str() {
        "register/" | "login/" | "refresh/" | "change-password/" => Method::POST,
        "me/" => Method::GET,
        _ => return Err(ApiError::not_found()),
    };
    if method != allowed {
        return Err(ApiError::MethodNotAllowed);
    }
    ctx.set_route(format!("{method} {PREFIX}{rest}"));
    match rest.as_str() {
        "register/" => {
            let input = RegisterInput::from_body(ctx.body())?;
            let data = accounts::register(services, input).await?;
            Ok(Reply::created(data).with_message("Registration successful"))
        }
        "login/" => {
            let input = LoginInput::from_body(ctx.body())?;
            let data = accounts::login(services, input).await?;
            Ok(Reply::ok(data).with_message("Login successful"))
        }
        "refresh/" => Ok(Reply::ok(accounts::refresh(services, ctx.body()).await?)),
        "change-password/" => {
            let principal = accounts::authenticate(services, ctx.bearer()).await?;
            ctx.set_principal(&principal);
            let input = ChangePassword::from_body(ctx.body())?;
            let data = accounts::change_password(services, &principal, input).await?;
            Ok(Reply::ok(data).with_message("Password changed successfully"))
        }
        _ => {
            let principal = accounts::authenticate(services, ctx.bearer()).await?;
            ctx.set_principal(&principal);
            Ok(Reply::ok(accounts::me(services, &principal).await?))
        }
    }
}
