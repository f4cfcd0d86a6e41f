//! The contract's one error envelope. Every error the server answers, its own or the
//! framework's, goes through [`ApiError`]; the contract's `code` strings live here only.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use keygate_domain::error::bounded;
use keygate_domain::sessions::AuthError;
use keygate_domain::{ConflictKind, Error, FieldViolation};
use serde::Serialize;

/// An error response: status, machine-readable code, human message, optional details.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Vec<FieldViolation>,
    retry_after_secs: Option<u64>,
    close_connection: bool,
}

#[derive(Serialize)]
struct Envelope<'a> {
    status: &'static str,
    code: &'static str,
    message: &'a str,
    error: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    details: &'a [FieldViolation],
}

impl ApiError {
    /// An error with no details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            retry_after_secs: None,
            close_connection: false,
        }
    }

    /// `408 request_timeout`: the body did not arrive in time; the connection is closed.
    pub fn request_timeout(limit: std::time::Duration) -> Self {
        Self {
            close_connection: true,
            ..Self::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                format!("Request body not received within {} s", limit.as_secs()),
            )
        }
    }

    /// `400 invalid_json`.
    pub fn invalid_json(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_json", message)
    }

    /// `400 validation_failed` with one detail.
    pub fn validation(field: &str, message: &str) -> Self {
        Error::invalid(field, message).into()
    }

    /// `401 unauthorized`.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Missing, invalid or expired token",
        )
    }

    /// `404 not_found`.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found")
    }

    /// `405 method_not_allowed`.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Method not allowed for this route",
        )
    }

    /// `413 payload_too_large`.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("Request body exceeds {limit} bytes"),
        )
    }

    /// `415 unsupported_media_type`.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Request body must be application/json",
        )
    }

    /// `500 internal`; the cause is logged, never sent.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal server error",
        )
    }

    /// The contract code, for tests and metrics.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if let Some(seconds) = self.retry_after_secs {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if self.close_connection {
            response.force_close();
        }
        response.json(Envelope {
            status: "error",
            code: self.code,
            message: &self.message,
            error: &self.message,
            details: &self.details,
        })
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        Error::from(error).into()
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        match error {
            Error::MissingParameters(fields) => Self {
                details: fields
                    .into_iter()
                    .map(|field| FieldViolation::new(field, "is required"))
                    .collect(),
                ..Self::new(
                    StatusCode::BAD_REQUEST,
                    "missing_parameters",
                    "Missing parameters",
                )
            },
            Error::Validation(details) => Self {
                details: bounded(details),
                ..Self::new(
                    StatusCode::BAD_REQUEST,
                    "validation_failed",
                    "Validation failed",
                )
            },
            Error::InvalidCredentials => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "Invalid credentials",
            ),
            Error::Unauthorized(_) => Self::unauthorized(),
            Error::InvalidToken => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_token",
                "Unknown, used or expired token",
            ),
            Error::EmailUnverified => Self::new(
                StatusCode::FORBIDDEN,
                "email_unverified",
                "The account's email address is not verified yet",
            ),
            Error::ReauthenticationRequired => Self::new(
                StatusCode::FORBIDDEN,
                "reauthentication_required",
                "This change needs the current password, or a login within the last minutes",
            ),
            Error::InvalidApiKey(_) => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_api_key",
                "Missing, unknown, revoked or expired API key",
            ),
            Error::QuotaExceeded(what) => {
                Self::new(StatusCode::PAYLOAD_TOO_LARGE, "quota_exceeded", what)
            }
            Error::IndexRequired { field, message } => Self {
                // The record field to index, as a JSON pointer into the records.
                details: vec![FieldViolation::new(
                    keygate_domain::json::json_pointer("", &field),
                    message.clone(),
                )],
                ..Self::new(StatusCode::BAD_REQUEST, "index_required", message)
            },
            Error::TooLarge(what) => {
                Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", what)
            }
            Error::Forbidden(reason) => {
                Self::new(StatusCode::FORBIDDEN, "forbidden", capitalise(reason))
            }
            Error::NotFound(what) => Self::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{} not found", capitalise(what)),
            ),
            Error::Conflict(kind) => {
                let (code, message) = match &kind {
                    ConflictKind::Email => ("email_taken", "Email already registered".to_owned()),
                    ConflictKind::Username => {
                        ("username_taken", "Username already exists".to_owned())
                    }
                    ConflictKind::DataKey => ("key_exists", "Key already exists".to_owned()),
                    ConflictKind::ApiName => ("conflict", "API name already exists".to_owned()),
                    ConflictKind::Other(what) => {
                        ("conflict", format!("{} already exists", capitalise(what)))
                    }
                };
                Self::new(StatusCode::CONFLICT, code, message)
            }
            Error::RateLimited { retry_after_secs } => Self {
                retry_after_secs: Some(retry_after_secs),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!("Too many failed attempts; retry in {retry_after_secs} seconds"),
                )
            },
            Error::Overloaded { retry_after_secs } => Self {
                retry_after_secs: Some(retry_after_secs),
                ..Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Too much work is waiting (password hashing or record validation); retry shortly",
                )
            },
            Error::Unavailable(cause) => {
                crate::metrics::STORE_ERRORS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::error!(cause = %cause, "store unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Service temporarily unavailable",
                )
            }
            Error::Internal(cause) => {
                tracing::error!(cause = %cause, "internal error");
                Self::internal()
            }
        }
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use actix_web::body::to_bytes;

    async fn body_of(error: ApiError) -> serde_json::Value {
        let response = error.error_response();
        serde_json::from_slice(&to_bytes(response.into_body()).await.unwrap()).unwrap()
    }

    #[actix_web::test]
    async fn envelope_repeats_message_as_error_and_lists_details() {
        let error: ApiError = Error::invalid("age", "too old").into();
        assert_eq!(error.status_code(), StatusCode::BAD_REQUEST);
        let body = body_of(error).await;
        assert_eq!(body["status"], "error");
        assert_eq!(body["code"], "validation_failed");
        assert_eq!(body["message"], body["error"]);
        assert_eq!(body["details"][0]["field"], "/age");
    }

    #[actix_web::test]
    async fn internal_errors_reveal_nothing() {
        let body = body_of(Error::Internal("driver said: secret query".into()).into()).await;
        assert_eq!(body["code"], "internal");
        assert!(!body.to_string().contains("secret query"));
        assert!(body.get("details").is_none());
    }

    #[actix_web::test]
    async fn contract_messages_and_codes() {
        let taken: ApiError = Error::Conflict(ConflictKind::Username).into();
        assert_eq!(taken.code(), "username_taken");
        assert_eq!(body_of(taken).await["message"], "Username already exists");
        let creds = body_of(Error::InvalidCredentials.into()).await;
        assert_eq!(creds["message"], "Invalid credentials");
        let missing = body_of(Error::MissingParameters(vec!["password".into()]).into()).await;
        assert_eq!(missing["message"], "Missing parameters");
        let limited = ApiError::from(Error::RateLimited {
            retry_after_secs: 7,
        })
        .error_response();
        assert_eq!(limited.headers().get("retry-after").unwrap(), "7");
    }
}
