//! RDB version 10, the snapshot format of Redis 7.0: `dump.rdb`, the full-sync payload, and
//! (one value at a time) the `DUMP`/`RESTORE` payload that `MIGRATE` carries.
//!
//! ```text
//! "REDIS0010"                                  magic + 4-digit version
//! 0xFA <aux name> <aux value>                  …   redis-ver, ctime, used-mem, repl-id…
//! 0xFE <db number>                             SELECTDB
//! 0xFB <keys> <keys with TTL>                  RESIZEDB (a sizing hint)
//! [0xFC <8-byte LE ms>] <type> <key> <value>   …   one entry, with its deadline if any
//! 0xFF <8-byte LE CRC64 of everything before>  EOF
//! ```
//!
//! **Lengths** are 1, 2, 5 or 9 bytes (`rdbSaveLen`): the top two bits of the first byte say
//! 6-bit, 14-bit, 32/64-bit big-endian, or *special*: a string stored as an 8/16/32-bit
//! integer, or LZF-compressed (`rdbSaveRawString`, `rdbTryIntegerEncoding`).
//!
//! **Values** are written in the compact forms Redis keeps small values in: a list is a
//! *quicklist* of *listpack* nodes; small hashes and sorted sets are one listpack of
//! field/value or member/score pairs; a set of integers is an *intset*. A listpack is
//! `<total bytes u32><count u16><entry>…<0xFF>`, each entry an encoding byte (7-bit uint,
//! 6/12/32-bit string length, 13/16/24/32/64-bit int) followed by its data and a back-length
//! for reverse walks (listpack.c). Older files use ziplists (ziplist.c), also read here.
//!
//! **DUMP** writes `<type><value><RDB version u16 LE><CRC64 u64 LE>`; RESTORE checks both
//! (`verifyDumpPayload`).
//!
//! The checksum is CRC-64/Jones as Redis computes it (`crc64.c`), the `CRC_64_REDIS` of the
//! `crc` crate.

use crate::keyspace::{EncodingLimits, Hash, Keyspace, Map, Set, SetValue, SortedSet, Value};
use bytes::Bytes;
use std::collections::VecDeque;

pub const RDB_VERSION: u16 = 10;

const RDB_TYPE_STRING: u8 = 0;
const RDB_TYPE_LIST: u8 = 1;
const RDB_TYPE_SET: u8 = 2;
const RDB_TYPE_ZSET: u8 = 3;
const RDB_TYPE_HASH: u8 = 4;
const RDB_TYPE_ZSET_2: u8 = 5;
const RDB_TYPE_HASH_ZIPMAP: u8 = 9;
const RDB_TYPE_LIST_ZIPLIST: u8 = 10;
const RDB_TYPE_SET_INTSET: u8 = 11;
const RDB_TYPE_ZSET_ZIPLIST: u8 = 12;
const RDB_TYPE_HASH_ZIPLIST: u8 = 13;
const RDB_TYPE_LIST_QUICKLIST: u8 = 14;
const RDB_TYPE_HASH_LISTPACK: u8 = 16;
const RDB_TYPE_ZSET_LISTPACK: u8 = 17;
const RDB_TYPE_LIST_QUICKLIST_2: u8 = 18;
const RDB_TYPE_SET_LISTPACK: u8 = 20;

const RDB_OPCODE_FUNCTION2: u8 = 245;
const RDB_OPCODE_FUNCTION: u8 = 246;
const RDB_OPCODE_MODULE_AUX: u8 = 247;
const RDB_OPCODE_IDLE: u8 = 248;
const RDB_OPCODE_FREQ: u8 = 249;
const RDB_OPCODE_AUX: u8 = 250;
const RDB_OPCODE_RESIZEDB: u8 = 251;
const RDB_OPCODE_EXPIRETIME_MS: u8 = 252;
const RDB_OPCODE_EXPIRETIME: u8 = 253;
const RDB_OPCODE_SELECTDB: u8 = 254;
const RDB_OPCODE_EOF: u8 = 255;

const QUICKLIST_NODE_CONTAINER_PLAIN: u64 = 1;
const QUICKLIST_NODE_CONTAINER_PACKED: u64 = 2;

/// Listpack node size for lists: `list-max-listpack-size -2` means 8 KB per node.
const LIST_NODE_BYTES: usize = 8 * 1024;

/// An error reading an RDB image or a DUMP payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdbError(pub String);

fn bad(msg: impl Into<String>) -> RdbError {
    RdbError(msg.into())
}

/// CRC-64/Jones, as Redis's `crc64`.
pub fn crc64(data: &[u8]) -> u64 {
    const CRC: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_REDIS);
    CRC.checksum(data)
}

/// Where in a replication stream a saved dataset stands (Redis's `rdbSaveInfo`): the stream's
/// id, the offset the dataset corresponds to, and the db the stream had selected there, so
/// that a node restarting from the file can continue the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplSaveInfo {
    pub replid: String,
    pub offset: u64,
    pub stream_db: usize,
}

/// The auxiliary fields at the top of an RDB file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RdbAux {
    pub fields: Vec<(String, String)>,
}

impl RdbAux {
    /// The fields Redis 7.0 writes (`rdbSaveInfoAuxFields`). The replication fields are there
    /// only when the node belongs to a replication stream (`rdbPopulateSaveInfo`).
    pub fn standard(ctime_secs: u64, used_mem: u64, repl: Option<&ReplSaveInfo>) -> Self {
        let f = |k: &str, v: String| (k.to_string(), v);
        let mut fields = vec![
            f("redis-ver", crate::config::REDIS_VERSION.to_string()),
            f("redis-bits", "64".into()),
            f("ctime", ctime_secs.to_string()),
            f("used-mem", used_mem.to_string()),
        ];
        if let Some(r) = repl {
            fields.push(f("repl-stream-db", r.stream_db.to_string()));
            fields.push(f("repl-id", r.replid.clone()));
            fields.push(f("repl-offset", r.offset.to_string()));
        }
        fields.push(f("aof-base", "0".into()));
        RdbAux { fields }
    }

    /// The replication stream an RDB file says its dataset is at, if it says one.
    pub fn repl_save_info(&self) -> Option<ReplSaveInfo> {
        let replid = self.get("repl-id")?.to_string();
        let offset = self.get("repl-offset")?.parse::<i64>().ok().filter(|&o| o >= 0)?;
        // Older servers could write -1 here; such a file tells no usable position.
        let stream_db = self.get("repl-stream-db")?.parse::<i64>().ok().filter(|&d| d >= 0)?;
        (replid.len() == 40).then_some(ReplSaveInfo { replid, offset: offset as u64, stream_db: stream_db as usize })
    }
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// The entries of one database as loaded: `(key, value, deadline in ms)`.
pub type DbEntries = Vec<(Bytes, Value, Option<u64>)>;

/// What a decoded RDB file holds: its aux fields and, per database, `(key, value, deadline)`.
#[derive(Debug, Default)]
pub struct LoadedRdb {
    pub aux: RdbAux,
    pub dbs: Vec<(usize, DbEntries)>,
}

// ---------------------------------------------------------------------------------------------
// Writing

struct Writer {
    out: Vec<u8>,
}

impl Writer {
    fn byte(&mut self, b: u8) {
        self.out.push(b);
    }

    /// `rdbSaveLen`.
    fn len(&mut self, n: u64) {
        if n < 1 << 6 {
            self.out.push(n as u8);
        } else if n < 1 << 14 {
            self.out.push(((n >> 8) as u8) | 0x40);
            self.out.push(n as u8);
        } else if n <= u32::MAX as u64 {
            self.out.push(0x80);
            self.out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            self.out.push(0x81);
            self.out.extend_from_slice(&n.to_be_bytes());
        }
    }

    /// `rdbSaveRawString`: integer encoding when the text is a small canonical integer,
    /// LZF when longer than 20 bytes and compression saves at least 4 bytes, else raw.
    fn string(&mut self, s: &[u8]) {
        if s.len() <= 11 {
            if let Some(v) = crate::resp::parse_i64(s) {
                if let Ok(v8) = i8::try_from(v) {
                    self.out.push(0xC0);
                    self.out.push(v8 as u8);
                    return;
                } else if let Ok(v16) = i16::try_from(v) {
                    self.out.push(0xC1);
                    self.out.extend_from_slice(&v16.to_le_bytes());
                    return;
                } else if let Ok(v32) = i32::try_from(v) {
                    self.out.push(0xC2);
                    self.out.extend_from_slice(&v32.to_le_bytes());
                    return;
                }
            }
        }
        if s.len() > 20 {
            if let Ok(compressed) = lzf::compress(s) {
                if compressed.len() + 4 <= s.len() {
                    self.out.push(0xC3);
                    self.len(compressed.len() as u64);
                    self.len(s.len() as u64);
                    self.out.extend_from_slice(&compressed);
                    return;
                }
            }
        }
        self.len(s.len() as u64);
        self.out.extend_from_slice(s);
    }
}

/// Does `s` fit a listpack integer entry? (`lpStringToInt64`: canonical decimal.)
fn listpack_int(s: &[u8]) -> Option<i64> {
    crate::resp::parse_i64(s)
}

/// Append one listpack entry (`lpEncodeString` / `lpEncodeIntegerGetType`) with its back-length.
fn listpack_push(lp: &mut Vec<u8>, s: &[u8]) {
    let start = lp.len();
    if let Some(v) = listpack_int(s) {
        if (0..=127).contains(&v) {
            lp.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = (v as u16) & 0x1FFF;
            lp.push(((u >> 8) as u8) | 0xC0);
            lp.push(u as u8);
        } else if (-32768..=32767).contains(&v) {
            lp.push(0xF1);
            lp.extend_from_slice(&(v as i16).to_le_bytes());
        } else if (-8_388_608..=8_388_607).contains(&v) {
            lp.push(0xF2);
            lp.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if let Ok(v32) = i32::try_from(v) {
            lp.push(0xF3);
            lp.extend_from_slice(&v32.to_le_bytes());
        } else {
            lp.push(0xF4);
            lp.extend_from_slice(&v.to_le_bytes());
        }
    } else if s.len() < 64 {
        lp.push(0x80 | s.len() as u8);
        lp.extend_from_slice(s);
    } else if s.len() < 4096 {
        lp.push(0xE0 | (s.len() >> 8) as u8);
        lp.push(s.len() as u8);
        lp.extend_from_slice(s);
    } else {
        lp.push(0xF0);
        lp.extend_from_slice(&(s.len() as u32).to_le_bytes());
        lp.extend_from_slice(s);
    }
    let l = lp.len() - start;
    // Back-length: 7 bits per byte, most significant first, continuation bit on all but the
    // first byte written (`lpEncodeBacklen`).
    let mut groups = vec![(l & 127) as u8];
    let mut rest = l >> 7;
    while rest > 0 {
        groups.push((rest & 127) as u8);
        rest >>= 7;
    }
    for (i, g) in groups.iter().rev().enumerate() {
        lp.push(if i > 0 { g | 128 } else { *g });
    }
}

/// Build a listpack from entries.
fn listpack<'a>(entries: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut lp = vec![0u8; 6];
    let mut count = 0usize;
    for e in entries {
        listpack_push(&mut lp, e);
        count += 1;
    }
    lp.push(0xFF);
    let total = lp.len() as u32;
    lp[0..4].copy_from_slice(&total.to_le_bytes());
    lp[4..6].copy_from_slice(&(count.min(65535) as u16).to_le_bytes());
    lp
}

/// Redis's `d2string` for listpack scores: integers print without a fraction, the rest `%.17g`.
fn score_text(s: f64) -> String {
    if s.is_infinite() {
        return if s > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if s.fract() == 0.0 && s.abs() < (1u64 << 53) as f64 {
        format!("{}", s as i64)
    } else {
        crate::resp::format_g17(s)
    }
}

/// The members of an intset-encoded set, sorted as an intset keeps them.
fn int_set(s: &SetValue) -> Option<Vec<i64>> {
    if !s.is_intset() {
        return None;
    }
    let mut v: Vec<i64> = s.iter().map(|m| crate::resp::parse_i64(m)).collect::<Option<_>>()?;
    v.sort_unstable();
    Some(v)
}

/// The type byte 7.0 uses for a value: the one of the encoding the value has
/// (`rdbSaveObjectType`).
fn type_byte(v: &Value) -> u8 {
    match v {
        Value::Str(_) => RDB_TYPE_STRING,
        Value::List(_) => RDB_TYPE_LIST_QUICKLIST_2,
        Value::Set(s) => {
            if int_set(s).is_some() {
                RDB_TYPE_SET_INTSET
            } else {
                RDB_TYPE_SET
            }
        }
        Value::Hash(h) => {
            if h.is_listpack() {
                RDB_TYPE_HASH_LISTPACK
            } else {
                RDB_TYPE_HASH
            }
        }
        Value::ZSet(z) => {
            if z.is_listpack() {
                RDB_TYPE_ZSET_LISTPACK
            } else {
                RDB_TYPE_ZSET_2
            }
        }
    }
}

/// `rdbSaveObject`: the value part of an entry.
fn write_value(w: &mut Writer, v: &Value) {
    match v {
        Value::Str(s) => w.string(s),
        Value::List(l) => {
            let mut nodes: Vec<Vec<u8>> = Vec::new();
            let mut current: Vec<&[u8]> = Vec::new();
            let mut size = 0;
            for e in l {
                if !current.is_empty() && size + e.len() + 11 > LIST_NODE_BYTES {
                    nodes.push(listpack(current.drain(..)));
                    size = 0;
                }
                size += e.len() + 11;
                current.push(e);
            }
            if !current.is_empty() {
                nodes.push(listpack(current.into_iter()));
            }
            w.len(nodes.len() as u64);
            for n in nodes {
                w.len(QUICKLIST_NODE_CONTAINER_PACKED);
                w.string(&n);
            }
        }
        Value::Set(s) => match int_set(s) {
            Some(ints) => {
                let width: u32 = if ints.iter().all(|&i| i16::try_from(i).is_ok()) {
                    2
                } else if ints.iter().all(|&i| i32::try_from(i).is_ok()) {
                    4
                } else {
                    8
                };
                let mut blob = Vec::with_capacity(8 + ints.len() * width as usize);
                blob.extend_from_slice(&width.to_le_bytes());
                blob.extend_from_slice(&(ints.len() as u32).to_le_bytes());
                for i in ints {
                    blob.extend_from_slice(&i.to_le_bytes()[..width as usize]);
                }
                w.string(&blob);
            }
            None => {
                w.len(s.len() as u64);
                for m in s.iter() {
                    w.string(m);
                }
            }
        },
        Value::Hash(h) => {
            if h.is_listpack() {
                let lp = listpack(h.iter().flat_map(|(k, v)| [&k[..], &v[..]]));
                w.string(&lp);
            } else {
                w.len(h.len() as u64);
                for (k, v) in h.iter() {
                    w.string(k);
                    w.string(v);
                }
            }
        }
        Value::ZSet(z) => {
            if z.is_listpack() {
                let texts: Vec<(Bytes, String)> = z.iter().map(|(m, s)| (m.clone(), score_text(s))).collect();
                let lp = listpack(texts.iter().flat_map(|(m, s)| [&m[..], s.as_bytes()]));
                w.string(&lp);
            } else {
                // Greatest to smallest, as zsetSave walks the skiplist from its tail.
                w.len(z.len() as u64);
                for (m, s) in z.iter().rev() {
                    w.string(m);
                    w.out.extend_from_slice(&s.to_le_bytes());
                }
            }
        }
    }
}

/// Serialize a whole keyspace as a dump.rdb image.
pub fn encode_rdb(keyspace: &Keyspace, aux: &RdbAux) -> Vec<u8> {
    let mut w = Writer { out: Vec::with_capacity(1024) };
    w.out.extend_from_slice(format!("REDIS{:04}", RDB_VERSION).as_bytes());
    for (k, v) in &aux.fields {
        w.byte(RDB_OPCODE_AUX);
        w.string(k.as_bytes());
        w.string(v.as_bytes());
    }
    for (i, db) in keyspace.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        w.byte(RDB_OPCODE_SELECTDB);
        w.len(i as u64);
        w.byte(RDB_OPCODE_RESIZEDB);
        w.len(db.len() as u64);
        w.len(db.expires.len() as u64);
        for (key, value) in &db.entries {
            if let Some(at) = db.expire_at(key) {
                w.byte(RDB_OPCODE_EXPIRETIME_MS);
                w.out.extend_from_slice(&at.to_le_bytes());
            }
            w.byte(type_byte(value));
            w.string(key);
            write_value(&mut w, value);
        }
    }
    w.byte(RDB_OPCODE_EOF);
    let crc = crc64(&w.out);
    w.out.extend_from_slice(&crc.to_le_bytes());
    w.out
}

/// `DUMP`: `<type><value><version u16 LE><crc64 u64 LE>`.
pub fn dump_payload(value: &Value) -> Vec<u8> {
    let mut w = Writer { out: Vec::new() };
    w.byte(type_byte(value));
    write_value(&mut w, value);
    w.out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&w.out);
    w.out.extend_from_slice(&crc.to_le_bytes());
    w.out
}

// ---------------------------------------------------------------------------------------------
// Reading

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], RdbError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| bad("Unexpected EOF reading RDB file"))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn byte(&mut self) -> Result<u8, RdbError> {
        Ok(self.take(1)?[0])
    }
    fn u64_le(&mut self) -> Result<u64, RdbError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }

    /// `rdbLoadLenByRef`: (length, is-special-encoding).
    fn len_enc(&mut self) -> Result<(u64, bool), RdbError> {
        let b = self.byte()?;
        match b >> 6 {
            0 => Ok(((b & 0x3F) as u64, false)),
            1 => Ok(((((b & 0x3F) as u64) << 8) | self.byte()? as u64, false)),
            2 => match b {
                0x80 => Ok((u32::from_be_bytes(self.take(4)?.try_into().unwrap()) as u64, false)),
                0x81 => Ok((u64::from_be_bytes(self.take(8)?.try_into().unwrap()), false)),
                _ => Err(bad(format!("Unknown length encoding {} in rdbLoadLen()", b))),
            },
            _ => Ok(((b & 0x3F) as u64, true)),
        }
    }

    fn len(&mut self) -> Result<u64, RdbError> {
        match self.len_enc()? {
            (n, false) => Ok(n),
            _ => Err(bad("Unexpected special encoding for a length")),
        }
    }

    /// A count of elements, bounded by the bytes left (each element takes at least one byte).
    fn count(&mut self) -> Result<usize, RdbError> {
        let n = self.len()?;
        if n as usize > self.data.len() - self.pos {
            return Err(bad("Element count larger than the data left"));
        }
        Ok(n as usize)
    }

    /// `rdbGenericLoadStringObject`.
    fn string(&mut self) -> Result<Bytes, RdbError> {
        let (n, special) = self.len_enc()?;
        if !special {
            return Ok(Bytes::copy_from_slice(self.take(n as usize)?));
        }
        match n {
            0 => Ok(Bytes::from((self.byte()? as i8).to_string())),
            1 => Ok(Bytes::from(i16::from_le_bytes(self.take(2)?.try_into().unwrap()).to_string())),
            2 => Ok(Bytes::from(i32::from_le_bytes(self.take(4)?.try_into().unwrap()).to_string())),
            3 => {
                let clen = self.len()? as usize;
                let ulen = self.len()? as usize;
                let compressed = self.take(clen)?;
                if ulen > 512 * 1024 * 1024 {
                    return Err(bad("LZF string too long"));
                }
                let out = lzf::decompress(compressed, ulen).map_err(|_| bad("Invalid LZF compressed string"))?;
                if out.len() != ulen {
                    return Err(bad("Invalid LZF compressed string"));
                }
                Ok(Bytes::from(out))
            }
            _ => Err(bad(format!("Unknown RDB string encoding type {}", n))),
        }
    }

    /// A ZSET (type 3) score: a length byte then ASCII, or 253/254/255 for nan/+inf/-inf.
    fn text_double(&mut self) -> Result<f64, RdbError> {
        match self.byte()? {
            253 => Err(bad("Zset with NAN score detected")),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let s = std::str::from_utf8(self.take(n as usize)?).map_err(|_| bad("Bad double value"))?;
                s.parse().map_err(|_| bad("Bad double value"))
            }
        }
    }

    fn binary_double(&mut self) -> Result<f64, RdbError> {
        let v = f64::from_le_bytes(self.take(8)?.try_into().unwrap());
        if v.is_nan() {
            return Err(bad("Zset with NAN score detected"));
        }
        Ok(v)
    }
}

/// Decode a listpack into its entries (integers become their decimal text).
fn decode_listpack(lp: &[u8]) -> Result<Vec<Bytes>, RdbError> {
    let err = || bad("Listpack integrity check failed");
    if lp.len() < 7 {
        return Err(err());
    }
    let total = u32::from_le_bytes(lp[0..4].try_into().unwrap()) as usize;
    if total != lp.len() || lp[total - 1] != 0xFF {
        return Err(err());
    }
    let declared = u16::from_le_bytes(lp[4..6].try_into().unwrap()) as usize;
    let mut out = Vec::new();
    let mut p = 6;
    let get = |from: usize, n: usize| lp.get(from..from + n).ok_or_else(err);
    loop {
        let b = *lp.get(p).ok_or_else(err)?;
        if b == 0xFF {
            if p != total - 1 {
                return Err(err());
            }
            break;
        }
        let (entry, enc_len): (Bytes, usize) = if b & 0x80 == 0 {
            (Bytes::from((b & 0x7F).to_string()), 1)
        } else if b & 0xC0 == 0x80 {
            let n = (b & 0x3F) as usize;
            (Bytes::copy_from_slice(get(p + 1, n)?), 1 + n)
        } else if b & 0xE0 == 0xC0 {
            let raw = (((b & 0x1F) as u16) << 8) | *lp.get(p + 1).ok_or_else(err)? as u16;
            let v = ((raw << 3) as i16) >> 3;
            (Bytes::from(v.to_string()), 2)
        } else if b & 0xF0 == 0xE0 {
            let n = (((b & 0x0F) as usize) << 8) | *lp.get(p + 1).ok_or_else(err)? as usize;
            (Bytes::copy_from_slice(get(p + 2, n)?), 2 + n)
        } else {
            match b {
                0xF0 => {
                    let n = u32::from_le_bytes(get(p + 1, 4)?.try_into().unwrap()) as usize;
                    (Bytes::copy_from_slice(get(p + 5, n)?), 5 + n)
                }
                0xF1 => (Bytes::from(i16::from_le_bytes(get(p + 1, 2)?.try_into().unwrap()).to_string()), 3),
                0xF2 => {
                    let b3 = get(p + 1, 3)?;
                    let v = ((u32::from_le_bytes([0, b3[0], b3[1], b3[2]]) as i32) >> 8) as i64;
                    (Bytes::from(v.to_string()), 4)
                }
                0xF3 => (Bytes::from(i32::from_le_bytes(get(p + 1, 4)?.try_into().unwrap()).to_string()), 5),
                0xF4 => (Bytes::from(i64::from_le_bytes(get(p + 1, 8)?.try_into().unwrap()).to_string()), 9),
                _ => return Err(err()),
            }
        };
        let backlen_bytes = match enc_len {
            0..=127 => 1,
            128..=16382 => 2,
            16383..=2097150 => 3,
            2097151..=268435454 => 4,
            _ => 5,
        };
        p = p.checked_add(enc_len + backlen_bytes).filter(|&q| q < total).ok_or_else(err)?;
        out.push(entry);
    }
    if declared != 65535 && declared != out.len() {
        return Err(err());
    }
    Ok(out)
}

/// Decode a ziplist (RDB files written before 7.0) into its entries.
fn decode_ziplist(zl: &[u8]) -> Result<Vec<Bytes>, RdbError> {
    let err = || bad("Ziplist integrity check failed");
    if zl.len() < 11 {
        return Err(err());
    }
    let total = u32::from_le_bytes(zl[0..4].try_into().unwrap()) as usize;
    if total != zl.len() || zl[total - 1] != 0xFF {
        return Err(err());
    }
    let get = |from: usize, n: usize| zl.get(from..from + n).ok_or_else(err);
    let mut out = Vec::new();
    let mut p = 10;
    loop {
        let first = *zl.get(p).ok_or_else(err)?;
        if first == 0xFF {
            break;
        }
        p += if first < 254 { 1 } else { 5 };
        let b = *zl.get(p).ok_or_else(err)?;
        let (entry, n) = match b >> 6 {
            0 => {
                let n = (b & 0x3F) as usize;
                (Bytes::copy_from_slice(get(p + 1, n)?), 1 + n)
            }
            1 => {
                let n = (((b & 0x3F) as usize) << 8) | *zl.get(p + 1).ok_or_else(err)? as usize;
                (Bytes::copy_from_slice(get(p + 2, n)?), 2 + n)
            }
            2 => {
                let n = u32::from_be_bytes(get(p + 1, 4)?.try_into().unwrap()) as usize;
                (Bytes::copy_from_slice(get(p + 5, n)?), 5 + n)
            }
            _ => match b {
                0xC0 => (Bytes::from(i16::from_le_bytes(get(p + 1, 2)?.try_into().unwrap()).to_string()), 3),
                0xD0 => (Bytes::from(i32::from_le_bytes(get(p + 1, 4)?.try_into().unwrap()).to_string()), 5),
                0xE0 => (Bytes::from(i64::from_le_bytes(get(p + 1, 8)?.try_into().unwrap()).to_string()), 9),
                0xF0 => {
                    let b3 = get(p + 1, 3)?;
                    let v = (u32::from_le_bytes([0, b3[0], b3[1], b3[2]]) as i32) >> 8;
                    (Bytes::from(v.to_string()), 4)
                }
                0xFE => (Bytes::from((*zl.get(p + 1).ok_or_else(err)? as i8).to_string()), 2),
                0xF1..=0xFD => (Bytes::from(((b & 0x0F) - 1).to_string()), 1),
                _ => return Err(err()),
            },
        };
        p += n;
        out.push(entry);
    }
    Ok(out)
}

fn decode_intset(blob: &[u8]) -> Result<Vec<Bytes>, RdbError> {
    let err = || bad("Intset integrity check failed");
    if blob.len() < 8 {
        return Err(err());
    }
    let width = u32::from_le_bytes(blob[0..4].try_into().unwrap()) as usize;
    let n = u32::from_le_bytes(blob[4..8].try_into().unwrap()) as usize;
    if !matches!(width, 2 | 4 | 8) || blob.len() != 8 + n.checked_mul(width).ok_or_else(err)? {
        return Err(err());
    }
    Ok(blob[8..]
        .chunks(width)
        .map(|c| {
            let v = match width {
                2 => i16::from_le_bytes(c.try_into().unwrap()) as i64,
                4 => i32::from_le_bytes(c.try_into().unwrap()) as i64,
                _ => i64::from_le_bytes(c.try_into().unwrap()),
            };
            Bytes::from(v.to_string())
        })
        .collect())
}

/// Decode a zipmap, the small-hash form of Redis 2.x files (zipmap.c):
///
/// ```text
/// <zmlen u8> (<len>field <len><free u8>value <free bytes>)* 0xFF
/// ```
///
/// A `<len>` is one byte below 254, or 254 then a 4-byte little-endian length.
fn decode_zipmap(zm: &[u8]) -> Result<Vec<Bytes>, RdbError> {
    let err = || bad("Zipmap integrity check failed");
    let mut p = 1;
    let mut out = Vec::new();
    let read_len = |p: &mut usize| -> Result<Option<usize>, RdbError> {
        let b = *zm.get(*p).ok_or_else(err)?;
        match b {
            255 => Ok(None),
            254 => {
                let n = zm.get(*p + 1..*p + 5).ok_or_else(err)?;
                *p += 5;
                Ok(Some(u32::from_le_bytes(n.try_into().unwrap()) as usize))
            }
            n => {
                *p += 1;
                Ok(Some(n as usize))
            }
        }
    };
    while let Some(flen) = read_len(&mut p)? {
        out.push(Bytes::copy_from_slice(zm.get(p..p + flen).ok_or_else(err)?));
        p += flen;
        let vlen = read_len(&mut p)?.ok_or_else(err)?;
        let free = *zm.get(p).ok_or_else(err)? as usize;
        p += 1;
        out.push(Bytes::copy_from_slice(zm.get(p..p + vlen).ok_or_else(err)?));
        p += vlen + free;
    }
    if p != zm.len() - 1 {
        return Err(err());
    }
    Ok(out)
}

/// Field/value pairs of a zipmap, ziplist or listpack as a hash. `check_lengths`: whether
/// loading this form converts a hash with a long string (Redis does it for zipmaps only; for
/// the listpack forms it trusts that the writer had the same limits).
fn pairs_to_hash(items: Vec<Bytes>, check_lengths: bool, limits: &EncodingLimits) -> Result<Value, RdbError> {
    if !items.len().is_multiple_of(2) {
        return Err(bad("Hash listpack with an odd number of entries"));
    }
    let mut h = Map::default();
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        if h.insert(k, v).is_some() {
            return Err(bad("Duplicate hash fields detected"));
        }
    }
    Ok(Value::Hash(Box::new(Hash::loaded(h, check_lengths, limits))))
}

fn pairs_to_zset(items: Vec<Bytes>, limits: &EncodingLimits) -> Result<Value, RdbError> {
    if !items.len().is_multiple_of(2) {
        return Err(bad("Zset listpack with an odd number of entries"));
    }
    let mut z = SortedSet::default();
    let mut it = items.into_iter();
    while let (Some(m), Some(s)) = (it.next(), it.next()) {
        let score = crate::resp::parse_f64(&s).ok_or_else(|| bad("Bad zset score"))?;
        if z.insert(m, score).is_some() {
            return Err(bad("Duplicate zset fields detected"));
        }
    }
    z.set_loaded_encoding(true, limits);
    Ok(Value::ZSet(Box::new(z)))
}

fn non_empty(v: Value) -> Result<Value, RdbError> {
    let empty = match &v {
        Value::List(l) => l.is_empty(),
        Value::Hash(h) => h.is_empty(),
        Value::Set(s) => s.is_empty(),
        Value::ZSet(z) => z.is_empty(),
        Value::Str(_) => false,
    };
    if empty {
        Err(bad("Empty keys are not allowed"))
    } else {
        Ok(v)
    }
}

/// `rdbLoadObject`: read a value of type `t`, encoded as Redis would encode it on load under
/// `limits` (so `DEBUG RELOAD` re-encodes a dataset, and old files get today's encodings).
fn read_value(r: &mut Reader, t: u8, limits: &EncodingLimits) -> Result<Value, RdbError> {
    let v = match t {
        RDB_TYPE_STRING => Value::Str(r.string()?.into()),
        RDB_TYPE_LIST => {
            let n = r.count()?;
            let mut l = VecDeque::with_capacity(n);
            for _ in 0..n {
                l.push_back(r.string()?);
            }
            Value::List(l)
        }
        RDB_TYPE_LIST_ZIPLIST => Value::List(decode_ziplist(&r.string()?)?.into()),
        RDB_TYPE_LIST_QUICKLIST | RDB_TYPE_LIST_QUICKLIST_2 => {
            let nodes = r.count()?;
            let mut l = VecDeque::new();
            for _ in 0..nodes {
                let container = if t == RDB_TYPE_LIST_QUICKLIST_2 { r.len()? } else { QUICKLIST_NODE_CONTAINER_PACKED };
                let blob = r.string()?;
                match (t, container) {
                    (_, QUICKLIST_NODE_CONTAINER_PLAIN) => l.push_back(blob),
                    (RDB_TYPE_LIST_QUICKLIST, _) => l.extend(decode_ziplist(&blob)?),
                    (_, QUICKLIST_NODE_CONTAINER_PACKED) => {
                        let entries = decode_listpack(&blob)?;
                        if entries.is_empty() {
                            return Err(bad("Empty listpack in quicklist"));
                        }
                        l.extend(entries)
                    }
                    _ => return Err(bad(format!("Quicklist integrity check failed: container {}", container))),
                }
            }
            Value::List(l)
        }
        RDB_TYPE_SET => {
            let n = r.count()?;
            let mut s = Set::default();
            for _ in 0..n {
                if !s.insert(r.string()?) {
                    return Err(bad("Duplicate set members detected"));
                }
            }
            Value::Set(Box::new(SetValue::loaded(s, limits)))
        }
        RDB_TYPE_SET_INTSET | RDB_TYPE_SET_LISTPACK => {
            let blob = r.string()?;
            let members = if t == RDB_TYPE_SET_INTSET { decode_intset(&blob)? } else { decode_listpack(&blob)? };
            let mut s = Set::default();
            for m in members {
                if !s.insert(m) {
                    return Err(bad("Duplicate set members detected"));
                }
            }
            Value::Set(Box::new(SetValue::loaded(s, limits)))
        }
        RDB_TYPE_ZSET | RDB_TYPE_ZSET_2 => {
            let n = r.count()?;
            let mut z = SortedSet::default();
            for _ in 0..n {
                let m = r.string()?;
                let s = if t == RDB_TYPE_ZSET { r.text_double()? } else { r.binary_double()? };
                if z.insert(m, s).is_some() {
                    return Err(bad("Duplicate zset fields detected"));
                }
            }
            z.set_loaded_encoding(false, limits);
            Value::ZSet(Box::new(z))
        }
        RDB_TYPE_ZSET_ZIPLIST => pairs_to_zset(decode_ziplist(&r.string()?)?, limits)?,
        RDB_TYPE_ZSET_LISTPACK => pairs_to_zset(decode_listpack(&r.string()?)?, limits)?,
        RDB_TYPE_HASH => {
            let n = r.count()?;
            let mut h = Map::default();
            for _ in 0..n {
                let k = r.string()?;
                let v = r.string()?;
                if h.insert(k, v).is_some() {
                    return Err(bad("Duplicate hash fields detected"));
                }
            }
            Value::Hash(Box::new(Hash::loaded(h, true, limits)))
        }
        RDB_TYPE_HASH_ZIPLIST => pairs_to_hash(decode_ziplist(&r.string()?)?, false, limits)?,
        RDB_TYPE_HASH_LISTPACK => pairs_to_hash(decode_listpack(&r.string()?)?, false, limits)?,
        RDB_TYPE_HASH_ZIPMAP => pairs_to_hash(decode_zipmap(&r.string()?)?, true, limits)?,
        6 | 7 => return Err(bad("Modules are not supported by HA Lab")),
        15 | 19 | 21 => return Err(bad("Streams are not supported by HA Lab yet")),
        other => return Err(bad(format!("Unknown RDB encoding type {}", other))),
    };
    non_empty(v)
}

/// Decode a whole dump.rdb image (versions 1 to 10), giving values the encodings Redis gives
/// them when it loads a file under `limits`.
pub fn decode_rdb(data: &[u8], limits: &EncodingLimits) -> Result<LoadedRdb, RdbError> {
    if data.len() < 9 || &data[..5] != b"REDIS" {
        return Err(bad("Wrong signature trying to load DB from file"));
    }
    let version: u16 = std::str::from_utf8(&data[5..9])
        .ok()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad("Wrong signature trying to load DB from file"))?;
    if !(1..=RDB_VERSION).contains(&version) {
        return Err(bad(format!("Can't handle RDB format version {}", version)));
    }
    let mut r = Reader { data, pos: 9 };
    let mut out = LoadedRdb::default();
    let mut db = 0usize;
    let mut expire: Option<u64> = None;
    loop {
        let t = r.byte()?;
        match t {
            RDB_OPCODE_EOF => {
                if version >= 5 {
                    let body_end = r.pos;
                    let stored = r.u64_le()?;
                    if stored != 0 && stored != crc64(&data[..body_end]) {
                        return Err(bad("Wrong RDB checksum"));
                    }
                }
                return Ok(out);
            }
            RDB_OPCODE_SELECTDB => {
                db = r.len()? as usize;
                if db > 1 << 20 {
                    return Err(bad("Invalid database number"));
                }
            }
            RDB_OPCODE_RESIZEDB => {
                r.len()?;
                r.len()?;
            }
            RDB_OPCODE_EXPIRETIME_MS => expire = Some(r.u64_le()?),
            RDB_OPCODE_EXPIRETIME => expire = Some(u32::from_le_bytes(r.take(4)?.try_into().unwrap()) as u64 * 1000),
            RDB_OPCODE_AUX => {
                let k = r.string()?;
                let v = r.string()?;
                out.aux
                    .fields
                    .push((String::from_utf8_lossy(&k).into_owned(), String::from_utf8_lossy(&v).into_owned()));
            }
            RDB_OPCODE_IDLE => {
                r.len()?;
            }
            RDB_OPCODE_FREQ => {
                r.byte()?;
            }
            RDB_OPCODE_FUNCTION2 => {
                // A library's code: halab has no scripting; skip it.
                r.string()?;
            }
            RDB_OPCODE_FUNCTION | RDB_OPCODE_MODULE_AUX => {
                return Err(bad("Modules and pre-GA functions in RDB are not supported by HA Lab"))
            }
            _ => {
                let key = r.string()?;
                let value = read_value(&mut r, t, limits)?;
                match out.dbs.last_mut() {
                    Some((d, entries)) if *d == db => entries.push((key, value, expire.take())),
                    _ => out.dbs.push((db, vec![(key, value, expire.take())])),
                }
            }
        }
    }
}

/// Why RESTORE refused a payload.
#[derive(Debug, Clone, PartialEq)]
pub enum RestoreError {
    /// The footer: an RDB version past ours, or a CRC64 that does not match.
    Footer,
    /// The body: what the reader found wrong, which Redis logs (`rdbReportCorruptRDB`)
    /// while the client only hears "Bad data format".
    Body(RdbError),
}

impl RestoreError {
    /// The error reply's text, without the `ERR ` prefix.
    pub fn reply(&self) -> &'static str {
        match self {
            RestoreError::Footer => "DUMP payload version or checksum are wrong",
            RestoreError::Body(_) => "Bad data format",
        }
    }
}

/// `RESTORE`: check the footer (version and CRC64, unless `skip_checksum`), then read
/// exactly one value (`verifyDumpPayload`, then `rdbLoadObject`).
pub fn restore_payload(payload: &[u8], limits: &EncodingLimits, skip_checksum: bool) -> Result<Value, RestoreError> {
    if payload.len() < 10 {
        return Err(RestoreError::Footer);
    }
    let footer = payload.len() - 10;
    let version = u16::from_le_bytes([payload[footer], payload[footer + 1]]);
    if version > RDB_VERSION {
        return Err(RestoreError::Footer);
    }
    let crc = u64::from_le_bytes(payload[footer + 2..].try_into().unwrap());
    if !skip_checksum && crc != crc64(&payload[..footer + 2]) {
        return Err(RestoreError::Footer);
    }
    let mut r = Reader { data: &payload[..footer], pos: 0 };
    let t = r.byte().map_err(RestoreError::Body)?;
    let v = read_value(&mut r, t, limits).map_err(RestoreError::Body)?;
    if r.pos != footer {
        return Err(RestoreError::Body(bad("Trailing data after the value")));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn sample_values() -> Vec<Value> {
        let limits = EncodingLimits::default();
        let mut big_hash = Hash::new();
        for i in 0..300 {
            big_hash.insert(b(&format!("field{i}")), b(&format!("value{i}")), &limits);
        }
        let mut small_hash = Hash::new();
        small_hash.insert(b("f"), b("v"), &limits);
        small_hash.insert(b("n"), b("-4000"), &limits);
        let mut zs = SortedSet::default();
        zs.insert(b("a"), 1.0);
        zs.insert(b("b"), 2.5);
        zs.insert(b("c"), f64::NEG_INFINITY);
        zs.insert(b("d"), 0.1);
        let mut zb = SortedSet::default();
        for i in 0..200 {
            zb.add(b(&format!("m{i}")), i as f64 * 0.5, &limits);
        }
        let ints: SetValue = ["1", "-5", "70000", "9223372036854775807"].iter().map(|s| b(s)).collect();
        let strs: SetValue = ["a", "b", "12"].iter().map(|s| b(s)).collect();
        let list: VecDeque<Bytes> = (0..5000)
            .map(|i| b(&format!("item-{i}")))
            .chain(
                ["0", "127", "-1", "4095", "-4096", "32767", "8388607", "2147483647", "-9223372036854775808", ""]
                    .iter()
                    .map(|s| b(s)),
            )
            .collect();
        vec![
            Value::Str(b("hello").into()),
            Value::Str(b("12345").into()),
            Value::Str(b("-7").into()),
            Value::Str(b("0123").into()),
            Value::Str(Bytes::from("abc".repeat(100)).into()),
            Value::Str(Bytes::from(vec![0u8, 255, 10, 13]).into()),
            Value::List(list),
            Value::List([b("x")].into_iter().collect()),
            Value::Hash(Box::new(small_hash)),
            Value::Hash(Box::new(big_hash)),
            Value::Set(Box::new(ints)),
            Value::Set(Box::new(strs)),
            Value::ZSet(Box::new(zs)),
            Value::ZSet(Box::new(zb)),
        ]
    }

    #[test]
    fn dump_restore_round_trips_every_shape() {
        for v in sample_values() {
            let p = dump_payload(&v);
            assert_eq!(restore_payload(&p, &EncodingLimits::default(), false).unwrap(), v, "type {}", v.type_name());
        }
    }

    #[test]
    fn dump_of_a_short_string_matches_redis_7_0() {
        // redis-cli DUMP of SET k hello on redis-server 7.0.15.
        let p = dump_payload(&Value::Str(b("hello").into()));
        assert_eq!(&p[..9], b"\x00\x05hello\x0a\x00");
        assert_eq!(p.len(), 17);
    }

    #[test]
    fn restore_rejects_bad_payloads() {
        let mut p = dump_payload(&Value::Str(b("hello").into()));
        let last = p.len() - 1;
        p[last] ^= 1;
        assert_eq!(
            restore_payload(&p, &EncodingLimits::default(), false).unwrap_err().reply(),
            "DUMP payload version or checksum are wrong"
        );
        assert_eq!(restore_payload(b"garbage", &EncodingLimits::default(), false), Err(RestoreError::Footer));
        // With the checksum skipped, a corrupt body is named in the error (and logged).
        p[0] = 0x09; // a zipmap
        p[1] = 0x02;
        let err = restore_payload(&p, &EncodingLimits::default(), true).unwrap_err();
        assert_eq!(err.reply(), "Bad data format");
    }

    #[test]
    fn rdb_file_round_trip_with_expiry_and_dbs() {
        let mut ks = Keyspace::new(16);
        for (i, v) in sample_values().into_iter().enumerate() {
            let k = b(&format!("k{i}"));
            ks.dbs[i % 3].set(k.clone(), v);
            if i % 2 == 0 {
                ks.dbs[i % 3].set_expire(&k, 1_800_000_000_000 + i as u64);
            }
        }
        let aux = RdbAux::standard(
            1_795_383_386,
            1_000_000,
            Some(&ReplSaveInfo { replid: "8433079b63365f3e51531d8ac12ec2bf024ec8ac".into(), offset: 0, stream_db: 0 }),
        );
        let image = encode_rdb(&ks, &aux);
        assert_eq!(&image[..9], b"REDIS0010");
        let loaded = decode_rdb(&image, &EncodingLimits::default()).unwrap();
        assert_eq!(loaded.aux, aux);
        let mut count = 0;
        for (d, entries) in loaded.dbs {
            for (k, v, exp) in entries {
                assert_eq!(ks.dbs[d].entries.get(&k[..]), Some(&v));
                assert_eq!(ks.dbs[d].expire_at(&k), exp);
                count += 1;
            }
        }
        assert_eq!(count, ks.total_keys());
        let mut corrupt = image.clone();
        corrupt[20] ^= 0x40;
        assert!(decode_rdb(&corrupt, &EncodingLimits::default()).is_err());
    }

    #[test]
    fn listpack_entries_round_trip_through_every_encoding() {
        let texts = [
            "0",
            "127",
            "128",
            "-1",
            "4095",
            "-4096",
            "4096",
            "32767",
            "-32768",
            "32768",
            "8388607",
            "-8388608",
            "8388608",
            "2147483647",
            "-2147483648",
            "2147483648",
            "9223372036854775807",
            "-9223372036854775808",
            "01",
            "",
            "x",
        ];
        let long = "y".repeat(5000);
        let mid = "z".repeat(200);
        let mut all: Vec<&[u8]> = texts.iter().map(|s| s.as_bytes()).collect();
        all.push(long.as_bytes());
        all.push(mid.as_bytes());
        let lp = listpack(all.iter().copied());
        let back = decode_listpack(&lp).unwrap();
        let back: Vec<&[u8]> = back.iter().map(|b| &b[..]).collect();
        assert_eq!(back, all);
    }

    #[test]
    fn zipmaps_of_redis_2_files_load_as_hashes() {
        // <zmlen> <1>"a" <1><free 0>"1" <1>"b" <2><free 1>"22"<pad> <end>
        let zm = b"\x02\x01a\x01\x001\x01b\x02\x0122!\xff";
        assert_eq!(decode_zipmap(zm).unwrap(), vec![b("a"), b("1"), b("b"), b("22")]);
        let mut limits = EncodingLimits::default();
        let Value::Hash(h) = pairs_to_hash(decode_zipmap(zm).unwrap(), true, &limits).unwrap() else { panic!() };
        assert!(h.is_listpack());
        limits.hash_max_listpack_value = 1;
        let Value::Hash(h) = pairs_to_hash(decode_zipmap(zm).unwrap(), true, &limits).unwrap() else { panic!() };
        assert!(!h.is_listpack());
        assert!(decode_zipmap(b"\x01\x05ab").is_err());
    }
}
