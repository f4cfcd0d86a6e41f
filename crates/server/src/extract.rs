//! Request extractors that speak the contract: JSON bodies and the caller's identity.

mod auth;
mod client_address;
mod deferred;
mod json_body;

pub use auth::{access_token, Authenticated, RecordCaller};
pub use client_address::{client_address, Network, TrustedProxies};
pub use deferred::Deferred;
pub use json_body::{BodyLimit, BodyTimeout, JsonBody, JsonOrFormBody, OptionalJsonBody};
