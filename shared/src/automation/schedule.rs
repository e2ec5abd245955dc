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
//! The zones are the IANA database of the build machine, embedded (see `shared/build.rs`).

use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use super::config::{AutomationConfig, Schedule};
use super::runs;
use crate::store::{Change, Condition, Query, StoreError, keys, n, s};
use crate::{ApiError, Services};

mod zones {
    include!(concat!(env!("OUT_DIR"), "/zones.rs"));
}

/// The GSI2 partition of the configs that are due some day.
pub const DUE_PARTITION: &str = "AUTODUE";

/// A time zone by its IANA name (`UTC`, `Europe/Paris`).
pub fn zone(name: &str) -> Option<TimeZone> {
    if name == "UTC" {
        return Some(TimeZone::UTC);
    }
    let found = zones::ZONES.binary_search_by(|(zone, _)| (*zone).cmp(name)).ok()?;
    TimeZone::tzif(name, zones::ZONES[found].1).ok()
}

/// The first slot of `schedule` strictly after `after` (epoch seconds), or `None` when its zone
/// or time does not read.
pub fn next_slot(schedule: &Schedule, after: i64) -> Option<i64> {
    let tz = zone(&schedule.timezone)?;
    let (hour, minute) = schedule.time.split_once(':')?;
    let at = Time::new(hour.parse().ok()?, minute.parse().ok()?, 0, 0).ok()?;
    let now = Timestamp::from_second(after).ok()?.to_zoned(tz.clone());
    let mut day = now.date();
    for _ in 0..15 {
        let weekday_fits = schedule.frequency != "weekly"
            || i64::from(day.weekday().to_monday_zero_offset()) == i64::from(schedule.weekday);
        if weekday_fits {
            // A local time that a clock change skips runs at the first instant after it.
            let slot = day.to_datetime(at).to_zoned(tz.clone()).ok()?.timestamp().as_second();
            if slot > after {
                return Some(slot);
            }
        }
        day = day.checked_add(1.day()).ok()?;
    }
    None
}

/// The GSI2 keys of a config due at `slot`.
pub fn due_keys(config: &AutomationConfig, slot: i64) -> (String, String) {
    (DUE_PARTITION.to_owned(), format!("{slot:012}#{}#{}", config.account_id, config.site_id))
}

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
    if !account.is_some_and(|a| a.module_enabled(super::routes::MODULE_SWITCH)) {
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
    let (_, sk) = due_keys(config, next);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> i64 {
        text.parse::<Timestamp>().map(|t| t.as_second()).unwrap_or_default()
    }

    fn schedule(frequency: &str, time: &str, weekday: u8, timezone: &str) -> Schedule {
        Schedule { frequency: frequency.into(), time: time.into(), weekday, timezone: timezone.into() }
    }

    #[test]
    fn slots_are_local_times_of_the_zone_across_clock_changes() {
        let daily = schedule("daily", "09:00", 0, "Europe/Paris");
        // Winter: 09:00 in Paris is 08:00 UTC; the same day when before it, the next day after.
        assert_eq!(next_slot(&daily, at("2026-12-06T07:00:00Z")), Some(at("2026-12-06T08:00:00Z")));
        assert_eq!(next_slot(&daily, at("2026-12-06T08:00:00Z")), Some(at("2026-12-07T08:00:00Z")));
        // Summer time: 07:00 UTC.
        assert_eq!(next_slot(&daily, at("2026-07-01T12:00:00Z")), Some(at("2026-07-02T07:00:00Z")));
        // Weekly on Wednesday (2) at 18:30 in New York, from a Sunday.
        let weekly = schedule("weekly", "18:30", 2, "America/New_York");
        assert_eq!(next_slot(&weekly, at("2026-12-06T12:00:00Z")), Some(at("2026-12-09T23:30:00Z")));
        assert_eq!(
            next_slot(&schedule("daily", "00:15", 0, "UTC"), at("2026-12-06T00:15:00Z")),
            Some(at("2026-12-07T00:15:00Z"))
        );
        assert!(zone("Mars/Olympus_Mons").is_none());
        assert!(zone("Asia/Kolkata").is_some());
    }
}
