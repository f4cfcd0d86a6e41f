//! The account store as every use case reads and writes it: finding an account by what a
//! client typed, and changing one by compare-and-set so that no change is lost to another.

use std::sync::Arc;

use super::forms::LoginIdentifier;
use super::model::{Email, User, Username};
use super::ports::UserRepository;
use crate::clock::Clock;
use crate::error::{ConflictKind, Error, Result};
use crate::id::Id;

/// How often an account write retries after losing a race before giving up (409).
pub const USER_WRITE_ATTEMPTS: usize = 16;

/// The account repository with its two shared ways in.
#[derive(Clone)]
pub struct AccountStore {
    users: Arc<dyn UserRepository>,
    clock: Arc<dyn Clock>,
}

impl AccountStore {
    /// Over `users`, stamping writes with `clock`.
    pub fn new(users: Arc<dyn UserRepository>, clock: Arc<dyn Clock>) -> Self {
        Self { users, clock }
    }

    /// The repository itself.
    pub fn users(&self) -> &dyn UserRepository {
        &*self.users
    }

    /// The live account `user_id`; `Unauthorized` once it is gone (a caller's session
    /// outlived it).
    pub async fn account(&self, user_id: &Id) -> Result<User> {
        self.users
            .find_by_id(user_id)
            .await?
            .ok_or(Error::Unauthorized("account no longer exists"))
    }

    /// The account `identifier` names; a malformed identifier names none (it is answered
    /// like an unknown one).
    pub async fn find_by_identifier(&self, identifier: &LoginIdentifier) -> Result<Option<User>> {
        let (raw, is_email) = match identifier {
            LoginIdentifier::Email(raw) => (raw, true),
            LoginIdentifier::Username(raw) => (raw, false),
            LoginIdentifier::Either(raw) => (raw, raw.contains('@')),
        };
        if is_email {
            match Email::new(raw) {
                Ok(email) => self.users.find_by_email(&email).await,
                Err(_) => Ok(None),
            }
        } else {
            match Username::new(raw.trim()) {
                Ok(username) => self.users.find_by_username(&username).await,
                Err(_) => Ok(None),
            }
        }
    }

    /// Applies `change` to the stored account and writes it back against the revision it
    /// read, re-reading and re-applying when another write got there first: no change is
    /// ever lost to a concurrent one (a profile edit cannot restore an old password hash).
    /// `Unauthorized` if the account is gone.
    pub async fn rewrite(
        &self,
        user_id: &Id,
        change: impl Fn(&mut User) -> Result<()>,
    ) -> Result<User> {
        for _ in 0..USER_WRITE_ATTEMPTS {
            let mut user = self
                .users
                .find_by_id(user_id)
                .await?
                .ok_or(Error::Unauthorized("account no longer exists"))?;
            let read = user.revision;
            change(&mut user)?;
            user.revision = read + 1;
            user.updated_at = self.clock.now().max(user.updated_at);
            if self.users.update(&user, read).await? {
                return Ok(user);
            }
        }
        Err(Error::Conflict(ConflictKind::Other(
            "a concurrent change to this account".into(),
        )))
    }
}
