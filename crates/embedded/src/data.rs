//! The key-value store on redb: one table keyed `user_id/key`, so a user's keys are one
//! contiguous range in key order.

use std::ops::Bound;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use keygate_domain::data::{DataEntry, DataKey, DataRepository, ListedEntry};
use keygate_domain::{ConflictKind, Error, Id, Result};
use redb::ReadableTable;
use serde_json::Value;

use crate::rows::{decode, decode_listed, encode};
use crate::store::EmbeddedStore;
use crate::tables::{child_key, children_of, DATA};
use crate::unavailable::OrUnavailable;

#[async_trait]
impl DataRepository for EmbeddedStore {
    async fn insert(&self, entry: &DataEntry) -> Result<()> {
        let entry = entry.clone();
        self.write(move |txn| {
            let mut table = txn.open_table(DATA).or_unavailable()?;
            let row = child_key(entry.user_id.as_str(), entry.key.as_str());
            if table.get(row.as_str()).or_unavailable()?.is_some() {
                return Err(Error::Conflict(ConflictKind::DataKey));
            }
            table
                .insert(row.as_str(), encode(&entry)?.as_slice())
                .or_unavailable()?;
            Ok(())
        })
        .await
    }

    async fn find(&self, user_id: &Id, key: &DataKey) -> Result<Option<DataEntry>> {
        let row = child_key(user_id.as_str(), key.as_str());
        self.read_now(move |txn| {
            match txn
                .open_table(DATA)
                .or_unavailable()?
                .get(row.as_str())
                .or_unavailable()?
            {
                Some(bytes) => decode(bytes.value()).map(Some),
                None => Ok(None),
            }
        })
    }

    async fn replace_value(
        &self,
        expected: &DataEntry,
        value: &Value,
        now: DateTime<Utc>,
    ) -> Result<Option<DataEntry>> {
        let row = child_key(expected.user_id.as_str(), expected.key.as_str());
        let expected = expected.clone();
        let value = value.clone();
        self.write(move |txn| {
            let mut table = txn.open_table(DATA).or_unavailable()?;
            let stored = table
                .get(row.as_str())
                .or_unavailable()?
                .map(|b| decode::<DataEntry>(b.value()))
                .transpose()?;
            if stored.as_ref() != Some(&expected) {
                return Ok(None);
            }
            let entry = DataEntry {
                value: value.clone(),
                updated_at: now,
                ..expected.clone()
            };
            table
                .insert(row.as_str(), encode(&entry)?.as_slice())
                .or_unavailable()?;
            Ok(Some(entry))
        })
        .await
    }

    async fn delete(&self, user_id: &Id, key: &DataKey) -> Result<Option<u64>> {
        let row = child_key(user_id.as_str(), key.as_str());
        self.write(move |txn| {
            let mut table = txn.open_table(DATA).or_unavailable()?;
            let removed = table.remove(row.as_str()).or_unavailable()?;
            // A row that cannot be decoded (stored before values were bounded in depth) is
            // still removed, refunded by its length.
            Ok(removed.map(|bytes| {
                decode::<DataEntry>(bytes.value()).map_or(bytes.value().len(), |entry| entry.size())
                    as u64
            }))
        })
        .await
    }

    async fn list(
        &self,
        user_id: &Id,
        prefix: Option<String>,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<ListedEntry>> {
        let user = user_id.as_str().to_owned();
        self.read(move |txn| {
            let table = txn.open_table(DATA).or_unavailable()?;
            let (first_row, end) = children_of(&user);
            let prefix = prefix.unwrap_or_default();
            // Start at whichever comes later: just past `after`, or the first key with `prefix`.
            let start = match after {
                Some(after) if after.as_str() >= prefix.as_str() => {
                    Bound::Excluded(child_key(&user, &after))
                }
                _ => Bound::Included(format!("{first_row}{prefix}")),
            };
            let range = table
                .range::<&str>((
                    start.as_ref().map(String::as_str),
                    Bound::Excluded(end.as_str()),
                ))
                .or_unavailable()?;
            let mut entries = Vec::new();
            for row in range {
                let (row_key, bytes) = row.or_unavailable()?;
                let key = row_key.value().get(first_row.len()..).unwrap_or_default();
                if !key.starts_with(prefix.as_str()) || entries.len() == limit {
                    break;
                }
                // Decoded as a listing: the value is skipped as text, never parsed.
                entries.push(decode_listed(bytes.value())?);
            }
            Ok(entries)
        })
        .await
    }

    async fn delete_all_for_user(&self, user_id: &Id) -> Result<()> {
        let user = user_id.as_str().to_owned();
        self.write(move |txn| {
            let mut table = txn.open_table(DATA).or_unavailable()?;
            let (start, end) = children_of(&user);
            table
                .retain_in::<&str, _>(start.as_str()..end.as_str(), |_, _| false)
                .or_unavailable()?;
            Ok(())
        })
        .await
    }
}
