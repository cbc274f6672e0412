//! `FAILOVER` on a master (Redis 7.0's coordinated failover): pause writes, wait for the target
//! replica to catch up, then become its replica with `PSYNC FAILOVER` (`failoverCommand`,
//! `updateFailoverStatus`).

use super::*;

/// Where a coordinated failover (`FAILOVER`) stands, Redis's `failover_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailoverState {
    /// Writes are paused; waiting for a replica to acknowledge our whole stream.
    WaitForSync,
    /// We turned into a replica of the target and ask it `PSYNC … FAILOVER`.
    InProgress,
}

/// A coordinated failover in progress: the master pauses writes, waits until a replica (the
/// one named, or the first) has acknowledged everything, then becomes that replica's replica
/// and asks it to take over with `PSYNC <replid> <offset> FAILOVER` (Redis's
/// `failoverCommand` / `updateFailoverStatus`). No write is lost: the target has the whole
/// stream when the roles swap, and the old master continues it with a partial resync.
#[derive(Debug, Clone)]
pub struct Failover {
    pub state: FailoverState,
    /// The replica to hand over to (`TO host port`), or the one found caught up.
    pub target: Option<(String, u16)>,
    /// `TIMEOUT`: when waiting gives up (or, with FORCE, fails over anyway).
    pub end_ms: Option<u64>,
    pub force: bool,
}

impl NodeState {
    /// `FAILOVER [TO host port [FORCE]] [TIMEOUT ms]`, once the arguments are checked: pause
    /// writes and wait for a replica to catch up (Redis's `failoverCommand`).
    pub fn start_failover(&mut self, target: Option<(String, u16)>, timeout_ms: Option<u64>, force: bool) {
        match &target {
            Some((h, p)) => self.repl_log(format!("FAILOVER requested to {}:{}.", h, p)),
            None => self.repl_log("FAILOVER requested to any replica."),
        }
        let end_ms = timeout_ms.map(|t| self.now + t);
        self.repl.failover = Some(Failover { state: FailoverState::WaitForSync, target, end_ms, force });
        self.pause_clients(crate::node::PausePurpose::Failover, u64::MAX, true);
    }

    /// The online replica announcing itself as `host:port` (Redis's `findReplica`).
    pub fn find_replica(&self, host: &str, port: u16) -> Option<&Replica> {
        self.repl.replicas.iter().find(|r| r.ip.eq_ignore_ascii_case(host) && r.listening_port == port)
    }

    /// Redis's `updateFailoverStatus`: time out, or start when the target acknowledged our
    /// whole stream.
    pub(super) fn update_failover_status(&mut self) {
        let Some(f) = self.repl.failover.clone() else { return };
        if f.state != FailoverState::WaitForSync {
            return;
        }
        if f.end_ms.is_some_and(|end| end <= self.now) {
            if f.force {
                let (host, port) = f.target.clone().unwrap_or_default();
                self.repl_log(format!("FAILOVER to {}:{} time out exceeded, failing over.", host, port));
                self.fail_over_to(host, port);
            } else {
                self.abort_failover("Replica never caught up before timeout");
            }
            return;
        }
        let offset = self.repl.offset;
        let caught_up = match &f.target {
            Some((h, p)) => self.find_replica(h, *p).filter(|r| r.ack_offset == offset).map(|_| (h.clone(), *p)),
            None => {
                self.repl.replicas.iter().find(|r| r.ack_offset == offset).map(|r| (r.ip.clone(), r.listening_port))
            }
        };
        if let Some((host, port)) = caught_up {
            self.repl_log(format!("Failover target {}:{} is synced, failing over.", host, port));
            self.fail_over_to(host, port);
        }
    }

    pub(super) fn fail_over_to(&mut self, host: String, port: u16) {
        if let Some(f) = self.repl.failover.as_mut() {
            f.state = FailoverState::InProgress;
            f.target = Some((host.clone(), port));
        }
        self.set_master(host, port);
    }

    /// The failover is over (done or aborted): writes resume (Redis's `clearFailoverState`).
    pub(super) fn clear_failover(&mut self) {
        self.repl.failover = None;
        self.unpause_clients(crate::node::PausePurpose::Failover);
    }

    /// Redis's `abortFailover`: say why, become a master again if we had turned, resume.
    pub fn abort_failover(&mut self, reason: &str) {
        let Some(f) = self.repl.failover.clone() else { return };
        match &f.target {
            Some((h, p)) => self.repl_log(format!("FAILOVER to {}:{} aborted: {}", h, p, reason)),
            None => self.repl_log(format!("FAILOVER to any replica aborted: {}", reason)),
        }
        if f.state == FailoverState::InProgress {
            self.unset_master();
        }
        self.clear_failover();
    }

    /// `master_failover_state` of INFO.
    pub fn failover_state_name(&self) -> &'static str {
        match self.repl.failover.as_ref().map(|f| f.state) {
            None => "no-failover",
            Some(FailoverState::WaitForSync) => "waiting-for-sync",
            Some(FailoverState::InProgress) => "failover-in-progress",
        }
    }

    // ───────────────────────────── cron ─────────────────────────────
}
