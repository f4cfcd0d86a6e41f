//! Building the application from settings: store, adapters, services, HTTP server.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::{from_fn, Condition, DefaultHeaders};
use actix_web::{web, App, HttpServer};
use keygate_crypto::{Argon2Hasher, JwtSettings, JwtTokens, OsKeyGenerator, OsSecrets};
use keygate_domain::{CryptoPorts, Keygate, MailPorts, Repositories, Store, SystemClock};
use keygate_embedded::EmbeddedStore;
use keygate_jsonschema::JsonSchemaValidator;
use keygate_mongo::{MongoSettings, MongoStore};

use actix_web::rt::task::JoinHandle;

use crate::config::{InvalidSetting, Settings};
use crate::cors::CorsOrigins;
use crate::error::ApiError;
use crate::extract::{BodyLimit, BodyTimeout, Network, TrustedProxies};
use crate::metrics::HttpMetrics;
use crate::routes;
use crate::routes::JWKS_MAX_AGE_SECS;
use crate::secret::{token_signing, SecretError};
use crate::state::{AppState, IntrospectionAccess};
use crate::store_metrics::{MeasuredStore, StoreMetrics};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// `database.url` names a store Keygate cannot use.
    #[error("{0}")]
    UnsupportedDatabase(String),
    /// The store could not be opened.
    #[error("cannot open the store: {0}")]
    Store(keygate_domain::Error),
    /// No usable signing secret.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// A setting has a value Keygate cannot use.
    #[error(transparent)]
    Setting(#[from] InvalidSetting),
    /// The signing keys could not be read or made.
    #[error("cannot load the signing keys: {0}")]
    SigningKeys(keygate_domain::Error),
    /// Invalid hashing parameters.
    #[error("invalid auth.hashing settings: {0}")]
    Hashing(keygate_domain::Error),
    /// The WebAuthn relying party (`auth.webauthn.*`) is unusable.
    #[error("{0}")]
    Webauthn(String),
    /// The listener could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// host:port asked for.
        address: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Every port of `store`, each call timed into `metrics` when there are any.
fn measured<S: Store>(store: Arc<S>, metrics: Option<&Arc<StoreMetrics>>) -> Repositories {
    match metrics {
        Some(metrics) => Repositories::of(Arc::new(MeasuredStore::new(store, metrics.clone()))),
        None => Repositories::of(store),
    }
}

/// Keygate's services over `store`, with the crypto and schema adapters the settings call for;
/// also the hashing pool, whose queue `/metrics` reads.
pub fn build_keygate(
    store: Repositories,
    settings: &Settings,
) -> Result<(Keygate, Argon2Hasher), StartupError> {
    let signing = token_signing(settings)?;
    let jwt = Arc::new(JwtTokens::new(&JwtSettings {
        algorithm: signing.algorithm,
        secret: signing.secret,
        issuer: settings.auth.issuer.clone(),
        audience: settings.auth.audience.clone(),
    }));
    let hasher = Argon2Hasher::new(settings.auth.hashing).map_err(StartupError::Hashing)?;
    let crypto = CryptoPorts {
        hasher: Arc::new(hasher.clone()),
        issuer: jwt.clone(),
        verifier: jwt.clone(),
        secrets: Arc::new(OsSecrets),
        key_generator: Arc::new(OsKeyGenerator),
        key_installer: jwt,
        otp: Arc::new(keygate_crypto::OsOtp),
        passkeys: Arc::new(relying_party(settings)?),
        legacy_hashes: Arc::new(keygate_crypto::LegacyHashes),
    };
    let schemas = Arc::new(JsonSchemaValidator::new(settings.records.validation));
    let keygate = Keygate::new(
        store,
        crypto,
        schemas,
        Arc::new(SystemClock),
        settings.domain(signing.algorithm),
        mail_ports(settings)?,
    );
    Ok((keygate, hasher))
}

/// The passkey relying party of `auth.webauthn.*`. Values set there must work; when neither
/// is set and the listener's address cannot be one (an IP address is no relying party id),
/// passkeys work for `http://localhost` only, and the log says how to set them.
fn relying_party(settings: &Settings) -> Result<keygate_crypto::WebauthnPasskeys, StartupError> {
    let webauthn = settings.webauthn();
    match keygate_crypto::WebauthnPasskeys::new(&webauthn) {
        Ok(passkeys) => Ok(passkeys),
        Err(why)
            if settings.auth.webauthn.rp_id.is_none()
                && settings.auth.webauthn.origin.is_none() =>
        {
            tracing::warn!(
                "passkeys: {why}; set auth.webauthn.rp_id and auth.webauthn.origin (until then \
                 they work for http://localhost only)"
            );
            keygate_crypto::WebauthnPasskeys::new(&keygate_crypto::WebauthnSettings {
                rp_id: "localhost".into(),
                origin: "http://localhost".into(),
                rp_name: webauthn.rp_name,
            })
            .map_err(StartupError::Webauthn)
        }
        Err(why) => Err(StartupError::Webauthn(why)),
    }
}

/// The store the settings name, seen through every port (timed for `/metrics` when it is on),
/// and how to describe it in the log.
pub async fn open_store(
    settings: &Settings,
    metrics: Option<&Arc<StoreMetrics>>,
) -> Result<(Repositories, String), StartupError> {
    match settings.database.mongodb_url() {
        None => {
            let store = Arc::new(
                EmbeddedStore::open(&settings.database.path).map_err(StartupError::Store)?,
            );
            let description = format!("embedded store in {}", settings.database.path.display());
            Ok((measured(store, metrics), description))
        }
        Some(url) if url.starts_with("mongodb://") || url.starts_with("mongodb+srv://") => {
            let store = MongoStore::connect(&MongoSettings {
                url: url.to_owned(),
                database: settings.database.name.clone(),
                operation_timeout: settings.database.timeout,
            })
            .await
            .map_err(StartupError::Store)?;
            let description = format!("MongoDB database '{}'", settings.database.name);
            Ok((measured(Arc::new(store), metrics), description))
        }
        Some(url) => Err(StartupError::UnsupportedDatabase(unsupported_database(url))),
    }
}

/// Why `url` names no store Keygate can use, naming only its scheme: the rest of a URL may
/// hold a password.
fn unsupported_database(url: &str) -> String {
    let scheme = url
        .split("://")
        .next()
        .filter(|s| s.len() < url.len())
        .unwrap_or("unknown");
    format!(
        "database.url is a '{scheme}' URL, which Keygate cannot use: give a mongodb:// or \
         mongodb+srv:// URL for MongoDB, or leave database.url (and DATABASE_URI, MONGODB_URI, \
         MONGO_URI) unset for the embedded store"
    )
}

/// Everything the HTTP server serves from: Keygate's services, the store probe and the
/// metrics.
async fn build_state(settings: &Settings) -> Result<(AppState, String), StartupError> {
    let store_metrics = Arc::new(StoreMetrics::default());
    let (store, description) =
        open_store(settings, settings.metrics.enabled.then_some(&store_metrics)).await?;
    let store_probe = store.users.clone();
    let (keygate, hasher) = build_keygate(store, settings)?;
    // Every instance signs with the keys in the store: the first one makes them, the others
    // read them; nothing is served before this instance holds them.
    keygate
        .signing
        .refresh()
        .await
        .map_err(StartupError::SigningKeys)?;
    tracing::info!(
        algorithm = %keygate.signing.algorithm(),
        "access tokens are signed with {}",
        keygate.signing.algorithm()
    );
    let signing = &settings.auth.signing;
    if keygate.signing.algorithm().is_asymmetric()
        && u64::from(signing.publish_ahead_secs) < signing.refresh.as_secs() + JWKS_MAX_AGE_SECS
    {
        tracing::warn!(
            "auth.signing.publish_ahead_secs ({}) is shorter than refresh_secs ({}) plus the \
             JWKS cache lifetime ({JWKS_MAX_AGE_SECS} s): a rotated key may sign tokens that \
             other instances or verifiers do not know yet",
            signing.publish_ahead_secs,
            signing.refresh.as_secs()
        );
    }
    let state = AppState {
        keygate,
        store_probe,
        http_metrics: Arc::new(HttpMetrics::default()),
        store_metrics,
        hasher,
        metrics: settings.metrics.clone(),
        introspection: introspection_access(settings)?,
    };
    Ok((state, description))
}

/// What mail needs: the sender and the templates (§8).
fn mail_ports(settings: &Settings) -> Result<MailPorts, StartupError> {
    let (mailer, templates) = crate::mailer::mailer(settings)?;
    Ok(MailPorts { mailer, templates })
}

/// `auth.introspection_token` and the claims introspection reports; a token shorter than 32
/// bytes is refused like a weak signing secret.
fn introspection_access(
    settings: &Settings,
) -> Result<Option<IntrospectionAccess>, InvalidSetting> {
    let Some(token) = settings
        .auth
        .introspection_token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return Ok(None);
    };
    if token.len() < crate::secret::MIN_SECRET_BYTES && !settings.auth.allow_weak_secret {
        return Err(InvalidSetting {
            setting: "auth.introspection_token",
            problem: format!(
                "must be at least {} bytes: it is a bearer secret",
                crate::secret::MIN_SECRET_BYTES
            ),
        });
    }
    Ok(Some(IntrospectionAccess {
        token: token.to_owned(),
        issuer: settings.auth.issuer.clone(),
        audience: settings.auth.audience.clone(),
    }))
}

/// `server.trusted_proxies`, parsed; a start-up error names the first entry that is no
/// address or CIDR.
fn trusted_proxies(entries: &[String]) -> Result<TrustedProxies, InvalidSetting> {
    entries
        .iter()
        .map(|entry| {
            Network::parse(entry).ok_or_else(|| InvalidSetting {
                setting: "server.trusted_proxies",
                problem: format!("'{entry}' is not an IP address or CIDR network"),
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(TrustedProxies)
}

/// A built, bound, not yet running server.
pub struct Application {
    server: Server,
    port: u16,
    /// The `metrics.listen` server and its port, when one is configured.
    metrics_server: Option<(Server, std::net::SocketAddr)>,
    state: web::Data<AppState>,
    purge: JoinHandle<()>,
    index_builds: JoinHandle<()>,
    key_refresh: JoinHandle<()>,
    mail_delivery: JoinHandle<()>,
    /// The embedded store's control socket task and its file.
    control: Option<(JoinHandle<()>, std::path::PathBuf)>,
    shutdown_timeout_secs: u64,
}

/// The `metrics.listen` server: `/metrics` alone, on one worker (a scrape every few seconds
/// needs no more), with the same state as the API.
fn metrics_server(
    address: &str,
    state: web::Data<AppState>,
) -> Result<(Server, std::net::SocketAddr), StartupError> {
    let bind_error = |source| StartupError::Bind {
        address: address.to_owned(),
        source,
    };
    let listener = TcpListener::bind(address).map_err(bind_error)?;
    let local = listener.local_addr().map_err(bind_error)?;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(no_store_headers())
            .configure(routes::configure_metrics_only)
            .default_service(web::to(routes::not_found))
    })
    .disable_signals()
    .workers(1)
    .listen(listener)
    .map_err(bind_error)?
    .run();
    Ok((server, local))
}

/// Headers on every response that does not set its own. Bodies carry tokens, profiles and
/// private data: no cache may keep them (RFC 6749 §5.1 requires it of token responses), and
/// no browser may sniff them.
fn no_store_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CACHE_CONTROL, "no-store"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
}

/// Waits for SIGTERM or SIGINT (Ctrl-C) and names it.
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            },
            Err(error) => {
                tracing::warn!("cannot listen for SIGTERM ({error}); only SIGINT stops gracefully");
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

impl Application {
    /// Wires everything the settings call for and binds the listener (port 0 picks a free one).
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let (state, description) = build_state(&settings).await?;
        let purge = crate::maintenance::spawn_session_purge(
            state.keygate.sessions.clone(),
            state.keygate.one_time_purger.clone(),
            settings.auth.purge_interval,
        );
        let index_builds = crate::maintenance::spawn_index_builds(
            state.keygate.indexes.clone(),
            crate::maintenance::INDEX_BUILD_INTERVAL,
        );
        let key_refresh = crate::maintenance::spawn_key_refresh(
            state.keygate.signing.clone(),
            settings.auth.signing.refresh,
        );
        let mail_delivery = crate::maintenance::spawn_mail_delivery(
            state.keygate.mail.clone(),
            settings.email.poll_interval,
        );
        let embedded = settings.database.mongodb_url().is_none();
        #[cfg(unix)]
        let control = embedded
            .then(|| crate::control::spawn(&settings.database.path, state.keygate.signing.clone()))
            .flatten()
            .map(|task| (task, crate::control::socket_path(&settings.database.path)));
        #[cfg(not(unix))]
        let control = {
            let _ = embedded;
            None
        };
        let state = web::Data::new(state);

        let address = format!("{}:{}", settings.server.host, settings.server.port);
        let bind_error = |source| StartupError::Bind {
            address: address.clone(),
            source,
        };
        let listener = TcpListener::bind(&address).map_err(bind_error)?;
        let port = listener.local_addr().map_err(bind_error)?.port();
        let limit = BodyLimit(settings.server.max_body_bytes);
        let body_timeout = BodyTimeout(settings.server.body_timeout);
        let proxies = trusted_proxies(&settings.server.trusted_proxies)?;
        let cors = CorsOrigins::parse(&settings.server.cors_origins)?;
        let metrics_server = match settings.metrics.listen.as_deref().filter(|a| !a.is_empty()) {
            Some(address) if settings.metrics.enabled => {
                Some(metrics_server(address, state.clone())?)
            }
            _ => None,
        };
        let metrics_elsewhere = metrics_server.is_some();
        let app_state = state.clone();
        let docs = settings.docs.enabled;
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(limit)
                .app_data(body_timeout)
                .app_data(proxies.clone())
                .app_data(web::QueryConfig::default().error_handler(|error, _| {
                    ApiError::validation("query", &format!("invalid query string: {error}")).into()
                }))
                .wrap(no_store_headers())
                .app_data(routes::MetricsElsewhere(metrics_elsewhere))
                .wrap(Condition::new(cors.enabled(), cors.middleware()))
                .wrap(from_fn(crate::request_id::assign))
                .configure(routes::configure)
                .configure(|cfg| {
                    if docs {
                        crate::docs_page::configure(cfg);
                    }
                })
                .default_service(web::to(routes::not_found))
        });
        let shutdown_timeout_secs = settings.server.shutdown_timeout_secs;
        server = server
            // Signals are handled in `run_until_stopped`: SIGINT is graceful too.
            .disable_signals()
            .shutdown_timeout(shutdown_timeout_secs)
            .client_request_timeout(body_timeout.0)
            .max_connections(settings.server.max_connections);
        if let Some(workers) = settings.server.workers {
            server = server.workers(workers);
        }
        let server = server.listen(listener).map_err(bind_error)?.run();
        tracing::info!(
            "keygate listening on http://{}:{port} ({} mode, {})",
            settings.server.host,
            settings.environment.as_str(),
            description
        );
        if let Some((_, metrics_address)) = &metrics_server {
            tracing::info!("metrics on http://{metrics_address}/metrics only");
        }
        Ok(Self {
            server,
            port,
            metrics_server,
            state: app_state,
            purge,
            index_builds,
            key_refresh,
            mail_delivery,
            control,
            shutdown_timeout_secs,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the separate metrics listener, when `metrics.listen` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_server
            .as_ref()
            .map(|(_, address)| address.port())
    }

    /// Serves until SIGTERM or SIGINT, then shuts down gracefully: stops accepting
    /// connections, lets requests in flight finish (at most `server.shutdown_timeout_secs`),
    /// and closes the store (the embedded store's writer drains and the file is closed).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let metrics = self.metrics_server.map(|(server, _)| server);
        let metrics_handle = metrics.as_ref().map(Server::handle);
        let timeout = self.shutdown_timeout_secs;
        actix_web::rt::spawn(async move {
            let signal = stop_signal().await;
            tracing::info!(
                "{signal} received: no new connections; finishing requests in flight (at most {timeout} s)"
            );
            if let Some(metrics) = metrics_handle {
                metrics.stop(true).await;
            }
            handle.stop(true).await;
        });
        if let Some(metrics) = metrics {
            actix_web::rt::spawn(metrics);
        }
        let served = self.server.await;
        // The workers are gone; with the purge task and this handle goes the last reference to
        // the store, which drains its writer and closes.
        self.purge.abort();
        let _ = self.purge.await;
        self.index_builds.abort();
        let _ = self.index_builds.await;
        self.key_refresh.abort();
        let _ = self.key_refresh.await;
        self.mail_delivery.abort();
        let _ = self.mail_delivery.await;
        if let Some((task, path)) = self.control {
            task.abort();
            let _ = task.await;
            let _ = std::fs::remove_file(path);
        }
        drop(self.state);
        tracing::info!("keygate stopped: requests finished, store closed");
        served
    }
}
