//! The manager's side of the driver contract: connections, requests, timers and the terminal,
//! as awaitable operations.
//!
//! redis-cli's cluster manager is sequential code over blocking hiredis calls:
//! `redisCommand(node->context, "CLUSTER NODES")` sends a request and waits for its reply,
//! `sleep(1)` waits a second, `read(fileno(stdin), …)` waits for the user. Here each of those
//! waits is an `.await` on a [`Session`], and the whole subcommand is one `async fn`. The
//! compiler turns that function into the explicit state machine the core needs — the point
//! where it stopped (which reply, which timer, which answer it waits for) is the future's
//! state — and [`super::Manager`] polls it whenever an input may have moved it:
//!
//! ```text
//!   Session::call(conn, ["CLUSTER","NODES"])   →  Output::Send { conn, bytes }   (queued now)
//!        … the future returns Pending …
//!   Input::Data { conn, bytes }                →  Frame::decode → the link's reply queue
//!   Manager polls the task                     →  the call's future takes the frame: Ready
//! ```
//!
//! Nothing here has a clock, a socket or a thread: `now` is what the last input said, a
//! connection is an id the driver maps to a TCP stream (natively) or a simulated link, and the
//! waker does nothing — a future is only ever polled from `Manager::handle`, so there is no
//! one to wake.

use crate::net::ConnId;
use crate::resp::Frame;
use bytes::BytesMut;
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::future::poll_fn;
use std::rc::Rc;
use std::task::Poll;

use super::AdminOutput;

/// How a message is coloured when colours are on (`clusterManagerLog`'s levels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LogLevel {
    Info,
    Warn,
    Err,
    Success,
}

impl LogLevel {
    fn escape(self) -> &'static str {
        match self {
            LogLevel::Info => "\x1b[29;1m",
            LogLevel::Warn => "\x1b[33;1m",
            LogLevel::Err => "\x1b[31;1m",
            LogLevel::Success => "\x1b[32;1m",
        }
    }
}

/// One connection to a node, as the manager sees it.
#[derive(Debug)]
struct Link {
    state: LinkState,
    /// Bytes received and not yet a whole frame.
    inbox: BytesMut,
    /// Whole replies not yet taken by a `call`.
    replies: VecDeque<Frame>,
    /// The link carries a raw byte stream now (SYNC's payload): no RESP decoding.
    raw: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum LinkState {
    Connecting,
    Open,
    /// The connect failed (the driver's error text), or the peer closed, or it sent bytes
    /// that are not RESP.
    Broken(String),
}

/// What the session shares between the manager (which feeds inputs and drains outputs) and the
/// running subcommand (which awaits).
#[derive(Debug, Default)]
pub(crate) struct Io {
    pub(crate) now_ms: u64,
    next_conn: ConnId,
    links: BTreeMap<ConnId, Link>,
    pub(crate) outputs: VecDeque<AdminOutput>,
    /// The deadline of the sleep being awaited.
    pub(crate) wake_at_ms: Option<u64>,
    /// A prompt is shown and its answer not yet given.
    pub(crate) prompting: bool,
    /// The answer given, not yet taken (`None` inside: the terminal's input ended).
    answer: Option<Option<String>>,
    /// stdin has ended: every later prompt is answered with nothing at once.
    input_ended: bool,
    pub(crate) color: bool,
    /// Files written by the driver, not yet awaited: (path, result).
    written: Vec<(String, Result<(), String>)>,
    /// `exit()` was called: the run stops where it stands.
    pub(crate) exit_code: Option<i32>,
}

impl Io {
    pub(crate) fn connected(&mut self, conn: ConnId, result: Result<(), String>) {
        if let Some(link) = self.links.get_mut(&conn) {
            link.state = match result {
                Ok(()) => LinkState::Open,
                Err(e) => LinkState::Broken(e),
            };
        }
    }

    pub(crate) fn data(&mut self, conn: ConnId, bytes: &[u8]) {
        let Some(link) = self.links.get_mut(&conn) else { return };
        link.inbox.extend_from_slice(bytes);
        while !link.raw {
            match Frame::decode(&mut link.inbox) {
                Ok(Some(frame)) => link.replies.push_back(frame),
                Ok(None) => break,
                Err(e) => {
                    link.state = LinkState::Broken(format!("Protocol error: {}", e.0));
                    break;
                }
            }
        }
    }

    pub(crate) fn closed(&mut self, conn: ConnId) {
        if let Some(link) = self.links.get_mut(&conn) {
            link.state = LinkState::Broken("Server closed the connection".into());
        }
    }

    pub(crate) fn file_written(&mut self, path: String, result: Result<(), String>) {
        self.written.push((path, result));
    }

    pub(crate) fn answer(&mut self, answer: Option<String>) {
        if answer.is_none() {
            self.input_ended = true;
        }
        if self.prompting {
            self.answer = Some(answer);
        }
    }
}

/// The running subcommand's handle on the world. Cheap to clone; every clone is the same
/// session.
#[derive(Clone, Debug)]
pub(crate) struct Session(pub(crate) Rc<RefCell<Io>>);

impl Session {
    pub(crate) fn new(color: bool) -> Session {
        Session(Rc::new(RefCell::new(Io { next_conn: 1, color, ..Io::default() })))
    }

    fn push(&self, out: AdminOutput) {
        self.0.borrow_mut().outputs.push_back(out);
    }

    /// Text for stdout, exactly as redis-cli's `printf` writes it.
    pub(crate) fn print(&self, text: impl Into<String>) {
        self.push(AdminOutput::Print(text.into()));
    }

    /// Text for stderr (`fprintf(stderr, …)`).
    pub(crate) fn eprint(&self, text: impl Into<String>) {
        self.push(AdminOutput::PrintErr(text.into()));
    }

    /// `clusterManagerLog`: stdout, wrapped in the level's colour when colours are on.
    pub(crate) fn log(&self, level: LogLevel, text: impl Into<String>) {
        let text = text.into();
        if self.0.borrow().color {
            self.print(format!("{}{}\x1b[0m", level.escape(), text));
        } else {
            self.print(text);
        }
    }

    pub(crate) fn info(&self, text: impl Into<String>) {
        self.log(LogLevel::Info, text)
    }
    pub(crate) fn warn(&self, text: impl Into<String>) {
        self.log(LogLevel::Warn, text)
    }
    pub(crate) fn err(&self, text: impl Into<String>) {
        self.log(LogLevel::Err, text)
    }
    pub(crate) fn ok(&self, text: impl Into<String>) {
        self.log(LogLevel::Success, text)
    }

    /// Open a connection (`redisConnect`); the driver's error text when it fails.
    pub(crate) async fn connect(&self, host: &str, port: u16) -> Result<ConnId, String> {
        let conn = {
            let mut io = self.0.borrow_mut();
            let conn = io.next_conn;
            io.next_conn += 1;
            io.links.insert(
                conn,
                Link { state: LinkState::Connecting, inbox: BytesMut::new(), replies: VecDeque::new(), raw: false },
            );
            io.outputs.push_back(AdminOutput::Connect { conn, addr: format!("{}:{}", host, port) });
            conn
        };
        poll_fn(|_| {
            let io = self.0.borrow();
            match &io.links[&conn].state {
                LinkState::Connecting => Poll::Pending,
                LinkState::Open => Poll::Ready(Ok(conn)),
                LinkState::Broken(e) => Poll::Ready(Err(e.clone())),
            }
        })
        .await
    }

    /// Close a connection (`redisFree`).
    pub(crate) fn close(&self, conn: ConnId) {
        let mut io = self.0.borrow_mut();
        if io.links.remove(&conn).is_some() {
            io.outputs.push_back(AdminOutput::Close { conn });
        }
    }

    /// Send one request and wait for its reply (`redisCommand`). `None` is hiredis's NULL
    /// reply: the connection broke before a reply came.
    pub(crate) async fn call<A: AsRef<[u8]>>(&self, conn: ConnId, args: &[A]) -> Option<Frame> {
        {
            let mut io = self.0.borrow_mut();
            match io.links.get(&conn) {
                Some(link) if link.state == LinkState::Open => {}
                _ => return None,
            }
            let bytes = Frame::command(args.iter().map(|a| a.as_ref()));
            io.outputs.push_back(AdminOutput::Send { conn, bytes });
        }
        poll_fn(|_| {
            let mut io = self.0.borrow_mut();
            let Some(link) = io.links.get_mut(&conn) else { return Poll::Ready(None) };
            if let Some(frame) = link.replies.pop_front() {
                return Poll::Ready(Some(frame));
            }
            match link.state {
                LinkState::Broken(_) => Poll::Ready(None),
                _ => Poll::Pending,
            }
        })
        .await
    }

    /// Write bytes as they are, and from now on read the link as a raw stream (redis-cli's
    /// `cliWriteConn` of `SYNC\r\n`, after which hiredis's parser is bypassed).
    pub(crate) fn send_raw(&self, conn: ConnId, bytes: &[u8]) -> bool {
        let mut io = self.0.borrow_mut();
        match io.links.get_mut(&conn) {
            Some(link) if link.state == LinkState::Open => link.raw = true,
            _ => return false,
        }
        io.outputs.push_back(AdminOutput::Send { conn, bytes: bytes.to_vec() });
        true
    }

    /// Up to `max` raw bytes from the link (`readConn`); `None` when it closed.
    pub(crate) async fn read_raw(&self, conn: ConnId, max: usize) -> Option<Vec<u8>> {
        poll_fn(|_| {
            let mut io = self.0.borrow_mut();
            let Some(link) = io.links.get_mut(&conn) else { return Poll::Ready(None) };
            if !link.inbox.is_empty() {
                let n = max.min(link.inbox.len());
                return Poll::Ready(Some(link.inbox.split_to(n).to_vec()));
            }
            match link.state {
                LinkState::Broken(_) => Poll::Ready(None),
                _ => Poll::Pending,
            }
        })
        .await
    }

    /// Ask the driver to write a whole file; its error text when it could not.
    pub(crate) async fn write_file(&self, path: &str, bytes: Vec<u8>) -> Result<(), String> {
        self.push(AdminOutput::WriteFile { path: path.to_string(), bytes });
        poll_fn(|_| {
            let mut io = self.0.borrow_mut();
            match io.written.iter().position(|(p, _)| p == path) {
                Some(i) => Poll::Ready(io.written.remove(i).1),
                None => Poll::Pending,
            }
        })
        .await
    }

    /// `exit(code)` in the middle of a subcommand: the run ends here, nothing after it runs.
    pub(crate) async fn exit(&self, code: i32) {
        self.0.borrow_mut().exit_code = Some(code);
        std::future::pending::<()>().await
    }

    /// Wait `ms` milliseconds of the driver's time (`sleep`).
    pub(crate) async fn sleep_ms(&self, ms: u64) {
        let deadline = {
            let mut io = self.0.borrow_mut();
            let deadline = io.now_ms + ms;
            io.wake_at_ms = Some(deadline);
            deadline
        };
        poll_fn(|_| {
            let mut io = self.0.borrow_mut();
            if io.now_ms >= deadline {
                io.wake_at_ms = None;
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }

    /// Show `text` and wait for the user's line (`read(fileno(stdin), …)`); `None` when the
    /// input has ended.
    pub(crate) async fn prompt(&self, text: impl Into<String>) -> Option<String> {
        {
            let mut io = self.0.borrow_mut();
            if io.input_ended {
                io.outputs.push_back(AdminOutput::Print(text.into()));
                return None;
            }
            io.prompting = true;
            io.answer = None;
            io.outputs.push_back(AdminOutput::Prompt(text.into()));
        }
        poll_fn(|_| {
            let mut io = self.0.borrow_mut();
            match io.answer.take() {
                Some(answer) => {
                    io.prompting = false;
                    Poll::Ready(answer)
                }
                None => Poll::Pending,
            }
        })
        .await
    }
}
