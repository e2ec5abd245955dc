//! `/api/v1/billing/` (the account's credits, packages, invoices, payments, payment methods) and
//! `/api/v1/admin/` (the platform's billing desk). A thin adapter from HTTP to the domain crate's
//! billing module.

use http::{HeaderName, HeaderValue};
use igny8_domain::billing::{admin, credits, invoices};
use igny8_domain::http::{Reply, RequestCtx};
use igny8_domain::{ApiError, Services};
use lambda_http::{Body, Request, Response};

pub const PREFIX: &str = "/api/v1/billing/";
pub const ADMIN_PREFIX: &str = "/api/v1/admin/";

const ROUTES: &[&str] = &[
    "credits/balance/balance/",
    "credits/balance/",
    "credits/usage/summary/",
    "credits/usage/limits/",
    "credits/usage/{id}/",
    "credits/usage/",
    "credits/transactions/{id}/",
    "credits/transactions/",
    "transactions/{id}/",
    "transactions/",
    "credit-packages/{id}/purchase/",
    "credit-packages/{id}/",
    "credit-packages/",
    "invoices/{id}/download_pdf/",
    "invoices/{id}/",
    "invoices/",
    "payments/available_methods/",
    "payments/",
    "payment-methods/{id}/set_default/",
    "payment-methods/{id}/",
    "payment-methods/",
];

const ADMIN_ROUTES: &[&str] =
    &["accounts/{id}/adjust_credits/", "accounts/", "payments/{id}/approve/", "payments/{id}/reject/", "payments/"];

fn methods(pattern: &str) -> &'static [&'static str] {
    match pattern {
        "credit-packages/{id}/purchase/"
        | "payment-methods/{id}/set_default/"
        | "accounts/{id}/adjust_credits/"
        | "payments/{id}/approve/"
        | "payments/{id}/reject/" => &["POST"],
        "payments/" | "payment-methods/" => &["GET", "POST"],
        "payment-methods/{id}/" => &["DELETE"],
        _ => &["GET"],
    }
}

/// Handles one API Gateway request.
pub async fn handle(services: &Services, request: Request) -> Response<Body> {
    igny8_domain::http::serve(services, request, route).await
}

async fn route(services: &Services, ctx: &mut RequestCtx) -> Result<Reply, ApiError> {
    if ctx.path().starts_with(ADMIN_PREFIX) {
        return admin_route(services, ctx).await;
    }
    let (pattern, params, method) = ctx.route(PREFIX, ROUTES, methods)?;
    // Every billing function checks the role itself (owners and admins only).
    let caller = ctx.caller(services, "billing").await?;
    let id = params.get("id").cloned().unwrap_or_default();
    let status = ctx.query().get("status").filter(|s| !s.is_empty()).cloned();
    match (pattern, method.as_str()) {
        ("credits/balance/" | "credits/balance/balance/", _) => {
            Ok(Reply::ok(credits::balance(services, &caller).await?))
        }
        ("credits/usage/summary/", _) => Ok(Reply::ok(credits::summary(services, &caller, ctx.query()).await?)),
        ("credits/usage/limits/", _) => Ok(Reply::ok(credits::limits(services, &caller).await?)),
        ("credits/usage/{id}/", _) => Ok(Reply::ok(credits::usage_entry(services, &caller, &id).await?)),
        ("credits/usage/", _) => ctx.page(credits::usage(services, &caller, ctx.query()).await?),
        ("credits/transactions/{id}/" | "transactions/{id}/", _) => {
            Ok(Reply::ok(credits::transaction(services, &caller, &id).await?))
        }
        ("credits/transactions/" | "transactions/", _) => {
            ctx.page(credits::transactions(services, &caller, ctx.query()).await?)
        }
        ("credit-packages/", _) => {
            ctx.page(invoices::packages(services, &caller).await?.iter().map(|p| p.to_json()).collect())
        }
        ("credit-packages/{id}/", _) => Ok(Reply::ok(invoices::package(services, &caller, &id).await?.to_json())),
        ("credit-packages/{id}/purchase/", _) => Ok(Reply::created(invoices::purchase(services, &caller, &id).await?)
            .with_message("Invoice created; credits are added when its payment is confirmed")),
        ("invoices/", _) => ctx.page(invoices::invoices(services, &caller, status.as_deref()).await?),
        ("invoices/{id}/", _) => Ok(Reply::ok(invoices::invoice(services, &caller, &id).await?.to_json())),
        ("invoices/{id}/download_pdf/", _) => {
            let (name, pdf) = invoices::invoice_pdf(services, &caller, &id).await?;
            let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
                .map_err(|e| ApiError::internal(e.to_string()))?;
            Ok(Reply::raw("application/pdf", pdf)
                .with_header(HeaderName::from_static("content-disposition"), disposition))
        }
        ("payments/available_methods/", _) => Ok(Reply::ok(invoices::available_methods(&caller)?)),
        ("payments/", "GET") => ctx.page(invoices::payments(services, &caller).await?),
        ("payments/", _) => Ok(Reply::created(invoices::submit_payment(services, &caller, ctx.body()).await?)
            .with_message("Payment submitted for confirmation")),
        ("payment-methods/", "GET") => ctx.page(invoices::methods(services, &caller).await?),
        ("payment-methods/", _) => Ok(Reply::created(invoices::add_method(services, &caller, ctx.body()).await?)),
        ("payment-methods/{id}/set_default/", _) => Ok(Reply::ok(invoices::set_default(services, &caller, &id).await?)),
        _ => {
            invoices::remove_method(services, &caller, &id).await?;
            Ok(Reply::no_content())
        }
    }
}

async fn admin_route(services: &Services, ctx: &mut RequestCtx) -> Result<Reply, ApiError> {
    let (pattern, params, _) = ctx.route(ADMIN_PREFIX, ADMIN_ROUTES, methods)?;
    // The desk's functions admit the platform roles only.
    let caller = ctx.caller(services, "billing_admin").await?;
    let id = params.get("id").cloned().unwrap_or_default();
    match pattern {
        "accounts/" => ctx.page(admin::accounts(services, &caller, ctx.query()).await?),
        "accounts/{id}/adjust_credits/" => {
            Ok(Reply::ok(admin::adjust_credits(services, &caller, &id, ctx.body()).await?)
                .with_message("Credits adjusted"))
        }
        "payments/" => ctx.page(admin::payments(services, &caller, ctx.query()).await?),
        "payments/{id}/approve/" => {
            Ok(Reply::ok(admin::approve(services, &caller, &id).await?).with_message("Payment confirmed"))
        }
        _ => Ok(Reply::ok(admin::reject(services, &caller, &id, ctx.body()).await?).with_message("Payment rejected")),
    }
}
