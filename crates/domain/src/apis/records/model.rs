//! The record entity.

use chrono::{DateTime, Utc};

use super::body::RecordBody;
use super::plan::Position;
use crate::apis::EndpointName;
use crate::id::Id;

/// One JSON object stored at one endpoint of one API.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The record's id; ids sort by creation time, so id order is age order.
    pub id: Id,
    /// The API it belongs to.
    pub api_id: Id,
    /// The endpoint it was written to.
    pub endpoint: EndpointName,
    /// The document as compact JSON text (member order and number text as sent).
    pub data: RecordBody,
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
        self.data.len()
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

/// How much one list may read and return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListBounds {
    /// The most records returned.
    pub limit: usize,
    /// Records stop being added once they hold this many bytes together (at least one is).
    pub max_bytes: usize,
    /// The most records a read examines that the conditions then turn away.
    pub max_examined: usize,
    /// The most bytes of records a read examines that the conditions then turn away.
    pub max_examined_bytes: usize,
}

/// What one list read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListedRecords {
    /// The records, newest first.
    pub records: Vec<Record>,
    /// Set when a bound other than `limit` stopped the read before the endpoint's end: the
    /// position of the last record examined, after which the next page goes on.
    pub stopped_at: Option<Position>,
}
