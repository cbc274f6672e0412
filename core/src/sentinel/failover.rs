//! The acting half: is an instance down, do enough sentinels agree, who leads the failover,
//! and the failover itself (`sentinelCheckSubjectivelyDown`, `sentinelCheckObjectivelyDown`,
//! `sentinelVoteLeader`, `sentinelGetLeader`, `sentinelFailoverStateMachine`).
//!
//! ```text
//!   SDOWN ── quorum of IS-MASTER-DOWN-BY-ADDR "1" ──▶ ODOWN ── +try-failover, epoch+1 ──▶
//!   wait_start: votes (majority of all known sentinels and ≥ quorum) ── +elected-leader ──▶
//!   select_slave ── +selected-slave ──▶ send_slaveof_noone ──▶ wait_promotion
//!   ── INFO says role:master: +promoted-slave ──▶ reconf_slaves (parallel-syncs at a time:
//!   +slave-reconf-sent → -inprog → -done) ── +failover-end ──▶ update_config: +switch-master
//! ```
//!
//! Each sentinel votes once per epoch, for the first sentinel that asks in that epoch; a
//! sentinel that did not win waits (`failover-timeout` × 2) before it tries again, so the
//! randomised start (0–1 s) and the timer's drifting frequency break ties.

use super::instance::{flag, FailoverState, Kind, Pending, Which};
use super::Sentinel;
use crate::log::LogLevel;
use crate::node::NodeState;
use crate::resp::Frame;

impl Sentinel {
    /// `sentinelCheckSubjectivelyDown`, with its two link health checks first.
    pub(crate) fn check_subjectively_down(&mut self, srv: &mut NodeState, master: &str, which: &Which) {
        let now = srv.now;
        let t = self.timing.clone();
        let Some(ri) = self.instance(master, which) else { return };
        let link = &ri.link;
        let elapsed = if link.act_ping_time != 0 {
            now.saturating_sub(link.act_ping_time)
        } else if link.disconnected {
            now.saturating_sub(link.last_avail_time)
        } else {
            0
        };
        // A command link connected long enough whose PING is late by half the period:
        // reconnect it (a stuck connection is not a down instance).
        let stale_cc = link.cc.is_some()
            && now.saturating_sub(link.cc_conn_time) > t.min_link_reconnect_period
            && link.act_ping_time != 0
            && now.saturating_sub(link.act_ping_time) > ri.down_after_period / 2
            && now.saturating_sub(link.last_pong_time) > ri.down_after_period / 2;
        // A pub/sub link with no message for three hello periods.
        let stale_pc = link.pc.is_some()
            && now.saturating_sub(link.pc_conn_time) > t.min_link_reconnect_period
            && now.saturating_sub(link.pc_last_activity) > t.publish_period * 3;
        if stale_cc {
            self.close_connection(srv, master, which, false);
        }
        if stale_pc {
            self.close_connection(srv, master, which, true);
        }
        let reboot_period = self.masters.get(master).map_or(0, |m| m.master_reboot_down_after_period);
        let reboot_since = self.masters.get(master).map_or(0, |m| m.master_reboot_since_time);
        let ri = self.instance(master, which).expect("present");
        let down = elapsed > ri.down_after_period
            || (ri.kind == Kind::Master
                && ri.role_reported == Kind::Replica
                && now.saturating_sub(ri.role_reported_time) > ri.down_after_period + t.info_period * 2)
            || (ri.has(flag::MASTER_REBOOT) && now.saturating_sub(reboot_since) > reboot_period);
        if down {
            if !ri.has(flag::S_DOWN) {
                self.event(srv, LogLevel::Warning, "+sdown", Some((master, which)), "");
                let ri = self.instance_mut(master, which).expect("present");
                ri.s_down_since_time = now;
                ri.flags |= flag::S_DOWN;
            }
        } else if ri.has(flag::S_DOWN) {
            self.event(srv, LogLevel::Warning, "-sdown", Some((master, which)), "");
            let ri = self.instance_mut(master, which).expect("present");
            ri.flags &= !(flag::S_DOWN | flag::SCRIPT_KILL_SENT);
        }
    }

    /// `sentinelCheckObjectivelyDown`: ODOWN while we think it is down and, counting us,
    /// `quorum` sentinels said so recently.
    pub(crate) fn check_objectively_down(&mut self, srv: &mut NodeState, master: &str) {
        let now = srv.now;
        let Some(m) = self.masters.get(master) else { return };
        let mut quorum = 0u32;
        let mut odown = false;
        if m.inst.has(flag::S_DOWN) {
            quorum = 1 + m.sentinels.values().filter(|s| s.has(flag::MASTER_DOWN)).count() as u32;
            odown = quorum >= m.quorum;
        }
        let need = m.quorum;
        if odown {
            if !m.inst.has(flag::O_DOWN) {
                self.event(
                    srv,
                    LogLevel::Warning,
                    "+odown",
                    Some((master, &Which::Master)),
                    &format!("#quorum {}/{}", quorum, need),
                );
                let m = self.masters.get_mut(master).expect("present");
                m.inst.flags |= flag::O_DOWN;
                m.inst.o_down_since_time = now;
            }
        } else if m.inst.has(flag::O_DOWN) {
            self.event(srv, LogLevel::Warning, "-odown", Some((master, &Which::Master)), "");
            self.masters.get_mut(master).expect("present").inst.flags &= !flag::O_DOWN;
        }
    }

    /// `sentinelAskMasterStateToOtherSentinels`: while we think the master is down, ask every
    /// connected sentinel (once per ask period, or now if `forced`) whether it agrees — and,
    /// once we are failing over, for its vote.
    pub(crate) fn ask_master_state_to_other_sentinels(&mut self, srv: &mut NodeState, master: &str, forced: bool) {
        let now = srv.now;
        let ask_period = self.timing.ask_period;
        let Some(m) = self.masters.get_mut(master) else { return };
        let sdown = m.inst.has(flag::S_DOWN);
        let ip = m.inst.addr.announced(self.announce_hostnames).to_string();
        let port = m.inst.addr.port.to_string();
        let runid = if m.failover_state > FailoverState::None { self.myid.clone() } else { "*".to_string() };
        let epoch = self.current_epoch.to_string();
        let mut ask = Vec::new();
        for (key, s) in m.sentinels.iter_mut() {
            let elapsed = now.saturating_sub(s.last_master_down_reply_time);
            if elapsed > ask_period * 5 {
                s.flags &= !flag::MASTER_DOWN;
                s.leader = None;
            }
            if !sdown || s.link.disconnected {
                continue;
            }
            if !forced && elapsed < ask_period {
                continue;
            }
            ask.push(key.clone());
        }
        for key in ask {
            self.send_command(
                srv,
                master,
                &Which::Sentinel(key),
                &["SENTINEL", "is-master-down-by-addr", &ip, &port, &epoch, &runid],
                Pending::IsMasterDown,
            );
        }
    }

    /// `sentinelReceiveIsMasterDownReply`: `[down (0/1), leader run id or *, leader epoch]`.
    pub(crate) fn on_is_master_down_reply(&mut self, srv: &mut NodeState, master: &str, which: &Which, frame: Frame) {
        let now = srv.now;
        let Frame::Array(items) = frame else { return };
        let [Frame::Integer(down), Frame::Bulk(leader), Frame::Integer(epoch)] = items.as_slice() else { return };
        let leader = String::from_utf8_lossy(leader).into_owned();
        let Some(ri) = self.instance_mut(master, which) else { return };
        ri.last_master_down_reply_time = now;
        if *down == 1 {
            ri.flags |= flag::MASTER_DOWN;
        } else {
            ri.flags &= !flag::MASTER_DOWN;
        }
        if leader != "*" {
            let changed = ri.leader_epoch as i64 != *epoch;
            let name = ri.name.clone();
            ri.leader = Some(leader.clone());
            ri.leader_epoch = (*epoch).max(0) as u64;
            if changed {
                srv.log_as('X', LogLevel::Warning, format!("{} voted for {} {}", name, leader, epoch));
            }
        }
    }

    /// `sentinelVoteLeader`: vote for `req_runid` in `req_epoch` unless we already voted in
    /// that epoch or a later one; returns our vote and its epoch.
    pub(crate) fn vote_leader(
        &mut self,
        srv: &mut NodeState,
        master: &str,
        req_epoch: u64,
        req_runid: &str,
    ) -> (Option<String>, u64) {
        if req_epoch > self.current_epoch {
            self.current_epoch = req_epoch;
            self.flush_config(srv);
            let epoch = self.current_epoch.to_string();
            self.event_for(srv, LogLevel::Warning, "+new-epoch", master, &epoch);
        }
        let current = self.current_epoch;
        let Some(m) = self.masters.get_mut(master) else { return (None, 0) };
        if m.leader_epoch < req_epoch && current <= req_epoch {
            m.leader = Some(req_runid.to_string());
            m.leader_epoch = current;
            self.flush_config(srv);
            self.event_for(srv, LogLevel::Warning, "+vote-for-leader", master, &format!("{} {}", req_runid, current));
            if !req_runid.eq_ignore_ascii_case(&self.myid) {
                let delay = Sentinel::desync(srv);
                let m = self.masters.get_mut(master).expect("present");
                m.failover_start_time = srv.now + delay;
            }
        }
        let m = &self.masters[master];
        (m.leader.clone(), m.leader_epoch)
    }

    /// `sentinelGetLeader`: the sentinel with the most votes in `epoch`, if it has a majority
    /// of all the sentinels we know and at least `quorum` votes; we vote too (for the most
    /// voted one, or ourselves).
    pub(crate) fn get_leader(&mut self, srv: &mut NodeState, master: &str, epoch: u64) -> Option<String> {
        let m = self.masters.get(master)?;
        let voters = m.sentinels.len() as u64 + 1;
        let mut counters: Vec<(String, u64)> = Vec::new();
        let incr = |counters: &mut Vec<(String, u64)>, id: &str| -> u64 {
            if let Some(c) = counters.iter_mut().find(|(k, _)| k == id) {
                c.1 += 1;
                c.1
            } else {
                counters.push((id.to_string(), 1));
                1
            }
        };
        for s in m.sentinels.values() {
            if let Some(l) = &s.leader {
                if s.leader_epoch == self.current_epoch {
                    incr(&mut counters, l);
                }
            }
        }
        let mut winner: Option<String> = None;
        let mut max_votes = 0;
        for (id, votes) in &counters {
            if *votes > max_votes {
                max_votes = *votes;
                winner = Some(id.clone());
            }
        }
        let quorum = m.quorum as u64;
        let candidate = winner.clone().unwrap_or_else(|| self.myid.clone());
        let (myvote, leader_epoch) = self.vote_leader(srv, master, epoch, &candidate);
        if let Some(v) = &myvote {
            if leader_epoch == epoch {
                let votes = incr(&mut counters, v);
                if votes > max_votes {
                    max_votes = votes;
                    winner = Some(v.clone());
                }
            }
        }
        let voters_quorum = voters / 2 + 1;
        if winner.is_some() && (max_votes < voters_quorum || max_votes < quorum) {
            winner = None;
        }
        winner
    }

    /// `sentinelStartFailover`: a new epoch, `+try-failover`, and a start a little later.
    pub(crate) fn start_failover(&mut self, srv: &mut NodeState, master: &str) {
        let now = srv.now;
        // A peer may have announced any epoch up to u64::MAX; 7.0's unsigned `++` would wrap
        // to 0, which would break "never decreases": stay at the top instead.
        self.current_epoch = self.current_epoch.saturating_add(1);
        let epoch = self.current_epoch;
        let m = self.masters.get_mut(master).expect("present");
        m.failover_state = FailoverState::WaitStart;
        m.inst.flags |= flag::FAILOVER_IN_PROGRESS;
        m.failover_epoch = epoch;
        self.event_for(srv, LogLevel::Warning, "+new-epoch", master, &epoch.to_string());
        self.event(srv, LogLevel::Warning, "+try-failover", Some((master, &Which::Master)), "");
        let delay = Sentinel::desync(srv);
        let m = self.masters.get_mut(master).expect("present");
        m.failover_start_time = now + delay;
        m.failover_state_change_time = now;
    }

    /// `sentinelStartFailoverIfNeeded`: ODOWN, no failover running, none tried recently.
    pub(crate) fn start_failover_if_needed(&mut self, srv: &mut NodeState, master: &str) -> bool {
        let now = srv.now;
        let Some(m) = self.masters.get_mut(master) else { return false };
        if !m.inst.has(flag::O_DOWN) || m.inst.has(flag::FAILOVER_IN_PROGRESS) {
            return false;
        }
        // The start time may lie ahead (a vote sets it up to a second later): still too early.
        if (now as i64 - m.failover_start_time as i64) < (m.failover_timeout * 2) as i64 {
            if m.failover_delay_logged != m.failover_start_time {
                m.failover_delay_logged = m.failover_start_time;
                let at = (m.failover_start_time + m.failover_timeout * 2) / 1000;
                srv.log_as(
                    'X',
                    LogLevel::Warning,
                    format!("Next failover delay: I will not start a failover before {}", crate::log::ctime(at)),
                );
            }
            return false;
        }
        self.start_failover(srv, master);
        true
    }

    /// `sentinelSelectSlave`: the best replica to promote — not down, connected, answering,
    /// with fresh INFO, a link to the master not down too long, priority not 0; then lowest
    /// priority, highest offset, smallest run id.
    pub(crate) fn select_slave(&self, master: &str, now: u64) -> Option<String> {
        let m = self.masters.get(master)?;
        let t = &self.timing;
        let mut max_master_down_time = 0;
        if m.inst.has(flag::S_DOWN) {
            max_master_down_time += now.saturating_sub(m.inst.s_down_since_time);
        }
        max_master_down_time += m.inst.down_after_period * 10;
        let mut candidates: Vec<(&String, &super::instance::Instance)> = m
            .replicas
            .iter()
            .filter(|(_, r)| {
                let info_validity = if m.inst.has(flag::S_DOWN) { t.ping_period * 5 } else { t.info_period * 3 };
                !r.has(flag::S_DOWN | flag::O_DOWN)
                    && !r.link.disconnected
                    && now.saturating_sub(r.link.last_avail_time) <= t.ping_period * 5
                    && r.slave_priority != 0
                    && now.saturating_sub(r.info_refresh) <= info_validity
                    && r.master_link_down_time <= max_master_down_time
            })
            .collect();
        candidates.sort_by(|(_, a), (_, b)| {
            a.slave_priority.cmp(&b.slave_priority).then(b.slave_repl_offset.cmp(&a.slave_repl_offset)).then_with(
                || match (&a.runid, &b.runid) {
                    (None, None) => std::cmp::Ordering::Equal,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (Some(x), Some(y)) => x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase()),
                },
            )
        });
        candidates.first().map(|(k, _)| (*k).clone())
    }

    /// `sentinelFailoverStateMachine`.
    pub(crate) fn failover_state_machine(&mut self, srv: &mut NodeState, master: &str) {
        let Some(m) = self.masters.get(master) else { return };
        if !m.inst.has(flag::FAILOVER_IN_PROGRESS) {
            return;
        }
        match m.failover_state {
            FailoverState::WaitStart => self.failover_wait_start(srv, master),
            FailoverState::SelectSlave => self.failover_select_slave(srv, master),
            FailoverState::SendSlaveofNoone => self.failover_send_slaveof_noone(srv, master),
            FailoverState::WaitPromotion => self.failover_wait_promotion(srv, master),
            FailoverState::ReconfSlaves => self.failover_reconf_next_slave(srv, master),
            FailoverState::None | FailoverState::UpdateConfig => {}
        }
    }

    /// Wait to be elected (or give up after the election timeout).
    fn failover_wait_start(&mut self, srv: &mut NodeState, master: &str) {
        let now = srv.now;
        let epoch = self.masters[master].failover_epoch;
        let leader = self.get_leader(srv, master, epoch);
        let is_leader = leader.as_deref().is_some_and(|l| l.eq_ignore_ascii_case(&self.myid));
        let m = &self.masters[master];
        if !is_leader && !m.inst.has(flag::FORCE_FAILOVER) {
            let election_timeout = self.timing.election_timeout.min(m.failover_timeout);
            if now.saturating_sub(m.failover_start_time) > election_timeout {
                self.event(srv, LogLevel::Warning, "-failover-abort-not-elected", Some((master, &Which::Master)), "");
                self.abort_failover(master, now);
            }
            return;
        }
        self.event(srv, LogLevel::Warning, "+elected-leader", Some((master, &Which::Master)), "");
        if self.simfailure_flags & super::SIMFAILURE_CRASH_AFTER_ELECTION != 0 {
            self.simulated_crash(srv);
            return;
        }
        let m = self.masters.get_mut(master).expect("present");
        m.failover_state = FailoverState::SelectSlave;
        m.failover_state_change_time = now;
        self.event(srv, LogLevel::Warning, "+failover-state-select-slave", Some((master, &Which::Master)), "");
    }

    fn failover_select_slave(&mut self, srv: &mut NodeState, master: &str) {
        let now = srv.now;
        match self.select_slave(master, now) {
            None => {
                self.event(srv, LogLevel::Warning, "-failover-abort-no-good-slave", Some((master, &Which::Master)), "");
                self.abort_failover(master, now);
            }
            Some(key) => {
                let w = Which::Replica(key.clone());
                self.event(srv, LogLevel::Warning, "+selected-slave", Some((master, &w)), "");
                let m = self.masters.get_mut(master).expect("present");
                m.replicas.get_mut(&key).expect("present").flags |= flag::PROMOTED;
                m.promoted = Some(key);
                m.failover_state = FailoverState::SendSlaveofNoone;
                m.failover_state_change_time = now;
                self.event(srv, LogLevel::Notice, "+failover-state-send-slaveof-noone", Some((master, &w)), "");
            }
        }
    }

    fn failover_send_slaveof_noone(&mut self, srv: &mut NodeState, master: &str) {
        let now = srv.now;
        let m = &self.masters[master];
        let Some(key) = m.promoted.clone() else { return };
        let disconnected = m.replicas.get(&key).is_none_or(|r| r.link.disconnected);
        if disconnected {
            if now.saturating_sub(m.failover_state_change_time) > m.failover_timeout {
                self.event(srv, LogLevel::Warning, "-failover-abort-slave-timeout", Some((master, &Which::Master)), "");
                self.abort_failover(master, now);
            }
            return;
        }
        let w = Which::Replica(key);
        if !self.send_slaveof(srv, master, &w, None) {
            return;
        }
        self.event(srv, LogLevel::Notice, "+failover-state-wait-promotion", Some((master, &w)), "");
        let m = self.masters.get_mut(master).expect("present");
        m.failover_state = FailoverState::WaitPromotion;
        m.failover_state_change_time = now;
    }

    /// Only the timeout: the promotion itself is seen in the replica's INFO.
    fn failover_wait_promotion(&mut self, srv: &mut NodeState, master: &str) {
        let now = srv.now;
        let m = &self.masters[master];
        if now.saturating_sub(m.failover_state_change_time) > m.failover_timeout {
            self.event(srv, LogLevel::Warning, "-failover-abort-slave-timeout", Some((master, &Which::Master)), "");
            self.abort_failover(master, now);
        }
    }

    /// `sentinelFailoverDetectEnd`: done when every reachable replica follows the new master
    /// (or on timeout, with a best-effort SLAVEOF to the laggards).
    fn failover_detect_end(&mut self, srv: &mut NodeState, master: &str) {
        let now = srv.now;
        let m = &self.masters[master];
        let Some(pkey) = m.promoted.clone() else { return };
        let Some(promoted) = m.replicas.get(&pkey) else { return };
        if promoted.has(flag::S_DOWN) {
            return;
        }
        let paddr = promoted.addr.clone();
        let elapsed = now.saturating_sub(m.failover_state_change_time);
        let mut not_reconfigured =
            m.replicas.values().filter(|r| !r.has(flag::PROMOTED | flag::RECONF_DONE) && !r.has(flag::S_DOWN)).count();
        let mut timeout = false;
        if elapsed > m.failover_timeout {
            not_reconfigured = 0;
            timeout = true;
            self.event(srv, LogLevel::Warning, "+failover-end-for-timeout", Some((master, &Which::Master)), "");
        }
        if not_reconfigured == 0 {
            self.event(srv, LogLevel::Warning, "+failover-end", Some((master, &Which::Master)), "");
            let m = self.masters.get_mut(master).expect("present");
            m.failover_state = FailoverState::UpdateConfig;
            m.failover_state_change_time = now;
        }
        if timeout {
            let keys: Vec<String> = self.masters[master]
                .replicas
                .iter()
                .filter(|(_, r)| !r.has(flag::PROMOTED | flag::RECONF_DONE | flag::RECONF_SENT) && !r.link.disconnected)
                .map(|(k, _)| k.clone())
                .collect();
            for k in keys {
                let w = Which::Replica(k.clone());
                if self.send_slaveof(srv, master, &w, Some(&paddr)) {
                    self.event(srv, LogLevel::Notice, "+slave-reconf-sent-be", Some((master, &w)), "");
                    self.masters.get_mut(master).expect("present").replicas.get_mut(&k).expect("present").flags |=
                        flag::RECONF_SENT;
                }
            }
        }
    }

    /// `sentinelFailoverReconfNextSlave`: SLAVEOF the new master to the next replicas, at most
    /// `parallel-syncs` in progress at once.
    fn failover_reconf_next_slave(&mut self, srv: &mut NodeState, master: &str) {
        let now = srv.now;
        let reconf_timeout = self.timing.slave_reconf_timeout;
        let m = &self.masters[master];
        let Some(paddr) = m.promoted.as_ref().and_then(|k| m.replicas.get(k)).map(|r| r.addr.clone()) else {
            return;
        };
        let mut in_progress =
            m.replicas.values().filter(|r| r.has(flag::RECONF_SENT | flag::RECONF_INPROG)).count() as i64;
        let parallel = m.parallel_syncs;
        let keys: Vec<String> = m.replicas.keys().cloned().collect();
        for k in keys {
            if in_progress >= parallel {
                break;
            }
            let w = Which::Replica(k.clone());
            let r = &self.masters[master].replicas[&k];
            if r.has(flag::PROMOTED | flag::RECONF_DONE) {
                continue;
            }
            if r.has(flag::RECONF_SENT) && now.saturating_sub(r.slave_reconf_sent_time) > reconf_timeout {
                self.event(srv, LogLevel::Notice, "-slave-reconf-sent-timeout", Some((master, &w)), "");
                let r = self.masters.get_mut(master).expect("present").replicas.get_mut(&k).expect("present");
                r.flags &= !flag::RECONF_SENT;
                r.flags |= flag::RECONF_DONE;
            }
            let r = &self.masters[master].replicas[&k];
            if r.has(flag::RECONF_SENT | flag::RECONF_INPROG) || r.link.disconnected {
                continue;
            }
            if self.send_slaveof(srv, master, &w, Some(&paddr)) {
                let r = self.masters.get_mut(master).expect("present").replicas.get_mut(&k).expect("present");
                r.flags |= flag::RECONF_SENT;
                r.slave_reconf_sent_time = now;
                self.event(srv, LogLevel::Notice, "+slave-reconf-sent", Some((master, &w)), "");
                in_progress += 1;
            }
        }
        self.failover_detect_end(srv, master);
    }

    /// `sentinelFailoverSwitchToPromotedSlave`: `+switch-master`, and the configuration names
    /// the promoted replica as the master from now on.
    pub(crate) fn switch_to_promoted(&mut self, srv: &mut NodeState, master: &str) {
        let ah = self.announce_hostnames;
        let m = &self.masters[master];
        let new = m.promoted.as_ref().and_then(|k| m.replicas.get(k)).map_or(&m.inst.addr, |r| &r.addr).clone();
        let old = m.inst.addr.clone();
        self.event_for(
            srv,
            LogLevel::Warning,
            "+switch-master",
            master,
            &format!("{} {} {} {} {}", master, old.announced(ah), old.port, new.announced(ah), new.port),
        );
        self.reset_master_and_change_address(srv, master, &new.hostname, new.port as i64);
    }

    /// `sentinelAbortFailover`: possible until the promoted replica acknowledged.
    pub(crate) fn abort_failover(&mut self, master: &str, now: u64) {
        let Some(m) = self.masters.get_mut(master) else { return };
        debug_assert!(m.inst.has(flag::FAILOVER_IN_PROGRESS) && m.failover_state <= FailoverState::WaitPromotion);
        m.inst.flags &= !(flag::FAILOVER_IN_PROGRESS | flag::FORCE_FAILOVER);
        m.failover_state = FailoverState::None;
        m.failover_state_change_time = now;
        if let Some(k) = m.promoted.take() {
            if let Some(r) = m.replicas.get_mut(&k) {
                r.flags &= !flag::PROMOTED;
            }
        }
    }
}
