//! Counters for `INFO stats` / `INFO commandstats`, and what only the process knows.

use super::*;

/// Counters shown by `INFO stats` and `INFO commandstats`.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub total_connections_received: u64,
    pub total_commands_processed: u64,
    pub total_net_input_bytes: u64,
    pub total_net_output_bytes: u64,
    pub total_net_repl_input_bytes: u64,
    pub total_net_repl_output_bytes: u64,
    /// Full resyncs served, partial resyncs accepted and refused (a master's view).
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
    pub rejected_connections: u64,
    pub expired_keys: u64,
    pub evicted_keys: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub total_error_replies: u64,
    /// Errors sent on a replication link (`stat_unexpected_error_replies`).
    pub unexpected_error_replies: u64,
    pub total_reads_processed: u64,
    pub total_writes_processed: u64,
    /// Per command (or `parent|sub`) call counts for `INFO commandstats`.
    pub commands: FxHashMap<&'static str, CommandStat>,
    /// error prefix → count
    pub errors: std::collections::BTreeMap<String, u64>,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct CommandStat {
    pub calls: u64,
    pub rejected: u64,
    pub failed: u64,
    /// Time spent in the command (virtual: see `command::latency`).
    pub usec: u64,
    /// Its latency histogram (`latency-tracking`), in power-of-two buckets.
    pub histogram: [u64; crate::command::latency::HISTOGRAM_BUCKETS],
}

/// The process the node runs as: who it is, fixed when the driver creates the node, and what
/// the driver measured of it since.
#[derive(Debug)]
pub struct Process {
    /// The process id of log lines and INFO (a made-up one in the simulator).
    pub(crate) pid: u32,
    /// Unix ms at start: INFO's `uptime_in_seconds` counts from here.
    pub(crate) start_ms: u64,
    /// INFO's `executable`.
    pub(crate) executable: String,
    /// The config file, if any (INFO's `config_file`; CONFIG REWRITE needs one).
    pub(crate) config_file: Option<String>,
    /// RSS, CPU time, OS, as the driver last reported them ([`Input::ProcessStats`]).
    pub(crate) measured: ProcessStats,
}

/// Facts only the real process knows (INFO's RSS, CPU time, OS), handed in by the driver.
#[derive(Debug, Clone, Default)]
pub struct ProcessStats {
    pub os: String,
    pub rss_bytes: u64,
    pub total_system_memory: u64,
    pub cpu_user: f64,
    pub cpu_sys: f64,
}
