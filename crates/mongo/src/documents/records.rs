//! The stored shape of records.
//!
//! The document is kept as its JSON text (`body`): BSON cannot hold every JSON value exactly
//! (integers above 2^63, `1.0` next to `1`), and the contract promises exact round trips. So
//! that declared indexes (§11) are real MongoDB indexes, each record also holds `ix`: slot
//! `i<n>` is the hex of the domain's index key of the endpoint's `n`-th indexed field (hex
//! keeps the keys' byte order under MongoDB's string comparison). Records written before
//! §11 may still hold `fields` (filter tokens), which nothing reads any more.

use keygate_domain::apis::records::{hex_key, missing_key, Record, RecordBody};
use keygate_domain::apis::EndpointName;
use keygate_domain::{Error, Result};
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{DateTime as BsonDateTime, Document};
use serde::{Deserialize, Serialize};

use super::convert::{bson_time, domain_id, domain_time, object_id};

/// The `ix` subdocument of a record for the endpoint's indexed fields, in declaration order.
pub fn index_slots(data: &RecordBody, indexed: &[String]) -> Result<Document> {
    let keys = data.field_keys()?;
    let mut slots = Document::new();
    for (slot, field) in indexed.iter().enumerate() {
        let key = keys
            .iter()
            .find(|(name, _)| name == field)
            .map_or_else(missing_key, |(_, key)| key.clone());
        slots.insert(format!("i{slot}"), hex_key(&key));
    }
    Ok(slots)
}

/// A record as stored in `records`.
#[derive(Debug, Serialize, Deserialize)]
pub struct RecordDocument {
    #[serde(rename = "_id")]
    id: ObjectId,
    api_id: ObjectId,
    endpoint: String,
    /// The document as JSON text.
    body: String,
    /// Index keys by slot (not read back: lists leave them out).
    #[serde(default)]
    ix: Document,
    /// Its size as counted against the owner's quota ([`Record::size`]).
    #[serde(default)]
    size: i64,
    created_at: BsonDateTime,
    updated_at: BsonDateTime,
    revision: i64,
}

impl RecordDocument {
    /// The document of `record`, with index keys for `indexed`.
    pub fn from_record(record: &Record, indexed: &[String]) -> Result<Self> {
        Ok(Self {
            id: object_id(&record.id)?,
            api_id: object_id(&record.api_id)?,
            endpoint: record.endpoint.as_str().to_owned(),
            body: record.data.as_str().to_owned(),
            ix: index_slots(&record.data, indexed)?,
            size: i64::try_from(record.size())
                .map_err(|e| Error::Internal(format!("record size out of range: {e}")))?,
            created_at: bson_time(record.created_at),
            updated_at: bson_time(record.updated_at),
            revision: i64::try_from(record.revision)
                .map_err(|e| Error::Internal(format!("revision out of range: {e}")))?,
        })
    }

    /// Its id as hex text, which sorts as the id does.
    pub fn id_text(&self) -> String {
        self.id.to_hex()
    }

    /// The size of the record it holds, as counted against its owner's quota.
    pub fn size(&self) -> u64 {
        u64::try_from(self.size).unwrap_or(0)
    }

    /// The record this document holds, validated.
    pub fn into_record(self) -> Result<Record> {
        let invalid = |what: &str, e: &dyn std::fmt::Display| {
            Error::Internal(format!("stored record {what} is invalid: {e}"))
        };
        Ok(Record {
            id: domain_id(self.id)?,
            api_id: domain_id(self.api_id)?,
            endpoint: EndpointName::new(&self.endpoint, "endpoint")
                .map_err(|v| invalid("endpoint", &v))?,
            data: RecordBody::from_stored(self.body)?,
            created_at: domain_time(self.created_at)?,
            updated_at: domain_time(self.updated_at)?,
            revision: u64::try_from(self.revision).map_err(|e| invalid("revision", &e))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_hold_hex_keys_in_declaration_order() {
        let data = RecordBody::from_stored(r#"{"b":"x","a":5}"#.into()).expect("json");
        let slots = index_slots(&data, &["a".into(), "missing".into()]).expect("slots");
        let a = keygate_domain::apis::records::number_key("5").expect("a number");
        assert_eq!(slots.get_str("i0").ok(), Some(hex_key(&a).as_str()));
        assert_eq!(slots.get_str("i1").ok(), Some("00"));
        assert_eq!(slots.len(), 2);
    }
}
