//! The password policy: length, not a commonly used password, not the account's own name.

use std::collections::HashSet;
use std::sync::LazyLock;

use super::model::{Email, Password, Username};
use crate::error::FieldViolation;

/// The 19 640 most commonly used passwords (lower-case), from Django's list (BSD licence).
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect()
});

/// Decides whether a password may be used by an account.
#[derive(Debug, Default, Clone, Copy)]
pub struct PasswordPolicy;

impl PasswordPolicy {
    /// Checks `raw` for the account with `username` and `email`; `field` names the request field.
    pub fn check(
        &self,
        raw: &str,
        field: &str,
        username: Option<&Username>,
        email: Option<&Email>,
    ) -> Result<Password, FieldViolation> {
        let password = Password::new(raw, field)?;
        let lowered = password.expose().trim().to_lowercase();
        if COMMON_PASSWORDS.contains(lowered.as_str()) {
            return Err(FieldViolation::new(
                field,
                "is too common; choose another password",
            ));
        }
        let same_as = |other: &str| lowered == other.to_lowercase();
        let local_part = email.and_then(|e| e.as_str().split('@').next());
        if username.is_some_and(|u| same_as(u.as_str()))
            || email.is_some_and(|e| same_as(e.as_str()))
            || local_part.is_some_and(|l| l.len() >= 8 && same_as(l))
        {
            return Err(FieldViolation::new(
                field,
                "must not be the same as the username or email",
            ));
        }
        Ok(password)
    }

    /// How many passwords the shipped common-password list holds.
    pub fn common_password_count() -> usize {
        COMMON_PASSWORDS.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ships_at_least_ten_thousand_common_passwords() {
        assert!(PasswordPolicy::common_password_count() >= 10_000);
    }

    #[test]
    fn rejects_common_passwords_in_any_case() {
        for common in [
            "password",
            "PASSWORD1",
            "12345678",
            "qwertyuiop",
            "iloveyou",
        ] {
            assert!(
                PasswordPolicy
                    .check(common, "password", None, None)
                    .is_err(),
                "{common}"
            );
        }
    }

    #[test]
    fn rejects_the_username_and_email() {
        let username = Username::new("Sebastian9").expect("valid");
        let email = Email::new("someone.long@example.com").expect("valid");
        assert!(PasswordPolicy
            .check("sebastian9", "password", Some(&username), None)
            .is_err());
        assert!(PasswordPolicy
            .check("Someone.Long@example.com", "password", None, Some(&email))
            .is_err());
        assert!(PasswordPolicy
            .check("someone.long", "password", None, Some(&email))
            .is_err());
    }

    #[test]
    fn accepts_a_good_password() {
        let username = Username::new("alice").expect("valid");
        assert!(PasswordPolicy
            .check("vivid-otter-42-lamp", "password", Some(&username), None)
            .is_ok());
    }
}
