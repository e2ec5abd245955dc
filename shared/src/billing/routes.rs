//! `/api/v1/billing/` (the account's credits, packages, invoices, payments, payment methods) and
//! `/api/v1/admin/` (the platform's billing desk): the routes and their contract, over
//! [`super::credits`], [`super::invoices`] and [`super::admin`].
//!
//! Every billing function checks the role itself: owners and admins for the account's own
//! billing (every active member for the balance, usage and limits), the platform roles for the
//! desk.

use axum::extract::{Path, State};
use http::{HeaderName, HeaderValue};

use super::admin::{AccountBalance, Adjusted, Adjustment, Decision, Rejection};
use super::credits::{Balance, Limits, UsageSummary};
use super::invoices::{NewPaymentMethod, PaymentOption, PaymentReport};
use super::{CreditPackageAnswer, InvoiceAnswer, PaymentAnswer, PaymentMethodAnswer, admin, credits, invoices};
use crate::credits::{LedgerEntryAnswer, UsageLogAnswer};
use crate::http::openapi::{Data, Paged};
use crate::http::{AppState, Caller, Ctx, Module, Reply};
use crate::throttle::scopes::{Billing, BillingAdmin};
use crate::validation::Submitted;
use crate::{ApiError, Services};

type Answer = Result<Reply, ApiError>;

/// The account's credit balance.
#[utoipa::path(get, path = "/api/v1/billing/credits/balance/",
    responses((status = 200, description = "The balance", body = Data<Balance>)))]
async fn balance(State(s): State<AppState>, caller: Caller<Billing>) -> Answer {
    balance_of(&s, &caller).await
}

async fn balance_of(s: &Services, caller: &Caller<Billing>) -> Answer {
    Ok(Reply::ok(credits::balance(s, caller).await?))
}

/// The account's credit balance (the original's other route).
#[utoipa::path(get, path = "/api/v1/billing/credits/balance/balance/",
    responses((status = 200, description = "The balance", body = Data<Balance>)))]
async fn balance_again(State(s): State<AppState>, caller: Caller<Billing>) -> Answer {
    balance_of(&s, &caller).await
}

/// Credits used, by operation, over a period.
#[utoipa::path(get, path = "/api/v1/billing/credits/usage/summary/",
    responses((status = 200, description = "The summary", body = Data<UsageSummary>)))]
async fn usage_summary(State(s): State<AppState>, caller: Caller<Billing>, ctx: Ctx) -> Answer {
    Ok(Reply::ok(credits::summary(&s, &caller, ctx.query()).await?))
}

/// The plan's limits and how much of them is used.
#[utoipa::path(get, path = "/api/v1/billing/credits/usage/limits/",
    responses((status = 200, description = "The limits", body = Data<Limits>)))]
async fn usage_limits(State(s): State<AppState>, caller: Caller<Billing>) -> Answer {
    Ok(Reply::ok(credits::limits(&s, &caller).await?))
}

/// One AI operation's usage record.
#[utoipa::path(get, path = "/api/v1/billing/credits/usage/{id}/",
    responses((status = 200, description = "The record", body = Data<UsageLogAnswer>)))]
async fn usage_entry(State(s): State<AppState>, caller: Caller<Billing>, Path(id): Path<String>) -> Answer {
    Ok(Reply::ok(credits::usage_entry(&s, &caller, &id).await?))
}

/// The AI operations run and what each cost.
#[utoipa::path(get, path = "/api/v1/billing/credits/usage/",
    responses((status = 200, description = "Usage records", body = Paged<UsageLogAnswer>)))]
async fn usage(State(s): State<AppState>, caller: Caller<Billing>, ctx: Ctx) -> Answer {
    ctx.page(credits::usage(&s, &caller, ctx.query()).await?)
}

async fn transaction_of(s: &Services, caller: &Caller<Billing>, id: &str) -> Answer {
    Ok(Reply::ok(credits::transaction(s, caller, id).await?))
}

async fn transactions_of(s: &Services, caller: &Caller<Billing>, ctx: &Ctx) -> Answer {
    ctx.page(credits::transactions(s, caller, ctx.query()).await?)
}

/// One entry of the credit ledger.
#[utoipa::path(get, path = "/api/v1/billing/credits/transactions/{id}/",
    responses((status = 200, description = "The entry", body = Data<LedgerEntryAnswer>)))]
async fn credit_transaction(State(s): State<AppState>, caller: Caller<Billing>, Path(id): Path<String>) -> Answer {
    transaction_of(&s, &caller, &id).await
}

/// The credit ledger, newest first.
#[utoipa::path(get, path = "/api/v1/billing/credits/transactions/",
    responses((status = 200, description = "Ledger entries", body = Paged<LedgerEntryAnswer>)))]
async fn credit_transactions(State(s): State<AppState>, caller: Caller<Billing>, ctx: Ctx) -> Answer {
    transactions_of(&s, &caller, &ctx).await
}

/// One entry of the credit ledger (the original's other route).
#[utoipa::path(get, path = "/api/v1/billing/transactions/{id}/",
    responses((status = 200, description = "The entry", body = Data<LedgerEntryAnswer>)))]
async fn transaction(State(s): State<AppState>, caller: Caller<Billing>, Path(id): Path<String>) -> Answer {
    transaction_of(&s, &caller, &id).await
}

/// The credit ledger (the original's other route).
#[utoipa::path(get, path = "/api/v1/billing/transactions/",
    responses((status = 200, description = "Ledger entries", body = Paged<LedgerEntryAnswer>)))]
async fn transactions(State(s): State<AppState>, caller: Caller<Billing>, ctx: Ctx) -> Answer {
    transactions_of(&s, &caller, &ctx).await
}

/// The credit packages on sale.
#[utoipa::path(get, path = "/api/v1/billing/credit-packages/",
    responses((status = 200, description = "Packages", body = Paged<CreditPackageAnswer>)))]
async fn packages(caller: Caller<Billing>, ctx: Ctx) -> Answer {
    ctx.page(invoices::packages(&caller)?.iter().map(|p| p.to_json()).collect())
}

/// One credit package.
#[utoipa::path(get, path = "/api/v1/billing/credit-packages/{id}/",
    responses((status = 200, description = "The package", body = Data<CreditPackageAnswer>)))]
async fn package(caller: Caller<Billing>, Path(id): Path<String>) -> Answer {
    Ok(Reply::ok(invoices::package(&caller, &id)?.to_json()))
}

/// Buys a package: an invoice, credited when its payment is confirmed.
#[utoipa::path(post, path = "/api/v1/billing/credit-packages/{id}/purchase/",
    responses((status = 201, description = "The invoice", body = Data<InvoiceAnswer>)))]
async fn purchase(State(s): State<AppState>, caller: Caller<Billing>, Path(id): Path<String>) -> Answer {
    Ok(Reply::created(invoices::purchase(&s, &caller, &id).await?)
        .with_message("Invoice created; credits are added when its payment is confirmed"))
}

/// The account's invoices (`?status=`).
#[utoipa::path(get, path = "/api/v1/billing/invoices/",
    params(("status" = Option<String>, Query, description = "Only invoices in this status")),
    responses((status = 200, description = "Invoices", body = Paged<InvoiceAnswer>)))]
async fn list_invoices(State(s): State<AppState>, caller: Caller<Billing>, ctx: Ctx) -> Answer {
    let status = ctx.query().get("status").filter(|s| !s.is_empty()).cloned();
    ctx.page(invoices::invoices(&s, &caller, status.as_deref()).await?)
}

/// One invoice.
#[utoipa::path(get, path = "/api/v1/billing/invoices/{id}/",
    responses((status = 200, description = "The invoice", body = Data<InvoiceAnswer>)))]
async fn invoice(State(s): State<AppState>, caller: Caller<Billing>, Path(id): Path<String>) -> Answer {
    Ok(Reply::ok(invoices::invoice(&s, &caller, &id).await?.to_json()))
}

/// An invoice as PDF.
#[utoipa::path(get, path = "/api/v1/billing/invoices/{id}/download_pdf/",
    responses((status = 200, description = "The PDF", content_type = "application/pdf", body = Vec<u8>)))]
async fn invoice_pdf(State(s): State<AppState>, caller: Caller<Billing>, Path(id): Path<String>) -> Answer {
    let (name, pdf) = invoices::invoice_pdf(&s, &caller, &id).await?;
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Reply::raw("application/pdf", pdf).with_header(HeaderName::from_static("content-disposition"), disposition))
}

/// How the account may pay.
#[utoipa::path(get, path = "/api/v1/billing/payments/available_methods/",
    responses((status = 200, description = "Payment methods", body = Data<Vec<PaymentOption>>)))]
async fn available_methods(caller: Caller<Billing>) -> Answer {
    Ok(Reply::ok(invoices::available_methods(&caller)?))
}

/// The account's payments.
#[utoipa::path(get, path = "/api/v1/billing/payments/",
    responses((status = 200, description = "Payments", body = Paged<PaymentAnswer>)))]
async fn list_payments(State(s): State<AppState>, caller: Caller<Billing>, ctx: Ctx) -> Answer {
    ctx.page(invoices::payments(&s, &caller).await?)
}

/// Reports a payment of an invoice, for confirmation.
#[utoipa::path(post, path = "/api/v1/billing/payments/", request_body = PaymentReport,
    responses((status = 201, description = "The payment", body = Data<PaymentAnswer>)))]
async fn submit_payment(State(s): State<AppState>, caller: Caller<Billing>, body: Submitted<PaymentReport>) -> Answer {
    Ok(Reply::created(invoices::submit_payment(&s, &caller, body).await?)
        .with_message("Payment submitted for confirmation"))
}

/// The account's saved payment methods.
#[utoipa::path(get, path = "/api/v1/billing/payment-methods/",
    responses((status = 200, description = "Payment methods", body = Paged<PaymentMethodAnswer>)))]
async fn list_methods(State(s): State<AppState>, caller: Caller<Billing>, ctx: Ctx) -> Answer {
    ctx.page(invoices::methods(&s, &caller).await?)
}

/// Saves a payment method (never a full card number).
#[utoipa::path(post, path = "/api/v1/billing/payment-methods/", request_body = NewPaymentMethod,
    responses((status = 201, description = "The method", body = Data<PaymentMethodAnswer>)))]
async fn add_method(State(s): State<AppState>, caller: Caller<Billing>, body: Submitted<NewPaymentMethod>) -> Answer {
    Ok(Reply::created(invoices::add_method(&s, &caller, body).await?))
}

/// Makes a method the default.
#[utoipa::path(post, path = "/api/v1/billing/payment-methods/{id}/set_default/",
    responses((status = 200, description = "The method", body = Data<PaymentMethodAnswer>)))]
async fn set_default(State(s): State<AppState>, caller: Caller<Billing>, Path(id): Path<String>) -> Answer {
    Ok(Reply::ok(invoices::set_default(&s, &caller, &id).await?))
}

/// Removes a method.
#[utoipa::path(delete, path = "/api/v1/billing/payment-methods/{id}/", responses((status = 204, description = "Removed")))]
async fn remove_method(State(s): State<AppState>, caller: Caller<Billing>, Path(id): Path<String>) -> Answer {
    invoices::remove_method(&s, &caller, &id).await?;
    Ok(Reply::no_content())
}

// The platform's billing desk.

/// Every account with its balance (platform roles).
#[utoipa::path(get, path = "/api/v1/admin/accounts/",
    responses((status = 200, description = "Accounts", body = Paged<AccountBalance>)))]
async fn admin_accounts(State(s): State<AppState>, caller: Caller<BillingAdmin>, ctx: Ctx) -> Answer {
    ctx.page(admin::accounts(&s, &caller, ctx.query()).await?)
}

/// Adds or removes credits (never below zero), with a reason.
#[utoipa::path(post, path = "/api/v1/admin/accounts/{id}/adjust_credits/", request_body = Adjustment,
    responses((status = 200, description = "The new balance", body = Data<Adjusted>)))]
async fn adjust_credits(
    State(s): State<AppState>,
    caller: Caller<BillingAdmin>,
    Path(id): Path<String>,
    body: Submitted<Adjustment>,
) -> Answer {
    Ok(Reply::ok(admin::adjust_credits(&s, &caller, &id, body).await?).with_message("Credits adjusted"))
}

/// Payments waiting for confirmation, or in any status.
#[utoipa::path(get, path = "/api/v1/admin/payments/",
    responses((status = 200, description = "Payments", body = Paged<PaymentAnswer>)))]
async fn admin_payments(State(s): State<AppState>, caller: Caller<BillingAdmin>, ctx: Ctx) -> Answer {
    ctx.page(admin::payments(&s, &caller, ctx.query()).await?)
}

/// Confirms a payment: its invoice is paid and the credits added, once.
#[utoipa::path(post, path = "/api/v1/admin/payments/{id}/approve/",
    responses((status = 200, description = "The payment", body = Data<Decision>)))]
async fn approve(State(s): State<AppState>, caller: Caller<BillingAdmin>, Path(id): Path<String>) -> Answer {
    Ok(Reply::ok(admin::approve(&s, &caller, &id).await?).with_message("Payment confirmed"))
}

/// Rejects a payment; its invoice stays open.
#[utoipa::path(post, path = "/api/v1/admin/payments/{id}/reject/", request_body = Rejection,
    responses((status = 200, description = "The payment", body = Data<Decision>)))]
async fn reject(
    State(s): State<AppState>,
    caller: Caller<BillingAdmin>,
    Path(id): Path<String>,
    body: Submitted<Rejection>,
) -> Answer {
    Ok(Reply::ok(admin::reject(&s, &caller, &id, body).await?).with_message("Payment rejected"))
}

crate::module_routes! {
    [balance],
    [balance_again],
    [usage_summary],
    [usage_limits],
    [usage_entry],
    [usage],
    [credit_transaction],
    [credit_transactions],
    [transaction],
    [transactions],
    [packages],
    [package],
    [purchase],
    [list_invoices],
    [invoice],
    [invoice_pdf],
    [available_methods],
    [list_payments, submit_payment],
    [list_methods, add_method],
    [set_default],
    [remove_method],
    [admin_accounts],
    [adjust_credits],
    [admin_payments],
    [approve],
    [reject],
}

/// The billing function's part of the API.
pub const MODULE: Module = Module {
    tag: "billing",
    description: "Credits, usage, packages, invoices, payments and payment methods; the platform's billing desk \
                  under /api/v1/admin/.",
    switch: None,
    routes,
    serve,
};
