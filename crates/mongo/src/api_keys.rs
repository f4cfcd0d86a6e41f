//! API keys on MongoDB: found by the uniquely indexed public id.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use keygate_domain::apis::{ApiKey, ApiKeyRepository};
use keygate_domain::{Id, Result};
use mongodb::bson::doc;
use mongodb::options::ReturnDocument;

use crate::documents::ApiKeyDocument;
use crate::documents::{bson_time, object_id};
use crate::store::MongoStore;

#[async_trait]
impl ApiKeyRepository for MongoStore {
    async fn insert(&self, key: &ApiKey) -> Result<()> {
        let document = ApiKeyDocument::from_key(key)?;
        self.run(self.api_keys().insert_one(document))
            .await
            .map(|_| ())
    }

    async fn find_by_public_id(&self, public_id: &str) -> Result<Option<ApiKey>> {
        self.run(self.api_keys().find_one(doc! {"public_id": public_id}))
            .await?
            .map(ApiKeyDocument::into_key)
            .transpose()
    }

    async fn list_for_api(&self, api_id: &Id) -> Result<Vec<ApiKey>> {
        let cursor = self
            .run(
                self.api_keys()
                    .find(doc! {"api_id": object_id(api_id)?})
                    .sort(doc! {"_id": 1}),
            )
            .await?;
        let documents: Vec<ApiKeyDocument> = self.run(cursor.try_collect()).await?;
        documents
            .into_iter()
            .map(ApiKeyDocument::into_key)
            .collect()
    }

    async fn revoke(&self, api_id: &Id, key_id: &Id, now: DateTime<Utc>) -> Result<Option<ApiKey>> {
        let key = doc! {"_id": object_id(key_id)?, "api_id": object_id(api_id)?};
        let mut unrevoked = key.clone();
        unrevoked.insert("revoked_at", mongodb::bson::Bson::Null);
        let revoked = self
            .run(
                self.api_keys()
                    .find_one_and_update(unrevoked, doc! {"$set": {"revoked_at": bson_time(now)}})
                    .return_document(ReturnDocument::After),
            )
            .await?;
        let found = match revoked {
            Some(document) => Some(document),
            // Already revoked (or unknown): answer with what is stored.
            None => self.run(self.api_keys().find_one(key)).await?,
        };
        found.map(ApiKeyDocument::into_key).transpose()
    }

    async fn delete_for_api(&self, api_id: &Id) -> Result<u64> {
        let result = self
            .run(
                self.api_keys()
                    .delete_many(doc! {"api_id": object_id(api_id)?}),
            )
            .await?;
        Ok(result.deleted_count)
    }

    async fn delete(&self, api_id: &Id, key_id: &Id) -> Result<bool> {
        let result = self
            .run(
                self.api_keys()
                    .delete_one(doc! {"_id": object_id(key_id)?, "api_id": object_id(api_id)?}),
            )
            .await?;
        Ok(result.deleted_count == 1)
    }
}
