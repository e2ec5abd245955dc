//! The automation worker: each message advances one run by one step ([`super::runs`]).
//!
//! A stage starts (its items queued as AI jobs, or made into tasks at once), then waits: the
//! message comes back every `AUTOMATION_POLL_SECONDS` until its jobs have settled, and the run
//! moves to the next stage. A pause asked for takes effect at that boundary; a stage that cannot
//! reserve its credits pauses the run (`insufficient_credits`, nothing reserved beyond the
//! balance); a stage that would pass the run's credit ceiling ends it (`credit_ceiling`).
//!
//! A message names the step it advances; the run's write is conditioned on that step, so a
//! duplicate does nothing. A message delivered again after its step was taken (the worker died
//! before the next message was sent) sends that next message.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use time::OffsetDateTime;

use super::runs::{self, Advance, Run, RunEvent, event};
use super::stages;
use crate::accounts::{Account, rfc3339};
use crate::store::Key;
use crate::{ApiError, Services, jobs};

/// Handles a batch of automation messages, each on its own: a failed one comes back later.
pub async fn handle_batch(services: &Services, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for message in &event.records {
        if let Err(err) = handle(services, message).await {
            tracing::warn!(message_id = ?message.message_id, error = %err, "automation message will be delivered again");
            crate::queue::retry_later(services, message).await;
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message.message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    response
}

async fn handle(services: &Services, message: &SqsMessage) -> Result<(), ApiError> {
    let Ok(advance) = serde_json::from_str::<Advance>(message.body.as_deref().unwrap_or_default()) else {
        tracing::error!(message_id = ?message.message_id, "unreadable automation message dropped");
        return Ok(());
    };
    let Some(run) = runs::load(services, &advance.account_id, &advance.run_id).await? else {
        return Ok(());
    };
    if run.step != advance.step {
        // Taken by this message's earlier delivery, whose next message may be lost with it.
        if run.step == advance.step + 1 && crate::queue::receives(message) > 1 && run.status == "running" {
            runs::send(services, &run, 0).await?;
        }
        return Ok(());
    }
    if run.status != "queued" && run.status != "running" {
        return Ok(());
    }
    step(services, run).await
}

fn now() -> String {
    rfc3339(OffsetDateTime::now_utc())
}

/// Takes the run's next step.
pub async fn step(services: &Services, run: Run) -> Result<(), ApiError> {
    let account: Option<Account> = services.store().await.get(&Key::account(&run.account_id)).await?;
    let Some(account) = account else { return Ok(()) };
    let mut after = run.clone();
    after.step += 1;
    after.updated_at = OffsetDateTime::now_utc();
    after.status = "running".into();
    let mut events: Vec<RunEvent> = Vec::new();
    let stage_name = run.stages.get(run.stage_index).map(|s| s.name.clone());
    let stage = stage_name.as_deref();

    if !account.module_enabled(super::MODULE_SWITCH) {
        pause(&mut after, "module_disabled", &mut events, stage);
        return finish(services, &run, &after, &events, None).await;
    }
    let Some(current) = run.stages.get(run.stage_index) else {
        after.status = "completed".into();
        after.finished_at = Some(OffsetDateTime::now_utc());
        events.push(event("completed", None, 0, after.committed(), "Every stage is done"));
        return finish(services, &run, &after, &events, None).await;
    };
    match current.status.as_str() {
        "running" => {
            let found = futures_util::future::try_join_all(
                current.jobs.iter().map(|id| jobs::load(services, &run.account_id, id)),
            )
            .await?;
            if found.iter().flatten().any(|job| !job.settled) {
                // Not yet: the same step comes back later.
                runs::send(services, &run, services.config.automation_poll.as_secs()).await?;
                return Ok(());
            }
            let done = &mut after.stages[run.stage_index];
            done.status = "done".into();
            done.finished_at = Some(now());
            done.credits_charged = found.iter().flatten().map(|j| j.charged).sum();
            done.credits_reserved = 0;
            done.failed_jobs = found.iter().flatten().filter(|j| j.state == jobs::JobState::Failure).count() as u32;
            for job in found.iter().flatten().filter(|j| j.state == jobs::JobState::Failure) {
                let why = job.error.clone().unwrap_or_else(|| "failed".into());
                events.push(event("job_failed", stage, 0, 0, format!("Job {}: {why}", job.id)));
            }
            let (items, charged) = (done.items, done.credits_charged);
            events.push(event("stage_finished", stage, items, charged, format!("{} done", current.title)));
            after.stage_index += 1;
            if after.pause_requested {
                let why = after.reason.clone().unwrap_or_else(|| "paused".into());
                pause(&mut after, &why, &mut events, stage);
            }
            finish(services, &run, &after, &events, Some(0)).await
        }
        _ => {
            if after.pause_requested {
                let why = after.reason.clone().unwrap_or_else(|| "paused".into());
                pause(&mut after, &why, &mut events, stage);
                return finish(services, &run, &after, &events, None).await;
            }
            if !current.enabled {
                after.stages[run.stage_index].status = "skipped".into();
                after.stage_index += 1;
                events.push(event("stage_skipped", stage, 0, 0, format!("{}: switched off", current.title)));
                return finish(services, &run, &after, &events, Some(0)).await;
            }
            let started = stages::start(services, &run, &account, run.stage_index).await?;
            let next = &mut after.stages[run.stage_index];
            next.started_at = Some(now());
            next.items = started.items;
            match (started.jobs.is_empty(), started.blocked) {
                (true, Some("insufficient_credits")) => {
                    next.started_at = None;
                    pause(&mut after, "insufficient_credits", &mut events, stage);
                    return finish(services, &run, &after, &events, None).await;
                }
                (true, Some(why)) => {
                    next.status = "skipped".into();
                    after.status = "completed".into();
                    after.reason = Some(why.to_owned());
                    after.finished_at = Some(OffsetDateTime::now_utc());
                    let note = "The run's credit ceiling leaves no room for this stage";
                    events.push(event("completed", stage, 0, after.committed(), note));
                    return finish(services, &run, &after, &events, None).await;
                }
                (true, None) if started.items > 0 => {
                    // Done at once (ideas made into tasks, content queued for publishing).
                    next.status = "done".into();
                    next.finished_at = Some(now());
                    events.push(event("stage_finished", stage, started.items, 0, format!("{} done", current.title)));
                    after.stage_index += 1;
                    return finish(services, &run, &after, &events, Some(0)).await;
                }
                (true, None) => {
                    next.status = "skipped".into();
                    after.stage_index += 1;
                    events.push(event("stage_skipped", stage, 0, 0, format!("{}: nothing waiting", current.title)));
                    return finish(services, &run, &after, &events, Some(0)).await;
                }
                (false, blocked) => {
                    next.status = "running".into();
                    next.jobs = started.jobs.iter().map(|j| j.id.clone()).collect();
                    next.credits_reserved = started.jobs.iter().map(|j| j.reserved).sum();
                    let reserved = next.credits_reserved;
                    let note = format!("{}: {} items in {} jobs", current.title, started.items, started.jobs.len());
                    events.push(event("stage_started", stage, started.items, reserved, note));
                    if let Some(why) = blocked {
                        // What it could queue runs; then the run stops for this reason.
                        after.pause_requested = why == "insufficient_credits";
                        after.reason = Some(why.to_owned());
                    }
                    let poll = services.config.automation_poll.as_secs();
                    finish(services, &run, &after, &events, Some(poll)).await
                }
            }
        }
    }
}

fn pause(after: &mut Run, why: &str, events: &mut Vec<RunEvent>, stage: Option<&str>) {
    after.status = "paused".into();
    after.pause_requested = false;
    after.reason = Some(why.to_owned());
    events.push(event("paused", stage, 0, 0, format!("Paused: {why}")));
}

/// Commits the step; sends the next message (after `delay` seconds) while the run goes on.
async fn finish(
    services: &Services,
    before: &Run,
    after: &Run,
    events: &[RunEvent],
    delay: Option<u64>,
) -> Result<(), ApiError> {
    if !runs::commit(services, before, after, events).await? {
        return Ok(()); // another delivery took this step
    }
    if after.status == "running"
        && let Some(delay) = delay
    {
        runs::send(services, after, delay).await?;
    }
    if !after.is_active() {
        tracing::info!(run_id = %after.id, status = %after.status, reason = ?after.reason, "automation run ended");
    }
    Ok(())
}
