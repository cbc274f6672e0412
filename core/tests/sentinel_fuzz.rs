//! A sentinel fed arbitrary replies by the instances it watches: a master, replicas and
//! sentinels that answer garbage, truncated frames, errors, INFO texts with absurd fields,
//! hellos with wrong field counts and huge numbers, or close the link. Whatever comes, the
//! sentinel never panics (the debug-assertions pass checks its invariants on the way), still
//! answers each of its own clients' commands with exactly one reply, and every config file it
//! writes loads back as a sentinel config. A failure prints the seed and the minimal input.

mod support;

use halab_core::config::Config;
use halab_core::node::{Input, Node, NodeOptions, StartUp, StoredRdb};
use halab_core::resp::Frame;
use halab_core::sentinel::Sentinel;
use proptest::prelude::*;
use support::driver::Driver;
use support::T0;

const CONF: &str = "port 26379\nsentinel monitor mymaster 127.0.0.1 6379 2\nsentinel down-after-milliseconds mymaster 1000\nsentinel failover-timeout mymaster 6000\n";

/// What one watched instance does next, on one of the sentinel's outbound links.
#[derive(Debug, Clone)]
enum Act {
    /// Raw bytes: garbage, a torn frame, anything.
    Bytes(Vec<u8>),
    /// A well-formed reply of any shape.
    Reply(Frame),
    /// An INFO reply built from plausible and implausible fields.
    Info(Vec<(String, String)>),
    /// A hello delivered on `__sentinel__:hello`, with whatever fields.
    Hello(Vec<String>),
    /// An answer to IS-MASTER-DOWN-BY-ADDR.
    DownReply(i64, String, i64),
    /// The instance closes the link.
    Close,
    /// Time passes (the sentinel's timer: pings, INFO, hellos, SDOWN, a failover).
    Wait(u64),
    /// The instance answers what the sentinel asked as a healthy one would (a master with two
    /// replicas, replicas of it, two other sentinels voting), so that a run gets deep: replicas
    /// and sentinels discovered, SDOWN, ODOWN, votes, a failover — among the garbage.
    Proper,
    /// Two other sentinels say hello through the instance.
    Hellos(u64),
}

fn leaf() -> impl Strategy<Value = Frame> {
    prop_oneof![
        "[a-zA-Z0-9 :-]{0,20}".prop_map(Frame::Simple),
        prop_oneof![
            Just("LOADING x".to_string()),
            Just("MASTERDOWN x".to_string()),
            Just("BUSY x".to_string()),
            "[A-Z ]{0,12}".prop_map(|s| s)
        ]
        .prop_map(Frame::Error),
        any::<i64>().prop_map(Frame::Integer),
        proptest::collection::vec(any::<u8>(), 0..48).prop_map(|v| Frame::Bulk(v.into())),
        Just(Frame::NullBulk),
        Just(Frame::NullArray),
        Just(Frame::Simple("PONG".into())),
        Just(Frame::Simple("OK".into())),
        Just(Frame::Simple("QUEUED".into())),
    ]
}

fn reply() -> impl Strategy<Value = Frame> {
    leaf().prop_recursive(3, 24, 6, |inner| proptest::collection::vec(inner, 0..6).prop_map(Frame::Array))
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..100_000).prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("99999999999999999999999".to_string()),
        Just("-1".to_string()),
        Just(String::new()),
        "[a-z]{1,5}".prop_map(|s| s),
    ]
}

fn info_field() -> impl Strategy<Value = (String, String)> {
    let host = prop_oneof![
        Just("127.0.0.1".to_string()),
        Just("127.0.0.7".to_string()),
        Just("::1".to_string()),
        "[a-z0-9.:]{0,20}".prop_map(|s| s)
    ];
    prop_oneof![
        prop_oneof![Just("master"), Just("slave"), Just("sentinel"), Just("")]
            .prop_map(|r| ("role".to_string(), r.to_string())),
        "[0-9a-f]{40}|[a-z]{0,5}".prop_map(|id| ("run_id".to_string(), id)),
        host.clone().prop_map(|h| ("master_host".to_string(), h)),
        number().prop_map(|p| ("master_port".to_string(), p)),
        prop_oneof![Just("up"), Just("down"), Just("")].prop_map(|s| ("master_link_status".to_string(), s.to_string())),
        number().prop_map(|n| ("master_link_down_since_seconds".to_string(), n)),
        number().prop_map(|n| ("slave_priority".to_string(), n)),
        number().prop_map(|n| ("slave_repl_offset".to_string(), n)),
        number().prop_map(|n| ("replica_announced".to_string(), n)),
        (0u8..20, host, number(), prop_oneof![Just("online"), Just("wait_bgsave"), Just("x")], number()).prop_map(
            |(i, ip, port, state, offset)| (
                format!("slave{}", i),
                format!("ip={},port={},state={},offset={},lag=0", ip, port, state, offset)
            )
        ),
        "[a-z_]{1,12}".prop_flat_map(|k| "[ -~]{0,30}".prop_map(move |v| (k.clone(), v))),
    ]
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        2 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(Act::Bytes),
        3 => reply().prop_map(Act::Reply),
        3 => proptest::collection::vec(info_field(), 0..12).prop_map(Act::Info),
        2 => proptest::collection::vec(prop_oneof![number(), "[0-9a-f]{40}".prop_map(|s| s), Just("mymaster".to_string()), Just("127.0.0.1".to_string())], 0..10).prop_map(Act::Hello),
        1 => (0i64..3, prop_oneof![Just("*".to_string()), "[0-9a-f]{40}".prop_map(|s| s)], any::<i64>()).prop_map(|(d, l, e)| Act::DownReply(d, l, e)),
        1 => Just(Act::Close),
        2 => (0u64..4000).prop_map(Act::Wait),
        6 => Just(Act::Proper),
        2 => (0u64..3).prop_map(Act::Hellos),
    ]
}

fn sentinel() -> Driver {
    let mut config = Config::for_sentinel();
    config.load_text(CONF, &mut |_| Err("no includes".into())).unwrap();
    Sentinel::load(&config, T0, |_| true).unwrap();
    let node = Node::new(NodeOptions {
        logs_to_terminal: false,
        is_executable: |_| true,
        seed: 7,
        pid: 4242,
        config,
        config_file: Some("/virtual/sentinel.conf".into()),
        executable: "halab".into(),
        start_ms: T0,
    });
    let mut d = Driver::new(node).with_config_file(CONF);
    d.node.handle(d.now, Input::Start(StartUp { listen: Ok(1), rdb: StoredRdb::Absent }));
    d.pump();
    d.node.handle(d.now, Input::Ready);
    d.pump();
    d.connect(1);
    // Links are opened by the sentinel's timer, not at start.
    d.advance(1000);
    d
}

fn encode(frame: &Frame) -> Vec<u8> {
    let mut out = Vec::new();
    frame.encode(&mut out);
    out
}

fn bulk(text: &str) -> Frame {
    Frame::Bulk(text.as_bytes().to_vec().into())
}

/// Open every link the sentinel asked for since last time.
fn accept_connects(d: &mut Driver, answered: &mut usize, open: &mut Vec<u64>) {
    while *answered < d.connects.len() {
        let (conn, _) = d.connects[*answered].clone();
        *answered += 1;
        d.node.handle(d.now, Input::Outbound { conn, result: Ok("127.0.0.1:40000".into()) });
        d.pump();
        open.push(conn);
    }
}

const MASTER: &str = "127.0.0.1:6379";

/// Answer every command the sentinel sent on `conn` (to `addr`) as a healthy deployment would.
fn answer_properly(d: &mut Driver, conn: u64, addr: &str) {
    let mut sent = d.inbox.remove(&conn).unwrap_or_default();
    let mut out = Vec::new();
    while let Ok(Some(Frame::Array(words))) = Frame::decode(&mut sent) {
        let word = |i: usize| match words.get(i) {
            Some(Frame::Bulk(b)) => String::from_utf8_lossy(b).to_lowercase(),
            _ => String::new(),
        };
        let reply = match word(0).as_str() {
            "ping" => Frame::Simple("PONG".into()),
            "info" if addr == MASTER => bulk(
                "# Server\r\nrun_id:1111111111111111111111111111111111111111\r\n# Replication\r\nrole:master\r\nconnected_slaves:2\r\nslave0:ip=127.0.0.2,port=6379,state=online,offset=100,lag=0\r\nslave1:ip=127.0.0.3,port=6379,state=online,offset=90,lag=0\r\nmaster_repl_offset:100\r\n",
            ),
            "info" => bulk(&format!(
                "# Server\r\nrun_id:{}\r\n# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:6379\r\nmaster_link_status:up\r\nslave_repl_offset:100\r\nslave_priority:100\r\nslave_read_only:1\r\nreplica_announced:1\r\n",
                if addr.starts_with("127.0.0.2") { "2222222222222222222222222222222222222222" } else { "3333333333333333333333333333333333333333" }
            )),
            "subscribe" => Frame::Push(vec![bulk("subscribe"), bulk(&word(1)), Frame::Integer(1)]),
            "publish" => Frame::Integer(1),
            "sentinel" if word(1) == "is-master-down-by-addr" => {
                let epoch = word(4).parse().unwrap_or(0);
                let leader = word(5);
                Frame::Array(vec![Frame::Integer(1), bulk(&leader), Frame::Integer(epoch)])
            }
            "multi" => Frame::Simple("OK".into()),
            "exec" => Frame::Array(vec![Frame::Simple("OK".into()); 4]),
            "slaveof" | "replicaof" | "config" | "client" => Frame::Simple("QUEUED".into()),
            _ => Frame::Simple("OK".into()),
        };
        reply.encode(&mut out);
    }
    if !out.is_empty() {
        d.send_bytes(conn, &out);
    }
}

/// The sentinel's own client gets exactly one reply to a command, of the expected shape.
fn one_reply(d: &mut Driver, args: &[&str]) -> Frame {
    d.send(1, args);
    let replies = d.replies(1);
    assert_eq!(replies.len(), 1, "{:?} got {:?}", args, replies);
    replies.into_iter().next().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn a_sentinel_survives_whatever_its_instances_answer(acts in proptest::collection::vec((any::<u8>(), act()), 1..100)) {
        let mut d = sentinel();
        let (mut answered, mut open) = (0usize, Vec::new());
        accept_connects(&mut d, &mut answered, &mut open);
        prop_assert!(!open.is_empty(), "the sentinel connects to its master within a second");
        for (which, act) in acts {
            accept_connects(&mut d, &mut answered, &mut open);
            let conn = open[which as usize % open.len()];
            match act {
                Act::Bytes(bytes) => d.send_bytes(conn, &bytes),
                Act::Reply(frame) => d.send_bytes(conn, &encode(&frame)),
                Act::Info(fields) => {
                    let text: String = fields.iter().map(|(k, v)| format!("{}:{}\r\n", k, v)).collect();
                    d.send_bytes(conn, &encode(&bulk(&format!("# Server\r\n{}", text))));
                }
                Act::Hello(fields) => {
                    let hello = Frame::Array(vec![bulk("message"), bulk("__sentinel__:hello"), bulk(&fields.join(","))]);
                    d.send_bytes(conn, &encode(&hello));
                }
                Act::DownReply(down, leader, epoch) => {
                    d.send_bytes(conn, &encode(&Frame::Array(vec![Frame::Integer(down), bulk(&leader), Frame::Integer(epoch)])));
                }
                Act::Close => {
                    d.node.handle(d.now, Input::Closed { conn });
                    d.pump();
                    open.retain(|c| *c != conn);
                    if open.is_empty() {
                        // The sentinel reconnects from its timer; let it.
                        d.advance(1100);
                        accept_connects(&mut d, &mut answered, &mut open);
                        if open.is_empty() {
                            return Err(TestCaseError::fail("no link comes back after a close"));
                        }
                    }
                }
                Act::Wait(ms) => d.advance(ms),
                Act::Proper => {
                    let addr = d.connects.iter().find(|(c, _)| *c == conn).map(|(_, a)| a.clone()).unwrap_or_default();
                    answer_properly(&mut d, conn, &addr);
                }
                Act::Hellos(epoch) => {
                    for (i, id) in [(11, "a"), (12, "b")] {
                        let hello = format!("127.0.0.{},26379,{},{},mymaster,127.0.0.1,6379,0", i, id.repeat(40), epoch);
                        let frame = Frame::Array(vec![bulk("message"), bulk("__sentinel__:hello"), bulk(&hello)]);
                        d.send_bytes(conn, &encode(&frame));
                    }
                }
            }
            prop_assert_eq!(one_reply(&mut d, &["PING"]), Frame::Simple("PONG".into()));
        }
        prop_assert!(matches!(one_reply(&mut d, &["SENTINEL", "MASTERS"]), Frame::Array(_)));
        prop_assert!(matches!(one_reply(&mut d, &["SENTINEL", "REPLICAS", "mymaster"]), Frame::Array(_)));
        prop_assert!(matches!(one_reply(&mut d, &["SENTINEL", "SENTINELS", "mymaster"]), Frame::Array(_)));
        prop_assert!(matches!(one_reply(&mut d, &["INFO", "sentinel"]), Frame::Bulk(_)));
        // Every config the sentinel wrote is one it can start from again.
        for text in &d.config_writes {
            let mut config = Config::for_sentinel();
            let loaded = config.load_text(text, &mut |_| Err("no includes".into()));
            prop_assert!(loaded.is_ok(), "rewritten config does not load: {:?}\n{}", loaded.err(), text);
            let sentinel = Sentinel::load(&config, T0, |_| true);
            prop_assert!(sentinel.is_ok(), "rewritten sentinel config refused: {:?}\n{}", sentinel.err(), text);
        }
    }
}
