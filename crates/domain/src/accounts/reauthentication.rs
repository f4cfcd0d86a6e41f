//! The caller's own password, checked again before a sensitive change (turning TOTP off, new
//! recovery codes, a password change, deletion): the same normal form, throttle and work as a
//! login.

use std::sync::Arc;

use async_trait::async_trait;

use super::account_store::AccountStore;
use super::forms::MAX_PASSWORD_BYTES;
use super::model::{nfkc, User};
use super::ports::{Reauthentication, UserRepository};
use super::throttle::LoginThrottle;
use crate::clock::Clock;
use crate::crypto::{PasswordCheck, PasswordHasher};
use crate::error::{Error, Result};
use crate::sessions::Principal;

/// Checks presented passwords against accounts.
pub struct PasswordVerifier {
    accounts: AccountStore,
    hasher: Arc<dyn PasswordHasher>,
    throttle: Arc<LoginThrottle>,
    clock: Arc<dyn Clock>,
}

impl PasswordVerifier {
    /// Over the accounts in `users`, counting failures in `throttle`.
    pub fn new(
        users: Arc<dyn UserRepository>,
        hasher: Arc<dyn PasswordHasher>,
        throttle: Arc<LoginThrottle>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            accounts: AccountStore::new(users, clock.clone()),
            hasher,
            throttle,
            clock,
        }
    }

    /// The caller's account; `Unauthorized` once it is gone.
    pub async fn account_of(&self, principal: &Principal) -> Result<User> {
        self.accounts.account(&principal.user_id).await
    }

    /// Checks `user`'s own password; failures count against the account like failed logins.
    pub async fn verify_own_password(
        &self,
        user: &User,
        password: &str,
        client_address: &str,
    ) -> Result<()> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(Error::InvalidCredentials);
        }
        let account_key = format!("user:{}", user.id);
        let attempt =
            self.throttle
                .begin_attempt(&account_key, client_address, self.clock.now())?;
        if self
            .check_password(password, &user.password_hash)
            .await?
            .matches
        {
            self.throttle.succeeded(attempt);
            Ok(())
        } else {
            Err(Error::InvalidCredentials)
        }
    }

    /// Verifies a presented password in its normal form (NFKC); a hash stored before
    /// passwords were normalised is also tried with the password as typed, and then upgraded.
    pub async fn check_password(&self, presented: &str, hash: &str) -> Result<PasswordCheck> {
        let normalised = nfkc(presented);
        let check = self.hasher.verify(&normalised, hash).await?;
        if check.matches || normalised == presented {
            return Ok(check);
        }
        let legacy = self.hasher.verify(presented, hash).await?;
        Ok(PasswordCheck {
            matches: legacy.matches,
            needs_rehash: legacy.matches,
        })
    }
}

#[async_trait]
impl Reauthentication for PasswordVerifier {
    async fn account(&self, principal: &Principal) -> Result<User> {
        self.account_of(principal).await
    }

    async fn confirm_password(
        &self,
        principal: &Principal,
        password: &str,
        client_address: &str,
    ) -> Result<User> {
        let user = self.account_of(principal).await?;
        self.verify_own_password(&user, password, client_address)
            .await?;
        Ok(user)
    }
}
