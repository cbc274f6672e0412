//! The master side: feeding the stream to replicas and the backlog, and answering a replica's
//! `REPLCONF` and `PSYNC` (Redis's `feedReplicationBuffer`, `syncCommand`,
//! `masterTryPartialResynchronization`, `replicationSetupSlaveForFullResync`).

use super::*;
use serde::{Deserialize, Serialize};

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

/// How a replica's PSYNC was answered, for the views: the verdict, and the line the master
/// logged about it (the same words a live observer reads in the master's log file, so both
/// worlds give one note; see `crate::lab::observe`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncOutcome {
    pub kind: SyncKind,
    /// The master's log message (without the log line's prefix).
    pub logged: String,
}

/// The verdict on a PSYNC (Redis's `masterTryPartialResynchronization`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SyncKind {
    /// `+CONTINUE`: the backlog had what the replica asked for.
    Partial,
    /// `PSYNC ? -1`: the replica had nothing to continue.
    FullNoData,
    /// The replica's replication id is neither of this master's.
    FullOtherHistory,
    /// The replica asked for the old id past where it ended (`second_repl_offset`).
    FullPastSecondId,
    /// The offset is no longer (or not yet) in the backlog.
    FullLackOfBacklog,
}

impl SyncOutcome {
    /// What the lab says about it ("partial resync: …" / "full resync: …").
    pub fn note(&self) -> String {
        match self.kind {
            SyncKind::Partial => format!("partial resync: {}", self.logged),
            SyncKind::FullNoData => "full resync: the replica had no data to continue (PSYNC ? -1)".into(),
            SyncKind::FullOtherHistory => "full resync: the replica's history is not this master's".into(),
            SyncKind::FullPastSecondId => {
                format!("full resync: the offset is past where this master's old history ends ({})", self.logged)
            }
            SyncKind::FullLackOfBacklog => {
                format!("full resync: the replica's offset fell out of the backlog ({})", self.logged)
            }
        }
    }

    /// Read the outcome back from a log message, if it is one of the verdict lines.
    pub fn from_logged(message: &str) -> Option<SyncOutcome> {
        let kind = if message.starts_with("Partial resynchronization request from") {
            SyncKind::Partial
        } else if message.starts_with("Full resync requested by replica") {
            SyncKind::FullNoData
        } else if message.contains("Replication ID mismatch") {
            SyncKind::FullOtherHistory
        } else if message.contains("Requested offset for second ID") {
            SyncKind::FullPastSecondId
        } else if message.contains("for lack of backlog") {
            SyncKind::FullLackOfBacklog
        } else {
            return None;
        };
        Some(SyncOutcome { kind, logged: message.to_string() })
    }
}

/// One replica attached to this node.
#[derive(Debug, Clone)]
pub struct Replica {
    pub(crate) conn: ConnId,
    pub(crate) client_id: u64,
    /// The address it connected from.
    pub(crate) ip: String,
    /// `REPLCONF listening-port` (or `replica-announce-port`).
    pub(crate) listening_port: u16,
    pub(crate) state: ReplicaState,
    /// The offset of its last `REPLCONF ACK`. Invariant: never decreases — an older ACK that
    /// arrives late changes nothing (as in Redis's `replconfCommand`).
    pub(crate) ack_offset: u64,
    pub(crate) ack_ms: u64,
    /// While it waits for (or receives) its snapshot: the stream offset it needs from when it
    /// goes online, held for it in the backlog ([`Backlog::set_pin`]).
    pub(crate) stream_from: Option<u64>,
    /// Since when its output has been over the soft limit (`client-output-buffer-limit`).
    pub(crate) obuf_soft_since: Option<u64>,
    /// How its last synchronisation went, in the words the master logged it (`None` until
    /// its first PSYNC is answered).
    pub(crate) last_sync: Option<SyncOutcome>,
    /// The snapshot job it was promised with `+FULLRESYNC`; `None` while it waits for one.
    pub(crate) snapshot_job: Option<u64>,
    /// It asked with the old `SYNC`: no `+FULLRESYNC` line, the snapshot comes directly.
    pub(crate) legacy_sync: bool,
    /// It said `REPLCONF capa eof`: it can read a snapshot streamed with an end mark, so it
    /// may be served diskless. A replica that cannot (an old one, or a bare `SYNC`) gets a
    /// snapshot made on disk and sent as `$<len>`.
    pub(crate) capa_eof: bool,
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

impl NodeState {
    pub(super) fn repl_log(&mut self, message: impl Into<String>) {
        self.log(LogLevel::Notice, message);
    }

    /// Create the backlog if there is none (Redis does so when the first replica syncs), with
    /// a fresh replication id when we are a master.
    pub(super) fn ensure_backlog(&mut self) {
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
        let size = self.config.int("repl-backlog-size").max(16 * 1024) as usize;
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
        if let Some(b) = &self.repl.backlog {
            debug_assert_eq!(
                b.first_offset + b.histlen as u64,
                self.repl.offset + 1,
                "the backlog holds the stream up to master_repl_offset"
            );
        }
        // A replica feeds nothing of its own: its stream is its master's, byte for byte, so
        // that offsets are equal all along a chain.
        debug_assert!(
            self.repl.master.as_ref().and_then(|m| m.applied).is_none_or(|a| a == self.repl.offset),
            "a replica's master_repl_offset is what it applied of its master's stream"
        );
        if !self.repl.replicas.is_empty() {
            self.repl.stream.extend_from_slice(bytes);
        }
    }

    /// Append one command to the stream, encoded in the one scratch buffer.
    pub(super) fn feed_command(&mut self, args: &[&[u8]]) {
        let mut buf = std::mem::take(&mut self.repl.scratch);
        buf.clear();
        encode_command(&mut buf, args);
        self.feed_raw(&buf);
        self.repl.scratch = buf;
    }

    /// Propagate one command executed against `db` (Redis's `alsoPropagate`). Inside a
    /// command it waits for the top-level call to end ([`NodeState::propagate_pending`]), so
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
    pub(super) fn select_stream_db(&mut self, db: usize) {
        if self.repl.seldb != Some(db) {
            self.feed_command(&[b"SELECT", db.to_string().as_bytes()]);
            self.repl.seldb = Some(db);
        }
    }

    /// A replica goes online: send it the stream it missed while its snapshot was made and
    /// sent, from the backlog that held it, and release the hold.
    pub(super) fn send_held_stream(&mut self, conn: ConnId) {
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
    pub(super) fn repin_backlog(&mut self) {
        let pin = self.repl.replicas.iter().filter_map(|r| r.stream_from).min();
        if let Some(b) = self.repl.backlog.as_mut() {
            b.set_pin(pin);
        }
    }

    /// Send a snapshot to a replica. It is not the replica's output buffer (7.0 sends it from
    /// the file or the fork's pipe), so no limit and no `omem` count it.
    pub(super) fn send_snapshot(&mut self, conn: ConnId, bytes: Bytes) {
        self.stats.total_net_repl_output_bytes += bytes.len() as u64;
        self.send_around_buffer(conn, bytes);
    }

    /// Send bytes to a replica's connection, counted as replication output.
    pub(super) fn send_to_replica(&mut self, conn: ConnId, bytes: Bytes) {
        self.stats.total_net_repl_output_bytes += bytes.len() as u64;
        self.send(conn, bytes);
    }

    /// Send what the stream produced during this event to online replicas; the others will
    /// read it from the backlog.
    pub fn flush_replication_stream(&mut self) {
        if std::mem::take(&mut self.repl.get_ack_pending) && !self.repl.is_replica() {
            // A replica feeds nothing of its own (Redis's `replicationFeedSlaves` returns at
            // once on one): its replicas acknowledge on their own, once a second.
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
    pub(super) fn close_replicas_over_obuf_limit(&mut self, feeding: u64) {
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
        let unsent = &self.obuf.unsent;
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
            self.obuf.overrun.push(conn);
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
        let ip = client.repl_announced_ip.clone().unwrap_or_else(|| crate::net::host_of(&client.addr).to_string());
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
            last_sync: None,
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
        let delay = self.config.int("repl-diskless-sync-delay");
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

    pub(super) fn try_partial_resync(
        &mut self,
        client: &mut Client,
        replica: &mut Replica,
        id: &str,
        offset: i64,
    ) -> bool {
        let name = replica.name();
        let verdict = self.psync_verdict(id, offset);
        match verdict {
            PsyncVerdict::NothingToContinue => {
                let logged = format!("Full resync requested by replica {}", name);
                self.repl_log(logged.clone());
                replica.last_sync = Some(SyncOutcome { kind: SyncKind::FullNoData, logged });
            }
            PsyncVerdict::PastSecondId => {
                let logged = format!(
                    "Partial resynchronization not accepted: Requested offset for second ID was {}, but I can reply up to {}",
                    offset, self.repl.second_offset
                );
                self.repl_log(logged.clone());
                replica.last_sync = Some(SyncOutcome { kind: SyncKind::FullPastSecondId, logged });
            }
            PsyncVerdict::OtherHistory => {
                let logged = format!(
                    "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{}', my replication IDs are '{}' and '{}')",
                    id, self.repl.replid, self.repl.replid2
                );
                self.repl_log(logged.clone());
                replica.last_sync = Some(SyncOutcome { kind: SyncKind::FullOtherHistory, logged });
            }
            PsyncVerdict::LackOfBacklog => {
                let logged = format!(
                    "Unable to partial resync with replica {} for lack of backlog (Replica request was: {}).",
                    name, offset
                );
                self.repl_log(logged.clone());
                replica.last_sync = Some(SyncOutcome { kind: SyncKind::FullLackOfBacklog, logged });
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
        let logged = format!(
            "Partial resynchronization request from {} accepted. Sending {} bytes of backlog starting from offset {}.",
            name, backlog_len, offset
        );
        self.repl_log(logged.clone());
        replica.last_sync = Some(SyncOutcome { kind: SyncKind::Partial, logged });
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
            let delay = self.config.int("repl-diskless-sync-delay").max(0) as u64 * 1000;
            let max = self.config.int("repl-diskless-sync-max-replicas").max(0) as usize;
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
            self.repl_log(format!("Background RDB transfer started by pid {}", self.process.pid));
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
    pub(super) fn close_replica(&mut self, conn: ConnId) {
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
                self.obuf.pending_flush.push(conn);
                self.blocked.resume.push(conn);
            } else {
                self.repl.waiting.push(conn);
            }
        }
    }

    // ───────────────────────────── replica side ─────────────────────────────
}
