//! Typed request bodies declared once: [`Rule`]s say how a field is read (with the messages the
//! original API gave) and how it looks in the OpenAPI document, and [`crate::input!`] turns a
//! list of fields into a struct, its [`FromBody`](super::FromBody) and its schema. What a body
//! says about the store (does this sector exist, is this name taken) is checked afterwards by
//! the module that receives the typed input.

use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};

/// How one field of a body is read, and how the OpenAPI document describes it.
pub trait Rule {
    type Out;
    /// The field's value, or the message the client sees under the field's name.
    fn parse(&self, value: &Value) -> Result<Self::Out, String>;
    /// The field's schema: type and bounds (`maxLength`, `enum`, `minimum`, `maxItems`...).
    fn schema(&self) -> Schema;
}

fn string_schema() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// Text of at most `.0` characters, trimmed; blank is allowed (it clears the field).
#[derive(Debug, Clone, Copy)]
pub struct Text(pub usize);

impl Rule for Text {
    type Out = String;
    fn parse(&self, value: &Value) -> Result<String, String> {
        super::text(self.0)(value)
    }
    fn schema(&self) -> Schema {
        string_schema().max_length(Some(self.0)).into()
    }
}

/// Text of at most `.0` characters, trimmed, not blank.
#[derive(Debug, Clone, Copy)]
pub struct Bounded(pub usize);

impl Rule for Bounded {
    type Out = String;
    fn parse(&self, value: &Value) -> Result<String, String> {
        super::bounded(self.0)(value)
    }
    fn schema(&self) -> Schema {
        string_schema().min_length(Some(1)).max_length(Some(self.0)).into()
    }
}

/// Text taken exactly as sent (passwords are not trimmed), not empty, at most `.0` characters.
#[derive(Debug, Clone, Copy)]
pub struct Raw(pub usize);

impl Rule for Raw {
    type Out = String;
    fn parse(&self, value: &Value) -> Result<String, String> {
        super::raw_text(self.0)(value)
    }
    fn schema(&self) -> Schema {
        string_schema().min_length(Some(1)).max_length(Some(self.0)).into()
    }
}

/// One of the listed words.
#[derive(Debug, Clone, Copy)]
pub struct Choice(pub &'static [&'static str]);

impl Rule for Choice {
    type Out = String;
    fn parse(&self, value: &Value) -> Result<String, String> {
        super::choice(self.0)(value)
    }
    fn schema(&self) -> Schema {
        string_schema().enum_values(Some(self.0.iter().copied())).into()
    }
}

/// An integer in `.0..=.1` (a JSON number, or a string of digits as forms send them).
#[derive(Debug, Clone, Copy)]
pub struct Integer(pub i64, pub i64);

impl Rule for Integer {
    type Out = i64;
    fn parse(&self, value: &Value) -> Result<i64, String> {
        super::integer(self.0, self.1)(value)
    }
    fn schema(&self) -> Schema {
        ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(self.0)).maximum(Some(self.1)).into()
    }
}

/// `true` or `false`.
#[derive(Debug, Clone, Copy)]
pub struct Boolean;

impl Rule for Boolean {
    type Out = bool;
    fn parse(&self, value: &Value) -> Result<bool, String> {
        super::boolean(value)
    }
    fn schema(&self) -> Schema {
        ObjectBuilder::new().schema_type(Type::Boolean).into()
    }
}

/// An id this system issued (a UUID).
#[derive(Debug, Clone, Copy)]
pub struct Id;

impl Rule for Id {
    type Out = String;
    fn parse(&self, value: &Value) -> Result<String, String> {
        super::id(value)
    }
    fn schema(&self) -> Schema {
        string_schema().format(Some(utoipa::openapi::SchemaFormat::Custom("uuid".into()))).into()
    }
}

/// A non-empty list of at most `.0` ids (repeats are dropped).
#[derive(Debug, Clone, Copy)]
pub struct Ids(pub usize);

impl Rule for Ids {
    type Out = Vec<String>;
    fn parse(&self, value: &Value) -> Result<Vec<String>, String> {
        super::id_list(self.0)(value)
    }
    fn schema(&self) -> Schema {
        ArrayBuilder::new().items(RefOr::T(Id.schema())).min_items(Some(1)).max_items(Some(self.0)).into()
    }
}

/// A list of at most `.0` texts of at most `.1` characters each.
#[derive(Debug, Clone, Copy)]
pub struct Texts(pub usize, pub usize);

impl Rule for Texts {
    type Out = Vec<String>;
    fn parse(&self, value: &Value) -> Result<Vec<String>, String> {
        super::text_list(self.0, self.1)(value)
    }
    fn schema(&self) -> Schema {
        ArrayBuilder::new().items(RefOr::T(Text(self.1).schema())).max_items(Some(self.0)).into()
    }
}

/// Any JSON value: the module reads it further (fields that may only be sent back as they are).
#[derive(Debug, Clone, Copy)]
pub struct Json;

impl Rule for Json {
    type Out = Value;
    fn parse(&self, value: &Value) -> Result<Value, String> {
        Ok(value.clone())
    }
    fn schema(&self) -> Schema {
        ObjectBuilder::new().into()
    }
}

/// One of the names of the enum `T` (as serde spells them); the schema is the enum's.
pub struct Variant<T>(std::marker::PhantomData<fn() -> T>);

impl<T> Variant<T> {
    pub const fn new() -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<T> Default for Variant<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for Variant<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Variant<T> {}

impl<T> std::fmt::Debug for Variant<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Variant")
    }
}

impl<T: serde::de::DeserializeOwned + utoipa::PartialSchema> Rule for Variant<T> {
    type Out = T;
    fn parse(&self, value: &Value) -> Result<T, String> {
        let text = super::string(value)?;
        serde_json::from_value(Value::String(text.clone())).map_err(|_| format!("\"{text}\" is not a valid choice."))
    }
    fn schema(&self) -> Schema {
        match T::schema() {
            RefOr::T(schema) => schema,
            RefOr::Ref(_) => string_schema().into(),
        }
    }
}

/// A rule of the module's own: its parser and its schema.
#[derive(Clone, Copy)]
pub struct Custom<T: 'static>(pub fn(&Value) -> Result<T, String>, pub fn() -> Schema);

impl<T> std::fmt::Debug for Custom<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Custom")
    }
}

impl<T> Rule for Custom<T> {
    type Out = T;
    fn parse(&self, value: &Value) -> Result<T, String> {
        (self.0)(value)
    }
    fn schema(&self) -> Schema {
        (self.1)()
    }
}

/// How a field may be missing: `required` (absent or `null` is "This field is required."),
/// `optional` (absent or `null` is `None`), `nullable` (`null` is `Some(None)`: clear the field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Required,
    Optional,
    Nullable,
}

/// The schema of a body: an object of `fields` (name, description, need, schema); `closed` when
/// other fields are refused.
pub fn object_schema(
    description: &str,
    closed: bool,
    fields: Vec<(&'static str, String, Need, Schema)>,
) -> RefOr<Schema> {
    let mut object = ObjectBuilder::new().schema_type(Type::Object);
    if closed {
        object = object.additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(false)));
    }
    if !description.is_empty() {
        object = object.description(Some(description.to_owned()));
    }
    for (name, doc, need, schema) in fields {
        let schema = match (need, schema) {
            (Need::Nullable, schema) => OneOfBuilder::new()
                .item(schema)
                .item(ObjectBuilder::new().schema_type(Type::Null))
                .description((!doc.is_empty()).then_some(doc))
                .into(),
            (_, Schema::Object(o)) if !doc.is_empty() => {
                let mut o = o;
                o.description = Some(doc);
                Schema::Object(o)
            }
            (_, schema) => schema,
        };
        object = object.property(name, schema);
        if need == Need::Required {
            object = object.required(name);
        }
    }
    RefOr::T(object.into())
}

/// A field's name in JSON: its Rust name without the raw prefix (`r#type` is `type`).
pub fn wire(name: &'static str) -> &'static str {
    name.strip_prefix("r#").unwrap_or(name)
}

/// Joins the lines of a doc comment into one description.
pub fn doc(lines: &[&str]) -> String {
    lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ").trim().to_owned()
}

/// Declares a typed request body: the struct, its [`FromBody`](crate::validation::FromBody) (every
/// field read by its rule, every failure reported under the field's name at once) and its
/// OpenAPI schema (named after the struct). With `, unknown "message"` after the struct's name,
/// a field it does not declare is refused with that message (and the schema is closed). With `, changes Name` after the struct's name it also
/// declares the body of a change (PATCH): the same fields, none of them required, and the
/// conversion of a new record's body into a change (so that one function applies both).
///
/// ```ignore
/// igny8_domain::input! {
///     /// The body of `POST keywords/bulk_update_status/`.
///     pub struct StatusChange {
///         /// The keywords.
///         ids: required Vec<String> = Ids(1000),
///         status: required String = Choice(&["active", "archived"]),
///         note: optional String = Text(200),
///         cluster_id: nullable String = Id,
///     }
/// }
/// ```
#[macro_export]
macro_rules! input {
    (
        $(#[doc = $doc:literal])*
        pub struct $name:ident, changes $changes:ident {
            $(
                $(#[doc = $fdoc:literal])*
                $field:ident : $need:ident $ty:ty = $rule:expr
            ),* $(,)?
        }
    ) => {
        $crate::input!(@define full [$($doc),*] $name [] { $( [$($fdoc),*] $field : $need $ty = $rule ),* });
        $crate::input!(@define patch [$($doc),*] $changes [] { $( [$($fdoc),*] $field : $need $ty = $rule ),* });

        impl ::std::convert::From<$name> for $changes {
            fn from(new: $name) -> Self {
                Self { $( $field: $crate::input!(@lift $need new.$field), )* }
            }
        }
    };
    (
        $(#[doc = $doc:literal])*
        pub struct $name:ident $(, unknown $unknown:literal)? {
            $(
                $(#[doc = $fdoc:literal])*
                $field:ident : $need:ident $ty:ty = $rule:expr
            ),* $(,)?
        }
    ) => {
        $crate::input!(@define full [$($doc),*] $name [$($unknown)?] { $( [$($fdoc),*] $field : $need $ty = $rule ),* });
    };
    (@define $mode:ident [$($doc:literal),*] $name:ident [$($unknown:literal)?] {
        $( [$($fdoc:literal),*] $field:ident : $need:ident $ty:ty = $rule:expr ),*
    }) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, PartialEq)]
        #[allow(non_snake_case)] // a field is named as the API spells it (`apiKey`)
        pub struct $name {
            $( $(#[doc = $fdoc])* pub $field: $crate::input!(@type $mode $need $ty), )*
        }

        impl $crate::validation::FromBody for $name {
            #[allow(non_snake_case)]
            fn from_body(body: &[u8]) -> ::std::result::Result<Self, $crate::ApiError> {
                #[allow(unused_mut)]
                let mut f = $crate::validation::Fields::parse(body)?;
                $( let $field = $crate::input!(@read $mode $need f, $crate::validation::input::wire(stringify!($field)), $rule); )*
                #[allow(unused_variables)]
                let known: &[&str] = &[$($crate::validation::input::wire(stringify!($field))),*];
                $( for name in f.unknown(known) { f.error(&name, $unknown); } )?
                f.finish()?;
                Ok(Self { $( $field: $crate::input!(@take $mode $need $field), )* })
            }
        }

        impl ::utoipa::PartialSchema for $name {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                #[allow(unused_imports)]
                use $crate::validation::input::Rule as _;
                $crate::validation::input::object_schema(
                    &$crate::validation::input::doc(&[$($doc),*]),
                    false $( || !$unknown.is_empty() )?,
                    vec![$((
                        $crate::validation::input::wire(stringify!($field)),
                        $crate::validation::input::doc(&[$($fdoc),*]),
                        $crate::input!(@need $mode $need),
                        $rule.schema(),
                    )),*],
                )
            }
        }

        impl ::utoipa::ToSchema for $name {}
    };
    (@type full required $ty:ty) => { $ty };
    (@type patch required $ty:ty) => { ::std::option::Option<$ty> };
    (@type $mode:ident optional $ty:ty) => { ::std::option::Option<$ty> };
    (@type $mode:ident nullable $ty:ty) => { ::std::option::Option<::std::option::Option<$ty>> };
    (@need full required) => { $crate::validation::input::Need::Required };
    (@need patch required) => { $crate::validation::input::Need::Optional };
    (@need $mode:ident optional) => { $crate::validation::input::Need::Optional };
    (@need $mode:ident nullable) => { $crate::validation::input::Need::Nullable };
    (@read full required $f:ident, $name:expr, $rule:expr) => {
        $f.required($name, |v| $crate::validation::input::Rule::parse(&$rule, v))
    };
    (@read $mode:ident required $f:ident, $name:expr, $rule:expr) => {
        $f.optional($name, |v| $crate::validation::input::Rule::parse(&$rule, v))
    };
    (@read $mode:ident optional $f:ident, $name:expr, $rule:expr) => {
        $f.optional($name, |v| $crate::validation::input::Rule::parse(&$rule, v))
    };
    (@read $mode:ident nullable $f:ident, $name:expr, $rule:expr) => {
        $f.nullable($name, |v| $crate::validation::input::Rule::parse(&$rule, v))
    };
    (@take full required $field:ident) => {
        $field.ok_or_else(|| $crate::ApiError::internal("a validated field is missing"))?
    };
    (@take $mode:ident $need:ident $field:ident) => { $field };
    (@lift required $value:expr) => { ::std::option::Option::Some($value) };
    (@lift $need:ident $value:expr) => { $value };
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use utoipa::PartialSchema;

    use super::*;
    use crate::ApiError;
    use crate::validation::FromBody;

    crate::input! {
        /// A test body.
        pub struct Sample, changes SampleChanges {
            /// What it is called.
            name: required String = Bounded(5),
            size: optional i64 = Integer(1, 9),
            parent: nullable String = Id,
            kind: optional String = Choice(&["a", "b"]),
        }
    }

    #[test]
    fn reads_every_field_and_reports_every_error() {
        let ok = Sample::from_body(br#"{"name": " ab ", "parent": null, "kind": "a"}"#).unwrap();
        assert_eq!(ok, Sample { name: "ab".into(), size: None, parent: Some(None), kind: Some("a".into()) });
        let absent = Sample::from_body(br#"{"name": "x"}"#).unwrap();
        assert_eq!(absent.parent, None);
        let Err(ApiError::Validation(errors)) = Sample::from_body(br#"{"size": 10, "parent": "x", "kind": "c"}"#)
        else {
            panic!("not a validation error")
        };
        assert_eq!(errors.get("name").unwrap(), [crate::validation::REQUIRED]);
        assert_eq!(errors.get("size").unwrap(), ["Must be between 1 and 9."]);
        assert_eq!(errors.get("parent").unwrap(), ["Invalid pk \"x\" - object does not exist."]);
        assert_eq!(errors.get("kind").unwrap(), ["\"c\" is not a valid choice."]);
    }

    #[test]
    fn the_schema_states_the_rules() {
        let schema = serde_json::to_value(Sample::schema()).unwrap();
        assert_eq!(schema["required"], json!(["name"]));
        assert_eq!(schema["description"], "A test body.");
        assert_eq!(schema["properties"]["name"]["maxLength"], 5);
        assert_eq!(schema["properties"]["name"]["description"], "What it is called.");
        assert_eq!(schema["properties"]["size"]["maximum"], 9);
        assert_eq!(schema["properties"]["kind"]["enum"], json!(["a", "b"]));
        assert_eq!(schema["properties"]["parent"]["oneOf"][1]["type"], "null");
        let changes = serde_json::to_value(SampleChanges::schema()).unwrap();
        assert!(changes.get("required").is_none());
        assert_eq!(SampleChanges::from_body(b"{}").unwrap().name, None);
    }
}
