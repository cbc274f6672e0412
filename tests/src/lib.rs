//! Harness for end-to-end tests: start `halab server` (or the reference `redis-server`) on a
//! free loopback port in a temporary directory, talk to it, and stop it when dropped.
//!
//! The binary under test is `$HALAB_BIN`, or `target/<profile>/halab` next to this crate.

use bytes::BytesMut;
use halab_core::resp::Frame;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Path of the halab binary to test.
pub fn halab_bin() -> PathBuf {
    if let Ok(p) = std::env::var("HALAB_BIN") {
        return PathBuf::from(p);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("target");
    for profile in ["release", "debug"] {
        let p = root.join(profile).join("halab");
        if p.exists() {
            return p;
        }
    }
    panic!("halab binary not found: build it (cargo build --release) or set HALAB_BIN");
}

/// A free TCP port on 127.0.0.1 (and its bus port +10000 free too).
pub fn free_port() -> u16 {
    loop {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        if port < 55000 && TcpListener::bind(("127.0.0.1", port + 10000)).is_ok() {
            return port;
        }
    }
}

/// A fresh temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("halab-test-{}-{}-{}", tag, std::process::id(), n));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Which server implementation to start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Flavor {
    Halab,
    Redis,
}

/// A running server process on 127.0.0.1, killed on drop.
pub struct Server {
    pub port: u16,
    pub child: Option<Child>,
    pub dir: PathBuf,
    pub log_path: PathBuf,
}

impl Server {
    /// Start halab with extra `--option value` arguments, in `dir`.
    pub fn start_in(dir: &Path, extra: &[&str]) -> Server {
        Self::start_flavor(Flavor::Halab, dir, extra)
    }

    pub fn start_flavor(flavor: Flavor, dir: &Path, extra: &[&str]) -> Server {
        Self::start_flavor_on(flavor, dir, free_port(), extra)
    }

    /// Start on a given port: to restart a server where its peers expect to find it.
    pub fn start_flavor_on(flavor: Flavor, dir: &Path, port: u16, extra: &[&str]) -> Server {
        Self::start_flavor_with(flavor, None, dir, port, extra)
    }

    /// Start with a config file (`redis-server <file> --port …`): what CONFIG REWRITE writes.
    pub fn start_flavor_with_config(flavor: Flavor, config: &Path, dir: &Path, extra: &[&str]) -> Server {
        Self::start_flavor_with(flavor, Some(config), dir, free_port(), extra)
    }

    fn start_flavor_with(flavor: Flavor, config: Option<&Path>, dir: &Path, port: u16, extra: &[&str]) -> Server {
        let log_path = dir.join(format!("server-{}.log", port));
        let port_s = port.to_string();
        let dir_s = dir.display().to_string();
        let log_s = log_path.display().to_string();
        let mut args: Vec<&str> = vec![
            "--port",
            &port_s,
            "--bind",
            "127.0.0.1",
            "--dir",
            &dir_s,
            "--logfile",
            &log_s,
            "--save",
            "",
            "--enable-debug-command",
            "local",
        ];
        args.extend_from_slice(extra);
        let mut cmd = match flavor {
            Flavor::Halab => {
                let mut c = Command::new(halab_bin());
                c.arg("server");
                c
            }
            Flavor::Redis => Command::new("redis-server"),
        };
        if let Some(config) = config {
            cmd.arg(config);
        }
        let child = cmd
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start server");
        let s = Server { port, child: Some(child), dir: dir.to_path_buf(), log_path };
        s.wait_ready();
        s
    }

    /// Start a sentinel (`halab sentinel` or `redis-sentinel`) on `port`, in `dir`, with the
    /// `sentinel …` lines of `sentinel_lines` in its own config file (a sentinel keeps its
    /// state there).
    pub fn start_sentinel(flavor: Flavor, dir: &Path, port: u16, sentinel_lines: &str) -> Server {
        let conf = dir.join(format!("sentinel-{}.conf", port));
        if !conf.exists() {
            std::fs::write(&conf, format!("port {}\nbind 127.0.0.1\n{}\n", port, sentinel_lines)).unwrap();
        }
        let log_path = dir.join(format!("sentinel-{}.log", port));
        let mut cmd = match flavor {
            Flavor::Halab => {
                let mut c = Command::new(halab_bin());
                c.arg("sentinel");
                c
            }
            Flavor::Redis => Command::new("redis-sentinel"),
        };
        let child = cmd
            .arg(&conf)
            .args(["--logfile", &log_path.display().to_string(), "--dir", &dir.display().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start sentinel");
        let s = Server { port, child: Some(child), dir: dir.to_path_buf(), log_path };
        s.wait_ready();
        s
    }

    /// Poll `probe` every 50 ms until `cond` holds of what it returns, for at most `timeout`;
    /// panics with `what`, the last value and the log otherwise.
    pub fn wait_for<T: std::fmt::Debug>(
        &self,
        timeout: Duration,
        what: &str,
        mut probe: impl FnMut(&Server) -> T,
        mut cond: impl FnMut(&T) -> bool,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            let v = probe(self);
            if cond(&v) {
                return v;
            }
            if Instant::now() > deadline {
                panic!("port {}: {} did not happen; last: {:?}\nlog:\n{}", self.port, what, v, self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait until the server answers PING.
    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(mut c) = Client::connect(self.port) {
                if let Ok(Frame::Simple(s)) = c.try_call(&["PING"]) {
                    if s == "PONG" {
                        return;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("server on port {} did not become ready; log:\n{}", self.port, self.log());
    }

    pub fn client(&self) -> Client {
        Client::connect(self.port).expect("connect")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Run real `redis-cli` against this server with the given arguments.
    pub fn redis_cli(&self, args: &[&str]) -> Output {
        Command::new("redis-cli").arg("-p").arg(self.port.to_string()).args(args).output().expect("run redis-cli")
    }

    /// Feed a script to real `redis-cli` on stdin; return its stdout.
    pub fn redis_cli_stdin(&self, args: &[&str], input: &str) -> String {
        let mut child = Command::new("redis-cli")
            .arg("-p")
            .arg(self.port.to_string())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run redis-cli");
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Wait for the process to exit by itself; returns its status.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        let child = self.child.as_mut()?;
        while Instant::now() < deadline {
            if let Ok(Some(st)) = child.try_wait() {
                self.child = None;
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// SIGTERM and wait.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A minimal RESP client over a blocking socket, using the core's codec.
pub struct Client {
    pub stream: TcpStream,
    buf: BytesMut,
}

impl Client {
    pub fn connect(port: u16) -> std::io::Result<Client> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.set_nodelay(true)?;
        Ok(Client { stream, buf: BytesMut::new() })
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    pub fn read_frame(&mut self) -> std::io::Result<Frame> {
        loop {
            if let Some(f) = Frame::decode(&mut self.buf).map_err(|e| std::io::Error::other(e.0))? {
                return Ok(f);
            }
            let mut chunk = [0u8; 65536];
            // A socket with a read timeout is not restarted after a signal: read again.
            let n = match self.stream.read(&mut chunk) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                r => r?,
            };
            if n == 0 {
                return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed"));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    pub fn try_call(&mut self, args: &[&str]) -> std::io::Result<Frame> {
        self.stream.write_all(&Frame::command(args))?;
        self.read_frame()
    }

    pub fn call(&mut self, args: &[&str]) -> Frame {
        self.try_call(args).unwrap_or_else(|e| panic!("{:?}: {}", args, e))
    }

    /// True when the server closed the connection (read returns EOF).
    pub fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.stream.read(&mut b), Ok(0))
    }
}

/// Shorthands for expected frames.
pub fn bulk(s: &str) -> Frame {
    Frame::Bulk(bytes::Bytes::copy_from_slice(s.as_bytes()))
}
pub fn simple(s: &str) -> Frame {
    Frame::Simple(s.to_string())
}
pub fn err(s: &str) -> Frame {
    Frame::Error(s.to_string())
}
pub fn int(i: i64) -> Frame {
    Frame::Integer(i)
}
pub fn arr(items: Vec<Frame>) -> Frame {
    Frame::Array(items)
}

/// Whether a reference tool is installed (tests that need it say so loudly rather than skip).
pub fn require_tool(name: &str) {
    let ok = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {}", name))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(ok, "{} is required for this test: run scripts/setup", name);
}
