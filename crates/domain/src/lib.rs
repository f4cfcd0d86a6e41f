//! Keygate's domain: entities, value objects that are valid by construction, the ports
//! (traits) every adapter implements, and the use-case services that hold every rule of the
//! HTTP contract.
//!
//! This crate must not depend on any other workspace crate, on actix-web, on a database driver
//! or on a crypto library: other Rust services link it to share Keygate's model.
#![warn(missing_docs)]

pub mod accounts;
pub mod apis;
pub mod cache;
pub mod clock;
pub mod data;
pub mod error;
pub mod id;
pub mod paging;
pub mod records;
pub mod schema;
pub mod security;
pub mod sessions;
#[cfg(test)]
#[allow(missing_docs)]
mod test_support;
pub mod usage;

pub use clock::{Clock, SystemClock};
pub use error::{ConflictKind, Error, FieldViolation, Result};
pub use id::Id;
pub use paging::{Page, PageRequest};
