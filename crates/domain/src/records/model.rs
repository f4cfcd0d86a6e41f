//! The record entity.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::apis::EndpointName;
use crate::id::Id;

/// One JSON object stored at one endpoint of one API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The record's id; ids sort by creation time, so id order is age order.
    pub id: Id,
    /// The API it belongs to.
    pub api_id: Id,
    /// The endpoint it was written to.
    pub endpoint: EndpointName,
    /// The document, exactly as sent (member order, number text).
    pub data: Map<String, Value>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Counts changes: a write succeeds only against the revision it read.
    pub revision: u64,
}

impl Record {
    /// What the record counts against its owner's byte quota: its document as compact JSON.
    pub fn size(&self) -> usize {
        serde_json::to_vec(&self.data).map_or(0, |v| v.len())
    }
}

/// What one batch deletion removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RemovedRecords {
    /// How many records went.
    pub count: u64,
    /// Their total [`Record::size`].
    pub bytes: u64,
}
