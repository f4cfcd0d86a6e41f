//! Sessions and refresh tokens as stored (a refresh token's digest; never the token).

use keygate_domain::crypto::SecretDigest;
use keygate_domain::sessions::{RefreshToken, Session};
use keygate_domain::Result;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::DateTime as BsonDateTime;
use serde::{Deserialize, Serialize};

use super::convert::{bson_time, domain_id, domain_time, object_id};

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
