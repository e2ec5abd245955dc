//! Identifiers: UUID v7 strings, so that ids sort by creation time inside a partition.

/// A new time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Whether `s` looks like an id this system issues (guards key construction from client input).
pub fn is_valid_id(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

/// A URL-friendly form of `name`: lower-case ASCII letters and digits joined by dashes.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slugify("Ann's Account"), "ann-s-account");
        assert_eq!(slugify("  --Hello, World!! "), "hello-world");
    }
}
