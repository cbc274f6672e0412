//! `replicationCron`: once a second, timeouts on both sides, pings into the stream, ACKs to
//! our master, reconnection attempts.

use super::*;

impl NodeState {
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
        let timeout = self.config.repl_timeout_ms();
        // Replica side.
        if let Some(link) = self.repl.master.as_ref() {
            let (state, last_io, conn) = (link.state, link.last_io_ms, link.conn);
            match state {
                MasterLinkState::Connect => self.connect_to_master(true),
                MasterLinkState::Connected => {
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
                MasterLinkState::Transfer if now.saturating_sub(last_io) > timeout => {
                    self.log(LogLevel::Warning, "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.");
                    self.abort_handshake();
                }
                MasterLinkState::Connecting
                | MasterLinkState::ReceivePing
                | MasterLinkState::ReceiveAuth
                | MasterLinkState::ReceivePort
                | MasterLinkState::ReceiveIp
                | MasterLinkState::ReceiveCapa
                | MasterLinkState::ReceivePsync
                    if now.saturating_sub(last_io) > timeout =>
                {
                    self.log(LogLevel::Warning, "Timeout connecting to the MASTER...");
                    self.handshake_failed();
                }
                _ => {}
            }
        }
        // Master side: PING into the stream, so replicas see a live master.
        let period = self.config.int("repl-ping-replica-period").max(1) as u64 * 1000;
        // Like Redis, on the cron loops that are multiples of the period since start.
        let loop_no = now.saturating_sub(self.process.start_ms) / 1000;
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
        let ttl = self.config.int("repl-backlog-ttl").max(0) as u64 * 1000;
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
