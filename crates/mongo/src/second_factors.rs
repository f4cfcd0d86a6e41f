//! Second factors on MongoDB: one document per account, `_id` = its id. A write is an insert
//! (the first; a racing one gets a duplicate key) or a replace conditioned on the revision it
//! read, so of two racing uses of one TOTP step or recovery code only one lands.

use async_trait::async_trait;
use keygate_domain::mfa::{SecondFactorRepository, SecondFactors};
use keygate_domain::{Error, Id, Result};
use mongodb::bson::{self, doc, Document};

use crate::collections::SECOND_FACTORS;
use crate::documents::object_id;
use crate::documents::{out_of_range, FactorsDocument};
use crate::store::MongoStore;

#[async_trait]
impl SecondFactorRepository for MongoStore {
    async fn find_factors(&self, user_id: &Id) -> Result<Option<SecondFactors>> {
        let factors = self.database().collection::<Document>(SECOND_FACTORS);
        let Some(found) = self
            .run(factors.find_one(doc! {"_id": object_id(user_id)?}))
            .await?
        else {
            return Ok(None);
        };
        bson::from_document::<FactorsDocument>(found)
            .map_err(|e| Error::Internal(format!("stored second factors are unreadable: {e}")))?
            .into_factors()
            .map(Some)
    }

    async fn put_factors(&self, factors: &SecondFactors, expected: u64) -> Result<bool> {
        let collection = self.database().collection::<Document>(SECOND_FACTORS);
        let document = bson::to_document(&FactorsDocument::of(factors)?)
            .map_err(|e| Error::Internal(format!("cannot encode second factors: {e}")))?;
        if expected == 0 {
            return match self.run(collection.insert_one(document)).await {
                Ok(_) => Ok(true),
                Err(Error::Conflict(_)) => Ok(false),
                Err(other) => Err(other),
            };
        }
        let expected = i64::try_from(expected).map_err(|_| out_of_range("revision"))?;
        let replaced = self
            .run(collection.replace_one(
                doc! {"_id": object_id(&factors.user_id)?, "revision": expected},
                document,
            ))
            .await?;
        Ok(replaced.matched_count == 1)
    }

    async fn delete_factors(&self, user_id: &Id) -> Result<()> {
        let collection = self.database().collection::<Document>(SECOND_FACTORS);
        self.run(collection.delete_one(doc! {"_id": object_id(user_id)?}))
            .await?;
        Ok(())
    }
}
