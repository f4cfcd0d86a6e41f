//! The key-value store port.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::model::{DataEntry, DataKey, ListedEntry};
use crate::error::Result;
use crate::id::Id;

/// Stores key-value entries; `(user, key)` is unique, decided atomically by the store.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait DataRepository: Send + Sync {
    /// Adds an entry; `Conflict(DataKey)` if the user already has the key.
    async fn insert(&self, entry: &DataEntry) -> Result<()>;
    /// The user's entry under `key`.
    async fn find(&self, user_id: &Id, key: &DataKey) -> Result<Option<DataEntry>>;
    /// Replaces the value of `expected` if the stored entry is still exactly `expected`
    /// (compare-and-set); `None` if it changed meanwhile or is gone, storing nothing.
    async fn replace_value(
        &self,
        expected: &DataEntry,
        value: &Value,
        now: DateTime<Utc>,
    ) -> Result<Option<DataEntry>>;
    /// Removes an entry; the size ([`DataEntry::size`]) of what it removed, `None` if there
    /// was none.
    async fn delete(&self, user_id: &Id, key: &DataKey) -> Result<Option<u64>>;
    /// Up to `limit` of the user's keys in key order (byte order of UTF-8), starting after
    /// `after` if given, keeping only keys that start with `prefix`. Values are not read.
    async fn list(
        &self,
        user_id: &Id,
        prefix: Option<String>,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<ListedEntry>>;
    /// Removes every entry of a user (account deletion).
    async fn delete_all_for_user(&self, user_id: &Id) -> Result<()>;
}
