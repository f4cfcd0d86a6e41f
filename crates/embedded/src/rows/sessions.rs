//! The sessions and refresh tokens tables' rows (a refresh token's digest; never the token).

use chrono::{DateTime, Utc};
use keygate_domain::crypto::SecretDigest;
use keygate_domain::sessions::{RefreshToken, Session};
use keygate_domain::Id;
use serde::{Deserialize, Serialize};

use super::stored::Stored;

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
