//! The audit log's port: where events are kept.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::model::AuditEvent;
use super::query::AuditQuery;
use crate::error::Result;
use crate::id::Id;

/// Up to `limit + 1` events of a listing, newest first, and where a scan that met its bound
/// before filling the page stopped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditBatch {
    /// The events found, newest first.
    pub events: Vec<AuditEvent>,
    /// Set when the store examined as many events as it may for one page without filling it:
    /// the id of the last one examined, after which the next page starts.
    pub stopped_after: Option<Id>,
}

/// The store of security events (§13). Events are ordered by id, which sorts by time.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AuditRepository: Send + Sync {
    /// Stores `event` durably before answering.
    async fn append_event(&self, event: &AuditEvent) -> Result<()>;

    /// Stores a refused login, at most one per `window` (action, account, address and minute,
    /// §13): the first of the window is stored as `event` with `details.count` 1; each later
    /// one adds one to that event's count. Atomic under concurrent failures.
    async fn count_in_window(&self, window: &str, event: &AuditEvent) -> Result<()>;

    /// Up to `limit + 1` events `query` wants, newest first, older than the event `before`
    /// when given. A store may examine a bounded number of events per call; it then says
    /// where it stopped.
    async fn list_events(
        &self,
        query: &AuditQuery,
        before: Option<Id>,
        limit: usize,
    ) -> Result<AuditBatch>;

    /// Removes up to `max` events older than `cutoff`, oldest first; answers how many.
    async fn purge_older_than(&self, cutoff: DateTime<Utc>, max: usize) -> Result<usize>;

    /// Blanks `address` and `user_agent` in up to `max` of `account_id`'s events, oldest first,
    /// starting after the event `after` when given; answers the last event it examined, from
    /// which the next call goes on (`None`: every event is blank).
    async fn blank_account(
        &self,
        account_id: &Id,
        after: Option<Id>,
        max: usize,
    ) -> Result<Option<Id>>;
}
