//! Ports to the crypto adapter: access tokens and random secrets. Password hashing is an
//! accounts port ([`crate::accounts::PasswordHasher`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::id::Id;

/// The claims an access token carries, in domain terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    /// The user the token speaks for (`sub`).
    pub user_id: Id,
    /// The session it belongs to (`sid`); revoking the session revokes the token.
    pub session_id: Id,
    /// A unique id of this token (`jti`).
    pub token_id: String,
    /// When it was issued (`iat`).
    pub issued_at: DateTime<Utc>,
    /// When it stops being valid (`exp`).
    pub expires_at: DateTime<Utc>,
}

/// Signs access tokens.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait TokenIssuer: Send + Sync {
    /// The signed token for `claims`.
    fn issue(&self, claims: &AccessClaims) -> Result<String>;
}

/// Checks access tokens: signature with the pinned algorithm, `exp`, `iss` and `aud`.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait TokenVerifier: Send + Sync {
    /// The claims of a valid token; `Error::Unauthorized` for anything else.
    fn verify(&self, token: &str) -> Result<AccessClaims>;
}

/// The SHA-256 digest of a secret, in hex: what the stores keep instead of the secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SecretDigest(pub String);

impl SecretDigest {
    /// The digest as hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Makes random secrets (refresh tokens, API keys) and their digests.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait SecretGenerator: Send + Sync {
    /// A new secret of 256 bits from the OS random generator, as URL-safe text.
    fn new_secret(&self) -> Result<String>;
    /// The digest under which `secret` is stored and looked up.
    fn digest(&self, secret: &str) -> SecretDigest;
    /// 8 random base62 characters: the public id of an API key.
    fn new_public_id(&self) -> Result<String>;
    /// Whether `secret` digests to `digest`, compared in constant time.
    fn matches(&self, secret: &str, digest: &SecretDigest) -> bool;
}
