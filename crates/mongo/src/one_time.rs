//! One-time secrets on MongoDB: a use is one conditional `findOneAndDelete` (right digest) or
//! `findOneAndUpdate` (a try taken), so of two racing uses of one secret only one finds it.
//! A TTL index removes expired ones.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use keygate_domain::accounts::Email;
use keygate_domain::crypto::SecretDigest;
use keygate_domain::one_time::{OneTimeSecret, OneTimeSecretRepository, SecretPurpose, UseOutcome};
use keygate_domain::{Error, Id, Result};
use mongodb::bson::{doc, Document};
use mongodb::options::ReturnDocument;

use crate::collections::ONE_TIME_SECRETS;
use crate::documents::{bson_time, domain_id, domain_time, object_id};
use crate::store::MongoStore;

fn document(secret: &OneTimeSecret) -> Result<Document> {
    let mut document = doc! {
        "_id": &secret.key,
        "purpose": secret.purpose.as_str(),
        "user_id": object_id(&secret.user_id)?,
        "digest": secret.digest.as_str(),
        "expires_at": bson_time(secret.expires_at),
        "tries_left": i64::from(secret.tries_left),
    };
    if let Some(email) = &secret.email {
        document.insert("email", email.as_str());
    }
    if let Some(payload) = &secret.payload {
        document.insert("payload", payload.as_str());
    }
    Ok(document)
}

fn secret(document: &Document) -> Result<OneTimeSecret> {
    let unreadable = |what: &str| Error::Internal(format!("stored one-time secret: bad {what}"));
    Ok(OneTimeSecret {
        key: document
            .get_str("_id")
            .map_err(|_| unreadable("key"))?
            .to_owned(),
        purpose: document
            .get_str("purpose")
            .ok()
            .and_then(SecretPurpose::parse)
            .ok_or_else(|| unreadable("purpose"))?,
        user_id: domain_id(
            document
                .get_object_id("user_id")
                .map_err(|_| unreadable("user"))?,
        )?,
        email: match document.get_str("email") {
            Ok(email) => Some(Email::new(email).map_err(|_| unreadable("email"))?),
            Err(_) => None,
        },
        payload: document.get_str("payload").ok().map(str::to_owned),
        digest: SecretDigest(
            document
                .get_str("digest")
                .map_err(|_| unreadable("digest"))?
                .to_owned(),
        ),
        expires_at: domain_time(
            *document
                .get_datetime("expires_at")
                .map_err(|_| unreadable("expiry"))?,
        )?,
        tries_left: document
            .get_i64("tries_left")
            .ok()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| unreadable("tries"))?,
    })
}

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
                .replace_one(doc! {"_id": &secret.key}, document(secret)?)
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
            return Ok(UseOutcome::Used(secret(&used)?));
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
            .map(|found| secret(&found))
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
