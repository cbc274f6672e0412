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

pub mod access;

use crate::keyspace::access::AccessClock;
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
///
/// A string *value* also carries the [`StrEncoding`] Redis would give it; it lives in spare
/// bits (the top bits of the inline length, a byte beside the box), so it costs nothing. Keys
/// leave it at [`StrEncoding::Auto`]; equality and hashing look at the bytes only.
#[derive(Clone)]
pub enum CompactBytes {
    Inline { len: u8, data: [u8; CompactBytes::INLINE] },
    Boxed { data: Box<[u8]>, encoding: StrEncoding },
}

/// How Redis 7.0 stores a string object, as far as `OBJECT ENCODING` can tell.
///
/// * `Auto` — what `tryObjectEncoding` makes of a value that `SET`, `MSET`, `RESTORE` or loading
///   stored: `int` for a canonical 64-bit integer of at most 20 characters, `embstr` up to 44
///   bytes, `raw` beyond.
/// * `Raw` — a string changed in place (`APPEND`, `SETRANGE`, `SETBIT`, `BITFIELD`, the
///   destination of `BITOP`): Redis unshares it into a `raw` sds first
///   (`dbUnshareStringValue`) and never re-encodes it until it is stored anew or reloaded.
/// * `Embstr` — a string Redis creates with `createStringObject` and no `tryObjectEncoding`
///   (`INCRBYFLOAT`'s result): `embstr` up to 44 bytes even when it reads as an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StrEncoding {
    #[default]
    Auto,
    Raw,
    Embstr,
}

impl StrEncoding {
    /// Inline strings keep the encoding in the two top bits of their length byte.
    const SHIFT: u8 = 6;
    const LEN_MASK: u8 = (1 << Self::SHIFT) - 1;

    fn to_bits(self) -> u8 {
        (match self {
            StrEncoding::Auto => 0,
            StrEncoding::Raw => 1,
            StrEncoding::Embstr => 2,
        }) << Self::SHIFT
    }

    fn from_bits(len_byte: u8) -> StrEncoding {
        match len_byte >> Self::SHIFT {
            1 => StrEncoding::Raw,
            2 => StrEncoding::Embstr,
            _ => StrEncoding::Auto,
        }
    }

    /// The name `OBJECT ENCODING` gives a string of these bytes stored this way.
    pub fn name(self, s: &[u8]) -> &'static str {
        const EMBSTR_MAX: usize = 44;
        match self {
            StrEncoding::Raw => "raw",
            StrEncoding::Auto if s.len() <= 20 && crate::resp::parse_i64(s).is_some() => "int",
            _ if s.len() <= EMBSTR_MAX => "embstr",
            _ => "raw",
        }
    }
}

impl CompactBytes {
    pub const INLINE: usize = 22;

    pub fn new(b: &[u8]) -> CompactBytes {
        Self::with_encoding(b, StrEncoding::Auto)
    }

    /// A string value stored the way `encoding` says (see [`StrEncoding`]).
    pub fn with_encoding(b: &[u8], encoding: StrEncoding) -> CompactBytes {
        if b.len() <= Self::INLINE {
            let mut data = [0u8; Self::INLINE];
            data[..b.len()].copy_from_slice(b);
            CompactBytes::Inline { len: b.len() as u8 | encoding.to_bits(), data }
        } else {
            CompactBytes::Boxed { data: b.into(), encoding }
        }
    }

    /// Like [`CompactBytes::with_encoding`], reusing the vector's allocation when boxed.
    pub fn from_vec(b: Vec<u8>, encoding: StrEncoding) -> CompactBytes {
        if b.len() <= Self::INLINE {
            Self::with_encoding(&b, encoding)
        } else {
            CompactBytes::Boxed { data: b.into_boxed_slice(), encoding }
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match self {
            CompactBytes::Inline { len, data } => &data[..(*len & StrEncoding::LEN_MASK) as usize],
            CompactBytes::Boxed { data, .. } => data,
        }
    }

    pub fn encoding(&self) -> StrEncoding {
        match self {
            CompactBytes::Inline { len, .. } => StrEncoding::from_bits(*len),
            CompactBytes::Boxed { encoding, .. } => *encoding,
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
        CompactBytes::from_vec(b, StrEncoding::Auto)
    }
}

/// The `*-max-*` thresholds that decide when Redis gives up a compact encoding
/// (`hash-max-listpack-entries` …, with their `ziplist` aliases). Read from the config when a
/// command may convert a value, and when an RDB image is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodingLimits {
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    pub set_max_intset_entries: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
}

impl Default for EncodingLimits {
    /// Redis 7.0's defaults.
    fn default() -> Self {
        EncodingLimits {
            hash_max_listpack_entries: 128,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
        }
    }
}

impl EncodingLimits {
    pub fn from_config(config: &crate::config::Config) -> EncodingLimits {
        let d = EncodingLimits::default();
        let get = |name: &str, default: usize| config.get_i64(name).map(|v| v.max(0) as usize).unwrap_or(default);
        EncodingLimits {
            hash_max_listpack_entries: get("hash-max-listpack-entries", d.hash_max_listpack_entries),
            hash_max_listpack_value: get("hash-max-listpack-value", d.hash_max_listpack_value),
            // intset.c cannot hold more than 2^30 entries.
            set_max_intset_entries: get("set-max-intset-entries", d.set_max_intset_entries).min(1 << 30),
            zset_max_listpack_entries: get("zset-max-listpack-entries", d.zset_max_listpack_entries),
            zset_max_listpack_value: get("zset-max-listpack-value", d.zset_max_listpack_value),
        }
    }
}

/// A hash: `field → value` in insertion order, and whether Redis would still keep it as one
/// *listpack* or has converted it to a *hashtable*.
///
/// Redis starts every hash as a listpack and converts it for good (`hashTypeConvert`) once it
/// holds more than `hash-max-listpack-entries` fields or is given a field or value longer than
/// `hash-max-listpack-value` bytes; deleting fields never converts back. A listpack keeps
/// insertion order, and so does this table while the hash is "listpack"; once a hashtable, a
/// delete swaps the last field into the hole (O(1)) as order no longer means anything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hash {
    fields: Map<Bytes, Bytes>,
    table: bool,
}

impl std::ops::Deref for Hash {
    type Target = Map<Bytes, Bytes>;
    fn deref(&self) -> &Map<Bytes, Bytes> {
        &self.fields
    }
}

impl Hash {
    /// A new, empty, listpack-encoded hash (`createHashObject`).
    pub fn new() -> Hash {
        Hash::default()
    }

    pub fn is_listpack(&self) -> bool {
        !self.table
    }

    /// Convert to a hashtable for good.
    pub fn convert_to_table(&mut self) {
        self.table = true;
    }

    /// Set a field; returns the old value. As `hashTypeSet` does, a listpack given a field or
    /// value longer than `hash-max-listpack-value`, or holding more than
    /// `hash-max-listpack-entries` fields, becomes a hashtable.
    pub fn insert(&mut self, field: Bytes, value: Bytes, limits: &EncodingLimits) -> Option<Bytes> {
        if !self.table && (field.len() > limits.hash_max_listpack_value || value.len() > limits.hash_max_listpack_value)
        {
            self.table = true;
        }
        let old = self.fields.insert(field, value);
        if !self.table && self.fields.len() > limits.hash_max_listpack_entries {
            self.table = true;
        }
        old
    }

    pub fn remove(&mut self, field: &[u8]) -> Option<Bytes> {
        if self.table {
            self.fields.swap_remove(field)
        } else {
            self.fields.shift_remove(field)
        }
    }

    /// A hash read from an RDB image or a DUMP payload, encoded the way `rdbLoadObject` does:
    /// a hashtable when it has more than `hash-max-listpack-entries` fields, or (for the forms
    /// whose lengths it checks: a plain hash, a zipmap) a string longer than the value limit.
    pub fn loaded(fields: Map<Bytes, Bytes>, check_lengths: bool, limits: &EncodingLimits) -> Hash {
        let too_long = check_lengths
            && fields
                .iter()
                .any(|(f, v)| f.len() > limits.hash_max_listpack_value || v.len() > limits.hash_max_listpack_value);
        let table = fields.len() > limits.hash_max_listpack_entries || too_long;
        Hash { fields, table }
    }
}

/// A set of strings, and whether Redis would keep it as an *intset* (a sorted array of
/// integers) or a *hashtable*.
///
/// `SADD` creates an intset when its first member is a canonical 64-bit integer
/// (`setTypeCreate`); adding a member that is not, or growing past `set-max-intset-entries`,
/// converts it for good (`setTypeAdd`). An intset replies in ascending numeric order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SetValue {
    members: Set<Bytes>,
    table: bool,
}

impl std::ops::Deref for SetValue {
    type Target = Set<Bytes>;
    fn deref(&self) -> &Set<Bytes> {
        &self.members
    }
}

/// Whether Redis can keep `m` in an intset (`isSdsRepresentableAsLongLong`).
pub fn is_intset_member(m: &[u8]) -> bool {
    crate::resp::parse_i64(m).is_some()
}

impl SetValue {
    /// An empty set shaped for its first member `first` (`setTypeCreate`).
    pub fn for_member(first: &[u8]) -> SetValue {
        SetValue { members: Set::default(), table: !is_intset_member(first) }
    }

    /// An empty intset (`createIntsetObject`), as SINTERSTORE and friends start their result.
    pub fn new_intset() -> SetValue {
        SetValue::default()
    }

    /// An empty hashtable-encoded set.
    pub fn new_table() -> SetValue {
        SetValue { members: Set::default(), table: true }
    }

    pub fn is_intset(&self) -> bool {
        !self.table
    }

    /// Add a member; returns whether it was new (`setTypeAdd`).
    pub fn insert(&mut self, member: Bytes, limits: &EncodingLimits) -> bool {
        if !self.table && !is_intset_member(&member) {
            self.table = true;
        }
        let added = self.members.insert(member);
        if added && !self.table && self.members.len() > limits.set_max_intset_entries {
            self.table = true;
        }
        added
    }

    pub fn remove(&mut self, member: &[u8]) -> bool {
        self.members.swap_remove(member)
    }

    /// Remove and return the member at `index` (for SPOP).
    pub fn remove_index(&mut self, index: usize) -> Option<Bytes> {
        self.members.swap_remove_index(index)
    }

    /// A set read from an RDB image (`rdbLoadObject`): an intset stays one up to
    /// `set-max-intset-entries`; a plain set becomes one when every member is an integer and
    /// there are not too many.
    pub fn loaded(members: Set<Bytes>, limits: &EncodingLimits) -> SetValue {
        let table = members.len() > limits.set_max_intset_entries || !members.iter().all(|m| is_intset_member(m));
        SetValue { members, table }
    }

    /// The members in the order Redis replies them: ascending numbers for an intset, table
    /// order for a hashtable.
    pub fn ordered_members(&self) -> Vec<&Bytes> {
        let mut v: Vec<&Bytes> = self.members.iter().collect();
        if !self.table {
            v.sort_by_key(|m| crate::resp::parse_i64(m).unwrap_or(0));
        }
        v
    }
}

impl FromIterator<Bytes> for SetValue {
    /// A set built by adding members one by one to an intset, with the default limits.
    fn from_iter<I: IntoIterator<Item = Bytes>>(iter: I) -> SetValue {
        let limits = EncodingLimits::default();
        let mut s = SetValue::new_intset();
        for m in iter {
            s.insert(m, &limits);
        }
        s
    }
}

/// A sorted set: `member → score` for lookups and an ordered index for ranges, as Redis pairs
/// a dict with a skiplist; and whether Redis would still keep it as one *listpack*.
///
/// A listpack becomes a *skiplist* when it grows past `zset-max-listpack-entries` members or
/// gets a member longer than `zset-max-listpack-value` (`zsetAdd`). Unlike hashes and sets,
/// the commands that build a new sorted set (`ZUNIONSTORE`, `ZRANGESTORE`…) build a skiplist
/// and convert it back when the result is small (`zsetConvertToListpackIfNeeded`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SortedSet {
    pub scores: Map<Bytes, f64>,
    pub ordered: BTreeSet<(Score, Bytes)>,
    /// False while Redis would keep this sorted set as a listpack.
    pub skiplist: bool,
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
    /// An empty sorted set for a first member of `first_len` bytes, as ZADD creates it: a
    /// skiplist right away when listpacks are disabled or the member is too long for one.
    pub fn for_first_member(first_len: usize, limits: &EncodingLimits) -> SortedSet {
        SortedSet {
            skiplist: limits.zset_max_listpack_entries == 0 || first_len > limits.zset_max_listpack_value,
            ..SortedSet::default()
        }
    }
    pub fn len(&self) -> usize {
        self.scores.len()
    }
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }
    pub fn is_listpack(&self) -> bool {
        !self.skiplist
    }
    /// Insert or update; returns the previous score. Does not look at the encoding: see
    /// [`SortedSet::add`].
    pub fn insert(&mut self, member: Bytes, score: f64) -> Option<f64> {
        // A listpack keeps a score as text that reads back -0 as 0.
        let score = if !self.skiplist && score == 0.0 { 0.0 } else { score };
        let old = self.scores.insert(member.clone(), score);
        if let Some(o) = old {
            if o.to_bits() == score.to_bits() {
                return old;
            }
            self.ordered.remove(&(Score(o), member.clone()));
        }
        self.ordered.insert((Score(score), member));
        old
    }
    /// Insert or update as `zsetAdd` does: a listpack about to outgrow the limits becomes a
    /// skiplist first.
    pub fn add(&mut self, member: Bytes, score: f64, limits: &EncodingLimits) -> Option<f64> {
        if !self.skiplist
            && (member.len() > limits.zset_max_listpack_value || self.len() >= limits.zset_max_listpack_entries)
            && !self.scores.contains_key(&member)
        {
            self.skiplist = true;
        }
        self.insert(member, score)
    }
    /// `zsetConvertToListpackIfNeeded`: a skiplist small enough becomes a listpack again.
    pub fn shrink_encoding_if_small(&mut self, limits: &EncodingLimits) {
        if self.skiplist
            && self.len() <= limits.zset_max_listpack_entries
            && self.scores.keys().all(|m| m.len() <= limits.zset_max_listpack_value)
        {
            self.skiplist = false;
            let negative_zeros: Vec<Bytes> =
                self.iter().filter(|(_, s)| *s == 0.0 && s.is_sign_negative()).map(|(m, _)| m.clone()).collect();
            for m in negative_zeros {
                self.insert(m, 0.0);
            }
        }
    }
    /// The encoding `rdbLoadObject` gives a sorted set it read: listpack forms stay listpacks
    /// up to `zset-max-listpack-entries`; the skiplist forms become listpacks when small.
    pub fn set_loaded_encoding(&mut self, from_listpack: bool, limits: &EncodingLimits) {
        if from_listpack {
            self.skiplist = self.len() > limits.zset_max_listpack_entries;
        } else {
            self.skiplist = true;
            self.shrink_encoding_if_small(limits);
        }
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
    Hash(Box<Hash>),
    Set(Box<SetValue>),
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

    /// The encoding `OBJECT ENCODING` reports, as Redis 7.0 keeps it: each value remembers
    /// whether it was converted out of its compact form (see [`Hash`], [`SetValue`],
    /// [`SortedSet`], [`StrEncoding`]). Lists are always quicklists in 7.0.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding().name(s),
            Value::List(_) => "quicklist",
            Value::Hash(h) => {
                if h.is_listpack() {
                    "listpack"
                } else {
                    "hashtable"
                }
            }
            Value::Set(s) => {
                if s.is_intset() {
                    "intset"
                } else {
                    "hashtable"
                }
            }
            Value::ZSet(z) => {
                if z.is_listpack() {
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
    /// While `Some`, the keys added to `entries`, in order, for their `new` keyspace event
    /// (`dbAdd` fires it). `None` — no one listens — costs nothing per insert.
    new_keys: Option<Vec<CompactBytes>>,
    /// Each key's access field (Redis's `robj->lru`: an LRU stamp, or LFU minutes and
    /// counter; see [`crate::keyspace::access`]), by the key's position in `entries`.
    /// Invariant: `access.len() == entries.len()`; it moves with `entries`' swap-removes.
    access: Vec<u32>,
    /// The access clock of the command running now: what a value created now is stamped with.
    pub clock: AccessClock,
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

    /// Record the keys added from now on (`on`) for their `new` event, or stop recording.
    pub fn track_new_keys(&mut self, on: bool) {
        self.new_keys = on.then(Vec::new);
    }

    /// The keys added since the last call, while recording.
    pub fn take_new_keys(&mut self) -> Vec<CompactBytes> {
        self.new_keys.as_mut().map(std::mem::take).unwrap_or_default()
    }

    fn note_if_new(&mut self, key: &CompactBytes) {
        if let Some(new_keys) = self.new_keys.as_mut() {
            if !self.entries.contains_key(key.as_bytes()) {
                new_keys.push(key.clone());
            }
        }
    }

    /// Set a value, clearing any TTL (what `SET` without `KEEPTTL` does).
    pub fn set(&mut self, key: impl Into<CompactBytes>, value: Value) {
        let key = key.into();
        if !self.expires.is_empty() {
            self.expires.swap_remove(key.as_bytes());
        }
        self.set_keep_ttl(key, value);
    }

    /// Set a value, keeping the key's TTL if it had one. The new value is stamped as created
    /// now, except that under LFU an overwrite keeps the key's counter (`dbSetValue`).
    pub fn set_keep_ttl(&mut self, key: impl Into<CompactBytes>, value: Value) {
        let key = key.into();
        self.note_if_new(&key);
        let (i, old) = self.entries.insert_full(key, value);
        if old.is_none() {
            self.access.push(self.clock.fresh());
        } else if !self.clock.policy.lfu {
            self.access[i] = self.clock.fresh();
        }
        debug_assert_eq!(self.access.len(), self.entries.len());
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Value> {
        let (i, _, v) = self.entries.swap_remove_full(key)?;
        self.access.swap_remove(i);
        debug_assert_eq!(self.access.len(), self.entries.len());
        if !self.expires.is_empty() {
            self.expires.swap_remove(key);
        }
        Some(v)
    }

    /// The access field of the key at position `index` of `entries`.
    pub fn access_at(&self, index: usize) -> u32 {
        self.access[index]
    }

    /// Replace the access field of the key at position `index` of `entries`.
    pub fn set_access_at(&mut self, index: usize, field: u32) {
        self.access[index] = field;
    }

    /// The access field of `key`, if it is stored.
    pub fn access_of(&self, key: &[u8]) -> Option<u32> {
        self.entries.get_index_of(key).map(|i| self.access[i])
    }

    /// Replace the access field of `key` (a lookup touched it, or RESTORE set it).
    pub fn set_access(&mut self, key: &[u8], field: u32) {
        if let Some(i) = self.entries.get_index_of(key) {
            self.access[i] = field;
        }
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
        let key = CompactBytes::new(key);
        self.note_if_new(&key);
        match self.entries.entry(key) {
            indexmap::map::Entry::Occupied(e) => e.into_mut(),
            indexmap::map::Entry::Vacant(e) => {
                self.access.push(self.clock.fresh());
                e.insert(make())
            }
        }
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
        self.access.clear();
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
    /// Set the access clock of every database (before each command runs).
    pub fn set_clock(&mut self, clock: AccessClock) {
        for db in &mut self.dbs {
            db.clock = clock;
        }
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
        assert!(matches!(long, CompactBytes::Boxed { .. }));
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
