//! Transactions: `MULTI`, `EXEC`, `DISCARD`, `WATCH`, `UNWATCH`.
//!
//! After `MULTI` every command is checked (name, arity) and queued with `+QUEUED`; `EXEC`
//! runs the queue without interleaving other clients' commands and replies with an array of
//! the replies. A command that failed to queue makes `EXEC` answer
//! `EXECABORT Transaction discarded because of previous errors.`; a runtime error inside the
//! queue (e.g. WRONGTYPE) is just one element of the array, the rest still runs.
//!
//! `WATCH` is optimistic locking: if any watched key is modified by anyone (the watching
//! client included) before `EXEC`, or expires, `EXEC` answers a null array and runs nothing.
//! A key that was already logically expired when it was watched is "stale": its deletion is
//! no change, so neither lazy expiry nor a flush of it fails the transaction (Redis's
//! `watchedKey.expired`, `touchWatchedKey`, `touchAllWatchedKeysInDb`, `isWatchedKeyExpired`).

use super::{Ctx, Handler};
use crate::node::{Client, ConnId, NodeState};
use bytes::Bytes;
use rustc_hash::{FxHashMap, FxHashSet};

/// What WATCH keeps server-side (Redis's `db->watched_keys` and the `CLIENT_DIRTY_CAS` flag).
#[derive(Debug, Default)]
pub struct Watches {
    /// `(db, key)` → the clients that WATCH it, in the order they did. Each client's
    /// `watched` lists the same pairs, to unwatch them. Invariant: no empty list (the last
    /// watcher to go removes the key), so an empty table means no WATCH anywhere.
    pub(crate) by_key: FxHashMap<(usize, Bytes), Vec<Watcher>>,
    /// Clients whose watched keys were touched: their EXEC answers a null array (Redis's
    /// `CLIENT_DIRTY_CAS`). Kept here rather than on the client, because the client running
    /// a command is the one most likely to touch its own watched key. Invariant: a client
    /// leaves it when it unwatches (EXEC, DISCARD, UNWATCH, going away).
    pub(crate) touched: FxHashSet<ConnId>,
}

/// A client watching one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watcher {
    pub conn: ConnId,
    /// The key was already expired when WATCH ran.
    pub expired: bool,
}

fn key_is_expired(srv: &NodeState, db: usize, key: &[u8], now: u64) -> bool {
    srv.keyspace.dbs[db].expire_at(key).is_some_and(|at| at <= now)
}

/// `key` in `db` changed: every client watching it will fail its EXEC — except one that
/// watched it already stale, for which the deletion of that stale key changes nothing.
pub fn touch_watched_key(srv: &mut NodeState, db: usize, key: &[u8]) {
    if srv.watches.by_key.is_empty() {
        return;
    }
    let exists = srv.keyspace.dbs[db].entries.contains_key(key);
    let Some(watchers) = srv.watches.by_key.get_mut(&(db, Bytes::copy_from_slice(key))) else { return };
    for w in watchers.iter_mut() {
        if w.expired {
            if !exists {
                // The stale key is gone: logically nothing changed, and it is no longer stale.
                w.expired = false;
                continue;
            }
            // As 7.0's loop does, a stale key that exists again stops the marking here.
            break;
        }
        srv.watches.touched.insert(w.conn);
    }
}

/// `emptied` is about to be flushed (`replaced_with`: or swapped with that db, SWAPDB): the
/// watchers of keys that exist in either fail their EXEC, stale keys aside.
pub fn touch_all_watched_keys_in_db(srv: &mut NodeState, emptied: usize, replaced_with: Option<usize>) {
    if srv.watches.by_key.is_empty() {
        return;
    }
    let now = srv.now;
    let keys: Vec<Bytes> = srv.watches.by_key.keys().filter(|(d, _)| *d == emptied).map(|(_, k)| k.clone()).collect();
    for key in keys {
        let in_emptied = srv.keyspace.dbs[emptied].entries.contains_key(&key[..]);
        let in_replacement = replaced_with.is_some_and(|r| srv.keyspace.dbs[r].entries.contains_key(&key[..]));
        if !in_emptied && !in_replacement {
            continue;
        }
        let replacement_expired = replaced_with.is_some_and(|r| key_is_expired(srv, r, &key, now));
        let mut dirty = Vec::new();
        if let Some(watchers) = srv.watches.by_key.get_mut(&(emptied, key.clone())) {
            for w in watchers.iter_mut() {
                if w.expired {
                    if !in_replacement {
                        w.expired = false;
                        continue;
                    } else if replacement_expired {
                        continue;
                    }
                } else if !in_emptied && replacement_expired {
                    // A missing key replaced by a stale one.
                    w.expired = true;
                    continue;
                }
                dirty.push(w.conn);
            }
        }
        srv.watches.touched.extend(dirty);
    }
}

/// Whether a key the client watched (not stale at the time) has expired since.
fn watched_key_expired(srv: &NodeState, client: &Client, now: u64) -> bool {
    client.watched.iter().any(|(db, key)| {
        let stale = srv
            .watches
            .by_key
            .get(&(*db, key.clone()))
            .and_then(|v| v.iter().find(|w| w.conn == client.conn))
            .is_some_and(|w| w.expired);
        !stale && key_is_expired(srv, *db, key, now)
    })
}

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

/// Leave MULTI, forgetting the queue and the watched keys (Redis's `discardTransaction`).
pub fn discard_transaction(ctx: &mut Ctx) {
    reset_multi(ctx);
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
    if ctx.srv.watches.touched.contains(&ctx.client.conn) || watched_key_expired(ctx.srv, ctx.client, now) {
        reset_multi(ctx);
        return ctx.reply().null_array();
    }
    unwatch_all(ctx.srv, ctx.client);
    ctx.reply().array(queue.len());
    ctx.client.in_exec = true;
    // What the queued commands propagate accumulates until EXEC's own call ends, and reaches
    // replicas wrapped in MULTI … EXEC when there is more than one write.
    for mut args in queue {
        // The commands were checked when queued; run them like any other.
        match super::lookup_as(&ctx.srv.config, &args[0]) {
            Some(cmd) => super::call(ctx, cmd, &mut args),
            None => ctx.error("ERR unknown command"),
        }
    }
    ctx.client.in_exec = false;
    ctx.client.multi_failed = false;
}

fn watch(ctx: &mut Ctx, args: &mut [Bytes]) {
    if ctx.client.multi.is_some() {
        return ctx.error("ERR WATCH inside MULTI is not allowed");
    }
    // No point in watching more once the transaction is bound to fail.
    if ctx.srv.watches.touched.contains(&ctx.client.conn) {
        return ctx.ok();
    }
    let db = ctx.client.db;
    let now = ctx.now;
    for key in &args[1..] {
        let entry = (db, key.clone());
        if ctx.client.watched.contains(&entry) {
            continue;
        }
        let expired = key_is_expired(ctx.srv, db, key, now);
        ctx.srv.watches.by_key.entry(entry.clone()).or_default().push(Watcher { conn: ctx.client.conn, expired });
        ctx.client.watched.push(entry);
    }
    ctx.ok();
}

fn unwatch(ctx: &mut Ctx, _args: &mut [Bytes]) {
    unwatch_all(ctx.srv, ctx.client);
    ctx.ok();
}

/// Forget every key the client watches.
pub fn unwatch_all(srv: &mut NodeState, client: &mut Client) {
    for entry in client.watched.drain(..) {
        if let Some(v) = srv.watches.by_key.get_mut(&entry) {
            v.retain(|w| w.conn != client.conn);
            if v.is_empty() {
                srv.watches.by_key.remove(&entry);
            }
        }
    }
    srv.watches.touched.remove(&client.conn);
}
