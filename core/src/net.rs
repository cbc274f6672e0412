//! Connections as the node numbers them, and the ranges the numbers come from.
//!
//! A driver names every connection with a [`ConnId`]. The ones it accepts (clients, replicas
//! connecting to us) it numbers itself, from 1 up; the ones the node opens ([`crate::node::Output::Connect`]:
//! the link to our master, MIGRATE's link to its target) the node numbers from
//! [`OUTBOUND_CONN_BASE`] up, so the two can never collide and anyone can tell an outbound link
//! from its id. The ranges leave room for more kinds (the cluster bus will take the next
//! quarter of the space):
//!
//! ```text
//!   1 ..= 2^62-1          accepted by the driver (clients, replicas, MIGRATE's peers)
//!   2^62 ..= 2^63-1       opened by the node (replication link, MIGRATE)
//!   2^63 ..               free (the cluster bus)
//! ```

/// A connection, as numbered by the driver (accepted) or the node (outbound).
pub type ConnId = u64;

/// The first id of connections the node opens itself.
pub const OUTBOUND_CONN_BASE: ConnId = 1 << 62;

/// The end (exclusive) of the outbound range.
pub const OUTBOUND_CONN_END: ConnId = 1 << 63;

/// Whether the node opened `conn` itself (an outbound link) rather than accepting it.
pub fn is_outbound(conn: ConnId) -> bool {
    (OUTBOUND_CONN_BASE..OUTBOUND_CONN_END).contains(&conn)
}

/// The file descriptor number CLIENT LIST shows for a connection (`fd=`): small numbers, as a
/// real process has, counted within each range from 7 (what Redis's first client gets).
pub fn fake_fd(conn: ConnId) -> u64 {
    conn % OUTBOUND_CONN_BASE + 7
}

/// Whether `host` is an IP address literal (IPv4 dotted quad, or IPv6 in its textual forms)
/// rather than a name — what `anetResolve` with `ANET_IP_ONLY` accepts. Pure text: the core
/// resolves nothing.
pub fn is_ip_literal(host: &str) -> bool {
    fn ipv4(s: &str) -> bool {
        let parts: Vec<&str> = s.split('.').collect();
        parts.len() == 4
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.len() <= 3
                    && p.bytes().all(|b| b.is_ascii_digit())
                    && p.parse::<u16>().is_ok_and(|v| v <= 255)
                    && !(p.len() > 1 && p.starts_with('0'))
            })
    }
    fn ipv6(s: &str) -> bool {
        // At most one `::`; the groups on each side are 1–4 hex digits, and the last group of
        // the address may be an IPv4 tail, worth two.
        let halves: Vec<&str> = s.split("::").collect();
        if halves.len() > 2 {
            return false;
        }
        let mut count = 0;
        for (h, half) in halves.iter().enumerate() {
            if half.is_empty() {
                continue;
            }
            let groups: Vec<&str> = half.split(':').collect();
            for (i, g) in groups.iter().enumerate() {
                let last = h == halves.len() - 1 && i == groups.len() - 1;
                if last && g.contains('.') {
                    if !ipv4(g) {
                        return false;
                    }
                    count += 2;
                } else if g.is_empty() || g.len() > 4 || !g.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return false;
                } else {
                    count += 1;
                }
            }
        }
        if halves.len() == 2 {
            count < 8
        } else {
            count == 8
        }
    }
    ipv4(host) || (host.contains(':') && ipv6(host))
}

/// The host part of an "ip:port" address (`[::1]:6379` gives `::1`).
pub fn host_of(addr: &str) -> &str {
    addr.rsplit_once(':').map(|(h, _)| h).unwrap_or(addr).trim_matches(['[', ']'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_literals_are_told_from_names() {
        for ip in [
            "127.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "2001:db8::8a2e:370:7334",
            "1:2:3:4:5:6:7:8",
            "::ffff:10.0.0.1",
            "1::",
        ] {
            assert!(is_ip_literal(ip), "{}", ip);
        }
        for name in [
            "localhost",
            "redis-1",
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "01.2.3.4",
            "1:2:3",
            "1::2::3",
            "12345::1",
            "g::1",
            "",
            "1:2:3:4:5:6:7:8:9",
        ] {
            assert!(!is_ip_literal(name), "{}", name);
        }
    }
}
