//! Accounts in and out: registration, login, refresh and logout.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use keygate_domain::accounts::{LoginForm, RegistrationForm};
use keygate_domain::sessions::{LogoutForm, RefreshForm};
use serde_json::json;

use super::respond::{login_step_response, success, token_response};
use super::{ContractRoute, DOC, ROUTE};
use crate::error::ApiError;
use crate::extract::{client_address, Authenticated, Deferred, JsonBody, OptionalJsonBody};
use crate::openapi::Doc;
use crate::state::AppState;

/// `POST /register`, `POST /api/register`.
pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    JsonBody(form): JsonBody<RegistrationForm>,
) -> Result<HttpResponse, ApiError> {
    let user = state
        .keygate
        .accounts
        .register(form.parse()?, &client_address(&req))
        .await?;
    Ok(success(
        StatusCode::CREATED,
        json!({"message": "User registered successfully", "user_id": user.id.as_str()}),
    ))
}

/// `POST /login`, `POST /api/token`.
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    JsonBody(form): JsonBody<LoginForm>,
) -> Result<HttpResponse, ApiError> {
    let step = state
        .keygate
        .accounts
        .login(form.parse()?, &client_address(&req))
        .await?;
    Ok(login_step_response(&step))
}

/// `POST /token/refresh`.
pub async fn refresh(
    state: web::Data<AppState>,
    JsonBody(form): JsonBody<RefreshForm>,
) -> Result<HttpResponse, ApiError> {
    let tokens = state.keygate.sessions.refresh(form.parse()?).await?;
    Ok(token_response(&tokens))
}

/// `POST /logout`.
pub async fn logout(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    body: Deferred<OptionalJsonBody<LogoutForm>>,
) -> Result<HttpResponse, ApiError> {
    let OptionalJsonBody(form) = body.get()?;
    state
        .keygate
        .sessions
        .logout(&principal, form.unwrap_or_default().parse())
        .await?;
    Ok(success(StatusCode::OK, json!({"message": "Logged out"})))
}

/// The accounts routes, in matching order.
pub(super) fn routes() -> Vec<ContractRoute> {
    use super::bodies as b;
    use super::Verb::Post;
    use crate::openapi::Auth::Token;
    vec![
        ContractRoute {
            methods: &[Post],
            path: "/register",
            aliases: &["/api/register"],
            handler: |r| r.to(register),
            doc: Doc {
                summary: "Registers an account",
                tag: "accounts",
                body: Some(schema::register_body),
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
            handler: |r| r.to(login),
            doc: Doc {
                summary: "Logs in: an access token and a refresh token",
                tag: "accounts",
                body: Some(schema::login_body),
                response: b::tokens,
                errors: &[401, 429],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/token/refresh",
            handler: |r| r.to(refresh),
            doc: Doc {
                summary: "Spends a refresh token for a new pair",
                tag: "accounts",
                body: Some(schema::refresh_body),
                response: b::tokens,
                errors: &[401],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/logout",
            handler: |r| r.to(logout),
            doc: Doc {
                summary: "Ends this session, or every session with {\"all\": true}",
                tag: "accounts",
                auth: Token,
                body: Some(schema::logout_body),
                ..DOC
            },
            ..ROUTE
        },
    ]
}

/// The JSON Schemas of this section's bodies, for `/openapi.json`; each limit is the value
/// object's own constant, so the description cannot drift from what the domain refuses.
mod schema {
    use crate::routes::bodies::{age, email, free_text, new_password, username};
    use keygate_domain::accounts::{Gender, PersonName};
    use serde_json::{json, Value};

    /// A registration.
    pub(super) fn register_body() -> Value {
        json!({
            "type": "object",
            "description": "username or email (or both) and a password; optional profile fields",
            "properties": {
                "username": username(), "email": email(), "password": new_password(),
                "name": free_text(PersonName::MAX_CHARS), "full_name": free_text(PersonName::MAX_CHARS),
                "age": age(), "gender": free_text(Gender::MAX_CHARS)
            },
            "required": ["password"],
            "anyOf": [{"required": ["username"]}, {"required": ["email"]}]
        })
    }

    /// A login: one identifier and the password.
    pub(super) fn login_body() -> Value {
        json!({
            "type": "object",
            "properties": {
                "username": {"type": "string", "minLength": 1},
                "email": {"type": "string", "minLength": 1},
                "identifier": {"type": "string", "minLength": 1},
                "password": {"type": "string", "minLength": 1}
            },
            "required": ["password"],
            "anyOf": [{"required": ["username"]}, {"required": ["email"]}, {"required": ["identifier"]}]
        })
    }

    /// `POST /token/refresh`.
    pub(super) fn refresh_body() -> Value {
        json!({"type": "object", "properties": {"refresh_token": {"type": "string"}}, "required": ["refresh_token"]})
    }

    /// `POST /logout`.
    pub(super) fn logout_body() -> Value {
        json!({"type": "object", "properties": {"all": {"type": "boolean"}}})
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::routes::bodies::admits;

        #[actix_web::test]
        async fn documented_bodies_admit_the_earlier_systems_and_refuse_what_the_domain_refuses() {
            // The three earlier systems' registrations (compat 000, 002, 004).
            for body in [
                json!({"name": "Ann", "email": "ann@example.com", "password": "long-enough-1"}),
                json!({"username": "ann_b", "email": "ann@example.com", "password": "long-enough-1",
                       "full_name": "Ann B", "age": 33, "gender": "f"}),
                json!({"username": "ann.b", "password": "long-enough-1"}),
            ] {
                assert!(admits(register_body(), body.clone()).await, "{body}");
            }
            for body in [
                json!({"password": "long-enough-1"}),
                json!({"username": "an", "password": "long-enough-1"}),
                json!({"username": "ann", "password": "short"}),
                json!({"username": "ann", "password": "long-enough-1", "age": 151}),
                json!({"username": "ann", "password": "long-enough-1", "gender": "a\u{7}b"}),
            ] {
                assert!(!admits(register_body(), body.clone()).await, "{body}");
            }
            assert!(admits(login_body(), json!({"identifier": "ann", "password": "x"})).await);
            assert!(!admits(login_body(), json!({"password": "x"})).await);
            assert!(!admits(login_body(), json!({"email": "", "password": "x"})).await);
        }
    }
}
