//! `halab server`: redis-server's command line — a config file, `--option value` overrides, `-`
//! for stdin — turned into a running node: daemonize, `logfile`, `dir`, `pidfile`, then the
//! tokio [`driver`](crate::driver) serves it until the node exits.

use crate::driver::{self, LogSink};
use halab_core::config::{self, Config};
use halab_core::log::LogLevel;

/// Read a config file and the files it includes.
fn load_config(args: &[String], sentinel: bool) -> Result<(Config, Option<String>), String> {
    let (file, rest) = match args.first() {
        Some(a) if !a.starts_with("--") => (Some(a.clone()), &args[1..]),
        _ => (None, args),
    };
    let mut text = String::new();
    if let Some(path) = &file {
        if path == "-" {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(|e| e.to_string())?;
            text.push_str(&s);
        } else {
            text = std::fs::read_to_string(path)
                .map_err(|e| format!("Fatal error, can't open config file '{}': {}", path, e))?;
        }
        text.push('\n');
    }
    text.push_str(&config::command_line_to_config_text(rest));
    let mut cfg = if sentinel { Config::for_sentinel() } else { Config::default() };
    let mut include = |p: &str| std::fs::read_to_string(p).map_err(|e| e.to_string());
    cfg.load_text(&text, &mut include).map_err(|e| e.to_string())?;
    let file = file.map(|f| std::fs::canonicalize(&f).map(|p| p.display().to_string()).unwrap_or(f));
    Ok((cfg, file))
}

fn daemonize() {
    // SAFETY: fork before any thread or runtime exists; the parent exits at once.
    unsafe {
        match libc::fork() {
            -1 => {}
            0 => {
                libc::setsid();
                let devnull = std::ffi::CString::new("/dev/null").unwrap();
                let fd = libc::open(devnull.as_ptr(), libc::O_RDWR);
                if fd >= 0 {
                    libc::dup2(fd, 0);
                    libc::dup2(fd, 1);
                    libc::dup2(fd, 2);
                    if fd > 2 {
                        libc::close(fd);
                    }
                }
            }
            _ => libc::_exit(0),
        }
    }
}

/// Entry point of `halab server` (and of `halab sentinel`, which is `halab server --sentinel`,
/// as `redis-sentinel` is `redis-server --sentinel`). Returns the process exit code.
pub fn run(mut args: Vec<String>) -> i32 {
    let sentinel = args.iter().any(|a| a == "--sentinel");
    args.retain(|a| a != "--sentinel");
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("Usage: halab server [/path/to/redis.conf] [options] [-]\n       halab server - (read config from stdin)\n       halab server -v or --version\n\nExamples:\n       halab server (run the server with default conf)\n       halab server /etc/redis/6379.conf\n       halab server --port 7777\n       halab server --port 7777 --replicaof 127.0.0.1 8888\n       halab server /etc/myredis.conf --loglevel verbose");
        return 0;
    }
    if args.iter().any(|a| a == "--version" || a == "-v") {
        println!(
            "Redis server v=7.0.15 sha=00000000:0 malloc=libc bits=64 build=halab (HA Lab {})",
            env!("CARGO_PKG_VERSION")
        );
        return 0;
    }
    let (cfg, config_file) = match load_config(&args, sentinel) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}", e);
            return 1;
        }
    };
    // Redis changes to `dir` while it reads the config: a relative `logfile` (and dump.rdb,
    // the pidfile, a sentinel's script paths) are then relative to `dir`.
    let dir = cfg.get_str("dir");
    if !dir.is_empty() {
        if let Err(e) = std::env::set_current_dir(&dir) {
            eprintln!("Can't chdir to '{}': {}", dir, driver::io_error_text(&e));
            return 1;
        }
    }
    if sentinel {
        // `loadSentinelConfigFromQueue`: the `sentinel` lines, after the rest of the file (and
        // the chdir); a bad one is the same fatal error as any bad line.
        if let Err(e) = halab_core::sentinel::Sentinel::load(&cfg, 0, driver::os::is_executable) {
            eprintln!("{}", e);
            return 1;
        }
        // `sentinelCheckConfigFile`: a sentinel keeps its state in its config file.
        let problem = match &config_file {
            None => Some("Sentinel needs config file on disk to save state. Exiting...".to_string()),
            Some(path) => std::fs::OpenOptions::new().append(true).open(path).err().map(|e| {
                format!("Sentinel config file {} is not writable: {}. Exiting...", path, driver::io_error_text(&e))
            }),
        };
        if let Some(p) = problem {
            let mut log = LogSink::new(std::process::id(), None);
            log.driver('X', LogLevel::Warning, p);
            return 1;
        }
    }
    if cfg.get_bool("daemonize") {
        daemonize();
    }
    let pid = std::process::id();
    let logfile = cfg.get_str("logfile");
    let file = if logfile.is_empty() {
        None
    } else {
        match std::fs::OpenOptions::new().create(true).append(true).open(&logfile) {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("Can't open the log file: {}", e);
                return 1;
            }
        }
    };
    let log = LogSink::new(pid, file);
    let pidfile = cfg.get_str("pidfile");
    if !pidfile.is_empty() {
        let _ = std::fs::write(&pidfile, format!("{}\n", pid));
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the event loop: {}", e);
            return 1;
        }
    };
    let local = tokio::task::LocalSet::new();
    let code = local.block_on(&runtime, driver::serve(cfg, config_file, log));
    if !pidfile.is_empty() {
        let _ = std::fs::remove_file(&pidfile);
    }
    code
}
