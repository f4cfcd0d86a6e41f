//! Keygate's domain: entities, value objects that are valid by construction, the ports
//! (traits) every adapter implements, and the use-case services that hold every rule of the
//! HTTP contract.
//!
//! This crate must not depend on any other workspace crate, on actix-web, on a database driver
//! or on a crypto library: other Rust services link it to share Keygate's model.
//!
//! # Where to start
//!
//! - Everything wired: [`Keygate::new`], the composition root, builds every service from a
//!   [`Repositories`] bundle (any [`Store`]), the [`CryptoPorts`], a schema validator, a clock
//!   and the [`KeygateSettings`].
//! - To accept Keygate's access tokens in your own service: [`sessions::Authenticator`] and
//!   its [`authenticate`](sessions::Authenticator::authenticate), built over a
//!   [`sessions::SessionRepository`] (Keygate's `keygate-mongo` or `keygate-embedded` store),
//!   a [`crypto::TokenVerifier`] (`keygate-crypto`'s `JwtTokens` with Keygate's keys), a
//!   clock and the [`sessions::SessionSettings`]. `examples/protected-service` in the
//!   repository does exactly this; `docs/embedding.md` walks through it.
//! - Request bodies become typed commands in each aggregate's `forms` module
//!   ([`accounts::RegistrationForm`], [`data::NewEntry`], [`apis::NewApi`], …), which report
//!   every violation at once; the services take the commands.
//! - To verify tokens without linking a store: the `keygate-verify` crate, which reads
//!   Keygate's JWKS; signing keys and their rotation: [`signing::SigningKeyService`].
//! - Accounts (register, log in, profiles, passwords): [`accounts::AccountService`].
//! - Private key-value data: [`data::DataService`]; user-defined APIs and their records:
//!   [`apis::ApiService`] and [`apis::records::RecordService`].
//! - Every failure is an [`Error`]; the HTTP layer maps each variant to one status and code.
//! - Ports are traits; with the `mocks` feature every port has a mockall mock
//!   (`MockSessionRepository`, `MockTokenVerifier`, …) for unit tests of code built on them.
#![warn(missing_docs)]

pub mod accounts;
pub mod apis;
pub mod audit;
pub mod cache;
pub mod clock;
pub mod crypto;
pub mod data;
pub mod email_flows;
pub mod error;
pub mod id;
pub mod import;
pub mod introspection;
pub mod json;
mod keygate;
pub mod mail;
pub mod mfa;
pub mod one_time;
pub mod paging;
pub mod schema;
pub mod sessions;
pub mod settings;
pub mod signing;
pub mod store;
#[cfg(test)]
#[allow(missing_docs)]
mod test_support;
mod text_value;
pub mod units;
pub mod usage;

pub use clock::{Clock, SystemClock};
pub use error::{ConflictKind, Error, FieldViolation, Result};
pub use id::Id;
pub use keygate::{CryptoPorts, Keygate, MailPorts};
pub use paging::{Page, PageRequest};
pub use settings::KeygateSettings;
pub use store::{Repositories, Store};
