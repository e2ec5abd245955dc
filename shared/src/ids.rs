//! Identifiers: UUID v7 strings, so that ids sort by creation time inside a partition.

/// A new time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Whether `s` looks like an id this system issues (guards key construction from client input).
pub fn is_valid_id(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}
