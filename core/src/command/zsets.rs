//! Sorted-set commands: members ordered by a float score, ties broken by the member bytes.
//!
//! Ranges come in three flavours, all served by `ZRANGE` since 6.2:
//!
//! ```text
//! ZRANGE key 0 -1                         by rank (index), negative counts from the end
//! ZRANGE key (1 +inf BYSCORE LIMIT 0 10   by score: "(" excludes, -inf/+inf are open ends
//! ZRANGE key [a (c BYLEX                  by member bytes when all scores are equal
//! ```
//!
//! Scores are replied with `%.17g` (a bulk string in RESP2, a double in RESP3), as Redis 7.0's
//! `addReplyDouble` does, so `0.1` reads back as `0.10000000000000001`.

use super::hashes::random_picks;
use super::keys::{parse_scan_args, reply_scan};
use super::{
    arg_i64, block_client, eq_ic, normalize_range, parse_block_timeout, parse_f64, read_as, write_as, Ctx, Handler,
    Replied, NOT_FLOAT, SYNTAX_ERR, WRONGTYPE,
};
use crate::keyspace::{Score, SortedSet, Value};
use crate::pattern::glob_match;
use bytes::Bytes;
use std::ops::Bound;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("zadd", zadd),
    ("zincrby", zincrby),
    ("zscore", zscore),
    ("zmscore", zmscore),
    ("zcard", zcard),
    ("zcount", zcount),
    ("zlexcount", zlexcount),
    ("zrange", zrange),
    ("zrangestore", zrangestore),
    ("zrevrange", zrevrange),
    ("zrangebyscore", zrangebyscore),
    ("zrevrangebyscore", zrevrangebyscore),
    ("zrangebylex", zrangebylex),
    ("zrevrangebylex", zrevrangebylex),
    ("zrank", zrank),
    ("zrevrank", zrevrank),
    ("zrem", zrem),
    ("zremrangebyscore", zremrangebyscore),
    ("zremrangebyrank", zremrangebyrank),
    ("zremrangebylex", zremrangebylex),
    ("zpopmin", zpopmin),
    ("zpopmax", zpopmax),
    ("bzpopmin", bzpopmin),
    ("bzpopmax", bzpopmax),
    ("zunionstore", zunionstore),
    ("zinterstore", zinterstore),
    ("zdiffstore", zdiffstore),
    ("zunion", zunion),
    ("zinter", zinter),
    ("zdiff", zdiff),
    ("zrandmember", zrandmember),
    ("zscan", zscan),
];

fn with_zset<R>(ctx: &mut Ctx, key: &[u8], f: impl FnOnce(&SortedSet) -> R) -> Result<Option<R>, Replied> {
    let z = read_as(ctx, key, |v| match v {
        Value::ZSet(z) => Some(&**z),
        _ => None,
    })?;
    Ok(z.map(f))
}

fn write_zset<'c>(ctx: &'c mut Ctx, key: &Bytes, create: bool) -> Result<Option<&'c mut SortedSet>, Replied> {
    let make: Option<fn() -> Value> = if create { Some(|| Value::ZSet(Box::default())) } else { None };
    write_as(ctx, key, make, |v| match v {
        Value::ZSet(z) => Some(&mut **z),
        _ => None,
    })
}

/// Reply member/score pairs: flat in RESP2, `[member, score]` pairs in RESP3.
fn reply_with_scores(ctx: &mut Ctx, items: &[(Bytes, f64)], with_scores: bool) {
    let r = ctx.reply();
    if !with_scores {
        r.array(items.len());
        for (m, _) in items {
            r.bulk(m);
        }
    } else if r.is_resp3() {
        r.array(items.len());
        for (m, s) in items {
            r.array(2);
            r.bulk(m);
            r.double(*s);
        }
    } else {
        r.array(items.len() * 2);
        for (m, s) in items {
            r.bulk(m);
            r.double(*s);
        }
    }
}

/// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]`
fn zadd(ctx: &mut Ctx, args: &mut [Bytes]) {
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) = (false, false, false, false, false, false);
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if eq_ic(a, "NX") {
            nx = true;
        } else if eq_ic(a, "XX") {
            xx = true;
        } else if eq_ic(a, "GT") {
            gt = true;
        } else if eq_ic(a, "LT") {
            lt = true;
        } else if eq_ic(a, "CH") {
            ch = true;
        } else if eq_ic(a, "INCR") {
            incr = true;
        } else {
            break;
        }
        i += 1;
    }
    let pairs = &args[i..];
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return ctx.error(SYNTAX_ERR);
    }
    if nx && xx {
        return ctx.error("ERR XX and NX options at the same time are not compatible");
    }
    if (nx && (gt || lt)) || (gt && lt) {
        return ctx.error("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if incr && pairs.len() > 2 {
        return ctx.error("ERR INCR option supports a single increment-element pair");
    }
    let mut scores = Vec::with_capacity(pairs.len() / 2);
    for p in pairs.chunks(2) {
        match parse_f64(&p[0]) {
            Some(s) => scores.push((s, p[1].clone())),
            None => return ctx.error(NOT_FLOAT),
        }
    }
    let key = &args[1];
    if xx && with_zset(ctx, key, |_| ()).map(|o| o.is_none()).unwrap_or(false) {
        // XX on a missing key: nothing to update, no key created.
        return if incr { ctx.reply().null() } else { ctx.reply().int(0) };
    }
    let Ok(Some(z)) = write_zset(ctx, key, true) else { return };
    let (mut added, mut updated) = (0, 0);
    let mut incr_result = None;
    for (score, member) in scores {
        let current = z.score(&member);
        let mut new = score;
        if incr {
            new = current.unwrap_or(0.0) + score;
            if new.is_nan() {
                ctx.db().remove_if_empty(key);
                return ctx.error("ERR resulting score is not a number (NaN)");
            }
        }
        match current {
            Some(cur) => {
                if nx || (gt && new <= cur) || (lt && new >= cur) {
                    continue;
                }
                if new != cur {
                    z.insert(member, new);
                    updated += 1;
                }
                incr_result = Some(new);
            }
            None => {
                if xx {
                    continue;
                }
                z.insert(member, new);
                added += 1;
                incr_result = Some(new);
            }
        }
    }
    ctx.db().remove_if_empty(key);
    if added + updated > 0 {
        ctx.modified(key);
        let db = ctx.client.db;
        ctx.srv.signal_key_ready(db, key);
    }
    if incr {
        match incr_result {
            Some(s) => ctx.reply().double(s),
            None => ctx.reply().null(),
        }
    } else {
        ctx.reply().int(if ch { added + updated } else { added });
    }
}

fn zincrby(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Some(delta) = parse_f64(&args[2]) else { return ctx.error(NOT_FLOAT) };
    let key = &args[1];
    let Ok(Some(z)) = write_zset(ctx, key, true) else { return };
    let new = z.score(&args[3]).unwrap_or(0.0) + delta;
    if new.is_nan() {
        ctx.db().remove_if_empty(key);
        return ctx.error("ERR resulting score is not a number (NaN)");
    }
    z.insert(args[3].clone(), new);
    ctx.modified(key);
    let db = ctx.client.db;
    ctx.srv.signal_key_ready(db, key);
    ctx.reply().double(new);
}

fn zscore(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Ok(s) = with_zset(ctx, &args[1], |z| z.score(&args[2])) else { return };
    match s.flatten() {
        Some(s) => ctx.reply().double(s),
        None => ctx.reply().null(),
    }
}

fn zmscore(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Ok(s) = with_zset(ctx, &args[1], |z| args[2..].iter().map(|m| z.score(m)).collect::<Vec<_>>()) else { return };
    let s = s.unwrap_or_else(|| vec![None; args.len() - 2]);
    ctx.reply().array(s.len());
    for v in s {
        match v {
            Some(v) => ctx.reply().double(v),
            None => ctx.reply().null(),
        }
    }
}

fn zcard(ctx: &mut Ctx, args: &mut [Bytes]) {
    if let Ok(n) = with_zset(ctx, &args[1], |z| z.len()) {
        ctx.reply().int(n.unwrap_or(0) as i64);
    }
}

/// A score bound: `1.5`, `(1.5` (exclusive), `-inf`, `+inf`.
fn parse_score_bound(a: &[u8]) -> Option<Bound<f64>> {
    if let Some(rest) = a.strip_prefix(b"(") {
        parse_f64(rest).map(Bound::Excluded)
    } else {
        parse_f64(a).map(Bound::Included)
    }
}

/// A lex bound: `[a` inclusive, `(a` exclusive, `-` and `+` the open ends.
#[derive(Clone)]
enum Lex {
    Min,
    Max,
    Incl(Bytes),
    Excl(Bytes),
}

fn parse_lex_bound(a: &Bytes) -> Option<Lex> {
    match a.first() {
        Some(b'-') if a.len() == 1 => Some(Lex::Min),
        Some(b'+') if a.len() == 1 => Some(Lex::Max),
        Some(b'[') => Some(Lex::Incl(a.slice(1..))),
        Some(b'(') => Some(Lex::Excl(a.slice(1..))),
        _ => None,
    }
}

fn lex_gte_min(m: &[u8], min: &Lex) -> bool {
    match min {
        Lex::Min => true,
        Lex::Max => false,
        Lex::Incl(b) => m >= &b[..],
        Lex::Excl(b) => m > &b[..],
    }
}

fn lex_lte_max(m: &[u8], max: &Lex) -> bool {
    match max {
        Lex::Min => false,
        Lex::Max => true,
        Lex::Incl(b) => m <= &b[..],
        Lex::Excl(b) => m < &b[..],
    }
}

fn score_in(s: f64, min: Bound<f64>, max: Bound<f64>) -> bool {
    let lo = match min {
        Bound::Included(m) => s >= m,
        Bound::Excluded(m) => s > m,
        Bound::Unbounded => true,
    };
    let hi = match max {
        Bound::Included(m) => s <= m,
        Bound::Excluded(m) => s < m,
        Bound::Unbounded => true,
    };
    lo && hi
}

/// Members in ascending order within a score range.
fn by_score(z: &SortedSet, min: Bound<f64>, max: Bound<f64>) -> Vec<(&Bytes, f64)> {
    let start = match min {
        Bound::Included(m) | Bound::Excluded(m) => Bound::Included((Score(m), Bytes::new())),
        Bound::Unbounded => Bound::Unbounded,
    };
    z.ordered
        .range((start, Bound::Unbounded))
        .map(|(s, m)| (m, s.0))
        .skip_while(move |(_, s)| !score_in(*s, min, Bound::Unbounded))
        .take_while(move |(_, s)| score_in(*s, Bound::Unbounded, max))
        .collect()
}

fn zcount(ctx: &mut Ctx, args: &mut [Bytes]) {
    let (Some(min), Some(max)) = (parse_score_bound(&args[2]), parse_score_bound(&args[3])) else {
        return ctx.error("ERR min or max is not a float");
    };
    if let Ok(n) = with_zset(ctx, &args[1], |z| by_score(z, min, max).len()) {
        ctx.reply().int(n.unwrap_or(0) as i64);
    }
}

fn zlexcount(ctx: &mut Ctx, args: &mut [Bytes]) {
    let (Some(min), Some(max)) = (parse_lex_bound(&args[2]), parse_lex_bound(&args[3])) else {
        return ctx.error("ERR min or max not valid string range item");
    };
    if let Ok(n) =
        with_zset(ctx, &args[1], |z| z.iter().filter(|(m, _)| lex_gte_min(m, &min) && lex_lte_max(m, &max)).count())
    {
        ctx.reply().int(n.unwrap_or(0) as i64);
    }
}

#[derive(Clone, Copy, PartialEq)]
enum RangeKind {
    Rank,
    Score,
    Lex,
}

struct RangeSpec {
    kind: RangeKind,
    rev: bool,
    limit: Option<(i64, i64)>,
    with_scores: bool,
}

/// Select the members a range names. For REV ranges by score/lex, `start` is the max.
fn select_range(
    z: &SortedSet,
    start: &Bytes,
    stop: &Bytes,
    spec: &RangeSpec,
) -> Result<Vec<(Bytes, f64)>, &'static str> {
    let (offset, count) = spec.limit.unwrap_or((0, -1));
    let take = |it: &mut dyn Iterator<Item = (&Bytes, f64)>| -> Vec<(Bytes, f64)> {
        if offset < 0 {
            return Vec::new();
        }
        let it = it.skip(offset as usize).map(|(m, s)| (m.clone(), s));
        if count < 0 {
            it.collect()
        } else {
            it.take(count as usize).collect()
        }
    };
    match spec.kind {
        RangeKind::Rank => {
            let (Some(a), Some(b)) = (crate::resp::parse_i64(start), crate::resp::parse_i64(stop)) else {
                return Err(super::NOT_INTEGER);
            };
            let Some((a, b)) = normalize_range(a, b, z.len()) else { return Ok(Vec::new()) };
            let n = b - a + 1;
            Ok(if spec.rev {
                z.iter().rev().skip(a).take(n).map(|(m, s)| (m.clone(), s)).collect()
            } else {
                z.iter().skip(a).take(n).map(|(m, s)| (m.clone(), s)).collect()
            })
        }
        RangeKind::Score => {
            let (lo_arg, hi_arg) = if spec.rev { (stop, start) } else { (start, stop) };
            let (Some(min), Some(max)) = (parse_score_bound(lo_arg), parse_score_bound(hi_arg)) else {
                return Err("ERR min or max is not a float");
            };
            Ok(if spec.rev {
                take(&mut by_score(z, min, max).into_iter().rev())
            } else {
                take(&mut by_score(z, min, max).into_iter())
            })
        }
        RangeKind::Lex => {
            let (lo_arg, hi_arg) = if spec.rev { (stop, start) } else { (start, stop) };
            let (Some(min), Some(max)) = (parse_lex_bound(lo_arg), parse_lex_bound(hi_arg)) else {
                return Err("ERR min or max not valid string range item");
            };
            let filter = |(m, _): &(&Bytes, f64)| lex_gte_min(m, &min) && lex_lte_max(m, &max);
            Ok(if spec.rev { take(&mut z.iter().rev().filter(filter)) } else { take(&mut z.iter().filter(filter)) })
        }
    }
}

/// Parse `[BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]` after ZRANGE's 3 args.
fn parse_zrange_opts(ctx: &mut Ctx, opts: &[Bytes], allow_withscores: bool) -> Option<RangeSpec> {
    let mut spec = RangeSpec { kind: RangeKind::Rank, rev: false, limit: None, with_scores: false };
    let mut i = 0;
    while i < opts.len() {
        let a = &opts[i];
        if eq_ic(a, "BYSCORE") {
            spec.kind = RangeKind::Score;
        } else if eq_ic(a, "BYLEX") {
            spec.kind = RangeKind::Lex;
        } else if eq_ic(a, "REV") {
            spec.rev = true;
        } else if eq_ic(a, "WITHSCORES") && allow_withscores {
            spec.with_scores = true;
        } else if eq_ic(a, "LIMIT") && i + 2 < opts.len() {
            let off = arg_i64(ctx, &opts[i + 1])?;
            let cnt = arg_i64(ctx, &opts[i + 2])?;
            spec.limit = Some((off, cnt));
            i += 2;
        } else {
            ctx.error(SYNTAX_ERR);
            return None;
        }
        i += 1;
    }
    if spec.limit.is_some() && spec.kind == RangeKind::Rank {
        ctx.error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
        return None;
    }
    if spec.with_scores && spec.kind == RangeKind::Lex {
        ctx.error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return None;
    }
    Some(spec)
}

fn run_range(ctx: &mut Ctx, key: &[u8], start: &Bytes, stop: &Bytes, spec: &RangeSpec) {
    let r = match with_zset(ctx, key, |z| select_range(z, start, stop, spec)) {
        Err(Replied) => return,
        Ok(None) => {
            // Still validate the range arguments on a missing key, as Redis does.
            select_range(&SortedSet::default(), start, stop, spec)
        }
        Ok(Some(r)) => r,
    };
    match r {
        Err(e) => ctx.error(e),
        Ok(items) => reply_with_scores(ctx, &items, spec.with_scores),
    }
}

fn zrange(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Some(spec) = parse_zrange_opts(ctx, &args[4..], true) else { return };
    run_range(ctx, &args[1], &args[2], &args[3], &spec);
}

fn zrangestore(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Some(spec) = parse_zrange_opts(ctx, &args[5..], false) else { return };
    let r = match with_zset(ctx, &args[2], |z| select_range(z, &args[3], &args[4], &spec)) {
        Err(Replied) => return,
        Ok(None) => select_range(&SortedSet::default(), &args[3], &args[4], &spec),
        Ok(Some(r)) => r,
    };
    let items = match r {
        Err(e) => return ctx.error(e),
        Ok(i) => i,
    };
    store_zset(ctx, &args[1], items);
}

fn store_zset(ctx: &mut Ctx, dst: &Bytes, items: Vec<(Bytes, f64)>) {
    let n = items.len();
    let mut z = SortedSet::default();
    for (m, s) in items {
        z.insert(m, s);
    }
    let db = ctx.db();
    if n == 0 {
        db.remove(dst);
    } else {
        db.set(dst.clone(), Value::ZSet(Box::new(z)));
    }
    ctx.modified(dst);
    ctx.reply().int(n as i64);
}

/// The pre-6.2 range commands: fixed kind and direction, optional WITHSCORES / LIMIT.
fn legacy_range(ctx: &mut Ctx, args: &[Bytes], kind: RangeKind, rev: bool) {
    let mut spec = RangeSpec { kind, rev, limit: None, with_scores: false };
    let opts = &args[4..];
    let mut i = 0;
    while i < opts.len() {
        if eq_ic(&opts[i], "WITHSCORES") && kind != RangeKind::Lex {
            spec.with_scores = true;
        } else if eq_ic(&opts[i], "LIMIT") && kind != RangeKind::Rank && i + 2 < opts.len() {
            let Some(o) = arg_i64(ctx, &opts[i + 1]) else { return };
            let Some(c) = arg_i64(ctx, &opts[i + 2]) else { return };
            spec.limit = Some((o, c));
            i += 2;
        } else {
            return ctx.error(SYNTAX_ERR);
        }
        i += 1;
    }
    run_range(ctx, &args[1], &args[2], &args[3], &spec);
}

fn zrevrange(ctx: &mut Ctx, args: &mut [Bytes]) {
    legacy_range(ctx, args, RangeKind::Rank, true);
}
fn zrangebyscore(ctx: &mut Ctx, args: &mut [Bytes]) {
    legacy_range(ctx, args, RangeKind::Score, false);
}
fn zrevrangebyscore(ctx: &mut Ctx, args: &mut [Bytes]) {
    legacy_range(ctx, args, RangeKind::Score, true);
}
fn zrangebylex(ctx: &mut Ctx, args: &mut [Bytes]) {
    legacy_range(ctx, args, RangeKind::Lex, false);
}
fn zrevrangebylex(ctx: &mut Ctx, args: &mut [Bytes]) {
    legacy_range(ctx, args, RangeKind::Lex, true);
}

fn rank_generic(ctx: &mut Ctx, args: &[Bytes], rev: bool) {
    let with_score = args.len() == 4 && eq_ic(&args[3], "WITHSCORE");
    if args.len() > 3 && !with_score {
        return ctx.error(SYNTAX_ERR);
    }
    let Ok(r) = with_zset(ctx, &args[1], |z| {
        z.rank(&args[2]).map(|r| (if rev { z.len() - 1 - r } else { r }, z.score(&args[2]).unwrap()))
    }) else {
        return;
    };
    match r.flatten() {
        None => ctx.reply().null(),
        Some((rank, _)) => ctx.reply().int(rank as i64),
    }
}

fn zrank(ctx: &mut Ctx, args: &mut [Bytes]) {
    rank_generic(ctx, args, false);
}
fn zrevrank(ctx: &mut Ctx, args: &mut [Bytes]) {
    rank_generic(ctx, args, true);
}

fn zrem(ctx: &mut Ctx, args: &mut [Bytes]) {
    let key = &args[1];
    let Ok(z) = write_zset(ctx, key, false) else { return };
    let Some(z) = z else { return ctx.reply().int(0) };
    let n = args[2..].iter().filter(|m| z.remove(m).is_some()).count();
    if n > 0 {
        ctx.db().remove_if_empty(key);
        ctx.modified(key);
    }
    ctx.reply().int(n as i64);
}

fn remove_selected(ctx: &mut Ctx, key: &Bytes, spec: RangeSpec, start: &Bytes, stop: &Bytes) {
    let r = match with_zset(ctx, key, |z| select_range(z, start, stop, &spec)) {
        Err(Replied) => return,
        Ok(None) => select_range(&SortedSet::default(), start, stop, &spec),
        Ok(Some(r)) => r,
    };
    let items = match r {
        Err(e) => return ctx.error(e),
        Ok(i) => i,
    };
    if let Ok(Some(z)) = write_zset(ctx, key, false) {
        for (m, _) in &items {
            z.remove(m);
        }
    }
    if !items.is_empty() {
        ctx.db().remove_if_empty(key);
        ctx.modified(key);
    }
    ctx.reply().int(items.len() as i64);
}

fn zremrangebyscore(ctx: &mut Ctx, args: &mut [Bytes]) {
    let spec = RangeSpec { kind: RangeKind::Score, rev: false, limit: None, with_scores: false };
    remove_selected(ctx, &args[1], spec, &args[2], &args[3]);
}
fn zremrangebyrank(ctx: &mut Ctx, args: &mut [Bytes]) {
    let spec = RangeSpec { kind: RangeKind::Rank, rev: false, limit: None, with_scores: false };
    remove_selected(ctx, &args[1], spec, &args[2], &args[3]);
}
fn zremrangebylex(ctx: &mut Ctx, args: &mut [Bytes]) {
    let spec = RangeSpec { kind: RangeKind::Lex, rev: false, limit: None, with_scores: false };
    remove_selected(ctx, &args[1], spec, &args[2], &args[3]);
}

fn pop_n(ctx: &mut Ctx, key: &Bytes, max: bool, count: usize) -> Result<Vec<(Bytes, f64)>, Replied> {
    let Some(z) = write_zset(ctx, key, false)? else { return Ok(Vec::new()) };
    let picked: Vec<(Bytes, f64)> = if max {
        z.iter().rev().take(count).map(|(m, s)| (m.clone(), s)).collect()
    } else {
        z.iter().take(count).map(|(m, s)| (m.clone(), s)).collect()
    };
    for (m, _) in &picked {
        z.remove(m);
    }
    if !picked.is_empty() {
        ctx.db().remove_if_empty(key);
        ctx.modified(key);
    }
    Ok(picked)
}

fn zpop_generic(ctx: &mut Ctx, args: &[Bytes], max: bool) {
    if args.len() > 3 {
        return ctx.error(SYNTAX_ERR);
    }
    let Ok(count) = super::optional_count(ctx, args.get(2)) else { return };
    let Ok(items) = pop_n(ctx, &args[1], max, count.unwrap_or(1)) else { return };
    if count.is_some() && ctx.client.reply.is_resp3() {
        reply_with_scores(ctx, &items, true);
    } else {
        let r = ctx.reply();
        r.array(items.len() * 2);
        for (m, s) in &items {
            r.bulk(m);
            r.double(*s);
        }
    }
}

fn zpopmin(ctx: &mut Ctx, args: &mut [Bytes]) {
    zpop_generic(ctx, args, false);
}
fn zpopmax(ctx: &mut Ctx, args: &mut [Bytes]) {
    zpop_generic(ctx, args, true);
}

fn bzpop_generic(ctx: &mut Ctx, args: &[Bytes], max: bool) {
    let Some(timeout) = parse_block_timeout(ctx, &args[args.len() - 1]) else { return };
    let keys = &args[1..args.len() - 1];
    for key in keys {
        let Ok(items) = pop_n(ctx, key, max, 1) else { return };
        if let Some((m, s)) = items.first() {
            let r = ctx.reply();
            r.array(3);
            r.bulk(key);
            r.bulk(m);
            r.double(*s);
            return;
        }
    }
    if ctx.client.multi.is_some() || ctx.client.in_exec {
        return ctx.reply().null_array();
    }
    block_client(ctx, keys, timeout, args);
}

fn bzpopmin(ctx: &mut Ctx, args: &mut [Bytes]) {
    bzpop_generic(ctx, args, false);
}
fn bzpopmax(ctx: &mut Ctx, args: &mut [Bytes]) {
    bzpop_generic(ctx, args, true);
}

#[derive(Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// Read an input of ZUNION/ZINTER/ZDIFF: a sorted set, or a plain set with score 1.
fn read_weighted_input(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Vec<(Bytes, f64)>>, Replied> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z.iter().map(|(m, s)| (m.clone(), s)).collect())),
        Some(Value::Set(s)) => Ok(Some(s.iter().map(|m| (m.clone(), 1.0)).collect())),
        Some(_) => {
            ctx.error(WRONGTYPE);
            Err(Replied)
        }
    }
}

/// Parse `numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]` and
/// compute the result. `args` starts at numkeys.
fn set_operation(
    ctx: &mut Ctx,
    cmd: &str,
    args: &[Bytes],
    op: SetOp,
    allow_withscores: bool,
) -> Option<(Vec<(Bytes, f64)>, bool)> {
    let n = arg_i64(ctx, &args[0])?;
    if n <= 0 {
        ctx.error(&format!("ERR at least 1 input key is needed for '{}' command", cmd));
        return None;
    }
    let n = n as usize;
    if args.len() < 1 + n {
        ctx.error(SYNTAX_ERR);
        return None;
    }
    let keys = &args[1..1 + n];
    let mut weights = vec![1.0; n];
    let mut agg = Aggregate::Sum;
    let mut with_scores = false;
    let mut i = 1 + n;
    while i < args.len() {
        let a = &args[i];
        if op != SetOp::Diff && eq_ic(a, "WEIGHTS") && i + n < args.len() {
            for (j, w) in weights.iter_mut().enumerate() {
                match parse_f64(&args[i + 1 + j]) {
                    Some(v) => *w = v,
                    None => {
                        ctx.error("ERR weight value is not a float");
                        return None;
                    }
                }
            }
            i += n;
        } else if op != SetOp::Diff && eq_ic(a, "AGGREGATE") && i + 1 < args.len() {
            let v = &args[i + 1];
            agg = if eq_ic(v, "SUM") {
                Aggregate::Sum
            } else if eq_ic(v, "MIN") {
                Aggregate::Min
            } else if eq_ic(v, "MAX") {
                Aggregate::Max
            } else {
                ctx.error(SYNTAX_ERR);
                return None;
            };
            i += 1;
        } else if allow_withscores && eq_ic(a, "WITHSCORES") {
            with_scores = true;
        } else {
            ctx.error(SYNTAX_ERR);
            return None;
        }
        i += 1;
    }
    let mut inputs = Vec::with_capacity(n);
    for k in keys {
        inputs.push(read_weighted_input(ctx, k).ok()?);
    }
    let combine = |a: f64, b: f64| -> f64 {
        let r = match agg {
            Aggregate::Sum => a + b,
            Aggregate::Min => a.min(b),
            Aggregate::Max => a.max(b),
        };
        if r.is_nan() {
            0.0
        } else {
            r
        }
    };
    let weigh = |s: f64, w: f64| -> f64 {
        let r = s * w;
        if r.is_nan() {
            0.0
        } else {
            r
        }
    };
    let mut acc: crate::keyspace::Map<Bytes, f64> = Default::default();
    match op {
        SetOp::Union => {
            for (input, w) in inputs.iter().zip(&weights) {
                for (m, s) in input.iter().flatten() {
                    let v = weigh(*s, *w);
                    acc.entry(m.clone()).and_modify(|x| *x = combine(*x, v)).or_insert(v);
                }
            }
        }
        SetOp::Inter => {
            if inputs.iter().all(|i| i.is_some()) {
                let sets: Vec<crate::keyspace::Map<Bytes, f64>> =
                    inputs.iter().map(|i| i.as_ref().unwrap().iter().cloned().collect()).collect();
                for (m, s) in inputs[0].as_ref().unwrap() {
                    let mut v = weigh(*s, weights[0]);
                    let mut all = true;
                    for (j, set) in sets.iter().enumerate().skip(1) {
                        match set.get(m) {
                            Some(x) => v = combine(v, weigh(*x, weights[j])),
                            None => {
                                all = false;
                                break;
                            }
                        }
                    }
                    if all {
                        acc.insert(m.clone(), v);
                    }
                }
            }
        }
        SetOp::Diff => {
            if let Some(first) = &inputs[0] {
                let others: Vec<crate::keyspace::Set<Bytes>> =
                    inputs[1..].iter().flatten().map(|i| i.iter().map(|(m, _)| m.clone()).collect()).collect();
                for (m, s) in first {
                    if others.iter().all(|o| !o.contains(m)) {
                        acc.insert(m.clone(), *s);
                    }
                }
            }
        }
    }
    let mut items: Vec<(Bytes, f64)> = acc.into_iter().collect();
    items.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal).then_with(|| a.0.cmp(&b.0)));
    Some((items, with_scores))
}

fn zunionstore(ctx: &mut Ctx, args: &mut [Bytes]) {
    if let Some((items, _)) = set_operation(ctx, "zunionstore", &args[2..], SetOp::Union, false) {
        store_zset(ctx, &args[1], items);
    }
}
fn zinterstore(ctx: &mut Ctx, args: &mut [Bytes]) {
    if let Some((items, _)) = set_operation(ctx, "zinterstore", &args[2..], SetOp::Inter, false) {
        store_zset(ctx, &args[1], items);
    }
}
fn zdiffstore(ctx: &mut Ctx, args: &mut [Bytes]) {
    if let Some((items, _)) = set_operation(ctx, "zdiffstore", &args[2..], SetOp::Diff, false) {
        store_zset(ctx, &args[1], items);
    }
}
fn zunion(ctx: &mut Ctx, args: &mut [Bytes]) {
    if let Some((items, ws)) = set_operation(ctx, "zunion", &args[1..], SetOp::Union, true) {
        reply_with_scores(ctx, &items, ws);
    }
}
fn zinter(ctx: &mut Ctx, args: &mut [Bytes]) {
    if let Some((items, ws)) = set_operation(ctx, "zinter", &args[1..], SetOp::Inter, true) {
        reply_with_scores(ctx, &items, ws);
    }
}
fn zdiff(ctx: &mut Ctx, args: &mut [Bytes]) {
    if let Some((items, ws)) = set_operation(ctx, "zdiff", &args[1..], SetOp::Diff, true) {
        reply_with_scores(ctx, &items, ws);
    }
}

fn zrandmember(ctx: &mut Ctx, args: &mut [Bytes]) {
    let count = if args.len() >= 3 {
        let Some(c) = arg_i64(ctx, &args[2]) else { return };
        Some(c)
    } else {
        None
    };
    let with_scores = args.len() == 4 && eq_ic(&args[3], "WITHSCORES");
    if args.len() > 4 || (args.len() == 4 && !with_scores) {
        return ctx.error(SYNTAX_ERR);
    }
    let Ok(items) = with_zset(ctx, &args[1], |z| z.iter().map(|(m, s)| (m.clone(), s)).collect::<Vec<_>>()) else {
        return;
    };
    let items = items.unwrap_or_default();
    let picks = random_picks(ctx, items.len(), count);
    match count {
        None => match picks.first() {
            Some(&i) => ctx.reply().bulk(&items[i].0),
            None => ctx.reply().null(),
        },
        Some(_) => {
            let chosen: Vec<(Bytes, f64)> = picks.into_iter().map(|i| items[i].clone()).collect();
            reply_with_scores(ctx, &chosen, with_scores);
        }
    }
}

fn zscan(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Some(sa) = parse_scan_args(ctx, &args[2], &args[3..], false) else { return };
    let Ok(r) = with_zset(ctx, &args[1], |z| {
        let mut items = Vec::new();
        let mut i = sa.cursor;
        let mut visited = 0;
        while i < z.scores.len() && visited < sa.count {
            let (m, s) = z.scores.get_index(i).unwrap();
            if sa.pattern.as_ref().is_none_or(|p| glob_match(p, m, false)) {
                items.push(m.clone());
                items.push(Bytes::from(crate::resp::format_double_reply(*s)));
            }
            i += 1;
            visited += 1;
        }
        (if i >= z.scores.len() { 0 } else { i }, items)
    }) else {
        return;
    };
    let (next, items) = r.unwrap_or((0, Vec::new()));
    reply_scan(ctx, next, &items);
}
