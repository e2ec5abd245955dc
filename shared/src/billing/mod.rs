//! Billing: the credit views (balance, usage, transactions), credit packages, invoices, manual
//! payments and payment methods, the platform's admin actions, and the monthly replenishment.
//!
//! Money moves the ledger only in transactions that also move a status exactly once: a payment
//! confirmation (`pending` → `confirmed`, the invoice `pending` → `paid`, the credits and their
//! `purchase` entry), an admin adjustment, and the monthly credit of a billing period (guarded
//! by a per-period marker item).

pub mod admin;
pub mod credits;
pub mod invoices;
pub mod pdf;
pub mod replenish;
pub mod routes;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::accounts::rfc3339;
use crate::store::{Item, Key, StoreError, keys};

pub const INVOICE_PREFIX: &str = "INVOICE#";
pub const PAYMENT_PREFIX: &str = "PAYMENT#";
pub const METHOD_PREFIX: &str = "PAYMETHOD#";

/// A credit package for sale (reference data, `infra/reference/credit_packages.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreditPackage {
    pub id: String,
    pub name: String,
    pub credits: i64,
    /// Decimal price ("49.00").
    pub price: String,
    pub currency: String,
    #[serde(default)]
    pub description: String,
    pub is_active: bool,
}

/// The packages of this build (`infra/reference/credit_packages.json`, compiled in like the rest of
/// the reference data).
static PACKAGES: std::sync::LazyLock<Result<Vec<CreditPackage>, String>> = std::sync::LazyLock::new(|| {
    crate::reference::parse("credit_packages.json", include_str!("../../../infra/reference/credit_packages.json"))
});

impl CreditPackage {
    /// Every package, on sale or not.
    pub fn all() -> Result<&'static [CreditPackage], crate::ApiError> {
        crate::reference::loaded(&PACKAGES)
    }

    pub fn to_json(&self) -> Value {
        crate::http::answer(CreditPackageAnswer::from(self))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Pending,
    Paid,
    Cancelled,
}

/// An invoice for a credit package: credits are added only when its payment is confirmed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invoice {
    pub id: String,
    pub account_id: String,
    pub number: String,
    pub status: InvoiceStatus,
    pub package_id: String,
    pub description: String,
    pub credits: i64,
    /// Decimal amount ("49.00").
    pub amount: String,
    pub currency: String,
    #[serde(default)]
    pub payment_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub paid_at: Option<OffsetDateTime>,
}

impl Invoice {
    pub fn key(account_id: &str, id: &str) -> Key {
        Key::new(keys::account_pk(account_id), format!("{INVOICE_PREFIX}{id}"))
    }

    pub fn item(&self) -> Result<Item, StoreError> {
        Item::new(&Self::key(&self.account_id, &self.id), "Invoice", self)
    }

    pub fn to_json(&self) -> Value {
        crate::http::answer(InvoiceAnswer::from(self))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Pending,
    Confirmed,
    Rejected,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Rejected => "rejected",
        }
    }
}

/// A manual payment (bank transfer etc.) submitted for an invoice, decided by the platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    pub id: String,
    pub account_id: String,
    pub invoice_id: String,
    pub method: String,
    pub reference: String,
    pub amount: String,
    pub currency: String,
    pub status: PaymentStatus,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub decided_by: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
}

impl Payment {
    pub fn key(account_id: &str, id: &str) -> Key {
        Key::new(keys::account_pk(account_id), format!("{PAYMENT_PREFIX}{id}"))
    }

    /// GSI1 finds a payment by id alone; GSI2 lists the payments of one status, oldest first.
    pub fn item(&self) -> Result<Item, StoreError> {
        Ok(Item::new(&Self::key(&self.account_id, &self.id), "Payment", self)?
            .gsi1((format!("{PAYMENT_PREFIX}{}", self.id), "PAYMENT".to_owned()))
            .gsi2((format!("PAYMENTS#{}", self.status.as_str()), format!("{}#{}", rfc3339(self.created_at), self.id))))
    }

    pub fn to_json(&self) -> Value {
        crate::http::answer(PaymentAnswer::from(self))
    }
}

/// The longest run of digits a payment method's fields may hold: a card number has 12 to 19.
pub const MAX_DIGIT_RUN: usize = 11;

/// A way the account pays, as it told us (never a full card or account number).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentMethod {
    pub id: String,
    pub account_id: String,
    pub method_type: String,
    pub label: String,
    #[serde(default)]
    pub last4: Option<String>,
    pub is_default: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl PaymentMethod {
    pub fn key(account_id: &str, id: &str) -> Key {
        Key::new(keys::account_pk(account_id), format!("{METHOD_PREFIX}{id}"))
    }

    pub fn item(&self) -> Result<Item, StoreError> {
        Item::new(&Self::key(&self.account_id, &self.id), "PaymentMethod", self)
    }

    pub fn to_json(&self) -> Value {
        crate::http::answer(PaymentMethodAnswer::from(self))
    }
}

/// The manual payment methods the platform accepts.
/// A credit package on sale, as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreditPackageAnswer {
    pub id: String,
    pub name: String,
    pub credits: i64,
    /// A decimal, e.g. `"49.00"`.
    pub price: String,
    pub currency: String,
    pub description: String,
    pub is_active: bool,
}

impl From<&CreditPackage> for CreditPackageAnswer {
    fn from(p: &CreditPackage) -> Self {
        Self {
            id: p.id.clone(),
            name: p.name.clone(),
            credits: p.credits,
            price: p.price.clone(),
            currency: p.currency.clone(),
            description: p.description.clone(),
            is_active: p.is_active,
        }
    }
}

/// An invoice as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvoiceAnswer {
    pub id: String,
    pub invoice_number: String,
    pub status: InvoiceStatus,
    pub package_id: String,
    pub description: String,
    pub credits: i64,
    /// A decimal, e.g. `"49.00"`.
    pub amount: String,
    pub currency: String,
    pub payment_id: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub paid_at: Option<String>,
}

impl From<&Invoice> for InvoiceAnswer {
    fn from(i: &Invoice) -> Self {
        Self {
            id: i.id.clone(),
            invoice_number: i.number.clone(),
            status: i.status,
            package_id: i.package_id.clone(),
            description: i.description.clone(),
            credits: i.credits,
            amount: i.amount.clone(),
            currency: i.currency.clone(),
            payment_id: i.payment_id.clone(),
            created_at: rfc3339(i.created_at),
            paid_at: i.paid_at.map(rfc3339),
        }
    }
}

/// A manual payment as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PaymentAnswer {
    pub id: String,
    pub account_id: String,
    pub invoice_id: String,
    pub method: String,
    pub reference: String,
    /// A decimal, e.g. `"49.00"`.
    pub amount: String,
    pub currency: String,
    pub status: PaymentStatus,
    pub note: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub decided_at: Option<String>,
}

impl From<&Payment> for PaymentAnswer {
    fn from(p: &Payment) -> Self {
        Self {
            id: p.id.clone(),
            account_id: p.account_id.clone(),
            invoice_id: p.invoice_id.clone(),
            method: p.method.clone(),
            reference: p.reference.clone(),
            amount: p.amount.clone(),
            currency: p.currency.clone(),
            status: p.status,
            note: p.note.clone(),
            created_at: rfc3339(p.created_at),
            decided_at: p.decided_at.map(rfc3339),
        }
    }
}

/// A payment method as the API answers it: never more than the last four digits.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PaymentMethodAnswer {
    pub id: String,
    /// `bank_transfer`, `card`, `paypal` or `manual`.
    #[serde(rename = "type")]
    pub method_type: String,
    pub label: String,
    pub last4: Option<String>,
    pub is_default: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&PaymentMethod> for PaymentMethodAnswer {
    fn from(m: &PaymentMethod) -> Self {
        Self {
            id: m.id.clone(),
            method_type: m.method_type.clone(),
            label: m.label.clone(),
            last4: m.last4.clone(),
            is_default: m.is_default,
            created_at: rfc3339(m.created_at),
        }
    }
}

pub const METHOD_TYPES: &[&str] = &["bank_transfer", "card", "paypal", "manual"];

/// Parses a decimal money amount ("49", "49.5", "49.00") into cents.
pub fn cents(amount: &str) -> Option<i64> {
    let amount = amount.trim();
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
    if whole.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || fraction.len() > 2
        || !fraction.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
    whole.checked_mul(100)?.checked_add(fraction)
}

#[cfg(test)]
mod tests {
    #[test]
    fn money_is_parsed_exactly() {
        assert_eq!(super::cents("49.00"), Some(4900));
        assert_eq!(super::cents("49.5"), Some(4950));
        assert_eq!(super::cents("7"), Some(700));
        for bad in ["", "-1", "1.234", "1e3", "abc", ".5"] {
            assert_eq!(super::cents(bad), None, "{bad}");
        }
    }
}
