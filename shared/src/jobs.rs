//! AI jobs: reserved, queued, run by a worker, settled exactly once.
//!
//! An API action reserves the estimated credits and writes the job in one transaction (a short
//! balance cancels both: 402), then sends the job's id to its SQS queue. The worker saves the
//! model's parsed output on the job before writing anything, so that a re-run after a crash replays
//! the same writes instead of asking the model again; it then settles the job in one transaction
//! conditioned on the job not being settled yet: the reservation is refunded down to the actual
//! cost, the usage counters move, and the job becomes SUCCESS. A failure refunds the whole
//! reservation the same way. A redelivered message finds the job settled and does nothing.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::accounts::{Account, rfc3339};
use crate::credits::{self, Operation, TransactionType};
use crate::store::{self, Change, Condition, Item, Key, StoreError, Write, keys, n, s};
use crate::{ApiError, Services, ids};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AiFunction {
    AutoCluster,
    GenerateIdeas,
    GenerateContent,
    GenerateImagePrompts,
    GenerateImages,
}

impl AiFunction {
    pub fn operation(self) -> Operation {
        match self {
            Self::AutoCluster => Operation::Clustering,
            Self::GenerateIdeas => Operation::IdeaGeneration,
            Self::GenerateContent => Operation::ContentGeneration,
            Self::GenerateImagePrompts => Operation::ImagePromptExtraction,
            Self::GenerateImages => Operation::ImageGeneration,
        }
    }

    /// Image generation has its own queue and worker.
    pub fn uses_image_queue(self) -> bool {
        self == Self::GenerateImages
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    pub function: AiFunction,
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
    /// The model's parsed output, saved before any write.
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
        let mut meta = json!({
            "phase": self.phase,
            "percentage": self.percentage,
            "message": self.message,
            "function": self.function,
            "parts_done": self.parts_done,
            "parts_total": self.parts_total,
            "attempts": self.attempts,
            "credits_reserved": self.reserved,
            "updated_at": rfc3339(self.updated_at),
        });
        if self.settled {
            meta["credits_charged"] = json!(self.charged);
        }
        if let Some(result) = &self.result {
            meta["result"] = result.clone();
        }
        if let Some(error) = &self.error {
            meta["error"] = json!(error);
            meta["error_type"] = json!(self.error_type);
        }
        json!({ "task_id": self.id, "state": self.state, "meta": meta })
    }
}

/// Reserves `reserve` credits and queues the job; answers the job (its id is the `task_id`).
#[allow(clippy::too_many_arguments)]
pub async fn submit(
    services: &Services,
    account: &Account,
    user_id: &str,
    function: AiFunction,
    input: Value,
    reserve: i64,
    parts_total: u32,
    description: &str,
) -> Result<Job, ApiError> {
    let now = OffsetDateTime::now_utc();
    let job = Job {
        id: ids::new_id(),
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
    let store = services.store().await;
    match store.transact(writes).await {
        Ok(()) => {}
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => {
            let available = store.get::<Account>(&Key::account(&account.id)).await?.map_or(0, |a| a.credits);
            return Err(ApiError::PaymentRequired(format!(
                "Insufficient credits. Required: {reserve}, Available: {available}"
            )));
        }
        Err(err) => return Err(err.into()),
    }
    let queue = if function.uses_image_queue() {
        &services.config.image_jobs_queue_url
    } else {
        &services.config.ai_jobs_queue_url
    };
    let body = serde_json::to_string(&JobMessage { account_id: job.account_id.clone(), job_id: job.id.clone() })
        .map_err(ApiError::internal)?;
    let sent = match queue {
        Some(url) => services
            .sqs()
            .await
            .send_message()
            .queue_url(url)
            .message_body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string()),
        None => Err("no queue is configured for this job".to_owned()),
    };
    if let Err(reason) = sent {
        // Nothing will run the job: give the credits back before answering.
        fail(services, &job, "The job could not be queued; try again.", "QueueError").await?;
        return Err(ApiError::internal(format!("queueing job {}: {reason}", job.id)));
    }
    tracing::info!(job_id = %job.id, account_id = %job.account_id, function = ?function, reserved = reserve, "job queued");
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

/// Counts an attempt; answers the job as it is now.
pub async fn start_attempt(services: &Services, job: &Job) -> Result<Job, ApiError> {
    let change = Change::new(
        job.key(),
        "SET attempts = attempts + :one, #state = :progress, phase = :prep, message = :msg, updated_at = :now",
    )
    .name("#state", "state")
    .value(":one", n(1))
    .value(":progress", s("PROGRESS"))
    .value(":prep", s("PREP"))
    .value(":msg", s("Preparing"))
    .value(":now", s(rfc3339(OffsetDateTime::now_utc())))
    .condition(Condition::new("settled = :no").value(":no", store::boolean(false)));
    let item = services.store().await.update(change).await?;
    Ok(store::decode(item)?)
}

/// Saves the parsed output once; a concurrent or earlier run's output wins, and is answered.
pub async fn save_output(services: &Services, job: &Job, output: Value) -> Result<Value, ApiError> {
    let change = Change::new(job.key(), "SET #output = :output, phase = :save, percentage = :pct, updated_at = :now")
        .name("#output", "output")
        .value(":output", serde_dynamo::to_attribute_value(&output).map_err(ApiError::internal)?)
        .value(":save", s("SAVE"))
        .value(":pct", n(80))
        .value(":now", s(rfc3339(OffsetDateTime::now_utc())))
        .condition(
            Condition::new("attribute_not_exists(#output) AND settled = :no").value(":no", store::boolean(false)),
        );
    match services.store().await.update(change).await {
        Ok(_) => Ok(output),
        Err(StoreError::ConditionFailed) => load(services, &job.account_id, &job.id)
            .await?
            .and_then(|j| j.output)
            .ok_or_else(|| ApiError::internal("job settled or gone while saving its output")),
        Err(err) => Err(err.into()),
    }
}

/// Settles a successful job: charges `charged` (at most the reservation), refunds the rest, applies
/// `extra` writes (usage counters) and records the result — all or nothing, once.
pub async fn complete(
    services: &Services,
    job: &Job,
    charged: i64,
    result: Value,
    extra: Vec<Write>,
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
    if job.reserved > charged {
        let description = format!("Settlement of {:?}: charged {charged} of {} reserved", job.function, job.reserved);
        writes.extend(credits::credit(
            &job.account_id,
            job.reserved - charged,
            TransactionType::Settlement,
            &description,
            Some(&job.id),
            now,
        )?);
    }
    writes.extend(extra);
    settle(services, writes).await
}

/// Settles a failed job: the whole reservation goes back, once.
pub async fn fail(services: &Services, job: &Job, error: &str, error_type: &str) -> Result<bool, ApiError> {
    let now = OffsetDateTime::now_utc();
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
        let description = format!("Refund of {:?}: {error}", job.function);
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

/// Starts an AI job for the caller: estimates its credits from the input, reserves them and
/// queues it (402 when the balance is short). Answers the job.
pub async fn start(
    services: &Services,
    caller: &crate::access::Caller,
    function: AiFunction,
    input: Value,
    description: &str,
) -> Result<Job, ApiError> {
    let (reserve, parts) = crate::ai::functions::estimate(&services.config.credit_costs, function, &input);
    submit(services, &caller.account, &caller.user.id, function, input, reserve, parts, description).await
}

/// What an API action answers for a queued job.
pub fn queued_json(job: &Job) -> Value {
    json!({"task_id": job.id, "state": job.state, "credits_reserved": job.reserved, "parts_total": job.parts_total})
}
