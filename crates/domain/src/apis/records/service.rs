//! The record use cases: who may touch an endpoint, and what a record must be.

use std::sync::Arc;

use chrono::Duration;
use serde_json::{Map, Value};

use super::body::RecordBody;
use super::document::{check_document, merge_patch, MAX_RECORD_BYTES, MAX_TOP_LEVEL_FIELDS};
use super::model::{ListBounds, Record};
use super::plan::{Access, Position, QueryPlan};
use super::query::RecordQuery;
use crate::apis::caches::ApiCaches;
use crate::apis::{ApiDefinition, ApiKey, ApiKeyText, ApiName, ApiPorts, Endpoint, Scope};
use crate::cache::BoundedCache;
use crate::error::{ConflictKind, Error, FieldViolation, Result};
use crate::id::Id;
use crate::paging::{Page, PageRequest};
use crate::schema::CompiledSchema;
use crate::sessions::Principal;
use crate::usage::UsageChange;

/// How often a write retries after losing a race for the same record before giving up.
const MAX_WRITE_ATTEMPTS: usize = 32;

/// A filtered list without an index reads at most this many times its page's byte bound.
const EXAMINED_BYTES_PER_PAGE_BYTE: usize = 16;

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

/// Cache sizes and the bounds of one list page (`records.*`; the cache sizes are fixed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct RecordServiceSettings {
    /// How many verified keys are remembered.
    #[serde(skip)]
    pub key_cache_capacity: usize,
    /// How many compiled schemas are remembered.
    #[serde(skip)]
    pub schema_cache_capacity: usize,
    /// The most bytes of records one list page carries (`records.max_page_bytes`); past it
    /// the page ends early and its cursor goes on.
    #[serde(deserialize_with = "crate::units::at_least_one")]
    pub max_page_bytes: usize,
    /// The most records one filtered list examines where no index serves it
    /// (`records.max_scan`); past it the page ends early and its cursor goes on.
    #[serde(deserialize_with = "crate::units::at_least_one")]
    pub max_scan: usize,
}

impl Default for RecordServiceSettings {
    fn default() -> Self {
        Self {
            key_cache_capacity: 10_000,
            schema_cache_capacity: 1_024,
            max_page_bytes: 4 * 1024 * 1024,
            max_scan: 10_000,
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
    max_page_bytes: usize,
    max_scan: usize,
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
    /// so that a revocation or an API change on this instance takes effect at once; only
    /// [`crate::apis::ApiServices::new`] builds the pair.
    pub(crate) fn new(ports: ApiPorts, caches: ApiCaches, settings: RecordServiceSettings) -> Self {
        Self {
            ports,
            caches,
            // Keyed by revision, so age never makes an entry wrong: keep them a day.
            compiled: BoundedCache::new(settings.schema_cache_capacity, Duration::days(1)),
            max_page_bytes: settings.max_page_bytes,
            max_scan: settings.max_scan,
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
        let owner = &access.api.owner_id;
        let added = UsageChange::added(record.size());
        let indexed = access.endpoint().indexed_fields();
        self.ports.quota.reserve(owner, added).await?;
        if let Err(error) = self.ports.records.insert(&record, &indexed).await {
            // A write the store did not confirm in time may still have landed: undo its
            // charge only once it is known to be absent (if that cannot be known, it stays
            // charged, erring towards refusing early).
            if !self.landed(&record).await {
                self.ports.quota.undo(owner, added).await;
            }
            return Err(error);
        }
        // An API deleted while this write was on its way has already swept its records:
        // this one would be an orphan, charged for ever. The deletion removes the
        // definition before its last sweep, so a write that still finds it here is swept.
        let Some(current) = self.ports.apis.find(&access.api.id).await? else {
            if let Some(bytes) = self
                .ports
                .records
                .delete(&record.api_id, &record.endpoint, &record.id)
                .await?
            {
                self.ports
                    .quota
                    .give_back(owner, UsageChange::removed(to_usize(bytes)))
                    .await;
            }
            return Err(Error::NotFound("API"));
        };
        self.follow_index_changes(&current, &record, &indexed)
            .await?;
        Ok(record)
    }

    /// An index declared while a write was on its way may have been built past the record
    /// before it landed: a write that finds the endpoint's indexes changed rewrites its own
    /// entries (a compare-and-set on its own revision: a later write used the new ones).
    async fn follow_index_changes(
        &self,
        current: &ApiDefinition,
        record: &Record,
        indexed: &[String],
    ) -> Result<()> {
        let Some(endpoint) = current.endpoint(record.endpoint.as_str()) else {
            return Ok(());
        };
        let now_indexed = endpoint.indexed_fields();
        if now_indexed != indexed {
            self.ports
                .records
                .replace(record, record.revision, &now_indexed)
                .await?;
        }
        Ok(())
    }

    /// Whether `record` (at this revision) is in the store, as far as can be told now.
    async fn landed(&self, record: &Record) -> bool {
        match self
            .ports
            .records
            .find(&record.api_id, &record.endpoint, &record.id)
            .await
        {
            Ok(found) => found.is_some_and(|stored| stored.revision == record.revision),
            Err(_) => true,
        }
    }

    /// The endpoint's records that satisfy the query of §11 (`parameters` are the request's
    /// query string, `limit` and `cursor` included), in its order, cut to its `fields`, with
    /// the total when `count=true`.
    pub async fn list(
        &self,
        access: &EndpointAccess,
        parameters: &[(String, String)],
        page: &PageRequest,
    ) -> Result<RecordList> {
        access.require(Scope::Read)?;
        let query = RecordQuery::parse(parameters)?;
        let endpoint = access.endpoint();
        let mut scannable = None;
        let plan = match QueryPlan::new(query.clone(), endpoint, false, page.after()) {
            Err(Error::IndexRequired { .. }) if self.scannable(access).await? => {
                scannable = Some(true);
                QueryPlan::new(query, endpoint, true, page.after())?
            }
            other => other?,
        };
        let total = if plan.query.wants_count() {
            Some(self.count(access, &plan, &mut scannable).await?)
        } else {
            None
        };
        let bounds = ListBounds {
            limit: page.limit() + 1,
            max_bytes: self.max_page_bytes,
            max_examined: self.max_scan,
            max_examined_bytes: self
                .max_page_bytes
                .saturating_mul(EXAMINED_BYTES_PER_PAGE_BYTE),
        };
        let listed = self
            .ports
            .records
            .list(&access.api.id, &endpoint.name, &plan, bounds)
            .await?;
        let sort_field = plan.sorted().map(|s| s.field.clone());
        let mut records = match listed.stopped_at {
            Some(last) => Page::cut_short(listed.records, &last.to_cursor_key()),
            None => {
                let mut keyed = Vec::with_capacity(listed.records.len());
                for record in listed.records {
                    let key = match &sort_field {
                        Some(field) => Some(record.data.field_key(field)?),
                        None => None,
                    };
                    keyed.push((record, key));
                }
                Page::from_overfetch(keyed, page.limit(), |(record, key)| {
                    Position {
                        key: key.clone(),
                        id: record.id.clone(),
                    }
                    .to_cursor_key()
                })
                .map(|(record, _)| record)
            }
        };
        if let Some(fields) = plan.query.fields() {
            for record in &mut records.items {
                record.data = record.data.project(fields)?;
            }
        }
        Ok(RecordList { records, total })
    }

    /// Whether the endpoint is small enough to be read whole (`records.max_scan`).
    async fn scannable(&self, access: &EndpointAccess) -> Result<bool> {
        let limit = self.max_scan as u64;
        let held = self
            .ports
            .records
            .count_up_to(&access.api.id, &access.endpoint().name, limit + 1)
            .await?;
        Ok(held <= limit)
    }

    /// The number of records the plan's query matches, where that is bounded: on a large
    /// endpoint, only a walk of one index carrying every condition counts.
    async fn count(
        &self,
        access: &EndpointAccess,
        plan: &QueryPlan,
        scannable: &mut Option<bool>,
    ) -> Result<u64> {
        if plan.query.conditions().is_empty() {
            // Every record matches, whatever the order: the endpoint's own count.
            return self
                .ports
                .records
                .count_up_to(&access.api.id, &access.endpoint().name, u64::MAX)
                .await;
        }
        let walked = match &plan.access {
            Access::Scan => None,
            Access::Points { field, .. } | Access::Ordered { field, .. } => Some(field.as_str()),
        };
        let residual = plan
            .query
            .conditions()
            .iter()
            .find(|c| Some(c.field()) != walked);
        if let Some(condition) = residual {
            let small = match *scannable {
                Some(known) => known,
                None => self.scannable(access).await?,
            };
            *scannable = Some(small);
            if !small {
                return Err(Error::IndexRequired {
                    field: condition.field().to_owned(),
                    message: format!(
                        "this endpoint has too many records to count matches of '{}' without \
                         walking them: count with conditions on one indexed field",
                        condition.field()
                    ),
                });
            }
        }
        self.ports
            .records
            .count(&access.api.id, &access.endpoint().name, plan)
            .await
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
        let named = check_document(&patch);
        if !named.is_empty() {
            return Err(Error::Validation(named));
        }
        // Validation needs the merged document, and so runs once per attempt.
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let current = self.find(access, record_id).await?;
            let mut merged = Value::Object(current.data.to_object()?);
            merge_patch(&mut merged, &patch);
            let data = self.checked(access, merged).await?;
            if let Some(stored) = self.store_change(access, &current, data).await? {
                return Ok(stored);
            }
        }
        Err(lost_race())
    }

    /// Deletes a record, giving back the room of what the store removed: two deletions
    /// racing each other, or a shrinking write, never refund one record twice.
    pub async fn delete(&self, access: &EndpointAccess, record_id: &str) -> Result<()> {
        access.require(Scope::Write)?;
        let removed = self
            .ports
            .records
            .delete(
                &access.api.id,
                &access.endpoint().name,
                &parse_record_id(record_id)?,
            )
            .await?
            .ok_or(Error::NotFound("record"))?;
        self.ports
            .quota
            .give_back(
                &access.api.owner_id,
                UsageChange::removed(to_usize(removed)),
            )
            .await;
        Ok(())
    }

    async fn find(&self, access: &EndpointAccess, record_id: &str) -> Result<Record> {
        self.ports
            .records
            .find(
                &access.api.id,
                &access.endpoint().name,
                &parse_record_id(record_id)?,
            )
            .await?
            .ok_or(Error::NotFound("record"))
    }

    /// Stores `data` as the next revision of `current`, charging or refunding its owner for
    /// the change in size; `None` if another writer got there first.
    async fn store_change(
        &self,
        access: &EndpointAccess,
        current: &Record,
        data: RecordBody,
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
        let indexed = access.endpoint().indexed_fields();
        let stored = match self
            .ports
            .records
            .replace(&next, current.revision, &indexed)
            .await
        {
            // Not confirmed in time: it may still have landed (see `create`).
            Err(error) if self.landed(&next).await => {
                self.ports.quota.give_back(owner, change).await;
                return Err(error);
            }
            other => other,
        };
        // A shrink is recorded once written; a growth reserved above is undone if not.
        match &stored {
            Ok(true) => self.ports.quota.give_back(owner, change).await,
            _ => self.ports.quota.undo(owner, change).await,
        }
        if !stored? {
            return Ok(None);
        }
        if let Some(api) = self.ports.apis.find(&access.api.id).await? {
            self.follow_index_changes(&api, &next, &indexed).await?;
        }
        Ok(Some(next))
    }

    /// `document` as a record of the endpoint, or every reason it cannot be one. The rules
    /// every document keeps are checked here, in one linear walk; the schema is checked away
    /// from the request workers, within the validation budget.
    async fn checked(&self, access: &EndpointAccess, document: Value) -> Result<RecordBody> {
        let (body, mut violations) = document_rules(&document)?;
        let compiled = self.compiled_schema(access).await?;
        violations.extend(compiled.check(Arc::new(document), body.len()).await?);
        if violations.is_empty() {
            Ok(body)
        } else {
            Err(Error::Validation(violations))
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
            .compile_stored(&access.endpoint().schema)
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
        let ticket = self.caches.definitions.ticket();
        let api = self.ports.apis.find_by_name(name).await?.map(Arc::new);
        if let Some(api) = &api {
            self.caches.definitions.insert_unless_removed(
                name.as_str().to_owned(),
                api.clone(),
                now,
                ticket,
            );
        }
        Ok(api)
    }

    /// The stored key behind `raw`, if it is genuine, unexpired and unrevoked. A verified key
    /// is remembered for the revocation TTL; the secret is still compared on every use.
    async fn verified_key(&self, raw: &str) -> Result<ApiKey> {
        let unknown = || Error::InvalidApiKey("unknown, revoked or expired API key");
        let text = ApiKeyText::parse(raw).ok_or_else(unknown)?;
        let now = self.ports.clock.now();
        let lookup_id = text.lookup_id(&*self.ports.secrets);
        let key = match self.caches.keys.get(&lookup_id, now) {
            Some(key) => key,
            None => {
                let ticket = self.caches.keys.ticket();
                let key = self
                    .ports
                    .keys
                    .find_by_public_id(&lookup_id)
                    .await?
                    .ok_or_else(unknown)?;
                self.caches.keys.insert_unless_removed(
                    key.public_id.clone(),
                    key.clone(),
                    now,
                    ticket,
                );
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

/// One page of a record list, and the number of matches when it was asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordList {
    /// The records of the page.
    pub records: Page<Record>,
    /// How many records match (`count=true`).
    pub total: Option<u64>,
}

/// `document` as a record body, and how it breaks the rules every record keeps whatever its
/// schema (an object, at most [`MAX_RECORD_BYTES`], no `$`/NUL names, bounded depth and
/// top-level fields); checked in one linear walk. Too large a document is an error at once.
pub(crate) fn document_rules(document: &Value) -> Result<(RecordBody, Vec<FieldViolation>)> {
    let Value::Object(members) = document else {
        return Err(Error::invalid("", "a record must be a JSON object"));
    };
    let body = RecordBody::from_object(members)?;
    if body.len() > MAX_RECORD_BYTES {
        return Err(Error::TooLarge(format!(
            "a record may hold at most {MAX_RECORD_BYTES} bytes of JSON; this one has {}",
            body.len()
        )));
    }
    let mut violations = check_document(document);
    if members.len() > MAX_TOP_LEVEL_FIELDS {
        // Each top-level scalar is an entry of the filter index on MongoDB: 90 000 of
        // them took seconds to insert, past the store's deadline.
        violations.push(FieldViolation::new(
            "",
            format!(
                "a record may have at most {MAX_TOP_LEVEL_FIELDS} top-level fields; this \
                 one has {}",
                members.len()
            ),
        ));
    }
    Ok((body, violations))
}

/// A record id from a request path; one that is no id names no record.
fn parse_record_id(raw: &str) -> Result<Id> {
    raw.parse().map_err(|_| Error::NotFound("record"))
}

/// A size a store reported, as the domain counts sizes.
fn to_usize(bytes: u64) -> usize {
    usize::try_from(bytes).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests;
