//! Hash slots: which of the 16384 slots a key belongs to (`keyHashSlot`), and the slot
//! bitmap every bus message carries.
//!
//! ```text
//!   slot(key) = CRC16-XMODEM(key) & 0x3FFF            (16384 = 2^14 slots)
//!   key contains "{…}" with something between the first '{' and the next '}'
//!            → only that part is hashed: user:{42}:name and user:{42}:mail share a slot
//! ```
//!
//! The hash tag is what lets a multi-key command (MSET, SUNION, a MULTI block) work in a
//! cluster: every key of a command must hash to one slot, or the node answers `-CROSSSLOT`.
//! `{}` (nothing between the braces) and a `{` with no `}` after it hash the whole key.

use super::SLOTS;

/// The hash slot of `key` (`keyHashSlot` in cluster.c).
pub fn key_hash_slot(key: &[u8]) -> u16 {
    let hashed = match key.iter().position(|&b| b == b'{') {
        Some(open) => match key[open + 1..].iter().position(|&b| b == b'}') {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        },
        None => key,
    };
    crc16::State::<crc16::XMODEM>::calculate(hashed) & 0x3FFF
}

/// A set of slots as the bus carries it: 2048 bytes, slot `n` at bit `n % 8` of byte `n / 8`
/// (`bitmapTestBit`: the least significant bit first).
#[derive(Clone, PartialEq, Eq)]
pub struct SlotBitmap(pub Box<[u8; SLOTS / 8]>);

impl Default for SlotBitmap {
    fn default() -> Self {
        SlotBitmap(Box::new([0; SLOTS / 8]))
    }
}

impl std::fmt::Debug for SlotBitmap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SlotBitmap[{}]", self.ranges_text())
    }
}

impl SlotBitmap {
    pub fn contains(&self, slot: u16) -> bool {
        let s = slot as usize;
        self.0[s / 8] & (1 << (s % 8)) != 0
    }
    pub fn insert(&mut self, slot: u16) {
        let s = slot as usize;
        self.0[s / 8] |= 1 << (s % 8);
    }
    pub fn remove(&mut self, slot: u16) {
        let s = slot as usize;
        self.0[s / 8] &= !(1 << (s % 8));
    }
    /// How many slots are set (a node's `numslots`).
    pub fn count(&self) -> usize {
        self.0.iter().map(|b| b.count_ones() as usize).sum()
    }
    /// The set slots as inclusive ranges, in order.
    pub fn ranges(&self) -> Vec<(u16, u16)> {
        let mut out: Vec<(u16, u16)> = Vec::new();
        for slot in 0..SLOTS as u16 {
            if !self.contains(slot) {
                continue;
            }
            match out.last_mut() {
                Some((_, end)) if *end + 1 == slot => *end = slot,
                _ => out.push((slot, slot)),
            }
        }
        out
    }
    /// The ranges as `CLUSTER NODES` writes them (`representSlotInfo`): `0-5460 7000`,
    /// single slots alone.
    pub fn ranges_text(&self) -> String {
        let parts: Vec<String> = self
            .ranges()
            .into_iter()
            .map(|(a, b)| if a == b { a.to_string() } else { format!("{}-{}", a, b) })
            .collect();
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_of_the_tutorials_keys() {
        // Figures the seeds print (CLUSTER KEYSLOT / -> Redirected to slot [N]).
        assert_eq!(key_hash_slot(b"key1"), 9189);
        assert_eq!(key_hash_slot(b"name"), 5798);
        assert_eq!(key_hash_slot(b"age"), 741);
        assert_eq!(key_hash_slot(b"foo"), 12182);
        assert_eq!(key_hash_slot(b"hello"), 866);
    }

    #[test]
    fn hash_tags_hash_what_is_between_the_first_braces() {
        assert_eq!(key_hash_slot(b"user:{42}:name"), key_hash_slot(b"42"));
        assert_eq!(key_hash_slot(b"{42}"), key_hash_slot(b"42"));
        assert_eq!(key_hash_slot(b"a{b}{c}"), key_hash_slot(b"b"));
        // Empty tag, or no closing brace: the whole key.
        assert_eq!(key_hash_slot(b"a{}b"), crc16::State::<crc16::XMODEM>::calculate(b"a{}b") & 0x3FFF);
        assert_eq!(key_hash_slot(b"a{b"), crc16::State::<crc16::XMODEM>::calculate(b"a{b") & 0x3FFF);
        // The first '{' counts, then the first '}' after it: "{}{x}" has an empty first tag.
        assert_eq!(key_hash_slot(b"{}{x}"), crc16::State::<crc16::XMODEM>::calculate(b"{}{x}") & 0x3FFF);
        assert_eq!(key_hash_slot(b""), 0);
    }

    #[test]
    fn bitmap_ranges() {
        let mut m = SlotBitmap::default();
        for s in 0..=5460 {
            m.insert(s);
        }
        m.insert(7000);
        m.insert(16383);
        assert_eq!(m.count(), 5463);
        assert_eq!(m.ranges_text(), "0-5460 7000 16383");
        // Bit order: slot 0 is the least significant bit of byte 0.
        assert_eq!(m.0[0], 0xFF);
        assert_eq!(m.0[2047] & 0x80, 0x80);
        m.remove(7000);
        assert!(!m.contains(7000));
    }
}
