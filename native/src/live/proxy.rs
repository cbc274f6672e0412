//! The fault proxy: partitions and delays between live processes, without privileges.
//!
//! Cutting the network between two processes takes `iptables` or network namespaces, which an
//! unprivileged lab does not have. So every supervised process listens on a *private* loopback
//! address, and the proxy listens for it on its *public* one — the address its peers, clients
//! and config files name. Each process leaves from an address of its own (`bind-source-addr`),
//! so the proxy knows which process a connection comes from; it forwards the bytes both ways,
//! reconnecting upstream from the peer's public address so the process sees who it would have
//! seen without the proxy (a master's `slave0:ip=` is its replica's address).
//!
//! A fault is a rule on one direction between two processes:
//!
//! * **cut** (or hold): the proxy stops reading that direction. Nothing is lost — TCP never
//!   loses bytes — the sender's socket buffers fill and what it sent arrives when the link
//!   heals, as after a real partition shorter than TCP's retransmission timeout. Redis's own
//!   timeouts (`repl-timeout`, `down-after-milliseconds`) notice the silence and close their
//!   links, as they do on a real network. A connection opened during a cut is accepted and
//!   left silent, as a SYN lost in a partition leaves `connect()` waiting.
//! * **delay**: each chunk read is written `ms` later (a queue per direction, so latency does
//!   not add up under load).
//!
//! Connections from an address that is no supervised process (the learner's terminal, the
//! lab's observer) are never cut: faults are between processes. While a process is down its
//! public address does not listen either, so a peer gets `Connection refused` as it would
//! without the proxy: the supervisor opens the listener once the process accepts connections
//! and closes it when it kills the process; a process that exits by itself is noticed at the
//! next connection, which the proxy resets and stops listening.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// One supervised process as the proxy knows it.
#[derive(Clone, Debug)]
pub struct ProxiedNode {
    pub name: String,
    /// Where its peers reach it (through the proxy).
    pub public: SocketAddr,
    /// Where the process itself listens.
    pub private: SocketAddr,
    /// The address its outgoing connections leave from (`bind-source-addr`): how the proxy
    /// recognizes it.
    pub source: IpAddr,
}

/// One direction between two processes: (from, to).
pub type Direction = (String, String);

#[derive(Default)]
struct Rules {
    /// Directions (from, to) that are cut.
    blocked: HashSet<(String, String)>,
    /// Extra latency per direction, ms.
    delay_ms: HashMap<(String, String), u64>,
}

struct Shared {
    rules: Mutex<Rules>,
    /// Woken whenever a rule changes, so paused pumps look again.
    changed: Notify,
    /// Source address → process name.
    sources: Mutex<HashMap<IpAddr, (String, IpAddr)>>,
}

impl Shared {
    fn blocked(&self, from: &Option<String>, to: &str) -> bool {
        let Some(from) = from else { return false };
        self.rules.lock().unwrap().blocked.contains(&(from.clone(), to.to_string()))
    }
    fn delay(&self, from: &Option<String>, to: &str) -> u64 {
        let Some(from) = from else { return 0 };
        self.rules.lock().unwrap().delay_ms.get(&(from.clone(), to.to_string())).copied().unwrap_or(0)
    }
    /// Wait until `from → to` is not cut.
    async fn until_open(&self, from: &Option<String>, to: &str) {
        loop {
            let changed = self.changed.notified();
            if !self.blocked(from, to) {
                return;
            }
            changed.await;
        }
    }
}

/// The proxy: its own thread and event loop, driven from the (blocking) supervisor.
pub struct FaultProxy {
    shared: Arc<Shared>,
    /// The proxy's event loop, run by its own thread until the proxy is dropped.
    runtime: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    listeners: HashMap<String, JoinHandle<()>>,
    nodes: HashMap<String, ProxiedNode>,
}

impl FaultProxy {
    pub fn new() -> std::io::Result<FaultProxy> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new().name("fault-proxy".into()).spawn(move || {
            let _ = runtime.block_on(stopped);
        })?;
        Ok(FaultProxy {
            shared: Arc::new(Shared {
                rules: Mutex::new(Rules::default()),
                changed: Notify::new(),
                sources: Mutex::new(HashMap::new()),
            }),
            runtime: handle,
            stop: Some(stop),
            listeners: HashMap::new(),
            nodes: HashMap::new(),
        })
    }

    pub fn add(&mut self, node: ProxiedNode) {
        let public_ip = node.public.ip();
        self.shared.sources.lock().unwrap().insert(node.source, (node.name.clone(), public_ip));
        self.nodes.insert(node.name.clone(), node);
    }

    /// Start listening on the node's public address (its process accepts connections now).
    pub fn open(&mut self, name: &str) -> std::io::Result<()> {
        self.close(name);
        let node = self.nodes.get(name).ok_or_else(|| std::io::Error::other("no such node"))?.clone();
        let _guard = self.runtime.enter();
        let socket = TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        socket.bind(node.public)?;
        let listener = socket.listen(511)?;
        let shared = self.shared.clone();
        let handle = self.runtime.spawn(accept_loop(listener, node, shared));
        self.listeners.insert(name.to_string(), handle);
        Ok(())
    }

    /// Stop listening for the node (its process is being killed), and drop the connections
    /// it had, as the kernel drops a dead process's sockets.
    pub fn close(&mut self, name: &str) {
        if let Some(handle) = self.listeners.remove(name) {
            handle.abort();
        }
    }

    /// Cut `from → to` (and back unless `one_way`).
    pub fn cut(&self, from: &str, to: &str, one_way: bool) {
        let mut rules = self.shared.rules.lock().unwrap();
        rules.blocked.insert((from.to_string(), to.to_string()));
        if !one_way {
            rules.blocked.insert((to.to_string(), from.to_string()));
        }
        drop(rules);
        self.shared.changed.notify_waiters();
    }

    /// Undo cuts and delays between two processes, both ways.
    pub fn heal(&self, a: &str, b: &str) {
        let mut rules = self.shared.rules.lock().unwrap();
        for key in [(a.to_string(), b.to_string()), (b.to_string(), a.to_string())] {
            rules.blocked.remove(&key);
            rules.delay_ms.remove(&key);
        }
        drop(rules);
        self.shared.changed.notify_waiters();
    }

    /// `ms` more latency both ways between two processes (0 removes it).
    pub fn delay(&self, a: &str, b: &str, ms: u64) {
        let mut rules = self.shared.rules.lock().unwrap();
        for key in [(a.to_string(), b.to_string()), (b.to_string(), a.to_string())] {
            if ms == 0 {
                rules.delay_ms.remove(&key);
            } else {
                rules.delay_ms.insert(key, ms);
            }
        }
        drop(rules);
        self.shared.changed.notify_waiters();
    }

    /// The directions cut now, and the delays: what the view draws on live links.
    pub fn faults(&self) -> (Vec<Direction>, Vec<(Direction, u64)>) {
        let rules = self.shared.rules.lock().unwrap();
        let mut blocked: Vec<_> = rules.blocked.iter().cloned().collect();
        blocked.sort();
        let mut delays: Vec<_> = rules.delay_ms.iter().map(|(k, v)| (k.clone(), *v)).collect();
        delays.sort();
        (blocked, delays)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        for (_, h) in self.listeners.drain() {
            h.abort();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn accept_loop(listener: TcpListener, node: ProxiedNode, shared: Arc<Shared>) {
    // Connections live as long as the listener: aborting this task (the process was killed)
    // drops them all.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (downstream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of descriptors, or a connection reset before it was taken: try again soon
            // rather than spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let from = shared.sources.lock().unwrap().get(&peer.ip()).cloned();
        // A cut connection is left unanswered until it heals: connect upstream only then.
        let from_name = from.as_ref().map(|(n, _)| n.clone());
        if !shared.blocked(&from_name, &node.name) {
            match connect_upstream(&node, from.as_ref().map(|(_, ip)| *ip)).await {
                Ok(upstream) => {
                    connections.spawn(relay(downstream, upstream, from_name, node.name.clone(), shared.clone()));
                }
                Err(_) => {
                    // The process is gone by itself (SHUTDOWN, a crash): close this one and
                    // stop listening, so the next peer is refused as it would be.
                    drop(downstream);
                    return;
                }
            }
        } else {
            let node = node.clone();
            let shared = shared.clone();
            connections.spawn(async move {
                shared.until_open(&from_name, &node.name).await;
                if let Ok(upstream) = connect_upstream(&node, from.as_ref().map(|(_, ip)| *ip)).await {
                    relay(downstream, upstream, from_name, node.name.clone(), shared).await;
                }
            });
        }
        while connections.try_join_next().is_some() {}
    }
}

/// Connect to the process, leaving from the peer's public address when the peer is a
/// supervised process (so the process sees that address), else from wherever the kernel picks.
async fn connect_upstream(node: &ProxiedNode, from_public: Option<IpAddr>) -> std::io::Result<TcpStream> {
    let source = from_public.map(|ip| ip.to_string()).unwrap_or_default();
    crate::driver::connect_from(&source, &node.private.to_string()).await
}

/// Forward both directions until both have ended.
async fn relay(downstream: TcpStream, upstream: TcpStream, from: Option<String>, to: String, shared: Arc<Shared>) {
    let _ = downstream.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (down_rd, down_wr) = downstream.into_split();
    let (up_rd, up_wr) = upstream.into_split();
    let to_name = Some(to.clone());
    let from_label = from.clone().unwrap_or_default();
    let there = pump(down_rd, up_wr, from.clone(), to.clone(), shared.clone());
    let back = pump(up_rd, down_wr, to_name, from_label, shared.clone());
    tokio::join!(there, back);
}

/// One direction: read while the direction is open, write each chunk after the direction's
/// delay and once it is open.
async fn pump(
    mut rd: tokio::net::tcp::OwnedReadHalf,
    mut wr: tokio::net::tcp::OwnedWriteHalf,
    from: Option<String>,
    to: String,
    shared: Arc<Shared>,
) {
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(64);
    let reader = {
        let (from, to, shared) = (from.clone(), to.clone(), shared.clone());
        async move {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                shared.until_open(&from, &to).await;
                let n = match rd.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let due = Instant::now() + Duration::from_millis(shared.delay(&from, &to));
                if tx.send((due, buf[..n].to_vec())).await.is_err() {
                    break;
                }
            }
        }
    };
    // The writer owns the queue: when it stops (the peer went away), the reader's next send
    // fails and it stops too.
    let writer = async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            shared.until_open(&from, &to).await;
            if wr.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = wr.shutdown().await;
    };
    tokio::join!(reader, writer);
}
