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
use crate::node::{Client, ClientRole, ConnId, NodeState, Output, PersistPurpose};
use crate::resp::encode_command;
use bytes::{Bytes, BytesMut};

mod backlog;
mod cron;
mod failover;
mod master;
mod replica;

pub use backlog::Backlog;
pub use failover::{Failover, FailoverState};
pub use master::{Replica, ReplicaState, SyncKind, SyncOutcome};
pub use replica::{CachedMaster, FromMaster, MasterLink, MasterLinkState};

/// Replication ids are 40 hex characters; `0000…` means "none".
pub const NO_REPLID: &str = "0000000000000000000000000000000000000000";

/// All replication state of a node.
#[derive(Debug, Clone)]
pub struct Replication {
    pub(crate) replid: String,
    pub(crate) replid2: String,
    /// `second_repl_offset`: `-1` when `replid2` is none.
    pub(crate) second_offset: i64,
    /// `master_repl_offset`: the bytes of the stream ever produced (a replica's are the bytes it
    /// applied of its master's stream, which it forwards as they are).
    ///
    /// Invariant: never decreases, but where the node takes over another history — a full
    /// resync starts at the snapshot's offset, a dump.rdb loaded at start-up at the file's.
    /// It grows by the bytes fed to the stream (`feed_raw`); a partial resync (`+CONTINUE`)
    /// continues it exactly where it stopped; the backlog, when there is one, ends at it; on a
    /// replica whose link is synced it equals the link's `applied`. Asserted where it moves.
    pub(crate) offset: u64,
    pub(crate) backlog: Option<Backlog>,
    pub(crate) replicas: Vec<Replica>,
    pub(crate) master: Option<MasterLink>,
    pub(crate) cached_master: Option<CachedMaster>,
    /// The db the stream last SELECTed; `None` forces a SELECT before the next command.
    seldb: Option<usize>,
    /// Stream produced since the last flush to replicas.
    stream: BytesMut,
    scratch: BytesMut,
    /// The sync snapshot being produced, and whether it goes over the socket.
    pub(crate) sync_job: Option<(u64, bool)>,
    /// A full sync is needed but not started yet (diskless delay, or a save is running).
    sync_wanted_since: Option<u64>,
    /// What the command being executed (with whatever it ran nested: EXEC's queue, lazy
    /// expiry) propagates, encoded, until the top-level call ends (Redis's
    /// `server.also_propagate`); `pending_ops` holds each op's db and where it ends.
    pending: BytesMut,
    pending_ops: Vec<(usize, usize)>,
    /// How deep in `call` the node is; propagation waits until it is back at 0.
    pub(crate) call_depth: u32,
    last_cron_ms: u64,
    /// The cron loop (seconds since start) of the last PING into the stream.
    last_ping_ms: u64,
    /// When the last replica left (for `repl-backlog-ttl`).
    no_replicas_since: Option<u64>,
    next_outbound: u64,
    /// When the last failed handshake reconnected at once.
    last_failure_ms: u64,
    /// A coordinated failover (`FAILOVER`) in progress.
    pub(crate) failover: Option<Failover>,
    /// Clients blocked in WAIT.
    pub(crate) waiting: Vec<ConnId>,
    /// A `REPLCONF GETACK` must go out at the end of this event (WAIT asked for acks).
    pub(crate) get_ack_pending: bool,
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
        self.master.as_ref().is_some_and(|m| m.state == MasterLinkState::Connected)
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
