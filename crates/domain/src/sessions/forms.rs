//! Request bodies of the session routes, turned into commands.

use serde::Deserialize;

use crate::error::{Error, Result};

/// `POST /token/refresh` as the client sent it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RefreshForm {
    /// The refresh token to spend.
    pub refresh_token: Option<String>,
}

/// A refresh token presented to be spent for a new pair.
#[derive(Clone)]
pub struct Refresh {
    /// The token as the client holds it.
    pub token: String,
}

impl std::fmt::Debug for Refresh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Refresh(<redacted>)")
    }
}

impl RefreshForm {
    /// The token is required (empty counts as absent).
    pub fn parse(self) -> Result<Refresh> {
        self.refresh_token
            .filter(|token| !token.is_empty())
            .map(|token| Refresh { token })
            .ok_or_else(|| Error::MissingParameters(vec!["refresh_token".into()]))
    }
}

/// `POST /logout` as the client sent it (the body is optional).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct LogoutForm {
    /// Every session of the account, not only this one.
    #[serde(default)]
    pub all: bool,
}

/// Which sessions a logout ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logout {
    /// The caller's session only.
    ThisSession,
    /// Every session of the caller's account.
    Everywhere,
}

impl LogoutForm {
    /// `{"all": true}` ends every session; anything else, or no body, this one.
    pub fn parse(self) -> Logout {
        if self.all {
            Logout::Everywhere
        } else {
            Logout::ThisSession
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refresh_needs_a_token_and_a_logout_defaults_to_this_session() {
        assert!(matches!(
            RefreshForm {
                refresh_token: Some(String::new())
            }
            .parse(),
            Err(Error::MissingParameters(_))
        ));
        let refresh = RefreshForm {
            refresh_token: Some("secret".into()),
        }
        .parse()
        .expect("a token");
        assert!(!format!("{refresh:?}").contains("secret"));
        assert_eq!(LogoutForm::default().parse(), Logout::ThisSession);
        assert_eq!(LogoutForm { all: true }.parse(), Logout::Everywhere);
    }
}
