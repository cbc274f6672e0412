//! The data-type families against the behaviour of redis-server 7.0.15, checked by hand
//! (`redis-cli` against both servers) and pinned here: one reply per command, which error
//! wins when several apply, bounded random replies, encodings that are real state, bitmaps,
//! LCS and the multi-key pops.

mod support;

use halab_core::resp::render_cli;
use support::driver::{Driver, Persist};
use support::test_node;

/// A node with DEBUG enabled and one client on connection 1; saves (DEBUG RELOAD writes
/// dump.rdb) succeed at once.
fn driver() -> Driver {
    let mut d = Driver::new(test_node(7, "enable-debug-command yes\n")).with_persist(Persist::Succeed);
    d.connect(1);
    d
}

impl Driver {
    fn enc(&mut self, key: &str) -> String {
        self.cli(&format!("OBJECT ENCODING {key}"))
    }
}

#[test]
fn zadd_xx_on_a_key_of_another_type_answers_once() {
    let mut d = driver();
    d.cli("SET z x");
    assert_eq!(
        d.cli("ZADD z XX CH 5 one"),
        "(error) WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    assert_eq!(d.cli("ZADD nokey XX 5 one"), "(integer) 0");
    assert_eq!(d.cli("EXISTS nokey"), "(integer) 0");
    assert_eq!(d.cli("ZADD nokey XX INCR 5 one"), "(nil)");
}

#[test]
fn random_counts_are_range_checked_and_bounded() {
    let mut d = driver();
    d.cli("SADD s a");
    d.cli("HSET h a 1");
    d.cli("ZADD z 1 a");
    let out_of_range =
        "(error) ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
    assert_eq!(d.cli("SRANDMEMBER s -9223372036854775808"), out_of_range);
    assert_eq!(d.cli("HRANDFIELD h -9223372036854775808"), out_of_range);
    assert_eq!(d.cli("ZRANDMEMBER z -9223372036854775808"), out_of_range);
    assert_eq!(d.cli("HRANDFIELD h -9223372036854770000 WITHVALUES"), "(error) ERR value is out of range");
    assert_eq!(d.cli("ZRANDMEMBER z -9223372036854770000 WITHSCORES"), "(error) ERR value is out of range");
    // A valid but huge count is refused instead of building a reply of 2^63 elements.
    assert!(d.cli("SRANDMEMBER s -9223372036854775807").starts_with("(error) ERR count is out of range"));
    assert_eq!(d.cli("SRANDMEMBER s -3"), "1) \"a\"\n2) \"a\"\n3) \"a\"");
}

#[test]
fn argument_errors_come_where_redis_checks_them() {
    let mut d = driver();
    d.cli("SET k1 v");
    d.cli("RPUSH l a");
    assert_eq!(d.cli("SINTERCARD k1 {t}a s"), "(error) ERR numkeys should be greater than 0");
    assert_eq!(d.cli("LPOP l (1"), "(error) ERR value is out of range, must be positive");
    assert_eq!(d.cli("ZRANGEBYSCORE k1 s -1"), "(error) ERR min or max is not a float");
    assert_eq!(d.cli("ZREMRANGEBYSCORE k1 s -1"), "(error) ERR min or max is not a float");
    assert_eq!(
        d.cli("ZRANGEBYSCORE k1 0 1"),
        "(error) WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    assert_eq!(d.cli("SMOVE l k1 k1"), "(error) WRONGTYPE Operation against a key holding the wrong kind of value");
    // A missing source answers 0 before the destination's type is checked.
    assert_eq!(d.cli("SMOVE nosuch k1 m"), "(integer) 0");
    // LINDEX and LSET look the key up before parsing the index.
    assert_eq!(d.cli("LINDEX k2 MAX"), "(nil)");
    assert_eq!(d.cli("LSET k2 MAX x"), "(error) ERR no such key");
    assert_eq!(d.cli("LINDEX l MAX"), "(error) ERR value is not an integer or out of range");
    assert_eq!(d.cli("LPOS l a COUNT x"), "(error) ERR COUNT can't be negative");
    assert_eq!(d.cli("LPOS l a FOO bar"), "(error) ERR syntax error");
    assert_eq!(d.cli("ZREVRANGE z 0 1 REV"), "(error) ERR syntax error");
    assert_eq!(
        d.cli("ZREVRANGE z 0 1 LIMIT 0 1"),
        "(error) ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    );
    // GETEX checks the key before the expire time; the *SCANs check it before COUNT.
    assert_eq!(d.cli("GETEX l EX a"), "(error) WRONGTYPE Operation against a key holding the wrong kind of value");
    assert_eq!(d.cli("GETEX nosuch EX a"), "(nil)");
    assert_eq!(
        d.cli("HSCAN k1 0 COUNT 0"),
        "(error) WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    assert_eq!(d.cli("SSCAN nosuch 0 COUNT 0"), "1) \"0\"\n2) (empty array)");
    assert_eq!(d.cli("ZSCAN nosuch x"), "(error) ERR invalid cursor");
    // ZUNIONSTORE looks every key up before it parses WEIGHTS.
    assert_eq!(
        d.cli("ZUNIONSTORE out 2 k1 z WEIGHTS a b"),
        "(error) WRONGTYPE Operation against a key holding the wrong kind of value"
    );
}

#[test]
fn string_encodings_follow_redis() {
    let mut d = driver();
    d.cli("SET n 1234");
    assert_eq!(d.enc("n"), "\"int\"");
    d.cli("APPEND n 5");
    assert_eq!(d.enc("n"), "\"raw\"");
    d.cli("SET n 1234");
    assert_eq!(d.cli("SETRANGE n 0 "), "(integer) 4");
    assert_eq!(d.enc("n"), "\"int\"");
    d.cli("SETRANGE n 1 3");
    assert_eq!(d.enc("n"), "\"raw\"");
    assert_eq!(d.cli("GET n"), "\"1334\"");
    d.cli("SET e hello");
    assert_eq!(d.enc("e"), "\"embstr\"");
    d.cli("SET f 10");
    d.cli("INCRBYFLOAT f 1");
    assert_eq!(d.enc("f"), "\"embstr\"");
    d.cli("INCR f");
    assert_eq!(d.enc("f"), "\"int\"");
    d.cli("DEBUG RELOAD");
    d.cli("APPEND e x");
    assert_eq!(d.enc("e"), "\"raw\"");
    d.cli("DEBUG RELOAD");
    assert_eq!(d.enc("e"), "\"embstr\"");
}

#[test]
fn collections_convert_once_and_for_good() {
    let mut d = driver();
    d.cli("HSET h f v");
    assert_eq!(d.enc("h"), "\"listpack\"");
    d.cli("CONFIG SET hash-max-listpack-entries 1");
    d.cli("HSET h g v");
    assert_eq!(d.enc("h"), "\"hashtable\"");
    d.cli("HDEL h g");
    assert_eq!(d.enc("h"), "\"hashtable\"");
    d.cli("CONFIG SET hash-max-listpack-entries 128");
    d.cli("HSET h2 f 12345678901234567890123456789012345678901234567890123456789012345");
    assert_eq!(d.enc("h2"), "\"hashtable\"");

    d.cli("SADD s 1 2 3");
    assert_eq!(d.enc("s"), "\"intset\"");
    d.cli("SADD s x");
    d.cli("SREM s x");
    assert_eq!(d.enc("s"), "\"hashtable\"");
    d.cli("SADD s2 a");
    assert_eq!(d.enc("s2"), "\"hashtable\"");

    d.cli("ZADD z 1 a");
    assert_eq!(d.enc("z"), "\"listpack\"");
    d.cli("CONFIG SET zset-max-ziplist-entries 1");
    d.cli("ZADD z 2 b");
    assert_eq!(d.enc("z"), "\"skiplist\"");
    d.cli("ZREM z b");
    assert_eq!(d.enc("z"), "\"skiplist\"");
    // A stored result is made a listpack again when small; ZADD to a new key with
    // listpacks disabled starts as a skiplist.
    d.cli("CONFIG SET zset-max-ziplist-entries 128");
    d.cli("ZUNIONSTORE z2 1 z");
    assert_eq!(d.enc("z2"), "\"listpack\"");
    d.cli("CONFIG SET zset-max-listpack-entries 0");
    d.cli("ZADD z3 1 a");
    assert_eq!(d.enc("z3"), "\"skiplist\"");
    d.cli("CONFIG SET zset-max-listpack-entries 128");

    // DEBUG RELOAD re-encodes what is small again, under the limits in force.
    d.cli("DEBUG RELOAD");
    assert_eq!(d.enc("h"), "\"listpack\"");
    assert_eq!(d.enc("z"), "\"listpack\"");
    assert_eq!(d.enc("s"), "\"intset\"");
    assert_eq!(d.cli("SMEMBERS s"), "1) \"1\"\n2) \"2\"\n3) \"3\"");
    d.cli("CONFIG SET set-max-intset-entries 2");
    d.cli("DEBUG RELOAD");
    assert_eq!(d.enc("s"), "\"hashtable\"");
}

#[test]
fn scores_parse_like_strtod_and_listpacks_drop_the_sign_of_zero() {
    let mut d = driver();
    assert_eq!(d.cli("ZADD z 0x10 hex"), "(integer) 1");
    assert_eq!(d.cli("ZADD z 1e400 big"), "(error) ERR value is not a valid float");
    assert_eq!(d.cli("ZADD z -0 zero"), "(integer) 1");
    assert_eq!(d.cli("ZSCORE z zero"), "\"0\"");
    assert_eq!(d.cli("ZSCORE z hex"), "\"16\"");
    d.cli("CONFIG SET zset-max-listpack-entries 0");
    d.cli("ZADD s -0 zero");
    assert_eq!(d.cli("ZSCORE s zero"), "\"-0\"");
}

#[test]
fn set_algebra_builds_intsets_from_integers() {
    let mut d = driver();
    d.cli("SADD a 1 2 3");
    d.cli("SADD b 1 2 3 x");
    d.cli("SREM b x");
    assert_eq!(d.enc("b"), "\"hashtable\"");
    d.cli("SINTERSTORE c a b");
    assert_eq!(d.enc("c"), "\"intset\"");
    d.cli("SADD b y");
    d.cli("SUNIONSTORE u a b");
    assert_eq!(d.enc("u"), "\"hashtable\"");
}

#[test]
fn bitmaps() {
    let mut d = driver();
    assert_eq!(d.cli("SETBIT b 7 1"), "(integer) 0");
    assert_eq!(d.cli("GET b"), "\"\\x01\"");
    assert_eq!(d.enc("b"), "\"raw\"");
    assert_eq!(d.cli("GETBIT b 7"), "(integer) 1");
    assert_eq!(d.cli("GETBIT b 100"), "(integer) 0");
    assert_eq!(d.cli("BITCOUNT b"), "(integer) 1");
    assert_eq!(d.cli("BITPOS b 1"), "(integer) 7");
    assert_eq!(d.cli("BITPOS b 0 0 -1"), "(integer) 0");
    d.cli("SETBIT zero 7 0");
    d.cli("BITOP NOT ones zero");
    assert_eq!(d.cli("BITPOS ones 0"), "(integer) 8");
    assert_eq!(d.cli("BITPOS ones 0 0 -1"), "(integer) -1");
    assert_eq!(d.cli("BITPOS nosuch 0"), "(integer) 0");
    assert_eq!(d.cli("BITPOS nosuch 1"), "(integer) -1");
    assert_eq!(d.cli("SETBIT b 4294967296 1"), "(error) ERR bit offset is not an integer or out of range");
    assert_eq!(d.cli("SETBIT b 0 2"), "(error) ERR bit is not an integer or out of range");
    d.cli("SET x foobar");
    assert_eq!(d.cli("BITCOUNT x"), "(integer) 26");
    assert_eq!(d.cli("BITCOUNT x 1 1"), "(integer) 6");
    assert_eq!(d.cli("BITCOUNT x 5 30 BIT"), "(integer) 17");
    assert_eq!(d.cli("BITOP NOT nb b"), "(integer) 1");
    assert_eq!(d.cli("GET nb"), "\"\\xfe\"");
    assert_eq!(d.cli("BITOP AND d x nosuch"), "(integer) 6");
    assert_eq!(d.cli("GET d"), "\"\\x00\\x00\\x00\\x00\\x00\\x00\"");
    assert_eq!(d.cli("BITOP NOT d a b"), "(error) ERR BITOP NOT must be called with a single source key.");
    assert_eq!(
        d.cli("BITFIELD bf SET u8 0 255 GET u8 0 INCRBY u8 0 10 OVERFLOW SAT INCRBY u8 0 1000 OVERFLOW FAIL INCRBY i8 0 200"),
        "1) (integer) 0\n2) (integer) 255\n3) (integer) 9\n4) (integer) 255\n5) (nil)"
    );
    assert_eq!(d.cli("BITFIELD_RO bf GET u8 #0"), "1) (integer) 255");
    assert_eq!(d.cli("BITFIELD_RO bf SET u8 0 1"), "(error) ERR BITFIELD_RO only supports the GET subcommand");
    assert!(d.cli("BITFIELD bf GET u64 0").starts_with("(error) ERR Invalid bitfield type"));
}

#[test]
fn lcs() {
    let mut d = driver();
    d.cli("SET a ohmytext");
    d.cli("SET b mynewtext");
    assert_eq!(d.cli("LCS a b"), "\"mytext\"");
    assert_eq!(d.cli("LCS a b LEN"), "(integer) 6");
    assert_eq!(
        d.cli("LCS a b IDX WITHMATCHLEN MINMATCHLEN 2"),
        "1) \"matches\"\n2) 1) 1) 1) (integer) 4\n         2) (integer) 7\n      2) 1) (integer) 5\n         2) (integer) 8\n      3) (integer) 4\n   2) 1) 1) (integer) 2\n         2) (integer) 3\n      2) 1) (integer) 0\n         2) (integer) 1\n      3) (integer) 2\n3) \"len\"\n4) (integer) 6"
    );
    assert_eq!(d.cli("LCS a b IDX LEN"), "(error) ERR If you want both the length and indexes, please just use IDX.");
    d.cli("RPUSH l x");
    assert_eq!(d.cli("LCS a l"), "(error) ERR The specified keys must contain string values");
}

#[test]
fn multi_key_pops_and_zintercard() {
    let mut d = driver();
    d.cli("RPUSH la 1 2 3");
    assert_eq!(d.cli("LMPOP 2 nol la LEFT COUNT 2"), "1) \"la\"\n2) 1) \"1\"\n   2) \"2\"");
    assert_eq!(d.cli("LMPOP 1 la RIGHT"), "1) \"la\"\n2) 1) \"3\"");
    assert_eq!(d.cli("LMPOP 1 la RIGHT"), "(nil)");
    assert_eq!(d.cli("LMPOP 0 la LEFT"), "(error) ERR numkeys should be greater than 0");
    assert_eq!(d.cli("LMPOP 1 la LEFT COUNT 0"), "(error) ERR count should be greater than 0");
    d.cli("ZADD za 1 a 2 b 3 c");
    assert_eq!(
        d.cli("ZMPOP 1 za MIN COUNT 2"),
        "1) \"za\"\n2) 1) 1) \"a\"\n      2) \"1\"\n   2) 1) \"b\"\n      2) \"2\""
    );
    assert_eq!(d.cli("ZMPOP 1 za MAX MIN"), "(error) ERR syntax error");
    d.cli("ZADD zb 1 a 2 b");
    d.cli("ZADD zc 1 b 2 c");
    assert_eq!(d.cli("ZINTERCARD 2 zb zc"), "(integer) 1");
    assert_eq!(d.cli("ZINTERCARD 1 zb LIMIT -1"), "(error) ERR LIMIT can't be negative");
    assert_eq!(d.cli("ZINTERCARD 0 zb"), "(error) ERR at least 1 input key is needed for 'zintercard' command");
}

#[test]
fn a_key_of_another_type_does_not_wake_a_blocked_pop() {
    let mut d = driver();
    d.connect(2);
    for (pop, key) in [("BZPOPMIN", "z"), ("BLPOP", "l")] {
        d.send(2, &[pop, key, "0"]);
        let (push, value): (&[&str], &str) = if pop == "BZPOPMIN" {
            (&["ZADD", key, "0", "foo"], "1) \"z\"\n2) \"bar\"\n3) \"1\"")
        } else {
            (&["RPUSH", key, "foo"], "1) \"l\"\n2) \"bar\"")
        };
        for cmd in [&["MULTI"][..], push, &["DEL", key], &["SET", key, "foo"], &["EXEC"]] {
            d.send(1, cmd);
        }
        assert_eq!(d.reply(2), None, "{pop} was woken by a string");
        d.send(1, &["DEL", key]);
        if pop == "BZPOPMIN" {
            d.send(1, &["ZADD", key, "1", "bar"]);
        } else {
            d.send(1, &["RPUSH", key, "bar"]);
        }
        assert_eq!(render_cli(&d.reply(2).unwrap()), value);
        d.inbox.clear();
    }
}

/// What the differential fuzz against redis-server 7.0.15 found, each reply checked there
/// by hand: C conversions (`strtod`, `strtoul`, `(int)`), the order options are read in,
/// and the walk a lex range takes over members of mixed scores.
#[test]
fn differential_findings_follow_the_c_conversions_and_orders() {
    let mut d = driver();
    d.cli("ZADD z 0 a 1 b");
    // zslParseRange uses bare strtod: a lone "(" is an exclusive 0, "" is 0, 1e999 is inf.
    assert_eq!(d.cli("ZCOUNT z ( 1"), "(integer) 1");
    assert_eq!(d.cli("ZCOUNT z  1"), "(integer) 2");
    assert_eq!(d.cli("ZCOUNT z 1e999 +inf"), "(integer) 0");
    assert_eq!(d.cli("ZCOUNT z - 1"), "(error) ERR min or max is not a float");
    // The range is parsed before the key's type is checked.
    d.cli("SET s hello");
    assert_eq!(d.cli("ZCOUNT s ( 1"), "(error) WRONGTYPE Operation against a key holding the wrong kind of value");
    // A new member takes the increment itself.
    assert_eq!(d.cli("ZINCRBY z -0 m"), "\"-0\"");
    // DB numbers are C ints first.
    let out_of_int = "(error) ERR value is out of range, value must between -2147483648 and 2147483647";
    assert_eq!(d.cli("MOVE s 9223372036854775807"), out_of_int);
    assert_eq!(d.cli("COPY s t DB 2147483648"), out_of_int);
    assert_eq!(d.cli("SELECT -9223372036854775808"), out_of_int);
    assert_eq!(d.cli("SWAPDB 0 abc"), "(error) ERR invalid second DB index");
    // Options before numbers: EXPIRE's flags, SET's conflicts; RESTORE's key before its TTL.
    assert_eq!(d.cli("PEXPIREAT s s 1 LT"), "(error) ERR Unsupported option 1");
    assert_eq!(d.cli("SET s 1 GET PX abc KEEPTTL"), "(error) ERR syntax error");
    assert_eq!(d.cli("SET s v EX 10 EX 20"), "OK");
    assert_eq!(d.cli("TTL s"), "(integer) 20");
    assert_eq!(d.cli("GETEX s PERSIST PERSIST"), "\"v\"");
    assert_eq!(d.cli("RESTORE s abc payload"), "(error) BUSYKEY Target key name already exists.");
    assert_eq!(d.cli("RESTORE s 0 x IDLETIME 1 FREQ 1"), "(error) ERR syntax error");
    // 7.0's GETRANGE clamps both ends to 0 after counting them from the end.
    d.cli("SET s hello");
    assert_eq!(d.cli("GETRANGE s 0 -100"), "\"h\"");
    assert_eq!(d.cli("GETRANGE s -9223372036854775808 -9223372036854775808"), "\"h\"");
    assert_eq!(d.cli("GETRANGE s -1 -5"), "\"\"");
    // SCAN cursors are strtoul's: negative numbers wrap, the empty cursor is 0 (and the
    // listpack stored m's -0 as 0).
    let whole = "1) \"0\"\n2) 1) \"a\"\n   2) \"0\"\n   3) \"m\"\n   4) \"0\"\n   5) \"b\"\n   6) \"1\"";
    assert_eq!(d.cli("ZSCAN z -9223372036854775808"), whole);
    assert_eq!(d.cli("ZSCAN z "), whole);
    // MATCH * is no pattern: it matches the empty field, which the glob does not.
    d.cli("HSET h  x f y");
    assert_eq!(d.cli("HSCAN h 0 MATCH *"), "1) \"0\"\n2) 1) \"\"\n   2) \"x\"\n   3) \"f\"\n   4) \"y\"");
    // A lex range walks in score order from the first member at or past min while members
    // are within max: "10" (score 0.5) is counted though it sorts before "a".
    d.cli("DEL z");
    d.cli("ZADD z 0 m0 0.5 10 1 m1");
    assert_eq!(d.cli("ZLEXCOUNT z [a +"), "(integer) 3");
    assert_eq!(d.cli("ZRANGEBYLEX z [a + LIMIT 1 1"), "1) \"10\"");
    assert_eq!(
        d.cli("COMMAND GETKEYS ZUNIONSTORE z1 9223372036854775807 z2 z2"),
        "(error) ERR Invalid arguments specified for command"
    );
}
