//! Liveness, readiness and metrics.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde_json::json;

use super::respond::{success, timestamp};
use subtle::ConstantTimeEq;

use super::{ContractRoute, DOC, ROUTE};
use crate::error::ApiError;
use crate::metrics::ServiceReadings;
use crate::openapi::Doc;
use crate::state::AppState;

/// `GET /health`: 200 with the time; touches no database.
pub async fn health() -> HttpResponse {
    success(
        StatusCode::OK,
        json!({"message": "OK", "timestamp": timestamp(Utc::now())}),
    )
}

/// `GET /ready`: 200 when the store answers.
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.store_probe.ping().await?;
    Ok(success(
        StatusCode::OK,
        json!({"message": "ready", "timestamp": timestamp(Utc::now())}),
    ))
}

/// On the API listener: whether `metrics.listen` serves `/metrics` on another address instead.
#[derive(Debug, Clone, Copy)]
pub struct MetricsElsewhere(pub bool);

/// `GET /metrics`: Prometheus text. 404 when `metrics.enabled` is false; 401 without the
/// bearer token when `metrics.token` is set.
pub async fn metrics(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if !state.metrics.enabled || request.app_data::<MetricsElsewhere>().is_some_and(|m| m.0) {
        return Err(ApiError::not_found());
    }
    if let Some(expected) = state.metrics.token.as_ref().filter(|t| !t.is_empty()) {
        let presented = crate::extract::access_token(request.headers()).unwrap_or_default();
        if !bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) {
            return Err(ApiError::unauthorized());
        }
    }
    let (hashing_started, hashing_waited) = state.hasher.queue_wait_totals();
    let refusals = state.keygate.throttle.refusals();
    let readings = ServiceReadings {
        hashing_waiting: state.hasher.waiting(),
        hashing_started,
        hashing_waited,
        live_sessions_cached: state.keygate.authenticator.live_sessions_cached(),
        throttled_logins: refusals.logins,
        throttled_registrations: refusals.registrations,
        unknown_login_failures: state.keygate.audit_trail.unknown_login_failures(),
        mail: state.keygate.mail.counts(),
    };
    let mut text = state.http_metrics.render(&readings);
    state.store_metrics.render(&mut text);
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}

/// The operations routes, in matching order.
pub(super) fn routes() -> Vec<ContractRoute> {
    use super::Verb::Get;
    use crate::openapi::Auth::MetricsToken;
    vec![
    ContractRoute {
        methods: &[Get],
        with_head: true,
        path: "/health",
        handler: |r| r.to(health),
        doc: Doc {
            summary: "Liveness; touches no database",
            tag: "operations",
            response: schema::health,
            store: false,
            ..DOC
        },
        ..ROUTE
    },
    ContractRoute {
        methods: &[Get],
        with_head: true,
        path: "/ready",
        handler: |r| r.to(ready),
        doc: Doc {
            summary: "Readiness: 200 when the store answers",
            tag: "operations",
            response: schema::health,
            ..DOC
        },
        ..ROUTE
    },
    ContractRoute {
        methods: &[Get],
        with_head: true,
        path: "/metrics",
        handler: |r| r.to(metrics),
        doc: Doc {
            summary: "Prometheus metrics (404 when disabled, or when metrics.listen serves them elsewhere)",
            tag: "operations",
            auth: MetricsToken,
            response: schema::metrics,
            media_type: "text/plain",
            errors: &[404],
            store: false,
            ..DOC
        },
        ..ROUTE
    },
    ContractRoute {
        methods: &[Get],
        path: "/openapi.json",
        handler: |r| r.to(super::openapi_document),
        doc: Doc {
            summary: "This OpenAPI 3.1 document",
            tag: "operations",
            response: schema::openapi,
            store: false,
            ..DOC
        },
        ..ROUTE
    },
    ]
}

/// The JSON Schemas of this section's bodies, for `/openapi.json`; each limit is the value
/// object's own constant, so the description cannot drift from what the domain refuses.
mod schema {
    use crate::routes::bodies::{success_with, TIME};
    use serde_json::{json, Value};

    /// `/health` and `/ready`.
    pub(super) fn health() -> Value {
        success_with(
            json!({"message": {"type": "string"}, "timestamp": {"type": "string", "format": TIME}}),
            &["message", "timestamp"],
        )
    }

    /// Prometheus text is not JSON; described as a string.
    pub(super) fn metrics() -> Value {
        json!({"type": "string", "description": "Prometheus text exposition format 0.0.4 (text/plain)"})
    }

    /// The OpenAPI document itself.
    pub(super) fn openapi() -> Value {
        json!({"type": "object", "description": "this document"})
    }
}
