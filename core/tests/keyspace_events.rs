//! Keyspace notifications (`notify-keyspace-events`), pinned against redis-server 7.0.15: which
//! command fires which event, in which order, on which channel, and what CONFIG GET shows.
//! A subscriber on connection 2 `PSUBSCRIBE`s `*`; connection 1 runs the commands.

mod support;

use halab_core::node::Input;
use halab_core::resp::{render_cli, Frame};
use support::driver::Driver;
use support::{test_node, T0};

/// Connection 1 runs the commands, connection 2 hears every event (`PSUBSCRIBE *`) of the
/// classes in `flags`.
fn driver(flags: &str) -> Driver {
    let mut d = Driver::new(test_node(7, "enable-debug-command yes\n"));
    for conn in [1, 2] {
        d.connect(conn);
    }
    d.cli(&format!("CONFIG SET notify-keyspace-events {flags}"));
    d.node.handle(T0, Input::Data { conn: 2, bytes: &Frame::command(["PSUBSCRIBE", "*"]) });
    d.pump();
    assert_eq!(d.events(), vec!["psubscribe * (integer) 1".to_string()]);
    d
}

impl Driver {
    /// What the subscriber received, one message per line: `channel payload`.
    fn events(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(f) = self.reply(2) {
            let line = render_cli(&f);
            let parts: Vec<String> =
                line.lines().map(|l| l.split_once(") ").unwrap().1.trim_matches('"').to_string()).collect();
            out.push(if parts[0] == "pmessage" { parts[2..].join(" ") } else { parts.join(" ") });
        }
        out
    }
}

#[test]
fn keyspace_and_keyevent_channels() {
    let mut d = driver("KEA");
    d.cli("SET foo bar");
    assert_eq!(d.events(), ["__keyspace@0__:foo set", "__keyevent@0__:set foo"]);
    let mut d = driver("KA");
    d.cli("SELECT 3");
    d.cli("LPUSH l a");
    assert_eq!(d.events(), ["__keyspace@3__:l lpush"]);
}

#[test]
fn classes_mask_events() {
    let mut d = driver("KEl");
    d.cli("SET foo bar");
    d.cli("LPUSH mylist a");
    assert_eq!(d.events(), ["__keyspace@0__:mylist lpush", "__keyevent@0__:lpush mylist"]);
    // Without K or E nothing is published.
    let mut d = driver("A");
    d.cli("SET foo bar");
    assert!(d.events().is_empty());
}

#[test]
fn generic_string_and_expire_events() {
    let mut d = driver("Kg$");
    d.cli("SET foo bar EX 100");
    d.cli("EXPIRE foo 1");
    d.cli("PERSIST foo");
    d.cli("RENAME foo bar");
    d.cli("INCRBY n 3");
    d.cli("INCRBYFLOAT n 1.5");
    d.cli("APPEND bar x");
    d.cli("SETRANGE bar 0 y");
    d.cli("GETDEL bar");
    d.cli("EXPIRE n 0");
    d.cli("DEL n nokey");
    assert_eq!(
        d.events(),
        [
            "__keyspace@0__:foo set",
            "__keyspace@0__:foo expire",
            "__keyspace@0__:foo expire",
            "__keyspace@0__:foo persist",
            "__keyspace@0__:foo rename_from",
            "__keyspace@0__:bar rename_to",
            "__keyspace@0__:n incrby",
            "__keyspace@0__:n incrbyfloat",
            "__keyspace@0__:bar append",
            "__keyspace@0__:bar setrange",
            "__keyspace@0__:bar del",
            "__keyspace@0__:n del",
        ]
    );
}

#[test]
fn list_events_fire_push_before_pop_and_del_last() {
    let mut d = driver("Kgl");
    d.cli("RPUSH src a");
    d.cli("LMOVE src dst LEFT RIGHT");
    d.cli("LPUSH l a b c");
    d.cli("LTRIM l 0 1");
    d.cli("LREM l 0 b");
    d.cli("LSET l 0 z");
    d.cli("LINSERT l BEFORE z y");
    d.cli("LPOP l 5");
    assert_eq!(
        d.events(),
        [
            "__keyspace@0__:src rpush",
            "__keyspace@0__:dst rpush",
            "__keyspace@0__:src lpop",
            "__keyspace@0__:src del",
            "__keyspace@0__:l lpush",
            "__keyspace@0__:l ltrim",
            "__keyspace@0__:l lrem",
            "__keyspace@0__:l lset",
            "__keyspace@0__:l linsert",
            "__keyspace@0__:l lpop",
            "__keyspace@0__:l del",
        ]
    );
}

#[test]
fn set_zset_and_hash_events() {
    let mut d = driver("Kszh");
    d.cli("SADD myset a b c d");
    d.cli("SREM myset x");
    d.cli("SADD myset x y z");
    d.cli("SREM myset x");
    d.cli("ZADD myzset 1 a 2 b");
    d.cli("ZREM myzset x");
    d.cli("ZINCRBY myzset 1 a");
    d.cli("ZREMRANGEBYSCORE myzset 0 2");
    d.cli("HMSET myhash yes 1 no 0");
    d.cli("HINCRBY myhash yes 10");
    d.cli("HDEL myhash yes");
    assert_eq!(
        d.events(),
        [
            "__keyspace@0__:myset sadd",
            "__keyspace@0__:myset sadd",
            "__keyspace@0__:myset srem",
            "__keyspace@0__:myzset zadd",
            "__keyspace@0__:myzset zincr",
            "__keyspace@0__:myzset zremrangebyscore",
            "__keyspace@0__:myhash hset",
            "__keyspace@0__:myhash hincrby",
            "__keyspace@0__:myhash hdel",
        ]
    );
}

#[test]
fn move_and_copy_fire_in_both_databases() {
    let mut d = driver("Eg");
    d.cli("SET k v");
    d.cli("COPY k k2 DB 2");
    d.cli("MOVE k 1");
    assert_eq!(d.events(), ["__keyevent@2__:copy_to k2", "__keyevent@0__:move_from k", "__keyevent@1__:move_to k"]);
}

#[test]
fn expired_events_lazy_and_active() {
    let mut d = driver("Ex");
    d.cli("PSETEX foo 100 1");
    d.cli("PSETEX bar 100 1");
    d.now += 200;
    assert_eq!(d.cli("GET foo"), "(nil)");
    assert_eq!(d.events(), ["__keyevent@0__:expired foo"]);
    d.advance(200);
    assert_eq!(d.events(), ["__keyevent@0__:expired bar"]);
}

#[test]
fn evicted_events() {
    let mut d = driver("Ee");
    d.cli("CONFIG SET maxmemory-policy allkeys-lru");
    d.cli("SET foo bar");
    d.cli("CONFIG SET maxmemory 1");
    assert_eq!(d.events(), ["__keyevent@0__:evicted foo"]);
}

#[test]
fn new_keys_and_key_misses() {
    let mut d = driver("Enm");
    d.cli("SET foo bar");
    d.cli("SET foo baz");
    d.cli("SET bar bar");
    d.cli("GET nokey");
    d.cli("RENAME bar foo");
    assert_eq!(
        d.events(),
        ["__keyevent@0__:new foo", "__keyevent@0__:new bar", "__keyevent@0__:keymiss nokey", "__keyevent@0__:new foo"]
    );
}

#[test]
fn config_get_shows_the_flags_as_redis_normalizes_them() {
    let mut d = driver("gKE");
    let get = |d: &mut Driver| d.cli("CONFIG GET notify-keyspace-events").lines().nth(1).unwrap().to_string();
    assert_eq!(get(&mut d), "2) \"gKE\"");
    d.cli("CONFIG SET notify-keyspace-events $lshzxeKE");
    assert_eq!(get(&mut d), "2) \"$lshzxeKE\"");
    d.cli("CONFIG SET notify-keyspace-events KA");
    assert_eq!(get(&mut d), "2) \"AK\"");
    // `n` is kept though `A` hides it, as in Redis.
    d.cli("CONFIG SET notify-keyspace-events EAn");
    assert_eq!(get(&mut d), "2) \"AE\"");
    d.cli("SET fresh 1");
    assert_eq!(d.events(), ["__keyevent@0__:new fresh", "__keyevent@0__:set fresh"]);
    assert_eq!(
        d.cli("CONFIG SET notify-keyspace-events KEX"),
        "(error) ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
    );
}

// ---------------------------------------------------------------------------------------------
// Key access: OBJECT IDLETIME / FREQ in virtual time (evict.c's LRU clock and LFU counter).

#[test]
fn idle_time_counts_virtual_seconds_and_only_real_accesses_reset_it() {
    let mut d = driver("");
    d.cli("SET foo bar");
    d.advance(5_000);
    assert_eq!(d.cli("OBJECT IDLETIME foo"), "(integer) 5");
    // LOOKUP_NOTOUCH: TTL, TYPE, EXISTS and OBJECT leave the stamp alone.
    d.cli("TTL foo");
    d.cli("TYPE foo");
    d.cli("EXISTS foo");
    assert_eq!(d.cli("OBJECT IDLETIME foo"), "(integer) 5");
    d.cli("TOUCH foo");
    assert_eq!(d.cli("OBJECT IDLETIME foo"), "(integer) 0");
    d.advance(2_000);
    d.cli("APPEND foo x");
    assert_eq!(d.cli("OBJECT IDLETIME foo"), "(integer) 0");
    assert_eq!(
        d.cli("OBJECT FREQ foo"),
        "(error) ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
    );
}

#[test]
fn lfu_counter_starts_at_five_counts_accesses_and_decays_per_minute() {
    let mut d = driver("");
    d.cli("CONFIG SET maxmemory-policy allkeys-lfu");
    d.cli("SET foo bar");
    assert_eq!(d.cli("OBJECT FREQ foo"), "(integer) 5");
    // At LFU_INIT_VAL an access always counts (p = 1 / (0 * factor + 1)).
    d.cli("GET foo");
    assert_eq!(d.cli("OBJECT FREQ foo"), "(integer) 6");
    // An overwrite keeps the counter under LFU (`dbSetValue`).
    d.cli("SET foo baz");
    assert_eq!(d.cli("OBJECT FREQ foo"), "(integer) 6");
    // lfu-decay-time 1: one less per minute, computed when read.
    d.advance(3 * 60_000);
    assert_eq!(d.cli("OBJECT FREQ foo"), "(integer) 3");
    // Reading does not store the decay (`LFUDecrAndReturn` leaves the field alone): with
    // decay off, the stored counter shows again.
    d.cli("CONFIG SET lfu-decay-time 0");
    d.advance(10 * 60_000);
    assert_eq!(d.cli("OBJECT FREQ foo"), "(integer) 6");
    assert_eq!(
        d.cli("OBJECT IDLETIME foo"),
        "(error) ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
    );
}

#[test]
fn restore_sets_idle_time_or_frequency_by_policy() {
    let mut d = driver("");
    d.cli("SET foo bar");
    let payload = {
        d.node.handle(d.now, Input::Data { conn: 1, bytes: &Frame::command(["DUMP", "foo"]) });
        d.pump();
        match Frame::decode(d.inbox.entry(1).or_default()).unwrap().unwrap() {
            Frame::Bulk(b) => b,
            other => panic!("{other:?}"),
        }
    };
    let restore = |d: &mut Driver, key: &str, opt: &[&str]| {
        let mut args: Vec<&[u8]> = vec![b"RESTORE", key.as_bytes(), b"0", &payload];
        args.extend(opt.iter().map(|o| o.as_bytes()));
        d.node.handle(d.now, Input::Data { conn: 1, bytes: &Frame::command(&args) });
        d.pump();
        render_cli(&Frame::decode(d.inbox.entry(1).or_default()).unwrap().unwrap())
    };
    assert_eq!(restore(&mut d, "a", &["IDLETIME", "1000"]), "OK");
    assert_eq!(d.cli("OBJECT IDLETIME a"), "(integer) 1000");
    d.cli("CONFIG SET maxmemory-policy volatile-lfu");
    assert_eq!(restore(&mut d, "b", &["FREQ", "100"]), "OK");
    assert_eq!(d.cli("OBJECT FREQ b"), "(integer) 100");
    // IDLETIME means nothing under LFU: the key starts as any new key does.
    assert_eq!(restore(&mut d, "c", &["IDLETIME", "1000"]), "OK");
    assert_eq!(d.cli("OBJECT FREQ c"), "(integer) 5");
}

#[test]
fn allkeys_lru_evicts_the_longest_idle_key() {
    let mut d = driver("Ee");
    d.cli("CONFIG SET maxmemory-policy allkeys-lru");
    d.cli("CONFIG SET maxmemory-samples 64");
    for k in ["k0", "k1", "k2", "k3", "k4"] {
        d.cli(&format!("SET {k} v"));
    }
    d.advance(10_000);
    for k in ["k0", "k1", "k3", "k4"] {
        d.cli(&format!("GET {k}"));
    }
    // Just under what is used now: one key has to go, the one idle for ten seconds.
    let used = used_memory(&mut d);
    d.cli(&format!("CONFIG SET maxmemory {}", used - 1));
    assert_eq!(d.events(), ["__keyevent@0__:evicted k2"]);
}

#[test]
fn allkeys_lfu_evicts_the_least_used_key() {
    let mut d = driver("Ee");
    d.cli("CONFIG SET maxmemory-policy allkeys-lfu");
    d.cli("CONFIG SET maxmemory-samples 64");
    for k in ["k0", "k1", "k2", "k3"] {
        d.cli(&format!("SET {k} v"));
    }
    for k in ["k0", "k2", "k3"] {
        d.cli(&format!("GET {k}"));
    }
    let used = used_memory(&mut d);
    d.cli(&format!("CONFIG SET maxmemory {}", used - 1));
    assert_eq!(d.events(), ["__keyevent@0__:evicted k1"]);
}

#[test]
fn hyperloglog_commands_fire_pfadd() {
    let mut d = driver("KEn$");
    d.cli("PFADD h a b c");
    d.cli("PFADD h a");
    assert_eq!(d.cli("PFCOUNT h"), "(integer) 3");
    d.cli("PFMERGE m h");
    assert_eq!(
        d.events(),
        [
            "__keyspace@0__:h new",
            "__keyevent@0__:new h",
            "__keyspace@0__:h pfadd",
            "__keyevent@0__:pfadd h",
            "__keyspace@0__:m new",
            "__keyevent@0__:new m",
            "__keyspace@0__:m pfadd",
            "__keyevent@0__:pfadd m",
        ]
    );
}

fn used_memory(d: &mut Driver) -> u64 {
    let info = d.cli("INFO memory");
    let at = info.find("used_memory:").expect("INFO memory has used_memory") + "used_memory:".len();
    info[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap()
}
