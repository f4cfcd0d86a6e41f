//! Records on MongoDB. Every query runs on an index: `(api_id, endpoint, _id)` for reads and
//! plain lists, `(api_id, endpoint, fields, _id)` for filtered ones; paging is a range on
//! `_id`, so nothing is ever loaded into Keygate to be filtered or skipped.

use async_trait::async_trait;
use futures_util::TryStreamExt;
use keygate_domain::apis::EndpointName;
use keygate_domain::records::{FieldFilter, Record, RecordRepository, RemovedRecords};
use keygate_domain::{Id, Result};
use mongodb::bson::{doc, Document};

use crate::documents::object_id;
use crate::record_documents::{filter_tokens, RecordDocument};
use crate::store::MongoStore;

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
        limit: usize,
    ) -> Result<Vec<Record>> {
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
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let cursor = self
            .run(
                self.records()
                    .find(filter)
                    .sort(doc! {"_id": -1})
                    .limit(limit),
            )
            .await?;
        let documents: Vec<RecordDocument> = self.run(cursor.try_collect()).await?;
        documents
            .into_iter()
            .map(RecordDocument::into_record)
            .collect()
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

    async fn delete(&self, api_id: &Id, endpoint: &EndpointName, id: &Id) -> Result<bool> {
        let result = self
            .run(self.records().delete_one(one(api_id, endpoint, id)?))
            .await?;
        Ok(result.deleted_count == 1)
    }

    async fn delete_batch_for_api(&self, api_id: &Id, limit: usize) -> Result<RemovedRecords> {
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
        let ids: Vec<_> = batch.iter().filter_map(|d| d.get("_id").cloned()).collect();
        if ids.is_empty() {
            return Ok(RemovedRecords::default());
        }
        let bytes: i64 = batch.iter().map(|d| d.get_i64("size").unwrap_or(0)).sum();
        let result = self
            .run(self.records().delete_many(doc! {"_id": {"$in": ids}}))
            .await?;
        Ok(RemovedRecords {
            count: result.deleted_count,
            bytes: u64::try_from(bytes).unwrap_or(0),
        })
    }
}
