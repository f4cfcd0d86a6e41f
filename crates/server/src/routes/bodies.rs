//! The parts of body schemas (for `/openapi.json`) that more than one section uses; each
//! section's own bodies are in its route file's `schema` module.

use keygate_domain::accounts::{Age, Email, Password, Username};
use serde_json::{json, Value};

/// `{"status": "success", …properties}`, with `status` and `required` required.
pub(super) fn success_with(properties: Value, required: &[&str]) -> Value {
    let mut properties = properties;
    properties["status"] = json!({"const": "success"});
    let mut required: Vec<&str> = required.to_vec();
    required.insert(0, "status");
    json!({"type": "object", "required": required, "properties": properties})
}

/// The `format` of a timestamp.
pub(super) const TIME: &str = "date-time";

/// Text without control characters (Unicode Cc, as the domain refuses them).
pub(super) const NO_CONTROLS: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$";

/// A username, within [`Username`]'s own limits.
pub(super) fn username() -> Value {
    let pattern = format!(
        "^[A-Za-z0-9_.-]{{{},{}}}$",
        Username::MIN_CHARS,
        Username::MAX_CHARS
    );
    json!({"type": "string", "pattern": pattern})
}

/// An email address, within [`Email::MAX_BYTES`].
pub(super) fn email() -> Value {
    json!({"type": "string", "format": "email", "maxLength": Email::MAX_BYTES})
}

/// A new password, within [`Password`]'s own limits.
pub(super) fn new_password() -> Value {
    json!({"type": "string", "minLength": Password::MIN_CHARS, "maxLength": Password::MAX_CHARS,
           "description": "not a commonly used password, nor the username or email"})
}

/// `{"status":"success","message"}` with anything else.
pub fn message() -> Value {
    success_with(json!({"message": {"type": "string"}}), &[])
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

/// A sensitive change's body (§12): the current password, optional when the session's login
/// was within `auth.reauth_window_secs`; the body itself may be absent.
pub(super) fn password_check() -> Value {
    json!({"type": "object", "properties": {"password": {"type": "string", "description":
        "the current password; needed when the login is older than auth.reauth_window_secs (§12)"}}})
}

/// Optional text without control characters, at most `max` characters.
pub(super) fn free_text(max: usize) -> Value {
    json!({"type": ["string", "null"], "maxLength": max, "pattern": NO_CONTROLS})
}
/// An optional age in years.
pub(super) fn age() -> Value {
    json!({"type": ["integer", "null"], "minimum": 0, "maximum": Age::MAX_YEARS})
}

/// Whether `document` is valid for `schema`, by Keygate's own validator: the sections' tests
/// check their documented bodies with it.
#[cfg(test)]
pub(super) async fn admits(schema: Value, document: Value) -> bool {
    use keygate_domain::schema::SchemaValidator;
    keygate_jsonschema::JsonSchemaValidator::default()
        .compile(&schema)
        .await
        .unwrap_or_else(|errors| panic!("{schema} is no schema: {errors:?}"))
        .violations(&document)
        .is_empty()
}
