//! Sentinel: the second kind of process halab runs — Redis 7.0's `sentinel.c`, as a part of the
//! node that a `sentinel` configuration switches on.
//!
//! A sentinel is a Redis server in sentinel mode (`redis-sentinel` is `redis-server
//! --sentinel`): the same client handling, RESP parser, pub/sub and `CLIENT`/`HELLO`/`AUTH`,
//! with a command table cut down to what sentinel mode allows and `sentinelTimer` run from
//! every cron tick. So halab does the same: a [`crate::node::Node`] whose config is in sentinel
//! mode carries a [`Sentinel`], and the driver contract (`handle` / `poll` / `poll_timeout`) is
//! unchanged — the sentinel's links to the instances it watches are outbound connections like
//! a replica's link to its master.
//!
//! How a sentinel works, following `sentinelTimer` (about ten times a second):
//!
//! ```text
//!  for every master, then its replicas, then the other sentinels:
//!    monitoring half   reconnect the links; PING every second; INFO every 10 s (every second
//!                      for replicas while the master is ODOWN or failing over); a hello on
//!                      __sentinel__:hello every 2 s  → replicas found in the master's INFO,
//!                      sentinels found by their hellos (`+slave`, `+sentinel`)
//!    acting half       SDOWN after down-after-milliseconds without a valid PING reply;
//!   (not in TILT)      masters: ODOWN when the quorum of sentinels say so (IS-MASTER-DOWN-BY-
//!                      ADDR), then the vote for a leader in a new epoch and, for the leader, the
//!                      failover: select a replica → SLAVEOF NO ONE → wait for its INFO to say
//!                      master → SLAVEOF the new master on the others (parallel-syncs at a time)
//!                      → +switch-master: the configuration now names the promoted replica.
//! ```
//!
//! Everything the sentinel learns or decides is an event (`sentinelEvent`): logged with the
//! role letter `X` and published on the channel of its name (`+sdown`, `+odown`,
//! `+switch-master`, …), so `PSUBSCRIBE *` on a sentinel shows what its log shows.
//!
//! Files: [`instance`] (what it knows of each instance and its links), [`config`] (the
//! `sentinel` lines: load and rewrite), [`monitor`] (links, periodic commands, INFO and hello
//! processing), [`failover`] (SDOWN, ODOWN, the vote and the failover), [`command`] (SENTINEL,
//! and sentinel mode's INFO, ROLE and PUBLISH).

pub mod command;
pub mod config;
pub mod failover;
pub mod instance;
pub mod monitor;
pub mod scripts;
pub mod table;

use crate::log::LogLevel;
use crate::net::ConnId;
use crate::node::{NodeState, Output};
use instance::{Instance, LinkOwner, Master, Which};
use std::collections::BTreeMap;

/// The sentinel's timing parameters (7.0's `sentinel_*_period` statics), in ms; `SENTINEL
/// DEBUG` changes them at run time, as 7.0's test suite does.
#[derive(Debug, Clone)]
pub struct Timing {
    pub info_period: u64,
    pub ping_period: u64,
    pub ask_period: u64,
    pub publish_period: u64,
    pub default_down_after: u64,
    pub default_failover_timeout: u64,
    pub tilt_trigger: u64,
    pub tilt_period: u64,
    pub slave_reconf_timeout: u64,
    pub min_link_reconnect_period: u64,
    pub election_timeout: u64,
    pub script_max_runtime: u64,
    pub script_retry_delay: u64,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            info_period: 10_000,
            ping_period: 1_000,
            ask_period: 1_000,
            publish_period: 2_000,
            default_down_after: config::DEFAULT_DOWN_AFTER,
            default_failover_timeout: instance::DEFAULT_FAILOVER_TIMEOUT,
            tilt_trigger: 2_000,
            tilt_period: 30_000,
            slave_reconf_timeout: 10_000,
            min_link_reconnect_period: 15_000,
            election_timeout: 10_000,
            script_max_runtime: 60_000,
            script_retry_delay: 30_000,
        }
    }
}

/// `SENTINEL SIMULATE-FAILURE` flags.
pub const SIMFAILURE_CRASH_AFTER_ELECTION: u32 = 1;
pub const SIMFAILURE_CRASH_AFTER_PROMOTION: u32 = 2;

/// 7.0's `SENTINEL_MAX_DESYNC`: the random part of a failover's start, in ms.
const MAX_DESYNC: u64 = 1000;

/// Whether a path names a file this process may execute (`access(path, X_OK) == 0`).
///
/// Sentinel checks a script's path when it is configured — in sentinel.conf (a fatal error) and
/// by `SENTINEL SET` (an error reply) — and 7.0 answers at once, so the core cannot make it a
/// round trip: the driver hands the check in with [`crate::node::NodeOptions`], the one
/// question about the file system the core asks. Natively it is `access(2)`; in the simulator,
/// which runs no programs, every script is there and executable.
pub type ExecutableProbe = fn(&str) -> bool;

/// The sentinel's state (Redis's `struct sentinelState` plus the instances).
#[derive(Debug)]
pub struct Sentinel {
    /// This sentinel's id: 40 hex characters, chosen at the first start and kept in the file.
    pub(crate) myid: String,
    /// The highest epoch seen or started; never decreases.
    pub(crate) current_epoch: u64,
    /// Monitored masters, by name.
    pub(crate) masters: BTreeMap<String, Master>,
    pub(crate) tilt: bool,
    pub(crate) tilt_start_time: u64,
    /// When the timer last ran (the TILT check compares the gap).
    pub(crate) previous_time: u64,
    pub(crate) announce_ip: Option<String>,
    pub(crate) announce_port: u16,
    pub(crate) deny_scripts_reconfig: bool,
    /// Asks the driver whether a script path is executable ([`ExecutableProbe`]).
    pub(crate) is_executable: ExecutableProbe,
    pub(crate) resolve_hostnames: bool,
    pub(crate) announce_hostnames: bool,
    pub(crate) sentinel_auth_user: Option<String>,
    pub(crate) sentinel_auth_pass: Option<String>,
    pub(crate) simfailure_flags: u32,
    pub(crate) timing: Timing,
    /// Which instance each of our outbound connections belongs to. Invariant: an entry exists
    /// exactly while that instance's link holds the connection.
    pub(crate) conns: BTreeMap<ConnId, LinkOwner>,
    /// The timer's frequency: 7.0 draws it again after every run (10 to 19 Hz), so sentinels
    /// started together drift apart and do not ask for votes in lockstep.
    pub(crate) hz: u64,
    pub(crate) last_timer_ms: u64,
    /// The notification and client-reconfiguration scripts to run.
    pub(crate) scripts: scripts::Scripts,
}

impl Sentinel {
    pub(crate) fn new(now: u64) -> Sentinel {
        Sentinel {
            myid: String::new(),
            current_epoch: 0,
            masters: BTreeMap::new(),
            tilt: false,
            tilt_start_time: 0,
            previous_time: now,
            announce_ip: None,
            announce_port: 0,
            deny_scripts_reconfig: true,
            is_executable: |_| true,
            resolve_hostnames: false,
            announce_hostnames: false,
            sentinel_auth_user: None,
            sentinel_auth_pass: None,
            simfailure_flags: 0,
            timing: Timing::default(),
            conns: BTreeMap::new(),
            hz: 10,
            last_timer_ms: now,
            scripts: scripts::Scripts::default(),
        }
    }

    /// Does one of the sentinel's links use `conn`?
    pub fn owns(&self, conn: ConnId) -> bool {
        self.conns.contains_key(&conn)
    }

    pub fn myid(&self) -> &str {
        &self.myid
    }

    pub fn current_epoch(&self) -> u64 {
        self.current_epoch
    }

    pub fn masters(&self) -> impl Iterator<Item = &Master> {
        self.masters.values()
    }

    pub fn tilt(&self) -> bool {
        self.tilt
    }

    /// When the timer is due next.
    pub fn next_timer_ms(&self) -> u64 {
        self.last_timer_ms + 1000 / self.hz.max(1)
    }

    pub(crate) fn instance(&self, master: &str, which: &Which) -> Option<&Instance> {
        let m = self.masters.get(master)?;
        match which {
            Which::Master => Some(&m.inst),
            Which::Replica(k) => m.replicas.get(k),
            Which::Sentinel(k) => m.sentinels.get(k),
        }
    }

    pub(crate) fn instance_mut(&mut self, master: &str, which: &Which) -> Option<&mut Instance> {
        let m = self.masters.get_mut(master)?;
        match which {
            Which::Master => Some(&mut m.inst),
            Which::Replica(k) => m.replicas.get_mut(k),
            Which::Sentinel(k) => m.sentinels.get_mut(k),
        }
    }

    /// The `%@` prefix of an event: `<type> <name> <ip> <port>`, and for replicas and sentinels
    /// ` @ <master name> <master ip> <master port>`.
    pub(crate) fn describe(&self, master: &str, which: &Which) -> String {
        let ah = self.announce_hostnames;
        let Some(m) = self.masters.get(master) else { return String::new() };
        let Some(ri) = self.instance(master, which) else { return String::new() };
        let own = format!("{} {} {} {}", ri.kind.word(), ri.name, ri.addr.announced(ah), ri.addr.port);
        if *which == Which::Master {
            own
        } else {
            format!("{} @ {} {} {}", own, m.name(), m.inst.addr.announced(ah), m.inst.addr.port)
        }
    }

    /// `sentinelEvent`: log `type msg` (role letter `X`) and publish `msg` on channel `type`
    /// (debug events are not published). `about` gives the `%@` prefix, `rest` what follows it.
    pub(crate) fn event(
        &mut self,
        srv: &mut NodeState,
        level: LogLevel,
        kind: &str,
        about: Option<(&str, &Which)>,
        rest: &str,
    ) {
        let master = about.map(|(m, _)| m.to_string());
        self.event_with(srv, level, kind, about, master.as_deref(), rest);
    }

    /// An event about `master` whose text has no `%@` prefix (`+new-epoch 1`, `+switch-master
    /// …`): it still runs the master's notification script, as 7.0 does.
    pub(crate) fn event_for(&mut self, srv: &mut NodeState, level: LogLevel, kind: &str, master: &str, text: &str) {
        self.event_with(srv, level, kind, None, Some(master), text);
    }

    fn event_with(
        &mut self,
        srv: &mut NodeState,
        level: LogLevel,
        kind: &str,
        about: Option<(&str, &Which)>,
        script_master: Option<&str>,
        rest: &str,
    ) {
        let mut msg = match about {
            Some((m, w)) => self.describe(m, w),
            None => String::new(),
        };
        if !rest.is_empty() {
            if !msg.is_empty() {
                msg.push(' ');
            }
            msg.push_str(rest);
        }
        srv.log_as('X', level, format!("{} {}", kind, msg));
        if level != LogLevel::Debug {
            crate::command::pubsub::publish_message(srv, None, kind.as_bytes(), msg.as_bytes());
        }
        // A warning about an instance runs its master's notification script.
        if level == LogLevel::Warning {
            let script = script_master.and_then(|m| self.masters.get(m)).and_then(|m| m.notification_script.clone());
            if let Some(script) = script {
                self.schedule_script(vec![script, kind.to_string(), msg]);
            }
        }
    }

    /// `sentinelFlushConfig`: ask the driver to write the file with our state now; it answers
    /// [`crate::node::Input::ConfigRewritten`] with no connection, and the node logs the outcome.
    pub(crate) fn flush_config(&self, srv: &mut NodeState) {
        srv.outputs.push_back(Output::RewriteConfig { conn: None });
    }

    /// `sentinelIsRunning`: at start, pick an id if the file has none (and save it), say it,
    /// and announce every configured master.
    pub(crate) fn is_running(&mut self, srv: &mut NodeState) {
        if self.myid.is_empty() {
            self.myid = srv.rng.hex40();
            self.flush_config(srv);
        }
        srv.log_as('X', LogLevel::Warning, format!("Sentinel ID is {}", self.myid));
        let names: Vec<String> = self.masters.keys().cloned().collect();
        for name in names {
            self.announce_monitor(srv, &name);
        }
    }

    /// `+monitor master <name> <ip> <port> quorum <n>`: at start, and for SENTINEL MONITOR.
    pub(crate) fn announce_monitor(&mut self, srv: &mut NodeState, name: &str) {
        let Some(quorum) = self.masters.get(name).map(|m| m.quorum) else { return };
        self.event(srv, LogLevel::Warning, "+monitor", Some((name, &Which::Master)), &format!("quorum {}", quorum));
    }

    /// `sentinelTimer`: the TILT check, every instance, then a new frequency.
    pub(crate) fn timer(&mut self, srv: &mut NodeState) {
        let now = srv.now;
        self.last_timer_ms = now;
        self.check_tilt(srv);
        let names: Vec<String> = self.masters.keys().cloned().collect();
        let mut switch_to_promoted = None;
        for name in names {
            if !self.masters.contains_key(&name) {
                continue;
            }
            self.handle_instance(srv, &name, &Which::Master);
            let replicas: Vec<String> =
                self.masters.get(&name).map(|m| m.replicas.keys().cloned().collect()).unwrap_or_default();
            for r in replicas {
                self.handle_instance(srv, &name, &Which::Replica(r));
            }
            let sentinels: Vec<String> =
                self.masters.get(&name).map(|m| m.sentinels.keys().cloned().collect()).unwrap_or_default();
            for s in sentinels {
                self.handle_instance(srv, &name, &Which::Sentinel(s));
            }
            if self.masters.get(&name).is_some_and(|m| m.failover_state == instance::FailoverState::UpdateConfig) {
                switch_to_promoted = Some(name);
            }
        }
        if let Some(name) = switch_to_promoted {
            self.switch_to_promoted(srv, &name);
        }
        self.run_scripts(srv);
        self.hz = 10 + srv.rng.next_u64() % 10;
    }

    /// `sentinelCheckTiltCondition`: a negative or too long gap between two runs of the timer
    /// (the process was stopped, the clock jumped) means the timings cannot be trusted: act on
    /// nothing for `tilt_period`.
    fn check_tilt(&mut self, srv: &mut NodeState) {
        let now = srv.now;
        let delta = now as i64 - self.previous_time as i64;
        if delta < 0 || delta as u64 > self.timing.tilt_trigger {
            self.tilt = true;
            self.tilt_start_time = now;
            self.event(srv, LogLevel::Warning, "+tilt", None, "#tilt mode entered");
        }
        self.previous_time = now;
    }

    /// `sentinelHandleRedisInstance`.
    fn handle_instance(&mut self, srv: &mut NodeState, master: &str, which: &Which) {
        self.reconnect(srv, master, which);
        self.send_periodic_commands(srv, master, which);
        let now = srv.now;
        if self.tilt {
            if now.saturating_sub(self.tilt_start_time) < self.timing.tilt_period {
                return;
            }
            self.tilt = false;
            self.event(srv, LogLevel::Warning, "-tilt", None, "#tilt mode exited");
        }
        self.check_subjectively_down(srv, master, which);
        if *which == Which::Master {
            self.check_objectively_down(srv, master);
            if self.start_failover_if_needed(srv, master) {
                self.ask_master_state_to_other_sentinels(srv, master, true);
            }
            self.failover_state_machine(srv, master);
            self.ask_master_state_to_other_sentinels(srv, master, false);
        }
    }

    /// `sentinelResetMaster`: forget replicas (and sentinels, unless `keep_sentinels`), drop
    /// the links, clear the failover.
    pub(crate) fn reset_master(&mut self, srv: &mut NodeState, name: &str, keep_sentinels: bool, generate_event: bool) {
        let now = srv.now;
        let Some(m) = self.masters.get_mut(name) else { return };
        let mut dropped: Vec<Instance> = std::mem::take(&mut m.replicas).into_values().collect();
        if !keep_sentinels {
            dropped.extend(std::mem::take(&mut m.sentinels).into_values());
        }
        for mut ri in dropped {
            self.release_links(srv, &mut ri.link);
        }
        let m = self.masters.get_mut(name).expect("present");
        let mut link = std::mem::replace(&mut m.inst.link, instance::Link::new(now));
        self.release_links(srv, &mut link);
        let m = self.masters.get_mut(name).expect("present");
        m.inst.link.last_reconn_time = link.last_reconn_time;
        m.inst.flags &= instance::flag::MASTER;
        m.leader = None;
        m.failover_state = instance::FailoverState::None;
        m.failover_state_change_time = 0;
        m.failover_start_time = 0;
        m.promoted = None;
        m.inst.runid = None;
        m.inst.slave_master_host = None;
        m.inst.role_reported_time = now;
        m.inst.role_reported = instance::Kind::Master;
        if generate_event {
            self.event(srv, LogLevel::Warning, "+reset-master", Some((name, &Which::Master)), "");
        }
    }

    /// Close both connections of a link that is being dropped and forget them.
    pub(crate) fn release_links(&mut self, srv: &mut NodeState, link: &mut instance::Link) {
        for conn in [link.cc.take(), link.pc.take()].into_iter().flatten() {
            self.conns.remove(&conn);
            srv.obuf.forget(conn);
            srv.outputs.push_back(Output::Close { conn });
        }
        link.cc_open = false;
        link.pc_open = false;
        link.pending_commands = 0;
        link.pending.clear();
        link.disconnected = true;
    }

    /// `sentinelResetMasterAndChangeAddress`: the master is now at `host:port`; its replicas
    /// are the old ones but that one, plus the old master.
    pub(crate) fn reset_master_and_change_address(
        &mut self,
        srv: &mut NodeState,
        name: &str,
        host: &str,
        port: i64,
    ) -> bool {
        let Ok(new_addr) = instance::Addr::new(host, port, self.resolve_hostnames) else { return false };
        let Some(m) = self.masters.get(name) else { return false };
        let mut replicas: Vec<instance::Addr> =
            m.replicas.values().filter(|r| !r.addr.same(&new_addr)).map(|r| r.addr.clone()).collect();
        if !new_addr.same(&m.inst.addr) {
            replicas.push(m.inst.addr.clone());
        }
        self.reset_master(srv, name, true, false);
        let m = self.masters.get_mut(name).expect("present");
        m.inst.addr = new_addr;
        m.inst.o_down_since_time = 0;
        m.inst.s_down_since_time = 0;
        let now = srv.now;
        for a in replicas {
            if let Ok(key) = self.create_replica(name, &a.hostname, a.port as i64, now) {
                self.event(srv, LogLevel::Notice, "+slave", Some((name, &Which::Replica(key))), "");
            }
        }
        self.flush_config(srv);
        true
    }

    /// A random delay in `0..MAX_DESYNC` ms (7.0's `rand() % SENTINEL_MAX_DESYNC`).
    pub(crate) fn desync(srv: &mut NodeState) -> u64 {
        srv.rng.next_u64() % MAX_DESYNC
    }
}

/// Run `f` on the node's sentinel, taken out of the node state for the call so both can be
/// borrowed mutably (the sentinel is put back after).
pub(crate) fn with_sentinel<R>(srv: &mut NodeState, f: impl FnOnce(&mut Sentinel, &mut NodeState) -> R) -> Option<R> {
    let mut s = srv.sentinel.take()?;
    let r = f(&mut s, srv);
    srv.sentinel = Some(s);
    Some(r)
}
