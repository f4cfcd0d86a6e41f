//! Checking access tokens: all another service needs to trust Keygate's tokens.

use std::sync::Arc;

use super::model::{Principal, Session};
use super::ports::SessionRepository;
use super::settings::SessionSettings;
use crate::cache::BoundedCache;
use crate::clock::Clock;
use crate::crypto::{AccessClaims, TokenVerifier};
use crate::error::Error;
use crate::id::Id;

/// The most sessions remembered as live.
const LIVE_SESSIONS_CACHED: usize = 100_000;

/// The most access tokens remembered as verified (about 0.5 KiB each).
const VERIFIED_TOKENS_CACHED: usize = 10_000;

/// Why [`Authenticator::authenticate`] refused a token: all a service guarding its routes
/// must tell apart, narrower than the whole contract's [`Error`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No valid token, or its session has ended: answer 401.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// The session store or the signing keys cannot be read right now: answer 503, the client
    /// may retry.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected failure; the text is for logs, never for clients.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<Error> for AuthError {
    fn from(error: Error) -> Self {
        match error {
            Error::Unauthorized(reason) => Self::Unauthorized(reason),
            Error::Unavailable(reason) => Self::Unavailable(reason),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<AuthError> for Error {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Unauthorized(reason) => Self::Unauthorized(reason),
            AuthError::Unavailable(reason) => Self::Unavailable(reason),
            AuthError::Internal(reason) => Self::Internal(reason),
        }
    }
}

/// Turns an access token into the [`Principal`] behind it, when the token is valid and its
/// session still active. Built from the session store, a token verifier, a clock and the
/// session settings (for its caches) alone.
pub struct Authenticator {
    sessions: Arc<dyn SessionRepository>,
    verifier: Arc<dyn TokenVerifier>,
    clock: Arc<dyn Clock>,
    settings: SessionSettings,
    /// Sessions recently found active, by (user, session): an authenticated request served
    /// from here costs no store read.
    live: BoundedCache<(Id, Id), Session>,
    /// Claims of access tokens whose signature and claims were verified, by the whole token:
    /// HS256 verification was the largest cost Keygate adds to an authenticated read
    /// (2.4 µs). Only an exact token verified before hits; its expiry is checked on every hit.
    verified_tokens: BoundedCache<String, AccessClaims>,
}

impl Authenticator {
    /// Checks tokens with `verifier` against the sessions in `sessions`; a session found
    /// active is trusted for `settings.liveness_cache_ttl` without reading the store again.
    pub fn new(
        sessions: Arc<dyn SessionRepository>,
        verifier: Arc<dyn TokenVerifier>,
        clock: Arc<dyn Clock>,
        settings: SessionSettings,
    ) -> Self {
        Self {
            sessions,
            verifier,
            clock,
            settings,
            live: BoundedCache::new(LIVE_SESSIONS_CACHED, settings.liveness_cache_ttl),
            verified_tokens: BoundedCache::new(VERIFIED_TOKENS_CACHED, settings.access_token_ttl),
        }
    }

    /// The caller behind an access token, if the token is valid and its session still active.
    pub async fn authenticate(&self, access_token: &str) -> Result<Principal, AuthError> {
        let now = self.clock.now();
        let claims = match self
            .verified_tokens
            .get(access_token, now)
            .filter(|claims| claims.expires_at > now)
        {
            Some(claims) => claims,
            None => {
                let claims = self.verifier.verify(access_token)?;
                self.verified_tokens
                    .insert(access_token.to_owned(), claims.clone(), now);
                claims
            }
        };
        let key = (claims.user_id.clone(), claims.session_id.clone());
        let cached = self.live.get(&key, now).filter(|s| s.is_active(now));
        let session = match cached {
            Some(session) => session,
            None => {
                let ticket = self.live.ticket();
                let session = self
                    .sessions
                    .find(&claims.session_id)
                    .await?
                    .filter(|s| s.is_active(now) && s.user_id == claims.user_id)
                    .ok_or(AuthError::Unauthorized("session ended"))?;
                self.live
                    .insert_unless_removed(key, session.clone(), now, ticket);
                session
            }
        };
        Ok(Principal {
            user_id: session.user_id,
            session_id: session.id,
        })
    }

    /// How many sessions this instance currently remembers as live (for metrics): those used
    /// within the revocation TTL.
    pub fn live_sessions_cached(&self) -> usize {
        self.live.len()
    }

    /// The session store, clock and settings, for the session service built on this.
    pub(super) fn parts(
        &self,
    ) -> (
        &Arc<dyn SessionRepository>,
        &Arc<dyn Clock>,
        SessionSettings,
    ) {
        (&self.sessions, &self.clock, self.settings)
    }

    /// Stops trusting the cached liveness of one session (after it was revoked in the store).
    pub(super) fn forget_session(&self, user_id: &Id, session_id: &Id) {
        self.live.remove(&(user_id.clone(), session_id.clone()));
    }

    /// Stops trusting the cached liveness of `user_id`'s sessions, but `keep`.
    pub(super) fn forget_sessions_of(&self, user_id: &Id, keep: Option<&Id>) {
        self.live
            .remove_where(|(user, session)| user == user_id && keep != Some(session));
    }
}
