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
mod tests {
    use super::*;
    use crate::clock::MockClock;
    use crate::data::ports::MockDataRepository;
    use crate::error::ConflictKind;
    use chrono::{DateTime, Utc};
    use mockall::predicate::{always, eq};
    use serde_json::{json, Value};

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("valid time")
    }

    fn owner() -> Principal {
        Principal {
            user_id: "6553f1000000000000000001".parse().expect("id"),
            session_id: "6553f1000000000000000002".parse().expect("id"),
        }
    }

    fn service(repo: MockDataRepository) -> DataService {
        let mut clock = MockClock::new();
        clock.expect_now().returning(now);
        let mut usage = crate::usage::MockUsageRepository::new();
        usage.expect_try_change().returning(|_, _, _| Ok(true));
        let quota = Quota::new(Arc::new(usage), crate::usage::UsageLimits::default());
        DataService::new(Arc::new(repo), Arc::new(clock), quota)
    }

    fn listed(key: &str) -> ListedEntry {
        ListedEntry {
            key: DataKey::new(key).expect("key"),
            created_at: now(),
            updated_at: now(),
        }
    }

    fn new_entry(key: &str, value: Value) -> NewEntry {
        NewEntry {
            key: DataKey::new(key).expect("key"),
            value,
        }
    }

    fn replacement(key: &str, value: Value) -> Replacement {
        Replacement {
            key: DataKey::new(key).expect("key"),
            value,
        }
    }

    #[tokio::test]
    async fn create_stores_the_entry_of_its_owner_null_included() {
        let mut repo = MockDataRepository::new();
        repo.expect_insert()
            .withf(|e| {
                e.value == Value::Null && e.key.as_str() == "k" && e.user_id == owner().user_id
            })
            .times(1)
            .returning(|_| Ok(()));
        service(repo)
            .create(&owner(), new_entry("k", Value::Null))
            .await
            .expect("stored");
    }

    #[tokio::test]
    async fn create_passes_on_a_taken_key() {
        let mut repo = MockDataRepository::new();
        repo.expect_insert()
            .returning(|_| Err(Error::Conflict(ConflictKind::DataKey)));
        assert!(matches!(
            service(repo)
                .create(&owner(), new_entry("k", json!(1)))
                .await,
            Err(Error::Conflict(ConflictKind::DataKey))
        ));
    }

    #[tokio::test]
    async fn reads_updates_and_deletes_only_the_owners_key() {
        let mut repo = MockDataRepository::new();
        let key = DataKey::new("k").expect("key");
        repo.expect_find()
            .with(eq(owner().user_id), eq(key.clone()))
            .returning(|_, _| Ok(None));
        repo.expect_replace_value().never();
        repo.expect_delete()
            .with(eq(owner().user_id), eq(key))
            .returning(|_, _| Ok(None));
        let svc = service(repo);
        assert!(matches!(
            svc.get(&owner(), "k").await,
            Err(Error::NotFound(_))
        ));
        assert!(matches!(
            svc.replace(&owner(), replacement("k", json!([1]))).await,
            Err(Error::NotFound(_))
        ));
        assert!(matches!(
            svc.delete(&owner(), "k").await,
            Err(Error::NotFound(_))
        ));
        assert!(matches!(
            svc.get(&owner(), &"x".repeat(257)).await,
            Err(Error::Validation(_))
        ));
    }

    #[tokio::test]
    async fn list_pages_with_hex_cursors_that_survive_any_key() {
        let mut repo = MockDataRepository::new();
        repo.expect_list()
            .with(
                eq(owner().user_id),
                eq(Some("a/".to_owned())),
                eq(None),
                eq(3),
            )
            .returning(|_, _, _, _| Ok(vec![listed("a/1"), listed("a/2 &?#"), listed("a/3")]));
        repo.expect_list()
            .with(always(), eq(None), eq(Some("a/2 &?#".to_owned())), eq(3))
            .returning(|_, _, _, _| Ok(vec![listed("a/3")]));
        let svc = service(repo);
        let page = PageRequest::new(Some(2), None).expect("page");
        let first = svc
            .list(&owner(), Some("a/".into()), &page)
            .await
            .expect("listed");
        assert_eq!(first.items.len(), 2);
        let cursor = first.next_cursor.expect("more");
        assert!(cursor.bytes().all(|b| b.is_ascii_hexdigit()));
        let next = PageRequest::new(Some(2), Some(cursor)).expect("page");
        let second = svc.list(&owner(), None, &next).await.expect("listed");
        assert_eq!(second.items.len(), 1);
        assert_eq!(second.next_cursor, None);
        assert!(matches!(
            PageRequest::new(None, Some("zz".into())),
            Err(Error::Validation(_))
        ));
    }

    #[tokio::test]
    async fn erasing_a_user_removes_all_their_entries() {
        let mut repo = MockDataRepository::new();
        repo.expect_delete_all_for_user()
            .with(eq(owner().user_id))
            .times(1)
            .returning(|_| Ok(()));
        service(repo)
            .erase_user_data(&owner().user_id)
            .await
            .expect("erased");
    }
}
