//! `settings/modules/enable/`: the account's module switches. Every module is on unless the
//! account switched it off; a module switched off answers 403 "Module disabled" on every route of
//! it (the request pipeline checks [`crate::http::Module::switch`] against the account it already
//! read) and its queued jobs do not start (the AI worker and the publish worker check the job's
//! account). Switching it back on restores access: nothing of the module is deleted.
//!
//! Kept on the account's item as the string set `disabled_modules`, changed by `ADD` and `DELETE`
//! so that two changes at once never undo each other.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use time::OffsetDateTime;

use crate::access::Caller;
use crate::accounts::{Account, rfc3339};
use crate::store::{Change, Condition, Key, StoreError};
use crate::validation::Submitted;
use crate::validation::input::Boolean;
use crate::{ApiError, Services};

/// The switches, as the original names its modules.
pub const SWITCHES: [&str; 8] =
    ["planner", "writer", "thinker", "automation", "site_builder", "linker", "optimizer", "publisher"];

/// The account's switches, one flag per module.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ModuleSwitches {
    /// The account's id (one set of switches per account).
    pub id: String,
    pub account: String,
    pub planner_enabled: bool,
    pub writer_enabled: bool,
    /// Prompts, author profiles and strategies.
    pub thinker_enabled: bool,
    pub automation_enabled: bool,
    pub site_builder_enabled: bool,
    pub linker_enabled: bool,
    pub optimizer_enabled: bool,
    pub publisher_enabled: bool,
}

impl ModuleSwitches {
    pub fn of(account: &Account) -> Self {
        let on = |name| account.module_enabled(name);
        Self {
            id: account.id.clone(),
            account: account.id.clone(),
            planner_enabled: on("planner"),
            writer_enabled: on("writer"),
            thinker_enabled: on("thinker"),
            automation_enabled: on("automation"),
            site_builder_enabled: on("site_builder"),
            linker_enabled: on("linker"),
            optimizer_enabled: on("optimizer"),
            publisher_enabled: on("publisher"),
        }
    }
}

crate::input! {
    /// The switches to change (`PUT` and `PATCH` alike); those not sent stay as they are.
    pub struct SwitchChange, unknown "Not a module switch." {
        planner_enabled: optional bool = Boolean,
        writer_enabled: optional bool = Boolean,
        thinker_enabled: optional bool = Boolean,
        automation_enabled: optional bool = Boolean,
        site_builder_enabled: optional bool = Boolean,
        linker_enabled: optional bool = Boolean,
        optimizer_enabled: optional bool = Boolean,
        publisher_enabled: optional bool = Boolean,
    }
}

impl SwitchChange {
    /// `(module, on)` for each switch sent.
    fn sent(&self) -> Vec<(&'static str, bool)> {
        [
            ("planner", self.planner_enabled),
            ("writer", self.writer_enabled),
            ("thinker", self.thinker_enabled),
            ("automation", self.automation_enabled),
            ("site_builder", self.site_builder_enabled),
            ("linker", self.linker_enabled),
            ("optimizer", self.optimizer_enabled),
            ("publisher", self.publisher_enabled),
        ]
        .into_iter()
        .filter_map(|(name, on)| on.map(|on| (name, on)))
        .collect()
    }
}

/// The account's switches (every member reads them: the SPA hides what is off).
pub fn get(caller: &Caller) -> ModuleSwitches {
    ModuleSwitches::of(&caller.account)
}

/// Changes the switches sent (owners and admins).
pub async fn update(
    services: &Services,
    caller: &Caller,
    body: Submitted<SwitchChange>,
) -> Result<ModuleSwitches, ApiError> {
    caller.require_manager()?;
    let change = body.read()?;
    let (on, off): (Vec<_>, Vec<_>) = change.sent().into_iter().partition(|(_, on)| *on);
    let names = |list: Vec<(&str, bool)>| list.into_iter().map(|(name, _)| name.to_owned()).collect::<Vec<_>>();
    let store = services.store().await;
    let key = Key::account(caller.account_id());
    // One statement each: DynamoDB refuses two clauses on one attribute in one update.
    let mut account = caller.account.clone();
    for (clause, names) in [("ADD", names(off)), ("DELETE", names(on))] {
        if names.is_empty() {
            continue;
        }
        let update = Change::new(key.clone(), format!("{clause} disabled_modules :names SET updated_at = :now"))
            .value(":names", AttributeValue::Ss(names))
            .value(":now", crate::store::s(rfc3339(OffsetDateTime::now_utc())))
            .condition(Condition::exists());
        let item = store.update(update).await.map_err(StoreError::gone_is_not_found)?;
        account = crate::store::decode(item)?;
    }
    tracing::info!(account_id = %account.id, disabled = ?account.disabled_modules, "module switches changed");
    Ok(ModuleSwitches::of(&account))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switches_are_the_modules_routes_and_jobs_name() {
        let change = SwitchChange {
            planner_enabled: Some(false),
            writer_enabled: None,
            thinker_enabled: Some(true),
            automation_enabled: None,
            site_builder_enabled: None,
            linker_enabled: None,
            optimizer_enabled: None,
            publisher_enabled: None,
        };
        assert_eq!(change.sent(), vec![("planner", false), ("thinker", true)]);
        for name in ["planner", "writer", "linker", "optimizer", "publisher", "thinker", "automation"] {
            assert!(SWITCHES.contains(&name));
        }
    }
}
