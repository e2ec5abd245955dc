//! Accounts (tenants), their users and plans, and the credential use cases of `/api/v1/auth/`.

mod email;
mod manage;
mod service;
pub mod users;

pub use email::Email;
pub use manage::{create_account, delete_account, get_account, list_accounts, update_account};
pub use service::{
    ChangePassword, LoginInput, OpenedBy, PAID_PLAN_AT_REGISTRATION, Principal, RegisterInput, authenticate,
    change_password, load_plan, login, me, refresh, register,
};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::auth::PasswordHash;

/// Formats a timestamp the way the API answers it.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The roles of the original system. `developer` and `system_bot` may cross accounts; `owner`
/// and `admin` manage their account; `editor` works on granted sites; `viewer` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Developer,
    Owner,
    Admin,
    Editor,
    Viewer,
    SystemBot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    Suspended,
    Cancelled,
}

/// A tenant. `credits` is the balance; the ledger entries of the account sum to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub owner_id: String,
    pub plan_id: String,
    pub status: AccountStatus,
    pub credits: i64,
    /// Sites and users of the account, kept by conditional writes to enforce the plan's limits.
    #[serde(default)]
    pub site_count: u32,
    #[serde(default)]
    pub user_count: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A person who signs in. The password hash never leaves the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub is_active: bool,
    pub password_hash: PasswordHash,
    /// Bumped when the password changes; tokens carrying an older version are refused.
    pub token_version: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub date_joined: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_login: Option<OffsetDateTime>,
    /// Invited and not yet activated: has no usable password.
    #[serde(default)]
    pub invited: bool,
}

/// A subscription plan (reference data, loaded from `infra/reference/plans.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub id: String,
    pub name: String,
    pub slug: String,
    /// Decimal price as a string ("29.00"), like the original's DecimalField.
    pub price: String,
    pub billing_cycle: String,
    /// Credits granted when the account starts and every billing period after.
    pub included_credits: i64,
    pub extra_credit_price: String,
    pub allow_credit_topup: bool,
    pub max_users: u32,
    pub max_sites: u32,
    #[serde(default)]
    pub max_industries: Option<u32>,
    pub max_author_profiles: u32,
    #[serde(default)]
    pub features: Vec<String>,
    pub is_active: bool,
}

impl Plan {
    /// Whether the plan costs money: such a plan starts only through billing (a confirmed
    /// payment) or the platform, never by self-registration.
    pub fn is_paid(&self) -> bool {
        let price = self.price.trim();
        price.is_empty() || !price.chars().all(|c| c == '0' || c == '.')
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "slug": self.slug,
            "price": self.price,
            "billing_cycle": self.billing_cycle,
            "included_credits": self.included_credits,
            "credits_per_month": self.included_credits,
            "extra_credit_price": self.extra_credit_price,
            "allow_credit_topup": self.allow_credit_topup,
            "max_users": self.max_users,
            "max_sites": self.max_sites,
            "max_industries": self.max_industries,
            "max_author_profiles": self.max_author_profiles,
            "features": self.features,
            "is_active": self.is_active,
        })
    }
}

impl Account {
    pub fn to_json(&self, plan: Option<&Plan>) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "slug": self.slug,
            "owner": self.owner_id,
            "status": self.status,
            "credits": self.credits,
            "plan": plan.map(Plan::to_json),
            "sites_count": self.site_count,
            "users_count": self.user_count,
            "created_at": rfc3339(self.created_at),
        })
    }
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Cancelled => "cancelled",
        }
    }
}

impl Role {
    pub fn parse(value: &str) -> Option<Self> {
        serde_json::from_value(Value::String(value.to_owned())).ok()
    }
}

impl User {
    /// The user as the API shows it, with its account (and plan) nested like the original.
    pub fn to_json(&self, account: &Account, plan: Option<&Plan>) -> Value {
        json!({
            "id": self.id,
            "email": self.email,
            "username": self.username,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "role": self.role,
            "is_active": self.is_active,
            "date_joined": rfc3339(self.date_joined),
            "last_login": self.last_login.map(rfc3339),
            "account": account.to_json(plan),
        })
    }

    /// The user without the account, as lists show it.
    pub fn summary_json(&self) -> Value {
        json!({
            "id": self.id,
            "email": self.email,
            "username": self.username,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "role": self.role,
            "is_active": self.is_active,
            "invited": self.invited,
            "account": self.account_id,
            "date_joined": rfc3339(self.date_joined),
            "last_login": self.last_login.map(rfc3339),
        })
    }
}
