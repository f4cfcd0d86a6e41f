//! §9's TOTP routes: enrolment, confirmation, removal, recovery codes, and the login's
//! second step.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use keygate_domain::accounts::{LoginStep, SecondFactorAnswer, SecondFactorProof};
use serde::Deserialize;
use serde_json::json;

use super::accounts::token_response;
use super::email::require;
use super::respond::success;
use crate::error::ApiError;
use crate::extract::{client_address, Authenticated, Deferred, JsonBody};
use crate::state::AppState;

/// The body of `POST /mfa/totp/confirm`.
#[derive(Debug, Default, Deserialize)]
pub struct CodeForm {
    code: Option<String>,
}

/// The body of `DELETE /mfa/totp` and `POST /mfa/recovery_codes`.
#[derive(Debug, Default, Deserialize)]
pub struct PasswordForm {
    password: Option<String>,
}

impl PasswordForm {
    /// The password, required.
    fn password(&self) -> Result<&str, ApiError> {
        let [password] = require(&[("password", &self.password)])?[..] else {
            return Err(ApiError::internal());
        };
        Ok(password)
    }
}

/// The body of `POST /login/mfa`.
#[derive(Debug, Default, Deserialize)]
pub struct SecondStepForm {
    mfa_token: Option<String>,
    code: Option<String>,
    recovery_code: Option<String>,
}

/// What `/login` (and `/login/code`) answer: tokens, or the second step's token.
pub(super) fn login_step_response(step: &LoginStep) -> HttpResponse {
    match step {
        LoginStep::Done(outcome) => token_response(&outcome.tokens),
        LoginStep::SecondFactor(pending) => success(
            StatusCode::OK,
            json!({
                "mfa_required": true,
                "mfa_token": pending.mfa_token,
                "methods": pending.methods,
            }),
        ),
    }
}

/// `POST /mfa/totp`: a secret waiting for its first code.
pub async fn enrol(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let enrolment = state.keygate.accounts.enrol_totp(&principal).await?;
    Ok(success(
        StatusCode::CREATED,
        json!({"secret": enrolment.secret, "otpauth_uri": enrolment.otpauth_uri}),
    ))
}

/// `POST /mfa/totp/confirm`: TOTP on, and the recovery codes (shown once).
pub async fn confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    body: Deferred<JsonBody<CodeForm>>,
) -> Result<HttpResponse, ApiError> {
    let JsonBody(form) = body.get()?;
    let [code] = require(&[("code", &form.code)])?[..] else {
        return Err(ApiError::internal());
    };
    let codes = state
        .keygate
        .accounts
        .confirm_totp(&principal, code, &client_address(&req))
        .await?;
    Ok(success(StatusCode::OK, json!({"recovery_codes": codes})))
}

/// `DELETE /mfa/totp`: TOTP off, after the password.
pub async fn disable(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    body: Deferred<JsonBody<PasswordForm>>,
) -> Result<HttpResponse, ApiError> {
    let JsonBody(form) = body.get()?;
    state
        .keygate
        .accounts
        .disable_totp(&principal, form.password()?, &client_address(&req))
        .await?;
    Ok(success(
        StatusCode::OK,
        json!({"message": "TOTP turned off"}),
    ))
}

/// `POST /mfa/recovery_codes`: a new set, after the password; the old set is void.
pub async fn recovery_codes(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    body: Deferred<JsonBody<PasswordForm>>,
) -> Result<HttpResponse, ApiError> {
    let JsonBody(form) = body.get()?;
    let codes = state
        .keygate
        .accounts
        .new_recovery_codes(&principal, form.password()?, &client_address(&req))
        .await?;
    Ok(success(StatusCode::OK, json!({"recovery_codes": codes})))
}

/// `POST /login/mfa`: the second step; the `/login` success body.
pub async fn second_step(
    req: HttpRequest,
    state: web::Data<AppState>,
    JsonBody(form): JsonBody<SecondStepForm>,
) -> Result<HttpResponse, ApiError> {
    let [token] = require(&[("mfa_token", &form.mfa_token)])?[..] else {
        return Err(ApiError::internal());
    };
    fn given(value: &Option<String>) -> Option<&str> {
        value.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }
    let proof = match (given(&form.code), given(&form.recovery_code)) {
        (Some(code), None) => SecondFactorProof::Totp(code.to_owned()),
        (None, Some(code)) => SecondFactorProof::RecoveryCode(code.to_owned()),
        (None, None) => {
            return Err(keygate_domain::Error::MissingParameters(vec!["code".into()]).into())
        }
        (Some(_), Some(_)) => {
            return Err(keygate_domain::Error::invalid(
                "recovery_code",
                "give either code or recovery_code, not both",
            )
            .into())
        }
    };
    let outcome = state
        .keygate
        .accounts
        .login_second_factor(
            SecondFactorAnswer {
                mfa_token: token.trim().to_owned(),
                proof,
            },
            &client_address(&req),
        )
        .await?;
    Ok(token_response(&outcome.tokens))
}
