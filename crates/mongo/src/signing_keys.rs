//! Signing keys on MongoDB: one document per key with its generation as `_id`, so of two
//! instances adding the same generation at once the second gets a duplicate key and stores
//! nothing.

use async_trait::async_trait;
use futures_util::TryStreamExt;
use keygate_domain::signing::{SigningKey, SigningKeyRepository};
use keygate_domain::{Error, Result};
use mongodb::bson::{self, doc, Document};

use crate::collections::SIGNING_KEYS;
use crate::documents::SigningKeyDocument;
use crate::store::MongoStore;

#[async_trait]
impl SigningKeyRepository for MongoStore {
    async fn list_signing_keys(&self) -> Result<Vec<SigningKey>> {
        let keys = self.database().collection::<Document>(SIGNING_KEYS);
        let cursor = self.run(keys.find(doc! {}).sort(doc! {"_id": 1})).await?;
        let documents: Vec<Document> = self.run(cursor.try_collect()).await?;
        documents
            .into_iter()
            .map(|document| {
                bson::from_document::<SigningKeyDocument>(document)
                    .map_err(|e| Error::Internal(format!("stored signing key is unreadable: {e}")))?
                    .into_key()
            })
            .collect()
    }

    async fn insert_signing_key(&self, key: &SigningKey) -> Result<bool> {
        let keys = self.database().collection::<Document>(SIGNING_KEYS);
        let document = bson::to_document(&SigningKeyDocument::of(key)?)
            .map_err(|e| Error::Internal(format!("cannot encode signing key: {e}")))?;
        match self.run(keys.insert_one(document)).await {
            Ok(_) => Ok(true),
            Err(Error::Conflict(_)) => Ok(false),
            Err(other) => Err(other),
        }
    }

    async fn delete_signing_key(&self, generation: u64) -> Result<()> {
        let keys = self.database().collection::<Document>(SIGNING_KEYS);
        let id = i64::try_from(generation)
            .map_err(|_| Error::Internal("signing key generation out of range".to_owned()))?;
        self.run(keys.delete_one(doc! {"_id": id})).await?;
        Ok(())
    }
}
