//! The view: one plain, serializable model of what the lab draws.
//!
//! The web app renders a [`ViewModel`] and never asks where it came from: [`from_world`] derives
//! it from the simulator; the live bridge (a later issue) will derive the same model from what
//! real processes answer to `INFO`, `ROLE` and their logs, which is why every field here is
//! something a real Redis also reports.

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

impl NodeView {
    /// A node whose process is not running.
    pub fn down(name: &str, addr: &str) -> NodeView {
        NodeView {
            name: name.to_string(),
            addr: addr.to_string(),
            up: false,
            role: "down".into(),
            run_id: String::new(),
            master_replid: String::new(),
            master_repl_offset: 0,
            keys: Vec::new(),
            connected_clients: 0,
            slots: Vec::new(),
            flags: vec!["down".into()],
        }
    }
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
    /// Replication links: the replica's applied offset, its lag in seconds as the master sees
    /// it, and how the last synchronisation went ("partial resync: …" / "full resync: …").
    #[serde(default)]
    pub offset: i64,
    #[serde(default)]
    pub lag_s: Option<u64>,
    #[serde(default)]
    pub note: String,
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
                    role: if srv.repl.is_replica() { "slave" } else { "master" }.into(),
                    run_id: srv.run_id.clone(),
                    master_replid: srv.repl.replid.clone(),
                    master_repl_offset: srv.repl.offset as i64,
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
            None => nodes.push(NodeView::down(&name, &addr)),
        }
    }
    let faults = world.faulty_links();
    let mut links = Vec::new();
    for (client, node, open) in world.client_links() {
        let from = Endpoint::Client(client.clone());
        let to = Endpoint::Node(node.clone());
        let fault = fault_between(&faults, &from, &to);
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
            held_messages: held_between(&faults, &from, &to),
            offset: 0,
            lag_s: None,
            note: String::new(),
        });
    }
    links.extend(replication_links(world, &faults));
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

/// One link per replica, from it to its master: state, offset, lag and why it last synced
/// the way it did.
fn replication_links(world: &World, faults: &[crate::lab::sim::LinkSummary]) -> Vec<LinkView> {
    use crate::replication::MasterLinkState;
    let mut links = Vec::new();
    let names = world.node_names();
    for name in &names {
        let Some(node) = world.node(name) else { continue };
        let Some(link) = node.srv.repl.master.as_ref() else { continue };
        let target = format!("{}:{}", link.host, link.port);
        let master = names.iter().find(|m| world.node_addr(m) == Some(target.as_str()));
        let my_addr = world.node_addr(name).unwrap_or("");
        // The master's entry for this replica: its lag and how it last synced.
        let seen_by_master = master
            .and_then(|m| world.node(m))
            .and_then(|m| m.srv.repl.replicas.iter().find(|r| format!("{}:{}", r.ip, r.listening_port) == my_addr));
        let to = master.cloned().unwrap_or(target);
        let (a, b) = (Endpoint::Node(name.clone()), Endpoint::Node(to.clone()));
        let fault = fault_between(faults, &a, &b);
        let state = match (fault, link.state) {
            (Some(f), _) if f.cut => "cut",
            (Some(f), _) if f.held => "held",
            (_, MasterLinkState::Connected) => "up",
            (_, MasterLinkState::Transfer) => "sync",
            (_, MasterLinkState::Connect | MasterLinkState::Connecting) => "down",
            _ => "handshake",
        };
        links.push(LinkView {
            from: name.clone(),
            to,
            kind: "replication".into(),
            state: state.into(),
            extra_latency_ms: fault.map(|f| f.extra_ms).unwrap_or(0),
            loss_per_mille: fault.map(|f| f.drop_per_mille).unwrap_or(0),
            held_messages: held_between(faults, &a, &b),
            offset: link.applied.map(|o| o as i64).unwrap_or(-1),
            lag_s: seen_by_master.as_ref().map(|r| world.now().saturating_sub(r.ack_ms) / 1000),
            note: seen_by_master.map(|r| r.sync_note.clone()).unwrap_or_default(),
        });
    }
    links
}

/// What a live observer knows of one node: its lesson name and address, its `INFO everything`
/// text (`None` while down) and its log lines.
pub struct Observed<'a> {
    pub name: &'a str,
    pub addr: &'a str,
    pub info: Option<&'a str>,
    pub logs: &'a [String],
}

/// The view of live processes, from what any Redis answers (`INFO`) and logs: the same model
/// [`from_world`] derives from the simulator.
pub fn from_observed(nodes: &[Observed], elapsed_ms: u64) -> ViewModel {
    use crate::lab::lesson::info_field;
    let mut views = Vec::new();
    let mut links = Vec::new();
    for n in nodes {
        let Some(info) = n.info else {
            views.push(NodeView::down(n.name, n.addr));
            continue;
        };
        let field = |f: &str| info_field(info, f).unwrap_or_default();
        let keys = info
            .lines()
            .filter_map(|l| {
                let (db, rest) = l.strip_prefix("db")?.split_once(':')?;
                let count = rest.split(',').find_map(|kv| kv.strip_prefix("keys="))?.parse().ok()?;
                Some((db.parse().ok()?, count))
            })
            .collect();
        let role = field("role");
        views.push(NodeView {
            name: n.name.to_string(),
            addr: n.addr.to_string(),
            up: true,
            role: role.clone(),
            run_id: field("run_id"),
            master_replid: field("master_replid"),
            master_repl_offset: field("master_repl_offset").parse().unwrap_or(0),
            keys,
            // The observer's own connection is not one of the node's clients.
            connected_clients: field("connected_clients").parse::<usize>().unwrap_or(1).saturating_sub(1),
            slots: Vec::new(),
            flags: Vec::new(),
        });
        if role == "slave" {
            let target = format!("{}:{}", field("master_host"), field("master_port"));
            let master = nodes.iter().find(|m| m.addr == target);
            let note = master.map(|m| sync_note_from_logs(m.logs, n.addr)).unwrap_or_default();
            let lag = master.and_then(|m| m.info).and_then(|mi| {
                mi.lines().find_map(|l| {
                    let rest = l.split_once(':')?.1;
                    let ip = rest.split(',').find_map(|kv| kv.strip_prefix("ip="))?;
                    let port = rest.split(',').find_map(|kv| kv.strip_prefix("port="))?;
                    if format!("{}:{}", ip, port) != n.addr {
                        return None;
                    }
                    rest.split(',').find_map(|kv| kv.strip_prefix("lag="))?.parse().ok()
                })
            });
            let state = match (field("master_link_status").as_str(), field("master_sync_in_progress").as_str()) {
                ("up", _) => "up",
                (_, "1") => "sync",
                _ => "down",
            };
            links.push(LinkView {
                from: n.name.to_string(),
                to: master.map(|m| m.name.to_string()).unwrap_or(target),
                kind: "replication".into(),
                state: state.into(),
                extra_latency_ms: 0,
                loss_per_mille: 0,
                held_messages: 0,
                offset: field("slave_repl_offset").parse().unwrap_or(-1),
                lag_s: lag,
                note,
            });
        }
    }
    ViewModel { elapsed_ms, nodes: views, links, messages: Vec::new(), events: Vec::new() }
}

/// How a master's log says a replica at `replica_addr` last synchronised, in the words the
/// simulator's view uses.
pub fn sync_note_from_logs(master_logs: &[String], replica_addr: &str) -> String {
    let asked = format!("Replica {} asks for synchronization", replica_addr);
    let Some(start) = master_logs.iter().rposition(|l| l.contains(&asked)) else { return String::new() };
    let message = |l: &str| l.split_once(" * ").map(|(_, m)| m.to_string()).unwrap_or_else(|| l.to_string());
    for line in master_logs[start + 1..].iter().take(4) {
        if line.contains("Partial resynchronization request from") {
            return format!("partial resync: {}", message(line));
        }
        if line.contains("for lack of backlog") {
            return format!("full resync: the replica's offset fell out of the backlog ({})", message(line));
        }
        if line.contains("Full resync requested by replica") {
            return "full resync: the replica had no data to continue (PSYNC ? -1)".into();
        }
        if line.contains("Replication ID mismatch") {
            return "full resync: the replica's history is not this master's".into();
        }
    }
    String::new()
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
