//! The envelope for requests no route serves.

use actix_web::{HttpResponse, ResponseError};

use crate::error::ApiError;

/// 404 `not_found` for an unknown path.
pub async fn not_found() -> HttpResponse {
    ApiError::not_found().error_response()
}

/// 405 `method_not_allowed` for a known path with another method.
pub async fn method_not_allowed() -> HttpResponse {
    ApiError::method_not_allowed().error_response()
}
