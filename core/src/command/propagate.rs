//! What a write command sends down the replication stream (Redis's `alsoPropagate` and the
//! argument rewrites of 7.0).
//!
//! A command is propagated when it changed the dataset (`dirty` moved for something other
//! than a lazily expired key). Most go as they were sent. A few would mean something else on
//! a replica that runs them later, or have a random outcome, so 7.0 rewrites them:
//!
//! | executed | propagated |
//! | --- | --- |
//! | `EXPIRE`/`PEXPIRE`/`EXPIREAT` key t [NX…] | `PEXPIREAT key <absolute ms> [NX…]` (`DEL key` if already past) |
//! | `SET … EX/PX/EXAT`, `SETEX`, `PSETEX` | `SET key value PXAT <absolute ms>` |
//! | `SET … GET` | `SET …` without `GET` |
//! | `GETSET key v` | `SET key v` |
//! | `GETDEL key` | `DEL key` |
//! | `GETEX key EX…` / `PERSIST` | `PEXPIREAT key <ms>` / `PERSIST key` |
//! | `INCRBYFLOAT key n` | `SET key <result> KEEPTTL` |
//! | `HINCRBYFLOAT key f n` | `HSET key f <result>` |
//! | `SPOP key` | `SREM key <member>` |
//! | `SPOP key n` | one `SREM key <member>` per member popped (`DEL key` if all were) |
//! | `BLPOP`/`BRPOP` … | `LPOP`/`RPOP <the key served>` |
//! | `BRPOPLPUSH src dst t`, `BLMOVE src dst a b t` | `RPOPLPUSH src dst`, `LMOVE src dst a b` |
//! | `BZPOPMIN`/`BZPOPMAX` … | `ZPOPMIN`/`ZPOPMAX <the key served>` |
//!
//! A command that propagates several ops (SPOP with a count, EXEC's queue) reaches the
//! replicas wrapped in `MULTI` … `EXEC` (see `NodeState::propagate_pending`).
//!
//! `PUBLISH` is propagated even though it writes nothing, so a replica's subscribers hear it.

use super::{eq_ic, Ctx};
use crate::command::meta::CommandMeta;
use crate::keyspace::Value;
use crate::resp::reply_items;
use bytes::Bytes;

/// Whether a command may need propagating (so its arguments are kept before it runs).
pub fn may_propagate(meta: &CommandMeta) -> bool {
    meta.has_flag("write") || meta.name == "publish" || meta.name == "spublish"
}

/// Propagate `args` (as the client sent them) after the handler ran.
pub fn after_call(ctx: &mut Ctx, meta: &CommandMeta, args: &[Bytes], changed: bool, reply_start: usize) {
    // SPUBLISH goes to the replicas outside a cluster only (`spublishCommand`); in a cluster
    // the bus carries it to the shard instead.
    let spublish = meta.name == "spublish";
    if meta.name == "publish" || spublish {
        let cluster = spublish && ctx.srv.config.get_bool("cluster-enabled");
        if !cluster && ctx.client.reply.buf.get(reply_start) != Some(&b'-') {
            let db = ctx.client.db;
            let refs: Vec<&[u8]> = args.iter().map(|a| a.as_ref()).collect();
            ctx.srv.propagate(db, &refs);
        }
        return;
    }
    if !changed || ctx.client.role == crate::node::ClientRole::Master {
        return;
    }
    let db = ctx.client.db;
    match rewrite(ctx, meta.name, args, reply_start) {
        None => {
            let out: Vec<&[u8]> = args.iter().map(|a| a.as_ref()).collect();
            ctx.srv.propagate(db, &out);
        }
        Some(ops) => {
            for op in ops {
                let out: Vec<&[u8]> = op.iter().map(|a| a.as_ref()).collect();
                ctx.srv.propagate(db, &out);
            }
        }
    }
}

fn expire_ms(ctx: &Ctx, key: &[u8]) -> Option<u64> {
    ctx.srv.keyspace.dbs[ctx.client.db].expire_at(key)
}

fn key_exists(ctx: &Ctx, key: &[u8]) -> bool {
    ctx.srv.keyspace.dbs[ctx.client.db].entries.contains_key(key)
}

fn b(s: impl Into<Vec<u8>>) -> Bytes {
    Bytes::from(s.into())
}

/// The first element of a reply that is an array (the key a blocking pop served), and the
/// length of its second element when that is an array too (how many LMPOP popped).
fn served_key(reply: &[u8]) -> Option<(Bytes, Option<usize>)> {
    let mut buf = bytes::BytesMut::from(reply);
    match crate::resp::Frame::decode(&mut buf) {
        Ok(Some(crate::resp::Frame::Array(items))) => {
            let key = match items.first()? {
                crate::resp::Frame::Bulk(k) => k.clone(),
                _ => return None,
            };
            let popped = match items.get(1) {
                Some(crate::resp::Frame::Array(v)) => Some(v.len()),
                _ => None,
            };
            Some((key, popped))
        }
        _ => None,
    }
}

/// The ops to propagate instead of the command (`None`: the command as sent).
fn rewrite(ctx: &Ctx, name: &str, args: &[Bytes], reply_start: usize) -> Option<Vec<Vec<Bytes>>> {
    let one = |op: Vec<Bytes>| Some(vec![op]);
    match name {
        "expire" | "pexpire" | "expireat" | "pexpireat" => {
            let key = &args[1];
            if !key_exists(ctx, key) {
                return one(vec![b("DEL"), key.clone()]);
            }
            let at = expire_ms(ctx, key)?;
            // The options (NX, XX, GT, LT) stay: the replica checks them against its TTL.
            let mut op = vec![b("PEXPIREAT"), key.clone(), b(at.to_string())];
            op.extend(args[3..].iter().cloned());
            one(op)
        }
        "restore" => {
            // A relative TTL leaves as the deadline with ABSTTL (`restoreCommand`), so a
            // replica or a late AOF replay computes the same expiry.
            let key = &args[1];
            if !key_exists(ctx, key) {
                return one(vec![b("DEL"), key.clone()]);
            }
            let relative_ttl = crate::resp::parse_i64(&args[2]).is_some_and(|t| t != 0);
            if !relative_ttl || args[4..].iter().any(|a| eq_ic(a, "absttl")) {
                return None;
            }
            let mut op = args.to_vec();
            op[2] = b(expire_ms(ctx, key)?.to_string());
            op.push(b("ABSTTL"));
            one(op)
        }
        "getset" => one(vec![b("SET"), args[1].clone(), args[2].clone()]),
        "getdel" => one(vec![b("DEL"), args[1].clone()]),
        "blpop" | "brpop" | "bzpopmin" | "bzpopmax" => {
            let (key, _) = served_key(&ctx.client.reply.buf[reply_start..])?;
            let op = match name {
                "blpop" => "LPOP",
                "brpop" => "RPOP",
                "bzpopmin" => "ZPOPMIN",
                _ => "ZPOPMAX",
            };
            one(vec![b(op), key])
        }
        "lmpop" | "blmpop" | "zmpop" | "bzmpop" => {
            let (key, popped) = served_key(&ctx.client.reply.buf[reply_start..])?;
            // Which end: the LEFT/RIGHT (MIN/MAX) word after the keys.
            let numkeys_at = if name.starts_with('b') { 2 } else { 1 };
            let numkeys = crate::resp::parse_i64(&args[numkeys_at]).unwrap_or(0).max(0) as usize;
            let end = args.get(numkeys_at + 1 + numkeys)?;
            let op = match (name.contains('z'), eq_ic(end, "left") || eq_ic(end, "min")) {
                (false, true) => "LPOP",
                (false, false) => "RPOP",
                (true, true) => "ZPOPMIN",
                (true, false) => "ZPOPMAX",
            };
            one(vec![b(op), key, b(popped.unwrap_or(1).to_string())])
        }
        "brpoplpush" => one(vec![b("RPOPLPUSH"), args[1].clone(), args[2].clone()]),
        "blmove" => one(vec![b("LMOVE"), args[1].clone(), args[2].clone(), args[3].clone(), args[4].clone()]),
        "set" | "setex" | "psetex" => {
            let (key, value) = if name == "set" { (&args[1], &args[2]) } else { (&args[1], &args[3]) };
            let has_ttl_option = name != "set"
                || args[3..].iter().any(|a| eq_ic(a, "ex") || eq_ic(a, "px") || eq_ic(a, "exat") || eq_ic(a, "pxat"));
            if has_ttl_option {
                if !key_exists(ctx, key) {
                    // EXAT/PXAT in the past: the key was deleted at once.
                    return one(vec![b("DEL"), key.clone()]);
                }
                let at = expire_ms(ctx, key)?;
                return one(vec![b("SET"), key.clone(), value.clone(), b("PXAT"), b(at.to_string())]);
            }
            // GET is a question for the caller, not part of the write.
            if args[3..].iter().any(|a| eq_ic(a, "get")) {
                let mut op = args[..3].to_vec();
                op.extend(args[3..].iter().filter(|a| !eq_ic(a, "get")).cloned());
                return one(op);
            }
            None
        }
        "getex" => {
            let key = &args[1];
            match expire_ms(ctx, key) {
                Some(at) => one(vec![b("PEXPIREAT"), key.clone(), b(at.to_string())]),
                None if key_exists(ctx, key) => one(vec![b("PERSIST"), key.clone()]),
                None => one(vec![b("DEL"), key.clone()]),
            }
        }
        "incrbyfloat" => {
            let key = &args[1];
            match ctx.srv.keyspace.dbs[ctx.client.db].entries.get(&key[..]) {
                Some(Value::Str(v)) => one(vec![b("SET"), key.clone(), Bytes::copy_from_slice(v), b("KEEPTTL")]),
                _ => None,
            }
        }
        "hincrbyfloat" => {
            let (key, field) = (&args[1], &args[2]);
            match ctx.srv.keyspace.dbs[ctx.client.db].entries.get(&key[..]) {
                Some(Value::Hash(h)) => {
                    let v = h.get(&field[..])?;
                    one(vec![b("HSET"), key.clone(), field.clone(), v.clone()])
                }
                _ => None,
            }
        }
        "spop" => {
            let members = reply_items(&ctx.client.reply.buf[reply_start..]);
            if members.is_empty() {
                return Some(Vec::new());
            }
            // SPOP with a count that emptied the set: the set is simply gone.
            if args.len() > 2 && !key_exists(ctx, &args[1]) {
                return one(vec![b("DEL"), args[1].clone()]);
            }
            Some(members.into_iter().map(|m| vec![b("SREM"), args[1].clone(), m]).collect())
        }
        _ => None,
    }
}
