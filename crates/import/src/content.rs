//! What a source holds besides accounts, as found by the earlier systems' conventions: 000's
//! APIs (with their clear-text keys) and records, 002's key-value entries. Owners are named
//! as the source names them; the caller resolves them to Keygate ids.

use chrono::{DateTime, Utc};
use keygate_domain::import::{LegacyApi, LegacyEntry, LegacyRecord, Owned};
use serde_json::{Map, Value};

use crate::fields::{as_text, as_time};

/// The fields naming an API's owner in 000's `apis` documents.
const OWNER_FIELDS: [&str; 6] = [
    "user_id",
    "owner_id",
    "owner",
    "created_by",
    "user",
    "username",
];
/// The fields of a record document that are 000's bookkeeping, not the record.
const RECORD_META: [&str; 8] = [
    "_id",
    "api_id",
    "api",
    "api_name",
    "endpoint",
    "endpoint_name",
    "created_at",
    "updated_at",
];

/// The first present, non-null field of `names`.
fn field<'a>(record: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names
        .iter()
        .find_map(|n| record.get(*n))
        .filter(|v| !v.is_null())
}

/// A text field (ids as their hex).
fn text(record: &Map<String, Value>, names: &[&str]) -> Option<String> {
    field(record, names).and_then(as_text)
}

/// A time field.
fn time(record: &Map<String, Value>, names: &[&str]) -> Option<DateTime<Utc>> {
    field(record, names).and_then(as_time)
}

/// One document of 000's `apis` collection.
pub(crate) fn api(document: &Map<String, Value>) -> Owned<LegacyApi> {
    let mut keys = Vec::new();
    for value in ["api_key", "key", "api_keys", "keys"]
        .iter()
        .filter_map(|n| document.get(*n))
    {
        match value {
            Value::String(key) => keys.push(key.clone()),
            Value::Array(list) => keys.extend(list.iter().filter_map(|k| match k {
                Value::String(key) => Some(key.clone()),
                Value::Object(o) => text(o, &["key", "api_key", "value"]),
                _ => None,
            })),
            _ => {}
        }
    }
    keys.dedup();
    Owned {
        owner: text(document, &OWNER_FIELDS).unwrap_or_default(),
        item: LegacyApi {
            source_id: text(document, &["_id", "id", "api_id"]).unwrap_or_default(),
            owner_id: None,
            api_name: field(document, &["api_name", "name"]).cloned(),
            endpoints: field(document, &["endpoints"]).cloned(),
            json_schema: field(document, &["json_schema", "schemas", "schema"]).cloned(),
            keys,
            created_at: time(document, &["created_at", "created"]),
        },
    }
}

/// One document of a 000 records collection: either 000's shared `records` collection (it
/// names its API and endpoint, the record under `data` or beside them), or a collection of
/// one endpoint's records (`api_source_id` and `endpoint` given).
pub(crate) fn record(
    document: &Map<String, Value>,
    api_source_id: Option<&str>,
    endpoint: Option<&str>,
) -> LegacyRecord {
    let data = match field(document, &["data", "record", "body"]) {
        Some(Value::Object(data)) if api_source_id.is_none() => Value::Object(data.clone()),
        _ => Value::Object(
            document
                .iter()
                .filter(|(name, _)| !RECORD_META.contains(&name.as_str()))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
        ),
    };
    LegacyRecord {
        source_id: text(document, &["_id", "id", "record_id"]).unwrap_or_default(),
        api_source_id: api_source_id
            .map(str::to_owned)
            .or_else(|| text(document, &["api_id", "api", "api_name"]))
            .unwrap_or_default(),
        endpoint: endpoint
            .map(str::to_owned)
            .or_else(|| text(document, &["endpoint", "endpoint_name"]))
            .unwrap_or_default(),
        data,
        created_at: time(document, &["created_at", "created"]),
    }
}

/// One row of 002's key-value table (`user_id, key, value, created_at, updated_at`). A
/// value held as text is read as JSON when it is JSON (SQLAlchemy's `JSON` type on SQLite),
/// else kept as the text.
pub(crate) fn entry(row: &Map<String, Value>) -> Owned<LegacyEntry> {
    let value = match field(row, &["value", "data"]) {
        Some(Value::String(text)) => {
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone()))
        }
        Some(other) => other.clone(),
        None => Value::Null,
    };
    Owned {
        owner: text(row, &["user_id", "owner_id", "owner"]).unwrap_or_default(),
        item: LegacyEntry {
            owner_id: None,
            key: text(row, &["key", "name"]).unwrap_or_default(),
            value,
            created_at: time(row, &["created_at", "created"]),
            updated_at: time(row, &["updated_at", "modified_at", "updated"]),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn apis_are_read_with_their_keys_and_owner() {
        let found = api(&object(json!({
            "_id": "6553f1000000000000000009", "user_id": "6553f1000000000000000001",
            "api_name": "My API", "endpoints": ["e"], "json_schema": {"e": {"type": "object"}},
            "api_key": "0123456789abcdef0123456789abcdef",
            "keys": [{"key": "fedcba9876543210fedcba9876543210"}, 7]
        })));
        assert_eq!(found.owner, "6553f1000000000000000001");
        assert_eq!(found.item.source_id, "6553f1000000000000000009");
        assert_eq!(found.item.api_name, Some(json!("My API")));
        assert_eq!(
            found.item.keys,
            vec![
                "0123456789abcdef0123456789abcdef".to_owned(),
                "fedcba9876543210fedcba9876543210".to_owned()
            ]
        );
    }

    #[test]
    fn records_come_from_a_shared_collection_or_one_per_endpoint() {
        let shared = record(
            &object(json!({"_id": "r1", "api_id": "a1", "endpoint": "e",
                           "data": {"n": 1}, "created_at": "2021-01-02T03:04:05Z"})),
            None,
            None,
        );
        assert_eq!(
            (shared.api_source_id.as_str(), shared.endpoint.as_str()),
            ("a1", "e")
        );
        assert_eq!(shared.data, json!({"n": 1}));
        assert!(shared.created_at.is_some());
        let own = record(
            &object(json!({"_id": "r2", "n": 2, "data": 3})),
            Some("a1"),
            Some("e"),
        );
        assert_eq!(own.data, json!({"n": 2, "data": 3}));
    }

    #[test]
    fn entries_read_json_text_as_json_and_other_text_as_text() {
        let json_text = entry(&object(
            json!({"user_id": 7, "key": "k", "value": "{\"a\":[1]}"}),
        ));
        assert_eq!(json_text.owner, "7");
        assert_eq!(json_text.item.value, json!({"a": [1]}));
        let plain = entry(&object(
            json!({"user_id": 7, "key": "k", "value": "plain words"}),
        ));
        assert_eq!(plain.item.value, json!("plain words"));
    }
}
