//! Handlers of user-defined APIs and their keys: `/create_api`, `/api`, `/api/{api}`,
//! `/api/{api}/keys`. `{api}` is the API's id or its unique name.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use keygate_domain::apis::{ApiChanges, ApiView, NewApi};
use serde_json::{json, Map, Value};

use super::keys::key_view;
use super::profile::ListQuery;
use super::respond::{success, timestamp};
use super::{ContractRoute, DOC, PAGING, ROUTE};
use crate::error::ApiError;
use crate::extract::{Authenticated, Deferred, JsonBody};
use crate::openapi::Doc;
use crate::state::AppState;

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

/// The API routes, in matching order.
pub(super) fn routes() -> Vec<ContractRoute> {
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
                body: Some(schema::api_body),
                success: 201,
                response: schema::created_api,
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
                response: schema::apis,
                errors: &[400],
                query: PAGING,
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
                response: schema::api,
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
                body: Some(schema::api_changes_body),
                response: schema::api,
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

/// The JSON Schemas of this section's bodies, for `/openapi.json`; each limit is the value
/// object's own constant, so the description cannot drift from what the domain refuses.
mod schema {
    use crate::routes::bodies::{success_with, NO_CONTROLS, TIME};
    use crate::routes::keys::schema::key_item;
    use keygate_domain::apis::DisplayName;
    use keygate_domain::apis::EndpointName;
    use keygate_domain::apis::MAX_ENDPOINTS;
    use serde_json::{json, Value};

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

    /// `POST /create_api`.
    pub(super) fn api_body() -> Value {
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
    pub(super) fn api_changes_body() -> Value {
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
    pub(super) fn created_api() -> Value {
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
    pub(super) fn api() -> Value {
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
    pub(super) fn apis() -> Value {
        success_with(
            json!({"apis": {"type": "array", "items": api_item()}, "next_cursor": {"type": ["string", "null"]}}),
            &["apis"],
        )
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::routes::bodies::admits;

        #[actix_web::test]
        async fn documented_bodies_admit_the_contracts_example_and_refuse_what_the_domain_refuses()
        {
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
}
