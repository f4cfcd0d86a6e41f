//! The second factors table's row: TOTP and passkeys of one account.

use chrono::{DateTime, Utc};
use keygate_domain::crypto::SecretDigest;
use keygate_domain::mfa::{SecondFactors, StoredPasskey, TotpFactor, TotpSecret};
use keygate_domain::Id;
use serde::{Deserialize, Serialize};

use super::stored::Stored;

/// An account's TOTP factor; the secret as base32.
#[derive(Serialize, Deserialize)]
pub(crate) struct TotpRow {
    secret: String,
    confirmed: bool,
    last_used_step: u64,
    created_at: DateTime<Utc>,
}

/// A registered passkey.
#[derive(Serialize, Deserialize)]
pub(crate) struct PasskeyRow {
    id: Id,
    name: String,
    credential_id: String,
    credential: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
}

/// An account's second factors.
#[derive(Serialize, Deserialize)]
pub(crate) struct SecondFactorsRow {
    user_id: Id,
    totp: Option<TotpRow>,
    recovery_codes: Vec<SecretDigest>,
    passkeys: Vec<PasskeyRow>,
    revision: u64,
}

impl Stored for SecondFactors {
    type Row = SecondFactorsRow;
    fn to_row(&self) -> SecondFactorsRow {
        SecondFactorsRow {
            user_id: self.user_id.clone(),
            totp: self.totp.as_ref().map(|t| TotpRow {
                secret: t.secret.base32(),
                confirmed: t.confirmed,
                last_used_step: t.last_used_step,
                created_at: t.created_at,
            }),
            recovery_codes: self.recovery_codes.clone(),
            passkeys: self
                .passkeys
                .iter()
                .map(|p| PasskeyRow {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    credential_id: p.credential_id.clone(),
                    credential: p.credential.clone(),
                    created_at: p.created_at,
                    last_used_at: p.last_used_at,
                })
                .collect(),
            revision: self.revision,
        }
    }
    fn from_row(row: SecondFactorsRow) -> Self {
        Self {
            user_id: row.user_id,
            // A secret that is not base32 verifies no code: TOTP stays on, and unusable.
            totp: row.totp.map(|t| TotpFactor {
                secret: TotpSecret::from_base32(&t.secret)
                    .unwrap_or_else(|| TotpSecret::new(Vec::new())),
                confirmed: t.confirmed,
                last_used_step: t.last_used_step,
                created_at: t.created_at,
            }),
            recovery_codes: row.recovery_codes,
            passkeys: row
                .passkeys
                .into_iter()
                .map(|p| StoredPasskey {
                    id: p.id,
                    name: p.name,
                    credential_id: p.credential_id,
                    credential: p.credential,
                    created_at: p.created_at,
                    last_used_at: p.last_used_at,
                })
                .collect(),
            revision: row.revision,
        }
    }
}
