//! Operator commands run from the `keygate` binary beside `serve`: changes no HTTP caller may
//! make, such as granting the admin role.

use keygate_domain::accounts::Role;

use crate::config::Settings;
use crate::control::rotation_outcome;
use crate::startup::{build_keygate, open_store, StartupError};

/// Why an operator command failed.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// The store or the services could not be set up.
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// The command itself failed (unknown account, store error).
    #[error("{0}")]
    Domain(#[from] keygate_domain::Error),
}

/// Gives the account named by `identifier` (username, or email) the role `role`, and says
/// what it did. With the embedded store, the server must be stopped first (one process owns
/// the file); on MongoDB it may run beside live servers.
pub async fn set_role(
    settings: &Settings,
    identifier: &str,
    role: Role,
) -> Result<String, OperatorError> {
    let (store, _) = open_store(settings, None).await?;
    let (keygate, _) = build_keygate(store, settings)?;
    let user = keygate.accounts.set_role(identifier, role).await?;
    Ok(format!(
        "{} ({}) now has the role '{}'",
        user.handle(),
        user.id,
        role.as_str()
    ))
}

/// Makes the next signing key (`keygate keys rotate`): published now, signing after
/// `auth.signing.publish_ahead_secs`, unless a next key is already waiting. Other instances
/// on the same MongoDB see it within `auth.signing.refresh_secs`. With the embedded store and
/// a server running on it, the server does it (through its control socket) and publishes it
/// at once.
pub async fn rotate_keys(settings: &Settings) -> Result<String, OperatorError> {
    let embedded = settings.database.mongodb_url().is_none();
    #[cfg(unix)]
    if embedded {
        match crate::control::send(&settings.database.path, "keys rotate").await {
            Ok(Some(answer)) => {
                return match answer.strip_prefix("ok ") {
                    Some(done) => Ok(format!("{done} (by the running server)")),
                    None => Err(OperatorError::Domain(keygate_domain::Error::Unavailable(
                        answer.strip_prefix("error ").unwrap_or(&answer).to_owned(),
                    ))),
                };
            }
            Ok(None) => {}
            Err(e) => tracing::debug!("no server answered on the control socket: {e}"),
        }
    }
    #[cfg(not(unix))]
    let _ = embedded;
    let (store, _) = open_store(settings, None).await?;
    let (keygate, _) = build_keygate(store, settings)?;
    // The first key, if this store has none yet, is made as a server start would.
    keygate.signing.refresh().await?;
    Ok(rotation_outcome(&keygate.signing).await?)
}

/// What `keygate import` is asked to do.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// `--from`: a mongodb://, postgresql:// or sqlite:// URL, a .jsonl or a .csv file.
    pub from: String,
    /// `--dry-run`: report only.
    pub dry_run: bool,
    /// `--map field=column`, any number.
    pub maps: Vec<String>,
    /// `--table`: the SQL table of a PostgreSQL or SQLite source.
    pub table: Option<String>,
}

/// How many accounts are written at once: their durable writes share commits.
const IMPORT_CONCURRENCY: usize = 64;

/// Brings the earlier systems' users in (§10), then what they kept (000's APIs, keys and
/// records, 002's key-value entries), and returns the report as JSON text.
pub async fn import(settings: &Settings, request: &ImportRequest) -> Result<String, OperatorError> {
    use keygate_domain::import::{
        ContentImportService, ContentReport, ImportReport, ImportService,
    };
    use std::sync::Arc;

    let unusable = |why: String| OperatorError::Domain(keygate_domain::Error::Unavailable(why));
    let source = keygate_import::Source::parse(&request.from).map_err(unusable)?;
    let map = keygate_import::FieldMap::with(&request.maps).map_err(unusable)?;
    let started = std::time::Instant::now();
    let found = source
        .read(&map, request.table.as_deref())
        .await
        .map_err(unusable)?;
    let identity = match &found.table {
        Some(table) => format!("{}#{table}", source.identity()),
        None => source.identity(),
    };
    let digest = |text: &str| {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(text.as_bytes()))
    };
    let users: Vec<_> = found
        .users
        .iter()
        .map(|user| {
            (
                ImportService::account_id(&identity, user, &digest),
                user.clone(),
            )
        })
        .collect();
    let owners = OwnerIndex::new(&users);
    let (store, _) = open_store(settings, None).await?;
    let clock: Arc<dyn keygate_domain::Clock> = Arc::new(keygate_domain::SystemClock);
    let service = Arc::new(ImportService::new(
        store.users.clone(),
        Arc::new(keygate_crypto::LegacyHashes),
        clock.clone(),
    ));
    let chunk = users.len().div_ceil(IMPORT_CONCURRENCY).max(1);
    let runs = users
        .chunks(chunk)
        .map(|part| service.import(part, request.dry_run));
    let mut report = ImportReport::default();
    for part in futures_util::future::join_all(runs).await {
        report.merge(part?);
    }

    let content = ContentImportService::new(
        keygate_domain::apis::ApiPorts {
            apis: store.apis.clone(),
            keys: store.api_keys.clone(),
            records: store.records.clone(),
            schemas: Arc::new(keygate_jsonschema::JsonSchemaValidator::new(
                settings.records.validation,
            )),
            secrets: Arc::new(keygate_crypto::OsSecrets),
            clock,
            quota: keygate_domain::usage::Quota::new(store.usage.clone(), settings.limits.usage),
        },
        store.data.clone(),
        store.users.clone(),
    );
    let mut contents = ContentReport::default();
    let apis: Vec<_> = found
        .apis
        .iter()
        .map(|owned| {
            let mut api = owned.item.clone();
            api.owner_id = owners.resolve(&owned.owner);
            let id = ImportService::kept_or_derived_id(
                &format!("{identity}#apis"),
                &api.source_id,
                &digest,
            );
            (id, api)
        })
        .collect();
    let imported_apis = content
        .import_apis(&apis, request.dry_run, &mut contents)
        .await?;
    let records: Vec<_> = found
        .records
        .iter()
        .map(|record| {
            let seed = format!(
                "{identity}#records#{}#{}",
                record.api_source_id, record.endpoint
            );
            (
                ImportService::kept_or_derived_id(&seed, &record.source_id, &digest),
                record.clone(),
            )
        })
        .collect();
    let chunk = records.len().div_ceil(IMPORT_CONCURRENCY).max(1);
    let runs = records
        .chunks(chunk)
        .map(|part| content.import_records(&imported_apis, part, request.dry_run));
    for part in futures_util::future::join_all(runs).await {
        contents.records.merge(part?);
    }
    let entries: Vec<_> = found
        .entries
        .iter()
        .map(|owned| {
            let mut entry = owned.item.clone();
            entry.owner_id = owners.resolve(&owned.owner);
            entry
        })
        .collect();
    let chunk = entries.len().div_ceil(IMPORT_CONCURRENCY).max(1);
    let runs = entries
        .chunks(chunk)
        .map(|part| content.import_entries(part, request.dry_run));
    for part in futures_util::future::join_all(runs).await {
        contents.data.merge(part?);
    }

    let seconds = started.elapsed().as_secs_f64();
    let section = |report: &ImportReport| {
        serde_json::json!({
            "outcomes": report.outcomes,
            "skipped": skipped(report),
        })
    };
    let mut answer = serde_json::json!({
        "source": identity,
        "dry_run": request.dry_run,
        "accounts": users.len(),
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "per_second": if seconds > 0.0 { (users.len() as f64 / seconds).round() } else { 0.0 },
        "outcomes": report.outcomes,
        "hash_formats": report.formats,
        "skipped": skipped(&report),
    });
    if !found.apis.is_empty() || !found.records.is_empty() {
        answer["apis"] = section(&contents.apis);
        answer["api_keys"] = section(&contents.keys);
        answer["records"] = section(&contents.records);
        answer["renamed_apis"] = contents
            .renamed
            .iter()
            .map(|(from, to)| serde_json::json!({"from": from, "to": to}))
            .collect();
    }
    if !found.entries.is_empty() {
        answer["data"] = section(&contents.data);
    }
    Ok(serde_json::to_string_pretty(&answer).unwrap_or_else(|_| answer.to_string()))
}

/// The skipped items of a report, each with its reason.
fn skipped(report: &keygate_domain::import::ImportReport) -> Vec<serde_json::Value> {
    report
        .skipped
        .iter()
        .map(|(id, why)| serde_json::json!({"source_id": id, "reason": why}))
        .collect()
}

/// Finds an account of the source by how the source names an owner: its old id, its
/// username or its email (000 kept either). An owner the source does not hold owns nothing.
struct OwnerIndex {
    by_name: std::collections::HashMap<String, keygate_domain::Id>,
}

impl OwnerIndex {
    fn new(users: &[(keygate_domain::Id, keygate_domain::import::LegacyUser)]) -> Self {
        let mut by_name = std::collections::HashMap::new();
        for (id, user) in users {
            for name in [user.username.as_deref(), user.email.as_deref()]
                .into_iter()
                .flatten()
            {
                by_name
                    .entry(name.trim().to_owned())
                    .or_insert_with(|| id.clone());
            }
        }
        // Old ids win over names: inserted last.
        for (id, user) in users {
            if !user.source_id.is_empty() {
                by_name.insert(user.source_id.clone(), id.clone());
            }
        }
        Self { by_name }
    }

    fn resolve(&self, owner: &str) -> Option<keygate_domain::Id> {
        self.by_name.get(owner.trim()).cloned()
    }
}
