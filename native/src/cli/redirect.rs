//! `-c`: following a cluster's redirections, as `cliReadReply` does.
//!
//! A cluster node answers a command for a key it does not serve with an error naming the node
//! that does:
//!
//! ```text
//! > GET foo
//! -MOVED 12182 127.0.0.1:7002      the slot lives there now: ask it, and keep asking it
//! -ASK 12182 127.0.0.1:7002        the slot is being migrated and this key already left:
//!                                  ask that node once, after an ASKING
//! ```
//!
//! Without `-c` redis-cli prints the error. With it, it does not print the reply at all: it
//! moves its one connection to the named node (so the prompt changes to `127.0.0.1:7002> `),
//! says so when interactive —
//!
//! ```text
//! -> Redirected to slot [12182] located at 127.0.0.1:7002
//! ```
//!
//! — sends `ASKING` first if the error was an ASK (the importing node accepts the command only
//! after it), and sends the command again, as many times as the cluster redirects it. A
//! one-shot command (`halab cli -c GET foo`) is redirected the same way, silently. redis-cli
//! has no slot table of its own: every redirection is learned from an error, one at a time.

/// Which of the two redirections a node answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectKind {
    /// `-MOVED`: the slot has a new owner.
    Moved,
    /// `-ASK`: ask the importing node this once, prefixed by `ASKING`.
    Ask,
}

/// A parsed `-MOVED slot host:port` or `-ASK slot host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub kind: RedirectKind,
    pub slot: i64,
    pub host: String,
    pub port: i64,
}

impl Redirect {
    /// Read an error reply as a redirection: `MOVED ` or `ASK `, the slot, and the address,
    /// split at its last colon (an IPv6 address keeps its own colons), as redis-cli does.
    pub fn parse(error: &[u8]) -> Option<Redirect> {
        let kind = if error.starts_with(b"MOVED ") {
            RedirectKind::Moved
        } else if error.starts_with(b"ASK ") {
            RedirectKind::Ask
        } else {
            return None;
        };
        let text = String::from_utf8_lossy(error);
        let (_, rest) = text.split_once(' ')?;
        let (slot, addr) = rest.split_once(' ')?;
        let (host, port) = addr.rsplit_once(':')?;
        Some(Redirect { kind, slot: atoi(slot), host: host.to_string(), port: atoi(port) })
    }

    /// The line an interactive session prints before it follows the redirection.
    pub fn announcement(&self) -> String {
        format!("-> Redirected to slot [{}] located at {}:{}\n", self.slot, self.host, self.port)
    }
}

/// C's `atoi`: leading spaces, a sign, the digits that follow; 0 when there are none.
pub fn atoi(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: i64 = 0;
    for c in digits.bytes().take_while(u8::is_ascii_digit) {
        v = v.wrapping_mul(10).wrapping_add((c - b'0') as i64);
    }
    let v = if neg { v.wrapping_neg() } else { v };
    // atoi returns an int.
    v as i32 as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moved_and_ask() {
        assert_eq!(
            Redirect::parse(b"MOVED 3999 127.0.0.1:6381"),
            Some(Redirect { kind: RedirectKind::Moved, slot: 3999, host: "127.0.0.1".into(), port: 6381 })
        );
        let ask = Redirect::parse(b"ASK 12182 ::1:7002").unwrap();
        assert_eq!((ask.kind, ask.host.as_str(), ask.port), (RedirectKind::Ask, "::1", 7002));
        assert_eq!(ask.announcement(), "-> Redirected to slot [12182] located at ::1:7002\n");
        assert_eq!(Redirect::parse(b"ERR MOVED 1 a:1"), None);
        assert_eq!(Redirect::parse(b"MOVED nonsense"), None);
    }
}
