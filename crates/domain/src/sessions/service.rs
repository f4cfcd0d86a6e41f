//! Issuing, refreshing, checking and revoking sessions and their tokens.

use std::sync::Arc;

use async_trait::async_trait;

use super::authenticator::Authenticator;
use super::forms::{Logout, Refresh};
use super::model::{IssuedTokens, Principal, RefreshToken, Session};
use super::ports::{SessionLifecycle, SessionRepository};
use super::settings::SessionSettings;
use crate::audit::{Action, Actor, AuditTrail};
use crate::clock::Clock;
use crate::crypto::{AccessClaims, SecretGenerator, TokenIssuer};
use crate::error::{Error, Result};
use crate::id::Id;

/// The session use cases: logging in, refreshing, logging out. Checking a token is the
/// [`Authenticator`]'s job; this service revokes through it, so a revocation here takes effect
/// in its caches at once.
pub struct SessionService {
    authenticator: Arc<Authenticator>,
    sessions: Arc<dyn SessionRepository>,
    issuer: Arc<dyn TokenIssuer>,
    secrets: Arc<dyn SecretGenerator>,
    clock: Arc<dyn Clock>,
    settings: SessionSettings,
    audit: Arc<AuditTrail>,
}

impl SessionService {
    /// Issues tokens with `issuer` and refresh secrets from `secrets`, over the store, clock
    /// and settings of `authenticator`; logouts and stolen refresh tokens are recorded in
    /// `audit`.
    pub fn new(
        authenticator: Arc<Authenticator>,
        issuer: Arc<dyn TokenIssuer>,
        secrets: Arc<dyn SecretGenerator>,
        audit: Arc<AuditTrail>,
    ) -> Self {
        let (sessions, clock, settings) = authenticator.parts();
        Self {
            sessions: sessions.clone(),
            clock: clock.clone(),
            settings,
            authenticator,
            issuer,
            secrets,
            audit,
        }
    }

    /// Records that `token`'s session was revoked because the token came back.
    async fn reuse_detected(&self, user_id: &Id, session_id: &Id) -> Result<()> {
        self.audit
            .record(
                self.audit
                    .event(Action::RefreshReuseDetected, Actor::user(user_id))
                    .failed()
                    .account(user_id)
                    .target("session", session_id),
            )
            .await
    }

    /// The authenticator this service revokes through.
    pub fn authenticator(&self) -> &Arc<Authenticator> {
        &self.authenticator
    }

    /// Exchanges a refresh token for a new pair. A token presented a second time is treated as
    /// stolen: the whole session is revoked.
    pub async fn refresh(&self, refresh: Refresh) -> Result<IssuedTokens> {
        let now = self.clock.now();
        let digest = self.secrets.digest(&refresh.token);
        let token = self
            .sessions
            .find_refresh_token(&digest)
            .await?
            .ok_or(Error::Unauthorized("unknown refresh token"))?;
        if token.used_at.is_some() {
            self.authenticator
                .forget_session(&token.user_id, &token.session_id);
            self.sessions.revoke(&token.session_id, now).await?;
            self.reuse_detected(&token.user_id, &token.session_id)
                .await?;
            return Err(Error::Unauthorized("refresh token reused; session revoked"));
        }
        if token.expires_at <= now {
            return Err(Error::Unauthorized("refresh token expired"));
        }
        let session = self
            .sessions
            .find(&token.session_id)
            .await?
            .filter(|s| s.is_active(now))
            .ok_or(Error::Unauthorized("session ended"))?;
        let (refresh_token, next) = self.new_refresh_token(&session)?;
        if !self
            .sessions
            .rotate_refresh_token(&digest, &next, now)
            .await?
        {
            // Someone else spent this token between our read and our write: that is reuse too.
            self.authenticator
                .forget_session(&session.user_id, &session.id);
            self.sessions.revoke(&session.id, now).await?;
            self.reuse_detected(&session.user_id, &session.id).await?;
            return Err(Error::Unauthorized("refresh token reused; session revoked"));
        }
        self.issue_pair(&session, refresh_token)
    }

    /// Ends the caller's session, or every session of the caller ([`Logout::Everywhere`]). The
    /// store revokes first, then the cache forgets, and a read that began before the
    /// revocation is not cached after it: once this answers, the tokens are refused here.
    pub async fn logout(&self, principal: &Principal, logout: Logout) -> Result<()> {
        let now = self.clock.now();
        let event = self
            .audit
            .event(Action::SessionRevoked, Actor::user(&principal.user_id))
            .account(&principal.user_id)
            .target("session", &principal.session_id)
            .detail("everywhere", logout == Logout::Everywhere);
        if logout == Logout::Everywhere {
            let revoked = self
                .audit
                .around(
                    event,
                    self.sessions
                        .revoke_all_for_user(&principal.user_id, None, now),
                )
                .await;
            self.authenticator
                .forget_sessions_of(&principal.user_id, None);
            revoked
        } else {
            let revoked = self
                .audit
                .around(event, self.sessions.revoke(&principal.session_id, now))
                .await;
            self.authenticator
                .forget_session(&principal.user_id, &principal.session_id);
            revoked
        }
    }

    /// Removes ended sessions and their refresh tokens from the store; returns how many records
    /// went. Run periodically so the store does not grow without bound.
    pub async fn purge_expired(&self) -> Result<u64> {
        self.sessions.purge_expired(self.clock.now()).await
    }

    fn new_refresh_token(&self, session: &Session) -> Result<(String, RefreshToken)> {
        let secret = self.secrets.new_secret()?;
        let record = RefreshToken {
            digest: self.secrets.digest(&secret),
            session_id: session.id.clone(),
            user_id: session.user_id.clone(),
            issued_at: self.clock.now(),
            expires_at: session.expires_at,
            used_at: None,
        };
        Ok((secret, record))
    }

    fn issue_pair(&self, session: &Session, refresh_token: String) -> Result<IssuedTokens> {
        let now = self.clock.now();
        let claims = AccessClaims {
            user_id: session.user_id.clone(),
            session_id: session.id.clone(),
            token_id: Id::generate(now.timestamp()).to_string(),
            issued_at: now,
            expires_at: now + self.settings.access_token_ttl,
        };
        Ok(IssuedTokens {
            user_id: session.user_id.clone(),
            session_id: session.id.clone(),
            access_token: self.issuer.issue(&claims)?,
            expires_in: self.settings.access_token_ttl.num_seconds(),
            refresh_token,
        })
    }
}

#[async_trait]
impl SessionLifecycle for SessionService {
    /// Opens a new session for `user_id` and issues its first token pair.
    async fn start(&self, user_id: &Id) -> Result<IssuedTokens> {
        let now = self.clock.now();
        let session = Session {
            id: Id::generate(now.timestamp()),
            user_id: user_id.clone(),
            created_at: now,
            expires_at: now + self.settings.session_ttl,
            revoked_at: None,
        };
        let (refresh_token, first) = self.new_refresh_token(&session)?;
        self.sessions.create(&session, &first).await?;
        self.issue_pair(&session, refresh_token)
    }

    /// Ends every session of the caller but the current one (after a password change); the
    /// store first, then the cache, as in [`Self::logout`].
    async fn revoke_others(&self, principal: &Principal) -> Result<()> {
        let revoked = self
            .sessions
            .revoke_all_for_user(
                &principal.user_id,
                Some(principal.session_id.clone()),
                self.clock.now(),
            )
            .await;
        self.authenticator
            .forget_sessions_of(&principal.user_id, Some(&principal.session_id));
        revoked
    }

    /// Ends every session of the account (a password reset); store first, then the cache.
    async fn revoke_all(&self, user_id: &Id) -> Result<()> {
        let revoked = self
            .sessions
            .revoke_all_for_user(user_id, None, self.clock.now())
            .await;
        self.authenticator.forget_sessions_of(user_id, None);
        revoked
    }

    /// Forgets every session of a deleted account.
    async fn forget_user(&self, user_id: &Id) -> Result<()> {
        let deleted = self.sessions.delete_all_for_user(user_id).await;
        self.authenticator.forget_sessions_of(user_id, None);
        deleted
    }
}

#[cfg(test)]
mod tests;
