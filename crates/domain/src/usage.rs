//! Per-account storage quotas: data entries and records count against one limit on entries,
//! APIs against one on their number, and all of them (API definitions included) against one
//! on bytes (compact JSON), so one account cannot fill the disk for everyone.
//!
//! The store keeps a running total per account, changed atomically with a limit check. A
//! write reserves its growth before it is stored and gives it back if it fails; a deletion
//! gives back what it removed. Totals can drift only by writes that crash between the two
//! steps, and then only towards refusing early, never towards letting an account grow
//! unbounded.

use std::sync::Arc;

use async_trait::async_trait;

use crate::accounts::UserDataEraser;
use crate::error::{Error, Result};
use crate::id::Id;

/// The most an account may store (`limits.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct UsageLimits {
    /// Data entries plus records (`max_entries_per_account`).
    #[serde(rename = "max_entries_per_account")]
    pub max_entries: u64,
    /// Bytes of compact JSON of those entries' keys and values, those records and the
    /// account's API definitions (`max_bytes_per_account`).
    #[serde(rename = "max_bytes_per_account")]
    pub max_bytes: u64,
    /// APIs (`max_apis_per_account`).
    #[serde(rename = "max_apis_per_account")]
    pub max_apis: u64,
}

impl Default for UsageLimits {
    fn default() -> Self {
        Self {
            max_entries: 100_000,
            max_bytes: 256 * 1024 * 1024,
            max_apis: 100,
        }
    }
}

/// A change of an account's usage; negative parts give room back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UsageChange {
    /// Entries added (or removed, when negative).
    pub entries: i64,
    /// Bytes added (or removed, when negative).
    pub bytes: i64,
    /// APIs added (or removed, when negative).
    pub apis: i64,
}

impl UsageChange {
    /// One more entry of `bytes` bytes.
    pub fn added(bytes: usize) -> Self {
        Self {
            entries: 1,
            bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
            apis: 0,
        }
    }

    /// One more API whose definition takes `bytes` bytes.
    pub fn api_added(bytes: usize) -> Self {
        Self {
            entries: 0,
            bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
            apis: 1,
        }
    }

    /// One entry of `bytes` bytes fewer.
    pub fn removed(bytes: usize) -> Self {
        Self::added(bytes).reversed()
    }

    /// The same entry count, `from` bytes becoming `to` bytes.
    pub fn resized(from: usize, to: usize) -> Self {
        Self {
            entries: 0,
            bytes: i64::try_from(to).unwrap_or(i64::MAX) - i64::try_from(from).unwrap_or(i64::MAX),
            apis: 0,
        }
    }

    /// The change that undoes this one.
    pub fn reversed(self) -> Self {
        Self {
            entries: -self.entries,
            bytes: -self.bytes,
            apis: -self.apis,
        }
    }

    /// Whether the change only gives room back (or changes nothing).
    pub fn only_shrinks(self) -> bool {
        self.entries <= 0 && self.bytes <= 0 && self.apis <= 0
    }
}

/// Keeps each account's running usage.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UsageRepository: Send + Sync {
    /// Applies `change` to the account's totals in one atomic step, unless it grows them past
    /// `limits`: then nothing changes and the answer is false. A change that only shrinks
    /// always applies (totals never go below zero).
    async fn try_change(
        &self,
        user_id: &Id,
        change: UsageChange,
        limits: UsageLimits,
    ) -> Result<bool>;
    /// Forgets an account's totals (account deletion).
    async fn forget(&self, user_id: &Id) -> Result<()>;
}

/// Quota checks shared by the data and record services.
#[derive(Clone)]
pub struct Quota {
    usage: Arc<dyn UsageRepository>,
    limits: UsageLimits,
}

impl Quota {
    /// Quotas of `limits`, kept in `usage`.
    pub fn new(usage: Arc<dyn UsageRepository>, limits: UsageLimits) -> Self {
        Self { usage, limits }
    }

    /// Reserves `change` for `owner`, or refuses with `QuotaExceeded`.
    pub async fn reserve(&self, owner: &Id, change: UsageChange) -> Result<()> {
        if change == UsageChange::default()
            || self.usage.try_change(owner, change, self.limits).await?
        {
            Ok(())
        } else {
            Err(Error::QuotaExceeded(format!(
                "this account may store at most {} entries and records, {} APIs, and {} bytes \
                 of them all",
                self.limits.max_entries, self.limits.max_apis, self.limits.max_bytes
            )))
        }
    }

    /// Undoes a reservation whose write failed; best effort, never fails a request.
    pub async fn undo(&self, owner: &Id, reserved: UsageChange) {
        self.give_back(owner, reserved.reversed()).await;
    }

    /// Records room freed by a deletion or a shrinking write; best effort.
    pub async fn give_back(&self, owner: &Id, freed: UsageChange) {
        if freed != UsageChange::default() && freed.only_shrinks() {
            let _ = self.usage.try_change(owner, freed, self.limits).await;
        }
    }
}

#[async_trait]
impl UserDataEraser for Quota {
    async fn erase_user_data(&self, user_id: &Id) -> Result<()> {
        self.usage.forget(user_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mockall::predicate::{always, eq};

    #[tokio::test]
    async fn growth_is_reserved_and_refused_past_the_limits() {
        let mut usage = MockUsageRepository::new();
        usage
            .expect_try_change()
            .with(always(), eq(UsageChange::added(10)), always())
            .returning(|_, _, _| Ok(false));
        usage
            .expect_try_change()
            .with(always(), eq(UsageChange::removed(10)), always())
            .times(2)
            .returning(|_, _, _| Ok(true));
        let quota = Quota::new(Arc::new(usage), UsageLimits::default());
        let owner = Id::generate(1);
        assert!(matches!(
            quota.reserve(&owner, UsageChange::added(10)).await,
            Err(Error::QuotaExceeded(_))
        ));
        // Undoing a growth, or a removal, both give room back.
        quota.undo(&owner, UsageChange::added(10)).await;
        quota.give_back(&owner, UsageChange::removed(10)).await;
        quota
            .reserve(&owner, UsageChange::default())
            .await
            .expect("nothing to reserve");
    }

    #[test]
    fn changes_compose() {
        assert_eq!(UsageChange::resized(10, 4).bytes, -6);
        assert!(UsageChange::resized(10, 4).only_shrinks());
        assert!(!UsageChange::added(0).only_shrinks());
        assert_eq!(UsageChange::added(3).reversed(), UsageChange::removed(3));
    }
}
