//! What the earlier systems' users kept besides their accounts (§10): system 000's APIs with
//! their endpoints, schemas, clear-text keys and records, and system 002's private key-value
//! data. Everything keeps a 24-hex id (its own, or one derived from its source), so a second
//! run finds it and imports nothing twice, and a run killed half way is finished by the next.
//!
//! The rules every API and record keeps are the ones `POST /create_api` and a record write
//! apply (names, schemas compiled, document rules, quotas); a record is taken as 000 stored it
//! even where Keygate's schema check would be stricter, as `PATCH /api/{id}` leaves records
//! already stored as they are.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::accounts::{ImportOutcome, ImportReport};
use crate::accounts::UserRepository;
use crate::apis::records::{document_rules, Record, MAX_RECORD_BYTES};
use crate::apis::{check_definition_size, ApiDefinition, ApiKey, ApiKeyText, ApiName, ApiPorts};
use crate::apis::{NewApi, Scopes};
use crate::data::{DataRepository, NewEntry};
use crate::error::{ConflictKind, Error, Result};
use crate::id::Id;
use crate::usage::UsageChange;

/// One API of system 000 as its database keeps it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LegacyApi {
    /// Its id in the source (a 24-hex id is kept).
    pub source_id: String,
    /// Its owner's Keygate id (resolved from the source's user reference).
    pub owner_id: Option<Id>,
    /// `api_name` as 000 kept it (also its record URLs' name).
    pub api_name: Option<Value>,
    /// `endpoints`.
    pub endpoints: Option<Value>,
    /// `json_schema`: one schema per endpoint.
    pub json_schema: Option<Value>,
    /// Its API keys, in clear as 000 kept them.
    pub keys: Vec<String>,
    /// When it was created, if the source says.
    pub created_at: Option<DateTime<Utc>>,
}

/// One record of a 000 API.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LegacyRecord {
    /// Its id in the source.
    pub source_id: String,
    /// The source id of its API.
    pub api_source_id: String,
    /// Its endpoint's name.
    pub endpoint: String,
    /// The record itself.
    pub data: Value,
    /// When it was written, if the source says.
    pub created_at: Option<DateTime<Utc>>,
}

/// One key-value entry of system 002.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LegacyEntry {
    /// Its owner's Keygate id (resolved from the source's user reference).
    pub owner_id: Option<Id>,
    /// The key.
    pub key: String,
    /// The value.
    pub value: Value,
    /// When it was first stored, if the source says.
    pub created_at: Option<DateTime<Utc>>,
    /// When it last changed, if the source says.
    pub updated_at: Option<DateTime<Utc>>,
}

/// What a content run did, by kind of thing imported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContentReport {
    /// APIs.
    pub apis: ImportReport,
    /// API keys.
    pub keys: ImportReport,
    /// Records.
    pub records: ImportReport,
    /// Key-value entries.
    pub data: ImportReport,
    /// APIs whose 000 name was not a Keygate name, or is reserved: old name, new name.
    pub renamed: Vec<(String, String)>,
}

/// Imports 000's APIs and records and 002's data into Keygate's store.
pub struct ContentImportService {
    ports: ApiPorts,
    data: Arc<dyn DataRepository>,
    users: Arc<dyn UserRepository>,
}

impl ContentImportService {
    /// The service over Keygate's stores.
    pub fn new(
        ports: ApiPorts,
        data: Arc<dyn DataRepository>,
        users: Arc<dyn UserRepository>,
    ) -> Self {
        Self { ports, data, users }
    }

    /// Imports `apis` (ids already assigned) with their keys; returns the ones now in the
    /// store by their source id, for their records.
    pub async fn import_apis(
        &self,
        apis: &[(Id, LegacyApi)],
        dry_run: bool,
        report: &mut ContentReport,
    ) -> Result<HashMap<String, ApiDefinition>> {
        let mut imported = HashMap::new();
        for (id, legacy) in apis {
            let api = match self.definition(id, legacy, dry_run).await? {
                Ok(api) => api,
                Err(why) => {
                    report
                        .apis
                        .skip_source(&legacy.source_id, ImportOutcome::Invalid, why);
                    continue;
                }
            };
            let Some(api) = self.store_api(api, legacy, dry_run, report).await? else {
                continue;
            };
            for text in &legacy.keys {
                self.import_key(&api, text, dry_run, &mut report.keys)
                    .await?;
            }
            imported.insert(legacy.source_id.clone(), api);
        }
        Ok(imported)
    }

    /// The Keygate definition of `legacy`, checked as `POST /create_api` checks one; the
    /// inner error says why it cannot be one.
    async fn definition(
        &self,
        id: &Id,
        legacy: &LegacyApi,
        dry_run: bool,
    ) -> Result<std::result::Result<ApiDefinition, String>> {
        let Some(owner_id) = legacy.owner_id.clone() else {
            return Ok(Err(NO_OWNER.to_owned()));
        };
        if !self.owner_exists(&owner_id, dry_run).await? {
            return Ok(Err(NO_OWNER.to_owned()));
        }
        Ok(self.checked_definition(id, owner_id, legacy).await)
    }

    async fn checked_definition(
        &self,
        id: &Id,
        owner_id: Id,
        legacy: &LegacyApi,
    ) -> std::result::Result<ApiDefinition, String> {
        let draft = NewApi {
            api_name: legacy.api_name.clone(),
            endpoints: legacy.endpoints.clone(),
            json_schema: legacy.json_schema.clone(),
            indexes: None,
        }
        .parse(&*self.ports.schemas)
        .await
        .map_err(|e| describe(&e))?;
        let requested = legacy
            .api_name
            .as_ref()
            .and_then(Value::as_str)
            .unwrap_or("");
        let name = ApiName::parse(requested)
            .ok()
            .filter(|n| !n.is_reserved())
            .unwrap_or_else(|| ApiName::slug_of(draft.display_name.as_str()));
        let now = self.ports.clock.now();
        let created_at = legacy.created_at.unwrap_or(now);
        let api = ApiDefinition {
            id: id.clone(),
            owner_id,
            name,
            display_name: draft.display_name,
            endpoints: draft.endpoints,
            created_at,
            updated_at: now.max(created_at),
            revision: 1,
        };
        check_definition_size(&api).map_err(|e| describe(&e))?;
        Ok(api)
    }

    /// Stores `api` unless an earlier run did; `None` when it was skipped.
    async fn store_api(
        &self,
        api: ApiDefinition,
        legacy: &LegacyApi,
        dry_run: bool,
        report: &mut ContentReport,
    ) -> Result<Option<ApiDefinition>> {
        if let Some(stored) = self.ports.apis.find(&api.id).await? {
            report.apis.count(ImportOutcome::AlreadyImported);
            return Ok(Some(stored));
        }
        let taken = || {
            format!(
                "the API name '{}' is taken by another account's API",
                api.name.as_str()
            )
        };
        if dry_run {
            if self.ports.apis.find_by_name(&api.name).await?.is_some() {
                report
                    .apis
                    .skip_source(&legacy.source_id, ImportOutcome::NameTaken, taken());
                return Ok(None);
            }
        } else {
            let charged = UsageChange::api_added(api.size());
            if let Err(error) = self.ports.quota.reserve(&api.owner_id, charged).await {
                report.apis.skip_source(
                    &legacy.source_id,
                    ImportOutcome::OverQuota,
                    describe(&error),
                );
                return Ok(None);
            }
            match self.ports.apis.insert(&api).await {
                Ok(()) => {}
                Err(Error::Conflict(ConflictKind::ApiName)) => {
                    self.ports.quota.undo(&api.owner_id, charged).await;
                    report
                        .apis
                        .skip_source(&legacy.source_id, ImportOutcome::NameTaken, taken());
                    return Ok(None);
                }
                Err(other) => {
                    self.ports.quota.undo(&api.owner_id, charged).await;
                    return Err(other);
                }
            }
        }
        let old_name = legacy
            .api_name
            .as_ref()
            .and_then(Value::as_str)
            .unwrap_or("");
        if old_name != api.name.as_str() {
            report
                .renamed
                .push((old_name.to_owned(), api.name.as_str().to_owned()));
        }
        report.apis.count(ImportOutcome::Imported);
        Ok(Some(api))
    }

    /// Stores one clear-text 000 key of `api` as a digest, found by its derived id.
    async fn import_key(
        &self,
        api: &ApiDefinition,
        text: &str,
        dry_run: bool,
        report: &mut ImportReport,
    ) -> Result<()> {
        let secrets = &*self.ports.secrets;
        let Some(key_text) = ApiKeyText::legacy(text.trim()) else {
            report.skip_source(
                api.id.as_str(),
                ImportOutcome::Invalid,
                "an API key must be 16 to 256 visible ASCII characters".to_owned(),
            );
            return Ok(());
        };
        if ApiKeyText::parse(text.trim()).is_some_and(|t| t != key_text) {
            // Would be read as a Keygate key, never as this one.
            report.skip_source(
                api.id.as_str(),
                ImportOutcome::Invalid,
                "an API key in Keygate's own kg_ format cannot be imported".to_owned(),
            );
            return Ok(());
        }
        let public_id = key_text.lookup_id(secrets);
        if let Some(found) = self.ports.keys.find_by_public_id(&public_id).await? {
            let outcome = if found.api_id == api.id {
                ImportOutcome::AlreadyImported
            } else {
                ImportOutcome::Invalid
            };
            if outcome == ImportOutcome::AlreadyImported {
                report.count(outcome);
            } else {
                report.skip_source(
                    api.id.as_str(),
                    outcome,
                    "the same key text opens another API".to_owned(),
                );
            }
            return Ok(());
        }
        let id = derived_id(&format!("key\0{public_id}"), secrets);
        let key = ApiKey {
            id,
            api_id: api.id.clone(),
            owner_id: api.owner_id.clone(),
            public_id,
            digest: secrets.digest(key_text.expose()),
            scopes: Scopes::ALL,
            created_at: api.created_at,
            expires_at: None,
            revoked_at: None,
        };
        if !dry_run {
            match self.ports.keys.insert(&key).await {
                Ok(()) => {}
                Err(Error::Conflict(_)) => {
                    report.count(ImportOutcome::AlreadyImported);
                    return Ok(());
                }
                Err(other) => return Err(other),
            }
        }
        report.count(ImportOutcome::Imported);
        Ok(())
    }

    /// Imports `records` (ids already assigned) into the APIs of [`Self::import_apis`].
    pub async fn import_records(
        &self,
        apis: &HashMap<String, ApiDefinition>,
        records: &[(Id, LegacyRecord)],
        dry_run: bool,
    ) -> Result<ImportReport> {
        let mut report = ImportReport::default();
        for (id, legacy) in records {
            let Some(api) = apis.get(&legacy.api_source_id) else {
                report.skip_source(
                    &legacy.source_id,
                    ImportOutcome::UnknownApi,
                    "its API was not imported".to_owned(),
                );
                continue;
            };
            let Some(endpoint) = api.endpoint(&legacy.endpoint) else {
                report.skip_source(
                    &legacy.source_id,
                    ImportOutcome::UnknownApi,
                    format!("its API has no endpoint '{}'", legacy.endpoint),
                );
                continue;
            };
            let body = match document_rules(&legacy.data) {
                Ok((body, violations)) if violations.is_empty() => body,
                Ok((_, violations)) => {
                    let why = violations
                        .iter()
                        .map(|v| format!("{}: {}", v.field, v.message))
                        .collect::<Vec<_>>()
                        .join("; ");
                    report.skip_source(&legacy.source_id, ImportOutcome::Invalid, why);
                    continue;
                }
                Err(error) => {
                    report.skip_source(&legacy.source_id, ImportOutcome::Invalid, describe(&error));
                    continue;
                }
            };
            if self
                .ports
                .records
                .find(&api.id, &endpoint.name, id)
                .await?
                .is_some()
            {
                report.count(ImportOutcome::AlreadyImported);
                continue;
            }
            let now = self.ports.clock.now();
            let created_at = legacy.created_at.unwrap_or(now);
            let record = Record {
                id: id.clone(),
                api_id: api.id.clone(),
                endpoint: endpoint.name.clone(),
                data: body,
                created_at,
                updated_at: created_at,
                revision: 1,
            };
            if !dry_run {
                let added = UsageChange::added(record.size());
                if let Err(error) = self.ports.quota.reserve(&api.owner_id, added).await {
                    report.skip_source(
                        &legacy.source_id,
                        ImportOutcome::OverQuota,
                        describe(&error),
                    );
                    continue;
                }
                if let Err(error) = self
                    .ports
                    .records
                    .insert(&record, &endpoint.indexed_fields())
                    .await
                {
                    self.ports.quota.undo(&api.owner_id, added).await;
                    return Err(error);
                }
            }
            report.count(ImportOutcome::Imported);
        }
        Ok(report)
    }

    /// Imports 002's key-value `entries`.
    pub async fn import_entries(
        &self,
        entries: &[LegacyEntry],
        dry_run: bool,
    ) -> Result<ImportReport> {
        let mut report = ImportReport::default();
        for legacy in entries {
            let Some(owner_id) = legacy.owner_id.clone() else {
                report.skip_source(&legacy.key, ImportOutcome::Invalid, NO_OWNER.to_owned());
                continue;
            };
            let mut body = Map::new();
            body.insert("key".into(), Value::String(legacy.key.clone()));
            body.insert("value".into(), legacy.value.clone());
            let entry = match NewEntry::parse(body) {
                Ok(entry) => entry,
                Err(error) => {
                    report.skip_source(&legacy.key, ImportOutcome::Invalid, describe(&error));
                    continue;
                }
            };
            let now = self.ports.clock.now();
            let created_at = legacy.created_at.unwrap_or(now);
            let stored = crate::data::DataEntry {
                user_id: owner_id,
                key: entry.key,
                value: entry.value,
                created_at,
                updated_at: legacy.updated_at.unwrap_or(created_at).max(created_at),
            };
            if stored.size() > MAX_RECORD_BYTES {
                report.skip_source(
                    &legacy.key,
                    ImportOutcome::Invalid,
                    format!("a value may hold at most {MAX_RECORD_BYTES} bytes"),
                );
                continue;
            }
            if !self.owner_exists(&stored.user_id, dry_run).await? {
                report.skip_source(&legacy.key, ImportOutcome::Invalid, NO_OWNER.to_owned());
                continue;
            }
            if self
                .data
                .find(&stored.user_id, &stored.key)
                .await?
                .is_some()
            {
                report.count(ImportOutcome::AlreadyImported);
                continue;
            }
            if !dry_run {
                let added = UsageChange::added(stored.size());
                if let Err(error) = self.ports.quota.reserve(&stored.user_id, added).await {
                    report.skip_source(&legacy.key, ImportOutcome::OverQuota, describe(&error));
                    continue;
                }
                match self.data.insert(&stored).await {
                    Ok(()) => {}
                    Err(Error::Conflict(_)) => {
                        self.ports.quota.undo(&stored.user_id, added).await;
                        report.count(ImportOutcome::AlreadyImported);
                        continue;
                    }
                    Err(other) => {
                        self.ports.quota.undo(&stored.user_id, added).await;
                        return Err(other);
                    }
                }
            }
            report.count(ImportOutcome::Imported);
        }
        Ok(report)
    }
}

impl ContentImportService {
    /// Whether the account `owner_id` is in the store; a dry run, which stored none of the
    /// source's accounts, takes an owner the source names as coming in with them.
    async fn owner_exists(&self, owner_id: &Id, dry_run: bool) -> Result<bool> {
        Ok(dry_run || self.users.find_by_id(owner_id).await?.is_some())
    }
}

/// Why something whose owner is not in Keygate is skipped.
const NO_OWNER: &str = "its owner is not among the imported accounts";

/// A 24-hex id derived from `seed` (the same on every run).
fn derived_id(seed: &str, secrets: &dyn crate::crypto::SecretGenerator) -> Id {
    let digest = secrets.digest(&format!("keygate-import\0{seed}"));
    digest
        .as_str()
        .get(..24)
        .and_then(|h| h.parse().ok())
        .unwrap_or_else(|| Id::generate(0))
}

/// An error as one line of a report.
fn describe(error: &Error) -> String {
    match error {
        Error::Validation(violations) => violations
            .iter()
            .map(|v| {
                if v.field.is_empty() {
                    v.message.clone()
                } else {
                    format!("{}: {}", v.field, v.message)
                }
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}
