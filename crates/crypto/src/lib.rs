//! Keygate's crypto adapters: Argon2id password hashing on the blocking pool with bounded
//! concurrency, HS256 access tokens with a pinned algorithm, and OS-random secrets stored as
//! SHA-256 digests.
//!
//! Depends on `keygate-domain` only, so any Rust service can link it to verify Keygate tokens.
#![warn(missing_docs)]

mod password;
mod secrets;
mod tokens;

pub use password::{Argon2Hasher, HashingSettings, IDLE_RELEASE};
pub use secrets::{OsSecrets, BASE62};
pub use tokens::{JwtSettings, JwtTokens};
