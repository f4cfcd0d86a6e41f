//! Scan blocks: the field keys of each endpoint's records, packed a few dozen to a table row,
//! so a query no index serves walks one row per block instead of one per record. redb spends
//! about 0.06 µs on every row a range walk passes, more than comparing a record's stored keys
//! with the query costs; in a block that cost is shared by all its records.
//!
//! Table `record_scan`:
//! - a key is `api_id/endpoint` NUL `id`, where `id` is a lower bound of the block's record
//!   ids: a block holds ids from its own key up to (not including) the next block's key, so
//!   the block of an id is the last block whose key is not above it;
//! - a value is the block's entries in id order, each the record id (24 ASCII bytes), the
//!   stored row's length (`u32`), the length of the field keys (`u32`), and the field keys
//!   (the section of the row's header that [`FieldKeys`] reads).
//!
//! Every write of a record row changes its entry in the same transaction. A block that grows
//! past [`BLOCK_BYTES`] or [`BLOCK_ENTRIES`] is split; an id after every id of its block (ids
//! grow with time, so nearly every insert) then starts a block of its own and leaves the full
//! one as it is. Deletions only shrink blocks (an empty one is removed).

use std::collections::HashMap;
use std::ops::Bound;

use keygate_domain::{Error, Id, Result};
use redb::{Database, ReadTransaction, ReadableDatabase, ReadableTable, Table};

use crate::record_rows::{
    endpoint_of_row, id_of_row, parse_id, u32_at, FieldKeys, StoredRow, ID_LEN,
};
use crate::tables::{RECORDS, RECORD_SCAN, STORE_FORMAT};
use crate::unavailable::OrUnavailable;

/// A block is split once its entries pass this many bytes (about one redb page)...
const BLOCK_BYTES: usize = 4096;
/// ...or once it holds more entries than this.
const BLOCK_ENTRIES: usize = 64;
/// Bytes of an entry besides its field keys: id, row length, field keys length.
const ENTRY_OVERHEAD: usize = ID_LEN + 4 + 4;
/// The `store_format` row saying every record has its scan entry.
const BUILT_MARKER: &str = "record_scan_blocks";
/// Rows per write transaction while building the blocks of an older file.
const BUILD_BATCH: usize = 20_000;

/// The scan blocks table.
type Blocks<'t> = Table<'t, &'static [u8], &'static [u8]>;

fn corrupt(what: &str) -> Error {
    Error::Internal(format!("stored scan block is unreadable: {what}"))
}

/// One record's entry in a block, read in place.
pub(crate) struct Entry<'a> {
    /// The record id, as stored (24 ASCII hex digits).
    pub id: &'a [u8],
    /// The length of the record's stored row.
    pub row_len: usize,
    /// The record's field keys.
    pub fields: FieldKeys<'a>,
    /// Where the entry's bytes lie in its block.
    span: (usize, usize),
}

impl Entry<'_> {
    /// The record id.
    pub fn id(&self) -> Result<Id> {
        parse_id(self.id).ok_or_else(|| corrupt("an entry without a record id"))
    }
}

/// Whether a block of `entries` entries and `bytes` bytes is past its limits.
fn over_limits(entries: usize, bytes: usize) -> bool {
    entries > BLOCK_ENTRIES || bytes > BLOCK_BYTES
}

/// `block` with the bytes at `span` replaced by `with`.
fn spliced(block: &[u8], (start, end): (usize, usize), with: &[u8]) -> Vec<u8> {
    let mut changed = Vec::with_capacity(block.len() - (end - start) + with.len());
    changed.extend_from_slice(&block[..start]);
    changed.extend_from_slice(with);
    changed.extend_from_slice(&block[end..]);
    changed
}

/// The entries of a block, in id order.
pub(crate) fn entries(block: &[u8]) -> Result<Vec<Entry<'_>>> {
    let mut entries = Vec::with_capacity(BLOCK_ENTRIES);
    let mut at = 0;
    while at < block.len() {
        let short = || corrupt("short entry");
        let row_len = u32_at(block, at + ID_LEN).ok_or_else(short)?;
        let fields_len = u32_at(block, at + ID_LEN + 4).ok_or_else(short)?;
        let end = at + ENTRY_OVERHEAD + fields_len;
        let fields = block.get(at + ENTRY_OVERHEAD..end).ok_or_else(short)?;
        entries.push(Entry {
            id: &block[at..at + ID_LEN],
            row_len,
            fields: FieldKeys(fields),
            span: (at, end),
        });
        at = end;
    }
    Ok(entries)
}

/// The key of the block starting at `id` in `endpoint` (`api_id/endpoint`).
fn block_key(endpoint: &str, id: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(endpoint.len() + 1 + id.len());
    key.extend_from_slice(endpoint.as_bytes());
    key.push(0);
    key.extend_from_slice(id);
    key
}

/// The half-open range of block keys of `endpoint` whose blocks may hold ids before `before`
/// (every block when `None`).
pub(crate) fn bounds(endpoint: &str, before: Option<&[u8]>) -> (Vec<u8>, Vec<u8>) {
    let start = block_key(endpoint, &[]);
    let end = match before {
        Some(id) => block_key(endpoint, id),
        None => {
            let mut end = endpoint.as_bytes().to_vec();
            end.push(1);
            end
        }
    };
    (start, end)
}

fn encode_entry(out: &mut Vec<u8>, id: &[u8], row_len: usize, fields: &[u8]) -> Result<()> {
    if id.len() != ID_LEN {
        return Err(corrupt("a record id of another length"));
    }
    let row_len = u32::try_from(row_len).map_err(|_| corrupt("a row over 4 GiB"))?;
    let fields_len = u32::try_from(fields.len()).map_err(|_| corrupt("field keys over 4 GiB"))?;
    out.extend_from_slice(id);
    out.extend_from_slice(&row_len.to_le_bytes());
    out.extend_from_slice(&fields_len.to_le_bytes());
    out.extend_from_slice(fields);
    Ok(())
}

/// The block that holds (or would hold) `id`: its key and bytes, if the endpoint has one
/// whose key is not above `id`.
fn block_of(blocks: &Blocks<'_>, endpoint: &str, id: &[u8]) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
    let start = block_key(endpoint, &[]);
    let target = block_key(endpoint, id);
    let found = blocks
        .range::<&[u8]>(start.as_slice()..=target.as_slice())
        .or_unavailable()?
        .next_back()
        .transpose()
        .or_unavailable()?;
    Ok(found.map(|(key, value)| (key.value().to_vec(), value.value().to_vec())))
}

/// Adds the entry of record `id` at `endpoint`, or replaces it: its row is `row_len` bytes and
/// `fields` its field keys section.
pub(crate) fn put(
    blocks: &mut Blocks<'_>,
    endpoint: &str,
    id: &str,
    row_len: usize,
    fields: &[u8],
) -> Result<()> {
    let id = id.as_bytes();
    let (key, block) = match block_of(blocks, endpoint, id)? {
        Some(found) => found,
        None => {
            // Before every block: the first block (if any) takes it, and `id` as its key.
            let (start, end) = bounds(endpoint, None);
            let first = blocks
                .range::<&[u8]>(start.as_slice()..end.as_slice())
                .or_unavailable()?
                .next()
                .transpose()
                .or_unavailable()?
                .map(|(key, value)| (key.value().to_vec(), value.value().to_vec()));
            match first {
                Some((old_key, block)) => {
                    blocks.remove(old_key.as_slice()).or_unavailable()?;
                    (block_key(endpoint, id), block)
                }
                None => (block_key(endpoint, id), Vec::new()),
            }
        }
    };
    let found = entries(&block)?;
    let position = found.partition_point(|entry| entry.id < id);
    let replaced = found.get(position).filter(|entry| entry.id == id);
    let (cut_start, cut_end) = match replaced {
        Some(entry) => entry.span,
        None => {
            let at = found
                .get(position)
                .map_or(block.len(), |entry| entry.span.0);
            (at, at)
        }
    };
    let count = found.len() + usize::from(replaced.is_none());
    let appended = replaced.is_none() && position == found.len();
    let mut entry = Vec::with_capacity(ENTRY_OVERHEAD + fields.len());
    encode_entry(&mut entry, id, row_len, fields)?;
    let grown = block.len() - (cut_end - cut_start) + entry.len();
    let full = over_limits(count, grown);
    if full && appended && !found.is_empty() {
        // After every id of a full block: a block of its own, the full one untouched.
        let own = block_key(endpoint, id);
        blocks
            .insert(own.as_slice(), entry.as_slice())
            .or_unavailable()?;
        return Ok(());
    }
    let changed = spliced(&block, (cut_start, cut_end), &entry);
    if full && count > 1 {
        // Split in the middle of its bytes (never leaving a half empty): the second half under
        // its first id.
        let halves = entries(&changed)?;
        let middle = halves
            .iter()
            .skip(1)
            .find(|entry| entry.span.1 > changed.len() / 2)
            .unwrap_or(&halves[halves.len() - 1]);
        let second_key = block_key(endpoint, middle.id);
        let at = middle.span.0;
        blocks
            .insert(key.as_slice(), &changed[..at])
            .or_unavailable()?;
        blocks
            .insert(second_key.as_slice(), &changed[at..])
            .or_unavailable()?;
        return Ok(());
    }
    blocks
        .insert(key.as_slice(), changed.as_slice())
        .or_unavailable()?;
    Ok(())
}

/// Removes the entry of record `id` at `endpoint`, if there is one.
pub(crate) fn remove(blocks: &mut Blocks<'_>, endpoint: &str, id: &str) -> Result<()> {
    let id = id.as_bytes();
    let Some((key, block)) = block_of(blocks, endpoint, id)? else {
        return Ok(());
    };
    let found = entries(&block)?;
    let Some(entry) = found.iter().find(|entry| entry.id == id) else {
        return Ok(());
    };
    if found.len() == 1 {
        blocks.remove(key.as_slice()).or_unavailable()?;
        return Ok(());
    }
    let changed = spliced(&block, entry.span, &[]);
    blocks
        .insert(key.as_slice(), changed.as_slice())
        .or_unavailable()?;
    Ok(())
}

/// The records of every endpoint in the file (`api_id/endpoint` → count), read from the
/// blocks: a few dozen records to a row, where the records table has one row per record.
/// Blocks hold every record once the store has opened ([`build_if_incomplete`]).
pub(crate) fn records_per_endpoint(txn: &ReadTransaction) -> Result<HashMap<String, u64>> {
    let mut counts: HashMap<String, u64> = HashMap::new();
    let blocks = txn.open_table(RECORD_SCAN).or_unavailable()?;
    for block in blocks.iter().or_unavailable()? {
        let (key, value) = block.or_unavailable()?;
        let key = key.value();
        let endpoint = key
            .iter()
            .position(|&b| b == 0)
            .and_then(|at| std::str::from_utf8(&key[..at]).ok())
            .ok_or_else(|| corrupt("a block key without its endpoint"))?;
        let records = entries(value.value())?.len() as u64;
        match counts.get_mut(endpoint) {
            Some(count) => *count += records,
            None => {
                counts.insert(endpoint.to_owned(), records);
            }
        }
    }
    Ok(counts)
}

/// Fills full blocks from rows offered in key order (building the blocks of an older file).
#[derive(Default)]
struct Builder {
    endpoint: String,
    key: Vec<u8>,
    block: Vec<u8>,
    count: usize,
}

impl Builder {
    fn add(
        &mut self,
        blocks: &mut Blocks<'_>,
        endpoint: &str,
        id: &str,
        row_len: usize,
        fields: &[u8],
    ) -> Result<()> {
        let entry_len = ENTRY_OVERHEAD + fields.len();
        if endpoint != self.endpoint
            || (self.count > 0 && over_limits(self.count + 1, self.block.len() + entry_len))
        {
            self.flush(blocks)?;
            endpoint.clone_into(&mut self.endpoint);
        }
        if self.count == 0 {
            self.key = block_key(endpoint, id.as_bytes());
        }
        encode_entry(&mut self.block, id.as_bytes(), row_len, fields)?;
        self.count += 1;
        Ok(())
    }

    fn flush(&mut self, blocks: &mut Blocks<'_>) -> Result<()> {
        if self.count > 0 {
            blocks
                .insert(self.key.as_slice(), self.block.as_slice())
                .or_unavailable()?;
        }
        self.block.clear();
        self.count = 0;
        Ok(())
    }
}

/// Gives every record its scan entry if the file's blocks are not known to be complete (a file
/// written before scan blocks existed, or a build cut short): the blocks are built again from
/// the records, in batches of [`BUILD_BATCH`] rows. Runs at open, before any other write.
pub(crate) fn build_if_incomplete(db: &Database) -> Result<()> {
    let read = db.begin_read().or_unavailable()?;
    let built = match read.open_table(STORE_FORMAT) {
        Ok(format) => format.get(BUILT_MARKER).or_unavailable()?.is_some(),
        Err(redb::TableError::TableDoesNotExist(_)) => false,
        Err(e) => return Err(e).or_unavailable(),
    };
    drop(read);
    if built {
        return Ok(());
    }
    let txn = db.begin_write().or_unavailable()?;
    txn.delete_table(RECORD_SCAN).or_unavailable()?;
    txn.open_table(RECORD_SCAN).or_unavailable()?;
    txn.commit().or_unavailable()?;
    let mut after: Option<String> = None;
    loop {
        let txn = db.begin_write().or_unavailable()?;
        let last = {
            let records = txn.open_table(RECORDS).or_unavailable()?;
            let mut blocks = txn.open_table(RECORD_SCAN).or_unavailable()?;
            let rows = match &after {
                Some(after) => {
                    records.range::<&str>((Bound::Excluded(after.as_str()), Bound::Unbounded))
                }
                None => records.range::<&str>(..),
            }
            .or_unavailable()?;
            let mut builder = Builder::default();
            let mut last = None;
            for row in rows.take(BUILD_BATCH) {
                let (key, value) = row.or_unavailable()?;
                let key = key.value();
                let endpoint = endpoint_of_row(key);
                let id = id_of_row(key);
                let bytes = value.value();
                let fields = StoredRow::new(bytes)?.fields()?;
                builder.add(&mut blocks, endpoint, id, bytes.len(), &fields)?;
                last = Some(key.to_owned());
            }
            builder.flush(&mut blocks)?;
            last
        };
        let done = last.is_none();
        if done {
            txn.open_table(STORE_FORMAT)
                .or_unavailable()?
                .insert(BUILT_MARKER, 1)
                .or_unavailable()?;
        }
        txn.commit().or_unavailable()?;
        if done {
            return Ok(());
        }
        after = last;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const ENDPOINT: &str = "6553f1000000000000000003/items";

    fn id(n: u64) -> String {
        format!("{n:024x}")
    }

    /// Field keys of `len` bytes, recognisable by `n`.
    fn fields(n: u64, len: usize) -> Vec<u8> {
        let mut fields = n.to_le_bytes().to_vec();
        fields.resize(len.max(8), 0xab);
        fields
    }

    /// Every block of the endpoint, checked against the layout's rules, and the entries they
    /// hold (id → (row length, field keys)) in order.
    fn read_all(db: &Database) -> BTreeMap<String, (usize, Vec<u8>)> {
        let txn = db.begin_read().unwrap();
        let blocks = txn.open_table(RECORD_SCAN).unwrap();
        let (start, end) = bounds(ENDPOINT, None);
        let mut all = BTreeMap::new();
        let mut previous_last: Option<Vec<u8>> = None;
        for block in blocks
            .range::<&[u8]>(start.as_slice()..end.as_slice())
            .unwrap()
        {
            let (key, value) = block.unwrap();
            let key = key.value()[ENDPOINT.len() + 1..].to_vec();
            let found = entries(value.value()).unwrap();
            assert!(!found.is_empty(), "an empty block is removed");
            assert!(
                found.len() <= BLOCK_ENTRIES,
                "a block over its count is split"
            );
            assert!(
                value.value().len() <= BLOCK_BYTES
                    || found
                        .iter()
                        .any(|entry| entry.span.1 - entry.span.0 > BLOCK_BYTES / 4),
                "a block of small entries over its bytes is split"
            );
            assert!(
                found[0].id >= key.as_slice(),
                "a block's key bounds its ids"
            );
            if let Some(last) = &previous_last {
                assert!(key.as_slice() > last.as_slice(), "blocks do not overlap");
            }
            for pair in found.windows(2) {
                assert!(pair[0].id < pair[1].id, "entries are in id order");
            }
            for entry in &found {
                all.insert(
                    String::from_utf8(entry.id.to_vec()).unwrap(),
                    (entry.row_len, entry.fields.0.to_vec()),
                );
            }
            previous_last = Some(found[found.len() - 1].id.to_vec());
        }
        all
    }

    fn write(db: &Database, work: impl FnOnce(&mut Blocks<'_>)) {
        let txn = db.begin_write().unwrap();
        {
            let mut blocks = txn.open_table(RECORD_SCAN).unwrap();
            work(&mut blocks);
        }
        txn.commit().unwrap();
    }

    #[test]
    fn blocks_follow_every_put_and_remove_in_any_order() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("blocks.redb")).unwrap();
        let mut expected: BTreeMap<String, (usize, Vec<u8>)> = BTreeMap::new();
        // A fixed pseudo-random walk: appends (the common case), inserts before and between
        // blocks, replacements that grow and shrink entries, removals, and a few entries
        // bigger than a block.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut appended = 1_000_000;
        for round in 0..40 {
            write(&db, |blocks| {
                for _ in 0..100 {
                    let roll = next();
                    let n = match roll % 4 {
                        0 | 1 => {
                            appended += 1 + roll % 3;
                            appended
                        }
                        _ => next() % 1_001_000,
                    };
                    let len = match next() % 50 {
                        0 => 5_000,
                        k => (k as usize) * 7,
                    };
                    if roll % 5 == 4 && !expected.is_empty() {
                        let victim = expected
                            .keys()
                            .nth((next() % expected.len() as u64) as usize)
                            .unwrap()
                            .clone();
                        remove(blocks, ENDPOINT, &victim).unwrap();
                        expected.remove(&victim);
                    } else {
                        let record = id(n);
                        put(blocks, ENDPOINT, &record, n as usize, &fields(n, len)).unwrap();
                        expected.insert(record, (n as usize, fields(n, len)));
                    }
                }
                // Removing what is not there changes nothing.
                remove(blocks, ENDPOINT, &id(2_000_000)).unwrap();
            });
            assert_eq!(read_all(&db), expected, "after round {round}");
        }
        assert!(expected.len() > 1_000, "the walk spans many blocks");
        write(&db, |blocks| {
            for record in expected.keys() {
                remove(blocks, ENDPOINT, record).unwrap();
            }
        });
        assert!(read_all(&db).is_empty());
    }

    #[test]
    fn appends_fill_blocks_rather_than_halving_them() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("blocks.redb")).unwrap();
        write(&db, |blocks| {
            for n in 0..(BLOCK_ENTRIES as u64 * 10) {
                put(blocks, ENDPOINT, &id(n), 100, &fields(n, 8)).unwrap();
            }
        });
        let txn = db.begin_read().unwrap();
        let blocks = txn.open_table(RECORD_SCAN).unwrap();
        let sizes: Vec<usize> = blocks
            .iter()
            .unwrap()
            .map(|block| entries(block.unwrap().1.value()).unwrap().len())
            .collect();
        assert_eq!(sizes, vec![BLOCK_ENTRIES; 10]);
    }

    #[test]
    fn an_older_file_gets_its_blocks_and_a_cut_short_build_is_redone() {
        use crate::record_rows::encode_row;
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("blocks.redb")).unwrap();
        let now = chrono::Utc::now();
        let txn = db.begin_write().unwrap();
        let mut expected = BTreeMap::new();
        {
            let mut records = txn.open_table(RECORDS).unwrap();
            for n in 0..(BUILD_BATCH as u64 + 10) {
                let record = keygate_domain::apis::records::Record {
                    id: id(n).parse().unwrap(),
                    api_id: "6553f1000000000000000003".parse().unwrap(),
                    endpoint: keygate_domain::apis::EndpointName::new("items", "").unwrap(),
                    data: keygate_domain::apis::records::RecordBody::from_stored(format!(
                        "{{\"n\":{n}}}"
                    ))
                    .unwrap(),
                    created_at: now,
                    updated_at: now,
                    revision: 1,
                };
                let row = encode_row(ENDPOINT, &record, &[]).unwrap();
                let fields = row.fields().to_vec();
                // Every other row as a file older than headers holds it: the JSON alone.
                let bytes = if n % 2 == 0 {
                    row.bytes
                } else {
                    crate::rows::encode(&record).unwrap()
                };
                expected.insert(id(n), (bytes.len(), fields));
                let key = format!("{ENDPOINT}/{}", id(n));
                records.insert(key.as_str(), bytes.as_slice()).unwrap();
            }
        }
        txn.commit().unwrap();
        build_if_incomplete(&db).unwrap();
        assert_eq!(read_all(&db), expected);

        // A build cut short leaves no marker: the next open builds again from nothing.
        let txn = db.begin_write().unwrap();
        txn.open_table(STORE_FORMAT)
            .unwrap()
            .remove(BUILT_MARKER)
            .unwrap();
        write_stray_block(&txn);
        txn.commit().unwrap();
        build_if_incomplete(&db).unwrap();
        assert_eq!(read_all(&db), expected);
    }

    fn write_stray_block(txn: &redb::WriteTransaction) {
        let mut blocks = txn.open_table(RECORD_SCAN).unwrap();
        put(&mut blocks, ENDPOINT, &id(99_999_999), 1, &fields(1, 8)).unwrap();
    }
}
