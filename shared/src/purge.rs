//! Purging a deleted sector, off the request path. Deleting a sector sets its tombstone (nothing
//! is written into it any more, see [`crate::records::counts::live`]) and queues a
//! [`PurgeMessage`]; the purge worker (`functions/purge-worker`) then deletes, a page at a time,
//! the records its GSI1 partition lists and the guards of its own partition, lets each module
//! remove what it keeps outside the table for those records ([`PurgeHook`]: the writer's image
//! files), and deletes the sector last. It is resumable: a purge cut short (a timeout, a crash)
//! is delivered again and goes on with what is left; a sector already gone is done.
//!
//! GSI1 lags the table a moment: a record written just before the tombstone may not be listed
//! yet. The sector's counts (moved in the transaction of every record's write) say how many
//! records of each kind there are; a purge that found fewer right after the tombstone waits until
//! [`SETTLE`] has passed since it and reads the index again.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use serde::{Deserialize, Serialize};

use crate::records::counts::Counts;
use crate::records::sector_pk;
use crate::store::{Change, Condition, Key, Query, RawItem, StoreError, Write, keys, n};
use crate::{ApiError, Services};

/// The queue message of one sector's purge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeMessage {
    pub account_id: String,
    pub sector_id: String,
}

/// The queue message of a deleted site's purge: what the modules keep per site (a site's
/// sectors have their own purges).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SitePurgeMessage {
    pub account_id: String,
    pub site_id: String,
}

/// Either message of the purge queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
enum Purge {
    Sector(PurgeMessage),
    Site(SitePurgeMessage),
}

/// What a module removes outside the table for a page of a purged sector's items (their raw
/// items, with `PK`, `SK` and `entity`), before the items are deleted.
pub type PurgeHook =
    for<'a> fn(&'a Services, &'a [RawItem]) -> Pin<Box<dyn Future<Output = Result<(), ApiError>> + Send + 'a>>;

/// What a module removes of a deleted site (`account_id`, `site_id`): all of it, idempotently.
pub type SitePurgeHook =
    for<'a> fn(&'a Services, &'a str, &'a str) -> Pin<Box<dyn Future<Output = Result<(), ApiError>> + Send + 'a>>;

/// Every module's part of the purges.
#[derive(Default)]
pub struct Hooks {
    pub sector: Vec<PurgeHook>,
    pub site: Vec<SitePurgeHook>,
}

/// Queues the purge of what the modules keep for a site. The purge waits until the site is gone:
/// queued before the site's deletion, it never removes anything of a site that stays.
pub async fn enqueue_site(services: &Services, message: SitePurgeMessage) -> Result<(), ApiError> {
    let Some(url) = services.config.purge_queue_url.clone() else {
        return Err(ApiError::internal("no purge queue is configured (PURGE_QUEUE_URL)"));
    };
    let body = serde_json::to_string(&message).map_err(ApiError::internal)?;
    services.send_message(&url, body).await.map_err(ApiError::internal)
}

/// Runs every module's site hook once the site is gone; while it is there (its deletion not
/// committed yet, or failed), an error, so that the message comes back later and, if the site
/// stays, ends in the DLQ having removed nothing.
pub async fn purge_site(
    services: &Services,
    hooks: &[SitePurgeHook],
    message: &SitePurgeMessage,
) -> Result<(), ApiError> {
    let site = services.store().await.get_raw(&Key::site(&message.account_id, &message.site_id)).await?;
    if site.is_some() {
        return Err(ApiError::internal("the site is still there: its purge waits"));
    }
    for hook in hooks {
        hook(services, &message.account_id, &message.site_id).await?;
    }
    tracing::info!(account_id = %message.account_id, site_id = %message.site_id, "site purged");
    Ok(())
}

/// Queues the purge of a tombstoned sector.
pub async fn enqueue(services: &Services, message: PurgeMessage) -> Result<(), ApiError> {
    let Some(url) = services.config.purge_queue_url.clone() else {
        return Err(ApiError::internal("no purge queue is configured (PURGE_QUEUE_URL)"));
    };
    let body = serde_json::to_string(&message).map_err(ApiError::internal)?;
    services.send_message(&url, body).await.map_err(ApiError::internal)?;
    tracing::info!(account_id = %message.account_id, sector_id = %message.sector_id, "sector purge queued");
    Ok(())
}

/// Items deleted per page of a purge (one query page at most).
const PAGE: i32 = 500;

/// How long one delivery purges before it queues the rest as a new message, without a deadline.
pub const BUDGET: std::time::Duration = std::time::Duration::from_secs(40);
/// What a delivery keeps of its time for the last page and queueing the rest.
const MARGIN: std::time::Duration = std::time::Duration::from_secs(20);

/// What one delivery of a purge did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purged {
    /// The sector and all it held are gone (the items deleted by this delivery).
    Done(usize),
    /// The budget ran out: the rest goes on in a new message.
    Continued(usize),
}

fn key_of(item: &RawItem) -> Option<Key> {
    match (item.get(keys::PK), item.get(keys::SK)) {
        (
            Some(aws_sdk_dynamodb::types::AttributeValue::S(pk)),
            Some(aws_sdk_dynamodb::types::AttributeValue::S(sk)),
        ) => Some(Key::new(pk.clone(), sk.clone())),
        _ => None,
    }
}

/// Purges a tombstoned sector (see the module documentation) for at most `budget`, then queues
/// the rest. A sector that is not tombstoned (a stray message) is left alone.
pub async fn purge_sector(
    services: &Services,
    hooks: &[PurgeHook],
    message: &PurgeMessage,
    budget: std::time::Duration,
) -> Result<Purged, ApiError> {
    let deadline = std::time::Instant::now() + budget;
    let store = services.store().await;
    let sector_key = Key::sector(&message.account_id, &message.sector_id);
    let Some(raw) = store.get_raw(&sector_key).await? else {
        return Ok(Purged::Done(0));
    };
    let counted = Counts::of_item(&raw);
    let sector: crate::sites::Sector = crate::store::decode(raw)?;
    let Some(tombstone) = sector.deleted_at else {
        tracing::warn!(sector_id = %message.sector_id, "purge of a live sector refused");
        return Ok(Purged::Done(0));
    };
    let pk = sector_pk(&message.account_id, &message.sector_id);
    let mut deleted = 0;
    let mut deleted_by_kind: HashMap<String, i64> = HashMap::new();
    // The records (GSI1: read again until it is empty, and once more if it listed fewer than
    // the sector counted right after the tombstone), then the guards of the sector's own partition.
    for (n, query) in [Query::index(keys::GSI1, pk.clone()), Query::partition(pk.clone())].into_iter().enumerate() {
        loop {
            if std::time::Instant::now() >= deadline {
                enqueue(services, message.clone()).await?;
                tracing::info!(sector_id = %message.sector_id, deleted, "sector purge continues in a new message");
                return Ok(Purged::Continued(deleted));
            }
            let page = store.query(query.clone().limit(PAGE)).await?;
            if page.items.is_empty() {
                let since = time::OffsetDateTime::now_utc() - tombstone;
                let wait = std::time::Duration::try_from(SETTLE - since).unwrap_or_default();
                if n == 0 && !wait.is_zero() && !all_found(&counted, &deleted_by_kind) {
                    tracing::info!(sector_id = %message.sector_id, "the index may lag the tombstone: reading it again");
                    tokio::time::sleep(wait.min(deadline.saturating_duration_since(std::time::Instant::now()))).await;
                    continue;
                }
                break;
            }
            for item in &page.items {
                if let Some(aws_sdk_dynamodb::types::AttributeValue::S(sk)) = item.get(keys::SK) {
                    let kind = sk.split('#').next().unwrap_or_default();
                    *deleted_by_kind.entry(kind.to_owned()).or_default() += 1;
                }
            }
            for hook in hooks {
                hook(services, &page.items).await?;
            }
            let found: Vec<Key> = page.items.iter().filter_map(key_of).collect();
            store.delete_batch(&found).await?;
            deleted += found.len();
        }
    }
    // The sector last, with its site's count of active sectors (the site may be gone already).
    let mut writes = vec![Write::Delete(sector_key.clone(), Some(Condition::exists()))];
    if sector.is_active {
        let count =
            Change::new(Key::site(&sector.account_id, &sector.site_id), "SET active_sectors = active_sectors - :one")
                .value(":one", n(1))
                .condition(Condition::new("active_sectors > :zero").value(":zero", n(0)));
        writes.push(Write::Update(count));
    }
    match store.transact(writes).await {
        Ok(()) => {}
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&1) => {
            store.transact(vec![Write::Delete(sector_key, None)]).await?;
        }
        Err(StoreError::TransactionCancelled { .. }) => {}
        Err(err) => return Err(err.into()),
    }
    tracing::info!(account_id = %message.account_id, sector_id = %message.sector_id, deleted, "sector purged");
    Ok(Purged::Done(deleted))
}

/// How long after the tombstone GSI1 may still be missing a record written just before it.
pub const SETTLE: time::Duration = time::Duration::seconds(2);

/// Whether this delivery deleted at least as many records of each kind as the sector counted.
fn all_found(counted: &Counts, deleted: &HashMap<String, i64>) -> bool {
    counted.totals().into_iter().all(|(kind, n)| deleted.get(kind).copied().unwrap_or(0) >= n)
}

/// The purge worker's batch: each message purged within the invocation's time (`deadline`, less
/// a margin; [`BUDGET`] without one); one that fails is delivered again after its backoff (and
/// goes on from what is left), one that is not a purge reaches the DLQ.
pub async fn handle_batch(
    services: &Services,
    hooks: &Hooks,
    event: SqsEvent,
    deadline: Option<std::time::Instant>,
) -> SqsBatchResponse {
    let budget =
        deadline.map_or(BUDGET, |d| d.saturating_duration_since(std::time::Instant::now()).saturating_sub(MARGIN));
    let mut response = SqsBatchResponse::default();
    let mut seen: HashMap<String, ()> = HashMap::new();
    for message in &event.records {
        let body = message.body.clone().unwrap_or_default();
        let result = match serde_json::from_str::<Purge>(&body) {
            Ok(Purge::Sector(purge))
                if seen.insert(format!("{}/{}", purge.account_id, purge.sector_id), ()).is_none() =>
            {
                purge_sector(services, &hooks.sector, &purge, budget).await.map(|_| ()).map_err(|e| e.to_string())
            }
            Ok(Purge::Site(purge)) => purge_site(services, &hooks.site, &purge).await.map_err(|e| e.to_string()),
            Ok(_) => Ok(()),
            Err(_) => Err("unreadable message".to_owned()),
        };
        if let Err(reason) = result {
            tracing::warn!(message_id = ?message.message_id, reason = %reason, "purge message will be delivered again");
            crate::queue::retry_later(services, message).await;
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message.message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;

    #[test]
    fn the_queue_tells_a_sectors_purge_from_a_sites() {
        let sector = serde_json::from_str::<Purge>(r#"{"account_id":"a","sector_id":"s"}"#).unwrap();
        assert!(matches!(sector, Purge::Sector(PurgeMessage { ref sector_id, .. }) if sector_id == "s"));
        let site = serde_json::from_str::<Purge>(r#"{"account_id":"a","site_id":"w"}"#).unwrap();
        assert!(matches!(site, Purge::Site(SitePurgeMessage { ref site_id, .. }) if site_id == "w"));
        assert!(serde_json::from_str::<Purge>(r#"{"account_id":"a"}"#).is_err());
    }

    #[test]
    fn a_purge_has_found_all_when_it_deleted_what_the_sector_counted_of_each_kind() {
        let item: RawItem = [("n:KEYWORD", "3"), ("n:KEYWORD:new", "2"), ("n:KEYWORD:active", "1"), ("n:CLUSTER", "1")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), AttributeValue::N(v.to_owned())))
            .chain([("name".to_owned(), AttributeValue::S("n:x".into()))])
            .collect();
        let counted = Counts::of_item(&item);
        assert_eq!(counted.totals().into_iter().collect::<Vec<_>>(), [("CLUSTER", 1), ("KEYWORD", 3)]);
        let deleted = |pairs: &[(&str, i64)]| pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect();
        assert!(all_found(&counted, &deleted(&[("KEYWORD", 3), ("CLUSTER", 1), ("IMAGE", 2)])));
        assert!(!all_found(&counted, &deleted(&[("KEYWORD", 2), ("CLUSTER", 1)])), "one keyword not listed yet");
        assert!(!all_found(&counted, &deleted(&[("KEYWORD", 3)])));
        assert!(all_found(&Counts::of_item(&RawItem::new()), &HashMap::new()));
    }
}
