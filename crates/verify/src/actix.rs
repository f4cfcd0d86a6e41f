//! An actix-web extractor: `Authenticated(claims)` in a handler's arguments, 401 otherwise.

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use futures_util::future::LocalBoxFuture;

use crate::verifier::{Claims, Verifier, VerifyError};

/// The claims of the request's verified bearer token. Needs `web::Data<Verifier>` in the
/// app's data. Answers `401 {"status":"error","code":"unauthorized",…}` for a missing or
/// invalid token and `503` when Keygate's key set cannot be had.
pub struct Authenticated(pub Claims);

/// Why a request was refused.
#[derive(Debug)]
pub struct Refused(VerifyError);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for Refused {
    fn status_code(&self) -> StatusCode {
        match self.0 {
            VerifyError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (code, message) = match self.0 {
            VerifyError::Unavailable(_) => ("unavailable", "Token keys are unavailable"),
            _ => ("unauthorized", "Invalid or expired token"),
        };
        HttpResponse::build(self.status_code()).json(serde_json::json!({
            "status": "error", "code": code, "message": message
        }))
    }
}

/// The bearer token of `request`'s `Authorization` header (`Bearer <token>`, the scheme in
/// any case, as RFC 7235 has it); `None` without one.
pub fn bearer_token(request: &HttpRequest) -> Option<String> {
    request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned())
}

impl FromRequest for Authenticated {
    type Error = Refused;
    type Future = LocalBoxFuture<'static, Result<Self, Refused>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let verifier = request.app_data::<web::Data<Verifier>>().cloned();
        let token = bearer_token(request);
        Box::pin(async move {
            let verifier = verifier.ok_or_else(|| {
                Refused(VerifyError::Unavailable(
                    "no Verifier in the app data".into(),
                ))
            })?;
            let token = token.ok_or(Refused(VerifyError::Invalid("no bearer token")))?;
            verifier
                .verify(&token)
                .await
                .map(Authenticated)
                .map_err(Refused)
        })
    }
}
