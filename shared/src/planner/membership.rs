//! Keyword writes that keep every cluster's `keywords_count`, `volume` and difficulty sum exact.
//!
//! A keyword is created, changed or deleted together, in one transaction, with:
//! - the guard item of its text (`KWTEXT#<normalised>`), so a sector never holds the same
//!   keyword twice, even under concurrent imports;
//! - `ADD keywords_count, volume, difficulty_sum` on the clusters it leaves and joins;
//! - the day's usage counter for new keywords;
//! - the counts of its sector ([`crate::records::counts`]), which also refuse a sector being
//!   deleted.
//!
//! Each keyword write is conditioned on the keyword still being what was read, so a concurrent
//! change cannot make a count drift: that keyword is refused instead ([`Refused::Changed`]).
//! Writes are grouped, up to the transaction limit; a refused keyword is taken out and the rest of
//! its group retried.

use std::collections::{BTreeMap, HashSet};

use serde_json::json;
use time::OffsetDateTime;

use super::{Keyword, SectorRecord, text_guard};
use crate::records::counts::Tally;
use crate::store::{Change, Condition, Item, Key, StoreError, Write, n, s};
use crate::{ApiError, Services, usage};

/// One keyword write: create (`before` none), delete (`after` none) or change.
#[derive(Debug, Clone)]
pub struct KeywordChange {
    pub before: Option<Keyword>,
    pub after: Option<Keyword>,
}

impl KeywordChange {
    pub fn create(keyword: Keyword) -> Self {
        Self { before: None, after: Some(keyword) }
    }

    pub fn delete(keyword: Keyword) -> Self {
        Self { before: Some(keyword), after: None }
    }

    pub fn update(before: Keyword, after: Keyword) -> Self {
        Self { before: Some(before), after: Some(after) }
    }
}

/// Why a keyword write did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Its text is already a keyword of the sector.
    Duplicate,
    /// The cluster it should join does not exist.
    ClusterMissing,
    /// The keyword changed (or went) since it was read.
    Changed,
    /// Its sector is gone or being deleted: nothing is written into it.
    SectorGone,
}

/// What [`commit`] did, by index into the changes.
#[derive(Debug, Default)]
pub struct Committed {
    pub done: Vec<usize>,
    pub refused: Vec<(usize, Refused)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tag {
    Record(usize),
    Guard(usize),
    Cluster(String),
    Sector(String),
    Usage,
}

const MAX_WRITES: usize = 100;
const MAX_CHANGES: usize = 40;

fn cluster_key(keyword: &Keyword, cluster_id: &str) -> Key {
    super::record_key::<super::Cluster>(&keyword.account_id, cluster_id)
}

/// The keyword is still as read: same cluster, volume, difficulty, text and status (its status
/// moves the sector's counts).
fn unchanged(before: &Keyword) -> Condition {
    let same = "#vol = :vol AND #dif = :dif AND #kw = :kw AND #st = :st";
    let condition = match &before.cluster_id {
        Some(cluster) => {
            Condition::new(format!("attribute_exists(PK) AND #cl = :cl AND {same}")).value(":cl", s(cluster))
        }
        None => Condition::new(format!("attribute_exists(PK) AND attribute_not_exists(#cl) AND {same}")),
    };
    condition
        .name("#cl", "cluster_id")
        .name("#vol", "volume")
        .name("#dif", "difficulty")
        .name("#kw", "keyword")
        .name("#st", "status")
        .value(":st", s(&before.status))
        .value(":vol", n(before.volume))
        .value(":dif", n(before.difficulty))
        .value(":kw", s(&before.keyword))
}

fn guard_item(keyword: &Keyword) -> Result<Item, StoreError> {
    Item::new(
        &text_guard(&keyword.account_id, &keyword.sector_id, &keyword.keyword),
        "KeywordText",
        &json!({"keyword_id": keyword.id, "keyword": keyword.keyword}),
    )
}

/// The writes of one change (without cluster deltas), tagged.
fn own_writes(index: usize, change: &KeywordChange) -> Result<Vec<(Tag, Write)>, StoreError> {
    let mut writes = Vec::new();
    match (&change.before, &change.after) {
        (None, Some(after)) => {
            writes.push((Tag::Record(index), Write::Put(after.item()?, Some(Condition::not_exists()))));
            writes.push((Tag::Guard(index), Write::Put(guard_item(after)?, Some(Condition::not_exists()))));
        }
        (Some(before), None) => {
            writes.push((Tag::Record(index), Write::Delete(before.key(), Some(unchanged(before)))));
            let guard = text_guard(&before.account_id, &before.sector_id, &before.keyword);
            writes.push((Tag::Record(index), Write::Delete(guard, None)));
        }
        (Some(before), Some(after)) => {
            writes.push((Tag::Record(index), Write::Put(after.item()?, Some(unchanged(before)))));
            if super::normalise(&before.keyword) != super::normalise(&after.keyword) {
                let old = text_guard(&before.account_id, &before.sector_id, &before.keyword);
                writes.push((Tag::Record(index), Write::Delete(old, None)));
                writes.push((Tag::Guard(index), Write::Put(guard_item(after)?, Some(Condition::not_exists()))));
            } else if before.keyword != after.keyword {
                writes.push((Tag::Record(index), Write::Put(guard_item(after)?, None)));
            }
        }
        (None, None) => {}
    }
    Ok(writes)
}

/// How one cluster's sums move.
#[derive(Debug, Clone)]
struct Move {
    /// A member, for the cluster's key.
    keyword: Keyword,
    count: i64,
    volume: i64,
    difficulty: i64,
}

impl Move {
    fn is_none(&self) -> bool {
        self.count == 0 && self.volume == 0 && self.difficulty == 0
    }
}

/// The `(count, volume, difficulty)` moves of one change, per cluster.
fn deltas(change: &KeywordChange, gone: &HashSet<String>, into: &mut BTreeMap<String, Move>) {
    let mut shift = |keyword: &Keyword, cluster: &String, sign: i64| {
        let entry = into.entry(cluster.clone()).or_insert_with(|| Move {
            keyword: keyword.clone(),
            count: 0,
            volume: 0,
            difficulty: 0,
        });
        entry.count += sign;
        entry.volume += sign * i64::from(keyword.volume);
        entry.difficulty += sign * i64::from(keyword.difficulty);
    };
    if let Some(before) = &change.before
        && let Some(cluster) = before.cluster_id.as_ref().filter(|c| !gone.contains(*c))
    {
        shift(before, cluster, -1);
    }
    if let Some(after) = &change.after
        && let Some(cluster) = &after.cluster_id
    {
        shift(after, cluster, 1);
    }
}

fn keys_of(writes: &[(Tag, Write)]) -> Vec<Key> {
    writes
        .iter()
        .filter_map(|(_, w)| match w {
            Write::Put(item, _) => item.key(),
            Write::Delete(key, _) | Write::Check(key, _) => Some(key.clone()),
            Write::Update(change) => Some(change.key.clone()),
        })
        .collect()
}

/// The sector a change writes into.
fn sector_of(change: &KeywordChange) -> Option<&str> {
    change.after.as_ref().or(change.before.as_ref()).map(|k| k.sector_id.as_str())
}

/// Adds the count moves of `change` to its sector's tally.
fn tally(change: &KeywordChange, into: &mut BTreeMap<String, Tally>) {
    let Some(keyword) = change.after.as_ref().or(change.before.as_ref()) else { return };
    let tally = into.entry(keyword.sector_id.clone()).or_insert_with(|| Tally::of(keyword));
    match (&change.before, &change.after) {
        (None, Some(after)) => tally.created(after),
        (Some(before), None) => tally.deleted(before),
        (Some(before), Some(after)) => tally.changed(before, after),
        (None, None) => tally,
    };
}

/// Applies `changes` (all in one account), each exactly once or not at all.
pub async fn commit(services: &Services, changes: &[KeywordChange]) -> Result<Committed, ApiError> {
    let store = services.store().await;
    let mut result = Committed::default();
    let mut gone: HashSet<String> = HashSet::new();
    let mut pending: Vec<usize> = (0..changes.len()).collect();
    let mut conflicts = 0;
    while !pending.is_empty() {
        // Refuse at once the changes that would join a cluster known to be gone.
        pending.retain(|&i| {
            let joins_gone =
                changes[i].after.as_ref().and_then(|a| a.cluster_id.as_ref()).is_some_and(|c| gone.contains(c));
            if joins_gone {
                result.refused.push((i, Refused::ClusterMissing));
            }
            !joins_gone
        });
        // Take as many changes as fit one transaction, never two writes on one item.
        let mut chunk: Vec<usize> = Vec::new();
        let mut writes: Vec<(Tag, Write)> = Vec::new();
        let mut moves: BTreeMap<String, Move> = BTreeMap::new();
        let mut touched: HashSet<Key> = HashSet::new();
        let mut sectors: BTreeMap<String, Tally> = BTreeMap::new();
        let mut rest = Vec::new();
        for &i in &pending {
            let own = own_writes(i, &changes[i])?;
            let own_keys = keys_of(&own);
            let mut trial = moves.clone();
            deltas(&changes[i], &gone, &mut trial);
            let mut tallies = sectors.clone();
            tally(&changes[i], &mut tallies);
            let fits = chunk.len() < MAX_CHANGES && writes.len() + own.len() + trial.len() + tallies.len() < MAX_WRITES;
            if !fits || own_keys.iter().any(|k| touched.contains(k)) {
                rest.push(i);
                continue;
            }
            touched.extend(own_keys);
            writes.extend(own);
            moves = trial;
            sectors = tallies;
            chunk.push(i);
        }
        for (sector, tally) in &sectors {
            if !tally.is_empty() {
                writes.push((Tag::Sector(sector.clone()), tally.write()));
            }
        }
        let creates = chunk.iter().filter(|&&i| changes[i].before.is_none()).count() as i64;
        let deletes = chunk.iter().filter(|&&i| changes[i].after.is_none()).count() as i64;
        for (cluster, shift) in &moves {
            if shift.is_none() {
                continue;
            }
            let change =
                Change::new(cluster_key(&shift.keyword, cluster), "ADD keywords_count :c, #vol :v, difficulty_sum :d")
                    .name("#vol", "volume")
                    .value(":c", n(shift.count))
                    .value(":v", n(shift.volume))
                    .value(":d", n(shift.difficulty))
                    .condition(Condition::exists());
            writes.push((Tag::Cluster(cluster.clone()), Write::Update(change)));
        }
        if creates != deletes
            && let Some(first) = chunk.first()
        {
            let account =
                changes[*first].after.as_ref().or(changes[*first].before.as_ref()).map(|k| k.account_id.clone());
            if let Some(account) = account.filter(|_| creates > 0) {
                writes.push((Tag::Usage, usage::count_write(&account, "keywords", creates, OffsetDateTime::now_utc())));
            }
        }
        let (tags, writes): (Vec<Tag>, Vec<Write>) = writes.into_iter().unzip();
        match store.transact(writes).await {
            Ok(()) => {
                result.done.extend(chunk);
                pending = rest;
            }
            Err(StoreError::TransactionCancelled { failed }) if !failed.is_empty() => {
                let mut refused: HashSet<usize> = HashSet::new();
                for index in failed {
                    match tags.get(index) {
                        Some(Tag::Record(i)) => {
                            result.refused.push((*i, Refused::Changed));
                            refused.insert(*i);
                        }
                        Some(Tag::Guard(i)) => {
                            result.refused.push((*i, Refused::Duplicate));
                            refused.insert(*i);
                        }
                        Some(Tag::Cluster(cluster)) => {
                            gone.insert(cluster.clone());
                        }
                        Some(Tag::Sector(sector)) => {
                            for &i in chunk.iter().filter(|&&i| sector_of(&changes[i]) == Some(sector.as_str())) {
                                if refused.insert(i) {
                                    result.refused.push((i, Refused::SectorGone));
                                }
                            }
                        }
                        Some(Tag::Usage) | None => {}
                    }
                }
                pending = chunk.into_iter().filter(|i| !refused.contains(i)).chain(rest).collect();
            }
            Err(StoreError::TransactionCancelled { .. }) if conflicts < 5 => {
                // A conflict with another transaction on the same items: try again shortly.
                conflicts += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20 << conflicts)).await;
            }
            Err(err) => return Err(err.into()),
        }
    }
    Ok(result)
}
