//! `MIGRATE`: move keys to another server, as `DUMP` + `RESTORE` over a connection this
//! node opens itself (Redis's `migrateCommand`, cluster.c).
//!
//! ```text
//! MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE]
//!         [AUTH password | AUTH2 username password] [KEYS key …]
//! ```
//!
//! The node serializes the keys at once (their values as of the command), then sends the
//! target one pipeline — `AUTH` if asked, `SELECT db` unless the connection already has it
//! selected, and `RESTORE key ttl payload [REPLACE]` per key — and reads one reply each.
//! Each key the target acknowledged is deleted here (unless `COPY`), and MIGRATE goes down
//! the replication stream as `DEL` of those keys. Connections are cached per `host:port` for
//! 10 seconds of idleness (INFO's `migrate_cached_sockets`), with the db they last selected.
//!
//! Redis blocks its whole event loop while it waits for the target. halab, being sans-IO,
//! blocks only the calling client: the connection is an [`Output::Connect`], the replies
//! arrive as [`crate::node::Input::Data`], and `timeout` is a deadline the node keeps.

use super::{eq_ic, Ctx, Handler};
use crate::log::LogLevel;
use crate::node::{ConnId, NodeState, Output};
use crate::resp::Frame;
use bytes::{Bytes, BytesMut};

pub const COMMANDS: &[(&str, Handler)] = &[("migrate", migrate)];

/// How long an unused cached connection stays open (`MIGRATE_SOCKET_CACHE_TTL`).
const CACHE_TTL_MS: u64 = 10_000;
/// At most this many cached connections (`MIGRATE_SOCKET_CACHE_ITEMS`).
const CACHE_ITEMS: usize = 64;

/// A connection to a MIGRATE target.
#[derive(Debug)]
pub struct MigrateSocket {
    /// `host:port`, as the command named it.
    pub target: String,
    pub conn: ConnId,
    /// Open (the driver reported the connect).
    pub connected: bool,
    /// The db the target has selected on this connection, if known.
    pub last_db: Option<usize>,
    pub last_use_ms: u64,
    inbuf: BytesMut,
}

/// One MIGRATE waiting for its target.
#[derive(Debug)]
pub struct MigrateJob {
    /// The client that asked, blocked until the job ends.
    pub client: ConnId,
    pub target: String,
    /// The source db and the keys sent, in order.
    db: usize,
    keys: Vec<Bytes>,
    dest_db: usize,
    copy: bool,
    /// The pipeline to send; `AUTH` and `SELECT` first when asked.
    request: Vec<u8>,
    auth: bool,
    select: bool,
    replies: Vec<Frame>,
    deadline_ms: u64,
    /// A first attempt over a cached connection failed before any reply: one retry.
    retried: bool,
    sent: bool,
}

/// The node's MIGRATE connections and jobs.
#[derive(Debug, Default)]
pub struct Migrations {
    pub sockets: Vec<MigrateSocket>,
    pub jobs: Vec<MigrateJob>,
}

impl Migrations {
    pub fn owns(&self, conn: ConnId) -> bool {
        self.sockets.iter().any(|s| s.conn == conn)
    }
    /// The earliest deadline of a job, for `poll_timeout`.
    pub fn deadline(&self) -> Option<u64> {
        self.jobs.iter().map(|j| j.deadline_ms).min()
    }
}

fn migrate(ctx: &mut Ctx, args: &mut [Bytes]) {
    let (mut copy, mut replace) = (false, false);
    let (mut username, mut password): (Option<Bytes>, Option<Bytes>) = (None, None);
    let (mut first_key, mut num_keys) = (3usize, 1usize);
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if eq_ic(&args[j], "copy") {
            copy = true;
        } else if eq_ic(&args[j], "replace") {
            replace = true;
        } else if eq_ic(&args[j], "auth") {
            if more == 0 {
                return ctx.error(super::SYNTAX_ERR);
            }
            j += 1;
            password = Some(args[j].clone());
        } else if eq_ic(&args[j], "auth2") {
            if more < 2 {
                return ctx.error(super::SYNTAX_ERR);
            }
            username = Some(args[j + 1].clone());
            password = Some(args[j + 2].clone());
            j += 2;
        } else if eq_ic(&args[j], "keys") {
            if !args[3].is_empty() {
                return ctx
                    .error("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string");
            }
            first_key = j + 1;
            num_keys = args.len() - j - 1;
            break;
        } else {
            return ctx.error(super::SYNTAX_ERR);
        }
        j += 1;
    }
    let Some(timeout) = super::arg_i64(ctx, &args[5]) else { return };
    let Some(dest_db) = super::arg_i64(ctx, &args[4]) else { return };
    let timeout = if timeout <= 0 { 1000 } else { timeout as u64 };
    // Keys that exist now; if none, there is nothing to do.
    let mut keys = Vec::new();
    for k in &args[first_key..first_key + num_keys] {
        if ctx.lookup_read(k).is_some() {
            keys.push(k.clone());
        }
    }
    if keys.is_empty() {
        return ctx.reply().simple("NOKEY");
    }
    let target = format!("{}:{}", String::from_utf8_lossy(&args[1]), String::from_utf8_lossy(&args[2]));
    let db = ctx.client.db;
    let mut request = BytesMut::new();
    if let Some(p) = &password {
        match &username {
            Some(u) => crate::resp::encode_command(&mut request, &[b"AUTH", u, p]),
            None => crate::resp::encode_command(&mut request, &[b"AUTH", p]),
        }
    }
    let cached_db = ctx.srv.migrations.sockets.iter().find(|s| s.target == target).and_then(|s| s.last_db);
    let dest = dest_db.max(0) as usize;
    let select = cached_db != Some(dest);
    if select {
        crate::resp::encode_command(&mut request, &[b"SELECT", dest_db.to_string().as_bytes()]);
    }
    let now = ctx.now;
    let mut sent_keys = Vec::new();
    for k in keys {
        let dbref = &ctx.srv.keyspace.dbs[db];
        let ttl = match dbref.expire_at(&k) {
            Some(at) if at <= now => continue,
            Some(at) => (at - now).max(1),
            None => 0,
        };
        let Some(value) = dbref.entries.get(&k[..]) else { continue };
        let payload = crate::rdb::dump_payload(value);
        let ttl = ttl.to_string();
        let mut parts: Vec<&[u8]> = vec![b"RESTORE", &k, ttl.as_bytes(), &payload];
        if replace {
            parts.push(b"REPLACE");
        }
        crate::resp::encode_command(&mut request, &parts);
        sent_keys.push(k);
    }
    let job = MigrateJob {
        client: ctx.client.conn,
        target,
        db,
        keys: sent_keys,
        dest_db: dest,
        copy,
        request: request.to_vec(),
        auth: password.is_some(),
        select,
        replies: Vec::new(),
        deadline_ms: now + timeout,
        retried: false,
        sent: false,
    };
    ctx.client.awaiting_io = true;
    ctx.srv.migrations.jobs.push(job);
    ctx.srv.start_migrate_jobs();
}

impl NodeState {
    /// Send every job whose target connection is free; open connections as needed.
    pub(crate) fn start_migrate_jobs(&mut self) {
        for i in 0..self.migrations.jobs.len() {
            if self.migrations.jobs[i].sent {
                continue;
            }
            let target = self.migrations.jobs[i].target.clone();
            // One job at a time per connection: a later one waits its turn.
            let busy = self.migrations.jobs[..i].iter().any(|j| j.target == target);
            if busy {
                continue;
            }
            let socket = self.migrations.sockets.iter().position(|s| s.target == target);
            match socket {
                Some(s) if self.migrations.sockets[s].connected => {
                    let conn = self.migrations.sockets[s].conn;
                    self.migrations.sockets[s].last_use_ms = self.now;
                    let job = &mut self.migrations.jobs[i];
                    job.sent = true;
                    let bytes = Bytes::from(job.request.clone());
                    self.send(conn, bytes);
                }
                Some(_) => {}
                None => {
                    if self.migrations.sockets.len() >= CACHE_ITEMS {
                        // Make room: drop a connection no job uses.
                        if let Some(idle) = self
                            .migrations
                            .sockets
                            .iter()
                            .position(|s| !self.migrations.jobs.iter().any(|j| j.target == s.target))
                        {
                            let s = self.migrations.sockets.remove(idle);
                            self.outputs.push_back(Output::Close { conn: s.conn });
                        }
                    }
                    let conn = self.next_outbound_conn();
                    self.migrations.sockets.push(MigrateSocket {
                        target: target.clone(),
                        conn,
                        connected: false,
                        last_db: None,
                        last_use_ms: self.now,
                        inbuf: BytesMut::new(),
                    });
                    self.outputs.push_back(Output::Connect { conn, addr: target });
                }
            }
        }
    }

    /// The driver opened (or failed to open) a MIGRATE connection.
    pub(crate) fn migrate_connected(&mut self, conn: ConnId, result: Result<String, String>) {
        let Some(s) = self.migrations.sockets.iter().position(|s| s.conn == conn) else { return };
        match result {
            Ok(_) => {
                self.migrations.sockets[s].connected = true;
                self.start_migrate_jobs();
            }
            Err(_) => {
                let target = self.migrations.sockets.remove(s).target;
                self.fail_migrate_job(&target, "IOERR error or timeout connecting to the client");
                self.start_migrate_jobs();
            }
        }
    }

    /// Replies from a MIGRATE target.
    pub(crate) fn migrate_data(&mut self, conn: ConnId, bytes: &[u8]) {
        let Some(s) = self.migrations.sockets.iter().position(|s| s.conn == conn) else { return };
        let target = self.migrations.sockets[s].target.clone();
        self.migrations.sockets[s].inbuf.extend_from_slice(bytes);
        let Some(j) = self.migrations.jobs.iter().position(|j| j.target == target && j.sent) else {
            // Nothing asked: whatever this is, it is not ours to read.
            self.migrations.sockets[s].inbuf.clear();
            return;
        };
        loop {
            match Frame::decode(&mut self.migrations.sockets[s].inbuf) {
                Ok(Some(f)) => self.migrations.jobs[j].replies.push(f),
                Ok(None) => break,
                Err(_) => {
                    self.migrate_socket_error(conn);
                    return;
                }
            }
        }
        let job = &self.migrations.jobs[j];
        let expected = job.keys.len() + job.auth as usize + job.select as usize;
        if job.replies.len() >= expected {
            let job = self.migrations.jobs.remove(j);
            self.finish_migrate_job(job);
            self.start_migrate_jobs();
        }
    }

    /// The target closed a MIGRATE connection.
    pub(crate) fn migrate_closed(&mut self, conn: ConnId) {
        self.migrate_socket_error(conn);
    }

    fn migrate_socket_error(&mut self, conn: ConnId) {
        let Some(s) = self.migrations.sockets.iter().position(|s| s.conn == conn) else { return };
        let socket = self.migrations.sockets.remove(s);
        self.outputs.push_back(Output::Close { conn });
        if let Some(j) = self.migrations.jobs.iter().position(|j| j.target == socket.target && j.sent) {
            let job = &mut self.migrations.jobs[j];
            if job.replies.is_empty() && !job.retried {
                // A cached connection the target had closed: try once more on a fresh one.
                job.retried = true;
                job.sent = false;
                job.select = true;
                self.start_migrate_jobs();
                return;
            }
            let job = self.migrations.jobs.remove(j);
            self.fail_job(job, "IOERR error or timeout reading to target instance");
        }
        self.start_migrate_jobs();
    }

    /// Jobs past their timeout fail; connections idle for 10 s close
    /// (Redis's `migrateCloseTimedoutSockets`).
    pub(crate) fn migrate_cron(&mut self) {
        let now = self.now;
        let expired: Vec<String> =
            self.migrations.jobs.iter().filter(|j| j.deadline_ms <= now).map(|j| j.target.clone()).collect();
        for target in expired {
            if let Some(s) = self.migrations.sockets.iter().position(|s| s.target == target) {
                let s = self.migrations.sockets.remove(s);
                self.outputs.push_back(Output::Close { conn: s.conn });
            }
            let reason = "IOERR error or timeout reading to target instance";
            self.fail_migrate_job(&target, reason);
        }
        let idle: Vec<ConnId> = self
            .migrations
            .sockets
            .iter()
            .filter(|s| {
                now.saturating_sub(s.last_use_ms) > CACHE_TTL_MS
                    && !self.migrations.jobs.iter().any(|j| j.target == s.target)
            })
            .map(|s| s.conn)
            .collect();
        for conn in idle {
            self.migrations.sockets.retain(|s| s.conn != conn);
            self.outputs.push_back(Output::Close { conn });
        }
        self.start_migrate_jobs();
    }

    fn fail_migrate_job(&mut self, target: &str, reason: &str) {
        if let Some(j) = self.migrations.jobs.iter().position(|j| j.target == target) {
            let job = self.migrations.jobs.remove(j);
            self.fail_job(job, reason);
        }
    }

    fn fail_job(&mut self, job: MigrateJob, reason: &str) {
        if let Some(c) = self.clients.get_mut(&job.client) {
            c.reply.error(reason);
        }
        self.io_done(job.client);
    }

    /// All replies are in: delete what the target took, answer the client.
    fn finish_migrate_job(&mut self, job: MigrateJob) {
        let mut replies = job.replies.into_iter();
        let auth = if job.auth { replies.next() } else { None };
        let select = if job.select { replies.next() } else { None };
        let err_of = |f: &Option<Frame>| match f {
            Some(Frame::Error(e)) => Some(e.clone()),
            _ => None,
        };
        let link_error = err_of(&auth).or_else(|| err_of(&select));
        let mut error = link_error.clone();
        let mut deleted: Vec<Bytes> = Vec::new();
        // As `migrateCommand` reads the replies: the first error is the answer, and every
        // key the target acknowledged is deleted here, even after another key's error.
        for key in &job.keys {
            match replies.next() {
                Some(Frame::Error(e)) => {
                    error.get_or_insert(e);
                }
                _ if link_error.is_some() => {}
                _ if !job.copy && self.keyspace.dbs[job.db].remove(key).is_some() => {
                    self.key_modified(job.db, key);
                    deleted.push(key.clone());
                }
                _ => {}
            }
        }
        if !deleted.is_empty() {
            let mut op: Vec<&[u8]> = vec![b"DEL"];
            op.extend(deleted.iter().map(|k| &k[..]));
            self.propagate(job.db, &op);
        }
        if let Some(s) = self.migrations.sockets.iter_mut().find(|s| s.target == job.target) {
            s.last_use_ms = self.now;
            s.last_db = if error.is_some() { None } else { Some(job.dest_db) };
        }
        if let Some(c) = self.clients.get_mut(&job.client) {
            match &error {
                Some(e) => c.reply.error(&format!("ERR Target instance replied with error: {}", e)),
                None => c.reply.ok(),
            }
        }
        if error.is_some() {
            self.log(LogLevel::Verbose, format!("MIGRATE to {} failed", job.target));
        }
        self.io_done(job.client);
    }
}
