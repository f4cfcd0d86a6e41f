//! The caller's profile (read, change, password, deletion) and the account list: parse, call
//! the service, map the result.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use keygate_domain::accounts::{
    Age, DeletionForm, Email, Gender, PasswordChangeForm, PersonName, ProfileForm, User,
    UserListing, Username,
};
use keygate_domain::{Error, PageRequest};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::respond::{success, timestamp};
use super::{ContractRoute, DOC, PAGING, ROUTE};
use crate::error::ApiError;
use crate::extract::{client_address, Authenticated, Deferred, JsonBody, OptionalJsonBody};
use crate::openapi::Doc;
use crate::state::AppState;

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
    /// An address asked for and not yet proven (§12).
    pending_email: Option<&'a str>,
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
        pending_email: user.pending_email.as_ref().map(Email::as_str),
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
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    body: Deferred<JsonBody<ProfileForm>>,
) -> Result<HttpResponse, ApiError> {
    let JsonBody(form) = body.get()?;
    let user = state
        .keygate
        .accounts
        .update_profile(&principal, form.parse()?, &client_address(&req))
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
    body: Deferred<OptionalJsonBody<DeletionForm>>,
) -> Result<HttpResponse, ApiError> {
    let OptionalJsonBody(form) = body.get()?;
    state
        .keygate
        .accounts
        .delete_account(
            &principal,
            form.unwrap_or_default().parse(),
            &client_address(&req),
        )
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

/// The profile routes, in matching order.
pub(super) fn routes() -> Vec<ContractRoute> {
    use super::Verb::{Delete, Get, Patch, Put};
    use crate::openapi::Auth::Token;
    vec![
        ContractRoute {
            methods: &[Get],
            path: "/profile",
            handler: |r| r.to(profile),
            doc: Doc {
                summary: "The caller's profile",
                tag: "accounts",
                auth: Token,
                response: schema::profile,
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
                body: Some(schema::profile_body),
                response: schema::profile,
                errors: &[403, 409, 429],
                ..DOC
            },
            ..ROUTE
        },
        ContractRoute {
            methods: &[Delete],
            path: "/profile",
            handler: |r| r.to(delete_account),
            doc: Doc {
                summary: "Deletes the account and everything it owns, after a fresh proof (§12)",
                tag: "accounts",
                auth: Token,
                body: Some(crate::routes::bodies::password_check),
                errors: &[401, 403, 429],
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
                body: Some(schema::password_body),
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
                response: schema::users,
                errors: &[400],
                query: PAGING,
                ..DOC
            },
            ..ROUTE
        },
    ]
}

/// The JSON Schemas of this section's bodies, for `/openapi.json`; each limit is the value
/// object's own constant, so the description cannot drift from what the domain refuses.
mod schema {
    use crate::routes::bodies::{
        age, email, free_text, new_password, success_with, username, TIME,
    };
    use keygate_domain::accounts::{Gender, PersonName};
    use serde_json::{json, Value};

    /// Who is listed in `GET /users`: a username, or a whole profile for an admin.
    fn user_item() -> Value {
        json!({"type": "object", "properties": {
            "id": {"type": "string"}, "username": {"type": ["string", "null"]},
            "email": {"type": ["string", "null"]}, "role": {"type": "string"}
        }})
    }

    /// A profile.
    pub(super) fn profile() -> Value {
        success_with(
            json!({
                "id": {"type": "string"}, "username": {"type": ["string", "null"]},
                "email": {"type": ["string", "null"]}, "name": {"type": ["string", "null"]},
                "full_name": {"type": ["string", "null"]}, "age": {"type": ["integer", "null"]},
                "gender": {"type": ["string", "null"]}, "role": {"type": "string"},
                "created_at": {"type": "string", "format": TIME},
                "updated_at": {"type": "string", "format": TIME},
                "email_verified": {"type": "boolean"},
                "pending_email": {"type": ["string", "null"]}
            }),
            &["id", "role"],
        )
    }

    /// Profile changes: absent fields stay, `null` clears.
    pub(super) fn profile_body() -> Value {
        json!({
            "type": "object",
            "properties": {
                "username": {"anyOf": [username(), {"type": "null"}]},
                "email": {"anyOf": [email(), {"type": "null"}]},
                "name": free_text(PersonName::MAX_CHARS), "full_name": free_text(PersonName::MAX_CHARS),
                "age": age(), "gender": free_text(Gender::MAX_CHARS),
                "password": {"type": "string", "description":
                    "the current password: confirms an email change when the login is older than auth.reauth_window_secs (§12); only beside email"}
            }
        })
    }

    /// `PUT /profile/password`.
    pub(super) fn password_body() -> Value {
        json!({
            "type": "object",
            "properties": {"current_password": {"type": "string"}, "new_password": new_password()},
            "required": ["current_password", "new_password"]
        })
    }

    /// `GET /users`.
    pub(super) fn users() -> Value {
        success_with(
            json!({"users": {"type": "array", "items": user_item()}, "next_cursor": {"type": ["string", "null"]}}),
            &["users"],
        )
    }
}
