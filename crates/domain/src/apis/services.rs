//! The API aggregate built whole: the definition, record and index-build services over one set of ports
//! and one set of caches, which nothing outside this module can reach or split.

use std::sync::Arc;

use chrono::Duration;

use super::caches::ApiCaches;
use super::index_builder::IndexBuilder;
use super::ports::ApiPorts;
use super::records::{RecordService, RecordServiceSettings};
use super::service::ApiService;

/// What the API aggregate's two services are configured with; [`crate::Keygate::new`] fills it
/// from the [`crate::KeygateSettings`] (no defaults of its own: they live there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiSettings {
    /// How long another instance's revocation, API change or deletion may go unseen here
    /// (`auth.revocation_cache_ttl_secs`); on this instance it takes effect at once.
    pub revocation_cache_ttl: Duration,
    /// Keys one API may have, revoked ones included (`limits.max_keys_per_api`).
    pub max_keys_per_api: usize,
    /// Cache sizes and list-page bounds of the record service (`records.*`).
    pub records: RecordServiceSettings,
}

/// The API-definition service and the record service, sharing their caches: a key revoked or
/// an API changed through one is refused or seen through the other at once.
pub struct ApiServices {
    /// APIs and their keys.
    pub apis: Arc<ApiService>,
    /// Records, and the authorisation of keys and tokens for them.
    pub records: Arc<RecordService>,
    /// Fills in indexes declared on endpoints that had records.
    pub indexes: Arc<IndexBuilder>,
}

impl ApiServices {
    /// Both services over `ports`.
    pub fn new(ports: ApiPorts, settings: ApiSettings) -> Self {
        let caches = ApiCaches::new(
            settings.records.key_cache_capacity,
            settings.revocation_cache_ttl,
        );
        Self {
            apis: Arc::new(ApiService::new(
                ports.clone(),
                caches.clone(),
                settings.max_keys_per_api,
            )),
            indexes: Arc::new(IndexBuilder::new(ports.clone(), caches.clone())),
            records: Arc::new(RecordService::new(ports, caches, settings.records)),
        }
    }
}
