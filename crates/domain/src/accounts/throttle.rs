//! Throttling of password guesses per account and per client address, of registrations, mail
//! requests and passkey ceremonies per address (§3, §8, §9), held for all instances together
//! (§12).
//!
//! An attempt is counted *before* its password is hashed, atomically with the check, and
//! refunded if it succeeds: so a burst of concurrent guesses cannot all pass a check that
//! nobody has charged yet. One instance counts in memory, exactly ([`memory`]); instances that
//! share a store count there ([`shared`]), so N of them allow what one allows.

mod memory;
mod shared;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use self::memory::MemoryWindows;
use self::shared::{SharedHit, SharedWindows};
use super::ports::ThrottleCounters;
use crate::crypto::SecretGenerator;
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

/// How many requests the throttle has refused since start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThrottleRefusals {
    /// Password attempts (logins, password changes) refused.
    pub logins: u64,
    /// Registrations refused.
    pub registrations: u64,
}

/// What is counted, each in a window of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// Password (and code) guesses per account.
    Accounts,
    /// Guesses per client address.
    Addresses,
    /// Registrations per address.
    Registrations,
    /// Mail requests per address.
    MailAddresses,
    /// Mail requests per account (or unknown address).
    MailAccounts,
    /// Passkey ceremonies per address.
    Ceremonies,
}

/// Every rule, in the order their windows are kept.
const RULES: [Rule; 6] = [
    Rule::Accounts,
    Rule::Addresses,
    Rule::Registrations,
    Rule::MailAddresses,
    Rule::MailAccounts,
    Rule::Ceremonies,
];

impl Rule {
    /// Its name in shared counters.
    fn name(self) -> &'static str {
        match self {
            Self::Accounts => "login-account",
            Self::Addresses => "login-address",
            Self::Registrations => "registration",
            Self::MailAddresses => "mail-address",
            Self::MailAccounts => "mail-account",
            Self::Ceremonies => "ceremony",
        }
    }

    /// Its `(limit, window in seconds)` under `limits`.
    fn size(self, limits: &ThrottleLimits) -> (u32, u64) {
        match self {
            Self::Accounts => (limits.account_failures, limits.account_window_secs),
            Self::Addresses => (limits.address_failures, limits.address_window_secs),
            Self::Registrations => (
                limits.registrations_per_address,
                limits.registrations_window_secs,
            ),
            Self::MailAddresses => (limits.mail_requests_per_address, limits.mail_window_secs),
            Self::MailAccounts => (limits.mail_requests_per_account, limits.mail_window_secs),
            Self::Ceremonies => (limits.ceremonies_per_address, limits.ceremony_window_secs),
        }
    }
}

/// One counted hit, as the windows that counted it know it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Hit {
    /// In memory: the key and the moment counted.
    Memory {
        rule: Rule,
        key: u64,
        at: DateTime<Utc>,
    },
    /// In the shared store.
    Shared(SharedHit),
}

/// A counted password attempt: handed back to [`LoginThrottle::succeeded`] if the password
/// turns out right.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a successful attempt must be handed back to the throttle"]
pub struct Attempt {
    account: Hit,
    address: Hit,
}

/// Where the windows are kept.
enum Windows {
    Memory(MemoryWindows),
    Shared(SharedWindows),
}

/// Counts password attempts, registrations, mail requests and ceremonies, and refuses them
/// once a window is full. Account keys are the account (or the identifier tried, for unknown
/// accounts, so throttling reveals nothing about which accounts exist); address keys are the
/// client address.
pub struct LoginThrottle {
    windows: Windows,
    limits: ThrottleLimits,
    login_refusals: AtomicU64,
    registration_refusals: AtomicU64,
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let place = match self.windows {
            Windows::Memory(_) => "memory",
            Windows::Shared(_) => "shared store",
        };
        f.debug_struct("LoginThrottle")
            .field("windows", &place)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl LoginThrottle {
    /// A throttle with these limits counting in this process's memory (one instance).
    pub fn new(limits: ThrottleLimits) -> Self {
        Self::with(
            Windows::Memory(MemoryWindows::new(RULES.map(|rule| rule.size(&limits)))),
            limits,
        )
    }

    /// A throttle with these limits counting in `counters`, which every instance shares;
    /// subjects are named there by their digest under `digests`.
    pub fn shared(
        limits: ThrottleLimits,
        counters: Arc<dyn ThrottleCounters>,
        digests: Arc<dyn SecretGenerator>,
    ) -> Self {
        Self::with(
            Windows::Shared(SharedWindows::new(counters, digests)),
            limits,
        )
    }

    fn with(windows: Windows, limits: ThrottleLimits) -> Self {
        Self {
            windows,
            limits,
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

    /// Counts one hit per `(rule, subject)`, all or none, in the order given (a shared store
    /// stops at the first full window): the hits, or the seconds to wait.
    async fn count(
        &self,
        subjects: &[(Rule, &str)],
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<Vec<Hit>, u64>> {
        match &self.windows {
            Windows::Memory(windows) => {
                let keys: Vec<(Rule, u64)> = subjects
                    .iter()
                    .map(|&(rule, subject)| (rule, windows.key(subject)))
                    .collect();
                Ok(match windows.count_all(&keys, now) {
                    Some(wait) => Err(wait),
                    None => Ok(keys
                        .into_iter()
                        .map(|(rule, key)| Hit::Memory { rule, key, at: now })
                        .collect()),
                })
            }
            Windows::Shared(windows) => {
                let mut hits = Vec::with_capacity(subjects.len());
                for &(rule, subject) in subjects {
                    match windows
                        .hit(rule, rule.size(&self.limits), subject, now)
                        .await?
                    {
                        Ok(hit) => hits.push(hit),
                        Err(wait) => {
                            // All or none: take back what this call counted.
                            for hit in &hits {
                                windows.refund(hit).await?;
                            }
                            return Ok(Err(wait));
                        }
                    }
                }
                Ok(Ok(hits.into_iter().map(Hit::Shared).collect()))
            }
        }
    }

    /// Counts `subjects` or answers `RateLimited`.
    async fn admit(&self, subjects: &[(Rule, &str)], now: DateTime<Utc>) -> Result<Vec<Hit>> {
        self.count(subjects, now)
            .await?
            .map_err(|retry_after_secs| Error::RateLimited { retry_after_secs })
    }

    /// Counts a password attempt on `account` from `address`, or refuses it with
    /// `Error::RateLimited` when either has used up its window. Check and count are one step.
    pub async fn begin_attempt(
        &self,
        account: &str,
        address: &str,
        now: DateTime<Utc>,
    ) -> Result<Attempt> {
        // The address first: once it is full, a flood of invented identifiers from it makes
        // no counter of its own in a shared store.
        let counted = self
            .admit(
                &[(Rule::Addresses, address), (Rule::Accounts, account)],
                now,
            )
            .await;
        if matches!(counted, Err(Error::RateLimited { .. })) {
            self.login_refusals.fetch_add(1, Ordering::Relaxed);
        }
        let mut hits = counted?.into_iter();
        match (hits.next(), hits.next()) {
            (Some(address), Some(account)) => Ok(Attempt { account, address }),
            _ => Err(Error::Internal("the throttle counted too few hits".into())),
        }
    }

    /// The attempt was right: forget the account's failures and refund the address. Best
    /// effort: a store that fails here only leaves the attempts counted.
    pub async fn succeeded(&self, attempt: Attempt) {
        match (&self.windows, attempt.account, attempt.address) {
            (
                Windows::Memory(windows),
                Hit::Memory { rule, key, .. },
                Hit::Memory {
                    rule: address_rule,
                    key: address,
                    at,
                },
            ) => {
                windows.clear(rule, key);
                windows.refund(address_rule, address, at);
            }
            (Windows::Shared(windows), Hit::Shared(account), Hit::Shared(address)) => {
                let _ = windows.clear(&account).await;
                let _ = windows.refund(&address).await;
            }
            _ => {}
        }
    }

    /// Counts a registration from `address`, or refuses it when the address has used up its
    /// window. Check and count are one step.
    pub async fn begin_registration(&self, address: &str, now: DateTime<Utc>) -> Result<()> {
        let counted = self.admit(&[(Rule::Registrations, address)], now).await;
        if matches!(counted, Err(Error::RateLimited { .. })) {
            self.registration_refusals.fetch_add(1, Ordering::Relaxed);
        }
        counted.map(|_| ())
    }

    /// Counts a request that sends mail for `account` (an account id, or the address asked
    /// about) from `address`, or refuses it when either has used up its window; the same
    /// whether or not the account exists, so refusals tell nothing about accounts.
    pub async fn begin_mail_request(
        &self,
        account: &str,
        address: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.admit(
            &[
                (Rule::MailAddresses, address),
                (Rule::MailAccounts, account),
            ],
            now,
        )
        .await
        .map(|_| ())
    }

    /// Counts a passkey ceremony started from `address`, or refuses it when the address has
    /// used up its window: every start stores a state, and login starts need no account.
    pub async fn begin_ceremony(&self, address: &str, now: DateTime<Utc>) -> Result<()> {
        self.admit(&[(Rule::Ceremonies, address)], now)
            .await
            .map(|_| ())
    }

    /// How many keys the in-memory tables track (for tests and metrics; 0 when shared).
    pub fn tracked_keys(&self) -> usize {
        match &self.windows {
            Windows::Memory(windows) => windows.tracked_keys(),
            Windows::Shared(_) => 0,
        }
    }
}

#[cfg(test)]
mod tests;
