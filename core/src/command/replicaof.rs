//! Replication commands: `REPLICAOF`/`SLAVEOF`, `ROLE`, `WAIT`, `FAILOVER`, and the internal `REPLCONF`,
//! `PSYNC`, `SYNC` a replica sends its master. The mechanism is in [`crate::replication`].

use super::{eq_ic, Ctx};
use crate::log::LogLevel;
use crate::node::{ClientRole, NodeState, WaitState};
use crate::resp::parse_i64;
use bytes::Bytes;

pub const COMMANDS: &[(&str, super::Handler)] = &[
    ("replicaof", replicaof),
    ("slaveof", replicaof),
    ("replconf", replconf),
    ("psync", psync),
    ("sync", psync),
    ("role", role),
    ("wait", wait),
    ("failover", failover),
];

/// `FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms]`: hand the master role to a replica
/// without losing a write (see [`crate::replication::Failover`]).
fn failover(ctx: &mut Ctx, args: &mut [Bytes]) {
    if ctx.srv.config.get_bool("cluster-enabled") {
        return ctx.error("ERR FAILOVER not allowed in cluster mode. Use CLUSTER FAILOVER command instead.");
    }
    if args.len() == 2 && eq_ic(&args[1], "abort") {
        if ctx.srv.repl.failover.is_none() {
            return ctx.error("ERR No failover in progress.");
        }
        ctx.srv.abort_failover("Failover manually aborted");
        return ctx.ok();
    }
    let (mut timeout, mut force, mut target): (i64, bool, Option<(String, i64)>) = (0, false, None);
    let mut j = 1;
    while j < args.len() {
        if eq_ic(&args[j], "timeout") && j + 1 < args.len() && timeout == 0 {
            let Some(t) = super::arg_i64(ctx, &args[j + 1]) else { return };
            if t <= 0 {
                return ctx.error("ERR FAILOVER timeout must be greater than 0");
            }
            timeout = t;
            j += 2;
        } else if eq_ic(&args[j], "to") && j + 2 < args.len() && target.is_none() {
            let Some(port) = super::arg_i64(ctx, &args[j + 2]) else { return };
            target = Some((String::from_utf8_lossy(&args[j + 1]).into_owned(), port));
            j += 3;
        } else if eq_ic(&args[j], "force") && !force {
            force = true;
            j += 1;
        } else {
            return ctx.error(super::SYNTAX_ERR);
        }
    }
    if ctx.srv.repl.failover.is_some() {
        return ctx.error("ERR FAILOVER already in progress.");
    }
    if ctx.srv.repl.is_replica() {
        return ctx.error("ERR FAILOVER is not valid when server is a replica.");
    }
    if ctx.srv.repl.replicas.is_empty() {
        return ctx.error("ERR FAILOVER requires connected replicas.");
    }
    if force && (timeout == 0 || target.is_none()) {
        return ctx.error("ERR FAILOVER with force option requires both a timeout and target HOST and IP.");
    }
    let target = match target {
        Some((host, port)) => {
            let found = u16::try_from(port).ok().and_then(|p| ctx.srv.find_replica(&host, p));
            match found {
                None => return ctx.error("ERR FAILOVER target HOST and PORT is not a replica."),
                Some(r) if r.state != crate::replication::ReplicaState::Online => {
                    return ctx.error("ERR FAILOVER target replica is not online.")
                }
                Some(_) => Some((host, port as u16)),
            }
        }
        None => None,
    };
    ctx.srv.start_failover(target, (timeout > 0).then_some(timeout as u64), force);
    ctx.ok();
}

fn replicaof(ctx: &mut Ctx, args: &mut [Bytes]) {
    if ctx.srv.config.get_bool("cluster-enabled") {
        return ctx.error("ERR REPLICAOF not allowed in cluster mode.");
    }
    if ctx.srv.repl.failover.is_some() {
        return ctx.error("ERR REPLICAOF not allowed while failing over.");
    }
    if eq_ic(&args[1], "no") && eq_ic(&args[2], "one") {
        if ctx.srv.repl.is_replica() {
            ctx.srv.unset_master();
            ctx.srv.config.set_internal("replicaof", "");
            let who = ctx.client.info_line(ctx.now, ctx.srv.unsent_of(ctx.client.conn));
            ctx.srv.log(LogLevel::Notice, format!("MASTER MODE enabled (user request from '{}')", who));
        }
        return ctx.ok();
    }
    if ctx.client.role == ClientRole::Replica {
        return ctx.error("ERR Command is not valid when client is a replica.");
    }
    let port = match parse_i64(&args[2]) {
        Some(p) if (0..=65535).contains(&p) => p as u16,
        _ => return ctx.error("ERR Invalid master port"),
    };
    let host = String::from_utf8_lossy(&args[1]).into_owned();
    if let Some(link) = ctx.srv.repl.master.as_ref() {
        if link.host.eq_ignore_ascii_case(&host) && link.port == port {
            ctx.srv.log(
                LogLevel::Notice,
                "REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.",
            );
            return ctx.reply().simple("OK Already connected to specified master");
        }
    }
    ctx.srv.set_master(host.clone(), port);
    let who = ctx.client.info_line(ctx.now, ctx.srv.unsent_of(ctx.client.conn));
    ctx.srv.log(LogLevel::Notice, format!("REPLICAOF {}:{} enabled (user request from '{}')", host, port, who));
    // The config follows, so CONFIG REWRITE writes `replicaof`.
    let _ = ctx.srv.config.set_internal("replicaof", &format!("{} {}", host, port));
    ctx.ok();
}

fn replconf(ctx: &mut Ctx, args: &mut [Bytes]) {
    ctx.srv.replconf(ctx.client, args);
}

fn psync(ctx: &mut Ctx, args: &mut [Bytes]) {
    ctx.srv.psync(ctx.client, args);
}

/// `ROLE`: `master offset [[ip port offset]…]` or `slave host port state offset`.
fn role(ctx: &mut Ctx, _args: &mut [Bytes]) {
    write_role(&ctx.srv.repl, &mut ctx.client.reply);
}

/// ROLE's reply, as a frame (what an observer reads; the same bytes a client gets).
pub fn role_frame(srv: &NodeState) -> crate::resp::Frame {
    let mut reply = crate::resp::ReplyBuf::new(crate::resp::Protocol::Resp2);
    write_role(&srv.repl, &mut reply);
    let mut bytes = bytes::BytesMut::from(&reply.buf[..]);
    crate::resp::Frame::decode(&mut bytes).ok().flatten().expect("ROLE's reply is one whole frame")
}

fn write_role(repl: &crate::replication::Replication, r: &mut crate::resp::ReplyBuf) {
    match repl.master.as_ref() {
        None => {
            r.array(3);
            r.bulk_str("master");
            r.int(repl.offset as i64);
            let listed: Vec<_> = repl.replicas.iter().filter(|x| x.listening_port != 0).collect();
            r.array(listed.len());
            for x in listed {
                r.array(3);
                r.bulk_str(&x.ip);
                r.bulk_str(&x.listening_port.to_string());
                r.bulk_str(&x.ack_offset.to_string());
            }
        }
        Some(link) => {
            r.array(5);
            r.bulk_str("slave");
            r.bulk_str(&link.host);
            r.int(link.port as i64);
            r.bulk_str(link.state.role_word());
            r.int(link.applied.map(|o| o as i64).unwrap_or(-1));
        }
    }
}

/// `WAIT numreplicas timeout`: block until that many replicas acknowledged this client's last
/// write, or the timeout (ms, 0 = forever) passes; reply with how many did.
fn wait(ctx: &mut Ctx, args: &mut [Bytes]) {
    if ctx.srv.repl.is_replica() {
        return ctx.error("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.");
    }
    let Some(numreplicas) = super::arg_i64(ctx, &args[1]) else { return };
    let timeout = match parse_i64(&args[2]) {
        Some(t) if t < 0 => return ctx.error("ERR timeout is negative"),
        Some(t) => t as u64,
        None => return ctx.error("ERR timeout is not an integer or out of range"),
    };
    let offset = ctx.client.write_offset;
    let acked = ctx.srv.repl.acked(offset);
    if acked as i64 >= numreplicas || ctx.client.in_exec {
        return ctx.reply().int(acked as i64);
    }
    let deadline = if timeout == 0 { None } else { Some(ctx.now + timeout) };
    ctx.client.wait = Some(WaitState { offset, replicas: numreplicas.max(0) as usize, deadline });
    ctx.srv.repl.waiting.push(ctx.client.conn);
    // Ask the replicas where they are now rather than waiting for their next ACK.
    if !ctx.srv.repl.replicas.is_empty() {
        ctx.srv.repl.get_ack_pending = true;
    }
}
