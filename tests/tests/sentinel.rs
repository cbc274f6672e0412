//! Sentinel judged by real Redis 7.0: our sentinels fail over redis-server nodes, real
//! redis-sentinel processes fail over halab nodes, a group of two halab sentinels and one
//! redis-sentinel agrees and fails over, and the fields of our SENTINEL and INFO replies are
//! redis-sentinel's. Every wait polls for a condition (no fixed sleeps); all on 127.0.0.1.

use halab_core::resp::Frame;
use halab_tests::{free_port, halab_bin, require_tool, Flavor, Server, TempDir};
use std::process::Command;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(90);

fn text(f: &Frame) -> String {
    match f {
        Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        Frame::Simple(s) | Frame::Error(s) => s.clone(),
        Frame::Integer(i) => i.to_string(),
        other => format!("{:?}", other),
    }
}

/// A flat `name value …` reply (RESP2 map) as pairs.
fn pairs(f: &Frame) -> Vec<(String, String)> {
    match f {
        Frame::Array(items) => items.chunks(2).map(|c| (text(&c[0]), c.get(1).map(text).unwrap_or_default())).collect(),
        Frame::Map(kv) => kv.iter().map(|(k, v)| (text(k), text(v))).collect(),
        other => panic!("not a map: {:?}", other),
    }
}

fn get(pairs: &[(String, String)], key: &str) -> String {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default()
}

fn call(s: &Server, args: &[&str]) -> Frame {
    match halab_tests::Client::connect(s.port) {
        Ok(mut c) => c.try_call(args).unwrap_or(Frame::Error("no reply".into())),
        Err(e) => Frame::Error(e.to_string()),
    }
}

fn info_field(s: &Server, field: &str) -> String {
    let t = text(&call(s, &["INFO", "replication"]));
    halab_core::lab::observe::info_field(&t, field).unwrap_or_default()
}

fn master_port(sentinel: &Server) -> String {
    match call(sentinel, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"]) {
        Frame::Array(a) if a.len() == 2 => text(&a[1]),
        other => format!("{:?}", other),
    }
}

/// A master with two replicas, each in its own directory.
struct Group {
    _dir: TempDir,
    dirs: Vec<std::path::PathBuf>,
    flavor: Flavor,
    master_port: u16,
    nodes: Vec<Option<Server>>,
    sentinels: Vec<Server>,
}

impl Group {
    fn start(node_flavor: Flavor, sentinel_flavors: &[Flavor]) -> Group {
        let dir = TempDir::new("sentinel");
        let dirs: Vec<_> = (0..3 + sentinel_flavors.len())
            .map(|i| {
                let d = dir.path().join(format!("p{}", i));
                std::fs::create_dir_all(&d).unwrap();
                d
            })
            .collect();
        let master = Server::start_flavor(node_flavor, &dirs[0], &[]);
        let mport = master.port.to_string();
        let r1 = Server::start_flavor(node_flavor, &dirs[1], &["--replicaof", "127.0.0.1", &mport]);
        let r2 = Server::start_flavor(node_flavor, &dirs[2], &["--replicaof", "127.0.0.1", &mport]);
        for r in [&r1, &r2] {
            r.wait_for(LONG, "replica link up", |s| info_field(s, "master_link_status"), |v| v == "up");
        }
        let lines = format!(
            "sentinel monitor mymaster 127.0.0.1 {} 2\nsentinel down-after-milliseconds mymaster 2000\nsentinel failover-timeout mymaster 6000\n",
            master.port
        );
        let sentinels: Vec<Server> = sentinel_flavors
            .iter()
            .enumerate()
            .map(|(i, f)| Server::start_sentinel(*f, &dirs[3 + i], free_port(), &lines))
            .collect();
        let n = sentinel_flavors.len();
        for s in &sentinels {
            s.wait_for(
                LONG,
                "discovery of 2 replicas and the other sentinels",
                |s| pairs(&call(s, &["SENTINEL", "MASTER", "mymaster"])),
                |p| get(p, "num-slaves") == "2" && get(p, "num-other-sentinels") == (n - 1).to_string(),
            );
        }
        let master_port = master.port;
        Group {
            _dir: dir,
            dirs,
            flavor: node_flavor,
            master_port,
            nodes: vec![Some(master), Some(r1), Some(r2)],
            sentinels,
        }
    }

    /// Kill the master (SIGKILL), wait until every sentinel names the same new master, check
    /// the other replica follows it, then restart the old master and see it turned into a
    /// replica of the new one.
    fn fail_over(&mut self) {
        drop(self.nodes[0].take());
        let old = self.master_port.to_string();
        let s0 = &self.sentinels[0];
        let new = s0.wait_for(LONG, "a new master", master_port, |p| *p != old && !p.starts_with("Error"));
        for s in &self.sentinels[1..] {
            s.wait_for(LONG, "the same new master", master_port, |p| *p == new);
        }
        let (promoted, other) = if self.nodes[1].as_ref().unwrap().port.to_string() == new { (1, 2) } else { (2, 1) };
        let promoted = self.nodes[promoted].as_ref().unwrap();
        assert_eq!(promoted.port.to_string(), new);
        promoted.wait_for(LONG, "the promoted replica is a master", |s| info_field(s, "role"), |r| r == "master");
        let other = self.nodes[other].as_ref().unwrap();
        other.wait_for(
            LONG,
            "the other replica follows the new master",
            |s| (info_field(s, "master_port"), info_field(s, "master_link_status")),
            |(p, l)| *p == new && l == "up",
        );
        // The old master returns where it was and is converted into a replica.
        let back = Server::start_flavor_on(self.flavor, &self.dirs[0], self.master_port, &[]);
        back.wait_for(
            LONG,
            "the old master becomes a replica of the new one",
            |s| (info_field(s, "role"), info_field(s, "master_port")),
            |(r, p)| r == "slave" && *p == new,
        );
        assert!(self.sentinels.iter().any(|s| s.log().contains("+convert-to-slave")));
        self.nodes[0] = Some(back);
    }
}

#[test]
fn halab_sentinels_fail_over_redis_servers() {
    require_tool("redis-server");
    let mut g = Group::start(Flavor::Redis, &[Flavor::Halab, Flavor::Halab, Flavor::Halab]);
    g.fail_over();
    let leader_logs: Vec<String> =
        g.sentinels.iter().map(|s| s.log()).filter(|l| l.contains("+elected-leader")).collect();
    assert_eq!(leader_logs.len(), 1, "exactly one leader");
    for want in
        ["+odown master mymaster", "+promoted-slave", "+failover-end master mymaster", "+switch-master mymaster"]
    {
        assert!(leader_logs[0].contains(want), "no {:?} in the leader's log:\n{}", want, leader_logs[0]);
    }
}

#[test]
fn redis_sentinels_fail_over_halab_servers() {
    require_tool("redis-sentinel");
    let mut g = Group::start(Flavor::Halab, &[Flavor::Redis, Flavor::Redis, Flavor::Redis]);
    g.fail_over();
}

#[test]
fn two_halab_sentinels_and_a_redis_sentinel_agree_and_fail_over() {
    require_tool("redis-sentinel");
    let mut g = Group::start(Flavor::Halab, &[Flavor::Halab, Flavor::Redis, Flavor::Halab]);
    g.fail_over();
}

/// The keys of our replies are redis-sentinel's, in its order, for the same deployment.
#[test]
fn sentinel_replies_have_redis_sentinel_fields() {
    require_tool("redis-sentinel");
    let g = Group::start(Flavor::Redis, &[Flavor::Halab, Flavor::Redis]);
    let (ours, theirs) = (&g.sentinels[0], &g.sentinels[1]);
    let keys =
        |s: &Server, args: &[&str]| -> Vec<String> { pairs(&call(s, args)).into_iter().map(|(k, _)| k).collect() };
    let first_keys = |s: &Server, args: &[&str]| -> Vec<String> {
        match call(s, args) {
            Frame::Array(items) if !items.is_empty() => pairs(&items[0]).into_iter().map(|(k, _)| k).collect(),
            other => panic!("{:?}: {:?}", args, other),
        }
    };
    assert_eq!(keys(ours, &["SENTINEL", "MASTER", "mymaster"]), keys(theirs, &["SENTINEL", "MASTER", "mymaster"]));
    for sub in ["REPLICAS", "SLAVES", "SENTINELS"] {
        assert_eq!(
            first_keys(ours, &["SENTINEL", sub, "mymaster"]),
            first_keys(theirs, &["SENTINEL", sub, "mymaster"]),
            "{}",
            sub
        );
    }
    assert_eq!(first_keys(ours, &["SENTINEL", "MASTERS"]), first_keys(theirs, &["SENTINEL", "MASTERS"]));
    assert_eq!(keys(ours, &["SENTINEL", "DEBUG"]), keys(theirs, &["SENTINEL", "DEBUG"]));
    assert_eq!(keys(ours, &["SENTINEL", "CONFIG", "GET", "*"]), keys(theirs, &["SENTINEL", "CONFIG", "GET", "*"]));
    // INFO: the same sections and, in the sentinel section, the same fields and values.
    let info = |s: &Server| text(&call(s, &["INFO"]));
    let shape = |t: &str| -> Vec<String> {
        t.lines()
            .map(|l| l.split(':').next().unwrap_or("").to_string())
            .filter(|k| k.starts_with('#') || k.starts_with("sentinel_") || k.starts_with("master0"))
            .collect()
    };
    assert_eq!(shape(&info(ours)), shape(&info(theirs)));
    let sentinel_section = |s: &Server| text(&call(s, &["INFO", "sentinel"]));
    assert_eq!(sentinel_section(ours), sentinel_section(theirs));
    // The same replies, errors included, for the same requests.
    for args in [
        &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"][..],
        &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nosuch"],
        &["SENTINEL", "MASTER", "nosuch"],
        &["SENTINEL", "FOO"],
        &["SENTINEL", "MASTERS", "extra"],
        &["SENTINEL", "MONITOR", "m2", "127.0.0.1", "6390", "0"],
        &["SENTINEL", "MONITOR", "m2", "not-an-ip", "6390", "2"],
        &["SENTINEL", "MONITOR", "mymaster", "127.0.0.1", "6390", "2"],
        &["SENTINEL", "SET", "mymaster", "quorum", "0"],
        &["SENTINEL", "SET", "mymaster", "nosuch", "1"],
        &["SENTINEL", "CONFIG", "SET", "nosuch", "1"],
        &["SENTINEL", "CKQUORUM", "mymaster"],
        &["SENTINEL", "IS-MASTER-DOWN-BY-ADDR", "127.0.0.1", "1", "0", "*"],
        &["SENTINEL", "SIMULATE-FAILURE", "HELP"],
        &["SENTINEL", "PENDING-SCRIPTS"],
        &["ROLE"],
        &["PUBLISH", "chan", "x"],
        &["SET", "k", "v"],
        &["CONFIG", "GET", "port"],
        &["PING"],
    ] {
        assert_eq!(call(ours, args), call(theirs, args), "{:?}", args);
    }
}

/// The scripts 7.0 runs: the notification script for every warning about the master, the
/// client-reconfig script at the failover, with 7.0's arguments.
#[test]
fn sentinel_runs_the_notification_and_client_reconfig_scripts() {
    require_tool("redis-server");
    let dir = TempDir::new("sentinel-scripts");
    let d = |n: &str| {
        let p = dir.path().join(n);
        std::fs::create_dir_all(&p).unwrap();
        p
    };
    let master = Server::start_flavor(Flavor::Redis, &d("m"), &[]);
    let mport = master.port.to_string();
    let replica = Server::start_flavor(Flavor::Redis, &d("r"), &["--replicaof", "127.0.0.1", &mport]);
    replica.wait_for(LONG, "replica link up", |s| info_field(s, "master_link_status"), |v| v == "up");
    let out = dir.path().join("calls.txt");
    let script = dir.path().join("record.sh");
    std::fs::write(&script, format!("#!/bin/sh\necho \"$@\" >> {}\n", out.display())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let lines = format!(
        "sentinel monitor mymaster 127.0.0.1 {} 1\nsentinel down-after-milliseconds mymaster 1000\nsentinel failover-timeout mymaster 6000\nsentinel notification-script mymaster {}\nsentinel client-reconfig-script mymaster {}\n",
        master.port,
        script.display(),
        script.display()
    );
    let s = Server::start_sentinel(Flavor::Halab, &d("s"), free_port(), &lines);
    s.wait_for(
        LONG,
        "the replica found",
        |s| pairs(&call(s, &["SENTINEL", "MASTER", "mymaster"])),
        |p| get(p, "num-slaves") == "1",
    );
    drop(master);
    let want = format!("mymaster leader start 127.0.0.1 {} 127.0.0.1 {}", mport, replica.port);
    let calls = s.wait_for(
        LONG,
        "the scripts ran",
        |_| std::fs::read_to_string(&out).unwrap_or_default(),
        |c| c.contains(&want) && c.contains("+switch-master mymaster 127.0.0.1"),
    );
    assert!(calls.lines().any(|l| l == format!("+sdown master mymaster 127.0.0.1 {}", mport)), "{}", calls);
    assert!(
        calls.lines().any(|l| l.starts_with("+odown master mymaster 127.0.0.1 ") && l.ends_with("#quorum 1/1")),
        "{}",
        calls
    );
    // Nothing left to run once they all ended.
    s.wait_for(
        LONG,
        "an empty script queue",
        |s| text(&call(s, &["INFO", "sentinel"])),
        |i| i.contains("sentinel_running_scripts:0") && i.contains("sentinel_scripts_queue_length:0"),
    );
}

/// A script's path is checked when it is configured, as 7.0 checks it with `access(X_OK)`: by
/// `SENTINEL SET` (an error reply, nothing changed) and in sentinel.conf (a fatal config
/// error). The same replies from halab and redis-sentinel.
#[test]
fn script_paths_are_checked_when_configured() {
    require_tool("redis-sentinel");
    let dir = TempDir::new("sentinel-script-paths");
    let (script, plain, missing) =
        (dir.path().join("ok.sh"), dir.path().join("plain.sh"), dir.path().join("missing.sh"));
    use std::os::unix::fs::PermissionsExt;
    for (p, mode) in [(&script, 0o755), (&plain, 0o644)] {
        std::fs::write(p, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let lines = format!("sentinel monitor mymaster 127.0.0.1 {} 2\nsentinel deny-scripts-reconfig no\n", free_port());
    let mut replies = Vec::new();
    for (flavor, name) in [(Flavor::Halab, "halab"), (Flavor::Redis, "redis")] {
        let sub = dir.path().join(name);
        std::fs::create_dir_all(&sub).unwrap();
        let s = Server::start_sentinel(flavor, &sub, free_port(), &lines);
        let mut seen = Vec::new();
        for (option, path) in [
            ("notification-script", &missing),
            ("notification-script", &plain),
            ("client-reconfig-script", &missing),
            ("notification-script", &script),
            ("client-reconfig-script", &script),
        ] {
            seen.push(call(&s, &["SENTINEL", "SET", "mymaster", option, path.to_str().unwrap()]));
        }
        let master = pairs(&call(&s, &["SENTINEL", "MASTER", "mymaster"]));
        seen.push(Frame::Bulk(get(&master, "notification-script").into_bytes().into()));
        replies.push(seen);
    }
    assert_eq!(replies[0], replies[1], "halab vs redis-sentinel");
    assert_eq!(replies[0][0], Frame::Error("ERR Notification script seems non existing or non executable".into()));
    assert_eq!(replies[0][1], replies[0][0], "a file that is not executable counts as missing");
    assert_eq!(
        replies[0][2],
        Frame::Error("ERR Client reconfiguration script seems non existing or non executable".into())
    );
    assert_eq!(replies[0][3], Frame::Simple("OK".into()));
    // In sentinel.conf a relative path is relative to `dir`, where the process has moved
    // before it reads the `sentinel` lines: both flavors start.
    for (flavor, name) in [(Flavor::Halab, "rel-halab"), (Flavor::Redis, "rel-redis")] {
        let sub = dir.path().join(name);
        std::fs::create_dir_all(&sub).unwrap();
        let lines = format!("{}sentinel notification-script mymaster ../ok.sh\n", lines);
        let s = Server::start_sentinel(flavor, &sub, free_port(), &lines);
        let master = pairs(&call(&s, &["SENTINEL", "MASTER", "mymaster"]));
        assert_eq!(get(&master, "notification-script"), "../ok.sh", "{}", name);
    }
    // A missing script in sentinel.conf stops the start, with 7.0's fatal error.
    let conf = dir.path().join("bad.conf");
    std::fs::write(
        &conf,
        format!(
            "port {}\nsentinel monitor mymaster 127.0.0.1 6379 2\nsentinel notification-script mymaster {}\n",
            free_port(),
            missing.display()
        ),
    )
    .unwrap();
    for mut cmd in [
        {
            let mut c = Command::new(halab_bin());
            c.arg("sentinel");
            c
        },
        Command::new("redis-sentinel"),
    ] {
        let out = cmd.arg(&conf).output().unwrap();
        assert!(!out.status.success());
        let text = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***"), "{}", text);
        assert!(text.contains("Reading the configuration file, at line 3"), "{}", text);
        assert!(text.contains("Notification script seems non existing or non executable."), "{}", text);
    }
}
