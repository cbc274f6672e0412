//! Watching a deployment the lab did not start, only through what any Redis answers.
//!
//! From one address the observer finds the rest, as a person with redis-cli would: a master's
//! `INFO` lists its replicas (`slaveN:ip=…,port=…`), a replica's names its master
//! (`master_host`, `master_port`), a sentinel's `INFO sentinel` names the masters it watches,
//! and `SENTINEL REPLICAS` / `SENTINEL SENTINELS <name>` their replicas and the other
//! sentinels. Every address found is checked against the lab's `--allow-attach` list before
//! the observer connects to it; one that is not admitted is reported, never contacted.
//!
//! Each poll asks every member `INFO everything` and `ROLE` over the observer's own connection
//! to it, kept between polls (opened again, with `AUTH` when the deployment has a password,
//! after any error or timeout, so a stale reply never answers the next question), and builds
//! the lab's view with
//! [`view::from_observed`], the same function that draws supervised processes. A member that
//! refuses, times out or answers garbage is drawn down; the poll goes on.

use super::allow::Allow;
use crate::live::call;
use bytes::BytesMut;
use halab_core::lab::observe::info_field;
use halab_core::lab::view::{self, Observed, ViewModel};
use halab_core::resp::Frame;
use std::collections::BTreeMap;
use std::net::TcpStream;
use std::time::Duration;

/// How long the observer waits for a member's answer before drawing it down.
const ANSWER_TIMEOUT: Duration = Duration::from_millis(1000);

/// A member's `INFO everything` text and `ROLE` reply; `None` when it did not answer.
type Answer = Option<(String, Option<Frame>)>;

pub struct Attached {
    /// Addresses ("ip:port") in the order they were found; never shrinks (a member that
    /// disappears is drawn down).
    members: Vec<String>,
    password: Option<String>,
    allow: Allow,
    /// Addresses found but not admitted by `--allow-attach`, with why.
    pub refused: Vec<String>,
    /// The learner's terminal connection to each member.
    terminals: BTreeMap<String, (TcpStream, BytesMut)>,
    /// Sentinels among the members (their events are subscribed to).
    sentinels: Vec<String>,
    /// The observer's connection to each member.
    observers: BTreeMap<String, (TcpStream, BytesMut)>,
}

impl Attached {
    /// Attach to `addr`, if the allow list admits it (checked before any connection).
    pub fn new(addr: &str, password: Option<String>, allow: Allow) -> Result<Attached, String> {
        let addr = allow.admit(addr)?;
        Ok(Attached {
            members: vec![addr],
            password,
            allow,
            refused: Vec::new(),
            terminals: BTreeMap::new(),
            sentinels: Vec::new(),
            observers: BTreeMap::new(),
        })
    }

    pub fn sentinels(&self) -> &[String] {
        &self.sentinels
    }

    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    fn add_member(&mut self, addr: String) {
        if self.members.contains(&addr) || self.refused.iter().any(|r| r.starts_with(&addr)) {
            return;
        }
        match self.allow.admit(&addr) {
            Ok(a) => self.members.push(a),
            Err(e) => self.refused.push(e),
        }
    }

    /// Ask every member (and the members they lead to) and draw them.
    pub fn observe(&mut self, elapsed_ms: u64) -> ViewModel {
        let mut answers: Vec<(String, Answer)> = Vec::new();
        let mut i = 0;
        while i < self.members.len() {
            let addr = self.members[i].clone();
            let answer = self.ask_kept(&addr, &[&[b"INFO", b"everything"], &[b"ROLE"]]);
            let mut found = Vec::new();
            let parsed = answer.and_then(|frames| {
                let info = text_of(frames.first()?)?;
                let role = frames.get(1).filter(|r| matches!(r, Frame::Array(_))).cloned();
                found = self.discover(&addr, &info);
                Some((info, role))
            });
            for f in found {
                self.add_member(f);
            }
            answers.push((addr, parsed));
            i += 1;
        }
        let observed: Vec<Observed> = answers
            .iter()
            .map(|(addr, a)| Observed {
                name: addr,
                addr,
                info: a.as_ref().map(|(info, _)| info.as_str()),
                role: a.as_ref().and_then(|(_, r)| r.as_ref()),
                logs: &[],
            })
            .collect();
        view::from_observed(&observed, elapsed_ms)
    }

    /// The addresses one member's answers lead to.
    fn discover(&mut self, addr: &str, info: &str) -> Vec<String> {
        let mut found = Vec::new();
        if let (Some(h), Some(p)) = (info_field(info, "master_host"), info_field(info, "master_port")) {
            found.push(format!("{}:{}", h, p));
        }
        for line in info.lines().filter(|l| l.starts_with("slave") && l.contains(":ip=")) {
            let field = |k: &str| line.split([':', ',']).find_map(|kv| kv.strip_prefix(k)).map(str::to_string);
            if let (Some(ip), Some(port)) = (field("ip="), field("port=")) {
                found.push(format!("{}:{}", ip, port));
            }
        }
        // A sentinel: the masters it watches, their replicas and the other sentinels.
        let names: Vec<(String, String)> = info
            .lines()
            .filter(|l| l.starts_with("master") && l.contains(":name="))
            .filter_map(|l| {
                let field = |k: &str| l.split([':', ',']).find_map(|kv| kv.strip_prefix(k)).map(str::to_string);
                Some((field("name=")?, field("address=")?))
            })
            .collect();
        if !names.is_empty() && !self.sentinels.iter().any(|s| s == addr) {
            self.sentinels.push(addr.to_string());
        }
        for (name, master) in names {
            found.push(master);
            let n = name.as_bytes();
            let Some(frames) = self.ask_kept(addr, &[&[b"SENTINEL", b"REPLICAS", n], &[b"SENTINEL", b"SENTINELS", n]])
            else {
                continue;
            };
            for frame in frames {
                for entry in flat_maps(&frame) {
                    if let (Some(ip), Some(port)) = (entry.get("ip"), entry.get("port")) {
                        found.push(format!("{}:{}", ip, port));
                    }
                }
            }
        }
        found
    }

    /// Several commands on the observer's connection to `addr`; `None` if it cannot be reached
    /// or stops answering (the connection is dropped, and opened afresh next time).
    fn ask_kept(&mut self, addr: &str, commands: &[&[&[u8]]]) -> Option<Vec<Frame>> {
        for attempt in 0..2 {
            if !self.observers.contains_key(addr) {
                let sock: std::net::SocketAddr = addr.parse().ok()?;
                let mut s = TcpStream::connect_timeout(&sock, ANSWER_TIMEOUT).ok()?;
                s.set_read_timeout(Some(ANSWER_TIMEOUT)).ok()?;
                s.set_write_timeout(Some(ANSWER_TIMEOUT)).ok()?;
                let _ = s.set_nodelay(true);
                let mut inbox = BytesMut::new();
                if let Some(pw) = &self.password {
                    call(&mut s, &mut inbox, &[b"AUTH".as_slice(), pw.as_bytes()]).ok()?;
                }
                self.observers.insert(addr.to_string(), (s, inbox));
            }
            let (s, inbox) = self.observers.get_mut(addr).expect("just connected");
            let answers: std::io::Result<Vec<Frame>> = commands.iter().map(|cmd| call(s, inbox, cmd)).collect();
            match answers {
                Ok(frames) => return Some(frames),
                Err(_) => {
                    self.observers.remove(addr);
                    if attempt == 1 {
                        return None;
                    }
                }
            }
        }
        None
    }

    /// A command typed in a member's terminal (one connection per member, kept, as
    /// redis-cli keeps its own).
    pub fn command(&mut self, addr: &str, args: &[Vec<u8>]) -> Result<Frame, String> {
        if !self.members.iter().any(|m| m == addr) {
            return Err(format!("{} is not a member of the attached deployment", addr));
        }
        for attempt in 0..2 {
            if !self.terminals.contains_key(addr) {
                let s =
                    TcpStream::connect(addr).map_err(|e| format!("Could not connect to Redis at {}: {}", addr, e))?;
                let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                let mut inbox = BytesMut::new();
                let mut s = s;
                if let Some(pw) = &self.password {
                    let _ = call(&mut s, &mut inbox, &[b"AUTH".as_slice(), pw.as_bytes()]);
                }
                self.terminals.insert(addr.to_string(), (s, inbox));
            }
            let (s, inbox) = self.terminals.get_mut(addr).expect("just connected");
            match call(s, inbox, args) {
                Ok(f) => return Ok(f),
                Err(e) => {
                    self.terminals.remove(addr);
                    if attempt == 1 {
                        return Err(format!("Error: {}", e));
                    }
                }
            }
        }
        unreachable!("two attempts")
    }
}

fn text_of(frame: &Frame) -> Option<String> {
    match frame {
        Frame::Bulk(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Frame::Verbatim { text, .. } => Some(String::from_utf8_lossy(text).into_owned()),
        _ => None,
    }
}

/// `SENTINEL REPLICAS`-style replies: an array of flat field/value arrays.
fn flat_maps(frame: &Frame) -> Vec<BTreeMap<String, String>> {
    let Frame::Array(entries) = frame else { return Vec::new() };
    entries
        .iter()
        .filter_map(|e| match e {
            Frame::Array(kv) => Some(
                kv.chunks(2)
                    .filter_map(|p| match p {
                        [k, v] => Some((text_of(k).or_else(|| simple(k))?, text_of(v).or_else(|| simple(v))?)),
                        _ => None,
                    })
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

fn simple(f: &Frame) -> Option<String> {
    match f {
        Frame::Simple(s) => Some(s.clone()),
        Frame::Integer(i) => Some(i.to_string()),
        _ => None,
    }
}
