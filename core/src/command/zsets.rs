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
//! As in Redis's `zrangeGenericCommand`, the options and then the range are parsed before the
//! key is looked up, so a bad range is reported even against a key of another type.
//!
//! Scores are replied with `%.17g` (a bulk string in RESP2, a double in RESP3), as Redis 7.0's
//! `addReplyDouble` does, so `0.1` reads back as `0.10000000000000001`.
//!
//! A sorted set is a listpack until it has more than `zset-max-listpack-entries` members or a
//! member longer than `zset-max-listpack-value`; the commands that store a computed result
//! (`ZUNIONSTORE`, `ZRANGESTORE`…) make it a listpack again when it is small (see
//! [`crate::keyspace::SortedSet`]).

use super::keys::{parse_scan_args, parse_scan_cursor, reply_scan};
use super::pubsub::class;
use super::{
    arg_i64, block_client, eq_ic, normalize_range, parse_block_timeout, parse_f64, random_count, random_picks, read_as,
    write_as, Ctx, Handler, Replied, NOT_FLOAT, SYNTAX_ERR, WRONGTYPE,
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
    ("zmpop", zmpop),
    ("bzmpop", bzmpop),
    ("zunionstore", zunionstore),
    ("zinterstore", zinterstore),
    ("zdiffstore", zdiffstore),
    ("zunion", zunion),
    ("zinter", zinter),
    ("zintercard", zintercard),
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

/// A second look at a sorted set the handler already looked up (no statistics counted twice).
fn peek_zset<R>(ctx: &Ctx, key: &[u8], f: impl FnOnce(&SortedSet) -> R) -> Option<R> {
    match ctx.peek(key) {
        Some(Value::ZSet(z)) => Some(f(z)),
        _ => None,
    }
}

fn write_zset<'c>(ctx: &'c mut Ctx, key: &Bytes) -> Result<Option<&'c mut SortedSet>, Replied> {
    write_as(ctx, key, None, |v| match v {
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

#[derive(Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]`
fn zadd(ctx: &mut Ctx, args: &mut [Bytes]) {
    zadd_generic(ctx, args, AddFlags::default());
}

/// `ZINCRBY key increment member`: ZADD INCR, as in Redis.
fn zincrby(ctx: &mut Ctx, args: &mut [Bytes]) {
    zadd_generic(ctx, args, AddFlags { incr: true, ..AddFlags::default() });
}

/// `zaddGenericCommand`: options, then the score/member pairs and every score, then the
/// key's type; a missing key with XX answers without creating anything. One reply, always.
fn zadd_generic(ctx: &mut Ctx, args: &mut [Bytes], mut f: AddFlags) {
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if eq_ic(a, "NX") {
            f.nx = true;
        } else if eq_ic(a, "XX") {
            f.xx = true;
        } else if eq_ic(a, "GT") {
            f.gt = true;
        } else if eq_ic(a, "LT") {
            f.lt = true;
        } else if eq_ic(a, "CH") {
            f.ch = true;
        } else if eq_ic(a, "INCR") {
            f.incr = true;
        } else {
            break;
        }
        i += 1;
    }
    let pairs = &args[i..];
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return ctx.error(SYNTAX_ERR);
    }
    if f.nx && f.xx {
        return ctx.error("ERR XX and NX options at the same time are not compatible");
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return ctx.error("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if f.incr && pairs.len() > 2 {
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
    let limits = ctx.limits();
    let exists = match ctx.lookup_write(key) {
        None => false,
        Some(Value::ZSet(_)) => true,
        Some(_) => return ctx.error(WRONGTYPE),
    };
    if !exists {
        if f.xx {
            // No key and XX: nothing to update, no key created.
            return if f.incr { ctx.reply().null() } else { ctx.reply().int(0) };
        }
        let z = SortedSet::for_first_member(scores[0].1.len(), &limits);
        ctx.db().set_keep_ttl(key.clone(), Value::ZSet(Box::new(z)));
    }
    let Ok(Some(z)) = write_zset(ctx, key) else { return };
    let (mut added, mut updated) = (0, 0);
    let mut incr_result = None;
    let mut nan = false;
    for (score, member) in scores {
        let current = z.score(&member);
        let mut new = score;
        if f.incr {
            // A new member takes the increment itself (`zsetAdd`), so `-0` stays `-0`.
            new = current.map_or(score, |c| c + score);
            if new.is_nan() {
                nan = true;
                break;
            }
        }
        match current {
            Some(cur) => {
                if f.nx || (f.gt && new <= cur) || (f.lt && new >= cur) {
                    continue;
                }
                if new != cur {
                    z.insert(member, new);
                    updated += 1;
                }
                incr_result = Some(new);
            }
            None => {
                if f.xx {
                    continue;
                }
                z.add(member, new, &limits);
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
        ctx.notify(class::ZSET, if f.incr { "zincr" } else { "zadd" }, key);
    }
    if nan {
        ctx.error("ERR resulting score is not a number (NaN)");
    } else if f.incr {
        match incr_result {
            Some(s) => ctx.reply().double(s),
            None => ctx.reply().null(),
        }
    } else {
        ctx.reply().int(if f.ch { added + updated } else { added });
    }
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

/// A score bound: `1.5`, `(1.5` (exclusive), `-inf`, `+inf` (`zslParseRange`).
fn parse_score_bound(a: &[u8]) -> Option<Bound<f64>> {
    if let Some(rest) = a.strip_prefix(b"(") {
        strtod_whole(rest).map(Bound::Excluded)
    } else {
        strtod_whole(a).map(Bound::Included)
    }
}

/// A bound as `zslParseRange` reads it: bare `strtod` that must consume the whole text, not
/// the stricter `string2d`. So leading white space is skipped, the empty text is 0 (strtod
/// reads nothing and leaves nothing unread), and out-of-range values are ±inf or 0 rather
/// than errors; only NaN is refused.
fn strtod_whole(a: &[u8]) -> Option<f64> {
    let start = a.iter().position(|c| !matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')).unwrap_or(a.len());
    let text = &a[start..];
    if text.is_empty() {
        return Some(0.0);
    }
    if let Some(v) = parse_f64(text) {
        return Some(v);
    }
    // What string2d refuses as ERANGE, strtod returns rounded: HUGE_VAL or zero.
    let decimal = text.iter().all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'));
    let v: f64 = std::str::from_utf8(text).ok().filter(|_| decimal)?.parse().ok()?;
    (!v.is_nan()).then_some(v)
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

/// Whether no string can lie between the bounds (`zslIsInLexRange`'s first test).
fn lex_range_empty(min: &Lex, max: &Lex) -> bool {
    let rank = |l: &Lex| match l {
        Lex::Min => 0,
        Lex::Incl(_) | Lex::Excl(_) => 1,
        Lex::Max => 2,
    };
    let text = |l: &Lex| match l {
        Lex::Incl(b) | Lex::Excl(b) => Some(b.clone()),
        _ => None,
    };
    let cmp = rank(min).cmp(&rank(max)).then_with(|| text(min).cmp(&text(max)));
    let exclusive = !matches!((min, max), (Lex::Incl(_), Lex::Incl(_)));
    cmp.is_gt() || (cmp.is_eq() && exclusive)
}

/// A lex range as Redis walks it (`zzlFirstInLexRange` and the loops of
/// `genericZrangebylexCommand`): from the first member (in score order) at or past `min`,
/// if that one is within `max`, skip `offset` members unchecked, then take members while
/// they are within `max`, at most `count` (`< 0`: all); `rev` walks back from the last
/// member within `max` while they are at or past `min`. Lex ranges are meant for members of
/// one score; with mixed scores this walk, not a filter, is what Redis answers.
fn lex_select(z: &SortedSet, min: &Lex, max: &Lex, rev: bool, offset: i64, count: i64) -> Vec<(Bytes, f64)> {
    let all: Vec<(&Bytes, f64)> = z.iter().collect();
    let (Some(first), Some(last)) = (all.first(), all.last()) else { return Vec::new() };
    if lex_range_empty(min, max) || !lex_gte_min(last.0, min) || !lex_lte_max(first.0, max) || offset < 0 {
        return Vec::new();
    }
    let n = all.len();
    let start = if rev {
        all.iter().rposition(|(m, _)| lex_lte_max(m, max))
    } else {
        all.iter().position(|(m, _)| lex_gte_min(m, min))
    };
    let next = |i: usize| if rev { i.checked_sub(1) } else { Some(i + 1).filter(|&j| j < n) };
    let in_range = |m: &[u8]| if rev { lex_gte_min(m, min) } else { lex_lte_max(m, max) };
    let Some(mut i) = start.filter(|&i| in_range(all[i].0)) else { return Vec::new() };
    for _ in 0..offset {
        match next(i) {
            Some(j) => i = j,
            None => return Vec::new(),
        }
    }
    let mut out = Vec::new();
    let mut at = Some(i);
    while let Some(i) = at {
        if count >= 0 && out.len() as i64 >= count || !in_range(all[i].0) {
            break;
        }
        out.push((all[i].0.clone(), all[i].1));
        at = next(i);
    }
    out
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
fn by_score(z: &SortedSet, min: Bound<f64>, max: Bound<f64>) -> impl DoubleEndedIterator<Item = (&Bytes, f64)> {
    let start = match min {
        Bound::Included(m) | Bound::Excluded(m) => Bound::Included((Score(m), Bytes::new())),
        Bound::Unbounded => Bound::Unbounded,
    };
    z.ordered
        .range((start, Bound::Unbounded))
        .map(|(s, m)| (m, s.0))
        .skip_while(move |(_, s)| !score_in(*s, min, Bound::Unbounded))
        .take_while(move |(_, s)| score_in(*s, Bound::Unbounded, max))
        .collect::<Vec<_>>()
        .into_iter()
}

const NOT_FLOAT_RANGE: &str = "ERR min or max is not a float";
const NOT_LEX_RANGE: &str = "ERR min or max not valid string range item";

fn zcount(ctx: &mut Ctx, args: &mut [Bytes]) {
    let (Some(min), Some(max)) = (parse_score_bound(&args[2]), parse_score_bound(&args[3])) else {
        return ctx.error(NOT_FLOAT_RANGE);
    };
    if let Ok(n) = with_zset(ctx, &args[1], |z| by_score(z, min, max).count()) {
        ctx.reply().int(n.unwrap_or(0) as i64);
    }
}

fn zlexcount(ctx: &mut Ctx, args: &mut [Bytes]) {
    let (Some(min), Some(max)) = (parse_lex_bound(&args[2]), parse_lex_bound(&args[3])) else {
        return ctx.error(NOT_LEX_RANGE);
    };
    if let Ok(n) = with_zset(ctx, &args[1], |z| lex_select(z, &min, &max, false, 0, -1).len()) {
        ctx.reply().int(n.unwrap_or(0) as i64);
    }
}

#[derive(Clone, Copy, PartialEq)]
enum RangeKind {
    Rank,
    Score,
    Lex,
}

/// A parsed range: which members, in which direction, how many.
enum Bounds {
    Rank(i64, i64),
    Score(Bound<f64>, Bound<f64>),
    Lex(Lex, Lex),
}

struct RangeQuery {
    bounds: Bounds,
    rev: bool,
    /// `LIMIT offset count`; Redis's defaults are 0 and -1 (everything).
    offset: i64,
    count: i64,
    with_scores: bool,
}

/// `zrangeGenericCommand`'s steps 1 and 2: the options after `key min max` (starting at
/// `args[first]`), then the range itself. `kind`/`rev` are fixed by the legacy commands
/// (ZRANGEBYSCORE…), which then refuse BYSCORE/BYLEX/REV.
fn parse_range(
    ctx: &mut Ctx,
    args: &[Bytes],
    first: usize,
    store: bool,
    mut kind: Option<RangeKind>,
    mut rev: Option<bool>,
) -> Option<RangeQuery> {
    let (mut offset, mut count, mut with_scores) = (0i64, -1i64, false);
    let mut j = first + 3;
    while j < args.len() {
        let a = &args[j];
        let left = args.len() - j - 1;
        if !store && eq_ic(a, "WITHSCORES") {
            with_scores = true;
        } else if eq_ic(a, "LIMIT") && left >= 2 {
            offset = arg_i64(ctx, &args[j + 1])?;
            count = arg_i64(ctx, &args[j + 2])?;
            j += 2;
        } else if rev.is_none() && eq_ic(a, "REV") {
            rev = Some(true);
        } else if kind.is_none() && eq_ic(a, "BYLEX") {
            kind = Some(RangeKind::Lex);
        } else if kind.is_none() && eq_ic(a, "BYSCORE") {
            kind = Some(RangeKind::Score);
        } else {
            ctx.error(SYNTAX_ERR);
            return None;
        }
        j += 1;
    }
    let rev = rev.unwrap_or(false);
    let kind = kind.unwrap_or(RangeKind::Rank);
    if count != -1 && kind == RangeKind::Rank {
        ctx.error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
        return None;
    }
    if with_scores && kind == RangeKind::Lex {
        ctx.error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return None;
    }
    let (mut lo, mut hi) = (&args[first + 1], &args[first + 2]);
    if rev && kind != RangeKind::Rank {
        // Given as max, min.
        std::mem::swap(&mut lo, &mut hi);
    }
    let bounds = match kind {
        RangeKind::Rank => Bounds::Rank(arg_i64(ctx, lo)?, arg_i64(ctx, hi)?),
        RangeKind::Score => match (parse_score_bound(lo), parse_score_bound(hi)) {
            (Some(a), Some(b)) => Bounds::Score(a, b),
            _ => {
                ctx.error(NOT_FLOAT_RANGE);
                return None;
            }
        },
        RangeKind::Lex => match (parse_lex_bound(lo), parse_lex_bound(hi)) {
            (Some(a), Some(b)) => Bounds::Lex(a, b),
            _ => {
                ctx.error(NOT_LEX_RANGE);
                return None;
            }
        },
    };
    Some(RangeQuery { bounds, rev, offset, count, with_scores })
}

/// The members a range selects, in reply order.
fn select(z: &SortedSet, q: &RangeQuery) -> Vec<(Bytes, f64)> {
    let take = |it: &mut dyn Iterator<Item = (&Bytes, f64)>| -> Vec<(Bytes, f64)> {
        if q.offset < 0 {
            return Vec::new();
        }
        let it = it.skip(q.offset as usize).map(|(m, s)| (m.clone(), s));
        if q.count < 0 {
            it.collect()
        } else {
            it.take(q.count as usize).collect()
        }
    };
    match &q.bounds {
        Bounds::Rank(a, b) => {
            let Some((a, b)) = normalize_range(*a, *b, z.len()) else { return Vec::new() };
            let n = b - a + 1;
            if q.rev {
                z.iter().rev().skip(a).take(n).map(|(m, s)| (m.clone(), s)).collect()
            } else {
                z.iter().skip(a).take(n).map(|(m, s)| (m.clone(), s)).collect()
            }
        }
        Bounds::Score(min, max) => {
            if q.rev {
                take(&mut by_score(z, *min, *max).rev())
            } else {
                take(&mut by_score(z, *min, *max))
            }
        }
        Bounds::Lex(min, max) => lex_select(z, min, max, q.rev, q.offset, q.count),
    }
}

/// Step 3: look the key up (a missing key is an empty range) and select.
fn run_query(ctx: &mut Ctx, key: &[u8], q: &RangeQuery) -> Result<Vec<(Bytes, f64)>, Replied> {
    Ok(with_zset(ctx, key, |z| select(z, q))?.unwrap_or_default())
}

/// [`run_query`] on a key about to be written (`lookupKeyWrite`: no statistics, no
/// `keymiss`).
fn run_query_for_write(ctx: &mut Ctx, key: &Bytes, q: &RangeQuery) -> Result<Vec<(Bytes, f64)>, Replied> {
    Ok(write_zset(ctx, key)?.map(|z| select(z, q)).unwrap_or_default())
}

fn range_command(ctx: &mut Ctx, args: &[Bytes], kind: Option<RangeKind>, rev: Option<bool>) {
    let Some(q) = parse_range(ctx, args, 1, false, kind, rev) else { return };
    if let Ok(items) = run_query(ctx, &args[1], &q) {
        reply_with_scores(ctx, &items, q.with_scores);
    }
}

fn zrange(ctx: &mut Ctx, args: &mut [Bytes]) {
    range_command(ctx, args, None, None);
}

fn zrangestore(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Some(q) = parse_range(ctx, args, 2, true, None, None) else { return };
    let Ok(items) = run_query(ctx, &args[2], &q) else { return };
    store_zset(ctx, &args[1], items, "zrangestore");
}

/// Store a computed sorted set at `dst` (deleting it when empty) and reply its size. It is
/// built as a skiplist and made a listpack when small (`zsetConvertToListpackIfNeeded`).
fn store_zset(ctx: &mut Ctx, dst: &Bytes, items: Vec<(Bytes, f64)>, event: &str) {
    let n = items.len();
    let limits = ctx.limits();
    let mut z = SortedSet { skiplist: true, ..SortedSet::default() };
    for (m, s) in items {
        z.insert(m, s);
    }
    z.shrink_encoding_if_small(&limits);
    let db = ctx.db();
    if n == 0 {
        if db.remove(dst).is_some() {
            ctx.modified(dst);
            ctx.notify(class::GENERIC, "del", dst);
        }
    } else {
        db.set(dst.clone(), Value::ZSet(Box::new(z)));
        ctx.modified(dst);
        let db = ctx.client.db;
        ctx.srv.signal_key_ready(db, dst);
        ctx.notify(class::ZSET, event, dst);
    }
    ctx.reply().int(n as i64);
}

fn zrevrange(ctx: &mut Ctx, args: &mut [Bytes]) {
    range_command(ctx, args, Some(RangeKind::Rank), Some(true));
}
fn zrangebyscore(ctx: &mut Ctx, args: &mut [Bytes]) {
    range_command(ctx, args, Some(RangeKind::Score), Some(false));
}
fn zrevrangebyscore(ctx: &mut Ctx, args: &mut [Bytes]) {
    range_command(ctx, args, Some(RangeKind::Score), Some(true));
}
fn zrangebylex(ctx: &mut Ctx, args: &mut [Bytes]) {
    range_command(ctx, args, Some(RangeKind::Lex), Some(false));
}
fn zrevrangebylex(ctx: &mut Ctx, args: &mut [Bytes]) {
    range_command(ctx, args, Some(RangeKind::Lex), Some(true));
}

fn rank_generic(ctx: &mut Ctx, args: &[Bytes], rev: bool) {
    let Ok(r) = with_zset(ctx, &args[1], |z| z.rank(&args[2]).map(|r| if rev { z.len() - 1 - r } else { r })) else {
        return;
    };
    match r.flatten() {
        None => ctx.reply().null(),
        Some(rank) => ctx.reply().int(rank as i64),
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
    let Ok(z) = write_zset(ctx, key) else { return };
    let Some(z) = z else { return ctx.reply().int(0) };
    let n = args[2..].iter().filter(|m| z.remove(m).is_some()).count();
    if n > 0 {
        let deleted = ctx.db().remove_if_empty(key);
        ctx.modified(key);
        ctx.notify(class::ZSET, "zrem", key);
        if deleted {
            ctx.notify(class::GENERIC, "del", key);
        }
    }
    ctx.reply().int(n as i64);
}

/// `zremrangeGenericCommand`: the range is parsed before the key is looked up.
fn remove_range(ctx: &mut Ctx, args: &[Bytes], kind: RangeKind) {
    let (lo, hi) = (&args[2], &args[3]);
    let bounds = match kind {
        RangeKind::Rank => {
            let Some(a) = arg_i64(ctx, lo) else { return };
            let Some(b) = arg_i64(ctx, hi) else { return };
            Bounds::Rank(a, b)
        }
        RangeKind::Score => match (parse_score_bound(lo), parse_score_bound(hi)) {
            (Some(a), Some(b)) => Bounds::Score(a, b),
            _ => return ctx.error(NOT_FLOAT_RANGE),
        },
        RangeKind::Lex => match (parse_lex_bound(lo), parse_lex_bound(hi)) {
            (Some(a), Some(b)) => Bounds::Lex(a, b),
            _ => return ctx.error(NOT_LEX_RANGE),
        },
    };
    let q = RangeQuery { bounds, rev: false, offset: 0, count: -1, with_scores: false };
    let key = &args[1];
    let Ok(items) = run_query_for_write(ctx, key, &q) else { return };
    if let Ok(Some(z)) = write_zset(ctx, key) {
        for (m, _) in &items {
            z.remove(m);
        }
    }
    if !items.is_empty() {
        let deleted = ctx.db().remove_if_empty(key);
        ctx.modified(key);
        let event = match kind {
            RangeKind::Rank => "zremrangebyrank",
            RangeKind::Score => "zremrangebyscore",
            RangeKind::Lex => "zremrangebylex",
        };
        ctx.notify(class::ZSET, event, key);
        if deleted {
            ctx.notify(class::GENERIC, "del", key);
        }
    }
    ctx.reply().int(items.len() as i64);
}

fn zremrangebyscore(ctx: &mut Ctx, args: &mut [Bytes]) {
    remove_range(ctx, args, RangeKind::Score);
}
fn zremrangebyrank(ctx: &mut Ctx, args: &mut [Bytes]) {
    remove_range(ctx, args, RangeKind::Rank);
}
fn zremrangebylex(ctx: &mut Ctx, args: &mut [Bytes]) {
    remove_range(ctx, args, RangeKind::Lex);
}

/// Pop up to `count` members from the min or max end; deletes the key when it empties.
fn pop_n(ctx: &mut Ctx, key: &Bytes, max: bool, count: usize) -> Result<Vec<(Bytes, f64)>, Replied> {
    let Some(z) = write_zset(ctx, key)? else { return Ok(Vec::new()) };
    let picked: Vec<(Bytes, f64)> = if max {
        z.iter().rev().take(count).map(|(m, s)| (m.clone(), s)).collect()
    } else {
        z.iter().take(count).map(|(m, s)| (m.clone(), s)).collect()
    };
    for (m, _) in &picked {
        z.remove(m);
    }
    if !picked.is_empty() {
        ctx.notify(class::ZSET, if max { "zpopmax" } else { "zpopmin" }, key);
        if ctx.db().remove_if_empty(key) {
            ctx.notify(class::GENERIC, "del", key);
        }
        ctx.modified(key);
    }
    Ok(picked)
}

/// The first of `keys` holding a sorted set, after type-checking up to it
/// (`genericZpopCommand`'s candidate search).
fn first_nonempty(ctx: &mut Ctx, keys: &[Bytes]) -> Result<Option<usize>, Replied> {
    for (i, key) in keys.iter().enumerate() {
        if write_zset(ctx, key)?.is_some() {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

fn zpop_generic(ctx: &mut Ctx, args: &[Bytes], max: bool) {
    if args.len() > 3 {
        return ctx.error(SYNTAX_ERR);
    }
    let Ok(count) = super::optional_count(ctx, args.get(2)) else { return };
    let Ok(found) = first_nonempty(ctx, &args[1..2]) else { return };
    if found.is_none() || count == Some(0) {
        return ctx.reply().array(0);
    }
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

fn in_transaction(ctx: &Ctx) -> bool {
    ctx.client.multi.is_some() || ctx.client.in_exec
}

fn bzpop_generic(ctx: &mut Ctx, args: &[Bytes], max: bool) {
    let Some(timeout) = parse_block_timeout(ctx, &args[args.len() - 1]) else { return };
    let keys = &args[1..args.len() - 1];
    let Ok(found) = first_nonempty(ctx, keys) else { return };
    if let Some(i) = found {
        let key = &keys[i];
        let Ok(items) = pop_n(ctx, key, max, 1) else { return };
        let (m, s) = &items[0];
        let r = ctx.reply();
        r.array(3);
        r.bulk(key);
        r.bulk(m);
        r.double(*s);
        return;
    }
    if in_transaction(ctx) {
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

/// `numkeys key [key ...] MIN|MAX [COUNT count]` of ZMPOP/BZMPOP, starting at numkeys
/// (`zmpopGenericCommand`): the keys, whether MAX, and the count.
fn parse_mpop<'a>(
    ctx: &mut Ctx,
    args: &'a [Bytes],
    max_word: &str,
    min_word: &str,
) -> Option<(&'a [Bytes], bool, usize)> {
    let n = match crate::resp::parse_i64(&args[0]) {
        Some(n) if n > 0 => n as usize,
        _ => {
            ctx.error("ERR numkeys should be greater than 0");
            return None;
        }
    };
    let where_idx = n.checked_add(1)?;
    if where_idx >= args.len() {
        ctx.error(SYNTAX_ERR);
        return None;
    }
    let max = if eq_ic(&args[where_idx], min_word) {
        false
    } else if eq_ic(&args[where_idx], max_word) {
        true
    } else {
        ctx.error(SYNTAX_ERR);
        return None;
    };
    let mut count = None;
    let mut j = where_idx + 1;
    while j < args.len() {
        if count.is_none() && eq_ic(&args[j], "COUNT") && j + 1 < args.len() {
            match crate::resp::parse_i64(&args[j + 1]) {
                Some(c) if c > 0 => count = Some(c as usize),
                _ => {
                    ctx.error("ERR count should be greater than 0");
                    return None;
                }
            }
            j += 2;
        } else {
            ctx.error(SYNTAX_ERR);
            return None;
        }
    }
    Some((&args[1..1 + n], max, count.unwrap_or(1)))
}

/// The reply of ZMPOP/BZMPOP: `[key, [[member, score], ...]]`.
fn reply_mpop(ctx: &mut Ctx, key: &Bytes, items: &[(Bytes, f64)]) {
    let r = ctx.reply();
    r.array(2);
    r.bulk(key);
    r.array(items.len());
    for (m, s) in items {
        r.array(2);
        r.bulk(m);
        r.double(*s);
    }
}

/// `ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]`: pop from the first non-empty one.
fn zmpop(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Some((keys, max, count)) = parse_mpop(ctx, &args[1..], "MAX", "MIN") else { return };
    let Ok(found) = first_nonempty(ctx, keys) else { return };
    let Some(i) = found else { return ctx.reply().null_array() };
    let Ok(items) = pop_n(ctx, &keys[i], max, count) else { return };
    reply_mpop(ctx, &keys[i], &items);
}

/// `BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]`
fn bzmpop(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Some((keys, max, count)) = parse_mpop(ctx, &args[2..], "MAX", "MIN") else { return };
    let Some(timeout) = parse_block_timeout(ctx, &args[1]) else { return };
    let Ok(found) = first_nonempty(ctx, keys) else { return };
    if let Some(i) = found {
        let Ok(items) = pop_n(ctx, &keys[i], max, count) else { return };
        return reply_mpop(ctx, &keys[i], &items);
    }
    if in_transaction(ctx) {
        return ctx.reply().null_array();
    }
    let keys = keys.to_vec();
    block_client(ctx, &keys, timeout, args);
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

/// An input of ZUNION/ZINTER/ZDIFF: a sorted set, or a plain set with score 1.
fn weighted_input(v: Option<&Value>) -> Vec<(Bytes, f64)> {
    match v {
        Some(Value::ZSet(z)) => z.iter().map(|(m, s)| (m.clone(), s)).collect(),
        Some(Value::Set(s)) => s.iter().map(|m| (m.clone(), 1.0)).collect(),
        _ => Vec::new(),
    }
}

/// One input of a set operation: its members and scores (`None`: the key is missing), and
/// its weight.
type WeightedInput = (Option<Vec<(Bytes, f64)>>, f64);

/// What `zunionInterDiffGenericCommand` computed: the members in order and the options.
struct SetOpResult {
    items: Vec<(Bytes, f64)>,
    with_scores: bool,
    limit: usize,
}

/// `zunionInterDiffGenericCommand`: `numkeys key [key ...]`, then every key is type-checked,
/// then `[WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]` (or `[LIMIT n]` for
/// ZINTERCARD) are parsed. `args` starts at numkeys.
fn set_operation(ctx: &mut Ctx, cmd: &str, args: &[Bytes], op: SetOp, store: bool, card: bool) -> Option<SetOpResult> {
    let n = arg_i64(ctx, &args[0])?;
    if n < 1 {
        ctx.error(&format!("ERR at least 1 input key is needed for '{}' command", cmd));
        return None;
    }
    if n as usize > args.len() - 1 {
        ctx.error(SYNTAX_ERR);
        return None;
    }
    let n = n as usize;
    let keys = &args[1..1 + n];
    for k in keys {
        match ctx.lookup_read(k) {
            None | Some(Value::ZSet(_)) | Some(Value::Set(_)) => {}
            Some(_) => {
                ctx.error(WRONGTYPE);
                return None;
            }
        }
    }
    let mut weights = vec![1.0; n];
    let mut agg = Aggregate::Sum;
    let mut with_scores = false;
    let mut limit = 0usize;
    let mut j = 1 + n;
    while j < args.len() {
        let a = &args[j];
        let remaining = args.len() - j;
        if op != SetOp::Diff && !card && remaining > n && eq_ic(a, "WEIGHTS") {
            for (i, w) in weights.iter_mut().enumerate() {
                match parse_f64(&args[j + 1 + i]) {
                    Some(v) => *w = v,
                    None => {
                        ctx.error("ERR weight value is not a float");
                        return None;
                    }
                }
            }
            j += 1 + n;
        } else if op != SetOp::Diff && !card && remaining >= 2 && eq_ic(a, "AGGREGATE") {
            let v = &args[j + 1];
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
            j += 2;
        } else if !store && !card && eq_ic(a, "WITHSCORES") {
            with_scores = true;
            j += 1;
        } else if card && remaining >= 2 && eq_ic(a, "LIMIT") {
            match crate::resp::parse_i64(&args[j + 1]) {
                Some(l) if l >= 0 => limit = l as usize,
                _ => {
                    ctx.error("ERR LIMIT can't be negative");
                    return None;
                }
            }
            j += 2;
        } else {
            ctx.error(SYNTAX_ERR);
            return None;
        }
    }
    let db = &ctx.srv.keyspace.dbs[ctx.client.db];
    let inputs: Vec<WeightedInput> = keys
        .iter()
        .zip(&weights)
        .map(|(k, w)| {
            let v = db.entries.get(&k[..]);
            (v.map(|v| weighted_input(Some(v))), *w)
        })
        .collect();
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
            for (input, w) in &inputs {
                for (m, s) in input.iter().flatten() {
                    let v = weigh(*s, *w);
                    acc.entry(m.clone()).and_modify(|x| *x = combine(*x, v)).or_insert(v);
                }
            }
        }
        SetOp::Inter => {
            if inputs.iter().all(|(i, _)| i.is_some()) {
                // Walk the smallest input, as Redis does after sorting them by size.
                let mut order: Vec<usize> = (0..inputs.len()).collect();
                order.sort_by_key(|&i| inputs[i].0.as_ref().unwrap().len());
                let maps: Vec<crate::keyspace::Map<Bytes, f64>> =
                    inputs.iter().map(|(i, _)| i.as_ref().unwrap().iter().cloned().collect()).collect();
                let first = order[0];
                for (m, s) in inputs[first].0.as_ref().unwrap() {
                    let mut v = weigh(*s, inputs[first].1);
                    let mut all = true;
                    for &j in &order[1..] {
                        match maps[j].get(m) {
                            Some(x) => v = combine(v, weigh(*x, inputs[j].1)),
                            None => {
                                all = false;
                                break;
                            }
                        }
                    }
                    if all {
                        acc.insert(m.clone(), v);
                        if card && limit > 0 && acc.len() >= limit {
                            break;
                        }
                    }
                }
            }
        }
        SetOp::Diff => {
            if let Some(first) = &inputs[0].0 {
                let others: Vec<crate::keyspace::Set<Bytes>> = inputs[1..]
                    .iter()
                    .filter_map(|(i, _)| i.as_ref())
                    .map(|i| i.iter().map(|(m, _)| m.clone()).collect())
                    .collect();
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
    Some(SetOpResult { items, with_scores, limit })
}

fn zunionstore(ctx: &mut Ctx, args: &mut [Bytes]) {
    if let Some(r) = set_operation(ctx, "zunionstore", &args[2..], SetOp::Union, true, false) {
        store_zset(ctx, &args[1], r.items, "zunionstore");
    }
}
fn zinterstore(ctx: &mut Ctx, args: &mut [Bytes]) {
    if let Some(r) = set_operation(ctx, "zinterstore", &args[2..], SetOp::Inter, true, false) {
        store_zset(ctx, &args[1], r.items, "zinterstore");
    }
}
fn zdiffstore(ctx: &mut Ctx, args: &mut [Bytes]) {
    if let Some(r) = set_operation(ctx, "zdiffstore", &args[2..], SetOp::Diff, true, false) {
        store_zset(ctx, &args[1], r.items, "zdiffstore");
    }
}
fn zunion(ctx: &mut Ctx, args: &mut [Bytes]) {
    if let Some(r) = set_operation(ctx, "zunion", &args[1..], SetOp::Union, false, false) {
        reply_with_scores(ctx, &r.items, r.with_scores);
    }
}
fn zinter(ctx: &mut Ctx, args: &mut [Bytes]) {
    if let Some(r) = set_operation(ctx, "zinter", &args[1..], SetOp::Inter, false, false) {
        reply_with_scores(ctx, &r.items, r.with_scores);
    }
}
/// `ZINTERCARD numkeys key [key ...] [LIMIT limit]`
fn zintercard(ctx: &mut Ctx, args: &mut [Bytes]) {
    if let Some(r) = set_operation(ctx, "zintercard", &args[1..], SetOp::Inter, false, true) {
        let n = if r.limit > 0 { r.items.len().min(r.limit) } else { r.items.len() };
        ctx.reply().int(n as i64);
    }
}
fn zdiff(ctx: &mut Ctx, args: &mut [Bytes]) {
    if let Some(r) = set_operation(ctx, "zdiff", &args[1..], SetOp::Diff, false, false) {
        reply_with_scores(ctx, &r.items, r.with_scores);
    }
}

/// `ZRANDMEMBER key [count [WITHSCORES]]`: count, then syntax, then the key
/// (`zrandmemberCommand`).
fn zrandmember(ctx: &mut Ctx, args: &mut [Bytes]) {
    let with_scores = args.len() == 4 && eq_ic(&args[3], "WITHSCORES");
    let count = if args.len() >= 3 {
        let Some(c) = random_count(ctx, &args[2], false) else { return };
        if args.len() > 4 || (args.len() == 4 && !with_scores) {
            return ctx.error(SYNTAX_ERR);
        }
        if with_scores && random_count(ctx, &args[2], true).is_none() {
            return;
        }
        Some(c)
    } else {
        None
    };
    let rep = super::draws_with_repetition(count);
    let Ok(info) =
        with_zset(ctx, &args[1], |z| (z.len(), if rep { z.scores.keys().map(|m| m.len() + 8).sum() } else { 0 }))
    else {
        return;
    };
    let (len, bytes) = info.unwrap_or((0, 0));
    let Ok(picks) = random_picks(ctx, len, bytes, count) else { return };
    let chosen: Vec<(Bytes, f64)> = peek_zset(ctx, &args[1], |z| {
        picks
            .iter()
            .map(|&i| {
                let (m, s) = z.scores.get_index(i).unwrap();
                (m.clone(), *s)
            })
            .collect()
    })
    .unwrap_or_default();
    match count {
        None => match chosen.first() {
            Some((m, _)) => ctx.reply().bulk(m),
            None => ctx.reply().null(),
        },
        Some(_) => reply_with_scores(ctx, &chosen, with_scores),
    }
}

fn zscan(ctx: &mut Ctx, args: &mut [Bytes]) {
    if parse_scan_cursor(ctx, &args[2]).is_none() {
        return;
    }
    match with_zset(ctx, &args[1], |_| ()) {
        Err(Replied) => return,
        Ok(None) => return reply_scan(ctx, 0, &[]),
        Ok(Some(_)) => {}
    }
    let Some(sa) = parse_scan_args(ctx, &args[2], &args[3..], false) else { return };
    let r = peek_zset(ctx, &args[1], |z| {
        let mut items = Vec::new();
        let mut push = |m: &Bytes, s: f64| {
            if sa.pattern.as_ref().is_none_or(|p| glob_match(p, m, false)) {
                items.push(m.clone());
                items.push(Bytes::from(crate::resp::format_double_reply(s)));
            }
        };
        if z.is_listpack() {
            // A listpack is scanned whole, in score order, in one call (`scanGenericCommand`).
            for (m, s) in z.iter() {
                push(m, s);
            }
            return (0, items);
        }
        let mut i = sa.cursor;
        let mut visited = 0;
        while i < z.scores.len() && visited < sa.count {
            let (m, s) = z.scores.get_index(i).unwrap();
            push(m, *s);
            i += 1;
            visited += 1;
        }
        (if i >= z.scores.len() { 0 } else { i }, items)
    });
    let (next, items) = r.unwrap_or((0, Vec::new()));
    reply_scan(ctx, next, &items);
}
