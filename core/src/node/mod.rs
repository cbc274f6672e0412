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
//! ## The call order
//!
//! A driver feeds [`Input::Start`] first (what the listeners and the disk gave; see
//! [`startup`]), then [`Input::Ready`] once it accepts connections, then anything. After
//! **every** [`Node::handle`], it drains [`Node::poll`] until `None` and carries out each
//! output in order, then reads [`Node::poll_timeout`] and wakes the node with
//! [`Input::Tick`] at that time (or earlier). An output the driver completes later answers as an
//! input of its own (`Persist` → `PersistDone`, `RewriteConfig` → `ConfigRewritten`, `Listen`
//! → `Listened`, `Connect` → `Outbound`), handled and drained like any other. Nothing reaches
//! the node any other way: what it knows of the process (RSS, CPU time) comes as
//! [`Input::ProcessStats`], signals as [`Input::Signal`]. Its state is read through the
//! accessors below (`config`, `info`, `replication`, …), never written.
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

mod clients;
mod cron;
mod memory;
mod persistence;
pub mod shutdown;
pub mod startup;
mod state;
mod stats;

pub(crate) use clients::obuf_limit_reached;
pub use clients::{
    Blocked, BlockedClients, Client, ClientPauses, ClientRole, OutputBuffers, Pause, PausePurpose, ReplyMode, WaitState,
};
use cron::cron_period_ms;
pub use cron::Cron;
pub(crate) use persistence::PersistPurpose;
pub use persistence::{PersistJob, PersistState};
pub use shutdown::ShutdownState;
pub use startup::{ListenFailure, StartUp, StoredRdb};
pub use state::NodeState;
pub use stats::{CommandStat, Process, ProcessStats, Stats};

/// What `used_memory` counts before any key: the server's own structures (a pristine
/// redis-server 7.0 reports about 900 KB).
pub const STARTUP_MEMORY: u64 = 900_000;

pub use crate::net::ConnId;

/// What happened to the node.
#[derive(Debug)]
pub enum Input<'a> {
    /// The process started: what the driver found opening the listeners and reading
    /// dump.rdb. The first input of every node; see [`startup`].
    Start(StartUp<'a>),
    /// The driver accepts connections now (after carrying out what `Start` asked).
    Ready,
    /// A client connected from `addr` ("ip:port") to our `laddr`.
    Connected { conn: ConnId, addr: String, laddr: String },
    /// Bytes arrived on a connection.
    Data { conn: ConnId, bytes: &'a [u8] },
    /// The peer closed the connection (or the driver dropped it).
    Closed { conn: ConnId },
    /// The socket took `bytes` more of what [`Output::Send`] gave for `conn`, in the order it
    /// was given. What was sent and is not written yet is the client's output buffer (CLIENT
    /// LIST's `omem`, but for a replica's snapshot), which `client-output-buffer-limit`
    /// bounds; a driver whose writes never wait (the simulator) reports each send as written
    /// at once. Never more than was sent. It is bookkeeping only: it produces no output.
    Written { conn: ConnId, bytes: usize },
    /// Time passed; run whatever timers are due.
    Tick,
    /// The process received SIGTERM or SIGINT.
    Signal(crate::node::shutdown::Signal),
    /// The driver carried out [`Output::Listen`]: `Err` holds why it kept the old listeners,
    /// with the failing address (`Err((addr, strerror))`).
    Listened { conn: ConnId, result: Result<(), String> },
    /// A [`PersistJob`] finished. `image` holds the encoded RDB when the job asked for it
    /// back (`return_image`: a snapshot for replicas).
    PersistDone { job: u64, result: Result<usize, String>, image: Option<Bytes> },
    /// An outbound connection asked for with [`Output::Connect`] is open (`Ok`) or failed.
    /// `Ok` carries our end's address ("ip:port").
    Outbound { conn: ConnId, result: Result<String, String> },
    /// The driver carried out [`Output::RewriteConfig`]: the file is written (`Ok`) or why not.
    ConfigRewritten { conn: Option<ConnId>, result: Result<(), String> },
    /// A script [`Output::RunScript`] started has ended: its exit code, or the signal that
    /// killed it (0 when none). One that could not be started ends with exit code 2, as a
    /// failed `execve` does.
    ScriptExited { id: u64, exit_code: i32, signal: i32 },
    /// What the driver measured of the process (RSS, CPU time, OS) for INFO; a native driver
    /// reports it about once a second, the simulator never (its figures stay zero).
    ProcessStats(ProcessStats),
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
    /// Write the configuration file (CONFIG REWRITE, or a sentinel saving its state): the text
    /// is [`Node::rewrite_config_text`] of the file as it is now; the driver answers
    /// [`Input::ConfigRewritten`] with the same `conn` (the client waiting, if any).
    RewriteConfig {
        conn: Option<ConnId>,
    },
    /// Run a sentinel's script: `argv[0]` is the program, the rest its arguments; answer
    /// [`Input::ScriptExited`] with the same `id` when it ends.
    RunScript {
        id: u64,
        argv: Vec<String>,
    },
    /// Kill a script that ran too long (SIGKILL); its end is still reported.
    KillScript {
        id: u64,
    },
    /// Listen where `bind` and `port` now say (CONFIG SET of either): keep the old listeners
    /// if the new ones cannot all be opened. The driver answers [`Input::Listened`].
    Listen {
        conn: ConnId,
        bind: String,
        port: u16,
    },
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
    /// Whether a path is executable: how a sentinel checks its scripts' paths
    /// ([`crate::sentinel::ExecutableProbe`]).
    pub is_executable: crate::sentinel::ExecutableProbe,
}

/// A Redis node. See the module docs for the driving loop.
#[derive(Debug)]
pub struct Node {
    pub(crate) srv: NodeState,
    logs_to_terminal: bool,
}

impl Node {
    pub fn new(opts: NodeOptions) -> Node {
        let mut rng = SeededRng::new(opts.seed);
        let run_id = rng.hex40();
        let replid = rng.hex40();
        let databases = opts.config.databases();
        let log_level = LogLevel::from_config(&opts.config.get_str("loglevel")).unwrap_or(LogLevel::Notice);
        let master = opts.config.replicaof();
        let access_policy = crate::keyspace::access::AccessPolicy::from_config(&opts.config);
        let mut srv = NodeState {
            keyspace: Keyspace::new(databases),
            access_policy,
            eviction_pool: Default::default(),
            config: opts.config,
            clients: FxHashMap::default(),
            next_client_id: 0,
            outputs: VecDeque::new(),
            now: opts.start_ms,
            rng,
            run_id,
            log_level,
            halted: false,
            repl: Replication::new(replid),
            obuf: OutputBuffers::default(),
            blocked: BlockedClients::default(),
            pauses: ClientPauses::default(),
            pubsub: Default::default(),
            watches: Default::default(),
            call: Default::default(),
            stats: Stats::default(),
            persist: PersistState { last_save_ms: opts.start_ms, last_bgsave_ok: true, ..Default::default() },
            cron: Cron::new(opts.start_ms),
            shutdown: ShutdownState::default(),
            process: Process {
                pid: opts.pid,
                start_ms: opts.start_ms,
                executable: opts.executable,
                config_file: opts.config_file,
                measured: ProcessStats { os: "halab-sim".into(), ..Default::default() },
            },
            debug: Default::default(),
            migrations: Default::default(),
            latency: Default::default(),
            listen_pending: None,
            start_phase: startup::StartPhase::New,
            sentinel: None,
        };
        if srv.config.sentinel_mode() {
            // The driver checked the `sentinel` lines with `Sentinel::load` before (a bad one
            // is a fatal config error there); a node never starts with a half-read sentinel.
            let sentinel = crate::sentinel::Sentinel::load(&srv.config, opts.start_ms, opts.is_executable)
                .unwrap_or_else(|_| crate::sentinel::Sentinel::new(opts.start_ms));
            srv.sentinel = Some(Box::new(sentinel));
        }
        if let Some((host, port)) = master {
            // `replicaof` in the config: connect at the first cron, with no cached master
            // unless the dump.rdb we load tells where we were.
            srv.repl.master = Some(crate::replication::MasterLink::new(host, port, opts.start_ms));
        }
        Node { srv, logs_to_terminal: opts.logs_to_terminal }
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
            Input::Start(startup) => self.start(startup),
            Input::Ready => self.ready(),
            Input::ProcessStats(stats) => {
                self.srv.process.measured = stats;
                return;
            }
            Input::ConfigRewritten { conn, result } => self.config_rewritten(conn, result),
            Input::Connected { conn, addr, laddr } => self.on_connect(conn, addr, laddr),
            Input::Data { conn, bytes } if self.sentinel_owns(conn) => {
                crate::sentinel::with_sentinel(&mut self.srv, |s, srv| s.on_data(srv, conn, bytes));
            }
            Input::Closed { conn } if self.sentinel_owns(conn) => {
                crate::sentinel::with_sentinel(&mut self.srv, |s, srv| s.on_closed(srv, conn));
            }
            Input::ScriptExited { id, exit_code, signal } => {
                crate::sentinel::with_sentinel(&mut self.srv, |s, srv| s.script_exited(srv, id, exit_code, signal));
            }
            Input::Outbound { conn, result } if self.sentinel_owns(conn) => {
                crate::sentinel::with_sentinel(&mut self.srv, |s, srv| s.on_outbound(srv, conn, result));
            }
            Input::Data { conn, bytes } => self.on_data(conn, bytes),
            Input::Closed { conn } => self.on_close(conn),
            Input::Written { conn, bytes } => {
                // What a driver reports written it was sent, unless the node let the
                // connection go meanwhile (an abort drops what was not written yet).
                let counted = self.srv.obuf.written(conn, bytes as u64);
                debug_assert!(
                    counted || !self.srv.knows_connection(conn),
                    "connection {}: {} bytes written, more than was sent and not written",
                    conn,
                    bytes
                );
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
        if !self.srv.obuf.overrun.is_empty() {
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
        let hz = self.srv.config.hz();
        let cron = self.srv.cron.last_run_ms + cron_period_ms(hz);
        // Blocked clients with a timeout wake the node at their deadline, not a cron later.
        let blocked = if self.srv.blocked.by_key.is_empty() {
            None
        } else {
            self.srv.clients.values().filter_map(|c| c.blocked.as_ref().and_then(|b| b.deadline)).min()
        };
        let mut next = blocked.map_or(cron, |b| b.min(cron));
        if let Some(d) = self.srv.migrations.deadline() {
            next = next.min(d);
        }
        if let Some(p) = &self.srv.shutdown.pending {
            next = next.min(p.deadline_ms);
        }
        // A pause ends on time, not a cron later.
        if let Some(end) = self.srv.pauses.by_purpose.iter().flatten().map(|p| p.until_ms).min() {
            next = next.min(end);
        }
        if let Some(r) = self.srv.replication_deadline() {
            next = next.min(r);
        }
        if let Some(s) = &self.srv.sentinel {
            next = next.min(s.next_timer_ms());
        }
        Some(next)
    }

    /// Does the sentinel's link own `conn`?
    fn sentinel_owns(&self, conn: ConnId) -> bool {
        self.srv.sentinel.as_ref().is_some_and(|s| s.owns(conn))
    }

    /// The text of the config file after a rewrite (CONFIG REWRITE, or a sentinel saving its
    /// state), given the file as it is now: what the driver writes for
    /// [`Output::RewriteConfig`].
    /// `cwd` is the process's absolute working directory (what 7.0 writes as `dir`).
    pub fn rewrite_config_text(&self, original: &str, cwd: &str) -> String {
        let text = self.srv.config.rewrite(original, cwd);
        match &self.srv.sentinel {
            Some(s) => crate::sentinel::config::rewrite(&text, &s.state_lines()),
            None => text,
        }
    }

    /// The sentinel, if this node is one.
    pub fn sentinel(&self) -> Option<&crate::sentinel::Sentinel> {
        self.srv.sentinel.as_deref()
    }

    /// The driver finished writing the config file: for CONFIG REWRITE (a client waits), or
    /// for a sentinel saving its state (`sentinelFlushConfig`, perhaps with a client waiting).
    fn config_rewritten(&mut self, conn: Option<ConnId>, result: Result<(), String>) {
        if self.srv.config.sentinel_mode() {
            match &result {
                Ok(()) => self.srv.log(LogLevel::Notice, "Sentinel new configuration saved on disk"),
                Err(e) => self.srv.log(
                    LogLevel::Warning,
                    format!("WARNING: Sentinel was not able to save the new configuration on disk!!!: {}", e),
                ),
            }
            let Some(conn) = conn else { return };
            if let Some(c) = self.srv.clients.get_mut(&conn) {
                match result {
                    Ok(()) => c.reply.ok(),
                    Err(_) => c.reply.error("ERR Failed to save config file. Check server logs."),
                }
                self.srv.io_done(conn);
            }
            return;
        }
        match &result {
            Ok(()) => self.srv.log(LogLevel::Notice, "CONFIG REWRITE executed with success."),
            Err(e) => self.srv.log(LogLevel::Warning, format!("CONFIG-REWRITE failed: {}", e)),
        }
        let Some(conn) = conn else { return };
        if let Some(c) = self.srv.clients.get_mut(&conn) {
            match result {
                Ok(()) => c.reply.ok(),
                Err(e) => c.reply.error(&format!("ERR Rewriting config file: {}", e)),
            }
            self.srv.io_done(conn);
        }
    }

    /// Connected clients, replicas and our master's link included (the client table's size).
    pub fn client_count(&self) -> usize {
        self.srv.clients.len()
    }

    /// INFO's `connected_clients`: the client table less our replicas.
    pub fn connected_clients(&self) -> usize {
        self.srv.connected_clients()
    }
}

/// Narrow, read-only handles on the node's state, for drivers, observers and tests: the state
/// itself is the crate's.
impl Node {
    /// The configuration in force (CONFIG GET's view; [`Config::rewrite`] for CONFIG REWRITE).
    pub fn config(&self) -> &Config {
        &self.srv.config
    }

    /// Where dump.rdb is, as `dir` and `dbfilename` say.
    pub fn rdb_path(&self) -> String {
        self.srv.rdb_path()
    }

    /// The node's clock: the latest `now` it was handed.
    pub fn now_ms(&self) -> u64 {
        self.srv.now
    }

    /// `INFO <sections>` as a client outside the client table would read it now (lowercase
    /// section names; `everything`, `all`, `default` as INFO takes them).
    pub fn info(&self, sections: &[&str]) -> String {
        self.info_at(self.srv.now, sections)
    }

    /// [`Node::info`] as it would read at `now` (an observer's clock, ahead of the node's last
    /// input: uptimes and lags count to it).
    pub fn info_at(&self, now: u64, sections: &[&str]) -> String {
        let sections: Vec<String> = sections.iter().map(|s| s.to_ascii_lowercase()).collect();
        if self.srv.sentinel.is_some() {
            return crate::sentinel::command::info_text(&self.srv, now, &sections);
        }
        command::info::info_text(&self.srv, now, &sections)
    }

    /// Keys per non-empty database, as `INFO keyspace` lists them.
    pub fn keyspace_sizes(&self) -> Vec<(usize, u64)> {
        self.srv
            .keyspace
            .dbs
            .iter()
            .enumerate()
            .filter(|(_, d)| !d.is_empty())
            .map(|(i, d)| (i, d.len() as u64))
            .collect()
    }

    /// The replication state: ids, offsets, the link to our master, our replicas.
    pub fn replication(&self) -> &Replication {
        &self.srv.repl
    }

    /// The node's run id (`INFO server`'s `run_id`).
    pub fn run_id(&self) -> &str {
        &self.srv.run_id
    }

    /// The reply `ROLE` gives, as a RESP frame (a sentinel's: `sentinel` and its masters).
    pub fn role_reply(&self) -> crate::resp::Frame {
        if let Some(s) = &self.srv.sentinel {
            return s.role_frame();
        }
        command::replicaof::role_frame(&self.srv)
    }

    /// The role letter of its log lines: `M` for a master, `S` for a replica.
    pub fn role_char(&self) -> char {
        self.srv.role_char()
    }
}
