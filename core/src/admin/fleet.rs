//! Subcommands that act on every node at once, or bring data in: `call`
//! (`clusterManagerCommandCall`), `set-timeout` (`clusterManagerCommandSetTimeout`), `import`
//! (`clusterManagerCommandImport`), `backup` and `help`.
//!
//! ```text
//!   call host:port CMD args…        CMD on every loaded node (--cluster-only-masters|-replicas),
//!                                   each reply printed raw after "ip:port: "
//!   set-timeout host:port ms        CONFIG SET cluster-node-timeout ms + CONFIG REWRITE each
//!   import host:port --cluster-from src [--cluster-copy] [--cluster-replace]
//!                                   SCAN the (non-cluster) source; MIGRATE each key to the
//!                                   master serving its slot, one key at a time
//!   backup host:port dir            SYNC each master as a replica would, its snapshot into
//!                                   dir/redis-node-<ip>-<port>-<id>.rdb; the layout as
//!                                   dir/nodes.json
//! ```

use super::check::{check_cluster, named_node_in, INVALID_HOST_ARG};
use super::options::COMMANDS;
use super::topology::{host_from_args, info_field, slots_string, text, ClusterManager, ManagedNode, SLOTS};
use crate::resp::Frame;

/// `cliFormatReplyRaw`, as `call` prints each node's reply.
fn format_reply_raw(frame: &Frame) -> String {
    match frame {
        Frame::NullBulk | Frame::NullArray | Frame::Null => String::new(),
        Frame::Error(e) => format!("{}\n", e),
        Frame::Simple(s) | Frame::BigNumber(s) => s.clone(),
        Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        Frame::Verbatim { text, .. } => String::from_utf8_lossy(text).into_owned(),
        Frame::Boolean(b) => if *b { "(true)" } else { "(false)" }.into(),
        Frame::Integer(i) => i.to_string(),
        Frame::Double(d) => crate::resp::format_double_reply(*d),
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            items.iter().map(format_reply_raw).collect::<Vec<_>>().join("\n")
        }
        Frame::Map(pairs) | Frame::Attribute(pairs, _) => pairs
            .iter()
            .map(|(k, v)| format!("{} {}", format_reply_raw(k), format_reply_raw(v)))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// `--cluster call host:port command arg…`.
pub(crate) async fn call(cm: &mut ClusterManager) -> bool {
    let ctx = cm.ctx.clone();
    let s = &ctx.s;
    let args = ctx.o.args.clone();
    let Some(node) = named_node_in(cm, &args[..1]) else { return false };
    if !cm.load_info_from_node(node).await {
        return false;
    }
    let command = &args[1..];
    s.info(">>> Calling");
    for a in command {
        s.print(format!(" {}", a));
    }
    s.print("\n");
    for i in 0..cm.nodes.len() {
        let n = &cm.nodes[i];
        if (ctx.o.only_masters && n.replicate.is_some()) || (ctx.o.only_replicas && n.replicate.is_none()) {
            continue;
        }
        if n.conn.is_none() {
            let mut n = cm.nodes[i].clone();
            if !ctx.connect(&mut n).await {
                continue;
            }
            cm.nodes[i].conn = n.conn;
        }
        let n = &cm.nodes[i];
        match ctx.call(n, command).await {
            None => s.print(format!("{}:{}: Failed!\n", n.ip, n.port)),
            Some(reply) => s.print(format!("{}:{}: {}\n", n.ip, n.port, format_reply_raw(&reply))),
        }
    }
    true
}

/// `--cluster set-timeout host:port milliseconds`.
pub(crate) async fn set_timeout(cm: &mut ClusterManager) -> bool {
    let ctx = cm.ctx.clone();
    let s = &ctx.s;
    let args = ctx.o.args.clone();
    let Some(node) = named_node_in(cm, &args[..1]) else { return false };
    let timeout = crate::resp::atoi(&args[1]);
    if timeout < 100 {
        s.eprint("Setting a node timeout of less than 100 milliseconds is a bad idea.\n");
        return false;
    }
    if !cm.load_info_from_node(node).await {
        return false;
    }
    let (mut ok, mut errs) = (0, 0);
    s.info(">>> Reconfiguring node timeout in every cluster node...\n");
    let t = (timeout as i32).to_string();
    for n in &cm.nodes {
        let mut err = String::new();
        let mut done = false;
        match ctx.call(n, &["CONFIG", "SET", "cluster-node-timeout", t.as_str()]).await {
            Some(Frame::Error(e)) => err = e,
            None => {}
            Some(_) => match ctx.call(n, &["CONFIG", "REWRITE"]).await {
                Some(Frame::Error(e)) => err = e,
                None => {}
                Some(_) => done = true,
            },
        }
        if done {
            s.warn(format!("*** New timeout set for {}:{}\n", n.ip, n.port));
            ok += 1;
        } else {
            s.err(format!("ERR setting node-timeout for {}:{}: {}\n", n.ip, n.port, err));
            errs += 1;
        }
    }
    s.info(format!(">>> New node timeout set. {} OK, {} ERR.\n", ok, errs));
    true
}

/// `--cluster import host:port --cluster-from host:port`.
pub(crate) async fn import(cm: &mut ClusterManager) -> bool {
    let ctx = cm.ctx.clone();
    let s = &ctx.s;
    let Some((ip, port)) = host_from_args(&ctx.o.args) else {
        s.eprint(INVALID_HOST_ARG);
        return false;
    };
    let Some(from) = ctx.o.from.clone() else {
        s.eprint("[ERR] Option '--cluster-from' is required for subcommand 'import'.\n");
        return false;
    };
    let Some((src_ip, src_port)) = host_from_args(std::slice::from_ref(&from)) else {
        s.eprint("[ERR] Invalid --cluster-from host. You need to pass a valid address (ie. 120.0.0.1:7000).\n");
        return false;
    };
    s.info(format!(">>> Importing data from {}:{} to cluster {}:{}\n", src_ip, src_port, ip, port));
    if !cm.load_info_from_node(ManagedNode::new(&ip, port, 0)).await {
        return false;
    }
    if !check_cluster(cm, false).await {
        return false;
    }
    let src = match s.connect(&src_ip, src_port).await {
        Ok(c) => c,
        Err(e) => {
            s.eprint(format!("Could not connect to Redis at {}:{}: {}.\n", src_ip, src_port, e));
            return false;
        }
    };
    let reply_err = |e: &str| s.err(format!("Source {}:{} replied with error:\n{}\n", src_ip, src_port, e));
    if let Some(pass) = &ctx.o.from_pass {
        let reply = match &ctx.o.from_user {
            None => s.call(src, &["AUTH", pass.as_str()]).await,
            Some(user) => s.call(src, &["AUTH", user.as_str(), pass.as_str()]).await,
        };
        match reply {
            None => {
                s.eprint("\nI/O error\n");
                return false;
            }
            Some(Frame::Error(e)) => {
                s.eprint(format!("AUTH failed: {}\n", e));
                return false;
            }
            Some(_) => {}
        }
    }
    match s.call(src, &["INFO"]).await {
        Some(Frame::Error(e)) => {
            reply_err(&e);
            return false;
        }
        None => return false,
        Some(info) => {
            if info_field(&text(&info).unwrap_or_default(), "cluster_enabled") != 0 {
                s.err("[ERR] The source node should not be a cluster node.\n");
                return false;
            }
        }
    }
    let size = match s.call(src, &["DBSIZE"]).await {
        Some(Frame::Integer(n)) => n,
        Some(Frame::Error(e)) => {
            reply_err(&e);
            return false;
        }
        _ => return false,
    };
    s.warn(format!("*** Importing {} keys from DB 0\n", size));
    let mut owner_of: Vec<Option<usize>> = vec![None; SLOTS];
    for (slot, owner) in owner_of.iter_mut().enumerate() {
        *owner = cm.nodes.iter().position(|n| !n.slave && n.slots_count > 0 && n.slots[slot]);
    }
    let timeout = ctx.o.timeout_ms.to_string();
    let mut cursor: i64 = -999;
    while cursor != 0 {
        if cursor < 0 {
            cursor = 0;
        }
        let c = cursor.to_string();
        let reply = match s.call(src, &["SCAN", c.as_str(), "COUNT", "1000"]).await {
            Some(Frame::Error(e)) => {
                reply_err(&e);
                return false;
            }
            None => return false,
            Some(r) => r,
        };
        let Frame::Array(parts) = reply else { return false };
        cursor = match parts.first() {
            Some(Frame::Integer(i)) => *i,
            Some(f) => crate::resp::atoi(&text(f).unwrap_or_default()),
            None => 0,
        };
        let Some(Frame::Array(keys)) = parts.get(1) else { return false };
        for key in keys {
            let Frame::Bulk(key) = key else { continue };
            let slot = crate::cluster::slots::key_hash_slot(key) as usize;
            let Some(t) = owner_of[slot] else {
                s.err(format!("[ERR] Slot {} is not covered\n", slot));
                return false;
            };
            let target = &cm.nodes[t];
            s.print(format!("Migrating {} to {}:{}: ", String::from_utf8_lossy(key), target.ip, target.port));
            let port = target.port.to_string();
            let mut args: Vec<Vec<u8>> = vec![
                b"MIGRATE".to_vec(),
                target.ip.clone().into_bytes(),
                port.into_bytes(),
                key.to_vec(),
                b"0".to_vec(),
                timeout.clone().into_bytes(),
            ];
            if let Some(pass) = &ctx.o.auth {
                match &ctx.o.user {
                    Some(user) => args.extend([b"AUTH2".to_vec(), user.clone().into_bytes()]),
                    None => args.push(b"AUTH".to_vec()),
                }
                args.push(pass.clone().into_bytes());
            }
            if ctx.o.copy {
                args.push(b"COPY".to_vec());
            }
            if ctx.o.replace {
                args.push(b"REPLACE".to_vec());
            }
            match s.call(src, &args).await {
                Some(Frame::Error(e)) => {
                    s.err(format!("Source {}:{} replied with error:\n{}\n", src_ip, src_port, e));
                    return false;
                }
                None => return false,
                Some(_) => s.ok("OK\n"),
            }
        }
    }
    s.close(src);
    true
}

/// `clusterManagerNodeGetJSON`: one node of `backup`'s nodes.json.
fn node_json(n: &ManagedNode, error_count: usize) -> String {
    let replicate = match &n.replicate {
        Some(m) => format!("\"{}\"", m),
        None => "null".into(),
    };
    let mut json = format!(
        "  {{\n    \"name\": \"{}\",\n    \"host\": \"{}\",\n    \"port\": {},\n    \"replicate\": {},\n    \
         \"slots\": [{}],\n    \"slots_count\": {},\n    \"flags\": \"{}\",\n    \"current_epoch\": {}",
        n.name(),
        n.ip,
        n.port,
        replicate,
        slots_string(&n.slots).replace('-', ","),
        n.slots_count,
        n.flag_string(),
        n.current_epoch
    );
    if error_count > 0 {
        json += &format!(",\n    \"cluster_errors\": {}", error_count);
    }
    for (key, list) in [("migrating", &n.migrating), ("importing", &n.importing)] {
        if !list.is_empty() {
            let items: Vec<String> = list.iter().map(|(slot, id)| format!("\"{}\": \"{}\"", slot, id)).collect();
            json += &format!(",\n    \"{}\": {{{}}}", key, items.join(","));
        }
    }
    json + "\n  }"
}

/// `sendSync`: `SYNC`, then the `$<length>` (or `$EOF:<mark>`) line, skipping the newlines a
/// master sends while it prepares the snapshot. `Err(mark)`: the payload's end is `mark`.
async fn send_sync(cm: &ClusterManager, conn: crate::net::ConnId) -> Result<u64, Vec<u8>> {
    let s = &cm.ctx.s;
    if !s.send_raw(conn, b"SYNC\r\n") {
        s.eprint("Error writing to master\n");
        s.exit(1).await;
    }
    let mut line = Vec::new();
    loop {
        let Some(byte) = s.read_raw(conn, 1).await else {
            s.eprint("Error reading bulk length while SYNCing\n");
            s.exit(1).await;
            unreachable!("exit ends the run");
        };
        if byte[0] == b'\n' && !line.is_empty() {
            break;
        }
        if byte[0] != b'\n' {
            line.push(byte[0]);
        }
    }
    if line[0] == b'-' {
        s.eprint(format!("SYNC with master failed: {}\n", String::from_utf8_lossy(&line)));
        s.exit(1).await;
    }
    if line.len() >= 5 + 40 && &line[1..5] == b"EOF:" {
        return Err(line[5..45].to_vec());
    }
    Ok(crate::resp::atoi(&String::from_utf8_lossy(&line[1..])).max(0) as u64)
}

/// `getRDB` for a cluster node: its snapshot, by SYNC, into
/// `<dir>/redis-node-<ip>-<port>-<id>.rdb`.
async fn get_rdb(cm: &mut ClusterManager, i: usize, dir: &str) {
    let s = cm.ctx.s.clone();
    let n = &cm.nodes[i];
    let filename =
        format!("{}{}redis-node-{}-{}-{}.rdb", dir, if dir.ends_with('/') { "" } else { "/" }, n.ip, n.port, n.name());
    let Some(conn) = n.conn else { return };
    let (mut payload, mark) = match send_sync(cm, conn).await {
        Ok(len) => {
            s.eprint(format!("SYNC sent to master, writing {} bytes to '{}'\n", len, filename));
            (len, None)
        }
        Err(mark) => {
            s.eprint(format!(
                "SYNC sent to master, writing bytes of bulk transfer until EOF marker to '{}'\n",
                filename
            ));
            (u64::MAX, Some(mark))
        }
    };
    let mut data = Vec::new();
    while payload > 0 {
        let Some(chunk) = s.read_raw(conn, payload.min(4096) as usize).await else {
            s.eprint("I/O Error reading RDB payload from socket\n");
            s.exit(1).await;
            return;
        };
        payload -= chunk.len() as u64;
        data.extend_from_slice(&chunk);
        if let Some(mark) = &mark {
            if data.ends_with(mark) {
                break;
            }
        }
    }
    if mark.is_some() {
        data.truncate(data.len().saturating_sub(40));
    }
    s.close(conn);
    cm.nodes[i].conn = None;
    let written = data.len();
    if let Err(e) = s.write_file(&filename, data).await {
        s.eprint(format!("Error opening '{}': {}\n", filename, e));
        s.exit(1).await;
    }
    if mark.is_some() {
        s.eprint(format!("Transfer finished with success after {} bytes\n", written));
    } else {
        s.eprint("Transfer finished with success.\n");
    }
}

/// `--cluster backup host:port backup_directory` (`clusterManagerCommandBackup`): every
/// master's snapshot and the cluster's layout as nodes.json.
pub(crate) async fn backup(cm: &mut ClusterManager) -> bool {
    let ctx = cm.ctx.clone();
    let s = &ctx.s;
    let args = ctx.o.args.clone();
    let Some(node) = named_node_in(cm, &args[..1]) else { return false };
    if !cm.load_info_from_node(node).await {
        return false;
    }
    let no_issues = check_cluster(cm, false).await;
    let error_count = if no_issues { 0 } else { cm.errors.len() };
    let dir = args[1].clone();
    let mut json = String::from("[\n");
    for i in 0..cm.nodes.len() {
        if i > 0 {
            json += ",\n";
        }
        json += &node_json(&cm.nodes[i], error_count);
        if cm.nodes[i].replicate.is_some() {
            continue;
        }
        s.info(format!(">>> Node {}:{} -> Saving RDB...\n", cm.nodes[i].ip, cm.nodes[i].port));
        get_rdb(cm, i, &dir).await;
    }
    json += "\n]";
    let path = format!("{}{}nodes.json", dir, if dir.ends_with('/') { "" } else { "/" });
    s.info(format!("Saving cluster configuration to: {}\n", path));
    if s.write_file(&path, json.into_bytes()).await.is_err() {
        s.err(format!("Could not save nodes to: {}\n", path));
        s.ok("[ERR] Failed to back cluster!\n");
        return false;
    }
    if !no_issues {
        s.warn(
            "*** Cluster seems to have some problems, please be aware of it if you're going to restore this backup.\n",
        );
    }
    s.ok(format!("[OK] Backup created into: {}\n", dir));
    true
}

/// `--cluster help` (`clusterManagerCommandHelp`): like redis-cli, it exits with 1.
pub(crate) fn help(cm: &ClusterManager) -> bool {
    let s = &cm.ctx.s;
    let padding = 15;
    let mut out = String::from("Cluster Manager Commands:\n");
    for def in COMMANDS {
        out += &format!("  {}{}{}\n", def.name, " ".repeat(padding - def.name.len()), def.args.unwrap_or(""));
        if let Some(options) = def.options {
            for opt in options.split(',').filter(|o| !o.is_empty()) {
                out += &format!("{}  --cluster-{}\n", " ".repeat(padding), opt);
            }
        }
    }
    out += "\nFor check, fix, reshard, del-node, set-timeout, info, rebalance, call, import, backup you can specify \
            the host and port of any working node in the cluster.\n";
    out += "\nCluster Manager Options:\n";
    let name = "--cluster-yes";
    out += &format!("  {}{}{}\n", name, " ".repeat(padding - name.len()), "Automatic yes to cluster commands prompts");
    out += "\n";
    s.print(out);
    false
}
