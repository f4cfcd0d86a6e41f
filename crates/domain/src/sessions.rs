//! Sessions: a refresh-token family per login, access tokens bound to it, rotation with reuse
//! detection, and revocation.

mod model;
mod ports;
mod service;

pub use model::{RefreshToken, Session};
#[cfg(any(test, feature = "mocks"))]
pub use ports::MockSessionRepository;
pub use ports::SessionRepository;
pub use service::{IssuedTokens, Principal, SessionService, SessionSettings};
