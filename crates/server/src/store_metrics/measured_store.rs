//! [`MeasuredStore`]: every repository port of a store adapter, each call timed into
//! [`StoreMetrics`]. The port list below is the one place a new repository method is named
//! for metrics; a method left out does not compile.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use keygate_domain::accounts::{Email, User, UserRepository, Username};
use keygate_domain::apis::records::{
    ListBounds, ListedRecords, QueryPlan, Record, RecordRepository, RemovedRecords,
};
use keygate_domain::apis::{
    ApiDefinition, ApiKey, ApiKeyRepository, ApiName, ApiRepository, EndpointName,
};
use keygate_domain::audit::{AuditBatch, AuditEvent, AuditQuery, AuditRepository};
use keygate_domain::crypto::SecretDigest;
use keygate_domain::data::{DataEntry, DataKey, DataRepository, ListedEntry};
use keygate_domain::mail::{Outbox, QueuedMail};
use keygate_domain::mfa::{SecondFactorRepository, SecondFactors};
use keygate_domain::one_time::{OneTimeSecret, OneTimeSecretRepository, SecretPurpose, UseOutcome};
use keygate_domain::sessions::{RefreshToken, Session, SessionRepository};
use keygate_domain::signing::{SigningKey, SigningKeyRepository};
use keygate_domain::usage::{UsageChange, UsageLimits, UsageRepository};
use keygate_domain::{Id, Result};
use serde_json::Value;

use super::StoreMetrics;

/// A store adapter whose every repository call is timed into [`StoreMetrics`].
pub struct MeasuredStore<S> {
    inner: Arc<S>,
    metrics: Arc<StoreMetrics>,
}

impl<S> MeasuredStore<S> {
    /// Wraps `inner`.
    pub fn new(inner: Arc<S>, metrics: Arc<StoreMetrics>) -> Self {
        Self { inner, metrics }
    }

    async fn measure<T>(
        &self,
        operation: &'static str,
        call: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let started = Instant::now();
        let result = call.await;
        self.metrics
            .record(operation, started.elapsed(), result.as_ref().err());
        result
    }
}

/// Implements every listed port for [`MeasuredStore`] by timing the wrapped adapter's own
/// call, and declares [`OPERATIONS`], the label of each method, from the same list. A port
/// method missing here does not compile (its impl would be incomplete), so none can be left
/// unmeasured or unlabelled.
macro_rules! measured_ports {
    ($(
        $port:ident as $label:literal {
            $( fn $method:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty; )*
        }
    )*) => {
        /// Every operation label, `<port>.<method>`; [`MeasuredStore`] uses exactly these.
        pub const OPERATIONS: &[&str] = &[$($(concat!($label, ".", stringify!($method)),)*)*];
        $(
            #[async_trait]
            impl<S: $port> $port for MeasuredStore<S> {
                $(
                    async fn $method(&self $(, $arg: $ty)*) -> $ret {
                        self.measure(
                            concat!($label, ".", stringify!($method)),
                            <S as $port>::$method(&self.inner $(, $arg)*),
                        )
                        .await
                    }
                )*
            }
        )*
    };
}

measured_ports! {
    UserRepository as "users" {
        fn insert(&self, user: &User) -> Result<()>;
        fn find_by_id(&self, id: &Id) -> Result<Option<User>>;
        fn find_by_email(&self, email: &Email) -> Result<Option<User>>;
        fn find_by_username(&self, username: &Username) -> Result<Option<User>>;
        fn update(&self, user: &User, expected_revision: u64) -> Result<bool>;
        fn delete(&self, id: &Id) -> Result<bool>;
        fn list(&self, after: Option<Id>, limit: usize) -> Result<Vec<User>>;
        fn ping(&self) -> Result<()>;
    }
    SessionRepository as "sessions" {
        fn create(&self, session: &Session, first_token: &RefreshToken) -> Result<()>;
        fn find(&self, id: &Id) -> Result<Option<Session>>;
        fn find_refresh_token(&self, digest: &SecretDigest) -> Result<Option<RefreshToken>>;
        fn rotate_refresh_token(
            &self,
            used: &SecretDigest,
            next: &RefreshToken,
            now: DateTime<Utc>
        ) -> Result<bool>;
        fn revoke(&self, id: &Id, now: DateTime<Utc>) -> Result<()>;
        fn revoke_all_for_user(
            &self,
            user_id: &Id,
            keep: Option<Id>,
            now: DateTime<Utc>
        ) -> Result<()>;
        fn delete_all_for_user(&self, user_id: &Id) -> Result<()>;
        fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64>;
    }
    DataRepository as "data" {
        fn insert(&self, entry: &DataEntry) -> Result<()>;
        fn find(&self, user_id: &Id, key: &DataKey) -> Result<Option<DataEntry>>;
        fn replace_value(
            &self,
            expected: &DataEntry,
            value: &Value,
            now: DateTime<Utc>
        ) -> Result<Option<DataEntry>>;
        fn delete(&self, user_id: &Id, key: &DataKey) -> Result<Option<u64>>;
        fn list(
            &self,
            user_id: &Id,
            prefix: Option<String>,
            after: Option<String>,
            limit: usize
        ) -> Result<Vec<ListedEntry>>;
        fn delete_all_for_user(&self, user_id: &Id) -> Result<()>;
    }
    ApiRepository as "apis" {
        fn insert(&self, api: &ApiDefinition) -> Result<()>;
        fn find(&self, id: &Id) -> Result<Option<ApiDefinition>>;
        fn find_by_name(&self, name: &ApiName) -> Result<Option<ApiDefinition>>;
        fn list_for_owner(
            &self,
            owner_id: &Id,
            after: Option<Id>,
            limit: usize
        ) -> Result<Vec<ApiDefinition>>;
        fn update(&self, api: &ApiDefinition, expected_revision: u64) -> Result<bool>;
        fn delete(&self, id: &Id) -> Result<bool>;
        fn with_building_indexes(
            &self,
            after: Option<Id>,
            limit: usize
        ) -> Result<Vec<ApiDefinition>>;
    }
    ApiKeyRepository as "api_keys" {
        fn insert(&self, key: &ApiKey) -> Result<()>;
        fn find_by_public_id(&self, public_id: &str) -> Result<Option<ApiKey>>;
        fn list_for_api(&self, api_id: &Id) -> Result<Vec<ApiKey>>;
        fn revoke(&self, api_id: &Id, key_id: &Id, now: DateTime<Utc>) -> Result<Option<ApiKey>>;
        fn delete_for_api(&self, api_id: &Id) -> Result<u64>;
        fn delete(&self, api_id: &Id, key_id: &Id) -> Result<bool>;
    }
    RecordRepository as "records" {
        fn insert(&self, record: &Record, indexed: &[String]) -> Result<()>;
        fn find(&self, api_id: &Id, endpoint: &EndpointName, id: &Id) -> Result<Option<Record>>;
        fn list(
            &self,
            api_id: &Id,
            endpoint: &EndpointName,
            plan: &QueryPlan,
            bounds: ListBounds
        ) -> Result<ListedRecords>;
        fn count(&self, api_id: &Id, endpoint: &EndpointName, plan: &QueryPlan) -> Result<u64>;
        fn count_up_to(&self, api_id: &Id, endpoint: &EndpointName, at_most: u64) -> Result<u64>;
        fn replace(&self, record: &Record, expected_revision: u64, indexed: &[String]) -> Result<bool>;
        fn reindex(
            &self,
            api_id: &Id,
            endpoint: &EndpointName,
            indexed: &[String],
            after: Option<Id>,
            limit: usize
        ) -> Result<Option<Id>>;
        fn delete(&self, api_id: &Id, endpoint: &EndpointName, id: &Id) -> Result<Option<u64>>;
        fn delete_batch_for_api(
            &self,
            api_id: &Id,
            limit: usize,
            max_bytes: u64
        ) -> Result<RemovedRecords>;
    }
    UsageRepository as "usage" {
        fn try_change(&self, user_id: &Id, change: UsageChange, limits: UsageLimits) -> Result<bool>;
        fn forget(&self, user_id: &Id) -> Result<()>;
    }
    OneTimeSecretRepository as "one_time" {
        fn put_secret(&self, secret: &OneTimeSecret) -> Result<()>;
        fn use_secret(
            &self,
            key: &str,
            purpose: SecretPurpose,
            presented: &SecretDigest,
            now: DateTime<Utc>
        ) -> Result<UseOutcome>;
        fn find_secret(
            &self,
            key: &str,
            purpose: SecretPurpose,
            now: DateTime<Utc>
        ) -> Result<Option<OneTimeSecret>>;
        fn delete_secrets_of(&self, user_id: &Id) -> Result<()>;
        fn purge_expired_secrets(&self, now: DateTime<Utc>) -> Result<u64>;
    }
    Outbox as "outbox" {
        fn enqueue(&self, mail: &QueuedMail) -> Result<()>;
        fn claim_due(
            &self,
            now: DateTime<Utc>,
            lease_until: DateTime<Utc>,
            limit: usize
        ) -> Result<Vec<QueuedMail>>;
        fn remove(&self, id: &Id, claimed_until: DateTime<Utc>) -> Result<bool>;
        fn retry_later(
            &self,
            id: &Id,
            claimed_until: DateTime<Utc>,
            attempts: u32,
            next_attempt_at: DateTime<Utc>
        ) -> Result<bool>;
        fn queued(&self) -> Result<u64>;
    }
    SigningKeyRepository as "signing_keys" {
        fn list_signing_keys(&self) -> Result<Vec<SigningKey>>;
        fn insert_signing_key(&self, key: &SigningKey) -> Result<bool>;
        fn delete_signing_key(&self, generation: u64) -> Result<()>;
    }
    SecondFactorRepository as "factors" {
        fn find_factors(&self, user_id: &Id) -> Result<Option<SecondFactors>>;
        fn put_factors(&self, factors: &SecondFactors, expected: u64) -> Result<bool>;
        fn delete_factors(&self, user_id: &Id) -> Result<()>;
    }
    AuditRepository as "audit" {
        fn append_event(&self, event: &AuditEvent) -> Result<()>;
        fn count_in_window(&self, window: &str, event: &AuditEvent) -> Result<()>;
        fn list_events(&self, query: &AuditQuery, before: Option<Id>, limit: usize) -> Result<AuditBatch>;
        fn purge_older_than(&self, cutoff: DateTime<Utc>, max: usize) -> Result<usize>;
        fn blank_account(&self, account_id: &Id, after: Option<Id>, max: usize) -> Result<Option<Id>>;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keygate_domain::Error;
    use std::time::Duration;

    #[test]
    fn every_operation_label_names_its_port_and_is_unique() {
        let mut labels = OPERATIONS.to_vec();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), OPERATIONS.len(), "a label declared twice");
        let ports = [
            "users",
            "sessions",
            "data",
            "apis",
            "api_keys",
            "records",
            "usage",
            "signing_keys",
            "one_time",
            "outbox",
            "factors",
            "audit",
        ];
        for label in OPERATIONS {
            let (port, method) = label.split_once('.').expect("<port>.<method>");
            assert!(ports.contains(&port) && !method.is_empty(), "{label}");
        }
    }

    /// The decorator times each call under its own method's label: one call through each
    /// port of a real (embedded) store shows up as exactly that operation.
    #[actix_web::test]
    async fn each_call_through_the_decorator_is_counted_under_its_own_label() {
        let dir = std::env::temp_dir().join(format!(
            "keygate-store-metrics-{}-{}",
            std::process::id(),
            Id::generate(0)
        ));
        let store = Arc::new(keygate_embedded::EmbeddedStore::open(&dir).expect("a store"));
        let metrics = Arc::new(StoreMetrics::default());
        let measured = MeasuredStore::new(store, metrics.clone());
        let id = Id::generate(0);
        let endpoint = EndpointName::new("orders", "endpoint").expect("a name");
        measured.ping().await.expect("ping");
        UserRepository::find_by_id(&measured, &id)
            .await
            .expect("read");
        SessionRepository::find(&measured, &id).await.expect("read");
        DataRepository::list(&measured, &id, None, None, 1)
            .await
            .expect("read");
        ApiRepository::find(&measured, &id).await.expect("read");
        measured.list_for_api(&id).await.expect("read");
        RecordRepository::find(&measured, &id, &endpoint, &id)
            .await
            .expect("read");
        measured.forget(&id).await.expect("write");
        let mut text = String::new();
        metrics.render(&mut text);
        let counted: Vec<&str> = OPERATIONS
            .iter()
            .copied()
            .filter(|label| {
                text.contains(&format!(
                    "keygate_store_operation_duration_seconds_count{{operation=\"{label}\"}} 1\n"
                ))
            })
            .collect();
        assert_eq!(
            counted,
            [
                "users.find_by_id",
                "users.ping",
                "sessions.find",
                "data.list",
                "apis.find",
                "api_keys.list_for_api",
                "records.find",
                "usage.forget"
            ]
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn latency_lands_in_cumulative_buckets_and_errors_are_counted_by_kind() {
        let metrics = StoreMetrics::default();
        metrics.record("records.find", Duration::from_micros(30), None);
        metrics.record("records.find", Duration::from_millis(3), None);
        metrics.record(
            "records.find",
            Duration::from_secs(9),
            Some(&Error::Unavailable("timed out".into())),
        );
        metrics.record(
            "users.insert",
            Duration::from_micros(80),
            Some(&Error::Conflict(keygate_domain::ConflictKind::Email)),
        );
        let mut text = String::new();
        metrics.render(&mut text);
        assert!(text.contains(
            "keygate_store_operation_duration_seconds_bucket{operation=\"records.find\",le=\"0.00005\"} 1\n"
        ), "{text}");
        assert!(text.contains(
            "keygate_store_operation_duration_seconds_bucket{operation=\"records.find\",le=\"0.005\"} 2\n"
        ));
        assert!(text.contains(
            "keygate_store_operation_duration_seconds_bucket{operation=\"records.find\",le=\"+Inf\"} 3\n"
        ));
        assert!(text.contains(
            "keygate_store_operation_duration_seconds_count{operation=\"records.find\"} 3\n"
        ));
        assert!(text.contains(
            "keygate_store_operation_errors_total{operation=\"records.find\",kind=\"unavailable\"} 1\n"
        ));
        // A conflict is an answer, not a store error.
        assert!(!text.contains("operation=\"users.insert\",kind="));
        // Operations never called add no series.
        assert!(!text.contains("operation=\"usage.forget\""));
    }
}
