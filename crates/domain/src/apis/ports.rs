//! The API-definition and API-key store ports.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use std::sync::Arc;

use super::keys::ApiKey;
use super::model::{ApiDefinition, ApiName};
use crate::apis::records::RecordRepository;
use crate::clock::Clock;
use crate::crypto::SecretGenerator;
use crate::error::Result;
use crate::id::Id;
use crate::schema::SchemaValidator;
use crate::usage::Quota;

/// Every port the API and record use cases need, wired once and shared by both services.
#[derive(Clone)]
pub struct ApiPorts {
    /// API definitions.
    pub apis: Arc<dyn ApiRepository>,
    /// API keys.
    pub keys: Arc<dyn ApiKeyRepository>,
    /// Records.
    pub records: Arc<dyn RecordRepository>,
    /// JSON Schema compilation.
    pub schemas: Arc<dyn SchemaValidator>,
    /// Random key material and digests.
    pub secrets: Arc<dyn SecretGenerator>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Per-account storage quotas (records count against their API's owner).
    pub quota: Quota,
    /// Where security events are recorded (§13).
    pub audit: Arc<crate::audit::AuditTrail>,
}

/// Stores API definitions. Names are unique across all users, decided atomically by the store
/// (`Conflict(ApiName)`); changes are compare-and-set on the revision.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ApiRepository: Send + Sync {
    /// Adds an API; `Conflict(ApiName)` if its name is taken.
    async fn insert(&self, api: &ApiDefinition) -> Result<()>;
    /// The API with this id.
    async fn find(&self, id: &Id) -> Result<Option<ApiDefinition>>;
    /// The API with this name.
    async fn find_by_name(&self, name: &ApiName) -> Result<Option<ApiDefinition>>;
    /// Up to `limit` APIs of `owner_id` in id order, starting after `after` if given.
    async fn list_for_owner(
        &self,
        owner_id: &Id,
        after: Option<Id>,
        limit: usize,
    ) -> Result<Vec<ApiDefinition>>;
    /// Replaces the stored API if its revision is still `expected_revision`; false (storing
    /// nothing) if it changed meanwhile or is gone.
    async fn update(&self, api: &ApiDefinition, expected_revision: u64) -> Result<bool>;
    /// Removes an API definition (not its keys or records); false if there was none.
    async fn delete(&self, id: &Id) -> Result<bool>;
    /// Up to `limit` APIs with an index still being built, in id order after `after`.
    async fn with_building_indexes(
        &self,
        after: Option<Id>,
        limit: usize,
    ) -> Result<Vec<ApiDefinition>>;
}

/// Stores API keys by their digest; the public id is unique and is how a key is found.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ApiKeyRepository: Send + Sync {
    /// Adds a key; `Conflict` if its public id is taken.
    async fn insert(&self, key: &ApiKey) -> Result<()>;
    /// The key with this public id (one indexed read).
    async fn find_by_public_id(&self, public_id: &str) -> Result<Option<ApiKey>>;
    /// Every key of an API, revoked ones included, in the order they were issued.
    async fn list_for_api(&self, api_id: &Id) -> Result<Vec<ApiKey>>;
    /// Marks the key `key_id` of `api_id` revoked at `now` (kept if already revoked); the key
    /// as stored afterwards, or `None` if the API has no such key.
    async fn revoke(&self, api_id: &Id, key_id: &Id, now: DateTime<Utc>) -> Result<Option<ApiKey>>;
    /// Removes every key of an API; returns how many went.
    async fn delete_for_api(&self, api_id: &Id) -> Result<u64>;
    /// Removes the key `key_id` of `api_id`; false if the API has no such key.
    async fn delete(&self, api_id: &Id, key_id: &Id) -> Result<bool>;
}
