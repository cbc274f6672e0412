//! The process and the operating system: listening sockets as `bind` names them, process
//! statistics from /proc and getrusage, dying like a crash.

use super::*;

/// Whether this process may execute `path` (`access(path, X_OK)`, as Sentinel checks a
/// script's path when it is configured).
pub fn is_executable(path: &str) -> bool {
    let Ok(c) = std::ffi::CString::new(path) else { return false };
    // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
    unsafe { libc::access(c.as_ptr(), libc::X_OK) == 0 }
}

/// Die like a crashed Redis (`DEBUG SEGFAULT`): SIGSEGV with the default action.
pub(super) fn crash() -> ! {
    // SAFETY: resetting a signal disposition and raising a signal are async-signal-safe
    // libc calls with no memory effects on our side.
    unsafe {
        libc::signal(libc::SIGSEGV, libc::SIG_DFL);
        libc::raise(libc::SIGSEGV);
    }
    std::process::abort()
}

/// Map configured bind addresses onto loopback listeners.
/// The addresses `bind` names for `port`, as Redis reads them: `*` is every IPv4 interface,
/// `::*` every IPv6 one, and a leading `-` marks an address that may be unavailable (its
/// failure is not fatal).
pub(super) fn bind_addrs(bind: &str, port: u16) -> Vec<(Option<SocketAddr>, bool, String)> {
    let mut out: Vec<(Option<SocketAddr>, bool, String)> = Vec::new();
    for raw in bind.split_whitespace() {
        let optional = raw.starts_with('-');
        let a = raw.trim_start_matches('-');
        let ip: Option<IpAddr> = match a {
            "*" => Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            "::*" => Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
            "localhost" => Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            other => other.trim_matches(['[', ']']).parse::<IpAddr>().ok(),
        };
        let sa = ip.map(|ip| SocketAddr::new(ip, port));
        if sa.is_none() || !out.iter().any(|(x, _, _)| *x == sa) {
            out.push((sa, optional, a.to_string()));
        }
    }
    out
}

/// Open the listening sockets `bind` and `port` ask for (Redis's `listenToPort`): all of them,
/// or an error naming the first one that failed and why (an optional one may fail).
pub(super) fn open_listeners(bind: &str, port: u16) -> Result<Vec<std::net::TcpListener>, (String, std::io::Error)> {
    let mut out = Vec::new();
    for (addr, optional, name) in bind_addrs(bind, port) {
        let bound = match addr {
            Some(addr) => std::net::TcpListener::bind(addr),
            None => Err(std::io::Error::new(std::io::ErrorKind::AddrNotAvailable, "Cannot assign requested address")),
        };
        match bound {
            Ok(l) => {
                l.set_nonblocking(true).map_err(|e| (format!("{}:{}", name, port), e))?;
                out.push(l);
            }
            Err(_) if optional => {}
            Err(e) => return Err((format!("{}:{}", name, port), e)),
        }
    }
    Ok(out)
}

/// The number after `key` in a /proc file of `Key:   n kB` lines.
fn proc_kb(path: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find(|l| l.starts_with(key))?.split_whitespace().nth(1)?.parse().ok()
}

pub(super) fn process_stats() -> ProcessStats {
    let mut s = ProcessStats { os: "Linux x86_64".into(), ..Default::default() };
    if let Ok(u) = std::fs::read_to_string("/proc/sys/kernel/osrelease") {
        s.os = format!("Linux {} {}", u.trim(), std::env::consts::ARCH);
    }
    if let Some(kb) = proc_kb("/proc/self/status", "VmRSS:") {
        s.rss_bytes = kb * 1024;
    }
    if let Some(kb) = proc_kb("/proc/meminfo", "MemTotal:") {
        s.total_system_memory = kb * 1024;
    }
    // SAFETY: getrusage fills a plain struct we own.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut ru) == 0 {
            s.cpu_user = ru.ru_utime.tv_sec as f64 + ru.ru_utime.tv_usec as f64 / 1e6;
            s.cpu_sys = ru.ru_stime.tv_sec as f64 + ru.ru_stime.tv_usec as f64 / 1e6;
        }
    }
    s
}

/// Listen on the `unixsocket` path (a stale socket file is replaced), with `unixsocketperm`.
pub(super) fn unix_listen(path: &str, perm: &str) -> std::io::Result<UnixListener> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    if let Ok(mode) = u32::from_str_radix(perm, 8) {
        if mode != 0 {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
        }
    }
    Ok(listener)
}

/// `strerror` wording of an IO error ("Connection refused"), without Rust's "(os error N)".
pub(crate) fn io_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}
