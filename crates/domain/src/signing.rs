//! Asymmetric signing keys (§7): what a key is, where keys are kept, the rotation rules, and
//! the service that keeps every instance signing and verifying with the same published keys.
//!
//! Keys are immutable once stored: a key's whole life (published, signing, retired, gone)
//! follows from its `signs_from` and the next key's, so instances never update a key and two
//! instances rotating at once cannot both add one (each key has a generation, unique in the
//! store).

mod model;
mod ports;
mod rotation;
mod service;

pub use model::{
    KeyMaterial, PrivateKeyDer, PublicJwk, SigningAlgorithm, SigningKey, UnknownAlgorithm,
};
#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockSigningKeyGenerator, MockSigningKeyRepository, MockTokenKeyInstaller};
pub use ports::{SigningKeyGenerator, SigningKeyRepository, TokenKeyInstaller};
pub use rotation::{InstalledKey, KeySchedule, PlannedKey};
pub use service::{
    PublishedKey, PublishedKeys, RotationOutcome, SigningKeyService, SigningSettings,
};
