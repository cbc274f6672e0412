//! The bridge's worker: one thread that owns what the lab is connected to and answers every
//! socket's requests in order.
//!
//! It holds at most one deployment — processes it supervises (a template or a lesson's
//! topology, started by [`crate::live::LiveTarget`], the same runner as `halab lesson run
//! --live`) or one it attached to ([`super::attach::Attached`]) — and between requests polls
//! it: the new view is diffed against the last one sent ([`ViewPatch`]) and only the change
//! goes out, with the new log lines of supervised processes and the events every sentinel
//! publishes (a `PSUBSCRIBE *` connection per sentinel). Polling is adaptive: every 100 ms
//! while something is failing (a link down, a sentinel's SDOWN, a failover under way), every
//! 250 ms otherwise, every 500 ms for large deployments at rest.
//!
//! Everything the learner does is recorded as the simulator's inputs (the topology at t = 0,
//! then commands and faults at their times since the start), with each command's live reply:
//! `Replay` runs the recording in the simulator — the node code is the same — and reports the
//! first reply that differed.

use super::allow::Allow;
use super::attach::Attached;
use halab_core::lab::bridge::{self, Deployment, Flavor, Message, Request, StepView, Template, ToBridge, ViewPatch};
use halab_core::lab::lesson::{self, Action, Lesson, LessonTarget, NodeSpec};
use halab_core::lab::sim::{encode_inputs, TraceKind, World, WorldInput, DEFAULT_EPOCH_MS};
use halab_core::lab::view::{EventView, LinkKind, LinkState, ViewModel};
use halab_core::resp::{render_cli_for, split_args, Frame};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// What the worker is configured with.
#[derive(Clone)]
pub struct Settings {
    pub allow: Allow,
    pub lessons: PathBuf,
    pub redis_server: PathBuf,
    pub redis_sentinel: PathBuf,
}

/// What reaches the worker.
pub enum Input {
    Request(ToBridge),
    /// A message a sentinel published (its address, the channel, the payload).
    Published {
        from: String,
        channel: String,
        payload: String,
    },
    /// The lab is stopping: stop the supervised processes and end.
    Shutdown,
}

enum Deploy {
    None,
    Supervised(Box<Supervised>),
    Attached(Box<Attached>),
}

struct Supervised {
    target: crate::live::LiveTarget,
    lesson: Option<(String, Lesson)>,
    steps_run: usize,
    /// A lesson's `wait` step under way: when it ends, and its number and text.
    waiting: Option<(Instant, u64, usize, String)>,
    /// Terminal clients already added.
    terminals: Vec<String>,
}

/// The learner's session as the simulator's inputs, and each command's live reply.
#[derive(Default)]
struct Recording {
    inputs: Vec<(u64, WorldInput)>,
    /// (client, rendered reply) for each recorded command, in order.
    replies: Vec<(String, Vec<Vec<u8>>, String)>,
}

pub struct Session {
    settings: Settings,
    deploy: Deploy,
    started: Instant,
    view: ViewModel,
    out: broadcast::Sender<String>,
    inbox: mpsc::Sender<Input>,
    recording: Recording,
    /// Log lines already streamed, per node.
    log_sent: BTreeMap<String, usize>,
    /// One subscriber thread per sentinel address.
    subscribers: BTreeMap<String, Arc<AtomicBool>>,
    /// How long each poll took (ms), the latest 10,000: the view's latency, reported with
    /// every whole view (the bench reads it).
    poll_ms: Vec<f64>,
}

impl Session {
    /// Start the worker thread; requests go in through the returned sender.
    pub fn spawn(
        settings: Settings,
        out: broadcast::Sender<String>,
    ) -> (mpsc::Sender<Input>, std::thread::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel();
        let inbox = tx.clone();
        let worker = std::thread::Builder::new()
            .name("lab-session".into())
            .spawn(move || {
                let mut s = Session {
                    settings,
                    deploy: Deploy::None,
                    started: Instant::now(),
                    view: ViewModel::empty(),
                    out,
                    inbox,
                    recording: Recording::default(),
                    log_sent: BTreeMap::new(),
                    subscribers: BTreeMap::new(),
                    poll_ms: Vec::new(),
                };
                s.run(rx);
            })
            .expect("a thread");
        (tx, worker)
    }

    fn run(&mut self, rx: mpsc::Receiver<Input>) {
        let mut last_poll = Instant::now();
        loop {
            let due = last_poll + self.poll_interval();
            match rx.recv_timeout(due.saturating_duration_since(Instant::now())) {
                Ok(Input::Request(r)) => self.handle(r),
                Ok(Input::Published { from, channel, payload }) => self.published(&from, &channel, &payload),
                Ok(Input::Shutdown) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if Instant::now() >= due {
                self.poll();
                last_poll = Instant::now();
            }
        }
        self.stop_deployment();
    }

    fn send(&self, message: Message) {
        let _ = self.out.send(bridge::write(message));
    }

    fn error(&self, id: u64, message: impl Into<String>) {
        self.send(Message::Error { id, message: message.into() });
    }

    fn event(&self, kind: &str, subject: &str, text: &str) {
        let at_ms = self.elapsed();
        self.send(Message::Event {
            event: EventView { at_ms, kind: kind.into(), subject: subject.into(), text: text.into() },
        });
    }

    fn elapsed(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Faster while something is failing, slower for big deployments at rest.
    fn poll_interval(&self) -> Duration {
        if matches!(self.deploy, Deploy::None) {
            return Duration::from_millis(500);
        }
        let failing = self.view.links.iter().any(|l| l.state != LinkState::Up && l.kind != LinkKind::Client)
            || self.view.nodes.iter().any(|n| !n.up)
            || self.view.failovers.iter().any(|f| !f.finished());
        if failing {
            Duration::from_millis(100)
        } else if self.view.nodes.len() > 50 {
            Duration::from_millis(500)
        } else {
            Duration::from_millis(250)
        }
    }

    fn deployment(&self) -> Deployment {
        let (polls, poll_median_ms, poll_p99_ms) = self.poll_figures();
        let figures = Deployment { polls, poll_median_ms, poll_p99_ms, ..Default::default() };
        match &self.deploy {
            Deploy::None => Deployment { kind: "none".into(), ..figures },
            Deploy::Attached(_) => Deployment { kind: "attached".into(), ..figures },
            Deploy::Supervised(s) => Deployment {
                kind: "supervised".into(),
                lesson: s.lesson.as_ref().map(|(n, _)| n.clone()),
                steps_run: s.steps_run,
                steps_total: s.lesson.as_ref().map_or(0, |(_, l)| l.steps.len()),
                ..figures
            },
        }
    }

    fn send_view(&self) {
        self.send(Message::View { view: self.view.clone(), deployment: self.deployment() });
    }

    fn handle(&mut self, r: ToBridge) {
        let id = r.id;
        match r.request {
            Request::Hello => self.send_view(),
            Request::Attach { addr, password } => match Attached::new(&addr, password, self.settings.allow.clone()) {
                Ok(a) => {
                    self.stop_deployment();
                    self.deploy = Deploy::Attached(Box::new(a));
                    self.restart_clock();
                    self.poll();
                    self.send_view();
                }
                Err(e) => self.error(id, e),
            },
            Request::Detach => {
                self.stop_deployment();
                self.poll();
                self.send_view();
            }
            Request::Start { template, flavor } => {
                let specs = template_nodes(template);
                if let Err(e) = self.supervise(&specs, &[], flavor, None) {
                    self.error(id, e);
                }
            }
            Request::StartLesson { lesson } => match self.read_lesson(&lesson) {
                Ok(l) => {
                    let (nodes, clients) = (l.nodes.clone(), l.clients.clone());
                    if let Err(e) = self.supervise(&nodes, &clients, Flavor::Halab, Some((lesson, l))) {
                        self.error(id, e);
                    }
                }
                Err(e) => self.error(id, e),
            },
            Request::Step => self.step(id),
            Request::Command { node, line } => self.command(id, &node, &line),
            Request::Fault { step } => self.fault(id, &step),
            Request::Replay => match self.replay() {
                Ok((fragment, compared, divergence)) => {
                    self.send(Message::Replayed { id, fragment, compared, divergence })
                }
                Err(e) => self.error(id, e),
            },
        }
    }

    fn restart_clock(&mut self) {
        self.started = Instant::now();
        self.recording = Recording::default();
        self.log_sent.clear();
    }

    fn stop_deployment(&mut self) {
        for (_, stop) in std::mem::take(&mut self.subscribers) {
            stop.store(true, Ordering::Relaxed);
        }
        // Dropping the runner kills its processes and removes their directories.
        self.deploy = Deploy::None;
    }

    /// Lessons are read from the lab's own `lessons/` only, by file name.
    fn read_lesson(&self, name: &str) -> Result<Lesson, String> {
        if name.contains('/') || name.contains('\\') || name.starts_with('.') || !name.ends_with(".md") {
            return Err(format!("{}: not a lesson file name", name));
        }
        let path = self.settings.lessons.join(name);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {}", path.display(), e))?;
        lesson::parse(&text).map_err(|e| format!("{}: {}", name, e))
    }

    fn supervise(
        &mut self,
        nodes: &[NodeSpec],
        clients: &[(String, String)],
        flavor: Flavor,
        lesson: Option<(String, Lesson)>,
    ) -> Result<(), String> {
        self.stop_deployment();
        self.restart_clock();
        let target = crate::live::LiveTarget::new().map_err(|e| format!("cannot prepare processes: {}", e))?;
        let mut target =
            target.with_programs(flavor, self.settings.redis_server.clone(), self.settings.redis_sentinel.clone());
        for n in nodes {
            target.add_node(n);
            let (name, addr, config) = (n.name.clone(), n.addr.clone(), n.config.clone());
            let input = if n.sentinel {
                WorldInput::AddSentinel { name, addr, config }
            } else {
                WorldInput::AddNode { name, addr, config }
            };
            self.recording.inputs.push((0, input));
        }
        for (c, n) in clients {
            target.add_client(c, n);
            self.recording.inputs.push((0, WorldInput::AddClient { name: c.clone(), node: n.clone() }));
        }
        self.deploy = Deploy::Supervised(Box::new(Supervised {
            target,
            lesson,
            steps_run: 0,
            waiting: None,
            terminals: Vec::new(),
        }));
        self.poll();
        self.send_view();
        Ok(())
    }

    fn step(&mut self, id: u64) {
        let at = self.elapsed();
        let outcome = match &mut self.deploy {
            Deploy::Supervised(s) => match &s.lesson {
                None => Err("no lesson is running live"),
                Some(_) if s.waiting.is_some() => Err("the lesson is waiting: the next step runs when the wait ends"),
                Some((_, lesson)) => match lesson.steps.get(s.steps_run).cloned() {
                    None => Err("the lesson has no more steps"),
                    Some(step) => {
                        let number = s.steps_run + 1;
                        s.steps_run += 1;
                        // A wait goes on while the lab keeps polling: the learner watches
                        // what happens meanwhile.
                        if let Action::Wait { ms } = step.action {
                            s.waiting = Some((Instant::now() + Duration::from_millis(ms), id, number, step.text));
                            Ok(None)
                        } else {
                            let result = lesson::run_step(number, &step, &mut s.target);
                            Ok(Some((step, result)))
                        }
                    }
                },
            },
            _ => Err("no lesson is running live"),
        };
        match outcome {
            Err(e) => self.error(id, e),
            Ok(None) => {}
            Ok(Some((step, result))) => {
                match &step.action {
                    Action::Command { client, args, .. } | Action::Repeat { client, args, .. } => {
                        let input = WorldInput::Command { client: client.clone(), args: args.clone() };
                        self.recording.inputs.push((at, input));
                        // The step shows in its node's terminal, as if typed there.
                        let node = match &self.deploy {
                            Deploy::Supervised(s) => s
                                .lesson
                                .as_ref()
                                .and_then(|(_, l)| l.clients.iter().find(|(c, _)| c == client).map(|(_, n)| n.clone())),
                            _ => None,
                        };
                        if let Some(node) = node {
                            let words: Vec<String> =
                                args.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
                            let (command, text) = (words.join(" "), result.seen.clone());
                            self.send(Message::Reply { id, node, command, text });
                        }
                    }
                    Action::Fault(f) => self.recording.inputs.push((at, WorldInput::Fault(f.clone()))),
                    _ => {}
                }
                self.send(Message::Step { id, step: StepView::from(&result) });
                self.poll();
            }
        }
    }

    fn finish_wait(&mut self) {
        let Deploy::Supervised(s) = &mut self.deploy else { return };
        let Some((until, id, number, text)) = s.waiting.clone() else { return };
        if Instant::now() < until {
            return;
        }
        s.waiting = None;
        let step = StepView { number, text, ok: true, expected: None, seen: String::new() };
        self.send(Message::Step { id, step });
    }

    fn command(&mut self, id: u64, node: &str, line: &str) {
        let Some(args) = split_args(line.as_bytes()) else {
            return self.error(id, "Invalid argument(s)");
        };
        if args.is_empty() {
            return;
        }
        let words: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        let at = self.elapsed();
        let text = match &mut self.deploy {
            Deploy::None => return self.error(id, "not connected: start or attach a deployment first"),
            Deploy::Attached(a) => match a.command(node, &args) {
                Ok(f) => render_cli_for(&words, &f),
                Err(e) => e,
            },
            Deploy::Supervised(s) => {
                if !s.target.members().iter().any(|(n, _, _)| n == node) {
                    return self.error(id, format!("no node {}", node));
                }
                let client = format!("term-{}", node);
                if !s.terminals.contains(&client) {
                    s.target.add_client(&client, node);
                    s.terminals.push(client.clone());
                    self.recording.inputs.push((at, WorldInput::AddClient { name: client.clone(), node: node.into() }));
                }
                self.recording.inputs.push((at, WorldInput::Command { client: client.clone(), args: args.clone() }));
                let text = match s.target.command(&client, &args) {
                    Some(f) => render_cli_for(&words, &f),
                    None => "Error: Server closed the connection".to_string(),
                };
                self.recording.replies.push((client, args.clone(), text.clone()));
                text
            }
        };
        self.send(Message::Reply { id, node: node.into(), command: line.into(), text });
        self.poll();
    }

    fn fault(&mut self, id: u64, step: &str) {
        let at = self.elapsed();
        let Deploy::Supervised(s) = &mut self.deploy else {
            return self.error(id, "faults need processes the lab started (start a deployment or a lesson)");
        };
        let members = s.target.members();
        let topology = Lesson {
            title: String::new(),
            narrative_zh: String::new(),
            narrative_en: String::new(),
            nodes: members
                .iter()
                .map(|(n, a, sentinel)| NodeSpec {
                    name: n.clone(),
                    addr: a.clone(),
                    config: String::new(),
                    sentinel: *sentinel,
                })
                .collect(),
            clients: Vec::new(),
            steps: Vec::new(),
        };
        let fault = match lesson::parse_step(step, &topology) {
            Ok(Action::Fault(f)) => f,
            Ok(_) => return self.error(id, format!("{}: not a fault", step)),
            Err(e) => return self.error(id, e),
        };
        match s.target.fault(fault.clone()) {
            Ok(()) => {
                self.recording.inputs.push((at, WorldInput::Fault(fault)));
                self.event("fault", "", step);
                self.poll();
            }
            Err(e) => self.error(id, e),
        }
    }

    fn published(&mut self, from: &str, channel: &str, payload: &str) {
        let (subject, text) = match &self.deploy {
            Deploy::Supervised(s) => {
                let name = s
                    .target
                    .members()
                    .into_iter()
                    .find(|(n, _, _)| s.target.live_addr_of(n).as_deref() == Some(from))
                    .map(|(n, _, _)| n)
                    .unwrap_or_else(|| from.to_string());
                (name, s.target.lesson_text(&format!("{} {}", channel, payload)))
            }
            _ => (from.to_string(), format!("{} {}", channel, payload)),
        };
        self.event("sentinel", &subject, &text);
    }

    fn poll(&mut self) {
        let began = Instant::now();
        self.finish_wait();
        let elapsed = self.elapsed();
        let (view, sentinels, logs, password) = match &mut self.deploy {
            Deploy::None => (ViewModel::empty(), Vec::new(), Vec::new(), None),
            Deploy::Attached(a) => {
                let v = a.observe(elapsed);
                (v, a.sentinels().to_vec(), Vec::new(), a.password().map(str::to_string))
            }
            Deploy::Supervised(s) => {
                let mut v = s.target.view();
                v.elapsed_ms = elapsed;
                let members = s.target.members();
                let sentinels = members.iter().filter(|m| m.2).filter_map(|m| s.target.live_addr_of(&m.0)).collect();
                let logs: Vec<(String, Vec<String>)> =
                    members.iter().map(|(n, _, _)| (n.clone(), s.target.log_of(n))).collect();
                (v, sentinels, logs, s.target.passwords().last().cloned())
            }
        };
        // New log lines, as events.
        for (node, lines) in logs {
            let sent = self.log_sent.entry(node.clone()).or_insert(0);
            let new: Vec<String> = lines.iter().skip(*sent).cloned().collect();
            *sent = lines.len();
            for line in new {
                self.event("log", &node, &line);
            }
        }
        self.subscribe(&sentinels, password);
        match ViewPatch::between(&self.view, &view) {
            Some(_) if self.view.nodes.iter().map(|n| &n.name).ne(view.nodes.iter().map(|n| &n.name)) => {
                self.view = view;
                self.send_view();
            }
            Some(patch) => {
                self.view = view;
                self.send(Message::Patch { patch });
            }
            None => self.view = view,
        }
        self.poll_ms.push(began.elapsed().as_secs_f64() * 1000.0);
        if self.poll_ms.len() > 10_000 {
            self.poll_ms.drain(..5_000);
        }
    }

    /// One `PSUBSCRIBE *` connection per sentinel; gone sentinels' are stopped.
    fn subscribe(&mut self, sentinels: &[String], password: Option<String>) {
        self.subscribers.retain(|addr, stop| {
            let keep = sentinels.contains(addr);
            if !keep {
                stop.store(true, Ordering::Relaxed);
            }
            keep
        });
        for addr in sentinels {
            if self.subscribers.contains_key(addr) {
                continue;
            }
            let stop = Arc::new(AtomicBool::new(false));
            self.subscribers.insert(addr.clone(), stop.clone());
            let (addr, inbox, password) = (addr.clone(), self.inbox.clone(), password.clone());
            let _ = std::thread::Builder::new()
                .name("sentinel-events".into())
                .spawn(move || follow_events(&addr, password.as_deref(), &stop, &inbox));
        }
    }

    /// Run the recording in the simulator and compare each command's reply with the live one.
    fn replay(&self) -> Result<(String, usize, Option<String>), String> {
        if self.recording.inputs.is_empty() {
            return Err("nothing recorded: start a deployment or a lesson first".into());
        }
        let mut world = World::new(2026);
        for (t, input) in &self.recording.inputs {
            world.run_until(DEFAULT_EPOCH_MS + t);
            world.apply(input.clone());
        }
        // Let the last replies arrive.
        let end = self.recording.inputs.last().map_or(0, |(t, _)| *t) + 2_000;
        world.run_until(DEFAULT_EPOCH_MS + end);
        let mut simulated: HashMap<&str, VecDeque<&Frame>> = HashMap::new();
        for e in world.trace() {
            if let TraceKind::Reply { client, frame } = &e.kind {
                simulated.entry(client.as_str()).or_default().push_back(frame);
            }
        }
        let mut compared = 0;
        let mut divergence = None;
        for (client, args, live) in &self.recording.replies {
            let sim = simulated.get_mut(client.as_str()).and_then(|q| q.pop_front());
            let words: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            if !deterministic(&words) {
                continue;
            }
            compared += 1;
            let sim_text = sim.map(|f| render_cli_for(&words, f)).unwrap_or_else(|| "(no reply)".into());
            if divergence.is_none() && sim_text != *live {
                let command: Vec<String> = args.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
                divergence = Some(format!(
                    "{}> {}: live replied {:?}, the simulator {:?}",
                    client.trim_start_matches("term-"),
                    command.join(" "),
                    live,
                    sim_text
                ));
            }
        }
        let fragment = format!(
            "seed=2026&blank=1&run={}&t={}",
            bridge::fragment_encode(&encode_inputs(&self.recording.inputs, 0)),
            end
        );
        Ok((fragment, compared, divergence))
    }

    /// A poll's figures: (count, median ms, 99th percentile ms).
    fn poll_figures(&self) -> (usize, f64, f64) {
        let mut v = self.poll_ms.clone();
        v.sort_by(|a, b| a.total_cmp(b));
        let at = |q: f64| v.get(((v.len() as f64 - 1.0) * q) as usize).copied().unwrap_or(0.0);
        (v.len(), at(0.5), at(0.99))
    }
}

/// Replies that are the same in the simulator and live, for the same inputs (INFO's run ids,
/// TIME, CLIENT LIST's addresses and SENTINEL's ids are not).
fn deterministic(args: &[&[u8]]) -> bool {
    let Some(first) = args.first() else { return false };
    let name = String::from_utf8_lossy(first).to_ascii_uppercase();
    !matches!(
        name.as_str(),
        "INFO"
            | "ROLE"
            | "CLIENT"
            | "TIME"
            | "DEBUG"
            | "SENTINEL"
            | "LASTSAVE"
            | "MEMORY"
            | "OBJECT"
            | "SLOWLOG"
            | "LATENCY"
            | "COMMAND"
            | "HELLO"
            | "CONFIG"
            | "RANDOMKEY"
            | "SCAN"
            | "SRANDMEMBER"
            | "SPOP"
            | "MONITOR"
            | "SHUTDOWN"
    )
}

/// A sentinel's published events, until `stop`: `PSUBSCRIBE *`, reconnecting while it is down.
fn follow_events(addr: &str, password: Option<&str>, stop: &AtomicBool, inbox: &mpsc::Sender<Input>) {
    use std::io::Read;
    while !stop.load(Ordering::Relaxed) {
        let Ok(sock) = addr.parse::<std::net::SocketAddr>() else { return };
        let Ok(mut s) = std::net::TcpStream::connect_timeout(&sock, Duration::from_millis(500)) else {
            std::thread::sleep(Duration::from_millis(250));
            continue;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(250)));
        let mut inbox_bytes = bytes::BytesMut::new();
        if let Some(pw) = password {
            let _ = crate::live::call(&mut s, &mut inbox_bytes, &[b"AUTH".as_slice(), pw.as_bytes()]);
        }
        use std::io::Write;
        if s.write_all(&Frame::command([b"PSUBSCRIBE".as_slice(), b"*"])).is_err() {
            continue;
        }
        let mut buf = [0u8; 8192];
        while !stop.load(Ordering::Relaxed) {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => inbox_bytes.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => continue,
                Err(_) => break,
            }
            if inbox_bytes.len() > 1 << 20 {
                break;
            }
            while let Ok(Some(frame)) = Frame::decode(&mut inbox_bytes) {
                let Frame::Array(items) = frame else { continue };
                let text = |f: &Frame| match f {
                    Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                    Frame::Simple(s) => s.clone(),
                    _ => String::new(),
                };
                if items.len() == 4 && text(&items[0]) == "pmessage" {
                    let (channel, payload) = (text(&items[2]), text(&items[3]));
                    if inbox.send(Input::Published { from: addr.to_string(), channel, payload }).is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// The templates' topologies, in the tutorials' addresses.
pub fn template_nodes(template: Template) -> Vec<NodeSpec> {
    let node = |name: &str, port: u16, config: &str, sentinel: bool| NodeSpec {
        name: name.into(),
        addr: format!("127.0.0.1:{}", port),
        config: config.into(),
        sentinel,
    };
    let mut nodes = vec![
        node("master", 6379, "", false),
        node("replica1", 6380, "replicaof 127.0.0.1 6379", false),
        node("replica2", 6381, "replicaof 127.0.0.1 6379", false),
    ];
    if template == Template::Sentinel {
        let conf = "sentinel monitor mymaster 127.0.0.1 6379 2\nsentinel down-after-milliseconds mymaster 5000\nsentinel failover-timeout mymaster 60000";
        for i in 0..3 {
            nodes.push(node(&format!("sentinel{}", i + 1), 26379 + i, conf, true));
        }
    }
    nodes
}
