//! User-defined APIs: named endpoints, each guarded by a JSON Schema, and the API keys that
//! write and read their records.

mod caches;
mod forms;
mod index_builder;
mod keys;
mod model;
mod ports;
pub mod records;
mod service;
mod services;

pub use forms::{ApiChangeSet, ApiChanges, ApiDraft, KeyRequest, KeySpec, NewApi, MAX_ENDPOINTS};
pub use index_builder::{IndexBuilder, INDEX_BUILD_BATCH};
pub use keys::{ApiKey, ApiKeyText, Scope, Scopes, API_KEY_PREFIX};
pub use model::{
    ApiDefinition, ApiName, ApiRef, DisplayName, Endpoint, EndpointName, FieldIndex, IndexState,
    MAX_INDEXES_PER_ENDPOINT,
};
pub use ports::{ApiKeyRepository, ApiPorts, ApiRepository};
#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockApiKeyRepository, MockApiRepository};
pub(crate) use service::check_definition_size;
pub use service::{ApiService, ApiView, CreatedApi, IssuedKey};
pub use services::{ApiServices, ApiSettings};
