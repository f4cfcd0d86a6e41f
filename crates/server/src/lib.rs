//! Keygate's HTTP server: the thin actix-web layer over the domain services. It parses
//! requests, calls a service, and maps the result onto the contract's statuses and envelope;
//! it decides no policy. Also loads configuration and wires the adapters together.
#![warn(missing_docs)]

pub mod config;
#[cfg(unix)]
pub mod control;
pub mod cors;
pub mod docs_page;
pub mod error;
pub mod extract;
pub mod mailer;
pub mod maintenance;
pub mod metrics;
pub mod openapi;
pub mod operator;
pub mod request_id;
pub mod routes;
pub mod secret;
pub mod startup;
pub mod state;
pub mod store_metrics;
pub mod telemetry;
