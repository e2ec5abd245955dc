//! Names of the local resources. Every resource carries a prefix, so that each test can own a
//! fresh table, secret, queues and bucket on the same endpoint.

use std::path::PathBuf;

/// The workspace root (where `template.yaml` and `infra/reference/` are): `IGNY8_ROOT` if set,
/// else the root this crate was built in.
pub fn workspace_root() -> PathBuf {
    match std::env::var_os("IGNY8_ROOT") {
        Some(root) => PathBuf::from(root),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalNames {
    pub prefix: String,
}

fn kebab(logical_id: &str) -> String {
    let mut out = String::new();
    for (i, c) in logical_id.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

impl LocalNames {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self { prefix: prefix.into() }
    }

    /// A unique prefix for one test.
    pub fn unique() -> Self {
        Self::new(format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]))
    }

    pub fn table(&self) -> String {
        self.prefix.clone()
    }

    /// A secret's name from its logical id: `JwtSigningKey` → `<prefix>/jwt-signing-key`.
    pub fn secret(&self, logical_id: &str) -> String {
        format!("{}/{}", self.prefix, kebab(logical_id))
    }

    /// `AiJobsQueue` → `<prefix>-ai-jobs-queue`.
    pub fn queue(&self, logical_id: &str) -> String {
        format!("{}-{}", self.prefix, kebab(logical_id))
    }

    /// `ImagesBucket` → `<prefix>-images-bucket` (lower case, as S3 requires).
    pub fn bucket(&self, logical_id: &str) -> String {
        format!("{}-{}", self.prefix.to_lowercase(), kebab(logical_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_derive_from_logical_ids() {
        let n = LocalNames::new("igny8-local");
        assert_eq!(n.secret("JwtSigningKey"), "igny8-local/jwt-signing-key");
        assert_eq!(n.queue("AiJobsDlq"), "igny8-local-ai-jobs-dlq");
        assert_eq!(n.bucket("ImagesBucket"), "igny8-local-images-bucket");
    }
}
