//! AI jobs: reserved, queued, run by a worker, settled exactly once.
//!
//! An API action reserves the estimated credits and writes the job in one transaction (a short
//! balance cancels both: 402), then sends the job's id to its SQS queue. The worker saves the
//! model's parsed output on the job before writing anything, so that a re-run after a crash replays
//! the same writes instead of asking the model again; it then settles the job in one transaction
//! conditioned on the job not being settled yet: the reservation is refunded down to the actual
//! cost, the usage counters move, and the job becomes SUCCESS. A failure refunds the whole
//! reservation the same way. A redelivered message finds the job settled and does nothing.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::accounts::{Account, rfc3339};
use crate::credits::{self, TransactionType};
use crate::store::{self, Change, Condition, Item, Key, Query, StoreError, Write, keys, n, s};
use crate::{ApiError, Services, ids};

/// The queue (and so the worker) that runs a job: image generation has its own, so that slow
/// images never hold up text jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    Ai,
    Image,
}

/// A job to reserve and queue: which function runs it, on what, and what it may cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    /// The name the AI function is registered under.
    pub function: String,
    pub queue: Queue,
    pub input: Value,
    /// Credits to reserve.
    pub reserve: i64,
    /// The model calls it will make.
    pub parts: u32,
}

/// How ledger lines name a function: `auto_cluster` is `AutoCluster`.
pub fn label(function: &str) -> String {
    function
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|first| first.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobState {
    Pending,
    Progress,
    Success,
    Failure,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Phase {
    Init,
    Prep,
    AiCall,
    Parse,
    Save,
    Done,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    pub account_id: String,
    pub user_id: String,
    /// The AI function's registered name (`auto_cluster`, ...).
    pub function: String,
    /// The function's typed input, as JSON.
    pub input: Value,
    pub state: JobState,
    pub phase: Phase,
    pub percentage: u8,
    pub message: String,
    /// Credits reserved at submission.
    pub reserved: i64,
    /// Credits finally charged (set at settlement).
    pub charged: i64,
    /// Settled (charged or refunded): nothing may change the job's credits again.
    pub settled: bool,
    pub attempts: u32,
    pub parts_total: u32,
    pub parts_done: u32,
    /// The function's parsed output and the record of its model calls, saved before any write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// The SQS message of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobMessage {
    pub account_id: String,
    pub job_id: String,
}

pub const JOB_PREFIX: &str = "JOB#";

pub fn job_key(account_id: &str, job_id: &str) -> Key {
    Key::new(keys::account_pk(account_id), format!("{JOB_PREFIX}{job_id}"))
}

impl Job {
    pub fn key(&self) -> Key {
        job_key(&self.account_id, &self.id)
    }

    /// The progress as `GET system/settings/task_progress/{id}/` answers it.
    pub fn progress_json(&self) -> Value {
        crate::http::answer(JobProgress {
            task_id: self.id.clone(),
            state: self.state,
            meta: ProgressMeta {
                phase: self.phase,
                percentage: self.percentage,
                message: self.message.clone(),
                function: self.function.clone(),
                parts_done: self.parts_done,
                parts_total: self.parts_total,
                attempts: self.attempts,
                credits_reserved: self.reserved,
                updated_at: rfc3339(self.updated_at),
                credits_charged: self.settled.then_some(self.charged),
                result: self.result.clone(),
                error: self.error.clone(),
                error_type: self.error.as_ref().and(self.error_type.clone()),
            },
        })
    }
}

/// An AI job's state and progress (`system/settings/task_progress/{task_id}/`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobProgress {
    pub task_id: String,
    pub state: JobState,
    pub meta: ProgressMeta,
}

/// What a job has done so far.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProgressMeta {
    #[schema(value_type = String)]
    pub phase: Phase,
    pub percentage: u8,
    pub message: String,
    /// The AI function the job runs.
    pub function: String,
    pub parts_done: u32,
    pub parts_total: u32,
    pub attempts: u32,
    pub credits_reserved: i64,
    pub updated_at: String,
    /// Once the job is settled: what it cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credits_charged: Option<i64>,
    /// The function's result, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
}

/// Reserves the submission's credits and queues the job; answers the job (its id is the `task_id`).
pub async fn submit(
    services: &Services,
    account: &Account,
    user_id: &str,
    submission: Submission,
    description: &str,
) -> Result<Job, ApiError> {
    submit_as(services, account, user_id, submission, description, ids::new_id()).await
}

/// [`submit`] under a known id, once: when a job of that id exists already (a step that queues a
/// follow-up job, replayed), nothing is reserved again, and its message is sent again while it
/// has not settled (the worker runs a job once however many messages it gets).
pub async fn submit_once(
    services: &Services,
    account: &Account,
    user_id: &str,
    submission: Submission,
    description: &str,
    id: String,
) -> Result<Job, ApiError> {
    submit_as(services, account, user_id, submission, description, id).await
}

async fn submit_as(
    services: &Services,
    account: &Account,
    user_id: &str,
    submission: Submission,
    description: &str,
    id: String,
) -> Result<Job, ApiError> {
    let Submission { function, queue, input, reserve, parts: parts_total } = submission;
    let now = OffsetDateTime::now_utc();
    let job = Job {
        id,
        account_id: account.id.clone(),
        user_id: user_id.to_owned(),
        function,
        input,
        state: JobState::Pending,
        phase: Phase::Init,
        percentage: 0,
        message: "Queued".into(),
        reserved: reserve,
        charged: 0,
        settled: false,
        attempts: 0,
        parts_total,
        parts_done: 0,
        output: None,
        result: None,
        error: None,
        error_type: None,
        created_at: now,
        updated_at: now,
    };
    let mut writes =
        credits::debit(&account.id, reserve, TransactionType::Reservation, description, Some(&job.id), now)?;
    writes.push(Write::Put(Item::new(&job.key(), "Job", &job)?, Some(Condition::not_exists())));
    let job_write = writes.len() - 1;
    let store = services.store().await;
    let mut job = job;
    match store.transact(writes).await {
        Ok(()) => {}
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&job_write) => {
            // Submitted before: queue it again if it has not ended (nothing reserved twice).
            let Some(existing) = store.get::<Job>(&job.key()).await? else {
                return Err(ApiError::internal("a job vanished"));
            };
            if existing.settled {
                return Ok(existing);
            }
            job = existing;
        }
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => {
            let available = store.get::<Account>(&Key::account(&account.id)).await?.map_or(0, |a| a.credits);
            return Err(ApiError::PaymentRequired(format!(
                "Insufficient credits. Required: {reserve}, Available: {available}"
            )));
        }
        Err(err) => return Err(err.into()),
    }
    let queue = match queue {
        Queue::Image => &services.config.image_jobs_queue_url,
        Queue::Ai => &services.config.ai_jobs_queue_url,
    };
    let body = serde_json::to_string(&JobMessage { account_id: job.account_id.clone(), job_id: job.id.clone() })
        .map_err(ApiError::internal)?;
    let sent = match queue {
        Some(url) => services.send_message(url, body).await,
        None => Err("no queue is configured for this job".to_owned()),
    };
    if let Err(reason) = sent {
        // Nothing will run the job: give the credits back before answering.
        fail(services, &job, "The job could not be queued; try again.", "QueueError").await?;
        return Err(ApiError::internal(format!("queueing job {}: {reason}", job.id)));
    }
    tracing::info!(job_id = %job.id, account_id = %job.account_id, function = %job.function, reserved = reserve, "job queued");
    Ok(job)
}

pub async fn load(services: &Services, account_id: &str, job_id: &str) -> Result<Option<Job>, ApiError> {
    if !ids::is_valid_id(job_id) || !ids::is_valid_id(account_id) {
        return Ok(None);
    }
    Ok(services.store().await.get(&job_key(account_id, job_id)).await?)
}

/// Records progress (only while the job is not settled).
pub async fn progress(
    services: &Services,
    job: &Job,
    phase: Phase,
    percentage: u8,
    message: &str,
    parts_done: u32,
) -> Result<(), ApiError> {
    let change = Change::new(job.key(), "SET #state = :progress, phase = :phase, percentage = :pct, message = :msg, parts_done = :parts, updated_at = :now")
        .name("#state", "state")
        .value(":progress", s("PROGRESS"))
        .value(":phase", s(serde_json::to_value(phase).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()))
        .value(":pct", n(percentage))
        .value(":msg", s(message))
        .value(":parts", n(parts_done))
        .value(":now", s(rfc3339(OffsetDateTime::now_utc())))
        .condition(Condition::new("settled = :no").value(":no", store::boolean(false)));
    match services.store().await.update(change).await {
        Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// Counts an attempt of the job `job_id` in one request; answers the job as it is now, or nothing
/// when there is no such job or it is settled already.
pub async fn begin_attempt(services: &Services, account_id: &str, job_id: &str) -> Result<Option<Job>, ApiError> {
    if !ids::is_valid_id(job_id) || !ids::is_valid_id(account_id) {
        return Ok(None);
    }
    let change = attempt(job_key(account_id, job_id))
        .condition(Condition::new("attribute_exists(PK) AND settled = :no").value(":no", store::boolean(false)));
    match services.store().await.update(change).await {
        Ok(item) => Ok(Some(store::decode(item)?)),
        Err(StoreError::ConditionFailed) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

fn attempt(key: Key) -> Change {
    Change::new(
        key,
        "SET attempts = attempts + :one, #state = :progress, phase = :prep, message = :msg, updated_at = :now",
    )
    .name("#state", "state")
    .value(":one", n(1))
    .value(":progress", s("PROGRESS"))
    .value(":prep", s("PREP"))
    .value(":msg", s("Preparing"))
    .value(":now", s(rfc3339(OffsetDateTime::now_utc())))
}

/// Counts an attempt; answers the job as it is now.
pub async fn start_attempt(services: &Services, job: &Job) -> Result<Job, ApiError> {
    let change = attempt(job.key()).condition(Condition::new("settled = :no").value(":no", store::boolean(false)));
    let item = services.store().await.update(change).await?;
    Ok(store::decode(item)?)
}

/// An output up to this size (serialised JSON) is kept on the job item itself.
pub const INLINE_OUTPUT_BYTES: usize = 200 * 1024;
/// A larger output is split over part items of at most this size, so that no item nears
/// DynamoDB's 400 KB limit however many articles a job writes.
pub const OUTPUT_PART_BYTES: usize = 300 * 1024;
/// Part items of an output (`ACCOUNT#<a>` / `JOBOUT#<job>#<run>#<n>`), kept 30 days.
pub const OUTPUT_PART_PREFIX: &str = "JOBOUT#";
const OUTPUT_PART_DAYS: i64 = 30;
/// The longest error message kept on a job.
pub const MAX_ERROR_CHARS: usize = 1000;

fn output_part_key(job: &Job, run: &str, n: usize) -> Key {
    Key::new(keys::account_pk(&job.account_id), format!("{OUTPUT_PART_PREFIX}{}#{run}#{n:04}", job.id))
}

/// Splits `text` into pieces of at most `max` bytes, on character boundaries.
fn split_text(text: &str, max: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = rest.len().min(max);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (head, tail) = rest.split_at(end);
        parts.push(head);
        rest = tail;
    }
    parts
}

/// The job's saved output, read back from its part items when it was too large for the job.
pub async fn stored_output(services: &Services, job: &Job) -> Result<Option<Value>, ApiError> {
    let Some(output) = &job.output else { return Ok(None) };
    let Some(parts) = output.get("$parts") else { return Ok(Some(output.clone())) };
    let run = parts["run"].as_str().unwrap_or_default();
    let count = parts["count"].as_u64().unwrap_or(0) as usize;
    let keys: Vec<Key> = (0..count).map(|n| output_part_key(job, run, n)).collect();
    let store = services.store().await;
    // 25 parts of 300 KB a request stay under BatchGetItem's 16 MB; the requests go together.
    let batches = futures_util::future::try_join_all(keys.chunks(25).map(|chunk| store.get_many(chunk))).await?;
    let mut text = String::new();
    for item in batches.into_iter().flatten() {
        let item = item.ok_or_else(|| ApiError::internal(format!("job {} lost a part of its output", job.id)))?;
        let part: Value = store::decode(item)?;
        text.push_str(part["data"].as_str().unwrap_or_default());
    }
    Ok(Some(serde_json::from_str(&text).map_err(ApiError::internal)?))
}

/// Checkpoints of a run's parts (`ACCOUNT#<a>` / `JOBPART#<job>#<index>`), saved after each wave of
/// model calls so that a later delivery asks only for what is missing; kept 30 days.
pub const RUN_PART_PREFIX: &str = "JOBPART#";
/// A part larger than this is not checkpointed (a later delivery asks for it again).
const RUN_PART_BYTES: usize = 350 * 1024;

fn run_part_key(job: &Job, index: usize) -> Key {
    Key::new(keys::account_pk(&job.account_id), format!("{RUN_PART_PREFIX}{}#{index:05}", job.id))
}

/// The parts of the job's run that earlier deliveries saved, by index (one `Query`).
pub async fn saved_parts(services: &Services, job: &Job) -> Result<HashMap<usize, Value>, ApiError> {
    let prefix = format!("{RUN_PART_PREFIX}{}#", job.id);
    let query = Query::partition(keys::account_pk(&job.account_id)).sk_prefix(prefix);
    let mut parts = HashMap::new();
    for item in services.store().await.query_all(query).await? {
        let part: Value = store::decode(item)?;
        if let Some(index) = part["index"].as_u64() {
            parts.insert(index as usize, part["answer"].clone());
        }
    }
    Ok(parts)
}

/// Saves parts of the job's run (`BatchWriteItem`, 25 a request); a part over 350 KB is left out.
pub async fn save_parts(services: &Services, job: &Job, parts: Vec<(usize, Value)>) -> Result<(), ApiError> {
    let expires = (OffsetDateTime::now_utc() + time::Duration::days(OUTPUT_PART_DAYS)).unix_timestamp();
    let mut items = Vec::new();
    for (index, answer) in parts {
        let body = json!({"job_id": job.id, "index": index, "answer": answer});
        if serde_json::to_string(&body).map_or(usize::MAX, |t| t.len()) > RUN_PART_BYTES {
            continue;
        }
        items.push(Item::new(&run_part_key(job, index), "JobRunPart", &body)?.expires_at(expires));
    }
    if items.is_empty() {
        return Ok(());
    }
    Ok(services.store().await.put_batch(items).await?)
}

/// Saves the parsed output once; a concurrent or earlier run's output wins, and is answered. An
/// output larger than [`INLINE_OUTPUT_BYTES`] goes to part items first and the job keeps only
/// where they are.
pub async fn save_output(services: &Services, job: &Job, output: Value) -> Result<Value, ApiError> {
    let text = serde_json::to_string(&output).map_err(ApiError::internal)?;
    let stored = if text.len() <= INLINE_OUTPUT_BYTES {
        output.clone()
    } else {
        let run = ids::new_id();
        let expires = (OffsetDateTime::now_utc() + time::Duration::days(OUTPUT_PART_DAYS)).unix_timestamp();
        let pieces = split_text(&text, OUTPUT_PART_BYTES);
        let items = pieces
            .iter()
            .enumerate()
            .map(|(n, piece)| {
                Item::new(&output_part_key(job, &run, n), "JobOutputPart", &json!({"job_id": job.id, "data": piece}))
                    .map(|item| item.expires_at(expires))
            })
            .collect::<Result<Vec<_>, _>>()?;
        services.store().await.put_batch(items).await?;
        json!({"$parts": {"run": run, "count": pieces.len(), "bytes": text.len()}})
    };
    let change = Change::new(job.key(), "SET #output = :output, phase = :save, percentage = :pct, updated_at = :now")
        .name("#output", "output")
        .value(":output", serde_dynamo::to_attribute_value(&stored).map_err(ApiError::internal)?)
        .value(":save", s("SAVE"))
        .value(":pct", n(80))
        .value(":now", s(rfc3339(OffsetDateTime::now_utc())))
        .condition(
            Condition::new("attribute_not_exists(#output) AND settled = :no").value(":no", store::boolean(false)),
        );
    match services.store().await.update(change).await {
        Ok(_) => Ok(output),
        Err(StoreError::ConditionFailed) => {
            let winner = load(services, &job.account_id, &job.id).await?;
            match winner {
                Some(winner) => stored_output(services, &winner).await?,
                None => None,
            }
            .ok_or_else(|| ApiError::internal("job settled or gone while saving its output"))
        }
        Err(err) => Err(err.into()),
    }
}

/// The most writes one settlement transaction holds (DynamoDB's limit).
const MAX_TRANSACTION_WRITES: usize = 100;

/// Settles a successful job: charges `charged` (at most the reservation), refunds the rest, applies
/// `extra` writes (usage counters) and records the result — all or nothing, once. The usage `logs`
/// go in the same transaction when they fit; otherwise they are put first (their ids are fixed,
/// so a replay puts the same ones again).
pub async fn complete(
    services: &Services,
    job: &Job,
    charged: i64,
    result: Value,
    extra: Vec<Write>,
    logs: Vec<Item>,
) -> Result<bool, ApiError> {
    let charged = charged.clamp(0, job.reserved);
    let now = OffsetDateTime::now_utc();
    let change = Change::new(
        job.key(),
        "SET #state = :success, phase = :done, percentage = :full, parts_done = parts_total, message = :msg, settled = :yes, charged = :charged, #result = :result, updated_at = :now",
    )
    .name("#state", "state")
    .name("#result", "result")
    .value(":success", s("SUCCESS"))
    .value(":done", s("DONE"))
    .value(":full", n(100))
    .value(":msg", s("Task completed"))
    .value(":yes", store::boolean(true))
    .value(":charged", n(charged))
    .value(":result", serde_dynamo::to_attribute_value(&result).map_err(ApiError::internal)?)
    .value(":now", s(rfc3339(now)))
    .condition(Condition::new("settled = :no").value(":no", store::boolean(false)));
    let mut writes = vec![Write::Update(change)];
    let what = format!("{} (job {})", label(&job.function), job.id);
    writes.extend(credits::settle_reservation(&job.account_id, job.reserved, charged, &what, &job.id, now)?);
    writes.extend(extra);
    if writes.len() + logs.len() <= MAX_TRANSACTION_WRITES {
        writes.extend(logs.into_iter().map(|log| Write::Put(log, None)));
    } else {
        services.store().await.put_batch(logs).await?;
    }
    settle(services, writes).await
}

/// Settles a failed job: the whole reservation goes back, once.
pub async fn fail(services: &Services, job: &Job, error: &str, error_type: &str) -> Result<bool, ApiError> {
    let now = OffsetDateTime::now_utc();
    let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
    let error = error.as_str();
    let change = Change::new(job.key(), "SET #state = :failure, message = :msg, settled = :yes, charged = :zero, #error = :error, error_type = :kind, updated_at = :now")
        .name("#state", "state")
        .name("#error", "error")
        .value(":failure", s("FAILURE"))
        .value(":msg", s("Task failed"))
        .value(":yes", store::boolean(true))
        .value(":zero", n(0))
        .value(":error", s(error))
        .value(":kind", s(error_type))
        .value(":now", s(rfc3339(now)))
        .condition(Condition::new("settled = :no").value(":no", store::boolean(false)));
    let mut writes = vec![Write::Update(change)];
    if job.reserved > 0 {
        let description = format!("Refund of {}: {error}", label(&job.function));
        writes.extend(credits::credit(
            &job.account_id,
            job.reserved,
            TransactionType::Refund,
            &description,
            Some(&job.id),
            now,
        )?);
    }
    tracing::warn!(job_id = %job.id, account_id = %job.account_id, error_type, error, "job failed");
    settle(services, writes).await
}

/// Runs a settlement transaction; `false` when the job was settled already.
async fn settle(services: &Services, writes: Vec<Write>) -> Result<bool, ApiError> {
    match services.store().await.transact(writes).await {
        Ok(()) => Ok(true),
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// What an API action answers for a queued job.
pub fn queued_json(job: &Job) -> Value {
    crate::http::answer(JobQueued {
        task_id: job.id.clone(),
        state: job.state,
        credits_reserved: job.reserved,
        parts_total: job.parts_total,
    })
}

/// What an action that queued an AI job answers as `data`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobQueued {
    /// The job; follow it at `/api/v1/system/settings/task_progress/{task_id}/`.
    pub task_id: String,
    pub state: JobState,
    /// Credits held for the job; what it does not use comes back when it ends.
    pub credits_reserved: i64,
    /// The model calls it will make.
    pub parts_total: u32,
}

#[cfg(test)]
mod tests {
    use super::{label, split_text};

    #[test]
    fn ledger_labels_are_the_original_names() {
        assert_eq!(label("auto_cluster"), "AutoCluster");
        assert_eq!(label("generate_image_prompts"), "GenerateImagePrompts");
        assert_eq!(label("odd__name_"), "OddName");
    }

    #[test]
    fn outputs_split_on_character_boundaries() {
        let text = "ab\u{1F600}cd\u{e9}".repeat(100);
        let parts = split_text(&text, 7);
        assert!(parts.iter().all(|p| p.len() <= 7 && !p.is_empty()));
        assert_eq!(parts.concat(), text);
        assert!(split_text("", 5).is_empty());
    }
}
