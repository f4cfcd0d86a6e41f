//! The audit log's entities (§13): an event, its action, outcome, actor and target.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::id::Id;

/// The longest `user_agent` an event keeps, in characters (§13).
pub const MAX_USER_AGENT_CHARS: usize = 256;

macro_rules! actions {
    ($($variant:ident => $name:literal,)+) => {
        /// What happened: one of the security events of §13.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum Action {
            $(
                #[doc = concat!("`", $name, "`")]
                #[serde(rename = $name)]
                $variant,
            )+
        }

        impl Action {
            /// Every action, in the order §13 lists them.
            pub const ALL: &'static [Action] = &[$(Action::$variant,)+];

            /// The action's name in the contract (`login.failed`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)+
                }
            }
        }
    };
}

actions! {
    AccountRegistered => "account.registered",
    AccountDeleted => "account.deleted",
    AccountImported => "account.imported",
    LoginSucceeded => "login.succeeded",
    LoginFailed => "login.failed",
    LoginThrottled => "login.throttled",
    MfaChallenged => "mfa.challenged",
    MfaFailed => "mfa.failed",
    SessionRevoked => "session.revoked",
    RefreshReuseDetected => "refresh.reuse_detected",
    PasswordChanged => "password.changed",
    PasswordResetRequested => "password.reset_requested",
    PasswordReset => "password.reset",
    EmailChangeRequested => "email.change_requested",
    EmailChanged => "email.changed",
    EmailVerified => "email.verified",
    TotpEnabled => "totp.enabled",
    TotpDisabled => "totp.disabled",
    RecoveryCodesCreated => "recovery_codes.created",
    RecoveryCodeUsed => "recovery_code.used",
    PasskeyAdded => "passkey.added",
    PasskeyRemoved => "passkey.removed",
    RoleGranted => "role.granted",
    RoleRevoked => "role.revoked",
    ApiCreated => "api.created",
    ApiChanged => "api.changed",
    ApiDeleted => "api.deleted",
    ApiKeyIssued => "api_key.issued",
    ApiKeyRotated => "api_key.rotated",
    ApiKeyRevoked => "api_key.revoked",
    WebhookCreated => "webhook.created",
    WebhookDeleted => "webhook.deleted",
    SigningKeyRotated => "signing_key.rotated",
}

impl std::str::FromStr for Action {
    type Err = ();

    fn from_str(name: &str) -> Result<Self, ()> {
        Action::ALL
            .iter()
            .copied()
            .find(|action| action.as_str() == name)
            .ok_or(())
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the action was done or refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Done.
    Success,
    /// Refused.
    Failure,
}

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// An account, with an access token or its credentials.
    User,
    /// An API key.
    ApiKey,
    /// Someone at the server's command line (`keygate promote`, `keygate keys rotate`, …).
    Operator,
}

/// Who acted, and their id (none for an operator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// What kind of actor.
    #[serde(rename = "type")]
    pub kind: ActorKind,
    /// The account's or the key's id.
    pub id: Option<String>,
}

impl Actor {
    /// The account `id`.
    pub fn user(id: &Id) -> Self {
        Self {
            kind: ActorKind::User,
            id: Some(id.to_string()),
        }
    }

    /// The API key `id`.
    pub fn api_key(id: &Id) -> Self {
        Self {
            kind: ActorKind::ApiKey,
            id: Some(id.to_string()),
        }
    }

    /// The server's operator.
    pub fn operator() -> Self {
        Self {
            kind: ActorKind::Operator,
            id: None,
        }
    }
}

/// What the action was done to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Its kind: `user`, `session`, `api`, `api_key`, `passkey`, `webhook`, `signing_key`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its id.
    pub id: String,
}

/// Facts about an event beyond its fields. Only the domain fills it, with values it chose:
/// never a password, token, code, key or secret (§13).
pub type Details = Map<String, Value>;

/// One security event (§13), in the contract's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Its id: ordered by time (newest sorts last), so lists sort by it.
    pub event_id: Id,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    pub action: Action,
    /// Done or refused.
    pub outcome: Outcome,
    /// Who acted.
    pub actor: Actor,
    /// The account it concerns, whose owner sees it in `GET /audit`.
    pub account_id: Option<Id>,
    /// What it was done to.
    pub target: Option<Target>,
    /// The client's address, as the throttles see it (after trusted proxies).
    pub address: Option<String>,
    /// The client's `User-Agent`, cut at [`MAX_USER_AGENT_CHARS`].
    pub user_agent: Option<String>,
    /// The request's `x-request-id`.
    pub request_id: Option<String>,
    /// What else is worth knowing (`count` of an aggregated `login.failed`, …).
    pub details: Details,
}

impl AuditEvent {
    /// A successful `action` at `at` by `actor`, with nothing else known yet.
    /// `at` is kept to the microsecond, the precision of its id and of every store.
    pub fn new(action: Action, actor: Actor, at: DateTime<Utc>) -> Self {
        let at = DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at);
        Self {
            event_id: Id::generate_ordered(at),
            at,
            action,
            outcome: Outcome::Success,
            actor,
            account_id: None,
            target: None,
            address: None,
            user_agent: None,
            request_id: None,
            details: Details::new(),
        }
    }

    /// The same event, refused.
    #[must_use]
    pub fn failed(mut self) -> Self {
        self.outcome = Outcome::Failure;
        self
    }

    /// The same event, concerning the account `id`.
    #[must_use]
    pub fn account(mut self, id: &Id) -> Self {
        self.account_id = Some(id.clone());
        self
    }

    /// The same event, done to `kind` `id`.
    #[must_use]
    pub fn target(mut self, kind: &str, id: impl ToString) -> Self {
        self.target = Some(Target {
            kind: kind.to_owned(),
            id: id.to_string(),
        });
        self
    }

    /// The same event with `details.name = value`.
    #[must_use]
    pub fn detail(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.details.insert(name.to_owned(), value.into());
        self
    }

    /// The same event, as seen in the request `context`.
    #[must_use]
    pub fn seen_in(mut self, context: &super::RequestContext) -> Self {
        self.address = Some(context.address.clone());
        self.user_agent = context.user_agent.as_deref().map(cut_user_agent);
        self.request_id = context.request_id.clone();
        self
    }
}

/// `agent` cut at [`MAX_USER_AGENT_CHARS`] characters.
pub fn cut_user_agent(agent: &str) -> String {
    match agent.char_indices().nth(MAX_USER_AGENT_CHARS) {
        Some((end, _)) => agent[..end].to_owned(),
        None => agent.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_round_trips_through_its_name() {
        assert_eq!(Action::ALL.len(), 33);
        for action in Action::ALL {
            assert_eq!(action.as_str().parse::<Action>(), Ok(*action));
            let json = serde_json::to_value(action).expect("serialisable");
            assert_eq!(json, Value::String(action.as_str().to_owned()));
        }
        assert!("login.nope".parse::<Action>().is_err());
    }

    #[test]
    fn user_agents_are_cut_at_256_characters() {
        let long = "ü".repeat(300);
        assert_eq!(cut_user_agent(&long).chars().count(), 256);
        assert_eq!(cut_user_agent("curl/8"), "curl/8");
    }

    #[test]
    fn an_event_serialises_in_the_contracts_shape() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .expect("a time")
            .with_timezone(&Utc);
        let user: Id = "6553f1000000000000000001".parse().expect("an id");
        let event = AuditEvent::new(Action::LoginFailed, Actor::user(&user), at)
            .failed()
            .account(&user)
            .target("user", &user)
            .detail("count", 3);
        let json = serde_json::to_value(&event).expect("serialisable");
        assert_eq!(json["action"], "login.failed");
        assert_eq!(json["outcome"], "failure");
        assert_eq!(
            json["actor"],
            serde_json::json!({"type": "user", "id": user.to_string()})
        );
        assert_eq!(json["target"]["type"], "user");
        assert_eq!(json["details"]["count"], 3);
        assert_eq!(json["at"], "2026-12-01T10:00:00Z");
        let back: AuditEvent = serde_json::from_value(json).expect("deserialisable");
        assert_eq!(back, event);
    }
}
