//! Master/replica replication, as Redis 7.0 does it (`src/replication.c`).
//!
//! ## The replication stream and its offsets
//!
//! A master turns every write it executes into a command (the same RESP a client sends,
//! sometimes rewritten so it means the same thing everywhere: `EXPIRE` becomes `PEXPIREAT`,
//! `INCRBYFLOAT` a `SET … KEEPTTL`, a key that expired a `DEL`) and appends it to one byte
//! stream. `master_repl_offset` counts the bytes of that stream ever produced. The stream goes
//! to every online replica and into the **backlog**, a ring of the last `repl-backlog-size`
//! bytes; `repl_backlog_first_byte_offset` is the offset of its oldest byte.
//!
//! A stream has an identity, the 40-hex **replication id** (`master_replid`). A replica that
//! was fed a stream up to offset *N* knows it holds exactly the dataset `(replid, N)`.
//!
//! ## Synchronisation: PSYNC
//!
//! A replica connects to its master and shakes hands — `PING`, `AUTH` (with `masterauth`,
//! `masteruser`), `REPLCONF listening-port`, `REPLCONF capa eof capa psync2` — then asks
//! `PSYNC <replid> <offset+1>` ("continue my stream from here") or `PSYNC ? -1` (it has nothing).
//!
//! * If the master's stream is that replid (or its previous one, `master_replid2`, up to
//!   `second_repl_offset`) and the backlog still holds that offset, it answers `+CONTINUE` and
//!   sends the backlog from there: a **partial resync**, a few bytes.
//! * Otherwise `+FULLRESYNC <replid> <offset>`, then a snapshot — an RDB image — as a bulk
//!   `$<len>\r\n<bytes>` (made on disk, `repl-diskless-sync no`) or streamed with an end mark
//!   `$EOF:<40 chars>\r\n<bytes><mark>` (diskless). Writes that happen while the snapshot is
//!   made are buffered for that replica and follow the image: a **full resync**.
//!
//! After that the replica applies the stream like commands from a client (its "master client",
//! whose replies are not sent), counts what it applied as its own offset, and every second sends
//! `REPLCONF ACK <offset>`; the master shows the difference as `lag`. The master sends a `PING`
//! into the stream every `repl-ping-replica-period` seconds; either side drops the link when it
//! hears nothing for `repl-timeout` seconds.
//!
//! ## Ids move on failover
//!
//! `REPLICAOF NO ONE` promotes a replica: its stream gets a fresh replid, and the old one is kept
//! as `master_replid2`, valid up to `second_repl_offset`. Former siblings that now replicate
//! from it ask for the old id and get `+CONTINUE`. A replica that loses its master keeps the
//! master's state as a **cached master** and offers it with PSYNC when the link comes back.
//!
//! A replica is itself a master for its own replicas (chained replication): it forwards the
//! exact bytes it applied, so offsets and ids are the same all along the chain.

use crate::command;
use crate::log::LogLevel;
use crate::node::{Client, ClientRole, ConnId, Output, PersistPurpose, Server};
use crate::resp::Frame;
use bytes::{Bytes, BytesMut};

/// Replication ids are 40 hex characters; `0000…` means "none".
pub const NO_REPLID: &str = "0000000000000000000000000000000000000000";

/// Outbound connections the node opens carry ids from this base, so they never collide with
/// the ids a driver gives to accepted connections.
pub const OUTBOUND_CONN_BASE: ConnId = 1 << 62;

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
    fn trim(&mut self) {
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

/// Where a replica stands, as `INFO replication` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// Waiting for the snapshot to be produced (`wait_bgsave`).
    WaitBgsave,
    /// The snapshot was streamed (diskless); streaming starts at its first ACK.
    WaitAck,
    Online,
}

impl ReplicaState {
    pub fn name(self) -> &'static str {
        match self {
            ReplicaState::WaitBgsave => "wait_bgsave",
            ReplicaState::WaitAck | ReplicaState::Online => "online",
        }
    }
}

/// One replica attached to this node.
#[derive(Debug, Clone)]
pub struct Replica {
    pub conn: ConnId,
    pub client_id: u64,
    /// The address it connected from.
    pub ip: String,
    /// `REPLCONF listening-port` (or `replica-announce-port`).
    pub listening_port: u16,
    pub state: ReplicaState,
    /// The offset of its last `REPLCONF ACK`.
    pub ack_offset: u64,
    pub ack_ms: u64,
    /// While it waits for (or receives) its snapshot: the stream offset it needs from when it
    /// goes online, held for it in the backlog ([`Backlog::set_pin`]).
    pub stream_from: Option<u64>,
    /// Since when its output has been over the soft limit (`client-output-buffer-limit`).
    pub obuf_soft_since: Option<u64>,
    /// How its last synchronisation went and why, for the views.
    pub sync_note: String,
    /// The snapshot job it was promised with `+FULLRESYNC`; `None` while it waits for one.
    pub snapshot_job: Option<u64>,
    /// It asked with the old `SYNC`: no `+FULLRESYNC` line, the snapshot comes directly.
    pub legacy_sync: bool,
    /// It said `REPLCONF capa eof`: it can read a snapshot streamed with an end mark, so it
    /// may be served diskless. A replica that cannot (an old one, or a bare `SYNC`) gets a
    /// snapshot made on disk and sent as `$<len>`.
    pub capa_eof: bool,
}

impl Replica {
    /// `ip:port`, Redis's `replicationGetSlaveName`.
    pub fn name(&self) -> String {
        if self.listening_port == 0 {
            format!("client id #{}", self.client_id)
        } else {
            format!("{}:{}", self.ip, self.listening_port)
        }
    }
}

/// The replica side of the handshake, Redis's `repl_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Must connect (at the next cron).
    Connect,
    /// Waiting for the TCP connection.
    Connecting,
    ReceivePing,
    ReceiveAuth,
    ReceivePort,
    ReceiveIp,
    ReceiveCapa,
    ReceivePsync,
    /// Receiving the snapshot.
    Transfer,
    /// Applying the stream.
    Connected,
}

impl LinkState {
    /// The state word of `ROLE`.
    pub fn role_word(self) -> &'static str {
        match self {
            LinkState::Connect => "connect",
            LinkState::Connecting => "connecting",
            LinkState::Transfer => "sync",
            LinkState::Connected => "connected",
            _ => "handshake",
        }
    }
}

/// What bytes from the master amounted to once the handshake has read them: a snapshot to
/// load (a full resync completed), and what follows, the stream to apply.
#[derive(Debug)]
pub struct FromMaster {
    pub snapshot: Option<Vec<u8>>,
    pub stream: BytesMut,
}

/// What a master answers a PSYNC, before it says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PsyncVerdict {
    /// `+CONTINUE`: the backlog holds what the replica lacks.
    Continue,
    /// `PSYNC ? -1`.
    NothingToContinue,
    /// Neither our replication id nor the previous one.
    OtherHistory,
    /// Our previous id, but past the offset where it ended.
    PastSecondId,
    /// Our history, but the offset is no longer (or not yet) in the backlog.
    LackOfBacklog,
}

/// How the snapshot of a full resync is framed on the wire.
#[derive(Debug, Clone)]
enum Framing {
    /// `$<len>`: this many bytes.
    Length(usize),
    /// `$EOF:<mark>`: until the 40-byte mark.
    EndMark([u8; 40]),
}

/// The link to our master, when we are a replica.
#[derive(Debug, Clone)]
pub struct MasterLink {
    pub host: String,
    pub port: u16,
    pub state: LinkState,
    pub conn: Option<ConnId>,
    /// Our end of the connection ("ip:port").
    pub laddr: String,
    inbuf: BytesMut,
    framing: Option<Framing>,
    image: Vec<u8>,
    /// The replid and offset `+FULLRESYNC` announced.
    full_sync_id: Option<(String, u64)>,
    pub last_io_ms: u64,
    /// When the link went down (`master_link_down_since_seconds`); `None` if it never was up.
    pub down_since_ms: Option<u64>,
    /// Bytes of the master client's stream received but not yet applied.
    unapplied: BytesMut,
    /// Of those, how many the parser has consumed into a command not complete yet.
    pub parsed_unapplied: usize,
    /// Offset of the stream applied so far (`slave_repl_offset`), once synced.
    pub applied: Option<u64>,
    /// Offset of the stream read so far (`slave_read_repl_offset`).
    pub read: Option<u64>,
}

impl MasterLink {
    /// A link that will connect at the next chance.
    pub fn new(host: String, port: u16, now: u64) -> MasterLink {
        MasterLink {
            host,
            port,
            state: LinkState::Connect,
            conn: None,
            laddr: String::new(),
            inbuf: BytesMut::new(),
            framing: None,
            image: Vec::new(),
            full_sync_id: None,
            last_io_ms: now,
            down_since_ms: None,
            unapplied: BytesMut::new(),
            parsed_unapplied: 0,
            applied: None,
            read: None,
        }
    }

    /// Forget everything about the current connection (it is gone or abandoned); back to
    /// `Connect`. Returns the connection and, if the link was synced, the offset applied.
    fn reset(&mut self) -> (Option<ConnId>, Option<u64>) {
        let synced = self.state == LinkState::Connected;
        self.state = LinkState::Connect;
        self.inbuf.clear();
        self.framing = None;
        self.image = Vec::new();
        self.unapplied.clear();
        self.parsed_unapplied = 0;
        self.read = None;
        let applied = self.applied.take();
        (self.conn.take(), if synced { applied } else { None })
    }

    /// Bytes of the snapshot received so far, and its size when known.
    pub fn transfer_progress(&self) -> (usize, Option<usize>) {
        let total = match self.framing {
            Some(Framing::Length(n)) => Some(n),
            _ => None,
        };
        (self.image.len(), total)
    }
}

/// What a replica keeps of a master it lost, to ask `PSYNC replid offset+1` next time.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedMaster {
    pub replid: String,
    pub offset: u64,
    /// The db the master's stream had selected at `offset`. A `+CONTINUE` resumes the stream
    /// right there, without a new SELECT, so the master client must come back with it (Redis
    /// keeps the whole cached master client, `server.cached_master`, for this).
    pub db: usize,
}

/// Where a coordinated failover (`FAILOVER`) stands, Redis's `failover_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailoverState {
    /// Writes are paused; waiting for a replica to acknowledge our whole stream.
    WaitForSync,
    /// We turned into a replica of the target and ask it `PSYNC … FAILOVER`.
    InProgress,
}

/// A coordinated failover in progress: the master pauses writes, waits until a replica (the
/// one named, or the first) has acknowledged everything, then becomes that replica's replica
/// and asks it to take over with `PSYNC <replid> <offset> FAILOVER` (Redis's
/// `failoverCommand` / `updateFailoverStatus`). No write is lost: the target has the whole
/// stream when the roles swap, and the old master continues it with a partial resync.
#[derive(Debug, Clone)]
pub struct Failover {
    pub state: FailoverState,
    /// The replica to hand over to (`TO host port`), or the one found caught up.
    pub target: Option<(String, u16)>,
    /// `TIMEOUT`: when waiting gives up (or, with FORCE, fails over anyway).
    pub end_ms: Option<u64>,
    pub force: bool,
}

/// All replication state of a node.
#[derive(Debug, Clone)]
pub struct Replication {
    pub replid: String,
    pub replid2: String,
    /// `second_repl_offset`: `-1` when `replid2` is none.
    pub second_offset: i64,
    /// `master_repl_offset`.
    pub offset: u64,
    pub backlog: Option<Backlog>,
    pub replicas: Vec<Replica>,
    pub master: Option<MasterLink>,
    pub cached_master: Option<CachedMaster>,
    /// The db the stream last SELECTed; `None` forces a SELECT before the next command.
    seldb: Option<usize>,
    /// Stream produced since the last flush to replicas.
    stream: BytesMut,
    scratch: BytesMut,
    /// The sync snapshot being produced, and whether it goes over the socket.
    pub sync_job: Option<(u64, bool)>,
    /// A full sync is needed but not started yet (diskless delay, or a save is running).
    sync_wanted_since: Option<u64>,
    /// What the command being executed (with whatever it ran nested: EXEC's queue, lazy
    /// expiry) propagates, encoded, until the top-level call ends (Redis's
    /// `server.also_propagate`); `pending_ops` holds each op's db and where it ends.
    pending: BytesMut,
    pending_ops: Vec<(usize, usize)>,
    /// How deep in `call` the node is; propagation waits until it is back at 0.
    pub call_depth: u32,
    last_cron_ms: u64,
    /// The cron loop (seconds since start) of the last PING into the stream.
    last_ping_ms: u64,
    /// When the last replica left (for `repl-backlog-ttl`).
    no_replicas_since: Option<u64>,
    next_outbound: u64,
    /// When the last failed handshake reconnected at once.
    last_failure_ms: u64,
    /// A coordinated failover (`FAILOVER`) in progress.
    pub failover: Option<Failover>,
    /// Clients blocked in WAIT.
    pub waiting: Vec<ConnId>,
    /// A `REPLCONF GETACK` must go out at the end of this event (WAIT asked for acks).
    pub get_ack_pending: bool,
}

impl Replication {
    pub fn new(replid: String) -> Replication {
        Replication {
            replid,
            replid2: NO_REPLID.into(),
            second_offset: -1,
            offset: 0,
            backlog: None,
            replicas: Vec::new(),
            master: None,
            cached_master: None,
            seldb: None,
            stream: BytesMut::new(),
            scratch: BytesMut::new(),
            sync_job: None,
            sync_wanted_since: None,
            pending: BytesMut::new(),
            pending_ops: Vec::new(),
            call_depth: 0,
            last_cron_ms: 0,
            last_ping_ms: 0,
            no_replicas_since: None,
            next_outbound: 0,
            last_failure_ms: 0,
            failover: None,
            waiting: Vec::new(),
            get_ack_pending: false,
        }
    }

    /// Whether writes must be turned into stream bytes: a backlog or replicas exist.
    pub fn feeding(&self) -> bool {
        self.backlog.is_some() || !self.replicas.is_empty()
    }

    pub fn is_replica(&self) -> bool {
        self.master.is_some()
    }

    pub fn link_up(&self) -> bool {
        self.master.as_ref().is_some_and(|m| m.state == LinkState::Connected)
    }

    fn replica_mut(&mut self, conn: ConnId) -> Option<&mut Replica> {
        self.replicas.iter_mut().find(|r| r.conn == conn)
    }

    /// Replicas whose last ACK is at most `max_lag` seconds old (`min-replicas-max-lag`).
    pub fn good_replicas(&self, now: u64, max_lag: u64) -> usize {
        self.replicas
            .iter()
            .filter(|r| r.state == ReplicaState::Online && now.saturating_sub(r.ack_ms) / 1000 <= max_lag)
            .count()
    }

    /// The db the stream has selected (0 before any SELECT).
    pub fn stream_db(&self) -> usize {
        self.seldb.unwrap_or(0)
    }

    /// Replicas that acknowledged at least `offset`.
    pub fn acked(&self, offset: u64) -> usize {
        self.replicas.iter().filter(|r| r.state == ReplicaState::Online && r.ack_offset >= offset).count()
    }
}

/// Encode a command as the RESP array a client would send.
pub fn encode_command(out: &mut BytesMut, args: &[&[u8]]) {
    out.extend_from_slice(b"*");
    crate::resp::push_int(out, args.len() as i64);
    out.extend_from_slice(b"\r\n");
    for a in args {
        out.extend_from_slice(b"$");
        crate::resp::push_int(out, a.len() as i64);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

impl Server {
    fn repl_log(&mut self, message: impl Into<String>) {
        self.log(LogLevel::Notice, message);
    }

    /// Create the backlog if there is none (Redis does so when the first replica syncs), with
    /// a fresh replication id when we are a master.
    fn ensure_backlog(&mut self) {
        if self.repl.backlog.is_some() {
            return;
        }
        self.create_backlog();
        if !self.repl.is_replica() {
            self.repl.replid = self.rng.hex40();
            self.repl.replid2 = NO_REPLID.into();
            self.repl.second_offset = -1;
            let (a, b) = (self.repl.replid.clone(), self.repl.replid2.clone());
            self.repl_log(format!("Replication backlog created, my new replication IDs are '{}' and '{}'", a, b));
        }
    }

    /// A backlog whose first byte will be the stream's next (Redis's `createReplicationBacklog`).
    pub(crate) fn create_backlog(&mut self) {
        let size = self.config.get_i64("repl-backlog-size").unwrap_or(1 << 20).max(16 * 1024) as usize;
        self.repl.backlog = Some(Backlog::new(size, self.repl.offset + 1));
    }

    /// A master restarted from an RDB file that was at `info` in a stream: that stream becomes
    /// its previous id, valid up to the file's offset, and its own offsets continue from
    /// there, past what it put into the backlog while loading (the `DEL`s of keys that
    /// expired meanwhile).
    pub(crate) fn continue_saved_stream(&mut self, info: &crate::rdb::ReplSaveInfo) {
        self.repl.replid2 = info.replid.clone();
        self.repl.second_offset = info.offset as i64 + 1;
        self.repl.offset += info.offset;
        if let Some(b) = self.repl.backlog.as_mut() {
            b.first_offset = self.repl.offset + 1 - b.histlen as u64;
        }
        self.repl.no_replicas_since = Some(self.now);
    }

    /// Append bytes to the stream: backlog, offset, and the buffer flushed to replicas.
    pub fn feed_raw(&mut self, bytes: &[u8]) {
        if let Some(b) = self.repl.backlog.as_mut() {
            b.push(bytes);
        }
        self.repl.offset += bytes.len() as u64;
        if !self.repl.replicas.is_empty() {
            self.repl.stream.extend_from_slice(bytes);
        }
    }

    /// Append one command to the stream, encoded in the one scratch buffer.
    fn feed_command(&mut self, args: &[&[u8]]) {
        let mut buf = std::mem::take(&mut self.repl.scratch);
        buf.clear();
        encode_command(&mut buf, args);
        self.feed_raw(&buf);
        self.repl.scratch = buf;
    }

    /// Propagate one command executed against `db` (Redis's `alsoPropagate`). Inside a
    /// command it waits for the top-level call to end ([`Server::propagate_pending`]), so
    /// that what one call propagates reaches replicas as one unit; outside any command
    /// (active expiry, loading) it goes at once.
    pub fn propagate(&mut self, db: usize, args: &[&[u8]]) {
        if !self.repl.feeding() || self.repl.is_replica() {
            return;
        }
        encode_command(&mut self.repl.pending, args);
        self.repl.pending_ops.push((db, self.repl.pending.len()));
        if self.repl.call_depth == 0 {
            self.propagate_pending(false);
        }
    }

    /// The top-level call ended: its ops go down the stream, each after a `SELECT` when its db
    /// is not the stream's, and wrapped in `MULTI` … `EXEC` when there are several (so a
    /// replica applies a transaction, or a command that propagated more than one op, as
    /// one) — unless `may_wrap` is false (SCAN and RANDOMKEY, whose only ops are unrelated
    /// lazy expirations). Redis's `propagatePendingCommands`.
    pub fn propagate_pending(&mut self, may_wrap: bool) {
        let ops = std::mem::take(&mut self.repl.pending_ops);
        if ops.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.repl.pending);
        let transaction = may_wrap && ops.len() > 1;
        if transaction {
            self.select_stream_db(ops[0].0);
            self.feed_command(&[b"MULTI"]);
        }
        let mut start = 0;
        for &(db, end) in &ops {
            self.select_stream_db(db);
            self.feed_raw(&pending[start..end]);
            start = end;
        }
        if transaction {
            self.feed_command(&[b"EXEC"]);
        }
        let mut pending = pending;
        pending.clear();
        self.repl.pending = pending;
        let mut ops = ops;
        ops.clear();
        self.repl.pending_ops = ops;
    }

    /// `DEBUG CHANGE-REPL-ID`: a fresh id for our stream and no previous one.
    pub fn change_replication_id(&mut self) {
        self.repl.replid = self.rng.hex40();
        self.repl.replid2 = NO_REPLID.into();
        self.repl.second_offset = -1;
    }

    /// Put a `SELECT` into the stream unless it already has `db` selected.
    fn select_stream_db(&mut self, db: usize) {
        if self.repl.seldb != Some(db) {
            self.feed_command(&[b"SELECT", db.to_string().as_bytes()]);
            self.repl.seldb = Some(db);
        }
    }

    /// A replica goes online: send it the stream it missed while its snapshot was made and
    /// sent, from the backlog that held it, and release the hold.
    fn send_held_stream(&mut self, conn: ConnId) {
        let Some(from) = self.repl.replica_mut(conn).and_then(|r| r.stream_from.take()) else { return };
        let held = match self.repl.backlog.as_ref() {
            Some(b) if b.covers(from) => b.since(from),
            _ => {
                // Only a backlog dropped under it (which disconnects replicas first) could
                // lose what it pinned.
                debug_assert!(false, "the backlog lost the stream held for replica {}", conn);
                return self.close_replica(conn);
            }
        };
        if !held.is_empty() {
            self.send_to_replica(conn, Bytes::from(held));
        }
        self.repin_backlog();
    }

    /// Pin the backlog at the oldest offset a replica not yet online needs.
    fn repin_backlog(&mut self) {
        let pin = self.repl.replicas.iter().filter_map(|r| r.stream_from).min();
        if let Some(b) = self.repl.backlog.as_mut() {
            b.set_pin(pin);
        }
    }

    /// Send a snapshot to a replica. It is not the replica's output buffer (7.0 sends it from
    /// the file or the fork's pipe), so no limit counts it; its written bytes, reported
    /// later, only make the replica's buffer look smaller than it is for a while, never larger.
    fn send_snapshot(&mut self, conn: ConnId, bytes: Bytes) {
        self.stats.total_net_repl_output_bytes += bytes.len() as u64;
        self.outputs.push_back(Output::Send { conn, bytes });
    }

    /// Send bytes to a replica's connection, counted as replication output.
    fn send_to_replica(&mut self, conn: ConnId, bytes: Bytes) {
        self.stats.total_net_repl_output_bytes += bytes.len() as u64;
        self.send(conn, bytes);
    }

    /// Send what the stream produced during this event to online replicas; the others will
    /// read it from the backlog.
    pub fn flush_replication_stream(&mut self) {
        if self.repl.get_ack_pending {
            self.repl.get_ack_pending = false;
            self.feed_command(&[b"REPLCONF", b"GETACK", b"*"]);
        }
        if self.repl.stream.is_empty() {
            return;
        }
        let bytes = self.repl.stream.split().freeze();
        // A replica these bytes would put over its limit gets none of them.
        self.close_replicas_over_obuf_limit(bytes.len() as u64);
        let online: Vec<ConnId> =
            self.repl.replicas.iter().filter(|r| r.state == ReplicaState::Online).map(|r| r.conn).collect();
        for conn in online {
            self.send_to_replica(conn, bytes.clone());
        }
    }

    /// Replicas whose output — the stream held for them while their snapshot is made and
    /// sent, and what their socket has not taken yet — is over `client-output-buffer-limit replica` are disconnected (7.0's
    /// `feedReplicationBuffer` → `closeClientOnOutputBufferLimitReached`). A hard limit below
    /// `repl-backlog-size` counts as that size: the held stream is shared with the backlog.
    ///
    /// `feeding` is what is about to be sent to the online ones. An offending replica is
    /// aborted — what was not written yet is dropped, as `freeClientAsync` writes nothing
    /// more — so it comes back from where it really is.
    fn close_replicas_over_obuf_limit(&mut self, feeding: u64) {
        let mut limit = self.config.obuf_limit("slave");
        if limit.hard == 0 && limit.soft == 0 {
            return;
        }
        let backlog_size = self.repl.backlog.as_ref().map_or(0, |b| b.size()) as u64;
        if limit.hard > 0 && limit.hard < backlog_size {
            limit.hard = backlog_size;
        }
        let (end, now) = (self.repl.offset + 1, self.now);
        let mut over = Vec::new();
        let unsent = &self.unsent;
        for r in self.repl.replicas.iter_mut() {
            // What it is owed: the stream held for it, and what its socket has not taken.
            let held = r.stream_from.map_or(0, |from| end.saturating_sub(from));
            let sending = if r.state == ReplicaState::Online { feeding } else { 0 };
            let used = held + sending + unsent.get(&r.conn).copied().unwrap_or(0);
            if crate::node::obuf_limit_reached(limit, used, &mut r.obuf_soft_since, now) {
                over.push(r.conn);
            }
        }
        for conn in over {
            let info = self.clients.get(&conn).map(|c| c.info_line(now, self.unsent_of(conn))).unwrap_or_default();
            self.log(
                LogLevel::Warning,
                format!("Client {} scheduled to be closed ASAP for overcoming of output buffer limits.", info),
            );
            self.obuf_overrun.push(conn);
        }
        self.close_overrun_clients();
    }

    // ───────────────────────────── master side ─────────────────────────────

    /// `REPLCONF listening-port / ip-address / capa / ack / getack`.
    pub fn replconf(&mut self, client: &mut Client, args: &[Bytes]) {
        if args.len().is_multiple_of(2) {
            client.reply.error("ERR syntax error");
            return;
        }
        let mut i = 1;
        while i + 1 < args.len() {
            let (opt, val) = (&args[i], &args[i + 1]);
            let opt_s = String::from_utf8_lossy(opt).to_ascii_lowercase();
            match opt_s.as_str() {
                "listening-port" => match crate::resp::parse_i64(val) {
                    Some(p) if (0..=65535).contains(&p) => client.repl_listening_port = p as u16,
                    _ => {
                        client.reply.error("ERR value is not an integer or out of range");
                        return;
                    }
                },
                "ip-address" => client.repl_announced_ip = Some(String::from_utf8_lossy(val).into_owned()),
                "capa" => {
                    if val.eq_ignore_ascii_case(b"eof") {
                        client.repl_capa_eof = true;
                    }
                }
                "rdb-only" | "rdb-filter-only" => {}
                "ack" => {
                    // No reply: this is the replica reporting its offset.
                    let offset = crate::resp::parse_i64(val).unwrap_or(0).max(0) as u64;
                    let now = self.now;
                    let mut went_online = None;
                    if let Some(r) = self.repl.replica_mut(client.conn) {
                        r.ack_offset = r.ack_offset.max(offset);
                        r.ack_ms = now;
                        if r.state == ReplicaState::WaitAck {
                            r.state = ReplicaState::Online;
                            went_online = Some((r.conn, r.name()));
                        }
                    }
                    if let Some((conn, name)) = went_online {
                        self.send_held_stream(conn);
                        self.repl_log(format!("Synchronization with replica {} succeeded", name));
                    }
                    self.serve_waiting_clients();
                    return;
                }
                "getack" => {
                    if client.role == ClientRole::Master {
                        let offset = self.repl.master.as_ref().and_then(|m| m.applied).unwrap_or(0);
                        self.send_ack(offset);
                    }
                    return;
                }
                _ => {
                    client.reply.error(&format!("ERR Unrecognized REPLCONF option: {}", String::from_utf8_lossy(opt)));
                    return;
                }
            }
            i += 2;
        }
        client.reply.ok();
    }

    /// `PSYNC replid offset` / `SYNC` (Redis's `syncCommand`).
    pub fn psync(&mut self, client: &mut Client, args: &[Bytes]) {
        if client.role == ClientRole::Replica {
            return;
        }
        // `PSYNC <replid> <offset> FAILOVER`: our master hands its role over to us.
        if args.len() > 3 && args[0].eq_ignore_ascii_case(b"psync") && args[3].eq_ignore_ascii_case(b"failover") {
            self.log(
                LogLevel::Warning,
                format!("Failover request received for replid {}.", String::from_utf8_lossy(&args[1])),
            );
            if !self.repl.is_replica() {
                client.reply.error("ERR PSYNC FAILOVER can't be sent to a master.");
                return;
            }
            if !args[1].eq_ignore_ascii_case(self.repl.replid.as_bytes()) {
                client.reply.error("ERR PSYNC FAILOVER replid must match my replid.");
                return;
            }
            self.unset_master();
            let who = client.info_line(self.now, self.unsent_of(client.conn));
            self.repl_log(format!("MASTER MODE enabled (failover request from '{}')", who));
        }
        if self.repl.failover.is_some() {
            client.reply.error("NOMASTERLINK Can't SYNC while failing over");
            return;
        }
        if self.repl.is_replica() && !self.repl.link_up() {
            client.reply.error("NOMASTERLINK Can't SYNC while not connected with my master");
            return;
        }
        if client.multi.is_some() {
            client.reply.error("ERR Command not allowed inside a transaction");
            return;
        }
        let ip = client.repl_announced_ip.clone().unwrap_or_else(|| host_of(&client.addr).to_string());
        let mut replica = Replica {
            conn: client.conn,
            client_id: client.id,
            ip,
            listening_port: client.repl_listening_port,
            state: ReplicaState::WaitBgsave,
            ack_offset: 0,
            ack_ms: self.now,
            stream_from: None,
            obuf_soft_since: None,
            sync_note: String::new(),
            snapshot_job: None,
            legacy_sync: args[0].eq_ignore_ascii_case(b"sync"),
            capa_eof: client.repl_capa_eof,
        };
        let name = replica.name();
        self.repl_log(format!("Replica {} asks for synchronization", name));
        let (asked_id, asked_offset) = if args[0].eq_ignore_ascii_case(b"psync") && args.len() >= 3 {
            let Some(offset) = crate::resp::parse_i64(&args[2]) else {
                self.log(
                    LogLevel::Warning,
                    format!("Replica {} asks for synchronization but with a wrong offset", name),
                );
                client.reply.error("ERR value is not an integer or out of range");
                return;
            };
            (String::from_utf8_lossy(&args[1]).into_owned(), offset)
        } else {
            ("?".to_string(), -1)
        };
        client.role = ClientRole::Replica;
        let partial_asked = asked_id != "?";
        // What the stream produced earlier in this event goes to the replicas already there:
        // the new one gets it from the backlog or the snapshot.
        self.flush_replication_stream();
        // What we answered before (REPLCONF's +OK) must leave before the sync bytes, which
        // go straight to the connection.
        self.flush_client(client);
        if self.try_partial_resync(client, &mut replica, &asked_id, asked_offset) {
            self.stats.sync_partial_ok += 1;
            self.repl.replicas.push(replica);
            self.repl.no_replicas_since = None;
            return;
        }
        self.stats.sync_full += 1;
        if partial_asked {
            self.stats.sync_partial_err += 1;
        }
        // Full resync: the replica will get `+FULLRESYNC <id> <offset>` when its snapshot
        // starts (the offset is the snapshot's), then the snapshot, then the stream from there.
        self.ensure_backlog();
        self.repl.replicas.push(replica);
        self.repl.no_replicas_since = None;
        // A snapshot already being made started before this replica asked: it waits for the
        // next one. Diskless, the first replica waits a little for others to join.
        let delay = self.config.get_i64("repl-diskless-sync-delay").unwrap_or(5);
        let capa_eof = self.repl.replicas.last().is_some_and(|r| r.capa_eof);
        if self.config.get_bool("repl-diskless-sync") && capa_eof && delay > 0 && self.repl.sync_job.is_none() {
            self.repl_log("Delay next BGSAVE for diskless SYNC");
        }
        self.repl.sync_wanted_since.get_or_insert(self.now);
        self.start_pending_sync();
    }

    /// Can a PSYNC for (`id`, `offset`) continue our stream? (Redis's
    /// `masterTryPartialResynchronization`, the decision only.)
    fn psync_verdict(&self, id: &str, offset: i64) -> PsyncVerdict {
        if id == "?" {
            return PsyncVerdict::NothingToContinue;
        }
        let same_id = id.eq_ignore_ascii_case(&self.repl.replid);
        let old_id = id.eq_ignore_ascii_case(&self.repl.replid2);
        if !same_id && !old_id {
            return PsyncVerdict::OtherHistory;
        }
        if !same_id && offset > self.repl.second_offset {
            return PsyncVerdict::PastSecondId;
        }
        match &self.repl.backlog {
            Some(b) if offset >= 0 && b.covers(offset as u64) => PsyncVerdict::Continue,
            _ => PsyncVerdict::LackOfBacklog,
        }
    }

    fn try_partial_resync(&mut self, client: &mut Client, replica: &mut Replica, id: &str, offset: i64) -> bool {
        let name = replica.name();
        // The first 8 characters (not bytes: a replica may send anything).
        let short = |s: &str| s.chars().take(8).collect::<String>();
        let verdict = self.psync_verdict(id, offset);
        match verdict {
            PsyncVerdict::NothingToContinue => {
                replica.sync_note = "full resync: the replica had no data to continue (PSYNC ? -1)".into();
                self.repl_log(format!("Full resync requested by replica {}", name));
            }
            PsyncVerdict::PastSecondId => {
                let s = self.repl.second_offset;
                replica.sync_note =
                    format!("full resync: offset {} is past where this master's old history ends ({})", offset, s);
                self.repl_log(format!(
                    "Partial resynchronization not accepted: Requested offset for second ID was {}, but I can reply up to {}",
                    offset, s
                ));
            }
            PsyncVerdict::OtherHistory => {
                let (a, b) = (self.repl.replid.clone(), self.repl.replid2.clone());
                replica.sync_note =
                    format!("full resync: the replica's history {}… is not this master's ({}…)", short(id), short(&a));
                self.repl_log(format!(
                    "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{}', my replication IDs are '{}' and '{}')",
                    id, a, b
                ));
            }
            PsyncVerdict::LackOfBacklog => {
                replica.sync_note = match &self.repl.backlog {
                    Some(b) => format!(
                        "full resync: offset {} fell out of the backlog (it holds {}..{}, repl-backlog-size {})",
                        offset,
                        b.first_offset,
                        b.first_offset + b.histlen as u64,
                        b.size()
                    ),
                    None => "full resync: no backlog".into(),
                };
                self.repl_log(format!(
                    "Unable to partial resync with replica {} for lack of backlog (Replica request was: {}).",
                    name, offset
                ));
                if offset > self.repl.offset as i64 {
                    self.log(
                        LogLevel::Warning,
                        format!(
                            "Warning: replica {} tried to PSYNC with an offset that is greater than the master replication offset.",
                            name
                        ),
                    );
                }
            }
            PsyncVerdict::Continue => {}
        }
        if verdict != PsyncVerdict::Continue {
            return false;
        }
        let backlog = self.repl.backlog.as_ref().unwrap().since(offset as u64);
        // Straight to the connection, as the full sync's bytes go: a replica's link carries
        // no replies.
        let cont = Bytes::from(format!("+CONTINUE {}\r\n", self.repl.replid));
        let backlog_len = backlog.len();
        self.send(client.conn, cont);
        if backlog_len > 0 {
            self.send_to_replica(client.conn, Bytes::from(backlog));
        }
        replica.state = ReplicaState::Online;
        replica.ack_offset = offset.saturating_sub(1) as u64;
        replica.sync_note = format!(
            "partial resync: asked to continue {}… at offset {}, sent {} bytes from the backlog",
            short(id),
            offset,
            backlog_len
        );
        self.repl_log(format!(
            "Partial resynchronization request from {} accepted. Sending {} bytes of backlog starting from offset {}.",
            name, backlog_len, offset
        ));
        true
    }

    /// Start the snapshot for replicas waiting for a full sync, when its time has come: at
    /// once on disk, after `repl-diskless-sync-delay` seconds (or as soon as
    /// `repl-diskless-sync-max-replicas` wait) over the socket.
    pub(crate) fn start_pending_sync(&mut self) {
        let Some(since) = self.repl.sync_wanted_since else { return };
        if self.repl.sync_job.is_some() || self.persist.bgsave_job.is_some() {
            return;
        }
        let waiting = self.repl.replicas.iter().filter(|r| r.state == ReplicaState::WaitBgsave).count();
        if waiting == 0 {
            self.repl.sync_wanted_since = None;
            return;
        }
        // Diskless only if every replica it is for can read an end-marked stream (Redis's
        // `mincapa` in `startBgsaveForReplication`); a bare SYNC does not wait for others.
        let all_eof = self
            .repl
            .replicas
            .iter()
            .filter(|r| r.state == ReplicaState::WaitBgsave && r.snapshot_job.is_none())
            .all(|r| r.capa_eof);
        let diskless = self.config.get_bool("repl-diskless-sync") && all_eof;
        if diskless {
            let delay = self.config.get_i64("repl-diskless-sync-delay").unwrap_or(5).max(0) as u64 * 1000;
            let max = self.config.get_i64("repl-diskless-sync-max-replicas").unwrap_or(0).max(0) as usize;
            let enough = max > 0 && waiting >= max;
            if delay > 0 && !enough && self.now < since + delay {
                return;
            }
        }
        self.repl.sync_wanted_since = None;
        // Stream produced before the snapshot belongs to replicas already online, not to the
        // ones the snapshot is for.
        self.flush_replication_stream();
        // The snapshot is the dataset at this offset: its replicas learn both now, and the
        // stream they will get after it starts here, with a SELECT.
        let id = if diskless {
            self.repl_log("Starting BGSAVE for SYNC with target: replicas sockets");
            let id = self.start_persist_job(true, false, true, PersistPurpose::Sync);
            self.repl.sync_job = Some((id, true));
            self.repl_log(format!("Background RDB transfer started by pid {}", self.pid));
            id
        } else {
            self.repl_log("Starting BGSAVE for SYNC with target: disk");
            let id = self.begin_bgsave(PersistPurpose::Sync, true);
            self.repl.sync_job = Some((id, false));
            id
        };
        self.repl.seldb = None;
        let reply = Bytes::from(format!("+FULLRESYNC {} {}\r\n", self.repl.replid, self.repl.offset));
        let mut promised = Vec::new();
        for r in self.repl.replicas.iter_mut() {
            if r.state == ReplicaState::WaitBgsave && r.snapshot_job.is_none() {
                r.snapshot_job = Some(id);
                r.stream_from = Some(self.repl.offset + 1);
                if !r.legacy_sync {
                    promised.push(r.conn);
                }
            }
        }
        self.repin_backlog();
        for conn in promised {
            self.send_to_replica(conn, reply.clone());
        }
    }

    /// The snapshot for replicas is ready: send it to each waiting replica, then what the
    /// stream produced meanwhile.
    pub fn sync_snapshot_ready(&mut self, job: u64, image: Option<Bytes>) {
        let Some((id, diskless)) = self.repl.sync_job else { return };
        if id != job {
            return;
        }
        self.repl.sync_job = None;
        let Some(image) = image else {
            // The save failed: drop the waiting replicas, they will retry.
            let conns: Vec<ConnId> =
                self.repl.replicas.iter().filter(|r| r.snapshot_job == Some(job)).map(|r| r.conn).collect();
            for conn in conns {
                self.log(LogLevel::Warning, "SYNC failed. BGSAVE child returned an error");
                self.drop_replica(conn);
                self.outputs.push_back(Output::Close { conn });
            }
            return;
        };
        let now = self.now;
        let mut served = Vec::new();
        for r in self.repl.replicas.iter_mut() {
            if r.snapshot_job != Some(job) {
                continue;
            }
            r.snapshot_job = None;
            if diskless {
                // Streaming starts when the replica acknowledges the snapshot.
                r.state = ReplicaState::WaitAck;
            } else {
                r.state = ReplicaState::Online;
                r.ack_ms = now;
            }
            served.push((r.conn, r.name()));
        }
        if diskless {
            self.log(
                LogLevel::Warning,
                format!("Diskless rdb transfer, done reading from pipe, {} replicas still up.", served.len()),
            );
            self.repl_log("Background RDB transfer terminated with success");
        }
        for (conn, name) in served {
            if diskless {
                let mark = self.rng.hex40();
                let mut out = BytesMut::with_capacity(image.len() + 100);
                out.extend_from_slice(format!("$EOF:{}\r\n", mark).as_bytes());
                out.extend_from_slice(&image);
                out.extend_from_slice(mark.as_bytes());
                self.send_snapshot(conn, out.freeze());
                self.repl_log(format!(
                    "Streamed RDB transfer with replica {} succeeded (socket). Waiting for REPLCONF ACK from slave to enable streaming",
                    name
                ));
            } else {
                self.send_to_replica(conn, Bytes::from(format!("${}\r\n", image.len())));
                self.send_snapshot(conn, image.clone());
                self.send_held_stream(conn);
                self.repl_log(format!("Synchronization with replica {} succeeded", name));
            }
        }
        // Replicas that arrived while this snapshot was made need the next one.
        if self.repl.replicas.iter().any(|r| r.state == ReplicaState::WaitBgsave) {
            self.repl.sync_wanted_since.get_or_insert(self.now);
        }
    }

    /// Forget a replica (its connection is gone).
    pub fn drop_replica(&mut self, conn: ConnId) -> Option<Replica> {
        let pos = self.repl.replicas.iter().position(|r| r.conn == conn)?;
        let r = self.repl.replicas.remove(pos);
        if self.repl.replicas.is_empty() {
            self.repl.no_replicas_since = Some(self.now);
        }
        self.repin_backlog();
        Some(r)
    }

    /// A replica's connection closed. If it was the last one waiting for a snapshot on disk
    /// and no save point wants the file, the save is killed: it is of no use (Redis's
    /// `freeClient` with `anyOtherSlaveWaitRdb`).
    pub fn replica_closed(&mut self, conn: ConnId) {
        let Some(r) = self.drop_replica(conn) else { return };
        self.log(LogLevel::Warning, format!("Connection with replica {} lost.", r.name()));
        if let (Some(job), Some((sync, false))) = (r.snapshot_job, self.repl.sync_job) {
            let others_wait = self.repl.replicas.iter().any(|o| o.snapshot_job == Some(job));
            if job == sync && !others_wait && self.config.save_points().is_empty() {
                self.repl.sync_job = None;
                self.kill_bgsave(job);
                if self.repl.replicas.iter().any(|o| o.state == ReplicaState::WaitBgsave) {
                    self.repl.sync_wanted_since.get_or_insert(self.now);
                }
            }
        }
    }

    /// Close a replica's connection; releasing its client forgets the replica.
    fn close_replica(&mut self, conn: ConnId) {
        if let Some(mut c) = self.clients.remove(&conn) {
            command::release_client_state(self, &mut c);
        }
        self.replica_closed(conn);
        self.outputs.push_back(Output::Close { conn });
    }

    /// Close every replica connection (they will reconnect and PSYNC).
    pub fn disconnect_replicas(&mut self) {
        let conns: Vec<ConnId> = self.repl.replicas.iter().map(|r| r.conn).collect();
        for conn in conns {
            self.close_replica(conn);
        }
    }

    /// Clients in WAIT whose replicas acknowledged enough, or whose time ran out.
    pub fn serve_waiting_clients(&mut self) {
        if self.repl.waiting.is_empty() {
            return;
        }
        let now = self.now;
        let waiting = std::mem::take(&mut self.repl.waiting);
        for conn in waiting {
            let Some(c) = self.clients.get_mut(&conn) else { continue };
            let Some(w) = c.wait else { continue };
            let acked = self.repl.acked(w.offset);
            if acked >= w.replicas || w.deadline.is_some_and(|d| d <= now) {
                c.wait = None;
                c.reply.int(acked as i64);
                self.to_flush.push(conn);
                self.resume_queue.push(conn);
            } else {
                self.repl.waiting.push(conn);
            }
        }
    }

    // ───────────────────────────── replica side ─────────────────────────────

    /// `REPLICAOF host port`: become a replica (Redis's `replicationSetMaster`).
    pub fn set_master(&mut self, host: String, port: u16) {
        // Clients blocked on keys of the master we were would wait for writes a replica never
        // makes itself (Redis's `disconnectAllBlockedClients`).
        self.disconnect_blocked_clients();
        let old = self.close_master_link();
        // Our replicas stay: with luck we continue our stream with the new master. They are
        // disconnected when it gives us another one — a new id on `+CONTINUE`, or a snapshot
        // once it is transferred, before it is loaded (7.0's `replicationSetMaster`).
        self.repl.master = Some(MasterLink::new(host, port, self.now));
        if old.is_none() {
            // Our own stream is a dataset the new master may know (we were its replica
            // once): offer it as a cached master.
            self.repl_log(
                "Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.",
            );
            // Any db will do: the new master starts our stream with a SELECT.
            let (replid, offset) = (self.repl.replid.clone(), self.repl.offset);
            self.repl.cached_master = Some(CachedMaster { replid, offset, db: 0 });
        }
        self.connect_to_master(true);
    }

    /// Clients blocked on keys get an error and are disconnected once it is sent.
    fn disconnect_blocked_clients(&mut self) {
        let blocked: Vec<ConnId> = self.clients.values().filter(|c| c.blocked.is_some()).map(|c| c.conn).collect();
        for conn in blocked {
            let Some(mut c) = self.clients.remove(&conn) else { continue };
            command::unblock_client(self, &mut c);
            command::fail_blocked_client(
                self,
                &mut c,
                "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)",
            );
            c.close_after_reply = true;
            self.flush_client(&mut c);
            self.outputs.push_back(Output::Close { conn });
            command::release_client_state(self, &mut c);
        }
    }

    /// `REPLICAOF NO ONE`: become a master (Redis's `replicationUnsetMaster`).
    pub fn unset_master(&mut self) {
        if self.close_master_link().is_none() {
            return;
        }
        if self.repl.cached_master.take().is_some() {
            self.repl_log("Discarding previously cached master state.");
        }
        self.shift_replication_id();
        // Replicas learn of the new id by reconnecting (a partial resync thanks to replid2).
        self.disconnect_replicas();
        self.repl.seldb = None;
    }

    /// Close the link to the master and take it out of `repl.master` (so what it logs carries
    /// the role `M`, as Redis's lines do), caching a synced master's state.
    fn close_master_link(&mut self) -> Option<MasterLink> {
        let mut link = self.repl.master.take()?;
        let was_synced = link.state == LinkState::Connected;
        let (conn, applied) = link.reset();
        let mut db = 0;
        if let Some(conn) = conn {
            db = self.forget_master_client(conn);
            self.outputs.push_back(Output::Close { conn });
        }
        if was_synced {
            self.master_lost(applied, db);
        }
        Some(link)
    }

    /// The master client goes with its connection; returns the db its stream had selected.
    fn forget_master_client(&mut self, conn: ConnId) -> usize {
        match self.clients.remove(&conn) {
            Some(mut c) => {
                command::release_client_state(self, &mut c);
                c.db
            }
            None => 0,
        }
    }

    /// A synced link is gone: say so, and keep what we hold as a cached master (Redis's
    /// `replicationCacheMaster`), with the db its stream had selected.
    fn master_lost(&mut self, applied: Option<u64>, db: usize) {
        self.log(LogLevel::Warning, "Connection with master lost.");
        if let Some(offset) = applied {
            self.repl_log("Caching the disconnected master state.");
            self.repl.cached_master = Some(CachedMaster { replid: self.repl.replid.clone(), offset, db });
        }
    }

    /// Where this node's dataset stands in a replication stream, for the RDB it saves (Redis's
    /// `rdbPopulateSaveInfo`): a master with a backlog is at its own offset, with the db its
    /// stream last selected; a replica at what it applied of its master's (or cached
    /// master's) stream. `None` outside any stream.
    pub fn rdb_save_info(&self) -> Option<crate::rdb::ReplSaveInfo> {
        let replid = self.repl.replid.clone();
        let offset = self.repl.offset;
        match self.repl.master.as_ref() {
            None => {
                self.repl.backlog.as_ref()?;
                Some(crate::rdb::ReplSaveInfo { replid, offset, stream_db: self.repl.seldb.unwrap_or(0) })
            }
            Some(link) => {
                if let Some(conn) = link.conn.filter(|_| link.state == LinkState::Connected) {
                    let stream_db = self.clients.get(&conn).map_or(0, |c| c.db);
                    return Some(crate::rdb::ReplSaveInfo { replid, offset, stream_db });
                }
                let cached = self.repl.cached_master.as_ref()?;
                Some(crate::rdb::ReplSaveInfo {
                    replid: cached.replid.clone(),
                    offset: cached.offset,
                    stream_db: cached.db,
                })
            }
        }
    }

    /// New id for our stream; the old one stays valid up to the current offset.
    fn shift_replication_id(&mut self) {
        self.repl.replid2 = std::mem::replace(&mut self.repl.replid, self.rng.hex40());
        self.repl.second_offset = self.repl.offset as i64 + 1;
        let (a, b, c) = (self.repl.replid2.clone(), self.repl.second_offset, self.repl.replid.clone());
        self.log(
            LogLevel::Warning,
            format!(
                "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {}",
                a, b, c
            ),
        );
    }

    /// Open the connection to the master (Redis's `connectWithMaster`); `announce` logs
    /// "Connecting to MASTER" (a reconnection after a loss has logged "Reconnecting" instead).
    pub fn connect_to_master(&mut self, announce: bool) {
        if self.repl.master.as_ref().is_none_or(|l| l.state != LinkState::Connect) {
            return;
        }
        let conn = self.next_outbound_conn();
        let link = self.repl.master.as_mut().expect("checked above");
        link.conn = Some(conn);
        link.state = LinkState::Connecting;
        link.last_io_ms = self.now;
        let addr = format!("{}:{}", link.host, link.port);
        if announce {
            self.repl_log(format!("Connecting to MASTER {}", addr));
        }
        self.outputs.push_back(Output::Connect { conn, addr });
        self.repl_log("MASTER <-> REPLICA sync started");
    }

    /// A fresh id for a connection this node opens (its master link, a MIGRATE target), from
    /// a range the driver never gives to accepted connections.
    pub(crate) fn next_outbound_conn(&mut self) -> ConnId {
        self.repl.next_outbound += 1;
        OUTBOUND_CONN_BASE + self.repl.next_outbound
    }

    /// The driver opened (or failed to open) an outbound connection.
    pub fn outbound_result(&mut self, conn: ConnId, result: Result<String, String>) {
        let Some(link) = self.repl.master.as_mut() else { return };
        if link.conn != Some(conn) || link.state != LinkState::Connecting {
            return;
        }
        match result {
            Ok(laddr) => {
                self.repl_log("Non blocking connect for SYNC fired the event.");
                let link = self.repl.master.as_mut().unwrap();
                link.laddr = laddr;
                link.state = LinkState::ReceivePing;
                link.last_io_ms = self.now;
                self.send_to_master(&[b"PING"]);
            }
            Err(e) => {
                link.conn = None;
                link.state = LinkState::Connect;
                self.log(LogLevel::Warning, format!("Error condition on socket for SYNC: {}", e));
            }
        }
    }

    fn send_to_master(&mut self, args: &[&[u8]]) {
        let Some(conn) = self.repl.master.as_ref().and_then(|m| m.conn) else { return };
        let mut buf = BytesMut::new();
        encode_command(&mut buf, args);
        self.outputs.push_back(Output::Send { conn, bytes: buf.freeze() });
    }

    fn send_ack(&mut self, offset: u64) {
        self.send_to_master(&[b"REPLCONF", b"ACK", offset.to_string().as_bytes()]);
    }

    /// Whether `conn` is the link to our master.
    pub fn is_master_conn(&self, conn: ConnId) -> bool {
        self.repl.master.as_ref().is_some_and(|m| m.conn == Some(conn))
    }

    /// The driver closed the link to the master (the peer went away, or a timeout).
    pub fn master_conn_closed(&mut self) {
        let Some(link) = self.repl.master.as_mut() else { return };
        let was_synced = link.state == LinkState::Connected;
        let lost_transfer = match link.state {
            LinkState::Transfer if link.framing.is_none() => {
                Some("I/O error reading bulk count from MASTER: connection lost")
            }
            LinkState::Transfer => Some("I/O error trying to sync with MASTER: connection lost"),
            _ => None,
        };
        let (conn, applied) = link.reset();
        if was_synced {
            link.down_since_ms = Some(self.now);
        }
        let (host, port) = (link.host.clone(), link.port);
        let db = conn.map_or(0, |conn| self.forget_master_client(conn));
        if let Some(msg) = lost_transfer {
            self.log(LogLevel::Warning, msg);
        }
        if was_synced {
            self.master_lost(applied, db);
            // Reconnect at once rather than at the next cron: the backlog may be recycled.
            self.repl_log(format!("Reconnecting to MASTER {}:{}", host, port));
            self.connect_to_master(false);
        }
    }

    /// Bytes from the master during the handshake or the snapshot transfer. Returns bytes
    /// that belong to the stream (after the snapshot), for the master client.
    pub fn master_handshake_data(&mut self, bytes: &[u8]) -> Option<FromMaster> {
        let link = self.repl.master.as_mut()?;
        link.last_io_ms = self.now;
        link.inbuf.extend_from_slice(bytes);
        loop {
            let link = self.repl.master.as_mut()?;
            match link.state {
                LinkState::Transfer => return self.read_snapshot(),
                // +CONTINUE: what follows it is the stream.
                LinkState::Connected => return Some(FromMaster { snapshot: None, stream: link.inbuf.split() }),
                LinkState::Connect | LinkState::Connecting => return None,
                _ => {}
            }
            let line = take_line(&mut link.inbuf)?;
            self.handshake_reply(line);
        }
    }

    fn handshake_reply(&mut self, line: String) {
        let state = self.repl.master.as_ref().unwrap().state;
        match state {
            LinkState::ReceivePing => {
                if line.starts_with('-')
                    && !line.starts_with("-NOAUTH")
                    && !line.starts_with("-NOPERM")
                    && !line.starts_with("-ERR operation not permitted")
                {
                    self.log(LogLevel::Warning, format!("Error reply to PING from master: '{}'", line));
                    return self.abort_handshake();
                }
                self.repl_log("Master replied to PING, replication can continue...");
                // AUTH, port, ip and capabilities go out together; replies come one by one.
                let auth = self.config.get_str("masterauth");
                let user = self.config.get_str("masteruser");
                let mut next = LinkState::ReceivePort;
                if !auth.is_empty() {
                    if user.is_empty() {
                        self.send_to_master(&[b"AUTH", auth.as_bytes()]);
                    } else {
                        self.send_to_master(&[b"AUTH", user.as_bytes(), auth.as_bytes()]);
                    }
                    next = LinkState::ReceiveAuth;
                }
                let port = match self.config.get_i64("replica-announce-port").unwrap_or(0) {
                    0 => self.config.port() as i64,
                    p => p,
                };
                self.send_to_master(&[b"REPLCONF", b"listening-port", port.to_string().as_bytes()]);
                let ip = self.config.get_str("replica-announce-ip");
                if !ip.is_empty() {
                    self.send_to_master(&[b"REPLCONF", b"ip-address", ip.as_bytes()]);
                }
                self.send_to_master(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]);
                self.set_link_state(next);
            }
            LinkState::ReceiveAuth => {
                if line.starts_with('-') {
                    self.log(LogLevel::Warning, format!("Unable to AUTH to MASTER: {}", line));
                    return self.abort_handshake();
                }
                self.set_link_state(LinkState::ReceivePort);
            }
            LinkState::ReceivePort | LinkState::ReceiveIp | LinkState::ReceiveCapa => {
                let what = match state {
                    LinkState::ReceivePort => "listening-port",
                    LinkState::ReceiveIp => "ip-address",
                    _ => "capa",
                };
                if line.starts_with('-') {
                    self.repl_log(format!("(Non critical) Master does not understand REPLCONF {}: {}", what, line));
                }
                let announces_ip = !self.config.get_str("replica-announce-ip").is_empty();
                match state {
                    LinkState::ReceivePort if announces_ip => self.set_link_state(LinkState::ReceiveIp),
                    LinkState::ReceivePort | LinkState::ReceiveIp => self.set_link_state(LinkState::ReceiveCapa),
                    _ => self.send_psync(),
                }
            }
            // A master that delays the snapshot (`repl-diskless-sync-delay`, or a save already
            // running) keeps the link alive with bare newlines before it answers.
            LinkState::ReceivePsync if line.is_empty() => {}
            LinkState::ReceivePsync => self.psync_reply(line),
            _ => {}
        }
    }

    fn send_psync(&mut self) {
        let (id, offset) = match self.repl.cached_master.clone() {
            Some(c) => {
                let asked = (c.replid.clone(), c.offset + 1);
                self.repl_log(format!("Trying a partial resynchronization (request {}:{}).", asked.0, asked.1));
                asked
            }
            None => {
                self.repl_log("Partial resynchronization not possible (no cached master)");
                ("?".to_string(), 0)
            }
        };
        let off_text = if id == "?" { "-1".to_string() } else { offset.to_string() };
        // A master failing over asks its target to take over as it resyncs.
        if self.repl.failover.as_ref().is_some_and(|f| f.state == FailoverState::InProgress) {
            self.send_to_master(&[b"PSYNC", id.as_bytes(), off_text.as_bytes(), b"FAILOVER"]);
        } else {
            self.send_to_master(&[b"PSYNC", id.as_bytes(), off_text.as_bytes()]);
        }
        self.set_link_state(LinkState::ReceivePsync);
    }

    fn set_link_state(&mut self, state: LinkState) {
        if let Some(link) = self.repl.master.as_mut() {
            link.state = state;
        }
    }

    fn psync_reply(&mut self, line: String) {
        // A failover ends when the target accepts our PSYNC, partial or full.
        if self.repl.failover.as_ref().is_some_and(|f| f.state == FailoverState::InProgress) {
            if line.starts_with("+FULLRESYNC") || line.starts_with("+CONTINUE") {
                self.clear_failover();
            } else {
                self.abort_failover("Failover target rejected psync request");
                return;
            }
        }
        if let Some(rest) = line.strip_prefix("+FULLRESYNC") {
            let mut words = rest.split_whitespace();
            let (Some(id), Some(off)) = (words.next(), words.next().and_then(|o| o.parse::<u64>().ok())) else {
                self.log(LogLevel::Warning, "Master replied with wrong +FULLRESYNC syntax.");
                return self.abort_handshake();
            };
            self.repl_log(format!("Full resync from master: {}:{}", id, off));
            self.expect_snapshot(Some((id.to_string(), off)));
        } else if let Some(rest) = line.strip_prefix("+CONTINUE") {
            let new_id = rest.trim();
            let Some(cached) = self.repl.cached_master.take() else { return self.abort_handshake() };
            self.repl_log("Successful partial resynchronization with master.");
            if !new_id.is_empty() && !new_id.eq_ignore_ascii_case(&cached.replid) {
                // The master's stream changed id (it was promoted): ours follows.
                self.repl.replid2 = cached.replid.clone();
                self.repl.second_offset = cached.offset as i64 + 1;
                self.repl.replid = new_id.to_string();
                self.repl_log(format!("Master replication ID changed to {}", new_id));
                self.disconnect_replicas();
            }
            self.repl.offset = cached.offset;
            self.ensure_backlog();
            self.repl_log("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
            self.attach_master_client(cached.offset, cached.db);
        } else if line.starts_with("-NOMASTERLINK") || line.starts_with("-LOADING") {
            self.repl_log(format!("Master is currently unable to PSYNC but should be in the future: {}", line));
            self.abort_handshake();
        } else {
            // Redis falls back to the pre-2.8 SYNC, which a master in error answers with its
            // error where the snapshot would be.
            if line.starts_with("-ERR") {
                self.repl_log(format!("Master does not support PSYNC or is in error state (reply: {})", line));
            } else {
                self.log(LogLevel::Warning, format!("Unexpected reply to PSYNC from master: {}", line));
            }
            self.repl_log("Retrying with SYNC...");
            self.send_to_master(&[b"SYNC"]);
            self.expect_snapshot(None);
        }
    }

    /// The snapshot comes next; `promised` is the stream it starts (`None` after a SYNC).
    fn expect_snapshot(&mut self, promised: Option<(String, u64)>) {
        let link = self.repl.master.as_mut().unwrap();
        link.full_sync_id = promised;
        link.state = LinkState::Transfer;
        link.framing = None;
        link.image.clear();
    }

    /// A failed handshake (Redis's `cancelReplicationHandshake(1)`): reconnect at once, as
    /// Redis does — but at most once a second, where Redis loops as fast as the network goes
    /// (a simulated world would fill its trace with the same lines).
    fn handshake_failed(&mut self) {
        self.abort_handshake();
        let Some(link) = self.repl.master.as_ref() else { return };
        if self.now.saturating_sub(self.repl.last_failure_ms) >= 1000 {
            self.repl.last_failure_ms = self.now;
            let where_to = format!("{}:{}", link.host, link.port);
            self.repl_log(format!("Reconnecting to MASTER {} after failure", where_to));
            self.connect_to_master(false);
        }
    }

    /// Give up this attempt; the cron tries again in a second.
    fn abort_handshake(&mut self) {
        let Some(link) = self.repl.master.as_mut() else { return };
        if let (Some(conn), _) = link.reset() {
            self.outputs.push_back(Output::Close { conn });
        }
    }

    /// Read the snapshot; when complete, load it and start applying the stream.
    fn read_snapshot(&mut self) -> Option<FromMaster> {
        let link = self.repl.master.as_mut()?;
        if link.framing.is_none() {
            // Newlines are the master's keep-alive while it prepares the snapshot.
            while link.inbuf.first() == Some(&b'\n') {
                let _ = link.inbuf.split_to(1);
            }
            let line = take_line(&mut link.inbuf)?;
            if let Some(err) = line.strip_prefix('-') {
                let msg = format!("MASTER aborted replication with an error: {}", err);
                self.log(LogLevel::Warning, msg);
                self.handshake_failed();
                return None;
            }
            let framing = if let Some(mark) = line.strip_prefix("$EOF:") {
                let mut m = [0u8; 40];
                if mark.len() != 40 {
                    self.abort_handshake();
                    return None;
                }
                m.copy_from_slice(mark.as_bytes());
                self.repl_log("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk");
                Framing::EndMark(m)
            } else if let Some(len) = line.strip_prefix('$').and_then(|l| l.parse::<usize>().ok()) {
                self.repl_log(format!("MASTER <-> REPLICA sync: receiving {} bytes from master to disk", len));
                Framing::Length(len)
            } else {
                self.log(LogLevel::Warning, format!("Bad protocol from MASTER, the first byte is not '$' (we received '{}'), are you sure the host and port are right?", line));
                self.abort_handshake();
                return None;
            };
            self.repl.master.as_mut().unwrap().framing = Some(framing);
        }
        let link = self.repl.master.as_mut()?;
        let done = match link.framing.as_ref()? {
            Framing::Length(len) => {
                let need = len - link.image.len();
                let n = need.min(link.inbuf.len());
                link.image.extend_from_slice(&link.inbuf.split_to(n));
                link.image.len() == *len
            }
            Framing::EndMark(mark) => {
                link.image.extend_from_slice(&link.inbuf.split());
                if link.image.ends_with(mark) {
                    let l = link.image.len() - 40;
                    link.image.truncate(l);
                    true
                } else {
                    false
                }
            }
        };
        if !done {
            return None;
        }
        let image = std::mem::take(&mut link.image);
        let rest = link.inbuf.split();
        let promised = link.full_sync_id.clone();
        link.framing = None;
        // After a legacy SYNC the master named no stream: start one of our own at 0.
        let (id, offset) = promised.unwrap_or_else(|| (self.rng.hex40(), 0));
        self.snapshot_received(id, offset);
        Some(FromMaster { snapshot: Some(image), stream: rest })
    }

    /// A full snapshot arrived: start over from the stream it begins (the node loads it).
    fn snapshot_received(&mut self, id: String, offset: u64) {
        if self.repl.cached_master.take().is_some() {
            self.repl_log("Discarding previously cached master state.");
        }
        self.repl_log("MASTER <-> REPLICA sync: Flushing old data");
        self.all_keys_modified(None);
        self.keyspace.flush_all();
        self.repl_log("MASTER <-> REPLICA sync: Loading DB in memory");
        self.repl.replid = id;
        self.repl.replid2 = NO_REPLID.into();
        self.repl.second_offset = -1;
        self.repl.offset = offset;
        // A new history: the old backlog describes another stream.
        self.repl.backlog = None;
        self.ensure_backlog();
        // Sub-replicas must resync with the new dataset.
        self.disconnect_replicas();
        // The stream after a snapshot starts with a SELECT.
        self.attach_master_client(offset, 0);
    }

    /// The link is synced: the master becomes a client whose commands we apply, in the db its
    /// stream has selected.
    fn attach_master_client(&mut self, offset: u64, db: usize) {
        let link = self.repl.master.as_mut().unwrap();
        link.state = LinkState::Connected;
        link.parsed_unapplied = 0;
        link.applied = Some(offset);
        link.read = Some(offset);
        link.down_since_ms = None;
        link.last_io_ms = self.now;
        let conn = link.conn.expect("a connected link has a connection");
        let addr = format!("{}:{}", link.host, link.port);
        let laddr = link.laddr.clone();
        self.next_client_id += 1;
        let mut client = Client::new(self.next_client_id, conn, addr, laddr, self.now, true);
        client.role = ClientRole::Master;
        client.user = "(superuser)".into();
        client.db = db;
        self.clients.insert(conn, client);
        self.repl.seldb = None;
        self.send_ack(offset);
    }

    /// Record stream bytes from the master as received (`slave_read_repl_offset`).
    pub fn master_stream_received(&mut self, bytes: &[u8]) {
        if let Some(link) = self.repl.master.as_mut() {
            link.last_io_ms = self.now;
            link.unapplied.extend_from_slice(bytes);
            if let Some(r) = link.read.as_mut() {
                *r += bytes.len() as u64;
            }
        }
    }

    /// `n` bytes of the master's stream were applied: they advance our offset and go on to
    /// our own backlog and replicas, byte for byte.
    pub fn master_stream_applied(&mut self, n: usize) {
        let Some(link) = self.repl.master.as_mut() else { return };
        let n = n.min(link.unapplied.len());
        let bytes = link.unapplied.split_to(n);
        if let Some(a) = link.applied.as_mut() {
            *a += n as u64;
        }
        self.feed_raw(&bytes);
    }

    /// The `# Replication` section of INFO, field for field as Redis 7.0 writes it.
    pub fn info_replication(&self) -> String {
        use std::fmt::Write;
        let now = self.now;
        let repl = &self.repl;
        let mut out = String::from("# Replication\r\n");
        match repl.master.as_ref() {
            None => out.push_str("role:master\r\n"),
            Some(link) => {
                let up = link.state == LinkState::Connected;
                let last_io = if up { (now.saturating_sub(link.last_io_ms) / 1000) as i64 } else { -1 };
                let (applied, read) = match (link.applied, link.read, &repl.cached_master) {
                    (Some(a), Some(r), _) => (a as i64, r as i64),
                    (_, _, Some(c)) => (c.offset as i64, c.offset as i64),
                    _ => (1, 1),
                };
                let _ = write!(
                    out,
                    "role:slave\r\nmaster_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\nmaster_last_io_seconds_ago:{}\r\nmaster_sync_in_progress:{}\r\nslave_read_repl_offset:{}\r\nslave_repl_offset:{}\r\n",
                    link.host,
                    link.port,
                    if up { "up" } else { "down" },
                    last_io,
                    (link.state == LinkState::Transfer) as u8,
                    read,
                    applied
                );
                if link.state == LinkState::Transfer {
                    let (got, total) = link.transfer_progress();
                    let total = total.map(|t| t as i64).unwrap_or(-1);
                    let left = if total < 0 { -1 } else { total - got as i64 };
                    let perc = if total > 0 { got as f64 * 100.0 / total as f64 } else { 0.0 };
                    let _ = write!(
                        out,
                        "master_sync_total_bytes:{}\r\nmaster_sync_read_bytes:{}\r\nmaster_sync_left_bytes:{}\r\nmaster_sync_perc:{:.2}\r\nmaster_sync_last_io_seconds_ago:{}\r\n",
                        total,
                        got,
                        left,
                        perc,
                        now.saturating_sub(link.last_io_ms) / 1000
                    );
                }
                if !up {
                    let since = link.down_since_ms.map(|d| (now.saturating_sub(d) / 1000) as i64).unwrap_or(-1);
                    let _ = write!(out, "master_link_down_since_seconds:{}\r\n", since);
                }
                let _ = write!(
                    out,
                    "slave_priority:{}\r\nslave_read_only:{}\r\nreplica_announced:{}\r\n",
                    self.config.get_i64("replica-priority").unwrap_or(100),
                    self.config.get_bool("replica-read-only") as u8,
                    self.config.get_bool("replica-announced") as u8
                );
            }
        }
        let _ = write!(out, "connected_slaves:{}\r\n", repl.replicas.len());
        let min = self.config.get_i64("min-replicas-to-write").unwrap_or(0);
        let max_lag = self.config.get_i64("min-replicas-max-lag").unwrap_or(10);
        if min > 0 && max_lag > 0 {
            let _ = write!(out, "min_slaves_good_slaves:{}\r\n", repl.good_replicas(now, max_lag as u64));
        }
        for (i, r) in repl.replicas.iter().enumerate() {
            let _ = write!(
                out,
                "slave{}:ip={},port={},state={},offset={},lag={}\r\n",
                i,
                r.ip,
                r.listening_port,
                r.state.name(),
                r.ack_offset,
                now.saturating_sub(r.ack_ms) / 1000
            );
        }
        let (active, first, histlen) = match &repl.backlog {
            Some(b) => (1, b.first_offset, b.histlen),
            None => (0, 0, 0),
        };
        let _ = write!(
            out,
            "master_failover_state:{}\r\nmaster_replid:{}\r\nmaster_replid2:{}\r\nmaster_repl_offset:{}\r\nsecond_repl_offset:{}\r\nrepl_backlog_active:{}\r\nrepl_backlog_size:{}\r\nrepl_backlog_first_byte_offset:{}\r\nrepl_backlog_histlen:{}\r\n",
            self.failover_state_name(),
            repl.replid,
            repl.replid2,
            repl.offset,
            repl.second_offset,
            active,
            self.config.get_i64("repl-backlog-size").unwrap_or(1 << 20),
            first,
            histlen
        );
        out
    }

    // ───────────────────────────── coordinated failover ─────────────────────────────

    /// `FAILOVER [TO host port [FORCE]] [TIMEOUT ms]`, once the arguments are checked: pause
    /// writes and wait for a replica to catch up (Redis's `failoverCommand`).
    pub fn start_failover(&mut self, target: Option<(String, u16)>, timeout_ms: Option<u64>, force: bool) {
        match &target {
            Some((h, p)) => self.repl_log(format!("FAILOVER requested to {}:{}.", h, p)),
            None => self.repl_log("FAILOVER requested to any replica."),
        }
        let end_ms = timeout_ms.map(|t| self.now + t);
        self.repl.failover = Some(Failover { state: FailoverState::WaitForSync, target, end_ms, force });
        self.pause_clients(crate::node::PausePurpose::Failover, u64::MAX, true);
    }

    /// The online replica announcing itself as `host:port` (Redis's `findReplica`).
    pub fn find_replica(&self, host: &str, port: u16) -> Option<&Replica> {
        self.repl.replicas.iter().find(|r| r.ip.eq_ignore_ascii_case(host) && r.listening_port == port)
    }

    /// Redis's `updateFailoverStatus`: time out, or start when the target acknowledged our
    /// whole stream.
    fn update_failover_status(&mut self) {
        let Some(f) = self.repl.failover.clone() else { return };
        if f.state != FailoverState::WaitForSync {
            return;
        }
        if f.end_ms.is_some_and(|end| end <= self.now) {
            if f.force {
                let (host, port) = f.target.clone().unwrap_or_default();
                self.repl_log(format!("FAILOVER to {}:{} time out exceeded, failing over.", host, port));
                self.fail_over_to(host, port);
            } else {
                self.abort_failover("Replica never caught up before timeout");
            }
            return;
        }
        let offset = self.repl.offset;
        let caught_up = match &f.target {
            Some((h, p)) => self.find_replica(h, *p).filter(|r| r.ack_offset == offset).map(|_| (h.clone(), *p)),
            None => {
                self.repl.replicas.iter().find(|r| r.ack_offset == offset).map(|r| (r.ip.clone(), r.listening_port))
            }
        };
        if let Some((host, port)) = caught_up {
            self.repl_log(format!("Failover target {}:{} is synced, failing over.", host, port));
            self.fail_over_to(host, port);
        }
    }

    fn fail_over_to(&mut self, host: String, port: u16) {
        if let Some(f) = self.repl.failover.as_mut() {
            f.state = FailoverState::InProgress;
            f.target = Some((host.clone(), port));
        }
        self.set_master(host, port);
    }

    /// The failover is over (done or aborted): writes resume (Redis's `clearFailoverState`).
    fn clear_failover(&mut self) {
        self.repl.failover = None;
        self.unpause_clients(crate::node::PausePurpose::Failover);
    }

    /// Redis's `abortFailover`: say why, become a master again if we had turned, resume.
    pub fn abort_failover(&mut self, reason: &str) {
        let Some(f) = self.repl.failover.clone() else { return };
        match &f.target {
            Some((h, p)) => self.repl_log(format!("FAILOVER to {}:{} aborted: {}", h, p, reason)),
            None => self.repl_log(format!("FAILOVER to any replica aborted: {}", reason)),
        }
        if f.state == FailoverState::InProgress {
            self.unset_master();
        }
        self.clear_failover();
    }

    /// `master_failover_state` of INFO.
    pub fn failover_state_name(&self) -> &'static str {
        match self.repl.failover.as_ref().map(|f| f.state) {
            None => "no-failover",
            Some(FailoverState::WaitForSync) => "waiting-for-sync",
            Some(FailoverState::InProgress) => "failover-in-progress",
        }
    }

    // ───────────────────────────── cron ─────────────────────────────

    /// `replicationCron`: once a second (ten times a second during a failover, so that its
    /// handshake goes quickly).
    pub fn replication_cron(&mut self) {
        let now = self.now;
        // What replicas released is trimmed a little at every turn (7.0's `beforeSleep`).
        self.repin_backlog();
        let period = if self.repl.failover.is_some() { 100 } else { 1000 };
        if now < self.repl.last_cron_ms + period {
            self.start_pending_sync();
            return;
        }
        self.repl.last_cron_ms = now;
        self.update_failover_status();
        if self.repl.master.is_none() && self.repl.replicas.is_empty() && self.repl.backlog.is_none() {
            // A node with no replication at all has nothing to do here but time out WAITs.
            self.serve_waiting_clients();
            return;
        }
        let timeout = self.config.get_i64("repl-timeout").unwrap_or(60).max(1) as u64 * 1000;
        // Replica side.
        if let Some(link) = self.repl.master.as_ref() {
            let (state, last_io, conn) = (link.state, link.last_io_ms, link.conn);
            match state {
                LinkState::Connect => self.connect_to_master(true),
                LinkState::Connected => {
                    if now.saturating_sub(last_io) > timeout {
                        self.log(LogLevel::Warning, "MASTER timeout: no data nor PING received...");
                        if let Some(conn) = conn {
                            self.outputs.push_back(Output::Close { conn });
                        }
                        self.master_conn_closed();
                    } else {
                        let offset = link.applied.unwrap_or(0);
                        self.send_ack(offset);
                    }
                }
                LinkState::Transfer if now.saturating_sub(last_io) > timeout => {
                    self.log(LogLevel::Warning, "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.");
                    self.abort_handshake();
                }
                LinkState::Connecting
                | LinkState::ReceivePing
                | LinkState::ReceiveAuth
                | LinkState::ReceivePort
                | LinkState::ReceiveIp
                | LinkState::ReceiveCapa
                | LinkState::ReceivePsync
                    if now.saturating_sub(last_io) > timeout =>
                {
                    self.log(LogLevel::Warning, "Timeout connecting to the MASTER...");
                    self.handshake_failed();
                }
                _ => {}
            }
        }
        // Master side: PING into the stream, so replicas see a live master.
        let period = self.config.get_i64("repl-ping-replica-period").unwrap_or(10).max(1) as u64 * 1000;
        // Like Redis, on the cron loops that are multiples of the period since start.
        let loop_no = now.saturating_sub(self.start_ms) / 1000;
        let due = loop_no.is_multiple_of(period / 1000) && loop_no != self.repl.last_ping_ms;
        if !self.repl.is_replica() && !self.repl.replicas.is_empty() && due {
            self.repl.last_ping_ms = loop_no;
            self.feed_command(&[b"PING"]);
        }
        // Replicas waiting for their snapshot to start (or to be written to disk) hear a bare
        // newline every second, so their handshake does not time out.
        let socket_job = self.repl.sync_job.filter(|&(_, socket)| socket).map(|(id, _)| id);
        let presync: Vec<ConnId> = self
            .repl
            .replicas
            .iter()
            .filter(|r| {
                r.state == ReplicaState::WaitBgsave && (r.snapshot_job.is_none() || r.snapshot_job != socket_job)
            })
            .map(|r| r.conn)
            .collect();
        for conn in presync {
            self.send(conn, Bytes::from_static(b"\n"));
        }
        // Replicas that stopped acknowledging.
        let stale: Vec<(ConnId, String)> = self
            .repl
            .replicas
            .iter()
            .filter(|r| r.state == ReplicaState::Online && now.saturating_sub(r.ack_ms) > timeout)
            .map(|r| (r.conn, r.name()))
            .collect();
        for (conn, name) in stale {
            self.log(LogLevel::Warning, format!("Disconnecting timedout replica (streaming sync): {}", name));
            self.close_replica(conn);
        }
        // A backlog nobody needs is freed after repl-backlog-ttl.
        let ttl = self.config.get_i64("repl-backlog-ttl").unwrap_or(3600).max(0) as u64 * 1000;
        if ttl > 0 && !self.repl.is_replica() && self.repl.replicas.is_empty() && self.repl.backlog.is_some() {
            if let Some(since) = self.repl.no_replicas_since {
                if now.saturating_sub(since) > ttl {
                    self.repl.replid = self.rng.hex40();
                    self.repl.replid2 = NO_REPLID.into();
                    self.repl.second_offset = -1;
                    self.repl.backlog = None;
                    self.repl_log(format!(
                        "Replication backlog freed after {} seconds without connected replicas.",
                        ttl / 1000
                    ));
                }
            }
        }
        self.start_pending_sync();
        self.serve_waiting_clients();
    }

    /// The next time the replication machinery needs a tick.
    pub fn replication_deadline(&self) -> Option<u64> {
        let mut t: Option<u64> = None;
        if self.repl.failover.is_some() {
            t = Some(self.repl.last_cron_ms + 100);
        } else if self.repl.master.is_some() || !self.repl.replicas.is_empty() || self.repl.backlog.is_some() {
            t = Some(self.repl.last_cron_ms + 1000);
        }
        let wait = if self.repl.waiting.is_empty() {
            None
        } else {
            self.repl.waiting.iter().filter_map(|c| self.clients.get(c)?.wait?.deadline).min()
        };
        match (t, wait) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// One `\r\n`- (or `\n`-) terminated line off the front of `buf`, without the terminator.
fn take_line(buf: &mut BytesMut) -> Option<String> {
    let pos = buf.iter().position(|&b| b == b'\n')?;
    let line = buf.split_to(pos + 1);
    let text = &line[..pos];
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    Some(String::from_utf8_lossy(text).into_owned())
}

/// The host part of `ip:port` (IPv6 `[::1]:port` too).
pub fn host_of(addr: &str) -> &str {
    addr.rsplit_once(':').map(|(h, _)| h).unwrap_or(addr).trim_matches(['[', ']'])
}

/// Decode what a handler replied (SPOP's popped members) to rewrite its propagation.
pub fn reply_items(reply: &[u8]) -> Vec<Bytes> {
    let mut buf = BytesMut::from(reply);
    match Frame::decode(&mut buf) {
        Ok(Some(Frame::Bulk(b))) => vec![b],
        Ok(Some(Frame::Array(items))) | Ok(Some(Frame::Set(items))) => items
            .into_iter()
            .filter_map(|f| match f {
                Frame::Bulk(b) => Some(b),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_sized_as_jemalloc_sizes_them() {
        assert_eq!(block_capacity(10), 20440);
        assert_eq!(block_capacity(20440), 20440);
        assert_eq!(block_capacity(20441), 24536);
        assert_eq!(block_capacity(100_000), 114_648);
    }

    #[test]
    fn backlog_keeps_whole_blocks_covering_its_size() {
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

    #[test]
    fn commands_encode_as_client_arrays() {
        let mut b = BytesMut::new();
        encode_command(&mut b, &[b"SET", b"k", b"v"]);
        assert_eq!(&b[..], b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
    }
}
