//! `--allow-attach CIDR…`: the addresses the bridge may connect to.
//!
//! The bridge connects to Redis processes on the learner's behalf, from the command line or
//! from the browser; without a limit it would be an open proxy into whatever network the lab
//! runs in. Every address is resolved and checked against this list before any connection
//! (loopback only by default), and a refused one is said so.

use ipnet::IpNet;
use std::net::{SocketAddr, ToSocketAddrs};

#[derive(Clone, Debug)]
pub struct Allow {
    nets: Vec<IpNet>,
}

impl Allow {
    /// Loopback only: 127.0.0.0/8 and ::1.
    pub fn loopback() -> Allow {
        Allow { nets: vec!["127.0.0.0/8".parse().expect("a CIDR"), "::1/128".parse().expect("a CIDR")] }
    }

    /// From `--allow-attach` values (`10.0.0.0/24`, or a single address).
    pub fn parse(values: &[String]) -> Result<Allow, String> {
        let nets = values
            .iter()
            .flat_map(|v| v.split(','))
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<IpNet>()
                    .or_else(|_| v.parse::<std::net::IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("--allow-attach {}: not an address or CIDR range", v))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Allow { nets })
    }

    /// The address as "ip:port" if every address `addr` resolves to is admitted; else why not.
    pub fn admit(&self, addr: &str) -> Result<String, String> {
        let with_port = if addr.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
            addr.to_string()
        } else {
            format!("{}:6379", addr)
        };
        let resolved: Vec<SocketAddr> =
            with_port.to_socket_addrs().map_err(|e| format!("{}: cannot resolve: {}", addr, e))?.collect();
        let Some(first) = resolved.first() else { return Err(format!("{}: resolves to no address", addr)) };
        if let Some(bad) = resolved.iter().find(|a| !self.nets.iter().any(|n| n.contains(&a.ip()))) {
            return Err(format!(
                "{} ({}) is not in --allow-attach ({}): not connecting",
                addr,
                bad.ip(),
                self.nets.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")
            ));
        }
        Ok(first.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::Allow;

    #[test]
    fn only_admitted_addresses_pass() {
        let a = Allow::loopback();
        assert_eq!(a.admit("127.0.0.1:6379").unwrap(), "127.0.0.1:6379");
        assert_eq!(a.admit("127.9.9.9").unwrap(), "127.9.9.9:6379");
        assert!(a.admit("10.1.2.3:6379").unwrap_err().contains("not in --allow-attach"));
        let b = Allow::parse(&["10.0.0.0/24".into()]).unwrap();
        assert!(b.admit("10.0.0.7:7000").is_ok());
        assert!(b.admit("127.0.0.1:7000").is_err());
        assert!(Allow::parse(&["nonsense".into()]).is_err());
    }
}
