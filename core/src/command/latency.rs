//! `LATENCY` and `SLOWLOG`: what made the server slow, as Redis 7.0 records it.
//!
//! Every command's duration feeds three records (Redis's `call`):
//!
//! * the **slow log** (`slowlog-log-slower-than` µs, `slowlog-max-len` entries): id, Unix
//!   time, duration, the arguments (at most 32, each cut at 128 bytes, secrets redacted),
//!   the client's address and name (slowlog.c);
//! * the **latency monitor** (`latency-monitor-threshold` ms): per event class (`command`,
//!   `fast-command`, …) a ring of 160 one-per-second samples and the all-time maximum
//!   (latency.c);
//! * the **latency histogram** of each command (`latency-tracking`), shown by
//!   `LATENCY HISTOGRAM` and INFO's `latencystats` percentiles.
//!
//! halab never reads a clock, so a command's duration is the virtual time it takes: zero for
//! ordinary commands, the requested time for `DEBUG SLEEP`. The records then show exactly
//! the commands that stalled the server, deterministically.

use super::{eq_ic, Ctx, Handler};
use bytes::Bytes;
use std::collections::VecDeque;

pub const COMMANDS: &[(&str, Handler)] = &[("latency", latency), ("slowlog", slowlog)];

/// One slow log entry.
#[derive(Debug, Clone)]
pub struct SlowlogEntry {
    pub id: u64,
    pub time_secs: u64,
    pub duration_us: u64,
    pub args: Vec<Bytes>,
    pub peer: String,
    pub client_name: Bytes,
}

/// Samples kept per latency event (`LATENCY_TS_LEN`).
const LATENCY_TS_LEN: usize = 160;
/// The smallest duration the histograms tell apart, in ns (`LATENCY_HISTOGRAM_MIN_VALUE`).
const HISTOGRAM_MIN_NS: u64 = 1024;
/// Buckets of a command's latency histogram: powers of two from 1024 ns.
pub const HISTOGRAM_BUCKETS: usize = 24;

/// A latency event class: its recent samples (at most one per second) and its maximum.
#[derive(Debug, Clone, Default)]
pub struct LatencySeries {
    /// `(Unix seconds, ms)`, oldest first.
    pub samples: VecDeque<(u64, u64)>,
    pub max_ms: u64,
}

/// What the server keeps of its latency: the slow log and the latency monitor's events.
#[derive(Debug, Clone, Default)]
pub struct LatencyRecords {
    pub slowlog: VecDeque<SlowlogEntry>,
    pub next_slowlog_id: u64,
    /// Event name → series, in the order events first happened.
    pub events: Vec<(&'static str, LatencySeries)>,
}

impl LatencyRecords {
    /// Redis's `latencyAddSampleIfNeeded` for an event that took `ms`.
    pub fn add_sample(&mut self, event: &'static str, ms: u64, now_secs: u64, threshold_ms: i64) {
        if threshold_ms <= 0 || (ms as i64) < threshold_ms {
            return;
        }
        let pos = match self.events.iter().position(|(e, _)| *e == event) {
            Some(p) => p,
            None => {
                self.events.push((event, LatencySeries::default()));
                self.events.len() - 1
            }
        };
        let series = &mut self.events[pos].1;
        series.max_ms = series.max_ms.max(ms);
        if let Some(last) = series.samples.back_mut() {
            if last.0 == now_secs {
                last.1 = last.1.max(ms);
                return;
            }
        }
        if series.samples.len() == LATENCY_TS_LEN {
            series.samples.pop_front();
        }
        series.samples.push_back((now_secs, ms));
    }
}

/// The bucket of a duration in a command's histogram.
pub fn histogram_bucket(duration_us: u64) -> usize {
    let ns = (duration_us * 1000).max(HISTOGRAM_MIN_NS);
    let bucket = (u64::BITS - 1 - (ns / HISTOGRAM_MIN_NS).leading_zeros()) as usize;
    // Exact powers of two belong to the bucket they end.
    let bucket = if ns.is_power_of_two() && bucket > 0 { bucket - 1 } else { bucket };
    bucket.min(HISTOGRAM_BUCKETS - 1)
}

/// The largest duration of bucket `i`, in µs (what `histogram_usec` lists).
fn bucket_top_us(i: usize) -> u64 {
    (HISTOGRAM_MIN_NS << (i + 1)) / 1000
}

/// The value at `percentile` of a histogram, in µs with Redis's three decimals.
pub fn percentile_us(buckets: &[u64; HISTOGRAM_BUCKETS], percentile: f64) -> f64 {
    let total: u64 = buckets.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let wanted = ((percentile / 100.0) * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (i, &n) in buckets.iter().enumerate() {
        seen += n;
        if seen >= wanted {
            return (HISTOGRAM_MIN_NS << (i + 1)) as f64 / 1000.0;
        }
    }
    bucket_top_us(HISTOGRAM_BUCKETS - 1) as f64
}

/// Arguments of commands whose values are secrets, replaced by `(redacted)` in the slow log
/// (Redis's `redactClientCommandArgument` callers).
fn redacted(args: &[Bytes]) -> Vec<Bytes> {
    let mut out = args.to_vec();
    let hide = |v: &mut Bytes| *v = Bytes::from_static(b"(redacted)");
    let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    match name.as_str() {
        "config" if args.len() > 2 && eq_ic(&args[1], "set") => {
            let mut i = 2;
            while i + 1 < out.len() {
                if eq_ic(&args[i], "masterauth") || eq_ic(&args[i], "masteruser") || eq_ic(&args[i], "requirepass") {
                    hide(&mut out[i + 1]);
                }
                i += 2;
            }
        }
        "acl" if args.len() > 2 && eq_ic(&args[1], "setuser") => out[2..].iter_mut().for_each(hide),
        "migrate" => {
            let mut i = 6;
            while i < out.len() {
                if eq_ic(&args[i], "auth") && i + 1 < out.len() {
                    hide(&mut out[i + 1]);
                    i += 2;
                } else if eq_ic(&args[i], "auth2") && i + 2 < out.len() {
                    hide(&mut out[i + 1]);
                    hide(&mut out[i + 2]);
                    i += 3;
                } else {
                    i += 1;
                }
            }
        }
        _ => {}
    }
    out
}

/// The arguments as the slow log keeps them: at most 32 (the last one saying how many more),
/// each at most 128 bytes (saying how many more bytes) — `SLOWLOG_ENTRY_MAX_ARGC/_STRING`.
fn trimmed(args: &[Bytes]) -> Vec<Bytes> {
    const MAX_ARGC: usize = 32;
    const MAX_STRING: usize = 128;
    let shown = args.len().min(MAX_ARGC);
    let mut out = Vec::with_capacity(shown);
    for (i, a) in args.iter().take(shown).enumerate() {
        if shown != args.len() && i == shown - 1 {
            out.push(Bytes::from(format!("... ({} more arguments)", args.len() - shown + 1)));
        } else if a.len() > MAX_STRING {
            let mut s = a[..MAX_STRING].to_vec();
            s.extend_from_slice(format!("... ({} more bytes)", a.len() - MAX_STRING).as_bytes());
            out.push(Bytes::from(s));
        } else {
            out.push(a.clone());
        }
    }
    out
}

/// Record a finished command: slow log, latency event, histogram. `args` are the arguments
/// as the client sent them (before any rewrite for propagation).
pub fn record_call(
    ctx: &mut Ctx,
    name: &'static str,
    fast: bool,
    skip_slowlog: bool,
    args: &[Bytes],
    duration_us: u64,
) {
    let now_secs = ctx.now / 1000;
    let threshold = ctx.srv.config.int("latency-monitor-threshold");
    let event = if fast { "fast-command" } else { "command" };
    ctx.srv.latency.add_sample(event, duration_us / 1000, now_secs, threshold);
    if ctx.srv.config.get_bool("latency-tracking") {
        if let Some(stat) = ctx.srv.stats.commands.get_mut(name) {
            stat.histogram[histogram_bucket(duration_us)] += 1;
        }
    }
    if skip_slowlog {
        return;
    }
    let slower_than = ctx.srv.config.int("slowlog-log-slower-than");
    let max_len = ctx.srv.config.int("slowlog-max-len").max(0) as usize;
    if slower_than < 0 || max_len == 0 || (duration_us as i64) < slower_than {
        return;
    }
    let records = &mut ctx.srv.latency;
    let entry = SlowlogEntry {
        id: records.next_slowlog_id,
        time_secs: now_secs,
        duration_us,
        args: trimmed(&redacted(args)),
        peer: ctx.client.addr.clone(),
        client_name: ctx.client.name.clone().unwrap_or_default(),
    };
    records.next_slowlog_id += 1;
    records.slowlog.push_front(entry);
    records.slowlog.truncate(max_len);
}

const SLOWLOG_HELP: &[&str] = &[
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
    "HELP",
    "    Prints this help.",
];

fn slowlog(ctx: &mut Ctx, args: &mut [Bytes]) {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    match (sub.as_str(), args.len()) {
        ("help", 2) => super::reply_help(ctx, SLOWLOG_HELP),
        ("reset", 2) => {
            ctx.srv.latency.slowlog.clear();
            ctx.ok();
        }
        ("len", 2) => {
            let n = ctx.srv.latency.slowlog.len() as i64;
            ctx.reply().int(n);
        }
        ("get", 2) | ("get", 3) => {
            let count = match args.get(2) {
                None => 10,
                Some(a) => match crate::resp::parse_i64(a) {
                    Some(c) if c >= -1 => c,
                    Some(_) => return ctx.error("ERR count should be greater than or equal to -1"),
                    None => return ctx.error(super::NOT_INTEGER),
                },
            };
            let n = if count == -1 {
                ctx.srv.latency.slowlog.len()
            } else {
                (count as usize).min(ctx.srv.latency.slowlog.len())
            };
            let entries: Vec<SlowlogEntry> = ctx.srv.latency.slowlog.iter().take(n).cloned().collect();
            let r = ctx.reply();
            r.array(entries.len());
            for e in entries {
                r.array(6);
                r.int(e.id as i64);
                r.int(e.time_secs as i64);
                r.int(e.duration_us as i64);
                r.array(e.args.len());
                for a in &e.args {
                    r.bulk(a);
                }
                r.bulk(e.peer.as_bytes());
                r.bulk(&e.client_name);
            }
        }
        _ => subcommand_error(ctx, &args[1], "SLOWLOG"),
    }
}

fn subcommand_error(ctx: &mut Ctx, sub: &[u8], cmd: &str) {
    ctx.error(&format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        String::from_utf8_lossy(sub),
        cmd
    ));
}

const LATENCY_HELP: &[&str] = &[
    "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
    "HELP",
    "    Prints this help.",
];

fn latency(ctx: &mut Ctx, args: &mut [Bytes]) {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    let argc = args.len();
    match sub.as_str() {
        "help" if argc == 2 => super::reply_help(ctx, LATENCY_HELP),
        "history" if argc == 3 => {
            let samples: Vec<(u64, u64)> =
                find_event(ctx, &args[2]).map(|s| s.samples.iter().copied().collect()).unwrap_or_default();
            let r = ctx.reply();
            r.array(samples.len());
            for (t, ms) in samples {
                r.array(2);
                r.int(t as i64);
                r.int(ms as i64);
            }
        }
        "latest" if argc == 2 => {
            let events: Vec<(&str, u64, u64, u64)> = ctx
                .srv
                .latency
                .events
                .iter()
                .map(|(e, s)| {
                    let (t, ms) = s.samples.back().copied().unwrap_or((0, 0));
                    (*e, t, ms, s.max_ms)
                })
                .collect();
            let r = ctx.reply();
            r.array(events.len());
            for (e, t, ms, max) in events {
                r.array(4);
                r.bulk_str(e);
                r.int(t as i64);
                r.int(ms as i64);
                r.int(max as i64);
            }
        }
        "graph" if argc == 3 => {
            let Some(series) = find_event(ctx, &args[2]).cloned() else {
                return ctx
                    .error(&format!("ERR No samples available for event '{}'", String::from_utf8_lossy(&args[2])));
            };
            let name = String::from_utf8_lossy(&args[2]).into_owned();
            let now_secs = ctx.now / 1000;
            ctx.reply().verbatim(&graph(&name, &series, now_secs));
        }
        "doctor" if argc == 2 => {
            let report = doctor(ctx);
            ctx.reply().verbatim(&report);
        }
        "reset" => {
            let before = ctx.srv.latency.events.len();
            if argc == 2 {
                ctx.srv.latency.events.clear();
            } else {
                let names: Vec<String> = args[2..].iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
                ctx.srv.latency.events.retain(|(e, _)| !names.iter().any(|n| n == e));
            }
            let resets = (before - ctx.srv.latency.events.len()) as i64;
            ctx.reply().int(resets);
        }
        "histogram" => histogram(ctx, &args[2..]),
        _ => subcommand_error(ctx, &args[1], "LATENCY"),
    }
}

fn find_event<'c>(ctx: &'c Ctx, name: &[u8]) -> Option<&'c LatencySeries> {
    ctx.srv.latency.events.iter().find(|(e, _)| e.as_bytes() == name).map(|(_, s)| s)
}

/// `LATENCY HISTOGRAM [command …]`: per command with calls, `calls` and the cumulative count
/// at the top of each non-empty bucket (`histogram_usec`).
fn histogram(ctx: &mut Ctx, names: &[Bytes]) {
    let mut chosen: Vec<(&'static str, u64, [u64; HISTOGRAM_BUCKETS])> = Vec::new();
    let stats = &ctx.srv.stats.commands;
    let mut add = |name: &'static str| {
        if let Some(s) = stats.get(name) {
            let total: u64 = s.histogram.iter().sum();
            if total > 0 && !chosen.iter().any(|(n, _, _)| *n == name) {
                chosen.push((name, total, s.histogram));
            }
        }
    };
    if names.is_empty() {
        let mut all: Vec<&'static str> = stats.keys().copied().collect();
        all.sort_unstable();
        all.into_iter().for_each(&mut add);
    } else {
        for n in names {
            let lower = String::from_utf8_lossy(n).to_ascii_lowercase();
            if let Some(cmd) = super::lookup(lower.split('|').next().unwrap_or("").as_bytes()) {
                if lower.contains('|') {
                    if let Some(sub) = cmd.meta.subcommands.iter().find(|s| s.name == lower) {
                        add(sub.name);
                    }
                } else if cmd.meta.subcommands.is_empty() {
                    add(cmd.meta.name);
                } else {
                    // A container command stands for all its subcommands.
                    cmd.meta.subcommands.iter().for_each(|s| add(s.name));
                }
            }
        }
    }
    let r = ctx.reply();
    r.map(chosen.len());
    for (name, calls, buckets) in chosen {
        r.bulk_str(name);
        r.map(2);
        r.bulk_str("calls");
        r.int(calls as i64);
        r.bulk_str("histogram_usec");
        let filled: Vec<(usize, u64)> =
            buckets.iter().enumerate().filter(|(_, &n)| n > 0).map(|(i, &n)| (i, n)).collect();
        r.map(filled.len());
        let mut cumulative = 0;
        for (i, n) in filled {
            cumulative += n;
            r.int(bucket_top_us(i) as i64);
            r.int(cumulative as i64);
        }
    }
}

/// `LATENCY GRAPH`: the event's samples as a sparkline, newest right.
fn graph(event: &str, s: &LatencySeries, now_secs: u64) -> String {
    let min = s.samples.iter().map(|x| x.1).min().unwrap_or(0);
    let max = s.samples.iter().map(|x| x.1).max().unwrap_or(0);
    let mut out = format!("{} - high {} ms, low {} ms (all time high {} ms)\n", event, max, min, s.max_ms);
    out.push_str(&"-".repeat(80));
    out.push('\n');
    let bars = [' ', '_', 'o', '#'];
    let line: String = s
        .samples
        .iter()
        .map(|&(_, ms)| {
            let level = if max == min { 3 } else { 1 + ((ms - min) * 2 / (max - min)) as usize };
            bars[level.min(3)]
        })
        .collect();
    out.push_str(&line);
    out.push('\n');
    let labels: Vec<String> = s
        .samples
        .iter()
        .map(|&(t, _)| {
            let ago = now_secs.saturating_sub(t);
            match ago {
                a if a < 60 => format!("{}s", a),
                a if a < 3600 => format!("{}m", a / 60),
                a if a < 86400 => format!("{}h", a / 3600),
                a => format!("{}d", a / 86400),
            }
        })
        .collect();
    out.push_str(&labels.join(" "));
    out.push('\n');
    out
}

/// `LATENCY DOCTOR`: a short report in Redis's voice.
fn doctor(ctx: &Ctx) -> String {
    let events = &ctx.srv.latency.events;
    if events.is_empty() {
        return "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sleep tonight.\n".into();
    }
    let mut out = String::from(
        "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n",
    );
    for (i, (e, s)) in events.iter().enumerate() {
        let avg = s.samples.iter().map(|x| x.1).sum::<u64>() / s.samples.len().max(1) as u64;
        out.push_str(&format!(
            "{}. {}: {} latency spikes (average {}ms, mean deviation 0ms, period 0 sec). Worst all time event {}ms.\n",
            i + 1,
            e,
            s.samples.len(),
            avg,
            s.max_ms
        ));
    }
    out.push_str("\nI have a few advices for you:\n\n- Check your system for slow commands with SLOWLOG GET.\n");
    out
}

/// INFO's `latencystats` line of one command: its percentiles, or `None` without calls.
pub fn percentiles_line(buckets: &[u64; HISTOGRAM_BUCKETS], percentiles: &[f64]) -> Option<String> {
    if buckets.iter().sum::<u64>() == 0 {
        return None;
    }
    let parts: Vec<String> = percentiles
        .iter()
        .map(|&p| format!("p{}={:.3}", crate::config::trim_float(p), percentile_us(buckets, p)))
        .collect();
    Some(parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_fall_in_power_of_two_buckets() {
        assert_eq!(histogram_bucket(0), 0);
        assert_eq!(histogram_bucket(1), 0);
        assert_eq!(histogram_bucket(2), 0);
        assert_eq!(histogram_bucket(3), 1);
        assert_eq!(bucket_top_us(0), 2);
        assert!(percentile_us(&[0; HISTOGRAM_BUCKETS], 50.0) == 0.0);
    }

    #[test]
    fn slowlog_arguments_are_trimmed_like_redis() {
        let args: Vec<Bytes> = (0..35).map(|i| Bytes::from(i.to_string())).collect();
        let t = trimmed(&args);
        assert_eq!(t.len(), 32);
        assert_eq!(&t[31][..], b"... (4 more arguments)");
        let long = vec![Bytes::from_static(b"sadd"), Bytes::from(vec![b'A'; 129])];
        assert!(trimmed(&long)[1].ends_with(b"... (1 more bytes)"));
    }

    #[test]
    fn latency_samples_merge_within_a_second() {
        let mut r = LatencyRecords::default();
        r.add_sample("command", 300, 10, 100);
        r.add_sample("command", 400, 10, 100);
        r.add_sample("command", 50, 11, 100);
        r.add_sample("command", 500, 12, 100);
        let s = &r.events[0].1;
        assert_eq!(s.samples.iter().copied().collect::<Vec<_>>(), vec![(10, 400), (12, 500)]);
        assert_eq!(s.max_ms, 500);
    }
}
