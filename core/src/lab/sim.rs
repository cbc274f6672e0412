//! The simulator: real [`Node`]s on a virtual network, a virtual clock and a seeded RNG.
//!
//! A [`World`] owns named nodes and clients. Everything that happens is an event in one
//! priority queue ordered by `(virtual time, sequence number)`: bytes arriving at a node or a
//! client after their link's latency, a node's timer, a background save finishing. Stepping
//! takes the next event, hands it to the node's real `handle`, and schedules what the node's
//! `poll` asks for. Nothing reads a clock or the OS: the same seed and the same inputs give the
//! same [`TraceEvent`]s, byte for byte.
//!
//! Faults are one vocabulary ([`Fault`]): kill and restart a node (what survives is the last
//! `dump.rdb` it wrote), cut a link one way or both ways, hold a link's traffic and release it,
//! add latency, drop a share of the messages.
//!
//! Nodes also connect to each other (a replica to its master, [`Output::Connect`]). Those links
//! are TCP connections between processes, and a cut behaves as a network partition does to
//! TCP: bytes are not lost but wait, retransmitted, until the link heals — unless one side gives
//! up first (`repl-timeout`) and closes the connection. A connection attempt across a cut gets
//! no answer at all; to a node that is down it is refused. (Client links keep the simpler
//! model: a cut loses what is sent, which is what a learner sees from redis-cli.)
//!
//! Every input (add a node, connect a client, send a command, inject a fault) is logged with its
//! virtual time. [`World::rewind_to`] rebuilds the world from its seed and the inputs before a
//! time: that is how the lab steps back. Acting after a rewind starts a branch; the abandoned
//! future is kept in [`World::branches`] so it can be restored.

use crate::config::Config;
use crate::log::LogLine;
use crate::node::{ConnId, Input, Node, NodeOptions, Output, StartUp, StoredRdb};
use crate::rdb;
use crate::resp::{render_cli, Frame};
use crate::rng::SeededRng;
use bytes::{Bytes, BytesMut};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::fmt;

/// 22 Nov 2026 21:36:26 UTC: the default start of virtual time.
pub const DEFAULT_EPOCH_MS: u64 = 1_795_383_386_000;

/// Something that sends and receives: a node or a client, by name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    Node(String),
    Client(String),
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Node(n) => write!(f, "{}", n),
            Endpoint::Client(c) => write!(f, "client:{}", c),
        }
    }
}

/// The faults a learner (or a lesson) can inject.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// The process dies: connections drop, unsaved data is lost.
    Kill {
        node: String,
    },
    /// Start the process again, loading its last dump.rdb.
    Restart {
        node: String,
    },
    /// The disk damages the node's dump.rdb (its last byte flips, so the checksum no longer
    /// matches): the next start-up fails to load it, as a real one does.
    CorruptRdb {
        node: String,
    },
    /// The node's clock jumps `ms` ahead (an NTP step, a VM resumed): everything it times
    /// sees the gap at once — a sentinel enters TILT.
    ClockJump {
        node: String,
        ms: u64,
    },
    /// Messages from `from` to `to` (and back, unless `one_way`) are lost.
    Cut {
        from: Endpoint,
        to: Endpoint,
        one_way: bool,
    },
    /// Undo cuts, holds, delays and loss between two endpoints.
    Heal {
        a: Endpoint,
        b: Endpoint,
    },
    /// Queue messages between two endpoints until released.
    Hold {
        a: Endpoint,
        b: Endpoint,
    },
    Release {
        a: Endpoint,
        b: Endpoint,
    },
    /// Extra latency in both directions.
    Delay {
        a: Endpoint,
        b: Endpoint,
        ms: u64,
    },
    /// Lose this share (0..=1000 per mille) of messages in both directions.
    Drop {
        a: Endpoint,
        b: Endpoint,
        per_mille: u32,
    },
    /// The process stops running (SIGSTOP: a long GC, a frozen VM) but keeps its connections:
    /// what reaches it waits, its timers do not fire, it answers nothing.
    Pause {
        node: String,
    },
    /// The process runs again (SIGCONT): everything that waited reaches it at once, and its
    /// clock has moved on by the whole pause.
    Resume {
        node: String,
    },
}

/// Where a simulated process works: its `dir` when absolute, else under `/var/lib/redis`
/// (Debian's), as a rewritten config file's `dir` line shows it.
fn sim_working_dir(dir: &str) -> String {
    match dir.trim_end_matches('/') {
        d if d.starts_with('/') => d.to_string(),
        "" | "." => "/var/lib/redis".to_string(),
        d => format!("/var/lib/redis/{}", d.trim_start_matches("./")),
    }
}

/// The simulator runs no programs: every sentinel script is there, and executable.
fn every_script_is_executable(_: &str) -> bool {
    true
}

/// An input to the world, logged for replay.
#[derive(Debug, Clone, PartialEq)]
pub enum WorldInput {
    AddNode {
        name: String,
        addr: String,
        config: String,
    },
    /// A sentinel process (`halab sentinel`): `config` is its sentinel.conf.
    AddSentinel {
        name: String,
        addr: String,
        config: String,
    },
    AddClient {
        name: String,
        node: String,
    },
    Command {
        client: String,
        args: Vec<Vec<u8>>,
    },
    Fault(Fault),
    /// Let virtual time pass.
    Advance {
        ms: u64,
    },
}

/// Everything a node has to say after an input. A simulated socket never fills: what is sent
/// is reported written at once ([`Input::Written`], which produces no output of its own).
fn drain(node: &mut Node, now: u64) -> Vec<Output> {
    let mut outputs = Vec::new();
    while let Some(out) = node.poll() {
        if let Output::Send { conn, bytes } = &out {
            let (conn, bytes) = (*conn, bytes.len());
            outputs.push(out);
            node.handle(now, Input::Written { conn, bytes });
        } else {
            outputs.push(out);
        }
    }
    outputs
}

/// The path the simulator gives a node's config file (INFO's `config_file`).
fn sim_config_path(node: &str) -> String {
    format!("/etc/redis/{}.conf", node)
}

/// One line of the trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceEvent {
    pub at: u64,
    pub kind: TraceKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TraceKind {
    /// An input, kept as data and described when displayed.
    Input(WorldInput),
    Message {
        from: Endpoint,
        to: Endpoint,
        bytes: usize,
        delivered: bool,
    },
    /// A reply a client received (rendered as redis-cli prints it when displayed).
    Reply {
        client: String,
        frame: Frame,
    },
    Log {
        node: String,
        line: String,
    },
    Closed {
        client: String,
    },
    NodeDown {
        node: String,
    },
    NodeUp {
        node: String,
    },
    Saved {
        node: String,
        bytes: usize,
    },
}

impl fmt::Display for TraceEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>8} ", self.at)?;
        match &self.kind {
            TraceKind::Input(input) => write!(f, "input {}", input),
            TraceKind::Message { from, to, bytes, delivered } => {
                write!(f, "msg {} -> {} {}B{}", from, to, bytes, if *delivered { "" } else { " (lost)" })
            }
            TraceKind::Reply { client, frame } => {
                write!(f, "reply {} {}", client, render_cli(frame).replace('\n', " | "))
            }
            TraceKind::Log { node, line } => write!(f, "log {} {}", node, line),
            TraceKind::Closed { client } => write!(f, "closed {}", client),
            TraceKind::NodeDown { node } => write!(f, "down {}", node),
            TraceKind::NodeUp { node } => write!(f, "up {}", node),
            TraceKind::Saved { node, bytes } => write!(f, "saved {} {}B", node, bytes),
        }
    }
}

#[derive(Debug, Clone)]
enum Event {
    /// Bytes travelling over a connection.
    Deliver {
        conn: ConnId,
        from: Endpoint,
        to: Endpoint,
        sent: u64,
        bytes: Bytes,
    },
    /// `closer` closed connection `conn`: the other end learns it.
    Close {
        conn: ConnId,
        closer: Endpoint,
    },
    /// A connection attempt reaches `target`: accepted (and the initiator told), or refused.
    ConnectArrive {
        node: String,
        generation: u64,
        local: ConnId,
        target: Option<String>,
    },
    /// A node's timer; `generation` guards against stale timers after a restart.
    Tick {
        node: String,
        generation: u64,
    },
    PersistDone {
        node: String,
        generation: u64,
        job: u64,
        bytes: usize,
        image: Option<Bytes>,
    },
    /// A sentinel's script ended. The simulator runs no programs: a script takes 10 ms and
    /// succeeds.
    ScriptExited {
        node: String,
        generation: u64,
        id: u64,
    },
    /// A node learns that the other end closed connection `conn` (its own id for it): how a
    /// close reaches a paused node once it runs again.
    PeerClosed {
        node: String,
        generation: u64,
        conn: ConnId,
    },
}

impl Event {
    /// The node whose process this event is an input to, if any (for a connection attempt,
    /// the initiator; its target is checked apart).
    fn node(&self) -> Option<&str> {
        match self {
            Event::Deliver { to: Endpoint::Node(n), .. } => Some(n),
            Event::Deliver { .. } | Event::Close { .. } => None,
            Event::ConnectArrive { node, .. }
            | Event::Tick { node, .. }
            | Event::PersistDone { node, .. }
            | Event::ScriptExited { node, .. }
            | Event::PeerClosed { node, .. } => Some(node),
        }
    }
}

/// A simulated process.
struct SimNode {
    addr: String,
    /// A sentinel rather than a server.
    sentinel: bool,
    /// How far the node's clock is ahead of the world's ([`Fault::ClockJump`]), in ms.
    clock_skew_ms: u64,
    config_text: String,
    node: Option<Node>,
    /// Bumped at every restart so events for a dead incarnation are ignored.
    generation: u64,
    /// The last dump.rdb written, what survives a crash.
    disk: Option<Vec<u8>>,
    /// Images of the saves under way, written to `disk` when each ends (unless cancelled).
    writing: BTreeMap<u64, Vec<u8>>,
    pid: u32,
    next_tick: Option<u64>,
    /// While paused ([`Fault::Pause`]): the events that reached the process and wait for it to
    /// run again, in arrival order. `None` while it runs.
    ///
    /// Invariant: a node with a `Some` here has no `next_tick` armed.
    paused: Option<Vec<Event>>,
}

/// A connection: opened by a client or a node (`from`, which knows it as `from_conn`), accepted
/// by node `to` (which knows it by the world's id, the key of `World::conns`).
#[derive(Debug, Clone)]
struct SimConn {
    from: Endpoint,
    from_conn: ConnId,
    to: String,
}

struct SimClient {
    node: String,
    conn: Option<ConnId>,
    inbox: BytesMut,
    /// Replies received, rendered as redis-cli prints them.
    replies: Vec<Frame>,
}

/// A message on the wire (see [`World::in_flight`]).
#[derive(Debug, Clone, PartialEq)]
pub struct InFlight {
    pub from: Endpoint,
    pub to: Endpoint,
    pub sent: u64,
    pub arrives: u64,
    /// What is being delivered (a cheap clone of the queued bytes).
    pub payload: Bytes,
}

/// A link's faults, for views.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkSummary {
    pub from: Endpoint,
    pub to: Endpoint,
    pub cut: bool,
    pub held: bool,
    pub extra_ms: u64,
    pub drop_per_mille: u32,
    pub held_messages: usize,
}

#[derive(Debug, Clone, Default)]
struct LinkFaults {
    /// Directions that are cut: (from, to).
    cut: bool,
    held: bool,
    extra_ms: u64,
    drop_per_mille: u32,
    queue: Vec<(ConnId, Endpoint, Endpoint, Bytes)>,
}

/// The simulated world. See the module docs.
pub struct World {
    seed: u64,
    epoch: u64,
    now: u64,
    rng: SeededRng,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64, usize)>>,
    /// Event slots, indexed from the queue; delivered slots are reused through `free_slots`.
    events: Vec<Option<Event>>,
    free_slots: Vec<usize>,
    nodes: BTreeMap<String, SimNode>,
    clients: BTreeMap<String, SimClient>,
    /// Open connections by the accepting node's id.
    conns: BTreeMap<ConnId, SimConn>,
    /// (node, its outbound connection id) → the world's id of that connection.
    outbound: BTreeMap<(String, ConnId), ConnId>,
    next_conn: ConnId,
    links: BTreeMap<(Endpoint, Endpoint), LinkFaults>,
    /// Base one-way latency of every link, in ms.
    pub latency_ms: u64,
    trace: Vec<TraceEvent>,
    inputs: Vec<(u64, WorldInput)>,
    /// Futures abandoned by acting after a rewind, newest last.
    pub branches: Vec<Vec<(u64, WorldInput)>>,
}

impl World {
    pub fn new(seed: u64) -> World {
        Self::with_epoch(seed, DEFAULT_EPOCH_MS)
    }

    pub fn with_epoch(seed: u64, epoch: u64) -> World {
        World {
            seed,
            epoch,
            now: epoch,
            rng: SeededRng::new(seed),
            seq: 0,
            queue: BinaryHeap::new(),
            events: Vec::new(),
            free_slots: Vec::new(),
            nodes: BTreeMap::new(),
            clients: BTreeMap::new(),
            conns: BTreeMap::new(),
            outbound: BTreeMap::new(),
            next_conn: 0,
            links: BTreeMap::new(),
            latency_ms: 1,
            trace: Vec::new(),
            inputs: Vec::new(),
            branches: Vec::new(),
        }
    }

    /// Virtual time in Unix ms.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Virtual time since the world started, in ms.
    pub fn elapsed(&self) -> u64 {
        self.now - self.epoch
    }

    pub fn trace(&self) -> &[TraceEvent] {
        &self.trace
    }

    pub fn inputs(&self) -> &[(u64, WorldInput)] {
        &self.inputs
    }

    /// The node's state machine, if the process is up.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.get(name).and_then(|n| n.node.as_ref())
    }

    /// The time on a node's own clock: the world's, plus how far its clock jumped ahead.
    fn clock(&self, name: &str) -> u64 {
        self.now + self.nodes.get(name).map_or(0, |s| s.clock_skew_ms)
    }

    /// The text of a node's config file as the world keeps it (what CONFIG REWRITE or a
    /// sentinel saving its state last wrote).
    pub fn config_text(&self, name: &str) -> Option<&str> {
        self.nodes.get(name).map(|s| s.config_text.as_str())
    }

    /// Whether the node is a sentinel process (up or down).
    pub fn is_sentinel(&self, name: &str) -> bool {
        self.nodes.get(name).is_some_and(|s| s.sentinel)
    }

    pub fn node_names(&self) -> Vec<String> {
        self.nodes.keys().cloned().collect()
    }

    /// Replies a client has received so far.
    pub fn replies(&self, client: &str) -> &[Frame] {
        self.clients.get(client).map(|c| c.replies.as_slice()).unwrap_or(&[])
    }

    /// Apply an input now: log it, then carry it out.
    pub fn apply(&mut self, input: WorldInput) {
        self.inputs.push((self.now, input.clone()));
        self.carry_out(input);
    }

    fn carry_out(&mut self, input: WorldInput) {
        self.trace.push(TraceEvent { at: self.elapsed(), kind: TraceKind::Input(input.clone()) });
        match input {
            WorldInput::AddNode { name, addr, config } => self.add_process(name, addr, config, false),
            WorldInput::AddSentinel { name, addr, config } => self.add_process(name, addr, config, true),
            WorldInput::AddClient { name, node } => {
                self.clients.insert(
                    name.clone(),
                    SimClient { node: node.clone(), conn: None, inbox: BytesMut::new(), replies: Vec::new() },
                );
                self.connect_client(&name);
            }
            WorldInput::Command { client, args } => self.client_send(&client, &Frame::command(&args)),
            WorldInput::Fault(f) => self.inject(f),
            WorldInput::Advance { ms } => {
                let until = self.now + ms;
                self.run_until(until);
            }
        }
    }

    /// A server (or, with `sentinel`, a sentinel) process at `addr`, started at once.
    fn add_process(&mut self, name: String, addr: String, config: String, sentinel: bool) {
        let pid = 1000 + self.nodes.len() as u32 * 111;
        let sim = SimNode {
            sentinel,
            clock_skew_ms: 0,
            addr,
            config_text: config,
            node: None,
            generation: 0,
            disk: None,
            writing: BTreeMap::new(),
            pid,
            next_tick: None,
            paused: None,
        };
        self.nodes.insert(name.clone(), sim);
        self.start_node(&name);
    }

    fn start_node(&mut self, name: &str) {
        let seed = self.rng.next_u64();
        let now = self.clock(name);
        let sim = self.nodes.get_mut(name).expect("known node");
        let mut config = if sim.sentinel { Config::for_sentinel() } else { Config::default() };
        // Config texts come from lessons and the UI; a bad one leaves the node down.
        if config.load_text(&sim.config_text, &mut |_| Err("include is not available in the simulator".into())).is_err()
        {
            return;
        }
        if sim.sentinel && crate::sentinel::Sentinel::load(&config, now, every_script_is_executable).is_err() {
            return;
        }
        sim.generation += 1;
        let mut node = Node::new(NodeOptions {
            logs_to_terminal: false,
            is_executable: every_script_is_executable,
            seed,
            pid: sim.pid + sim.generation as u32,
            config,
            config_file: Some(sim_config_path(name)),
            executable: "halab".into(),
            start_ms: now,
        });
        // The same start-up as a real process: the virtual network always listens, the disk
        // holds what the node last saved. A load error stops the node as it stops the process.
        let rdb = match &sim.disk {
            Some(image) => StoredRdb::Image(image),
            None => StoredRdb::Absent,
        };
        node.handle(now, Input::Start(StartUp { listen: Ok(1), rdb }));
        sim.node = Some(node);
        sim.next_tick = None;
        self.trace.push(TraceEvent { at: self.elapsed(), kind: TraceKind::NodeUp { node: name.to_string() } });
        self.pump(name);
        if let Some(node) = self.nodes.get_mut(name).and_then(|s| s.node.as_mut()) {
            node.handle(now, Input::Ready);
            self.pump(name);
        }
    }

    fn connect_client(&mut self, client: &str) {
        let Some(c) = self.clients.get(client) else { return };
        let node = c.node.clone();
        let Some(sim) = self.nodes.get_mut(&node) else { return };
        let Some(n) = sim.node.as_mut() else {
            return;
        };
        self.next_conn += 1;
        let conn = self.next_conn;
        let port = 40000 + conn;
        let clock = self.now + sim.clock_skew_ms;
        n.handle(clock, Input::Connected { conn, addr: format!("127.0.0.1:{}", port), laddr: sim.addr.clone() });
        self.conns
            .insert(conn, SimConn { from: Endpoint::Client(client.to_string()), from_conn: conn, to: node.clone() });
        if let Some(c) = self.clients.get_mut(client) {
            c.conn = Some(conn);
            c.inbox.clear();
        }
        self.pump(&node);
    }

    /// Send raw bytes from a client to its node (reconnecting first if it was closed).
    pub fn client_send(&mut self, client: &str, bytes: &[u8]) {
        if self.clients.get(client).is_some_and(|c| c.conn.is_none()) {
            self.connect_client(client);
        }
        let Some(c) = self.clients.get(client) else { return };
        let Some(conn) = c.conn else { return };
        let from = Endpoint::Client(client.to_string());
        let to = Endpoint::Node(c.node.clone());
        self.transmit(conn, from, to, Bytes::copy_from_slice(bytes));
    }

    /// Put bytes on the wire from `from` to `to`, through the link's faults.
    fn transmit(&mut self, conn: ConnId, from: Endpoint, to: Endpoint, bytes: Bytes) {
        // Most of the time no link has a fault: skip the lookup (and its key clones).
        let (cut, held, extra_ms, drop_per_mille) = if self.links.is_empty() {
            (false, false, 0, 0)
        } else {
            match self.links.get(&(from.clone(), to.clone())) {
                Some(l) => (l.cut, l.held, l.extra_ms, l.drop_per_mille),
                None => (false, false, 0, 0),
            }
        };
        // TCP between two processes retransmits across a partition: the bytes wait.
        let between_nodes = matches!((&from, &to), (Endpoint::Node(_), Endpoint::Node(_)));
        let (held, cut) = if cut && between_nodes { (true, false) } else { (held, cut) };
        let lost = cut || (drop_per_mille > 0 && !between_nodes && (self.rng.below(1000) as u32) < drop_per_mille);
        self.trace.push(TraceEvent {
            at: self.elapsed(),
            kind: TraceKind::Message { from: from.clone(), to: to.clone(), bytes: bytes.len(), delivered: !lost },
        });
        if lost {
            return;
        }
        if held {
            self.links.entry((from.clone(), to.clone())).or_default().queue.push((conn, from, to, bytes));
            return;
        }
        let at = self.now + self.latency_ms + extra_ms;
        let sent = self.now;
        self.schedule(at, Event::Deliver { conn, from, to, sent, bytes });
    }

    fn schedule(&mut self, at: u64, event: Event) {
        self.seq += 1;
        let slot = match self.free_slots.pop() {
            Some(i) => {
                self.events[i] = Some(event);
                i
            }
            None => {
                self.events.push(Some(event));
                self.events.len() - 1
            }
        };
        self.queue.push(Reverse((at, self.seq, slot)));
    }

    /// Carry out what a node asked for, and (re)arm its timer.
    ///
    /// The node's contract: after every input, drain its outputs until there are none, then
    /// read its timeout. Carrying out an output can be an input itself (CONFIG REWRITE's file
    /// written, a listen refused), whose outputs go out in the same pump.
    fn pump(&mut self, name: &str) {
        let now = self.clock(name);
        loop {
            let Some(sim) = self.nodes.get_mut(name) else { return };
            let Some(node) = sim.node.as_mut() else { return };
            let outputs = drain(node, now);
            if outputs.is_empty() {
                break;
            }
            let generation = sim.generation;
            let pid = sim.pid + generation as u32;
            if self.carry_out_outputs(name, generation, pid, outputs) {
                return;
            }
        }
        let Some(sim) = self.nodes.get_mut(name) else { return };
        let Some(node) = sim.node.as_ref() else { return };
        // The node asks for its timer on its own clock; the world's is behind by the skew.
        let next = node.poll_timeout().map(|t| t.saturating_sub(sim.clock_skew_ms));
        let generation = sim.generation;
        // A paused process arms no timer: resuming it does.
        let rearm = next
            .filter(|_| sim.paused.is_none())
            .filter(|&t| sim.next_tick.is_none_or(|armed| t < armed || armed <= self.now));
        if let Some(t) = rearm {
            sim.next_tick = Some(t);
            self.schedule(t, Event::Tick { node: name.to_string(), generation });
        }
    }

    /// Carry out a node's outputs; true when the node went down doing so.
    fn carry_out_outputs(&mut self, name: &str, generation: u64, pid: u32, outputs: Vec<Output>) -> bool {
        for out in outputs {
            match out {
                Output::Send { conn, bytes } => {
                    if let Some((global, peer)) = self.peer_of(name, conn) {
                        self.transmit(global, Endpoint::Node(name.to_string()), peer, bytes);
                    }
                }
                // Nothing sent waits in a simulated socket: dropping the unsent is closing.
                Output::Close { conn } | Output::Abort { conn } => {
                    if let Some((global, _)) = self.peer_of(name, conn) {
                        let at = self.now + self.latency_ms;
                        self.schedule(at, Event::Close { conn: global, closer: Endpoint::Node(name.to_string()) });
                    }
                }
                Output::Connect { conn, addr } => {
                    let target = self.nodes.iter().find(|(_, n)| n.addr == addr).map(|(t, _)| t.clone());
                    let cut = target.as_ref().is_some_and(|t| {
                        self.links
                            .get(&(Endpoint::Node(name.to_string()), Endpoint::Node(t.clone())))
                            .is_some_and(|l| l.cut)
                    });
                    // Across a partition the SYN gets no answer: the node's own timeout acts.
                    if !cut {
                        let at = self.now + self.latency_ms;
                        let node = name.to_string();
                        self.schedule(at, Event::ConnectArrive { node, generation, local: conn, target });
                    }
                }
                Output::Log(line) => self.log(name, &line, pid),
                Output::Persist(job) => {
                    let image = rdb::encode_rdb(&job.snapshot, &job.aux);
                    let bytes = image.len();
                    let returned = job.return_image.then(|| Bytes::from(image.clone()));
                    if job.write_file {
                        if let Some(sim) = self.nodes.get_mut(name) {
                            sim.writing.insert(job.id, image);
                        }
                    }
                    // A background save takes a little virtual time (one more ms per 64 KB);
                    // a foreground one none.
                    let at = self.now
                        + if job.background { 10 + bytes as u64 / 65536 } else { 0 }
                        + job.extra_duration_us() / 1000;
                    self.schedule(
                        at,
                        Event::PersistDone { node: name.to_string(), generation, job: job.id, bytes, image: returned },
                    );
                }
                Output::CancelPersist { job } => {
                    if let Some(sim) = self.nodes.get_mut(name) {
                        sim.writing.remove(&job);
                    }
                }
                Output::Exit { .. } | Output::Crash => {
                    self.take_down(name);
                    return true;
                }
                Output::RunScript { id, .. } => {
                    let at = self.now + 10;
                    self.schedule(at, Event::ScriptExited { node: name.to_string(), generation, id });
                }
                Output::KillScript { .. } => {}
                Output::Stall { ms } => {
                    // The process is busy: its next timer waits.
                    let t = self.now + ms;
                    self.schedule(t, Event::Tick { node: name.to_string(), generation });
                }
                Output::RewriteConfig { conn } => {
                    // The node's config file is the text the world keeps for it: a restart
                    // reads what CONFIG REWRITE wrote, as on a real disk.
                    let clock = self.clock(name);
                    if let Some(sim) = self.nodes.get_mut(name) {
                        if let Some(node) = sim.node.as_mut() {
                            let cwd = sim_working_dir(&node.config().get_str("dir"));
                            sim.config_text = node.rewrite_config_text(&sim.config_text, &cwd);
                            node.handle(clock, Input::ConfigRewritten { conn, result: Ok(()) });
                        }
                    }
                }
                Output::Listen { conn, .. } => {
                    // The simulated network keeps each node at the address the world gave it.
                    let clock = self.clock(name);
                    if let Some(node) = self.nodes.get_mut(name).and_then(|s| s.node.as_mut()) {
                        let result = Err("the simulated network keeps a node at its address".to_string());
                        node.handle(clock, Input::Listened { conn, result });
                    }
                }
            }
        }
        false
    }

    fn log(&mut self, node: &str, line: &LogLine, pid: u32) {
        self.trace.push(TraceEvent {
            at: self.elapsed(),
            kind: TraceKind::Log { node: node.to_string(), line: line.render(pid) },
        });
    }

    fn take_down(&mut self, name: &str) {
        let Some(sim) = self.nodes.get_mut(name) else { return };
        if sim.node.take().is_none() {
            return;
        }
        sim.next_tick = None;
        sim.paused = None;
        // A save under way dies with its process.
        sim.writing.clear();
        self.trace.push(TraceEvent { at: self.elapsed(), kind: TraceKind::NodeDown { node: name.to_string() } });
        // The OS closes every connection of the dead process; the other ends learn it.
        let me = Endpoint::Node(name.to_string());
        let dead: Vec<ConnId> =
            self.conns.iter().filter(|(_, c)| c.to == name || c.from == me).map(|(id, _)| *id).collect();
        for conn in dead {
            self.connection_closed(conn, &me);
        }
    }

    /// The connection's end `closer` closed it: tell the other end and forget it.
    fn connection_closed(&mut self, conn: ConnId, closer: &Endpoint) {
        let Some(sc) = self.conns.remove(&conn) else { return };
        if let Endpoint::Node(n) = &sc.from {
            self.outbound.remove(&(n.clone(), sc.from_conn));
        }
        // The other end, and the id it knows the connection by.
        let (other, id) = match closer {
            Endpoint::Node(n) if *n == sc.to => (sc.from, sc.from_conn),
            _ => (Endpoint::Node(sc.to), conn),
        };
        match other {
            Endpoint::Client(client) => {
                if let Some(c) = self.clients.get_mut(&client) {
                    if c.conn == Some(conn) {
                        c.conn = None;
                    }
                }
                self.trace.push(TraceEvent { at: self.elapsed(), kind: TraceKind::Closed { client } });
            }
            Endpoint::Node(n) => {
                // A paused process learns of the close when it runs again.
                if let Some(sim) = self.nodes.get_mut(&n).filter(|s| s.node.is_some()) {
                    if let Some(waiting) = sim.paused.as_mut() {
                        waiting.push(Event::PeerClosed { node: n.clone(), generation: sim.generation, conn: id });
                        return;
                    }
                }
                let clock = self.clock(&n);
                if let Some(node) = self.nodes.get_mut(&n).and_then(|s| s.node.as_mut()) {
                    node.handle(clock, Input::Closed { conn: id });
                    self.pump(&n);
                }
            }
        }
    }

    /// Whether `name`'s process is stopped ([`Fault::Pause`]).
    pub fn is_paused(&self, name: &str) -> bool {
        self.nodes.get(name).is_some_and(|s| s.paused.is_some())
    }

    /// The world's id of a node's connection and the endpoint at its other end.
    fn peer_of(&self, node: &str, conn: ConnId) -> Option<(ConnId, Endpoint)> {
        if crate::net::is_outbound(conn) {
            let global = *self.outbound.get(&(node.to_string(), conn))?;
            let sc = self.conns.get(&global)?;
            Some((global, Endpoint::Node(sc.to.clone())))
        } else {
            let sc = self.conns.get(&conn)?;
            Some((conn, sc.from.clone()))
        }
    }

    fn inject(&mut self, fault: Fault) {
        match fault {
            Fault::Kill { node } => self.take_down(&node),
            Fault::Restart { node } => {
                if self.nodes.get(&node).is_some_and(|s| s.node.is_none()) {
                    self.start_node(&node);
                }
            }
            Fault::ClockJump { node, ms } => {
                if let Some(sim) = self.nodes.get_mut(&node) {
                    sim.clock_skew_ms += ms;
                }
                if self.nodes.get(&node).is_some_and(|s| s.node.is_some()) {
                    // The jump is seen at the node's next timer: run it now.
                    let clock = self.clock(&node);
                    if let Some(n) = self.nodes.get_mut(&node).and_then(|s| s.node.as_mut()) {
                        n.handle(clock, Input::Tick);
                    }
                    self.pump(&node);
                }
            }
            Fault::CorruptRdb { node } => {
                if let Some(last) = self.nodes.get_mut(&node).and_then(|s| s.disk.as_mut()).and_then(|d| d.last_mut()) {
                    *last ^= 0xff;
                }
            }
            Fault::Cut { from, to, one_way } => {
                self.links.entry((from.clone(), to.clone())).or_default().cut = true;
                if !one_way {
                    self.links.entry((to, from)).or_default().cut = true;
                }
            }
            Fault::Heal { a, b } => {
                for key in [(a.clone(), b.clone()), (b, a)] {
                    if let Some(link) = self.links.remove(&key) {
                        self.flush_held(link.queue);
                    }
                }
            }
            Fault::Hold { a, b } => {
                for key in [(a.clone(), b.clone()), (b, a)] {
                    self.links.entry(key).or_default().held = true;
                }
            }
            Fault::Release { a, b } => {
                for key in [(a.clone(), b.clone()), (b, a)] {
                    if let Some(link) = self.links.get_mut(&key) {
                        link.held = false;
                        let q = std::mem::take(&mut link.queue);
                        self.flush_held(q);
                    }
                }
            }
            Fault::Delay { a, b, ms } => {
                for key in [(a.clone(), b.clone()), (b, a)] {
                    self.links.entry(key).or_default().extra_ms = ms;
                }
            }
            Fault::Drop { a, b, per_mille } => {
                for key in [(a.clone(), b.clone()), (b, a)] {
                    self.links.entry(key).or_default().drop_per_mille = per_mille.min(1000);
                }
            }
            Fault::Pause { node } => {
                if let Some(sim) = self.nodes.get_mut(&node).filter(|s| s.node.is_some() && s.paused.is_none()) {
                    sim.paused = Some(Vec::new());
                    sim.next_tick = None;
                }
            }
            Fault::Resume { node } => {
                let Some(sim) = self.nodes.get_mut(&node) else { return };
                let Some(waiting) = sim.paused.take() else { return };
                // What waited arrives now, in the order it came; then the timer, late by the
                // whole pause, as a stopped process's overdue timers fire.
                let generation = sim.generation;
                for event in waiting {
                    self.schedule(self.now, event);
                }
                self.schedule(self.now, Event::Tick { node, generation });
            }
        }
    }

    fn flush_held(&mut self, queue: Vec<(ConnId, Endpoint, Endpoint, Bytes)>) {
        for (conn, from, to, bytes) in queue {
            let at = self.now + self.latency_ms;
            if !self.conns.contains_key(&conn) {
                continue;
            }
            let sent = self.now;
            self.schedule(at, Event::Deliver { conn, from, to, sent, bytes });
        }
    }

    /// Messages on the wire now: (from, to, sent at, arrives at, bytes), in send order — what
    /// the topology draws as moving dots.
    pub fn in_flight(&self) -> Vec<InFlight> {
        let mut out: Vec<(u64, InFlight)> = self
            .queue
            .iter()
            .filter_map(|Reverse((at, seq, idx))| match self.events.get(*idx)? {
                Some(Event::Deliver { from, to, sent, bytes, .. }) => Some((
                    *seq,
                    InFlight { from: from.clone(), to: to.clone(), sent: *sent, arrives: *at, payload: bytes.clone() },
                )),
                _ => None,
            })
            .collect();
        out.sort_by_key(|(seq, _)| *seq);
        out.into_iter().map(|(_, m)| m).collect()
    }

    /// Process the next event, if any. Returns false when nothing is scheduled.
    pub fn step(&mut self) -> bool {
        let Some(Reverse((at, _, idx))) = self.queue.pop() else { return false };
        let taken = self.events[idx].take();
        self.free_slots.push(idx);
        let Some(event) = taken else { return true };
        self.now = self.now.max(at);
        // A paused process takes no input: the event waits for it (a connection attempt also
        // waits for a paused target to accept it).
        let waits_for = match (&event, event.node()) {
            (_, Some(n)) if self.is_paused(n) => Some(n),
            (Event::ConnectArrive { target: Some(t), .. }, _) if self.is_paused(t) => Some(t.as_str()),
            _ => None,
        };
        if let Some(n) = waits_for {
            let n = n.to_string();
            if let Some(waiting) = self.nodes.get_mut(&n).and_then(|s| s.paused.as_mut()) {
                // Its timer is re-armed at resume.
                if !matches!(event, Event::Tick { .. }) {
                    waiting.push(event);
                }
            }
            return true;
        }
        match event {
            Event::Deliver { conn, to: Endpoint::Node(name), bytes, .. } => {
                let Some(sc) = self.conns.get(&conn) else { return true };
                // The accepting node knows the connection by the world's id, the opening node
                // by its own.
                let local = if sc.to == name { conn } else { sc.from_conn };
                let clock = self.clock(&name);
                if let Some(node) = self.nodes.get_mut(&name).and_then(|s| s.node.as_mut()) {
                    node.handle(clock, Input::Data { conn: local, bytes: &bytes });
                    self.pump(&name);
                }
            }
            Event::Deliver { conn, to: Endpoint::Client(name), bytes, .. } => {
                let Some(c) = self.clients.get_mut(&name) else { return true };
                if c.conn != Some(conn) {
                    return true;
                }
                c.inbox.extend_from_slice(&bytes);
                while let Ok(Some(frame)) = Frame::decode(&mut c.inbox) {
                    c.replies.push(frame.clone());
                    self.trace.push(TraceEvent {
                        at: self.now - self.epoch,
                        kind: TraceKind::Reply { client: name.clone(), frame },
                    });
                }
            }
            Event::Close { conn, closer } => self.connection_closed(conn, &closer),
            Event::ConnectArrive { node, generation, local, target } => {
                let Some(sim) = self.nodes.get(&node) else { return true };
                if sim.generation != generation || sim.node.is_none() {
                    return true;
                }
                let initiator_host = crate::net::host_of(&sim.addr).to_string();
                let accepted = target.filter(|t| self.nodes.get(t).is_some_and(|s| s.node.is_some()));
                let result = match accepted {
                    Some(t) => {
                        self.next_conn += 1;
                        let global = self.next_conn;
                        // The initiator's end of the connection, as both sides see it.
                        let laddr = format!("{}:{}", initiator_host, 40000 + global);
                        let taddr = self.nodes[&t].addr.clone();
                        self.conns.insert(
                            global,
                            SimConn { from: Endpoint::Node(node.clone()), from_conn: local, to: t.clone() },
                        );
                        self.outbound.insert((node.clone(), local), global);
                        let clock = self.clock(&t);
                        if let Some(n) = self.nodes.get_mut(&t).and_then(|s| s.node.as_mut()) {
                            n.handle(clock, Input::Connected { conn: global, addr: laddr.clone(), laddr: taddr });
                        }
                        self.pump(&t);
                        Ok(laddr)
                    }
                    None => Err("Connection refused".to_string()),
                };
                let clock = self.clock(&node);
                if let Some(n) = self.nodes.get_mut(&node).and_then(|s| s.node.as_mut()) {
                    n.handle(clock, Input::Outbound { conn: local, result });
                    self.pump(&node);
                }
            }
            Event::PeerClosed { node, generation, conn } => {
                let Some(sim) = self.nodes.get(&node) else { return true };
                if sim.generation != generation {
                    return true;
                }
                let clock = self.clock(&node);
                if let Some(n) = self.nodes.get_mut(&node).and_then(|s| s.node.as_mut()) {
                    n.handle(clock, Input::Closed { conn });
                    self.pump(&node);
                }
            }
            Event::ScriptExited { node, generation, id } => {
                let Some(sim) = self.nodes.get_mut(&node) else { return true };
                if sim.generation != generation {
                    return true;
                }
                let clock = self.now + sim.clock_skew_ms;
                if let Some(n) = sim.node.as_mut() {
                    n.handle(clock, Input::ScriptExited { id, exit_code: 0, signal: 0 });
                    self.pump(&node);
                }
            }
            Event::Tick { node, generation } => {
                let Some(sim) = self.nodes.get_mut(&node) else { return true };
                if sim.generation != generation || sim.next_tick.is_some_and(|t| t > self.now) {
                    return true;
                }
                sim.next_tick = None;
                let clock = self.now + sim.clock_skew_ms;
                if let Some(n) = sim.node.as_mut() {
                    n.handle(clock, Input::Tick);
                    self.pump(&node);
                }
            }
            Event::PersistDone { node, generation, job, bytes, image } => {
                let Some(sim) = self.nodes.get_mut(&node) else { return true };
                if sim.generation != generation {
                    return true;
                }
                if let Some(written) = sim.writing.remove(&job) {
                    sim.disk = Some(written);
                    let at = self.elapsed();
                    self.trace.push(TraceEvent { at, kind: TraceKind::Saved { node: node.clone(), bytes } });
                }
                let Some(sim) = self.nodes.get_mut(&node) else { return true };
                let clock = self.now + sim.clock_skew_ms;
                if let Some(n) = sim.node.as_mut() {
                    n.handle(clock, Input::PersistDone { job, result: Ok(bytes), image });
                    self.pump(&node);
                }
            }
        }
        true
    }

    /// Process events up to and including virtual time `until` (Unix ms), then stop there.
    pub fn run_until(&mut self, until: u64) {
        while let Some(Reverse((at, _, _))) = self.queue.peek() {
            if *at > until {
                break;
            }
            self.step();
        }
        self.now = self.now.max(until);
    }

    /// Let `ms` of virtual time pass (a logged input).
    pub fn advance(&mut self, ms: u64) {
        self.apply(WorldInput::Advance { ms });
    }

    /// Send a command from a client and let the world run until its reply arrives (or
    /// `timeout_ms` of virtual time pass). Returns the reply.
    pub fn command(&mut self, client: &str, args: &[&str]) -> Option<Frame> {
        let before = self.replies(client).len();
        self.apply(WorldInput::Command {
            client: client.to_string(),
            args: args.iter().map(|a| a.as_bytes().to_vec()).collect(),
        });
        let deadline = self.now + 5_000;
        while self.replies(client).len() == before && self.now < deadline {
            let next = self.queue.peek().map(|Reverse((at, _, _))| *at);
            match next {
                Some(at) if at <= deadline => {
                    self.step();
                }
                _ => break,
            }
        }
        self.replies(client).get(before).cloned()
    }

    /// Rebuild the world as it was at `elapsed_ms` after its start, by replaying the logged
    /// inputs before that time from the seed. The inputs after it are kept as a branch.
    pub fn rewind_to(&mut self, elapsed_ms: u64) {
        let cut = self.epoch + elapsed_ms;
        let keep: Vec<(u64, WorldInput)> = self.inputs.iter().filter(|(t, _)| *t < cut).cloned().collect();
        let future: Vec<(u64, WorldInput)> = self.inputs.iter().filter(|(t, _)| *t >= cut).cloned().collect();
        let mut branches = std::mem::take(&mut self.branches);
        if !future.is_empty() {
            branches.push(self.inputs.clone());
        }
        let latency = self.latency_ms;
        *self = World::with_epoch(self.seed, self.epoch);
        self.latency_ms = latency;
        for (t, input) in keep {
            self.run_until(t);
            self.inputs.push((t, input.clone()));
            self.carry_out(input);
        }
        self.run_until(cut);
        self.branches = branches;
    }

    /// Replay a whole input log into a fresh world (the way a shared link reproduces a run).
    pub fn replay(seed: u64, inputs: &[(u64, WorldInput)]) -> World {
        let mut w = World::new(seed);
        for (t, input) in inputs {
            w.run_until(*t);
            w.inputs.push((*t, input.clone()));
            w.carry_out(input.clone());
        }
        w
    }

    /// The trace rendered one event per line: what determinism tests compare.
    pub fn trace_text(&self) -> String {
        let mut s = String::new();
        for e in &self.trace {
            s.push_str(&e.to_string());
            s.push('\n');
        }
        s
    }

    /// Queued, not yet delivered events (for the timeline).
    pub fn pending_events(&self) -> usize {
        self.queue.len()
    }

    /// Links with a fault on them: (from, to, cut, held, extra latency, loss ‰, held messages).
    pub fn faulty_links(&self) -> Vec<LinkSummary> {
        self.links
            .iter()
            .map(|((from, to), l)| LinkSummary {
                from: from.clone(),
                to: to.clone(),
                cut: l.cut,
                held: l.held,
                extra_ms: l.extra_ms,
                drop_per_mille: l.drop_per_mille,
                held_messages: l.queue.len(),
            })
            .collect()
    }

    /// Clients and the node each is attached to, with whether the connection is open.
    pub fn client_links(&self) -> Vec<(String, String, bool)> {
        self.clients.iter().map(|(name, c)| (name.clone(), c.node.clone(), c.conn.is_some())).collect()
    }

    /// A node's address, as configured (simulated addresses may be the tutorials' own).
    pub fn node_addr(&self, name: &str) -> Option<&str> {
        self.nodes.get(name).map(|n| n.addr.as_str())
    }

    /// What the held links are keeping back.
    pub fn held_messages(&self) -> VecDeque<(Endpoint, Endpoint, usize)> {
        self.links
            .iter()
            .flat_map(|((a, b), l)| l.queue.iter().map(move |(_, _, _, bytes)| (a.clone(), b.clone(), bytes.len())))
            .collect()
    }
}

fn endpoint_text(e: &Endpoint) -> String {
    match e {
        Endpoint::Node(n) => format!("n:{}", n),
        Endpoint::Client(c) => format!("c:{}", c),
    }
}

fn endpoint_parse(s: &str) -> Option<Endpoint> {
    match s.split_once(':')? {
        ("n", name) => Some(Endpoint::Node(name.to_string())),
        ("c", name) => Some(Endpoint::Client(name.to_string())),
        _ => None,
    }
}

/// Write an input log as text, one input a line: `<ms since start> <kind> <args…>` with every
/// argument quoted as Redis quotes strings. This is what the lab puts in its URL so that a link
/// reproduces a run exactly.
pub fn encode_inputs(inputs: &[(u64, WorldInput)], epoch: u64) -> String {
    use crate::resp::repr;
    let q = |s: &str| repr(s.as_bytes());
    let mut out = String::new();
    for (t, input) in inputs {
        let body = match input {
            WorldInput::AddNode { name, addr, config } => format!("node {} {} {}", q(name), q(addr), q(config)),
            WorldInput::AddSentinel { name, addr, config } => {
                format!("sentinel {} {} {}", q(name), q(addr), q(config))
            }
            WorldInput::AddClient { name, node } => format!("client {} {}", q(name), q(node)),
            WorldInput::Command { client, args } => {
                let words: Vec<String> = args.iter().map(|a| repr(a)).collect();
                format!("cmd {} {}", q(client), words.join(" "))
            }
            WorldInput::Advance { ms } => format!("advance {}", ms),
            WorldInput::Fault(f) => match f {
                Fault::Kill { node } => format!("kill {}", q(node)),
                Fault::Restart { node } => format!("restart {}", q(node)),
                Fault::CorruptRdb { node } => format!("corrupt-rdb {}", q(node)),
                Fault::ClockJump { node, ms } => format!("clock-jump {} {}", q(node), ms),
                Fault::Cut { from, to, one_way } => {
                    format!("cut {} {} {}", q(&endpoint_text(from)), q(&endpoint_text(to)), *one_way as u8)
                }
                Fault::Heal { a, b } => format!("heal {} {}", q(&endpoint_text(a)), q(&endpoint_text(b))),
                Fault::Hold { a, b } => format!("hold {} {}", q(&endpoint_text(a)), q(&endpoint_text(b))),
                Fault::Release { a, b } => format!("release {} {}", q(&endpoint_text(a)), q(&endpoint_text(b))),
                Fault::Delay { a, b, ms } => format!("delay {} {} {}", q(&endpoint_text(a)), q(&endpoint_text(b)), ms),
                Fault::Drop { a, b, per_mille } => {
                    format!("drop {} {} {}", q(&endpoint_text(a)), q(&endpoint_text(b)), per_mille)
                }
                Fault::Pause { node } => format!("pause {}", q(node)),
                Fault::Resume { node } => format!("resume {}", q(node)),
            },
        };
        out.push_str(&format!("{} {}\n", t.saturating_sub(epoch), body));
    }
    out
}

/// Read back what [`encode_inputs`] wrote, as (ms since start, input). `None` if malformed.
pub fn decode_inputs(text: &str) -> Option<Vec<(u64, WorldInput)>> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let words: Vec<String> = crate::resp::split_args(line.as_bytes())?
            .into_iter()
            .map(|w| String::from_utf8_lossy(&w).into_owned())
            .collect();
        let t: u64 = words.first()?.parse().ok()?;
        let w = |i: usize| words.get(i).cloned();
        let ep = |i: usize| endpoint_parse(words.get(i)?);
        let num = |i: usize| words.get(i)?.parse::<u64>().ok();
        let input = match words.get(1)?.as_str() {
            "node" => WorldInput::AddNode { name: w(2)?, addr: w(3)?, config: w(4)? },
            "sentinel" => WorldInput::AddSentinel { name: w(2)?, addr: w(3)?, config: w(4)? },
            "client" => WorldInput::AddClient { name: w(2)?, node: w(3)? },
            "cmd" => {
                let args: Vec<Vec<u8>> = crate::resp::split_args(line.as_bytes())?.into_iter().skip(3).collect();
                WorldInput::Command { client: w(2)?, args }
            }
            "advance" => WorldInput::Advance { ms: num(2)? },
            "kill" => WorldInput::Fault(Fault::Kill { node: w(2)? }),
            "restart" => WorldInput::Fault(Fault::Restart { node: w(2)? }),
            "corrupt-rdb" => WorldInput::Fault(Fault::CorruptRdb { node: w(2)? }),
            "clock-jump" => WorldInput::Fault(Fault::ClockJump { node: w(2)?, ms: num(3)? }),
            "cut" => WorldInput::Fault(Fault::Cut { from: ep(2)?, to: ep(3)?, one_way: num(4)? == 1 }),
            "heal" => WorldInput::Fault(Fault::Heal { a: ep(2)?, b: ep(3)? }),
            "hold" => WorldInput::Fault(Fault::Hold { a: ep(2)?, b: ep(3)? }),
            "release" => WorldInput::Fault(Fault::Release { a: ep(2)?, b: ep(3)? }),
            "delay" => WorldInput::Fault(Fault::Delay { a: ep(2)?, b: ep(3)?, ms: num(4)? }),
            "drop" => WorldInput::Fault(Fault::Drop { a: ep(2)?, b: ep(3)?, per_mille: num(4)? as u32 }),
            "pause" => WorldInput::Fault(Fault::Pause { node: w(2)? }),
            "resume" => WorldInput::Fault(Fault::Resume { node: w(2)? }),
            _ => return None,
        };
        out.push((t, input));
    }
    Some(out)
}

/// The simulator benchmark: a world of 6 nodes, each with a client.
pub fn benchmark_world() -> World {
    let mut w = World::new(1);
    for i in 0..6 {
        w.apply(WorldInput::AddNode {
            name: format!("n{i}"),
            addr: format!("192.168.30.201:{}", 6390 + i),
            config: String::new(),
        });
        w.apply(WorldInput::AddClient { name: format!("c{i}"), node: format!("n{i}") });
    }
    w
}

/// Drive the benchmark's load for `simulated_secs`: every client sends 100 commands per
/// simulated second (SET and GET in turn). Returns the number of commands sent. The native
/// example and the browser's `#bench=1` both measure this, so their figures compare.
pub fn benchmark_load(w: &mut World, simulated_secs: u64) -> u64 {
    let mut commands = 0;
    for tick in 0..simulated_secs * 100 {
        for i in 0..6 {
            let key = format!("key:{}", tick % 1000).into_bytes();
            let args =
                if tick % 2 == 0 { vec![b"SET".to_vec(), key, b"value".to_vec()] } else { vec![b"GET".to_vec(), key] };
            w.apply(WorldInput::Command { client: format!("c{i}"), args });
            commands += 1;
        }
        let until = w.now() + 10;
        w.run_until(until);
    }
    commands
}

impl fmt::Display for WorldInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&describe(self))
    }
}

fn describe(input: &WorldInput) -> String {
    match input {
        WorldInput::AddNode { name, addr, .. } => format!("add node {} at {}", name, addr),
        WorldInput::AddSentinel { name, addr, .. } => format!("add sentinel {} at {}", name, addr),
        WorldInput::AddClient { name, node } => format!("add client {} -> {}", name, node),
        WorldInput::Command { client, args } => {
            let words: Vec<String> = args.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
            format!("{}> {}", client, words.join(" "))
        }
        WorldInput::Fault(f) => format!("fault {:?}", f),
        WorldInput::Advance { ms } => format!("advance {}ms", ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_node(seed: u64) -> World {
        let mut w = World::new(seed);
        w.apply(WorldInput::AddNode {
            name: "m".into(),
            addr: "192.168.131.148:6379".into(),
            config: "save 900 1\n".into(),
        });
        w.apply(WorldInput::AddClient { name: "cli".into(), node: "m".into() });
        w
    }

    #[test]
    fn a_session_runs_on_the_real_node() {
        let mut w = one_node(1);
        assert_eq!(w.command("cli", &["SET", "keyone", "lisuo"]), Some(Frame::Simple("OK".into())));
        w.command("cli", &["LPUSH", "menu", "apple", "banana"]);
        w.command("cli", &["LPUSH", "menu", "pine"]);
        let r = w.command("cli", &["LRANGE", "menu", "0", "-1"]).unwrap();
        assert_eq!(render_cli(&r), "1) \"pine\"\n2) \"banana\"\n3) \"apple\"");
        assert!(w.trace_text().contains("log m 1001:M 22 Nov 2026 21:36:26.000 * Running mode=standalone, port=6379."));
    }

    #[test]
    fn a_crash_loses_what_was_not_saved() {
        let mut w = one_node(1);
        w.command("cli", &["SET", "saved", "1"]);
        w.command("cli", &["SAVE"]);
        w.command("cli", &["SET", "unsaved", "1"]);
        w.apply(WorldInput::Fault(Fault::Kill { node: "m".into() }));
        assert!(w.node("m").is_none());
        assert!(w.trace_text().contains("closed cli"));
        w.apply(WorldInput::Fault(Fault::Restart { node: "m".into() }));
        assert_eq!(w.command("cli", &["GET", "saved"]), Some(Frame::Bulk("1".into())));
        assert_eq!(w.command("cli", &["GET", "unsaved"]), Some(Frame::NullBulk));
    }

    #[test]
    fn cut_links_lose_messages_and_held_links_deliver_later() {
        let mut w = one_node(1);
        let c = Endpoint::Client("cli".into());
        let m = Endpoint::Node("m".into());
        w.apply(WorldInput::Fault(Fault::Cut { from: c.clone(), to: m.clone(), one_way: true }));
        assert_eq!(w.command("cli", &["PING"]), None);
        w.apply(WorldInput::Fault(Fault::Heal { a: c.clone(), b: m.clone() }));
        assert_eq!(w.command("cli", &["PING"]), Some(Frame::Simple("PONG".into())));
        w.apply(WorldInput::Fault(Fault::Hold { a: c.clone(), b: m.clone() }));
        assert_eq!(w.command("cli", &["ECHO", "later"]), None);
        assert_eq!(w.held_messages().len(), 1);
        w.apply(WorldInput::Fault(Fault::Release { a: c, b: m }));
        w.advance(10);
        assert_eq!(w.replies("cli").last(), Some(&Frame::Bulk("later".into())));
    }

    #[test]
    fn messages_in_flight_are_visible_until_they_arrive() {
        let mut w = one_node(1);
        w.apply(WorldInput::Fault(Fault::Delay {
            a: Endpoint::Client("cli".into()),
            b: Endpoint::Node("m".into()),
            ms: 100,
        }));
        w.apply(WorldInput::Command { client: "cli".into(), args: vec![b"PING".to_vec()] });
        let f = w.in_flight();
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].from.clone(), f[0].to.clone()), (Endpoint::Client("cli".into()), Endpoint::Node("m".into())));
        assert_eq!(f[0].arrives - f[0].sent, 101);
        let arrive = f[0].arrives;
        w.run_until(arrive);
        let back = w.in_flight();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].to, Endpoint::Client("cli".into()));
    }

    #[test]
    fn delay_shifts_replies_in_virtual_time() {
        let mut w = one_node(1);
        w.apply(WorldInput::Fault(Fault::Delay {
            a: Endpoint::Client("cli".into()),
            b: Endpoint::Node("m".into()),
            ms: 200,
        }));
        let t0 = w.elapsed();
        w.command("cli", &["PING"]);
        // 200 ms each way on top of the network's 1 ms.
        assert_eq!(w.elapsed() - t0, 402, "round trip took {}ms", w.elapsed() - t0);
    }

    #[test]
    fn expiry_and_save_points_follow_virtual_time() {
        let mut w = one_node(1);
        w.command("cli", &["SET", "k", "v", "EX", "10"]);
        w.advance(9_000);
        assert_eq!(w.command("cli", &["EXISTS", "k"]), Some(Frame::Integer(1)));
        w.advance(2_000);
        assert_eq!(w.command("cli", &["EXISTS", "k"]), Some(Frame::Integer(0)));
        // save 900 1: a change and 900 s later the node saves by itself.
        w.command("cli", &["SET", "x", "1"]);
        w.advance(901_000);
        assert!(w.trace_text().contains("changes in 900 seconds. Saving..."), "{}", w.trace_text());
    }

    fn scenario(seed: u64) -> World {
        let mut w = one_node(seed);
        w.apply(WorldInput::AddNode { name: "r".into(), addr: "192.168.131.149:6379".into(), config: String::new() });
        w.apply(WorldInput::AddClient { name: "cli2".into(), node: "r".into() });
        for i in 0..30 {
            w.command("cli", &["SET", &format!("k{i}"), "v", "PX", &(100 * i).to_string()]);
            w.command("cli2", &["SADD", "s", &i.to_string()]);
        }
        w.apply(WorldInput::Fault(Fault::Drop {
            a: Endpoint::Client("cli".into()),
            b: Endpoint::Node("m".into()),
            per_mille: 300,
        }));
        for _ in 0..20 {
            w.command("cli", &["RANDOMKEY"]);
        }
        w.command("cli2", &["SPOP", "s", "3"]);
        w.advance(5_000);
        w.apply(WorldInput::Fault(Fault::Kill { node: "r".into() }));
        w.advance(100);
        w
    }

    #[test]
    fn same_seed_and_inputs_give_the_same_trace() {
        let a = scenario(42);
        let b = scenario(42);
        assert_eq!(a.trace_text(), b.trace_text());
        let replayed = World::replay(42, a.inputs());
        assert_eq!(replayed.trace_text(), a.trace_text());
        assert_ne!(scenario(43).trace_text(), a.trace_text());
    }

    #[test]
    fn input_logs_round_trip_through_text() {
        let w = scenario(5);
        let text = encode_inputs(w.inputs(), DEFAULT_EPOCH_MS);
        let back = decode_inputs(&text).unwrap();
        let original: Vec<(u64, WorldInput)> =
            w.inputs().iter().map(|(t, i)| (t - DEFAULT_EPOCH_MS, i.clone())).collect();
        assert_eq!(back, original);
        // Replaying the decoded log reproduces the run.
        let mut r = World::new(5);
        for (t, input) in back {
            r.run_until(DEFAULT_EPOCH_MS + t);
            r.apply(input);
        }
        assert_eq!(r.trace_text(), w.trace_text());
        assert_eq!(decode_inputs("12 frobnicate x"), None);
    }

    #[test]
    fn rewind_restores_the_past_and_keeps_the_future_as_a_branch() {
        let mut w = one_node(3);
        w.command("cli", &["SET", "a", "1"]);
        w.advance(1_000);
        let mark = w.elapsed();
        w.command("cli", &["SET", "a", "2"]);
        w.apply(WorldInput::Fault(Fault::Kill { node: "m".into() }));
        w.rewind_to(mark);
        assert!(w.node("m").is_some(), "the kill is in the future now");
        assert_eq!(w.branches.len(), 1);
        assert_eq!(w.command("cli", &["GET", "a"]), Some(Frame::Bulk("1".into())));
        // Acting in the past is a new branch; the old future is still reachable.
        let old_future = w.branches[0].clone();
        let restored = World::replay(3, &old_future);
        assert!(restored.node("m").is_none());
    }
}
