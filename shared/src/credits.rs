//! The credit ledger: every change of an account's balance is one ledger entry written in the
//! same transaction as the balance change, so that the ledger always sums to the balance.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::store::{Change, Condition, Item, Key, StoreError, Write, n, s};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransactionType {
    Purchase,
    Subscription,
    Refund,
    Deduction,
    Adjustment,
    Reservation,
    Settlement,
}

/// What one AI call (or test image) used (`ACCOUNT#<id>` / `USAGELOG#<call id>`): the credits
/// charged for it and what the provider call cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageLog {
    pub id: String,
    pub account_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    pub operation_type: String,
    pub credits_used: i64,
    #[serde(default)]
    pub tokens_input: u64,
    #[serde(default)]
    pub tokens_output: u64,
    #[serde(default)]
    pub model_used: String,
    #[serde(default)]
    pub cost_usd: f64,
    #[serde(default)]
    pub duration_ms: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

pub const USAGE_LOG_PREFIX: &str = "USAGELOG#";

impl UsageLog {
    pub fn key(account_id: &str, id: &str) -> Key {
        Key::new(crate::store::keys::account_pk(account_id), format!("{USAGE_LOG_PREFIX}{id}"))
    }

    pub fn item(&self) -> Result<Item, StoreError> {
        Item::new(&Self::key(&self.account_id, &self.id), "CreditUsageLog", self)
    }

    /// The log as `billing/credits/usage/` answers it: named fields only.
    pub fn to_json(&self) -> Value {
        crate::http::answer(UsageLogAnswer::from(self))
    }
}

/// One ledger entry (`ACCOUNT#<id>` / `LEDGER#<entry id>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub id: String,
    pub account_id: String,
    pub transaction_type: TransactionType,
    /// Positive adds credits, negative takes them.
    pub amount: i64,
    /// The balance right after, where the writer knew it (a conditional debit does not read it).
    #[serde(default)]
    pub balance_after: Option<i64>,
    /// The AI job this entry belongs to, if any.
    #[serde(default)]
    pub job_id: Option<String>,
    pub description: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl LedgerEntry {
    pub fn new(
        account_id: &str,
        transaction_type: TransactionType,
        amount: i64,
        balance_after: Option<i64>,
        description: impl Into<String>,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id: crate::ids::new_id(),
            account_id: account_id.to_owned(),
            transaction_type,
            amount,
            balance_after,
            job_id: None,
            description: description.into(),
            created_at: now,
        }
    }

    /// The write that records this entry (it must not exist yet).
    pub fn write(&self) -> Result<Write, StoreError> {
        let item = Item::new(&Key::ledger_entry(&self.account_id, &self.id), "LedgerEntry", self)?;
        Ok(Write::Put(item, Some(crate::store::Condition::not_exists())))
    }

    pub fn to_json(&self) -> Value {
        crate::http::answer(LedgerEntryAnswer::from(self))
    }
}

/// A usage log item as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UsageLogAnswer {
    pub id: String,
    pub job_id: Option<String>,
    pub operation_type: String,
    pub credits_used: i64,
    pub tokens_input: u64,
    pub tokens_output: u64,
    pub model_used: String,
    /// What the provider call cost.
    pub cost_usd: f64,
    pub duration_ms: u64,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&UsageLog> for UsageLogAnswer {
    fn from(l: &UsageLog) -> Self {
        Self {
            id: l.id.clone(),
            job_id: l.job_id.clone(),
            operation_type: l.operation_type.clone(),
            credits_used: l.credits_used,
            tokens_input: l.tokens_input,
            tokens_output: l.tokens_output,
            model_used: l.model_used.clone(),
            cost_usd: l.cost_usd,
            duration_ms: l.duration_ms,
            created_at: crate::accounts::rfc3339(l.created_at),
        }
    }
}

/// A ledger entry as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LedgerEntryAnswer {
    pub id: String,
    pub transaction_type: TransactionType,
    /// Positive adds credits, negative takes them.
    pub amount: i64,
    /// The balance right after, where known.
    pub balance_after: Option<i64>,
    /// The AI job it belongs to.
    pub job_id: Option<String>,
    pub description: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&LedgerEntry> for LedgerEntryAnswer {
    fn from(e: &LedgerEntry) -> Self {
        Self {
            id: e.id.clone(),
            transaction_type: e.transaction_type,
            amount: e.amount,
            balance_after: e.balance_after,
            job_id: e.job_id.clone(),
            description: e.description.clone(),
            created_at: crate::accounts::rfc3339(e.created_at),
        }
    }
}

/// The operations that cost credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Clustering,
    IdeaGeneration,
    ContentGeneration,
    ImagePromptExtraction,
    ImageGeneration,
    /// Internal links put into a content piece.
    Linking,
    /// A content piece rewritten by the optimizer.
    Optimization,
}

impl Operation {
    pub const ALL: [Operation; 7] = [
        Self::Clustering,
        Self::IdeaGeneration,
        Self::ContentGeneration,
        Self::ImagePromptExtraction,
        Self::ImageGeneration,
        Self::Linking,
        Self::Optimization,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Clustering => "clustering",
            Self::IdeaGeneration => "idea_generation",
            Self::ContentGeneration => "content_generation",
            Self::ImagePromptExtraction => "image_prompt_extraction",
            Self::ImageGeneration => "image_generation",
            Self::Linking => "linking",
            Self::Optimization => "optimization",
        }
    }
}

/// What each operation costs: configuration (`CREDIT_COSTS=clustering=10,image_generation=5`),
/// starting from the original's prices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditCosts {
    /// Per clustering call (a batch of at most 20 keywords).
    pub clustering: i64,
    /// Per cluster turned into ideas.
    pub idea_generation: i64,
    /// Per 100 words written.
    pub content_generation: i64,
    /// Per content piece whose image prompts are extracted.
    pub image_prompt_extraction: i64,
    /// Per image.
    pub image_generation: i64,
    /// Per content piece linked.
    pub linking: i64,
    /// Per 200 words optimised.
    pub optimization: i64,
}

impl Default for CreditCosts {
    fn default() -> Self {
        Self {
            clustering: 10,
            idea_generation: 15,
            content_generation: 1,
            image_prompt_extraction: 2,
            image_generation: 5,
            linking: 8,
            optimization: 1,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid CREDIT_COSTS entry {0:?} (expected operation=credits)")]
pub struct CostsError(String);

impl CreditCosts {
    pub fn from_config(overrides: Option<&str>) -> Result<Self, CostsError> {
        let mut costs = Self::default();
        for entry in overrides.unwrap_or_default().split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = || CostsError(entry.to_owned());
            let (name, value) = entry.split_once('=').ok_or_else(bad)?;
            let value: i64 = value.trim().parse().ok().filter(|v| *v >= 0).ok_or_else(bad)?;
            match name.trim() {
                "clustering" => costs.clustering = value,
                "idea_generation" => costs.idea_generation = value,
                "content_generation" => costs.content_generation = value,
                "image_prompt_extraction" => costs.image_prompt_extraction = value,
                "image_generation" => costs.image_generation = value,
                "linking" => costs.linking = value,
                "optimization" => costs.optimization = value,
                _ => return Err(bad()),
            }
        }
        Ok(costs)
    }

    /// The credits of `operation` over `amount` units (calls, clusters, words, contents, images).
    pub fn cost(&self, operation: Operation, amount: u64) -> i64 {
        let amount = amount as i64;
        match operation {
            Operation::Clustering => self.clustering * amount.max(1),
            Operation::IdeaGeneration => self.idea_generation * amount.max(1),
            Operation::ContentGeneration => (self.content_generation * amount / 100).max(1),
            Operation::ImagePromptExtraction => self.image_prompt_extraction * amount.max(1),
            Operation::ImageGeneration => self.image_generation * amount.max(1),
            Operation::Linking => self.linking * amount.max(1),
            Operation::Optimization => (self.optimization * amount / 200).max(1),
        }
    }
}

/// The writes that take `amount` credits from the account, only if its balance covers them, with
/// their ledger entry. In a transaction, a short balance cancels everything (index 0 fails).
pub fn debit(
    account_id: &str,
    amount: i64,
    kind: TransactionType,
    description: &str,
    job_id: Option<&str>,
    now: OffsetDateTime,
) -> Result<Vec<Write>, StoreError> {
    let change = Change::new(Key::account(account_id), "SET credits = credits - :amount, updated_at = :now")
        .value(":amount", n(amount))
        .value(":now", s(crate::accounts::rfc3339(now)))
        .condition(Condition::new("credits >= :amount"));
    let mut entry = LedgerEntry::new(account_id, kind, -amount, None, description, now);
    entry.job_id = job_id.map(str::to_owned);
    Ok(vec![Write::Update(change), entry.write()?])
}

/// The writes that give `amount` credits back to the account, with their ledger entry.
pub fn credit(
    account_id: &str,
    amount: i64,
    kind: TransactionType,
    description: &str,
    job_id: Option<&str>,
    now: OffsetDateTime,
) -> Result<Vec<Write>, StoreError> {
    let change = Change::new(Key::account(account_id), "SET credits = credits + :amount, updated_at = :now")
        .value(":amount", n(amount))
        .value(":now", s(crate::accounts::rfc3339(now)))
        .condition(Condition::exists());
    let mut entry = LedgerEntry::new(account_id, kind, amount, None, description, now);
    entry.job_id = job_id.map(str::to_owned);
    Ok(vec![Write::Update(change), entry.write()?])
}

/// The writes that settle a reservation of `reserved` credits with the actual charge `charged`
/// (at most `reserved`): the reservation released (`settlement`, `+reserved`), the charge taken
/// (`deduction`, `-charged`, so a client listing deductions finds every AI charge with its amount),
/// and the account given back the difference in one update. The ledger keeps summing to the balance.
pub fn settle_reservation(
    account_id: &str,
    reserved: i64,
    charged: i64,
    what: &str,
    job_id: &str,
    now: OffsetDateTime,
) -> Result<Vec<Write>, StoreError> {
    let charged = charged.clamp(0, reserved.max(0));
    let mut writes = Vec::new();
    if reserved > charged {
        let change = Change::new(Key::account(account_id), "SET credits = credits + :amount, updated_at = :now")
            .value(":amount", n(reserved - charged))
            .value(":now", s(crate::accounts::rfc3339(now)))
            .condition(Condition::exists());
        writes.push(Write::Update(change));
    }
    let mut entries = Vec::new();
    if reserved > 0 {
        entries.push(LedgerEntry::new(
            account_id,
            TransactionType::Settlement,
            reserved,
            None,
            format!("Reservation released: {what}"),
            now,
        ));
    }
    if charged > 0 {
        entries.push(LedgerEntry::new(
            account_id,
            TransactionType::Deduction,
            -charged,
            None,
            format!("{what}: {charged} credits"),
            now,
        ));
    }
    for mut entry in entries {
        entry.job_id = Some(job_id.to_owned());
        writes.push(entry.write()?);
    }
    Ok(writes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_follow_the_seeds_and_configuration() {
        let c = CreditCosts::default();
        assert_eq!(c.cost(Operation::Clustering, 1), 10);
        assert_eq!(c.cost(Operation::IdeaGeneration, 2), 30);
        assert_eq!(c.cost(Operation::ContentGeneration, 1000), 10);
        assert_eq!(c.cost(Operation::ContentGeneration, 250), 2);
        assert_eq!(c.cost(Operation::ContentGeneration, 50), 1);
        assert_eq!(c.cost(Operation::ImagePromptExtraction, 1), 2);
        assert_eq!(c.cost(Operation::ImageGeneration, 3), 15);
        let c = CreditCosts::from_config(Some("clustering=4, image_generation=7")).unwrap();
        assert_eq!((c.clustering, c.image_generation, c.idea_generation), (4, 7, 15));
        assert!(CreditCosts::from_config(Some("clustering=-1")).is_err());
        assert!(CreditCosts::from_config(Some("teleport=3")).is_err());
    }
}
