//! The live bridge, driven as the browser drives it: a WebSocket client against `halab lab`.
//!
//! Attach and discovery of halab and redis-server deployments, a promotion seen in the first
//! view after `REPLICAOF NO ONE`'s reply, a supervised Sentinel failover followed live
//! (`+switch-master` in the event stream, the new master drawn) and replayed in the simulator,
//! partitions through the fault proxy (a cut replica's link goes down, the heal resumes it with
//! a partial resync), a lesson run step by step, the security rules, and bad frames. Every wait
//! is for a condition; everything runs on 127.0.0.0/8.

use halab_core::lab::bridge::{self, FromBridge, Message, ViewPatch};
use halab_core::lab::view::{LinkKind, NodeRole, ViewModel};
use halab_tests::{free_port, halab_bin, require_tool, Flavor, Server, TempDir};
use serde_json::json;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tungstenite::{Message as WsMessage, WebSocket};

const LONG: Duration = Duration::from_secs(90);

/// A `halab lab` process, killed on drop (its supervised processes die with it).
struct Lab {
    child: Child,
    port: u16,
}

impl Lab {
    fn start(extra: &[&str]) -> Lab {
        let port = free_port();
        let lessons = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("lessons");
        let child = Command::new(halab_bin())
            .args(["lab", "--port", &port.to_string(), "--dist", "/nonexistent", "--lessons"])
            .arg(&lessons)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start halab lab");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "halab lab did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        Lab { child, port }
    }

    fn connect(&self) -> Ws {
        self.try_connect("", None).expect("the WebSocket opens")
    }

    fn try_connect(&self, query: &str, origin: Option<&str>) -> Result<Ws, String> {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let mut request = tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://127.0.0.1:{}/ws{}",
            self.port, query
        ))
        .unwrap();
        if let Some(o) = origin {
            request.headers_mut().insert("origin", o.parse().unwrap());
        }
        let (socket, _) = tungstenite::client(request, stream).map_err(|e| e.to_string())?;
        Ok(Ws { socket, view: None, seen: Vec::new() })
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // SIGINT: the lab stops its processes as on Ctrl-C; then make sure.
        unsafe_kill(self.child.id(), 2);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unsafe_kill(pid: u32, signal: i32) {
    let _ = Command::new("kill").arg(format!("-{}", signal)).arg(pid.to_string()).status();
}

/// The browser's side: the messages received, and the view they build.
struct Ws {
    socket: WebSocket<TcpStream>,
    view: Option<ViewModel>,
    /// Every message received, in order.
    seen: Vec<Message>,
}

impl Ws {
    fn send(&mut self, value: serde_json::Value) {
        self.socket.send(WsMessage::Text(value.to_string())).unwrap();
    }

    fn request(&mut self, id: u64, mut value: serde_json::Value) {
        value["v"] = json!(bridge::VERSION);
        value["id"] = json!(id);
        self.send(value);
    }

    /// Read until `cond` holds of a message (the view kept up to date meanwhile).
    fn until(
        &mut self,
        what: &str,
        timeout: Duration,
        mut cond: impl FnMut(&Message, Option<&ViewModel>) -> bool,
    ) -> Message {
        let deadline = Instant::now() + timeout;
        loop {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {}; last view: {:#?}\nlast messages: {:#?}",
                what,
                self.view.as_ref().map(|v| v.nodes.iter().map(|n| (&n.name, n.role, n.up)).collect::<Vec<_>>()),
                self.seen.iter().rev().take(8).collect::<Vec<_>>()
            );
            let frame = match self.socket.read() {
                Ok(WsMessage::Text(t)) => t,
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
                {
                    continue
                }
                Err(e) => panic!("socket failed while waiting for {}: {}", what, e),
            };
            let message = serde_json::from_str::<FromBridge>(&frame).expect("a frame of the protocol").message;
            match &message {
                Message::View { view, .. } => self.view = Some(view.clone()),
                Message::Patch { patch } => {
                    if let Some(v) = &mut self.view {
                        ViewPatch::apply(patch.clone(), v);
                    }
                }
                _ => {}
            }
            self.seen.push(message.clone());
            if cond(&message, self.view.as_ref()) {
                return message;
            }
        }
    }

    fn until_view(&mut self, what: &str, timeout: Duration, mut cond: impl FnMut(&ViewModel) -> bool) -> ViewModel {
        if let Some(v) = &self.view {
            if cond(v) {
                return v.clone();
            }
        }
        self.until(what, timeout, |m, v| {
            matches!(m, Message::View { .. } | Message::Patch { .. }) && v.is_some_and(&mut cond)
        });
        self.view.clone().unwrap()
    }

    fn reply(&mut self, id: u64, node: &str, line: &str) -> String {
        self.request(id, json!({"type": "command", "node": node, "line": line}));
        match self.until(
            line,
            LONG,
            |m, _| matches!(m, Message::Reply { id: i, .. } | Message::Error { id: i, .. } if *i == id),
        ) {
            Message::Reply { text, .. } => text,
            Message::Error { message, .. } => panic!("{} failed: {}", line, message),
            _ => unreachable!(),
        }
    }

    fn error_for(&mut self, id: u64) -> String {
        match self.until("an error", LONG, |m, _| matches!(m, Message::Error { id: i, .. } if *i == id)) {
            Message::Error { message, .. } => message,
            _ => unreachable!(),
        }
    }
}

fn role_of(v: &ViewModel, name: &str) -> Option<NodeRole> {
    v.nodes.iter().find(|n| n.name == name).map(|n| n.role)
}

#[test]
fn attaching_discovers_the_deployment_and_sees_a_promotion_in_the_next_view() {
    require_tool("redis-server");
    for flavor in [Flavor::Halab, Flavor::Redis] {
        let dir = TempDir::new("bridge-attach");
        let master = Server::start_flavor(flavor, dir.path(), &[]);
        let mport = master.port.to_string();
        let replica = Server::start_flavor(flavor, dir.path(), &["--replicaof", "127.0.0.1", &mport]);
        let (m, r) = (format!("127.0.0.1:{}", master.port), format!("127.0.0.1:{}", replica.port));
        let lab = Lab::start(&[]);
        let mut ws = lab.connect();
        // Attached to the replica, the lab finds its master.
        ws.request(1, json!({"type": "attach", "addr": r}));
        ws.until_view("the master found from the replica", LONG, |v| {
            role_of(v, &m) == Some(NodeRole::Master)
                && role_of(v, &r) == Some(NodeRole::Slave)
                && v.links.iter().any(|l| l.from == r && l.to == m && l.state.as_str() == "up")
        });
        assert_eq!(ws.reply(2, &r, "SET k v"), "(error) READONLY You can't write against a read only replica.");
        assert_eq!(ws.reply(3, &r, "REPLICAOF NO ONE"), "OK");
        // The bridge observes right after a reply: the next view already shows the promotion.
        ws.until("the view after the reply", LONG, |msg, _| {
            matches!(msg, Message::Patch { .. } | Message::View { .. })
        });
        assert_eq!(role_of(ws.view.as_ref().unwrap(), &r), Some(NodeRole::Master), "{:?}", flavor);
        drop(replica);
        ws.until_view("the stopped replica drawn down", LONG, |v| v.nodes.iter().any(|n| n.name == r && !n.up));
    }
}

#[test]
fn a_supervised_sentinel_failover_is_followed_live_and_replayed_in_the_simulator() {
    require_tool("redis-sentinel");
    for flavor in ["halab", "redis"] {
        supervised_failover(flavor);
    }
}

fn supervised_failover(flavor: &str) {
    let lab = Lab::start(&[]);
    let mut ws = lab.connect();
    ws.request(1, json!({"type": "start", "template": "sentinel", "flavor": flavor}));
    ws.until_view("six processes, the sentinels watching the master", LONG, |v| {
        v.nodes.len() == 6
            && v.nodes.iter().all(|n| n.up)
            && v.links.iter().filter(|l| l.kind == LinkKind::Monitor && l.to == "master" && l.opinion() == "ok").count()
                == 3
            && v.links.iter().filter(|l| l.kind == LinkKind::Replication && l.state.as_str() == "up").count() == 2
    });
    assert_eq!(ws.reply(2, "master", "SET greeting hello"), "OK");
    ws.until("the write on a replica", LONG, |m, _| matches!(m, Message::Patch { .. }));
    ws.request(3, json!({"type": "fault", "step": "kill master"}));
    ws.until_view("the master drawn down", LONG, |v| v.nodes.iter().any(|n| n.name == "master" && !n.up));
    let switch = ws.until("+switch-master from a sentinel's PSUBSCRIBE", LONG, |m, _| {
        matches!(m, Message::Event { event } if event.kind == "sentinel" && event.text.starts_with("+switch-master mymaster 127.0.0.1 6379"))
    });
    let Message::Event { event } = switch else { unreachable!() };
    let new_master = if event.text.ends_with("6380") { "replica1" } else { "replica2" };
    ws.until_view("the new master drawn", LONG, |v| role_of(v, new_master) == Some(NodeRole::Master));
    assert_eq!(ws.reply(4, new_master, "GET greeting"), "\"hello\"");
    // Replayed in the simulator: the same topology and inputs, the same replies.
    ws.request(5, json!({"type": "replay"}));
    let replayed = ws
        .until("the replay", LONG, |m, _| matches!(m, Message::Replayed { id: 5, .. } | Message::Error { id: 5, .. }));
    let Message::Replayed { fragment, compared, divergence, .. } = replayed else { panic!("{:?}", replayed) };
    assert!(fragment.starts_with("seed=2026&blank=1&run="), "{}", fragment);
    let run = bridge::fragment_decode(fragment.split("run=").nth(1).unwrap().split('&').next().unwrap()).unwrap();
    assert!(run.contains("sentinel \"sentinel1\"") && run.contains("kill \"master\""), "{}", run);
    assert_eq!(compared, 2, "SET and GET are compared");
    assert_eq!(divergence, None);
}

#[test]
fn the_fault_proxy_cuts_and_heals_a_replication_link() {
    require_tool("redis-server");
    let lab = Lab::start(&[]);
    let mut ws = lab.connect();
    // Mixed: the master and replica2 are halab, replica1 (the one cut) is redis-server.
    ws.request(1, json!({"type": "start", "template": "replication", "flavor": "mixed"}));
    ws.until_view("both replicas streaming", LONG, |v| {
        v.links.iter().filter(|l| l.kind == LinkKind::Replication && l.state.as_str() == "up").count() == 2
    });
    assert_eq!(ws.reply(2, "replica1", "CONFIG SET repl-timeout 2"), "OK");
    assert_eq!(ws.reply(3, "master", "SET before cut"), "OK");
    ws.request(4, json!({"type": "fault", "step": "cut replica1 master"}));
    ws.until_view("the cut drawn", LONG, |v| v.links.iter().any(|l| l.from == "replica1" && l.state.as_str() == "cut"));
    let deadline = Instant::now() + LONG;
    while !ws.reply(5, "replica1", "INFO replication").contains("master_link_status:down") {
        assert!(Instant::now() < deadline, "the cut replica's link never went down");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(ws.reply(6, "master", "SET during cut"), "OK");
    ws.request(7, json!({"type": "fault", "step": "heal replica1 master"}));
    ws.until("a partial resync after the heal", LONG, |m, _| {
        matches!(m, Message::Event { event } if event.kind == "log" && event.subject == "replica1"
            && event.text.contains("Master accepted a Partial Resynchronization"))
    });
    let deadline = Instant::now() + LONG;
    while ws.reply(8, "replica1", "GET during") != "\"cut\"" {
        assert!(Instant::now() < deadline, "the write made during the cut never arrived");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(ws.reply(10, "replica1", "INFO server").contains("redis_version:7.0"), "replica1 is redis-server");
    // The other replica never noticed.
    assert!(ws.reply(9, "replica2", "INFO replication").contains("master_link_status:up"));
}

#[test]
fn a_lesson_runs_live_step_by_step() {
    let lab = Lab::start(&[]);
    let mut ws = lab.connect();
    ws.request(1, json!({"type": "start_lesson", "lesson": "seed001-replication-master-writes.md"}));
    ws.until_view("the lesson's node", LONG, |v| v.nodes.len() == 1 && v.nodes[0].up);
    for id in 2..8 {
        ws.request(id, json!({"type": "step"}));
        let m = ws.until(
            "a step",
            LONG,
            |m, _| matches!(m, Message::Step { id: i, .. } | Message::Error { id: i, .. } if *i == id),
        );
        match m {
            Message::Step { step, .. } => assert!(step.ok, "{:?}", step),
            Message::Error { message, .. } => {
                assert_eq!(message, "the lesson has no more steps");
                assert_eq!(id, 8 - 1, "six steps ran");
            }
            _ => unreachable!(),
        }
    }
    ws.request(9, json!({"type": "start_lesson", "lesson": "../etc/passwd"}));
    assert!(ws.error_for(9).contains("not a lesson file name"));
}

#[test]
fn the_bridge_keeps_its_rules_and_survives_bad_input() {
    let lab = Lab::start(&["--token", "s3cret"]);
    // Without the token, or from another page, no socket.
    assert!(lab.try_connect("", None).is_err(), "no token");
    assert!(lab.try_connect("?token=wrong", None).is_err(), "a wrong token");
    let other = format!("http://evil.example:{}", lab.port);
    assert!(lab.try_connect("?token=s3cret", Some(&other)).is_err(), "another page's origin");
    let own = format!("http://127.0.0.1:{}", lab.port);
    let mut ws = lab.try_connect("?token=s3cret", Some(&own)).expect("the lab's own page");
    // Only admitted addresses are attached to, and the refusal says why.
    ws.request(1, json!({"type": "attach", "addr": "10.1.2.3:6379"}));
    assert!(ws.error_for(1).contains("not in --allow-attach"));
    // Bad frames: each answered, the socket stays up.
    ws.send(json!("{"));
    ws.socket.send(WsMessage::Text("{".into())).unwrap();
    ws.socket.send(WsMessage::Binary(vec![1, 2, 3])).unwrap();
    ws.send(json!({"v": 2, "id": 3, "type": "hello"}));
    ws.send(json!({"v": 1, "id": 4, "type": "format_disk"}));
    ws.send(json!({"v": 1, "id": 5, "type": "command", "node": "x", "line": "x".repeat(70_000)}));
    ws.request(6, json!({"type": "command", "node": "x", "line": "GET a"}));
    let mut errors = Vec::new();
    ws.until("seven errors", LONG, |m, _| {
        if let Message::Error { message, .. } = m {
            errors.push(message.clone());
        }
        errors.len() == 7
    });
    assert!(errors.iter().any(|e| e.starts_with("no protocol version")), "{:?}", errors);
    assert!(errors.iter().any(|e| e.starts_with("not JSON")), "{:?}", errors);
    assert!(errors.iter().any(|e| e.starts_with("binary frames")), "{:?}", errors);
    assert!(errors.iter().any(|e| e == "protocol version 2 is not 1"), "{:?}", errors);
    assert!(errors.iter().any(|e| e.starts_with("not a request")), "{:?}", errors);
    assert!(errors.iter().any(|e| e.contains("larger than")), "{:?}", errors);
    assert!(errors.iter().any(|e| e.starts_with("not connected")), "{:?}", errors);
    // A "node" that answers garbage is drawn down; the bridge goes on.
    let garbage = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gaddr = garbage.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for s in garbage.incoming().flatten() {
            let mut s = s;
            let _ = std::io::Write::write_all(&mut s, b"!!! not RESP at all\r\n$-5\r\n");
        }
    });
    ws.request(7, json!({"type": "attach", "addr": gaddr}));
    ws.until_view("the garbage node drawn down", LONG, |v| v.nodes.iter().any(|n| n.addr == gaddr && !n.up));
    ws.request(8, json!({"type": "hello"}));
    ws.until("a whole view again", LONG, |m, _| matches!(m, Message::View { .. }));
}

#[test]
fn attaching_to_a_password_protected_deployment_authenticates() {
    require_tool("redis-server");
    for flavor in [Flavor::Halab, Flavor::Redis] {
        let dir = TempDir::new("bridge-auth");
        let master = Server::start_flavor(flavor, dir.path(), &[]);
        let mport = master.port.to_string();
        let replica = Server::start_flavor(flavor, dir.path(), &["--replicaof", "127.0.0.1", &mport]);
        // Passwords set after start (the harness's readiness PING has none).
        replica.client().call(&["CONFIG", "SET", "masterauth", "s3cret"]);
        replica.client().call(&["CONFIG", "SET", "requirepass", "s3cret"]);
        master.client().call(&["CONFIG", "SET", "requirepass", "s3cret"]);
        let (m, r) = (format!("127.0.0.1:{}", master.port), format!("127.0.0.1:{}", replica.port));
        let lab = Lab::start(&[]);
        let mut ws = lab.connect();
        // Without the password the node answers only NOAUTH: drawn down, never guessed at.
        ws.request(1, json!({"type": "attach", "addr": m}));
        ws.until_view("a node that wants a password, drawn down", LONG, |v| {
            v.nodes.len() == 1 && v.nodes[0].addr == m && !v.nodes[0].up
        });
        ws.request(2, json!({"type": "attach", "addr": m, "password": "s3cret"}));
        ws.until_view("the master and its replica, with AUTH", LONG, |v| {
            role_of(v, &m) == Some(NodeRole::Master) && role_of(v, &r) == Some(NodeRole::Slave)
        });
        assert_eq!(ws.reply(3, &r, "GET nothing"), "(nil)", "{:?}: the terminal authenticates too", flavor);
    }
}
