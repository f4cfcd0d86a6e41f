//! An account's second factors as stored in `second_factors`: one document per account.

use keygate_domain::crypto::SecretDigest;
use keygate_domain::mfa::{SecondFactors, StoredPasskey, TotpFactor, TotpSecret};
use keygate_domain::{Error, Result};
use mongodb::bson::{doc, oid::ObjectId, DateTime as BsonDateTime};
use serde::{Deserialize, Serialize};

use super::convert::{bson_time, domain_id, domain_time, object_id};

#[derive(Serialize, Deserialize)]
pub(crate) struct TotpDocument {
    secret: String,
    confirmed: bool,
    last_used_step: i64,
    created_at: BsonDateTime,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct PasskeyDocument {
    id: ObjectId,
    name: String,
    credential_id: String,
    credential: String,
    created_at: BsonDateTime,
    last_used_at: Option<BsonDateTime>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct FactorsDocument {
    #[serde(rename = "_id")]
    user_id: ObjectId,
    totp: Option<TotpDocument>,
    recovery_codes: Vec<String>,
    passkeys: Vec<PasskeyDocument>,
    revision: i64,
}

pub(crate) fn out_of_range(what: &str) -> Error {
    Error::Internal(format!("second factors: {what} out of range"))
}

impl FactorsDocument {
    pub(crate) fn of(factors: &SecondFactors) -> Result<Self> {
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

    pub(crate) fn into_factors(self) -> Result<SecondFactors> {
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
