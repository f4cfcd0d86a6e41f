//! Request bodies of the key-value routes, turned into commands of value objects: every
//! rule about what a client may send is checked here, every violation reported at once.

use serde_json::{Map, Value};

use super::model::DataKey;
use crate::error::{Error, FieldViolation, Result, Violations};
use crate::json::{nests_too_deep, MAX_DOCUMENT_DEPTH};

/// A value may nest at most [`MAX_DOCUMENT_DEPTH`] levels, so a stored entry can always be
/// read back whatever wraps it.
fn checked_value(value: Value) -> std::result::Result<Value, FieldViolation> {
    if nests_too_deep(&value) {
        Err(FieldViolation::new(
            "value",
            format!("nests deeper than {MAX_DOCUMENT_DEPTH} levels of arrays and objects"),
        ))
    } else {
        Ok(value)
    }
}

/// A new entry to store: `POST /api/data` `{"key", "value"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    /// Its key.
    pub key: DataKey,
    /// Its value (`null` is a value).
    pub value: Value,
}

impl NewEntry {
    /// Parses the body: `key` and `value` are required (an empty key counts as absent), the
    /// key must be a valid [`DataKey`], the value nest at most [`MAX_DOCUMENT_DEPTH`] levels.
    pub fn parse(mut body: Map<String, Value>) -> Result<Self> {
        let key = match body.remove("key") {
            None | Some(Value::Null) => None,
            Some(Value::String(key)) if key.is_empty() => None,
            Some(Value::String(key)) => Some(key),
            Some(_) => return Err(Error::invalid("key", "must be a string")),
        };
        let (key, value) = match (key, body.remove("value")) {
            (Some(key), Some(value)) => (key, value),
            (key, value) => {
                return Err(Error::missing(&[
                    ("key", key.is_none()),
                    ("value", value.is_none()),
                ]))
            }
        };
        let mut violations = Violations::default();
        let key = violations.keep(DataKey::new(&key));
        let value = violations.keep(checked_value(value));
        violations.finish_with(key.zip(value).map(|(key, value)| Self { key, value }))
    }
}

/// A new value for an existing key: `PUT /api/data/{key}` `{"value"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Replacement {
    /// The key, from the path.
    pub key: DataKey,
    /// Its new value.
    pub value: Value,
}

impl Replacement {
    /// Parses the key from the path, then the body's required `value`.
    pub fn parse(raw_key: &str, mut body: Map<String, Value>) -> Result<Self> {
        let key = DataKey::new(raw_key)?;
        let value = body
            .remove("value")
            .ok_or_else(|| Error::MissingParameters(vec!["value".into()]))?;
        Ok(Self {
            key,
            value: checked_value(value)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn a_new_entry_needs_a_key_and_a_value_but_null_is_a_value() {
        match NewEntry::parse(Map::new()) {
            Err(Error::MissingParameters(fields)) => assert_eq!(fields, vec!["key", "value"]),
            other => panic!("expected missing parameters, got {other:?}"),
        }
        assert!(matches!(
            NewEntry::parse(body(json!({"key": "", "value": 1}))),
            Err(Error::MissingParameters(_))
        ));
        assert!(matches!(
            NewEntry::parse(body(json!({"key": 5, "value": 1}))),
            Err(Error::Validation(_))
        ));
        let entry = NewEntry::parse(body(json!({"key": "k", "value": null}))).expect("valid");
        assert_eq!((entry.key.as_str(), entry.value), ("k", Value::Null));
    }

    #[test]
    fn every_violation_of_a_new_entry_is_reported_at_once() {
        let mut deep = json!(1);
        for _ in 0..=MAX_DOCUMENT_DEPTH {
            deep = json!([deep]);
        }
        match NewEntry::parse(body(json!({"key": "a\u{1}", "value": deep}))) {
            Err(Error::Validation(violations)) => {
                let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
                assert_eq!(fields, ["/key", "/value"]);
            }
            other => panic!("expected both violations, got {other:?}"),
        }
    }

    #[test]
    fn a_replacement_checks_the_path_key_first_then_needs_a_value() {
        assert!(matches!(
            Replacement::parse(&"x".repeat(257), Map::new()),
            Err(Error::Validation(_))
        ));
        assert!(matches!(
            Replacement::parse("k", Map::new()),
            Err(Error::MissingParameters(_))
        ));
        let replacement = Replacement::parse("k", body(json!({"value": [1]}))).expect("valid");
        assert_eq!(replacement.value, json!([1]));
    }
}
