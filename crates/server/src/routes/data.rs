//! Handlers of the per-user key-value store, `/api/data`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use keygate_domain::data::{DataEntry, NewEntry, Replacement};
use keygate_domain::PageRequest;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::respond::{success, timestamp};
use super::{ContractRoute, DOC, ROUTE};
use crate::error::ApiError;
use crate::extract::{Authenticated, Deferred, JsonBody};
use crate::openapi::Doc;
use crate::state::AppState;

/// An entry as the data routes answer it: its key and times, and its value or a message.
#[derive(Serialize)]
struct EntryFields<'a> {
    key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a Value>,
    created_at: String,
    updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'static str>,
}

fn entry_times(entry: &DataEntry) -> EntryFields<'_> {
    EntryFields {
        key: entry.key.as_str(),
        value: None,
        created_at: timestamp(entry.created_at),
        updated_at: timestamp(entry.updated_at),
        message: None,
    }
}

/// `POST /api/data` `{"key", "value"}`; `null` is a value.
pub async fn create(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    body: Deferred<JsonBody<Map<String, Value>>>,
) -> Result<HttpResponse, ApiError> {
    let JsonBody(body) = body.get()?;
    let entry = state
        .keygate
        .data
        .create(&principal, NewEntry::parse(body)?)
        .await?;
    let mut fields = entry_times(&entry);
    fields.message = Some("Data stored");
    Ok(success(StatusCode::CREATED, fields))
}

/// `GET /api/data/{key}`.
pub async fn read(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let entry = state.keygate.data.get(&principal, &key).await?;
    let mut fields = entry_times(&entry);
    fields.value = Some(&entry.value);
    Ok(success(StatusCode::OK, fields))
}

/// `PUT /api/data/{key}` `{"value"}`.
pub async fn replace(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    key: web::Path<String>,
    body: Deferred<JsonBody<Map<String, Value>>>,
) -> Result<HttpResponse, ApiError> {
    let JsonBody(body) = body.get()?;
    let entry = state
        .keygate
        .data
        .replace(&principal, Replacement::parse(&key, body)?)
        .await?;
    let mut fields = entry_times(&entry);
    fields.message = Some("Data updated");
    Ok(success(StatusCode::OK, fields))
}

/// `DELETE /api/data/{key}`.
pub async fn delete(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.keygate.data.delete(&principal, &key).await?;
    Ok(success(
        StatusCode::OK,
        json!({"message": "Data deleted", "key": key.as_str()}),
    ))
}

/// Query of `GET /api/data`.
#[derive(Debug, Deserialize)]
pub struct DataListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
    prefix: Option<String>,
}

/// `GET /api/data?prefix=&limit=&cursor=`: the caller's keys in key order.
pub async fn list(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    query: web::Query<DataListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let page = PageRequest::new(query.limit, query.cursor)?;
    let entries = state
        .keygate
        .data
        .list(&principal, query.prefix, &page)
        .await?;
    let items: Vec<EntryFields<'_>> = entries
        .items
        .iter()
        .map(|e| EntryFields {
            key: e.key.as_str(),
            value: None,
            created_at: timestamp(e.created_at),
            updated_at: timestamp(e.updated_at),
            message: None,
        })
        .collect();
    Ok(success(
        StatusCode::OK,
        json!({"entries": items, "next_cursor": entries.next_cursor}),
    ))
}

/// The key-value data routes, in matching order.
pub(super) fn routes() -> Vec<ContractRoute> {
    use super::Verb::{Delete, Get, Post, Put};
    use crate::openapi::Auth::Token;
    vec![
        ContractRoute {
            methods: &[Post],
            path: "/api/data",
            handler: |r| r.to(create),
            doc: Doc {
                summary: "Stores a value under a new key",
                tag: "data",
                auth: Token,
                body: Some(schema::entry_body),
                success: 201,
                response: schema::entry,
                errors: &[409],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Get],
            path: "/api/data",
            handler: |r| r.to(list),
            doc: Doc {
                summary: "The caller's keys, in key order",
                tag: "data",
                auth: Token,
                response: schema::entries,
                errors: &[400],
                query: &[
                    ("limit", "page size (1 to 500, default 50)"),
                    ("cursor", "next_cursor of the previous page"),
                    ("prefix", "only keys starting with it"),
                ],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Get],
            path: "/api/data/{key:.*}",
            handler: |r| r.to(read),
            doc: Doc {
                summary: "Reads one value",
                tag: "data",
                auth: Token,
                response: schema::entry,
                errors: &[400, 404],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Put],
            path: "/api/data/{key:.*}",
            handler: |r| r.to(replace),
            doc: Doc {
                summary: "Replaces one value",
                tag: "data",
                auth: Token,
                body: Some(schema::value_body),
                response: schema::entry,
                errors: &[404],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Delete],
            path: "/api/data/{key:.*}",
            handler: |r| r.to(delete),
            doc: Doc {
                summary: "Deletes one value",
                tag: "data",
                auth: Token,
                errors: &[400, 404],
                ..DOC
            },
            ..ROUTE
        },
    ]
}

/// The JSON Schemas of this section's bodies, for `/openapi.json`; each limit is the value
/// object's own constant, so the description cannot drift from what the domain refuses.
mod schema {
    use crate::routes::bodies::{success_with, NO_CONTROLS, TIME};
    use keygate_domain::data::DataKey;
    use serde_json::{json, Value};

    /// A data key: no control characters, at most [`DataKey::MAX_CHARS`].
    pub fn data_key() -> Value {
        json!({"type": "string", "minLength": 1, "maxLength": DataKey::MAX_CHARS, "pattern": NO_CONTROLS})
    }

    /// `POST /api/data`.
    pub(super) fn entry_body() -> Value {
        json!({"type": "object", "properties": {"key": data_key(), "value": {}}, "required": ["key", "value"]})
    }

    /// `PUT /api/data/{key}`.
    pub(super) fn value_body() -> Value {
        json!({"type": "object", "properties": {"value": {}}, "required": ["value"]})
    }

    /// One data entry.
    pub(super) fn entry() -> Value {
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
    pub(super) fn entries() -> Value {
        success_with(
            json!({"entries": {"type": "array", "items": {"type": "object", "required": ["key"], "properties": {
                "key": {"type": "string"},
                "created_at": {"type": "string", "format": TIME},
                "updated_at": {"type": "string", "format": TIME}
            }}}, "next_cursor": {"type": ["string", "null"]}}),
            &["entries"],
        )
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::routes::bodies::admits;

        #[actix_web::test]
        async fn documented_bodies_refuse_what_the_domain_refuses() {
            assert!(admits(entry_body(), json!({"key": "k", "value": null})).await);
            assert!(!admits(entry_body(), json!({"key": "k"})).await);
            assert!(!admits(entry_body(), json!({"key": "a\nb", "value": 1})).await);
            assert!(!admits(value_body(), json!({})).await);
        }
    }
}
