//! Keygate's crypto adapters: Argon2id password hashing on the blocking pool with bounded
//! concurrency, access tokens signed with EdDSA, ES256, RS256 or HS256 keys (algorithm pinned per key),
//! signing key generation, and OS-random secrets stored as
//! SHA-256 digests.
//!
//! Depends on `keygate-domain` only, so any Rust service can link it to verify Keygate tokens.
#![warn(missing_docs)]

mod hash_limits;
mod hashing_settings;
mod legacy;
mod otp;
mod passkeys;
mod password;
mod relying_party;
mod secrets;
mod signing_keys;
mod tokens;

pub use hash_limits::{Argon2Limit, ARGON2_FACTOR, MAX_HASH_BYTES};
pub use hashing_settings::HashingSettings;
pub use legacy::{
    LegacyFormat, LegacyHash, LegacyHashes, UnusableHash, MAX_BCRYPT_COST, MAX_PBKDF2_ROUNDS,
    MAX_SCRYPT_BYTES,
};
pub use otp::{hotp, OsOtp, TotpHash};
pub use passkeys::WebauthnPasskeys;
pub use password::{Argon2Hasher, IDLE_RELEASE};
pub use relying_party::{WebauthnConfig, WebauthnSettings};
pub use secrets::{OsSecrets, BASE62};
pub use signing_keys::OsKeyGenerator;
pub use tokens::{JwtSettings, JwtTokens};
