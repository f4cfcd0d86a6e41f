//! Throttling of failed logins per account and per client address (sliding windows, in memory).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::error::{Error, Result};

/// How many failures each window tolerates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleLimits {
    /// Failures on one account before it is throttled.
    pub account_failures: u32,
    /// Length of the account window, in seconds.
    pub account_window_secs: u64,
    /// Failures from one client address before it is throttled.
    pub address_failures: u32,
    /// Length of the address window, in seconds.
    pub address_window_secs: u64,
}

impl Default for ThrottleLimits {
    fn default() -> Self {
        Self {
            account_failures: 10,
            account_window_secs: 15 * 60,
            address_failures: 100,
            address_window_secs: 5 * 60,
        }
    }
}

/// Above this many tracked keys, expired windows are swept on the next failure.
const SWEEP_THRESHOLD: usize = 10_000;

#[derive(Debug, Default)]
struct Windows {
    failures: HashMap<String, VecDeque<DateTime<Utc>>>,
}

impl Windows {
    fn retry_after(
        &mut self,
        key: &str,
        limit: u32,
        window: Duration,
        now: DateTime<Utc>,
    ) -> Option<u64> {
        let failures = self.failures.get_mut(key)?;
        while failures.front().is_some_and(|t| *t + window <= now) {
            failures.pop_front();
        }
        if failures.len() < limit as usize {
            return None;
        }
        let oldest = failures.front().copied()?;
        let wait = (oldest + window - now).num_seconds().max(1);
        Some(u64::try_from(wait).unwrap_or(1))
    }

    fn record(&mut self, key: String, limit: u32, window: Duration, now: DateTime<Utc>) {
        if self.failures.len() > SWEEP_THRESHOLD {
            self.failures
                .retain(|_, times| times.back().is_some_and(|t| *t + window > now));
        }
        let failures = self.failures.entry(key).or_default();
        failures.push_back(now);
        while failures.len() > limit as usize {
            failures.pop_front();
        }
    }
}

/// Counts failed logins and refuses further attempts once a window is full. Keys are the
/// account (or the identifier tried, for unknown accounts, so throttling reveals nothing about
/// which accounts exist) and the client address.
#[derive(Debug)]
pub struct LoginThrottle {
    limits: ThrottleLimits,
    accounts: Mutex<Windows>,
    addresses: Mutex<Windows>,
}

impl LoginThrottle {
    /// A throttle with these limits and no failures yet.
    pub fn new(limits: ThrottleLimits) -> Self {
        Self {
            limits,
            accounts: Mutex::new(Windows::default()),
            addresses: Mutex::new(Windows::default()),
        }
    }

    fn account_window(&self) -> Duration {
        Duration::seconds(i64::try_from(self.limits.account_window_secs).unwrap_or(i64::MAX / 1000))
    }

    fn address_window(&self) -> Duration {
        Duration::seconds(i64::try_from(self.limits.address_window_secs).unwrap_or(i64::MAX / 1000))
    }

    /// `Error::RateLimited` if the account or the address has used up its failures.
    pub fn check(&self, account: &str, address: &str, now: DateTime<Utc>) -> Result<()> {
        let by_account = lock(&self.accounts).retry_after(
            account,
            self.limits.account_failures,
            self.account_window(),
            now,
        );
        let by_address = lock(&self.addresses).retry_after(
            address,
            self.limits.address_failures,
            self.address_window(),
            now,
        );
        match by_account.max(by_address) {
            Some(retry_after_secs) => Err(Error::RateLimited { retry_after_secs }),
            None => Ok(()),
        }
    }

    /// Counts one failed login.
    pub fn record_failure(&self, account: &str, address: &str, now: DateTime<Utc>) {
        lock(&self.accounts).record(
            account.to_owned(),
            self.limits.account_failures,
            self.account_window(),
            now,
        );
        lock(&self.addresses).record(
            address.to_owned(),
            self.limits.address_failures,
            self.address_window(),
            now,
        );
    }

    /// Forgets the account's failures after a successful login.
    pub fn reset_account(&self, account: &str) {
        lock(&self.accounts).failures.remove(account);
    }
}

/// The throttle's maps stay consistent even if a holder panicked, so a poisoned lock is reused.
fn lock(windows: &Mutex<Windows>) -> std::sync::MutexGuard<'_, Windows> {
    windows
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ThrottleLimits {
        ThrottleLimits {
            account_failures: 3,
            account_window_secs: 60,
            address_failures: 5,
            address_window_secs: 30,
        }
    }

    #[test]
    fn account_is_throttled_after_its_limit_until_the_window_passes() {
        let throttle = LoginThrottle::new(limits());
        let start = Utc::now();
        for i in 0..3 {
            assert!(throttle
                .check("alice", &format!("10.0.0.{i}"), start)
                .is_ok());
            throttle.record_failure("alice", &format!("10.0.0.{i}"), start);
        }
        match throttle.check("alice", "10.0.0.9", start + Duration::seconds(10)) {
            Err(Error::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 50),
            other => panic!("expected rate limit, got {other:?}"),
        }
        assert!(throttle.check("bob", "10.0.0.9", start).is_ok());
        assert!(throttle
            .check("alice", "10.0.0.9", start + Duration::seconds(60))
            .is_ok());
    }

    #[test]
    fn address_is_throttled_across_accounts() {
        let throttle = LoginThrottle::new(limits());
        let now = Utc::now();
        for i in 0..5 {
            throttle.record_failure(&format!("user{i}"), "10.0.0.1", now);
        }
        assert!(matches!(
            throttle.check("someone-else", "10.0.0.1", now),
            Err(Error::RateLimited { .. })
        ));
        assert!(throttle.check("someone-else", "10.0.0.2", now).is_ok());
    }

    #[test]
    fn success_resets_the_account_but_not_the_address() {
        let throttle = LoginThrottle::new(limits());
        let now = Utc::now();
        for _ in 0..3 {
            throttle.record_failure("alice", "10.0.0.1", now);
        }
        throttle.reset_account("alice");
        assert!(throttle.check("alice", "10.0.0.2", now).is_ok());
    }
}
