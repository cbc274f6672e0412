//! The monitoring half: the links to each instance, the commands sent on them periodically,
//! and what their replies teach (`sentinelReconnectInstance`, `sentinelSendPeriodicCommands`,
//! `sentinelRefreshInstanceInfo`, `sentinelProcessHelloMessage`).
//!
//! Each master and replica gets two connections: a command link (AUTH if configured, `CLIENT
//! SETNAME sentinel-<id>-cmd`, then PING, INFO and the hello PUBLISH) and a pub/sub link
//! subscribed to `__sentinel__:hello`, where every sentinel watching that master publishes
//! `ip,port,runid,current_epoch,master_name,master_ip,master_port,master_config_epoch` every
//! two seconds. Other sentinels get a command link only; our hello reaches them as a PUBLISH,
//! which sentinel mode takes as a hello. Replies come back in order, so each command link
//! keeps the queue of what it is waiting for (hiredis's callbacks).

use super::instance::{flag, Addr, FailoverState, Kind, Pending, Which};
use super::Sentinel;
use crate::log::LogLevel;
use crate::net::ConnId;
use crate::node::{NodeState, Output};
use crate::resp::{encode_command, Frame};
use bytes::BytesMut;

/// 7.0's `SENTINEL_MAX_PENDING_COMMANDS`.
const MAX_PENDING_COMMANDS: i64 = 100;

const HELLO_CHANNEL: &str = "__sentinel__:hello";

impl Sentinel {
    /// Write a command on an instance's command link (queued until the connection is open),
    /// remembering what its reply answers. `false` when there is no command link.
    pub(crate) fn send_command(
        &mut self,
        srv: &mut NodeState,
        master: &str,
        which: &Which,
        args: &[&str],
        pending: Pending,
    ) -> bool {
        if !self.write_link(srv, master, which, false, args) {
            return false;
        }
        let ri = self.instance_mut(master, which).expect("written to");
        ri.link.pending_commands += 1;
        ri.link.pending.push_back(pending);
        true
    }

    /// Write a command (named as the master renames it) on one of an instance's two links:
    /// sent now if the driver reported the connection open, kept until then otherwise.
    fn write_link(&mut self, srv: &mut NodeState, master: &str, which: &Which, pubsub: bool, args: &[&str]) -> bool {
        let Some(m) = self.masters.get(master) else { return false };
        let name = m.command_name(args[0]).to_string();
        let Some(ri) = self.instance_mut(master, which) else { return false };
        let (conn, open, queued) = if pubsub {
            (ri.link.pc, ri.link.pc_open, &mut ri.link.pc_out)
        } else {
            (ri.link.cc, ri.link.cc_open, &mut ri.link.cc_out)
        };
        let Some(conn) = conn else { return false };
        let mut words: Vec<&[u8]> = vec![name.as_bytes()];
        words.extend(args[1..].iter().map(|a| a.as_bytes()));
        let mut buf = BytesMut::new();
        encode_command(&mut buf, &words);
        if open {
            srv.send(conn, buf.freeze());
        } else {
            queued.extend_from_slice(&buf);
        }
        true
    }

    /// `sentinelSendAuthIfNeeded`: the master's `auth-pass`/`auth-user` for masters and
    /// replicas; `sentinel-pass`/`sentinel-user` (or else our own `requirepass`) for sentinels.
    fn auth_args(&self, srv: &NodeState, master: &str, which: &Which) -> Option<Vec<String>> {
        let m = self.masters.get(master)?;
        let (pass, user) = match which {
            Which::Master | Which::Replica(_) => (m.auth_pass.clone(), m.auth_user.clone()),
            Which::Sentinel(_) => match &self.sentinel_auth_pass {
                Some(p) => (Some(p.clone()), self.sentinel_auth_user.clone()),
                None => {
                    let rp = srv.config.get_str("requirepass");
                    ((!rp.is_empty()).then_some(rp), None)
                }
            },
        };
        let pass = pass?;
        Some(match user {
            Some(u) => vec!["AUTH".into(), u, pass],
            None => vec!["AUTH".into(), pass],
        })
    }

    /// `sentinelReconnectInstance`: open whichever of the two connections is missing, at most
    /// once per PING period.
    pub(crate) fn reconnect(&mut self, srv: &mut NodeState, master: &str, which: &Which) {
        let now = srv.now;
        let ping_period = self.timing.ping_period;
        let Some(ri) = self.instance_mut(master, which) else { return };
        if !ri.link.disconnected || ri.addr.port == 0 {
            return;
        }
        if now.saturating_sub(ri.link.last_reconn_time) < ping_period {
            return;
        }
        ri.link.last_reconn_time = now;
        let kind = ri.kind;
        let addr = ri.addr.connect_to();
        let client_name = |t: &str| format!("sentinel-{}-{}", &self.myid[..self.myid.len().min(8)], t);
        let (cmd_name, pubsub_name) = (client_name("cmd"), client_name("pubsub"));
        let auth = self.auth_args(srv, master, which);
        let ri = self.instance_mut(master, which).expect("present");
        if ri.link.cc.is_none() {
            let conn = srv.next_outbound_conn();
            ri.link.cc = Some(conn);
            ri.link.cc_open = false;
            ri.link.cc_in.clear();
            ri.link.cc_out.clear();
            ri.link.cc_local = None;
            ri.link.pending_commands = 0;
            ri.link.pending.clear();
            ri.link.cc_conn_time = now;
            self.conns.insert(
                conn,
                super::instance::LinkOwner { master: master.into(), which: which.clone(), pubsub: false },
            );
            srv.outputs.push_back(Output::Connect { conn, addr: addr.clone() });
            if let Some(a) = &auth {
                let a: Vec<&str> = a.iter().map(|s| s.as_str()).collect();
                self.send_command(srv, master, which, &a, Pending::Discard);
            }
            self.send_command(srv, master, which, &["CLIENT", "SETNAME", &cmd_name], Pending::Discard);
            self.send_ping(srv, master, which);
        }
        let ri = self.instance_mut(master, which).expect("present");
        if kind != Kind::Sentinel && ri.link.pc.is_none() {
            let conn = srv.next_outbound_conn();
            ri.link.pc = Some(conn);
            ri.link.pc_open = false;
            ri.link.pc_in.clear();
            ri.link.pc_out.clear();
            ri.link.pc_conn_time = now;
            self.conns
                .insert(conn, super::instance::LinkOwner { master: master.into(), which: which.clone(), pubsub: true });
            srv.outputs.push_back(Output::Connect { conn, addr });
            let mut discards = 1;
            if let Some(a) = &auth {
                let a: Vec<&str> = a.iter().map(|s| s.as_str()).collect();
                self.write_link(srv, master, which, true, &a);
                discards += 1;
            }
            self.write_link(srv, master, which, true, &["CLIENT", "SETNAME", &pubsub_name]);
            self.write_link(srv, master, which, true, &["SUBSCRIBE", HELLO_CHANNEL]);
            let ri = self.instance_mut(master, which).expect("present");
            // AUTH and SETNAME replies count as pending commands until they arrive.
            ri.link.pending_commands += discards;
            ri.link.pc_discards = discards as usize;
        }
        let ri = self.instance_mut(master, which).expect("present");
        if ri.link.cc.is_some() && (kind == Kind::Sentinel || ri.link.pc.is_some()) {
            ri.link.disconnected = false;
        }
    }

    /// `sentinelSendPing`.
    pub(crate) fn send_ping(&mut self, srv: &mut NodeState, master: &str, which: &Which) -> bool {
        if !self.send_command(srv, master, which, &["PING"], Pending::Ping) {
            return false;
        }
        let now = srv.now;
        let ri = self.instance_mut(master, which).expect("present");
        ri.link.last_ping_time = now;
        if ri.link.act_ping_time == 0 {
            ri.link.act_ping_time = now;
        }
        true
    }

    /// `sentinelSendPeriodicCommands`: INFO, PING and the hello, each on its own period.
    pub(crate) fn send_periodic_commands(&mut self, srv: &mut NodeState, master: &str, which: &Which) {
        let now = srv.now;
        let t = self.timing.clone();
        let Some(m) = self.masters.get(master) else { return };
        let master_busy = m.inst.has(flag::O_DOWN | flag::FAILOVER_IN_PROGRESS);
        let Some(ri) = self.instance(master, which) else { return };
        if ri.link.disconnected || ri.link.pending_commands >= MAX_PENDING_COMMANDS {
            return;
        }
        let info_period = if ri.kind == Kind::Replica && (master_busy || ri.master_link_down_time != 0) {
            1000
        } else {
            t.info_period
        };
        let ping_period = ri.down_after_period.min(t.ping_period);
        let wants_info =
            ri.kind != Kind::Sentinel && (ri.info_refresh == 0 || now.saturating_sub(ri.info_refresh) > info_period);
        let wants_ping = now.saturating_sub(ri.link.last_pong_time) > ping_period
            && now.saturating_sub(ri.link.last_ping_time) > ping_period / 2;
        let wants_hello = now.saturating_sub(ri.last_pub_time) > t.publish_period;
        if wants_info {
            self.send_command(srv, master, which, &["INFO"], Pending::Info);
        }
        if wants_ping {
            self.send_ping(srv, master, which);
        }
        if wants_hello {
            self.send_hello(srv, master, which);
        }
    }

    /// `sentinelSendHello`: advertise ourselves and our view of the master.
    fn send_hello(&mut self, srv: &mut NodeState, master: &str, which: &Which) -> bool {
        let Some(m) = self.masters.get(master) else { return false };
        let Some(ri) = self.instance(master, which) else { return false };
        if ri.link.disconnected {
            return false;
        }
        let ip = match &self.announce_ip {
            Some(ip) => ip.clone(),
            None => match &ri.link.cc_local {
                Some(local) => crate::net::host_of(local).to_string(),
                None => return false,
            },
        };
        let port = if self.announce_port != 0 { self.announce_port } else { srv.config.port() };
        let cur = m.current_addr();
        let payload = format!(
            "{},{},{},{},{},{},{},{}",
            ip,
            port,
            self.myid,
            self.current_epoch,
            m.name(),
            cur.announced(self.announce_hostnames),
            cur.port,
            m.config_epoch
        );
        self.send_command(srv, master, which, &["PUBLISH", HELLO_CHANNEL, &payload], Pending::Publish)
    }

    /// `sentinelForceHelloUpdateForMaster`: hellos about this master go out at the next timer.
    pub(crate) fn force_hello_update(&mut self, master: &str) {
        let p = self.timing.publish_period + 1;
        let Some(m) = self.masters.get_mut(master) else { return };
        let age = |t: &mut u64| {
            if *t >= p {
                *t -= p;
            }
        };
        age(&mut m.inst.last_pub_time);
        m.sentinels.values_mut().for_each(|s| age(&mut s.last_pub_time));
        m.replicas.values_mut().for_each(|r| age(&mut r.last_pub_time));
    }

    /// The driver opened (or failed to open) one of our links.
    pub(crate) fn on_outbound(&mut self, srv: &mut NodeState, conn: ConnId, result: Result<String, String>) {
        let Some(owner) = self.conns.get(&conn).cloned() else { return };
        let Some(ri) = self.instance_mut(&owner.master, &owner.which) else { return };
        match result {
            Ok(local) => {
                let out = if owner.pubsub {
                    ri.link.pc_open = true;
                    ri.link.pc_last_activity = srv.now;
                    std::mem::take(&mut ri.link.pc_out)
                } else {
                    ri.link.cc_open = true;
                    ri.link.cc_local = Some(local);
                    std::mem::take(&mut ri.link.cc_out)
                };
                if !out.is_empty() {
                    srv.send(conn, out.freeze());
                }
            }
            Err(e) => {
                let what = if owner.pubsub { "-pubsub-link-reconnection" } else { "-cmd-link-reconnection" };
                self.connection_lost(srv, conn);
                self.event(srv, LogLevel::Debug, what, Some((&owner.master, &owner.which)), &format!("#{}", e));
            }
        }
    }

    /// `instanceLinkConnectionError`: the connection is gone; the link is disconnected and the
    /// timer reconnects it.
    pub(crate) fn connection_lost(&mut self, srv: &mut NodeState, conn: ConnId) {
        srv.obuf.forget(conn);
        let Some(owner) = self.conns.remove(&conn) else { return };
        let Some(ri) = self.instance_mut(&owner.master, &owner.which) else { return };
        if owner.pubsub {
            ri.link.pc = None;
            ri.link.pc_open = false;
            ri.link.pc_in.clear();
        } else {
            ri.link.cc = None;
            ri.link.cc_open = false;
            ri.link.cc_in.clear();
            ri.link.pending.clear();
        }
        ri.link.disconnected = true;
    }

    /// `instanceLinkCloseConnection`: we close one connection of a link ourselves.
    pub(crate) fn close_connection(&mut self, srv: &mut NodeState, master: &str, which: &Which, pubsub: bool) {
        let Some(ri) = self.instance_mut(master, which) else { return };
        let conn = if pubsub { ri.link.pc } else { ri.link.cc };
        let Some(conn) = conn else { return };
        if !pubsub {
            ri.link.pending_commands = 0;
        }
        self.connection_lost(srv, conn);
        srv.outputs.push_back(Output::Close { conn });
    }

    /// Bytes from one of our links: replies on a command link, messages on a pub/sub one.
    pub(crate) fn on_data(&mut self, srv: &mut NodeState, conn: ConnId, bytes: &[u8]) {
        let Some(owner) = self.conns.get(&conn).cloned() else { return };
        let mut frames = Vec::new();
        {
            let Some(ri) = self.instance_mut(&owner.master, &owner.which) else { return };
            let buf = if owner.pubsub { &mut ri.link.pc_in } else { &mut ri.link.cc_in };
            buf.extend_from_slice(bytes);
            loop {
                match Frame::decode(buf) {
                    Ok(Some(f)) => frames.push(f),
                    Ok(None) => break,
                    Err(_) => {
                        // A protocol error: hiredis drops the connection.
                        frames.clear();
                        self.close_connection(srv, &owner.master, &owner.which, owner.pubsub);
                        return;
                    }
                }
            }
        }
        for frame in frames {
            // A reply may have dropped the instance or this link (a switch of master).
            if self.conns.get(&conn) != Some(&owner) {
                return;
            }
            if owner.pubsub {
                self.on_pubsub_frame(srv, &owner.master, &owner.which, frame);
            } else {
                let Some(ri) = self.instance_mut(&owner.master, &owner.which) else { return };
                let Some(pending) = ri.link.pending.pop_front() else {
                    // hiredis drops a connection on an error reply that answers nothing (a
                    // server refusing the client: max clients, a disabled user).
                    if matches!(frame, Frame::Error(_)) {
                        self.close_connection(srv, &owner.master, &owner.which, false);
                        return;
                    }
                    continue;
                };
                ri.link.pending_commands -= 1;
                self.on_reply(srv, &owner.master, &owner.which, pending, frame);
            }
        }
    }

    /// The peer closed one of our links.
    pub(crate) fn on_closed(&mut self, srv: &mut NodeState, conn: ConnId) {
        self.connection_lost(srv, conn);
    }

    fn on_reply(&mut self, srv: &mut NodeState, master: &str, which: &Which, pending: Pending, frame: Frame) {
        match pending {
            Pending::Discard => {}
            Pending::Ping => self.on_ping_reply(srv, master, which, frame),
            Pending::Info => {
                if let Frame::Bulk(text) = frame {
                    let text = String::from_utf8_lossy(&text).into_owned();
                    self.refresh_instance_info(srv, master, which, &text);
                }
            }
            Pending::Publish => {
                if !matches!(frame, Frame::Error(_)) {
                    let now = srv.now;
                    if let Some(ri) = self.instance_mut(master, which) {
                        ri.last_pub_time = now;
                    }
                }
            }
            Pending::IsMasterDown => self.on_is_master_down_reply(srv, master, which, frame),
        }
    }

    /// `sentinelPingReplyCallback`: PONG, LOADING and MASTERDOWN count as the instance being
    /// available; a BUSY script gets a SCRIPT KILL once the instance is SDOWN.
    fn on_ping_reply(&mut self, srv: &mut NodeState, master: &str, which: &Which, frame: Frame) {
        let now = srv.now;
        let text = match &frame {
            Frame::Simple(s) | Frame::Error(s) => Some(s.clone()),
            _ => None,
        };
        let mut kill_script = false;
        let Some(ri) = self.instance_mut(master, which) else { return };
        if let Some(s) = text {
            if s.starts_with("PONG") || s.starts_with("LOADING") || s.starts_with("MASTERDOWN") {
                ri.link.last_avail_time = now;
                ri.link.act_ping_time = 0;
                if ri.has(flag::MASTER_REBOOT) && s.starts_with("PONG") {
                    ri.flags &= !flag::MASTER_REBOOT;
                }
            } else if s.starts_with("BUSY") && ri.has(flag::S_DOWN) && !ri.has(flag::SCRIPT_KILL_SENT) {
                ri.flags |= flag::SCRIPT_KILL_SENT;
                kill_script = true;
            }
        }
        ri.link.last_pong_time = now;
        if kill_script {
            self.send_command(srv, master, which, &["SCRIPT", "KILL"], Pending::Discard);
        }
    }

    /// `sentinelReceiveHelloMessages`: a message on the hello channel (or the replies to the
    /// pub/sub link's AUTH and SETNAME, which only count).
    fn on_pubsub_frame(&mut self, srv: &mut NodeState, master: &str, which: &Which, frame: Frame) {
        let now = srv.now;
        let Some(ri) = self.instance_mut(master, which) else { return };
        if ri.link.pc_discards > 0 {
            ri.link.pc_discards -= 1;
            ri.link.pending_commands -= 1;
            return;
        }
        if matches!(frame, Frame::Error(_)) {
            // An error in the subscribed context (SUBSCRIBE refused: NOAUTH) answers no
            // callback, and hiredis disconnects: the link shows `disconnected` and is retried.
            self.close_connection(srv, master, which, true);
            return;
        }
        ri.link.pc_last_activity = now;
        let Frame::Array(items) = frame else { return };
        let [Frame::Bulk(kind), Frame::Bulk(_), Frame::Bulk(payload)] = items.as_slice() else { return };
        if kind.as_ref() != b"message" {
            return;
        }
        let payload = String::from_utf8_lossy(payload).into_owned();
        if payload.contains(&self.myid) {
            return; // Our own hello.
        }
        self.process_hello(srv, &payload);
    }

    /// `sentinelProcessHelloMessage`: learn of a sentinel (or its new address), a newer epoch,
    /// and a newer configuration of the master (a failover another sentinel made).
    pub(crate) fn process_hello(&mut self, srv: &mut NodeState, hello: &str) {
        let now = srv.now;
        let token: Vec<&str> = hello.split(',').collect();
        if token.len() != 8 {
            return;
        }
        let mname = token[4].to_string();
        if !self.masters.contains_key(&mname) {
            return;
        }
        let port = crate::resp::atoi(token[1]);
        let master_port = crate::resp::atoi(token[6]);
        let current_epoch = super::config::strtoull(token[3]);
        let master_config_epoch = super::config::strtoull(token[7]);
        let runid = token[2].to_string();
        let probe = Addr::new(token[0], port, self.resolve_hostnames).ok();
        let m = &self.masters[&mname];
        let mut si: Option<String> = probe.as_ref().and_then(|a| {
            m.sentinels
                .iter()
                .find(|(_, s)| s.runid.as_deref() == Some(&runid) && s.addr.same(a))
                .map(|(k, _)| k.clone())
        });
        if si.is_none() {
            let removed = self.remove_sentinel_by_runid(srv, &mname, &runid);
            if removed > 0 {
                self.event(
                    srv,
                    LogLevel::Notice,
                    "+sentinel-address-switch",
                    Some((&mname, &Which::Master)),
                    &format!("ip {} port {} for {}", token[0], port, runid),
                );
            } else if let Some(a) = &probe {
                let other = self.masters[&mname]
                    .sentinels
                    .iter()
                    .find(|(_, s)| s.addr.same(a))
                    .map(|(k, s)| (k.clone(), s.runid.clone()));
                if let Some((key, obsolete)) = other {
                    self.event(
                        srv,
                        LogLevel::Notice,
                        "+sentinel-invalid-addr",
                        Some((&mname, &Which::Sentinel(key))),
                        "",
                    );
                    if let Some(obsolete) = obsolete {
                        let names: Vec<String> = self.masters.keys().cloned().collect();
                        for n in names {
                            self.remove_sentinel_by_runid(srv, &n, &obsolete);
                        }
                    }
                }
            }
            if self.create_sentinel(&mname, &runid, token[0], port, now).is_ok() {
                if removed == 0 {
                    self.event(srv, LogLevel::Notice, "+sentinel", Some((&mname, &Which::Sentinel(runid.clone()))), "");
                }
                if removed > 0 {
                    self.update_sentinel_address_in_all_masters(srv, &mname, &runid);
                }
                si = Some(runid.clone());
                self.flush_config(srv);
            }
        }
        if current_epoch > self.current_epoch {
            self.current_epoch = current_epoch;
            self.flush_config(srv);
            // 7.0 formats this event without the `%@` prefix: just the epoch.
            self.event_for(srv, LogLevel::Warning, "+new-epoch", &mname, &current_epoch.to_string());
        }
        if let Some(si) = &si {
            let m = self.masters.get_mut(&mname).expect("present");
            if m.config_epoch < master_config_epoch {
                m.config_epoch = master_config_epoch;
                if master_port != m.inst.addr.port as i64 || !m.inst.addr.is_host(token[5]) {
                    let old = m.inst.addr.clone();
                    self.event(
                        srv,
                        LogLevel::Warning,
                        "+config-update-from",
                        Some((&mname, &Which::Sentinel(si.clone()))),
                        "",
                    );
                    let ah = self.announce_hostnames;
                    self.event_for(
                        srv,
                        LogLevel::Warning,
                        "+switch-master",
                        &mname,
                        &format!("{} {} {} {} {}", mname, old.announced(ah), old.port, token[5], master_port),
                    );
                    self.reset_master_and_change_address(srv, &mname, token[5], master_port);
                    let new = self.masters[&mname].inst.addr.clone();
                    self.call_client_reconf_script(&mname, false, &old, &new);
                }
            }
            if let Some(s) = self.masters.get_mut(&mname).and_then(|m| m.sentinels.get_mut(si)) {
                s.last_hello_time = now;
            }
        }
    }

    /// An event whose text has no `%@` prefix (`+new-epoch 3`, `+switch-master …`).
    pub(crate) fn event_plain(&mut self, srv: &mut NodeState, level: LogLevel, kind: &str, text: &str) {
        self.event(srv, level, kind, None, text);
    }

    /// `removeMatchingSentinelFromMaster`.
    fn remove_sentinel_by_runid(&mut self, srv: &mut NodeState, master: &str, runid: &str) -> usize {
        let Some(m) = self.masters.get_mut(master) else { return 0 };
        let keys: Vec<String> =
            m.sentinels.iter().filter(|(_, s)| s.runid.as_deref() == Some(runid)).map(|(k, _)| k.clone()).collect();
        for k in &keys {
            let mut s = self.masters.get_mut(master).expect("present").sentinels.remove(k).expect("present");
            self.release_links(srv, &mut s.link);
        }
        keys.len()
    }

    /// `sentinelUpdateSentinelAddressInAllMasters`: the sentinel `runid` of `master` moved;
    /// the same sentinel under other masters moves too (their links are dropped to reconnect).
    fn update_sentinel_address_in_all_masters(&mut self, srv: &mut NodeState, master: &str, runid: &str) {
        let Some(addr) = self.masters.get(master).and_then(|m| m.sentinels.get(runid)).map(|s| s.addr.clone()) else {
            return;
        };
        let mut reconfigured = 0;
        let names: Vec<String> = self.masters.keys().cloned().collect();
        for n in names {
            let w = Which::Sentinel(runid.to_string());
            if self.instance(&n, &w).is_none() {
                continue;
            }
            self.close_connection(srv, &n, &w, false);
            if n == master {
                continue;
            }
            if let Some(s) = self.instance_mut(&n, &w) {
                s.addr = addr.clone();
                reconfigured += 1;
            }
        }
        if reconfigured > 0 {
            self.event(
                srv,
                LogLevel::Notice,
                "+sentinel-address-update",
                Some((master, &Which::Sentinel(runid.to_string()))),
                &format!("{} additional matching instances", reconfigured),
            );
        }
    }

    /// `sentinelMasterLooksSane`.
    pub(crate) fn master_looks_sane(&self, master: &str, now: u64) -> bool {
        let Some(m) = self.masters.get(master) else { return false };
        m.inst.has(flag::MASTER)
            && m.inst.role_reported == Kind::Master
            && !m.inst.has(flag::S_DOWN | flag::O_DOWN)
            && now.saturating_sub(m.inst.info_refresh) < self.timing.info_period * 2
    }

    /// `sentinelSendSlaveOf`: SLAVEOF inside MULTI with CONFIG REWRITE and CLIENT KILL of
    /// normal and pub/sub clients (so they reconnect and ask where the master is), EXEC.
    /// `None` sends SLAVEOF NO ONE.
    pub(crate) fn send_slaveof(&mut self, srv: &mut NodeState, master: &str, which: &Which, to: Option<&Addr>) -> bool {
        if self.instance(master, which).is_none_or(|ri| ri.link.cc.is_none()) {
            return false;
        }
        let (host, port) = match to {
            None => ("NO".to_string(), "ONE".to_string()),
            Some(a) => (a.announced(self.announce_hostnames).to_string(), a.port.to_string()),
        };
        self.send_command(srv, master, which, &["MULTI"], Pending::Discard);
        self.send_command(srv, master, which, &["SLAVEOF", &host, &port], Pending::Discard);
        self.send_command(srv, master, which, &["CONFIG", "REWRITE"], Pending::Discard);
        self.send_command(srv, master, which, &["CLIENT", "KILL", "TYPE", "normal"], Pending::Discard);
        self.send_command(srv, master, which, &["CLIENT", "KILL", "TYPE", "pubsub"], Pending::Discard);
        self.send_command(srv, master, which, &["EXEC"], Pending::Discard);
        true
    }

    /// `sentinelRefreshInstanceInfo`: what a master's or replica's INFO says — its run id, its
    /// replicas, its role and replication state — and what to do about it.
    pub(crate) fn refresh_instance_info(&mut self, srv: &mut NodeState, master: &str, which: &Which, info: &str) {
        let now = srv.now;
        let resolve = self.resolve_hostnames;
        let ah = self.announce_hostnames;
        let reboot_period = self.masters.get(master).map_or(0, |m| m.master_reboot_down_after_period);
        let mut role: Option<Kind> = None;
        let mut new_replicas: Vec<(String, i64)> = Vec::new();
        let mut rebooted = false;
        {
            let Some(ri) = self.instance_mut(master, which) else { return };
            ri.info = Some(info.to_string());
            ri.master_link_down_time = 0;
            for l in info.split("\r\n") {
                if l.len() >= 47 && l.starts_with("run_id:") {
                    let id = &l[7..47];
                    match &ri.runid {
                        None => ri.runid = Some(id.to_string()),
                        Some(old) if old != id => {
                            rebooted = true;
                            ri.runid = Some(id.to_string());
                        }
                        _ => {}
                    }
                }
                if ri.kind == Kind::Master && l.len() >= 7 && l.starts_with("slave") && l.as_bytes()[5].is_ascii_digit()
                {
                    if let Some((ip, port)) = parse_slave_line(l) {
                        new_replicas.push((ip, port));
                    }
                }
                if let Some(v) = l.strip_prefix("master_link_down_since_seconds:") {
                    ri.master_link_down_time = (crate::resp::atoi(v).max(0) as u64).saturating_mul(1000);
                }
                if l.starts_with("role:master") {
                    role = Some(Kind::Master);
                } else if l.starts_with("role:slave") {
                    role = Some(Kind::Replica);
                }
                if role == Some(Kind::Replica) {
                    if let Some(h) = l.strip_prefix("master_host:") {
                        if ri.slave_master_host.as_deref().is_none_or(|old| !old.eq_ignore_ascii_case(h)) {
                            ri.slave_master_host = Some(h.to_string());
                            ri.slave_conf_change_time = now;
                        }
                    }
                    if let Some(p) = l.strip_prefix("master_port:") {
                        let p = crate::resp::atoi(p).clamp(0, 65535) as u16;
                        if ri.slave_master_port != p {
                            ri.slave_master_port = p;
                            ri.slave_conf_change_time = now;
                        }
                    }
                    if let Some(s) = l.strip_prefix("master_link_status:") {
                        ri.slave_master_link_up = s.eq_ignore_ascii_case("up");
                    }
                    if let Some(p) = l.strip_prefix("slave_priority:") {
                        ri.slave_priority = crate::resp::atoi(p);
                    }
                    if let Some(o) = l.strip_prefix("slave_repl_offset:") {
                        ri.slave_repl_offset = super::config::strtoull(o);
                    }
                    if let Some(a) = l.strip_prefix("replica_announced:") {
                        ri.replica_announced = crate::resp::atoi(a) != 0;
                    }
                }
            }
            ri.info_refresh = now;
            if rebooted && ri.kind == Kind::Master && reboot_period != 0 {
                ri.flags |= flag::MASTER_REBOOT;
            }
        }
        if rebooted {
            self.event(srv, LogLevel::Notice, "+reboot", Some((master, which)), "");
            if *which == Which::Master && reboot_period != 0 {
                self.masters.get_mut(master).expect("present").master_reboot_since_time = now;
            }
        }
        for (ip, port) in new_replicas {
            let known = Addr::new(&ip, port, resolve)
                .ok()
                .is_some_and(|a| self.masters[master].replicas.contains_key(&a.key(ah)));
            if !known {
                if let Ok(key) = self.create_replica(master, &ip, port, now) {
                    self.event(srv, LogLevel::Notice, "+slave", Some((master, &Which::Replica(key))), "");
                    self.flush_config(srv);
                }
            }
        }
        // The acting half.
        let Some(role) = role else { return };
        let ri = self.instance_mut(master, which).expect("present");
        if role != ri.role_reported {
            ri.role_reported_time = now;
            ri.role_reported = role;
            if role == Kind::Replica {
                ri.slave_conf_change_time = now;
            }
            let coherent = ri.kind == role;
            let word = if role == Kind::Master { "master" } else { "slave" };
            self.event(
                srv,
                LogLevel::Verbose,
                if coherent { "+role-change" } else { "-role-change" },
                Some((master, which)),
                &format!("new reported role is {}", word),
            );
        }
        if self.tilt {
            return;
        }
        let Which::Replica(key) = which else { return };
        let m = &self.masters[master];
        let ri = &m.replicas[key];
        if role == Kind::Master {
            if ri.has(flag::PROMOTED)
                && m.inst.has(flag::FAILOVER_IN_PROGRESS)
                && m.failover_state == FailoverState::WaitPromotion
            {
                let m = self.masters.get_mut(master).expect("present");
                m.config_epoch = m.failover_epoch;
                m.failover_state = FailoverState::ReconfSlaves;
                m.failover_state_change_time = now;
                self.flush_config(srv);
                self.event(srv, LogLevel::Warning, "+promoted-slave", Some((master, which)), "");
                if self.simfailure_flags & super::SIMFAILURE_CRASH_AFTER_PROMOTION != 0 {
                    self.simulated_crash(srv);
                    return;
                }
                self.event(srv, LogLevel::Warning, "+failover-state-reconf-slaves", Some((master, &Which::Master)), "");
                let (from, to) =
                    (self.masters[master].inst.addr.clone(), self.masters[master].replicas[key].addr.clone());
                self.call_client_reconf_script(master, true, &from, &to);
                self.force_hello_update(master);
            } else {
                let wait_time = self.timing.publish_period * 4;
                if !ri.has(flag::PROMOTED)
                    && self.master_looks_sane(master, now)
                    && ri.no_down_for(now, wait_time)
                    && now.saturating_sub(ri.role_reported_time) > wait_time
                {
                    let to = m.inst.addr.clone();
                    if self.send_slaveof(srv, master, which, Some(&to)) {
                        self.event(srv, LogLevel::Notice, "+convert-to-slave", Some((master, which)), "");
                    }
                }
            }
            return;
        }
        // A replica replicating from somewhere else than the master we know.
        let wrong_master = ri.slave_master_port != m.inst.addr.port
            || !m.inst.addr.is_host(ri.slave_master_host.as_deref().unwrap_or(""));
        if wrong_master {
            let wait_time = m.failover_timeout;
            if self.master_looks_sane(master, now)
                && ri.no_down_for(now, wait_time)
                && now.saturating_sub(ri.slave_conf_change_time) > wait_time
            {
                let to = m.inst.addr.clone();
                if self.send_slaveof(srv, master, which, Some(&to)) {
                    self.event(srv, LogLevel::Notice, "+fix-slave-config", Some((master, which)), "");
                }
            }
        }
        // A replica being reconfigured by our failover: SENT → INPROG → DONE.
        let m = &self.masters[master];
        let ri = &m.replicas[key];
        if ri.has(flag::RECONF_SENT | flag::RECONF_INPROG) {
            let promoted = m.promoted.as_ref().and_then(|p| m.replicas.get(p)).map(|p| p.addr.clone());
            let Some(paddr) = promoted else { return };
            if ri.has(flag::RECONF_SENT)
                && ri.slave_master_host.as_deref().is_some_and(|h| paddr.is_host(h))
                && ri.slave_master_port == paddr.port
            {
                let ri = self.masters.get_mut(master).expect("present").replicas.get_mut(key).expect("present");
                ri.flags &= !flag::RECONF_SENT;
                ri.flags |= flag::RECONF_INPROG;
                self.event(srv, LogLevel::Notice, "+slave-reconf-inprog", Some((master, which)), "");
            }
            let ri = self.masters.get_mut(master).expect("present").replicas.get_mut(key).expect("present");
            if ri.has(flag::RECONF_INPROG) && ri.slave_master_link_up {
                ri.flags &= !flag::RECONF_INPROG;
                ri.flags |= flag::RECONF_DONE;
                self.event(srv, LogLevel::Notice, "+slave-reconf-done", Some((master, which)), "");
            }
        }
    }

    /// `sentinelSimFailureCrash`: the process exits with 99.
    pub(crate) fn simulated_crash(&self, srv: &mut NodeState) {
        srv.log_as('X', LogLevel::Warning, "Sentinel CRASH because of SENTINEL simulate-failure");
        srv.halted = true;
        srv.outputs.push_back(Output::Exit { code: 99 });
    }
}

/// A `slave<N>:` line of INFO replication: `ip=…,port=…,…` (or the pre-2.8 `ip,port,state`).
fn parse_slave_line(l: &str) -> Option<(String, i64)> {
    let (_, rest) = l.split_once(':')?;
    if let Some(i) = rest.find("ip=") {
        let ip = rest[i + 3..].split(',').next()?.to_string();
        let p = rest.find("port=")?;
        let port = rest[p + 5..].split(',').next()?;
        Some((ip, crate::resp::atoi(port)))
    } else {
        let mut parts = rest.split(',');
        let ip = parts.next()?.to_string();
        let port = parts.next()?;
        parts.next()?;
        Some((ip, crate::resp::atoi(port)))
    }
}
