//! The stored shape of records.
//!
//! The document is kept as its JSON text (`body`): BSON cannot hold every JSON value exactly
//! (integers above 2^63, `1.0` next to `1`), and the contract promises exact round trips. So
//! that `?field=value` filters still run inside MongoDB on an index, every top-level scalar is
//! also written to `fields` as a token `<length of name>:<name><scalar key>` (the domain's
//! [`scalar_key`], hashed when long): one multikey index on
//! `(api_id, endpoint, fields, _id)` serves every filtered list.

use keygate_domain::apis::records::{FieldFilter, Record, RecordBody};
use keygate_domain::apis::EndpointName;
use keygate_domain::{Error, Result};
use mongodb::bson::oid::ObjectId;
use mongodb::bson::DateTime as BsonDateTime;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::documents::{bson_time, domain_id, domain_time, object_id};

/// Scalar keys longer than this are indexed by their SHA-256 digest instead.
const MAX_INLINE_KEY: usize = 128;

/// The index token of a top-level field holding a value with this scalar key.
pub fn field_token(field: &str, key: &str) -> String {
    let key = if key.len() > MAX_INLINE_KEY {
        format!("#{}", hex::encode(Sha256::digest(key.as_bytes())))
    } else {
        key.to_owned()
    };
    format!("{}:{field}{key}", field.len())
}

/// Every token a filter accepts.
pub fn filter_tokens(filter: &FieldFilter) -> Vec<String> {
    filter
        .accepted_keys()
        .iter()
        .map(|key| field_token(filter.field(), key))
        .collect()
}

fn tokens(data: &RecordBody) -> Result<Vec<String>> {
    Ok(data
        .top_level_scalars()?
        .iter()
        .map(|(field, key)| field_token(field, key))
        .collect())
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
    /// Filter tokens of its top-level scalars (not read back: lists leave them out).
    #[serde(default)]
    fields: Vec<String>,
    /// Its size as counted against the owner's quota ([`Record::size`]).
    #[serde(default)]
    size: i64,
    created_at: BsonDateTime,
    updated_at: BsonDateTime,
    revision: i64,
}

impl RecordDocument {
    /// The document of `record`.
    pub fn from_record(record: &Record) -> Result<Self> {
        Ok(Self {
            id: object_id(&record.id)?,
            api_id: object_id(&record.api_id)?,
            endpoint: record.endpoint.as_str().to_owned(),
            body: record.data.as_str().to_owned(),
            fields: tokens(&record.data)?,
            size: i64::try_from(record.size())
                .map_err(|e| Error::Internal(format!("record size out of range: {e}")))?,
            created_at: bson_time(record.created_at),
            updated_at: bson_time(record.updated_at),
            revision: i64::try_from(record.revision)
                .map_err(|e| Error::Internal(format!("revision out of range: {e}")))?,
        })
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
    fn tokens_cannot_collide_across_field_names() {
        // Field "a" holding "b…" and field "a…b" must never share a token.
        assert_ne!(field_token("a", "s:=s:x"), field_token("a=s:", "s:x"));
        assert_eq!(field_token("qty", "n:5"), "3:qtyn:5");
        let long = format!("s:{}", "x".repeat(500));
        let token = field_token("f", &long);
        assert!(token.len() < 100 && token.starts_with("1:f#"), "{token}");
    }
}
