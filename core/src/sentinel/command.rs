//! Commands in sentinel mode (`sentinelCommand`, `sentinelInfoCommand`, `sentinelRoleCommand`,
//! `sentinelPublishCommand`, `sentinelSetCommand`, `sentinelConfigSetCommand`).
//!
//! Sentinel mode's command table is 7.0's, read from a redis-sentinel (`table.rs`): PING,
//! AUTH, HELLO, CLIENT, COMMAND, ACL, (P)SUBSCRIBE, SHUTDOWN run as on a server; INFO, ROLE
//! and PUBLISH have sentinel versions; SENTINEL is the sentinel's own. Anything else is an
//! unknown command, as on redis-sentinel.

use super::instance::{flag, Instance, Kind, Which};
use super::{with_sentinel, Sentinel};
use crate::command::{eq_ic, Ctx};
use crate::log::LogLevel;
use crate::node::{Client, NodeState, Output};
use crate::resp::{parse_i64, ReplyBuf};
use bytes::Bytes;

const HELP: &[&str] = &[
    "SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CKQUORUM <master-name>",
    "    Check if the current Sentinel configuration is able to reach the quorum",
    "    needed to failover a master and the majority needed to authorize the",
    "    failover.",
    "CONFIG SET <param> <value>",
    "    Set a global Sentinel configuration parameter.",
    "CONFIG GET <param>",
    "    Get global Sentinel configuration parameter.",
    "DEBUG [<param> <value> ...]",
    "    Show a list of configurable time parameters and their values (milliseconds).",
    "    Or update current configurable parameters values (one or more).",
    "GET-MASTER-ADDR-BY-NAME <master-name>",
    "    Return the ip and port number of the master with that name.",
    "FAILOVER <master-name>",
    "    Manually failover a master node without asking for agreement from other",
    "    Sentinels",
    "FLUSHCONFIG",
    "    Force Sentinel to rewrite its configuration on disk, including the current",
    "    Sentinel state.",
    "INFO-CACHE <master-name>",
    "    Return last cached INFO output from masters and all its replicas.",
    "IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid>",
    "    Check if the master specified by ip:port is down from current Sentinel's",
    "    point of view.",
    "MASTER <master-name>",
    "    Show the state and info of the specified master.",
    "MASTERS",
    "    Show a list of monitored masters and their state.",
    "MONITOR <name> <ip> <port> <quorum>",
    "    Start monitoring a new master with the specified name, ip, port and quorum.",
    "MYID",
    "    Return the ID of the Sentinel instance.",
    "PENDING-SCRIPTS",
    "    Get pending scripts information.",
    "REMOVE <master-name>",
    "    Remove master from Sentinel's monitor list.",
    "REPLICAS <master-name>",
    "    Show a list of replicas for this master and their state.",
    "RESET <pattern>",
    "    Reset masters for specific master name matching this pattern.",
    "SENTINELS <master-name>",
    "    Show a list of Sentinel instances for this master and their state.",
    "SET <master-name> <option> <value> [<option> <value> ...]",
    "    Set configuration parameters for certain masters.",
    "SIMULATE-FAILURE [CRASH-AFTER-ELECTION] [CRASH-AFTER-PROMOTION] [HELP]",
    "    Simulate a Sentinel crash.",
    "HELP",
    "    Print this help.",
];

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `SENTINEL <subcommand> …`.
pub fn sentinel(ctx: &mut Ctx, args: &mut [Bytes]) {
    let now = ctx.now;
    let client = &mut *ctx.client;
    with_sentinel(ctx.srv, |s, srv| s.command(srv, client, now, args));
}

/// INFO in sentinel mode.
pub fn info(ctx: &mut Ctx, args: &mut [Bytes]) {
    let requested: Vec<String> = args[1..].iter().map(|a| text(a).to_ascii_lowercase()).collect();
    let out = info_text(ctx.srv, ctx.now, &requested);
    ctx.reply().bulk(out.as_bytes());
}

/// `sentinelInfoCommand`: of the server's sections only server, clients, cpu and stats, then
/// `# Sentinel` (lowercase section names; none, `all`, `everything` or `default` for all).
pub fn info_text(srv: &NodeState, now: u64, requested: &[String]) -> String {
    let all = requested.is_empty() || requested.iter().any(|s| matches!(s.as_str(), "all" | "everything" | "default"));
    let sections: Vec<String> = if all {
        ["server", "clients", "cpu", "stats"].iter().map(|s| s.to_string()).collect()
    } else {
        requested.iter().filter(|s| matches!(s.as_str(), "server" | "clients" | "cpu" | "stats")).cloned().collect()
    };
    let mut out =
        if sections.is_empty() { String::new() } else { crate::command::info::info_text(srv, now, &sections) };
    if all || requested.iter().any(|s| s == "sentinel") {
        if let Some(s) = srv.sentinel.as_ref() {
            if !out.is_empty() {
                out.push_str("\r\n");
            }
            out.push_str(&s.info_section(now));
        }
    }
    out
}

/// ROLE in sentinel mode: `sentinel` and the names of the masters it watches.
pub fn role(ctx: &mut Ctx, _args: &mut [Bytes]) {
    let Some(s) = ctx.srv.sentinel.as_ref() else { return };
    let mut wire = Vec::new();
    s.role_frame().encode(&mut wire);
    ctx.reply().raw(&wire);
}

impl Sentinel {
    /// `sentinelRoleCommand`'s reply as a frame (also what an observer reads).
    pub fn role_frame(&self) -> crate::resp::Frame {
        use crate::resp::Frame;
        let names = self.masters.keys().map(|n| Frame::Bulk(Bytes::from(n.clone()))).collect();
        Frame::Array(vec![Frame::Bulk(Bytes::from_static(b"sentinel")), Frame::Array(names)])
    }
}

/// PUBLISH in sentinel mode: only hellos, which another sentinel sends us this way.
pub fn publish(ctx: &mut Ctx, args: &mut [Bytes]) {
    if args[1].as_ref() != b"__sentinel__:hello" {
        return ctx.error("ERR Only HELLO messages are accepted by Sentinel instances.");
    }
    let hello = text(&args[2]);
    with_sentinel(ctx.srv, |s, srv| s.process_hello(srv, &hello));
    ctx.reply().int(1);
}

impl Sentinel {
    /// `# Sentinel` of INFO.
    pub fn info_section(&self, now: u64) -> String {
        let mut out = format!(
            "# Sentinel\r\nsentinel_masters:{}\r\nsentinel_tilt:{}\r\nsentinel_tilt_since_seconds:{}\r\nsentinel_running_scripts:{}\r\nsentinel_scripts_queue_length:{}\r\nsentinel_simulate_failure_flags:{}\r\n",
            self.masters.len(),
            self.tilt as u8,
            if self.tilt { (now.saturating_sub(self.tilt_start_time) / 1000) as i64 } else { -1 },
            self.scripts.running(),
            self.scripts.queue_len(),
            self.simfailure_flags
        );
        for (i, m) in self.masters.values().enumerate() {
            let status = if m.inst.has(flag::O_DOWN) {
                "odown"
            } else if m.inst.has(flag::S_DOWN) {
                "sdown"
            } else {
                "ok"
            };
            out.push_str(&format!(
                "master{}:name={},status={},address={}:{},slaves={},sentinels={}\r\n",
                i,
                m.name(),
                status,
                m.inst.addr.announced(self.announce_hostnames),
                m.inst.addr.port,
                m.replicas.len(),
                m.sentinels.len() + 1
            ));
        }
        out
    }

    /// `addReplySentinelRedisInstance`: an instance as a map of its fields, in 7.0's order.
    fn reply_instance(&self, r: &mut ReplyBuf, master: &super::instance::Master, ri: &Instance, now: u64) {
        let mut fields: Vec<(&str, String)> = vec![
            ("name", ri.name.clone()),
            ("ip", ri.addr.announced(self.announce_hostnames).to_string()),
            ("port", ri.addr.port.to_string()),
            ("runid", ri.runid.clone().unwrap_or_default()),
            ("flags", ri.flags_text()),
            ("link-pending-commands", ri.link.pending_commands.to_string()),
            ("link-refcount", "1".to_string()),
        ];
        if ri.kind == Kind::Master && ri.has(flag::FAILOVER_IN_PROGRESS) {
            fields.push(("failover-state", master.failover_state.word().to_string()));
        }
        let since = |t: u64| now.saturating_sub(t).to_string();
        fields.push((
            "last-ping-sent",
            if ri.link.act_ping_time != 0 { since(ri.link.act_ping_time) } else { "0".into() },
        ));
        fields.push(("last-ok-ping-reply", since(ri.link.last_avail_time)));
        fields.push(("last-ping-reply", since(ri.link.last_pong_time)));
        if ri.has(flag::S_DOWN) {
            fields.push(("s-down-time", since(ri.s_down_since_time)));
        }
        if ri.has(flag::O_DOWN) {
            fields.push(("o-down-time", since(ri.o_down_since_time)));
        }
        fields.push(("down-after-milliseconds", ri.down_after_period.to_string()));
        if ri.kind != Kind::Sentinel {
            fields.push(("info-refresh", if ri.info_refresh != 0 { since(ri.info_refresh) } else { "0".into() }));
            fields.push(("role-reported", if ri.role_reported == Kind::Master { "master" } else { "slave" }.into()));
            fields.push(("role-reported-time", since(ri.role_reported_time)));
        }
        if ri.kind == Kind::Master {
            fields.push(("config-epoch", master.config_epoch.to_string()));
            fields.push(("num-slaves", master.replicas.len().to_string()));
            fields.push(("num-other-sentinels", master.sentinels.len().to_string()));
            fields.push(("quorum", master.quorum.to_string()));
            fields.push(("failover-timeout", master.failover_timeout.to_string()));
            fields.push(("parallel-syncs", master.parallel_syncs.to_string()));
            if let Some(s) = &master.notification_script {
                fields.push(("notification-script", s.clone()));
            }
            if let Some(s) = &master.client_reconfig_script {
                fields.push(("client-reconfig-script", s.clone()));
            }
        }
        if ri.kind == Kind::Replica {
            fields.push(("master-link-down-time", ri.master_link_down_time.to_string()));
            fields.push(("master-link-status", if ri.slave_master_link_up { "ok" } else { "err" }.into()));
            fields.push(("master-host", ri.slave_master_host.clone().unwrap_or_else(|| "?".into())));
            fields.push(("master-port", ri.slave_master_port.to_string()));
            fields.push(("slave-priority", ri.slave_priority.to_string()));
            fields.push(("slave-repl-offset", ri.slave_repl_offset.to_string()));
            fields.push(("replica-announced", (ri.replica_announced as u8).to_string()));
        }
        if ri.kind == Kind::Sentinel {
            fields.push(("last-hello-message", since(ri.last_hello_time)));
            fields.push(("voted-leader", ri.leader.clone().unwrap_or_else(|| "?".into())));
            fields.push(("voted-leader-epoch", ri.leader_epoch.to_string()));
        }
        r.map(fields.len());
        for (k, v) in fields {
            r.bulk(k.as_bytes());
            // Numbers are bulk strings too (`addReplyBulkLongLong`).
            r.bulk(v.as_bytes());
        }
    }

    /// `addReplyDictOfRedisInstances` (replicas that asked not to be announced are left out).
    fn reply_instances<'a>(
        &self,
        r: &mut ReplyBuf,
        master: &super::instance::Master,
        list: impl Iterator<Item = &'a Instance>,
        now: u64,
    ) {
        let shown: Vec<&Instance> = list.filter(|ri| ri.kind != Kind::Replica || ri.replica_announced).collect();
        r.array(shown.len());
        for ri in shown {
            self.reply_instance(r, master, ri, now);
        }
    }

    fn command(&mut self, srv: &mut NodeState, client: &mut Client, now: u64, args: &mut [Bytes]) {
        let sub = text(&args[1]).to_ascii_lowercase();
        let argc = args.len();
        let arity_error = |client: &mut Client| {
            client.reply.error(&format!("ERR wrong number of arguments for 'sentinel|{}' command", sub));
        };
        let no_such_master = |client: &mut Client| client.reply.error("ERR No such master with that name");
        match sub.as_str() {
            "help" if argc == 2 => {
                client.reply.array(HELP.len());
                for l in HELP {
                    client.reply.simple(l);
                }
            }
            "masters" => {
                client.reply.array(self.masters.len());
                for m in self.masters.values() {
                    self.reply_instance(&mut client.reply, m, &m.inst, now);
                }
            }
            "master" | "replicas" | "slaves" | "sentinels" => {
                let name = text(&args[2]);
                let Some(m) = self.masters.get(&name) else { return no_such_master(client) };
                match sub.as_str() {
                    "master" => self.reply_instance(&mut client.reply, m, &m.inst, now),
                    "sentinels" => self.reply_instances(&mut client.reply, m, m.sentinels.values(), now),
                    _ => self.reply_instances(&mut client.reply, m, m.replicas.values(), now),
                }
            }
            "myid" if argc == 2 => client.reply.bulk(self.myid.as_bytes()),
            "myid" => arity_error(client),
            "is-master-down-by-addr" => {
                let (Some(port), Some(req_epoch)) = (parse_i64(&args[3]), parse_i64(&args[4])) else {
                    return client.reply.error(crate::command::NOT_INTEGER);
                };
                let ip = text(&args[2]);
                let probe = super::instance::Addr::new(&ip, port, self.resolve_hostnames).ok();
                let master =
                    probe.and_then(|a| self.masters.iter().find(|(_, m)| m.inst.addr.same(&a)).map(|(k, _)| k.clone()));
                let mut isdown = false;
                let mut leader = None;
                let mut leader_epoch = 0;
                if let Some(name) = &master {
                    isdown = !self.tilt && self.masters[name].inst.has(flag::S_DOWN);
                    let runid = text(&args[5]);
                    if !runid.eq_ignore_ascii_case("*") {
                        let (l, e) = self.vote_leader(srv, name, req_epoch.max(0) as u64, &runid);
                        leader = l;
                        leader_epoch = e;
                    }
                }
                client.reply.array(3);
                client.reply.int(isdown as i64);
                client.reply.bulk(leader.as_deref().unwrap_or("*").as_bytes());
                client.reply.int(leader_epoch as i64);
            }
            "reset" => {
                let pattern = args[2].clone();
                let names: Vec<String> = self
                    .masters
                    .keys()
                    .filter(|n| crate::pattern::glob_match(&pattern, n.as_bytes(), false))
                    .cloned()
                    .collect();
                for n in &names {
                    self.reset_master(srv, n, false, true);
                }
                client.reply.int(names.len() as i64);
            }
            "get-master-addr-by-name" => {
                let name = text(&args[2]);
                match self.masters.get(&name) {
                    None => client.reply.null_array(),
                    Some(m) => {
                        let a = m.current_addr();
                        client.reply.array(2);
                        client.reply.bulk(a.announced(self.announce_hostnames).as_bytes());
                        client.reply.bulk(a.port.to_string().as_bytes());
                    }
                }
            }
            "failover" => {
                let name = text(&args[2]);
                let Some(m) = self.masters.get(&name) else { return no_such_master(client) };
                if m.inst.has(flag::FAILOVER_IN_PROGRESS) {
                    return client.reply.error("INPROG Failover already in progress");
                }
                if self.select_slave(&name, now).is_none() {
                    return client.reply.error("NOGOODSLAVE No suitable replica to promote");
                }
                srv.log_as('X', LogLevel::Warning, format!("Executing user requested FAILOVER of '{}'", name));
                self.start_failover(srv, &name);
                self.masters.get_mut(&name).expect("present").inst.flags |= flag::FORCE_FAILOVER;
                client.reply.ok();
            }
            "pending-scripts" => self.reply_pending_scripts(&mut client.reply, now),
            "monitor" => {
                let Some(quorum) = parse_i64(&args[5]) else { return client.reply.error("ERR Invalid quorum") };
                let Some(port) = parse_i64(&args[4]) else { return client.reply.error("ERR Invalid port") };
                if quorum <= 0 {
                    return client.reply.error("ERR Quorum must be 1 or greater.");
                }
                let name = text(&args[2]);
                let host = text(&args[3]);
                if !self.resolve_hostnames && !crate::net::is_ip_literal(&host) {
                    return client.reply.error("ERR Invalid IP address or hostname specified");
                }
                match self.create_master(&name, &host, port, quorum as u32, now) {
                    Err(e) => client.reply.error(&format!("ERR {}", e)),
                    Ok(()) => {
                        self.flush_and_reply(srv, client);
                        self.announce_monitor(srv, &name);
                    }
                }
            }
            "flushconfig" => self.flush_and_reply(srv, client),
            "remove" => {
                let name = text(&args[2]);
                if !self.masters.contains_key(&name) {
                    return no_such_master(client);
                }
                self.event(srv, LogLevel::Warning, "-monitor", Some((&name, &Which::Master)), "");
                self.remove_master(srv, &name);
                self.flush_and_reply(srv, client);
            }
            "ckquorum" => {
                let name = text(&args[2]);
                let Some(m) = self.masters.get(&name) else { return no_such_master(client) };
                let voters = m.sentinels.len() + 1;
                let usable = 1 + m.sentinels.values().filter(|s| !s.has(flag::S_DOWN | flag::O_DOWN)).count();
                let no_quorum = usable < m.quorum as usize;
                let no_auth = usable < voters / 2 + 1;
                if !no_quorum && !no_auth {
                    client.reply.simple(&format!(
                        "OK {} usable Sentinels. Quorum and failover authorization can be reached",
                        usable
                    ));
                } else {
                    let mut e = format!("NOQUORUM {} usable Sentinels. ", usable);
                    if no_quorum {
                        e.push_str("Not enough available Sentinels to reach the specified quorum for this master");
                    }
                    if no_auth {
                        if no_quorum {
                            e.push_str(". ");
                        }
                        e.push_str("Not enough available Sentinels to reach the majority and authorize a failover");
                    }
                    client.reply.error(&e);
                }
            }
            "set" => self.set_command(srv, client, args),
            "config" => {
                let op = text(&args[2]).to_ascii_lowercase();
                if op == "set" && argc == 5 {
                    self.config_set(srv, client, &text(&args[3]), &text(&args[4]));
                } else if op == "get" && argc == 4 {
                    self.config_get(client, &args[3]);
                } else {
                    client.reply.error("ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> are supported.");
                }
            }
            "info-cache" => {
                let names: Vec<String> = if argc > 2 {
                    args[2..].iter().map(|a| text(a)).filter(|n| self.masters.contains_key(n)).collect()
                } else {
                    self.masters.keys().cloned().collect()
                };
                let mut seen = Vec::new();
                let names: Vec<String> = names
                    .into_iter()
                    .filter(|n| {
                        !seen.contains(n) && {
                            seen.push(n.clone());
                            true
                        }
                    })
                    .collect();
                let r = &mut client.reply;
                r.array(names.len() * 2);
                for n in names {
                    let m = &self.masters[&n];
                    r.bulk(n.as_bytes());
                    r.array(m.replicas.len() + 1);
                    let entry = |r: &mut ReplyBuf, ri: &Instance| {
                        r.array(2);
                        r.int(if m.inst.info_refresh != 0 { now.saturating_sub(ri.info_refresh) as i64 } else { 0 });
                        match &ri.info {
                            Some(i) => r.bulk(i.as_bytes()),
                            None => r.null(),
                        }
                    };
                    entry(r, &m.inst);
                    for ri in m.replicas.values() {
                        entry(r, ri);
                    }
                }
            }
            "simulate-failure" => {
                self.simfailure_flags = 0;
                for a in &args[2..] {
                    if eq_ic(a, "crash-after-election") {
                        self.simfailure_flags |= super::SIMFAILURE_CRASH_AFTER_ELECTION;
                        srv.log_as('X', LogLevel::Warning, "Failure simulation: this Sentinel will crash after being successfully elected as failover leader");
                    } else if eq_ic(a, "crash-after-promotion") {
                        self.simfailure_flags |= super::SIMFAILURE_CRASH_AFTER_PROMOTION;
                        srv.log_as('X', LogLevel::Warning, "Failure simulation: this Sentinel will crash after promoting the selected replica to master");
                    } else if eq_ic(a, "help") {
                        client.reply.array(2);
                        client.reply.bulk(b"crash-after-election");
                        client.reply.bulk(b"crash-after-promotion");
                        return;
                    } else {
                        return client.reply.error("ERR Unknown failure simulation specified");
                    }
                }
                client.reply.ok();
            }
            "debug" if argc == 2 => self.debug_info(client),
            "debug" => self.debug_set(client, args),
            _ => client.reply.error(&format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try SENTINEL HELP.",
                text(&args[1])
            )),
        }
    }

    /// A reply that waits for the configuration to be on disk (`sentinelFlushConfigAndReply`).
    fn flush_and_reply(&self, srv: &mut NodeState, client: &mut Client) {
        srv.outputs.push_back(Output::RewriteConfig { conn: Some(client.conn) });
        client.awaiting_io = true;
    }

    /// SENTINEL REMOVE: forget a master and drop every link of its group.
    fn remove_master(&mut self, srv: &mut NodeState, name: &str) {
        let Some(mut m) = self.masters.remove(name) else { return };
        self.release_links(srv, &mut m.inst.link);
        for mut ri in m.replicas.into_values().chain(m.sentinels.into_values()) {
            self.release_links(srv, &mut ri.link);
        }
    }

    /// `sentinelSetCommand`.
    fn set_command(&mut self, srv: &mut NodeState, client: &mut Client, args: &[Bytes]) {
        let name = text(&args[2]);
        if !self.masters.contains_key(&name) {
            return client.reply.error("ERR No such master with that name");
        }
        let mut changes = 0;
        let mut j = 3;
        while j < args.len() {
            let moreargs = args.len() - 1 - j;
            let option = text(&args[j]).to_ascii_lowercase();
            let old_j = j;
            let mut redacted = false;
            let positive = |v: &[u8]| parse_i64(v).filter(|n| *n > 0);
            let badfmt = |client: &mut Client, arg: &[u8], option: &str| {
                client.reply.error(&format!("ERR Invalid argument '{}' for SENTINEL SET '{}'", text(arg), option));
            };
            match option.as_str() {
                "down-after-milliseconds" | "failover-timeout" | "parallel-syncs" | "quorum" if moreargs > 0 => {
                    j += 1;
                    let Some(v) = positive(&args[j]) else { return badfmt(client, &args[j], &text(&args[old_j])) };
                    let m = self.masters.get_mut(&name).expect("checked");
                    match option.as_str() {
                        "down-after-milliseconds" => {
                            m.inst.down_after_period = v as u64;
                            super::config::propagate_down_after_period(m);
                        }
                        "failover-timeout" => m.failover_timeout = v as u64,
                        "parallel-syncs" => m.parallel_syncs = v,
                        _ => m.quorum = v as u32,
                    }
                    changes += 1;
                }
                "notification-script" | "client-reconfig-script" if moreargs > 0 => {
                    j += 1;
                    if self.deny_scripts_reconfig {
                        client.reply.error("ERR Reconfiguration of scripts path is denied for security reasons. Check the deny-scripts-reconfig configuration directive in your Sentinel configuration");
                        break;
                    }
                    let v = text(&args[j]);
                    if !v.is_empty() && !(self.is_executable)(&v) {
                        client.reply.error(if option == "notification-script" {
                            "ERR Notification script seems non existing or non executable"
                        } else {
                            "ERR Client reconfiguration script seems non existing or non executable"
                        });
                        break;
                    }
                    let m = self.masters.get_mut(&name).expect("checked");
                    let slot = if option == "notification-script" {
                        &mut m.notification_script
                    } else {
                        &mut m.client_reconfig_script
                    };
                    *slot = (!v.is_empty()).then_some(v);
                    changes += 1;
                }
                "auth-pass" | "auth-user" if moreargs > 0 => {
                    j += 1;
                    let v = text(&args[j]);
                    let m = self.masters.get_mut(&name).expect("checked");
                    if option == "auth-pass" {
                        m.auth_pass = (!v.is_empty()).then_some(v);
                        redacted = true;
                    } else {
                        m.auth_user = (!v.is_empty()).then_some(v);
                    }
                    self.drop_instance_connections(srv, &name);
                    changes += 1;
                }
                "rename-command" if moreargs > 1 => {
                    let (old, new) = (text(&args[j + 1]), text(&args[j + 2]));
                    j += 2;
                    if old.is_empty() || new.is_empty() {
                        let bad = if new.is_empty() { j } else { j - 1 };
                        return badfmt(client, &args[bad], &text(&args[old_j]));
                    }
                    let m = self.masters.get_mut(&name).expect("checked");
                    m.renamed_commands.retain(|k, _| !k.eq_ignore_ascii_case(&old));
                    if !old.eq_ignore_ascii_case(&new) {
                        m.renamed_commands.insert(old, new);
                    }
                    changes += 1;
                }
                "master-reboot-down-after-period" if moreargs > 0 => {
                    j += 1;
                    let Some(v) = parse_i64(&args[j]).filter(|n| *n >= 0) else {
                        return badfmt(client, &args[j], &text(&args[old_j]));
                    };
                    self.masters.get_mut(&name).expect("checked").master_reboot_down_after_period = v as u64;
                    changes += 1;
                }
                _ => {
                    client.reply.error(&format!(
                        "ERR Unknown option or number of arguments for SENTINEL SET '{}'",
                        text(&args[j])
                    ));
                    break;
                }
            }
            let words: Vec<String> = args[old_j..=j].iter().map(|a| text(a)).collect();
            let rest = match words.len() {
                2 => format!("{} {}", words[0], if redacted { "******" } else { &words[1] }),
                3 => format!("{} {} {}", words[0], words[1], words[2]),
                _ => words[0].clone(),
            };
            self.event(srv, LogLevel::Warning, "+set", Some((&name, &Which::Master)), &rest);
            j += 1;
        }
        if changes > 0 {
            if j >= args.len() {
                self.flush_and_reply(srv, client);
            } else {
                // An error after some changes: 7.0 saves them and the error is the reply.
                self.flush_config(srv);
            }
        }
    }

    /// `dropInstanceConnections`: the master's and its replicas' links (new credentials).
    fn drop_instance_connections(&mut self, srv: &mut NodeState, name: &str) {
        let mut targets = vec![Which::Master];
        if let Some(m) = self.masters.get(name) {
            targets.extend(m.replicas.keys().map(|k| Which::Replica(k.clone())));
        }
        for w in targets {
            self.close_connection(srv, name, &w, false);
            self.close_connection(srv, name, &w, true);
        }
    }

    /// `sentinelConfigSetCommand`.
    fn config_set(&mut self, srv: &mut NodeState, client: &mut Client, option: &str, value: &str) {
        let yes_no = |v: &str| match v.to_ascii_lowercase().as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        };
        let badfmt = |client: &mut Client| {
            client.reply.error(&format!("ERR Invalid value '{}' to SENTINEL CONFIG SET '{}'", value, option))
        };
        let mut drop_conns = false;
        match option.to_ascii_lowercase().as_str() {
            "resolve-hostnames" => match yes_no(value) {
                Some(v) => self.resolve_hostnames = v,
                None => return badfmt(client),
            },
            "announce-hostnames" => match yes_no(value) {
                Some(v) => self.announce_hostnames = v,
                None => return badfmt(client),
            },
            "announce-ip" => self.announce_ip = Some(value.to_string()),
            "announce-port" => match parse_i64(value.as_bytes()).filter(|p| (0..=65535).contains(p)) {
                Some(p) => self.announce_port = p as u16,
                None => return badfmt(client),
            },
            "sentinel-user" => {
                self.sentinel_auth_user = (!value.is_empty()).then(|| value.to_string());
                drop_conns = true;
            }
            "sentinel-pass" => {
                self.sentinel_auth_pass = (!value.is_empty()).then(|| value.to_string());
                drop_conns = true;
            }
            _ => return client.reply.error(&format!("ERR Invalid argument '{}' to SENTINEL CONFIG SET", option)),
        }
        self.flush_and_reply(srv, client);
        if drop_conns {
            let pairs: Vec<(String, String)> = self
                .masters
                .iter()
                .flat_map(|(n, m)| m.sentinels.keys().map(move |k| (n.clone(), k.clone())))
                .collect();
            for (n, k) in pairs {
                let w = Which::Sentinel(k);
                self.close_connection(srv, &n, &w, true);
                self.close_connection(srv, &n, &w, false);
            }
        }
    }

    /// `sentinelConfigGetCommand`.
    fn config_get(&self, client: &mut Client, pattern: &[u8]) {
        let opts: [(&str, String); 6] = [
            ("resolve-hostnames", if self.resolve_hostnames { "yes" } else { "no" }.into()),
            ("announce-hostnames", if self.announce_hostnames { "yes" } else { "no" }.into()),
            ("announce-ip", self.announce_ip.clone().unwrap_or_default()),
            ("announce-port", self.announce_port.to_string()),
            ("sentinel-user", self.sentinel_auth_user.clone().unwrap_or_default()),
            ("sentinel-pass", self.sentinel_auth_pass.clone().unwrap_or_default()),
        ];
        let matches: Vec<&(&str, String)> =
            opts.iter().filter(|(k, _)| crate::pattern::glob_match(pattern, k.as_bytes(), true)).collect();
        client.reply.map(matches.len());
        for (k, v) in matches {
            client.reply.bulk(k.as_bytes());
            client.reply.bulk(v.as_bytes());
        }
    }

    fn debug_pairs(&mut self) -> [(&'static str, &mut u64); 13] {
        let t = &mut self.timing;
        [
            ("info-period", &mut t.info_period),
            ("ping-period", &mut t.ping_period),
            ("ask-period", &mut t.ask_period),
            ("publish-period", &mut t.publish_period),
            ("default-down-after", &mut t.default_down_after),
            ("default-failover-timeout", &mut t.default_failover_timeout),
            ("tilt-trigger", &mut t.tilt_trigger),
            ("tilt-period", &mut t.tilt_period),
            ("slave-reconf-timeout", &mut t.slave_reconf_timeout),
            ("min-link-reconnect-period", &mut t.min_link_reconnect_period),
            ("election-timeout", &mut t.election_timeout),
            ("script-max-runtime", &mut t.script_max_runtime),
            ("script-retry-delay", &mut t.script_retry_delay),
        ]
    }

    /// `addReplySentinelDebugInfo`.
    fn debug_info(&mut self, client: &mut Client) {
        let pairs = self.debug_pairs();
        client.reply.map(pairs.len());
        for (k, v) in pairs {
            client.reply.bulk(k.to_ascii_uppercase().as_bytes());
            client.reply.bulk(v.to_string().as_bytes());
        }
    }

    /// `sentinelSetDebugConfigParameters`.
    fn debug_set(&mut self, client: &mut Client, args: &[Bytes]) {
        let mut j = 2;
        while j < args.len() {
            let moreargs = args.len() - 1 - j;
            let option = text(&args[j]);
            let mut pairs = self.debug_pairs();
            let Some((_, slot)) =
                pairs.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(&option)).filter(|_| moreargs > 0)
            else {
                return client
                    .reply
                    .error(&format!("ERR Unknown option or number of arguments for SENTINEL DEBUG '{}'", option));
            };
            j += 1;
            match parse_i64(&args[j]).filter(|v| *v > 0) {
                Some(v) => **slot = v as u64,
                None => {
                    return client.reply.error(&format!(
                        "ERR Invalid argument '{}' for SENTINEL DEBUG '{}'",
                        text(&args[j]),
                        option
                    ))
                }
            }
            j += 1;
        }
        client.reply.ok();
    }
}
