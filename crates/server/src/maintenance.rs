//! Background upkeep: ended sessions, their refresh tokens and expired link tokens leave the
//! store periodically, so the embedded store does not grow without bound (MongoDB's TTL indexes do it as well);
//! declared indexes get built; signing keys are re-read and rotated on schedule; queued mail
//! is delivered.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_web::rt::task::JoinHandle;
use keygate_domain::apis::IndexBuilder;
use keygate_domain::audit::AuditService;
use keygate_domain::mail::MailService;
use keygate_domain::one_time::Purger;
use keygate_domain::sessions::SessionService;
use keygate_domain::signing::SigningKeyService;
use keygate_domain::Keygate;

use crate::config::Settings;

/// Every background task of one running server, started together and stopped together after
/// the last request: a new task is one more line in [`Upkeep::start`].
pub struct Upkeep {
    tasks: Vec<JoinHandle<()>>,
    /// The embedded store's control socket file, removed on stop.
    control_socket: Option<PathBuf>,
}

impl Upkeep {
    /// Starts the purge, index builds, key refresh and mail delivery, and on the embedded
    /// store the control socket (`keygate keys rotate` reaches the running server through it).
    pub fn start(keygate: &Keygate, settings: &Settings) -> Self {
        let mut tasks = vec![
            spawn_session_purge(
                keygate.sessions.clone(),
                keygate.one_time_purger.clone(),
                settings.auth.purge_interval,
            ),
            spawn_index_builds(keygate.indexes.clone(), INDEX_BUILD_INTERVAL),
            spawn_key_refresh(keygate.signing.clone(), settings.auth.signing.refresh),
            spawn_mail_delivery(keygate.mail.clone(), settings.email.poll_interval),
            spawn_audit_purge(keygate.audit.clone(), AUDIT_PURGE_INTERVAL),
        ];
        let mut control_socket = None;
        #[cfg(unix)]
        if settings.database.mongodb_url().is_none() {
            if let Some(task) =
                crate::control::spawn(&settings.database.path, keygate.signing.clone())
            {
                tasks.push(task);
                control_socket = Some(crate::control::socket_path(&settings.database.path));
            }
        }
        Self {
            tasks,
            control_socket,
        }
    }

    /// Stops every task and waits for each to end (each holds the store), then removes the
    /// control socket file.
    pub async fn stop(self) {
        for task in self.tasks {
            task.abort();
            let _ = task.await;
        }
        if let Some(path) = self.control_socket {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Purges ended sessions every `every`, starting one interval after start-up. A failed purge
/// is logged and tried again at the next tick.
pub fn spawn_session_purge(
    sessions: Arc<SessionService>,
    one_time: Arc<Purger>,
    every: Duration,
) -> JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let mut ticks = actix_web::rt::time::interval(every);
        ticks.tick().await; // the first tick is immediate
        loop {
            ticks.tick().await;
            match sessions.purge_expired().await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "purged ended sessions and refresh tokens"),
                Err(e) => tracing::warn!("purging ended sessions failed: {e}"),
            }
            match one_time.purge_expired().await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "purged expired link tokens and login codes"),
                Err(e) => tracing::warn!("purging expired link tokens failed: {e}"),
            }
        }
    })
}

/// How often events past `audit.retention_days` are looked for.
pub const AUDIT_PURGE_INTERVAL: Duration = Duration::from_secs(3600);

/// Removes audit events past their retention (§13) at start-up and then every `every`, in
/// small batches so the purge never holds the store's writer for long. A failure is logged
/// and tried again at the next tick.
pub fn spawn_audit_purge(audit: Arc<AuditService>, every: Duration) -> JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let mut ticks = actix_web::rt::time::interval(every);
        loop {
            ticks.tick().await;
            match audit.purge_expired().await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "purged audit events past their retention"),
                Err(e) => tracing::warn!("purging audit events failed: {e}"),
            }
        }
    })
}

/// How often pending index builds are looked for: a declared index is ready about this long
/// after its records are indexed.
pub const INDEX_BUILD_INTERVAL: Duration = Duration::from_secs(1);

/// Builds indexes declared on endpoints that had records (§11), at start-up (resuming builds
/// a restart interrupted) and then every `every`. A failed build is logged and tried again.
pub fn spawn_index_builds(indexes: Arc<IndexBuilder>, every: Duration) -> JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let mut ticks = actix_web::rt::time::interval(every);
        loop {
            ticks.tick().await;
            match indexes.build_pending().await {
                Ok(0) => {}
                Ok(readied) => tracing::info!(readied, "record indexes built"),
                Err(e) => tracing::warn!("building record indexes failed: {e}"),
            }
        }
    })
}

/// Re-reads the signing keys every `every` (after the start-up read): a key another instance
/// or `keygate keys rotate` made is published here within that, a rotation due by schedule
/// is made, and retired keys leave the JWKS. A failure is logged; the keys held stay in use.
pub fn spawn_key_refresh(signing: Arc<SigningKeyService>, every: Duration) -> JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let mut ticks = actix_web::rt::time::interval(every);
        ticks.tick().await; // the first tick is immediate; start-up has just read them
        loop {
            ticks.tick().await;
            if let Err(e) = signing.refresh().await {
                tracing::warn!("refreshing the signing keys failed: {e}");
            }
        }
    })
}

/// Delivers due mail every `every` (§8): each round takes a few messages from the outbox under
/// a lease, sends them, and removes or reschedules each. Ids and reasons are logged, never a
/// message's content (it may hold a link or a code).
pub fn spawn_mail_delivery(mail: Arc<MailService>, every: Duration) -> JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let mut ticks = actix_web::rt::time::interval(every);
        loop {
            ticks.tick().await;
            // Rounds follow each other without waiting while there is a backlog.
            loop {
                match mail.deliver_due().await {
                    Ok(round) => {
                        for (id, error) in &round.retried {
                            tracing::warn!(mail = %id, "mail delivery failed, will retry: {error}");
                        }
                        for (id, error) in &round.dropped {
                            tracing::error!(mail = %id, "mail given up: {error}");
                        }
                        if round.sent == 0 || !round.retried.is_empty() {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::warn!("reading the outbox failed: {e}");
                        break;
                    }
                }
            }
        }
    })
}
