//! `halab cli` judged by the real `redis-cli` 7.0: the same invocation — flags, command,
//! stdin — against the same server must print the same bytes on stdout and stderr and exit
//! with the same code. The server is Debian's redis-server 7.0 (the client is under test, not
//! the server), emptied before each of the two runs so both see the same data; a few cases run
//! on a `halab server` too, and `-c` runs on a real three-node redis-server cluster.
//!
//! stdout is a pipe here, so both tools default to the raw format; `--no-raw` gives the
//! human one a terminal would see. The REPL's prompt needs a terminal: one test drives
//! `halab cli` through `script`'s pseudo-terminal.

use halab_tests::*;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one run of a client printed.
#[derive(Debug, PartialEq)]
struct Run {
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

impl Run {
    /// HELLO's reply names the connection's id, which counts the server's connections: the
    /// one number the two runs cannot share. `id 7`, `4# "id" => (integer) 7`, `"id",7`.
    ///
    /// And a connection the server closed is seen closed (`Server closed the connection`) or
    /// reset (`Connection reset by peer`) as the kernel's race between its FIN and the RST
    /// that answers the next command goes: both are the one event.
    fn masked(self) -> Run {
        let stderr = self.stderr.replace("Error: Connection reset by peer", "Error: Server closed the connection");
        Run { stdout: mask_ids(&self.stdout), stderr, ..self }
    }
}

fn mask_ids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("id") {
        let (head, tail) = rest.split_at(at + 2);
        out.push_str(head);
        let gap = tail.bytes().take_while(|c| b" \"=>(integer),".contains(c)).count();
        let digits = tail[gap..].bytes().take_while(u8::is_ascii_digit).count();
        if gap > 0 && gap <= 16 && digits > 0 {
            out.push_str(&tail[..gap]);
            out.push('N');
            rest = &tail[gap + digits..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

#[derive(Clone, Copy)]
enum Tool {
    RedisCli,
    HalabCli,
}

fn run(tool: Tool, args: &[&str], stdin: &[u8]) -> Run {
    run_env(tool, args, stdin, &[])
}

fn command(tool: Tool) -> Command {
    match tool {
        Tool::RedisCli => Command::new("redis-cli"),
        Tool::HalabCli => {
            let mut c = Command::new(halab_bin());
            c.arg("cli");
            c
        }
    }
}

/// `env` adds variables (`FAKETTY=1` makes both tools format as on a terminal).
fn run_env(tool: Tool, args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Run {
    let mut child = command(tool)
        .args(args)
        .env_remove("REDISCLI_AUTH")
        .env_remove("FAKETTY")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the client");
    let mut input = child.stdin.take().unwrap();
    // A one-shot command may exit without reading its stdin.
    let _ = input.write_all(stdin);
    drop(input);
    let out = child.wait_with_output().unwrap();
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code(),
    }
}

/// Empty every database of the server (both runs start from the same data).
fn flush(server: &Server, auth: Option<&str>) {
    let mut c = server.client();
    if let Some(pw) = auth {
        c.call(&["AUTH", pw]);
    }
    assert_eq!(c.call(&["FLUSHALL"]), simple("OK"));
}

/// Run both clients with `args` (after `-p <port>`) and `stdin`; they must agree exactly.
/// Returns halab cli's run for further checks.
fn same(server: &Server, args: &[&str], stdin: &str) -> Run {
    same_with(server, None, args, stdin)
}

fn same_with(server: &Server, auth: Option<&str>, args: &[&str], stdin: &str) -> Run {
    require_tool("redis-cli");
    let port = server.port.to_string();
    let mut full = vec!["-p", port.as_str()];
    full.extend_from_slice(args);
    flush(server, auth);
    let theirs = run(Tool::RedisCli, &full, stdin.as_bytes());
    flush(server, auth);
    let ours = run(Tool::HalabCli, &full, stdin.as_bytes());
    let (ours, theirs) = (ours.masked(), theirs.masked());
    assert_eq!(
        ours, theirs,
        "halab cli (left) and redis-cli (right) differ for {:?} with stdin {:?}\n--- halab cli stdout ---\n{}\n--- redis-cli stdout ---\n{}",
        args, stdin, ours.stdout, theirs.stdout
    );
    ours
}

fn redis_server(dir: &TempDir, extra: &[&str]) -> Server {
    require_tool("redis-server");
    Server::start_flavor(Flavor::Redis, dir.path(), extra)
}

/// A Lua script's reply: nested arrays, integers, nil inside an array, an empty array.
const NESTED: &str = "return {1, {'a', {'b', 'c'}, {}}, 'x', false, {{{'deep'}}}, 'ten', 2, 3, 4, 5, 6, 7}";

#[test]
fn one_shot_commands_in_every_format() {
    let dir = TempDir::new("cli-oneshot");
    let server = redis_server(&dir, &[]);
    for format in [&[][..], &["--raw"], &["--no-raw"], &["--csv"]] {
        let with = |cmd: &[&str]| -> Vec<String> {
            let mut v: Vec<String> = format.iter().map(|s| s.to_string()).collect();
            v.extend(cmd.iter().map(|s| s.to_string()));
            v
        };
        for cmd in [
            &["SET", "k", "v"][..],
            &["GET", "nosuch"],
            &["PING"],
            &["INCR", "n"],
            &["RPUSH", "l", "a", "b c", "d\"e", "\u{1}\n"],
            &["LRANGE", "nosuch", "0", "-1"],
            &["HSET", "h", "f", "v"],
            &["EVAL", NESTED, "0"],
            &["EVAL", "return {}", "0"],
            &["EVAL", "return redis.error_reply('MY own error')", "0"],
            &["NOSUCHCOMMAND", "x"],
            &["GET"],
            &["MEMORY", "DOCTOR"],
            &["LATENCY", "DOCTOR"],
            &["ECHO", "caf\u{e9} \\ \t"],
        ] {
            let args = with(cmd);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            same(&server, &args, "");
        }
    }
    // A script that fills the same data first, then reads it in each format.
    let fill = "RPUSH l a b c\nSADD s x\nHSET h f v g w\nZADD z 1 m 2 n\nSET n 10\n";
    for format in ["--raw", "--no-raw", "--csv"] {
        let out = same(
            &server,
            &[format],
            &format!(
                "{fill}LRANGE l 0 -1\nSMEMBERS s\nHGETALL h\nZRANGE z 0 -1 WITHSCORES\nINCRBYFLOAT n 0.5\nTYPE l\n"
            ),
        );
        assert!(!out.stdout.is_empty());
    }
    let out = same(&server, &["--no-raw", "EVAL", NESTED, "0"], "");
    assert!(
        out.stdout.starts_with(
            " 1) (integer) 1\n 2) 1) \"a\"\n    2) 1) \"b\"\n       2) \"c\"\n    3) (empty array)\n 3) \"x\"\n 4) (nil)\n 5) 1) 1) 1) \"deep\"\n"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn resp3_types_and_what_redis_cli_cannot_print() {
    let dir = TempDir::new("cli-resp3");
    let server = redis_server(&dir, &[]);
    for format in ["--raw", "--no-raw", "--csv"] {
        for kind in
            ["string", "integer", "double", "null", "true", "false", "verbatim", "map", "set", "bignum", "attrib"]
        {
            same(&server, &[format, "-3", "DEBUG", "PROTOCOL", kind], "");
        }
        same(&server, &[format, "-3", "HGETALL", "nosuch"], "");
        same(
            &server,
            &[format, "-3"],
            "HSET h a 1 b 2\nHGETALL h\nCONFIG GET maxmemory*\nSMEMBERS nosuch\nDEBUG PROTOCOL map\n",
        );
        // HELLO 3 typed in a session switches the protocol (its reply names the connection's
        // id, which differs between the two runs: masked).
        same(&server, &[format], "HELLO 3\nDEBUG PROTOCOL map\nHGETALL nosuch\nDEBUG PROTOCOL set\n");
    }
    let out = same(&server, &["--no-raw", "-3", "DEBUG", "PROTOCOL", "bignum"], "");
    assert_eq!((out.stderr.as_str(), out.code), ("Unknown reply type: 13\n", Some(1)));
}

#[test]
fn errors_and_exit_codes() {
    let dir = TempDir::new("cli-errors");
    let server = redis_server(&dir, &[]);
    // Without -e an error reply is printed and the exit code is 0; with -e it goes to stderr
    // and the code is 1.
    for args in [
        &["NOSUCH"][..],
        &["-e", "NOSUCH"],
        &["--no-raw", "-e", "INCR"],
        &["-e", "PING"],
        &["-e", "--no-raw", "GET", "nosuch"],
    ] {
        same(&server, args, "");
    }
    let out = same(&server, &["-e", "NOSUCH"], "");
    assert_eq!((out.stdout.as_str(), out.code), ("", Some(1)));
    // -e does not apply to piped commands: they run on.
    same(&server, &["-e"], "NOSUCH\nPING\n");
    // Bad command lines.
    for args in [
        &["--bogus"][..],
        &["-p"],
        &["-n"],
        &["-c", "-s", "/tmp/x.sock", "PING"],
        &["-2", "-3", "PING"],
        &["-x", "-X", "t", "PING"],
    ] {
        let out = same(&server, args, "");
        assert_eq!(out.code, Some(1), "{:?}", args);
    }
    // Nobody listening: one-shot and piped.
    let port = free_port().to_string();
    for args in [&["-p", port.as_str(), "PING"][..], &["-p", port.as_str()]] {
        require_tool("redis-cli");
        let theirs = run(Tool::RedisCli, args, b"PING\nPING\n");
        let ours = run(Tool::HalabCli, args, b"PING\nPING\n");
        assert_eq!(ours, theirs, "{:?}", args);
        assert!(ours.stderr.contains(&format!("Could not connect to Redis at 127.0.0.1:{port}: Connection refused")));
    }
}

#[test]
fn stdin_argument_database_and_repeat() {
    let dir = TempDir::new("cli-stdin");
    let server = redis_server(&dir, &[]);
    // -x: all of stdin, binary and newlines included, is the last argument.
    same(&server, &["-x", "SET", "k"], "line one\nline two\n\u{0}\u{7f}");
    let script = "GET k\nSTRLEN k\n";
    let mut c = server.client();
    for args in [&["--no-raw"][..], &["--raw"]] {
        flush(&server, None);
        let theirs = {
            run(Tool::RedisCli, &["-p", &server.port.to_string(), "-x", "SET", "k"], b"a\x00b\n");
            run(Tool::RedisCli, &[&["-p", &server.port.to_string()][..], args].concat(), script.as_bytes())
        };
        flush(&server, None);
        let ours = {
            run(Tool::HalabCli, &["-p", &server.port.to_string(), "-x", "SET", "k"], b"a\x00b\n");
            run(Tool::HalabCli, &[&["-p", &server.port.to_string()][..], args].concat(), script.as_bytes())
        };
        assert_eq!(ours, theirs);
    }
    assert_eq!(c.call(&["GET", "k"]), bulk("a\u{0}b\n"));
    // -X: the tagged argument is stdin.
    same(&server, &["-X", "tag", "SET", "k", "tag"], "tagged value");
    same(&server, &["-X", "tag", "SET", "k", "v"], "x");
    // -n selects a database first, on every connection.
    same(&server, &["-n", "3"], "SET k v\nDBSIZE\nSELECT 0\nDBSIZE\n");
    same(&server, &["-n", "99", "PING"], "");
    same(&server, &["--no-raw", "-n", "2", "DBSIZE"], "");
    // -r repeats, -i waits between repetitions.
    same(&server, &["-r", "5", "INCR", "n"], "");
    same(&server, &["--no-raw", "-r", "3", "-i", "0.01", "RPUSH", "l", "x"], "");
    same(&server, &["-r", "0", "INCR", "n"], "");
    same(&server, &["-r", "2"], "INCR n\n");
    // -d and -D: the raw format's delimiters.
    same(&server, &["-d", ",", "-D", "|"], "RPUSH l a b c\nLRANGE l 0 -1\nGET nosuch\n");
    // --quoted-input.
    same(&server, &["--quoted-input", "SET", "\"a\\x00b\"", "'v'"], "");
    same(&server, &["--quoted-input", "SET", "\"unbalanced", "v"], "");
}

#[test]
fn piped_commands_run_like_the_repl() {
    let dir = TempDir::new("cli-pipe");
    let server = redis_server(&dir, &[]);
    let script = "\
SET a 1
  incr   a  
3 INCR a
0 PING
-2 PING
\"\" PING
SET q \"a b\\x41\\n\\\"\"
GET q
SET q 'it\\'s'
GET q
SET q \"unbalanced
SET q \"a\"b
SELECT 2
SET a 9
MULTI
INCR a
GET a
EXEC
MULTI
DISCARD
SELECT 0
GET a
:set hints
:set colour
:nosuch
restart
connect 127.0.0.1
help set
HELP config get
help @hyperloglog
help nosuch
? ping
EVAL \"return {1,{2,{}}}\" 0
DEBUG PROTOCOL map
RESET
quit
PING
";
    for format in [&[][..], &["--no-raw"], &["--csv"]] {
        let out = same(&server, format, script);
        assert!(!out.stdout.contains("PONG"), "quit ends the session:\n{}", out.stdout);
    }
    // `help`: redis-cli's text under the version line (halab cli's names itself too).
    let port = server.port.to_string();
    let theirs = run(Tool::RedisCli, &["-p", &port], b"help\n");
    let ours = run(Tool::HalabCli, &["-p", &port], b"help\n");
    assert_eq!(ours.stdout.split_once('\n').unwrap().1, theirs.stdout.split_once('\n').unwrap().1);
    assert!(ours.stdout.starts_with("redis-cli 7.0.15 (halab "), "{}", ours.stdout);
    // `help <command>` one-shot, from the server's COMMAND DOCS.
    same(&server, &["help", "GETEX"], "");
    // A line without its newline at the end of the input still runs; CRLF lines too.
    same(&server, &["--no-raw"], "SET k v\r\nGET k\r\nGET k");
}

#[test]
fn a_lost_connection_is_reported_and_reopened() {
    let dir = TempDir::new("cli-lost");
    let server = redis_server(&dir, &[]);
    // The connection kills itself; the next command finds it closed, the one after reconnects
    // (and selects -n's database again).
    let script = "SET k v\nCLIENT KILL TYPE normal SKIPME no\nGET k\nGET k\nDBSIZE\n";
    for args in [&[][..], &["--no-raw"], &["--no-raw", "-n", "1"]] {
        let out = same(&server, args, script);
        assert!(out.stderr.contains("Error: Server closed the connection"), "{:?}", out);
    }
    // A one-shot command whose connection dies exits 1.
    let out = same(&server, &["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no"], "");
    assert_eq!(out.code, Some(0));
    // SHUTDOWN closes without a reply: nothing printed; later commands cannot connect.
    let dir2 = TempDir::new("cli-shutdown");
    for tool in [Tool::RedisCli, Tool::HalabCli] {
        let mut s = redis_server(&dir2, &[]);
        let port = s.port.to_string();
        let r = run(tool, &["-p", &port, "--no-raw"], b"SET k v\nSHUTDOWN NOSAVE\nPING\n");
        assert_eq!(r.stdout, "OK\n");
        assert_eq!(r.stderr, format!("Could not connect to Redis at 127.0.0.1:{port}: Connection refused\n"));
        s.wait_exit(Duration::from_secs(10));
    }
}

#[test]
fn auth_user_pass_and_uri() {
    let dir = TempDir::new("cli-auth");
    let server = redis_server(&dir, &[]);
    {
        let mut c = server.client();
        assert_eq!(c.call(&["CONFIG", "SET", "requirepass", "s3cret"]), simple("OK"));
        c.call(&["AUTH", "s3cret"]);
        assert_eq!(c.call(&["ACL", "SETUSER", "alice", "on", ">wonder", "~*", "+@all"]), simple("OK"));
    }
    let pw = Some("s3cret");
    let port = server.port.to_string();
    for args in [
        &["-a", "s3cret", "PING"][..],
        &["-a", "s3cret", "--no-auth-warning", "PING"],
        &["--pass", "s3cret", "--no-raw", "ACL", "WHOAMI"],
        &["--user", "alice", "--pass", "wonder", "ACL", "WHOAMI"],
        &["-a", "wrong", "PING"],
        &["--user", "alice", "-a", "nope", "--no-raw", "PING"],
        &["PING"],
        &["-n", "2", "PING"],
        &["-a", "s3cret", "-n", "2", "--no-raw", "DBSIZE"],
    ] {
        same_with(&server, pw, args, "");
    }
    let uri = format!("redis://alice:wonder@127.0.0.1:{port}/4");
    same_with(&server, pw, &["-u", &uri, "--no-raw"], "ACL WHOAMI\nSET k v\nDBSIZE\n");
    same_with(&server, pw, &["-u", "http://x", "PING"], "");
    // AUTH typed in a session selects -n's database afterwards.
    same_with(&server, pw, &["-n", "3", "--no-raw"], "SET k v\nAUTH s3cret\nSET k v\nDBSIZE\n");
}

#[test]
fn halab_server_answers_the_same_through_both_clients() {
    let dir = TempDir::new("cli-halab");
    let server = Server::start_in(dir.path(), &[]);
    let script =
        "SET k v\nGET k\nRPUSH l a b\nLRANGE l 0 -1\nHSET h f v\nHGETALL h\nNOSUCH\nINCR k\nMULTI\nINCR n\nEXEC\n";
    for format in [&[][..], &["--no-raw"], &["--csv"]] {
        same(&server, format, script);
        same(&server, &[format, &["EVAL", NESTED, "0"]].concat(), "");
    }
}

/// Three redis-server cluster nodes, slots split as `--cluster create` splits them, every
/// node seeing `cluster_state:ok`.
struct Cluster {
    nodes: Vec<Server>,
    ids: Vec<String>,
    _dir: TempDir,
}

fn text(f: &halab_core::resp::Frame) -> String {
    match f {
        halab_core::resp::Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        halab_core::resp::Frame::Simple(s) => s.clone(),
        other => format!("{:?}", other),
    }
}

fn cluster() -> Cluster {
    require_tool("redis-server");
    let dir = TempDir::new("cli-cluster");
    let nodes: Vec<Server> = (0..3)
        .map(|_| {
            let port = free_port();
            let conf = format!("nodes-{port}.conf");
            Server::start_flavor_on(
                Flavor::Redis,
                dir.path(),
                port,
                &["--cluster-enabled", "yes", "--cluster-config-file", &conf, "--cluster-node-timeout", "5000"],
            )
        })
        .collect();
    let ranges = [("0", "5460"), ("5461", "10922"), ("10923", "16383")];
    let mut ids = Vec::new();
    for (node, (from, to)) in nodes.iter().zip(ranges) {
        let mut c = node.client();
        assert_eq!(c.call(&["CLUSTER", "ADDSLOTSRANGE", from, to]), simple("OK"));
        ids.push(text(&c.call(&["CLUSTER", "MYID"])));
    }
    let mut first = nodes[0].client();
    for other in &nodes[1..] {
        assert_eq!(first.call(&["CLUSTER", "MEET", "127.0.0.1", &other.port.to_string()]), simple("OK"));
    }
    for node in &nodes {
        node.wait_for(
            Duration::from_secs(30),
            "cluster_state:ok",
            |s| s.client().try_call(&["CLUSTER", "INFO"]).map(|f| text(&f)).unwrap_or_default(),
            |info| info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:3"),
        );
    }
    Cluster { nodes, ids, _dir: dir }
}

#[test]
fn cluster_mode_follows_moved_and_ask() {
    require_tool("redis-cli");
    let c = cluster();
    let port = |i: usize| c.nodes[i].port.to_string();
    // Before each run: the key an ASK writes on the importing node is gone again (ASKING lets
    // the DEL reach it; before the migration starts it is a harmless MOVED).
    let reset = || {
        let mut n1 = c.nodes[1].client();
        n1.call(&["ASKING"]);
        n1.call(&["DEL", "foo"]);
    };
    let both = |args: &[&str], stdin: &str| -> Run {
        reset();
        let theirs = run(Tool::RedisCli, args, stdin.as_bytes());
        reset();
        let ours = run(Tool::HalabCli, args, stdin.as_bytes());
        assert_eq!(ours, theirs, "{:?} / {:?}", args, stdin);
        ours
    };
    let p0 = port(0);
    // One-shot: redirected silently.
    for key in ["foo", "bar", "c", "hello"] {
        both(&["-c", "-p", &p0, "SET", key, "v"], "");
        both(&["-c", "-p", &p0, "--no-raw", "GET", key], "");
    }
    // Without -c the MOVED error is the answer.
    both(&["-p", &p0, "--no-raw", "GET", "foo"], "");
    both(&["-p", &p0, "GET", "foo"], "");
    // Piped: each redirection is announced, and the session stays on the new node.
    let script = "SET foo 1\nGET foo\nSET bar 2\nGET c\nINCR foo\n2 INCR bar\nCLUSTER KEYSLOT foo\n";
    for format in [&[][..], &["--no-raw"]] {
        let args = [&["-c", "-p", &p0][..], format].concat();
        let out = both(&args, script);
        assert!(
            out.stdout.contains(&format!("-> Redirected to slot [12182] located at 127.0.0.1:{}\n", port(2))),
            "{}",
            out.stdout
        );
    }
    // -r under -c: the redirection sends the whole repetition again, to the owner.
    for tool in [Tool::RedisCli, Tool::HalabCli] {
        c.nodes[2].client().call(&["DEL", "counter{foo}"]);
        let r = run(tool, &["-c", "-p", &p0, "-r", "3", "INCR", "counter{foo}"], b"");
        assert_eq!(r.stdout, "1\n2\n3\n");
    }
    // ASK: slot 12182 (foo) migrating from node 2 to node 1; a key not on node 2 yet is asked
    // for on node 1, after ASKING.
    let slot = "12182";
    let mut n2 = c.nodes[2].client();
    let mut n1 = c.nodes[1].client();
    assert_eq!(n2.call(&["DEL", "foo"]), int(1));
    assert_eq!(n1.call(&["CLUSTER", "SETSLOT", slot, "IMPORTING", &c.ids[2]]), simple("OK"));
    assert_eq!(n2.call(&["CLUSTER", "SETSLOT", slot, "MIGRATING", &c.ids[1]]), simple("OK"));
    let p2 = port(2);
    for format in [&[][..], &["--no-raw"]] {
        let out = both(&[&["-c", "-p", &p2][..], format].concat(), "GET foo\nSET foo asked\nGET foo\n");
        assert!(
            out.stdout.contains(&format!("-> Redirected to slot [12182] located at 127.0.0.1:{}\n", port(1))),
            "{}",
            out.stdout
        );
        both(&[&["-c", "-p", &p2][..], format, &["GET", "foo"]].concat(), "");
    }
    // The write an ASK redirected landed on the importing node, not on the owner.
    reset();
    assert_eq!(run(Tool::HalabCli, &["-c", "-p", &p2, "SET", "foo", "asked"], b"").stdout, "OK\n");
    assert_eq!(n1.call(&["ASKING"]), simple("OK"));
    assert_eq!(n1.call(&["GET", "foo"]), bulk("asked"));
    // (The migrating node, not holding it, sends a reader there too.)
    assert_eq!(n2.call(&["EXISTS", "foo"]), err(&format!("ASK 12182 127.0.0.1:{}", port(1))));
}

/// `halab cli -p PORT` on a pseudo-terminal that `script` gives it for stdin and stdout.
///
/// `script` runs its command through `$SHELL -c`. The shell must `exec` halab rather than wait
/// for it: a waiting dash (Debian's /bin/sh, and `script`'s shell where `SHELL` is unset) is in
/// the terminal's foreground group too, takes a Ctrl-C's SIGINT, and dies of it once halab has
/// exited — exit status 130 for a session that ended with `quit`. The shell is named, not
/// inherited, so the test is the same on every machine.
fn on_a_terminal(port: u16) -> Command {
    let mut script = Command::new("script");
    script
        .args(["-qfec", &format!("exec {} cli -p {}", halab_bin().display(), port), "/dev/null"])
        .env("SHELL", "/bin/sh");
    script
}

/// The REPL on a terminal.
#[test]
fn repl_prompts_on_a_terminal() {
    require_tool("script");
    let dir = TempDir::new("cli-repl");
    let server = redis_server(&dir, &[]);
    let port = server.port;
    let mut child = on_a_terminal(port)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script");
    let mut stdin = child.stdin.take().unwrap();
    // One line at a time, each after the prompt it answers has been printed, is what a person
    // does; the terminal's line discipline makes typing ahead equivalent.
    stdin.write_all(b"SET k v\nGET k\nSELECT 3\nMULTI\nPING\nEXEC\nconnect 127.0.0.1 1\nPING\nquit\n").unwrap();
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(30));
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    for expected in [
        format!("127.0.0.1:{port}> "),
        "OK\n".to_string(),
        "\"v\"\n".to_string(),
        format!("127.0.0.1:{port}[3]> "),
        format!("127.0.0.1:{port}[3](TX)> "),
        "QUEUED\n".to_string(),
        "1) PONG\n".to_string(),
        "Could not connect to Redis at 127.0.0.1:1: Connection refused".to_string(),
        "not connected> ".to_string(),
    ] {
        assert!(text.contains(&expected), "missing {:?} in the terminal's output:\n{}", expected, text);
    }
}

/// A client left running (SUBSCRIBE, MONITOR), its stdout collected as it comes.
struct Streaming {
    child: std::process::Child,
    stdout: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Streaming {
    fn start(tool: Tool, args: &[&str], stdin: &[u8]) -> Streaming {
        let mut child = command(tool)
            .args(args)
            .env_remove("REDISCLI_AUTH")
            .env_remove("FAKETTY")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the client");
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin).unwrap();
        drop(input);
        let stdout = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = stdout.clone();
        let mut pipe = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = std::io::Read::read(&mut pipe, &mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        Streaming { child, stdout }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    /// Wait until stdout holds `needle` and ends a line, then stop the client; returns all
    /// it printed.
    fn stop_after(mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !(self.text().contains(needle) && self.text().ends_with('\n')) {
            assert!(Instant::now() < deadline, "{:?} never printed; got {:?}", needle, self.text());
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.text()
    }
}

#[test]
fn subscribe_and_monitor_stream_until_stopped() {
    require_tool("redis-cli");
    let dir = TempDir::new("cli-pubsub");
    let server = redis_server(&dir, &[]);
    let port = server.port.to_string();
    let mut publisher = server.client();
    for (args, stdin) in [
        (vec!["-p", &port, "SUBSCRIBE", "ch"], ""),
        (vec!["-p", &port, "--no-raw", "SUBSCRIBE", "ch"], ""),
        (vec!["-p", &port, "--no-raw", "-3", "SUBSCRIBE", "ch"], ""),
        (vec!["-p", &port, "--no-raw"], "PING\nPSUBSCRIBE c*\n"),
    ] {
        let mut outputs = Vec::new();
        for tool in [Tool::RedisCli, Tool::HalabCli] {
            let client = Streaming::start(tool, &args, stdin.as_bytes());
            server.wait_for(
                Duration::from_secs(10),
                "the client subscribed",
                |s| {
                    let mut c = s.client();
                    (c.call(&["PUBSUB", "NUMSUB", "ch"]), c.call(&["PUBSUB", "NUMPAT"]))
                },
                |(numsub, numpat)| *numsub == arr(vec![bulk("ch"), int(1)]) || *numpat == int(1),
            );
            assert_eq!(publisher.call(&["PUBLISH", "ch", "hello"]), int(1));
            outputs.push(client.stop_after("hello"));
            server.wait_for(
                Duration::from_secs(10),
                "the client left",
                |s| s.client().call(&["PUBSUB", "NUMPAT"]),
                |n| *n == int(0),
            );
        }
        assert_eq!(outputs[1], outputs[0], "halab cli (left) and redis-cli (right) for {:?}", args);
    }
    // MONITOR: OK, then one line per command (timestamps differ: compared after them).
    let mut outputs = Vec::new();
    for tool in [Tool::RedisCli, Tool::HalabCli] {
        let client = Streaming::start(tool, &["-p", &port, "MONITOR"], b"");
        server.wait_for(
            Duration::from_secs(10),
            "the monitor printed OK",
            |_| client.text(),
            |t| t.starts_with("OK\n"),
        );
        publisher.call(&["SET", "watched", "1"]);
        let text = client.stop_after("\"watched\"");
        let lines: Vec<String> =
            text.lines().map(|l| l.split_once(' ').map_or(l, |(_, rest)| rest).to_string()).collect();
        outputs.push(lines);
    }
    assert_eq!(outputs[1], outputs[0]);
}

#[test]
fn pushes_print_on_a_terminal() {
    // Client-side caching's invalidations, and RESP3 types, as a terminal shows them.
    require_tool("redis-cli");
    let dir = TempDir::new("cli-push");
    let server = redis_server(&dir, &[]);
    let port = server.port.to_string();
    let script = b"CLIENT TRACKING on\nGET a\nSET a 1\nGET a\nSET a 2\nPING\nDEBUG PROTOCOL set\n";
    for args in [&["-p", &port, "-3"][..], &["-p", &port, "-3", "--show-pushes", "no"], &["-p", &port, "-3", "--raw"]] {
        flush(&server, None);
        let theirs = run_env(Tool::RedisCli, args, script, &[("FAKETTY", "1")]);
        flush(&server, None);
        let ours = run_env(Tool::HalabCli, args, script, &[("FAKETTY", "1")]);
        assert_eq!(ours, theirs, "{:?}", args);
    }
    flush(&server, None);
    let ours = run_env(Tool::HalabCli, &["-p", &port, "-3"], script, &[("FAKETTY", "1")]);
    assert!(ours.stdout.contains("-> invalidate: 'a'\n"), "{}", ours.stdout);
}

/// Ctrl-C during MONITOR in the REPL ends the MONITOR, not the program: a new connection and
/// the prompt again (redis-cli's sigIntHandler).
#[test]
fn ctrl_c_ends_a_monitor_and_returns_to_the_prompt() {
    require_tool("script");
    let dir = TempDir::new("cli-ctrlc");
    let server = redis_server(&dir, &[]);
    let port = server.port;
    let mut child =
        on_a_terminal(port).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("script");
    let mut keys = child.stdin.take().unwrap();
    let screen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = screen.clone();
    let mut pipe = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = std::io::Read::read(&mut pipe, &mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    });
    let prompt = format!("127.0.0.1:{port}> ");
    let wait_screen = |what: &str, cond: &dyn Fn(&str) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !cond(&screen.lock().unwrap()) {
            assert!(Instant::now() < deadline, "{} never showed; screen:\n{}", what, screen.lock().unwrap());
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait_screen("the prompt", &|s| s.contains(&prompt));
    keys.write_all(b"MONITOR\n").unwrap();
    wait_screen("MONITOR's OK", &|s| s.contains("OK\r\n"));
    server.client().call(&["SET", "seen", "1"]);
    wait_screen("the monitored command", &|s| s.contains("\"seen\""));
    keys.write_all(b"\x03").unwrap();
    wait_screen("the prompt again", &|s| s.matches(&prompt).count() >= 2);
    keys.write_all(b"PING\n").unwrap();
    wait_screen("PONG", &|s| s.contains("PONG"));
    keys.write_all(b"quit\n").unwrap();
    drop(keys);
    let status = child.wait().unwrap();
    assert!(status.success(), "{:?}\n{}", status, screen.lock().unwrap());
}
