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

/// The host part of an "ip:port" address (`[::1]:6379` gives `::1`).
pub fn host_of(addr: &str) -> &str {
    addr.rsplit_once(':').map(|(h, _)| h).unwrap_or(addr).trim_matches(['[', ']'])
}
