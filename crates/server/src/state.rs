//! What every handler can reach: the domain services and a health probe of the store.

use std::sync::Arc;

use keygate_crypto::Argon2Hasher;
use keygate_domain::accounts::{AccountService, LoginThrottle, UserRepository};
use keygate_domain::apis::ApiService;
use keygate_domain::data::DataService;
use keygate_domain::records::RecordService;
use keygate_domain::sessions::SessionService;

use crate::config::MetricsSettings;
use crate::metrics::HttpMetrics;

/// Shared application state, one per server.
pub struct AppState {
    /// Account use cases.
    pub accounts: AccountService,
    /// Session use cases (also used to authenticate requests).
    pub sessions: Arc<SessionService>,
    /// Key-value use cases.
    pub data: Arc<DataService>,
    /// API-definition and API-key use cases.
    pub apis: Arc<ApiService>,
    /// Record use cases (also authorises API keys).
    pub records: Arc<RecordService>,
    /// The account store, pinged by `/ready`.
    pub store_probe: Arc<dyn UserRepository>,
    /// Request counts and latencies for `/metrics`.
    pub http_metrics: Arc<HttpMetrics>,
    /// Store operation latencies and errors (empty when `metrics.enabled` is false).
    pub store_metrics: Arc<crate::store_metrics::StoreMetrics>,
    /// The hashing pool, read by `/metrics` (queue depth and wait).
    pub hasher: Argon2Hasher,
    /// The throttle, read by `/metrics` (refusals).
    pub throttle: Arc<LoginThrottle>,
    /// Whether `/metrics` answers, and the token it asks for.
    pub metrics: MetricsSettings,
}
