//! Driving a node with no runtime at all: bytes and time in, bytes and effects out.
//! These tests are what the sans-IO contract buys: a whole session, expiry in virtual time,
//! blocking pops, pub/sub between clients and determinism, in microseconds.

mod support;

use halab_core::node::{Input, Node};
use halab_core::resp::{render_cli, Frame};
use support::driver::Driver;
use support::test_node;

fn node(seed: u64) -> Node {
    test_node(seed, "")
}

#[test]
fn seed_000_session_without_sockets() {
    let mut d = Driver::new(node(1));
    d.connect(1);
    assert_eq!(render_cli(&d.cmd(1, &["SET", "keyone", "lisuo"])), "OK");
    assert_eq!(render_cli(&d.cmd(1, &["LPUSH", "menu", "apple", "banana"])), "(integer) 2");
    assert_eq!(render_cli(&d.cmd(1, &["LPUSH", "menu", "pine"])), "(integer) 3");
    assert_eq!(render_cli(&d.cmd(1, &["LRANGE", "menu", "0", "-1"])), "1) \"pine\"\n2) \"banana\"\n3) \"apple\"");
}

#[test]
fn pipeline_replies_leave_as_one_send() {
    let mut d = Driver::new(node(1));
    d.connect(1);
    let mut batch = Vec::new();
    for i in 0..16 {
        batch.extend_from_slice(&Frame::command(["SET", &format!("k{i}"), "v"]));
    }
    d.trace.clear();
    d.send_bytes(1, &batch);
    let sends = d.trace.iter().filter(|l| l.contains(" send 1 ")).count();
    assert_eq!(sends, 1);
    for _ in 0..16 {
        assert_eq!(d.reply(1), Some(Frame::Simple("OK".into())));
    }
}

#[test]
fn keys_expire_in_virtual_time_lazily_and_actively() {
    let mut d = Driver::new(node(1));
    d.connect(1);
    d.cmd(1, &["SET", "lazy", "v", "PX", "1000"]);
    d.cmd(1, &["SET", "active", "v", "EX", "1"]);
    assert_eq!(d.cmd(1, &["PTTL", "lazy"]), Frame::Integer(1000));
    d.advance(999);
    assert_eq!(d.cmd(1, &["GET", "lazy"]), Frame::Bulk("v".into()));
    d.advance(1);
    assert_eq!(d.cmd(1, &["GET", "lazy"]), Frame::NullBulk);
    // The active cycle removes "active" without anyone reading it.
    d.advance(500);
    assert_eq!(d.node.keyspace_sizes(), vec![], "the dataset should be empty");
    assert_eq!(d.cmd(1, &["DBSIZE"]), Frame::Integer(0));
}

#[test]
fn blpop_is_served_by_a_later_push_and_times_out_otherwise() {
    let mut d = Driver::new(node(1));
    d.connect(1);
    d.connect(2);
    d.send(1, &["BLPOP", "q", "5"]);
    assert_eq!(d.reply(1), None, "BLPOP must block");
    assert_eq!(d.cmd(2, &["RPUSH", "q", "job"]), Frame::Integer(1));
    assert_eq!(d.reply(1), Some(Frame::Array(vec![Frame::Bulk("q".into()), Frame::Bulk("job".into())])));
    assert_eq!(d.cmd(2, &["EXISTS", "q"]), Frame::Integer(0));
    d.send(1, &["BLPOP", "q", "0.5"]);
    d.advance(400);
    assert_eq!(d.reply(1), None);
    d.advance(200);
    assert_eq!(d.reply(1), Some(Frame::NullArray));
}

#[test]
fn pubsub_reaches_other_clients() {
    let mut d = Driver::new(node(1));
    d.connect(1);
    d.connect(2);
    d.cmd(1, &["SUBSCRIBE", "news"]);
    d.send(1, &["PSUBSCRIBE", "n*"]);
    d.reply(1);
    assert_eq!(d.cmd(2, &["PUBLISH", "news", "hello"]), Frame::Integer(2));
    assert_eq!(
        d.reply(1),
        Some(Frame::Array(vec![
            Frame::Bulk("message".into()),
            Frame::Bulk("news".into()),
            Frame::Bulk("hello".into())
        ]))
    );
    assert_eq!(
        d.reply(1),
        Some(Frame::Array(vec![
            Frame::Bulk("pmessage".into()),
            Frame::Bulk("n*".into()),
            Frame::Bulk("news".into()),
            Frame::Bulk("hello".into())
        ]))
    );
    let err = d.cmd(1, &["GET", "x"]);
    assert_eq!(
        err,
        Frame::Error("ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context".into())
    );
}

#[test]
fn protocol_error_closes_after_the_reply() {
    let mut d = Driver::new(node(1));
    d.connect(1);
    d.send_bytes(1, b"*1\r\nfoo\r\n");
    assert_eq!(d.reply(1), Some(Frame::Error("ERR Protocol error: expected '$', got 'f'".into())));
    assert_eq!(d.closed, vec![1]);
}

#[test]
fn watch_aborts_exec_when_another_client_writes() {
    let mut d = Driver::new(node(1));
    d.connect(1);
    d.connect(2);
    d.cmd(1, &["WATCH", "k"]);
    d.cmd(1, &["MULTI"]);
    assert_eq!(d.cmd(1, &["SET", "k", "mine"]), Frame::Simple("QUEUED".into()));
    d.cmd(2, &["SET", "k", "theirs"]);
    assert_eq!(d.cmd(1, &["EXEC"]), Frame::NullArray);
    assert_eq!(d.cmd(1, &["GET", "k"]), Frame::Bulk("theirs".into()));
}

/// The same seed and inputs give byte-identical outputs, including randomness
/// (run id, RANDOMKEY, SPOP) and timers.
#[test]
fn same_seed_same_trace() {
    fn run(seed: u64) -> Vec<String> {
        let mut d = Driver::new(node(seed));
        d.connect(1);
        d.connect(2);
        for i in 0..50 {
            d.cmd(1, &["SET", &format!("key:{i}"), &i.to_string(), "PX", &((i % 7) * 100 + 50).to_string()]);
            d.cmd(2, &["SADD", "s", &i.to_string()]);
        }
        d.cmd(1, &["RANDOMKEY"]);
        d.cmd(2, &["SPOP", "s", "5"]);
        d.cmd(2, &["SRANDMEMBER", "s", "-5"]);
        d.advance(400);
        d.cmd(1, &["DBSIZE"]);
        d.cmd(1, &["INFO", "server"]);
        d.advance(1000);
        d.trace.clone()
    }
    let a = run(7);
    let b = run(7);
    assert_eq!(a, b);
    assert_eq!(a.len(), 105, "trace events of the scripted session");
    let c = run(8);
    assert_ne!(a, c, "a different seed should draw different random keys");
}

/// unit/shutdown "SHUTDOWN ABORT can cancel SIGTERM": a signal is only recorded, the cron
/// starts the shutdown (Redis's `shutdown_asap`), so with the cron paused SHUTDOWN ABORT
/// forgets it and the server lives on; without the pause the next cron exits.
#[test]
fn a_signal_waits_for_the_cron_and_shutdown_abort_forgets_it() {
    use halab_core::node::shutdown::Signal;
    let node = test_node(5, "enable-debug-command yes\nsave \"\"\n");
    let mut d = Driver::new(node);
    d.connect(1);
    assert_eq!(render_cli(&d.cmd(1, &["DEBUG", "PAUSE-CRON", "1"])), "OK");
    d.node.handle(d.now, Input::Signal(Signal::Term));
    d.pump();
    d.advance(500);
    assert_eq!(render_cli(&d.cmd(1, &["SHUTDOWN", "ABORT"])), "OK");
    assert!(d.logs.iter().any(|l| l == "Shutdown manually aborted."), "{:?}", d.logs);
    assert_eq!(render_cli(&d.cmd(1, &["DEBUG", "PAUSE-CRON", "0"])), "OK");
    d.advance(500);
    assert_eq!(render_cli(&d.cmd(1, &["PING"])), "PONG");
    // Again, with the cron running: the next cron run shuts down.
    d.node.handle(d.now, Input::Signal(Signal::Term));
    d.pump();
    assert!(!d.logs.iter().any(|l| l.contains("ready to exit")), "not from the signal itself");
    d.advance(200);
    assert!(d.logs.iter().any(|l| l == "Redis is now ready to exit, bye bye..."), "{:?}", d.logs);
}
