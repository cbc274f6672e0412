//! Hash commands: a key holding field → value pairs (`HSET user:1 name lisuo age 30`).
//!
//! Fields keep insertion order, as Redis's small (listpack-encoded) hashes do, so `HGETALL`
//! answers in the order fields were added. In RESP3 `HGETALL` is a map (`%`), in RESP2 a
//! flat array of field, value, field, value…
//!
//! A hash is a listpack until it holds more than `hash-max-listpack-entries` fields or gets a
//! field or value longer than `hash-max-listpack-value`; then a hashtable for good (see
//! [`crate::keyspace::Hash`]). `HSCAN` of a listpack returns everything in one call, cursor 0,
//! as Redis's `scanGenericCommand` does for the compact encodings.

use super::keys::{parse_scan_args, parse_scan_cursor, reply_scan};
use super::pubsub::class;
use super::{arg_i64, random_count, random_picks, read_as, write_as, Ctx, Handler, Replied, OVERFLOW};
use crate::keyspace::{Hash, Value};
use crate::long_double::{incr_by_float_text, is_infinite_text, IncrFloatError, LongDouble};
use crate::pattern::glob_match;
use crate::resp::parse_i64;
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("hset", hset),
    ("hmset", hmset),
    ("hsetnx", hsetnx),
    ("hget", hget),
    ("hmget", hmget),
    ("hgetall", hgetall),
    ("hdel", hdel),
    ("hlen", hlen),
    ("hstrlen", hstrlen),
    ("hexists", hexists),
    ("hkeys", hkeys),
    ("hvals", hvals),
    ("hincrby", hincrby),
    ("hincrbyfloat", hincrbyfloat),
    ("hrandfield", hrandfield),
    ("hscan", hscan),
];

fn read_hash<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c Hash>, Replied> {
    read_as(ctx, key, |v| match v {
        Value::Hash(h) => Some(&**h),
        _ => None,
    })
}

/// A second look at a hash the handler already looked up (no statistics counted twice).
fn peek_hash<'c>(ctx: &'c Ctx, key: &[u8]) -> Option<&'c Hash> {
    match ctx.peek(key) {
        Some(Value::Hash(h)) => Some(h),
        _ => None,
    }
}

/// The hash at `key`, created empty when missing (if `create`).
fn write_hash<'c>(ctx: &'c mut Ctx, key: &Bytes, create: bool) -> Result<Option<&'c mut Hash>, Replied> {
    let make: Option<fn() -> Value> = if create { Some(|| Value::Hash(Box::new(Hash::new()))) } else { None };
    write_as(ctx, key, make, |v| match v {
        Value::Hash(h) => Some(&mut **h),
        _ => None,
    })
}

fn hset_pairs(ctx: &mut Ctx, args: &mut [Bytes], cmd: &str) -> Option<i64> {
    if !args.len().is_multiple_of(2) {
        ctx.error(&format!("ERR wrong number of arguments for '{}' command", cmd));
        return None;
    }
    let (head, pairs) = args.split_at_mut(2);
    let key = &head[1];
    let limits = ctx.limits();
    let h = write_hash(ctx, key, true).ok()??;
    let mut added = 0;
    for pair in pairs.chunks_mut(2) {
        if h.insert(std::mem::take(&mut pair[0]), std::mem::take(&mut pair[1]), &limits).is_none() {
            added += 1;
        }
    }
    ctx.modified(key);
    ctx.notify(class::HASH, "hset", key);
    Some(added)
}

fn hset(ctx: &mut Ctx, args: &mut [Bytes]) {
    if let Some(n) = hset_pairs(ctx, args, "hset") {
        ctx.reply().int(n);
    }
}

fn hmset(ctx: &mut Ctx, args: &mut [Bytes]) {
    if hset_pairs(ctx, args, "hmset").is_some() {
        ctx.ok();
    }
}

fn hsetnx(ctx: &mut Ctx, args: &mut [Bytes]) {
    let key = &args[1];
    let limits = ctx.limits();
    let Ok(Some(h)) = write_hash(ctx, key, true) else { return };
    if h.contains_key(&args[2][..]) {
        return ctx.reply().int(0);
    }
    h.insert(args[2].clone(), args[3].clone(), &limits);
    ctx.modified(key);
    ctx.notify(class::HASH, "hset", key);
    ctx.reply().int(1);
}

fn hget(ctx: &mut Ctx, args: &mut [Bytes]) {
    match ctx.read_and_reply(&args[1]) {
        (None, r) => r.null(),
        (Some(Value::Hash(h)), r) => match h.get(&args[2][..]) {
            Some(v) => r.bulk(v),
            None => r.null(),
        },
        (Some(_), r) => r.error(super::WRONGTYPE),
    }
}

fn hmget(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Ok(h) = read_hash(ctx, &args[1]) else { return };
    let vals: Vec<Option<Bytes>> = args[2..].iter().map(|f| h.and_then(|h| h.get(&f[..])).cloned()).collect();
    ctx.reply().array(vals.len());
    for v in vals {
        match v {
            Some(v) => ctx.reply().bulk(&v),
            None => ctx.reply().null(),
        }
    }
}

fn hgetall(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Ok(h) = read_hash(ctx, &args[1]) else { return };
    let pairs: Vec<(Bytes, Bytes)> =
        h.map(|h| h.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default();
    ctx.reply().map(pairs.len());
    for (k, v) in pairs {
        ctx.reply().bulk(&k);
        ctx.reply().bulk(&v);
    }
}

fn hdel(ctx: &mut Ctx, args: &mut [Bytes]) {
    let key = &args[1];
    let Ok(h) = write_hash(ctx, key, false) else { return };
    let Some(h) = h else { return ctx.reply().int(0) };
    let n = args[2..].iter().filter(|f| h.remove(&f[..]).is_some()).count();
    if n > 0 {
        let removed = ctx.db().remove_if_empty(key);
        ctx.modified(key);
        ctx.notify(class::HASH, "hdel", key);
        if removed {
            ctx.notify(class::GENERIC, "del", key);
        }
    }
    ctx.reply().int(n as i64);
}

fn hlen(ctx: &mut Ctx, args: &mut [Bytes]) {
    if let Ok(h) = read_hash(ctx, &args[1]) {
        let n = h.map(|h| h.len()).unwrap_or(0);
        ctx.reply().int(n as i64);
    }
}

fn hstrlen(ctx: &mut Ctx, args: &mut [Bytes]) {
    if let Ok(h) = read_hash(ctx, &args[1]) {
        let n = h.and_then(|h| h.get(&args[2][..])).map(|v| v.len()).unwrap_or(0);
        ctx.reply().int(n as i64);
    }
}

fn hexists(ctx: &mut Ctx, args: &mut [Bytes]) {
    if let Ok(h) = read_hash(ctx, &args[1]) {
        let e = h.is_some_and(|h| h.contains_key(&args[2][..]));
        ctx.reply().int(e as i64);
    }
}

fn hkeys(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Ok(h) = read_hash(ctx, &args[1]) else { return };
    let keys: Vec<Bytes> = h.map(|h| h.keys().cloned().collect()).unwrap_or_default();
    ctx.reply().array(keys.len());
    for k in keys {
        ctx.reply().bulk(&k);
    }
}

fn hvals(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Ok(h) = read_hash(ctx, &args[1]) else { return };
    let vals: Vec<Bytes> = h.map(|h| h.values().cloned().collect()).unwrap_or_default();
    ctx.reply().array(vals.len());
    for v in vals {
        ctx.reply().bulk(&v);
    }
}

fn hincrby(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Some(delta) = arg_i64(ctx, &args[3]) else { return };
    let key = &args[1];
    let limits = ctx.limits();
    let Ok(Some(h)) = write_hash(ctx, key, true) else { return };
    let current = match h.get(&args[2][..]) {
        None => 0,
        Some(v) => match parse_i64(v) {
            Some(n) => n,
            None => {
                ctx.db().remove_if_empty(key);
                return ctx.error("ERR hash value is not an integer");
            }
        },
    };
    let Some(next) = current.checked_add(delta) else {
        ctx.db().remove_if_empty(key);
        return ctx.error(OVERFLOW);
    };
    h.insert(args[2].clone(), crate::resp::int_bytes(next), &limits);
    ctx.modified(key);
    ctx.notify(class::HASH, "hincrby", key);
    ctx.reply().int(next);
}

/// HINCRBYFLOAT computes in x87 `long double`, as Redis does (see [`crate::long_double`]).
fn hincrbyfloat(ctx: &mut Ctx, args: &mut [Bytes]) {
    if is_infinite_text(&args[3]) {
        return ctx.error("ERR value is NaN or Infinity");
    }
    if LongDouble::parse(&args[3]).is_none() {
        return ctx.error(super::NOT_FLOAT);
    }
    let key = &args[1];
    let Ok(Some(h)) = write_hash(ctx, key, true) else { return };
    let current = h.get(&args[2][..]).cloned().unwrap_or_else(|| Bytes::from_static(b"0"));
    let text = match incr_by_float_text(&current, &args[3]) {
        Ok(t) => Bytes::copy_from_slice(t.as_bytes()),
        Err(e) => {
            ctx.db().remove_if_empty(key);
            return ctx.error(match e {
                IncrFloatError::NotAFloat => "ERR hash value is not a float",
                IncrFloatError::NotFinite => "ERR increment would produce NaN or Infinity",
            });
        }
    };
    let limits = ctx.limits();
    let Ok(Some(h)) = write_hash(ctx, key, true) else { return };
    h.insert(args[2].clone(), text.clone(), &limits);
    ctx.modified(key);
    ctx.notify(class::HASH, "hincrbyfloat", key);
    ctx.reply().bulk(&text);
}

/// `HRANDFIELD key [count [WITHVALUES]]`: the count is checked before the syntax, and both
/// before the key (`hrandfieldCommand`).
fn hrandfield(ctx: &mut Ctx, args: &mut [Bytes]) {
    let with_values = args.len() == 4 && super::eq_ic(&args[3], "WITHVALUES");
    let count = if args.len() >= 3 {
        let Some(c) = random_count(ctx, &args[2], false) else { return };
        if args.len() > 4 || (args.len() == 4 && !with_values) {
            return ctx.error(super::SYNTAX_ERR);
        }
        if with_values && random_count(ctx, &args[2], true).is_none() {
            return;
        }
        Some(c)
    } else {
        None
    };
    let Ok(h) = read_hash(ctx, &args[1]) else { return };
    let rep = super::draws_with_repetition(count);
    let (len, bytes) =
        h.map(|h| (h.len(), if rep { h.iter().map(|(f, v)| f.len() + v.len()).sum() } else { 0 })).unwrap_or((0, 0));
    let Ok(picks) = random_picks(ctx, len, bytes, count) else { return };
    // Bytes handles are reference counted: copying the picked pairs out copies no data.
    let pairs: Vec<(Bytes, Bytes)> = match peek_hash(ctx, &args[1]) {
        Some(h) => picks
            .iter()
            .map(|&i| {
                let (f, v) = h.get_index(i).unwrap();
                (f.clone(), v.clone())
            })
            .collect(),
        _ => Vec::new(),
    };
    let r = ctx.reply();
    match count {
        None => match pairs.first() {
            Some((f, _)) => r.bulk(f),
            None => r.null(),
        },
        Some(_) if with_values && r.is_resp3() => {
            r.array(pairs.len());
            for (f, v) in &pairs {
                r.array(2);
                r.bulk(f);
                r.bulk(v);
            }
        }
        Some(_) => {
            r.array(pairs.len() * if with_values { 2 } else { 1 });
            for (f, v) in &pairs {
                r.bulk(f);
                if with_values {
                    r.bulk(v);
                }
            }
        }
    }
}

fn hscan(ctx: &mut Ctx, args: &mut [Bytes]) {
    if parse_scan_cursor(ctx, &args[2]).is_none() {
        return;
    }
    match read_hash(ctx, &args[1]) {
        Err(Replied) => return,
        Ok(None) => return reply_scan(ctx, 0, &[]),
        Ok(Some(_)) => {}
    }
    let Some(sa) = parse_scan_args(ctx, &args[2], &args[3..], false) else { return };
    let h = peek_hash(ctx, &args[1]);
    let mut items = Vec::new();
    let mut next = 0;
    if let Some(h) = h {
        // A listpack is scanned whole in one call (`scanGenericCommand`).
        let (mut i, budget) = if h.is_listpack() { (0, usize::MAX) } else { (sa.cursor, sa.count) };
        let mut visited = 0;
        while i < h.len() && visited < budget {
            let (k, v) = h.get_index(i).unwrap();
            if sa.pattern.as_ref().is_none_or(|p| glob_match(p, k, false)) {
                items.push(k.clone());
                items.push(v.clone());
            }
            i += 1;
            visited += 1;
        }
        next = if i >= h.len() { 0 } else { i };
    }
    reply_scan(ctx, next, &items);
}
