//! Verifies Keygate's access tokens inside another Rust service, without a database and
//! without Keygate's secrets (§7).
//!
//! A [`Verifier`] fetches Keygate's `GET /.well-known/jwks.json`, caches it, and checks each
//! token against the key its `kid` names, with that key's algorithm pinned (EdDSA, ES256 or
//! RS256; never `none`, never HS256, never a key the token brings along), and `exp`, `iss` and
//! `aud` checked with a small clock skew. A token naming an unknown `kid` makes it fetch the
//! set again, at most once per [`VerifierSettings::refetch_interval`]. For a route that must
//! see a logout at once, [`Verifier::verify_live`] also asks Keygate's
//! `POST /token/introspect`.
//!
//! ```no_run
//! # async fn example() -> Result<(), keygate_verify::VerifyError> {
//! use keygate_verify::{Verifier, VerifierSettings};
//! let verifier = Verifier::new(VerifierSettings::new("https://auth.example.com", "keygate", "keygate"));
//! let claims = verifier.verify("eyJ...").await?;
//! println!("user {} session {}", claims.sub, claims.sid);
//! # Ok(()) }
//! ```
//!
//! With the `actix` feature, [`Authenticated`] extracts the claims in an actix-web handler.
#![warn(missing_docs)]

#[cfg(feature = "actix")]
mod actix;
mod fetch;
mod key_set;
mod verifier;

#[cfg(feature = "actix")]
pub use actix::{bearer_token, Authenticated};
pub use fetch::{HttpKeySource, KeySource};
pub use verifier::{Claims, Introspection, Verifier, VerifierSettings, VerifyError};
