//! What every handler can reach: the domain services and a health probe of the store.

use std::sync::Arc;

use keygate_domain::accounts::{AccountService, UserRepository};
use keygate_domain::apis::ApiService;
use keygate_domain::data::DataService;
use keygate_domain::records::RecordService;
use keygate_domain::sessions::SessionService;

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
}
