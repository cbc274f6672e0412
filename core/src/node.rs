//! The node: one Redis process as a state machine.
//!
//! A driver (the tokio server, the simulator, a test) owns the sockets and the clock. It tells
//! the node what happened with [`Node::handle`] and carries out what the node asks for, pulled
//! with [`Node::poll`]:
//!
//! ```text
//!   driver                                   node
//!   ──────                                   ────
//!   accept()            ── Input::Connected ──▶  a new client, id 1, 2, 3…
//!   read() → bytes      ── Input::Data ───────▶  parse → run commands → replies
//!                       ◀─ Output::Send ───────  bytes for a connection
//!                       ◀─ Output::Close ──────  QUIT, CLIENT KILL, protocol error
//!                       ◀─ Output::Persist ────  SAVE / BGSAVE / shutdown: write dump.rdb
//!   write finished      ── Input::PersistDone ▶  reply +OK, log "DB saved on disk"
//!   timer fired         ── Input::Tick ───────▶  serverCron: active expiry, save points,
//!                                                blocked-client timeouts, replicationCron
//!                       ◀─ Output::Connect ────  open a connection (a replica to its master)
//!   connect() finished  ── Input::Outbound ───▶  the handshake starts (see `replication`)
//!   sleep until         ◀─ poll_timeout() ─────  the next time the node needs a Tick
//! ```
//!
//! Replies to one connection are accumulated in that client's buffer while its input is
//! processed, then leave as a single `Send` — a pipeline of 16 commands becomes one write, as
//! in Redis's `writeToClient`.

use crate::command::{self, Ctx};
use crate::config::{Config, ObufLimit};
use crate::keyspace::Keyspace;
use crate::log::{LogLevel, LogLine};
use crate::rdb::{self, RdbAux};
use crate::replication::Replication;
use crate::resp::{Protocol, ReplyBuf, RequestParser};
use crate::rng::SeededRng;
use bytes::{Bytes, BytesMut};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;

/// What `used_memory` counts before any key: the server's own structures (a pristine
/// redis-server 7.0 reports about 900 KB).
pub const STARTUP_MEMORY: u64 = 900_000;

/// A connection, as numbered by the driver.
pub type ConnId = u64;

/// What happened to the node.
#[derive(Debug)]
pub enum Input<'a> {
    /// A client connected from `addr` ("ip:port") to our `laddr`.
    Connected { conn: ConnId, addr: String, laddr: String },
    /// Bytes arrived on a connection.
    Data { conn: ConnId, bytes: &'a [u8] },
    /// The peer closed the connection (or the driver dropped it).
    Closed { conn: ConnId },
    /// The socket took `bytes` more of what [`Output::Send`] gave for `conn`. What was sent
    /// and is not written yet is the client's output buffer (CLIENT LIST's `omem`), which
    /// `client-output-buffer-limit` bounds; a driver whose writes never wait (the simulator)
    /// reports each send as written at once. It is bookkeeping only: it produces no output.
    Written { conn: ConnId, bytes: usize },
    /// Time passed; run whatever timers are due.
    Tick,
    /// The process received SIGTERM or SIGINT.
    Signal(crate::shutdown::Signal),
    /// The driver carried out [`Output::Listen`]: `Err` holds why it kept the old listeners,
    /// with the failing address (`Err((addr, strerror))`).
    Listened { conn: ConnId, result: Result<(), String> },
    /// A [`PersistJob`] finished. `image` holds the encoded RDB when the job asked for it
    /// back (`return_image`: a snapshot for replicas).
    PersistDone { job: u64, result: Result<usize, String>, image: Option<Bytes> },
    /// An outbound connection asked for with [`Output::Connect`] is open (`Ok`) or failed.
    /// `Ok` carries our end's address ("ip:port").
    Outbound { conn: ConnId, result: Result<String, String> },
}

/// What the node asks its driver to do.
#[derive(Debug)]
pub enum Output {
    Send {
        conn: ConnId,
        bytes: Bytes,
    },
    /// Close the connection after flushing what was sent before.
    Close {
        conn: ConnId,
    },
    /// Close the connection now, dropping what is still unsent (a client over its output
    /// buffer limit: Redis's `freeClientAsync`, which writes nothing more).
    Abort {
        conn: ConnId,
    },
    /// Open a TCP connection to `addr` ("host:port") and call it `conn`; answer with
    /// [`Input::Outbound`]. Then bytes flow as on any connection.
    Connect {
        conn: ConnId,
        addr: String,
    },
    Log(LogLine),
    /// Serialize `snapshot` with [`rdb::encode_rdb`] and write it to `path` (atomically: temp
    /// file + rename). `background` jobs may run on another thread; the node keeps serving.
    Persist(PersistJob),
    /// Abandon a background [`PersistJob`] (Redis's `killRDBChild`): write nothing of it. Its
    /// [`Input::PersistDone`], if it still comes, is ignored.
    CancelPersist {
        job: u64,
    },
    /// Stop the process with this exit code (SHUTDOWN).
    Exit {
        code: i32,
    },
    /// Die at once like a crash (`DEBUG SEGFAULT`): nothing is saved.
    Crash,
    /// Block the whole process for this many ms (`DEBUG SLEEP`), as Redis's single thread does.
    Stall {
        ms: u64,
    },
    /// Write the configuration file (CONFIG REWRITE); the driver answers with
    /// [`Node::config_rewrite_done`].
    RewriteConfig {
        conn: ConnId,
    },
    /// Listen where `bind` and `port` now say (CONFIG SET of either): keep the old listeners
    /// if the new ones cannot all be opened. The driver answers [`Input::Listened`].
    Listen {
        conn: ConnId,
        bind: String,
        port: u16,
    },
}

#[derive(Debug)]
pub struct PersistJob {
    pub id: u64,
    pub path: String,
    pub background: bool,
    /// Write the image to `path` (false for a diskless snapshot that only goes to replicas).
    pub write_file: bool,
    /// Hand the encoded image back in [`Input::PersistDone`].
    pub return_image: bool,
    pub snapshot: Box<Keyspace>,
    pub aux: RdbAux,
    /// `rdb-key-save-delay`: the save takes this many µs longer per key (a test switch that
    /// makes a save last long enough to watch or interrupt).
    pub key_delay_us: i64,
}

impl PersistJob {
    /// How much longer than the encoding itself the save must take, in µs
    /// (`rdb-key-save-delay`: negative n means 1 µs for one key in |n|).
    pub fn extra_duration_us(&self) -> u64 {
        let keys = self.snapshot.total_keys() as u64;
        match self.key_delay_us {
            d if d > 0 => keys * d as u64,
            d if d < 0 => keys / d.unsigned_abs(),
            _ => 0,
        }
    }
}

/// Why a persist job was started, to know what to do when it ends.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PersistPurpose {
    /// A snapshot for replicas doing a full resync.
    Sync,
    /// SAVE from a client: reply when done.
    Save { conn: ConnId },
    /// BGSAVE or a save point.
    Background,
    /// The final save of a shutdown.
    Shutdown,
    /// The save of the emptied dataset by FLUSHALL (its changes were reset already).
    Flushall,
}

/// Everything the driver fixes when it creates a node.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// Seeds the node's generator (run id, RANDOMKEY…).
    pub seed: u64,
    /// The process id shown in logs and INFO (a fake one in the simulator).
    pub pid: u32,
    pub config: Config,
    /// Path of the config file, if any (INFO's `config_file`).
    pub config_file: Option<String>,
    pub executable: String,
    /// Unix ms at start.
    pub start_ms: u64,
    /// The log goes to a terminal (Redis then shows its logo even without `always-show-logo`).
    pub logs_to_terminal: bool,
}

/// A blocked client waiting for data on keys (BLPOP and friends).
#[derive(Debug, Clone)]
pub struct Blocked {
    pub db: usize,
    pub keys: Vec<Bytes>,
    /// Unix ms; `None` blocks forever.
    pub deadline: Option<u64>,
    /// The command to run again when a key is ready.
    pub args: Vec<Bytes>,
}

/// What a connection is to this node, in replication terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientRole {
    Normal,
    /// Our master: we apply its commands and send no replies (`flags=M`).
    Master,
    /// A replica of ours, fed the replication stream (`flags=S`).
    Replica,
}

/// Whether a client's output of `used` bytes is over its class's limits (Redis's
/// `checkClientOutputBufferLimits`): at the hard limit at once; over the soft limit only once
/// it has stayed there more than `soft_seconds` (`soft_since` remembers since when).
pub(crate) fn obuf_limit_reached(limit: ObufLimit, used: u64, soft_since: &mut Option<u64>, now_ms: u64) -> bool {
    let hard = limit.hard > 0 && used >= limit.hard;
    let mut soft = limit.soft > 0 && used >= limit.soft;
    if soft {
        match *soft_since {
            None => {
                *soft_since = Some(now_ms);
                soft = false;
            }
            Some(since) => soft = (now_ms / 1000).saturating_sub(since / 1000) > limit.soft_seconds,
        }
    } else {
        *soft_since = None;
    }
    hard || soft
}

/// A client in `WAIT numreplicas timeout`.
#[derive(Debug, Clone, Copy)]
pub struct WaitState {
    pub offset: u64,
    pub replicas: usize,
    pub deadline: Option<u64>,
}

/// One client connection's state (Redis's `client` struct).
#[derive(Debug)]
pub struct Client {
    pub id: u64,
    pub conn: ConnId,
    pub addr: String,
    pub laddr: String,
    pub name: Option<Bytes>,
    pub db: usize,
    pub parser: RequestParser,
    pub inbuf: BytesMut,
    pub reply: ReplyBuf,
    pub authenticated: bool,
    pub user: String,
    /// Commands queued after MULTI; `None` when not in a transaction.
    pub multi: Option<Vec<Vec<Bytes>>>,
    /// A command failed to queue: EXEC will abort with EXECABORT.
    pub multi_failed: bool,
    /// True while EXEC runs the queued commands (blocking commands then never block).
    pub in_exec: bool,
    pub watched: Vec<(usize, Bytes)>,
    pub subscriptions: crate::keyspace::Set<Bytes>,
    pub patterns: crate::keyspace::Set<Bytes>,
    /// Shard channels (`SSUBSCRIBE`), counted apart from the others, as Redis counts them.
    pub shard_subscriptions: crate::keyspace::Set<Bytes>,
    pub created_ms: u64,
    pub last_interaction_ms: u64,
    pub last_command: &'static str,
    pub close_after_reply: bool,
    pub closed: bool,
    /// Over its output buffer limit: nothing more is sent, it is being closed.
    pub obuf_overrun: bool,
    /// Since when its output has been over the soft limit.
    pub obuf_soft_since: Option<u64>,
    pub blocked: Option<Blocked>,
    pub no_evict: bool,
    /// `CLIENT REPLY OFF|SKIP` state.
    pub reply_mode: ReplyMode,
    pub role: ClientRole,
    /// `REPLCONF listening-port` / `ip-address` of a replica-to-be.
    pub repl_listening_port: u16,
    pub repl_announced_ip: Option<String>,
    /// `REPLCONF capa eof`: a replica-to-be that reads diskless snapshots.
    pub repl_capa_eof: bool,
    /// Stream offset after this client's last command (what WAIT waits for).
    pub woff: u64,
    pub wait: Option<WaitState>,
    /// A command parsed but postponed by a client pause; it runs when the pause ends.
    pub postponed: Option<Vec<Bytes>>,
    /// `MONITOR`: it is sent every command the server runs (`flags=O`).
    pub monitor: bool,
    /// Its command waits for the driver (SAVE's write, CONFIG REWRITE): what it pipelined
    /// behind waits too, so replies keep their order.
    pub awaiting_io: bool,
    /// Bytes of the command being executed, still counted in `qbuf` as Redis's query buffer
    /// holds them until the command ends.
    pub executing_len: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    Skip,
    SkipNext,
}

impl Client {
    pub fn new(id: u64, conn: ConnId, addr: String, laddr: String, now: u64, authenticated: bool) -> Client {
        Client {
            id,
            conn,
            addr,
            laddr,
            name: None,
            db: 0,
            parser: RequestParser::new(authenticated),
            inbuf: BytesMut::new(),
            reply: ReplyBuf::new(Protocol::Resp2),
            authenticated,
            user: "default".into(),
            multi: None,
            multi_failed: false,
            in_exec: false,
            watched: Vec::new(),
            subscriptions: Default::default(),
            shard_subscriptions: Default::default(),
            patterns: Default::default(),
            created_ms: now,
            last_interaction_ms: now,
            last_command: "NULL",
            close_after_reply: false,
            obuf_overrun: false,
            obuf_soft_since: None,
            closed: false,
            blocked: None,
            no_evict: false,
            reply_mode: ReplyMode::On,
            role: ClientRole::Normal,
            repl_listening_port: 0,
            repl_announced_ip: None,
            repl_capa_eof: false,
            woff: 0,
            wait: None,
            postponed: None,
            monitor: false,
            awaiting_io: false,
            executing_len: 0,
        }
    }
    pub fn in_pubsub(&self) -> bool {
        !self.subscriptions.is_empty() || !self.patterns.is_empty() || !self.shard_subscriptions.is_empty()
    }
    pub fn protocol(&self) -> Protocol {
        self.reply.proto
    }
    /// The `CLIENT LIST` / `CLIENT INFO` line.
    /// Its class for `client-output-buffer-limit` (our master counts as a normal client).
    pub fn obuf_class(&self) -> &'static str {
        match self.role {
            ClientRole::Replica => "slave",
            _ if self.in_pubsub() => "pubsub",
            _ => "normal",
        }
    }

    /// Its CLIENT LIST line; `omem` is its output not yet written ([`Server::unsent_of`]).
    pub fn info_line(&self, now: u64, omem: u64) -> String {
        let mut flags = String::new();
        match self.role {
            ClientRole::Master => flags.push('M'),
            ClientRole::Replica => flags.push('S'),
            ClientRole::Normal => {}
        }
        if self.multi.is_some() {
            flags.push('x');
        }
        if self.in_pubsub() {
            flags.push('P');
        }
        if self.blocked.is_some() || self.wait.is_some() || self.postponed.is_some() {
            flags.push('b');
        }
        if self.monitor {
            flags.push('O');
        }
        if self.close_after_reply {
            flags.push('c');
        }
        if self.no_evict {
            flags.push('e');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs=16384 rbp=16384 obl=0 oll=0 omem={} tot-mem={} events=r cmd={} user={} redir=-1 resp={}",
            self.id,
            self.addr,
            self.laddr,
            self.conn % crate::replication::OUTBOUND_CONN_BASE + 7,
            String::from_utf8_lossy(self.name.as_deref().unwrap_or(b"")),
            now.saturating_sub(self.created_ms) / 1000,
            now.saturating_sub(self.last_interaction_ms) / 1000,
            flags,
            self.db,
            self.subscriptions.len(),
            self.patterns.len(),
            self.shard_subscriptions.len(),
            self.multi.as_ref().map(|m| m.len() as i64).unwrap_or(-1),
            self.inbuf.len() + self.executing_len,
            self.inbuf.capacity().saturating_sub(self.inbuf.len()),
            omem,
            (16384 + self.inbuf.capacity() + 20000) as u64 + omem,
            self.last_command,
            self.user,
            if self.reply.proto == Protocol::Resp3 { 3 } else { 2 },
        )
    }
}

/// Counters shown by `INFO stats` and `INFO commandstats`.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub total_connections_received: u64,
    pub total_commands_processed: u64,
    pub total_net_input_bytes: u64,
    pub total_net_output_bytes: u64,
    pub total_net_repl_input_bytes: u64,
    pub total_net_repl_output_bytes: u64,
    /// Full resyncs served, partial resyncs accepted and refused (a master's view).
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
    pub rejected_connections: u64,
    pub expired_keys: u64,
    pub evicted_keys: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub total_error_replies: u64,
    /// Errors sent on a replication link (`stat_unexpected_error_replies`).
    pub unexpected_error_replies: u64,
    pub total_reads_processed: u64,
    pub total_writes_processed: u64,
    /// Per command (or `parent|sub`) call counts for `INFO commandstats`.
    pub commands: FxHashMap<&'static str, CommandStat>,
    /// error prefix → count
    pub errors: std::collections::BTreeMap<String, u64>,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct CommandStat {
    pub calls: u64,
    pub rejected: u64,
    pub failed: u64,
    /// Time spent in the command (virtual: see `command::latency`).
    pub usec: u64,
    /// Its latency histogram (`latency-tracking`), in power-of-two buckets.
    pub histogram: [u64; crate::command::latency::HISTOGRAM_BUCKETS],
}

/// Persistence bookkeeping (`INFO persistence`).
#[derive(Debug, Default)]
pub struct PersistState {
    /// Writes since the last successful save (`rdb_changes_since_last_save`).
    pub dirty: u64,
    /// `dirty` when the current background save started.
    pub dirty_at_bgsave_start: u64,
    pub last_save_ms: u64,
    pub last_bgsave_ok: bool,
    pub last_bgsave_duration_ms: Option<u64>,
    pub bgsave_started_ms: Option<u64>,
    pub bgsave_job: Option<u64>,
    pub rdb_saves: u64,
    pub last_load_keys_loaded: u64,
    pub last_load_keys_expired: u64,
    pub next_job_id: u64,
    pub bgsave_scheduled: bool,
}

/// Facts only the real process knows (INFO's RSS, CPU time, OS), handed in by the driver.
#[derive(Debug, Clone, Default)]
pub struct ProcessStats {
    pub os: String,
    pub rss_bytes: u64,
    pub total_system_memory: u64,
    pub cpu_user: f64,
    pub cpu_sys: f64,
}

/// A client pause (`CLIENT PAUSE ms [WRITE|ALL]`, or the one `FAILOVER` makes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    pub until_ms: u64,
    pub writes_only: bool,
}

/// Who paused the clients: each purpose keeps its own pause, and clients stay paused while
/// any is in force (Redis's `client_pause_per_purpose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PausePurpose {
    ClientCommand = 0,
    Failover = 1,
    /// A shutdown waiting for replicas to catch up.
    Shutdown = 2,
}

/// The part of the node that commands act on: everything but the client running the command.
#[derive(Debug)]
pub struct Server {
    pub config: Config,
    pub keyspace: Keyspace,
    pub clients: FxHashMap<ConnId, Client>,
    pub channels: crate::keyspace::Map<Bytes, Vec<ConnId>>,
    pub patterns: crate::keyspace::Map<Bytes, Vec<ConnId>>,
    /// Shard channels (`SSUBSCRIBE`) → their subscribers (Redis's `pubsubshard_channels`).
    pub shard_channels: crate::keyspace::Map<Bytes, Vec<ConnId>>,
    /// `(db, key)` → the clients that WATCH it (Redis's `db->watched_keys`). Each client's
    /// `watched` lists the same pairs, to unwatch them.
    pub watched: FxHashMap<(usize, Bytes), Vec<crate::command::transactions::Watcher>>,
    /// Clients whose watched keys were touched: their EXEC answers a null array (Redis's
    /// `CLIENT_DIRTY_CAS`). Kept here rather than on the client, because the client running
    /// a command is the one most likely to touch its own watched key.
    pub cas_dirty: rustc_hash::FxHashSet<ConnId>,
    /// `(db, key)` → clients blocked on it, first come first served.
    pub blocking: FxHashMap<(usize, Bytes), VecDeque<ConnId>>,
    /// Keys that received data while clients were blocked on them.
    pub ready_keys: Vec<(usize, Bytes)>,
    /// Clients whose reply buffer got data from someone else's command (pub/sub, unblock).
    pub to_flush: Vec<ConnId>,
    pub stats: Stats,
    pub persist: PersistState,
    pub process: ProcessStats,
    pub rng: SeededRng,
    /// How key accesses are recorded (LRU stamps or LFU counters), from `maxmemory-policy`
    /// and the `lfu-*` tunables; refreshed when CONFIG SET changes them.
    pub access_policy: crate::access::AccessPolicy,
    /// The best eviction candidates sampled so far (see [`Server::perform_evictions`]).
    pub eviction_pool: crate::access::EvictionPool,
    pub run_id: String,
    /// Replication ids, offsets, backlog, replicas, the link to our master.
    pub repl: Replication,
    /// Clients whose pipelined input can run again (after WAIT).
    pub resume_queue: Vec<ConnId>,
    /// Keys lazily expired during the current command (they change `dirty` but are not the
    /// command's own writes).
    pub expired_in_call: u64,
    pub pid: u32,
    pub start_ms: u64,
    pub now: u64,
    pub executable: String,
    pub config_file: Option<String>,
    pub next_client_id: u64,
    /// The pauses in force, by purpose.
    pub pauses: [Option<Pause>; 3],
    /// A pause ended: postponed clients must run their commands.
    pub unpaused: bool,
    pub outputs: VecDeque<Output>,
    /// Bytes sent to each client connection that the driver has not reported written
    /// ([`Input::Written`]): the client's output buffer.
    pub unsent: FxHashMap<ConnId, u64>,
    /// Clients over their output buffer limit, closed at the end of the event.
    pub obuf_overrun: Vec<ConnId>,
    pub log_level: LogLevel,
    pub active_expire_cursor: usize,
    /// Set when SHUTDOWN or a crash ends the node; no more input is processed.
    pub halted: bool,
    /// A shutdown waiting for replicas (`crate::shutdown`), and the clients of SHUTDOWN
    /// waiting for its outcome.
    pub shutdown: Option<crate::shutdown::PendingShutdown>,
    /// A SIGTERM/SIGINT received and not yet acted on (Redis's `shutdown_asap` with
    /// `last_sig_received`): the signal handler only records it, the cron starts the shutdown,
    /// and SHUTDOWN ABORT in between just forgets it.
    pub shutdown_asap: Option<crate::shutdown::Signal>,
    pub shutdown_waiters: Vec<ConnId>,
    /// A CONFIG SET of `bind`/`port` waiting for the driver: the old bind, the old port, and
    /// which parameter to blame if it fails.
    pub listen_pending: Option<(String, u16, &'static str)>,
    /// The command running asked to be propagated whether or not it changed anything
    /// (FLUSHALL, FLUSHDB: Redis's `forceCommandPropagation`).
    pub force_propagation: bool,
    /// Keys a writable replica's own clients gave a TTL (`slaveKeysWithExpire`): the replica
    /// expires them itself, in its cron (INFO's `slave_expires_tracked_keys`).
    pub replica_keys_with_expire: rustc_hash::FxHashSet<(usize, Bytes)>,
    /// Clients in MONITOR mode.
    pub monitors: Vec<ConnId>,
    /// MIGRATE's connections to its targets, and the jobs waiting for them.
    pub migrations: crate::command::migrate::Migrations,
    /// The slow log and the latency monitor's events.
    pub latency: crate::command::latency::LatencyRecords,
    /// Virtual time the running command stalled the server for (`DEBUG SLEEP`), in µs: its
    /// duration for the slow log and the latency records.
    pub call_stall_us: u64,
    /// `DEBUG SET-ACTIVE-EXPIRE 0` turns the cron's expiry off (lazy expiry still works).
    pub active_expire_enabled: bool,
    /// `DEBUG SET-SKIP-CHECKSUM-VALIDATION 1`: RESTORE takes payloads whose CRC64 is wrong
    /// (Redis's `server.skip_checksum_validation`), so corrupt bodies reach the parser.
    pub skip_checksum_validation: bool,
    /// `DEBUG PAUSE-CRON 1`: serverCron does nothing.
    pub cron_paused: bool,
    pending_persist: Vec<(u64, PersistPurpose)>,
    last_cron_ms: u64,
}

impl Server {
    /// Emit a log line at `level` if the configured `loglevel` lets it through.
    pub fn log(&mut self, level: LogLevel, message: impl Into<String>) {
        if level >= self.log_level {
            let role = self.role_char();
            self.outputs.push_back(Output::Log(LogLine {
                at_ms: self.now,
                role,
                level,
                message: message.into(),
                raw: false,
            }));
        }
    }

    /// Mark that a key changed (Redis's `signalModifiedKey` plus `server.dirty++`): counts a
    /// change for the save points, and invalidates transactions watching it.
    pub fn key_modified(&mut self, db: usize, key: &[u8]) {
        self.persist.dirty += 1;
        crate::command::transactions::touch_watched_key(self, db, key);
    }

    /// Invalidate the watchers of keys in `db` (`None` = all dbs) that hold data — before a
    /// FLUSHDB / FLUSHALL / full sync empties it.
    pub fn all_keys_modified(&mut self, db: Option<usize>) {
        for d in 0..self.keyspace.dbs.len() {
            if db.is_none_or(|x| x == d) {
                crate::command::transactions::touch_all_watched_keys_in_db(self, d, None);
            }
        }
    }

    /// `used_memory` as INFO reports it: a fixed start-up overhead plus the estimated size of
    /// the dataset (halab has no allocator statistics; see docs/DESIGN.md).
    pub fn used_memory(&self) -> u64 {
        STARTUP_MEMORY + self.keyspace.dbs.iter().map(|d| d.approx_memory() as u64).sum::<u64>()
    }

    /// `stop-writes-on-bgsave-error`: the last save failed and save points are configured.
    pub fn writes_denied_by_disk_error(&self) -> bool {
        !self.persist.last_bgsave_ok
            && self.config.get_bool("stop-writes-on-bgsave-error")
            && !self.config.save_points().is_empty()
    }

    /// Bring memory under `maxmemory` by evicting keys as `maxmemory-policy` says (Redis's
    /// `performEvictions`); false when that is not possible (`noeviction`, or nothing left to
    /// evict), and the command that needs memory is refused with OOM.
    ///
    /// The `*-random` policies take any key (of those with a TTL, for `volatile-*`). The
    /// `*-lru`, `*-lfu` and `volatile-ttl` policies sample `maxmemory-samples` keys of every
    /// database into the [`EvictionPool`](crate::access::EvictionPool) and evict its best
    /// candidate: the longest idle (LRU), the least frequently used (LFU), the nearest
    /// deadline (TTL) — an approximation of the exact order that costs a few samples per key.
    pub fn perform_evictions(&mut self) -> bool {
        let max = self.config.get_i64("maxmemory").unwrap_or(0).max(0) as u64;
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
        let samples = self.config.get_i64("maxmemory-samples").unwrap_or(5).max(1) as usize;
        let clock = crate::access::AccessClock { policy: self.access_policy, now_ms: self.now };
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
    fn pick_random_for_eviction(&mut self, volatile: bool) -> Option<(usize, Bytes)> {
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
    fn pick_from_eviction_pool(
        &mut self,
        policy: &str,
        volatile: bool,
        samples: usize,
        clock: crate::access::AccessClock,
    ) -> Option<(usize, Bytes)> {
        use crate::access::EvictionCandidate;
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

    /// The pause in force, if any: the strictest type and the latest end of all purposes.
    /// Pauses whose time is up are lifted here.
    pub fn pause_in_force(&mut self) -> Option<Pause> {
        let now = self.now;
        for slot in self.pauses.iter_mut() {
            if slot.is_some_and(|p| p.until_ms <= now) {
                *slot = None;
                self.unpaused = true;
            }
        }
        self.pauses
            .iter()
            .flatten()
            .copied()
            .reduce(|a, b| Pause { until_ms: a.until_ms.max(b.until_ms), writes_only: a.writes_only && b.writes_only })
    }

    /// Whether a command must wait for the pause to end: every command under a full pause,
    /// those that may write or replicate under a WRITE pause.
    pub fn pause_postpones(&mut self, may_replicate: bool) -> bool {
        self.pause_in_force().is_some_and(|p| !p.writes_only || may_replicate)
    }

    /// Pause clients for `purpose` (Redis's `pauseClients`): a second pause of the same
    /// purpose keeps the stricter type and the later end.
    pub fn pause_clients(&mut self, purpose: PausePurpose, until_ms: u64, writes_only: bool) {
        let slot = &mut self.pauses[purpose as usize];
        *slot = Some(match *slot {
            Some(p) => Pause { until_ms: p.until_ms.max(until_ms), writes_only: p.writes_only && writes_only },
            None => Pause { until_ms, writes_only },
        });
    }

    /// Lift the pause of `purpose`; postponed clients run again.
    pub fn unpause_clients(&mut self, purpose: PausePurpose) {
        if self.pauses[purpose as usize].take().is_some() {
            self.unpaused = true;
        }
    }

    /// While clients are paused the dataset stays as it is: no key is deleted for expiring
    /// (a key past its deadline reads as missing), so a failover hands over a fixed dataset.
    pub fn expiry_frozen(&mut self) -> bool {
        self.pause_in_force().is_some()
    }

    /// A list or sorted set key got elements: blocked clients may now be served.
    pub fn signal_key_ready(&mut self, db: usize, key: &Bytes) {
        if self.blocking.contains_key(&(db, key.clone())) {
            self.ready_keys.push((db, key.clone()));
        }
    }

    /// The driver opened the listeners CONFIG SET asked for, or kept the old ones: in that case
    /// the parameters go back to what they were (Redis's CONFIG SET "apply" stage).
    pub fn listened(&mut self, conn: ConnId, result: Result<(), String>) {
        let Some((old_bind, old_port, which)) = self.listen_pending.take() else { return };
        match result {
            Ok(()) => {
                if let Some(c) = self.clients.get_mut(&conn) {
                    c.reply.ok();
                }
            }
            Err(e) => {
                let _ = self.config.set_as(&[(b"bind".as_slice(), old_bind.as_bytes())], true);
                let _ = self.config.set_as(&[(b"port".as_slice(), old_port.to_string().as_bytes())], true);
                let reason = if which == "port" {
                    format!("Unable to listen on this port: {}", e)
                } else {
                    "Failed to bind to specified addresses.".to_string()
                };
                if let Some(c) = self.clients.get_mut(&conn) {
                    c.reply.error(&format!(
                        "ERR CONFIG SET failed (possibly related to argument '{}') - {}",
                        which, reason
                    ));
                }
            }
        }
        self.io_done(conn);
    }

    /// The driver finished what a client's command waited for: its reply goes out and what it
    /// pipelined behind runs.
    pub fn io_done(&mut self, conn: ConnId) {
        if let Some(c) = self.clients.get_mut(&conn) {
            c.awaiting_io = false;
            self.to_flush.push(conn);
            self.resume_queue.push(conn);
        }
    }

    /// Hand a client's pending replies to the driver — unless that would put its output over
    /// its class's `client-output-buffer-limit`: then nothing more is sent, and the client is
    /// closed at the end of the event (Redis's `closeClientOnOutputBufferLimitReached`, async).
    pub fn flush_client(&mut self, client: &mut Client) {
        if client.reply.buf.is_empty() || client.closed || client.obuf_overrun {
            return;
        }
        let len = client.reply.buf.len() as u64;
        let limit = self.config.obuf_limit(client.obuf_class());
        let used = self.unsent.get(&client.conn).copied().unwrap_or(0) + len;
        if obuf_limit_reached(limit, used, &mut client.obuf_soft_since, self.now) {
            client.reply.buf.clear();
            client.obuf_overrun = true;
            client.close_after_reply = true;
            let info = client.info_line(self.now, used);
            self.log(
                LogLevel::Warning,
                format!("Client {} scheduled to be closed ASAP for overcoming of output buffer limits.", info),
            );
            self.obuf_overrun.push(client.conn);
            return;
        }
        let bytes = client.reply.buf.split().freeze();
        self.stats.total_net_output_bytes += len;
        self.stats.total_writes_processed += 1;
        self.send(client.conn, bytes);
    }

    /// What follows the deletion of a key whose TTL passed, however it was found — by a
    /// command (lazily), by the active cycle, or by a writable replica's own cycle (Redis's
    /// `deleteExpiredKeyAndPropagate`): its `expired` event, its watchers touched, and a `DEL`
    /// down the stream (a replica propagates nothing). The caller counts it in `expired_keys`.
    pub(crate) fn key_expired(&mut self, db: usize, key: &[u8], client: Option<&mut Client>) {
        command::pubsub::notify_keyspace_event(self, client, command::pubsub::class::EXPIRED, "expired", key, db);
        command::transactions::touch_watched_key(self, db, key);
        self.propagate(db, &[b"DEL", key]);
    }

    /// A client connection's output not yet written.
    pub fn unsent_of(&self, conn: ConnId) -> u64 {
        self.unsent.get(&conn).copied().unwrap_or(0)
    }

    /// Send bytes to a client's connection; they count in its output buffer until written.
    pub(crate) fn send(&mut self, conn: ConnId, bytes: Bytes) {
        *self.unsent.entry(conn).or_insert(0) += bytes.len() as u64;
        self.outputs.push_back(Output::Send { conn, bytes });
    }

    /// Close the clients that went over their output buffer limit during this event.
    pub(crate) fn close_overrun_clients(&mut self) {
        for conn in std::mem::take(&mut self.obuf_overrun) {
            if let Some(mut c) = self.clients.remove(&conn) {
                command::release_client_state(self, &mut c);
            }
            self.unsent.remove(&conn);
            self.outputs.push_back(Output::Abort { conn });
        }
    }

    /// Role letter of log lines: `M` for a master, `S` for a replica.
    pub fn role_char(&self) -> char {
        if self.repl.is_replica() {
            'S'
        } else {
            'M'
        }
    }

    pub fn rdb_path(&self) -> String {
        let dir = self.config.get_str("dir");
        let file = self.config.get_str("dbfilename");
        if dir.is_empty() {
            file
        } else {
            format!("{}/{}", dir.trim_end_matches('/'), file)
        }
    }

    /// Start a persist job; returns its id.
    pub(crate) fn start_persist(&mut self, background: bool, purpose: PersistPurpose) -> u64 {
        self.start_persist_job(background, true, false, purpose)
    }

    /// Start a persist job that writes the file and/or hands the image back; returns its id.
    pub(crate) fn start_persist_job(
        &mut self,
        background: bool,
        write_file: bool,
        return_image: bool,
        purpose: PersistPurpose,
    ) -> u64 {
        self.persist.next_job_id += 1;
        let id = self.persist.next_job_id;
        let used = self.keyspace.dbs.iter().map(|d| d.approx_memory()).sum::<usize>() as u64;
        let aux = RdbAux::standard(self.now / 1000, used, self.rdb_save_info().as_ref());
        self.outputs.push_back(Output::Persist(PersistJob {
            id,
            path: self.rdb_path(),
            background,
            write_file,
            return_image,
            snapshot: Box::new(self.keyspace.clone()),
            aux,
            key_delay_us: self.config.get_i64("rdb-key-save-delay").unwrap_or(0),
        }));
        self.pending_persist.push((id, purpose));
        id
    }

    /// BGSAVE: start a background save unless one is running. Returns false if one is.
    pub fn start_bgsave(&mut self) -> bool {
        if self.persist.bgsave_job.is_some() {
            return false;
        }
        self.begin_bgsave(PersistPurpose::Background, false);
        true
    }

    /// Start a background save of dump.rdb (a BGSAVE, or a snapshot for replicas on disk when
    /// `with_image`) and keep INFO persistence's books; returns the job id.
    pub(crate) fn begin_bgsave(&mut self, purpose: PersistPurpose, with_image: bool) -> u64 {
        let id = self.start_persist_job(true, true, with_image, purpose);
        self.persist.bgsave_job = Some(id);
        self.persist.bgsave_started_ms = Some(self.now);
        self.persist.dirty_at_bgsave_start = self.persist.dirty;
        self.log(LogLevel::Notice, format!("Background saving started by pid {}", self.pid));
        id
    }

    /// FLUSHALL (Redis's `flushAllDataAndResetRDB`): empty every db, abandon a running
    /// BGSAVE (its file would hold the old data), and with save points configured save the
    /// empty dataset at once, so the changes since the last save count from zero.
    pub fn flush_all_and_reset_rdb(&mut self) {
        self.all_keys_modified(None);
        self.persist.dirty += self.keyspace.total_keys() as u64;
        self.keyspace.flush_all();
        if self.persist.bgsave_job.is_some() {
            self.abandon_bgsave();
        }
        if !self.config.save_points().is_empty() {
            self.start_persist(false, PersistPurpose::Flushall);
            self.persist.dirty = 0;
        }
    }

    /// Give up a running BGSAVE (Redis kills its child with SIGUSR1): its result, when the
    /// driver reports it, is ignored. A snapshot made for replicas is left to finish.
    pub(crate) fn abandon_bgsave(&mut self) {
        let Some(job) = self.persist.bgsave_job else { return };
        let background = self.pending_persist.iter().any(|(id, p)| *id == job && *p == PersistPurpose::Background);
        if background {
            self.kill_bgsave(job);
        }
    }

    /// Kill the running background save `job`, whatever it was for (Redis's `killRDBChild`,
    /// then `backgroundSaveDoneHandler` seeing SIGUSR1).
    pub(crate) fn kill_bgsave(&mut self, job: u64) {
        self.pending_persist.retain(|(id, _)| *id != job);
        if self.persist.bgsave_job == Some(job) {
            self.persist.bgsave_job = None;
            self.persist.bgsave_started_ms = None;
        }
        self.outputs.push_back(Output::CancelPersist { job });
        self.log(LogLevel::Warning, "Background saving terminated by signal 10");
    }

    /// SAVE: a foreground save; the reply is sent when the driver reports the write.
    pub fn start_foreground_save(&mut self, conn: ConnId) {
        self.start_persist(false, PersistPurpose::Save { conn });
    }

    fn persist_done(&mut self, job: u64, result: Result<usize, String>, image: Option<Bytes>) {
        let Some(pos) = self.pending_persist.iter().position(|(id, _)| *id == job) else { return };
        let (_, purpose) = self.pending_persist.remove(pos);
        match purpose {
            PersistPurpose::Sync => {
                // A snapshot for replicas on disk is also this node's BGSAVE.
                if self.persist.bgsave_job == Some(job) {
                    self.bgsave_finished(&result);
                }
                self.sync_snapshot_ready(job, if result.is_ok() { image } else { None });
            }
            PersistPurpose::Background => self.bgsave_finished(&result),
            PersistPurpose::Flushall => {
                let dirty = self.persist.dirty;
                self.record_save(&result, false);
                // Writes after the FLUSHALL still wait for the next save.
                self.persist.dirty = dirty;
            }
            PersistPurpose::Save { conn } => {
                self.record_save(&result, false);
                if let Some(c) = self.clients.get_mut(&conn) {
                    match &result {
                        Ok(_) => c.reply.ok(),
                        Err(_) => c.reply.error("ERR"),
                    }
                    self.io_done(conn);
                }
            }
            PersistPurpose::Shutdown => {
                self.record_save(&result, false);
                self.shutdown_save_done(result.is_ok());
            }
        }
    }
}

impl Server {
    /// Log a finished save and keep INFO persistence's books: the changes it covered, when,
    /// and whether it worked.
    fn record_save(&mut self, result: &Result<usize, String>, background: bool) {
        match result {
            Ok(_) => {
                self.log(LogLevel::Notice, "DB saved on disk");
                if background {
                    self.log(LogLevel::Notice, "Background saving terminated with success");
                    // Writes made while the snapshot was written still wait for the next save.
                    self.persist.dirty = self.persist.dirty.saturating_sub(self.persist.dirty_at_bgsave_start);
                } else {
                    self.persist.dirty = 0;
                }
                self.persist.last_save_ms = self.now;
                self.persist.rdb_saves += 1;
                self.persist.last_bgsave_ok = true;
            }
            Err(e) => {
                self.log(
                    LogLevel::Warning,
                    format!(
                        "Failed opening the temp RDB file temp-{}.rdb (in server root dir {}) for saving: {}",
                        self.pid,
                        self.config.get_str("dir"),
                        e
                    ),
                );
                // Only a background save's failure stops writes (`lastbgsave_status`); a
                // foreground SAVE or the final save at shutdown just fails.
                if background {
                    self.log(LogLevel::Warning, "Background saving error");
                    self.persist.last_bgsave_ok = false;
                }
            }
        }
    }

    /// A background save to disk ended (BGSAVE, a save point, or a snapshot for replicas).
    fn bgsave_finished(&mut self, result: &Result<usize, String>) {
        self.record_save(result, true);
        if let Some(start) = self.persist.bgsave_started_ms.take() {
            self.persist.last_bgsave_duration_ms = Some(self.now.saturating_sub(start));
        }
        self.persist.bgsave_job = None;
        if self.persist.bgsave_scheduled {
            self.persist.bgsave_scheduled = false;
            self.start_bgsave();
        }
        // Replicas may have waited for this save to end.
        self.start_pending_sync();
    }
}

/// A Redis node. See the module docs for the driving loop.
#[derive(Debug)]
pub struct Node {
    pub srv: Server,
    logs_to_terminal: bool,
}

/// How often serverCron runs: `1000 / hz` ms.
fn cron_period_ms(hz: u64) -> u64 {
    1000 / hz.clamp(1, 500)
}

impl Node {
    pub fn new(opts: NodeOptions) -> Node {
        let mut rng = SeededRng::new(opts.seed);
        let run_id = rng.hex40();
        let replid = rng.hex40();
        let databases = opts.config.get_i64("databases").unwrap_or(16).max(1) as usize;
        let log_level = LogLevel::from_config(&opts.config.get_str("loglevel")).unwrap_or(LogLevel::Notice);
        let master = opts.config.replicaof();
        let access_policy = crate::access::AccessPolicy::from_config(&opts.config);
        let mut srv = Server {
            keyspace: Keyspace::new(databases),
            access_policy,
            eviction_pool: Default::default(),
            config: opts.config,
            clients: FxHashMap::default(),
            channels: Default::default(),
            patterns: Default::default(),
            shard_channels: Default::default(),
            watched: FxHashMap::default(),
            cas_dirty: Default::default(),
            blocking: FxHashMap::default(),
            ready_keys: Vec::new(),
            to_flush: Vec::new(),
            stats: Stats::default(),
            process: ProcessStats { os: "halab-sim".into(), ..Default::default() },
            persist: PersistState { last_save_ms: opts.start_ms, last_bgsave_ok: true, ..Default::default() },
            rng,
            run_id,
            repl: Replication::new(replid),
            resume_queue: Vec::new(),
            expired_in_call: 0,
            pid: opts.pid,
            start_ms: opts.start_ms,
            now: opts.start_ms,
            executable: opts.executable,
            config_file: opts.config_file,
            next_client_id: 0,
            pauses: [None, None, None],
            unpaused: false,
            outputs: VecDeque::new(),
            unsent: FxHashMap::default(),
            obuf_overrun: Vec::new(),
            log_level,
            active_expire_cursor: 0,
            halted: false,
            force_propagation: false,
            shutdown: None,
            shutdown_asap: None,
            shutdown_waiters: Vec::new(),
            listen_pending: None,
            active_expire_enabled: true,
            skip_checksum_validation: false,
            latency: Default::default(),
            monitors: Vec::new(),
            migrations: Default::default(),
            call_stall_us: 0,
            replica_keys_with_expire: Default::default(),
            cron_paused: false,
            pending_persist: Vec::new(),
            last_cron_ms: opts.start_ms,
        };
        if let Some((host, port)) = master {
            // `replicaof` in the config: connect at the first cron, with no cached master
            // unless the dump.rdb we load tells where we were.
            srv.repl.master = Some(crate::replication::MasterLink::new(host, port, opts.start_ms));
        }
        Node { srv, logs_to_terminal: opts.logs_to_terminal }
    }

    /// Log the line that ends the start-up, once the dataset is loaded.
    pub fn log_ready(&mut self) {
        self.srv.log(LogLevel::Notice, "Ready to accept connections");
        let unix = self.srv.config.get_str("unixsocket");
        if !unix.is_empty() {
            self.srv.log(LogLevel::Notice, format!("The server is now ready to accept connections at {}", unix));
        }
    }

    /// Log the start-up banner lines Redis prints (after the driver printed its own): the logo
    /// or the `Running mode` line, as `redisAsciiArt` chooses, then "Server initialized".
    pub fn log_startup(&mut self) {
        let port = self.srv.config.port();
        let show_logo = self.srv.config.get_bool("always-show-logo")
            || (self.logs_to_terminal && self.srv.config.get_str("logfile").is_empty());
        if show_logo && self.srv.log_level <= LogLevel::Notice {
            let message = crate::log::startup_logo("standalone", port, self.srv.pid);
            let role = self.srv.role_char();
            let line = LogLine { at_ms: self.srv.now, role, level: LogLevel::Notice, message, raw: true };
            self.srv.outputs.push_back(Output::Log(line));
        } else {
            self.srv.log(LogLevel::Notice, format!("Running mode=standalone, port={}.", port));
        }
        self.srv.log(LogLevel::Warning, "Server initialized");
    }

    /// Load a dump.rdb image at start-up. Keys whose deadline has passed are dropped, as
    /// Redis does when a master loads its RDB.
    pub fn load_rdb(&mut self, data: &[u8]) -> Result<usize, String> {
        self.load_rdb_image(data, false)
    }

    /// Load an RDB image: our own dump.rdb, or (`from_master`) a full-resync snapshot.
    ///
    /// Loading our own file also restores where its dataset stands in a replication stream
    /// (Redis's `loadDataFromDisk`). A replica takes the stream's id and offset as a cached
    /// master, to ask its master for a partial resync. A master keeps the file's id as its
    /// *previous* id (`master_replid2`), valid up to the file's offset, so the replicas it had
    /// before the restart can continue too; keys that expired while it was down go into its
    /// backlog as `DEL`s, after that offset.
    fn load_rdb_image(&mut self, data: &[u8], from_master: bool) -> Result<usize, String> {
        let loaded =
            rdb::decode_rdb(data, &crate::keyspace::EncodingLimits::from_config(&self.srv.config)).map_err(|e| e.0)?;
        // A replica keeps keys whose deadline passed: its master will send their DEL.
        let keep_expired = self.srv.repl.is_replica();
        let save_info = if from_master { None } else { loaded.aux.repl_save_info() };
        let master_restart = !from_master && !keep_expired;
        if master_restart {
            self.srv.create_backlog();
        }
        let now = self.srv.now;
        // Loaded keys count as accessed now (the file keeps no idle times in the lab).
        let clock = crate::access::AccessClock { policy: self.srv.access_policy, now_ms: now };
        self.srv.keyspace.set_clock(clock);
        let mut keys = 0;
        let mut expired = 0;
        for (dbi, entries) in loaded.dbs {
            if dbi >= self.srv.keyspace.dbs.len() {
                return Err(format!("FATAL: Data file was created with a Redis server configured to handle more than {} databases. Exiting", self.srv.keyspace.dbs.len()));
            };
            for (key, value, expire) in entries {
                if let Some(at) = expire {
                    if at <= now && !keep_expired {
                        expired += 1;
                        if master_restart {
                            self.srv.propagate(dbi, &[b"DEL", &key]);
                        }
                        continue;
                    }
                    let db = &mut self.srv.keyspace.dbs[dbi];
                    db.set(key.clone(), value);
                    db.set_expire(&key, at);
                } else {
                    self.srv.keyspace.dbs[dbi].set(key, value);
                }
                keys += 1;
            }
        }
        self.srv.persist.last_load_keys_loaded = keys as u64;
        self.srv.persist.last_load_keys_expired = expired;
        if let Some(ver) = loaded.aux.get("redis-ver") {
            self.srv.log(LogLevel::Notice, format!("Loading RDB produced by version {}", ver));
        }
        if let Some(ctime) = loaded.aux.get("ctime").and_then(|c| c.parse::<u64>().ok()) {
            self.srv.log(LogLevel::Notice, format!("RDB age {} seconds", (now / 1000).saturating_sub(ctime)));
        }
        self.srv.log(
            LogLevel::Notice,
            format!(
                "RDB memory usage when created {:.2} Mb",
                loaded.aux.get("used-mem").and_then(|m| m.parse::<f64>().ok()).unwrap_or(0.0) / (1024.0 * 1024.0)
            ),
        );
        self.srv.log(LogLevel::Notice, format!("Done loading RDB, keys loaded: {}, keys expired: {}.", keys, expired));
        match save_info {
            Some(info) if keep_expired => {
                self.srv.repl.replid = info.replid.clone();
                self.srv.repl.offset = info.offset;
                self.srv.repl.cached_master = Some(crate::replication::CachedMaster {
                    replid: info.replid,
                    offset: info.offset,
                    db: info.stream_db,
                });
                self.srv.log(
                    LogLevel::Notice,
                    "Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.",
                );
            }
            Some(info) if master_restart => self.srv.continue_saved_stream(&info),
            _ if master_restart => self.srv.repl.backlog = None,
            _ => {}
        }
        Ok(keys)
    }

    /// Feed the node an input at time `now` (Unix ms, virtual in the simulator).
    pub fn handle(&mut self, now: u64, input: Input<'_>) {
        if now > self.srv.now {
            self.srv.now = now;
        }
        if self.srv.halted {
            return;
        }
        match input {
            Input::Connected { conn, addr, laddr } => self.on_connect(conn, addr, laddr),
            Input::Data { conn, bytes } => self.on_data(conn, bytes),
            Input::Closed { conn } => self.on_close(conn),
            Input::Written { conn, bytes } => {
                if let Some(unsent) = self.srv.unsent.get_mut(&conn) {
                    *unsent = unsent.saturating_sub(bytes as u64);
                }
                // Bookkeeping only: nothing else follows from a write (and drivers report many).
                return;
            }
            Input::Tick => self.on_tick(),
            Input::Signal(s) => self.srv.signal(s),
            Input::Listened { conn, result } => self.srv.listened(conn, result),
            Input::PersistDone { job, result, image } => self.srv.persist_done(job, result, image),
            Input::Outbound { conn, result } if self.srv.migrations.owns(conn) => {
                self.srv.migrate_connected(conn, result)
            }
            Input::Outbound { conn, result } => self.srv.outbound_result(conn, result),
        }
        self.serve_ready_keys();
        self.resume_clients();
        self.resume_paused_clients();
        self.flush_pending();
        self.srv.flush_replication_stream();
        if !self.srv.obuf_overrun.is_empty() {
            self.srv.close_overrun_clients();
        }
    }

    /// Next output for the driver, in the order the node produced them.
    pub fn poll(&mut self) -> Option<Output> {
        self.srv.outputs.pop_front()
    }

    /// When the node next needs an [`Input::Tick`] (Unix ms).
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.srv.halted {
            return None;
        }
        let hz = self.srv.config.get_i64("hz").unwrap_or(10).max(1) as u64;
        let cron = self.srv.last_cron_ms + cron_period_ms(hz);
        // Blocked clients with a timeout wake the node at their deadline, not a cron later.
        let blocked = if self.srv.blocking.is_empty() {
            None
        } else {
            self.srv.clients.values().filter_map(|c| c.blocked.as_ref().and_then(|b| b.deadline)).min()
        };
        let mut next = blocked.map_or(cron, |b| b.min(cron));
        if let Some(d) = self.srv.migrations.deadline() {
            next = next.min(d);
        }
        if let Some(p) = &self.srv.shutdown {
            next = next.min(p.deadline_ms);
        }
        // A pause ends on time, not a cron later.
        if let Some(end) = self.srv.pauses.iter().flatten().map(|p| p.until_ms).min() {
            next = next.min(end);
        }
        if let Some(r) = self.srv.replication_deadline() {
            next = next.min(r);
        }
        Some(next)
    }

    /// The driver finished writing the config file for CONFIG REWRITE.
    pub fn config_rewrite_done(&mut self, conn: ConnId, result: Result<(), String>) {
        if let Some(c) = self.srv.clients.get_mut(&conn) {
            match result {
                Ok(()) => {
                    c.reply.ok();
                    self.srv.log(LogLevel::Notice, "CONFIG REWRITE executed with success.");
                }
                Err(e) => c.reply.error(&format!("ERR Rewriting config file: {}", e)),
            }
            self.srv.io_done(conn);
        }
        self.resume_clients();
        self.flush_pending();
    }

    fn on_connect(&mut self, conn: ConnId, addr: String, laddr: String) {
        self.srv.stats.total_connections_received += 1;
        let maxclients = self.srv.config.get_i64("maxclients").unwrap_or(10000) as usize;
        if self.srv.clients.len() >= maxclients {
            self.srv.stats.rejected_connections += 1;
            self.srv
                .outputs
                .push_back(Output::Send { conn, bytes: Bytes::from_static(b"-ERR max number of clients reached\r\n") });
            self.srv.outputs.push_back(Output::Close { conn });
            return;
        }
        if self.protected_mode_denies(&addr) {
            self.srv.stats.rejected_connections += 1;
            self.srv.outputs.push_back(Output::Send { conn, bytes: Bytes::from_static(PROTECTED_MODE_DENIED) });
            self.srv.outputs.push_back(Output::Close { conn });
            return;
        }
        self.srv.next_client_id += 1;
        let needs_auth = self.srv.config.requirepass().is_some();
        let client = Client::new(self.srv.next_client_id, conn, addr, laddr, self.srv.now, !needs_auth);
        self.srv.clients.insert(conn, client);
    }

    /// Redis 7.0 refuses non-loopback clients when protected mode is on, no `bind` was
    /// configured and no password is set.
    fn protected_mode_denies(&self, addr: &str) -> bool {
        if !self.srv.config.get_bool("protected-mode") || self.srv.config.requirepass().is_some() {
            return false;
        }
        let bind = self.srv.config.get_str("bind");
        if bind != "* -::*" {
            return false;
        }
        let ip = crate::replication::host_of(addr);
        // Unix socket clients (`/path:0`) are local.
        !(ip.starts_with("127.") || ip == "::1" || ip.starts_with('/') || ip.is_empty())
    }

    fn on_close(&mut self, conn: ConnId) {
        if self.srv.migrations.owns(conn) {
            self.srv.migrate_closed(conn);
            return;
        }
        if self.srv.is_master_conn(conn) {
            self.srv.master_conn_closed();
            return;
        }
        if let Some(mut c) = self.srv.clients.remove(&conn) {
            // A replica's client forgets its replica entry as it goes.
            command::release_client_state(&mut self.srv, &mut c);
        }
        self.srv.unsent.remove(&conn);
    }

    fn on_data(&mut self, conn: ConnId, bytes: &[u8]) {
        if self.srv.migrations.owns(conn) {
            self.srv.migrate_data(conn, bytes);
            return;
        }
        if self.srv.is_master_conn(conn) {
            self.on_master_data(conn, bytes);
            return;
        }
        let Some(mut client) = self.srv.clients.remove(&conn) else { return };
        if client.closed {
            self.srv.clients.insert(conn, client);
            return;
        }
        self.srv.stats.total_net_input_bytes += bytes.len() as u64;
        self.srv.stats.total_reads_processed += 1;
        client.inbuf.extend_from_slice(bytes);
        client.last_interaction_ms = self.srv.now;
        self.process_input(&mut client);
        let closing = client.close_after_reply;
        self.srv.flush_client(&mut client);
        if closing {
            self.srv.outputs.push_back(Output::Close { conn });
            command::release_client_state(&mut self.srv, &mut client);
        } else {
            self.srv.clients.insert(conn, client);
        }
    }

    /// Bytes from our master: the handshake and snapshot, then the stream to apply.
    fn on_master_data(&mut self, conn: ConnId, bytes: &[u8]) {
        self.srv.stats.total_net_repl_input_bytes += bytes.len() as u64;
        let stream = if self.srv.repl.link_up() {
            Some(BytesMut::from(bytes))
        } else {
            self.srv.master_handshake_data(bytes).map(|read| {
                if let Some(image) = read.snapshot {
                    self.load_master_snapshot(&image);
                }
                read.stream
            })
        };
        if let Some(stream) = stream.filter(|s| !s.is_empty()) {
            if self.srv.repl.link_up() {
                self.apply_master_stream(conn, &stream);
            }
        }
    }

    /// Load the snapshot of a full resync (Redis's `readSyncBulkPayload`, after the transfer).
    fn load_master_snapshot(&mut self, image: &[u8]) {
        let result = self.load_rdb_image(image, true);
        match result {
            Ok(_) => self.srv.log(LogLevel::Notice, "MASTER <-> REPLICA sync: Finished with success"),
            Err(e) => {
                self.srv.log(
                    LogLevel::Warning,
                    format!("Failed trying to load the MASTER synchronization DB from socket: {}", e),
                );
                if let Some(conn) = self.srv.repl.master.as_ref().and_then(|m| m.conn) {
                    self.srv.outputs.push_back(Output::Close { conn });
                }
                self.srv.master_conn_closed();
            }
        }
    }

    /// Apply the master's stream: its commands run as the master client, their replies are
    /// dropped, and each applied command advances our offset (and feeds our own replicas).
    fn apply_master_stream(&mut self, conn: ConnId, bytes: &[u8]) {
        self.srv.master_stream_received(bytes);
        let Some(mut client) = self.srv.clients.remove(&conn) else { return };
        client.inbuf.extend_from_slice(bytes);
        client.last_interaction_ms = self.srv.now;
        if self.run_master_commands(&mut client) {
            self.srv.clients.insert(conn, client);
        }
    }

    /// Run the master client's complete commands. A client pause holds the master's writes
    /// too, as 7.0's `processCommand` pauses every client but replicas: the stream is still
    /// read (`slave_read_repl_offset` grows) but not applied (`slave_repl_offset` does not)
    /// until the pause ends. Returns false when a protocol error closed the link.
    fn run_master_commands(&mut self, client: &mut Client) -> bool {
        loop {
            let args = match client.postponed.take() {
                Some(args) => args,
                None => {
                    let before = client.inbuf.len();
                    client.parser.authenticated = true;
                    let parsed = client.parser.next(&mut client.inbuf);
                    // The parser keeps a partial command's bytes: they count as applied (our
                    // offset, what our replicas get) only once the whole command has run.
                    if let Some(link) = self.srv.repl.master.as_mut() {
                        link.parsed_unapplied += before - client.inbuf.len();
                    }
                    match parsed {
                        Ok(Some(args)) => args,
                        Ok(None) => return true,
                        Err(e) => {
                            self.srv.log(LogLevel::Warning, format!("Protocol error ({}) from master", e.0));
                            self.srv.outputs.push_back(Output::Close { conn: client.conn });
                            self.srv.master_conn_closed();
                            return false;
                        }
                    }
                }
            };
            let now = self.srv.now;
            let mut ctx = Ctx { srv: &mut self.srv, client, now };
            command::execute(&mut ctx, args);
            client.reply.buf.clear();
            if client.postponed.is_some() {
                // Paused: its bytes stay parsed but unapplied.
                return true;
            }
            let applied = self.srv.repl.master.as_mut().map_or(0, |link| std::mem::take(&mut link.parsed_unapplied));
            self.srv.master_stream_applied(applied);
        }
    }

    /// Clients that waited (WAIT) run what they pipelined behind.
    fn resume_clients(&mut self) {
        for conn in std::mem::take(&mut self.srv.resume_queue) {
            let Some(mut c) = self.srv.clients.remove(&conn) else { continue };
            self.process_input(&mut c);
            self.srv.flush_client(&mut c);
            self.srv.clients.insert(conn, c);
        }
    }

    /// Run every complete command in the client's input buffer (Redis's
    /// `processInputBuffer`). Stops at a blocked client, a paused client or a protocol error.
    fn process_input(&mut self, client: &mut Client) {
        loop {
            if client.close_after_reply
                || client.blocked.is_some()
                || client.wait.is_some()
                || client.awaiting_io
                || self.srv.halted
            {
                return;
            }
            if client.postponed.is_some() {
                // Postponed by a pause: that command first, when the pause allows it.
                let args = client.postponed.take().unwrap();
                let now = self.srv.now;
                let mut ctx = Ctx { srv: &mut self.srv, client, now };
                command::execute(&mut ctx, args);
                if client.postponed.is_some() {
                    return;
                }
                continue;
            }
            client.parser.authenticated = client.authenticated;
            let before = client.inbuf.len();
            let args = match client.parser.next(&mut client.inbuf) {
                Ok(Some(args)) => args,
                Ok(None) => return,
                Err(e) => {
                    self.srv.log(
                        LogLevel::Verbose,
                        format!(
                            "Protocol error ({}) from client: {}",
                            e.0,
                            client.info_line(self.srv.now, self.srv.unsent_of(client.conn))
                        ),
                    );
                    client.reply.raw(e.reply_line().as_bytes());
                    self.srv.stats.total_error_replies += 1;
                    client.close_after_reply = true;
                    return;
                }
            };
            let now = self.srv.now;
            client.executing_len = before - client.inbuf.len();
            let mut ctx = Ctx { srv: &mut self.srv, client, now };
            command::execute(&mut ctx, args);
            client.executing_len = 0;
            // A replica's link carries our stream and no replies: a command that answered on
            // it gets the replica disconnected, the reply unsent (7.0's
            // `_addReplyToBufferOrList` → `logInvalidUseAndFreeClientAsync`).
            if client.role == ClientRole::Replica && !client.reply.buf.is_empty() {
                client.reply.buf.clear();
                let info = client.info_line(now, self.srv.unsent_of(client.conn));
                self.srv.log(
                    LogLevel::Warning,
                    format!(
                        "Replica generated a reply to command '{}', disconnecting it: {}",
                        client.last_command, info
                    ),
                );
                client.close_after_reply = true;
                return;
            }
            // Clients blocked on keys this command fed are served before the next command
            // (Redis's `processCommand` → `handleClientsBlockedOnKeys`).
            if !self.srv.ready_keys.is_empty() {
                self.serve_ready_keys();
            }
        }
    }

    /// Serve clients blocked on keys that received data (Redis's `handleClientsBlockedOnKeys`).
    fn serve_ready_keys(&mut self) {
        while !self.srv.ready_keys.is_empty() {
            let ready = std::mem::take(&mut self.srv.ready_keys);
            for (db, key) in ready {
                let Some(waiters) = self.srv.blocking.get(&(db, key.clone())).cloned() else { continue };
                for conn in waiters {
                    let Some(mut client) = self.srv.clients.remove(&conn) else { continue };
                    let Some(blocked) = client.blocked.clone() else {
                        self.srv.clients.insert(conn, client);
                        continue;
                    };
                    let now = self.srv.now;
                    {
                        let mut ctx = Ctx { srv: &mut self.srv, client: &mut client, now };
                        command::retry_blocked(&mut ctx, blocked);
                    }
                    let unblocked = client.blocked.is_none();
                    if unblocked {
                        // It may have more commands pipelined behind the blocking one.
                        self.process_input(&mut client);
                    }
                    self.srv.flush_client(&mut client);
                    self.srv.clients.insert(conn, client);
                }
            }
        }
    }

    fn flush_pending(&mut self) {
        let pending = std::mem::take(&mut self.srv.to_flush);
        for conn in pending {
            if let Some(mut c) = self.srv.clients.remove(&conn) {
                self.srv.flush_client(&mut c);
                self.srv.clients.insert(conn, c);
            }
        }
    }

    /// serverCron: runs `hz` times a second.
    fn on_tick(&mut self) {
        let now = self.srv.now;
        if !self.srv.migrations.sockets.is_empty() || !self.srv.migrations.jobs.is_empty() {
            self.srv.migrate_cron();
        }
        if (self.srv.shutdown.is_some() || self.srv.shutdown_asap.is_some()) && !self.srv.cron_paused {
            self.srv.shutdown_cron();
            if self.srv.halted {
                return;
            }
        }
        let hz = self.srv.config.get_i64("hz").unwrap_or(10).max(1) as u64;
        if now < self.srv.last_cron_ms + cron_period_ms(hz) {
            // An early tick still serves blocked-client deadlines.
            self.expire_blocked_clients();
            self.srv.serve_waiting_clients();
            if self.srv.repl.is_replica() || !self.srv.repl.replicas.is_empty() || self.srv.repl.backlog.is_some() {
                self.srv.replication_cron();
            }
            return;
        }
        self.srv.last_cron_ms = now;
        if self.srv.cron_paused {
            return;
        }
        // Replicas do not expire keys: their master's DELs do — but for the keys their own
        // clients wrote with a TTL. Paused clients freeze the dataset.
        if self.srv.active_expire_enabled && !self.srv.expiry_frozen() {
            if !self.srv.repl.is_replica() {
                self.active_expire_cycle();
            } else if !self.srv.replica_keys_with_expire.is_empty() {
                self.expire_replica_keys();
            }
        }
        self.srv.replication_cron();
        self.expire_blocked_clients();
        self.close_idle_clients();
        self.close_clients_over_obuf_limit();
        self.resume_paused_clients();
        self.check_save_points();
    }

    /// Redis's `activeExpireCycle` (slow cycle): per db, sample 20 keys with a TTL, delete the
    /// stale ones, and repeat while more than 25% of the sample was stale, within a budget.
    fn active_expire_cycle(&mut self) {
        let now = self.srv.now;
        const SAMPLE: usize = 20;
        let mut budget: usize = 16 * 20;
        for dbi in 0..self.srv.keyspace.dbs.len() {
            loop {
                let cursor = self.srv.active_expire_cursor;
                // The deleted keys are needed to propagate their DEL, to touch their watchers
                // and for their `expired` events.
                let wanted = self.srv.repl.feeding()
                    || !self.srv.watched.is_empty()
                    || command::pubsub::wants_event(&self.srv, command::pubsub::class::EXPIRED);
                let db = &mut self.srv.keyspace.dbs[dbi];
                if db.expires.is_empty() {
                    break;
                }
                let mut deleted = Vec::new();
                let (looked, expired, next) =
                    db.active_expire_sample(now, SAMPLE, cursor, if wanted { Some(&mut deleted) } else { None });
                for key in deleted {
                    self.srv.key_expired(dbi, &key, None);
                }
                self.srv.active_expire_cursor = next;
                self.srv.stats.expired_keys += expired as u64;
                budget = budget.saturating_sub(1);
                if looked == 0 || expired * 4 <= looked || budget == 0 {
                    break;
                }
            }
        }
    }

    /// Redis's `expireSlaveKeys`: delete the tracked keys whose deadline passed, locally (a
    /// replica propagates nothing); forget those that lost their TTL or are gone.
    fn expire_replica_keys(&mut self) {
        let now = self.srv.now;
        let tracked: Vec<(usize, Bytes)> = self.srv.replica_keys_with_expire.iter().cloned().collect();
        for (db, key) in tracked {
            match self.srv.keyspace.dbs[db].expire_at(&key) {
                Some(at) if at <= now => {
                    self.srv.keyspace.dbs[db].remove(&key);
                    self.srv.key_expired(db, &key, None);
                    self.srv.stats.expired_keys += 1;
                    self.srv.replica_keys_with_expire.remove(&(db, key));
                }
                Some(_) => {}
                None => {
                    self.srv.replica_keys_with_expire.remove(&(db, key));
                }
            }
        }
    }

    fn expire_blocked_clients(&mut self) {
        let now = self.srv.now;
        let timed_out: Vec<ConnId> = self
            .srv
            .clients
            .values()
            .filter(|c| c.blocked.as_ref().and_then(|b| b.deadline).is_some_and(|d| d <= now))
            .map(|c| c.conn)
            .collect();
        for conn in timed_out {
            let mut c = self.srv.clients.remove(&conn).unwrap();
            command::unblock_client(&mut self.srv, &mut c);
            c.reply.null_array();
            self.process_input(&mut c);
            self.srv.flush_client(&mut c);
            self.srv.clients.insert(conn, c);
        }
    }

    /// Clients still over their output buffer limit with no new output — a soft limit's time
    /// runs out while nothing is sent (the check in 7.0's `clientsCron`).
    fn close_clients_over_obuf_limit(&mut self) {
        let now = self.srv.now;
        let waiting: Vec<ConnId> = self.srv.unsent.iter().filter(|(_, &n)| n > 0).map(|(&c, _)| c).collect();
        for conn in waiting {
            let used = self.srv.unsent_of(conn);
            let Some(c) = self.srv.clients.get_mut(&conn) else { continue };
            // Replicas are checked with what is held for them, as the stream is fed; our
            // master is sent no replies.
            if c.role != ClientRole::Normal || c.obuf_overrun {
                continue;
            }
            let limit = self.srv.config.obuf_limit(c.obuf_class());
            if obuf_limit_reached(limit, used, &mut c.obuf_soft_since, now) {
                let info = c.info_line(now, used);
                self.srv
                    .log(LogLevel::Warning, format!("Client {} closed for overcoming of output buffer limits.", info));
                self.srv.obuf_overrun.push(conn);
            }
        }
        if !self.srv.obuf_overrun.is_empty() {
            self.srv.close_overrun_clients();
        }
    }

    fn close_idle_clients(&mut self) {
        let timeout = self.srv.config.get_i64("timeout").unwrap_or(0);
        if timeout <= 0 {
            return;
        }
        let now = self.srv.now;
        let idle: Vec<ConnId> = self
            .srv
            .clients
            .values()
            .filter(|c| {
                // Replicas and our master are never idle-timed-out, nor blocked or subscribed
                // clients (Redis's `clientsCronHandleTimeout`).
                c.role == ClientRole::Normal
                    && c.blocked.is_none()
                    && !c.in_pubsub()
                    && now.saturating_sub(c.last_interaction_ms) > timeout as u64 * 1000
            })
            .map(|c| c.conn)
            .collect();
        for conn in idle {
            self.srv.log(LogLevel::Verbose, "Closing idle client");
            self.on_close(conn);
            self.srv.outputs.push_back(Output::Close { conn });
        }
    }

    /// A pause ended: clients whose command was postponed run it, and what they pipelined
    /// behind it, in the order they connected.
    fn resume_paused_clients(&mut self) {
        self.srv.pause_in_force();
        if !std::mem::take(&mut self.srv.unpaused) {
            return;
        }
        let mut conns: Vec<(u64, ConnId)> =
            self.srv.clients.values().filter(|c| c.postponed.is_some()).map(|c| (c.id, c.conn)).collect();
        conns.sort_unstable();
        for (_, conn) in conns {
            let Some(mut c) = self.srv.clients.remove(&conn) else { continue };
            if c.role == ClientRole::Master {
                if self.run_master_commands(&mut c) {
                    self.srv.clients.insert(conn, c);
                }
                continue;
            }
            self.process_input(&mut c);
            self.srv.flush_client(&mut c);
            self.srv.clients.insert(conn, c);
        }
    }

    /// `save <seconds> <changes>`: start a BGSAVE when enough changes happened in enough
    /// time since the last save (Redis logs "N changes in M seconds. Saving...").
    fn check_save_points(&mut self) {
        if self.srv.persist.bgsave_job.is_some() || self.srv.persist.dirty == 0 {
            return;
        }
        let elapsed = self.srv.now.saturating_sub(self.srv.persist.last_save_ms) / 1000;
        let dirty = self.srv.persist.dirty;
        let hit =
            self.srv.config.save_points().into_iter().find(|&(secs, changes)| dirty >= changes && elapsed >= secs);
        if let Some((secs, changes)) = hit {
            self.srv.log(LogLevel::Notice, format!("{} changes in {} seconds. Saving...", changes, secs));
            self.srv.start_bgsave();
        }
    }

    /// Update what the driver knows about the process (RSS, CPU) for INFO.
    pub fn set_process_stats(&mut self, stats: ProcessStats) {
        self.srv.process = stats;
    }

    /// Ids of connected clients (for drivers and tests).
    pub fn client_count(&self) -> usize {
        self.srv.clients.len()
    }
}

const PROTECTED_MODE_DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";
