//! The live bridge's protocol: what the browser and `halab lab` say over the WebSocket `/ws`.
//!
//! Both ends compile this module (the web app in wasm, the bridge natively), so a message one
//! side writes is exactly what the other reads. Every message is one JSON text frame carrying
//! the protocol version `v`; a frame that is not valid JSON of the right shape, of another
//! version, or larger than [`MAX_MESSAGE_BYTES`] is answered with [`Message::Error`] and the
//! socket stays open.
//!
//! The browser asks ([`Request`]); the bridge answers and pushes ([`Message`]): first the full
//! [`ViewModel`] of the live deployment — the very model the simulator's view produces, built
//! by the same code from `INFO`, `ROLE`, `SENTINEL …` and log lines — then [`ViewPatch`]es
//! carrying only what changed, and the event stream (log lines, Sentinel's published events,
//! replies).
//!
//! Faults are written as lesson steps (`kill master`, `cut replica1 master`, `pause master`,
//! `delay a b 200ms`): one syntax for lessons, the palette and recordings.

use crate::lab::view::{EventView, FailoverView, LinkView, NodeView, ViewModel};
use serde::{Deserialize, Serialize};

/// The protocol version both ends speak.
pub const VERSION: u32 = 1;

/// The largest frame either end accepts.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// A frame from the browser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToBridge {
    pub v: u32,
    /// Chosen by the browser; the answers to this request carry it back.
    #[serde(default)]
    pub id: u64,
    #[serde(flatten)]
    pub request: Request,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Send the whole view again (a page that just connected).
    Hello,
    /// Watch a deployment the lab did not start: this address, and what it leads to
    /// (replicas from INFO, masters, replicas and sentinels from a sentinel).
    Attach {
        addr: String,
        #[serde(default)]
        password: Option<String>,
    },
    /// Stop watching (and stop the supervised processes).
    Detach,
    /// Start local processes from a template.
    Start {
        template: Template,
        #[serde(default)]
        flavor: Flavor,
    },
    /// Start a lesson's topology (a file of the lab's `lessons/`), to run its steps live.
    StartLesson { lesson: String },
    /// Run the started lesson's next step on the processes.
    Step,
    /// A command typed in a node's terminal, as redis-cli reads a line.
    Command { node: String, line: String },
    /// A fault on supervised processes, in lesson step syntax.
    Fault { step: String },
    /// Replay what was recorded since the deployment started in the simulator, and compare.
    Replay,
}

/// The deployments `Start` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Template {
    /// One master and two replicas.
    Replication,
    /// One master, two replicas and three sentinels watching it (quorum 2).
    Sentinel,
}

/// Which programs a started deployment runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flavor {
    /// `halab server` / `halab sentinel`.
    #[default]
    Halab,
    /// Redis's own `redis-server` / `redis-sentinel`.
    Redis,
    /// Both, alternating node by node.
    Mixed,
}

/// A frame from the bridge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FromBridge {
    pub v: u32,
    #[serde(flatten)]
    pub message: Message,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    /// The first frame on a socket.
    Welcome {
        version: u32,
        lessons: Vec<String>,
    },
    /// The whole view: after `Hello`, and whenever the deployment changes shape.
    View {
        view: ViewModel,
        deployment: Deployment,
    },
    /// What changed since the last view or patch.
    Patch {
        patch: ViewPatch,
    },
    /// One event: a log line, a Sentinel event (`+switch-master …`), a fault applied.
    Event {
        event: EventView,
    },
    /// A command's reply, as redis-cli prints it.
    Reply {
        id: u64,
        node: String,
        command: String,
        text: String,
    },
    /// A lesson step run live.
    Step {
        id: u64,
        step: StepView,
    },
    /// The recorded session, replayed in the simulator: its scenario as the lab's URL
    /// fragment, and the first reply that differed, if one did.
    Replayed {
        id: u64,
        fragment: String,
        compared: usize,
        divergence: Option<String>,
    },
    Error {
        id: u64,
        message: String,
    },
}

/// What the bridge is connected to.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Deployment {
    /// `none`, `attached` (processes the lab did not start) or `supervised`.
    pub kind: String,
    /// The lesson running live, if any (its file name), and how many of its steps ran.
    #[serde(default)]
    pub lesson: Option<String>,
    #[serde(default)]
    pub steps_run: usize,
    #[serde(default)]
    pub steps_total: usize,
    /// The bridge's polls so far, and how long one takes (median, 99th percentile): how old
    /// a view is when it leaves.
    #[serde(default)]
    pub polls: usize,
    #[serde(default)]
    pub poll_median_ms: f64,
    #[serde(default)]
    pub poll_p99_ms: f64,
}

/// A step's outcome, as the lesson panel shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepView {
    pub number: usize,
    pub text: String,
    pub ok: bool,
    pub expected: Option<String>,
    pub seen: String,
}

impl From<&crate::lab::lesson::StepResult> for StepView {
    fn from(r: &crate::lab::lesson::StepResult) -> StepView {
        StepView {
            number: r.number,
            text: r.text.clone(),
            ok: r.ok,
            expected: r.expected.clone(),
            seen: r.seen.clone(),
        }
    }
}

impl From<StepView> for crate::lab::lesson::StepResult {
    fn from(s: StepView) -> crate::lab::lesson::StepResult {
        crate::lab::lesson::StepResult { number: s.number, text: s.text, ok: s.ok, expected: s.expected, seen: s.seen }
    }
}

/// The difference between two views: nodes that changed (whole) or left, and the links and
/// failovers when they changed. Events travel on their own ([`Message::Event`]).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ViewPatch {
    pub elapsed_ms: u64,
    #[serde(default)]
    pub nodes: Vec<NodeView>,
    #[serde(default)]
    pub removed: Vec<String>,
    #[serde(default)]
    pub links: Option<Vec<LinkView>>,
    #[serde(default)]
    pub failovers: Option<Vec<FailoverView>>,
}

impl ViewPatch {
    /// What turns `old` into `new` (events aside); `None` when nothing but the time moved.
    pub fn between(old: &ViewModel, new: &ViewModel) -> Option<ViewPatch> {
        let nodes: Vec<NodeView> = new.nodes.iter().filter(|n| !old.nodes.contains(n)).cloned().collect();
        let removed: Vec<String> =
            old.nodes.iter().filter(|o| !new.nodes.iter().any(|n| n.name == o.name)).map(|o| o.name.clone()).collect();
        let links = (old.links != new.links).then(|| new.links.clone());
        let failovers = (old.failovers != new.failovers).then(|| new.failovers.clone());
        if nodes.is_empty() && removed.is_empty() && links.is_none() && failovers.is_none() {
            return None;
        }
        Some(ViewPatch { elapsed_ms: new.elapsed_ms, nodes, removed, links, failovers })
    }

    /// Apply to the view it was computed from.
    pub fn apply(self, view: &mut ViewModel) {
        view.elapsed_ms = self.elapsed_ms;
        view.nodes.retain(|n| !self.removed.contains(&n.name));
        for node in self.nodes {
            match view.nodes.iter_mut().find(|n| n.name == node.name) {
                Some(slot) => *slot = node,
                None => view.nodes.push(node),
            }
        }
        if let Some(links) = self.links {
            view.links = links;
        }
        if let Some(failovers) = self.failovers {
            view.failovers = failovers;
        }
    }
}

/// Read one frame from the browser: the request, or the error message to answer with.
pub fn read_request(text: &str) -> Result<ToBridge, (u64, String)> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err((0, format!("message of {} bytes is larger than {} bytes", text.len(), MAX_MESSAGE_BYTES)));
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| (0, format!("not JSON: {}", e)))?;
    let id = value.get("id").and_then(|i| i.as_u64()).unwrap_or(0);
    match value.get("v").and_then(|v| v.as_u64()) {
        Some(v) if v == VERSION as u64 => {}
        Some(v) => return Err((id, format!("protocol version {} is not {}", v, VERSION))),
        None => return Err((id, "no protocol version (\"v\")".to_string())),
    }
    serde_json::from_value(value).map_err(|e| (id, format!("not a request: {}", e)))
}

/// `encodeURIComponent`: a recorded scenario in the lab's URL fragment.
pub fn fragment_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{:02X}", b));
        }
    }
    out
}

/// The inverse of [`fragment_encode`]; `None` if malformed.
pub fn fragment_decode(s: &str) -> Option<String> {
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

/// A frame to send.
pub fn write(message: Message) -> String {
    serde_json::to_string(&FromBridge { v: VERSION, message }).expect("messages serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::view::NodeRole;

    #[test]
    fn a_patch_turns_the_old_view_into_the_new_one() {
        let mut old = ViewModel {
            elapsed_ms: 1,
            nodes: vec![NodeView::down("a", "127.0.0.1:1"), NodeView::down("b", "127.0.0.1:2")],
            ..ViewModel::empty()
        };
        let mut new = old.clone();
        new.elapsed_ms = 9;
        new.nodes.remove(0);
        new.nodes[0].role = NodeRole::Master;
        new.nodes.push(NodeView::down("c", "127.0.0.1:3"));
        let patch = ViewPatch::between(&old, &new).expect("something changed");
        assert_eq!(patch.removed, vec!["a".to_string()]);
        assert_eq!(patch.nodes.len(), 2, "b changed, c is new");
        assert!(patch.links.is_none(), "links did not change");
        patch.apply(&mut old);
        assert_eq!(old, new);
        assert_eq!(ViewPatch::between(&new, &new), None);
    }

    #[test]
    fn bad_frames_are_answered_with_what_is_wrong() {
        assert!(read_request("{").unwrap_err().1.starts_with("not JSON"));
        assert_eq!(read_request(r#"{"id":3,"type":"hello"}"#).unwrap_err(), (3, "no protocol version (\"v\")".into()));
        assert_eq!(read_request(r#"{"v":2,"id":4,"type":"hello"}"#).unwrap_err().1, "protocol version 2 is not 1");
        assert!(read_request(r#"{"v":1,"id":5,"type":"launch_missiles"}"#).unwrap_err().1.starts_with("not a request"));
        let big = format!(r#"{{"v":1,"type":"command","node":"a","line":"{}"}}"#, "x".repeat(MAX_MESSAGE_BYTES));
        assert!(read_request(&big).unwrap_err().1.contains("larger than"));
        let ok = read_request(r#"{"v":1,"id":7,"type":"command","node":"m","line":"GET a"}"#).unwrap();
        assert_eq!(ok.request, Request::Command { node: "m".into(), line: "GET a".into() });
        let start = read_request(r#"{"v":1,"type":"start","template":"sentinel"}"#).unwrap();
        assert_eq!(start.request, Request::Start { template: Template::Sentinel, flavor: Flavor::Halab });
        // What the bridge writes, the browser reads.
        let frame = write(Message::Error { id: 1, message: "x".into() });
        let back: FromBridge = serde_json::from_str(&frame).unwrap();
        assert_eq!(back.message, Message::Error { id: 1, message: "x".into() });
        let text = "0 cmd \"term-m\" \"SET\" \"a b\"\n";
        assert_eq!(fragment_decode(&fragment_encode(text)).as_deref(), Some(text));
        assert_eq!(fragment_decode("%zz"), None);
    }
}
