//! The record store port.

use async_trait::async_trait;

use super::filter::FieldFilter;
use super::model::{ListBounds, ListedRecords, Record, RemovedRecords};
use crate::apis::EndpointName;
use crate::error::Result;
use crate::id::Id;

/// Stores records, per API and endpoint. Changes are compare-and-set on the revision, so
/// concurrent writers never lose each other's changes.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RecordRepository: Send + Sync {
    /// Adds a record.
    async fn insert(&self, record: &Record) -> Result<()>;
    /// The record `id` at `endpoint` of `api_id`.
    async fn find(&self, api_id: &Id, endpoint: &EndpointName, id: &Id) -> Result<Option<Record>>;
    /// Records of the endpoint that satisfy every filter, newest first (id descending),
    /// starting after (older than) `before` if given, within `bounds`. Filters and paging run
    /// inside the store, on an index where it has them.
    async fn list(
        &self,
        api_id: &Id,
        endpoint: &EndpointName,
        filters: &[FieldFilter],
        before: Option<Id>,
        bounds: ListBounds,
    ) -> Result<ListedRecords>;
    /// Replaces the stored record if its revision is still `expected_revision`; false (storing
    /// nothing) if it changed meanwhile or is gone.
    async fn replace(&self, record: &Record, expected_revision: u64) -> Result<bool>;
    /// Removes one record; the size ([`Record::size`]) of what it removed, `None` if there
    /// was none. Never needs to read the document itself.
    async fn delete(&self, api_id: &Id, endpoint: &EndpointName, id: &Id) -> Result<Option<u64>>;
    /// Removes up to `limit` records of an API, any endpoint, stopping early once they hold
    /// `max_bytes` together; returns how many went and their size. Callers loop until none
    /// go, so one huge API never holds the store for long. Never parses a document.
    async fn delete_batch_for_api(
        &self,
        api_id: &Id,
        limit: usize,
        max_bytes: u64,
    ) -> Result<RemovedRecords>;
}
