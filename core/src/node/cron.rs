//! serverCron: what the node does `hz` times a second (Redis's `serverCron` and
//! `activeExpireCycle`): active expiry, client timeouts, save points, replication's cron.

use super::*;

/// What serverCron keeps between runs.
#[derive(Debug)]
pub struct Cron {
    /// When serverCron last ran (Unix ms). Ticks sooner than `1000 / hz` after it only serve
    /// deadlines (blocked clients, pauses, replication).
    pub(crate) last_run_ms: u64,
    /// `DEBUG PAUSE-CRON 1`: serverCron does nothing.
    pub(crate) paused: bool,
    /// Where the active expiry cycle goes on sampling keys with a TTL.
    pub(crate) active_expire_cursor: usize,
    /// `DEBUG SET-ACTIVE-EXPIRE 0` turns the cron's expiry off (lazy expiry still works).
    pub(crate) active_expire_enabled: bool,
    /// Keys a writable replica's own clients gave a TTL (Redis's `slaveKeysWithExpire`): its
    /// master never expires them, so the replica does, here (INFO's
    /// `slave_expires_tracked_keys`).
    pub(crate) replica_keys_with_expire: rustc_hash::FxHashSet<(usize, Bytes)>,
}

impl Cron {
    pub(crate) fn new(start_ms: u64) -> Cron {
        Cron {
            last_run_ms: start_ms,
            paused: false,
            active_expire_cursor: 0,
            active_expire_enabled: true,
            replica_keys_with_expire: Default::default(),
        }
    }
}

/// How often serverCron runs: `1000 / hz` ms.
pub(super) fn cron_period_ms(hz: u64) -> u64 {
    1000 / hz.clamp(1, 500)
}

impl Node {
    /// serverCron: runs `hz` times a second.
    pub(super) fn on_tick(&mut self) {
        let now = self.srv.now;
        // A sentinel's timer (`sentinelTimer`) runs at its own drifting frequency.
        if self.srv.sentinel.as_ref().is_some_and(|s| now >= s.next_timer_ms()) {
            crate::sentinel::with_sentinel(&mut self.srv, |s, srv| s.timer(srv));
            if self.srv.halted {
                return;
            }
        }
        if !self.srv.migrations.sockets.is_empty() || !self.srv.migrations.jobs.is_empty() {
            self.srv.migrate_cron();
        }
        if self.srv.shutdown.requested() && !self.srv.cron.paused {
            self.srv.shutdown_cron();
            if self.srv.halted {
                return;
            }
        }
        let hz = self.srv.config.hz();
        if now < self.srv.cron.last_run_ms + cron_period_ms(hz) {
            // An early tick still serves blocked-client deadlines.
            self.expire_blocked_clients();
            self.srv.serve_waiting_clients();
            if self.srv.repl.is_replica() || !self.srv.repl.replicas.is_empty() || self.srv.repl.backlog.is_some() {
                self.srv.replication_cron();
            }
            return;
        }
        self.srv.cron.last_run_ms = now;
        if self.srv.cron.paused {
            return;
        }
        // Replicas do not expire keys: their master's DELs do — but for the keys their own
        // clients wrote with a TTL. Paused clients freeze the dataset.
        if self.srv.cron.active_expire_enabled && !self.srv.expiry_frozen() {
            if !self.srv.repl.is_replica() {
                self.active_expire_cycle();
            } else if !self.srv.cron.replica_keys_with_expire.is_empty() {
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
    pub(super) fn active_expire_cycle(&mut self) {
        let now = self.srv.now;
        const SAMPLE: usize = 20;
        let mut budget: usize = 16 * 20;
        for dbi in 0..self.srv.keyspace.dbs.len() {
            loop {
                let cursor = self.srv.cron.active_expire_cursor;
                // The deleted keys are needed to propagate their DEL, to touch their watchers
                // and for their `expired` events.
                let wanted = self.srv.repl.feeding()
                    || !self.srv.watches.by_key.is_empty()
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
                self.srv.cron.active_expire_cursor = next;
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
    pub(super) fn expire_replica_keys(&mut self) {
        let now = self.srv.now;
        let tracked: Vec<(usize, Bytes)> = self.srv.cron.replica_keys_with_expire.iter().cloned().collect();
        for (db, key) in tracked {
            match self.srv.keyspace.dbs[db].expire_at(&key) {
                Some(at) if at <= now => {
                    self.srv.keyspace.dbs[db].remove(&key);
                    self.srv.key_expired(db, &key, None);
                    self.srv.stats.expired_keys += 1;
                    self.srv.cron.replica_keys_with_expire.remove(&(db, key));
                }
                Some(_) => {}
                None => {
                    self.srv.cron.replica_keys_with_expire.remove(&(db, key));
                }
            }
        }
    }

    pub(super) fn expire_blocked_clients(&mut self) {
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
    pub(super) fn close_clients_over_obuf_limit(&mut self) {
        let now = self.srv.now;
        // In the order the connections were made, not the table's.
        let mut waiting: Vec<ConnId> = self.srv.obuf.unsent.keys().copied().collect();
        waiting.sort_unstable();
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
                self.srv.obuf.overrun.push(conn);
            }
        }
        if !self.srv.obuf.overrun.is_empty() {
            self.srv.close_overrun_clients();
        }
    }

    pub(super) fn close_idle_clients(&mut self) {
        let timeout = self.srv.config.int("timeout");
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

    /// `save <seconds> <changes>`: start a BGSAVE when enough changes happened in enough
    /// time since the last save (Redis logs "N changes in M seconds. Saving...").
    pub(super) fn check_save_points(&mut self) {
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
}
