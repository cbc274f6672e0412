//! # The `--cluster` manager — redis-cli 7.0's cluster tooling as a client state machine
//!
//! `redis-cli --cluster create|check|info|fix|reshard|rebalance|add-node|del-node|call|
//! set-timeout|import|help` builds and operates a Redis Cluster from the outside: it is an
//! ordinary client that connects to every node and sends them `CLUSTER ADDSLOTS`,
//! `CLUSTER MEET`, `CLUSTER SETSLOT … IMPORTING|MIGRATING|NODE`, `MIGRATE … KEYS …` in the
//! right order. The nodes do the rest (gossip spreads the configuration). This module is that
//! client, written once for both worlds: natively `halab cli --cluster …` drives it over TCP
//! (native/src/admin.rs), in the simulator a lesson step drives it over simulated links.
//!
//! ## The contract (the node's, on the client side)
//!
//! ```text
//! let mut m = Manager::new(&argv, &env, seed);
//! m.handle(now, AdminInput::Tick);                 // start; then every completion:
//!      Connected { conn, result } | Data { conn, bytes } | Closed { conn }
//!      | Answer(line) | EndOfInput | FileWritten { path, result } | Tick
//! while let Some(out) = m.poll() {                 // Connect { conn, addr } | Send { conn, bytes }
//!     …                                            // | Close { conn } | Print(text) | PrintErr(text)
//! }                                                // | Prompt(text) | WriteFile { path, bytes }
//!                                                  // | Exit { code }
//! let next = m.poll_timeout();                     // the end of a `sleep(1)`, if one is awaited
//! ```
//!
//! After every `handle`, drain `poll` until `None`, then read `poll_timeout`. `now` is
//! milliseconds (any origin; only differences matter). `Exit` is the last output; after it the
//! manager does nothing. `Print` is stdout exactly as redis-cli writes it — including the
//! dots of a wait and of a slot move, which have no newline — and `PrintErr` stderr. A
//! `Prompt` is printed text that waits for an `Answer` (the line typed, without its newline)
//! or `EndOfInput`. Connection ids are the manager's own, numbered from 1 in the order it
//! connects; a driver maps each to a TCP stream (native/src/admin.rs) or, in the simulator, to
//! a client link into the world. A run waits on one thing at a time — one reply, one timer,
//! one answer — exactly as redis-cli's blocking calls do.
//!
//! ## How the sequential code becomes a state machine
//!
//! redis-cli's subcommands are long sequential functions over blocking calls. Rewriting each
//! as a hand-made enum of states would bury the procedure a learner wants to read. Instead
//! every subcommand here is an `async fn` reading top to bottom like its redis-cli original
//! (each names the function it follows), awaiting a [`session::Session`] for each request,
//! timer and prompt; the compiler builds the state machine. [`Manager`] owns the future and
//! polls it after every input with a waker that does nothing — no executor, no thread, no
//! clock: a future can only move when an input arrives, so the run is exactly as
//! deterministic as the inputs. The simulator records and replays those inputs like a node's.
//!
//! ## The files
//!
//! ```text
//!   options.rs     the command line (parseOptions, validateClusterManagerCommand)
//!   session.rs     connections, calls, sleeps, prompts as awaitables; the output queue
//!   topology.rs    ManagedNode, CLUSTER NODES → the cluster as the manager sees it, the
//!                  agreement check and the wait for a join
//!   allocation.rs  create's masters, slots and replicas, and anti-affinity
//!   create.rs      create
//!   check.rs       check, info, fix (open slots, uncovered slots, multiple owners)
//!   dict_order.rs  the order redis-cli's hash tables give the slots it lists and fixes
//!   migration.rs   moving a slot (SETSLOT, GETKEYSINSLOT, MIGRATE), reshard, rebalance
//!   membership.rs  add-node, del-node
//!   fleet.rs       call, set-timeout, import, backup, help
//! ```

mod allocation;
mod check;
mod create;
mod dict_order;
mod fleet;
mod membership;
mod migration;
pub mod options;
mod session;
mod topology;

use crate::net::ConnId;
use options::{ClusterOptions, Environment, Parsed};
use session::Session;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use topology::{ClusterManager, Ctx};

/// What the driver tells the manager.
#[derive(Debug, Clone, PartialEq)]
pub enum AdminInput {
    /// Time passed (and the first input starts the run).
    Tick,
    /// A `Connect` completed: `Err` carries the system's words ("Connection refused").
    Connected { conn: ConnId, result: Result<(), String> },
    /// Bytes a node sent.
    Data { conn: ConnId, bytes: Vec<u8> },
    /// The node closed the connection.
    Closed { conn: ConnId },
    /// The line the user typed at a prompt, without its newline.
    Answer(String),
    /// The terminal's input ended.
    EndOfInput,
    /// A `WriteFile` completed (`Err`: the system's words).
    FileWritten { path: String, result: Result<(), String> },
}

/// What the manager asks the driver to do.
#[derive(Debug, Clone, PartialEq)]
pub enum AdminOutput {
    /// Open a TCP connection to `addr` (`host:port`) and report `Connected`.
    Connect {
        conn: ConnId,
        addr: String,
    },
    Send {
        conn: ConnId,
        bytes: Vec<u8>,
    },
    Close {
        conn: ConnId,
    },
    /// Write to stdout, as is.
    Print(String),
    /// Write to stderr, as is.
    PrintErr(String),
    /// Write to stdout, then read a line and report `Answer` (or `EndOfInput`).
    Prompt(String),
    /// Create or truncate the file at `path` with `bytes` and report `FileWritten` (`backup`'s
    /// RDB files and nodes.json).
    WriteFile {
        path: String,
        bytes: Vec<u8>,
    },
    /// The run is over: the process's exit code.
    Exit {
        code: i32,
    },
}

struct IdleWaker;
impl Wake for IdleWaker {
    fn wake(self: Arc<Self>) {}
}

/// One `--cluster` run.
pub struct Manager {
    session: Session,
    task: Option<Pin<Box<dyn Future<Output = i32>>>>,
    exited: bool,
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager").field("running", &self.task.is_some()).finish()
    }
}

impl Manager {
    /// A run of the command line `argv` (everything after the program's name: the
    /// `--cluster` subcommand and the options around it). `seed` feeds the choices redis-cli
    /// makes with `rand()` (anti-affinity swaps, `fix`'s random master).
    pub fn new(argv: &[String], env: &Environment, seed: u64) -> Manager {
        let session = Session::new(env.color);
        match options::parse(argv, env) {
            Parsed::Exit { stderr, code } => {
                session.eprint(stderr);
                session.0.borrow_mut().outputs.push_back(AdminOutput::Exit { code });
                Manager { session, task: None, exited: true }
            }
            Parsed::Run { options, warnings } => {
                for w in warnings {
                    session.eprint(w);
                }
                Self::with_options(session, *options, seed)
            }
        }
    }

    fn with_options(session: Session, options: ClusterOptions, seed: u64) -> Manager {
        let ctx = Ctx { s: session.clone(), o: options };
        let task = Box::pin(async move {
            let mut cm = ClusterManager::new(ctx, seed);
            let code = run(&mut cm).await;
            cm.release();
            code
        });
        Manager { session, task: Some(task), exited: false }
    }

    /// Feed one input, then let the run go as far as it can.
    pub fn handle(&mut self, now_ms: u64, input: AdminInput) {
        {
            let mut io = self.session.0.borrow_mut();
            io.now_ms = io.now_ms.max(now_ms);
            match input {
                AdminInput::Tick => {}
                AdminInput::Connected { conn, result } => io.connected(conn, result),
                AdminInput::Data { conn, bytes } => io.data(conn, &bytes),
                AdminInput::Closed { conn } => io.closed(conn),
                AdminInput::Answer(line) => io.answer(Some(line)),
                AdminInput::EndOfInput => io.answer(None),
                AdminInput::FileWritten { path, result } => io.file_written(path, result),
            }
        }
        let Some(task) = self.task.as_mut() else { return };
        let waker = Waker::from(Arc::new(IdleWaker));
        let done = match task.as_mut().poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(code) => Some(code),
            Poll::Pending => self.session.0.borrow().exit_code,
        };
        if let Some(code) = done {
            self.task = None;
            self.exited = true;
            self.session.0.borrow_mut().outputs.push_back(AdminOutput::Exit { code });
        }
    }

    /// The next thing to do, in order.
    pub fn poll(&mut self) -> Option<AdminOutput> {
        self.session.0.borrow_mut().outputs.pop_front()
    }

    /// When to send a `Tick`: the end of the sleep being awaited.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.exited {
            return None;
        }
        self.session.0.borrow().wake_at_ms
    }

    /// Whether the run has ended (its `Exit` may still wait in `poll`).
    pub fn is_done(&self) -> bool {
        self.exited
    }
}

/// `clusterManagerMode`: run the subcommand; success is exit code 0.
async fn run(cm: &mut ClusterManager) -> i32 {
    let ok = match cm.ctx.o.name.as_str() {
        "create" => create::create(cm).await,
        "check" => check::check_command(cm).await,
        "fix" => {
            cm.ctx.o.fix = true;
            check::check_command(cm).await
        }
        "info" => check::info_command(cm).await,
        "reshard" => migration::reshard(cm).await,
        "rebalance" => migration::rebalance(cm).await,
        "add-node" => membership::add_node(cm).await,
        "del-node" => membership::del_node(cm).await,
        "call" => fleet::call(cm).await,
        "set-timeout" => fleet::set_timeout(cm).await,
        "import" => fleet::import(cm).await,
        "backup" => fleet::backup(cm).await,
        "help" => fleet::help(cm),
        _ => false,
    };
    if ok {
        0
    } else {
        1
    }
}

/// The manager driven by canned replies: a node table answered by closures, for tests.
#[cfg(test)]
pub(crate) mod canned;
