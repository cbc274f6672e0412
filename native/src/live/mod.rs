//! Lessons against live processes: `halab lesson run <file> --live`.
//!
//! Each node of the lesson becomes a real `halab server` process. The tutorials' addresses
//! (`192.168.131.148:6379`, or `127.0.0.1:6380`) are kept as the learner reads them, but every
//! distinct host is given its own loopback address for the run (`127.<run>.<run>.1`, `.2`, …):
//! ports stay those of the tutorial, nothing leaves 127.0.0.0/8, and two runs never collide.
//! Commands and config files are translated to the live addresses on the way in; replies, logs
//! and INFO are translated back on the way out, so a lesson's expectations hold unchanged.
//!
//! Kill is SIGKILL, restart starts the process again in the same directory (its dump.rdb
//! survives) once the old one has exited, and a `wait` step sleeps: it is the lesson's own pause.
//! Otherwise nothing here waits a fixed time for something to happen: a start waits until the
//! port accepts connections, a restart until the old process is gone, and the runner checks
//! expectations and read-only replies again for [`LessonTarget::patience_ms`] — replication and
//! logs are asynchronous, and a busy machine makes them slower, not different.
//!
//! Partitions need no privileges: each process listens on a private loopback address behind a
//! [`proxy::FaultProxy`] on its public one, and leaves from an address of its own, so the proxy
//! can cut, hold or delay what flows between any two processes — redis-server's as well as
//! halab's. `drop` (losing a share of messages) is the simulator's alone: TCP loses nothing.
//!
//! Addresses of one run, per lesson host `k` (1, 2, …) and node `n` (0, 1, …):
//!
//! ```text
//! 127.R.S.k          public: what peers, clients and config files name (the proxy listens)
//! 127.R.S.(64+k)     private: where the host's processes listen (`bind`)
//! 127.R.S.(128+n)    node n's outgoing connections (`bind-source-addr`): who it is, to the proxy
//! ```
//!
//! Protected mode (7.0 admits only 127.0.0.1 and ::1 without a password) sees the run's 127.R.S.k
//! peers as remote. A tutorial host that is itself loopback had all its peers on 127.0.0.1, so its
//! nodes get `protected-mode no` unless the lesson sets it; other hosts keep 7.0's rule, which
//! treats them as the separate machines they are in the tutorial.
//!
//! A sentinel announces itself by the address it leaves from (7.0's hello): the first sentinel
//! of a host leaves from the host's public address; any other is given `sentinel announce-ip`.

pub mod proxy;

use bytes::BytesMut;
use halab_core::lab::lesson::{LessonTarget, NodeSpec};
use halab_core::lab::sim::{Endpoint, Fault};
use halab_core::lab::view::{self, Observed, ViewModel};
use halab_core::resp::Frame;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct LiveNode {
    /// The lesson's address, and the live one.
    lesson_addr: String,
    live_host: String,
    port: u16,
    dir: PathBuf,
    conf: PathBuf,
    child: Option<Child>,
    /// Run as `halab sentinel` rather than `halab server`.
    sentinel: bool,
    /// Where the process itself listens, behind the proxy.
    private_host: String,
    /// The program it runs: `halab` (as `halab server|sentinel conf`), or Redis's own binary.
    program: Program,
}

/// What runs a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Program {
    Halab,
    /// `redis-server conf` or `redis-sentinel conf`, at this path.
    Redis(PathBuf),
}

impl LiveNode {
    /// Where peers and clients reach it: the proxy in front of it.
    fn live_addr(&self) -> String {
        format!("{}:{}", self.live_host, self.port)
    }
    fn private_addr(&self) -> String {
        format!("{}:{}", self.private_host, self.port)
    }
    fn log_path(&self) -> PathBuf {
        self.dir.join("redis.log")
    }
}

struct LiveClient {
    node: String,
    stream: Option<TcpStream>,
    inbox: BytesMut,
}

/// Live `halab server` processes on loopback, driven as a [`LessonTarget`].
pub struct LiveTarget {
    exe: PathBuf,
    root: PathBuf,
    /// Lesson host → live loopback host.
    hosts: Vec<(String, String)>,
    nodes: BTreeMap<String, LiveNode>,
    clients: BTreeMap<String, LiveClient>,
    started: Instant,
    /// Passwords the lesson configured or used, tried by the observer's INFO connections.
    passwords: Vec<String>,
    /// Private and source addresses → the lesson host they stand for (read back only).
    hidden_hosts: Vec<(String, String)>,
    proxy: proxy::FaultProxy,
    /// Nodes stopped by SIGSTOP.
    paused: std::collections::BTreeSet<String>,
    /// Which programs new nodes run.
    flavor: Flavor,
    /// Each node's last INFO and ROLE, drawn while it is paused.
    last_answers: std::cell::RefCell<BTreeMap<String, (String, Option<Frame>)>>,
    /// Redis's binaries, for the `redis` and `mixed` flavors.
    redis_server: PathBuf,
    redis_sentinel: PathBuf,
}

/// Which programs a deployment's nodes run.
pub use halab_core::lab::bridge::Flavor;

impl LiveTarget {
    pub fn new() -> std::io::Result<LiveTarget> {
        let pid = std::process::id();
        remove_stale_runs();
        let root = std::env::temp_dir().join(format!("halab-lesson-{}", pid));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root)?;
        Ok(LiveTarget {
            exe: std::env::current_exe()?,
            root,
            hosts: Vec::new(),
            nodes: BTreeMap::new(),
            clients: BTreeMap::new(),
            started: Instant::now(),
            passwords: Vec::new(),
            hidden_hosts: Vec::new(),
            proxy: proxy::FaultProxy::new()?,
            paused: Default::default(),
            flavor: Flavor::Halab,
            last_answers: Default::default(),
            redis_server: PathBuf::from("redis-server"),
            redis_sentinel: PathBuf::from("redis-sentinel"),
        })
    }

    /// Run the nodes added from now on with these programs (Redis's found at the paths given).
    pub fn with_programs(mut self, flavor: Flavor, redis_server: PathBuf, redis_sentinel: PathBuf) -> LiveTarget {
        self.flavor = flavor;
        self.redis_server = redis_server;
        self.redis_sentinel = redis_sentinel;
        self
    }

    /// The nodes: (name, lesson address, sentinel?), in name order.
    pub fn members(&self) -> Vec<(String, String, bool)> {
        self.nodes.iter().map(|(n, node)| (n.clone(), node.lesson_addr.clone(), node.sentinel)).collect()
    }

    /// The node's log lines (in the lesson's addresses).
    pub fn log_of(&self, name: &str) -> Vec<String> {
        self.node_logs(name)
    }

    /// Where the lab reaches a node (its proxy), for the bridge's own connections.
    pub fn live_addr_of(&self, name: &str) -> Option<String> {
        self.nodes.get(name).map(|n| n.live_addr())
    }

    /// Live addresses → the lesson's.
    pub fn lesson_text(&self, text: &str) -> String {
        self.to_lesson(text)
    }

    /// Passwords seen so far (configured or typed), which the observer tries.
    pub fn passwords(&self) -> &[String] {
        &self.passwords
    }

    /// `127.R.S.last` for this run.
    fn run_address(last: usize) -> String {
        let pid = std::process::id();
        format!("127.{}.{}.{}", 100 + pid % 100, (pid / 100) % 250, last)
    }

    /// The live host for a lesson host, allocated on first sight.
    fn live_host(&mut self, host: &str) -> String {
        if let Some((_, live)) = self.hosts.iter().find(|(h, _)| h == host) {
            return live.clone();
        }
        let k = self.hosts.len() + 1;
        let live = Self::run_address(k);
        self.hosts.push((host.to_string(), live.clone()));
        self.hidden_hosts.push((host.to_string(), Self::run_address(64 + k)));
        live
    }

    /// Lesson addresses → live ones.
    fn to_live(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (lesson, live) in &self.hosts {
            out = replace_host(&out, lesson, live);
        }
        out
    }

    /// Live addresses (public, private and source ones) → the lesson's.
    fn to_lesson(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (lesson, live) in self.hosts.iter().chain(&self.hidden_hosts) {
            out = replace_host(&out, live, lesson);
        }
        out
    }

    fn spawn(&mut self, name: &str) -> Result<(), String> {
        let node = self.nodes.get_mut(name).ok_or_else(|| format!("no node {}", name))?;
        let mut command = match &node.program {
            Program::Halab => {
                let mut c = Command::new(&self.exe);
                c.arg(if node.sentinel { "sentinel" } else { "server" });
                c
            }
            Program::Redis(path) => Command::new(path),
        };
        command.arg(&node.conf).current_dir(&node.dir);
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        // The servers die with the runner, even when it is interrupted before its Drop runs.
        // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and touches no Rust state.
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command.spawn().map_err(|e| format!("cannot start {}: {}", name, e))?;
        node.child = Some(child);
        let addr = node.private_addr();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if TcpStream::connect(&addr).is_ok() {
                // It accepts connections: let its peers reach it.
                return self.proxy.open(name).map_err(|e| format!("cannot listen for {}: {}", name, e));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!("{} did not start listening on {}", name, addr))
    }

    fn kill(&mut self, name: &str) {
        self.proxy.close(name);
        if let Some(mut child) = self.nodes.get_mut(name).and_then(|n| n.child.take()) {
            let _ = child.kill();
            let _ = child.wait();
        }
        for c in self.clients.values_mut().filter(|c| c.node == name) {
            c.stream = None;
        }
    }

    /// Send `signal` to the node's process (SIGSTOP / SIGCONT: a pause, as Jepsen makes one).
    fn signal(&mut self, name: &str, signal: libc::c_int) -> Result<(), String> {
        let pid = self.nodes.get(name).and_then(|n| n.child.as_ref()).map(|c| c.id() as i32);
        let Some(pid) = pid else { return Err(format!("{} is not running", name)) };
        // SAFETY: signalling our own child process.
        if unsafe { libc::kill(pid, signal) } != 0 {
            return Err(format!("{}: {}", name, std::io::Error::last_os_error()));
        }
        Ok(())
    }

    /// The two processes a network fault is between (faults between a client and a node are the
    /// simulator's: the proxy knows processes by the address they leave from).
    fn proxied_pair(&self, a: &Endpoint, b: &Endpoint) -> Result<(String, String), String> {
        match (a, b) {
            (Endpoint::Node(a), Endpoint::Node(b)) if self.nodes.contains_key(a) && self.nodes.contains_key(b) => {
                Ok((a.clone(), b.clone()))
            }
            _ => Err("live, the network between two processes can be cut or delayed, not a client's".to_string()),
        }
    }

    /// What the proxy does to the links, drawn on them (what only the lab knows, as the
    /// simulator's faults are).
    fn draw_faults(&self, model: &mut ViewModel) {
        let (blocked, delays) = self.proxy.faults();
        for link in &mut model.links {
            let there = (link.from.clone(), link.to.clone());
            let back = (link.to.clone(), link.from.clone());
            if blocked.contains(&there) || blocked.contains(&back) {
                link.state = view::LinkState::Cut;
            }
            if let Some((_, ms)) = delays.iter().find(|(k, _)| *k == there || *k == back) {
                link.extra_latency_ms = *ms;
            }
        }
        for node in &mut model.nodes {
            if self.paused.contains(&node.name) {
                node.flags.push("paused".into());
            }
            node.sentinel |= self.nodes.get(&node.name).is_some_and(|n| n.sentinel);
        }
    }

    /// Flip the last byte of the node's dump.rdb, as the simulator's disk fault does.
    fn corrupt_rdb(&mut self, name: &str) -> Result<(), String> {
        let node = self.nodes.get(name).ok_or_else(|| format!("no node {}", name))?;
        let path = node.dir.join("dump.rdb");
        let mut bytes = std::fs::read(&path).map_err(|e| format!("{}: {}", path.display(), e))?;
        let last = bytes.last_mut().ok_or_else(|| format!("{} is empty", path.display()))?;
        *last ^= 0xff;
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {}", path.display(), e))
    }

    fn node_up(&mut self, name: &str) -> bool {
        match self.nodes.get_mut(name).and_then(|n| n.child.as_mut()) {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    fn node_logs(&self, name: &str) -> Vec<String> {
        let Some(node) = self.nodes.get(name) else { return Vec::new() };
        let text = std::fs::read_to_string(node.log_path()).unwrap_or_default();
        text.lines().map(|l| self.to_lesson(l)).collect()
    }

    /// Send one command on the client's connection and read one reply.
    fn roundtrip(&mut self, client: &str, args: &[Vec<u8>]) -> std::io::Result<Frame> {
        let c = self.clients.get_mut(client).ok_or_else(|| std::io::Error::other("no such client"))?;
        if c.stream.is_none() {
            let node = self.nodes.get(&c.node).ok_or_else(|| std::io::Error::other("no such node"))?;
            let s = TcpStream::connect(node.live_addr())?;
            s.set_read_timeout(Some(Duration::from_secs(10)))?;
            c.stream = Some(s);
            c.inbox.clear();
        }
        call(c.stream.as_mut().unwrap(), &mut c.inbox, args)
    }
}

impl Drop for LiveTarget {
    fn drop(&mut self) {
        let names: Vec<String> = self.nodes.keys().cloned().collect();
        for n in names {
            self.kill(&n);
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Remove the directories of earlier runs whose runner is gone (interrupted before cleaning up).
fn remove_stale_runs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("halab-lesson-").and_then(|p| p.parse::<u32>().ok()) else { continue };
        if !std::path::Path::new(&format!("/proc/{}", pid)).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Replace `from` by `to` where `from` is a whole host (not part of a longer number).
fn replace_host(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let glued = |c: char| c.is_ascii_digit() || c == '.';
        let before_ok = if at > 0 { !rest[..at].ends_with(glued) } else { !out.ends_with(glued) };
        let after = &rest[at + from.len()..];
        let longer_number = after.starts_with(|c: char| c.is_ascii_digit())
            || (after.starts_with('.') && after[1..].starts_with(|c: char| c.is_ascii_digit()));
        let after_ok = !longer_number;
        out.push_str(&rest[..at]);
        out.push_str(if before_ok && after_ok { to } else { from });
        rest = after;
    }
    out.push_str(rest);
    out
}

fn host_port(addr: &str) -> (String, u16) {
    match addr.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.parse().unwrap_or(6379)),
        None => (addr.to_string(), 6379),
    }
}

impl LessonTarget for LiveTarget {
    fn add_node(&mut self, spec: &NodeSpec) {
        let (host, port) = host_port(&spec.addr);
        let live_host = self.live_host(&host);
        // Hosts named in the config (replicaof …) need their live address too.
        for other in spec.config.split_whitespace() {
            if other.parse::<std::net::Ipv4Addr>().is_ok() {
                self.live_host(other);
            }
        }
        let words: Vec<&str> = spec.config.split_whitespace().collect();
        for w in words.windows(2) {
            if w[0] == "requirepass" {
                self.passwords.push(w[1].trim_matches('"').to_string());
            }
        }
        let dir = self.root.join(&spec.name);
        let _ = std::fs::create_dir_all(&dir);
        let conf = dir.join("redis.conf");
        let k = self.hosts.iter().position(|(h, _)| *h == host).map_or(1, |i| i + 1);
        let private_host = Self::run_address(64 + k);
        // Who it is to the proxy: the address it leaves from (see the module doc).
        let shares_public = spec.sentinel && !self.nodes.values().any(|n| n.sentinel && n.live_host == live_host);
        let (source, announce) = if shares_public {
            (live_host.clone(), String::new())
        } else {
            let n = 128 + self.nodes.len();
            let source = if n <= 254 { Self::run_address(n) } else { live_host.clone() };
            self.hidden_hosts.push((host.clone(), source.clone()));
            let announce = if spec.sentinel { format!("sentinel announce-ip {}\n", live_host) } else { String::new() };
            (source, announce)
        };
        // A tutorial host on loopback has its peers on 127.0.0.1, which protected mode admits;
        // here they come from the run's 127.R.S.k addresses, which 7.0 counts as remote. Keep
        // the tutorial's behaviour: its node would never have seen a remote peer.
        let loopback_host = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        let protected = if loopback_host && !spec.sentinel && !words.contains(&"protected-mode") {
            "# the tutorial's peers were all on 127.0.0.1 (see the runner's notes)\nprotected-mode no\n"
        } else {
            ""
        };
        let text = format!(
            "{}\n{}# HA Lab live lesson: where this node runs (its peers reach it through the lab's proxy on {}:{})\nbind {}\nbind-source-addr {}\n{}port {}\ndir {}\nlogfile {}\nenable-debug-command local\n",
            self.to_live(&spec.config),
            protected,
            live_host,
            port,
            private_host,
            source,
            announce,
            port,
            dir.display(),
            dir.join("redis.log").display()
        );
        let _ = std::fs::write(&conf, text);
        let program = match (self.flavor, self.nodes.len() % 2) {
            (Flavor::Halab, _) | (Flavor::Mixed, 0) => Program::Halab,
            _ if spec.sentinel => Program::Redis(self.redis_sentinel.clone()),
            _ => Program::Redis(self.redis_server.clone()),
        };
        let public: std::net::SocketAddr = format!("{}:{}", live_host, port).parse().expect("a loopback address");
        let private: std::net::SocketAddr = format!("{}:{}", private_host, port).parse().expect("a loopback address");
        self.proxy.add(proxy::ProxiedNode {
            name: spec.name.clone(),
            public,
            private,
            source: source.parse().expect("a loopback address"),
        });
        self.nodes.insert(
            spec.name.clone(),
            LiveNode {
                lesson_addr: spec.addr.clone(),
                live_host,
                port,
                dir,
                conf,
                child: None,
                sentinel: spec.sentinel,
                private_host,
                program,
            },
        );
        if let Err(e) = self.spawn(&spec.name) {
            eprintln!("{}", e);
        }
    }

    fn add_client(&mut self, name: &str, node: &str) {
        self.clients
            .insert(name.to_string(), LiveClient { node: node.to_string(), stream: None, inbox: BytesMut::new() });
    }

    fn command(&mut self, client: &str, args: &[Vec<u8>]) -> Option<Frame> {
        // Every host the command names must have a live address (REPLICAOF 10.0.0.9 6379).
        for a in args {
            if let Ok(s) = std::str::from_utf8(a) {
                if s.parse::<std::net::Ipv4Addr>().is_ok() {
                    self.live_host(s);
                }
            }
        }
        let words: Vec<String> = args.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        if let Some(pos) = words.iter().position(|w| w.eq_ignore_ascii_case("requirepass")) {
            if let Some(pw) = words.get(pos + 1) {
                self.passwords.push(pw.clone());
            }
        }
        if words.first().is_some_and(|w| w.eq_ignore_ascii_case("auth")) {
            if let Some(pw) = words.last() {
                self.passwords.push(pw.clone());
            }
        }
        let live: Vec<Vec<u8>> = words.iter().map(|w| self.to_live(w).into_bytes()).collect();
        let frame = match self.roundtrip(client, &live) {
            Ok(f) => f,
            Err(_) => {
                // The node may have restarted since: reconnect once, as redis-cli does.
                if let Some(c) = self.clients.get_mut(client) {
                    c.stream = None;
                }
                self.roundtrip(client, &live).ok()?
            }
        };
        Some(map_frame(&frame, &|s| self.to_lesson(s)))
    }

    fn fault(&mut self, fault: Fault) -> Result<(), String> {
        match fault {
            Fault::Kill { node } => {
                self.kill(&node);
                Ok(())
            }
            Fault::Restart { node } => {
                // A node told to SHUTDOWN may still be saving: wait for it to exit (a busy
                // machine makes that slow). One still running is an error, not a restart.
                let deadline = Instant::now() + Duration::from_secs(10);
                while self.node_up(&node) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
                if self.node_up(&node) {
                    return Err(format!("{} is still running: it cannot be restarted", node));
                }
                self.spawn(&node)
            }
            Fault::ClockJump { node, ms } => {
                // A process cannot have its clock moved without privileges; stopping it for as
                // long (SIGSTOP … SIGCONT) makes it see the same gap when it runs again.
                self.signal(&node, libc::SIGSTOP)?;
                std::thread::sleep(Duration::from_millis(ms));
                self.signal(&node, libc::SIGCONT)
            }
            Fault::Pause { node } => {
                self.signal(&node, libc::SIGSTOP)?;
                self.paused.insert(node);
                Ok(())
            }
            Fault::Resume { node } => {
                self.paused.remove(&node);
                self.signal(&node, libc::SIGCONT)
            }
            Fault::Cut { from, to, one_way } => {
                let (a, b) = self.proxied_pair(&from, &to)?;
                self.proxy.cut(&a, &b, one_way);
                Ok(())
            }
            Fault::Hold { a, b } => {
                let (a, b) = self.proxied_pair(&a, &b)?;
                self.proxy.cut(&a, &b, false);
                Ok(())
            }
            Fault::Heal { a, b } | Fault::Release { a, b } => {
                let (a, b) = self.proxied_pair(&a, &b)?;
                self.proxy.heal(&a, &b);
                Ok(())
            }
            Fault::Delay { a, b, ms } => {
                let (a, b) = self.proxied_pair(&a, &b)?;
                self.proxy.delay(&a, &b, ms);
                Ok(())
            }
            Fault::Drop { .. } => {
                Err("losing a share of messages is the simulator's alone: TCP loses nothing".to_string())
            }
            Fault::CorruptRdb { node } => self.corrupt_rdb(&node),
        }
    }

    fn wait(&mut self, ms: u64) {
        std::thread::sleep(Duration::from_millis(ms));
    }

    fn logs(&self, node: &str) -> Vec<String> {
        self.node_logs(node)
    }

    /// Processes answer asynchronously (a replica gets a write after its master answered it):
    /// expectations and read-only commands may be checked again for 2 s (`core::lab::lesson`).
    fn patience_ms(&self) -> u64 {
        2000
    }

    fn view(&self) -> ViewModel {
        let names: Vec<String> = self.nodes.keys().cloned().collect();
        let mut answers = Vec::new();
        for name in &names {
            let node = &self.nodes[name];
            // A stopped process answers nothing: draw it as it was when it stopped.
            let answer = if self.paused.contains(name) {
                self.last_answers.borrow().get(name).cloned()
            } else {
                let answer = observe_node(&node.live_addr(), &self.passwords, true)
                    .map(|(info, role)| (self.to_lesson(&info), role.map(|r| map_frame(&r, &|s| self.to_lesson(s)))));
                if let Some(a) = &answer {
                    self.last_answers.borrow_mut().insert(name.clone(), a.clone());
                }
                answer
            };
            answers.push((name.clone(), node.lesson_addr.clone(), answer));
        }
        let logs: Vec<Vec<String>> = names.iter().map(|n| self.node_logs(n)).collect();
        let observed: Vec<Observed> = answers
            .iter()
            .zip(&logs)
            .map(|((name, addr, answer), logs)| Observed {
                name,
                addr,
                info: answer.as_ref().map(|(info, _)| info.as_str()),
                role: answer.as_ref().and_then(|(_, role)| role.as_ref()),
                logs,
            })
            .collect();
        let mut model = view::from_observed(&observed, self.started.elapsed().as_millis() as u64);
        self.draw_faults(&mut model);
        model
    }

    fn info(&mut self, node: &str) -> Option<String> {
        let addr = self.nodes.get(node)?.live_addr();
        info_of(&addr, &self.passwords).map(|i| self.to_lesson(&i))
    }

    /// The file on disk, in the lesson's addresses (with the lines the runner added to place
    /// the process: bind, port, dir, logfile).
    fn config_file(&self, node: &str) -> Option<String> {
        let text = std::fs::read_to_string(&self.nodes.get(node)?.conf).ok()?;
        Some(self.to_lesson(&text))
    }
}

/// Send one command and read one reply (bytes after it stay in `inbox`); a reply larger than 64 MiB or malformed is an error.
pub(crate) fn call<A: AsRef<[u8]>>(stream: &mut TcpStream, inbox: &mut BytesMut, args: &[A]) -> std::io::Result<Frame> {
    stream.write_all(&Frame::command(args))?;
    let mut buf = [0u8; 16384];
    loop {
        match Frame::decode(inbox) {
            Ok(Some(frame)) => return Ok(frame),
            Ok(None) => {}
            Err(_) => return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "Protocol error")),
        }
        if inbox.len() > 64 << 20 {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "reply too large"));
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "Server closed the connection"));
        }
        inbox.extend_from_slice(&buf[..n]);
    }
}

/// `INFO everything` over a fresh connection, authenticating with the first password that
/// works when the node asks for one.
fn info_of(addr: &str, passwords: &[String]) -> Option<String> {
    observe_node(addr, passwords, false).map(|(info, _)| info)
}

/// `INFO everything` and, when `with_role`, `ROLE` over one fresh connection (authenticating
/// with the first password that works when the node asks for one): what the observer reads of
/// a node.
pub(crate) fn observe_node(addr: &str, passwords: &[String], with_role: bool) -> Option<(String, Option<Frame>)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut inbox = BytesMut::new();
    let mut ask = |s: &mut TcpStream, args: &[&[u8]]| call(s, &mut inbox, args).ok();
    let mut reply = ask(&mut s, &[b"INFO", b"everything"])?;
    if matches!(&reply, Frame::Error(e) if e.starts_with("NOAUTH")) {
        for pw in passwords.iter().rev() {
            if matches!(ask(&mut s, &[b"AUTH", pw.as_bytes()])?, Frame::Simple(_)) {
                break;
            }
        }
        reply = ask(&mut s, &[b"INFO", b"everything"])?;
    }
    let info = match reply {
        Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        Frame::Verbatim { text, .. } => String::from_utf8_lossy(&text).into_owned(),
        _ => return None,
    };
    let role = if with_role { ask(&mut s, &[b"ROLE"]).filter(|r| matches!(r, Frame::Array(_))) } else { None };
    Some((info, role))
}

/// Translate every string in a reply.
fn map_frame(f: &Frame, map: &dyn Fn(&str) -> String) -> Frame {
    match f {
        Frame::Bulk(b) => Frame::Bulk(map(&String::from_utf8_lossy(b)).into_bytes().into()),
        Frame::Simple(s) => Frame::Simple(map(s)),
        Frame::Error(s) => Frame::Error(map(s)),
        Frame::Array(items) => Frame::Array(items.iter().map(|i| map_frame(i, map)).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::replace_host;

    #[test]
    fn hosts_are_replaced_whole() {
        assert_eq!(replace_host("REPLICAOF 127.0.0.1 6379", "127.0.0.1", "127.7.7.1"), "REPLICAOF 127.7.7.1 6379");
        assert_eq!(replace_host("127.0.0.12:5 127.0.0.1:5", "127.0.0.1", "X"), "127.0.0.12:5 X:5");
        assert_eq!(replace_host("1127.0.0.1", "127.0.0.1", "X"), "1127.0.0.1");
    }
}
