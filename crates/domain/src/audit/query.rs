//! Which events a listing wants (§13): `?action=`, `?since=`, `?until=`, `?account_id=`.

use chrono::{DateTime, Utc};

use super::model::Action;
use crate::error::{Error, Result};
use crate::id::Id;

/// The longest `?action=` list accepted, in entries.
const MAX_ACTION_TERMS: usize = 64;

/// What a listing of events is limited to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only this account's events.
    pub account_id: Option<Id>,
    /// Only these actions; `None`: every action.
    pub actions: Option<Vec<Action>>,
    /// Only events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only events at or before this time.
    pub until: Option<DateTime<Utc>>,
}

impl AuditQuery {
    /// Parses the query string's filters; `validation_failed` naming each bad one.
    pub fn parse(
        action: Option<&str>,
        since: Option<&str>,
        until: Option<&str>,
        account_id: Option<&str>,
    ) -> Result<Self> {
        let mut violations = Vec::new();
        let actions = match action.filter(|a| !a.trim().is_empty()) {
            None => None,
            Some(list) => match parse_actions(list) {
                Ok(actions) => Some(actions),
                Err(message) => {
                    violations.push(("action", message));
                    None
                }
            },
        };
        let mut time =
            |field: &'static str, text: Option<&str>| match text.filter(|t| !t.is_empty()) {
                None => None,
                Some(text) => match DateTime::parse_from_rfc3339(text) {
                    Ok(at) => Some(at.with_timezone(&Utc)),
                    Err(_) => {
                        violations.push((field, "must be an RFC 3339 time".to_owned()));
                        None
                    }
                },
            };
        let since = time("since", since);
        let until = time("until", until);
        let account_id = match account_id.filter(|a| !a.is_empty()) {
            None => None,
            Some(text) => match text.parse::<Id>() {
                Ok(id) => Some(id),
                Err(_) => {
                    violations.push(("account_id", "must be an id".to_owned()));
                    None
                }
            },
        };
        if violations.is_empty() {
            Ok(Self {
                account_id,
                actions,
                since,
                until,
            })
        } else {
            Err(Error::Validation(
                violations
                    .into_iter()
                    .map(|(field, message)| crate::error::FieldViolation::new(field, message))
                    .collect(),
            ))
        }
    }

    /// Whether `action` is one the query wants.
    pub fn wants(&self, action: Action) -> bool {
        self.actions
            .as_ref()
            .is_none_or(|only| only.contains(&action))
    }
}

/// `login.succeeded,mfa.*` → the actions named, a `*` after a prefix standing for every
/// action that starts with it.
fn parse_actions(list: &str) -> std::result::Result<Vec<Action>, String> {
    let terms: Vec<&str> = list.split(',').map(str::trim).collect();
    if terms.len() > MAX_ACTION_TERMS {
        return Err(format!("names at most {MAX_ACTION_TERMS} actions"));
    }
    let mut actions = Vec::new();
    for term in terms {
        let matching: Vec<Action> = match term.strip_suffix('*') {
            Some(prefix) => Action::ALL
                .iter()
                .copied()
                .filter(|a| a.as_str().starts_with(prefix))
                .collect(),
            None => term.parse::<Action>().map(|a| vec![a]).unwrap_or_default(),
        };
        if matching.is_empty() {
            let shown: String = term.chars().take(64).collect();
            return Err(format!("`{shown}` names no action of the audit log"));
        }
        for action in matching {
            if !actions.contains(&action) {
                actions.push(action);
            }
        }
    }
    Ok(actions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_names_or_prefixes() {
        let query =
            AuditQuery::parse(Some("login.*, password.changed"), None, None, None).expect("valid");
        assert_eq!(
            query.actions,
            Some(vec![
                Action::LoginSucceeded,
                Action::LoginFailed,
                Action::LoginThrottled,
                Action::PasswordChanged
            ])
        );
        assert!(query.wants(Action::LoginFailed));
        assert!(!query.wants(Action::ApiCreated));
        assert!(AuditQuery::default().wants(Action::ApiCreated));
    }

    #[test]
    fn bad_filters_are_each_named() {
        let Err(Error::Validation(violations)) = AuditQuery::parse(
            Some("login.nope"),
            Some("yesterday"),
            Some("2026-12-01T00:00:00Z"),
            Some("x"),
        ) else {
            panic!("refused");
        };
        let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["/action", "/since", "/account_id"]);
        assert!(AuditQuery::parse(Some("nothing.*"), None, None, None).is_err());
        let many = vec!["login.failed"; 65].join(",");
        assert!(AuditQuery::parse(Some(&many), None, None, None).is_err());
    }
}
