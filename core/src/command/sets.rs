//! Set commands: unordered collections of unique strings, with the algebra (`SINTER`,
//! `SUNION`, `SDIFF` and their `*STORE` forms). A missing key is an empty set; a key of
//! another type is a `WRONGTYPE` error even inside a union.

use super::hashes::random_picks;
use super::keys::{parse_scan_args, reply_scan};
use super::{arg_i64, read_as, write_as, Ctx, Handler, Replied};
use crate::keyspace::{Set, Value};
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

/// Set algebra builds new sets anyway, so reads hand out a copy.
fn read_set(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Set<Bytes>>, Replied> {
    with_set(ctx, key, Set::clone)
}

fn with_set<R>(ctx: &mut Ctx, key: &[u8], f: impl FnOnce(&Set<Bytes>) -> R) -> Result<Option<R>, Replied> {
    let set = read_as(ctx, key, |v| match v {
        Value::Set(s) => Some(&**s),
        _ => None,
    })?;
    Ok(set.map(f))
}

fn write_set<'c>(ctx: &'c mut Ctx, key: &Bytes, create: bool) -> Result<Option<&'c mut Set<Bytes>>, Replied> {
    let make: Option<fn() -> Value> = if create { Some(|| Value::Set(Box::default())) } else { None };
    write_as(ctx, key, make, |v| match v {
        Value::Set(s) => Some(&mut **s),
        _ => None,
    })
}

fn sadd(ctx: &mut Ctx, args: &mut [Bytes]) {
    let (head, members) = args.split_at_mut(2);
    let key = &head[1];
    let Ok(Some(s)) = write_set(ctx, key, true) else { return };
    let mut added = 0;
    for m in members {
        added += s.insert(std::mem::take(m)) as usize;
    }
    if added > 0 {
        ctx.modified(key);
    }
    ctx.reply().int(added as i64);
}

fn srem(ctx: &mut Ctx, args: &mut [Bytes]) {
    let key = &args[1];
    let Ok(s) = write_set(ctx, key, false) else { return };
    let Some(s) = s else { return ctx.reply().int(0) };
    let removed = args[2..].iter().filter(|m| s.swap_remove(&m[..])).count();
    if removed > 0 {
        ctx.db().remove_if_empty(key);
        ctx.modified(key);
    }
    ctx.reply().int(removed as i64);
}

/// Reply a set's members. A set of at most 512 integers is an *intset* in Redis, which keeps
/// its members sorted, so that is the order Redis replies in; other sets come in table order.
fn reply_members(ctx: &mut Ctx, members: impl ExactSizeIterator<Item = Bytes>) {
    let mut members: Vec<Bytes> = members.collect();
    if members.len() <= 512 {
        let ints: Option<Vec<i64>> = members.iter().map(|m| crate::resp::parse_i64(m)).collect();
        if let Some(ints) = ints {
            let mut pairs: Vec<(i64, Bytes)> = ints.into_iter().zip(members).collect();
            pairs.sort_by_key(|(i, _)| *i);
            members = pairs.into_iter().map(|(_, m)| m).collect();
        }
    }
    ctx.reply().set(members.len());
    for m in members {
        ctx.reply().bulk(&m);
    }
}

fn smembers(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Ok(s) = read_set(ctx, &args[1]) else { return };
    let s = s.unwrap_or_default();
    reply_members(ctx, s.into_iter());
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

#[derive(Clone, Copy)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// Compute an operation over the sets at `keys`; `Err` after a WRONGTYPE reply.
fn compute(ctx: &mut Ctx, keys: &[Bytes], op: Op) -> Result<Set<Bytes>, Replied> {
    let mut sets = Vec::with_capacity(keys.len());
    for k in keys {
        sets.push(read_set(ctx, k)?);
    }
    let mut result: Set<Bytes> = match op {
        Op::Inter => {
            if sets.iter().any(|s| s.is_none()) {
                return Ok(Set::default());
            }
            let mut sets: Vec<Set<Bytes>> = sets.into_iter().flatten().collect();
            sets.sort_by_key(|s| s.len());
            let (first, rest) = sets.split_first().unwrap();
            first.iter().filter(|m| rest.iter().all(|s| s.contains(*m))).cloned().collect()
        }
        Op::Union => {
            let mut u = Set::default();
            for s in sets.into_iter().flatten() {
                u.extend(s);
            }
            u
        }
        Op::Diff => {
            let mut it = sets.into_iter();
            let first = it.next().flatten().unwrap_or_default();
            let others: Vec<Set<Bytes>> = it.flatten().collect();
            first.into_iter().filter(|m| others.iter().all(|s| !s.contains(m))).collect()
        }
    };
    result.shrink_to_fit();
    Ok(result)
}

fn algebra(ctx: &mut Ctx, args: &[Bytes], op: Op) {
    if let Ok(r) = compute(ctx, &args[1..], op) {
        reply_members(ctx, r.into_iter());
    }
}

fn algebra_store(ctx: &mut Ctx, args: &[Bytes], op: Op) {
    let Ok(r) = compute(ctx, &args[2..], op) else { return };
    let dst = &args[1];
    let n = r.len();
    let db = ctx.db();
    if n == 0 {
        db.remove(dst);
    } else {
        db.set(dst.clone(), Value::Set(Box::new(r)));
    }
    ctx.modified(dst);
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

/// `SINTERCARD numkeys key [key ...] [LIMIT limit]`
fn sintercard(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Some(n) = arg_i64(ctx, &args[1]) else { return };
    if n <= 0 {
        return ctx.error("ERR numkeys should be greater than 0");
    }
    let n = n as usize;
    if args.len() < 2 + n {
        return ctx.error("ERR Number of keys can't be greater than number of args");
    }
    let mut limit = 0usize;
    let rest = &args[2 + n..];
    if !rest.is_empty() {
        if rest.len() != 2 || !super::eq_ic(&rest[0], "LIMIT") {
            return ctx.error(super::SYNTAX_ERR);
        }
        let Some(l) = arg_i64(ctx, &rest[1]) else { return };
        if l < 0 {
            return ctx.error("ERR LIMIT can't be negative");
        }
        limit = l as usize;
    }
    let Ok(r) = compute(ctx, &args[2..2 + n], Op::Inter) else { return };
    let c = if limit > 0 { r.len().min(limit) } else { r.len() };
    ctx.reply().int(c as i64);
}

fn spop(ctx: &mut Ctx, args: &mut [Bytes]) {
    if args.len() > 3 {
        return ctx.error(super::SYNTAX_ERR);
    }
    let Ok(count) = super::optional_count(ctx, args.get(2)) else { return };
    let key = &args[1];
    let Ok(len) = with_set(ctx, key, |s| s.len()) else { return };
    let Some(len) = len else {
        return if count.is_some() { ctx.reply().set(0) } else { ctx.reply().null() };
    };
    let picks = random_picks(ctx, len, Some(count.unwrap_or(1) as i64));
    let Ok(Some(s)) = write_set(ctx, key, false) else { return };
    let mut picks = picks;
    picks.sort_unstable_by(|a, b| b.cmp(a));
    let popped: Vec<Bytes> = picks.into_iter().filter_map(|i| s.swap_remove_index(i)).collect();
    ctx.db().remove_if_empty(key);
    if !popped.is_empty() {
        ctx.modified(key);
    }
    match count {
        None => ctx.reply().bulk(&popped[0]),
        Some(_) => reply_members(ctx, popped.into_iter()),
    }
}

fn srandmember(ctx: &mut Ctx, args: &mut [Bytes]) {
    let count = if args.len() == 3 {
        let Some(c) = arg_i64(ctx, &args[2]) else { return };
        Some(c)
    } else if args.len() > 3 {
        return ctx.error(super::SYNTAX_ERR);
    } else {
        None
    };
    let Ok(s) = read_set(ctx, &args[1]) else { return };
    let s = s.unwrap_or_default();
    let picks = random_picks(ctx, s.len(), count);
    match count {
        None => match picks.first() {
            Some(&i) => ctx.reply().bulk(&s[i]),
            None => ctx.reply().null(),
        },
        Some(_) => {
            ctx.reply().array(picks.len());
            for i in picks {
                ctx.reply().bulk(&s[i]);
            }
        }
    }
}

fn smove(ctx: &mut Ctx, args: &mut [Bytes]) {
    let (src, dst, member) = (&args[1], &args[2], &args[3]);
    let Ok(has) = with_set(ctx, src, |s| s.contains(&member[..])) else { return };
    if with_set(ctx, dst, |_| ()).is_err() {
        return;
    }
    if has != Some(true) {
        return ctx.reply().int(0);
    }
    if src == dst {
        return ctx.reply().int(1);
    }
    if let Ok(Some(s)) = write_set(ctx, src, false) {
        s.swap_remove(&member[..]);
    }
    ctx.db().remove_if_empty(src);
    if let Ok(Some(d)) = write_set(ctx, dst, true) {
        d.insert(member.clone());
    }
    ctx.modified(src);
    ctx.modified(dst);
    ctx.reply().int(1);
}

fn sscan(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Some(sa) = parse_scan_args(ctx, &args[2], &args[3..], false) else { return };
    let Ok(r) = with_set(ctx, &args[1], |s| {
        let mut items = Vec::new();
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
    }) else {
        return;
    };
    let (next, items) = r.unwrap_or((0, Vec::new()));
    reply_scan(ctx, next, &items);
}
