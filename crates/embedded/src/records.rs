//! Records on redb: one table keyed `api_id/endpoint/record_id`, so an endpoint's records are
//! one contiguous range in id (age) order, read backwards for newest first.

use std::ops::Bound;

use async_trait::async_trait;
use keygate_domain::apis::records::{
    FieldFilter, ListBounds, ListedRecords, Record, RecordRepository, RemovedRecords,
};
use keygate_domain::apis::EndpointName;
use keygate_domain::{Error, Id, Result};
use redb::ReadableTable;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::rows::{decode, encode};
use crate::store::EmbeddedStore;
use crate::tables::{child_key, children_of, RECORDS};
use crate::unavailable::OrUnavailable;

fn endpoint_key(api_id: &Id, endpoint: &EndpointName) -> String {
    child_key(api_id.as_str(), endpoint.as_str())
}

fn row_key(api_id: &Id, endpoint: &EndpointName, id: &Id) -> String {
    child_key(&endpoint_key(api_id, endpoint), id.as_str())
}

/// The one part of a stored record a deletion needs: its body, borrowed as text. Reading it
/// skips the body in one pass and builds nothing, however large or deep the body is.
#[derive(Deserialize)]
struct StoredSize<'a> {
    #[serde(borrow)]
    data: &'a RawValue,
}

/// A stored record's [`Record::size`], read without parsing its body.
fn stored_size(row: &[u8]) -> Result<u64> {
    serde_json::from_slice::<StoredSize<'_>>(row)
        .map(|stored| stored.data.get().len() as u64)
        .map_err(|e| Error::Internal(format!("stored record is unreadable: {e}")))
}

/// The record id at the end of a row key `api/endpoint/id`.
fn id_of_row(row: &str) -> Result<Id> {
    row.rsplit('/')
        .next()
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| Error::Internal(format!("record row key {row:?} has no id")))
}

#[async_trait]
impl RecordRepository for EmbeddedStore {
    async fn insert(&self, record: &Record) -> Result<()> {
        let row = row_key(&record.api_id, &record.endpoint, &record.id);
        let bytes = encode(record)?;
        self.write(move |txn| {
            txn.open_table(RECORDS)
                .or_unavailable()?
                .insert(row.as_str(), bytes.as_slice())
                .or_unavailable()?;
            Ok(())
        })
        .await
    }

    async fn find(&self, api_id: &Id, endpoint: &EndpointName, id: &Id) -> Result<Option<Record>> {
        let row = row_key(api_id, endpoint, id);
        self.read_now(move |txn| {
            match txn
                .open_table(RECORDS)
                .or_unavailable()?
                .get(row.as_str())
                .or_unavailable()?
            {
                Some(bytes) => decode(bytes.value()).map(Some),
                None => Ok(None),
            }
        })
    }

    async fn list(
        &self,
        api_id: &Id,
        endpoint: &EndpointName,
        filters: &[FieldFilter],
        before: Option<Id>,
        bounds: ListBounds,
    ) -> Result<ListedRecords> {
        let parent = endpoint_key(api_id, endpoint);
        let filters = filters.to_vec();
        self.read(move |txn| {
            let table = txn.open_table(RECORDS).or_unavailable()?;
            let (start, end) = children_of(&parent);
            let end = match &before {
                Some(before) => Bound::Excluded(child_key(&parent, before.as_str())),
                None => Bound::Excluded(end),
            };
            let range = table
                .range::<&str>((
                    Bound::Included(start.as_str()),
                    end.as_ref().map(String::as_str),
                ))
                .or_unavailable()?;
            let mut listed = ListedRecords::default();
            let (mut bytes, mut examined, mut examined_bytes) = (0, 0, 0);
            let mut last_examined = None;
            for row in range.rev() {
                if listed.records.len() == bounds.limit {
                    break;
                }
                let (key, value) = row.or_unavailable()?;
                // Without an index a filter that matches little would read the whole
                // endpoint: stop after `max_examined` rows (or as many bytes) and let the
                // cursor go on.
                if !filters.is_empty()
                    && (examined == bounds.max_examined
                        || examined_bytes >= bounds.max_examined_bytes)
                {
                    listed.stopped_at = last_examined;
                    break;
                }
                examined += 1;
                examined_bytes += value.value().len();
                let record: Record = decode(value.value())?;
                let id = id_of_row(key.value())?;
                if filters.is_empty() || {
                    let scalars = record.data.top_level_scalars()?;
                    filters.iter().all(|f| f.matches(&scalars))
                } {
                    if !listed.records.is_empty() && bytes + record.size() > bounds.max_bytes {
                        listed.stopped_at = listed.records.last().map(|r: &Record| r.id.clone());
                        break;
                    }
                    bytes += record.size();
                    listed.records.push(record);
                }
                last_examined = Some(id);
            }
            Ok(listed)
        })
        .await
    }

    async fn replace(&self, record: &Record, expected_revision: u64) -> Result<bool> {
        let row = row_key(&record.api_id, &record.endpoint, &record.id);
        let bytes = encode(record)?;
        self.write(move |txn| {
            let mut table = txn.open_table(RECORDS).or_unavailable()?;
            let stored = table
                .get(row.as_str())
                .or_unavailable()?
                .map(|b| decode::<Record>(b.value()))
                .transpose()?;
            match stored {
                Some(stored) if stored.revision == expected_revision => {
                    table
                        .insert(row.as_str(), bytes.as_slice())
                        .or_unavailable()?;
                    Ok(true)
                }
                _ => Ok(false),
            }
        })
        .await
    }

    async fn delete(&self, api_id: &Id, endpoint: &EndpointName, id: &Id) -> Result<Option<u64>> {
        let row = row_key(api_id, endpoint, id);
        self.write(move |txn| {
            let mut table = txn.open_table(RECORDS).or_unavailable()?;
            let removed = table.remove(row.as_str()).or_unavailable()?;
            removed.map(|value| stored_size(value.value())).transpose()
        })
        .await
    }

    async fn delete_batch_for_api(
        &self,
        api_id: &Id,
        limit: usize,
        max_bytes: u64,
    ) -> Result<RemovedRecords> {
        let api = api_id.as_str().to_owned();
        self.write(move |txn| {
            let mut table = txn.open_table(RECORDS).or_unavailable()?;
            let (start, end) = children_of(&api);
            let mut doomed = Vec::new();
            let mut bytes = 0;
            for row in table
                .range::<&str>(start.as_str()..end.as_str())
                .or_unavailable()?
                .take(limit)
            {
                if bytes >= max_bytes {
                    break;
                }
                let (key, value) = row.or_unavailable()?;
                bytes += stored_size(value.value())?;
                doomed.push(key.value().to_owned());
            }
            for key in &doomed {
                table.remove(key.as_str()).or_unavailable()?;
            }
            Ok(RemovedRecords {
                count: doomed.len() as u64,
                bytes,
            })
        })
        .await
    }
}
