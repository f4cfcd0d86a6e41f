//! Accounts: registration, login, profiles, password changes and deletion. The email flows
//! (§8) live in [`crate::email_flows`] and the second factor (§9) in [`crate::mfa`]; they meet
//! accounts through the [`SecondStep`], [`AccountMail`] and [`Reauthentication`] ports.

mod account_store;
mod forms;
mod login;
mod model;
mod password_policy;
mod ports;
mod reauthentication;
mod service;
mod throttle;

pub use account_store::{AccountStore, USER_WRITE_ATTEMPTS};
pub(crate) use forms::present;
pub use forms::{
    Credentials, Deletion, DeletionForm, LoginForm, LoginIdentifier, NewAccount, PasswordChange,
    PasswordChangeForm, ProfileForm, RegistrationForm,
};
pub use login::finish_first_factor;
pub use model::{
    AccountDetails, Age, CurrentPassword, Email, Gender, LoginOutcome, LoginStep, Password,
    PendingSecondFactor, PersonName, ProfileChanges, Role, Settable, User, Username,
};
pub use password_policy::PasswordPolicy;
pub use ports::{
    AccountMail, PasswordCheck, PasswordHasher, Reauthentication, SecondStep, ThrottleCounters,
    UserDataEraser, UserRepository,
};
#[cfg(any(test, feature = "mocks"))]
pub use ports::{
    MockAccountMail, MockPasswordHasher, MockReauthentication, MockSecondStep,
    MockThrottleCounters, MockUserDataEraser, MockUserRepository,
};
pub use reauthentication::PasswordVerifier;
pub use service::{AccountPorts, AccountService, UserListing};
pub use throttle::{Attempt, LoginThrottle, ThrottleLimits, ThrottleRefusals};
