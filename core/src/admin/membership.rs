//! Growing and shrinking a cluster: `add-node` (`clusterManagerCommandAddNode`) and
//! `del-node` (`clusterManagerCommandDeleteNode`).
//!
//! ```text
//!   add-node new existing [--cluster-slave [--cluster-master-id <id>]]
//!     check the cluster (it must pass), check the new node is an empty cluster node
//!     a master: FUNCTION DUMP from the cluster → FUNCTION RESTORE on the new node
//!     new: CLUSTER MEET <first node's ip> <port>        gossip introduces it to the rest
//!     a replica: wait for the join, then CLUSTER REPLICATE <master-id> (the given master,
//!                or the one with fewest replicas)
//!   del-node host:port <id>
//!     the node must serve no slot ("is not empty! Reshard data away and try again.")
//!     its replicas: CLUSTER REPLICATE <the master with fewest replicas>
//!     everyone else: CLUSTER FORGET <id>               (a 60 s ban, so gossip cannot
//!                                                        reintroduce it meanwhile)
//!     the node: CLUSTER RESET SOFT                      it forgets the cluster too
//! ```
//!
//! A new master joins with no slots; `reshard` or `rebalance --cluster-use-empty-masters`
//! gives it some.

use super::check::{check_cluster, named_node_in, INVALID_HOST_ARG};
use super::topology::{host_from_args, text, ClusterManager, ManagedNode};
use crate::resp::Frame;

/// `--cluster add-node new_host:new_port existing_host:existing_port`.
pub(crate) async fn add_node(cm: &mut ClusterManager) -> bool {
    let ctx = cm.ctx.clone();
    let s = &ctx.s;
    let args = ctx.o.args.clone();
    let (Some((ref_ip, ref_port)), Some((ip, port))) = (host_from_args(&args[1..]), host_from_args(&args[..1])) else {
        s.eprint(INVALID_HOST_ARG);
        return false;
    };
    s.info(format!(">>> Adding node {}:{} to cluster {}:{}\n", ip, port, ref_ip, ref_port));
    if !cm.load_info_from_node(ManagedNode::new(&ref_ip, ref_port, 0)).await {
        return false;
    }
    if !check_cluster(cm, false).await {
        return false;
    }
    let mut master = None;
    if ctx.o.slave {
        match &ctx.o.master_id {
            Some(id) => match cm.node_by_name(id) {
                Some(m) => master = Some(m),
                None => {
                    s.err(format!("[ERR] No such master ID {}\n", id));
                    return false;
                }
            },
            None => {
                let m = cm.node_with_least_replicas().expect("a cluster has masters");
                s.print(format!("Automatically selected master {}:{}\n", cm.nodes[m].ip, cm.nodes[m].port));
                master = Some(m);
            }
        }
    }
    let mut new = ManagedNode::new(&ip, port, 0);
    let close = |n: &ManagedNode| {
        if let Some(c) = n.conn {
            ctx.s.close(c);
        }
    };
    if !ctx.connect(&mut new).await {
        s.err(format!("[ERR] Sorry, can't connect to node {}:{}\n", ip, port));
        close(&new);
        return false;
    }
    match ctx.is_cluster(&new).await {
        Ok(true) => {}
        Ok(false) => {
            ctx.print_not_cluster(&new, None);
            close(&new);
            return false;
        }
        Err(e) => {
            ctx.print_not_cluster(&new, e.as_deref());
            close(&new);
            return false;
        }
    }
    if let Err(e) = ctx.load_node_info(&mut new, false).await {
        if let Some(e) = e {
            ctx.print_reply_error(&new, &e);
        }
        close(&new);
        return false;
    }
    match ctx.is_empty(&new).await {
        Ok(true) => {}
        other => {
            ctx.print_not_empty(&new, other.err().flatten().as_deref());
            close(&new);
            return false;
        }
    }
    cm.nodes.push(new);
    let new_i = cm.nodes.len() - 1;
    if master.is_none() {
        s.info(">>> Getting functions from cluster\n");
        match ctx.call(&cm.nodes[0], &["FUNCTION", "DUMP"]).await {
            Some(Frame::Bulk(payload)) => {
                s.info(format!(">>> Send FUNCTION LIST to {}:{} to verify there is no functions in it\n", ip, port));
                match ctx.call(&cm.nodes[new_i], &["FUNCTION", "LIST"]).await {
                    Some(Frame::Array(list)) => {
                        if !list.is_empty() {
                            s.err(">>> New node already contains functions and can not be added to the cluster. Use FUNCTION FLUSH and try again.\r\n");
                            return false;
                        }
                    }
                    other => {
                        let e = match other {
                            Some(Frame::Error(e)) => e,
                            _ => "NULL reply".into(),
                        };
                        s.err(format!(">>> Failed on CLUSTER LIST (error = '{}')\r\n", e));
                        return false;
                    }
                }
                s.info(format!(">>> Send FUNCTION RESTORE to {}:{}\n", ip, port));
                let args: [&[u8]; 3] = [b"FUNCTION", b"RESTORE", &payload];
                match ctx.call(&cm.nodes[new_i], &args).await {
                    Some(Frame::Error(e)) => {
                        s.err(format!(">>> Failed loading functions to the new node (error = '{}')\r\n", e));
                        return false;
                    }
                    None => {
                        s.err(">>> Failed loading functions to the new node (error = 'NULL reply')\r\n");
                        return false;
                    }
                    Some(_) => {}
                }
            }
            other => {
                let e = match other {
                    Some(Frame::Error(e)) => e,
                    Some(f) => text(&f).unwrap_or_default(),
                    None => "NULL reply".into(),
                };
                s.info(format!(
                    ">>> Failed retrieving Functions from the cluster, skip this step as Redis version do not support function command (error = '{}')\n",
                    e
                ));
            }
        }
    }
    s.info(format!(">>> Send CLUSTER MEET to node {}:{} to make it join the cluster.\n", ip, port));
    let first = &cm.nodes[0];
    let (fport, fbus) = (first.port.to_string(), first.bus_port.to_string());
    let reply = if first.bus_port == 0 || first.bus_port as u32 == first.port as u32 + 10000 {
        ctx.call(&cm.nodes[new_i], &["CLUSTER", "MEET", first.ip.as_str(), fport.as_str()]).await
    } else {
        ctx.call(&cm.nodes[new_i], &["CLUSTER", "MEET", first.ip.as_str(), fport.as_str(), fbus.as_str()]).await
    };
    if !ctx.check_reply(&cm.nodes[new_i], &reply) {
        return false;
    }
    if let Some(m) = master {
        s.sleep_ms(1000).await;
        cm.wait_for_cluster_join().await;
        let (mip, mport, mname) = (cm.nodes[m].ip.clone(), cm.nodes[m].port, cm.nodes[m].name().to_string());
        s.info(format!(">>> Configure node as replica of {}:{}.\n", mip, mport));
        let reply = ctx.call(&cm.nodes[new_i], &["CLUSTER", "REPLICATE", mname.as_str()]).await;
        if !ctx.check_reply(&cm.nodes[new_i], &reply) {
            return false;
        }
    }
    s.ok("[OK] New node added correctly.\n");
    true
}

/// `--cluster del-node host:port node_id`.
pub(crate) async fn del_node(cm: &mut ClusterManager) -> bool {
    let ctx = cm.ctx.clone();
    let s = &ctx.s;
    let args = ctx.o.args.clone();
    let Some(reference) = named_node_in(cm, &args[..1]) else { return false };
    let node_id = args[1].clone();
    s.info(format!(">>> Removing node {} from cluster {}:{}\n", node_id, reference.ip, reference.port));
    if !cm.load_info_from_node(reference).await {
        return false;
    }
    let Some(node) = cm.node_by_name(&node_id) else {
        s.err(format!("[ERR] No such node ID {}\n", node_id));
        return false;
    };
    if cm.nodes[node].slots_count != 0 {
        let n = &cm.nodes[node];
        s.err(format!("[ERR] Node {}:{} is not empty! Reshard data away and try again.\n", n.ip, n.port));
        return false;
    }
    s.info(">>> Sending CLUSTER FORGET messages to the cluster...\n");
    for n in 0..cm.nodes.len() {
        if n == node {
            continue;
        }
        if cm.nodes[n].replicate.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(&node_id)) {
            let m = cm.node_with_least_replicas().expect("a cluster has masters");
            let (a, b) = (&cm.nodes[n], &cm.nodes[m]);
            s.info(format!(">>> {}:{} as replica of {}:{}\n", a.ip, a.port, b.ip, b.port));
            let name = b.name().to_string();
            let reply = ctx.call(a, &["CLUSTER", "REPLICATE", name.as_str()]).await;
            if !ctx.check_reply(a, &reply) {
                return false;
            }
        }
        let reply = ctx.call(&cm.nodes[n], &["CLUSTER", "FORGET", node_id.as_str()]).await;
        if !ctx.check_reply(&cm.nodes[n], &reply) {
            return false;
        }
    }
    s.info(">>> Sending CLUSTER RESET SOFT to the deleted node.\n");
    let reply = ctx.call(&cm.nodes[node], &["CLUSTER", "RESET", "SOFT"]).await;
    ctx.check_reply(&cm.nodes[node], &reply)
}
