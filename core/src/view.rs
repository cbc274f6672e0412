//! The view: one plain, serializable model of what the lab draws.
//!
//! The web app renders a [`ViewModel`] and never asks where it came from: [`from_world`] derives
//! it from the simulator; the live bridge (a later issue) will derive the same model from what
//! real processes answer to `INFO`, `ROLE` and their logs, which is why every field here is
//! something a real Redis also reports.

use crate::sim::{Endpoint, TraceKind, World};
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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageView {
    pub from: String,
    pub to: String,
    pub progress: f64,
    pub bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeView {
    pub name: String,
    pub addr: String,
    /// False while the process is down.
    pub up: bool,
    /// `master`, `slave` (as `ROLE` says), or `down`.
    pub role: String,
    pub run_id: String,
    pub master_replid: String,
    pub master_repl_offset: i64,
    /// Keys per database, as `INFO keyspace` lists them.
    pub keys: Vec<(usize, u64)>,
    pub connected_clients: usize,
    /// Slot ranges this node serves (empty until cluster mode).
    pub slots: Vec<(u16, u16)>,
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkView {
    pub from: String,
    pub to: String,
    /// `client` or `replication`.
    pub kind: String,
    /// `up`, `cut`, `held` or `closed`.
    pub state: String,
    pub extra_latency_ms: u64,
    pub loss_per_mille: u32,
    pub held_messages: usize,
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
    let mut nodes = Vec::new();
    for name in world.node_names() {
        let addr = world.node_addr(&name).unwrap_or("").to_string();
        match world.node(&name) {
            Some(node) => {
                let srv = &node.srv;
                nodes.push(NodeView {
                    name: name.clone(),
                    addr,
                    up: true,
                    role: "master".into(),
                    run_id: srv.run_id.clone(),
                    master_replid: srv.repl.replid.clone(),
                    master_repl_offset: 0,
                    keys: srv
                        .keyspace
                        .dbs
                        .iter()
                        .enumerate()
                        .filter(|(_, d)| !d.is_empty())
                        .map(|(i, d)| (i, d.len() as u64))
                        .collect(),
                    connected_clients: srv.clients.len(),
                    slots: Vec::new(),
                    flags: Vec::new(),
                });
            }
            None => nodes.push(NodeView {
                name: name.clone(),
                addr,
                up: false,
                role: "down".into(),
                run_id: String::new(),
                master_replid: String::new(),
                master_repl_offset: 0,
                keys: Vec::new(),
                connected_clients: 0,
                slots: Vec::new(),
                flags: vec!["down".into()],
            }),
        }
    }
    let faults = world.faulty_links();
    let mut links = Vec::new();
    for (client, node, open) in world.client_links() {
        let from = Endpoint::Client(client.clone());
        let to = Endpoint::Node(node.clone());
        let fault = faults.iter().find(|l| (l.from == from && l.to == to) || (l.from == to && l.to == from));
        let state = match fault {
            _ if !open => "closed",
            Some(f) if f.cut => "cut",
            Some(f) if f.held => "held",
            _ => "up",
        };
        links.push(LinkView {
            from: endpoint_name(&from),
            to: node,
            kind: "client".into(),
            state: state.into(),
            extra_latency_ms: fault.map(|f| f.extra_ms).unwrap_or(0),
            loss_per_mille: fault.map(|f| f.drop_per_mille).unwrap_or(0),
            held_messages: faults
                .iter()
                .filter(|l| (l.from == from && l.to == to) || (l.from == to && l.to == from))
                .map(|l| l.held_messages)
                .sum(),
        });
    }
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
    let messages = world
        .in_flight()
        .into_iter()
        .map(|m| MessageView {
            from: endpoint_name(&m.from),
            to: endpoint_name(&m.to),
            progress: if m.arrives > m.sent {
                (now.saturating_sub(m.sent)) as f64 / (m.arrives - m.sent) as f64
            } else {
                1.0
            },
            bytes: m.bytes,
        })
        .collect();
    let skip = events.len().saturating_sub(max_events);
    ViewModel { elapsed_ms: world.elapsed(), nodes, links, messages, events: events.into_iter().skip(skip).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{Fault, WorldInput};

    #[test]
    fn view_follows_the_world() {
        let mut w = World::new(9);
        w.apply(WorldInput::AddNode { name: "m".into(), addr: "192.168.131.148:6379".into(), config: String::new() });
        w.apply(WorldInput::AddClient { name: "cli".into(), node: "m".into() });
        w.command("cli", &["SET", "keyone", "lisuo"]);
        let v = from_world(&w, 100);
        assert_eq!(v.nodes[0].keys, vec![(0, 1)]);
        assert_eq!(v.nodes[0].role, "master");
        assert_eq!(v.nodes[0].addr, "192.168.131.148:6379");
        assert_eq!(v.links[0].state, "up");
        assert!(v.events.iter().any(|e| e.kind == "reply" && e.text == "OK"));
        w.apply(WorldInput::Fault(Fault::Kill { node: "m".into() }));
        let v = from_world(&w, 100);
        assert!(!v.nodes[0].up);
        assert_eq!(v.links[0].state, "closed");
        // The model is plain data: it survives a JSON round trip unchanged.
        let back: ViewModel = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
        assert_eq!(back, v);
    }
}
