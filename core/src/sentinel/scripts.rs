//! The notification and client-reconfiguration scripts (`sentinelScheduleScriptExecution`,
//! `sentinelRunPendingScripts`, `sentinelCollectTerminatedScripts`,
//! `sentinelKillTimedoutScripts`).
//!
//! The sentinel decides what runs and when; the driver runs it. Every WARNING event about a
//! master with a `notification-script` queues `<script> <event type> <event text>`; a failover
//! queues `<client-reconfig-script> <master> leader|observer start <from-ip> <from-port> <to-ip>
//! <to-port>`. At most 16 run at once ([`Output::RunScript`]); one that runs longer than 60 s is
//! killed ([`Output::KillScript`]); the driver reports each end ([`Input::ScriptExited`]). A
//! script that exits with 1 or dies of a signal is retried, up to 10 runs, 30 s later, then 60 s,
//! doubling; any other failure is logged as `-script-error`. The queue keeps 256 jobs: beyond,
//! the oldest not running is dropped.
//!
//! [`Output::RunScript`]: crate::node::Output::RunScript
//! [`Output::KillScript`]: crate::node::Output::KillScript
//! [`Input::ScriptExited`]: crate::node::Input::ScriptExited

use super::Sentinel;
use crate::log::LogLevel;
use crate::node::{NodeState, Output};
use std::collections::VecDeque;

const MAX_QUEUE: usize = 256;
const MAX_RUNNING: usize = 16;
const MAX_RETRY: u32 = 10;

/// One queued run of a script.
#[derive(Debug, Clone)]
pub struct ScriptJob {
    pub id: u64,
    /// The path, then the arguments.
    pub argv: Vec<String>,
    pub running: bool,
    /// When it started (running), or not before when to retry it (0: at once).
    pub start_time: u64,
    pub retry_num: u32,
}

/// The queue. Invariant: `running` counts the jobs with `running` set.
#[derive(Debug, Default)]
pub struct Scripts {
    pub(crate) queue: VecDeque<ScriptJob>,
    pub(crate) running: usize,
    next_id: u64,
}

impl Scripts {
    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }
    pub fn running(&self) -> usize {
        self.running
    }
}

impl Sentinel {
    /// `sentinelScheduleScriptExecution`.
    pub(crate) fn schedule_script(&mut self, argv: Vec<String>) {
        self.scripts.next_id += 1;
        let id = self.scripts.next_id;
        self.scripts.queue.push_back(ScriptJob { id, argv, running: false, start_time: 0, retry_num: 0 });
        if self.scripts.queue.len() > MAX_QUEUE {
            if let Some(i) = self.scripts.queue.iter().position(|j| !j.running) {
                self.scripts.queue.remove(i);
            }
        }
    }

    /// `sentinelRunPendingScripts` and `sentinelKillTimedoutScripts`, from the timer.
    pub(crate) fn run_scripts(&mut self, srv: &mut NodeState) {
        let now = srv.now;
        let max_runtime = self.timing.script_max_runtime;
        let timed_out: Vec<(String, u64)> = self
            .scripts
            .queue
            .iter()
            .filter(|j| j.running && now.saturating_sub(j.start_time) > max_runtime)
            .map(|j| (j.argv[0].clone(), j.id))
            .collect();
        for (path, id) in timed_out {
            self.event_plain(srv, LogLevel::Warning, "-script-timeout", &format!("{} {}", path, id));
            srv.outputs.push_back(Output::KillScript { id });
        }
        for i in 0..self.scripts.queue.len() {
            if self.scripts.running >= MAX_RUNNING {
                break;
            }
            let job = &mut self.scripts.queue[i];
            if job.running || (job.start_time != 0 && job.start_time > now) {
                continue;
            }
            job.running = true;
            job.start_time = now;
            job.retry_num += 1;
            srv.outputs.push_back(Output::RunScript { id: job.id, argv: job.argv.clone() });
            self.scripts.running += 1;
        }
    }

    /// `sentinelCollectTerminatedScripts` for one job the driver saw end.
    pub(crate) fn script_exited(&mut self, srv: &mut NodeState, id: u64, exit_code: i32, signal: i32) {
        let Some(i) = self.scripts.queue.iter().position(|j| j.id == id && j.running) else { return };
        self.event_plain(srv, LogLevel::Debug, "-script-child", &format!("{} {} {}", id, exit_code, signal));
        self.scripts.running -= 1;
        let job = &mut self.scripts.queue[i];
        if (signal != 0 || exit_code == 1) && job.retry_num != MAX_RETRY {
            let mut delay = self.timing.script_retry_delay;
            for _ in 1..job.retry_num {
                delay *= 2;
            }
            job.running = false;
            job.start_time = srv.now + delay;
        } else {
            let job = self.scripts.queue.remove(i).expect("present");
            if signal != 0 || exit_code != 0 {
                self.event_plain(
                    srv,
                    LogLevel::Warning,
                    "-script-error",
                    &format!("{} {} {}", job.argv[0], signal, exit_code),
                );
            }
        }
    }

    /// SENTINEL PENDING-SCRIPTS: each job's argv, flags, pid (the driver's; 0 here), run time or
    /// delay, and retries.
    pub(crate) fn reply_pending_scripts(&self, r: &mut crate::resp::ReplyBuf, now: u64) {
        r.array(self.scripts.queue.len());
        for job in &self.scripts.queue {
            r.map(5);
            r.bulk(b"argv");
            r.array(job.argv.len());
            for a in &job.argv {
                r.bulk(a.as_bytes());
            }
            r.bulk(b"flags");
            r.bulk(if job.running { b"running".as_slice() } else { b"scheduled".as_slice() });
            r.bulk(b"pid");
            r.bulk(b"0");
            if job.running {
                r.bulk(b"run-time");
                r.bulk(now.saturating_sub(job.start_time).to_string().as_bytes());
            } else {
                r.bulk(b"run-delay");
                r.bulk(job.start_time.saturating_sub(now).to_string().as_bytes());
            }
            r.bulk(b"retry-num");
            r.bulk(job.retry_num.to_string().as_bytes());
        }
    }

    /// `sentinelCallClientReconfScript`: tell the clients' script the master moved.
    pub(crate) fn call_client_reconf_script(
        &mut self,
        master: &str,
        leader: bool,
        from: &super::instance::Addr,
        to: &super::instance::Addr,
    ) {
        let Some(script) = self.masters.get(master).and_then(|m| m.client_reconfig_script.clone()) else { return };
        let ah = self.announce_hostnames;
        let argv = vec![
            script,
            master.to_string(),
            if leader { "leader" } else { "observer" }.to_string(),
            "start".to_string(),
            from.announced(ah).to_string(),
            from.port.to_string(),
            to.announced(ah).to_string(),
            to.port.to_string(),
        ];
        self.schedule_script(argv);
    }
}
