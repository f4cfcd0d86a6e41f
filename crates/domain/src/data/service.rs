//! The key-value use cases.

use std::sync::Arc;

use async_trait::async_trait;

use super::forms::{NewEntry, Replacement};
use super::model::{DataEntry, DataKey, ListedEntry};
use super::ports::DataRepository;
use crate::accounts::UserDataEraser;
use crate::clock::Clock;
use crate::error::{ConflictKind, Error, Result};
use crate::id::Id;
use crate::paging::{Page, PageRequest};
use crate::sessions::Principal;
use crate::usage::{Quota, UsageChange};

/// The key-value use cases: every entry is reachable by its owner only; anyone else's key is
/// simply not found.
pub struct DataService {
    entries: Arc<dyn DataRepository>,
    clock: Arc<dyn Clock>,
    quota: Quota,
}

/// How often a replace retries after losing a race for the same key before giving up.
const MAX_WRITE_ATTEMPTS: usize = 32;

/// Parses a key from a request.
fn key(raw: &str) -> Result<DataKey> {
    Ok(DataKey::new(raw)?)
}

impl DataService {
    /// Wires the service to its ports.
    pub fn new(entries: Arc<dyn DataRepository>, clock: Arc<dyn Clock>, quota: Quota) -> Self {
        Self {
            entries,
            clock,
            quota,
        }
    }

    /// Stores a new key; `Conflict(DataKey)` if the caller already has it.
    pub async fn create(&self, owner: &Principal, new: NewEntry) -> Result<DataEntry> {
        let now = self.clock.now();
        let entry = DataEntry {
            user_id: owner.user_id.clone(),
            key: new.key,
            value: new.value,
            created_at: now,
            updated_at: now,
        };
        let added = UsageChange::added(entry.size());
        self.quota.reserve(&owner.user_id, added).await?;
        if let Err(error) = self.entries.insert(&entry).await {
            self.quota.undo(&owner.user_id, added).await;
            return Err(error);
        }
        Ok(entry)
    }

    /// The caller's entry under `raw_key`.
    pub async fn get(&self, owner: &Principal, raw_key: &str) -> Result<DataEntry> {
        self.entries
            .find(&owner.user_id, &key(raw_key)?)
            .await?
            .ok_or(Error::NotFound("key"))
    }

    /// Replaces the value of one of the caller's keys. Compare-and-set against the entry
    /// read, so the quota changes by exactly what was replaced, however many writers race.
    pub async fn replace(&self, owner: &Principal, replacement: Replacement) -> Result<DataEntry> {
        let Replacement { key, value } = replacement;
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let current = self
                .entries
                .find(&owner.user_id, &key)
                .await?
                .ok_or(Error::NotFound("key"))?;
            let next_size = DataEntry {
                value: value.clone(),
                ..current.clone()
            }
            .size();
            let change = UsageChange::resized(current.size(), next_size);
            if !change.only_shrinks() {
                self.quota.reserve(&owner.user_id, change).await?;
            }
            let replaced = self
                .entries
                .replace_value(&current, &value, self.clock.now().max(current.updated_at))
                .await;
            // A shrink is recorded once written; a growth reserved above is undone if not.
            match &replaced {
                Ok(Some(_)) => self.quota.give_back(&owner.user_id, change).await,
                _ => self.quota.undo(&owner.user_id, change).await,
            }
            if let Some(entry) = replaced? {
                return Ok(entry);
            }
        }
        Err(Error::Conflict(ConflictKind::Other(
            "a concurrent change to this key".into(),
        )))
    }

    /// Deletes one of the caller's keys, giving back the room of what the store removed.
    pub async fn delete(&self, owner: &Principal, raw_key: &str) -> Result<()> {
        let key = key(raw_key)?;
        let removed = self
            .entries
            .delete(&owner.user_id, &key)
            .await?
            .ok_or(Error::NotFound("key"))?;
        self.quota
            .give_back(
                &owner.user_id,
                UsageChange::removed(usize::try_from(removed).unwrap_or(usize::MAX)),
            )
            .await;
        Ok(())
    }

    /// The caller's entries in key order, optionally only those starting with `prefix`.
    pub async fn list(
        &self,
        owner: &Principal,
        prefix: Option<String>,
        page: &PageRequest,
    ) -> Result<Page<ListedEntry>> {
        let after = page.after().map(str::to_owned);
        let prefix = prefix.filter(|p| !p.is_empty());
        let entries = self
            .entries
            .list(&owner.user_id, prefix, after, page.limit() + 1)
            .await?;
        Ok(Page::from_overfetch(entries, page.limit(), |e| {
            e.key.as_str().to_owned()
        }))
    }
}

#[async_trait]
impl UserDataEraser for DataService {
    async fn erase_user_data(&self, user_id: &Id) -> Result<()> {
        self.entries.delete_all_for_user(user_id).await
    }
}

#[cfg(test)]
mod tests;
