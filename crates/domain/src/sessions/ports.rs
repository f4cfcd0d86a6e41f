//! The session store port.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::model::{IssuedTokens, Principal, RefreshToken, Session};
use crate::crypto::SecretDigest;
use crate::error::Result;
use crate::id::Id;

/// Stores sessions and their refresh tokens.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SessionRepository: Send + Sync {
    /// Stores a new session with its first refresh token.
    async fn create(&self, session: &Session, first_token: &RefreshToken) -> Result<()>;
    /// The session with this id.
    async fn find(&self, id: &Id) -> Result<Option<Session>>;
    /// The refresh token with this digest, used or not.
    async fn find_refresh_token(&self, digest: &SecretDigest) -> Result<Option<RefreshToken>>;
    /// In one atomic step: marks the token `used` as spent at `now` and stores `next`.
    /// Returns false, storing nothing, when `used` is unknown or was already spent, so two
    /// racing refreshes with one token cannot both succeed.
    async fn rotate_refresh_token(
        &self,
        used: &SecretDigest,
        next: &RefreshToken,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Marks one session revoked at `now` (no-op if it is gone or already revoked).
    async fn revoke(&self, id: &Id, now: DateTime<Utc>) -> Result<()>;
    /// Revokes every active session of a user, except `keep` if given.
    async fn revoke_all_for_user(
        &self,
        user_id: &Id,
        keep: Option<Id>,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Removes every session and refresh token of a user (account deletion).
    async fn delete_all_for_user(&self, user_id: &Id) -> Result<()>;
    /// Removes sessions and refresh tokens whose `expires_at` is at or before `now`; returns
    /// how many records went. (MongoDB's TTL indexes do this too, about once a minute.)
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64>;
}

/// The session operations the account use cases need, and nothing more:
/// [`super::SessionService`] implements it; account tests mock it.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SessionLifecycle: Send + Sync {
    /// Opens a new session for `user_id` and issues its first token pair.
    async fn start(&self, user_id: &Id) -> Result<IssuedTokens>;
    /// Ends every session of the caller but the current one (after a password change).
    async fn revoke_others(&self, principal: &Principal) -> Result<()>;
    /// Ends every session of the account (after a password reset).
    async fn revoke_all(&self, user_id: &Id) -> Result<()>;
    /// Forgets every session of a deleted account.
    async fn forget_user(&self, user_id: &Id) -> Result<()>;
}
