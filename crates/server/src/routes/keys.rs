//! The keys of an API: another key (shown once) and a revocation.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use keygate_domain::apis::{ApiKey, IssuedKey, KeyRequest};
use serde_json::{json, Value};

use super::respond::{success, timestamp};
use super::{ContractRoute, DOC, ROUTE};
use crate::error::ApiError;
use crate::extract::{Authenticated, Deferred, OptionalJsonBody};
use crate::openapi::Doc;
use crate::state::AppState;

/// A key as its owner sees it: never its secret.
pub(super) fn key_view(key: &ApiKey) -> Value {
    json!({
        "key_id": key.id.as_str(),
        "prefix": key.prefix(),
        "scopes": key.scopes.to_vec(),
        "created_at": timestamp(key.created_at),
        "expires_at": key.expires_at.map(timestamp),
        "revoked": key.revoked_at.is_some(),
        "revoked_at": key.revoked_at.map(timestamp),
    })
}

/// A key just issued: its text, shown this once.
fn issued_view(issued: &IssuedKey) -> Value {
    let mut view = key_view(&issued.key);
    view["api_key"] = Value::from(issued.text.as_str());
    view
}

/// `POST /api/{api}/keys` `{"scopes"?, "expires_at"?}`: another key, shown once.
pub async fn issue_key(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    api: web::Path<String>,
    body: Deferred<OptionalJsonBody<KeyRequest>>,
) -> Result<HttpResponse, ApiError> {
    let OptionalJsonBody(form) = body.get()?;
    let spec = form.unwrap_or_default().parse()?;
    let issued = state.keygate.apis.issue_key(&principal, &api, spec).await?;
    let mut view = issued_view(&issued);
    view["message"] = Value::from("API key issued");
    Ok(success(StatusCode::CREATED, view))
}

/// `DELETE /api/{api}/keys/{key_id}`: revokes a key.
pub async fn revoke_key(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (api, key_id) = path.into_inner();
    let key = state
        .keygate
        .apis
        .revoke_key(&principal, &api, &key_id)
        .await?;
    let mut view = key_view(&key);
    view["message"] = Value::from("API key revoked");
    Ok(success(StatusCode::OK, view))
}

/// The key routes, in matching order (before the record routes: `keys` is no endpoint name).
pub(super) fn routes() -> Vec<ContractRoute> {
    use super::Verb::{Delete, Post};
    use crate::openapi::Auth::Token;
    vec![
        ContractRoute {
            methods: &[Post],
            path: "/api/{api}/keys",
            handler: |r| r.to(issue_key),
            doc: Doc {
                summary: "Issues another key (shown once)",
                tag: "apis",
                auth: Token,
                body: Some(schema::key_body),
                success: 201,
                response: schema::key,
                errors: &[404],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Delete],
            path: "/api/{api}/keys/{key_id}",
            handler: |r| r.to(revoke_key),
            doc: Doc {
                summary: "Revokes a key",
                tag: "apis",
                auth: Token,
                response: schema::key,
                errors: &[404],
                ..DOC
            },
            ..ROUTE
        },
    ]
}

/// The JSON Schemas of this section's bodies, for `/openapi.json`.
pub(super) mod schema {
    use crate::routes::bodies::{success_with, TIME};
    use serde_json::{json, Value};

    /// A key as listed: never its secret.
    pub(in crate::routes) fn key_item() -> Value {
        json!({"type": "object", "required": ["key_id", "prefix", "scopes", "revoked"], "properties": {
            "key_id": {"type": "string"}, "prefix": {"type": "string"},
            "scopes": {"type": "array", "items": {"enum": ["read", "write"]}},
            "created_at": {"type": "string", "format": TIME},
            "expires_at": {"type": ["string", "null"], "format": TIME},
            "revoked": {"type": "boolean"}
        }, "not": {"required": ["api_key"]}})
    }

    /// `POST /api/{api}/keys`.
    pub(super) fn key_body() -> Value {
        json!({
            "type": "object",
            "properties": {
                "scopes": {"type": "array", "minItems": 1, "items": {"enum": ["read", "write"]}},
                "expires_at": {"type": ["string", "null"], "format": TIME, "description": "in the future"}
            }
        })
    }

    /// A key as issued (shown once) or revoked.
    pub(super) fn key() -> Value {
        success_with(
            json!({"key_id": {"type": "string"}, "api_key": {"type": "string"}, "prefix": {"type": "string"},
                   "scopes": {"type": "array", "items": {"type": "string"}}}),
            &[],
        )
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::routes::bodies::admits;

        #[actix_web::test]
        async fn a_key_body_needs_a_scope_when_it_names_scopes() {
            assert!(admits(key_body(), json!({"scopes": ["read"]})).await);
            assert!(admits(key_body(), json!({})).await);
            assert!(!admits(key_body(), json!({"scopes": []})).await);
            assert!(!admits(key_body(), json!({"scopes": ["admin"]})).await);
        }
    }
}
