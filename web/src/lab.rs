//! The lab's state: a simulated world plus what the learner chose (language, node, lesson).
//! Everything drawn is derived from the world, so rewinding the world rewinds the screen.

use halab_core::lab::lesson::{self, Lesson, StepResult};
use halab_core::resp::split_args;
use halab_core::lab::sim::{decode_inputs, encode_inputs, Endpoint, Fault, TraceKind, World, WorldInput, DEFAULT_EPOCH_MS};
use halab_core::lab::view::{self, ViewModel};

/// The lessons shipped with the app (the same files CI runs).
pub const LESSONS: &[(&str, &str)] = &[
    ("seed000-1.1.5-first-data-session.md", include_str!("../../lessons/seed000-1.1.5-first-data-session.md")),
    (
        "seed000-1.2.3-password-and-protected-mode.md",
        include_str!("../../lessons/seed000-1.2.3-password-and-protected-mode.md"),
    ),
    ("seed001-replication-master-writes.md", include_str!("../../lessons/seed001-replication-master-writes.md")),
    ("seed002-node-config-and-shutdown.md", include_str!("../../lessons/seed002-node-config-and-shutdown.md")),
    ("seed000-1.1-replicaof-masterauth.md", include_str!("../../lessons/seed000-1.1-replicaof-masterauth.md")),
    ("seed000-1.1.9-slaveof-no-one.md", include_str!("../../lessons/seed000-1.1.9-slaveof-no-one.md")),
    ("seed000-1.2.1-wrong-masterauth.md", include_str!("../../lessons/seed000-1.2.1-wrong-masterauth.md")),
    ("seed001-replication-slaveof-recovery.md", include_str!("../../lessons/seed001-replication-slaveof-recovery.md")),
    (
        "seed002-backlog-partial-and-full-resync.md",
        include_str!("../../lessons/seed002-backlog-partial-and-full-resync.md"),
    ),
    ("seed002-chained-replication.md", include_str!("../../lessons/seed002-chained-replication.md")),
    ("seed002-one-master-two-replicas.md", include_str!("../../lessons/seed002-one-master-two-replicas.md")),
];

pub fn lesson_title(file: &str) -> String {
    LESSONS
        .iter()
        .find(|(f, _)| *f == file)
        .and_then(|(_, text)| lesson::parse(text).ok())
        .map(|l| l.title)
        .unwrap_or_else(|| file.to_string())
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

pub struct Lab {
    pub world: World,
    pub seed: u64,
    pub lang: Lang,
    pub selected: Option<String>,
    pub playing: bool,
    /// The furthest moment reached (ms since start): the scrubber's end.
    pub horizon: u64,
    /// Simulated ms per 100 ms of wall time while playing.
    pub speed: u64,
    pub lesson_index: Option<usize>,
    pub results: Vec<StepResult>,
    /// For each result, how many world inputs existed right after its step.
    result_marks: Vec<usize>,
    lesson: Option<Lesson>,
    /// How many inputs build the topology (stepping back never goes before them).
    setup_inputs: usize,
    /// More nodes for the default world (`#nodes=100` for the drawing benchmark).
    extra_nodes: usize,
    /// The in-browser simulator speed, when asked with `#bench=1`.
    pub bench_result: Option<String>,
}

impl Lab {
    /// A lab from the page's URL: `#seed=7&lesson=0&lang=en`.
    pub fn from_location() -> Lab {
        let hash = web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default();
        let mut seed = 2026;
        let mut lesson = None;
        let mut lang = Lang::Zh;
        let mut run = None;
        let mut at = 0;
        let mut nodes = 1usize;
        let mut bench = false;
        for pair in hash.trim_start_matches('#').split('&') {
            match pair.split_once('=') {
                Some(("seed", v)) => seed = v.parse().unwrap_or(seed),
                Some(("lesson", v)) => lesson = v.parse::<usize>().ok().filter(|i| *i < LESSONS.len()),
                Some(("lang", "en")) => lang = Lang::En,
                Some(("run", v)) => run = percent_decode(v).and_then(|text| decode_inputs(&text)),
                Some(("t", v)) => at = v.parse().unwrap_or(0),
                Some(("nodes", v)) => nodes = v.parse::<usize>().unwrap_or(1).clamp(1, 500),
                Some(("bench", "1")) => bench = true,
                _ => {}
            }
        }
        let mut lab = Lab {
            world: World::new(seed),
            seed,
            lang,
            selected: None,
            playing: false,
            horizon: 0,
            speed: 100,
            lesson_index: None,
            results: Vec::new(),
            result_marks: Vec::new(),
            lesson: None,
            setup_inputs: 0,
            extra_nodes: nodes - 1,
            bench_result: None,
        };
        match lesson {
            Some(i) => lab.load_lesson(i),
            None => lab.reset(),
        }
        // Replay the actions recorded in the link: the same run, event for event.
        for (t, input) in run.unwrap_or_default() {
            lab.world.run_until(DEFAULT_EPOCH_MS + t);
            lab.world.apply(input);
        }
        lab.world.run_until(DEFAULT_EPOCH_MS + at);
        if bench {
            lab.bench_result = Some(sim_speed_in_browser());
        }
        lab
    }

    /// Write the scenario into the URL so that a link reproduces it.
    pub fn save_location(&self) {
        let mut hash = format!("#seed={}", self.seed);
        if let Some(i) = self.lesson_index {
            hash.push_str(&format!("&lesson={}", i));
        }
        if self.lang == Lang::En {
            hash.push_str("&lang=en");
        }
        let actions = &self.world.inputs()[self.setup_inputs.min(self.world.inputs().len())..];
        if !actions.is_empty() {
            hash.push_str("&run=");
            hash.push_str(&percent_encode(&encode_inputs(actions, DEFAULT_EPOCH_MS)));
        }
        hash.push_str(&format!("&t={}", self.world.elapsed()));
        if let Some(w) = web_sys::window() {
            if let Ok(h) = w.history() {
                let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&hash));
            }
        }
    }

    /// A fresh world with the current lesson's topology (or one default node).
    fn reset(&mut self) {
        self.world = World::new(self.seed);
        self.results.clear();
        self.result_marks.clear();
        match &self.lesson {
            Some(l) => lesson::setup(l, &mut self.world),
            None => {
                self.world.apply(WorldInput::AddNode {
                    name: "master".into(),
                    addr: "127.0.0.1:6379".into(),
                    config: String::new(),
                });
                for i in 0..self.extra_nodes {
                    let (name, addr) = (format!("n{}", i + 1), format!("127.0.0.1:{}", 6380 + i));
                    self.world.apply(WorldInput::AddNode { name, addr, config: String::new() });
                }
            }
        }
        self.setup_inputs = self.world.inputs().len();
        self.selected = self.world.node_names().into_iter().next();
    }

    pub fn load_lesson(&mut self, i: usize) {
        self.lesson = lesson::parse(LESSONS[i].1).ok();
        self.lesson_index = Some(i);
        self.reset();
    }

    pub fn lesson(&self) -> Option<&Lesson> {
        self.lesson.as_ref()
    }

    pub fn run_next_step(&mut self) {
        let Some(l) = &self.lesson else { return };
        let n = self.results.len();
        if let Some(step) = l.steps.get(n) {
            let r = lesson::run_step(n + 1, step, &mut self.world);
            self.results.push(r);
            self.result_marks.push(self.world.inputs().len());
        }
    }

    pub fn view(&self) -> ViewModel {
        view::from_world(&self.world, 200)
    }

    fn terminal_client(&self) -> Option<String> {
        self.selected.as_ref().map(|n| format!("term-{}", n))
    }

    pub fn prompt(&self) -> String {
        let addr = self.selected.as_deref().and_then(|n| self.world.node_addr(n)).unwrap_or("not connected");
        format!("{}> ", addr)
    }

    /// A line typed in the terminal: run it as the terminal's client of the selected node.
    pub fn type_command(&mut self, line: &str) {
        let (Some(client), Some(node)) = (self.terminal_client(), self.selected.clone()) else { return };
        let Some(args) = split_args(line.as_bytes()).filter(|a| !a.is_empty()) else { return };
        if !self.world.client_links().iter().any(|(c, _, _)| *c == client) {
            self.world.apply(WorldInput::AddClient { name: client.clone(), node });
        }
        // On a delayed link the command is sent and left travelling, so the learner can watch
        // it (play or step); otherwise the terminal waits for the reply, like redis-cli.
        let delayed =
            self.view().links.iter().any(|l| l.from == format!("client:{}", client) && l.extra_latency_ms > 0);
        if delayed {
            self.world.apply(WorldInput::Command { client, args });
        } else {
            let words: Vec<String> = args.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
            let refs: Vec<&str> = words.iter().map(|s| s.as_str()).collect();
            self.world.command(&client, &refs);
        }
    }

    /// The terminal's history, read back from the trace as redis-cli would print it.
    pub fn terminal_lines(&self) -> Vec<String> {
        let Some(node) = self.selected.clone() else { return Vec::new() };
        // Every client of the selected node shows here: the learner's typing and the lesson's
        // steps alike, as if typed at the prompt.
        let clients: Vec<String> =
            self.world.client_links().into_iter().filter(|(_, n, _)| *n == node).map(|(c, _, _)| c).collect();
        let ours = |c: &String| clients.contains(c);
        let addr = self.prompt();
        let mut out = Vec::new();
        // Replies come back in command order per client: pair each with its command so that
        // INFO and friends print raw, as redis-cli prints them.
        let mut pending: std::collections::HashMap<&str, std::collections::VecDeque<&Vec<Vec<u8>>>> =
            Default::default();
        for e in self.world.trace() {
            match &e.kind {
                TraceKind::Input(WorldInput::Command { client: c, args }) if ours(c) => {
                    let words: Vec<String> = args.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
                    out.push(format!("{}{}", addr, words.join(" ")));
                    pending.entry(c.as_str()).or_default().push_back(args);
                }
                TraceKind::Reply { client: c, frame } if ours(c) => {
                    let args = pending.get_mut(c.as_str()).and_then(|q| q.pop_front());
                    let words: Vec<&[u8]> = args.map(|a| a.iter().map(|w| w.as_slice()).collect()).unwrap_or_default();
                    out.extend(halab_core::resp::render_cli_for(&words, frame).lines().map(String::from))
                }
                TraceKind::Closed { client: c } if ours(c) => out.push("Error: Server closed the connection".into()),
                _ => {}
            }
        }
        out
    }

    /// The selected node's log, in Redis's format.
    pub fn log_lines(&self) -> Vec<String> {
        let Some(node) = &self.selected else { return Vec::new() };
        self.world
            .trace()
            .iter()
            .filter_map(|e| match &e.kind {
                TraceKind::Log { node: n, line } if n == node => Some(line.clone()),
                _ => None,
            })
            .collect()
    }

    /// Cut or heal the link between a client and its node.
    pub fn set_link(&mut self, client: &str, node: &str, cut: bool) {
        let (a, b) = (Endpoint::Client(client.to_string()), Endpoint::Node(node.to_string()));
        let fault = if cut { Fault::Cut { from: a, to: b, one_way: false } } else { Fault::Heal { a, b } };
        self.world.apply(WorldInput::Fault(fault));
    }

    /// Cut or heal the connection between a replica and its master, in both directions.
    pub fn set_repl_link(&mut self, replica: &str, master: &str, cut: bool) {
        let (a, b) = (Endpoint::Node(replica.to_string()), Endpoint::Node(master.to_string()));
        let fault = if cut { Fault::Cut { from: a, to: b, one_way: false } } else { Fault::Heal { a, b } };
        self.world.apply(WorldInput::Fault(fault));
    }

    pub fn delay_link(&mut self, client: &str, node: &str, ms: u64) {
        let (a, b) = (Endpoint::Client(client.to_string()), Endpoint::Node(node.to_string()));
        self.world.apply(WorldInput::Fault(Fault::Delay { a, b, ms }));
    }

    pub fn kill(&mut self, node: &str) {
        self.world.apply(WorldInput::Fault(Fault::Kill { node: node.to_string() }));
    }

    pub fn restart(&mut self, node: &str) {
        self.world.apply(WorldInput::Fault(Fault::Restart { node: node.to_string() }));
    }

    /// Let virtual time pass (playing). Not an input: replay reconstructs it.
    pub fn advance(&mut self, ms: u64) {
        let until = self.world.now() + ms;
        self.world.run_until(until);
    }

    /// One event forward, or 100 ms when nothing is scheduled sooner.
    pub fn step(&mut self) {
        if !self.world.step() {
            self.advance(100);
        }
    }

    /// Undo the last action: rebuild the world from the seed and every input but the last.
    /// The undone future is kept as a branch.
    pub fn step_back(&mut self) {
        let inputs = self.world.inputs().to_vec();
        if inputs.len() <= self.setup_inputs {
            return;
        }
        let mut branches = std::mem::take(&mut self.world.branches);
        branches.push(inputs.clone());
        self.world = World::replay(self.seed, &inputs[..inputs.len() - 1]);
        self.world.branches = branches;
        // The lesson's results follow the world: drop those whose inputs were undone.
        self.sync_results();
    }

    /// Rewind to a moment (ms since start), keeping the undone future as a branch.
    pub fn scrub_to(&mut self, elapsed: u64) {
        let elapsed = elapsed.max(1);
        self.horizon = self.horizon.max(self.world.elapsed());
        if elapsed >= self.world.elapsed() {
            let until = self.world.now() - self.world.elapsed() + elapsed;
            self.world.run_until(until);
            return;
        }
        // Never cut through the topology built at t = 0.
        let keep_setup = self
            .world
            .inputs()
            .iter()
            .take(self.setup_inputs)
            .all(|(t, _)| *t < self.world.now() - self.world.elapsed() + elapsed);
        if !keep_setup {
            return self.rewind_start();
        }
        self.world.rewind_to(elapsed);
        self.sync_results();
    }

    /// Restore an abandoned future: replay its whole input log.
    pub fn restore_branch(&mut self, i: usize) {
        let Some(branch) = self.world.branches.get(i).cloned() else { return };
        let mut branches = std::mem::take(&mut self.world.branches);
        branches.remove(i);
        branches.push(self.world.inputs().to_vec());
        self.world = World::replay(self.seed, &branch);
        self.world.branches = branches;
        self.sync_results();
    }

    /// Rebuild the lesson's world up to (not including) step `number` (1-based).
    pub fn reset_to_step(&mut self, number: usize) {
        self.reset();
        while self.results.len() + 1 < number {
            let before = self.results.len();
            self.run_next_step();
            if self.results.len() == before {
                break;
            }
        }
    }

    fn sync_results(&mut self) {
        let remaining = self.world.inputs().len();
        while self.result_marks.last().is_some_and(|&m| m > remaining) {
            self.result_marks.pop();
            self.results.pop();
        }
    }

    pub fn rewind_start(&mut self) {
        let branches = std::mem::take(&mut self.world.branches);
        let future = self.world.inputs().to_vec();
        self.reset();
        self.world.branches = branches;
        if future.len() > self.setup_inputs {
            self.world.branches.push(future);
        }
    }
}

/// `encodeURIComponent`, for the run log in the URL.
fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{:02X}", b));
        }
    }
    out
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The simulator's speed here, in wasm: the workload of `core/examples/sim_speed.rs` (6 nodes,
/// 600 commands per simulated second) for 60 simulated seconds.
fn sim_speed_in_browser() -> String {
    let perf = web_sys::window().and_then(|w| w.performance());
    let now = || perf.as_ref().map(|p| p.now()).unwrap_or(0.0);
    let mut w = halab_core::lab::sim::benchmark_world();
    let start = now();
    halab_core::lab::sim::benchmark_load(&mut w, 60);
    let wall_ms = (now() - start).max(1.0);
    format!("{:.0}x real time", w.elapsed() as f64 / wall_ms)
}
