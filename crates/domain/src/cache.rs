//! A small bounded map with an age limit, for what services may remember between requests
//! (verified API keys, compiled schemas). Thread-safe; never holds its lock across an await.

use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

struct Slot<V> {
    value: V,
    stored_at: DateTime<Utc>,
}

struct Entries<K, V> {
    slots: HashMap<K, Slot<V>>,
    /// Insertion order, oldest first, for eviction; may hold keys already removed.
    order: VecDeque<K>,
}

/// Remembers up to `capacity` values, each for at most `max_age`; the oldest goes first when
/// full.
pub struct BoundedCache<K, V> {
    entries: Mutex<Entries<K, V>>,
    capacity: usize,
    max_age: Duration,
    /// Counts removals, so that a value read from the store before a removal is not cached
    /// after it (see [`Self::ticket`]).
    removals: AtomicU64,
}

/// When a read that may fill a [`BoundedCache`] began: see [`BoundedCache::ticket`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheTicket(u64);

impl<K: Eq + Hash + Clone, V: Clone> BoundedCache<K, V> {
    /// An empty cache; a `capacity` of 0 remembers nothing.
    pub fn new(capacity: usize, max_age: Duration) -> Self {
        Self {
            entries: Mutex::new(Entries {
                slots: HashMap::new(),
                order: VecDeque::new(),
            }),
            capacity,
            max_age,
            removals: AtomicU64::new(0),
        }
    }

    /// Taken before reading a value from the store, and handed to [`Self::insert_unless_removed`]
    /// after: a revocation that revokes in the store and then removes from the cache can then
    /// never be undone by a read that saw the store before the revocation and cached after it.
    pub fn ticket(&self) -> CacheTicket {
        CacheTicket(self.removals.load(Ordering::SeqCst))
    }

    /// Stores `value` like [`Self::insert`], unless any entry was removed since `ticket` was
    /// taken (the value may be stale then: it is simply not cached).
    pub fn insert_unless_removed(&self, key: K, value: V, now: DateTime<Utc>, ticket: CacheTicket) {
        let mut entries = self.lock();
        // Removals count under the same lock, so none can slip between check and insert.
        if self.removals.load(Ordering::SeqCst) == ticket.0 {
            self.insert_into(&mut entries, key, value, now);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries<K, V>> {
        // A panic while holding the lock cannot leave the map inconsistent: keep using it.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The value stored under `key`, if it is younger than the age limit at `now`.
    pub fn get<Q>(&self, key: &Q, now: DateTime<Utc>) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut entries = self.lock();
        let slot = entries.slots.get(key)?;
        if now - slot.stored_at < self.max_age {
            return Some(slot.value.clone());
        }
        entries.slots.remove(key);
        None
    }

    /// Stores `value` under `key` at `now`, evicting the oldest entries beyond capacity.
    pub fn insert(&self, key: K, value: V, now: DateTime<Utc>) {
        let mut entries = self.lock();
        self.insert_into(&mut entries, key, value, now);
    }

    fn insert_into(&self, entries: &mut Entries<K, V>, key: K, value: V, now: DateTime<Utc>) {
        if self.capacity == 0 || self.max_age <= Duration::zero() {
            return;
        }
        let slot = Slot {
            value,
            stored_at: now,
        };
        if entries.slots.insert(key.clone(), slot).is_none() {
            entries.order.push_back(key);
        }
        while entries.slots.len() > self.capacity {
            match entries.order.pop_front() {
                Some(oldest) => {
                    entries.slots.remove(&oldest);
                }
                None => break,
            }
        }
        // Keys removed by `remove` linger in `order`; compact when they dominate.
        if entries.order.len() > self.capacity.saturating_mul(2) {
            let Entries { slots, order } = entries;
            order.retain(|k| slots.contains_key(k));
        }
    }

    /// Forgets `key`.
    pub fn remove<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut entries = self.lock();
        self.removals.fetch_add(1, Ordering::SeqCst);
        entries.slots.remove(key);
    }

    /// Forgets every entry for which `doomed` holds.
    pub fn remove_where(&self, doomed: impl Fn(&K) -> bool) {
        let mut entries = self.lock();
        self.removals.fetch_add(1, Ordering::SeqCst);
        entries.slots.retain(|k, _| !doomed(k));
    }

    /// How many entries are held (fresh or not).
    pub fn len(&self) -> usize {
        self.lock().slots.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_that_began_before_a_removal_is_not_cached_after_it() {
        let cache: BoundedCache<String, u8> = BoundedCache::new(8, Duration::seconds(60));
        let now = DateTime::from_timestamp(1_800_000_000, 0).expect("a time");
        let before = cache.ticket();
        cache.remove("session");
        cache.insert_unless_removed("session".into(), 1, now, before);
        assert_eq!(
            cache.get("session", now),
            None,
            "the stale read is not cached"
        );
        let after = cache.ticket();
        cache.insert_unless_removed("session".into(), 2, now, after);
        assert_eq!(cache.get("session", now), Some(2));
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("valid time")
    }

    #[test]
    fn entries_expire_and_the_oldest_is_evicted() {
        let cache = BoundedCache::new(2, Duration::seconds(2));
        cache.insert("a", 1, at(0));
        cache.insert("b", 2, at(1));
        assert_eq!(cache.get(&"a", at(1)), Some(1));
        assert_eq!(cache.get(&"a", at(2)), None, "expired after two seconds");
        cache.insert("c", 3, at(2));
        cache.insert("d", 4, at(2));
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&"b", at(2)), None, "evicted as the oldest");
        assert_eq!(cache.get(&"d", at(2)), Some(4));
        cache.remove(&"d");
        assert_eq!(cache.get(&"d", at(2)), None);
        cache.remove_where(|k| *k == "c");
        assert!(cache.is_empty());
    }

    #[test]
    fn a_zero_age_limit_remembers_nothing() {
        let cache = BoundedCache::new(10, Duration::zero());
        cache.insert("a", 1, at(0));
        assert_eq!(cache.get(&"a", at(0)), None);
    }

    #[test]
    fn stays_bounded_under_churn() {
        let cache = BoundedCache::new(8, Duration::seconds(60));
        for i in 0..10_000 {
            cache.insert(i, i, at(0));
            if i % 3 == 0 {
                cache.remove(&i);
            }
        }
        assert!(cache.len() <= 8);
        assert!(cache.lock().order.len() <= 17);
    }
}
