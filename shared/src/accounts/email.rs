use serde_json::Value;

use crate::validation::string;

/// An email address, trimmed and lower-cased: the login key and the uniqueness key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

pub const INVALID_EMAIL: &str = "Enter a valid email address.";

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim().to_lowercase();
        let valid = email.len() <= 254
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && match email.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && local.len() <= 64
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                        && !domain.contains("..")
                }
                None => false,
            };
        if valid { Ok(Self(email)) } else { Err(INVALID_EMAIL.into()) }
    }

    /// For [`crate::validation::Fields::required`].
    pub fn from_json(value: &Value) -> Result<Self, String> {
        Self::parse(&string(value)?)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The field rule of an email address in a typed body.
    pub const RULE: crate::validation::input::Custom<Email> =
        crate::validation::input::Custom(Self::from_json, Self::schema);

    fn schema() -> utoipa::openapi::schema::Schema {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom("email".into())))
            .max_length(Some(254))
            .into()
    }

    /// The part before `@`, the default username.
    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        assert_eq!(Email::parse("  Ann@Example.COM ").unwrap().as_str(), "ann@example.com");
        assert_eq!(Email::parse("ann@example.com").unwrap().local_part(), "ann");
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "ann@@example.com",
            "ann@example..com",
            "ann@.example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
