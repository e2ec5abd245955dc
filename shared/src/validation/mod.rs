//! Reading request bodies into domain types with per-field errors, the way the original API
//! reported them (`errors: {field: ["message", ...]}`).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::ApiError;

pub mod input;
pub use input::Rule;

/// The documented maximum lengths of text fields, in characters (`docs/field-limits.md` lists
/// which field of which route has which). Every text a request can store is checked against one
/// of these when the body is parsed, so that no record can outgrow a DynamoDB item.
pub mod max {
    /// Names of sites, sectors, clusters, taxonomies and accounts.
    pub const NAME: usize = 200;
    /// A person's username, first and last name.
    pub const PERSON_NAME: usize = 150;
    /// Titles of ideas, tasks and content; meta titles.
    pub const TITLE: usize = 300;
    /// Descriptions of sites, sectors, clusters, ideas, tasks and taxonomies.
    pub const DESCRIPTION: usize = 5000;
    /// A keyword (also at most [`KEYWORD_BYTES`] bytes: it is part of a key).
    pub const KEYWORD: usize = 255;
    /// A keyword's length in UTF-8 bytes (DynamoDB sort keys hold 1024 bytes).
    pub const KEYWORD_BYTES: usize = 900;
    /// A slug.
    pub const SLUG: usize = 100;
    /// An id of reference data looked up by the request (plan, industry, sector, prompt type).
    pub const REFERENCE: usize = 100;
    /// A URL or a domain.
    pub const URL: usize = 2048;
    /// Any other text a request sends (compared, looked up or checked, never stored as sent).
    pub const ANY_TEXT: usize = 1000;
    /// Items of a list a request sends, unless the field says fewer.
    pub const LIST_ITEMS: usize = 1000;
}

/// The message of a text over its maximum.
pub fn too_long(max: usize) -> String {
    format!("Ensure this field has no more than {max} characters.")
}

pub const REQUIRED: &str = "This field is required.";
pub const NOT_A_STRING: &str = "Not a valid string.";
pub const BLANK: &str = "This field may not be blank.";

/// A request body parsed into a typed input: every field checked, every failure reported per
/// field (400 `Validation failed` with `errors`), nothing half-parsed handed on.
pub trait FromBody: Sized {
    fn from_body(body: &[u8]) -> Result<Self, ApiError>;
}

/// A body received but not read yet: the handler first finds the record it acts on and checks
/// the caller's right to act (so that another account's record is a 404, and a read-only caller
/// a 403, whatever the body says), then [`Submitted::read`]s it.
pub struct Submitted<T> {
    bytes: Vec<u8>,
    parse: fn(&[u8]) -> Result<T, ApiError>,
}

impl<T: FromBody> Submitted<T> {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self { bytes, parse: T::from_body }
    }
}

impl<T> Submitted<T> {
    /// The typed body, or the 400 with every field's errors.
    pub fn read(self) -> Result<T, ApiError> {
        (self.parse)(&self.bytes)
    }

    /// The text of the top-level field `name` as sent, before any rule: for checking what a
    /// malformed body names (does the plan exist), so that one 400 reports every problem.
    pub fn sent_text(&self, name: &str) -> Option<String> {
        let value: Value = serde_json::from_slice(&self.bytes).ok()?;
        value.get(name)?.as_str().map(|s| s.trim().to_owned())
    }

    /// Reads the body, and lets `screen` look at the object as sent (fields the typed body does
    /// not name: a card number where none may be); one 400 reports what both found.
    pub fn read_screened(self, screen: impl FnOnce(&mut Fields)) -> Result<T, ApiError> {
        let mut raw = Fields::parse(&self.bytes)?;
        screen(&mut raw);
        let (read, mut errors) = match self.read() {
            Ok(value) => (Some(value), FieldErrors::new()),
            Err(ApiError::Validation(errors)) => (None, errors),
            Err(other) => return Err(other),
        };
        for (field, messages) in raw.errors.0 {
            errors.0.entry(field).or_default().extend(messages);
        }
        match read {
            Some(value) if errors.is_empty() => Ok(value),
            _ => Err(ApiError::Validation(errors)),
        }
    }

    /// A `PUT` sends the whole record: read as `N` (whose required fields are required), then
    /// taken as the change `T`.
    pub fn whole<N: FromBody + Into<T>>(self) -> Self {
        Self { bytes: self.bytes, parse: |bytes| N::from_body(bytes).map(Into::into) }
    }
}

impl<T> std::fmt::Debug for Submitted<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Submitted({} bytes)", self.bytes.len())
    }
}

/// Field name → messages, serialised as the envelope's `errors`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.entry(field.to_owned()).or_default().push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, field: &str) -> Option<&[String]> {
        self.0.get(field).map(Vec::as_slice)
    }

    /// `Ok(())` when no field had an error, else the 400 with every field's messages.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.is_empty() { Ok(()) } else { Err(ApiError::Validation(self)) }
    }
}

/// A JSON object body being read field by field; errors accumulate so that the client sees every
/// problem at once, and nothing is acted on until [`Fields::finish`] says the body is valid.
#[derive(Debug)]
pub struct Fields {
    object: Map<String, Value>,
    errors: FieldErrors,
}

impl Fields {
    /// Parses a request body that must be a JSON object. An empty body counts as `{}` so that the
    /// client is told which fields are missing.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::from_object(Map::new()));
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(object)) => Ok(Self::from_object(object)),
            Ok(_) => Err(ApiError::field("non_field_errors", "Expected a JSON object.")),
            Err(err) => Err(ApiError::BadRequest(format!("Malformed JSON: {err}"))),
        }
    }

    pub fn from_object(object: Map<String, Value>) -> Self {
        Self { object, errors: FieldErrors::new() }
    }

    /// Records an error on `field`.
    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.add(field, message);
    }

    /// The errors found so far, for checks made outside this body (a referenced record exists).
    pub fn errors_mut(&mut self) -> &mut FieldErrors {
        &mut self.errors
    }

    pub fn has_error(&self, field: &str) -> bool {
        self.errors.get(field).is_some()
    }

    /// A required field, parsed by `parse`.
    pub fn required<T>(&mut self, field: &str, parse: impl FnOnce(&Value) -> Result<T, String>) -> Option<T> {
        match self.object.get(field) {
            None | Some(Value::Null) => {
                self.error(field, REQUIRED);
                None
            }
            Some(value) => self.parsed(field, parse(value)),
        }
    }

    /// An optional field: absent and `null` are `None`.
    pub fn optional<T>(&mut self, field: &str, parse: impl FnOnce(&Value) -> Result<T, String>) -> Option<T> {
        match self.object.get(field) {
            None | Some(Value::Null) => None,
            Some(value) => self.parsed(field, parse(value)),
        }
    }

    /// A field that may be cleared: absent is `None`, `null` is `Some(None)`.
    pub fn nullable<T>(&mut self, field: &str, parse: impl FnOnce(&Value) -> Result<T, String>) -> Option<Option<T>> {
        match self.object.get(field) {
            None => None,
            Some(Value::Null) => Some(None),
            Some(value) => self.parsed(field, parse(value)).map(Some),
        }
    }

    /// Whether the body has `field` at all (`null` included).
    pub fn sent(&self, field: &str) -> bool {
        self.object.contains_key(field)
    }

    /// The body's fields that are not in `known`.
    pub fn unknown(&self, known: &[&str]) -> Vec<String> {
        self.object.keys().filter(|k| !known.contains(&k.as_str())).cloned().collect()
    }

    /// Refuses every field whose text holds a run of `min` or more digits (spaces, dashes and dots
    /// between digits do not break a run): how a card or account number looks, which must never
    /// be stored. Nested values are searched too; the error is on the top-level field.
    pub fn refuse_digit_runs(&mut self, min: usize, message: &str) {
        let hits: Vec<String> =
            self.object.iter().filter(|(_, v)| holds_digit_run(v, min)).map(|(k, _)| k.clone()).collect();
        for field in hits {
            self.error(&field, message);
        }
    }

    fn parsed<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(message) => {
                self.error(field, message);
                None
            }
        }
    }

    /// `Ok(())` when no field had an error, else the 400 with every field's messages.
    pub fn finish(self) -> Result<(), ApiError> {
        self.errors.finish()
    }
}

/// Whether `text` has a run of at least `min` digits, separators between digits ignored.
pub fn digit_run(text: &str, min: usize) -> bool {
    let mut run = 0;
    let mut pending_separator = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            run += 1;
            pending_separator = false;
            if run >= min {
                return true;
            }
        } else if matches!(c, ' ' | '-' | '.' | '\u{a0}') && run > 0 && !pending_separator {
            pending_separator = true;
        } else {
            run = 0;
            pending_separator = false;
        }
    }
    false
}

fn holds_digit_run(value: &Value, min: usize) -> bool {
    match value {
        Value::String(s) => digit_run(s, min),
        Value::Number(n) => digit_run(&n.to_string(), min),
        Value::Array(items) => items.iter().any(|v| holds_digit_run(v, min)),
        Value::Object(map) => map.values().any(|v| holds_digit_run(v, min)),
        _ => false,
    }
}

/// A boolean filter of a list's query (`?is_active=true`): `true`/`1`, `false`/`0`, or not
/// sent; anything else is a 400 on the parameter.
pub fn query_flag(query: &std::collections::HashMap<String, String>, name: &str) -> Result<Option<bool>, ApiError> {
    match query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some("true" | "1" | "True") => Ok(Some(true)),
        Some("false" | "0" | "False") => Ok(Some(false)),
        Some(_) => Err(ApiError::field(name, "Must be a valid boolean.")),
    }
}

/// A JSON boolean.
pub fn boolean(value: &Value) -> Result<bool, String> {
    value.as_bool().ok_or_else(|| "Must be a valid boolean.".to_owned())
}

/// An id this system issued (a UUID string).
pub fn id(value: &Value) -> Result<String, String> {
    let s = string(value)?;
    if crate::ids::is_valid_id(&s) { Ok(s) } else { Err(format!("Invalid pk \"{s}\" - object does not exist.")) }
}

/// A list of at most `items` strings, each at most `length` characters.
pub fn text_list(items: usize, length: usize) -> impl Fn(&Value) -> Result<Vec<String>, String> {
    move |value| {
        let list = value.as_array().ok_or_else(|| "Expected a list of items.".to_owned())?;
        if list.len() > items {
            return Err(format!("Ensure this list has no more than {items} items."));
        }
        list.iter()
            .map(|v| {
                let s = string(v)?;
                if s.chars().count() > length {
                    Err(format!("Ensure every item has no more than {length} characters."))
                } else {
                    Ok(s)
                }
            })
            .collect()
    }
}

/// One of `options`.
pub fn choice(options: &'static [&'static str]) -> impl Fn(&Value) -> Result<String, String> {
    move |value| {
        let s = string(value)?;
        if options.contains(&s.as_str()) { Ok(s) } else { Err(format!("\"{s}\" is not a valid choice.")) }
    }
}

/// An integer in `min..=max` (a JSON number, or a string of digits as forms send them).
pub fn integer(min: i64, max: i64) -> impl Fn(&Value) -> Result<i64, String> {
    move |value| {
        let n = match value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        }
        .ok_or_else(|| "A valid integer is required.".to_owned())?;
        if (min..=max).contains(&n) { Ok(n) } else { Err(format!("Must be between {min} and {max}.")) }
    }
}

/// A non-empty list of at most `max` distinct ids this system issued.
pub fn id_list(max: usize) -> impl Fn(&Value) -> Result<Vec<String>, String> {
    move |value| {
        let items = value.as_array().ok_or_else(|| "Expected a list of items.".to_owned())?;
        if items.is_empty() {
            return Err("This list may not be empty.".into());
        }
        if items.len() > max {
            return Err(format!("Ensure this list has no more than {max} items."));
        }
        let mut out: Vec<String> = Vec::with_capacity(items.len());
        let mut seen = std::collections::HashSet::with_capacity(items.len());
        for item in items {
            let id = id(item)?;
            if seen.insert(id.clone()) {
                out.push(id);
            }
        }
        Ok(out)
    }
}

/// A string of at most `max` characters, not blank.
pub fn bounded(max: usize) -> impl Fn(&Value) -> Result<String, String> {
    move |value| {
        let s = text(max)(value)?;
        if s.is_empty() { Err(BLANK.to_owned()) } else { Ok(s) }
    }
}

/// A string of at most `max` characters, trimmed; blank is allowed (it clears the field).
pub fn text(max: usize) -> impl Fn(&Value) -> Result<String, String> {
    move |value| {
        let s = value.as_str().map(str::trim).ok_or_else(|| NOT_A_STRING.to_owned())?;
        if s.chars().count() > max {
            return Err(too_long(max));
        }
        Ok(s.to_owned())
    }
}

/// A string taken exactly as sent (not trimmed), not blank, at most `max` characters.
pub fn raw_text(max: usize) -> impl Fn(&Value) -> Result<String, String> {
    move |value| {
        let s = value.as_str().ok_or_else(|| NOT_A_STRING.to_owned())?;
        if s.is_empty() {
            return Err(BLANK.to_owned());
        }
        if s.chars().count() > max {
            return Err(too_long(max));
        }
        Ok(s.to_owned())
    }
}

/// A JSON string, trimmed, of at most [`max::ANY_TEXT`] characters: for text that is looked up,
/// compared or parsed further. A field that is stored names its own maximum ([`text`],
/// [`bounded`]).
pub fn string(value: &Value) -> Result<String, String> {
    text(max::ANY_TEXT)(value)
}

/// An optional text where blank counts as not sent (a username, an account name, a plan id).
pub fn given(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.is_empty())
}

/// A JSON string taken exactly as sent (passwords are not trimmed), at most
/// [`max::ANY_TEXT`] characters.
pub fn raw_string(value: &Value) -> Result<String, String> {
    raw_text(max::ANY_TEXT)(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn collects_every_field_error() {
        let mut f = Fields::parse(br#"{"email": 5, "name": "  "}"#).unwrap();
        assert_eq!(f.required("email", bounded(max::ANY_TEXT)), None);
        assert_eq!(f.required("name", bounded(max::ANY_TEXT)), None);
        assert_eq!(f.required("password", bounded(max::ANY_TEXT)), None);
        let ApiError::Validation(errors) = f.finish().unwrap_err() else { panic!("not a validation error") };
        assert_eq!(errors.get("email").unwrap(), [NOT_A_STRING]);
        assert_eq!(errors.get("name").unwrap(), [BLANK]);
        assert_eq!(errors.get("password").unwrap(), [REQUIRED]);
    }

    #[test]
    fn malformed_and_non_object_bodies_are_rejected() {
        assert!(matches!(Fields::parse(b"{not json"), Err(ApiError::BadRequest(_))));
        assert!(matches!(Fields::parse(b"[1,2]"), Err(ApiError::Validation(_))));
        assert!(Fields::parse(b"  ").is_ok());
    }

    #[test]
    fn digit_runs_are_found_through_separators() {
        assert!(digit_run("Visa 4111 1111 1111 1111", 12));
        assert!(digit_run("4111-1111-1111-1111", 12));
        assert!(digit_run("acct 123456789012", 12));
        assert!(!digit_run("Visa ending 1111", 12));
        assert!(!digit_run("Order 2024-11-23 no 42", 12));
        assert!(!digit_run("12345678901", 12));
        assert!(!digit_run("1234  5678 9012", 12), "two separators in a row end a run");
    }

    #[test]
    fn optional_fields_enforce_length_and_treat_blank_as_absent() {
        let mut f = Fields::from_object(json!({"a": "", "b": "xyz", "c": null}).as_object().unwrap().clone());
        assert_eq!(given(f.optional("a", text(5))), None);
        assert_eq!(given(f.optional("b", text(2))), None);
        assert_eq!(given(f.optional("c", text(5))), None);
        assert!(f.has_error("b"));
        assert!(!f.has_error("a"));
    }
}
