//! How many records of each kind, and of each kind and status, a sector holds: attributes of the
//! sector's own item (`ACCOUNT#<a>` / `SECTOR#<s>`), `n:<KIND>` and `n:<KIND>:<status>`, moved
//! with `ADD` in the same transaction as every write that creates or deletes a record or changes
//! its status, so a list's `count` is read, never counted.
//!
//! The same update is conditioned on the sector being live (its item there, no `deleted_at`): a
//! sector being purged takes no new record, whoever writes it (a request, a job still running).
//! The tenancy module owns the sector's item and its tombstone; it never reads these counts.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::SectorRecord;
use crate::store::{Change, Condition, Key, RawItem, StoreError, Write, n};

/// The attribute of the sector's item that marks it deleted (its records being purged).
pub const TOMBSTONE: &str = "deleted_at";

/// The condition of every write into a sector: it exists and is not being deleted.
pub fn live() -> Condition {
    Condition::new(format!("attribute_exists(PK) AND attribute_not_exists({TOMBSTONE})"))
}

fn total_name(kind: &str) -> String {
    format!("n:{kind}")
}

fn status_name(kind: &str, status: &str) -> String {
    format!("n:{kind}:{status}")
}

/// The moves of one sector's counts that a write makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    account_id: String,
    sector_id: String,
    moves: BTreeMap<String, i64>,
}

impl Tally {
    pub fn new(account_id: &str, sector_id: &str) -> Self {
        Self { account_id: account_id.to_owned(), sector_id: sector_id.to_owned(), moves: BTreeMap::new() }
    }

    /// The tally of `record`'s sector.
    pub fn of<T: SectorRecord>(record: &T) -> Self {
        Self::new(record.account_id(), record.sector_id())
    }

    fn add(&mut self, name: String, by: i64) {
        *self.moves.entry(name).or_default() += by;
    }

    /// One more record.
    pub fn created<T: SectorRecord>(&mut self, record: &T) -> &mut Self {
        self.add(total_name(T::kind()), 1);
        self.add(status_name(T::kind(), record.status()), 1);
        self
    }

    /// One record fewer.
    pub fn deleted<T: SectorRecord>(&mut self, record: &T) -> &mut Self {
        self.add(total_name(T::kind()), -1);
        self.add(status_name(T::kind(), record.status()), -1);
        self
    }

    /// A record changed (only its status counts).
    pub fn changed<T: SectorRecord>(&mut self, before: &T, after: &T) -> &mut Self {
        if before.status() != after.status() {
            self.add(status_name(T::kind(), before.status()), -1);
            self.add(status_name(T::kind(), after.status()), 1);
        }
        self
    }

    /// A status change of a record of kind `T` read elsewhere.
    pub fn moved<T: SectorRecord>(&mut self, from: &str, to: &str) -> &mut Self {
        if from != to {
            self.add(status_name(T::kind(), from), -1);
            self.add(status_name(T::kind(), to), 1);
        }
        self
    }

    /// Adds the moves of `other` (of the same sector).
    pub fn merge(&mut self, other: &Tally) {
        for (name, by) in &other.moves {
            self.add(name.clone(), *by);
        }
    }

    /// Whether the counts do not move.
    pub fn is_empty(&self) -> bool {
        self.moves.values().all(|by| *by == 0)
    }

    pub fn sector_id(&self) -> &str {
        &self.sector_id
    }

    /// The write that moves the counts (or, when none moves, checks the sector), conditioned on
    /// the sector being live: put it in the transaction of the records' writes.
    pub fn write(&self) -> Write {
        let key = Key::sector(&self.account_id, &self.sector_id);
        let moves: Vec<(&String, &i64)> = self.moves.iter().filter(|(_, by)| **by != 0).collect();
        if moves.is_empty() {
            return Write::Check(key, live());
        }
        let mut expression = String::from("ADD ");
        let mut change = Change::new(key.clone(), "");
        for (i, (name, by)) in moves.into_iter().enumerate() {
            if i > 0 {
                expression.push_str(", ");
            }
            expression.push_str(&format!("#n{i} :n{i}"));
            change = change.name(&format!("#n{i}"), name).value(&format!(":n{i}"), n(*by));
        }
        change.update = expression;
        Write::Update(change.condition(live()))
    }
}

/// The counts of one sector, as its item holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts(BTreeMap<String, i64>);

impl Counts {
    /// The counts in a sector's item.
    pub fn of_item(item: &RawItem) -> Self {
        Self(
            item.iter()
                .filter(|(name, _)| name.starts_with("n:"))
                .filter_map(|(name, value)| match value {
                    AttributeValue::N(v) => v.parse().ok().map(|v| (name.clone(), v)),
                    _ => None,
                })
                .collect(),
        )
    }

    /// The number of records of each kind (`KEYWORD`, ...) the sector holds.
    pub fn totals(&self) -> BTreeMap<&str, i64> {
        self.0
            .iter()
            .filter_map(|(name, n)| name.strip_prefix("n:").filter(|k| !k.contains(':')).map(|k| (k, *n)))
            .collect()
    }

    /// How many records of kind `T` (of `status`, when given) the sector holds.
    pub fn of<T: SectorRecord>(&self, status: Option<&str>) -> u64 {
        let name = match status {
            Some(status) => status_name(T::kind(), status),
            None => total_name(T::kind()),
        };
        self.0.get(&name).copied().unwrap_or(0).max(0) as u64
    }
}

/// Whether a failed write was the sector's tally, i.e. the sector is gone or being deleted.
pub fn sector_refused(err: &StoreError, tally_index: usize) -> bool {
    matches!(err, StoreError::TransactionCancelled { failed } if failed.contains(&tally_index))
}

/// One record's writes (the first is the record's own, conditioned on what was read) and how
/// they move its sector's counts.
#[derive(Debug, Clone)]
pub struct Step {
    pub writes: Vec<Write>,
    pub tally: Tally,
}

impl Step {
    /// Writes that create `record`.
    pub fn created<T: SectorRecord>(record: &T, writes: Vec<Write>) -> Self {
        let mut tally = Tally::of(record);
        tally.created(record);
        Self { writes, tally }
    }

    /// Writes that delete `record`.
    pub fn deleted<T: SectorRecord>(record: &T, writes: Vec<Write>) -> Self {
        let mut tally = Tally::of(record);
        tally.deleted(record);
        Self { writes, tally }
    }

    /// Sets `record`'s status to `to` (more fields with `also`, `SET` clauses of `change`),
    /// conditioned on the status being still the one read.
    pub fn status<T: SectorRecord>(record: &T, to: &str, also: Option<Change>) -> Self {
        let mut change = also.unwrap_or_else(|| Change::new(record.key(), ""));
        change.key = record.key();
        change.update = if change.update.is_empty() {
            "SET #status = :to, GSI3PK = :g3".to_owned()
        } else {
            format!("{}, #status = :to, GSI3PK = :g3", change.update)
        };
        let (g3, _) = super::pages::status_gsi3::<T>(record.account_id(), record.sector_id(), to, record.id());
        let change = change
            .name("#status", "status")
            .value(":to", crate::store::s(to))
            .value(":g3", crate::store::s(g3))
            .value(":from", crate::store::s(record.status()))
            .condition(Condition::new("attribute_exists(PK) AND #status = :from"));
        let mut tally = Tally::of(record);
        tally.moved::<T>(record.status(), to);
        Self { writes: vec![Write::Update(change)], tally }
    }

    /// Writes that change `before` into `after`.
    pub fn changed<T: SectorRecord>(before: &T, after: &T, writes: Vec<Write>) -> Self {
        let mut tally = Tally::of(before);
        tally.changed(before, after);
        Self { writes, tally }
    }
}

/// What [`commit`] did, by index into the steps.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Committed {
    pub done: Vec<usize>,
    /// A write of the step failed its condition (the record changed, or is there already).
    pub refused: Vec<usize>,
    /// Its sector is gone or being deleted.
    pub sector_gone: Vec<usize>,
}

/// Writes `steps` in transactions of up to 100 writes, each with the count moves of its sectors
/// ([`Tally`]) and what `extra` adds for the steps it holds (a usage counter): a step whose
/// condition fails is left out and the rest of its transaction written again; a sector that
/// refuses its tally leaves all its steps out. Each step is written once or not at all.
pub async fn commit(
    store: &crate::store::Store,
    steps: &[Step],
    extra: impl Fn(&[usize]) -> Vec<Write>,
) -> Result<Committed, StoreError> {
    const MAX_WRITES: usize = 100;
    let mut result = Committed::default();
    let mut pending: Vec<usize> = (0..steps.len()).collect();
    let mut gone: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut conflicts = 0;
    while !pending.is_empty() {
        pending.retain(|&i| {
            let out = gone.contains(steps[i].tally.sector_id());
            if out {
                result.sector_gone.push(i);
            }
            !out
        });
        let mut chunk = Vec::new();
        let mut rest = Vec::new();
        let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
        let mut count = 0;
        for &i in &pending {
            let sector = steps[i].tally.sector_id();
            let new_sector = !tallies.contains_key(sector) as usize;
            // Room for this step, the tallies, and `extra`'s writes (at most two).
            if count + steps[i].writes.len() + tallies.len() + new_sector + 2 > MAX_WRITES {
                rest.push(i);
                continue;
            }
            count += steps[i].writes.len();
            match tallies.get_mut(sector) {
                Some(tally) => tally.merge(&steps[i].tally),
                None => {
                    tallies.insert(sector.to_owned(), steps[i].tally.clone());
                }
            }
            chunk.push(i);
        }
        if chunk.is_empty() {
            return Err(StoreError::Request("a record's writes do not fit one transaction".into()));
        }
        let mut owner: Vec<Option<usize>> = Vec::new();
        let mut writes: Vec<Write> = Vec::new();
        for &i in &chunk {
            for w in &steps[i].writes {
                owner.push(Some(i));
                writes.push(w.clone());
            }
        }
        let mut tally_of: Vec<(usize, String)> = Vec::new();
        for (sector, tally) in &tallies {
            if !tally.is_empty() {
                tally_of.push((writes.len(), sector.clone()));
                owner.push(None);
                writes.push(tally.write());
            }
        }
        writes.extend(extra(&chunk));
        match store.transact(writes).await {
            Ok(()) => {
                result.done.extend(&chunk);
                pending = rest;
            }
            Err(StoreError::TransactionCancelled { failed }) if !failed.is_empty() => {
                let mut out: std::collections::HashSet<usize> = std::collections::HashSet::new();
                for index in failed {
                    if let Some((_, sector)) = tally_of.iter().find(|(at, _)| *at == index) {
                        gone.insert(sector.clone());
                    } else if let Some(Some(i)) = owner.get(index)
                        && out.insert(*i)
                    {
                        result.refused.push(*i);
                    }
                }
                pending = chunk.into_iter().filter(|i| !out.contains(i)).chain(rest).collect();
            }
            Err(StoreError::TransactionCancelled { .. }) if conflicts < 5 => {
                // A conflict with another transaction on the same items (a busy sector's
                // counts): try again shortly.
                conflicts += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20 << conflicts)).await;
            }
            Err(err) => return Err(err),
        }
    }
    Ok(result)
}
