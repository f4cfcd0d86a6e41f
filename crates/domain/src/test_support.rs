//! Mocks and builders shared by the domain's unit tests: one fixed time and clock, the two
//! callers, and the API, key and record fixtures. Every service's tests live beside it in
//! `<aggregate>/service/tests.rs` and start from here; value objects test themselves inline.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::apis::records::MockRecordRepository;
use crate::apis::{
    ApiDefinition, ApiKey, ApiName, ApiPorts, DisplayName, Endpoint, EndpointName,
    MockApiKeyRepository, MockApiRepository, Scopes,
};
use crate::clock::MockClock;
use crate::crypto::{MockSecretGenerator, SecretDigest};
use crate::id::Id;
use crate::schema::{MockCompiledSchema, MockSchemaValidator};
use crate::sessions::Principal;
use crate::usage::{MockUsageRepository, Quota, UsageLimits};

/// A fixed "now".
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).expect("valid time")
}

/// A clock that always says [`now`].
pub fn fixed_clock() -> MockClock {
    let mut clock = MockClock::new();
    clock.expect_now().returning(now);
    clock
}

/// The owner of every API in these tests.
pub fn owner() -> Principal {
    Principal {
        user_id: "6553f1000000000000000001".parse().expect("id"),
        session_id: "6553f1000000000000000002".parse().expect("id"),
    }
}

/// Someone else.
pub fn stranger() -> Principal {
    Principal {
        user_id: "6553f1000000000000000009".parse().expect("id"),
        session_id: "6553f100000000000000000a".parse().expect("id"),
    }
}

/// The owner's API `shop` with the endpoint `orders`.
pub fn shop() -> ApiDefinition {
    ApiDefinition {
        id: "6553f1000000000000000003".parse().expect("id"),
        owner_id: owner().user_id,
        name: ApiName::parse("shop").expect("name"),
        display_name: DisplayName::new("Shop", "api_name").expect("name"),
        endpoints: vec![Endpoint {
            name: EndpointName::new("orders", "endpoint").expect("name"),
            schema: json!({"type": "object"}),
            indexes: Vec::new(),
        }],
        created_at: now(),
        updated_at: now(),
        revision: 1,
    }
}

/// The whole text of the key [`shop_key`] stands for.
pub const SHOP_KEY: &str = "kg_Pub1icId_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";

/// The stored key of `shop`, read and write.
pub fn shop_key() -> ApiKey {
    ApiKey {
        id: "6553f1000000000000000004".parse().expect("id"),
        api_id: shop().id,
        owner_id: owner().user_id,
        public_id: "Pub1icId".into(),
        digest: SecretDigest(format!("d-{SHOP_KEY}")),
        scopes: Scopes::ALL,
        created_at: now(),
        expires_at: None,
        revoked_at: None,
    }
}

/// One mock per port; each test sets the expectations it needs, then calls [`Mocks::ports`].
pub struct Mocks {
    pub apis: MockApiRepository,
    pub keys: MockApiKeyRepository,
    pub records: MockRecordRepository,
    pub schemas: MockSchemaValidator,
    pub secrets: MockSecretGenerator,
    pub clock: MockClock,
    pub usage: MockUsageRepository,
}

impl Mocks {
    /// Mocks whose secrets digest as `d-<secret>` and match accordingly, whose clock says
    /// [`now`], and whose schema compiler accepts everything.
    pub fn new() -> Self {
        let mut secrets = MockSecretGenerator::new();
        secrets
            .expect_digest()
            .returning(|s| SecretDigest(format!("d-{s}")));
        secrets
            .expect_matches()
            .returning(|s, d| d.as_str() == format!("d-{s}"));
        let mut clock = MockClock::new();
        clock.expect_now().returning(now);
        let mut usage = MockUsageRepository::new();
        usage.expect_try_change().returning(|_, _, _| Ok(true));
        Self {
            usage,
            apis: MockApiRepository::new(),
            keys: MockApiKeyRepository::new(),
            records: MockRecordRepository::new(),
            schemas: MockSchemaValidator::new(),
            secrets,
            clock,
        }
    }

    /// A schema compiler that accepts every schema and finds `violations` in every document.
    pub fn schemas_finding(&mut self, violations: Vec<(&'static str, &'static str)>) {
        let compiled = move |_: &Value| -> std::result::Result<
            Arc<dyn crate::schema::CompiledSchema>,
            Vec<crate::FieldViolation>,
        > {
            let mut compiled = MockCompiledSchema::new();
            let found: Vec<crate::FieldViolation> = violations
                .iter()
                .map(|(f, m)| crate::FieldViolation::new(*f, *m))
                .collect();
            let again = found.clone();
            compiled
                .expect_violations()
                .returning(move |_| found.clone());
            compiled
                .expect_check()
                .returning(move |_, _| Ok(again.clone()));
            Ok(Arc::new(compiled))
        };
        self.schemas.expect_compile().returning(compiled.clone());
        self.schemas.expect_compile_stored().returning(compiled);
    }

    /// The ports, ready for a service.
    pub fn ports(self) -> ApiPorts {
        ApiPorts {
            apis: Arc::new(self.apis),
            keys: Arc::new(self.keys),
            records: Arc::new(self.records),
            schemas: Arc::new(self.schemas),
            secrets: Arc::new(self.secrets),
            clock: Arc::new(self.clock),
            quota: Quota::new(Arc::new(self.usage), UsageLimits::default()),
        }
    }
}

/// A JSON object as a map.
pub fn object(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => panic!("not an object"),
    }
}

/// An id from its text.
pub fn id(text: &str) -> Id {
    text.parse().expect("id")
}
