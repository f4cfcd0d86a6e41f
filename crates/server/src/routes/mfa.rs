//! §9's TOTP routes: enrolment, confirmation, removal, recovery codes, and the login's
//! second step.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use keygate_domain::mfa::{PasswordConfirmationForm, SecondStepForm, TotpCodeForm};
use serde_json::json;

use super::respond::{success, token_response};
use super::{ContractRoute, DOC, ROUTE};
use crate::error::ApiError;
use crate::extract::{client_address, Authenticated, Deferred, JsonBody, OptionalJsonBody};
use crate::openapi::Doc;
use crate::state::AppState;

/// `POST /mfa/totp`: a secret waiting for its first code, after a fresh proof (§12).
pub async fn enrol(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    body: Deferred<OptionalJsonBody<PasswordConfirmationForm>>,
) -> Result<HttpResponse, ApiError> {
    let OptionalJsonBody(form) = body.get()?;
    let enrolment = state
        .keygate
        .second_factor
        .enrol_totp(
            &principal,
            form.unwrap_or_default().parse(),
            &client_address(&req),
        )
        .await?;
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
    body: Deferred<JsonBody<TotpCodeForm>>,
) -> Result<HttpResponse, ApiError> {
    let JsonBody(form) = body.get()?;
    let codes = state
        .keygate
        .second_factor
        .confirm_totp(&principal, form.parse()?, &client_address(&req))
        .await?;
    Ok(success(StatusCode::OK, json!({"recovery_codes": codes})))
}

/// `DELETE /mfa/totp`: TOTP off, after a fresh proof (§12).
pub async fn disable(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    body: Deferred<OptionalJsonBody<PasswordConfirmationForm>>,
) -> Result<HttpResponse, ApiError> {
    let OptionalJsonBody(form) = body.get()?;
    state
        .keygate
        .second_factor
        .disable_totp(
            &principal,
            form.unwrap_or_default().parse(),
            &client_address(&req),
        )
        .await?;
    Ok(success(
        StatusCode::OK,
        json!({"message": "TOTP turned off"}),
    ))
}

/// `POST /mfa/recovery_codes`: a new set, after a fresh proof (§12); the old set is void.
pub async fn recovery_codes(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    body: Deferred<OptionalJsonBody<PasswordConfirmationForm>>,
) -> Result<HttpResponse, ApiError> {
    let OptionalJsonBody(form) = body.get()?;
    let codes = state
        .keygate
        .second_factor
        .new_recovery_codes(
            &principal,
            form.unwrap_or_default().parse(),
            &client_address(&req),
        )
        .await?;
    Ok(success(StatusCode::OK, json!({"recovery_codes": codes})))
}

/// `POST /login/mfa`: the second step; the `/login` success body.
pub async fn second_step(
    req: HttpRequest,
    state: web::Data<AppState>,
    JsonBody(form): JsonBody<SecondStepForm>,
) -> Result<HttpResponse, ApiError> {
    let outcome = state
        .keygate
        .second_factor
        .login_second_factor(form.parse()?, &client_address(&req))
        .await?;
    Ok(token_response(&outcome.tokens))
}

/// The second factor (§9) routes, in matching order.
pub(super) fn routes() -> Vec<ContractRoute> {
    use super::bodies as b;
    use super::Verb::{Delete, Post};
    use crate::openapi::Auth::Token;
    vec![
        ContractRoute {
            methods: &[Post],
            path: "/login/mfa",
            handler: |r| r.to(second_step),
            doc: Doc {
                summary: "The second step of a login with TOTP on: a TOTP code or a recovery code",
                tag: "mfa",
                body: Some(schema::second_step_body),
                response: b::tokens,
                errors: &[400, 401, 429],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/mfa/totp",
            handler: |r| r.to(enrol),
            doc: Doc {
                summary: "Starts TOTP enrolment (after a fresh proof, §12): a secret and its otpauth:// URI",
                tag: "mfa",
                auth: Token,
                body: Some(b::password_check),
                success: 201,
                errors: &[401, 403, 409, 429],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Delete],
            path: "/mfa/totp",
            handler: |r| r.to(disable),
            doc: Doc {
                summary: "Turns TOTP off (and voids the recovery codes) after a fresh proof (§12)",
                tag: "mfa",
                auth: Token,
                body: Some(b::password_check),
                errors: &[401, 403, 409, 429],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/mfa/totp/confirm",
            handler: |r| r.to(confirm),
            doc: Doc {
                summary: "The first code turns TOTP on: 10 recovery codes, shown once",
                tag: "mfa",
                auth: Token,
                body: Some(schema::totp_code_body),
                errors: &[400, 401, 409, 429],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/mfa/recovery_codes",
            handler: |r| r.to(recovery_codes),
            doc: Doc {
                summary: "A new set of recovery codes after a fresh proof (§12); the old set is void",
                tag: "mfa",
                auth: Token,
                body: Some(b::password_check),
                errors: &[401, 403, 409, 429],
                ..DOC
            },
            ..ROUTE
        },
    ]
}

/// The JSON Schemas of this section's bodies, for `/openapi.json`; each limit is the value
/// object's own constant, so the description cannot drift from what the domain refuses.
mod schema {
    use serde_json::{json, Value};

    /// `POST /login/mfa`.
    pub(super) fn second_step_body() -> Value {
        json!({
            "type": "object",
            "required": ["mfa_token"],
            "properties": {
                "mfa_token": {"type": "string"},
                "code": {"type": "string", "pattern": "^[0-9]{6}$"},
                "recovery_code": {"type": "string"}
            },
            "oneOf": [{"required": ["code"]}, {"required": ["recovery_code"]}]
        })
    }

    /// `POST /mfa/totp/confirm`.
    pub(super) fn totp_code_body() -> Value {
        json!({
            "type": "object",
            "required": ["code"],
            "properties": {"code": {"type": "string", "pattern": "^[0-9]{6}$"}}
        })
    }
}
