//! Request bodies of the second factor's routes (§9), turned into commands: what is required
//! is reported as `400 missing_parameters`, what is malformed as `400 validation_failed`.

use serde::Deserialize;
use serde_json::Value;

use crate::accounts::present;
use crate::error::{Error, FieldViolation, Result};

/// The longest passkey name.
pub const MAX_PASSKEY_NAME_CHARS: usize = 64;

/// The name a passkey gets when it is given none.
const DEFAULT_PASSKEY_NAME: &str = "Passkey";

/// `POST /mfa/totp/confirm` as the client sent it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TotpCodeForm {
    /// The authenticator app's code.
    pub code: Option<String>,
}

/// A TOTP code as typed (its digits are checked against the secret, where a malformed code
/// is simply wrong).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpCode(pub String);

impl TotpCodeForm {
    /// The code, required.
    pub fn parse(self) -> Result<TotpCode> {
        present(self.code)
            .map(TotpCode)
            .ok_or_else(|| Error::missing(&[("code", true)]))
    }
}

/// The body of a sensitive second-factor change (`POST /mfa/totp`, `DELETE /mfa/totp`,
/// `POST /mfa/recovery_codes`, `POST /passkeys/register/start`, `DELETE /passkeys/{id}`) as
/// the client sent it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PasswordConfirmationForm {
    /// The account's current password.
    pub password: Option<String>,
}

/// The account's password presented again for a sensitive change, if it was; without it a
/// recent login is the proof (§12).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct PasswordConfirmation(pub Option<String>);

impl PasswordConfirmation {
    /// The password, if one was presented.
    pub fn password(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl std::fmt::Debug for PasswordConfirmation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordConfirmation(…)")
    }
}

impl PasswordConfirmationForm {
    /// The password, optional (empty counts as absent).
    pub fn parse(self) -> PasswordConfirmation {
        PasswordConfirmation(present(self.password))
    }
}

/// `POST /login/mfa` as the client sent it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SecondStepForm {
    /// The token the password step gave.
    pub mfa_token: Option<String>,
    /// A TOTP code.
    pub code: Option<String>,
    /// Or one of the recovery codes.
    pub recovery_code: Option<String>,
}

/// The second step of a login: `POST /login/mfa`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondFactorAnswer {
    /// The token the password step gave.
    pub mfa_token: String,
    /// A TOTP code, or a recovery code.
    pub proof: SecondFactorProof,
}

/// What proves the second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecondFactorProof {
    /// A 6-digit TOTP code.
    Totp(String),
    /// One of the account's recovery codes.
    RecoveryCode(String),
}

impl SecondFactorProof {
    /// What kind of proof it is, as the audit log names it (never the code itself).
    pub fn kind(&self) -> &'static str {
        match self {
            SecondFactorProof::Totp(_) => "totp",
            SecondFactorProof::RecoveryCode(_) => "recovery_code",
        }
    }
}

impl SecondStepForm {
    /// The token and exactly one of `code` and `recovery_code`.
    pub fn parse(self) -> Result<SecondFactorAnswer> {
        let Some(mfa_token) = present(self.mfa_token) else {
            return Err(Error::missing(&[("mfa_token", true)]));
        };
        let trimmed = |v: Option<String>| present(v).map(|v| v.trim().to_owned());
        let proof = match (trimmed(self.code), trimmed(self.recovery_code)) {
            (Some(code), None) => SecondFactorProof::Totp(code),
            (None, Some(code)) => SecondFactorProof::RecoveryCode(code),
            (None, None) => return Err(Error::missing(&[("code", true)])),
            (Some(_), Some(_)) => {
                return Err(Error::invalid(
                    "recovery_code",
                    "give either code or recovery_code, not both",
                ))
            }
        };
        Ok(SecondFactorAnswer {
            mfa_token: mfa_token.trim().to_owned(),
            proof,
        })
    }
}

/// The second half of a passkey ceremony as the client sent it
/// (`POST /passkeys/register/finish`, `POST /login/passkey/finish`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PasskeyFinishForm {
    /// Names the ceremony its first half started.
    pub challenge_id: Option<String>,
    /// The browser's `PublicKeyCredential`, as JSON.
    pub credential: Option<Value>,
    /// A name for a new passkey (registration only).
    pub name: Option<String>,
}

/// The browser's answer to a ceremony.
#[derive(Debug, Clone, PartialEq)]
pub struct PasskeyAnswer {
    /// The ceremony it answers.
    pub challenge_id: String,
    /// The `PublicKeyCredential` object.
    pub credential: Value,
}

/// A registration's answer with the new passkey's name.
#[derive(Debug, Clone, PartialEq)]
pub struct PasskeyRegistration {
    /// The browser's answer.
    pub answer: PasskeyAnswer,
    /// 1 to 64 characters without control characters; `Passkey` when not given.
    pub name: String,
}

impl PasskeyFinishForm {
    /// The answer to a login ceremony (a `name` is ignored).
    pub fn parse_login(self) -> Result<PasskeyAnswer> {
        let Some(challenge_id) = present(self.challenge_id) else {
            return Err(Error::missing(&[("challenge_id", true)]));
        };
        let credential = match self.credential {
            Some(credential @ Value::Object(_)) => credential,
            None | Some(Value::Null) => return Err(Error::missing(&[("credential", true)])),
            Some(_) => {
                return Err(Error::invalid(
                    "credential",
                    "must be the PublicKeyCredential object, as JSON",
                ))
            }
        };
        Ok(PasskeyAnswer {
            challenge_id: challenge_id.trim().to_owned(),
            credential,
        })
    }

    /// The answer to a registration ceremony, with the new passkey's name.
    pub fn parse_registration(mut self) -> Result<PasskeyRegistration> {
        let name = self.name.take();
        let answer = self.parse_login()?;
        Ok(PasskeyRegistration {
            answer,
            name: passkey_name(name.as_deref())?,
        })
    }
}

/// A passkey's name: 1 to 64 characters, no control characters; `Passkey` when not given.
fn passkey_name(raw: Option<&str>) -> Result<String> {
    let Some(raw) = raw.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(DEFAULT_PASSKEY_NAME.to_owned());
    };
    if raw.chars().count() > MAX_PASSKEY_NAME_CHARS || raw.chars().any(char::is_control) {
        return Err(Error::Validation(vec![FieldViolation::new(
            "name",
            format!("must be 1 to {MAX_PASSKEY_NAME_CHARS} characters without control characters"),
        )]));
    }
    Ok(raw.to_owned())
}

/// `POST /login/passkey/start` as the client sent it (the body is optional).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PasskeyLoginForm {
    /// Only this account's passkey will be accepted, when given.
    pub username: Option<String>,
}

impl PasskeyLoginForm {
    /// The username the login is limited to, if any.
    pub fn parse(self) -> Option<String> {
        present(self.username).map(|u| u.trim().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn missing(result: Result<impl std::fmt::Debug>) -> Vec<String> {
        match result {
            Err(Error::MissingParameters(fields)) => fields,
            other => panic!("expected missing parameters, got {other:?}"),
        }
    }

    #[test]
    fn blank_fields_are_missing() {
        assert_eq!(
            missing(
                TotpCodeForm {
                    code: Some("  ".into())
                }
                .parse()
            ),
            ["code"]
        );
        // §12: the password is optional, a recent login proof enough; blank is absent.
        let blank = PasswordConfirmationForm {
            password: Some(" ".into()),
        };
        assert_eq!(blank.parse().password(), None);
        assert_eq!(missing(SecondStepForm::default().parse()), ["mfa_token"]);
        assert_eq!(
            missing(
                SecondStepForm {
                    mfa_token: Some("t".into()),
                    code: Some(" ".into()),
                    ..SecondStepForm::default()
                }
                .parse()
            ),
            ["code"]
        );
        assert_eq!(
            missing(PasskeyFinishForm::default().parse_login()),
            ["challenge_id"]
        );
        assert_eq!(
            missing(
                PasskeyFinishForm {
                    challenge_id: Some("c".into()),
                    credential: Some(Value::Null),
                    ..PasskeyFinishForm::default()
                }
                .parse_login()
            ),
            ["credential"]
        );
    }

    #[test]
    fn the_second_step_takes_one_proof_trimmed() {
        let answer = SecondStepForm {
            mfa_token: Some(" t ".into()),
            recovery_code: Some(" abcd-efgh ".into()),
            ..SecondStepForm::default()
        }
        .parse()
        .expect("valid");
        assert_eq!(answer.mfa_token, "t");
        assert_eq!(
            answer.proof,
            SecondFactorProof::RecoveryCode("abcd-efgh".into())
        );
        let both = SecondStepForm {
            mfa_token: Some("t".into()),
            code: Some("123456".into()),
            recovery_code: Some("abcd".into()),
        }
        .parse();
        assert!(matches!(both, Err(Error::Validation(v)) if v[0].field == "/recovery_code"));
    }

    #[test]
    fn a_credential_must_be_an_object_and_a_name_bounded() {
        let form = |credential: Value, name: Option<&str>| PasskeyFinishForm {
            challenge_id: Some(" c ".into()),
            credential: Some(credential),
            name: name.map(str::to_owned),
        };
        assert!(matches!(
            form(json!("text"), None).parse_login(),
            Err(Error::Validation(v)) if v[0].field == "/credential"
        ));
        let registration = form(json!({}), None).parse_registration().expect("valid");
        assert_eq!(registration.name, "Passkey");
        assert_eq!(registration.answer.challenge_id, "c");
        let long = "x".repeat(MAX_PASSKEY_NAME_CHARS + 1);
        assert!(matches!(
            form(json!({}), Some(&long)).parse_registration(),
            Err(Error::Validation(v)) if v[0].field == "/name"
        ));
        assert!(form(json!({}), Some("a\u{7}b"))
            .parse_registration()
            .is_err());
        // A login ignores the name.
        assert!(form(json!({}), Some(&long)).parse_login().is_ok());
        assert_eq!(
            form(json!({}), Some(" Laptop "))
                .parse_registration()
                .expect("valid")
                .name,
            "Laptop"
        );
    }
}
