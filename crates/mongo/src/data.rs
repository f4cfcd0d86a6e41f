//! The key-value store on MongoDB.
//!
//! Values are stored as their JSON text, not as BSON: BSON cannot hold every JSON value exactly
//! (integers above 2^63, member names starting with `$` or holding `.` or NUL), and the
//! contract promises that every value round-trips exactly. Nothing queries inside values.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use keygate_domain::data::{DataEntry, DataKey, DataRepository, ListedEntry};
use keygate_domain::{Id, Result};
use mongodb::bson::{doc, Document};
use mongodb::options::ReturnDocument;
use serde_json::Value;

use crate::documents::{bson_time, object_id, DataDocument, ListedDocument};
use crate::store::MongoStore;

/// How often a deletion re-reads an entry that changed between its read and its delete.
const DELETE_ATTEMPTS: usize = 32;

fn row(user_id: &Id, key: &DataKey) -> Result<Document> {
    Ok(doc! {"user_id": object_id(user_id)?, "key": key.as_str()})
}

#[async_trait]
impl DataRepository for MongoStore {
    async fn insert(&self, entry: &DataEntry) -> Result<()> {
        let document = DataDocument::from_entry(entry)?;
        self.run(self.data().insert_one(document)).await.map(|_| ())
    }

    async fn find(&self, user_id: &Id, key: &DataKey) -> Result<Option<DataEntry>> {
        self.run(self.data().find_one(row(user_id, key)?))
            .await?
            .map(DataDocument::into_entry)
            .transpose()
    }

    async fn replace_value(
        &self,
        expected: &DataEntry,
        value: &Value,
        now: DateTime<Utc>,
    ) -> Result<Option<DataEntry>> {
        // Compare-and-set: the update applies only to the very entry that was read.
        let mut selector = row(&expected.user_id, &expected.key)?;
        selector.insert("value", DataDocument::value_text(&expected.value)?);
        selector.insert("updated_at", bson_time(expected.updated_at));
        let update = doc! {"$set": {"value": DataDocument::value_text(value)?, "updated_at": bson_time(now)}};
        self.run(
            self.data()
                .find_one_and_update(selector, update)
                .return_document(ReturnDocument::After),
        )
        .await?
        .map(DataDocument::into_entry)
        .transpose()
    }

    async fn delete(&self, user_id: &Id, key: &DataKey) -> Result<Option<u64>> {
        // Delete only the entry as read, so the size reported is the size removed even when a
        // replace lands in between (and even on a server whose find-and-delete is not atomic).
        for _ in 0..DELETE_ATTEMPTS {
            let Some(found) = self.run(self.data().find_one(row(user_id, key)?)).await? else {
                return Ok(None);
            };
            let mut selector = row(user_id, key)?;
            selector.insert("value", found.value_text_stored());
            selector.insert("updated_at", found.updated_at());
            let result = self.run(self.data().delete_one(selector)).await?;
            if result.deleted_count == 1 {
                return Ok(Some(found.size() as u64));
            }
        }
        Err(keygate_domain::Error::Conflict(
            keygate_domain::ConflictKind::Other("a concurrent change to this key".into()),
        ))
    }

    async fn list(
        &self,
        user_id: &Id,
        prefix: Option<String>,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<ListedEntry>> {
        let prefix = prefix.unwrap_or_default();
        // One index range scan on (user_id, key): start at whichever comes later, just past
        // `after` or the first key with `prefix`; stop at the first key without the prefix.
        let key_bound = match after {
            Some(after) if after.as_str() >= prefix.as_str() => doc! {"$gt": after},
            _ => doc! {"$gte": prefix.as_str()},
        };
        let filter = doc! {"user_id": object_id(user_id)?, "key": key_bound};
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // Values are left out by the server: a listing shows keys only.
        let cursor = self
            .run(
                self.data()
                    .clone_with_type::<ListedDocument>()
                    .find(filter)
                    .projection(doc! {"key": 1, "created_at": 1, "updated_at": 1})
                    .sort(doc! {"key": 1})
                    .limit(limit),
            )
            .await?;
        let documents: Vec<ListedDocument> = self.run(cursor.try_collect()).await?;
        let mut entries = Vec::with_capacity(documents.len());
        for document in documents {
            let entry = document.into_listed()?;
            if !entry.key.as_str().starts_with(prefix.as_str()) {
                break;
            }
            entries.push(entry);
        }
        Ok(entries)
    }

    async fn delete_all_for_user(&self, user_id: &Id) -> Result<()> {
        self.run(
            self.data()
                .delete_many(doc! {"user_id": object_id(user_id)?}),
        )
        .await
        .map(|_| ())
    }
}
