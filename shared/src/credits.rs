//! The credit ledger: every change of an account's balance is one ledger entry written in the
//! same transaction as the balance change, so that the ledger always sums to the balance.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::store::{Item, Key, StoreError, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// One ledger entry (`ACCOUNT#<id>` / `LEDGER#<entry id>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub id: String,
    pub account_id: String,
    pub transaction_type: TransactionType,
    /// Positive adds credits, negative takes them.
    pub amount: i64,
    pub balance_after: i64,
    pub description: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl LedgerEntry {
    pub fn new(
        account_id: &str,
        transaction_type: TransactionType,
        amount: i64,
        balance_after: i64,
        description: impl Into<String>,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id: crate::ids::new_id(),
            account_id: account_id.to_owned(),
            transaction_type,
            amount,
            balance_after,
            description: description.into(),
            created_at: now,
        }
    }

    /// The write that records this entry (it must not exist yet).
    pub fn write(&self) -> Result<Write, StoreError> {
        let item = Item::new(
            &Key::ledger_entry(&self.account_id, &self.id),
            "LedgerEntry",
            self,
        )?;
        Ok(Write::Put(
            item,
            Some(crate::store::Condition::not_exists()),
        ))
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "transaction_type": self.transaction_type,
            "amount": self.amount,
            "balance_after": self.balance_after,
            "description": self.description,
            "created_at": crate::accounts::rfc3339(self.created_at),
        })
    }
}
