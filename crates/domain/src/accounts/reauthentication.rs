//! The fresh proof a sensitive change needs (§12: the email, TOTP on or off, new recovery
//! codes, a passkey added or removed, deletion; a password change always checks its current
//! password): the caller's own password, with the same normal form, throttle and work as a
//! login, or a session whose login was recent enough.

use std::sync::Arc;

use async_trait::async_trait;

use super::account_store::AccountStore;
use super::forms::MAX_PASSWORD_BYTES;
use super::model::{nfkc, User};
use super::ports::{PasswordCheck, PasswordHasher};
use super::ports::{Reauthentication, UserRepository};
use super::throttle::LoginThrottle;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::sessions::Principal;

/// Checks presented passwords against accounts.
pub struct PasswordVerifier {
    accounts: AccountStore,
    hasher: Arc<dyn PasswordHasher>,
    throttle: Arc<LoginThrottle>,
    clock: Arc<dyn Clock>,
    /// How long after its login a session counts as a fresh proof.
    reauth_window: chrono::Duration,
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
            reauth_window: chrono::Duration::minutes(5),
        }
    }

    /// `auth.reauth_window_secs`: how long after its login a session may make a sensitive
    /// change without the password.
    #[must_use]
    pub fn with_reauthentication_window(mut self, window: chrono::Duration) -> Self {
        self.reauth_window = window;
        self
    }

    /// Whether the login that began `principal`'s session was within the window (the session
    /// id names the second it began; a refresh keeps the id).
    fn logged_in_recently(&self, principal: &Principal) -> bool {
        let logged_in_at = principal.session_id.unix_seconds().unwrap_or(i64::MIN);
        let now = self.clock.now().timestamp();
        now.saturating_sub(logged_in_at) <= self.reauth_window.num_seconds()
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
        let attempt = self
            .throttle
            .begin_attempt(&account_key, client_address, self.clock.now())
            .await?;
        if self
            .check_password(password, &user.password_hash)
            .await?
            .matches
        {
            self.throttle.succeeded(attempt).await;
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

    async fn fresh_proof<'a>(
        &self,
        principal: &Principal,
        password: Option<&'a str>,
        client_address: &str,
    ) -> Result<User> {
        let user = self.account_of(principal).await?;
        match password {
            Some(password) => {
                self.verify_own_password(&user, password, client_address)
                    .await?;
            }
            None if self.logged_in_recently(principal) => {}
            None => return Err(Error::ReauthenticationRequired),
        }
        Ok(user)
    }
}
