//! Keygate's production store: every repository port on MongoDB (the `mongodb` driver and its
//! `bson`). Indexes are created idempotently at start-up; uniqueness comes only from unique
//! indexes; every query uses an index; expiring sessions leave through TTL indexes.
//!
//! Depends on `keygate-domain` only. No driver type or driver message leaves this crate: every
//! failure becomes a domain error (a duplicate key a `Conflict`, a lost server `Unavailable`).
#![warn(missing_docs)]

mod api_keys;
mod apis;
mod audit;
mod collections;
mod data;
mod documents;
mod errors;
mod indexes;
mod one_time;
mod outbox;
mod records;
mod second_factors;
mod sessions;
mod signing_keys;
mod store;
mod throttle_counters;
mod usage;
mod users;

pub use audit::{audit_index, audit_shape};
pub use records::{query_shapes, QueryShape};
pub use store::{MongoSettings, MongoStore};
