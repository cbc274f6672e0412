//! `--cluster create host:port… [--cluster-replicas N]` (`clusterManagerCommandCreate`).
//!
//! ```text
//!   every node:   INFO (cluster_enabled:1?)  CLUSTER NODES (its id)  INFO + CLUSTER INFO (empty?)
//!   plan:         allocation.rs — masters, slots, replicas; printed as M:/S: blocks
//!   confirm:      Can I set the above configuration? (type 'yes' to accept):
//!   masters:      CLUSTER ADDSLOTS 0 1 2 … 5460
//!   replicas:     CLUSTER REPLICATE <master-id>   (fails now: they do not know it yet)
//!   every node:   CLUSTER SET-CONFIG-EPOCH 1, 2, 3 …
//!   node 2…N:     CLUSTER MEET <node 1's ip> <node 1's port>
//!   wait:         a dot a second until every node's CLUSTER NODES agrees about the slots
//!   replicas:     CLUSTER REPLICATE <master-id>   again, now that gossip introduced them
//!   check:        the cluster as node 1 sees it (check.rs)
//! ```
//!
//! Distinct config epochs are what let the masters' claims coexist from the first second:
//! without them every node starts at epoch 0 and the collision handling would have to bump
//! them one by one. Meeting everyone with the first node is enough — gossip does the rest —
//! and the one-second sleep before the wait keeps the check from seeing nodes that still all
//! agree about nothing.

use super::allocation;
use super::check;
use super::topology::{parse_address, ClusterManager, ManagedNode};
use crate::resp::Frame;

/// `confirmWithYes`: `--cluster-yes` answers unless `ignore_force`; otherwise the first three
/// characters typed must be `yes` (redis-cli reads four bytes and cuts at three).
pub(crate) async fn confirm_with_yes(cm: &ClusterManager, msg: &str, ignore_force: bool) -> bool {
    if !ignore_force && cm.ctx.o.yes {
        return true;
    }
    match cm.ctx.s.prompt(format!("{} (type 'yes' to accept): ", msg)).await {
        Some(line) => line.starts_with("yes"),
        None => false,
    }
}

/// `clusterManagerFlushNodeConfig`: send a node the configuration decided for it.
async fn flush_node_config(cm: &mut ClusterManager, i: usize) -> (bool, Option<String>) {
    let node = &cm.nodes[i];
    if !node.dirty {
        return (false, None);
    }
    let ctx = cm.ctx.clone();
    if let Some(master) = node.replicate.clone() {
        match ctx.call(node, &["CLUSTER", "REPLICATE", master.as_str()]).await {
            Some(Frame::Error(e)) => return (false, Some(e)),
            None => return (false, None),
            Some(_) => {}
        }
        cm.nodes[i].dirty = false;
        (true, None)
    } else {
        let mut args: Vec<String> = vec!["CLUSTER".into(), "ADDSLOTS".into()];
        args.extend(node.slots.iter().enumerate().filter(|(_, on)| **on).map(|(s, _)| s.to_string()));
        let result = if args.len() == 2 {
            (false, None)
        } else {
            match ctx.call(node, &args).await {
                Some(Frame::Error(e)) => (false, Some(e)),
                None => (false, None),
                Some(_) => (true, None),
            }
        };
        cm.nodes[i].dirty = false;
        result
    }
}

pub(crate) async fn create(cm: &mut ClusterManager) -> bool {
    let ctx = cm.ctx.clone();
    let s = &ctx.s;
    for addr in ctx.o.args.clone() {
        let Some((ip, port, _)) = parse_address(&addr) else {
            s.eprint(format!("Invalid address format: {}\n", addr));
            return false;
        };
        let mut node = ManagedNode::new(&ip, port, 0);
        if !ctx.connect(&mut node).await {
            close(cm, &node);
            return false;
        }
        match ctx.is_cluster(&node).await {
            Ok(true) => {}
            Ok(false) => {
                ctx.print_not_cluster(&node, None);
                close(cm, &node);
                return false;
            }
            Err(e) => {
                ctx.print_not_cluster(&node, e.as_deref());
                close(cm, &node);
                return false;
            }
        }
        if let Err(e) = ctx.load_node_info(&mut node, false).await {
            if let Some(e) = e {
                ctx.print_reply_error(&node, &e);
            }
            close(cm, &node);
            return false;
        }
        match ctx.is_empty(&node).await {
            Ok(true) => {}
            Ok(false) => {
                ctx.print_not_empty(&node, None);
                close(cm, &node);
                return false;
            }
            Err(e) => {
                ctx.print_not_empty(&node, e.as_deref());
                close(cm, &node);
                return false;
            }
        }
        cm.nodes.push(node);
    }
    let node_len = cm.nodes.len();
    let replicas = ctx.o.replicas;
    let masters = node_len as i64 / (replicas as i64 + 1);
    if masters < 3 {
        s.err(format!(
            "*** ERROR: Invalid configuration for cluster creation.\n\
             *** Redis Cluster requires at least 3 master nodes.\n\
             *** This is not possible with {} nodes and {} replicas per node.",
            node_len, replicas
        ));
        s.err(format!("\n*** At least {} nodes are required.\n", 3 * (replicas + 1)));
        return false;
    }
    s.info(format!(">>> Performing hash slots allocation on {} nodes...\n", node_len));
    for (level, line) in allocation::allocate(&mut cm.nodes, replicas.max(0) as usize, &mut cm.rng) {
        match level {
            None => s.print(line),
            Some(l) => s.log(l, line),
        }
    }
    cm.show_nodes();
    if !confirm_with_yes(cm, "Can I set the above configuration?", false).await {
        return true;
    }
    for i in 0..cm.nodes.len() {
        let (flushed, err) = flush_node_config(cm, i).await;
        let node = &cm.nodes[i];
        if !flushed && node.dirty && node.replicate.is_none() {
            if let Some(e) = err {
                ctx.print_reply_error(node, &e);
            }
            return false;
        }
    }
    s.info(">>> Nodes configuration updated\n");
    s.info(">>> Assign a different config epoch to each node\n");
    for (epoch, node) in cm.nodes.iter().enumerate() {
        let epoch = (epoch + 1).to_string();
        let _ = ctx.call(node, &["cluster", "set-config-epoch", epoch.as_str()]).await;
    }
    s.info(">>> Sending CLUSTER MEET messages to join the cluster\n");
    // redis-cli resolves the first node's name to an address (anetResolve); the core resolves
    // nothing, so a name is passed on as given — the simulator's nodes are named by address.
    let (first_ip, first_port, first_bus) = (cm.nodes[0].ip.clone(), cm.nodes[0].port, cm.nodes[0].bus_port);
    for node in &cm.nodes[1..] {
        let port = first_port.to_string();
        let reply = if first_bus == 0 || first_bus as u32 == first_port as u32 + 10000 {
            ctx.call(node, &["cluster", "meet", first_ip.as_str(), port.as_str()]).await
        } else {
            let bus = first_bus.to_string();
            ctx.call(node, &["cluster", "meet", first_ip.as_str(), port.as_str(), bus.as_str()]).await
        };
        match reply {
            Some(Frame::Error(e)) => {
                ctx.print_reply_error(node, &e);
                return false;
            }
            None => {
                s.eprint("Failed to send CLUSTER MEET command.\n");
                return false;
            }
            Some(_) => {}
        }
    }
    s.sleep_ms(1000).await;
    cm.wait_for_cluster_join().await;
    for i in 0..cm.nodes.len() {
        if !cm.nodes[i].dirty {
            continue;
        }
        let (flushed, err) = flush_node_config(cm, i).await;
        let node = &cm.nodes[i];
        if !flushed && node.replicate.is_none() {
            if let Some(e) = err {
                ctx.print_reply_error(node, &e);
            }
            return false;
        }
    }
    // Start again from the first node alone: the check sees the cluster as it now is.
    let mut nodes = std::mem::take(&mut cm.nodes);
    let first = nodes.remove(0);
    for n in nodes {
        close(cm, &n);
    }
    let first = ManagedNode { friends: Vec::new(), ..first };
    if !cm.load_info_from_node(first).await {
        return false;
    }
    check::check_cluster(cm, false).await;
    true
}

fn close(cm: &ClusterManager, node: &ManagedNode) {
    if let Some(c) = node.conn {
        cm.ctx.s.close(c);
    }
}
