//! Throttling of password guesses per account and per client address, and of registrations per
//! address (sliding windows, in memory).
//!
//! An attempt is counted *before* its password is hashed, atomically with the check, and
//! refunded if it succeeds: so a burst of concurrent guesses cannot all pass a check that
//! nobody has charged yet. Keys are keyed 64-bit digests (SipHash with a per-process random
//! key), never the identifier itself, and each table is capped, so an attacker can neither
//! grow memory with huge or endless identifiers nor predict collisions.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::error::{Error, Result};

/// How many attempts each window tolerates (`auth.throttle.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct ThrottleLimits {
    /// Failures on one account before it is throttled.
    pub account_failures: u32,
    /// Length of the account window, in seconds.
    pub account_window_secs: u64,
    /// Failures from one client address before it is throttled.
    pub address_failures: u32,
    /// Length of the address window, in seconds.
    pub address_window_secs: u64,
    /// Registrations (successful or not) from one address per window.
    pub registrations_per_address: u32,
    /// Length of the registration window, in seconds.
    pub registrations_window_secs: u64,
    /// Mail-sending requests (password reset, login code, verification) from one address per
    /// window.
    pub mail_requests_per_address: u32,
    /// Mail-sending requests for one account (or one unknown address) per window.
    pub mail_requests_per_account: u32,
    /// Length of the mail-request windows, in seconds.
    pub mail_window_secs: u64,
    /// Passkey ceremonies (registration or login starts) from one address per window: each
    /// stores its state for 5 minutes.
    pub ceremonies_per_address: u32,
    /// Length of the ceremony window, in seconds.
    pub ceremony_window_secs: u64,
}

impl Default for ThrottleLimits {
    fn default() -> Self {
        Self {
            account_failures: 10,
            account_window_secs: 15 * 60,
            address_failures: 100,
            address_window_secs: 5 * 60,
            registrations_per_address: 30,
            registrations_window_secs: 3600,
            mail_requests_per_address: 30,
            mail_requests_per_account: 5,
            mail_window_secs: 3600,
            ceremonies_per_address: 60,
            ceremony_window_secs: 60,
        }
    }
}

/// The most keys one table tracks; past it, expired windows are swept and then the
/// longest-quiet keys are forgotten.
const MAX_TRACKED: usize = 100_000;

/// One kind of window (accounts, addresses or registrations) for every key.
#[derive(Debug)]
struct Windows {
    limit: u32,
    length: Duration,
    attempts: HashMap<u64, VecDeque<DateTime<Utc>>>,
}

impl Windows {
    fn new(limit: u32, seconds: u64) -> Self {
        Self {
            limit,
            length: Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX / 1000)),
            attempts: HashMap::new(),
        }
    }

    /// Seconds until `key` may try again, or `None` if it may now.
    fn retry_after(&mut self, key: u64, now: DateTime<Utc>) -> Option<u64> {
        let attempts = self.attempts.get_mut(&key)?;
        while attempts.front().is_some_and(|t| *t + self.length <= now) {
            attempts.pop_front();
        }
        if attempts.len() < self.limit as usize {
            return None;
        }
        let oldest = attempts.front().copied()?;
        let wait = (oldest + self.length - now).num_seconds().max(1);
        Some(u64::try_from(wait).unwrap_or(1))
    }

    fn count(&mut self, key: u64, now: DateTime<Utc>) {
        if self.attempts.len() >= MAX_TRACKED && !self.attempts.contains_key(&key) {
            self.make_room(now);
        }
        let attempts = self.attempts.entry(key).or_default();
        attempts.push_back(now);
        while attempts.len() > self.limit as usize {
            attempts.pop_front();
        }
    }

    /// Drops expired windows, then, if still full, the tenth of keys quiet for longest.
    fn make_room(&mut self, now: DateTime<Utc>) {
        let length = self.length;
        self.attempts
            .retain(|_, times| times.back().is_some_and(|t| *t + length > now));
        if self.attempts.len() >= MAX_TRACKED {
            let mut quiet: Vec<(DateTime<Utc>, u64)> = self
                .attempts
                .iter()
                .filter_map(|(key, times)| times.back().map(|t| (*t, *key)))
                .collect();
            quiet.sort_unstable();
            for (_, key) in quiet.into_iter().take(MAX_TRACKED / 10) {
                self.attempts.remove(&key);
            }
        }
    }

    /// Takes back the attempt counted at `at`.
    fn refund(&mut self, key: u64, at: DateTime<Utc>) {
        if let Some(attempts) = self.attempts.get_mut(&key) {
            if let Some(position) = attempts.iter().rposition(|t| *t == at) {
                attempts.remove(position);
            }
        }
    }
}

/// A counted password attempt: refunded if the password turns out right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a successful attempt must be handed back to the throttle"]
pub struct Attempt {
    account: u64,
    address: u64,
    at: DateTime<Utc>,
}

#[derive(Debug)]
struct Tables {
    accounts: Windows,
    addresses: Windows,
    registrations: Windows,
    mail_addresses: Windows,
    mail_accounts: Windows,
    ceremonies: Windows,
}

/// How many requests the throttle has refused since start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThrottleRefusals {
    /// Password attempts (logins, password changes) refused.
    pub logins: u64,
    /// Registrations refused.
    pub registrations: u64,
}

/// Counts password attempts and registrations, and refuses them once a window is full.
/// Account keys are the account (or the identifier tried, for unknown accounts, so throttling
/// reveals nothing about which accounts exist); address keys are the client address.
#[derive(Debug)]
pub struct LoginThrottle {
    tables: Mutex<Tables>,
    digest: RandomState,
    login_refusals: AtomicU64,
    registration_refusals: AtomicU64,
}

impl LoginThrottle {
    /// A throttle with these limits and no attempts yet.
    pub fn new(limits: ThrottleLimits) -> Self {
        Self {
            tables: Mutex::new(Tables {
                accounts: Windows::new(limits.account_failures, limits.account_window_secs),
                addresses: Windows::new(limits.address_failures, limits.address_window_secs),
                registrations: Windows::new(
                    limits.registrations_per_address,
                    limits.registrations_window_secs,
                ),
                mail_addresses: Windows::new(
                    limits.mail_requests_per_address,
                    limits.mail_window_secs,
                ),
                mail_accounts: Windows::new(
                    limits.mail_requests_per_account,
                    limits.mail_window_secs,
                ),
                ceremonies: Windows::new(
                    limits.ceremonies_per_address,
                    limits.ceremony_window_secs,
                ),
            }),
            digest: RandomState::new(),
            login_refusals: AtomicU64::new(0),
            registration_refusals: AtomicU64::new(0),
        }
    }

    /// Password attempts and registrations refused so far (for metrics).
    pub fn refusals(&self) -> ThrottleRefusals {
        ThrottleRefusals {
            logins: self.login_refusals.load(Ordering::Relaxed),
            registrations: self.registration_refusals.load(Ordering::Relaxed),
        }
    }

    fn key(&self, text: &str) -> u64 {
        self.digest.hash_one(text)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        // The tables stay consistent even if a holder panicked: keep using them.
        self.tables
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts a password attempt on `account` from `address`, or refuses it with
    /// `Error::RateLimited` when either has used up its window. Check and count are one step.
    pub fn begin_attempt(
        &self,
        account: &str,
        address: &str,
        now: DateTime<Utc>,
    ) -> Result<Attempt> {
        let attempt = Attempt {
            account: self.key(account),
            address: self.key(address),
            at: now,
        };
        let mut tables = self.lock();
        let by_account = tables.accounts.retry_after(attempt.account, now);
        let by_address = tables.addresses.retry_after(attempt.address, now);
        if let Some(retry_after_secs) = by_account.max(by_address) {
            self.login_refusals.fetch_add(1, Ordering::Relaxed);
            return Err(Error::RateLimited { retry_after_secs });
        }
        tables.accounts.count(attempt.account, now);
        tables.addresses.count(attempt.address, now);
        Ok(attempt)
    }

    /// The attempt was right: forget the account's failures and refund the address.
    pub fn succeeded(&self, attempt: Attempt) {
        let mut tables = self.lock();
        tables.accounts.attempts.remove(&attempt.account);
        tables.addresses.refund(attempt.address, attempt.at);
    }

    /// Counts a registration from `address`, or refuses it when the address has used up its
    /// window. Check and count are one step.
    pub fn begin_registration(&self, address: &str, now: DateTime<Utc>) -> Result<()> {
        let key = self.key(address);
        let mut tables = self.lock();
        if let Some(retry_after_secs) = tables.registrations.retry_after(key, now) {
            self.registration_refusals.fetch_add(1, Ordering::Relaxed);
            return Err(Error::RateLimited { retry_after_secs });
        }
        tables.registrations.count(key, now);
        Ok(())
    }

    /// Counts a request that sends mail for `account` (an account id, or the address asked
    /// about) from `address`, or refuses it when either has used up its window; the same
    /// whether or not the account exists, so refusals tell nothing about accounts.
    pub fn begin_mail_request(
        &self,
        account: &str,
        address: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let (account, address) = (self.key(account), self.key(address));
        let mut tables = self.lock();
        let by_account = tables.mail_accounts.retry_after(account, now);
        let by_address = tables.mail_addresses.retry_after(address, now);
        if let Some(retry_after_secs) = by_account.max(by_address) {
            return Err(Error::RateLimited { retry_after_secs });
        }
        tables.mail_accounts.count(account, now);
        tables.mail_addresses.count(address, now);
        Ok(())
    }

    /// Counts a passkey ceremony started from `address`, or refuses it when the address has
    /// used up its window: every start stores a state, and login starts need no account.
    pub fn begin_ceremony(&self, address: &str, now: DateTime<Utc>) -> Result<()> {
        let key = self.key(address);
        let mut tables = self.lock();
        if let Some(retry_after_secs) = tables.ceremonies.retry_after(key, now) {
            return Err(Error::RateLimited { retry_after_secs });
        }
        tables.ceremonies.count(key, now);
        Ok(())
    }

    /// How many keys the tables track (for tests and metrics).
    pub fn tracked_keys(&self) -> usize {
        let tables = self.lock();
        tables.accounts.attempts.len()
            + tables.addresses.attempts.len()
            + tables.registrations.attempts.len()
            + tables.mail_addresses.attempts.len()
            + tables.ceremonies.attempts.len()
            + tables.mail_accounts.attempts.len()
    }
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
            registrations_per_address: 2,
            registrations_window_secs: 3600,
            mail_requests_per_address: 3,
            mail_requests_per_account: 2,
            mail_window_secs: 60,
            ceremonies_per_address: 2,
            ceremony_window_secs: 60,
        }
    }

    #[test]
    fn passkey_ceremonies_are_counted_per_address() {
        let throttle = LoginThrottle::new(limits());
        let now = Utc::now();
        throttle.begin_ceremony("10.0.0.1", now).expect("first");
        throttle.begin_ceremony("10.0.0.1", now).expect("second");
        assert!(matches!(
            throttle.begin_ceremony("10.0.0.1", now),
            Err(Error::RateLimited { .. })
        ));
        throttle
            .begin_ceremony("10.0.0.2", now)
            .expect("another address");
        throttle
            .begin_ceremony("10.0.0.1", now + Duration::seconds(61))
            .expect("a new window");
    }

    #[test]
    fn account_is_throttled_after_its_limit_until_the_window_passes() {
        let throttle = LoginThrottle::new(limits());
        let start = Utc::now();
        for i in 0..3 {
            assert!(throttle
                .begin_attempt("alice", &format!("10.0.0.{i}"), start)
                .is_ok());
        }
        match throttle.begin_attempt("alice", "10.0.0.9", start + Duration::seconds(10)) {
            Err(Error::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 50),
            other => panic!("expected rate limit, got {other:?}"),
        }
        assert!(throttle.begin_attempt("bob", "10.0.0.9", start).is_ok());
        assert!(throttle
            .begin_attempt("alice", "10.0.0.9", start + Duration::seconds(60))
            .is_ok());
    }

    #[test]
    fn concurrent_attempts_are_counted_before_they_are_checked_by_anyone_else() {
        let throttle = std::sync::Arc::new(LoginThrottle::new(limits()));
        let now = Utc::now();
        let passed: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..40)
                .map(|_| {
                    let throttle = throttle.clone();
                    scope.spawn(move || throttle.begin_attempt("alice", "10.0.0.1", now).is_ok())
                })
                .collect();
            handles
                .into_iter()
                .map(|h| usize::from(h.join().unwrap_or(false)))
                .sum()
        });
        assert_eq!(passed, 3);
    }

    #[test]
    fn address_is_throttled_across_accounts() {
        let throttle = LoginThrottle::new(limits());
        let now = Utc::now();
        for i in 0..5 {
            let _ = throttle.begin_attempt(&format!("user{i}"), "10.0.0.1", now);
        }
        assert!(matches!(
            throttle.begin_attempt("someone-else", "10.0.0.1", now),
            Err(Error::RateLimited { .. })
        ));
        assert!(throttle
            .begin_attempt("someone-else", "10.0.0.2", now)
            .is_ok());
    }

    #[test]
    fn success_resets_the_account_and_refunds_the_address() {
        let throttle = LoginThrottle::new(limits());
        let now = Utc::now();
        for _ in 0..2 {
            let _ = throttle.begin_attempt("alice", "10.0.0.1", now);
        }
        let right = throttle
            .begin_attempt("alice", "10.0.0.1", now)
            .expect("allowed");
        throttle.succeeded(right);
        for _ in 0..3 {
            assert!(throttle.begin_attempt("alice", "10.0.0.1", now).is_ok());
        }
        // Five attempts from the address were counted, one refunded: two more would exceed it.
        assert!(matches!(
            throttle.begin_attempt("bob", "10.0.0.1", now),
            Err(Error::RateLimited { .. })
        ));
    }

    #[test]
    fn registrations_have_their_own_window() {
        let throttle = LoginThrottle::new(limits());
        let now = Utc::now();
        assert!(throttle.begin_registration("10.0.0.1", now).is_ok());
        assert!(throttle.begin_registration("10.0.0.1", now).is_ok());
        assert!(matches!(
            throttle.begin_registration("10.0.0.1", now),
            Err(Error::RateLimited { .. })
        ));
        assert!(throttle.begin_registration("10.0.0.2", now).is_ok());
        assert!(throttle.begin_attempt("x", "10.0.0.1", now).is_ok());
    }

    #[test]
    fn tables_stay_bounded_under_endless_identifiers() {
        let throttle = LoginThrottle::new(ThrottleLimits {
            address_failures: u32::MAX,
            ..limits()
        });
        let now = Utc::now();
        for i in 0..(MAX_TRACKED + 5_000) {
            let _ = throttle.begin_attempt(&format!("unknown:{i}"), "10.0.0.1", now);
        }
        assert!(
            throttle.tracked_keys() <= MAX_TRACKED + 1,
            "{}",
            throttle.tracked_keys()
        );
    }
}
