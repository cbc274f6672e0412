//! Keyspace commands: existence, type, renaming, iteration, expiry, DUMP/RESTORE.
//!
//! Expiry is stored as an absolute deadline in ms, whatever form the command used:
//! `EXPIRE k 10` at virtual time T stores `T + 10000`. `TTL` answers `-2` for a missing key
//! and `-1` for a key without a deadline. A deadline in the past deletes the key at once.
//!
//! `SCAN` walks the insertion-ordered table by position; the cursor is the next position.
//! As in Redis, a key present from the start to the end of a full iteration is returned at
//! least once while no key is deleted during it.

use super::pubsub::class;
use super::{arg_i32, arg_i64, eq_ic, Ctx, Handler, LOOKUP_NONOTIFY, LOOKUP_NOTOUCH, NO_SUCH_KEY, SYNTAX_ERR};
use crate::keyspace::Value;
use crate::pattern::glob_match;
use crate::rdb;
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("del", del),
    ("unlink", del),
    ("exists", exists),
    ("type", type_),
    ("rename", rename),
    ("renamenx", renamenx),
    ("randomkey", randomkey),
    ("touch", touch),
    ("object", object),
    ("dump", dump),
    ("restore", restore),
    ("keys", keys),
    ("scan", scan),
    ("expire", expire),
    ("pexpire", pexpire),
    ("expireat", expireat),
    ("pexpireat", pexpireat),
    ("ttl", ttl),
    ("pttl", pttl),
    ("expiretime", expiretime),
    ("pexpiretime", pexpiretime),
    ("persist", persist),
    ("copy", copy),
    ("move", move_),
];

fn del(ctx: &mut Ctx, args: &mut [Bytes]) {
    let mut n = 0;
    for key in &args[1..] {
        ctx.expire_if_needed(key);
        if ctx.db().remove(key).is_some() {
            ctx.modified(key);
            ctx.notify(class::GENERIC, "del", key);
            n += 1;
        }
    }
    ctx.reply().int(n);
}

/// EXISTS counts the keys without touching them (`LOOKUP_NOTOUCH`); TOUCH is the same count
/// with an ordinary lookup, which records the access.
fn count_existing(ctx: &mut Ctx, args: &[Bytes], flags: u8) {
    let mut n = 0;
    for key in &args[1..] {
        if ctx.lookup_read_with(key, flags).is_some() {
            n += 1;
        }
    }
    ctx.reply().int(n);
}

fn exists(ctx: &mut Ctx, args: &mut [Bytes]) {
    count_existing(ctx, args, LOOKUP_NOTOUCH);
}

fn touch(ctx: &mut Ctx, args: &mut [Bytes]) {
    count_existing(ctx, args, 0);
}

fn type_(ctx: &mut Ctx, args: &mut [Bytes]) {
    let t = ctx.lookup_read_with(&args[1], LOOKUP_NOTOUCH).map(|v| v.type_name()).unwrap_or("none");
    ctx.reply().simple(t);
}

fn rename_generic(ctx: &mut Ctx, args: &[Bytes], nx: bool) {
    let (src, dst) = (&args[1], &args[2]);
    if !ctx.exists(src) {
        return ctx.error(NO_SUCH_KEY);
    }
    if src == dst {
        return if nx { ctx.reply().int(0) } else { ctx.ok() };
    }
    if nx && ctx.exists(dst) {
        return ctx.reply().int(0);
    }
    let db = ctx.db();
    let expire = db.expire_at(src);
    let value = db.remove(src).expect("checked above");
    // An old destination is deleted first, so the key is added anew (`dbAdd`: a `new` event).
    db.remove(dst);
    db.set(dst.clone(), value);
    if let Some(at) = expire {
        db.set_expire(dst, at);
    }
    ctx.modified(src);
    ctx.modified(dst);
    let db = ctx.client.db;
    ctx.srv.signal_key_ready(db, dst);
    ctx.notify(class::GENERIC, "rename_from", src);
    ctx.notify(class::GENERIC, "rename_to", dst);
    if nx {
        ctx.reply().int(1)
    } else {
        ctx.ok()
    }
}

fn rename(ctx: &mut Ctx, args: &mut [Bytes]) {
    rename_generic(ctx, args, false);
}

fn renamenx(ctx: &mut Ctx, args: &mut [Bytes]) {
    rename_generic(ctx, args, true);
}

fn randomkey(ctx: &mut Ctx, _args: &mut [Bytes]) {
    let now = ctx.now;
    // Like Redis, retry when the drawn key turns out to be expired.
    for _ in 0..100 {
        let len = ctx.db().len();
        if len == 0 {
            break;
        }
        let i = ctx.srv.rng.below(len);
        let key = ctx.db().entries.get_index(i).map(|(k, _)| k.clone()).unwrap();
        // An expired draw is expired as any lookup expires it (`expireIfNeeded`: a DEL for
        // the replicas and an `expired` event; a replica keeps it), then Redis draws again.
        if ctx.db().expire_at(&key).is_some_and(|at| at <= now) {
            ctx.expire_if_needed(&key);
            continue;
        }
        return ctx.reply().bulk(&key);
    }
    ctx.reply().null();
}

fn object(ctx: &mut Ctx, args: &mut [Bytes]) {
    let sub = &args[1];
    if eq_ic(sub, "HELP") {
        let lines = [
            "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
            "HELP",
            "    Prints this help.",
        ];
        super::reply_help(ctx, &lines);
        return;
    }
    if args.len() != 3 {
        return ctx.error(&format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try OBJECT HELP.",
            String::from_utf8_lossy(sub)
        ));
    }
    let policy = ctx.srv.config.get_str("maxmemory-policy");
    let unshared = ctx.srv.config.int("maxmemory") != 0 && (policy.ends_with("-lru") || policy.ends_with("-lfu"));
    let Some(v) = ctx.lookup_read_with(&args[2], LOOKUP_NOTOUCH | LOOKUP_NONOTIFY) else { return ctx.reply().null() };
    let enc = v.encoding();
    // Redis shares the int-encoded objects of 0..9999 (`OBJ_SHARED_INTEGERS`), except under a
    // maxmemory with an LRU or LFU policy, where each key needs its own access field
    // (`MAXMEMORY_FLAG_NO_SHARED_INTEGERS`). Redis decides when it stores the value; the lab
    // decides when asked.
    let is_shared_int = !unshared
        && matches!(v, Value::Str(s) if enc == "int"
        && crate::resp::parse_i64(s).is_some_and(|n| (0..10000).contains(&n)));
    let db = ctx.client.db;
    let clock = crate::keyspace::access::AccessClock { policy: ctx.srv.access_policy, now_ms: ctx.now };
    let field = ctx.srv.keyspace.dbs[db].access_of(&args[2]).unwrap_or_else(|| clock.fresh());
    if eq_ic(sub, "ENCODING") {
        ctx.reply().bulk_str(enc);
    } else if eq_ic(sub, "REFCOUNT") {
        ctx.reply().int(if is_shared_int { i32::MAX as i64 } else { 1 });
    } else if eq_ic(sub, "IDLETIME") {
        if clock.policy.lfu {
            return ctx.error("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
        }
        ctx.reply().int((clock.idle_ms(field) / 1000) as i64);
    } else if eq_ic(sub, "FREQ") {
        if !clock.policy.lfu {
            return ctx.error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
        }
        ctx.reply().int(clock.lfu_count(field) as i64);
    } else {
        ctx.error(&format!("ERR unknown subcommand '{}'. Try OBJECT HELP.", String::from_utf8_lossy(sub)));
    }
}

fn dump(ctx: &mut Ctx, args: &mut [Bytes]) {
    match ctx.lookup_read(&args[1]) {
        None => ctx.reply().null(),
        Some(v) => {
            let payload = rdb::dump_payload(v);
            ctx.reply().bulk(&payload);
        }
    }
}

/// `RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]`
fn restore(ctx: &mut Ctx, args: &mut [Bytes]) {
    let key = &args[1];
    let mut replace = false;
    let mut absttl = false;
    let (mut idle, mut freq) = (false, false);
    let (mut idle_s, mut freq_n) = (None, None);
    let mut i = 4;
    while i < args.len() {
        let a = &args[i];
        if eq_ic(a, "REPLACE") {
            replace = true;
        } else if eq_ic(a, "ABSTTL") {
            absttl = true;
        } else if eq_ic(a, "IDLETIME") && i + 1 < args.len() && !freq {
            let Some(v) = arg_i64(ctx, &args[i + 1]) else { return };
            if v < 0 {
                return ctx.error("ERR Invalid IDLETIME value, must be >= 0");
            }
            idle = true;
            idle_s = Some(v as u64);
            i += 1;
        } else if eq_ic(a, "FREQ") && i + 1 < args.len() && !idle {
            // IDLETIME and FREQ exclude each other: the second is a syntax error.
            let Some(v) = arg_i64(ctx, &args[i + 1]) else { return };
            if !(0..=255).contains(&v) {
                return ctx.error("ERR Invalid FREQ value, must be >= 0 and <= 255");
            }
            freq = true;
            freq_n = Some(v as u8);
            i += 1;
        } else {
            return ctx.error(SYNTAX_ERR);
        }
        i += 1;
    }
    // `restoreCommand`'s order: options, then an existing key, then the TTL, then the payload.
    if !replace && ctx.exists(key) {
        return ctx.error("BUSYKEY Target key name already exists.");
    }
    let Some(ttl) = arg_i64(ctx, &args[2]) else { return };
    if ttl < 0 {
        return ctx.error("ERR Invalid TTL value, must be >= 0");
    }
    let now = ctx.now;
    let limits = ctx.limits();
    let value = match rdb::restore_payload(&args[3], &limits, ctx.srv.debug.skip_checksum_validation) {
        Ok(v) => v,
        Err(e) => {
            if let rdb::RestoreError::Body(detail) = &e {
                // As `rdbReportError` does in a RESTORE: logged at verbose, not fatal.
                ctx.srv.log(
                    crate::log::LogLevel::Verbose,
                    format!("Internal error in RDB reading offset 0, function at rdb.c:0 -> {}", detail.0),
                );
            }
            return ctx.error(&format!("ERR {}", e.reply()));
        }
    };
    let deadline = match (ttl, absttl) {
        (0, _) => None,
        (t, true) => Some(t as u64),
        (t, false) => Some(now + t as u64),
    };
    if deadline.is_some_and(|d| d <= now) {
        // Already expired: Redis deletes any old value and reports success.
        if ctx.db().remove(key).is_some() {
            ctx.modified(key);
            ctx.notify(class::GENERIC, "del", key);
        }
        return ctx.ok();
    }
    let db = ctx.db();
    // REPLACE deletes the old value first: the key is added anew (`new`).
    db.remove(key);
    db.set(key.clone(), value);
    if let Some(d) = deadline {
        db.set_expire(key, d);
    }
    // `objectSetLRUOrLFU`: FREQ counts under LFU only, IDLETIME under any other policy.
    let clock = db.clock;
    match (clock.policy.lfu, freq_n, idle_s) {
        (true, Some(f), _) => db.set_access(key, clock.with_freq(f)),
        (false, _, Some(s)) => db.set_access(key, clock.with_idle_s(s)),
        _ => {}
    }
    ctx.modified(key);
    let db = ctx.client.db;
    ctx.srv.signal_key_ready(db, key);
    ctx.notify(class::GENERIC, "restore", key);
    ctx.ok();
}

fn keys(ctx: &mut Ctx, args: &mut [Bytes]) {
    let pattern = &args[1];
    let now = ctx.now;
    let all = pattern.as_ref() == b"*";
    let db = ctx.db();
    let found: Vec<Bytes> = db
        .entries
        .keys()
        .filter(|k| all || glob_match(pattern, k, false))
        .filter(|k| db.expires.get(&k[..]).is_none_or(|&at| at > now))
        .map(|k| k.to_bytes())
        .collect();
    ctx.reply().array(found.len());
    for k in found {
        ctx.reply().bulk(&k);
    }
}

/// Shared by SCAN, SSCAN, HSCAN and ZSCAN: parse `cursor [MATCH p] [COUNT n] [TYPE t]`.
pub struct ScanArgs {
    pub cursor: usize,
    pub pattern: Option<Bytes>,
    pub count: usize,
    pub type_filter: Option<Bytes>,
}

pub fn parse_scan_args(ctx: &mut Ctx, cursor: &[u8], opts: &[Bytes], allow_type: bool) -> Option<ScanArgs> {
    let cursor = parse_scan_cursor(ctx, cursor)?;
    let mut out = ScanArgs { cursor, pattern: None, count: 10, type_filter: None };
    let mut i = 0;
    while i < opts.len() {
        let more = i + 1 < opts.len();
        if eq_ic(&opts[i], "COUNT") && more {
            let n = arg_i64(ctx, &opts[i + 1])?;
            if n < 1 {
                ctx.error(SYNTAX_ERR);
                return None;
            }
            out.count = n as usize;
        } else if eq_ic(&opts[i], "MATCH") && more {
            // `MATCH *` is no pattern at all (`use_pattern` in `scanGenericCommand`): it
            // matches even the empty string, which the glob itself does not.
            out.pattern = Some(opts[i + 1].clone()).filter(|p| p.as_ref() != b"*");
        } else if allow_type && eq_ic(&opts[i], "TYPE") && more {
            out.type_filter = Some(opts[i + 1].clone());
        } else {
            ctx.error(SYNTAX_ERR);
            return None;
        }
        i += 2;
    }
    Some(out)
}

/// A SCAN cursor (`parseScanCursorOrReply`). SSCAN, HSCAN and ZSCAN parse it before looking
/// the key up, and their options after: a missing key answers an empty scan whatever they say.
pub fn parse_scan_cursor(ctx: &mut Ctx, cursor: &[u8]) -> Option<usize> {
    match strtoul_whole(cursor) {
        Some(c) => Some(c as usize),
        None => {
            ctx.error("ERR invalid cursor");
            None
        }
    }
}

/// A cursor as `parseScanCursorOrReply` reads it: `strtoul` over the whole text, no leading
/// space, no overflow. strtoul takes a sign and negates in unsigned arithmetic (`-1` is
/// 2^64-1), and reads the empty text as 0.
fn strtoul_whole(text: &[u8]) -> Option<u64> {
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() {
        // Nothing read: strtoul leaves the end at the start, which is the end only when the
        // text is empty.
        return text.is_empty().then_some(0);
    }
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(if negative { magnitude.wrapping_neg() } else { magnitude })
}

/// Write a scan reply: `[next-cursor, [items...]]`.
pub fn reply_scan(ctx: &mut Ctx, next: usize, items: &[Bytes]) {
    ctx.reply().array(2);
    ctx.reply().bulk_str(&next.to_string());
    ctx.reply().array(items.len());
    for it in items {
        ctx.reply().bulk(it);
    }
}

fn scan(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Some(sa) = parse_scan_args(ctx, &args[1], &args[2..], true) else { return };
    let now = ctx.now;
    let db = ctx.db();
    let len = db.entries.len();
    let mut i = sa.cursor;
    let mut found = Vec::new();
    let mut expired = Vec::new();
    let mut visited = 0;
    while i < len && visited < sa.count {
        let (k, v) = db.entries.get_index(i).unwrap();
        visited += 1;
        i += 1;
        if db.expires.get(&k[..]).is_some_and(|&at| at <= now) {
            expired.push(k.to_bytes());
            continue;
        }
        if let Some(p) = &sa.pattern {
            if !glob_match(p, k, false) {
                continue;
            }
        }
        if let Some(t) = &sa.type_filter {
            if !t.eq_ignore_ascii_case(v.type_name().as_bytes()) {
                continue;
            }
        }
        found.push(k.to_bytes());
    }
    // The expired keys met are expired as a lookup would (`scanGenericCommand` calls
    // `expireIfNeeded` on each): a DEL each for replicas, not wrapped in MULTI. After the
    // walk, so the positions walked stay those of the cursor.
    for key in &expired {
        ctx.expire_if_needed(key);
    }
    let next = if i >= len { 0 } else { i };
    reply_scan(ctx, next, &found);
}

/// EXPIRE family: `key amount [NX|XX|GT|LT]`; `unit` is ms per unit; `absolute` for *AT.
fn expire_generic(ctx: &mut Ctx, args: &[Bytes], unit: i64, absolute: bool, cmd: &str) {
    let key = &args[1];
    // `expireGenericCommand` parses the flags before the time.
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in &args[3..] {
        if eq_ic(opt, "NX") {
            nx = true;
        } else if eq_ic(opt, "XX") {
            xx = true;
        } else if eq_ic(opt, "GT") {
            gt = true;
        } else if eq_ic(opt, "LT") {
            lt = true;
        } else {
            return ctx.error(&format!("ERR Unsupported option {}", String::from_utf8_lossy(opt)));
        }
    }
    if nx && (xx || gt || lt) {
        return ctx.error("ERR NX and XX, GT or LT options at the same time are not compatible");
    }
    if gt && lt {
        return ctx.error("ERR GT and LT options at the same time are not compatible");
    }
    let Some(amount) = arg_i64(ctx, &args[2]) else { return };
    let invalid = || format!("ERR invalid expire time in '{}' command", cmd);
    let Some(mut when) = amount.checked_mul(unit) else { return ctx.error(&invalid()) };
    if !absolute {
        match when.checked_add(ctx.now as i64) {
            Some(w) => when = w,
            None => return ctx.error(&invalid()),
        }
    }
    let now = ctx.now;
    if !ctx.exists(key) {
        return ctx.reply().int(0);
    }
    let current = ctx.db().expire_at(key);
    let ok = if nx {
        current.is_none()
    } else if xx {
        current.is_some()
            && (!gt || current.is_some_and(|c| when > c as i64))
            && (!lt || current.is_some_and(|c| when < c as i64))
    } else if gt {
        current.is_some_and(|c| when > c as i64)
    } else if lt {
        current.is_none_or(|c| when < c as i64)
    } else {
        true
    };
    if !ok {
        return ctx.reply().int(0);
    }
    ctx.modified(key);
    if when <= now as i64 {
        ctx.db().remove(key);
        ctx.notify(class::GENERIC, "del", key);
    } else {
        ctx.db().set_expire(key, when as u64);
        ctx.notify(class::GENERIC, "expire", key);
    }
    ctx.reply().int(1);
}

fn expire(ctx: &mut Ctx, args: &mut [Bytes]) {
    expire_generic(ctx, args, 1000, false, "expire");
}
fn pexpire(ctx: &mut Ctx, args: &mut [Bytes]) {
    expire_generic(ctx, args, 1, false, "pexpire");
}
fn expireat(ctx: &mut Ctx, args: &mut [Bytes]) {
    expire_generic(ctx, args, 1000, true, "expireat");
}
fn pexpireat(ctx: &mut Ctx, args: &mut [Bytes]) {
    expire_generic(ctx, args, 1, true, "pexpireat");
}

/// TTL/PTTL/EXPIRETIME/PEXPIRETIME: -2 missing, -1 no deadline.
fn ttl_generic(ctx: &mut Ctx, key: &[u8], ms: bool, absolute: bool) {
    if ctx.lookup_read_with(key, LOOKUP_NOTOUCH).is_none() {
        return ctx.reply().int(-2);
    }
    let now = ctx.now;
    let v = match ctx.db().expire_at(key) {
        None => -1,
        Some(at) => {
            let x = if absolute { at as i64 } else { at.saturating_sub(now) as i64 };
            if ms {
                x
            } else if absolute {
                x / 1000
            } else {
                (x + 500) / 1000
            }
        }
    };
    ctx.reply().int(v);
}

fn ttl(ctx: &mut Ctx, args: &mut [Bytes]) {
    ttl_generic(ctx, &args[1], false, false);
}
fn pttl(ctx: &mut Ctx, args: &mut [Bytes]) {
    ttl_generic(ctx, &args[1], true, false);
}
fn expiretime(ctx: &mut Ctx, args: &mut [Bytes]) {
    ttl_generic(ctx, &args[1], false, true);
}
fn pexpiretime(ctx: &mut Ctx, args: &mut [Bytes]) {
    ttl_generic(ctx, &args[1], true, true);
}

fn persist(ctx: &mut Ctx, args: &mut [Bytes]) {
    let key = &args[1];
    if ctx.lookup_write(key).is_none() {
        return ctx.reply().int(0);
    }
    if ctx.db().persist(key) {
        ctx.modified(key);
        ctx.notify(class::GENERIC, "persist", key);
        ctx.reply().int(1);
    } else {
        ctx.reply().int(0);
    }
}

/// `COPY source destination [DB n] [REPLACE]`
fn copy(ctx: &mut Ctx, args: &mut [Bytes]) {
    let mut target_db = ctx.client.db;
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        if eq_ic(&args[i], "REPLACE") {
            replace = true;
        } else if eq_ic(&args[i], "DB") && i + 1 < args.len() {
            let Some(d) = arg_i32(ctx, &args[i + 1]) else { return };
            if d < 0 || d as usize >= ctx.srv.keyspace.dbs.len() {
                return ctx.error("ERR DB index is out of range");
            }
            target_db = d as usize;
            i += 1;
        } else {
            return ctx.error(SYNTAX_ERR);
        }
        i += 1;
    }
    let (src, dst) = (&args[1], &args[2]);
    if src == dst && target_db == ctx.client.db {
        return ctx.error("ERR source and destination objects are the same");
    }
    let now = ctx.now;
    let Some(value) = ctx.lookup_read(src).cloned() else { return ctx.reply().int(0) };
    let expire = ctx.db().expire_at(src);
    let tdb = &mut ctx.srv.keyspace.dbs[target_db];
    if tdb.contains(dst, now) && !replace {
        return ctx.reply().int(0);
    }
    // REPLACE deletes the old value first: the key is added anew (`new`).
    tdb.remove(dst);
    tdb.set(dst.clone(), value);
    if let Some(at) = expire {
        tdb.set_expire(dst, at);
    }
    ctx.srv.key_modified(target_db, dst);
    ctx.srv.signal_key_ready(target_db, dst);
    ctx.notify_in(target_db, class::GENERIC, "copy_to", dst);
    ctx.reply().int(1);
}

/// `MOVE key db`
fn move_(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Some(d) = arg_i32(ctx, &args[2]) else { return };
    if d < 0 || d as usize >= ctx.srv.keyspace.dbs.len() {
        return ctx.error("ERR DB index is out of range");
    }
    let target = d as usize;
    if target == ctx.client.db {
        return ctx.error("ERR source and destination objects are the same");
    }
    let key = &args[1];
    let now = ctx.now;
    if ctx.lookup_write(key).is_none() || ctx.srv.keyspace.dbs[target].contains(key, now) {
        return ctx.reply().int(0);
    }
    let expire = ctx.db().expire_at(key);
    let value = ctx.db().remove(key).unwrap();
    let tdb = &mut ctx.srv.keyspace.dbs[target];
    tdb.set(key.clone(), value);
    if let Some(at) = expire {
        tdb.set_expire(key, at);
    }
    ctx.modified(key);
    ctx.srv.key_modified(target, key);
    ctx.srv.signal_key_ready(target, key);
    ctx.notify(class::GENERIC, "move_from", key);
    ctx.notify_in(target, class::GENERIC, "move_to", key);
    ctx.reply().int(1);
}
