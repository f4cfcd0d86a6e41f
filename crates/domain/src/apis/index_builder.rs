//! Builds the indexes declared on endpoints that already had records (§11).
//!
//! Every write keeps every declared index up to date, building or ready; the builder fills in
//! the records written before the declaration, oldest first, in batches of bounded size (so
//! no batch holds the store for long), then marks the indexes ready. A restart starts a build
//! over: rewriting an entry is idempotent.

use super::caches::ApiCaches;
use super::model::{ApiDefinition, IndexState};
use super::ports::ApiPorts;
use crate::error::Result;
use crate::id::Id;

/// How many records one build step rewrites.
pub const INDEX_BUILD_BATCH: usize = 500;

/// How often marking an index ready retries against concurrent changes of its API.
const READY_ATTEMPTS: usize = 16;

/// How many APIs with pending builds are read at once.
const APIS_PER_PASS: usize = 64;

/// The index build use case.
pub struct IndexBuilder {
    ports: ApiPorts,
    caches: ApiCaches,
}

impl IndexBuilder {
    pub(crate) fn new(ports: ApiPorts, caches: ApiCaches) -> Self {
        Self { ports, caches }
    }

    /// Builds every index still building; returns how many endpoints became ready.
    pub async fn build_pending(&self) -> Result<usize> {
        let mut finished = 0;
        let mut after: Option<Id> = None;
        loop {
            let apis = self
                .ports
                .apis
                .with_building_indexes(after.clone(), APIS_PER_PASS)
                .await?;
            let Some(last) = apis.last() else {
                return Ok(finished);
            };
            after = Some(last.id.clone());
            for api in &apis {
                finished += self.build(api).await?;
            }
        }
    }

    /// Fills in and readies the building indexes of one API; how many endpoints it readied.
    async fn build(&self, api: &ApiDefinition) -> Result<usize> {
        let mut readied = 0;
        for endpoint in &api.endpoints {
            let building: Vec<String> = endpoint
                .indexes
                .iter()
                .filter(|i| i.state == IndexState::Building)
                .map(|i| i.field.clone())
                .collect();
            if building.is_empty() {
                continue;
            }
            let indexed = endpoint.indexed_fields();
            let mut after = None;
            while let Some(last) = self
                .ports
                .records
                .reindex(&api.id, &endpoint.name, &indexed, after, INDEX_BUILD_BATCH)
                .await?
            {
                after = Some(last);
            }
            if self
                .mark_ready(api, endpoint.name.as_str(), &building)
                .await?
            {
                readied += 1;
            }
        }
        Ok(readied)
    }

    /// Marks `fields` of the endpoint ready in the stored definition, compare-and-set; false
    /// if the API or endpoint is gone.
    async fn mark_ready(
        &self,
        api: &ApiDefinition,
        endpoint: &str,
        fields: &[String],
    ) -> Result<bool> {
        for _ in 0..READY_ATTEMPTS {
            let Some(current) = self.ports.apis.find(&api.id).await? else {
                return Ok(false);
            };
            let mut next = current.clone();
            let Some(target) = next
                .endpoints
                .iter_mut()
                .find(|e| e.name.as_str() == endpoint)
            else {
                return Ok(false);
            };
            for index in target.indexes.iter_mut() {
                if fields.contains(&index.field) {
                    index.state = IndexState::Ready;
                }
            }
            if next == current {
                return Ok(true);
            }
            next.revision = current.revision + 1;
            next.updated_at = self.ports.clock.now().max(current.updated_at);
            if self.ports.apis.update(&next, current.revision).await? {
                self.caches.forget_definition(next.name.as_str());
                return Ok(true);
            }
        }
        Err(crate::error::Error::Conflict(
            crate::error::ConflictKind::Other("a concurrent change to this API".into()),
        ))
    }
}
