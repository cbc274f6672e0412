//! Set commands: unordered collections of unique strings, with the algebra (`SINTER`,
//! `SUNION`, `SDIFF` and their `*STORE` forms). A missing key is an empty set; a key of
//! another type is a `WRONGTYPE` error even inside a union.
//!
//! A set whose members are all 64-bit integers is an *intset* in Redis — a sorted array —
//! until it holds more than `set-max-intset-entries` members or gets one that is not an
//! integer; then a hashtable for good (see [`crate::keyspace::SetValue`]). An intset replies
//! in ascending numeric order, and the algebra builds its results by adding members one by
//! one to a new intset, so a result of integers is an intset again (`sinterGenericCommand`).

use super::keys::{parse_scan_args, parse_scan_cursor, reply_scan};
use super::pubsub::class;
use super::{random_count, random_picks, read_as, write_as, Ctx, Handler, Replied};
use crate::keyspace::{EncodingLimits, SetValue, Value};
use crate::pattern::glob_match;
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("sadd", sadd),
    ("srem", srem),
    ("smembers", smembers),
    ("sismember", sismember),
    ("smismember", smismember),
    ("scard", scard),
    ("sinter", sinter),
    ("sunion", sunion),
    ("sdiff", sdiff),
    ("sinterstore", sinterstore),
    ("sunionstore", sunionstore),
    ("sdiffstore", sdiffstore),
    ("sintercard", sintercard),
    ("spop", spop),
    ("srandmember", srandmember),
    ("smove", smove),
    ("sscan", sscan),
];

fn with_set<R>(ctx: &mut Ctx, key: &[u8], f: impl FnOnce(&SetValue) -> R) -> Result<Option<R>, Replied> {
    let set = read_as(ctx, key, |v| match v {
        Value::Set(s) => Some(&**s),
        _ => None,
    })?;
    Ok(set.map(f))
}

/// A second look at a set the handler already looked up (no statistics counted twice).
fn peek_set<R>(ctx: &Ctx, key: &[u8], f: impl FnOnce(&SetValue) -> R) -> Option<R> {
    match ctx.peek(key) {
        Some(Value::Set(s)) => Some(f(s)),
        _ => None,
    }
}

fn write_set<'c>(ctx: &'c mut Ctx, key: &Bytes) -> Result<Option<&'c mut SetValue>, Replied> {
    write_as(ctx, key, None, |v| match v {
        Value::Set(s) => Some(&mut **s),
        _ => None,
    })
}

/// `SADD key member [member ...]`: a new set is an intset when the first member is an integer.
fn sadd(ctx: &mut Ctx, args: &mut [Bytes]) {
    let (head, members) = args.split_at_mut(2);
    let key = &head[1];
    let limits = ctx.limits();
    let s = match write_set(ctx, key) {
        Err(Replied) => return,
        Ok(Some(s)) => s,
        Ok(None) => {
            ctx.db().set_keep_ttl(key.clone(), Value::Set(Box::new(SetValue::for_member(&members[0]))));
            let Ok(Some(s)) = write_set(ctx, key) else { return };
            s
        }
    };
    let mut added = 0;
    for m in members {
        added += s.insert(std::mem::take(m), &limits) as usize;
    }
    if added > 0 {
        ctx.modified(key);
        ctx.notify(class::SET, "sadd", key);
    }
    ctx.reply().int(added as i64);
}

fn srem(ctx: &mut Ctx, args: &mut [Bytes]) {
    let key = &args[1];
    let Ok(s) = write_set(ctx, key) else { return };
    let Some(s) = s else { return ctx.reply().int(0) };
    let removed = args[2..].iter().filter(|m| s.remove(m)).count();
    if removed > 0 {
        let deleted = ctx.db().remove_if_empty(key);
        ctx.modified(key);
        ctx.notify(class::SET, "srem", key);
        if deleted {
            ctx.notify(class::GENERIC, "del", key);
        }
    }
    ctx.reply().int(removed as i64);
}

/// Reply a set's members in the order Redis replies them (see [`SetValue::ordered_members`]).
fn reply_set(ctx: &mut Ctx, s: &SetValue) {
    let members = s.ordered_members();
    let r = &mut ctx.client.reply;
    r.set(members.len());
    for m in members {
        r.bulk(m);
    }
}

fn smembers(ctx: &mut Ctx, args: &mut [Bytes]) {
    if read_as(ctx, &args[1], |v| match v {
        Value::Set(s) => Some(&**s),
        _ => None,
    })
    .is_err()
    {
        return;
    }
    // Split borrows: the set lives in the keyspace, the reply in the client.
    match ctx.srv.keyspace.dbs[ctx.client.db].entries.get(&args[1][..]) {
        Some(Value::Set(s)) => {
            let members = s.ordered_members();
            ctx.client.reply.set(members.len());
            for m in members {
                ctx.client.reply.bulk(m);
            }
        }
        _ => ctx.client.reply.set(0),
    }
}

fn sismember(ctx: &mut Ctx, args: &mut [Bytes]) {
    if let Ok(r) = with_set(ctx, &args[1], |s| s.contains(&args[2][..])) {
        ctx.reply().int(r.unwrap_or(false) as i64);
    }
}

fn smismember(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Ok(r) = with_set(ctx, &args[1], |s| args[2..].iter().map(|m| s.contains(&m[..])).collect::<Vec<_>>()) else {
        return;
    };
    let r = r.unwrap_or_else(|| vec![false; args.len() - 2]);
    ctx.reply().array(r.len());
    for b in r {
        ctx.reply().int(b as i64);
    }
}

fn scard(ctx: &mut Ctx, args: &mut [Bytes]) {
    if let Ok(n) = with_set(ctx, &args[1], |s| s.len()) {
        ctx.reply().int(n.unwrap_or(0) as i64);
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// Compute an operation over the sets at `keys`; `Err` after a WRONGTYPE reply. The inputs
/// are all type-checked first, as Redis looks every key up before computing. The result is
/// built by adding to a new intset, converting as Redis's `setTypeAdd` would; `limit` stops
/// an intersection early (SINTERCARD).
fn compute(ctx: &mut Ctx, keys: &[Bytes], op: Op, limit: usize) -> Result<SetValue, Replied> {
    for k in keys {
        with_set(ctx, k, |_| ())?;
    }
    let limits = ctx.limits();
    let db = &ctx.srv.keyspace.dbs[ctx.client.db];
    let sets: Vec<Option<&SetValue>> = keys
        .iter()
        .map(|k| match db.entries.get(&k[..]) {
            Some(Value::Set(s)) => Some(&**s),
            _ => None,
        })
        .collect();
    let mut result = SetValue::new_intset();
    match op {
        Op::Inter => {
            if sets.iter().all(|s| s.is_some()) {
                let mut sets: Vec<&SetValue> = sets.into_iter().flatten().collect();
                sets.sort_by_key(|s| s.len());
                let (first, rest) = sets.split_first().unwrap();
                for m in first.ordered_members() {
                    if rest.iter().all(|s| s.contains(m)) {
                        result.insert(m.clone(), &limits);
                        if limit > 0 && result.len() >= limit {
                            break;
                        }
                    }
                }
            }
        }
        Op::Union => {
            for s in sets.into_iter().flatten() {
                for m in s.iter() {
                    result.insert(m.clone(), &limits);
                }
            }
        }
        Op::Diff => {
            if let Some(first) = sets[0] {
                let others: Vec<&SetValue> = sets[1..].iter().flatten().copied().collect();
                for m in first.iter() {
                    if others.iter().all(|s| !s.contains(m)) {
                        result.insert(m.clone(), &limits);
                    }
                }
            }
        }
    }
    Ok(result)
}

fn algebra(ctx: &mut Ctx, args: &[Bytes], op: Op) {
    if let Ok(r) = compute(ctx, &args[1..], op, 0) {
        reply_set(ctx, &r);
    }
}

fn algebra_store(ctx: &mut Ctx, args: &[Bytes], op: Op) {
    let Ok(r) = compute(ctx, &args[2..], op, 0) else { return };
    let dst = &args[1];
    let n = r.len();
    let db = ctx.db();
    if n == 0 {
        if db.remove(dst).is_some() {
            ctx.modified(dst);
            ctx.notify(class::GENERIC, "del", dst);
        }
    } else {
        db.set(dst.clone(), Value::Set(Box::new(r)));
        ctx.modified(dst);
        let event = match op {
            Op::Inter => "sinterstore",
            Op::Union => "sunionstore",
            Op::Diff => "sdiffstore",
        };
        ctx.notify(class::SET, event, dst);
    }
    ctx.reply().int(n as i64);
}

fn sinter(ctx: &mut Ctx, args: &mut [Bytes]) {
    algebra(ctx, args, Op::Inter);
}
fn sunion(ctx: &mut Ctx, args: &mut [Bytes]) {
    algebra(ctx, args, Op::Union);
}
fn sdiff(ctx: &mut Ctx, args: &mut [Bytes]) {
    algebra(ctx, args, Op::Diff);
}
fn sinterstore(ctx: &mut Ctx, args: &mut [Bytes]) {
    algebra_store(ctx, args, Op::Inter);
}
fn sunionstore(ctx: &mut Ctx, args: &mut [Bytes]) {
    algebra_store(ctx, args, Op::Union);
}
fn sdiffstore(ctx: &mut Ctx, args: &mut [Bytes]) {
    algebra_store(ctx, args, Op::Diff);
}

/// `SINTERCARD numkeys key [key ...] [LIMIT limit]` (`sinterCardCommand`): numkeys must be
/// an integer of at least 1 — anything else is `numkeys should be greater than 0`.
fn sintercard(ctx: &mut Ctx, args: &mut [Bytes]) {
    let n = match crate::resp::parse_i64(&args[1]) {
        Some(n) if n > 0 => n as usize,
        _ => return ctx.error("ERR numkeys should be greater than 0"),
    };
    if n > args.len() - 2 {
        return ctx.error("ERR Number of keys can't be greater than number of args");
    }
    let mut limit = 0usize;
    let mut i = 2 + n;
    while i < args.len() {
        if super::eq_ic(&args[i], "LIMIT") && i + 1 < args.len() {
            match crate::resp::parse_i64(&args[i + 1]) {
                Some(l) if l >= 0 => limit = l as usize,
                _ => return ctx.error("ERR LIMIT can't be negative"),
            }
            i += 2;
        } else {
            return ctx.error(super::SYNTAX_ERR);
        }
    }
    let Ok(r) = compute(ctx, &args[2..2 + n], Op::Inter, limit) else { return };
    ctx.reply().int(r.len() as i64);
}

/// `SPOP key [count]`: the count is checked before the key (`spopWithCountCommand`).
fn spop(ctx: &mut Ctx, args: &mut [Bytes]) {
    if args.len() > 3 {
        return ctx.error(super::SYNTAX_ERR);
    }
    let Ok(count) = super::optional_count(ctx, args.get(2)) else { return };
    let key = &args[1];
    let Ok(len) = write_set(ctx, key).map(|s| s.map(|s| s.len())) else { return };
    let Some(len) = len else {
        return if count.is_some() { ctx.reply().set(0) } else { ctx.reply().null() };
    };
    let Ok(picks) = random_picks(ctx, len, 0, Some(count.unwrap_or(1) as i64)) else { return };
    let Ok(Some(s)) = write_set(ctx, key) else { return };
    let mut picks = picks;
    picks.sort_unstable_by(|a, b| b.cmp(a));
    let intset = s.is_intset();
    let popped: Vec<Bytes> = picks.into_iter().filter_map(|i| s.remove_index(i)).collect();
    let deleted = ctx.db().remove_if_empty(key);
    if !popped.is_empty() {
        ctx.modified(key);
        ctx.notify(class::SET, "spop", key);
        if deleted {
            ctx.notify(class::GENERIC, "del", key);
        }
    }
    match count {
        None => ctx.reply().bulk(&popped[0]),
        Some(_) => {
            // The popped members, replied as the set they came from would reply them.
            let limits = EncodingLimits { set_max_intset_entries: usize::MAX, ..EncodingLimits::default() };
            let mut out = if intset { SetValue::new_intset() } else { SetValue::new_table() };
            for m in popped {
                out.insert(m, &limits);
            }
            reply_set(ctx, &out);
        }
    }
}

/// `SRANDMEMBER key [count]`: the count is checked before the key.
fn srandmember(ctx: &mut Ctx, args: &mut [Bytes]) {
    let count = if args.len() == 3 {
        let Some(c) = random_count(ctx, &args[2], false) else { return };
        Some(c)
    } else if args.len() > 3 {
        return ctx.error(super::SYNTAX_ERR);
    } else {
        None
    };
    let rep = super::draws_with_repetition(count);
    let Ok(info) = with_set(ctx, &args[1], |s| (s.len(), if rep { s.iter().map(|m| m.len()).sum() } else { 0 })) else {
        return;
    };
    let (len, bytes) = info.unwrap_or((0, 0));
    let Ok(picks) = random_picks(ctx, len, bytes, count) else { return };
    let chosen: Vec<Bytes> =
        peek_set(ctx, &args[1], |s| picks.iter().map(|&i| s[i].clone()).collect()).unwrap_or_default();
    match count {
        None => match chosen.first() {
            Some(m) => ctx.reply().bulk(m),
            None => ctx.reply().null(),
        },
        Some(_) => {
            ctx.reply().array(chosen.len());
            for m in &chosen {
                ctx.reply().bulk(m);
            }
        }
    }
}

/// `SMOVE source destination member` (`smoveCommand`): a missing source answers 0 before
/// any type check; then both keys must be sets.
fn smove(ctx: &mut Ctx, args: &mut [Bytes]) {
    let (src, dst, member) = (&args[1], &args[2], &args[3]);
    let src_exists = ctx.lookup_write(src).is_some();
    let dst_exists = ctx.lookup_write(dst).is_some();
    if !src_exists {
        return ctx.reply().int(0);
    }
    let Ok(has) = write_set(ctx, src).map(|s| s.map(|s| s.contains(&member[..]))) else { return };
    if dst_exists && write_set(ctx, dst).is_err() {
        return;
    }
    if src == dst {
        return ctx.reply().int(has.unwrap_or(false) as i64);
    }
    if has != Some(true) {
        return ctx.reply().int(0);
    }
    if let Ok(Some(s)) = write_set(ctx, src) {
        s.remove(&member[..]);
    }
    ctx.notify(class::SET, "srem", src);
    if ctx.db().remove_if_empty(src) {
        ctx.notify(class::GENERIC, "del", src);
    }
    ctx.modified(src);
    if !dst_exists {
        ctx.db().set_keep_ttl(dst.clone(), Value::Set(Box::new(SetValue::for_member(member))));
    }
    let limits = ctx.limits();
    if let Ok(Some(d)) = write_set(ctx, dst) {
        if d.insert(member.clone(), &limits) {
            ctx.modified(dst);
            ctx.notify(class::SET, "sadd", dst);
        }
    }
    ctx.reply().int(1);
}

fn sscan(ctx: &mut Ctx, args: &mut [Bytes]) {
    if parse_scan_cursor(ctx, &args[2]).is_none() {
        return;
    }
    match with_set(ctx, &args[1], |_| ()) {
        Err(Replied) => return,
        Ok(None) => return reply_scan(ctx, 0, &[]),
        Ok(Some(_)) => {}
    }
    let Some(sa) = parse_scan_args(ctx, &args[2], &args[3..], false) else { return };
    let r = peek_set(ctx, &args[1], |s| {
        let mut items = Vec::new();
        if s.is_intset() {
            // An intset is scanned whole in one call (`scanGenericCommand`).
            for m in s.ordered_members() {
                if sa.pattern.as_ref().is_none_or(|p| glob_match(p, m, false)) {
                    items.push(m.clone());
                }
            }
            return (0, items);
        }
        let mut i = sa.cursor;
        let mut visited = 0;
        while i < s.len() && visited < sa.count {
            let m = &s[i];
            if sa.pattern.as_ref().is_none_or(|p| glob_match(p, m, false)) {
                items.push(m.clone());
            }
            i += 1;
            visited += 1;
        }
        (if i >= s.len() { 0 } else { i }, items)
    });
    let (next, items) = r.unwrap_or((0, Vec::new()));
    reply_scan(ctx, next, &items);
}
