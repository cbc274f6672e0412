//! `sentinel …` lines of the configuration file: how 7.0 reads them
//! (`sentinelHandleConfiguration`, in the order `loadSentinelConfigFromQueue` imposes) and how
//! it writes its state back into the file (`rewriteConfigSentinelOption`).
//!
//! The state a sentinel must keep across restarts — its id, the epochs, the replicas and
//! sentinels it discovered, where the master is after a failover — lives in the same file as
//! what the user wrote. 7.0 rewrites the file after every change it persists (a new epoch, a
//! vote, a replica found, a switch of master); here the node asks its driver for that with
//! [`crate::node::Output::RewriteConfig`] and the driver writes [`rewrite`]'s text atomically.

use super::instance::{Addr, Kind, Master, DEFAULT_PARALLEL_SYNCS};
use super::Sentinel;
use crate::config::{Config, ConfigError};
use crate::resp::atoi;

/// One `sentinel` line as the config file held it, for a load error's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentinelLine {
    pub line_number: usize,
    pub line: String,
    /// The words after `sentinel`.
    pub args: Vec<String>,
}

/// Options applied before the `monitor` lines (`preMonitorCfgName`), so that their order in the
/// file does not matter.
const PRE_MONITOR: &[&str] = &[
    "announce-ip",
    "announce-port",
    "deny-scripts-reconfig",
    "sentinel-user",
    "sentinel-pass",
    "current-epoch",
    "myid",
    "resolve-hostnames",
    "announce-hostnames",
];

/// The default `down-after-milliseconds` (`sentinel_default_down_after`).
pub const DEFAULT_DOWN_AFTER: u64 = 30_000;

fn yes_no(v: &str) -> Option<bool> {
    if v.eq_ignore_ascii_case("yes") {
        Some(true)
    } else if v.eq_ignore_ascii_case("no") {
        Some(false)
    } else {
        None
    }
}

/// C's `strtoull(…, 10)`.
pub(crate) fn strtoull(s: &str) -> u64 {
    s.trim_start()
        .bytes()
        .take_while(|b| b.is_ascii_digit())
        .fold(0u64, |acc, b| acc.saturating_mul(10).saturating_add((b - b'0') as u64))
}

impl Sentinel {
    /// A sentinel configured by the `sentinel` lines of `config` (in 7.0's order: the options
    /// of [`PRE_MONITOR`], then `monitor`, then the rest). A bad line is the fatal error 7.0
    /// prints (`*** FATAL CONFIG FILE ERROR ***`, its line and the reason).
    /// Script paths are checked with `is_executable` (see [`super::ExecutableProbe`]).
    pub fn load(config: &Config, now: u64, is_executable: super::ExecutableProbe) -> Result<Sentinel, ConfigError> {
        let mut s = Sentinel::new(now);
        s.is_executable = is_executable;
        let lines = config.sentinel_lines();
        let is_pre = |l: &SentinelLine| PRE_MONITOR.iter().any(|p| l.args[0].eq_ignore_ascii_case(p));
        let is_monitor = |l: &SentinelLine| l.args[0].eq_ignore_ascii_case("monitor");
        let ordered = lines
            .iter()
            .filter(|l| is_pre(l))
            .chain(lines.iter().filter(|l| is_monitor(l)))
            .chain(lines.iter().filter(|l| !is_pre(l) && !is_monitor(l)));
        for l in ordered {
            if let Err(reason) = s.handle_directive(&l.args, now) {
                return Err(ConfigError {
                    line_number: l.line_number,
                    line: l.line.clone(),
                    reason: reason.to_string(),
                });
            }
        }
        Ok(s)
    }

    /// `sentinelHandleConfiguration`: apply one line (the words after `sentinel`).
    fn handle_directive(&mut self, argv: &[String], now: u64) -> Result<(), &'static str> {
        let argc = argv.len();
        let name = argv[0].to_ascii_lowercase();
        let master = |s: &mut Sentinel, n: &str| -> Result<(), &'static str> {
            if s.masters.contains_key(n) {
                Ok(())
            } else {
                Err("No such master with specified name.")
            }
        };
        match (name.as_str(), argc) {
            ("monitor", 5) => {
                let quorum = atoi(&argv[4]);
                if quorum <= 0 {
                    return Err("Quorum must be 1 or greater.");
                }
                self.create_master(&argv[1], &argv[2], atoi(&argv[3]), quorum as u32, now)?;
            }
            ("down-after-milliseconds", 3) => {
                master(self, &argv[1])?;
                let ms = atoi(&argv[2]);
                let m = self.masters.get_mut(&argv[1]).expect("checked");
                m.inst.down_after_period = ms.max(0) as u64;
                if ms <= 0 {
                    return Err("negative or zero time parameter.");
                }
                propagate_down_after_period(m);
            }
            ("failover-timeout", 3) => {
                master(self, &argv[1])?;
                let ms = atoi(&argv[2]);
                self.masters.get_mut(&argv[1]).expect("checked").failover_timeout = ms.max(0) as u64;
                if ms <= 0 {
                    return Err("negative or zero time parameter.");
                }
            }
            ("parallel-syncs", 3) => {
                master(self, &argv[1])?;
                self.masters.get_mut(&argv[1]).expect("checked").parallel_syncs = atoi(&argv[2]);
            }
            ("notification-script", 3) | ("client-reconfig-script", 3) => {
                master(self, &argv[1])?;
                if !(self.is_executable)(&argv[2]) {
                    return Err(if name == "notification-script" {
                        "Notification script seems non existing or non executable."
                    } else {
                        "Client reconfiguration script seems non existing or non executable."
                    });
                }
                let m = self.masters.get_mut(&argv[1]).expect("checked");
                if name == "notification-script" {
                    m.notification_script = Some(argv[2].clone());
                } else {
                    m.client_reconfig_script = Some(argv[2].clone());
                }
            }
            ("auth-pass", 3) => {
                master(self, &argv[1])?;
                self.masters.get_mut(&argv[1]).expect("checked").auth_pass = Some(argv[2].clone());
            }
            ("auth-user", 3) => {
                master(self, &argv[1])?;
                self.masters.get_mut(&argv[1]).expect("checked").auth_user = Some(argv[2].clone());
            }
            ("current-epoch", 2) => {
                let e = strtoull(&argv[1]);
                if e > self.current_epoch {
                    self.current_epoch = e;
                }
            }
            ("myid", 2) => {
                if argv[1].len() != 40 {
                    return Err("Malformed Sentinel id in myid option.");
                }
                self.myid = argv[1].clone();
            }
            ("config-epoch", 3) => {
                master(self, &argv[1])?;
                let e = strtoull(&argv[2]);
                self.masters.get_mut(&argv[1]).expect("checked").config_epoch = e;
                if e > self.current_epoch {
                    self.current_epoch = e;
                }
            }
            ("leader-epoch", 3) => {
                master(self, &argv[1])?;
                self.masters.get_mut(&argv[1]).expect("checked").leader_epoch = strtoull(&argv[2]);
            }
            ("known-slave", 4) | ("known-replica", 4) => {
                master(self, &argv[1])?;
                self.create_replica(&argv[1], &argv[2], atoi(&argv[3]), now)?;
            }
            ("known-sentinel", 4) => {} // The old form without a run id is ignored.
            ("known-sentinel", 5) => {
                master(self, &argv[1])?;
                self.create_sentinel(&argv[1], &argv[4], &argv[2], atoi(&argv[3]), now)?;
            }
            ("rename-command", 4) => {
                master(self, &argv[1])?;
                let m = self.masters.get_mut(&argv[1]).expect("checked");
                if m.renamed_commands.keys().any(|k| k.eq_ignore_ascii_case(&argv[2])) {
                    return Err("Same command renamed multiple times with rename-command.");
                }
                m.renamed_commands.insert(argv[2].clone(), argv[3].clone());
            }
            ("announce-ip", 2) => {
                if !argv[1].is_empty() {
                    self.announce_ip = Some(argv[1].clone());
                }
            }
            ("announce-port", 2) => self.announce_port = atoi(&argv[1]).clamp(0, 65535) as u16,
            ("deny-scripts-reconfig", 2) => {
                self.deny_scripts_reconfig =
                    yes_no(&argv[1]).ok_or("Please specify yes or no for the deny-scripts-reconfig options.")?;
            }
            ("sentinel-user", 2) => {
                if !argv[1].is_empty() {
                    self.sentinel_auth_user = Some(argv[1].clone());
                }
            }
            ("sentinel-pass", 2) => {
                if !argv[1].is_empty() {
                    self.sentinel_auth_pass = Some(argv[1].clone());
                }
            }
            ("resolve-hostnames", 2) => {
                self.resolve_hostnames =
                    yes_no(&argv[1]).ok_or("Please specify yes or no for the resolve-hostnames option.")?;
            }
            ("announce-hostnames", 2) => {
                self.announce_hostnames =
                    yes_no(&argv[1]).ok_or("Please specify yes or no for the announce-hostnames option.")?;
            }
            ("master-reboot-down-after-period", 3) => {
                master(self, &argv[1])?;
                let ms = atoi(&argv[2]);
                self.masters.get_mut(&argv[1]).expect("checked").master_reboot_down_after_period = ms.max(0) as u64;
                if ms < 0 {
                    return Err("negative time parameter.");
                }
            }
            _ => return Err("Unrecognized sentinel configuration statement."),
        }
        Ok(())
    }

    /// `createSentinelRedisInstance` for a master.
    pub(crate) fn create_master(
        &mut self,
        name: &str,
        host: &str,
        port: i64,
        quorum: u32,
        now: u64,
    ) -> Result<(), &'static str> {
        let addr = Addr::new(host, port, self.resolve_hostnames).map_err(|e| e.text())?;
        if self.masters.contains_key(name) {
            return Err("Duplicate master name.");
        }
        // The defaults `SENTINEL DEBUG` may have changed (7.0's `sentinel_default_*`).
        let (down_after, failover_timeout) = (self.timing.default_down_after, self.timing.default_failover_timeout);
        self.masters.insert(name.to_string(), Master::new(name, addr, quorum, down_after, failover_timeout, now));
        Ok(())
    }

    /// `createSentinelRedisInstance` for a replica of `master`: named `ip:port`.
    pub(crate) fn create_replica(
        &mut self,
        master: &str,
        host: &str,
        port: i64,
        now: u64,
    ) -> Result<String, &'static str> {
        let addr = Addr::new(host, port, self.resolve_hostnames).map_err(|e| e.text())?;
        let key = addr.key(self.announce_hostnames);
        let m = self.masters.get_mut(master).ok_or("No such master with specified name.")?;
        if m.replicas.contains_key(&key) {
            return Err("Duplicate hostname and port for replica.");
        }
        let down_after = m.inst.down_after_period;
        m.replicas
            .insert(key.clone(), super::instance::Instance::new(Kind::Replica, key.clone(), addr, down_after, now));
        Ok(key)
    }

    /// `createSentinelRedisInstance` for another sentinel of `master`, known by its run id.
    pub(crate) fn create_sentinel(
        &mut self,
        master: &str,
        runid: &str,
        host: &str,
        port: i64,
        now: u64,
    ) -> Result<(), &'static str> {
        let addr = Addr::new(host, port, self.resolve_hostnames).map_err(|e| e.text())?;
        let m = self.masters.get_mut(master).ok_or("No such master with specified name.")?;
        if m.sentinels.contains_key(runid) {
            return Err("Duplicate runid for sentinel.");
        }
        let down_after = m.inst.down_after_period;
        let mut si = super::instance::Instance::new(Kind::Sentinel, runid.to_string(), addr, down_after, now);
        si.runid = Some(runid.to_string());
        m.sentinels.insert(runid.to_string(), si);
        Ok(())
    }

    /// `rewriteConfigSentinelOption`: the `sentinel` lines that describe this sentinel now, each
    /// with the option it belongs to (the first two words, as 7.0's rewrite engine keys them).
    pub fn state_lines(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut line = |key: &str, text: String| out.push((format!("sentinel {}", key), text));
        line("myid", format!("sentinel myid {}", self.myid));
        if !self.deny_scripts_reconfig {
            line("deny-scripts-reconfig", "sentinel deny-scripts-reconfig no".into());
        }
        if self.resolve_hostnames {
            line("resolve-hostnames", "sentinel resolve-hostnames yes".into());
        }
        if self.announce_hostnames {
            line("announce-hostnames", "sentinel announce-hostnames yes".into());
        }
        let ah = self.announce_hostnames;
        for m in self.masters.values() {
            let name = m.name();
            let cur = m.current_addr();
            line("monitor", format!("sentinel monitor {} {} {} {}", name, cur.announced(ah), cur.port, m.quorum));
            if m.inst.down_after_period != self.timing.default_down_after {
                line(
                    "down-after-milliseconds",
                    format!("sentinel down-after-milliseconds {} {}", name, m.inst.down_after_period),
                );
            }
            if m.failover_timeout != self.timing.default_failover_timeout {
                line("failover-timeout", format!("sentinel failover-timeout {} {}", name, m.failover_timeout));
            }
            if m.parallel_syncs != DEFAULT_PARALLEL_SYNCS {
                line("parallel-syncs", format!("sentinel parallel-syncs {} {}", name, m.parallel_syncs));
            }
            if let Some(s) = &m.notification_script {
                line("notification-script", format!("sentinel notification-script {} {}", name, s));
            }
            if let Some(s) = &m.client_reconfig_script {
                line("client-reconfig-script", format!("sentinel client-reconfig-script {} {}", name, s));
            }
            if let Some(p) = &m.auth_pass {
                line("auth-pass", format!("sentinel auth-pass {} {}", name, p));
            }
            if let Some(u) = &m.auth_user {
                line("auth-user", format!("sentinel auth-user {} {}", name, u));
            }
            if m.master_reboot_down_after_period != 0 {
                line(
                    "master-reboot-down-after-period",
                    format!("sentinel master-reboot-down-after-period {} {}", name, m.master_reboot_down_after_period),
                );
            }
            line("config-epoch", format!("sentinel config-epoch {} {}", name, m.config_epoch));
            line("leader-epoch", format!("sentinel leader-epoch {} {}", name, m.leader_epoch));
            for r in m.replicas.values() {
                // The promoted replica is the master now: the old master's address stands in.
                let a = if r.addr.same(cur) { &m.inst.addr } else { &r.addr };
                line("known-replica", format!("sentinel known-replica {} {} {}", name, a.announced(ah), a.port));
            }
            for s in m.sentinels.values() {
                let Some(runid) = &s.runid else { continue };
                line(
                    "known-sentinel",
                    format!("sentinel known-sentinel {} {} {} {}", name, s.addr.announced(ah), s.addr.port, runid),
                );
            }
            for (old, new) in &m.renamed_commands {
                line("rename-command", format!("sentinel rename-command {} {} {}", name, old, new));
            }
        }
        line("current-epoch", format!("sentinel current-epoch {}", self.current_epoch));
        if let Some(ip) = &self.announce_ip {
            line("announce-ip", format!("sentinel announce-ip {}", crate::resp::repr(ip.as_bytes())));
        }
        if self.announce_port != 0 {
            line("announce-port", format!("sentinel announce-port {}", self.announce_port));
        }
        if let Some(u) = &self.sentinel_auth_user {
            line("sentinel-user", format!("sentinel sentinel-user {}", u));
        }
        if let Some(p) = &self.sentinel_auth_pass {
            line("sentinel-pass", format!("sentinel sentinel-pass {}", p));
        }
        out
    }
}

/// `sentinelPropagateDownAfterPeriod`: a master's replicas and sentinels share its period.
pub(crate) fn propagate_down_after_period(m: &mut Master) {
    let d = m.inst.down_after_period;
    for r in m.replicas.values_mut() {
        r.down_after_period = d;
    }
    for s in m.sentinels.values_mut() {
        s.down_after_period = d;
    }
}

/// 7.0's rewrite engine for the `sentinel` options: `text` is the file with the other
/// directives already rewritten. Each `sentinel <option>` line of the file is replaced in place
/// by the next new line of that option; old lines left over are dropped; new lines with no old
/// place go at the end, under `# Generated by CONFIG REWRITE`.
pub fn rewrite(text: &str, lines: &[(String, String)]) -> String {
    use std::collections::{HashMap, VecDeque};
    let mut new: HashMap<&str, VecDeque<&str>> = HashMap::new();
    for (key, line) in lines {
        new.entry(key.as_str()).or_default().push_back(line.as_str());
    }
    let mut placed: Vec<&str> = Vec::new();
    let mut out: Vec<String> = Vec::new();
    let mut has_tail = false;
    for raw in text.lines() {
        let trimmed = raw.trim();
        if trimmed == "# Generated by CONFIG REWRITE" {
            has_tail = true;
        }
        let words = if trimmed.starts_with('#') { None } else { crate::resp::split_args(trimmed.as_bytes()) };
        let key = match words.as_deref() {
            Some([first, second, ..]) if first.eq_ignore_ascii_case(b"sentinel") => {
                Some(format!("sentinel {}", String::from_utf8_lossy(second).to_ascii_lowercase()))
            }
            _ => None,
        };
        let Some(key) = key else {
            out.push(raw.to_string());
            continue;
        };
        // An orphaned line of a rewritten option (no new line takes its place) is dropped.
        if let Some(line) = new.get_mut(key.as_str()).and_then(|q| q.pop_front()) {
            placed.push(line);
            out.push(line.to_string());
        }
    }
    let rest: Vec<&str> = lines
        .iter()
        .map(|(_, l)| l.as_str())
        .filter(|l| {
            if let Some(i) = placed.iter().position(|p| p == l) {
                placed.remove(i);
                false
            } else {
                true
            }
        })
        .collect();
    // Drop trailing blank lines before appending, as the file ends with one newline.
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    if !rest.is_empty() {
        if !has_tail {
            out.push("# Generated by CONFIG REWRITE".to_string());
        }
        out.extend(rest.iter().map(|l| l.to_string()));
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrite_replaces_in_place_and_appends_the_rest() {
        let text =
            "port 26379\nsentinel monitor mymaster 127.0.0.1 6379 2\nsentinel down-after-milliseconds mymaster 5000\n";
        let lines = vec![
            ("sentinel myid".to_string(), "sentinel myid abc".to_string()),
            ("sentinel monitor".to_string(), "sentinel monitor mymaster 127.0.0.1 6380 2".to_string()),
            ("sentinel config-epoch".to_string(), "sentinel config-epoch mymaster 1".to_string()),
        ];
        assert_eq!(
            rewrite(text, &lines),
            "port 26379\nsentinel monitor mymaster 127.0.0.1 6380 2\n# Generated by CONFIG REWRITE\nsentinel myid abc\nsentinel config-epoch mymaster 1\n"
        );
    }

    #[test]
    fn atoi_and_strtoull_read_like_c() {
        assert_eq!(atoi("12abc"), 12);
        assert_eq!(atoi("-3"), -3);
        assert_eq!(atoi("x"), 0);
        assert_eq!(strtoull("42 "), 42);
    }
}
