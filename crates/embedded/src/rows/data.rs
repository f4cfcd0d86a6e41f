//! The key-value data table's row, and its listed part (everything but the value).

use chrono::{DateTime, Utc};
use keygate_domain::data::{DataEntry, DataKey, ListedEntry};
use keygate_domain::{Error, Id, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::stored::Stored;

/// A key-value entry.
#[derive(Serialize, Deserialize)]
pub(crate) struct DataRow {
    user_id: Id,
    key: DataKey,
    value: Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Stored for DataEntry {
    type Row = DataRow;
    fn to_row(&self) -> DataRow {
        DataRow {
            user_id: self.user_id.clone(),
            key: self.key.clone(),
            value: self.value.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
    fn from_row(row: DataRow) -> Self {
        Self {
            user_id: row.user_id,
            key: row.key,
            value: row.value,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// The listed part of a key-value row: everything but the value, which is skipped unread.
#[derive(Deserialize)]
struct ListedRow {
    key: DataKey,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// Reads the listed part of a key-value row.
pub(crate) fn decode_listed(bytes: &[u8]) -> Result<ListedEntry> {
    serde_json::from_slice::<ListedRow>(bytes)
        .map(|row| ListedEntry {
            key: row.key,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
        .map_err(|e| Error::Internal(format!("stored document is unreadable: {e}")))
}
