//! A site's automation settings (`config/`, `update_config/`): whether its schedule runs, when,
//! which stages run and how many items each takes in one run, the most credits one run may
//! commit, and the author profile the tasks it makes are written in. Stored in the account's
//! partition, `AUTOCONFIG#<site>`; a site without one has the defaults.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::access::Caller;
use crate::accounts::rfc3339;
use crate::store::{Item, Key, keys};
use crate::validation::input::{Boolean, Custom, Id, Integer};

pub use super::slots::Schedule;
use crate::validation::{FieldErrors, Submitted};
use crate::{ApiError, Services, sites};

/// The stages of a run, in order.
pub const STAGES: [&str; 7] = ["clusters", "ideas", "tasks", "content", "image_prompts", "images", "publish"];
/// What each stage turns into what.
pub const STAGE_TITLES: [&str; 7] = [
    "Keywords to clusters",
    "Clusters to ideas",
    "Ideas to writer tasks",
    "Tasks to content",
    "Content to image prompts",
    "Image prompts to images",
    "Content to WordPress",
];
/// The default and the largest batch of each stage (items one run takes).
const BATCHES: [(u32, u32); 7] = [(200, 2000), (10, 100), (20, 200), (10, 100), (10, 100), (20, 200), (10, 50)];
/// Off until a site turns it on: content is left for review, never published unasked.
const OFF_BY_DEFAULT: &[&str] = &["publish"];
pub const FREQUENCIES: &[&str] = &["daily", "weekly"];

/// One stage's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StageSettings {
    pub enabled: bool,
    /// The most items the stage takes in one run (keywords, clusters, ideas, tasks, contents,
    /// images), across the site's sectors.
    pub batch_size: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutomationConfig {
    pub account_id: String,
    pub site_id: String,
    pub enabled: bool,
    pub schedule: Schedule,
    pub stages: BTreeMap<String, StageSettings>,
    /// The most credits one run may commit (reserved by its jobs, then charged); `None`: the
    /// balance is the only bound.
    pub credit_ceiling: Option<i64>,
    /// The author profile the tasks a run makes are written in.
    pub author_profile_id: Option<String>,
    /// The schedule's next slot (epoch seconds), while it is enabled; indexed in GSI2.
    #[serde(default)]
    pub next_due_at: Option<i64>,
    /// Who enabled the schedule: its runs' jobs are theirs.
    #[serde(default)]
    pub scheduled_by: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
}

/// A site's automation settings as the API answers them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConfigAnswer {
    pub site_id: String,
    pub enabled: bool,
    pub schedule: Schedule,
    /// By stage: `clusters`, `ideas`, `tasks`, `content`, `image_prompts`, `images`.
    pub stages: BTreeMap<String, StageSettings>,
    pub credit_ceiling: Option<i64>,
    pub author_profile_id: Option<String>,
    /// When the schedule runs next (`null` while it is off).
    pub next_run_at: Option<String>,
    pub updated_at: Option<String>,
}

impl AutomationConfig {
    /// A site's settings before anyone changed them: every stage on, the schedule off.
    pub fn defaults(account_id: &str, site_id: &str) -> Self {
        let stages = STAGES
            .iter()
            .zip(BATCHES)
            .map(|(name, (batch, _))| {
                ((*name).to_owned(), StageSettings { enabled: !OFF_BY_DEFAULT.contains(name), batch_size: batch })
            })
            .collect();
        Self {
            account_id: account_id.to_owned(),
            site_id: site_id.to_owned(),
            enabled: false,
            schedule: Schedule::default(),
            stages,
            credit_ceiling: None,
            author_profile_id: None,
            next_due_at: None,
            scheduled_by: None,
            updated_at: None,
        }
    }

    pub fn key(account_id: &str, site_id: &str) -> Key {
        Key::new(keys::account_pk(account_id), format!("AUTOCONFIG#{site_id}"))
    }

    /// The settings of one stage (its defaults when missing).
    pub fn stage(&self, name: &str) -> StageSettings {
        self.stages.get(name).copied().unwrap_or_else(|| {
            let batch = STAGES.iter().position(|s| *s == name).map_or(10, |i| BATCHES[i].0);
            StageSettings { enabled: !OFF_BY_DEFAULT.contains(&name), batch_size: batch }
        })
    }

    pub fn answer(&self) -> ConfigAnswer {
        ConfigAnswer {
            site_id: self.site_id.clone(),
            enabled: self.enabled,
            schedule: self.schedule.clone(),
            stages: STAGES.iter().map(|s| ((*s).to_owned(), self.stage(s))).collect(),
            credit_ceiling: self.credit_ceiling,
            author_profile_id: self.author_profile_id.clone(),
            next_run_at: self.next_due_at.and_then(|at| OffsetDateTime::from_unix_timestamp(at).ok()).map(rfc3339),
            updated_at: self.updated_at.map(rfc3339),
        }
    }
}

/// The GSI2 partition of the configs that are due some day (`AUTODUE` / `<slot>#<account>#<site>`).
pub const DUE_PARTITION: &str = "AUTODUE";

impl AutomationConfig {
    /// The GSI2 keys of the config due at `slot`.
    pub fn due_keys(&self, slot: i64) -> (String, String) {
        (DUE_PARTITION.to_owned(), format!("{slot:012}#{}#{}", self.account_id, self.site_id))
    }
}

/// A site's settings, or its defaults.
pub async fn load(services: &Services, account_id: &str, site_id: &str) -> Result<AutomationConfig, ApiError> {
    let found = services.store().await.get(&AutomationConfig::key(account_id, site_id)).await?;
    Ok(found.unwrap_or_else(|| AutomationConfig::defaults(account_id, site_id)))
}

fn schedule(value: &Value) -> Result<Value, String> {
    let object = value.as_object().ok_or("Expected an object: frequency, time, weekday, timezone.")?;
    for name in object.keys() {
        if !["frequency", "time", "weekday", "timezone"].contains(&name.as_str()) {
            return Err(format!("Unknown field \"{name}\"."));
        }
    }
    Ok(value.clone())
}

fn stages(value: &Value) -> Result<Value, String> {
    let object = value.as_object().ok_or("Expected an object of stages.")?;
    for (name, settings) in object {
        if !STAGES.contains(&name.as_str()) {
            return Err(format!("\"{name}\" is not a stage: {}.", STAGES.join(", ")));
        }
        let fields = settings.as_object().ok_or(format!("{name}: expected {{enabled, batch_size}}."))?;
        if fields.keys().any(|k| k != "enabled" && k != "batch_size") {
            return Err(format!("{name}: only enabled and batch_size."));
        }
    }
    Ok(value.clone())
}

fn object_schema() -> utoipa::openapi::schema::Schema {
    utoipa::openapi::schema::ObjectBuilder::new().into()
}

crate::input! {
    /// What `update_config/` changes (`PUT` and `PATCH` alike: what is sent).
    pub struct ConfigChange {
        /// The site (required).
        site_id: required String = Id,
        /// Whether the schedule runs the site's automation.
        enabled: optional bool = Boolean,
        /// `{frequency: daily|weekly, time: "HH:MM", weekday: 0-6, timezone}`: what is sent.
        schedule: optional Value = Custom(schedule, object_schema),
        /// By stage: `{enabled, batch_size}`, what is sent.
        stages: optional Value = Custom(stages, object_schema),
        /// The most credits one run may commit; `null` for none.
        credit_ceiling: nullable i64 = Integer(1, 10_000_000),
        /// An active author profile of the account; `null` for none.
        author_profile_id: nullable String = Id,
    }
}

fn is_time(text: &str) -> bool {
    let Some((h, m)) = text.split_once(':') else { return false };
    h.len() == 2 && m.len() == 2 && h.parse::<u8>().is_ok_and(|h| h < 24) && m.parse::<u8>().is_ok_and(|m| m < 60)
}

fn is_time_zone(zone: &str) -> bool {
    zone.len() <= 64 && super::slots::zone(zone).is_some()
}

fn apply_schedule(errors: &mut FieldErrors, schedule: &mut Schedule, sent: &Value) {
    if let Some(v) = sent.get("frequency") {
        match v.as_str() {
            Some(f) if FREQUENCIES.contains(&f) => schedule.frequency = f.to_owned(),
            _ => errors.add("schedule", "frequency: daily or weekly."),
        }
    }
    if let Some(v) = sent.get("time") {
        match v.as_str() {
            Some(t) if is_time(t) => schedule.time = t.to_owned(),
            _ => errors.add("schedule", "time: HH:MM, 00:00 to 23:59."),
        }
    }
    if let Some(v) = sent.get("weekday") {
        match v.as_u64() {
            Some(d) if d <= 6 => schedule.weekday = d as u8,
            _ => errors.add("schedule", "weekday: 0 (Monday) to 6 (Sunday)."),
        }
    }
    if let Some(v) = sent.get("timezone") {
        match v.as_str() {
            Some(z) if is_time_zone(z) => schedule.timezone = z.to_owned(),
            _ => errors.add("schedule", "timezone: a time zone name such as \"Europe/Paris\" or \"UTC\"."),
        }
    }
}

fn apply_stages(errors: &mut FieldErrors, config: &mut AutomationConfig, sent: &Value) {
    for (i, name) in STAGES.iter().enumerate() {
        let Some(fields) = sent.get(*name) else { continue };
        let mut stage = config.stage(name);
        if let Some(v) = fields.get("enabled") {
            match v.as_bool() {
                Some(on) => stage.enabled = on,
                None => errors.add("stages", format!("{name}.enabled: a boolean.")),
            }
        }
        if let Some(v) = fields.get("batch_size") {
            let most = BATCHES[i].1;
            match v.as_u64() {
                Some(n) if (1..=u64::from(most)).contains(&n) => stage.batch_size = n as u32,
                _ => errors.add("stages", format!("{name}.batch_size: 1 to {most}.")),
            }
        }
        config.stages.insert((*name).to_owned(), stage);
    }
}

/// A site's settings (the site must be one the caller reads).
pub async fn show(services: &Services, caller: &Caller, site_id: &str) -> Result<ConfigAnswer, ApiError> {
    let site = sites::visible_site(services, caller, site_id).await?;
    Ok(load(services, caller.account_id(), &site.id).await?.answer())
}

/// Changes a site's settings (those who may write the site).
pub async fn update(
    services: &Services,
    caller: &Caller,
    body: Submitted<ConfigChange>,
) -> Result<ConfigAnswer, ApiError> {
    let change = body.read()?;
    let site = sites::visible_site(services, caller, &change.site_id).await?;
    caller.require_site_write(&site.id)?;
    let mut config = load(services, caller.account_id(), &site.id).await?;
    let mut errors = FieldErrors::new();
    if let Some(on) = change.enabled {
        config.enabled = on;
    }
    if let Some(sent) = &change.schedule {
        apply_schedule(&mut errors, &mut config.schedule, sent);
    }
    if let Some(sent) = &change.stages {
        apply_stages(&mut errors, &mut config, sent);
    }
    if let Some(ceiling) = change.credit_ceiling {
        config.credit_ceiling = ceiling;
    }
    if let Some(profile) = change.author_profile_id {
        if let Some(id) = &profile
            && let Some(why) = crate::thinker::author_profiles::check_active(services, caller.account_id(), id).await?
        {
            errors.add("author_profile_id", why);
        }
        config.author_profile_id = profile;
    }
    errors.finish()?;
    let now = OffsetDateTime::now_utc();
    config.updated_at = Some(now);
    // The schedule's next slot from now (a change of schedule takes effect at once).
    config.next_due_at =
        if config.enabled { super::slots::next_slot(&config.schedule, now.unix_timestamp()) } else { None };
    if config.enabled {
        config.scheduled_by = Some(caller.user.id.clone());
    }
    let key = AutomationConfig::key(caller.account_id(), &site.id);
    let mut item = Item::new(&key, "AutomationConfig", &config)?;
    if let Some(slot) = config.next_due_at {
        item = item.gsi2(config.due_keys(slot));
    }
    services.store().await.put(item, None).await?;
    Ok(config.answer())
}
