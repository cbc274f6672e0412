//! String commands: `GET SET SETNX SETEX PSETEX MGET MSET MSETNX INCR INCRBY INCRBYFLOAT DECR
//! DECRBY APPEND STRLEN GETRANGE SETRANGE GETDEL GETEX GETSET LCS`.
//!
//! A Redis string is a byte array up to 512 MB. Counters are strings too: `INCR` parses the
//! value as a signed 64-bit decimal and writes the result back as text, which is why
//! `INCR` on `"abc"` answers `ERR value is not an integer or out of range`.
//!
//! ```text
//! SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ts-ms|KEEPTTL]
//! ```
//!
//! `OBJECT ENCODING` tells how Redis stores a string: `int`, `embstr` (up to 44 bytes) or
//! `raw`. A command that changes a string in place (`APPEND`, `SETRANGE`) leaves it `raw`, as
//! Redis unshares it into a plain sds first (see [`crate::keyspace::StrEncoding`]).
//!
//! `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]` finds the longest common
//! subsequence with the textbook dynamic-programming table, then walks it back from the end,
//! as `lcsCommand` does, so the matched ranges come out last match first.

use super::pubsub::class;
use super::{arg_i64, eq_ic, Ctx, Handler, Replied, NOT_INTEGER, OVERFLOW, SYNTAX_ERR, WRONGTYPE};
use crate::keyspace::{CompactBytes, StrEncoding, Value};
use crate::long_double::{incr_by_float_text, IncrFloatError};
use crate::resp::parse_i64;
use bytes::Bytes;
use std::mem::take;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("get", get),
    ("set", set),
    ("setnx", setnx),
    ("setex", setex),
    ("psetex", psetex),
    ("mget", mget),
    ("mset", mset),
    ("msetnx", msetnx),
    ("incr", incr),
    ("incrby", incrby),
    ("incrbyfloat", incrbyfloat),
    ("decr", decr),
    ("decrby", decrby),
    ("append", append),
    ("strlen", strlen),
    ("getrange", getrange),
    ("substr", getrange),
    ("setrange", setrange),
    ("getdel", getdel),
    ("getex", getex),
    ("getset", getset),
    ("lcs", lcs),
];

/// `checkStringLength`: a string may not grow past `proto-max-bulk-len` (512 MB by default);
/// replies the error when `len + more` would. The master's stream is obeyed whatever it asks.
pub fn check_string_length(ctx: &mut Ctx, len: u64, more: u64) -> bool {
    if ctx.client.role == crate::node::ClientRole::Master {
        return true;
    }
    let max = ctx.srv.config.int("proto-max-bulk-len").max(0) as u64;
    match len.checked_add(more) {
        Some(total) if total <= max => true,
        _ => {
            ctx.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
            false
        }
    }
}

/// Change a string value in place, leaving it `raw` (`dbUnshareStringValue`). The bytes are
/// moved out and back, not copied, when the string is boxed.
pub fn modify_in_place(s: &mut CompactBytes, f: impl FnOnce(&mut Vec<u8>)) {
    let mut v = match std::mem::replace(s, CompactBytes::new(b"")) {
        CompactBytes::Boxed { data, .. } => data.into_vec(),
        inline => inline.as_bytes().to_vec(),
    };
    f(&mut v);
    *s = CompactBytes::from_vec(v, StrEncoding::Raw);
}

/// Grow `v` with zero bytes to `len` without spare capacity (the string is stored boxed at
/// its exact length).
pub fn grow_zeroed(v: &mut Vec<u8>, len: usize) {
    if v.len() < len {
        v.reserve_exact(len - v.len());
        v.resize(len, 0);
    }
}

/// Read a string value: `Ok(None)` when missing, `Err` (after replying WRONGTYPE) when the
/// key holds another type.
fn read_str(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Bytes>, Replied> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.to_bytes())),
        Some(_) => {
            ctx.error(WRONGTYPE);
            Err(Replied)
        }
    }
}

fn get(ctx: &mut Ctx, args: &mut [Bytes]) {
    match ctx.read_and_reply(&args[1]) {
        (None, r) => r.null(),
        (Some(Value::Str(s)), r) => r.bulk(s),
        (Some(_), r) => r.error(WRONGTYPE),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Expiry {
    None,
    /// An absolute deadline in ms.
    At(u64),
    Keep,
}

/// Parse an expire time option; the relative forms are added to `now`.
fn parse_expiry(ctx: &mut Ctx, unit_ms: u64, absolute: bool, arg: &[u8], cmd: &str) -> Option<u64> {
    let v = arg_i64(ctx, arg)?;
    if v <= 0 || (unit_ms == 1000 && v > i64::MAX / 1000) {
        ctx.error(&format!("ERR invalid expire time in '{}' command", cmd));
        return None;
    }
    let ms = (v as u64).saturating_mul(unit_ms);
    if absolute {
        Some(ms)
    } else {
        match ctx.now.checked_add(ms) {
            Some(at) if at <= i64::MAX as u64 => Some(at),
            _ => {
                ctx.error(&format!("ERR invalid expire time in '{}' command", cmd));
                None
            }
        }
    }
}

/// Store a string with the given expiry and signal the change; fires `set` (and `expire`
/// with a deadline), as `setGenericCommand` does. Takes the key and value by value: handlers
/// move them out of the request, so storing copies nothing.
fn store(ctx: &mut Ctx, key: Bytes, value: Bytes, expiry: Expiry) {
    ctx.modified(&key);
    let db = ctx.db();
    match expiry {
        Expiry::Keep => db.set_keep_ttl(&key, Value::Str(value.into())),
        Expiry::None => db.set(&key, Value::Str(value.into())),
        Expiry::At(at) => {
            db.set(&key, Value::Str(value.into()));
            db.set_expire(&key, at);
        }
    }
    ctx.notify(class::STRING, "set", &key);
    if let Expiry::At(_) = expiry {
        ctx.notify(class::GENERIC, "expire", &key);
    }
}

/// The options of SET and GETEX as `parseExtendedStringArgumentsOrReply` reads them: each
/// flag may repeat, and so may one time option (the last time given wins), but options that
/// exclude each other are a syntax error. The time itself is read later, by the command.
#[derive(Default)]
struct ExtendedOptions {
    nx: bool,
    xx: bool,
    get: bool,
    keep_ttl: bool,
    persist: bool,
    /// (which of EX/PX/EXAT/PXAT, index of its argument)
    time: Option<(&'static str, usize)>,
}

impl ExtendedOptions {
    /// `Err` after replying the syntax error.
    fn parse(ctx: &mut Ctx, args: &[Bytes], set: bool) -> Result<Self, Replied> {
        let mut o = ExtendedOptions::default();
        let mut i = if set { 3 } else { 2 };
        while i < args.len() {
            let a = &args[i];
            let has_next = i + 1 < args.len();
            let time_kind = ["EX", "PX", "EXAT", "PXAT"].into_iter().find(|k| eq_ic(a, k));
            if set && eq_ic(a, "NX") && !o.xx {
                o.nx = true;
            } else if set && eq_ic(a, "XX") && !o.nx {
                o.xx = true;
            } else if set && eq_ic(a, "GET") {
                o.get = true;
            } else if set && eq_ic(a, "KEEPTTL") && !o.persist && o.time.is_none() {
                o.keep_ttl = true;
            } else if !set && eq_ic(a, "PERSIST") && !o.keep_ttl && o.time.is_none() {
                o.persist = true;
            } else if let Some(kind) = time_kind
                .filter(|k| has_next && !o.keep_ttl && !o.persist && o.time.is_none_or(|(other, _)| other == *k))
            {
                o.time = Some((kind, i + 1));
                i += 1;
            } else {
                ctx.error(SYNTAX_ERR);
                return Err(Replied);
            }
            i += 1;
        }
        Ok(o)
    }

    /// The deadline of the time option, replying the error when it is not valid.
    fn deadline(&self, ctx: &mut Ctx, args: &[Bytes], cmd: &str) -> Result<Option<u64>, Replied> {
        let Some((kind, idx)) = self.time else { return Ok(None) };
        let unit = if kind.starts_with('E') { 1000 } else { 1 };
        let absolute = kind.ends_with("AT");
        parse_expiry(ctx, unit, absolute, &args[idx], cmd).map(Some).ok_or(Replied)
    }
}

fn set(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Ok(opts) = ExtendedOptions::parse(ctx, args, true) else { return };
    let Ok(deadline) = opts.deadline(ctx, args, "set") else { return };
    let expiry = match deadline {
        Some(at) => Expiry::At(at),
        None if opts.keep_ttl => Expiry::Keep,
        None => Expiry::None,
    };
    let (nx, xx, want_get) = (opts.nx, opts.xx, opts.get);
    let key = &args[1];
    let old = if want_get {
        match read_str(ctx, key) {
            Ok(v) => v,
            Err(Replied) => return,
        }
    } else {
        None
    };
    let exists = old.is_some() || ctx.exists(key);
    if (nx && exists) || (xx && !exists) {
        if want_get {
            match old {
                Some(v) => ctx.reply().bulk(&v),
                None => ctx.reply().null(),
            }
        } else {
            ctx.reply().null();
        }
        return;
    }
    let (key, value) = (take(&mut args[1]), take(&mut args[2]));
    store(ctx, key, value, expiry);
    if want_get {
        match old {
            Some(v) => ctx.reply().bulk(&v),
            None => ctx.reply().null(),
        }
    } else {
        ctx.ok();
    }
}

fn setnx(ctx: &mut Ctx, args: &mut [Bytes]) {
    if ctx.exists(&args[1]) {
        ctx.reply().int(0);
    } else {
        let (key, value) = (take(&mut args[1]), take(&mut args[2]));
        store(ctx, key, value, Expiry::None);
        ctx.reply().int(1);
    }
}

fn setex_generic(ctx: &mut Ctx, args: &mut [Bytes], unit: u64, cmd: &str) {
    let Some(at) = parse_expiry(ctx, unit, false, &args[2], cmd) else { return };
    let (key, value) = (take(&mut args[1]), take(&mut args[3]));
    store(ctx, key, value, Expiry::At(at));
    ctx.ok();
}

fn setex(ctx: &mut Ctx, args: &mut [Bytes]) {
    setex_generic(ctx, args, 1000, "setex");
}

fn psetex(ctx: &mut Ctx, args: &mut [Bytes]) {
    setex_generic(ctx, args, 1, "psetex");
}

fn mget(ctx: &mut Ctx, args: &mut [Bytes]) {
    ctx.reply().array(args.len() - 1);
    for key in &args[1..] {
        match ctx.read_and_reply(key) {
            (Some(Value::Str(s)), r) => r.bulk(s),
            (_, r) => r.null(),
        }
    }
}

fn mset(ctx: &mut Ctx, args: &mut [Bytes]) {
    if args.len().is_multiple_of(2) {
        ctx.error("ERR wrong number of arguments for 'mset' command");
        return;
    }
    for pair in args[1..].chunks_mut(2) {
        store(ctx, take(&mut pair[0]), take(&mut pair[1]), Expiry::None);
    }
    ctx.ok();
}

fn msetnx(ctx: &mut Ctx, args: &mut [Bytes]) {
    if args.len().is_multiple_of(2) {
        ctx.error("ERR wrong number of arguments for 'msetnx' command");
        return;
    }
    if args[1..].chunks(2).any(|p| ctx.exists(&p[0])) {
        ctx.reply().int(0);
        return;
    }
    for pair in args[1..].chunks_mut(2) {
        store(ctx, take(&mut pair[0]), take(&mut pair[1]), Expiry::None);
    }
    ctx.reply().int(1);
}

/// INCR/DECR/INCRBY/DECRBY: the value must be a canonical 64-bit integer.
fn incr_by(ctx: &mut Ctx, key: &Bytes, delta: i64) {
    let slot = ctx.lookup_write(key);
    let current = match &slot {
        None => 0,
        Some(Value::Str(s)) => match parse_i64(s) {
            Some(v) => v,
            None => return ctx.error(NOT_INTEGER),
        },
        Some(_) => return ctx.error(WRONGTYPE),
    };
    let Some(next) = current.checked_add(delta) else {
        return ctx.error(OVERFLOW);
    };
    let text = Value::Str(crate::resp::int_bytes(next).into());
    match slot {
        Some(v) => *v = text,
        None => ctx.db().set(key.clone(), text),
    }
    ctx.modified(key);
    ctx.notify(class::STRING, "incrby", key);
    ctx.reply().int(next);
}

fn incr(ctx: &mut Ctx, args: &mut [Bytes]) {
    incr_by(ctx, &args[1], 1);
}
fn decr(ctx: &mut Ctx, args: &mut [Bytes]) {
    incr_by(ctx, &args[1], -1);
}
fn incrby(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Some(d) = arg_i64(ctx, &args[2]) else { return };
    incr_by(ctx, &args[1], d);
}
fn decrby(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Some(d) = arg_i64(ctx, &args[2]) else { return };
    if d == i64::MIN {
        return ctx.error("ERR decrement would overflow");
    }
    incr_by(ctx, &args[1], -d);
}

/// INCRBYFLOAT computes in x87 `long double`, as Redis does (see [`crate::long_double`]).
fn incrbyfloat(ctx: &mut Ctx, args: &mut [Bytes]) {
    let key = &args[1];
    let current = match ctx.lookup_write(key) {
        None => Bytes::from_static(b"0"),
        Some(Value::Str(s)) => s.to_bytes(),
        Some(_) => return ctx.error(WRONGTYPE),
    };
    let text = match incr_by_float_text(&current, &args[2]) {
        Ok(t) => Bytes::copy_from_slice(t.as_bytes()),
        Err(IncrFloatError::NotAFloat) => return ctx.error(super::NOT_FLOAT),
        Err(IncrFloatError::NotFinite) => return ctx.error("ERR increment would produce NaN or Infinity"),
    };
    // `createStringObjectFromLongDouble`: no integer encoding even for "11".
    ctx.db().set_keep_ttl(key.clone(), Value::Str(CompactBytes::with_encoding(&text, StrEncoding::Embstr)));
    ctx.modified(key);
    ctx.notify(class::STRING, "incrbyfloat", key);
    ctx.reply().bulk(&text);
}

/// `APPEND key value`: a new key is stored as SET stores it; an existing string grows in
/// place and becomes `raw`.
fn append(ctx: &mut Ctx, args: &mut [Bytes]) {
    let key = &args[1];
    let current_len = match ctx.lookup_write(key) {
        None => None,
        Some(Value::Str(s)) => Some(s.len()),
        Some(_) => return ctx.error(WRONGTYPE),
    };
    let len = match current_len {
        None => {
            ctx.db().set(key.clone(), Value::Str((&args[2]).into()));
            args[2].len()
        }
        Some(n) => {
            if !check_string_length(ctx, n as u64, args[2].len() as u64) {
                return;
            }
            let Some(Value::Str(s)) = ctx.lookup_write(key) else { return };
            let more = &args[2];
            modify_in_place(s, |v| {
                v.reserve_exact(more.len());
                v.extend_from_slice(more);
            });
            s.len()
        }
    };
    ctx.modified(key);
    ctx.notify(class::STRING, "append", key);
    ctx.reply().int(len as i64);
}

fn strlen(ctx: &mut Ctx, args: &mut [Bytes]) {
    match ctx.read_and_reply(&args[1]) {
        (None, r) => r.int(0),
        (Some(Value::Str(s)), r) => r.int(s.len() as i64),
        (Some(_), r) => r.error(WRONGTYPE),
    }
}

/// `GETRANGE key start end`, replied from the stored value without copying it.
fn getrange(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Some(start) = arg_i64(ctx, &args[2]) else { return };
    let Some(end) = arg_i64(ctx, &args[3]) else { return };
    let (s, r) = match ctx.read_and_reply(&args[1]) {
        (None, r) => return r.bulk(b""),
        (Some(Value::Str(s)), r) => (s, r),
        (Some(_), r) => return r.error(WRONGTYPE),
    };
    // 7.0's `getrangeCommand` arithmetic: negative indexes count from the end and are then
    // clamped to 0 *both*, so `GETRANGE s 0 -100` on a short string is its first byte.
    if start < 0 && end < 0 && start > end {
        return r.bulk(b"");
    }
    let len = s.len() as i64;
    let from_end = |i: i64| if i < 0 { (len + i).max(0) } else { i };
    let (start, end) = (from_end(start), from_end(end).min(len - 1));
    if start > end || len == 0 {
        r.bulk(b"")
    } else {
        r.bulk(&s[start as usize..=end as usize])
    }
}

fn setrange(ctx: &mut Ctx, args: &mut [Bytes]) {
    let key = &args[1];
    let Some(offset) = arg_i64(ctx, &args[2]) else { return };
    if offset < 0 {
        return ctx.error("ERR offset is out of range");
    }
    let offset = offset as usize;
    let value = &args[3];
    let current_len = match ctx.lookup_write(key) {
        None => None,
        Some(Value::Str(s)) => Some(s.len()),
        Some(_) => return ctx.error(WRONGTYPE),
    };
    if value.is_empty() {
        // Setting nothing changes nothing, not even the encoding.
        return ctx.reply().int(current_len.unwrap_or(0) as i64);
    }
    if !check_string_length(ctx, offset as u64, value.len() as u64) {
        return;
    }
    if current_len.is_none() {
        ctx.db().set_keep_ttl(key.clone(), Value::Str(CompactBytes::with_encoding(b"", StrEncoding::Raw)));
    }
    let Some(Value::Str(s)) = ctx.lookup_write(key) else { return };
    modify_in_place(s, |v| {
        grow_zeroed(v, offset + value.len());
        v[offset..offset + value.len()].copy_from_slice(value);
    });
    let len = s.len();
    ctx.modified(key);
    ctx.notify(class::STRING, "setrange", key);
    ctx.reply().int(len as i64);
}

fn getdel(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Ok(v) = read_str(ctx, &args[1]) else { return };
    match v {
        Some(s) => {
            ctx.db().remove(&args[1]);
            ctx.modified(&args[1]);
            ctx.notify(class::GENERIC, "del", &args[1]);
            ctx.reply().bulk(&s);
        }
        None => ctx.reply().null(),
    }
}

fn getset(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Ok(v) = read_str(ctx, &args[1]) else { return };
    let (key, value) = (take(&mut args[1]), take(&mut args[2]));
    store(ctx, key, value, Expiry::None);
    match v {
        Some(s) => ctx.reply().bulk(&s),
        None => ctx.reply().null(),
    }
}

/// `GETEX key [EX s|PX ms|EXAT ts|PXAT ts-ms|PERSIST]` (`getexCommand`): the options are
/// checked, then the key, then the expire time.
fn getex(ctx: &mut Ctx, args: &mut [Bytes]) {
    let key = &args[1];
    let Ok(opts) = ExtendedOptions::parse(ctx, args, false) else { return };
    let Ok(v) = read_str(ctx, key) else { return };
    let Some(s) = v else { return ctx.reply().null() };
    let Ok(deadline) = opts.deadline(ctx, args, "getex") else { return };
    let persist = opts.persist;
    let expiry = deadline.map_or(Expiry::None, Expiry::At);
    if let Expiry::At(at) = expiry {
        if at <= ctx.now {
            ctx.db().remove(key);
            ctx.modified(key);
            ctx.notify(class::GENERIC, "del", key);
        } else {
            ctx.db().set_expire(key, at);
            ctx.modified(key);
            ctx.notify(class::GENERIC, "expire", key);
        }
    } else if persist && ctx.db().persist(key) {
        ctx.modified(key);
        ctx.notify(class::GENERIC, "persist", key);
    }
    ctx.reply().bulk(&s);
}

/// `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]` (`lcsCommand`): missing keys
/// are empty strings; the table of `(len1 + 1) × (len2 + 1)` lengths may not exceed
/// `proto-max-bulk-len` bytes.
fn lcs(ctx: &mut Ctx, args: &mut [Bytes]) {
    let mut strings = [Bytes::new(), Bytes::new()];
    for (i, key) in args[1..3].iter().enumerate() {
        match ctx.lookup_read(key) {
            None => {}
            Some(Value::Str(s)) => strings[i] = s.to_bytes(),
            Some(_) => return ctx.error("ERR The specified keys must contain string values"),
        }
    }
    let (mut want_len, mut want_idx, mut with_match_len, mut min_match_len) = (false, false, false, 0usize);
    let mut j = 3;
    while j < args.len() {
        let opt = &args[j];
        if eq_ic(opt, "IDX") {
            want_idx = true;
        } else if eq_ic(opt, "LEN") {
            want_len = true;
        } else if eq_ic(opt, "WITHMATCHLEN") {
            with_match_len = true;
        } else if eq_ic(opt, "MINMATCHLEN") && j + 1 < args.len() {
            let Some(m) = arg_i64(ctx, &args[j + 1]) else { return };
            min_match_len = m.max(0) as usize;
            j += 1;
        } else {
            return ctx.error(SYNTAX_ERR);
        }
        j += 1;
    }
    if want_len && want_idx {
        return ctx.error("ERR If you want both the length and indexes, please just use IDX.");
    }
    let (a, b) = (&strings[0][..], &strings[1][..]);
    let table_bytes = (a.len() as u64 + 1).saturating_mul(b.len() as u64 + 1).saturating_mul(4);
    let max = ctx.srv.config.int("proto-max-bulk-len").max(0) as u64;
    if table_bytes > max {
        return ctx.error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
    }
    let table = LcsTable::new(a, b);
    let total = table.at(a.len(), b.len());
    if want_len {
        return ctx.reply().int(total as i64);
    }
    let (subsequence, ranges) = table.walk_back(a, b);
    if !want_idx {
        return ctx.reply().bulk(&subsequence);
    }
    let ranges: Vec<&LcsRange> = ranges.iter().filter(|r| min_match_len == 0 || r.len >= min_match_len).collect();
    let r = ctx.reply();
    r.map(2);
    r.bulk(b"matches");
    r.array(ranges.len());
    for m in ranges {
        r.array(2 + with_match_len as usize);
        r.array(2);
        r.int(m.a.0 as i64);
        r.int(m.a.1 as i64);
        r.array(2);
        r.int(m.b.0 as i64);
        r.int(m.b.1 as i64);
        if with_match_len {
            r.int(m.len as i64);
        }
    }
    r.bulk(b"len");
    r.int(total as i64);
}

/// `table[i][j]` = length of the longest common subsequence of `a[..i]` and `b[..j]`.
struct LcsTable {
    cols: usize,
    cells: Vec<u32>,
}

/// One run of consecutive matched bytes: inclusive index ranges in each string.
struct LcsRange {
    a: (usize, usize),
    b: (usize, usize),
    len: usize,
}

impl LcsTable {
    fn new(a: &[u8], b: &[u8]) -> LcsTable {
        let cols = b.len() + 1;
        let mut cells = vec![0u32; (a.len() + 1) * cols];
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                cells[i * cols + j] = if a[i - 1] == b[j - 1] {
                    cells[(i - 1) * cols + j - 1] + 1
                } else {
                    cells[(i - 1) * cols + j].max(cells[i * cols + j - 1])
                };
            }
        }
        LcsTable { cols, cells }
    }

    fn at(&self, i: usize, j: usize) -> u32 {
        self.cells[i * self.cols + j]
    }

    /// Walk from the bottom-right corner back to the top: the subsequence, and the runs of
    /// contiguous matches in the order they are met (the last one first). On a mismatch the
    /// walk goes up when that keeps a strictly longer subsequence, left otherwise.
    fn walk_back(&self, a: &[u8], b: &[u8]) -> (Vec<u8>, Vec<LcsRange>) {
        let mut out = vec![0u8; self.at(a.len(), b.len()) as usize];
        let mut ranges = Vec::new();
        let mut run: Option<LcsRange> = None;
        let (mut i, mut j, mut k) = (a.len(), b.len(), out.len());
        while i > 0 && j > 0 {
            let mut close = false;
            if a[i - 1] == b[j - 1] {
                out[k - 1] = a[i - 1];
                match run.as_mut() {
                    None => run = Some(LcsRange { a: (i - 1, i - 1), b: (j - 1, j - 1), len: 1 }),
                    Some(r) if r.a.0 == i && r.b.0 == j => {
                        r.a.0 -= 1;
                        r.b.0 -= 1;
                        r.len += 1;
                    }
                    Some(_) => close = true,
                }
                if let Some(r) = &run {
                    if r.a.0 == 0 || r.b.0 == 0 {
                        close = true;
                    }
                }
                k -= 1;
                i -= 1;
                j -= 1;
            } else {
                if self.at(i - 1, j) > self.at(i, j - 1) {
                    i -= 1;
                } else {
                    j -= 1;
                }
                close = run.is_some();
            }
            if close {
                ranges.extend(run.take());
            }
        }
        (out, ranges)
    }
}
