//! The replica side: the link to our master, its handshake, the snapshot of a full resync and
//! the stream applied after it (Redis's `replicaofCommand`, `connectWithMaster`,
//! `syncWithMaster`, `slaveTryPartialResynchronization`, `readSyncBulkPayload`).

use super::*;
use crate::command::Ctx;
use crate::node::Node;

/// The replica side of the handshake, Redis's `repl_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MasterLinkState {
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

impl MasterLinkState {
    /// The state word of `ROLE`.
    pub fn role_word(self) -> &'static str {
        match self {
            MasterLinkState::Connect => "connect",
            MasterLinkState::Connecting => "connecting",
            MasterLinkState::Transfer => "sync",
            MasterLinkState::Connected => "connected",
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
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) state: MasterLinkState,
    pub(crate) conn: Option<ConnId>,
    /// Our end of the connection ("ip:port").
    pub(crate) laddr: String,
    inbuf: BytesMut,
    framing: Option<Framing>,
    image: Vec<u8>,
    /// The replid and offset `+FULLRESYNC` announced.
    full_sync_id: Option<(String, u64)>,
    pub(crate) last_io_ms: u64,
    /// When the link went down (`master_link_down_since_seconds`); `None` if it never was up.
    pub(crate) down_since_ms: Option<u64>,
    /// Bytes of the master client's stream received but not yet applied.
    unapplied: BytesMut,
    /// Of those, how many the parser has consumed into a command not complete yet.
    pub(crate) parsed_unapplied: usize,
    /// Offset of the stream applied so far (`slave_repl_offset`), once synced; `None` while
    /// the link is not. Invariant: from the sync on it only grows, by the bytes applied, and
    /// equals our `master_repl_offset`; it never passes `read`.
    pub(crate) applied: Option<u64>,
    /// Offset of the stream read so far (`slave_read_repl_offset`), once synced. Invariant:
    /// from the sync on it only grows, by the bytes received; `applied <= read`, the
    /// difference being what waits in `unapplied`.
    pub(crate) read: Option<u64>,
}

impl MasterLink {
    /// A link that will connect at the next chance.
    pub fn new(host: String, port: u16, now: u64) -> MasterLink {
        MasterLink {
            host,
            port,
            state: MasterLinkState::Connect,
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
    pub(super) fn reset(&mut self) -> (Option<ConnId>, Option<u64>) {
        let synced = self.state == MasterLinkState::Connected;
        self.state = MasterLinkState::Connect;
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

/// One `\r\n`- (or `\n`-) terminated line off the front of `buf`, without the terminator.
fn take_line(buf: &mut BytesMut) -> Option<String> {
    let pos = buf.iter().position(|&b| b == b'\n')?;
    let line = buf.split_to(pos + 1);
    let text = &line[..pos];
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    Some(String::from_utf8_lossy(text).into_owned())
}

impl NodeState {
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
    pub(super) fn disconnect_blocked_clients(&mut self) {
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
    pub(super) fn close_master_link(&mut self) -> Option<MasterLink> {
        let mut link = self.repl.master.take()?;
        let was_synced = link.state == MasterLinkState::Connected;
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
    pub(super) fn forget_master_client(&mut self, conn: ConnId) -> usize {
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
    pub(super) fn master_lost(&mut self, applied: Option<u64>, db: usize) {
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
                if let Some(conn) = link.conn.filter(|_| link.state == MasterLinkState::Connected) {
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
    pub(super) fn shift_replication_id(&mut self) {
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
        if self.repl.master.as_ref().is_none_or(|l| l.state != MasterLinkState::Connect) {
            return;
        }
        let conn = self.next_outbound_conn();
        let link = self.repl.master.as_mut().expect("checked above");
        link.conn = Some(conn);
        link.state = MasterLinkState::Connecting;
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
        crate::net::OUTBOUND_CONN_BASE + self.repl.next_outbound
    }

    /// The driver opened (or failed to open) an outbound connection.
    pub fn outbound_result(&mut self, conn: ConnId, result: Result<String, String>) {
        let Some(link) = self.repl.master.as_mut() else { return };
        if link.conn != Some(conn) || link.state != MasterLinkState::Connecting {
            return;
        }
        match result {
            Ok(laddr) => {
                self.repl_log("Non blocking connect for SYNC fired the event.");
                let link = self.repl.master.as_mut().unwrap();
                link.laddr = laddr;
                link.state = MasterLinkState::ReceivePing;
                link.last_io_ms = self.now;
                self.send_to_master(&[b"PING"]);
            }
            Err(e) => {
                link.conn = None;
                link.state = MasterLinkState::Connect;
                self.log(LogLevel::Warning, format!("Error condition on socket for SYNC: {}", e));
            }
        }
    }

    /// Send a command to our master: the handshake's, and `REPLCONF ACK` (which Redis writes
    /// into the master client's output buffer, so it counts in its `omem`).
    pub(super) fn send_to_master(&mut self, args: &[&[u8]]) {
        let Some(conn) = self.repl.master.as_ref().and_then(|m| m.conn) else { return };
        let mut buf = BytesMut::new();
        encode_command(&mut buf, args);
        self.send(conn, buf.freeze());
    }

    pub(super) fn send_ack(&mut self, offset: u64) {
        self.send_to_master(&[b"REPLCONF", b"ACK", offset.to_string().as_bytes()]);
    }

    /// Whether `conn` is the link to our master.
    pub fn is_master_conn(&self, conn: ConnId) -> bool {
        self.repl.master.as_ref().is_some_and(|m| m.conn == Some(conn))
    }

    /// The driver closed the link to the master (the peer went away, or a timeout).
    pub fn master_conn_closed(&mut self) {
        let Some(link) = self.repl.master.as_mut() else { return };
        let was_synced = link.state == MasterLinkState::Connected;
        let lost_transfer = match link.state {
            MasterLinkState::Transfer if link.framing.is_none() => {
                Some("I/O error reading bulk count from MASTER: connection lost")
            }
            MasterLinkState::Transfer => Some("I/O error trying to sync with MASTER: connection lost"),
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
                MasterLinkState::Transfer => return self.read_snapshot(),
                // +CONTINUE: what follows it is the stream.
                MasterLinkState::Connected => return Some(FromMaster { snapshot: None, stream: link.inbuf.split() }),
                MasterLinkState::Connect | MasterLinkState::Connecting => return None,
                _ => {}
            }
            let line = take_line(&mut link.inbuf)?;
            self.handshake_reply(line);
        }
    }

    pub(super) fn handshake_reply(&mut self, line: String) {
        let state = self.repl.master.as_ref().unwrap().state;
        match state {
            MasterLinkState::ReceivePing => {
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
                let mut next = MasterLinkState::ReceivePort;
                if !auth.is_empty() {
                    if user.is_empty() {
                        self.send_to_master(&[b"AUTH", auth.as_bytes()]);
                    } else {
                        self.send_to_master(&[b"AUTH", user.as_bytes(), auth.as_bytes()]);
                    }
                    next = MasterLinkState::ReceiveAuth;
                }
                let port = match self.config.int("replica-announce-port") {
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
            MasterLinkState::ReceiveAuth => {
                if line.starts_with('-') {
                    self.log(LogLevel::Warning, format!("Unable to AUTH to MASTER: {}", line));
                    return self.abort_handshake();
                }
                self.set_link_state(MasterLinkState::ReceivePort);
            }
            MasterLinkState::ReceivePort | MasterLinkState::ReceiveIp | MasterLinkState::ReceiveCapa => {
                let what = match state {
                    MasterLinkState::ReceivePort => "listening-port",
                    MasterLinkState::ReceiveIp => "ip-address",
                    _ => "capa",
                };
                if line.starts_with('-') {
                    self.repl_log(format!("(Non critical) Master does not understand REPLCONF {}: {}", what, line));
                }
                let announces_ip = !self.config.get_str("replica-announce-ip").is_empty();
                match state {
                    MasterLinkState::ReceivePort if announces_ip => self.set_link_state(MasterLinkState::ReceiveIp),
                    MasterLinkState::ReceivePort | MasterLinkState::ReceiveIp => {
                        self.set_link_state(MasterLinkState::ReceiveCapa)
                    }
                    _ => self.send_psync(),
                }
            }
            // A master that delays the snapshot (`repl-diskless-sync-delay`, or a save already
            // running) keeps the link alive with bare newlines before it answers.
            MasterLinkState::ReceivePsync if line.is_empty() => {}
            MasterLinkState::ReceivePsync => self.psync_reply(line),
            _ => {}
        }
    }

    pub(super) fn send_psync(&mut self) {
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
        self.set_link_state(MasterLinkState::ReceivePsync);
    }

    pub(super) fn set_link_state(&mut self, state: MasterLinkState) {
        if let Some(link) = self.repl.master.as_mut() {
            link.state = state;
        }
    }

    pub(super) fn psync_reply(&mut self, line: String) {
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
            // A partial resync continues our stream where it stopped: nothing moved our
            // offset since we cached it (a replica feeds nothing of its own).
            debug_assert_eq!(cached.offset, self.repl.offset, "+CONTINUE resumes at our master_repl_offset");
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
    pub(super) fn expect_snapshot(&mut self, promised: Option<(String, u64)>) {
        let link = self.repl.master.as_mut().unwrap();
        link.full_sync_id = promised;
        link.state = MasterLinkState::Transfer;
        link.framing = None;
        link.image.clear();
    }

    /// A failed handshake (Redis's `cancelReplicationHandshake(1)`): reconnect at once, as
    /// Redis does — but at most once a second, where Redis loops as fast as the network goes
    /// (a simulated world would fill its trace with the same lines).
    pub(super) fn handshake_failed(&mut self) {
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
    pub(super) fn abort_handshake(&mut self) {
        let Some(link) = self.repl.master.as_mut() else { return };
        if let (Some(conn), _) = link.reset() {
            self.outputs.push_back(Output::Close { conn });
        }
    }

    /// Read the snapshot; when complete, load it and start applying the stream.
    pub(super) fn read_snapshot(&mut self) -> Option<FromMaster> {
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
    pub(super) fn snapshot_received(&mut self, id: String, offset: u64) {
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
        // A new history, the one place past start-up where master_repl_offset may go back:
        // the dataset is the snapshot's, and so is the offset.
        self.repl.offset = offset;
        // The old backlog describes another stream.
        self.repl.backlog = None;
        self.ensure_backlog();
        // Sub-replicas must resync with the new dataset.
        self.disconnect_replicas();
        // The stream after a snapshot starts with a SELECT.
        self.attach_master_client(offset, 0);
    }

    /// The link is synced: the master becomes a client whose commands we apply, in the db its
    /// stream has selected.
    pub(super) fn attach_master_client(&mut self, offset: u64, db: usize) {
        let link = self.repl.master.as_mut().unwrap();
        link.state = MasterLinkState::Connected;
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
            debug_assert!(link.read.is_some() == link.applied.is_some(), "both offsets start at the sync");
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
        debug_assert!(
            link.applied.zip(link.read).is_none_or(|(a, r)| a + link.unapplied.len() as u64 == r),
            "the stream read is what was applied and what waits to be"
        );
        self.feed_raw(&bytes);
    }
}

impl Node {
    /// Bytes from our master: the handshake and snapshot, then the stream to apply.
    pub(crate) fn on_master_data(&mut self, conn: ConnId, bytes: &[u8]) {
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
    pub(super) fn load_master_snapshot(&mut self, image: &[u8]) {
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
    pub(super) fn apply_master_stream(&mut self, conn: ConnId, bytes: &[u8]) {
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
    pub(crate) fn run_master_commands(&mut self, client: &mut Client) -> bool {
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
            let mut ctx = Ctx::new(&mut self.srv, client, now);
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
}
