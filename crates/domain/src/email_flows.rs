//! The email flows (§8): verification links, password reset links and one-time login codes.
//! Every secret is random (256 bits for links), stored only as a digest, spent once, and
//! mailed through the durable outbox. [`EmailFlowService`] answers accounts'
//! [`crate::accounts::AccountMail`] (a new account, a changed address).

mod forms;
mod service;

pub use forms::{
    CodeLogin, CodeLoginForm, CodeRequest, CodeRequestForm, PasswordReset, PasswordResetForm,
    ResetRequest, ResetRequestForm, VerificationForm, VerificationToken,
};
pub use service::{
    EmailFlowPorts, EmailFlowService, EmailFlowSettings, CODE_LIFETIME_SECS, CODE_TRIES,
    RESET_LIFETIME_SECS, VERIFICATION_LIFETIME_SECS,
};
