//! Memory: `used_memory` and eviction under `maxmemory` (Redis's `evict.c`).

use super::*;

impl NodeState {
    /// Bring memory under `maxmemory` by evicting keys as `maxmemory-policy` says (Redis's
    /// `performEvictions`); false when that is not possible (`noeviction`, or nothing left to
    /// evict), and the command that needs memory is refused with OOM.
    ///
    /// The `*-random` policies take any key (of those with a TTL, for `volatile-*`). The
    /// `*-lru`, `*-lfu` and `volatile-ttl` policies sample `maxmemory-samples` keys of every
    /// database into the [`EvictionPool`](crate::keyspace::access::EvictionPool) and evict its best
    /// candidate: the longest idle (LRU), the least frequently used (LFU), the nearest
    /// deadline (TTL) — an approximation of the exact order that costs a few samples per key.
    pub fn perform_evictions(&mut self) -> bool {
        let max = self.config.int("maxmemory").max(0) as u64;
        if max == 0 {
            return true;
        }
        let mut used = self.used_memory();
        if used <= max {
            return true;
        }
        // While paused the dataset must not change.
        if self.expiry_frozen() {
            return false;
        }
        let policy = self.config.get_str("maxmemory-policy");
        let volatile = policy.starts_with("volatile");
        if policy == "noeviction" {
            return false;
        }
        let pooled = !policy.ends_with("-random");
        let samples = self.config.int("maxmemory-samples").max(1) as usize;
        let clock = crate::keyspace::access::AccessClock { policy: self.access_policy, now_ms: self.now };
        while used > max {
            let Some((dbi, key)) = (if pooled {
                self.pick_from_eviction_pool(&policy, volatile, samples, clock)
            } else {
                self.pick_random_for_eviction(volatile)
            }) else {
                return false;
            };
            let size = {
                let db = &self.keyspace.dbs[dbi];
                let v = db.entries.get(&key[..]).map_or(0, |v| v.approx_size()) + key.len() + 40;
                v + if db.expires.contains_key(&key[..]) { 32 } else { 0 }
            };
            self.keyspace.dbs[dbi].remove(&key);
            self.stats.evicted_keys += 1;
            crate::command::transactions::touch_watched_key(self, dbi, &key);
            let evicted = crate::command::pubsub::class::EVICTED;
            crate::command::pubsub::notify_keyspace_event(self, None, evicted, "evicted", &key, dbi);
            self.persist.dirty += 1;
            self.propagate(dbi, &[b"DEL", &key]);
            used = used.saturating_sub(size as u64);
        }
        true
    }

    /// `*-random`: a random database with candidates, then a random key of it.
    pub(super) fn pick_random_for_eviction(&mut self, volatile: bool) -> Option<(usize, Bytes)> {
        let dbs: Vec<usize> = (0..self.keyspace.dbs.len())
            .filter(
                |&d| if volatile { !self.keyspace.dbs[d].expires.is_empty() } else { !self.keyspace.dbs[d].is_empty() },
            )
            .collect();
        if dbs.is_empty() {
            return None;
        }
        let dbi = dbs[self.rng.below(dbs.len())];
        let db = &self.keyspace.dbs[dbi];
        let key = if volatile {
            db.expires.get_index(self.rng.below(db.expires.len())).unwrap().0
        } else {
            db.entries.get_index(self.rng.below(db.entries.len())).unwrap().0
        };
        Some((dbi, Bytes::copy_from_slice(key)))
    }

    /// `evictionPoolPopulate` over every database, then the pool's best candidate that still
    /// exists (a pooled key may have been deleted since it was sampled).
    pub(super) fn pick_from_eviction_pool(
        &mut self,
        policy: &str,
        volatile: bool,
        samples: usize,
        clock: crate::keyspace::access::AccessClock,
    ) -> Option<(usize, Bytes)> {
        use crate::keyspace::access::EvictionCandidate;
        loop {
            let mut offered = 0;
            for dbi in 0..self.keyspace.dbs.len() {
                let len = if volatile { self.keyspace.dbs[dbi].expires.len() } else { self.keyspace.dbs[dbi].len() };
                if len == 0 {
                    continue;
                }
                for _ in 0..samples.min(len) {
                    let i = self.rng.below(len);
                    let db = &self.keyspace.dbs[dbi];
                    let (key, deadline) = if volatile {
                        let (k, &at) = db.expires.get_index(i).unwrap();
                        (k, Some(at))
                    } else {
                        (db.entries.get_index(i).unwrap().0, None)
                    };
                    let score = if policy == "volatile-ttl" {
                        u64::MAX - deadline.unwrap_or(u64::MAX)
                    } else {
                        let Some(field) = db.access_of(key) else { continue };
                        clock.eviction_score(field)
                    };
                    let key = Bytes::copy_from_slice(key);
                    self.eviction_pool.offer(EvictionCandidate { score, db: dbi, key });
                    offered += 1;
                }
            }
            if offered == 0 {
                return None;
            }
            while let Some(c) = self.eviction_pool.take_best() {
                let db = &self.keyspace.dbs[c.db];
                let present =
                    if volatile { db.expires.contains_key(&c.key[..]) } else { db.entries.contains_key(&c.key[..]) };
                if present {
                    return Some((c.db, c.key));
                }
            }
        }
    }
}
