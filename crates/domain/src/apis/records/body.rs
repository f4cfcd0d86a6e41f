//! A record's document as compact JSON text.
//!
//! Bodies pass from the store to the response as the text they were stored as: a page of
//! records costs its own size in memory, not the ~45 times more of a parsed tree, and the
//! text (member order, number spelling, `-0`) comes back exactly. They are parsed only to be
//! validated, merged or filtered, and a filter reads the top level alone.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::index_key::{exact_raw_key, missing_key, raw_key};
use crate::error::{Error, Result};

/// The top-level members of a document, in order, each value as unparsed text.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct MembersVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for MembersVisitor<'a> {
            type Value = Members<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some((name, value)) = map.next_entry::<String, &'a RawValue>()? {
                    members.push((name, value));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor(std::marker::PhantomData))
    }
}

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

    fn members(&self) -> Result<Members<'_>> {
        serde_json::from_str(self.as_str())
            .map_err(|e| Error::Internal(format!("stored record body is unreadable: {e}")))
    }

    /// The [`index_key`](super::index_key) of every top-level member, by name, in order.
    /// Reads the top level only: nested values are skipped as text.
    pub fn field_keys(&self) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(self
            .members()?
            .0
            .into_iter()
            .map(|(name, raw)| {
                let key = raw_key(raw);
                (name, key)
            })
            .collect())
    }

    /// The key of the top-level member `field` ([`missing_key`] when there is none).
    pub fn field_key(&self, field: &str) -> Result<Vec<u8>> {
        Ok(self
            .members()?
            .0
            .into_iter()
            .find(|(name, _)| name == field)
            .map_or_else(missing_key, |(_, raw)| raw_key(raw)))
    }

    /// The whole-value key of the top-level member `field` (nothing cut, see
    /// [`exact_raw_key`]); [`missing_key`] when there is none.
    pub fn exact_field_key(&self, field: &str) -> Result<Vec<u8>> {
        Ok(self
            .members()?
            .0
            .into_iter()
            .find(|(name, _)| name == field)
            .map_or_else(missing_key, |(_, raw)| exact_raw_key(raw)))
    }

    /// The document cut down to the members named in `fields`, in the document's order.
    pub fn project(&self, fields: &[String]) -> Result<Self> {
        let mut text = String::from("{");
        for (name, raw) in self.members()?.0 {
            if fields.iter().any(|f| f == &name) {
                if text.len() > 1 {
                    text.push(',');
                }
                let name = serde_json::to_string(&name)
                    .map_err(|e| Error::Internal(format!("cannot encode a field name: {e}")))?;
                text.push_str(&name);
                text.push(':');
                text.push_str(raw.get());
            }
        }
        text.push('}');
        Self::from_stored(text)
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
    fn field_keys_read_the_top_level_in_order() {
        use crate::apis::records::value_key;
        let body = RecordBody::from_stored(
            r#"{"qty":5.0,"name":"tea","done":true,"gone":null,"list":[1],"o":{"a":1}}"#.into(),
        )
        .expect("json");
        let keys = body.field_keys().expect("readable");
        let names: Vec<&str> = keys.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["qty", "name", "done", "gone", "list", "o"]);
        assert_eq!(keys[0].1, value_key(&json!(5)));
        assert_eq!(keys[1].1, value_key(&json!("tea")));
        assert_eq!(keys[4].1, value_key(&json!([])));
    }

    #[test]
    fn projection_keeps_the_named_members_verbatim() {
        let body = RecordBody::from_stored(r#"{"a":1.50,"b":{"x":[1]},"c":"\u00e9"}"#.into())
            .expect("json");
        let cut = body
            .project(&["c".into(), "a".into(), "z".into()])
            .expect("cut");
        assert_eq!(cut.as_str(), r#"{"a":1.50,"c":"\u00e9"}"#);
        assert_eq!(body.project(&[]).expect("cut").as_str(), "{}");
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
