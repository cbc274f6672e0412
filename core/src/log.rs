//! Log lines in Redis's own format.
//!
//! Redis prints `pid:role dd Mon yyyy hh:mm:ss.mmm <level> message`, for example
//!
//! ```text
//! 4242:M 22 Nov 2026 21:36:26.123 * Ready to accept connections tcp
//! ```
//!
//! where the role is `M` (master), `S` (replica), `C` (a forked child, e.g. BGSAVE) or `X`
//! (sentinel), and the level mark is `.` debug, `-` verbose, `*` notice, `#` warning
//! (`serverLogRaw` in server.c). The node emits [`LogLine`]s with the virtual time they
//! happened at; the driver adds its process id when it prints them.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Verbose,
    Notice,
    Warning,
}

impl LogLevel {
    pub fn mark(self) -> char {
        match self {
            LogLevel::Debug => '.',
            LogLevel::Verbose => '-',
            LogLevel::Notice => '*',
            LogLevel::Warning => '#',
        }
    }
    /// Parse the `loglevel` config value.
    pub fn from_config(s: &str) -> Option<LogLevel> {
        match s.to_ascii_lowercase().as_str() {
            "debug" => Some(LogLevel::Debug),
            "verbose" => Some(LogLevel::Verbose),
            "notice" => Some(LogLevel::Notice),
            "warning" => Some(LogLevel::Warning),
            _ => None,
        }
    }
}

/// One log event of a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Unix time in milliseconds (virtual in the simulator).
    pub at_ms: u64,
    /// `M`, `S`, `C` or `X`.
    pub role: char,
    pub level: LogLevel,
    pub message: String,
    /// Written as it is, without the `pid:role time level` prefix (Redis's `LL_RAW`, used for
    /// the start-up logo).
    pub raw: bool,
}

impl LogLine {
    /// Render the line as Redis writes it, for process `pid`.
    pub fn render(&self, pid: u32) -> String {
        if self.raw {
            return self.message.clone();
        }
        format!("{}:{} {} {} {}", pid, self.role, format_log_time(self.at_ms), self.level.mark(), self.message)
    }
}

/// The ASCII-art logo Redis 7.0 prints at start-up instead of the `Running mode=…` line when
/// `always-show-logo` is `yes` or it logs to a terminal (`redisAsciiArt` in server.c). Tools
/// read it: Redis's test harness waits for its ` PID: <pid>` to know the server started.
pub fn startup_logo(mode: &str, port: u16, pid: u32) -> String {
    let lines = [
        "                _._                                                  ".to_string(),
        "           _.-``__ ''-._                                             ".to_string(),
        format!("      _.-``    `.  `_.  ''-._           Redis {} (00000000/0) 64 bit", crate::config::REDIS_VERSION),
        "  .-`` .-```.  ```\\/    _.,_ ''-._                                  ".to_string(),
        format!(" (    '      ,       .-`  | `,    )     Running in {} mode", mode),
        format!(" |`-._`-...-` __...-.``-._|'` _.-'|     Port: {}", port),
        format!(" |    `-._   `._    /     _.-'    |     PID: {}", pid),
        "  `-._    `-._  `-./  _.-'    _.-'                                   ".to_string(),
        " |`-._`-._    `-.__.-'    _.-'_.-'|                                  ".to_string(),
        " |    `-._`-._        _.-'_.-'    |           https://redis.io       ".to_string(),
        "  `-._    `-._`-.__.-'_.-'    _.-'                                   ".to_string(),
        " |`-._`-._    `-.__.-'    _.-'_.-'|                                  ".to_string(),
        " |    `-._`-._        _.-'_.-'    |                                  ".to_string(),
        "  `-._    `-._`-.__.-'_.-'    _.-'                                   ".to_string(),
        "      `-._    `-.__.-'    _.-'                                       ".to_string(),
        "          `-._        _.-'                                           ".to_string(),
        "              `-.__.-'                                               ".to_string(),
    ];
    lines.join("\n") + "\n"
}

impl fmt::Display for LogLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", format_log_time(self.at_ms), self.level.mark(), self.message)
    }
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// `22 Nov 2026 21:36:26.123` for a Unix time in ms (UTC).
pub fn format_log_time(at_ms: u64) -> String {
    let secs = at_ms / 1000;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let sod = secs % 86_400;
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        d,
        MONTHS[(m - 1) as usize],
        y,
        sod / 3600,
        (sod / 60) % 60,
        sod % 60,
        at_ms % 1000
    )
}

/// `ctime`'s text without its newline (`Wed Dec  2 17:21:58 2026`) for a Unix time in seconds
/// (UTC), as Sentinel's "Next failover delay" line prints it.
pub fn ctime(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    let days = secs / 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    let sod = secs % 86_400;
    format!(
        "{} {} {:2} {:02}:{:02}:{:02} {}",
        DAYS[(days % 7) as usize],
        MONTHS[(m - 1) as usize],
        d,
        sod / 3600,
        (sod / 60) % 60,
        sod % 60,
        y
    )
}

/// A log line as Redis writes it (`pid:R dd Mon yyyy hh:mm:ss.mmm L message`), read back: what
/// an observer of a log (the simulator's trace or a live process's file) needs to place an
/// event in time. The inverse of [`LogLine::render`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedLogLine<'a> {
    /// Unix time in ms (UTC), as the line's timestamp says.
    pub at_ms: u64,
    /// The role letter: `M`, `S`, `C` or `X` (sentinel).
    pub role: char,
    pub message: &'a str,
}

/// Read a rendered log line; `None` for anything else (the logo, a raw line, a torn line).
pub fn parse_log_line(line: &str) -> Option<ParsedLogLine<'_>> {
    let (pid_role, rest) = line.split_once(' ')?;
    let (pid, role) = pid_role.split_once(':')?;
    let mut role_chars = role.chars();
    let (Some(role), None) = (role_chars.next(), role_chars.next()) else { return None };
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut parts = rest.splitn(6, ' ');
    let (day, month, year, time, _mark) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let message = parts.next().unwrap_or("");
    let month = MONTHS.iter().position(|m| *m == month)? as u32 + 1;
    let (day, year): (u32, i64) = (day.parse().ok()?, year.parse().ok()?);
    let (hms, millis) = time.split_once('.')?;
    let mut hms = hms.splitn(3, ':').map(|v| v.parse::<u64>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    let millis: u64 = millis.parse().ok()?;
    let days = u64::try_from(days_from_civil(year, month, day)).ok()?;
    let at_ms = ((days * 86_400 + h * 3600 + m * 60 + sec) * 1000).checked_add(millis)?;
    Some(ParsedLogLine { at_ms, role, message })
}

/// (year, month, day) to days since 1970-01-01, Howard Hinnant's `days_from_civil`: the
/// inverse of [`civil_from_days`].
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's `civil_from_days`.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctime_reads_like_c() {
        // 2026-12-02 17:21:58 UTC was a Wednesday.
        assert_eq!(ctime(1_796_232_118), "Wed Dec  2 17:21:58 2026");
    }

    #[test]
    fn renders_like_redis() {
        // 2026-11-22 21:36:26.123 UTC
        let line = LogLine {
            at_ms: 1_795_383_386_123,
            role: 'M',
            level: LogLevel::Notice,
            message: "Ready to accept connections tcp".into(),
            raw: false,
        };
        assert_eq!(line.render(4242), "4242:M 22 Nov 2026 21:36:26.123 * Ready to accept connections tcp");
    }

    #[test]
    fn logo_carries_the_pid_line_the_test_harness_waits_for() {
        let logo = startup_logo("standalone", 6379, 4242);
        assert!(logo.contains("\n |    `-._   `._    /     _.-'    |     PID: 4242\n"), "{}", logo);
        assert!(logo.contains("Running in standalone mode"));
        assert_eq!(logo.lines().count(), 17);
    }

    #[test]
    fn a_rendered_line_reads_back() {
        let line = LogLine {
            at_ms: 1_795_383_386_123,
            role: 'X',
            level: LogLevel::Warning,
            message: "+sdown master mymaster 127.0.0.1 6379".into(),
            raw: false,
        };
        let text = line.render(4242);
        let parsed = parse_log_line(&text).unwrap();
        assert_eq!(
            parsed,
            ParsedLogLine { at_ms: 1_795_383_386_123, role: 'X', message: "+sdown master mymaster 127.0.0.1 6379" }
        );
        assert_eq!(parse_log_line("1:M 29 Feb 2000 00:00:00.000 * x").unwrap().at_ms, 951_782_400_000);
        for bad in [
            "",
            "                _._",
            "1:M 32 Foo 2026 00:00:00.000 * x",
            "x:M 01 Jan 2026 00:00:00.000 * x",
            "1:M 01 Jan 2026 25:00",
        ] {
            assert_eq!(parse_log_line(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn civil_dates() {
        for days in [0, 11_016, 19_723, 20_790, -1, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
