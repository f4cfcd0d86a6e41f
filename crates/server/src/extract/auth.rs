//! The caller's identity, from any of the three access-token header styles of the contract.

use actix_web::dev::Payload;
use actix_web::http::header::{HeaderMap, AUTHORIZATION};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use keygate_domain::apis::records::Caller;
use keygate_domain::apis::API_KEY_PREFIX;
use keygate_domain::sessions::Principal;

use crate::error::ApiError;
use crate::request_id::LoggedUser;
use crate::state::AppState;

/// Whoever calls a record route: an API key, a checked access token, or nobody. A key wins
/// over a token; a token that is present but invalid is refused here (401 `unauthorized`).
#[derive(Debug, Clone)]
pub struct RecordCaller(pub Caller);

impl FromRequest for RecordCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key = api_key(req.headers());
        let token = access_token(req.headers());
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let req = req.clone();
        Box::pin(async move {
            let caller = match (key, token) {
                (Some(key), _) => Caller::Key(key),
                (None, Some(token)) => {
                    let state = state.ok_or_else(ApiError::internal)?;
                    let principal = state.keygate.authenticator.authenticate(&token).await?;
                    log_user(&req, &principal);
                    Caller::User(principal)
                }
                (None, None) => Caller::Anonymous,
            };
            Ok(RecordCaller(caller))
        })
    }
}

/// An authenticated caller: a valid access token of a still-active session.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

/// The access token of a request: `Authorization: Bearer <t>`, a bare `Authorization: <t>`,
/// or `x-access-token: <t>`. An `Authorization: ApiKey …` header is not an access token.
pub fn access_token(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let value = value.trim();
        match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
                let token = token.trim();
                if !token.is_empty() && !token.starts_with(API_KEY_PREFIX) {
                    return Some(token.to_owned());
                }
            }
            Some(_) => {}
            // A lone scheme word is an empty credential, not a bare token.
            None if !value.is_empty()
                && !value.eq_ignore_ascii_case("bearer")
                && !value.starts_with(API_KEY_PREFIX) =>
            {
                return Some(value.to_owned())
            }
            None => {}
        }
    }
    headers
        .get("x-access-token")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// The API key of a request: `X-API-Key: <key>`, or `Authorization: ApiKey <key>`. Any
/// other `Authorization` credential that looks like a Keygate key (`kg_…`, bare or after
/// `Bearer`) counts too, as clients of key-based services often send keys that way.
pub fn api_key(headers: &HeaderMap) -> Option<String> {
    if let Some(key) = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        return Some(key.to_owned());
    }
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let credential = match value.split_once(' ') {
        Some((scheme, rest))
            if scheme.eq_ignore_ascii_case("apikey") || scheme.eq_ignore_ascii_case("bearer") =>
        {
            let rest = rest.trim();
            if scheme.eq_ignore_ascii_case("apikey") || rest.starts_with(API_KEY_PREFIX) {
                rest
            } else {
                return None;
            }
        }
        Some(_) => return None,
        None if value.starts_with(API_KEY_PREFIX) => value,
        None => return None,
    };
    Some(credential.to_owned()).filter(|c| !c.is_empty())
}

/// Lets the request's log line name the account (its id only, never the token).
fn log_user(req: &HttpRequest, principal: &Principal) {
    req.extensions_mut()
        .insert(LoggedUser(principal.user_id.as_str().to_owned()));
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = access_token(req.headers());
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(ApiError::internal)?;
            let token = token.ok_or_else(ApiError::unauthorized)?;
            let principal = state.keygate.authenticator.authenticate(&token).await?;
            log_user(&req, &principal);
            Ok(Authenticated(principal))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    #[test]
    fn reads_every_header_style() {
        assert_eq!(
            access_token(&headers(&[("authorization", "Bearer abc")])).as_deref(),
            Some("abc")
        );
        assert_eq!(
            access_token(&headers(&[("authorization", "bearer  abc ")])).as_deref(),
            Some("abc")
        );
        assert_eq!(
            access_token(&headers(&[("authorization", "abc.def.ghi")])).as_deref(),
            Some("abc.def.ghi")
        );
        assert_eq!(
            access_token(&headers(&[("x-access-token", "xyz")])).as_deref(),
            Some("xyz")
        );
    }

    #[test]
    fn reads_api_keys_from_their_headers() {
        let key = "kg_abcd1234_secret";
        for pairs in [
            [("x-api-key", "kg_abcd1234_secret")],
            [("authorization", "ApiKey kg_abcd1234_secret")],
            [("authorization", "apikey  kg_abcd1234_secret ")],
            [("authorization", "Bearer kg_abcd1234_secret")],
            [("authorization", "kg_abcd1234_secret")],
        ] {
            let headers = headers(&pairs);
            assert_eq!(api_key(&headers).as_deref(), Some(key), "{pairs:?}");
            assert_eq!(access_token(&headers), None, "{pairs:?}");
        }
        assert_eq!(
            api_key(&headers(&[("authorization", "Bearer a.b.c")])),
            None
        );
        assert_eq!(api_key(&headers(&[("authorization", "ApiKey ")])), None);
        assert_eq!(api_key(&headers(&[("x-api-key", " ")])), None);
    }

    #[test]
    fn api_keys_and_empty_headers_are_not_access_tokens() {
        assert_eq!(
            access_token(&headers(&[("authorization", "ApiKey kg_x_y")])),
            None
        );
        assert_eq!(
            access_token(&headers(&[("authorization", "Bearer ")])),
            None
        );
        assert_eq!(access_token(&headers(&[])), None);
        assert_eq!(
            access_token(&headers(&[
                ("authorization", "ApiKey k"),
                ("x-access-token", "t")
            ]))
            .as_deref(),
            Some("t")
        );
    }
}
