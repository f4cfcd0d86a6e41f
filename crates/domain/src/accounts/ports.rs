//! The accounts' ports: the account store, password hashing, and the other rooms accounts call.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::model::{Email, Password, PendingSecondFactor, User, Username};
use crate::error::Result;
use crate::id::Id;
use crate::sessions::Principal;

/// What a password verification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCheck {
    /// The password matches the hash.
    pub matches: bool,
    /// The hash was made with parameters weaker than today's and should be replaced.
    pub needs_rehash: bool,
}

/// Hashes and verifies passwords (Argon2id in the real adapter), off the async workers.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// A PHC string for `password`, with a fresh salt.
    async fn hash(&self, password: &Password) -> Result<String>;
    /// Whether `password` matches the PHC string `hash`.
    async fn verify(&self, password: &str, hash: &str) -> Result<PasswordCheck>;
    /// Spends the time of one verification without any account, so an unknown account answers
    /// as slowly as a known one.
    async fn verify_dummy(&self, password: &str) -> Result<()>;
}

/// Stores accounts. Email and username (case-insensitive) are unique: the store itself decides
/// uniqueness atomically and answers `Error::Conflict(Email | Username)`.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Adds a new account; `Conflict` if its email or username is taken.
    async fn insert(&self, user: &User) -> Result<()>;
    /// The account with this id.
    async fn find_by_id(&self, id: &Id) -> Result<Option<User>>;
    /// The account with this (lower-case) email.
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>>;
    /// The account with this username, compared case-insensitively.
    async fn find_by_username(&self, username: &Username) -> Result<Option<User>>;
    /// Replaces a stored account if its revision is still `expected_revision`; false (storing
    /// nothing) if another write got there first. `Conflict` if its new email or username is
    /// taken, `NotFound` if it no longer exists.
    async fn update(&self, user: &User, expected_revision: u64) -> Result<bool>;
    /// Removes an account; false if there was none.
    async fn delete(&self, id: &Id) -> Result<bool>;
    /// Up to `limit` accounts in id order, starting after the id `after` if given.
    async fn list(&self, after: Option<Id>, limit: usize) -> Result<Vec<User>>;
    /// Succeeds when the store can serve requests (for `/ready`).
    async fn ping(&self) -> Result<()>;
}

/// Something that keeps data owned by users and erases a user's share when the account is
/// deleted (key-value data, APIs and their records).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserDataEraser: Send + Sync {
    /// Removes everything `user_id` owns here.
    async fn erase_user_data(&self, user_id: &Id) -> Result<()>;
}

/// The seam between a right first factor and the second factor (§9): asked after every right
/// password or emailed code, it answers with the second step when the account needs one.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SecondStep: Send + Sync {
    /// The pending second step of `user`'s login, or `None` when the first factor suffices.
    async fn after_first_factor(&self, user: &User) -> Result<Option<PendingSecondFactor>>;
}

/// What accounts tell the email flows (§8): both best effort, the account change stands
/// whatever the mail does.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AccountMail: Send + Sync {
    /// A new account: a verification link to its address, if it has one.
    async fn account_created(&self, user: &User);
    /// A change of the account's address was asked for (`user.pending_email` waits for its
    /// proof) or the address was removed: every link and code outstanding ends, a
    /// verification link goes to the pending address, and a notice to `notice_to`.
    async fn email_changed(&self, user: &User, notice_to: Option<Email>);
    /// The account's password changed: every link and code outstanding ends.
    async fn password_changed(&self, user: &User) -> Result<()>;
}

/// The caller's account, and the fresh proof a sensitive change needs (§12).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Reauthentication: Send + Sync {
    /// The caller's account; `Unauthorized` once it is gone.
    async fn account(&self, principal: &Principal) -> Result<User>;
    /// The caller's account after a fresh proof: its current `password`, checked (a wrong
    /// one is `InvalidCredentials`, counted by the login throttle like a failed login), or
    /// without one a session whose login was within `auth.reauth_window_secs`; else
    /// `ReauthenticationRequired`.
    async fn fresh_proof<'a>(
        &self,
        principal: &Principal,
        password: Option<&'a str>,
        client_address: &str,
    ) -> Result<User>;
}

/// Counters every instance shares, kept by a store that several instances use (§12: the
/// throttles hold for all instances together). Each change is one atomic step.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ThrottleCounters: Send + Sync {
    /// Adds `amount` (may be negative) to `counter`, created at 0 if it is not there, and
    /// keeps it at least until `expires_at`; the count after the change.
    async fn add(&self, counter: &str, amount: i64, expires_at: DateTime<Utc>) -> Result<i64>;
    /// The count of `counter`; 0 if there is none.
    async fn get(&self, counter: &str) -> Result<i64>;
    /// Removes `counters` (those that are there).
    async fn remove(&self, counters: &[String]) -> Result<()>;
}
