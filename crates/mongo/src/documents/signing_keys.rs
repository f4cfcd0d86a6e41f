//! A signing key as stored in `signing_keys`, its generation as `_id`.

use keygate_domain::signing::{PrivateKeyDer, PublicJwk, SigningAlgorithm, SigningKey};
use keygate_domain::{Error, Result};
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{doc, Binary, DateTime as BsonDateTime};
use serde::{Deserialize, Serialize};

use super::convert::{bson_time, domain_time};

/// A key as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct SigningKeyDocument {
    #[serde(rename = "_id")]
    generation: i64,
    kid: String,
    algorithm: SigningAlgorithm,
    created_at: BsonDateTime,
    signs_from: BsonDateTime,
    public: PublicJwk,
    private_key: Binary,
}

impl SigningKeyDocument {
    pub(crate) fn of(key: &SigningKey) -> Result<Self> {
        Ok(Self {
            generation: i64::try_from(key.generation)
                .map_err(|_| Error::Internal("signing key generation out of range".to_owned()))?,
            kid: key.kid.clone(),
            algorithm: key.algorithm,
            created_at: bson_time(key.created_at),
            signs_from: bson_time(key.signs_from),
            public: key.public.clone(),
            private_key: Binary {
                subtype: BinarySubtype::Generic,
                bytes: key.private_key.expose().to_vec(),
            },
        })
    }

    pub(crate) fn into_key(self) -> Result<SigningKey> {
        Ok(SigningKey {
            generation: u64::try_from(self.generation).map_err(|_| {
                Error::Internal("stored signing key generation is negative".to_owned())
            })?,
            kid: self.kid,
            algorithm: self.algorithm,
            created_at: domain_time(self.created_at)?,
            signs_from: domain_time(self.signs_from)?,
            public: self.public,
            private_key: PrivateKeyDer(self.private_key.bytes),
        })
    }
}
