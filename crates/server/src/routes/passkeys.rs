//! §9's passkey routes: registration, listing, deletion, and usernameless login.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use keygate_domain::mfa::{
    PasskeyChallenge, PasskeyFinishForm, PasskeyLoginForm, PasswordConfirmationForm, StoredPasskey,
};
use serde_json::{json, Value};

use super::respond::{success, timestamp, token_response};
use super::{ContractRoute, DOC, ROUTE};
use crate::error::ApiError;
use crate::extract::{client_address, Authenticated, Deferred, JsonBody, OptionalJsonBody};
use crate::openapi::Doc;
use crate::state::AppState;

fn challenge_response(challenge: &PasskeyChallenge) -> HttpResponse {
    success(
        StatusCode::OK,
        json!({"challenge_id": challenge.challenge_id, "options": challenge.options}),
    )
}

fn passkey_view(passkey: &StoredPasskey) -> Value {
    json!({
        "passkey_id": passkey.id.as_str(),
        "name": passkey.name,
        "created_at": timestamp(passkey.created_at),
        "last_used_at": passkey.last_used_at.map(timestamp),
    })
}

/// `POST /passkeys/register/start`: creation options for a new passkey, after a fresh proof
/// (§12).
pub async fn register_start(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    body: Deferred<OptionalJsonBody<PasswordConfirmationForm>>,
) -> Result<HttpResponse, ApiError> {
    let OptionalJsonBody(form) = body.get()?;
    let challenge = state
        .keygate
        .passkeys
        .start_registration(
            &principal,
            form.unwrap_or_default().parse(),
            &client_address(&req),
        )
        .await?;
    Ok(challenge_response(&challenge))
}

/// `POST /passkeys/register/finish`: the new passkey's id and name.
pub async fn register_finish(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    body: Deferred<JsonBody<PasskeyFinishForm>>,
) -> Result<HttpResponse, ApiError> {
    let JsonBody(form) = body.get()?;
    let passkey = state
        .keygate
        .passkeys
        .finish_registration(&principal, form.parse_registration()?)
        .await?;
    Ok(success(
        StatusCode::CREATED,
        json!({"passkey_id": passkey.id.as_str(), "name": passkey.name}),
    ))
}

/// `GET /passkeys`: the caller's passkeys (never a key).
pub async fn list(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let passkeys = state.keygate.passkeys.list(&principal).await?;
    Ok(success(
        StatusCode::OK,
        json!({
            "passkeys": passkeys.iter().map(passkey_view).collect::<Vec<_>>(),
            "next_cursor": null,
        }),
    ))
}

/// `DELETE /passkeys/{passkey_id}`, after a fresh proof (§12).
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    passkey_id: web::Path<String>,
    body: Deferred<OptionalJsonBody<PasswordConfirmationForm>>,
) -> Result<HttpResponse, ApiError> {
    let OptionalJsonBody(form) = body.get()?;
    state
        .keygate
        .passkeys
        .delete(
            &principal,
            &passkey_id,
            form.unwrap_or_default().parse(),
            &client_address(&req),
        )
        .await?;
    Ok(success(
        StatusCode::OK,
        json!({"message": "Passkey deleted"}),
    ))
}

/// `POST /login/passkey/start`: request options any passkey of the site may answer.
pub async fn login_start(
    req: HttpRequest,
    state: web::Data<AppState>,
    OptionalJsonBody(form): OptionalJsonBody<PasskeyLoginForm>,
) -> Result<HttpResponse, ApiError> {
    let username = form.and_then(PasskeyLoginForm::parse);
    let challenge = state
        .keygate
        .passkeys
        .start_login(username.as_deref(), &client_address(&req))
        .await?;
    Ok(challenge_response(&challenge))
}

/// `POST /login/passkey/finish`: the `/login` success body.
pub async fn login_finish(
    req: HttpRequest,
    state: web::Data<AppState>,
    JsonBody(form): JsonBody<PasskeyFinishForm>,
) -> Result<HttpResponse, ApiError> {
    let outcome = state
        .keygate
        .passkeys
        .finish_login(form.parse_login()?, &client_address(&req))
        .await?;
    Ok(token_response(&outcome.tokens))
}

/// The passkey (§9) routes, in matching order.
pub(super) fn routes() -> Vec<ContractRoute> {
    use super::bodies as b;
    use super::Verb::{Delete, Get, Post};
    use crate::openapi::Auth::Token;
    vec![
        ContractRoute {
            methods: &[Post],
            path: "/login/passkey/start",
            handler: |r| r.to(login_start),
            doc: Doc {
                summary: "Starts a usernameless passkey login: WebAuthn request options",
                tag: "mfa",
                body: Some(schema::passkey_login_start_body),
                response: schema::passkey_challenge,
                errors: &[429],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/login/passkey/finish",
            handler: |r| r.to(login_finish),
            doc: Doc {
                summary: "Logs in with a passkey's assertion (no password, no second factor)",
                tag: "mfa",
                body: Some(schema::passkey_finish_body),
                response: b::tokens,
                errors: &[400, 401, 429],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/passkeys/register/start",
            handler: |r| r.to(register_start),
            doc: Doc {
                summary: "Starts registering a passkey (after a fresh proof, §12): WebAuthn creation options",
                tag: "mfa",
                auth: Token,
                body: Some(b::password_check),
                response: schema::passkey_challenge,
                errors: &[401, 403, 409, 429],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/passkeys/register/finish",
            handler: |r| r.to(register_finish),
            doc: Doc {
                summary: "Finishes registering a passkey with the authenticator's answer",
                tag: "mfa",
                auth: Token,
                body: Some(schema::passkey_finish_body),
                success: 201,
                errors: &[400, 409],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Get],
            path: "/passkeys",
            handler: |r| r.to(list),
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
            handler: |r| r.to(delete),
            doc: Doc {
                summary: "Deletes one of the caller's passkeys, after a fresh proof (§12)",
                tag: "mfa",
                auth: Token,
                body: Some(b::password_check),
                errors: &[401, 403, 404, 429],
                ..DOC
            },
            ..ROUTE
        },
    ]
}

/// The JSON Schemas of this section's bodies, for `/openapi.json`; each limit is the value
/// object's own constant, so the description cannot drift from what the domain refuses.
mod schema {
    use crate::routes::bodies::success_with;
    use serde_json::{json, Value};

    /// `POST /login/passkey/start` (the body is optional).
    pub(super) fn passkey_login_start_body() -> Value {
        json!({"type": "object", "properties": {"username": {"type": "string"}}})
    }

    /// The second half of a passkey ceremony.
    pub(super) fn passkey_finish_body() -> Value {
        json!({
            "type": "object",
            "required": ["challenge_id", "credential"],
            "properties": {
                "challenge_id": {"type": "string"},
                "credential": {"type": "object", "description": "The PublicKeyCredential, as JSON (binary fields base64url)"},
                "name": {"type": "string", "maxLength": 64}
            }
        })
    }

    /// The first half of a passkey ceremony.
    pub(super) fn passkey_challenge() -> Value {
        success_with(
            json!({"challenge_id": {"type": "string"}, "options": {"type": "object"}}),
            &["challenge_id", "options"],
        )
    }
}
