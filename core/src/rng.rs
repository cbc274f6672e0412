//! Seeded randomness. A node draws its run id, `RANDOMKEY`, `SRANDMEMBER`, `SPOP` and (later)
//! election jitter from its own generator, seeded by the driver, so the same seed and inputs
//! always give the same run.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone)]
pub struct SeededRng(ChaCha8Rng);

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        SeededRng(ChaCha8Rng::seed_from_u64(seed))
    }
    /// A uniformly drawn index in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        self.0.gen_range(0..n)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    /// 40 lowercase hex characters, the shape of a Redis run id or replication id.
    pub fn hex40(&mut self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        (0..40).map(|_| HEX[self.below(16)] as char).collect()
    }
}
