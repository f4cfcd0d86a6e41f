//! The record use cases: who may touch an endpoint, and what a record must be.

use std::sync::Arc;

use chrono::Duration;
use serde_json::{Map, Value};

use super::document::{check_field_names, merge_patch, MAX_RECORD_BYTES};
use super::filter::{FieldFilter, MAX_FILTERS};
use super::model::Record;
use crate::apis::{
    ApiCaches, ApiDefinition, ApiKey, ApiKeyText, ApiName, ApiPorts, Endpoint, Scope,
};
use crate::cache::BoundedCache;
use crate::error::{ConflictKind, Error, FieldViolation, Result};
use crate::id::Id;
use crate::paging::{Page, PageRequest};
use crate::schema::CompiledSchema;
use crate::sessions::Principal;
use crate::usage::UsageChange;

/// How often a write retries after losing a race for the same record before giving up.
const MAX_WRITE_ATTEMPTS: usize = 32;

/// A write that lost the race for its record every time it tried.
fn lost_race() -> Error {
    Error::Conflict(ConflictKind::Other(
        "a concurrent change to this record".into(),
    ))
}

/// Who is asking to touch an endpoint's records.
#[derive(Debug, Clone)]
pub enum Caller {
    /// Someone presenting an API key (`X-API-Key` or `Authorization: ApiKey`).
    Key(String),
    /// The owner's (or anyone's) access token, already checked.
    User(Principal),
    /// Nobody: no key and no token.
    Anonymous,
}

/// Cache sizes and how long a verified key may be trusted without reading the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordServiceSettings {
    /// How long another instance's revocation may go unnoticed (`auth.revocation_cache_ttl`).
    pub revocation_cache_ttl: Duration,
    /// How many verified keys are remembered.
    pub key_cache_capacity: usize,
    /// How many compiled schemas are remembered.
    pub schema_cache_capacity: usize,
}

impl Default for RecordServiceSettings {
    fn default() -> Self {
        Self {
            revocation_cache_ttl: Duration::seconds(2),
            key_cache_capacity: 10_000,
            schema_cache_capacity: 1_024,
        }
    }
}

/// Compiled schemas by (API, endpoint, API revision): a changed schema has a new revision, so
/// a stale validator is never used.
type SchemaKey = (Id, String, u64);

/// The record use cases.
pub struct RecordService {
    ports: ApiPorts,
    caches: ApiCaches,
    compiled: BoundedCache<SchemaKey, Arc<dyn CompiledSchema>>,
}

/// Proof that a caller may use one endpoint with one scope: only
/// [`RecordService::authorize`] makes one, and every record operation needs one.
#[derive(Debug, Clone)]
pub struct EndpointAccess {
    api: Arc<ApiDefinition>,
    /// Position of the endpoint in `api.endpoints` (its schema is not copied per request).
    endpoint_index: usize,
    scope: Scope,
}

impl EndpointAccess {
    /// The API's unique name.
    pub fn api_name(&self) -> &ApiName {
        &self.api.name
    }

    /// The endpoint being used.
    fn endpoint(&self) -> &Endpoint {
        // `endpoint_index` was found in this very definition, which is never changed.
        &self.api.endpoints[self.endpoint_index]
    }

    fn require(&self, scope: Scope) -> Result<()> {
        if self.scope == scope {
            Ok(())
        } else {
            Err(Error::Internal(format!(
                "record operation needs {} access, was granted {}",
                scope.as_str(),
                self.scope.as_str()
            )))
        }
    }
}

impl RecordService {
    /// Wires the service to its ports. `caches` are shared with the [`crate::apis::ApiService`]
    /// so that a revocation or an API change on this instance takes effect at once.
    pub fn new(ports: ApiPorts, caches: ApiCaches, settings: RecordServiceSettings) -> Self {
        Self {
            ports,
            caches,
            // Keyed by revision, so age never makes an entry wrong: keep them a day.
            compiled: BoundedCache::new(settings.schema_cache_capacity, Duration::days(1)),
        }
    }

    /// Stores a new record after checking it against the endpoint's schema.
    pub async fn create(
        &self,
        access: &EndpointAccess,
        data: Map<String, Value>,
    ) -> Result<Record> {
        access.require(Scope::Write)?;
        let data = self.checked(access, Value::Object(data)).await?;
        let now = self.ports.clock.now();
        let record = Record {
            id: Id::generate_ordered(now),
            api_id: access.api.id.clone(),
            endpoint: access.endpoint().name.clone(),
            data,
            created_at: now,
            updated_at: now,
            revision: 1,
        };
        let added = UsageChange::added(record.size());
        self.ports
            .quota
            .reserve(&access.api.owner_id, added)
            .await?;
        if let Err(error) = self.ports.records.insert(&record).await {
            self.ports.quota.undo(&access.api.owner_id, added).await;
            return Err(error);
        }
        Ok(record)
    }

    /// The endpoint's records, newest first, keeping those that match every `?field=value`.
    pub async fn list(
        &self,
        access: &EndpointAccess,
        filters: &[(String, String)],
        page: &PageRequest,
    ) -> Result<Page<Record>> {
        access.require(Scope::Read)?;
        if filters.len() > MAX_FILTERS {
            return Err(Error::invalid(
                "query",
                format!("at most {MAX_FILTERS} filters may be given"),
            ));
        }
        let filters = filters
            .iter()
            .map(|(field, value)| FieldFilter::new(field, value))
            .collect::<std::result::Result<Vec<_>, FieldViolation>>()?;
        let records = self
            .ports
            .records
            .list(
                &access.api.id,
                &access.endpoint().name,
                &filters,
                page.after_id()?,
                page.limit() + 1,
            )
            .await?;
        Ok(Page::from_overfetch(records, page.limit(), |r| {
            r.id.to_string()
        }))
    }

    /// One record.
    pub async fn get(&self, access: &EndpointAccess, record_id: &str) -> Result<Record> {
        access.require(Scope::Read)?;
        self.find(access, record_id).await
    }

    /// Replaces a record's document with `data`, checked against the schema.
    pub async fn replace(
        &self,
        access: &EndpointAccess,
        record_id: &str,
        data: Map<String, Value>,
    ) -> Result<Record> {
        access.require(Scope::Write)?;
        let data = self.checked(access, Value::Object(data)).await?;
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let current = self.find(access, record_id).await?;
            if let Some(stored) = self.store_change(access, &current, data.clone()).await? {
                return Ok(stored);
            }
        }
        Err(lost_race())
    }

    /// Applies a JSON Merge Patch (RFC 7396) to a record; the result is checked against the
    /// schema. Concurrent patches of one record all apply, one after another.
    pub async fn patch(
        &self,
        access: &EndpointAccess,
        record_id: &str,
        patch: Map<String, Value>,
    ) -> Result<Record> {
        access.require(Scope::Write)?;
        let patch = Value::Object(patch);
        let named = check_field_names(&patch);
        if !named.is_empty() {
            return Err(Error::Validation(named));
        }
        // Validation needs the merged document, and so runs once per attempt.
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let current = self.find(access, record_id).await?;
            let mut merged = Value::Object(current.data.clone());
            merge_patch(&mut merged, &patch);
            let data = self.checked(access, merged).await?;
            if let Some(stored) = self.store_change(access, &current, data).await? {
                return Ok(stored);
            }
        }
        Err(lost_race())
    }

    /// Deletes a record.
    pub async fn delete(&self, access: &EndpointAccess, record_id: &str) -> Result<()> {
        access.require(Scope::Write)?;
        let current = self.find(access, record_id).await?;
        if self
            .ports
            .records
            .delete(&access.api.id, &access.endpoint().name, &current.id)
            .await?
        {
            let freed = UsageChange::removed(current.size());
            self.ports
                .quota
                .give_back(&access.api.owner_id, freed)
                .await;
            Ok(())
        } else {
            Err(Error::NotFound("record"))
        }
    }

    async fn find(&self, access: &EndpointAccess, record_id: &str) -> Result<Record> {
        let id = record_id
            .parse::<Id>()
            .map_err(|_| Error::NotFound("record"))?;
        self.ports
            .records
            .find(&access.api.id, &access.endpoint().name, &id)
            .await?
            .ok_or(Error::NotFound("record"))
    }

    /// Stores `data` as the next revision of `current`, charging or refunding its owner for
    /// the change in size; `None` if another writer got there first.
    async fn store_change(
        &self,
        access: &EndpointAccess,
        current: &Record,
        data: Map<String, Value>,
    ) -> Result<Option<Record>> {
        let next = Record {
            data,
            updated_at: self.ports.clock.now().max(current.updated_at),
            revision: current.revision + 1,
            ..current.clone()
        };
        let owner = &access.api.owner_id;
        let change = UsageChange::resized(current.size(), next.size());
        if !change.only_shrinks() {
            self.ports.quota.reserve(owner, change).await?;
        }
        let stored = self.ports.records.replace(&next, current.revision).await;
        // A shrink is recorded once written; a growth reserved above is undone if not.
        match &stored {
            Ok(true) => self.ports.quota.give_back(owner, change).await,
            _ => self.ports.quota.undo(owner, change).await,
        }
        Ok(stored?.then_some(next))
    }

    /// `document` as a record of the endpoint, or every reason it cannot be one.
    async fn checked(
        &self,
        access: &EndpointAccess,
        document: Value,
    ) -> Result<Map<String, Value>> {
        let size = serde_json::to_vec(&document).map_or(usize::MAX, |text| text.len());
        if size > MAX_RECORD_BYTES {
            return Err(Error::TooLarge(format!(
                "a record may hold at most {MAX_RECORD_BYTES} bytes of JSON; this one has {size}"
            )));
        }
        let mut violations = check_field_names(&document);
        violations.extend(self.compiled_schema(access).await?.violations(&document));
        if !violations.is_empty() {
            return Err(Error::Validation(violations));
        }
        match document {
            Value::Object(data) => Ok(data),
            _ => Err(Error::invalid("", "a record must be a JSON object")),
        }
    }

    async fn compiled_schema(&self, access: &EndpointAccess) -> Result<Arc<dyn CompiledSchema>> {
        let key = (
            access.api.id.clone(),
            access.endpoint().name.as_str().to_owned(),
            access.api.revision,
        );
        let now = self.ports.clock.now();
        if let Some(compiled) = self.compiled.get(&key, now) {
            return Ok(compiled);
        }
        let compiled = self
            .ports
            .schemas
            .compile(&access.endpoint().schema)
            .await
            .map_err(|violations| {
                Error::Internal(format!(
                    "stored schema of {}/{} no longer compiles: {violations:?}",
                    access.api.name,
                    access.endpoint().name.as_str()
                ))
            })?;
        self.compiled.insert(key, compiled.clone(), now);
        Ok(compiled)
    }

    /// Decides whether `caller` may use `scope` on the endpoint: first who they are (401),
    /// then whether the API and endpoint exist for them (404), then whether their key is for
    /// this API and carries the scope (403). Checked before any body is read.
    pub async fn authorize(
        &self,
        caller: &Caller,
        api_name: &str,
        endpoint: &str,
        scope: Scope,
    ) -> Result<EndpointAccess> {
        let key = match caller {
            Caller::Anonymous => return Err(Error::InvalidApiKey("no API key or token given")),
            Caller::Key(raw) => Some(self.verified_key(raw).await?),
            Caller::User(_) => None,
        };
        let api = match ApiName::parse(api_name) {
            Ok(name) => self.definition(&name, scope).await?,
            Err(_) => None,
        }
        .ok_or(Error::NotFound("API"))?;
        match (caller, &key) {
            (Caller::User(principal), _) if principal.user_id != api.owner_id => {
                return Err(Error::NotFound("API"));
            }
            (_, Some(key)) if key.api_id != api.id => {
                return Err(Error::Forbidden("this API key belongs to another API"));
            }
            _ => {}
        }
        let endpoint_index = api
            .endpoint_index(endpoint)
            .ok_or(Error::NotFound("endpoint"))?;
        if key.is_some_and(|key| !key.scopes.allows(scope)) {
            return Err(Error::Forbidden(match scope {
                Scope::Read => "this API key may not read records",
                Scope::Write => "this API key may not write records",
            }));
        }
        Ok(EndpointAccess {
            api,
            endpoint_index,
            scope,
        })
    }

    /// The API named `name`. A read may use the definition remembered for the revocation TTL
    /// (each record read used to decode every schema of the API); a write always reads the
    /// current one, so it is validated against the schema in force and cannot land in an API
    /// another instance has just deleted.
    async fn definition(&self, name: &ApiName, scope: Scope) -> Result<Option<Arc<ApiDefinition>>> {
        let now = self.ports.clock.now();
        if scope == Scope::Read {
            if let Some(api) = self.caches.definitions.get(name.as_str(), now) {
                return Ok(Some(api));
            }
        }
        let api = self.ports.apis.find_by_name(name).await?.map(Arc::new);
        if let Some(api) = &api {
            self.caches
                .definitions
                .insert(name.as_str().to_owned(), api.clone(), now);
        }
        Ok(api)
    }

    /// The stored key behind `raw`, if it is genuine, unexpired and unrevoked. A verified key
    /// is remembered for the revocation TTL; the secret is still compared on every use.
    async fn verified_key(&self, raw: &str) -> Result<ApiKey> {
        let unknown = || Error::InvalidApiKey("unknown, revoked or expired API key");
        let text = ApiKeyText::parse(raw).ok_or_else(unknown)?;
        let now = self.ports.clock.now();
        let key = match self.caches.keys.get(text.public_id(), now) {
            Some(key) => key,
            None => {
                let key = self
                    .ports
                    .keys
                    .find_by_public_id(text.public_id())
                    .await?
                    .ok_or_else(unknown)?;
                self.caches
                    .keys
                    .insert(key.public_id.clone(), key.clone(), now);
                key
            }
        };
        if self.ports.secrets.matches(text.expose(), &key.digest) && key.is_usable(now) {
            Ok(key)
        } else {
            Err(unknown())
        }
    }
}

#[cfg(test)]
mod tests;
