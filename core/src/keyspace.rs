//! The keyspace: 16 databases of keys with values of five types and expiry in virtual time.
//!
//! Like Redis, each database keeps two tables: the main table `key → value` and an `expires`
//! table `key → deadline (ms)` holding only the keys that have a time to live. A key is
//! *logically* gone as soon as `now >= deadline`, even before it is removed:
//!
//! * **lazy expiry** — every lookup checks the deadline first and deletes a stale key
//!   (`expireIfNeeded` in Redis's db.c);
//! * **active expiry** — a periodic cycle samples keys that have a deadline and deletes the
//!   stale ones, repeating while more than a quarter of a sample was stale
//!   (`activeExpireCycle` in expire.c, 20 keys per sample, `hz` times a second).
//!
//! Time is never read here: `now` is handed in by the node, which gets it from its driver.
//!
//! Tables are insertion-ordered hash maps with a fixed hasher, so iteration order, `SCAN`
//! cursors and `RANDOMKEY` are the same for the same inputs on every run and platform.

use bytes::Bytes;
use indexmap::{IndexMap, IndexSet};
use rustc_hash::FxBuildHasher;
use std::collections::{BTreeSet, VecDeque};

pub type Map<K, V> = IndexMap<K, V, FxBuildHasher>;
pub type Set<K> = IndexSet<K, FxBuildHasher>;

/// Bytes kept inline when short (up to 22 — most keys and string values of a dataset), boxed
/// otherwise. A key or a string value then costs 24 bytes and, usually, no allocation of its
/// own, where a `Bytes` handle costs 32 bytes plus a heap block. Redis makes the same trade
/// with its embedded strings (`OBJ_ENCODING_EMBSTR`).
#[derive(Clone)]
pub enum CompactBytes {
    Inline { len: u8, data: [u8; CompactBytes::INLINE] },
    Boxed(Box<[u8]>),
}

impl CompactBytes {
    pub const INLINE: usize = 22;

    pub fn new(b: &[u8]) -> CompactBytes {
        if b.len() <= Self::INLINE {
            let mut data = [0u8; Self::INLINE];
            data[..b.len()].copy_from_slice(b);
            CompactBytes::Inline { len: b.len() as u8, data }
        } else {
            CompactBytes::Boxed(b.into())
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match self {
            CompactBytes::Inline { len, data } => &data[..*len as usize],
            CompactBytes::Boxed(b) => b,
        }
    }

    /// A `Bytes` copy, for replies and APIs that hand values out.
    pub fn to_bytes(&self) -> Bytes {
        Bytes::copy_from_slice(self.as_bytes())
    }
}

impl std::ops::Deref for CompactBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl std::borrow::Borrow<[u8]> for CompactBytes {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// Hashes exactly as `[u8]` does, so maps keyed by it can be queried with `&[u8]`.
impl std::hash::Hash for CompactBytes {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state)
    }
}

impl PartialEq for CompactBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}
impl Eq for CompactBytes {}

impl std::fmt::Debug for CompactBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Bytes::copy_from_slice(self.as_bytes()).fmt(f)
    }
}

impl From<&[u8]> for CompactBytes {
    fn from(b: &[u8]) -> Self {
        CompactBytes::new(b)
    }
}
impl From<Bytes> for CompactBytes {
    fn from(b: Bytes) -> Self {
        CompactBytes::new(&b)
    }
}
impl From<&Bytes> for CompactBytes {
    fn from(b: &Bytes) -> Self {
        CompactBytes::new(b)
    }
}
impl From<Vec<u8>> for CompactBytes {
    fn from(b: Vec<u8>) -> Self {
        if b.len() <= Self::INLINE {
            CompactBytes::new(&b)
        } else {
            CompactBytes::Boxed(b.into_boxed_slice())
        }
    }
}

/// A sorted set: `member → score` for lookups and an ordered index for ranges, as Redis pairs
/// a dict with a skiplist.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SortedSet {
    pub scores: Map<Bytes, f64>,
    pub ordered: BTreeSet<(Score, Bytes)>,
}

/// A score with a total order (scores are never NaN: Redis rejects NaN on input).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Score(pub f64);
impl Eq for Score {}
#[allow(clippy::derive_ord_xor_partial_ord)]
impl Ord for Score {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.partial_cmp(&other.0).unwrap_or(std::cmp::Ordering::Equal)
    }
}

impl SortedSet {
    pub fn len(&self) -> usize {
        self.scores.len()
    }
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }
    /// Insert or update; returns the previous score.
    pub fn insert(&mut self, member: Bytes, score: f64) -> Option<f64> {
        let old = self.scores.insert(member.clone(), score);
        if let Some(o) = old {
            if o == score {
                return old;
            }
            self.ordered.remove(&(Score(o), member.clone()));
        }
        self.ordered.insert((Score(score), member));
        old
    }
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let (m, s) = self.scores.swap_remove_entry(member)?;
        self.ordered.remove(&(Score(s), m));
        Some(s)
    }
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.scores.get(member).copied()
    }
    /// 0-based rank in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let s = self.score(member)?;
        let key = (Score(s), Bytes::copy_from_slice(member));
        Some(self.ordered.range(..key).count())
    }
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&Bytes, f64)> {
        self.ordered.iter().map(|(s, m)| (m, s.0))
    }
}

/// A value of one of the five types the tutorials use.
///
/// Strings are [`CompactBytes`] and the hash-table types are boxed, so the enum is 32 bytes:
/// a plain string value — most keys — fits in the table entry itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(CompactBytes),
    List(VecDeque<Bytes>),
    Hash(Box<Map<Bytes, Bytes>>),
    Set(Box<Set<Bytes>>),
    ZSet(Box<SortedSet>),
}

impl Value {
    /// The name `TYPE` replies with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// The encoding `OBJECT ENCODING` reports in Redis 7.0, derived from size thresholds
    /// (default `*-max-listpack-*` / `set-max-intset-entries` settings).
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => {
                if s.len() <= 20 && crate::resp::parse_i64(s).is_some() {
                    "int"
                } else if s.len() <= 44 {
                    "embstr"
                } else {
                    "raw"
                }
            }
            Value::List(_) => "quicklist",
            Value::Hash(h) => {
                if h.len() <= 128 && h.iter().all(|(k, v)| k.len() <= 64 && v.len() <= 64) {
                    "listpack"
                } else {
                    "hashtable"
                }
            }
            Value::Set(s) => {
                if s.len() <= 512 && s.iter().all(|m| crate::resp::parse_i64(m).is_some()) {
                    "intset"
                } else {
                    "hashtable"
                }
            }
            Value::ZSet(z) => {
                if z.len() <= 128 && z.scores.keys().all(|m| m.len() <= 64) {
                    "listpack"
                } else {
                    "skiplist"
                }
            }
        }
    }

    /// Rough memory footprint in bytes, for `INFO memory` and `MEMORY USAGE`.
    pub fn approx_size(&self) -> usize {
        const OBJ: usize = 16;
        match self {
            Value::Str(s) => OBJ + s.len(),
            Value::List(l) => OBJ + l.iter().map(|e| e.len() + 11).sum::<usize>(),
            Value::Hash(h) => OBJ + h.iter().map(|(k, v)| k.len() + v.len() + 24).sum::<usize>(),
            Value::Set(s) => OBJ + s.iter().map(|m| m.len() + 16).sum::<usize>(),
            Value::ZSet(z) => OBJ + z.scores.keys().map(|m| 2 * m.len() + 48).sum::<usize>(),
        }
    }
}

/// One numbered database (`SELECT n`).
#[derive(Debug, Clone, Default)]
pub struct Db {
    pub entries: Map<CompactBytes, Value>,
    /// Deadlines in ms of virtual time, only for keys with a TTL.
    pub expires: Map<CompactBytes, u64>,
}

impl Db {
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// True when `key` has a deadline that has passed.
    fn is_stale(&self, key: &[u8], now: u64) -> bool {
        !self.expires.is_empty() && self.expires.get(key).is_some_and(|&at| at <= now)
    }

    /// Remove `key` if its deadline has passed. Returns true when it was removed.
    pub fn expire_if_needed(&mut self, key: &[u8], now: u64) -> bool {
        if self.is_stale(key, now) {
            self.remove(key);
            true
        } else {
            false
        }
    }

    pub fn get(&mut self, key: &[u8], now: u64) -> Option<&Value> {
        self.expire_if_needed(key, now);
        self.entries.get(key)
    }

    pub fn get_mut(&mut self, key: &[u8], now: u64) -> Option<&mut Value> {
        self.expire_if_needed(key, now);
        self.entries.get_mut(key)
    }

    pub fn contains(&mut self, key: &[u8], now: u64) -> bool {
        self.get(key, now).is_some()
    }

    /// Set a value, clearing any TTL (what `SET` without `KEEPTTL` does).
    pub fn set(&mut self, key: impl Into<CompactBytes>, value: Value) {
        let key = key.into();
        if !self.expires.is_empty() {
            self.expires.swap_remove(key.as_bytes());
        }
        self.entries.insert(key, value);
    }

    /// Set a value, keeping the key's TTL if it had one.
    pub fn set_keep_ttl(&mut self, key: impl Into<CompactBytes>, value: Value) {
        self.entries.insert(key.into(), value);
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Value> {
        let v = self.entries.swap_remove(key)?;
        if !self.expires.is_empty() {
            self.expires.swap_remove(key);
        }
        Some(v)
    }

    pub fn set_expire(&mut self, key: &[u8], at_ms: u64) {
        if let Some((k, _)) = self.entries.get_key_value(key) {
            self.expires.insert(k.clone(), at_ms);
        }
    }

    pub fn persist(&mut self, key: &[u8]) -> bool {
        self.expires.swap_remove(key).is_some()
    }

    pub fn expire_at(&self, key: &[u8]) -> Option<u64> {
        self.expires.get(key).copied()
    }

    /// Get the value at `key`, creating it with `make` when missing.
    pub fn get_or_insert_with(&mut self, key: &[u8], now: u64, make: impl FnOnce() -> Value) -> &mut Value {
        self.expire_if_needed(key, now);
        self.entries.entry(CompactBytes::new(key)).or_insert_with(make)
    }

    /// Drop `key` if its collection value has become empty (Redis deletes empty
    /// lists, hashes, sets and sorted sets).
    pub fn remove_if_empty(&mut self, key: &[u8]) -> bool {
        let empty = match self.entries.get(key) {
            Some(Value::List(l)) => l.is_empty(),
            Some(Value::Hash(h)) => h.is_empty(),
            Some(Value::Set(s)) => s.is_empty(),
            Some(Value::ZSet(z)) => z.is_empty(),
            _ => false,
        };
        if empty {
            self.remove(key);
        }
        empty
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.expires.clear();
    }

    /// One round of active expiry: look at up to `sample` keys with a TTL starting at
    /// `cursor` and delete the stale ones. Returns (looked at, expired, next cursor).
    /// The keys it deletes are appended to `deleted`, when given (a master propagates them).
    pub fn active_expire_sample(
        &mut self,
        now: u64,
        sample: usize,
        cursor: usize,
        mut deleted: Option<&mut Vec<Bytes>>,
    ) -> (usize, usize, usize) {
        let mut looked = 0;
        let mut expired = 0;
        let mut i = if self.expires.is_empty() { 0 } else { cursor % self.expires.len() };
        while looked < sample && !self.expires.is_empty() {
            if i >= self.expires.len() {
                i = 0;
            }
            let (key, &at) = self.expires.get_index(i).unwrap();
            looked += 1;
            if at <= now {
                let key = key.clone();
                self.remove(&key);
                if let Some(d) = deleted.as_deref_mut() {
                    d.push(Bytes::copy_from_slice(&key));
                }
                expired += 1;
                // swap_remove moved the last key into slot i: look at it next.
            } else {
                i += 1;
            }
            if looked >= self.expires.len() + expired {
                break;
            }
        }
        (looked, expired, i)
    }

    pub fn approx_memory(&self) -> usize {
        self.entries.iter().map(|(k, v)| k.len() + v.approx_size() + 40).sum::<usize>() + self.expires.len() * 32
    }
}

/// All databases of a node.
#[derive(Debug, Clone)]
pub struct Keyspace {
    pub dbs: Vec<Db>,
}

impl Keyspace {
    pub fn new(databases: usize) -> Self {
        Keyspace { dbs: (0..databases.max(1)).map(|_| Db::default()).collect() }
    }
    pub fn total_keys(&self) -> usize {
        self.dbs.iter().map(Db::len).sum()
    }
    pub fn flush_all(&mut self) {
        for db in &mut self.dbs {
            db.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazy_expiry_removes_on_lookup() {
        let mut db = Db::default();
        db.set(Bytes::from("k"), Value::Str(CompactBytes::new(b"v")));
        db.set_expire(b"k", 1000);
        assert!(db.get(b"k", 999).is_some());
        assert!(db.get(b"k", 1000).is_none());
        assert!(db.entries.is_empty() && db.expires.is_empty());
    }

    #[test]
    fn active_expiry_deletes_only_stale_keys() {
        let mut db = Db::default();
        for i in 0..100 {
            let k = Bytes::from(format!("k{i}"));
            db.set(k.clone(), Value::Str(CompactBytes::new(b"v")));
            db.set_expire(&k, if i % 2 == 0 { 10 } else { 1000 });
        }
        let mut cursor = 0;
        for _ in 0..20 {
            let (_, _, c) = db.active_expire_sample(500, 20, cursor, None);
            cursor = c;
        }
        assert_eq!(db.len(), 50);
        assert!(db.expires.values().all(|&at| at == 1000));
    }

    #[test]
    fn compact_bytes_inline_and_boxed() {
        assert_eq!(std::mem::size_of::<CompactBytes>(), 24);
        assert_eq!(std::mem::size_of::<Value>(), 32);
        let short = CompactBytes::new(b"key:123456");
        assert!(matches!(short, CompactBytes::Inline { .. }));
        assert_eq!(&short[..], b"key:123456");
        let long = CompactBytes::from(vec![7u8; 100]);
        assert!(matches!(long, CompactBytes::Boxed(_)));
        let mut m: Map<CompactBytes, u8> = Map::default();
        m.insert(short.clone(), 1);
        m.insert(long, 2);
        assert_eq!(m.get(&b"key:123456"[..]), Some(&1));
        assert_eq!(m.get(&[7u8; 100][..]), Some(&2));
    }

    #[test]
    fn sorted_set_orders_by_score_then_member() {
        let mut z = SortedSet::default();
        z.insert(Bytes::from("b"), 1.0);
        z.insert(Bytes::from("a"), 1.0);
        z.insert(Bytes::from("c"), 0.5);
        let order: Vec<_> = z.iter().map(|(m, _)| m.clone()).collect();
        assert_eq!(order, vec![Bytes::from("c"), Bytes::from("a"), Bytes::from("b")]);
        assert_eq!(z.rank(b"b"), Some(2));
        z.insert(Bytes::from("b"), -1.0);
        assert_eq!(z.rank(b"b"), Some(0));
        assert_eq!(z.remove(b"a"), Some(1.0));
        assert_eq!(z.len(), 2);
    }
}
