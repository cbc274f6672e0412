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

/// Facts only the real process knows (INFO's RSS, CPU time, OS), handed in by the driver.
#[derive(Debug, Clone, Default)]
pub struct ProcessStats {
    pub os: String,
    pub rss_bytes: u64,
    pub total_system_memory: u64,
    pub cpu_user: f64,
    pub cpu_sys: f64,
}
