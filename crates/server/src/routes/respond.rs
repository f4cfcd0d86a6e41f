//! Success responses: the contract's `"status": "success"` beside the data.

use actix_web::http::header::ContentType;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use chrono::{DateTime, SecondsFormat, Utc};
use keygate_domain::accounts::LoginStep;
use keygate_domain::sessions::IssuedTokens;
use serde::Serialize;
use serde_json::json;

/// What every success body starts with.
const SUCCESS_PREFIX: &[u8] = br#"{"status":"success""#;

/// A success body: the members of `fields` (a JSON object: a `json!` value or a serialisable
/// struct) after `"status": "success"`. Written straight into the body, without building an
/// intermediate map (a profile showed that map's hashing and allocations on every response).
pub fn success(status: StatusCode, fields: impl Serialize) -> HttpResponse {
    let fields = match serde_json::to_vec(&fields) {
        Ok(fields) => fields,
        Err(error) => {
            tracing::error!(%error, "a success body could not be serialised");
            return actix_web::ResponseError::error_response(&crate::error::ApiError::internal());
        }
    };
    let mut body = Vec::with_capacity(SUCCESS_PREFIX.len() + fields.len() + 1);
    body.extend_from_slice(SUCCESS_PREFIX);
    match fields.as_slice() {
        [b'{', b'}'] => body.push(b'}'),
        [b'{', members @ ..] => {
            body.push(b',');
            body.extend_from_slice(members);
        }
        // Every caller passes an object; anything else would break the envelope, so it is
        // left out rather than spliced in.
        _ => body.push(b'}'),
    }
    HttpResponse::build(status)
        .content_type(ContentType::json())
        .body(body)
}

/// What every login answers once it is done (`/login`, `/login/mfa`, `/login/code`,
/// `/login/passkey/finish`, `/token/refresh`): the token pair.
pub fn token_response(tokens: &IssuedTokens) -> HttpResponse {
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

/// What `/login` and `/login/code` answer: tokens, or the second step's token.
pub fn login_step_response(step: &LoginStep) -> HttpResponse {
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

/// A timestamp as RFC 3339 UTC with millisecond precision (`2026-01-01T00:00:00.000Z`).
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;
    use serde_json::Value;

    fn body_of(response: HttpResponse) -> Value {
        let bytes = response.into_body().try_into_bytes().expect("bytes");
        serde_json::from_slice(&bytes).expect("json")
    }

    #[test]
    fn puts_status_first_then_the_fields_in_order() {
        let response = success(StatusCode::CREATED, json!({"b": 1, "a": [true]}));
        assert_eq!(response.status(), StatusCode::CREATED);
        let body = body_of(response);
        let keys: Vec<_> = body.as_object().expect("object").keys().cloned().collect();
        assert_eq!(keys, ["status", "b", "a"]);
        assert_eq!(body, json!({"status": "success", "b": 1, "a": [true]}));
    }

    #[test]
    fn an_empty_object_gives_the_status_alone() {
        assert_eq!(
            body_of(success(StatusCode::OK, json!({}))),
            json!({"status": "success"})
        );
    }
}
