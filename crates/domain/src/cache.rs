//! A small bounded map with an age limit, for what services may remember between requests
//! (verified API keys, compiled schemas). Thread-safe; never holds its lock across an await.

use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
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
}

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
        if self.capacity == 0 || self.max_age <= Duration::zero() {
            return;
        }
        let mut entries = self.lock();
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
            let Entries { slots, order } = &mut *entries;
            order.retain(|k| slots.contains_key(k));
        }
    }

    /// Forgets `key`.
    pub fn remove<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.lock().slots.remove(key);
    }

    /// Forgets every entry for which `doomed` holds.
    pub fn remove_where(&self, doomed: impl Fn(&K) -> bool) {
        self.lock().slots.retain(|k, _| !doomed(k));
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
