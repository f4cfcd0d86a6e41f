//! The rows this store writes: its own types, so the file format is decided here and nowhere
//! else (renaming a field of a domain entity changes nothing on disk). Each row keeps the
//! field names and order the file has always had; `tests/file_format.rs` pins them against a
//! file written before these types existed. The users row is the only thing in Keygate's
//! embedded store that holds a password hash.
//!
//! One file per table, named as the table is: `rows/{users,sessions,…}.rs`, as the MongoDB
//! store's `documents/` are.

mod apis;
mod audit;
mod data;
mod factors;
mod one_time;
mod outbox;
mod records;
mod sessions;
mod signing_keys;
mod stored;
mod users;

pub(crate) use audit::EventRow;
pub(crate) use data::decode_listed;
pub(crate) use stored::{decode, encode, Stored};
