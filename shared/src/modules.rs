//! What the modules plug into the shared machinery. The engine and the request pipeline know no
//! module; this list, above them all, is where a module's parts are named once.

use crate::ai::Registry;
use crate::{planner, writer};

/// What each module removes outside the table when a sector is purged.
pub fn purge_hooks() -> Vec<crate::purge::PurgeHook> {
    vec![writer::removal::purge_files]
}

/// Every module's AI functions, by the names their jobs carry.
pub fn ai_functions() -> Registry {
    Registry::new()
        .with(planner::ai::AutoCluster)
        .with(planner::ai::GenerateIdeas)
        .with(writer::ai::GenerateContent)
        .with(writer::ai::GenerateImagePrompts)
        .with(writer::ai::GenerateImages)
}
