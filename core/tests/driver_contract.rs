//! The driver contract, as the simulator and a bare driver use it: start-up through
//! `Input::Start` / `Input::Ready` (the same lines as a real process, a load error surfaced),
//! CONFIG REWRITE answered through `Input::ConfigRewritten` within the same pump, and log lines
//! with the role letter of the node that writes them.

mod support;
use halab_core::lab::sim::{Fault, TraceKind, World, WorldInput};
use halab_core::log::LogLine;
use halab_core::node::shutdown::Signal;
use halab_core::node::{Input, ListenFailure, Node, Output, StartUp, StoredRdb};
use halab_core::resp::Frame;
use support::sim::role_and_message;

/// (role letter, message) of each log line a simulated node wrote, in order.
fn sim_log(w: &World, node: &str) -> Vec<(char, String)> {
    w.trace()
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Log { node: n, line } if n == node => Some(role_and_message(line)),
            _ => None,
        })
        .collect()
}

fn render(log: &[(char, String)]) -> String {
    log.iter().map(|(r, m)| format!("{} {}\n", r, m)).collect()
}

fn world_with_node(config: &str) -> World {
    let mut w = World::new(7);
    w.apply(WorldInput::AddNode { name: "m".into(), addr: "127.0.0.1:6379".into(), config: config.into() });
    w.apply(WorldInput::AddClient { name: "cli".into(), node: "m".into() });
    w
}

#[test]
fn a_simulated_node_starts_with_the_lines_a_redis_process_logs_in_their_order() {
    let w = world_with_node("");
    let log = sim_log(&w, "m");
    let expected: Vec<(char, String)> = vec![
        ('C', "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo".into()),
        ('C', format!("Redis version=7.0.15, bits=64, commit=00000000, modified=0, pid={}, just started", 1001)),
        ('C', "Configuration loaded".into()),
        ('M', "monotonic clock: POSIX clock_gettime".into()),
        ('M', "Running mode=standalone, port=6379.".into()),
        ('M', "Server initialized".into()),
        ('M', "Ready to accept connections".into()),
    ];
    assert_eq!(log, expected, "start-up log:\n{}", render(&log));
}

#[test]
fn a_restart_loads_the_saved_dataset_and_says_how_long_it_took() {
    let mut w = world_with_node("");
    assert_eq!(w.command("cli", &["SET", "keyone", "lisuo"]), Some(Frame::Simple("OK".into())));
    assert_eq!(w.command("cli", &["SAVE"]), Some(Frame::Simple("OK".into())));
    w.apply(WorldInput::Fault(Fault::Kill { node: "m".into() }));
    let before = sim_log(&w, "m").len();
    w.apply(WorldInput::Fault(Fault::Restart { node: "m".into() }));
    let log = sim_log(&w, "m");
    let restart: Vec<&str> = log[before..].iter().map(|(_, m)| m.as_str()).collect();
    let at = |m: &str| {
        restart
            .iter()
            .position(|l| l.starts_with(m))
            .unwrap_or_else(|| panic!("no {:?} in:\n{}", m, render(&log[before..])))
    };
    assert!(at("Server initialized") < at("Loading RDB produced by version 7.0.15"), "{}", render(&log[before..]));
    assert_eq!(restart[at("Done loading RDB")], "Done loading RDB, keys loaded: 1, keys expired: 0.");
    // The simulator starts a node in no virtual time: the load took 0 ms.
    assert_eq!(restart[at("DB loaded from disk")], "DB loaded from disk: 0.000 seconds");
    assert_eq!(at("DB loaded from disk") + 1, at("Ready to accept connections"), "{}", render(&log[before..]));
}

#[test]
fn a_corrupt_dump_rdb_stops_the_simulated_node_as_it_stops_the_process() {
    let mut w = world_with_node("");
    w.command("cli", &["SET", "keyone", "lisuo"]);
    assert_eq!(w.command("cli", &["SAVE"]), Some(Frame::Simple("OK".into())));
    w.apply(WorldInput::Fault(Fault::Kill { node: "m".into() }));
    w.apply(WorldInput::Fault(Fault::CorruptRdb { node: "m".into() }));
    w.apply(WorldInput::Fault(Fault::Restart { node: "m".into() }));
    let log = sim_log(&w, "m");
    let (role, last) = log.last().expect("the node logged");
    assert_eq!(
        (*role, last.as_str()),
        ('M', "Fatal error loading the DB: Wrong RDB checksum. Exiting."),
        "log:\n{}",
        render(&log)
    );
    assert!(!log.iter().rev().take(3).any(|(_, m)| m == "Ready to accept connections"), "{}", render(&log));
    assert!(w.node("m").is_none(), "a node that cannot load its dump.rdb is down");
    let downs = w.trace().iter().filter(|e| matches!(&e.kind, TraceKind::NodeDown { node } if node == "m")).count();
    assert_eq!(downs, 2, "the kill, then the failed start-up");
}

#[test]
fn config_rewrite_answers_within_the_same_pump_and_a_restart_reads_the_file() {
    let mut w = world_with_node("maxmemory-policy noeviction\n");
    let t0 = w.now();
    assert_eq!(w.command("cli", &["PING"]), Some(Frame::Simple("PONG".into())));
    let ping_rtt = w.now() - t0;
    assert_eq!(
        w.command("cli", &["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]),
        Some(Frame::Simple("OK".into()))
    );
    let t1 = w.now();
    assert_eq!(w.command("cli", &["CONFIG", "REWRITE"]), Some(Frame::Simple("OK".into())));
    // Before the fix the reply waited in the node's queue for its next event (a cron tick).
    assert_eq!(w.now() - t1, ping_rtt, "CONFIG REWRITE's reply takes one round trip, as PING's");
    let log = sim_log(&w, "m");
    assert_eq!(log.last().map(|(_, m)| m.as_str()), Some("CONFIG REWRITE executed with success."), "{}", render(&log));
    w.apply(WorldInput::Fault(Fault::Kill { node: "m".into() }));
    w.apply(WorldInput::Fault(Fault::Restart { node: "m".into() }));
    w.apply(WorldInput::AddClient { name: "cli2".into(), node: "m".into() });
    assert_eq!(
        w.command("cli2", &["CONFIG", "GET", "maxmemory-policy"]),
        Some(Frame::Array(vec![Frame::Bulk("maxmemory-policy".into()), Frame::Bulk("allkeys-lru".into())])),
        "the restarted node reads the rewritten file"
    );
}

/// A node driven by hand, as a driver with no network would (the harness's test node).
fn bare_node(config_text: &str) -> Node {
    support::test_node(1, config_text)
}

fn drain(node: &mut Node) -> (Vec<LogLine>, Vec<Output>) {
    let mut logs = Vec::new();
    let mut other = Vec::new();
    while let Some(out) = node.poll() {
        match out {
            Output::Log(l) => logs.push(l),
            o => other.push(o),
        }
    }
    (logs, other)
}

#[test]
fn a_failed_listen_logs_redis_lines_and_exits_with_1() {
    let mut node = bare_node("port 6390\n");
    let t = node.now_ms();
    let failure = ListenFailure::Tcp { addr: "127.0.0.1:6390".into(), error: "Address already in use".into() };
    node.handle(t, Input::Start(StartUp { listen: Err(failure), rdb: StoredRdb::Absent }));
    let (logs, other) = drain(&mut node);
    let lines: Vec<(char, &str)> = logs.iter().map(|l| (l.role, l.message.as_str())).collect();
    assert_eq!(
        &lines[2..],
        &[
            ('C', "Warning: no config file specified, using the default config. In order to specify a config file use halab server /path/to/redis.conf"),
            ('M', "monotonic clock: POSIX clock_gettime"),
            ('M', "Warning: Could not create server TCP listening socket 127.0.0.1:6390: bind: Address already in use"),
            ('M', "Failed listening on port 6390 (TCP), aborting."),
        ],
        "{:#?}",
        lines
    );
    assert!(matches!(other.as_slice(), [Output::Exit { code: 1 }]), "{:?}", other);
    assert_eq!(node.poll_timeout(), None, "a node that did not start asks for no timer");
}

#[test]
fn an_unreadable_dump_rdb_is_fatal_with_the_replica_s_role_letter() {
    let mut node = bare_node("replicaof 127.0.0.1 6379\n");
    let t = node.now_ms();
    node.handle(t, Input::Start(StartUp { listen: Ok(1), rdb: StoredRdb::Unreadable("Permission denied") }));
    let (logs, other) = drain(&mut node);
    let last = logs.last().expect("logged");
    assert_eq!((last.role, last.message.as_str()), ('S', "Fatal error loading the DB: Permission denied. Exiting."));
    assert!(matches!(other.as_slice(), [Output::Exit { code: 1 }]), "{:?}", other);
}

#[test]
fn sigterm_is_logged_with_the_role_of_the_node() {
    for (config, role) in [("", 'M'), ("replicaof 127.0.0.1 6379\n", 'S')] {
        let mut node = bare_node(config);
        let t = node.now_ms();
        node.handle(t, Input::Start(StartUp { listen: Ok(1), rdb: StoredRdb::Absent }));
        node.handle(t, Input::Ready);
        drain(&mut node);
        node.handle(t + 1, Input::Signal(Signal::Term));
        let (logs, _) = drain(&mut node);
        let lines: Vec<(char, &str)> = logs.iter().map(|l| (l.role, l.message.as_str())).collect();
        assert_eq!(lines, vec![(role, "Received SIGTERM scheduling shutdown...")], "config {:?}", config);
    }
}

#[test]
fn process_statistics_reach_info_without_any_output() {
    let mut node = bare_node("");
    let t = node.now_ms();
    node.handle(t, Input::Start(StartUp { listen: Ok(1), rdb: StoredRdb::Absent }));
    node.handle(t, Input::Ready);
    drain(&mut node);
    let stats =
        halab_core::node::ProcessStats { os: "Linux 6.1 x86_64".into(), rss_bytes: 12_345_678, ..Default::default() };
    node.handle(t + 5, Input::ProcessStats(stats));
    assert!(node.poll().is_none(), "process statistics are bookkeeping: no output");
    let info = node.info(&["server", "memory"]);
    assert!(info.contains("\r\nos:Linux 6.1 x86_64\r\n"), "{}", info);
    assert!(info.contains("\r\nused_memory_rss:12345678\r\n"), "{}", info);
}
