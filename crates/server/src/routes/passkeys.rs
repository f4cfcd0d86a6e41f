//! §9's passkey routes: registration, listing, deletion, and usernameless login.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use keygate_domain::accounts::PasskeyChallenge;
use keygate_domain::mfa::StoredPasskey;
use serde::Deserialize;
use serde_json::{json, Value};

use super::accounts::token_response;
use super::email::require;
use super::respond::{success, timestamp};
use crate::error::ApiError;
use crate::extract::{client_address, Authenticated, Deferred, JsonBody, OptionalJsonBody};
use crate::state::AppState;

/// The body of a ceremony's second half.
#[derive(Debug, Default, Deserialize)]
pub struct FinishForm {
    challenge_id: Option<String>,
    credential: Option<Value>,
    name: Option<String>,
}

/// The optional body of `POST /login/passkey/start`.
#[derive(Debug, Default, Deserialize)]
pub struct LoginStartForm {
    username: Option<String>,
}

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

/// The challenge id and the credential object of a ceremony's second half.
fn finish_parts(form: &FinishForm) -> Result<(&str, &Value), ApiError> {
    let [challenge_id] = require(&[("challenge_id", &form.challenge_id)])?[..] else {
        return Err(ApiError::internal());
    };
    match &form.credential {
        Some(credential @ Value::Object(_)) => Ok((challenge_id.trim(), credential)),
        None | Some(Value::Null) => {
            Err(keygate_domain::Error::MissingParameters(vec!["credential".into()]).into())
        }
        Some(_) => Err(keygate_domain::Error::invalid(
            "credential",
            "must be the PublicKeyCredential object, as JSON",
        )
        .into()),
    }
}

/// `POST /passkeys/register/start`: creation options for a new passkey.
pub async fn register_start(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let challenge = state
        .keygate
        .accounts
        .start_passkey_registration(&principal, &client_address(&req))
        .await?;
    Ok(challenge_response(&challenge))
}

/// `POST /passkeys/register/finish`: the new passkey's id and name.
pub async fn register_finish(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    body: Deferred<JsonBody<FinishForm>>,
) -> Result<HttpResponse, ApiError> {
    let JsonBody(form) = body.get()?;
    let (challenge_id, credential) = finish_parts(&form)?;
    let passkey = state
        .keygate
        .accounts
        .finish_passkey_registration(&principal, challenge_id, credential, form.name.as_deref())
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
    let passkeys = state.keygate.accounts.passkeys(&principal).await?;
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
        .accounts
        .delete_passkey(&principal, &passkey_id)
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
    OptionalJsonBody(form): OptionalJsonBody<LoginStartForm>,
) -> Result<HttpResponse, ApiError> {
    let username = form.and_then(|f| f.username);
    let challenge = state
        .keygate
        .accounts
        .start_passkey_login(username.as_deref(), &client_address(&req))
        .await?;
    Ok(challenge_response(&challenge))
}

/// `POST /login/passkey/finish`: the `/login` success body.
pub async fn login_finish(
    req: HttpRequest,
    state: web::Data<AppState>,
    JsonBody(form): JsonBody<FinishForm>,
) -> Result<HttpResponse, ApiError> {
    let (challenge_id, credential) = finish_parts(&form)?;
    let outcome = state
        .keygate
        .accounts
        .finish_passkey_login(challenge_id, credential, &client_address(&req))
        .await?;
    Ok(token_response(&outcome.tokens))
}
