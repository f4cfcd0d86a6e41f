//! Defers another extractor's failure to the handler, so that authentication is decided
//! before the body is judged: actix polls extractors together, and a malformed body would
//! otherwise answer 400 before a revoked token's 401.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::error::ApiError;

/// The outcome of extracting `E`, to be opened with [`Deferred::get`] after authentication.
pub struct Deferred<E>(Result<E, ApiError>);

impl<E> Deferred<E> {
    /// The extracted value, or the error extraction ended with.
    pub fn get(self) -> Result<E, ApiError> {
        self.0
    }
}

impl<E> FromRequest for Deferred<E>
where
    E: FromRequest<Error = ApiError> + 'static,
{
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let inner = E::from_request(req, payload);
        Box::pin(async move { Ok(Deferred(inner.await)) })
    }
}
