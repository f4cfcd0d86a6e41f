//! The throttle's windows in this process's memory: exact sliding windows (a time per
//! attempt), for a store that only one instance uses. Keys are keyed 64-bit digests (SipHash
//! with a per-process random key), never the identifier itself, and each table is capped, so
//! an attacker can neither grow memory with huge or endless identifiers nor predict
//! collisions.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use super::{Rule, RULES};

/// The most keys one table tracks; past it, expired windows are swept and then the
/// longest-quiet keys are forgotten.
pub(super) const MAX_TRACKED: usize = 100_000;

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

/// Every rule's windows, behind one lock: a check of several rules and their counting are
/// one step.
#[derive(Debug)]
pub(super) struct MemoryWindows {
    tables: Mutex<Vec<Windows>>,
    digest: RandomState,
}

impl MemoryWindows {
    /// Empty windows of the given `(limit, seconds)` per rule, in [`RULES`] order.
    pub(super) fn new(sizes: [(u32, u64); RULES.len()]) -> Self {
        Self {
            tables: Mutex::new(
                sizes
                    .iter()
                    .map(|&(limit, seconds)| Windows::new(limit, seconds))
                    .collect(),
            ),
            digest: RandomState::new(),
        }
    }

    /// The key `text` is counted under.
    pub(super) fn key(&self, text: &str) -> u64 {
        self.digest.hash_one(text)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Windows>> {
        // The tables stay consistent even if a holder panicked: keep using them.
        self.tables
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts `keys` (each in its rule's window) at `now`, or none of them if any window is
    /// full: then the seconds until the fullest allows one more.
    pub(super) fn count_all(&self, keys: &[(Rule, u64)], now: DateTime<Utc>) -> Option<u64> {
        let mut tables = self.lock();
        let wait = keys
            .iter()
            .filter_map(|&(rule, key)| tables[rule as usize].retry_after(key, now))
            .max();
        if wait.is_none() {
            for &(rule, key) in keys {
                tables[rule as usize].count(key, now);
            }
        }
        wait
    }

    /// Takes back the attempt of `key` counted at `at`.
    pub(super) fn refund(&self, rule: Rule, key: u64, at: DateTime<Utc>) {
        self.lock()[rule as usize].refund(key, at);
    }

    /// Forgets every attempt of `key`.
    pub(super) fn clear(&self, rule: Rule, key: u64) {
        self.lock()[rule as usize].attempts.remove(&key);
    }

    /// How many keys the tables track.
    pub(super) fn tracked_keys(&self) -> usize {
        self.lock().iter().map(|w| w.attempts.len()).sum()
    }
}
