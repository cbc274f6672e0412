//! A bare node driven by hand, as the tests that need no simulated network drive it: bytes and
//! time in, bytes and effects out, no runtime at all. It carries out the node's outputs as a
//! driver does ([`halab_core::node`]'s call order: drain after every input, wake the node when
//! [`Node::poll_timeout`] says) and keeps what a test asserts on: each connection's replies,
//! the connections closed or aborted, persist jobs, log lines and a trace of every output.
//!
//! What a real driver decides — when the socket takes what was sent, whether a save succeeds —
//! is an option: [`Driver::writes`] and [`Driver::persist`].

use bytes::BytesMut;
use halab_core::node::{Input, Node, Output};
use halab_core::resp::{render_cli, Frame};
use std::collections::HashMap;

/// When the driver reports sends written ([`Input::Written`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writes {
    /// As soon as the node's outputs are drained: a reader that keeps up (the simulator's way).
    AtOnce,
    /// Never: what is sent stays in the node's output buffer (a client that does not read),
    /// and in [`Driver::unsent`].
    Held,
}

/// What the driver does with a [`Output::Persist`] job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persist {
    /// Answer it at once as written ([`Input::PersistDone`] `Ok`), as a fast disk would.
    Succeed,
    /// Record its id in [`Driver::persist_jobs`] and leave it running: the test answers it,
    /// or never does.
    Hold,
}

pub struct Driver {
    pub node: Node,
    /// The time handed with every input (a test may move it without a tick).
    pub now: u64,
    /// What each connection received and the test has not read yet.
    pub inbox: HashMap<u64, BytesMut>,
    pub writes: Writes,
    pub persist: Persist,
    /// Bytes sent on each connection that were not reported written (with [`Writes::Held`]).
    pub unsent: HashMap<u64, usize>,
    /// Connections the node closed after its replies ([`Output::Close`]).
    pub closed: Vec<u64>,
    /// Connections the node dropped with their unsent output ([`Output::Abort`]).
    pub aborted: Vec<u64>,
    /// Persist jobs started ([`Persist::Hold`] leaves them running) and cancelled.
    pub persist_jobs: Vec<u64>,
    pub cancelled_jobs: Vec<u64>,
    /// The message of every log line.
    pub logs: Vec<String>,
    /// One line per output, in order: `<now> send <conn> <bytes>`, `<now> close <conn>`,
    /// `<now> log <line>`, else the output's kind.
    pub trace: Vec<String>,
    /// Outbound connections the node asked for ([`Output::Connect`]), in order, with their
    /// address; the test answers them ([`Input::Outbound`]) or never does.
    pub connects: Vec<(u64, String)>,
    /// The node's config file, when it has one ([`Driver::with_config_file`]): each
    /// [`Output::RewriteConfig`] is carried out on it at once and answered `Ok`.
    pub config_file: Option<String>,
    /// Every text the config file was rewritten to, in order.
    pub config_writes: Vec<String>,
}

impl Driver {
    /// Drive `node` (see [`super::test_node`]) from [`super::T0`]: sends reported written at
    /// once, persist jobs left running. No connection is open yet.
    pub fn new(node: Node) -> Driver {
        Driver {
            node,
            now: super::T0,
            inbox: HashMap::new(),
            writes: Writes::AtOnce,
            persist: Persist::Hold,
            unsent: HashMap::new(),
            closed: Vec::new(),
            aborted: Vec::new(),
            persist_jobs: Vec::new(),
            cancelled_jobs: Vec::new(),
            logs: Vec::new(),
            trace: Vec::new(),
            connects: Vec::new(),
            config_file: None,
            config_writes: Vec::new(),
        }
    }

    /// Give the node a config file holding `text`, rewritten whenever the node asks.
    pub fn with_config_file(mut self, text: &str) -> Driver {
        self.config_file = Some(text.to_string());
        self
    }

    /// Answer persist jobs as [`Persist`] says.
    pub fn with_persist(mut self, persist: Persist) -> Driver {
        self.persist = persist;
        self
    }

    /// Carry out everything the node asks for; report what was sent as written when
    /// [`Writes::AtOnce`], and carry out what that produces, until the node is quiet.
    pub fn pump(&mut self) {
        loop {
            let mut written = Vec::new();
            while let Some(out) = self.node.poll() {
                let now = self.now;
                match out {
                    Output::Send { conn, bytes } => {
                        self.trace.push(format!("{} send {} {:?}", now, conn, bytes));
                        self.inbox.entry(conn).or_default().extend_from_slice(&bytes);
                        match self.writes {
                            Writes::AtOnce => written.push((conn, bytes.len())),
                            Writes::Held => *self.unsent.entry(conn).or_default() += bytes.len(),
                        }
                    }
                    Output::Close { conn } => {
                        self.trace.push(format!("{} close {}", now, conn));
                        self.closed.push(conn);
                    }
                    Output::Log(l) => {
                        self.trace.push(format!("{} log {}", now, l.render(4242)));
                        self.logs.push(l.message);
                    }
                    other => {
                        self.trace.push(format!("{} {:?}", now, std::mem::discriminant(&other)));
                        match other {
                            Output::Abort { conn } => self.aborted.push(conn),
                            Output::Connect { conn, addr } => self.connects.push((conn, addr)),
                            Output::RewriteConfig { conn } => {
                                if let Some(file) = &mut self.config_file {
                                    *file = self.node.rewrite_config_text(file, "/var/lib/redis");
                                    self.config_writes.push(file.clone());
                                    self.node.handle(now, Input::ConfigRewritten { conn, result: Ok(()) });
                                }
                            }
                            Output::CancelPersist { job } => self.cancelled_jobs.push(job),
                            Output::Persist(job) => {
                                self.persist_jobs.push(job.id);
                                if self.persist == Persist::Succeed {
                                    let done = Input::PersistDone { job: job.id, result: Ok(0), image: None };
                                    self.node.handle(now, done);
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
            if written.is_empty() {
                return;
            }
            for (conn, bytes) in written {
                self.node.handle(self.now, Input::Written { conn, bytes });
            }
        }
    }

    /// The socket of `conn` takes `bytes` more of what was held ([`Writes::Held`]): report
    /// them written, as a driver does when a write completes.
    pub fn write_out(&mut self, conn: u64, bytes: usize) {
        let held = self.unsent.entry(conn).or_default();
        assert!(bytes <= *held, "only {} bytes held for {}", held, conn);
        *held -= bytes;
        self.node.handle(self.now, Input::Written { conn, bytes });
        self.pump();
    }

    /// A client connects on `conn` from `127.0.0.1:<50000 + conn>`.
    pub fn connect(&mut self, conn: u64) {
        let addr = format!("127.0.0.1:{}", 50000 + conn);
        self.node.handle(self.now, Input::Connected { conn, addr, laddr: "127.0.0.1:6379".into() });
        self.pump();
    }

    /// Bytes arrive on `conn`.
    pub fn send_bytes(&mut self, conn: u64, bytes: &[u8]) {
        self.node.handle(self.now, Input::Data { conn, bytes });
        self.pump();
    }

    /// A command arrives on `conn`; its replies wait in the inbox.
    pub fn send<A: AsRef<[u8]>>(&mut self, conn: u64, args: &[A]) {
        self.send_bytes(conn, &Frame::command(args));
    }

    /// The next reply `conn` received, taken out of its inbox.
    pub fn reply(&mut self, conn: u64) -> Option<Frame> {
        Frame::decode(self.inbox.entry(conn).or_default()).unwrap()
    }

    /// Every reply `conn` received so far, taken out of its inbox.
    pub fn replies(&mut self, conn: u64) -> Vec<Frame> {
        let mut buf = self.inbox.remove(&conn).unwrap_or_default();
        let mut out = Vec::new();
        while let Ok(Some(f)) = Frame::decode(&mut buf) {
            out.push(f);
        }
        out
    }

    /// Run a command on `conn` and return its (first) reply; panics if none came.
    pub fn cmd<A: AsRef<[u8]> + std::fmt::Debug>(&mut self, conn: u64, args: &[A]) -> Frame {
        self.send(conn, args);
        self.reply(conn).unwrap_or_else(|| panic!("no reply to {:?}", args))
    }

    /// Run a command on `conn` and return its reply as redis-cli prints it; panics unless
    /// exactly one reply came back.
    pub fn cli_on<A: AsRef<[u8]> + std::fmt::Debug>(&mut self, conn: u64, args: &[A]) -> String {
        let reply = self.cmd(conn, args);
        assert_eq!(self.reply(conn), None, "more than one reply to {:?}", args);
        render_cli(&reply)
    }

    /// [`Driver::cli_on`] connection 1, the words of `line` split at spaces.
    pub fn cli(&mut self, line: &str) -> String {
        let args: Vec<&str> = line.split(' ').collect();
        self.cli_on(1, &args)
    }

    /// A field of `INFO all`, asked on connection 1 (whose inbox it empties).
    pub fn info(&mut self, field: &str) -> String {
        self.send(1, &["INFO", "all"]);
        let Some(Frame::Bulk(text)) = self.replies(1).pop() else { panic!("no INFO") };
        let text = String::from_utf8_lossy(&text).into_owned();
        halab_core::lab::observe::info_field(&text, field).unwrap_or_else(|| panic!("no {} in INFO", field))
    }

    /// Let `ms` of virtual time pass, waking the node at every time it asks for on the way
    /// ([`Node::poll_timeout`]).
    pub fn advance(&mut self, ms: u64) {
        let until = self.now + ms;
        while let Some(t) = self.node.poll_timeout() {
            if t > until {
                break;
            }
            self.now = t.max(self.now);
            self.node.handle(self.now, Input::Tick);
            self.pump();
        }
        self.now = until;
    }
}
