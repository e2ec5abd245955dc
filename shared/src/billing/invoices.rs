//! Credit packages, invoices, manual payments and payment methods of an account.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{
    CreditPackage, INVOICE_PREFIX, Invoice, InvoiceStatus, METHOD_PREFIX, METHOD_TYPES, PAYMENT_PREFIX, Payment,
    PaymentMethod, PaymentStatus, cents,
};
use crate::access::Caller;
use crate::store::{Change, Condition, Query, Write, keys, s};
use crate::validation::input::{Bounded, Choice, Custom, Id, Text};
use crate::validation::{FieldErrors, Submitted};
use crate::{ApiError, Services, ids};

/// `credit-packages/`: the packages on sale.
pub fn packages(caller: &Caller) -> Result<Vec<CreditPackage>, ApiError> {
    caller.require_manager()?;
    let mut all: Vec<CreditPackage> = CreditPackage::all()?.iter().filter(|p| p.is_active).cloned().collect();
    all.sort_by_key(|p| p.credits);
    Ok(all)
}

/// `credit-packages/{id}/`: a package on sale.
pub fn package(caller: &Caller, package_id: &str) -> Result<CreditPackage, ApiError> {
    caller.require_manager()?;
    CreditPackage::all()?.iter().find(|p| p.id == package_id && p.is_active).cloned().ok_or_else(ApiError::not_found)
}

async fn account_items<T: serde::de::DeserializeOwned>(
    services: &Services,
    account_id: &str,
    prefix: &str,
) -> Result<Vec<T>, ApiError> {
    let query = Query::partition(keys::account_pk(account_id)).sk_prefix(prefix).newest_first();
    let items = services.store().await.query_all(query).await?;
    Ok(items.into_iter().map(crate::store::decode).collect::<Result<_, _>>()?)
}

/// `credit-packages/{id}/purchase/`: a pending invoice for the package. Credits come with the
/// confirmed payment, not now.
pub async fn purchase(services: &Services, caller: &Caller, package_id: &str) -> Result<Value, ApiError> {
    let package = package(caller, package_id)?;
    let now = OffsetDateTime::now_utc();
    let id = ids::new_id();
    let invoice = Invoice {
        number: format!("INV-{}{:02}-{}", now.year(), now.month() as u8, &id.replace('-', "")[20..28].to_uppercase()),
        id,
        account_id: caller.account_id().to_owned(),
        status: InvoiceStatus::Pending,
        package_id: package.id.clone(),
        description: format!("{} ({} credits)", package.name, package.credits),
        credits: package.credits,
        amount: package.price.clone(),
        currency: package.currency.clone(),
        payment_id: None,
        created_at: now,
        paid_at: None,
    };
    services.store().await.put(invoice.item()?, Some(Condition::not_exists())).await?;
    Ok(invoice.to_json())
}

/// `invoices/`, newest first; filter `status`.
pub async fn invoices(services: &Services, caller: &Caller, status: Option<&str>) -> Result<Vec<Value>, ApiError> {
    caller.require_manager()?;
    let all: Vec<Invoice> = account_items(services, caller.account_id(), INVOICE_PREFIX).await?;
    Ok(all.iter().map(Invoice::to_json).filter(|i| status.is_none_or(|s| i["status"] == json!(s))).collect())
}

pub async fn invoice(services: &Services, caller: &Caller, invoice_id: &str) -> Result<Invoice, ApiError> {
    caller.require_manager()?;
    services.store().await.by_id(invoice_id, |id| Invoice::key(caller.account_id(), id)).await
}

/// `invoices/{id}/download_pdf/`.
pub async fn invoice_pdf(
    services: &Services,
    caller: &Caller,
    invoice_id: &str,
) -> Result<(String, Vec<u8>), ApiError> {
    let invoice = invoice(services, caller, invoice_id).await?;
    let bytes = super::pdf::invoice(&invoice, &caller.account.name);
    Ok((format!("{}.pdf", invoice.number), bytes))
}

/// A way to pay, with what to do.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PaymentOption {
    pub r#type: &'static str,
    pub name: &'static str,
    pub instructions: &'static str,
}

/// `payments/available_methods/`.
pub fn available_methods(caller: &Caller) -> Result<Value, ApiError> {
    caller.require_manager()?;
    let option = |r#type, name, instructions| PaymentOption { r#type, name, instructions };
    Ok(crate::http::answer([
        option(
            "bank_transfer",
            "Bank transfer",
            "Pay the invoice amount with the invoice number as the reference, then submit the payment here.",
        ),
        option("paypal", "PayPal", "Send the invoice amount, then submit the PayPal transaction id here."),
        option("manual", "Other", "Arrange the payment with support, then submit its reference here."),
    ]))
}

/// `payments/` (GET), newest first.
pub async fn payments(services: &Services, caller: &Caller) -> Result<Vec<Value>, ApiError> {
    caller.require_manager()?;
    let all: Vec<Payment> = account_items(services, caller.account_id(), PAYMENT_PREFIX).await?;
    Ok(all.iter().map(Payment::to_json).collect())
}

crate::input! {
    /// The body of `POST payments/`: a manual payment of a pending invoice.
    pub struct PaymentReport {
        invoice_id: required String = Id,
        method: required String = Choice(&["bank_transfer", "paypal", "manual"]),
        /// The bank reference or the PayPal transaction id.
        reference: required String = Bounded(200),
        /// When sent, it must be the invoice's amount.
        amount: optional String = Text(crate::validation::max::ANY_TEXT),
    }
}

/// `payments/` (POST): a manual payment for a pending invoice, waiting for the platform to
/// confirm it.
pub async fn submit_payment(
    services: &Services,
    caller: &Caller,
    body: Submitted<PaymentReport>,
) -> Result<Value, ApiError> {
    caller.require_manager()?;
    let PaymentReport { invoice_id, method, reference, amount } = body.read()?;
    let mut f = FieldErrors::new();
    let invoice = match services.store().await.get::<Invoice>(&Invoice::key(caller.account_id(), &invoice_id)).await? {
        Some(invoice) if invoice.status == InvoiceStatus::Pending => Some(invoice),
        Some(_) => {
            f.add("invoice_id", "This invoice is not waiting for a payment.");
            None
        }
        None => {
            f.add("invoice_id", format!("Invalid pk \"{invoice_id}\" - object does not exist."));
            None
        }
    };
    if let (Some(invoice), Some(amount)) = (&invoice, &amount)
        && cents(amount) != cents(&invoice.amount)
    {
        f.add("amount", format!("The invoice is for {} {}.", invoice.amount, invoice.currency));
    }
    f.finish()?;
    let invoice = invoice.ok_or_else(|| ApiError::internal("validated invoice missing"))?;
    let payment = Payment {
        id: ids::new_id(),
        account_id: caller.account_id().to_owned(),
        invoice_id: invoice.id.clone(),
        method,
        reference,
        amount: invoice.amount.clone(),
        currency: invoice.currency.clone(),
        status: PaymentStatus::Pending,
        note: String::new(),
        decided_by: None,
        created_at: OffsetDateTime::now_utc(),
        decided_at: None,
    };
    services.store().await.put(payment.item()?, Some(Condition::not_exists())).await?;
    Ok(payment.to_json())
}

/// `payment-methods/` (GET).
pub async fn methods(services: &Services, caller: &Caller) -> Result<Vec<Value>, ApiError> {
    caller.require_manager()?;
    let all: Vec<PaymentMethod> = account_items(services, caller.account_id(), METHOD_PREFIX).await?;
    Ok(all.iter().map(PaymentMethod::to_json).collect())
}

fn last4(value: &Value) -> Result<String, String> {
    let s = crate::validation::string(value)?;
    if s.len() == 4 && s.chars().all(|c| c.is_ascii_digit()) { Ok(s) } else { Err("Exactly 4 digits.".to_owned()) }
}

fn last4_schema() -> utoipa::openapi::schema::Schema {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some("^[0-9]{4}$"))
        .into()
}

crate::input! {
    /// The body of `POST payment-methods/`. Full card or account numbers are refused wherever
    /// they are sent; only the last four digits may be kept.
    pub struct NewPaymentMethod {
        #[doc = "The kind of method."]
        r#type: required String = Choice(METHOD_TYPES),
        /// What the account calls it.
        label: required String = Bounded(100),
        /// The card's or account's last four digits.
        last4: optional String = Custom(last4, last4_schema),
    }
}

/// `payment-methods/` (POST); the first one is the default.
pub async fn add_method(
    services: &Services,
    caller: &Caller,
    body: Submitted<NewPaymentMethod>,
) -> Result<Value, ApiError> {
    caller.require_manager()?;
    let NewPaymentMethod { r#type: method_type, label, last4 } = body.read_screened(|f| {
        for secret in ["card_number", "number", "cvc", "account_number", "iban"] {
            if f.sent(secret) {
                f.error(secret, "Full payment details are never stored here.");
            }
        }
        f.refuse_digit_runs(
            crate::billing::MAX_DIGIT_RUN + 1,
            "This looks like a card or account number; only the last 4 digits may be kept.",
        );
    })?;
    let existing: Vec<PaymentMethod> = account_items(services, caller.account_id(), METHOD_PREFIX).await?;
    let method = PaymentMethod {
        id: ids::new_id(),
        account_id: caller.account_id().to_owned(),
        method_type,
        label,
        last4,
        is_default: existing.is_empty(),
        created_at: OffsetDateTime::now_utc(),
    };
    services.store().await.put(method.item()?, Some(Condition::not_exists())).await?;
    Ok(method.to_json())
}

/// `payment-methods/{id}/set_default/`: this one is the default, the others not.
pub async fn set_default(services: &Services, caller: &Caller, method_id: &str) -> Result<Value, ApiError> {
    caller.require_manager()?;
    let chosen: PaymentMethod =
        services.store().await.by_id(method_id, |id| PaymentMethod::key(caller.account_id(), id)).await?;
    let all: Vec<PaymentMethod> = account_items(services, caller.account_id(), METHOD_PREFIX).await?;
    let writes: Vec<Write> = all
        .iter()
        .filter(|m| m.is_default != (m.id == chosen.id))
        .map(|m| {
            Write::Update(
                Change::new(PaymentMethod::key(&m.account_id, &m.id), "SET is_default = :d")
                    .value(":d", crate::store::boolean(m.id == chosen.id))
                    .condition(Condition::exists()),
            )
        })
        .collect();
    if !writes.is_empty() {
        services.store().await.transact(writes).await.map_err(|e| e.gone_is_not_found())?;
    }
    Ok(PaymentMethod { is_default: true, ..chosen }.to_json())
}

/// `payment-methods/{id}/` (DELETE).
pub async fn remove_method(services: &Services, caller: &Caller, method_id: &str) -> Result<(), ApiError> {
    caller.require_manager()?;
    let method: PaymentMethod =
        services.store().await.by_id(method_id, |id| PaymentMethod::key(caller.account_id(), id)).await?;
    services
        .store()
        .await
        .transact(vec![Write::Delete(PaymentMethod::key(&method.account_id, &method.id), Some(Condition::exists()))])
        .await
        .map_err(|e| e.gone_is_not_found())
}

/// The writes that confirm `payment` for `invoice` exactly once: each status moves only from
/// `pending`, and the credits come with their `purchase` ledger entry.
pub fn confirm_writes(
    payment: &Payment,
    invoice: &Invoice,
    admin: &str,
    now: OffsetDateTime,
) -> Result<Vec<Write>, ApiError> {
    let at = s(crate::accounts::rfc3339(now));
    let payment_change = Change::new(
        Payment::key(&payment.account_id, &payment.id),
        "SET #status = :confirmed, decided_at = :at, decided_by = :admin, GSI2PK = :gsi",
    )
    .name("#status", "status")
    .value(":confirmed", s("confirmed"))
    .value(":at", at.clone())
    .value(":admin", s(admin))
    .value(":gsi", s("PAYMENTS#confirmed"))
    .condition(Condition::new("#status = :pending").value(":pending", s("pending")));
    let invoice_change = Change::new(
        Invoice::key(&invoice.account_id, &invoice.id),
        "SET #status = :paid, paid_at = :at, payment_id = :payment",
    )
    .name("#status", "status")
    .value(":paid", s("paid"))
    .value(":at", at)
    .value(":payment", s(&payment.id))
    .condition(Condition::new("#status = :pending").value(":pending", s("pending")));
    let mut writes = vec![Write::Update(payment_change), Write::Update(invoice_change)];
    writes.extend(crate::credits::credit(
        &invoice.account_id,
        invoice.credits,
        crate::credits::TransactionType::Purchase,
        &format!("Invoice {}: {}", invoice.number, invoice.description),
        None,
        now,
    )?);
    Ok(writes)
}
