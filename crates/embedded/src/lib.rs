//! Keygate's zero-setup store: every repository port on one crash-safe, transactional redb
//! file under `database.path`. Uniqueness is decided inside a single write transaction, so
//! racing writers cannot both win.
//!
//! Depends on `keygate-domain` only.
#![warn(missing_docs)]

mod api_keys;
mod apis;
mod audit;
mod data;
mod group_commit;
mod one_time;
mod outbox;
mod read_pool;
mod record_rows;
mod records;
mod rows;
mod scan_blocks;
mod second_factors;
mod sessions;
mod signing_keys;
mod store;
mod tables;
mod unavailable;
mod usage;
mod users;

pub use store::EmbeddedStore;
