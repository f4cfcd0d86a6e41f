//! Records on MongoDB. Every query runs on an index: `(api_id, endpoint, _id)` for reads and
//! plain lists, `(api_id, endpoint, fields, _id)` for filtered ones; paging is a range on
//! `_id`, so nothing is ever loaded into Keygate to be filtered or skipped.

use async_trait::async_trait;
use futures_util::TryStreamExt;
use keygate_domain::apis::records::{
    FieldFilter, ListBounds, ListedRecords, Record, RecordRepository, RemovedRecords,
};
use keygate_domain::apis::EndpointName;
use keygate_domain::{Id, Result};
use mongodb::bson::{doc, Bson, Document};

use crate::documents::object_id;
use crate::record_documents::{filter_tokens, RecordDocument};
use crate::store::MongoStore;

/// How often a deletion re-reads a record that changed between its read and its delete.
const DELETE_ATTEMPTS: usize = 32;

/// An integer field of a document, whichever BSON width the server chose; 0 if absent.
fn integer(document: &Document, field: &str) -> i64 {
    match document.get(field) {
        Some(Bson::Int64(n)) => *n,
        Some(Bson::Int32(n)) => i64::from(*n),
        _ => 0,
    }
}

fn one(api_id: &Id, endpoint: &EndpointName, id: &Id) -> Result<Document> {
    Ok(doc! {
        "_id": object_id(id)?,
        "api_id": object_id(api_id)?,
        "endpoint": endpoint.as_str(),
    })
}

#[async_trait]
impl RecordRepository for MongoStore {
    async fn insert(&self, record: &Record) -> Result<()> {
        let document = RecordDocument::from_record(record)?;
        self.run(self.records().insert_one(document))
            .await
            .map(|_| ())
    }

    async fn find(&self, api_id: &Id, endpoint: &EndpointName, id: &Id) -> Result<Option<Record>> {
        self.run(self.records().find_one(one(api_id, endpoint, id)?))
            .await?
            .map(RecordDocument::into_record)
            .transpose()
    }

    async fn list(
        &self,
        api_id: &Id,
        endpoint: &EndpointName,
        filters: &[FieldFilter],
        before: Option<Id>,
        bounds: ListBounds,
    ) -> Result<ListedRecords> {
        let mut filter = doc! {"api_id": object_id(api_id)?, "endpoint": endpoint.as_str()};
        if let Some(before) = &before {
            filter.insert("_id", doc! {"$lt": object_id(before)?});
        }
        if !filters.is_empty() {
            let each: Vec<Document> = filters
                .iter()
                .map(|f| doc! {"fields": {"$in": filter_tokens(f)}})
                .collect();
            filter.insert("$and", each);
        }
        let limit = i64::try_from(bounds.limit).unwrap_or(i64::MAX);
        let mut cursor = self
            .run(
                self.records()
                    .find(filter)
                    .projection(doc! {"fields": 0})
                    .sort(doc! {"_id": -1})
                    .limit(limit),
            )
            .await?;
        // Read one document at a time, so a page stops at its byte bound instead of holding
        // every record the limit allows.
        let mut listed = ListedRecords::default();
        let mut bytes = 0;
        while let Some(document) = self.run(cursor.try_next()).await? {
            let size = usize::try_from(document.size()).unwrap_or(usize::MAX);
            if !listed.records.is_empty() && bytes + size > bounds.max_bytes {
                listed.stopped_at = listed.records.last().map(|r: &Record| r.id.clone());
                break;
            }
            bytes += size;
            listed.records.push(document.into_record()?);
        }
        Ok(listed)
    }

    async fn replace(&self, record: &Record, expected_revision: u64) -> Result<bool> {
        let mut selector = one(&record.api_id, &record.endpoint, &record.id)?;
        selector.insert(
            "revision",
            i64::try_from(expected_revision).unwrap_or(i64::MAX),
        );
        let document = RecordDocument::from_record(record)?;
        let result = self
            .run(self.records().replace_one(selector, document))
            .await?;
        Ok(result.matched_count == 1)
    }

    async fn delete(&self, api_id: &Id, endpoint: &EndpointName, id: &Id) -> Result<Option<u64>> {
        // Delete only the revision read, so the size reported is the size removed even when a
        // write lands in between (and even on a server whose find-and-delete is not atomic).
        let records = self.records().clone_with_type::<Document>();
        for _ in 0..DELETE_ATTEMPTS {
            let found = self
                .run(
                    records
                        .find_one(one(api_id, endpoint, id)?)
                        .projection(doc! {"size": 1, "revision": 1}),
                )
                .await?;
            let Some(found) = found else {
                return Ok(None);
            };
            let mut selector = one(api_id, endpoint, id)?;
            selector.insert("revision", integer(&found, "revision"));
            let result = self.run(records.delete_one(selector)).await?;
            if result.deleted_count == 1 {
                return Ok(Some(u64::try_from(integer(&found, "size")).unwrap_or(0)));
            }
        }
        Err(keygate_domain::Error::Conflict(
            keygate_domain::ConflictKind::Other("a concurrent change to this record".into()),
        ))
    }

    async fn delete_batch_for_api(
        &self,
        api_id: &Id,
        limit: usize,
        max_bytes: u64,
    ) -> Result<RemovedRecords> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let cursor = self
            .run(
                self.records()
                    .clone_with_type::<Document>()
                    .find(doc! {"api_id": object_id(api_id)?})
                    .projection(doc! {"_id": 1, "size": 1})
                    .limit(limit),
            )
            .await?;
        let batch: Vec<Document> = self.run(cursor.try_collect()).await?;
        let (mut ids, mut bytes) = (Vec::new(), 0_u64);
        for document in &batch {
            if bytes >= max_bytes {
                break;
            }
            if let Some(id) = document.get("_id") {
                ids.push(id.clone());
                bytes += u64::try_from(integer(document, "size")).unwrap_or(0);
            }
        }
        if ids.is_empty() {
            return Ok(RemovedRecords::default());
        }
        let result = self
            .run(self.records().delete_many(doc! {"_id": {"$in": ids}}))
            .await?;
        Ok(RemovedRecords {
            count: result.deleted_count,
            bytes,
        })
    }
}
