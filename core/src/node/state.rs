//! [`NodeState`]: the part of a node that commands act on.

use super::*;

/// The part of the node that commands act on: everything but the client running the command.
///
/// Each mechanism keeps its state in a struct of its own, defined (and documented) in the file
/// that owns the mechanism; what stays here is what every mechanism reads.
#[derive(Debug)]
pub struct NodeState {
    pub(crate) config: Config,
    pub(crate) keyspace: Keyspace,
    /// The clients, by connection. Invariant: the client whose command is running is out of
    /// this table for the command's length and back after (see [`crate::command::Ctx::new`]).
    pub(crate) clients: FxHashMap<ConnId, Client>,
    /// The last client id given out (CLIENT ID); ids only grow.
    pub(crate) next_client_id: u64,
    /// What the node asks its driver to do, in order, for [`Node::poll`].
    pub(crate) outputs: VecDeque<Output>,
    /// The node's clock: the latest `now` a driver handed in (it never goes back).
    pub(crate) now: u64,
    pub(crate) rng: SeededRng,
    pub(crate) run_id: String,
    pub(crate) log_level: LogLevel,
    /// Set when SHUTDOWN or a crash ends the node; no more input is processed.
    pub(crate) halted: bool,
    /// Replication ids, offsets, backlog, replicas, the link to our master.
    pub(crate) repl: Replication,
    /// Clients' output in the driver's hands, clients to flush or close ([`clients`]).
    pub(crate) obuf: OutputBuffers,
    /// Clients blocked on keys, keys ready for them, clients to resume ([`clients`]).
    pub(crate) blocked: BlockedClients,
    /// CLIENT PAUSE and the pauses of FAILOVER and shutdown ([`clients`]).
    pub(crate) pauses: ClientPauses,
    /// Channel, pattern and shard-channel subscribers, MONITOR clients
    /// ([`command::pubsub`]).
    pub(crate) pubsub: command::pubsub::Subscribers,
    /// WATCHed keys and the transactions they doomed ([`command::transactions`]).
    pub(crate) watches: command::transactions::Watches,
    /// What the command being called did beside its reply ([`command`]).
    pub(crate) call: command::CallEffects,
    pub(crate) stats: Stats,
    /// dump.rdb: changes since the last save, saves under way ([`persistence`]).
    pub(crate) persist: PersistState,
    /// serverCron's own state: its last run, active expiry ([`cron`]).
    pub(crate) cron: Cron,
    /// A shutdown under way or asked for by a signal ([`shutdown`]).
    pub(crate) shutdown: ShutdownState,
    /// Pid, start time, executable, config file; RSS and CPU as measured ([`stats`]).
    pub(crate) process: Process,
    /// DEBUG's switches ([`command::debug`]).
    pub(crate) debug: command::debug::DebugSwitches,
    /// How key accesses are recorded (LRU stamps or LFU counters), from `maxmemory-policy`
    /// and the `lfu-*` tunables; refreshed when CONFIG SET changes them.
    pub(crate) access_policy: crate::keyspace::access::AccessPolicy,
    /// The best eviction candidates sampled so far (see [`NodeState::perform_evictions`]).
    pub(crate) eviction_pool: crate::keyspace::access::EvictionPool,
    /// MIGRATE's connections to its targets, and the jobs waiting for them.
    pub(crate) migrations: crate::command::migrate::Migrations,
    /// The slow log and the latency monitor's events.
    pub(crate) latency: crate::command::latency::LatencyRecords,
    /// A CONFIG SET of `bind`/`port` waiting for the driver: the old bind, the old port, and
    /// which parameter to blame if it fails.
    pub(crate) listen_pending: Option<(String, u16, &'static str)>,
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
