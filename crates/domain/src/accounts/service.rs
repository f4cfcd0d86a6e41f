//! The account use cases: every rule of the contract's accounts section lives here.

use std::sync::Arc;

use super::account_store::AccountStore;
use super::forms::{Credentials, Deletion, LoginIdentifier, NewAccount, PasswordChange};
use super::login::finish_first_factor;
#[cfg(test)]
use super::model::LoginOutcome;
use super::model::Settable;
use super::model::{AccountDetails, CurrentPassword, LoginStep, ProfileChanges, Role, User};
use super::password_policy::PasswordPolicy;
use super::ports::PasswordHasher;
use super::ports::{AccountMail, Reauthentication, SecondStep, UserDataEraser, UserRepository};
use super::reauthentication::PasswordVerifier;
use super::throttle::LoginThrottle;
use crate::audit::{Action, Actor, AuditTrail};
use crate::clock::Clock;
use crate::error::{ConflictKind, Error, FieldViolation, Result};
use crate::id::Id;
use crate::paging::{Page, PageRequest};
use crate::sessions::{Principal, SessionLifecycle};

/// The user list as the caller may see it.
#[derive(Debug, Clone)]
pub enum UserListing {
    /// For ordinary accounts: usernames only.
    UsernamesOnly(Page<Option<String>>),
    /// For administrators: whole profiles (still without secrets).
    Full(Page<User>),
}

/// What the account use cases need.
#[derive(Clone)]
pub struct AccountPorts {
    /// The accounts.
    pub users: Arc<dyn UserRepository>,
    /// Hashes and checks passwords.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Starts and ends sessions.
    pub sessions: Arc<dyn SessionLifecycle>,
    /// Decides whether a right password still needs a second factor (§9).
    pub second_step: Arc<dyn SecondStep>,
    /// Verification links and change notices (§8).
    pub mail: Arc<dyn AccountMail>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Where security events are recorded (§13).
    pub audit: Arc<AuditTrail>,
}

/// The account use cases.
pub struct AccountService {
    store: AccountStore,
    hasher: Arc<dyn PasswordHasher>,
    sessions: Arc<dyn SessionLifecycle>,
    second_step: Arc<dyn SecondStep>,
    mail: Arc<dyn AccountMail>,
    throttle: Arc<LoginThrottle>,
    clock: Arc<dyn Clock>,
    audit: Arc<AuditTrail>,
    passwords: PasswordVerifier,
    policy: PasswordPolicy,
    erasers: Vec<Arc<dyn UserDataEraser>>,
    /// `auth.require_verified_email`: a right password of an unverified address gets `403`.
    require_verified_email: bool,
}

impl AccountService {
    /// Wires the service to its ports; `require_verified_email` is
    /// `auth.require_verified_email`.
    pub fn new(
        ports: AccountPorts,
        throttle: Arc<LoginThrottle>,
        require_verified_email: bool,
    ) -> Self {
        let AccountPorts {
            users,
            hasher,
            sessions,
            second_step,
            mail,
            clock,
            audit,
        } = ports;
        Self {
            passwords: PasswordVerifier::new(
                users.clone(),
                hasher.clone(),
                throttle.clone(),
                clock.clone(),
            ),
            store: AccountStore::new(users, clock.clone()),
            hasher,
            sessions,
            second_step,
            mail,
            throttle,
            clock,
            audit,
            policy: PasswordPolicy,
            erasers: Vec::new(),
            require_verified_email,
        }
    }

    /// Also erases what `eraser` keeps whenever an account is deleted.
    #[must_use]
    pub fn erasing(mut self, eraser: Arc<dyn UserDataEraser>) -> Self {
        self.erasers.push(eraser);
        self
    }

    /// Creates an account; `Conflict` if the email or username is taken (decided atomically
    /// by the store). Registrations are throttled per `client_address`.
    pub async fn register(&self, account: NewAccount, client_address: &str) -> Result<User> {
        let NewAccount {
            username,
            email,
            password,
            name,
            full_name,
            age,
            gender,
        } = account;
        let now = self.clock.now();
        // Counted before the hash and the uniqueness check, so neither Argon2 work nor
        // `409 email_taken` answers come in unlimited numbers.
        self.throttle
            .begin_registration(client_address, now)
            .await?;
        let details = AccountDetails {
            username,
            email,
            name,
            full_name,
            age,
            gender,
        };
        let password_hash = self.hasher.hash(&password).await?;
        let user = User::new_account(Id::generate(now.timestamp()), details, password_hash, now);
        let event = self
            .audit
            .event(Action::AccountRegistered, Actor::user(&user.id))
            .account(&user.id)
            .target("user", &user.id);
        self.audit
            .around(event, self.store.users().insert(&user))
            .await?;
        // Best effort: the account exists either way, and a link can be asked for again.
        self.mail.account_created(&user).await;
        Ok(user)
    }

    /// Checks credentials and opens a session, or (TOTP on) hands out the `mfa_token` of the
    /// second step. A wrong password and an unknown account get the same error after the same
    /// amount of hashing work; repeated failures are throttled per account and per
    /// `client_address`.
    pub async fn login(&self, credentials: Credentials, client_address: &str) -> Result<LoginStep> {
        let now = self.clock.now();
        if credentials.is_oversized() {
            // It can name no account and match no password: answered like any failure, and
            // counted against the address, without a lookup or a hash.
            let _ = self
                .throttle
                .begin_attempt(
                    &format!("unknown:{}", credentials.identifier_text()),
                    client_address,
                    now,
                )
                .await?;
            self.audit.unknown_login_failed();
            return Err(Error::InvalidCredentials);
        }
        let user = self
            .store
            .find_by_identifier(&credentials.identifier)
            .await?;
        let account_key = match &user {
            Some(user) => format!("user:{}", user.id),
            None => format!("unknown:{}", credentials.normalised_identifier()),
        };
        let attempt = match self
            .throttle
            .begin_attempt(&account_key, client_address, now)
            .await
        {
            Ok(attempt) => attempt,
            Err(refused @ Error::RateLimited { .. }) => {
                if let Some(user) = &user {
                    self.audit
                        .refused_login(Action::LoginThrottled, &user.id, "password")
                        .await?;
                }
                return Err(refused);
            }
            Err(other) => return Err(other),
        };

        // An account being deleted answers like an unknown one.
        let Some(user) = user.filter(|u| !u.deleting) else {
            self.hasher.verify_dummy(&credentials.password).await?;
            self.audit.unknown_login_failed();
            return Err(Error::InvalidCredentials);
        };
        let check = self
            .passwords
            .check_password(&credentials.password, &user.password_hash)
            .await?;
        if !check.matches {
            self.audit
                .refused_login(Action::LoginFailed, &user.id, "password")
                .await?;
            return Err(Error::InvalidCredentials);
        }
        if self.require_verified_email && !user.email_verified {
            self.throttle.succeeded(attempt).await;
            self.audit
                .refused_login(Action::LoginFailed, &user.id, "email_unverified")
                .await?;
            return Err(Error::EmailUnverified);
        }
        let user = if check.needs_rehash {
            self.upgrade_hash(user, &credentials.password).await
        } else {
            user
        };
        // With TOTP on, the attempt stays counted until the second factor is right too.
        finish_first_factor(
            (&*self.second_step, &*self.sessions, &self.audit),
            (user, "password"),
            (&self.throttle, attempt),
        )
        .await
    }

    /// The caller's own account.
    pub async fn profile(&self, principal: &Principal) -> Result<User> {
        self.passwords.account_of(principal).await
    }

    /// `auth.reauth_window_secs`: how long after its login a session may make a sensitive
    /// change without the password again.
    #[must_use]
    pub fn with_reauthentication_window(mut self, window: chrono::Duration) -> Self {
        self.passwords = self.passwords.with_reauthentication_window(window);
        self
    }

    /// The fresh proof a sensitive change needs (§12): the current `password` or a recent
    /// login (see [`Reauthentication::fresh_proof`]).
    async fn require_fresh_proof(
        &self,
        principal: &Principal,
        password: Option<&CurrentPassword>,
        client_address: &str,
    ) -> Result<User> {
        self.passwords
            .fresh_proof(
                principal,
                password.map(|CurrentPassword(p)| p.as_str()),
                client_address,
            )
            .await
    }

    /// Applies a profile update; the account must keep a username or an email. Changing the
    /// email needs a fresh proof, and a new address only waits as `pending_email` until its
    /// link is used (§12); removing the address takes effect at once.
    pub async fn update_profile(
        &self,
        principal: &Principal,
        changes: ProfileChanges,
        client_address: &str,
    ) -> Result<User> {
        if changes.is_empty() {
            return self.profile(principal).await;
        }
        if !changes.email.is_keep() {
            self.require_fresh_proof(principal, changes.password.as_ref(), client_address)
                .await?;
        }
        if let Settable::Set(asked) = &changes.email {
            // A pending address reserves nothing, but one taken already is refused now
            // rather than when its link is used.
            let holder = self.store.users().find_by_email(asked).await?;
            if holder.is_some_and(|holder| holder.id != principal.user_id) {
                return Err(Error::Conflict(ConflictKind::Email));
            }
        }
        // The address and pending address before the write that succeeded (the closure runs
        // once per attempt).
        let before = std::cell::RefCell::new((None, None));
        let updated = self
            .store
            .rewrite(&principal.user_id, |user| {
                let changes = changes.clone();
                before.replace((user.email.clone(), user.pending_email.clone()));
                match changes.email {
                    Settable::Keep => {}
                    Settable::Clear => {
                        user.email = None;
                        user.email_verified = false;
                        user.pending_email = None;
                    }
                    // Asking for the address the account has cancels a pending change.
                    Settable::Set(asked) if user.email.as_ref() == Some(&asked) => {
                        user.pending_email = None;
                    }
                    Settable::Set(asked) => user.pending_email = Some(asked),
                }
                changes.username.apply(&mut user.username);
                changes.name.apply(&mut user.name);
                changes.full_name.apply(&mut user.full_name);
                changes.age.apply(&mut user.age);
                changes.gender.apply(&mut user.gender);
                if user.username.is_none() && user.email.is_none() {
                    return Err(Error::Validation(vec![
                        FieldViolation::new("username", "an account needs a username or an email"),
                        FieldViolation::new("email", "an account needs a username or an email"),
                    ]));
                }
                Ok(())
            })
            .await?;
        let (email_before, pending_before) = before.into_inner();
        let email_event = if updated.email != email_before {
            Some(Action::EmailChanged)
        } else if updated.pending_email.is_some() && updated.pending_email != pending_before {
            Some(Action::EmailChangeRequested)
        } else {
            None
        };
        if let Some(action) = email_event {
            // After the write, which may have changed nothing else worth an event.
            self.audit
                .record(
                    self.audit
                        .event(action, Actor::user(&updated.id))
                        .account(&updated.id)
                        .target("user", &updated.id),
                )
                .await?;
        }
        if updated.email != email_before {
            // Removed: the notice goes to the address it had.
            self.mail.email_changed(&updated, email_before).await;
        } else if updated.pending_email.is_some() && updated.pending_email != pending_before {
            self.mail
                .email_changed(&updated, updated.email.clone())
                .await;
        }
        Ok(updated)
    }

    /// Changes the caller's password after checking the current one, and ends every other
    /// session of the account.
    pub async fn change_password(
        &self,
        principal: &Principal,
        change: PasswordChange,
        client_address: &str,
    ) -> Result<()> {
        let PasswordChange { current, new } = change;
        let user = self.profile(principal).await?;
        self.passwords
            .verify_own_password(&user, &current, client_address)
            .await?;
        let password = self.policy.check(
            &new,
            "new_password",
            user.username.as_ref(),
            user.email.as_ref(),
        )?;
        if new == current {
            return Err(Error::invalid(
                "new_password",
                "must differ from the current password",
            ));
        }
        let hash = self.hasher.hash(&password).await?;
        let event = self
            .audit
            .event(Action::PasswordChanged, Actor::user(&user.id))
            .account(&user.id)
            .target("user", &user.id);
        self.audit
            .around(
                event,
                self.store.rewrite(&user.id, |user| {
                    user.password_hash.clone_from(&hash);
                    Ok(())
                }),
            )
            .await?;
        self.mail.password_changed(&user).await?;
        self.sessions.revoke_others(principal).await
    }

    /// Deletes the caller's account and everything it owns, after a fresh proof (§12: its
    /// password, or a recent login).
    pub async fn delete_account(
        &self,
        principal: &Principal,
        deletion: Deletion,
        client_address: &str,
    ) -> Result<()> {
        let user = self
            .require_fresh_proof(principal, deletion.password.as_ref(), client_address)
            .await?;
        // Marked first, so nobody can log in meanwhile, and every other session ended, so
        // nothing but this request writes while what the account owns is erased. If anything
        // fails, the account is still there and this session can retry the deletion.
        self.store
            .rewrite(&user.id, |user| {
                user.deleting = true;
                Ok(())
            })
            .await?;
        self.sessions.revoke_others(principal).await?;
        for eraser in &self.erasers {
            eraser.erase_user_data(&user.id).await?;
        }
        self.sessions.forget_user(&user.id).await?;
        // Its events have lost their addresses (the audit eraser ran above); this one never
        // has them (§13).
        let mut event = self
            .audit
            .event(Action::AccountDeleted, Actor::user(&user.id))
            .account(&user.id)
            .target("user", &user.id);
        event.address = None;
        event.user_agent = None;
        self.audit
            .around(event, self.store.users().delete(&user.id))
            .await?;
        Ok(())
    }

    /// The user list: usernames for everyone, whole profiles for administrators.
    pub async fn list_users(
        &self,
        principal: &Principal,
        page: &PageRequest,
    ) -> Result<UserListing> {
        let caller = self.profile(principal).await?;
        let users = self
            .store
            .users()
            .list(page.after_id()?, page.limit() + 1)
            .await?;
        let users = Page::from_overfetch(users, page.limit(), |u| u.id.to_string());
        Ok(match caller.role {
            Role::Admin => UserListing::Full(users),
            Role::User => UserListing::UsernamesOnly(
                users.map(|u| u.username.map(|name| name.as_str().to_owned())),
            ),
        })
    }

    /// Gives the account named by `identifier` (a username, or an email if it holds `@`) the
    /// role `role`. An operator's action: no caller is checked here.
    pub async fn set_role(&self, identifier: &str, role: Role) -> Result<User> {
        let user = self
            .store
            .find_by_identifier(&LoginIdentifier::Either(identifier.to_owned()))
            .await?
            .ok_or(Error::NotFound("user"))?;
        if user.role == role {
            return Ok(user);
        }
        let action = match role {
            Role::Admin => Action::RoleGranted,
            Role::User => Action::RoleRevoked,
        };
        let event = self
            .audit
            .event(action, Actor::operator())
            .account(&user.id)
            .target("user", &user.id)
            .detail("role", "admin");
        self.audit
            .around(
                event,
                self.store.rewrite(&user.id, |user| {
                    user.role = role;
                    Ok(())
                }),
            )
            .await
    }

    /// Re-hashes a password whose hash uses outdated parameters. Best effort: a failure here
    /// must not fail a login whose password was right.
    async fn upgrade_hash(&self, mut user: User, password: &str) -> User {
        let Ok(password) = super::model::Password::new(password, "password") else {
            return user;
        };
        if let Ok(hash) = self.hasher.hash(&password).await {
            // One compare-and-set: if the account changed meanwhile, the next login upgrades.
            let read = user.revision;
            let upgraded = User {
                password_hash: hash,
                revision: read + 1,
                ..user.clone()
            };
            if let Ok(true) = self.store.users().update(&upgraded, read).await {
                user = upgraded;
            }
        }
        user
    }
}

#[cfg(test)]
mod tests;
