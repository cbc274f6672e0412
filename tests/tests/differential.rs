//! Differential test: halab and redis-server 7.0 get the same seeded stream of random commands
//! and must give the same replies.
//!
//! The stream is drawn from templates per family (strings, keys and expiry, lists, hashes,
//! sets, zsets, pub/sub, transactions, a few server commands) written as a small grammar:
//!
//! ```text
//! SET $ks $v [ NX | XX ] [ GET ] [ EX $secs | PX $ms | EXAT $fabs | PXAT $fabsms | KEEPTTL ]
//! ```
//!
//! `$slot`s draw from pools (typed keys, members, numbers at their edges, score and lex range
//! syntax, TTLs), `[ a | b ]` is optional, `{ a | b }` a choice, a `+` or `*` after an item
//! repeats it. One command in twelve is then mutated (a word dropped, doubled or replaced by
//! junk, or one appended) to walk the error paths.
//!
//! Every command travels with a fence, `ECHO diff-fence-<n>`, and its replies are what came
//! before the fence, so one extra or missing reply cannot shift the rest of the run. A
//! transaction (WATCH … MULTI … EXEC) travels whole, with one fence after EXEC.
//!
//! What is legitimately nondeterministic is not compared as is:
//! * unordered replies (SMEMBERS, HGETALL, KEYS, the SCAN family with a COUNT that covers the
//!   whole small collection, CONFIG GET …) are sorted;
//! * random picks (RANDOMKEY, SRANDMEMBER, HRANDFIELD, ZRANDMEMBER, SPOP) and DUMP payloads
//!   are compared by shape (types and counts), and SPOP's key is deleted right after so the
//!   two datasets stay equal;
//! * TTLs are long (100 s and more, never in the past for SET), and TTL, PTTL, EXPIRETIME and
//!   PEXPIRETIME are compared with a tolerance; HELLO's client id is masked;
//! * subcommands in COMMAND INFO are sorted (Redis orders them by a randomly seeded hash), and
//!   a bare COMMAND is not compared (halab lists only what it implements, docs/DESIGN.md);
//! * TIME, INFO, OBJECT IDLETIME, CLIENT LIST/ID, MEMORY and LASTSAVE are never sent, nor
//!   OBJECT ENCODING (halab derives encodings from sizes, docs/DESIGN.md).
//!
//! Where replies differ, the keys the command named are deleted on both servers, so one
//! divergence does not cascade. Every 32 steps `DEBUG DIGEST` compares the whole datasets; a
//! silent divergence is reported with the keys that differ, which are then deleted too. At the
//! end, what a subscriber on each server received from PUBLISH is compared.
//!
//! `HALAB_DIFF_SEED` and `HALAB_DIFF_COUNT` override the seed and the number of steps;
//! `HALAB_DIFF_TRACE=1` prints every step with halab's reply (to find a key's history). Each
//! difference is one line: `#step command → halab reply | redis reply`.

use bytes::{Bytes, BytesMut};
use halab_core::resp::Frame;
use halab_tests::*;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

const DEFAULT_SEED: u64 = 20_240_607;
const DEFAULT_COUNT: usize = 4000;
/// At most this many difference lines are printed (all are counted).
const MAX_LINES: usize = 200;
const DIGEST_EVERY: usize = 32;

/// SplitMix64: a tiny seeded generator, so a seed names a stream on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

// ---------------------------------------------------------------------------------------------
// Pools

const STRING_KEYS: &[&str] = &["s1", "s2"];
const LIST_KEYS: &[&str] = &["l1", "l2"];
const HASH_KEYS: &[&str] = &["h1", "h2"];
const SET_KEYS: &[&str] = &["t1", "t2"];
const ZSET_KEYS: &[&str] = &["z1", "z2"];
/// Every key name the stream uses (resync deletes those a command named).
const ALL_KEYS: &[&str] = &["s1", "s2", "l1", "l2", "h1", "h2", "t1", "t2", "z1", "z2", "k1"];

/// The words a `$slot` draws from (typed keys, `$many…` and `$payload` are built in code).
fn pool(slot: &str) -> &'static [&'static str] {
    match slot {
        "v" => &["a", "b", "c", "x", "1", "2", "10", "-3", "1.5", "", "hello", " sp ", "\u{e9}t\u{e9}", "0"],
        "m" => &["a", "b", "c", "d", "1", "2", "3", "10", "-1", "x", "", "1.5"],
        "f" => &["f1", "f2", "f3", "a", "1", ""],
        "int" => &[
            "0",
            "1",
            "-1",
            "2",
            "3",
            "5",
            "10",
            "-5",
            "100",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "abc",
            "1.5",
            "",
            "-0",
            "+1",
            "007",
        ],
        "idx" => {
            &["0", "1", "2", "-1", "-2", "3", "5", "-100", "100", "9223372036854775807", "-9223372036854775808", "abc"]
        }
        "cnt" => {
            &["0", "1", "2", "3", "5", "-1", "-2", "10", "100", "9223372036854775807", "-9223372036854775808", "abc"]
        }
        // Negative counts repeat picks: -9223372036854775807 would ask Redis for 2^63-1 replies.
        "rcnt" => {
            &["0", "1", "2", "3", "5", "10", "-1", "-2", "-5", "9223372036854775807", "-9223372036854775808", "abc"]
        }
        "float" => &[
            "0",
            "1.5",
            "-2.25",
            "10",
            "1e10",
            "inf",
            "-inf",
            "+inf",
            "nan",
            "1e400",
            "abc",
            "0.1",
            "-0",
            "5e-324",
            "1.7976931348623157e308",
            "3",
        ],
        "zscore" => &["0", "1", "2", "1.5", "-1", "inf", "-inf", "+inf", "nan", "abc", "1e400", "3", "(1", "-0"],
        "score" => {
            &["0", "1", "2", "-1", "1.5", "(1", "(2", "-inf", "+inf", "inf", "(-inf", "abc", "nan", "(", "3", "10"]
        }
        "lex" => &["-", "+", "[a", "(a", "[b", "(c", "[", "a", "(", "[z", "[1", "(+"],
        // Long enough never to expire during a run, or refused.
        "secs" => {
            &["100", "1000", "100000", "0", "-1", "-100", "9223372036854775807", "4611686018427387904", "abc", "1.5"]
        }
        "ms" => &["100000", "10000000", "0", "-1", "9223372036854775807", "abc", "100000.5"],
        // Absolute times: past ones delete the key at once (EXPIREAT, GETEX, RESTORE).
        "abs" => &["1", "1000000000", "4000000000", "0", "-1", "9223372036854775807", "abc"],
        "absms" => &["1", "1000000000000", "4000000000000", "0", "-1", "9223372036854775807", "abc"],
        // SET …EXAT in the past leaves a key whose deletion is a race with active expiry.
        "fabs" => &["4000000000", "0", "-1", "9223372036854775807", "abc"],
        "fabsms" => &["4000000000000", "0", "-1", "9223372036854775807", "abc"],
        "rttl" => &["0", "100000", "-1", "abc", "4000000000000"],
        // Block timeouts: short ones, or refused ones; never 0 (forever).
        "tmo" => &["0.01", "0.02", "-1", "abc", "inf", "nan", "1e20", "0.015"],
        "off" => &["0", "1", "3", "10", "-1", "536870912", "abc", "100"],
        "pat" => &["*", "k*", "s?", "[lh]*", "*1", "\\*", "z[0-9]", "", "t*", "*2"],
        "type" => &["string", "list", "hash", "set", "zset", "stream", "nosuch"],
        "db" => &["0", "1", "2", "-1", "16", "abc", "9223372036854775807"],
        "sel" => &["0", "0", "0", "1", "2", "16", "-1", "abc"],
        "numkeys" => &["1", "2", "3", "1", "2", "0", "-1", "abc", "9223372036854775807"],
        "ch" => &["news", "nx", "other"],
        "cfg" => &[
            "maxmemory",
            "maxmemory-policy",
            "hash-max-listpack-entries",
            "list-max-listpack-size",
            "set-max-intset-entries",
            "zset-max-listpack-value",
            "appendonly",
            "databases",
            "nosuch",
            "*max-listpack*",
        ],
        // Only implemented commands: COMMAND knows only those, by design (docs/DESIGN.md).
        "cmdname" => &["get", "set", "zadd", "blpop", "nosuch", "config", "client|setname", "HSET"],
        "name" => &["worker", "", "a b", "x1"],
        "junk" => &[
            "abc",
            "",
            "-1",
            "0",
            "1.5",
            "nan",
            "inf",
            "9223372036854775807",
            "-9223372036854775808",
            "WITHSCORES",
            "LIMIT",
            "COUNT",
            "NX",
            "XX",
            "GT",
            "LT",
            "REV",
            "BYSCORE",
            "BYLEX",
            "GET",
            "KEEPTTL",
            "MATCH",
            "TYPE",
            "RANK",
            "MAXLEN",
        ],
        other => panic!("no pool for ${other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Templates

/// Command templates by family, with the family's weight in the stream.
fn families() -> Vec<(&'static str, usize, Vec<&'static str>)> {
    vec![
        (
            "strings",
            14,
            vec![
                "GET $ks",
                "SET $ks $v [ NX | XX ] [ GET ] [ EX $secs | PX $ms | EXAT $fabs | PXAT $fabsms | KEEPTTL ]",
                "SETNX $ks $v",
                "SETEX $ks $secs $v",
                "PSETEX $ks $ms $v",
                "MGET $ks +",
                "MSET { $ks $v } +",
                "MSETNX { $ks $v } +",
                "INCR $ks",
                "DECR $ks",
                "INCRBY $ks $int",
                "DECRBY $ks $int",
                "INCRBYFLOAT $ks $float",
                "APPEND $ks $v",
                "STRLEN $ks",
                "GETRANGE $ks $idx $idx",
                "SUBSTR $ks $idx $idx",
                "SETRANGE $ks $off $v",
                "GETDEL $ks",
                "GETEX $ks [ EX $secs | PX $ms | EXAT $abs | PXAT $absms | PERSIST ]",
                "GETSET $ks $v",
            ],
        ),
        (
            "keys",
            12,
            vec![
                "DEL $k +",
                "UNLINK $k +",
                "EXISTS $k +",
                "TYPE $k",
                "RENAME $k $k",
                "RENAMENX $k $k",
                "TOUCH $k +",
                "EXPIRE $k $secs [ NX | XX | GT | LT ]",
                "PEXPIRE $k $ms [ NX | XX | GT | LT ]",
                "EXPIREAT $k $abs [ NX | XX | GT | LT ]",
                "PEXPIREAT $k $absms [ NX | XX | GT | LT ]",
                "TTL $k",
                "PTTL $k",
                "EXPIRETIME $k",
                "PEXPIRETIME $k",
                "PERSIST $k",
                "COPY $k $k [ DB $db ] [ REPLACE ]",
                "MOVE $k $db",
                "KEYS $pat",
                "SCAN 0 [ MATCH $pat ] COUNT 1000 [ TYPE $type ]",
                "RANDOMKEY",
                "DBSIZE",
                "OBJECT FREQ $k",
                "DUMP $k",
                "RESTORE $k $rttl $payload [ REPLACE ] [ ABSTTL ]",
                "DEBUG DIGEST-VALUE $k +",
            ],
        ),
        (
            "lists",
            14,
            vec![
                "LPUSH $kl $m +",
                "RPUSH $kl $m +",
                "LPUSHX $kl $m +",
                "RPUSHX $kl $m +",
                "LPOP $kl [ $cnt ]",
                "RPOP $kl [ $cnt ]",
                "LLEN $kl",
                "LRANGE $kl $idx $idx",
                "LINDEX $kl $idx",
                "LSET $kl $idx $m",
                "LINSERT $kl { BEFORE | AFTER } $m $m",
                "LREM $kl $cnt $m",
                "LTRIM $kl $idx $idx",
                "LPOS $kl $m [ RANK $cnt ] [ COUNT $cnt ] [ MAXLEN $cnt ]",
                "LMOVE $kl $kl { LEFT | RIGHT } { LEFT | RIGHT }",
                "RPOPLPUSH $kl $kl",
                "BLPOP $kl + $tmo",
                "BRPOP $kl + $tmo",
                "BLMOVE $kl $kl { LEFT | RIGHT } { LEFT | RIGHT } $tmo",
                "BRPOPLPUSH $kl $kl $tmo",
                "RPUSH $kl $manym",
            ],
        ),
        (
            "hashes",
            12,
            vec![
                "HSET $kh { $f $v } +",
                "HMSET $kh { $f $v } +",
                "HSETNX $kh $f $v",
                "HGET $kh $f",
                "HMGET $kh $f +",
                "HGETALL $kh",
                "HDEL $kh $f +",
                "HLEN $kh",
                "HSTRLEN $kh $f",
                "HEXISTS $kh $f",
                "HKEYS $kh",
                "HVALS $kh",
                "HINCRBY $kh $f $int",
                "HINCRBYFLOAT $kh $f $float",
                "HRANDFIELD $kh [ $rcnt [ WITHVALUES ] ]",
                "HSCAN $kh 0 [ MATCH $pat ] COUNT 1000",
                "HSET $kh $manyfv",
            ],
        ),
        (
            "sets",
            12,
            vec![
                "SADD $kset $m +",
                "SREM $kset $m +",
                "SMEMBERS $kset",
                "SISMEMBER $kset $m",
                "SMISMEMBER $kset $m +",
                "SCARD $kset",
                "SINTER $kset +",
                "SUNION $kset +",
                "SDIFF $kset +",
                "SINTERSTORE $kset $kset +",
                "SUNIONSTORE $kset $kset +",
                "SDIFFSTORE $kset $kset +",
                "SINTERCARD $numkeys $kset + [ LIMIT $cnt ]",
                "SPOP $kset [ $cnt ]",
                "SRANDMEMBER $kset [ $rcnt ]",
                "SMOVE $kset $kset $m",
                "SSCAN $kset 0 [ MATCH $pat ] COUNT 1000",
                "SADD $kset $manym",
            ],
        ),
        (
            "zsets",
            18,
            vec![
                "ZADD $kz [ NX | XX ] [ GT | LT ] [ CH ] [ INCR ] { $zscore $m } +",
                "ZINCRBY $kz $float $m",
                "ZSCORE $kz $m",
                "ZMSCORE $kz $m +",
                "ZCARD $kz",
                "ZCOUNT $kz $score $score",
                "ZLEXCOUNT $kz $lex $lex",
                "ZRANGE $kz $idx $idx [ REV ] [ WITHSCORES ]",
                "ZRANGE $kz $score $score BYSCORE [ REV ] [ LIMIT $idx $cnt ] [ WITHSCORES ]",
                "ZRANGE $kz $lex $lex BYLEX [ REV ] [ LIMIT $idx $cnt ]",
                "ZRANGESTORE $kz $kz $idx $idx [ BYSCORE | BYLEX ] [ REV ] [ LIMIT $idx $cnt ]",
                "ZREVRANGE $kz $idx $idx [ WITHSCORES ]",
                "ZRANGEBYSCORE $kz $score $score [ WITHSCORES ] [ LIMIT $idx $cnt ]",
                "ZREVRANGEBYSCORE $kz $score $score [ WITHSCORES ] [ LIMIT $idx $cnt ]",
                "ZRANGEBYLEX $kz $lex $lex [ LIMIT $idx $cnt ]",
                "ZREVRANGEBYLEX $kz $lex $lex [ LIMIT $idx $cnt ]",
                "ZRANK $kz $m",
                "ZREVRANK $kz $m",
                "ZREM $kz $m +",
                "ZREMRANGEBYSCORE $kz $score $score",
                "ZREMRANGEBYRANK $kz $idx $idx",
                "ZREMRANGEBYLEX $kz $lex $lex",
                "ZPOPMIN $kz [ $cnt ]",
                "ZPOPMAX $kz [ $cnt ]",
                "BZPOPMIN $kz + $tmo",
                "BZPOPMAX $kz + $tmo",
                "ZUNIONSTORE $kz $numkeys $kz + [ WEIGHTS $float + ] [ AGGREGATE { SUM | MIN | MAX } ]",
                "ZINTERSTORE $kz $numkeys $kz + [ WEIGHTS $float + ] [ AGGREGATE { SUM | MIN | MAX } ]",
                "ZDIFFSTORE $kz $numkeys $kz +",
                "ZUNION $numkeys $kz + [ WEIGHTS $float + ] [ AGGREGATE { SUM | MIN | MAX } ] [ WITHSCORES ]",
                "ZINTER $numkeys $kz + [ WEIGHTS $float + ] [ AGGREGATE { SUM | MIN | MAX } ] [ WITHSCORES ]",
                "ZDIFF $numkeys $kz + [ WITHSCORES ]",
                "ZRANDMEMBER $kz [ $rcnt [ WITHSCORES ] ]",
                "ZSCAN $kz 0 [ MATCH $pat ] COUNT 1000",
                "ZADD $kz $manysm",
            ],
        ),
        ("pubsub", 3, vec!["PUBLISH $ch $v", "PUBSUB CHANNELS [ $pat ]", "PUBSUB NUMSUB $ch *", "PUBSUB NUMPAT"]),
        (
            "server",
            5,
            vec![
                "PING [ $v ]",
                "ECHO $v",
                "DBSIZE",
                "SELECT $sel",
                "SWAPDB $sel $sel",
                "DEBUG DIGEST",
                "CONFIG GET $cfg +",
                "COMMAND INFO $cmdname +",
                "COMMAND GETKEYS SET $k $v",
                "COMMAND GETKEYS ZUNIONSTORE $kz $numkeys $kz +",
                "COMMAND GETKEYS GET",
                "COMMAND GETKEYS nosuch $k",
                "ROLE",
                "WAIT 0 { 0 | 10 }",
                "WAIT 1 10",
                "HELLO { 2 | 3 }",
                "CLIENT SETNAME $name",
                "CLIENT GETNAME",
                "OBJECT HELP",
                "FLUSHDB",
            ],
        ),
    ]
}

/// A parsed template.
#[derive(Debug, Clone)]
enum Item {
    Lit(&'static str),
    Slot(&'static str),
    /// `[ a | b ]`: nothing, or one alternative.
    Opt(Vec<Vec<Item>>),
    /// `{ a | b }`: one alternative.
    Choice(Vec<Vec<Item>>),
    /// `x +` (at least once) or `x *` (any number of times).
    Repeat(Box<Item>, usize),
}

fn parse_template(t: &'static str) -> Vec<Item> {
    fn seq(tokens: &[&'static str], pos: &mut usize) -> Vec<Vec<Item>> {
        let mut alts = vec![Vec::new()];
        while *pos < tokens.len() {
            let tok = tokens[*pos];
            *pos += 1;
            let item = match tok {
                "]" | "}" => return alts,
                "|" => {
                    alts.push(Vec::new());
                    continue;
                }
                "[" => Item::Opt(seq(tokens, pos)),
                "{" => Item::Choice(seq(tokens, pos)),
                "+" | "*" => {
                    let prev = alts.last_mut().unwrap().pop().expect("repeat after nothing");
                    Item::Repeat(Box::new(prev), usize::from(tok == "+"))
                }
                s if s.starts_with('$') => Item::Slot(&s[1..]),
                s => Item::Lit(s),
            };
            alts.last_mut().unwrap().push(item);
        }
        alts
    }
    let tokens: Vec<&'static str> = t.split_whitespace().collect();
    let mut pos = 0;
    seq(&tokens, &mut pos).remove(0)
}

/// Builds the command stream.
struct Generator {
    rng: Rng,
    families: Vec<(&'static str, usize, Vec<Vec<Item>>)>,
    /// DUMP payloads made by redis-server (a string, a list, a hash, a set, a zset) for RESTORE.
    payloads: Vec<Vec<u8>>,
}

type Words = Vec<Vec<u8>>;

/// One step of the stream.
enum Step {
    /// Commands sent one by one, each with its fence.
    Commands(Vec<Words>),
    /// A transaction, sent whole with one fence after it.
    Transaction(Vec<Words>),
}

impl Generator {
    fn new(seed: u64, payloads: Vec<Vec<u8>>) -> Generator {
        let families = families()
            .into_iter()
            .map(|(name, weight, templates)| (name, weight, templates.into_iter().map(parse_template).collect()))
            .collect();
        Generator { rng: Rng(seed), families, payloads }
    }

    fn expand(&mut self, items: &[Item], out: &mut Words) {
        for item in items {
            match item {
                Item::Lit(s) => out.push(s.as_bytes().to_vec()),
                Item::Slot(s) => self.slot(s, out),
                Item::Opt(alts) => {
                    if self.rng.chance(2) {
                        let alt = self.rng.below(alts.len());
                        self.expand(&alts[alt].clone(), out);
                    }
                }
                Item::Choice(alts) => {
                    let alt = self.rng.below(alts.len());
                    self.expand(&alts[alt].clone(), out);
                }
                Item::Repeat(inner, min) => {
                    let most = if self.rng.chance(8) { 6 } else { 3 };
                    let n = min + self.rng.below(most);
                    for _ in 0..n {
                        self.expand(std::slice::from_ref(inner), out);
                    }
                }
            }
        }
    }

    fn slot(&mut self, slot: &str, out: &mut Words) {
        // A typed key: the family's own type four times in five, else any key.
        let typed = |keys: &'static [&'static str], rng: &mut Rng| -> &'static str {
            let keys = if rng.chance(5) { ALL_KEYS } else { keys };
            keys[rng.below(keys.len())]
        };
        let word: String = match slot {
            "k" => self.rng.pick(ALL_KEYS).to_string(),
            "ks" => typed(STRING_KEYS, &mut self.rng).into(),
            "kl" => typed(LIST_KEYS, &mut self.rng).into(),
            "kh" => typed(HASH_KEYS, &mut self.rng).into(),
            "kset" => typed(SET_KEYS, &mut self.rng).into(),
            "kz" => typed(ZSET_KEYS, &mut self.rng).into(),
            "payload" => {
                let p =
                    if self.rng.chance(4) { b"not a payload".to_vec() } else { self.rng.pick(&self.payloads).clone() };
                out.push(p);
                return;
            }
            // Enough elements to leave the compact encodings (listpack, intset) behind.
            "manym" | "manyfv" | "manysm" => {
                let n = 1 + self.rng.below(150);
                let ints = self.rng.chance(2);
                for i in 0..n {
                    match slot {
                        "manym" if ints => out.push(i.to_string().into_bytes()),
                        "manym" => out.push(format!("m{i}").into_bytes()),
                        "manyfv" => {
                            out.push(format!("f{i}").into_bytes());
                            out.push(format!("v{i}").into_bytes());
                        }
                        _ => {
                            out.push(format!("{}", i as f64 / 4.0).into_bytes());
                            out.push(format!("m{i}").into_bytes());
                        }
                    }
                }
                return;
            }
            "v" | "m" if self.rng.chance(30) => "y".repeat(70),
            other => self.rng.pick(pool(other)).to_string(),
        };
        out.push(word.into_bytes());
    }

    fn command_from(&mut self, family: Option<&str>) -> Words {
        let total: usize = self.families.iter().map(|f| f.1).sum();
        let fi = match family {
            Some(name) => self.families.iter().position(|f| f.0 == name).unwrap(),
            None => {
                let mut r = self.rng.below(total);
                let mut fi = 0;
                while r >= self.families[fi].1 {
                    r -= self.families[fi].1;
                    fi += 1;
                }
                fi
            }
        };
        let ti = self.rng.below(self.families[fi].2.len());
        let template = self.families[fi].2[ti].clone();
        let mut words = Vec::new();
        self.expand(&template, &mut words);
        // The scarce FLUSHDB and SELECT away from 0 empty or hide the dataset: keep them rare.
        if matches!(&words[0][..], b"FLUSHDB" | b"SWAPDB") && !self.rng.chance(8) {
            words = vec![b"DBSIZE".to_vec()];
        }
        // Blocking commands and WAIT keep their finite timeouts: 0 would wait forever.
        let blocking = matches!(
            &words[0][..],
            b"BLPOP" | b"BRPOP" | b"BLMOVE" | b"BRPOPLPUSH" | b"BZPOPMIN" | b"BZPOPMAX" | b"WAIT"
        );
        if !blocking && self.rng.chance(12) {
            self.mutate(&mut words);
        }
        words
    }

    /// Break a command the way a hurried user would.
    fn mutate(&mut self, words: &mut Words) {
        let junk = self.rng.pick(pool("junk")).as_bytes().to_vec();
        let n = words.len();
        match self.rng.below(5) {
            0 if n > 1 => {
                words.remove(1 + self.rng.below(n - 1));
            }
            1 => {
                let i = self.rng.below(n);
                let w = words[i].clone();
                words.insert(i + 1, w);
            }
            2 if n > 1 => words[1 + self.rng.below(n - 1)] = junk,
            3 => words.push(junk),
            _ => words.truncate(1),
        }
        // A mutated SET or GETEX could fall on a short expire; keep only long ones.
        if matches!(&words[0][..], b"SET" | b"GETEX" | b"SETEX" | b"PSETEX" | b"EXPIRE" | b"PEXPIRE") {
            for w in words.iter_mut().skip(2) {
                if let Some(v) = std::str::from_utf8(w).ok().and_then(|s| s.parse::<i64>().ok()) {
                    if (1..100_000).contains(&v) {
                        *w = b"100000".to_vec();
                    }
                }
            }
        }
    }

    fn step(&mut self) -> Step {
        if self.rng.chance(16) {
            return self.transaction();
        }
        let c = self.command_from(None);
        // A random pop leaves different members behind: delete the key on both sides.
        if c[0] == b"SPOP" && c.len() >= 2 {
            let del = vec![b"DEL".to_vec(), c[1].clone()];
            return Step::Commands(vec![c, del]);
        }
        Step::Commands(vec![c])
    }

    fn transaction(&mut self) -> Step {
        let mut cmds = Vec::new();
        let watched = self.rng.chance(3);
        if watched {
            cmds.push(vec![b"WATCH".to_vec(), self.rng.pick(ALL_KEYS).as_bytes().to_vec()]);
            if self.rng.chance(2) {
                cmds.push(self.deterministic_command());
            }
        }
        cmds.push(vec![b"MULTI".to_vec()]);
        for _ in 0..1 + self.rng.below(5) {
            let c = match self.rng.below(20) {
                0 => vec![b"NOSUCHCOMMAND".to_vec()],
                1 => vec![b"GET".to_vec()],
                2 => vec![b"MULTI".to_vec()],
                3 => vec![b"WATCH".to_vec(), b"k1".to_vec()],
                _ => self.deterministic_command(),
            };
            cmds.push(c);
        }
        cmds.push(if self.rng.chance(8) { vec![b"DISCARD".to_vec()] } else { vec![b"EXEC".to_vec()] });
        if watched && self.rng.chance(4) {
            cmds.push(vec![b"UNWATCH".to_vec()]);
        }
        Step::Transaction(cmds)
    }

    /// A command whose outcome depends only on the dataset (no random picks, no blocking
    /// protocol switch or SELECT), for transactions.
    fn deterministic_command(&mut self) -> Words {
        loop {
            let family = *self.rng.pick(&["strings", "keys", "lists", "hashes", "sets", "zsets"]);
            let c = self.command_from(Some(family));
            if !matches!(&c[0][..], b"SPOP" | b"SRANDMEMBER" | b"HRANDFIELD" | b"ZRANDMEMBER" | b"RANDOMKEY" | b"DUMP")
            {
                return c;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Normalization and comparison

fn upper(w: &[u8]) -> String {
    String::from_utf8_lossy(w).to_ascii_uppercase()
}

fn encoded(f: &Frame) -> Vec<u8> {
    let mut out = Vec::new();
    f.encode(&mut out);
    out
}

/// Marks a TTL-like integer compared with a tolerance.
const TTL_MARK: &str = "\u{1}ttl:";

/// The reply as it is compared: unordered collections sorted, random picks reduced to their
/// shape, TTLs marked for a tolerant comparison.
fn normalize(cmd: &[Vec<u8>], f: Frame) -> Frame {
    if matches!(f, Frame::Error(_)) {
        return f;
    }
    let name = upper(&cmd[0]);
    let sub = cmd.get(1).map(|s| upper(s)).unwrap_or_default();
    match (name.as_str(), sub.as_str()) {
        ("SMEMBERS" | "SINTER" | "SUNION" | "SDIFF" | "KEYS" | "HKEYS" | "HVALS", _) | ("PUBSUB", "CHANNELS") => {
            sorted(f)
        }
        ("HGETALL", _) | ("CONFIG", "GET") => sorted_pairs(f),
        ("SCAN" | "SSCAN", _) => scan(f, false),
        ("HSCAN" | "ZSCAN", _) => scan(f, true),
        ("RANDOMKEY" | "SRANDMEMBER" | "HRANDFIELD" | "ZRANDMEMBER" | "SPOP" | "DUMP", _) => {
            Frame::Simple(format!("shape {}", shape(&f)))
        }
        ("TTL" | "EXPIRETIME", _) => ttl(f, 1),
        ("PTTL" | "PEXPIRETIME", _) => ttl(f, 1000),
        ("HELLO", _) => hello(f),
        // COMMAND, and COMMAND INFO without names (which is COMMAND), list only the
        // implemented commands, by design (docs/DESIGN.md).
        ("COMMAND", "") => Frame::Simple("(COMMAND: not compared)".into()),
        ("COMMAND", "INFO") if cmd.len() == 2 => Frame::Simple("(COMMAND INFO: not compared)".into()),
        // Redis keeps subcommands in a dict hashed with a per-process random seed.
        ("COMMAND", "INFO") => command_info(f),
        _ => f,
    }
}

fn sorted(f: Frame) -> Frame {
    match f {
        Frame::Array(mut items) => {
            items.sort_by_key(encoded);
            Frame::Array(items)
        }
        Frame::Set(mut items) => {
            items.sort_by_key(encoded);
            Frame::Set(items)
        }
        other => other,
    }
}

fn sorted_pairs(f: Frame) -> Frame {
    match f {
        Frame::Array(items) => {
            let mut pairs: Vec<Vec<Frame>> = items.chunks(2).map(|c| c.to_vec()).collect();
            pairs.sort_by_key(|p| p.iter().flat_map(encoded).collect::<Vec<_>>());
            Frame::Array(pairs.into_iter().flatten().collect())
        }
        Frame::Map(mut pairs) => {
            pairs.sort_by_key(|(k, v)| [encoded(k), encoded(v)].concat());
            Frame::Map(pairs)
        }
        other => other,
    }
}

fn scan(f: Frame, pairs: bool) -> Frame {
    match f {
        Frame::Array(mut items) if items.len() == 2 => {
            let inner = items.pop().unwrap();
            let cursor = items.pop().unwrap();
            let inner = if pairs { sorted_pairs(inner) } else { sorted(inner) };
            Frame::Array(vec![cursor, inner])
        }
        other => other,
    }
}

/// Types and counts: `*3[$,$,$]`, collapsed to `*3[$]` when the elements look alike.
fn shape(f: &Frame) -> String {
    match f {
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            let shapes: Vec<String> = items.iter().map(shape).collect();
            let inner = if shapes.windows(2).all(|w| w[0] == w[1]) {
                shapes.first().cloned().unwrap_or_default()
            } else {
                shapes.join(",")
            };
            format!("*{}[{}]", items.len(), inner)
        }
        Frame::Map(pairs) => format!("%{}", pairs.len()),
        Frame::Bulk(_) => "$".into(),
        Frame::Double(_) => ",".into(),
        Frame::Integer(_) => ":".into(),
        Frame::NullBulk | Frame::NullArray | Frame::Null => "nil".into(),
        Frame::Error(e) => format!("-{e}"),
        other => render(other),
    }
}

/// A TTL-like integer, marked with the tolerance it is compared with (`<mark><tolerance>:<v>`).
fn ttl(f: Frame, tolerance: i64) -> Frame {
    match f {
        Frame::Integer(v) if v >= 0 => Frame::Simple(format!("{TTL_MARK}{tolerance}:{v}")),
        other => other,
    }
}

/// COMMAND INFO's entries with their subcommands (the tenth field) sorted.
fn command_info(f: Frame) -> Frame {
    let entry = |e: Frame| match e {
        Frame::Array(mut fields) if fields.len() == 10 => {
            fields[9] = sorted(fields[9].clone());
            Frame::Array(fields)
        }
        other => other,
    };
    match f {
        Frame::Array(entries) => Frame::Array(entries.into_iter().map(entry).collect()),
        other => other,
    }
}

/// HELLO's map, with the connection's id masked.
fn hello(f: Frame) -> Frame {
    let mask = |k: &Frame, v: Frame| if k == &Frame::Bulk(Bytes::from_static(b"id")) { Frame::Integer(0) } else { v };
    match f {
        Frame::Map(pairs) => Frame::Map(pairs.into_iter().map(|(k, v)| (k.clone(), mask(&k, v))).collect()),
        Frame::Array(items) => {
            let mut out = Vec::new();
            for pair in items.chunks(2) {
                out.push(pair[0].clone());
                if let Some(v) = pair.get(1) {
                    out.push(mask(&pair[0], v.clone()));
                }
            }
            Frame::Array(out)
        }
        other => other,
    }
}

/// Equal, but TTLs within a tolerance (the two servers did not receive the command at the
/// same millisecond).
fn same(a: &Frame, b: &Frame) -> bool {
    match (a, b) {
        (Frame::Simple(x), Frame::Simple(y)) if x.starts_with(TTL_MARK) && y.starts_with(TTL_MARK) => {
            let parse = |s: &str| -> (i64, i64) {
                let (tol, v) = s[TTL_MARK.len()..].split_once(':').unwrap();
                (tol.parse().unwrap(), v.parse().unwrap())
            };
            let ((tolerance, x), (_, y)) = (parse(x), parse(y));
            (x - y).abs() <= tolerance
        }
        (Frame::Array(x), Frame::Array(y)) | (Frame::Set(x), Frame::Set(y)) | (Frame::Push(x), Frame::Push(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Frame::Map(x), Frame::Map(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((ka, va), (kb, vb))| same(ka, kb) && same(va, vb))
        }
        _ => a == b,
    }
}

/// The replies of a transaction, normalized per queued command (EXEC's array follows the
/// commands that were queued, in order).
fn normalize_transaction(cmds: &[Words], replies: Vec<Frame>) -> Vec<Frame> {
    if replies.len() != cmds.len() {
        return replies;
    }
    let mut queued = Vec::new();
    let mut in_multi = false;
    let mut out = Vec::new();
    for (c, r) in cmds.iter().zip(replies) {
        let name = upper(&c[0]);
        if in_multi && r == Frame::Simple("QUEUED".into()) {
            queued.push(c.clone());
        }
        let r = match (&name[..], r) {
            ("EXEC", Frame::Array(items)) if items.len() == queued.len() => {
                Frame::Array(queued.iter().zip(items).map(|(q, f)| normalize(q, f)).collect())
            }
            (_, r) if !in_multi => normalize(c, r),
            (_, r) => r,
        };
        if name == "MULTI" && r == Frame::Simple("OK".into()) && !in_multi {
            in_multi = true;
            queued.clear();
        }
        if matches!(&name[..], "EXEC" | "DISCARD") {
            in_multi = false;
        }
        out.push(r);
    }
    out
}

/// One line per reply: RESP with the types kept visible, shortened.
fn render(f: &Frame) -> String {
    fn go(f: &Frame, out: &mut String) {
        match f {
            Frame::Simple(s) if s.starts_with(TTL_MARK) => {
                out.push_str(&format!(":{} (±)", s.rsplit(':').next().unwrap_or_default()))
            }
            Frame::Simple(s) => out.push_str(&format!("+{s}")),
            Frame::Error(s) => out.push_str(&format!("-{s}")),
            Frame::Integer(i) => out.push_str(&format!(":{i}")),
            Frame::Bulk(b) => out.push_str(&format!("{:?}", String::from_utf8_lossy(b))),
            Frame::NullBulk => out.push_str("(nil)"),
            Frame::NullArray => out.push_str("(nil array)"),
            Frame::Null => out.push('_'),
            Frame::Double(d) => out.push_str(&format!(",{d}")),
            Frame::Boolean(b) => out.push_str(&format!("#{b}")),
            Frame::BigNumber(s) => out.push_str(&format!("({s}")),
            Frame::Verbatim { text, .. } => out.push_str(&format!("={:?}", String::from_utf8_lossy(text))),
            Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
                let (open, close) = match f {
                    Frame::Set(_) => ("~{", "}"),
                    Frame::Push(_) => (">[", "]"),
                    _ => ("[", "]"),
                };
                out.push_str(open);
                for (i, it) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    if out.len() > 400 {
                        out.push_str(&format!("…{} more", items.len() - i));
                        break;
                    }
                    go(it, out);
                }
                out.push_str(close);
            }
            Frame::Map(pairs) | Frame::Attribute(pairs, _) => {
                out.push('{');
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    go(k, out);
                    out.push_str(": ");
                    go(v, out);
                }
                out.push('}');
            }
        }
    }
    let mut s = String::new();
    go(f, &mut s);
    shorten(&s, 160)
}

fn render_replies(fs: &[Frame]) -> String {
    match fs.len() {
        1 => render(&fs[0]),
        0 => "(no reply)".into(),
        _ => shorten(&fs.iter().map(render).collect::<Vec<_>>().join(" ; "), 300),
    }
}

fn render_cmd(c: &[Vec<u8>]) -> String {
    let s = c
        .iter()
        .map(|w| {
            let s = String::from_utf8_lossy(w);
            if w.is_empty() || s.contains(|ch: char| ch.is_whitespace() || ch.is_control() || ch == '"') || w.len() > 40
            {
                if w.len() > 40 {
                    format!("<{} bytes>", w.len())
                } else {
                    format!("{s:?}")
                }
            } else {
                s.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    shorten(&s, 160)
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() > max {
        format!("{}…", s.chars().take(max).collect::<String>())
    } else {
        s.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// The two servers

struct Side {
    name: &'static str,
    main: Client,
    subscriber: Client,
    _server: Server,
    _dir: TempDir,
}

impl Side {
    fn start(flavor: Flavor) -> Side {
        let dir = TempDir::new(if flavor == Flavor::Halab { "diff-h" } else { "diff-r" });
        let server = Server::start_flavor(flavor, dir.path(), &["--appendonly", "no", "--enable-debug-command", "yes"]);
        let main = server.client();
        let mut subscriber = server.client();
        subscriber.send_raw(&Frame::command(["SUBSCRIBE", "news"]));
        subscriber.read_frame().unwrap();
        subscriber.send_raw(&Frame::command(["PSUBSCRIBE", "n*"]));
        subscriber.read_frame().unwrap();
        Side {
            name: if flavor == Flavor::Halab { "halab" } else { "redis" },
            main,
            subscriber,
            _server: server,
            _dir: dir,
        }
    }

    /// Send commands and a fence in one write; the replies are the frames before the fence.
    /// Bytes are read until they end with the fence's reply and decoded once, so a huge reply
    /// costs its size, not its size squared.
    fn exchange(&mut self, cmds: &[Words], fence: &str) -> Result<Vec<Frame>, String> {
        let mut wire = Vec::new();
        for c in cmds {
            wire.extend_from_slice(&Frame::command(c));
        }
        wire.extend_from_slice(&Frame::command(["ECHO", fence]));
        self.main.stream.write_all(&wire).map_err(|e| format!("{}: write: {e}", self.name))?;
        let tail = format!("${}\r\n{}\r\n", fence.len(), fence);
        let mut buf = BytesMut::new();
        let mut chunk = vec![0u8; 1 << 16];
        while !buf.ends_with(tail.as_bytes()) {
            match self.main.stream.read(&mut chunk) {
                Ok(0) => return Err(format!("{}: connection closed", self.name)),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("{}: {e} after {} bytes", self.name, buf.len())),
            }
        }
        let mut frames = Vec::new();
        while !buf.is_empty() {
            match Frame::decode(&mut buf) {
                Ok(Some(f)) => frames.push(f),
                other => return Err(format!("{}: undecodable reply: {other:?}", self.name)),
            }
        }
        frames.pop();
        Ok(frames)
    }

    fn call(&mut self, words: &[&[u8]]) -> Frame {
        let cmd: Words = words.iter().map(|w| w.to_vec()).collect();
        let mut r = self.exchange(&[cmd], "diff-aside").unwrap_or_else(|e| panic!("{e}"));
        r.pop().unwrap_or(Frame::Null)
    }

    /// What the subscriber has received, up to the message `end` on `news`.
    fn messages_until(&mut self, end: &str) -> Vec<String> {
        let mut out = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let f = self.subscriber.read_frame().expect("subscriber reads");
            if let Frame::Array(items) = &f {
                if items.last() == Some(&Frame::Bulk(Bytes::copy_from_slice(end.as_bytes()))) && items.len() == 3 {
                    return out;
                }
            }
            out.push(render(&f));
        }
        panic!("{}: no end message", self.name);
    }
}

/// DUMP payloads from redis-server, for RESTORE (made in db 9, which the stream never uses).
fn payloads(redis: &mut Side) -> Vec<Vec<u8>> {
    let setup: &[&[&str]] = &[
        &["SELECT", "9"],
        &["SET", "ps", "hello"],
        &["SET", "pi", "12345"],
        &["RPUSH", "pl", "a", "b", "1"],
        &["HSET", "ph", "f1", "v1", "f2", "2"],
        &["SADD", "pt", "a", "b"],
        &["SADD", "pit", "1", "2", "3"],
        &["ZADD", "pz", "1", "a", "2.5", "b"],
    ];
    for c in setup {
        let words: Vec<&[u8]> = c.iter().map(|w| w.as_bytes()).collect();
        redis.call(&words);
    }
    let mut out = Vec::new();
    for k in ["ps", "pi", "pl", "ph", "pt", "pit", "pz"] {
        match redis.call(&[b"DUMP", k.as_bytes()]) {
            Frame::Bulk(b) => out.push(b.to_vec()),
            other => panic!("DUMP {k}: {other:?}"),
        }
    }
    redis.call(&[b"FLUSHDB"]);
    redis.call(&[b"SELECT", b"0"]);
    out
}

/// The keys of our pool a command names.
fn keys_in(cmds: &[Words]) -> Vec<Vec<u8>> {
    let mut keys = BTreeSet::new();
    for c in cmds {
        for w in c.iter().skip(1) {
            if ALL_KEYS.iter().any(|k| k.as_bytes() == &w[..]) {
                keys.insert(w.clone());
            }
        }
    }
    keys.into_iter().collect()
}

/// A key's contents, to show what differs.
fn describe(side: &mut Side, key: &[u8]) -> String {
    let t = side.call(&[b"TYPE", key]);
    let Frame::Simple(t) = t else { return render(&t) };
    let content = match t.as_str() {
        "string" => side.call(&[b"GET", key]),
        "list" => side.call(&[b"LRANGE", key, b"0", b"-1"]),
        "hash" => sorted_pairs(side.call(&[b"HGETALL", key])),
        "set" => sorted(side.call(&[b"SMEMBERS", key])),
        "zset" => side.call(&[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"]),
        _ => Frame::Null,
    };
    let ttl = match side.call(&[b"PTTL", key]) {
        Frame::Integer(v) if v >= 0 => " (has a TTL)",
        _ => "",
    };
    format!("{t} {}{ttl}", render(&content))
}

struct Report {
    lines: Vec<String>,
    count: usize,
    by_command: BTreeMap<String, usize>,
}

impl Report {
    fn add(&mut self, command: &str, line: String) {
        self.count += 1;
        *self.by_command.entry(command.to_string()).or_default() += 1;
        if self.lines.len() < MAX_LINES {
            self.lines.push(shorten(&line, 500));
        }
    }
}

#[test]
fn replies_match_redis_7_0() {
    require_tool("redis-server");
    let seed = std::env::var("HALAB_DIFF_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_SEED);
    let count = std::env::var("HALAB_DIFF_COUNT").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_COUNT);
    let mut sides = [Side::start(Flavor::Halab), Side::start(Flavor::Redis)];
    let payloads = payloads(&mut sides[1]);
    let mut gen = Generator::new(seed, payloads);
    let mut report = Report { lines: Vec::new(), count: 0, by_command: BTreeMap::new() };
    let mut replies_compared = 0usize;
    let setup: Vec<Words> = [
        "SET s1 hello",
        "SET s2 10",
        "RPUSH l1 a b c 1 2",
        "HSET h1 f1 v1 f2 2 f3 1.5",
        "SADD t1 a b c 1",
        "SADD t2 1 2 3",
        "ZADD z1 1 a 2 b 3 c",
        "ZADD z2 1.5 a -1 x",
    ]
    .iter()
    .map(|c| c.split(' ').map(|w| w.as_bytes().to_vec()).collect())
    .collect();
    let mut steps: Vec<Step> = setup.into_iter().map(|c| Step::Commands(vec![c])).collect();
    let trace = std::env::var_os("HALAB_DIFF_TRACE").is_some();
    let mut fence = 0u64;
    let mut step_no = 0usize;
    let started = Instant::now();
    'run: while step_no < count {
        let step = if steps.is_empty() { gen.step() } else { steps.remove(0) };
        step_no += 1;
        let groups: Vec<(Vec<Words>, bool)> = match step {
            Step::Commands(cs) => cs.into_iter().map(|c| (vec![c], false)).collect(),
            Step::Transaction(cs) => vec![(cs, true)],
        };
        for (cmds, transaction) in groups {
            fence += 1;
            let marker = format!("diff-fence-{fence}");
            let mut got = Vec::new();
            for side in sides.iter_mut() {
                match side.exchange(&cmds, &marker) {
                    Ok(r) => got.push(r),
                    Err(e) => {
                        report.add(
                            &upper(&cmds[0][0]),
                            format!("#{step_no} {} → connection lost: {e}", render_cmd(&cmds[0])),
                        );
                        break 'run;
                    }
                }
            }
            let redis = got.pop().unwrap();
            let halab = got.pop().unwrap();
            replies_compared += cmds.len();
            let (h, r) = if transaction {
                (normalize_transaction(&cmds, halab), normalize_transaction(&cmds, redis))
            } else {
                let n = |fs: Vec<Frame>| fs.into_iter().map(|f| normalize(&cmds[0], f)).collect::<Vec<_>>();
                (n(halab), n(redis))
            };
            let equal = h.len() == r.len() && h.iter().zip(&r).all(|(a, b)| same(a, b));
            if trace {
                let text = cmds.iter().map(|c| render_cmd(c)).collect::<Vec<_>>().join(" ; ");
                eprintln!("#{step_no} {text} → {}{}", render_replies(&h), if equal { "" } else { "  ≠ redis" });
            }
            if !equal {
                let text = if transaction {
                    cmds.iter().map(|c| render_cmd(c)).collect::<Vec<_>>().join(" ; ")
                } else {
                    render_cmd(&cmds[0])
                };
                let name = if transaction { "(transaction)".to_string() } else { upper(&cmds[0][0]) };
                report.add(&name, format!("#{step_no} {text} → {} | {}", render_replies(&h), render_replies(&r)));
                // Start the keys it touched afresh on both sides, so the difference does not
                // cascade into every later command on them.
                let keys = keys_in(&cmds);
                if !keys.is_empty() {
                    let mut del: Words = vec![b"DEL".to_vec()];
                    del.extend(keys);
                    for side in sides.iter_mut() {
                        let _ = side.exchange(&[vec![b"DISCARD".to_vec()], del.clone()], "diff-resync");
                    }
                }
            }
        }
        if step_no.is_multiple_of(DIGEST_EVERY) || step_no == count {
            compare_datasets(&mut sides, step_no, &mut report);
        }
    }
    // What the subscribers heard from PUBLISH.
    for side in sides.iter_mut() {
        side.call(&[b"PUBLISH", b"news", b"end-of-run"]);
    }
    let heard: Vec<Vec<String>> = sides.iter_mut().map(|s| s.messages_until("end-of-run")).collect();
    if heard[0] != heard[1] {
        let first = (0..heard[0].len().max(heard[1].len())).find(|&i| heard[0].get(i) != heard[1].get(i)).unwrap();
        report.add(
            "PUBLISH",
            format!(
                "subscriber message {} of {}/{} → {} | {}",
                first,
                heard[0].len(),
                heard[1].len(),
                heard[0].get(first).map(String::as_str).unwrap_or("(none)"),
                heard[1].get(first).map(String::as_str).unwrap_or("(none)")
            ),
        );
    }
    eprintln!(
        "differential: seed {seed}, {step_no} steps, {replies_compared} commands in {:.1}s, {} differences",
        started.elapsed().as_secs_f64(),
        report.count
    );
    if report.count > 0 {
        let summary: Vec<String> = report.by_command.iter().map(|(c, n)| format!("{c} {n}")).collect();
        panic!(
            "{} of {} commands answered differently from redis-server 7.0 (HALAB_DIFF_SEED={seed} HALAB_DIFF_COUNT={count}); \
             command → halab | redis:\n{}\n{}by command: {}",
            report.count,
            replies_compared,
            report.lines.join("\n"),
            if report.count > report.lines.len() {
                format!("… {} more\n", report.count - report.lines.len())
            } else {
                String::new()
            },
            summary.join(", ")
        );
    }
}

/// Compare whole datasets with DEBUG DIGEST; on a difference, name the keys that differ (per
/// db, through DEBUG DIGEST-VALUE) and delete them on both sides. Leaves both in db 0.
fn compare_datasets(sides: &mut [Side; 2], step_no: usize, report: &mut Report) {
    let digests: Vec<Frame> = sides.iter_mut().map(|s| s.call(&[b"DEBUG", b"DIGEST"])).collect();
    if digests[0] == digests[1] {
        return;
    }
    let mut found = false;
    for db in ["0", "1", "2"] {
        let mut keys = BTreeSet::new();
        for side in sides.iter_mut() {
            side.call(&[b"SELECT", db.as_bytes()]);
            if let Frame::Array(ks) | Frame::Set(ks) = side.call(&[b"KEYS", b"*"]) {
                keys.extend(
                    ks.into_iter().filter_map(|k| if let Frame::Bulk(b) = k { Some(b.to_vec()) } else { None }),
                );
            }
        }
        for key in keys {
            let d: Vec<Frame> = sides.iter_mut().map(|s| s.call(&[b"DEBUG", b"DIGEST-VALUE", &key])).collect();
            if d[0] != d[1] {
                found = true;
                let h = describe(&mut sides[0], &key);
                let r = describe(&mut sides[1], &key);
                report.add(
                    "(dataset)",
                    format!("by #{step_no} db{db} key {} silently differs → {h} | {r}", String::from_utf8_lossy(&key)),
                );
                for side in sides.iter_mut() {
                    side.call(&[b"DEL", &key]);
                }
            }
        }
    }
    for side in sides.iter_mut() {
        side.call(&[b"SELECT", b"0"]);
    }
    if !found {
        report.add(
            "(dataset)",
            format!(
                "by #{step_no} DEBUG DIGEST → {} | {} with no key differing",
                render(&digests[0]),
                render(&digests[1])
            ),
        );
    }
}
