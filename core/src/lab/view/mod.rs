//! The view: one plain, serializable model of what the lab draws.
//!
//! The web app renders a [`ViewModel`] and never asks where it came from: [`from_world`] derives
//! it from the simulator; the live bridge (a later issue) will derive the same model from what
//! real processes answer to `INFO`, `ROLE` and their logs, which is why every field here is
//! something a real Redis also reports.

mod failover;
mod message;

pub use failover::{read_failovers, FailoverStage, FailoverView};
pub use message::{classify as classify_message, MessageKind};

use crate::lab::observe::{self, NodeObservation, ReplicaLinkState};
use crate::lab::sim::{Endpoint, TraceKind, World};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewModel {
    /// Virtual (or wall) time since the deployment started, in ms.
    pub elapsed_ms: u64,
    pub nodes: Vec<NodeView>,
    pub links: Vec<LinkView>,
    /// Messages on the wire, with how far along they are (0 = just sent, 1 = arriving).
    pub messages: Vec<MessageView>,
    pub events: Vec<EventView>,
    /// Every sentinel's failover tries, read from its log, oldest first.
    #[serde(default)]
    pub failovers: Vec<FailoverView>,
}

impl ViewModel {
    /// Nothing to draw: no deployment yet.
    pub fn empty() -> ViewModel {
        ViewModel {
            elapsed_ms: 0,
            nodes: Vec::new(),
            links: Vec::new(),
            messages: Vec::new(),
            events: Vec::new(),
            failovers: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageView {
    pub from: String,
    pub to: String,
    pub progress: f64,
    pub bytes: usize,
    /// On a sentinel's connection, what the message says (a hello, a vote…); `other` elsewhere.
    #[serde(default)]
    pub kind: MessageKind,
    /// Its fields in a few words, for Sentinel's messages.
    #[serde(default)]
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeView {
    pub name: String,
    pub addr: String,
    /// False while the process is down.
    pub up: bool,
    pub role: NodeRole,
    pub run_id: String,
    pub master_replid: String,
    pub master_repl_offset: i64,
    /// Keys per database, as `INFO keyspace` lists them.
    pub keys: Vec<(usize, u64)>,
    pub connected_clients: usize,
    /// Slot ranges this node serves (empty until cluster mode).
    pub slots: Vec<(u16, u16)>,
    pub flags: Vec<String>,
    /// A sentinel process (also while it is down, when the simulator knows it).
    #[serde(default)]
    pub sentinel: bool,
}

impl NodeView {
    /// A node whose process is not running.
    pub fn down(name: &str, addr: &str) -> NodeView {
        NodeView {
            name: name.to_string(),
            addr: addr.to_string(),
            up: false,
            role: NodeRole::Down,
            run_id: String::new(),
            master_replid: String::new(),
            master_repl_offset: 0,
            keys: Vec::new(),
            connected_clients: 0,
            slots: Vec::new(),
            flags: vec!["down".into()],
            sentinel: false,
        }
    }
}

/// A node's role as drawn: `ROLE`'s word, or `down` while the process is not running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeRole {
    Master,
    Slave,
    Sentinel,
    Down,
}

impl NodeRole {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeRole::Master => "master",
            NodeRole::Slave => "slave",
            NodeRole::Sentinel => "sentinel",
            NodeRole::Down => "down",
        }
    }
}

/// What a drawn link is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkKind {
    /// A client's connection to a node.
    Client,
    /// A replica's link to its master (drawn from the replica).
    Replication,
    /// A sentinel watching a master (drawn from the sentinel to where it thinks the master
    /// is; its state says the sentinel's opinion: up, or down for SDOWN/ODOWN).
    Monitor,
}

/// The state a drawn link shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkState {
    /// Connected; a replication link is streaming (ROLE `connected`).
    Up,
    /// A replica receives its snapshot (ROLE `sync`).
    Sync,
    /// A replica shakes hands with its master (ROLE `handshake`).
    Handshake,
    /// A replica is not connected to its master (ROLE `connect`, `connecting`).
    Down,
    /// The simulator cuts the link: messages are lost.
    Cut,
    /// The simulator holds the link's messages.
    Held,
    /// A client's connection is closed.
    Closed,
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Up => "up",
            LinkState::Sync => "sync",
            LinkState::Handshake => "handshake",
            LinkState::Down => "down",
            LinkState::Cut => "cut",
            LinkState::Held => "held",
            LinkState::Closed => "closed",
        }
    }

    /// How a replica's own link state is drawn.
    pub fn of_replica_link(state: ReplicaLinkState) -> LinkState {
        match state {
            ReplicaLinkState::Connected => LinkState::Up,
            ReplicaLinkState::Sync => LinkState::Sync,
            ReplicaLinkState::Handshake => LinkState::Handshake,
            ReplicaLinkState::Connect | ReplicaLinkState::Connecting => LinkState::Down,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkView {
    pub from: String,
    pub to: String,
    pub kind: LinkKind,
    pub state: LinkState,
    pub extra_latency_ms: u64,
    pub loss_per_mille: u32,
    pub held_messages: usize,
    /// Replication links: the replica's applied offset, its lag in seconds as the master sees
    /// it, and how the last synchronisation went ("partial resync: …" / "full resync: …").
    #[serde(default)]
    pub offset: i64,
    #[serde(default)]
    pub lag_s: Option<u64>,
    #[serde(default)]
    pub note: String,
}

impl LinkView {
    /// A monitor link's sentinel opinion of its master: `ok`, `sdown` or `odown` (its note is
    /// `<master name> <opinion>`); empty for other links.
    pub fn opinion(&self) -> &str {
        if self.kind != LinkKind::Monitor {
            return "";
        }
        self.note.rsplit(' ').next().unwrap_or("")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventView {
    pub at_ms: u64,
    /// `input`, `log`, `reply`, `down`, `up`, `saved`, `closed`, `message`.
    pub kind: String,
    pub subject: String,
    pub text: String,
}

fn endpoint_name(e: &Endpoint) -> String {
    match e {
        Endpoint::Node(n) => n.clone(),
        Endpoint::Client(c) => format!("client:{}", c),
    }
}

/// The view of a simulated world. `max_events` keeps the most recent events (messages are
/// left out: the topology animates them from the trace directly).
pub fn from_world(world: &World, max_events: usize) -> ViewModel {
    let observed: Vec<(String, String, Option<NodeObservation>)> = world
        .node_names()
        .into_iter()
        .map(|name| {
            let addr = world.node_addr(&name).unwrap_or("").to_string();
            let obs = world.node(&name).map(observe::from_node);
            (name, addr, obs)
        })
        .collect();
    let (mut nodes, mut replication) = nodes_and_replication_links(&observed);
    for n in &mut nodes {
        n.sentinel = world.is_sentinel(&n.name);
        // A stopped process still looks up to its accessors; what only the simulator knows.
        if world.is_paused(&n.name) {
            n.flags.push("paused".into());
        }
    }
    // What only the simulator knows, on top: faults on the links, closed client connections.
    let faults = world.faulty_links();
    for link in &mut replication {
        let (a, b) = (Endpoint::Node(link.from.clone()), Endpoint::Node(link.to.clone()));
        let fault = fault_between(&faults, &a, &b);
        match fault {
            Some(f) if f.cut => link.state = LinkState::Cut,
            Some(f) if f.held => link.state = LinkState::Held,
            _ => {}
        }
        link.extra_latency_ms = fault.map(|f| f.extra_ms).unwrap_or(0);
        link.loss_per_mille = fault.map(|f| f.drop_per_mille).unwrap_or(0);
        link.held_messages = held_between(&faults, &a, &b);
    }
    let mut links = Vec::new();
    for (client, node, open) in world.client_links() {
        let from = Endpoint::Client(client.clone());
        let to = Endpoint::Node(node.clone());
        let fault = fault_between(&faults, &from, &to);
        let state = match fault {
            _ if !open => LinkState::Closed,
            Some(f) if f.cut => LinkState::Cut,
            Some(f) if f.held => LinkState::Held,
            _ => LinkState::Up,
        };
        links.push(LinkView {
            from: endpoint_name(&from),
            to: node,
            kind: LinkKind::Client,
            state,
            extra_latency_ms: fault.map(|f| f.extra_ms).unwrap_or(0),
            loss_per_mille: fault.map(|f| f.drop_per_mille).unwrap_or(0),
            held_messages: held_between(&faults, &from, &to),
            offset: 0,
            lag_s: None,
            note: String::new(),
        });
    }
    links.extend(replication);
    let events: Vec<EventView> = world
        .trace()
        .iter()
        .filter_map(|e| {
            let (kind, subject, text) = match &e.kind {
                TraceKind::Input(input) => ("input", String::new(), input.to_string()),
                TraceKind::Log { node, line } => ("log", node.clone(), line.clone()),
                TraceKind::Reply { client, frame } => ("reply", client.clone(), crate::resp::render_cli(frame)),
                TraceKind::NodeDown { node } => ("down", node.clone(), String::new()),
                TraceKind::NodeUp { node } => ("up", node.clone(), String::new()),
                TraceKind::Saved { node, bytes } => ("saved", node.clone(), format!("{} bytes", bytes)),
                TraceKind::Closed { client } => ("closed", client.clone(), String::new()),
                TraceKind::Message { .. } => return None,
            };
            Some(EventView { at_ms: e.at, kind: kind.into(), subject, text })
        })
        .collect();
    let now = world.now();
    let on_sentinel_link = |e: &Endpoint| matches!(e, Endpoint::Node(n) if world.is_sentinel(n));
    let messages = world
        .in_flight()
        .into_iter()
        .map(|m| {
            let (kind, detail) = if on_sentinel_link(&m.from) || on_sentinel_link(&m.to) {
                classify_message(&m.payload)
            } else {
                (MessageKind::Other, String::new())
            };
            MessageView {
                from: endpoint_name(&m.from),
                to: endpoint_name(&m.to),
                progress: if m.arrives > m.sent {
                    (now.saturating_sub(m.sent)) as f64 / (m.arrives - m.sent) as f64
                } else {
                    1.0
                },
                bytes: m.payload.len(),
                kind,
                detail,
            }
        })
        .collect();
    // The sentinels' logs in one pass over the trace, then each one's tries.
    let mut sentinel_logs: Vec<(&str, Vec<&str>)> =
        nodes.iter().filter(|n| n.sentinel).map(|n| (n.name.as_str(), Vec::new())).collect();
    if !sentinel_logs.is_empty() {
        for e in world.trace() {
            if let TraceKind::Log { node, line } = &e.kind {
                if let Some((_, lines)) = sentinel_logs.iter_mut().find(|(n, _)| *n == node.as_str()) {
                    lines.push(line);
                }
            }
        }
    }
    let failovers = sentinel_logs.into_iter().flat_map(|(name, lines)| read_failovers(name, lines)).collect();
    let skip = events.len().saturating_sub(max_events);
    ViewModel {
        elapsed_ms: world.elapsed(),
        nodes,
        links,
        messages,
        events: events.into_iter().skip(skip).collect(),
        failovers,
    }
}

/// The fault on the link between `a` and `b`, whichever way it was set.
fn fault_between<'f>(
    faults: &'f [crate::lab::sim::LinkSummary],
    a: &Endpoint,
    b: &Endpoint,
) -> Option<&'f crate::lab::sim::LinkSummary> {
    faults.iter().find(|l| (l.from == *a && l.to == *b) || (l.from == *b && l.to == *a))
}

/// Messages a held link keeps back, both ways.
fn held_between(faults: &[crate::lab::sim::LinkSummary], a: &Endpoint, b: &Endpoint) -> usize {
    faults
        .iter()
        .filter(|l| (l.from == *a && l.to == *b) || (l.from == *b && l.to == *a))
        .map(|l| l.held_messages)
        .sum()
}

/// The nodes as drawn, and one link per replica from it to its master (its state and offset
/// as the replica reports them; its lag and last sync as the master does), from one
/// observation per node (`None`: the process is down).
fn nodes_and_replication_links(
    observed: &[(String, String, Option<NodeObservation>)],
) -> (Vec<NodeView>, Vec<LinkView>) {
    let mut nodes = Vec::new();
    let mut links = Vec::new();
    for (name, addr, obs) in observed {
        let Some(obs) = obs else {
            nodes.push(NodeView::down(name, addr));
            continue;
        };
        nodes.push(NodeView {
            name: name.clone(),
            addr: addr.clone(),
            up: true,
            role: match obs.role {
                observe::Role::Master => NodeRole::Master,
                observe::Role::Replica => NodeRole::Slave,
                observe::Role::Sentinel => NodeRole::Sentinel,
            },
            run_id: obs.run_id.clone(),
            master_replid: obs.master_replid.clone(),
            master_repl_offset: obs.master_repl_offset as i64,
            keys: obs.keys.clone(),
            connected_clients: obs.connected_clients,
            slots: Vec::new(),
            flags: match &obs.sentinel {
                Some(s) if s.tilt => vec!["tilt".into()],
                _ => Vec::new(),
            },
            sentinel: obs.role == observe::Role::Sentinel,
        });
        // A sentinel: one link to each master it watches, where it thinks the master is.
        for m in obs.sentinel.iter().flat_map(|s| &s.masters) {
            let master = observed.iter().find(|(_, a, _)| *a == m.addr);
            links.push(LinkView {
                from: name.clone(),
                to: master.map(|(n, _, _)| n.clone()).unwrap_or_else(|| m.addr.clone()),
                kind: LinkKind::Monitor,
                state: if m.status == "ok" { LinkState::Up } else { LinkState::Down },
                extra_latency_ms: 0,
                loss_per_mille: 0,
                held_messages: 0,
                offset: 0,
                lag_s: None,
                note: format!("{} {}", m.name, m.status),
            });
        }
        let Some(link) = &obs.master_link else { continue };
        let target = link.master_addr();
        let master = observed.iter().find(|(_, a, _)| *a == target);
        // The master's entry for this replica: its lag and how it last synced.
        let seen_by_master =
            master.and_then(|(_, _, m)| m.as_ref()).and_then(|m| m.replicas.iter().find(|r| r.addr == *addr));
        links.push(LinkView {
            from: name.clone(),
            to: master.map(|(m, _, _)| m.clone()).unwrap_or(target),
            kind: LinkKind::Replication,
            state: LinkState::of_replica_link(link.state),
            extra_latency_ms: 0,
            loss_per_mille: 0,
            held_messages: 0,
            offset: link.applied_offset,
            lag_s: seen_by_master.map(|r| r.lag_s),
            note: seen_by_master.and_then(|r| r.last_sync.as_ref()).map(|s| s.note()).unwrap_or_default(),
        });
    }
    (nodes, links)
}

/// What a live observer knows of one node: its lesson name and address, its `INFO everything`
/// text and `ROLE` reply (`None` while down) and its log lines.
pub struct Observed<'a> {
    pub name: &'a str,
    pub addr: &'a str,
    pub info: Option<&'a str>,
    pub role: Option<&'a crate::resp::Frame>,
    pub logs: &'a [String],
}

/// The view of live processes, from what any Redis answers (`INFO`, `ROLE`) and logs: the same
/// model [`from_world`] derives from the simulator, built by the same code from the same
/// observation ([`observe::parse`]; the observer holds one connection to each node).
pub fn from_observed(nodes: &[Observed], elapsed_ms: u64) -> ViewModel {
    let observed: Vec<(String, String, Option<NodeObservation>)> = nodes
        .iter()
        .map(|n| (n.name.to_string(), n.addr.to_string(), n.info.map(|info| observe::parse(info, n.role, n.logs, 1))))
        .collect();
    let (views, links) = nodes_and_replication_links(&observed);
    let failovers = nodes
        .iter()
        .zip(&observed)
        .filter(|(_, (_, _, obs))| obs.as_ref().is_some_and(|o| o.role == observe::Role::Sentinel))
        .flat_map(|(n, _)| read_failovers(n.name, n.logs.iter().map(String::as_str)))
        .collect();
    ViewModel { elapsed_ms, nodes: views, links, messages: Vec::new(), events: Vec::new(), failovers }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::sim::{Fault, WorldInput};

    #[test]
    fn view_follows_the_world() {
        let mut w = World::new(9);
        w.apply(WorldInput::AddNode { name: "m".into(), addr: "192.168.131.148:6379".into(), config: String::new() });
        w.apply(WorldInput::AddClient { name: "cli".into(), node: "m".into() });
        w.command("cli", &["SET", "keyone", "lisuo"]);
        let v = from_world(&w, 100);
        assert_eq!(v.nodes[0].keys, vec![(0, 1)]);
        assert_eq!(v.nodes[0].role, NodeRole::Master);
        assert_eq!(v.nodes[0].addr, "192.168.131.148:6379");
        assert_eq!(v.links[0].state, LinkState::Up);
        assert!(v.events.iter().any(|e| e.kind == "reply" && e.text == "OK"));
        w.apply(WorldInput::Fault(Fault::Kill { node: "m".into() }));
        let v = from_world(&w, 100);
        assert!(!v.nodes[0].up);
        assert_eq!(v.links[0].state, LinkState::Closed);
        // The model is plain data: it survives a JSON round trip unchanged.
        let back: ViewModel = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
        assert_eq!(back, v);
    }
}
