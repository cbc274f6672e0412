//! Clients: connections, their input, their replies, blocking and pauses.
//!
//! A client's bytes are parsed into commands (`processInputBuffer`), each run through the
//! command table; replies gather in the client's buffer and leave as one `Output::Send` per
//! event (`writeToClient`), bounded by `client-output-buffer-limit`
//! (`checkClientOutputBufferLimits`). Clients blocked on keys (BLPOP…) are served when a key
//! gets data (`handleClientsBlockedOnKeys`); CLIENT PAUSE postpones commands (`pauseClients`).

use super::*;

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

/// The clients waiting for something other than their own input (Redis's `blocking_keys`,
/// `ready_keys` and `unblocked_clients`): blocked on keys (BLPOP and friends), or done
/// waiting and with commands pipelined behind.
#[derive(Debug, Default)]
pub struct BlockedClients {
    /// `(db, key)` → the clients blocked on it, first come first served. Invariant: each
    /// client listed has a [`Client::blocked`] naming that key, and no list is empty.
    pub(crate) by_key: FxHashMap<(usize, Bytes), VecDeque<ConnId>>,
    /// Keys that received data while clients were blocked on them, served at the end of the
    /// command (or of the event) that fed them.
    pub(crate) ready_keys: Vec<(usize, Bytes)>,
    /// Clients whose wait ended (WAIT, a command that waited for the driver) and whose
    /// pipelined input can run again, at the end of the event.
    pub(crate) resume: Vec<ConnId>,
}

/// What the node keeps of its clients' output beyond each client's reply buffer (Redis's
/// `clients_pending_write`, the replies that are in the socket's hands, and the clients
/// `closeClientOnOutputBufferLimitReached` scheduled to close).
///
/// Every [`Output::Send`] is counted here until the driver reports it written
/// ([`Input::Written`]) or the connection goes: replies, the replication stream, a
/// replica's handshake and ACKs, MIGRATE's requests, the refusal of a connection over
/// `maxclients`. A replica's snapshot is counted apart (7.0 sends it from the file or the
/// fork's pipe, not from the replica's output buffer), so no limit and no `omem` count it.
#[derive(Debug, Default)]
pub struct OutputBuffers {
    /// Bytes sent to each connection that the driver has not reported written: a client's
    /// output buffer, CLIENT LIST's `omem`. Invariant: no zero entry (a connection with
    /// nothing outstanding is not listed), so a driver that reports more written than this
    /// for a connection the node knows is wrong (asserted at [`Input::Written`]).
    pub(crate) unsent: FxHashMap<ConnId, u64>,
    /// For a connection sent bytes outside its output buffer (a snapshot) that are not all
    /// written: what is not written, in the order it was sent, as `(bytes, in the output
    /// buffer)` runs, so that written bytes are taken off what they belong to. Invariant: the
    /// runs in the output buffer add up to the connection's `unsent`; no empty queue.
    pub(crate) in_order: FxHashMap<ConnId, VecDeque<(u64, bool)>>,
    /// Clients over their output buffer limit, closed at the end of the event.
    pub(crate) overrun: Vec<ConnId>,
    /// Clients whose reply buffer got data from someone else's command (pub/sub, MONITOR,
    /// an unblock): flushed at the end of the event.
    pub(crate) pending_flush: Vec<ConnId>,
}

impl OutputBuffers {
    /// `n` bytes were sent to `conn`, through its output buffer (`in_buffer`) or around it.
    pub(crate) fn sent(&mut self, conn: ConnId, n: u64, in_buffer: bool) {
        if n == 0 {
            return;
        }
        if !in_buffer && !self.in_order.contains_key(&conn) {
            // What the buffer holds now was sent first.
            let ahead = self.unsent.get(&conn).copied().unwrap_or(0);
            self.in_order.insert(conn, VecDeque::from_iter((ahead > 0).then_some((ahead, true))));
        }
        if in_buffer {
            *self.unsent.entry(conn).or_insert(0) += n;
        }
        if let Some(runs) = self.in_order.get_mut(&conn) {
            match runs.back_mut() {
                Some((bytes, kind)) if *kind == in_buffer => *bytes += n,
                _ => runs.push_back((n, in_buffer)),
            }
        }
    }

    /// The driver wrote `n` more bytes of what was sent to `conn`. Returns false if that is
    /// more than the node counted as outstanding (what was sent and not written).
    pub(crate) fn written(&mut self, conn: ConnId, n: u64) -> bool {
        let mut from_buffer = n;
        if let Some(runs) = self.in_order.get_mut(&conn) {
            let mut left = n;
            from_buffer = 0;
            while left > 0 {
                let Some((bytes, in_buffer)) = runs.front_mut() else { break };
                let take = left.min(*bytes);
                if *in_buffer {
                    from_buffer += take;
                }
                *bytes -= take;
                left -= take;
                if *bytes == 0 {
                    runs.pop_front();
                }
            }
            if runs.is_empty() {
                self.in_order.remove(&conn);
            }
            if left > 0 {
                return false;
            }
        }
        if from_buffer == 0 {
            return true;
        }
        let Some(unsent) = self.unsent.get_mut(&conn) else { return false };
        let counted = from_buffer <= *unsent;
        *unsent = unsent.saturating_sub(from_buffer);
        if *unsent == 0 {
            self.unsent.remove(&conn);
        }
        counted
    }

    /// The connection is gone (or dropped with what it had not written).
    pub(crate) fn forget(&mut self, conn: ConnId) {
        self.unsent.remove(&conn);
        self.in_order.remove(&conn);
    }
}

/// The client pauses in force (CLIENT PAUSE, FAILOVER, a shutdown waiting for replicas;
/// Redis's `client_pause_per_purpose`).
#[derive(Debug, Default)]
pub struct ClientPauses {
    /// Each purpose's pause, indexed by [`PausePurpose`]. Clients stay paused while any is.
    pub(crate) by_purpose: [Option<Pause>; 3],
    /// A pause ended: postponed clients must run their commands.
    pub(crate) ended: bool,
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
    pub(crate) id: u64,
    pub(crate) conn: ConnId,
    pub(crate) addr: String,
    pub(crate) laddr: String,
    pub(crate) name: Option<Bytes>,
    pub(crate) db: usize,
    pub(crate) parser: RequestParser,
    pub(crate) inbuf: BytesMut,
    pub(crate) reply: ReplyBuf,
    pub(crate) authenticated: bool,
    pub(crate) user: String,
    /// Commands queued after MULTI; `None` when not in a transaction.
    pub(crate) multi: Option<Vec<Vec<Bytes>>>,
    /// A command failed to queue: EXEC will abort with EXECABORT.
    pub(crate) multi_failed: bool,
    /// True while EXEC runs the queued commands (blocking commands then never block).
    pub(crate) in_exec: bool,
    pub(crate) watched: Vec<(usize, Bytes)>,
    pub(crate) subscriptions: crate::keyspace::Set<Bytes>,
    pub(crate) patterns: crate::keyspace::Set<Bytes>,
    /// Shard channels (`SSUBSCRIBE`), counted apart from the others, as Redis counts them.
    pub(crate) shard_subscriptions: crate::keyspace::Set<Bytes>,
    pub(crate) created_ms: u64,
    pub(crate) last_interaction_ms: u64,
    pub(crate) last_command: &'static str,
    pub(crate) close_after_reply: bool,
    pub(crate) closed: bool,
    /// Over its output buffer limit: nothing more is sent, it is being closed.
    pub(crate) obuf_overrun: bool,
    /// Since when its output has been over the soft limit.
    pub(crate) obuf_soft_since: Option<u64>,
    pub(crate) blocked: Option<Blocked>,
    pub(crate) no_evict: bool,
    /// `CLIENT REPLY OFF|SKIP` state.
    pub(crate) reply_mode: ReplyMode,
    pub(crate) role: ClientRole,
    /// `REPLCONF listening-port` / `ip-address` of a replica-to-be.
    pub(crate) repl_listening_port: u16,
    pub(crate) repl_announced_ip: Option<String>,
    /// `REPLCONF capa eof`: a replica-to-be that reads diskless snapshots.
    pub(crate) repl_capa_eof: bool,
    /// Stream offset after this client's last command (what WAIT waits for).
    pub(crate) write_offset: u64,
    pub(crate) wait: Option<WaitState>,
    /// A command parsed but postponed by a client pause; it runs when the pause ends.
    pub(crate) postponed: Option<Vec<Bytes>>,
    /// `MONITOR`: it is sent every command the server runs (`flags=O`).
    pub(crate) monitor: bool,
    /// Its command waits for the driver (SAVE's write, CONFIG REWRITE): what it pipelined
    /// behind waits too, so replies keep their order.
    pub(crate) awaiting_io: bool,
    /// Bytes of the command being executed, still counted in `qbuf` as Redis's query buffer
    /// holds them until the command ends.
    pub(crate) executing_len: usize,
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
            write_offset: 0,
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

    /// Its CLIENT LIST line; `omem` is its output not yet written ([`NodeState::unsent_of`]).
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
            crate::net::fake_fd(self.conn),
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

const PROTECTED_MODE_DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

impl NodeState {
    /// The pause in force, if any: the strictest type and the latest end of all purposes.
    /// Pauses whose time is up are lifted here.
    pub fn pause_in_force(&mut self) -> Option<Pause> {
        let now = self.now;
        for slot in self.pauses.by_purpose.iter_mut() {
            if slot.is_some_and(|p| p.until_ms <= now) {
                *slot = None;
                self.pauses.ended = true;
            }
        }
        self.pauses
            .by_purpose
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
        let slot = &mut self.pauses.by_purpose[purpose as usize];
        *slot = Some(match *slot {
            Some(p) => Pause { until_ms: p.until_ms.max(until_ms), writes_only: p.writes_only && writes_only },
            None => Pause { until_ms, writes_only },
        });
    }

    /// Lift the pause of `purpose`; postponed clients run again.
    pub fn unpause_clients(&mut self, purpose: PausePurpose) {
        if self.pauses.by_purpose[purpose as usize].take().is_some() {
            self.pauses.ended = true;
        }
    }

    /// While clients are paused the dataset stays as it is: no key is deleted for expiring
    /// (a key past its deadline reads as missing), so a failover hands over a fixed dataset.
    pub fn expiry_frozen(&mut self) -> bool {
        self.pause_in_force().is_some()
    }

    /// A list or sorted set key got elements: blocked clients may now be served.
    pub fn signal_key_ready(&mut self, db: usize, key: &Bytes) {
        if self.blocked.by_key.contains_key(&(db, key.clone())) {
            self.blocked.ready_keys.push((db, key.clone()));
        }
    }

    /// The driver finished what a client's command waited for: its reply goes out and what it
    /// pipelined behind runs.
    pub fn io_done(&mut self, conn: ConnId) {
        if let Some(c) = self.clients.get_mut(&conn) {
            c.awaiting_io = false;
            self.obuf.pending_flush.push(conn);
            self.blocked.resume.push(conn);
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
        let used = self.obuf.unsent.get(&client.conn).copied().unwrap_or(0) + len;
        if obuf_limit_reached(limit, used, &mut client.obuf_soft_since, self.now) {
            client.reply.buf.clear();
            client.obuf_overrun = true;
            client.close_after_reply = true;
            let info = client.info_line(self.now, used);
            self.log(
                LogLevel::Warning,
                format!("Client {} scheduled to be closed ASAP for overcoming of output buffer limits.", info),
            );
            self.obuf.overrun.push(client.conn);
            return;
        }
        let bytes = client.reply.buf.split().freeze();
        self.stats.total_net_output_bytes += len;
        self.stats.total_writes_processed += 1;
        self.send(client.conn, bytes);
    }

    /// A client connection's output not yet written.
    pub fn unsent_of(&self, conn: ConnId) -> u64 {
        self.obuf.unsent.get(&conn).copied().unwrap_or(0)
    }

    /// Send bytes to a connection; they count in its output buffer until written.
    pub(crate) fn send(&mut self, conn: ConnId, bytes: Bytes) {
        self.obuf.sent(conn, bytes.len() as u64, true);
        self.outputs.push_back(Output::Send { conn, bytes });
    }

    /// Send bytes to a connection around its output buffer (a replica's snapshot): counted
    /// until written, but in no `omem` and no limit.
    pub(crate) fn send_around_buffer(&mut self, conn: ConnId, bytes: Bytes) {
        self.obuf.sent(conn, bytes.len() as u64, false);
        self.outputs.push_back(Output::Send { conn, bytes });
    }

    /// Whether the node still talks on `conn`: a client's, our master's link, a MIGRATE
    /// target's, a sentinel's link. What a driver reports written on another was sent before the node let the
    /// connection go.
    pub(crate) fn knows_connection(&self, conn: ConnId) -> bool {
        self.clients.contains_key(&conn)
            || self.is_master_conn(conn)
            || self.migrations.owns(conn)
            || self.sentinel.as_ref().is_some_and(|s| s.owns(conn))
    }

    /// Close the clients that went over their output buffer limit during this event.
    pub(crate) fn close_overrun_clients(&mut self) {
        for conn in std::mem::take(&mut self.obuf.overrun) {
            if let Some(mut c) = self.clients.remove(&conn) {
                command::release_client_state(self, &mut c);
            }
            self.obuf.forget(conn);
            self.outputs.push_back(Output::Abort { conn });
        }
    }
}

impl Node {
    pub(super) fn on_connect(&mut self, conn: ConnId, addr: String, laddr: String) {
        self.srv.stats.total_connections_received += 1;
        let maxclients = self.srv.config.maxclients();
        if self.srv.clients.len() >= maxclients {
            self.srv.stats.rejected_connections += 1;
            self.srv.send(conn, Bytes::from_static(b"-ERR max number of clients reached\r\n"));
            self.srv.outputs.push_back(Output::Close { conn });
            return;
        }
        if self.protected_mode_denies(&addr) {
            self.srv.stats.rejected_connections += 1;
            self.srv.send(conn, Bytes::from_static(PROTECTED_MODE_DENIED));
            self.srv.outputs.push_back(Output::Close { conn });
            return;
        }
        self.srv.next_client_id += 1;
        let needs_auth = self.srv.config.requirepass().is_some();
        let client = Client::new(self.srv.next_client_id, conn, addr, laddr, self.srv.now, !needs_auth);
        self.srv.clients.insert(conn, client);
    }

    /// Redis 7.0 refuses clients that are not local while protected mode is on and the default
    /// user has no password (`clientAcceptHandler`). Unlike 6.x it does not look at `bind`, and
    /// local means exactly what `islocalClient` says: a Unix socket, `127.0.0.1` or `::1` — a
    /// peer at `127.0.0.2` is refused too.
    pub(super) fn protected_mode_denies(&self, addr: &str) -> bool {
        if !self.srv.config.get_bool("protected-mode") || self.srv.config.requirepass().is_some() {
            return false;
        }
        let ip = crate::net::host_of(addr);
        // Unix socket clients (`/path:0`) are local.
        !(ip == "127.0.0.1" || ip == "::1" || ip.starts_with('/') || ip.is_empty())
    }

    pub(super) fn on_close(&mut self, conn: ConnId) {
        // Whatever it had not written is gone with it.
        self.srv.obuf.forget(conn);
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
    }

    pub(super) fn on_data(&mut self, conn: ConnId, bytes: &[u8]) {
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

    /// Clients that waited (WAIT) run what they pipelined behind.
    pub(super) fn resume_clients(&mut self) {
        for conn in std::mem::take(&mut self.srv.blocked.resume) {
            let Some(mut c) = self.srv.clients.remove(&conn) else { continue };
            self.process_input(&mut c);
            self.srv.flush_client(&mut c);
            self.srv.clients.insert(conn, c);
        }
    }

    /// Run every complete command in the client's input buffer (Redis's
    /// `processInputBuffer`). Stops at a blocked client, a paused client or a protocol error.
    pub(super) fn process_input(&mut self, client: &mut Client) {
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
                let mut ctx = Ctx::new(&mut self.srv, client, now);
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
            let mut ctx = Ctx::new(&mut self.srv, client, now);
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
            if !self.srv.blocked.ready_keys.is_empty() {
                self.serve_ready_keys();
            }
        }
    }

    /// Serve clients blocked on keys that received data (Redis's `handleClientsBlockedOnKeys`).
    pub(super) fn serve_ready_keys(&mut self) {
        while !self.srv.blocked.ready_keys.is_empty() {
            let ready = std::mem::take(&mut self.srv.blocked.ready_keys);
            for (db, key) in ready {
                let Some(waiters) = self.srv.blocked.by_key.get(&(db, key.clone())).cloned() else { continue };
                for conn in waiters {
                    let Some(mut client) = self.srv.clients.remove(&conn) else { continue };
                    let Some(blocked) = client.blocked.clone() else {
                        self.srv.clients.insert(conn, client);
                        continue;
                    };
                    let now = self.srv.now;
                    {
                        let mut ctx = Ctx::new(&mut self.srv, &mut client, now);
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

    pub(super) fn flush_pending(&mut self) {
        let pending = std::mem::take(&mut self.srv.obuf.pending_flush);
        for conn in pending {
            if let Some(mut c) = self.srv.clients.remove(&conn) {
                self.srv.flush_client(&mut c);
                self.srv.clients.insert(conn, c);
            }
        }
    }

    /// A pause ended: clients whose command was postponed run it, and what they pipelined
    /// behind it, in the order they connected.
    pub(super) fn resume_paused_clients(&mut self) {
        self.srv.pause_in_force();
        if !std::mem::take(&mut self.srv.pauses.ended) {
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
}

#[cfg(test)]
mod tests {
    use super::OutputBuffers;

    /// Written bytes are taken off what was sent first: the output buffer ahead of a
    /// snapshot, the snapshot, then the buffer behind it; a write may span them.
    #[test]
    fn written_bytes_are_taken_off_in_the_order_they_were_sent() {
        let mut o = OutputBuffers::default();
        o.sent(7, 10, true);
        o.sent(7, 500, false);
        o.sent(7, 30, true);
        o.sent(7, 5, true);
        assert_eq!(o.unsent[&7], 45);
        assert!(o.written(7, 8));
        assert_eq!(o.unsent[&7], 37);
        // The last 2 bytes ahead of the snapshot, then 100 of it.
        assert!(o.written(7, 102));
        assert_eq!(o.unsent[&7], 35);
        assert!(o.written(7, 410));
        assert_eq!(o.unsent[&7], 25);
        assert!(o.written(7, 25));
        assert!(o.unsent.is_empty() && o.in_order.is_empty(), "nothing outstanding, nothing listed");
        // A connection with only a snapshot outstanding.
        o.sent(8, 100, false);
        assert!(!o.unsent.contains_key(&8));
        assert!(o.written(8, 100));
        assert!(o.in_order.is_empty());
    }

    #[test]
    fn more_written_than_sent_is_reported() {
        let mut o = OutputBuffers::default();
        o.sent(1, 10, true);
        assert!(!o.written(1, 11));
        assert!(!o.written(2, 1));
        o.sent(3, 10, false);
        assert!(!o.written(3, 11));
        o.sent(4, 0, true);
        assert!(!o.unsent.contains_key(&4), "an empty send is nothing outstanding");
    }
}
