//! The cluster bus codec (`halab_core::cluster::bus`) and nodes.conf format
//! (`halab_core::cluster::nodes_conf`) judged by a real redis-server 7.0: it must accept the
//! messages we encode, we must decode what it sends byte for byte, and we must refuse and
//! log bad frames with the very words it logs. And a node not in cluster mode answers the
//! cluster's commands as redis-server does, so `redis-cli --cluster` refuses it alike.

use halab_core::cluster::bus::{Body, Dropped, FrameReader, Header, Message, MessageType, PingExt};
use halab_core::cluster::nodes_conf::{flag, NodesConf};
use halab_core::cluster::NodeName;
use halab_core::resp::Frame;
use halab_tests::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn text(f: Frame) -> String {
    match f {
        Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        Frame::Verbatim { text, .. } => String::from_utf8_lossy(&text).into_owned(),
        Frame::Simple(s) => s,
        other => panic!("not text: {:?}", other),
    }
}

fn start_node(dir: &std::path::Path, extra: &[&str]) -> Server {
    require_tool("redis-server");
    let port = free_port();
    let conf = format!("nodes-{}.conf", port);
    let mut args = vec!["--cluster-enabled", "yes", "--cluster-config-file", &conf, "--cluster-node-timeout", "5000"];
    args.extend_from_slice(extra);
    Server::start_flavor_on(Flavor::Redis, dir, port, &args)
}

fn myid(s: &Server) -> NodeName {
    let id = text(s.client().call(&["CLUSTER", "MYID"]));
    id.as_bytes().try_into().unwrap()
}

/// A connection to a node's bus port, speaking our codec.
struct BusPeer {
    stream: TcpStream,
    reader: FrameReader,
}

impl BusPeer {
    fn connect(node: &Server) -> BusPeer {
        let stream = TcpStream::connect(("127.0.0.1", node.port + 10000)).expect("bus port");
        stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        BusPeer { stream, reader: FrameReader::default() }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// The next whole frame within 10 s; `None` if the peer closed the link.
    fn frame(&mut self) -> Option<bytes::Bytes> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = [0u8; 8192];
        loop {
            if let Some(f) = self.reader.next_frame().expect("redis-server sent a bad frame") {
                return Some(f);
            }
            match self.stream.read(&mut buf) {
                Ok(0) => return None,
                Ok(n) => self.reader.push(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return None,
            }
            assert!(Instant::now() < deadline, "no frame from the bus in 10 s");
        }
    }

    /// Whether the peer closes the link within 10 s.
    fn closed(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = [0u8; 8192];
        while Instant::now() < deadline {
            match self.stream.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return true,
            }
        }
        false
    }
}

fn stranger() -> NodeName {
    *b"f00dfeedf00dfeedf00dfeedf00dfeedf00dfeed"
}

fn our_ping(kind: MessageType, port: u16) -> Message {
    let mut header = Header::new(kind, stranger());
    header.port = port;
    header.cport = port + 10000;
    header.flags = flag::MASTER;
    Message { header, body: Body::Gossip { entries: vec![], extensions: vec![] } }
}

/// Three real nodes, A with a hostname, met into one cluster covering all slots.
fn three_node_cluster(dir: &std::path::Path) -> (Server, Server, Server) {
    let a = start_node(dir, &["--cluster-announce-hostname", "node-a"]);
    let b = start_node(dir, &[]);
    let c = start_node(dir, &[]);
    a.client().call(&["CLUSTER", "ADDSLOTSRANGE", "0", "5460"]);
    b.client().call(&["CLUSTER", "ADDSLOTSRANGE", "5461", "10922"]);
    c.client().call(&["CLUSTER", "ADDSLOTSRANGE", "10923", "16383"]);
    for other in [&b, &c] {
        let r = a.client().call(&["CLUSTER", "MEET", "127.0.0.1", &other.port.to_string()]);
        assert_eq!(r, simple("OK"));
    }
    for n in [&a, &b, &c] {
        n.wait_for(
            Duration::from_secs(20),
            "cluster_state:ok",
            |s| text(s.client().call(&["CLUSTER", "INFO"])),
            |info| info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:3"),
        );
    }
    (a, b, c)
}

#[test]
fn redis_server_answers_our_ping_and_we_decode_its_pong_byte_for_byte() {
    let dir = TempDir::new("bus-pong");
    let (a, b, c) = three_node_cluster(dir.path());
    let (id_a, id_b, id_c) = (myid(&a), myid(&b), myid(&c));
    let mut peer = BusPeer::connect(&a);
    // An unknown sender's PING still gets a PONG (`clusterProcessPacket`), and adds no node;
    // each PONG gossips about one random other node, so ask until one has.
    let mut gossiped = None;
    for _ in 0..50 {
        peer.send(&our_ping(MessageType::Ping, 1).encode());
        let frame = peer.frame().expect("a PONG");
        let pong = Message::decode(&frame).expect("a valid message");
        // What we decode encodes back to exactly the bytes redis-server sent.
        assert_eq!(pong.encode(), frame, "re-encoding the PONG");
        let h = &pong.header;
        assert_eq!(h.kind(), Some(MessageType::Pong));
        assert_eq!(h.sender, id_a);
        assert_eq!(h.port, a.port);
        assert_eq!(h.cport, a.port + 10000);
        assert_eq!(h.flags & (flag::MYSELF | flag::MASTER), flag::MYSELF | flag::MASTER);
        assert_eq!(h.myslots.ranges_text(), "0-5460");
        assert_eq!(h.slaveof, None);
        assert_eq!(h.state, 0, "cluster ok");
        let Body::Gossip { entries, extensions } = &pong.body else { panic!("a PONG has gossip: {:?}", pong.body) };
        assert_eq!(extensions, &vec![PingExt::Hostname("node-a".into())]);
        assert!(entries.len() <= 1, "wanted = min(3, nodes - 2) = 1: {:?}", entries);
        if let Some(e) = entries.first() {
            assert!(e.name == id_b || e.name == id_c, "gossip about a member: {:?}", e);
            let port = if e.name == id_b { b.port } else { c.port };
            assert_eq!((e.ip.as_str(), e.port, e.cport), ("127.0.0.1", port, port + 10000));
            assert_eq!(e.flags & flag::MASTER, flag::MASTER);
            gossiped = Some(e.clone());
            break;
        }
    }
    assert!(gossiped.is_some(), "50 PONGs without a gossip entry");
    let info = text(a.client().call(&["CLUSTER", "INFO"]));
    assert!(info.contains("cluster_known_nodes:3"), "a PING adds no node:\n{}", info);
}

#[test]
fn redis_server_takes_our_meet_with_our_address() {
    let dir = TempDir::new("bus-meet");
    let a = start_node(dir.path(), &[]);
    let mut peer = BusPeer::connect(&a);
    let our_port = 1234;
    peer.send(&our_ping(MessageType::Meet, our_port).encode());
    let pong = Message::decode(&peer.frame().expect("a PONG to a MEET")).unwrap();
    assert_eq!(pong.header.kind(), Some(MessageType::Pong));
    // The MEET made a handshake node at the socket's address and the ports we announced.
    let nodes = text(a.client().call(&["CLUSTER", "NODES"]));
    let line =
        nodes.lines().find(|l| l.contains("handshake")).unwrap_or_else(|| panic!("no handshake node:\n{}", nodes));
    assert!(line.contains(&format!(" 127.0.0.1:{}@{} ", our_port, our_port + 10000)), "{}", line);
    let info = text(a.client().call(&["CLUSTER", "INFO"]));
    assert!(info.contains("cluster_stats_messages_meet_received:1"), "{}", info);
}

#[test]
fn bad_frames_are_refused_with_redis_words() {
    let dir = TempDir::new("bus-bad");
    let a = start_node(dir.path(), &[]);
    // Not the bus at all: the link is closed, with 7.0's line.
    let mut resp = BusPeer::connect(&a);
    resp.send(b"*1\r\n$4\r\nPING\r\n");
    assert!(resp.closed(), "a RESP speaker on the bus is disconnected");
    a.wait_for(
        Duration::from_secs(5),
        "the bad-signature line",
        |s| s.log(),
        |log| log.contains(halab_core::cluster::bus::BadFrame::LOG),
    );
    // A PING whose count does not fit its length (Debian 7.0.15's check), and one with stray
    // bytes after its gossip: each logged in the words our decoder uses, and the link stays
    // up (the next PING is answered).
    let mut peer = BusPeer::connect(&a);
    let mut bytes = our_ping(MessageType::Ping, 1).encode().to_vec();
    bytes[14..16].copy_from_slice(&2u16.to_be_bytes());
    let Err(Dropped::Logged(ours)) = Message::decode(&bytes) else { panic!("we accept a bad length") };
    peer.send(&bytes);
    peer.send(&our_ping(MessageType::Ping, 1).encode());
    let pong = Message::decode(&peer.frame().expect("still answered")).unwrap();
    assert_eq!(pong.header.kind(), Some(MessageType::Pong));
    let log = a.log();
    assert!(log.contains(&ours), "redis-server logged otherwise; ours: {}\nlog:\n{}", ours, log);
    let mut stray = our_ping(MessageType::Ping, 1).encode().to_vec();
    stray.extend_from_slice(&[0; 50]);
    let len = stray.len() as u32;
    stray[4..8].copy_from_slice(&len.to_be_bytes());
    let Err(Dropped::Logged(ours)) = Message::decode(&stray) else { panic!("we accept stray bytes") };
    peer.send(&stray);
    peer.send(&our_ping(MessageType::Ping, 1).encode());
    assert!(peer.frame().is_some());
    a.wait_for(Duration::from_secs(5), "the stray-bytes line", |s| s.log(), |log| log.contains(&ours));
    // A FAIL with a wrong length too.
    let mut fail =
        Message { header: Header::new(MessageType::Fail, stranger()), body: Body::Fail { about: stranger() } }
            .encode()
            .to_vec();
    fail.extend_from_slice(b"extra");
    let len = fail.len() as u32;
    fail[4..8].copy_from_slice(&len.to_be_bytes());
    let Err(Dropped::Logged(ours)) = Message::decode(&fail) else { panic!("we accept a long FAIL") };
    peer.send(&fail);
    peer.send(&our_ping(MessageType::Ping, 1).encode());
    assert!(peer.frame().is_some());
    a.wait_for(Duration::from_secs(5), "the FAIL length line", |s| s.log(), |log| log.contains(&ours));
}

#[test]
fn nodes_conf_of_a_real_cluster_parses_and_renders_back() {
    let dir = TempDir::new("bus-conf");
    let (a, _b, _c) = three_node_cluster(dir.path());
    a.client().call(&["CLUSTER", "SAVECONFIG"]);
    let path = dir.path().join(format!("nodes-{}.conf", a.port));
    let file = std::fs::read_to_string(&path).unwrap();
    let (conf, skipped) = NodesConf::parse(&file).expect("redis-server's file parses").expect("not empty");
    assert!(skipped.is_empty());
    assert_eq!(conf.nodes.len(), 3);
    assert_eq!(conf.render(), file, "rendered back byte for byte");
    let me = conf.nodes.iter().find(|n| n.flags & flag::MYSELF != 0).unwrap();
    assert_eq!(&me.name, &myid(&a));
    assert_eq!(me.hostname, "node-a");
    assert_eq!(me.slots.ranges_text(), "0-5460");
    // CLUSTER NODES is the same format, line by line.
    let nodes = text(a.client().call(&["CLUSTER", "NODES"]));
    let reparsed = NodesConf::parse(&format!("{}vars currentEpoch 0 lastVoteEpoch 0\n", nodes)).unwrap().unwrap().0;
    for n in &reparsed.nodes {
        assert!(nodes.contains(&n.render()), "{} not in\n{}", n.render(), nodes);
    }
}

#[test]
fn a_node_without_cluster_mode_answers_like_redis_server() {
    require_tool("redis-server");
    require_tool("redis-cli");
    let dir = TempDir::new("bus-nocluster");
    let halab = Server::start_flavor(Flavor::Halab, dir.path(), &[]);
    let redis = Server::start_flavor(Flavor::Redis, dir.path(), &[]);
    let lines: [&[&str]; 8] = [
        &["CLUSTER", "INFO"],
        &["CLUSTER", "KEYSLOT", "key1"],
        &["CLUSTER", "HELP"],
        &["CLUSTER", "NOSUCH"],
        &["CLUSTER"],
        &["ASKING"],
        &["READONLY"],
        &["READWRITE"],
    ];
    for line in lines {
        // Each reply fenced by a PING, so an extra reply cannot hide behind the next.
        let mut replies = Vec::new();
        for s in [&halab, &redis] {
            let mut c = s.client();
            replies.push((c.call(line), c.call(&["PING"])));
        }
        assert_eq!(replies[0], replies[1], "{:?}", line);
        assert_eq!(replies[0].1, simple("PONG"));
    }
    // redis-cli --cluster check refuses both with the same words.
    let mut outputs = Vec::new();
    for s in [&halab, &redis] {
        let out = std::process::Command::new("redis-cli")
            .args(["--cluster", "check", &format!("127.0.0.1:{}", s.port)])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
            .replace(&s.port.to_string(), "PORT");
        outputs.push(text);
    }
    assert!(outputs[0].contains("[ERR] Node 127.0.0.1:PORT is not configured as a cluster node."), "{}", outputs[0]);
    assert_eq!(outputs[0], outputs[1]);
}
