//! What every handler can reach: the domain services and a health probe of the store.

use std::sync::Arc;

use keygate_crypto::Argon2Hasher;
use keygate_domain::accounts::UserRepository;
use keygate_domain::Keygate;

use crate::config::MetricsSettings;
use crate::metrics::HttpMetrics;

/// Shared application state, one per server.
pub struct AppState {
    /// Every domain service.
    pub keygate: Keygate,
    /// The account store, pinged by `/ready`.
    pub store_probe: Arc<dyn UserRepository>,
    /// Request counts and latencies for `/metrics`.
    pub http_metrics: Arc<HttpMetrics>,
    /// Store operation latencies and errors (empty when `metrics.enabled` is false).
    pub store_metrics: Arc<crate::store_metrics::StoreMetrics>,
    /// The hashing pool, read by `/metrics` (queue depth and wait).
    pub hasher: Argon2Hasher,
    /// Whether `/metrics` answers, and the token it asks for.
    pub metrics: MetricsSettings,
    /// `POST /token/introspect`'s secret and the claims it reports; `None`: the route is 404.
    pub introspection: Option<IntrospectionAccess>,
}

/// What `POST /token/introspect` needs beyond the domain.
pub struct IntrospectionAccess {
    /// The bearer secret callers present (`auth.introspection_token`).
    pub token: String,
    /// `iss` of access tokens.
    pub issuer: String,
    /// `aud` of access tokens.
    pub audience: String,
}
