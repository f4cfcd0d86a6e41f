//! Builders of valid entities for the conformance cases.

use chrono::{DateTime, Duration, Utc};
use keygate_domain::accounts::{Email, Role, User, Username};
use keygate_domain::security::SecretDigest;
use keygate_domain::sessions::{RefreshToken, Session};
use keygate_domain::Id;

/// A whole-second "now", so stores that keep millisecond precision round-trip it exactly.
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap()
}

/// A new account with this username and email.
pub fn user(username: &str, email: &str) -> User {
    let now = now();
    User {
        id: Id::generate(now.timestamp()),
        username: Some(Username::new(username).unwrap()),
        email: Some(Email::new(email).unwrap()),
        password_hash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
        name: None,
        full_name: None,
        age: None,
        gender: None,
        role: Role::User,
        created_at: now,
        updated_at: now,
    }
}

/// A new live session of `user_id`, valid for a day.
pub fn session(user_id: &Id) -> Session {
    let now = now();
    Session {
        id: Id::generate(now.timestamp()),
        user_id: user_id.clone(),
        created_at: now,
        expires_at: now + Duration::days(1),
        revoked_at: None,
    }
}

/// A fresh, unused refresh token of `session` with the digest `digest`.
pub fn refresh_token(session: &Session, digest: &str) -> RefreshToken {
    RefreshToken {
        digest: SecretDigest(digest.to_owned()),
        session_id: session.id.clone(),
        user_id: session.user_id.clone(),
        issued_at: now(),
        expires_at: session.expires_at,
        used_at: None,
    }
}
