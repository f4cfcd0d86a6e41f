//! The rows this store writes: its own types, so the file format is decided here and nowhere
//! else (renaming a field of a domain entity changes nothing on disk). Each row keeps the
//! field names and order the file has always had; `tests/file_format.rs` pins them against a
//! file written before these types existed. The users row is the only thing in Keygate's
//! embedded store that holds a password hash.

use chrono::{DateTime, Utc};
use keygate_domain::accounts::{Age, Email, Gender, PersonName, Role, User, Username};
use keygate_domain::apis::records::{Record, RecordBody};
use keygate_domain::apis::{
    ApiDefinition, ApiKey, ApiName, DisplayName, Endpoint, EndpointName, FieldIndex, IndexState,
    Scopes,
};
use keygate_domain::crypto::SecretDigest;
use keygate_domain::data::{DataEntry, DataKey, ListedEntry};
use keygate_domain::mail::{MailMessage, QueuedMail};
use keygate_domain::mfa::{SecondFactors, StoredPasskey, TotpFactor, TotpSecret};
use keygate_domain::one_time::{OneTimeSecret, SecretPurpose};
use keygate_domain::sessions::{RefreshToken, Session};
use keygate_domain::signing::{PrivateKeyDer, PublicJwk, SigningAlgorithm, SigningKey};
use keygate_domain::{Error, Id, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A value kept in a table as JSON: what it is written as, and how it comes back.
pub(crate) trait Stored: Sized {
    /// Its shape in the file.
    type Row: Serialize + DeserializeOwned;
    /// The row to write.
    fn to_row(&self) -> Self::Row;
    /// The value a row read back holds.
    fn from_row(row: Self::Row) -> Self;
}

/// Serialises a stored value.
pub(crate) fn encode<T: Stored>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(&value.to_row())
        .map_err(|e| Error::Internal(format!("cannot encode document: {e}")))
}

/// Reads a stored value back, validating it on the way.
pub(crate) fn decode<T: Stored>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice::<T::Row>(bytes)
        .map(T::from_row)
        .map_err(|e| Error::Internal(format!("stored document is unreadable: {e}")))
}

/// An account.
#[derive(Serialize, Deserialize)]
pub(crate) struct UserRow {
    id: Id,
    username: Option<Username>,
    email: Option<Email>,
    password_hash: String,
    name: Option<PersonName>,
    full_name: Option<PersonName>,
    age: Option<Age>,
    gender: Option<Gender>,
    role: Role,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// Absent in rows written before revisions existed.
    #[serde(default)]
    revision: u64,
    /// Written only while the account is being deleted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    deleting: bool,
    /// Written only once the address is verified (absent in older rows: not verified).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    email_verified: bool,
    /// Written only while an address change waits for its proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending_email: Option<Email>,
}

impl Stored for User {
    type Row = UserRow;
    fn to_row(&self) -> UserRow {
        UserRow {
            id: self.id.clone(),
            username: self.username.clone(),
            email: self.email.clone(),
            password_hash: self.password_hash.clone(),
            name: self.name.clone(),
            full_name: self.full_name.clone(),
            age: self.age,
            gender: self.gender.clone(),
            role: self.role,
            created_at: self.created_at,
            updated_at: self.updated_at,
            revision: self.revision,
            deleting: self.deleting,
            email_verified: self.email_verified,
            pending_email: self.pending_email.clone(),
        }
    }
    fn from_row(row: UserRow) -> Self {
        Self {
            id: row.id,
            username: row.username,
            email: row.email,
            password_hash: row.password_hash,
            name: row.name,
            full_name: row.full_name,
            age: row.age,
            gender: row.gender,
            role: row.role,
            created_at: row.created_at,
            updated_at: row.updated_at,
            revision: row.revision,
            deleting: row.deleting,
            email_verified: row.email_verified,
            pending_email: row.pending_email,
        }
    }
}

/// A session.
#[derive(Serialize, Deserialize)]
pub(crate) struct SessionRow {
    id: Id,
    user_id: Id,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl Stored for Session {
    type Row = SessionRow;
    fn to_row(&self) -> SessionRow {
        SessionRow {
            id: self.id.clone(),
            user_id: self.user_id.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
        }
    }
    fn from_row(row: SessionRow) -> Self {
        Self {
            id: row.id,
            user_id: row.user_id,
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
        }
    }
}

/// A signing key, private half as hex.
#[derive(Serialize, Deserialize)]
pub(crate) struct SigningKeyRow {
    kid: String,
    algorithm: SigningAlgorithm,
    generation: u64,
    created_at: DateTime<Utc>,
    signs_from: DateTime<Utc>,
    public: PublicJwk,
    #[serde(with = "hex_bytes")]
    private_key: Vec<u8>,
}

/// Bytes as lower-case hex text; a row whose text is not hex is unreadable.
mod hex_bytes {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        hex::decode(text).map_err(D::Error::custom)
    }
}

impl Stored for SigningKey {
    type Row = SigningKeyRow;
    fn to_row(&self) -> SigningKeyRow {
        SigningKeyRow {
            kid: self.kid.clone(),
            algorithm: self.algorithm,
            generation: self.generation,
            created_at: self.created_at,
            signs_from: self.signs_from,
            public: self.public.clone(),
            private_key: self.private_key.expose().to_vec(),
        }
    }
    fn from_row(row: SigningKeyRow) -> Self {
        Self {
            kid: row.kid,
            algorithm: row.algorithm,
            generation: row.generation,
            created_at: row.created_at,
            signs_from: row.signs_from,
            public: row.public,
            private_key: PrivateKeyDer(row.private_key),
        }
    }
}

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

/// A message in the outbox.
#[derive(Serialize, Deserialize)]
pub(crate) struct QueuedMailRow {
    id: Id,
    to: String,
    subject: String,
    text: String,
    html: String,
    created_at: DateTime<Utc>,
    attempts: u32,
    next_attempt_at: DateTime<Utc>,
    lease_until: Option<DateTime<Utc>>,
}

impl Stored for QueuedMail {
    type Row = QueuedMailRow;
    fn to_row(&self) -> QueuedMailRow {
        QueuedMailRow {
            id: self.id.clone(),
            to: self.message.to.clone(),
            subject: self.message.subject.clone(),
            text: self.message.text.clone(),
            html: self.message.html.clone(),
            created_at: self.created_at,
            attempts: self.attempts,
            next_attempt_at: self.next_attempt_at,
            lease_until: self.lease_until,
        }
    }
    fn from_row(row: QueuedMailRow) -> Self {
        Self {
            id: row.id,
            message: MailMessage {
                to: row.to,
                subject: row.subject,
                text: row.text,
                html: row.html,
            },
            created_at: row.created_at,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at,
            lease_until: row.lease_until,
        }
    }
}

/// A refresh token (its digest; never the token).
#[derive(Serialize, Deserialize)]
pub(crate) struct RefreshTokenRow {
    digest: SecretDigest,
    session_id: Id,
    user_id: Id,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
}

impl Stored for RefreshToken {
    type Row = RefreshTokenRow;
    fn to_row(&self) -> RefreshTokenRow {
        RefreshTokenRow {
            digest: self.digest.clone(),
            session_id: self.session_id.clone(),
            user_id: self.user_id.clone(),
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            used_at: self.used_at,
        }
    }
    fn from_row(row: RefreshTokenRow) -> Self {
        Self {
            digest: row.digest,
            session_id: row.session_id,
            user_id: row.user_id,
            issued_at: row.issued_at,
            expires_at: row.expires_at,
            used_at: row.used_at,
        }
    }
}

/// A key-value entry.
#[derive(Serialize, Deserialize)]
pub(crate) struct DataRow {
    user_id: Id,
    key: DataKey,
    value: Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Stored for DataEntry {
    type Row = DataRow;
    fn to_row(&self) -> DataRow {
        DataRow {
            user_id: self.user_id.clone(),
            key: self.key.clone(),
            value: self.value.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
    fn from_row(row: DataRow) -> Self {
        Self {
            user_id: row.user_id,
            key: row.key,
            value: row.value,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// The listed part of a key-value row: everything but the value, which is skipped unread.
#[derive(Deserialize)]
struct ListedRow {
    key: DataKey,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// Reads the listed part of a key-value row.
pub(crate) fn decode_listed(bytes: &[u8]) -> Result<ListedEntry> {
    serde_json::from_slice::<ListedRow>(bytes)
        .map(|row| ListedEntry {
            key: row.key,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
        .map_err(|e| Error::Internal(format!("stored document is unreadable: {e}")))
}

/// One endpoint inside an API row.
#[derive(Serialize, Deserialize)]
pub(crate) struct EndpointRow {
    name: EndpointName,
    schema: Value,
    /// Absent in rows written before indexes existed, and when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    indexes: Vec<IndexRow>,
}

/// A declared index of an endpoint.
#[derive(Serialize, Deserialize)]
pub(crate) struct IndexRow {
    field: String,
    /// `building` or `ready`.
    state: String,
}

/// An API definition.
#[derive(Serialize, Deserialize)]
pub(crate) struct ApiRow {
    id: Id,
    owner_id: Id,
    name: ApiName,
    display_name: DisplayName,
    endpoints: Vec<EndpointRow>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    revision: u64,
}

impl Stored for ApiDefinition {
    type Row = ApiRow;
    fn to_row(&self) -> ApiRow {
        ApiRow {
            id: self.id.clone(),
            owner_id: self.owner_id.clone(),
            name: self.name.clone(),
            display_name: self.display_name.clone(),
            endpoints: self
                .endpoints
                .iter()
                .map(|endpoint| EndpointRow {
                    name: endpoint.name.clone(),
                    schema: endpoint.schema.clone(),
                    indexes: endpoint
                        .indexes
                        .iter()
                        .map(|index| IndexRow {
                            field: index.field.clone(),
                            state: index.state.as_str().to_owned(),
                        })
                        .collect(),
                })
                .collect(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            revision: self.revision,
        }
    }
    fn from_row(row: ApiRow) -> Self {
        Self {
            id: row.id,
            owner_id: row.owner_id,
            name: row.name,
            display_name: row.display_name,
            endpoints: row
                .endpoints
                .into_iter()
                .map(|endpoint| Endpoint {
                    name: endpoint.name,
                    schema: endpoint.schema,
                    indexes: endpoint
                        .indexes
                        .into_iter()
                        .map(|index| FieldIndex {
                            field: index.field,
                            state: IndexState::parse(&index.state),
                        })
                        .collect(),
                })
                .collect(),
            created_at: row.created_at,
            updated_at: row.updated_at,
            revision: row.revision,
        }
    }
}

/// An API key (its digest; never the key).
#[derive(Serialize, Deserialize)]
pub(crate) struct ApiKeyRow {
    id: Id,
    api_id: Id,
    owner_id: Id,
    public_id: String,
    digest: SecretDigest,
    scopes: Scopes,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl Stored for ApiKey {
    type Row = ApiKeyRow;
    fn to_row(&self) -> ApiKeyRow {
        ApiKeyRow {
            id: self.id.clone(),
            api_id: self.api_id.clone(),
            owner_id: self.owner_id.clone(),
            public_id: self.public_id.clone(),
            digest: self.digest.clone(),
            scopes: self.scopes,
            created_at: self.created_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
        }
    }
    fn from_row(row: ApiKeyRow) -> Self {
        Self {
            id: row.id,
            api_id: row.api_id,
            owner_id: row.owner_id,
            public_id: row.public_id,
            digest: row.digest,
            scopes: row.scopes,
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
        }
    }
}

/// A record; its body is kept as the very JSON text it was stored as.
#[derive(Serialize, Deserialize)]
pub(crate) struct RecordRow {
    id: Id,
    api_id: Id,
    endpoint: EndpointName,
    data: RecordBody,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    revision: u64,
}

impl Stored for Record {
    type Row = RecordRow;
    fn to_row(&self) -> RecordRow {
        RecordRow {
            id: self.id.clone(),
            api_id: self.api_id.clone(),
            endpoint: self.endpoint.clone(),
            data: self.data.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            revision: self.revision,
        }
    }
    fn from_row(row: RecordRow) -> Self {
        Self {
            id: row.id,
            api_id: row.api_id,
            endpoint: row.endpoint,
            data: row.data,
            created_at: row.created_at,
            updated_at: row.updated_at,
            revision: row.revision,
        }
    }
}
