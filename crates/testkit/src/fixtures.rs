//! Builders of valid entities for the conformance cases.

use chrono::{DateTime, Duration, Utc};
use keygate_domain::accounts::{AccountDetails, Email, User, Username};
use keygate_domain::apis::records::Record;
use keygate_domain::apis::{
    ApiDefinition, ApiKey, ApiName, DisplayName, Endpoint, EndpointName, Scopes,
};
use keygate_domain::crypto::SecretDigest;
use keygate_domain::sessions::{RefreshToken, Session};
use keygate_domain::Id;

/// A whole-second "now", so stores that keep millisecond precision round-trip it exactly.
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap()
}

/// A new account with this username and email.
pub fn user(username: &str, email: &str) -> User {
    let now = now();
    User::new_account(
        Id::generate(now.timestamp()),
        AccountDetails {
            username: Some(Username::new(username).unwrap()),
            email: Some(Email::new(email).unwrap()),
            ..AccountDetails::default()
        },
        "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
        now,
    )
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

/// A new API of `owner` called `name` with one endpoint, `items`, accepting any object.
pub fn api(owner: &Id, name: &str) -> ApiDefinition {
    let now = now();
    ApiDefinition {
        id: Id::generate_ordered(Utc::now()),
        owner_id: owner.clone(),
        name: ApiName::parse(name).unwrap(),
        display_name: DisplayName::new(name, "api_name").unwrap(),
        endpoints: vec![unindexed("items")],
        created_at: now,
        updated_at: now,
        revision: 1,
    }
}

/// A new read-write key of `api` with this public id and digest, never expiring.
pub fn api_key(api: &ApiDefinition, public_id: &str, digest: &str) -> ApiKey {
    ApiKey {
        id: Id::generate_ordered(Utc::now()),
        api_id: api.id.clone(),
        owner_id: api.owner_id.clone(),
        public_id: public_id.to_owned(),
        digest: SecretDigest(digest.to_owned()),
        scopes: Scopes::ALL,
        created_at: now(),
        expires_at: None,
        revoked_at: None,
    }
}

/// The endpoint name `name`.
pub fn endpoint(name: &str) -> EndpointName {
    EndpointName::new(name, "endpoint").unwrap()
}

/// An endpoint `name` accepting any object, without indexes.
pub fn unindexed(name: &str) -> Endpoint {
    Endpoint {
        name: endpoint(name),
        schema: serde_json::json!({"type": "object"}),
        indexes: Vec::new(),
    }
}

/// A new record of `api` at `endpoint` holding `data` (an object); its id sorts after every
/// record made before it by this function.
pub fn record(api: &ApiDefinition, endpoint_name: &str, data: serde_json::Value) -> Record {
    use std::sync::atomic::{AtomicI64, Ordering};
    static TICK: AtomicI64 = AtomicI64::new(0);
    let serde_json::Value::Object(data) = data else {
        panic!("a record is an object")
    };
    let tick = TICK.fetch_add(1, Ordering::Relaxed);
    let now = now();
    Record {
        id: Id::generate_ordered(now + Duration::microseconds(tick % 900_000)),
        api_id: api.id.clone(),
        endpoint: endpoint(endpoint_name),
        data: keygate_domain::apis::records::RecordBody::from_object(&data).unwrap(),
        created_at: now,
        updated_at: now,
        revision: 1,
    }
}
