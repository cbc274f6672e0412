//! `nodes.conf`: a cluster node's memory of the cluster, in 7.0's format (`clusterLoadConfig`,
//! `clusterGenNodeDescription`, `clusterSaveConfig`).
//!
//! The file is exactly what `CLUSTER NODES` prints — one line per known node (nodes still in
//! handshake left out) — followed by one `vars` line:
//!
//! ```text
//! <id> <ip>:<port>@<cport>[,<hostname>] <flags> <master id|-> <ping-sent> <pong-recv> <config-epoch> <link> <slot|a-b>… [<slot>->-<id>] [<slot>-<-<id>]
//! 07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
//! 67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922
//! e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460 [5461->-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1]
//! vars currentEpoch 6 lastVoteEpoch 0
//! ```
//!
//! Flags are written in the order `myself, master, slave, fail?, fail, handshake, noaddr,
//! nofailover` (`noflags` when none); open slots (`[slot->-id]` migrating, `[slot-<-id]`
//! importing) only on the `myself` line. A replica's epoch column shows its master's config
//! epoch, and a replica loaded from the file gets config epoch 0. A line that does not parse
//! makes 7.0 stop with "Unrecoverable error: corrupted cluster config file."; so does a file
//! without a `myself` line.

use super::slots::SlotBitmap;
use super::{NodeName, NAME_LEN, SLOTS};
use crate::resp::atoi;

/// Node flags (`CLUSTER_NODE_*`), as the bus and nodes.conf carry them.
pub mod flag {
    pub const MASTER: u16 = 1;
    pub const SLAVE: u16 = 2;
    pub const PFAIL: u16 = 4;
    pub const FAIL: u16 = 8;
    pub const MYSELF: u16 = 16;
    pub const HANDSHAKE: u16 = 32;
    pub const NOADDR: u16 = 64;
    pub const MEET: u16 = 128;
    pub const MIGRATE_TO: u16 = 256;
    pub const NOFAILOVER: u16 = 512;

    /// The flags `CLUSTER NODES` shows, in its order (`redisNodeFlagsTable`).
    pub const SHOWN: [(u16, &str); 8] = [
        (MYSELF, "myself"),
        (MASTER, "master"),
        (SLAVE, "slave"),
        (PFAIL, "fail?"),
        (FAIL, "fail"),
        (HANDSHAKE, "handshake"),
        (NOADDR, "noaddr"),
        (NOFAILOVER, "nofailover"),
    ];
}

/// The flags as `CLUSTER NODES` writes them (`representClusterNodeFlags`).
pub fn flags_text(flags: u16) -> String {
    let names: Vec<&str> = flag::SHOWN.iter().filter(|(f, _)| flags & f != 0).map(|(_, n)| *n).collect();
    if names.is_empty() {
        "noflags".to_string()
    } else {
        names.join(",")
    }
}

/// One node's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeLine {
    pub name: NodeName,
    pub ip: String,
    pub port: u16,
    pub cport: u16,
    /// `cluster-announce-hostname`, empty when none.
    pub hostname: String,
    pub flags: u16,
    pub master: Option<NodeName>,
    /// Unix ms (0: no ping pending).
    pub ping_sent: u64,
    /// Unix ms.
    pub pong_received: u64,
    /// The node's config epoch (for a replica, what the epoch column shows: its master's).
    pub config_epoch: u64,
    pub connected: bool,
    pub slots: SlotBitmap,
    /// Slots this node (myself) is migrating, and to whom.
    pub migrating: Vec<(u16, NodeName)>,
    /// Slots this node (myself) is importing, and from whom.
    pub importing: Vec<(u16, NodeName)>,
}

impl NodeLine {
    /// The line, without its newline (`clusterGenNodeDescription`).
    pub fn render(&self) -> String {
        let mut s = String::with_capacity(128);
        s.push_str(&String::from_utf8_lossy(&self.name));
        if self.hostname.is_empty() {
            s.push_str(&format!(" {}:{}@{} ", self.ip, self.port, self.cport));
        } else {
            s.push_str(&format!(" {}:{}@{},{} ", self.ip, self.port, self.cport, self.hostname));
        }
        s.push_str(&flags_text(self.flags));
        s.push(' ');
        match &self.master {
            Some(m) => s.push_str(&String::from_utf8_lossy(m)),
            None => s.push('-'),
        }
        let link = if self.connected || self.flags & flag::MYSELF != 0 { "connected" } else { "disconnected" };
        s.push_str(&format!(" {} {} {} {}", self.ping_sent, self.pong_received, self.config_epoch, link));
        if self.slots.count() > 0 {
            s.push(' ');
            s.push_str(&self.slots.ranges_text());
        }
        if self.flags & flag::MYSELF != 0 {
            // Both lists in slot order, a slot in at most one of them (`migrating` wins, as the
            // C loop checks it first).
            let mut open: Vec<(u16, bool, NodeName)> = self
                .migrating
                .iter()
                .map(|&(slot, n)| (slot, true, n))
                .chain(
                    self.importing
                        .iter()
                        .filter(|(slot, _)| !self.migrating.iter().any(|(m, _)| m == slot))
                        .map(|&(slot, n)| (slot, false, n)),
                )
                .collect();
            open.sort_by_key(|&(slot, _, _)| slot);
            for (slot, migrating, n) in open {
                let arrow = if migrating { "->-" } else { "-<-" };
                s.push_str(&format!(" [{}{}{}]", slot, arrow, String::from_utf8_lossy(&n)));
            }
        }
        s
    }
}

/// A whole nodes.conf.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodesConf {
    pub nodes: Vec<NodeLine>,
    pub current_epoch: u64,
    pub last_vote_epoch: u64,
}

/// "Unrecoverable error: corrupted cluster config file." — and what was wrong, for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corrupt {
    pub line: usize,
    pub why: &'static str,
}

impl Corrupt {
    /// 7.0's fatal line.
    pub const LOG: &'static str = "Unrecoverable error: corrupted cluster config file.";
}

/// `verifyClusterNodeId`: exactly 40 characters of `0-9a-z`.
fn node_id(s: &str) -> Option<NodeName> {
    let b = s.as_bytes();
    if b.len() != NAME_LEN || !b.iter().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()) {
        return None;
    }
    b.try_into().ok()
}

impl NodesConf {
    /// The file's text (`clusterSaveConfig`'s content, before any padding).
    pub fn render(&self) -> String {
        let mut s = String::new();
        for n in &self.nodes {
            if n.flags & flag::HANDSHAKE != 0 {
                continue;
            }
            s.push_str(&n.render());
            s.push('\n');
        }
        s.push_str(&format!("vars currentEpoch {} lastVoteEpoch {}\n", self.current_epoch, self.last_vote_epoch));
        s
    }

    /// Parse a file's text (`clusterLoadConfig`). `Ok(None)` for an empty file (7.0 then
    /// starts as a new node and writes one). Unknown `vars` are skipped (7.0 logs "Skipping
    /// unknown cluster config variable '…'"); they are returned so the node can log them.
    pub fn parse(text: &str) -> Result<Option<(NodesConf, Vec<String>)>, Corrupt> {
        if text.is_empty() {
            return Ok(None);
        }
        let mut conf = NodesConf::default();
        let mut skipped = Vec::new();
        let mut myself_seen = false;
        for (i, raw) in text.split('\n').enumerate() {
            let line = i + 1;
            let err = |why| Corrupt { line, why };
            // Blank lines (a padded file's tail, a hand edit) are skipped.
            let argv: Vec<&str> = raw.split_whitespace().collect();
            if argv.is_empty() {
                continue;
            }
            if argv[0].eq_ignore_ascii_case("vars") {
                if argv.len().is_multiple_of(2) {
                    return Err(err("vars without a value"));
                }
                for pair in argv[1..].chunks(2) {
                    let value = pair[1].parse::<u64>().unwrap_or(0);
                    if pair[0].eq_ignore_ascii_case("currentEpoch") {
                        conf.current_epoch = value;
                    } else if pair[0].eq_ignore_ascii_case("lastVoteEpoch") {
                        conf.last_vote_epoch = value;
                    } else {
                        skipped.push(pair[0].to_string());
                    }
                }
                continue;
            }
            if argv.len() < 8 {
                return Err(err("fewer than eight fields"));
            }
            let name = node_id(argv[0]).ok_or(err("a bad node id"))?;
            let (addr, hostname) = match argv[1].split_once(',') {
                Some((a, h)) => (a, h.to_string()),
                None => (argv[1], String::new()),
            };
            let (ip, ports) = addr.rsplit_once(':').ok_or(err("an address without a port"))?;
            let (port, cport) = match ports.split_once('@') {
                Some((p, c)) => (atoi(p), atoi(c)),
                // Files older than 4.0 have no bus port: the default offset.
                None => (atoi(ports), atoi(ports) + 10000),
            };
            let mut flags = 0;
            for f in argv[2].split(',') {
                let f = f.to_ascii_lowercase();
                flags |= match f.as_str() {
                    "myself" => {
                        if myself_seen {
                            return Err(err("two myself lines"));
                        }
                        myself_seen = true;
                        flag::MYSELF
                    }
                    "master" => flag::MASTER,
                    "slave" => flag::SLAVE,
                    "fail?" => flag::PFAIL,
                    "fail" => flag::FAIL,
                    "handshake" => flag::HANDSHAKE,
                    "noaddr" => flag::NOADDR,
                    "nofailover" => flag::NOFAILOVER,
                    "noflags" => 0,
                    // 7.0 panics here ("Unknown flag in redis cluster config file"); halab
                    // refuses the file the way it refuses any corrupt one.
                    _ => return Err(err("an unknown flag")),
                };
            }
            let master =
                if argv[3].starts_with('-') { None } else { Some(node_id(argv[3]).ok_or(err("a bad master id"))?) };
            let mut node = NodeLine {
                name,
                ip: ip.to_string(),
                port: port as u16,
                cport: cport as u16,
                hostname,
                flags,
                master,
                ping_sent: atoi(argv[4]).max(0) as u64,
                pong_received: atoi(argv[5]).max(0) as u64,
                config_epoch: argv[6].parse::<u64>().unwrap_or(0),
                connected: argv[7] == "connected",
                slots: SlotBitmap::default(),
                migrating: Vec::new(),
                importing: Vec::new(),
            };
            for arg in &argv[8..] {
                if let Some(open) = arg.strip_prefix('[') {
                    let dash = open.find('-').ok_or(err("an open slot without a direction"))?;
                    let slot = atoi(&open[..dash]);
                    if !(0..SLOTS as i64).contains(&slot) {
                        return Err(err("an open slot out of range"));
                    }
                    let rest = &open[dash..];
                    let (migrating, id) = if let Some(id) = rest.strip_prefix("->-") {
                        (true, id)
                    } else if let Some(id) = rest.strip_prefix("-<-") {
                        (false, id)
                    } else {
                        return Err(err("an open slot without a direction"));
                    };
                    let id = id.strip_suffix(']').ok_or(err("an open slot without ']'"))?;
                    let peer = node_id(id).ok_or(err("a bad node id in an open slot"))?;
                    if migrating {
                        node.migrating.push((slot as u16, peer));
                    } else {
                        node.importing.push((slot as u16, peer));
                    }
                    continue;
                }
                let (start, stop) = match arg.split_once('-') {
                    Some((a, b)) => (atoi(a), atoi(b)),
                    None => (atoi(arg), atoi(arg)),
                };
                if !(0..SLOTS as i64).contains(&start) || !(0..SLOTS as i64).contains(&stop) {
                    return Err(err("a slot out of range"));
                }
                for s in start..=stop {
                    node.slots.insert(s as u16);
                }
            }
            conf.nodes.push(node);
        }
        if !myself_seen {
            return Err(Corrupt { line: 0, why: "no myself line" });
        }
        Ok(Some((conf, skipped)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002,node-2 master - 0 1426238316232 2 connected 5461-10922
292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@31003 master,fail? - 1426238318243 1426238318000 3 disconnected 10923-16383
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460 7000 [5461-<-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1] [7000->-292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f]
vars currentEpoch 6 lastVoteEpoch 3
";

    #[test]
    fn a_file_renders_back_byte_for_byte() {
        let (conf, skipped) = NodesConf::parse(SAMPLE).unwrap().unwrap();
        assert!(skipped.is_empty());
        assert_eq!(conf.current_epoch, 6);
        assert_eq!(conf.last_vote_epoch, 3);
        assert_eq!(conf.nodes.len(), 4);
        let me = &conf.nodes[3];
        assert_eq!(me.flags, flag::MYSELF | flag::MASTER);
        assert_eq!(me.slots.count(), 5462);
        assert_eq!(me.importing.len(), 1);
        assert_eq!(conf.nodes[1].hostname, "node-2");
        assert_eq!(conf.nodes[2].flags, flag::MASTER | flag::PFAIL);
        assert_eq!(conf.render(), SAMPLE);
    }

    #[test]
    fn corrupt_files_are_refused() {
        let no_myself = SAMPLE.replace("myself,master", "master");
        assert_eq!(NodesConf::parse(&no_myself).unwrap_err().why, "no myself line");
        let short = "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0\n";
        assert_eq!(NodesConf::parse(short).unwrap_err().why, "fewer than eight fields");
        let bad_id = SAMPLE.replace("07c37dfeb235213a872192d90877d0cd55635b91", "07c37dfe");
        assert_eq!(NodesConf::parse(&bad_id).unwrap_err().why, "a bad node id");
        let bad_slot = SAMPLE.replace("0-5460 7000", "0-16384");
        assert_eq!(NodesConf::parse(&bad_slot).unwrap_err().why, "a slot out of range");
        let bad_flag = SAMPLE.replace("master,fail?", "master,sleepy");
        assert_eq!(NodesConf::parse(&bad_flag).unwrap_err().why, "an unknown flag");
        assert_eq!(NodesConf::parse("vars currentEpoch\n").unwrap_err().why, "vars without a value");
        assert_eq!(NodesConf::parse("").unwrap(), None);
    }

    #[test]
    fn old_files_without_a_bus_port_get_port_plus_10000() {
        let old = "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:7000 myself,master - 0 0 0 connected\nvars currentEpoch 0 lastVoteEpoch 0 futureVar 1\n";
        let (conf, skipped) = NodesConf::parse(old).unwrap().unwrap();
        assert_eq!(conf.nodes[0].cport, 17000);
        assert_eq!(skipped, vec!["futureVar".to_string()]);
    }

    #[test]
    fn flags_text_in_redis_order() {
        assert_eq!(flags_text(0), "noflags");
        assert_eq!(flags_text(flag::SLAVE | flag::MYSELF | flag::FAIL), "myself,slave,fail");
        // MEET and MIGRATE_TO are never shown.
        assert_eq!(flags_text(flag::MASTER | flag::MEET | flag::MIGRATE_TO), "master");
    }
}
