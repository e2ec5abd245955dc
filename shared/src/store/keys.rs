//! The single-table key design. Every item has `PK` and `SK`; some carry `GSI1PK`/`GSI1SK` and
//! `GSI2PK`/`GSI2SK`. `docs/data-model.md` lists every access pattern with the key it uses; keep
//! the two in step.

/// Attribute names of the table's keys and indexes.
pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI1_PK: &str = "GSI1PK";
pub const GSI1_SK: &str = "GSI1SK";
pub const GSI2: &str = "GSI2";
pub const GSI2_PK: &str = "GSI2PK";
pub const GSI2_SK: &str = "GSI2SK";
pub const GSI3: &str = "GSI3";
pub const GSI3_PK: &str = "GSI3PK";
pub const GSI3_SK: &str = "GSI3SK";
/// Epoch seconds after which DynamoDB deletes the item.
pub const TTL: &str = "expires_at";
/// The entity type of an item (`Account`, `User`, ...).
pub const ENTITY: &str = "entity";

/// The primary key of one item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self { pk: pk.into(), sk: sk.into() }
    }

    /// An account's own item: `ACCOUNT#<id>` / `ACCOUNT`.
    pub fn account(account_id: &str) -> Self {
        Self::new(account_pk(account_id), "ACCOUNT")
    }

    /// A user, stored in its account's partition: `ACCOUNT#<account>` / `USER#<user>`.
    pub fn user(account_id: &str, user_id: &str) -> Self {
        Self::new(account_pk(account_id), format!("USER#{user_id}"))
    }

    /// The uniqueness guard and login lookup of an email: `EMAIL#<email>` / `EMAIL`.
    pub fn email(normalized_email: &str) -> Self {
        Self::new(format!("EMAIL#{normalized_email}"), "EMAIL")
    }

    /// One credit ledger entry of an account: `ACCOUNT#<account>` / `LEDGER#<entry id>`.
    pub fn ledger_entry(account_id: &str, entry_id: &str) -> Self {
        Self::new(account_pk(account_id), format!("{LEDGER_PREFIX}{entry_id}"))
    }
}

impl Key {
    /// A site of an account: `ACCOUNT#<account>` / `SITE#<site>`.
    pub fn site(account_id: &str, site_id: &str) -> Self {
        Self::new(account_pk(account_id), format!("{SITE_PREFIX}{site_id}"))
    }

    /// A sector (of one of the account's sites): `ACCOUNT#<account>` / `SECTOR#<sector>`.
    pub fn sector(account_id: &str, sector_id: &str) -> Self {
        Self::new(account_pk(account_id), format!("{SECTOR_PREFIX}{sector_id}"))
    }

    /// A user's access to a site: `ACCOUNT#<account>` / `SITEACCESS#<user>#<site>`.
    pub fn site_access(account_id: &str, user_id: &str, site_id: &str) -> Self {
        Self::new(account_pk(account_id), format!("{SITE_ACCESS_PREFIX}{user_id}#{site_id}"))
    }

    /// A subscription of an account: `ACCOUNT#<account>` / `SUBSCRIPTION#<id>`.
    pub fn subscription(account_id: &str, subscription_id: &str) -> Self {
        Self::new(account_pk(account_id), format!("{SUBSCRIPTION_PREFIX}{subscription_id}"))
    }

    /// The account's settings: `ACCOUNT#<account>` / `SETTINGS`.
    pub fn account_settings(account_id: &str) -> Self {
        Self::new(account_pk(account_id), "SETTINGS")
    }
}

pub const SITE_PREFIX: &str = "SITE#";
pub const SECTOR_PREFIX: &str = "SECTOR#";
pub const SITE_ACCESS_PREFIX: &str = "SITEACCESS#";
pub const SUBSCRIPTION_PREFIX: &str = "SUBSCRIPTION#";
pub const LEDGER_PREFIX: &str = "LEDGER#";
pub const USER_PREFIX: &str = "USER#";

pub fn account_pk(account_id: &str) -> String {
    format!("ACCOUNT#{account_id}")
}

/// GSI1 of an account item: every account in one list (`ACCOUNTS` / `ACCOUNT#<id>`), paged by
/// admin views and the monthly replenishment.
pub fn accounts_gsi1(account_id: &str) -> (String, String) {
    ("ACCOUNTS".to_owned(), format!("ACCOUNT#{account_id}"))
}

/// GSI1 of a user item: find a user by id alone (`USER#<id>` / `USER`).
pub fn user_gsi1(user_id: &str) -> (String, String) {
    (format!("USER#{user_id}"), "USER".to_owned())
}
