//! The audit log on MongoDB (§13). `_id` sorts by time, so the newest events are an index
//! read in reverse; `{account_id, _id}` serves `GET /audit` and `{action, _id}` the admin's
//! filters. A failed-login window is a unique `window` field: concurrent failures meet in one
//! upsert that adds to its `count`.

use async_trait::async_trait;
use chrono::{DateTime, Timelike, Utc};
use futures_util::TryStreamExt;
use keygate_domain::audit::{AuditBatch, AuditEvent, AuditQuery, AuditRepository};
use keygate_domain::{Error, Id, Result};
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{doc, Bson, Document};

use crate::collections::AUDIT_EVENTS;
use crate::documents::{audit_document, audit_event_of, object_id};
use crate::indexes::{AUDIT_ACCOUNT_INDEX, AUDIT_ACTION_INDEX};
use crate::records::QueryShape;
use crate::store::MongoStore;

/// The ObjectId that sorts first (`low`) or last among ids made in `at`'s microsecond.
fn id_bound(at: DateTime<Utc>, low: bool) -> ObjectId {
    let seconds = u32::try_from(at.timestamp().max(0)).unwrap_or(u32::MAX);
    let micros = (at.nanosecond() / 1_000 % 1_000_000).to_be_bytes();
    let mut bytes = [if low { 0 } else { 0xff }; 12];
    bytes[..4].copy_from_slice(&seconds.to_be_bytes());
    bytes[4..7].copy_from_slice(&micros[1..]);
    ObjectId::from_bytes(bytes)
}

impl MongoStore {
    fn audit_events(&self) -> mongodb::Collection<Document> {
        self.database().collection::<Document>(AUDIT_EVENTS)
    }

    /// The ids of up to `max` events matching `filter`, oldest first.
    async fn oldest_ids(&self, filter: Document, max: usize) -> Result<Vec<Bson>> {
        let cursor = self
            .run(
                self.audit_events()
                    .find(filter)
                    .sort(doc! {"_id": 1})
                    .limit(i64::try_from(max).unwrap_or(i64::MAX))
                    .projection(doc! {"_id": 1}),
            )
            .await?;
        let documents: Vec<Document> = self.run(cursor.try_collect()).await?;
        Ok(documents
            .into_iter()
            .filter_map(|d| d.get("_id").cloned())
            .collect())
    }
}

/// The index a listing of `query` reads, named to the server as a hint: an account's
/// events by `{account_id, _id}`, an action filter's by `{action, _id}`, the rest by `_id`
/// (a planner that guessed otherwise would scan the collection).
pub fn audit_index(query: &AuditQuery) -> &'static str {
    if query.account_id.is_some() {
        AUDIT_ACCOUNT_INDEX
    } else if query.actions.is_some() {
        AUDIT_ACTION_INDEX
    } else {
        "_id_"
    }
}

/// The find that lists the events `query` wants older than `before`, newest first: public so
/// a test can put it to `explain` (it must be an index read).
pub fn audit_shape(query: &AuditQuery, before: Option<&Id>) -> Result<QueryShape> {
    let mut range = Document::new();
    if let Some(since) = query.since {
        range.insert("$gte", id_bound(since, true));
    }
    if let Some(until) = query.until {
        range.insert("$lte", id_bound(until, false));
    }
    if let Some(before) = before {
        range.insert("$lt", object_id(before)?);
    }
    let mut filter = Document::new();
    if let Some(account) = &query.account_id {
        filter.insert("account_id", object_id(account)?);
    }
    if let Some(actions) = &query.actions {
        let names: Vec<&str> = actions.iter().map(|a| a.as_str()).collect();
        filter.insert("action", doc! {"$in": names});
    }
    if !range.is_empty() {
        filter.insert("_id", range);
    }
    Ok(QueryShape {
        filter,
        sort: doc! {"_id": -1},
    })
}

/// The stored event with its window's `count` put back into its details.
fn event_of(document: &Document) -> Result<AuditEvent> {
    let mut event = audit_event_of(document)?;
    if let Ok(count) = document.get_i64("count") {
        event.details.insert("count".into(), count.into());
    }
    Ok(event)
}

#[async_trait]
impl AuditRepository for MongoStore {
    async fn append_event(&self, event: &AuditEvent) -> Result<()> {
        self.run(self.audit_events().insert_one(audit_document(event)?))
            .await?;
        Ok(())
    }

    async fn count_in_window(&self, window: &str, event: &AuditEvent) -> Result<()> {
        let mut first = audit_document(event)?;
        first.remove("count");
        let events = self.audit_events();
        let upsert = || {
            events
                .update_one(
                    doc! {"window": window},
                    doc! {"$inc": {"count": 1_i64}, "$setOnInsert": first.clone()},
                )
                .upsert(true)
        };
        match self.run(upsert()).await {
            // Two first failures raced to insert the window: the loser counts into the
            // winner's event.
            Err(Error::Conflict(_)) => self.run(upsert()).await.map(|_| ()),
            other => other.map(|_| ()),
        }
    }

    async fn list_events(
        &self,
        query: &AuditQuery,
        before: Option<Id>,
        limit: usize,
    ) -> Result<AuditBatch> {
        let shape = audit_shape(query, before.as_ref())?;
        let cursor = self
            .run(
                self.audit_events()
                    .find(shape.filter)
                    .sort(shape.sort)
                    .hint(mongodb::options::Hint::Name(audit_index(query).to_owned()))
                    .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX)),
            )
            .await?;
        let documents: Vec<Document> = self.run(cursor.try_collect()).await?;
        Ok(AuditBatch {
            events: documents.iter().map(event_of).collect::<Result<_>>()?,
            stopped_after: None,
        })
    }

    async fn purge_older_than(&self, cutoff: DateTime<Utc>, max: usize) -> Result<usize> {
        let ids = self
            .oldest_ids(doc! {"_id": {"$lt": id_bound(cutoff, true)}}, max)
            .await?;
        if ids.is_empty() {
            return Ok(0);
        }
        let removed = self
            .run(self.audit_events().delete_many(doc! {"_id": {"$in": ids}}))
            .await?;
        Ok(usize::try_from(removed.deleted_count).unwrap_or(usize::MAX))
    }

    async fn blank_account(
        &self,
        account_id: &Id,
        after: Option<Id>,
        max: usize,
    ) -> Result<Option<Id>> {
        let mut filter = doc! {"account_id": object_id(account_id)?};
        if let Some(after) = after {
            filter.insert("_id", doc! {"$gt": object_id(&after)?});
        }
        let ids = self.oldest_ids(filter, max).await?;
        let last = ids.last().and_then(Bson::as_object_id);
        if !ids.is_empty() {
            self.run(self.audit_events().update_many(
                doc! {"_id": {"$in": ids.clone()}},
                doc! {"$set": {"address": Bson::Null, "user_agent": Bson::Null}},
            ))
            .await?;
        }
        Ok(match last {
            Some(last) if ids.len() == max => last.to_hex().parse().ok(),
            _ => None,
        })
    }
}
