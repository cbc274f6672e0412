//! The `halab server` process as an operator meets it: command line and config files, logs,
//! persistence across restarts and across implementations, crashes, and real tools' traffic.

use halab_tests::*;
use std::process::Command;
use std::time::Duration;

#[test]
fn redis_benchmark_default_suite_runs_without_errors() {
    require_tool("redis-benchmark");
    let dir = TempDir::new("bench");
    let mut server = Server::start_in(dir.path(), &[]);
    let out = Command::new("redis-benchmark")
        .args(["-p", &server.port.to_string(), "-q", "-n", "2000", "-c", "20"])
        .output()
        .expect("redis-benchmark");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "redis-benchmark failed: {}\n{}", stdout, stderr);
    // Every default test must report a rate, and none may have hit an error reply.
    for test in [
        "PING_INLINE",
        "PING_MBULK",
        "SET",
        "GET",
        "INCR",
        "LPUSH",
        "RPUSH",
        "LPOP",
        "RPOP",
        "SADD",
        "HSET",
        "SPOP",
        "ZADD",
        "ZPOPMIN",
        "LRANGE_100",
        "LRANGE_600",
        "MSET",
    ] {
        let line = stdout.lines().flat_map(|l| l.split('\r')).find(|l| {
            (l.trim_start().starts_with(&format!("{}:", test)) || l.trim_start().starts_with(&format!("{} ", test)))
                && l.contains("requests per second")
        });
        assert!(line.is_some(), "no result line for {} in:\n{}", test, stdout);
    }
    assert!(
        !stdout.contains("ERR") && !stderr.contains("ERR"),
        "error replies during benchmark:\n{}\n{}",
        stdout,
        stderr
    );
    let mut c = server.client();
    let info = c.call(&["INFO", "stats"]);
    let Frame::Bulk(text) = info else { panic!("INFO reply {:?}", info) };
    let text = String::from_utf8_lossy(&text).to_string();
    assert!(text.contains("total_error_replies:0\r\n"), "server counted error replies:\n{}", text);
    server.stop();
}

use halab_core::resp::Frame;

#[test]
fn startup_and_shutdown_logs_follow_redis_format() {
    let dir = TempDir::new("logs");
    let mut server = Server::start_in(dir.path(), &[]);
    server.redis_cli(&["SET", "k", "v"]);
    let out = server.redis_cli(&["SHUTDOWN", "SAVE"]);
    assert!(out.status.success() || out.stdout.is_empty(), "{:?}", out);
    let status = server.wait_exit(Duration::from_secs(10)).expect("server exits after SHUTDOWN");
    assert!(status.success());
    let log = std::fs::read_to_string(&server.log_path).unwrap();
    let re_line = |l: &str| {
        // pid:role dd Mon yyyy hh:mm:ss.mmm <mark> message
        let mut parts = l.splitn(7, ' ');
        let head = parts.next().unwrap_or("");
        let (pid, role) = head.split_once(':').unwrap_or(("", ""));
        let day = parts.next().unwrap_or("");
        let mon = parts.next().unwrap_or("");
        let year = parts.next().unwrap_or("");
        let time = parts.next().unwrap_or("");
        let mark = parts.next().unwrap_or("");
        pid.parse::<u32>().is_ok()
            && matches!(role, "M" | "C" | "S")
            && day.len() == 2
            && ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].contains(&mon)
            && year.len() == 4
            && time.len() == 12
            && matches!(mark, "*" | "#" | "-" | ".")
    };
    for line in log.lines() {
        assert!(re_line(line), "log line not in Redis's format: {:?}", line);
    }
    for expected in [
        "# oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
        "* Running mode=standalone, port=",
        "* Ready to accept connections",
        "# User requested shutdown...",
        "* Saving the final RDB snapshot before exiting.",
        "* DB saved on disk",
        "# Redis is now ready to exit, bye bye...",
    ] {
        assert!(log.contains(expected), "missing {:?} in log:\n{}", expected, log);
    }
    assert!(dir.path().join("dump.rdb").exists());
}

#[test]
fn dataset_survives_restart_through_dump_rdb() {
    let dir = TempDir::new("restart");
    let mut server = Server::start_in(dir.path(), &[]);
    let mut c = server.client();
    c.call(&["SET", "keyone", "lisuo"]);
    c.call(&["RPUSH", "menu", "pine", "banana", "apple"]);
    c.call(&["HSET", "h", "f", "v"]);
    c.call(&["SADD", "s", "1", "2", "x"]);
    c.call(&["ZADD", "z", "1.5", "a"]);
    c.call(&["SET", "ttl", "v", "EX", "1000"]);
    c.call(&["SELECT", "3"]);
    c.call(&["SET", "in3", "yes"]);
    assert_eq!(c.call(&["SAVE"]), simple("OK"));
    server.stop();
    let server = Server::start_in(dir.path(), &[]);
    let mut c = server.client();
    assert_eq!(c.call(&["GET", "keyone"]), bulk("lisuo"));
    assert_eq!(c.call(&["LRANGE", "menu", "0", "-1"]), arr(vec![bulk("pine"), bulk("banana"), bulk("apple")]));
    assert_eq!(c.call(&["HGET", "h", "f"]), bulk("v"));
    assert_eq!(c.call(&["SCARD", "s"]), int(3));
    assert_eq!(c.call(&["ZSCORE", "z", "a"]), bulk("1.5"));
    let Frame::Integer(ttl) = c.call(&["TTL", "ttl"]) else { panic!() };
    assert!((990..=1000).contains(&ttl), "ttl {}", ttl);
    c.call(&["SELECT", "3"]);
    assert_eq!(c.call(&["GET", "in3"]), bulk("yes"));
    assert!(server.log().contains("Done loading RDB, keys loaded: 7, keys expired: 0."), "{}", server.log());
}

/// Write a dataset with one implementation, SAVE, and load it with the other.
fn cross_load(writer: Flavor, reader: Flavor) {
    require_tool("redis-server");
    let dir = TempDir::new("cross");
    let mut w = Server::start_flavor(writer, dir.path(), &[]);
    let mut c = w.client();
    c.call(&["SET", "str", "hello"]);
    c.call(&["SET", "num", "12345"]);
    c.call(&["SET", "long", &"compressible-".repeat(40)]);
    c.call(&["RPUSH", "list", "a", "b", "1", "2"]);
    let big: Vec<String> = (0..300).map(|i| format!("element-{i}")).collect();
    let mut args = vec!["RPUSH", "biglist"];
    args.extend(big.iter().map(|s| s.as_str()));
    c.call(&args);
    c.call(&["HSET", "hash", "f1", "v1", "f2", "2"]);
    let mut hargs = vec!["HSET".to_string(), "bighash".to_string()];
    for i in 0..200 {
        hargs.push(format!("field{i}"));
        hargs.push(format!("value{i}"));
    }
    let hrefs: Vec<&str> = hargs.iter().map(|s| s.as_str()).collect();
    c.call(&hrefs);
    c.call(&["SADD", "intset", "3", "1", "2"]);
    c.call(&["SADD", "strset", "a", "b", "c"]);
    c.call(&["ZADD", "zset", "1", "a", "2.5", "b", "-3", "c"]);
    let mut zargs = vec!["ZADD".to_string(), "bigzset".to_string()];
    for i in 0..200 {
        zargs.push(format!("{}.25", i));
        zargs.push(format!("member{i}"));
    }
    let zrefs: Vec<&str> = zargs.iter().map(|s| s.as_str()).collect();
    c.call(&zrefs);
    c.call(&["SET", "ttl", "v", "EX", "5000"]);
    let digests_before: Vec<Frame> =
        ["str", "num", "long", "list", "biglist", "hash", "bighash", "intset", "strset", "zset", "bigzset", "ttl"]
            .iter()
            .map(|k| c.call(&["DUMP", k]))
            .collect();
    assert_eq!(c.call(&["SAVE"]), simple("OK"));
    w.stop();
    let r = Server::start_flavor(reader, dir.path(), &[]);
    let mut c = r.client();
    assert_eq!(c.call(&["DBSIZE"]), int(12), "reader log:\n{}", r.log());
    assert_eq!(c.call(&["GET", "str"]), bulk("hello"));
    assert_eq!(c.call(&["GET", "num"]), bulk("12345"));
    assert_eq!(c.call(&["GET", "long"]), bulk(&"compressible-".repeat(40)));
    assert_eq!(c.call(&["LRANGE", "list", "0", "-1"]), arr(vec![bulk("a"), bulk("b"), bulk("1"), bulk("2")]));
    assert_eq!(c.call(&["LLEN", "biglist"]), int(300));
    assert_eq!(c.call(&["LINDEX", "biglist", "299"]), bulk("element-299"));
    assert_eq!(c.call(&["HGET", "hash", "f2"]), bulk("2"));
    assert_eq!(c.call(&["HLEN", "bighash"]), int(200));
    assert_eq!(c.call(&["HGET", "bighash", "field199"]), bulk("value199"));
    assert_eq!(c.call(&["SMISMEMBER", "intset", "1", "2", "3", "4"]), arr(vec![int(1), int(1), int(1), int(0)]));
    assert_eq!(c.call(&["SCARD", "strset"]), int(3));
    assert_eq!(
        c.call(&["ZRANGE", "zset", "0", "-1", "WITHSCORES"]),
        arr(vec![bulk("c"), bulk("-3"), bulk("a"), bulk("1"), bulk("b"), bulk("2.5")])
    );
    assert_eq!(c.call(&["ZSCORE", "bigzset", "member199"]), bulk("199.25"));
    let Frame::Integer(ttl) = c.call(&["TTL", "ttl"]) else { panic!() };
    assert!((4990..=5000).contains(&ttl), "ttl {}", ttl);
    // Values survive byte for byte: re-dumping gives payloads the other side restores.
    for (k, payload) in
        ["str", "num", "long", "list", "biglist", "hash", "bighash", "intset", "strset", "zset", "bigzset", "ttl"]
            .iter()
            .zip(digests_before)
    {
        let Frame::Bulk(p) = payload else { panic!("DUMP {} gave {:?}", k, payload) };
        let restored = format!("{}-restored", k);
        let mut cmd = Frame::command([b"RESTORE".as_slice(), restored.as_bytes(), b"0", &p]);
        c.send_raw(&std::mem::take(&mut cmd));
        assert_eq!(c.read_frame().unwrap(), simple("OK"), "RESTORE of {}'s payload", k);
    }
}

#[test]
fn redis_server_loads_halab_dump_rdb() {
    cross_load(Flavor::Halab, Flavor::Redis);
}

#[test]
fn halab_loads_redis_server_dump_rdb() {
    cross_load(Flavor::Redis, Flavor::Halab);
}

#[test]
fn bgsave_writes_in_the_background_and_logs_it() {
    let dir = TempDir::new("bgsave");
    let server = Server::start_in(dir.path(), &[]);
    let mut c = server.client();
    c.call(&["DEBUG", "POPULATE", "20000"]);
    assert_eq!(c.call(&["BGSAVE"]), simple("Background saving started"));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let Frame::Bulk(info) = c.call(&["INFO", "persistence"]) else { panic!() };
        let info = String::from_utf8_lossy(&info).to_string();
        if info.contains("rdb_bgsave_in_progress:0") && info.contains("rdb_saves:1") {
            assert!(info.contains("rdb_last_bgsave_status:ok"));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "BGSAVE never finished:\n{}", info);
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = server.log();
    assert!(log.contains("* Background saving started by pid"), "{}", log);
    assert!(log.contains("* Background saving terminated with success"), "{}", log);
    assert!(std::fs::metadata(dir.path().join("dump.rdb")).unwrap().len() > 100_000);
}

#[test]
fn debug_segfault_kills_the_process_like_a_crash() {
    let dir = TempDir::new("segv");
    let mut server = Server::start_in(dir.path(), &[]);
    let mut c = server.client();
    c.call(&["SET", "k", "v"]);
    c.send_raw(&Frame::command(["DEBUG", "SEGFAULT"]));
    let status = server.wait_exit(Duration::from_secs(10)).expect("process dies");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc_sigsegv()), "status {:?}", status);
    assert!(!dir.path().join("dump.rdb").exists(), "a crash must not save");
}

fn libc_sigsegv() -> i32 {
    11
}

#[test]
fn config_file_with_include_and_command_line_overrides() {
    let dir = TempDir::new("conf");
    let port = free_port();
    let inc = dir.path().join("extra.conf");
    std::fs::write(&inc, "maxmemory 100mb\nrequirepass secret\n").unwrap();
    let conf = dir.path().join("redis.conf");
    std::fs::write(
        &conf,
        format!(
            "# a tutorial-style config\nbind 127.0.0.1\nport {}\ndaemonize no\ndir {}\nlogfile \"{}/node.log\"\nappendonly no\ninclude {}\nsave 900 1\n",
            port + 1,
            dir.path().display(),
            dir.path().display(),
            inc.display()
        ),
    )
    .unwrap();
    let mut child = Command::new(halab_bin())
        .args(["server", conf.to_str().unwrap(), "--port", &port.to_string(), "--maxmemory-policy", "allkeys-lru"])
        .spawn()
        .unwrap();
    let mut ready = false;
    for _ in 0..200 {
        if let Ok(mut c) = Client::connect(port) {
            if c.try_call(&["AUTH", "secret"]).map(|f| f == simple("OK")).unwrap_or(false) {
                ready = true;
                assert_eq!(c.call(&["CONFIG", "GET", "maxmemory"]), arr(vec![bulk("maxmemory"), bulk("104857600")]));
                assert_eq!(
                    c.call(&["CONFIG", "GET", "maxmemory-policy"]),
                    arr(vec![bulk("maxmemory-policy"), bulk("allkeys-lru")])
                );
                assert_eq!(c.call(&["CONFIG", "GET", "port"]), arr(vec![bulk("port"), bulk(&port.to_string())]));
                assert_eq!(c.call(&["CONFIG", "GET", "save"]), arr(vec![bulk("save"), bulk("900 1")]));
                // A 7.0 option halab does not act on yet is still accepted and shown.
                assert_eq!(
                    c.call(&["CONFIG", "GET", "lazyfree-lazy-eviction"]),
                    arr(vec![bulk("lazyfree-lazy-eviction"), bulk("no")])
                );
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(ready, "server with config file never answered");
    let log = std::fs::read_to_string(dir.path().join("node.log")).unwrap_or_default();
    assert!(log.contains("# Configuration loaded"), "{}", log);
}

#[test]
fn unknown_config_directive_is_fatal_like_redis() {
    let dir = TempDir::new("badconf");
    let conf = dir.path().join("bad.conf");
    std::fs::write(&conf, "port 7000\nnot-an-option yes\n").unwrap();
    let out = Command::new(halab_bin()).args(["server", conf.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***"), "{}", text);
    assert!(text.contains("Reading the configuration file, at line 2"), "{}", text);
    assert!(text.contains(">>> 'not-an-option yes'"), "{}", text);
    assert!(text.contains("Bad directive or wrong number of arguments"), "{}", text);
}

#[test]
fn requirepass_through_real_redis_cli() {
    require_tool("redis-cli");
    let dir = TempDir::new("auth");
    let port = free_port();
    let mut child = Command::new(halab_bin())
        .args([
            "server",
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--requirepass",
            "secret",
            "--save",
            "",
            "--dir",
            dir.path().to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let cli_full = |args: &[&str]| {
        let out = Command::new("redis-cli").arg("-p").arg(port.to_string()).args(args).output().unwrap();
        (
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        )
    };
    let cli = |args: &[&str]| cli_full(args).0;
    let mut tries = 0;
    while cli(&["PING"]).is_empty() && tries < 50 {
        std::thread::sleep(Duration::from_millis(50));
        tries += 1;
    }
    assert_eq!(cli(&["PING"]), "NOAUTH Authentication required.");
    let (out, err) = cli_full(&["-a", "wrong", "--no-auth-warning", "PING"]);
    assert_eq!(out, "NOAUTH Authentication required.");
    assert_eq!(err, "AUTH failed: WRONGPASS invalid username-password pair or user is disabled.");
    assert_eq!(cli(&["-a", "secret", "--no-auth-warning", "PING"]), "PONG");
    let _ = child.kill();
    let _ = child.wait();
}

/// One start-up path: a real `halab server` restarting on its dump.rdb logs the same lines, in
/// the same order and with the same role letters, as a simulated node restarting on its disk
/// (numbers — pid, port, ages, sizes, seconds — aside).
#[test]
fn a_real_start_up_logs_the_lines_of_a_simulated_one() {
    use halab_core::lab::sim::{Fault, World, WorldInput};
    let dir = TempDir::new("startup-order");
    let conf = dir.path().join("node.conf");
    std::fs::write(&conf, "save \"\"\nenable-debug-command local\n").unwrap();
    let port = free_port();
    let log = dir.path().join("node.log");
    let start = || {
        Command::new(halab_bin())
            .arg("server")
            .arg(&conf)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--dir", &dir.path().display().to_string()])
            .args(["--logfile", &log.display().to_string()])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start halab server")
    };
    let wait_ready = || {
        for _ in 0..750 {
            if let Ok(mut c) = Client::connect(port) {
                if c.try_call(&["PING"]).is_ok_and(|f| f == simple("PONG")) {
                    return c;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no PONG; log:\n{}", std::fs::read_to_string(&log).unwrap_or_default());
    };
    let mut first = start();
    let mut c = wait_ready();
    assert_eq!(c.call(&["SET", "keyone", "lisuo"]), simple("OK"));
    assert_eq!(c.call(&["SAVE"]), simple("OK"));
    let _ = c.try_call(&["SHUTDOWN", "NOSAVE"]);
    first.wait().unwrap();
    let before = std::fs::read_to_string(&log).unwrap().lines().count();
    let mut second = start();
    let mut c = wait_ready();
    let _ = c.try_call(&["SHUTDOWN", "NOSAVE"]);
    second.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let real: Vec<String> = text.lines().skip(before).map(String::from).collect();

    let mut w = World::new(3);
    w.apply(WorldInput::AddNode {
        name: "m".into(),
        addr: format!("127.0.0.1:{}", port),
        config: "save \"\"\n".into(),
    });
    w.apply(WorldInput::AddClient { name: "cli".into(), node: "m".into() });
    w.command("cli", &["SET", "keyone", "lisuo"]);
    w.command("cli", &["SAVE"]);
    w.apply(WorldInput::Fault(Fault::Kill { node: "m".into() }));
    let sim_before = halab_core::lab::lesson::LessonTarget::logs(&w, "m").len();
    w.apply(WorldInput::Fault(Fault::Restart { node: "m".into() }));
    let simulated: Vec<String> = halab_core::lab::lesson::LessonTarget::logs(&w, "m")[sim_before..].to_vec();

    // "pid:R dd Mon yyyy hh:mm:ss.mmm * message" → "R * message", each number as '#'.
    let shape = |lines: &[String]| -> Vec<String> {
        let mut out = Vec::new();
        for l in lines {
            let role = l.split_once(':').and_then(|(_, r)| r.chars().next()).unwrap_or('?');
            let rest: Vec<&str> = l.splitn(7, ' ').collect();
            let text = format!("{} {} {}", role, rest.get(5).unwrap_or(&""), rest.get(6).unwrap_or(&""));
            let mut shaped = String::new();
            for ch in text.chars() {
                match ch {
                    '0'..='9' if shaped.ends_with('#') => {}
                    '0'..='9' => shaped.push('#'),
                    _ => shaped.push(ch),
                }
            }
            let text = shaped;
            let done = text.contains("Ready to accept connections");
            out.push(text);
            if done {
                break;
            }
        }
        out
    };
    let (real, simulated) = (shape(&real), shape(&simulated));
    assert_eq!(real, simulated, "real start-up (left) and simulated start-up (right)\nreal log:\n{}", text);
    assert!(real.iter().any(|l| l.contains("DB loaded from disk")), "{:#?}", real);
}

/// CONFIG REWRITE writes the file redis-server 7.0 writes from the same file and the same
/// changes: string values quoted and escaped, memory in units (`10mb`), keyspace-event flags
/// normalized, the forced lines (`dir` as an absolute path, the latency percentiles, the
/// default user with requirepass's SHA-256), a blank line before the generated section — and
/// a second rewrite changes it as 7.0's does.
#[test]
fn config_rewrite_writes_what_redis_server_writes() {
    require_tool("redis-server");
    let root = TempDir::new("rewrite-diff");
    let mut files = Vec::new();
    for (flavor, name) in [(Flavor::Halab, "halab"), (Flavor::Redis, "redis")] {
        let dir = root.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("node.conf");
        std::fs::write(
            &conf,
            "# a node\nsave \"\"\ndbfilename \"dump-x.rdb\"\nmasterauth \"se cret\\\"q\"\nnotify-keyspace-events KEA\nappendonly no\nmaxmemory 10mb\n",
        )
        .unwrap();
        let s = Server::start_flavor_with_config(flavor, &conf, &dir, &[]);
        let mut c = s.client();
        for (k, v) in [
            ("requirepass", "pw"),
            ("maxmemory-policy", "allkeys-lru"),
            ("replica-announce-ip", "127.0.0.9"),
            ("hz", "20"),
        ] {
            assert_eq!(c.call(&["CONFIG", "SET", k, v]), Frame::Simple("OK".into()), "{} {}", name, k);
        }
        let mut texts = Vec::new();
        for _ in 0..2 {
            assert_eq!(c.call(&["CONFIG", "REWRITE"]), Frame::Simple("OK".into()), "{}", name);
            // The command line's own options (port, dir, logfile…) are the harness's: compare
            // what is not about where each server runs.
            let text = std::fs::read_to_string(&conf).unwrap();
            let dir_line = format!("dir \"{}\"", std::fs::canonicalize(&dir).unwrap().display());
            assert!(text.lines().any(|l| l == dir_line), "{}: {}", name, text);
            let mut kept: Vec<String> = text
                .lines()
                .filter(|l| {
                    !["port ", "dir ", "logfile ", "bind ", "enable-debug-command "].iter().any(|p| l.starts_with(p))
                })
                .map(String::from)
                .collect();
            // 7.0 appends the generated lines in the order of its config dictionary, a hash
            // table seeded per process: compare that section as a set.
            if let Some(at) = kept.iter().position(|l| l == "# Generated by CONFIG REWRITE") {
                kept[at + 1..].sort();
            }
            texts.push(kept);
        }
        files.push(texts);
    }
    assert_eq!(files[0], files[1], "halab's rewritten file (left) vs redis-server's");
    let first = files[0][0].join("\n");
    for line in [
        "masterauth \"se cret\\\"q\"",
        "maxmemory 10mb",
        "notify-keyspace-events \"AKE\"",
        "latency-tracking-info-percentiles 50 99 99.9",
    ] {
        assert!(first.lines().any(|l| l == line), "{} in\n{}", line, first);
    }
}
