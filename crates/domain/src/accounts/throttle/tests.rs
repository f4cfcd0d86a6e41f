//! The throttle's rules, each checked on both kinds of windows: in memory, and in a shared
//! store (an in-memory fake of [`ThrottleCounters`], atomic as the real ones are).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Duration;

use super::memory::MAX_TRACKED;
use super::*;
use crate::crypto::SecretDigest;

fn limits() -> ThrottleLimits {
    ThrottleLimits {
        account_failures: 3,
        account_window_secs: 60,
        address_failures: 5,
        address_window_secs: 30,
        registrations_per_address: 2,
        registrations_window_secs: 3600,
        mail_requests_per_address: 3,
        mail_requests_per_account: 2,
        mail_window_secs: 60,
        ceremonies_per_address: 2,
        ceremony_window_secs: 60,
    }
}

/// Counters as a shared store keeps them: one lock per change, as one atomic update.
#[derive(Default)]
struct FakeCounters(Mutex<HashMap<String, i64>>);

#[async_trait]
impl ThrottleCounters for FakeCounters {
    async fn add(&self, counter: &str, amount: i64, _: DateTime<Utc>) -> Result<i64> {
        let mut counters = self.0.lock().expect("counters");
        let count = counters.entry(counter.to_owned()).or_default();
        *count += amount;
        Ok(*count)
    }
    async fn get(&self, counter: &str) -> Result<i64> {
        Ok(self
            .0
            .lock()
            .expect("counters")
            .get(counter)
            .copied()
            .unwrap_or(0))
    }
    async fn remove(&self, counters: &[String]) -> Result<()> {
        let mut all = self.0.lock().expect("counters");
        for counter in counters {
            all.remove(counter);
        }
        Ok(())
    }
}

/// Digests as the crypto adapter makes them, for names only.
struct Names;

impl SecretGenerator for Names {
    fn new_secret(&self) -> Result<String> {
        Ok("secret".into())
    }
    fn digest(&self, secret: &str) -> SecretDigest {
        SecretDigest(format!("d({secret})"))
    }
    fn new_public_id(&self) -> Result<String> {
        Ok("public".into())
    }
    fn matches(&self, secret: &str, digest: &SecretDigest) -> bool {
        self.digest(secret) == *digest
    }
}

/// Two instances sharing one store: both throttles count in the same counters.
fn two_sharing(limits: ThrottleLimits) -> (LoginThrottle, LoginThrottle) {
    let counters = Arc::new(FakeCounters::default());
    (
        LoginThrottle::shared(limits, counters.clone(), Arc::new(Names)),
        LoginThrottle::shared(limits, counters, Arc::new(Names)),
    )
}

/// A moment at the start of an hour, so fixed windows of 30 s, 60 s and 3600 s start there.
fn on_the_hour() -> DateTime<Utc> {
    let now = Utc::now().timestamp();
    DateTime::from_timestamp(now - now.rem_euclid(3600), 0).expect("a time")
}

/// Each kind of windows, twice where two instances share them.
fn every_kind(limits: ThrottleLimits) -> Vec<(&'static str, LoginThrottle, LoginThrottle)> {
    let (a, b) = two_sharing(limits);
    vec![
        (
            "memory",
            LoginThrottle::new(limits),
            LoginThrottle::new(limits),
        ),
        ("shared", a, b),
    ]
}

fn refused<T: std::fmt::Debug>(outcome: Result<T>) -> bool {
    matches!(outcome, Err(Error::RateLimited { .. }))
}

#[tokio::test]
async fn passkey_ceremonies_are_counted_per_address() {
    for (kind, throttle, _) in every_kind(limits()) {
        let now = on_the_hour();
        throttle
            .begin_ceremony("10.0.0.1", now)
            .await
            .expect("first");
        throttle
            .begin_ceremony("10.0.0.1", now)
            .await
            .expect("second");
        assert!(
            refused(throttle.begin_ceremony("10.0.0.1", now).await),
            "{kind}"
        );
        throttle
            .begin_ceremony("10.0.0.2", now)
            .await
            .expect("another address");
        throttle
            .begin_ceremony("10.0.0.1", now + Duration::seconds(121))
            .await
            .expect("a new window");
    }
}

#[tokio::test]
async fn account_is_throttled_after_its_limit_until_the_window_passes() {
    for (kind, throttle, _) in every_kind(limits()) {
        let start = on_the_hour();
        for i in 0..3 {
            let _ = throttle
                .begin_attempt("alice", &format!("10.0.0.{i}"), start)
                .await
                .expect("within the limit");
        }
        match throttle
            .begin_attempt("alice", "10.0.0.9", start + Duration::seconds(10))
            .await
        {
            Err(Error::RateLimited { retry_after_secs }) => {
                assert_eq!(retry_after_secs, 50, "{kind}");
            }
            other => panic!("{kind}: expected rate limit, got {other:?}"),
        }
        assert!(throttle
            .begin_attempt("bob", "10.0.0.9", start)
            .await
            .is_ok());
        // Memory forgets an attempt a window after it; shared windows weigh the previous
        // fixed window, so theirs is gone one window later at most.
        let later = if kind == "memory" { 60 } else { 120 };
        assert!(
            throttle
                .begin_attempt("alice", "10.0.0.9", start + Duration::seconds(later))
                .await
                .is_ok(),
            "{kind}"
        );
    }
}

/// The shared windows' weighting: attempts late in one fixed window still count early in the
/// next, and less as it goes on.
#[tokio::test]
async fn shared_windows_weigh_the_previous_window_by_what_it_still_covers() {
    let (throttle, _) = two_sharing(limits());
    let start = on_the_hour();
    for _ in 0..3 {
        let _ = throttle
            .begin_attempt("alice", "10.0.0.1", start + Duration::seconds(59))
            .await
            .expect("within the limit");
    }
    // 3 × 50/60 + 1 > 3 at 10 s into the next window…
    match throttle
        .begin_attempt("alice", "10.0.0.2", start + Duration::seconds(70))
        .await
    {
        Err(Error::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 10),
        other => panic!("expected rate limit, got {other:?}"),
    }
    // …and 3 × 40/60 + 1 ≤ 3 at 20 s.
    let _ = throttle
        .begin_attempt("alice", "10.0.0.2", start + Duration::seconds(80))
        .await
        .expect("enough of the previous window slid out");
}

#[tokio::test]
async fn concurrent_attempts_are_counted_before_they_are_checked_by_anyone_else() {
    for (kind, a, b) in every_kind(limits()) {
        let (a, b) = (Arc::new(a), Arc::new(b));
        let now = on_the_hour();
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                // Half on each instance (the memory ones share nothing, so only one is used).
                let throttle = if i % 2 == 0 || kind == "memory" {
                    a.clone()
                } else {
                    b.clone()
                };
                tokio::spawn(async move {
                    throttle
                        .begin_attempt("alice", "10.0.0.1", now)
                        .await
                        .is_ok()
                })
            })
            .collect();
        let mut passed = 0;
        for task in tasks {
            passed += usize::from(task.await.unwrap_or(false));
        }
        assert_eq!(passed, 3, "{kind}");
    }
}

/// Two instances on one store refuse the fourth guess wherever it arrives (§12).
#[tokio::test]
async fn instances_sharing_a_store_share_the_limit() {
    let (a, b) = two_sharing(limits());
    let now = on_the_hour();
    let _ = a.begin_attempt("alice", "10.0.0.1", now).await.expect("1");
    let _ = b.begin_attempt("alice", "10.0.0.2", now).await.expect("2");
    let _ = a.begin_attempt("alice", "10.0.0.3", now).await.expect("3");
    assert!(refused(b.begin_attempt("alice", "10.0.0.4", now).await));
    assert!(refused(a.begin_attempt("alice", "10.0.0.5", now).await));
    // A right password on either clears the account for both.
    let right = b
        .begin_attempt("bob", "10.0.0.6", now)
        .await
        .expect("another account");
    b.succeeded(right).await;
    b.begin_registration("10.0.0.1", now).await.expect("1");
    a.begin_registration("10.0.0.1", now).await.expect("2");
    assert!(refused(b.begin_registration("10.0.0.1", now).await));
}

#[tokio::test]
async fn address_is_throttled_across_accounts() {
    for (kind, throttle, _) in every_kind(limits()) {
        let now = on_the_hour();
        for i in 0..5 {
            let _ = throttle
                .begin_attempt(&format!("user{i}"), "10.0.0.1", now)
                .await;
        }
        assert!(
            refused(
                throttle
                    .begin_attempt("someone-else", "10.0.0.1", now)
                    .await
            ),
            "{kind}"
        );
        assert!(throttle
            .begin_attempt("someone-else", "10.0.0.2", now)
            .await
            .is_ok());
    }
}

#[tokio::test]
async fn success_resets_the_account_and_refunds_the_address() {
    for (kind, throttle, _) in every_kind(limits()) {
        let now = on_the_hour();
        for _ in 0..2 {
            let _ = throttle.begin_attempt("alice", "10.0.0.1", now).await;
        }
        let right = throttle
            .begin_attempt("alice", "10.0.0.1", now)
            .await
            .expect("allowed");
        throttle.succeeded(right).await;
        for _ in 0..3 {
            assert!(
                throttle
                    .begin_attempt("alice", "10.0.0.1", now)
                    .await
                    .is_ok(),
                "{kind}"
            );
        }
        // Five attempts from the address were counted, one refunded: two more would exceed it.
        assert!(
            refused(throttle.begin_attempt("bob", "10.0.0.1", now).await),
            "{kind}"
        );
    }
}

/// A refused attempt is not counted: the account refused by its address's window keeps its
/// own count, on both kinds.
#[tokio::test]
async fn a_refusal_counts_nothing() {
    for (kind, throttle, _) in every_kind(ThrottleLimits {
        address_failures: 1,
        ..limits()
    }) {
        let now = on_the_hour();
        let _ = throttle.begin_attempt("alice", "10.0.0.1", now).await;
        for _ in 0..5 {
            assert!(refused(
                throttle.begin_attempt("alice", "10.0.0.1", now).await
            ));
        }
        for i in 2..4 {
            assert!(
                throttle
                    .begin_attempt("alice", &format!("10.0.0.{i}"), now)
                    .await
                    .is_ok(),
                "{kind}: only one attempt of alice's was counted"
            );
        }
    }
}

#[tokio::test]
async fn registrations_have_their_own_window() {
    for (kind, throttle, _) in every_kind(limits()) {
        let now = on_the_hour();
        assert!(throttle.begin_registration("10.0.0.1", now).await.is_ok());
        assert!(throttle.begin_registration("10.0.0.1", now).await.is_ok());
        assert!(
            refused(throttle.begin_registration("10.0.0.1", now).await),
            "{kind}"
        );
        assert!(throttle.begin_registration("10.0.0.2", now).await.is_ok());
        assert!(throttle.begin_attempt("x", "10.0.0.1", now).await.is_ok());
    }
}

#[tokio::test]
async fn tables_stay_bounded_under_endless_identifiers() {
    let throttle = LoginThrottle::new(ThrottleLimits {
        address_failures: u32::MAX,
        ..limits()
    });
    let now = on_the_hour();
    for i in 0..(MAX_TRACKED + 5_000) {
        let _ = throttle
            .begin_attempt(&format!("unknown:{i}"), "10.0.0.1", now)
            .await;
    }
    assert!(
        throttle.tracked_keys() <= MAX_TRACKED + 1,
        "{}",
        throttle.tracked_keys()
    );
}

/// Once an address is full, guesses from it with endless invented identifiers make no
/// counters in a shared store (each would otherwise stay until its window ends).
#[tokio::test]
async fn a_full_address_makes_no_counters_for_the_identifiers_it_tries() {
    let counters = Arc::new(FakeCounters::default());
    let throttle = LoginThrottle::shared(
        ThrottleLimits {
            address_failures: 1,
            ..limits()
        },
        counters.clone(),
        Arc::new(Names),
    );
    let now = on_the_hour();
    let _ = throttle.begin_attempt("first", "10.0.0.1", now).await;
    for i in 0..50 {
        assert!(refused(
            throttle
                .begin_attempt(&format!("invented-{i}"), "10.0.0.1", now)
                .await
        ));
    }
    let made = counters.0.lock().expect("counters").len();
    assert_eq!(
        made, 2,
        "the address's counter and the first account's only"
    );
}
