//! What other services need to trust Keygate's tokens (§7): the published keys, and
//! introspection for those that must see a logout at once.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use keygate_domain::apis::Scope;
use keygate_domain::introspection::Introspection;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{ContractRoute, DOC, ROUTE};
use crate::error::ApiError;
use crate::extract::{Deferred, JsonOrFormBody};
use crate::openapi::Doc;
use crate::state::AppState;

/// How long a client may cache the key set: a new key is published at least
/// `auth.signing.publish_ahead_secs` (default 900) before it signs, three times this.
pub const JWKS_MAX_AGE_SECS: u64 = 300;

/// `GET /.well-known/jwks.json`: every public key that may have signed a live token, and the
/// next one; empty under HS256. Cacheable, with an `ETag` for conditional requests.
pub async fn jwks(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    let published = state.keygate.signing.published();
    let keys: Vec<Value> = published
        .at(Utc::now())
        .map(|key| {
            let mut jwk = match serde_json::to_value(&key.public) {
                Ok(Value::Object(members)) => members,
                _ => Map::new(),
            };
            jwk.insert("kid".into(), json!(key.kid));
            jwk.insert("alg".into(), json!(key.algorithm.as_str()));
            jwk.insert("use".into(), json!("sig"));
            Value::Object(jwk)
        })
        .collect();
    let body = json!({ "keys": keys }).to_string();
    let digest = Sha256::digest(body.as_bytes());
    let etag = format!("\"{}\"", hex_prefix(&digest));
    let cache_control = format!("public, max-age={JWKS_MAX_AGE_SECS}");
    let unchanged = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .map(|tag| tag.trim().trim_start_matches("W/"))
                .any(|tag| tag == etag || tag == "*")
        });
    let mut response = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::CACHE_CONTROL, cache_control))
        .insert_header((header::ETAG, etag.clone()));
    if unchanged {
        response.finish()
    } else {
        response.content_type("application/json").body(body)
    }
}

/// The first 16 bytes of a digest in hex: plenty to tell key sets apart.
fn hex_prefix(digest: &[u8]) -> String {
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// The body of `POST /token/introspect` (RFC 7662 §2.1); `token_type_hint` is accepted and,
/// as the RFC allows, not needed.
#[derive(Debug, Deserialize)]
pub struct IntrospectionForm {
    token: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    token_type_hint: Option<String>,
}

/// `POST /token/introspect`: 404 unless `auth.introspection_token` is set, 401 without it;
/// `{"active": false}` and nothing more for every token that is not a live access token or a
/// usable API key.
pub async fn introspect(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: Deferred<JsonOrFormBody<IntrospectionForm>>,
) -> Result<HttpResponse, ApiError> {
    let Some(access) = state.introspection.as_ref() else {
        return Err(ApiError::not_found());
    };
    let presented = bearer(&request).unwrap_or_default();
    if !bool::from(presented.as_bytes().ct_eq(access.token.as_bytes())) {
        return Err(ApiError::unauthorized());
    }
    let JsonOrFormBody(form) = body.get()?;
    let Some(token) = form.token else {
        return Err(ApiError::validation("token", "is required"));
    };
    let answer = match state.keygate.introspection.introspect(&token).await? {
        Introspection::Inactive => json!({"active": false}),
        Introspection::AccessToken(claims) => json!({
            "active": true,
            "token_type": "access_token",
            "sub": claims.user_id.to_string(),
            "sid": claims.session_id.to_string(),
            "exp": claims.expires_at.timestamp(),
            "iat": claims.issued_at.timestamp(),
            "iss": access.issuer,
            "aud": access.audience,
        }),
        Introspection::ApiKey { key, api } => {
            let scope: Vec<&str> = Vec::<Scope>::from(key.scopes)
                .into_iter()
                .map(Scope::as_str)
                .collect();
            let mut answer = json!({
                "active": true,
                "token_type": "api_key",
                "api_id": api.id.to_string(),
                "api_name": api.name.as_str(),
                "key_id": key.id.to_string(),
                "scope": scope.join(" "),
            });
            if let Some(expires_at) = key.expires_at {
                answer["exp"] = json!(expires_at.timestamp());
            }
            answer
        }
    };
    Ok(HttpResponse::Ok().json(answer))
}

/// The bearer credential as sent, API-key-looking or not (the introspection secret is
/// whatever the operator chose).
fn bearer(request: &HttpRequest) -> Option<String> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|token| !token.is_empty())
}

/// The token (§7) routes, in matching order.
pub(super) fn routes() -> Vec<ContractRoute> {
    use super::Verb::{Get, Post};
    use crate::openapi::Auth::IntrospectionToken;
    vec![
    ContractRoute {
        methods: &[Get],
        with_head: true,
        path: "/.well-known/jwks.json",
        handler: |r| r.to(jwks),
        doc: Doc {
            summary: "The public keys that verify access tokens (empty under HS256); cacheable",
            tag: "tokens",
            response: schema::jwks,
            store: false,
            ..DOC
        },
        ..ROUTE
    },
    ContractRoute {
        methods: &[Post],
        path: "/token/introspect",
        handler: |r| r.to(introspect),
        doc: Doc {
            summary: "RFC 7662: whether a token or API key is live (404 unless auth.introspection_token is set)",
            tag: "tokens",
            auth: IntrospectionToken,
            body: Some(schema::introspect_body),
            response: schema::introspection,
            errors: &[401, 404],
            ..DOC
        },
        ..ROUTE
    },
    ]
}

/// The JSON Schemas of this section's bodies, for `/openapi.json`; each limit is the value
/// object's own constant, so the description cannot drift from what the domain refuses.
mod schema {
    use serde_json::{json, Value};

    /// `GET /.well-known/jwks.json`: a JWK Set (RFC 7517).
    pub(super) fn jwks() -> Value {
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
    pub(super) fn introspect_body() -> Value {
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
    pub(super) fn introspection() -> Value {
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
}
