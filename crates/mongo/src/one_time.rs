//! One-time secrets on MongoDB: a use is one conditional `findOneAndDelete` (right digest) or
//! `findOneAndUpdate` (a try taken), so of two racing uses of one secret only one finds it.
//! A TTL index removes expired ones.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use keygate_domain::crypto::SecretDigest;
use keygate_domain::one_time::{OneTimeSecret, OneTimeSecretRepository, SecretPurpose, UseOutcome};
use keygate_domain::{Id, Result};
use mongodb::bson::{doc, Document};
use mongodb::options::ReturnDocument;

use crate::collections::ONE_TIME_SECRETS;
use crate::documents::{bson_time, object_id, secret_document, secret_of};
use crate::store::MongoStore;

/// The filter of the live secret of `purpose` under `key`: unexpired, with tries left.
fn live(key: &str, purpose: SecretPurpose, now: DateTime<Utc>) -> Document {
    doc! {
        "_id": key,
        "purpose": purpose.as_str(),
        "expires_at": {"$gt": bson_time(now)},
        "tries_left": {"$gt": 0_i64},
    }
}

#[async_trait]
impl OneTimeSecretRepository for MongoStore {
    async fn put_secret(&self, secret: &OneTimeSecret) -> Result<()> {
        let secrets = self.database().collection::<Document>(ONE_TIME_SECRETS);
        self.run(
            secrets
                .replace_one(doc! {"_id": &secret.key}, secret_document(secret)?)
                .upsert(true),
        )
        .await?;
        Ok(())
    }

    async fn use_secret(
        &self,
        key: &str,
        purpose: SecretPurpose,
        presented: &SecretDigest,
        now: DateTime<Utc>,
    ) -> Result<UseOutcome> {
        let secrets = self.database().collection::<Document>(ONE_TIME_SECRETS);
        let live = live(key, purpose, now);
        let mut right = live.clone();
        right.insert("digest", presented.as_str());
        if let Some(used) = self.run(secrets.find_one_and_delete(right)).await? {
            return Ok(UseOutcome::Used(secret_of(&used)?));
        }
        let taken = self
            .run(
                secrets
                    .find_one_and_update(live, doc! {"$inc": {"tries_left": -1_i64}})
                    .return_document(ReturnDocument::After),
            )
            .await?;
        match taken {
            Some(left) => {
                if left.get_i64("tries_left").unwrap_or(0) <= 0 {
                    self.run(secrets.delete_one(doc! {"_id": key, "tries_left": {"$lte": 0_i64}}))
                        .await?;
                }
                Ok(UseOutcome::Wrong)
            }
            None => Ok(UseOutcome::Unknown),
        }
    }

    async fn find_secret(
        &self,
        key: &str,
        purpose: SecretPurpose,
        now: DateTime<Utc>,
    ) -> Result<Option<OneTimeSecret>> {
        let secrets = self.database().collection::<Document>(ONE_TIME_SECRETS);
        self.run(secrets.find_one(live(key, purpose, now)))
            .await?
            .map(|found| secret_of(&found))
            .transpose()
    }

    async fn delete_secrets_of(&self, user_id: &Id) -> Result<()> {
        let secrets = self.database().collection::<Document>(ONE_TIME_SECRETS);
        self.run(secrets.delete_many(doc! {"user_id": object_id(user_id)?}))
            .await?;
        Ok(())
    }

    async fn purge_expired_secrets(&self, now: DateTime<Utc>) -> Result<u64> {
        let secrets = self.database().collection::<Document>(ONE_TIME_SECRETS);
        let deleted = self
            .run(secrets.delete_many(doc! {"expires_at": {"$lte": bson_time(now)}}))
            .await?;
        Ok(deleted.deleted_count)
    }
}
