//! Shutting down as Redis 7.0 does (`prepareForShutdown`, `finishShutdown` in server.c).
//!
//! `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]`, SIGTERM and SIGINT all start the same
//! sequence:
//!
//! 1. **Let replicas catch up.** Unless `NOW` (or `shutdown-timeout 0`), a master whose
//!    replicas have not acknowledged its whole stream pauses writes, asks them for an ACK,
//!    and waits — at most `shutdown-timeout` seconds — so that no acknowledged write is lost
//!    with it. `SHUTDOWN ABORT` cancels the wait.
//! 2. **Finish**: log which replicas lag, save the final RDB when save points are configured
//!    (or `SAVE`; not with `NOSAVE`), and exit. A failed save stops the shutdown, unless
//!    `FORCE`; the clients waiting in SHUTDOWN then get `ERR Errors trying to SHUTDOWN`.
//!
//! The signals use the flags of `shutdown-on-sigterm` / `shutdown-on-sigint`.

use crate::log::LogLevel;
use crate::node::{ConnId, NodeState, Output, PausePurpose, PersistPurpose};

/// What a shutdown was asked to do (Redis's `SHUTDOWN_*` flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShutdownFlags {
    pub save: bool,
    pub nosave: bool,
    /// Do not wait for replicas.
    pub now: bool,
    /// Exit even if the final save fails.
    pub force: bool,
}

impl ShutdownFlags {
    /// The flags of a `shutdown-on-sig*` value ("default", or words among save, nosave,
    /// now, force).
    pub fn from_config(value: &str) -> ShutdownFlags {
        let mut f = ShutdownFlags::default();
        for w in value.split_whitespace() {
            match w {
                "save" => f.save = true,
                "nosave" => f.nosave = true,
                "now" => f.now = true,
                "force" => f.force = true,
                _ => {}
            }
        }
        f
    }
}

/// A signal the driver passes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Term,
    Int,
    /// SIGABRT (and the other fatal signals a driver can catch): the crash report, then exit.
    Abort,
}

/// Where the node is in shutting down (Redis's `shutdown_asap`, `last_sig_received`,
/// `shutdown_mstime` and the clients blocked in SHUTDOWN).
#[derive(Debug, Default)]
pub struct ShutdownState {
    /// A shutdown under way, waiting for replicas (or for its final save).
    pub(crate) pending: Option<PendingShutdown>,
    /// A SIGTERM/SIGINT received and not yet acted on: the signal handler only records it,
    /// the cron starts the shutdown, and SHUTDOWN ABORT in between just forgets it.
    pub(crate) signalled: Option<Signal>,
    /// The clients of SHUTDOWN waiting for its outcome (an error if it is cancelled).
    pub(crate) waiters: Vec<ConnId>,
}

impl ShutdownState {
    /// A shutdown is under way or a signal asked for one.
    pub(crate) fn requested(&self) -> bool {
        self.pending.is_some() || self.signalled.is_some()
    }
}

/// A shutdown waiting for replicas.
#[derive(Debug, Clone)]
pub struct PendingShutdown {
    pub flags: ShutdownFlags,
    /// When waiting ends anyway (`shutdown-timeout`).
    pub deadline_ms: u64,
}

impl NodeState {
    /// The driver received SIGTERM or SIGINT (Redis's `sigShutdownHandler`, then the cron).
    pub fn signal(&mut self, signal: Signal) {
        let name = match signal {
            Signal::Term => "SIGTERM",
            Signal::Int => "SIGINT",
            Signal::Abort => {
                // `sigsegvHandler`'s report opens with this line; the process then dies.
                self.log(LogLevel::Warning, "Redis 7.0.15 crashed by signal: 6, si_code: 0");
                self.halted = true;
                self.outputs.push_back(Output::Crash);
                return;
            }
        };
        if self.shutdown.requested() && signal == Signal::Int {
            self.log(LogLevel::Warning, "You insist... exiting now.");
            self.halted = true;
            self.outputs.push_back(Output::Exit { code: 1 });
            return;
        }
        self.log(LogLevel::Warning, format!("Received {} scheduling shutdown...", name));
        self.shutdown.signalled = Some(signal);
    }

    /// The shutdown a signal asked for, started from the cron (Redis's `serverCron`).
    fn start_signalled_shutdown(&mut self, signal: Signal) {
        let option = if signal == Signal::Int { "shutdown-on-sigint" } else { "shutdown-on-sigterm" };
        let flags = ShutdownFlags::from_config(&self.config.get_str(option));
        self.prepare_for_shutdown(flags, None);
    }

    /// Start shutting down; `conn` is the client of SHUTDOWN, which waits for the outcome.
    /// Returns false if a shutdown is already under way.
    pub fn prepare_for_shutdown(&mut self, flags: ShutdownFlags, conn: Option<ConnId>) -> bool {
        if let Some(c) = conn {
            self.shutdown.waiters.push(c);
        }
        if self.shutdown.pending.is_some() {
            return false;
        }
        self.log(LogLevel::Warning, "User requested shutdown...");
        let timeout_s = self.config.int("shutdown-timeout");
        if !flags.now && timeout_s != 0 && !self.replicas_in_sync() {
            self.shutdown.pending =
                Some(PendingShutdown { flags, deadline_ms: self.now + timeout_s.max(0) as u64 * 1000 });
            if self.pause_in_force().is_none() {
                self.repl.get_ack_pending = true;
            }
            self.pause_clients(PausePurpose::Shutdown, u64::MAX, true);
            self.log(LogLevel::Notice, "Waiting for replicas before shutting down.");
            return true;
        }
        self.shutdown.pending = Some(PendingShutdown { flags, deadline_ms: self.now });
        self.finish_shutdown();
        true
    }

    /// Every replica acknowledged the whole stream (Redis's `isReadyToShutdown`).
    fn replicas_in_sync(&self) -> bool {
        self.repl.replicas.iter().all(|r| r.ack_offset == self.repl.offset)
    }

    /// The cron's part: finish once the replicas caught up or the time is up.
    pub(crate) fn shutdown_cron(&mut self) {
        if self.shutdown.pending.is_none() {
            if let Some(signal) = self.shutdown.signalled.take() {
                self.start_signalled_shutdown(signal);
            }
            return;
        }
        let Some(p) = &self.shutdown.pending else { return };
        if self.halted {
            return;
        }
        if self.now >= p.deadline_ms || self.replicas_in_sync() {
            self.finish_shutdown();
        }
    }

    /// `SHUTDOWN ABORT`: stop waiting; true if there was a shutdown to abort.
    pub fn abort_shutdown(&mut self) -> bool {
        if self.shutdown.pending.is_some() {
            self.cancel_shutdown();
        } else if self.shutdown.signalled.take().is_none() {
            return false;
        }
        self.log(LogLevel::Notice, "Shutdown manually aborted.");
        true
    }

    fn cancel_shutdown(&mut self) {
        self.shutdown.pending = None;
        for conn in std::mem::take(&mut self.shutdown.waiters) {
            if let Some(c) = self.clients.get_mut(&conn) {
                c.reply.error("ERR Errors trying to SHUTDOWN. Check logs.");
                self.io_done(conn);
            }
        }
        self.unpause_clients(PausePurpose::Shutdown);
    }

    /// Redis's `finishShutdown`: report lagging replicas, stop a background save, save the
    /// final RDB if due, exit.
    fn finish_shutdown(&mut self) {
        let Some(p) = self.shutdown.pending.clone() else { return };
        let offset = self.repl.offset;
        let now = self.now;
        let lagging: Vec<String> = self
            .repl
            .replicas
            .iter()
            .filter(|r| r.ack_offset != offset)
            .map(|r| {
                let online = r.state == crate::replication::ReplicaState::Online;
                format!(
                    "Lagging replica {} reported offset {} behind master, lag={}, state={}.",
                    r.name(),
                    offset - r.ack_offset.min(offset),
                    if online { now.saturating_sub(r.ack_ms) / 1000 } else { 0 },
                    r.state.name()
                )
            })
            .collect();
        let total = self.repl.replicas.len();
        for line in &lagging {
            self.log(LogLevel::Warning, line.clone());
        }
        if total > 0 {
            self.log(
                LogLevel::Notice,
                format!("{} of {} replicas are in sync when shutting down.", total - lagging.len(), total),
            );
        }
        if self.persist.bgsave_job.is_some() {
            self.log(LogLevel::Warning, "There is a child saving an .rdb. Killing it!");
            self.abandon_bgsave();
        }
        // A sentinel keeps no data: 7.0 forces NOSAVE in sentinel mode.
        let save = !self.config.sentinel_mode()
            && ((!self.config.save_points().is_empty() && !p.flags.nosave) || p.flags.save);
        if save {
            self.log(LogLevel::Notice, "Saving the final RDB snapshot before exiting.");
            self.start_persist(false, PersistPurpose::Shutdown);
        } else {
            self.exit_now();
        }
    }

    /// The final save ended.
    pub(crate) fn shutdown_save_done(&mut self, ok: bool) {
        let force = self.shutdown.pending.as_ref().is_some_and(|p| p.flags.force);
        if ok {
            self.exit_now();
        } else if force {
            self.log(LogLevel::Warning, "Error trying to save the DB. Exit anyway.");
            self.exit_now();
        } else {
            self.log(LogLevel::Warning, "Error trying to save the DB, can't exit.");
            self.log(LogLevel::Warning, "Errors trying to shut down the server. Check the logs for more information.");
            self.cancel_shutdown();
        }
    }

    fn exit_now(&mut self) {
        if !self.config.get_str("pidfile").is_empty() || self.config.get_bool("daemonize") {
            self.log(LogLevel::Notice, "Removing the pid file.");
        }
        let who = if self.config.sentinel_mode() { "Sentinel" } else { "Redis" };
        self.log(LogLevel::Warning, format!("{} is now ready to exit, bye bye...", who));
        self.halted = true;
        self.outputs.push_back(Output::Exit { code: 0 });
    }
}
