//! OS-random secrets and the SHA-256 digests they are stored as.

use keygate_domain::crypto::{SecretDigest, SecretGenerator};
use keygate_domain::{Error, Result};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The alphabet of generated secrets: URL-safe and double-click selectable.
pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// 43 base62 characters carry 256 bits (43 × log2 62 ≈ 256.03).
const SECRET_LENGTH: usize = 43;

/// The public id of an API key: 8 base62 characters (≈ 47.6 bits, unique per store).
const PUBLIC_ID_LENGTH: usize = 8;

/// The OS-random adapter of the [`SecretGenerator`] port.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsSecrets;

impl OsSecrets {
    /// `length` uniformly random base62 characters from the OS generator.
    pub fn random_base62(length: usize) -> Result<String> {
        let mut out = String::with_capacity(length);
        let mut buffer = [0u8; 64];
        while out.len() < length {
            getrandom::fill(&mut buffer)
                .map_err(|e| Error::Internal(format!("OS random generator failed: {e}")))?;
            // Rejection sampling: 248 = 4 × 62, so every accepted byte maps uniformly.
            for byte in buffer.iter().filter(|b| **b < 248) {
                if out.len() == length {
                    break;
                }
                out.push(char::from(BASE62[usize::from(*byte % 62)]));
            }
        }
        Ok(out)
    }
}

impl SecretGenerator for OsSecrets {
    fn new_secret(&self) -> Result<String> {
        Self::random_base62(SECRET_LENGTH)
    }

    fn digest(&self, secret: &str) -> SecretDigest {
        SecretDigest(hex::encode(Sha256::digest(secret.as_bytes())))
    }

    fn new_public_id(&self) -> Result<String> {
        Self::random_base62(PUBLIC_ID_LENGTH)
    }

    fn matches(&self, secret: &str, digest: &SecretDigest) -> bool {
        let presented = self.digest(secret);
        bool::from(
            presented
                .as_str()
                .as_bytes()
                .ct_eq(digest.as_str().as_bytes()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_distinct_base62() {
        let a = OsSecrets.new_secret().expect("secret");
        let b = OsSecrets.new_secret().expect("secret");
        assert_eq!(a.len(), 43);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn public_ids_are_8_base62_and_matching_is_exact() {
        let id = OsSecrets.new_public_id().expect("id");
        assert_eq!(id.len(), 8);
        assert!(id.bytes().all(|c| c.is_ascii_alphanumeric()));
        let digest = OsSecrets.digest("kg_abcdefgh_secret");
        assert!(OsSecrets.matches("kg_abcdefgh_secret", &digest));
        assert!(!OsSecrets.matches("kg_abcdefgh_secreT", &digest));
        assert!(!OsSecrets.matches("", &digest));
    }

    #[test]
    fn digest_is_sha256_hex() {
        assert_eq!(
            OsSecrets.digest("abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
