//! Access tokens: signed with the current key of the installed key ring (EdDSA, ES256 or
//! RS256) or with the shared HS256 secret, `kid` in every header; verified by the key the
//! `kid` names, with that key's algorithm pinned and `iss`, `aud`, `exp` enforced.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use keygate_domain::crypto::{AccessClaims, TokenIssuer, TokenVerifier};
use keygate_domain::signing::{InstalledKey, SigningAlgorithm, TokenKeyInstaller};
use keygate_domain::{Error, Id, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What access tokens are signed with and say about their origin.
#[derive(Clone)]
pub struct JwtSettings {
    /// What new tokens are signed with.
    pub algorithm: SigningAlgorithm,
    /// The shared HMAC secret, if one is configured: it signs under HS256 and otherwise still
    /// verifies HS256 tokens issued before a move to asymmetric keys, until they expire.
    pub secret: Option<Vec<u8>>,
    /// How long an access token lives: after a move to asymmetric keys the shared secret
    /// verifies for this long past the move, and only tokens issued before it.
    pub access_token_ttl: chrono::Duration,
    /// `iss` of every token.
    pub issuer: String,
    /// `aud` of every token.
    pub audience: String,
}

impl std::fmt::Debug for JwtSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtSettings")
            .field("algorithm", &self.algorithm)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("access_token_ttl", &self.access_token_ttl)
            .finish()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    sid: String,
    jti: String,
    iat: i64,
    exp: i64,
    iss: String,
    aud: String,
}

/// A key that signs and verifies.
struct RingKey {
    kid: String,
    algorithm: Algorithm,
    signs_from: DateTime<Utc>,
    retires_at: Option<DateTime<Utc>>,
    gone_at: Option<DateTime<Utc>>,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl RingKey {
    fn signs_at(&self, now: DateTime<Utc>) -> bool {
        self.signs_from <= now && self.retires_at.is_none_or(|retired| now < retired)
    }

    fn verifies_at(&self, now: DateTime<Utc>) -> bool {
        self.gone_at.is_none_or(|gone| now < gone)
    }
}

/// The jsonwebtoken adapter of the [`TokenIssuer`], [`TokenVerifier`] and
/// [`TokenKeyInstaller`] ports.
pub struct JwtTokens {
    algorithm: SigningAlgorithm,
    shared: Option<RingKey>,
    ring: RwLock<Arc<Vec<RingKey>>>,
    issuer: String,
    audience: String,
    access_token_ttl: chrono::Duration,
}

impl JwtTokens {
    /// Signs and verifies with `settings`; asymmetric keys arrive through
    /// [`TokenKeyInstaller::install`].
    pub fn new(settings: &JwtSettings) -> Self {
        let shared = settings.secret.as_ref().map(|secret| RingKey {
            kid: shared_secret_kid(secret),
            algorithm: Algorithm::HS256,
            signs_from: DateTime::<Utc>::MIN_UTC,
            retires_at: None,
            gone_at: None,
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation: pinned(Algorithm::HS256, &settings.issuer, &settings.audience),
        });
        Self {
            algorithm: settings.algorithm,
            shared,
            ring: RwLock::default(),
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            access_token_ttl: settings.access_token_ttl,
        }
    }

    /// Beside an asymmetric algorithm, whether an HS256 token of `claims` may still be honoured:
    /// the move to asymmetric keys is the moment the earliest installed key began to sign, and
    /// only a token issued before it and expiring within one token lifetime of it is one the
    /// server itself made; past that lifetime the secret verifies nothing (whoever holds it could
    /// mint any token, backdated or not).
    fn honours_shared_after_move(&self, claims: &Claims, ring: &[RingKey]) -> bool {
        let Some(moved_at) = ring.first().map(|key| key.signs_from) else {
            return false;
        };
        let honoured_until = moved_at + self.access_token_ttl;
        claims.iat <= moved_at.timestamp()
            && claims.exp <= honoured_until.timestamp()
            && Utc::now() < honoured_until
    }

    fn ring(&self) -> Arc<Vec<RingKey>> {
        match self.ring.read() {
            Ok(ring) => ring.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn ring_key(&self, installed: &InstalledKey) -> Result<RingKey> {
        let key = &installed.key;
        let unreadable = || {
            Error::Internal(format!(
                "signing key {} in the store is unreadable",
                key.kid
            ))
        };
        fn member(value: &Option<String>) -> Result<&str> {
            value
                .as_deref()
                .ok_or_else(|| Error::Internal("a stored signing key lacks a member".to_owned()))
        }
        let private = key.private_key.expose();
        let (algorithm, encoding, decoding) = match key.algorithm {
            SigningAlgorithm::EdDSA => (
                Algorithm::EdDSA,
                EncodingKey::from_ed_der(private),
                DecodingKey::from_ed_components(member(&key.public.x)?)
                    .map_err(|_| unreadable())?,
            ),
            SigningAlgorithm::ES256 => (
                Algorithm::ES256,
                EncodingKey::from_ec_der(private),
                DecodingKey::from_ec_components(member(&key.public.x)?, member(&key.public.y)?)
                    .map_err(|_| unreadable())?,
            ),
            SigningAlgorithm::RS256 => (
                Algorithm::RS256,
                EncodingKey::from_rsa_der(private),
                DecodingKey::from_rsa_components(member(&key.public.n)?, member(&key.public.e)?)
                    .map_err(|_| unreadable())?,
            ),
            SigningAlgorithm::HS256 => return Err(unreadable()),
        };
        Ok(RingKey {
            kid: key.kid.clone(),
            algorithm,
            signs_from: key.signs_from,
            retires_at: installed.retires_at,
            gone_at: installed.gone_at,
            encoding,
            decoding,
            validation: pinned(algorithm, &self.issuer, &self.audience),
        })
    }
}

/// What a token signed with `algorithm` must show: only that algorithm (`none` and every switch
/// are refused), Keygate's `iss` and `aud`, and an unexpired `exp`, without leeway.
fn pinned(algorithm: Algorithm, issuer: &str, audience: &str) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    validation.leeway = 0;
    validation
}

/// The `kid` of HS256 tokens: derived from the secret (so every instance agrees) through a
/// one-way hash that tells nothing a token's own signature does not.
fn shared_secret_kid(secret: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(b"keygate hs256 kid\0")
        .chain_update(secret)
        .finalize();
    format!("hs256-{}", hex::encode(&digest[..8]))
}

impl TokenKeyInstaller for JwtTokens {
    fn install(&self, keys: &[InstalledKey]) -> Result<()> {
        let mut ring = keys
            .iter()
            .map(|key| self.ring_key(key))
            .collect::<Result<Vec<_>>>()?;
        ring.sort_by_key(|key| key.signs_from);
        let ring = Arc::new(ring);
        match self.ring.write() {
            Ok(mut slot) => *slot = ring,
            Err(poisoned) => *poisoned.into_inner() = ring,
        }
        Ok(())
    }
}

impl TokenIssuer for JwtTokens {
    fn issue(&self, claims: &AccessClaims) -> Result<String> {
        let body = Claims {
            sub: claims.user_id.to_string(),
            sid: claims.session_id.to_string(),
            jti: claims.token_id.clone(),
            iat: claims.issued_at.timestamp(),
            exp: claims.expires_at.timestamp(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        let sign = |key: &RingKey| {
            let mut header = Header::new(key.algorithm);
            header.kid = Some(key.kid.clone());
            encode(&header, &body, &key.encoding)
                .map_err(|e| Error::Internal(format!("signing failed: {e}")))
        };
        if !self.algorithm.is_asymmetric() {
            let shared = self.shared.as_ref().ok_or_else(|| {
                Error::Internal("HS256 is configured without a secret".to_owned())
            })?;
            return sign(shared);
        }
        let ring = self.ring();
        let now = claims.issued_at;
        let key = ring
            .iter()
            .rev()
            .find(|key| key.signs_at(now))
            .ok_or_else(|| Error::Unavailable("no signing key is installed yet".to_owned()))?;
        sign(key)
    }
}

impl TokenVerifier for JwtTokens {
    fn verify(&self, token: &str) -> Result<AccessClaims> {
        let refused = || Error::Unauthorized("invalid or expired token");
        let header = decode_header(token).map_err(|_| refused())?;
        // Keys come from Keygate's own set only: a header naming another key source is forged.
        if header.jku.is_some()
            || header.x5u.is_some()
            || header.jwk.is_some()
            || header.x5c.is_some()
        {
            return Err(refused());
        }
        let ring = self.ring();
        let key = match header.kid.as_deref() {
            Some(kid) => match &self.shared {
                Some(shared) if shared.kid == kid => shared,
                _ => ring
                    .iter()
                    .find(|key| key.kid == kid && key.verifies_at(Utc::now()))
                    .ok_or_else(refused)?,
            },
            // Tokens signed before `kid` was added: only the shared secret ever made them.
            None => self.shared.as_ref().ok_or_else(refused)?,
        };
        let data =
            decode::<Claims>(token, &key.decoding, &key.validation).map_err(|_| refused())?;
        let claims = data.claims;
        let by_shared = self
            .shared
            .as_ref()
            .is_some_and(|shared| shared.kid == key.kid);
        if by_shared
            && self.algorithm.is_asymmetric()
            && !self.honours_shared_after_move(&claims, &ring)
        {
            return Err(refused());
        }
        let timestamp = |secs: i64| {
            DateTime::<Utc>::from_timestamp(secs, 0)
                .ok_or(Error::Unauthorized("invalid token time"))
        };
        Ok(AccessClaims {
            user_id: claims
                .sub
                .parse::<Id>()
                .map_err(|_| Error::Unauthorized("invalid token subject"))?,
            session_id: claims
                .sid
                .parse::<Id>()
                .map_err(|_| Error::Unauthorized("invalid token session"))?,
            token_id: claims.jti,
            issued_at: timestamp(claims.iat)?,
            expires_at: timestamp(claims.exp)?,
        })
    }
}

#[cfg(test)]
mod tests;
