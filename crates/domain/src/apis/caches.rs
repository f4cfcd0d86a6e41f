//! What the API and record services remember between requests. One value is shared by both
//! services, so a change made through this instance (a revoked key, a changed or deleted API)
//! takes effect here at once; other instances see it within the revocation TTL.

use std::sync::Arc;

use chrono::Duration;

use super::{ApiDefinition, ApiKey};
use crate::cache::BoundedCache;

/// The caches shared by [`super::ApiService`] and [`crate::apis::records::RecordService`].
#[derive(Clone)]
pub(crate) struct ApiCaches {
    /// Verified API keys by public id.
    pub(crate) keys: Arc<BoundedCache<String, ApiKey>>,
    /// API definitions by name, trusted by record reads only (writes read the current one).
    pub(crate) definitions: Arc<BoundedCache<String, Arc<ApiDefinition>>>,
}

impl ApiCaches {
    /// Up to `capacity` keys and as many definitions, each remembered for `ttl` (the
    /// revocation TTL: how long another instance's change may go unseen).
    pub(crate) fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            keys: Arc::new(BoundedCache::new(capacity, ttl)),
            definitions: Arc::new(BoundedCache::new(capacity, ttl)),
        }
    }

    /// Forgets everything remembered about the API named `name`'s definition.
    pub(crate) fn forget_definition(&self, name: &str) {
        self.definitions.remove(name);
    }
}
