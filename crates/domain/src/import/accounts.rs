//! The accounts of a migration: each legacy account becomes a Keygate account with its old
//! password hash, checked at its next login and then replaced by Argon2id. An account whose
//! username or email another account has is skipped and reported, never merged.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::accounts::{
    AccountDetails, Age, Email, Gender, PersonName, User, UserRepository, Username,
};
use crate::audit::{Action, Actor, AuditTrail};
use crate::clock::Clock;
use crate::error::{ConflictKind, Error, Result};
use crate::id::Id;

/// What a legacy hash is, as the crypto adapter reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashVerdict {
    /// Keygate can check it; the format's name.
    Usable(&'static str),
    /// Keygate's own Argon2 PHC string.
    Argon2,
    /// In no known format: kept, matching nothing; the owner resets the password.
    Unknown,
    /// Known, but too costly for a login: refused now, the account comes without a password.
    Refused(String),
}

/// Reads legacy hashes (`keygate-crypto` implements it).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait HashInspector: Send + Sync {
    /// What `hash` is.
    fn inspect(&self, hash: &str) -> HashVerdict;
}

/// One account as a source gives it; every field as found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LegacyUser {
    /// Its id in the source (a 24-hex id is kept as the account's).
    pub source_id: String,
    /// `username`.
    pub username: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// The stored password hash.
    pub password_hash: Option<String>,
    /// `name` (000).
    pub name: Option<String>,
    /// `full_name` (002).
    pub full_name: Option<String>,
    /// `age`.
    pub age: Option<i64>,
    /// `gender`.
    pub gender: Option<String>,
    /// When it registered, if the source says.
    pub created_at: Option<DateTime<Utc>>,
}

/// What happened to one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ImportOutcome {
    /// Now a Keygate account.
    Imported,
    /// An earlier run brought it in.
    AlreadyImported,
    /// Another account has its username.
    UsernameTaken,
    /// Another account has its email.
    EmailTaken,
    /// Neither a usable username nor a usable email, or a field Keygate cannot keep.
    Invalid,
    /// Another account's API has its name.
    NameTaken,
    /// Its owner's storage quota is full.
    OverQuota,
    /// A record whose API or endpoint was not imported.
    UnknownApi,
    /// Another account of the source has the same id (or, without ids, the same username
    /// or email): a second account, not a re-import of the first.
    DuplicateId,
}

impl ImportOutcome {
    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Self::Imported => "imported",
            Self::AlreadyImported => "already_imported",
            Self::UsernameTaken => "skipped_username_taken",
            Self::EmailTaken => "skipped_email_taken",
            Self::Invalid => "skipped_invalid",
            Self::NameTaken => "skipped_api_name_taken",
            Self::OverQuota => "skipped_over_quota",
            Self::UnknownApi => "skipped_unknown_api_or_endpoint",
            Self::DuplicateId => "skipped_duplicate_id",
        }
    }
}

/// The most skipped accounts a report names one by one.
pub const MAX_NAMED_SKIPS: usize = 100;

/// What a run did: counts by outcome and by hash format, and the first skipped accounts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Accounts by outcome name.
    pub outcomes: BTreeMap<&'static str, u64>,
    /// Imported (or, in a dry run, importable) accounts by hash format.
    pub formats: BTreeMap<String, u64>,
    /// The first [`MAX_NAMED_SKIPS`] skipped accounts: source id and why.
    pub skipped: Vec<(String, String)>,
}

impl ImportReport {
    /// Adds `other`'s counts to this one.
    pub fn merge(&mut self, other: ImportReport) {
        for (name, count) in other.outcomes {
            *self.outcomes.entry(name).or_default() += count;
        }
        for (name, count) in other.formats {
            *self.formats.entry(name).or_default() += count;
        }
        for skip in other.skipped {
            if self.skipped.len() < MAX_NAMED_SKIPS {
                self.skipped.push(skip);
            }
        }
    }

    pub(super) fn count(&mut self, outcome: ImportOutcome) {
        *self.outcomes.entry(outcome.name()).or_default() += 1;
    }

    pub(super) fn skip(&mut self, user: &LegacyUser, outcome: ImportOutcome, why: String) {
        self.skip_source(&user.source_id, outcome, why);
    }

    pub(super) fn skip_source(&mut self, source_id: &str, outcome: ImportOutcome, why: String) {
        self.count(outcome);
        if self.skipped.len() < MAX_NAMED_SKIPS {
            self.skipped.push((source_id.to_owned(), why));
        }
    }
}

/// Whether `stored` is the account `imported` would be: the same username or the same email
/// (an account may have changed one of them since it was imported).
fn same_account(stored: &User, imported: &User) -> bool {
    let same_name = stored.username.is_some()
        && stored.username.as_ref().map(|u| u.as_str().to_lowercase())
            == imported
                .username
                .as_ref()
                .map(|u| u.as_str().to_lowercase());
    let same_email = stored.email.is_some() && stored.email == imported.email;
    same_name || same_email
}

/// What a stored password hash becomes when its hash is refused: nothing verifies it.
pub const NO_PASSWORD: &str = "!imported-without-a-usable-password";

/// Imports accounts.
pub struct ImportService {
    users: Arc<dyn UserRepository>,
    hashes: Arc<dyn HashInspector>,
    clock: Arc<dyn Clock>,
    audit: Arc<AuditTrail>,
}

impl ImportService {
    /// The service over Keygate's account store.
    pub fn new(
        users: Arc<dyn UserRepository>,
        hashes: Arc<dyn HashInspector>,
        clock: Arc<dyn Clock>,
        audit: Arc<AuditTrail>,
    ) -> Self {
        Self {
            audit,
            users,
            hashes,
            clock,
        }
    }

    /// The account's Keygate id: its own if it is 24-hex, else one derived from `source` and
    /// its old id, or (an export without ids) from its username, else its email: the same on
    /// every run, and different for different accounts.
    pub fn account_id(source: &str, user: &LegacyUser, digest: &dyn Fn(&str) -> String) -> Id {
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_lowercase)
        };
        let source_id = user.source_id.trim();
        let identifying = if !source_id.is_empty() {
            source_id.to_owned()
        } else if let Some(username) = given(&user.username) {
            format!("\0username\0{username}")
        } else if let Some(email) = given(&user.email) {
            format!("\0email\0{email}")
        } else {
            String::new()
        };
        Self::kept_or_derived_id(source, &identifying, digest)
    }

    /// `source_id` if it is 24-hex, else an id derived from `source` and it (the same on
    /// every run): accounts, 000's APIs and records alike.
    pub fn kept_or_derived_id(
        source: &str,
        source_id: &str,
        digest: &dyn Fn(&str) -> String,
    ) -> Id {
        source_id.parse().unwrap_or_else(|_| {
            let hex = digest(&format!("keygate-import\0{source}\0{source_id}"));
            hex.get(..24)
                .and_then(|h| h.parse().ok())
                .unwrap_or_else(|| Id::generate(0))
        })
    }

    /// Imports `users` (ids already assigned, see [`Self::account_id`]); with `dry_run`, only
    /// says what it would do.
    pub async fn import(&self, users: &[(Id, LegacyUser)], dry_run: bool) -> Result<ImportReport> {
        let mut report = ImportReport::default();
        for (id, legacy) in users {
            let (user, format) = match self.account(id, legacy) {
                Ok(found) => found,
                Err(why) => {
                    report.skip(legacy, ImportOutcome::Invalid, why);
                    continue;
                }
            };
            if let Some(stored) = self.users.find_by_id(id).await? {
                if same_account(&stored, &user) {
                    report.count(ImportOutcome::AlreadyImported);
                } else {
                    report.skip(
                        legacy,
                        ImportOutcome::DuplicateId,
                        "another account of the source has the same id".to_owned(),
                    );
                }
                continue;
            }
            let outcome = if dry_run {
                self.would_conflict(&user).await?
            } else {
                let event = self
                    .audit
                    .event(Action::AccountImported, Actor::operator())
                    .account(&user.id)
                    .target("user", &user.id)
                    .detail("hash_format", format.to_string());
                match self.audit.around(event, self.users.insert(&user)).await {
                    Ok(()) => None,
                    Err(Error::Conflict(ConflictKind::Username)) => {
                        Some(ImportOutcome::UsernameTaken)
                    }
                    Err(Error::Conflict(ConflictKind::Email)) => Some(ImportOutcome::EmailTaken),
                    // A racing run inserted it first: already imported.
                    Err(Error::Conflict(_)) => Some(ImportOutcome::AlreadyImported),
                    Err(other) => return Err(other),
                }
            };
            match outcome {
                None => {
                    report.count(ImportOutcome::Imported);
                    *report.formats.entry(format).or_default() += 1;
                }
                Some(ImportOutcome::AlreadyImported) => {
                    report.count(ImportOutcome::AlreadyImported)
                }
                Some(skipped) => {
                    let why = match skipped {
                        ImportOutcome::UsernameTaken => "username already taken",
                        _ => "email already taken",
                    };
                    report.skip(legacy, skipped, why.to_owned());
                }
            }
        }
        Ok(report)
    }

    /// In a dry run: whether the account would collide.
    async fn would_conflict(&self, user: &User) -> Result<Option<ImportOutcome>> {
        if let Some(username) = &user.username {
            if self.users.find_by_username(username).await?.is_some() {
                return Ok(Some(ImportOutcome::UsernameTaken));
            }
        }
        if let Some(email) = &user.email {
            if self.users.find_by_email(email).await?.is_some() {
                return Ok(Some(ImportOutcome::EmailTaken));
            }
        }
        Ok(None)
    }

    /// The Keygate account of `legacy`, and its hash format's name.
    fn account(&self, id: &Id, legacy: &LegacyUser) -> std::result::Result<(User, String), String> {
        let text = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let username = text(&legacy.username)
            .map(|u| Username::new(&u).map_err(|e| format!("username: {}", e.message)))
            .transpose()?;
        let email = text(&legacy.email)
            .map(|e| Email::new(&e).map_err(|e| format!("email: {}", e.message)))
            .transpose()?;
        if username.is_none() && email.is_none() {
            return Err("neither a username nor an email".to_owned());
        }
        let (password_hash, format) = match text(&legacy.password_hash) {
            None => (NO_PASSWORD.to_owned(), "none".to_owned()),
            Some(hash) => match self.hashes.inspect(&hash) {
                HashVerdict::Usable(format) => (hash, format.to_owned()),
                HashVerdict::Argon2 => (hash, "argon2".to_owned()),
                HashVerdict::Unknown => (hash, "unknown".to_owned()),
                HashVerdict::Refused(_) => (NO_PASSWORD.to_owned(), "refused".to_owned()),
            },
        };
        let optional_name = |value: &Option<String>, field: &str| {
            text(value)
                .map(|n| PersonName::new(&n, field).map_err(|e| format!("{field}: {}", e.message)))
                .transpose()
        };
        let now = self.clock.now();
        let created_at = legacy.created_at.unwrap_or(now);
        let details = AccountDetails {
            username,
            email,
            name: optional_name(&legacy.name, "name")?,
            full_name: optional_name(&legacy.full_name, "full_name")?,
            age: legacy
                .age
                .map(|a| Age::new(a).map_err(|e| format!("age: {}", e.message)))
                .transpose()?,
            gender: text(&legacy.gender)
                .map(|g| Gender::new(&g).map_err(|e| format!("gender: {}", e.message)))
                .transpose()?,
        };
        let user = User {
            updated_at: now.max(created_at),
            ..User::new_account(id.clone(), details, password_hash, created_at)
        };
        Ok((user, format))
    }
}
