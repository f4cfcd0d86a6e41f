//! Moving the earlier systems in (§10): their accounts with their old password hashes, 000's
//! APIs, keys and records, and 002's key-value entries. A [`Migration`] reads everything a
//! [`LegacySource`] holds (the `keygate-import` crate reads MongoDB, PostgreSQL, SQLite and
//! exports) and writes it through Keygate's own stores, reached through
//! [`crate::Keygate::migration`].
//!
//! Idempotent: everything keeps a 24-hex id (its own, or one derived from the source and its
//! old id), so a second run finds it and imports nothing twice, and a run killed half way is
//! finished by the next.

mod accounts;
mod content;
mod owners;
mod ports;
mod report;
mod run;

#[cfg(any(test, feature = "mocks"))]
pub use accounts::MockHashInspector;
pub use accounts::{
    HashInspector, HashVerdict, ImportOutcome, ImportReport, ImportService, LegacyUser,
    MAX_NAMED_SKIPS, NO_PASSWORD,
};
pub use content::{ContentImportService, ContentReport, LegacyApi, LegacyEntry, LegacyRecord};
#[cfg(any(test, feature = "mocks"))]
pub use ports::MockLegacySource;
pub use ports::{LegacyDatabase, LegacySource, Owned};
pub use report::MigrationReport;
pub use run::Migration;
