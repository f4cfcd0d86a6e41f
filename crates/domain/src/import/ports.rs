//! Where a migration reads from: a source of the earlier systems' data.

use async_trait::async_trait;

use super::accounts::LegacyUser;
use super::content::{LegacyApi, LegacyEntry, LegacyRecord};
use crate::error::Result;

/// A thing and its owner as the source names it (an old user id, a username or an email).
#[derive(Debug, Clone, PartialEq)]
pub struct Owned<T> {
    /// The owner's id (or username) in the source.
    pub owner: String,
    /// The thing.
    pub item: T,
}

/// Everything a source holds that Keygate imports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LegacyDatabase {
    /// Its accounts.
    pub users: Vec<LegacyUser>,
    /// The SQL table they came from (derived ids depend on it, so two tables of one database
    /// never collide).
    pub table: Option<String>,
    /// 000's APIs, by owner.
    pub apis: Vec<Owned<LegacyApi>>,
    /// 000's records.
    pub records: Vec<LegacyRecord>,
    /// 002's key-value entries, by owner.
    pub entries: Vec<Owned<LegacyEntry>>,
}

/// One earlier system's data (`keygate-import` implements it for each kind of source).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait LegacySource: Send + Sync {
    /// A name for the source that holds no password and is the same on every run (ids are
    /// derived from it).
    fn identity(&self) -> String;
    /// Everything it holds; `Unavailable` saying why when it cannot be read.
    async fn read(&self) -> Result<LegacyDatabase>;
}
