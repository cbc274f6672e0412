//! Test support: a [`Manager`] driven against scripted cluster nodes, with no sockets and a
//! virtual clock — the way the simulator will drive it. The fake nodes answer the handful of
//! requests `create` and `check` send, and gossip "completes" a fixed time after the first
//! MEET, so the wait for the join really waits.

use super::{AdminInput, AdminOutput, Manager};
use crate::resp::{Frame, RequestParser};
use bytes::BytesMut;
use std::collections::{HashMap, VecDeque};

pub(crate) struct FakeNode {
    pub addr: String,
    pub id: String,
    pub cluster_enabled: bool,
    pub keys: usize,
    slots: Vec<(usize, usize)>,
    master: Option<String>,
    epoch: u64,
    /// Keys by slot, with their values (MIGRATE moves them, DEBUG DIGEST-VALUE hashes them).
    pub data: HashMap<usize, Vec<(String, String)>>,
    /// Shown as `fail` in the others' CLUSTER NODES.
    pub failed: bool,
}

/// A set of fresh nodes on one host.
pub(crate) struct FakeCluster {
    pub nodes: Vec<FakeNode>,
    /// When gossip has told everyone about everyone: `met_at_ms + JOIN_MS`.
    met_at_ms: Option<u64>,
    /// Every request, as `addr: ARG ARG…`.
    pub requests: Vec<String>,
    /// The virtual clock, carried from one run to the next.
    pub now_ms: u64,
}

/// How long after the first MEET every node sees the whole cluster.
pub(crate) const JOIN_MS: u64 = 2500;

impl FakeCluster {
    pub fn new(ports: &[u16]) -> FakeCluster {
        let nodes = ports
            .iter()
            .enumerate()
            .map(|(i, p)| FakeNode {
                addr: format!("127.0.0.1:{}", p),
                id: format!("{:040x}", 0xa000 + i),
                cluster_enabled: true,
                keys: 0,
                slots: Vec::new(),
                master: None,
                epoch: 0,
                data: HashMap::new(),
                failed: false,
            })
            .collect();
        FakeCluster { nodes, met_at_ms: None, requests: Vec::new(), now_ms: 1_000_000 }
    }

    fn joined(&self, now: u64) -> bool {
        self.met_at_ms.is_some_and(|t| now >= t + JOIN_MS)
    }

    fn line(&self, n: &FakeNode, myself: bool) -> String {
        let role = if n.master.is_some() { "slave" } else { "master" };
        let mut flags = if myself { format!("myself,{}", role) } else { role.to_string() };
        if n.failed && !myself {
            flags += ",fail";
        }
        let port: u32 = n.addr.rsplit(':').next().unwrap().parse().unwrap();
        let mut line = format!(
            "{} {}@{} {} {} 0 0 {} connected",
            n.id,
            n.addr,
            port + 10000,
            flags,
            n.master.as_deref().unwrap_or("-"),
            n.epoch
        );
        for (a, b) in &n.slots {
            line += &if a == b { format!(" {}", a) } else { format!(" {}-{}", a, b) };
        }
        line + "\n"
    }

    fn answer(&mut self, i: usize, args: &[String], now: u64) -> Frame {
        self.requests.push(format!("{}: {}", self.nodes[i].addr, args.join(" ")));
        let up: Vec<String> = args.iter().map(|a| a.to_ascii_uppercase()).collect();
        let words: Vec<&str> = up.iter().map(String::as_str).collect();
        let ok = Frame::Simple("OK".into());
        let bulk = |s: String| Frame::Bulk(s.into_bytes().into());
        match words.as_slice() {
            ["INFO"] => {
                let n = &self.nodes[i];
                let mut info = format!("# Cluster\r\ncluster_enabled:{}\r\n", n.cluster_enabled as u8);
                if n.keys > 0 {
                    info += &format!("# Keyspace\r\ndb0:keys={},expires=0,avg_ttl=0\r\n", n.keys);
                }
                bulk(info)
            }
            ["CLUSTER", "INFO"] => {
                let known = if self.joined(now) { self.nodes.len() } else { 1 };
                bulk(format!("cluster_state:fail\r\ncluster_known_nodes:{}\r\n", known))
            }
            ["CLUSTER", "NODES"] => {
                let mut out = self.line(&self.nodes[i], true);
                if self.joined(now) {
                    for (j, n) in self.nodes.iter().enumerate() {
                        if j != i {
                            out += &self.line(n, false);
                        }
                    }
                }
                bulk(out)
            }
            ["CLUSTER", "ADDSLOTS", ..] => {
                let slots: Vec<usize> = args[2..].iter().map(|s| s.parse().unwrap()).collect();
                self.nodes[i].slots.push((slots[0], *slots.last().unwrap()));
                ok
            }
            ["CLUSTER", "REPLICATE", _] => {
                if self.joined(now) {
                    self.nodes[i].master = Some(args[2].clone());
                    ok
                } else {
                    Frame::Error(format!("ERR Unknown node {}", args[2]))
                }
            }
            ["CLUSTER", "SET-CONFIG-EPOCH", e] => {
                self.nodes[i].epoch = e.parse().unwrap();
                ok
            }
            ["CLUSTER", "MEET", ..] => {
                self.met_at_ms.get_or_insert(now);
                ok
            }
            ["DBSIZE"] => Frame::Integer(self.nodes[i].keys as i64),
            ["CLUSTER", "SETSLOT", slot, "NODE", _] => {
                // The slot's new owner: everyone's table follows at once (gossip is instant here).
                let slot: usize = slot.parse().unwrap();
                let owner = self.nodes.iter().position(|n| n.id == args[4].to_lowercase()).unwrap();
                for n in &mut self.nodes {
                    n.slots = n.slots.iter().flat_map(|&(a, b)| split_out(a, b, slot)).collect();
                }
                self.nodes[owner].slots.push((slot, slot));
                self.nodes[owner].slots.sort();
                ok
            }
            ["CLUSTER", "SETSLOT", ..] => ok,
            ["CLUSTER", "GETKEYSINSLOT", slot, count] => {
                let keys = self.nodes[i].data.get(&slot.parse().unwrap()).cloned().unwrap_or_default();
                Frame::Array(keys.into_iter().take(count.parse().unwrap()).map(|(k, _)| bulk(k)).collect())
            }
            ["MIGRATE", ..] => {
                let port = &args[2];
                let target = self.nodes.iter().position(|n| n.addr.ends_with(&format!(":{}", port))).unwrap();
                let replace = words.contains(&"REPLACE");
                let keys_at = words.iter().position(|w| *w == "KEYS").unwrap() + 1;
                let keys = &args[keys_at..];
                for k in keys {
                    let slot = crate::cluster::slots::key_hash_slot(k.as_bytes()) as usize;
                    let exists = self.nodes[target].data.get(&slot).is_some_and(|v| v.iter().any(|(x, _)| x == k));
                    if exists && !replace {
                        return Frame::Error("BUSYKEY Target key name already exists.".into());
                    }
                }
                for k in keys {
                    let slot = crate::cluster::slots::key_hash_slot(k.as_bytes()) as usize;
                    let src = self.nodes[i].data.get_mut(&slot).unwrap();
                    let at = src.iter().position(|(x, _)| x == k).unwrap();
                    let entry = src.remove(at);
                    let dst = self.nodes[target].data.entry(slot).or_default();
                    dst.retain(|(x, _)| x != k);
                    dst.push(entry);
                }
                ok
            }
            ["DEBUG", "DIGEST-VALUE", ..] => Frame::Array(
                args[2..]
                    .iter()
                    .map(|k| {
                        let slot = crate::cluster::slots::key_hash_slot(k.as_bytes()) as usize;
                        let v = self.nodes[i].data.get(&slot).and_then(|v| v.iter().find(|(x, _)| x == k));
                        bulk(match v {
                            Some((_, value)) => format!("{:0>40}", value),
                            None => "0".repeat(40),
                        })
                    })
                    .collect(),
            ),
            _ => Frame::Error(format!("ERR unknown command '{}'", args.join(" "))),
        }
    }
}

/// The range `a..=b` without `slot`.
fn split_out(a: usize, b: usize, slot: usize) -> Vec<(usize, usize)> {
    if slot < a || slot > b {
        vec![(a, b)]
    } else {
        [(a, slot.wrapping_sub(1)), (slot + 1, b)].into_iter().filter(|&(x, y)| x <= y && y != usize::MAX).collect()
    }
}

/// What a run printed and how it ended.
#[derive(Debug, PartialEq)]
pub(crate) struct Transcript {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
    /// The virtual time the run took.
    pub now_ms: u64,
}

/// Run `argv` against `cluster`, answering prompts from `answers`, the clock advancing only to
/// the manager's `poll_timeout`.
pub(crate) fn drive(argv: &str, cluster: &mut FakeCluster, answers: &[&str], seed: u64) -> Transcript {
    let argv: Vec<String> = argv.split_whitespace().map(String::from).collect();
    let mut m = Manager::new(&argv, &Default::default(), seed);
    let mut now = cluster.now_ms;
    let start = now;
    let mut answers: VecDeque<&str> = answers.iter().copied().collect();
    let mut conns: HashMap<u64, usize> = HashMap::new();
    let (mut stdout, mut stderr) = (String::new(), String::new());
    m.handle(now, AdminInput::Tick);
    loop {
        let mut inputs = Vec::new();
        while let Some(out) = m.poll() {
            match out {
                AdminOutput::Connect { conn, addr } => match cluster.nodes.iter().position(|n| n.addr == addr) {
                    Some(i) => {
                        conns.insert(conn, i);
                        inputs.push(AdminInput::Connected { conn, result: Ok(()) });
                    }
                    None => inputs.push(AdminInput::Connected { conn, result: Err("Connection refused".into()) }),
                },
                AdminOutput::Send { conn, bytes } => {
                    let mut buf = BytesMut::from(&bytes[..]);
                    let args = RequestParser::new(true).next(&mut buf).unwrap().unwrap();
                    let args: Vec<String> = args.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
                    let reply = cluster.answer(conns[&conn], &args, now);
                    let mut bytes = Vec::new();
                    reply.encode(&mut bytes);
                    inputs.push(AdminInput::Data { conn, bytes });
                }
                AdminOutput::Close { conn } => {
                    conns.remove(&conn);
                }
                AdminOutput::WriteFile { path, .. } => {
                    inputs.push(AdminInput::FileWritten { path, result: Err("Read-only file system".into()) })
                }
                AdminOutput::Print(t) => stdout += &t,
                AdminOutput::PrintErr(t) => stderr += &t,
                AdminOutput::Prompt(t) => {
                    stdout += &t;
                    inputs.push(match answers.pop_front() {
                        Some(a) => AdminInput::Answer(a.to_string()),
                        None => AdminInput::EndOfInput,
                    });
                }
                AdminOutput::Exit { code } => {
                    cluster.now_ms = now;
                    return Transcript { stdout, stderr, code, now_ms: now - start };
                }
            }
        }
        if inputs.is_empty() {
            let at = m.poll_timeout().expect("the manager waits on nothing");
            assert!(at > now, "a timeout in the past");
            now = at;
            m.handle(now, AdminInput::Tick);
        }
        for input in inputs {
            m.handle(now, input);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIX: &str = "127.0.0.1:7000 127.0.0.1:7001 127.0.0.1:7002 127.0.0.1:7003 127.0.0.1:7004 127.0.0.1:7005";

    #[test]
    fn create_runs_to_the_check_and_waits_in_virtual_seconds() {
        let mut c = FakeCluster::new(&[7000, 7001, 7002, 7003, 7004, 7005]);
        let t = drive(&format!("--cluster create {} --cluster-replicas 1 --cluster-yes", SIX), &mut c, &[], 7);
        assert_eq!(t.code, 0, "{}{}", t.stdout, t.stderr);
        assert_eq!(t.stderr, "");
        let id = |i: usize| format!("{:040x}", 0xa000 + i);
        let expected_head = format!(
            ">>> Performing hash slots allocation on 6 nodes...\n\
             Master[0] -> Slots 0 - 5460\nMaster[1] -> Slots 5461 - 10922\nMaster[2] -> Slots 10923 - 16383\n\
             Adding replica 127.0.0.1:7004 to 127.0.0.1:7000\nAdding replica 127.0.0.1:7005 to 127.0.0.1:7001\n\
             Adding replica 127.0.0.1:7003 to 127.0.0.1:7002\n\
             >>> Trying to optimize slaves allocation for anti-affinity\n\
             [WARNING] Some slaves are in the same host as their master\n\
             M: {} 127.0.0.1:7000\n   slots:[0-5460] (5461 slots) master\n",
            id(0)
        );
        assert!(t.stdout.starts_with(&expected_head), "{}", t.stdout);
        // The sleep(1) before the wait, then a dot a second until gossip has joined everyone
        // (2.5 s after the MEETs): dots at +1 s and +2 s, agreement seen at +3 s.
        assert!(
            t.stdout.contains(
                ">>> Nodes configuration updated\n>>> Assign a different config epoch to each node\n\
                 >>> Sending CLUSTER MEET messages to join the cluster\nWaiting for the cluster to join\n..\n\
                 >>> Performing Cluster Check (using node 127.0.0.1:7000)\n"
            ),
            "{}",
            t.stdout
        );
        assert_eq!(t.now_ms, 3000);
        assert!(t.stdout.ends_with("[OK] All nodes agree about slots configuration.\n>>> Check for open slots...\n>>> Check slots coverage...\n[OK] All 16384 slots covered.\n"));
        // What the nodes were told: slots to the masters, epochs 1…6, MEET with the first,
        // and the replicas' REPLICATE twice (refused before the join, accepted after).
        assert!(c.requests.contains(&"127.0.0.1:7005: cluster set-config-epoch 6".to_string()));
        assert!(c.requests.contains(&"127.0.0.1:7001: cluster meet 127.0.0.1 7000".to_string()));
        let replicate: Vec<&String> = c.requests.iter().filter(|r| r.contains("REPLICATE")).collect();
        assert_eq!(replicate.len(), 6, "{:?}", replicate);
        assert_eq!(c.nodes.iter().filter(|n| n.master.is_some()).count(), 3);
        assert_eq!(c.nodes[1].slots, vec![(5461, 10922)]);
    }

    #[test]
    fn the_same_seed_gives_the_same_run() {
        let run = |seed| {
            let mut c = FakeCluster::new(&[7000, 7001, 7002, 7003, 7004, 7005]);
            (
                drive(&format!("--cluster create {} --cluster-replicas 1 --cluster-yes", SIX), &mut c, &[], seed),
                c.requests,
            )
        };
        assert_eq!(run(42), run(42));
    }

    #[test]
    fn refusals() {
        let mut c = FakeCluster::new(&[7000, 7001, 7002]);
        c.nodes[2].cluster_enabled = false;
        let t = drive("--cluster create 127.0.0.1:7000 127.0.0.1:7001 127.0.0.1:7002", &mut c, &[], 1);
        assert_eq!(
            (t.code, t.stdout.as_str()),
            (1, "[ERR] Node 127.0.0.1:7002 is not configured as a cluster node.\n")
        );

        let mut c = FakeCluster::new(&[7000, 7001, 7002]);
        c.nodes[1].keys = 3;
        let t = drive("--cluster create 127.0.0.1:7000 127.0.0.1:7001 127.0.0.1:7002", &mut c, &[], 1);
        assert_eq!(t.code, 1);
        assert!(t.stdout.starts_with("[ERR] Node 127.0.0.1:7001 is not empty. Either the node already knows"));

        let mut c = FakeCluster::new(&[7000]);
        let t = drive("-a pw --cluster check 127.0.0.1:7009", &mut c, &[], 1);
        assert_eq!(t.code, 1);
        assert_eq!(
            t.stderr,
            "Warning: Using a password with '-a' or '-u' option on the command line interface may not be safe.\n\
             Could not connect to Redis at 127.0.0.1:7009: Connection refused\n"
        );

        let mut c = FakeCluster::new(&[7000, 7001, 7002, 7003]);
        let t = drive(
            "--cluster create 127.0.0.1:7000 127.0.0.1:7001 127.0.0.1:7002 127.0.0.1:7003 --cluster-replicas 1",
            &mut c,
            &[],
            1,
        );
        assert_eq!(t.code, 1);
        assert_eq!(
            t.stdout,
            "*** ERROR: Invalid configuration for cluster creation.\n*** Redis Cluster requires at least 3 master nodes.\n\
             *** This is not possible with 4 nodes and 1 replicas per node.\n*** At least 6 nodes are required.\n"
        );
    }

    #[test]
    fn a_declined_prompt_changes_nothing_and_succeeds() {
        for answer in [Some("no"), Some("ye"), None] {
            let mut c = FakeCluster::new(&[7000, 7001, 7002]);
            let answers: Vec<&str> = answer.into_iter().collect();
            let t = drive("--cluster create 127.0.0.1:7000 127.0.0.1:7001 127.0.0.1:7002", &mut c, &answers, 1);
            assert_eq!(t.code, 0);
            assert!(t.stdout.ends_with("Can I set the above configuration? (type 'yes' to accept): "), "{}", t.stdout);
            assert!(!c.requests.iter().any(|r| r.contains("ADDSLOTS")));
        }
        let mut c = FakeCluster::new(&[7000, 7001, 7002]);
        let t = drive("--cluster create 127.0.0.1:7000 127.0.0.1:7001 127.0.0.1:7002", &mut c, &["yes"], 1);
        assert_eq!(t.code, 0);
        assert!(t.stdout.ends_with("[OK] All 16384 slots covered.\n"));
    }

    /// A three-master cluster, created.
    fn three() -> FakeCluster {
        let mut c = FakeCluster::new(&[7000, 7001, 7002]);
        let t = drive("--cluster create 127.0.0.1:7000 127.0.0.1:7001 127.0.0.1:7002 --cluster-yes", &mut c, &[], 1);
        assert_eq!(t.code, 0);
        c
    }

    fn put(c: &mut FakeCluster, node: usize, key: &str, value: &str) {
        let slot = crate::cluster::slots::key_hash_slot(key.as_bytes()) as usize;
        c.nodes[node].data.entry(slot).or_default().push((key.into(), value.into()));
    }

    #[test]
    fn reshard_moves_keys_and_stops_on_a_different_busy_key() {
        let mut c = three();
        // "a" hashes to slot 15495 (master 2), "b" to 3300 (master 0).
        put(&mut c, 2, "a", "1");
        put(&mut c, 0, "b", "2");
        let to = c.nodes[1].id.clone();
        let from = c.nodes[2].id.clone();
        let t = drive(
            &format!(
                "--cluster reshard 127.0.0.1:7000 --cluster-from {} --cluster-to {} --cluster-slots 5461 --cluster-yes",
                from, to
            ),
            &mut c,
            &[],
            1,
        );
        assert_eq!(t.code, 0, "{}", t.stdout);
        assert!(t.stdout.contains("Moving slot 15495 from 127.0.0.1:7002 to 127.0.0.1:7001: .\n"), "{}", t.stdout);
        assert_eq!(c.nodes[1].data[&15495], vec![("a".to_string(), "1".to_string())]);
        let owned: usize = c.nodes[1].slots.iter().map(|(a, b)| b - a + 1).sum();
        assert!(owned == 10923 && c.nodes[2].slots.is_empty(), "every slot of the third master moved");
        let setslots: Vec<&String> = c.requests.iter().filter(|r| r.contains("SETSLOT 15495")).collect();
        assert_eq!(
            setslots.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            vec![
                format!("127.0.0.1:7001: CLUSTER SETSLOT 15495 importing {}", from).as_str(),
                format!("127.0.0.1:7002: CLUSTER SETSLOT 15495 migrating {}", to).as_str(),
                format!("127.0.0.1:7001: CLUSTER SETSLOT 15495 node {}", to).as_str(),
                format!("127.0.0.1:7002: CLUSTER SETSLOT 15495 node {}", to).as_str(),
                format!("127.0.0.1:7000: CLUSTER SETSLOT 15495 node {}", to).as_str(),
            ]
        );
        // "b" exists on the target with another value: the move stops and says why.
        put(&mut c, 1, "b", "other");
        let to = c.nodes[1].id.clone();
        let from = c.nodes[0].id.clone();
        let t = drive(
            &format!(
                "--cluster reshard 127.0.0.1:7000 --cluster-from {} --cluster-to {} --cluster-slots 5461 --cluster-yes",
                from, to
            ),
            &mut c,
            &[],
            1,
        );
        assert_eq!(t.code, 1);
        assert!(t.stdout.contains(
            "Moving slot 3300 from 127.0.0.1:7000 to 127.0.0.1:7001: \n*** Target key exists\n*** Checking key values on both nodes...\n\
             *** Found 1 key(s) in both source node and target node having different values.\n    Source node: 127.0.0.1:7000\n    \
             Target node: 127.0.0.1:7001\n    Keys(s):\n    - b\nPlease fix the above key(s) manually and try again or relaunch the command \n\
             with --cluster-replace option to force key overriding.\n"
        ), "{}", t.stdout);
        // With the same value, the key is replaced and the move goes on.
        c.nodes[1].data.get_mut(&3300).unwrap()[0].1 = "2".into();
        let t = drive(
            &format!(
                "--cluster reshard 127.0.0.1:7000 --cluster-from {} --cluster-to {} --cluster-slots 3 --cluster-yes",
                from, to
            ),
            &mut c,
            &[],
            1,
        );
        assert!(
            t.stdout.contains(
                "*** Target key exists\n*** Checking key values on both nodes...\n*** Replacing target keys...\n.\n"
            ),
            "{}",
            t.stdout
        );
    }

    #[test]
    fn fix_refuses_with_an_unreachable_master_and_stops_there() {
        let mut c = three();
        c.nodes[2].failed = true;
        c.nodes[0].slots = vec![(0, 5459)];
        let t = drive("--cluster fix 127.0.0.1:7000", &mut c, &[], 1);
        assert_eq!(t.code, 1);
        assert!(t.stdout.ends_with(
            "[ERR] Not all 16384 slots are covered by nodes.\n\n*** Fixing slots coverage with 1 unreachable masters is dangerous: \
             redis-cli will assume that slots about masters that are not reachable are not covered, and will try to reassign them \
             to the reachable nodes. This can cause data loss and is rarely what you want to do. If you really want to proceed use \
             the --cluster-fix-with-unreachable-masters option.\n"
        ), "{}", t.stdout);
    }

    #[test]
    fn info_counts_keys_per_master() {
        let mut c = FakeCluster::new(&[7000, 7001, 7002]);
        drive("--cluster create 127.0.0.1:7000 127.0.0.1:7001 127.0.0.1:7002 --cluster-yes", &mut c, &[], 1);
        c.nodes[0].keys = 100;
        c.nodes[2].keys = 64;
        let t = drive("--cluster info 127.0.0.1 7001", &mut c, &[], 1);
        assert_eq!(t.code, 0);
        let id = |i: usize| format!("{:040x}", 0xa000 + i);
        assert_eq!(
            t.stdout,
            format!(
                "127.0.0.1:7001 ({}...) -> 0 keys | 5462 slots | 0 slaves.\n\
                 127.0.0.1:7000 ({}...) -> 100 keys | 5461 slots | 0 slaves.\n\
                 127.0.0.1:7002 ({}...) -> 64 keys | 5461 slots | 0 slaves.\n\
                 [OK] 164 keys in 3 masters.\n0.01 keys per slot on average.\n",
                &id(1)[..8],
                &id(0)[..8],
                &id(2)[..8]
            )
        );
    }
}
