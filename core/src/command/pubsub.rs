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

use super::{eq_ic, Ctx, Handler};
use crate::node::{Client, Server};
use crate::pattern::glob_match;
use crate::resp::ReplyBuf;
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("subscribe", subscribe),
    ("psubscribe", psubscribe),
    ("unsubscribe", unsubscribe),
    ("punsubscribe", punsubscribe),
    ("publish", publish),
    ("pubsub", pubsub),
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
            ctx.srv.channels.entry(ch.clone()).or_default().push(ctx.client.conn);
        }
        let n = subscription_count(ctx.client);
        push_confirm(&mut ctx.client.reply, "subscribe", Some(ch), n);
    }
}

fn psubscribe(ctx: &mut Ctx, args: &mut [Bytes]) {
    for p in &args[1..] {
        if ctx.client.patterns.insert(p.clone()) {
            ctx.srv.patterns.entry(p.clone()).or_default().push(ctx.client.conn);
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
            remove_sub(&mut ctx.srv.channels, &ch, ctx.client.conn);
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
            remove_sub(&mut ctx.srv.patterns, &p, ctx.client.conn);
        }
        let n = subscription_count(ctx.client);
        push_confirm(&mut ctx.client.reply, "punsubscribe", Some(&p), n);
    }
}

/// Deliver a message to every subscriber; returns how many received it.
pub fn publish_message(srv: &mut Server, publisher: Option<&mut Client>, channel: &[u8], message: &[u8]) -> usize {
    let mut receivers = 0;
    let mut publisher = publisher;
    let mut deliver = |srv: &mut Server, conn: u64, pattern: Option<&[u8]>| {
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
            srv.to_flush.push(conn);
        }
    };
    if let Some(conns) = srv.channels.get(channel).cloned() {
        for conn in conns {
            deliver(srv, conn, None);
            receivers += 1;
        }
    }
    let patterns: Vec<(Bytes, Vec<u64>)> = srv
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
        let chans: Vec<Bytes> =
            ctx.srv.channels.keys().filter(|c| args.len() == 2 || glob_match(&args[2], c, false)).cloned().collect();
        ctx.reply().array(chans.len());
        for c in chans {
            ctx.reply().bulk(&c);
        }
    } else if eq_ic(sub, "NUMSUB") {
        let counts: Vec<(Bytes, usize)> =
            args[2..].iter().map(|c| (c.clone(), ctx.srv.channels.get(&c[..]).map(|v| v.len()).unwrap_or(0))).collect();
        // A flat array of channel, count pairs in both protocols, as Redis 7.0 replies.
        ctx.reply().array(counts.len() * 2);
        for (c, n) in counts {
            ctx.reply().bulk(&c);
            ctx.reply().int(n as i64);
        }
    } else if eq_ic(sub, "NUMPAT") && args.len() == 2 {
        let n = ctx.srv.patterns.len();
        ctx.reply().int(n as i64);
    } else if eq_ic(sub, "SHARDCHANNELS") && args.len() <= 3 {
        ctx.reply().array(0);
    } else if eq_ic(sub, "SHARDNUMSUB") {
        let n = args.len() - 2;
        ctx.reply().array(n * 2);
        for c in &args[2..] {
            ctx.reply().bulk(c);
            ctx.reply().int(0);
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
pub fn unsubscribe_all(srv: &mut Server, client: &mut Client) {
    for ch in client.subscriptions.drain(..) {
        remove_sub(&mut srv.channels, &ch, client.conn);
    }
    for p in client.patterns.drain(..) {
        remove_sub(&mut srv.patterns, &p, client.conn);
    }
}
