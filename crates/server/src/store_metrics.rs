//! Latency and errors of every store operation, for `GET /metrics`. [`MeasuredStore`] wraps a
//! store adapter and implements every repository port by timing the adapter's own call, so
//! both stores are measured the same way and neither adapter knows about metrics.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use keygate_domain::accounts::{Email, User, UserRepository, Username};
use keygate_domain::apis::{
    ApiDefinition, ApiKey, ApiKeyRepository, ApiName, ApiRepository, EndpointName,
};
use keygate_domain::data::{DataEntry, DataKey, DataRepository, ListedEntry};
use keygate_domain::records::{
    FieldFilter, ListBounds, ListedRecords, Record, RecordRepository, RemovedRecords,
};
use keygate_domain::security::SecretDigest;
use keygate_domain::sessions::{RefreshToken, Session, SessionRepository};
use keygate_domain::usage::{UsageChange, UsageLimits, UsageRepository};
use keygate_domain::{Error, Id, Result};
use serde_json::Value;

use crate::metrics::{bucket_index, write_histogram};

/// Upper bounds of the latency buckets, in seconds: an embedded read takes microseconds, a
/// MongoDB round trip a millisecond or more.
const BUCKETS: [f64; 16] = [
    0.000_05, 0.0001, 0.000_25, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0,
];

/// Every operation label, `<port>.<method>`; [`MeasuredStore`] uses exactly these.
pub const OPERATIONS: &[&str] = &[
    "users.insert",
    "users.find_by_id",
    "users.find_by_email",
    "users.find_by_username",
    "users.update",
    "users.delete",
    "users.list",
    "users.ping",
    "sessions.create",
    "sessions.find",
    "sessions.find_refresh_token",
    "sessions.rotate_refresh_token",
    "sessions.revoke",
    "sessions.revoke_all_for_user",
    "sessions.delete_all_for_user",
    "sessions.purge_expired",
    "data.insert",
    "data.find",
    "data.replace_value",
    "data.delete",
    "data.list",
    "data.delete_all_for_user",
    "apis.insert",
    "apis.find",
    "apis.find_by_name",
    "apis.list_for_owner",
    "apis.update",
    "apis.delete",
    "api_keys.insert",
    "api_keys.find_by_public_id",
    "api_keys.list_for_api",
    "api_keys.revoke",
    "api_keys.delete_for_api",
    "api_keys.delete",
    "records.insert",
    "records.find",
    "records.list",
    "records.replace",
    "records.delete",
    "records.delete_batch_for_api",
    "usage.try_change",
    "usage.forget",
];

/// One operation's counters (atomics: recording takes no lock).
#[derive(Default)]
struct OperationStats {
    /// Per bucket, `+Inf` last; cumulative counts are computed at exposition.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    nanos: AtomicU64,
    unavailable: AtomicU64,
    failed: AtomicU64,
}

/// Latency histograms and error counts per store operation.
pub struct StoreMetrics {
    operations: HashMap<&'static str, OperationStats>,
}

impl Default for StoreMetrics {
    fn default() -> Self {
        Self {
            operations: OPERATIONS
                .iter()
                .map(|name| (*name, OperationStats::default()))
                .collect(),
        }
    }
}

impl StoreMetrics {
    /// Counts one call of `operation` that took `elapsed`, and its error if it failed.
    pub fn record(&self, operation: &'static str, elapsed: Duration, error: Option<&Error>) {
        let Some(stats) = self.operations.get(operation) else {
            debug_assert!(false, "{operation} is not in OPERATIONS");
            return;
        };
        let bucket = bucket_index(&BUCKETS, elapsed.as_secs_f64());
        stats.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        stats.nanos.fetch_add(nanos, Ordering::Relaxed);
        // Conflicts and the like are answers; only a store that failed to answer counts.
        match error {
            Some(Error::Unavailable(_)) => {
                stats.unavailable.fetch_add(1, Ordering::Relaxed);
            }
            Some(Error::Internal(_)) => {
                stats.failed.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }

    /// Appends the Prometheus text of every operation called at least once.
    pub fn render(&self, out: &mut String) {
        out.push_str(
            "# HELP keygate_store_operation_duration_seconds Store operation latency by operation.\n\
             # TYPE keygate_store_operation_duration_seconds histogram\n",
        );
        let mut errors = String::new();
        for name in OPERATIONS {
            let Some(stats) = self.operations.get(name) else {
                continue;
            };
            let counts = stats.buckets.each_ref().map(|b| b.load(Ordering::Relaxed));
            if counts.iter().all(|count| *count == 0) {
                continue;
            }
            let seconds = Duration::from_nanos(stats.nanos.load(Ordering::Relaxed)).as_secs_f64();
            write_histogram(
                out,
                "keygate_store_operation_duration_seconds",
                &format!("operation=\"{name}\""),
                &BUCKETS,
                &counts,
                seconds,
            );
            for (kind, counter) in [
                ("unavailable", &stats.unavailable),
                ("internal", &stats.failed),
            ] {
                let count = counter.load(Ordering::Relaxed);
                if count > 0 {
                    let _ = writeln!(
                        errors,
                        "keygate_store_operation_errors_total{{operation=\"{name}\",kind=\"{kind}\"}} {count}"
                    );
                }
            }
        }
        out.push_str(
            "# HELP keygate_store_operation_errors_total Store operations that failed, by operation and kind \
             (unavailable: the store did not answer; internal: it answered something unusable).\n\
             # TYPE keygate_store_operation_errors_total counter\n",
        );
        out.push_str(&errors);
    }
}

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

#[async_trait]
impl<S: UserRepository> UserRepository for MeasuredStore<S> {
    async fn insert(&self, user: &User) -> Result<()> {
        self.measure("users.insert", self.inner.insert(user)).await
    }
    async fn find_by_id(&self, id: &Id) -> Result<Option<User>> {
        self.measure("users.find_by_id", self.inner.find_by_id(id))
            .await
    }
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>> {
        self.measure("users.find_by_email", self.inner.find_by_email(email))
            .await
    }
    async fn find_by_username(&self, username: &Username) -> Result<Option<User>> {
        self.measure(
            "users.find_by_username",
            self.inner.find_by_username(username),
        )
        .await
    }
    async fn update(&self, user: &User, expected_revision: u64) -> Result<bool> {
        self.measure("users.update", self.inner.update(user, expected_revision))
            .await
    }
    async fn delete(&self, id: &Id) -> Result<bool> {
        self.measure("users.delete", UserRepository::delete(&*self.inner, id))
            .await
    }
    async fn list(&self, after: Option<Id>, limit: usize) -> Result<Vec<User>> {
        self.measure(
            "users.list",
            UserRepository::list(&*self.inner, after, limit),
        )
        .await
    }
    async fn ping(&self) -> Result<()> {
        self.measure("users.ping", self.inner.ping()).await
    }
}

#[async_trait]
impl<S: SessionRepository> SessionRepository for MeasuredStore<S> {
    async fn create(&self, session: &Session, first_token: &RefreshToken) -> Result<()> {
        self.measure("sessions.create", self.inner.create(session, first_token))
            .await
    }
    async fn find(&self, id: &Id) -> Result<Option<Session>> {
        self.measure("sessions.find", SessionRepository::find(&*self.inner, id))
            .await
    }
    async fn find_refresh_token(&self, digest: &SecretDigest) -> Result<Option<RefreshToken>> {
        self.measure(
            "sessions.find_refresh_token",
            self.inner.find_refresh_token(digest),
        )
        .await
    }
    async fn rotate_refresh_token(
        &self,
        used: &SecretDigest,
        next: &RefreshToken,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.measure(
            "sessions.rotate_refresh_token",
            self.inner.rotate_refresh_token(used, next, now),
        )
        .await
    }
    async fn revoke(&self, id: &Id, now: DateTime<Utc>) -> Result<()> {
        self.measure(
            "sessions.revoke",
            SessionRepository::revoke(&*self.inner, id, now),
        )
        .await
    }
    async fn revoke_all_for_user(
        &self,
        user_id: &Id,
        keep: Option<Id>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.measure(
            "sessions.revoke_all_for_user",
            self.inner.revoke_all_for_user(user_id, keep, now),
        )
        .await
    }
    async fn delete_all_for_user(&self, user_id: &Id) -> Result<()> {
        self.measure(
            "sessions.delete_all_for_user",
            SessionRepository::delete_all_for_user(&*self.inner, user_id),
        )
        .await
    }
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64> {
        self.measure("sessions.purge_expired", self.inner.purge_expired(now))
            .await
    }
}

#[async_trait]
impl<S: DataRepository> DataRepository for MeasuredStore<S> {
    async fn insert(&self, entry: &DataEntry) -> Result<()> {
        self.measure("data.insert", DataRepository::insert(&*self.inner, entry))
            .await
    }
    async fn find(&self, user_id: &Id, key: &DataKey) -> Result<Option<DataEntry>> {
        self.measure(
            "data.find",
            DataRepository::find(&*self.inner, user_id, key),
        )
        .await
    }
    async fn replace_value(
        &self,
        expected: &DataEntry,
        value: &Value,
        now: DateTime<Utc>,
    ) -> Result<Option<DataEntry>> {
        self.measure(
            "data.replace_value",
            self.inner.replace_value(expected, value, now),
        )
        .await
    }
    async fn delete(&self, user_id: &Id, key: &DataKey) -> Result<Option<u64>> {
        self.measure(
            "data.delete",
            DataRepository::delete(&*self.inner, user_id, key),
        )
        .await
    }
    async fn list(
        &self,
        user_id: &Id,
        prefix: Option<String>,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<ListedEntry>> {
        self.measure(
            "data.list",
            DataRepository::list(&*self.inner, user_id, prefix, after, limit),
        )
        .await
    }
    async fn delete_all_for_user(&self, user_id: &Id) -> Result<()> {
        self.measure(
            "data.delete_all_for_user",
            DataRepository::delete_all_for_user(&*self.inner, user_id),
        )
        .await
    }
}

#[async_trait]
impl<S: ApiRepository> ApiRepository for MeasuredStore<S> {
    async fn insert(&self, api: &ApiDefinition) -> Result<()> {
        self.measure("apis.insert", ApiRepository::insert(&*self.inner, api))
            .await
    }
    async fn find(&self, id: &Id) -> Result<Option<ApiDefinition>> {
        self.measure("apis.find", ApiRepository::find(&*self.inner, id))
            .await
    }
    async fn find_by_name(&self, name: &ApiName) -> Result<Option<ApiDefinition>> {
        self.measure("apis.find_by_name", self.inner.find_by_name(name))
            .await
    }
    async fn list_for_owner(
        &self,
        owner_id: &Id,
        after: Option<Id>,
        limit: usize,
    ) -> Result<Vec<ApiDefinition>> {
        self.measure(
            "apis.list_for_owner",
            self.inner.list_for_owner(owner_id, after, limit),
        )
        .await
    }
    async fn update(&self, api: &ApiDefinition, expected_revision: u64) -> Result<bool> {
        self.measure(
            "apis.update",
            ApiRepository::update(&*self.inner, api, expected_revision),
        )
        .await
    }
    async fn delete(&self, id: &Id) -> Result<bool> {
        self.measure("apis.delete", ApiRepository::delete(&*self.inner, id))
            .await
    }
}

#[async_trait]
impl<S: ApiKeyRepository> ApiKeyRepository for MeasuredStore<S> {
    async fn insert(&self, key: &ApiKey) -> Result<()> {
        self.measure(
            "api_keys.insert",
            ApiKeyRepository::insert(&*self.inner, key),
        )
        .await
    }
    async fn find_by_public_id(&self, public_id: &str) -> Result<Option<ApiKey>> {
        self.measure(
            "api_keys.find_by_public_id",
            self.inner.find_by_public_id(public_id),
        )
        .await
    }
    async fn list_for_api(&self, api_id: &Id) -> Result<Vec<ApiKey>> {
        self.measure("api_keys.list_for_api", self.inner.list_for_api(api_id))
            .await
    }
    async fn revoke(&self, api_id: &Id, key_id: &Id, now: DateTime<Utc>) -> Result<Option<ApiKey>> {
        self.measure(
            "api_keys.revoke",
            ApiKeyRepository::revoke(&*self.inner, api_id, key_id, now),
        )
        .await
    }
    async fn delete(&self, api_id: &Id, key_id: &Id) -> Result<bool> {
        self.measure(
            "api_keys.delete",
            ApiKeyRepository::delete(&*self.inner, api_id, key_id),
        )
        .await
    }
    async fn delete_for_api(&self, api_id: &Id) -> Result<u64> {
        self.measure("api_keys.delete_for_api", self.inner.delete_for_api(api_id))
            .await
    }
}

#[async_trait]
impl<S: RecordRepository> RecordRepository for MeasuredStore<S> {
    async fn insert(&self, record: &Record) -> Result<()> {
        self.measure(
            "records.insert",
            RecordRepository::insert(&*self.inner, record),
        )
        .await
    }
    async fn find(&self, api_id: &Id, endpoint: &EndpointName, id: &Id) -> Result<Option<Record>> {
        self.measure(
            "records.find",
            RecordRepository::find(&*self.inner, api_id, endpoint, id),
        )
        .await
    }
    async fn list(
        &self,
        api_id: &Id,
        endpoint: &EndpointName,
        filters: &[FieldFilter],
        before: Option<Id>,
        bounds: ListBounds,
    ) -> Result<ListedRecords> {
        self.measure(
            "records.list",
            RecordRepository::list(&*self.inner, api_id, endpoint, filters, before, bounds),
        )
        .await
    }
    async fn replace(&self, record: &Record, expected_revision: u64) -> Result<bool> {
        self.measure(
            "records.replace",
            self.inner.replace(record, expected_revision),
        )
        .await
    }
    async fn delete(&self, api_id: &Id, endpoint: &EndpointName, id: &Id) -> Result<Option<u64>> {
        self.measure(
            "records.delete",
            RecordRepository::delete(&*self.inner, api_id, endpoint, id),
        )
        .await
    }
    async fn delete_batch_for_api(
        &self,
        api_id: &Id,
        limit: usize,
        max_bytes: u64,
    ) -> Result<RemovedRecords> {
        self.measure(
            "records.delete_batch_for_api",
            self.inner.delete_batch_for_api(api_id, limit, max_bytes),
        )
        .await
    }
}

#[async_trait]
impl<S: UsageRepository> UsageRepository for MeasuredStore<S> {
    async fn try_change(
        &self,
        user_id: &Id,
        change: UsageChange,
        limits: UsageLimits,
    ) -> Result<bool> {
        self.measure(
            "usage.try_change",
            self.inner.try_change(user_id, change, limits),
        )
        .await
    }
    async fn forget(&self, user_id: &Id) -> Result<()> {
        self.measure("usage.forget", self.inner.forget(user_id))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_measured_operation_is_declared_and_every_declared_one_measured() {
        let source = include_str!("store_metrics.rs");
        let body = &source[source
            .find("#[async_trait]\nimpl<S: UserRepository>")
            .expect("the first decorated port")
            ..source.find("#[cfg(test)]").expect("the tests")];
        let measured: Vec<&str> = body
            .split("self.measure(")
            .skip(1)
            .filter_map(|call| call.trim_start().strip_prefix('"')?.split('"').next())
            .collect();
        let mut sorted_measured = measured.clone();
        sorted_measured.sort_unstable();
        sorted_measured.dedup();
        assert_eq!(
            sorted_measured.len(),
            measured.len(),
            "an operation measured twice"
        );
        let mut declared: Vec<&str> = OPERATIONS.to_vec();
        declared.sort_unstable();
        assert_eq!(sorted_measured, declared);
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
