//! The manager's picture of a cluster: one [`ManagedNode`] per node (`clusterManagerNode`),
//! loaded from the nodes' own `CLUSTER NODES`, and the requests every subcommand shares.
//!
//! ```text
//!   07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@40004 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
//!   67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@40002 master - 0 1426238316232 2 connected 5461-10922
//!   name                                     addr@bus-port         flags  master-id  ping-sent recv epoch link  slots…
//! ```
//!
//! A subcommand starts from one node the user named (`clusterManagerLoadInfoFromNode`): it
//! connects, asks `INFO` whether `cluster_enabled:1`, reads that node's `CLUSTER NODES` —
//! its own line gives its slots and its open (`[slot->-id]` migrating, `[slot-<-id]`
//! importing) slots; the other lines are *friends*, each then connected and asked for its
//! own line. A friend flagged `noaddr`, `disconnected` or `fail` is left out (a master left
//! out counts as unreachable, which `fix` will not ignore lightly). What a node says about
//! itself is the truth the manager works with; `clusterManagerIsConfigConsistent` compares
//! what every node says about everyone's slots.

use super::options::ClusterOptions;
use super::session::Session;
use crate::net::ConnId;
use crate::resp::Frame;

/// The number of hash slots.
pub(crate) const SLOTS: usize = 16384;

/// One node as the manager knows it (`clusterManagerNode`).
#[derive(Clone, Debug)]
pub(crate) struct ManagedNode {
    pub conn: Option<ConnId>,
    pub ip: String,
    pub port: u16,
    pub bus_port: u16,
    /// The node id, once read from CLUSTER NODES.
    pub name: Option<String>,
    pub myself: bool,
    pub slave: bool,
    pub friend: bool,
    pub noaddr: bool,
    pub disconnected: bool,
    pub fail: bool,
    /// The flags as CLUSTER NODES lists them (`myself,master`).
    pub flags_str: Vec<String>,
    /// The master's id, for a replica (or the master chosen by `create`).
    pub replicate: Option<String>,
    /// Invariant: `slots_count` is the number of `true`s (kept by every writer).
    pub slots: Vec<bool>,
    pub slots_count: i32,
    /// `create`: configuration decided here and not yet sent to the node.
    pub dirty: bool,
    /// Open slots: (slot, the other node's id).
    pub migrating: Vec<(String, String)>,
    pub importing: Vec<(String, String)>,
    pub weight: f32,
    pub balance: i32,
    pub replicas_count: i32,
    pub current_epoch: u64,
    pub friends: Vec<ManagedNode>,
}

impl ManagedNode {
    /// `clusterManagerNewNode`: the bus port defaults to port + 10000 until CLUSTER NODES says.
    pub fn new(ip: &str, port: u16, bus_port: u16) -> ManagedNode {
        ManagedNode {
            conn: None,
            ip: ip.to_string(),
            port,
            bus_port: if bus_port != 0 { bus_port } else { port.wrapping_add(10000) },
            name: None,
            myself: false,
            slave: false,
            friend: false,
            noaddr: false,
            disconnected: false,
            fail: false,
            flags_str: Vec::new(),
            replicate: None,
            slots: vec![false; SLOTS],
            slots_count: 0,
            dirty: false,
            migrating: Vec::new(),
            importing: Vec::new(),
            weight: 1.0,
            balance: 0,
            replicas_count: 0,
            current_epoch: 0,
            friends: Vec::new(),
        }
    }

    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    pub fn addr(&self) -> String {
        format!("{}:{}", self.ip, self.port)
    }

    pub fn reset_slots(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = false);
        self.slots_count = 0;
    }

    pub fn set_slot(&mut self, slot: usize, owned: bool) {
        if self.slots[slot] != owned {
            self.slots[slot] = owned;
            self.slots_count += if owned { 1 } else { -1 };
        }
        debug_assert!(self.slots_count >= 0);
    }

    /// `clusterManagerNodeFlagString`: the flags but `myself`, comma separated.
    pub fn flag_string(&self) -> String {
        self.flags_str.iter().filter(|f| *f != "myself").cloned().collect::<Vec<_>>().join(",")
    }

    /// `clusterManagerNodeInfo`: the `M:`/`S:` block `create`, `check` and `reshard` print.
    pub fn info(&self, indent: usize) -> String {
        let spaces = " ".repeat(indent);
        let mut out = spaces.clone();
        if self.dirty && self.replicate.is_some() {
            out += &format!("S: {} {}:{}", self.name(), self.ip, self.port);
        } else {
            let role = if self.slave { "S" } else { "M" };
            out += &format!(
                "{}: {} {}:{}\n{}   slots:{} ({} slots) {}",
                role,
                self.name(),
                self.ip,
                self.port,
                spaces,
                slots_string(&self.slots),
                self.slots_count,
                self.flag_string()
            );
        }
        if let Some(master) = &self.replicate {
            out += &format!("\n{}   replicates {}", spaces, master);
        } else if self.replicas_count > 0 {
            out += &format!("\n{}   {} additional replica(s)", spaces, self.replicas_count);
        }
        out
    }
}

/// `clusterManagerNodeSlotsString`: `[0-5460],[5462]`.
pub(crate) fn slots_string(slots: &[bool]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < slots.len() {
        if slots[i] {
            let start = i;
            while i + 1 < slots.len() && slots[i + 1] {
                i += 1;
            }
            if !out.is_empty() {
                out.push(',');
            }
            if start == i {
                out += &format!("[{}]", start);
            } else {
                out += &format!("[{}-{}]", start, i);
            }
        }
        i += 1;
    }
    out
}

/// `parseClusterNodeAddress`: `ip:port[@bus_port]` → (ip, port, bus_port or 0).
pub(crate) fn parse_address(addr: &str) -> Option<(String, u16, u16)> {
    let (rest, bus) = match addr.rfind('@') {
        Some(at) => (&addr[..at], crate::resp::atoi(&addr[at + 1..]) as u16),
        None => (addr, 0),
    };
    let colon = rest.rfind(':')?;
    Some((rest[..colon].to_string(), crate::resp::atoi(&rest[colon + 1..]) as u16, bus))
}

/// `getClusterHostFromCmdArgs`: `host:port`, or `host port` as two words.
pub(crate) fn host_from_args(args: &[String]) -> Option<(String, u16)> {
    let (ip, port) = if args.len() == 1 {
        let (ip, port, _) = parse_address(&args[0])?;
        (ip, port)
    } else {
        (args.first()?.clone(), crate::resp::atoi(args.get(1)?) as u16)
    };
    (!ip.is_empty() && port != 0).then_some((ip, port))
}

/// A reply's text (status, bulk or verbatim string).
pub(crate) fn text(frame: &Frame) -> Option<String> {
    match frame {
        Frame::Simple(s) => Some(s.clone()),
        Frame::Bulk(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Frame::Verbatim { text, .. } => Some(String::from_utf8_lossy(text).into_owned()),
        _ => None,
    }
}

/// `getLongInfoField`: the number after `field:` in an INFO text, 0 when absent.
pub(crate) fn info_field(info: &str, field: &str) -> i64 {
    info.lines()
        .find_map(|l| l.strip_prefix(field).and_then(|r| r.strip_prefix(':')))
        .map(crate::resp::atoi)
        .unwrap_or(0)
}

/// What every subcommand reaches the world through: the session and the options.
#[derive(Clone, Debug)]
pub(crate) struct Ctx {
    pub s: Session,
    pub o: ClusterOptions,
}

impl Ctx {
    /// `CLUSTER_MANAGER_COMMAND`: one request to a node; `None` when it has no connection or
    /// the connection broke.
    pub async fn call<A: AsRef<[u8]>>(&self, node: &ManagedNode, args: &[A]) -> Option<Frame> {
        self.s.call(node.conn?, args).await
    }

    /// `CLUSTER_MANAGER_PRINT_REPLY_ERROR`.
    pub fn print_reply_error(&self, node: &ManagedNode, err: &str) {
        self.s.err(format!("Node {}:{} replied with error:\n{}\n", node.ip, node.port, err));
    }

    /// `clusterManagerCheckRedisReply` with `err == NULL`: an error reply is printed.
    pub fn check_reply(&self, node: &ManagedNode, reply: &Option<Frame>) -> bool {
        match reply {
            None => false,
            Some(Frame::Error(e)) => {
                self.print_reply_error(node, e);
                false
            }
            Some(_) => true,
        }
    }

    /// `clusterManagerNodeConnect`: connect, and AUTH when a password was given.
    pub async fn connect(&self, node: &mut ManagedNode) -> bool {
        if let Some(conn) = node.conn.take() {
            self.s.close(conn);
        }
        match self.s.connect(&node.ip, node.port).await {
            Err(e) => {
                self.s.eprint(format!("Could not connect to Redis at {}:{}: {}\n", node.ip, node.port, e));
                false
            }
            Ok(conn) => {
                node.conn = Some(conn);
                if let Some(pass) = self.o.auth.clone() {
                    let reply = match &self.o.user {
                        None => self.call(node, &["AUTH", pass.as_str()]).await,
                        Some(user) => self.call(node, &["AUTH", user.as_str(), pass.as_str()]).await,
                    };
                    return self.check_reply(node, &reply);
                }
                true
            }
        }
    }

    /// INFO's text, or the error reply's text.
    pub async fn info(&self, node: &ManagedNode) -> Result<String, Option<String>> {
        match self.call(node, &["INFO"]).await {
            Some(Frame::Error(e)) => Err(Some(e)),
            Some(f) => text(&f).ok_or(None),
            None => Err(None),
        }
    }

    /// `clusterManagerNodeIsCluster`.
    pub async fn is_cluster(&self, node: &ManagedNode) -> Result<bool, Option<String>> {
        Ok(info_field(&self.info(node).await?, "cluster_enabled") != 0)
    }

    /// `clusterManagerPrintNotClusterNodeError`.
    pub fn print_not_cluster(&self, node: &ManagedNode, err: Option<&str>) {
        let msg = err.unwrap_or("is not configured as a cluster node.");
        self.s.err(format!("[ERR] Node {}:{} {}\n", node.ip, node.port, msg));
    }

    /// `clusterManagerPrintNotEmptyNodeError`.
    pub fn print_not_empty(&self, node: &ManagedNode, err: Option<&str>) {
        let msg = err.unwrap_or(
            "is not empty. Either the node already knows other nodes (check with CLUSTER NODES) or contains some key in database 0.",
        );
        self.s.err(format!("[ERR] Node {}:{} {}\n", node.ip, node.port, msg));
    }

    /// `clusterManagerNodeIsEmpty`: no key in db0 and no other known node.
    pub async fn is_empty(&self, node: &ManagedNode) -> Result<bool, Option<String>> {
        let info = self.info(node).await?;
        if info.contains("db0:") {
            return Ok(false);
        }
        match self.call(node, &["CLUSTER", "INFO"]).await {
            Some(Frame::Error(e)) => Err(Some(e)),
            Some(f) => Ok(info_field(&text(&f).unwrap_or_default(), "cluster_known_nodes") == 1),
            None => Ok(false),
        }
    }

    /// `clusterManagerNodeLoadInfo`: read the node's CLUSTER NODES; with `get_friends`, the
    /// other lines become `node.friends`. `Err(Some(e))`: the node replied with an error.
    pub async fn load_node_info(&self, node: &mut ManagedNode, get_friends: bool) -> Result<(), Option<String>> {
        let reply = match self.call(node, &["CLUSTER", "NODES"]).await {
            Some(Frame::Error(e)) => return Err(Some(e)),
            Some(f) => text(&f).ok_or(None)?,
            None => return Err(None),
        };
        for line in reply.split_terminator('\n') {
            let mut fields = line.splitn(9, ' ');
            let name = fields.next().unwrap_or("");
            let addr = fields.next();
            let flags = fields.next();
            let master_id = fields.next();
            let _ping_sent = fields.next();
            let _ping_recv = fields.next();
            let config_epoch = fields.next();
            let _link = fields.next();
            let slots = fields.next();
            let Some(flags) = flags else { return Err(None) };
            let Some((ip, port, bus_port)) = addr.and_then(parse_address) else {
                self.s.eprint("Error: invalid CLUSTER NODES reply\n");
                return Err(None);
            };
            let myself = flags.split(',').any(|f| f == "myself");
            let mut friend;
            let current: &mut ManagedNode = if myself {
                node.bus_port = bus_port;
                node.myself = true;
                node.reset_slots();
                node.migrating.clear();
                node.importing.clear();
                for def in slots.unwrap_or("").split(' ').filter(|d| !d.is_empty()) {
                    if let Some(open) = def.strip_prefix('[') {
                        let open = open.trim_end_matches(']');
                        if let Some((slot, dst)) = open.split_once("->-") {
                            node.migrating.push((slot.to_string(), dst.to_string()));
                        } else if let Some((slot, src)) = open.split_once("-<-") {
                            node.importing.push((slot.to_string(), src.to_string()));
                        }
                    } else if let Some((a, b)) = def.split_once('-') {
                        let (a, b) = (crate::resp::atoi(a), crate::resp::atoi(b));
                        for slot in a.max(0)..=b.min(SLOTS as i64 - 1) {
                            node.set_slot(slot as usize, true);
                        }
                    } else {
                        let slot = crate::resp::atoi(def);
                        if (0..SLOTS as i64).contains(&slot) {
                            node.set_slot(slot as usize, true);
                        }
                    }
                }
                node.dirty = false;
                node
            } else if !get_friends {
                continue;
            } else {
                friend = ManagedNode::new(&ip, port, bus_port);
                friend.friend = true;
                &mut friend
            };
            current.name = Some(name.to_string());
            current.flags_str.clear();
            for flag in flags.split(',').filter(|f| !f.is_empty()) {
                match flag {
                    "noaddr" => current.noaddr = true,
                    "disconnected" => current.disconnected = true,
                    "fail" => current.fail = true,
                    "slave" => {
                        current.slave = true;
                        if let Some(m) = master_id {
                            current.replicate = Some(m.to_string());
                        }
                    }
                    _ => {}
                }
                current.flags_str.push(flag.to_string());
            }
            if let Some(e) = config_epoch {
                current.current_epoch = crate::resp::atoi(e).max(0) as u64;
            }
            if !myself {
                let f = current.clone();
                node.friends.push(f);
            }
            if !get_friends && myself {
                break;
            }
        }
        Ok(())
    }
}

/// The state of one subcommand's run: redis-cli's `cluster_manager` global.
#[derive(Debug)]
pub(crate) struct ClusterManager {
    pub ctx: Ctx,
    /// `cluster_manager.nodes`: the first is the node the user named.
    pub nodes: Vec<ManagedNode>,
    /// `cluster_manager.errors`: what `check` found.
    pub errors: Vec<String>,
    pub unreachable_masters: i32,
    pub rng: crate::rng::SeededRng,
}

impl ClusterManager {
    pub fn new(ctx: Ctx, seed: u64) -> ClusterManager {
        ClusterManager {
            ctx,
            nodes: Vec::new(),
            errors: Vec::new(),
            unreachable_masters: 0,
            rng: crate::rng::SeededRng::new(seed),
        }
    }

    /// `clusterManagerNodeByName` (ids compare lowercased).
    pub fn node_by_name(&self, name: &str) -> Option<usize> {
        let lc = name.to_ascii_lowercase();
        self.nodes.iter().position(|n| n.name.as_deref() == Some(lc.as_str()))
    }

    /// `clusterManagerNodeByAbbreviatedName`: a unique-enough prefix of an id.
    pub fn node_by_abbreviated_name(&self, name: &str) -> Option<usize> {
        let lc = name.to_ascii_lowercase();
        self.nodes.iter().position(|n| n.name.as_deref().is_some_and(|id| id.starts_with(&lc)))
    }

    /// Close every connection (`freeClusterManager`).
    pub fn release(&mut self) {
        for n in self.nodes.drain(..) {
            if let Some(c) = n.conn {
                self.ctx.s.close(c);
            }
        }
    }

    /// `clusterManagerLoadInfoFromNode`: the whole cluster, seen from `node`.
    pub async fn load_info_from_node(&mut self, mut node: ManagedNode) -> bool {
        let ctx = self.ctx.clone();
        if node.conn.is_none() && !ctx.connect(&mut node).await {
            return false;
        }
        match ctx.is_cluster(&node).await {
            Ok(true) => {}
            Ok(false) => {
                ctx.print_not_cluster(&node, None);
                return false;
            }
            Err(e) => {
                ctx.print_not_cluster(&node, e.as_deref());
                return false;
            }
        }
        if let Err(e) = ctx.load_node_info(&mut node, true).await {
            if let Some(e) = e {
                ctx.print_reply_error(&node, &e);
            }
            return false;
        }
        self.release();
        let friends = std::mem::take(&mut node.friends);
        self.nodes.push(node);
        for mut friend in friends {
            let mut valid = !friend.ip.is_empty() && friend.port != 0;
            if valid && friend.conn.is_none() && !ctx.connect(&mut friend).await {
                valid = false;
            }
            if valid {
                if ctx.load_node_info(&mut friend, false).await.is_ok() {
                    if friend.noaddr || friend.disconnected || friend.fail {
                        valid = false;
                    }
                } else {
                    ctx.s.err(format!("[ERR] Unable to load info for node {}:{}\n", friend.ip, friend.port));
                    valid = false;
                }
            }
            if valid {
                self.nodes.push(friend);
            } else {
                if !friend.slave {
                    self.unreachable_masters += 1;
                }
                if let Some(c) = friend.conn {
                    ctx.s.close(c);
                }
            }
        }
        for i in 0..self.nodes.len() {
            if let Some(master) = self.nodes[i].replicate.clone() {
                match self.node_by_name(&master) {
                    Some(m) => self.nodes[m].replicas_count += 1,
                    None => {
                        let n = &self.nodes[i];
                        ctx.s.warn(format!(
                            "*** WARNING: {}:{} claims to be slave of unknown node ID {}.\n",
                            n.ip, n.port, master
                        ));
                    }
                }
            }
        }
        true
    }

    /// `clusterManagerShowNodes`.
    pub fn show_nodes(&self) {
        for n in &self.nodes {
            self.ctx.s.print(format!("{}\n", n.info(0)));
        }
    }

    /// `clusterManagerGetConfigSignature`: `id:slots,…|id:slots,…` for the masters with
    /// slots, sorted — what two nodes must agree on. `None` when the node does not answer.
    pub async fn config_signature(&self, node: &ManagedNode) -> Option<String> {
        let reply = self.ctx.call(node, &["CLUSTER", "NODES"]).await?;
        if matches!(reply, Frame::Error(_)) {
            return None;
        }
        let reply = text(&reply)?;
        let mut configs = Vec::new();
        for line in reply.split_terminator('\n') {
            let fields: Vec<&str> = line.splitn(9, ' ').collect();
            if fields.len() < 9 {
                continue;
            }
            let mut slots: Vec<&str> = fields[8].split(' ').filter(|s| !s.is_empty() && !s.starts_with('[')).collect();
            if slots.is_empty() {
                continue;
            }
            slots.sort();
            configs.push(format!("{}:{}", fields[0], slots.join(",")));
        }
        if configs.is_empty() {
            return None;
        }
        configs.sort();
        Some(configs.join("|"))
    }

    /// `clusterManagerIsConfigConsistent`.
    pub async fn is_config_consistent(&self) -> bool {
        if self.nodes.len() <= 1 {
            return true;
        }
        let mut first: Option<String> = None;
        for n in &self.nodes {
            let Some(cfg) = self.config_signature(n).await else { return false };
            match &first {
                None => first = Some(cfg),
                Some(f) if *f != cfg => return false,
                _ => {}
            }
        }
        true
    }

    /// `clusterManagerGetLinkStatus`: the addresses some node cannot reach (disconnected or
    /// still in handshake), with who cannot reach them; in the order first seen.
    pub async fn link_status(&self) -> Vec<(String, Vec<String>)> {
        let mut status: Vec<(String, Vec<String>)> = Vec::new();
        for node in &self.nodes {
            let reply = self.ctx.call(node, &["CLUSTER", "NODES"]).await;
            let Some(reply) = reply.filter(|r| !matches!(r, Frame::Error(_))) else { continue };
            let reply = text(&reply).unwrap_or_default();
            for line in reply.split_terminator('\n') {
                let fields: Vec<&str> = line.splitn(9, ' ').collect();
                if fields.len() < 8 {
                    continue;
                }
                let (addr, flags, link) = (fields[1], fields[2], fields[7]);
                if flags.contains("myself") {
                    continue;
                }
                if flags.contains("disconnected") || link.contains("disconnected") || flags.contains("handshake") {
                    let from = node.addr();
                    match status.iter_mut().find(|(a, _)| a == addr) {
                        Some((_, list)) => list.push(from),
                        None => status.push((addr.to_string(), vec![from])),
                    }
                }
            }
        }
        status
    }

    /// `clusterManagerWaitForClusterJoin`: a dot a second until every node agrees; after
    /// 20 s (+15% of the node count) it says which bus ports look unreachable, and keeps
    /// waiting.
    pub async fn wait_for_cluster_join(&self) {
        let s = &self.ctx.s;
        s.print("Waiting for the cluster to join\n");
        let check_after = 20 + (self.nodes.len() as f32 * 0.15) as i32;
        let mut counter = 0;
        while !self.is_config_consistent().await {
            s.print(".");
            s.sleep_ms(1000).await;
            counter += 1;
            if counter > check_after {
                let status = self.link_status().await;
                if !status.is_empty() {
                    s.print("\n");
                    s.err(format!("Warning: {} node(s) may be unreachable\n", status.len()));
                    for (addr, from) in status {
                        match parse_address(&addr) {
                            Some((ip, _, bus)) if bus != 0 => {
                                s.err(format!(" - The port {} of node {} may be unreachable from:\n", bus, ip))
                            }
                            _ => s.err(format!(" - Node {} may be unreachable from:\n", addr)),
                        }
                        for f in from {
                            s.err(format!("   {}\n", f));
                        }
                        s.err(
                            "Cluster bus ports must be reachable by every node.\n\
                             Remember that cluster bus ports are different from standard instance ports.\n",
                        );
                    }
                }
                counter = 0;
            }
        }
        s.print("\n");
    }

    /// `clusterManagerNodeWithLeastReplicas` (the first of the fewest).
    pub fn node_with_least_replicas(&self) -> Option<usize> {
        let mut best: Option<usize> = None;
        for (i, n) in self.nodes.iter().enumerate() {
            if n.slave {
                continue;
            }
            if best.is_none_or(|b| n.replicas_count < self.nodes[b].replicas_count) {
                best = Some(i);
            }
        }
        best
    }

    /// `clusterManagerNodeMasterRandom`, from the seeded generator.
    pub fn node_master_random(&mut self) -> Option<usize> {
        let masters: Vec<usize> = (0..self.nodes.len()).filter(|&i| !self.nodes[i].slave).collect();
        if masters.is_empty() {
            return None;
        }
        Some(masters[self.rng.below(masters.len())])
    }

    /// `clusterManagerGetCoveredSlots`: which slots some loaded node serves.
    pub fn covered_slots(&self) -> (Vec<bool>, usize) {
        let mut all = vec![false; SLOTS];
        let mut total = 0;
        for n in &self.nodes {
            for (slot, owned) in n.slots.iter().enumerate() {
                if *owned && !all[slot] {
                    all[slot] = true;
                    total += 1;
                }
            }
        }
        (all, total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_ranges_print_as_redis_cli_does() {
        let mut slots = vec![false; SLOTS];
        assert_eq!(slots_string(&slots), "");
        slots[..=5460].iter_mut().for_each(|s| *s = true);
        slots[5462] = true;
        slots[16383] = true;
        assert_eq!(slots_string(&slots), "[0-5460],[5462],[16383]");
    }

    #[test]
    fn addresses() {
        assert_eq!(parse_address("127.0.0.1:7000@17000"), Some(("127.0.0.1".into(), 7000, 17000)));
        assert_eq!(parse_address("127.0.0.1:7000@17000,host.name"), Some(("127.0.0.1".into(), 7000, 17000)));
        assert_eq!(parse_address("::1:7000"), Some(("::1".into(), 7000, 0)));
        assert_eq!(parse_address("nocolon"), None);
        assert_eq!(host_from_args(&["127.0.0.1".into(), "7000".into()]), Some(("127.0.0.1".into(), 7000)));
        assert_eq!(host_from_args(&["127.0.0.1:0".into()]), None);
    }

    #[test]
    fn node_info_block() {
        let mut n = ManagedNode::new("127.0.0.1", 7000, 0);
        n.name = Some("abc".into());
        n.flags_str = vec!["myself".into(), "master".into()];
        for s in 0..=5460 {
            n.set_slot(s, true);
        }
        assert_eq!(n.info(0), "M: abc 127.0.0.1:7000\n   slots:[0-5460] (5461 slots) master");
        n.replicas_count = 1;
        assert_eq!(
            n.info(4),
            "    M: abc 127.0.0.1:7000\n       slots:[0-5460] (5461 slots) master\n       1 additional replica(s)"
        );
    }
}
