//! Making signing key pairs from the OS random generator: Ed25519 and P-256 with `ring`, RSA
//! (2048 bits) with RustCrypto's `rsa`, which `ring` cannot generate. Each key's id is its RFC
//! 7638 JWK thumbprint.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use keygate_domain::signing::{
    KeyMaterial, PrivateKeyDer, PublicJwk, SigningAlgorithm, SigningKeyGenerator,
};
use keygate_domain::{Error, Result};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use sha2::{Digest, Sha256};

/// RSA modulus size: 2048 bits, what RFC 7518 requires at least and every verifier accepts.
const RSA_BITS: usize = 2048;

/// The OS-random adapter of the [`SigningKeyGenerator`] port.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsKeyGenerator;

impl SigningKeyGenerator for OsKeyGenerator {
    fn generate(&self, algorithm: SigningAlgorithm) -> Result<KeyMaterial> {
        let (private_key, public) = match algorithm {
            SigningAlgorithm::EdDSA => ed25519()?,
            SigningAlgorithm::ES256 => p256()?,
            SigningAlgorithm::RS256 => rsa()?,
            SigningAlgorithm::HS256 => {
                return Err(Error::Internal(
                    "HS256 signs with the shared secret; it has no key pair".to_owned(),
                ))
            }
        };
        Ok(KeyMaterial {
            kid: thumbprint(&public),
            private_key,
            public,
        })
    }
}

fn failed(what: &str) -> Error {
    Error::Internal(format!("cannot make a signing key: {what}"))
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn ed25519() -> Result<(PrivateKeyDer, PublicJwk)> {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
        .map_err(|_| failed("Ed25519 generation"))?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| failed("Ed25519 key"))?;
    Ok((
        PrivateKeyDer(pkcs8.as_ref().to_vec()),
        PublicJwk {
            kty: "OKP".into(),
            crv: Some("Ed25519".into()),
            x: Some(b64(pair.public_key().as_ref())),
            y: None,
            n: None,
            e: None,
        },
    ))
}

fn p256() -> Result<(PrivateKeyDer, PublicJwk)> {
    let random = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &random)
        .map_err(|_| failed("P-256 generation"))?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &random)
        .map_err(|_| failed("P-256 key"))?;
    // An uncompressed point: 0x04, then x and y of 32 bytes each.
    let point = pair.public_key().as_ref();
    if point.len() != 65 || point[0] != 4 {
        return Err(failed("P-256 public key shape"));
    }
    Ok((
        PrivateKeyDer(pkcs8.as_ref().to_vec()),
        PublicJwk {
            kty: "EC".into(),
            crv: Some("P-256".into()),
            x: Some(b64(&point[1..33])),
            y: Some(b64(&point[33..])),
            n: None,
            e: None,
        },
    ))
}

fn rsa() -> Result<(PrivateKeyDer, PublicJwk)> {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;
    let key =
        rsa::RsaPrivateKey::new(&mut OsRandom, RSA_BITS).map_err(|_| failed("RSA generation"))?;
    let der = key.to_pkcs1_der().map_err(|_| failed("RSA key encoding"))?;
    Ok((
        PrivateKeyDer(der.as_bytes().to_vec()),
        PublicJwk {
            kty: "RSA".into(),
            crv: None,
            x: None,
            y: None,
            n: Some(b64(&key.n().to_bytes_be())),
            e: Some(b64(&key.e().to_bytes_be())),
        },
    ))
}

/// The OS random generator as the `rand_core` traits `rsa` takes it (through `getrandom`, as
/// every other secret of Keygate).
struct OsRandom;

impl rsa::rand_core::RngCore for OsRandom {
    fn next_u32(&mut self) -> u32 {
        let mut bytes = [0; 4];
        self.fill_bytes(&mut bytes);
        u32::from_le_bytes(bytes)
    }

    fn next_u64(&mut self) -> u64 {
        let mut bytes = [0; 8];
        self.fill_bytes(&mut bytes);
        u64::from_le_bytes(bytes)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        // The OS generator does not fail on any platform Keygate runs on; if it ever did, a
        // zeroed key must not come out of it.
        if let Err(e) = getrandom::fill(dest) {
            panic!("OS random generator failed: {e}");
        }
    }

    fn try_fill_bytes(
        &mut self,
        dest: &mut [u8],
    ) -> std::result::Result<(), rsa::rand_core::Error> {
        getrandom::fill(dest).map_err(|_| {
            rsa::rand_core::Error::from(
                std::num::NonZeroU32::new(rsa::rand_core::Error::CUSTOM_START)
                    .unwrap_or(std::num::NonZeroU32::MIN),
            )
        })
    }
}

impl rsa::rand_core::CryptoRng for OsRandom {}

/// The RFC 7638 thumbprint of `jwk`: SHA-256 over its required members in lexicographic
/// order, without whitespace, base64url.
pub(crate) fn thumbprint(jwk: &PublicJwk) -> String {
    let member = |value: &Option<String>| value.clone().unwrap_or_default();
    let canonical = match jwk.kty.as_str() {
        "EC" => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            member(&jwk.crv),
            member(&jwk.x),
            member(&jwk.y)
        ),
        "RSA" => format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            member(&jwk.e),
            member(&jwk.n)
        ),
        _ => format!(
            r#"{{"crv":"{}","kty":"{}","x":"{}"}}"#,
            member(&jwk.crv),
            jwk.kty,
            member(&jwk.x)
        ),
    };
    b64(&Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asymmetric_algorithm_makes_a_distinct_key_with_its_public_members() {
        for algorithm in [
            SigningAlgorithm::EdDSA,
            SigningAlgorithm::ES256,
            SigningAlgorithm::RS256,
        ] {
            let first = OsKeyGenerator.generate(algorithm).expect("generated");
            let second = OsKeyGenerator.generate(algorithm).expect("generated");
            assert_ne!(first.kid, second.kid, "{algorithm}");
            assert_ne!(first.private_key, second.private_key, "{algorithm}");
            assert_eq!(first.kid, thumbprint(&first.public));
            match algorithm {
                SigningAlgorithm::EdDSA => {
                    assert_eq!(first.public.kty, "OKP");
                    assert_eq!(first.public.x.as_deref().map(str::len), Some(43));
                }
                SigningAlgorithm::ES256 => {
                    assert_eq!(first.public.crv.as_deref(), Some("P-256"));
                    assert!(first.public.y.is_some());
                }
                _ => {
                    assert_eq!(first.public.e.as_deref(), Some("AQAB"));
                    // 2048 bits: 256 bytes, 342 base64url characters.
                    assert_eq!(first.public.n.as_deref().map(str::len), Some(342));
                }
            }
        }
        assert!(OsKeyGenerator.generate(SigningAlgorithm::HS256).is_err());
    }

    /// The modulus of RFC 7638's example key (section 3.1).
    const RFC_7638_MODULUS: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

    /// RFC 7638 section 3.1: the thumbprint of the RSA key of its example.
    #[test]
    fn thumbprints_match_rfc_7638() {
        let jwk = PublicJwk {
            kty: "RSA".into(),
            crv: None,
            x: None,
            y: None,
            n: Some(RFC_7638_MODULUS.into()),
            e: Some("AQAB".into()),
        };
        assert_eq!(
            thumbprint(&jwk),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
