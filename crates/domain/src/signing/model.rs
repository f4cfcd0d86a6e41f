//! Signing keys and their public halves.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The JWS algorithms Keygate signs access tokens with (`auth.signing.algorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlgorithm {
    /// Ed25519 (RFC 8037): the default without a shared secret.
    EdDSA,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys.
    RS256,
    /// HMAC with SHA-256 over the shared secret (`auth.jwt_secret`); nothing is published.
    HS256,
}

impl SigningAlgorithm {
    /// The algorithm's JOSE name (`alg`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EdDSA => "EdDSA",
            Self::ES256 => "ES256",
            Self::RS256 => "RS256",
            Self::HS256 => "HS256",
        }
    }

    /// Whether tokens signed with it can be checked with a published key.
    pub fn is_asymmetric(self) -> bool {
        !matches!(self, Self::HS256)
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is none of [`SigningAlgorithm`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown signing algorithm '{0}': use EdDSA, ES256, RS256 or HS256")]
pub struct UnknownAlgorithm(pub String);

impl FromStr for SigningAlgorithm {
    type Err = UnknownAlgorithm;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name.to_ascii_uppercase().as_str() {
            "EDDSA" | "ED25519" => Ok(Self::EdDSA),
            "ES256" => Ok(Self::ES256),
            "RS256" => Ok(Self::RS256),
            "HS256" => Ok(Self::HS256),
            _ => Err(UnknownAlgorithm(name.to_owned())),
        }
    }
}

/// The public half of a key as a JWK (RFC 7517) without `kid`, `alg` and `use`: the members
/// its key type has, base64url without padding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    /// `OKP` (Ed25519), `EC` (P-256) or `RSA`.
    pub kty: String,
    /// The curve of an `OKP` or `EC` key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// The public key of an `OKP` key, or the x coordinate of an `EC` key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// The y coordinate of an `EC` key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// The modulus of an `RSA` key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// The exponent of an `RSA` key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

/// A private key in DER (PKCS#8 for Ed25519 and P-256, PKCS#1 for RSA). Never printed: its
/// `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKeyDer(pub Vec<u8>);

impl PrivateKeyDer {
    /// The DER bytes, for the crypto adapter and the stores only.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for PrivateKeyDer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKeyDer(<{} bytes redacted>)", self.0.len())
    }
}

/// A freshly generated key pair, as the crypto adapter makes it.
#[derive(Debug, Clone)]
pub struct KeyMaterial {
    /// The key's id: its RFC 7638 thumbprint.
    pub kid: String,
    /// The private half.
    pub private_key: PrivateKeyDer,
    /// The public half.
    pub public: PublicJwk,
}

/// A stored signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// The key's id, in every token it signs (`kid`).
    pub kid: String,
    /// What it signs with.
    pub algorithm: SigningAlgorithm,
    /// 1 for the first key, one more for each next one; unique in a store.
    pub generation: u64,
    /// When it was made (and published).
    pub created_at: DateTime<Utc>,
    /// When it starts signing; the key before it retires then.
    pub signs_from: DateTime<Utc>,
    /// The public half, as the JWKS shows it.
    pub public: PublicJwk,
    /// The private half.
    pub private_key: PrivateKeyDer,
}

impl SigningKey {
    /// The key of `generation` made from `material`.
    pub fn new(
        material: KeyMaterial,
        algorithm: SigningAlgorithm,
        generation: u64,
        created_at: DateTime<Utc>,
        signs_from: DateTime<Utc>,
    ) -> Self {
        Self {
            kid: material.kid,
            algorithm,
            generation,
            created_at,
            signs_from,
            public: material.public,
            private_key: material.private_key,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithms_parse_by_their_jose_names_in_any_case() {
        for algorithm in [
            SigningAlgorithm::EdDSA,
            SigningAlgorithm::ES256,
            SigningAlgorithm::RS256,
            SigningAlgorithm::HS256,
        ] {
            assert_eq!(algorithm.as_str().parse(), Ok(algorithm));
            assert_eq!(algorithm.as_str().to_lowercase().parse(), Ok(algorithm));
        }
        assert!("none".parse::<SigningAlgorithm>().is_err());
        assert!("HS512".parse::<SigningAlgorithm>().is_err());
    }

    #[test]
    fn a_private_key_never_shows_in_debug_output() {
        let key = PrivateKeyDer(b"very-secret-bytes".to_vec());
        let shown = format!("{key:?}");
        assert!(!shown.contains("very"), "{shown}");
        assert!(shown.contains("17 bytes"));
    }
}
