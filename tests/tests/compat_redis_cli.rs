//! Differential tests: the same redis-cli session against halab and against Debian's
//! redis-server 7.0 must print the same thing, line for line. The sessions avoid what is
//! legitimately different between two servers (run ids, timestamps, hash-table iteration
//! order of big sets, randomness).

use halab_tests::{require_tool, Flavor, Server, TempDir};

/// Run one session through `redis-cli --no-raw` (formatted like an interactive terminal).
fn session(flavor: Flavor, script: &str) -> String {
    let dir = TempDir::new("compat");
    let mut server = Server::start_flavor(flavor, dir.path(), &[]);
    let out = server.redis_cli_stdin(&["--no-raw"], script);
    server.stop();
    out
}

fn assert_same(script: &str) {
    require_tool("redis-server");
    require_tool("redis-cli");
    let ours = session(Flavor::Halab, script);
    let theirs = session(Flavor::Redis, script);
    let cmds: Vec<&str> = script.lines().collect();
    if ours != theirs {
        let a: Vec<&str> = ours.lines().collect();
        let b: Vec<&str> = theirs.lines().collect();
        let first = a.iter().zip(b.iter()).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
        panic!(
            "halab and redis-server 7.0 differ at output line {}:\n  halab: {:?}\n  redis: {:?}\n(script has {} commands)\n--- halab ---\n{}\n--- redis ---\n{}",
            first + 1,
            a.get(first),
            b.get(first),
            cmds.len(),
            ours,
            theirs
        );
    }
    assert!(!ours.trim().is_empty(), "session printed nothing");
}

#[test]
fn seed_000_first_data_session() {
    // Seed 000 §1.1.5: the first commands a learner types on a fresh master.
    let script = "SET keyone lisuo\nGET keyone\nLPUSH menu apple banana\nLPUSH menu pine\nLRANGE menu 0 -1\n";
    let dir = TempDir::new("seed000");
    let mut server = Server::start_in(dir.path(), &[]);
    let out = server.redis_cli_stdin(&["--no-raw"], script);
    server.stop();
    assert_eq!(out, "OK\n\"lisuo\"\n(integer) 2\n(integer) 3\n1) \"pine\"\n2) \"banana\"\n3) \"apple\"\n");
    assert_same(script);
}

#[test]
fn strings_and_counters() {
    assert_same(
        "SET k v\nGET k\nSET k v2 NX\nSET k v3 XX GET\nGET k\nSET n 10\nINCR n\nINCRBY n 5\nDECR n\nDECRBY n 3\nINCR k\n\
         INCRBY n abc\nSET big 9223372036854775807\nINCR big\nINCRBYFLOAT f 10.5\nINCRBYFLOAT f 0.1\nINCRBYFLOAT f 5.0e3\nINCRBYFLOAT f -0.3\nINCRBYFLOAT f abc\nINCRBYFLOAT f inf\nHINCRBYFLOAT hf x 0.1\nHINCRBYFLOAT hf x 5.0e3\nHINCRBYFLOAT hf x inf\nHINCRBYFLOAT hf x y\n\
         APPEND s hello\nAPPEND s \" world\"\nSTRLEN s\nGETRANGE s 0 4\nGETRANGE s -5 -1\nGETRANGE s 100 200\nSETRANGE s 6 W\nGET s\n\
         SETRANGE pad 5 x\nGET pad\nMSET a 1 b 2 c 3\nMGET a b nosuch c\nMSETNX a 9 z 9\nMSETNX y 1 z 2\nGETSET a 100\nGETDEL b\nGETDEL b\n\
         SETNX a x\nSETNX q x\nSET e v EX 0\nSET e v PX -1\nSET e v EX 10 PX 10\nSET e v FOO\nGETEX a PERSIST\nGETEX nosuch EX 10\n\
         SET\nGET a b\nMSET a\nSTRLEN nosuch\nLPUSH l x\nGET l\nAPPEND l x\nSUBSTR s 0 2\n",
    );
}

#[test]
fn keyspace_and_expiry() {
    assert_same(
        "SET a 1\nSET b 2\nEXISTS a b nosuch a\nTYPE a\nTYPE nosuch\nDEL a nosuch\nUNLINK b\nDBSIZE\nSET k v\nEXPIRE k 100\nTTL k\n\
         PERSIST k\nTTL k\nTTL nosuch\nPTTL k\nEXPIRE k 100 NX\nEXPIRE k 100 XX\nEXPIRE k 50 GT\nEXPIRE k 500 GT\nEXPIRE k 100 LT\nTTL k\n\
         EXPIRE k 10 NX XX\nEXPIRE k 10 GT LT\nEXPIRE k 10 FOO\nEXPIRE k abc\nEXPIRE k -1\nEXISTS k\nSET r v\nRENAME r r2\nGET r2\nRENAME nosuch x\n\
         SET r3 v\nRENAMENX r2 r3\nRENAMENX r2 r4\nRENAME r4 r4\nSELECT 1\nSET other 1\nDBSIZE\nSELECT 0\nDBSIZE\nSELECT 16\nSELECT x\n\
         MOVE r4 1\nMOVE r4 0\nCOPY r3 c1\nGET c1\nCOPY r3 c1\nCOPY r3 c1 REPLACE\nTOUCH c1 r3 nosuch\nOBJECT ENCODING c1\nSET i 12345\nOBJECT ENCODING i\n\
         SET longer abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz\nOBJECT ENCODING longer\nOBJECT ENCODING nosuch\nKEYS r*\nFLUSHDB\nDBSIZE\nFLUSHALL\n\
         SELECT 1\nDBSIZE\nKEYS *\nRANDOMKEY\nEXPIREAT k 1\nPEXPIRE x 10\nDEL\n",
    );
}

#[test]
fn lists() {
    assert_same(
        "RPUSH l a b c d e\nLLEN l\nLRANGE l 0 -1\nLRANGE l -2 -1\nLRANGE l 5 10\nLRANGE l 2 1\nLINDEX l 0\nLINDEX l -1\nLINDEX l 10\nLSET l 1 B\nLSET l 10 x\n\
         LSET nosuch 0 x\nLINSERT l BEFORE c X\nLINSERT l AFTER nosuch Y\nLINSERT l MIDDLE c Y\nLRANGE l 0 -1\nLREM l 0 X\nRPUSH l a a a\nLREM l 2 a\nLREM l -1 a\n\
         LRANGE l 0 -1\nLTRIM l 1 -2\nLRANGE l 0 -1\nLPOP l\nRPOP l\nLPOP l 2\nLPOP l 0\nLPOP nosuch\nLPOP nosuch 2\nLPOP l -1\nRPUSH p a b c a b c\nLPOS p b\n\
         LPOS p b RANK 2\nLPOS p b RANK -1\nLPOS p b COUNT 0\nLPOS p x\nLPOS p b RANK 0\nLPOS p b MAXLEN 1\nLMOVE p q LEFT RIGHT\nLMOVE p q RIGHT LEFT\nLRANGE q 0 -1\n\
         RPOPLPUSH p p\nLRANGE p 0 -1\nLMOVE p q UP DOWN\nLPUSHX nosuch a\nRPUSHX p z\nSET s v\nLPUSH s a\nLRANGE s 0 -1\nLLEN s\nBLPOP p 0\nBRPOP nosuch2 0.01\n\
         BLPOP p -1\nBLPOP p abc\nLTRIM p 5 1\nEXISTS p\n",
    );
}

#[test]
fn hashes() {
    assert_same(
        "HSET h f1 v1 f2 v2\nHSET h f1 x f3 v3\nHGET h f1\nHGET h nosuch\nHMGET h f1 nosuch f3\nHGETALL h\nHLEN h\nHEXISTS h f2\nHEXISTS h zz\nHKEYS h\nHVALS h\n\
         HDEL h f2 zz\nHSETNX h f1 y\nHSETNX h f9 y\nHINCRBY h n 5\nHINCRBY h n -2\nHINCRBY h f1 1\nHINCRBYFLOAT h fl 1.5\nHINCRBYFLOAT h fl 0.25\nHSTRLEN h f1\n\
         HMSET h a 1 b 2\nHSET h odd\nHGETALL nosuch\nSET s v\nHGET s f\nHSET s f v\nHDEL h f1 f3 f9 n fl a b\nEXISTS h\nHSCAN h 0\nHSET h2 a 1 b 2 c 3\nHSCAN h2 0 MATCH a*\n\
         HSCAN h2 0 COUNT 10\nHSCAN h2 x\nHINCRBY h2 a 9223372036854775807\n",
    );
}

#[test]
fn sets() {
    assert_same(
        "SADD s 1 2 3\nSADD s 3 4\nSCARD s\nSISMEMBER s 3\nSISMEMBER s 9\nSMISMEMBER s 1 9 4\nSMEMBERS s\nSREM s 1 9\nSADD t 3 4 5\nSINTER s t\nSINTERCARD 2 s t\n\
         SINTERCARD 2 s t LIMIT 1\nSINTERCARD 0 s\nSUNIONSTORE u s t\nSCARD u\nSDIFFSTORE d s t\nSMEMBERS d\nSINTERSTORE i s t\nSCARD i\nSMOVE s t 2\nSMOVE s t 2\n\
         SISMEMBER t 2\nSINTER s nosuch\nSDIFF nosuch s\nSET str v\nSADD str a\nSUNION s str\nSPOP nosuch\nSPOP nosuch 2\nSRANDMEMBER nosuch\nSRANDMEMBER nosuch 3\n\
         SCARD nosuch\nSREM s 3 4\nEXISTS s\nSSCAN t 0 MATCH 5\n",
    );
}

#[test]
fn sorted_sets() {
    assert_same(
        "ZADD z 1 a 2 b 3 c\nZADD z 1.5 a\nZADD z NX 9 a 4 d\nZADD z XX 5 d 7 e\nZADD z CH 6 d 8 e\nZADD z GT 1 d\nZADD z LT 1 d\nZADD z INCR 2 a\nZADD z NX XX 1 a\n\
         ZADD z GT LT 1 a\nZADD z INCR 1 a 2 b\nZADD z abc a\nZADD z 1\nZCARD z\nZSCORE z a\nZSCORE z nosuch\nZMSCORE z a nosuch d\nZINCRBY z 0.1 b\nZRANK z a\n\
         ZREVRANK z a\nZRANK z nosuch\nZRANGE z 0 -1\nZRANGE z 0 -1 WITHSCORES\nZRANGE z 0 1 REV\nZRANGE z (1 3 BYSCORE\nZRANGE z -inf +inf BYSCORE LIMIT 1 2 WITHSCORES\n\
         ZRANGE z 3 (1 BYSCORE REV\nZRANGE z 0 -1 LIMIT 0 1\nZRANGE z a b BYSCORE\nZRANGEBYSCORE z 1 3\nZRANGEBYSCORE z (1 +inf WITHSCORES LIMIT 0 2\n\
         ZREVRANGEBYSCORE z +inf -inf\nZREVRANGE z 0 1 WITHSCORES\nZCOUNT z 2 (4\nZCOUNT z x y\nZADD lex 0 a 0 b 0 c 0 d\nZRANGEBYLEX lex [b (d\nZRANGEBYLEX lex - +\n\
         ZREVRANGEBYLEX lex + [c\nZLEXCOUNT lex (a +\nZRANGE lex [a [c BYLEX LIMIT 1 5\nZRANGE lex [a [c BYLEX WITHSCORES\nZRANGEBYLEX lex a c\nZREMRANGEBYLEX lex [a [b\n\
         ZRANGE lex 0 -1\nZPOPMIN z\nZPOPMAX z 2\nZPOPMIN nosuch\nZRANGE z 0 -1 WITHSCORES\nZREM z b nosuch\nZREMRANGEBYSCORE z -inf 2\nZREMRANGEBYRANK z 0 0\n\
         ZADD a 1 x 2 y\nZADD b 10 y 20 w\nZUNIONSTORE u 2 a b\nZRANGE u 0 -1 WITHSCORES\nZUNIONSTORE u 2 a b WEIGHTS 2 1 AGGREGATE MAX\nZRANGE u 0 -1 WITHSCORES\n\
         ZINTERSTORE i 2 a b AGGREGATE MIN\nZRANGE i 0 -1 WITHSCORES\nZDIFFSTORE d 2 a b\nZRANGE d 0 -1\nZUNION 2 a b WITHSCORES\nZINTER 2 a b\nZDIFF 2 b a WITHSCORES\n\
         ZUNIONSTORE u 0 a\nZUNIONSTORE u 2 a\nSADD plain y q\nZUNION 2 a plain WITHSCORES\nZADD f 0.1 m\nZSCORE f m\nZADD inf +inf p -inf n\nZRANGE inf 0 -1 WITHSCORES\n\
         ZRANGESTORE dst a 0 0\nZRANGE dst 0 -1\nSET str v\nZADD str 1 a\nZSCAN a 0\nZRANDMEMBER nosuch\nBZPOPMIN a 0\n",
    );
}

#[test]
fn transactions_and_errors() {
    assert_same(
        "MULTI\nSET a 1\nINCR a\nLPUSH a x\nGET a\nEXEC\nMULTI\nSET a 2\nNOSUCHCOMMAND\nEXEC\nGET a\nEXEC\nDISCARD\nMULTI\nMULTI\nDISCARD\nWATCH a\nMULTI\nWATCH b\n\
         DISCARD\nUNWATCH\nMULTI\nGET\nEXEC\nfoo bar baz\nGET a extra\nPING\nPING hello\nPING a b\nECHO hi\nAUTH x\nAUTH a b c\nHELLO 4\nHELLO abc\nCLIENT SETNAME my-name\n\
         CLIENT GETNAME\nCLIENT SETNAME \"bad name\"\nCLIENT NOSUCH\nCONFIG GET maxmemory\nCONFIG SET maxmemory 100mb\nCONFIG GET maxmemory\nCONFIG SET maxmemory abc\n\
         CONFIG SET nosuch 1\nCONFIG GET appendonly\nCONFIG GET save\nCONFIG GET databases\nCONFIG\nOBJECT\nDEBUG NOSUCH\nPUBLISH chan msg\nPUBSUB NUMSUB chan\nPUBSUB NUMPAT\n\
         PUBSUB CHANNELS\nCOMMAND GETKEYS SET a b\nCOMMAND GETKEYS MSET a 1 b 2\nCOMMAND GETKEYS PING\nCOMMAND INFO get\nCOMMAND GETKEYS ZUNIONSTORE d 2 x y\nROLE\nDBSIZE\n",
    );
}

#[test]
fn dump_restore_round_trip() {
    assert_same(
        "SET s hello\nRPUSH l a b 1 2\nHSET h f v n 1\nSADD set 1 2 3\nSADD mixed a b\nZADD z 1 a 2.5 b\nDUMP s\nDUMP l\nDUMP h\nDUMP set\nDUMP z\nDUMP nosuch\n\
         SET n 12345\nDUMP n\nSET big aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nDUMP big\n\
         RESTORE s2 0 \"\\x00\\x05hello\\n\\x00\\xdd\\xe4\\xb0\\xb1\\xe0\\x1a\\xc0\\x17\"\nGET s2\nRESTORE s2 0 \"\\x00\\x05hello\\n\\x00\\xdd\\xe4\\xb0\\xb1\\xe0\\x1a\\xc0\\x17\"\n\
         RESTORE s2 0 \"\\x00\\x05hello\\n\\x00\\xdd\\xe4\\xb0\\xb1\\xe0\\x1a\\xc0\\x17\" REPLACE\nRESTORE bad 0 \"garbage\"\nRESTORE s3 -1 x\n\
         ZADD zf 0.1 m 3.3 n\nDEBUG DIGEST-VALUE s l h set mixed z n big nosuch zf\nSET t v EX 100\nDEBUG DIGEST\nFLUSHALL\nDEBUG DIGEST\n",
    );
}
