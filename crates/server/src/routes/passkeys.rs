//! §9's passkey routes: registration, listing, deletion, and usernameless login.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use keygate_domain::mfa::{PasskeyChallenge, PasskeyFinishForm, PasskeyLoginForm, StoredPasskey};
use serde_json::{json, Value};

use super::respond::{success, timestamp, token_response};
use crate::error::ApiError;
use crate::extract::{client_address, Authenticated, Deferred, JsonBody, OptionalJsonBody};
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

/// `POST /passkeys/register/start`: creation options for a new passkey.
pub async fn register_start(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let challenge = state
        .keygate
        .passkeys
        .start_registration(&principal, &client_address(&req))
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

/// `DELETE /passkeys/{passkey_id}`.
pub async fn delete(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    passkey_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .keygate
        .passkeys
        .delete(&principal, &passkey_id)
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
