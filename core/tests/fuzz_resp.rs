//! Property tests for the protocol layer: RESP frames round-trip, arbitrary bytes never make
//! the parser or a node panic — as a server, or as a replica reading its master's handshake
//! replies, snapshot and stream — and splitting input at any point gives the same commands.
//! A failure prints the seed and the minimal input proptest found.

use bytes::{Bytes, BytesMut};
use halab_core::config::Config;
use halab_core::node::{Input, Node, NodeOptions, Output};
use halab_core::resp::{Frame, RequestParser};
use proptest::prelude::*;

fn leaf() -> impl Strategy<Value = Frame> {
    prop_oneof![
        "[a-zA-Z0-9 ]{0,20}".prop_map(Frame::Simple),
        "[a-zA-Z0-9 ]{0,20}".prop_map(Frame::Error),
        any::<i64>().prop_map(Frame::Integer),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(|v| Frame::Bulk(Bytes::from(v))),
        Just(Frame::NullBulk),
        Just(Frame::NullArray),
        Just(Frame::Null),
        any::<bool>().prop_map(Frame::Boolean),
        (-1e300f64..1e300).prop_map(Frame::Double),
        "-?[1-9][0-9]{0,40}".prop_map(Frame::BigNumber),
    ]
}

fn frame() -> impl Strategy<Value = Frame> {
    leaf().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Frame::Array),
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Frame::Set),
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Frame::Push),
            proptest::collection::vec((inner.clone(), inner), 0..6).prop_map(Frame::Map),
        ]
    })
}

fn node() -> Node {
    Node::new(NodeOptions {
        logs_to_terminal: false,
        is_executable: |_| true,
        seed: 1,
        pid: 1,
        config: Config::default(),
        config_file: None,
        executable: "halab".into(),
        start_ms: 1_700_000_000_000,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn frames_round_trip(f in frame()) {
        let mut out = Vec::new();
        f.encode(&mut out);
        let mut buf = BytesMut::from(&out[..]);
        let back = Frame::decode(&mut buf).unwrap().unwrap();
        // Doubles render through %.17g, which round-trips exactly.
        prop_assert_eq!(back, f);
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut buf = BytesMut::from(&data[..]);
        let _ = Frame::decode(&mut buf);
    }

    #[test]
    fn request_parser_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512), auth in any::<bool>()) {
        let mut p = RequestParser::new(auth);
        let mut buf = BytesMut::from(&data[..]);
        for _ in 0..600 {
            match p.next(&mut buf) {
                Ok(Some(_)) => continue,
                _ => break,
            }
        }
    }

    /// Any split of a valid pipeline yields the same commands.
    #[test]
    fn split_points_do_not_matter(
        cmds in proptest::collection::vec(proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 1..5), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut wire = Vec::new();
        for c in &cmds {
            wire.extend_from_slice(&Frame::command(c));
        }
        let at = cut.index(wire.len() + 1);
        let mut p = RequestParser::new(true);
        let mut buf = BytesMut::from(&wire[..at]);
        let mut got = Vec::new();
        while let Some(c) = p.next(&mut buf).unwrap() {
            got.push(c);
        }
        buf.extend_from_slice(&wire[at..]);
        while let Some(c) = p.next(&mut buf).unwrap() {
            got.push(c);
        }
        let want: Vec<Vec<Bytes>> = cmds.iter().map(|c| c.iter().map(|a| Bytes::from(a.clone())).collect()).collect();
        prop_assert_eq!(got, want);
    }

    /// A node fed arbitrary bytes on a connection never panics and answers with RESP.
    #[test]
    fn node_survives_arbitrary_input(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..128), 1..6)) {
        let mut n = node();
        n.handle(1_700_000_000_000, Input::Connected { conn: 1, addr: "127.0.0.1:1".into(), laddr: "127.0.0.1:6379".into() });
        for c in &chunks {
            n.handle(1_700_000_000_000, Input::Data { conn: 1, bytes: c });
        }
        let mut replies = BytesMut::new();
        while let Some(o) = n.poll() {
            if let Output::Send { bytes, .. } = o {
                replies.extend_from_slice(&bytes);
            }
        }
        while !replies.is_empty() {
            match Frame::decode(&mut replies) {
                Ok(Some(_)) => {}
                other => prop_assert!(false, "node sent invalid RESP: {:?}", other),
            }
        }
    }

    /// Random well-formed commands from the implemented table never panic the node.
    #[test]
    fn node_survives_random_commands(
        cmds in proptest::collection::vec((0usize..400, proptest::collection::vec(prop_oneof![
            Just(b"k".to_vec()), Just(b"0".to_vec()), Just(b"-1".to_vec()), Just(b"1.5".to_vec()),
            Just(b"(1".to_vec()), Just(b"[a".to_vec()), Just(b"+inf".to_vec()), Just(b"WITHSCORES".to_vec()),
            Just(b"LIMIT".to_vec()), Just(b"COUNT".to_vec()), Just(b"99999999999999999999".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..8),
        ], 0..7)), 1..30)
    ) {
        let names: Vec<&str> = halab_core::command::implemented().iter().map(|c| c.meta.name)
            .filter(|n| !matches!(*n, "shutdown" | "debug" | "save" | "bgsave" | "quit"))
            .collect();
        let mut n = node();
        n.handle(1_700_000_000_000, Input::Connected { conn: 1, addr: "127.0.0.1:1".into(), laddr: "127.0.0.1:6379".into() });
        for (i, args) in &cmds {
            let mut full = vec![names[i % names.len()].as_bytes().to_vec()];
            full.extend(args.iter().cloned());
            n.handle(1_700_000_000_000, Input::Data { conn: 1, bytes: &Frame::command(&full) });
            while n.poll().is_some() {}
        }
    }

    /// A replica fed arbitrary bytes by its "master" — after plausible handshake replies, a
    /// FULLRESYNC and a snapshot header, or from the first byte — never panics, and what it
    /// sends back stays well-formed RESP.
    #[test]
    fn replica_survives_an_arbitrary_master(
        prefix in 0usize..5,
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..6),
    ) {
        let t = 1_700_000_000_000;
        let mut n = node();
        n.handle(t, Input::Connected { conn: 1, addr: "127.0.0.1:1".into(), laddr: "127.0.0.1:6379".into() });
        n.handle(t, Input::Data { conn: 1, bytes: &Frame::command([b"REPLICAOF".as_slice(), b"127.0.0.1", b"6380"]) });
        let mut link = None;
        while let Some(o) = n.poll() {
            if let Output::Connect { conn, .. } = o {
                link = Some(conn);
            }
        }
        let link = link.expect("REPLICAOF connects to the master");
        n.handle(t, Input::Outbound { conn: link, result: Ok("127.0.0.1:50000".into()) });
        let script: [&[u8]; 5] = [
            b"+PONG\r\n",
            b"+OK\r\n",
            b"+OK\r\n",
            b"+FULLRESYNC 0123456789012345678901234567890123456789 0\r\n",
            b"$40\r\n",
        ];
        for reply in &script[..prefix] {
            n.handle(t, Input::Data { conn: link, bytes: reply });
        }
        for (i, c) in chunks.iter().enumerate() {
            n.handle(t + i as u64 * 700, Input::Data { conn: link, bytes: c });
            n.handle(t + i as u64 * 700, Input::Tick);
        }
        let mut sent = BytesMut::new();
        while let Some(o) = n.poll() {
            if let Output::Send { conn, bytes } = o {
                if conn == link {
                    sent.extend_from_slice(&bytes);
                }
            }
        }
        while !sent.is_empty() {
            match Frame::decode(&mut sent) {
                Ok(Some(_)) => {}
                other => prop_assert!(false, "replica sent invalid RESP to its master: {:?}", other),
            }
        }
    }
}
