//! Request bodies of the account routes, turned into commands of value objects: what a
//! client may send is checked here, every violation reported at once; the service takes the
//! commands and holds only the rules that need the store (uniqueness, the current password).

use serde::Deserialize;
use serde_json::{Map, Value};

use super::model::{
    Age, CurrentPassword, Email, Gender, Password, PersonName, ProfileChanges, Settable, Username,
};
use super::password_policy::PasswordPolicy;
use crate::error::{Error, FieldViolation, Result, Violations};

/// The longest identifier a login may name (an email is at most 254 bytes).
const MAX_IDENTIFIER_BYTES: usize = 320;
/// The longest password a login may present: 128 characters of up to 4 bytes, with room for
/// a legacy password stored before normalisation.
pub(super) const MAX_PASSWORD_BYTES: usize = 1024;

/// A text field counts as given only when it holds more than white space (every form's
/// rule for required text).
pub(crate) fn present(value: Option<String>) -> Option<String> {
    value.filter(|s| !s.trim().is_empty())
}

/// `POST /register` as the client sent it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RegistrationForm {
    /// Requested username.
    pub username: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Password (`Debug` of this form is only used in tests).
    pub password: Option<String>,
    /// `name` (compat 000).
    pub name: Option<String>,
    /// `full_name` (compat 002).
    pub full_name: Option<String>,
    /// Age in years: an integer or `null`.
    pub age: Option<Value>,
    /// Free-text gender.
    pub gender: Option<String>,
}

/// A new account, every field valid.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Its username, if it chose one.
    pub username: Option<Username>,
    /// Its email, if it gave one (it has at least one of the two).
    pub email: Option<Email>,
    /// Its password, normalised and accepted by the [`PasswordPolicy`].
    pub password: Password,
    /// `name`.
    pub name: Option<PersonName>,
    /// `full_name`.
    pub full_name: Option<PersonName>,
    /// Age.
    pub age: Option<Age>,
    /// Gender.
    pub gender: Option<Gender>,
}

/// An age given as JSON: an integer, or `null` for none.
fn age(value: Option<Value>) -> std::result::Result<Option<Age>, FieldViolation> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_i64()
            .ok_or_else(|| {
                FieldViolation::new(
                    "age",
                    format!("must be an integer from 0 to {}", Age::MAX_YEARS),
                )
            })
            .and_then(Age::new)
            .map(Some),
    }
}

impl RegistrationForm {
    /// Checks every field: a username or an email and a password are required; each given
    /// field must be valid, and the password must pass the [`PasswordPolicy`].
    pub fn parse(self) -> Result<NewAccount> {
        let policy = PasswordPolicy;
        let (username, email) = (present(self.username), present(self.email));
        let password = self.password.filter(|p| !p.is_empty());
        let password = match password {
            Some(password) if username.is_some() || email.is_some() => password,
            password => {
                return Err(Error::missing(&[
                    ("username or email", username.is_none() && email.is_none()),
                    ("password", password.is_none()),
                ]))
            }
        };
        let mut violations = Violations::default();
        let username = username.and_then(|u| violations.keep(Username::new(&u)));
        let email = email.and_then(|e| violations.keep(Email::new(&e)));
        let name = self
            .name
            .and_then(|n| violations.keep(PersonName::new(&n, "name")));
        let full_name = self
            .full_name
            .and_then(|n| violations.keep(PersonName::new(&n, "full_name")));
        let age = violations.keep(age(self.age)).flatten();
        let gender = self.gender.and_then(|g| violations.keep(Gender::new(&g)));
        let password =
            violations.keep(policy.check(&password, "password", username.as_ref(), email.as_ref()));
        violations.finish_with(password.map(|password| NewAccount {
            username,
            email,
            password,
            name,
            full_name,
            age,
            gender,
        }))
    }
}

/// Which account a login names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginIdentifier {
    /// The `email` field.
    Email(String),
    /// The `username` field.
    Username(String),
    /// The `identifier` field: an email if it holds `@`, else a username.
    Either(String),
}

/// `POST /login` as the client sent it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LoginForm {
    /// The account's email.
    pub email: Option<String>,
    /// The account's username.
    pub username: Option<String>,
    /// Either of them.
    pub identifier: Option<String>,
    /// The password.
    pub password: Option<String>,
}

/// A login attempt.
#[derive(Clone)]
pub struct Credentials {
    pub(super) identifier: LoginIdentifier,
    pub(super) password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("identifier", &self.identifier)
            .finish_non_exhaustive()
    }
}

impl LoginForm {
    /// The credentials named: `email` first, then `username`, then `identifier`; empty
    /// strings count as absent.
    pub fn parse(self) -> Result<Credentials> {
        let identifier = match (
            present(self.email),
            present(self.username),
            present(self.identifier),
        ) {
            (Some(email), _, _) => Some(LoginIdentifier::Email(email)),
            (None, Some(username), _) => Some(LoginIdentifier::Username(username)),
            (None, None, Some(either)) => Some(LoginIdentifier::Either(either)),
            (None, None, None) => None,
        };
        match (identifier, self.password.filter(|p| !p.is_empty())) {
            (Some(identifier), Some(password)) => Ok(Credentials {
                identifier,
                password,
            }),
            (identifier, password) => Err(Error::missing(&[
                ("email, username or identifier", identifier.is_none()),
                ("password", password.is_none()),
            ])),
        }
    }
}

impl Credentials {
    /// The identifier as given.
    pub(super) fn identifier_text(&self) -> &str {
        match &self.identifier {
            LoginIdentifier::Email(s)
            | LoginIdentifier::Username(s)
            | LoginIdentifier::Either(s) => s,
        }
    }

    /// The identifier, normalised: the key under which failures are counted when the account
    /// is unknown.
    pub(super) fn normalised_identifier(&self) -> String {
        self.identifier_text().trim().to_lowercase()
    }

    /// Whether the identifier or the password is longer than any that could match.
    pub(super) fn is_oversized(&self) -> bool {
        self.identifier_text().len() > MAX_IDENTIFIER_BYTES
            || self.password.len() > MAX_PASSWORD_BYTES
    }
}

/// Fields a profile update may not touch, and where to go instead.
const NOT_HERE: &[(&str, &str)] = &[
    ("role", "cannot be changed by the account itself"),
    ("id", "cannot be changed"),
    ("created_at", "cannot be changed"),
    ("updated_at", "cannot be changed"),
];

/// `PUT /profile` and `PATCH /profile` as the client sent them: a JSON object.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct ProfileForm(pub Map<String, Value>);

fn settable<T>(
    body: &Map<String, Value>,
    field: &str,
    violations: &mut Violations,
    parse: impl Fn(&str) -> std::result::Result<T, FieldViolation>,
) -> Settable<T> {
    match body.get(field) {
        None => Settable::Keep,
        Some(Value::Null) => Settable::Clear,
        Some(Value::String(text)) => violations
            .keep(parse(text))
            .map_or(Settable::Keep, Settable::Set),
        Some(_) => {
            violations.push(FieldViolation::new(field, "must be a string or null"));
            Settable::Keep
        }
    }
}

impl ProfileForm {
    /// The changes asked for: a field absent stays, `null` clears it, a value sets it. The
    /// fields no profile update may touch are refused, with every other violation.
    pub fn parse(self) -> Result<ProfileChanges> {
        let body = self.0;
        let mut violations = Violations::default();
        for (field, why) in NOT_HERE {
            if body.contains_key(*field) {
                violations.push(FieldViolation::new(*field, *why));
            }
        }
        let age = match body.get("age") {
            None => Settable::Keep,
            Some(Value::Null) => Settable::Clear,
            Some(value) => violations
                .keep(age(Some(value.clone())))
                .flatten()
                .map_or(Settable::Keep, Settable::Set),
        };
        let changes = ProfileChanges {
            username: settable(&body, "username", &mut violations, Username::new),
            email: settable(&body, "email", &mut violations, Email::new),
            name: settable(&body, "name", &mut violations, |t| {
                PersonName::new(t, "name")
            }),
            full_name: settable(&body, "full_name", &mut violations, |t| {
                PersonName::new(t, "full_name")
            }),
            age,
            gender: settable(&body, "gender", &mut violations, Gender::new),
            password: match body.get("password") {
                None => None,
                // The current password confirms an email change (§12); it is never changed here.
                Some(_) if !body.contains_key("email") => {
                    violations.push(FieldViolation::new(
                        "password",
                        "is changed with PUT /profile/password (here it only confirms an email change)",
                    ));
                    None
                }
                Some(Value::String(text)) => Some(CurrentPassword(text.clone())),
                Some(_) => {
                    violations.push(FieldViolation::new("password", "must be a string"));
                    None
                }
            },
        };
        violations.finish_with(Some(changes))
    }
}

/// `PUT /profile/password` as the client sent it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PasswordChangeForm {
    /// The password the account has now.
    pub current_password: Option<String>,
    /// The one it is to have.
    pub new_password: Option<String>,
}

/// A password change: both passwords given. The new one is checked against the account (its
/// username and email) by the service.
#[derive(Clone)]
pub struct PasswordChange {
    /// The password the account has now.
    pub current: String,
    /// The one it is to have.
    pub new: String,
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordChange(<redacted>)")
    }
}

impl PasswordChangeForm {
    /// Both passwords are required (empty counts as absent).
    pub fn parse(self) -> Result<PasswordChange> {
        let current = self.current_password.filter(|s| !s.is_empty());
        let new = self.new_password.filter(|s| !s.is_empty());
        match (current, new) {
            (Some(current), Some(new)) => Ok(PasswordChange { current, new }),
            (current, new) => Err(Error::missing(&[
                ("current_password", current.is_none()),
                ("new_password", new.is_none()),
            ])),
        }
    }
}

/// `DELETE /profile` as the client sent it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DeletionForm {
    /// The account's password, to confirm.
    pub password: Option<String>,
}

/// An account deletion, confirmed by the account's password or, without one, by a recent
/// login (§12).
#[derive(Debug, Clone)]
pub struct Deletion {
    /// The password presented, if any.
    pub password: Option<CurrentPassword>,
}

impl DeletionForm {
    /// The password is optional (empty counts as absent): a recent login is proof enough.
    pub fn parse(self) -> Deletion {
        Deletion {
            password: self.password.filter(|p| !p.is_empty()).map(CurrentPassword),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    fn changes(body: Value) -> Result<ProfileChanges> {
        ProfileForm(body.as_object().unwrap().clone()).parse()
    }

    #[test]
    fn absent_keeps_null_clears_value_sets() {
        let parsed = changes(json!({"name": null, "age": 30, "gender": "f"})).unwrap();
        assert_eq!(parsed.username, Settable::Keep);
        assert_eq!(parsed.name, Settable::Clear);
        assert_eq!(parsed.age, Settable::Set(Age::new(30).unwrap()));
        assert_eq!(parsed.gender, Settable::Set(Gender::new("f").unwrap()));
    }

    #[test]
    fn wrong_types_and_protected_fields_are_listed_together() {
        match changes(json!({"age": "thirty", "username": 5, "role": "admin", "password": "x"})) {
            Err(Error::Validation(violations)) => {
                let mut fields: Vec<_> = violations.iter().map(|v| v.field.clone()).collect();
                fields.sort();
                assert_eq!(fields, vec!["/age", "/password", "/role", "/username"]);
            }
            other => panic!("expected validation failure, got {other:?}"),
        }
    }

    #[test]
    fn a_change_needs_both_passwords_and_a_deletion_none() {
        match PasswordChangeForm::default().parse() {
            Err(Error::MissingParameters(change)) => {
                assert_eq!(change, ["current_password", "new_password"]);
            }
            _ => panic!("both passwords are required"),
        }
        // §12: a recent login is proof enough for a deletion; empty counts as absent.
        assert!(DeletionForm::default().parse().password.is_none());
        let empty = DeletionForm {
            password: Some(String::new()),
        };
        assert!(empty.parse().password.is_none());
    }

    fn registration() -> RegistrationForm {
        RegistrationForm {
            username: Some("alice".into()),
            email: Some("Alice@Example.com".into()),
            password: Some("vivid-otter-42-lamp".into()),
            ..RegistrationForm::default()
        }
    }

    #[test]
    fn register_needs_a_password_and_an_identifier() {
        let no_password = RegistrationForm {
            password: None,
            ..registration()
        };
        match no_password.parse() {
            Err(Error::MissingParameters(fields)) => assert_eq!(fields, vec!["password"]),
            other => panic!("expected missing parameters, got {other:?}"),
        }
        let no_identifier = RegistrationForm {
            username: Some("  ".into()),
            email: None,
            ..registration()
        };
        assert!(matches!(
            no_identifier.parse(),
            Err(Error::MissingParameters(_))
        ));
    }

    #[test]
    fn register_reports_every_invalid_field_at_once() {
        let form = RegistrationForm {
            username: Some("a!".into()),
            email: Some("not-an-email".into()),
            password: Some("short".into()),
            age: Some(json!(200)),
            gender: Some("g".repeat(40)),
            ..RegistrationForm::default()
        };
        match form.parse() {
            Err(Error::Validation(violations)) => {
                let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
                assert_eq!(
                    fields,
                    vec!["/username", "/email", "/age", "/gender", "/password"]
                );
            }
            other => panic!("expected validation failure, got {other:?}"),
        }
    }

    #[test]
    fn register_refuses_common_passwords_and_the_username() {
        for password in ["password123", "Alice", "aliceALICE"] {
            let form = RegistrationForm {
                username: Some(
                    if password == "aliceALICE" {
                        "aliceALICE"
                    } else {
                        "alice"
                    }
                    .into(),
                ),
                password: Some(password.into()),
                email: None,
                ..RegistrationForm::default()
            };
            assert!(
                matches!(form.parse(), Err(Error::Validation(_))),
                "{password} should be refused"
            );
        }
    }

    #[test]
    fn credentials_need_an_identifier_and_a_password() {
        assert!(matches!(
            LoginForm {
                password: Some("pw".into()),
                ..LoginForm::default()
            }
            .parse(),
            Err(Error::MissingParameters(_))
        ));
        assert!(matches!(
            LoginForm {
                email: Some("a@b.co".into()),
                password: Some(String::new()),
                ..LoginForm::default()
            }
            .parse(),
            Err(Error::MissingParameters(_))
        ));
        let creds = LoginForm {
            username: Some("bob".into()),
            password: Some("pw".into()),
            ..LoginForm::default()
        }
        .parse()
        .expect("complete");
        assert!(!format!("{creds:?}").contains("pw\""));
    }
}
