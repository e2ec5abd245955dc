//! The schedule: a site whose automation is enabled runs daily or weekly at a local time of its
//! time zone. Its config carries the next slot (`next_due_at`, epoch seconds) in GSI2
//! (`AUTODUE` / `<slot>#<account>#<site>`); an EventBridge rule every 15 minutes runs
//! [`run_due`], which finds the configs due through that index (no Scan) and starts their runs.
//!
//! A slot starts at most one run, however often it is handled: the run's id is made from the
//! account, the site and the slot, and the run is written only if no run has that id (with the
//! site's lock, as `run_now/` writes it). The next slot is then written over the one handled
//! (`next_due_at = :slot`), whatever happened to the run: one already active, or credits short.
//!
//! The slots are computed by [`super::slots`].

use super::config::{AutomationConfig, DUE_PARTITION};
use super::runs;
use super::slots::next_slot;
use crate::store::{Change, Condition, Query, StoreError, keys, n, s};
use crate::{ApiError, Services};

/// The id of the run of one slot of a site.
fn slot_run_id(config: &AutomationConfig, slot: i64) -> String {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x2f4c_8e1a_93b7_4d60_a2c5_7b19_e0d4_f302);
    let name = format!("{}/{}/{slot}", config.account_id, config.site_id);
    uuid::Uuid::new_v5(&NAMESPACE, name.as_bytes()).to_string()
}

/// What one pass of the scheduler did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Configs due.
    pub due: usize,
    /// Runs started.
    pub started: usize,
}

/// Starts the runs of the configs due at `now` (epoch seconds) and moves each to its next slot.
pub async fn run_due(services: &Services, now: i64) -> Result<Pass, ApiError> {
    let query = Query::index(keys::GSI2, DUE_PARTITION).sk_between("0", format!("{now:012}#~"));
    let items = services.store().await.query_all(query).await?;
    let mut pass = Pass::default();
    for item in items {
        let config: AutomationConfig = crate::store::decode(item)?;
        let (Some(slot), true) = (config.next_due_at, config.enabled) else { continue };
        pass.due += 1;
        if start_slot(services, &config, slot).await? {
            pass.started += 1;
        }
        advance(services, &config, slot, now).await?;
    }
    Ok(pass)
}

/// Starts the run of `slot` (`false` when it ran already, or the site has one active).
async fn start_slot(services: &Services, config: &AutomationConfig, slot: i64) -> Result<bool, ApiError> {
    let user = config.scheduled_by.clone().unwrap_or_default();
    let account: Option<crate::accounts::Account> =
        services.store().await.get(&crate::store::Key::account(&config.account_id)).await?;
    if !account.is_some_and(|a| a.module_enabled(super::MODULE_SWITCH)) {
        return Ok(false);
    }
    let started = runs::start(services, config, &user, "schedule", slot_run_id(config, slot)).await?;
    if started.is_none() {
        tracing::info!(site_id = %config.site_id, slot, "a scheduled slot found its run made already, or one active");
    }
    Ok(started.is_some())
}

/// Moves the config from `slot` to its next slot after `now`, unless another pass did.
async fn advance(services: &Services, config: &AutomationConfig, slot: i64, now: i64) -> Result<(), ApiError> {
    let Some(next) = next_slot(&config.schedule, now.max(slot)) else { return Ok(()) };
    let (_, sk) = config.due_keys(next);
    let change = Change::new(
        AutomationConfig::key(&config.account_id, &config.site_id),
        "SET next_due_at = :next, GSI2SK = :sk",
    )
    .value(":next", n(next))
    .value(":sk", s(sk))
    .condition(Condition::new("next_due_at = :slot").value(":slot", n(slot)));
    match services.store().await.update(change).await {
        Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(err) => Err(err.into()),
    }
}
