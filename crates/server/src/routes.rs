//! The route table: every contract route at the root and under `/v1`, each answering 405 with
//! the envelope for a method it does not serve, and 404 with the envelope for unknown paths.
//!
//! Each route's facts are written once, in [`contract`]: its methods, path and aliases, its
//! handler, and what `GET /openapi.json` says of it (statuses included; handlers do not
//! restate them). The body schemas in `bodies` read the value objects' own limits.

mod accounts;
mod apis;
mod audit;
mod bodies;
mod data;
mod email;
mod fallback;
mod health;
mod keys;
mod mfa;
mod passkeys;
mod profile;
mod records;
mod respond;
mod tokens;

pub use tokens::JWKS_MAX_AGE_SECS;

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

/// An HTTP method a route serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl Verb {
    /// The method as OpenAPI keys it (lower case).
    fn name(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Post => "post",
            Self::Put => "put",
            Self::Patch => "patch",
            Self::Delete => "delete",
        }
    }

    /// An actix route for the method, without a handler yet.
    fn route(self) -> Route {
        match self {
            Self::Get => web::get(),
            Self::Post => web::post(),
            Self::Put => web::put(),
            Self::Patch => web::patch(),
            Self::Delete => web::delete(),
        }
    }
}

/// One route of the contract, every fact about it written once: the methods and paths it
/// answers on, its handler, and what `GET /openapi.json` says of it (its [`Doc`], statuses
/// included). Aliases serve the same handler under another path (the earlier systems'
/// names); `with_head` adds `HEAD` to a `GET`. Every route is also served under `/v1`.
pub struct ContractRoute {
    /// The methods, all served by the one handler.
    pub methods: &'static [Verb],
    /// Whether `HEAD` is answered too (headers of the `GET`).
    pub with_head: bool,
    /// The actix path, e.g. `/api/data/{key:.*}`.
    pub path: &'static str,
    /// Other paths serving the same handler.
    pub aliases: &'static [&'static str],
    /// Attaches the handler to a route of one of `methods`.
    pub handler: fn(Route) -> Route,
    /// What it does, takes and answers.
    pub doc: Doc,
}

/// The handler of a [`ContractRoute`] that has not set one: never left so in the table.
fn no_handler(route: Route) -> Route {
    route.to(not_found)
}

/// What a [`ContractRoute`] is unless it says otherwise.
const ROUTE: ContractRoute = ContractRoute {
    methods: &[],
    with_head: false,
    path: "",
    aliases: &[],
    handler: no_handler,
    doc: DOC,
};

/// What a route's [`Doc`] says unless it says otherwise: a public JSON route that answers
/// 200 with a message and uses the store.
const DOC: Doc = Doc {
    summary: "",
    tag: "",
    auth: Auth::Public,
    body: None,
    success: 200,
    response: bodies::message,
    media_type: "application/json",
    errors: &[],
    store: true,
    query: &[],
};

const PAGING: &[(&str, &str)] = &[
    ("limit", "page size (1 to 500, default 50)"),
    ("cursor", "next_cursor of the previous page"),
];

/// Every route of the contract, in matching order: each section's routes, in the order that
/// decides matching (key management before records, data before the record routes that
/// would otherwise match `/api/data/...`).
pub fn contract() -> Vec<ContractRoute> {
    [
        health::routes(),
        accounts::routes(),
        profile::routes(),
        email::routes(),
        mfa::routes(),
        passkeys::routes(),
        tokens::routes(),
        data::routes(),
        apis::routes(),
        keys::routes(),
        records::routes(),
        audit::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// One served method on one path: a [`ContractRoute`] expanded over its methods, `HEAD` and
/// aliases.
pub struct Operation {
    /// `get`, `post`, … (as OpenAPI names methods).
    pub method: &'static str,
    /// The actix path.
    pub path: &'static str,
    /// The route's summary, marked for an alias or `HEAD`.
    pub summary: String,
    /// Makes the actix route with its handler.
    route: Route,
    /// What it does, takes and answers.
    pub doc: Doc,
}

/// Every served operation, in table order: each route's methods (then `HEAD`) on its path,
/// then the same on each alias.
pub fn operations() -> Vec<Operation> {
    let mut operations = Vec::new();
    for entry in contract() {
        for path in std::iter::once(entry.path).chain(entry.aliases.iter().copied()) {
            let summary = if path == entry.path {
                entry.doc.summary.to_owned()
            } else {
                format!("{} (alias of {})", entry.doc.summary, entry.path)
            };
            for verb in entry.methods {
                operations.push(Operation {
                    method: verb.name(),
                    path,
                    summary: summary.clone(),
                    route: (entry.handler)(verb.route()),
                    doc: entry.doc,
                });
            }
            if entry.with_head {
                operations.push(Operation {
                    method: "head",
                    path,
                    summary: format!("{summary}, headers only"),
                    route: (entry.handler)(web::head()),
                    doc: entry.doc,
                });
            }
        }
    }
    operations
}

/// The OpenAPI description of [`operations`].
pub fn openapi() -> Value {
    let operations = operations();
    crate::openapi::document(operations.iter().map(|o| Described {
        method: o.method,
        path: o.path,
        summary: &o.summary,
        doc: &o.doc,
    }))
}

/// `GET /openapi.json`.
async fn openapi_document() -> HttpResponse {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let text = DOCUMENT.get_or_init(|| openapi().to_string());
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(text.as_str())
}

/// Registers the operations: one resource per path, at the place its path first appears in
/// the table, with every method served on it.
fn contract_routes(cfg: &mut web::ServiceConfig) {
    let mut resources: Vec<(&'static str, Resource)> = Vec::new();
    for operation in operations() {
        match resources
            .iter()
            .position(|(path, _)| *path == operation.path)
        {
            Some(index) => {
                let (path, served) = resources.remove(index);
                resources.insert(index, (path, served.route(operation.route)));
            }
            None => resources.push((
                operation.path,
                resource(operation.path).route(operation.route),
            )),
        }
    }
    for (_, served) in resources {
        cfg.service(served);
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
                        || path.ends_with("/openapi.json")
                        || path.ends_with("/jwks.json"),
                    "{method} {path} lists no error status"
                );
            }
        }
    }

    #[test]
    fn every_method_is_served_once_on_each_path() {
        let mut seen = BTreeSet::new();
        for operation in operations() {
            assert!(
                seen.insert((operation.path, operation.method)),
                "{} {} is in the table twice: the second would never be reached",
                operation.method,
                operation.path
            );
        }
    }

    /// The operations `docs/api.md` lists: each row's first cell, e.g. ``GET`, `PUT /a/{b}``
    /// (methods before the path they share), as (method, path template) pairs.
    fn documented_operations() -> BTreeSet<(String, String)> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/api.md");
        let text = std::fs::read_to_string(path).expect("docs/api.md");
        let mut documented = BTreeSet::new();
        for row in text.lines().filter(|l| l.starts_with("| `")) {
            let cell = row.split('|').nth(1).unwrap_or_default();
            let mut methods = Vec::new();
            for item in cell.split(',').map(|i| i.trim().trim_matches('`')) {
                let mut words = item.split_whitespace();
                let method = words.next().unwrap_or_default().to_lowercase();
                methods.push(method);
                if let Some(path) = words.next() {
                    for method in methods.drain(..) {
                        documented.insert((method, path.to_owned()));
                    }
                }
            }
        }
        documented
    }

    /// A new route must be listed in `docs/api.md`, and a listed route must be served.
    #[test]
    fn docs_api_lists_exactly_the_served_operations() {
        let served: BTreeSet<(String, String)> = operations()
            .iter()
            .filter(|o| o.method != "head")
            .map(|o| (o.method.to_owned(), route_template(o.path)))
            .collect();
        let mut documented = documented_operations();
        // The docs page is a page beside the API, not one of its routes (see the table).
        documented.remove(&("get".to_owned(), "/docs".to_owned()));
        let undocumented: Vec<_> = served.difference(&documented).collect();
        let unserved: Vec<_> = documented.difference(&served).collect();
        assert!(
            undocumented.is_empty() && unserved.is_empty(),
            "served but not in docs/api.md: {undocumented:?}; in docs/api.md but not served: \
             {unserved:?}"
        );
    }

    #[test]
    fn aliases_and_head_describe_the_route_they_come_from() {
        let operations = operations();
        let find = |method: &str, path: &str| {
            operations
                .iter()
                .find(|o| o.method == method && o.path == path)
                .map(|o| o.summary.clone())
                .unwrap_or_default()
        };
        assert_eq!(
            find("post", "/api/register"),
            "Registers an account (alias of /register)"
        );
        assert_eq!(
            find("head", "/health"),
            "Liveness; touches no database, headers only"
        );
    }
}
