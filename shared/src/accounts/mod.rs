//! Accounts (tenants), their users and plans, and the credential use cases of `/api/v1/auth/`.

mod email;
pub mod manage;
pub mod routes;
mod service;
pub mod users;

pub use email::Email;
pub use manage::{create_account, delete_account, get_account, list_accounts, update_account};
pub use service::{
    Bearer, ChangePassword, LoginInput, OpenedBy, PAID_PLAN_AT_REGISTRATION, Principal, RegisterInput, authenticate,
    authenticate_token, change_password, login, me, refresh, register,
};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::auth::PasswordHash;

/// Formats a timestamp the way the API answers it.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The roles of the original system. `developer` and `system_bot` may cross accounts; `owner`
/// and `admin` manage their account; `editor` works on granted sites; `viewer` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Developer,
    Owner,
    Admin,
    Editor,
    Viewer,
    SystemBot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// The account's author profiles, kept like the sites' count against `max_author_profiles`.
    #[serde(default)]
    pub author_profile_count: u32,
    /// The modules switched off for the account (`settings/modules/enable/`); every module is on
    /// unless named here. Read with the account on every request, so a switch costs nothing.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub disabled_modules: std::collections::BTreeSet<String>,
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
        crate::http::answer(PlanAnswer::from(self))
    }
}

impl Account {
    /// Whether the module switched by `switch` is on for the account.
    pub fn module_enabled(&self, switch: &str) -> bool {
        !self.disabled_modules.contains(switch)
    }

    pub fn to_json(&self, plan: Option<&Plan>) -> Value {
        crate::http::answer(AccountAnswer::new(self, plan))
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
        crate::http::answer(UserAnswer::new(self, account, plan))
    }

    /// The user without the account, as lists show it.
    pub fn summary_json(&self) -> Value {
        crate::http::answer(UserSummary::from(self))
    }
}

/// A plan as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlanAnswer {
    pub id: String,
    pub name: String,
    pub slug: String,
    /// A decimal, e.g. `"29.00"`.
    pub price: String,
    pub billing_cycle: String,
    pub included_credits: i64,
    /// The same as `included_credits`, by the original's other name.
    pub credits_per_month: i64,
    pub extra_credit_price: String,
    pub allow_credit_topup: bool,
    pub max_users: u32,
    pub max_sites: u32,
    pub max_industries: Option<u32>,
    pub max_author_profiles: u32,
    pub features: Vec<String>,
    pub is_active: bool,
}

impl From<&Plan> for PlanAnswer {
    fn from(p: &Plan) -> Self {
        Self {
            id: p.id.clone(),
            name: p.name.clone(),
            slug: p.slug.clone(),
            price: p.price.clone(),
            billing_cycle: p.billing_cycle.clone(),
            included_credits: p.included_credits,
            credits_per_month: p.included_credits,
            extra_credit_price: p.extra_credit_price.clone(),
            allow_credit_topup: p.allow_credit_topup,
            max_users: p.max_users,
            max_sites: p.max_sites,
            max_industries: p.max_industries,
            max_author_profiles: p.max_author_profiles,
            features: p.features.clone(),
            is_active: p.is_active,
        }
    }
}

/// An account as the API answers it, with its plan.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountAnswer {
    pub id: String,
    pub name: String,
    pub slug: String,
    /// The owner's user id.
    pub owner: String,
    pub status: AccountStatus,
    /// The credit balance.
    pub credits: i64,
    pub plan: Option<PlanAnswer>,
    pub sites_count: u32,
    pub users_count: u32,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl AccountAnswer {
    pub fn new(account: &Account, plan: Option<&Plan>) -> Self {
        Self {
            id: account.id.clone(),
            name: account.name.clone(),
            slug: account.slug.clone(),
            owner: account.owner_id.clone(),
            status: account.status,
            credits: account.credits,
            plan: plan.map(PlanAnswer::from),
            sites_count: account.site_count,
            users_count: account.user_count,
            created_at: rfc3339(account.created_at),
        }
    }
}

/// A user as the API answers it to the user itself: with the account and its plan.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserAnswer {
    pub id: String,
    pub email: String,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub is_active: bool,
    #[schema(format = DateTime)]
    pub date_joined: String,
    #[schema(format = DateTime)]
    pub last_login: Option<String>,
    pub account: AccountAnswer,
    /// The sites the user may work on: only in `auth/me/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<crate::sites::SiteAnswer>>)]
    pub accessible_sites: Option<Vec<Value>>,
}

impl UserAnswer {
    pub fn new(user: &User, account: &Account, plan: Option<&Plan>) -> Self {
        Self {
            id: user.id.clone(),
            email: user.email.clone(),
            username: user.username.clone(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            role: user.role,
            is_active: user.is_active,
            date_joined: rfc3339(user.date_joined),
            last_login: user.last_login.map(rfc3339),
            account: AccountAnswer::new(account, plan),
            accessible_sites: None,
        }
    }
}

/// A user as lists answer it: the account by id.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserSummary {
    pub id: String,
    pub email: String,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub is_active: bool,
    /// Invited and not activated yet.
    pub invited: bool,
    /// The account's id.
    pub account: String,
    #[schema(format = DateTime)]
    pub date_joined: String,
    #[schema(format = DateTime)]
    pub last_login: Option<String>,
}

impl From<&User> for UserSummary {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.clone(),
            email: u.email.clone(),
            username: u.username.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            role: u.role,
            is_active: u.is_active,
            invited: u.invited,
            account: u.account_id.clone(),
            date_joined: rfc3339(u.date_joined),
            last_login: u.last_login.map(rfc3339),
        }
    }
}
