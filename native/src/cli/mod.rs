//! `halab cli`: a redis-cli 7.0 work-alike — its flags, its one-shot, piped and interactive
//! modes, its output formats, and `-c`'s redirections. `--cluster` is handed to the cluster
//! manager's driver (`crate::admin`).
//!
//! ```text
//! halab cli [OPTIONS] [cmd [arg ...]]
//!   halab cli -p 6379 SET k v      one-shot: connect, send, print, exit (1 if it could not)
//!   halab cli -p 6379              the REPL (a prompt on a terminal; line by line from a pipe)
//!   echo v | halab cli -x SET k    -x: stdin is the last argument
//!   halab cli -c -p 7000 GET foo   follow -MOVED / -ASK
//!   halab cli --cluster check 127.0.0.1:7000
//! ```
//!
//! The pieces, each following the redis-cli (or hiredis) function it names:
//!
//! ```text
//! mod.rs       parseOptions: flags, their errors; main(): which mode
//! help.rs      help <command>: cliInitHelp from the server's COMMAND DOCS
//! session.rs   cliConnect, issueCommandRepeat, cliSendCommand, cliReadReply
//! reply.rs     hiredis's reply reader (the wire as redis-cli sees it)
//! format.rs    cliFormatReplyTTY / cliFormatReplyRaw / cliFormatReplyCSV
//! redirect.rs  -c: MOVED and ASK
//! repl.rs      repl(): prompts, sdssplitargs, repeat counts, connect/quit
//! ```
//!
//! Like redis-cli, the output format is chosen by whether stdout is a terminal: the human
//! format (`(integer) 1`, `1) "a"`) on one (or with `--no-raw`, or `FAKETTY` set), the raw one
//! (`1`, `a`) otherwise or with `--raw`. Options end at the first word that does not start
//! with `-`: `halab cli SET k --cluster` sets a key.

mod format;
mod help;
mod redirect;
mod repl;
mod reply;
mod session;

use format::{Output, OutputMode};
use session::Session;
use std::io::Read;

/// The version redis-cli prints, and this program's own.
const VERSION: &str = concat!("7.0.15 (halab ", env!("CARGO_PKG_VERSION"), ")");

/// redis-cli's `config`, as far as halab cli needs it.
#[derive(Debug, Clone)]
pub struct Options {
    pub host: String,
    /// An `int`, as in redis-cli: `-p abc` is port 0, and connecting to it fails.
    pub port: i64,
    /// `-s`: a unix socket instead of host and port.
    pub socket: Option<String>,
    pub user: Option<Vec<u8>>,
    pub auth: Option<Vec<u8>>,
    /// `-n`: the database to select on every connection.
    pub input_db: i64,
    pub cluster_mode: bool,
    /// `-r`: how many times to send the command (negative: forever).
    pub repeat: i64,
    /// `-i`: the pause after each command, in microseconds.
    pub interval_us: u64,
    pub stdin_lastarg: bool,
    /// `-X tag`: the argument replaced by stdin.
    pub stdin_tag: Option<String>,
    pub output: Output,
    /// `-e`: an error reply ends a one-shot command with exit code 1.
    pub set_errcode: bool,
    pub no_auth_warning: bool,
    pub resp2: bool,
    pub resp3: bool,
    /// Print RESP3 pushes that arrive between replies.
    pub push_output: bool,
    pub quoted_input: bool,
}

impl Default for Options {
    fn default() -> Options {
        // SAFETY: isatty only inspects the descriptor.
        let terminal = unsafe { libc::isatty(1) } == 1 || std::env::var_os("FAKETTY").is_some();
        Options {
            host: "127.0.0.1".to_string(),
            port: 6379,
            socket: None,
            user: None,
            auth: None,
            input_db: 0,
            cluster_mode: false,
            repeat: 1,
            interval_us: 0,
            stdin_lastarg: false,
            stdin_tag: None,
            output: Output::new(if terminal { OutputMode::Standard } else { OutputMode::Raw }),
            set_errcode: false,
            no_auth_warning: false,
            resp2: false,
            resp3: false,
            push_output: terminal,
            quoted_input: false,
        }
    }
}

/// What the command line asks for.
#[derive(Debug)]
enum Parsed {
    /// Options, and where the command starts.
    Run(Box<Options>, usize),
    /// `--cluster`: the manager's business.
    ClusterManager,
    /// Printed already (help, version, an error): exit with this code.
    Exit(i32),
}

/// redis-cli modes halab cli does not have: refused by name rather than as unknown.
const UNSUPPORTED: &[&str] = &[
    "--stat",
    "--scan",
    "--pattern",
    "--quoted-pattern",
    "--bigkeys",
    "--memkeys",
    "--memkeys-samples",
    "--hotkeys",
    "--latency",
    "--latency-history",
    "--latency-dist",
    "--lru-test",
    "--intrinsic-latency",
    "--rdb",
    "--functions-rdb",
    "--pipe",
    "--pipe-timeout",
    "--eval",
    "--ldb",
    "--ldb-sync-mode",
    "--slave",
    "--replica",
    "--json",
    "--quoted-json",
    "--askpass",
    "--tls",
    "--mono",
];

/// The manager's options that may precede `--cluster` (redis-cli reads them anywhere), with
/// whether each takes a value.
const CLUSTER_OPTIONS: &[(&str, bool)] = &[
    ("--cluster-only-masters", false),
    ("--cluster-only-replicas", false),
    ("--cluster-replicas", true),
    ("--cluster-master-id", true),
    ("--cluster-from", true),
    ("--cluster-to", true),
    ("--cluster-from-user", true),
    ("--cluster-from-pass", true),
    ("--cluster-from-askpass", false),
    ("--cluster-weight", true),
    ("--cluster-slots", true),
    ("--cluster-timeout", true),
    ("--cluster-pipeline", true),
    ("--cluster-threshold", true),
    ("--cluster-yes", false),
    ("--cluster-simulate", false),
    ("--cluster-replace", false),
    ("--cluster-copy", false),
    ("--cluster-slave", false),
    ("--cluster-use-empty-masters", false),
    ("--cluster-search-multiple-owners", false),
    ("--cluster-fix-with-unreachable-masters", false),
];

/// `parseOptions`. `argv` is the command line after `cli`.
fn parse_options(argv: &[String]) -> Parsed {
    let mut o = Options::default();
    let mut i = 0;
    while i < argv.len() {
        let arg = argv[i].as_str();
        let has_value = i + 1 < argv.len();
        let value = || argv[i + 1].clone();
        let mut took_value = has_value;
        match arg {
            "-h" if has_value => o.host = value(),
            "-h" | "--help" => return Parsed::Exit(usage(0)),
            "-x" => {
                o.stdin_lastarg = true;
                took_value = false;
            }
            "-X" if has_value => o.stdin_tag = Some(value()),
            "-p" if has_value => o.port = redirect::atoi(&value()),
            "-s" if has_value => o.socket = Some(value()),
            "-r" if has_value => o.repeat = strtoll(&value()),
            "-i" if has_value => o.interval_us = (atof(&value()) * 1_000_000.0).max(0.0) as u64,
            "-n" if has_value => o.input_db = redirect::atoi(&value()),
            "-a" | "--pass" if has_value => o.auth = Some(value().into_bytes()),
            "--user" if has_value => o.user = Some(value().into_bytes()),
            "-u" if has_value => {
                if let Err(code) = parse_uri(&value(), &mut o) {
                    return Parsed::Exit(code);
                }
            }
            "-d" if has_value => o.output.element_delimiter = value().into_bytes(),
            "-D" if has_value => o.output.reply_delimiter = value().into_bytes(),
            "--show-pushes" if has_value => {
                let v = value();
                let first = v.bytes().next().map(|c| c.to_ascii_lowercase());
                match first {
                    Some(b'n') => o.push_output = false,
                    Some(b'y') => o.push_output = true,
                    _ => eprintln!("Unknown --show-pushes value '{}' (valid: '[y]es', '[n]o')", v),
                }
            }
            "--cluster" => return Parsed::ClusterManager,
            _ => {
                took_value = false;
                match arg {
                    "--no-auth-warning" => o.no_auth_warning = true,
                    "--raw" => o.output.mode = OutputMode::Raw,
                    "--no-raw" => o.output.mode = OutputMode::Standard,
                    "--csv" => o.output.mode = OutputMode::Csv,
                    "--quoted-input" => o.quoted_input = true,
                    "-c" => o.cluster_mode = true,
                    "-e" => o.set_errcode = true,
                    "--verbose" => {}
                    "-2" => o.resp2 = true,
                    "-3" => o.resp3 = true,
                    "-v" | "--version" => {
                        println!("redis-cli {}", VERSION);
                        return Parsed::Exit(0);
                    }
                    _ => {
                        if let Some(&(_, takes)) = CLUSTER_OPTIONS.iter().find(|(name, _)| *name == arg) {
                            // Read anywhere by redis-cli, used only by the manager.
                            if takes && has_value {
                                took_value = true;
                            } else if takes {
                                eprintln!("Unrecognized option or bad number of args for: '{}'", arg);
                                return Parsed::Exit(1);
                            }
                        } else if UNSUPPORTED.contains(&arg) {
                            eprintln!("halab cli: redis-cli's '{}' mode is not implemented", arg);
                            return Parsed::Exit(1);
                        } else if arg.starts_with('-') {
                            eprintln!("Unrecognized option or bad number of args for: '{}'", arg);
                            return Parsed::Exit(1);
                        } else {
                            // The command's name: options end here.
                            break;
                        }
                    }
                }
            }
        }
        i += if took_value { 2 } else { 1 };
    }
    if o.socket.is_some() && o.cluster_mode {
        eprintln!("Options -c and -s are mutually exclusive.");
        return Parsed::Exit(1);
    }
    if o.resp2 && o.resp3 {
        eprintln!("Options -2 and -3 are mutually exclusive.");
        return Parsed::Exit(1);
    }
    if !o.no_auth_warning && o.auth.is_some() {
        eprintln!("Warning: Using a password with '-a' or '-u' option on the command line interface may not be safe.");
    }
    if o.stdin_lastarg && o.stdin_tag.is_some() {
        eprintln!("Options -x and -X are mutually exclusive.");
        return Parsed::Exit(1);
    }
    Parsed::Run(Box::new(o), i)
}

/// `parseRedisUri`: `redis://[[user:]password@]host[:port][/db]`, percent-decoded.
fn parse_uri(uri: &str, o: &mut Options) -> Result<(), i32> {
    let lower = uri.to_ascii_lowercase();
    let rest = if lower.starts_with("rediss://") {
        eprintln!("rediss:// is only supported when redis-cli is compiled with OpenSSL");
        return Err(1);
    } else if lower.starts_with("redis://") {
        &uri["redis://".len()..]
    } else {
        eprintln!("Invalid URI scheme");
        return Err(1);
    };
    let mut curr = rest;
    if let Some(at) = curr.find('@') {
        let userinfo = &curr[..at];
        let password = match userinfo.find(':') {
            Some(colon) => {
                o.user = Some(percent_decode(&userinfo[..colon])?);
                &userinfo[colon + 1..]
            }
            None => userinfo,
        };
        o.auth = Some(percent_decode(password)?);
        curr = &curr[at + 1..];
    }
    if curr.is_empty() {
        return Ok(());
    }
    let path = curr.find('/');
    if !curr.starts_with('/') {
        let hostport = &curr[..path.unwrap_or(curr.len())];
        match hostport.find(':') {
            Some(colon) => {
                o.port = redirect::atoi(&hostport[colon + 1..]);
                o.host = hostport[..colon].to_string();
            }
            None => o.host = hostport.to_string(),
        }
    }
    if let Some(p) = path {
        let db = &curr[p + 1..];
        if !db.is_empty() {
            o.input_db = redirect::atoi(db);
        }
    }
    Ok(())
}

fn percent_decode(s: &str) -> Result<Vec<u8>, i32> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if b.len() - i < 3 {
                eprintln!("Incomplete URI encoding");
                return Err(1);
            }
            let hex = |c: u8| (c as char).to_digit(16);
            match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                _ => {
                    eprintln!("Illegal character in URI encoding");
                    return Err(1);
                }
            }
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// C's `strtoll(s, NULL, 10)`: the leading number, 0 without one, saturating.
fn strtoll(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let end = digits.bytes().take_while(u8::is_ascii_digit).count();
    match digits[..end].parse::<i128>() {
        Ok(v) => {
            let v = if neg { -v } else { v };
            v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
        }
        Err(_) if end == 0 => 0,
        Err(_) => {
            if neg {
                i64::MIN
            } else {
                i64::MAX
            }
        }
    }
}

/// C's `atof`: the longest leading decimal number, 0 without one.
fn atof(s: &str) -> f64 {
    let t = s.trim_start();
    (1..=t.len()).rev().filter(|&n| t.is_char_boundary(n)).find_map(|n| t[..n].parse::<f64>().ok()).unwrap_or(0.0)
}

/// `usage()`: to stdout and exit 0 when asked for, to stderr and exit 1 on a bad command line.
fn usage(code: i32) -> i32 {
    let text = USAGE.replace("{VERSION}", VERSION);
    if code == 0 {
        print!("{}", text);
    } else {
        eprint!("{}", text);
    }
    code
}

/// redis-cli's usage text, for the options halab cli has.
const USAGE: &str = r#"redis-cli {VERSION}

Usage: halab cli [OPTIONS] [cmd [arg [arg ...]]]
  -h <hostname>      Server hostname (default: 127.0.0.1).
  -p <port>          Server port (default: 6379).
  -s <socket>        Server socket (overrides hostname and port).
  -a <password>      Password to use when connecting to the server.
                     You can also use the REDISCLI_AUTH environment
                     variable to pass this password more safely
                     (if both are used, this argument takes precedence).
  --user <username>  Used to send ACL style 'AUTH username pass'. Needs -a.
  --pass <password>  Alias of -a for consistency with the new --user option.
  -u <uri>           Server URI.
  -r <repeat>        Execute specified command N times.
  -i <interval>      When -r is used, waits <interval> seconds per command.
                     It is possible to specify sub-second times like -i 0.1.
  -n <db>            Database number.
  -2                 Start session in RESP2 protocol mode.
  -3                 Start session in RESP3 protocol mode.
  -x                 Read last argument from STDIN (see example below).
  -X                 Read <tag> argument from STDIN (see example below).
  -d <delimiter>     Delimiter between response bulks for raw formatting (default: \n).
  -D <delimiter>     Delimiter between responses for raw formatting (default: \n).
  -c                 Enable cluster mode (follow -ASK and -MOVED redirections).
  -e                 Return exit error code when command execution fails.
  --raw              Use raw formatting for replies (default when STDOUT is
                     not a tty).
  --no-raw           Force formatted output even when STDOUT is not a tty.
  --quoted-input     Force input to be handled as quoted strings.
  --csv              Output in CSV format.
  --show-pushes <yn> Whether to print RESP3 PUSH messages.  Enabled by default when
                     STDOUT is a tty but can be overridden with --show-pushes no.
  --cluster <command> [args...] [opts...]
                     Cluster Manager command and arguments (see below).
  --verbose          Verbose mode.
  --no-auth-warning  Don't show warning message when using password on command
                     line interface.
  --help             Output this help and exit.
  --version          Output version and exit.

Cluster Manager Commands:
  Use --cluster help to list all available cluster manager commands.

Examples:
  cat /etc/passwd | halab cli -x set mypasswd
  halab cli -D "" --raw dump key > key.dump && halab cli -X dump_tag restore key2 0 dump_tag replace < key.dump
  halab cli -r 100 lpush mylist x
  halab cli -r 100 -i 1 info | grep used_memory_human:
  halab cli --quoted-input set '"null-\x00-separated"' value

When no command is given, halab cli starts in interactive mode.
Type "help" in interactive mode for information on available commands
and settings.

"#;

/// `cliOutputGenericHelp`, for a bare `help` typed in the REPL (or sent as a one-shot
/// command); `help <topic>` is help.rs's.
fn generic_help() -> String {
    GENERIC_HELP.replace("{VERSION}", VERSION)
}

const GENERIC_HELP: &str = r#"redis-cli {VERSION}
To get help about Redis commands type:
      "help @<group>" to get a list of commands in <group>
      "help <command>" for help on <command>
      "help <tab>" to get a list of possible help topics
      "quit" to exit

To set redis-cli preferences:
      ":set hints" enable online hints
      ":set nohints" disable online hints
Set your preferences in ~/.redisclirc
"#;

/// Run `halab cli`. `argv` is everything after `cli`. Returns the exit code.
pub fn run(argv: Vec<String>) -> i32 {
    let (mut opts, first) = match parse_options(&argv) {
        Parsed::Run(o, first) => (*o, first),
        Parsed::ClusterManager => return crate::admin::run(argv),
        Parsed::Exit(code) => return code,
    };
    // parseEnv: a password from the environment, unless one was given.
    if opts.auth.is_none() {
        if let Some(pass) = std::env::var_os("REDISCLI_AUTH") {
            use std::os::unix::ffi::OsStringExt;
            opts.auth = Some(pass.into_vec());
        }
    }
    let command = &argv[first..];
    let mut session = Session::new(opts);
    if command.is_empty() {
        // The REPL: a failed connection is reported and tried again before each command.
        session::install_sigint_handler();
        session.connect(false, false);
        return repl::run(&mut session);
    }
    session.connect(false, true);
    one_shot(&mut session, command)
}

/// `noninteractive`: the command from the command line, `-x`/`-X` filled from stdin.
fn one_shot(session: &mut Session, command: &[String]) -> i32 {
    let mut args: Vec<Vec<u8>> = Vec::with_capacity(command.len() + 1);
    for a in command {
        if session.opts.quoted_input {
            // `unquoteCString`: the argument must split into exactly one sdssplitargs word.
            match halab_core::resp::split_args(a.as_bytes()) {
                Some(mut words) if words.len() == 1 => args.push(words.remove(0)),
                _ => {
                    session.emit(b"Invalid quoted string\n");
                    return 1;
                }
            }
        } else {
            args.push(a.clone().into_bytes());
        }
    }
    if session.opts.stdin_lastarg {
        args.push(read_stdin());
    } else if let Some(tag) = session.opts.stdin_tag.clone() {
        match args.iter().position(|a| a.as_slice() == tag.as_bytes()) {
            Some(i) => args[i] = read_stdin(),
            None => {
                eprintln!("Using -X option but stdin tag not match.");
                return 1;
            }
        }
    }
    let repeat = session.opts.repeat;
    if session.issue(&args, repeat) {
        0
    } else {
        1
    }
}

/// `readArgFromStdin`: all of it, bytes as they are.
fn read_stdin() -> Vec<u8> {
    let mut all = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut all) {
        eprintln!("Reading from standard input: {}", e);
        std::process::exit(1);
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn argv_word(argv: &[String], i: usize) -> &str {
        &argv[i]
    }

    #[test]
    fn options_end_at_the_command() {
        let Parsed::Run(o, first) =
            parse_options(&args("-h 127.0.0.2 -p 7000 -n 2 -r 3 -i 0.5 -c --raw SET k --cluster"))
        else {
            panic!("parsed")
        };
        assert_eq!((o.host.as_str(), o.port, o.input_db, o.repeat, o.interval_us), ("127.0.0.2", 7000, 2, 3, 500_000));
        assert!(o.cluster_mode);
        assert_eq!(o.output.mode, OutputMode::Raw);
        assert_eq!(argv_word(&args("-h 127.0.0.2 -p 7000 -n 2 -r 3 -i 0.5 -c --raw SET k --cluster"), first), "SET");
    }

    #[test]
    fn cluster_goes_to_the_manager_after_its_options() {
        assert!(matches!(parse_options(&args("--cluster-replicas 1 --cluster create a:1")), Parsed::ClusterManager));
        assert!(matches!(parse_options(&args("-a pw --cluster check a:1")), Parsed::ClusterManager));
    }

    #[test]
    fn c_conversions() {
        assert_eq!(strtoll("12abc"), 12);
        assert_eq!(strtoll("abc"), 0);
        assert_eq!(strtoll("-99999999999999999999"), i64::MIN);
        assert_eq!(atof("0.25s"), 0.25);
        assert_eq!(atof("x"), 0.0);
        assert_eq!(redirect::atoi("6380x"), 6380);
    }

    #[test]
    fn redis_uris() {
        let mut o = Options::default();
        parse_uri("redis://al%40x:p%41ss@127.0.0.3:7001/4", &mut o).unwrap();
        assert_eq!(o.user.as_deref(), Some(b"al@x".as_slice()));
        assert_eq!(o.auth.as_deref(), Some(b"pAss".as_slice()));
        assert_eq!((o.host.as_str(), o.port, o.input_db), ("127.0.0.3", 7001, 4));
        assert_eq!(parse_uri("http://x", &mut o), Err(1));
    }
}
