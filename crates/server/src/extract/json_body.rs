//! JSON request bodies with the contract's errors: 415 for another media type, 413 past
//! `server.max_body_bytes`, 400 `invalid_json` for anything that is not a JSON object of the
//! expected shape.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::BytesMut;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The largest body the server reads, in bytes (`server.max_body_bytes`).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// How long a client may take to send a request body (`server.body_timeout_secs`).
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub std::time::Duration);

/// A JSON object body deserialised into `T`. An empty body counts as `{}`, so that a request
/// without its fields gets `missing_parameters` rather than a parse error.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// A JSON object body that may be absent altogether (empty body gives `None`).
#[derive(Debug)]
pub struct OptionalJsonBody<T>(pub Option<T>);

/// A body that is a JSON object or, as RFC 7662 clients send it,
/// `application/x-www-form-urlencoded`; deserialised into `T` either way.
#[derive(Debug)]
pub struct JsonOrFormBody<T>(pub T);

fn is_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|text| text.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return true; // no media type declared: try JSON, as the earlier systems did
    };
    let Ok(text) = value.to_str() else {
        return false;
    };
    let essence = text
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

async fn read_body(req: HttpRequest, mut payload: Payload) -> Result<BytesMut, ApiError> {
    let limit = req.app_data::<BodyLimit>().map_or(1024 * 1024, |l| l.0);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(ApiError::payload_too_large(limit));
    }
    let timeout = req
        .app_data::<BodyTimeout>()
        .map_or(std::time::Duration::from_secs(30), |t| t.0);
    // A client that trickles its body would otherwise hold a connection (and the body read so
    // far) for as long as it likes.
    let reading = async {
        let mut body = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk =
                chunk.map_err(|_| ApiError::invalid_json("Request body could not be read"))?;
            if body.len() + chunk.len() > limit {
                return Err(ApiError::payload_too_large(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    tokio::time::timeout(timeout, reading)
        .await
        .map_err(|_| ApiError::request_timeout(timeout))?
}

/// Parses a non-empty body: JSON syntax, then "is an object", then the shape of `T`. Straight
/// into `T`, once: going through a `Value` first would cost a second pass, and turns `-0` into
/// `0` on the way.
fn parse_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let not_json = |e: serde_json::Error| {
        ApiError::invalid_json(format!("Request body is not valid JSON: {e}"))
    };
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(not_json)?;
        return Err(ApiError::invalid_json("Request body must be a JSON object"));
    }
    serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            ApiError::invalid_json(format!("Request body has a field of the wrong type: {e}"))
        }
        _ => not_json(e),
    })
}

fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}

/// A JSON object body (an empty one counts as `{}`) as `T`.
async fn json_object<T: DeserializeOwned>(
    req: HttpRequest,
    payload: Payload,
) -> Result<T, ApiError> {
    if !is_json(&req) {
        return Err(ApiError::unsupported_media_type());
    }
    let body = read_body(req, payload).await?;
    let bytes: &[u8] = if is_blank(&body) { b"{}" } else { &body };
    parse_object(bytes)
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let (req, payload) = (req.clone(), payload.take());
        Box::pin(async move { json_object(req, payload).await.map(JsonBody) })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let (req, payload) = (req.clone(), payload.take());
        Box::pin(async move {
            let body = read_body(req.clone(), payload).await?;
            if is_blank(&body) {
                return Ok(OptionalJsonBody(None));
            }
            if !is_json(&req) {
                return Err(ApiError::unsupported_media_type());
            }
            parse_object(&body).map(|value| OptionalJsonBody(Some(value)))
        })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonOrFormBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let (req, payload) = (req.clone(), payload.take());
        Box::pin(async move {
            if !is_form(&req) {
                return json_object(req, payload).await.map(JsonOrFormBody);
            }
            let body = read_body(req, payload).await?;
            serde_urlencoded::from_bytes(&body)
                .map(JsonOrFormBody)
                .map_err(|e| ApiError::invalid_json(format!("Request form is malformed: {e}")))
        })
    }
}
