//! Handlers of the accounts section: parse, call the service, map the result.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use keygate_domain::accounts::{
    Age, Credentials, Email, Gender, PersonName, ProfileChanges, Registration, Settable, User,
    UserListing, Username,
};
use keygate_domain::error::Violations;
use keygate_domain::sessions::IssuedTokens;
use keygate_domain::{Error, FieldViolation, PageRequest};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::respond::{success, timestamp};
use crate::error::ApiError;
use crate::extract::{client_address, Authenticated, Deferred, JsonBody, OptionalJsonBody};
use crate::state::AppState;

/// Body of `POST /register`.
#[derive(Debug, Deserialize)]
pub struct RegisterBody {
    username: Option<String>,
    email: Option<String>,
    password: Option<String>,
    name: Option<String>,
    full_name: Option<String>,
    age: Option<Value>,
    gender: Option<String>,
}

impl RegisterBody {
    fn try_into_domain(self) -> Result<Registration, Error> {
        let age = match self.age {
            None | Some(Value::Null) => None,
            Some(value) => Some(
                value
                    .as_i64()
                    .ok_or_else(|| Error::invalid("age", "must be an integer from 0 to 150"))?,
            ),
        };
        Ok(Registration {
            username: self.username,
            email: self.email,
            password: self.password,
            name: self.name,
            full_name: self.full_name,
            age,
            gender: self.gender,
        })
    }
}

/// `POST /register`, `POST /api/register`.
pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<RegisterBody>,
) -> Result<HttpResponse, ApiError> {
    let user = state
        .keygate
        .accounts
        .register(body.try_into_domain()?, &client_address(&req))
        .await?;
    Ok(success(
        StatusCode::CREATED,
        json!({"message": "User registered successfully", "user_id": user.id.as_str()}),
    ))
}

/// Body of `POST /login`.
#[derive(Debug, Deserialize)]
pub struct LoginBody {
    email: Option<String>,
    username: Option<String>,
    identifier: Option<String>,
    password: Option<String>,
}

fn token_response(tokens: &IssuedTokens) -> HttpResponse {
    success(
        StatusCode::OK,
        json!({
            "user_id": tokens.user_id.as_str(),
            "access_token": tokens.access_token,
            "token_type": "Bearer",
            "expires_in": tokens.expires_in,
            "refresh_token": tokens.refresh_token,
        }),
    )
}

/// `POST /login`, `POST /api/token`.
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let credentials =
        Credentials::from_fields(body.email, body.username, body.identifier, body.password)?;
    let outcome = state
        .keygate
        .accounts
        .login(credentials, &client_address(&req))
        .await?;
    Ok(token_response(&outcome.tokens))
}

/// Body of `POST /token/refresh`.
#[derive(Debug, Deserialize)]
pub struct RefreshBody {
    refresh_token: Option<String>,
}

/// `POST /token/refresh`.
pub async fn refresh(
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    let presented = body
        .refresh_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::MissingParameters(vec!["refresh_token".into()]))?;
    let tokens = state.keygate.sessions.refresh(&presented).await?;
    Ok(token_response(&tokens))
}

/// Body of `POST /logout` (optional).
#[derive(Debug, Default, Deserialize)]
pub struct LogoutBody {
    #[serde(default)]
    all: bool,
}

/// `POST /logout`.
pub async fn logout(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    body: Deferred<OptionalJsonBody<LogoutBody>>,
) -> Result<HttpResponse, ApiError> {
    let OptionalJsonBody(body) = body.get()?;
    let everywhere = body.unwrap_or_default().all;
    state
        .keygate
        .sessions
        .logout(&principal, everywhere)
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
        message: None,
    }
}

/// `GET /profile`.
pub async fn profile(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let user = state.keygate.accounts.profile(&principal).await?;
    Ok(success(StatusCode::OK, profile_fields(&user)))
}

/// Fields a profile update may not touch, and where to go instead.
const NOT_HERE: &[(&str, &str)] = &[
    ("password", "is changed with PUT /profile/password"),
    ("role", "cannot be changed by the account itself"),
    ("id", "cannot be changed"),
    ("created_at", "cannot be changed"),
    ("updated_at", "cannot be changed"),
];

fn settable<T>(
    body: &Map<String, Value>,
    field: &str,
    violations: &mut Violations,
    parse: impl Fn(&str) -> Result<T, FieldViolation>,
) -> Settable<T> {
    match body.get(field) {
        None => Settable::Keep,
        Some(Value::Null) => Settable::Clear,
        Some(Value::String(text)) => violations
            .keep(parse(text))
            .map_or(Settable::Keep, Settable::Set),
        Some(_) => {
            violations.push(FieldViolation::new(field, "must be a string or null"));
            Settable::Keep
        }
    }
}

fn profile_changes(body: &Map<String, Value>) -> Result<ProfileChanges, Error> {
    let mut violations = Violations::default();
    for (field, why) in NOT_HERE {
        if body.contains_key(*field) {
            violations.push(FieldViolation::new(*field, *why));
        }
    }
    let age = match body.get("age") {
        None => Settable::Keep,
        Some(Value::Null) => Settable::Clear,
        Some(value) => {
            let parsed = value
                .as_i64()
                .ok_or_else(|| FieldViolation::new("age", "must be an integer from 0 to 150"))
                .and_then(Age::new);
            violations
                .keep(parsed)
                .map_or(Settable::Keep, Settable::Set)
        }
    };
    let changes = ProfileChanges {
        username: settable(body, "username", &mut violations, Username::new),
        email: settable(body, "email", &mut violations, Email::new),
        name: settable(body, "name", &mut violations, |t| {
            PersonName::new(t, "name")
        }),
        full_name: settable(body, "full_name", &mut violations, |t| {
            PersonName::new(t, "full_name")
        }),
        age,
        gender: settable(body, "gender", &mut violations, Gender::new),
    };
    violations.finish()?;
    Ok(changes)
}

/// `PUT /profile`, `PATCH /profile`: fields absent stay, `null` clears.
pub async fn update_profile(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    body: Deferred<JsonBody<Map<String, Value>>>,
) -> Result<HttpResponse, ApiError> {
    let JsonBody(body) = body.get()?;
    let changes = profile_changes(&body)?;
    let user = state
        .keygate
        .accounts
        .update_profile(&principal, changes)
        .await?;
    let mut fields = profile_fields(&user);
    fields.message = Some("Profile updated");
    Ok(success(StatusCode::OK, fields))
}

/// Body of `PUT /profile/password`.
#[derive(Debug, Deserialize)]
pub struct PasswordChangeBody {
    current_password: Option<String>,
    new_password: Option<String>,
}

/// `PUT /profile/password`: revokes every other session.
pub async fn change_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    body: Deferred<JsonBody<PasswordChangeBody>>,
) -> Result<HttpResponse, ApiError> {
    let JsonBody(body) = body.get()?;
    state
        .keygate
        .accounts
        .change_password(
            &principal,
            body.current_password,
            body.new_password,
            &client_address(&req),
        )
        .await?;
    Ok(success(
        StatusCode::OK,
        json!({"message": "Password changed"}),
    ))
}

/// Body of `DELETE /profile`.
#[derive(Debug, Deserialize)]
pub struct DeleteAccountBody {
    password: Option<String>,
}

/// `DELETE /profile`: removes the account and everything it owns.
pub async fn delete_account(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    body: Deferred<JsonBody<DeleteAccountBody>>,
) -> Result<HttpResponse, ApiError> {
    let JsonBody(body) = body.get()?;
    state
        .keygate
        .accounts
        .delete_account(&principal, body.password, &client_address(&req))
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn changes(body: Value) -> Result<ProfileChanges, Error> {
        profile_changes(body.as_object().unwrap())
    }

    #[test]
    fn absent_keeps_null_clears_value_sets() {
        let parsed = changes(json!({"name": null, "age": 30, "gender": "f"})).unwrap();
        assert_eq!(parsed.username, Settable::Keep);
        assert_eq!(parsed.name, Settable::Clear);
        assert_eq!(parsed.age, Settable::Set(Age::new(30).unwrap()));
        assert_eq!(parsed.gender, Settable::Set(Gender::new("f").unwrap()));
    }

    #[test]
    fn wrong_types_and_protected_fields_are_listed_together() {
        match changes(json!({"age": "thirty", "username": 5, "role": "admin", "password": "x"})) {
            Err(Error::Validation(violations)) => {
                let mut fields: Vec<_> = violations.iter().map(|v| v.field.clone()).collect();
                fields.sort();
                assert_eq!(fields, vec!["/age", "/password", "/role", "/username"]);
            }
            other => panic!("expected validation failure, got {other:?}"),
        }
    }
}
