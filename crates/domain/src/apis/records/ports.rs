//! The record store port.

use async_trait::async_trait;

use super::model::{ListBounds, ListedRecords, Record, RemovedRecords};
use super::plan::QueryPlan;
use crate::apis::EndpointName;
use crate::error::Result;
use crate::id::Id;

/// Stores records, per API and endpoint. Changes are compare-and-set on the revision, so
/// concurrent writers never lose each other's changes.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RecordRepository: Send + Sync {
    /// Adds a record, with an entry in the index of each of `indexed` (the endpoint's indexed
    /// fields in declaration order, [`crate::apis::Endpoint::indexed_fields`]), in the same
    /// write.
    async fn insert(&self, record: &Record, indexed: &[String]) -> Result<()>;
    /// The record `id` at `endpoint` of `api_id`.
    async fn find(&self, api_id: &Id, endpoint: &EndpointName, id: &Id) -> Result<Option<Record>>;
    /// Records of the endpoint that satisfy every condition of the plan's query, in its order
    /// (newest first, or by the sort field with ties newest first), starting after the plan's
    /// position, within `bounds`; read the way the plan says.
    async fn list(
        &self,
        api_id: &Id,
        endpoint: &EndpointName,
        plan: &QueryPlan,
        bounds: ListBounds,
    ) -> Result<ListedRecords>;
    /// How many records of the endpoint satisfy the plan's query. The service asks only where
    /// the count is bounded: a scan of a small endpoint, or a walk of one index whose field
    /// carries every condition (which reads index entries only).
    async fn count(&self, api_id: &Id, endpoint: &EndpointName, plan: &QueryPlan) -> Result<u64>;
    /// How many records the endpoint holds, counting no further than `at_most`.
    async fn count_up_to(&self, api_id: &Id, endpoint: &EndpointName, at_most: u64) -> Result<u64>;
    /// Replaces the stored record if its revision is still `expected_revision`, its index
    /// entries with those for `indexed`; false (storing nothing) if it changed meanwhile or
    /// is gone.
    async fn replace(
        &self,
        record: &Record,
        expected_revision: u64,
        indexed: &[String],
    ) -> Result<bool>;
    /// Rewrites the index entries of up to `limit` records of the endpoint, oldest first,
    /// starting after `after`, for `indexed`; the id of the last one, `None` once none were
    /// left. Builds a new index for the records written before it was declared.
    async fn reindex(
        &self,
        api_id: &Id,
        endpoint: &EndpointName,
        indexed: &[String],
        after: Option<Id>,
        limit: usize,
    ) -> Result<Option<Id>>;
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
