//! API definitions on MongoDB: uniqueness of names from the unique index, changes as
//! compare-and-set on `revision`.

use async_trait::async_trait;
use futures_util::TryStreamExt;
use keygate_domain::apis::{ApiDefinition, ApiName, ApiRepository};
use keygate_domain::{Id, Result};
use mongodb::bson::doc;

use crate::documents::object_id;
use crate::documents::ApiDocument;
use crate::store::MongoStore;

#[async_trait]
impl ApiRepository for MongoStore {
    async fn insert(&self, api: &ApiDefinition) -> Result<()> {
        let document = ApiDocument::from_api(api)?;
        self.run(self.apis().insert_one(document)).await.map(|_| ())
    }

    async fn find(&self, id: &Id) -> Result<Option<ApiDefinition>> {
        self.run(self.apis().find_one(doc! {"_id": object_id(id)?}))
            .await?
            .map(ApiDocument::into_api)
            .transpose()
    }

    async fn find_by_name(&self, name: &ApiName) -> Result<Option<ApiDefinition>> {
        self.run(self.apis().find_one(doc! {"name": name.as_str()}))
            .await?
            .map(ApiDocument::into_api)
            .transpose()
    }

    async fn list_for_owner(
        &self,
        owner_id: &Id,
        after: Option<Id>,
        limit: usize,
    ) -> Result<Vec<ApiDefinition>> {
        let mut filter = doc! {"owner_id": object_id(owner_id)?};
        if let Some(after) = &after {
            filter.insert("_id", doc! {"$gt": object_id(after)?});
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let cursor = self
            .run(self.apis().find(filter).sort(doc! {"_id": 1}).limit(limit))
            .await?;
        let documents: Vec<ApiDocument> = self.run(cursor.try_collect()).await?;
        documents.into_iter().map(ApiDocument::into_api).collect()
    }

    async fn update(&self, api: &ApiDefinition, expected_revision: u64) -> Result<bool> {
        let document = ApiDocument::from_api(api)?;
        let expected = i64::try_from(expected_revision).unwrap_or(i64::MAX);
        let result = self
            .run(self.apis().replace_one(
                doc! {"_id": object_id(&api.id)?, "revision": expected},
                document,
            ))
            .await?;
        Ok(result.matched_count == 1)
    }

    async fn delete(&self, id: &Id) -> Result<bool> {
        let result = self
            .run(self.apis().delete_one(doc! {"_id": object_id(id)?}))
            .await?;
        Ok(result.deleted_count == 1)
    }

    async fn with_building_indexes(
        &self,
        after: Option<Id>,
        limit: usize,
    ) -> Result<Vec<ApiDefinition>> {
        let mut filter = doc! {"building": true};
        if let Some(after) = &after {
            filter.insert("_id", doc! {"$gt": object_id(after)?});
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let cursor = self
            .run(self.apis().find(filter).sort(doc! {"_id": 1}).limit(limit))
            .await?;
        let documents: Vec<ApiDocument> = self.run(cursor.try_collect()).await?;
        documents.into_iter().map(ApiDocument::into_api).collect()
    }
}
