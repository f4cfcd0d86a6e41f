//! Success responses: the contract's `"status": "success"` beside the data.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

/// A success body: `fields` with `"status": "success"` in front.
pub fn success(status: StatusCode, fields: Value) -> HttpResponse {
    let mut body = Map::new();
    body.insert("status".into(), Value::from("success"));
    if let Value::Object(fields) = fields {
        body.extend(fields);
    }
    HttpResponse::build(status).json(Value::Object(body))
}

/// A timestamp as RFC 3339 UTC with millisecond precision (`2026-01-01T00:00:00.000Z`).
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}
