//! The layout of record rows and record index entries.
//!
//! A record row written since indexes exist is `0x01`, a little-endian `u32` header length,
//! the header, then the record as JSON (exactly the row older files hold, which start with
//! `{` and are still read). The header holds the key ([`keygate_domain::apis::records`]'s
//! `index_key`) of every top-level field, so a query compares stored keys instead of decoding
//! the document, and the index entries the row owns, so a change or a deletion removes exactly
//! those. An index entry is `api_id/endpoint` NUL `field` NUL `key` `record_id`.

use keygate_domain::apis::records::{missing_key, Record};
use keygate_domain::{Error, Id, Result};
use redb::{ReadableTable, WriteTransaction};

use crate::rows::{decode, encode};
use crate::tables::{META, RECORDS, RECORD_COUNTS};
use crate::unavailable::OrUnavailable;

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

/// The id at the end of an index entry.
pub(crate) fn entry_id(entry: &[u8]) -> Result<Id> {
    entry
        .len()
        .checked_sub(ID_LEN)
        .and_then(|at| std::str::from_utf8(&entry[at..]).ok())
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| corrupt("index entry without an id"))
}

/// A row being written: its bytes and the index entries it owns.
pub(crate) struct EncodedRow {
    pub bytes: Vec<u8>,
    pub entries: Vec<Vec<u8>>,
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
    // A field whose name no query can carry is left out (and so reads as missing, which no
    // query can tell apart).
    let queryable: Vec<&(String, Vec<u8>)> = keys
        .iter()
        .filter(|(name, _)| name.len() <= MAX_QUERYABLE_NAME_BYTES)
        .collect();
    let mut header = Vec::new();
    header.extend_from_slice(&(queryable.len() as u32).to_le_bytes());
    for (name, key) in queryable {
        put_u16(&mut header, name.as_bytes())?;
        put_u16(&mut header, key)?;
    }
    header.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for entry in &entries {
        put_u16(&mut header, entry)?;
    }
    let json = encode(record)?;
    let mut bytes = Vec::with_capacity(5 + header.len() + json.len());
    bytes.push(WITH_HEADER);
    bytes.extend_from_slice(&(header.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&header);
    bytes.extend_from_slice(&json);
    Ok(EncodedRow { bytes, entries })
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
        let len = bytes
            .get(1..5)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or_else(|| corrupt("short header"))?;
        let header = bytes
            .get(5..5 + len)
            .ok_or_else(|| corrupt("short header"))?;
        Ok(Self {
            header: Some(header),
            json: &bytes[5 + len..],
        })
    }

    /// The record.
    pub fn record(&self) -> Result<Record> {
        decode(self.json)
    }

    /// The key of the record's top-level `field`; read from the header when there is one,
    /// else from the JSON (rows older than indexes).
    pub fn field_key(&self, field: &str) -> Result<Vec<u8>> {
        let Some(header) = self.header else {
            let record = self.record()?;
            return Ok(record
                .data
                .field_keys()?
                .into_iter()
                .find(|(name, _)| name == field)
                .map_or_else(missing_key, |(_, key)| key));
        };
        let mut reader = Reader(header);
        let fields = reader.u32()?;
        for _ in 0..fields {
            let name = reader.item()?;
            let key = reader.item()?;
            if name == field.as_bytes() {
                return Ok(key.to_vec());
            }
        }
        Ok(missing_key())
    }

    /// The index entries the row owns.
    pub fn entries(&self) -> Result<Vec<&'a [u8]>> {
        let Some(header) = self.header else {
            return Ok(Vec::new());
        };
        let mut reader = Reader(header);
        let fields = reader.u32()?;
        for _ in 0..fields {
            reader.item()?;
            reader.item()?;
        }
        let count = reader.u32()?;
        (0..count).map(|_| reader.item()).collect()
    }
}

/// Reads the header's length-prefixed items.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn u32(&mut self) -> Result<u32> {
        let bytes = self.0.get(..4).ok_or_else(|| corrupt("short header"))?;
        self.0 = &self.0[4..];
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
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

/// Adds `delta` to the record count of an endpoint.
pub(crate) fn change_count(txn: &WriteTransaction, endpoint_key: &str, delta: i64) -> Result<()> {
    let mut counts = txn.open_table(RECORD_COUNTS).or_unavailable()?;
    let current = counts
        .get(endpoint_key)
        .or_unavailable()?
        .map_or(0, |count| count.value());
    let next = current.saturating_add_signed(delta);
    if next == 0 {
        counts.remove(endpoint_key).or_unavailable()?;
    } else {
        counts.insert(endpoint_key, next).or_unavailable()?;
    }
    Ok(())
}

const COUNTS_DONE: &str = "record_counts";

/// Counts the records of a file written before counts were kept, once: afterwards every
/// write keeps them.
pub(crate) fn count_existing_records(txn: &WriteTransaction) -> Result<()> {
    let mut meta = txn.open_table(META).or_unavailable()?;
    if meta.get(COUNTS_DONE).or_unavailable()?.is_some() {
        return Ok(());
    }
    let mut counts: Vec<(String, u64)> = Vec::new();
    {
        let records = txn.open_table(RECORDS).or_unavailable()?;
        for row in records.iter().or_unavailable()? {
            let (key, _) = row.or_unavailable()?;
            let endpoint = endpoint_of_row(key.value());
            match counts.last_mut() {
                Some((last, count)) if last == endpoint => *count += 1,
                _ => counts.push((endpoint.to_owned(), 1)),
            }
        }
    }
    let mut table = txn.open_table(RECORD_COUNTS).or_unavailable()?;
    for (endpoint, count) in counts {
        table.insert(endpoint.as_str(), count).or_unavailable()?;
    }
    meta.insert(COUNTS_DONE, 1).or_unavailable()?;
    Ok(())
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
        assert_eq!(split.field_key("n").expect("key"), value_key(&json!(5)));
        assert_eq!(split.field_key("o").expect("key"), value_key(&json!([])));
        assert_eq!(split.field_key("zzz").expect("key"), missing_key());
        let entries = split.entries().expect("entries");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0], row.entries[0].as_slice());
        assert_eq!(entry_id(entries[1]).expect("id"), stored.id);
        assert!(entries[1].starts_with(&index_prefix("api/orders", "gone")));

        let old = encode(&stored).expect("json row");
        let split = StoredRow::new(&old).expect("split");
        assert_eq!(split.record().expect("record"), stored);
        assert_eq!(
            split.field_key("tag").expect("key"),
            value_key(&json!("t7"))
        );
        assert!(split.entries().expect("entries").is_empty());
    }
}
