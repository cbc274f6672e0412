//! `check`, `info` and `fix`: what a cluster looks like from outside, and how redis-cli puts
//! it right (`clusterManagerCheckCluster`, `clusterManagerShowClusterInfo`,
//! `clusterManagerFixOpenSlot`, `clusterManagerFixSlotsCoverage`).
//!
//! ```text
//!   >>> Performing Cluster Check (using node 127.0.0.1:7000)
//!   M: 1a2b… 127.0.0.1:7000               every node's own view of itself
//!      slots:[0-5460] (5461 slots) master
//!      1 additional replica(s)
//!   [OK] All nodes agree about slots configuration.    every CLUSTER NODES gives the same
//!   >>> Check for open slots...                         slot → owner map
//!   >>> Check slots coverage...                         no slot left MIGRATING/IMPORTING
//!   [OK] All 16384 slots covered.                       every slot served by a loaded master
//! ```
//!
//! An *open* slot is one a node lists as `[slot->-id]` (migrating) or `[slot-<-id]`
//! (importing): a reshard was interrupted. `fix` closes it by the case it recognises — one
//! migrating and one importing node: finish the move; only importing nodes: move their keys
//! to the owner; a migrating node alone with no keys: mark the slot stable. An *uncovered*
//! slot (no master serves it) is given to a random master when no node has keys for it, to
//! the one node holding its keys, or to the node with most keys after moving the others'.
//! Every fix asks first, even with `--cluster-yes`.

use super::create::confirm_with_yes;
use super::dict_order::RedisDict;
use super::migration::MoveOpts;
use super::topology::{host_from_args, slots_string, ClusterManager, ManagedNode, SLOTS};
use crate::resp::Frame;

pub(crate) const INVALID_HOST_ARG: &str = "[ERR] Invalid arguments: you need to pass either a valid address \
     (ie. 120.0.0.1:7000) or space separated IP and port (ie. 120.0.0.1 7000)\n";

/// The node named by the subcommand's `host:port` (or `host port`) arguments.
pub(crate) fn named_node(cm: &ClusterManager) -> Option<ManagedNode> {
    named_node_in(cm, &cm.ctx.o.args.clone())
}

pub(crate) fn named_node_in(cm: &ClusterManager, args: &[String]) -> Option<ManagedNode> {
    match host_from_args(args) {
        Some((ip, port)) => Some(ManagedNode::new(&ip, port, 0)),
        None => {
            cm.ctx.s.eprint(INVALID_HOST_ARG);
            None
        }
    }
}

/// `--cluster info`.
pub(crate) async fn info_command(cm: &mut ClusterManager) -> bool {
    let Some(node) = named_node(cm) else { return false };
    if !cm.load_info_from_node(node).await {
        return false;
    }
    show_cluster_info(cm).await;
    true
}

/// `--cluster check` (and `fix`, which is check with the fix flag).
pub(crate) async fn check_command(cm: &mut ClusterManager) -> bool {
    let Some(node) = named_node(cm) else { return false };
    if !cm.load_info_from_node(node).await {
        return false;
    }
    show_cluster_info(cm).await;
    check_cluster(cm, false).await
}

/// `clusterManagerShowClusterInfo`: keys, slots and replicas per master (DBSIZE each).
pub(crate) async fn show_cluster_info(cm: &ClusterManager) {
    let s = &cm.ctx.s;
    let (mut masters, mut keys) = (0, 0i64);
    for node in cm.nodes.iter().filter(|n| !n.slave) {
        let Some(name) = &node.name else { continue };
        let replicas = cm.nodes.iter().filter(|n| n.slave && n.replicate.as_deref() == Some(name.as_str())).count();
        let dbsize = match cm.ctx.call(node, &["DBSIZE"]).await {
            Some(Frame::Integer(n)) if n >= 0 => n,
            other => {
                let err = match other {
                    Some(Frame::Error(e)) => e,
                    _ => String::new(),
                };
                cm.ctx.print_reply_error(node, &err);
                return;
            }
        };
        s.print(format!(
            "{}:{} ({}...) -> {} keys | {} slots | {} slaves.\n",
            node.ip,
            node.port,
            &name[..name.len().min(8)],
            dbsize,
            node.slots_count,
            replicas
        ));
        masters += 1;
        keys += dbsize;
    }
    s.ok(format!("[OK] {} keys in {} masters.\n", keys, masters));
    let per_slot = keys as f32 / SLOTS as f32;
    s.print(format!("{:.2} keys per slot on average.\n", per_slot));
}

impl ClusterManager {
    /// `clusterManagerOnError`: remember and print.
    fn on_error(&mut self, err: String) {
        self.ctx.s.err(format!("{}\n", err));
        self.errors.push(err);
    }
}

/// `clusterManagerCheckCluster`; `quiet` leaves out the node list. With the fix flag, open
/// and uncovered slots are fixed.
pub(crate) async fn check_cluster(cm: &mut ClusterManager, quiet: bool) -> bool {
    let ctx = cm.ctx.clone();
    let s = &ctx.s;
    let Some(first) = cm.nodes.first() else { return false };
    s.info(format!(">>> Performing Cluster Check (using node {}:{})\n", first.ip, first.port));
    let mut result = true;
    if !quiet {
        cm.show_nodes();
    }
    if !cm.is_config_consistent().await {
        cm.on_error("[ERR] Nodes don't agree about configuration!".into());
        result = false;
    } else {
        s.ok("[OK] All nodes agree about slots configuration.\n");
    }
    s.info(">>> Check for open slots...\n");
    // A dict, as in redis-cli: its order is the order the slots are listed and fixed in.
    let mut open: RedisDict<String> = RedisDict::new();
    for i in 0..cm.nodes.len() {
        for (kind, list) in [("migrating", cm.nodes[i].migrating.clone()), ("importing", cm.nodes[i].importing.clone())]
        {
            if list.is_empty() {
                continue;
            }
            let slots: Vec<&str> = list.iter().map(|(slot, _)| slot.as_str()).collect();
            for (slot, other) in &list {
                open.replace(slot, other.clone());
            }
            let n = &cm.nodes[i];
            let msg = format!("[WARNING] Node {}:{} has slots in {} state {}.", n.ip, n.port, kind, slots.join(","));
            cm.on_error(msg);
        }
    }
    if !open.is_empty() {
        result = false;
        let list: Vec<&str> = open.iter().map(|(k, _)| k).collect();
        s.err(format!("[WARNING] The following slots are open: {}.\n", list.join(",")));
        if ctx.o.fix {
            let slots: Vec<usize> = open.iter().map(|(k, _)| crate::resp::atoi(k) as usize).collect();
            for slot in slots {
                result = fix_open_slot(cm, slot).await;
                if !result {
                    break;
                }
            }
        }
    }
    s.info(">>> Check slots coverage...\n");
    let (covered, count) = cm.covered_slots();
    if count == SLOTS {
        s.ok(format!("[OK] All {} slots covered.\n", SLOTS));
    } else {
        cm.on_error(format!("[ERR] Not all {} slots are covered by nodes.\n", SLOTS));
        result = false;
        if ctx.o.fix && fix_slots_coverage(cm, &covered).await > 0 {
            result = true;
        }
    }
    if ctx.o.search_multiple_owners {
        s.info(">>> Check for multiple slot owners...\n");
        let mut with_multiple = 0;
        for slot in 0..SLOTS {
            let mut owners = Vec::new();
            for n in 0..cm.nodes.len() {
                if cm.nodes[n].slave {
                    continue;
                }
                if cm.nodes[n].slots[slot] || cm.count_keys_in_slot(n, slot).await > 0 {
                    owners.push(n);
                }
            }
            if owners.len() > 1 {
                result = false;
                s.err(format!("[WARNING] Slot {} has {} owners:\n", slot, owners.len()));
                for &o in &owners {
                    s.err(format!("    {}:{}\n", cm.nodes[o].ip, cm.nodes[o].port));
                }
                with_multiple += 1;
                if ctx.o.fix {
                    result = fix_multiple_slot_owners(cm, slot, &owners).await;
                    if !result {
                        s.err(format!("Failed to fix multiple owners for slot {}\n", slot));
                        break;
                    }
                    with_multiple -= 1;
                }
            }
        }
        if with_multiple == 0 {
            s.ok("[OK] No multiple owners found.\n");
        }
    }
    result
}

/// `clusterManagerGetNodeWithMostKeysInSlot` among `nodes` (masters only).
async fn node_with_most_keys_in_slot(cm: &ClusterManager, nodes: &[usize], slot: usize) -> Option<usize> {
    let mut best: Option<(usize, i64)> = None;
    let s = slot.to_string();
    for &n in nodes {
        let node = &cm.nodes[n];
        if node.slave || node.replicate.is_some() {
            continue;
        }
        match cm.ctx.call(node, &["CLUSTER", "COUNTKEYSINSLOT", s.as_str()]).await {
            Some(Frame::Integer(k)) => {
                if best.is_none_or(|(_, most)| k > most) {
                    best = Some((n, k));
                }
            }
            Some(Frame::Error(e)) => {
                cm.ctx.print_reply_error(node, &e);
                return None;
            }
            _ => return None,
        }
    }
    best.map(|(n, _)| n)
}

/// Fixing with unreachable masters would hand their slots to others: redis-cli refuses and
/// exits, unless `--cluster-fix-with-unreachable-masters`.
async fn unreachable_guard(cm: &ClusterManager, what: &str) {
    if cm.unreachable_masters > 0 && !cm.ctx.o.fix_with_unreachable_masters {
        cm.ctx.s.warn(format!(
            "*** Fixing {} with {} unreachable masters is dangerous: redis-cli will assume that slots about masters \
             that are not reachable are not covered, and will try to reassign them to the reachable nodes. This can \
             cause data loss and is rarely what you want to do. If you really want to proceed use the \
             --cluster-fix-with-unreachable-masters option.\n",
            what, cm.unreachable_masters
        ));
        cm.ctx.s.exit(1).await;
    }
}

/// `clusterManagerFixSlotsCoverage`: the number of slots fixed, -1 on error.
async fn fix_slots_coverage(cm: &mut ClusterManager, covered: &[bool]) -> i32 {
    let ctx = cm.ctx.clone();
    let s = &ctx.s;
    unreachable_guard(cm, "slots coverage").await;
    s.info(">>> Fixing slots coverage...\n");
    let mut uncovered_dict: RedisDict<Vec<usize>> = RedisDict::new();
    for slot in (0..SLOTS).filter(|&sl| !covered[sl]) {
        let mut holders = Vec::new();
        let sl = slot.to_string();
        for n in 0..cm.nodes.len() {
            let node = &cm.nodes[n];
            if node.slave || node.replicate.is_some() {
                continue;
            }
            let reply = ctx.call(node, &["CLUSTER", "GETKEYSINSLOT", sl.as_str(), "1"]).await;
            if !ctx.check_reply(node, &reply) {
                return -1;
            }
            if matches!(reply, Some(Frame::Array(ref keys)) if !keys.is_empty()) {
                holders.push(n);
            }
        }
        uncovered_dict.replace(&slot.to_string(), holders);
    }
    // Acted on in the dict's order, as redis-cli does.
    let uncovered: Vec<(usize, Vec<usize>)> =
        uncovered_dict.iter().map(|(k, h)| (crate::resp::atoi(k) as usize, h.clone())).collect();
    let mut fixed = 0;
    let pick = |want: fn(usize) -> bool| -> Vec<(usize, Vec<usize>)> {
        uncovered.iter().filter(|(_, h)| want(h.len())).cloned().collect()
    };
    let (none, single, multi) = (pick(|n| n == 0), pick(|n| n == 1), pick(|n| n > 1));
    let print_list = |list: &[(usize, Vec<usize>)]| {
        let mut slots = vec![false; SLOTS];
        for (slot, _) in list {
            slots[*slot] = true;
        }
        s.print(format!("{}\n", slots_string(&slots)));
    };
    if !none.is_empty() {
        s.print("The following uncovered slots have no keys across the cluster:\n");
        print_list(&none);
        if confirm_with_yes(cm, "Fix these slots by covering with a random node?", true).await {
            for (slot, _) in &none {
                let Some(n) = cm.node_master_random() else { return -1 };
                s.info(format!(">>> Covering slot {} with {}:{}\n", slot, cm.nodes[n].ip, cm.nodes[n].port));
                if !cm.set_slot_owner(n, *slot, false).await {
                    return -1;
                }
                cm.nodes[n].set_slot(*slot, true);
                fixed += 1;
            }
        }
    }
    if !single.is_empty() {
        s.print("The following uncovered slots have keys in just one node:\n");
        print_list(&single);
        if confirm_with_yes(cm, "Fix these slots by covering with those nodes?", true).await {
            for (slot, holders) in &single {
                let n = holders[0];
                s.info(format!(">>> Covering slot {} with {}:{}\n", slot, cm.nodes[n].ip, cm.nodes[n].port));
                if !cm.set_slot_owner(n, *slot, false).await {
                    return -1;
                }
                cm.nodes[n].set_slot(*slot, true);
                fixed += 1;
            }
        }
    }
    if !multi.is_empty() {
        s.print("The following uncovered slots have keys in multiple nodes:\n");
        print_list(&multi);
        if confirm_with_yes(cm, "Fix these slots by moving keys into a single node?", true).await {
            for (slot, holders) in &multi {
                let slot = *slot;
                let Some(target) = node_with_most_keys_in_slot(cm, holders, slot).await else { return -1 };
                let t = &cm.nodes[target];
                s.info(format!(">>> Covering slot {} moving keys to {}:{}\n", slot, t.ip, t.port));
                if !cm.set_slot_owner(target, slot, true).await {
                    return -1;
                }
                cm.nodes[target].set_slot(slot, true);
                for &src in holders {
                    if src == target {
                        continue;
                    }
                    if cm.set_slot(src, target, slot, "NODE", false).await.is_err()
                        || cm.set_slot(src, target, slot, "IMPORTING", false).await.is_err()
                    {
                        return -1;
                    }
                    let opts = MoveOpts { verbose: true, cold: true, ..MoveOpts::default() };
                    if cm.move_slot(src, target, slot, opts, false).await.is_err() {
                        return -1;
                    }
                    if !cm.clear_slot_status(src, slot).await {
                        return -1;
                    }
                }
                fixed += 1;
            }
        }
    }
    fixed
}

/// `clusterManagerFixOpenSlot`.
async fn fix_open_slot(cm: &mut ClusterManager, slot: usize) -> bool {
    let ctx = cm.ctx.clone();
    let s = &ctx.s;
    unreachable_guard(cm, "open slots").await;
    s.info(format!(">>> Fixing open slot {}\n", slot));
    let mut owners = Vec::new();
    for n in 0..cm.nodes.len() {
        if cm.nodes[n].slave {
            continue;
        }
        if cm.nodes[n].slots[slot] {
            owners.push(n);
        } else {
            let count = cm.count_keys_in_slot(n, slot).await;
            if count < 0 {
                return false;
            }
            if count > 0 {
                s.warn(format!(
                    "*** Found keys about slot {} in non-owner node {}:{}!\n",
                    slot, cm.nodes[n].ip, cm.nodes[n].port
                ));
                owners.push(n);
            }
        }
    }
    let mut owner = (owners.len() == 1).then(|| owners[0]);
    let (mut migrating, mut importing) = (Vec::new(), Vec::new());
    let (mut migrating_str, mut importing_str) = (Vec::new(), Vec::new());
    let slot_s = slot.to_string();
    for n in 0..cm.nodes.len() {
        let node = &cm.nodes[n];
        if node.slave {
            continue;
        }
        let is_migrating = node.migrating.iter().any(|(sl, _)| crate::resp::atoi(sl) == slot as i64);
        let is_importing = !is_migrating && node.importing.iter().any(|(sl, _)| crate::resp::atoi(sl) == slot as i64);
        if is_migrating {
            migrating_str.push(node.addr());
            migrating.push(n);
        } else if is_importing {
            importing_str.push(node.addr());
            importing.push(n);
        }
        if !is_migrating && !is_importing && Some(n) != owner {
            let count = cm.count_keys_in_slot(n, slot).await;
            if count < 0 {
                return false;
            }
            if count > 0 {
                let node = &cm.nodes[n];
                s.warn(format!("*** Found keys about slot {} in node {}:{}!\n", slot, node.ip, node.port));
                importing_str.push(node.addr());
                importing.push(n);
            }
        }
    }
    let (migrating_str, importing_str) = (migrating_str.join(","), importing_str.join(","));
    if !migrating_str.is_empty() {
        s.print(format!("Set as migrating in: {}\n", migrating_str));
    }
    if !importing_str.is_empty() {
        s.print(format!("Set as importing in: {}\n", importing_str));
    }
    if owner.is_none() {
        s.info(">>> No single clear owner for the slot, selecting an owner by # of keys...\n");
        let all: Vec<usize> = (0..cm.nodes.len()).collect();
        let Some(o) = node_with_most_keys_in_slot(cm, &all, slot).await else {
            s.err("[ERR] Can't select a slot owner. Impossible to fix.\n");
            return false;
        };
        s.warn(format!("*** Configuring {}:{} as the slot owner\n", cm.nodes[o].ip, cm.nodes[o].port));
        if !cm.clear_slot_status(o, slot).await || !cm.set_slot_owner(o, slot, false).await {
            return false;
        }
        cm.nodes[o].set_slot(slot, true);
        migrating.retain(|&n| n != o);
        importing.retain(|&n| n != o);
        owner = Some(o);
    }
    let owner = owner.expect("chosen above");
    if owners.len() > 1 {
        for &n in &owners {
            if n == owner {
                continue;
            }
            if !cm.del_slot(n, slot, true).await {
                return false;
            }
            cm.nodes[n].set_slot(slot, false);
            if cm.set_slot(n, owner, slot, "node", false).await.is_err()
                || cm.set_slot(n, owner, slot, "importing", false).await.is_err()
            {
                return false;
            }
            importing.retain(|&x| x != n);
            importing.push(n);
            migrating.retain(|&x| x != n);
        }
    }
    let verbose = MoveOpts { verbose: true, ..MoveOpts::default() };
    if migrating.len() == 1 && importing.len() == 1 {
        let (src, dst) = (migrating[0], importing[0]);
        let (a, b) = (&cm.nodes[src], &cm.nodes[dst]);
        s.info(format!(">>> Case 1: Moving slot {} from {}:{} to {}:{}\n", slot, a.ip, a.port, b.ip, b.port));
        return cm.move_slot(src, dst, slot, MoveOpts { update: true, ..verbose }, false).await.is_ok();
    }
    if migrating.is_empty() && !importing.is_empty() {
        let o = &cm.nodes[owner];
        s.info(format!(">>> Case 2: Moving all the {} slot keys to its owner {}:{}\n", slot, o.ip, o.port));
        for &n in &importing {
            if n == owner {
                continue;
            }
            if cm.move_slot(n, owner, slot, MoveOpts { cold: true, ..verbose }, false).await.is_err() {
                return false;
            }
            s.info(format!(">>> Setting {} as STABLE in {}:{}\n", slot, cm.nodes[n].ip, cm.nodes[n].port));
            if !cm.clear_slot_status(n, slot).await {
                return false;
            }
        }
        for n in 0..cm.nodes.len() {
            if n == owner || cm.nodes[n].slave {
                continue;
            }
            if cm.set_slot(n, owner, slot, "NODE", false).await.is_err() {
                return false;
            }
        }
        return true;
    }
    if migrating.len() == 1 && importing.len() > 1 {
        let src = migrating[0];
        let target_id = cm.nodes[src]
            .migrating
            .iter()
            .find(|(sl, _)| crate::resp::atoi(sl) == slot as i64)
            .map(|(_, id)| id.clone())
            .unwrap_or_default();
        let mut dst = None;
        let mut try_to_fix = true;
        for &n in &importing {
            if cm.count_keys_in_slot(n, slot).await > 0 {
                try_to_fix = false;
                break;
            }
            if cm.nodes[n].name() == target_id {
                dst = Some(n);
            }
        }
        if try_to_fix {
            if let Some(dst) = dst {
                let (a, b) = (&cm.nodes[src], &cm.nodes[dst]);
                s.info(format!(
                    ">>> Case 3: Moving slot {} from {}:{} to {}:{} and closing it on all the other importing nodes.\n",
                    slot, a.ip, a.port, b.ip, b.port
                ));
                if cm.move_slot(src, dst, slot, verbose, false).await.is_err() {
                    return false;
                }
                for &n in &importing {
                    if n != dst && !cm.clear_slot_status(n, slot).await {
                        return false;
                    }
                }
            } else {
                s.info(format!(">>> Case 3: Closing slot {} on both migrating and importing nodes.\n", slot));
                if !cm.clear_slot_status(src, slot).await {
                    return false;
                }
                for &n in &importing {
                    if !cm.clear_slot_status(n, slot).await {
                        return false;
                    }
                }
            }
            return true;
        }
    } else {
        let mut try_to_close = importing.is_empty() && migrating.len() == 1;
        if try_to_close {
            let n = migrating[0];
            if owner != n {
                let reply = ctx.call(&cm.nodes[n], &["CLUSTER", "GETKEYSINSLOT", slot_s.as_str(), "10"]).await;
                if !ctx.check_reply(&cm.nodes[n], &reply) {
                    return false;
                }
                try_to_close = matches!(reply, Some(Frame::Array(ref k)) if k.is_empty());
            }
        }
        if try_to_close {
            let n = migrating[0];
            s.info(format!(">>> Case 4: Closing slot {} on {}:{}\n", slot, cm.nodes[n].ip, cm.nodes[n].port));
            let reply = ctx.call(&cm.nodes[n], &["CLUSTER", "SETSLOT", slot_s.as_str(), "STABLE"]).await;
            return ctx.check_reply(&cm.nodes[n], &reply);
        }
    }
    let o = &cm.nodes[owner];
    s.err(format!(
        "[ERR] Sorry, redis-cli can't fix this slot yet (work in progress). Slot is set as migrating in {}, as importing in {}, owner is {}:{}\n",
        migrating_str, importing_str, o.ip, o.port
    ));
    false
}

/// `clusterManagerFixMultipleSlotOwners`.
async fn fix_multiple_slot_owners(cm: &mut ClusterManager, slot: usize, owners: &[usize]) -> bool {
    let s = cm.ctx.s.clone();
    s.info(format!(">>> Fixing multiple owners for slot {}...\n", slot));
    let owner = match node_with_most_keys_in_slot(cm, owners, slot).await {
        Some(o) => o,
        None => owners[0],
    };
    s.info(format!(">>> Setting slot {} owner: {}:{}\n", slot, cm.nodes[owner].ip, cm.nodes[owner].port));
    if !cm.set_slot_owner(owner, slot, false).await {
        return false;
    }
    let mut success = false;
    for n in 0..cm.nodes.len() {
        if n == owner || cm.nodes[n].slave {
            continue;
        }
        let count = cm.count_keys_in_slot(n, slot).await;
        success = count >= 0;
        if !success {
            break;
        }
        cm.del_slot(n, slot, true).await;
        if cm.set_slot(n, owner, slot, "node", false).await.is_err() {
            return false;
        }
        if count > 0 {
            let opts = MoveOpts { verbose: true, cold: true, ..MoveOpts::default() };
            success = cm.move_slot(n, owner, slot, opts, false).await.is_ok();
            if !success {
                break;
            }
        }
    }
    success
}
