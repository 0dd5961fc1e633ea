//! A small map bounded in entries that forgets the least recently used one first, and counts
//! its hits, misses and evictions (exported on `/metrics`, see [`crate::telemetry`]).

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// At most `capacity` entries; a lookup or an insert makes an entry the most recently used,
/// and an insert into a full cache evicts the least recently used. Values are handed out as
/// clones (hold `Arc`s). Capacity 0 keeps nothing.
pub struct Bounded<K, V> {
    capacity: usize,
    inner: Mutex<Inner<K, V>>,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

struct Inner<K, V> {
    /// Each entry with its last use.
    map: HashMap<K, (V, u64)>,
    /// Last use → key: the first is the least recently used.
    order: BTreeMap<u64, K>,
    tick: u64,
}

/// What a cache did so far, and holds now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
    pub entries: usize,
    pub capacity: usize,
}

impl<K: Eq + Hash + Clone, V: Clone> Bounded<K, V> {
    pub fn new(capacity: usize) -> Self {
        Bounded {
            capacity,
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                order: BTreeMap::new(),
                tick: 0,
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K, V>> {
        // every change below leaves the map and the order consistent before it can panic
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value of `key` (a hit, now the most recently used), or `None` (a miss).
    pub fn get(&self, key: &K) -> Option<V> {
        let found = self.lock().touch(key);
        self.count(found.is_some());
        found
    }

    /// The value of `key`, made by `make` and inserted when it is missing (a miss).
    pub fn get_or_insert_with(&self, key: K, make: impl FnOnce() -> V) -> V {
        let mut inner = self.lock();
        if let Some(v) = inner.touch(&key) {
            self.count(true);
            return v;
        }
        self.count(false);
        let v = make();
        self.put(&mut inner, key, v.clone());
        v
    }

    /// Inserts or replaces `key`'s value, evicting the least recently used entry when full.
    pub fn insert(&self, key: K, value: V) {
        let mut inner = self.lock();
        self.put(&mut inner, key, value);
    }

    fn put(&self, inner: &mut Inner<K, V>, key: K, value: V) {
        if self.capacity == 0 {
            return;
        }
        inner.tick += 1;
        let tick = inner.tick;
        if let Some((_, last)) = inner.map.remove(&key) {
            inner.order.remove(&last);
        } else if inner.map.len() >= self.capacity
            && let Some((_, oldest)) = inner.order.pop_first()
        {
            inner.map.remove(&oldest);
            self.evictions.fetch_add(1, Ordering::Relaxed);
        }
        inner.order.insert(tick, key.clone());
        inner.map.insert(key, (value, tick));
    }

    fn count(&self, hit: bool) {
        let counter = if hit { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            entries: self.lock().map.len(),
            capacity: self.capacity,
        }
    }
}

impl<K: Eq + Hash + Clone, V: Clone> Inner<K, V> {
    /// `key`'s value, made the most recently used.
    fn touch(&mut self, key: &K) -> Option<V> {
        self.tick += 1;
        let tick = self.tick;
        let (value, last) = self.map.get_mut(key)?;
        let previous = std::mem::replace(last, tick);
        let value = value.clone();
        if let Some(k) = self.order.remove(&previous) {
            self.order.insert(tick, k);
        }
        Some(value)
    }
}

/// Locks a cache slot holding a copy of database state; a slot poisoned by a panic is emptied,
/// so that the next use reads the state again instead of trusting a copy left half-changed.
pub fn lock_slot<T>(slot: &Mutex<Option<T>>) -> std::sync::MutexGuard<'_, Option<T>> {
    match slot.lock() {
        Ok(guard) => guard,
        Err(poisoned) => {
            let mut guard = poisoned.into_inner();
            *guard = None;
            guard
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lookup_counts_a_hit_or_a_miss() {
        let c = Bounded::new(4);
        assert_eq!(c.get(&1), None::<&str>);
        c.insert(1, "one");
        assert_eq!(c.get(&1), Some("one"));
        assert_eq!(c.get(&2), None);
        let s = c.stats();
        assert_eq!((s.hits, s.misses, s.evictions), (1, 2, 0));
        assert_eq!((s.entries, s.capacity), (1, 4));
    }

    #[test]
    fn a_full_cache_evicts_the_least_recently_used() {
        let c = Bounded::new(2);
        c.insert("a", 1);
        c.insert("b", 2);
        // a is used again: b is now the least recently used
        assert_eq!(c.get(&"a"), Some(1));
        c.insert("c", 3);
        assert_eq!(c.get(&"b"), None);
        assert_eq!(c.get(&"a"), Some(1));
        assert_eq!(c.get(&"c"), Some(3));
        let s = c.stats();
        assert_eq!((s.evictions, s.entries), (1, 2));
    }

    #[test]
    fn replacing_a_value_evicts_nothing() {
        let c = Bounded::new(2);
        c.insert("a", 1);
        c.insert("b", 2);
        c.insert("a", 10);
        assert_eq!(c.get(&"a"), Some(10));
        assert_eq!(c.get(&"b"), Some(2));
        assert_eq!(c.stats().evictions, 0);
        // b was used last: a goes
        c.insert("c", 3);
        assert_eq!(c.get(&"a"), None);
    }

    #[test]
    fn get_or_insert_with_makes_a_missing_value_once() {
        let c = Bounded::new(2);
        let mut made = 0;
        for _ in 0..3 {
            let v = c.get_or_insert_with("k", || {
                made += 1;
                7
            });
            assert_eq!(v, 7);
        }
        assert_eq!(made, 1);
        let s = c.stats();
        assert_eq!((s.hits, s.misses, s.entries), (2, 1, 1));
    }

    #[test]
    fn capacity_one_keeps_the_last_entry() {
        let c = Bounded::new(1);
        c.insert(1, 'a');
        c.insert(2, 'b');
        assert_eq!(c.get(&1), None);
        assert_eq!(c.get(&2), Some('b'));
        let s = c.stats();
        assert_eq!((s.entries, s.evictions), (1, 1));
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let c = Bounded::new(0);
        c.insert(1, 'a');
        assert_eq!(c.get_or_insert_with(1, || 'b'), 'b');
        assert_eq!(c.get(&1), None);
        let s = c.stats();
        assert_eq!((s.entries, s.evictions, s.hits, s.misses), (0, 0, 0, 2));
    }
}
