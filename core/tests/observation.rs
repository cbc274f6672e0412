//! The two ways of observing a node agree: for simulated nodes, at every moment of several
//! replication scenarios, the observation parsed from the node's own `INFO everything`, `ROLE`
//! reply and log lines (what a live observer reads of a real process) equals the one read from
//! its accessors (what the simulator draws). If a field of INFO, ROLE or a log line drifts from
//! the state it reports, this fails at the first moment it shows.

mod support;
use halab_core::lab::lesson::LessonTarget;
use halab_core::lab::observe::{self, NodeObservation, ReplicaLinkState, Role};
use halab_core::lab::sim::{Endpoint, Fault, World, WorldInput};
use halab_core::replication::SyncKind;
use support::sim::add_node;

fn cmd(w: &mut World, node: &str, args: &str) {
    let words: Vec<&str> = args.split_whitespace().collect();
    assert!(w.command(&format!("cli-{}", node), &words).is_some(), "{} got no reply to {}", node, args);
}

/// Both observations of `node` (`None` while it is down).
fn observations(w: &World, node: &str) -> Option<(NodeObservation, NodeObservation)> {
    let n = w.node(node)?;
    let read = observe::from_node(n);
    // `Node::info` answers as a client outside the client table would: one observer connection.
    let parsed = observe::parse(&n.info(&["everything"]), Some(&n.role_reply()), &w.logs(node), 1);
    Some((read, parsed))
}

/// Compare every node now; returns how many were up.
fn agree_now(w: &World, context: &str) -> usize {
    let mut up = 0;
    for name in w.node_names() {
        if let Some((read, parsed)) = observations(w, &name) {
            up += 1;
            assert_eq!(
                read,
                parsed,
                "{}: node {} at {} ms: accessors (left) and INFO/ROLE/log (right) disagree\nlog:\n{}",
                context,
                name,
                w.elapsed(),
                w.logs(&name).join("\n")
            );
        }
    }
    up
}

/// Let `ms` pass in steps of `step` ms, comparing at each.
fn agree_through(w: &mut World, ms: u64, step: u64, context: &str) {
    let mut done = 0;
    while done < ms {
        w.advance(step);
        done += step;
        agree_now(w, context);
    }
}

fn one_master_two_replicas(seed: u64) -> World {
    // Sentinels at 127.0.0.1x are not local to 7.0's protected mode (only 127.0.0.1 is).
    let mut w = World::new(seed);
    add_node(
        &mut w,
        "m",
        "127.0.0.1:6379",
        "protected-mode no\nrepl-backlog-size 16kb\nrepl-timeout 5\nrepl-ping-replica-period 1\n",
    );
    add_node(
        &mut w,
        "r1",
        "127.0.0.1:6380",
        "protected-mode no\nport 6380\nreplicaof 127.0.0.1 6379\nrepl-timeout 5\n",
    );
    add_node(
        &mut w,
        "r2",
        "127.0.0.1:6381",
        "protected-mode no\nport 6381\nreplicaof 127.0.0.1 6379\nrepl-timeout 5\n",
    );
    w
}

#[test]
fn observations_agree_through_sync_handshake_and_streaming() {
    let mut w = one_master_two_replicas(11);
    assert_eq!(agree_now(&w, "just started"), 3);
    // The replicas connect, shake hands, wait for the diskless snapshot (7.0's default
    // `repl-diskless-sync-delay 5`), load it, then follow the stream: 5 ms steps catch the link
    // in each of ROLE's states.
    agree_through(&mut w, 7000, 5, "first sync");
    for i in 0..20 {
        cmd(&mut w, "m", &format!("SET key:{} {}", i, i));
        agree_now(&w, "writes");
    }
    agree_through(&mut w, 2000, 100, "streaming");
    let (m, _) = observations(&w, "m").unwrap();
    assert_eq!(m.role, Role::Master);
    assert_eq!(m.keys, vec![(0, 20)]);
    assert_eq!(m.replicas.len(), 2, "{:?}", m);
    for r in &m.replicas {
        let outcome = r.last_sync.as_ref().expect("each replica synced once");
        assert_eq!(outcome.kind, SyncKind::FullNoData, "{:?}", r);
        // Acknowledged everything but perhaps the last PING (14 bytes) of the stream.
        let behind = m.master_repl_offset - r.offset;
        assert!(behind == 0 || behind == 14, "{} bytes not acknowledged: {:?}", behind, r);
    }
    let (r1, _) = observations(&w, "r1").unwrap();
    let link = r1.master_link.expect("r1 has a master");
    assert_eq!((link.master_addr().as_str(), link.state), ("127.0.0.1:6379", ReplicaLinkState::Connected));
    assert_eq!(link.applied_offset, m.master_repl_offset as i64);
}

#[test]
fn observations_agree_across_a_partial_and_a_full_resync() {
    let mut w = one_master_two_replicas(12);
    agree_through(&mut w, 7000, 50, "first sync");
    let (m, r1) = (Endpoint::Node("m".into()), Endpoint::Node("r1".into()));
    let outcome = |w: &World| {
        let (m, _) = observations(w, "m").unwrap();
        m.replicas.iter().find(|r| r.addr == "127.0.0.1:6380").and_then(|r| r.last_sync.clone()).expect("r1 synced")
    };
    assert_eq!(outcome(&w).kind, SyncKind::FullNoData);
    // A cut longer than repl-timeout (5 s here) with a write the backlog keeps: r1 comes back with
    // +CONTINUE.
    w.apply(WorldInput::Fault(Fault::Cut { from: r1.clone(), to: m.clone(), one_way: false }));
    cmd(&mut w, "m", "SET during cut");
    agree_through(&mut w, 7_000, 100, "short cut");
    w.apply(WorldInput::Fault(Fault::Heal { a: r1.clone(), b: m.clone() }));
    agree_through(&mut w, 10_000, 20, "after the short cut");
    assert_eq!(outcome(&w).kind, SyncKind::Partial, "{:?}", outcome(&w));
    // As long a cut with more writes than the 16 KB backlog holds: a full resync.
    w.apply(WorldInput::Fault(Fault::Cut { from: r1.clone(), to: m.clone(), one_way: false }));
    agree_through(&mut w, 7_000, 100, "long cut");
    for i in 0..400 {
        w.command("cli-m", &["SET", &format!("big:{}", i), &"x".repeat(100)]);
    }
    w.apply(WorldInput::Fault(Fault::Heal { a: r1, b: m }));
    agree_through(&mut w, 15_000, 20, "after the long cut");
    assert_eq!(outcome(&w).kind, SyncKind::FullLackOfBacklog, "{:?}", outcome(&w));
}

#[test]
fn observations_agree_along_a_chain_and_after_a_promotion() {
    let mut w = World::new(13);
    add_node(&mut w, "m", "127.0.0.1:6379", "");
    add_node(&mut w, "a", "127.0.0.1:6380", "port 6380\nreplicaof 127.0.0.1 6379\n");
    add_node(&mut w, "b", "127.0.0.1:6381", "port 6381\nreplicaof 127.0.0.1 6380\n");
    agree_through(&mut w, 3000, 25, "chain forming");
    cmd(&mut w, "m", "SET k v");
    agree_through(&mut w, 500, 25, "chain streaming");
    cmd(&mut w, "a", "REPLICAOF NO ONE");
    agree_through(&mut w, 2000, 25, "a promoted");
    let (a, _) = observations(&w, "a").unwrap();
    assert_eq!(a.role, Role::Master);
    assert_eq!(a.replicas.len(), 1, "b stays a's replica: {:?}", a);
    w.apply(WorldInput::Fault(Fault::Kill { node: "m".into() }));
    assert_eq!(agree_now(&w, "m killed"), 2);
}

#[test]
fn observations_agree_for_sentinels_through_a_failover() {
    let mut w = one_master_two_replicas(21);
    for i in 1..=3 {
        w.apply(WorldInput::AddSentinel {
            name: format!("s{}", i),
            addr: format!("127.0.0.1{}:26379", i),
            config: "sentinel monitor mymaster 127.0.0.1 6379 2\nsentinel down-after-milliseconds mymaster 2000\n"
                .into(),
        });
    }
    agree_through(&mut w, 12_000, 100, "sentinels discover");
    let (s1, _) = observations(&w, "s1").unwrap();
    assert_eq!(s1.role, Role::Sentinel);
    let watched = &s1.sentinel.as_ref().unwrap().masters[0];
    assert_eq!(
        (watched.status.as_str(), watched.addr.as_str(), watched.replicas, watched.sentinels),
        ("ok", "127.0.0.1:6379", 2, 3)
    );
    w.apply(WorldInput::Fault(Fault::Kill { node: "m".into() }));
    // Each sentinel's opinion goes sdown, odown, then names the promoted replica.
    agree_through(&mut w, 20_000, 50, "failover");
    let (s1, _) = observations(&w, "s1").unwrap();
    let watched = &s1.sentinel.as_ref().unwrap().masters[0];
    assert!(watched.addr == "127.0.0.1:6380" || watched.addr == "127.0.0.1:6381", "{:?}", watched);
    let view = halab_core::lab::view::from_world(&w, 10);
    let monitor =
        view.links.iter().find(|l| l.from == "s1" && l.kind == halab_core::lab::view::LinkKind::Monitor).unwrap();
    assert!(monitor.to == "r1" || monitor.to == "r2", "{:?}", monitor);
}
