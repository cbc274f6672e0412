//! Sentinel in the simulator: three sentinels watch a master with two replicas (the tutorials'
//! "哨兵模式" topology: quorum 2, down-after-milliseconds 5000), discover each other and the
//! replicas, and fail over when the master dies; the old master returns as a replica.

mod support;

use halab_core::lab::sim::{Fault, World, WorldInput};
use support::sim::*;

const MASTER: &str = "127.0.0.1:6379";

fn sentinel_conf(port: u16) -> String {
    format!(
        "port {}\nsentinel monitor mymaster 127.0.0.1 6379 2\nsentinel down-after-milliseconds mymaster 5000\nsentinel failover-timeout mymaster 60000\n",
        port
    )
}

/// m, r1, r2 and s1..s3 (sentinels on 127.0.0.11..13:26379), each with a client. Hosts other
/// than 127.0.0.1 are remote to 7.0's protected mode, so the nodes turn it off, as a
/// deployment across hosts must.
fn world(seed: u64) -> World {
    let mut w = World::new(seed);
    add_node(&mut w, "m", MASTER, "protected-mode no");
    add_node(&mut w, "r1", "127.0.0.2:6379", "protected-mode no\nreplicaof 127.0.0.1 6379");
    add_node(&mut w, "r2", "127.0.0.3:6379", "protected-mode no\nreplicaof 127.0.0.1 6379");
    for i in 1..=3 {
        let name = format!("s{}", i);
        w.apply(WorldInput::AddSentinel {
            name: name.clone(),
            addr: format!("127.0.0.1{}:26379", i),
            config: sentinel_conf(26379),
        });
        add_client(&mut w, &format!("cli-{}", name), &name);
    }
    w
}

/// A field of a `SENTINEL MASTER`-style reply as redis-cli prints it (`1) "name" 2) "…"`).
fn field(reply: &str, name: &str) -> String {
    let items: Vec<String> =
        reply.lines().map(|l| l.split_once(") ").map_or(l, |(_, v)| v).trim().trim_matches('"').to_string()).collect();
    let i = items.iter().position(|k| k == name).unwrap_or_else(|| panic!("no {} in {}", name, reply));
    items[i + 1].clone()
}

#[test]
fn sentinels_discover_the_replicas_and_each_other() {
    let mut w = world(7);
    w.advance(15_000);
    for s in ["s1", "s2", "s3"] {
        let master = cmd(&mut w, s, "SENTINEL MASTER mymaster");
        assert_eq!(field(&master, "flags"), "master", "{}: {}", s, master);
        assert_eq!(field(&master, "num-slaves"), "2", "{}: {}", s, master);
        assert_eq!(field(&master, "num-other-sentinels"), "2", "{}: {}", s, master);
        assert_eq!(field(&master, "quorum"), "2");
        assert_eq!(field(&master, "down-after-milliseconds"), "5000");
        expect_log(&w, s, "+monitor master mymaster 127.0.0.1 6379 quorum 2");
        expect_log(&w, s, "+slave slave 127.0.0.2:6379 127.0.0.2 6379 @ mymaster 127.0.0.1 6379");
        expect_log(&w, s, "+slave slave 127.0.0.3:6379 127.0.0.3 6379 @ mymaster 127.0.0.1 6379");
        assert_eq!(count_log(&w, s, "+sentinel sentinel "), 2, "{}", logs(&w, s).join("\n"));
        // The sentinel saved what it found: its id, the replicas, the other sentinels.
        let conf = w.config_text(s).unwrap().to_string();
        assert!(conf.contains("sentinel myid "), "{}", conf);
        assert!(conf.contains("sentinel known-replica mymaster 127.0.0.2 6379"), "{}", conf);
        assert_eq!(conf.matches("sentinel known-sentinel mymaster ").count(), 2, "{}", conf);
        let (role, _) = role_and_message(logs(&w, s).last().unwrap());
        assert_eq!(role, 'X');
    }
    assert_eq!(cmd(&mut w, "s1", "SENTINEL GET-MASTER-ADDR-BY-NAME mymaster"), "1) \"127.0.0.1\"\n2) \"6379\"");
    let info = cmd(&mut w, "s1", "INFO sentinel");
    assert!(info.contains("master0:name=mymaster,status=ok,address=127.0.0.1:6379,slaves=2,sentinels=3"), "{}", info);
    assert_eq!(cmd(&mut w, "s1", "ROLE"), "1) \"sentinel\"\n2) 1) \"mymaster\"");
    assert!(cmd(&mut w, "s1", "SET k v").starts_with("(error) ERR unknown command 'SET'"));
}

#[test]
fn the_master_dies_one_leader_fails_over_and_the_old_master_returns_as_a_replica() {
    let mut w = world(11);
    add_client(&mut w, "watch", "s1");
    on(&mut w, "watch", "PSUBSCRIBE *");
    w.advance(15_000);
    w.apply(WorldInput::Fault(Fault::Kill { node: "m".into() }));
    w.advance(30_000);
    let mut leaders = Vec::new();
    for s in ["s1", "s2", "s3"] {
        expect_log(&w, s, "+sdown master mymaster 127.0.0.1 6379");
        if has_log(&w, s, "+elected-leader master mymaster") {
            leaders.push(s);
        }
    }
    assert_eq!(leaders.len(), 1, "one leader: {:?}", leaders);
    let leader = leaders[0];
    expect_log_order(
        &w,
        leader,
        &[
            "+odown master mymaster 127.0.0.1 6379 #quorum",
            "+try-failover master mymaster",
            "+elected-leader master mymaster",
            "+failover-state-select-slave master mymaster",
            "+selected-slave slave",
            "+failover-state-send-slaveof-noone slave",
            "+failover-state-wait-promotion slave",
            "+promoted-slave slave",
            "+failover-state-reconf-slaves master mymaster",
            "+slave-reconf-sent slave",
            "+slave-reconf-inprog slave",
            "+slave-reconf-done slave",
            "+failover-end master mymaster",
            "+switch-master mymaster 127.0.0.1 6379",
        ],
    );
    // Every sentinel now names the same new master, which says it is one.
    let addr = cmd(&mut w, "s1", "SENTINEL GET-MASTER-ADDR-BY-NAME mymaster");
    for s in ["s2", "s3"] {
        assert_eq!(cmd(&mut w, s, "SENTINEL GET-MASTER-ADDR-BY-NAME mymaster"), addr);
        expect_log(&w, s, "+switch-master mymaster 127.0.0.1 6379");
    }
    let (promoted, other) = if addr.contains("127.0.0.2") { ("r1", "r2") } else { ("r2", "r1") };
    assert!(addr.contains("127.0.0.2") || addr.contains("127.0.0.3"), "{}", addr);
    assert_eq!(info(&mut w, promoted, "role"), "master");
    assert_eq!(info(&mut w, other, "role"), "slave");
    assert_eq!(
        info(&mut w, other, "master_host"),
        addr.lines().next().unwrap().trim_start_matches("1) ").trim_matches('"')
    );
    assert_eq!(info(&mut w, other, "master_link_status"), "up");
    // The watching client saw the switch as a message on the event's channel.
    let seen: Vec<String> = w.replies("watch").iter().map(halab_core::resp::render_cli).collect();
    assert!(seen.iter().any(|r| r.contains("+switch-master") && r.contains("mymaster 127.0.0.1 6379")), "{:?}", seen);
    // The leader's file names the new master and the epoch of the failover.
    let conf = w.config_text(leader).unwrap().to_string();
    assert!(conf.contains("sentinel config-epoch mymaster 1"), "{}", conf);
    assert!(conf.contains("sentinel current-epoch 1"), "{}", conf);
    assert!(!conf.contains("sentinel monitor mymaster 127.0.0.1 6379 2"), "{}", conf);
    // The old master comes back and is turned into a replica of the new one.
    w.apply(WorldInput::Fault(Fault::Restart { node: "m".into() }));
    w.advance(30_000);
    assert_eq!(info(&mut w, "m", "role"), "slave");
    assert_eq!(info(&mut w, "m", "master_link_status"), "up");
    assert!(["s1", "s2", "s3"].iter().any(|s| has_log(&w, s, "+convert-to-slave slave 127.0.0.1:6379")));
}

#[test]
fn the_same_seed_gives_the_same_failover() {
    let run = |seed| {
        let mut w = world(seed);
        w.advance(10_000);
        w.apply(WorldInput::Fault(Fault::Kill { node: "m".into() }));
        w.advance(25_000);
        w.trace_text()
    };
    assert_eq!(run(5), run(5));
}

#[test]
fn a_sentinel_cut_off_from_the_others_cannot_fail_over_alone() {
    use halab_core::lab::sim::Endpoint;
    let mut w = world(3);
    w.advance(15_000);
    // s1 alone loses the master: it sees SDOWN but never ODOWN (quorum 2).
    w.apply(WorldInput::Fault(Fault::Cut {
        from: Endpoint::Node("s1".into()),
        to: Endpoint::Node("m".into()),
        one_way: false,
    }));
    w.advance(30_000);
    expect_log(&w, "s1", "+sdown master mymaster 127.0.0.1 6379");
    expect_no_log(&w, "s1", "+odown");
    expect_no_log(&w, "s1", "+try-failover");
    assert_eq!(cmd(&mut w, "s2", "SENTINEL GET-MASTER-ADDR-BY-NAME mymaster"), "1) \"127.0.0.1\"\n2) \"6379\"");
    assert_eq!(info(&mut w, "m", "role"), "master");
}

#[test]
fn a_clock_jump_puts_a_sentinel_in_tilt_and_it_acts_on_nothing_meanwhile() {
    let mut w = world(9);
    w.advance(15_000);
    w.apply(WorldInput::Fault(Fault::ClockJump { node: "s1".into(), ms: 5_000 }));
    w.advance(1_000);
    expect_log(&w, "s1", "+tilt #tilt mode entered");
    assert_eq!(info(&mut w, "s1", "sentinel_tilt"), "1");
    // In TILT the master's death is not acted on by s1 (the others fail over).
    w.apply(WorldInput::Fault(Fault::Kill { node: "m".into() }));
    w.advance(10_000);
    expect_no_log(&w, "s1", "+sdown master");
    let view = halab_core::lab::view::from_world(&w, 10);
    assert!(view.nodes.iter().any(|n| n.name == "s1" && n.flags.contains(&"tilt".to_string())));
    // 30 s after entering, TILT ends.
    w.advance(25_000);
    expect_log_order(&w, "s1", &["+tilt #tilt mode entered", "-tilt #tilt mode exited"]);
    assert_eq!(info(&mut w, "s1", "sentinel_tilt"), "0");
}

/// What the drawing shows of a failover: Sentinel's messages named as they travel (hellos,
/// the question "is it down?", the vote request and the vote), and the leader's progress
/// through the failover's stages with the virtual time of each.
#[test]
fn the_view_names_sentinel_messages_in_flight_and_reads_the_failover_s_stages() {
    use halab_core::lab::view::{self, classify_message, FailoverStage, MessageKind};
    let mut w = world(11);
    w.advance(15_000);
    w.apply(WorldInput::Fault(Fault::Kill { node: "m".into() }));
    let end = w.now() + 30_000;
    let mut seen = std::collections::BTreeSet::new();
    let mut vote_in_view = false;
    while w.now() < end && w.step() {
        for m in w.in_flight() {
            let (kind, detail) = classify_message(&m.payload);
            if kind == MessageKind::Vote && !vote_in_view {
                // The view carries the same reading, on the message between two sentinels.
                let v = view::from_world(&w, 0);
                let drawn = v.messages.iter().find(|d| d.kind == MessageKind::Vote).expect("the vote is in the view");
                assert!(drawn.from.starts_with('s') && drawn.to.starts_with('s'), "{:?}", drawn);
                assert!(drawn.detail.starts_with("down · voted "), "{}", drawn.detail);
                assert_eq!(drawn.detail, detail);
                vote_in_view = true;
            }
            seen.insert(kind);
        }
    }
    for kind in [
        MessageKind::Hello,
        MessageKind::DownQuery,
        MessageKind::DownReply,
        MessageKind::VoteRequest,
        MessageKind::Vote,
    ] {
        assert!(seen.contains(&kind), "{:?} never seen in flight: {:?}", kind, seen);
    }
    assert!(vote_in_view);
    let v = view::from_world(&w, 0);
    let done: Vec<_> = v.failovers.iter().filter(|f| f.aborted.is_none()).collect();
    assert_eq!(done.len(), 1, "one try led to a new master: {:?}", v.failovers);
    let f = done[0];
    assert!(has_log(&w, &f.sentinel, "+elected-leader master mymaster"), "the strip is the leader's");
    assert_eq!((f.master.as_str(), f.epoch), ("mymaster", 1));
    assert_eq!(f.stages.iter().map(|(s, _)| *s).collect::<Vec<_>>(), FailoverStage::ALL.to_vec());
    let times: Vec<u64> = f.stages.iter().map(|(_, t)| *t).collect();
    assert!(times.windows(2).all(|p| p[0] <= p[1]), "stage times never go back: {:?}", times);
    // The promotion waits for the replica's INFO: at least one INFO period (1 s while failing
    // over) passes between sending SLAVEOF NO ONE and the reconfiguration.
    assert!(times[5] - times[3] >= 900, "{:?}", times);
    assert!(f.selected.as_deref().is_some_and(|s| s == "127.0.0.2:6379" || s == "127.0.0.3:6379"), "{:?}", f.selected);
    // The other sentinels either never tried or gave up, not elected.
    for other in v.failovers.iter().filter(|o| o.sentinel != f.sentinel) {
        assert_eq!(other.aborted.as_deref(), Some("-failover-abort-not-elected"), "{:?}", other);
    }
}

/// A paused process (SIGSTOP) keeps its connections but answers nothing: the sentinels fail it
/// over; resumed, it gets what waited for it, still believes it is the master and acknowledges
/// writes, until the sentinels convert it — and those writes are gone (Jepsen's Redis case).
#[test]
fn a_paused_master_is_replaced_and_its_writes_after_resuming_are_lost() {
    let mut w = world(5);
    add_client(&mut w, "cm", "m");
    w.advance(15_000);
    on(&mut w, "cm", "SET before 1");
    w.apply(WorldInput::Fault(Fault::Pause { node: "m".into() }));
    assert!(w.is_paused("m"));
    let paused_at = logs(&w, "m").len();
    w.advance(40_000);
    assert_eq!(logs(&w, "m").len(), paused_at, "a paused process logs nothing");
    assert!(has_log(&w, "s1", "+switch-master mymaster 127.0.0.1 6379"), "{}", logs(&w, "s1").join("\n"));
    w.apply(WorldInput::Fault(Fault::Resume { node: "m".into() }));
    assert!(!w.is_paused("m"));
    // It runs again and still takes writes as a master.
    assert_eq!(info(&mut w, "m", "role"), "master");
    assert_eq!(on(&mut w, "cm", "SET lost 1"), "OK");
    w.advance(30_000);
    assert_eq!(info(&mut w, "m", "role"), "slave");
    assert_eq!(info(&mut w, "m", "master_link_status"), "up");
    assert!(["s1", "s2", "s3"].iter().any(|s| has_log(&w, s, "+convert-to-slave slave 127.0.0.1:6379")));
    let new_master = if info(&mut w, "r1", "role") == "master" { "r1" } else { "r2" };
    add_client(&mut w, "cn", new_master);
    assert_eq!(on(&mut w, "cn", "EXISTS before lost"), "(integer) 1", "the acknowledged write is lost");
}
