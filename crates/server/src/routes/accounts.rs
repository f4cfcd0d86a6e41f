//! Handlers of the accounts section: parse, call the service, map the result.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use keygate_domain::accounts::{
    Age, DeletionForm, Email, Gender, LoginForm, PasswordChangeForm, PersonName, ProfileForm,
    RegistrationForm, User, UserListing, Username,
};
use keygate_domain::sessions::{LogoutForm, RefreshForm};
use keygate_domain::{Error, PageRequest};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::respond::{login_step_response, success, timestamp, token_response};
use super::{ContractRoute, DOC, PAGING, ROUTE};
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

/// A profile without secrets, as its fields.
/// A profile as every account route answers it.
#[derive(Serialize)]
struct ProfileFields<'a> {
    id: &'a str,
    username: Option<&'a str>,
    email: Option<&'a str>,
    name: Option<&'a str>,
    full_name: Option<&'a str>,
    age: Option<u8>,
    gender: Option<&'a str>,
    role: &'a str,
    created_at: String,
    updated_at: String,
    email_verified: bool,
    /// The caller's own profile only (§9).
    #[serde(skip_serializing_if = "Option::is_none")]
    mfa: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'static str>,
}

fn profile_fields(user: &User) -> ProfileFields<'_> {
    ProfileFields {
        id: user.id.as_str(),
        username: user.username.as_ref().map(Username::as_str),
        email: user.email.as_ref().map(Email::as_str),
        name: user.name.as_ref().map(PersonName::as_str),
        full_name: user.full_name.as_ref().map(PersonName::as_str),
        age: user.age.map(Age::years),
        gender: user.gender.as_ref().map(Gender::as_str),
        role: user.role.as_str(),
        created_at: timestamp(user.created_at),
        updated_at: timestamp(user.updated_at),
        email_verified: user.email_verified,
        mfa: None,
        message: None,
    }
}

/// A profile's `mfa` member: `{"totp": bool, "passkeys": count}`.
async fn mfa_member(state: &AppState, user: &User) -> Result<serde_json::Value, ApiError> {
    let summary = state.keygate.second_factor.summary(&user.id).await?;
    Ok(json!({"totp": summary.totp, "passkeys": summary.passkeys}))
}

/// `GET /profile`.
pub async fn profile(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let user = state.keygate.accounts.profile(&principal).await?;
    let mut fields = profile_fields(&user);
    fields.mfa = Some(mfa_member(&state, &user).await?);
    Ok(success(StatusCode::OK, fields))
}

/// `PUT /profile`, `PATCH /profile`: fields absent stay, `null` clears.
pub async fn update_profile(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    body: Deferred<JsonBody<ProfileForm>>,
) -> Result<HttpResponse, ApiError> {
    let JsonBody(form) = body.get()?;
    let user = state
        .keygate
        .accounts
        .update_profile(&principal, form.parse()?)
        .await?;
    let mut fields = profile_fields(&user);
    fields.mfa = Some(mfa_member(&state, &user).await?);
    fields.message = Some("Profile updated");
    Ok(success(StatusCode::OK, fields))
}

/// `PUT /profile/password`: revokes every other session.
pub async fn change_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    body: Deferred<JsonBody<PasswordChangeForm>>,
) -> Result<HttpResponse, ApiError> {
    let JsonBody(form) = body.get()?;
    state
        .keygate
        .accounts
        .change_password(&principal, form.parse()?, &client_address(&req))
        .await?;
    Ok(success(
        StatusCode::OK,
        json!({"message": "Password changed"}),
    ))
}

/// `DELETE /profile`: removes the account and everything it owns.
pub async fn delete_account(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    body: Deferred<JsonBody<DeletionForm>>,
) -> Result<HttpResponse, ApiError> {
    let JsonBody(form) = body.get()?;
    state
        .keygate
        .accounts
        .delete_account(&principal, form.parse()?, &client_address(&req))
        .await?;
    Ok(success(
        StatusCode::OK,
        json!({"message": "Account deleted"}),
    ))
}

/// Query of list endpoints that take only `?limit=` and `?cursor=` (`GET /users`, `GET /api`).
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

impl ListQuery {
    /// The page asked for, validated.
    pub fn page(self) -> Result<PageRequest, Error> {
        PageRequest::new(self.limit, self.cursor)
    }
}

/// `GET /users`: usernames, or whole profiles for administrators.
pub async fn list_users(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.into_inner().page()?;
    let (users, next_cursor) = match state.keygate.accounts.list_users(&principal, &page).await? {
        UserListing::UsernamesOnly(page) => (
            page.items
                .into_iter()
                .map(|name| json!({"username": name}))
                .collect::<Vec<_>>(),
            page.next_cursor,
        ),
        UserListing::Full(page) => (
            page.items
                .iter()
                .map(|user| json!(profile_fields(user)))
                .collect(),
            page.next_cursor,
        ),
    };
    Ok(success(
        StatusCode::OK,
        json!({"users": users, "next_cursor": next_cursor}),
    ))
}

/// The accounts routes, in matching order.
pub(super) fn routes() -> Vec<ContractRoute> {
    use super::bodies as b;
    use super::Verb::{Delete, Get, Patch, Post, Put};
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
            handler: |r| r.to(login),
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
            handler: |r| r.to(refresh),
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
            path: "/logout",
            handler: |r| r.to(logout),
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
            handler: |r| r.to(profile),
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
            handler: |r| r.to(update_profile),
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
            handler: |r| r.to(delete_account),
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
            handler: |r| r.to(change_password),
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
            handler: |r| r.to(list_users),
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
    ]
}
