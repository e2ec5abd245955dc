//! One job message, handled by the AI worker (and the image worker): the job's attempt is
//! counted, its function found in the registry and bound to its input, the model asked (unless an
//! earlier attempt saved the output), the output written and the job settled.
//!
//! A delivery has a deadline (the invocation's): a run whose parts would not all fit saves the
//! parts it has and goes on in a new message (`Outcome::Continue`); a message that failed comes
//! back after a short backoff (`crate::queue`), not after the queue's whole visibility timeout.
//! A job whose module the account has switched off does not run: it fails, its credits refunded.

use super::context::{Batch, JobContext};
use super::model::JobError;
use super::plugin::{BoundJob, Registry, Settlement};
use super::provider::RetryPolicy;
use crate::credits::UsageLog;
use crate::jobs::{self, Job, JobMessage};
use crate::store::Item;
use crate::{ApiError, Services, queue};

/// What the queue should do with the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done with it (completed, failed for good, or nothing to do): delete it.
    Done,
    /// Deliver it again later; after the queue's last receive it goes to the DLQ.
    Retry(String),
    /// The delivery's time is up with progress saved: the job goes on in a new message (whose
    /// receive count starts over), and this one is done.
    Continue,
}

/// How one delivery is run.
#[derive(Debug, Clone, Copy)]
pub struct Delivery {
    /// This is the message's `receive_count`-th delivery...
    pub receive_count: u32,
    /// ...of at most `max_receives`.
    pub max_receives: u32,
    pub retry: RetryPolicy,
    /// When the invocation must have answered, if it must.
    pub deadline: Option<std::time::Instant>,
}

impl Delivery {
    fn is_last(&self) -> bool {
        self.receive_count >= self.max_receives
    }
}

/// Runs the job of `message` with the functions of `registry` (a job of a batch shares `batch`).
pub async fn handle(
    services: &Services,
    registry: &Registry,
    batch: &Batch,
    message: &JobMessage,
    delivery: Delivery,
) -> Result<Outcome, ApiError> {
    // The account is read with the attempt: its module switches say whether the job may run.
    let store = services.store().await;
    let account_key = crate::store::Key::account(&message.account_id);
    let (job, account) = tokio::join!(
        jobs::begin_attempt(services, &message.account_id, &message.job_id),
        store.get::<crate::accounts::Account>(&account_key)
    );
    let Some(job) = job? else {
        tracing::info!(job_id = %message.job_id, "no job to run: unknown, or settled already (a duplicate delivery)");
        return Ok(Outcome::Done);
    };
    let bound = match registry.bind(&job) {
        Some(Ok(bound)) => bound,
        Some(Err(why)) => {
            jobs::fail(services, &job, &format!("The job's input cannot be read: {why}"), "InvalidInput").await?;
            return Ok(Outcome::Done);
        }
        None => {
            let message = format!("No AI function named \"{}\" is registered.", job.function);
            jobs::fail(services, &job, &message, "UnknownFunction").await?;
            return Ok(Outcome::Done);
        }
    };
    let context = JobContext::new(services, &job, delivery.retry, batch).until(delivery.deadline);
    if let Some(module) = registry.module_of(&job.function)
        && account?.is_some_and(|a| !a.module_enabled(module))
    {
        let why = format!("Module disabled: the account switched the {module} module off; the job did not run.");
        jobs::fail(services, &job, &why, "ModuleDisabled").await?;
        bound.after_failure(&context).await?;
        return Ok(Outcome::Done);
    }
    let saved = match jobs::stored_output(services, &job).await? {
        Some(saved) => saved,
        None => {
            bound.before_run(&context).await?;
            match bound.run(&context).await {
                Ok(output) => jobs::save_output(services, &job, output).await?,
                Err(err) => return give_up_or_retry(&context, bound.as_ref(), err, delivery).await,
            }
        }
    };
    let settled = match bound.apply(&context, saved).await {
        Ok(settlement) => settle(services, &job, settlement)
            .await
            .map_err(|e| JobError::Retry { message: e.to_string(), kind: "StoreError" }),
        Err(err) => Err(err),
    };
    match settled {
        Ok(true) => Ok(Outcome::Done),
        Ok(false) => {
            tracing::info!(job_id = %job.id, "job settled meanwhile by another delivery");
            Ok(Outcome::Done)
        }
        // The writes are idempotent: another delivery replays them. On the last one the job must
        // not stay open with its credits reserved.
        Err(JobError::Retry { message, .. }) if delivery.is_last() => {
            jobs::fail(services, &job, "The results could not be saved.", "StoreError").await?;
            bound.after_failure(&context).await?;
            Ok(Outcome::Retry(message))
        }
        Err(JobError::Retry { message, .. }) => Ok(Outcome::Retry(message)),
        // Writing the output asks no model: never out of time.
        Err(err @ JobError::OutOfTime { .. }) => Ok(Outcome::Retry(err.to_string())),
        Err(JobError::Fatal { message, kind }) => {
            jobs::fail(services, &job, &message, kind).await?;
            bound.after_failure(&context).await?;
            Ok(Outcome::Done)
        }
    }
}

/// A run that stopped: fails the job for good, or leaves it for the next delivery.
async fn give_up_or_retry(
    context: &JobContext<'_>,
    bound: &dyn BoundJob,
    err: JobError,
    delivery: Delivery,
) -> Result<Outcome, ApiError> {
    let (services, job) = (context.services, context.job);
    match err {
        JobError::Fatal { message, kind } => {
            jobs::fail(services, job, &message, kind).await?;
            bound.after_failure(context).await?;
            Ok(Outcome::Done)
        }
        JobError::Retry { message, kind } => {
            if delivery.is_last() {
                jobs::fail(services, job, &message, kind).await?;
                bound.after_failure(context).await?;
            } else {
                let note = format!("Attempt {} failed ({kind}); retrying", delivery.receive_count);
                jobs::progress(services, job, job.phase, job.percentage, &note, job.parts_done).await?;
            }
            Ok(Outcome::Retry(message))
        }
        JobError::OutOfTime { done, total } => {
            let note = format!("{done} of {total} parts done; continuing");
            jobs::progress(services, job, job.phase, job.percentage, &note, done as u32).await?;
            Ok(Outcome::Continue)
        }
    }
}

/// Settles a job whose output is written: the charge for its units, its usage logs (the charge
/// spread over its calls), its exactly-once writes.
async fn settle(services: &Services, job: &Job, settlement: Settlement) -> Result<bool, ApiError> {
    let Settlement { result, once, operation, units, calls } = settlement;
    let charged = services.config.credit_costs.cost(operation, units).clamp(0, job.reserved);
    let now = time::OffsetDateTime::now_utc();
    let n = calls.len().max(1) as i64;
    let logs = calls
        .iter()
        .enumerate()
        .map(|(i, call)| {
            UsageLog {
                id: call.id.clone(),
                account_id: job.account_id.clone(),
                job_id: Some(job.id.clone()),
                operation_type: operation.as_str().to_owned(),
                credits_used: charged / n + i64::from((i as i64) < charged % n),
                tokens_input: call.input_tokens,
                tokens_output: call.output_tokens,
                model_used: call.model.clone(),
                cost_usd: call.cost_usd,
                duration_ms: call.duration_ms,
                created_at: now,
            }
            .item()
        })
        .collect::<Result<Vec<Item>, _>>()?;
    jobs::complete(services, job, charged, result, once, logs).await
}

/// One SQS batch: the messages run concurrently until `deadline`; the answer names the ones to
/// deliver again (`ReportBatchItemFailures`), each made visible again after its backoff.
pub async fn handle_batch(
    services: &Services,
    registry: &Registry,
    event: aws_lambda_events::event::sqs::SqsEvent,
    deadline: Option<std::time::Instant>,
) -> aws_lambda_events::event::sqs::SqsBatchResponse {
    use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse};
    let batch = Batch::new();
    let results =
        futures_util::future::join_all(event.records.iter().map(|m| one(services, registry, &batch, m, deadline)))
            .await;
    let mut response = SqsBatchResponse::default();
    for (message, result) in event.records.iter().zip(results) {
        if let Err(reason) = result {
            tracing::warn!(message_id = ?message.message_id, reason = %reason, "job message will be delivered again");
            queue::retry_later(services, message).await;
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message.message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// One message of a batch: done (`Ok`), or why it is to be delivered again.
async fn one(
    services: &Services,
    registry: &Registry,
    batch: &Batch,
    message: &aws_lambda_events::event::sqs::SqsMessage,
    deadline: Option<std::time::Instant>,
) -> Result<(), String> {
    let config = &services.config;
    let receives = queue::receives(message);
    // A message that is not a job cannot get better: let it reach the DLQ for a person.
    let job: JobMessage = serde_json::from_str(message.body.as_deref().unwrap_or_default())
        .map_err(|_| "unreadable message".to_owned())?;
    let delivery = Delivery {
        receive_count: receives,
        max_receives: config.job_max_receives,
        retry: config.provider_retry,
        deadline,
    };
    let (outcome, requests) = crate::store::counting(handle(services, registry, batch, &job, delivery)).await;
    tracing::info!(job_id = %job.job_id, receives, dynamodb_requests = requests, "job message handled");
    match outcome {
        Ok(Outcome::Done) => Ok(()),
        // Sent again as a new message; if that fails, this one comes back instead.
        Ok(Outcome::Continue) => queue::continue_in_new_message(services, message).await,
        Ok(Outcome::Retry(reason)) => Err(reason),
        Err(err) => Err(err.to_string()),
    }
}
