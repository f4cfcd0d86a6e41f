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
    /// Its output could not be written.
    #[error("cannot write the output: {0}")]
    Output(String),
}

/// Events read per store call by `keygate audit export`.
const EXPORT_BATCH: usize = 1_000;

/// Writes every audit event `query` wants to `out`, newest first, one JSON object per line
/// (`keygate audit export`, the same lines as `GET /admin/audit?format=jsonl`); answers how
/// many. Reads a batch at a time, so memory stays bounded whatever the log's size. With the
/// embedded store, the server must be stopped first.
pub async fn export_audit(
    settings: &Settings,
    query: &keygate_domain::audit::AuditQuery,
    out: &mut impl std::io::Write,
) -> Result<u64, OperatorError> {
    let (store, _) = open_store(settings, None).await?;
    let (keygate, _) = build_keygate(store, settings)?;
    let mut before = None;
    let mut written = 0u64;
    loop {
        let (events, next) = keygate
            .audit
            .export_batch(query, before, EXPORT_BATCH)
            .await?;
        for event in &events {
            serde_json::to_writer(&mut *out, event)
                .map_err(|e| OperatorError::Output(e.to_string()))?;
            out.write_all(b"\n")
                .map_err(|e| OperatorError::Output(e.to_string()))?;
            written += 1;
        }
        match next {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    out.flush()
        .map_err(|e| OperatorError::Output(e.to_string()))?;
    Ok(written)
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

/// Brings the earlier systems' users in (§10), then what they kept (000's APIs, keys and
/// records, 002's key-value entries), through the composition root's migration; returns the
/// report as JSON text.
pub async fn import(settings: &Settings, request: &ImportRequest) -> Result<String, OperatorError> {
    let source =
        keygate_import::SourceReader::new(&request.from, &request.maps, request.table.clone())
            .map_err(|e| OperatorError::Domain(e.into()))?;
    let (store, _) = open_store(settings, None).await?;
    let (keygate, _) = build_keygate(store, settings)?;
    let report = keygate.migration.run(&source, request.dry_run).await?;
    let answer = report.to_json();
    Ok(serde_json::to_string_pretty(&answer).unwrap_or_else(|_| answer.to_string()))
}
