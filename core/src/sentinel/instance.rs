//! What a sentinel knows of each instance it watches (Redis's `sentinelRedisInstance`) and the
//! two connections it keeps to it (`instanceLink`).
//!
//! A sentinel holds one [`Master`] per `sentinel monitor` line. Each master owns the replicas
//! it reported in `INFO` and the other sentinels that said hello on its `__sentinel__:hello`
//! channel. All three kinds are an [`Instance`]: an address, a [`Link`] (a command connection,
//! and a pub/sub one to masters and replicas), flags (`s_down`, `o_down`, `promoted`, …) and
//! the figures the monitoring half refreshes. The master-only state (quorum, epochs, the
//! failover's progress) lives on [`Master`].

use crate::net::ConnId;
use bytes::BytesMut;
use std::collections::{BTreeMap, VecDeque};

/// Instance flags (Redis's `SRI_*`), as `SENTINEL MASTER`'s `flags` field spells them.
pub mod flag {
    pub const MASTER: u32 = 1 << 0;
    pub const SLAVE: u32 = 1 << 1;
    pub const SENTINEL: u32 = 1 << 2;
    /// Subjectively down: no valid PING reply for `down-after-milliseconds`.
    pub const S_DOWN: u32 = 1 << 3;
    /// Objectively down: enough sentinels (the quorum) say it is down.
    pub const O_DOWN: u32 = 1 << 4;
    /// On a sentinel instance: it replied that it thinks the master is down.
    pub const MASTER_DOWN: u32 = 1 << 5;
    pub const FAILOVER_IN_PROGRESS: u32 = 1 << 6;
    /// The replica chosen for promotion.
    pub const PROMOTED: u32 = 1 << 7;
    pub const RECONF_SENT: u32 = 1 << 8;
    pub const RECONF_INPROG: u32 = 1 << 9;
    pub const RECONF_DONE: u32 = 1 << 10;
    /// SENTINEL FAILOVER: fail over without the others' agreement.
    pub const FORCE_FAILOVER: u32 = 1 << 11;
    pub const SCRIPT_KILL_SENT: u32 = 1 << 12;
    pub const MASTER_REBOOT: u32 = 1 << 13;
}

/// Which kind of instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Master,
    Replica,
    Sentinel,
}

impl Kind {
    /// The word of events and `SENTINEL` replies (`sentinelRedisInstanceTypeStr`).
    pub fn word(self) -> &'static str {
        match self {
            Kind::Master => "master",
            Kind::Replica => "slave",
            Kind::Sentinel => "sentinel",
        }
    }

    pub fn flag(self) -> u32 {
        match self {
            Kind::Master => flag::MASTER,
            Kind::Replica => flag::SLAVE,
            Kind::Sentinel => flag::SENTINEL,
        }
    }
}

/// An instance's address (`sentinelAddr`): the name it was given and the IP it stands for.
/// The core does no lookups: with `resolve-hostnames no` (the default) only IP addresses are
/// accepted, as 7.0 does; with `yes`, `localhost` stands for 127.0.0.1 and any other hostname
/// for itself (the driver resolves it when it connects).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    pub hostname: String,
    pub ip: String,
    pub port: u16,
}

impl Addr {
    /// `createSentinelAddr`: `None` for a port out of range or a name that is not an IP address
    /// while `resolve-hostnames` is off.
    pub fn new(host: &str, port: i64, resolve_hostnames: bool) -> Result<Addr, AddrError> {
        if !(0..=65535).contains(&port) {
            return Err(AddrError::InvalidPort);
        }
        let ip = if crate::net::is_ip_literal(host) {
            host.to_string()
        } else if !resolve_hostnames {
            return Err(AddrError::Unresolvable);
        } else if host.eq_ignore_ascii_case("localhost") {
            // `localhost` is loopback by definition (RFC 6761): no lookup needed.
            "127.0.0.1".to_string()
        } else {
            host.to_string()
        };
        Ok(Addr { hostname: host.to_string(), ip, port: port as u16 })
    }

    /// The address events and replies show (`announceSentinelAddr`).
    pub fn announced(&self, announce_hostnames: bool) -> &str {
        if announce_hostnames {
            &self.hostname
        } else {
            &self.ip
        }
    }

    /// `ip:port`, bracketed for IPv6 (`announceSentinelAddrAndPort`): a replica's name.
    pub fn key(&self, announce_hostnames: bool) -> String {
        let a = self.announced(announce_hostnames);
        if a.contains(':') {
            format!("[{}]:{}", a, self.port)
        } else {
            format!("{}:{}", a, self.port)
        }
    }

    /// `sentinelAddrOrHostnameEqual`.
    pub fn same(&self, other: &Addr) -> bool {
        self.port == other.port && (self.ip == other.ip || self.hostname.eq_ignore_ascii_case(&other.hostname))
    }

    /// `sentinelAddrEqualsHostname`: does `host` (as INFO or a hello reported it) name this
    /// address?
    pub fn is_host(&self, host: &str) -> bool {
        if crate::net::is_ip_literal(host) {
            self.ip.eq_ignore_ascii_case(host)
        } else {
            self.hostname.eq_ignore_ascii_case(host)
        }
    }

    /// What the driver connects to.
    pub fn connect_to(&self) -> String {
        if self.ip.contains(':') {
            format!("[{}]:{}", self.ip, self.port)
        } else {
            format!("{}:{}", self.ip, self.port)
        }
    }
}

/// Why an address was refused (`sentinelCheckCreateInstanceErrors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrError {
    InvalidPort,
    Unresolvable,
}

impl AddrError {
    pub fn text(self) -> &'static str {
        match self {
            AddrError::InvalidPort => "Invalid port number.",
            AddrError::Unresolvable => "Can't resolve instance hostname.",
        }
    }
}

/// What a reply on the command connection answers (hiredis's callback of the command sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pending {
    /// AUTH, CLIENT SETNAME, SLAVEOF and its transaction: the reply is not looked at.
    Discard,
    Ping,
    Info,
    /// The hello PUBLISH.
    Publish,
    IsMasterDown,
}

/// The connections to an instance (`instanceLink`).
///
/// Invariant: `disconnected` is false only when `cc` is open and, for masters and replicas,
/// `pc` too; `pending` holds one entry per command sent on `cc` and not answered yet, in order.
#[derive(Debug)]
pub struct Link {
    /// The command connection, and whether the driver reported it open.
    pub cc: Option<ConnId>,
    pub cc_open: bool,
    /// The pub/sub connection (subscribed to `__sentinel__:hello`); masters and replicas only.
    pub pc: Option<ConnId>,
    pub pc_open: bool,
    /// Replies the pub/sub link still owes for its AUTH and CLIENT SETNAME (before the
    /// subscription's messages).
    pub pc_discards: usize,
    pub disconnected: bool,
    /// Commands sent and not answered (`link-pending-commands`).
    pub pending_commands: i64,
    pub pending: VecDeque<Pending>,
    /// Bytes of `cc` / `pc` not yet decoded into replies.
    pub cc_in: BytesMut,
    pub pc_in: BytesMut,
    /// Bytes written before the driver reported the connection open (hiredis queues them too).
    pub cc_out: BytesMut,
    pub pc_out: BytesMut,
    /// Our end of the command connection ("ip:port"), for the hello's address.
    pub cc_local: Option<String>,
    pub cc_conn_time: u64,
    pub pc_conn_time: u64,
    pub pc_last_activity: u64,
    /// Last PING reply we consider valid (PONG, LOADING, MASTERDOWN).
    pub last_avail_time: u64,
    /// When the oldest unanswered PING was sent; 0 when the last one was answered.
    pub act_ping_time: u64,
    pub last_ping_time: u64,
    /// Last reply to PING, whatever it said.
    pub last_pong_time: u64,
    pub last_reconn_time: u64,
}

impl Link {
    /// `createInstanceLink`: disconnected, and as if a PING were pending since now, so an
    /// instance we never reach is found down after `down-after-milliseconds`.
    pub fn new(now: u64) -> Link {
        Link {
            cc: None,
            cc_open: false,
            pc: None,
            pc_open: false,
            pc_discards: 0,
            disconnected: true,
            pending_commands: 0,
            pending: VecDeque::new(),
            cc_in: BytesMut::new(),
            pc_in: BytesMut::new(),
            cc_out: BytesMut::new(),
            pc_out: BytesMut::new(),
            cc_local: None,
            cc_conn_time: 0,
            pc_conn_time: 0,
            pc_last_activity: 0,
            last_avail_time: now,
            act_ping_time: now,
            last_ping_time: 0,
            last_pong_time: now,
            last_reconn_time: 0,
        }
    }
}

/// One watched instance: a master, one of its replicas, or another sentinel.
#[derive(Debug)]
pub struct Instance {
    pub kind: Kind,
    /// The master's name; `ip:port` for a replica; the run id for a sentinel.
    pub name: String,
    pub flags: u32,
    /// `run_id` from INFO (masters, replicas), the hello's id (sentinels).
    pub runid: Option<String>,
    pub addr: Addr,
    pub link: Link,
    pub last_pub_time: u64,
    /// Sentinels: the last hello heard from it.
    pub last_hello_time: u64,
    /// Sentinels: the last IS-MASTER-DOWN-BY-ADDR reply.
    pub last_master_down_reply_time: u64,
    pub s_down_since_time: u64,
    pub o_down_since_time: u64,
    pub down_after_period: u64,
    /// When INFO last answered (0: never).
    pub info_refresh: u64,
    /// The role INFO reported (`Kind::Master` or `Kind::Replica`), and since when.
    pub role_reported: Kind,
    pub role_reported_time: u64,
    pub slave_conf_change_time: u64,
    /// Replicas, from INFO: `master_link_down_since_seconds` in ms.
    pub master_link_down_time: u64,
    pub slave_priority: i64,
    pub replica_announced: bool,
    pub slave_reconf_sent_time: u64,
    pub slave_master_host: Option<String>,
    pub slave_master_port: u16,
    pub slave_master_link_up: bool,
    pub slave_repl_offset: u64,
    /// Sentinels: whom it voted for, and in which epoch.
    pub leader: Option<String>,
    pub leader_epoch: u64,
    /// The last INFO text (SENTINEL INFO-CACHE).
    pub info: Option<String>,
}

impl Instance {
    pub fn new(kind: Kind, name: String, addr: Addr, down_after_period: u64, now: u64) -> Instance {
        Instance {
            kind,
            name,
            flags: kind.flag(),
            runid: None,
            addr,
            link: Link::new(now),
            last_pub_time: now,
            last_hello_time: now,
            last_master_down_reply_time: now,
            s_down_since_time: 0,
            o_down_since_time: 0,
            down_after_period,
            info_refresh: 0,
            role_reported: if kind == Kind::Replica { Kind::Replica } else { Kind::Master },
            role_reported_time: now,
            slave_conf_change_time: now,
            master_link_down_time: 0,
            slave_priority: 100,
            replica_announced: true,
            slave_reconf_sent_time: 0,
            slave_master_host: None,
            slave_master_port: 0,
            slave_master_link_up: false,
            slave_repl_offset: 0,
            leader: None,
            leader_epoch: 0,
            info: None,
        }
    }

    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }

    /// `sentinelRedisInstanceNoDownFor`: no SDOWN or ODOWN in the last `ms`.
    pub fn no_down_for(&self, now: u64, ms: u64) -> bool {
        let most_recent = self.s_down_since_time.max(self.o_down_since_time);
        most_recent == 0 || now.saturating_sub(most_recent) > ms
    }

    /// The `flags` field of SENTINEL replies, in 7.0's order.
    pub fn flags_text(&self) -> String {
        // `disconnected` is the link's, between the kind and the failover flags.
        let words: [(bool, &str); 14] = [
            (self.has(flag::S_DOWN), "s_down"),
            (self.has(flag::O_DOWN), "o_down"),
            (self.has(flag::MASTER), "master"),
            (self.has(flag::SLAVE), "slave"),
            (self.has(flag::SENTINEL), "sentinel"),
            (self.link.disconnected, "disconnected"),
            (self.has(flag::MASTER_DOWN), "master_down"),
            (self.has(flag::FAILOVER_IN_PROGRESS), "failover_in_progress"),
            (self.has(flag::PROMOTED), "promoted"),
            (self.has(flag::RECONF_SENT), "reconf_sent"),
            (self.has(flag::RECONF_INPROG), "reconf_inprog"),
            (self.has(flag::RECONF_DONE), "reconf_done"),
            (self.has(flag::FORCE_FAILOVER), "force_failover"),
            (self.has(flag::SCRIPT_KILL_SENT), "script_kill_sent"),
        ];
        words.iter().filter(|(on, _)| *on).map(|(_, w)| *w).collect::<Vec<_>>().join(",")
    }
}

/// The failover's steps (`SENTINEL_FAILOVER_STATE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailoverState {
    None,
    WaitStart,
    SelectSlave,
    SendSlaveofNoone,
    WaitPromotion,
    ReconfSlaves,
    UpdateConfig,
}

impl FailoverState {
    /// `sentinelFailoverStateStr`.
    pub fn word(self) -> &'static str {
        match self {
            FailoverState::None => "none",
            FailoverState::WaitStart => "wait_start",
            FailoverState::SelectSlave => "select_slave",
            FailoverState::SendSlaveofNoone => "send_slaveof_noone",
            FailoverState::WaitPromotion => "wait_promotion",
            FailoverState::ReconfSlaves => "reconf_slaves",
            FailoverState::UpdateConfig => "update_config",
        }
    }
}

/// A monitored master, with the replicas and sentinels found around it.
#[derive(Debug)]
pub struct Master {
    pub inst: Instance,
    /// Replicas by `ip:port`.
    pub replicas: BTreeMap<String, Instance>,
    /// Other sentinels watching this master, by run id.
    pub sentinels: BTreeMap<String, Instance>,
    pub quorum: u32,
    pub parallel_syncs: i64,
    pub auth_pass: Option<String>,
    pub auth_user: Option<String>,
    pub config_epoch: u64,
    /// The sentinel we voted for (or that won) as failover leader, and its epoch.
    pub leader: Option<String>,
    pub leader_epoch: u64,
    pub failover_epoch: u64,
    pub failover_state: FailoverState,
    pub failover_state_change_time: u64,
    pub failover_start_time: u64,
    pub failover_timeout: u64,
    pub failover_delay_logged: u64,
    /// The key (in `replicas`) of the replica selected for promotion.
    pub promoted: Option<String>,
    pub notification_script: Option<String>,
    pub client_reconfig_script: Option<String>,
    /// `rename-command` lines: what to send for SLAVEOF, CONFIG, INFO, … on this master.
    pub renamed_commands: BTreeMap<String, String>,
    pub master_reboot_down_after_period: u64,
    pub master_reboot_since_time: u64,
}

/// 7.0's defaults (`sentinel_default_failover_timeout`, `SENTINEL_DEFAULT_PARALLEL_SYNCS`).
pub const DEFAULT_FAILOVER_TIMEOUT: u64 = 180_000;
pub const DEFAULT_PARALLEL_SYNCS: i64 = 1;

impl Master {
    pub fn new(name: &str, addr: Addr, quorum: u32, down_after: u64, failover_timeout: u64, now: u64) -> Master {
        Master {
            inst: Instance::new(Kind::Master, name.to_string(), addr, down_after, now),
            replicas: BTreeMap::new(),
            sentinels: BTreeMap::new(),
            quorum,
            parallel_syncs: DEFAULT_PARALLEL_SYNCS,
            auth_pass: None,
            auth_user: None,
            config_epoch: 0,
            leader: None,
            leader_epoch: 0,
            failover_epoch: 0,
            failover_state: FailoverState::None,
            failover_state_change_time: 0,
            failover_start_time: 0,
            failover_timeout,
            failover_delay_logged: 0,
            promoted: None,
            notification_script: None,
            client_reconfig_script: None,
            renamed_commands: BTreeMap::new(),
            master_reboot_down_after_period: 0,
            master_reboot_since_time: 0,
        }
    }

    pub fn name(&self) -> &str {
        &self.inst.name
    }

    /// `sentinelGetCurrentMasterAddress`: the promoted replica's once it acknowledged.
    pub fn current_addr(&self) -> &Addr {
        if self.inst.has(flag::FAILOVER_IN_PROGRESS) && self.failover_state >= FailoverState::ReconfSlaves {
            if let Some(p) = self.promoted.as_ref().and_then(|k| self.replicas.get(k)) {
                return &p.addr;
            }
        }
        &self.inst.addr
    }

    /// The name of what a command is called on this master (`sentinelInstanceMapCommand`).
    pub fn command_name<'a>(&'a self, command: &'a str) -> &'a str {
        self.renamed_commands
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(command))
            .map(|(_, v)| v.as_str())
            .unwrap_or(command)
    }
}

/// Where an instance sits in the sentinel's tables.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Which {
    Master,
    Replica(String),
    Sentinel(String),
}

/// A connection's owner: the master's name, the instance, and which of its two links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkOwner {
    pub master: String,
    pub which: Which,
    pub pubsub: bool,
}
