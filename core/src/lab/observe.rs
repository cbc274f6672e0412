//! One typed observation of a node, read two ways that must agree.
//!
//! Everything the lab draws about a node comes from a [`NodeObservation`]: its role, ids and
//! offsets, keys, clients, the link to its master and its replicas with how each last
//! synchronised. There are two ways to fill one:
//!
//! * [`from_node`]: the simulator reads a [`Node`]'s accessors — cheap, every frame;
//! * [`parse`]: a live observer reads what any Redis answers — `INFO everything`, `ROLE` — and
//!   the lines of its log file, so redis-server and halab processes are observed alike.
//!
//! Each field says where each way finds it. A test (`core/tests/observation.rs`) runs simulated
//! scenarios and asserts that, for every node, parsing the node's own INFO, ROLE and log equals
//! reading its accessors: the simulated and the live worlds cannot drift apart. What only the
//! simulator knows (faults, messages in flight) is not here: [`super::view`] adds it on top.

use crate::node::Node;
use crate::replication::{MasterLinkState, SyncOutcome};
use crate::resp::Frame;
use serde::{Deserialize, Serialize};

/// A node's replication role, as `INFO`'s `role` and `ROLE` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Master,
    /// A replica (Redis still says `slave`).
    #[serde(rename = "slave")]
    Replica,
    /// A sentinel (`ROLE` says `sentinel`; its INFO has no `role` field).
    Sentinel,
}

impl Role {
    /// The word INFO and ROLE use.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Master => "master",
            Role::Replica => "slave",
            Role::Sentinel => "sentinel",
        }
    }
}

/// Where a replica's link to its master is, in `ROLE`'s words (`replicationGetSlaveState`…):
/// `connect` (to be connected), `connecting`, `handshake` (PING, AUTH, REPLCONF, PSYNC),
/// `sync` (receiving the snapshot), `connected`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplicaLinkState {
    Connect,
    Connecting,
    Handshake,
    Sync,
    Connected,
}

impl ReplicaLinkState {
    /// From the node's own link state: the word ROLE says for it (one rule for both readings).
    pub fn of(state: MasterLinkState) -> ReplicaLinkState {
        ReplicaLinkState::parse(state.role_word()).expect("ROLE names every link state")
    }

    /// From ROLE's word.
    pub fn parse(word: &str) -> Option<ReplicaLinkState> {
        Some(match word {
            "connect" => ReplicaLinkState::Connect,
            "connecting" => ReplicaLinkState::Connecting,
            "handshake" => ReplicaLinkState::Handshake,
            "sync" => ReplicaLinkState::Sync,
            "connected" => ReplicaLinkState::Connected,
            _ => return None,
        })
    }
}

/// What a node says of itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeObservation {
    /// INFO `role`.
    pub role: Role,
    /// INFO `run_id`.
    pub run_id: String,
    /// INFO `master_replid`, `master_repl_offset`.
    pub master_replid: String,
    pub master_repl_offset: u64,
    /// Keys per non-empty database: INFO keyspace's `dbN:keys=…`.
    pub keys: Vec<(usize, u64)>,
    /// INFO `connected_clients`, the observer's own connections not counted.
    pub connected_clients: usize,
    /// A replica's link: INFO `master_host`/`master_port`, ROLE's state and offset.
    pub master_link: Option<MasterLinkObservation>,
    /// A master's replicas: INFO's `slaveN:` lines, and how each last synchronised (the
    /// master's log).
    pub replicas: Vec<ReplicaObservation>,
    /// A sentinel's opinion of the masters it watches: INFO's `# Sentinel` section.
    #[serde(default)]
    pub sentinel: Option<SentinelObservation>,
}

/// What a sentinel says of itself (`INFO sentinel`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentinelObservation {
    /// `sentinel_tilt`: it acts on nothing while the clock looked wrong.
    pub tilt: bool,
    /// `masterN:` lines, in order.
    pub masters: Vec<WatchedMaster>,
}

/// One `masterN:name=…,status=…,address=…,slaves=…,sentinels=…` line: a master as this
/// sentinel sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchedMaster {
    pub name: String,
    /// `ok`, `sdown` (this sentinel thinks it is down) or `odown` (the quorum agrees).
    pub status: String,
    /// Where this sentinel thinks the master is, "ip:port".
    pub addr: String,
    pub replicas: usize,
    /// Sentinels watching it, this one included.
    pub sentinels: usize,
}

/// A replica's view of its master link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MasterLinkObservation {
    pub host: String,
    pub port: u16,
    pub state: ReplicaLinkState,
    /// The offset it applied (ROLE's last field; -1 before the first sync).
    pub applied_offset: i64,
}

/// A master's view of one replica.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaObservation {
    /// "ip:port" as the replica announced them.
    pub addr: String,
    /// INFO's `state=` (`wait_bgsave`, `online`…).
    pub state: String,
    /// Its last acknowledged offset.
    pub offset: u64,
    /// Seconds since its last acknowledgement.
    pub lag_s: u64,
    /// How its last PSYNC was answered.
    pub last_sync: Option<SyncOutcome>,
}

impl MasterLinkObservation {
    /// The master's address, "host:port".
    pub fn master_addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Read a simulated (or any in-process) node through its accessors.
pub fn from_node(node: &Node) -> NodeObservation {
    if let Some(s) = node.sentinel() {
        return NodeObservation {
            role: Role::Sentinel,
            run_id: node.run_id().to_string(),
            master_replid: String::new(),
            master_repl_offset: 0,
            keys: Vec::new(),
            connected_clients: node.connected_clients(),
            master_link: None,
            replicas: Vec::new(),
            sentinel: Some(SentinelObservation {
                tilt: s.tilt(),
                masters: s
                    .masters()
                    .map(|m| {
                        use crate::sentinel::instance::flag;
                        WatchedMaster {
                            name: m.name().to_string(),
                            status: if m.inst.has(flag::O_DOWN) {
                                "odown"
                            } else if m.inst.has(flag::S_DOWN) {
                                "sdown"
                            } else {
                                "ok"
                            }
                            .to_string(),
                            addr: format!("{}:{}", m.inst.addr.ip, m.inst.addr.port),
                            replicas: m.replicas.len(),
                            sentinels: m.sentinels.len() + 1,
                        }
                    })
                    .collect(),
            }),
        };
    }
    let repl = node.replication();
    let now = node.now_ms();
    NodeObservation {
        role: if repl.is_replica() { Role::Replica } else { Role::Master },
        run_id: node.run_id().to_string(),
        master_replid: repl.replid.clone(),
        master_repl_offset: repl.offset,
        keys: node.keyspace_sizes(),
        connected_clients: node.connected_clients(),
        master_link: repl.master.as_ref().map(|link| MasterLinkObservation {
            host: link.host.clone(),
            port: link.port,
            state: ReplicaLinkState::of(link.state),
            applied_offset: link.applied.map(|o| o as i64).unwrap_or(-1),
        }),
        replicas: repl
            .replicas
            .iter()
            .map(|r| ReplicaObservation {
                addr: format!("{}:{}", r.ip, r.listening_port),
                state: r.state.name().to_string(),
                offset: r.ack_offset,
                lag_s: now.saturating_sub(r.ack_ms) / 1000,
                last_sync: r.last_sync.clone(),
            })
            .collect(),
        sentinel: None,
    }
}

/// Read a node from what it answers and logs: its `INFO everything` text, its `ROLE` reply (if
/// asked), its log lines (Redis's format, oldest first), and how many connections the observer
/// itself holds to it (not counted in `connected_clients`).
pub fn parse(info: &str, role: Option<&Frame>, log: &[String], observer_connections: usize) -> NodeObservation {
    let field = |f: &str| info_field(info, f).unwrap_or_default();
    let sentinel = (field("redis_mode") == "sentinel").then(|| SentinelObservation {
        tilt: field("sentinel_tilt") == "1",
        masters: info
            .lines()
            .filter_map(|l| {
                let (name, rest) = l.split_once(':')?;
                name.strip_prefix("master")?.parse::<usize>().ok()?;
                let kv =
                    |k: &str| rest.split(',').find_map(|p| p.strip_prefix(k)?.strip_prefix('=')).map(str::to_string);
                Some(WatchedMaster {
                    name: kv("name")?,
                    status: kv("status")?,
                    addr: kv("address")?,
                    replicas: kv("slaves")?.parse().ok()?,
                    sentinels: kv("sentinels")?.parse().ok()?,
                })
            })
            .collect(),
    });
    let keys = info
        .lines()
        .filter_map(|l| {
            let (db, rest) = l.strip_prefix("db")?.split_once(':')?;
            let count = rest.split(',').find_map(|kv| kv.strip_prefix("keys="))?.parse().ok()?;
            Some((db.parse().ok()?, count))
        })
        .collect();
    let is_replica = field("role") == "slave";
    let master_link = is_replica.then(|| {
        // ROLE: slave, host, port, state, offset. Without it, INFO's coarser view.
        let (state, applied) = match role {
            Some(Frame::Array(items)) if items.len() == 5 => (
                text(&items[3]).and_then(|w| ReplicaLinkState::parse(&w)),
                match &items[4] {
                    Frame::Integer(i) => Some(*i),
                    _ => None,
                },
            ),
            _ => (None, None),
        };
        let state =
            state.unwrap_or(match (field("master_link_status").as_str(), field("master_sync_in_progress").as_str()) {
                ("up", _) => ReplicaLinkState::Connected,
                (_, "1") => ReplicaLinkState::Sync,
                _ => ReplicaLinkState::Connect,
            });
        MasterLinkObservation {
            host: field("master_host"),
            port: field("master_port").parse().unwrap_or(0),
            state,
            applied_offset: applied.unwrap_or_else(|| field("slave_repl_offset").parse().unwrap_or(-1)),
        }
    });
    let replicas = info
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            name.strip_prefix("slave")?.parse::<usize>().ok()?;
            let kv = |k: &str| rest.split(',').find_map(|p| p.strip_prefix(k)?.strip_prefix('=')).map(str::to_string);
            let addr = format!("{}:{}", kv("ip")?, kv("port")?);
            Some(ReplicaObservation {
                last_sync: last_sync_from_log(log, &addr),
                addr,
                state: kv("state")?,
                offset: kv("offset")?.parse().ok()?,
                lag_s: kv("lag")?.parse().ok()?,
            })
        })
        .collect();
    NodeObservation {
        role: if sentinel.is_some() {
            Role::Sentinel
        } else if is_replica {
            Role::Replica
        } else {
            Role::Master
        },
        run_id: field("run_id"),
        master_replid: field("master_replid"),
        master_repl_offset: field("master_repl_offset").parse().unwrap_or(0),
        keys,
        connected_clients: field("connected_clients")
            .parse::<usize>()
            .unwrap_or(0)
            .saturating_sub(observer_connections),
        master_link,
        replicas,
        sentinel,
    }
}

fn text(frame: &Frame) -> Option<String> {
    match frame {
        Frame::Bulk(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Frame::Simple(s) => Some(s.clone()),
        _ => None,
    }
}

/// The value of `field` in an INFO text.
pub fn info_field(info: &str, field: &str) -> Option<String> {
    info.lines().find_map(|l| l.strip_prefix(field).and_then(|r| r.strip_prefix(':'))).map(|v| v.trim().to_string())
}

/// The message of a log line in Redis's format (`pid:R dd Mon yyyy hh:mm:ss.mmm * message`).
pub fn log_message(line: &str) -> &str {
    line.splitn(7, ' ').nth(6).unwrap_or(line)
}

/// How a master's log says the replica at `replica_addr` last synchronised: the verdict line
/// that follows its last "Replica … asks for synchronization".
pub fn last_sync_from_log(master_log: &[String], replica_addr: &str) -> Option<SyncOutcome> {
    let asked = format!("Replica {} asks for synchronization", replica_addr);
    let start = master_log.iter().rposition(|l| log_message(l).starts_with(&asked))?;
    master_log[start + 1..].iter().take(4).find_map(|l| SyncOutcome::from_logged(log_message(l)))
}
