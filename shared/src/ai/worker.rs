//! One job message, handled by the AI worker (and the image worker).

use super::functions::{self, JobError};
use super::provider::RetryPolicy;
use crate::jobs::{self, JobMessage};
use crate::{ApiError, Services};

/// What the queue should do with the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done with it (completed, failed for good, or nothing to do): delete it.
    Done,
    /// Deliver it again later; after the queue's last receive it goes to the DLQ.
    Retry(String),
}

/// Runs the job of `message` on its `receive_count`-th delivery (the queue gives up after
/// `max_receives`).
pub async fn handle(
    services: &Services,
    message: &JobMessage,
    receive_count: u32,
    max_receives: u32,
    retry: RetryPolicy,
) -> Result<Outcome, ApiError> {
    let Some(job) = jobs::load(services, &message.account_id, &message.job_id).await? else {
        tracing::warn!(job_id = %message.job_id, "message for an unknown job dropped");
        return Ok(Outcome::Done);
    };
    if job.settled {
        tracing::info!(job_id = %job.id, "job already settled: duplicate delivery ignored");
        return Ok(Outcome::Done);
    }
    let job = jobs::start_attempt(services, &job).await?;
    let output = match jobs::stored_output(services, &job).await? {
        Some(output) => output,
        None => {
            functions::before_run(services, &job).await?;
            match functions::run_model(services, &job, retry).await {
                Ok(output) => jobs::save_output(services, &job, output).await?,
                Err(JobError::Fatal { message, kind }) => {
                    jobs::fail(services, &job, &message, kind).await?;
                    functions::after_failure(services, &job).await?;
                    return Ok(Outcome::Done);
                }
                Err(JobError::Retry { message, kind }) => {
                    if receive_count >= max_receives {
                        jobs::fail(services, &job, &message, kind).await?;
                        functions::after_failure(services, &job).await?;
                    } else {
                        let note = format!("Attempt {receive_count} failed ({kind}); retrying");
                        jobs::progress(services, &job, job.phase, job.percentage, &note, job.parts_done).await?;
                    }
                    return Ok(Outcome::Retry(message));
                }
            }
        }
    };
    let settled = match functions::apply(services, &job, &output).await {
        Ok(applied) => jobs::complete(services, &job, applied.charged, applied.result, applied.once).await,
        Err(err) => Err(err),
    };
    match settled {
        Ok(true) => {}
        Ok(false) => tracing::info!(job_id = %job.id, "job settled meanwhile by another delivery"),
        // The writes are idempotent: another delivery replays them. On the last one the job must
        // not stay open with its credits reserved.
        Err(err) if receive_count >= max_receives => {
            jobs::fail(services, &job, "The results could not be saved.", "StoreError").await?;
            functions::after_failure(services, &job).await?;
            return Ok(Outcome::Retry(err.to_string()));
        }
        Err(err) => return Ok(Outcome::Retry(err.to_string())),
    }
    Ok(Outcome::Done)
}

/// One SQS batch: the messages run concurrently; the answer names the ones to deliver again
/// (`ReportBatchItemFailures`).
pub async fn handle_batch(
    services: &Services,
    event: aws_lambda_events::event::sqs::SqsEvent,
) -> aws_lambda_events::event::sqs::SqsBatchResponse {
    use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse};
    let config = &services.config;
    let one = |message: &aws_lambda_events::event::sqs::SqsMessage| {
        let body = message.body.clone().unwrap_or_default();
        let receives = message.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1);
        async move {
            // A message that is not a job cannot get better: let it reach the DLQ for a person.
            let job: JobMessage = serde_json::from_str(&body).map_err(|_| "unreadable message".to_owned())?;
            let handled = handle(services, &job, receives, config.job_max_receives, config.provider_retry);
            let (outcome, requests) = crate::store::counting(handled).await;
            tracing::info!(job_id = %job.job_id, receives, dynamodb_requests = requests, "job message handled");
            match outcome {
                Ok(Outcome::Done) => Ok(()),
                Ok(Outcome::Retry(reason)) => Err(reason),
                Err(err) => Err(err.to_string()),
            }
        }
    };
    let results = futures_util::future::join_all(event.records.iter().map(one)).await;
    let mut response = SqsBatchResponse::default();
    for (message, result) in event.records.iter().zip(results) {
        if let Err(reason) = result {
            tracing::warn!(message_id = ?message.message_id, reason = %reason, "job message will be delivered again");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message.message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    response
}
