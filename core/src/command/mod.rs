//! Commands: one dispatcher, one table, one file per command family.
//!
//! [`execute`] follows Redis's `processCommand`: look the command up, check its arity, check
//! authentication, queue it inside MULTI, refuse it in a RESP2 subscriber context, then run
//! it and count it in `INFO commandstats`. Each family module (`strings`, `lists`, …) holds
//! the handlers; a handler reads its arguments, acts on the keyspace and writes its reply into
//! the client's buffer. Handlers never do IO, so the same code serves the native server and the
//! browser simulator.

pub mod bits;
pub mod connection;
pub mod debug;
pub mod functions;
pub mod hashes;
pub mod hyperloglog;
pub mod info;
pub mod keys;
pub mod latency;
pub mod lists;
pub mod meta;
pub mod migrate;
pub mod propagate;
pub mod pubsub;
pub mod replicaof;
pub mod server;
pub mod sets;
pub mod strings;
pub mod table;
pub mod transactions;
pub mod zsets;

use crate::keyspace::{Db, Value};
use crate::log::LogLevel;
use crate::node::{Blocked, Client, ClientRole, NodeState, Output};
use crate::resp::parse_i64;
use bytes::Bytes;
use meta::CommandMeta;
use rustc_hash::FxHashMap;
use std::sync::OnceLock;

/// What a command handler gets: the server, the calling client, and the time.
pub struct Ctx<'a> {
    pub srv: &'a mut NodeState,
    /// The client running the command: taken out of `srv.clients` for the command's length.
    pub client: &'a mut Client,
    pub now: u64,
}

impl<'a> Ctx<'a> {
    /// The context of `client`'s command, which the caller took out of the client table (it
    /// goes back when the command ends), so a command cannot reach its own client twice.
    pub fn new(srv: &'a mut NodeState, client: &'a mut Client, now: u64) -> Ctx<'a> {
        debug_assert!(!srv.clients.contains_key(&client.conn), "a running client is out of the client table");
        Ctx { srv, client, now }
    }
}

/// A command handler. It may move arguments out of `args` (leaving empty ones behind) to
/// store them without copying.
pub type Handler = fn(&mut Ctx, &mut [Bytes]);

/// The error side of a lookup that already wrote its error reply (e.g. WRONGTYPE): the
/// handler only has to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replied;

/// A command this node implements: Redis's metadata plus our handler.
pub struct Command {
    pub meta: &'static CommandMeta,
    pub handler: Handler,
}

/// A lookup that leaves the key's access time alone (TTL, TYPE, EXISTS, OBJECT).
pub const LOOKUP_NOTOUCH: u8 = 1;
/// A lookup whose miss fires no `keymiss` event (OBJECT).
pub const LOOKUP_NONOTIFY: u8 = 2;

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const SYNTAX_ERR: &str = "ERR syntax error";
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const NO_SUCH_KEY: &str = "ERR no such key";
pub const OVERFLOW: &str = "ERR increment or decrement would overflow";

impl<'a> Ctx<'a> {
    /// The client's selected database.
    pub fn db(&mut self) -> &mut Db {
        &mut self.srv.keyspace.dbs[self.client.db]
    }
    pub fn reply(&mut self) -> &mut crate::resp::ReplyBuf {
        &mut self.client.reply
    }
    pub fn error(&mut self, msg: &str) {
        self.client.reply.error(msg);
    }
    pub fn ok(&mut self) {
        self.client.reply.ok();
    }
    /// The `*-max-*` thresholds in force, for a command that may convert an encoding.
    pub fn limits(&self) -> crate::keyspace::EncodingLimits {
        crate::keyspace::EncodingLimits::from_config(&self.srv.config)
    }
    /// Signal that `key` in the client's db changed.
    pub fn modified(&mut self, key: &[u8]) {
        let db = self.client.db;
        self.srv.key_modified(db, key);
    }
    /// Fire a keyspace event about `key` of the client's db (see [`pubsub`]'s module docs).
    pub fn notify(&mut self, event_class: u32, event: &str, key: &[u8]) {
        let db = self.client.db;
        self.notify_in(db, event_class, event, key);
    }
    /// Fire a keyspace event about `key` of database `db` (MOVE and COPY write to another).
    /// The `new` events of keys the command added so far go first, as Redis fires them when
    /// it adds the key.
    pub fn notify_in(&mut self, db: usize, event_class: u32, event: &str, key: &[u8]) {
        if !self.srv.pubsub.anyone_listens() {
            return;
        }
        pubsub::notify_new_keys(self.srv, Some(self.client));
        pubsub::notify_keyspace_event(self.srv, Some(self.client), event_class, event, key, db);
    }
    /// Look up a key (lazily expiring it), counting a hit or a miss.
    pub fn lookup_read(&mut self, key: &[u8]) -> Option<&Value> {
        self.read_and_reply_with(key, 0).0
    }
    /// [`Ctx::lookup_read`] with Redis's `LOOKUP_*` flags ([`LOOKUP_NOTOUCH`],
    /// [`LOOKUP_NONOTIFY`]).
    pub fn lookup_read_with(&mut self, key: &[u8], flags: u8) -> Option<&Value> {
        self.read_and_reply_with(key, flags).0
    }
    /// Look up a key for reading and hand out the reply buffer beside it, so a handler can
    /// reply straight from the stored value without copying it.
    pub fn read_and_reply(&mut self, key: &[u8]) -> (Option<&Value>, &mut crate::resp::ReplyBuf) {
        self.read_and_reply_with(key, 0)
    }
    /// Redis's `lookupKeyReadWithFlags`: expire the key if needed, count a hit or a miss, fire
    /// `keymiss` on a miss (unless [`LOOKUP_NONOTIFY`]).
    fn read_and_reply_with(&mut self, key: &[u8], flags: u8) -> (Option<&Value>, &mut crate::resp::ReplyBuf) {
        let expired = self.expire_if_needed(key);
        let db = self.client.db;
        let index = if expired { None } else { self.srv.keyspace.dbs[db].entries.get_index_of(key) };
        match index {
            Some(i) => {
                self.srv.stats.keyspace_hits += 1;
                if flags & LOOKUP_NOTOUCH == 0 {
                    self.touch(db, i);
                }
            }
            None => {
                self.srv.stats.keyspace_misses += 1;
                if flags & LOOKUP_NONOTIFY == 0 {
                    self.notify(pubsub::class::KEY_MISS, "keymiss", key);
                }
            }
        }
        let found = index.and_then(|i| self.srv.keyspace.dbs[db].entries.get_index(i)).map(|(_, v)| v);
        (found, &mut self.client.reply)
    }
    /// The value stored at `key` as it is: no expiry, no statistics, no events. For a second
    /// look at a key the handler already looked up.
    pub fn peek(&self, key: &[u8]) -> Option<&Value> {
        self.srv.keyspace.dbs[self.client.db].entries.get(key)
    }
    /// Whether `key` exists (expiring it lazily), without touching hit/miss statistics.
    pub fn exists(&mut self, key: &[u8]) -> bool {
        !self.expire_if_needed(key) && self.db().entries.contains_key(key)
    }
    /// Lazy expiry of one key (Redis's `expireIfNeeded`), counted in INFO's `expired_keys` and
    /// as a change for the save points. Every lookup goes through here. Returns whether the key
    /// is past its deadline but still stored: on a replica, which answers as if it were gone
    /// and waits for its master's DEL (so both datasets stay equal).
    pub fn expire_if_needed(&mut self, key: &[u8]) -> bool {
        self.expire_if_needed_as(key, false)
    }
    /// [`Ctx::expire_if_needed`] for a key about to be written: a writable replica then does
    /// delete a key past its deadline (7.0's `EXPIRE_FORCE_DELETE_EXPIRED`), so that a write
    /// does not resurrect it; the deletion stays local.
    fn expire_if_needed_as(&mut self, key: &[u8], write: bool) -> bool {
        let (now, db) = (self.now, self.client.db);
        // The master client's commands see its dataset as the master sent it.
        if self.client.role == crate::node::ClientRole::Master {
            return false;
        }
        // A replica, and any node while clients are paused, keeps the key: it reads as
        // missing until a DEL (from the master, or after the pause) removes it.
        let keep = (self.srv.repl.is_replica() && !write) || self.srv.expiry_frozen();
        if keep {
            return self.srv.keyspace.dbs[db].expire_at(key).is_some_and(|at| at <= now);
        }
        if self.srv.keyspace.dbs[db].expire_if_needed(key, now) {
            // The `new` events of this command's keys go before this one, in call order.
            if self.srv.pubsub.anyone_listens() {
                pubsub::notify_new_keys(self.srv, Some(self.client));
            }
            // Replicas and the backlog learn of the expiry as a DEL, before the command.
            self.srv.key_expired(db, key, Some(self.client));
            self.srv.stats.expired_keys += 1;
            self.srv.persist.dirty += 1;
            self.srv.call.expired_keys += 1;
        }
        false
    }
    /// Look up a key for writing (lazily expiring it); a write is an access too.
    pub fn lookup_write(&mut self, key: &[u8]) -> Option<&mut Value> {
        self.expire_if_needed_as(key, true);
        let db = self.client.db;
        let i = self.srv.keyspace.dbs[db].entries.get_index_of(key)?;
        self.touch(db, i);
        self.srv.keyspace.dbs[db].entries.get_index_mut(i).map(|(_, v)| v)
    }
    /// Record an access to the key at position `index` of database `db` (the part of Redis's
    /// `lookupKey` that updates `robj->lru`: an LRU stamp, or `updateLFU`).
    fn touch(&mut self, db: usize, index: usize) {
        let clock = self.srv.keyspace.dbs[db].clock;
        let coin = if clock.policy.lfu { unit_draw(&mut self.srv.rng) } else { 0.0 };
        let d = &mut self.srv.keyspace.dbs[db];
        let field = clock.touched(d.access_at(index), coin);
        d.set_access_at(index, field);
    }
}

/// A uniform draw in `[0, 1]` from the node's generator (the lab's `rand()/RAND_MAX`).
pub fn unit_draw(rng: &mut crate::rng::SeededRng) -> f64 {
    rng.next_u64() as f64 / u64::MAX as f64
}

/// Look up `key` expecting one type (`pick` selects it): `Ok(None)` when the key is missing,
/// `Err(Replied)` after replying WRONGTYPE when it holds another type.
pub fn read_as<'c, T>(
    ctx: &'c mut Ctx,
    key: &[u8],
    pick: for<'v> fn(&'v Value) -> Option<&'v T>,
) -> Result<Option<&'c T>, Replied> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(v) if pick(v).is_none() => {
            ctx.error(WRONGTYPE);
            Err(Replied)
        }
        Some(_) => {
            let db = ctx.client.db;
            Ok(ctx.srv.keyspace.dbs[db].entries.get(key).and_then(pick))
        }
    }
}

/// Like [`read_as`] for writing; with `create`, a missing key is created with `make()`.
pub fn write_as<'c, T>(
    ctx: &'c mut Ctx,
    key: &Bytes,
    create: Option<fn() -> Value>,
    pick: for<'v> fn(&'v mut Value) -> Option<&'v mut T>,
) -> Result<Option<&'c mut T>, Replied> {
    let wrong_type = match ctx.lookup_write(key) {
        None => {
            match create {
                None => return Ok(None),
                Some(make) => ctx.db().set_keep_ttl(key.clone(), make()),
            }
            false
        }
        Some(v) => pick(v).is_none(),
    };
    if wrong_type {
        ctx.error(WRONGTYPE);
        return Err(Replied);
    }
    Ok(ctx.db().entries.get_mut(&key[..]).and_then(pick))
}

/// Reply a HELP text: one status line per line, as Redis's `addReplyHelp` does.
pub fn reply_help(ctx: &mut Ctx, lines: &[&str]) {
    ctx.reply().array(lines.len());
    for l in lines {
        ctx.reply().simple(l);
    }
}

/// The optional `count` of LPOP/RPOP/SPOP/ZPOPMIN/ZPOPMAX: `Ok(None)` when absent, `Err` after
/// replying when it is not a non-negative integer — one message for both, as Redis's
/// `getPositiveLongFromObjectOrReply` gives.
pub fn optional_count(ctx: &mut Ctx, arg: Option<&Bytes>) -> Result<Option<usize>, Replied> {
    let Some(arg) = arg else { return Ok(None) };
    positive_arg(ctx, arg, "ERR value is out of range, must be positive").map(Some).ok_or(Replied)
}

/// A non-negative integer argument; anything else (not a number, negative) replies `err`
/// (`getPositiveLongFromObjectOrReply` with a message).
pub fn positive_arg(ctx: &mut Ctx, arg: &[u8], err: &str) -> Option<usize> {
    match parse_i64(arg) {
        Some(v) if v >= 0 => Some(v as usize),
        _ => {
            ctx.error(err);
            None
        }
    }
}

/// Most draws with repetition one SRANDMEMBER/HRANDFIELD/ZRANDMEMBER may ask for, and most
/// bytes such a reply may take. Redis streams any number of draws until the client's output
/// limit closes it (none by default, so memory is the bound); the lab refuses instead.
const MAX_RANDOM_DRAWS: u64 = 1 << 24;
const MAX_RANDOM_REPLY_BYTES: u64 = 1 << 30;

/// The count of SRANDMEMBER/HRANDFIELD/ZRANDMEMBER, checked as Redis checks it
/// (`getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX)`); `paired` (WITHVALUES,
/// WITHSCORES) halves the range, as the RESP2 reply holds two items per draw.
pub fn random_count(ctx: &mut Ctx, arg: &[u8], paired: bool) -> Option<i64> {
    let c = arg_i64(ctx, arg)?;
    if c == i64::MIN {
        ctx.error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
        return None;
    }
    if paired && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&c) {
        ctx.error("ERR value is out of range");
        return None;
    }
    Some(c)
}

/// Indexes drawn for HRANDFIELD/SRANDMEMBER/ZRANDMEMBER from a collection of `len` items
/// taking about `bytes` in all: no count → one; positive → distinct, at most `len`;
/// negative → `|count|` draws with repetition, refused (after replying) past the lab's bounds.
pub fn random_picks(ctx: &mut Ctx, len: usize, bytes: usize, count: Option<i64>) -> Result<Vec<usize>, Replied> {
    if len == 0 {
        return Ok(Vec::new());
    }
    Ok(match count {
        None => vec![ctx.srv.rng.below(len)],
        Some(c) if c < 0 => {
            let draws = c.unsigned_abs();
            let per_item = (bytes / len) as u64 + 16;
            if draws > MAX_RANDOM_DRAWS || draws.saturating_mul(per_item) > MAX_RANDOM_REPLY_BYTES {
                ctx.error("ERR count is out of range for HA Lab (at most 16777216 draws and 1 GB per reply)");
                return Err(Replied);
            }
            (0..draws).map(|_| ctx.srv.rng.below(len)).collect()
        }
        Some(c) if (c as usize) >= len => (0..len).collect(),
        Some(c) if (c as usize) * 3 < len => {
            // Few of many: draw until `c` distinct ones, in O(c) rather than O(len).
            let c = c as usize;
            let mut seen = rustc_hash::FxHashSet::default();
            let mut picks = Vec::with_capacity(c);
            while picks.len() < c {
                let i = ctx.srv.rng.below(len);
                if seen.insert(i) {
                    picks.push(i);
                }
            }
            picks
        }
        Some(c) => {
            let c = c as usize;
            let mut idx: Vec<usize> = (0..len).collect();
            // Partial Fisher-Yates with the node's seeded generator.
            for i in 0..c {
                let j = i + ctx.srv.rng.below(len - i);
                idx.swap(i, j);
            }
            idx.truncate(c);
            idx
        }
    })
}

/// Whether a count asks for draws with repetition (then [`random_picks`] wants the bytes of
/// the collection, to bound the reply).
pub fn draws_with_repetition(count: Option<i64>) -> bool {
    count.is_some_and(|c| c < 0)
}

/// Parse an integer argument, replying with Redis's error when it is not one.
pub fn arg_i64(ctx: &mut Ctx, arg: &[u8]) -> Option<i64> {
    match parse_i64(arg) {
        Some(v) => Some(v),
        None => {
            ctx.error(NOT_INTEGER);
            None
        }
    }
}

/// Parse an `int` argument as `getIntFromObjectOrReply` does: a long long first, then the
/// range of a C `int`, each with its own error.
pub fn arg_i32(ctx: &mut Ctx, arg: &[u8]) -> Option<i32> {
    let v = arg_i64(ctx, arg)?;
    match i32::try_from(v) {
        Ok(v) => Some(v),
        Err(_) => {
            ctx.error("ERR value is out of range, value must between -2147483648 and 2147483647");
            None
        }
    }
}

pub use crate::resp::parse_f64;

pub fn arg_f64(ctx: &mut Ctx, arg: &[u8]) -> Option<f64> {
    match parse_f64(arg) {
        Some(v) => Some(v),
        None => {
            ctx.error(NOT_FLOAT);
            None
        }
    }
}

pub fn eq_ic(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

fn registry() -> &'static FxHashMap<&'static str, Command> {
    static REGISTRY: OnceLock<FxHashMap<&'static str, Command>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut map = FxHashMap::default();
        let families: [&[(&str, Handler)]; 18] = [
            crate::cluster::command::COMMANDS,
            connection::COMMANDS,
            migrate::COMMANDS,
            latency::COMMANDS,
            debug::COMMANDS,
            functions::COMMANDS,
            keys::COMMANDS,
            strings::COMMANDS,
            lists::COMMANDS,
            hashes::COMMANDS,
            sets::COMMANDS,
            zsets::COMMANDS,
            transactions::COMMANDS,
            pubsub::COMMANDS,
            server::COMMANDS,
            replicaof::COMMANDS,
            bits::COMMANDS,
            hyperloglog::COMMANDS,
        ];
        for family in families {
            for &(name, handler) in family {
                let meta = meta::lookup_meta(name.as_bytes())
                    .unwrap_or_else(|| panic!("no Redis metadata for command {name}"));
                map.insert(meta.name, Command { meta, handler });
            }
        }
        map
    })
}

/// Sentinel mode's commands (`populateCommandTable` keeps those flagged for sentinel): 7.0's
/// sentinel table, run by the server's handlers but for SENTINEL, INFO, ROLE and PUBLISH,
/// which sentinel mode answers itself. Commands halab does not implement stay unknown.
fn sentinel_registry() -> &'static FxHashMap<&'static str, Command> {
    static REGISTRY: OnceLock<FxHashMap<&'static str, Command>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut map = FxHashMap::default();
        for meta in crate::sentinel::table::COMMANDS {
            let handler: Option<Handler> = match meta.name {
                "sentinel" => Some(crate::sentinel::command::sentinel),
                "info" => Some(crate::sentinel::command::info),
                "role" => Some(crate::sentinel::command::role),
                "publish" => Some(crate::sentinel::command::publish),
                other => registry().get(other).map(|c| c.handler),
            };
            if let Some(handler) = handler {
                map.insert(meta.name, Command { meta, handler });
            }
        }
        map
    })
}

/// [`lookup`] through the node's `rename-command` lines (what clients call a command), in the
/// node's mode's table.
pub fn lookup_as(config: &crate::config::Config, name: &[u8]) -> Option<&'static Command> {
    let name = config.command_name(name)?;
    if config.sentinel_mode() {
        let key = std::str::from_utf8(&name).ok()?.to_ascii_lowercase();
        return sentinel_registry().get(key.as_str());
    }
    lookup(&name)
}

/// The commands a node in this configuration's mode implements, sorted by name.
pub fn implemented_for(config: &crate::config::Config) -> Vec<&'static Command> {
    if !config.sentinel_mode() {
        return implemented();
    }
    let mut v: Vec<&Command> = sentinel_registry().values().collect();
    v.sort_by_key(|c| c.meta.name);
    v
}

/// Look up an implemented command by name (any case), in the server's table.
pub fn lookup(name: &[u8]) -> Option<&'static Command> {
    let mut lower = [0u8; 32];
    if name.len() > lower.len() {
        return None;
    }
    for (d, s) in lower.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    let key = std::str::from_utf8(&lower[..name.len()]).ok()?;
    registry().get(key)
}

/// All implemented commands, sorted by name.
pub fn implemented() -> Vec<&'static Command> {
    let mut v: Vec<&Command> = registry().values().collect();
    v.sort_by_key(|c| c.meta.name);
    v
}

/// `ERR unknown command 'foo', with args beginning with: 'a' 'b' ` — Redis 7.0's text.
fn unknown_command_error(args: &[Bytes]) -> String {
    let mut msg = format!("ERR unknown command '{}', with args beginning with: ", truncate_lossy(&args[0], 128));
    let mut budget: usize = 128;
    for a in &args[1..] {
        if budget == 0 {
            break;
        }
        let s = truncate_lossy(a, budget);
        budget = budget.saturating_sub(a.len());
        msg.push_str(&format!("'{}' ", s));
    }
    msg
}

fn truncate_lossy(b: &[u8], max: usize) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(max)]);
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Commands allowed while a RESP2 client is subscribed.
fn allowed_in_pubsub(name: &str) -> bool {
    matches!(
        name,
        "subscribe"
            | "psubscribe"
            | "unsubscribe"
            | "punsubscribe"
            | "ssubscribe"
            | "sunsubscribe"
            | "ping"
            | "quit"
            | "reset"
    )
}

/// Run one command for the client in `ctx` (Redis's `processCommand` + `call`).
pub fn execute(ctx: &mut Ctx, mut args: Vec<Bytes>) {
    use crate::node::ReplyMode;
    let reply_mode = ctx.client.reply_mode;
    let mark = ctx.client.reply.buf.len();
    let pushes = matches!(
        lookup_as(&ctx.srv.config, &args[0]).map(|c| c.meta.name),
        Some("subscribe" | "psubscribe" | "unsubscribe" | "punsubscribe" | "ssubscribe" | "sunsubscribe")
    );
    execute_inner(ctx, &mut args);
    // CLIENT REPLY OFF / SKIP: drop what this command wrote — but not pushes (subscription
    // confirmations), which Redis sends regardless, nor the +OK of the CLIENT REPLY ON that
    // ends the silence.
    let silenced = matches!(reply_mode, ReplyMode::Off | ReplyMode::Skip);
    if silenced && !pushes && ctx.client.reply_mode != ReplyMode::On {
        ctx.client.reply.buf.truncate(mark);
    }
    if ctx.client.reply_mode == ReplyMode::SkipNext {
        ctx.client.reply_mode = ReplyMode::Skip;
    } else if reply_mode == ReplyMode::Skip && ctx.client.reply_mode == ReplyMode::Skip {
        ctx.client.reply_mode = ReplyMode::On;
    }
}

/// What `processCommand` asks of a command's flags; for EXEC, of the flags of the commands
/// it queued (Redis's `mstate.cmd_flags` / `cmd_inv_flags`).
#[derive(Debug, Clone, Copy, Default)]
struct CommandTraits {
    write: bool,
    denyoom: bool,
    may_replicate: bool,
    /// Some command lacks the `stale` flag: a replica with its link down and
    /// `replica-serve-stale-data no` refuses it.
    deny_stale: bool,
    /// Reads or writes keys (what a replica's own connection may not do).
    keyspace: bool,
}

impl CommandTraits {
    fn of(meta: &CommandMeta) -> CommandTraits {
        let may_replicate = matches!(meta.name, "publish" | "spublish" | "pfcount" | "eval" | "evalsha" | "fcall");
        CommandTraits {
            write: meta.has_flag("write"),
            denyoom: meta.has_flag("denyoom"),
            may_replicate: meta.has_flag("write") || may_replicate,
            deny_stale: !meta.has_flag("stale"),
            keyspace: meta.has_flag("write") || meta.has_flag("readonly") || may_replicate,
        }
    }

    fn add(&mut self, other: CommandTraits) {
        self.write |= other.write;
        self.denyoom |= other.denyoom;
        self.may_replicate |= other.may_replicate;
        self.deny_stale |= other.deny_stale;
        self.keyspace |= other.keyspace;
    }
}

/// The metadata that governs a command line: the subcommand's for container commands.
fn effective_meta(cmd: &'static Command, args: &[Bytes]) -> &'static CommandMeta {
    if !cmd.meta.subcommands.is_empty() && args.len() >= 2 {
        cmd.meta.subcommand(&args[1]).unwrap_or(cmd.meta)
    } else {
        cmd.meta
    }
}

/// The MISCONF error: a save failed and `stop-writes-on-bgsave-error` is on.
const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// Redis's `processCommand`, check by check in its order, then queue (inside MULTI), postpone
/// (while clients are paused) or run the command.
fn execute_inner(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Some(cmd) = lookup_as(&ctx.srv.config, &args[0]) else {
        let err = unknown_command_error(args);
        reject(ctx, None, &err);
        return;
    };
    let name = cmd.meta.name;
    if !cmd.meta.arity_ok(args.len()) {
        reject(ctx, Some(cmd), &format!("ERR wrong number of arguments for '{}' command", name));
        return;
    }
    // Container commands (CONFIG, CLIENT, …): the subcommand has its own arity and flags.
    let mut flags_meta = cmd.meta;
    if !cmd.meta.subcommands.is_empty() && args.len() >= 2 {
        match cmd.meta.subcommand(&args[1]) {
            Some(sub) => {
                if !sub.arity_ok(args.len()) {
                    reject(ctx, Some(cmd), &format!("ERR wrong number of arguments for '{}' command", sub.name));
                    return;
                }
                flags_meta = sub;
            }
            None => {
                let err = format!(
                    "ERR unknown subcommand '{}'. Try {} HELP.",
                    truncate_lossy(&args[1], 128),
                    cmd.meta.name.to_ascii_uppercase()
                );
                reject(ctx, Some(cmd), &err);
                return;
            }
        }
    }
    if name == "debug" && !protected_action_allowed(ctx, "enable-debug-command") {
        reject(
            ctx,
            Some(cmd),
            "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
        );
        return;
    }
    let mut traits = CommandTraits::of(flags_meta);
    if name == "exec" {
        if let Some(queue) = &ctx.client.multi {
            for queued in queue {
                if let Some(c) = lookup_as(&ctx.srv.config, &queued[0]) {
                    traits.add(CommandTraits::of(effective_meta(c, queued)));
                }
            }
        }
    }
    if !ctx.client.authenticated && !flags_meta.has_flag("no_auth") {
        reject(ctx, Some(cmd), "NOAUTH Authentication required.");
        return;
    }
    let in_multi = ctx.client.multi.is_some();
    if in_multi && flags_meta.has_flag("no_multi") {
        reject(ctx, Some(cmd), "ERR Command not allowed inside a transaction");
        return;
    }
    let obey = ctx.client.role == crate::node::ClientRole::Master;
    // Out of memory (`maxmemory`): commands that grow memory are refused; inside MULTI every
    // command but EXEC, DISCARD, QUIT and RESET, since queueing grows memory too.
    if !obey && ctx.srv.config.int("maxmemory") > 0 {
        let reject_on_oom = traits.denyoom || (in_multi && !matches!(name, "exec" | "discard" | "quit" | "reset"));
        if reject_on_oom && !ctx.srv.perform_evictions() {
            reject(ctx, Some(cmd), "OOM command not allowed when used memory > 'maxmemory'.");
            return;
        }
    }
    if !obey && (traits.write || name == "ping") && ctx.srv.writes_denied_by_disk_error() {
        reject(ctx, Some(cmd), MISCONF);
        return;
    }
    if let Some(err) = replication_denies(ctx, traits) {
        reject(ctx, Some(cmd), err);
        return;
    }
    if ctx.client.in_pubsub() && ctx.client.protocol() == crate::resp::Protocol::Resp2 && !allowed_in_pubsub(name) {
        let err = format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            flags_meta.name
        );
        reject(ctx, Some(cmd), &err);
        return;
    }
    if !obey
        && ctx.srv.repl.is_replica()
        && !ctx.srv.repl.link_up()
        && !ctx.srv.config.get_bool("replica-serve-stale-data")
        && traits.deny_stale
    {
        reject(ctx, Some(cmd), "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.");
        return;
    }
    if (ctx.client.role == crate::node::ClientRole::Replica || ctx.client.monitor) && traits.keyspace {
        reject(ctx, Some(cmd), "ERR Replica can't interact with the keyspace");
        return;
    }
    // Paused clients (CLIENT PAUSE, FAILOVER): the command waits, parsed, until the pause
    // ends. Replicas are never paused; our master is, as in 7.0 (its stream waits unapplied).
    if ctx.client.role != crate::node::ClientRole::Replica && ctx.srv.pause_postpones(traits.may_replicate) {
        ctx.client.postponed = Some(args.to_vec());
        return;
    }
    if in_multi && !matches!(name, "exec" | "discard" | "multi" | "watch" | "quit" | "reset") {
        ctx.client.multi.as_mut().unwrap().push(args.to_vec());
        ctx.client.reply.simple("QUEUED");
        return;
    }
    call(ctx, cmd, args);
}

/// The replication rules of `processCommand`: a master without enough good replicas
/// (`min-replicas-to-write`) refuses writes, and so does a read-only replica (but not to its
/// own master's stream).
fn replication_denies(ctx: &Ctx, traits: CommandTraits) -> Option<&'static str> {
    let srv = &ctx.srv;
    if !traits.write || ctx.client.role == crate::node::ClientRole::Master {
        return None;
    }
    if srv.repl.is_replica() {
        if srv.config.get_bool("replica-read-only") {
            return Some("READONLY You can't write against a read only replica.");
        }
    } else {
        let min = srv.config.int("min-replicas-to-write");
        let lag = srv.config.int("min-replicas-max-lag");
        if min > 0 && lag > 0 && (srv.repl.good_replicas(ctx.now, lag as u64) as i64) < min {
            return Some("NOREPLICAS Not enough good replicas to write.");
        }
    }
    None
}

/// Redis 7.0's `enable-debug-command` / `enable-protected-configs`: `yes`, `no`, or `local`
/// (only from a loopback connection).
pub(crate) fn protected_action_allowed(ctx: &Ctx, option: &str) -> bool {
    match ctx.srv.config.get_str(option).as_str() {
        "yes" => true,
        "local" => {
            let ip = crate::net::host_of(&ctx.client.addr);
            ip.starts_with("127.") || ip == "::1" || ip.starts_with('/')
        }
        _ => false,
    }
}

/// Reply with an error for a command that was not run (Redis's `rejectCommand`): flag a
/// pending MULTI, count it as a rejected call of the command, and for EXEC abort the
/// transaction with the reason.
fn reject(ctx: &mut Ctx, cmd: Option<&'static Command>, err: &str) {
    let exec = cmd.is_some_and(|c| c.meta.name == "exec") && ctx.client.multi.is_some();
    if ctx.client.multi.is_some() {
        ctx.client.multi_failed = true;
    }
    if let Some(cmd) = cmd {
        ctx.srv.stats.commands.entry(cmd.meta.name).or_default().rejected += 1;
        // `c->lastcmd` is set before the checks that reject (CLIENT LIST's `cmd=`).
        ctx.client.last_command = cmd.meta.name;
    }
    if exec {
        transactions::discard_transaction(ctx);
        let msg = format!("EXECABORT Transaction discarded because of: {}", err);
        ctx.client.reply.error(&msg);
        after_error_reply(ctx.srv, ctx.client, Some("exec"), &msg);
        return;
    }
    ctx.client.reply.error(err);
    after_error_reply(ctx.srv, ctx.client, cmd.map(|c| c.meta.name), err);
}

/// What follows every error reply (Redis's `afterErrorReply`): the error counted by its
/// prefix, and an error on a replication link — which its peer never reads — logged as
/// `== CRITICAL ==` (with the last of the backlog when it is our master's command that
/// failed), counted in `unexpected_error_replies`, and, as `propagation-error-behavior`
/// says, fatal on a read-only replica.
///
/// `command` is the command that answered (`c->lastcmd`; none for an unknown one).
pub(crate) fn after_error_reply(srv: &mut NodeState, client: &Client, command: Option<&str>, err: &str) {
    srv.stats.total_error_replies += 1;
    let prefix = err.split(' ').next().unwrap_or("ERR").to_string();
    *srv.stats.errors.entry(prefix).or_insert(0) += 1;
    let (from, to) = match client.role {
        ClientRole::Normal => return,
        ClientRole::Master => ("replica", "master"),
        ClientRole::Replica => ("master", "replica"),
    };
    let cmdname = command.unwrap_or("<unknown>");
    let shown = &err.as_bytes()[..err.len().min(4096)];
    srv.log(
        LogLevel::Warning,
        format!(
            "== CRITICAL == This {} is sending an error to its {}: '{}' after processing the command '{}'",
            from,
            to,
            String::from_utf8_lossy(shown),
            cmdname
        ),
    );
    if client.role == ClientRole::Master {
        // `showLatestBacklog`: the last 256 bytes of the stream, before this command.
        if let Some(latest) = srv.repl.backlog.as_ref().map(|b| b.latest(256)).filter(|l| !l.is_empty()) {
            srv.log(LogLevel::Warning, format!("Latest backlog is: '{}'", crate::resp::repr(&latest)));
        }
    }
    srv.stats.unexpected_error_replies += 1;
    let behavior = srv.config.get_str("propagation-error-behavior");
    let read_only = srv.config.get_bool("replica-read-only");
    if client.role == ClientRole::Master && read_only && matches!(behavior.as_str(), "panic" | "panic-on-replicas") {
        // `serverPanic`: the bug report's banner, then the process dies.
        srv.log(LogLevel::Warning, "------------------------------------------------");
        srv.log(LogLevel::Warning, "!!! Software Failure. Press left mouse button to continue");
        srv.log(
            LogLevel::Warning,
            format!(
                "Guru Meditation: This {} panicked sending an error to its {} after processing the command '{}' #networking.c:555",
                from, to, cmdname
            ),
        );
        srv.halted = true;
        srv.outputs.push_back(Output::Crash);
    }
}

/// A blocked client is answered with an error instead of being served (CLIENT UNBLOCK …
/// ERROR, a master turned replica): the error is counted, and the blocked command counts as
/// a failed call, as `updateStatsOnUnblock` records it (its call was counted when it blocked).
pub(crate) fn fail_blocked_client(srv: &mut NodeState, c: &mut Client, err: &str) {
    c.reply.error(err);
    after_error_reply(srv, c, Some(c.last_command), err);
    if let Some(entry) = srv.stats.commands.get_mut(c.last_command) {
        entry.failed += 1;
    }
}

/// The arguments as MONITOR and the slow log show them: passwords replaced by
/// `(redacted)`, where Redis's handlers call `redactClientCommandArgument` (AUTH, HELLO's
/// AUTH, MIGRATE's AUTH/AUTH2, CONFIG SET of the sensitive configs).
fn redacted(name: &str, args: &[Bytes]) -> Vec<Bytes> {
    let mut out = args.to_vec();
    let hidden = Bytes::from_static(b"(redacted)");
    let mut hide = |i: usize| {
        if let Some(a) = out.get_mut(i) {
            *a = hidden.clone();
        }
    };
    match name {
        "auth" => (1..args.len()).for_each(&mut hide),
        "hello" => {
            if let Some(i) = (2..args.len()).find(|&i| eq_ic(&args[i], "AUTH")) {
                hide(i + 1);
                hide(i + 2);
            }
        }
        "migrate" => {
            for (i, a) in args.iter().enumerate().skip(6) {
                if eq_ic(a, "AUTH") {
                    hide(i + 1);
                } else if eq_ic(a, "AUTH2") {
                    hide(i + 1);
                    hide(i + 2);
                }
            }
        }
        "config" if args.len() > 3 && eq_ic(&args[1], "SET") => {
            for i in (2..args.len() - 1).step_by(2) {
                if ["masterauth", "masteruser", "requirepass"].iter().any(|c| eq_ic(&args[i], c)) {
                    hide(i + 1);
                }
            }
        }
        _ => {}
    }
    out
}

/// Run a command that passed every check (Redis's `call`), keeping its statistics.
pub fn call(ctx: &mut Ctx, cmd: &'static Command, args: &mut [Bytes]) {
    // Name the statistics entry first: the handler may move arguments out.
    let stat_name: &'static str = if cmd.meta.subcommands.is_empty() || args.len() < 2 {
        cmd.meta.name
    } else {
        cmd.meta.subcommand(&args[1]).map(|sub| sub.name).unwrap_or(cmd.meta.name)
    };
    let before = ctx.client.reply.buf.len();
    // CLIENT LIST run by this very command shows it as `cmd=`, as Redis sets `c->cmd` first.
    ctx.client.last_command = stat_name;
    ctx.srv.repl.call_depth += 1;
    let remember_ttls = ctx.srv.repl.is_replica()
        && ctx.client.role == crate::node::ClientRole::Normal
        && cmd.meta.has_flag("write")
        && !ctx.srv.config.get_bool("replica-read-only");
    let keys = if remember_ttls {
        cmd.meta.key_positions(args).iter().map(|&i| args[i].clone()).collect()
    } else {
        Vec::new()
    };
    // The slow log wants the arguments as sent; a handler may move them out. Only a command
    // that stalls (DEBUG SLEEP) takes time here, unless every command is to be logged.
    let skip_slowlog = cmd.meta.has_flag("skip_slowlog");
    // (CONFIG SET may lower the threshold for its own entry.)
    let keep_args = !skip_slowlog
        && (matches!(cmd.meta.name, "debug" | "config") || ctx.srv.config.int("slowlog-log-slower-than") <= 0);
    let monitored =
        !ctx.srv.pubsub.monitors.is_empty() && !cmd.meta.has_flag("admin") && !cmd.meta.has_flag("skip_monitor");
    let sent = (keep_args || monitored).then(|| redacted(cmd.meta.name, args));
    let outer_stall = std::mem::take(&mut ctx.srv.call.stall_us);
    invoke(ctx, cmd, args);
    let duration_us = ctx.srv.call.stall_us;
    ctx.srv.call.stall_us = outer_stall + duration_us;
    ctx.srv.repl.call_depth -= 1;
    if ctx.srv.repl.call_depth == 0 {
        ctx.srv.propagate_pending(!matches!(cmd.meta.name, "scan" | "randomkey"));
    }
    // A writable replica expires the keys its own clients gave a TTL: its master never
    // will (Redis's `rememberSlaveKeyWithExpire`).
    for key in keys {
        let db = ctx.client.db;
        if ctx.srv.keyspace.dbs[db].expire_at(&key).is_some() {
            ctx.srv.cron.replica_keys_with_expire.insert((db, key));
        }
    }
    ctx.client.write_offset = ctx.srv.repl.offset;
    ctx.srv.stats.total_commands_processed += 1;
    let failed = ctx.client.reply.buf.get(before) == Some(&b'-');
    if failed {
        let text = String::from_utf8_lossy(&ctx.client.reply.buf[before + 1..]).into_owned();
        after_error_reply(ctx.srv, ctx.client, Some(stat_name), text.trim_end());
    }
    let entry = ctx.srv.stats.commands.entry(stat_name).or_default();
    entry.calls += 1;
    entry.usec += duration_us;
    if failed {
        entry.failed += 1;
    }
    ctx.client.last_command = stat_name;
    if monitored {
        let (db, peer) = (ctx.client.db, ctx.client.addr.clone());
        connection::feed_monitors(ctx.srv, db, &peer, sent.as_deref().unwrap_or(&[]));
    }
    // A blocked command is recorded when it is served.
    if ctx.client.blocked.is_none() {
        let fast = cmd.meta.has_flag("fast");
        latency::record_call(
            ctx,
            stat_name,
            fast,
            skip_slowlog || !keep_args,
            sent.as_deref().unwrap_or(&[]),
            duration_us,
        );
    }
}

/// What the command being called did beside its reply and its writes, reset for each call
/// (what Redis's `call()` reads back from `server` after running a command).
#[derive(Debug, Default)]
pub struct CallEffects {
    /// Keys lazily expired during the command: they count in `dirty` but are not the
    /// command's own writes, so they do not make it propagate.
    pub(crate) expired_keys: u64,
    /// The command asked to be propagated whether or not it changed anything (FLUSHALL,
    /// FLUSHDB: Redis's `forceCommandPropagation`).
    pub(crate) force_propagation: bool,
    /// Virtual time the command stalled the server for (`DEBUG SLEEP`), in µs: its duration
    /// for the slow log, the latency records and commandstats. A nested call (in EXEC) adds
    /// its own to its caller's.
    pub(crate) stall_us: u64,
}

/// Run a command's handler; when the node feeds replicas, what it changed goes down the
/// replication stream (as sent, or rewritten by [`propagate`]).
fn invoke(ctx: &mut Ctx, cmd: &'static Command, args: &mut [Bytes]) {
    let reply_start = ctx.client.reply.buf.len();
    // The arguments as given: the handler may move them out, propagation needs them.
    let original = (ctx.srv.repl.feeding() && propagate::may_propagate(cmd.meta)).then(|| args.to_vec());
    let dirty_before = ctx.srv.persist.dirty;
    ctx.srv.call.expired_keys = 0;
    ctx.srv.call.force_propagation = false;
    let clock = crate::keyspace::access::AccessClock { policy: ctx.srv.access_policy, now_ms: ctx.now };
    ctx.srv.keyspace.set_clock(clock);
    // `new` events: the keyspace records the keys it adds while someone may hear of them.
    let track_new = pubsub::wants_event(ctx.srv, pubsub::class::NEW);
    if track_new {
        ctx.srv.keyspace.dbs.iter_mut().for_each(|db| db.track_new_keys(true));
    }
    (cmd.handler)(ctx, args);
    if track_new {
        pubsub::notify_new_keys(ctx.srv, Some(ctx.client));
        ctx.srv.keyspace.dbs.iter_mut().for_each(|db| db.track_new_keys(false));
    }
    if let Some(original) = original {
        let changed = ctx.srv.persist.dirty > dirty_before + ctx.srv.call.expired_keys
            || std::mem::take(&mut ctx.srv.call.force_propagation);
        propagate::after_call(ctx, cmd.meta, &original, changed, reply_start);
    }
}

/// Block the client on `keys` until data arrives or `timeout_ms` (0 = forever) passes.
pub fn block_client(ctx: &mut Ctx, keys: &[Bytes], timeout_ms: u64, args: &[Bytes]) {
    let db = ctx.client.db;
    for k in keys {
        let q = ctx.srv.blocked.by_key.entry((db, k.clone())).or_default();
        if !q.contains(&ctx.client.conn) {
            q.push_back(ctx.client.conn);
        }
    }
    let deadline = if timeout_ms == 0 { None } else { Some(ctx.now.saturating_add(timeout_ms)) };
    ctx.client.blocked = Some(Blocked { db, keys: keys.to_vec(), deadline, args: args.to_vec() });
}

/// Remove a client from the blocking tables.
pub fn unblock_client(srv: &mut NodeState, client: &mut Client) {
    if let Some(b) = client.blocked.take() {
        for k in b.keys {
            if let Some(q) = srv.blocked.by_key.get_mut(&(b.db, k.clone())) {
                q.retain(|&c| c != client.conn);
                if q.is_empty() {
                    srv.blocked.by_key.remove(&(b.db, k));
                }
            }
        }
    }
}

/// Run a blocked command again now that one of its keys received data. If it still finds
/// nothing, it blocks again (with its original deadline). Redis serves a ready key only to
/// the clients blocked for its type (`handleClientsBlockedOnKeys`): when none of the keys
/// holds a list (or, for the zset pops, a sorted set) any more, a WRONGTYPE answer means
/// "keep waiting"; a wrong destination of BLMOVE is still an error for the client.
pub fn retry_blocked(ctx: &mut Ctx, blocked: Blocked) {
    unblock_client(ctx.srv, ctx.client);
    let Some(cmd) = lookup_as(&ctx.srv.config, &blocked.args[0]) else { return };
    let wants_zset = cmd.meta.name.starts_with("bz");
    let db = &ctx.srv.keyspace.dbs[blocked.db];
    let servable = blocked.keys.iter().any(|k| match db.entries.get(&k[..]) {
        Some(Value::List(_)) => !wants_zset,
        Some(Value::ZSet(_)) => wants_zset,
        _ => false,
    });
    let before = ctx.client.reply.buf.len();
    let mut args = blocked.args.clone();
    ctx.srv.repl.call_depth += 1;
    invoke(ctx, cmd, &mut args);
    ctx.srv.repl.call_depth -= 1;
    if ctx.srv.repl.call_depth == 0 {
        ctx.srv.propagate_pending(true);
    }
    let wrong_type = ctx.client.reply.buf[before..].starts_with(b"-WRONGTYPE");
    if wrong_type && !servable && ctx.client.blocked.is_none() {
        let db = ctx.client.db;
        ctx.client.db = blocked.db;
        block_client(ctx, &blocked.keys, 0, &blocked.args);
        ctx.client.db = db;
    }
    if ctx.client.blocked.is_some() {
        // Still nothing: keep the original deadline.
        ctx.client.reply.buf.truncate(before);
        if let Some(b) = ctx.client.blocked.as_mut() {
            b.deadline = blocked.deadline;
        }
    } else {
        ctx.srv.stats.total_commands_processed += 1;
        let keep = ctx.srv.config.int("slowlog-log-slower-than") <= 0;
        latency::record_call(ctx, cmd.meta.name, cmd.meta.has_flag("fast"), !keep, &blocked.args, 0);
    }
}

/// Drop everything the server keeps for a client that goes away.
pub fn release_client_state(srv: &mut NodeState, client: &mut Client) {
    if client.role == crate::node::ClientRole::Replica && !client.closed {
        srv.replica_closed(client.conn);
    }
    client.closed = true;
    if client.monitor {
        srv.pubsub.monitors.retain(|&c| c != client.conn);
    }
    unblock_client(srv, client);
    transactions::unwatch_all(srv, client);
    pubsub::unsubscribe_all(srv, client);
}

/// Timeout argument of blocking commands: seconds as a float, `ERR timeout is negative` etc.
pub fn parse_block_timeout(ctx: &mut Ctx, arg: &[u8]) -> Option<u64> {
    match parse_f64(arg) {
        // 7.0 converts `ceil(seconds * 1000)` to a long long: a value past its range (inf,
        // 1e20) becomes LLONG_MIN on x86, and is refused as negative like any negative one.
        Some(v) => {
            let ms = (v * 1000.0).ceil();
            if !(0.0..9.223_372_036_854_776e18).contains(&ms) {
                ctx.error("ERR timeout is negative");
                return None;
            }
            Some(ms as u64)
        }
        None => {
            ctx.error("ERR timeout is not a float or out of range");
            None
        }
    }
}

/// Normalize a `start..stop` range of a sequence of `len` items the way LRANGE/ZRANGE/
/// GETRANGE do: negative indexes count from the end; returns `None` for an empty range.
pub fn normalize_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut s = if start < 0 { len + start } else { start };
    let mut e = if stop < 0 { len + stop } else { stop };
    if s < 0 {
        s = 0;
    }
    if s > e || s >= len {
        return None;
    }
    if e >= len {
        e = len - 1;
    }
    Some((s as usize, e as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_handler_has_metadata() {
        assert!(implemented().len() > 100, "{}", implemented().len());
    }

    #[test]
    fn unknown_command_text() {
        let args: Vec<Bytes> = ["foo", "a", "b"].iter().map(|s| Bytes::from(*s)).collect();
        assert_eq!(unknown_command_error(&args), "ERR unknown command 'foo', with args beginning with: 'a' 'b' ");
    }

    #[test]
    fn floats_parse_like_redis() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"abc"), None);
        // strtod's extras and its ERANGE refusals.
        assert_eq!(parse_f64(b"0x10"), Some(16.0));
        assert_eq!(parse_f64(b"-0x1.8p1"), Some(-3.0));
        assert_eq!(parse_f64(b"1e400"), None);
        assert_eq!(parse_f64(b"1e-400"), None);
        assert_eq!(parse_f64(b"0e-400"), Some(0.0));
        assert!(parse_f64(b"1e-320").is_some_and(|v| v > 0.0));
        assert_eq!(parse_f64(b".5"), Some(0.5));
        assert_eq!(parse_f64(b"5."), Some(5.0));
        assert_eq!(parse_f64(b"1.5e"), None);
        assert_eq!(parse_f64(b"Infinity"), Some(f64::INFINITY));
    }
}
