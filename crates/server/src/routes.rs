//! The route table: every contract route at the root and under `/v1`, each answering 405 with
//! the envelope for a method it does not serve, and 404 with the envelope for unknown paths.
//!
//! Each route's facts are written once, in [`contract`]: its methods, path and aliases, its
//! handler, and what `GET /openapi.json` says of it (statuses included; handlers do not
//! restate them). The body schemas in `bodies` read the value objects' own limits.

mod accounts;
mod apis;
mod bodies;
mod data;
mod email;
mod fallback;
mod health;
mod mfa;
mod passkeys;
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

/// Every route of the contract, in matching order (key management before records, data
/// before the record routes that would otherwise match `/api/data/...`).
pub fn contract() -> Vec<ContractRoute> {
    use bodies as b;
    use Auth::{IntrospectionToken, KeyOrToken, MetricsToken, Token};
    use Verb::{Delete, Get, Patch, Post, Put};
    vec![
        ContractRoute {
            methods: &[Get],
            with_head: true,
            path: "/health",
            handler: |r| r.to(health::health),
            doc: Doc {
                summary: "Liveness; touches no database",
                tag: "operations",
                response: b::health,
                store: false,
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Get],
            with_head: true,
            path: "/ready",
            handler: |r| r.to(health::ready),
            doc: Doc {
                summary: "Readiness: 200 when the store answers",
                tag: "operations",
                response: b::health,
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Get],
            with_head: true,
            path: "/metrics",
            handler: |r| r.to(health::metrics),
            doc: Doc {
                summary: "Prometheus metrics (404 when disabled, or when metrics.listen serves them elsewhere)",
                tag: "operations",
                auth: MetricsToken,
                response: b::metrics,
                media_type: "text/plain",
                errors: &[404],
                store: false,
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Get],
            path: "/openapi.json",
            handler: |r| r.to(openapi_document),
            doc: Doc {
                summary: "This OpenAPI 3.1 document",
                tag: "operations",
                response: b::openapi,
                store: false,
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/register",
            aliases: &["/api/register"],
            handler: |r| r.to(accounts::register),
            doc: Doc {
                summary: "Registers an account",
                tag: "accounts",
                body: Some(b::register_body),
                success: 201,
                errors: &[409, 429],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/login",
            aliases: &["/api/token"],
            handler: |r| r.to(accounts::login),
            doc: Doc {
                summary: "Logs in: an access token and a refresh token",
                tag: "accounts",
                body: Some(b::login_body),
                response: b::tokens,
                errors: &[401, 429],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/token/refresh",
            handler: |r| r.to(accounts::refresh),
            doc: Doc {
                summary: "Spends a refresh token for a new pair",
                tag: "accounts",
                body: Some(b::refresh_body),
                response: b::tokens,
                errors: &[401],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/email/verify/request",
            handler: |r| r.to(email::request_verification),
            doc: Doc {
                summary: "Mails a verification link to the caller's address",
                tag: "email",
                auth: Token,
                success: 202,
                errors: &[400, 429],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/email/verify",
            handler: |r| r.to(email::verify),
            doc: Doc {
                summary: "Spends a verification token: the address is verified",
                tag: "email",
                body: Some(b::email_token_body),
                errors: &[400],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/password/forgot",
            handler: |r| r.to(email::forgot),
            doc: Doc {
                summary: "Mails a reset link if the account exists; the same answer either way",
                tag: "email",
                body: Some(b::forgot_body),
                success: 202,
                errors: &[400, 429],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/password/reset",
            handler: |r| r.to(email::reset),
            doc: Doc {
                summary: "Spends a reset token and sets a new password; every session ends",
                tag: "email",
                body: Some(b::reset_body),
                errors: &[400],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/login/code/request",
            handler: |r| r.to(email::request_code),
            doc: Doc {
                summary: "Mails a 6-digit login code if the account exists; the same answer either way",
                tag: "email",
                body: Some(b::code_request_body),
                success: 202,
                errors: &[400, 429],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/login/code",
            handler: |r| r.to(email::login_with_code),
            doc: Doc {
                summary: "Logs in with an emailed code",
                tag: "email",
                body: Some(b::code_login_body),
                response: b::tokens,
                errors: &[400, 401, 429],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/login/mfa",
            handler: |r| r.to(mfa::second_step),
            doc: Doc {
                summary: "The second step of a login with TOTP on: a TOTP code or a recovery code",
                tag: "mfa",
                body: Some(b::second_step_body),
                response: b::tokens,
                errors: &[400, 401, 429],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/login/passkey/start",
            handler: |r| r.to(passkeys::login_start),
            doc: Doc {
                summary: "Starts a usernameless passkey login: WebAuthn request options",
                tag: "mfa",
                body: Some(b::passkey_login_start_body),
                response: b::passkey_challenge,
                errors: &[429],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/login/passkey/finish",
            handler: |r| r.to(passkeys::login_finish),
            doc: Doc {
                summary: "Logs in with a passkey's assertion (no password, no second factor)",
                tag: "mfa",
                body: Some(b::passkey_finish_body),
                response: b::tokens,
                errors: &[400, 401, 429],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/passkeys/register/start",
            handler: |r| r.to(passkeys::register_start),
            doc: Doc {
                summary: "Starts registering a passkey: WebAuthn creation options",
                tag: "mfa",
                auth: Token,
                response: b::passkey_challenge,
                errors: &[409, 429],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/passkeys/register/finish",
            handler: |r| r.to(passkeys::register_finish),
            doc: Doc {
                summary: "Finishes registering a passkey with the authenticator's answer",
                tag: "mfa",
                auth: Token,
                body: Some(b::passkey_finish_body),
                success: 201,
                errors: &[400, 409],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Get],
            path: "/passkeys",
            handler: |r| r.to(passkeys::list),
            doc: Doc {
                summary: "The caller's passkeys",
                tag: "mfa",
                auth: Token,
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Delete],
            path: "/passkeys/{passkey_id}",
            handler: |r| r.to(passkeys::delete),
            doc: Doc {
                summary: "Deletes one of the caller's passkeys",
                tag: "mfa",
                auth: Token,
                errors: &[404],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/mfa/totp",
            handler: |r| r.to(mfa::enrol),
            doc: Doc {
                summary: "Starts TOTP enrolment: a secret and its otpauth:// URI",
                tag: "mfa",
                auth: Token,
                success: 201,
                errors: &[409],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Delete],
            path: "/mfa/totp",
            handler: |r| r.to(mfa::disable),
            doc: Doc {
                summary: "Turns TOTP off (and voids the recovery codes) after the password",
                tag: "mfa",
                auth: Token,
                body: Some(b::password_check_body),
                errors: &[400, 401, 409, 429],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/mfa/totp/confirm",
            handler: |r| r.to(mfa::confirm),
            doc: Doc {
                summary: "The first code turns TOTP on: 10 recovery codes, shown once",
                tag: "mfa",
                auth: Token,
                body: Some(b::totp_code_body),
                errors: &[400, 401, 409, 429],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/mfa/recovery_codes",
            handler: |r| r.to(mfa::recovery_codes),
            doc: Doc {
                summary: "A new set of recovery codes after the password; the old set is void",
                tag: "mfa",
                auth: Token,
                body: Some(b::password_check_body),
                errors: &[400, 401, 409, 429],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Get],
            with_head: true,
            path: "/.well-known/jwks.json",
            handler: |r| r.to(tokens::jwks),
            doc: Doc {
                summary: "The public keys that verify access tokens (empty under HS256); cacheable",
                tag: "tokens",
                response: b::jwks,
                store: false,
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/token/introspect",
            handler: |r| r.to(tokens::introspect),
            doc: Doc {
                summary: "RFC 7662: whether a token or API key is live (404 unless auth.introspection_token is set)",
                tag: "tokens",
                auth: IntrospectionToken,
                body: Some(b::introspect_body),
                response: b::introspection,
                errors: &[401, 404],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/logout",
            handler: |r| r.to(accounts::logout),
            doc: Doc {
                summary: "Ends this session, or every session with {\"all\": true}",
                tag: "accounts",
                auth: Token,
                body: Some(b::logout_body),
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Get],
            path: "/profile",
            handler: |r| r.to(accounts::profile),
            doc: Doc {
                summary: "The caller's profile",
                tag: "accounts",
                auth: Token,
                response: b::profile,
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Put, Patch],
            path: "/profile",
            handler: |r| r.to(accounts::update_profile),
            doc: Doc {
                summary: "Changes the profile: absent fields stay, null clears",
                tag: "accounts",
                auth: Token,
                body: Some(b::profile_body),
                response: b::profile,
                errors: &[409],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Delete],
            path: "/profile",
            handler: |r| r.to(accounts::delete_account),
            doc: Doc {
                summary: "Deletes the account and everything it owns",
                tag: "accounts",
                auth: Token,
                body: Some(b::delete_account_body),
                errors: &[429],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Put],
            path: "/profile/password",
            handler: |r| r.to(accounts::change_password),
            doc: Doc {
                summary: "Changes the password; ends every other session",
                tag: "accounts",
                auth: Token,
                body: Some(b::password_body),
                errors: &[429],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Get],
            path: "/users",
            handler: |r| r.to(accounts::list_users),
            doc: Doc {
                summary: "Usernames; whole profiles for administrators",
                tag: "accounts",
                auth: Token,
                response: b::users,
                errors: &[400],
                query: PAGING,
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/api/data",
            handler: |r| r.to(data::create),
            doc: Doc {
                summary: "Stores a value under a new key",
                tag: "data",
                auth: Token,
                body: Some(b::entry_body),
                success: 201,
                response: b::entry,
                errors: &[409],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Get],
            path: "/api/data",
            handler: |r| r.to(data::list),
            doc: Doc {
                summary: "The caller's keys, in key order",
                tag: "data",
                auth: Token,
                response: b::entries,
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
            handler: |r| r.to(data::read),
            doc: Doc {
                summary: "Reads one value",
                tag: "data",
                auth: Token,
                response: b::entry,
                errors: &[400, 404],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Put],
            path: "/api/data/{key:.*}",
            handler: |r| r.to(data::replace),
            doc: Doc {
                summary: "Replaces one value",
                tag: "data",
                auth: Token,
                body: Some(b::value_body),
                response: b::entry,
                errors: &[404],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Delete],
            path: "/api/data/{key:.*}",
            handler: |r| r.to(data::delete),
            doc: Doc {
                summary: "Deletes one value",
                tag: "data",
                auth: Token,
                errors: &[400, 404],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/create_api",
            aliases: &["/api"],
            handler: |r| r.to(apis::create),
            doc: Doc {
                summary: "Defines an API: endpoints, each with a JSON Schema; returns its first key",
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
            handler: |r| r.to(apis::list),
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
            handler: |r| r.to(apis::issue_key),
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
            handler: |r| r.to(apis::revoke_key),
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
            handler: |r| r.to(apis::read),
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
            handler: |r| r.to(apis::change),
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
            handler: |r| r.to(apis::delete),
            doc: Doc {
                summary: "Deletes the API, its keys and its records",
                tag: "apis",
                auth: Token,
                errors: &[404],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/api/{api_name}/{endpoint}",
            handler: |r| r.to(records::create),
            doc: Doc {
                summary: "Stores a record, validated against the endpoint's schema",
                tag: "records",
                auth: KeyOrToken,
                body: Some(b::record_body),
                success: 201,
                response: b::created_record,
                errors: &[403, 404],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Get],
            path: "/api/{api_name}/{endpoint}",
            handler: |r| r.to(records::list),
            doc: Doc {
                summary: "Records, newest first; any other query parameter `field=value` filters on a top-level field",
                tag: "records",
                auth: KeyOrToken,
                response: b::records,
                errors: &[400, 403, 404],
                query: PAGING,
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Get],
            path: "/api/{api_name}/{endpoint}/{record_id}",
            handler: |r| r.to(records::read),
            doc: Doc {
                summary: "Reads one record",
                tag: "records",
                auth: KeyOrToken,
                response: b::record,
                errors: &[403, 404],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Put],
            path: "/api/{api_name}/{endpoint}/{record_id}",
            handler: |r| r.to(records::replace),
            doc: Doc {
                summary: "Replaces one record (validated)",
                tag: "records",
                auth: KeyOrToken,
                body: Some(b::record_body),
                response: b::record,
                errors: &[403, 404, 409],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Patch],
            path: "/api/{api_name}/{endpoint}/{record_id}",
            handler: |r| r.to(records::patch),
            doc: Doc {
                summary: "Merge-patches one record (RFC 7396; the result is validated)",
                tag: "records",
                auth: KeyOrToken,
                body: Some(b::record_body),
                response: b::record,
                errors: &[403, 404, 409],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Delete],
            path: "/api/{api_name}/{endpoint}/{record_id}",
            handler: |r| r.to(records::delete),
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
        // 50 routes: 58 operations with their aliases and HEADs, as the contract lists.
        assert_eq!(contract().len(), 50);
        assert_eq!(seen.len(), 58);
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
