//! The email flows of §8 on the account service: verification links, password reset links and
//! one-time login codes. Every secret is random (256 bits for links), stored only as a digest,
//! spent once, and mailed through the durable outbox.

use std::sync::Arc;

use chrono::Duration;

use super::AccountService;
use crate::accounts::forms::LoginIdentifier;
use crate::accounts::model::{Email, User};
use crate::crypto::SecretGenerator;
use crate::error::{Error, Result};
use crate::mail::{MailKind, MailService, Templates};
use crate::one_time::{OneTimeSecret, OneTimeSecretRepository, SecretPurpose, UseOutcome};
use crate::sessions::Principal;

use super::LoginStep;

/// How long a verification link works.
pub const VERIFICATION_LIFETIME_SECS: i64 = 24 * 3600;
/// How long a password reset link works.
pub const RESET_LIFETIME_SECS: i64 = 30 * 60;
/// How long a login code works.
pub const CODE_LIFETIME_SECS: i64 = 10 * 60;
/// Wrong codes a login code survives.
pub const CODE_TRIES: u32 = 5;

/// What the email flows need besides the account service's own ports.
#[derive(Clone)]
pub struct EmailPorts {
    /// Link tokens and codes.
    pub one_time: Arc<dyn OneTimeSecretRepository>,
    /// The outbox.
    pub mail: Arc<MailService>,
    /// Random secrets and their digests.
    pub secrets: Arc<dyn SecretGenerator>,
    /// The messages.
    pub templates: Arc<Templates>,
    /// Links and rules.
    pub settings: EmailFlowSettings,
}

/// What `server.public_url` and `auth.require_verified_email` configure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailFlowSettings {
    /// Links are built on it: `<public_url>/verify-email?token=…`,
    /// `<public_url>/reset-password?token=…`.
    pub public_url: String,
    /// A correct password of an account whose email is not verified gets `403`.
    pub require_verified_email: bool,
}

/// The key a login code of `user` is stored under (one live code per account).
fn code_key(user: &User) -> String {
    format!("code/{}", user.id)
}

impl AccountService {
    /// Also runs the email flows with `ports`.
    #[must_use]
    pub fn with_email(mut self, ports: EmailPorts) -> Self {
        self.email = Some(ports);
        self
    }

    fn email_ports(&self) -> Result<&EmailPorts> {
        self.email
            .as_ref()
            .ok_or_else(|| Error::Internal("email flows are not wired".to_owned()))
    }

    /// Removes expired link tokens and codes (the embedded store keeps them otherwise; MongoDB's
    /// TTL index removes them too); how many went.
    pub async fn purge_expired_secrets(&self) -> Result<u64> {
        self.email_ports()?
            .one_time
            .purge_expired_secrets(self.clock.now())
            .await
    }

    /// Whether a correct password still needs a verified address to log in.
    pub(super) fn requires_verified_email(&self) -> bool {
        self.email
            .as_ref()
            .is_some_and(|ports| ports.settings.require_verified_email)
    }

    /// Counts a request that will send mail about `subject` (an identifier or address) from
    /// `client_address`: `429` past the per-address or per-subject window. Checked before the
    /// answer, so it says nothing about whether the account exists.
    pub fn throttle_mail_request(&self, subject: &str, client_address: &str) -> Result<()> {
        let subject = format!("mail:{}", subject.trim().to_lowercase());
        self.throttle
            .begin_mail_request(&subject, client_address, self.clock.now())
    }

    /// `POST /email/verify/request`: mails a verification link to the caller's address.
    pub async fn request_verification(
        &self,
        principal: &Principal,
        client_address: &str,
    ) -> Result<()> {
        let user = self.profile(principal).await?;
        let email = user
            .email
            .clone()
            .ok_or_else(|| Error::invalid("email", "the account has no email address to verify"))?;
        self.throttle_mail_request(&format!("user:{}", user.id), client_address)?;
        if user.email_verified {
            return Ok(());
        }
        self.send_verification(&user, &email).await
    }

    /// Mails a verification link for `email` (the account's address now).
    pub(super) async fn send_verification(&self, user: &User, email: &Email) -> Result<()> {
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
        let ports = self.email_ports()?;
        let token = ports.secrets.new_secret()?;
        let digest = ports.secrets.digest(&token);
        let now = self.clock.now();
        ports
            .one_time
            .put_secret(&OneTimeSecret {
                key: digest.as_str().to_owned(),
                purpose,
                user_id: user.id.clone(),
                email: Some(email.clone()),
                digest,
                expires_at: now + Duration::seconds(lifetime_secs),
                tries_left: 1,
                payload: None,
            })
            .await?;
        let link = format!(
            "{}/{page}?token={token}",
            ports.settings.public_url.trim_end_matches('/')
        );
        let minutes = (lifetime_secs / 60).to_string();
        let message = ports.templates.render(
            kind,
            email.as_str(),
            &[
                ("link", &link),
                ("email", email.as_str()),
                ("minutes", &minutes),
            ],
        );
        ports.mail.queue(message).await
    }

    /// After an email change: a verification link to the new address, a notice to the old
    /// one (so a stolen session cannot quietly move the account to another mailbox). Best
    /// effort: the change itself stands.
    pub(super) async fn announce_email_change(&self, user: &User, old: Option<&Email>) {
        let Ok(ports) = self.email_ports() else {
            return;
        };
        if let Some(new) = &user.email {
            let _ = self.send_verification(user, new).await;
        }
        if let Some(old) = old {
            let shown = user.email.as_ref().map_or("(none)", Email::as_str);
            let notice =
                ports
                    .templates
                    .render(MailKind::EmailChanged, old.as_str(), &[("email", shown)]);
            let _ = ports.mail.queue(notice).await;
        }
    }

    /// `POST /email/verify`: spends a verification token; the address it was sent to is
    /// verified if it is still the account's.
    pub async fn verify_email(&self, token: &str) -> Result<User> {
        let ports = self.email_ports()?;
        let digest = ports.secrets.digest(token);
        let outcome = ports
            .one_time
            .use_secret(
                digest.as_str(),
                SecretPurpose::EmailVerification,
                &digest,
                self.clock.now(),
            )
            .await?;
        let UseOutcome::Used(secret) = outcome else {
            return Err(Error::InvalidToken);
        };
        self.rewrite(&secret.user_id, |user| {
            if secret.email.is_none() || user.email != secret.email || user.deleting {
                return Err(Error::InvalidToken);
            }
            user.email_verified = true;
            Ok(())
        })
        .await
        .map_err(|e| match e {
            Error::Unauthorized(_) => Error::InvalidToken,
            other => other,
        })
    }

    /// `POST /password/forgot`, after [`Self::throttle_mail_request`]: mails a reset link if
    /// `identifier` names an account with an address; nothing otherwise. The caller answers
    /// the same either way, without waiting for this.
    pub async fn send_password_reset(&self, identifier: &str) -> Result<()> {
        let Some(user) = self
            .find_by_identifier(&LoginIdentifier::Either(identifier.to_owned()))
            .await?
            .filter(|u| !u.deleting)
        else {
            return Ok(());
        };
        let Some(email) = user.email.clone() else {
            return Ok(());
        };
        self.mail_link(
            &user,
            &email,
            SecretPurpose::PasswordReset,
            RESET_LIFETIME_SECS,
            (MailKind::PasswordReset, "reset-password"),
        )
        .await
    }

    /// `POST /password/reset`: spends a reset token and sets `new_password` (the password
    /// policy applies, checked before the token is spent as far as it can be); every session
    /// of the account ends, and every other link or code of it dies.
    pub async fn reset_password(&self, token: &str, new_password: &str) -> Result<()> {
        let ports = self.email_ports()?;
        self.policy
            .check(new_password, "new_password", None, None)?;
        let digest = ports.secrets.digest(token);
        let outcome = ports
            .one_time
            .use_secret(
                digest.as_str(),
                SecretPurpose::PasswordReset,
                &digest,
                self.clock.now(),
            )
            .await?;
        let UseOutcome::Used(secret) = outcome else {
            return Err(Error::InvalidToken);
        };
        let user = self
            .users
            .find_by_id(&secret.user_id)
            .await?
            .filter(|u| !u.deleting)
            .ok_or(Error::InvalidToken)?;
        let password = self.policy.check(
            new_password,
            "new_password",
            user.username.as_ref(),
            user.email.as_ref(),
        )?;
        let hash = self.hasher.hash(&password).await?;
        let proven = secret.email.clone();
        self.rewrite(&user.id, |user| {
            user.password_hash.clone_from(&hash);
            // The link reached this mailbox: the address is proven too.
            if proven.is_some() && user.email == proven {
                user.email_verified = true;
            }
            Ok(())
        })
        .await?;
        self.sessions.revoke_all(&user.id).await?;
        ports.one_time.delete_secrets_of(&user.id).await
    }

    /// `POST /login/code/request`, after [`Self::throttle_mail_request`]: mails a 6-digit
    /// code if `email` is an account's address (replacing any earlier code); nothing
    /// otherwise.
    pub async fn send_login_code(&self, email: &str) -> Result<()> {
        let ports = self.email_ports()?;
        let Ok(email) = Email::new(email) else {
            return Ok(());
        };
        let Some(user) = self
            .users
            .find_by_email(&email)
            .await?
            .filter(|u| !u.deleting)
        else {
            return Ok(());
        };
        let code = six_digits()?;
        let now = self.clock.now();
        ports
            .one_time
            .put_secret(&OneTimeSecret {
                key: code_key(&user),
                purpose: SecretPurpose::LoginCode,
                user_id: user.id.clone(),
                email: Some(email.clone()),
                digest: ports.secrets.digest(&format!("{}:{code}", user.id)),
                expires_at: now + Duration::seconds(CODE_LIFETIME_SECS),
                tries_left: CODE_TRIES,
                payload: None,
            })
            .await?;
        let minutes = (CODE_LIFETIME_SECS / 60).to_string();
        let message = ports.templates.render(
            MailKind::LoginCode,
            email.as_str(),
            &[
                ("code", &code),
                ("minutes", &minutes),
                ("email", email.as_str()),
            ],
        );
        ports.mail.queue(message).await
    }

    /// `POST /login/code`: a live code of the account of `email` logs it in (and proves its
    /// address). A wrong code is `401 invalid_credentials`, counted like a wrong password; the
    /// code dies after 5 wrong tries.
    pub async fn login_with_code(
        &self,
        email: &str,
        code: &str,
        client_address: &str,
    ) -> Result<LoginStep> {
        let ports = self.email_ports()?;
        let now = self.clock.now();
        let address = Email::new(email).ok();
        let user = match &address {
            Some(address) => self.users.find_by_email(address).await?,
            None => None,
        };
        let account_key = match &user {
            Some(user) => format!("user:{}", user.id),
            None => format!("unknown:{}", email.trim().to_lowercase()),
        };
        let attempt = self
            .throttle
            .begin_attempt(&account_key, client_address, now)?;
        let Some(user) = user.filter(|u| !u.deleting) else {
            return Err(Error::InvalidCredentials);
        };
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::InvalidCredentials);
        }
        let presented = ports.secrets.digest(&format!("{}:{code}", user.id));
        match ports
            .one_time
            .use_secret(&code_key(&user), SecretPurpose::LoginCode, &presented, now)
            .await?
        {
            UseOutcome::Used(secret) => {
                let proves = |u: &User| secret.email.is_some() && u.email == secret.email;
                let user = if !user.email_verified && proves(&user) {
                    self.rewrite(&user.id, |u| {
                        u.email_verified = proves(u);
                        Ok(())
                    })
                    .await?
                } else {
                    user
                };
                self.after_first_factor(user, || self.throttle.succeeded(attempt))
                    .await
            }
            UseOutcome::Wrong | UseOutcome::Unknown => Err(Error::InvalidCredentials),
        }
    }
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
