//! Handlers of records, `/api/{api_name}/{endpoint}[/{record_id}]`, authorised by an API key
//! of that API or by the owner's access token.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use keygate_domain::apis::records::{Caller, EndpointAccess, Record, RecordBody};
use keygate_domain::apis::Scope;
use keygate_domain::{Error, PageRequest};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::respond::{success, timestamp};
use super::{ContractRoute, DOC, PAGING, ROUTE};
use crate::error::ApiError;
use crate::extract::{Deferred, JsonBody, RecordCaller};
use crate::openapi::Doc;
use crate::state::AppState;

/// Who may do what is decided before the body is even looked at: a bad key's 401 comes
/// before a bad body's 400.
async fn authorize(
    state: &AppState,
    caller: &Caller,
    api_name: &str,
    endpoint: &str,
    scope: Scope,
) -> Result<EndpointAccess, ApiError> {
    Ok(state
        .keygate
        .records
        .authorize(caller, api_name, endpoint, scope)
        .await?)
}

/// A record as the record routes answer it; `data` is written as its stored text, never
/// parsed or copied.
#[derive(Serialize)]
struct RecordView<'a> {
    record_id: &'a str,
    endpoint: &'a str,
    data: &'a RecordBody,
    created_at: String,
    updated_at: String,
}

fn record_view(record: &Record) -> RecordView<'_> {
    RecordView {
        record_id: record.id.as_str(),
        endpoint: record.endpoint.as_str(),
        data: &record.data,
        created_at: timestamp(record.created_at),
        updated_at: timestamp(record.updated_at),
    }
}

/// `POST /api/{api_name}/{endpoint}` with the record as body, validated against the
/// endpoint's schema.
pub async fn create(
    state: web::Data<AppState>,
    RecordCaller(caller): RecordCaller,
    path: web::Path<(String, String)>,
    body: Deferred<JsonBody<Map<String, Value>>>,
) -> Result<HttpResponse, ApiError> {
    let (api_name, endpoint) = path.into_inner();
    let access = authorize(&state, &caller, &api_name, &endpoint, Scope::Write).await?;
    let JsonBody(data) = body.get()?;
    let record = state.keygate.records.create(&access, data).await?;
    Ok(success(
        StatusCode::CREATED,
        json!({
            "message": "Record created",
            "record_id": record.id.as_str(),
            "api_name": access.api_name().as_str(),
            "endpoint": record.endpoint.as_str(),
            "created_at": timestamp(record.created_at),
        }),
    ))
}

/// `GET /api/{api_name}/{endpoint}?limit=&cursor=&sort=&fields=&count=&<field>[op]=<value>…`:
/// the query of §11; records newest first unless sorted.
pub async fn list(
    state: web::Data<AppState>,
    RecordCaller(caller): RecordCaller,
    path: web::Path<(String, String)>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let (api_name, endpoint) = path.into_inner();
    let access = authorize(&state, &caller, &api_name, &endpoint, Scope::Read).await?;
    let parameters = query.into_inner();
    let (mut limit, mut cursor) = (None, None);
    for (name, value) in &parameters {
        match name.as_str() {
            "limit" => {
                limit = Some(value.parse::<i64>().map_err(|_| {
                    Error::invalid("limit", "must be a whole number between 1 and 500")
                })?);
            }
            "cursor" => cursor = Some(value.clone()),
            _ => {}
        }
    }
    let page = PageRequest::new(limit, cursor)?;
    let listed = state
        .keygate
        .records
        .list(&access, &parameters, &page)
        .await?;
    /// Serialised straight into the body: a `json!` value would parse every record again.
    #[derive(Serialize)]
    struct RecordList<'a> {
        records: Vec<RecordView<'a>>,
        next_cursor: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        total: Option<u64>,
    }
    Ok(success(
        StatusCode::OK,
        RecordList {
            records: listed.records.items.iter().map(record_view).collect(),
            next_cursor: listed.records.next_cursor,
            total: listed.total,
        },
    ))
}

/// `GET /api/{api_name}/{endpoint}/{record_id}`.
pub async fn read(
    state: web::Data<AppState>,
    RecordCaller(caller): RecordCaller,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (api_name, endpoint, record_id) = path.into_inner();
    let access = authorize(&state, &caller, &api_name, &endpoint, Scope::Read).await?;
    let record = state.keygate.records.get(&access, &record_id).await?;
    Ok(success(StatusCode::OK, record_view(&record)))
}

/// `PUT /api/{api_name}/{endpoint}/{record_id}`: replaces the record (validated).
pub async fn replace(
    state: web::Data<AppState>,
    RecordCaller(caller): RecordCaller,
    path: web::Path<(String, String, String)>,
    body: Deferred<JsonBody<Map<String, Value>>>,
) -> Result<HttpResponse, ApiError> {
    let (api_name, endpoint, record_id) = path.into_inner();
    let access = authorize(&state, &caller, &api_name, &endpoint, Scope::Write).await?;
    let JsonBody(data) = body.get()?;
    let record = state
        .keygate
        .records
        .replace(&access, &record_id, data)
        .await?;
    Ok(success(StatusCode::OK, record_view(&record)))
}

/// `PATCH /api/{api_name}/{endpoint}/{record_id}`: a JSON Merge Patch (RFC 7396); the result
/// is validated.
pub async fn patch(
    state: web::Data<AppState>,
    RecordCaller(caller): RecordCaller,
    path: web::Path<(String, String, String)>,
    body: Deferred<JsonBody<Map<String, Value>>>,
) -> Result<HttpResponse, ApiError> {
    let (api_name, endpoint, record_id) = path.into_inner();
    let access = authorize(&state, &caller, &api_name, &endpoint, Scope::Write).await?;
    let JsonBody(patch) = body.get()?;
    let record = state
        .keygate
        .records
        .patch(&access, &record_id, patch)
        .await?;
    Ok(success(StatusCode::OK, record_view(&record)))
}

/// `DELETE /api/{api_name}/{endpoint}/{record_id}`.
pub async fn delete(
    state: web::Data<AppState>,
    RecordCaller(caller): RecordCaller,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (api_name, endpoint, record_id) = path.into_inner();
    let access = authorize(&state, &caller, &api_name, &endpoint, Scope::Write).await?;
    state.keygate.records.delete(&access, &record_id).await?;
    Ok(success(
        StatusCode::OK,
        json!({"message": "Record deleted", "record_id": record_id}),
    ))
}

/// The record routes, in matching order.
pub(super) fn routes() -> Vec<ContractRoute> {
    use super::Verb::{Delete, Get, Patch, Post, Put};
    use crate::openapi::Auth::KeyOrToken;
    vec![
    ContractRoute {
        methods: &[Post],
        path: "/api/{api_name}/{endpoint}",
        handler: |r| r.to(create),
        doc: Doc {
            summary: "Stores a record, validated against the endpoint's schema",
            tag: "records",
            auth: KeyOrToken,
            body: Some(schema::record_body),
            success: 201,
            response: schema::created_record,
            errors: &[403, 404],
            ..DOC
        },
        ..ROUTE
    },
    ContractRoute {
        methods: &[Get],
        path: "/api/{api_name}/{endpoint}",
        handler: |r| r.to(list),
        doc: Doc {
            summary: "Records, newest first; any other query parameter `field=value` filters on a top-level field",
            tag: "records",
            auth: KeyOrToken,
            response: schema::records,
            errors: &[400, 403, 404],
            query: PAGING,
            ..DOC
        },
        ..ROUTE
    },
    ContractRoute {
        methods: &[Get],
        path: "/api/{api_name}/{endpoint}/{record_id}",
        handler: |r| r.to(read),
        doc: Doc {
            summary: "Reads one record",
            tag: "records",
            auth: KeyOrToken,
            response: schema::record,
            errors: &[403, 404],
            ..DOC
        },
        ..ROUTE
    },
    ContractRoute {
        methods: &[Put],
        path: "/api/{api_name}/{endpoint}/{record_id}",
        handler: |r| r.to(replace),
        doc: Doc {
            summary: "Replaces one record (validated)",
            tag: "records",
            auth: KeyOrToken,
            body: Some(schema::record_body),
            response: schema::record,
            errors: &[403, 404, 409],
            ..DOC
        },
        ..ROUTE
    },
    ContractRoute {
        methods: &[Patch],
        path: "/api/{api_name}/{endpoint}/{record_id}",
        handler: |r| r.to(patch),
        doc: Doc {
            summary: "Merge-patches one record (RFC 7396; the result is validated)",
            tag: "records",
            auth: KeyOrToken,
            body: Some(schema::record_body),
            response: schema::record,
            errors: &[403, 404, 409],
            ..DOC
        },
        ..ROUTE
    },
    ContractRoute {
        methods: &[Delete],
        path: "/api/{api_name}/{endpoint}/{record_id}",
        handler: |r| r.to(delete),
        doc: Doc {
            summary: "Deletes one record",
            tag: "records",
            auth: KeyOrToken,
            errors: &[403, 404],
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

    /// A record body: any JSON object (validated against the endpoint's schema).
    pub(super) fn record_body() -> Value {
        json!({"type": "object", "description": "validated against the endpoint's JSON Schema"})
    }

    /// A created record.
    pub(super) fn created_record() -> Value {
        success_with(
            json!({"record_id": {"type": "string"}, "api_name": {"type": "string"},
                   "endpoint": {"type": "string"}, "created_at": {"type": "string", "format": TIME}}),
            &["record_id"],
        )
    }

    /// One record.
    pub(super) fn record() -> Value {
        success_with(
            json!({"record_id": {"type": "string"}, "data": {"type": "object"},
                   "created_at": {"type": "string", "format": TIME},
                   "updated_at": {"type": "string", "format": TIME}}),
            &["record_id", "data"],
        )
    }

    /// A page of records.
    pub(super) fn records() -> Value {
        success_with(
            json!({"records": {"type": "array", "items": {"type": "object", "required": ["record_id", "data"], "properties": {
                "record_id": {"type": "string"}, "data": {"type": "object"},
                "created_at": {"type": "string", "format": TIME},
                "updated_at": {"type": "string", "format": TIME}
            }}}, "next_cursor": {"type": ["string", "null"]}}),
            &["records"],
        )
    }
}
