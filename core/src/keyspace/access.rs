//! Key access tracking: the per-key LRU clock and LFU counter that `OBJECT IDLETIME`,
//! `OBJECT FREQ`, `RESTORE … IDLETIME|FREQ` and the `*-lru` / `*-lfu` eviction policies read.
//!
//! Redis keeps one 24-bit field per value (`robj->lru`, server.h) and gives it two meanings,
//! depending on the `maxmemory-policy` in force:
//!
//! ```text
//! LRU policies (and every non-LFU one):   | 24-bit LRU clock: seconds, wrapping     |
//! LFU policies:                           | 16-bit minutes (LDT) | 8-bit counter    |
//! ```
//!
//! - **LRU**: a lookup stamps the key with the LRU clock (`LRU_CLOCK`: virtual seconds, modulo
//!   2^24); the idle time is the clock minus the stamp, with one wrap allowed
//!   (`estimateObjectIdleTime`, evict.c).
//! - **LFU**: the counter is a logarithmic access count (`LFULogIncr`): a new key starts at
//!   `LFU_INIT_VAL` = 5, and an access increments it with probability
//!   `1 / ((counter - 5) * lfu-log-factor + 1)`, so a hundred thousand hits are needed to
//!   reach 255 with the default factor of 10. The counter decays by one per `lfu-decay-time`
//!   minutes elapsed since the last decrement time (`LFUDecrAndReturn`), computed lazily when
//!   the key is read or sampled.
//!
//! Switching policy at run time does not convert the fields, as in Redis: LRU and LFU data
//! "take some time to adjust" (the wording of OBJECT's errors).
//!
//! The lab is deterministic: the clock is the virtual `now` handed to the node, and the coin
//! of `LFULogIncr` is drawn from the node's seeded generator instead of `rand()`.

/// The largest LRU clock value (`LRU_CLOCK_MAX`, 24 bits).
pub const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;
/// Milliseconds per LRU clock tick (`LRU_CLOCK_RESOLUTION`).
pub const LRU_CLOCK_RESOLUTION_MS: u64 = 1000;
/// The counter of a new key under LFU (`LFU_INIT_VAL`): low enough to be evicted soon, high
/// enough not to be evicted before it had a chance to be accessed again.
pub const LFU_INIT_VAL: u8 = 5;

/// How accesses are recorded: which meaning the field has, and the LFU tunables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessPolicy {
    /// An LFU `maxmemory-policy` is in force (`MAXMEMORY_FLAG_LFU`).
    pub lfu: bool,
    /// `lfu-log-factor`.
    pub lfu_log_factor: u32,
    /// `lfu-decay-time`, in minutes; 0 never decays.
    pub lfu_decay_time_min: u32,
}

impl Default for AccessPolicy {
    fn default() -> Self {
        AccessPolicy { lfu: false, lfu_log_factor: 10, lfu_decay_time_min: 1 }
    }
}

impl AccessPolicy {
    /// The policy the configuration names.
    pub fn from_config(config: &crate::config::Config) -> AccessPolicy {
        AccessPolicy {
            lfu: config.get_str("maxmemory-policy").ends_with("-lfu"),
            lfu_log_factor: config.int("lfu-log-factor").max(0) as u32,
            lfu_decay_time_min: config.int("lfu-decay-time").max(0) as u32,
        }
    }
}

/// The access clock at one instant: a policy and the virtual time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccessClock {
    pub policy: AccessPolicy,
    pub now_ms: u64,
}

impl AccessClock {
    /// `LRU_CLOCK()`: virtual seconds, wrapping at 24 bits.
    pub fn lru_clock(&self) -> u32 {
        ((self.now_ms / LRU_CLOCK_RESOLUTION_MS) & LRU_CLOCK_MAX as u64) as u32
    }

    /// `LFUGetTimeInMinutes`: virtual minutes, wrapping at 16 bits.
    pub fn minutes(&self) -> u32 {
        ((self.now_ms / 1000 / 60) & 0xffff) as u32
    }

    /// The field of a value created now (`createObject`).
    pub fn fresh(&self) -> u32 {
        if self.policy.lfu {
            (self.minutes() << 8) | LFU_INIT_VAL as u32
        } else {
            self.lru_clock()
        }
    }

    /// `estimateObjectIdleTime`, in ms: the LRU clock minus the stamp, wrapping once.
    pub fn idle_ms(&self, field: u32) -> u64 {
        let clock = self.lru_clock();
        let ticks = if clock >= field { clock - field } else { clock + (LRU_CLOCK_MAX - field) };
        ticks as u64 * LRU_CLOCK_RESOLUTION_MS
    }

    /// `LFUTimeElapsed`: minutes since the decrement time `ldt`, wrapping once.
    fn minutes_since(&self, ldt: u32) -> u32 {
        let now = self.minutes();
        if now >= ldt {
            now - ldt
        } else {
            65535 - ldt + now
        }
    }

    /// `LFUDecrAndReturn`: the counter, less one per `lfu-decay-time` minutes elapsed since its
    /// decrement time (the field itself is not changed).
    pub fn lfu_count(&self, field: u32) -> u8 {
        let ldt = field >> 8;
        let counter = (field & 255) as u8;
        let decay = self.policy.lfu_decay_time_min;
        let periods = self.minutes_since(ldt).checked_div(decay).unwrap_or(0);
        counter.saturating_sub(periods.min(255) as u8)
    }

    /// The field after one access (`updateLFU`, or the LRU stamp). `coin` is a uniform draw
    /// in `[0, 1]`, used under LFU only.
    pub fn touched(&self, field: u32, coin: f64) -> u32 {
        if !self.policy.lfu {
            return self.lru_clock();
        }
        let counter = lfu_log_incr(self.lfu_count(field), coin, self.policy.lfu_log_factor);
        (self.minutes() << 8) | counter as u32
    }

    /// The field `RESTORE … FREQ n` sets (`objectSetLRUOrLFU`), under LFU only.
    pub fn with_freq(&self, freq: u8) -> u32 {
        (self.minutes() << 8) | freq as u32
    }

    /// The field `RESTORE … IDLETIME s` sets (`objectSetLRUOrLFU`): the clock minus the idle
    /// seconds, wrapped back into range.
    pub fn with_idle_s(&self, idle_s: u64) -> u32 {
        let abs = self.lru_clock() as i64 - (idle_s as i64).min(i64::MAX / 2);
        if abs < 0 {
            // Redis adds LRU_CLOCK_MAX once; for huge idle times the stamp stays far back.
            (abs.rem_euclid(LRU_CLOCK_MAX as i64)) as u32
        } else {
            abs as u32
        }
    }

    /// How good a candidate for eviction a key is: larger goes first (evict.c's `idle` score of
    /// `evictionPoolPopulate` — idle time under LRU, `255 - frequency` under LFU).
    pub fn eviction_score(&self, field: u32) -> u64 {
        if self.policy.lfu {
            255 - self.lfu_count(field) as u64
        } else {
            self.idle_ms(field)
        }
    }
}

/// Redis's eviction pool (`EvictionPoolLRU`, `EVPOOL_SIZE` = 16): the best candidates for
/// eviction seen so far, kept between evictions so that every round of sampling adds to what
/// earlier rounds found (`evictionPoolPopulate`). Ordered by score, best (largest) last.
#[derive(Debug, Clone, Default)]
pub struct EvictionPool {
    entries: Vec<EvictionCandidate>,
}

/// One key the pool remembers, with its score when it was sampled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvictionCandidate {
    pub score: u64,
    pub db: usize,
    pub key: bytes::Bytes,
}

/// How many candidates the pool keeps (`EVPOOL_SIZE`).
pub const EVICTION_POOL_SIZE: usize = 16;

impl EvictionPool {
    /// Offer a sampled key: it enters when the pool has room or it beats the worst entry (and
    /// then pushes that one out). A key already in the pool is not added twice.
    pub fn offer(&mut self, cand: EvictionCandidate) {
        if self.entries.iter().any(|e| e.db == cand.db && e.key == cand.key) {
            return;
        }
        if self.entries.len() >= EVICTION_POOL_SIZE && cand.score < self.entries[0].score {
            return;
        }
        let at = self.entries.partition_point(|e| e.score <= cand.score);
        self.entries.insert(at, cand);
        if self.entries.len() > EVICTION_POOL_SIZE {
            self.entries.remove(0);
        }
    }

    /// Take the best candidate out (`performEvictions` walks the pool from its best end).
    pub fn take_best(&mut self) -> Option<EvictionCandidate> {
        self.entries.pop()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Forget every candidate (the policy changed, or the dataset was flushed).
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

/// `LFULogIncr`: increment `counter` with probability `1 / ((counter - LFU_INIT_VAL) *
/// factor + 1)`, saturating at 255.
pub fn lfu_log_incr(counter: u8, coin: f64, factor: u32) -> u8 {
    if counter == 255 {
        return 255;
    }
    let base = (counter as f64 - LFU_INIT_VAL as f64).max(0.0);
    let p = 1.0 / (base * factor as f64 + 1.0);
    if coin < p {
        counter + 1
    } else {
        counter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_keeps_the_best_sixteen_best_last() {
        let mut pool = EvictionPool::default();
        for i in 0..40u64 {
            let score = (i * 7) % 40;
            pool.offer(EvictionCandidate { score, db: 0, key: bytes::Bytes::from(format!("k{score}")) });
        }
        pool.offer(EvictionCandidate { score: 39, db: 0, key: bytes::Bytes::from("k39") });
        let scores: Vec<u64> = std::iter::from_fn(|| pool.take_best()).map(|c| c.score).collect();
        assert_eq!(scores, (24..40).rev().collect::<Vec<_>>());
    }

    fn clock(now_ms: u64, lfu: bool) -> AccessClock {
        AccessClock { policy: AccessPolicy { lfu, ..AccessPolicy::default() }, now_ms }
    }

    #[test]
    fn idle_time_counts_seconds_and_wraps_once() {
        let c = clock(10_500, false);
        assert_eq!(c.idle_ms(c.lru_clock()), 0);
        assert_eq!(c.idle_ms(7), 3000);
        // A stamp "ahead" of the clock is a clock that wrapped since.
        assert_eq!(c.idle_ms(LRU_CLOCK_MAX - 2), (10 + 2) * 1000);
        assert_eq!(c.with_idle_s(4), 6);
        assert_eq!(c.idle_ms(c.with_idle_s(1000)), 1000 * 1000);
    }

    #[test]
    fn lfu_counter_grows_logarithmically_and_decays_per_period() {
        let c = clock(60_000 * 100, true);
        let fresh = c.fresh();
        assert_eq!(c.lfu_count(fresh), LFU_INIT_VAL);
        // Below LFU_INIT_VAL (and at it) every access counts.
        assert_eq!(lfu_log_incr(5, 0.99, 10), 6);
        assert_eq!(lfu_log_incr(6, 0.09, 10), 7);
        assert_eq!(lfu_log_incr(6, 0.091, 10), 6);
        assert_eq!(lfu_log_incr(255, 0.0, 10), 255);
        // Three minutes later, with a decay time of one minute, three are gone.
        let later = clock(60_000 * 103, true);
        assert_eq!(later.lfu_count(fresh), 2);
        assert_eq!(later.lfu_count(later.with_freq(100)), 100);
    }
}
