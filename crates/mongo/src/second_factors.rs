//! Second factors on MongoDB: one document per account, `_id` = its id. A write is an insert
//! (the first; a racing one gets a duplicate key) or a replace conditioned on the revision it
//! read, so of two racing uses of one TOTP step or recovery code only one lands.

use async_trait::async_trait;
use keygate_domain::crypto::SecretDigest;
use keygate_domain::mfa::{
    SecondFactorRepository, SecondFactors, StoredPasskey, TotpFactor, TotpSecret,
};
use keygate_domain::{Error, Id, Result};
use mongodb::bson::{self, doc, oid::ObjectId, DateTime as BsonDateTime, Document};
use serde::{Deserialize, Serialize};

use crate::collections::SECOND_FACTORS;
use crate::documents::{bson_time, domain_id, domain_time, object_id};
use crate::store::MongoStore;

#[derive(Serialize, Deserialize)]
struct TotpDocument {
    secret: String,
    confirmed: bool,
    last_used_step: i64,
    created_at: BsonDateTime,
}

#[derive(Serialize, Deserialize)]
struct PasskeyDocument {
    id: ObjectId,
    name: String,
    credential_id: String,
    credential: String,
    created_at: BsonDateTime,
    last_used_at: Option<BsonDateTime>,
}

#[derive(Serialize, Deserialize)]
struct FactorsDocument {
    #[serde(rename = "_id")]
    user_id: ObjectId,
    totp: Option<TotpDocument>,
    recovery_codes: Vec<String>,
    passkeys: Vec<PasskeyDocument>,
    revision: i64,
}

fn out_of_range(what: &str) -> Error {
    Error::Internal(format!("second factors: {what} out of range"))
}

impl FactorsDocument {
    fn of(factors: &SecondFactors) -> Result<Self> {
        Ok(Self {
            user_id: object_id(&factors.user_id)?,
            totp: factors
                .totp
                .as_ref()
                .map(|t| {
                    Ok::<_, Error>(TotpDocument {
                        secret: t.secret.base32(),
                        confirmed: t.confirmed,
                        last_used_step: i64::try_from(t.last_used_step)
                            .map_err(|_| out_of_range("step"))?,
                        created_at: bson_time(t.created_at),
                    })
                })
                .transpose()?,
            recovery_codes: factors
                .recovery_codes
                .iter()
                .map(|d| d.as_str().to_owned())
                .collect(),
            passkeys: factors
                .passkeys
                .iter()
                .map(|p| {
                    Ok(PasskeyDocument {
                        id: object_id(&p.id)?,
                        name: p.name.clone(),
                        credential_id: p.credential_id.clone(),
                        credential: p.credential.clone(),
                        created_at: bson_time(p.created_at),
                        last_used_at: p.last_used_at.map(bson_time),
                    })
                })
                .collect::<Result<_>>()?,
            revision: i64::try_from(factors.revision).map_err(|_| out_of_range("revision"))?,
        })
    }

    fn into_factors(self) -> Result<SecondFactors> {
        Ok(SecondFactors {
            user_id: domain_id(self.user_id)?,
            totp: self
                .totp
                .map(|t| {
                    Ok::<_, Error>(TotpFactor {
                        // A secret that is not base32 verifies no code.
                        secret: TotpSecret::from_base32(&t.secret)
                            .unwrap_or_else(|| TotpSecret::new(Vec::new())),
                        confirmed: t.confirmed,
                        last_used_step: u64::try_from(t.last_used_step)
                            .map_err(|_| out_of_range("step"))?,
                        created_at: domain_time(t.created_at)?,
                    })
                })
                .transpose()?,
            recovery_codes: self.recovery_codes.into_iter().map(SecretDigest).collect(),
            passkeys: self
                .passkeys
                .into_iter()
                .map(|p| {
                    Ok(StoredPasskey {
                        id: domain_id(p.id)?,
                        name: p.name,
                        credential_id: p.credential_id,
                        credential: p.credential,
                        created_at: domain_time(p.created_at)?,
                        last_used_at: p.last_used_at.map(domain_time).transpose()?,
                    })
                })
                .collect::<Result<_>>()?,
            revision: u64::try_from(self.revision).map_err(|_| out_of_range("revision"))?,
        })
    }
}

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
