//! `DEBUG`: the introspection and fault-injection switches Redis's own test suite (and a
//! curious learner) uses — digests that compare datasets across servers, `RELOAD`, `SLEEP`,
//! `SEGFAULT`, `SET-ACTIVE-EXPIRE`, `PROTOCOL` (a sample of every RESP3 type),
//! `CHANGE-REPL-ID`, `REPLICATE` … (Redis's `debugCommand` in debug.c). Only a client
//! allowed by `enable-debug-command` gets here.
//!
//! Subcommands that inspect C allocator or encoding internals Redis has and halab does not
//! (`MALLCTL`, `SDSLEN`, `HTSTATS`, `LISTPACK`, `QUICKLIST`) answer as Redis does when the
//! structure is not there; switches that only tune those internals
//! (`QUICKLIST-PACKED-THRESHOLD`, `REPLYBUFFER`) are accepted.

use super::{arg_i64, eq_ic, Ctx, Handler};
use crate::log::LogLevel;
use crate::node::{Output, PersistPurpose};
use crate::resp::Protocol;
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] = &[("debug", debug)];

/// The switches DEBUG turns that change how the server behaves (beyond the cron's, in
/// [`crate::node::Cron`]). The test suite turns them to reach paths a client cannot.
#[derive(Debug, Default)]
pub struct DebugSwitches {
    /// `DEBUG SET-SKIP-CHECKSUM-VALIDATION 1`: RESTORE takes payloads whose CRC64 is wrong
    /// (Redis's `server.skip_checksum_validation`), so corrupt bodies reach the parser.
    pub(crate) skip_checksum_validation: bool,
}

const HELP: &[&str] = &[
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "AOF-FLUSH-SLEEP <microsec>",
    "    Server will sleep before flushing the AOF, this is used for testing.",
    "ASSERT",
    "    Crash by assertion failed.",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "CONFIG-REWRITE-FORCE-ALL",
    "    Like CONFIG REWRITE but writes all configuration options, including",
    "    keywords not listed in original configuration file or default values.",
    "CRASH-AND-RECOVER [<milliseconds>]",
    "    Hard crash and restart after a <milliseconds> delay (default 0).",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LEAK <string>",
    "    Create a memory leak of the input string.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "HTSTATS <dbid>",
    "    Return hash table statistics of the specified Redis database.",
    "HTSTATS-KEY <key>",
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    "LOADAOF",
    "    Flush the AOF buffers on disk and reload the AOF in memory.",
    "REPLICATE <string>",
    "    Replicates the provided string to replicas, allowing data divergence.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "DROP-CLUSTER-PACKET-FILTER <packet-type>",
    "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
    "OOM",
    "    Crash the server simulating an out-of-memory error.",
    "PANIC",
    "    Crash the server simulating a panic.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "RESTART [<milliseconds>]",
    "    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
    "SDSLEN <key>",
    "    Show low level SDS string info representing `key` and value.",
    "SEGFAULT",
    "    Crash the server with sigsegv.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "STRINGMATCH-TEST",
    "    Run a fuzz tester against the stringmatchlen() function.",
    "STRUCTSIZE",
    "    Return the size of different Redis core C structures.",
    "LISTPACK <key>",
    "    Show low level info about the listpack encoding of <key>.",
    "QUICKLIST <key> [<0|1>]",
    "    Show low level info about the quicklist encoding of <key>.",
    "    The optional argument (0 by default) sets the level of detail",
    "CLIENT-EVICTION",
    "    Show low level client eviction pools info (maxmemory-clients).",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
    "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
    "    In case NEVER is provided the last observed peak will never be reset",
    "    In case RESET is provided the peak reset time will be restored to the default value",
    "REPLYBUFFER RESIZING <0|1>",
    "    Enable or disable the reply buffer resize cron job",
    "CLUSTERLINK KILL <to|from|all> <node-id>",
    "    Kills the link based on the direction to/from (both) with the provided node.",
    "HELP",
    "    Print this help.",
];

/// C's `atoi`: the leading integer of the text, 0 if none.
fn atoi(arg: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(arg);
    let t = s.trim_start();
    let end = t.char_indices().take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && (*c == '-' || *c == '+'))).count();
    t[..end].parse().unwrap_or(0)
}

fn debug(ctx: &mut Ctx, args: &mut [Bytes]) {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    let argc = args.len();
    match (sub.as_str(), argc) {
        ("help", 2) => super::reply_help(ctx, HELP),
        ("segfault", _) => {
            ctx.srv.log(LogLevel::Warning, "Redis 7.0.15 crashed by signal: 11, si_code: 0");
            ctx.srv.halted = true;
            ctx.srv.outputs.push_back(Output::Crash);
        }
        ("panic", _) | ("assert", _) => {
            let msg = if sub == "panic" {
                "------------------------------------------------"
            } else {
                "=== ASSERTION FAILED ==="
            };
            ctx.srv.log(LogLevel::Warning, msg);
            ctx.srv.halted = true;
            ctx.srv.outputs.push_back(Output::Crash);
        }
        ("log", 3) => {
            let msg = format!("DEBUG LOG: {}", String::from_utf8_lossy(&args[2]));
            ctx.srv.log(LogLevel::Warning, msg);
            ctx.ok();
        }
        ("leak", 3) | ("oom", _) => ctx.ok(),
        ("reload", _) => reload(ctx, args),
        ("object", 3) => object(ctx, &args[2]),
        ("sdslen", 3) | ("listpack", 3) | ("quicklist", 3) | ("quicklist", 4) | ("htstats-key", 3) => {
            let key = args[2].clone();
            let Some(v) = ctx.srv.keyspace.dbs[ctx.client.db].entries.get(&key[..]) else {
                return ctx.error(super::NO_SUCH_KEY);
            };
            let enc = v.encoding();
            match sub.as_str() {
                "sdslen" if !matches!(enc, "raw" | "embstr") => ctx.error("ERR Not an sds encoded string."),
                "sdslen" => {
                    let (klen, vlen) = match v {
                        crate::keyspace::Value::Str(s) => (key.len(), s.len()),
                        _ => (key.len(), 0),
                    };
                    let line = format!(
                        "key_sds_len:{}, key_sds_avail:0, key_zmalloc: {}, val_sds_len:{}, val_sds_avail:0, val_zmalloc: {}",
                        klen,
                        klen + 4,
                        vlen,
                        vlen + 4
                    );
                    ctx.reply().simple(&line);
                }
                "listpack" if enc != "listpack" => ctx.error("ERR Not a listpack encoded object."),
                "listpack" => ctx.reply().simple("Listpack structure printed on stdout"),
                "quicklist" if enc != "quicklist" => ctx.error("ERR Not a quicklist encoded object."),
                "quicklist" => ctx.reply().simple("Quicklist structure printed on stdout"),
                _ if !matches!(enc, "hashtable" | "skiplist") => {
                    ctx.error("ERR The value stored at the specified key is not represented using an hash table")
                }
                _ => ctx
                    .reply()
                    .verbatim("Hash table 0 stats (main hash table):\n No stats available for empty dictionaries\n"),
            }
        }
        ("htstats", 3) => {
            let Some(dbid) = arg_i64(ctx, &args[2]) else { return };
            if dbid < 0 || dbid as usize >= ctx.srv.keyspace.dbs.len() {
                return ctx.error("ERR Out of range database");
            }
            ctx.reply().verbatim("[Dictionary HT]\n[Expires HT]\n");
        }
        ("populate", 3..=5) => populate(ctx, args),
        ("digest", 2) => digest(ctx),
        ("digest-value", _) => digest_value(ctx, args),
        ("protocol", 3) => protocol(ctx, &args[2]),
        ("sleep", 3) => {
            let secs = String::from_utf8_lossy(&args[2]).trim().parse::<f64>().unwrap_or(0.0);
            let ms = (secs * 1000.0).max(0.0) as u64;
            ctx.srv.outputs.push_back(Output::Stall { ms });
            ctx.srv.call.stall_us += (secs * 1e6).max(0.0) as u64;
            ctx.ok();
        }
        ("set-active-expire", 3) => {
            ctx.srv.cron.active_expire_enabled = atoi(&args[2]) != 0;
            ctx.ok();
        }
        ("pause-cron", 3) => {
            ctx.srv.cron.paused = atoi(&args[2]) != 0;
            ctx.ok();
        }
        ("quicklist-packed-threshold", 3) => match crate::config::parse_memory(&String::from_utf8_lossy(&args[2])) {
            Some(sz) if sz > 1 && sz < (1 << 32) => ctx.ok(),
            Some(0) => ctx.ok(),
            _ => ctx.error("ERR argument must be a memory value bigger than 1 and smaller than 4gb"),
        },
        ("set-skip-checksum-validation", 3) => {
            ctx.srv.debug.skip_checksum_validation = atoi(&args[2]) != 0;
            ctx.ok();
        }
        ("aof-flush-sleep", 3) | ("set-disable-deny-scripts", 3) | ("drop-cluster-packet-filter", 3) => ctx.ok(),
        ("replybuffer", 4) => ctx.ok(),
        ("replicate", n) if n >= 3 => {
            // Straight into the stream, in whatever db it has selected (Redis feeds
            // `server.slaveseldb`): the replicas diverge on purpose.
            let db = ctx.srv.repl.stream_db();
            let op: Vec<&[u8]> = args[2..].iter().map(|a| a.as_ref()).collect();
            ctx.srv.propagate(db, &op);
            ctx.ok();
        }
        ("error", 3) => {
            let text: String = String::from_utf8_lossy(&args[2]).replace(['\r', '\n'], " ");
            let mut line = Vec::with_capacity(text.len() + 3);
            line.push(b'-');
            line.extend_from_slice(text.as_bytes());
            line.extend_from_slice(b"\r\n");
            ctx.reply().raw(&line);
        }
        ("structsize", 2) => {
            ctx.reply().bulk_str("bits:64 robj:16 dictentry:24 sdshdr5:1 sdshdr8:3 sdshdr16:5 sdshdr32:9 sdshdr64:17 ")
        }
        ("change-repl-id", 2) => {
            ctx.srv.log(LogLevel::Warning, "Changing replication IDs after receiving DEBUG change-repl-id");
            ctx.srv.change_replication_id();
            ctx.ok();
        }
        ("stringmatch-test", 2) => ctx.reply().simple("Apparently Redis did not crash: test passed"),
        ("config-rewrite-force-all", 2) => {
            ctx.srv.outputs.push_back(Output::RewriteConfig { conn: Some(ctx.client.conn) });
            ctx.client.awaiting_io = true;
        }
        ("client-eviction", 2) => ctx.error("ERR maxmemory-clients is disabled."),
        ("loadaof", 2) => ctx.error("ERR DEBUG LOADAOF: AOF is not implemented in HA Lab"),
        _ => ctx.error(&format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
            String::from_utf8_lossy(&args[1])
        )),
    }
}

/// `DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]`: the dataset goes through an RDB image and back,
/// so what `DEBUG RELOAD` shows afterwards is what a restart would load; the image is also
/// written to dump.rdb (the reply waits for the write). NOSAVE loads the image of the
/// dataset as it is: halab cannot read the file back in the middle of a command.
fn reload(ctx: &mut Ctx, args: &[Bytes]) {
    let (mut merge, mut flush, mut save) = (false, true, true);
    for opt in &args[2..] {
        if eq_ic(opt, "MERGE") {
            merge = true;
        } else if eq_ic(opt, "NOFLUSH") {
            flush = false;
        } else if eq_ic(opt, "NOSAVE") {
            save = false;
        } else {
            return ctx.error("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.");
        }
    }
    let _ = merge;
    let aux = crate::rdb::RdbAux::standard(ctx.now / 1000, 0, ctx.srv.rdb_save_info().as_ref());
    let image = crate::rdb::encode_rdb(&ctx.srv.keyspace, &aux);
    let loaded = match crate::rdb::decode_rdb(&image, &crate::keyspace::EncodingLimits::from_config(&ctx.srv.config)) {
        Ok(l) => l,
        Err(_) => return ctx.error("ERR Error trying to load the RDB dump"),
    };
    if flush {
        ctx.srv.keyspace.flush_all();
    }
    for (dbi, entries) in loaded.dbs {
        let db = &mut ctx.srv.keyspace.dbs[dbi];
        for (k, v, exp) in entries {
            db.set(k.clone(), v);
            if let Some(at) = exp {
                db.set_expire(&k, at);
            }
        }
    }
    ctx.srv.log(LogLevel::Warning, "DB reloaded by DEBUG RELOAD");
    if save {
        ctx.srv.start_persist(false, PersistPurpose::Save { conn: ctx.client.conn });
        ctx.client.awaiting_io = true;
    } else {
        ctx.ok();
    }
}

fn object(ctx: &mut Ctx, key: &Bytes) {
    let db = ctx.client.db;
    let Some(v) = ctx.srv.keyspace.dbs[db].entries.get(&key[..]) else {
        return ctx.error(super::NO_SUCH_KEY);
    };
    let enc = v.encoding();
    let serialized = crate::rdb::dump_payload(v).len().saturating_sub(10);
    let extra = match v {
        crate::keyspace::Value::List(l) if enc == "quicklist" => format!(
            " ql_nodes:{} ql_avg_node:{:.2} ql_listpack_max:-2 ql_compressed:0 ql_uncompressed_size:{}",
            l.len().div_ceil(128).max(1),
            l.len() as f64 / l.len().div_ceil(128).max(1) as f64,
            serialized
        ),
        _ => String::new(),
    };
    // The raw access field and the idle time read from it as an LRU stamp, whatever the
    // policy, as `debugCommand` prints them.
    let field = ctx.srv.keyspace.dbs[db].access_of(key).unwrap_or(0);
    let clock = crate::keyspace::access::AccessClock { policy: ctx.srv.access_policy, now_ms: ctx.now };
    let idle_s = clock.idle_ms(field) / 1000;
    let line = format!(
        "Value at:0x7f0000000000 refcount:1 encoding:{enc} serializedlength:{serialized} lru:{field} lru_seconds_idle:{idle_s}{extra}"
    );
    ctx.reply().simple(&line);
}

fn populate(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(count) = arg_i64(ctx, &args[2]) else { return };
    if count < 0 {
        return ctx.error("ERR value is out of range, must be positive");
    }
    let prefix = args.get(3).map(|p| p.to_vec()).unwrap_or_else(|| b"key".to_vec());
    let size = match args.get(4) {
        Some(s) => match arg_i64(ctx, s) {
            Some(v) if v >= 0 => Some(v as usize),
            Some(_) => return ctx.error("ERR value is out of range, must be positive"),
            None => return,
        },
        None => None,
    };
    let dbi = ctx.client.db;
    let mut key = prefix.clone();
    let mut added = Vec::new();
    {
        let db = &mut ctx.srv.keyspace.dbs[dbi];
        db.entries.reserve(count as usize);
        for i in 0..count {
            key.truncate(prefix.len());
            key.push(b':');
            key.extend_from_slice(i.to_string().as_bytes());
            if db.entries.contains_key(&key[..]) {
                continue;
            }
            let mut val = format!("value:{}", i).into_bytes();
            if let Some(sz) = size.filter(|&s| s > 0) {
                // Redis copies the `value:<n>` text into a zeroed value of that size.
                val.resize(sz, 0);
            }
            db.set_keep_ttl(key.as_slice(), crate::keyspace::Value::Str(val.into()));
            if !ctx.srv.watches.by_key.is_empty() {
                added.push(Bytes::copy_from_slice(&key));
            }
        }
    }
    for k in added {
        super::transactions::touch_watched_key(ctx.srv, dbi, &k);
    }
    ctx.ok();
}

/// `DEBUG PROTOCOL <type>`: one sample of each RESP3 type, as Redis sends it (RESP2 clients
/// get the RESP2 form: bulk strings for big numbers and verbatim text, no attribute).
fn protocol(ctx: &mut Ctx, kind: &[u8]) {
    let resp3 = ctx.client.reply.proto == Protocol::Resp3;
    let name = String::from_utf8_lossy(kind).to_ascii_lowercase();
    let r = ctx.reply();
    match name.as_str() {
        "string" => r.bulk_str("Hello World"),
        "integer" => r.int(12345),
        // Redis sends exactly 3.141, not π.
        #[allow(clippy::approx_constant)]
        "double" => r.double(3.141),
        "bignum" if resp3 => r.raw(b"(1234567999999999999999999999999999999\r\n"),
        "bignum" => r.bulk_str("1234567999999999999999999999999999999"),
        "null" => r.null(),
        "array" | "set" => {
            if name == "set" {
                r.set(3)
            } else {
                r.array(3)
            }
            for j in 0..3 {
                r.int(j);
            }
        }
        "map" => {
            r.map(3);
            for j in 0..3 {
                r.int(j);
                r.boolean(j == 1);
            }
        }
        "attrib" => {
            if resp3 {
                r.raw(b"|1\r\n");
                r.bulk_str("key-popularity");
                r.array(2);
                r.bulk_str("key:123");
                r.int(90);
            }
            r.bulk_str("Some real reply following the attribute");
        }
        "push" if !resp3 => r.error("ERR RESP2 is not supported by this command"),
        "push" => {
            r.push(2);
            r.bulk_str("server-cpu-usage");
            r.int(42);
            r.bulk_str("Some real reply following the push reply");
        }
        "true" => r.boolean(true),
        "false" => r.boolean(false),
        "verbatim" => r.verbatim("This is a verbatim\nstring"),
        _ => r.error("ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"),
    }
}

/// `DEBUG DIGEST`: Redis's `computeDatasetDigest` — per non-empty db, mix in its number,
/// then xor in each key's digest (key mixed with its value's digest, and a marker if it has
/// a TTL). Keys past their deadline are left out, as the lookup Redis does would expire them.
fn digest(ctx: &mut Ctx) {
    let mut fin = [0u8; 20];
    let now = ctx.now;
    for (dbi, db) in ctx.srv.keyspace.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        mix_digest(&mut fin, &(dbi as u32).to_be_bytes());
        for (k, v) in db.entries.iter() {
            if db.expires.get(&k[..]).is_some_and(|&at| at <= now) {
                continue;
            }
            let mut d = [0u8; 20];
            mix_digest(&mut d, k);
            object_digest(v, db.expires.contains_key(&k[..]), &mut d);
            xor_digest(&mut fin, &d);
        }
    }
    ctx.reply().simple(&hex20(&fin));
}

/// `DEBUG DIGEST-VALUE key…`: each value's digest; logically expired keys still count.
fn digest_value(ctx: &mut Ctx, args: &[Bytes]) {
    let db = &ctx.srv.keyspace.dbs[ctx.client.db];
    let digests: Vec<String> = args[2..]
        .iter()
        .map(|k| {
            let mut d = [0u8; 20];
            if let Some(v) = db.entries.get(&k[..]) {
                object_digest(v, db.expires.contains_key(&k[..]), &mut d);
            }
            hex20(&d)
        })
        .collect();
    ctx.reply().array(digests.len());
    for d in digests {
        ctx.reply().simple(&d);
    }
}

/// SHA1 of `data` xored into `digest`: order-independent accumulation (Redis's `xorDigest`).
fn xor_digest(digest: &mut [u8; 20], data: &[u8]) {
    let hash = sha1_smol::Sha1::from(data).digest().bytes();
    for (d, h) in digest.iter_mut().zip(hash.iter()) {
        *d ^= h;
    }
}

/// `xorDigest` then SHA1 of the result: order-dependent accumulation (Redis's `mixDigest`).
fn mix_digest(digest: &mut [u8; 20], data: &[u8]) {
    xor_digest(digest, data);
    *digest = sha1_smol::Sha1::from(&digest[..]).digest().bytes();
}

/// A value's digest exactly as Redis 7.0's `xorObjectDigest` computes it (debug.c), so
/// `DEBUG DIGEST-VALUE` and `DEBUG DIGEST` compare datasets across halab and redis-server:
/// the type code first, then ordered types mix their elements in order while sets and
/// hashes xor them, and a key with a TTL adds a marker.
fn object_digest(v: &crate::keyspace::Value, has_ttl: bool, digest: &mut [u8; 20]) {
    use crate::keyspace::Value;
    let type_code: u32 = match v {
        Value::Str(_) => 0,
        Value::List(_) => 1,
        Value::Set(_) => 2,
        Value::ZSet(_) => 3,
        Value::Hash(_) => 4,
    };
    mix_digest(digest, &type_code.to_be_bytes());
    match v {
        Value::Str(s) => mix_digest(digest, s),
        Value::List(l) => l.iter().for_each(|e| mix_digest(digest, e)),
        Value::Set(s) => s.iter().for_each(|m| xor_digest(digest, m)),
        Value::ZSet(z) => {
            for (m, score) in z.iter() {
                let mut ele = [0u8; 20];
                mix_digest(&mut ele, m);
                mix_digest(&mut ele, crate::resp::format_g17(score).as_bytes());
                xor_digest(digest, &ele);
            }
        }
        Value::Hash(h) => {
            for (f, val) in h.iter() {
                let mut ele = [0u8; 20];
                mix_digest(&mut ele, f);
                mix_digest(&mut ele, val);
                xor_digest(digest, &ele);
            }
        }
    }
    if has_ttl {
        xor_digest(digest, b"!!expire!!");
    }
}

fn hex20(d: &[u8; 20]) -> String {
    d.iter().map(|b| format!("{:02x}", b)).collect()
}
