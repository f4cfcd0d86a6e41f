//! `GET /openapi.json`: an OpenAPI 3.1 description generated from the route table itself
//! (`routes::operations`), so no route can be served without being described. Each operation
//! names its body, its success shape and every status it can answer; the statuses every route
//! of a kind shares (a JSON body: 408, 413, 415; the store: 503) are added here.

use serde_json::{json, Map, Value};

use crate::request_id::route_template;

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Anyone.
    Public,
    /// An access token (bearer JWT).
    Token,
    /// An API key of the API, or its owner's access token.
    KeyOrToken,
    /// `metrics.token` when one is set.
    MetricsToken,
    /// `auth.introspection_token`.
    IntrospectionToken,
}

/// The description of one operation.
#[derive(Debug, Clone, Copy)]
pub struct Doc {
    /// One line: what it does.
    pub summary: &'static str,
    /// Its group in the document.
    pub tag: &'static str,
    /// Who may call it.
    pub auth: Auth,
    /// The JSON Schema of its body, if it takes one.
    pub body: Option<fn() -> Value>,
    /// Its success status.
    pub success: u16,
    /// The JSON Schema of its success body.
    pub response: fn() -> Value,
    /// The media type of its success body (`application/json` but for `/metrics`).
    pub media_type: &'static str,
    /// The error statuses particular to it (common ones are added by kind).
    pub errors: &'static [u16],
    /// Whether it reads or writes the store (adds 503).
    pub store: bool,
    /// Query parameters: (name, description).
    pub query: &'static [(&'static str, &'static str)],
}

/// An operation as the table registers it: method, actix path and description.
pub struct Described<'a> {
    /// `get`, `post`, … (lower case, as OpenAPI keys them).
    pub method: &'a str,
    /// The actix path (`/api/data/{key:.*}`).
    pub path: &'a str,
    /// Its summary (the route's, or marked for an alias or `HEAD`).
    pub summary: &'a str,
    /// Its description.
    pub doc: &'a Doc,
}

fn error_reason(status: u16) -> &'static str {
    match status {
        400 => "invalid JSON or a broken rule (`invalid_json`, `validation_failed`, `missing_parameters`)",
        401 => "missing, invalid or expired credentials",
        403 => "not allowed: the API key may not do this (another API's key, a missing scope), the address is not verified (`email_unverified`), or the change needs a fresh proof (`reauthentication_required`: the current password or a recent login, §12)",
        404 => "not found, or not the caller's",
        408 => "the body did not arrive within `server.body_timeout_secs`",
        409 => "a conflict (`email_taken`, `username_taken`, `key_exists`, a concurrent change)",
        413 => "the body is too large, or the account's quota is full (`quota_exceeded`)",
        415 => "the body is not `application/json`",
        429 => "throttled; `Retry-After` says when to try again",
        503 => "the store cannot answer, or too many password hashes are waiting (`Retry-After`)",
        _ => "error",
    }
}

fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["status", "code", "message"],
        "properties": {
            "status": {"const": "error"},
            "code": {"type": "string"},
            "message": {"type": "string"},
            "error": {"type": "string", "description": "the message again (earlier clients read it here)"},
            "details": {"type": "array", "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}}
            }}
        }
    })
}

fn statuses(doc: &Doc) -> Vec<u16> {
    let mut codes: Vec<u16> = doc.errors.to_vec();
    if doc.body.is_some() {
        codes.extend([400, 408, 413, 415]);
    }
    if doc.store {
        codes.push(503);
    }
    if doc.auth != Auth::Public {
        codes.push(401);
    }
    codes.sort_unstable();
    codes.dedup();
    codes
}

fn parameters(path: &str, doc: &Doc) -> Vec<Value> {
    let mut parameters: Vec<Value> = path
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    for (name, description) in doc.query {
        // Every page size is 1..=500 (`PageRequest`); other parameters are text.
        let schema = if *name == "limit" {
            json!({"type": "integer", "minimum": 1, "maximum": keygate_domain::paging::MAX_PAGE_SIZE})
        } else {
            json!({"type": "string"})
        };
        parameters.push(json!({
            "name": name, "in": "query", "required": false,
            "description": description, "schema": schema
        }));
    }
    parameters
}

fn operation(path: &str, summary: &str, doc: &Doc) -> Value {
    let mut responses = Map::new();
    responses.insert(
        doc.success.to_string(),
        json!({
            "description": "success",
            "content": {doc.media_type: {"schema": (doc.response)()}}
        }),
    );
    for status in statuses(doc) {
        responses.insert(
            status.to_string(),
            json!({
                "description": error_reason(status),
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
            }),
        );
    }
    let mut operation = json!({
        "summary": summary,
        "tags": [doc.tag],
        "parameters": parameters(path, doc),
        "responses": responses,
    });
    let security = match doc.auth {
        Auth::Public => json!([]),
        Auth::Token | Auth::MetricsToken | Auth::IntrospectionToken => {
            json!([{"bearerAuth": []}])
        }
        Auth::KeyOrToken => json!([{"apiKey": []}, {"bearerAuth": []}]),
    };
    operation["security"] = security;
    if let Some(body) = doc.body {
        operation["requestBody"] = json!({
            "required": true,
            "content": {"application/json": {"schema": body()}}
        });
    }
    operation
}

/// The whole document for `operations`, each served at the root and under `/v1`.
pub fn document<'a>(operations: impl IntoIterator<Item = Described<'a>>) -> Value {
    let mut paths = Map::new();
    for described in operations {
        let template = route_template(described.path);
        for prefix in ["", "/v1"] {
            let item = paths
                .entry(format!("{prefix}{template}"))
                .or_insert_with(|| json!({}));
            item[described.method] = operation(&template, described.summary, described.doc);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Keygate",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Accounts, sessions, private data and user-defined JSON APIs. Every \
                route is also served under /v1. Errors share one envelope."
        },
        "paths": paths,
        "components": {
            "schemas": {"Error": error_schema()},
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "An access token from POST /login (also accepted as X-Access-Token)"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                    "description": "A key of the API (kg_…), for its record routes"}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object() -> Value {
        json!({"type": "object"})
    }

    fn doc() -> Doc {
        Doc {
            summary: "Reads one entry",
            tag: "data",
            auth: Auth::Token,
            body: None,
            success: 200,
            response: object,
            media_type: "application/json",
            errors: &[404],
            store: true,
            query: &[],
        }
    }

    #[test]
    fn every_operation_appears_at_the_root_and_under_v1_with_its_statuses() {
        let document = document([Described {
            method: "get",
            path: "/api/data/{key:.*}",
            summary: "Reads one entry",
            doc: &doc(),
        }]);
        for path in ["/api/data/{key}", "/v1/api/data/{key}"] {
            let operation = &document["paths"][path]["get"];
            let codes: Vec<&String> = operation["responses"]
                .as_object()
                .expect("responses")
                .keys()
                .collect();
            assert_eq!(codes, ["200", "401", "404", "503"], "{path}");
            assert_eq!(operation["parameters"][0]["name"], "key");
            assert_eq!(operation["security"][0]["bearerAuth"], json!([]));
        }
    }
}
