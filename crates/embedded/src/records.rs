//! Records on redb: one table keyed `api_id/endpoint/record_id`, so an endpoint's records are
//! one contiguous range in id (age) order; index entries in `record_index` and each record's
//! scan entry (`scan_blocks`), both written in the record's own transaction; a count per
//! endpoint. A query no index serves walks the scan blocks newest first and reads only the
//! rows it keeps.

use std::borrow::Cow;
use std::ops::Bound;

use async_trait::async_trait;
use keygate_domain::apis::records::{
    matches_candidate, Access, FirstPositions, KeyRange, ListBounds, ListedRecords, PageCollector,
    Position, QueryPlan, Record, RecordRepository, RemovedRecords,
};
use keygate_domain::apis::EndpointName;
use keygate_domain::{Error, Id, Result};
use redb::{ReadTransaction, ReadableTable, Table, WriteTransaction};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::record_rows::{
    encode_row, endpoint_of_row, entry_id, id_of_row, index_prefix, StoredRow, ID_LEN,
};
use crate::scan_blocks;
use crate::store::EmbeddedStore;
use crate::tables::{child_key, children_of, RECORDS, RECORD_INDEX, RECORD_SCAN};
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
fn stored_size(json: &[u8]) -> Result<u64> {
    serde_json::from_slice::<StoredSize<'_>>(json)
        .map(|stored| stored.data.get().len() as u64)
        .map_err(|e| Error::Internal(format!("stored record is unreadable: {e}")))
}

/// Writes a row, its index entries and its scan entry, first removing the index entries of
/// the row it replaces; whether there was one.
fn put_row(
    txn: &WriteTransaction,
    records: &mut Table<&str, &[u8]>,
    row: &str,
    record: &Record,
    indexed: &[String],
) -> Result<bool> {
    let endpoint = endpoint_of_row(row);
    let encoded = encode_row(endpoint, record, indexed)?;
    let mut index = txn.open_table(RECORD_INDEX).or_unavailable()?;
    let previous = records
        .insert(row, encoded.bytes.as_slice())
        .or_unavailable()?;
    let replaced = match previous {
        Some(old) => {
            let old = old.value();
            for entry in StoredRow::new(old)?.entries(row)? {
                index.remove(entry.as_slice()).or_unavailable()?;
            }
            true
        }
        None => false,
    };
    for entry in &encoded.entries {
        index.insert(entry.as_slice(), ()).or_unavailable()?;
    }
    let mut blocks = txn.open_table(RECORD_SCAN).or_unavailable()?;
    scan_blocks::put(
        &mut blocks,
        endpoint,
        id_of_row(row),
        encoded.bytes.len(),
        encoded.fields(),
    )?;
    Ok(replaced)
}

/// Removes the index entries and the scan entry of the row at `row_key`; the row's record
/// size.
fn drop_entries(txn: &WriteTransaction, row_key: &str, bytes: &[u8]) -> Result<u64> {
    let row = StoredRow::new(bytes)?;
    let entries = row.entries(row_key)?;
    if !entries.is_empty() {
        let mut index = txn.open_table(RECORD_INDEX).or_unavailable()?;
        for entry in entries {
            index.remove(entry.as_slice()).or_unavailable()?;
        }
    }
    let mut blocks = txn.open_table(RECORD_SCAN).or_unavailable()?;
    scan_blocks::remove(&mut blocks, endpoint_of_row(row_key), id_of_row(row_key))?;
    stored_size(row.json)
}

/// The most record bytes a page read on the calling thread decodes (past the first record,
/// which is no more than a single-record read costs); a bigger page is read on the store's
/// reading threads instead.
const INLINE_PAGE_BYTES: usize = 64 * 1024;

/// The most ties of one key an ascending walk holds before walking that key on its own.
const MAX_HELD_TIES: usize = 64;

/// What a walk does with the next candidate: take more, or stop.
enum Step {
    More,
    Stop,
}

impl From<bool> for Step {
    fn from(more: bool) -> Self {
        if more {
            Self::More
        } else {
            Self::Stop
        }
    }
}

/// Reads candidates in the plan's order and offers them to the collector.
struct Lister<'t> {
    records: redb::ReadOnlyTable<&'static str, &'static [u8]>,
    txn: &'t ReadTransaction,
    endpoint: String,
    plan: &'t QueryPlan,
    collector: PageCollector<'t>,
}

impl<'t> Lister<'t> {
    /// Considers the record at `id` (key `key` in a sorted walk).
    fn consider(&mut self, id: &Id, key: Option<Vec<u8>>) -> Result<Step> {
        let row = child_key(&self.endpoint, id.as_str());
        let Some(value) = self.records.get(row.as_str()).or_unavailable()? else {
            // An index entry whose row is gone cannot happen within one transaction; skip.
            return Ok(Step::More);
        };
        let value = value.value();
        let position = || {
            Ok(Position {
                key,
                id: id.clone(),
            })
        };
        self.examine(position, value)
    }

    /// Offers a row; `position` is computed only if the collector needs it.
    fn examine(
        &mut self,
        position: impl FnOnce() -> Result<Position>,
        value: &[u8],
    ) -> Result<Step> {
        let row = StoredRow::new(value)?;
        self.collector
            .offer(
                position,
                value.len(),
                |field| row.field_key(field),
                || row.record(),
            )
            .map(Step::from)
    }

    /// Newest first over the whole endpoint's scan blocks, before the cursor; a row is read
    /// only for a record the page keeps.
    fn scan_newest_first(&mut self) -> Result<()> {
        let blocks = self.txn.open_table(RECORD_SCAN).or_unavailable()?;
        let before = self
            .plan
            .after
            .as_ref()
            .map(|after| after.id.as_str().as_bytes());
        let (start, end) = scan_blocks::bounds(&self.endpoint, before);
        for block in blocks
            .range::<&[u8]>(start.as_slice()..end.as_slice())
            .or_unavailable()?
            .rev()
        {
            let (_, block) = block.or_unavailable()?;
            for entry in scan_blocks::entries(block.value())?.iter().rev() {
                if before.is_some_and(|before| entry.id >= before) {
                    continue;
                }
                let (records, endpoint) = (&self.records, &self.endpoint);
                let more = self.collector.offer(
                    || {
                        Ok(Position {
                            key: None,
                            id: entry.id()?,
                        })
                    },
                    entry.row_len,
                    |field| entry.fields.key(field).map(Cow::Borrowed),
                    || read_record(records, endpoint, &entry.id()?),
                )?;
                if !more {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// A small endpoint sorted by a field: every match's key read from the scan blocks,
    /// sorted, then the page read.
    fn scan_sorted(&mut self, field: &str, descending: bool) -> Result<()> {
        if self.collector.is_counting() {
            return self.scan_newest_first();
        }
        let blocks = self.txn.open_table(RECORD_SCAN).or_unavailable()?;
        let (start, end) = scan_blocks::bounds(&self.endpoint, None);
        let mut found =
            FirstPositions::new(self.collector.wanted(), descending, self.plan.after.clone());
        for block in blocks
            .range::<&[u8]>(start.as_slice()..end.as_slice())
            .or_unavailable()?
        {
            let (_, block) = block.or_unavailable()?;
            for entry in scan_blocks::entries(block.value())? {
                let (matching, _) = matches_candidate(
                    &self.plan.query,
                    |f| entry.fields.key(f).map(Cow::Borrowed),
                    || read_record(&self.records, &self.endpoint, &entry.id()?),
                )?;
                if matching {
                    found.offer(Position {
                        key: Some(entry.fields.key(field)?.to_vec()),
                        id: entry.id()?,
                    });
                }
            }
        }
        for position in found.into_sorted() {
            if let Step::Stop = self.consider(&position.id.clone(), position.key)? {
                break;
            }
        }
        Ok(())
    }

    /// Newest first through one index at several keys, merged.
    fn walk_points(&mut self, field: &str, keys: &[Vec<u8>]) -> Result<()> {
        let index = self.txn.open_table(RECORD_INDEX).or_unavailable()?;
        let prefix = index_prefix(&self.endpoint, field);
        let mut walks = Vec::with_capacity(keys.len());
        for key in keys {
            let mut start = prefix.clone();
            start.extend_from_slice(key);
            let mut end = start.clone();
            match &self.plan.after {
                Some(after) => end.extend_from_slice(after.id.as_str().as_bytes()),
                None => end.push(0xff),
            }
            let range = index
                .range::<&[u8]>(start.as_slice()..end.as_slice())
                .or_unavailable()?;
            walks.push(range.rev().peekable());
        }
        loop {
            // The walk whose next entry has the largest id goes next.
            let mut best: Option<(usize, Id)> = None;
            for (i, walk) in walks.iter_mut().enumerate() {
                if let Some(entry) = walk.peek() {
                    let entry = match entry {
                        Ok((entry, _)) => entry.value(),
                        Err(e) => return Err(Error::Unavailable(format!("record index: {e}"))),
                    };
                    let id = entry_id(entry)?;
                    if best
                        .as_ref()
                        .is_none_or(|(_, top)| id.as_str() > top.as_str())
                    {
                        best = Some((i, id));
                    }
                }
            }
            let Some((i, id)) = best else {
                return Ok(());
            };
            walks[i].next();
            if let Step::Stop = self.consider(&id, None)? {
                return Ok(());
            }
        }
    }

    /// One index over key ranges in key order, ties newest first.
    fn walk_ordered(&mut self, field: &str, ranges: &[KeyRange], descending: bool) -> Result<()> {
        let index = self.txn.open_table(RECORD_INDEX).or_unavailable()?;
        let prefix = index_prefix(&self.endpoint, field);
        let entry_at = |key: &[u8], tail: &[u8]| entry_at(&prefix, key, tail);
        let key_of = |entry: &[u8]| entry[prefix.len()..entry.len() - ID_LEN].to_vec();
        let after = self.plan.after.clone();
        let ordered: Vec<&KeyRange> = if descending {
            ranges.iter().rev().collect()
        } else {
            ranges.iter().collect()
        };
        for range in ordered {
            let (mut start, mut end) = entry_bounds(&prefix, range);
            if descending {
                // Key descending, id descending: one backward walk, before the cursor.
                if let Some(Position { key: Some(key), id }) = &after {
                    end = end.min(entry_at(key, id.as_str().as_bytes()));
                }
                if start >= end {
                    continue;
                }
                let walk = index
                    .range::<&[u8]>(start.as_slice()..end.as_slice())
                    .or_unavailable()?;
                for entry in walk.rev() {
                    let (entry, _) = entry.or_unavailable()?;
                    let entry = entry.value();
                    let id = entry_id(entry)?;
                    if let Step::Stop = self.consider(&id, Some(key_of(entry)))? {
                        return Ok(());
                    }
                }
                continue;
            }
            // Key ascending, ties newest first: each key's entries are walked backwards.
            if let Some(Position { key: Some(key), id }) = &after {
                let resume = entry_at(key, &[0xff]);
                if resume > start && key_in(range, key) {
                    // The rest of the cursor's own key first: older ids of it.
                    let tie_start = entry_at(key, &[]);
                    let tie_end = entry_at(key, id.as_str().as_bytes());
                    let ties = index
                        .range::<&[u8]>(tie_start.as_slice()..tie_end.as_slice())
                        .or_unavailable()?;
                    for entry in ties.rev() {
                        let (entry, _) = entry.or_unavailable()?;
                        let id = entry_id(entry.value())?;
                        if let Step::Stop = self.consider(&id, Some(key.clone()))? {
                            return Ok(());
                        }
                    }
                }
                start = start.max(resume);
            }
            // One forward walk; each key's ids are held until the key changes and then
            // considered newest first. A key with more ties than `MAX_HELD_TIES` is walked
            // backwards on its own instead, so memory stays bounded.
            'walk: while start < end {
                let mut held: Vec<Id> = Vec::new();
                let mut held_key: Option<Vec<u8>> = None;
                let walk = index
                    .range::<&[u8]>(start.as_slice()..end.as_slice())
                    .or_unavailable()?;
                for entry in walk {
                    let (entry, _) = entry.or_unavailable()?;
                    let entry = entry.value();
                    let key = key_of(entry);
                    if held_key.as_ref() != Some(&key) {
                        if let Some(done) = held_key.take() {
                            for id in held.drain(..).rev() {
                                if let Step::Stop = self.consider(&id, Some(done.clone()))? {
                                    return Ok(());
                                }
                            }
                        }
                        held_key = Some(key.clone());
                    }
                    held.push(entry_id(entry)?);
                    if held.len() > MAX_HELD_TIES {
                        let group_end = entry_at(&key, &[0xff]);
                        let group_start = entry_at(&key, &[]).max(start.clone());
                        let group = index
                            .range::<&[u8]>(
                                group_start.as_slice()..group_end.as_slice().min(end.as_slice()),
                            )
                            .or_unavailable()?;
                        for tie in group.rev() {
                            let (tie, _) = tie.or_unavailable()?;
                            let id = entry_id(tie.value())?;
                            if let Step::Stop = self.consider(&id, Some(key.clone()))? {
                                return Ok(());
                            }
                        }
                        start = group_end;
                        continue 'walk;
                    }
                }
                if let Some(done) = held_key {
                    for id in held.into_iter().rev() {
                        if let Step::Stop = self.consider(&id, Some(done.clone()))? {
                            return Ok(());
                        }
                    }
                }
                break;
            }
        }
        Ok(())
    }

    /// Counts index entries over key ranges without reading rows (every condition is on the
    /// walked field).
    fn count_entries(&self, field: &str, ranges: &[KeyRange]) -> Result<u64> {
        let index = self.txn.open_table(RECORD_INDEX).or_unavailable()?;
        let prefix = index_prefix(&self.endpoint, field);
        let mut total = 0;
        for range in ranges {
            let (start, end) = entry_bounds(&prefix, range);
            if start < end {
                for entry in index
                    .range::<&[u8]>(start.as_slice()..end.as_slice())
                    .or_unavailable()?
                {
                    entry.or_unavailable()?;
                    total += 1;
                }
            }
        }
        Ok(total)
    }
}

/// The record `id` of `endpoint`, which its scan entry says is there.
fn read_record(
    records: &redb::ReadOnlyTable<&'static str, &'static [u8]>,
    endpoint: &str,
    id: &Id,
) -> Result<Record> {
    let row = child_key(endpoint, id.as_str());
    match records.get(row.as_str()).or_unavailable()? {
        Some(value) => StoredRow::new(value.value())?.record(),
        None => Err(Error::Internal(format!(
            "record {row} has a scan entry but no row"
        ))),
    }
}

/// The index entry `prefix` + `key` + `tail`.
fn entry_at(prefix: &[u8], key: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut entry = Vec::with_capacity(prefix.len() + key.len() + tail.len());
    entry.extend_from_slice(prefix);
    entry.extend_from_slice(key);
    entry.extend_from_slice(tail);
    entry
}

/// The half-open range of index entries (under `prefix`) whose key lies in `range`: ids are
/// hex, so `key` + 0xFF is past every entry of `key`.
fn entry_bounds(prefix: &[u8], range: &KeyRange) -> (Vec<u8>, Vec<u8>) {
    let start = match &range.start {
        Bound::Included(key) => entry_at(prefix, key, &[]),
        Bound::Excluded(key) => entry_at(prefix, key, &[0xff]),
        Bound::Unbounded => prefix.to_vec(),
    };
    let end = match &range.end {
        Bound::Included(key) => entry_at(prefix, key, &[0xff]),
        Bound::Excluded(key) => entry_at(prefix, key, &[]),
        Bound::Unbounded => entry_at(prefix, &[0xff], &[]),
    };
    (start, end)
}

/// Whether `key` lies in `range`.
fn key_in(range: &KeyRange, key: &[u8]) -> bool {
    range.contains(key)
}

fn lister<'t>(
    txn: &'t ReadTransaction,
    endpoint: String,
    collector: PageCollector<'t>,
) -> Result<Lister<'t>> {
    Ok(Lister {
        records: txn.open_table(RECORDS).or_unavailable()?,
        txn,
        endpoint,
        plan: collector.plan(),
        collector,
    })
}

/// Runs a plan: the records, or (when `counting`) how many match.
fn run(lister: &mut Lister<'_>) -> Result<()> {
    let plan = lister.plan;
    match (&plan.access, plan.query.sort()) {
        (Access::Scan, None) => lister.scan_newest_first(),
        (Access::Scan, Some(sort)) => lister.scan_sorted(&sort.field, sort.descending),
        (Access::Points { field, keys, .. }, _) => lister.walk_points(field, keys),
        (
            Access::Ordered {
                field,
                ranges,
                descending,
                ..
            },
            _,
        ) => lister.walk_ordered(field, ranges, *descending),
    }
}

#[async_trait]
impl RecordRepository for EmbeddedStore {
    async fn insert(&self, record: &Record, indexed: &[String]) -> Result<()> {
        let row = row_key(&record.api_id, &record.endpoint, &record.id);
        let record = record.clone();
        let indexed = indexed.to_vec();
        let endpoint = endpoint_of_row(&row).to_owned();
        let replaced = self
            .write(move |txn| {
                let mut records = txn.open_table(RECORDS).or_unavailable()?;
                put_row(txn, &mut records, &row, &record, &indexed)
            })
            .await?;
        if !replaced {
            self.record_counts.change(&endpoint, 1);
        }
        Ok(())
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
                Some(bytes) => StoredRow::new(bytes.value())?.record().map(Some),
                None => Ok(None),
            }
        })
    }

    async fn list(
        &self,
        api_id: &Id,
        endpoint: &EndpointName,
        plan: &QueryPlan,
        bounds: ListBounds,
    ) -> Result<ListedRecords> {
        let endpoint = endpoint_key(api_id, endpoint);
        let read_page = move |txn: &ReadTransaction, plan: &QueryPlan, bounds: ListBounds| {
            let mut lister = lister(txn, endpoint.clone(), PageCollector::page(plan, bounds))?;
            run(&mut lister)?;
            Ok(lister.collector.into_page())
        };
        if plan.reads_only_matches() {
            // A page's own records and nothing more: a few lookups, as cheap as a find, read
            // on the calling thread while they are small. Only the byte bound can stop such a
            // walk early (nothing is turned away): a page of big records is read again on
            // the reading threads.
            let inline = ListBounds {
                max_bytes: bounds.max_bytes.min(INLINE_PAGE_BYTES),
                ..bounds
            };
            let page = self.read_now(|txn| read_page(txn, plan, inline))?;
            if page.stopped_at.is_none() || inline == bounds {
                return Ok(page);
            }
        }
        let plan = plan.clone();
        self.read(move |txn| read_page(txn, &plan, bounds)).await
    }

    async fn count(&self, api_id: &Id, endpoint: &EndpointName, plan: &QueryPlan) -> Result<u64> {
        let endpoint = endpoint_key(api_id, endpoint);
        let mut plan = plan.clone();
        plan.after = None;
        self.read(move |txn| {
            let mut lister = lister(txn, endpoint, PageCollector::count(&plan))?;
            let walked = match &plan.access {
                Access::Points { field, keys, .. } => Some((
                    field.clone(),
                    keys.iter()
                        .map(|key| KeyRange {
                            start: Bound::Included(key.clone()),
                            end: Bound::Included(key.clone()),
                        })
                        .collect::<Vec<_>>(),
                )),
                Access::Ordered { field, ranges, .. } => Some((field.clone(), ranges.clone())),
                Access::Scan => None,
            };
            if let Some((field, ranges)) = &walked {
                if plan.reads_only_matches() {
                    return lister.count_entries(field, ranges);
                }
            }
            run(&mut lister)?;
            Ok(lister.collector.counted())
        })
        .await
    }

    async fn count_up_to(&self, api_id: &Id, endpoint: &EndpointName, at_most: u64) -> Result<u64> {
        Ok(self
            .record_counts
            .get(&endpoint_key(api_id, endpoint))
            .min(at_most))
    }

    async fn replace(
        &self,
        record: &Record,
        expected_revision: u64,
        indexed: &[String],
    ) -> Result<bool> {
        let row = row_key(&record.api_id, &record.endpoint, &record.id);
        let record = record.clone();
        let indexed = indexed.to_vec();
        self.write(move |txn| {
            let mut records = txn.open_table(RECORDS).or_unavailable()?;
            let stored = records
                .get(row.as_str())
                .or_unavailable()?
                .map(|b| StoredRow::new(b.value()).and_then(|row| row.record()))
                .transpose()?;
            match stored {
                Some(stored) if stored.revision == expected_revision => {
                    put_row(txn, &mut records, &row, &record, &indexed)?;
                    Ok(true)
                }
                _ => Ok(false),
            }
        })
        .await
    }

    async fn reindex(
        &self,
        api_id: &Id,
        endpoint: &EndpointName,
        indexed: &[String],
        after: Option<Id>,
        limit: usize,
    ) -> Result<Option<Id>> {
        let parent = endpoint_key(api_id, endpoint);
        let indexed = indexed.to_vec();
        self.write(move |txn| {
            let mut records = txn.open_table(RECORDS).or_unavailable()?;
            let (start, end) = children_of(&parent);
            let start = match &after {
                Some(after) => format!("{}\u{0}", child_key(&parent, after.as_str())),
                None => start,
            };
            let mut batch = Vec::new();
            for row in records
                .range::<&str>(start.as_str()..end.as_str())
                .or_unavailable()?
                .take(limit)
            {
                let (key, value) = row.or_unavailable()?;
                batch.push((
                    key.value().to_owned(),
                    StoredRow::new(value.value())?.record()?,
                ));
            }
            let mut last = None;
            for (row, record) in batch {
                put_row(txn, &mut records, &row, &record, &indexed)?;
                last = Some(record.id);
            }
            Ok(last)
        })
        .await
    }

    async fn delete(&self, api_id: &Id, endpoint: &EndpointName, id: &Id) -> Result<Option<u64>> {
        let row = row_key(api_id, endpoint, id);
        let endpoint = endpoint_of_row(&row).to_owned();
        let size = self
            .write(move |txn| {
                let mut table = txn.open_table(RECORDS).or_unavailable()?;
                let removed = table.remove(row.as_str()).or_unavailable()?;
                removed
                    .map(|value| drop_entries(txn, &row, value.value()))
                    .transpose()
            })
            .await?;
        if size.is_some() {
            self.record_counts.change(&endpoint, -1);
        }
        Ok(size)
    }

    async fn delete_batch_for_api(
        &self,
        api_id: &Id,
        limit: usize,
        max_bytes: u64,
    ) -> Result<RemovedRecords> {
        let api = api_id.as_str().to_owned();
        let done = self
            .write(move |txn| {
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
                    bytes += stored_size(StoredRow::new(value.value())?.json)?;
                    doomed.push(key.value().to_owned());
                }
                let mut removed = Vec::with_capacity(doomed.len());
                for key in doomed {
                    if let Some(value) = table.remove(key.as_str()).or_unavailable()? {
                        drop_entries(txn, &key, value.value())?;
                        removed.push(endpoint_of_row(&key).to_owned());
                    }
                }
                Ok((removed, bytes))
            })
            .await?;
        let (removed, bytes) = done;
        for endpoint in &removed {
            self.record_counts.change(endpoint, -1);
        }
        Ok(RemovedRecords {
            count: removed.len() as u64,
            bytes,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use keygate_testkit::fixtures::{api, endpoint, record};
    use serde_json::json;

    /// Every scan entry left in the file.
    fn scan_entries(store: &EmbeddedStore) -> usize {
        store
            .read_now(|txn| {
                let blocks = txn.open_table(RECORD_SCAN).or_unavailable()?;
                let mut count = 0;
                for block in blocks.iter().or_unavailable()? {
                    count += scan_blocks::entries(block.or_unavailable()?.1.value())?.len();
                }
                Ok(count)
            })
            .unwrap()
    }

    #[tokio::test]
    async fn every_way_a_record_goes_takes_its_scan_entry_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let owner = Id::generate_ordered(chrono::Utc::now());
        let api = api(&owner, "blocks");
        let mut written = Vec::new();
        for i in 0..300 {
            let name = if i % 10 == 0 { "other" } else { "items" };
            let r = record(&api, name, json!({"n": i, "pad": "x".repeat(i % 200)}));
            store.insert(&r, &["n".into()]).await.unwrap();
            written.push(r);
        }
        assert_eq!(scan_entries(&store), 300);
        // A replacement keeps one entry; a deletion removes it.
        let mut changed = written[5].clone();
        changed.revision += 1;
        assert!(store.replace(&changed, 1, &[]).await.unwrap());
        let gone = &written[7];
        assert!(store
            .delete(&api.id, &endpoint("items"), &gone.id)
            .await
            .unwrap()
            .is_some());
        assert_eq!(scan_entries(&store), 299);
        // Deleting the API's records in batches leaves no entry behind.
        loop {
            let removed = store
                .delete_batch_for_api(&api.id, 64, u64::MAX)
                .await
                .unwrap();
            if removed.count == 0 {
                break;
            }
        }
        assert_eq!(scan_entries(&store), 0);
    }

    #[tokio::test]
    async fn each_endpoints_records_are_counted_again_when_the_file_opens() {
        let dir = tempfile::tempdir().unwrap();
        let owner = Id::generate_ordered(chrono::Utc::now());
        let api = api(&owner, "counts");
        {
            let store = EmbeddedStore::open(dir.path()).unwrap();
            for i in 0..160 {
                let name = if i % 16 == 0 { "other" } else { "items" };
                let r = record(&api, name, json!({"n": i}));
                store.insert(&r, &[]).await.unwrap();
            }
        }
        let store = EmbeddedStore::open(dir.path()).unwrap();
        for (name, expected) in [("items", 150), ("other", 10), ("none", 0)] {
            let counted = store.count_up_to(&api.id, &endpoint(name), 1_000).await;
            assert_eq!(counted.unwrap(), expected, "{name}");
        }
    }
}
