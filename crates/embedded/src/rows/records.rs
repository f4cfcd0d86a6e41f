//! The records table's row as JSON; its binary layout with field keys is `record_rows`.

use chrono::{DateTime, Utc};
use keygate_domain::apis::records::{Record, RecordBody};
use keygate_domain::apis::EndpointName;
use keygate_domain::Id;
use serde::{Deserialize, Serialize};

use super::stored::Stored;

/// A record; its body is kept as the very JSON text it was stored as.
#[derive(Serialize, Deserialize)]
pub(crate) struct RecordRow {
    id: Id,
    api_id: Id,
    endpoint: EndpointName,
    data: RecordBody,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    revision: u64,
}

impl Stored for Record {
    type Row = RecordRow;
    fn to_row(&self) -> RecordRow {
        RecordRow {
            id: self.id.clone(),
            api_id: self.api_id.clone(),
            endpoint: self.endpoint.clone(),
            data: self.data.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            revision: self.revision,
        }
    }
    fn from_row(row: RecordRow) -> Self {
        Self {
            id: row.id,
            api_id: row.api_id,
            endpoint: row.endpoint,
            data: row.data,
            created_at: row.created_at,
            updated_at: row.updated_at,
            revision: row.revision,
        }
    }
}
