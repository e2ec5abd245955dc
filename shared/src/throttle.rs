//! Rate limiting by scope, per user (per client IP when anonymous), counted atomically in
//! DynamoDB with expiring items: one fixed window per scope and caller, taken by each container
//! in leases of several requests ([`Leases`]) so that most requests write nothing.
//!
//! The rates are configuration: [`DEFAULT_RATES`] holds the original API's scopes, and
//! `THROTTLE_RATES` (e.g. `auth=20/min,planner_ai=5/min,auth_strict=3/10s`) overrides any of them.

use std::collections::HashMap;

use http::{HeaderName, HeaderValue};
use time::OffsetDateTime;

use crate::store::{Change, Key, Store, n};
use crate::{ApiError, accounts::Role};

/// The original API's scopes and rates.
pub const DEFAULT_RATES: &[(&str, &str)] = &[
    ("ai_function", "10/min"),
    ("image_gen", "15/min"),
    ("content_write", "30/min"),
    ("content_read", "100/min"),
    ("auth", "20/min"),
    ("auth_strict", "5/min"),
    ("planner", "60/min"),
    ("planner_ai", "10/min"),
    ("writer", "60/min"),
    ("writer_ai", "10/min"),
    ("system", "100/min"),
    ("system_admin", "30/min"),
    ("billing", "30/min"),
    ("billing_admin", "10/min"),
    // Not in the original (it had no integration routes): calls that reach customers' sites.
    ("integration", "30/min"),
    // Not in the original either: the WordPress plugin's calls, counted per API key (a bulk edit
    // in WordPress sends a webhook per post).
    ("plugin", "120/min"),
    // The seeds name an automation scope without a rate: reads poll a run's progress.
    ("automation", "60/min"),
    ("default", "100/min"),
];

/// A throttle scope as a type, so that a handler's extractor names the scope it counts against
/// (`Caller<scopes::Planner>`).
pub trait Scope: Send + Sync + 'static {
    const NAME: &'static str;
}

macro_rules! scope_types {
    ($($ty:ident = $name:literal),* $(,)?) => {
        /// One type per scope of [`DEFAULT_RATES`].
        pub mod scopes {
            $(
                #[doc = concat!("The `", $name, "` scope.")]
                #[derive(Debug)]
                pub struct $ty;
                impl super::Scope for $ty {
                    const NAME: &'static str = $name;
                }
            )*
            /// Every scope type's name, to check against [`super::DEFAULT_RATES`].
            pub const NAMES: &[&str] = &[$($name),*];
        }
    };
}

scope_types!(
    AiFunction = "ai_function",
    ImageGen = "image_gen",
    ContentWrite = "content_write",
    ContentRead = "content_read",
    Auth = "auth",
    AuthStrict = "auth_strict",
    Planner = "planner",
    PlannerAi = "planner_ai",
    Writer = "writer",
    WriterAi = "writer_ai",
    System = "system",
    SystemAdmin = "system_admin",
    Billing = "billing",
    BillingAdmin = "billing_admin",
    Integration = "integration",
    Plugin = "plugin",
    Automation = "automation",
    Default = "default",
);

/// Roles never throttled: the platform's own operators and automation.
pub const BYPASS_ROLES: &[Role] = &[Role::Developer, Role::SystemBot];

/// `limit` requests per `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub limit: u32,
    pub window_secs: u64,
}

impl Rate {
    /// Parses `N/unit` or `N/<k><unit>`, unit one of `s`, `sec`, `min`, `m`, `hour`, `h`, `day`, `d`.
    pub fn parse(text: &str) -> Option<Self> {
        let (limit, period) = text.trim().split_once('/')?;
        let limit: u32 = limit.trim().parse().ok()?;
        let period = period.trim();
        let digits: String = period.chars().take_while(char::is_ascii_digit).collect();
        let multiplier: u64 = if digits.is_empty() { 1 } else { digits.parse().ok()? };
        let unit = match &period[digits.len()..] {
            "s" | "sec" | "second" => 1,
            "m" | "min" | "minute" => 60,
            "h" | "hour" => 3600,
            "d" | "day" => 86_400,
            _ => return None,
        };
        (limit > 0 && multiplier > 0).then_some(Self { limit, window_secs: unit * multiplier })
    }
}

/// The rate of every scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rates(HashMap<String, Rate>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid THROTTLE_RATES entry {0:?} (expected scope=N/unit)")]
pub struct RatesError(String);

impl Rates {
    /// The defaults, overridden by `overrides` (`scope=rate,...`; `*=rate` sets every scope, and
    /// entries after it still override theirs).
    pub fn from_config(overrides: Option<&str>) -> Result<Self, RatesError> {
        let mut rates: HashMap<String, Rate> = DEFAULT_RATES
            .iter()
            .filter_map(|(scope, rate)| Rate::parse(rate).map(|r| ((*scope).to_owned(), r)))
            .collect();
        for entry in overrides.unwrap_or_default().split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (scope, rate) = entry.split_once('=').ok_or_else(|| RatesError(entry.to_owned()))?;
            let rate = Rate::parse(rate).ok_or_else(|| RatesError(entry.to_owned()))?;
            match scope.trim() {
                "*" => rates.values_mut().for_each(|r| *r = rate),
                scope => {
                    rates.insert(scope.to_owned(), rate);
                }
            }
        }
        Ok(Self(rates))
    }

    /// The rate of `scope`, falling back to `default`.
    pub fn get(&self, scope: &str) -> Rate {
        self.0.get(scope).or_else(|| self.0.get("default")).copied().unwrap_or(Rate { limit: 100, window_secs: 60 })
    }
}

/// Where a caller stands in the current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub limit: u32,
    pub remaining: u32,
    /// Epoch seconds when the window ends.
    pub reset: i64,
    pub exceeded: bool,
}

impl Status {
    /// The `X-Throttle-*` headers.
    pub fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        [
            ("x-throttle-limit", self.limit as i64),
            ("x-throttle-remaining", self.remaining as i64),
            ("x-throttle-reset", self.reset),
        ]
        .into_iter()
        .filter_map(|(name, value)| {
            Some((HeaderName::from_static(name), HeaderValue::from_str(&value.to_string()).ok()?))
        })
        .collect()
    }
}

/// Tokens of the current window that this container has already counted in DynamoDB and may
/// spend without writing: one `ADD` takes a lease of a tenth of what the container has counted
/// in the window (one token at first), at most a tenth of the limit, fewer as the window fills.
/// A caller is never served over its limit; tokens leased by a container that then sees no more
/// requests are lost for the window, at most a tenth of what each container served, so the
/// limit holds within 10 % however many containers a caller's requests reach. A busy container
/// writes about once per ten requests.
#[derive(Debug, Default)]
pub struct Leases(std::sync::Mutex<HashMap<String, Lease>>);

#[derive(Debug, Clone, Copy)]
struct Lease {
    window_start: i64,
    /// Tokens leased and not spent yet.
    left: u32,
    /// The window's hits as far as this container knows: all leased before, plus what it spent.
    spent: u64,
    /// The requests this container counted in the window.
    mine: u64,
}

/// Beyond this many callers a container forgets the leases of past windows.
const LEASES_KEPT: usize = 10_000;

impl Leases {
    /// Spends a leased token of `key`'s window, if this container holds one; `Some(true)` when the
    /// window is known to be over its limit (no write can lease more).
    fn spend(&self, key: &str, window_start: i64, limit: u32) -> Option<(bool, u64)> {
        let mut leases = self.0.lock().ok()?;
        let lease = leases.get_mut(key).filter(|l| l.window_start == window_start)?;
        if lease.left > 0 {
            lease.left -= 1;
            lease.spent += 1;
            lease.mine += 1;
            Some((false, lease.spent))
        } else if lease.spent >= u64::from(limit) {
            Some((true, lease.spent))
        } else {
            None
        }
    }

    /// How many tokens the next write should lease: a tenth of what this container has counted
    /// in the window (so the tokens a container leases and never spends are at most a tenth of
    /// what it served, however many containers a caller's requests reach), at most a tenth of
    /// the limit and half of what is left of it, at least one.
    fn size(&self, key: &str, window_start: i64, limit: u32) -> u32 {
        let (known, mine) = self.known(key, window_start);
        let left = u64::from(limit).saturating_sub(known);
        ((mine / 10) as u32).min(limit / 10).min((left / 2) as u32).max(1)
    }

    /// (the window's hits as far as this container knows, the requests it counted in it).
    fn known(&self, key: &str, window_start: i64) -> (u64, u64) {
        self.0
            .lock()
            .ok()
            .and_then(|l| l.get(key).filter(|l| l.window_start == window_start).map(|l| (l.spent, l.mine)))
            .unwrap_or((0, 0))
    }

    fn record(&self, key: &str, lease: Lease) {
        if let Ok(mut leases) = self.0.lock() {
            if leases.len() >= LEASES_KEPT {
                leases.retain(|_, l| l.window_start >= lease.window_start);
            }
            leases.insert(key.to_owned(), lease);
        }
    }
}

/// Counts one request of `identity` in `scope` and says whether it is over the limit: from a
/// token this container has leased, else with one `ADD` of a new lease.
pub async fn hit(
    store: &Store,
    rates: &Rates,
    leases: &Leases,
    scope: &str,
    identity: &str,
    now: OffsetDateTime,
) -> Result<Status, ApiError> {
    let rate = rates.get(scope);
    let window = rate.window_secs as i64;
    let start = now.unix_timestamp().div_euclid(window) * window;
    let reset = start + window;
    let pk = format!("THROTTLE#{scope}#{identity}");
    let status = |spent: u64, exceeded: bool| Status {
        limit: rate.limit,
        remaining: u64::from(rate.limit).saturating_sub(spent).min(u64::from(u32::MAX)) as u32,
        reset,
        exceeded,
    };
    if let Some((exceeded, spent)) = leases.spend(&pk, start, rate.limit) {
        return Ok(status(spent, exceeded));
    }
    let size = leases.size(&pk, start, rate.limit);
    let key = Key::new(pk.clone(), format!("WINDOW#{start}"));
    let item = store
        .update(
            Change::new(key, "ADD hits :lease SET expires_at = :expires")
                .value(":lease", n(size))
                .value(":expires", n(reset + 60)),
        )
        .await?;
    let total: u64 = item.get("hits").and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).unwrap_or(u64::MAX);
    let before = total.saturating_sub(u64::from(size));
    let granted = u64::from(size).min(u64::from(rate.limit).saturating_sub(before));
    if granted == 0 {
        let (_, mine) = leases.known(&pk, start);
        leases.record(&pk, Lease { window_start: start, left: 0, spent: total.max(u64::from(rate.limit)), mine });
        return Ok(status(total, true));
    }
    let spent = before + 1;
    let (_, mine) = leases.known(&pk, start);
    leases.record(&pk, Lease { window_start: start, left: (granted - 1) as u32, spent, mine: mine + 1 });
    Ok(status(spent, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_star_sets_every_scope_and_later_entries_still_override() {
        let rates = Rates::from_config(Some("*=1000/min,auth=2/s")).expect("rates");
        for (scope, _) in DEFAULT_RATES.iter().filter(|(s, _)| *s != "auth") {
            assert_eq!(rates.get(scope), Rate { limit: 1000, window_secs: 60 }, "{scope}");
        }
        assert_eq!(rates.get("auth"), Rate { limit: 2, window_secs: 1 });
    }

    #[test]
    fn every_scope_type_has_a_default_rate() {
        let defaults: Vec<&str> = DEFAULT_RATES.iter().map(|(scope, _)| *scope).collect();
        assert_eq!(scopes::NAMES, defaults.as_slice());
    }

    #[test]
    fn rates_parse() {
        assert_eq!(Rate::parse("20/min"), Some(Rate { limit: 20, window_secs: 60 }));
        assert_eq!(Rate::parse("3/10s"), Some(Rate { limit: 3, window_secs: 10 }));
        assert_eq!(Rate::parse("1000/day"), Some(Rate { limit: 1000, window_secs: 86_400 }));
        assert_eq!(Rate::parse("0/min"), None);
        assert_eq!(Rate::parse("ten/min"), None);
        assert_eq!(Rate::parse("5/fortnight"), None);
    }

    #[test]
    fn defaults_and_overrides() {
        let rates = Rates::from_config(None).unwrap();
        assert_eq!(rates.get("auth_strict"), Rate { limit: 5, window_secs: 60 });
        assert_eq!(rates.get("planner_ai").limit, 10);
        assert_eq!(rates.get("no-such-scope").limit, 100);
        let rates = Rates::from_config(Some("auth=2/5s, planner=1/h")).unwrap();
        assert_eq!(rates.get("auth"), Rate { limit: 2, window_secs: 5 });
        assert_eq!(rates.get("planner"), Rate { limit: 1, window_secs: 3600 });
        assert_eq!(rates.get("writer").limit, 60);
        assert!(Rates::from_config(Some("auth")).is_err());
    }
}
