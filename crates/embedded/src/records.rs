//! Records on redb: one table keyed `api_id/endpoint/record_id`, so an endpoint's records are
//! one contiguous range in id (age) order, read backwards for newest first.

use std::ops::Bound;

use async_trait::async_trait;
use keygate_domain::apis::EndpointName;
use keygate_domain::records::{FieldFilter, Record, RecordRepository, RemovedRecords};
use keygate_domain::{Id, Result};
use redb::ReadableTable;

use crate::store::{decode, encode, EmbeddedStore, OrUnavailable};
use crate::tables::{child_key, children_of, RECORDS};

fn endpoint_key(api_id: &Id, endpoint: &EndpointName) -> String {
    child_key(api_id.as_str(), endpoint.as_str())
}

fn row_key(api_id: &Id, endpoint: &EndpointName, id: &Id) -> String {
    child_key(&endpoint_key(api_id, endpoint), id.as_str())
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
        limit: usize,
    ) -> Result<Vec<Record>> {
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
            let mut found = Vec::new();
            for row in range.rev() {
                if found.len() == limit {
                    break;
                }
                let (_, bytes) = row.or_unavailable()?;
                let record: Record = decode(bytes.value())?;
                if filters.iter().all(|f| f.matches(&record.data)) {
                    found.push(record);
                }
            }
            Ok(found)
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

    async fn delete(&self, api_id: &Id, endpoint: &EndpointName, id: &Id) -> Result<bool> {
        let row = row_key(api_id, endpoint, id);
        self.write(move |txn| {
            let removed = txn
                .open_table(RECORDS)
                .or_unavailable()?
                .remove(row.as_str())
                .or_unavailable()?
                .is_some();
            Ok(removed)
        })
        .await
    }

    async fn delete_batch_for_api(&self, api_id: &Id, limit: usize) -> Result<RemovedRecords> {
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
                let (key, value) = row.or_unavailable()?;
                bytes += decode::<Record>(value.value())?.size() as u64;
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
