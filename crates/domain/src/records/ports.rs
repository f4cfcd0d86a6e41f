//! The record store port.

use async_trait::async_trait;

use super::filter::FieldFilter;
use super::model::{Record, RemovedRecords};
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
    /// Up to `limit` records of the endpoint that satisfy every filter, newest first (id
    /// descending), starting after (older than) `before` if given. Filters and paging run
    /// inside the store, on an index where it has them.
    async fn list(
        &self,
        api_id: &Id,
        endpoint: &EndpointName,
        filters: &[FieldFilter],
        before: Option<Id>,
        limit: usize,
    ) -> Result<Vec<Record>>;
    /// Replaces the stored record if its revision is still `expected_revision`; false (storing
    /// nothing) if it changed meanwhile or is gone.
    async fn replace(&self, record: &Record, expected_revision: u64) -> Result<bool>;
    /// Removes one record; false if there was none.
    async fn delete(&self, api_id: &Id, endpoint: &EndpointName, id: &Id) -> Result<bool>;
    /// Removes up to `limit` records of an API, any endpoint; returns how many went and their
    /// size. Callers loop until none go, so one huge API never holds the store for long.
    async fn delete_batch_for_api(&self, api_id: &Id, limit: usize) -> Result<RemovedRecords>;
}
