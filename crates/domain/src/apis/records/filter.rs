//! `?field=value` equality filters on top-level record fields.
//!
//! A query string only carries text, so a filter matches a top-level field whose value is that
//! text as a string, or a number, boolean or `null` written that way: `?qty=5` matches
//! `"qty": 5`, `"qty": 5.0` and `"qty": "5"`; `?done=true` matches `true` and `"true"`.
//! Objects and arrays never match. Both stores compare through [`scalar_key`], so they agree.

use std::collections::HashMap;

use serde_json::{Number, Value};

use crate::error::FieldViolation;

/// The most filters one list request may carry.
pub const MAX_FILTERS: usize = 16;

/// The comparable key of a scalar JSON value (`None` for objects and arrays): a kind letter,
/// `:`, then the text. Numbers are compared by value (`5`, `5.0` and `5e0` share one key).
pub fn scalar_key(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(format!("s:{text}")),
        Value::Number(number) => canonical_number(&number.to_string()).map(|n| format!("n:{n}")),
        Value::Bool(flag) => Some(format!("b:{flag}")),
        Value::Null => Some("z:null".to_owned()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// One text for every spelling of a number's value: integers in plain decimal, everything else
/// in Rust's shortest round-trip exponent form.
fn canonical_number(text: &str) -> Option<String> {
    if let Ok(integer) = text.parse::<i128>() {
        return Some(integer.to_string());
    }
    let float: f64 = text.parse().ok()?;
    if !float.is_finite() {
        return None;
    }
    if float.fract() == 0.0 && float.abs() < 1e18 {
        return Some((float as i128).to_string());
    }
    Some(format!("{float:e}"))
}

/// One equality filter: a top-level field and the scalar keys that satisfy it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldFilter {
    field: String,
    accepted: Vec<String>,
}

impl FieldFilter {
    /// A filter on `field` for the query text `value`.
    pub fn new(field: &str, value: &str) -> Result<Self, FieldViolation> {
        if field.is_empty() || field.len() > 256 || field.starts_with('$') || field.contains('\0') {
            return Err(FieldViolation::new(
                "query",
                format!("'{field}' cannot be filtered on: not a field name a record may have"),
            ));
        }
        let mut accepted = vec![format!("s:{value}")];
        match value {
            "true" | "false" => accepted.push(format!("b:{value}")),
            "null" => accepted.push("z:null".to_owned()),
            _ => {
                if let Some(number) = serde_json::from_str::<Number>(value)
                    .ok()
                    .and_then(|n| canonical_number(&n.to_string()))
                {
                    accepted.push(format!("n:{number}"));
                }
            }
        }
        Ok(Self {
            field: field.to_owned(),
            accepted,
        })
    }

    /// The top-level field filtered on.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The scalar keys a field value may have to match.
    pub fn accepted_keys(&self) -> &[String] {
        &self.accepted
    }

    /// Whether a record whose top-level scalars have these keys (by field name, as
    /// [`super::RecordBody::top_level_scalars`] gives them) satisfies this filter.
    pub fn matches(&self, scalars: &HashMap<String, String>) -> bool {
        scalars
            .get(&self.field)
            .is_some_and(|key| self.accepted.contains(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn matches(field: &str, value: &str, data: Value) -> bool {
        let body = super::super::RecordBody::from_stored(data.to_string()).expect("json");
        FieldFilter::new(field, value)
            .expect("filter")
            .matches(&body.top_level_scalars().expect("an object"))
    }

    #[test]
    fn numbers_match_by_value_and_text_matches_strings() {
        assert!(matches("qty", "5", json!({"qty": 5})));
        assert!(matches("qty", "5", json!({"qty": 5.0})));
        assert!(matches("qty", "5.0", json!({"qty": 5})));
        assert!(matches("qty", "5", json!({"qty": "5"})));
        assert!(!matches("qty", "5", json!({"qty": 6})));
        assert!(!matches("qty", "5", json!({"qty": [5]})));
        assert!(!matches("qty", "5", json!({"other": 5})));
        assert!(matches("p", "0.1", json!({"p": 0.1})));
        assert!(matches("name", "Zoë", json!({"name": "Zoë"})));
        assert!(!matches("name", "zoë", json!({"name": "Zoë"})));
        assert!(matches("done", "true", json!({"done": true})));
        assert!(!matches("done", "true", json!({"done": false})));
        assert!(matches("gone", "null", json!({"gone": null})));
        assert!(matches(
            "big",
            "12345678901234567890",
            json!({"big": 12345678901234567890_u64})
        ));
    }

    #[test]
    fn operator_like_field_names_are_refused() {
        assert!(FieldFilter::new("$where", "1").is_err());
        assert!(FieldFilter::new("", "1").is_err());
        assert!(FieldFilter::new("a\u{0}", "1").is_err());
    }
}
