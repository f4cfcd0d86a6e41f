//! The listeners' parts: trusted proxies, the separate metrics listener, the headers every
//! response carries, and the signals that stop the server.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, App, HttpServer};

use super::error::StartupError;
use crate::config::InvalidSetting;
use crate::extract::{Network, TrustedProxies};
use crate::routes;
use crate::state::AppState;

/// `server.trusted_proxies`, parsed; a start-up error names the first entry that is no
/// address or CIDR.
pub(super) fn trusted_proxies(entries: &[String]) -> Result<TrustedProxies, InvalidSetting> {
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

/// The `metrics.listen` server: `/metrics` alone, on one worker (a scrape every few seconds
/// needs no more), with the same state as the API.
pub(super) fn metrics_server(
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
pub(super) fn no_store_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CACHE_CONTROL, "no-store"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
}

/// Waits for SIGTERM or SIGINT (Ctrl-C) and names it.
pub(super) async fn stop_signal() -> &'static str {
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
