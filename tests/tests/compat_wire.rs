//! Differential tests on the wire: the same bytes sent to halab and to redis-server 7.0 must
//! get the same bytes back (or, where values legitimately differ, the same shape), and
//! malformed input must leave the connection in the same state.

use halab_core::resp::Frame;
use halab_tests::*;
use std::io::{Read, Write};
use std::time::Duration;

/// Run `f` against a fresh halab and a fresh redis-server and return both results.
fn both<T>(f: impl Fn(&Server) -> T) -> (T, T) {
    require_tool("redis-server");
    let dh = TempDir::new("wire-h");
    let dr = TempDir::new("wire-r");
    let h = Server::start_flavor(Flavor::Halab, dh.path(), &[]);
    let r = Server::start_flavor(Flavor::Redis, dr.path(), &[]);
    (f(&h), f(&r))
}

/// Send raw bytes, then read until the server closes or goes quiet; report what came back and
/// whether the connection was closed.
fn raw_exchange(server: &Server, input: &[u8]) -> (Vec<u8>, bool) {
    let mut c = Client::connect(server.port).unwrap();
    c.stream.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    c.stream.write_all(input).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = loop {
        match c.stream.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => break false,
        }
    };
    (got, closed)
}

#[test]
fn malformed_requests_get_redis_errors_and_connection_handling() {
    let cases: &[&[u8]] = &[
        b"*1\r\nfoo\r\n",
        b"*abc\r\n",
        b"*1\r\n$-5\r\n",
        b"*1\r\n$abc\r\n",
        b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n",
        b"SET \"unterminated\r\n",
        b"SET 'a'b c\r\n",
        b"PING\r\n\r\n\r\nPING\r\n",
        b"*0\r\n*-1\r\nPING\r\n",
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nabcXY*1\r\n$4\r\nPING\r\n",
        b"\x00\x01\x02\r\n",
        b"GET\r\n",
        b"*1\r\n$4\r\nQUIT\r\nPING\r\n",
    ];
    for case in cases {
        let (ours, theirs) = both(|s| raw_exchange(s, case));
        assert_eq!(
            (String::from_utf8_lossy(&ours.0), ours.1),
            (String::from_utf8_lossy(&theirs.0), theirs.1),
            "input {:?}",
            String::from_utf8_lossy(case)
        );
    }
}

#[test]
fn oversized_inline_request_is_refused_like_redis() {
    let big = vec![b'a'; 70 * 1024];
    let (ours, theirs) = both(|s| raw_exchange(s, &big));
    assert_eq!(String::from_utf8_lossy(&ours.0), String::from_utf8_lossy(&theirs.0));
    assert_eq!(ours.1, theirs.1);
    assert_eq!(String::from_utf8_lossy(&ours.0), "-ERR Protocol error: too big inline request\r\n");
}

#[test]
fn resp3_replies_are_byte_identical() {
    let script: &[&[&str]] = &[
        &["HELLO", "3"],
        &["SET", "k", "v"],
        &["HSET", "h", "a", "1", "b", "2"],
        &["HGETALL", "h"],
        &["ZADD", "z", "1.5", "m", "2", "n"],
        &["ZSCORE", "z", "m"],
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        &["ZPOPMIN", "z", "1"],
        &["SADD", "s", "3", "1", "2"],
        &["SMEMBERS", "s"],
        &["GET", "missing"],
        &["CONFIG", "GET", "maxmemory"],
        &["LPOP", "missing", "2"],
        &["EXISTS", "k"],
        &["OBJECT", "ENCODING", "h"],
        &["COMMAND", "INFO", "get"],
        &["CLIENT", "GETNAME"],
        &["PUBSUB", "NUMSUB", "x"],
        &["ZINCRBY", "z", "0.25", "n"],
        &["HRANDFIELD", "h", "-1", "WITHVALUES"],
        &["RESET"],
        &["GET", "missing"],
    ];
    let run = |s: &Server| {
        let mut c = s.client();
        let mut out = Vec::new();
        for cmd in script {
            c.send_raw(&Frame::command(cmd.iter()));
            let f = c.read_frame().unwrap();
            let mut bytes = Vec::new();
            f.encode(&mut bytes);
            if cmd[0] != "HELLO" && cmd[0] != "HRANDFIELD" {
                out.push((cmd.join(" "), String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
        out
    };
    let (ours, theirs) = both(run);
    for (a, b) in ours.iter().zip(theirs.iter()) {
        assert_eq!(a, b);
    }
}

/// INFO: the same sections with the same field names in the same order (values differ).
#[test]
fn info_sections_and_fields_match_redis_7_0() {
    let fields = |s: &Server| {
        let mut c = s.client();
        c.call(&["SET", "k", "v"]);
        let Frame::Bulk(text) = c.call(&["INFO", "everything"]) else { panic!() };
        String::from_utf8_lossy(&text)
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| l.split(':').next().unwrap().to_string())
            // Per-command and per-error lines depend on what each server has run.
            .filter(|l| {
                !l.starts_with("cmdstat_")
                    && !l.starts_with("errorstat_")
                    && !l.starts_with("latency_percentiles_usec_")
            })
            .collect::<Vec<_>>()
    };
    let (ours, theirs) = both(fields);
    assert_eq!(ours, theirs);
}

/// CLIENT LIST / CLIENT INFO: the same fields in the same order.
#[test]
fn client_list_fields_match_redis_7_0() {
    let fields = |s: &Server| {
        let mut c = s.client();
        let Frame::Bulk(text) = c.call(&["CLIENT", "INFO"]) else { panic!() };
        String::from_utf8_lossy(&text)
            .split_whitespace()
            .map(|kv| kv.split('=').next().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let (ours, theirs) = both(fields);
    assert_eq!(ours, theirs);
}

/// COMMAND INFO for every command halab implements equals redis-server's entry.
#[test]
fn command_info_matches_for_every_implemented_command() {
    let (ours, theirs) = both(|s| {
        let mut c = s.client();
        let names: Vec<String> = halab_core::command::implemented().iter().map(|c| c.meta.name.to_string()).collect();
        let mut args = vec!["COMMAND".to_string(), "INFO".to_string()];
        args.extend(names);
        let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        match c.call(&refs) {
            Frame::Array(items) => items,
            other => panic!("COMMAND INFO gave {:?}", other),
        }
    });
    // Redis lists subcommands in its dict's order, which its random hash seed decides
    // (COMMAND carries the nondeterministic_output_order tip): compare them sorted.
    let normalize = |entries: Vec<Frame>| -> Vec<Frame> {
        entries
            .into_iter()
            .map(|e| match e {
                Frame::Array(mut fields) if fields.len() == 10 => {
                    if let Frame::Array(subs) = &mut fields[9] {
                        subs.sort_by_key(|s| format!("{:?}", s));
                    }
                    Frame::Array(fields)
                }
                other => other,
            })
            .collect()
    };
    let (ours, theirs) = (normalize(ours), normalize(theirs));
    assert_eq!(ours.len(), theirs.len());
    for (a, b) in ours.iter().zip(theirs.iter()) {
        if a != b {
            panic!("COMMAND INFO differs at {}", first_difference(a, b, String::new()));
        }
    }
}

/// Where two frames first differ, as a path and the two values there.
fn first_difference(a: &Frame, b: &Frame, path: String) -> String {
    if let (Frame::Array(x), Frame::Array(y)) = (a, b) {
        for (i, (p, q)) in x.iter().zip(y.iter()).enumerate() {
            if p != q {
                return first_difference(p, q, format!("{}/{}", path, i));
            }
        }
        if x.len() != y.len() {
            return format!("{}: lengths {} vs {}", path, x.len(), y.len());
        }
    }
    format!("{}: halab {:?} vs redis {:?}", path, a, b)
}

/// Protected mode as 7.0's `islocalClient`: only 127.0.0.1 and ::1 are local — a client from
/// 127.0.0.2 is refused with the same -DENIED line (bind set or not), and admitted once a
/// password is set. Found by the live bridge: halab used to admit all of 127/8 when `bind` was set.
#[test]
fn protected_mode_admits_only_127_0_0_1_as_redis_7_0_does() {
    require_tool("python3");
    let from_127_0_0_2 = |s: &Server| {
        let script = format!(
            "import socket\ns=socket.socket()\ns.settimeout(2)\ns.bind(('127.0.0.2',0))\ns.connect(('127.0.0.1',{}))\ns.sendall(b'PING\\r\\n')\ndata=b''\ntry:\n    while not data.endswith(b'\\r\\n'):\n        c=s.recv(65536)\n        if not c: break\n        data+=c\nexcept OSError as e:\n    data+=str(e).encode()\nprint(data.decode())",
            s.port
        );
        let out = std::process::Command::new("python3").args(["-c", &script]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    };
    let (halab, redis) = both(|s| from_127_0_0_2(s));
    assert!(redis.starts_with("-DENIED Redis is running in protected mode"), "redis said {:?}", redis);
    assert_eq!(halab, redis);
    let (halab, redis) = both(|s| {
        s.client().call(&["CONFIG", "SET", "requirepass", "pw"]);
        from_127_0_0_2(s)
    });
    assert_eq!(redis, "-NOAUTH Authentication required.");
    assert_eq!(halab, redis);
}
