//! One of every kind of row the embedded store keeps, with fixed ids and times, written
//! through the repository ports: the example `write_format_fixture` stores them in a new
//! file, and `tests/file_format.rs` reads them back from a file written by an earlier Keygate.

use chrono::{DateTime, Duration, Utc};
use keygate_domain::accounts::{
    Age, Email, Gender, PersonName, Role, User, UserRepository, Username,
};
use keygate_domain::apis::records::{Record, RecordBody, RecordRepository};
use keygate_domain::apis::{
    ApiDefinition, ApiKey, ApiKeyRepository, ApiName, ApiRepository, DisplayName, Endpoint,
    EndpointName, Scope, Scopes,
};
use keygate_domain::crypto::SecretDigest;
use keygate_domain::data::{DataEntry, DataKey, DataRepository};
use keygate_domain::sessions::{RefreshToken, Session};
use keygate_domain::usage::{UsageChange, UsageLimits};
use keygate_domain::{Id, Store};
use serde_json::json;

/// 2026-03-01T12:00:00Z plus `seconds`.
pub fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_366_400 + seconds, 0).expect("valid time")
}

/// Ids fixed once: `6553f1000000000000000001` and so on.
pub fn id(n: u32) -> Id {
    format!("6553f1{n:018x}").parse().expect("valid id")
}

/// An account with every profile field set, and one with none, being deleted.
pub fn users() -> [User; 2] {
    [
        User {
            id: id(1),
            username: Some(Username::new("alice").expect("valid")),
            email: Some(Email::new("alice@example.com").expect("valid")),
            password_hash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
            name: Some(PersonName::new("Alice", "name").expect("valid")),
            full_name: Some(PersonName::new("Alice Liddell", "full_name").expect("valid")),
            age: Some(Age::new(33).expect("valid")),
            gender: Some(Gender::new("f").expect("valid")),
            role: Role::Admin,
            created_at: at(0),
            updated_at: at(60),
            revision: 3,
            deleting: false,
            email_verified: false,
            pending_email: None,
        },
        User {
            id: id(2),
            username: None,
            email: Some(Email::new("bob@example.com").expect("valid")),
            password_hash: "pbkdf2:sha256:600000$salt$legacy".into(),
            name: None,
            full_name: None,
            age: None,
            gender: None,
            role: Role::User,
            created_at: at(1),
            updated_at: at(1),
            revision: 1,
            deleting: true,
            email_verified: false,
            pending_email: None,
        },
    ]
}

/// A live session and a revoked one of alice.
pub fn sessions() -> [Session; 2] {
    [
        Session {
            id: id(10),
            user_id: id(1),
            created_at: at(100),
            expires_at: at(100) + Duration::days(30),
            revoked_at: None,
        },
        Session {
            id: id(11),
            user_id: id(1),
            created_at: at(101),
            expires_at: at(101) + Duration::days(30),
            revoked_at: Some(at(200)),
        },
    ]
}

/// The first refresh token of each session.
pub fn refresh_tokens() -> [RefreshToken; 2] {
    let [live, revoked] = sessions();
    [
        RefreshToken {
            digest: SecretDigest("a1".repeat(32)),
            session_id: live.id,
            user_id: live.user_id,
            issued_at: at(100),
            expires_at: live.expires_at,
            used_at: None,
        },
        RefreshToken {
            digest: SecretDigest("b2".repeat(32)),
            session_id: revoked.id,
            user_id: revoked.user_id,
            issued_at: at(101),
            expires_at: revoked.expires_at,
            used_at: None,
        },
    ]
}

/// Two of alice's values: an object with a big number, and a string.
pub fn data() -> [DataEntry; 2] {
    [
        DataEntry {
            user_id: id(1),
            key: DataKey::new("settings/theme").expect("valid"),
            value: json!({"dark": true, "n": 12345678901234567890_u64, "list": [1, "two", null]}),
            created_at: at(300),
            updated_at: at(301),
        },
        DataEntry {
            user_id: id(1),
            key: DataKey::new("é ü").expect("valid"),
            value: json!("plain"),
            created_at: at(302),
            updated_at: at(302),
        },
    ]
}

/// Alice's API with two endpoints.
pub fn api() -> ApiDefinition {
    ApiDefinition {
        id: id(20),
        owner_id: id(1),
        name: ApiName::parse("shop").expect("valid"),
        display_name: DisplayName::new("My Shop", "api_name").expect("valid"),
        endpoints: vec![
            Endpoint {
                name: EndpointName::new("orders", "endpoint").expect("valid"),
                schema: json!({"type": "object", "required": ["total"],
                               "properties": {"total": {"type": "number"}}}),
                indexes: Vec::new(),
            },
            Endpoint {
                name: EndpointName::new("notes", "endpoint").expect("valid"),
                schema: json!({"type": "object"}),
                indexes: Vec::new(),
            },
        ],
        created_at: at(400),
        updated_at: at(401),
        revision: 2,
    }
}

/// A read-write key that never expires, and a read key that expires and was revoked.
pub fn api_keys() -> [ApiKey; 2] {
    [
        ApiKey {
            id: id(30),
            api_id: id(20),
            owner_id: id(1),
            public_id: "abcd1234".into(),
            digest: SecretDigest("c3".repeat(32)),
            scopes: Scopes::ALL,
            created_at: at(402),
            expires_at: None,
            revoked_at: None,
        },
        ApiKey {
            id: id(31),
            api_id: id(20),
            owner_id: id(1),
            public_id: "wxyz9876".into(),
            digest: SecretDigest("d4".repeat(32)),
            scopes: Scopes::parse(&[Scope::Read.as_str().to_owned()], "scopes").expect("valid"),
            created_at: at(403),
            expires_at: Some(at(403) + Duration::days(7)),
            revoked_at: Some(at(500)),
        },
    ]
}

/// Two orders, their members in the order sent and a number kept as written.
pub fn records() -> [Record; 2] {
    let orders = EndpointName::new("orders", "endpoint").expect("valid");
    [
        Record {
            id: id(40),
            api_id: id(20),
            endpoint: orders.clone(),
            data: RecordBody::from_stored(r#"{"total":12.50,"item":"tea","tags":["a"]}"#.into())
                .expect("valid"),
            created_at: at(600),
            updated_at: at(600),
            revision: 1,
        },
        Record {
            id: id(41),
            api_id: id(20),
            endpoint: orders,
            data: RecordBody::from_stored(
                r#"{"z":1,"a":{"nested":[true,false]},"total":1e3}"#.into(),
            )
            .expect("valid"),
            created_at: at(601),
            updated_at: at(650),
            revision: 4,
        },
    ]
}

/// What alice's usage row holds after the writes above.
pub fn usage_change() -> UsageChange {
    UsageChange {
        entries: 4,
        bytes: 1234,
        apis: 1,
    }
}

/// Writes every row above through the ports, in one fixed order.
pub async fn populate<S: Store>(store: &S) {
    for user in users() {
        UserRepository::insert(store, &user).await.expect("user");
    }
    for (session, token) in sessions().iter().zip(refresh_tokens()) {
        store.create(session, &token).await.expect("session");
    }
    for entry in data() {
        DataRepository::insert(store, &entry).await.expect("data");
    }
    ApiRepository::insert(store, &api()).await.expect("api");
    for key in api_keys() {
        ApiKeyRepository::insert(store, &key).await.expect("key");
    }
    for record in records() {
        RecordRepository::insert(store, &record, &[])
            .await
            .expect("record");
    }
    assert!(store
        .try_change(&id(1), usage_change(), UsageLimits::default())
        .await
        .expect("usage"));
}
