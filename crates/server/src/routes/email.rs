//! §8's routes: email verification, password reset, one-time login codes.
//!
//! `/password/forgot` and `/login/code/request` answer `202` before any lookup: the throttle is
//! checked first (alike for known and unknown addresses), then the work runs in a task of its
//! own, so neither the body nor the time of the answer tells whether the account exists.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::respond::success;
use crate::error::ApiError;
use crate::extract::{client_address, Authenticated, JsonBody};
use crate::state::AppState;

/// What `/password/forgot` always answers.
pub const FORGOT_ANSWER: &str = "If the account exists, we sent a reset link";
/// What `/login/code/request` always answers.
pub const CODE_ANSWER: &str = "If the account exists, we sent a login code";

/// The body of `POST /email/verify`.
#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    token: Option<String>,
}

/// The body of `POST /password/forgot`.
#[derive(Debug, Default, Deserialize)]
pub struct ForgotForm {
    email: Option<String>,
    identifier: Option<String>,
}

/// The body of `POST /password/reset`.
#[derive(Debug, Default, Deserialize)]
pub struct ResetForm {
    token: Option<String>,
    new_password: Option<String>,
}

/// The body of `POST /login/code/request` and `POST /login/code`.
#[derive(Debug, Default, Deserialize)]
pub struct CodeForm {
    email: Option<String>,
    code: Option<String>,
}

/// The fields of `fields` that are absent or blank, as a `400 missing_parameters`.
pub(super) fn require<'a>(fields: &[(&str, &'a Option<String>)]) -> Result<Vec<&'a str>, ApiError> {
    let missing: Vec<String> = fields
        .iter()
        .filter(|(_, value)| value.as_deref().is_none_or(|v| v.trim().is_empty()))
        .map(|(name, _)| (*name).to_owned())
        .collect();
    if !missing.is_empty() {
        return Err(keygate_domain::Error::MissingParameters(missing).into());
    }
    Ok(fields
        .iter()
        .map(|(_, value)| value.as_deref().unwrap_or_default())
        .collect())
}

/// `POST /email/verify/request` (authenticated): mails a verification link.
pub async fn request_verification(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
) -> Result<HttpResponse, ApiError> {
    state
        .keygate
        .accounts
        .request_verification(&principal, &client_address(&req))
        .await?;
    Ok(success(
        StatusCode::ACCEPTED,
        json!({"message": "If the address is not verified yet, we sent a verification link"}),
    ))
}

/// `POST /email/verify`: spends a verification token.
pub async fn verify(
    state: web::Data<AppState>,
    JsonBody(form): JsonBody<TokenForm>,
) -> Result<HttpResponse, ApiError> {
    let [token] = require(&[("token", &form.token)])?[..] else {
        return Err(ApiError::internal());
    };
    let user = state.keygate.accounts.verify_email(token).await?;
    Ok(success(
        StatusCode::OK,
        json!({"message": "Email address verified", "email": user.email.as_ref().map(|e| e.as_str()), "email_verified": true}),
    ))
}

/// `POST /password/forgot`: always the same `202`.
pub async fn forgot(
    req: HttpRequest,
    state: web::Data<AppState>,
    JsonBody(form): JsonBody<ForgotForm>,
) -> Result<HttpResponse, ApiError> {
    let identifier = form.email.or(form.identifier);
    let [identifier] = require(&[("email", &identifier)])?[..] else {
        return Err(ApiError::internal());
    };
    let accounts = &state.keygate.accounts;
    accounts.throttle_mail_request(identifier, &client_address(&req))?;
    let (state, identifier) = (state.clone(), identifier.to_owned());
    actix_web::rt::spawn(async move {
        if let Err(e) = state
            .keygate
            .accounts
            .send_password_reset(&identifier)
            .await
        {
            tracing::warn!("queuing a password reset mail failed: {e}");
        }
    });
    Ok(success(
        StatusCode::ACCEPTED,
        json!({"message": FORGOT_ANSWER}),
    ))
}

/// `POST /password/reset`: a reset token and a new password; every session ends.
pub async fn reset(
    state: web::Data<AppState>,
    JsonBody(form): JsonBody<ResetForm>,
) -> Result<HttpResponse, ApiError> {
    let [token, new_password] =
        require(&[("token", &form.token), ("new_password", &form.new_password)])?[..]
    else {
        return Err(ApiError::internal());
    };
    state
        .keygate
        .accounts
        .reset_password(token, new_password)
        .await?;
    Ok(success(
        StatusCode::OK,
        json!({"message": "Password changed; every session of the account has ended"}),
    ))
}

/// `POST /login/code/request`: always the same `202`.
pub async fn request_code(
    req: HttpRequest,
    state: web::Data<AppState>,
    JsonBody(form): JsonBody<CodeForm>,
) -> Result<HttpResponse, ApiError> {
    let [email] = require(&[("email", &form.email)])?[..] else {
        return Err(ApiError::internal());
    };
    state
        .keygate
        .accounts
        .throttle_mail_request(email, &client_address(&req))?;
    let (state, email) = (state.clone(), email.to_owned());
    actix_web::rt::spawn(async move {
        if let Err(e) = state.keygate.accounts.send_login_code(&email).await {
            tracing::warn!("queuing a login code mail failed: {e}");
        }
    });
    Ok(success(
        StatusCode::ACCEPTED,
        json!({"message": CODE_ANSWER}),
    ))
}

/// `POST /login/code`: an emailed code logs in; the `/login` success body.
pub async fn login_with_code(
    req: HttpRequest,
    state: web::Data<AppState>,
    JsonBody(form): JsonBody<CodeForm>,
) -> Result<HttpResponse, ApiError> {
    let [email, code] = require(&[("email", &form.email), ("code", &form.code)])?[..] else {
        return Err(ApiError::internal());
    };
    let step = state
        .keygate
        .accounts
        .login_with_code(email, code.trim(), &client_address(&req))
        .await?;
    Ok(super::mfa::login_step_response(&step))
}
