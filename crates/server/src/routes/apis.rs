//! Handlers of user-defined APIs and their keys: `/create_api`, `/api`, `/api/{api}`,
//! `/api/{api}/keys`. `{api}` is the API's id or its unique name.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use keygate_domain::apis::{ApiChanges, ApiKey, ApiView, IssuedKey, KeyRequest, NewApi};
use serde_json::{json, Map, Value};

use super::accounts::ListQuery;
use super::respond::{success, timestamp};
use super::{ContractRoute, DOC, PAGING, ROUTE};
use crate::error::ApiError;
use crate::extract::{Authenticated, Deferred, JsonBody, OptionalJsonBody};
use crate::openapi::Doc;
use crate::state::AppState;

fn key_view(key: &ApiKey) -> Value {
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

/// The declared indexes by endpoint, each with its state (§11): `{"orders": [{"field":
/// "item", "state": "ready"}]}`; endpoints without indexes are left out.
fn indexes_view(api: &keygate_domain::apis::ApiDefinition) -> Map<String, Value> {
    api.endpoints
        .iter()
        .filter(|e| !e.indexes.is_empty())
        .map(|e| {
            let indexes: Vec<Value> = e
                .indexes
                .iter()
                .map(|i| json!({"field": i.field, "state": i.state.as_str()}))
                .collect();
            (e.name.as_str().to_owned(), Value::from(indexes))
        })
        .collect()
}

/// An API as its owner sees it: never a secret.
fn api_view(view: &ApiView) -> Value {
    let api = &view.api;
    let schemas: Map<String, Value> = api
        .endpoints
        .iter()
        .map(|e| (e.name.as_str().to_owned(), e.schema.clone()))
        .collect();
    json!({
        "api_id": api.id.as_str(),
        "api_name": api.name.as_str(),
        "display_name": api.display_name.as_str(),
        "endpoints": api.endpoints.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        "json_schema": schemas,
        "indexes": indexes_view(api),
        "keys": view.keys.iter().map(key_view).collect::<Vec<_>>(),
        "created_at": timestamp(api.created_at),
        "updated_at": timestamp(api.updated_at),
    })
}

fn issued_view(issued: &IssuedKey) -> Value {
    let mut view = key_view(&issued.key);
    view["api_key"] = Value::from(issued.text.as_str());
    view
}

/// `POST /create_api` and `POST /api` `{"api_name", "endpoints", "json_schema"}`: creates an
/// API and its first key (shown once).
pub async fn create(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    body: Deferred<JsonBody<NewApi>>,
) -> Result<HttpResponse, ApiError> {
    let JsonBody(form) = body.get()?;
    let draft = form.parse(state.keygate.schemas.as_ref()).await?;
    let created = state.keygate.apis.create(&principal, draft).await?;
    let api = &created.api;
    Ok(success(
        StatusCode::CREATED,
        json!({
            "message": "API created",
            "api_id": api.id.as_str(),
            "api_name": api.name.as_str(),
            "display_name": api.display_name.as_str(),
            "endpoints": api.endpoints.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
            "indexes": indexes_view(api),
            "api_key": created.key.text,
            "key_id": created.key.key.id.as_str(),
            "created_at": timestamp(api.created_at),
        }),
    ))
}

/// `GET /api?limit=&cursor=`: the caller's APIs with their keys.
pub async fn list(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.into_inner().page()?;
    let apis = state.keygate.apis.list(&principal, &page).await?;
    let items: Vec<Value> = apis.items.iter().map(api_view).collect();
    Ok(success(
        StatusCode::OK,
        json!({"apis": items, "next_cursor": apis.next_cursor}),
    ))
}

/// `GET /api/{api}`: one of the caller's APIs.
pub async fn read(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    api: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = state.keygate.apis.get(&principal, &api).await?;
    Ok(success(StatusCode::OK, api_view(&view)))
}

/// `PATCH /api/{api}` `{"display_name"?, "endpoints"?, "json_schema"?}`: adds endpoints,
/// replaces schemas, renames.
pub async fn change(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    api: web::Path<String>,
    body: Deferred<JsonBody<ApiChanges>>,
) -> Result<HttpResponse, ApiError> {
    let JsonBody(form) = body.get()?;
    let changes = form.parse(state.keygate.schemas.as_ref()).await?;
    let view = state.keygate.apis.change(&principal, &api, changes).await?;
    Ok(success(StatusCode::OK, api_view(&view)))
}

/// `DELETE /api/{api}`: the API, its keys and all its records.
pub async fn delete(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    api: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let deleted = state.keygate.apis.delete(&principal, &api).await?;
    Ok(success(
        StatusCode::OK,
        json!({"message": "API deleted", "api_id": deleted.id.as_str()}),
    ))
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

/// The API routes, in matching order.
pub(super) fn routes() -> Vec<ContractRoute> {
    use super::bodies as b;
    use super::Verb::{Delete, Get, Patch, Post};
    use crate::openapi::Auth::Token;
    vec![
        ContractRoute {
            methods: &[Post],
            path: "/create_api",
            aliases: &["/api"],
            handler: |r| r.to(create),
            doc: Doc {
                summary:
                    "Defines an API: endpoints, each with a JSON Schema; returns its first key",
                tag: "apis",
                auth: Token,
                body: Some(b::api_body),
                success: 201,
                response: b::created_api,
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Get],
            path: "/api",
            handler: |r| r.to(list),
            doc: Doc {
                summary: "The caller's APIs with their keys",
                tag: "apis",
                auth: Token,
                response: b::apis,
                errors: &[400],
                query: PAGING,
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/api/{api}/keys",
            handler: |r| r.to(issue_key),
            doc: Doc {
                summary: "Issues another key (shown once)",
                tag: "apis",
                auth: Token,
                body: Some(b::key_body),
                success: 201,
                response: b::key,
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
                response: b::key,
                errors: &[404],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Get],
            path: "/api/{api}",
            handler: |r| r.to(read),
            doc: Doc {
                summary: "One of the caller's APIs (by id or name)",
                tag: "apis",
                auth: Token,
                response: b::api,
                errors: &[404],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Patch],
            path: "/api/{api}",
            handler: |r| r.to(change),
            doc: Doc {
                summary: "Adds endpoints, replaces schemas, renames",
                tag: "apis",
                auth: Token,
                body: Some(b::api_changes_body),
                response: b::api,
                errors: &[404, 409],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Delete],
            path: "/api/{api}",
            handler: |r| r.to(delete),
            doc: Doc {
                summary: "Deletes the API, its keys and its records",
                tag: "apis",
                auth: Token,
                errors: &[404],
                ..DOC
            },
            ..ROUTE
        },
    ]
}
