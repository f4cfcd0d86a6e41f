//! The account store port.

use async_trait::async_trait;

use super::model::{Email, User, Username};
use crate::error::Result;
use crate::id::Id;

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
