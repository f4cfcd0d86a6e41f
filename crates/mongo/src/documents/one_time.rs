//! A one-time secret as stored in `one_time_secrets` (its digest; never the secret).

use keygate_domain::accounts::Email;
use keygate_domain::crypto::SecretDigest;
use keygate_domain::one_time::{OneTimeSecret, SecretPurpose};
use keygate_domain::{Error, Result};
use mongodb::bson::{doc, Document};

use super::convert::{bson_time, domain_id, domain_time, object_id};

pub(crate) fn secret_document(secret: &OneTimeSecret) -> Result<Document> {
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

pub(crate) fn secret_of(document: &Document) -> Result<OneTimeSecret> {
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
