//! JSON Schemas of request and response bodies, for the OpenAPI description (`/openapi.json`).

use keygate_domain::accounts::{Age, Email, Gender, Password, PersonName, Username};
use keygate_domain::apis::{DisplayName, EndpointName, MAX_ENDPOINTS};
use keygate_domain::data::DataKey;
use serde_json::{json, Value};

fn success_with(properties: Value, required: &[&str]) -> Value {
    let mut properties = properties;
    properties["status"] = json!({"const": "success"});
    let mut required: Vec<&str> = required.to_vec();
    required.insert(0, "status");
    json!({"type": "object", "required": required, "properties": properties})
}

const TIME: &str = "date-time";

/// Text without control characters (Unicode Cc, as the domain refuses them).
const NO_CONTROLS: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$";

// Every limit below is the value object's own constant: the description cannot drift from
// what the domain refuses.

fn username() -> Value {
    let pattern = format!(
        "^[A-Za-z0-9_.-]{{{},{}}}$",
        Username::MIN_CHARS,
        Username::MAX_CHARS
    );
    json!({"type": "string", "pattern": pattern})
}

fn email() -> Value {
    json!({"type": "string", "format": "email", "maxLength": Email::MAX_BYTES})
}

fn new_password() -> Value {
    json!({"type": "string", "minLength": Password::MIN_CHARS, "maxLength": Password::MAX_CHARS,
           "description": "not a commonly used password, nor the username or email"})
}

fn free_text(max: usize) -> Value {
    json!({"type": ["string", "null"], "maxLength": max, "pattern": NO_CONTROLS})
}

fn age() -> Value {
    json!({"type": ["integer", "null"], "minimum": 0, "maximum": Age::MAX_YEARS})
}

/// A data key: no control characters, at most [`DataKey::MAX_CHARS`].
pub fn data_key() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": DataKey::MAX_CHARS, "pattern": NO_CONTROLS})
}

/// The reserved endpoint name in any case, as a pattern: `keys` gives `^[kK][eE][yY][sS]$`.
fn any_case(word: &str) -> String {
    let letters: String = word
        .chars()
        .map(|c| format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase()))
        .collect();
    format!("^{letters}$")
}

fn endpoint_names() -> Value {
    let pattern = format!("^[A-Za-z0-9_-]{{1,{}}}$", EndpointName::MAX_CHARS);
    json!({"type": "array", "minItems": 1, "maxItems": MAX_ENDPOINTS, "uniqueItems": true,
           "items": {"type": "string", "pattern": pattern,
                     "not": {"pattern": any_case(EndpointName::RESERVED)}}})
}

fn display_name() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": DisplayName::MAX_CHARS,
           "pattern": NO_CONTROLS})
}

/// Who is listed in `GET /users`: a username, or a whole profile for an admin.
fn user_item() -> Value {
    json!({"type": "object", "properties": {
        "id": {"type": "string"}, "username": {"type": ["string", "null"]},
        "email": {"type": ["string", "null"]}, "role": {"type": "string"}
    }})
}

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

/// `{"token"}`: a link token from a mail.
pub fn email_token_body() -> Value {
    json!({"type": "object", "required": ["token"], "properties": {"token": {"type": "string"}}})
}

/// `{"email"}` or `{"identifier"}` of a password reset request.
pub fn forgot_body() -> Value {
    json!({"type": "object", "properties": {"email": {"type": "string"}, "identifier": {"type": "string"}}})
}

/// `{"token", "new_password"}`.
pub fn reset_body() -> Value {
    json!({
        "type": "object",
        "required": ["token", "new_password"],
        "properties": {"token": {"type": "string"}, "new_password": {"type": "string"}}
    })
}

/// `{"email"}` of a login code request.
pub fn code_request_body() -> Value {
    json!({"type": "object", "required": ["email"], "properties": {"email": {"type": "string"}}})
}

/// `{"email", "code"}`.
pub fn code_login_body() -> Value {
    json!({
        "type": "object",
        "required": ["email", "code"],
        "properties": {"email": {"type": "string"}, "code": {"type": "string", "pattern": "^[0-9]{6}$"}}
    })
}

/// `POST /login/mfa`.
pub fn second_step_body() -> Value {
    json!({
        "type": "object",
        "required": ["mfa_token"],
        "properties": {
            "mfa_token": {"type": "string"},
            "code": {"type": "string", "pattern": "^[0-9]{6}$"},
            "recovery_code": {"type": "string"}
        },
        "oneOf": [{"required": ["code"]}, {"required": ["recovery_code"]}]
    })
}

/// `POST /login/passkey/start` (the body is optional).
pub fn passkey_login_start_body() -> Value {
    json!({"type": "object", "properties": {"username": {"type": "string"}}})
}

/// The second half of a passkey ceremony.
pub fn passkey_finish_body() -> Value {
    json!({
        "type": "object",
        "required": ["challenge_id", "credential"],
        "properties": {
            "challenge_id": {"type": "string"},
            "credential": {"type": "object", "description": "The PublicKeyCredential, as JSON (binary fields base64url)"},
            "name": {"type": "string", "maxLength": 64}
        }
    })
}

/// The first half of a passkey ceremony.
pub fn passkey_challenge() -> Value {
    success_with(
        json!({"challenge_id": {"type": "string"}, "options": {"type": "object"}}),
        &["challenge_id", "options"],
    )
}

/// `POST /mfa/totp/confirm`.
pub fn totp_code_body() -> Value {
    json!({
        "type": "object",
        "required": ["code"],
        "properties": {"code": {"type": "string", "pattern": "^[0-9]{6}$"}}
    })
}

/// `DELETE /mfa/totp`, `POST /mfa/recovery_codes`.
pub fn password_check_body() -> Value {
    json!({"type": "object", "required": ["password"], "properties": {"password": {"type": "string"}}})
}

/// `GET /.well-known/jwks.json`: a JWK Set (RFC 7517).
pub fn jwks() -> Value {
    json!({
        "type": "object",
        "required": ["keys"],
        "properties": {"keys": {"type": "array", "items": {
            "type": "object",
            "required": ["kty", "kid", "alg", "use"],
            "properties": {
                "kty": {"type": "string", "enum": ["OKP", "EC", "RSA"]},
                "kid": {"type": "string"},
                "alg": {"type": "string", "enum": ["EdDSA", "ES256", "RS256"]},
                "use": {"type": "string", "const": "sig"},
                "crv": {"type": "string"},
                "x": {"type": "string"},
                "y": {"type": "string"},
                "n": {"type": "string"},
                "e": {"type": "string"}
            }
        }}}
    })
}

/// `POST /token/introspect` (JSON, or form-encoded as RFC 7662 sends it).
pub fn introspect_body() -> Value {
    json!({
        "type": "object",
        "required": ["token"],
        "properties": {
            "token": {"type": "string"},
            "token_type_hint": {"type": "string"}
        }
    })
}

/// What introspection answers: `{"active": false}` alone, or the token's facts.
pub fn introspection() -> Value {
    json!({
        "type": "object",
        "required": ["active"],
        "properties": {
            "active": {"type": "boolean"},
            "token_type": {"type": "string", "enum": ["access_token", "api_key"]},
            "sub": {"type": "string"}, "sid": {"type": "string"},
            "exp": {"type": "integer"}, "iat": {"type": "integer"},
            "iss": {"type": "string"}, "aud": {"type": "string"},
            "api_id": {"type": "string"}, "api_name": {"type": "string"},
            "key_id": {"type": "string"}, "scope": {"type": "string"}
        }
    })
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
            "username": username(), "email": email(), "password": new_password(),
            "name": free_text(PersonName::MAX_CHARS), "full_name": free_text(PersonName::MAX_CHARS),
            "age": age(), "gender": free_text(Gender::MAX_CHARS)
        },
        "required": ["password"],
        "anyOf": [{"required": ["username"]}, {"required": ["email"]}]
    })
}

/// A login: one identifier and the password.
pub fn login_body() -> Value {
    json!({
        "type": "object",
        "properties": {
            "username": {"type": "string", "minLength": 1},
            "email": {"type": "string", "minLength": 1},
            "identifier": {"type": "string", "minLength": 1},
            "password": {"type": "string", "minLength": 1}
        },
        "required": ["password"],
        "anyOf": [{"required": ["username"]}, {"required": ["email"]}, {"required": ["identifier"]}]
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
            "updated_at": {"type": "string", "format": TIME},
            "email_verified": {"type": "boolean"}
        }),
        &["id", "role"],
    )
}

/// Profile changes: absent fields stay, `null` clears.
pub fn profile_body() -> Value {
    json!({
        "type": "object",
        "properties": {
            "username": {"anyOf": [username(), {"type": "null"}]},
            "email": {"anyOf": [email(), {"type": "null"}]},
            "name": free_text(PersonName::MAX_CHARS), "full_name": free_text(PersonName::MAX_CHARS),
            "age": age(), "gender": free_text(Gender::MAX_CHARS)
        }
    })
}

/// `PUT /profile/password`.
pub fn password_body() -> Value {
    json!({
        "type": "object",
        "properties": {"current_password": {"type": "string"}, "new_password": new_password()},
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
        json!({"users": {"type": "array", "items": user_item()}, "next_cursor": {"type": ["string", "null"]}}),
        &["users"],
    )
}

/// `POST /api/data`.
pub fn entry_body() -> Value {
    json!({"type": "object", "properties": {"key": data_key(), "value": {}}, "required": ["key", "value"]})
}

/// `PUT /api/data/{key}`.
pub fn value_body() -> Value {
    json!({"type": "object", "properties": {"value": {}}, "required": ["value"]})
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
        json!({"entries": {"type": "array", "items": {"type": "object", "required": ["key"], "properties": {
            "key": {"type": "string"},
            "created_at": {"type": "string", "format": TIME},
            "updated_at": {"type": "string", "format": TIME}
        }}}, "next_cursor": {"type": ["string", "null"]}}),
        &["entries"],
    )
}

/// `POST /create_api`.
pub fn api_body() -> Value {
    json!({
        "type": "object",
        "properties": {
            "api_name": display_name(),
            "endpoints": endpoint_names(),
            "json_schema": {"type": "object", "description": "one JSON Schema per endpoint",
                "additionalProperties": {"type": ["object", "boolean"]}}
        },
        "required": ["api_name", "endpoints", "json_schema"]
    })
}

/// `PATCH /api/{api}`.
pub fn api_changes_body() -> Value {
    json!({
        "type": "object",
        "properties": {
            "display_name": display_name(),
            "endpoints": endpoint_names(),
            "json_schema": {"type": "object", "additionalProperties": {"type": ["object", "boolean"]}}
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
            "json_schema": {"type": "object"}, "keys": {"type": "array", "items": key_item()},
            "created_at": {"type": "string", "format": TIME}
        }),
        &["api_id", "api_name"],
    )
}

/// A key as listed: never its secret.
fn key_item() -> Value {
    json!({"type": "object", "required": ["key_id", "prefix", "scopes", "revoked"], "properties": {
        "key_id": {"type": "string"}, "prefix": {"type": "string"},
        "scopes": {"type": "array", "items": {"enum": ["read", "write"]}},
        "created_at": {"type": "string", "format": TIME},
        "expires_at": {"type": ["string", "null"], "format": TIME},
        "revoked": {"type": "boolean"}
    }, "not": {"required": ["api_key"]}})
}

/// An API as listed.
fn api_item() -> Value {
    json!({"type": "object", "required": ["api_id", "api_name", "endpoints"], "properties": {
        "api_id": {"type": "string"}, "api_name": {"type": "string"},
        "display_name": {"type": "string"},
        "endpoints": {"type": "array", "items": {"type": "string"}},
        "json_schema": {"type": "object"}, "keys": {"type": "array", "items": key_item()},
        "created_at": {"type": "string", "format": TIME}
    }})
}

/// `GET /api`.
pub fn apis() -> Value {
    success_with(
        json!({"apis": {"type": "array", "items": api_item()}, "next_cursor": {"type": ["string", "null"]}}),
        &["apis"],
    )
}

/// `POST /api/{api}/keys`.
pub fn key_body() -> Value {
    json!({
        "type": "object",
        "properties": {
            "scopes": {"type": "array", "minItems": 1, "items": {"enum": ["read", "write"]}},
            "expires_at": {"type": ["string", "null"], "format": TIME, "description": "in the future"}
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
        json!({"records": {"type": "array", "items": {"type": "object", "required": ["record_id", "data"], "properties": {
            "record_id": {"type": "string"}, "data": {"type": "object"},
            "created_at": {"type": "string", "format": TIME},
            "updated_at": {"type": "string", "format": TIME}
        }}}, "next_cursor": {"type": ["string", "null"]}}),
        &["records"],
    )
}

#[cfg(test)]
mod tests {
    use keygate_domain::schema::SchemaValidator;
    use keygate_jsonschema::JsonSchemaValidator;

    use super::*;

    /// Whether `document` is valid for `schema`, by Keygate's own validator.
    async fn admits(schema: Value, document: Value) -> bool {
        JsonSchemaValidator::default()
            .compile(&schema)
            .await
            .unwrap_or_else(|errors| panic!("{schema} is no schema: {errors:?}"))
            .violations(&document)
            .is_empty()
    }

    #[actix_web::test]
    async fn documented_bodies_admit_the_contracts_examples_and_refuse_what_the_domain_refuses() {
        // The three earlier systems' registrations (compat 000, 002, 004).
        for body in [
            json!({"name": "Ann", "email": "ann@example.com", "password": "long-enough-1"}),
            json!({"username": "ann_b", "email": "ann@example.com", "password": "long-enough-1",
                   "full_name": "Ann B", "age": 33, "gender": "f"}),
            json!({"username": "ann.b", "password": "long-enough-1"}),
        ] {
            assert!(admits(register_body(), body.clone()).await, "{body}");
        }
        for body in [
            json!({"password": "long-enough-1"}),
            json!({"username": "an", "password": "long-enough-1"}),
            json!({"username": "ann", "password": "short"}),
            json!({"username": "ann", "password": "long-enough-1", "age": 151}),
            json!({"username": "ann", "password": "long-enough-1", "gender": "a\u{7}b"}),
        ] {
            assert!(!admits(register_body(), body.clone()).await, "{body}");
        }
        assert!(admits(login_body(), json!({"identifier": "ann", "password": "x"})).await);
        assert!(!admits(login_body(), json!({"password": "x"})).await);
        assert!(!admits(login_body(), json!({"email": "", "password": "x"})).await);

        assert!(admits(entry_body(), json!({"key": "k", "value": null})).await);
        assert!(!admits(entry_body(), json!({"key": "k"})).await);
        assert!(!admits(entry_body(), json!({"key": "a\nb", "value": 1})).await);
        assert!(!admits(value_body(), json!({})).await);
        assert!(admits(key_body(), json!({"scopes": ["read"]})).await);
        assert!(!admits(key_body(), json!({"scopes": []})).await);

        let example = json!({"api_name": "My API", "endpoints": ["endpoint1", "endpoint2"],
            "json_schema": {"endpoint1": {"type": "object"}, "endpoint2": {"type": "object"}}});
        assert!(admits(api_body(), example).await);
        for endpoints in [
            json!([]),
            json!(["keys"]),
            json!(["KEYS"]),
            json!(["Keys"]),
            json!(["a b"]),
            json!(["a", "a"]),
        ] {
            let body = json!({"api_name": "x", "endpoints": endpoints, "json_schema": {}});
            assert!(!admits(api_body(), body.clone()).await, "{body}");
        }
    }
}
