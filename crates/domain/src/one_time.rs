//! One-time secrets (§8, §9): email verification links, password reset links, login codes,
//! second-factor tokens and passkey challenges are one kind of thing — a digest, a purpose, an
//! owner, an expiry, tries left — behind one port with one atomic "use once".

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::accounts::Email;
use crate::crypto::SecretDigest;
use crate::error::Result;
use crate::id::Id;

/// What a one-time secret is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretPurpose {
    /// A link proving an email address (24 hours).
    EmailVerification,
    /// A link setting a new password (30 minutes).
    PasswordReset,
    /// A 6-digit login code (10 minutes, 5 tries).
    LoginCode,
    /// An `mfa_token`: a password was right, the second factor is still to come (5 minutes,
    /// 5 wrong codes).
    SecondFactor,
    /// A passkey registration ceremony under way (5 minutes); its state in the payload.
    PasskeyRegistration,
    /// A passkey login ceremony under way (5 minutes); its state in the payload.
    PasskeyLogin,
}

impl SecretPurpose {
    /// The purpose's stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EmailVerification => "email_verification",
            Self::PasswordReset => "password_reset",
            Self::LoginCode => "login_code",
            Self::SecondFactor => "second_factor",
            Self::PasskeyRegistration => "passkey_registration",
            Self::PasskeyLogin => "passkey_login",
        }
    }

    /// The purpose of a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "email_verification" => Some(Self::EmailVerification),
            "password_reset" => Some(Self::PasswordReset),
            "login_code" => Some(Self::LoginCode),
            "second_factor" => Some(Self::SecondFactor),
            "passkey_registration" => Some(Self::PasskeyRegistration),
            "passkey_login" => Some(Self::PasskeyLogin),
            _ => None,
        }
    }
}

/// A stored one-time secret. Only its digest is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTimeSecret {
    /// How it is found: the digest of a link token, or `code/<user id>` for a login code
    /// (one live code per account; a new one replaces it).
    pub key: String,
    /// What it is for.
    pub purpose: SecretPurpose,
    /// Whose it is.
    pub user_id: Id,
    /// The address it was sent to (a verification proves only that address); `None` for
    /// secrets that were never mailed.
    pub email: Option<Email>,
    /// The digest a presented secret must have.
    pub digest: SecretDigest,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// Wrong presentations it survives (codes); 1 for links.
    pub tries_left: u32,
    /// What the ceremony it belongs to must remember (a passkey challenge's state); never a
    /// secret of the user's.
    pub payload: Option<String>,
}

/// What presenting a secret found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UseOutcome {
    /// It was right and live: it is now spent.
    Used(OneTimeSecret),
    /// A secret is there but the presented one is wrong: one try fewer (gone at zero).
    Wrong,
    /// Nothing live under that key for that purpose: unknown, used, expired or out of tries.
    Unknown,
}

/// Keeps one-time secrets.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OneTimeSecretRepository: Send + Sync {
    /// Stores `secret`, replacing whatever was stored under its key.
    async fn put_secret(&self, secret: &OneTimeSecret) -> Result<()>;
    /// In one atomic step: if a live secret of `purpose` is stored under `key` and its digest
    /// is `presented`, removes it and returns it; if the digest differs, takes one try (removing
    /// it at zero). Two racing presentations of one secret cannot both succeed.
    async fn use_secret(
        &self,
        key: &str,
        purpose: SecretPurpose,
        presented: &SecretDigest,
        now: DateTime<Utc>,
    ) -> Result<UseOutcome>;
    /// The live secret of `purpose` under `key` (unexpired, tries left), without using it.
    async fn find_secret(
        &self,
        key: &str,
        purpose: SecretPurpose,
        now: DateTime<Utc>,
    ) -> Result<Option<OneTimeSecret>>;
    /// Removes every secret of `user_id` (account deletion, password reset).
    async fn delete_secrets_of(&self, user_id: &Id) -> Result<()>;
    /// Removes secrets that expired at or before `now`; how many went.
    async fn purge_expired_secrets(&self, now: DateTime<Utc>) -> Result<u64>;
}
