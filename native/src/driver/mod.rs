//! The tokio driver: the core's [`Node`] driven on one thread, as Redis runs its event loop on
//! one thread.
//!
//! The driver is deliberately thin. It owns the sockets, the clock, the files and the process;
//! the node decides everything else, and the driver keeps the node's contract (see
//! `halab_core::node`): after every input it drains the outputs and carries them out, then
//! re-arms its timer from `poll_timeout`. One current-thread runtime runs:
//!
//! * an accept loop per listening address, which tells the node `Connected`;
//! * a task per connection, which reads bytes, hands them to the node, and writes whatever the
//!   node queued for that connection (its own replies, or pub/sub messages other clients
//!   caused);
//! * a timer task, which sleeps until [`Node::poll_timeout`] and then hands the node a `Tick`
//!   (and, once a second, the process's figures as `Input::ProcessStats`);
//! * a task per outbound connection the node asks for (`Output::Connect`: a replica's link to
//!   its master, MIGRATE's link to its target), which connects and then runs like any
//!   connection;
//! * a signal task (SIGTERM, SIGINT, SIGABRT → `Input::Signal`).
//!
//! All of them share the node through an `Rc<RefCell<…>>` — no locks and no channel hop per
//! command, since everything runs on the same thread. Background saves encode the snapshot on a
//! blocking thread and report back, so clients keep being served meanwhile.
//!
//! It listens where `bind` says, as redis-server does (`bind * -::*` is every interface;
//! protected mode then turns away non-loopback clients while no password is set), and connects
//! wherever the node asks (`replicaof` another host). The project's own tests and lessons stay
//! on 127.0.0.0/8 by configuring their addresses. The machine it drives is a `Node`; a second
//! kind (a Sentinel) needs only its own `Input`/`Output` mapping in `Shared::drain`.

use bytes::{Buf, Bytes, BytesMut};
use halab_core::config::Config;
use halab_core::log::{LogLevel, LogLine};
use halab_core::node::shutdown::Signal;
use halab_core::node::{
    ConnId, Input, ListenFailure, Node, NodeOptions, Output, PersistJob, ProcessStats, StartUp, StoredRdb,
};
use halab_core::rdb;

mod disk;
mod log;
pub(crate) mod os;

use disk::{persist_done, write_rdb};
pub use log::LogSink;
pub(crate) use os::io_error_text;
use os::{crash, open_listeners, process_stats, unix_listen};
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener};
use tokio::sync::Notify;

/// Unix time in ms: the only clock the node ever sees.
fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// What the driver keeps per connection: bytes waiting to be written, and a way to wake the
/// connection's task when another client's command queued something for it.
struct Conn {
    out: VecDeque<Bytes>,
    /// Close once everything queued is written ([`Output::Close`]).
    close: bool,
    /// Close now, unsent bytes dropped ([`Output::Abort`]).
    abort: bool,
    wake: Rc<Notify>,
}

struct Shared {
    node: Node,
    conns: HashMap<ConnId, Conn>,
    log: LogSink,
    /// Deadline the timer task is sleeping towards.
    timer_armed: Option<u64>,
    timer_wake: Rc<Notify>,
    config_file: Option<String>,
    exit: Option<i32>,
    exit_wake: Rc<Notify>,
    /// Outbound connections being opened; one the node closes meanwhile is dropped when the
    /// connect completes.
    connecting: std::collections::HashSet<ConnId>,
    /// The accept loops of the TCP listeners in use.
    accepting: Vec<tokio::task::JoinHandle<()>>,
    /// Background persist jobs running on a blocking thread, each with the flag that kills it
    /// ([`Output::CancelPersist`], Redis's `killRDBChild`).
    persisting: HashMap<u64, Arc<AtomicBool>>,
    /// A sentinel's scripts running, by the node's id: their process ids (to kill one that
    /// runs too long).
    scripts: HashMap<u64, u32>,
    /// The last connection id given out.
    next_conn: Rc<std::cell::Cell<u64>>,
}

impl Shared {
    /// Accept clients on these listeners.
    fn listen(&mut self, listeners: Vec<std::net::TcpListener>) {
        let shared = SHARED.with(|s| s.borrow().clone()).expect("driver state");
        for l in listeners {
            match TcpListener::from_std(l) {
                Ok(l) => {
                    let task = tokio::task::spawn_local(accept_loop(l, shared.clone(), self.next_conn.clone()));
                    self.accepting.push(task);
                }
                Err(e) => self.log.driver(
                    self.node.role_char(),
                    LogLevel::Warning,
                    format!("Failed listening: {}", io_error_text(&e)),
                ),
            }
        }
    }

    /// Carry out everything the node asked for. `current` is the connection whose task is
    /// running (its own writes need no wake-up).
    fn drain(&mut self, current: Option<ConnId>) {
        while let Some(out) = self.node.poll() {
            match out {
                Output::Send { conn, bytes } => {
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.out.push_back(bytes);
                        if current != Some(conn) {
                            c.wake.notify_one();
                        }
                    }
                }
                Output::Close { conn } => {
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.close = true;
                        c.wake.notify_one();
                    }
                    self.connecting.remove(&conn);
                }
                Output::Abort { conn } => {
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.abort = true;
                        c.out.clear();
                        c.wake.notify_one();
                    }
                    self.connecting.remove(&conn);
                }
                Output::Connect { conn, addr } => {
                    self.connecting.insert(conn);
                    let shared = SHARED.with(|s| s.borrow().clone()).expect("driver state");
                    tokio::task::spawn_local(outbound(addr, conn, shared));
                }
                Output::Log(line) => self.log.write(&line),
                Output::Persist(job) => self.persist(job),
                Output::CancelPersist { job } => {
                    if let Some(killed) = self.persisting.remove(&job) {
                        killed.store(true, Ordering::Relaxed);
                    }
                }
                Output::Exit { code } => {
                    self.exit = Some(code);
                    self.exit_wake.notify_one();
                }
                Output::Crash => crash(),
                Output::Stall { ms } => std::thread::sleep(Duration::from_millis(ms)),
                Output::RunScript { id, argv } => self.run_script(id, argv),
                Output::KillScript { id } => {
                    if let Some(&pid) = self.scripts.get(&id) {
                        // SAFETY: signalling a child process we started.
                        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                    }
                }
                Output::RewriteConfig { conn } => {
                    let result = self.rewrite_config();
                    self.node.handle(now_ms(), Input::ConfigRewritten { conn, result });
                }
                Output::Listen { conn, bind, port } => {
                    // The new listeners replace the old ones only if all of them open.
                    let result = match open_listeners(&bind, port) {
                        Ok(l) => {
                            for task in self.accepting.drain(..) {
                                task.abort();
                            }
                            self.listen(l);
                            Ok(())
                        }
                        Err((_, e)) => Err(io_error_text(&e)),
                    };
                    self.node.handle(now_ms(), Input::Listened { conn, result });
                }
            }
        }
        if let Some(next) = self.node.poll_timeout() {
            if self.timer_armed.is_none_or(|armed| next < armed) {
                self.timer_wake.notify_one();
            }
        }
    }

    fn persist(&mut self, job: PersistJob) {
        if job.background {
            let id = job.id;
            let killed = Arc::new(AtomicBool::new(false));
            self.persisting.insert(id, killed.clone());
            let handle = tokio::task::spawn_blocking(move || write_rdb(&job, &killed));
            let shared = SHARED.with(|s| s.borrow().clone()).expect("driver state");
            tokio::task::spawn_local(async move {
                let outcome = handle.await.unwrap_or_else(|e| Err(e.to_string()));
                let mut s = shared.borrow_mut();
                s.persisting.remove(&id);
                s.node.handle(now_ms(), persist_done(id, outcome));
                s.drain(None);
            });
        } else {
            let outcome = write_rdb(&job, &AtomicBool::new(false));
            self.node.handle(now_ms(), persist_done(job.id, outcome));
        }
    }

    /// Start a sentinel's script; its end is reported when the process exits (one that cannot
    /// be started ends at once with exit code 2, as a failed `execve` in Redis's child does).
    fn run_script(&mut self, id: u64, argv: Vec<String>) {
        use std::os::unix::process::ExitStatusExt;
        let child = std::process::Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(_) => {
                self.node.handle(now_ms(), Input::ScriptExited { id, exit_code: 2, signal: 0 });
                return;
            }
        };
        self.scripts.insert(id, child.id());
        let handle = tokio::task::spawn_blocking(move || child.wait());
        let shared = SHARED.with(|s| s.borrow().clone()).expect("driver state");
        tokio::task::spawn_local(async move {
            let status = handle.await.ok().and_then(|r| r.ok());
            let (exit_code, signal) = match status {
                Some(st) => (st.code().unwrap_or(0), st.signal().unwrap_or(0)),
                None => (2, 0),
            };
            let mut s = shared.borrow_mut();
            s.scripts.remove(&id);
            s.node.handle(now_ms(), Input::ScriptExited { id, exit_code, signal });
            s.drain(None);
        });
    }

    fn rewrite_config(&mut self) -> Result<(), String> {
        let path = self.config_file.clone().ok_or("no config file")?;
        let original = std::fs::read_to_string(&path).unwrap_or_default();
        // 7.0 writes its working directory as `dir` (`rewriteConfigDirOption`).
        let cwd = std::env::current_dir().map(|d| d.display().to_string()).map_err(|e| e.to_string())?;
        let text = self.node.rewrite_config_text(&original, &cwd);
        let tmp = format!("{}.tmp-{}", path, std::process::id());
        std::fs::write(&tmp, text).map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, &path).map_err(|e| e.to_string())
    }
}

thread_local! {
    /// The driver's shared state, reachable from background-save completions.
    static SHARED: RefCell<Option<Rc<RefCell<Shared>>>> = const { RefCell::new(None) };
}

/// Serve a node configured by `cfg` until it exits; returns the exit code.
pub async fn serve(mut cfg: Config, config_file: Option<String>, log: LogSink) -> i32 {
    // Open what the node will serve on first; the node logs how it went (Input::Start).
    let (listeners, listen) = match open_listeners(&cfg.get_str("bind"), cfg.port()) {
        Ok(l) => {
            let n = l.len();
            (l, Ok(n))
        }
        Err((addr, e)) => (Vec::new(), Err(ListenFailure::Tcp { addr, error: io_error_text(&e) })),
    };
    let unix_path = cfg.get_str("unixsocket");
    let mut unix_listener = None;
    let listen = match listen {
        Ok(n) if !unix_path.is_empty() => match unix_listen(&unix_path, &cfg.get_str("unixsocketperm")) {
            Ok(l) => {
                unix_listener = Some(l);
                Ok(n)
            }
            Err(e) => Err(ListenFailure::Unix { error: io_error_text(&e) }),
        },
        other => other,
    };
    if let Ok(cwd) = std::env::current_dir() {
        let _ = cfg.set_as(&[(b"dir".as_slice(), cwd.display().to_string().as_bytes())], true);
    }
    let seed = now_ms() ^ ((std::process::id() as u64) << 32);
    let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default();
    let mut node = Node::new(NodeOptions {
        seed,
        pid: std::process::id(),
        config: cfg,
        config_file: config_file.clone(),
        executable: exe,
        start_ms: now_ms(),
        logs_to_terminal: std::io::IsTerminal::is_terminal(&std::io::stdout()),
        is_executable: os::is_executable,
    });
    node.handle(now_ms(), Input::ProcessStats(process_stats()));
    let disk = std::fs::read(node.rdb_path());
    let unreadable;
    let rdb = match &disk {
        Ok(image) => StoredRdb::Image(image),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => StoredRdb::Absent,
        Err(e) => {
            unreadable = io_error_text(e);
            StoredRdb::Unreadable(&unreadable)
        }
    };
    node.handle(now_ms(), Input::Start(StartUp { listen, rdb }));
    drop(disk);
    let shared = Rc::new(RefCell::new(Shared {
        node,
        conns: HashMap::new(),
        log,
        timer_armed: None,
        timer_wake: Rc::new(Notify::new()),
        config_file,
        exit: None,
        exit_wake: Rc::new(Notify::new()),
        connecting: Default::default(),
        accepting: Vec::new(),
        persisting: HashMap::new(),
        scripts: HashMap::new(),
        next_conn: Rc::new(std::cell::Cell::new(0)),
    }));
    SHARED.with(|s| *s.borrow_mut() = Some(shared.clone()));
    {
        let mut s = shared.borrow_mut();
        s.drain(None);
        // The start-up failed (cannot listen, cannot load): the node said why and asked to exit.
        if let Some(code) = s.exit {
            return code;
        }
        s.node.handle(now_ms(), Input::Ready);
        s.drain(None);
    }
    let next_conn = shared.borrow().next_conn.clone();
    shared.borrow_mut().listen(listeners);
    if let Some(listener) = unix_listener {
        tokio::task::spawn_local(accept_unix_loop(listener, unix_path.clone(), shared.clone(), next_conn.clone()));
    }
    tokio::task::spawn_local(timer_loop(shared.clone()));
    tokio::task::spawn_local(signal_loop(shared.clone()));
    let exit_wake = shared.borrow().exit_wake.clone();
    loop {
        if let Some(code) = shared.borrow().exit {
            return code;
        }
        exit_wake.notified().await;
    }
}

async fn signal_loop(shared: Rc<RefCell<Shared>>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int), Ok(mut abort)) =
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()), signal(SignalKind::from_raw(libc::SIGABRT)))
    else {
        return;
    };
    loop {
        let which = tokio::select! {
            _ = term.recv() => Signal::Term,
            _ = int.recv() => Signal::Int,
            _ = abort.recv() => Signal::Abort,
        };
        let mut s = shared.borrow_mut();
        s.node.handle(now_ms(), Input::Signal(which));
        s.drain(None);
    }
}

async fn timer_loop(shared: Rc<RefCell<Shared>>) {
    let wake = shared.borrow().timer_wake.clone();
    let mut last_stats = 0u64;
    loop {
        let deadline = shared.borrow().node.poll_timeout();
        let Some(deadline) = deadline else { return };
        shared.borrow_mut().timer_armed = Some(deadline);
        let wait = deadline.saturating_sub(now_ms());
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(wait)) => {
                let now = now_ms();
                let mut s = shared.borrow_mut();
                if now.saturating_sub(last_stats) >= 1000 {
                    last_stats = now;
                    s.node.handle(now, Input::ProcessStats(process_stats()));
                }
                s.timer_armed = None;
                s.node.handle(now, Input::Tick);
                s.drain(None);
            }
            _ = wake.notified() => {}
        }
    }
}

/// `unixsocket`: the same service on a Unix domain socket. Its clients show as
/// `<socket path>:0`, as Redis names them.
async fn accept_unix_loop(
    listener: UnixListener,
    path: String,
    shared: Rc<RefCell<Shared>>,
    next_conn: Rc<std::cell::Cell<u64>>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let id = next_conn.get() + 1;
        next_conn.set(id);
        let wake = Rc::new(Notify::new());
        let addr = format!("{}:0", path);
        {
            let mut s = shared.borrow_mut();
            s.conns.insert(id, Conn { out: VecDeque::new(), close: false, abort: false, wake: wake.clone() });
            s.node.handle(now_ms(), Input::Connected { conn: id, addr: addr.clone(), laddr: addr });
            s.drain(Some(id));
        }
        tokio::task::spawn_local(connection(stream, id, wake, shared.clone()));
    }
}

async fn accept_loop(listener: TcpListener, shared: Rc<RefCell<Shared>>, next_conn: Rc<std::cell::Cell<u64>>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().map(|a| a.to_string()).unwrap_or_default();
        let id = next_conn.get() + 1;
        next_conn.set(id);
        let wake = Rc::new(Notify::new());
        {
            let mut s = shared.borrow_mut();
            s.conns.insert(id, Conn { out: VecDeque::new(), close: false, abort: false, wake: wake.clone() });
            s.node.handle(now_ms(), Input::Connected { conn: id, addr: peer.to_string(), laddr: local });
            s.drain(Some(id));
        }
        tokio::task::spawn_local(connection(stream, id, wake, shared.clone()));
    }
}

/// Open an outbound connection for the node (a replica's link to its master), then run it.
async fn outbound(addr: String, id: ConnId, shared: Rc<RefCell<Shared>>) {
    let (host, port) = addr.rsplit_once(':').unwrap_or((&addr, ""));
    let target = if host.eq_ignore_ascii_case("localhost") { format!("127.0.0.1:{}", port) } else { addr.clone() };
    // Like Redis, leave from `bind-source-addr`, or else the first bind address, so the
    // master sees who we are.
    let source = {
        let s = shared.borrow();
        let explicit = s.node.config().get_str("bind-source-addr");
        if explicit.is_empty() {
            s.node.config().get_str("bind").split_whitespace().next().unwrap_or("").to_string()
        } else {
            explicit
        }
    };
    let result = match connect_from(&source, &target).await {
        Ok(stream) => Ok(stream),
        Err(e) => Err(io_error_text(&e)),
    };
    let wake = Rc::new(Notify::new());
    let stream = {
        let mut s = shared.borrow_mut();
        let wanted = s.connecting.remove(&id);
        match result {
            Ok(stream) if wanted => {
                let _ = stream.set_nodelay(true);
                let laddr = stream.local_addr().map(|a| a.to_string()).unwrap_or_default();
                s.conns.insert(id, Conn { out: VecDeque::new(), close: false, abort: false, wake: wake.clone() });
                s.node.handle(now_ms(), Input::Outbound { conn: id, result: Ok(laddr) });
                s.drain(None);
                Some(stream)
            }
            Ok(_) => None,
            Err(e) => {
                if wanted {
                    s.node.handle(now_ms(), Input::Outbound { conn: id, result: Err(e) });
                    s.drain(None);
                }
                None
            }
        }
    };
    if let Some(stream) = stream {
        connection(stream, id, wake, shared).await;
    }
}

/// Connect to `target`, bound first to `source` when it is a specific address.
pub(crate) async fn connect_from(source: &str, target: &str) -> std::io::Result<TcpStream> {
    let target: SocketAddr = match target.parse() {
        Ok(a) => a,
        Err(_) => return TcpStream::connect(target).await,
    };
    let source = source.trim_start_matches('-').parse::<IpAddr>().ok().filter(|ip| !ip.is_unspecified());
    let socket = if target.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    if let Some(ip) = source.filter(|ip| ip.is_ipv4() == target.is_ipv4()) {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    socket.connect(target).await
}

/// One client connection: read → node → write, until either side closes. Reading goes on
/// while output waits for the peer, and each write tells the node how much the socket took
/// ([`Input::Written`]): what it has not taken is the client's output buffer.
async fn connection<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    id: ConnId,
    wake: Rc<Notify>,
    shared: Rc<RefCell<Shared>>,
) {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let mut buf = vec![0u8; 16 * 1024];
    let mut pending: VecDeque<Bytes> = VecDeque::new();
    loop {
        let (close, abort) = {
            let mut s = shared.borrow_mut();
            match s.conns.get_mut(&id) {
                Some(c) => {
                    pending.extend(c.out.drain(..));
                    (c.close, c.abort)
                }
                None => (true, true),
            }
        };
        if abort || (close && pending.is_empty()) {
            break;
        }
        coalesce(&mut pending);
        tokio::select! {
            biased;
            w = writer.write(pending.front().map_or(&[][..], |b| &b[..])), if !pending.is_empty() => {
                match w {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let front = pending.front_mut().expect("a chunk was written");
                        front.advance(n);
                        if front.is_empty() {
                            pending.pop_front();
                        }
                        // Bookkeeping in the node: it produces no output.
                        shared.borrow_mut().node.handle(now_ms(), Input::Written { conn: id, bytes: n });
                    }
                }
            }
            r = reader.read(&mut buf), if !close => {
                match r {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let mut s = shared.borrow_mut();
                        s.node.handle(now_ms(), Input::Data { conn: id, bytes: &buf[..n] });
                        s.drain(Some(id));
                    }
                }
            }
            _ = wake.notified() => {}
        }
    }
    let _ = writer.shutdown().await;
    let mut s = shared.borrow_mut();
    s.conns.remove(&id);
    s.node.handle(now_ms(), Input::Closed { conn: id });
    s.drain(None);
}

/// Join small queued chunks into one, so that a pipeline's replies leave in one write; big
/// ones (a snapshot for a replica) go as they are, without a copy.
fn coalesce(pending: &mut VecDeque<Bytes>) {
    if pending.len() < 2 {
        return;
    }
    let total: usize = pending.iter().map(|c| c.len()).sum();
    if total > 256 * 1024 {
        return;
    }
    let mut joined = BytesMut::with_capacity(total);
    for c in pending.drain(..) {
        joined.extend_from_slice(&c);
    }
    pending.push_back(joined.freeze());
}
