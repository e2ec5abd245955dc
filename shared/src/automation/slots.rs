//! A schedule's slots: the instants its local time falls on, in its IANA time zone. The zones
//! are the IANA database of the build machine, embedded (see `shared/build.rs`): the Lambda
//! runtime ships none.

use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use serde::{Deserialize, Serialize};

/// When the schedule runs a site's automation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Schedule {
    /// `daily` or `weekly`.
    pub frequency: String,
    /// `HH:MM`, in `timezone`.
    pub time: String,
    /// For `weekly`: 0 (Monday) to 6 (Sunday).
    pub weekday: u8,
    /// An IANA time zone (`Europe/Paris`, `UTC`).
    pub timezone: String,
}

impl Default for Schedule {
    fn default() -> Self {
        Self { frequency: "daily".into(), time: "09:00".into(), weekday: 0, timezone: "UTC".into() }
    }
}

mod zones {
    include!(concat!(env!("OUT_DIR"), "/zones.rs"));
}

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
            // A local time a spring-forward gap skips runs as late as the gap (02:30 becomes 03:30),
            // an ambiguous one at its first occurrence: jiff's compatible disambiguation.
            let slot = day.to_datetime(at).to_zoned(tz.clone()).ok()?.timestamp().as_second();
            if slot > after {
                return Some(slot);
            }
        }
        day = day.checked_add(1.day()).ok()?;
    }
    None
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
        // 02:30 does not exist in Paris on 2027-03-28 (clocks go from 02:00 to 03:00): 03:30 CEST.
        let gap = schedule("daily", "02:30", 0, "Europe/Paris");
        assert_eq!(next_slot(&gap, at("2027-03-27T12:00:00Z")), Some(at("2027-03-28T01:30:00Z")));
        assert!(zone("Mars/Olympus_Mons").is_none());
        assert!(zone("Asia/Kolkata").is_some());
    }
}
