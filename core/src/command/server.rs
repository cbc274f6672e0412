//! Server commands: `INFO CONFIG COMMAND ROLE TIME LASTSAVE SAVE BGSAVE SHUTDOWN DEBUG DBSIZE
//! FLUSHDB FLUSHALL MEMORY`.
//!
//! `INFO` is in [`super::info`].

use super::{eq_ic, Ctx, Handler, SYNTAX_ERR};
use crate::log::LogLevel;
use crate::node::Output;
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("info", super::info::info),
    ("config", config),
    ("command", command),
    ("time", time),
    ("lastsave", lastsave),
    ("save", save),
    ("bgsave", bgsave),
    ("shutdown", shutdown),
    ("dbsize", dbsize),
    ("flushdb", flushdb),
    ("flushall", flushall),
    ("memory", memory),
];

fn config(ctx: &mut Ctx, args: &mut [Bytes]) {
    let sub = &args[1];
    if eq_ic(sub, "GET") && args.len() >= 3 {
        let patterns: Vec<&[u8]> = args[2..].iter().map(|a| &a[..]).collect();
        let pairs = ctx.srv.config.get(&patterns);
        ctx.reply().map(pairs.len());
        for (k, v) in pairs {
            ctx.reply().bulk_str(&k);
            ctx.reply().bulk_str(&v);
        }
    } else if eq_ic(sub, "SET") && args.len() >= 4 && args.len().is_multiple_of(2) {
        let pairs: Vec<(&[u8], &[u8])> = args[2..].chunks(2).map(|p| (&p[0][..], &p[1][..])).collect();
        let protected_ok = super::protected_action_allowed(ctx, "enable-protected-configs");
        let (old_bind, old_port) = (ctx.srv.config.get_str("bind"), ctx.srv.config.port());
        match ctx.srv.config.set_as(&pairs, protected_ok) {
            Ok(changed) => {
                apply_config_changes(ctx, &changed);
                // New listeners are the driver's to open; the reply waits for them.
                let listen = changed.iter().find(|n| matches!(**n, "port" | "bind")).copied();
                match listen {
                    Some(which) => {
                        ctx.srv.listen_pending = Some((old_bind, old_port, which));
                        let (bind, port) = (ctx.srv.config.get_str("bind"), ctx.srv.config.port());
                        ctx.srv.outputs.push_back(Output::Listen { conn: ctx.client.conn, bind, port });
                        ctx.client.awaiting_io = true;
                    }
                    None => ctx.ok(),
                }
            }
            Err(e) => ctx.error(&e),
        }
    } else if eq_ic(sub, "RESETSTAT") && args.len() == 2 {
        ctx.srv.stats = Default::default();
        ctx.ok();
    } else if eq_ic(sub, "REWRITE") && args.len() == 2 {
        if ctx.srv.process.config_file.is_none() {
            return ctx.error("ERR The server is running without a config file");
        }
        if ctx.client.in_exec {
            // Inside EXEC the reply must take its place in EXEC's array now (Sentinel sends
            // CONFIG REWRITE in the MULTI of its SLAVEOF): the file is written after, and how
            // that went is logged.
            ctx.srv.outputs.push_back(Output::RewriteConfig { conn: None });
            return ctx.ok();
        }
        let conn = ctx.client.conn;
        ctx.srv.outputs.push_back(Output::RewriteConfig { conn: Some(conn) });
        ctx.client.awaiting_io = true;
    } else if eq_ic(sub, "HELP") && args.len() == 2 {
        let lines = [
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
            "HELP",
            "    Prints this help.",
        ];
        super::reply_help(ctx, &lines);
    } else if eq_ic(sub, "GET") || eq_ic(sub, "SET") {
        ctx.error(&format!(
            "ERR wrong number of arguments for 'config|{}' command",
            String::from_utf8_lossy(sub).to_ascii_lowercase()
        ));
    } else {
        ctx.error(&format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try CONFIG HELP.",
            String::from_utf8_lossy(sub)
        ));
    }
}

/// React to configuration changes that affect running state.
fn apply_config_changes(ctx: &mut Ctx, changed: &[&'static str]) {
    for name in changed {
        match *name {
            "loglevel" => {
                if let Some(l) = LogLevel::from_config(&ctx.srv.config.get_str("loglevel")) {
                    ctx.srv.log_level = l;
                }
            }
            "requirepass" => {
                // Redis keeps existing connections authenticated.
            }
            "maxmemory-policy" | "lfu-log-factor" | "lfu-decay-time" => {
                ctx.srv.access_policy = crate::keyspace::access::AccessPolicy::from_config(&ctx.srv.config);
                ctx.srv.eviction_pool.clear();
            }
            "maxmemory" => {
                // `updateMaxmemory`: evict at once down to the new limit.
                let max = ctx.srv.config.int("maxmemory").max(0) as u64;
                if max > 0 {
                    let used = ctx.srv.used_memory();
                    if max < used {
                        ctx.srv.log(LogLevel::Warning, format!("WARNING: the new maxmemory value set via CONFIG SET ({max}) is smaller than the current memory usage ({used}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy."));
                    }
                    ctx.srv.perform_evictions();
                }
            }
            "repl-backlog-size" => {
                let size = ctx.srv.config.int("repl-backlog-size").max(16 * 1024) as usize;
                if let Some(b) = ctx.srv.repl.backlog.as_mut() {
                    b.resize(size);
                }
            }
            _ => {}
        }
    }
}

fn command(ctx: &mut Ctx, args: &mut [Bytes]) {
    if args.len() == 1 {
        let cmds = super::implemented_for(&ctx.srv.config);
        ctx.reply().array(cmds.len());
        for c in cmds {
            c.meta.reply_info(&mut ctx.client.reply);
        }
        return;
    }
    let sub = &args[1];
    if eq_ic(sub, "COUNT") && args.len() == 2 {
        let n = super::implemented_for(&ctx.srv.config).len();
        ctx.reply().int(n as i64);
    } else if eq_ic(sub, "INFO") {
        let names: Vec<Bytes> = if args.len() == 2 {
            super::implemented_for(&ctx.srv.config).iter().map(|c| Bytes::from_static(c.meta.name.as_bytes())).collect()
        } else {
            args[2..].to_vec()
        };
        ctx.reply().array(names.len());
        for n in names {
            match lookup_with_sub(&n) {
                Some(m) => m.reply_info(&mut ctx.client.reply),
                None => ctx.reply().null(),
            }
        }
    } else if eq_ic(sub, "DOCS") {
        let metas: Vec<&'static super::meta::CommandMeta> = if args.len() == 2 {
            super::implemented_for(&ctx.srv.config).iter().map(|c| c.meta).collect()
        } else {
            args[2..].iter().filter_map(|n| lookup_with_sub(n)).collect()
        };
        ctx.reply().map(metas.len());
        for m in metas {
            ctx.reply().bulk_str(m.name);
            m.reply_docs(&mut ctx.client.reply);
        }
    } else if eq_ic(sub, "GETKEYS") && args.len() >= 3 {
        let cmd_args = &args[2..];
        let Some(cmd) = super::lookup(&cmd_args[0]) else {
            return ctx.error("ERR Invalid command specified");
        };
        if !cmd.meta.arity_ok(cmd_args.len()) {
            return ctx.error("ERR Invalid number of arguments specified for command");
        }
        let Some(positions) = cmd.meta.key_positions_strict(cmd_args) else {
            return ctx.error("ERR Invalid arguments specified for command");
        };
        if positions.is_empty() {
            return ctx.error("ERR The command has no key arguments");
        }
        ctx.reply().array(positions.len());
        for p in positions {
            ctx.reply().bulk(&cmd_args[p]);
        }
    } else if eq_ic(sub, "LIST") {
        // Every command and, after it, its subcommands (`container|sub`); FILTERBY keeps those
        // of an ACL category or matching a pattern (`commandListWithFilter`); no modules here.
        let keep: Box<dyn Fn(&super::meta::CommandMeta) -> bool> = match args.len() {
            2 => Box::new(|_| true),
            5 if eq_ic(&args[2], "FILTERBY") => {
                let value = args[4].clone();
                if eq_ic(&args[3], "ACLCAT") {
                    let cat = format!("@{}", String::from_utf8_lossy(&value));
                    Box::new(move |m| m.acl_categories.iter().any(|c| c.eq_ignore_ascii_case(&cat)))
                } else if eq_ic(&args[3], "PATTERN") {
                    Box::new(move |m| crate::pattern::glob_match(&value, m.name.as_bytes(), true))
                } else if eq_ic(&args[3], "MODULE") {
                    Box::new(|_| false)
                } else {
                    return ctx.error(super::SYNTAX_ERR);
                }
            }
            _ => return ctx.error(super::SYNTAX_ERR),
        };
        let mut names: Vec<&'static str> = Vec::new();
        for c in super::implemented_for(&ctx.srv.config) {
            if keep(c.meta) {
                names.push(c.meta.name);
            }
            names.extend(c.meta.subcommands.iter().filter(|s| keep(s)).map(|s| s.name));
        }
        ctx.reply().array(names.len());
        for n in names {
            ctx.reply().bulk_str(n);
        }
    } else if eq_ic(sub, "HELP") && args.len() == 2 {
        let lines = [
            "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
            "HELP",
            "    Prints this help.",
        ];
        super::reply_help(ctx, &lines);
    } else {
        ctx.error(&format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try COMMAND HELP.",
            String::from_utf8_lossy(sub)
        ));
    }
}

/// `get` or `config|get`, only among implemented commands.
fn lookup_with_sub(name: &[u8]) -> Option<&'static super::meta::CommandMeta> {
    let s = String::from_utf8_lossy(name).to_ascii_lowercase();
    match s.split_once('|') {
        Some((parent, sub)) => super::lookup(parent.as_bytes())?.meta.subcommand(sub.as_bytes()),
        None => super::lookup(s.as_bytes()).map(|c| c.meta),
    }
}

fn time(ctx: &mut Ctx, _args: &mut [Bytes]) {
    let now = ctx.now;
    let r = ctx.reply();
    r.array(2);
    r.bulk_str(&(now / 1000).to_string());
    r.bulk_str(&((now % 1000) * 1000).to_string());
}

fn lastsave(ctx: &mut Ctx, _args: &mut [Bytes]) {
    let t = ctx.srv.persist.last_save_ms / 1000;
    ctx.reply().int(t as i64);
}

fn save(ctx: &mut Ctx, _args: &mut [Bytes]) {
    if ctx.srv.persist.bgsave_job.is_some() {
        return ctx.error("ERR Background save already in progress");
    }
    let conn = ctx.client.conn;
    ctx.srv.start_foreground_save(conn);
    ctx.client.awaiting_io = true;
}

fn bgsave(ctx: &mut Ctx, args: &mut [Bytes]) {
    let schedule = args.len() == 2 && eq_ic(&args[1], "SCHEDULE");
    if args.len() > 2 || (args.len() == 2 && !schedule) {
        return ctx.error(SYNTAX_ERR);
    }
    if ctx.srv.persist.bgsave_job.is_some() {
        if schedule {
            ctx.srv.persist.bgsave_scheduled = true;
            return ctx.reply().simple("Background saving scheduled");
        }
        return ctx.error("ERR Background save already in progress");
    }
    ctx.srv.start_bgsave();
    ctx.reply().simple("Background saving started");
}

/// `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]`
/// `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]` (the sequence is in [`crate::node::shutdown`]).
fn shutdown(ctx: &mut Ctx, args: &mut [Bytes]) {
    let mut flags = crate::node::shutdown::ShutdownFlags::default();
    let mut abort = false;
    for a in &args[1..] {
        if eq_ic(a, "NOSAVE") {
            flags.nosave = true;
        } else if eq_ic(a, "SAVE") {
            flags.save = true;
        } else if eq_ic(a, "NOW") {
            flags.now = true;
        } else if eq_ic(a, "FORCE") {
            flags.force = true;
        } else if eq_ic(a, "ABORT") {
            abort = true;
        } else {
            return ctx.error(SYNTAX_ERR);
        }
    }
    if (abort && flags != Default::default()) || (flags.save && flags.nosave) {
        return ctx.error(SYNTAX_ERR);
    }
    if abort {
        return if ctx.srv.abort_shutdown() { ctx.ok() } else { ctx.error("ERR No shutdown in progress.") };
    }
    if !flags.now && ctx.client.in_exec {
        return ctx.error("ERR SHUTDOWN without NOW or ABORT isn't allowed for DENY BLOCKING client");
    }
    let conn = ctx.client.conn;
    ctx.srv.prepare_for_shutdown(flags, Some(conn));
    ctx.client.awaiting_io = true;
}

fn dbsize(ctx: &mut Ctx, _args: &mut [Bytes]) {
    let n = ctx.db().len();
    ctx.reply().int(n as i64);
}

fn flush_mode_ok(ctx: &mut Ctx, args: &mut [Bytes]) -> bool {
    if args.len() > 2 || (args.len() == 2 && !eq_ic(&args[1], "ASYNC") && !eq_ic(&args[1], "SYNC")) {
        ctx.error(SYNTAX_ERR);
        return false;
    }
    true
}

fn flushdb(ctx: &mut Ctx, args: &mut [Bytes]) {
    if !flush_mode_ok(ctx, args) {
        return;
    }
    let db = ctx.client.db;
    let n = ctx.srv.keyspace.dbs[db].len() as u64;
    ctx.srv.all_keys_modified(Some(db));
    ctx.srv.keyspace.dbs[db].clear();
    ctx.srv.persist.dirty += n;
    // Propagated even when the db was already empty.
    ctx.srv.call.force_propagation = true;
    ctx.ok();
}

fn flushall(ctx: &mut Ctx, args: &mut [Bytes]) {
    if !flush_mode_ok(ctx, args) {
        return;
    }
    ctx.srv.flush_all_and_reset_rdb();
    // Propagated even when every db was already empty.
    ctx.srv.call.force_propagation = true;
    ctx.ok();
}

fn memory(ctx: &mut Ctx, args: &mut [Bytes]) {
    let sub = &args[1];
    if eq_ic(sub, "USAGE") && args.len() >= 3 {
        let key = args[2].clone();
        match ctx.lookup_read(&key) {
            Some(v) => {
                let n = v.approx_size() + key.len() + 40;
                ctx.reply().int(n as i64)
            }
            None => ctx.reply().null(),
        }
    } else if eq_ic(sub, "DOCTOR") && args.len() == 2 {
        ctx.reply().verbatim(
            "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.",
        );
    } else {
        ctx.error(&format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try MEMORY HELP.",
            String::from_utf8_lossy(sub)
        ));
    }
}
