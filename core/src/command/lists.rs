//! List commands. A list is a sequence of strings with O(1) push and pop at both ends; seed
//! 000's first session pushes a menu:
//!
//! ```text
//! 127.0.0.1:6379> LPUSH menu apple banana      → (integer) 2
//! 127.0.0.1:6379> LPUSH menu pine              → (integer) 3
//! 127.0.0.1:6379> LRANGE menu 0 -1             → 1) "pine" 2) "banana" 3) "apple"
//! ```
//!
//! Blocking pops (`BLPOP`, `BRPOP`, `BLMOVE`, `BRPOPLPUSH`) that find every key empty park the
//! client; a push to one of its keys wakes it, first blocked first served, and the command is
//! run again for it (Redis 7's `handleClientsBlockedOnKeys`). Inside MULTI they never block.
//!
//! `LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT n]` (and `BLMPOP timeout …`) pop up to `n`
//! elements from the first non-empty list and answer `[key, [elements]]`.
//!
//! Arguments are checked where Redis's t_list.c checks them: `LINDEX` and `LSET` look the key
//! up before parsing the index, the others parse everything first.

use super::pubsub::class;
use super::{
    arg_i64, block_client, eq_ic, normalize_range, parse_block_timeout, read_as, write_as, Ctx, Handler, Replied,
    SYNTAX_ERR,
};
use crate::keyspace::Value;
use bytes::Bytes;
use std::collections::VecDeque;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("lpush", lpush),
    ("rpush", rpush),
    ("lpushx", lpushx),
    ("rpushx", rpushx),
    ("lpop", lpop),
    ("rpop", rpop),
    ("llen", llen),
    ("lrange", lrange),
    ("lindex", lindex),
    ("lset", lset),
    ("linsert", linsert),
    ("lrem", lrem),
    ("ltrim", ltrim),
    ("lpos", lpos),
    ("lmove", lmove),
    ("rpoplpush", rpoplpush),
    ("blpop", blpop),
    ("brpop", brpop),
    ("blmove", blmove),
    ("brpoplpush", brpoplpush),
    ("lmpop", lmpop),
    ("blmpop", blmpop),
];

#[derive(Clone, Copy, PartialEq)]
enum End {
    Left,
    Right,
}

fn parse_end(a: &[u8]) -> Option<End> {
    if eq_ic(a, "LEFT") {
        Some(End::Left)
    } else if eq_ic(a, "RIGHT") {
        Some(End::Right)
    } else {
        None
    }
}

fn read_list<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c VecDeque<Bytes>>, Replied> {
    read_as(ctx, key, |v| match v {
        Value::List(l) => Some(l),
        _ => None,
    })
}

fn write_list<'c>(ctx: &'c mut Ctx, key: &Bytes) -> Result<Option<&'c mut VecDeque<Bytes>>, Replied> {
    write_as(ctx, key, None, |v| match v {
        Value::List(l) => Some(l),
        _ => None,
    })
}

fn push_generic(ctx: &mut Ctx, args: &mut [Bytes], end: End, only_if_exists: bool) {
    let (head, items) = args.split_at_mut(2);
    let key = &head[1];
    let len = match write_list(ctx, key) {
        Err(Replied) => return,
        Ok(None) if only_if_exists => return ctx.reply().int(0),
        Ok(Some(list)) => {
            push_all(list, items, end);
            list.len()
        }
        Ok(None) => {
            let mut list = VecDeque::with_capacity(items.len());
            push_all(&mut list, items, end);
            let n = list.len();
            ctx.db().set_keep_ttl(key.clone(), Value::List(list));
            n
        }
    };
    ctx.modified(key);
    let db = ctx.client.db;
    ctx.srv.signal_key_ready(db, key);
    ctx.notify(class::LIST, push_event(end), key);
    ctx.reply().int(len as i64);
}

fn push_event(end: End) -> &'static str {
    match end {
        End::Left => "lpush",
        End::Right => "rpush",
    }
}

fn pop_event(end: End) -> &'static str {
    match end {
        End::Left => "lpop",
        End::Right => "rpop",
    }
}

/// After elements left `key` from `end`: fire `lpop`/`rpop`, and delete the list with a
/// `del` event when it is empty (Redis's `listElementsRemoved`).
fn elements_removed(ctx: &mut Ctx, key: &Bytes, end: End) {
    ctx.notify(class::LIST, pop_event(end), key);
    if ctx.db().remove_if_empty(key) {
        ctx.notify(class::GENERIC, "del", key);
    }
    ctx.modified(key);
}

/// Move `items` into the list (they are the request's arguments: nothing is copied).
fn push_all(list: &mut VecDeque<Bytes>, items: &mut [Bytes], end: End) {
    for it in items {
        push_one(list, std::mem::take(it), end);
    }
}

fn push_one(list: &mut VecDeque<Bytes>, item: Bytes, end: End) {
    match end {
        End::Left => list.push_front(item),
        End::Right => list.push_back(item),
    }
}

fn lpush(ctx: &mut Ctx, args: &mut [Bytes]) {
    push_generic(ctx, args, End::Left, false);
}
fn rpush(ctx: &mut Ctx, args: &mut [Bytes]) {
    push_generic(ctx, args, End::Right, false);
}
fn lpushx(ctx: &mut Ctx, args: &mut [Bytes]) {
    push_generic(ctx, args, End::Left, true);
}
fn rpushx(ctx: &mut Ctx, args: &mut [Bytes]) {
    push_generic(ctx, args, End::Right, true);
}

/// Pop up to `count` items; deletes the key when it empties.
fn pop_items(ctx: &mut Ctx, key: &Bytes, end: End, count: usize) -> Result<Option<Vec<Bytes>>, Replied> {
    let popped = take_items(ctx, key, end, count)?;
    if popped.is_some() {
        elements_removed(ctx, key, end);
    }
    Ok(popped)
}

/// Take up to `count` items from a list, leaving it in place even when empty.
fn take_items(ctx: &mut Ctx, key: &Bytes, end: End, count: usize) -> Result<Option<Vec<Bytes>>, Replied> {
    let Some(list) = write_list(ctx, key)? else { return Ok(None) };
    let mut out = Vec::with_capacity(count.min(list.len()));
    for _ in 0..count {
        let item = match end {
            End::Left => list.pop_front(),
            End::Right => list.pop_back(),
        };
        match item {
            Some(i) => out.push(i),
            None => break,
        }
    }
    Ok(Some(out))
}

fn pop_generic(ctx: &mut Ctx, args: &[Bytes], end: End) {
    if args.len() > 3 {
        let name = if end == End::Left { "lpop" } else { "rpop" };
        return ctx.error(&format!("ERR wrong number of arguments for '{}' command", name));
    }
    let Ok(count) = super::optional_count(ctx, args.get(2)) else { return };
    if count == Some(0) {
        // Redis 7.0 checks the key type first, then answers an empty array (or nil for a
        // missing key).
        match read_list(ctx, &args[1]) {
            Err(Replied) => return,
            Ok(None) => return ctx.reply().null_array(),
            Ok(Some(_)) => return ctx.reply().array(0),
        }
    }
    match pop_items(ctx, &args[1], end, count.unwrap_or(1)) {
        Err(Replied) => {}
        Ok(None) => {
            if count.is_some() {
                ctx.reply().null_array()
            } else {
                ctx.reply().null()
            }
        }
        Ok(Some(items)) => {
            if count.is_some() {
                ctx.reply().array(items.len());
                for i in &items {
                    ctx.reply().bulk(i);
                }
            } else {
                ctx.reply().bulk(&items[0]);
            }
        }
    }
}

fn lpop(ctx: &mut Ctx, args: &mut [Bytes]) {
    pop_generic(ctx, args, End::Left);
}
fn rpop(ctx: &mut Ctx, args: &mut [Bytes]) {
    pop_generic(ctx, args, End::Right);
}

fn llen(ctx: &mut Ctx, args: &mut [Bytes]) {
    if let Ok(l) = read_list(ctx, &args[1]) {
        let n = l.map(|l| l.len()).unwrap_or(0);
        ctx.reply().int(n as i64);
    }
}

fn lrange(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Some(start) = arg_i64(ctx, &args[2]) else { return };
    let Some(stop) = arg_i64(ctx, &args[3]) else { return };
    if read_list(ctx, &args[1]).is_err() {
        return;
    }
    // Split borrows: the list lives in the keyspace, the reply in the client.
    let Some(Value::List(list)) = ctx.srv.keyspace.dbs[ctx.client.db].entries.get(&args[1][..]) else {
        return ctx.client.reply.array(0);
    };
    match normalize_range(start, stop, list.len()) {
        None => ctx.client.reply.array(0),
        Some((a, b)) => {
            ctx.client.reply.array(b - a + 1);
            for item in list.range(a..=b) {
                ctx.client.reply.bulk(item);
            }
        }
    }
}

/// `LINDEX key index`: a missing key is nil whatever the index (`lindexCommand` looks up
/// first).
fn lindex(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Ok(list) = read_list(ctx, &args[1]) else { return };
    if list.is_none() {
        return ctx.reply().null();
    }
    let Some(idx) = arg_i64(ctx, &args[2]) else { return };
    let list = match ctx.peek(&args[1]) {
        Some(Value::List(l)) => Some(l),
        _ => None,
    };
    let item = list.and_then(|l| {
        let i = if idx < 0 { l.len() as i64 + idx } else { idx };
        if i < 0 {
            None
        } else {
            l.get(i as usize).cloned()
        }
    });
    match item {
        Some(i) => ctx.reply().bulk(&i),
        None => ctx.reply().null(),
    }
}

/// `LSET key index element`: the key is looked up before the index is parsed.
fn lset(ctx: &mut Ctx, args: &mut [Bytes]) {
    let key = &args[1];
    match write_list(ctx, key) {
        Err(Replied) => return,
        Ok(None) => return ctx.error(super::NO_SUCH_KEY),
        Ok(Some(_)) => {}
    }
    let Some(idx) = arg_i64(ctx, &args[2]) else { return };
    match write_list(ctx, key) {
        Err(Replied) | Ok(None) => {}
        Ok(Some(l)) => {
            let i = if idx < 0 { l.len() as i64 + idx } else { idx };
            if i < 0 || i as usize >= l.len() {
                return ctx.error("ERR index out of range");
            }
            l[i as usize] = args[3].clone();
            ctx.modified(key);
            ctx.notify(class::LIST, "lset", key);
            ctx.ok();
        }
    }
}

fn linsert(ctx: &mut Ctx, args: &mut [Bytes]) {
    let before = if eq_ic(&args[2], "BEFORE") {
        true
    } else if eq_ic(&args[2], "AFTER") {
        false
    } else {
        return ctx.error(SYNTAX_ERR);
    };
    let key = &args[1];
    match write_list(ctx, key) {
        Err(Replied) => {}
        Ok(None) => ctx.reply().int(0),
        Ok(Some(l)) => match l.iter().position(|x| *x == args[3]) {
            None => ctx.reply().int(-1),
            Some(p) => {
                l.insert(if before { p } else { p + 1 }, args[4].clone());
                let n = l.len();
                ctx.modified(key);
                ctx.notify(class::LIST, "linsert", key);
                ctx.reply().int(n as i64);
            }
        },
    }
}

fn lrem(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Some(count) = arg_i64(ctx, &args[2]) else { return };
    let key = &args[1];
    let target = &args[3];
    let removed = match write_list(ctx, key) {
        Err(Replied) => return,
        Ok(None) => 0,
        Ok(Some(l)) => {
            let mut removed = 0usize;
            let limit = if count == 0 { usize::MAX } else { count.unsigned_abs() as usize };
            if count >= 0 {
                let mut i = 0;
                while i < l.len() && removed < limit {
                    if l[i] == *target {
                        l.remove(i);
                        removed += 1;
                    } else {
                        i += 1;
                    }
                }
            } else {
                let mut i = l.len();
                while i > 0 && removed < limit {
                    i -= 1;
                    if l[i] == *target {
                        l.remove(i);
                        removed += 1;
                    }
                }
            }
            removed
        }
    };
    if removed > 0 {
        ctx.modified(key);
        ctx.notify(class::LIST, "lrem", key);
        if ctx.db().remove_if_empty(key) {
            ctx.notify(class::GENERIC, "del", key);
        }
    }
    ctx.reply().int(removed as i64);
}

fn ltrim(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Some(start) = arg_i64(ctx, &args[2]) else { return };
    let Some(stop) = arg_i64(ctx, &args[3]) else { return };
    let key = &args[1];
    match write_list(ctx, key) {
        Err(Replied) => return,
        Ok(None) => {}
        Ok(Some(l)) => {
            match normalize_range(start, stop, l.len()) {
                None => l.clear(),
                Some((a, b)) => {
                    l.truncate(b + 1);
                    l.drain(..a);
                }
            }
            ctx.notify(class::LIST, "ltrim", key);
            if ctx.db().remove_if_empty(key) {
                ctx.notify(class::GENERIC, "del", key);
            }
            ctx.modified(key);
        }
    }
    ctx.ok();
}

/// `LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]`
fn lpos(ctx: &mut Ctx, args: &mut [Bytes]) {
    let mut rank: i64 = 1;
    let mut count: Option<usize> = None;
    let mut maxlen: usize = 0;
    let mut i = 3;
    while i < args.len() {
        let more = i + 1 < args.len();
        if eq_ic(&args[i], "RANK") && more {
            let Some(v) = arg_i64(ctx, &args[i + 1]) else { return };
            if v == 0 {
                return ctx.error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
            }
            rank = v;
        } else if eq_ic(&args[i], "COUNT") && more {
            let Some(v) = super::positive_arg(ctx, &args[i + 1], "ERR COUNT can't be negative") else { return };
            count = Some(v);
        } else if eq_ic(&args[i], "MAXLEN") && more {
            let Some(v) = super::positive_arg(ctx, &args[i + 1], "ERR MAXLEN can't be negative") else { return };
            maxlen = v;
        } else {
            return ctx.error(SYNTAX_ERR);
        }
        i += 2;
    }
    let Ok(list) = read_list(ctx, &args[1]) else { return };
    let mut matches = Vec::new();
    if let Some(l) = list {
        // RANK -9223372036854775808 negates to itself in 7.0's C: every match is past the
        // rank (no skip) and the COUNT test never stops the walk.
        let min_rank = rank == i64::MIN;
        let want = match count {
            Some(0) => usize::MAX,
            Some(_) if min_rank => usize::MAX,
            Some(c) => c,
            None => 1,
        };
        let mut skip = if min_rank { 0 } else { rank.unsigned_abs() as usize - 1 };
        let n = l.len();
        let limit = if maxlen == 0 { n } else { maxlen.min(n) };
        for step in 0..limit {
            let idx = if rank > 0 { step } else { n - 1 - step };
            if l[idx] == args[2] {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                matches.push(idx as i64);
                if matches.len() >= want {
                    break;
                }
            }
        }
    }
    if count.is_some() {
        ctx.reply().array(matches.len());
        for m in matches {
            ctx.reply().int(m);
        }
    } else if let Some(&m) = matches.first() {
        ctx.reply().int(m);
    } else {
        ctx.reply().null();
    }
}

/// Move one element from `src` (at `from`) to `dst` (at `to`); `Ok(None)` when `src` is
/// empty. Checks both types before touching anything, as Redis does, and fires the push to
/// `dst` before the pop from `src` (`lmoveGenericCommand`). The source is deleted only after
/// the push, so `LMOVE k k` on a one-element list keeps its key (and TTL).
fn move_one(ctx: &mut Ctx, src: &Bytes, dst: &Bytes, from: End, to: End) -> Result<Option<Bytes>, Replied> {
    let src_empty = write_list(ctx, src)?.is_none();
    if src_empty {
        return Ok(None);
    }
    write_list(ctx, dst)?;
    let item = take_items(ctx, src, from, 1)?.and_then(|mut v| v.pop());
    let Some(item) = item else { return Ok(None) };
    match write_list(ctx, dst)? {
        Some(l) => push_one(l, item.clone(), to),
        None => {
            let mut l = VecDeque::new();
            push_one(&mut l, item.clone(), to);
            ctx.db().set_keep_ttl(dst.clone(), Value::List(l));
        }
    }
    ctx.modified(dst);
    let db = ctx.client.db;
    ctx.srv.signal_key_ready(db, dst);
    ctx.notify(class::LIST, push_event(to), dst);
    elements_removed(ctx, src, from);
    Ok(Some(item))
}

fn lmove(ctx: &mut Ctx, args: &mut [Bytes]) {
    let (Some(from), Some(to)) = (parse_end(&args[3]), parse_end(&args[4])) else { return ctx.error(SYNTAX_ERR) };
    match move_one(ctx, &args[1], &args[2], from, to) {
        Err(Replied) => {}
        Ok(None) => ctx.reply().null(),
        Ok(Some(i)) => ctx.reply().bulk(&i),
    }
}

fn rpoplpush(ctx: &mut Ctx, args: &mut [Bytes]) {
    match move_one(ctx, &args[1], &args[2], End::Right, End::Left) {
        Err(Replied) => {}
        Ok(None) => ctx.reply().null(),
        Ok(Some(i)) => ctx.reply().bulk(&i),
    }
}

/// BLPOP/BRPOP key [key ...] timeout → [key, element] or a null array on timeout.
fn bpop_generic(ctx: &mut Ctx, args: &[Bytes], end: End) {
    let Some(timeout) = parse_block_timeout(ctx, &args[args.len() - 1]) else { return };
    let keys = &args[1..args.len() - 1];
    for key in keys {
        match pop_items(ctx, key, end, 1) {
            Err(Replied) => return,
            Ok(Some(mut items)) if !items.is_empty() => {
                let item = items.pop().unwrap();
                ctx.reply().array(2);
                ctx.reply().bulk(key);
                ctx.reply().bulk(&item);
                return;
            }
            _ => {}
        }
    }
    if ctx.client.multi.is_some() || ctx.client.in_exec {
        return ctx.reply().null_array();
    }
    block_client(ctx, keys, timeout, args);
}

fn blpop(ctx: &mut Ctx, args: &mut [Bytes]) {
    bpop_generic(ctx, args, End::Left);
}
fn brpop(ctx: &mut Ctx, args: &mut [Bytes]) {
    bpop_generic(ctx, args, End::Right);
}

fn bmove_generic(ctx: &mut Ctx, args: &[Bytes], from: End, to: End, timeout_arg: &Bytes) {
    let Some(timeout) = parse_block_timeout(ctx, timeout_arg) else { return };
    match move_one(ctx, &args[1], &args[2], from, to) {
        Err(Replied) => {}
        Ok(Some(i)) => ctx.reply().bulk(&i),
        Ok(None) => {
            if ctx.client.multi.is_some() || ctx.client.in_exec {
                return ctx.reply().null();
            }
            block_client(ctx, &args[1..2], timeout, args);
        }
    }
}

fn blmove(ctx: &mut Ctx, args: &mut [Bytes]) {
    let (Some(from), Some(to)) = (parse_end(&args[3]), parse_end(&args[4])) else { return ctx.error(SYNTAX_ERR) };
    bmove_generic(ctx, args, from, to, &args[5]);
}

fn brpoplpush(ctx: &mut Ctx, args: &mut [Bytes]) {
    bmove_generic(ctx, args, End::Right, End::Left, &args[3]);
}

/// `numkeys key [key ...] LEFT|RIGHT [COUNT count]` of LMPOP/BLMPOP, starting at numkeys
/// (`lmpopGenericCommand`): the keys, the end, and the count.
fn parse_mpop<'a>(ctx: &mut Ctx, args: &'a [Bytes]) -> Option<(&'a [Bytes], End, usize)> {
    let n = match crate::resp::parse_i64(&args[0]) {
        Some(n) if n > 0 => n as usize,
        _ => {
            ctx.error("ERR numkeys should be greater than 0");
            return None;
        }
    };
    if n >= args.len() - 1 {
        ctx.error(SYNTAX_ERR);
        return None;
    }
    let Some(end) = parse_end(&args[n + 1]) else {
        ctx.error(SYNTAX_ERR);
        return None;
    };
    let mut count = None;
    let mut j = n + 2;
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
    Some((&args[1..1 + n], end, count.unwrap_or(1)))
}

/// Pop from the first of `keys` that holds a non-empty list and reply `[key, [elements]]`;
/// `Ok(false)` when every list is empty (`mpopGenericCommand`).
fn mpop_first(ctx: &mut Ctx, keys: &[Bytes], end: End, count: usize) -> Result<bool, Replied> {
    for key in keys {
        if let Some(items) = pop_items(ctx, key, end, count)? {
            if items.is_empty() {
                continue;
            }
            let r = ctx.reply();
            r.array(2);
            r.bulk(key);
            r.array(items.len());
            for i in &items {
                r.bulk(i);
            }
            return Ok(true);
        }
    }
    Ok(false)
}

fn lmpop(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Some((keys, end, count)) = parse_mpop(ctx, &args[1..]) else { return };
    match mpop_first(ctx, keys, end, count) {
        Err(Replied) | Ok(true) => {}
        Ok(false) => ctx.reply().null_array(),
    }
}

fn blmpop(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Some((keys, end, count)) = parse_mpop(ctx, &args[2..]) else { return };
    let Some(timeout) = parse_block_timeout(ctx, &args[1]) else { return };
    match mpop_first(ctx, keys, end, count) {
        Err(Replied) | Ok(true) => {}
        Ok(false) => {
            if ctx.client.multi.is_some() || ctx.client.in_exec {
                return ctx.reply().null_array();
            }
            let keys = keys.to_vec();
            block_client(ctx, &keys, timeout, args);
        }
    }
}
