//! The email flows' use cases: verification links, password reset links and login codes.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;

use super::forms::{CodeLogin, PasswordReset, VerificationToken};
use crate::accounts::PasswordHasher;
use crate::accounts::{
    finish_first_factor, AccountMail, AccountStore, Email, LoginIdentifier, LoginStep,
    LoginThrottle, PasswordPolicy, SecondStep, User, UserRepository,
};
use crate::audit::{Action, Actor, AuditTrail};
use crate::clock::Clock;
use crate::crypto::SecretGenerator;
use crate::error::{Error, Result};
use crate::mail::{MailKind, MailQueue};
use crate::mfa::SecondFactorRepository;
use crate::one_time::{
    NewTokenSecret, OneTimeSecret, OneTimeSecretRepository, SecretPurpose, TokenSecrets, UseOutcome,
};
use crate::sessions::{Principal, SessionLifecycle};

/// How long a verification link works.
pub const VERIFICATION_LIFETIME_SECS: i64 = 24 * 3600;
/// How long a password reset link works.
pub const RESET_LIFETIME_SECS: i64 = 30 * 60;
/// How long a login code works.
pub const CODE_LIFETIME_SECS: i64 = 10 * 60;
/// Wrong codes a login code survives.
pub const CODE_TRIES: u32 = 5;

/// What `server.public_url` and `auth.require_verified_email` configure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailFlowSettings {
    /// Links are built on it: `<public_url>/verify-email?token=…`,
    /// `<public_url>/reset-password?token=…`.
    pub public_url: String,
    /// A correct password of an account whose email is not verified gets `403`.
    pub require_verified_email: bool,
}

impl Default for EmailFlowSettings {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".to_owned(),
            require_verified_email: false,
        }
    }
}

/// What the email flows need.
#[derive(Clone)]
pub struct EmailFlowPorts {
    /// The accounts.
    pub users: Arc<dyn UserRepository>,
    /// Hashes a new password.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Ends sessions after a reset, starts one after a code login.
    pub sessions: Arc<dyn SessionLifecycle>,
    /// Whether a code login still needs the second factor.
    pub second_step: Arc<dyn SecondStep>,
    /// Link tokens and codes.
    pub one_time: Arc<dyn OneTimeSecretRepository>,
    /// The second factors, removed when an address is first proven (§12).
    pub factors: Arc<dyn SecondFactorRepository>,
    /// Random secrets and their digests.
    pub secrets: Arc<dyn SecretGenerator>,
    /// The outbox.
    pub mail: Arc<dyn MailQueue>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Where security events are recorded (§13).
    pub audit: Arc<AuditTrail>,
}

/// The key a login code of `user` is stored under (one live code per account).
fn code_key(user: &User) -> String {
    format!("code/{}", user.id)
}

/// Verification, password reset and login codes.
pub struct EmailFlowService {
    accounts: AccountStore,
    hasher: Arc<dyn PasswordHasher>,
    sessions: Arc<dyn SessionLifecycle>,
    second_step: Arc<dyn SecondStep>,
    one_time: Arc<dyn OneTimeSecretRepository>,
    factors: Arc<dyn SecondFactorRepository>,
    links: TokenSecrets,
    secrets: Arc<dyn SecretGenerator>,
    mail: Arc<dyn MailQueue>,
    clock: Arc<dyn Clock>,
    audit: Arc<AuditTrail>,
    throttle: Arc<LoginThrottle>,
    policy: PasswordPolicy,
    settings: EmailFlowSettings,
}

impl EmailFlowService {
    /// Wires the flows; guesses and mail requests count in `throttle`, the login's own.
    pub fn new(
        ports: EmailFlowPorts,
        throttle: Arc<LoginThrottle>,
        settings: EmailFlowSettings,
    ) -> Self {
        Self {
            accounts: AccountStore::new(ports.users, ports.clock.clone()),
            hasher: ports.hasher,
            sessions: ports.sessions,
            second_step: ports.second_step,
            links: TokenSecrets::new(
                ports.one_time.clone(),
                ports.secrets.clone(),
                ports.clock.clone(),
            ),
            one_time: ports.one_time,
            factors: ports.factors,
            secrets: ports.secrets,
            mail: ports.mail,
            clock: ports.clock,
            audit: ports.audit,
            throttle,
            policy: PasswordPolicy,
            settings,
        }
    }

    /// Counts a request that will send mail about `subject` (an identifier or address) from
    /// `client_address`: `429` past the per-address or per-subject window. Checked before the
    /// answer, so it says nothing about whether the account exists.
    pub async fn throttle_mail_request(&self, subject: &str, client_address: &str) -> Result<()> {
        let subject = format!("mail:{}", subject.trim().to_lowercase());
        self.throttle
            .begin_mail_request(&subject, client_address, self.clock.now())
            .await
    }

    /// `POST /email/verify/request`: mails a verification link to the caller's pending
    /// address, else to its address if that is not verified yet.
    pub async fn request_verification(
        &self,
        principal: &Principal,
        client_address: &str,
    ) -> Result<()> {
        let user = self.accounts.account(&principal.user_id).await?;
        if user.email.is_none() && user.pending_email.is_none() {
            return Err(Error::invalid(
                "email",
                "the account has no email address to verify",
            ));
        }
        self.throttle_mail_request(&format!("user:{}", user.id), client_address)
            .await?;
        // An address waiting for its proof is the one the caller wants proven.
        let unproven = match (&user.pending_email, &user.email) {
            (Some(pending), _) => pending,
            (None, Some(email)) if !user.email_verified => email,
            _ => return Ok(()),
        };
        self.send_verification(&user, unproven).await
    }

    /// Mails a verification link for `email` (the account's address now).
    async fn send_verification(&self, user: &User, email: &Email) -> Result<()> {
        self.mail_link(
            user,
            email,
            SecretPurpose::EmailVerification,
            VERIFICATION_LIFETIME_SECS,
            (MailKind::VerifyEmail, "verify-email"),
        )
        .await
    }

    /// Stores a new 256-bit link token of `purpose` for `user`, and mails
    /// `<public_url>/<page>?token=…` to `email` as a message of `kind`.
    async fn mail_link(
        &self,
        user: &User,
        email: &Email,
        purpose: SecretPurpose,
        lifetime_secs: i64,
        (kind, page): (MailKind, &str),
    ) -> Result<()> {
        let token = self
            .links
            .issue(NewTokenSecret {
                purpose,
                user_id: user.id.clone(),
                email: Some(email.clone()),
                lifetime: Duration::seconds(lifetime_secs),
                tries: 1,
                payload: None,
            })
            .await?;
        let link = format!(
            "{}/{page}?token={token}",
            self.settings.public_url.trim_end_matches('/')
        );
        let minutes = (lifetime_secs / 60).to_string();
        self.mail
            .enqueue(
                kind,
                email.as_str(),
                vec![
                    ("link", link),
                    ("email", email.as_str().to_owned()),
                    ("minutes", minutes),
                ],
            )
            .await
    }

    /// `POST /email/verify`: spends a verification token. The address it was mailed to is
    /// verified if it is still the account's; if it is the pending one, it becomes the
    /// account's address (`409 email_taken` if another account took it meanwhile) and the
    /// links and codes mailed to the old one end (§12).
    pub async fn verify_email(&self, token: VerificationToken) -> Result<User> {
        let UseOutcome::Used(secret) = self
            .links
            .spend(SecretPurpose::EmailVerification, &token.0)
            .await?
        else {
            return Err(Error::InvalidToken);
        };
        let moved = std::cell::Cell::new(false);
        let newly_proven = std::cell::Cell::new(false);
        let rewrite = self.accounts.rewrite(&secret.user_id, |user| {
            moved.set(false);
            newly_proven.set(false);
            if secret.email.is_none() || user.deleting {
                return Err(Error::InvalidToken);
            }
            if user.pending_email == secret.email {
                user.email = user.pending_email.take();
                user.email_verified = true;
                moved.set(true);
            } else if user.email != secret.email {
                return Err(Error::InvalidToken);
            } else {
                newly_proven.set(prove_mailbox(user, secret.email.as_ref()));
            }
            Ok(())
        });
        let user = rewrite.await.map_err(|e| match e {
            Error::Unauthorized(_) => Error::InvalidToken,
            other => other,
        })?;
        let action = if moved.get() {
            Action::EmailChanged
        } else {
            Action::EmailVerified
        };
        self.audit
            .record(
                self.audit
                    .event(action, Actor::user(&user.id))
                    .account(&user.id)
                    .target("user", &user.id)
                    .detail("newly_proven", newly_proven.get()),
            )
            .await?;
        if moved.get() {
            self.one_time.delete_secrets_of(&user.id).await?;
        }
        if newly_proven.get() {
            self.secure_newly_proven(&user).await?;
        }
        Ok(user)
    }

    /// The mailbox of an address nobody had proven was just proven (§12, account
    /// pre-hijacking): whatever was added before is not known to be the owner's, so every
    /// session ends and every second factor goes; the owner is told when there were factors.
    async fn secure_newly_proven(&self, user: &User) -> Result<()> {
        self.sessions.revoke_all(&user.id).await?;
        self.remove_unproven_factors(user).await
    }

    /// Removes every second factor of `user`, added before its address was proven, and tells
    /// the owner when there were any.
    async fn remove_unproven_factors(&self, user: &User) -> Result<()> {
        let had_factors = self
            .factors
            .find_factors(&user.id)
            .await?
            .is_some_and(|factors| !factors.is_empty());
        self.factors.delete_factors(&user.id).await?;
        if let (true, Some(email)) = (had_factors, &user.email) {
            self.mail
                .enqueue(MailKind::AccountSecured, email.as_str(), Vec::new())
                .await?;
        }
        Ok(())
    }

    /// `POST /password/forgot`, after [`Self::throttle_mail_request`]: mails a reset link if
    /// `identifier` names an account with an address; nothing otherwise. The caller answers
    /// the same either way, without waiting for this.
    pub async fn send_password_reset(&self, identifier: &str) -> Result<()> {
        let Some(user) = self
            .accounts
            .find_by_identifier(&LoginIdentifier::Either(identifier.to_owned()))
            .await?
            .filter(|u| !u.deleting)
        else {
            return Ok(());
        };
        let Some(email) = user.email.clone() else {
            return Ok(());
        };
        self.audit
            .record(
                self.audit
                    .event(Action::PasswordResetRequested, Actor::user(&user.id))
                    .account(&user.id)
                    .target("user", &user.id),
            )
            .await?;
        self.mail_link(
            &user,
            &email,
            SecretPurpose::PasswordReset,
            RESET_LIFETIME_SECS,
            (MailKind::PasswordReset, "reset-password"),
        )
        .await
    }

    /// `POST /password/reset`: spends a reset token and sets the new password (the policy
    /// checked again against the account's names); every session of the account ends, and
    /// every other link or code of it dies.
    pub async fn reset_password(&self, reset: PasswordReset) -> Result<()> {
        let UseOutcome::Used(secret) = self
            .links
            .spend(SecretPurpose::PasswordReset, &reset.token)
            .await?
        else {
            return Err(Error::InvalidToken);
        };
        let user = self
            .accounts
            .users()
            .find_by_id(&secret.user_id)
            .await?
            .filter(|u| !u.deleting)
            .ok_or(Error::InvalidToken)?;
        let password = self.policy.check(
            reset.new_password.expose(),
            "new_password",
            user.username.as_ref(),
            user.email.as_ref(),
        )?;
        let hash = self.hasher.hash(&password).await?;
        let proven = secret.email.clone();
        let newly_proven = std::cell::Cell::new(false);
        let event = self
            .audit
            .event(Action::PasswordReset, Actor::user(&user.id))
            .account(&user.id)
            .target("user", &user.id);
        let user = self
            .audit
            .around(
                event,
                self.accounts.rewrite(&user.id, |user| {
                    user.password_hash.clone_from(&hash);
                    // The link reached this mailbox: the address is proven too.
                    newly_proven.set(prove_mailbox(user, proven.as_ref()));
                    Ok(())
                }),
            )
            .await?;
        self.sessions.revoke_all(&user.id).await?;
        if newly_proven.get() {
            self.remove_unproven_factors(&user).await?;
        }
        self.one_time.delete_secrets_of(&user.id).await
    }

    /// `POST /login/code/request`, after [`Self::throttle_mail_request`]: mails a 6-digit
    /// code if `email` is an account's address (replacing any earlier code); nothing
    /// otherwise.
    pub async fn send_login_code(&self, email: &str) -> Result<()> {
        let Ok(email) = Email::new(email) else {
            return Ok(());
        };
        let Some(user) = self
            .accounts
            .users()
            .find_by_email(&email)
            .await?
            .filter(|u| !u.deleting)
        else {
            return Ok(());
        };
        let code = six_digits()?;
        let now = self.clock.now();
        self.one_time
            .put_secret(&OneTimeSecret {
                key: code_key(&user),
                purpose: SecretPurpose::LoginCode,
                user_id: user.id.clone(),
                email: Some(email.clone()),
                digest: self.secrets.digest(&format!("{}:{code}", user.id)),
                expires_at: now + Duration::seconds(CODE_LIFETIME_SECS),
                tries_left: CODE_TRIES,
                payload: None,
            })
            .await?;
        let minutes = (CODE_LIFETIME_SECS / 60).to_string();
        self.mail
            .enqueue(
                MailKind::LoginCode,
                email.as_str(),
                vec![
                    ("code", code),
                    ("minutes", minutes),
                    ("email", email.as_str().to_owned()),
                ],
            )
            .await
    }

    /// `POST /login/code`: a live code of the account of `email` logs it in (and proves its
    /// address). A wrong code is `401 invalid_credentials`, counted like a wrong password; the
    /// code dies after 5 wrong tries.
    pub async fn login_with_code(
        &self,
        login: CodeLogin,
        client_address: &str,
    ) -> Result<LoginStep> {
        let CodeLogin { email, code } = login;
        let now = self.clock.now();
        let address = Email::new(&email).ok();
        let user = match &address {
            Some(address) => self.accounts.users().find_by_email(address).await?,
            None => None,
        };
        let account_key = match &user {
            Some(user) => format!("user:{}", user.id),
            None => format!("unknown:{}", email.trim().to_lowercase()),
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
                        .refused_login(Action::LoginThrottled, &user.id, "code")
                        .await?;
                }
                return Err(refused);
            }
            Err(other) => return Err(other),
        };
        let Some(user) = user.filter(|u| !u.deleting) else {
            self.audit.unknown_login_failed();
            return Err(Error::InvalidCredentials);
        };
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            self.audit
                .refused_login(Action::LoginFailed, &user.id, "code")
                .await?;
            return Err(Error::InvalidCredentials);
        }
        let presented = self.secrets.digest(&format!("{}:{code}", user.id));
        match self
            .one_time
            .use_secret(&code_key(&user), SecretPurpose::LoginCode, &presented, now)
            .await?
        {
            UseOutcome::Used(secret) => {
                let proves = |u: &User| secret.email.is_some() && u.email == secret.email;
                let user = if !user.email_verified && proves(&user) {
                    let newly_proven = std::cell::Cell::new(false);
                    let user = self
                        .accounts
                        .rewrite(&user.id, |u| {
                            newly_proven.set(prove_mailbox(u, secret.email.as_ref()));
                            Ok(())
                        })
                        .await?;
                    if newly_proven.get() {
                        // Before the session this login starts, which is the owner's.
                        self.secure_newly_proven(&user).await?;
                    }
                    user
                } else {
                    user
                };
                finish_first_factor(
                    (&*self.second_step, &*self.sessions, &self.audit),
                    (user, "code"),
                    (&self.throttle, attempt),
                )
                .await
            }
            UseOutcome::Wrong | UseOutcome::Unknown => {
                self.audit
                    .refused_login(Action::LoginFailed, &user.id, "code")
                    .await?;
                Err(Error::InvalidCredentials)
            }
        }
    }
}

#[async_trait]
impl AccountMail for EmailFlowService {
    /// Every reset link, verification link and login code outstanding ends (§12).
    async fn password_changed(&self, user: &User) -> Result<()> {
        self.one_time.delete_secrets_of(&user.id).await
    }

    async fn account_created(&self, user: &User) {
        if let Some(email) = &user.email {
            let _ = self.send_verification(user, email).await;
        }
    }

    /// A verification link to the pending address, a notice to the account's address (so a
    /// stolen session cannot quietly move the account to another mailbox).
    async fn email_changed(&self, user: &User, notice_to: Option<Email>) {
        // Links and codes mailed before end with the change (§12).
        let _ = self.one_time.delete_secrets_of(&user.id).await;
        if let Some(pending) = &user.pending_email {
            let _ = self.send_verification(user, pending).await;
        }
        if let Some(old) = notice_to {
            // Shown masked: the new address is the caller's text, and the notice is genuine.
            let shown = user
                .pending_email
                .as_ref()
                .map_or_else(|| "(none)".to_owned(), Email::masked);
            let _ = self
                .mail
                .enqueue(MailKind::EmailChanged, old.as_str(), vec![("email", shown)])
                .await;
        }
    }
}

/// A link or code mailed to `mailed_to` was used: if that is still `user`'s address, it is
/// verified. Whether it was not before, so this is the mailbox's first proof (§12).
fn prove_mailbox(user: &mut User, mailed_to: Option<&Email>) -> bool {
    let proves = mailed_to.is_some() && user.email.as_ref() == mailed_to;
    let first = proves && !user.email_verified;
    user.email_verified |= proves;
    first
}

/// Six uniformly random decimal digits from the OS generator.
fn six_digits() -> Result<String> {
    loop {
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes)
            .map_err(|e| Error::Internal(format!("OS random generator failed: {e}")))?;
        let n = u32::from_le_bytes(bytes);
        // Rejection sampling: below the largest multiple of 10^6, every code is equally likely.
        if n < 4_294_000_000 {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

#[cfg(test)]
mod tests;
