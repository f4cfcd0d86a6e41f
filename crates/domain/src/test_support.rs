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
            audit: audit_trail().0,
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

/// A clock the test moves: it starts at [`now`].
#[derive(Clone)]
pub struct MovingClock(Arc<std::sync::Mutex<DateTime<Utc>>>);

impl MovingClock {
    /// At [`now`].
    pub fn new() -> Self {
        Self(Arc::new(std::sync::Mutex::new(now())))
    }

    /// Moves the time on by `by`.
    pub fn advance(&self, by: chrono::Duration) {
        let mut at = self.0.lock().expect("clock");
        *at += by;
    }
}

impl crate::clock::Clock for MovingClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock")
    }
}

/// Secrets that are `token-1`, `token-2`, … and digest as `d-<secret>`.
pub fn counting_secrets() -> MockSecretGenerator {
    let counter = std::sync::atomic::AtomicU32::new(0);
    let mut secrets = MockSecretGenerator::new();
    secrets.expect_new_secret().returning(move || {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        Ok(format!("token-{n}"))
    });
    secrets
        .expect_digest()
        .returning(|s| SecretDigest(format!("d-{s}")));
    secrets
        .expect_matches()
        .returning(|s, d| d.as_str() == format!("d-{s}"));
    secrets
}

/// Accounts in memory, with the store's compare-and-set on revisions.
#[derive(Default)]
pub struct MemoryUsers(pub std::sync::Mutex<Vec<crate::accounts::User>>);

impl MemoryUsers {
    /// Holding `users`.
    pub fn with(users: Vec<crate::accounts::User>) -> Self {
        Self(std::sync::Mutex::new(users))
    }

    /// The stored account `id`.
    pub fn get(&self, id: &Id) -> Option<crate::accounts::User> {
        self.0
            .lock()
            .expect("users")
            .iter()
            .find(|u| &u.id == id)
            .cloned()
    }
}

#[async_trait::async_trait]
impl crate::accounts::UserRepository for MemoryUsers {
    async fn insert(&self, user: &crate::accounts::User) -> crate::Result<()> {
        self.0.lock().expect("users").push(user.clone());
        Ok(())
    }
    async fn find_by_id(&self, id: &Id) -> crate::Result<Option<crate::accounts::User>> {
        Ok(self.get(id))
    }
    async fn find_by_email(
        &self,
        email: &crate::accounts::Email,
    ) -> crate::Result<Option<crate::accounts::User>> {
        let users = self.0.lock().expect("users");
        Ok(users
            .iter()
            .find(|u| u.email.as_ref() == Some(email))
            .cloned())
    }
    async fn find_by_username(
        &self,
        username: &crate::accounts::Username,
    ) -> crate::Result<Option<crate::accounts::User>> {
        let users = self.0.lock().expect("users");
        Ok(users
            .iter()
            .find(|u| {
                u.username
                    .as_ref()
                    .is_some_and(|n| n.as_str().eq_ignore_ascii_case(username.as_str()))
            })
            .cloned())
    }
    async fn update(&self, user: &crate::accounts::User, expected: u64) -> crate::Result<bool> {
        let mut users = self.0.lock().expect("users");
        match users.iter_mut().find(|u| u.id == user.id) {
            Some(stored) if stored.revision == expected => {
                *stored = user.clone();
                Ok(true)
            }
            Some(_) => Ok(false),
            None => Err(crate::Error::NotFound("user")),
        }
    }
    async fn delete(&self, id: &Id) -> crate::Result<bool> {
        let mut users = self.0.lock().expect("users");
        let before = users.len();
        users.retain(|u| &u.id != id);
        Ok(users.len() < before)
    }
    async fn list(
        &self,
        _after: Option<Id>,
        limit: usize,
    ) -> crate::Result<Vec<crate::accounts::User>> {
        Ok(self
            .0
            .lock()
            .expect("users")
            .iter()
            .take(limit)
            .cloned()
            .collect())
    }
    async fn ping(&self) -> crate::Result<()> {
        Ok(())
    }
}

/// One-time secrets in memory, with the store's rules: expiry, tries, single use.
#[derive(Default)]
pub struct MemoryOneTime(pub std::sync::Mutex<Vec<crate::one_time::OneTimeSecret>>);

impl MemoryOneTime {
    /// Every secret stored now.
    pub fn all(&self) -> Vec<crate::one_time::OneTimeSecret> {
        self.0.lock().expect("secrets").clone()
    }
}

#[async_trait::async_trait]
impl crate::one_time::OneTimeSecretRepository for MemoryOneTime {
    async fn put_secret(&self, secret: &crate::one_time::OneTimeSecret) -> crate::Result<()> {
        let mut secrets = self.0.lock().expect("secrets");
        secrets.retain(|s| s.key != secret.key);
        secrets.push(secret.clone());
        Ok(())
    }
    async fn use_secret(
        &self,
        key: &str,
        purpose: crate::one_time::SecretPurpose,
        presented: &SecretDigest,
        now: DateTime<Utc>,
    ) -> crate::Result<crate::one_time::UseOutcome> {
        use crate::one_time::UseOutcome;
        let mut secrets = self.0.lock().expect("secrets");
        let Some(at) = secrets.iter().position(|s| {
            s.key == key && s.purpose == purpose && s.expires_at > now && s.tries_left > 0
        }) else {
            return Ok(UseOutcome::Unknown);
        };
        if &secrets[at].digest == presented {
            return Ok(UseOutcome::Used(secrets.remove(at)));
        }
        secrets[at].tries_left -= 1;
        if secrets[at].tries_left == 0 {
            secrets.remove(at);
        }
        Ok(UseOutcome::Wrong)
    }
    async fn find_secret(
        &self,
        key: &str,
        purpose: crate::one_time::SecretPurpose,
        now: DateTime<Utc>,
    ) -> crate::Result<Option<crate::one_time::OneTimeSecret>> {
        let secrets = self.0.lock().expect("secrets");
        Ok(secrets
            .iter()
            .find(|s| {
                s.key == key && s.purpose == purpose && s.expires_at > now && s.tries_left > 0
            })
            .cloned())
    }
    async fn delete_secrets_of(&self, user_id: &Id) -> crate::Result<()> {
        self.0
            .lock()
            .expect("secrets")
            .retain(|s| &s.user_id != user_id);
        Ok(())
    }
    async fn purge_expired_secrets(&self, now: DateTime<Utc>) -> crate::Result<u64> {
        let mut secrets = self.0.lock().expect("secrets");
        let before = secrets.len();
        secrets.retain(|s| s.expires_at > now);
        Ok((before - secrets.len()) as u64)
    }
}

/// An account `alice` (alice@example.com, unverified) with id `…01`.
pub fn alice() -> crate::accounts::User {
    crate::accounts::User::new_account(
        owner().user_id,
        crate::accounts::AccountDetails {
            username: Some(crate::accounts::Username::new("alice").expect("valid")),
            email: Some(crate::accounts::Email::new("alice@example.com").expect("valid")),
            ..crate::accounts::AccountDetails::default()
        },
        "$argon2id$stored".into(),
        now(),
    )
}

/// Second factors in memory, with the store's compare-and-set on revisions.
#[derive(Default)]
pub struct MemoryFactors(pub std::sync::Mutex<Vec<crate::mfa::SecondFactors>>);

impl MemoryFactors {
    /// The stored factors of `user_id`.
    pub fn of(&self, user_id: &Id) -> Option<crate::mfa::SecondFactors> {
        let factors = self.0.lock().expect("factors");
        factors.iter().find(|f| &f.user_id == user_id).cloned()
    }
}

#[async_trait::async_trait]
impl crate::mfa::SecondFactorRepository for MemoryFactors {
    async fn find_factors(&self, user_id: &Id) -> crate::Result<Option<crate::mfa::SecondFactors>> {
        Ok(self.of(user_id))
    }
    async fn put_factors(
        &self,
        factors: &crate::mfa::SecondFactors,
        expected: u64,
    ) -> crate::Result<bool> {
        let mut stored = self.0.lock().expect("factors");
        let current = stored.iter().position(|f| f.user_id == factors.user_id);
        match current {
            Some(at) if stored[at].revision == expected => stored[at] = factors.clone(),
            None if expected == 0 => stored.push(factors.clone()),
            _ => return Ok(false),
        }
        Ok(true)
    }
    async fn delete_factors(&self, user_id: &Id) -> crate::Result<()> {
        self.0
            .lock()
            .expect("factors")
            .retain(|f| &f.user_id != user_id);
        Ok(())
    }
}

/// TOTP arithmetic whose code of step `n` is `n` in six digits, with recovery codes
/// `code-0001`, `code-0002`, …
pub fn stepping_otp() -> crate::mfa::MockOtpGenerator {
    let counter = std::sync::atomic::AtomicU32::new(0);
    let mut otp = crate::mfa::MockOtpGenerator::new();
    otp.expect_new_totp_secret()
        .returning(|| Ok(crate::mfa::TotpSecret::new(vec![7; 20])));
    otp.expect_totp_code()
        .returning(|_, step| format!("{:06}", step % 1_000_000));
    otp.expect_new_recovery_code().returning(move || {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        Ok(format!("code-{n:04}"))
    });
    otp
}

/// An audit log in memory: every event the services record, for tests to read back.
#[derive(Default)]
pub struct MemoryAudit(pub std::sync::Mutex<Vec<crate::audit::AuditEvent>>);

#[async_trait::async_trait]
impl crate::audit::AuditRepository for MemoryAudit {
    async fn append_event(&self, event: &crate::audit::AuditEvent) -> crate::Result<()> {
        self.0.lock().expect("events").push(event.clone());
        Ok(())
    }
    async fn count_in_window(
        &self,
        _window: &str,
        event: &crate::audit::AuditEvent,
    ) -> crate::Result<()> {
        self.append_event(event).await
    }
    async fn list_events(
        &self,
        _query: &crate::audit::AuditQuery,
        _before: Option<Id>,
        _limit: usize,
    ) -> crate::Result<crate::audit::AuditBatch> {
        Ok(crate::audit::AuditBatch::default())
    }
    async fn purge_older_than(&self, _cutoff: DateTime<Utc>, _max: usize) -> crate::Result<usize> {
        Ok(0)
    }
    async fn blank_account(
        &self,
        _account_id: &Id,
        _after: Option<Id>,
        _max: usize,
    ) -> crate::Result<Option<Id>> {
        Ok(None)
    }
}

/// A trail recording into a fresh [`MemoryAudit`], and that log.
pub fn audit_trail() -> (Arc<crate::audit::AuditTrail>, Arc<MemoryAudit>) {
    let log = Arc::new(MemoryAudit::default());
    (
        Arc::new(crate::audit::AuditTrail::new(
            log.clone(),
            Arc::new(fixed_clock()),
        )),
        log,
    )
}
