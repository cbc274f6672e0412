//! Lessons: a tutorial experiment as a file a person can read and a machine can run.
//!
//! A lesson is Markdown. Its title line, then a `## 中文` and an `## English` narrative, a
//! `## Topology` listing nodes (`- node NAME ADDR`) and sentinels (`- sentinel NAME ADDR`),
//! each with an optional ```` ```conf ```` block of config lines (a sentinel's is its
//! sentinel.conf), and clients (`- client NAME -> NODE`), and `## Steps`, a numbered list:
//!
//! ```text
//! 1. cli> LPUSH menu apple banana          run a command as client `cli`
//!    → (integer) 2                          the reply, as redis-cli prints it (one → per line)
//! 2. kill master                            faults: kill, restart, corrupt-rdb,
//!                                           pause NODE, resume NODE (SIGSTOP/SIGCONT),
//!                                           clock-jump NODE 5s, cut A B,
//!                                           cut A -> B, heal A B, hold A B, release A B,
//!                                           delay A B 200ms
//! 3. wait 1500ms                            let virtual time pass (ms or s)
//! 4. expect log master: DB saved on disk    a log line of that node contains the text
//! 5. expect view master: keys=2             a fact of the view (up, role, keys, clients,
//!                                           link, master, offset, sync; a sentinel's
//!                                           watches=NODE, opinion=ok|sdown|odown)
//! 6. expect info replica: master_link_status=up   a field of the node's INFO; a value may
//!                                           name another one: {master:master_replid},
//!                                           {replica:master_repl_offset+1}
//!    expect file s1: sentinel current-epoch 1      a line of the node's config file
//! 7. repeat 500: cli> SET key:{i} value     a command 500 times, `{i}` = 1, 2, … 500; an
//!    → OK                                   expected reply applies to every one
//! ```
//!
//! In expected replies, log texts and values, `…` stands for any text within a line: replication
//! ids, offsets and client ids change from run to run, what they mean does not.
//!
//! [`run`] drives a lesson against a [`LessonTarget`]: the simulator ([`World`]), or live
//! `halab server` processes on loopback (`halab lesson run --live`, in the native crate). Each
//! step yields a [`StepResult`] saying what was expected and what was seen.
//!
//! ## Time: the simulator has none to spare, live processes take a moment
//!
//! In the simulator every effect of a step has happened when the step returns, and the same
//! seed gives the same run: its [`LessonTarget::patience_ms`] is 0 and each expectation is
//! checked exactly once. A lesson that needs time to pass there (a diskless sync's delay, a
//! reconnection) says so with a `wait` step, where the learner would wait too.
//!
//! Live processes are asynchronous: replication sends a write to the replica after the master
//! has answered it, a log line is written a moment after the event, a busy machine makes every
//! moment longer. A learner who reads a replica right after writing to its master and sees
//! `(nil)` simply asks again. So on a target with patience (live: 2 s), a step that does not
//! hold yet is checked again every [`RETRY_MS`] until it holds or the patience is spent:
//!
//! * `expect log`, `expect view`, `expect info` look again;
//! * a command with an expected reply runs again — but only when it is read-only
//!   ([`is_read_only`], judged by the command table: the `readonly` flag and not `blocking`,
//!   plus the server's own introspection, `INFO`, `ROLE`, `CONFIG GET`, `LASTSAVE`, which the
//!   table leaves unflagged because they touch no key). A write, an admin command (`SLAVEOF`,
//!   `CONFIG SET`, `SAVE`) or anything else runs exactly once: running it again would change
//!   what the lesson is about. A reply of `QUEUED` (inside `MULTI`) is never asked again either.
//!
//! The reply a step shows is the last one seen: the one that matched, or on a `✗` the last
//! stale one. Asking again is not free of traces — each read counts in `INFO`'s
//! `keyspace_hits`/`keyspace_misses` and command statistics — so a lesson that asserts those
//! counters live must not rely on a read that may be retried.

use crate::lab::observe::info_field;
use crate::lab::sim::{Endpoint, Fault, TraceKind, World, WorldInput};
use crate::lab::view::{self, ViewModel};
use crate::resp::{render_cli_for, split_args, Frame};

/// A parsed lesson.
#[derive(Debug, Clone, PartialEq)]
pub struct Lesson {
    pub title: String,
    pub narrative_zh: String,
    pub narrative_en: String,
    pub nodes: Vec<NodeSpec>,
    pub clients: Vec<(String, String)>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NodeSpec {
    pub name: String,
    pub addr: String,
    pub config: String,
    /// A sentinel (`- sentinel NAME ADDR`: `halab sentinel`, its conf block a sentinel.conf).
    pub sentinel: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Command {
        client: String,
        args: Vec<Vec<u8>>,
        expect: Option<String>,
    },
    Fault(Fault),
    Wait {
        ms: u64,
    },
    ExpectLog {
        node: String,
        text: String,
    },
    /// A line of the node's config file (what CONFIG REWRITE or a sentinel wrote) contains it.
    ExpectFile {
        node: String,
        text: String,
    },
    ExpectView {
        node: String,
        field: String,
        value: String,
    },
    ExpectInfo {
        node: String,
        field: String,
        value: String,
    },
    Repeat {
        count: usize,
        client: String,
        args: Vec<Vec<u8>>,
        expect: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The step as written (first line).
    pub text: String,
    pub action: Action,
}

/// A lesson file that could not be read, with its 1-based line.
#[derive(Debug, Clone, PartialEq)]
pub struct LessonError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for LessonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Section {
    Head,
    Zh,
    En,
    Topology,
    Steps,
    Other,
}

/// Parse a lesson file.
pub fn parse(text: &str) -> Result<Lesson, LessonError> {
    let mut lesson = Lesson {
        title: String::new(),
        narrative_zh: String::new(),
        narrative_en: String::new(),
        nodes: Vec::new(),
        clients: Vec::new(),
        steps: Vec::new(),
    };
    let mut section = Section::Head;
    let mut in_conf = false;
    let lines: Vec<&str> = text.lines().collect();
    for (i, raw) in lines.iter().enumerate() {
        let err = |message: String| LessonError { line: i + 1, message };
        let line = raw.trim_end();
        let trimmed = line.trim();
        if let Some(t) = line.strip_prefix("# ") {
            lesson.title = t.trim().to_string();
            continue;
        }
        if let Some(h) = line.strip_prefix("## ") {
            section = match h.trim().to_lowercase().as_str() {
                "中文" | "zh" => Section::Zh,
                "english" | "en" => Section::En,
                "topology" | "拓扑" => Section::Topology,
                "steps" | "步骤" => Section::Steps,
                _ => Section::Other,
            };
            continue;
        }
        match section {
            Section::Zh => push_line(&mut lesson.narrative_zh, line),
            Section::En => push_line(&mut lesson.narrative_en, line),
            Section::Topology => {
                if trimmed.starts_with("```") {
                    in_conf = !in_conf;
                    continue;
                }
                if in_conf {
                    let node = lesson.nodes.last_mut().ok_or_else(|| err("config block before any node".into()))?;
                    node.config.push_str(trimmed);
                    node.config.push('\n');
                    continue;
                }
                let Some(item) = trimmed.strip_prefix("- ") else { continue };
                let words: Vec<&str> = item.split_whitespace().collect();
                match words.as_slice() {
                    [kind @ ("node" | "sentinel"), name, addr, ..] => lesson.nodes.push(NodeSpec {
                        name: name.to_string(),
                        addr: addr.to_string(),
                        config: String::new(),
                        sentinel: *kind == "sentinel",
                    }),
                    ["client", name, "->", node, ..] => lesson.clients.push((name.to_string(), node.to_string())),
                    _ => return Err(err(format!("topology line not understood: {}", item))),
                }
            }
            Section::Steps => {
                if let Some(reply) = trimmed.strip_prefix('→') {
                    let Some(Step { action: Action::Command { expect, .. } | Action::Repeat { expect, .. }, .. }) =
                        lesson.steps.last_mut()
                    else {
                        return Err(err("an expected reply (→) must follow a command step".into()));
                    };
                    let reply = reply.trim();
                    match expect {
                        Some(e) => {
                            e.push('\n');
                            e.push_str(reply);
                        }
                        None => *expect = Some(reply.to_string()),
                    }
                    continue;
                }
                let Some(step) = numbered_item(trimmed) else { continue };
                let action = parse_step(step, &lesson).map_err(err)?;
                lesson.steps.push(Step { text: step.to_string(), action });
            }
            Section::Head | Section::Other => {}
        }
    }
    if lesson.nodes.is_empty() {
        return Err(LessonError { line: lines.len(), message: "the lesson has no node in its topology".into() });
    }
    Ok(lesson)
}

fn push_line(s: &mut String, line: &str) {
    if s.is_empty() && line.trim().is_empty() {
        return;
    }
    s.push_str(line);
    s.push('\n');
}

/// `12. text` → `text`.
fn numbered_item(line: &str) -> Option<&str> {
    let (num, rest) = line.split_once(". ")?;
    if !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()) {
        Some(rest.trim())
    } else {
        None
    }
}

fn endpoint(name: &str, lesson: &Lesson) -> Result<Endpoint, String> {
    if lesson.nodes.iter().any(|n| n.name == name) {
        Ok(Endpoint::Node(name.to_string()))
    } else if lesson.clients.iter().any(|(c, _)| c == name) {
        Ok(Endpoint::Client(name.to_string()))
    } else {
        Err(format!("unknown node or client '{}'", name))
    }
}

fn parse_duration(s: &str) -> Result<u64, String> {
    let bad = || format!("bad duration '{}' (use 500ms or 2s)", s);
    if let Some(ms) = s.strip_suffix("ms") {
        ms.parse().map_err(|_| bad())
    } else if let Some(secs) = s.strip_suffix('s') {
        secs.parse::<f64>().map(|v| (v * 1000.0) as u64).map_err(|_| bad())
    } else {
        Err(bad())
    }
}

/// `<node>: <field>=<value>` (backquotes around field and value are Markdown, not text).
fn parse_fact(text: &str) -> Option<(String, String, String)> {
    let (node, fact) = text.split_once(':')?;
    let (field, value) = fact.trim().split_once('=')?;
    Some((
        node.trim().to_string(),
        field.trim().trim_matches('`').to_string(),
        value.trim().trim_matches('`').to_string(),
    ))
}

/// One step line (`kill m`, `cut a b`, `c> GET k`…) read against the lesson's nodes and clients.
pub fn parse_step(step: &str, lesson: &Lesson) -> Result<Action, String> {
    if let Some(rest) = step.strip_prefix("repeat ") {
        let (count, command) = rest.split_once(':').ok_or("repeat <n>: <client>> <command>")?;
        let count: usize = count.trim().parse().map_err(|_| format!("bad repeat count '{}'", count))?;
        return match parse_step(command.trim(), lesson)? {
            Action::Command { client, args, .. } => Ok(Action::Repeat { count, client, args, expect: None }),
            _ => Err("repeat takes a command".into()),
        };
    }
    if let Some((client, cmd)) = step.split_once("> ") {
        let client = client.trim().trim_matches('`');
        if lesson.clients.iter().any(|(c, _)| c == client) {
            let cmd = cmd.trim().trim_matches('`');
            let args = split_args(cmd.as_bytes()).ok_or_else(|| format!("unbalanced quotes in '{}'", cmd))?;
            if args.is_empty() {
                return Err("empty command".into());
            }
            return Ok(Action::Command { client: client.to_string(), args, expect: None });
        }
    }
    if let Some(rest) = step.strip_prefix("expect log ") {
        let (node, text) = rest.split_once(':').ok_or("expect log <node>: <text>")?;
        return Ok(Action::ExpectLog {
            node: node.trim().to_string(),
            text: text.trim().trim_matches('`').to_string(),
        });
    }
    if let Some(rest) = step.strip_prefix("expect file ") {
        let (node, text) = rest.split_once(':').ok_or("expect file <node>: <text>")?;
        return Ok(Action::ExpectFile {
            node: node.trim().to_string(),
            text: text.trim().trim_matches('`').to_string(),
        });
    }
    if let Some(rest) = step.strip_prefix("expect info ") {
        let (node, field, value) = parse_fact(rest).ok_or("expect info <node>: <field>=<value>")?;
        return Ok(Action::ExpectInfo { node, field, value });
    }
    if let Some(rest) = step.strip_prefix("expect view ") {
        let (node, field, value) = parse_fact(rest).ok_or("expect view <node>: <field>=<value>")?;
        return Ok(Action::ExpectView { node, field, value });
    }
    let words: Vec<&str> = step.split_whitespace().collect();
    let pair =
        |a: &str, b: &str| -> Result<(Endpoint, Endpoint), String> { Ok((endpoint(a, lesson)?, endpoint(b, lesson)?)) };
    let fault = match words.as_slice() {
        ["wait", d] => return Ok(Action::Wait { ms: parse_duration(d)? }),
        ["kill", node] => Fault::Kill { node: node.to_string() },
        ["restart", node] => Fault::Restart { node: node.to_string() },
        ["corrupt-rdb", node] => Fault::CorruptRdb { node: node.to_string() },
        ["pause", node] => Fault::Pause { node: node.to_string() },
        ["resume", node] => Fault::Resume { node: node.to_string() },
        ["clock-jump", node, d] => Fault::ClockJump { node: node.to_string(), ms: parse_duration(d)? },
        ["cut", a, "->", b] => {
            let (from, to) = pair(a, b)?;
            Fault::Cut { from, to, one_way: true }
        }
        ["cut", a, b] => {
            let (from, to) = pair(a, b)?;
            Fault::Cut { from, to, one_way: false }
        }
        ["heal", a, b] => {
            let (a, b) = pair(a, b)?;
            Fault::Heal { a, b }
        }
        ["hold", a, b] => {
            let (a, b) = pair(a, b)?;
            Fault::Hold { a, b }
        }
        ["release", a, b] => {
            let (a, b) = pair(a, b)?;
            Fault::Release { a, b }
        }
        ["delay", a, b, d] => {
            let (a, b) = pair(a, b)?;
            Fault::Delay { a, b, ms: parse_duration(d)? }
        }
        _ => return Err(format!("step not understood: {}", step)),
    };
    Ok(Action::Fault(fault))
}

/// Where a lesson runs: the simulator, or (later) live processes.
pub trait LessonTarget {
    fn add_node(&mut self, spec: &NodeSpec);
    fn add_client(&mut self, name: &str, node: &str);
    fn command(&mut self, client: &str, args: &[Vec<u8>]) -> Option<Frame>;
    /// Inject a fault; `Err` when this target cannot (live processes cannot be partitioned).
    fn fault(&mut self, fault: Fault) -> Result<(), String>;
    fn wait(&mut self, ms: u64);
    /// Log lines of a node so far, rendered as Redis writes them.
    fn logs(&self, node: &str) -> Vec<String>;
    /// How long an expectation (log, view, info, or the expected reply of a read-only command)
    /// may wait to come true, in ms. The simulator has every effect at once (0); live processes
    /// log and answer a moment later. See the module docs.
    fn patience_ms(&self) -> u64 {
        0
    }
    fn view(&self) -> ViewModel;
    /// The node's `INFO everything` text, or `None` while it is down.
    fn info(&mut self, node: &str) -> Option<String>;
    /// The text of the node's config file now.
    fn config_file(&self, node: &str) -> Option<String>;
}

impl LessonTarget for World {
    fn add_node(&mut self, spec: &NodeSpec) {
        let (name, addr, config) = (spec.name.clone(), spec.addr.clone(), spec.config.clone());
        self.apply(if spec.sentinel {
            WorldInput::AddSentinel { name, addr, config }
        } else {
            WorldInput::AddNode { name, addr, config }
        });
    }
    fn add_client(&mut self, name: &str, node: &str) {
        self.apply(WorldInput::AddClient { name: name.to_string(), node: node.to_string() });
    }
    fn command(&mut self, client: &str, args: &[Vec<u8>]) -> Option<Frame> {
        let words: Vec<String> = args.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        let refs: Vec<&str> = words.iter().map(|s| s.as_str()).collect();
        World::command(self, client, &refs)
    }
    fn fault(&mut self, fault: Fault) -> Result<(), String> {
        self.apply(WorldInput::Fault(fault));
        Ok(())
    }
    fn wait(&mut self, ms: u64) {
        self.advance(ms);
    }
    fn logs(&self, node: &str) -> Vec<String> {
        self.trace()
            .iter()
            .filter_map(|e| match &e.kind {
                TraceKind::Log { node: n, line } if n == node => Some(line.clone()),
                _ => None,
            })
            .collect()
    }
    fn view(&self) -> ViewModel {
        view::from_world(self, 200)
    }
    fn info(&mut self, node: &str) -> Option<String> {
        let now = self.now();
        let n = self.node(node)?;
        Some(n.info_at(now, &["everything"]))
    }
    fn config_file(&self, node: &str) -> Option<String> {
        self.config_text(node).map(str::to_string)
    }
}

/// Whether `seen` matches `expected`, where `…` in `expected` stands for any text within a
/// line. Both are compared line by line.
pub fn matches_pattern(expected: &str, seen: &str) -> bool {
    let (e, s): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), seen.lines().collect());
    e.len() == s.len() && e.iter().zip(&s).all(|(e, s)| line_matches(e, s, true))
}

/// Whether some part of `line` matches `pattern` (with `…` wildcards): the test of
/// `expect log`.
pub fn contains_pattern(line: &str, pattern: &str) -> bool {
    line_matches(pattern, line, false)
}

/// `…` is a `*` of the glob matcher KEYS uses; everything else in the text is literal.
fn line_matches(pattern: &str, line: &str, whole: bool) -> bool {
    let mut glob = Vec::with_capacity(pattern.len() + 2);
    if !whole {
        glob.push(b'*');
    }
    for c in pattern.chars() {
        match c {
            '…' => glob.push(b'*'),
            '*' | '?' | '[' | ']' | '\\' => glob.extend_from_slice(&[b'\\', c as u8]),
            _ => glob.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    if !whole {
        glob.push(b'*');
    }
    crate::pattern::glob_match(&glob, line.as_bytes(), false)
}

/// How often, in ms, a target with patience checks again an expectation that does not hold yet.
pub const RETRY_MS: u64 = 50;

/// Introspection the command table leaves unflagged (it touches no key) but that only reads:
/// asking again changes nothing.
const INTROSPECTION: &[&str] = &["info", "role", "config|get", "lastsave"];

/// Whether a command only reads, so that a live target may run it again until its expected
/// reply comes: the command table's `readonly` flag (and not `blocking`), or server
/// introspection ([`INTROSPECTION`]). A container (`CONFIG`, `OBJECT`) is judged by its
/// subcommand; an unknown command is not read-only.
pub fn is_read_only(args: &[Vec<u8>]) -> bool {
    let Some(command) = args.first().and_then(|name| crate::command::lookup(name)) else { return false };
    let meta = if command.meta.subcommands.is_empty() {
        command.meta
    } else {
        match args.get(1).and_then(|sub| command.meta.subcommand(sub)) {
            Some(sub) => sub,
            None => return false,
        }
    };
    if meta.has_flag("write") || meta.has_flag("blocking") {
        return false;
    }
    meta.has_flag("readonly") || INTROSPECTION.contains(&meta.name)
}

/// Time a step may still spend waiting for its expectation to come true.
struct Patience {
    left: u64,
}

impl Patience {
    fn of(target: &dyn LessonTarget) -> Patience {
        Patience { left: target.patience_ms() }
    }

    /// Run `check` until it says done (`true`) or the patience is spent, waiting [`RETRY_MS`]
    /// on the target between tries; the outcome is the last check's.
    fn until<T>(
        &mut self,
        target: &mut dyn LessonTarget,
        mut check: impl FnMut(&mut dyn LessonTarget) -> (bool, T),
    ) -> (bool, T) {
        loop {
            let outcome = check(target);
            if outcome.0 || self.left == 0 {
                return outcome;
            }
            let step = RETRY_MS.min(self.left);
            target.wait(step);
            self.left -= step;
        }
    }
}

/// The outcome of one step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepResult {
    pub number: usize,
    pub text: String,
    pub ok: bool,
    pub expected: Option<String>,
    pub seen: String,
}

/// Build the lesson's topology on the target.
pub fn setup(lesson: &Lesson, target: &mut dyn LessonTarget) {
    for n in &lesson.nodes {
        target.add_node(n);
    }
    for (c, n) in &lesson.clients {
        target.add_client(c, n);
    }
}

/// Carry out one step (numbered from 1) and check its expectation.
pub fn run_step(number: usize, step: &Step, target: &mut dyn LessonTarget) -> StepResult {
    let mut patience = Patience::of(target);
    let (ok, expected, seen) = match &step.action {
        Action::Command { client, args, expect } => {
            let (ok, seen) = command_step(target, &mut patience, client, args, expect.as_deref());
            (ok, expect.clone(), seen)
        }
        Action::Repeat { count, client, args, expect } => {
            // One patience for the whole step: a replica that lags catches up once.
            let mut seen = format!("{} replies", count);
            let mut ok = true;
            for i in 1..=*count {
                let n = i.to_string();
                let args: Vec<Vec<u8>> =
                    args.iter().map(|a| String::from_utf8_lossy(a).replace("{i}", &n).into_bytes()).collect();
                let (this_ok, reply) = command_step(target, &mut patience, client, &args, expect.as_deref());
                if !this_ok {
                    ok = false;
                    seen = format!("reply {} of {}: {}", i, count, reply);
                    break;
                }
            }
            (ok, expect.clone(), seen)
        }
        Action::Fault(f) => match target.fault(f.clone()) {
            Ok(()) => (true, None, String::new()),
            Err(e) => (false, None, e),
        },
        Action::Wait { ms } => {
            target.wait(*ms);
            (true, None, String::new())
        }
        Action::ExpectLog { .. }
        | Action::ExpectFile { .. }
        | Action::ExpectView { .. }
        | Action::ExpectInfo { .. } => {
            // Check, and on a live target check again until it holds or patience runs out.
            let (ok, (expected, seen)) = patience.until(target, |t| {
                let (ok, expected, seen) = check_expectation(&step.action, t);
                (ok, (expected, seen))
            });
            (ok, expected, seen)
        }
    };
    StepResult { number, text: step.text.clone(), ok, expected, seen }
}

/// Run one command and check its expected reply: (holds, the reply shown). A read-only command
/// runs again while the reply does not match and patience lasts; any other runs once.
fn command_step(
    target: &mut dyn LessonTarget,
    patience: &mut Patience,
    client: &str,
    args: &[Vec<u8>],
    expect: Option<&str>,
) -> (bool, String) {
    let Some(expect) = expect else { return (true, run_command(target, client, args)) };
    if !is_read_only(args) {
        let seen = run_command(target, client, args);
        return (matches_pattern(expect, &seen), seen);
    }
    let (_, seen) = patience.until(target, |t| {
        let seen = run_command(t, client, args);
        // Inside MULTI a read is only queued: asking again would queue it twice.
        (matches_pattern(expect, &seen) || seen == "QUEUED", seen)
    });
    (matches_pattern(expect, &seen), seen)
}

/// Run a command and render its reply as redis-cli prints it.
fn run_command(target: &mut dyn LessonTarget, client: &str, args: &[Vec<u8>]) -> String {
    let words: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
    match target.command(client, args) {
        Some(f) => render_cli_for(&words, &f),
        None => "(no reply)".to_string(),
    }
}

/// Evaluate an `expect …` step once: (holds, what was expected, what was seen).
fn check_expectation(action: &Action, target: &mut dyn LessonTarget) -> (bool, Option<String>, String) {
    match action {
        Action::ExpectLog { node, text } => {
            let logs = target.logs(node);
            let hit = logs.iter().find(|l| contains_pattern(l, text)).cloned();
            (
                hit.is_some(),
                Some(text.clone()),
                hit.unwrap_or_else(|| format!("{} log lines, none matching", logs.len())),
            )
        }
        Action::ExpectFile { node, text } => {
            let lines: Vec<String> =
                target.config_file(node).map(|t| t.lines().map(str::to_string).collect()).unwrap_or_default();
            let hit = lines.iter().find(|l| contains_pattern(l, text)).cloned();
            (
                hit.is_some(),
                Some(text.clone()),
                hit.unwrap_or_else(|| format!("{} lines in {}'s config file, none matching", lines.len(), node)),
            )
        }
        Action::ExpectView { node, field, value } => {
            let v = target.view();
            let seen = match v.nodes.iter().find(|n| &n.name == node) {
                None => format!("no node {}", node),
                Some(n) => match field.as_str() {
                    "up" => n.up.to_string(),
                    "role" => n.role.as_str().to_string(),
                    "keys" => n.keys.iter().map(|(_, k)| k).sum::<u64>().to_string(),
                    "clients" => n.connected_clients.to_string(),
                    "addr" => n.addr.clone(),
                    "offset" => n.master_repl_offset.to_string(),
                    "link" | "master" | "sync" => {
                        let link = v.links.iter().find(|l| l.kind == view::LinkKind::Replication && &l.from == node);
                        match (field.as_str(), link) {
                            (_, None) => "none".to_string(),
                            ("link", Some(l)) => l.state.as_str().to_string(),
                            ("master", Some(l)) => l.to.clone(),
                            (_, Some(l)) => l.note.clone(),
                        }
                    }
                    "watches" | "opinion" => {
                        let link = v.links.iter().find(|l| l.kind == view::LinkKind::Monitor && &l.from == node);
                        match (field.as_str(), link) {
                            (_, None) => "none".to_string(),
                            ("watches", Some(l)) => l.to.clone(),
                            (_, Some(l)) => l.opinion().to_string(),
                        }
                    }
                    other => format!("unknown view field {}", other),
                },
            };
            (matches_pattern(value, &seen), Some(format!("{}={}", field, value)), format!("{}={}", field, seen))
        }
        Action::ExpectInfo { node, field, value } => {
            let value = match resolve_references(value, target) {
                Ok(v) => v,
                Err(why) => return (false, Some(format!("{}={}", field, value)), why),
            };
            let seen = match target.info(node) {
                None => format!("{} is down", node),
                Some(info) => info_field(&info, field).unwrap_or_else(|| format!("no field {}", field)),
            };
            (matches_pattern(&value, &seen), Some(format!("{}={}", field, value)), format!("{}={}", field, seen))
        }
        _ => (true, None, String::new()),
    }
}

/// An expected INFO value may name another field, read when the step runs: `{node:field}`
/// is that node's field now, `{node:field+1}` (or `-N`) the same number plus N. So a lesson
/// states a relation Redis guarantees where the values change from run to run
/// (`master_replid2={master:master_replid}`, `second_repl_offset={replica:master_repl_offset+1}`).
fn resolve_references(value: &str, target: &mut dyn LessonTarget) -> Result<String, String> {
    let mut out = String::new();
    for piece in value_pieces(value) {
        match piece {
            ValuePiece::Text(t) => out.push_str(t),
            ValuePiece::Field { node, field, delta } => {
                let info = target.info(node).ok_or_else(|| format!("{} is down", node))?;
                let seen = info_field(&info, field).ok_or_else(|| format!("no field {} on {}", field, node))?;
                match delta {
                    None => out.push_str(&seen),
                    Some(d) => {
                        let d: i64 = d.parse().map_err(|_| format!("bad number in {{{}:{}{}}}", node, field, d))?;
                        let n: i64 =
                            seen.parse().map_err(|_| format!("{}'s {} is not a number: {}", node, field, seen))?;
                        out.push_str(&n.saturating_add(d).to_string());
                    }
                }
            }
        }
    }
    Ok(out)
}

/// A piece of an expected value: literal text, or a reference `{node:field}` /
/// `{node:field+N}` (`delta` keeps its sign: `+1`, `-2`).
enum ValuePiece<'a> {
    Text(&'a str),
    Field { node: &'a str, field: &'a str, delta: Option<&'a str> },
}

/// An expected value cut into text and references: the one reading of the syntax, shared by
/// the check ([`resolve_references`]) and the sentence ([`reference_reads`]). A brace without
/// `node:` inside is text.
fn value_pieces(value: &str) -> Vec<ValuePiece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else { break };
        let Some((node, expr)) = rest[open + 1..close].split_once(':') else {
            pieces.push(ValuePiece::Text(&rest[..=close]));
            rest = &rest[close + 1..];
            continue;
        };
        pieces.push(ValuePiece::Text(&rest[..open]));
        let (field, delta) = match expr.find(['+', '-']) {
            Some(i) => (&expr[..i], Some(&expr[i..])),
            None => (expr, None),
        };
        pieces.push(ValuePiece::Field { node, field, delta });
        rest = &rest[close + 1..];
    }
    pieces.push(ValuePiece::Text(rest));
    pieces
}

/// Build the topology, then run every step; a failed expectation does not stop the run.
pub fn run(lesson: &Lesson, target: &mut dyn LessonTarget) -> Vec<StepResult> {
    setup(lesson, target);
    lesson.steps.iter().enumerate().map(|(i, step)| run_step(i + 1, step, target)).collect()
}

/// The language a lesson is read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Zh,
    En,
}

impl Language {
    /// The text in this language, of its Chinese and English versions.
    pub fn t<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Language::Zh => zh,
            Language::En => en,
        }
    }
}

impl Step {
    /// The step as a learner reads it in the lesson panel: a sentence naming the node it acts
    /// on ("On r6381, check that `slave_read_only` is 1"), not the lesson file's syntax, which
    /// stays in [`Step::text`] for the lesson's author and the command line runner.
    pub fn reads(&self, lesson: &Lesson, lang: Language) -> String {
        let zh = lang == Language::Zh;
        let node_of = |client: &str| {
            lesson.clients.iter().find(|(c, _)| c == client).map(|(_, n)| n.clone()).unwrap_or_else(|| client.into())
        };
        // What follows `client> ` in the file: the command exactly as the author quoted it.
        let typed = || self.text.split_once("> ").map(|(_, c)| c.trim().trim_matches('`')).unwrap_or_default();
        let answer = |expect: &Option<String>| match expect
            .as_deref()
            .map(|e| (e.lines().next().unwrap_or(""), e.lines().count()))
        {
            None => String::new(),
            Some((first, 1)) if zh => format!("，应返回 `{}`", first),
            Some((first, 1)) => format!(" and expect `{}`", first),
            Some((first, _)) if zh => format!("，应返回 `{}` 等", first),
            Some((first, _)) => format!(" and expect `{}` …", first),
        };
        match &self.action {
            Action::Command { client, expect, .. } if zh => {
                format!("在 {} 上执行 `{}`{}", node_of(client), typed(), answer(expect))
            }
            Action::Command { client, expect, .. } => {
                format!("On {}, run `{}`{}", node_of(client), typed(), answer(expect))
            }
            Action::Repeat { count, client, .. } if zh => {
                format!("在 {} 上执行 {} 次 `{}`（{{i}} 依次为 1…{}）", node_of(client), count, typed(), count)
            }
            Action::Repeat { count, client, .. } => {
                format!("On {}, run `{}` {} times ({{i}} = 1…{})", node_of(client), typed(), count, count)
            }
            Action::Wait { ms } if zh => format!("等待 {}", duration(*ms, lang)),
            Action::Wait { ms } => format!("Wait {}", duration(*ms, lang)),
            Action::ExpectLog { node, text } if zh => format!("确认 {} 的日志里有 `{}`", node, text),
            Action::ExpectLog { node, text } => format!("Check that {}'s log says `{}`", node, text),
            Action::ExpectFile { node, text } if zh => format!("确认 {} 的配置文件里有 `{}`", node, text),
            Action::ExpectFile { node, text } => format!("Check that {}'s config file has `{}`", node, text),
            Action::ExpectInfo { node, field, value } if zh => {
                format!("确认 {} 的 `{}` 为 {}", node, field, reference_reads(value, lang))
            }
            Action::ExpectInfo { node, field, value } => {
                format!("On {}, check that `{}` is {}", node, field, reference_reads(value, lang))
            }
            Action::ExpectView { node, field, value } => view_fact(node, field, value, lang),
            Action::Fault(fault) => fault_reads(fault, lesson, lang),
        }
    }
}

/// An expected value's references in words: `{master:master_replid}` → "master's
/// `master_replid`", `{replica:master_repl_offset+1}` → "replica's `master_repl_offset` + 1".
fn reference_reads(value: &str, lang: Language) -> String {
    value_pieces(value)
        .into_iter()
        .map(|piece| match piece {
            ValuePiece::Text(t) => t.to_string(),
            ValuePiece::Field { node, field, delta } => {
                let delta = delta.map(|d| format!(" {} {}", &d[..1], &d[1..])).unwrap_or_default();
                if lang == Language::Zh {
                    format!("{} 的 `{}`{}", node, field, delta)
                } else {
                    format!("{}'s `{}`{}", node, field, delta)
                }
            }
        })
        .collect()
}

/// `1500` → "1.5 s" / "1.5 秒"; under a second, in ms.
fn duration(ms: u64, lang: Language) -> String {
    let (s, unit_ms) = if lang == Language::Zh { ("秒", "毫秒") } else { ("s", "ms") };
    match ms {
        ms if ms < 1000 => format!("{} {}", ms, unit_ms),
        ms if ms % 1000 == 0 => format!("{} {}", ms / 1000, s),
        ms => format!("{} {}", ms as f64 / 1000.0, s),
    }
}

/// A view fact in words: what the drawing shows of the node.
fn view_fact(node: &str, field: &str, value: &str, lang: Language) -> String {
    let zh = lang == Language::Zh;
    match (field, value) {
        ("up", "yes" | "true") if zh => format!("确认图中 {} 在运行", node),
        ("up", "yes" | "true") => format!("Check that {} is drawn up", node),
        ("up", _) if zh => format!("确认图中 {} 已停止", node),
        ("up", _) => format!("Check that {} is drawn down", node),
        _ => {
            let label = match (field, zh) {
                ("role", true) => "角色",
                ("role", false) => "role",
                ("keys", true) => "键数",
                ("keys", false) => "key count",
                ("clients", true) => "客户端数",
                ("clients", false) => "client count",
                ("link", true) => "到主库的链接",
                ("link", false) => "link to its master",
                ("master", true) => "主库",
                ("master", false) => "master",
                ("offset", true) => "复制偏移量",
                ("offset", false) => "replication offset",
                ("sync", true) => "同步方式",
                ("sync", false) => "last sync",
                ("watches", true) => "所监视的主库",
                ("watches", false) => "watched master",
                ("opinion", true) => "判断",
                ("opinion", false) => "opinion",
                (other, _) => other,
            };
            if zh {
                format!("确认图中 {} 的{}为 {}", node, label, value)
            } else {
                format!("Check that the drawing shows {}'s {} as {}", node, label, value)
            }
        }
    }
}

fn fault_reads(fault: &Fault, lesson: &Lesson, lang: Language) -> String {
    let zh = lang == Language::Zh;
    let name = |e: &Endpoint| match e {
        Endpoint::Node(n) => n.clone(),
        Endpoint::Client(c) => {
            let node = lesson.clients.iter().find(|(name, _)| name == c).map(|(_, n)| n.as_str()).unwrap_or("?");
            if zh {
                format!("客户端 {}（连 {}）", c, node)
            } else {
                format!("client {} (of {})", c, node)
            }
        }
    };
    match fault {
        Fault::Kill { node } if zh => format!("杀掉 {}（kill -9）", node),
        Fault::Kill { node } => format!("Kill {} (kill -9)", node),
        Fault::Restart { node } if zh => format!("重启 {}", node),
        Fault::Restart { node } => format!("Restart {}", node),
        Fault::CorruptRdb { node } if zh => format!("损坏 {} 的 dump.rdb", node),
        Fault::CorruptRdb { node } => format!("Corrupt {}'s dump.rdb", node),
        Fault::ClockJump { node, ms } if zh => format!("把 {} 的时钟拨快 {}", node, duration(*ms, lang)),
        Fault::ClockJump { node, ms } => format!("Move {}'s clock {} forward", node, duration(*ms, lang)),
        Fault::Cut { from, to, one_way: true } if zh => format!("单向切断 {} 到 {} 的网络", name(from), name(to)),
        Fault::Cut { from, to, one_way: true } => {
            format!("Cut the network from {} to {} (one way)", name(from), name(to))
        }
        Fault::Cut { from, to, .. } if zh => format!("切断 {} 与 {} 之间的网络", name(from), name(to)),
        Fault::Cut { from, to, .. } => format!("Cut the network between {} and {}", name(from), name(to)),
        Fault::Heal { a, b } if zh => format!("恢复 {} 与 {} 之间的网络", name(a), name(b)),
        Fault::Heal { a, b } => format!("Heal the network between {} and {}", name(a), name(b)),
        Fault::Hold { a, b } if zh => format!("扣住 {} 与 {} 之间的消息", name(a), name(b)),
        Fault::Hold { a, b } => format!("Hold the messages between {} and {}", name(a), name(b)),
        Fault::Release { a, b } if zh => format!("放行 {} 与 {} 之间扣住的消息", name(a), name(b)),
        Fault::Release { a, b } => format!("Release the messages held between {} and {}", name(a), name(b)),
        Fault::Delay { a, b, ms } if zh => {
            format!("给 {} 与 {} 之间的网络加 {} 延迟", name(a), name(b), duration(*ms, lang))
        }
        Fault::Delay { a, b, ms } => {
            format!("Delay the network between {} and {} by {}", name(a), name(b), duration(*ms, lang))
        }
        Fault::Pause { node } if zh => format!("暂停 {} 的进程（SIGSTOP）", node),
        Fault::Pause { node } => format!("Pause {}'s process (SIGSTOP)", node),
        Fault::Resume { node } if zh => format!("让 {} 的进程继续运行（SIGCONT）", node),
        Fault::Resume { node } => format!("Resume {}'s process (SIGCONT)", node),
        Fault::Drop { a, b, per_mille } if zh => {
            format!("让 {} 与 {} 之间丢失 {}‰ 的消息", name(a), name(b), per_mille)
        }
        Fault::Drop { a, b, per_mille } => {
            format!("Lose {}‰ of the messages between {} and {}", per_mille, name(a), name(b))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# 示例 | Sample\n\n## 中文\n\n写入一个键。\n\n## English\n\nWrite a key.\n\n## Topology\n\n- node m 192.168.131.148:6379\n  ```conf\n  save 900 1\n  ```\n- client cli -> m\n\n## Steps\n\n1. cli> SET keyone lisuo\n   → OK\n2. cli> LPUSH menu apple banana\n   → (integer) 2\n3. cli> LRANGE menu 0 -1\n   → 1) \"banana\"\n   → 2) \"apple\"\n4. kill m\n5. restart m\n6. wait 2s\n7. cli> DBSIZE\n   → (integer) 0\n8. expect view m: up=true\n9. expect log m: Server initialized\n";

    #[test]
    fn parses_and_runs_in_the_simulator() {
        let lesson = parse(SAMPLE).unwrap();
        assert_eq!(lesson.title, "示例 | Sample");
        assert_eq!(lesson.nodes[0].config, "save 900 1\n");
        assert_eq!(lesson.steps.len(), 9);
        let mut world = World::new(1);
        let results = run(&lesson, &mut world);
        for r in &results {
            assert!(r.ok, "step {} '{}': expected {:?}, saw {:?}", r.number, r.text, r.expected, r.seen);
        }
    }

    #[test]
    fn a_step_reads_as_a_sentence_naming_its_node() {
        let lesson = parse(SAMPLE).unwrap();
        let en: Vec<String> = lesson.steps.iter().map(|s| s.reads(&lesson, Language::En)).collect();
        let zh: Vec<String> = lesson.steps.iter().map(|s| s.reads(&lesson, Language::Zh)).collect();
        assert_eq!(en[0], "On m, run `SET keyone lisuo` and expect `OK`");
        assert_eq!(zh[0], "在 m 上执行 `SET keyone lisuo`，应返回 `OK`");
        assert_eq!(en[2], "On m, run `LRANGE menu 0 -1` and expect `1) \"banana\"` …");
        assert_eq!(en[3], "Kill m (kill -9)");
        assert_eq!(zh[5], "等待 2 秒");
        assert_eq!(en[7], "Check that m is drawn up");
        assert_eq!(en[8], "Check that m's log says `Server initialized`");
        let more = parse(&format!(
            "{}10. expect info m: slave_read_only=1\n11. repeat 3: cli> SET k:{{i}} v\n12. cut cli m\n13. delay m cli 1500ms\n",
            SAMPLE
        ))
        .unwrap();
        let read = |i: usize, lang| more.steps[i].reads(&more, lang);
        assert_eq!(read(9, Language::En), "On m, check that `slave_read_only` is 1");
        let relation =
            parse(&format!("{}10. expect info m: second_repl_offset={{m:master_repl_offset+1}}\n", SAMPLE)).unwrap();
        assert_eq!(
            relation.steps[9].reads(&relation, Language::En),
            "On m, check that `second_repl_offset` is m's `master_repl_offset` + 1"
        );
        assert_eq!(read(10, Language::En), "On m, run `SET k:{i} v` 3 times ({i} = 1…3)");
        assert_eq!(read(11, Language::En), "Cut the network between client cli (of m) and m");
        assert_eq!(read(12, Language::Zh), "给 m 与 客户端 cli（连 m） 之间的网络加 1.5 秒 延迟");
    }

    #[test]
    fn a_wrong_expectation_is_reported_with_what_was_seen() {
        let text = SAMPLE.replace("→ (integer) 2", "→ (integer) 3");
        let lesson = parse(&text).unwrap();
        let results = run(&lesson, &mut World::new(1));
        let bad: Vec<_> = results.iter().filter(|r| !r.ok).collect();
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].seen, "(integer) 2");
    }

    #[test]
    fn ellipses_match_any_text_within_a_line() {
        assert!(matches_pattern("1) \"slave\"\n5) (integer) …", "1) \"slave\"\n5) (integer) 560"));
        assert!(!matches_pattern("5) (integer) …", "5) (integer) 1\n6) x"));
        assert!(matches_pattern("Full resync from master: …:…", "Full resync from master: 0a3e:546"));
        assert!(!matches_pattern("a…c", "abd"));
        assert!(contains_pattern("123:S 11 Feb * Full resync from master: ab:5", "Full resync from master: …:5"));
        assert!(!contains_pattern("Partial resync", "Full…"));
    }

    /// A live-style target (patience > 0): a master and a replica that lags. The replica's
    /// `GET foo` answers `(nil)` the first `stale` times, then `"bar"`; `INCR n` counts how often
    /// it really ran; client `q` is inside MULTI and only queues. `wait` only adds to a clock, so
    /// the test runs in no time.
    struct LaggingReplica {
        patience: u64,
        stale: usize,
        gets: usize,
        incrs: i64,
        waited: u64,
    }

    impl LaggingReplica {
        fn new(patience: u64, stale: usize) -> LaggingReplica {
            LaggingReplica { patience, stale, gets: 0, incrs: 0, waited: 0 }
        }
    }

    impl LessonTarget for LaggingReplica {
        fn add_node(&mut self, _: &NodeSpec) {}
        fn add_client(&mut self, _: &str, _: &str) {}
        fn command(&mut self, client: &str, args: &[Vec<u8>]) -> Option<Frame> {
            let name = args[0].to_ascii_uppercase();
            Some(match (client, name.as_slice()) {
                ("r", b"GET") => {
                    self.gets += 1;
                    if self.gets <= self.stale {
                        Frame::NullBulk
                    } else {
                        Frame::Bulk("bar".into())
                    }
                }
                ("q", _) => Frame::Simple("QUEUED".into()),
                (_, b"INCR") => {
                    self.incrs += 1;
                    Frame::Integer(self.incrs)
                }
                _ => Frame::Simple("OK".into()),
            })
        }
        fn fault(&mut self, _: Fault) -> Result<(), String> {
            Ok(())
        }
        fn wait(&mut self, ms: u64) {
            self.waited += ms;
        }
        fn logs(&self, _: &str) -> Vec<String> {
            Vec::new()
        }
        fn patience_ms(&self) -> u64 {
            self.patience
        }
        fn view(&self) -> ViewModel {
            ViewModel::empty()
        }
        fn config_file(&self, _: &str) -> Option<String> {
            None
        }
        fn info(&mut self, _: &str) -> Option<String> {
            None
        }
    }

    const LAGGING: &str = "# Lag\n\n## Topology\n\n- node master 127.0.0.1:6379\n- node replica 127.0.0.1:6380\n- client m -> master\n- client r -> replica\n\n## Steps\n\n1. m> SET foo bar\n   → OK\n2. r> GET foo\n   → \"bar\"\n3. m> INCR n\n   → (integer) 2\n";

    #[test]
    fn a_live_target_retries_a_read_until_it_matches() {
        let lesson = parse(LAGGING).unwrap();
        let mut target = LaggingReplica::new(2000, 3);
        let results = run(&lesson, &mut target);
        assert!(results[1].ok, "{:?}", results[1]);
        // The reply shown is the one that matched, after three stale ones 50 ms apart.
        assert_eq!(results[1].seen, "\"bar\"");
        assert_eq!((target.gets, target.waited), (4, 150));
    }

    #[test]
    fn a_write_is_never_run_again() {
        let lesson = parse(LAGGING).unwrap();
        let mut target = LaggingReplica::new(2000, 0);
        let results = run(&lesson, &mut target);
        // INCR answered 1 where 2 was expected: it fails at once, run once.
        assert!(!results[2].ok);
        assert_eq!(results[2].seen, "(integer) 1");
        assert_eq!(target.incrs, 1);
        assert_eq!(target.waited, 0);
    }

    #[test]
    fn a_read_that_never_matches_fails_when_patience_runs_out() {
        let lesson = parse(LAGGING).unwrap();
        let mut target = LaggingReplica::new(2000, usize::MAX);
        let results = run(&lesson, &mut target);
        assert!(!results[1].ok);
        assert_eq!(results[1].seen, "(nil)", "the last reply is the one shown");
        // Asked once, then every 50 ms until the 2 s are used up.
        assert_eq!((target.gets, target.waited), (41, 2000));
    }

    #[test]
    fn without_patience_a_read_is_asked_once() {
        // The simulator's patience is 0: a lesson that needs time there says `wait`.
        let lesson = parse(LAGGING).unwrap();
        let mut target = LaggingReplica::new(0, 1);
        let results = run(&lesson, &mut target);
        assert!(!results[1].ok);
        assert_eq!((target.gets, target.waited), (1, 0));
    }

    #[test]
    fn a_repeated_read_shares_one_patience() {
        let text = LAGGING.replace("2. r> GET foo", "2. repeat 3: r> GET foo");
        let lesson = parse(&text).unwrap();
        let mut target = LaggingReplica::new(2000, 3);
        let results = run(&lesson, &mut target);
        assert!(results[1].ok, "{:?}", results[1]);
        assert_eq!((target.gets, target.waited), (6, 150));
    }

    #[test]
    fn a_queued_read_is_not_asked_again() {
        // Inside MULTI the replica only queues the GET: asking again would queue it twice.
        let text = LAGGING.replace("- client r -> replica", "- client r -> replica\n- client q -> replica");
        let text = text.replace("2. r> GET foo", "2. q> GET foo");
        let lesson = parse(&text).unwrap();
        let mut target = LaggingReplica::new(2000, 0);
        let results = run(&lesson, &mut target);
        assert!(!results[1].ok);
        assert_eq!(results[1].seen, "QUEUED");
        assert_eq!((target.gets, target.waited), (0, 0));
    }

    #[test]
    fn reads_are_judged_by_the_command_table() {
        let args = |s: &str| split_args(s.as_bytes()).unwrap();
        for read in [
            "GET foo",
            "mget a b",
            "LRANGE menu 0 -1",
            "DBSIZE",
            "KEYS *",
            "EXISTS a",
            "STRLEN big:200",
            "INFO replication",
            "ROLE",
            "CONFIG GET port",
            "object encoding k",
            "LASTSAVE",
        ] {
            assert!(is_read_only(&args(read)), "{}", read);
        }
        for other in [
            "SET foo bar",
            "INCR n",
            "CONFIG SET masterauth x",
            "SLAVEOF NO ONE",
            "REPLICAOF 127.0.0.1 6379",
            "SAVE",
            "SHUTDOWN",
            "AUTH pw",
            "XREAD BLOCK 0 STREAMS s $",
            "CONFIG",
            "OBJECT",
            "FROBNICATE",
            "MULTI",
            "DEBUG SLEEP 0",
            "SELECT 1",
        ] {
            assert!(!is_read_only(&args(other)), "{}", other);
        }
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("# x\n## Topology\n- node m 127.0.0.1:6379\n## Steps\n1. frobnicate m\n").unwrap_err();
        assert_eq!(e.line, 5);
    }
}
