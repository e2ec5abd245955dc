//! Purging a deleted sector, off the request path. Deleting a sector sets its tombstone (nothing
//! is written into it any more, see [`crate::records::counts::live`]) and queues a
//! [`PurgeMessage`]; the purge worker (`functions/purge-worker`) then deletes, a page at a time,
//! the records its GSI1 partition lists and the guards of its own partition, lets each module
//! remove what it keeps outside the table for those records ([`PurgeHook`]: the writer's image
//! files), and deletes the sector last. It is resumable: a purge cut short (a timeout, a crash)
//! is delivered again and goes on with what is left; a sector already gone is done.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use serde::{Deserialize, Serialize};

use crate::records::sector_pk;
use crate::store::{Change, Condition, Key, Query, RawItem, StoreError, Write, keys, n};
use crate::{ApiError, Services};

/// The queue message of one sector's purge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeMessage {
    pub account_id: String,
    pub sector_id: String,
}

/// What a module removes outside the table for a page of a purged sector's items (their raw
/// items, with `PK`, `SK` and `entity`), before the items are deleted.
pub type PurgeHook =
    for<'a> fn(&'a Services, &'a [RawItem]) -> Pin<Box<dyn Future<Output = Result<(), ApiError>> + Send + 'a>>;

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
    let Some(sector) = store.get::<crate::sites::Sector>(&sector_key).await? else {
        return Ok(Purged::Done(0));
    };
    if sector.deleted_at.is_none() {
        tracing::warn!(sector_id = %message.sector_id, "purge of a live sector refused");
        return Ok(Purged::Done(0));
    }
    let pk = sector_pk(&message.account_id, &message.sector_id);
    let mut deleted = 0;
    // The records (GSI1, which lags the table a moment: read again until it is empty), then the
    // guards of the sector's own partition.
    for query in [Query::index(keys::GSI1, pk.clone()), Query::partition(pk.clone())] {
        loop {
            if std::time::Instant::now() >= deadline {
                enqueue(services, message.clone()).await?;
                tracing::info!(sector_id = %message.sector_id, deleted, "sector purge continues in a new message");
                return Ok(Purged::Continued(deleted));
            }
            let page = store.query(query.clone().limit(PAGE)).await?;
            if page.items.is_empty() {
                break;
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

/// The purge worker's batch: each message purged within the invocation's time (`deadline`, less
/// a margin; [`BUDGET`] without one); one that fails is delivered again after its backoff (and
/// goes on from what is left), one that is not a purge reaches the DLQ.
pub async fn handle_batch(
    services: &Services,
    hooks: &[PurgeHook],
    event: SqsEvent,
    deadline: Option<std::time::Instant>,
) -> SqsBatchResponse {
    let budget =
        deadline.map_or(BUDGET, |d| d.saturating_duration_since(std::time::Instant::now()).saturating_sub(MARGIN));
    let mut response = SqsBatchResponse::default();
    let mut seen: HashMap<String, ()> = HashMap::new();
    for message in &event.records {
        let body = message.body.clone().unwrap_or_default();
        let result = match serde_json::from_str::<PurgeMessage>(&body) {
            Ok(purge) if seen.insert(format!("{}/{}", purge.account_id, purge.sector_id), ()).is_none() => {
                purge_sector(services, hooks, &purge, budget).await.map(|_| ()).map_err(|e| e.to_string())
            }
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
