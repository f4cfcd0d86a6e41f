//! The verifier: a cached key set, refreshed when it is old or a token names a key it lacks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::{decode, decode_header, Validation};
use serde::Deserialize;

use crate::fetch::{HttpKeySource, KeySource};
use crate::key_set::{parse, VerifyingKey};

/// Where Keygate is and what its tokens must say.
#[derive(Debug, Clone)]
pub struct VerifierSettings {
    /// The JWK Set's URL: `<keygate>/.well-known/jwks.json`.
    pub jwks_url: String,
    /// Keygate's `auth.issuer`.
    pub issuer: String,
    /// Keygate's `auth.audience`.
    pub audience: String,
    /// Clock skew allowed on `exp` (default 30 s).
    pub leeway: Duration,
    /// The least time between two fetches caused by unknown `kid`s (default 30 s), so forged
    /// tokens cannot make this service hammer Keygate.
    pub refetch_interval: Duration,
    /// How long a fetched set is used before it is fetched again (default 300 s, the JWKS's
    /// own `max-age`); on a failed fetch the old set stays in use.
    pub max_age: Duration,
    /// How long one fetch may take (default 5 s).
    pub timeout: Duration,
    /// `POST /token/introspect`'s URL and bearer secret, for [`Verifier::verify_live`].
    pub introspection: Option<Introspection>,
}

/// Where and how to ask Keygate whether a token is still live.
#[derive(Debug, Clone)]
pub struct Introspection {
    /// `<keygate>/token/introspect`.
    pub url: String,
    /// Keygate's `auth.introspection_token`.
    pub bearer: String,
}

impl VerifierSettings {
    /// The defaults for a Keygate at `base_url` (e.g. `https://auth.example.com`).
    pub fn new(base_url: &str, issuer: &str, audience: &str) -> Self {
        Self {
            jwks_url: format!("{}/.well-known/jwks.json", base_url.trim_end_matches('/')),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            leeway: Duration::from_secs(30),
            refetch_interval: Duration::from_secs(30),
            max_age: Duration::from_secs(300),
            timeout: Duration::from_secs(5),
            introspection: None,
        }
    }

    /// Also asks `<base_url>/token/introspect`, with `bearer`, in [`Verifier::verify_live`].
    pub fn with_introspection(mut self, base_url: &str, bearer: &str) -> Self {
        self.introspection = Some(Introspection {
            url: format!("{}/token/introspect", base_url.trim_end_matches('/')),
            bearer: bearer.to_owned(),
        });
        self
    }
}

/// What a verified Keygate access token says.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: String,
    /// The session's id.
    pub sid: String,
    /// The token's id.
    pub jti: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
}

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Malformed, badly signed, expired, for another issuer or audience, or signed by a key
    /// Keygate does not publish.
    #[error("invalid token: {0}")]
    Invalid(&'static str),
    /// Keygate says the token is no longer live (logged out, revoked).
    #[error("the token's session has ended")]
    Inactive,
    /// Keygate could not be reached for the key set or for introspection.
    #[error("Keygate is unavailable: {0}")]
    Unavailable(String),
}

#[derive(Default)]
struct Cached {
    keys: Arc<HashMap<String, VerifyingKey>>,
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
}

/// Verifies Keygate access tokens against its published keys. Share one per service (it is
/// `Send + Sync`; keep it in an `Arc` or `web::Data`).
pub struct Verifier {
    settings: VerifierSettings,
    source: Arc<dyn KeySource>,
    cached: Mutex<Cached>,
    /// One fetch at a time: callers that find the set stale together wait for one fetch.
    fetching: tokio::sync::Mutex<()>,
}

impl Verifier {
    /// A verifier fetching the key set over HTTP(S).
    pub fn new(settings: VerifierSettings) -> Self {
        let source = Arc::new(HttpKeySource::new(
            settings.jwks_url.clone(),
            settings.timeout,
        ));
        Self::with_source(settings, source)
    }

    /// A verifier over any key source (tests, or a set shipped some other way).
    pub fn with_source(settings: VerifierSettings, source: Arc<dyn KeySource>) -> Self {
        Self {
            settings,
            source,
            cached: Mutex::default(),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    fn cached(&self) -> std::sync::MutexGuard<'_, Cached> {
        match self.cached.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The claims of `token` if it verifies offline: signature by the published key its `kid`
    /// names (that key's algorithm only), `exp` (with the leeway), `iss` and `aud`. Does not
    /// see a logout before the token expires; see [`Self::verify_live`].
    pub async fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        let header = decode_header(token).map_err(|_| VerifyError::Invalid("malformed"))?;
        if header.jku.is_some()
            || header.x5u.is_some()
            || header.jwk.is_some()
            || header.x5c.is_some()
        {
            return Err(VerifyError::Invalid("the token names its own key source"));
        }
        let kid = header.kid.ok_or(VerifyError::Invalid(
            "no kid: not signed by a published key",
        ))?;
        let keys = self.keys_for(&kid).await?;
        let key = keys.get(&kid).ok_or(VerifyError::Invalid(
            "signed by a key Keygate does not publish",
        ))?;
        let mut validation = Validation::new(key.algorithm);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[&self.settings.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = self.settings.leeway.as_secs();
        decode::<Claims>(token, &key.key, &validation)
            .map(|data| data.claims)
            .map_err(|_| VerifyError::Invalid("bad signature, expired, or not for this audience"))
    }

    /// [`Self::verify`], then asks Keygate whether the token is still live: a logout is seen
    /// at once, at the price of a round trip. Needs [`VerifierSettings::introspection`].
    pub async fn verify_live(&self, token: &str) -> Result<Claims, VerifyError> {
        let claims = self.verify(token).await?;
        let introspection =
            self.settings.introspection.as_ref().ok_or_else(|| {
                VerifyError::Unavailable("no introspection configured".to_owned())
            })?;
        let answer = self
            .source
            .introspect(&introspection.url, &introspection.bearer, token)
            .await
            .map_err(VerifyError::Unavailable)?;
        let active = serde_json::from_str::<serde_json::Value>(&answer)
            .map_err(|e| VerifyError::Unavailable(format!("unreadable introspection: {e}")))?
            ["active"]
            == true;
        if active {
            Ok(claims)
        } else {
            Err(VerifyError::Inactive)
        }
    }

    /// The key set to check a token of `kid` with: the cached one, fetched again when it is
    /// older than `max_age`, or lacks `kid` and no fetch was tried within `refetch_interval`.
    async fn keys_for(&self, kid: &str) -> Result<Arc<HashMap<String, VerifyingKey>>, VerifyError> {
        if let Some(keys) = self.usable(kid) {
            return Ok(keys);
        }
        let _one_fetch = self.fetching.lock().await;
        // Another caller may have fetched while this one waited.
        if let Some(keys) = self.usable(kid) {
            return Ok(keys);
        }
        let fetched = self
            .source
            .fetch_key_set()
            .await
            .and_then(|doc| parse(&doc));
        let mut cached = self.cached();
        let now = Instant::now();
        cached.last_attempt = Some(now);
        match fetched {
            Ok(keys) => {
                cached.keys = Arc::new(keys);
                cached.fetched_at = Some(now);
                Ok(cached.keys.clone())
            }
            // A set that cannot be refreshed stays in use; with none at all, nothing verifies.
            Err(_) if cached.fetched_at.is_some() => Ok(cached.keys.clone()),
            Err(e) => Err(VerifyError::Unavailable(e)),
        }
    }

    /// The cached set when no fetch is called for.
    fn usable(&self, kid: &str) -> Option<Arc<HashMap<String, VerifyingKey>>> {
        let cached = self.cached();
        let fetched_at = cached.fetched_at?;
        let fresh = fetched_at.elapsed() < self.settings.max_age;
        let recently_tried = cached
            .last_attempt
            .is_some_and(|at| at.elapsed() < self.settings.refetch_interval);
        let known = cached.keys.contains_key(kid);
        ((fresh && known) || recently_tried).then(|| cached.keys.clone())
    }
}

#[cfg(test)]
mod tests;
