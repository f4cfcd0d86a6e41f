//! The route table: every contract route at the root and under `/v1`, each answering 405 with
//! the envelope for a method it does not serve, and 404 with the envelope for unknown paths.

mod accounts;
mod apis;
mod data;
mod fallback;
mod health;
mod records;
mod respond;
mod schemas;

use std::sync::OnceLock;

use actix_web::http::header::ContentType;
use actix_web::{web, HttpResponse, Resource, Route};
use serde_json::Value;

use crate::openapi::{Auth, Described, Doc};

pub use fallback::{method_not_allowed, not_found};
pub use health::MetricsElsewhere;

/// The routes of the separate metrics listener (`metrics.listen`): `/metrics` alone.
pub fn configure_metrics_only(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/metrics")
            .route(web::get().to(health::metrics))
            .route(web::head().to(health::metrics)),
    );
}

/// Registers every route, twice: under `/v1` and at the root.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/v1")
            .configure(contract_routes)
            .default_service(web::to(not_found)),
    )
    .configure(contract_routes);
}

/// A resource answering 405 with the envelope to any method it has no route for.
pub(crate) fn resource(path: &str) -> Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

/// One served operation: its method, its actix path, how its handler is registered, and its
/// description (which `GET /openapi.json` is generated from).
pub struct Operation {
    /// `get`, `post`, … (as OpenAPI names methods).
    pub method: &'static str,
    /// The actix path, e.g. `/api/data/{key:.*}`.
    pub path: &'static str,
    route: fn() -> Route,
    /// What it does, takes and answers.
    pub doc: Doc,
}

#[allow(clippy::too_many_arguments)]
const fn doc(
    summary: &'static str,
    tag: &'static str,
    auth: Auth,
    body: Option<fn() -> Value>,
    success: u16,
    response: fn() -> Value,
    errors: &'static [u16],
    store: bool,
) -> Doc {
    Doc {
        summary,
        tag,
        auth,
        body,
        success,
        response,
        media_type: "application/json",
        errors,
        store,
        query: &[],
    }
}

const PAGING: &[(&str, &str)] = &[
    ("limit", "page size (1 to 500, default 50)"),
    ("cursor", "next_cursor of the previous page"),
];

fn op(method: &'static str, path: &'static str, route: fn() -> Route, doc: Doc) -> Operation {
    Operation {
        method,
        path,
        route,
        doc,
    }
}

/// Every operation of the contract, in matching order (key management before records, data
/// before the record routes that would otherwise match `/api/data/...`).
pub fn operations() -> Vec<Operation> {
    use schemas as s;
    use Auth::{KeyOrToken, MetricsToken, Public, Token};
    vec![
        op(
            "get",
            "/health",
            || web::get().to(health::health),
            doc(
                "Liveness; touches no database",
                "operations",
                Public,
                None,
                200,
                s::health,
                &[],
                false,
            ),
        ),
        op(
            "head",
            "/health",
            || web::head().to(health::health),
            doc(
                "Liveness, headers only",
                "operations",
                Public,
                None,
                200,
                s::health,
                &[],
                false,
            ),
        ),
        op(
            "get",
            "/ready",
            || web::get().to(health::ready),
            doc(
                "Readiness: 200 when the store answers",
                "operations",
                Public,
                None,
                200,
                s::health,
                &[],
                true,
            ),
        ),
        op(
            "head",
            "/ready",
            || web::head().to(health::ready),
            doc(
                "Readiness, headers only",
                "operations",
                Public,
                None,
                200,
                s::health,
                &[],
                true,
            ),
        ),
        op(
            "get",
            "/metrics",
            || web::get().to(health::metrics),
            Doc {
                media_type: "text/plain",
                ..doc(
                    "Prometheus metrics (404 when disabled, or when metrics.listen serves them elsewhere)",
                    "operations",
                    MetricsToken,
                    None,
                    200,
                    s::metrics,
                    &[404],
                    false,
                )
            },
        ),
        op(
            "head",
            "/metrics",
            || web::head().to(health::metrics),
            Doc {
                media_type: "text/plain",
                ..doc(
                    "Prometheus metrics, headers only",
                    "operations",
                    MetricsToken,
                    None,
                    200,
                    s::metrics,
                    &[404],
                    false,
                )
            },
        ),
        op(
            "get",
            "/openapi.json",
            || web::get().to(openapi_document),
            doc(
                "This OpenAPI 3.1 document",
                "operations",
                Public,
                None,
                200,
                s::openapi,
                &[],
                false,
            ),
        ),
        op(
            "post",
            "/register",
            || web::post().to(accounts::register),
            doc(
                "Registers an account",
                "accounts",
                Public,
                Some(s::register_body),
                201,
                s::message,
                &[409, 429],
                true,
            ),
        ),
        op(
            "post",
            "/api/register",
            || web::post().to(accounts::register),
            doc(
                "Registers an account (compat 002)",
                "accounts",
                Public,
                Some(s::register_body),
                201,
                s::message,
                &[409, 429],
                true,
            ),
        ),
        op(
            "post",
            "/login",
            || web::post().to(accounts::login),
            doc(
                "Logs in: an access token and a refresh token",
                "accounts",
                Public,
                Some(s::login_body),
                200,
                s::tokens,
                &[401, 429],
                true,
            ),
        ),
        op(
            "post",
            "/api/token",
            || web::post().to(accounts::login),
            doc(
                "Logs in (compat 002)",
                "accounts",
                Public,
                Some(s::login_body),
                200,
                s::tokens,
                &[401, 429],
                true,
            ),
        ),
        op(
            "post",
            "/token/refresh",
            || web::post().to(accounts::refresh),
            doc(
                "Spends a refresh token for a new pair",
                "accounts",
                Public,
                Some(s::refresh_body),
                200,
                s::tokens,
                &[401],
                true,
            ),
        ),
        op(
            "post",
            "/logout",
            || web::post().to(accounts::logout),
            doc(
                "Ends this session, or every session with {\"all\": true}",
                "accounts",
                Token,
                Some(s::logout_body),
                200,
                s::message,
                &[],
                true,
            ),
        ),
        op(
            "get",
            "/profile",
            || web::get().to(accounts::profile),
            doc(
                "The caller's profile",
                "accounts",
                Token,
                None,
                200,
                s::profile,
                &[],
                true,
            ),
        ),
        op(
            "put",
            "/profile",
            || web::put().to(accounts::update_profile),
            doc(
                "Changes the profile: absent fields stay, null clears",
                "accounts",
                Token,
                Some(s::profile_body),
                200,
                s::profile,
                &[409],
                true,
            ),
        ),
        op(
            "patch",
            "/profile",
            || web::patch().to(accounts::update_profile),
            doc(
                "Changes the profile: absent fields stay, null clears",
                "accounts",
                Token,
                Some(s::profile_body),
                200,
                s::profile,
                &[409],
                true,
            ),
        ),
        op(
            "delete",
            "/profile",
            || web::delete().to(accounts::delete_account),
            doc(
                "Deletes the account and everything it owns",
                "accounts",
                Token,
                Some(s::delete_account_body),
                200,
                s::message,
                &[429],
                true,
            ),
        ),
        op(
            "put",
            "/profile/password",
            || web::put().to(accounts::change_password),
            doc(
                "Changes the password; ends every other session",
                "accounts",
                Token,
                Some(s::password_body),
                200,
                s::message,
                &[429],
                true,
            ),
        ),
        op(
            "get",
            "/users",
            || web::get().to(accounts::list_users),
            Doc {
                query: PAGING,
                ..doc(
                    "Usernames; whole profiles for administrators",
                    "accounts",
                    Token,
                    None,
                    200,
                    s::users,
                    &[400],
                    true,
                )
            },
        ),
        op(
            "post",
            "/api/data",
            || web::post().to(data::create),
            doc(
                "Stores a value under a new key",
                "data",
                Token,
                Some(s::entry_body),
                201,
                s::entry,
                &[409],
                true,
            ),
        ),
        op(
            "get",
            "/api/data",
            || web::get().to(data::list),
            Doc {
                query: &[
                    ("limit", "page size (1 to 500, default 50)"),
                    ("cursor", "next_cursor of the previous page"),
                    ("prefix", "only keys starting with it"),
                ],
                ..doc(
                    "The caller's keys, in key order",
                    "data",
                    Token,
                    None,
                    200,
                    s::entries,
                    &[400],
                    true,
                )
            },
        ),
        op(
            "get",
            "/api/data/{key:.*}",
            || web::get().to(data::read),
            doc(
                "Reads one value",
                "data",
                Token,
                None,
                200,
                s::entry,
                &[400, 404],
                true,
            ),
        ),
        op(
            "put",
            "/api/data/{key:.*}",
            || web::put().to(data::replace),
            doc(
                "Replaces one value",
                "data",
                Token,
                Some(s::value_body),
                200,
                s::entry,
                &[404],
                true,
            ),
        ),
        op(
            "delete",
            "/api/data/{key:.*}",
            || web::delete().to(data::delete),
            doc(
                "Deletes one value",
                "data",
                Token,
                None,
                200,
                s::message,
                &[400, 404],
                true,
            ),
        ),
        op(
            "post",
            "/create_api",
            || web::post().to(apis::create),
            doc(
                "Defines an API: endpoints, each with a JSON Schema; returns its first key",
                "apis",
                Token,
                Some(s::api_body),
                201,
                s::created_api,
                &[],
                true,
            ),
        ),
        op(
            "post",
            "/api",
            || web::post().to(apis::create),
            doc(
                "Defines an API (same as POST /create_api)",
                "apis",
                Token,
                Some(s::api_body),
                201,
                s::created_api,
                &[],
                true,
            ),
        ),
        op(
            "get",
            "/api",
            || web::get().to(apis::list),
            Doc {
                query: PAGING,
                ..doc(
                    "The caller's APIs with their keys",
                    "apis",
                    Token,
                    None,
                    200,
                    s::apis,
                    &[400],
                    true,
                )
            },
        ),
        op(
            "post",
            "/api/{api}/keys",
            || web::post().to(apis::issue_key),
            doc(
                "Issues another key (shown once)",
                "apis",
                Token,
                Some(s::key_body),
                201,
                s::key,
                &[404],
                true,
            ),
        ),
        op(
            "delete",
            "/api/{api}/keys/{key_id}",
            || web::delete().to(apis::revoke_key),
            doc(
                "Revokes a key",
                "apis",
                Token,
                None,
                200,
                s::key,
                &[404],
                true,
            ),
        ),
        op(
            "get",
            "/api/{api}",
            || web::get().to(apis::read),
            doc(
                "One of the caller's APIs (by id or name)",
                "apis",
                Token,
                None,
                200,
                s::api,
                &[404],
                true,
            ),
        ),
        op(
            "patch",
            "/api/{api}",
            || web::patch().to(apis::change),
            doc(
                "Adds endpoints, replaces schemas, renames",
                "apis",
                Token,
                Some(s::api_changes_body),
                200,
                s::api,
                &[404, 409],
                true,
            ),
        ),
        op(
            "delete",
            "/api/{api}",
            || web::delete().to(apis::delete),
            doc(
                "Deletes the API, its keys and its records",
                "apis",
                Token,
                None,
                200,
                s::message,
                &[404],
                true,
            ),
        ),
        op(
            "post",
            "/api/{api_name}/{endpoint}",
            || web::post().to(records::create),
            doc(
                "Stores a record, validated against the endpoint's schema",
                "records",
                KeyOrToken,
                Some(s::record_body),
                201,
                s::created_record,
                &[403, 404],
                true,
            ),
        ),
        op(
            "get",
            "/api/{api_name}/{endpoint}",
            || web::get().to(records::list),
            Doc {
                query: &[
                    ("limit", "page size (1 to 500, default 50)"),
                    ("cursor", "next_cursor of the previous page"),
                ],
                ..doc(
                    "Records, newest first; any other query parameter `field=value` filters on a top-level field",
                    "records",
                    KeyOrToken,
                    None,
                    200,
                    s::records,
                    &[400, 403, 404],
                    true,
                )
            },
        ),
        op(
            "get",
            "/api/{api_name}/{endpoint}/{record_id}",
            || web::get().to(records::read),
            doc(
                "Reads one record",
                "records",
                KeyOrToken,
                None,
                200,
                s::record,
                &[403, 404],
                true,
            ),
        ),
        op(
            "put",
            "/api/{api_name}/{endpoint}/{record_id}",
            || web::put().to(records::replace),
            doc(
                "Replaces one record (validated)",
                "records",
                KeyOrToken,
                Some(s::record_body),
                200,
                s::record,
                &[403, 404, 409],
                true,
            ),
        ),
        op(
            "patch",
            "/api/{api_name}/{endpoint}/{record_id}",
            || web::patch().to(records::patch),
            doc(
                "Merge-patches one record (RFC 7396; the result is validated)",
                "records",
                KeyOrToken,
                Some(s::record_body),
                200,
                s::record,
                &[403, 404, 409],
                true,
            ),
        ),
        op(
            "delete",
            "/api/{api_name}/{endpoint}/{record_id}",
            || web::delete().to(records::delete),
            doc(
                "Deletes one record",
                "records",
                KeyOrToken,
                None,
                200,
                s::message,
                &[403, 404],
                true,
            ),
        ),
    ]
}

/// The OpenAPI description of [`operations`].
pub fn openapi() -> Value {
    let operations = operations();
    crate::openapi::document(operations.iter().map(|o| Described {
        method: o.method,
        path: o.path,
        doc: &o.doc,
    }))
}

/// `GET /openapi.json`. Answers: 200.
async fn openapi_document() -> HttpResponse {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let text = DOCUMENT.get_or_init(|| openapi().to_string());
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(text.as_str())
}

/// Registers the operations, one resource per path in table order.
fn contract_routes(cfg: &mut web::ServiceConfig) {
    let operations = operations();
    let mut index = 0;
    while index < operations.len() {
        let path = operations[index].path;
        let mut resource = resource(path);
        while index < operations.len() && operations[index].path == path {
            resource = resource.route((operations[index].route)());
            index += 1;
        }
        cfg.service(resource);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::request_id::route_template;

    #[test]
    fn the_document_describes_exactly_the_served_operations_at_the_root_and_under_v1() {
        let served: BTreeSet<(String, String)> = operations()
            .iter()
            .flat_map(|o| {
                let template = route_template(o.path);
                [
                    (template.clone(), o.method.to_owned()),
                    (format!("/v1{template}"), o.method.to_owned()),
                ]
            })
            .collect();
        let document = openapi();
        assert_eq!(document["openapi"], "3.1.0");
        let described: BTreeSet<(String, String)> = document["paths"]
            .as_object()
            .expect("paths")
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .expect("path item")
                    .keys()
                    .map(|method| (path.clone(), method.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(described, served);
        for (path, item) in document["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("path item") {
                assert!(
                    operation["summary"].as_str().is_some_and(|s| !s.is_empty()),
                    "{method} {path} has no summary"
                );
                assert!(
                    operation["responses"]
                        .as_object()
                        .is_some_and(|r| r.len() > 1)
                        || path.ends_with("/health")
                        || path.ends_with("/openapi.json"),
                    "{method} {path} lists no error status"
                );
            }
        }
    }

    #[test]
    fn each_path_is_one_run_of_the_table() {
        let operations = operations();
        let mut finished: BTreeSet<&str> = BTreeSet::new();
        for pair in operations.windows(2) {
            if pair[0].path != pair[1].path {
                assert!(
                    finished.insert(pair[0].path),
                    "{} appears in two places: the second would never be reached",
                    pair[0].path
                );
            }
        }
        let last = operations.last().expect("operations").path;
        assert!(!finished.contains(last), "{last} appears in two places");
    }
}
