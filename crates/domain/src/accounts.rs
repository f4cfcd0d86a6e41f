//! Accounts: registration, login, profiles, password changes and deletion.

mod forms;
mod model;
mod password_policy;
mod ports;
mod service;
mod throttle;

pub use forms::{
    Credentials, Deletion, DeletionForm, LoginForm, LoginIdentifier, NewAccount, PasswordChange,
    PasswordChangeForm, ProfileForm, RegistrationForm,
};
pub use model::{
    Age, Email, Gender, Password, PersonName, ProfileChanges, Role, Settable, User, Username,
};
pub use password_policy::PasswordPolicy;
#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockUserDataEraser, MockUserRepository};
pub use ports::{UserDataEraser, UserRepository};
pub use service::{
    AccountService, EmailFlowSettings, EmailPorts, LoginOutcome, LoginStep, MfaPorts,
    PasskeyChallenge, PendingSecondFactor, SecondFactorAnswer, SecondFactorProof, TotpEnrolment,
    UserListing, CEREMONY_LIFETIME_SECS, CODE_LIFETIME_SECS, CODE_TRIES, MAX_PASSKEY_NAME_CHARS,
    MFA_TOKEN_LIFETIME_SECS, MFA_TOKEN_TRIES, RESET_LIFETIME_SECS, SECOND_FACTOR_METHODS,
    VERIFICATION_LIFETIME_SECS,
};
pub use throttle::{Attempt, LoginThrottle, ThrottleLimits, ThrottleRefusals};
