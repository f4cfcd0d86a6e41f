//! The audit log on redb (§13). Events are keyed by id, which sorts by time, so the newest
//! are the end of the table; an index by account serves `GET /audit`. An event attached to a
//! change is written in that change's transaction ([`insert_event`], called by
//! [`EmbeddedStore::write`]).

use async_trait::async_trait;
use chrono::{DateTime, Timelike, Utc};
use keygate_domain::audit::{AuditBatch, AuditEvent, AuditQuery, AuditRepository};
use keygate_domain::{Id, Result};
use redb::{ReadTransaction, ReadableTable};

use crate::rows::{decode, encode, EventRow};
use crate::store::EmbeddedStore;
use crate::tables::{AUDIT_BY_ACCOUNT, AUDIT_BY_ACTION, AUDIT_EVENTS, AUDIT_LOGIN_WINDOWS};
use crate::unavailable::OrUnavailable;

/// The most events one listing call examines: a filter that matches little costs each page
/// a bounded read, and the page says where to go on.
const MAX_EXAMINED: usize = 10_000;

/// Failed-login windows older than the current minute removed by each failure: the table
/// holds about the windows of the last minute.
const WINDOWS_TRIMMED: usize = 16;

/// The smallest event id of `at`'s microsecond.
fn first_id_at(at: DateTime<Utc>) -> String {
    let seconds = u32::try_from(at.timestamp().max(0)).unwrap_or(u32::MAX);
    format!(
        "{seconds:08x}{:06x}0000000000",
        at.nanosecond() / 1_000 % 1_000_000
    )
}

/// The largest event id of `at`'s microsecond.
fn last_id_at(at: DateTime<Utc>) -> String {
    let seconds = u32::try_from(at.timestamp().max(0)).unwrap_or(u32::MAX);
    format!(
        "{seconds:08x}{:06x}ffffffffff",
        at.nanosecond() / 1_000 % 1_000_000
    )
}

/// The listing `query` wants, older than `before`, read in `txn`.
fn list_in(
    txn: &ReadTransaction,
    query: &AuditQuery,
    before: Option<&Id>,
    limit: usize,
) -> Result<AuditBatch> {
    let events = txn.open_table(AUDIT_EVENTS).or_unavailable()?;
    let low = query.since.map(first_id_at).unwrap_or_default();
    let mut high = query
        .until
        .map(last_id_at)
        .unwrap_or_else(|| "g".to_owned()); // above every hex id
    if let Some(before) = before {
        if before.as_str() < high.as_str() {
            high = before.to_string();
        }
    }
    let mut batch = AuditBatch::default();
    if low >= high {
        return Ok(batch);
    }
    let mut examined = 0usize;
    let mut consider = |id: &str, bytes: &[u8], batch: &mut AuditBatch| -> Result<bool> {
        examined += 1;
        let event: AuditEvent = decode(bytes)?;
        if query.wants(event.action) {
            batch.events.push(event);
            if batch.events.len() > limit {
                return Ok(false);
            }
        }
        if examined >= MAX_EXAMINED {
            batch.stopped_after = id.parse().ok();
            return Ok(false);
        }
        Ok(true)
    };
    match (&query.account_id, &query.actions) {
        (None, Some(actions)) => {
            // Each action's newest `limit + 1` in the range, from its index; the page's are
            // the newest of them all. At most 33 × 501 keys, whatever the log's size.
            let index = txn.open_table(AUDIT_BY_ACTION).or_unavailable()?;
            let mut ids = Vec::new();
            for action in actions {
                let (from, to) = (format!("{action}/{low}"), format!("{action}/{high}"));
                for entry in index
                    .range(from.as_str()..to.as_str())
                    .or_unavailable()?
                    .rev()
                    .take(limit + 1)
                {
                    let (key, ()) = entry.or_unavailable().map(|(k, v)| (k, v.value()))?;
                    if let Some((_, id)) = key.value().split_once('/') {
                        ids.push(id.to_owned());
                    }
                }
            }
            ids.sort_unstable_by(|a, b| b.cmp(a));
            ids.truncate(limit + 1);
            for id in ids {
                if let Some(row) = events.get(id.as_str()).or_unavailable()? {
                    batch.events.push(decode(row.value())?);
                }
            }
        }
        (Some(account), _) => {
            let index = txn.open_table(AUDIT_BY_ACCOUNT).or_unavailable()?;
            let (from, to) = (format!("{account}/{low}"), format!("{account}/{high}"));
            for entry in index
                .range(from.as_str()..to.as_str())
                .or_unavailable()?
                .rev()
            {
                let (key, ()) = entry.or_unavailable().map(|(k, v)| (k, v.value()))?;
                let Some((_, id)) = key.value().split_once('/') else {
                    continue;
                };
                let Some(row) = events.get(id).or_unavailable()? else {
                    continue;
                };
                if !consider(id, row.value(), &mut batch)? {
                    break;
                }
            }
        }
        (None, None) => {
            for entry in events
                .range(low.as_str()..high.as_str())
                .or_unavailable()?
                .rev()
            {
                let (key, row) = entry.or_unavailable()?;
                if !consider(key.value(), row.value(), &mut batch)? {
                    break;
                }
            }
        }
    }
    Ok(batch)
}

#[async_trait]
impl AuditRepository for EmbeddedStore {
    async fn append_event(&self, event: &AuditEvent) -> Result<()> {
        let row = EventRow::of(event)?;
        self.write_unaudited(move |txn| row.insert(txn)).await
    }

    async fn count_in_window(&self, window: &str, event: &AuditEvent) -> Result<()> {
        let row = EventRow::of(event)?;
        let window = window.to_owned();
        self.write_unaudited(move |txn| {
            let mut windows = txn.open_table(AUDIT_LOGIN_WINDOWS).or_unavailable()?;
            let counted = windows
                .get(window.as_str())
                .or_unavailable()?
                .map(|id| id.value().to_owned());
            let mut events = txn.open_table(AUDIT_EVENTS).or_unavailable()?;
            let existing = match &counted {
                Some(id) => events
                    .get(id.as_str())
                    .or_unavailable()?
                    .map(|bytes| decode::<AuditEvent>(bytes.value()))
                    .transpose()?,
                None => None,
            };
            match existing {
                Some(mut event) => {
                    let count = event
                        .details
                        .get("count")
                        .and_then(serde_json::Value::as_u64);
                    event
                        .details
                        .insert("count".into(), (count.unwrap_or(1) + 1).into());
                    events
                        .insert(event.event_id.as_str(), encode(&event)?.as_slice())
                        .or_unavailable()?;
                }
                None => {
                    drop(events);
                    windows.insert(window.as_str(), row.id()).or_unavailable()?;
                    row.insert(txn)?;
                }
            }
            // Windows of earlier minutes can no longer be counted into: a few go each time.
            let minute = window.split('|').next().unwrap_or_default();
            let stale: Vec<String> = windows
                .range(..minute)
                .or_unavailable()?
                .take(WINDOWS_TRIMMED)
                .map(|entry| entry.map(|(k, _)| k.value().to_owned()))
                .collect::<std::result::Result<_, _>>()
                .or_unavailable()?;
            for key in stale {
                windows.remove(key.as_str()).or_unavailable()?;
            }
            Ok(())
        })
        .await
    }

    async fn list_events(
        &self,
        query: &AuditQuery,
        before: Option<Id>,
        limit: usize,
    ) -> Result<AuditBatch> {
        // An account's page or an action's page reads at most a page of index entries and
        // rows: microseconds, served on the calling thread like a point lookup. A filter
        // that may examine up to MAX_EXAMINED events goes to the reading threads.
        let bounded = query.actions.is_none() || query.account_id.is_none();
        if bounded && (query.account_id.is_some() || query.actions.is_some()) {
            return self.read_now(|txn| list_in(txn, query, before.as_ref(), limit));
        }
        let query = query.clone();
        self.read(move |txn| list_in(txn, &query, before.as_ref(), limit))
            .await
    }

    async fn purge_older_than(&self, cutoff: DateTime<Utc>, max: usize) -> Result<usize> {
        let bound = first_id_at(cutoff);
        self.write_unaudited(move |txn| {
            let mut events = txn.open_table(AUDIT_EVENTS).or_unavailable()?;
            let mut doomed = Vec::new();
            for entry in events.range(..bound.as_str()).or_unavailable()?.take(max) {
                let (key, row) = entry.or_unavailable()?;
                let event: AuditEvent = decode(row.value())?;
                doomed.push((key.value().to_owned(), event.account_id, event.action));
            }
            let mut index = txn.open_table(AUDIT_BY_ACCOUNT).or_unavailable()?;
            let mut by_action = txn.open_table(AUDIT_BY_ACTION).or_unavailable()?;
            for (id, account, action) in &doomed {
                events.remove(id.as_str()).or_unavailable()?;
                by_action
                    .remove(format!("{action}/{id}").as_str())
                    .or_unavailable()?;
                if let Some(account) = account {
                    index
                        .remove(format!("{account}/{id}").as_str())
                        .or_unavailable()?;
                }
            }
            Ok(doomed.len())
        })
        .await
    }

    async fn blank_account(
        &self,
        account_id: &Id,
        after: Option<Id>,
        max: usize,
    ) -> Result<Option<Id>> {
        let from = match after {
            Some(after) => format!("{account_id}/{after}\u{1}"),
            None => format!("{account_id}/"),
        };
        let to = format!("{account_id}0"); // '0' follows '/'
        self.write_unaudited(move |txn| {
            let index = txn.open_table(AUDIT_BY_ACCOUNT).or_unavailable()?;
            let ids: Vec<String> = index
                .range(from.as_str()..to.as_str())
                .or_unavailable()?
                .take(max)
                .map(|entry| {
                    entry.map(|(k, _)| {
                        k.value()
                            .split_once('/')
                            .map_or_else(String::new, |(_, id)| id.to_owned())
                    })
                })
                .collect::<std::result::Result<_, _>>()
                .or_unavailable()?;
            let mut events = txn.open_table(AUDIT_EVENTS).or_unavailable()?;
            for id in &ids {
                let stored = events
                    .get(id.as_str())
                    .or_unavailable()?
                    .map(|bytes| decode::<AuditEvent>(bytes.value()))
                    .transpose()?;
                if let Some(mut event) = stored {
                    if event.address.is_some() || event.user_agent.is_some() {
                        event.address = None;
                        event.user_agent = None;
                        events
                            .insert(id.as_str(), encode(&event)?.as_slice())
                            .or_unavailable()?;
                    }
                }
            }
            Ok(if ids.len() < max {
                None
            } else {
                ids.last().and_then(|id| id.parse().ok())
            })
        })
        .await
    }
}
