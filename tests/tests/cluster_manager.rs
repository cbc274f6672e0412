//! The `--cluster` manager judged by the real `redis-cli --cluster` 7.0: each step runs twice,
//! once by redis-cli on one cluster of fresh redis-server 7.0 nodes and once by
//! `halab cli --cluster` on a twin cluster, and both must print the same thing, exit with the
//! same code and leave the same slot layout.
//!
//! What cannot be the same is masked: node ids (random per node), ports (each cluster has its
//! own, numbered here P0, P1… in the order the nodes were started), the dots of a wait (one a
//! second), and the order in which a node lists its peers in CLUSTER NODES (the server's dict
//! order, which redis-cli's check prints as it comes). Lines are therefore compared as
//! multisets, and the `>>>`/`[OK]`/`[ERR]` lines — the procedure — in order. Which replica
//! follows which master is redis-cli's `rand()` on one host (every replica is on its master's
//! host, no swap is better), so `replicates` lines lose their ids too.

use halab_core::resp::Frame;
use halab_tests::*;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

#[derive(Clone, Copy, Debug)]
enum Tool {
    RedisCli,
    HalabCli,
}

#[derive(Debug, PartialEq)]
struct Run {
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

fn run(tool: Tool, args: &[String], stdin: &str) -> Run {
    run_term(tool, args, stdin, "dumb")
}

/// `TERM` decides redis-cli's colours (`isColorTerm`: it contains "xterm").
fn run_term(tool: Tool, args: &[String], stdin: &str, term: &str) -> Run {
    let mut cmd = match tool {
        Tool::RedisCli => Command::new("redis-cli"),
        Tool::HalabCli => {
            let mut c = Command::new(halab_bin());
            c.arg("cli");
            c
        }
    };
    let mut child = cmd
        .args(args)
        .env("TERM", term)
        .env_remove("REDISCLI_AUTH")
        .env_remove("REDISCLI_CLUSTER_YES")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the client");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code(),
    }
}

/// A set of cluster-enabled redis-server nodes on 127.0.0.1, stopped when dropped.
struct Nodes {
    servers: Vec<Server>,
    /// The nodes' requirepass, once set.
    auth: Option<String>,
    _dir: TempDir,
}

impl Nodes {
    fn start(n: usize, tag: &str) -> Nodes {
        require_tool("redis-server");
        require_tool("redis-cli");
        let dir = TempDir::new(tag);
        let servers = (0..n).map(|_| cluster_node(&dir)).collect();
        Nodes { servers, auth: None, _dir: dir }
    }

    fn addr(&self, i: usize) -> String {
        format!("127.0.0.1:{}", self.servers[i].port)
    }

    /// One request to `server`, authenticated when the nodes have a password.
    fn call_on(&self, server: &Server, args: &[&str]) -> Frame {
        let mut c = server.client();
        if let Some(pass) = &self.auth {
            assert_eq!(c.call(&["AUTH", pass]), simple("OK"));
        }
        c.call(args)
    }

    /// Give every node a password (and the one its replicas use to sync).
    fn require_pass(&mut self, pass: &str) {
        for s in &self.servers {
            for (k, v) in [("masterauth", pass), ("requirepass", pass)] {
                assert_eq!(s.client().call(&["CONFIG", "SET", k, v]), simple("OK"));
            }
        }
        self.auth = Some(pass.to_string());
    }

    fn id(&self, i: usize) -> String {
        text(&self.call_on(&self.servers[i], &["CLUSTER", "MYID"]))
    }

    /// Mask ids and this cluster's ports.
    fn mask(&self, s: &str) -> String {
        let mut out = mask_ids(s);
        // free_port's ports are ephemeral, five digits above 32767: no slot number, count or
        // other port contains one.
        for (i, srv) in self.servers.iter().enumerate() {
            out = out.replace(&srv.port.to_string(), &format!("P{}", i));
        }
        out
    }

    /// Every node's `CLUSTER NODES`, reduced to address, role and slots, sorted.
    fn layout(&self) -> Vec<String> {
        let mut lines: Vec<String> = text(&self.call_on(&self.servers[0], &["CLUSTER", "NODES"]))
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                let role = if f[2].contains("master") { "master" } else { "slave" };
                let addr = f[1].split('@').next().unwrap();
                self.mask(&format!("{} {} {}", addr, role, f[8..].join(" ")))
            })
            .collect();
        lines.sort();
        lines
    }

    /// Wait until every node in `members` reports cluster_state:ok and knows `known` nodes,
    /// and all agree about the slots.
    fn wait_ok(&self, members: &[usize], known: usize) {
        for &i in members {
            self.servers[i].wait_for(
                Duration::from_secs(30),
                "cluster_state:ok with every node known",
                |s| text(&self.call_on(s, &["CLUSTER", "INFO"])),
                |info| info.contains("cluster_state:ok") && info.contains(&format!("cluster_known_nodes:{}\r", known)),
            );
        }
        let signature = |i: usize| {
            let mut v: Vec<String> = text(&self.call_on(&self.servers[i], &["CLUSTER", "NODES"]))
                .lines()
                .map(|l| {
                    let f: Vec<&str> = l.split(' ').collect();
                    format!("{} {} {}", f[0], if f[2].contains("master") { "m" } else { "s" }, f[8..].join(" "))
                })
                .collect();
            v.sort();
            v
        };
        self.servers[members[0]].wait_for(
            Duration::from_secs(30),
            "every node's CLUSTER NODES the same",
            |_| members.iter().map(|&i| signature(i)).collect::<Vec<_>>(),
            |all| all.iter().all(|s| *s == all[0]),
        );
    }

    fn set_keys(&self, keys: &[String]) {
        for k in keys {
            let slot = halab_core::cluster::slots::key_hash_slot(k.as_bytes());
            let owner = self.owner_of(slot);
            assert_eq!(self.call_on(owner, &["SET", k, "v"]), simple("OK"));
        }
    }

    fn is_master(&self, s: &Server) -> bool {
        role(s) == "master"
    }

    fn owner_of(&self, slot: u16) -> &Server {
        let nodes = text(&self.call_on(&self.servers[0], &["CLUSTER", "NODES"]));
        for l in nodes.lines() {
            let f: Vec<&str> = l.split(' ').collect();
            if !f[2].contains("master") {
                continue;
            }
            for range in &f[8..] {
                let (a, b) = match range.split_once('-') {
                    Some((a, b)) => (a.parse::<u16>().unwrap(), b.parse::<u16>().unwrap()),
                    None => (range.parse().unwrap(), range.parse().unwrap()),
                };
                if (a..=b).contains(&slot) {
                    let port: u16 = f[1].split('@').next().unwrap().rsplit(':').next().unwrap().parse().unwrap();
                    return self.servers.iter().find(|s| s.port == port).unwrap();
                }
            }
        }
        panic!("slot {} has no owner", slot)
    }
}

fn cluster_node(dir: &TempDir) -> Server {
    let port = free_port();
    let conf = format!("nodes-{}.conf", port);
    Server::start_flavor_on(
        Flavor::Redis,
        dir.path(),
        port,
        &["--cluster-enabled", "yes", "--cluster-config-file", &conf, "--cluster-node-timeout", "5000"],
    )
}

fn role(s: &Server) -> String {
    match s.client().call(&["ROLE"]) {
        Frame::Array(items) => items.first().map(text).unwrap_or_default(),
        other => text(&other),
    }
}

fn text(f: &Frame) -> String {
    match f {
        Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        Frame::Simple(s) | Frame::Error(s) => s.clone(),
        other => format!("{:?}", other),
    }
}

/// 40-hex node ids → `<id>`; the 8-character prefixes `info` prints → `<id8>`.
fn mask_ids(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        let run = b[i..].iter().take_while(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()).count();
        if run == 40 {
            out.push_str("<id>");
            i += 40;
        } else if run == 8 && s[i + 8..].starts_with("...") && i > 0 && b[i - 1] == b'(' {
            out.push_str("<id8>");
            i += 8;
        } else if run > 0 {
            out.push_str(&s[i..i + run]);
            i += run;
        } else {
            let ch = s[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// The wait's dots: a line of dots (the join) goes empty.
fn mask_dots(s: &str) -> String {
    s.lines().map(|l| if !l.is_empty() && l.bytes().all(|c| c == b'.') { "" } else { l }).collect::<Vec<_>>().join("\n")
}

fn procedure(s: &str) -> Vec<String> {
    s.lines()
        .filter(|l| l.starts_with(">>>") || l.starts_with('[') || l.starts_with("***") || l.starts_with("Waiting"))
        .map(String::from)
        .collect()
}

fn sorted_lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(String::from).collect();
    v.sort();
    v
}

/// Run `args` (with `{0}`, `{1}`… standing for node addresses, `{port0}`… for their ports and
/// `{id0}`… for node ids) by
/// both tools on their own cluster; assert they agree; return halab's masked stdout.
fn both(ref_nodes: &Nodes, our_nodes: &Nodes, args: &[&str], stdin: &str) -> String {
    both_term(ref_nodes, our_nodes, args, stdin, "dumb")
}

/// `{0}`, `{port0}`, `{id0}`… in `a`, for `nodes`.
fn expand(nodes: &Nodes, a: &str) -> String {
    let mut a = a.to_string();
    for i in (0..nodes.servers.len()).rev() {
        if a.contains(&format!("{{id{}}}", i)) {
            a = a.replace(&format!("{{id{}}}", i), &nodes.id(i));
        }
        a = a.replace(&format!("{{port{}}}", i), &nodes.servers[i].port.to_string());
        a = a.replace(&format!("{{{}}}", i), &nodes.addr(i));
    }
    a
}

fn both_term(ref_nodes: &Nodes, our_nodes: &Nodes, args: &[&str], stdin: &str, term: &str) -> String {
    let expand = |nodes: &Nodes| -> Vec<String> { args.iter().map(|a| expand(nodes, a)).collect() };
    let reference = run_term(Tool::RedisCli, &expand(ref_nodes), stdin, term);
    let ours = run_term(Tool::HalabCli, &expand(our_nodes), stdin, term);
    let r_out = mask_dots(&ref_nodes.mask(&reference.stdout));
    let o_out = mask_dots(&our_nodes.mask(&ours.stdout));
    let context = format!("{:?}\n--- redis-cli:\n{}\n--- halab:\n{}\n", args, r_out, o_out);
    assert_eq!(procedure(&r_out), procedure(&o_out), "the procedure differs: {}", context);
    assert_eq!(sorted_lines(&r_out), sorted_lines(&o_out), "the lines differ: {}", context);
    assert_eq!(ref_nodes.mask(&reference.stderr), our_nodes.mask(&ours.stderr), "stderr differs: {}", context);
    assert_eq!(reference.code, ours.code, "exit codes differ: {}", context);
    o_out
}

fn assert_same_layout(a: &Nodes, b: &Nodes) {
    assert_eq!(a.layout(), b.layout(), "CLUSTER NODES slot layouts differ");
}

/// create → check → info → reshard (with keys) → add-node (master, then replica) → del-node
/// (refused, then done) → rebalance onto the empty master → fix an open slot.
#[test]
fn the_tutorial_lifecycle_matches_redis_cli() {
    let reference = Nodes::start(9, "cm-ref");
    let ours = Nodes::start(9, "cm-ours");
    let six: Vec<String> = (0..6).map(|i| format!("{{{}}}", i)).collect();
    let mut create: Vec<&str> = vec!["--cluster", "create"];
    create.extend(six.iter().map(String::as_str));
    create.extend(["--cluster-replicas", "1", "--cluster-yes"]);
    let out = both(&reference, &ours, &create, "");
    assert!(out.contains(">>> Performing hash slots allocation on 6 nodes..."), "{}", out);
    assert!(
        out.contains("Master[0] -> Slots 0 - 5460\nMaster[1] -> Slots 5461 - 10922\nMaster[2] -> Slots 10923 - 16383")
    );
    assert!(out.contains("Adding replica 127.0.0.1:P4 to 127.0.0.1:P0"));
    assert!(out.ends_with("[OK] All 16384 slots covered."), "{}", out);
    let members: Vec<usize> = (0..6).collect();
    reference.wait_ok(&members, 6);
    ours.wait_ok(&members, 6);
    assert_same_layout(&reference, &ours);

    let keys: Vec<String> = (0..200).map(|i| format!("key:{}", i)).collect();
    reference.set_keys(&keys);
    ours.set_keys(&keys);
    both(&reference, &ours, &["--cluster", "check", "{0}"], "");
    let info = both(&reference, &ours, &["--cluster", "info", "127.0.0.1", "{port1}"], "");
    assert!(info.contains("[OK] 200 keys in 3 masters.\n0.01 keys per slot on average."), "{}", info);

    // reshard: 1000 slots from every master to the first, moving keys a pipeline of 3 at a time.
    let out = both(
        &reference,
        &ours,
        &[
            "--cluster",
            "reshard",
            "{0}",
            "--cluster-from",
            "all",
            "--cluster-to",
            "{id0}",
            "--cluster-slots",
            "1000",
            "--cluster-yes",
            "--cluster-pipeline",
            "3",
        ],
        "",
    );
    assert!(out.contains("Moving slot 5461 from 127.0.0.1:P1 to 127.0.0.1:P0: "), "{}", out);
    assert!(out.lines().any(|l| l.starts_with("Moving slot") && l.ends_with(": .")), "keys moved with dots: {}", out);
    reference.wait_ok(&members, 6);
    ours.wait_ok(&members, 6);
    assert_same_layout(&reference, &ours);

    // add-node: a new master, then a replica of a named master.
    both(&reference, &ours, &["--cluster", "add-node", "{6}", "{0}"], "");
    let seven: Vec<usize> = (0..7).collect();
    reference.wait_ok(&seven, 7);
    ours.wait_ok(&seven, 7);
    let out = both(
        &reference,
        &ours,
        &["--cluster", "add-node", "{7}", "{0}", "--cluster-slave", "--cluster-master-id", "{id6}"],
        "",
    );
    assert!(out.contains(">>> Configure node as replica of 127.0.0.1:P6."), "{}", out);
    let eight: Vec<usize> = (0..8).collect();
    reference.wait_ok(&eight, 8);
    ours.wait_ok(&eight, 8);
    assert_same_layout(&reference, &ours);

    // del-node: a master with slots is refused; the replica goes.
    let out = both(&reference, &ours, &["--cluster", "del-node", "{0}", "{id1}"], "");
    assert!(out.contains("[ERR] Node 127.0.0.1:P1 is not empty! Reshard data away and try again."), "{}", out);
    both(&reference, &ours, &["--cluster", "del-node", "{0}", "{id7}"], "");
    let seven_again: Vec<usize> = (0..7).collect();
    reference.wait_ok(&seven_again, 7);
    ours.wait_ok(&seven_again, 7);

    // rebalance onto the empty master: the simulation first, then for real.
    both(
        &reference,
        &ours,
        &["--cluster", "rebalance", "{0}", "--cluster-use-empty-masters", "--cluster-simulate"],
        "",
    );
    let out = both(&reference, &ours, &["--cluster", "rebalance", "{0}", "--cluster-use-empty-masters"], "");
    assert!(out.contains(">>> Rebalancing across 4 nodes. Total weight = 4.00"), "{}", out);
    reference.wait_ok(&seven_again, 7);
    ours.wait_ok(&seven_again, 7);
    assert_same_layout(&reference, &ours);
    both(&reference, &ours, &["--cluster", "rebalance", "{0}"], "");

    // fix: an interrupted move leaves slot 0 open (migrating on its owner, importing on P1).
    for nodes in [&reference, &ours] {
        let owner = nodes.owner_of(0);
        // Among the cluster's seven (the eighth was deleted and is alone).
        let other = nodes.servers[..7].iter().find(|s| s.port != owner.port && nodes.is_master(s)).unwrap();
        let (owner_id, other_id) =
            (text(&owner.client().call(&["CLUSTER", "MYID"])), text(&other.client().call(&["CLUSTER", "MYID"])));
        assert_eq!(other.client().call(&["CLUSTER", "SETSLOT", "0", "IMPORTING", &owner_id]), simple("OK"));
        assert_eq!(owner.client().call(&["CLUSTER", "SETSLOT", "0", "MIGRATING", &other_id]), simple("OK"));
    }
    let out = both(&reference, &ours, &["--cluster", "check", "{0}"], "");
    assert!(out.contains("[WARNING] The following slots are open: 0."), "{}", out);
    let out = both(&reference, &ours, &["--cluster", "fix", "{0}"], "");
    assert!(out.contains(">>> Case 1: Moving slot 0 from"), "{}", out);
    reference.wait_ok(&seven_again, 7);
    ours.wait_ok(&seven_again, 7);
    assert_same_layout(&reference, &ours);
    both(&reference, &ours, &["--cluster", "check", "{0}"], "");
    both(
        &reference,
        &ours,
        &["--cluster", "call", "{0}", "CLUSTER", "COUNTKEYSINSLOT", "0", "--cluster-only-masters"],
        "",
    );
}

/// What create refuses, and the command line's errors, word for word.
#[test]
fn refusals_and_errors_match_redis_cli() {
    let reference = Nodes::start(5, "cm-ref-err");
    let ours = Nodes::start(5, "cm-ours-err");
    // Too few masters for the replicas asked.
    let out = both(&reference, &ours, &["--cluster", "create", "{0}", "{1}", "{2}", "--cluster-replicas", "1"], "");
    assert!(out.contains("*** ERROR: Invalid configuration for cluster creation."), "{}", out);
    // A node that knows another is not empty.
    for nodes in [&reference, &ours] {
        let peer = nodes.servers[4].port.to_string();
        assert_eq!(nodes.servers[3].client().call(&["CLUSTER", "MEET", "127.0.0.1", &peer]), simple("OK"));
    }
    let out = both(&reference, &ours, &["--cluster", "create", "{0}", "{1}", "{3}"], "");
    assert!(out.contains("[ERR] Node 127.0.0.1:P3 is not empty."), "{}", out);
    // The declined prompt leaves everything as it was (and exits 0, as redis-cli does).
    let out = both(&reference, &ours, &["--cluster", "create", "{0}", "{1}", "{2}"], "no\n");
    assert!(out.contains("Can I set the above configuration? (type 'yes' to accept): "), "{}", out);
    // Not a cluster node; nobody listening; bad arguments; help.
    let plain_dir = TempDir::new("cm-plain");
    let plain = Server::start_flavor(Flavor::Redis, plain_dir.path(), &[]);
    let plain_addr = format!("127.0.0.1:{}", plain.port);
    let r = run(Tool::RedisCli, &["--cluster".into(), "check".into(), plain_addr.clone()], "");
    let o = run(Tool::HalabCli, &["--cluster".into(), "check".into(), plain_addr], "");
    assert_eq!(r, o);
    assert!(o.stdout.contains("is not configured as a cluster node."));
    let closed = format!("127.0.0.1:{}", free_port());
    for args in [
        vec!["--cluster", "check", closed.as_str()],
        vec!["--cluster", "info", "nowhere"],
        vec!["--cluster", "add-node", "127.0.0.1:1"],
        vec!["--cluster", "frobnicate", "127.0.0.1:1"],
        vec!["--cluster", "help"],
        vec!["--cluster", "set-timeout", "127.0.0.1:1", "10"],
        vec!["--cluster", "import", "127.0.0.1:1"],
        vec!["-a", "secret", "--cluster", "check", closed.as_str()],
    ] {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        assert_eq!(run(Tool::RedisCli, &args, ""), run(Tool::HalabCli, &args, ""), "{:?}", args);
    }
}

/// Without `--cluster-yes`, create asks, and "yes" typed on stdin builds the cluster.
#[test]
fn create_asks_and_a_typed_yes_builds() {
    let reference = Nodes::start(3, "cm-ref-yes");
    let ours = Nodes::start(3, "cm-ours-yes");
    let out = both(&reference, &ours, &["--cluster", "create", "{0}", "{1}", "{2}"], "yes\n");
    assert!(out.contains("(type 'yes' to accept): >>> Nodes configuration updated"), "{}", out);
    reference.wait_ok(&[0, 1, 2], 3);
    ours.wait_ok(&[0, 1, 2], 3);
    assert_same_layout(&reference, &ours);
}

/// fix of uncovered slots (their keys on one node), import from a plain server, rebalance by
/// weights, redis-cli's colours; an interactive reshard typed on stdin; backup.
#[test]
fn fix_import_weights_and_prompts_match_redis_cli() {
    let reference = Nodes::start(4, "cm-ref-fix");
    let ours = Nodes::start(4, "cm-ours-fix");
    both(&reference, &ours, &["--cluster", "create", "{0}", "{1}", "{2}", "--cluster-yes"], "");
    reference.wait_ok(&[0, 1, 2], 3);
    ours.wait_ok(&[0, 1, 2], 3);
    let keys: Vec<String> = (0..30).map(|i| format!("user:{}", i)).collect();
    reference.set_keys(&keys);
    ours.set_keys(&keys);

    // Two slots holding keys dropped by their owner: uncovered, with keys in just one node.
    let slots: Vec<u16> =
        ["user:3", "user:17"].iter().map(|k| halab_core::cluster::slots::key_hash_slot(k.as_bytes())).collect();
    for nodes in [&reference, &ours] {
        for &slot in &slots {
            let owner = nodes.owner_of(slot);
            assert_eq!(owner.client().call(&["CLUSTER", "DELSLOTS", &slot.to_string()]), simple("OK"));
        }
    }
    let out = both(&reference, &ours, &["--cluster", "check", "{0}"], "");
    assert!(out.contains("[ERR] Not all 16384 slots are covered by nodes."), "{}", out);
    let out = both(&reference, &ours, &["--cluster", "fix", "{0}"], "yes\n");
    assert!(out.contains("The following uncovered slots have keys in just one node:"), "{}", out);
    reference.wait_ok(&[0, 1, 2], 3);
    ours.wait_ok(&[0, 1, 2], 3);
    assert_same_layout(&reference, &ours);
    both(&reference, &ours, &["--cluster", "check", "{0}", "--cluster-search-multiple-owners"], "");

    // import: twenty keys from a plain server, copied.
    let plain_ref_dir = TempDir::new("cm-plain-ref");
    let plain_our_dir = TempDir::new("cm-plain-ours");
    let plain_ref = Server::start_flavor(Flavor::Redis, plain_ref_dir.path(), &[]);
    let plain_ours = Server::start_flavor(Flavor::Redis, plain_our_dir.path(), &[]);
    for plain in [&plain_ref, &plain_ours] {
        for i in 0..20 {
            assert_eq!(plain.client().call(&["SET", &format!("imported:{}", i), "x"]), simple("OK"));
        }
    }
    let from_ref = format!("127.0.0.1:{}", plain_ref.port);
    let from_ours = format!("127.0.0.1:{}", plain_ours.port);
    let r = run(
        Tool::RedisCli,
        &[
            "--cluster".into(),
            "import".into(),
            reference.addr(0),
            "--cluster-from".into(),
            from_ref,
            "--cluster-copy".into(),
        ],
        "",
    );
    let o = run(
        Tool::HalabCli,
        &[
            "--cluster".into(),
            "import".into(),
            ours.addr(0),
            "--cluster-from".into(),
            from_ours,
            "--cluster-copy".into(),
        ],
        "",
    );
    let (r_out, o_out) = (
        reference.mask(&r.stdout).replace(&plain_ref.port.to_string(), "SRC"),
        ours.mask(&o.stdout).replace(&plain_ours.port.to_string(), "SRC"),
    );
    assert_eq!(sorted_lines(&r_out), sorted_lines(&o_out), "--- redis-cli:\n{}\n--- halab:\n{}", r_out, o_out);
    assert_eq!((r.code, o.code), (Some(0), Some(0)));
    assert!(o_out.contains("*** Importing 20 keys from DB 0\nMigrating imported:"), "{}", o_out);
    assert_eq!(text(&plain_ours.client().call(&["DBSIZE"])), "Integer(20)", "--cluster-copy keeps the source's keys");
    both(&reference, &ours, &["--cluster", "info", "{0}"], "");

    // Weights: the second master twice as heavy; then coloured output.
    let out = both(
        &reference,
        &ours,
        &["--cluster", "rebalance", "{0}", "--cluster-weight", "{id1}=2", "--cluster-threshold", "1"],
        "",
    );
    assert!(out.contains("Total weight = 4.00"), "{}", out);
    reference.wait_ok(&[0, 1, 2], 3);
    ours.wait_ok(&[0, 1, 2], 3);
    assert_same_layout(&reference, &ours);
    let out = both_term(&reference, &ours, &["--cluster", "check", "{0}"], "", "xterm-256color");
    assert!(out.contains("\u{1b}[32;1m[OK] All 16384 slots covered.\n\u{1b}[0m"), "{:?}", out);

    // reshard typed on stdin (halab's terminal reading; redis-cli's read(2) of a pipe loses
    // lines): the same plan as the flags give redis-cli.
    let r = run(
        Tool::RedisCli,
        &[
            "--cluster",
            "reshard",
            &reference.addr(0),
            "--cluster-slots",
            "20",
            "--cluster-to",
            &reference.id(2),
            "--cluster-from",
            &reference.id(0),
            "--cluster-yes",
        ]
        .map(String::from),
        "",
    );
    let typed = expand(&ours, "20\n{id2}\n{id0}\ndone\nyes\n");
    let o = run(Tool::HalabCli, &["--cluster".into(), "reshard".into(), ours.addr(0)], &typed);
    assert_eq!((r.code, o.code), (Some(0), Some(0)), "{}", o.stdout);
    let o_out = ours.mask(&o.stdout);
    assert!(o_out.contains(
        "How many slots do you want to move (from 1 to 16384)? What is the receiving node ID? Please enter all the source node IDs.\n  Type 'all' to use all the nodes as source nodes for the hash slots.\n  Type 'done' once you entered all the source nodes IDs.\nSource node #1: Source node #2: \nReady to move 20 slots."
    ), "{}", o_out);
    assert!(o_out.contains("Do you want to proceed with the proposed reshard plan (yes/no)? Moving slot"), "{}", o_out);
    let plan = |s: &str| s.lines().filter(|l| l.starts_with("    Moving slot")).map(String::from).collect::<Vec<_>>();
    assert_eq!(plan(&reference.mask(&r.stdout)), plan(&o_out));
    reference.wait_ok(&[0, 1, 2], 3);
    ours.wait_ok(&[0, 1, 2], 3);
    assert_same_layout(&reference, &ours);

    // backup: every master's snapshot by SYNC, and nodes.json.
    let (ref_dir, our_dir) = (TempDir::new("cm-backup-ref"), TempDir::new("cm-backup-ours"));
    let r = run(
        Tool::RedisCli,
        &["--cluster".into(), "backup".into(), reference.addr(0), ref_dir.path().display().to_string()],
        "",
    );
    let o = run(
        Tool::HalabCli,
        &["--cluster".into(), "backup".into(), ours.addr(0), our_dir.path().display().to_string()],
        "",
    );
    let unplace =
        |nodes: &Nodes, dir: &TempDir, s: &str| nodes.mask(&s.replace(&dir.path().display().to_string(), "DIR"));
    let (r_out, o_out) = (unplace(&reference, &ref_dir, &r.stdout), unplace(&ours, &our_dir, &o.stdout));
    assert_eq!(sorted_lines(&r_out), sorted_lines(&o_out), "--- redis-cli:\n{}\n--- halab:\n{}", r_out, o_out);
    assert_eq!(
        sorted_lines(&unplace(&reference, &ref_dir, &r.stderr)),
        sorted_lines(&unplace(&ours, &our_dir, &o.stderr))
    );
    assert_eq!((r.code, o.code), (Some(0), Some(0)));
    let json = |nodes: &Nodes, dir: &TempDir| {
        sorted_lines(&nodes.mask(&std::fs::read_to_string(dir.path().join("nodes.json")).unwrap()))
    };
    assert_eq!(json(&reference, &ref_dir), json(&ours, &our_dir));
    let rdbs: Vec<std::path::PathBuf> = std::fs::read_dir(our_dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rdb"))
        .collect();
    assert_eq!(rdbs.len(), 3);
    for rdb in rdbs {
        assert!(std::fs::read(&rdb).unwrap().starts_with(b"REDIS0010"), "{:?}", rdb);
    }
}

/// With requirepass on every node: `-a` authenticates each connection and MIGRATE carries
/// AUTH; without it, the first node's NOAUTH stops both tools alike.
#[test]
fn a_password_reaches_every_node_and_migrate() {
    let mut reference = Nodes::start(3, "cm-ref-auth");
    let mut ours = Nodes::start(3, "cm-ours-auth");
    reference.require_pass("s3cret");
    ours.require_pass("s3cret");
    let out = both(&reference, &ours, &["--cluster", "check", "{0}"], "");
    assert!(out.contains("NOAUTH"), "{}", out);
    let out =
        both(&reference, &ours, &["-a", "s3cret", "--cluster", "create", "{0}", "{1}", "{2}", "--cluster-yes"], "");
    assert!(out.ends_with("[OK] All 16384 slots covered."), "{}", out);
    reference.wait_ok(&[0, 1, 2], 3);
    ours.wait_ok(&[0, 1, 2], 3);
    let keys: Vec<String> = (0..100).map(|i| format!("k{}", i)).collect();
    reference.set_keys(&keys);
    ours.set_keys(&keys);
    let reshard = [
        "--cluster",
        "reshard",
        "{1}",
        "--cluster-from",
        "{id0}",
        "--cluster-to",
        "{id2}",
        "--cluster-slots",
        "300",
        "--cluster-yes",
        "--pass",
        "s3cret",
        "--no-auth-warning",
    ];
    let out = both(&reference, &ours, &reshard, "");
    assert!(out.lines().any(|l| l.starts_with("Moving slot") && l.ends_with(": .")), "{}", out);
    reference.wait_ok(&[0, 1, 2], 3);
    ours.wait_ok(&[0, 1, 2], 3);
    assert_same_layout(&reference, &ours);
    both(&reference, &ours, &["-a", "s3cret", "--cluster", "info", "{0}"], "");
}
