//! Filters, search and ordering of the list endpoints, declared per endpoint and applied to the
//! records' JSON. Bad values (a non-number for a `_min`, an unknown ordering) are a 400.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::Value;

use crate::ApiError;

/// How a query parameter narrows the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// The field equals the parameter (compared as text).
    Eq,
    /// The field, a number, is at least the parameter.
    Min,
    /// The field, a number, is at most the parameter.
    Max,
}

/// What a list endpoint accepts.
#[derive(Debug, Clone, Copy)]
pub struct ListSpec {
    /// `(parameter, field, match)`.
    pub filters: &'static [(&'static str, &'static str, Match)],
    /// Fields `search` looks in (case-insensitive substring).
    pub search: &'static [&'static str],
    /// `(name, field)` pairs `ordering` accepts (with `-` for descending); several names may
    /// order by one field (the original's `seed_keyword__volume` is `volume` here).
    pub orderings: &'static [(&'static str, &'static str)],
    /// The ordering without `ordering`, e.g. `-created_at`.
    pub default_ordering: &'static str,
}

fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x.as_f64().unwrap_or(0.0).partial_cmp(&y.as_f64().unwrap_or(0.0)).unwrap_or(Ordering::Equal)
        }
        (Value::String(x), Value::String(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => Ordering::Equal,
    }
}

/// A query parameter of the OpenAPI document.
fn query_param(
    name: &str,
    description: &str,
    schema: impl Into<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>>,
) -> utoipa::openapi::path::Parameter {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .description(Some(description))
        .required(utoipa::openapi::Required::False)
        .schema(Some(schema))
        .build()
}

/// The query parameters of every sector-scoped list: the page and where to look.
pub fn page_params() -> Vec<utoipa::openapi::path::Parameter> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let integer = |min: f64| ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(min)).build();
    let text = || ObjectBuilder::new().schema_type(Type::String).build();
    vec![
        query_param("page", "The page, from 1.", integer(1.0)),
        query_param("page_size", "Items per page: 10 unless asked, at most 100.", integer(1.0)),
        query_param(
            "cursor",
            "Where a page starts: the last id of the page before (a page's `next` link carries it). Read with `sector_id`, the default order and at most `status` (or a keyword's `cluster_id`).",
            text(),
        ),
        query_param("site_id", "Only this site's records.", text()),
        query_param("sector_id", "Only this sector's records.", text()),
    ]
}

impl ListSpec {
    /// This list's query parameters in the OpenAPI document: the page, where to look, the
    /// filters, `search` and `ordering`.
    pub fn params(&self) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let mut params = page_params();
        for (name, field, matching) in self.filters {
            let (schema, description) = match matching {
                Match::Eq => {
                    (ObjectBuilder::new().schema_type(Type::String).build(), format!("`{field}` equals this."))
                }
                Match::Min => {
                    (ObjectBuilder::new().schema_type(Type::Number).build(), format!("`{field}` at least this."))
                }
                Match::Max => {
                    (ObjectBuilder::new().schema_type(Type::Number).build(), format!("`{field}` at most this."))
                }
            };
            params.push(query_param(name, &description, schema));
        }
        if !self.search.is_empty() {
            let description = format!("Case-insensitive text found in {}.", self.search.join(", "));
            params.push(query_param("search", &description, ObjectBuilder::new().schema_type(Type::String).build()));
        }
        let orderings: Vec<String> =
            self.orderings.iter().flat_map(|(name, _)| [(*name).to_owned(), format!("-{name}")]).collect();
        let description =
            format!("Order by one of these (`-` for descending); `{}` unless asked.", self.default_ordering);
        params.push(query_param(
            "ordering",
            &description,
            ObjectBuilder::new().schema_type(Type::String).enum_values(Some(orderings)).build(),
        ));
        params
    }
    /// Filters, searches and orders `records` (JSON objects) as `query` asks.
    pub fn apply(&self, mut records: Vec<Value>, query: &HashMap<String, String>) -> Result<Vec<Value>, ApiError> {
        for (param, field, how) in self.filters {
            let Some(wanted) = query.get(*param).map(|v| v.trim()).filter(|v| !v.is_empty()) else {
                continue;
            };
            match how {
                Match::Eq => records.retain(|r| as_text(&r[*field]).as_deref() == Some(wanted)),
                Match::Min | Match::Max => {
                    let bound: f64 =
                        wanted.parse().map_err(|_| ApiError::field(param, "A valid number is required."))?;
                    records.retain(|r| {
                        r[*field].as_f64().is_some_and(|v| if *how == Match::Min { v >= bound } else { v <= bound })
                    });
                }
            }
        }
        if let Some(needle) = query.get("search").map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()) {
            records.retain(|r| {
                self.search.iter().any(|field| match &r[*field] {
                    Value::Array(items) => {
                        items.iter().any(|i| i.as_str().is_some_and(|s| s.to_lowercase().contains(&needle)))
                    }
                    other => as_text(other).is_some_and(|s| s.to_lowercase().contains(&needle)),
                })
            });
        }
        let ordering =
            query.get("ordering").map(|o| o.trim()).filter(|o| !o.is_empty()).unwrap_or(self.default_ordering);
        let mut keys = Vec::new();
        for part in ordering.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, descending) = match part.strip_prefix('-') {
                Some(name) => (name, true),
                None => (part, false),
            };
            let Some((_, field)) = self.orderings.iter().find(|(n, _)| *n == name) else {
                let names: Vec<&str> = self.orderings.iter().map(|(n, _)| *n).collect();
                return Err(ApiError::field("ordering", format!("\"{name}\" is not one of: {}.", names.join(", "))));
            };
            keys.push((*field, descending));
        }
        // Ids are UUID v7 (time-ordered): the last key makes the order total and stable.
        records.sort_by(|a, b| {
            keys.iter()
                .map(|(field, descending)| {
                    let o = compare(&a[*field], &b[*field]);
                    if *descending { o.reverse() } else { o }
                })
                .find(|o| o.is_ne())
                .unwrap_or_else(|| compare(&b["id"], &a["id"]))
        });
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SPEC: ListSpec = ListSpec {
        filters: &[
            ("status", "status", Match::Eq),
            ("volume_min", "volume", Match::Min),
            ("volume_max", "volume", Match::Max),
        ],
        search: &["keyword"],
        orderings: &[("volume", "volume"), ("created_at", "created_at")],
        default_ordering: "-created_at",
    };

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn filters_search_and_orders() {
        let rows = vec![
            json!({"id": "1", "keyword": "Dental Implants", "status": "active", "volume": 50, "created_at": "2026-01-01"}),
            json!({"id": "2", "keyword": "braces", "status": "active", "volume": 500, "created_at": "2026-01-03"}),
            json!({"id": "3", "keyword": "implant cost", "status": "archived", "volume": 5, "created_at": "2026-01-02"}),
        ];
        let ids = |v: Vec<Value>| v.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
        assert_eq!(ids(SPEC.apply(rows.clone(), &q(&[])).unwrap()), ["2", "3", "1"]);
        assert_eq!(ids(SPEC.apply(rows.clone(), &q(&[("search", "IMPLANT")])).unwrap()), ["3", "1"]);
        assert_eq!(
            ids(SPEC.apply(rows.clone(), &q(&[("status", "active"), ("ordering", "volume")])).unwrap()),
            ["1", "2"]
        );
        assert_eq!(ids(SPEC.apply(rows.clone(), &q(&[("volume_min", "10"), ("volume_max", "100")])).unwrap()), ["1"]);
        assert!(SPEC.apply(rows.clone(), &q(&[("volume_min", "many")])).is_err());
        assert!(SPEC.apply(rows, &q(&[("ordering", "password")])).is_err());
    }
}
