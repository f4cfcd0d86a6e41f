//! Building the application from settings: store, adapters, services, HTTP server.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, Condition};
use actix_web::{web, App, HttpServer};

use crate::config::Settings;
use crate::cors::CorsOrigins;
use crate::error::ApiError;
use crate::extract::{BodyLimit, BodyTimeout};
use crate::maintenance::Upkeep;
use crate::routes;
use crate::state::AppState;

mod adapters;
mod app_state;
mod error;
mod listeners;

pub use adapters::{build_keygate, open_store};
pub use error::StartupError;

use app_state::build_state;
use listeners::{metrics_server, no_store_headers, stop_signal, trusted_proxies};

/// A built, bound, not yet running server.
pub struct Application {
    server: Server,
    port: u16,
    /// The `metrics.listen` server and its port, when one is configured.
    metrics_server: Option<(Server, std::net::SocketAddr)>,
    state: web::Data<AppState>,
    /// The background tasks, stopped after the last request.
    upkeep: Upkeep,
    shutdown_timeout_secs: u64,
}

impl Application {
    /// Wires everything the settings call for and binds the listener (port 0 picks a free one).
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let (state, description) = build_state(&settings).await?;
        let upkeep = Upkeep::start(&state.keygate, &settings);
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
            upkeep,
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
        // The workers are gone; with the background tasks and this handle goes the last
        // reference to the store, which drains its writer and closes.
        self.upkeep.stop().await;
        drop(self.state);
        tracing::info!("keygate stopped: requests finished, store closed");
        served
    }
}
