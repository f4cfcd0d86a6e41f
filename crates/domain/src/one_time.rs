//! One-time secrets (§8, §9): email verification links, password reset links, login codes,
//! second-factor tokens and passkey challenges are one kind of thing — a digest, a purpose, an
//! owner, an expiry, tries left — behind one port with one atomic "use once".

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::accounts::Email;
use crate::clock::Clock;
use crate::crypto::{SecretDigest, SecretGenerator};
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

/// What a new token secret is: everything of a [`OneTimeSecret`] but its key and digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTokenSecret {
    /// What it is for.
    pub purpose: SecretPurpose,
    /// Whose it is.
    pub user_id: Id,
    /// The address it is mailed to, if it is mailed.
    pub email: Option<Email>,
    /// How long it works.
    pub lifetime: Duration,
    /// Wrong presentations it survives.
    pub tries: u32,
    /// What its ceremony must remember.
    pub payload: Option<String>,
}

/// One-time secrets found by a 256-bit token: links, `mfa_token`s and passkey challenges.
/// The token is shown once; the store keeps only its digest, which is also its key.
#[derive(Clone)]
pub struct TokenSecrets {
    store: Arc<dyn OneTimeSecretRepository>,
    secrets: Arc<dyn SecretGenerator>,
    clock: Arc<dyn Clock>,
}

impl TokenSecrets {
    /// Over `store`, with tokens and digests from `secrets`.
    pub fn new(
        store: Arc<dyn OneTimeSecretRepository>,
        secrets: Arc<dyn SecretGenerator>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            secrets,
            clock,
        }
    }

    /// Stores `new` under the digest of a fresh token, and returns the token.
    pub async fn issue(&self, new: NewTokenSecret) -> Result<String> {
        let token = self.secrets.new_secret()?;
        let digest = self.secrets.digest(&token);
        self.store
            .put_secret(&OneTimeSecret {
                key: digest.as_str().to_owned(),
                purpose: new.purpose,
                user_id: new.user_id,
                email: new.email,
                digest,
                expires_at: self.clock.now() + new.lifetime,
                tries_left: new.tries,
                payload: new.payload,
            })
            .await?;
        Ok(token)
    }

    /// Spends the live secret of `purpose` that `token` names.
    pub async fn spend(&self, purpose: SecretPurpose, token: &str) -> Result<UseOutcome> {
        let digest = self.secrets.digest(token);
        self.store
            .use_secret(digest.as_str(), purpose, &digest, self.clock.now())
            .await
    }
}

/// Removes expired secrets (the embedded store keeps them otherwise; MongoDB's TTL index
/// removes them too); run by the server's upkeep.
pub struct Purger {
    store: Arc<dyn OneTimeSecretRepository>,
    clock: Arc<dyn Clock>,
}

impl Purger {
    /// Over `store`.
    pub fn new(store: Arc<dyn OneTimeSecretRepository>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Removes what expired by now; how many went.
    pub async fn purge_expired(&self) -> Result<u64> {
        self.store.purge_expired_secrets(self.clock.now()).await
    }
}
