//! Request bodies of the email routes (§8), turned into commands: what is required is
//! reported as `400 missing_parameters`, a new password that breaks the policy as
//! `400 validation_failed`, every violation at once.

use serde::Deserialize;

use crate::accounts::present;
use crate::accounts::{Password, PasswordPolicy};
use crate::error::{Error, Result};

/// `POST /email/verify` as the client sent it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct VerificationForm {
    /// The token of the link.
    pub token: Option<String>,
}

/// The token of a verification link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationToken(pub String);

impl VerificationForm {
    /// The token, required.
    pub fn parse(self) -> Result<VerificationToken> {
        present(self.token)
            .map(VerificationToken)
            .ok_or_else(|| Error::missing(&[("token", true)]))
    }
}

/// `POST /password/forgot` as the client sent it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ResetRequestForm {
    /// The account's address.
    pub email: Option<String>,
    /// Or its username or address (`email` wins when both are sent).
    pub identifier: Option<String>,
}

/// Whose password a reset link is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetRequest {
    /// A username, or an address if it holds `@`.
    pub identifier: String,
}

impl ResetRequestForm {
    /// The identifier, required (reported as `email`).
    pub fn parse(self) -> Result<ResetRequest> {
        present(self.email.or(self.identifier))
            .map(|identifier| ResetRequest { identifier })
            .ok_or_else(|| Error::missing(&[("email", true)]))
    }
}

/// `POST /password/reset` as the client sent it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PasswordResetForm {
    /// The token of the link.
    pub token: Option<String>,
    /// The new password.
    pub new_password: Option<String>,
}

/// A reset link's token and the new password, which passes the policy as far as it can be
/// checked without the account (the service checks it again against the account's names).
#[derive(Debug, Clone)]
pub struct PasswordReset {
    /// The token of the link.
    pub token: String,
    /// The new password.
    pub new_password: Password,
}

impl PasswordResetForm {
    /// Both fields required; the password must pass the policy.
    pub fn parse(self) -> Result<PasswordReset> {
        let (token, new_password) = (present(self.token), present(self.new_password));
        let (Some(token), Some(new_password)) = (token.clone(), new_password.clone()) else {
            return Err(Error::missing(&[
                ("token", token.is_none()),
                ("new_password", new_password.is_none()),
            ]));
        };
        let new_password = PasswordPolicy.check(&new_password, "new_password", None, None)?;
        Ok(PasswordReset {
            token,
            new_password,
        })
    }
}

/// `POST /login/code/request` as the client sent it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CodeRequestForm {
    /// The account's address.
    pub email: Option<String>,
}

/// Which address a login code is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRequest {
    /// The address as typed (an address that names no account gets no mail).
    pub email: String,
}

impl CodeRequestForm {
    /// The address, required.
    pub fn parse(self) -> Result<CodeRequest> {
        present(self.email)
            .map(|email| CodeRequest { email })
            .ok_or_else(|| Error::missing(&[("email", true)]))
    }
}

/// `POST /login/code` as the client sent it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CodeLoginForm {
    /// The account's address.
    pub email: Option<String>,
    /// The code the mail held.
    pub code: Option<String>,
}

/// A login with an emailed code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeLogin {
    /// The address as typed.
    pub email: String,
    /// The code, without surrounding white space.
    pub code: String,
}

impl CodeLoginForm {
    /// Both fields required.
    pub fn parse(self) -> Result<CodeLogin> {
        let (email, code) = (present(self.email), present(self.code));
        match (email, code) {
            (Some(email), Some(code)) => Ok(CodeLogin {
                email,
                code: code.trim().to_owned(),
            }),
            (email, code) => Err(Error::missing(&[
                ("email", email.is_none()),
                ("code", code.is_none()),
            ])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn missing(result: Result<impl std::fmt::Debug>) -> Vec<String> {
        match result {
            Err(Error::MissingParameters(fields)) => fields,
            other => panic!("expected missing parameters, got {other:?}"),
        }
    }

    #[test]
    fn blank_or_absent_fields_are_missing_and_all_named() {
        assert_eq!(
            missing(
                VerificationForm {
                    token: Some(" ".into())
                }
                .parse()
            ),
            ["token"]
        );
        assert_eq!(missing(ResetRequestForm::default().parse()), ["email"]);
        assert_eq!(
            missing(PasswordResetForm::default().parse()),
            ["token", "new_password"]
        );
        assert_eq!(missing(CodeRequestForm::default().parse()), ["email"]);
        assert_eq!(
            missing(
                CodeLoginForm {
                    email: Some("a@example.com".into()),
                    code: None
                }
                .parse()
            ),
            ["code"]
        );
        assert_eq!(missing(CodeLoginForm::default().parse()), ["email", "code"]);
    }

    #[test]
    fn a_reset_names_the_address_or_the_identifier() {
        let by_email = ResetRequestForm {
            email: Some("a@example.com".into()),
            identifier: Some("alice".into()),
        };
        assert_eq!(by_email.parse().expect("valid").identifier, "a@example.com");
        let by_name = ResetRequestForm {
            identifier: Some("alice".into()),
            ..ResetRequestForm::default()
        };
        assert_eq!(by_name.parse().expect("valid").identifier, "alice");
    }

    #[test]
    fn a_new_password_must_pass_the_policy_and_a_code_is_trimmed() {
        let weak = PasswordResetForm {
            token: Some("t".into()),
            new_password: Some("short".into()),
        };
        assert!(matches!(weak.parse(), Err(Error::Validation(v)) if v[0].field == "/new_password"));
        let login = CodeLoginForm {
            email: Some("a@example.com".into()),
            code: Some(" 123456 ".into()),
        };
        assert_eq!(login.parse().expect("valid").code, "123456");
    }
}
