//! Sessions: a refresh-token family per login, access tokens bound to it, rotation with reuse
//! detection, and revocation.

mod authenticator;
mod forms;
mod model;
mod ports;
mod service;
mod settings;

pub use authenticator::{AuthError, Authenticator};
pub use forms::{Logout, LogoutForm, Refresh, RefreshForm};
pub use model::{IssuedTokens, Principal, RefreshToken, Session};
#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockSessionLifecycle, MockSessionRepository};
pub use ports::{SessionLifecycle, SessionRepository};
pub use service::SessionService;
pub use settings::SessionSettings;
