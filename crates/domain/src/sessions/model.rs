//! Session entities.

use chrono::{DateTime, Utc};

use crate::crypto::SecretDigest;
use crate::id::Id;

/// One login of one user: every access and refresh token it issues lives and dies with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The session id (`sid` in access tokens).
    pub id: Id,
    /// Whose session it is.
    pub user_id: Id,
    /// When the user logged in.
    pub created_at: DateTime<Utc>,
    /// When the session ends however often it is refreshed.
    pub expires_at: DateTime<Utc>,
    /// When it was revoked (logout, password change, token reuse), if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Session {
    /// Whether tokens of this session may still be used at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// One refresh token of a session, kept only as the digest of its secret. Single use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// SHA-256 digest of the token the client holds.
    pub digest: SecretDigest,
    /// The session it refreshes.
    pub session_id: Id,
    /// The session's user.
    pub user_id: Id,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When it stops being accepted (the session's end).
    pub expires_at: DateTime<Utc>,
    /// When it was exchanged for a new pair; presenting it again after that is theft.
    pub used_at: Option<DateTime<Utc>>,
}

/// What a login or a refresh hands to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedTokens {
    /// The user the tokens speak for.
    pub user_id: Id,
    /// The session they belong to.
    pub session_id: Id,
    /// A signed JWT.
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// A single-use secret that buys the next pair.
    pub refresh_token: String,
}

/// Who is making an authenticated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The caller's account.
    pub user_id: Id,
    /// The session whose access token they presented.
    pub session_id: Id,
}
