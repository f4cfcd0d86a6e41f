//! Account entities and value objects; each value object is valid once constructed.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, FieldViolation};
use crate::id::Id;
use crate::sessions::IssuedTokens;
use crate::text_value::string_conversions;

/// A lower-cased, syntactically valid email address.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// The longest address, in bytes (RFC 5321's path limit).
    pub const MAX_BYTES: usize = 254;

    /// Validates and lower-cases `raw` (surrounding white space is ignored).
    pub fn new(raw: &str) -> Result<Self, FieldViolation> {
        let email = raw.trim().to_lowercase();
        let invalid = || FieldViolation::new("email", "must be a valid email address");
        if email.len() > Self::MAX_BYTES
            || email.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid());
        }
        let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok {
            Ok(Self(email))
        } else {
            Err(invalid())
        }
    }

    /// The address as stored (lower-case).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address as a message about it may show it to someone else: the first character of
    /// the local part and the domain (`a…@example.com`). A local part can be any text, such as
    /// `https://evil.example/x`, which a mail reader would turn into a link in a genuine
    /// message.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or(("", &self.0));
        let first: String = local.chars().take(1).collect();
        format!("{first}…@{domain}")
    }
}

/// A username: 3..32 characters of `A-Z a-z 0-9 _ . -`, unique case-insensitively.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    /// The shortest username, in characters.
    pub const MIN_CHARS: usize = 3;
    /// The longest username, in characters.
    pub const MAX_CHARS: usize = 32;

    /// Validates `raw` as given (its case is kept for display).
    pub fn new(raw: &str) -> Result<Self, FieldViolation> {
        let length = raw.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&length) {
            return Err(FieldViolation::new(
                "username",
                format!(
                    "must be {} to {} characters long",
                    Self::MIN_CHARS,
                    Self::MAX_CHARS
                ),
            ));
        }
        if !raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err(FieldViolation::new(
                "username",
                "may only contain letters, digits, '_', '.' and '-'",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The username as the user chose it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key under which uniqueness is decided.
    pub fn lowercase(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// A password of 8..128 characters, in Unicode normal form NFKC, so that the same password
/// typed on another keyboard or system (full-width letters, ligatures, composed accents)
/// hashes the same. Its text never appears in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

/// `text` in Unicode normal form NFKC.
pub fn nfkc(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfkc().collect()
}

impl Password {
    /// The shortest password, in characters (after normalisation).
    pub const MIN_CHARS: usize = 8;
    /// The longest password, in characters (after normalisation).
    pub const MAX_CHARS: usize = 128;

    /// Normalises `raw` (NFKC) and checks the length rule; the rest of the policy lives in
    /// [`super::PasswordPolicy`].
    pub fn new(raw: &str, field: &str) -> Result<Self, FieldViolation> {
        let raw = nfkc(raw);
        let length = raw.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&length) {
            return Err(FieldViolation::new(
                field,
                format!(
                    "must be {} to {} characters long",
                    Self::MIN_CHARS,
                    Self::MAX_CHARS
                ),
            ));
        }
        Ok(Self(raw))
    }

    /// The secret text, for the hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// An age in whole years, 0..150.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Age(u8);

impl Age {
    /// The oldest age accepted, in years.
    pub const MAX_YEARS: u8 = 150;

    /// Validates `years`.
    pub fn new(years: i64) -> Result<Self, FieldViolation> {
        u8::try_from(years)
            .ok()
            .filter(|y| *y <= Self::MAX_YEARS)
            .map(Self)
            .ok_or_else(|| {
                FieldViolation::new(
                    "age",
                    format!("must be an integer from 0 to {}", Self::MAX_YEARS),
                )
            })
    }

    /// The age in years.
    pub fn years(self) -> u8 {
        self.0
    }
}

impl TryFrom<i64> for Age {
    type Error = FieldViolation;
    fn try_from(years: i64) -> Result<Self, Self::Error> {
        Self::new(years)
    }
}

impl From<Age> for i64 {
    fn from(age: Age) -> Self {
        i64::from(age.0)
    }
}

/// A free-text gender of at most 32 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Gender(String);

impl Gender {
    /// The longest gender text, in characters.
    pub const MAX_CHARS: usize = 32;

    /// Validates `raw`.
    pub fn new(raw: &str) -> Result<Self, FieldViolation> {
        if raw.chars().count() > Self::MAX_CHARS || raw.chars().any(char::is_control) {
            return Err(FieldViolation::new(
                "gender",
                format!(
                    "must be at most {} characters, without control characters",
                    Self::MAX_CHARS
                ),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The text as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name (`name` or `full_name`) of at most 256 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

impl PersonName {
    /// The longest name, in characters.
    pub const MAX_CHARS: usize = 256;

    /// Validates `raw` for the field called `field`.
    pub fn new(raw: &str, field: &str) -> Result<Self, FieldViolation> {
        if raw.chars().count() > Self::MAX_CHARS || raw.chars().any(char::is_control) {
            return Err(FieldViolation::new(
                field,
                format!(
                    "must be at most {} characters, without control characters",
                    Self::MAX_CHARS
                ),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The text as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_conversions!(
    Email => Email::new,
    Username => Username::new,
    Gender => Gender::new,
    PersonName => |raw| PersonName::new(raw, "name"),
);

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({:?})", self.0)
    }
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Username({:?})", self.0)
    }
}

/// What an account may do beyond its own resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// An ordinary account.
    #[default]
    User,
    /// An administrator: sees full profiles in the user list.
    Admin,
}

impl Role {
    /// The role's name as the contract spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }
}

/// An account. It has at least one of `username` and `email`.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// The account's id.
    pub id: Id,
    /// Its username, if it chose one.
    pub username: Option<Username>,
    /// Its email address, if it gave one.
    pub email: Option<Email>,
    /// The Argon2id PHC string of its password. Never leaves the server.
    pub password_hash: String,
    /// `name` (compat 000).
    pub name: Option<PersonName>,
    /// `full_name` (compat 002).
    pub full_name: Option<PersonName>,
    /// Age in years.
    pub age: Option<Age>,
    /// Free-text gender.
    pub gender: Option<Gender>,
    /// What the account may do.
    pub role: Role,
    /// When it registered.
    pub created_at: DateTime<Utc>,
    /// When its profile last changed.
    pub updated_at: DateTime<Utc>,
    /// Counts changes: a write succeeds only against the revision it read, so a profile edit
    /// racing a password change cannot write the old hash back. (0 for accounts stored before
    /// revisions existed.)
    pub revision: u64,
    /// Set first when the account is being deleted: it can no longer log in while what it
    /// owns is erased.
    pub deleting: bool,
    /// Whether its current email address was proven by a verification link (§8); a change
    /// of address clears it.
    pub email_verified: bool,
    /// An address asked for by `PUT /profile` and not yet proven (§12): it becomes `email`
    /// when its verification link is used; until then `email` stays the account's address
    /// for login, reset and codes.
    pub pending_email: Option<Email>,
}

/// What a new account is told at its creation, besides its id and its password hash: the
/// profile a registration form or an imported row gives.
#[derive(Debug, Clone, Default)]
pub struct AccountDetails {
    /// Its username, if it chose one.
    pub username: Option<Username>,
    /// Its email, if it gave one.
    pub email: Option<Email>,
    /// `name`.
    pub name: Option<PersonName>,
    /// `full_name`.
    pub full_name: Option<PersonName>,
    /// Age.
    pub age: Option<Age>,
    /// Gender.
    pub gender: Option<Gender>,
}

impl User {
    /// A new ordinary account created at `created_at`: first revision, no proven address,
    /// nothing pending. The one place a `User` is made from nothing.
    pub fn new_account(
        id: Id,
        details: AccountDetails,
        password_hash: String,
        created_at: DateTime<Utc>,
    ) -> Self {
        let AccountDetails {
            username,
            email,
            name,
            full_name,
            age,
            gender,
        } = details;
        Self {
            id,
            username,
            email,
            password_hash,
            name,
            full_name,
            age,
            gender,
            role: Role::User,
            created_at,
            updated_at: created_at,
            revision: 1,
            deleting: false,
            email_verified: false,
            pending_email: None,
        }
    }

    /// What names the account to a person: its username, else its email, else its id.
    pub fn handle(&self) -> &str {
        self.username
            .as_ref()
            .map(Username::as_str)
            .or(self.email.as_ref().map(Email::as_str))
            .unwrap_or(self.id.as_str())
    }
}

/// A change to one optional field: leave it, clear it, or set it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Settable<T> {
    /// The request did not mention the field.
    #[default]
    Keep,
    /// The request set the field to `null`.
    Clear,
    /// The request gave a new value.
    Set(T),
}

impl<T> Settable<T> {
    /// Applies the change to `current`.
    pub fn apply(self, current: &mut Option<T>) {
        match self {
            Self::Keep => {}
            Self::Clear => *current = None,
            Self::Set(value) => *current = Some(value),
        }
    }

    /// Whether the request mentioned the field at all.
    pub fn is_keep(&self) -> bool {
        matches!(self, Self::Keep)
    }
}

/// A validated profile update: every field may be kept, cleared or set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProfileChanges {
    /// New username.
    pub username: Settable<Username>,
    /// New email.
    pub email: Settable<Email>,
    /// New `name`.
    pub name: Settable<PersonName>,
    /// New `full_name`.
    pub full_name: Settable<PersonName>,
    /// New age.
    pub age: Settable<Age>,
    /// New gender.
    pub gender: Settable<Gender>,
    /// The current password, given as the fresh proof an email change needs (§12).
    pub password: Option<CurrentPassword>,
}

/// The account's current password as a request presents it: never shown in debug output.
#[derive(Clone, PartialEq, Eq)]
pub struct CurrentPassword(pub String);

impl std::fmt::Debug for CurrentPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CurrentPassword(<redacted>)")
    }
}

impl ProfileChanges {
    /// Whether the update changes nothing at all.
    pub fn is_empty(&self) -> bool {
        self.username.is_keep()
            && self.email.is_keep()
            && self.name.is_keep()
            && self.full_name.is_keep()
            && self.age.is_keep()
            && self.gender.is_keep()
    }
}

impl From<FieldViolation> for Error {
    fn from(violation: FieldViolation) -> Self {
        Error::Validation(vec![violation])
    }
}

/// A successful login: the account and its new session's tokens.
#[derive(Debug, Clone)]
pub struct LoginOutcome {
    /// The account that logged in.
    pub user: User,
    /// The new session's tokens.
    pub tokens: IssuedTokens,
}

/// What a right first factor leads to.
#[derive(Debug, Clone)]
pub enum LoginStep {
    /// Logged in.
    Done(Box<LoginOutcome>),
    /// TOTP is on: the second step is still to come.
    SecondFactor(PendingSecondFactor),
}

/// A login waiting for its second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSecondFactor {
    /// The `mfa_token` (shown once; only its digest is stored).
    pub mfa_token: String,
    /// What `POST /login/mfa` accepts.
    pub methods: Vec<&'static str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_lowercased_and_validated() {
        assert_eq!(
            Email::new(" Alice@Example.COM ").map(|e| e.as_str().to_owned()),
            Ok("alice@example.com".to_owned())
        );
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "a b@example.com",
            "alice@exa_mple.com",
            "alice@@example.com",
            ".alice@example.com",
            "alice@-x.com",
        ] {
            assert!(Email::new(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn username_rules() {
        assert!(Username::new("ab").is_err());
        assert!(Username::new(&"a".repeat(33)).is_err());
        assert!(Username::new("al ice").is_err());
        assert!(Username::new("älice").is_err());
        let name = Username::new("Alice_1.x-y").expect("valid username");
        assert_eq!(name.lowercase(), "alice_1.x-y");
        assert!(Username::new(&"a".repeat(32)).is_ok());
    }

    #[test]
    fn password_length_counts_characters_and_debug_hides_it() {
        assert!(Password::new("1234567", "password").is_err());
        assert!(Password::new("éééééééé", "password").is_ok());
        assert!(Password::new(&"x".repeat(129), "password").is_err());
        let password = Password::new("correct horse", "password").expect("valid");
        assert!(!format!("{password:?}").contains("horse"));
    }

    #[test]
    fn age_and_gender_bounds() {
        assert!(Age::new(-1).is_err());
        assert!(Age::new(151).is_err());
        assert_eq!(Age::new(150).map(Age::years), Ok(150));
        assert!(Gender::new(&"g".repeat(33)).is_err());
        assert!(Gender::new("non-binary").is_ok());
    }

    #[test]
    fn stored_values_are_revalidated_when_read() {
        let bad: Result<Email, _> = serde_json::from_str("\"not-an-email\"");
        assert!(bad.is_err());
    }
}
