//! `halab cli --cluster <subcommand>`: the native driver of the core's `--cluster` manager
//! (`halab_core::admin`). It opens the TCP connections the manager asks for, hands it the
//! bytes and the terminal's answers, and prints what it prints.
//!
//! The manager waits on one thing at a time (a reply, a second, a line typed), so the driver
//! is plain blocking std: one reader thread per connection forwards what arrives into one
//! channel, the main thread writes, prints, reads stdin at a prompt, and waits on the channel
//! until the manager's `poll_timeout` — the whole contract in one loop:
//!
//! ```text
//!   handle(now, input) → drain poll() → wait for a connection's bytes or poll_timeout → …
//! ```

use halab_core::admin::options::Environment;
use halab_core::admin::{AdminInput, AdminOutput, Manager};
use std::collections::HashMap;
use std::io::{BufRead, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What a reader thread reports.
enum Event {
    Data(u64, Vec<u8>),
    Closed(u64),
}

/// The system's words for a failed connect or write, as hiredis and strerror print them
/// ("Connection refused", "Name or service not known").
fn error_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = s.strip_prefix("failed to lookup address information: ").map(String::from).unwrap_or(s);
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn connect(addr: &str) -> std::io::Result<TcpStream> {
    let (host, port) = addr.rsplit_once(':').unwrap_or((addr, "0"));
    let port: u16 = port.parse().unwrap_or(0);
    let stream = TcpStream::connect((host.trim_start_matches('[').trim_end_matches(']'), port))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Run `--cluster …`. `argv` is the whole `halab cli` command line after `cli` (redis-cli's
/// global flags `-a`, `--user`, `--pass`, `--no-auth-warning` and every `--cluster-*` option
/// may sit anywhere in it, as redis-cli allows). Returns the process's exit code.
pub fn run(argv: Vec<String>) -> i32 {
    let env = Environment {
        auth: std::env::var("REDISCLI_AUTH").ok(),
        cluster_yes: std::env::var("REDISCLI_CLUSTER_YES").is_ok_and(|v| v == "1"),
        color: std::env::var("TERM").is_ok_and(|t| t.contains("xterm")),
    };
    // The manager's choices (anti-affinity swaps, fix's random master) come from this seed,
    // as redis-cli's from srand(time(NULL)).
    let seed =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
            ^ std::process::id() as u64;
    let mut manager = Manager::new(&argv, &env, seed);
    let start = Instant::now();
    let now = || start.elapsed().as_millis() as u64;
    let (tx, rx) = mpsc::channel::<Event>();
    let mut streams: HashMap<u64, TcpStream> = HashMap::new();
    let stdin = std::io::stdin();
    manager.handle(now(), AdminInput::Tick);
    loop {
        while let Some(out) = manager.poll() {
            match out {
                AdminOutput::Connect { conn, addr } => {
                    let result = match connect(&addr) {
                        Ok(stream) => {
                            let mut reader = stream.try_clone().expect("clone a socket");
                            let tx = tx.clone();
                            std::thread::spawn(move || {
                                let mut buf = vec![0u8; 64 * 1024];
                                loop {
                                    match reader.read(&mut buf) {
                                        Ok(0) | Err(_) => {
                                            let _ = tx.send(Event::Closed(conn));
                                            return;
                                        }
                                        Ok(n) => {
                                            if tx.send(Event::Data(conn, buf[..n].to_vec())).is_err() {
                                                return;
                                            }
                                        }
                                    }
                                }
                            });
                            streams.insert(conn, stream);
                            Ok(())
                        }
                        Err(e) => Err(error_text(&e)),
                    };
                    manager.handle(now(), AdminInput::Connected { conn, result });
                }
                AdminOutput::Send { conn, bytes } => {
                    let written = streams.get_mut(&conn).map(|s| s.write_all(&bytes));
                    if !matches!(written, Some(Ok(()))) {
                        manager.handle(now(), AdminInput::Closed { conn });
                    }
                }
                AdminOutput::Close { conn } => {
                    if let Some(s) = streams.remove(&conn) {
                        let _ = s.shutdown(Shutdown::Both);
                    }
                }
                AdminOutput::Print(text) => {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(text.as_bytes());
                    let _ = out.flush();
                }
                AdminOutput::PrintErr(text) => {
                    let mut err = std::io::stderr().lock();
                    let _ = err.write_all(text.as_bytes());
                    let _ = err.flush();
                }
                AdminOutput::Prompt(text) => {
                    {
                        let mut out = std::io::stdout().lock();
                        let _ = out.write_all(text.as_bytes());
                        let _ = out.flush();
                    }
                    let mut line = String::new();
                    let input = match stdin.lock().read_line(&mut line) {
                        Ok(0) | Err(_) => AdminInput::EndOfInput,
                        Ok(_) => AdminInput::Answer(line.trim_end_matches('\n').trim_end_matches('\r').to_string()),
                    };
                    manager.handle(now(), input);
                }
                AdminOutput::WriteFile { path, bytes } => {
                    let result = std::fs::write(&path, bytes).map_err(|e| error_text(&e));
                    manager.handle(now(), AdminInput::FileWritten { path, result });
                }
                AdminOutput::Exit { code } => {
                    for (_, s) in streams.drain() {
                        let _ = s.shutdown(Shutdown::Both);
                    }
                    return code;
                }
            }
        }
        let event = match manager.poll_timeout() {
            Some(at) => rx.recv_timeout(Duration::from_millis(at.saturating_sub(now()))),
            None if streams.is_empty() => {
                eprintln!("halab cli --cluster: the manager waits on nothing");
                return 1;
            }
            None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        };
        match event {
            Ok(Event::Data(conn, bytes)) => manager.handle(now(), AdminInput::Data { conn, bytes }),
            Ok(Event::Closed(conn)) => {
                if streams.remove(&conn).is_some() {
                    manager.handle(now(), AdminInput::Closed { conn });
                }
            }
            Err(_) => manager.handle(now(), AdminInput::Tick),
        }
    }
}
