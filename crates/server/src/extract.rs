//! Request extractors that speak the contract: JSON bodies and the caller's identity.

mod auth;
mod deferred;
mod json_body;

pub use auth::{client_address, Authenticated, RecordCaller};
pub use deferred::Deferred;
pub use json_body::{BodyLimit, JsonBody, OptionalJsonBody};
