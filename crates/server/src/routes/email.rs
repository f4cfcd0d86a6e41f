//! §8's routes: email verification, password reset, one-time login codes.
//!
//! `/password/forgot` and `/login/code/request` answer `202` before any lookup: the throttle is
//! checked first (alike for known and unknown addresses), then the work runs in a task of its
//! own, so neither the body nor the time of the answer tells whether the account exists.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use keygate_domain::email_flows::{
    CodeLoginForm, CodeRequestForm, PasswordResetForm, ResetRequestForm, VerificationForm,
};
use keygate_domain::Error;
use serde_json::json;

use super::respond::{login_step_response, success};
use super::{ContractRoute, DOC, ROUTE};
use crate::error::ApiError;
use crate::extract::{client_address, Authenticated, JsonBody};
use crate::openapi::Doc;
use crate::state::AppState;

/// What `/password/forgot` always answers.
pub const FORGOT_ANSWER: &str = "If the account exists, we sent a reset link";
/// What `/login/code/request` always answers.
pub const CODE_ANSWER: &str = "If the account exists, we sent a login code";

/// `POST /email/verify/request` (authenticated): mails a verification link.
pub async fn request_verification(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
) -> Result<HttpResponse, ApiError> {
    state
        .keygate
        .email_flows
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
    JsonBody(form): JsonBody<VerificationForm>,
) -> Result<HttpResponse, ApiError> {
    let user = state
        .keygate
        .email_flows
        .verify_email(form.parse()?)
        .await?;
    Ok(success(
        StatusCode::OK,
        json!({"message": "Email address verified", "email": user.email.as_ref().map(|e| e.as_str()), "email_verified": true}),
    ))
}

/// `POST /password/forgot`: always the same `202`.
pub async fn forgot(
    req: HttpRequest,
    state: web::Data<AppState>,
    JsonBody(form): JsonBody<ResetRequestForm>,
) -> Result<HttpResponse, ApiError> {
    let request = form.parse()?;
    state
        .keygate
        .email_flows
        .throttle_mail_request(&request.identifier, &client_address(&req))
        .await?;
    let state = state.clone();
    actix_web::rt::spawn(async move {
        if let Err(e) = state
            .keygate
            .email_flows
            .send_password_reset(&request.identifier)
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
    JsonBody(form): JsonBody<PasswordResetForm>,
) -> Result<HttpResponse, ApiError> {
    state
        .keygate
        .email_flows
        .reset_password(form.parse()?)
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
    JsonBody(form): JsonBody<CodeRequestForm>,
) -> Result<HttpResponse, ApiError> {
    let request = form.parse()?;
    state
        .keygate
        .email_flows
        .throttle_mail_request(&request.email, &client_address(&req))
        .await?;
    let state = state.clone();
    actix_web::rt::spawn(async move {
        if let Err(e) = state
            .keygate
            .email_flows
            .send_login_code(&request.email)
            .await
        {
            tracing::warn!("queuing a login code mail failed: {e}");
        }
    });
    Ok(success(
        StatusCode::ACCEPTED,
        json!({"message": CODE_ANSWER}),
    ))
}

/// The earliest a refused code login is answered, from the moment its request arrived. Who
/// has an account, and who holds a live code, costs different store work (a code's try is
/// a durable write): every refusal waits out the same floor, well above that work, so its
/// timing tells nothing (issue 31). The wait holds no worker.
const CODE_REFUSAL_FLOOR: std::time::Duration = std::time::Duration::from_millis(25);

/// `POST /login/code`: an emailed code logs in; the `/login` success body.
pub async fn login_with_code(
    req: HttpRequest,
    state: web::Data<AppState>,
    JsonBody(form): JsonBody<CodeLoginForm>,
) -> Result<HttpResponse, ApiError> {
    let arrived = tokio::time::Instant::now();
    let outcome = state
        .keygate
        .email_flows
        .login_with_code(form.parse()?, &client_address(&req))
        .await;
    match outcome {
        Ok(step) => Ok(login_step_response(&step)),
        Err(refused @ Error::InvalidCredentials) => {
            tokio::time::sleep_until(arrived + CODE_REFUSAL_FLOOR).await;
            Err(refused.into())
        }
        Err(other) => Err(other.into()),
    }
}

/// The email (§8) routes, in matching order.
pub(super) fn routes() -> Vec<ContractRoute> {
    use super::bodies as b;
    use super::Verb::Post;
    use crate::openapi::Auth::Token;
    vec![
        ContractRoute {
            methods: &[Post],
            path: "/email/verify/request",
            handler: |r| r.to(request_verification),
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
            handler: |r| r.to(verify),
            doc: Doc {
                summary: "Spends a verification token: the address is verified",
                tag: "email",
                body: Some(schema::email_token_body),
                errors: &[400],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/password/forgot",
            handler: |r| r.to(forgot),
            doc: Doc {
                summary: "Mails a reset link if the account exists; the same answer either way",
                tag: "email",
                body: Some(schema::forgot_body),
                success: 202,
                errors: &[400, 429],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/password/reset",
            handler: |r| r.to(reset),
            doc: Doc {
                summary: "Spends a reset token and sets a new password; every session ends",
                tag: "email",
                body: Some(schema::reset_body),
                errors: &[400],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/login/code/request",
            handler: |r| r.to(request_code),
            doc: Doc {
                summary:
                    "Mails a 6-digit login code if the account exists; the same answer either way",
                tag: "email",
                body: Some(schema::code_request_body),
                success: 202,
                errors: &[400, 429],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Post],
            path: "/login/code",
            handler: |r| r.to(login_with_code),
            doc: Doc {
                summary: "Logs in with an emailed code",
                tag: "email",
                body: Some(schema::code_login_body),
                response: b::tokens,
                errors: &[400, 401, 429],
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

    /// `{"token"}`: a link token from a mail.
    pub(super) fn email_token_body() -> Value {
        json!({"type": "object", "required": ["token"], "properties": {"token": {"type": "string"}}})
    }

    /// `{"email"}` or `{"identifier"}` of a password reset request.
    pub(super) fn forgot_body() -> Value {
        json!({"type": "object", "properties": {"email": {"type": "string"}, "identifier": {"type": "string"}}})
    }

    /// `{"token", "new_password"}`.
    pub(super) fn reset_body() -> Value {
        json!({
            "type": "object",
            "required": ["token", "new_password"],
            "properties": {"token": {"type": "string"}, "new_password": {"type": "string"}}
        })
    }

    /// `{"email"}` of a login code request.
    pub(super) fn code_request_body() -> Value {
        json!({"type": "object", "required": ["email"], "properties": {"email": {"type": "string"}}})
    }

    /// `{"email", "code"}`.
    pub(super) fn code_login_body() -> Value {
        json!({
            "type": "object",
            "required": ["email", "code"],
            "properties": {"email": {"type": "string"}, "code": {"type": "string", "pattern": "^[0-9]{6}$"}}
        })
    }
}
