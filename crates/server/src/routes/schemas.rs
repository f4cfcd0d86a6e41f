//! JSON Schemas of request and response bodies, for the OpenAPI description.

use serde_json::{json, Value};

fn success_with(properties: Value, required: &[&str]) -> Value {
    let mut properties = properties;
    properties["status"] = json!({"const": "success"});
    let mut required: Vec<&str> = required.to_vec();
    required.insert(0, "status");
    json!({"type": "object", "required": required, "properties": properties})
}

const TIME: &str = "date-time";

/// `{"status":"success","message"}` with anything else.
pub fn message() -> Value {
    success_with(json!({"message": {"type": "string"}}), &[])
}

/// `/health` and `/ready`.
pub fn health() -> Value {
    success_with(
        json!({"message": {"type": "string"}, "timestamp": {"type": "string", "format": TIME}}),
        &["message", "timestamp"],
    )
}

/// Prometheus text is not JSON; described as a string.
pub fn metrics() -> Value {
    json!({"type": "string", "description": "Prometheus text exposition format 0.0.4 (text/plain)"})
}

/// The OpenAPI document itself.
pub fn openapi() -> Value {
    json!({"type": "object", "description": "this document"})
}

/// A registration.
pub fn register_body() -> Value {
    json!({
        "type": "object",
        "description": "username or email (or both) and a password; optional profile fields",
        "properties": {
            "username": {"type": "string"}, "email": {"type": "string"},
            "password": {"type": "string"}, "name": {"type": ["string", "null"]},
            "full_name": {"type": ["string", "null"]}, "age": {"type": ["integer", "null"]},
            "gender": {"type": ["string", "null"]}
        },
        "required": ["password"]
    })
}

/// A login: one identifier and the password.
pub fn login_body() -> Value {
    json!({
        "type": "object",
        "properties": {
            "username": {"type": "string"}, "email": {"type": "string"},
            "identifier": {"type": "string"}, "password": {"type": "string"}
        },
        "required": ["password"]
    })
}

/// A token pair.
pub fn tokens() -> Value {
    success_with(
        json!({
            "access_token": {"type": "string"}, "refresh_token": {"type": "string"},
            "token_type": {"type": "string"}, "expires_in": {"type": "integer"}
        }),
        &["access_token", "refresh_token"],
    )
}

/// `POST /token/refresh`.
pub fn refresh_body() -> Value {
    json!({"type": "object", "properties": {"refresh_token": {"type": "string"}}, "required": ["refresh_token"]})
}

/// `POST /logout`.
pub fn logout_body() -> Value {
    json!({"type": "object", "properties": {"all": {"type": "boolean"}}})
}

/// A profile.
pub fn profile() -> Value {
    success_with(
        json!({
            "id": {"type": "string"}, "username": {"type": ["string", "null"]},
            "email": {"type": ["string", "null"]}, "name": {"type": ["string", "null"]},
            "full_name": {"type": ["string", "null"]}, "age": {"type": ["integer", "null"]},
            "gender": {"type": ["string", "null"]}, "role": {"type": "string"},
            "created_at": {"type": "string", "format": TIME},
            "updated_at": {"type": "string", "format": TIME}
        }),
        &["id", "role"],
    )
}

/// Profile changes: absent fields stay, `null` clears.
pub fn profile_body() -> Value {
    json!({
        "type": "object",
        "properties": {
            "username": {"type": ["string", "null"]}, "email": {"type": ["string", "null"]},
            "name": {"type": ["string", "null"]}, "full_name": {"type": ["string", "null"]},
            "age": {"type": ["integer", "null"]}, "gender": {"type": ["string", "null"]}
        }
    })
}

/// `PUT /profile/password`.
pub fn password_body() -> Value {
    json!({
        "type": "object",
        "properties": {"current_password": {"type": "string"}, "new_password": {"type": "string"}},
        "required": ["current_password", "new_password"]
    })
}

/// `DELETE /profile` (the password confirms).
pub fn delete_account_body() -> Value {
    json!({"type": "object", "properties": {"password": {"type": "string"}}})
}

/// `GET /users`.
pub fn users() -> Value {
    success_with(
        json!({"users": {"type": "array", "items": {"type": "object"}}, "next_cursor": {"type": ["string", "null"]}}),
        &["users"],
    )
}

/// `POST /api/data`.
pub fn entry_body() -> Value {
    json!({"type": "object", "properties": {"key": {"type": "string", "minLength": 1, "maxLength": 256}, "value": {}}, "required": ["key"]})
}

/// `PUT /api/data/{key}`.
pub fn value_body() -> Value {
    json!({"type": "object", "properties": {"value": {}}})
}

/// One data entry.
pub fn entry() -> Value {
    success_with(
        json!({
            "key": {"type": "string"}, "value": {},
            "created_at": {"type": "string", "format": TIME},
            "updated_at": {"type": "string", "format": TIME}
        }),
        &["key"],
    )
}

/// `GET /api/data`.
pub fn entries() -> Value {
    success_with(
        json!({"entries": {"type": "array", "items": {"type": "object"}}, "next_cursor": {"type": ["string", "null"]}}),
        &["entries"],
    )
}

/// `POST /create_api`.
pub fn api_body() -> Value {
    json!({
        "type": "object",
        "properties": {
            "api_name": {"type": "string"},
            "endpoints": {"type": "array", "items": {"type": "string"}},
            "json_schema": {"type": "object", "additionalProperties": {"type": ["object", "boolean"]}}
        },
        "required": ["api_name", "endpoints", "json_schema"]
    })
}

/// `PATCH /api/{api}`.
pub fn api_changes_body() -> Value {
    json!({
        "type": "object",
        "properties": {
            "display_name": {"type": "string"},
            "endpoints": {"type": "array", "items": {"type": "string"}},
            "json_schema": {"type": "object"}
        }
    })
}

/// An API as created (with its first key, shown once).
pub fn created_api() -> Value {
    success_with(
        json!({
            "api_id": {"type": "string"}, "api_name": {"type": "string"},
            "endpoints": {"type": "array", "items": {"type": "string"}},
            "api_key": {"type": "string"}, "created_at": {"type": "string", "format": TIME}
        }),
        &["api_id", "api_name", "api_key"],
    )
}

/// One API with its keys (never a secret).
pub fn api() -> Value {
    success_with(
        json!({
            "api_id": {"type": "string"}, "api_name": {"type": "string"},
            "display_name": {"type": "string"},
            "endpoints": {"type": "array", "items": {"type": "string"}},
            "json_schema": {"type": "object"}, "keys": {"type": "array", "items": {"type": "object"}}
        }),
        &["api_id", "api_name"],
    )
}

/// `GET /api`.
pub fn apis() -> Value {
    success_with(
        json!({"apis": {"type": "array", "items": {"type": "object"}}, "next_cursor": {"type": ["string", "null"]}}),
        &["apis"],
    )
}

/// `POST /api/{api}/keys`.
pub fn key_body() -> Value {
    json!({
        "type": "object",
        "properties": {
            "scopes": {"type": "array", "items": {"enum": ["read", "write"]}},
            "expires_at": {"type": ["string", "null"], "format": TIME}
        }
    })
}

/// A key as issued (shown once) or revoked.
pub fn key() -> Value {
    success_with(
        json!({"key_id": {"type": "string"}, "api_key": {"type": "string"}, "prefix": {"type": "string"},
               "scopes": {"type": "array", "items": {"type": "string"}}}),
        &[],
    )
}

/// A record body: any JSON object (validated against the endpoint's schema).
pub fn record_body() -> Value {
    json!({"type": "object", "description": "validated against the endpoint's JSON Schema"})
}

/// A created record.
pub fn created_record() -> Value {
    success_with(
        json!({"record_id": {"type": "string"}, "api_name": {"type": "string"},
               "endpoint": {"type": "string"}, "created_at": {"type": "string", "format": TIME}}),
        &["record_id"],
    )
}

/// One record.
pub fn record() -> Value {
    success_with(
        json!({"record_id": {"type": "string"}, "data": {"type": "object"},
               "created_at": {"type": "string", "format": TIME},
               "updated_at": {"type": "string", "format": TIME}}),
        &["record_id", "data"],
    )
}

/// A page of records.
pub fn records() -> Value {
    success_with(
        json!({"records": {"type": "array", "items": {"type": "object"}}, "next_cursor": {"type": ["string", "null"]}}),
        &["records"],
    )
}
