//! Operator commands run from the `keygate` binary beside `serve`: changes no HTTP caller may
//! make, such as granting the admin role.

use keygate_domain::accounts::Role;
use keygate_domain::signing::{RotationOutcome, SigningKeyService};

use crate::config::Settings;
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
    let name = user
        .username
        .as_ref()
        .map(|u| u.as_str().to_owned())
        .or_else(|| user.email.as_ref().map(|e| e.as_str().to_owned()))
        .unwrap_or_else(|| user.id.to_string());
    Ok(format!(
        "{name} ({}) now has the role '{}'",
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

/// Rotates with `signing` and says what happened.
pub async fn rotation_outcome(signing: &SigningKeyService) -> keygate_domain::Result<String> {
    Ok(match signing.rotate().await? {
        RotationOutcome::Created { kid, signs_from } => format!(
            "made signing key {kid} ({}); it is published now and signs from {}",
            signing.algorithm(),
            signs_from.to_rfc3339()
        ),
        RotationOutcome::AlreadyWaiting { kid, signs_from } => format!(
            "signing key {kid} is already published and signs from {}; nothing made",
            signs_from.to_rfc3339()
        ),
        RotationOutcome::SharedSecret => "tokens are signed with the shared HS256 secret \
            (auth.jwt_secret): there are no signing keys to rotate; set \
            auth.signing.algorithm to EdDSA, ES256 or RS256 to use them"
            .to_owned(),
    })
}

/// What `keygate import` is asked to do.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// `--from`: a mongodb:// URL, a .jsonl or a .csv file.
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

/// Brings the earlier systems' users in (§10) and returns the report as JSON text.
pub async fn import(settings: &Settings, request: &ImportRequest) -> Result<String, OperatorError> {
    use keygate_domain::import::{ImportReport, ImportService};
    use sha2::{Digest, Sha256};

    let unusable = |why: String| OperatorError::Domain(keygate_domain::Error::Unavailable(why));
    let source = keygate_import::Source::parse(&request.from).map_err(unusable)?;
    let map = keygate_import::FieldMap::with(&request.maps).map_err(unusable)?;
    let started = std::time::Instant::now();
    let (legacy, table) = source
        .read(&map, request.table.as_deref())
        .await
        .map_err(unusable)?;
    let identity = match table {
        Some(table) => format!("{}#{table}", source.identity()),
        None => source.identity(),
    };
    let digest = |text: &str| hex::encode(Sha256::digest(text.as_bytes()));
    let users: Vec<_> = legacy
        .into_iter()
        .map(|user| (ImportService::account_id(&identity, &user, &digest), user))
        .collect();
    let (store, _) = open_store(settings, None).await?;
    let service = std::sync::Arc::new(ImportService::new(
        store.users.clone(),
        std::sync::Arc::new(keygate_crypto::LegacyHashes),
        std::sync::Arc::new(keygate_domain::SystemClock),
    ));
    let chunk = users.len().div_ceil(IMPORT_CONCURRENCY).max(1);
    let runs = users
        .chunks(chunk)
        .map(|part| service.import(part, request.dry_run));
    let mut report = ImportReport::default();
    for part in futures_util::future::join_all(runs).await {
        report.merge(part?);
    }
    let seconds = started.elapsed().as_secs_f64();
    let answer = serde_json::json!({
        "source": identity,
        "dry_run": request.dry_run,
        "accounts": users.len(),
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "per_second": if seconds > 0.0 { (users.len() as f64 / seconds).round() } else { 0.0 },
        "outcomes": report.outcomes,
        "hash_formats": report.formats,
        "skipped": report.skipped.iter().map(|(id, why)| serde_json::json!({"source_id": id, "reason": why})).collect::<Vec<_>>(),
    });
    Ok(serde_json::to_string_pretty(&answer).unwrap_or_else(|_| answer.to_string()))
}
