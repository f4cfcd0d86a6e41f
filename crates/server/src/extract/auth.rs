//! The caller's identity, from any of the three access-token header styles of the contract.

use actix_web::dev::Payload;
use actix_web::http::header::{HeaderMap, AUTHORIZATION};
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use keygate_domain::sessions::Principal;

use crate::error::ApiError;
use crate::state::AppState;

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
                if !token.is_empty() {
                    return Some(token.to_owned());
                }
            }
            Some(_) => {}
            // A lone scheme word is an empty credential, not a bare token.
            None if !value.is_empty() && !value.eq_ignore_ascii_case("bearer") => {
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

/// The client's address, the key of per-address throttling. Forwarding headers are not
/// trusted: they are the client's to forge.
pub fn client_address(req: &HttpRequest) -> String {
    req.peer_addr()
        .map_or_else(|| "unknown".to_owned(), |addr| addr.ip().to_string())
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = access_token(req.headers());
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let state = state.ok_or_else(ApiError::internal)?;
            let token = token.ok_or_else(ApiError::unauthorized)?;
            let principal = state.sessions.authenticate(&token).await?;
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
