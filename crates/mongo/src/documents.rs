//! The stored shape of each entity, owned by this adapter. Ids are ObjectIds, times are BSON
//! dates (millisecond precision), and documents read back are validated into domain values.

use chrono::{DateTime, Utc};
use keygate_domain::accounts::{Age, Email, Gender, PersonName, Role, User, Username};
use keygate_domain::crypto::SecretDigest;
use keygate_domain::data::{DataEntry, DataKey, ListedEntry};
use keygate_domain::sessions::{RefreshToken, Session};
use keygate_domain::{Error, Id, Result};
use mongodb::bson::oid::ObjectId;
use mongodb::bson::DateTime as BsonDateTime;
use serde::{Deserialize, Serialize};

/// The ObjectId of a domain id (always valid: both are 24 hex characters).
pub fn object_id(id: &Id) -> Result<ObjectId> {
    ObjectId::parse_str(id.as_str())
        .map_err(|e| Error::Internal(format!("id is not an ObjectId: {e}")))
}

/// The domain id of an ObjectId.
pub fn domain_id(id: ObjectId) -> Result<Id> {
    id.to_hex()
        .parse()
        .map_err(|_| Error::Internal("stored ObjectId is not an id".into()))
}

/// A BSON date of a domain time.
pub fn bson_time(at: DateTime<Utc>) -> BsonDateTime {
    BsonDateTime::from_millis(at.timestamp_millis())
}

/// The domain time of a BSON date.
pub fn domain_time(at: BsonDateTime) -> Result<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_millis(at.timestamp_millis())
        .ok_or_else(|| Error::Internal("stored date is out of range".into()))
}

fn stored<T, E: std::fmt::Display>(result: std::result::Result<T, E>) -> Result<T> {
    result.map_err(|e| Error::Internal(format!("stored account is invalid: {e}")))
}

/// An account as stored in `users`.
#[derive(Debug, Serialize, Deserialize)]
pub struct UserDocument {
    #[serde(rename = "_id")]
    id: ObjectId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    /// The key of the unique username index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    username_lower: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    password_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    full_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    age: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gender: Option<String>,
    role: String,
    created_at: BsonDateTime,
    updated_at: BsonDateTime,
    #[serde(default)]
    revision: i64,
    #[serde(default)]
    deleting: bool,
    #[serde(default)]
    email_verified: bool,
    /// Only while an address change waits for its proof (§12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending_email: Option<String>,
}

impl UserDocument {
    /// The document of `user`.
    pub fn from_user(user: &User) -> Result<Self> {
        Ok(Self {
            id: object_id(&user.id)?,
            username: user.username.as_ref().map(|u| u.as_str().to_owned()),
            username_lower: user.username.as_ref().map(Username::lowercase),
            email: user.email.as_ref().map(|e| e.as_str().to_owned()),
            password_hash: user.password_hash.clone(),
            name: user.name.as_ref().map(|n| n.as_str().to_owned()),
            full_name: user.full_name.as_ref().map(|n| n.as_str().to_owned()),
            age: user.age.map(|a| i64::from(a.years())),
            gender: user.gender.as_ref().map(|g| g.as_str().to_owned()),
            role: user.role.as_str().to_owned(),
            created_at: bson_time(user.created_at),
            updated_at: bson_time(user.updated_at),
            revision: stored(i64::try_from(user.revision))?,
            deleting: user.deleting,
            email_verified: user.email_verified,
            pending_email: user.pending_email.as_ref().map(|e| e.as_str().to_owned()),
        })
    }

    /// The account this document holds, validated.
    pub fn into_user(self) -> Result<User> {
        Ok(User {
            id: domain_id(self.id)?,
            username: stored(self.username.as_deref().map(Username::new).transpose())?,
            email: stored(self.email.as_deref().map(Email::new).transpose())?,
            password_hash: self.password_hash,
            name: stored(
                self.name
                    .as_deref()
                    .map(|n| PersonName::new(n, "name"))
                    .transpose(),
            )?,
            full_name: stored(
                self.full_name
                    .as_deref()
                    .map(|n| PersonName::new(n, "full_name"))
                    .transpose(),
            )?,
            age: stored(self.age.map(Age::new).transpose())?,
            gender: stored(self.gender.as_deref().map(Gender::new).transpose())?,
            role: match self.role.as_str() {
                "admin" => Role::Admin,
                _ => Role::User,
            },
            created_at: domain_time(self.created_at)?,
            updated_at: domain_time(self.updated_at)?,
            revision: stored(u64::try_from(self.revision))?,
            deleting: self.deleting,
            email_verified: self.email_verified,
            pending_email: stored(self.pending_email.as_deref().map(Email::new).transpose())?,
        })
    }
}

/// A session as stored in `sessions`; `expires_at` feeds the TTL index.
#[derive(Debug, Serialize, Deserialize)]
pub struct SessionDocument {
    #[serde(rename = "_id")]
    id: ObjectId,
    user_id: ObjectId,
    created_at: BsonDateTime,
    expires_at: BsonDateTime,
    revoked_at: Option<BsonDateTime>,
}

impl SessionDocument {
    /// The document of `session`.
    pub fn from_session(session: &Session) -> Result<Self> {
        Ok(Self {
            id: object_id(&session.id)?,
            user_id: object_id(&session.user_id)?,
            created_at: bson_time(session.created_at),
            expires_at: bson_time(session.expires_at),
            revoked_at: session.revoked_at.map(bson_time),
        })
    }

    /// The session this document holds.
    pub fn into_session(self) -> Result<Session> {
        Ok(Session {
            id: domain_id(self.id)?,
            user_id: domain_id(self.user_id)?,
            created_at: domain_time(self.created_at)?,
            expires_at: domain_time(self.expires_at)?,
            revoked_at: self.revoked_at.map(domain_time).transpose()?,
        })
    }
}

/// A refresh token as stored in `refresh_tokens`, keyed by its digest.
#[derive(Debug, Serialize, Deserialize)]
pub struct RefreshTokenDocument {
    #[serde(rename = "_id")]
    digest: String,
    session_id: ObjectId,
    user_id: ObjectId,
    issued_at: BsonDateTime,
    expires_at: BsonDateTime,
    used_at: Option<BsonDateTime>,
}

impl RefreshTokenDocument {
    /// The document of `token`.
    pub fn from_token(token: &RefreshToken) -> Result<Self> {
        Ok(Self {
            digest: token.digest.as_str().to_owned(),
            session_id: object_id(&token.session_id)?,
            user_id: object_id(&token.user_id)?,
            issued_at: bson_time(token.issued_at),
            expires_at: bson_time(token.expires_at),
            used_at: token.used_at.map(bson_time),
        })
    }

    /// The token this document holds.
    pub fn into_token(self) -> Result<RefreshToken> {
        Ok(RefreshToken {
            digest: SecretDigest(self.digest),
            session_id: domain_id(self.session_id)?,
            user_id: domain_id(self.user_id)?,
            issued_at: domain_time(self.issued_at)?,
            expires_at: domain_time(self.expires_at)?,
            used_at: self.used_at.map(domain_time).transpose()?,
        })
    }
}

/// A key-value entry as stored in `data`; `(user_id, key)` is uniquely indexed.
#[derive(Debug, Serialize, Deserialize)]
pub struct DataDocument {
    #[serde(rename = "_id")]
    id: ObjectId,
    user_id: ObjectId,
    key: String,
    /// The value as JSON text (see the module doc of `data`).
    value: String,
    created_at: BsonDateTime,
    updated_at: BsonDateTime,
}

/// The fields of a data document a listing reads: never the value.
#[derive(Debug, Deserialize)]
pub struct ListedDocument {
    key: String,
    created_at: BsonDateTime,
    updated_at: BsonDateTime,
}

impl ListedDocument {
    /// The listed key, validated.
    pub fn into_listed(self) -> Result<ListedEntry> {
        Ok(ListedEntry {
            key: DataKey::new(&self.key)
                .map_err(|e| Error::Internal(format!("stored key is invalid: {e}")))?,
            created_at: domain_time(self.created_at)?,
            updated_at: domain_time(self.updated_at)?,
        })
    }
}

impl DataDocument {
    /// The stored text of a value.
    pub fn value_text(value: &serde_json::Value) -> Result<String> {
        serde_json::to_string(value)
            .map_err(|e| Error::Internal(format!("cannot encode value: {e}")))
    }

    /// The document of `entry`, with a fresh `_id`.
    pub fn from_entry(entry: &DataEntry) -> Result<Self> {
        Ok(Self {
            id: ObjectId::new(),
            user_id: object_id(&entry.user_id)?,
            key: entry.key.as_str().to_owned(),
            value: Self::value_text(&entry.value)?,
            created_at: bson_time(entry.created_at),
            updated_at: bson_time(entry.updated_at),
        })
    }

    /// What the entry counts against its owner's quota ([`DataEntry::size`]): its key and
    /// its value's text, which is the compact JSON the entry was stored with.
    pub fn size(&self) -> usize {
        self.key.len() + self.value.len()
    }

    /// The value's text as stored.
    pub fn value_text_stored(&self) -> &str {
        &self.value
    }

    /// When the entry last changed, as stored.
    pub fn updated_at(&self) -> BsonDateTime {
        self.updated_at
    }

    /// The entry this document holds, validated.
    pub fn into_entry(self) -> Result<DataEntry> {
        Ok(DataEntry {
            user_id: domain_id(self.user_id)?,
            key: DataKey::new(&self.key)
                .map_err(|e| Error::Internal(format!("stored key is invalid: {e}")))?,
            value: serde_json::from_str(&self.value)
                .map_err(|e| Error::Internal(format!("stored value is not JSON: {e}")))?,
            created_at: domain_time(self.created_at)?,
            updated_at: domain_time(self.updated_at)?,
        })
    }
}
