//! The layout of record rows and record index entries.
//!
//! A record row written since indexes exist is `0x01`, a little-endian `u32` header length,
//! the header, then the record as JSON (exactly the row older files hold, which start with
//! `{` and are still read). The header starts with the record's field keys (see
//! [`FieldKeys`]: the key, [`keygate_domain::apis::records`]'s `index_key`, of every top-level
//! field), so a query compares stored keys instead of decoding the document; the scan blocks
//! hold a copy of that section. Then come the fields it has index entries for (each entry
//! follows from its key), so a change or a deletion removes exactly those. An index entry is
//! `api_id/endpoint` NUL `field` NUL `key` `record_id`.

use std::borrow::Cow;

use keygate_domain::apis::records::{missing_key, Record};
use keygate_domain::{Error, Id, Result};
use std::collections::HashMap;
use std::sync::Mutex;

use crate::rows::{decode, encode};

/// The key of a missing field (`index_key`'s first kind), borrowed.
const MISSING_KEY: &[u8] = &[0x00];

/// The first byte of a row with a header.
const WITH_HEADER: u8 = 0x01;
/// The longest field name a query may name (see the domain's query parsing).
const MAX_QUERYABLE_NAME_BYTES: usize = 256;
/// Length of a record id in an index entry.
pub(crate) const ID_LEN: usize = 24;

fn corrupt(what: &str) -> Error {
    Error::Internal(format!("stored record row is unreadable: {what}"))
}

/// The index entry prefix of `field` at an endpoint (`api_id/endpoint`).
pub(crate) fn index_prefix(endpoint_key: &str, field: &str) -> Vec<u8> {
    let mut prefix = Vec::with_capacity(endpoint_key.len() + field.len() + 2);
    prefix.extend_from_slice(endpoint_key.as_bytes());
    prefix.push(0);
    prefix.extend_from_slice(field.as_bytes());
    prefix.push(0);
    prefix
}

/// A record id stored as its 24 ASCII hex digits.
pub(crate) fn parse_id(bytes: &[u8]) -> Option<Id> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// The little-endian `u32` at `at` in `bytes`, if there are four bytes there.
pub(crate) fn u32_at(bytes: &[u8], at: usize) -> Option<usize> {
    bytes
        .get(at..at.checked_add(4)?)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

/// The id at the end of an index entry.
pub(crate) fn entry_id(entry: &[u8]) -> Result<Id> {
    entry
        .len()
        .checked_sub(ID_LEN)
        .and_then(|at| parse_id(&entry[at..]))
        .ok_or_else(|| corrupt("index entry without an id"))
}

/// A row being written: its bytes and the index entries it owns.
pub(crate) struct EncodedRow {
    pub bytes: Vec<u8>,
    pub entries: Vec<Vec<u8>>,
    /// Where the header's field keys end in `bytes`.
    fields_end: usize,
}

impl EncodedRow {
    /// The row's field keys section (what [`FieldKeys`] reads).
    pub fn fields(&self) -> &[u8] {
        &self.bytes[ROW_PREFIX_LEN..self.fields_end]
    }
}

/// The bytes before a row's header: the marker and the header's length.
const ROW_PREFIX_LEN: usize = 5;

/// The field keys section of a record: a `u32` count, then each top-level field's name and
/// key, each a `u16` length and its bytes. A field whose name no query can carry is left out
/// (and so reads as missing, which no query can tell apart).
fn encode_fields(keys: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    let queryable: Vec<&(String, Vec<u8>)> = keys
        .iter()
        .filter(|(name, _)| name.len() <= MAX_QUERYABLE_NAME_BYTES)
        .collect();
    let mut fields = Vec::new();
    fields.extend_from_slice(&(queryable.len() as u32).to_le_bytes());
    for (name, key) in queryable {
        put_u16(&mut fields, name.as_bytes())?;
        put_u16(&mut fields, key)?;
    }
    Ok(fields)
}

/// A record's field keys section, read in place.
#[derive(Clone, Copy)]
pub(crate) struct FieldKeys<'a>(pub &'a [u8]);

impl<'a> FieldKeys<'a> {
    /// The key of the top-level `field` ([`missing_key`] when the record has none).
    pub fn key(self, field: &str) -> Result<&'a [u8]> {
        let mut reader = Reader(self.0);
        let fields = reader.u32()?;
        for _ in 0..fields {
            let name = reader.item()?;
            let key = reader.item()?;
            if name == field.as_bytes() {
                return Ok(key);
            }
        }
        Ok(MISSING_KEY)
    }

    /// The section's length, and what follows it in `bytes` (the rest of a header).
    fn split(bytes: &'a [u8]) -> Result<(Self, &'a [u8])> {
        let mut reader = Reader(bytes);
        let fields = reader.u32()?;
        for _ in 0..fields {
            reader.item()?;
            reader.item()?;
        }
        let len = bytes.len() - reader.0.len();
        Ok((Self(&bytes[..len]), reader.0))
    }
}

fn put_u16(out: &mut Vec<u8>, bytes: &[u8]) -> Result<()> {
    let len = u16::try_from(bytes.len()).map_err(|_| corrupt("a header item over 64 KiB"))?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

/// The row of `record` at `endpoint_key`, with an entry for each of `indexed`.
pub(crate) fn encode_row(
    endpoint_key: &str,
    record: &Record,
    indexed: &[String],
) -> Result<EncodedRow> {
    let keys = record.data.field_keys()?;
    let entries: Vec<Vec<u8>> = indexed
        .iter()
        .map(|field| {
            let mut entry = index_prefix(endpoint_key, field);
            match keys.iter().find(|(name, _)| name == field) {
                Some((_, key)) => entry.extend_from_slice(key),
                None => entry.extend_from_slice(&missing_key()),
            }
            entry.extend_from_slice(record.id.as_str().as_bytes());
            entry
        })
        .collect();
    let mut header = encode_fields(&keys)?;
    let fields_end = ROW_PREFIX_LEN + header.len();
    // The fields it has entries for, not the entries: they follow from the keys above.
    header.extend_from_slice(&(indexed.len() as u32).to_le_bytes());
    for field in indexed {
        put_u16(&mut header, field.as_bytes())?;
    }
    let json = encode(record)?;
    let mut bytes = Vec::with_capacity(ROW_PREFIX_LEN + header.len() + json.len());
    bytes.push(WITH_HEADER);
    bytes.extend_from_slice(&(header.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&header);
    bytes.extend_from_slice(&json);
    Ok(EncodedRow {
        bytes,
        entries,
        fields_end,
    })
}

/// A stored row, split: its header (none in rows older than indexes) and its JSON.
pub(crate) struct StoredRow<'a> {
    header: Option<&'a [u8]>,
    pub json: &'a [u8],
}

impl<'a> StoredRow<'a> {
    /// Splits a row read from the table.
    pub fn new(bytes: &'a [u8]) -> Result<Self> {
        if bytes.first() != Some(&WITH_HEADER) {
            return Ok(Self {
                header: None,
                json: bytes,
            });
        }
        let len = u32_at(bytes, 1).ok_or_else(|| corrupt("short header"))?;
        let header = bytes
            .get(ROW_PREFIX_LEN..ROW_PREFIX_LEN + len)
            .ok_or_else(|| corrupt("short header"))?;
        Ok(Self {
            header: Some(header),
            json: &bytes[ROW_PREFIX_LEN + len..],
        })
    }

    /// The record's field keys section: borrowed from the header, or (rows older than
    /// indexes) computed from the JSON.
    pub fn fields(&self) -> Result<Cow<'a, [u8]>> {
        match self.header {
            Some(header) => Ok(Cow::Borrowed(FieldKeys::split(header)?.0 .0)),
            None => Ok(Cow::Owned(encode_fields(
                &self.record()?.data.field_keys()?,
            )?)),
        }
    }

    /// The record.
    pub fn record(&self) -> Result<Record> {
        decode(self.json)
    }

    /// The key of the record's top-level `field`; read (borrowed) from the header when there
    /// is one, else from the JSON (rows older than indexes).
    pub fn field_key(&self, field: &str) -> Result<Cow<'a, [u8]>> {
        let Some(header) = self.header else {
            return Ok(Cow::Owned(self.record()?.data.field_key(field)?));
        };
        FieldKeys(header).key(field).map(Cow::Borrowed)
    }

    /// The index entries the row owns, the row being `row_key` (`api/endpoint/id`).
    pub fn entries(&self, row_key: &str) -> Result<Vec<Vec<u8>>> {
        let Some(header) = self.header else {
            return Ok(Vec::new());
        };
        let mut reader = Reader(FieldKeys::split(header)?.1);
        let endpoint = endpoint_of_row(row_key);
        let id = id_of_row(row_key);
        let count = reader.u32()?;
        (0..count)
            .map(|_| {
                let field = std::str::from_utf8(reader.item()?)
                    .map_err(|_| corrupt("an indexed field name that is not UTF-8"))?;
                let mut entry = index_prefix(endpoint, field);
                entry.extend_from_slice(&self.field_key(field)?);
                entry.extend_from_slice(id.as_bytes());
                Ok(entry)
            })
            .collect()
    }
}

/// Reads the header's length-prefixed items.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn u32(&mut self) -> Result<usize> {
        let value = u32_at(self.0, 0).ok_or_else(|| corrupt("short header"))?;
        self.0 = &self.0[4..];
        Ok(value)
    }

    fn item(&mut self) -> Result<&'a [u8]> {
        let len = self.0.get(..2).ok_or_else(|| corrupt("short header"))?;
        let len = usize::from(u16::from_le_bytes([len[0], len[1]]));
        let item = self
            .0
            .get(2..2 + len)
            .ok_or_else(|| corrupt("short header"))?;
        self.0 = &self.0[2 + len..];
        Ok(item)
    }
}

/// The endpoint key (`api_id/endpoint`) of a record row key (`api_id/endpoint/record_id`).
pub(crate) fn endpoint_of_row(row_key: &str) -> &str {
    row_key
        .rsplit_once('/')
        .map_or(row_key, |(endpoint, _)| endpoint)
}

/// The record id (as text) of a record row key (`api_id/endpoint/record_id`).
pub(crate) fn id_of_row(row_key: &str) -> &str {
    row_key.rsplit_once('/').map_or("", |(_, id)| id)
}

/// Records per endpoint (`api_id/endpoint` → count), kept in memory: counted once when the
/// store opens (from the scan blocks, `scan_blocks::records_per_endpoint`), then changed by
/// each committed write. The file is locked to this process, so no write is missed; a reader
/// may see a count one write behind, which only moves the `records.max_scan` boundary by that
/// write. Keeping the counts in a table instead cost every record write a third B-tree (about
/// 10 % of write throughput).
#[derive(Debug, Default)]
pub(crate) struct RecordCounts(Mutex<HashMap<String, u64>>);

impl RecordCounts {
    /// Starts from the counts of every endpoint in the file.
    pub fn new(counts: HashMap<String, u64>) -> Self {
        Self(Mutex::new(counts))
    }

    /// The records of an endpoint.
    pub fn get(&self, endpoint_key: &str) -> u64 {
        self.lock().get(endpoint_key).copied().unwrap_or(0)
    }

    /// Adds `delta` to an endpoint's count, after a write committed.
    pub fn change(&self, endpoint_key: &str, delta: i64) {
        let mut counts = self.lock();
        let next = counts
            .get(endpoint_key)
            .copied()
            .unwrap_or(0)
            .saturating_add_signed(delta);
        if next == 0 {
            counts.remove(endpoint_key);
        } else {
            counts.insert(endpoint_key.to_owned(), next);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        // A panic while holding it cannot leave a count half-changed: recover the map.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keygate_domain::apis::records::{value_key, RecordBody};
    use serde_json::json;

    fn record(data: serde_json::Value) -> Record {
        let now = chrono::Utc::now();
        Record {
            id: "6553f1000000000000000005".parse().expect("id"),
            api_id: "6553f1000000000000000003".parse().expect("id"),
            endpoint: keygate_domain::apis::EndpointName::new("orders", "").expect("name"),
            data: RecordBody::from_stored(data.to_string()).expect("json"),
            created_at: now,
            updated_at: now,
            revision: 1,
        }
    }

    #[test]
    fn rows_carry_their_keys_and_entries_and_old_rows_still_read() {
        let stored = record(json!({"tag": "t7", "n": 5.0, "o": {"a": 1}}));
        let row = encode_row("api/orders", &stored, &["n".into(), "gone".into()]).expect("row");
        let split = StoredRow::new(&row.bytes).expect("split");
        assert_eq!(split.record().expect("record"), stored);
        assert_eq!(
            split.field_key("n").expect("key").as_ref(),
            value_key(&json!(5))
        );
        assert_eq!(
            split.field_key("o").expect("key").as_ref(),
            value_key(&json!([]))
        );
        assert_eq!(split.field_key("zzz").expect("key").as_ref(), missing_key());
        let row_key = format!("api/orders/{}", stored.id);
        let entries = split.entries(&row_key).expect("entries");
        assert_eq!(entries, row.entries);
        assert_eq!(entry_id(&entries[1]).expect("id"), stored.id);
        assert!(entries[1].starts_with(&index_prefix("api/orders", "gone")));

        let old = encode(&stored).expect("json row");
        let split = StoredRow::new(&old).expect("split");
        assert_eq!(split.record().expect("record"), stored);
        assert_eq!(
            split.field_key("tag").expect("key"),
            value_key(&json!("t7"))
        );
        assert!(split.entries("api/orders/x").expect("entries").is_empty());
    }
}
