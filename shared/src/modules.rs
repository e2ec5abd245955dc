//! What the modules plug into the shared machinery. The engine and the request pipeline know no
//! module; this list, above them all, is where a module's parts are named once.

use crate::ai::Registry;
use crate::{integration, linker, optimizer, planner, publisher, writer};

/// What each module removes when a sector is purged (outside the table: its records are the
/// sector's) and when a site is.
pub fn purge_hooks() -> crate::purge::Hooks {
    crate::purge::Hooks {
        sector: vec![writer::removal::purge_files],
        site: vec![writer::taxonomies::purge_site, integration::removal::purge_site, publisher::records::purge_site],
    }
}

/// Every module's AI functions, by the names their jobs carry.
pub fn ai_functions() -> Registry {
    Registry::new()
        .with(planner::ai::AutoCluster)
        .with(planner::ai::GenerateIdeas)
        .with(writer::ai::GenerateContent)
        .with(writer::ai::GenerateImagePrompts)
        .with(writer::ai::GenerateImages)
        .with(linker::ai::LinkContent)
        .with(optimizer::ai::OptimizeContent)
}

#[cfg(test)]
mod tests {
    use crate::system::switches::SWITCHES;

    #[test]
    fn every_ai_function_belongs_to_a_module_an_account_can_switch() {
        let registry = super::ai_functions();
        for name in registry.names() {
            let module = registry.module_of(name).unwrap_or_default();
            assert!(SWITCHES.contains(&module), "{name} belongs to {module}");
        }
    }
}
