//! Moving hash slots between masters with their keys: `clusterManagerMoveSlot`, and the two
//! subcommands built on it, `reshard` and `rebalance`.
//!
//! ```text
//!   target: CLUSTER SETSLOT <slot> IMPORTING <source-id>     the target accepts ASKING clients
//!   source: CLUSTER SETSLOT <slot> MIGRATING <target-id>     the source answers -ASK for
//!                                                            keys it no longer has
//!   source: CLUSTER GETKEYSINSLOT <slot> <pipeline>          ┐ until no key is left
//!   source: MIGRATE <ip> <port> "" 0 <timeout> KEYS k1 k2…   ┘ (a dot per key)
//!   target: CLUSTER SETSLOT <slot> NODE <target-id>          the target first: it bumps its
//!   source: CLUSTER SETSLOT <slot> NODE <target-id>          epoch and tells everyone (#7116)
//!   others: CLUSTER SETSLOT <slot> NODE <target-id>          so no one redirects in circles
//! ```
//!
//! A key being moved is never lost nor served twice: while the slot is open, the source
//! answers for the keys it still has and sends `-ASK` for the others, and the target serves
//! only clients that say `ASKING`. A `BUSYKEY` from MIGRATE (the key exists on the target, a
//! fix after an interrupted move) is resolved by comparing `DEBUG DIGEST-VALUE` on both
//! sides: equal values are replaced, different ones stop the move unless `--cluster-replace`.
//!
//! `reshard` moves N slots to one node, taken from the sources in proportion to their slots
//! (`clusterManagerComputeReshardTable`: the biggest rounds up, the others down).
//! `rebalance` computes each master's share from its weight and pairs the most overloaded
//! with the most underloaded until every balance is zero, printing a `#` per slot.

use super::check;
use super::topology::{text, ClusterManager, SLOTS};
use crate::resp::Frame;

/// `clusterManagerMoveSlot`'s options.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MoveOpts {
    /// A dot per moved key.
    pub verbose: bool,
    /// Move the keys only: no SETSLOT before or after (fix's "cold" moves).
    pub cold: bool,
    /// Update the manager's slot tables too.
    pub update: bool,
    /// No "Moving slot…" line.
    pub quiet: bool,
}

/// An error from a request: its text, or `None` when no reply came.
pub(crate) type ReplyError = Option<String>;

impl ClusterManager {
    /// `clusterManagerSetSlot`: `CLUSTER SETSLOT <slot> <status> <id of node2>` on node1.
    /// With `report` the error is returned (redis-cli's `err` pointer), otherwise printed.
    pub async fn set_slot(
        &self,
        n1: usize,
        n2: usize,
        slot: usize,
        status: &str,
        report: bool,
    ) -> Result<(), ReplyError> {
        let (node1, id) = (&self.nodes[n1], self.nodes[n2].name().to_string());
        let slot = slot.to_string();
        match self.ctx.call(node1, &["CLUSTER", "SETSLOT", slot.as_str(), status, id.as_str()]).await {
            None => Err(report.then(|| "CLUSTER SETSLOT failed to run".to_string())),
            Some(Frame::Error(e)) => {
                if !report {
                    self.ctx.print_reply_error(node1, &e);
                }
                Err(Some(e))
            }
            Some(_) => Ok(()),
        }
    }

    /// `clusterManagerClearSlotStatus`: `CLUSTER SETSLOT <slot> STABLE`.
    pub async fn clear_slot_status(&self, n: usize, slot: usize) -> bool {
        let slot = slot.to_string();
        let reply = self.ctx.call(&self.nodes[n], &["CLUSTER", "SETSLOT", slot.as_str(), "STABLE"]).await;
        self.ctx.check_reply(&self.nodes[n], &reply)
    }

    /// `clusterManagerDelSlot`; with `ignore_unassigned`, "not assigned" is no error.
    pub async fn del_slot(&self, n: usize, slot: usize, ignore_unassigned: bool) -> bool {
        let node = &self.nodes[n];
        let s = slot.to_string();
        match self.ctx.call(node, &["CLUSTER", "DELSLOTS", s.as_str()]).await {
            Some(Frame::Error(e)) => {
                if ignore_unassigned {
                    match self.get_slot_owner(n, slot).await {
                        Ok(None) => return true,
                        Ok(Some(_)) => {}
                        Err(Some(owner_err)) => self.ctx.print_reply_error(node, &owner_err),
                        Err(None) => {}
                    }
                }
                self.ctx.print_reply_error(node, &e);
                false
            }
            None => false,
            Some(_) => true,
        }
    }

    /// `clusterManagerCountKeysInSlot`: -1 on error.
    pub async fn count_keys_in_slot(&self, n: usize, slot: usize) -> i64 {
        let s = slot.to_string();
        let reply = self.ctx.call(&self.nodes[n], &["CLUSTER", "COUNTKEYSINSLOT", s.as_str()]).await;
        match reply {
            Some(Frame::Integer(i)) => i,
            other => {
                self.ctx.check_reply(&self.nodes[n], &other);
                -1
            }
        }
    }

    /// `clusterManagerGetSlotOwner`: who serves `slot` according to node `n`'s CLUSTER SLOTS.
    pub async fn get_slot_owner(&self, n: usize, slot: usize) -> Result<Option<usize>, ReplyError> {
        let reply = match self.ctx.call(&self.nodes[n], &["CLUSTER", "SLOTS"]).await {
            Some(Frame::Error(e)) => return Err(Some(e)),
            None => return Err(None),
            Some(r) => r,
        };
        let Frame::Array(ranges) = reply else { return Ok(None) };
        for range in ranges {
            let Frame::Array(r) = range else { continue };
            let (Some(Frame::Integer(from)), Some(Frame::Integer(to))) = (r.first(), r.get(1)) else { continue };
            if (slot as i64) < *from || (slot as i64) > *to {
                continue;
            }
            let Some(Frame::Array(master)) = r.get(2) else { continue };
            let owner = match master.get(2).and_then(text) {
                Some(name) => self.node_by_name(&name),
                None => {
                    let ip = master.first().and_then(text).unwrap_or_default();
                    let port = match master.get(1) {
                        Some(Frame::Integer(p)) => *p,
                        _ => 0,
                    };
                    self.nodes.iter().position(|x| x.ip == ip && x.port as i64 == port)
                }
            };
            if owner.is_some() {
                return Ok(owner);
            }
        }
        Ok(None)
    }

    /// `clusterManagerSetSlotOwner`: in one MULTI/EXEC, make `owner` the slot's only owner
    /// (DELSLOTS, ADDSLOTS, optionally SETSLOT STABLE, BUMPEPOCH); only ADDSLOTS may fail.
    pub async fn set_slot_owner(&self, owner: usize, slot: usize, clear: bool) -> bool {
        let node = &self.nodes[owner];
        let reply = self.ctx.call(node, &["MULTI"]).await;
        if !self.ctx.check_reply(node, &reply) {
            return false;
        }
        self.del_slot(owner, slot, true).await;
        let s = slot.to_string();
        let r = self.ctx.call(node, &["CLUSTER", "ADDSLOTS", s.as_str()]).await;
        self.ctx.check_reply(node, &r);
        if clear {
            self.clear_slot_status(owner, slot).await;
        }
        let r = self.ctx.call(node, &["CLUSTER", "BUMPEPOCH"]).await;
        self.ctx.check_reply(node, &r);
        match self.ctx.call(node, &["EXEC"]).await {
            Some(Frame::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    if let Frame::Error(e) = item {
                        if i == 1 {
                            self.ctx.print_reply_error(node, e);
                            return false;
                        }
                    }
                }
                true
            }
            other => {
                self.ctx.check_reply(node, &other);
                false
            }
        }
    }

    /// The MIGRATE of `clusterManagerMigrateKeysInReply`.
    async fn migrate_keys(&self, source: usize, target: usize, keys: &[Frame], replace: bool) -> Option<Frame> {
        let (src, dst) = (&self.nodes[source], &self.nodes[target]);
        let o = &self.ctx.o;
        let mut args: Vec<Vec<u8>> = vec![
            b"MIGRATE".to_vec(),
            dst.ip.clone().into_bytes(),
            dst.port.to_string().into_bytes(),
            Vec::new(),
            b"0".to_vec(),
            o.timeout_ms.to_string().into_bytes(),
        ];
        if replace {
            args.push(b"REPLACE".to_vec());
        }
        if let Some(pass) = &o.auth {
            match &o.user {
                Some(user) => {
                    args.push(b"AUTH2".to_vec());
                    args.push(user.clone().into_bytes());
                }
                None => args.push(b"AUTH".to_vec()),
            }
            args.push(pass.clone().into_bytes());
        }
        args.push(b"KEYS".to_vec());
        for k in keys {
            if let Frame::Bulk(b) = k {
                args.push(b.to_vec());
            }
        }
        self.ctx.call(src, &args).await
    }

    /// `clusterManagerCompareKeysValues`: the keys whose values differ on the two nodes.
    async fn compare_keys_values(&self, n1: usize, n2: usize, keys: &[Frame]) -> Option<Vec<String>> {
        let mut args: Vec<Vec<u8>> = vec![b"DEBUG".to_vec(), b"DIGEST-VALUE".to_vec()];
        args.extend(keys.iter().filter_map(|k| if let Frame::Bulk(b) = k { Some(b.to_vec()) } else { None }));
        let r1 = self.ctx.call(&self.nodes[n1], &args).await?;
        let r2 = self.ctx.call(&self.nodes[n2], &args).await?;
        let mut ok = true;
        for (n, r) in [(n1, &r1), (n2, &r2)] {
            if let Frame::Error(e) = r {
                self.ctx.print_reply_error(&self.nodes[n], e);
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        let (Frame::Array(h1), Frame::Array(h2)) = (r1, r2) else { return None };
        const ZERO: &str = "0000000000000000000000000000000000000000";
        let mut diffs = Vec::new();
        for ((k, a), b) in keys.iter().zip(h1.iter()).zip(h2.iter()) {
            let (a, b) = (text(a).unwrap_or_default(), text(b).unwrap_or_default());
            if a == ZERO || b == ZERO {
                continue;
            }
            if a != b {
                diffs.push(text(k).unwrap_or_default());
            }
        }
        Some(diffs)
    }

    /// `clusterManagerMigrateKeysInSlot`: GETKEYSINSLOT and MIGRATE until the slot is empty.
    pub async fn migrate_keys_in_slot(
        &mut self,
        source: usize,
        target: usize,
        slot: usize,
        verbose: bool,
    ) -> Result<(), ReplyError> {
        let ctx = self.ctx.clone();
        let s = &ctx.s;
        let (slot_s, pipeline) = (slot.to_string(), ctx.o.pipeline.to_string());
        loop {
            let keys = match ctx
                .call(&self.nodes[source], &["CLUSTER", "GETKEYSINSLOT", slot_s.as_str(), pipeline.as_str()])
                .await
            {
                None => return Err(None),
                Some(Frame::Error(e)) => {
                    ctx.print_reply_error(&self.nodes[source], &e);
                    return Err(Some(e));
                }
                Some(Frame::Array(keys)) => keys,
                Some(_) => return Err(None),
            };
            if keys.is_empty() {
                return Ok(());
            }
            let dots = ".".repeat(keys.len());
            let Some(reply) = self.migrate_keys(source, target, &keys, false).await else { continue };
            if let Frame::Error(e) = &reply {
                let is_busy = e.contains("BUSYKEY");
                let mut not_served = false;
                if !is_busy {
                    match self.get_slot_owner(source, slot).await {
                        Ok(None) => not_served = true,
                        Ok(Some(_)) => {}
                        Err(Some(owner_err)) => ctx.print_reply_error(&self.nodes[source], &owner_err),
                        Err(None) => {}
                    }
                }
                let retried;
                if is_busy || not_served {
                    if ctx.o.fix && not_served {
                        let t = &self.nodes[target];
                        s.warn(format!("*** Slot was not served, setting owner to node {}:{}.\n", t.ip, t.port));
                        let _ = self.set_slot(source, target, slot, "node", false).await;
                    }
                    if is_busy {
                        s.warn("\n*** Target key exists\n");
                        if !ctx.o.replace {
                            s.warn("*** Checking key values on both nodes...\n");
                            let Some(diffs) = self.compare_keys_values(source, target, &keys).await else {
                                s.err("*** Value check failed!\n");
                                return Err(None);
                            };
                            if !diffs.is_empty() {
                                let (src, dst) = (&self.nodes[source], &self.nodes[target]);
                                s.err(format!(
                                    "*** Found {} key(s) in both source node and target node having different values.\n    \
                                     Source node: {}:{}\n    Target node: {}:{}\n    Keys(s):\n",
                                    diffs.len(),
                                    src.ip,
                                    src.port,
                                    dst.ip,
                                    dst.port
                                ));
                                for k in diffs {
                                    s.err(format!("    - {}\n", k));
                                }
                                s.err(
                                    "Please fix the above key(s) manually and try again or relaunch the command \n\
                                     with --cluster-replace option to force key overriding.\n",
                                );
                                return Err(None);
                            }
                        }
                        s.warn("*** Replacing target keys...\n");
                    }
                    retried = self.migrate_keys(source, target, &keys, is_busy).await;
                    if retried.as_ref().is_some_and(|r| !matches!(r, Frame::Error(_))) {
                        if verbose {
                            s.print(dots);
                        }
                        continue;
                    }
                } else {
                    retried = Some(reply.clone());
                }
                if let Some(Frame::Error(e)) = retried {
                    s.print("\n");
                    ctx.print_reply_error(&self.nodes[source], &e);
                    return Err(Some(e));
                }
                return Err(None);
            }
            if verbose {
                s.print(dots);
            }
        }
    }

    /// `clusterManagerMoveSlot`. `report`: the caller wants the error (redis-cli's `err`
    /// pointer) — without it, a failure to tell the source is not fatal and errors print.
    pub async fn move_slot(
        &mut self,
        source: usize,
        target: usize,
        slot: usize,
        opts: MoveOpts,
        report: bool,
    ) -> Result<(), ReplyError> {
        let s = self.ctx.s.clone();
        if !opts.quiet {
            let (a, b) = (&self.nodes[source], &self.nodes[target]);
            s.print(format!("Moving slot {} from {}:{} to {}:{}: ", slot, a.ip, a.port, b.ip, b.port));
        }
        if !opts.cold {
            self.set_slot(target, source, slot, "importing", report).await?;
            self.set_slot(source, target, slot, "migrating", report).await?;
        }
        let moved = self.migrate_keys_in_slot(source, target, slot, opts.verbose).await;
        if !opts.quiet {
            s.print("\n");
        }
        moved?;
        if !opts.cold {
            self.set_slot(target, target, slot, "node", report).await?;
            match self.set_slot(source, target, slot, "node", report).await {
                Err(Some(e)) if e.starts_with("ERR Please use SETSLOT only with masters.") => {}
                Err(e) if report => return Err(e),
                _ => {}
            }
            for n in 0..self.nodes.len() {
                if n == target || n == source || self.nodes[n].slave {
                    continue;
                }
                self.set_slot(n, target, slot, "node", report).await?;
            }
        }
        if opts.update {
            self.nodes[source].set_slot(slot, false);
            self.nodes[target].set_slot(slot, true);
        }
        Ok(())
    }
}

/// `clusterManagerComputeReshardTable`: which slots to take from which source.
pub(crate) fn compute_reshard_table(cm: &ClusterManager, sources: &[usize], numslots: i32) -> Vec<(usize, usize)> {
    let mut moved = Vec::new();
    let total: i32 = sources.iter().map(|&s| cm.nodes[s].slots_count).sum();
    let mut sorted = sources.to_vec();
    sorted.sort_by(|a, b| cm.nodes[*b].slots_count.cmp(&cm.nodes[*a].slots_count));
    for (i, &src) in sorted.iter().enumerate() {
        let node = &cm.nodes[src];
        let n = numslots as f32 / total as f32 * node.slots_count as f32;
        let max = if i == 0 { n.ceil() } else { n.floor() } as i32;
        let mut count = 0;
        for slot in 0..SLOTS {
            if !node.slots[slot] {
                continue;
            }
            if count >= max || moved.len() as i32 >= numslots {
                break;
            }
            moved.push((src, slot));
            count += 1;
        }
    }
    moved
}

/// `clusterNodeForResharding`: `Err(true)` is fatal (unknown or not a master).
fn node_for_resharding(cm: &ClusterManager, id: &str, target: Option<usize>) -> Result<usize, bool> {
    match cm.node_by_name(id) {
        Some(n) if !cm.nodes[n].slave => {
            if let Some(t) = target {
                if cm.nodes[n].name == cm.nodes[t].name {
                    cm.ctx.s.err("*** It is not possible to use the target node as source node.\n");
                    return Err(false);
                }
            }
            Ok(n)
        }
        _ => {
            cm.ctx.s.err(format!("*** The specified node ({}) is not known or not a master, please retry.\n", id));
            Err(true)
        }
    }
}

/// `--cluster reshard host:port` (`clusterManagerCommandReshard`).
pub(crate) async fn reshard(cm: &mut ClusterManager) -> bool {
    let ctx = cm.ctx.clone();
    let s = &ctx.s;
    let Some(node) = check::named_node(cm) else { return false };
    if !cm.load_info_from_node(node).await {
        return false;
    }
    check::check_cluster(cm, false).await;
    if !cm.errors.is_empty() {
        s.eprint("*** Please fix your cluster problems before resharding\n");
        return false;
    }
    let mut slots = ctx.o.slots;
    if slots == 0 {
        while slots <= 0 || slots > SLOTS as i32 {
            let Some(line) = s.prompt(format!("How many slots do you want to move (from 1 to {})? ", SLOTS)).await
            else {
                return false;
            };
            // read(…, 6): at most five characters and the newline.
            slots = crate::resp::atoi(&line.chars().take(5).collect::<String>()) as i32;
        }
    }
    let mut to = ctx.o.to.clone();
    while to.is_none() {
        let Some(line) = s.prompt("What is the receiving node ID? ").await else { return false };
        if !line.is_empty() {
            to = Some(line);
        }
    }
    let Ok(target) = node_for_resharding(cm, to.as_deref().unwrap_or(""), None) else { return false };
    let mut sources = Vec::new();
    let mut all = false;
    match ctx.o.from.clone() {
        None => {
            s.print("Please enter all the source node IDs.\n");
            s.print("  Type 'all' to use all the nodes as source nodes for the hash slots.\n");
            s.print("  Type 'done' once you entered all the source nodes IDs.\n");
            loop {
                let Some(line) = s.prompt(format!("Source node #{}: ", sources.len() + 1)).await else { return false };
                if line == "done" {
                    break;
                } else if line == "all" {
                    all = true;
                    break;
                }
                match node_for_resharding(cm, &line, Some(target)) {
                    Ok(n) => sources.push(n),
                    Err(true) => return false,
                    Err(false) => {}
                }
            }
        }
        Some(from) => {
            // Every piece before a comma names a node (an empty one is an unknown node); the
            // last piece only when something is left.
            let pieces: Vec<&str> = from.split(',').collect();
            for (k, id) in pieces.iter().enumerate() {
                if *id == "all" {
                    all = true;
                    break;
                }
                if id.is_empty() && k == pieces.len() - 1 {
                    continue;
                }
                match node_for_resharding(cm, id, Some(target)) {
                    Ok(n) => sources.push(n),
                    Err(true) => return false,
                    Err(false) => {}
                }
            }
        }
    }
    if all {
        sources = (0..cm.nodes.len())
            .filter(|&n| {
                !cm.nodes[n].slave && cm.nodes[n].replicate.is_none() && cm.nodes[n].name != cm.nodes[target].name
            })
            .collect();
    }
    if sources.is_empty() {
        s.eprint("*** No source nodes given, operation aborted.\n");
        return false;
    }
    s.print(format!("\nReady to move {} slots.\n", slots));
    s.print("  Source nodes:\n");
    for &src in &sources {
        s.print(format!("{}\n", cm.nodes[src].info(4)));
    }
    s.print("  Destination node:\n");
    s.print(format!("{}\n", cm.nodes[target].info(4)));
    let table = compute_reshard_table(cm, &sources, slots);
    s.print("  Resharding plan:\n");
    for &(src, slot) in &table {
        s.print(format!("    Moving slot {} from {}\n", slot, cm.nodes[src].name()));
    }
    if !ctx.o.yes {
        match s.prompt("Do you want to proceed with the proposed reshard plan (yes/no)? ").await {
            Some(line) if line.starts_with("yes") => {}
            _ => return false,
        }
    }
    for (src, slot) in table {
        let opts = MoveOpts { verbose: true, ..MoveOpts::default() };
        if let Err(e) = cm.move_slot(src, target, slot, opts, true).await {
            if let Some(e) = e {
                s.err(format!("clusterManagerMoveSlot failed: {}\n", e));
            }
            return false;
        }
    }
    true
}

/// `--cluster rebalance host:port` (`clusterManagerCommandRebalance`).
pub(crate) async fn rebalance(cm: &mut ClusterManager) -> bool {
    let ctx = cm.ctx.clone();
    let s = &ctx.s;
    let Some(node) = check::named_node(cm) else { return false };
    if !cm.load_info_from_node(node).await {
        return false;
    }
    for w in &ctx.o.weights {
        let Some((name, weight)) = w.split_once('=') else {
            s.err(format!("*** invalid input {}\n", w));
            return false;
        };
        let Some(n) = cm.node_by_abbreviated_name(name) else {
            s.err(format!("*** No such master node {}\n", name));
            return false;
        };
        cm.nodes[n].weight = super::options::atof(weight) as f32;
    }
    let mut total_weight: f32 = 0.0;
    let mut involved = Vec::new();
    for n in 0..cm.nodes.len() {
        let node = &mut cm.nodes[n];
        if node.slave || node.replicate.is_some() {
            continue;
        }
        if !ctx.o.use_empty_masters && node.slots_count == 0 {
            node.weight = 0.0;
            continue;
        }
        total_weight += node.weight;
        involved.push(n);
    }
    check::check_cluster(cm, true).await;
    if !cm.errors.is_empty() {
        s.err("*** Please fix your cluster problems before rebalancing\n");
        return false;
    }
    let threshold = ctx.o.threshold;
    let mut threshold_reached = false;
    let mut total_balance = 0;
    for &n in &involved {
        let node = &mut cm.nodes[n];
        let expected = ((SLOTS as f32 / total_weight) * node.weight) as i32;
        node.balance = node.slots_count - expected;
        total_balance += node.balance;
        if threshold > 0.0 {
            if node.slots_count > 0 {
                let err_perc = (100.0 - (100.0 * expected as f64 / node.slots_count as f64)).abs();
                if err_perc > threshold as f64 {
                    threshold_reached = true;
                }
            } else if expected > 1 {
                threshold_reached = true;
            }
        }
    }
    if !threshold_reached {
        s.warn(format!("*** No rebalancing needed! All nodes are within the {:.2}% threshold.\n", threshold));
        return true;
    }
    while total_balance > 0 {
        for &n in &involved {
            if cm.nodes[n].balance <= 0 && total_balance > 0 {
                cm.nodes[n].balance -= 1;
                total_balance -= 1;
            }
        }
    }
    let mut weighted = involved.clone();
    weighted.sort_by_key(|&n| cm.nodes[n].balance);
    s.info(format!(">>> Rebalancing across {} nodes. Total weight = {:.2}\n", involved.len(), total_weight));
    if ctx.o.verbose {
        for &n in &weighted {
            let node = &cm.nodes[n];
            s.print(format!("{}:{} balance is {} slots\n", node.ip, node.port, node.balance));
        }
    }
    let (mut dst_idx, mut src_idx) = (0usize, weighted.len().saturating_sub(1));
    while dst_idx < src_idx {
        let (dst, src) = (weighted[dst_idx], weighted[src_idx]);
        let numslots = cm.nodes[dst].balance.abs().min(cm.nodes[src].balance.abs());
        if numslots > 0 {
            let (a, b) = (&cm.nodes[src], &cm.nodes[dst]);
            s.print(format!("Moving {} slots from {}:{} to {}:{}\n", numslots, a.ip, a.port, b.ip, b.port));
            let table = compute_reshard_table(cm, &[src], numslots);
            if table.len() as i32 != numslots {
                s.err("*** Assertion failed: Reshard table != number of slots");
                return false;
            }
            if ctx.o.simulate {
                s.print("#".repeat(table.len()));
            } else {
                for (from, slot) in table {
                    let opts = MoveOpts { quiet: true, update: true, ..MoveOpts::default() };
                    if let Err(e) = cm.move_slot(from, dst, slot, opts, true).await {
                        s.err(format!("*** clusterManagerMoveSlot: {}\n", e.unwrap_or_else(|| "(null)".into())));
                        return false;
                    }
                    s.print("#");
                }
            }
            s.print("\n");
        }
        cm.nodes[dst].balance += numslots;
        cm.nodes[src].balance -= numslots;
        if cm.nodes[dst].balance == 0 {
            dst_idx += 1;
        }
        if cm.nodes[src].balance == 0 {
            src_idx -= 1;
        }
    }
    true
}
