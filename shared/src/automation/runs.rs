//! Automation runs: a state machine stored in DynamoDB and advanced by messages on the
//! automation queue ([`super::worker`]).
//!
//! A run is `queued` → `running` → `paused` | `completed` | `cancelled` | `failed`. One run of a
//! site is active at a time: `run_now/` writes the run with the site's lock
//! (`AUTOACTIVE#<site>`, `attribute_not_exists`) in one transaction, so two at once make one run
//! and one 409; the lock goes when the run ends. Every change the worker makes is conditioned on
//! the run's `step` (`step = :seen`, then `step + 1`) and every message names the step it
//! advances, so a message delivered twice, or sent twice, advances the run once.
//!
//! Stored in the account's partition: `AUTORUN#<run id>` (ids are time-ordered: newest first is
//! a descending query), `AUTOACTIVE#<site>`, and the run's events `AUTOLOG#<run>#<step>#<n>`
//! (keys known before they are written, so that a replay writes the same events).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::config::{AutomationConfig, STAGE_TITLES, STAGES, StageSettings};
use crate::access::Caller;
use crate::accounts::rfc3339;
use crate::store::{Condition, Item, Key, Query, StoreError, Write, keys, n, s};
use crate::validation::Submitted;
use crate::validation::input::Id;
use crate::{ApiError, Services, ids, sites};

const RUN_PREFIX: &str = "AUTORUN#";
const LOG_PREFIX: &str = "AUTOLOG#";
pub const STATES: &[&str] = &["queued", "running", "paused", "completed", "cancelled", "failed"];
/// States of a run that holds its site's lock.
const ACTIVE: &[&str] = &["queued", "running", "paused"];

/// One stage of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StageRun {
    pub name: String,
    pub title: String,
    pub enabled: bool,
    pub batch_size: u32,
    /// `pending`, `running` (its jobs in flight), `done` or `skipped`.
    pub status: String,
    /// The items it took (keywords, clusters, ideas, tasks, contents, images).
    pub items: u64,
    /// The AI jobs it queued (their `task_id`s).
    pub jobs: Vec<String>,
    /// Credits its jobs reserved while in flight, then what they were charged.
    pub credits_reserved: i64,
    pub credits_charged: i64,
    pub failed_jobs: u32,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub id: String,
    pub account_id: String,
    pub site_id: String,
    /// Who started it (its jobs are theirs).
    pub user_id: String,
    /// `manual` or `schedule`.
    pub trigger: String,
    pub status: String,
    /// Why it paused or ended (`insufficient_credits`, `credit_ceiling`, `module_disabled`...).
    pub reason: Option<String>,
    /// Asked to pause at the next job boundary.
    pub pause_requested: bool,
    /// The transitions made so far: a message advances the run only from the step it names.
    pub step: u64,
    /// The stage in progress (the number of stages once done).
    pub stage_index: usize,
    pub stages: Vec<StageRun>,
    pub credit_ceiling: Option<i64>,
    pub author_profile_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A run as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunAnswer {
    pub id: String,
    pub site_id: String,
    pub trigger: String,
    /// `queued`, `running`, `paused`, `completed`, `cancelled` or `failed`.
    pub status: String,
    pub reason: Option<String>,
    pub pause_requested: bool,
    /// The stage in progress (`null` once every stage is done).
    pub current_stage: Option<String>,
    pub stages: Vec<StageRun>,
    /// Credits reserved by jobs in flight and charged by those ended, in all.
    pub credits_committed: i64,
    pub credits_charged: i64,
    pub credit_ceiling: Option<i64>,
    pub created_at: String,
    pub finished_at: Option<String>,
    pub updated_at: String,
}

/// A run's event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunEvent {
    /// `run_started`, `stage_started`, `stage_finished`, `stage_skipped`, `job_failed`,
    /// `paused`, `resumed`, `cancelled`, `completed`, `failed`.
    pub event: String,
    pub stage: Option<String>,
    pub items: u64,
    pub credits: i64,
    pub message: String,
    pub at: String,
}

impl Run {
    pub fn key(account_id: &str, run_id: &str) -> Key {
        Key::new(keys::account_pk(account_id), format!("{RUN_PREFIX}{run_id}"))
    }

    pub fn lock_key(account_id: &str, site_id: &str) -> Key {
        Key::new(keys::account_pk(account_id), format!("AUTOACTIVE#{site_id}"))
    }

    pub fn item(&self) -> Result<Item, StoreError> {
        Item::new(&Self::key(&self.account_id, &self.id), "AutomationRun", self)
    }

    pub fn is_active(&self) -> bool {
        ACTIVE.contains(&self.status.as_str())
    }

    pub fn committed(&self) -> i64 {
        self.stages.iter().map(|s| if s.status == "running" { s.credits_reserved } else { s.credits_charged }).sum()
    }

    pub fn answer(&self) -> RunAnswer {
        RunAnswer {
            id: self.id.clone(),
            site_id: self.site_id.clone(),
            trigger: self.trigger.clone(),
            status: self.status.clone(),
            reason: self.reason.clone(),
            pause_requested: self.pause_requested,
            current_stage: self.stages.get(self.stage_index).map(|s| s.name.clone()),
            stages: self.stages.clone(),
            credits_committed: self.committed(),
            credits_charged: self.stages.iter().map(|s| s.credits_charged).sum(),
            credit_ceiling: self.credit_ceiling,
            created_at: rfc3339(self.created_at),
            finished_at: self.finished_at.map(rfc3339),
            updated_at: rfc3339(self.updated_at),
        }
    }

    fn to_json(&self) -> Value {
        crate::http::answer(self.answer())
    }

    /// A new run of `config`'s site, its stages as the settings are now.
    pub fn new(config: &AutomationConfig, user_id: &str, trigger: &str, id: String) -> Self {
        let now = OffsetDateTime::now_utc();
        let stages = STAGES
            .iter()
            .zip(STAGE_TITLES)
            .map(|(name, title)| {
                let StageSettings { enabled, batch_size } = config.stage(name);
                StageRun {
                    name: (*name).to_owned(),
                    title: title.to_owned(),
                    enabled,
                    batch_size,
                    status: "pending".into(),
                    items: 0,
                    jobs: Vec::new(),
                    credits_reserved: 0,
                    credits_charged: 0,
                    failed_jobs: 0,
                    started_at: None,
                    finished_at: None,
                }
            })
            .collect();
        Self {
            id,
            account_id: config.account_id.clone(),
            site_id: config.site_id.clone(),
            user_id: user_id.to_owned(),
            trigger: trigger.to_owned(),
            status: "queued".into(),
            reason: None,
            pause_requested: false,
            step: 0,
            stage_index: 0,
            stages,
            credit_ceiling: config.credit_ceiling,
            author_profile_id: config.author_profile_id.clone(),
            created_at: now,
            finished_at: None,
            updated_at: now,
        }
    }
}

/// The message that advances a run from `step`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advance {
    pub account_id: String,
    pub run_id: String,
    pub step: u64,
}

/// Sends the message that advances `run` from its step, after `delay` seconds.
pub async fn send(services: &Services, run: &Run, delay: u64) -> Result<(), ApiError> {
    let url = services
        .config
        .automation_queue_url
        .as_deref()
        .ok_or_else(|| ApiError::internal("AUTOMATION_QUEUE_URL is not set"))?;
    let body =
        serde_json::to_string(&Advance { account_id: run.account_id.clone(), run_id: run.id.clone(), step: run.step })
            .map_err(ApiError::internal)?;
    services
        .sqs()
        .await
        .send_message()
        .queue_url(url)
        .message_body(body)
        .delay_seconds(delay.min(900) as i32)
        .send()
        .await
        .map_err(|e| ApiError::internal(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
    Ok(())
}

/// The write of `after` over `before` (its step taken: `step = :seen`), and, when it ends,
/// the site's lock released.
pub fn transition(before: &Run, after: &Run) -> Result<Vec<Write>, ApiError> {
    let condition = Condition::new("#step = :seen").name("#step", "step").value(":seen", n(before.step));
    let mut writes = vec![Write::Put(after.item()?, Some(condition))];
    if before.is_active() && !after.is_active() {
        let lock = Condition::new("run_id = :run").value(":run", s(&after.id));
        writes.push(Write::Delete(Run::lock_key(&after.account_id, &after.site_id), Some(lock)));
    }
    Ok(writes)
}

/// Writes a transition with `events`; `false` when another delivery took the step first.
pub async fn commit(services: &Services, before: &Run, after: &Run, events: &[RunEvent]) -> Result<bool, ApiError> {
    let mut writes = transition(before, after)?;
    for (i, event) in events.iter().enumerate() {
        let key = Key::new(
            keys::account_pk(&after.account_id),
            format!("{LOG_PREFIX}{}#{:08}#{i:02}", after.id, before.step),
        );
        writes.push(Write::Put(Item::new(&key, "AutomationEvent", event)?, None));
    }
    match services.store().await.transact(writes).await {
        Ok(()) => Ok(true),
        Err(StoreError::TransactionCancelled { failed }) if failed.contains(&0) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

pub fn event(name: &str, stage: Option<&str>, items: u64, credits: i64, message: impl Into<String>) -> RunEvent {
    RunEvent {
        event: name.to_owned(),
        stage: stage.map(str::to_owned),
        items,
        credits,
        message: message.into(),
        at: rfc3339(OffsetDateTime::now_utc()),
    }
}

pub async fn load(services: &Services, account_id: &str, run_id: &str) -> Result<Option<Run>, ApiError> {
    if !ids::is_valid_id(run_id) {
        return Ok(None);
    }
    Ok(services.store().await.get(&Run::key(account_id, run_id)).await?)
}

/// A run of a site the caller reads, else 404.
async fn visible(services: &Services, caller: &Caller, run_id: &str) -> Result<Run, ApiError> {
    let run = load(services, caller.account_id(), run_id).await?.ok_or_else(ApiError::not_found)?;
    if caller.can_read_site(&run.site_id) { Ok(run) } else { Err(ApiError::not_found()) }
}

crate::input! {
    /// The site a run is started for.
    pub struct RunRequest {
        site_id: required String = Id,
    }
}

crate::input! {
    /// The run an action is for.
    pub struct RunAction {
        run_id: required String = Id,
    }
}

/// `run_now/`: starts a run of the site now (409 while one is active).
pub async fn run_now(services: &Services, caller: &Caller, body: Submitted<RunRequest>) -> Result<Value, ApiError> {
    let RunRequest { site_id } = body.read()?;
    let site = sites::visible_site(services, caller, &site_id).await?;
    caller.require_site_write(&site.id)?;
    let config = super::config::load(services, caller.account_id(), &site.id).await?;
    let run = start(services, &config, &caller.user.id, "manual", ids::new_id()).await?;
    run.ok_or_else(|| ApiError::Conflict("A run of this site is active: pause, resume or cancel it.".into()))
        .map(|run| run.to_json())
}

/// Starts a run (`None` when the site has one active): the run and the site's lock in one
/// transaction, then its first message.
pub async fn start(
    services: &Services,
    config: &AutomationConfig,
    user_id: &str,
    trigger: &str,
    id: String,
) -> Result<Option<Run>, ApiError> {
    let run = Run::new(config, user_id, trigger, id);
    let lock = Item::new(
        &Run::lock_key(&run.account_id, &run.site_id),
        "AutomationLock",
        &serde_json::json!({"run_id": run.id, "site_id": run.site_id}),
    )?;
    let writes =
        vec![Write::Put(lock, Some(Condition::not_exists())), Write::Put(run.item()?, Some(Condition::not_exists()))];
    match services.store().await.transact(writes).await {
        Ok(()) => {}
        Err(StoreError::TransactionCancelled { .. }) => return Ok(None),
        Err(err) => return Err(err.into()),
    }
    let started = event("run_started", None, 0, 0, format!("Started ({trigger})"));
    let key = Key::new(keys::account_pk(&run.account_id), format!("{LOG_PREFIX}{}#start", run.id));
    services.store().await.put(Item::new(&key, "AutomationEvent", &started)?, None).await?;
    send(services, &run, 0).await?;
    tracing::info!(run_id = %run.id, site_id = %run.site_id, trigger, "automation run started");
    Ok(Some(run))
}

async fn of_site(services: &Services, account_id: &str, site_id: &str) -> Result<Vec<Run>, ApiError> {
    let query = Query::partition(keys::account_pk(account_id)).sk_prefix(RUN_PREFIX).newest_first();
    let items = services.store().await.query_all(query).await?;
    let runs: Vec<Run> = items.into_iter().map(crate::store::decode).collect::<Result<_, _>>()?;
    Ok(runs.into_iter().filter(|r| r.site_id == site_id).collect())
}

/// The site's active run, through its lock.
pub async fn active(services: &Services, account_id: &str, site_id: &str) -> Result<Option<Run>, ApiError> {
    let lock = services.store().await.get_raw(&Run::lock_key(account_id, site_id)).await?;
    let run_id = lock.as_ref().and_then(|l| l.get("run_id")).and_then(|v| v.as_s().ok()).cloned();
    match run_id {
        Some(id) => Ok(load(services, account_id, &id).await?.filter(Run::is_active)),
        None => Ok(None),
    }
}

/// `current_run/`: the site's active run, or its last one; `null` before any.
pub async fn current(services: &Services, caller: &Caller, site_id: &str) -> Result<Value, ApiError> {
    let site = sites::visible_site(services, caller, site_id).await?;
    let runs = of_site(services, caller.account_id(), &site.id).await?;
    let run = runs.iter().find(|r| r.is_active()).or(runs.first());
    Ok(run.map_or(Value::Null, Run::to_json))
}

/// `history/`: the site's runs, newest first.
pub async fn history(services: &Services, caller: &Caller, site_id: &str) -> Result<Vec<Value>, ApiError> {
    let site = sites::visible_site(services, caller, site_id).await?;
    Ok(of_site(services, caller.account_id(), &site.id).await?.iter().map(Run::to_json).collect())
}

/// `logs/`: a run's events, in order.
pub async fn logs(services: &Services, caller: &Caller, run_id: &str) -> Result<Vec<Value>, ApiError> {
    let run = visible(services, caller, run_id).await?;
    let query = Query::partition(keys::account_pk(&run.account_id)).sk_prefix(format!("{LOG_PREFIX}{}#", run.id));
    let items = services.store().await.query_all(query).await?;
    let mut events: Vec<RunEvent> = items.into_iter().map(crate::store::decode).collect::<Result<_, _>>()?;
    // `#start` sorts after the step numbers: it comes first.
    events.sort_by_key(|e| e.event != "run_started");
    Ok(events.into_iter().map(crate::http::answer).collect())
}

/// A change of a run by its owner's action, conditioned on its status; the event logged.
async fn act(
    services: &Services,
    caller: &Caller,
    run_id: &str,
    allowed: &[&str],
    change: impl FnOnce(&mut Run),
    logged: &str,
) -> Result<Run, ApiError> {
    let before = visible(services, caller, run_id).await?;
    caller.require_site_write(&before.site_id)?;
    if !allowed.contains(&before.status.as_str()) {
        return Err(ApiError::Conflict(format!("The run is {}.", before.status)));
    }
    let mut after = before.clone();
    change(&mut after);
    after.step += 1;
    after.updated_at = OffsetDateTime::now_utc();
    let stage = after.stages.get(after.stage_index).map(|s| s.name.clone());
    let events = [event(logged, stage.as_deref(), 0, 0, format!("{logged} by a user"))];
    if !commit(services, &before, &after, &events).await? {
        return Err(ApiError::Conflict("The run changed meanwhile: try again.".into()));
    }
    Ok(after)
}

/// `pause/`: a running run pauses at its next job boundary (its jobs in flight finish).
pub async fn pause(services: &Services, caller: &Caller, body: Submitted<RunAction>) -> Result<Value, ApiError> {
    let RunAction { run_id } = body.read()?;
    let run =
        act(services, caller, &run_id, &["queued", "running"], |r| r.pause_requested = true, "pause_requested").await?;
    // The worker's next message pauses it; its message in flight names the step just taken.
    send(services, &run, 0).await?;
    Ok(run.to_json())
}

/// `resume/`: a paused run goes on where it stopped.
pub async fn resume(services: &Services, caller: &Caller, body: Submitted<RunAction>) -> Result<Value, ApiError> {
    let RunAction { run_id } = body.read()?;
    let run = act(
        services,
        caller,
        &run_id,
        &["paused"],
        |r| {
            r.status = "running".into();
            r.pause_requested = false;
            r.reason = None;
        },
        "resumed",
    )
    .await?;
    send(services, &run, 0).await?;
    Ok(run.to_json())
}

/// `cancel/`: the run stops; what it did stays (its jobs in flight finish).
pub async fn cancel(services: &Services, caller: &Caller, body: Submitted<RunAction>) -> Result<Value, ApiError> {
    let RunAction { run_id } = body.read()?;
    let run = act(
        services,
        caller,
        &run_id,
        ACTIVE,
        |r| {
            r.status = "cancelled".into();
            r.reason = Some("cancelled".into());
            r.finished_at = Some(OffsetDateTime::now_utc());
        },
        "cancelled",
    )
    .await?;
    Ok(run.to_json())
}
