//! Transactions: `MULTI`, `EXEC`, `DISCARD`, `WATCH`, `UNWATCH`.
//!
//! After `MULTI` every command is checked (name, arity) and queued with `+QUEUED`; `EXEC`
//! runs the queue without interleaving other clients' commands and replies with an array of
//! the replies. A command that failed to queue makes `EXEC` answer
//! `EXECABORT Transaction discarded because of previous errors.`; a runtime error inside the
//! queue (e.g. WRONGTYPE) is just one element of the array, the rest still runs.
//!
//! `WATCH` is optimistic locking: if any watched key is modified by anyone before `EXEC`,
//! `EXEC` answers a null array and runs nothing.

use super::{Ctx, Handler};
use crate::node::{Client, Server};
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] =
    &[("multi", multi), ("exec", exec), ("discard", discard), ("watch", watch), ("unwatch", unwatch)];

fn multi(ctx: &mut Ctx, _args: &mut [Bytes]) {
    if ctx.client.multi.is_some() {
        return ctx.error("ERR MULTI calls can not be nested");
    }
    ctx.client.multi = Some(Vec::new());
    ctx.client.multi_failed = false;
    ctx.ok();
}

fn reset_multi(ctx: &mut Ctx) {
    ctx.client.multi = None;
    ctx.client.multi_failed = false;
    unwatch_all(ctx.srv, ctx.client);
}

fn discard(ctx: &mut Ctx, _args: &mut [Bytes]) {
    if ctx.client.multi.is_none() {
        return ctx.error("ERR DISCARD without MULTI");
    }
    reset_multi(ctx);
    ctx.ok();
}

fn exec(ctx: &mut Ctx, _args: &mut [Bytes]) {
    let Some(queue) = ctx.client.multi.take() else {
        return ctx.error("ERR EXEC without MULTI");
    };
    if ctx.client.multi_failed {
        reset_multi(ctx);
        return ctx.error("EXECABORT Transaction discarded because of previous errors.");
    }
    // A watched key that expired since WATCH also counts as modified (Redis 7.0).
    let now = ctx.now;
    let expired_watched =
        ctx.client.watched.iter().any(|(db, key)| ctx.srv.keyspace.dbs[*db].expire_at(key).is_some_and(|at| at <= now));
    if ctx.client.dirty_cas || expired_watched {
        reset_multi(ctx);
        return ctx.reply().null_array();
    }
    unwatch_all(ctx.srv, ctx.client);
    ctx.reply().array(queue.len());
    ctx.client.in_exec = true;
    // Writes of the transaction reach replicas wrapped in MULTI … EXEC.
    ctx.srv.repl.in_exec = true;
    for mut args in queue {
        // The commands were checked when queued; run them like any other.
        match super::lookup(&args[0]) {
            Some(cmd) => super::call(ctx, cmd, &mut args),
            None => ctx.error("ERR unknown command"),
        }
    }
    ctx.client.in_exec = false;
    ctx.srv.propagate_exec_end();
    ctx.client.multi_failed = false;
}

fn watch(ctx: &mut Ctx, args: &mut [Bytes]) {
    if ctx.client.multi.is_some() {
        return ctx.error("ERR WATCH inside MULTI is not allowed");
    }
    let db = ctx.client.db;
    for key in &args[1..] {
        let entry = (db, key.clone());
        if ctx.client.watched.contains(&entry) {
            continue;
        }
        ctx.srv.watched.entry(entry.clone()).or_default().push(ctx.client.conn);
        ctx.client.watched.push(entry);
    }
    ctx.ok();
}

fn unwatch(ctx: &mut Ctx, _args: &mut [Bytes]) {
    unwatch_all(ctx.srv, ctx.client);
    ctx.client.dirty_cas = false;
    ctx.ok();
}

/// Forget every key the client watches.
pub fn unwatch_all(srv: &mut Server, client: &mut Client) {
    for entry in client.watched.drain(..) {
        if let Some(v) = srv.watched.get_mut(&entry) {
            v.retain(|&c| c != client.conn);
            if v.is_empty() {
                srv.watched.remove(&entry);
            }
        }
    }
    client.dirty_cas = false;
}
