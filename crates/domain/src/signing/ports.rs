//! The ports of signing keys: where they are kept, how they are made, and how the token
//! adapter learns of them.

use async_trait::async_trait;

use super::model::{KeyMaterial, SigningAlgorithm, SigningKey};
use super::rotation::InstalledKey;
use crate::error::Result;

/// Keeps signing keys, shared by every instance on one database.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SigningKeyRepository: Send + Sync {
    /// Every stored key, lowest generation first.
    async fn list_signing_keys(&self) -> Result<Vec<SigningKey>>;
    /// Stores `key` unless a key of its generation is already stored; false (storing nothing)
    /// when one is, so that of two instances rotating at once only one adds a key.
    async fn insert_signing_key(&self, key: &SigningKey) -> Result<bool>;
    /// Removes the key of `generation` (no-op if it is gone).
    async fn delete_signing_key(&self, generation: u64) -> Result<()>;
}

/// Makes key pairs from the OS random generator.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait SigningKeyGenerator: Send + Sync {
    /// A new key pair for `algorithm` (an asymmetric one).
    fn generate(&self, algorithm: SigningAlgorithm) -> Result<KeyMaterial>;
}

/// The token adapter's side of key rotation: it signs and verifies with the keys it was last
/// given.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait TokenKeyInstaller: Send + Sync {
    /// Replaces the adapter's keys with `keys`: each signs from its `signs_from` and verifies
    /// until its `gone_at`.
    fn install(&self, keys: &[InstalledKey]) -> Result<()>;
}
