//! The order in which redis-cli walks its hash tables: Redis's `dict` (dict.c, 7.0), reduced
//! to what decides iteration order.
//!
//! redis-cli keeps the open slots `check` finds, and the uncovered slots `fix` finds, in a
//! `dict` keyed by the slot's number as a string, and acts on them in the dict's order — so
//! "[WARNING] The following slots are open: 5461,0." and "Covering slot 4440" before
//! "Covering slot 2648" are that order. It is deterministic: redis-cli never seeds the hash
//! function, so Redis's SipHash 1-2 runs with a zero key. What makes the order:
//!
//! ```text
//!   bucket   = siphash(key) & (size - 1)          size: 4, then the next power of two
//!   insert   = at the head of the bucket's chain  (the newest first)
//!   grow     = when used >= size, a second table of next_pow2(used + 1) buckets; each later
//!              add or find moves one old bucket into it (incremental rehash, chains reversed)
//!   iterate  = table 0 bucket by bucket, then table 1 while rehashing
//! ```

/// SipHash with `c` compression and `d` finalization rounds (the reference algorithm).
fn siphash(key: &[u8], k0: u64, k1: u64, c: usize, d: usize) -> u64 {
    let mut v = [k0 ^ 0x736f6d6570736575, k1 ^ 0x646f72616e646f6d, k0 ^ 0x6c7967656e657261, k1 ^ 0x7465646279746573];
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }
    let compress = |v: &mut [u64; 4], m: u64| {
        v[3] ^= m;
        for _ in 0..c {
            round(v);
        }
        v[0] ^= m;
    };
    let mut chunks = key.chunks_exact(8);
    for chunk in &mut chunks {
        compress(&mut v, u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
    }
    let mut last = [0u8; 8];
    let rest = chunks.remainder();
    last[..rest.len()].copy_from_slice(rest);
    last[7] = key.len() as u8;
    compress(&mut v, u64::from_le_bytes(last));
    v[2] ^= 0xff;
    for _ in 0..d {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// `dictGenHashFunction` as redis-cli runs it: Redis's SipHash 1-2 (siphash.c: one
/// compression round, two finalization rounds, "not believed to be as strong" but faster),
/// with the never-set, all-zero seed.
pub(crate) fn dict_hash(key: &[u8]) -> u64 {
    siphash(key, 0, 0, 1, 2)
}

/// A dict of string keys, keeping Redis's bucket layout.
#[derive(Debug)]
pub(crate) struct RedisDict<V> {
    /// Two tables of buckets; each bucket lists entry indices, the chain's head first.
    tables: [Vec<Vec<usize>>; 2],
    used: [usize; 2],
    /// The next table-0 bucket to move, while rehashing.
    rehash_idx: Option<usize>,
    entries: Vec<(String, V)>,
}

impl<V> RedisDict<V> {
    pub fn new() -> RedisDict<V> {
        RedisDict { tables: [Vec::new(), Vec::new()], used: [0, 0], rehash_idx: None, entries: Vec::new() }
    }

    fn bucket(&self, table: usize, key: &str) -> usize {
        (dict_hash(key.as_bytes()) as usize) & (self.tables[table].len() - 1)
    }

    /// `dictRehash(d, 1)`.
    fn rehash_step(&mut self) {
        let Some(mut idx) = self.rehash_idx else { return };
        if self.used[0] > 0 {
            let mut empty_visits = 10;
            while self.tables[0][idx].is_empty() {
                idx += 1;
                empty_visits -= 1;
                if empty_visits == 0 {
                    self.rehash_idx = Some(idx);
                    return;
                }
            }
            let chain = std::mem::take(&mut self.tables[0][idx]);
            for e in chain {
                let b = self.bucket(1, &self.entries[e].0);
                self.tables[1][b].insert(0, e);
                self.used[0] -= 1;
                self.used[1] += 1;
            }
            idx += 1;
        }
        self.rehash_idx = Some(idx);
        if self.used[0] == 0 {
            self.tables[0] = std::mem::take(&mut self.tables[1]);
            self.used = [self.used[1], 0];
            self.rehash_idx = None;
        }
    }

    /// `_dictExpandIfNeeded`.
    fn expand_if_needed(&mut self) {
        if self.rehash_idx.is_some() {
            return;
        }
        if self.tables[0].is_empty() {
            self.tables[0] = vec![Vec::new(); 4];
            return;
        }
        if self.used[0] >= self.tables[0].len() {
            let size = (self.used[0] + 1).next_power_of_two().max(4);
            self.tables[1] = vec![Vec::new(); size];
            self.rehash_idx = Some(0);
        }
    }

    fn find_index(&self, key: &str) -> Option<usize> {
        for t in 0..2 {
            if self.tables[t].is_empty() {
                continue;
            }
            let b = self.bucket(t, key);
            if let Some(&e) = self.tables[t][b].iter().find(|&&e| self.entries[e].0 == key) {
                return Some(e);
            }
            if self.rehash_idx.is_none() {
                break;
            }
        }
        None
    }

    /// `dictReplace`: add, or set the value of an existing key (which keeps its place).
    pub fn replace(&mut self, key: &str, value: V) {
        if self.rehash_idx.is_some() {
            self.rehash_step();
        }
        self.expand_if_needed();
        if let Some(e) = self.find_index(key) {
            self.entries[e].1 = value;
            return;
        }
        let table = if self.rehash_idx.is_some() { 1 } else { 0 };
        let b = self.bucket(table, key);
        self.entries.push((key.to_string(), value));
        self.tables[table][b].insert(0, self.entries.len() - 1);
        self.used[table] += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.used[0] + self.used[1] == 0
    }

    /// The entries in `dictNext`'s order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        let tables = if self.rehash_idx.is_some() { 2 } else { 1 };
        self.tables[..tables]
            .iter()
            .flat_map(|t| t.iter().flatten())
            .map(move |&e| (self.entries[e].0.as_str(), &self.entries[e].1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siphash_is_the_reference_one() {
        // With 2-4 rounds, SipHash's paper: key 00…0f, messages 00, 00 01, … 00…0e; and the
        // std library's SipHasher (2-4) agrees on longer keys.
        let (k0, k1) = (0x0706050403020100, 0x0f0e0d0c0b0a0908);
        assert_eq!(siphash(b"", k0, k1, 2, 4), 0x726fdb47dd0e0e31);
        let msg: Vec<u8> = (0..15).collect();
        assert_eq!(siphash(&msg, k0, k1, 2, 4), 0xa129ca6149be45e5);
        for len in 0..40 {
            let msg: Vec<u8> = (0..len).map(|i: u8| i.wrapping_mul(7).wrapping_add(3)).collect();
            #[allow(deprecated)]
            let mut h = std::hash::SipHasher::new_with_keys(0, 0);
            std::hash::Hasher::write(&mut h, &msg);
            assert_eq!(siphash(&msg, 0, 0, 2, 4), std::hash::Hasher::finish(&h));
        }
    }

    #[test]
    fn replace_keeps_one_entry_and_its_place() {
        let mut d = RedisDict::new();
        for s in 0..40 {
            d.replace(&s.to_string(), s);
        }
        d.replace("7", 70);
        let all: Vec<(&str, &i32)> = d.iter().collect();
        assert_eq!(all.len(), 40);
        assert_eq!(d.iter().find(|(k, _)| *k == "7").map(|(_, v)| *v), Some(70));
        let mut keys: Vec<i32> = d.iter().map(|(k, _)| k.parse().unwrap()).collect();
        keys.sort();
        assert_eq!(keys, (0..40).collect::<Vec<_>>());
    }
}
