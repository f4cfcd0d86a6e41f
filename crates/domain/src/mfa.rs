//! The second factor (§9): TOTP (RFC 6238) with recovery codes, and passkeys. An account's
//! factors are one stored value, changed by compare-and-set on its revision, so a TOTP step
//! or a recovery code is spent once even when two instances race for it. The use cases are
//! [`SecondFactorService`] (which answers accounts' [`crate::accounts::SecondStep`]) and
//! [`PasskeyService`].

mod eraser;
mod factor_store;
mod forms;
mod model;
mod passkey_service;
mod passkeys;
mod ports;
mod service;
mod totp;

pub use eraser::FactorEraser;
pub use factor_store::FactorStore;
pub use forms::{
    PasskeyAnswer, PasskeyFinishForm, PasskeyLoginForm, PasskeyRegistration, PasswordConfirmation,
    PasswordConfirmationForm, SecondFactorAnswer, SecondFactorProof, SecondStepForm, TotpCode,
    TotpCodeForm, MAX_PASSKEY_NAME_CHARS,
};
pub use model::{
    MfaSummary, RecoveryCodes, SecondFactors, StoredPasskey, TotpFactor, TotpSecret, MAX_PASSKEYS,
    RECOVERY_CODE_COUNT,
};
pub use passkey_service::{PasskeyChallenge, PasskeyPorts, PasskeyService, CEREMONY_LIFETIME_SECS};
#[cfg(any(test, feature = "mocks"))]
pub use passkeys::MockPasskeyCeremonies;
pub use passkeys::{Ceremony, NewPasskey, PasskeyCeremonies, PasskeyUse, PasskeyUser};
#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockOtpGenerator, MockSecondFactorRepository};
pub use ports::{OtpGenerator, SecondFactorRepository};
pub use service::{
    MfaSettings, SecondFactorPorts, SecondFactorService, TotpEnrolment, MFA_TOKEN_LIFETIME_SECS,
    MFA_TOKEN_TRIES, SECOND_FACTOR_METHODS,
};
pub use totp::{check_code, otpauth_uri, step_at, TotpCheck, TOTP_DIGITS, TOTP_STEP_SECS};
