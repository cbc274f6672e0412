//! The backlog (Redis's `repl_backlog`): the recent replication stream, for partial resyncs.
//!
//! 7.0 keeps the stream in one shared list of blocks (`replBufBlock`) that the backlog and every
//! replica's output point into; the backlog is the suffix of that list still covering
//! `repl-backlog-size` bytes, trimmed a block at a time (`incrementalTrimReplicationBacklog`).

/// The recent replication stream (Redis's `repl_backlog`), kept the way 7.0 keeps it so that
/// `repl_backlog_histlen` and `repl_backlog_first_byte_offset` show the same figures.
///
/// It is also 7.0's *shared replication buffer*: a replica that is not online yet (its
/// snapshot is being made or sent) does not get a copy of the stream; it pins the offset it
/// will need from, and the blocks from there on are kept even past `repl-backlog-size`
/// (`repl_backlog_histlen` grows, and a reconnecting replica may continue from any of it).
/// Its memory is INFO's `mem_total_replication_buffers`.
///
/// 7.0 stores the stream in blocks of at least 16 KB (`PROTO_REPLY_CHUNK_BYTES`), each as large
/// as the allocator made it (jemalloc rounds 16 KB + a 40-byte header up to 20 KB, so a block
/// holds 20440 bytes). Data fills the last block, then a new one. Only when a block is added
/// does it drop blocks from the front, and only while what remains still covers
/// `repl-backlog-size`: the history is between the configured size and one block more.
#[derive(Debug, Clone)]
pub struct Backlog {
    blocks: std::collections::VecDeque<Vec<u8>>,
    /// The capacity of each block (full ones hold exactly that much).
    capacities: std::collections::VecDeque<usize>,
    size: usize,
    /// How many bytes of history it holds (`repl_backlog_histlen`).
    pub histlen: usize,
    /// Stream offset of the oldest byte held (`repl_backlog_first_byte_offset`).
    pub first_offset: u64,
    /// The oldest offset a replica not yet online still needs: no block holding it or a
    /// later byte is dropped (7.0's refcount on the block a replica refers to).
    pin: Option<u64>,
}

/// `PROTO_REPLY_CHUNK_BYTES`: the smallest block.
const BLOCK_MIN: usize = 16 * 1024;
/// `sizeof(replBufBlock)`: the header allocated with each block.
const BLOCK_HEADER: usize = 40;
/// `sizeof(listNode)`: each block sits in a list.
const LIST_NODE: usize = 24;
/// `REPL_BACKLOG_TRIM_BLOCKS_PER_CALL`.
const TRIM_BLOCKS_PER_CALL: usize = 10;

/// The usable bytes of a block for `len` bytes of data: the jemalloc size class of
/// `max(len, 16 KB) + header`, less the header. Above 16 KB, jemalloc's classes are four per
/// doubling (20, 24, 28, 32, 40 KB …).
fn block_capacity(len: usize) -> usize {
    let request = len.max(BLOCK_MIN) + BLOCK_HEADER;
    let power = usize::BITS - 1 - (request - 1).leading_zeros();
    let step = 1usize << (power - 2);
    request.div_ceil(step) * step - BLOCK_HEADER
}

impl Backlog {
    /// A backlog of `size` bytes whose first byte will be stream offset `next_offset`.
    pub fn new(size: usize, next_offset: u64) -> Backlog {
        Backlog {
            blocks: Default::default(),
            capacities: Default::default(),
            size: size.max(1),
            histlen: 0,
            first_offset: next_offset,
            pin: None,
        }
    }

    /// Keep the stream from `pin` on (or nothing beyond `size`, for `None`), trimming what is
    /// no longer needed as 7.0's `beforeSleep` does, up to 100 blocks at a time.
    pub fn set_pin(&mut self, pin: Option<u64>) {
        self.pin = pin;
        for _ in 0..10 {
            self.trim();
        }
    }

    /// Bytes of memory its blocks take (7.0's `repl_buffer_mem`: each block's usable size,
    /// its header and its list node).
    pub fn memory(&self) -> usize {
        self.capacities.iter().map(|c| c + BLOCK_HEADER + LIST_NODE).sum()
    }

    /// The configured size (`repl-backlog-size`).
    pub fn size(&self) -> usize {
        self.size
    }

    pub fn push(&mut self, mut bytes: &[u8]) {
        if let (Some(tail), Some(&cap)) = (self.blocks.back_mut(), self.capacities.back()) {
            let n = bytes.len().min(cap - tail.len());
            tail.extend_from_slice(&bytes[..n]);
            self.histlen += n;
            bytes = &bytes[n..];
        }
        if !bytes.is_empty() {
            let cap = block_capacity(bytes.len());
            let mut block = Vec::with_capacity(cap.min(1 << 20));
            block.extend_from_slice(bytes);
            self.blocks.push_back(block);
            self.capacities.push_back(cap);
            self.histlen += bytes.len();
            self.trim();
        }
    }

    /// 7.0's `incrementalTrimReplicationBacklog`: drop whole blocks from the front while the
    /// rest still holds more than `size` bytes.
    pub(super) fn trim(&mut self) {
        for _ in 0..TRIM_BLOCKS_PER_CALL {
            if self.histlen <= self.size || self.blocks.len() <= 1 {
                return;
            }
            let first = self.blocks[0].len();
            if self.histlen - first <= self.size {
                return;
            }
            if self.pin.is_some_and(|p| p < self.first_offset + first as u64) {
                return;
            }
            self.blocks.pop_front();
            self.capacities.pop_front();
            self.histlen -= first;
            self.first_offset += first as u64;
        }
    }

    /// Whether the bytes from stream offset `from` to the end are all held.
    pub fn covers(&self, from: u64) -> bool {
        from >= self.first_offset && from <= self.first_offset + self.histlen as u64
    }

    /// The bytes from stream offset `from` to the end (`covers(from)` must hold).
    pub fn since(&self, from: u64) -> Vec<u8> {
        let mut skip = (from - self.first_offset) as usize;
        let mut out = Vec::with_capacity(self.histlen - skip);
        for block in &self.blocks {
            if skip >= block.len() {
                skip -= block.len();
                continue;
            }
            out.extend_from_slice(&block[skip..]);
            skip = 0;
        }
        out
    }

    /// The last `n` bytes held (fewer if it holds fewer).
    pub fn latest(&self, n: usize) -> Vec<u8> {
        let n = n.min(self.histlen);
        self.since(self.first_offset + (self.histlen - n) as u64)
    }

    /// `CONFIG SET repl-backlog-size`: a new size, trimmed to as 7.0 trims.
    pub fn resize(&mut self, size: usize) {
        self.size = size.max(1);
        self.trim();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn blocks_are_sized_as_jemalloc_sizes_them() {
        assert_eq!(block_capacity(10), 20440);
        assert_eq!(block_capacity(20440), 20440);
        assert_eq!(block_capacity(20441), 24536);
        assert_eq!(block_capacity(100_000), 114_648);
    }

    #[test]
    pub(super) fn backlog_keeps_whole_blocks_covering_its_size() {
        let mut b = Backlog::new(16384, 1);
        let chunk = vec![b'x'; 1000];
        for _ in 0..20 {
            b.push(&chunk);
        }
        // 20000 bytes fit the first block: nothing dropped yet, though more than the size.
        assert_eq!((b.first_offset, b.histlen), (1, 20000));
        for _ in 0..30 {
            b.push(&chunk);
        }
        // 50000 bytes: blocks of 20440, 20440, 9120. Dropping the first leaves 29560 > 16384,
        // dropping the second would leave 9120: one block goes.
        assert_eq!((b.first_offset, b.histlen), (20441, 29560));
        assert!(b.covers(20441) && !b.covers(20440) && b.covers(50001));
        assert_eq!(b.since(50000), b"x");
        assert_eq!(b.since(20441).len(), 29560);
        b.resize(1 << 20);
        assert_eq!(b.histlen, 29560);
    }
}
