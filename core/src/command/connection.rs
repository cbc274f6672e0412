//! Connection commands: `PING ECHO QUIT HELLO AUTH SELECT RESET CLIENT …`.
//!
//! `HELLO 3` switches a connection to RESP3 and answers a map describing the server;
//! `AUTH` checks `requirepass` (the password of the `default` user in Redis 6+ ACL terms).
//! Until a client authenticates, every command but `AUTH`, `HELLO`, `QUIT` and `RESET`
//! answers `NOAUTH Authentication required.`

use super::{arg_i64, eq_ic, Ctx, Handler, SYNTAX_ERR};
use crate::node::{PausePurpose, ReplyMode};
use crate::resp::Protocol;
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("ping", ping),
    ("echo", echo),
    ("quit", quit),
    ("hello", hello),
    ("auth", auth),
    ("select", select),
    ("swapdb", swapdb),
    ("reset", reset),
    ("client", client),
    ("monitor", monitor),
];

/// `MONITOR`: from now on the client is sent every command the server runs, one status line
/// each (`+<unix secs>.<µs> [<db> <addr>] "arg" …`, Redis's `replicationFeedMonitors`).
fn monitor(ctx: &mut Ctx, _args: &mut [Bytes]) {
    if ctx.client.role == crate::node::ClientRole::Replica || ctx.client.monitor {
        return;
    }
    if ctx.client.in_exec || ctx.client.multi.is_some() {
        return ctx.error("ERR MONITOR isn't allowed for DENY BLOCKING client");
    }
    ctx.client.monitor = true;
    ctx.srv.pubsub.monitors.push(ctx.client.conn);
    ctx.ok();
}

/// Show a command that ran to every MONITOR client.
pub fn feed_monitors(srv: &mut crate::node::NodeState, db: usize, peer: &str, args: &[Bytes]) {
    let now = srv.now;
    let mut line = format!("+{}.{:06} [{} {}]", now / 1000, (now % 1000) * 1000, db, peer);
    for a in args {
        line.push(' ');
        line.push_str(&crate::resp::repr(a));
    }
    line.push_str("\r\n");
    for conn in srv.pubsub.monitors.clone() {
        if let Some(c) = srv.clients.get_mut(&conn) {
            c.reply.raw(line.as_bytes());
            srv.obuf.pending_flush.push(conn);
        }
    }
}

pub const REDIS_VERSION: &str = "7.0.15";
const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

fn ping(ctx: &mut Ctx, args: &mut [Bytes]) {
    if args.len() > 2 {
        return ctx.error("ERR wrong number of arguments for 'ping' command");
    }
    if ctx.client.in_pubsub() && ctx.client.protocol() == Protocol::Resp2 {
        let r = ctx.reply();
        r.array(2);
        r.bulk_str("pong");
        r.bulk(args.get(1).map(|b| &b[..]).unwrap_or(b""));
        return;
    }
    match args.get(1) {
        Some(m) => ctx.reply().bulk(m),
        None => ctx.reply().simple("PONG"),
    }
}

fn echo(ctx: &mut Ctx, args: &mut [Bytes]) {
    ctx.reply().bulk(&args[1]);
}

fn quit(ctx: &mut Ctx, _args: &mut [Bytes]) {
    ctx.ok();
    ctx.client.close_after_reply = true;
}

/// Check a user/password pair against `requirepass` (the only user is `default`).
fn check_password(ctx: &Ctx, user: &[u8], pass: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    match ctx.srv.config.requirepass() {
        None => true,
        Some(p) => p.as_bytes() == pass,
    }
}

fn auth(ctx: &mut Ctx, args: &mut [Bytes]) {
    if args.len() > 3 {
        return ctx.error(SYNTAX_ERR);
    }
    let (user, pass) = if args.len() == 3 { (&args[1][..], &args[2][..]) } else { (&b"default"[..], &args[1][..]) };
    if args.len() == 2 && ctx.srv.config.requirepass().is_none() {
        return ctx.error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
    }
    if check_password(ctx, user, pass) {
        ctx.client.authenticated = true;
        ctx.client.user = String::from_utf8_lossy(user).into_owned();
        ctx.ok();
    } else {
        ctx.error(WRONGPASS);
    }
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`
fn hello(ctx: &mut Ctx, args: &mut [Bytes]) {
    let mut proto = None;
    let mut i = 1;
    if args.len() > 1 {
        match crate::resp::parse_i64(&args[1]) {
            Some(v) if v == 2 || v == 3 => proto = Some(v),
            Some(_) => return ctx.error("NOPROTO unsupported protocol version"),
            None => return ctx.error("ERR Protocol version is not an integer or out of range"),
        }
        i = 2;
    }
    let mut setname = None;
    let mut auth_pair = None;
    while i < args.len() {
        let more = args.len() - i - 1;
        if eq_ic(&args[i], "AUTH") && more >= 2 {
            auth_pair = Some((args[i + 1].clone(), args[i + 2].clone()));
            i += 3;
        } else if eq_ic(&args[i], "SETNAME") && more >= 1 {
            setname = Some(args[i + 1].clone());
            i += 2;
        } else {
            return ctx.error(&format!("ERR Syntax error in HELLO option '{}'", String::from_utf8_lossy(&args[i])));
        }
    }
    if let Some((user, pass)) = auth_pair {
        if !check_password(ctx, &user, &pass) {
            return ctx.error(WRONGPASS);
        }
        ctx.client.authenticated = true;
        ctx.client.user = String::from_utf8_lossy(&user).into_owned();
    }
    if !ctx.client.authenticated {
        return ctx.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    if let Some(name) = setname {
        if !valid_client_name(&name) {
            return ctx.error("ERR Client names cannot contain spaces, newlines or special characters.");
        }
        ctx.client.name = if name.is_empty() { None } else { Some(name) };
    }
    if let Some(p) = proto {
        ctx.client.reply.proto = if p == 3 { Protocol::Resp3 } else { Protocol::Resp2 };
    }
    let id = ctx.client.id;
    let proto_num = if ctx.client.reply.proto == Protocol::Resp3 { 3 } else { 2 };
    let r = ctx.reply();
    r.map(7);
    r.bulk_str("server");
    r.bulk_str("redis");
    r.bulk_str("version");
    r.bulk_str(REDIS_VERSION);
    r.bulk_str("proto");
    r.int(proto_num);
    r.bulk_str("id");
    r.int(id as i64);
    r.bulk_str("mode");
    r.bulk_str("standalone");
    r.bulk_str("role");
    r.bulk_str("master");
    r.bulk_str("modules");
    r.array(0);
}

fn select(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Some(n) = super::arg_i32(ctx, &args[1]) else { return };
    if n < 0 || n as usize >= ctx.srv.keyspace.dbs.len() {
        return ctx.error("ERR DB index is out of range");
    }
    ctx.client.db = n as usize;
    ctx.ok();
}

fn swapdb(ctx: &mut Ctx, args: &mut [Bytes]) {
    // `getIntFromObjectOrReply` with a message per argument: a C int, else that message.
    let db_index = |a: &[u8]| crate::resp::parse_i64(a).filter(|v| i32::try_from(*v).is_ok());
    let Some(a) = db_index(&args[1]) else { return ctx.error("ERR invalid first DB index") };
    let Some(b) = db_index(&args[2]) else { return ctx.error("ERR invalid second DB index") };
    let n = ctx.srv.keyspace.dbs.len() as i64;
    if a < 0 || a >= n || b < 0 || b >= n {
        return ctx.error("ERR DB index is out of range");
    }
    let (a, b) = (a as usize, b as usize);
    crate::command::transactions::touch_all_watched_keys_in_db(ctx.srv, a, Some(b));
    crate::command::transactions::touch_all_watched_keys_in_db(ctx.srv, b, Some(a));
    ctx.srv.keyspace.dbs.swap(a, b);
    // Clients blocked on keys of either db may find data there now (Redis's
    // `scanDatabaseForReadyKeys`).
    let waiting: Vec<(usize, Bytes)> =
        ctx.srv.blocked.by_key.keys().filter(|(d, _)| *d == a || *d == b).cloned().collect();
    for (d, key) in waiting {
        if ctx.srv.keyspace.dbs[d].entries.contains_key(&key[..]) {
            ctx.srv.signal_key_ready(d, &key);
        }
    }
    ctx.srv.persist.dirty += 1;
    ctx.ok();
}

fn reset(ctx: &mut Ctx, _args: &mut [Bytes]) {
    ctx.client.multi = None;
    ctx.client.multi_failed = false;
    super::transactions::unwatch_all(ctx.srv, ctx.client);
    super::pubsub::unsubscribe_all(ctx.srv, ctx.client);
    ctx.client.db = 0;
    ctx.client.reply.proto = Protocol::Resp2;
    ctx.client.name = None;
    ctx.client.reply_mode = ReplyMode::On;
    ctx.client.no_evict = false;
    if ctx.srv.config.requirepass().is_some() {
        ctx.client.authenticated = false;
    }
    ctx.reply().simple("RESET");
}

/// Client names are printable ASCII without spaces (`clientSetName`).
fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

fn client_help(ctx: &mut Ctx) {
    let lines = [
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CACHING (YES|NO)",
        "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
        "GETREDIR",
        "    Return the client ID we are redirecting to when tracking is enabled.",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "    * ID <client-id>",
        "      Kill connections by client id.",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
        "         [OPTIN] [OPTOUT] [NOLOOP]",
        "    Control server assisted client side caching.",
        "TRACKINGINFO",
        "    Report tracking status for the current connection.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "HELP",
        "    Prints this help.",
    ];
    super::reply_help(ctx, &lines);
}

fn client_type_matches(c: &crate::node::Client, t: &[u8]) -> Option<bool> {
    use crate::node::ClientRole;
    if eq_ic(t, "normal") {
        Some(!c.in_pubsub() && c.role == ClientRole::Normal)
    } else if eq_ic(t, "pubsub") {
        Some(c.in_pubsub())
    } else if eq_ic(t, "master") {
        Some(c.role == ClientRole::Master)
    } else if eq_ic(t, "replica") || eq_ic(t, "slave") {
        Some(c.role == ClientRole::Replica)
    } else {
        None
    }
}

fn client(ctx: &mut Ctx, args: &mut [Bytes]) {
    let sub = &args[1];
    let now = ctx.now;
    let unknown = |ctx: &mut Ctx| {
        ctx.error(&format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
            String::from_utf8_lossy(sub)
        ))
    };
    if eq_ic(sub, "ID") && args.len() == 2 {
        let id = ctx.client.id as i64;
        ctx.reply().int(id);
    } else if eq_ic(sub, "HELP") && args.len() == 2 {
        client_help(ctx);
    } else if eq_ic(sub, "SETNAME") && args.len() == 3 {
        if !valid_client_name(&args[2]) {
            return ctx.error("ERR Client names cannot contain spaces, newlines or special characters.");
        }
        ctx.client.name = if args[2].is_empty() { None } else { Some(args[2].clone()) };
        ctx.ok();
    } else if eq_ic(sub, "GETNAME") && args.len() == 2 {
        match ctx.client.name.clone() {
            Some(n) => ctx.reply().bulk(&n),
            None => ctx.reply().null(),
        }
    } else if eq_ic(sub, "INFO") && args.len() == 2 {
        let line = ctx.client.info_line(now, ctx.srv.unsent_of(ctx.client.conn)) + "\n";
        ctx.reply().verbatim(&line);
    } else if eq_ic(sub, "LIST") {
        let mut type_filter = None;
        let mut ids: Option<Vec<u64>> = None;
        let mut i = 2;
        while i < args.len() {
            if eq_ic(&args[i], "TYPE") && i + 1 < args.len() {
                if client_type_matches(ctx.client, &args[i + 1]).is_none() {
                    return ctx.error(&format!("ERR Unknown client type '{}'", String::from_utf8_lossy(&args[i + 1])));
                }
                type_filter = Some(args[i + 1].clone());
                i += 2;
            } else if eq_ic(&args[i], "ID") && i + 1 < args.len() {
                let mut v = Vec::new();
                for a in &args[i + 1..] {
                    match crate::resp::parse_i64(a) {
                        Some(id) if id > 0 => v.push(id as u64),
                        _ => return ctx.error("ERR Invalid client ID"),
                    }
                }
                ids = Some(v);
                i = args.len();
            } else {
                return ctx.error(SYNTAX_ERR);
            }
        }
        let mut lines: Vec<(u64, String)> = ctx
            .srv
            .clients
            .values()
            .chain(std::iter::once(&*ctx.client))
            .filter(|c| !c.closed)
            .filter(|c| type_filter.as_ref().is_none_or(|t| client_type_matches(c, t) == Some(true)))
            .filter(|c| ids.as_ref().is_none_or(|ids| ids.contains(&c.id)))
            .map(|c| (c.id, c.info_line(now, ctx.srv.unsent_of(c.conn))))
            .collect();
        lines.sort_by_key(|(id, _)| *id);
        let text: String = lines.into_iter().map(|(_, l)| l + "\n").collect();
        ctx.reply().verbatim(&text);
    } else if eq_ic(sub, "KILL") && args.len() >= 3 {
        client_kill(ctx, args);
    } else if eq_ic(sub, "PAUSE") && (args.len() == 3 || args.len() == 4) {
        let Some(ms) = crate::resp::parse_i64(&args[2]) else {
            return ctx.error("ERR timeout is not an integer or out of range");
        };
        if ms < 0 {
            return ctx.error("ERR timeout is negative");
        }
        let writes_only = if args.len() == 4 {
            if eq_ic(&args[3], "WRITE") {
                true
            } else if eq_ic(&args[3], "ALL") {
                false
            } else {
                return ctx.error("ERR CLIENT PAUSE mode must be WRITE or ALL");
            }
        } else {
            false
        };
        let until = now.saturating_add(ms as u64);
        ctx.srv.pause_clients(PausePurpose::ClientCommand, until, writes_only);
        ctx.ok();
    } else if eq_ic(sub, "UNPAUSE") && args.len() == 2 {
        ctx.srv.unpause_clients(PausePurpose::ClientCommand);
        ctx.ok();
    } else if eq_ic(sub, "REPLY") && args.len() == 3 {
        if eq_ic(&args[2], "ON") {
            ctx.client.reply_mode = ReplyMode::On;
            ctx.ok();
        } else if eq_ic(&args[2], "OFF") {
            ctx.client.reply_mode = ReplyMode::Off;
        } else if eq_ic(&args[2], "SKIP") {
            ctx.client.reply_mode = ReplyMode::SkipNext;
        } else {
            ctx.error(SYNTAX_ERR);
        }
    } else if eq_ic(sub, "NO-EVICT") && args.len() == 3 {
        if eq_ic(&args[2], "ON") {
            ctx.client.no_evict = true;
        } else if eq_ic(&args[2], "OFF") {
            ctx.client.no_evict = false;
        } else {
            return ctx.error(SYNTAX_ERR);
        }
        ctx.ok();
    } else if eq_ic(sub, "UNBLOCK") && (args.len() == 3 || args.len() == 4) {
        let Some(id) = arg_i64(ctx, &args[2]) else { return };
        let with_error = args.len() == 4 && eq_ic(&args[3], "ERROR");
        if args.len() == 4 && !with_error && !eq_ic(&args[3], "TIMEOUT") {
            return ctx.error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
        }
        let target = ctx.srv.clients.values().find(|c| c.id == id as u64 && c.blocked.is_some()).map(|c| c.conn);
        match target {
            Some(conn) => {
                let mut c = ctx.srv.clients.remove(&conn).unwrap();
                super::unblock_client(ctx.srv, &mut c);
                if with_error {
                    super::fail_blocked_client(ctx.srv, &mut c, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
                } else {
                    c.reply.null_array();
                }
                ctx.srv.clients.insert(conn, c);
                ctx.srv.obuf.pending_flush.push(conn);
                ctx.reply().int(1);
            }
            None => ctx.reply().int(0),
        }
    } else {
        unknown(ctx);
    }
}

/// `CLIENT KILL ip:port` (old form, +OK or error) or `CLIENT KILL <filter> <value> …`
/// (new form, number killed).
fn client_kill(ctx: &mut Ctx, args: &mut [Bytes]) {
    let old_form = args.len() == 3;
    let mut addr = None;
    let mut laddr = None;
    let mut id = None;
    let mut ctype = None;
    let mut user = None;
    let mut skipme = true;
    if old_form {
        addr = Some(args[2].clone());
        skipme = false;
    } else {
        if !args.len().is_multiple_of(2) {
            return ctx.error(SYNTAX_ERR);
        }
        for pair in args[2..].chunks(2) {
            let (k, v) = (&pair[0], &pair[1]);
            if eq_ic(k, "ID") {
                match crate::resp::parse_i64(v) {
                    Some(n) if n > 0 => id = Some(n as u64),
                    _ => return ctx.error("ERR client-id should be greater than 0"),
                }
            } else if eq_ic(k, "TYPE") {
                if client_type_matches(ctx.client, v).is_none() {
                    return ctx.error(&format!("ERR Unknown client type '{}'", String::from_utf8_lossy(v)));
                }
                ctype = Some(v.clone());
            } else if eq_ic(k, "ADDR") {
                addr = Some(v.clone());
            } else if eq_ic(k, "LADDR") {
                laddr = Some(v.clone());
            } else if eq_ic(k, "USER") {
                // Only the default user exists (no ACL users in the lab).
                if &v[..] != b"default" {
                    return ctx.error(&format!("ERR No such user '{}'", String::from_utf8_lossy(v)));
                }
                user = Some(v.clone());
            } else if eq_ic(k, "SKIPME") {
                if eq_ic(v, "YES") {
                    skipme = true;
                } else if eq_ic(v, "NO") {
                    skipme = false;
                } else {
                    return ctx.error(SYNTAX_ERR);
                }
            } else {
                return ctx.error(SYNTAX_ERR);
            }
        }
    }
    let matches = |c: &crate::node::Client| {
        addr.as_ref().is_none_or(|a| a[..] == *c.addr.as_bytes())
            && laddr.as_ref().is_none_or(|a| a[..] == *c.laddr.as_bytes())
            && id.is_none_or(|i| i == c.id)
            && ctype.as_ref().is_none_or(|t| client_type_matches(c, t) == Some(true))
            && user.as_ref().is_none_or(|u| u[..] == *c.user.as_bytes())
    };
    let victims: Vec<u64> = ctx.srv.clients.values().filter(|c| matches(c)).map(|c| c.conn).collect();
    let mut killed = victims.len();
    for conn in victims {
        ctx.srv.outputs.push_back(crate::node::Output::Close { conn });
        if ctx.srv.is_master_conn(conn) {
            // Killing our master's client is losing the link: the replication code caches
            // the master (with the db its stream selected) and reconnects.
            ctx.srv.master_conn_closed();
        } else if let Some(mut c) = ctx.srv.clients.remove(&conn) {
            super::release_client_state(ctx.srv, &mut c);
        }
    }
    if !skipme && matches(ctx.client) {
        ctx.client.close_after_reply = true;
        killed += 1;
    }
    if old_form {
        if killed == 0 {
            ctx.error("ERR No such client");
        } else {
            ctx.ok();
        }
    } else {
        ctx.reply().int(killed as i64);
    }
}
