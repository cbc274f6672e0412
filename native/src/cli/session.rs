//! One redis-cli session: its single connection and the loop that sends a command and prints
//! what comes back. Each function follows the redis-cli function it names:
//!
//! ```text
//! issue (issueCommandRepeat)           connect if there is no connection, or it broke, or -c
//!   │                                  moved it; ASKING first after an -ASK; then
//!   └─ send_command (cliSendCommand)   write the command `repeat` times, and for each
//!        └─ read_reply (cliReadReply)  read one reply: a -MOVED/-ASK under -c redirects
//!                                      (redirect.rs), an error under -e ends the program,
//!                                      anything else is formatted (format.rs) and printed
//! connect (cliConnect)                 TCP (or -s unix socket), then AUTH, SELECT -n, HELLO 3
//! ```
//!
//! The state redis-cli keeps beside the connection is kept here too, because the prompt shows
//! it: the selected database (`[1]`, updated by a successful SELECT, restored after a failed
//! EXEC or a DISCARD), `(TX)` between MULTI and EXEC, and the node a redirection moved to.
//!
//! How a broken connection is reported depends on who is typing. A one-shot command prints
//! `Error: Server closed the connection` and exits 1. The REPL (and commands piped on stdin,
//! which run through the same REPL) prints the same line, forgets the connection — the prompt
//! becomes `not connected> ` — and connects again before the next command, printing
//! `Could not connect to Redis at 127.0.0.1:6379: Connection refused` while it cannot.

use super::format::{prints_verbatim, OutputMode};
use super::redirect::{Redirect, RedirectKind};
use super::reply::{Reply, ReplyReader, TYPE_ERROR, TYPE_NIL};
use super::Options;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

/// How the connection failed, as hiredis classes it (`REDIS_ERR_IO`, `_EOF`, `_PROTOCOL`):
/// the REPL survives the first two when the peer reset or closed, and nothing else.
#[derive(Debug, Clone, PartialEq)]
enum LinkError {
    Io { errno: i32, text: String },
    Eof,
    Protocol(String),
}

impl LinkError {
    fn text(&self) -> &str {
        match self {
            LinkError::Io { text, .. } => text,
            LinkError::Eof => "Server closed the connection",
            LinkError::Protocol(t) => t,
        }
    }

    fn from_io(e: &std::io::Error) -> LinkError {
        LinkError::Io { errno: e.raw_os_error().unwrap_or(0), text: strerror(e) }
    }
}

/// C's `strerror` for an OS error; the message itself for any other.
fn strerror(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            // SAFETY: strerror returns a pointer to a NUL-terminated static or thread-local
            // string, read at once.
            let s = unsafe { std::ffi::CStr::from_ptr(libc::strerror(code)) };
            s.to_string_lossy().into_owned()
        }
        None => e.to_string(),
    }
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Stream::Tcp(s) => s.write_all(bytes),
            Stream::Unix(s) => s.write_all(bytes),
        }
    }
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
    fn raw_fd(&self) -> i32 {
        use std::os::fd::AsRawFd;
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
        }
    }
}

/// The socket of a MONITOR or SUBSCRIBE in progress, which Ctrl-C cuts (-1: none).
static BLOCKING_FD: AtomicI32 = AtomicI32::new(-1);
/// Set by Ctrl-C when it cut [`BLOCKING_FD`].
static BLOCKING_ABORTED: AtomicBool = AtomicBool::new(false);

/// `sigIntHandler`: Ctrl-C at the prompt ends redis-cli; during MONITOR or SUBSCRIBE it only
/// cuts that connection, and the session reconnects and returns to the prompt. Installed by
/// the REPL only, as in redis-cli.
pub fn install_sigint_handler() {
    extern "C" fn on_sigint(_: libc::c_int) {
        let fd = BLOCKING_FD.load(Ordering::SeqCst);
        if fd >= 0 {
            BLOCKING_ABORTED.store(true, Ordering::SeqCst);
            // SAFETY: shutdown is async-signal-safe; the fd belongs to the live link.
            unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
        } else {
            // SAFETY: _exit is async-signal-safe; stdout is flushed after every write.
            unsafe { libc::_exit(1) };
        }
    }
    // SAFETY: installing a handler that only touches atomics and async-signal-safe calls.
    unsafe { libc::signal(libc::SIGINT, on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t) };
}

/// hiredis's `redisContext`: a stream, its reader, and the error that broke it (sticky: once
/// set, every call fails with it).
struct Link {
    stream: Stream,
    reader: ReplyReader,
    error: Option<LinkError>,
}

impl Link {
    fn send(&mut self, argv: &[Vec<u8>]) -> Result<(), LinkError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let mut wire = Vec::with_capacity(16 + argv.iter().map(|a| a.len() + 16).sum::<usize>());
        wire.extend_from_slice(format!("*{}\r\n", argv.len()).as_bytes());
        for a in argv {
            wire.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            wire.extend_from_slice(a);
            wire.extend_from_slice(b"\r\n");
        }
        self.stream.write_all(&wire).map_err(|e| self.fail(LinkError::from_io(&e)))
    }

    fn read(&mut self) -> Result<Reply, LinkError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            match self.reader.next_reply() {
                Ok(Some(r)) => return Ok(r),
                Ok(None) => {}
                Err(p) => return Err(self.fail(LinkError::Protocol(p.0))),
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(self.fail(LinkError::Eof)),
                Ok(n) => self.reader.feed(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.fail(LinkError::from_io(&e))),
            }
        }
    }

    fn fail(&mut self, e: LinkError) -> LinkError {
        self.error = Some(e.clone());
        e
    }
}

/// What is done with a RESP3 push that arrives outside a reply (hiredis's push callback).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PushHandler {
    /// Print it (`cliPushHandler`): stdout is a terminal, or `--show-pushes yes`.
    Print,
    /// hiredis's default: drop it.
    Drop,
    /// None set: a push is a reply like any other (while subscribed).
    InBand,
}

/// The session: options, the connection, and the state the prompt shows.
pub struct Session {
    pub opts: Options,
    link: Option<Link>,
    /// The database the connection has selected (`config.dbnum`).
    dbnum: i64,
    in_multi: bool,
    pre_multi_dbnum: i64,
    /// Typed at a prompt or piped on stdin (the REPL), rather than a one-shot command.
    pub interactive: bool,
    /// -c: the last reply redirected the command, send it again to the new node.
    reissue: bool,
    send_asking: bool,
    shutdown: bool,
    monitor_mode: bool,
    pubsub_mode: bool,
    last_type: i32,
    push: PushHandler,
    /// `help <command>`'s table, read from the server once.
    help_entries: Option<Vec<super::help::HelpEntry>>,
}

impl Session {
    pub fn new(opts: Options) -> Session {
        let push = if opts.push_output { PushHandler::Print } else { PushHandler::Drop };
        Session {
            opts,
            link: None,
            dbnum: 0,
            in_multi: false,
            pre_multi_dbnum: 0,
            interactive: false,
            reissue: false,
            send_asking: false,
            shutdown: false,
            monitor_mode: false,
            pubsub_mode: false,
            last_type: -1,
            push,
            help_entries: None,
        }
    }

    /// `cliRefreshPrompt`: `127.0.0.1:6379`, `[::1]:6379` or `redis /tmp/redis.sock`, then
    /// `[db]` unless 0, `(TX)` inside MULTI, and `> `. `not connected> ` without a connection.
    pub fn prompt(&self) -> String {
        if self.link.is_none() {
            return "not connected> ".to_string();
        }
        let mut p = match &self.opts.socket {
            Some(path) => format!("redis {}", path),
            None if self.opts.host.contains(':') => format!("[{}]:{}", self.opts.host, self.opts.port),
            None => format!("{}:{}", self.opts.host, self.opts.port),
        };
        if self.dbnum != 0 {
            p.push_str(&format!("[{}]", self.dbnum));
        }
        if self.in_multi {
            p.push_str("(TX)");
        }
        p.push_str("> ");
        p
    }

    /// The REPL's `connect host port`.
    pub fn connect_to(&mut self, host: &str, port: i64) {
        self.opts.host = host.to_string();
        self.opts.port = port;
        self.connect(true, false);
    }

    /// `cliConnect`. `force` drops a live connection first; `quiet` keeps a failed
    /// connection attempt silent (the one-shot mode's first try: the command's own attempt
    /// reports it). Returns false when the connection, AUTH, SELECT or HELLO failed — the
    /// connection stays after a refused AUTH, as in redis-cli, so the command that follows
    /// gets the server's NOAUTH.
    pub fn connect(&mut self, force: bool, quiet: bool) -> bool {
        if self.link.is_some() && !force {
            return true;
        }
        if self.link.take().is_some() {
            self.dbnum = 0;
            self.in_multi = false;
        }
        let stream = match self.open_stream() {
            Ok(s) => s,
            Err(text) => {
                if !quiet {
                    match &self.opts.socket {
                        Some(path) => eprintln!("Could not connect to Redis at {}: {}", path, text),
                        None => {
                            eprintln!("Could not connect to Redis at {}:{}: {}", self.opts.host, self.opts.port, text)
                        }
                    }
                }
                return false;
            }
        };
        self.link = Some(Link { stream, reader: ReplyReader::new(), error: None });
        self.auth() && self.select() && self.switch_protocol()
    }

    /// hiredis's `redisConnect`: resolve (IPv4 addresses first, as hiredis tries them), then
    /// connect to each address until one accepts; TCP_NODELAY and redis-cli's 15 s keepalive.
    fn open_stream(&self) -> Result<Stream, String> {
        if let Some(path) = &self.opts.socket {
            return UnixStream::connect(path).map(Stream::Unix).map_err(|e| strerror(&e));
        }
        if !(0..=65535).contains(&self.opts.port) {
            return Err("Servname not supported for ai_socktype".to_string());
        }
        let mut addrs: Vec<SocketAddr> = (self.opts.host.as_str(), self.opts.port as u16)
            .to_socket_addrs()
            .map_err(|e| {
                let t = e.to_string();
                t.strip_prefix("failed to lookup address information: ").unwrap_or(&t).to_string()
            })?
            .collect();
        addrs.sort_by_key(|a| !a.is_ipv4());
        let mut last = "Name or service not known".to_string();
        for addr in addrs {
            match TcpStream::connect(addr) {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    keepalive(&s, 15);
                    return Ok(Stream::Tcp(s));
                }
                Err(e) => last = strerror(&e),
            }
        }
        Err(last)
    }

    /// A command of the session's own (AUTH, SELECT, HELLO, ASKING), as `redisCommand`:
    /// `None` when the connection failed.
    fn call(&mut self, argv: &[&[u8]]) -> Option<Reply> {
        let argv: Vec<Vec<u8>> = argv.iter().map(|a| a.to_vec()).collect();
        self.link.as_mut()?.send(&argv).ok()?;
        self.read_in_band().ok()
    }

    /// The next reply, handing RESP3 pushes to the push handler on the way.
    fn read_in_band(&mut self) -> Result<Reply, LinkError> {
        loop {
            let link = self.link.as_mut().ok_or(LinkError::Eof)?;
            let reply = link.read()?;
            if matches!(reply, Reply::Push(_)) && self.push != PushHandler::InBand {
                if self.push == PushHandler::Print {
                    match self.opts.output.format_push(&reply) {
                        Ok(text) => self.emit(&text),
                        Err(t) => unknown_type(t.0),
                    }
                }
                continue;
            }
            return Ok(reply);
        }
    }

    /// `cliAuth`.
    fn auth(&mut self) -> bool {
        let Some(pass) = self.opts.auth.clone() else { return true };
        let reply = match self.opts.user.clone() {
            Some(user) => self.call(&[b"AUTH", &user, &pass]),
            None => self.call(&[b"AUTH", &pass]),
        };
        match reply {
            None => {
                eprintln!("\nI/O error");
                false
            }
            Some(Reply::Error(e)) => {
                eprintln!("AUTH failed: {}", String::from_utf8_lossy(&e));
                false
            }
            Some(_) => true,
        }
    }

    /// `cliSelect`: select `-n`'s database unless the connection already has it.
    fn select(&mut self) -> bool {
        let want = self.opts.input_db;
        if want == self.dbnum {
            return true;
        }
        match self.call(&[b"SELECT", want.to_string().as_bytes()]) {
            None => {
                eprintln!("\nI/O error");
                false
            }
            Some(Reply::Error(e)) => {
                eprintln!("SELECT {} failed: {}", want, String::from_utf8_lossy(&e));
                false
            }
            Some(_) => {
                self.dbnum = want;
                true
            }
        }
    }

    /// `cliSwitchProto`: `HELLO 3` when started with `-3`.
    fn switch_protocol(&mut self) -> bool {
        if !self.opts.resp3 || self.opts.resp2 {
            return true;
        }
        match self.call(&[b"HELLO", b"3"]) {
            None => {
                eprintln!("\nI/O error");
                false
            }
            Some(Reply::Error(e)) => {
                eprintln!("HELLO 3 failed: {}", String::from_utf8_lossy(&e));
                false
            }
            Some(_) => true,
        }
    }

    /// `cliPrintContextError`: the connection's error (empty when it has none, as in
    /// redis-cli after a refused AUTH).
    fn print_context_error(&self) {
        if let Some(link) = &self.link {
            eprintln!("Error: {}", link.error.as_ref().map(LinkError::text).unwrap_or(""));
        }
    }

    /// `issueCommandRepeat`: run one command line, `repeat` times (negative: forever).
    /// Returns false when it could not be sent or its connection broke.
    pub fn issue(&mut self, argv: &[Vec<u8>], repeat: i64) -> bool {
        if argv[0].eq_ignore_ascii_case(b"help") || argv[0].as_slice() == b"?" {
            let text = if argv.len() == 1 { super::generic_help() } else { self.help(&argv[1..]) };
            self.emit(text.as_bytes());
            return true;
        }
        loop {
            let broken = match &self.link {
                None => true,
                Some(link) => matches!(link.error, Some(LinkError::Io { .. } | LinkError::Eof)),
            };
            if (self.reissue || broken) && !self.connect(true, false) {
                self.print_context_error();
                self.reissue = false;
                return false;
            }
            self.reissue = false;
            if self.send_asking && !self.asking() {
                self.print_context_error();
                return false;
            }
            if !self.send_command(argv, repeat) {
                self.print_context_error();
                self.link = None;
                return false;
            }
            // Sent to the wrong node under -c: again, to the node the error named.
            if self.opts.cluster_mode && self.reissue {
                continue;
            }
            return true;
        }
    }

    /// `cliOutputHelp` for a topic, the entries read from `COMMAND DOCS` the first time
    /// (`cliInitHelp`, which connects quietly for it).
    fn help(&mut self, topic: &[Vec<u8>]) -> String {
        if self.help_entries.is_none() && self.connect(false, true) {
            if let Some(docs) = self.call(&[b"COMMAND", b"DOCS"]) {
                if matches!(docs, Reply::Map(_) | Reply::Array(_)) {
                    self.help_entries = Some(super::help::entries(&docs));
                }
            }
        }
        super::help::render(self.help_entries.as_deref().unwrap_or(&[]), topic)
    }

    /// `cliSendAsking`.
    fn asking(&mut self) -> bool {
        self.send_asking = false;
        if self.link.is_none() {
            return false;
        }
        match self.call(&[b"ASKING"]) {
            None => {
                eprintln!("\nI/O error");
                false
            }
            Some(Reply::Error(e)) => {
                eprintln!("ASKING failed: {}", String::from_utf8_lossy(&e));
                false
            }
            Some(_) => true,
        }
    }

    /// `cliSendCommand`.
    fn send_command(&mut self, argv: &[Vec<u8>], mut repeat: i64) -> bool {
        if self.link.is_none() {
            return false;
        }
        let verbatim = prints_verbatim(argv);
        let is = |w: &str| argv[0].eq_ignore_ascii_case(w.as_bytes());
        if is("shutdown") {
            self.shutdown = true;
        }
        if is("monitor") {
            self.monitor_mode = true;
        }
        if is("subscribe") || is("psubscribe") || is("ssubscribe") {
            self.pubsub_mode = true;
        }
        while repeat < 0 || {
            repeat -= 1;
            repeat >= 0
        } {
            if let Some(link) = self.link.as_mut() {
                // A failed write leaves its error on the link; the read reports it.
                let _ = link.send(argv);
            }
            if self.monitor_mode || self.pubsub_mode {
                let fd = self.link.as_ref().map_or(-1, |l| l.stream.raw_fd());
                BLOCKING_FD.store(fd, Ordering::SeqCst);
            }
            if self.monitor_mode {
                // MONITOR streams until the connection ends (or it was refused).
                while self.monitor_mode {
                    if !self.read_reply(verbatim) {
                        self.print_context_error();
                        fatal(1);
                    }
                    if self.last_type == TYPE_ERROR {
                        self.monitor_mode = false;
                    }
                }
                BLOCKING_FD.store(-1, Ordering::SeqCst);
                return true;
            }
            if self.pubsub_mode {
                if self.opts.output.mode != OutputMode::Raw {
                    self.emit(b"Reading messages... (press Ctrl-C to quit)\n");
                }
                // Messages are pushes under RESP3: read them as replies.
                self.push = PushHandler::InBand;
                while self.pubsub_mode {
                    if !self.read_reply(verbatim) {
                        self.print_context_error();
                        fatal(1);
                    }
                    if self.last_type == TYPE_ERROR {
                        if self.opts.push_output {
                            self.push = PushHandler::Print;
                        }
                        self.pubsub_mode = false;
                    }
                }
                BLOCKING_FD.store(-1, Ordering::SeqCst);
                continue;
            }
            if !self.read_reply(verbatim) {
                return false;
            }
            self.track_state(argv);
            if self.reissue {
                // Redirected: the caller sends the whole repetition again, to the new node.
                break;
            }
            if self.opts.interval_us > 0 {
                std::thread::sleep(Duration::from_micros(self.opts.interval_us));
            }
        }
        true
    }

    /// What a successful reply changes in the prompt's state (the end of `cliSendCommand`).
    fn track_state(&mut self, argv: &[Vec<u8>]) {
        let is = |w: &str| argv[0].eq_ignore_ascii_case(w.as_bytes());
        let failed = self.last_type == TYPE_ERROR;
        let argc = argv.len();
        if is("select") && argc == 2 && !failed {
            let db = super::redirect::atoi(&String::from_utf8_lossy(&argv[1]));
            self.opts.input_db = db;
            self.dbnum = db;
        } else if is("auth") && (argc == 2 || argc == 3) {
            self.select();
        } else if is("multi") && argc == 1 && !failed {
            self.in_multi = true;
            self.pre_multi_dbnum = self.dbnum;
        } else if is("exec") && argc == 1 && self.in_multi {
            self.in_multi = false;
            if failed || self.last_type == TYPE_NIL {
                self.opts.input_db = self.pre_multi_dbnum;
                self.dbnum = self.pre_multi_dbnum;
            }
        } else if is("discard") && argc == 1 && !failed {
            self.in_multi = false;
            self.opts.input_db = self.pre_multi_dbnum;
            self.dbnum = self.pre_multi_dbnum;
        } else if is("reset") && argc == 1 && !failed {
            self.in_multi = false;
            self.dbnum = 0;
            self.opts.input_db = 0;
            self.opts.resp3 = false;
        }
    }

    /// `cliReadReply`: read one reply and print it, or follow it under -c, or exit under -e.
    /// Returns false when the REPL should drop the connection.
    fn read_reply(&mut self, verbatim: bool) -> bool {
        let reply = match self.read_in_band() {
            Ok(r) => r,
            Err(e) => {
                if BLOCKING_ABORTED.swap(false, Ordering::SeqCst) {
                    // Ctrl-C ended a MONITOR or SUBSCRIBE: a fresh connection, back to the prompt.
                    BLOCKING_FD.store(-1, Ordering::SeqCst);
                    self.monitor_mode = false;
                    self.pubsub_mode = false;
                    if self.opts.push_output {
                        self.push = PushHandler::Print;
                    }
                    return self.connect(true, false);
                }
                if self.shutdown {
                    // SHUTDOWN closes the connection instead of answering.
                    self.link = None;
                    return true;
                }
                if self.interactive {
                    let survivable = match &e {
                        LinkError::Io { errno, .. } => *errno == libc::ECONNRESET || *errno == libc::EPIPE,
                        LinkError::Eof => true,
                        LinkError::Protocol(_) => false,
                    };
                    if survivable {
                        return false;
                    }
                }
                self.print_context_error();
                fatal(1);
            }
        };
        self.last_type = reply.type_code();
        let mut output = true;
        if let Reply::Error(text) = &reply {
            match Redirect::parse(text).filter(|_| self.opts.cluster_mode) {
                Some(redirect) => {
                    output = false;
                    self.opts.host = redirect.host.clone();
                    self.opts.port = redirect.port;
                    if self.interactive {
                        self.emit(redirect.announcement().as_bytes());
                    }
                    self.reissue = true;
                    if redirect.kind == RedirectKind::Ask {
                        self.send_asking = true;
                    }
                }
                None if !self.interactive && self.opts.set_errcode => {
                    let mut line = text.clone();
                    line.push(b'\n');
                    flush_stdout();
                    let _ = std::io::stderr().write_all(&line);
                    fatal(1);
                }
                None => {}
            }
        }
        if output {
            match self.opts.output.format(&reply, verbatim) {
                Ok(text) => self.emit(&text),
                Err(t) => unknown_type(t.0),
            }
        }
        true
    }

    /// Write to stdout and flush (redis-cli flushes after every reply, so its output can be
    /// piped into grep as it comes). A closed stdout ends a one-shot command as SIGPIPE ends
    /// redis-cli; the REPL ignores it, as redis-cli ignores SIGPIPE there.
    pub fn emit(&self, bytes: &[u8]) {
        let mut out = std::io::stdout().lock();
        if (out.write_all(bytes).and_then(|_| out.flush())).is_err() && !self.interactive {
            die_of_sigpipe();
        }
    }
}

/// A REPL command that ran half a second or more gets its time under it, as in redis-cli.
pub fn elapsed_note(started: Instant) -> Option<String> {
    let elapsed_ms = started.elapsed().as_millis();
    (elapsed_ms >= 500).then(|| format!("({:.2}s)\n", elapsed_ms as f64 / 1000.0))
}

fn flush_stdout() {
    let _ = std::io::stdout().flush();
}

/// `exit(n)` from deep inside, as redis-cli does, after what was printed is out.
pub fn fatal(code: i32) -> ! {
    flush_stdout();
    std::process::exit(code)
}

fn unknown_type(code: i32) -> ! {
    flush_stdout();
    eprintln!("Unknown reply type: {}", code);
    std::process::exit(1)
}

fn die_of_sigpipe() -> ! {
    // SAFETY: restoring the default disposition and raising the signal in this process.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
    std::process::exit(1)
}

/// `anetKeepAlive`: probe an idle connection after `interval` seconds, then every third of
/// it, three times, so a long command is not mistaken for a dead peer and a dead peer is seen.
fn keepalive(stream: &TcpStream, interval: i32) {
    use std::os::fd::AsRawFd;
    let fd = stream.as_raw_fd();
    let set = |level: i32, name: i32, value: i32| {
        // SAFETY: setsockopt on a socket this process owns, with a live int.
        unsafe {
            libc::setsockopt(
                fd,
                level,
                name,
                &value as *const i32 as *const libc::c_void,
                std::mem::size_of::<i32>() as libc::socklen_t,
            );
        }
    };
    set(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1);
    set(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, interval);
    set(libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, (interval / 3).max(1));
    set(libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 3);
}
