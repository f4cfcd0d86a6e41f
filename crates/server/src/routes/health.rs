//! Liveness and readiness.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::Utc;
use serde_json::json;

use super::respond::{success, timestamp};
use crate::error::ApiError;
use crate::state::AppState;

/// `GET /health`: 200 with the time; touches no database. Answers: 200.
pub async fn health() -> HttpResponse {
    success(
        StatusCode::OK,
        json!({"message": "OK", "timestamp": timestamp(Utc::now())}),
    )
}

/// `GET /ready`: 200 when the store answers. Answers: 200, 503.
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.store_probe.ping().await?;
    Ok(success(
        StatusCode::OK,
        json!({"message": "ready", "timestamp": timestamp(Utc::now())}),
    ))
}
