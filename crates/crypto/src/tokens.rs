//! HS256 access tokens with the algorithm pinned and `iss`, `aud`, `exp` enforced.

use chrono::{DateTime, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use keygate_domain::crypto::{AccessClaims, TokenIssuer, TokenVerifier};
use keygate_domain::{Error, Id, Result};
use serde::{Deserialize, Serialize};

/// What access tokens are signed with and say about their origin.
#[derive(Clone)]
pub struct JwtSettings {
    /// The HMAC secret (at least 32 bytes in production).
    pub secret: Vec<u8>,
    /// `iss` of every token.
    pub issuer: String,
    /// `aud` of every token.
    pub audience: String,
}

impl std::fmt::Debug for JwtSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtSettings")
            .field("secret", &"<redacted>")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
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

/// The jsonwebtoken adapter of the [`TokenIssuer`] and [`TokenVerifier`] ports.
pub struct JwtTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
}

impl JwtTokens {
    /// Signs and verifies with `settings`.
    pub fn new(settings: &JwtSettings) -> Self {
        // Only HS256 is accepted: a token naming `none` or any other algorithm is refused.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 0;
        Self {
            encoding: EncodingKey::from_secret(&settings.secret),
            decoding: DecodingKey::from_secret(&settings.secret),
            validation,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
        }
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
        encode(&Header::new(Algorithm::HS256), &body, &self.encoding)
            .map_err(|e| Error::Internal(format!("signing failed: {e}")))
    }
}

impl TokenVerifier for JwtTokens {
    fn verify(&self, token: &str) -> Result<AccessClaims> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| Error::Unauthorized("invalid or expired token"))?;
        let claims = data.claims;
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
mod tests {
    use super::*;
    use chrono::Duration;

    fn settings(secret: &str) -> JwtSettings {
        JwtSettings {
            secret: secret.as_bytes().to_vec(),
            issuer: "keygate".into(),
            audience: "keygate-clients".into(),
        }
    }

    fn claims(expires_in: Duration) -> AccessClaims {
        let now = Utc::now();
        AccessClaims {
            user_id: Id::generate(now.timestamp()),
            session_id: Id::generate(now.timestamp()),
            token_id: "jti-1".into(),
            issued_at: now,
            expires_at: now + expires_in,
        }
    }

    fn b64(json: &str) -> String {
        // Unpadded base64url, enough to forge test headers.
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let bytes = json.as_bytes();
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            }
        }
        out
    }

    #[test]
    fn round_trips_every_claim() {
        let tokens = JwtTokens::new(&settings("a-secret-of-at-least-32-bytes-long!!"));
        let original = claims(Duration::minutes(15));
        let token = tokens.issue(&original).expect("signed");
        let verified = tokens.verify(&token).expect("valid");
        assert_eq!(verified.user_id, original.user_id);
        assert_eq!(verified.session_id, original.session_id);
        assert_eq!(verified.token_id, "jti-1");
        assert_eq!(
            verified.expires_at.timestamp(),
            original.expires_at.timestamp()
        );
    }

    #[test]
    fn refuses_expired_foreign_and_tampered_tokens() {
        let tokens = JwtTokens::new(&settings("a-secret-of-at-least-32-bytes-long!!"));
        let expired = tokens
            .issue(&claims(Duration::seconds(-1)))
            .expect("signed");
        assert!(tokens.verify(&expired).is_err());

        let other = JwtTokens::new(&settings("another-secret-of-at-least-32-bytes"));
        let foreign = other.issue(&claims(Duration::minutes(5))).expect("signed");
        assert!(tokens.verify(&foreign).is_err());

        let mut wrong_audience = settings("a-secret-of-at-least-32-bytes-long!!");
        wrong_audience.audience = "someone-else".into();
        let token = JwtTokens::new(&wrong_audience)
            .issue(&claims(Duration::minutes(5)))
            .expect("signed");
        assert!(tokens.verify(&token).is_err());

        assert!(tokens.verify("not.a.token").is_err());
        assert!(tokens.verify("").is_err());
    }

    #[test]
    fn refuses_the_none_algorithm() {
        let tokens = JwtTokens::new(&settings("a-secret-of-at-least-32-bytes-long!!"));
        let good = tokens.issue(&claims(Duration::minutes(5))).expect("signed");
        let payload = good.split('.').nth(1).expect("payload");
        let unsigned = format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), payload);
        assert!(tokens.verify(&unsigned).is_err());
        let switched = format!(
            "{}.{}.{}",
            b64(r#"{"alg":"HS512","typ":"JWT"}"#),
            payload,
            good.split('.').nth(2).expect("signature")
        );
        assert!(tokens.verify(&switched).is_err());
    }
}
