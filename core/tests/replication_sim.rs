//! Replication in the simulator: the real node code, master and replicas on a virtual network.
//! Every scenario is deterministic; the last test runs one twice and compares the traces.

mod support;
use halab_core::lab::sim::{Endpoint, Fault, World, WorldInput};
use halab_core::resp::Frame;
use support::sim::{add_client, add_node, cmd, count_log, expect_log, expect_no_log, has_log, logs, on};

fn info_field(w: &mut World, node: &str, field: &str) -> String {
    let words = ["INFO", "replication"];
    let Some(Frame::Bulk(text)) = w.command(&format!("cli-{}", node), &words) else { panic!("no INFO") };
    let text = String::from_utf8_lossy(&text).into_owned();
    halab_core::lab::observe::info_field(&text, field).unwrap_or_else(|| panic!("no {} in {}", field, text))
}

fn n(name: &str) -> Endpoint {
    Endpoint::Node(name.into())
}

/// Master with data, a replica attached with REPLICAOF: a full sync, then the stream.
fn pair(seed: u64, replica_conf: &str) -> World {
    let mut w = World::new(seed);
    add_node(&mut w, "m", "127.0.0.1:6379", "repl-diskless-sync no\n");
    add_node(&mut w, "r", "127.0.0.1:6380", &format!("port 6380\n{}", replica_conf));
    cmd(&mut w, "m", "SET k1 v1");
    cmd(&mut w, "m", "RPUSH list a b c");
    assert_eq!(cmd(&mut w, "r", "REPLICAOF 127.0.0.1 6379"), "OK");
    w.advance(2000);
    w
}

#[test]
fn a_replica_full_syncs_then_follows_the_stream() {
    let mut w = pair(1, "");
    assert_eq!(info_field(&mut w, "r", "master_link_status"), "up");
    assert_eq!(cmd(&mut w, "r", "GET k1"), "\"v1\"");
    cmd(&mut w, "m", "SET k2 v2");
    cmd(&mut w, "m", "EXPIRE k2 100");
    cmd(&mut w, "m", "INCRBYFLOAT f 1.5");
    w.advance(1100);
    assert_eq!(cmd(&mut w, "r", "GET k2"), "\"v2\"");
    assert_eq!(cmd(&mut w, "r", "GET f"), "\"1.5\"");
    assert!(cmd(&mut w, "r", "PTTL k2").starts_with("(integer) 9"));
    // Offsets agree, and the master sees the replica's ACK.
    let offset = info_field(&mut w, "m", "master_repl_offset");
    assert_eq!(info_field(&mut w, "r", "slave_repl_offset"), offset);
    assert_eq!(
        info_field(&mut w, "m", "slave0"),
        format!("ip=127.0.0.1,port=6380,state=online,offset={},lag=0", offset)
    );
    assert_eq!(info_field(&mut w, "m", "master_replid"), info_field(&mut w, "r", "master_replid"));
    assert_eq!(cmd(&mut w, "r", "SET x 1"), "(error) READONLY You can't write against a read only replica.");
    assert_eq!(
        cmd(&mut w, "r", "ROLE"),
        format!("1) \"slave\"\n2) \"127.0.0.1\"\n3) (integer) 6379\n4) \"connected\"\n5) (integer) {}", offset)
    );
    for line in [
        "Connecting to MASTER 127.0.0.1:6379",
        "MASTER <-> REPLICA sync started",
        "Master replied to PING, replication can continue...",
        "Full resync from master: ",
        "MASTER <-> REPLICA sync: receiving ",
        "MASTER <-> REPLICA sync: Flushing old data",
        "MASTER <-> REPLICA sync: Loading DB in memory",
        "MASTER <-> REPLICA sync: Finished with success",
    ] {
        assert!(has_log(&w, "r", line), "replica log lacks {:?}", line);
    }
    for line in [
        "Replica 127.0.0.1:6380 asks for synchronization",
        "Starting BGSAVE for SYNC with target: disk",
        "Synchronization with replica 127.0.0.1:6380 succeeded",
    ] {
        assert!(has_log(&w, "m", line), "master log lacks {:?}", line);
    }
    assert!(logs(&w, "r").iter().any(|l| l.contains(":S ") && l.contains("Finished with success")));
    // A replica with replica-read-only no accepts local writes.
    assert_eq!(cmd(&mut w, "r", "CONFIG SET replica-read-only no"), "OK");
    assert_eq!(cmd(&mut w, "r", "SET local 1"), "OK");
}

#[test]
fn a_short_cut_resumes_with_continue_a_long_one_overflows_the_backlog() {
    let mut w = pair(2, "repl-timeout 3\n");
    cmd(&mut w, "m", "CONFIG SET repl-timeout 3");
    cmd(&mut w, "m", "CONFIG SET repl-backlog-size 16384");
    // Short cut: the replica times out, reconnects after the heal and continues.
    w.apply(WorldInput::Fault(Fault::Cut { from: n("m"), to: n("r"), one_way: false }));
    w.advance(5000);
    cmd(&mut w, "m", "SET during-cut 1");
    assert_eq!(info_field(&mut w, "r", "master_link_status"), "down");
    w.apply(WorldInput::Fault(Fault::Heal { a: n("m"), b: n("r") }));
    w.advance(3000);
    assert_eq!(info_field(&mut w, "r", "master_link_status"), "up");
    expect_log(&w, "r", "Successful partial resynchronization with master.");
    expect_log(&w, "m", "Partial resynchronization request from 127.0.0.1:6380 accepted.");
    assert_eq!(cmd(&mut w, "r", "GET during-cut"), "\"1\"");
    assert_eq!(count_log(&w, "m", "Starting BGSAVE for SYNC"), 1);
    // Long cut: more writes than the backlog holds: a full resync.
    w.apply(WorldInput::Fault(Fault::Cut { from: n("m"), to: n("r"), one_way: false }));
    w.advance(5000);
    let big = "x".repeat(1000);
    for i in 0..40 {
        cmd(&mut w, "m", &format!("SET big{} {}", i, big));
    }
    w.apply(WorldInput::Fault(Fault::Heal { a: n("m"), b: n("r") }));
    w.advance(3000);
    assert_eq!(info_field(&mut w, "r", "master_link_status"), "up");
    expect_log(&w, "m", "for lack of backlog");
    assert_eq!(count_log(&w, "m", "Starting BGSAVE for SYNC"), 2);
    assert_eq!(cmd(&mut w, "r", "DBSIZE"), cmd(&mut w, "m", "DBSIZE"));
}

#[test]
fn replicaof_no_one_keeps_the_old_id_so_siblings_continue() {
    let mut w = pair(3, "");
    add_node(&mut w, "r2", "127.0.0.1:6381", "port 6381\n");
    cmd(&mut w, "r2", "REPLICAOF 127.0.0.1 6379");
    w.advance(2000);
    cmd(&mut w, "m", "SET before 1");
    w.advance(1100);
    let old_id = info_field(&mut w, "m", "master_replid");
    let offset: i64 = info_field(&mut w, "r", "master_repl_offset").parse().unwrap();
    w.apply(WorldInput::Fault(Fault::Kill { node: "m".into() }));
    w.advance(100);
    assert_eq!(cmd(&mut w, "r", "SLAVEOF NO ONE"), "OK");
    expect_log(&w, "r", "MASTER MODE enabled (user request from 'id=");
    assert_eq!(info_field(&mut w, "r", "master_replid2"), old_id);
    assert_eq!(info_field(&mut w, "r", "second_repl_offset"), (offset + 1).to_string());
    assert_eq!(cmd(&mut w, "r", "SET after 1"), "OK");
    // The sibling follows the promoted replica with a partial resync.
    cmd(&mut w, "r2", "REPLICAOF 127.0.0.1 6380");
    w.advance(2000);
    assert_eq!(info_field(&mut w, "r2", "master_link_status"), "up");
    expect_log(&w, "r2", "Successful partial resynchronization with master.");
    expect_no_log(&w, "r", "Starting BGSAVE for SYNC");
    assert_eq!(cmd(&mut w, "r2", "GET after"), "\"1\"");
}

#[test]
fn a_wrong_masterauth_leaves_the_link_down() {
    let mut w = World::new(4);
    add_node(&mut w, "m", "192.168.131.148:6379", "requirepass 123456\nrepl-diskless-sync no\n");
    add_node(&mut w, "r", "192.168.131.149:6379", "masterauth wrong\n");
    cmd(&mut w, "r", "REPLICAOF 192.168.131.148 6379");
    w.advance(3000);
    expect_log(&w, "r", "Unable to AUTH to MASTER: -WRONGPASS");
    assert_eq!(info_field(&mut w, "r", "master_link_status"), "down");
    assert_eq!(info_field(&mut w, "r", "master_last_io_seconds_ago"), "-1");
    cmd(&mut w, "r", "CONFIG SET masterauth 123456");
    w.advance(2000);
    assert_eq!(info_field(&mut w, "r", "master_link_status"), "up");
    expect_log(&w, "m", "Replica 192.168.131.149:6379 asks for synchronization");
}

#[test]
fn chained_replicas_carry_the_same_stream() {
    let mut w = pair(5, "");
    add_node(&mut w, "r2", "127.0.0.1:6381", "port 6381\n");
    cmd(&mut w, "r2", "REPLICAOF 127.0.0.1 6380");
    // The middle replica syncs its own replica diskless, after the default 5 s delay.
    w.advance(2000);
    assert_eq!(info_field(&mut w, "r2", "master_link_status"), "down");
    assert_eq!(info_field(&mut w, "r", "slave0").split(',').nth(2), Some("state=wait_bgsave"));
    w.advance(4000);
    cmd(&mut w, "m", "SET chained yes");
    w.advance(1100);
    assert_eq!(cmd(&mut w, "r2", "GET chained"), "\"yes\"");
    let offset = info_field(&mut w, "m", "master_repl_offset");
    assert_eq!(info_field(&mut w, "r2", "slave_repl_offset"), offset);
    assert_eq!(info_field(&mut w, "r2", "master_replid"), info_field(&mut w, "m", "master_replid"));
    assert_eq!(info_field(&mut w, "r", "connected_slaves"), "1");
}

#[test]
fn diskless_sync_streams_with_an_end_mark_after_the_delay() {
    let mut w = World::new(6);
    add_node(&mut w, "m", "127.0.0.1:6379", "repl-diskless-sync-delay 2\n");
    add_node(&mut w, "r", "127.0.0.1:6380", "port 6380\n");
    cmd(&mut w, "m", "SET k v");
    cmd(&mut w, "r", "REPLICAOF 127.0.0.1 6379");
    w.advance(1000);
    assert_eq!(info_field(&mut w, "r", "master_link_status"), "down");
    w.advance(2500);
    assert_eq!(info_field(&mut w, "r", "master_link_status"), "up");
    expect_log(&w, "m", "Starting BGSAVE for SYNC with target: replicas sockets");
    expect_log(&w, "r", "receiving streamed RDB from master with EOF");
    assert_eq!(cmd(&mut w, "r", "GET k"), "\"v\"");
}

#[test]
fn wait_and_min_replicas_count_acknowledging_replicas() {
    let mut w = pair(7, "");
    assert_eq!(cmd(&mut w, "m", "SET w 1"), "OK");
    assert_eq!(cmd(&mut w, "m", "WAIT 1 1000"), "(integer) 1");
    assert_eq!(cmd(&mut w, "m", "WAIT 2 300"), "(integer) 1");
    cmd(&mut w, "m", "CONFIG SET min-replicas-to-write 2");
    assert_eq!(cmd(&mut w, "m", "SET w 2"), "(error) NOREPLICAS Not enough good replicas to write.");
    cmd(&mut w, "m", "CONFIG SET min-replicas-to-write 1");
    assert_eq!(cmd(&mut w, "m", "SET w 3"), "OK");
    assert_eq!(cmd(&mut w, "r", "WAIT 0 0").split(' ').next(), Some("(error)"));
}

#[test]
fn killing_the_master_mid_sync_and_restarting_a_replica() {
    let mut w = World::new(8);
    add_node(&mut w, "m", "127.0.0.1:6379", "repl-diskless-sync no\nsave 3600 1\n");
    add_node(&mut w, "r", "127.0.0.1:6380", "port 6380\nreplicaof 127.0.0.1 6379\nsave 3600 1\n");
    for i in 0..2000 {
        cmd(&mut w, "m", &format!("SET key{} value{}", i, i));
    }
    // Kill the master while the snapshot is being produced.
    w.advance(1000);
    w.apply(WorldInput::Fault(Fault::Kill { node: "m".into() }));
    w.advance(3000);
    assert_eq!(info_field(&mut w, "r", "master_link_status"), "down");
    expect_log(&w, "r", "Error condition on socket for SYNC: Connection refused");
    w.apply(WorldInput::Fault(Fault::Restart { node: "m".into() }));
    w.advance(3000);
    assert_eq!(info_field(&mut w, "r", "master_link_status"), "up");
    // A replica that saved its dataset restarts and continues where it was.
    cmd(&mut w, "m", "SET more 1");
    w.advance(1100);
    cmd(&mut w, "r", "SAVE");
    w.apply(WorldInput::Fault(Fault::Kill { node: "r".into() }));
    cmd(&mut w, "m", "SET while-down 1");
    w.apply(WorldInput::Fault(Fault::Restart { node: "r".into() }));
    w.advance(2500);
    assert_eq!(info_field(&mut w, "r", "master_link_status"), "up");
    expect_log(&w, "r", "Successful partial resynchronization with master.");
    assert_eq!(cmd(&mut w, "r", "GET while-down"), "\"1\"");
    assert_eq!(cmd(&mut w, "r", "DBSIZE"), cmd(&mut w, "m", "DBSIZE"));
}

#[test]
fn the_same_seed_gives_the_same_replication_trace() {
    let run = |seed| {
        let mut w = pair(seed, "repl-timeout 3\n");
        cmd(&mut w, "m", "SET a 1");
        w.apply(WorldInput::Fault(Fault::Cut { from: n("m"), to: n("r"), one_way: false }));
        w.advance(5000);
        w.apply(WorldInput::Fault(Fault::Heal { a: n("m"), b: n("r") }));
        w.advance(5000);
        w.trace_text()
    };
    let a = run(9);
    assert_eq!(a, run(9));
    assert!(a.contains("Successful partial resynchronization"), "{}", a);
}

#[test]
fn a_replica_announces_the_address_it_is_told_to() {
    let mut w = pair(10, "replica-announce-ip 10.0.0.9\nreplica-announce-port 7777\nreplica-priority 42\n");
    let slave0 = info_field(&mut w, "m", "slave0");
    assert!(slave0.starts_with("ip=10.0.0.9,port=7777,state=online,"), "{}", slave0);
    expect_log(&w, "m", "Replica 10.0.0.9:7777 asks for synchronization");
    assert_eq!(info_field(&mut w, "r", "slave_priority"), "42");
    assert_eq!(
        cmd(&mut w, "m", "ROLE").lines().take(4).collect::<Vec<_>>().join("\n"),
        format!(
            "1) \"master\"\n2) (integer) {}\n3) 1) 1) \"10.0.0.9\"\n      2) \"7777\"",
            info_field(&mut w, "m", "master_repl_offset")
        )
    );
}

#[test]
fn a_missing_masterauth_falls_back_to_sync_and_fails_like_redis() {
    let mut w = World::new(11);
    add_node(&mut w, "m", "127.0.0.1:6379", "requirepass pw\nrepl-diskless-sync no\n");
    add_node(&mut w, "r", "127.0.0.1:6380", "port 6380\n");
    cmd(&mut w, "r", "REPLICAOF 127.0.0.1 6379");
    w.advance(2500);
    for line in [
        "(Non critical) Master does not understand REPLCONF listening-port: -NOAUTH Authentication required.",
        "Unexpected reply to PSYNC from master: -NOAUTH Authentication required.",
        "Retrying with SYNC...",
        "MASTER aborted replication with an error: NOAUTH Authentication required.",
        "Reconnecting to MASTER 127.0.0.1:6379 after failure",
    ] {
        assert!(has_log(&w, "r", line), "no {:?} in {:#?}", line, logs(&w, "r"));
    }
    // At most one immediate retry a second, then the cron's.
    assert!(count_log(&w, "r", "Retrying with SYNC...") <= 6, "{:#?}", logs(&w, "r"));
    assert_eq!(info_field(&mut w, "r", "master_link_status"), "down");
    cmd(&mut w, "r", "CONFIG SET masterauth pw");
    w.advance(2000);
    assert_eq!(info_field(&mut w, "r", "master_link_status"), "up");
}

#[test]
fn info_stats_count_full_and_partial_syncs_and_replication_bytes() {
    let mut w = pair(12, "repl-timeout 3\n");
    let stat = |w: &mut World, node: &str, f: &str| {
        let Some(Frame::Bulk(text)) = w.command(&format!("cli-{}", node), &["INFO", "stats"]) else { panic!() };
        halab_core::lab::observe::info_field(&String::from_utf8_lossy(&text), f).unwrap()
    };
    assert_eq!(stat(&mut w, "m", "sync_full"), "1");
    // REPLICAOF from a master asks to continue its own stream: a refused partial resync.
    assert_eq!(stat(&mut w, "m", "sync_partial_err"), "1");
    w.apply(WorldInput::Fault(Fault::Cut { from: n("m"), to: n("r"), one_way: false }));
    w.advance(5000);
    w.apply(WorldInput::Fault(Fault::Heal { a: n("m"), b: n("r") }));
    w.advance(3000);
    assert_eq!(stat(&mut w, "m", "sync_partial_ok"), "1");
    assert_eq!(stat(&mut w, "m", "total_net_repl_output_bytes"), "283");
    assert_eq!(stat(&mut w, "r", "total_net_repl_input_bytes"), "370");
}

/// Driven by hand as a replica: a command split across two reads counts in
/// `slave_read_repl_offset` at once, in `slave_repl_offset` (what it ACKs and forwards) only
/// once it has run.
#[test]
fn a_half_received_command_is_read_but_not_yet_applied() {
    use halab_core::config::Config;
    use halab_core::keyspace::Keyspace;
    use halab_core::node::{Input, Node, NodeOptions, Output};
    use halab_core::rdb::{encode_rdb, RdbAux};
    let t = 1_795_383_386_000;
    let mut node = Node::new(NodeOptions {
        logs_to_terminal: false,
        is_executable: |_| true,
        seed: 3,
        pid: 7,
        config: Config::default(),
        config_file: None,
        executable: "halab".into(),
        start_ms: t,
    });
    node.handle(t, Input::Connected { conn: 1, addr: "127.0.0.1:5000".into(), laddr: "127.0.0.1:6379".into() });
    node.handle(t, Input::Data { conn: 1, bytes: &Frame::command([b"REPLICAOF".as_slice(), b"127.0.0.1", b"6380"]) });
    let link = std::iter::from_fn(|| node.poll())
        .find_map(|o| match o {
            Output::Connect { conn, .. } => Some(conn),
            _ => None,
        })
        .unwrap();
    node.handle(t, Input::Outbound { conn: link, result: Ok("127.0.0.1:50000".into()) });
    let id = "0123456789abcdef0123456789abcdef01234567";
    let image = encode_rdb(
        &Keyspace::new(16),
        &RdbAux::standard(
            t / 1000,
            0,
            Some(&halab_core::rdb::ReplSaveInfo { replid: id.into(), offset: 100, stream_db: 0 }),
        ),
    );
    let mut handshake = format!("+PONG\r\n+OK\r\n+OK\r\n+FULLRESYNC {} 100\r\n${}\r\n", id, image.len()).into_bytes();
    handshake.extend_from_slice(&image);
    node.handle(t, Input::Data { conn: link, bytes: &handshake });
    let set = Frame::command([b"SET".as_slice(), b"k", b"v"]);
    node.handle(t, Input::Data { conn: link, bytes: &set[..10] });
    let info = |node: &mut Node| node.info(&["replication"]);
    let text = info(&mut node);
    assert!(text.contains("master_link_status:up"), "{}", text);
    assert!(text.contains("slave_read_repl_offset:110\r\n"), "{}", text);
    assert!(text.contains("slave_repl_offset:100\r\n"), "{}", text);
    node.handle(t, Input::Data { conn: link, bytes: &set[10..] });
    let text = info(&mut node);
    let end = 100 + set.len();
    assert!(text.contains(&format!("slave_read_repl_offset:{}\r\n", end)), "{}", text);
    assert!(text.contains(&format!("slave_repl_offset:{}\r\n", end)), "{}", text);
    assert!(text.contains(&format!("master_repl_offset:{}\r\n", end)), "{}", text);
}

/// A replica that shuts down waits for its own replicas to catch up, as a master does, but
/// asks them nothing: a replica feeds no stream of its own (Redis's `replicationFeedSlaves`
/// returns at once on a replica), so its `REPLCONF GETACK` would have put it, and its
/// replicas, 37 bytes past its master. Found by the debug assertion that a replica's
/// `master_repl_offset` is what it applied of its master's stream.
#[test]
fn a_replica_shutting_down_waits_for_its_replicas_without_feeding_them() {
    let mut w = pair(5, "");
    add_node(&mut w, "r2", "127.0.0.1:6381", "port 6381\n");
    cmd(&mut w, "r2", "REPLICAOF 127.0.0.1 6380");
    w.advance(6000);
    assert_eq!(info_field(&mut w, "r2", "master_link_status"), "up");
    // A write reaches both replicas at once; r2 acknowledges it at its next second.
    cmd(&mut w, "m", "SET k v");
    w.advance(5);
    let offset = info_field(&mut w, "m", "master_repl_offset");
    assert_eq!(info_field(&mut w, "r2", "slave_repl_offset"), offset);
    assert!(!info_field(&mut w, "r", "slave0").ends_with(&format!("offset={},lag=0", offset)));
    add_client(&mut w, "cli2-r", "r");
    w.apply(WorldInput::Command { client: "cli-r".into(), args: vec![b"SHUTDOWN".to_vec()] });
    w.advance(5);
    expect_log(&w, "r", "Waiting for replicas before shutting down.");
    // Paused for writes, r still answers INFO: its offset is still its master's.
    let text = on(&mut w, "cli2-r", "INFO replication");
    assert!(text.contains(&format!("master_repl_offset:{}", offset)), "{}", text);
    assert!(text.contains(&format!("slave_repl_offset:{}", offset)), "{}", text);
    w.advance(2000);
    expect_log(&w, "r", "1 of 1 replicas are in sync when shutting down.");
    assert_eq!(info_field(&mut w, "r2", "master_repl_offset"), offset);
}
