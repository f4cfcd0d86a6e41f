//! The one-time secrets table's row (a digest; never the secret).

use chrono::{DateTime, Utc};
use keygate_domain::accounts::Email;
use keygate_domain::crypto::SecretDigest;
use keygate_domain::one_time::{OneTimeSecret, SecretPurpose};
use keygate_domain::Id;
use serde::{Deserialize, Serialize};

use super::stored::Stored;

/// A one-time secret (its digest; never the secret).
#[derive(Serialize, Deserialize)]
pub(crate) struct OneTimeSecretRow {
    key: String,
    purpose: String,
    user_id: Id,
    /// Absent from secrets that were never mailed.
    #[serde(default)]
    email: Option<Email>,
    digest: SecretDigest,
    expires_at: DateTime<Utc>,
    tries_left: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payload: Option<String>,
}

impl Stored for OneTimeSecret {
    type Row = OneTimeSecretRow;
    fn to_row(&self) -> OneTimeSecretRow {
        OneTimeSecretRow {
            key: self.key.clone(),
            purpose: self.purpose.as_str().to_owned(),
            user_id: self.user_id.clone(),
            email: self.email.clone(),
            digest: self.digest.clone(),
            expires_at: self.expires_at,
            tries_left: self.tries_left,
            payload: self.payload.clone(),
        }
    }
    fn from_row(row: OneTimeSecretRow) -> Self {
        Self {
            key: row.key,
            // An unknown purpose matches no request: it can never be used.
            purpose: SecretPurpose::parse(&row.purpose).unwrap_or(SecretPurpose::LoginCode),
            user_id: row.user_id,
            email: row.email,
            digest: row.digest,
            expires_at: row.expires_at,
            tries_left: if SecretPurpose::parse(&row.purpose).is_some() {
                row.tries_left
            } else {
                0
            },
            payload: row.payload,
        }
    }
}
