//! Publish/subscribe: `SUBSCRIBE`, `PSUBSCRIBE`, `UNSUBSCRIBE`, `PUNSUBSCRIBE`, `PUBLISH`,
//! `PUBSUB CHANNELS|NUMSUB|NUMPAT`.
//!
//! A subscriber receives pushes shaped like
//!
//! ```text
//! *3  $7 message  $<channel>  $<payload>              (RESP2: an array)
//! >4  $8 pmessage $<pattern> $<channel> $<payload>   (RESP3: a push)
//! ```
//!
//! Subscribing confirms each channel with `subscribe <channel> <count>` where count is the
//! client's total number of subscriptions. A RESP2 subscriber may only (un)subscribe, PING,
//! QUIT or RESET; a RESP3 client can mix pushes with ordinary replies.
//!
//! ## Keyspace notifications
//!
//! With `notify-keyspace-events` set, every change to the dataset is also published on two
//! channels (Redis's `notifyKeyspaceEvent` in notify.c):
//!
//! ```text
//! PUBLISH __keyspace@0__:mykey lpush       K: the key's channel, the event as message
//! PUBLISH __keyevent@0__:lpush mykey       E: the event's channel, the key as message
//! ```
//!
//! Each event belongs to one class, and only the classes named in the flags are published:
//! `g` generic (`del`, `expire`, `rename_from`, …), `$` strings, `l` lists, `s` sets, `h`
//! hashes, `z` sorted sets, `x` expired (lazy or active expiry), `e` evicted (maxmemory), `t`
//! streams, `d` modules, `n` new (a key added to the dataset) and `m` key misses (a read of a
//! missing key); `A` is `g$lshzxetd` (not `n`, not `m`). Without `K` or `E` nothing is
//! published at all. A command fires its events where it changes the key, so a subscriber
//! sees them in the order the changes happened: `RENAME` fires `rename_from` then
//! `rename_to`, and an `LPOP` that empties a list fires `lpop` then `del`.

use super::{eq_ic, Ctx, Handler};
use crate::keyspace::CompactBytes;
use crate::node::{Client, ConnId, NodeState};
use crate::pattern::glob_match;
use crate::resp::ReplyBuf;
use bytes::Bytes;

/// Who the server pushes to unasked (Redis's `server.pubsub_channels`, `pubsub_patterns`,
/// `pubsubshard_channels` and `monitors`). Each client keeps the other side of the same pairs
/// ([`Client`]'s `subscriptions`, `patterns`, `shard_subscriptions`, `monitor`), so that it
/// can leave them all when it goes ([`unsubscribe_all`]).
#[derive(Debug, Default)]
pub struct Subscribers {
    /// Channel → its subscribers, in the order they subscribed. Invariant: no channel has an
    /// empty list (the last one to leave removes it), so `len()` is INFO's `pubsub_channels`.
    pub(crate) channels: crate::keyspace::Map<Bytes, Vec<ConnId>>,
    /// Pattern → its subscribers (`PSUBSCRIBE`); no empty list either.
    pub(crate) patterns: crate::keyspace::Map<Bytes, Vec<ConnId>>,
    /// Shard channel (`SSUBSCRIBE`) → its subscribers (Redis's `pubsubshard_channels`),
    /// counted apart from the others; no empty list either.
    pub(crate) shard_channels: crate::keyspace::Map<Bytes, Vec<ConnId>>,
    /// Clients in MONITOR mode: they are pushed every command the server runs.
    pub(crate) monitors: Vec<ConnId>,
}

impl Subscribers {
    /// Whether anyone hears a PUBLISH (or a keyspace event) on an ordinary channel: a channel
    /// or a pattern subscriber. Shard channels do not count.
    pub(crate) fn anyone_listens(&self) -> bool {
        !self.channels.is_empty() || !self.patterns.is_empty()
    }
}

pub const COMMANDS: &[(&str, Handler)] = &[
    ("subscribe", subscribe),
    ("psubscribe", psubscribe),
    ("unsubscribe", unsubscribe),
    ("punsubscribe", punsubscribe),
    ("publish", publish),
    ("pubsub", pubsub),
    ("ssubscribe", ssubscribe),
    ("sunsubscribe", sunsubscribe),
    ("spublish", spublish),
];

fn subscription_count(c: &Client) -> usize {
    c.subscriptions.len() + c.patterns.len()
}

fn push_confirm(r: &mut ReplyBuf, kind: &str, name: Option<&[u8]>, count: usize) {
    r.push(3);
    r.bulk_str(kind);
    match name {
        Some(n) => r.bulk(n),
        None => r.null(),
    }
    r.int(count as i64);
}

fn subscribe(ctx: &mut Ctx, args: &mut [Bytes]) {
    for ch in &args[1..] {
        if ctx.client.subscriptions.insert(ch.clone()) {
            ctx.srv.pubsub.channels.entry(ch.clone()).or_default().push(ctx.client.conn);
        }
        let n = subscription_count(ctx.client);
        push_confirm(&mut ctx.client.reply, "subscribe", Some(ch), n);
    }
}

fn psubscribe(ctx: &mut Ctx, args: &mut [Bytes]) {
    for p in &args[1..] {
        if ctx.client.patterns.insert(p.clone()) {
            ctx.srv.pubsub.patterns.entry(p.clone()).or_default().push(ctx.client.conn);
        }
        let n = subscription_count(ctx.client);
        push_confirm(&mut ctx.client.reply, "psubscribe", Some(p), n);
    }
}

fn remove_sub(table: &mut crate::keyspace::Map<Bytes, Vec<u64>>, name: &[u8], conn: u64) {
    if let Some(v) = table.get_mut(name) {
        v.retain(|&c| c != conn);
        if v.is_empty() {
            table.shift_remove(name);
        }
    }
}

fn unsubscribe(ctx: &mut Ctx, args: &mut [Bytes]) {
    let names: Vec<Bytes> =
        if args.len() > 1 { args[1..].to_vec() } else { ctx.client.subscriptions.iter().cloned().collect() };
    if names.is_empty() {
        let n = subscription_count(ctx.client);
        push_confirm(&mut ctx.client.reply, "unsubscribe", None, n);
    }
    for ch in names {
        if ctx.client.subscriptions.shift_remove(&ch[..]) {
            remove_sub(&mut ctx.srv.pubsub.channels, &ch, ctx.client.conn);
        }
        let n = subscription_count(ctx.client);
        push_confirm(&mut ctx.client.reply, "unsubscribe", Some(&ch), n);
    }
}

fn punsubscribe(ctx: &mut Ctx, args: &mut [Bytes]) {
    let names: Vec<Bytes> =
        if args.len() > 1 { args[1..].to_vec() } else { ctx.client.patterns.iter().cloned().collect() };
    if names.is_empty() {
        let n = subscription_count(ctx.client);
        push_confirm(&mut ctx.client.reply, "punsubscribe", None, n);
    }
    for p in names {
        if ctx.client.patterns.shift_remove(&p[..]) {
            remove_sub(&mut ctx.srv.pubsub.patterns, &p, ctx.client.conn);
        }
        let n = subscription_count(ctx.client);
        push_confirm(&mut ctx.client.reply, "punsubscribe", Some(&p), n);
    }
}

/// `SSUBSCRIBE shardchannel …`: a shard channel lives in the hash slot of its name, so in a
/// cluster its messages stay within the shard that owns the slot (the command table routes it
/// like a key). Confirmations count the shard subscriptions alone (`clientShardSubscriptionsCount`).
fn ssubscribe(ctx: &mut Ctx, args: &mut [Bytes]) {
    for ch in &args[1..] {
        if ctx.client.shard_subscriptions.insert(ch.clone()) {
            ctx.srv.pubsub.shard_channels.entry(ch.clone()).or_default().push(ctx.client.conn);
        }
        let n = ctx.client.shard_subscriptions.len();
        push_confirm(&mut ctx.client.reply, "ssubscribe", Some(ch), n);
    }
}

/// `SUNSUBSCRIBE [shardchannel …]`: without names, every shard channel; with none to leave, one
/// confirmation with a null channel.
fn sunsubscribe(ctx: &mut Ctx, args: &mut [Bytes]) {
    let names: Vec<Bytes> =
        if args.len() > 1 { args[1..].to_vec() } else { ctx.client.shard_subscriptions.iter().cloned().collect() };
    if names.is_empty() {
        push_confirm(&mut ctx.client.reply, "sunsubscribe", None, 0);
    }
    for ch in names {
        if ctx.client.shard_subscriptions.shift_remove(&ch[..]) {
            remove_sub(&mut ctx.srv.pubsub.shard_channels, &ch, ctx.client.conn);
        }
        let n = ctx.client.shard_subscriptions.len();
        push_confirm(&mut ctx.client.reply, "sunsubscribe", Some(&ch), n);
    }
}

/// `SPUBLISH shardchannel message`: an `smessage` to the shard channel's subscribers (never to
/// patterns or ordinary channels). Outside a cluster it is replicated as PUBLISH is.
fn spublish(ctx: &mut Ctx, args: &mut [Bytes]) {
    let n = publish_shard_message(ctx.srv, Some(ctx.client), &args[1], &args[2]);
    ctx.reply().int(n as i64);
}

/// Deliver `smessage shardchannel message` to the shard channel's subscribers.
pub fn publish_shard_message(
    srv: &mut NodeState,
    mut publisher: Option<&mut Client>,
    channel: &[u8],
    message: &[u8],
) -> usize {
    let Some(conns) = srv.pubsub.shard_channels.get(channel).cloned() else { return 0 };
    for &conn in &conns {
        let target = match publisher.as_deref_mut() {
            Some(p) if p.conn == conn => Some(&mut p.reply),
            _ => srv.clients.get_mut(&conn).map(|c| &mut c.reply),
        };
        if let Some(r) = target {
            r.push(3);
            r.bulk_str("smessage");
            r.bulk(channel);
            r.bulk(message);
            srv.obuf.pending_flush.push(conn);
        }
    }
    conns.len()
}

/// Deliver a message to every subscriber; returns how many received it.
pub fn publish_message(srv: &mut NodeState, publisher: Option<&mut Client>, channel: &[u8], message: &[u8]) -> usize {
    let mut receivers = 0;
    let mut publisher = publisher;
    let mut deliver = |srv: &mut NodeState, conn: u64, pattern: Option<&[u8]>| {
        let target = match publisher.as_deref_mut() {
            Some(p) if p.conn == conn => Some(&mut p.reply),
            _ => srv.clients.get_mut(&conn).map(|c| &mut c.reply),
        };
        if let Some(r) = target {
            match pattern {
                None => {
                    r.push(3);
                    r.bulk_str("message");
                }
                Some(p) => {
                    r.push(4);
                    r.bulk_str("pmessage");
                    r.bulk(p);
                }
            }
            r.bulk(channel);
            r.bulk(message);
            srv.obuf.pending_flush.push(conn);
        }
    };
    if let Some(conns) = srv.pubsub.channels.get(channel).cloned() {
        for conn in conns {
            deliver(srv, conn, None);
            receivers += 1;
        }
    }
    let patterns: Vec<(Bytes, Vec<u64>)> = srv
        .pubsub
        .patterns
        .iter()
        .filter(|(p, _)| glob_match(p, channel, false))
        .map(|(p, v)| (p.clone(), v.clone()))
        .collect();
    for (p, conns) in patterns {
        for conn in conns {
            deliver(srv, conn, Some(&p));
            receivers += 1;
        }
    }
    receivers
}

fn publish(ctx: &mut Ctx, args: &mut [Bytes]) {
    let n = publish_message(ctx.srv, Some(ctx.client), &args[1], &args[2]);
    ctx.reply().int(n as i64);
}

fn pubsub(ctx: &mut Ctx, args: &mut [Bytes]) {
    let sub = &args[1];
    if eq_ic(sub, "CHANNELS") && args.len() <= 3 {
        let chans: Vec<Bytes> = ctx
            .srv
            .pubsub
            .channels
            .keys()
            .filter(|c| args.len() == 2 || glob_match(&args[2], c, false))
            .cloned()
            .collect();
        ctx.reply().array(chans.len());
        for c in chans {
            ctx.reply().bulk(&c);
        }
    } else if eq_ic(sub, "NUMSUB") {
        let counts: Vec<(Bytes, usize)> = args[2..]
            .iter()
            .map(|c| (c.clone(), ctx.srv.pubsub.channels.get(&c[..]).map(|v| v.len()).unwrap_or(0)))
            .collect();
        // A flat array of channel, count pairs in both protocols, as Redis 7.0 replies.
        ctx.reply().array(counts.len() * 2);
        for (c, n) in counts {
            ctx.reply().bulk(&c);
            ctx.reply().int(n as i64);
        }
    } else if eq_ic(sub, "NUMPAT") && args.len() == 2 {
        let n = ctx.srv.pubsub.patterns.len();
        ctx.reply().int(n as i64);
    } else if eq_ic(sub, "SHARDCHANNELS") && args.len() <= 3 {
        let chans: Vec<Bytes> = ctx
            .srv
            .pubsub
            .shard_channels
            .keys()
            .filter(|c| args.len() == 2 || glob_match(&args[2], c, false))
            .cloned()
            .collect();
        ctx.reply().array(chans.len());
        for c in chans {
            ctx.reply().bulk(&c);
        }
    } else if eq_ic(sub, "SHARDNUMSUB") {
        let counts: Vec<(Bytes, usize)> = args[2..]
            .iter()
            .map(|c| (c.clone(), ctx.srv.pubsub.shard_channels.get(&c[..]).map(|v| v.len()).unwrap_or(0)))
            .collect();
        ctx.reply().array(counts.len() * 2);
        for (c, n) in counts {
            ctx.reply().bulk(&c);
            ctx.reply().int(n as i64);
        }
    } else if eq_ic(sub, "HELP") && args.len() == 2 {
        let lines = [
            "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
            "HELP",
            "    Prints this help.",
        ];
        super::reply_help(ctx, &lines);
    } else {
        ctx.error(&format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
            String::from_utf8_lossy(sub)
        ));
    }
}

/// Drop every subscription of a departing client.
pub fn unsubscribe_all(srv: &mut NodeState, client: &mut Client) {
    for ch in client.subscriptions.drain(..) {
        remove_sub(&mut srv.pubsub.channels, &ch, client.conn);
    }
    for p in client.patterns.drain(..) {
        remove_sub(&mut srv.pubsub.patterns, &p, client.conn);
    }
    for ch in client.shard_subscriptions.drain(..) {
        remove_sub(&mut srv.pubsub.shard_channels, &ch, client.conn);
    }
}

/// The classes of keyspace events (Redis's `NOTIFY_*` flags, server.h).
pub mod class {
    pub const KEYSPACE: u32 = 1 << 0;
    pub const KEYEVENT: u32 = 1 << 1;
    pub const GENERIC: u32 = 1 << 2;
    pub const STRING: u32 = 1 << 3;
    pub const LIST: u32 = 1 << 4;
    pub const SET: u32 = 1 << 5;
    pub const HASH: u32 = 1 << 6;
    pub const ZSET: u32 = 1 << 7;
    pub const EXPIRED: u32 = 1 << 8;
    pub const EVICTED: u32 = 1 << 9;
    pub const STREAM: u32 = 1 << 10;
    /// Excluded from `A` on purpose: every read of a missing key fires it.
    pub const KEY_MISS: u32 = 1 << 11;
    pub const MODULE: u32 = 1 << 13;
    pub const NEW: u32 = 1 << 14;
    pub const ALL: u32 = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;
}

/// `keyspaceEventsStringToFlags`: the flags a `notify-keyspace-events` value names, or `None`
/// when it holds a character that names no class.
pub fn event_flags_from_str(classes: &str) -> Option<u32> {
    let mut flags = 0;
    for c in classes.chars() {
        flags |= match c {
            'A' => class::ALL,
            'g' => class::GENERIC,
            '$' => class::STRING,
            'l' => class::LIST,
            's' => class::SET,
            'h' => class::HASH,
            'z' => class::ZSET,
            'x' => class::EXPIRED,
            'e' => class::EVICTED,
            'K' => class::KEYSPACE,
            'E' => class::KEYEVENT,
            't' => class::STREAM,
            'm' => class::KEY_MISS,
            'd' => class::MODULE,
            'n' => class::NEW,
            _ => return None,
        };
    }
    Some(flags)
}

/// `keyspaceEventsFlagsToString`: how CONFIG GET shows the flags — `A` for all the classes it
/// covers, else each class in a fixed order, then `K`, `E` and `m` (`KA` reads back `AK`).
pub fn event_flags_to_string(flags: u32) -> String {
    let mut s = String::new();
    if flags & class::ALL == class::ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (class::GENERIC, 'g'),
            (class::STRING, '$'),
            (class::LIST, 'l'),
            (class::SET, 's'),
            (class::HASH, 'h'),
            (class::ZSET, 'z'),
            (class::EXPIRED, 'x'),
            (class::EVICTED, 'e'),
            (class::STREAM, 't'),
            (class::MODULE, 'd'),
            (class::NEW, 'n'),
        ] {
            if flags & bit != 0 {
                s.push(c);
            }
        }
    }
    for (bit, c) in [(class::KEYSPACE, 'K'), (class::KEYEVENT, 'E'), (class::KEY_MISS, 'm')] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// The keyspace event classes in force (the config holds them normalized).
pub fn event_flags(srv: &NodeState) -> u32 {
    let flags = srv.config.get_str("notify-keyspace-events");
    if flags.is_empty() {
        return 0;
    }
    event_flags_from_str(&flags).unwrap_or(0)
}

/// Whether an event of `class` would be published now: its class is on, one of `K`/`E` is,
/// and someone is subscribed to something (else the messages would reach nobody).
pub fn wants_event(srv: &NodeState, event_class: u32) -> bool {
    if !srv.pubsub.anyone_listens() {
        return false;
    }
    let flags = event_flags(srv);
    flags & event_class != 0 && flags & (class::KEYSPACE | class::KEYEVENT) != 0
}

/// Redis's `notifyKeyspaceEvent`: publish `event` about `key` of database `db` on the key's
/// channel (`K`) and on the event's channel (`E`), if its class is enabled. `current` is the
/// client running the command, which is not in `srv.clients` while it runs (it may be
/// subscribed itself, in RESP3).
pub fn notify_keyspace_event(
    srv: &mut NodeState,
    mut current: Option<&mut Client>,
    event_class: u32,
    event: &str,
    key: &[u8],
    db: usize,
) {
    if !srv.pubsub.anyone_listens() {
        return;
    }
    let flags = event_flags(srv);
    if flags & event_class == 0 {
        return;
    }
    if flags & class::KEYSPACE != 0 {
        let mut channel = format!("__keyspace@{db}__:").into_bytes();
        channel.extend_from_slice(key);
        publish_message(srv, current.as_deref_mut(), &channel, event.as_bytes());
    }
    if flags & class::KEYEVENT != 0 {
        let channel = format!("__keyevent@{db}__:{event}");
        publish_message(srv, current, channel.as_bytes(), key);
    }
}

/// Publish the `new` events of keys added since the last call (see
/// [`crate::keyspace::Db::track_new_keys`]), in the order they were added: Redis fires `new`
/// inside `dbAdd`, before the command's own event about the key.
pub fn notify_new_keys(srv: &mut NodeState, mut current: Option<&mut Client>) {
    for db in 0..srv.keyspace.dbs.len() {
        let created: Vec<CompactBytes> = srv.keyspace.dbs[db].take_new_keys();
        for key in created {
            notify_keyspace_event(srv, current.as_deref_mut(), class::NEW, "new", &key, db);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_flags_read_back_as_redis_normalizes_them() {
        let norm = |s: &str| event_flags_to_string(event_flags_from_str(s).unwrap());
        assert_eq!(norm("gKE"), "gKE");
        assert_eq!(norm("$lshzxeKE"), "$lshzxeKE");
        assert_eq!(norm("KA"), "AK");
        assert_eq!(norm("EA"), "AE");
        assert_eq!(norm("mnKEA"), "AKEm");
        assert_eq!(norm("Agn"), "A");
        assert_eq!(norm(""), "");
        assert_eq!(event_flags_from_str("KEX"), None);
    }
}
