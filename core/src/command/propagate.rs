//! What a write command sends down the replication stream (Redis's `alsoPropagate` and the
//! argument rewrites of 7.0).
//!
//! A command is propagated when it changed the dataset (`dirty` moved for something other
//! than a lazily expired key). Most go as they were sent. A few would mean something else on
//! a replica that runs them later, or have a random outcome, so 7.0 rewrites them:
//!
//! | executed | propagated |
//! | --- | --- |
//! | `EXPIRE`/`PEXPIRE`/`EXPIREAT` key t | `PEXPIREAT key <absolute ms>` (`DEL key` if already past) |
//! | `SET … EX/PX/EXAT`, `SETEX`, `PSETEX` | `SET key value PXAT <absolute ms>` |
//! | `GETEX key EX…` / `PERSIST` | `PEXPIREAT key <ms>` / `PERSIST key` |
//! | `INCRBYFLOAT key n` | `SET key <result> KEEPTTL` |
//! | `HINCRBYFLOAT key f n` | `HSET key f <result>` |
//! | `SPOP key [n]` | `SREM key <the members popped>` |
//!
//! `PUBLISH` is propagated even though it writes nothing, so a replica's subscribers hear it.

use super::{eq_ic, Ctx};
use crate::command::meta::CommandMeta;
use crate::keyspace::Value;
use crate::replication::reply_items;
use bytes::Bytes;

/// Whether a command may need propagating (so its arguments are kept before it runs).
pub fn may_propagate(meta: &CommandMeta) -> bool {
    meta.has_flag("write") || meta.name == "publish"
}

/// Propagate `args` (as the client sent them) after the handler ran.
pub fn after_call(ctx: &mut Ctx, meta: &CommandMeta, args: &[Bytes], changed: bool, reply_start: usize) {
    if meta.name == "publish" {
        if ctx.client.reply.buf.get(reply_start) != Some(&b'-') {
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
    let rewritten = rewrite(ctx, meta.name, args, reply_start);
    let out: Vec<&[u8]> = match &rewritten {
        Some(r) => r.iter().map(|a| a.as_ref()).collect(),
        None => args.iter().map(|a| a.as_ref()).collect(),
    };
    if out.is_empty() {
        return;
    }
    ctx.srv.propagate(db, &out);
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

/// The rewritten command, or `None` to propagate the original.
fn rewrite(ctx: &Ctx, name: &str, args: &[Bytes], reply_start: usize) -> Option<Vec<Bytes>> {
    match name {
        "expire" | "pexpire" | "expireat" | "pexpireat" => {
            let key = &args[1];
            if !key_exists(ctx, key) {
                return Some(vec![b("DEL"), key.clone()]);
            }
            let at = expire_ms(ctx, key)?;
            Some(vec![b("PEXPIREAT"), key.clone(), b(at.to_string())])
        }
        "set" | "setex" | "psetex" => {
            let (key, value) = if name == "set" { (&args[1], &args[2]) } else { (&args[1], &args[3]) };
            let has_ttl_option = name != "set"
                || args[3..].iter().any(|a| eq_ic(a, "ex") || eq_ic(a, "px") || eq_ic(a, "exat") || eq_ic(a, "pxat"));
            if has_ttl_option {
                let at = expire_ms(ctx, key)?;
                return Some(vec![b("SET"), key.clone(), value.clone(), b("PXAT"), b(at.to_string())]);
            }
            // GET is a question for the caller, not part of the write.
            if args[3..].iter().any(|a| eq_ic(a, "get")) {
                return Some(args.iter().filter(|a| !eq_ic(a, "get")).cloned().collect());
            }
            None
        }
        "getex" => {
            let key = &args[1];
            match expire_ms(ctx, key) {
                Some(at) => Some(vec![b("PEXPIREAT"), key.clone(), b(at.to_string())]),
                None if key_exists(ctx, key) => Some(vec![b("PERSIST"), key.clone()]),
                None => Some(vec![b("DEL"), key.clone()]),
            }
        }
        "incrbyfloat" => {
            let key = &args[1];
            match ctx.srv.keyspace.dbs[ctx.client.db].entries.get(&key[..]) {
                Some(Value::Str(v)) => Some(vec![b("SET"), key.clone(), Bytes::copy_from_slice(v), b("KEEPTTL")]),
                _ => None,
            }
        }
        "hincrbyfloat" => {
            let (key, field) = (&args[1], &args[2]);
            match ctx.srv.keyspace.dbs[ctx.client.db].entries.get(&key[..]) {
                Some(Value::Hash(h)) => {
                    let v = h.get(&field[..])?;
                    Some(vec![b("HSET"), key.clone(), field.clone(), v.clone()])
                }
                _ => None,
            }
        }
        "spop" => {
            let members = reply_items(&ctx.client.reply.buf[reply_start..]);
            if members.is_empty() {
                return Some(Vec::new());
            }
            let mut out = vec![b("SREM"), args[1].clone()];
            out.extend(members);
            Some(out)
        }
        _ => None,
    }
}
