//! The API-definition and API-key use cases.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::caches::ApiCaches;
use super::forms::{
    declare_indexes, too_many_endpoints, ApiChangeSet, ApiDraft, KeySpec, MAX_ENDPOINTS,
};
use super::keys::{ApiKey, ApiKeyText, Scopes};
use super::model::{ApiDefinition, ApiName, ApiRef, Endpoint, EndpointName, IndexState};
use super::ports::ApiPorts;
use crate::accounts::UserDataEraser;
use crate::audit::{Action, Actor};
use crate::error::{ConflictKind, Error, FieldViolation, Result, Violations};
use crate::id::Id;
use crate::json::json_pointer;
use crate::paging::{Page, PageRequest};
use crate::sessions::Principal;
use crate::usage::UsageChange;

/// How many records one deletion batch removes.
const DELETE_BATCH: usize = 500;
/// The most bytes of records one deletion batch removes: bounds how long it holds the
/// embedded store's single writer, whatever the records' sizes.
const DELETE_BATCH_BYTES: u64 = 4 * 1024 * 1024;
/// The most bytes one API's definition may hold ([`ApiDefinition::size`]).
pub const MAX_API_DEFINITION_BYTES: usize = 1024 * 1024;
/// A list page of APIs ends early once its definitions hold this many bytes.
const LIST_PAGE_BYTES: usize = 4 * 1024 * 1024;
/// How many definitions a list reads from the store at a time.
const LIST_CHUNK: usize = 8;
/// How many names a creation tries before giving up (each after the first with a new suffix).
const NAME_ATTEMPTS: usize = 12;
/// How often a change retries after losing a race for the same API.
const CHANGE_ATTEMPTS: usize = 16;

/// A key just issued: the stored key and its text, which is shown this once and never again.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    /// The key as stored.
    pub key: ApiKey,
    /// The whole key, `kg_<public id>_<secret>`.
    pub text: String,
}

/// An API just created, with its first key.
#[derive(Debug, Clone)]
pub struct CreatedApi {
    /// The new API.
    pub api: ApiDefinition,
    /// Its first key (read and write).
    pub key: IssuedKey,
}

/// An API as its owner sees it: the definition and every key (never a secret).
#[derive(Debug, Clone)]
pub struct ApiView {
    /// The definition.
    pub api: ApiDefinition,
    /// Its keys, revoked ones included.
    pub keys: Vec<ApiKey>,
}

/// The API-definition use cases.
pub struct ApiService {
    ports: ApiPorts,
    caches: ApiCaches,
    max_keys_per_api: usize,
}

/// Refuses a definition larger than [`MAX_API_DEFINITION_BYTES`].
pub(crate) fn check_definition_size(api: &ApiDefinition) -> Result<()> {
    let size = api.size();
    if size > MAX_API_DEFINITION_BYTES {
        return Err(Error::TooLarge(format!(
            "an API's definition may hold at most {MAX_API_DEFINITION_BYTES} bytes of names and \
             schemas; this one would hold {size}"
        )));
    }
    Ok(())
}

impl ApiService {
    /// Wires the service to its ports, allowing `max_keys_per_api` keys per API. `caches` are
    /// the ones the record service trusts; a revocation, change or deletion here removes what
    /// it changes from them at once. Only [`crate::apis::ApiServices::new`] builds the pair.
    pub(crate) fn new(ports: ApiPorts, caches: ApiCaches, max_keys_per_api: usize) -> Self {
        Self {
            ports,
            caches,
            max_keys_per_api: max_keys_per_api.max(1),
        }
    }

    /// Creates an API with a unique name derived from the requested one, and its first key.
    /// Reports every broken rule at once, each named by its JSON pointer.
    pub async fn create(&self, owner: &Principal, draft: ApiDraft) -> Result<CreatedApi> {
        let ApiDraft {
            display_name,
            endpoints,
        } = draft;

        let now = self.ports.clock.now();
        let mut api = ApiDefinition {
            id: Id::generate_ordered(now),
            owner_id: owner.user_id.clone(),
            name: ApiName::slug_of(display_name.as_str()),
            display_name,
            endpoints,
            created_at: now,
            updated_at: now,
            revision: 1,
        };
        let base = api.name.clone();
        if base.is_reserved() {
            api.name = base.with_suffix(&self.suffix()?);
        }
        check_definition_size(&api)?;
        // The definition counts against the owner's quota: one API, and its bytes.
        let charged = UsageChange::api_added(api.size());
        self.ports.quota.reserve(&api.owner_id, charged).await?;
        let mut attempts = 0;
        loop {
            match self.ports.apis.insert(&api).await {
                Ok(()) => break,
                Err(Error::Conflict(ConflictKind::ApiName)) if attempts < NAME_ATTEMPTS => {
                    attempts += 1;
                    api.name = base.with_suffix(&self.suffix()?);
                }
                Err(other) => {
                    self.ports.quota.undo(&api.owner_id, charged).await;
                    return Err(other);
                }
            }
        }
        self.audit(Action::ApiCreated, owner, "api", &api.id)
            .await?;
        let key = self.issue(&api, Scopes::ALL, None).await?;
        self.audit(Action::ApiKeyIssued, owner, "api_key", &key.key.id)
            .await?;
        Ok(CreatedApi { api, key })
    }

    /// The caller's APIs in creation order, with their keys.
    pub async fn list(&self, owner: &Principal, page: &PageRequest) -> Result<Page<ApiView>> {
        // Read a few definitions at a time, and end the page early once it holds
        // LIST_PAGE_BYTES of them: 500 APIs of 1 MiB would otherwise be one answer.
        let mut apis = Vec::new();
        let (mut after, mut bytes) = (page.after_id()?, 0);
        let mut cut_at = None;
        'reading: while apis.len() <= page.limit() {
            let want = (page.limit() + 1 - apis.len()).min(LIST_CHUNK);
            let chunk = self
                .ports
                .apis
                .list_for_owner(&owner.user_id, after.clone(), want)
                .await?;
            let exhausted = chunk.len() < want;
            for api in chunk {
                if !apis.is_empty()
                    && apis.len() < page.limit()
                    && bytes + api.size() > LIST_PAGE_BYTES
                {
                    cut_at = apis.last().map(|a: &ApiDefinition| a.id.clone());
                    break 'reading;
                }
                bytes += api.size();
                after = Some(api.id.clone());
                apis.push(api);
            }
            if exhausted {
                break;
            }
        }
        let apis = match cut_at {
            Some(last) => Page::cut_short(apis, last.as_str()),
            None => Page::from_overfetch(apis, page.limit(), |a| a.id.to_string()),
        };
        let mut views = Vec::with_capacity(apis.items.len());
        for api in apis.items {
            let keys = self.ports.keys.list_for_api(&api.id).await?;
            views.push(ApiView { api, keys });
        }
        Ok(Page {
            items: views,
            next_cursor: apis.next_cursor,
        })
    }

    /// One of the caller's APIs, by id or name; anyone else's is not found.
    pub async fn get(&self, owner: &Principal, api: &str) -> Result<ApiView> {
        let api = self.owned(owner, api).await?;
        let keys = self.ports.keys.list_for_api(&api.id).await?;
        Ok(ApiView { api, keys })
    }

    /// Adds endpoints, replaces schemas and renames the display name. Records already stored
    /// stay as they are.
    pub async fn change(
        &self,
        owner: &Principal,
        api: &str,
        changes: ApiChangeSet,
    ) -> Result<ApiView> {
        let ApiChangeSet {
            display_name,
            endpoints: additions,
            schemas,
            indexes,
        } = changes;

        for _ in 0..CHANGE_ATTEMPTS {
            let current = self.owned(owner, api).await?;
            let mut next = current.clone();
            let mut violations = Violations::default();
            let existing: Vec<EndpointName> =
                current.endpoints.iter().map(|e| e.name.clone()).collect();
            for name in additions.iter().filter(|name| !existing.contains(name)) {
                next.endpoints.push(Endpoint {
                    name: name.clone(),
                    schema: Value::Null,
                    indexes: Vec::new(),
                });
            }
            if next.endpoints.len() > MAX_ENDPOINTS {
                violations.push(too_many_endpoints());
            }
            for (name, schema) in &schemas {
                match next.endpoints.iter_mut().find(|e| e.name.as_str() == name) {
                    Some(endpoint) => endpoint.schema = schema.clone(),
                    None => violations.push(FieldViolation::new(
                        json_pointer("/json_schema", name),
                        "is not one of the endpoints (list new ones in endpoints)",
                    )),
                }
            }
            for endpoint in next.endpoints.iter().filter(|e| e.schema.is_null()) {
                violations.push(FieldViolation::new(
                    json_pointer("/json_schema", endpoint.name.as_str()),
                    "is missing: every new endpoint needs a schema",
                ));
            }
            // An endpoint added by this change has no records yet; an existing one's new
            // indexes are filled in by the index builder.
            declare_indexes(
                &mut next.endpoints,
                &indexes,
                |name| {
                    if existing.contains(name) {
                        IndexState::Building
                    } else {
                        IndexState::Ready
                    }
                },
                &mut violations,
            );
            violations.finish()?;
            if let Some(name) = &display_name {
                next.display_name = name.clone();
            }
            if next == current {
                let keys = self.ports.keys.list_for_api(&current.id).await?;
                return Ok(ApiView { api: current, keys });
            }
            next.revision = current.revision + 1;
            next.updated_at = self.ports.clock.now().max(current.updated_at);
            check_definition_size(&next)?;
            // Growth is charged before it is stored, a shrink given back once it is.
            let change = UsageChange::resized(current.size(), next.size());
            if !change.only_shrinks() {
                self.ports.quota.reserve(&current.owner_id, change).await?;
            }
            let updated = self.ports.apis.update(&next, current.revision).await;
            match &updated {
                Ok(true) => self.ports.quota.give_back(&current.owner_id, change).await,
                _ => self.ports.quota.undo(&current.owner_id, change).await,
            }
            if updated? {
                self.caches.forget_definition(next.name.as_str());
                self.audit(Action::ApiChanged, owner, "api", &next.id)
                    .await?;
                let keys = self.ports.keys.list_for_api(&next.id).await?;
                return Ok(ApiView { api: next, keys });
            }
        }
        Err(Error::Conflict(ConflictKind::Other(
            "a concurrent change to this API".into(),
        )))
    }

    /// Deletes one of the caller's APIs with its keys and every record; returns what it was.
    pub async fn delete(&self, owner: &Principal, api: &str) -> Result<ApiDefinition> {
        let api = self.owned(owner, api).await?;
        self.remove(&api).await?;
        self.audit(Action::ApiDeleted, owner, "api", &api.id)
            .await?;
        Ok(api)
    }

    /// Issues another key for one of the caller's APIs.
    pub async fn issue_key(
        &self,
        owner: &Principal,
        api: &str,
        spec: KeySpec,
    ) -> Result<IssuedKey> {
        if spec
            .expires_at
            .is_some_and(|at| at <= self.ports.clock.now())
        {
            return Err(Error::invalid("/expires_at", "must be in the future"));
        }
        let api = self.owned(owner, api).await?;
        let issued = self.issue(&api, spec.scopes, spec.expires_at).await?;
        self.audit(Action::ApiKeyIssued, owner, "api_key", &issued.key.id)
            .await?;
        Ok(issued)
    }

    /// Records `action` by `owner` on `kind` `id`, after the change and before the answer.
    async fn audit(&self, action: Action, owner: &Principal, kind: &str, id: &Id) -> Result<()> {
        let trail = &self.ports.audit;
        trail
            .record(
                trail
                    .event(action, Actor::user(&owner.user_id))
                    .account(&owner.user_id)
                    .target(kind, id),
            )
            .await
    }

    /// Revokes one key of one of the caller's APIs; it stops working at once on this instance,
    /// and within the revocation TTL on every other.
    pub async fn revoke_key(&self, owner: &Principal, api: &str, key_id: &str) -> Result<ApiKey> {
        let api = self.owned(owner, api).await?;
        let key_id = key_id.parse::<Id>().map_err(|_| Error::NotFound("key"))?;
        let key = self
            .ports
            .keys
            .revoke(&api.id, &key_id, self.ports.clock.now())
            .await?
            .ok_or(Error::NotFound("key"))?;
        self.caches.keys.remove(&key.public_id);
        self.audit(Action::ApiKeyRevoked, owner, "api_key", &key.id)
            .await?;
        Ok(key)
    }

    /// Removes an API: keys first (so no key writes while records go), then records in
    /// bounded batches, then the definition, then a last sweep for records written by the
    /// owner meanwhile. A failure leaves the API in place, so the deletion can be retried.
    async fn remove(&self, api: &ApiDefinition) -> Result<()> {
        let keys = self.ports.keys.list_for_api(&api.id).await?;
        self.ports.keys.delete_for_api(&api.id).await?;
        for key in &keys {
            self.caches.keys.remove(&key.public_id);
        }
        self.delete_records(api).await?;
        if self.ports.apis.delete(&api.id).await? {
            self.ports
                .quota
                .give_back(&api.owner_id, UsageChange::api_added(api.size()).reversed())
                .await;
        }
        self.caches.forget_definition(api.name.as_str());
        self.delete_records(api).await
    }

    /// Deletes an API's records batch by batch, giving their room back to its owner.
    async fn delete_records(&self, api: &ApiDefinition) -> Result<()> {
        loop {
            let removed = self
                .ports
                .records
                .delete_batch_for_api(&api.id, DELETE_BATCH, DELETE_BATCH_BYTES)
                .await?;
            if removed.count == 0 {
                return Ok(());
            }
            let freed = UsageChange {
                entries: -i64::try_from(removed.count).unwrap_or(i64::MAX),
                bytes: -i64::try_from(removed.bytes).unwrap_or(i64::MAX),
                apis: 0,
            };
            self.ports.quota.give_back(&api.owner_id, freed).await;
        }
    }

    async fn owned(&self, owner: &Principal, api: &str) -> Result<ApiDefinition> {
        let found = match ApiRef::parse(api) {
            Some(ApiRef::Id(id)) => self.ports.apis.find(&id).await?,
            Some(ApiRef::Name(name)) => self.ports.apis.find_by_name(&name).await?,
            None => None,
        };
        found
            .filter(|api| api.owner_id == owner.user_id)
            .ok_or(Error::NotFound("API"))
    }

    async fn issue(
        &self,
        api: &ApiDefinition,
        scopes: Scopes,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<IssuedKey> {
        // 62^8 public ids: a collision is rare, and the store's unique index catches it.
        for _ in 0..4 {
            let now = self.ports.clock.now();
            let text = ApiKeyText::from_parts(
                &self.ports.secrets.new_public_id()?,
                &self.ports.secrets.new_secret()?,
            );
            let key = ApiKey {
                id: Id::generate_ordered(now),
                api_id: api.id.clone(),
                owner_id: api.owner_id.clone(),
                public_id: text.lookup_id(&*self.ports.secrets),
                digest: self.ports.secrets.digest(text.expose()),
                scopes,
                created_at: now,
                expires_at,
                revoked_at: None,
            };
            match self.ports.keys.insert(&key).await {
                Ok(()) => {
                    // Counted after the insert, so racing issues cannot pass the cap together:
                    // each sees the others, and one past the cap takes itself back.
                    let keys = self.ports.keys.list_for_api(&api.id).await?;
                    if keys.len() > self.max_keys_per_api {
                        self.ports.keys.delete(&api.id, &key.id).await?;
                        return Err(Error::QuotaExceeded(format!(
                            "an API may have at most {} keys; revoke or delete some first",
                            self.max_keys_per_api
                        )));
                    }
                    return Ok(IssuedKey {
                        key,
                        text: text.expose().to_owned(),
                    });
                }
                Err(Error::Conflict(_)) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(Error::Internal("no free API key id after 4 tries".into()))
    }

    /// Four random characters of `a-z0-9` for a taken name.
    fn suffix(&self) -> Result<String> {
        Ok(self
            .ports
            .secrets
            .new_public_id()?
            .to_ascii_lowercase()
            .chars()
            .take(4)
            .collect())
    }
}

#[async_trait]
impl UserDataEraser for ApiService {
    async fn erase_user_data(&self, user_id: &Id) -> Result<()> {
        let mut after = None;
        loop {
            let apis = self.ports.apis.list_for_owner(user_id, after, 100).await?;
            let Some(last) = apis.last() else {
                return Ok(());
            };
            after = Some(last.id.clone());
            for api in &apis {
                self.remove(api).await?;
            }
        }
    }
}

#[cfg(test)]
mod tests;
