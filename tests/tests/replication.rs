//! Replication end to end: halab masters and replicas, with each other and with the reference
//! `redis-server`. Every scenario waits on what the servers report (INFO replication, logs,
//! DEBUG DIGEST) with a deadline, never on a fixed sleep, and where it is cheap the same
//! scenario also runs on a redis-server pair so the expectation itself is Redis's.

use halab_core::resp::Frame;
use halab_tests::*;
use std::time::{Duration, Instant};

/// How long a sync (or a reconnection) may take before a test gives up.
const SYNC: Duration = Duration::from_secs(15);

/// The digest DEBUG DIGEST gives for an empty dataset.
const EMPTY_DIGEST: &str = "0000000000000000000000000000000000000000";

// ───────────────────────────── helpers ─────────────────────────────

/// Call `f` every 50 ms until it returns `Ok`; after `timeout`, panic with its last complaint.
fn poll<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match f() {
            Ok(v) => return v,
            Err(why) if Instant::now() >= deadline => {
                panic!("timed out after {:?} waiting for {}; last state:\n{}", timeout, what, why)
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn frame_text(f: &Frame) -> Option<String> {
    match f {
        Frame::Bulk(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Frame::Verbatim { text, .. } => Some(String::from_utf8_lossy(text).into_owned()),
        Frame::Simple(s) => Some(s.clone()),
        _ => None,
    }
}

/// Send a command and panic on an error reply.
fn must(c: &mut Client, args: &[&str]) -> Frame {
    let f = c.call(args);
    if let Frame::Error(e) = &f {
        panic!("{:?}{} failed: {}", &args[..args.len().min(4)], if args.len() > 4 { " …" } else { "" }, e);
    }
    f
}

fn must_owned(c: &mut Client, args: &[String]) -> Frame {
    let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    must(c, &refs)
}

/// INFO `section` over `c`.
fn info_via(c: &mut Client, section: &str) -> Result<String, String> {
    let f = c.try_call(&["INFO", section]).map_err(|e| e.to_string())?;
    frame_text(&f).filter(|_| !matches!(f, Frame::Simple(_))).ok_or_else(|| format!("INFO replied {:?}", f))
}

/// INFO `section` over a fresh connection (so it works across restarts and kills).
fn try_info(s: &Server, section: &str) -> Result<String, String> {
    let mut c = Client::connect(s.port).map_err(|e| format!("connect to port {}: {}", s.port, e))?;
    info_via(&mut c, section)
}

fn info(s: &Server) -> String {
    try_info(s, "replication").unwrap_or_else(|e| panic!("INFO replication on port {}: {}", s.port, e))
}

/// The value of `name:` in an INFO text.
fn field(info: &str, name: &str) -> Option<String> {
    halab_core::lab::observe::info_field(info, name)
}

fn num(info: &str, name: &str) -> i64 {
    field(info, name).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("no numeric field {} in:\n{}", name, info))
}

/// The field names of an INFO text, in order.
fn field_names(info: &str) -> Vec<String> {
    info.lines()
        .filter(|l| !l.starts_with('#') && l.contains(':'))
        .map(|l| l.split(':').next().unwrap().to_string())
        .collect()
}

/// The last lines of a server's log, for failure messages.
fn log_tail(s: &Server) -> String {
    let log = s.log();
    let lines: Vec<&str> = log.lines().collect();
    let from = lines.len().saturating_sub(40);
    format!("--- log of port {} (last {} lines):\n{}", s.port, lines.len() - from, lines[from..].join("\n"))
}

/// Poll a server's INFO replication until `cond` holds; returns that INFO text.
fn wait_until(s: &Server, timeout: Duration, what: &str, mut cond: impl FnMut(&str) -> bool) -> String {
    poll(timeout, &format!("{} (port {})", what, s.port), || {
        let text = try_info(s, "replication")?;
        if cond(&text) {
            Ok(text)
        } else {
            Err(format!("{}\n{}", text, log_tail(s)))
        }
    })
}

/// Wait until `needle` appears in the server's log after byte `from`; returns that part.
fn wait_log(s: &Server, from: usize, needle: &str) -> String {
    poll(SYNC, &format!("{:?} in the log of port {}", needle, s.port), || {
        let log = s.log();
        let part = log.get(from..).unwrap_or("").to_string();
        if part.contains(needle) {
            Ok(part)
        } else {
            Err(log_tail(s))
        }
    })
}

fn log_len(s: &Server) -> usize {
    s.log().len()
}

fn digest(s: &Server) -> String {
    let mut c = s.client();
    let f = c.call(&["DEBUG", "DIGEST"]);
    frame_text(&f)
        .filter(|d| d.len() == 40)
        .unwrap_or_else(|| panic!("DEBUG DIGEST on port {} replied {:?}", s.port, f))
}

/// Wait until `replica`'s link to `master` is up and it applied everything the master
/// produced (same replid, `slave_repl_offset` = the master's `master_repl_offset`), then check
/// both datasets are the same.
fn wait_synced(master: &Server, replica: &Server) {
    poll(SYNC, &format!("port {} to catch up with master port {}", replica.port, master.port), || {
        let m = try_info(master, "replication")?;
        let r = try_info(replica, "replication")?;
        let done = field(&r, "master_link_status").as_deref() == Some("up")
            && field(&r, "master_port") == Some(master.port.to_string())
            && field(&r, "slave_repl_offset") == field(&m, "master_repl_offset")
            && field(&r, "master_repl_offset") == field(&m, "master_repl_offset")
            && field(&r, "master_replid") == field(&m, "master_replid");
        if done {
            Ok(())
        } else {
            Err(format!("master:\n{}\nreplica:\n{}\n{}\n{}", m, r, log_tail(master), log_tail(replica)))
        }
    });
    let (dm, dr) = (digest(master), digest(replica));
    assert_eq!(
        dm,
        dr,
        "DEBUG DIGEST differs between master {} and replica {} at the same offset\n{}\n{}",
        master.port,
        replica.port,
        log_tail(master),
        log_tail(replica)
    );
}

/// Ask a server to exit without saving and wait for it.
fn shutdown_nosave(s: &mut Server) {
    let mut c = s.client();
    // The connection closes without a reply when the server exits.
    let _ = c.try_call(&["SHUTDOWN", "NOSAVE"]);
    s.wait_exit(Duration::from_secs(15))
        .unwrap_or_else(|| panic!("port {} did not exit after SHUTDOWN NOSAVE\n{}", s.port, log_tail(s)));
}

/// SIGKILL, as a crash would.
fn kill9(s: &mut Server) {
    if let Some(mut c) = s.child.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// SET `n` keys `prefix:<i>` in one pipelined stream, a batch at a time.
fn pipeline_sets(c: &mut Client, prefix: &str, n: usize) {
    let batch = 10_000;
    let mut i = 0;
    while i < n {
        let end = (i + batch).min(n);
        let mut raw = Vec::with_capacity((end - i) * 48);
        for j in i..end {
            let (k, v) = (format!("{prefix}:{j}"), if j % 3 == 0 { j.to_string() } else { format!("value-{j}") });
            raw.extend_from_slice(&Frame::command(["SET", k.as_str(), v.as_str()]));
        }
        c.send_raw(&raw);
        for j in i..end {
            let f = c.read_frame().unwrap();
            assert_eq!(f, simple("OK"), "pipelined SET #{}", j);
        }
        i = end;
    }
}

/// A dataset with every type, small and large encodings, TTLs, several dbs, a transaction and
/// commands the master must rewrite for its replicas (EXPIRE, INCRBYFLOAT, SPOP).
fn write_dataset(c: &mut Client, tag: &str) {
    let k = |s: &str| format!("{tag}:{s}");
    must(c, &["SET", &k("str"), "hello"]);
    must(c, &["SET", &k("num"), "12345"]);
    must(c, &["SET", &k("long"), &"compressible-".repeat(40)]);
    must(c, &["INCRBYFLOAT", &k("float"), "1.5"]);
    must(c, &["INCR", &k("counter")]);
    must(c, &["APPEND", &k("str"), " world"]);
    must(c, &["RPUSH", &k("list"), "a", "b", "1", "2"]);
    let big = |c: &mut Client, cmd: &str, key: String, items: Vec<String>| {
        must_owned(c, &[vec![cmd.to_string(), key], items].concat());
    };
    big(c, "RPUSH", k("biglist"), (0..300).map(|i| format!("element-{i}")).collect());
    must(c, &["LPOP", &k("biglist")]);
    must(c, &["HSET", &k("hash"), "f1", "v1", "f2", "2"]);
    big(c, "HSET", k("bighash"), (0..600).flat_map(|i| [format!("field{i}"), format!("value{i}")]).collect());
    must(c, &["SADD", &k("intset"), "3", "1", "2"]);
    must(c, &["SADD", &k("strset"), "a", "b", "c"]);
    big(c, "SADD", k("bigset"), (0..600).map(|i| i.to_string()).collect());
    must(c, &["SADD", &k("popped"), "a", "b", "c", "d", "e"]);
    must(c, &["SPOP", &k("popped"), "2"]);
    must(c, &["ZADD", &k("zset"), "1", "a", "2.5", "b", "-3", "c"]);
    big(c, "ZADD", k("bigzset"), (0..200).flat_map(|i| [format!("{i}.25"), format!("member{i}")]).collect());
    must(c, &["SET", &k("ttl"), "v", "EX", "1000"]);
    must(c, &["SET", &k("ttl2"), "v"]);
    must(c, &["EXPIRE", &k("ttl2"), "2000"]);
    must(c, &["SET", &k("gone"), "v"]);
    must(c, &["DEL", &k("gone")]);
    must(c, &["MULTI"]);
    must(c, &["SET", &k("tx"), "1"]);
    must(c, &["INCR", &k("tx")]);
    assert_eq!(must(c, &["EXEC"]), arr(vec![simple("OK"), int(2)]));
    must(c, &["SELECT", "3"]);
    must(c, &["SET", &k("in-db3"), "yes"]);
    must(c, &["HSET", &k("hash-db3"), "f", "v"]);
    must(c, &["SELECT", "0"]);
    pipeline_sets(c, &k("bulk"), 1000);
}

/// The type structure of a reply, values left out: `[bulk,int,[[bulk,bulk,bulk]]]`.
fn shape(f: &Frame) -> String {
    match f {
        Frame::Array(items) => format!("[{}]", items.iter().map(shape).collect::<Vec<_>>().join(",")),
        Frame::Bulk(_) => "bulk".into(),
        Frame::Integer(_) => "int".into(),
        Frame::Simple(_) => "simple".into(),
        Frame::Error(_) => "error".into(),
        other => format!("{:?}", other),
    }
}

/// The `key=value` keys of the `slave0:` line.
fn slave0_keys(info: &str) -> Vec<String> {
    field(info, "slave0")
        .unwrap_or_else(|| panic!("no slave0 line in:\n{}", info))
        .split(',')
        .map(|kv| kv.split('=').next().unwrap().to_string())
        .collect()
}

/// A master and one replica, synced, the master making its full syncs on disk.
struct Pair {
    master: Server,
    replica: Server,
    _dirs: (TempDir, TempDir),
}

/// The same check twice, on halab and on redis-server: the expectation is Redis's own.
macro_rules! twins {
    ($on_halab:ident, $on_redis:ident, $check:ident) => {
        #[test]
        fn $on_halab() {
            $check(Flavor::Halab);
        }
        #[test]
        fn $on_redis() {
            $check(Flavor::Redis);
        }
    };
}

fn pair(master: Flavor, replica: Flavor, tag: &str, master_args: &[&str]) -> Pair {
    let (md, rd) = (TempDir::new(&format!("{tag}-m")), TempDir::new(&format!("{tag}-r")));
    let mut margs = vec!["--repl-diskless-sync", "no"];
    margs.extend_from_slice(master_args);
    let m = Server::start_flavor(master, md.path(), &margs);
    let port = m.port.to_string();
    let r = Server::start_flavor(replica, rd.path(), &["--replicaof", "127.0.0.1", &port]);
    wait_synced(&m, &r);
    Pair { master: m, replica: r, _dirs: (md, rd) }
}

// ───────────────────────────── 1. halab → halab ─────────────────────────────

#[test]
fn halab_replica_of_halab_master_copies_data_and_reports_like_redis() {
    require_tool("redis-server");
    let (md, rd) = (TempDir::new("hh-m"), TempDir::new("hh-r"));
    let master = Server::start_in(md.path(), &["--repl-diskless-sync", "no"]);
    let mut mc = master.client();
    // The harness enables DEBUG for local connections: an empty dataset digests to zeros.
    assert_eq!(digest(&master), EMPTY_DIGEST);
    write_dataset(&mut mc, "before");
    assert_ne!(digest(&master), EMPTY_DIGEST);

    let mport = master.port.to_string();
    let replica = Server::start_in(rd.path(), &["--replicaof", "127.0.0.1", &mport]);
    wait_synced(&master, &replica);
    let mut rc = replica.client();
    assert_eq!(rc.call(&["GET", "before:str"]), bulk("hello world"));
    assert_eq!(rc.call(&["DBSIZE"]), mc.call(&["DBSIZE"]));

    // Writes after the sync flow through the stream.
    write_dataset(&mut mc, "after");
    // A key that expires on the master is deleted on the replica by the master's DEL.
    must(&mut mc, &["SET", "short-lived", "v", "PX", "100"]);
    poll(SYNC, "short-lived to expire on the master", || match mc.call(&["EXISTS", "short-lived"]) {
        Frame::Integer(0) => Ok(()),
        other => Err(format!("{:?}", other)),
    });
    wait_synced(&master, &replica);
    assert_eq!(rc.call(&["GET", "after:tx"]), bulk("2"));
    rc.call(&["SELECT", "3"]);
    assert_eq!(rc.call(&["GET", "after:in-db3"]), bulk("yes"));
    rc.call(&["SELECT", "0"]);
    let Frame::Integer(ttl) = rc.call(&["TTL", "after:ttl2"]) else { panic!() };
    assert!((1990..=2000).contains(&ttl), "TTL on the replica: {}", ttl);
    assert_eq!(rc.call(&["EXISTS", "short-lived"]), int(0));

    // A read-only replica refuses writes.
    assert_eq!(rc.call(&["SET", "x", "1"]), err("READONLY You can't write against a read only replica."));

    // The replica acknowledges what it applied; ROLE on both sides says so.
    let m_info = wait_until(&master, SYNC, "the replica's ACK to reach the master offset", |i| {
        field(i, "slave0").is_some_and(|s| s.contains(&format!(",offset={},", num(i, "master_repl_offset"))))
    });
    let offset = num(&m_info, "master_repl_offset");
    let rport = replica.port.to_string();
    match mc.call(&["ROLE"]) {
        Frame::Array(items) => {
            assert_eq!(items[0], bulk("master"));
            assert!(matches!(items[1], Frame::Integer(o) if o >= offset), "ROLE offset {:?} vs {}", items[1], offset);
            let Frame::Array(replicas) = &items[2] else { panic!("ROLE replicas {:?}", items[2]) };
            assert_eq!(replicas.len(), 1);
            let Frame::Array(r) = &replicas[0] else { panic!() };
            assert_eq!(r[..2], [bulk("127.0.0.1"), bulk(&rport)]);
        }
        other => panic!("ROLE on master: {:?}", other),
    }
    match rc.call(&["ROLE"]) {
        Frame::Array(items) => {
            assert_eq!(items[..4], [bulk("slave"), bulk("127.0.0.1"), int(master.port as i64), bulk("connected")]);
            assert!(matches!(items[4], Frame::Integer(o) if o >= offset), "ROLE offset {:?} vs {}", items[4], offset);
        }
        other => panic!("ROLE on replica: {:?}", other),
    }
    let r_info = info(&replica);
    assert_eq!(field(&r_info, "role").as_deref(), Some("slave"));
    assert_eq!(field(&r_info, "master_host").as_deref(), Some("127.0.0.1"));
    assert_eq!(field(&m_info, "connected_slaves").as_deref(), Some("1"));
    assert!(field(&m_info, "slave0").unwrap().starts_with(&format!("ip=127.0.0.1,port={},state=online,", rport)));

    // The same pair made of redis-servers prints the same fields in the same order.
    let (rmd, rrd) = (TempDir::new("rr-m"), TempDir::new("rr-r"));
    let rmaster = Server::start_flavor(Flavor::Redis, rmd.path(), &["--repl-diskless-sync", "no"]);
    let rmport = rmaster.port.to_string();
    let rreplica = Server::start_flavor(Flavor::Redis, rrd.path(), &["--replicaof", "127.0.0.1", &rmport]);
    must(&mut rmaster.client(), &["SET", "k", "v"]);
    wait_synced(&rmaster, &rreplica);
    let rm_info = wait_until(&rmaster, SYNC, "the redis replica to be listed", |i| i.contains("slave0:"));
    let rr_info = info(&rreplica);
    let (m_info, r_info) = (info(&master), info(&replica));
    assert_eq!(
        field_names(&m_info),
        field_names(&rm_info),
        "master INFO replication:\n{}\nredis:\n{}",
        m_info,
        rm_info
    );
    assert_eq!(
        field_names(&r_info),
        field_names(&rr_info),
        "replica INFO replication:\n{}\nredis:\n{}",
        r_info,
        rr_info
    );
    assert_eq!(slave0_keys(&m_info), slave0_keys(&rm_info));
    assert_eq!(shape(&mc.call(&["ROLE"])), shape(&rmaster.client().call(&["ROLE"])));
    assert_eq!(shape(&rc.call(&["ROLE"])), shape(&rreplica.client().call(&["ROLE"])));
    // Asking for the master it already follows changes nothing, on both.
    for (r, port) in [(&replica, &mport), (&rreplica, &rmport)] {
        assert_eq!(
            r.client().call(&["REPLICAOF", "127.0.0.1", port]),
            simple("OK Already connected to specified master"),
            "port {}",
            r.port
        );
    }
    wait_synced(&master, &replica);
    assert_eq!(master.log().matches("Replica 127.0.0.1").count(), 1, "{}", log_tail(&master));
}

/// A replica does not expire keys itself: reads of a logically expired key miss, but the key
/// stays until the master's DEL arrives (Redis 3.2+), so both datasets stay the same.
fn replica_leaves_expiry_to_the_master(flavor: Flavor) {
    require_tool("redis-server");
    let p = pair(flavor, flavor, "expiry", &[]);
    let (mut mc, mut rc) = (p.master.client(), p.replica.client());
    must(&mut mc, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    must(&mut mc, &["SET", "stays", "v"]);
    must(&mut mc, &["SET", "expiring", "v", "PX", "300"]);
    wait_synced(&p.master, &p.replica);
    poll(SYNC, "the key to be logically expired on the replica", || match rc.call(&["GET", "expiring"]) {
        Frame::NullBulk => Ok(()),
        other => Err(format!("GET expiring on the replica: {:?}", other)),
    });
    assert_eq!(rc.call(&["TTL", "expiring"]), int(-2));
    assert_eq!(rc.call(&["DBSIZE"]), int(2), "the replica dropped a key its master still holds");
    assert_eq!(digest(&p.master), digest(&p.replica));
    // The master's lazy expiry deletes it and tells the replica.
    assert_eq!(mc.call(&["EXISTS", "expiring"]), int(0));
    wait_synced(&p.master, &p.replica);
    assert_eq!(rc.call(&["DBSIZE"]), int(1));
}

twins!(
    halab_replica_leaves_expiry_to_the_master,
    redis_replica_leaves_expiry_to_the_master,
    replica_leaves_expiry_to_the_master
);

// ───────────────────────────── 2. redis replica of a halab master ─────────────────────────────

#[test]
fn redis_replica_of_halab_master_resumes_with_a_partial_resync() {
    require_tool("redis-server");
    let (md, rd) = (TempDir::new("hr-m"), TempDir::new("hr-r"));
    let master = Server::start_in(md.path(), &["--repl-diskless-sync", "no"]);
    let mut mc = master.client();
    write_dataset(&mut mc, "before");
    let mport = master.port.to_string();
    let replica = Server::start_flavor(Flavor::Redis, rd.path(), &["--replicaof", "127.0.0.1", &mport]);
    wait_synced(&master, &replica);
    assert!(master.log().contains("Starting BGSAVE for SYNC with target: disk"), "{}", log_tail(&master));
    let rlog = replica.log();
    assert!(rlog.contains("MASTER <-> REPLICA sync: Finished with success"), "{}", log_tail(&replica));

    write_dataset(&mut mc, "streamed");
    wait_synced(&master, &replica);

    // Cut the link from the replica's side; it reconnects and asks to continue.
    let from = log_len(&master);
    let mut rc = replica.client();
    assert_eq!(rc.call(&["CLIENT", "KILL", "TYPE", "master"]), int(1));
    write_dataset(&mut mc, "while-down");
    let part = wait_log(&master, from, "Partial resynchronization request from");
    let line = part.lines().find(|l| l.contains("Partial resynchronization request from")).unwrap();
    assert!(line.contains(&format!("127.0.0.1:{} accepted", replica.port)), "{}", line);
    wait_synced(&master, &replica);
    assert_eq!(
        master.log().matches("Starting BGSAVE for SYNC").count(),
        1,
        "a second full sync happened:\n{}",
        log_tail(&master)
    );
    assert!(replica.log().contains("Successful partial resynchronization with master."), "{}", log_tail(&replica));
}

/// `CLIENT KILL TYPE replica|slave` on a master and `TYPE master` on a replica kill the
/// replication link; the replica resumes with PSYNC.
fn client_kill_by_type(flavor: Flavor) {
    require_tool("redis-server");
    let p = pair(flavor, flavor, "killtype", &[]);
    let (mut mc, mut rc) = (p.master.client(), p.replica.client());
    must(&mut mc, &["SET", "k", "1"]);
    wait_synced(&p.master, &p.replica);
    for (target, args) in [
        (&p.master, ["CLIENT", "KILL", "TYPE", "replica"]),
        (&p.master, ["CLIENT", "KILL", "TYPE", "slave"]),
        (&p.replica, ["CLIENT", "KILL", "TYPE", "master"]),
    ] {
        let from = log_len(&p.replica);
        assert_eq!(target.client().call(&args), int(1), "{:?} on port {}", args, target.port);
        must(&mut mc, &["INCR", "k"]);
        wait_log(&p.replica, from, "Successful partial resynchronization with master.");
        wait_synced(&p.master, &p.replica);
    }
    assert_eq!(rc.call(&["GET", "k"]), bulk("4"));
}

/// `CLIENT LIST TYPE replica|master|normal` tell the replication links from other clients.
fn client_list_by_type(flavor: Flavor) {
    require_tool("redis-server");
    let p = pair(flavor, flavor, "listtype", &[]);
    let (mut mc, mut rc) = (p.master.client(), p.replica.client());
    let listed = frame_text(&mc.call(&["CLIENT", "LIST", "TYPE", "replica"])).unwrap();
    assert_eq!(listed.lines().count(), 1, "CLIENT LIST TYPE replica:\n{}", listed);
    assert!(listed.contains(" flags=S "), "{}", listed);
    let listed = frame_text(&rc.call(&["CLIENT", "LIST", "TYPE", "master"])).unwrap();
    assert_eq!(listed.lines().count(), 1, "CLIENT LIST TYPE master:\n{}", listed);
    assert!(listed.contains(" flags=M "), "{}", listed);
    let normal = frame_text(&mc.call(&["CLIENT", "LIST", "TYPE", "normal"])).unwrap();
    assert!(!normal.contains(" flags=S "), "a replica listed as normal:\n{}", normal);
    let normal = frame_text(&rc.call(&["CLIENT", "LIST", "TYPE", "normal"])).unwrap();
    assert!(!normal.contains(" flags=M "), "the master listed as normal:\n{}", normal);
}

twins!(client_list_by_type_on_halab, client_list_by_type_on_redis, client_list_by_type);

twins!(client_kill_by_type_cuts_the_link_on_halab, client_kill_by_type_cuts_the_link_on_redis, client_kill_by_type);

/// `CLIENT KILL ID` of a replica's connection: the master forgets that replica.
fn client_kill_replica_by_id(flavor: Flavor) {
    require_tool("redis-server");
    let p = pair(flavor, flavor, "killid", &[]);
    let mut mc = p.master.client();
    let listed = frame_text(&mc.call(&["CLIENT", "LIST"])).unwrap();
    let line = listed.lines().find(|l| l.contains(" flags=S ")).unwrap_or_else(|| panic!("{}", listed));
    let id = line.strip_prefix("id=").unwrap().split(' ').next().unwrap().to_string();
    assert_eq!(mc.call(&["CLIENT", "KILL", "ID", &id]), int(1));
    must(&mut mc, &["SET", "after", "kill"]);
    wait_synced(&p.master, &p.replica);
    wait_until(&p.master, Duration::from_secs(5), "exactly one replica listed", |i| {
        field(i, "connected_slaves").as_deref() == Some("1") && !i.contains("slave1:")
    });
    let lost = format!("Connection with replica 127.0.0.1:{} lost.", p.replica.port);
    assert!(p.master.log().contains(&lost), "no {:?} in\n{}", lost, log_tail(&p.master));
}

twins!(
    client_kill_id_of_a_replica_forgets_it_on_halab,
    client_kill_id_of_a_replica_forgets_it_on_redis,
    client_kill_replica_by_id
);

// ───────────────────────────── 3. halab replica of a redis master ─────────────────────────────

#[test]
fn halab_replica_of_redis_master_loads_compact_encodings_and_resumes() {
    require_tool("redis-server");
    let (md, rd) = (TempDir::new("rh-m"), TempDir::new("rh-r"));
    let master = Server::start_flavor(Flavor::Redis, md.path(), &["--repl-diskless-sync", "no"]);
    let mut mc = master.client();
    write_dataset(&mut mc, "before");
    // The dataset holds Redis's compact encodings, which its RDB writes as they are.
    for (key, enc) in [
        ("before:hash", "listpack"),
        ("before:intset", "intset"),
        ("before:zset", "listpack"),
        ("before:list", "quicklist"),
        ("before:strset", "hashtable"),
        ("before:bigset", "hashtable"),
        ("before:biglist", "quicklist"),
        ("before:bighash", "hashtable"),
        ("before:bigzset", "skiplist"),
        ("before:num", "int"),
        ("before:str", "raw"),
        ("before:bulk:1", "embstr"),
    ] {
        assert_eq!(mc.call(&["OBJECT", "ENCODING", key]), bulk(enc), "encoding of {}", key);
    }
    let mport = master.port.to_string();
    let replica = Server::start_in(rd.path(), &["--replicaof", "127.0.0.1", &mport]);
    wait_synced(&master, &replica);
    let mut rc = replica.client();
    assert_eq!(rc.call(&["HGETALL", "before:hash"]), mc.call(&["HGETALL", "before:hash"]));
    assert_eq!(rc.call(&["SMEMBERS", "before:intset"]), mc.call(&["SMEMBERS", "before:intset"]));
    assert_eq!(
        rc.call(&["ZRANGE", "before:zset", "0", "-1", "WITHSCORES"]),
        mc.call(&["ZRANGE", "before:zset", "0", "-1", "WITHSCORES"])
    );
    assert_eq!(rc.call(&["LRANGE", "before:biglist", "0", "-1"]), mc.call(&["LRANGE", "before:biglist", "0", "-1"]));
    let Frame::Integer(ttl) = rc.call(&["TTL", "before:ttl"]) else { panic!() };
    assert!((990..=1000).contains(&ttl), "TTL on the replica: {}", ttl);

    write_dataset(&mut mc, "streamed");
    wait_synced(&master, &replica);

    // Cut the link on the master's side: the halab replica continues where it was.
    let (from_m, from_r) = (log_len(&master), log_len(&replica));
    assert_eq!(mc.call(&["CLIENT", "KILL", "TYPE", "replica"]), int(1));
    write_dataset(&mut mc, "after-cut");
    let part = wait_log(&replica, from_r, "Successful partial resynchronization with master.");
    assert!(part.contains("# Connection with master lost."), "{}", part);
    assert!(part.contains("Trying a partial resynchronization (request "), "{}", part);
    wait_log(&master, from_m, "Partial resynchronization request from");
    wait_synced(&master, &replica);
    assert_eq!(master.log().matches("Starting BGSAVE for SYNC").count(), 1, "{}", log_tail(&master));
}

// ───────────────────────────── 4. diskless ─────────────────────────────

#[test]
fn diskless_full_sync_to_halab_and_redis_replicas() {
    require_tool("redis-server");
    let (md, hd, rd) = (TempDir::new("dl-m"), TempDir::new("dl-h"), TempDir::new("dl-r"));
    let master = Server::start_in(md.path(), &["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"]);
    let mut mc = master.client();
    write_dataset(&mut mc, "before");
    let mport = master.port.to_string();
    let hreplica = Server::start_in(hd.path(), &["--replicaof", "127.0.0.1", &mport]);
    wait_synced(&master, &hreplica);

    // Writes that happen while the next replica's snapshot is made and sent follow it.
    let port = master.port;
    let writer = std::thread::spawn(move || {
        let mut c = Client::connect(port).unwrap();
        for _ in 0..3000 {
            let f = c.call(&["INCR", "during-sync"]);
            assert!(matches!(f, Frame::Integer(_)), "INCR replied {:?}", f);
        }
    });
    let rreplica = Server::start_flavor(Flavor::Redis, rd.path(), &["--replicaof", "127.0.0.1", &mport]);
    writer.join().unwrap();
    wait_synced(&master, &rreplica);
    wait_synced(&master, &hreplica);
    assert_eq!(rreplica.client().call(&["GET", "during-sync"]), bulk("3000"));
    assert_eq!(hreplica.client().call(&["GET", "during-sync"]), bulk("3000"));

    let mlog = master.log();
    assert!(mlog.contains("Starting BGSAVE for SYNC with target: replicas sockets"), "{}", log_tail(&master));
    assert!(!mlog.contains("target: disk"), "{}", log_tail(&master));
    assert!(!md.path().join("dump.rdb").exists(), "a diskless master wrote dump.rdb");
    for r in [&hreplica, &rreplica] {
        assert!(
            r.log().contains("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF"),
            "{}",
            log_tail(r)
        );
    }
    write_dataset(&mut mc, "after");
    wait_synced(&master, &hreplica);
    wait_synced(&master, &rreplica);
}

#[test]
fn halab_replica_of_a_diskless_redis_master() {
    require_tool("redis-server");
    let (md, rd) = (TempDir::new("dlr-m"), TempDir::new("dlr-r"));
    let master = Server::start_flavor(
        Flavor::Redis,
        md.path(),
        &["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"],
    );
    let mut mc = master.client();
    write_dataset(&mut mc, "before");
    let mport = master.port.to_string();
    let replica = Server::start_in(rd.path(), &["--replicaof", "127.0.0.1", &mport]);
    wait_synced(&master, &replica);
    assert!(master.log().contains("Starting BGSAVE for SYNC with target: replicas sockets"), "{}", log_tail(&master));
    assert!(
        replica.log().contains("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF"),
        "{}",
        log_tail(&replica)
    );
    write_dataset(&mut mc, "after");
    wait_synced(&master, &replica);
}

// ───────────────────────────── 5. master killed mid-sync ─────────────────────────────

#[test]
fn replicas_recover_when_the_master_is_killed_mid_sync() {
    require_tool("redis-server");
    let (md, hd, rd) = (TempDir::new("kill-m"), TempDir::new("kill-h"), TempDir::new("kill-r"));
    let margs = ["--repl-diskless-sync", "no"];
    let mut master = Server::start_in(md.path(), &margs);
    let mut mc = master.client();
    pipeline_sets(&mut mc, "key", 200_000);
    write_dataset(&mut mc, "small");
    let mport = master.port.to_string();
    let hreplica = Server::start_in(hd.path(), &["--replicaof", "127.0.0.1", &mport]);
    let rreplica = Server::start_flavor(Flavor::Redis, rd.path(), &["--replicaof", "127.0.0.1", &mport]);
    // Both replicas asked for a sync: kill the master now.
    wait_until(&master, SYNC, "both replicas to ask for a sync", |i| i.contains("slave1:"));
    kill9(&mut master);
    drop(mc);
    let (from_h, from_r) = (log_len(&hreplica), log_len(&rreplica));
    for (r, from) in [(&hreplica, from_h), (&rreplica, from_r)] {
        wait_until(r, SYNC, "the link to be down", |i| field(i, "master_link_status").as_deref() == Some("down"));
        wait_log(r, from, "Error condition on socket for SYNC: Connection refused");
        assert_eq!(field(&info(r), "master_link_status").as_deref(), Some("down"));
    }
    // A replica waiting to reconnect prints the fields redis-server prints in that state.
    let (hi, ri) = (info(&hreplica), info(&rreplica));
    assert_eq!(field_names(&hi), field_names(&ri), "halab:\n{}\nredis:\n{}", hi, ri);

    // A master comes back on the same port with the same dir (and whatever dump.rdb it left).
    let master = Server::start_flavor_on(Flavor::Halab, md.path(), master.port, &margs);
    let mut mc = master.client();
    write_dataset(&mut mc, "after-restart");
    wait_synced(&master, &hreplica);
    wait_synced(&master, &rreplica);
    let size = mc.call(&["DBSIZE"]);
    assert_eq!(hreplica.client().call(&["DBSIZE"]), size);
    assert_eq!(rreplica.client().call(&["DBSIZE"]), size);
}

// ───────────────────────────── 6. replica restart ─────────────────────────────

/// A replica saved, stopped and restarted from its dump.rdb continues with a partial resync.
fn replica_restart(master_flavor: Flavor, replica_flavor: Flavor) {
    require_tool("redis-server");
    let (md, rd) = (TempDir::new("rs-m"), TempDir::new("rs-r"));
    let master = Server::start_flavor(master_flavor, md.path(), &["--repl-diskless-sync", "no"]);
    let mut mc = master.client();
    write_dataset(&mut mc, "before");
    let mport = master.port.to_string();
    let replica_args = ["--replicaof", "127.0.0.1", &mport];
    let mut replica = Server::start_flavor(replica_flavor, rd.path(), &replica_args);
    wait_synced(&master, &replica);
    assert_eq!(replica.client().call(&["SAVE"]), simple("OK"));
    shutdown_nosave(&mut replica);
    // What the replica misses while it is down.
    write_dataset(&mut mc, "missed");
    must(&mut mc, &["SET", "missed-key", "here"]);

    let from = log_len(&replica);
    let replica = Server::start_flavor_on(replica_flavor, rd.path(), replica.port, &replica_args);
    let part = wait_log(&replica, from, "Successful partial resynchronization with master.");
    assert!(!part.contains("Full resync from master"), "{}", part);
    wait_synced(&master, &replica);
    assert_eq!(replica.client().call(&["GET", "missed-key"]), bulk("here"));
    assert_eq!(master.log().matches("Starting BGSAVE for SYNC").count(), 1, "{}", log_tail(&master));
}

#[test]
fn restarted_halab_replica_resumes_from_its_rdb() {
    replica_restart(Flavor::Halab, Flavor::Halab);
}

#[test]
fn restarted_halab_replica_resumes_from_its_rdb_with_a_redis_master() {
    replica_restart(Flavor::Redis, Flavor::Halab);
}

#[test]
fn restarted_redis_replica_resumes_from_its_rdb() {
    replica_restart(Flavor::Redis, Flavor::Redis);
}

/// A replica that comes back after the master wrote more than its backlog holds gets a full
/// resync instead.
fn replica_restart_beyond_backlog(flavor: Flavor) {
    require_tool("redis-server");
    let (md, rd) = (TempDir::new("bl-m"), TempDir::new("bl-r"));
    let master =
        Server::start_flavor(flavor, md.path(), &["--repl-diskless-sync", "no", "--repl-backlog-size", "16384"]);
    let mut mc = master.client();
    write_dataset(&mut mc, "before");
    let mport = master.port.to_string();
    let replica_args = ["--replicaof", "127.0.0.1", &mport];
    let mut replica = Server::start_flavor(flavor, rd.path(), &replica_args);
    wait_synced(&master, &replica);
    let saved = num(&info(&replica), "slave_repl_offset");
    assert_eq!(replica.client().call(&["SAVE"]), simple("OK"));
    shutdown_nosave(&mut replica);
    // Far more than the 16 kB backlog: the byte after the saved offset is gone.
    pipeline_sets(&mut mc, "overflow", 5000);
    let m_info = info(&master);
    assert!(num(&m_info, "repl_backlog_first_byte_offset") > saved + 1, "saved offset {}:\n{}", saved, m_info);

    let (from_m, from_r) = (log_len(&master), log_len(&replica));
    let replica = Server::start_flavor_on(flavor, rd.path(), replica.port, &replica_args);
    let part = wait_log(&replica, from_r, "Full resync from master");
    assert!(part.contains("Trying a partial resynchronization (request "), "{}", part);
    let part = wait_log(&master, from_m, "for lack of backlog");
    assert!(
        part.contains(&format!("Unable to partial resync with replica 127.0.0.1:{} for lack of backlog", replica.port)),
        "{}",
        part
    );
    wait_synced(&master, &replica);
    assert_eq!(master.log().matches("Starting BGSAVE for SYNC").count(), 2, "{}", log_tail(&master));
}

twins!(
    halab_replica_beyond_the_backlog_gets_a_full_resync,
    redis_replica_beyond_the_backlog_gets_a_full_resync,
    replica_restart_beyond_backlog
);

// ───────────────────────────── 7. chained replication ─────────────────────────────

fn chained(flavor: Flavor) {
    require_tool("redis-server");
    let dirs = [TempDir::new("chain-a"), TempDir::new("chain-b"), TempDir::new("chain-c")];
    let a = Server::start_flavor(flavor, dirs[0].path(), &["--repl-diskless-sync", "no"]);
    let mut ac = a.client();
    write_dataset(&mut ac, "before");
    let aport = a.port.to_string();
    let b = Server::start_flavor(
        flavor,
        dirs[1].path(),
        &["--repl-diskless-sync", "no", "--replicaof", "127.0.0.1", &aport],
    );
    wait_synced(&a, &b);
    let bport = b.port.to_string();
    let c = Server::start_flavor(flavor, dirs[2].path(), &["--replicaof", "127.0.0.1", &bport]);
    wait_synced(&b, &c);

    must(&mut ac, &["SET", "through", "the chain"]);
    write_dataset(&mut ac, "after");
    // C sees A's stream byte for byte: same id, same offset.
    poll(SYNC, "C to reach A's offset", || {
        let (ai, ci) = (try_info(&a, "replication")?, try_info(&c, "replication")?);
        if field(&ci, "master_replid") == field(&ai, "master_replid")
            && field(&ci, "slave_repl_offset") == field(&ai, "master_repl_offset")
        {
            Ok(())
        } else {
            Err(format!("A:\n{}\nC:\n{}\n{}", ai, ci, log_tail(&c)))
        }
    });
    assert_eq!(c.client().call(&["GET", "through"]), bulk("the chain"));
    assert_eq!(digest(&a), digest(&c));
    wait_synced(&a, &b);
    wait_synced(&b, &c);
}

twins!(chained_replicas_on_halab, chained_replicas_on_redis, chained);

// ───────────────────────────── 8. promotion ─────────────────────────────

fn promotion(flavor: Flavor) {
    require_tool("redis-server");
    let dirs = [TempDir::new("promo-a"), TempDir::new("promo-b"), TempDir::new("promo-c")];
    let mut a = Server::start_flavor(flavor, dirs[0].path(), &["--repl-diskless-sync", "no"]);
    let mut ac = a.client();
    write_dataset(&mut ac, "before");
    let aport = a.port.to_string();
    let b = Server::start_flavor(
        flavor,
        dirs[1].path(),
        &["--repl-diskless-sync", "no", "--replicaof", "127.0.0.1", &aport],
    );
    let c = Server::start_flavor(flavor, dirs[2].path(), &["--replicaof", "127.0.0.1", &aport]);
    wait_synced(&a, &b);
    wait_synced(&a, &c);
    must(&mut ac, &["SET", "last-from-a", "1"]);
    wait_synced(&a, &b);
    wait_synced(&a, &c);

    // A fails. Once B and C hold the same stream prefix (A's periodic PING cannot slip in
    // between any more), B is promoted.
    kill9(&mut a);
    let (old_id, old_offset) = poll(SYNC, "B and C to stop at the same offset", || {
        let (bi, ci) = (try_info(&b, "replication")?, try_info(&c, "replication")?);
        let down = |i: &str| field(i, "master_link_status").as_deref() == Some("down");
        if down(&bi) && down(&ci) && field(&bi, "slave_repl_offset") == field(&ci, "slave_repl_offset") {
            Ok((field(&bi, "master_replid").unwrap(), num(&bi, "slave_repl_offset")))
        } else {
            Err(format!("B:\n{}\nC:\n{}", bi, ci))
        }
    });

    let mut bc = b.client();
    assert_eq!(bc.call(&["SLAVEOF", "NO", "ONE"]), simple("OK"));
    let b_info = info(&b);
    assert_eq!(field(&b_info, "role").as_deref(), Some("master"), "{}", b_info);
    assert_eq!(field(&b_info, "master_replid2"), Some(old_id.clone()), "{}", b_info);
    assert_eq!(num(&b_info, "second_repl_offset"), old_offset + 1, "{}", b_info);
    assert_eq!(num(&b_info, "master_repl_offset"), old_offset, "{}", b_info);
    let new_id = field(&b_info, "master_replid").unwrap();
    assert_ne!(new_id, old_id);
    must(&mut bc, &["SET", "written-on-b", "yes"]);

    // C follows B and continues its stream: B knows A's history under its second id.
    let from = log_len(&c);
    let bport = b.port.to_string();
    assert_eq!(c.client().call(&["REPLICAOF", "127.0.0.1", &bport]), simple("OK"));
    let part = wait_log(&c, from, "Successful partial resynchronization with master.");
    assert!(!part.contains("Full resync from master"), "{}", part);
    wait_synced(&b, &c);
    assert_eq!(field(&info(&c), "master_replid"), Some(new_id));
    assert_eq!(c.client().call(&["GET", "written-on-b"]), bulk("yes"));
    assert!(b.log().contains("Partial resynchronization request from"), "{}", log_tail(&b));
}

twins!(promoted_halab_replica_keeps_the_old_history, promoted_redis_replica_keeps_the_old_history, promotion);

// ───────────────────────────── 9. WAIT and min-replicas ─────────────────────────────

fn wait_and_min_replicas(flavor: Flavor) {
    require_tool("redis-server");
    let p = pair(flavor, flavor, "wait", &[]);
    let mut mc = p.master.client();
    must(&mut mc, &["SET", "k", "v"]);
    assert_eq!(mc.call(&["WAIT", "1", "1000"]), int(1));
    let started = Instant::now();
    assert_eq!(mc.call(&["WAIT", "2", "300"]), int(1));
    assert!(started.elapsed() >= Duration::from_millis(250), "WAIT 2 300 returned after {:?}", started.elapsed());

    assert_eq!(mc.call(&["CONFIG", "SET", "min-replicas-to-write", "2"]), simple("OK"));
    assert_eq!(mc.call(&["SET", "k", "refused"]), err("NOREPLICAS Not enough good replicas to write."));
    assert_eq!(mc.call(&["GET", "k"]), bulk("v"));
    assert_eq!(field(&info(&p.master), "min_slaves_good_slaves").as_deref(), Some("1"));
    assert_eq!(mc.call(&["CONFIG", "SET", "min-replicas-to-write", "1"]), simple("OK"));
    assert_eq!(mc.call(&["SET", "k", "accepted"]), simple("OK"));
    assert_eq!(mc.call(&["WAIT", "1", "1000"]), int(1));
    assert_eq!(p.replica.client().call(&["GET", "k"]), bulk("accepted"));
    assert_eq!(
        p.replica.client().call(&["WAIT", "1", "100"]),
        err("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.")
    );
}

twins!(wait_and_min_replicas_on_halab, wait_and_min_replicas_on_redis, wait_and_min_replicas);

// ───────────────────────────── 10. masterauth ─────────────────────────────

fn wrong_masterauth(flavor: Flavor) {
    require_tool("redis-server");
    let (md, rd) = (TempDir::new("auth-m"), TempDir::new("auth-r"));
    let master = Server::start_flavor(flavor, md.path(), &["--repl-diskless-sync", "no"]);
    let mut mc = master.client();
    must(&mut mc, &["SET", "k", "v"]);
    // Set after start: the harness's readiness PING has no password.
    assert_eq!(mc.call(&["CONFIG", "SET", "requirepass", "secret"]), simple("OK"));
    let mport = master.port.to_string();
    let replica =
        Server::start_flavor(flavor, rd.path(), &["--masterauth", "wrong", "--replicaof", "127.0.0.1", &mport]);
    let log = wait_log(&replica, 0, "Unable to AUTH to MASTER");
    let line = log.lines().find(|l| l.contains("Unable to AUTH to MASTER")).unwrap();
    assert!(
        line.ends_with(" # Unable to AUTH to MASTER: -WRONGPASS invalid username-password pair or user is disabled."),
        "{}",
        line
    );
    assert_eq!(field(&info(&replica), "master_link_status").as_deref(), Some("down"));

    assert_eq!(replica.client().call(&["CONFIG", "SET", "masterauth", "secret"]), simple("OK"));
    wait_until(&replica, SYNC, "the link to come up", |i| field(i, "master_link_status").as_deref() == Some("up"));
    poll(SYNC, "the replica to catch up", || {
        let m = info_via(&mut mc, "replication")?;
        let r = try_info(&replica, "replication")?;
        if field(&r, "slave_repl_offset") == field(&m, "master_repl_offset") {
            Ok(())
        } else {
            Err(format!("{}\n{}", m, r))
        }
    });
    assert_eq!(replica.client().call(&["GET", "k"]), bulk("v"));
}

twins!(wrong_masterauth_then_right_one_on_halab, wrong_masterauth_then_right_one_on_redis, wrong_masterauth);
