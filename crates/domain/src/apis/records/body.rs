//! A record's document as compact JSON text.
//!
//! Bodies pass from the store to the response as the text they were stored as: a page of
//! records costs its own size in memory, not the ~45 times more of a parsed tree, and the
//! text (member order, number spelling, `-0`) comes back exactly. They are parsed only to be
//! validated, merged or filtered, and a filter reads the top level alone.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::filter::scalar_key;
use crate::error::{Error, Result};

/// A record's document: a JSON object, as compact text. Serialises as that JSON, verbatim.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordBody(Box<RawValue>);

impl RecordBody {
    /// The compact text of `document`.
    pub fn from_object(document: &Map<String, Value>) -> Result<Self> {
        let text = serde_json::to_string(document)
            .map_err(|e| Error::Internal(format!("cannot encode a record: {e}")))?;
        Self::from_stored(text)
    }

    /// A body read back from a store, which wrote it with [`Self::as_str`]. Checked to be
    /// JSON (in one pass, building nothing), so that what is served is always JSON.
    pub fn from_stored(text: String) -> Result<Self> {
        RawValue::from_string(text)
            .map(Self)
            .map_err(|e| Error::Internal(format!("stored record body is not JSON: {e}")))
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// What the record counts against its owner's byte quota: the length of its text.
    pub fn len(&self) -> usize {
        self.as_str().len()
    }

    /// Whether the text is empty (never, for a stored record: `{}` at the least).
    pub fn is_empty(&self) -> bool {
        self.as_str().is_empty()
    }

    /// The document as a JSON object, for a merge.
    pub fn to_object(&self) -> Result<Map<String, Value>> {
        serde_json::from_str(self.as_str())
            .map_err(|e| Error::Internal(format!("stored record body is unreadable: {e}")))
    }

    /// The scalar key ([`scalar_key`]) of every top-level member holding a scalar, by name.
    /// Reads the top level only: nested values are skipped as text.
    pub fn top_level_scalars(&self) -> Result<HashMap<String, String>> {
        let members: HashMap<String, &RawValue> = serde_json::from_str(self.as_str())
            .map_err(|e| Error::Internal(format!("stored record body is unreadable: {e}")))?;
        Ok(members
            .into_iter()
            .filter_map(|(name, raw)| raw_scalar_key(raw).map(|key| (name, key)))
            .collect())
    }
}

/// The scalar key of a raw JSON value; `None` for objects and arrays, which are not parsed.
fn raw_scalar_key(raw: &RawValue) -> Option<String> {
    match raw.get().trim_start().as_bytes().first() {
        Some(b'{' | b'[') | None => None,
        Some(_) => serde_json::from_str::<Value>(raw.get())
            .ok()
            .as_ref()
            .and_then(scalar_key),
    }
}

impl PartialEq for RecordBody {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for RecordBody {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_round_trips_exactly_and_serialises_verbatim() {
        let text = r#"{"b":-0,"c":-0.0,"a":1.50,"big":18446744073709551616,"n":{"x":[1,2]}}"#;
        let body = RecordBody::from_stored(text.to_owned()).expect("json");
        assert_eq!(body.as_str(), text);
        assert_eq!(body.len(), text.len());
        assert_eq!(
            serde_json::to_string(&json!({"data": body})).expect("serialises"),
            format!(r#"{{"data":{text}}}"#)
        );
        assert!(RecordBody::from_stored("{".into()).is_err());
    }

    #[test]
    fn top_level_scalars_skip_nested_values() {
        let body = RecordBody::from_stored(
            r#"{"qty":5.0,"name":"tea","done":true,"gone":null,"list":[1],"o":{"a":1}}"#.into(),
        )
        .expect("json");
        let scalars = body.top_level_scalars().expect("readable");
        assert_eq!(scalars.len(), 4);
        assert_eq!(scalars["qty"], "n:5");
        assert_eq!(scalars["name"], "s:tea");
        assert_eq!(scalars["done"], "b:true");
        assert_eq!(scalars["gone"], "z:null");
    }

    #[test]
    fn deep_bodies_decode_inside_a_wrapper() {
        // A body nested almost to serde_json's limit still decodes inside a stored row: the
        // row's decoder skips the body as text instead of descending into it.
        let deep = format!("{}{}", "[".repeat(127), "]".repeat(127));
        let text = format!(r#"{{"d":{deep}}}"#);
        #[derive(Deserialize)]
        struct Row {
            data: RecordBody,
        }
        let row: Row =
            serde_json::from_str(&format!(r#"{{"id":"x","data":{text}}}"#)).expect("decodes");
        assert_eq!(row.data.as_str(), text);
    }
}
