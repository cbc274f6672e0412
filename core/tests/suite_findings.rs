//! The bugs Redis's own test suite and the differential run found, each pinned by a test of
//! our own (issue: "Redis's own test suite as the judge"). Every test here failed before its
//! fix; the Redis unit that exposed it is named in the comment.

mod support;
use halab_core::lab::sim::{Endpoint, World, WorldInput};
use halab_core::resp::{render_cli, Frame};
use support::sim::{add_client, add_node, cmd, info, logs, on};

/// Send binary-safe words from a client, let 100 ms pass, and return the reply it got, if any.
fn send_raw(w: &mut World, client: &str, args: Vec<Vec<u8>>) -> Option<Frame> {
    let before = w.replies(client).len();
    w.apply(WorldInput::Command { client: client.into(), args });
    w.advance(100);
    w.replies(client).get(before).cloned()
}

/// A node as the test suite runs them: DEBUG allowed.
const DEBUG: &str = "enable-debug-command yes\n";

fn node(w: &mut World, name: &str, addr: &str, config: &str) {
    add_node(w, name, addr, &format!("{}{}", DEBUG, config));
}

fn pair(seed: u64, master_conf: &str) -> World {
    let mut w = World::new(seed);
    node(&mut w, "m", "127.0.0.1:6379", master_conf);
    node(&mut w, "r", "127.0.0.1:6380", "port 6380\n");
    assert_eq!(cmd(&mut w, "r", "REPLICAOF 127.0.0.1 6379"), "OK");
    // 7.0's default diskless sync waits 5 s for more replicas.
    w.advance(7000);
    assert_eq!(info(&mut w, "r", "master_link_status"), "up");
    w
}

/// integration/replication-psync (reconnect: 1): the replica kills its master's client; after
/// the partial resync the stream goes on in the db it had selected, not in db 0.
#[test]
fn a_partial_resync_continues_the_stream_in_its_db() {
    let mut w = pair(3, "repl-diskless-sync no\n");
    cmd(&mut w, "m", "SELECT 11");
    cmd(&mut w, "m", "SET a 1");
    w.advance(200);
    let master = "127.0.0.1:6379";
    assert_eq!(cmd(&mut w, "r", &format!("CLIENT KILL {}", master)), "OK");
    w.advance(100);
    cmd(&mut w, "m", "SET b 2");
    w.advance(3000);
    assert!(logs(&w, "r").iter().any(|l| l.contains("Successful partial resynchronization")));
    cmd(&mut w, "m", "SET c 3");
    w.advance(500);
    cmd(&mut w, "r", "SELECT 11");
    assert_eq!(cmd(&mut w, "r", "MGET a b c"), "1) \"1\"\n2) \"2\"\n3) \"3\"");
    cmd(&mut w, "r", "SELECT 0");
    assert_eq!(cmd(&mut w, "r", "DBSIZE"), "(integer) 0");
    assert_eq!(cmd(&mut w, "m", "DEBUG DIGEST"), cmd(&mut w, "r", "DEBUG DIGEST"));
}

/// unit/multi "MULTI / EXEC is propagated correctly (multiple commands)" and the 7.0 rules:
/// a transaction of several writes is wrapped in MULTI/EXEC, a single write is not, and
/// SPOP with a count propagates one SREM per member.
#[test]
fn a_call_propagates_its_ops_as_one_unit() {
    let mut w = pair(4, "repl-diskless-sync no\n");
    add_client(&mut w, "m2", "m");
    on(&mut w, "m2", "MULTI");
    on(&mut w, "m2", "SET x 1");
    on(&mut w, "m2", "SET y 2");
    assert_eq!(on(&mut w, "m2", "EXEC"), "1) OK\n2) OK");
    cmd(&mut w, "m", "SADD s a b c d");
    cmd(&mut w, "m", "SPOP s 2");
    cmd(&mut w, "m", "GETSET x 5");
    w.advance(500);
    assert_eq!(cmd(&mut w, "r", "MGET x y"), "1) \"5\"\n2) \"2\"");
    assert_eq!(cmd(&mut w, "r", "SCARD s"), "(integer) 2");
    assert_eq!(cmd(&mut w, "m", "DEBUG DIGEST"), cmd(&mut w, "r", "DEBUG DIGEST"));
    // The replica ran what 7.0 propagates: SET for GETSET, SREM for SPOP, and EXEC once.
    let stats = {
        let Some(Frame::Bulk(t)) = w.command("cli-r", &["INFO", "commandstats"]) else { panic!() };
        String::from_utf8_lossy(&t).into_owned()
    };
    assert!(stats.contains("cmdstat_srem:calls=2,"), "{}", stats);
    assert!(!stats.contains("cmdstat_getset"), "{}", stats);
    assert!(!stats.contains("cmdstat_spop"), "{}", stats);
    assert!(stats.contains("cmdstat_exec:calls=2,"), "{}", stats);
}

/// integration/replication "diskless … with 7.0's defaults": a master that delays the
/// snapshot keeps the link alive with newlines before +FULLRESYNC; the replica waits.
#[test]
fn newlines_before_fullresync_are_keepalives() {
    let mut w = World::new(5);
    add_node(&mut w, "m", "127.0.0.1:6379", "repl-diskless-sync yes\nrepl-diskless-sync-delay 3\n");
    add_node(&mut w, "r", "127.0.0.1:6380", "port 6380\n");
    cmd(&mut w, "m", "SET k v");
    cmd(&mut w, "r", "REPLICAOF 127.0.0.1 6379");
    w.advance(6000);
    assert_eq!(info(&mut w, "r", "master_link_status"), "up");
    assert!(!logs(&w, "r").iter().any(|l| l.contains("Unexpected reply to PSYNC")));
    assert_eq!(cmd(&mut w, "r", "GET k"), "\"v\"");
}

/// unit/multi "EXEC fail on WATCHed key modified (1 key of 1 watched)": the watching client's
/// own write invalidates its transaction; a key already expired when watched does not.
#[test]
fn watch_is_touched_by_its_own_client_and_not_by_stale_keys() {
    let mut w = World::new(6);
    node(&mut w, "m", "127.0.0.1:6379", "");
    cmd(&mut w, "m", "SET x 30");
    cmd(&mut w, "m", "WATCH x");
    cmd(&mut w, "m", "SET x 40");
    cmd(&mut w, "m", "MULTI");
    cmd(&mut w, "m", "PING");
    assert_eq!(cmd(&mut w, "m", "EXEC"), "(nil)");
    cmd(&mut w, "m", "DEBUG SET-ACTIVE-EXPIRE 0");
    cmd(&mut w, "m", "SET y foo PX 1");
    w.advance(5);
    cmd(&mut w, "m", "WATCH y");
    cmd(&mut w, "m", "MULTI");
    cmd(&mut w, "m", "PING");
    assert_eq!(cmd(&mut w, "m", "EXEC"), "1) PONG");
}

/// unit/multi "EXEC fails if there are errors while queueing commands #2": a command refused
/// while queueing (here for OOM) aborts EXEC with the reason.
#[test]
fn a_command_refused_while_queueing_aborts_exec() {
    let mut w = World::new(7);
    node(&mut w, "m", "127.0.0.1:6379", "");
    add_client(&mut w, "other", "m");
    cmd(&mut w, "m", "MULTI");
    cmd(&mut w, "m", "SET foo1 bar1");
    on(&mut w, "other", "CONFIG SET maxmemory 1");
    assert!(cmd(&mut w, "m", "LPUSH mylist myvalue").starts_with("(error) OOM"));
    on(&mut w, "other", "CONFIG SET maxmemory 0");
    cmd(&mut w, "m", "SET foo2 bar2");
    assert_eq!(cmd(&mut w, "m", "EXEC"), "(error) EXECABORT Transaction discarded because of previous errors.");
    assert_eq!(cmd(&mut w, "m", "EXISTS foo1 foo2"), "(integer) 0");
}

/// unit/pause: a WRITE pause postpones writes only; reads and CLIENT UNPAUSE answer at once,
/// and the postponed write runs when the pause ends.
#[test]
fn client_pause_write_postpones_writes_only() {
    let mut w = World::new(8);
    node(&mut w, "m", "127.0.0.1:6379", "");
    add_client(&mut w, "writer", "m");
    cmd(&mut w, "m", "SET k 1");
    assert_eq!(cmd(&mut w, "m", "CLIENT PAUSE 100000 WRITE"), "OK");
    assert_eq!(on(&mut w, "writer", "SET k 2"), "(no reply)");
    assert_eq!(cmd(&mut w, "m", "GET k"), "\"1\"");
    assert!(cmd(&mut w, "m", "INFO").contains("role:master"));
    assert_eq!(cmd(&mut w, "m", "CLIENT UNPAUSE"), "OK");
    w.advance(10);
    assert_eq!(w.replies("writer").last().map(render_cli).as_deref(), Some("OK"));
    assert_eq!(cmd(&mut w, "m", "GET k"), "\"2\"");
}

/// unit/other and the differential run: CLIENT REPLY ON answers, and a client with replies
/// off still gets its subscription confirmations and messages.
#[test]
fn client_reply_modes_keep_pushes_and_the_on_reply() {
    let mut w = World::new(9);
    node(&mut w, "m", "127.0.0.1:6379", "");
    add_client(&mut w, "pub", "m");
    w.client_send("cli-m", &Frame::command(["CLIENT", "REPLY", "OFF"]));
    w.advance(10);
    w.client_send("cli-m", &Frame::command(["SUBSCRIBE", "ch"]));
    w.advance(10);
    on(&mut w, "pub", "PUBLISH ch hello");
    w.advance(10);
    let seen: Vec<String> = w.replies("cli-m").iter().map(render_cli).collect();
    assert!(seen.iter().any(|r| r.contains("subscribe") && r.contains("ch")), "{:?}", seen);
    assert!(seen.iter().any(|r| r.contains("hello")), "{:?}", seen);
    w.client_send("cli-m", &Frame::command(["UNSUBSCRIBE"]));
    w.advance(10);
    assert_eq!(cmd(&mut w, "m", "CLIENT REPLY ON"), "OK");
}

/// integration/rdb "bgsave resets the change counter" and unit/other: FLUSHALL with save
/// points saves the empty dataset, so no change is pending after it.
#[test]
fn flushall_with_save_points_resets_the_change_counter() {
    let mut w = World::new(10);
    node(&mut w, "m", "127.0.0.1:6379", "save 3600 1\n");
    cmd(&mut w, "m", "SET k v");
    assert_eq!(info(&mut w, "m", "rdb_changes_since_last_save"), "1");
    cmd(&mut w, "m", "FLUSHALL");
    w.advance(10);
    assert_eq!(info(&mut w, "m", "rdb_changes_since_last_save"), "0");
}

/// unit/expire "expired key which is created in writeable replicas should be deleted by
/// active expiry": a writable replica expires what its own clients wrote with a TTL.
#[test]
fn a_writable_replica_expires_its_own_keys() {
    let mut w = pair(11, "");
    cmd(&mut w, "r", "CONFIG SET replica-read-only no");
    cmd(&mut w, "r", "SET mine v PX 100");
    assert_eq!(info(&mut w, "r", "slave_expires_tracked_keys"), "1");
    w.advance(1000);
    assert_eq!(cmd(&mut w, "r", "DBSIZE"), "(integer) 0");
}

/// unit/expire with DEBUG SET-ACTIVE-EXPIRE 0: the cron leaves expired keys alone.
#[test]
fn debug_set_active_expire_stops_the_expiry_cycle() {
    let mut w = World::new(12);
    node(&mut w, "m", "127.0.0.1:6379", "");
    cmd(&mut w, "m", "DEBUG SET-ACTIVE-EXPIRE 0");
    cmd(&mut w, "m", "SET k v PX 10");
    w.advance(2000);
    assert_eq!(cmd(&mut w, "m", "DBSIZE"), "(integer) 1");
    cmd(&mut w, "m", "DEBUG SET-ACTIVE-EXPIRE 1");
    w.advance(2000);
    assert_eq!(cmd(&mut w, "m", "DBSIZE"), "(integer) 0");
}

/// The harness sends FUNCTION FLUSH to any server: an empty library answers as 7.0 does.
#[test]
fn the_function_library_is_empty_but_answers() {
    let mut w = World::new(13);
    node(&mut w, "m", "127.0.0.1:6379", "");
    assert_eq!(cmd(&mut w, "m", "FUNCTION FLUSH"), "OK");
    assert_eq!(cmd(&mut w, "m", "FUNCTION LIST"), "(empty array)");
    let dump = w.command("cli-m", &["FUNCTION", "DUMP"]);
    let Some(Frame::Bulk(payload)) = dump else { panic!("{:?}", dump) };
    w.client_send("cli-m", &Frame::command([&b"FUNCTION"[..], b"RESTORE", &payload[..]]));
    w.advance(10);
    assert_eq!(w.replies("cli-m").last().map(render_cli).as_deref(), Some("OK"));
}

/// integration/failover: FAILOVER hands the master role to a caught-up replica; the old
/// master becomes its replica with a partial resync and nothing is lost.
#[test]
fn failover_swaps_roles_without_losing_writes() {
    let mut w = pair(14, "repl-diskless-sync no\n");
    cmd(&mut w, "m", "SET before 1");
    w.advance(1500);
    assert_eq!(cmd(&mut w, "m", "FAILOVER TO 127.0.0.1 6380"), "OK");
    w.advance(3000);
    assert_eq!(info(&mut w, "m", "master_failover_state"), "no-failover");
    assert_eq!(info(&mut w, "m", "role"), "slave");
    assert_eq!(info(&mut w, "r", "role"), "master");
    assert!(logs(&w, "r").iter().any(|l| l.contains("MASTER MODE enabled (failover request from")));
    cmd(&mut w, "r", "SET after 2");
    w.advance(1500);
    assert_eq!(cmd(&mut w, "m", "MGET before after"), "1) \"1\"\n2) \"2\"");
    assert_eq!(info(&mut w, "r", "sync_partial_ok"), "1");
}

/// A replica's link cut is a partition, and its master keeps writing: the replica still
/// catches up (a plain regression guard for the CLIENT KILL path above, across a heal).
#[test]
fn a_cut_link_heals_into_a_consistent_replica() {
    let mut w = pair(15, "repl-diskless-sync no\n");
    w.apply(WorldInput::Fault(halab_core::lab::sim::Fault::Cut {
        from: Endpoint::Node("m".into()),
        to: Endpoint::Node("r".into()),
        one_way: false,
    }));
    cmd(&mut w, "m", "SELECT 9");
    cmd(&mut w, "m", "RPUSH l a b c");
    w.advance(500);
    w.apply(WorldInput::Fault(halab_core::lab::sim::Fault::Heal {
        a: Endpoint::Node("m".into()),
        b: Endpoint::Node("r".into()),
    }));
    w.advance(3000);
    assert_eq!(cmd(&mut w, "m", "DEBUG DIGEST"), cmd(&mut w, "r", "DEBUG DIGEST"));
}

/// unit/pause "Test when replica paused, offset would not grow": a paused replica reads its
/// master's stream but applies it only after the pause (7.0 pauses the master client too).
#[test]
fn a_paused_replica_reads_the_stream_but_applies_it_after_the_pause() {
    let mut w = pair(21, "repl-diskless-sync no\n");
    cmd(&mut w, "m", "SET foo bar");
    w.advance(500);
    let applied = info(&mut w, "r", "slave_repl_offset");
    assert_eq!(applied, info(&mut w, "m", "master_repl_offset"));
    assert_eq!(cmd(&mut w, "r", "CLIENT PAUSE 100000 WRITE"), "OK");
    cmd(&mut w, "m", "SET foo2 bar2");
    w.advance(500);
    assert_eq!(info(&mut w, "r", "slave_read_repl_offset"), info(&mut w, "m", "master_repl_offset"));
    assert_eq!(info(&mut w, "r", "slave_repl_offset"), applied);
    assert_eq!(cmd(&mut w, "r", "GET foo2"), "(nil)");
    assert_eq!(cmd(&mut w, "r", "CLIENT UNPAUSE"), "OK");
    w.advance(100);
    assert_eq!(info(&mut w, "r", "slave_repl_offset"), info(&mut w, "m", "master_repl_offset"));
    assert_eq!(cmd(&mut w, "r", "GET foo2"), "\"bar2\"");
}

/// unit/expire "SCAN: Lazy-expire should not be wrapped in MULTI/EXEC" and "All TTL in
/// commands are propagated as absolute timestamp in replication stream": SCAN expires what
/// it meets (a DEL reaches the replica), RESTORE with a relative TTL leaves with ABSTTL.
#[test]
fn scan_expires_what_it_meets_and_restore_propagates_an_absolute_ttl() {
    let mut w = pair(22, "repl-diskless-sync no\n");
    cmd(&mut w, "m", "DEBUG SET-ACTIVE-EXPIRE 0");
    cmd(&mut w, "m", "SET foo1 bar PX 1");
    cmd(&mut w, "m", "SET keep v");
    w.advance(500);
    assert_eq!(cmd(&mut w, "r", "DBSIZE"), "(integer) 2");
    assert_eq!(cmd(&mut w, "m", "SCAN 0"), "1) \"0\"\n2) 1) \"keep\"");
    w.advance(500);
    assert_eq!(cmd(&mut w, "r", "DBSIZE"), "(integer) 1");
    // RANDOMKEY draws again after each expired key, until none is left.
    cmd(&mut w, "m", "SELECT 1");
    cmd(&mut w, "m", "SET foo1 bar PX 1");
    cmd(&mut w, "m", "SET foo2 bar PX 1");
    w.advance(100);
    assert_eq!(cmd(&mut w, "m", "RANDOMKEY"), "(nil)");
    assert_eq!(cmd(&mut w, "m", "DBSIZE"), "(integer) 0");
    cmd(&mut w, "m", "SELECT 0");
    let Some(Frame::Bulk(payload)) = w.command("cli-m", &["DUMP", "keep"]) else { panic!("no DUMP") };
    let restore = vec![b"RESTORE".to_vec(), b"k2".to_vec(), b"100000".to_vec(), payload.to_vec()];
    assert_eq!(send_raw(&mut w, "cli-m", restore), Some(Frame::Simple("OK".into())));
    w.advance(500);
    let (m_at, r_at) = (cmd(&mut w, "m", "PEXPIRETIME k2"), cmd(&mut w, "r", "PEXPIRETIME k2"));
    assert_eq!(m_at, r_at, "the replica got the master's deadline");
    let stats = {
        let Some(Frame::Bulk(t)) = w.command("cli-r", &["INFO", "commandstats"]) else { panic!() };
        String::from_utf8_lossy(&t).into_owned()
    };
    assert!(!stats.contains("cmdstat_multi"), "lazy expiry is not wrapped in MULTI: {}", stats);
}

/// unit/info "errorstats: blocking commands": a client unblocked with an error counts a
/// failed call of its blocking command.
#[test]
fn an_unblocked_error_counts_as_a_failed_call() {
    let mut w = World::new(23);
    node(&mut w, "m", "127.0.0.1:6379", "");
    add_client(&mut w, "b", "m");
    assert_eq!(on(&mut w, "b", "CLIENT ID"), "(integer) 2");
    let blpop = ["BLPOP", "list1", "0"].iter().map(|a| a.as_bytes().to_vec()).collect();
    assert_eq!(send_raw(&mut w, "b", blpop), None, "BLPOP blocks");
    assert_eq!(cmd(&mut w, "m", "CLIENT UNBLOCK 2 ERROR"), "(integer) 1");
    let Some(Frame::Bulk(t)) = w.command("cli-m", &["INFO", "commandstats"]) else { panic!() };
    let stats = String::from_utf8_lossy(&t).into_owned();
    assert!(stats.contains("cmdstat_blpop:calls=1,") && stats.contains("rejected_calls=0,failed_calls=1"), "{}", stats);
    assert_eq!(info(&mut w, "m", "total_error_replies"), "1");
}

/// unit/introspection "CONFIG REWRITE handles rename-command properly": a renamed command is
/// unknown by its old name and runs by its new one.
#[test]
fn rename_command_hides_the_old_name() {
    let mut w = World::new(24);
    node(&mut w, "m", "127.0.0.1:6379", "rename-command flushdb badger\n");
    assert_eq!(cmd(&mut w, "m", "FLUSHDB"), "(error) ERR unknown command 'FLUSHDB', with args beginning with: ");
    cmd(&mut w, "m", "SET k v");
    assert_eq!(cmd(&mut w, "m", "BADGER"), "OK");
    assert_eq!(cmd(&mut w, "m", "DBSIZE"), "(integer) 0");
}

/// integration/replication-4, "Data divergence can happen under default conditions": an error
/// our master's stream makes us answer is never sent, but logged as 7.0 logs it.
#[test]
fn a_replica_logs_the_errors_its_master_stream_causes() {
    let mut w = pair(11, "");
    assert_eq!(cmd(&mut w, "m", "DEBUG REPLICATE fake-command-1"), "OK");
    assert_eq!(cmd(&mut w, "m", "SET foo bar2"), "OK");
    w.advance(500);
    assert_eq!(cmd(&mut w, "r", "GET foo"), "\"bar2\"");
    let critical: Vec<String> = logs(&w, "r").into_iter().filter(|l| l.contains("== CRITICAL ==")).collect();
    assert_eq!(critical.len(), 1, "{:?}", critical);
    assert!(critical[0].contains(
        "== CRITICAL == This replica is sending an error to its master: 'ERR unknown command 'fake-command-1', with args beginning with: ' after processing the command '<unknown>'"
    ));
    assert!(logs(&w, "r").iter().any(|l| l.contains("Latest backlog is: '")));
    assert_eq!(info(&mut w, "r", "unexpected_error_replies"), "1");
}

/// Differential run (redis-server 7.0 beside halab, a master with one replica and one
/// redis-cli each): INFO's `connected_clients` leaves the master's replicas out
/// (`listLength(server.clients) - listLength(server.slaves)`), while a replica counts its
/// master's link. halab counted the replica on the master (2 instead of 1).
#[test]
fn connected_clients_leaves_replicas_out_and_counts_the_master_link() {
    let mut w = pair(31, "");
    assert_eq!(info(&mut w, "m", "connected_slaves"), "1");
    assert_eq!(info(&mut w, "m", "connected_clients"), "1", "the master: only cli-m");
    assert_eq!(info(&mut w, "r", "connected_clients"), "2", "the replica: cli-r and the master's link");
    let listed = cmd(&mut w, "m", "CLIENT LIST");
    assert_eq!(listed.matches(" addr=").count(), 2, "CLIENT LIST still shows the replica: {}", listed);
}
