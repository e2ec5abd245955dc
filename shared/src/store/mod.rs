//! The single-table DynamoDB store: typed items through serde, conditional writes, transactions
//! and query pages. Key construction lives in [`keys`].

pub mod keys;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, TransactWriteItem, Update,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

pub use keys::Key;

use crate::ApiError;

/// A raw DynamoDB item.
pub type RawItem = HashMap<String, AttributeValue>;

#[derive(Debug, Error)]
pub enum StoreError {
    /// A conditional write's condition did not hold.
    #[error("conditional check failed")]
    ConditionFailed,
    /// A transaction was cancelled; `failed` holds the indexes of the writes whose condition failed.
    #[error("transaction cancelled (conditions failed at {failed:?})")]
    TransactionCancelled { failed: Vec<usize> },
    #[error("dynamodb request failed: {0}")]
    Request(String),
    #[error("item could not be encoded or decoded: {0}")]
    Codec(String),
}

impl StoreError {
    fn request<E: std::error::Error + 'static, R: std::fmt::Debug>(err: SdkError<E, R>) -> Self {
        Self::Request(aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string())
    }
}

impl StoreError {
    /// For writes conditioned on the item existing: a failed condition means it is gone (404).
    pub fn gone_is_not_found(self) -> ApiError {
        match self {
            Self::ConditionFailed | Self::TransactionCancelled { .. } => ApiError::not_found(),
            other => other.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        ApiError::internal(err)
    }
}

/// An item about to be written: its key, entity type, index keys and serialised fields.
#[derive(Debug, Clone)]
pub struct Item {
    attrs: RawItem,
}

impl Item {
    /// The item's primary key.
    pub fn key(&self) -> Option<Key> {
        match (self.attrs.get(keys::PK), self.attrs.get(keys::SK)) {
            (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) => Some(Key::new(pk.clone(), sk.clone())),
            _ => None,
        }
    }

    /// Serialises `value` (a struct of plain fields) into an item at `key`.
    pub fn new<T: Serialize>(key: &Key, entity: &str, value: &T) -> Result<Self, StoreError> {
        let mut attrs: RawItem = serde_dynamo::to_item(value).map_err(|e| StoreError::Codec(e.to_string()))?;
        attrs.insert(keys::PK.into(), AttributeValue::S(key.pk.clone()));
        attrs.insert(keys::SK.into(), AttributeValue::S(key.sk.clone()));
        attrs.insert(keys::ENTITY.into(), AttributeValue::S(entity.into()));
        Ok(Self { attrs })
    }

    pub fn gsi1(mut self, (pk, sk): (String, String)) -> Self {
        self.attrs.insert(keys::GSI1_PK.into(), AttributeValue::S(pk));
        self.attrs.insert(keys::GSI1_SK.into(), AttributeValue::S(sk));
        self
    }

    pub fn gsi3(mut self, (pk, sk): (String, String)) -> Self {
        self.attrs.insert(keys::GSI3_PK.into(), AttributeValue::S(pk));
        self.attrs.insert(keys::GSI3_SK.into(), AttributeValue::S(sk));
        self
    }

    pub fn gsi2(mut self, (pk, sk): (String, String)) -> Self {
        self.attrs.insert(keys::GSI2_PK.into(), AttributeValue::S(pk));
        self.attrs.insert(keys::GSI2_SK.into(), AttributeValue::S(sk));
        self
    }

    /// Lets DynamoDB delete the item after `epoch_seconds`.
    pub fn expires_at(mut self, epoch_seconds: i64) -> Self {
        self.attrs.insert(keys::TTL.into(), AttributeValue::N(epoch_seconds.to_string()));
        self
    }

    pub fn into_raw(self) -> RawItem {
        self.attrs
    }
}

/// Decodes a raw item into `T`, ignoring the key and index attributes.
pub fn decode<T: DeserializeOwned>(item: RawItem) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Codec(e.to_string()))
}

/// A condition expression with its placeholders.
#[derive(Debug, Clone, Default)]
pub struct Condition {
    pub expression: String,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Condition {
    pub fn new(expression: impl Into<String>) -> Self {
        Self { expression: expression.into(), ..Self::default() }
    }

    /// The item must not exist yet.
    pub fn not_exists() -> Self {
        Self::new("attribute_not_exists(PK)")
    }

    /// The item must exist.
    pub fn exists() -> Self {
        Self::new("attribute_exists(PK)")
    }

    pub fn name(mut self, placeholder: &str, name: &str) -> Self {
        self.names.insert(placeholder.into(), name.into());
        self
    }

    pub fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.into(), value);
        self
    }
}

/// An update expression (`SET a = :a ...`) with its placeholders and optional condition.
#[derive(Debug, Clone)]
pub struct Change {
    pub key: Key,
    pub update: String,
    pub condition: Option<Condition>,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Change {
    pub fn new(key: Key, update: impl Into<String>) -> Self {
        Self { key, update: update.into(), condition: None, names: HashMap::new(), values: HashMap::new() }
    }

    pub fn name(mut self, placeholder: &str, name: &str) -> Self {
        self.names.insert(placeholder.into(), name.into());
        self
    }

    pub fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.into(), value);
        self
    }

    pub fn condition(mut self, condition: Condition) -> Self {
        self.condition = Some(condition);
        self
    }

    /// The key, the update expression, and the condition with every placeholder merged.
    fn merged(self) -> (Key, String, Parts) {
        let mut names = self.names;
        let mut values = self.values;
        let expression = self.condition.map(|c| {
            names.extend(c.names);
            values.extend(c.values);
            c.expression
        });
        let parts = Parts { expression, names: opt_map(names), values: opt_map(values) };
        (self.key, self.update, parts)
    }
}

/// One write of a transaction.
#[derive(Debug, Clone)]
pub enum Write {
    Put(Item, Option<Condition>),
    Update(Change),
    Delete(Key, Option<Condition>),
    Check(Key, Condition),
}

/// A page of query results and the cursor to the next one.
#[derive(Debug, Clone)]
pub struct QueryPage {
    pub items: Vec<RawItem>,
    pub next: Option<RawItem>,
}

/// How to query: a partition (on the table or an index) and an optional sort-key prefix.
#[derive(Debug, Clone)]
pub struct Query {
    pub index: Option<&'static str>,
    pub pk: String,
    pub sk_prefix: Option<String>,
    /// Inclusive sort-key range.
    pub sk_range: Option<(String, String)>,
    pub forward: bool,
    pub limit: Option<i32>,
    pub start: Option<RawItem>,
}

impl Query {
    /// Items of the table partition `pk`, in sort-key order.
    pub fn partition(pk: impl Into<String>) -> Self {
        Self { index: None, pk: pk.into(), sk_prefix: None, sk_range: None, forward: true, limit: None, start: None }
    }

    /// Items of partition `pk` on a global secondary index.
    pub fn index(index: &'static str, pk: impl Into<String>) -> Self {
        Self { index: Some(index), ..Self::partition(pk) }
    }

    pub fn sk_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.sk_prefix = Some(prefix.into());
        self
    }

    /// Sort keys from `low` to `high`, both included.
    pub fn sk_between(mut self, low: impl Into<String>, high: impl Into<String>) -> Self {
        self.sk_range = Some((low.into(), high.into()));
        self
    }

    pub fn newest_first(mut self) -> Self {
        self.forward = false;
        self
    }

    pub fn limit(mut self, limit: i32) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn start(mut self, start: Option<RawItem>) -> Self {
        self.start = start;
        self
    }
}

/// `TOTAL` when the work running asks what its requests consume (see
/// [`crate::metering::measure_capacity`]); otherwise nothing is asked, and nothing answered.
fn capacity() -> Option<aws_sdk_dynamodb::types::ReturnConsumedCapacity> {
    crate::metering::wants_capacity().then_some(aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total)
}

fn consumed(capacity: Option<&aws_sdk_dynamodb::types::ConsumedCapacity>) {
    if let Some(units) = capacity.and_then(|c| c.capacity_units) {
        crate::metering::capacity_consumed(units);
    }
}

/// The table, through the DynamoDB client.
#[derive(Debug, Clone)]
pub struct Store {
    client: Client,
    table: String,
}

/// How many DynamoDB requests this process has sent so far ([`crate::metering`] counts them).
pub fn requests_sent() -> u64 {
    crate::metering::process_usage().of(crate::metering::Service::DynamoDb)
}

/// Runs `work` and answers, with its result, the DynamoDB requests it sent; work running at the
/// same time elsewhere (another job of the batch) is not counted.
pub async fn counting<F: std::future::Future>(work: F) -> (F::Output, u64) {
    let (out, usage) = crate::metering::measure(work).await;
    (out, usage.of(crate::metering::Service::DynamoDb))
}

fn key_map(key: &Key) -> RawItem {
    HashMap::from([
        (keys::PK.to_owned(), AttributeValue::S(key.pk.clone())),
        (keys::SK.to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

fn opt_map<K, V>(map: HashMap<K, V>) -> Option<HashMap<K, V>> {
    (!map.is_empty()).then_some(map)
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Reads one item (strongly consistent) as it is stored.
    pub async fn get_raw(&self, key: &Key) -> Result<Option<RawItem>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .consistent_read(true)
            .set_return_consumed_capacity(capacity())
            .send()
            .await
            .map_err(StoreError::request)?;
        crate::metering::items_read(out.item.is_some() as u64);
        consumed(out.consumed_capacity.as_ref());
        Ok(out.item)
    }

    /// Reads one item (strongly consistent) and decodes it.
    pub async fn get<T: DeserializeOwned>(&self, key: &Key) -> Result<Option<T>, StoreError> {
        self.get_raw(key).await?.map(decode).transpose()
    }

    /// Reads the item at `key(id)` when `id` is an id this system issues; anything else, or a
    /// missing item, is a 404.
    pub async fn by_id<T: DeserializeOwned>(&self, id: &str, key: impl FnOnce(&str) -> Key) -> Result<T, ApiError> {
        if !crate::ids::is_valid_id(id) {
            return Err(ApiError::not_found());
        }
        self.get(&key(id)).await?.ok_or_else(ApiError::not_found)
    }

    /// Reads several items in one request; the answer is in the order of `keys`, `None` where an
    /// item does not exist. At most 100 keys.
    pub async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<RawItem>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut wanted = KeysAndAttributes::builder().consistent_read(true);
        for key in keys {
            wanted = wanted.keys(key_map(key));
        }
        let wanted = wanted.build().map_err(|e| StoreError::Request(e.to_string()))?;
        let mut pending = HashMap::from([(self.table.clone(), wanted)]);
        let mut found: HashMap<(String, String), RawItem> = HashMap::new();
        // Unprocessed keys are retried; DynamoDB returns them under throttling.
        for _ in 0..5 {
            let out = self
                .client
                .batch_get_item()
                .set_request_items(Some(pending))
                .set_return_consumed_capacity(capacity())
                .send()
                .await
                .map_err(StoreError::request)?;
            out.consumed_capacity.iter().flatten().for_each(|c| consumed(Some(c)));
            let answered = out.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default();
            crate::metering::items_read(answered.len() as u64);
            for item in answered {
                let (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) =
                    (item.get(keys::PK), item.get(keys::SK))
                else {
                    continue;
                };
                found.insert((pk.clone(), sk.clone()), item);
            }
            match out.unprocessed_keys.filter(|u| !u.is_empty()) {
                Some(unprocessed) => pending = unprocessed,
                None => break,
            }
        }
        Ok(keys.iter().map(|k| found.remove(&(k.pk.clone(), k.sk.clone()))).collect())
    }

    /// Writes an item, optionally under a condition ([`StoreError::ConditionFailed`] when it fails).
    pub async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), StoreError> {
        let Parts { expression, names, values } = split(condition);
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item.into_raw()))
            .set_condition_expression(expression)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .set_return_consumed_capacity(capacity())
            .send()
            .await
            .map_err(|err| match err.as_service_error() {
                Some(e) if e.is_conditional_check_failed_exception() => StoreError::ConditionFailed,
                _ => StoreError::request(err),
            })?;
        consumed(out.consumed_capacity.as_ref());
        Ok(())
    }

    /// Writes `item` over the one already at its key (a 404 when it is gone meanwhile): a
    /// record's update once its request has been checked.
    pub async fn replace(&self, item: Item) -> Result<(), ApiError> {
        self.put(item, Some(Condition::exists())).await.map_err(StoreError::gone_is_not_found)
    }

    /// Every item of `query`, decoded.
    pub async fn all_of<T: DeserializeOwned>(&self, query: Query) -> Result<Vec<T>, StoreError> {
        self.query_all(query).await?.into_iter().map(decode).collect()
    }

    /// Deletes one item, optionally under a condition ([`StoreError::ConditionFailed`] when it fails).
    pub async fn delete(&self, key: &Key, condition: Option<Condition>) -> Result<(), StoreError> {
        let Parts { expression, names, values } = split(condition);
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .set_condition_expression(expression)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .set_return_consumed_capacity(capacity())
            .send()
            .await
            .map_err(|err| match err.as_service_error() {
                Some(e) if e.is_conditional_check_failed_exception() => StoreError::ConditionFailed,
                _ => StoreError::request(err),
            })?;
        consumed(out.consumed_capacity.as_ref());
        Ok(())
    }

    /// Writes many items without conditions, 25 per request (for loading reference data).
    pub async fn put_batch(&self, items: Vec<Item>) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        let requests = items
            .into_iter()
            .map(|item| {
                PutRequest::builder()
                    .set_item(Some(item.attrs))
                    .build()
                    .map(|put| WriteRequest::builder().put_request(put).build())
                    .map_err(|e| StoreError::Request(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.write_batch(requests).await
    }

    /// Deletes many items without conditions, 25 per request.
    pub async fn delete_batch(&self, keys: &[Key]) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
        let requests = keys
            .iter()
            .map(|key| {
                DeleteRequest::builder()
                    .set_key(Some(key_map(key)))
                    .build()
                    .map(|delete| WriteRequest::builder().delete_request(delete).build())
                    .map_err(|e| StoreError::Request(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.write_batch(requests).await
    }

    /// `BatchWriteItem` in requests of 25, retrying what DynamoDB leaves unprocessed.
    async fn write_batch(&self, requests: Vec<aws_sdk_dynamodb::types::WriteRequest>) -> Result<(), StoreError> {
        for chunk in requests.chunks(25) {
            let mut pending = chunk.to_vec();
            for attempt in 0..8 {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .set_return_consumed_capacity(capacity())
                    .send()
                    .await
                    .map_err(StoreError::request)?;
                out.consumed_capacity.iter().flatten().for_each(|c| consumed(Some(c)));
                match out.unprocessed_items.and_then(|mut u| u.remove(&self.table)).filter(|r| !r.is_empty()) {
                    Some(rest) if attempt < 7 => {
                        pending = rest;
                        tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
                    }
                    Some(_) => {
                        return Err(StoreError::Request("batch write left items unprocessed".into()));
                    }
                    None => break,
                }
            }
        }
        Ok(())
    }

    /// Applies an update expression and returns the item as it is after the update.
    pub async fn update(&self, change: Change) -> Result<RawItem, StoreError> {
        let (key, update, Parts { expression: condition, names, values }) = change.merged();
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_map(&key)))
            .update_expression(update)
            .set_condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .set_return_consumed_capacity(capacity())
            .send()
            .await
            .map_err(|err| match err.as_service_error() {
                Some(e) if e.is_conditional_check_failed_exception() => StoreError::ConditionFailed,
                _ => StoreError::request(err),
            })?;
        consumed(out.consumed_capacity.as_ref());
        Ok(out.attributes.unwrap_or_default())
    }

    /// Writes all of `writes` or none of them (at most 100 per transaction).
    pub async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let items = writes.into_iter().map(|w| self.transact_item(w)).collect::<Result<Vec<_>, _>>()?;
        let call = self.client.transact_write_items().set_transact_items(Some(items));
        let out =
            call.set_return_consumed_capacity(capacity()).send().await.map_err(|err| match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(e)) => StoreError::TransactionCancelled {
                    failed: e
                        .cancellation_reasons()
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                        .map(|(i, _)| i)
                        .collect(),
                },
                _ => StoreError::request(err),
            })?;
        out.consumed_capacity.iter().flatten().for_each(|c| consumed(Some(c)));
        Ok(())
    }

    fn transact_item(&self, write: Write) -> Result<TransactWriteItem, StoreError> {
        let build = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Request(e.to_string());
        let item = match write {
            Write::Put(item, condition) => {
                let Parts { expression, names, values } = split(condition);
                TransactWriteItem::builder().put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(item.into_raw()))
                        .set_condition_expression(expression)
                        .set_expression_attribute_names(names)
                        .set_expression_attribute_values(values)
                        .build()
                        .map_err(build)?,
                )
            }
            Write::Update(change) => {
                let (key, update, Parts { expression: condition, names, values }) = change.merged();
                TransactWriteItem::builder().update(
                    Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_map(&key)))
                        .update_expression(update)
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(names)
                        .set_expression_attribute_values(values)
                        .build()
                        .map_err(build)?,
                )
            }
            Write::Delete(key, condition) => {
                let Parts { expression, names, values } = split(condition);
                TransactWriteItem::builder().delete(
                    Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_map(&key)))
                        .set_condition_expression(expression)
                        .set_expression_attribute_names(names)
                        .set_expression_attribute_values(values)
                        .build()
                        .map_err(build)?,
                )
            }
            Write::Check(key, condition) => TransactWriteItem::builder().condition_check(
                ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_map(&key)))
                    .condition_expression(condition.expression)
                    .set_expression_attribute_names(opt_map(condition.names))
                    .set_expression_attribute_values(opt_map(condition.values))
                    .build()
                    .map_err(build)?,
            ),
        };
        Ok(item.build())
    }

    /// One page of a query.
    pub async fn query(&self, query: Query) -> Result<QueryPage, StoreError> {
        let (pk_name, sk_name) = match query.index {
            None => (keys::PK, keys::SK),
            Some(keys::GSI1) => (keys::GSI1_PK, keys::GSI1_SK),
            Some(keys::GSI3) => (keys::GSI3_PK, keys::GSI3_SK),
            Some(_) => (keys::GSI2_PK, keys::GSI2_SK),
        };
        let mut expression = "#pk = :pk".to_owned();
        let mut names = HashMap::from([("#pk".to_owned(), pk_name.to_owned())]);
        let mut values = HashMap::from([(":pk".to_owned(), AttributeValue::S(query.pk))]);
        if let Some(prefix) = query.sk_prefix {
            expression.push_str(" AND begins_with(#sk, :sk)");
            names.insert("#sk".into(), sk_name.into());
            values.insert(":sk".into(), AttributeValue::S(prefix));
        } else if let Some((low, high)) = query.sk_range {
            expression.push_str(" AND #sk BETWEEN :low AND :high");
            names.insert("#sk".into(), sk_name.into());
            values.insert(":low".into(), AttributeValue::S(low));
            values.insert(":high".into(), AttributeValue::S(high));
        }
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(query.index.map(str::to_owned))
            .key_condition_expression(expression)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .scan_index_forward(query.forward)
            .consistent_read(query.index.is_none())
            .set_limit(query.limit)
            .set_exclusive_start_key(query.start)
            .set_return_consumed_capacity(capacity())
            .send()
            .await
            .map_err(StoreError::request)?;
        consumed(out.consumed_capacity.as_ref());
        let items = out.items.unwrap_or_default();
        crate::metering::items_read(items.len() as u64);
        Ok(QueryPage { items, next: out.last_evaluated_key.filter(|k| !k.is_empty()) })
    }

    /// Every item of a query, following the cursor to the end.
    pub async fn query_all(&self, query: Query) -> Result<Vec<RawItem>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self.query(query.clone().start(start)).await?;
            items.extend(page.items);
            match page.next {
                Some(next) => start = Some(next),
                None => return Ok(items),
            }
        }
    }
}

type Names = HashMap<String, String>;
type Values = HashMap<String, AttributeValue>;

/// An optional condition expression and the placeholders of one request.
struct Parts {
    expression: Option<String>,
    names: Option<Names>,
    values: Option<Values>,
}

fn split(condition: Option<Condition>) -> Parts {
    match condition {
        Some(c) => Parts { expression: Some(c.expression), names: opt_map(c.names), values: opt_map(c.values) },
        None => Parts { expression: None, names: None, values: None },
    }
}

/// A string attribute value.
pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute value.
pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A boolean attribute value.
pub fn boolean(value: bool) -> AttributeValue {
    AttributeValue::Bool(value)
}

/// The null attribute value.
pub fn null() -> AttributeValue {
    AttributeValue::Null(true)
}
