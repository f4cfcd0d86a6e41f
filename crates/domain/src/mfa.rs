//! The second factor (§9): TOTP (RFC 6238) with recovery codes, and passkeys. An account's
//! factors are one stored value, changed by compare-and-set on its revision, so a TOTP step
//! or a recovery code is spent once even when two instances race for it.

mod eraser;
mod model;
mod passkeys;
mod ports;
mod totp;

pub use eraser::FactorEraser;
pub use model::{
    MfaSummary, RecoveryCodes, SecondFactors, StoredPasskey, TotpFactor, TotpSecret, MAX_PASSKEYS,
    RECOVERY_CODE_COUNT,
};
#[cfg(any(test, feature = "mocks"))]
pub use passkeys::MockPasskeyCeremonies;
pub use passkeys::{Ceremony, NewPasskey, PasskeyCeremonies, PasskeyUse, PasskeyUser};
#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockOtpGenerator, MockSecondFactorRepository};
pub use ports::{OtpGenerator, SecondFactorRepository};
pub use totp::{check_code, otpauth_uri, step_at, TotpCheck, TOTP_DIGITS, TOTP_STEP_SECS};
