//! Start-up: the lines Redis logs from `main()` to "Ready to accept connections", and the load
//! of what the disk holds — one path for every driver.
//!
//! Redis 7.0's `main()` logs who it is (`Redis is starting`, the version line, whether a config
//! file was given), then `initServer` opens the listeners (`listenToPort`: a failure is fatal),
//! `redisAsciiArt` prints the logo or the `Running mode` line, "Server initialized", and
//! `loadDataFromDisk` loads dump.rdb (an unreadable or corrupt file is fatal: "Fatal error
//! loading the DB"). When the event loop starts it logs "Ready to accept connections".
//!
//! The driver does the IO and reports it as two inputs, in this order, before any other:
//!
//! ```text
//!   open the listeners, read dump.rdb  ── Input::Start(StartUp) ──▶  the lines above, the load
//!                                      ◀─ Output::Log …, maybe Output::Exit { code: 1 }
//!   accept connections                 ── Input::Ready ───────────▶  "DB loaded from disk: …",
//!                                                                     "Ready to accept connections"
//! ```
//!
//! The time between the two inputs is what the load took (the node has no clock of its own):
//! the simulator gives both at one virtual instant, the native driver reads the wall clock.

use super::*;

/// What the driver found when it started the process, handed to the node in [`Input::Start`].
#[derive(Debug)]
pub struct StartUp<'a> {
    /// How opening the listeners `bind` and `port` ask for went: the number of TCP listeners
    /// opened (0 is fatal unless `unixsocket` is set), or the failure.
    pub listen: Result<usize, ListenFailure>,
    /// What the disk holds at `dir`/`dbfilename`.
    pub rdb: StoredRdb<'a>,
}

/// Why the listeners could not be opened (Redis's `listenToPort` / `anetUnixServer`).
#[derive(Debug, Clone, PartialEq)]
pub enum ListenFailure {
    /// A TCP address failed: `addr` as `bind` names it with the port, `error` as strerror says.
    Tcp { addr: String, error: String },
    /// The `unixsocket` path could not be bound.
    Unix { error: String },
}

/// The dump.rdb a node starts from.
#[derive(Debug, Clone, Copy)]
pub enum StoredRdb<'a> {
    /// No file: the node starts empty.
    Absent,
    /// The file's bytes.
    Image(&'a [u8]),
    /// The file exists but could not be read (the error, as strerror says it).
    Unreadable(&'a str),
}

/// Where a node is in its start-up: the invariant is that [`Input::Start`] comes once, first,
/// and [`Input::Ready`] once after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StartPhase {
    /// Nothing reported yet.
    New,
    /// Started at this time; `loaded`: a dump.rdb was loaded (Ready then says how long it took).
    Loading { started_ms: u64, loaded: bool },
    /// Serving.
    Ready,
}

impl Node {
    /// [`Input::Start`]: log the start-up lines and load the disk's dump.rdb, or stop the
    /// process (`Output::Exit { code: 1 }`) as Redis does when it cannot listen or load.
    pub(super) fn start(&mut self, startup: StartUp<'_>) {
        debug_assert_eq!(self.srv.start_phase, StartPhase::New, "Input::Start comes once, first");
        let srv = &mut self.srv;
        // `main()` logs these before the server knows its pid or role: Redis's role letter is `C`.
        let early = [
            "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo".to_string(),
            format!(
                "Redis version={}, bits=64, commit=00000000, modified=0, pid={}, just started",
                crate::config::REDIS_VERSION,
                srv.process.pid
            ),
            match srv.process.config_file {
                Some(_) => "Configuration loaded".to_string(),
                None => "Warning: no config file specified, using the default config. In order to specify a config file use halab server /path/to/redis.conf".to_string(),
            },
        ];
        // (A sentinel's every line says `X`, these too.)
        let early_role = if srv.config.sentinel_mode() { 'X' } else { 'C' };
        for message in early {
            srv.log_as(early_role, LogLevel::Warning, message);
        }
        srv.log(LogLevel::Notice, "monotonic clock: POSIX clock_gettime");
        let port = srv.config.port();
        match startup.listen {
            Err(ListenFailure::Tcp { addr, error }) => {
                srv.log(
                    LogLevel::Warning,
                    format!("Warning: Could not create server TCP listening socket {}: bind: {}", addr, error),
                );
                srv.log(LogLevel::Warning, format!("Failed listening on port {} (TCP), aborting.", port));
                return self.exit_at_startup();
            }
            Err(ListenFailure::Unix { error }) => {
                srv.log(LogLevel::Warning, format!("Failed opening Unix socket: {}", error));
                return self.exit_at_startup();
            }
            Ok(0) if srv.config.get_str("unixsocket").is_empty() => {
                srv.log(LogLevel::Warning, "Configured to not listen anywhere, exiting.");
                return self.exit_at_startup();
            }
            Ok(_) => {}
        }
        self.log_banner();
        if self.srv.config.sentinel_mode() {
            // A sentinel keeps no data: it says who it is and announces its masters.
            crate::sentinel::with_sentinel(&mut self.srv, |s, srv| s.is_running(srv));
            self.srv.start_phase = StartPhase::Loading { started_ms: self.srv.now, loaded: false };
            return;
        }
        let loaded = match startup.rdb {
            StoredRdb::Absent => false,
            StoredRdb::Image(data) => match self.load_rdb_image(data, false) {
                Ok(_) => true,
                Err(e) => return self.fatal_load_error(&e),
            },
            StoredRdb::Unreadable(e) => return self.fatal_load_error(e),
        };
        self.srv.start_phase = StartPhase::Loading { started_ms: self.srv.now, loaded };
    }

    /// [`Input::Ready`]: the driver accepts connections now.
    pub(super) fn ready(&mut self) {
        let StartPhase::Loading { started_ms, loaded } = self.srv.start_phase else {
            debug_assert!(false, "Input::Ready comes once, after Input::Start");
            return;
        };
        self.srv.start_phase = StartPhase::Ready;
        if self.srv.config.sentinel_mode() {
            return; // redis-sentinel logs no "Ready to accept connections".
        }
        if loaded {
            let secs = self.srv.now.saturating_sub(started_ms) as f64 / 1000.0;
            self.srv.log(LogLevel::Notice, format!("DB loaded from disk: {:.3} seconds", secs));
        }
        self.srv.log(LogLevel::Notice, "Ready to accept connections");
        let unix = self.srv.config.get_str("unixsocket");
        if !unix.is_empty() {
            self.srv.log(LogLevel::Notice, format!("The server is now ready to accept connections at {}", unix));
        }
    }

    /// The logo or the `Running mode` line, as `redisAsciiArt` chooses, then "Server initialized".
    fn log_banner(&mut self) {
        let port = self.srv.config.port();
        let mode = if self.srv.config.sentinel_mode() { "sentinel" } else { "standalone" };
        let show_logo = self.srv.config.get_bool("always-show-logo")
            || (self.logs_to_terminal && self.srv.config.get_str("logfile").is_empty());
        if show_logo && self.srv.log_level <= LogLevel::Notice {
            let message = crate::log::startup_logo(mode, port, self.srv.process.pid);
            let role = self.srv.role_char();
            let line = LogLine { at_ms: self.srv.now, role, level: LogLevel::Notice, message, raw: true };
            self.srv.outputs.push_back(Output::Log(line));
        } else {
            self.srv.log(LogLevel::Notice, format!("Running mode={}, port={}.", mode, port));
        }
        if !self.srv.config.sentinel_mode() {
            self.srv.log(LogLevel::Warning, "Server initialized");
        }
    }

    /// `loadDataFromDisk`'s fatal error: the process exits without serving.
    fn fatal_load_error(&mut self, error: &str) {
        self.srv.log(LogLevel::Warning, format!("Fatal error loading the DB: {}. Exiting.", error));
        self.exit_at_startup();
    }

    fn exit_at_startup(&mut self) {
        self.srv.halted = true;
        self.srv.outputs.push_back(Output::Exit { code: 1 });
    }
}
