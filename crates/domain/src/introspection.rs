//! Token introspection (RFC 7662, §7): what a back-end service learns about a token it was
//! handed — an access token whose session is still live, a usable API key, or nothing.
//!
//! Every token costs one store read whatever it turns out to be, so the answer's timing tells
//! little about why a token is inactive; the session is read from the store, never from a
//! cache, so a logout shows at once.

use std::sync::Arc;

use crate::apis::{ApiDefinition, ApiKey, ApiKeyRepository, ApiKeyText, ApiRepository};
use crate::clock::Clock;
use crate::crypto::{AccessClaims, SecretGenerator, TokenVerifier};
use crate::error::Result;
use crate::id::Id;
use crate::sessions::SessionRepository;

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub enum Introspection {
    /// Expired, revoked, unknown, malformed: nothing more is said.
    Inactive,
    /// A valid access token of a live session.
    AccessToken(AccessClaims),
    /// A usable API key, and the API it opens.
    ApiKey {
        /// The key.
        key: ApiKey,
        /// Its API (boxed: definitions are large beside the other answers).
        api: Box<ApiDefinition>,
    },
}

/// The ports introspection reads.
pub struct IntrospectionPorts {
    /// Access-token signatures and claims.
    pub verifier: Arc<dyn TokenVerifier>,
    /// Sessions, read for every access token.
    pub sessions: Arc<dyn SessionRepository>,
    /// API keys.
    pub keys: Arc<dyn ApiKeyRepository>,
    /// APIs (the name of a key's API).
    pub apis: Arc<dyn ApiRepository>,
    /// Key digests, compared in constant time.
    pub secrets: Arc<dyn SecretGenerator>,
    /// What "now" is.
    pub clock: Arc<dyn Clock>,
}

/// Answers `POST /token/introspect`.
pub struct TokenIntrospector {
    ports: IntrospectionPorts,
}

impl TokenIntrospector {
    /// The introspector over `ports`.
    pub fn new(ports: IntrospectionPorts) -> Self {
        Self { ports }
    }

    /// What `token` is. Errors are the store's only (the caller answers 503); a bad token is
    /// [`Introspection::Inactive`].
    pub async fn introspect(&self, token: &str) -> Result<Introspection> {
        let now = self.ports.clock.now();
        if let Some(text) = ApiKeyText::parse(token) {
            let Some(key) = self
                .ports
                .keys
                .find_by_public_id(&text.lookup_id(&*self.ports.secrets))
                .await?
            else {
                return Ok(Introspection::Inactive);
            };
            if !(self.ports.secrets.matches(text.expose(), &key.digest) && key.is_usable(now)) {
                return Ok(Introspection::Inactive);
            }
            return Ok(match self.ports.apis.find(&key.api_id).await? {
                Some(api) => Introspection::ApiKey {
                    key,
                    api: Box::new(api),
                },
                None => Introspection::Inactive,
            });
        }
        match self.ports.verifier.verify(token) {
            Ok(claims) => {
                let live = self
                    .ports
                    .sessions
                    .find(&claims.session_id)
                    .await?
                    .is_some_and(|s| s.is_active(now) && s.user_id == claims.user_id);
                Ok(if live && claims.expires_at > now {
                    Introspection::AccessToken(claims)
                } else {
                    Introspection::Inactive
                })
            }
            Err(_) => {
                // The same one read a genuine token costs, for an id no session has.
                self.ports
                    .sessions
                    .find(&Id::generate(now.timestamp()))
                    .await?;
                Ok(Introspection::Inactive)
            }
        }
    }
}

#[cfg(test)]
mod tests;
