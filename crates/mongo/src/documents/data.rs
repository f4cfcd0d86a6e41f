//! Key-value entries as stored in `data`, and the listed part of one (never the value).

use keygate_domain::data::{DataEntry, DataKey, ListedEntry};
use keygate_domain::{Error, Result};
use mongodb::bson::oid::ObjectId;
use mongodb::bson::DateTime as BsonDateTime;
use serde::{Deserialize, Serialize};

use super::convert::{bson_time, domain_id, domain_time, object_id};

/// A key-value entry as stored in `data`; `(user_id, key)` is uniquely indexed.
#[derive(Debug, Serialize, Deserialize)]
pub struct DataDocument {
    #[serde(rename = "_id")]
    id: ObjectId,
    user_id: ObjectId,
    key: String,
    /// The value as JSON text (see the module doc of `data`).
    value: String,
    created_at: BsonDateTime,
    updated_at: BsonDateTime,
}

/// The fields of a data document a listing reads: never the value.
#[derive(Debug, Deserialize)]
pub struct ListedDocument {
    key: String,
    created_at: BsonDateTime,
    updated_at: BsonDateTime,
}

impl ListedDocument {
    /// The listed key, validated.
    pub fn into_listed(self) -> Result<ListedEntry> {
        Ok(ListedEntry {
            key: DataKey::new(&self.key)
                .map_err(|e| Error::Internal(format!("stored key is invalid: {e}")))?,
            created_at: domain_time(self.created_at)?,
            updated_at: domain_time(self.updated_at)?,
        })
    }
}

impl DataDocument {
    /// The stored text of a value.
    pub fn value_text(value: &serde_json::Value) -> Result<String> {
        serde_json::to_string(value)
            .map_err(|e| Error::Internal(format!("cannot encode value: {e}")))
    }

    /// The document of `entry`, with a fresh `_id`.
    pub fn from_entry(entry: &DataEntry) -> Result<Self> {
        Ok(Self {
            id: ObjectId::new(),
            user_id: object_id(&entry.user_id)?,
            key: entry.key.as_str().to_owned(),
            value: Self::value_text(&entry.value)?,
            created_at: bson_time(entry.created_at),
            updated_at: bson_time(entry.updated_at),
        })
    }

    /// What the entry counts against its owner's quota ([`DataEntry::size`]): its key and
    /// its value's text, which is the compact JSON the entry was stored with.
    pub fn size(&self) -> usize {
        self.key.len() + self.value.len()
    }

    /// The value's text as stored.
    pub fn value_text_stored(&self) -> &str {
        &self.value
    }

    /// When the entry last changed, as stored.
    pub fn updated_at(&self) -> BsonDateTime {
        self.updated_at
    }

    /// The entry this document holds, validated.
    pub fn into_entry(self) -> Result<DataEntry> {
        Ok(DataEntry {
            user_id: domain_id(self.user_id)?,
            key: DataKey::new(&self.key)
                .map_err(|e| Error::Internal(format!("stored key is invalid: {e}")))?,
            value: serde_json::from_str(&self.value)
                .map_err(|e| Error::Internal(format!("stored value is not JSON: {e}")))?,
            created_at: domain_time(self.created_at)?,
            updated_at: domain_time(self.updated_at)?,
        })
    }
}
