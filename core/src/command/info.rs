//! `INFO`: Redis 7.0's sections with the same field names in the same order (`genRedisInfoString`),
//! so scripts and the lab's observers that read `INFO replication` or `INFO keyspace` work
//! against halab and redis-server alike. Values that only a real process has (RSS, CPU time)
//! come from the driver through [`crate::node::Input::ProcessStats`]; in the simulator they are
//! zero.

use super::connection::REDIS_VERSION;
use super::Ctx;
use crate::node::NodeState;
use crate::replication::MasterLinkState;
use bytes::Bytes;
use std::fmt::Write as _;

/// Every section of `INFO`, in 7.0's order (`INFO all`).
const ALL_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

fn human_bytes(n: u64) -> String {
    let n = n as f64;
    if n < 1024.0 {
        format!("{}B", n as u64)
    } else if n < 1024.0 * 1024.0 {
        format!("{:.2}K", n / 1024.0)
    } else if n < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", n / (1024.0 * 1024.0))
    } else {
        format!("{:.2}G", n / (1024.0 * 1024.0 * 1024.0))
    }
}

/// Build the INFO text for the requested sections (lowercase names), as seen by a client that
/// is not in `srv.clients` (the one running INFO, or an observer such as a lesson).
pub fn info_text(srv: &NodeState, now: u64, requested: &[String]) -> String {
    let wanted: Vec<&str> = if requested.is_empty() || requested.iter().any(|s| s == "default") {
        // The default sections are all but the per-command and latency statistics.
        let mut v: Vec<&str> =
            ALL_SECTIONS.iter().copied().filter(|s| !matches!(*s, "commandstats" | "latencystats")).collect();
        v.extend(requested.iter().map(|s| s.as_str()).filter(|s| *s != "default"));
        v
    } else if requested.iter().any(|s| s == "all" || s == "everything") {
        ALL_SECTIONS.to_vec()
    } else {
        requested.iter().map(|s| s.as_str()).collect()
    };
    let mut out = String::new();
    let uptime = now.saturating_sub(srv.process.start_ms) / 1000;
    let used_memory = srv.used_memory();
    // The asking client is not in the table while its command runs: count it back.
    let client_count = srv.clients.len() + 1;
    let connected_clients = srv.connected_clients() + 1;
    for section in ALL_SECTIONS.iter().filter(|s| wanted.contains(s)) {
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        match *section {
            "server" => {
                let _ = write!(
                    out,
                    "# Server\r\nredis_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:halab\r\nredis_mode:{}\r\nos:{}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:0\r\n",
                    REDIS_VERSION,
                    if srv.config.sentinel_mode() { "sentinel" } else { "standalone" },
                    srv.process.measured.os,
                    srv.process.pid,
                    srv.run_id,
                    srv.config.port(),
                    now * 1000,
                    uptime,
                    uptime / 86400,
                    srv.sentinel.as_ref().map_or(srv.config.int("hz"), |s| s.hz as i64),
                    srv.config.int("hz"),
                    (now / 1000) & ((1 << 24) - 1),
                    srv.process.executable,
                    srv.process.config_file.as_deref().unwrap_or(""),
                );
            }
            "clients" => {
                // Blocked on keys, in WAIT, or postponed by a pause (Redis's blocked types).
                let blocked = srv
                    .clients
                    .values()
                    .filter(|c| c.blocked.is_some() || c.wait.is_some() || c.postponed.is_some())
                    .count();
                let _ = write!(
                    out,
                    "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:{}\r\ntracking_clients:0\r\nclients_in_timeout_table:{}\r\n",
                    connected_clients,
                    srv.config.int("maxclients"),
                    blocked,
                    srv.clients.values().filter(|c| c.blocked.as_ref().is_some_and(|b| b.deadline.is_some())).count(),
                );
            }
            "memory" => {
                let rss = srv.process.measured.rss_bytes.max(used_memory);
                // The shared replication buffer: beyond `repl-backlog-size`, what replicas
                // hold counts as theirs (7.0's `getMemoryOverheadData`).
                let repl_buffers = srv.repl.backlog.as_ref().map_or(0, |b| b.memory());
                let backlog_size = srv.repl.backlog.as_ref().map_or(0, |b| b.size());
                let (repl_backlog, repl_clients) = if !srv.repl.replicas.is_empty() && repl_buffers > backlog_size {
                    (backlog_size, repl_buffers - backlog_size)
                } else {
                    (repl_buffers, 0)
                };
                let maxmemory = srv.config.int("maxmemory").max(0) as u64;
                let _ = write!(
                    out,
                    "# Memory\r\nused_memory:{um}\r\nused_memory_human:{umh}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{rssh}\r\nused_memory_peak:{um}\r\nused_memory_peak_human:{umh}\r\nused_memory_peak_perc:100.00%\r\nused_memory_overhead:{oh}\r\nused_memory_startup:900000\r\nused_memory_dataset:{ds}\r\nused_memory_dataset_perc:{dsp:.2}%\r\nallocator_allocated:{um}\r\nallocator_active:{um}\r\nallocator_resident:{rss}\r\ntotal_system_memory:{tsm}\r\ntotal_system_memory_human:{tsmh}\r\nused_memory_lua:32768\r\nused_memory_vm_eval:32768\r\nused_memory_lua_human:32.00K\r\nused_memory_scripts_eval:0\r\nnumber_of_cached_scripts:0\r\nnumber_of_functions:0\r\nnumber_of_libraries:0\r\nused_memory_vm_functions:32768\r\nused_memory_vm_total:65536\r\nused_memory_vm_total_human:64.00K\r\nused_memory_functions:0\r\nused_memory_scripts:0\r\nused_memory_scripts_human:0B\r\nmaxmemory:{mm}\r\nmaxmemory_human:{mmh}\r\nmaxmemory_policy:{mp}\r\nallocator_frag_ratio:1.00\r\nallocator_frag_bytes:0\r\nallocator_rss_ratio:1.00\r\nallocator_rss_bytes:0\r\nrss_overhead_ratio:1.00\r\nrss_overhead_bytes:0\r\nmem_fragmentation_ratio:{fr:.2}\r\nmem_fragmentation_bytes:{fb}\r\nmem_not_counted_for_evict:0\r\nmem_replication_backlog:{rb}\r\nmem_total_replication_buffers:{rbt}\r\nmem_clients_slaves:{rcs}\r\nmem_clients_normal:{cn}\r\nmem_cluster_links:0\r\nmem_aof_buffer:0\r\nmem_allocator:libc\r\nactive_defrag_running:0\r\nlazyfree_pending_objects:0\r\nlazyfreed_objects:0\r\n",
                    um = used_memory,
                    umh = human_bytes(used_memory),
                    rb = repl_backlog,
                    rbt = repl_buffers,
                    rcs = repl_clients,
                    rss = rss,
                    rssh = human_bytes(rss),
                    oh = 900_000 + client_count as u64 * 20_000,
                    ds = used_memory.saturating_sub(900_000),
                    dsp = used_memory.saturating_sub(900_000) as f64 * 100.0 / used_memory as f64,
                    tsm = srv.process.measured.total_system_memory,
                    tsmh = human_bytes(srv.process.measured.total_system_memory),
                    mm = maxmemory,
                    mmh = human_bytes(maxmemory),
                    mp = srv.config.get_str("maxmemory-policy"),
                    fr = rss as f64 / used_memory as f64,
                    fb = rss.saturating_sub(used_memory),
                    cn = client_count * 20_000,
                );
            }
            "persistence" => {
                let p = &srv.persist;
                let _ = write!(
                    out,
                    "# Persistence\r\nloading:0\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\nrdb_current_bgsave_time_sec:{}\r\nrdb_saves:{}\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:{}\r\nrdb_last_load_keys_loaded:{}\r\naof_enabled:{}\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\naof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\naof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\naof_rewrites_consecutive_failures:0\r\naof_last_write_status:ok\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
                    p.dirty,
                    // A snapshot streamed to replicas is an RDB child too.
                    (p.bgsave_job.is_some() || srv.repl.sync_job.is_some()) as u8,
                    p.last_save_ms / 1000,
                    if p.last_bgsave_ok { "ok" } else { "err" },
                    p.last_bgsave_duration_ms.map(|d| (d / 1000) as i64).unwrap_or(-1),
                    p.bgsave_started_ms.map(|s| (now.saturating_sub(s) / 1000) as i64).unwrap_or(-1),
                    p.rdb_saves,
                    p.last_load_keys_expired,
                    p.last_load_keys_loaded,
                    srv.config.get_bool("appendonly") as u8,
                );
            }
            "stats" => {
                let s = &srv.stats;
                let _ = write!(
                    out,
                    "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:0\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ntotal_net_repl_input_bytes:{}\r\ntotal_net_repl_output_bytes:{}\r\ninstantaneous_input_kbps:0.00\r\ninstantaneous_output_kbps:0.00\r\ninstantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\nrejected_connections:{}\r\nsync_full:{}\r\nsync_partial_ok:{}\r\nsync_partial_err:{}\r\nexpired_keys:{}\r\nexpired_stale_perc:0.00\r\nexpired_time_cap_reached_count:0\r\nexpire_cycle_cpu_milliseconds:0\r\nevicted_keys:{}\r\nevicted_clients:0\r\ntotal_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\npubsubshard_channels:{}\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\nmigrate_cached_sockets:{}\r\nslave_expires_tracked_keys:{}\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\ntracking_total_keys:0\r\ntracking_total_items:0\r\ntracking_total_prefixes:0\r\nunexpected_error_replies:{}\r\ntotal_error_replies:{}\r\ndump_payload_sanitizations:0\r\ntotal_reads_processed:{}\r\ntotal_writes_processed:{}\r\nio_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nreply_buffer_shrinks:0\r\nreply_buffer_expands:0\r\n",
                    s.total_connections_received,
                    s.total_commands_processed,
                    s.total_net_input_bytes,
                    s.total_net_output_bytes,
                    s.total_net_repl_input_bytes,
                    s.total_net_repl_output_bytes,
                    s.rejected_connections,
                    s.sync_full,
                    s.sync_partial_ok,
                    s.sync_partial_err,
                    s.expired_keys,
                    s.evicted_keys,
                    s.keyspace_hits,
                    s.keyspace_misses,
                    srv.pubsub.channels.len(),
                    srv.pubsub.patterns.len(),
                    srv.pubsub.shard_channels.len(),
                    srv.migrations.sockets.len(),
                    srv.cron.replica_keys_with_expire.len(),
                    s.unexpected_error_replies,
                    s.total_error_replies,
                    s.total_reads_processed,
                    s.total_writes_processed,
                );
            }
            "replication" => out.push_str(&srv.info_replication()),
            "cpu" => {
                let p = &srv.process.measured;
                let _ = write!(
                    out,
                    "# CPU\r\nused_cpu_sys:{:.6}\r\nused_cpu_user:{:.6}\r\nused_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.000000\r\nused_cpu_sys_main_thread:{:.6}\r\nused_cpu_user_main_thread:{:.6}\r\n",
                    p.cpu_sys, p.cpu_user, p.cpu_sys, p.cpu_user
                );
            }
            "modules" => out.push_str("# Modules\r\n"),
            "commandstats" => {
                out.push_str("# Commandstats\r\n");
                let mut stats: Vec<_> = srv.stats.commands.iter().collect();
                stats.sort_by_key(|(name, _)| **name);
                for (name, st) in stats {
                    let (calls, rejected, failed) = (st.calls, st.rejected, st.failed);
                    let per_call = if calls > 0 { st.usec as f64 / calls as f64 } else { 0.0 };
                    let _ = write!(
                        out,
                        "cmdstat_{}:calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}\r\n",
                        name, calls, st.usec, per_call, rejected, failed
                    );
                }
            }
            "errorstats" => {
                out.push_str("# Errorstats\r\n");
                for (prefix, count) in &srv.stats.errors {
                    let _ = write!(out, "errorstat_{}:count={}\r\n", prefix, count);
                }
            }
            "latencystats" => {
                out.push_str("# Latencystats\r\n");
                let percentiles: Vec<f64> = srv
                    .config
                    .get_str("latency-tracking-info-percentiles")
                    .split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect();
                let mut stats: Vec<_> = srv.stats.commands.iter().collect();
                stats.sort_by_key(|(name, _)| **name);
                for (name, st) in stats {
                    if let Some(line) = super::latency::percentiles_line(&st.histogram, &percentiles) {
                        let _ = write!(out, "latency_percentiles_usec_{}:{}\r\n", name, line);
                    }
                }
            }
            "cluster" => out.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
            "keyspace" => {
                out.push_str("# Keyspace\r\n");
                for (i, db) in srv.keyspace.dbs.iter().enumerate() {
                    if db.is_empty() {
                        continue;
                    }
                    let ttls: Vec<u64> = db.expires.values().map(|&at| at.saturating_sub(now)).collect();
                    let avg = if ttls.is_empty() { 0 } else { ttls.iter().sum::<u64>() / ttls.len() as u64 };
                    let _ = write!(out, "db{}:keys={},expires={},avg_ttl={}\r\n", i, db.len(), db.expires.len(), avg);
                }
            }
            _ => {}
        }
    }
    out
}

pub(super) fn info(ctx: &mut Ctx, args: &mut [Bytes]) {
    let requested: Vec<String> = args[1..].iter().map(|a| String::from_utf8_lossy(a).to_ascii_lowercase()).collect();
    let text = info_text(ctx.srv, ctx.now, &requested);
    ctx.reply().verbatim(&text);
}

impl NodeState {
    /// The `# Replication` section of INFO, field for field as Redis 7.0 writes it.
    pub fn info_replication(&self) -> String {
        use std::fmt::Write;
        let now = self.now;
        let repl = &self.repl;
        let mut out = String::from("# Replication\r\n");
        match repl.master.as_ref() {
            None => out.push_str("role:master\r\n"),
            Some(link) => {
                let up = link.state == MasterLinkState::Connected;
                let last_io = if up { (now.saturating_sub(link.last_io_ms) / 1000) as i64 } else { -1 };
                let (applied, read) = match (link.applied, link.read, &repl.cached_master) {
                    (Some(a), Some(r), _) => (a as i64, r as i64),
                    (_, _, Some(c)) => (c.offset as i64, c.offset as i64),
                    _ => (1, 1),
                };
                let _ = write!(
                    out,
                    "role:slave\r\nmaster_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\nmaster_last_io_seconds_ago:{}\r\nmaster_sync_in_progress:{}\r\nslave_read_repl_offset:{}\r\nslave_repl_offset:{}\r\n",
                    link.host,
                    link.port,
                    if up { "up" } else { "down" },
                    last_io,
                    (link.state == MasterLinkState::Transfer) as u8,
                    read,
                    applied
                );
                if link.state == MasterLinkState::Transfer {
                    let (got, total) = link.transfer_progress();
                    let total = total.map(|t| t as i64).unwrap_or(-1);
                    let left = if total < 0 { -1 } else { total - got as i64 };
                    let perc = if total > 0 { got as f64 * 100.0 / total as f64 } else { 0.0 };
                    let _ = write!(
                        out,
                        "master_sync_total_bytes:{}\r\nmaster_sync_read_bytes:{}\r\nmaster_sync_left_bytes:{}\r\nmaster_sync_perc:{:.2}\r\nmaster_sync_last_io_seconds_ago:{}\r\n",
                        total,
                        got,
                        left,
                        perc,
                        now.saturating_sub(link.last_io_ms) / 1000
                    );
                }
                if !up {
                    let since = link.down_since_ms.map(|d| (now.saturating_sub(d) / 1000) as i64).unwrap_or(-1);
                    let _ = write!(out, "master_link_down_since_seconds:{}\r\n", since);
                }
                let _ = write!(
                    out,
                    "slave_priority:{}\r\nslave_read_only:{}\r\nreplica_announced:{}\r\n",
                    self.config.int("replica-priority"),
                    self.config.get_bool("replica-read-only") as u8,
                    self.config.get_bool("replica-announced") as u8
                );
            }
        }
        let _ = write!(out, "connected_slaves:{}\r\n", repl.replicas.len());
        let min = self.config.int("min-replicas-to-write");
        let max_lag = self.config.int("min-replicas-max-lag");
        if min > 0 && max_lag > 0 {
            let _ = write!(out, "min_slaves_good_slaves:{}\r\n", repl.good_replicas(now, max_lag as u64));
        }
        for (i, r) in repl.replicas.iter().enumerate() {
            let _ = write!(
                out,
                "slave{}:ip={},port={},state={},offset={},lag={}\r\n",
                i,
                r.ip,
                r.listening_port,
                r.state.name(),
                r.ack_offset,
                now.saturating_sub(r.ack_ms) / 1000
            );
        }
        let (active, first, histlen) = match &repl.backlog {
            Some(b) => (1, b.first_offset, b.histlen),
            None => (0, 0, 0),
        };
        let _ = write!(
            out,
            "master_failover_state:{}\r\nmaster_replid:{}\r\nmaster_replid2:{}\r\nmaster_repl_offset:{}\r\nsecond_repl_offset:{}\r\nrepl_backlog_active:{}\r\nrepl_backlog_size:{}\r\nrepl_backlog_first_byte_offset:{}\r\nrepl_backlog_histlen:{}\r\n",
            self.failover_state_name(),
            repl.replid,
            repl.replid2,
            repl.offset,
            repl.second_offset,
            active,
            self.config.int("repl-backlog-size"),
            first,
            histlen
        );
        out
    }

    // ───────────────────────────── coordinated failover ─────────────────────────────
}
