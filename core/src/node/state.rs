//! [`NodeState`]: the part of a node that commands act on.

use super::*;

/// The part of the node that commands act on: everything but the client running the command.
#[derive(Debug)]
pub struct NodeState {
    pub(crate) config: Config,
    pub(crate) keyspace: Keyspace,
    /// The clients, by connection. Invariant: the client whose command is running is out of
    /// this table for the command's length and back after (see [`crate::command::Ctx::new`]).
    pub(crate) clients: FxHashMap<ConnId, Client>,
    pub(crate) channels: crate::keyspace::Map<Bytes, Vec<ConnId>>,
    pub(crate) patterns: crate::keyspace::Map<Bytes, Vec<ConnId>>,
    /// Shard channels (`SSUBSCRIBE`) → their subscribers (Redis's `pubsubshard_channels`).
    pub(crate) shard_channels: crate::keyspace::Map<Bytes, Vec<ConnId>>,
    /// `(db, key)` → the clients that WATCH it (Redis's `db->watched_keys`). Each client's
    /// `watched` lists the same pairs, to unwatch them.
    pub(crate) watched: FxHashMap<(usize, Bytes), Vec<crate::command::transactions::Watcher>>,
    /// Clients whose watched keys were touched: their EXEC answers a null array (Redis's
    /// `CLIENT_DIRTY_CAS`). Kept here rather than on the client, because the client running
    /// a command is the one most likely to touch its own watched key.
    pub(crate) cas_dirty: rustc_hash::FxHashSet<ConnId>,
    /// `(db, key)` → clients blocked on it, first come first served.
    pub(crate) blocking: FxHashMap<(usize, Bytes), VecDeque<ConnId>>,
    /// Keys that received data while clients were blocked on them.
    pub(crate) ready_keys: Vec<(usize, Bytes)>,
    /// Clients whose reply buffer got data from someone else's command (pub/sub, unblock).
    pub(crate) to_flush: Vec<ConnId>,
    pub(crate) stats: Stats,
    pub(crate) persist: PersistState,
    pub(crate) process: ProcessStats,
    pub(crate) rng: SeededRng,
    /// How key accesses are recorded (LRU stamps or LFU counters), from `maxmemory-policy`
    /// and the `lfu-*` tunables; refreshed when CONFIG SET changes them.
    pub(crate) access_policy: crate::keyspace::access::AccessPolicy,
    /// The best eviction candidates sampled so far (see [`NodeState::perform_evictions`]).
    pub(crate) eviction_pool: crate::keyspace::access::EvictionPool,
    pub(crate) run_id: String,
    /// Replication ids, offsets, backlog, replicas, the link to our master.
    pub(crate) repl: Replication,
    /// Clients whose pipelined input can run again (after WAIT).
    pub(crate) resume_queue: Vec<ConnId>,
    /// Keys lazily expired during the current command (they change `dirty` but are not the
    /// command's own writes).
    pub(crate) expired_in_call: u64,
    pub(crate) pid: u32,
    pub(crate) start_ms: u64,
    pub(crate) now: u64,
    pub(crate) executable: String,
    pub(crate) config_file: Option<String>,
    pub(crate) next_client_id: u64,
    /// The pauses in force, by purpose.
    pub(crate) pauses: [Option<Pause>; 3],
    /// A pause ended: postponed clients must run their commands.
    pub(crate) unpaused: bool,
    pub(crate) outputs: VecDeque<Output>,
    /// Bytes sent to each client connection that the driver has not reported written
    /// ([`Input::Written`]): the client's output buffer.
    pub(crate) unsent: FxHashMap<ConnId, u64>,
    /// Clients over their output buffer limit, closed at the end of the event.
    pub(crate) obuf_overrun: Vec<ConnId>,
    pub(crate) log_level: LogLevel,
    pub(crate) active_expire_cursor: usize,
    /// Set when SHUTDOWN or a crash ends the node; no more input is processed.
    pub(crate) halted: bool,
    /// A shutdown waiting for replicas (`crate::node::shutdown`), and the clients of SHUTDOWN
    /// waiting for its outcome.
    pub(crate) shutdown: Option<crate::node::shutdown::PendingShutdown>,
    /// A SIGTERM/SIGINT received and not yet acted on (Redis's `shutdown_asap` with
    /// `last_sig_received`): the signal handler only records it, the cron starts the shutdown,
    /// and SHUTDOWN ABORT in between just forgets it.
    pub(crate) shutdown_asap: Option<crate::node::shutdown::Signal>,
    pub(crate) shutdown_waiters: Vec<ConnId>,
    /// A CONFIG SET of `bind`/`port` waiting for the driver: the old bind, the old port, and
    /// which parameter to blame if it fails.
    pub(crate) listen_pending: Option<(String, u16, &'static str)>,
    /// The command running asked to be propagated whether or not it changed anything
    /// (FLUSHALL, FLUSHDB: Redis's `forceCommandPropagation`).
    pub(crate) force_propagation: bool,
    /// Keys a writable replica's own clients gave a TTL (`slaveKeysWithExpire`): the replica
    /// expires them itself, in its cron (INFO's `slave_expires_tracked_keys`).
    pub(crate) replica_keys_with_expire: rustc_hash::FxHashSet<(usize, Bytes)>,
    /// Clients in MONITOR mode.
    pub(crate) monitors: Vec<ConnId>,
    /// MIGRATE's connections to its targets, and the jobs waiting for them.
    pub(crate) migrations: crate::command::migrate::Migrations,
    /// The slow log and the latency monitor's events.
    pub(crate) latency: crate::command::latency::LatencyRecords,
    /// Virtual time the running command stalled the server for (`DEBUG SLEEP`), in µs: its
    /// duration for the slow log and the latency records.
    pub(crate) call_stall_us: u64,
    /// `DEBUG SET-ACTIVE-EXPIRE 0` turns the cron's expiry off (lazy expiry still works).
    pub(crate) active_expire_enabled: bool,
    /// `DEBUG SET-SKIP-CHECKSUM-VALIDATION 1`: RESTORE takes payloads whose CRC64 is wrong
    /// (Redis's `server.skip_checksum_validation`), so corrupt bodies reach the parser.
    pub(crate) skip_checksum_validation: bool,
    /// `DEBUG PAUSE-CRON 1`: serverCron does nothing.
    pub(crate) cron_paused: bool,
    pub(super) pending_persist: Vec<(u64, PersistPurpose)>,
    pub(super) last_cron_ms: u64,
    /// The sentinel, when the config is in sentinel mode (then this node is a sentinel: see
    /// [`crate::sentinel`]). Taken out while it runs (`sentinel::with_sentinel`).
    pub(crate) sentinel: Option<Box<crate::sentinel::Sentinel>>,
    /// Where the start-up is ([`Input::Start`] once, then [`Input::Ready`]).
    pub(super) start_phase: super::startup::StartPhase,
}

impl NodeState {
    /// Emit a log line at `level` if the configured `loglevel` lets it through.
    pub fn log(&mut self, level: LogLevel, message: impl Into<String>) {
        let role = self.role_char();
        self.log_as(role, level, message);
    }

    /// Emit a log line with an explicit role letter (`C` for what `main()` logs before the
    /// server knows its role).
    pub(crate) fn log_as(&mut self, role: char, level: LogLevel, message: impl Into<String>) {
        if level >= self.log_level {
            self.outputs.push_back(Output::Log(LogLine {
                at_ms: self.now,
                role,
                level,
                message: message.into(),
                raw: false,
            }));
        }
    }

    /// INFO's `connected_clients`: the clients in the table but our replicas (Redis counts
    /// `server.clients` less `server.slaves`; our master's link is a client and counts).
    pub fn connected_clients(&self) -> usize {
        self.clients.len() - self.repl.replicas.len().min(self.clients.len())
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

    /// What follows the deletion of a key whose TTL passed, however it was found — by a
    /// command (lazily), by the active cycle, or by a writable replica's own cycle (Redis's
    /// `deleteExpiredKeyAndPropagate`): its `expired` event, its watchers touched, and a `DEL`
    /// down the stream (a replica propagates nothing). The caller counts it in `expired_keys`.
    pub(crate) fn key_expired(&mut self, db: usize, key: &[u8], client: Option<&mut Client>) {
        command::pubsub::notify_keyspace_event(self, client, command::pubsub::class::EXPIRED, "expired", key, db);
        command::transactions::touch_watched_key(self, db, key);
        self.propagate(db, &[b"DEL", key]);
    }

    /// Role letter of log lines: `M` for a master, `S` for a replica, `X` for a sentinel.
    pub fn role_char(&self) -> char {
        if self.config.sentinel_mode() {
            'X'
        } else if self.repl.is_replica() {
            'S'
        } else {
            'M'
        }
    }
}
