//! HyperLogLog: `PFADD`, `PFCOUNT`, `PFMERGE`, `PFDEBUG`, `PFSELFTEST` (Redis's hyperloglog.c).
//!
//! ```text
//! PFADD visitors alice bob carol   → (integer) 1   a register grew
//! PFCOUNT visitors                 → (integer) 3   the estimated number of distinct elements
//! PFMERGE all visitors others      → OK            the register-wise maximum of the inputs
//! ```
//!
//! An HLL is an ordinary string value, byte for byte the one Redis stores, so DUMP, GET and
//! replication carry it unchanged and a real Redis can read it:
//!
//! ```text
//! "HYLL" | encoding (0 dense, 1 sparse) | 3 unused | 8-byte cached cardinality (LE)
//! dense:  16384 registers of 6 bits, least significant bits first (12288 bytes)
//! sparse: opcodes — ZERO 00xxxxxx (1..64 zero registers), XZERO 01xxxxxx yyyyyyyy
//!         (1..16384 zero registers), VAL 1vvvvvxx (1..4 registers of value 1..32)
//! ```
//!
//! An element is hashed with MurmurHash64A (seed `0xadc83b19`): the low 14 bits pick a
//! register, and the run of zero bits above them, plus one, is the value the register keeps
//! the maximum of (`hllPatLen`). A new HLL is sparse (`XZERO` 16384, two bytes); `PFADD`
//! rewrites the opcode covering the register as `hllSparseSet` does — split the run into at
//! most three opcodes, then merge equal neighbouring `VAL`s — and turns dense when a value
//! exceeds 32 or the string would outgrow `hll-sparse-max-bytes`. Following the same steps
//! gives the same bytes as Redis.
//!
//! The count is Otmar Ertl's improved estimator over the register histogram (`hllCount`,
//! `hllSigma`, `hllTau`), so the figures equal Redis's. A single-key `PFCOUNT` caches it in the
//! header (the top bit of the last byte marks the cache stale), and so is itself a write.

use super::pubsub::class;
use super::strings::modify_in_place;
use super::{Ctx, Handler, Replied, WRONGTYPE};
use crate::keyspace::{CompactBytes, StrEncoding, Value};
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] =
    &[("pfadd", pfadd), ("pfcount", pfcount), ("pfmerge", pfmerge), ("pfdebug", pfdebug), ("pfselftest", pfselftest)];

const P: u32 = 14;
const Q: u32 = 64 - P;
const REGISTERS: usize = 1 << P;
const REGISTER_MAX: u8 = (1 << 6) - 1;
const HDR: usize = 16;
const DENSE_SIZE: usize = HDR + (REGISTERS * 6).div_ceil(8);
const DENSE: u8 = 0;
const SPARSE: u8 = 1;
const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
const ZERO_MAX_LEN: usize = 64;
const XZERO_MAX_LEN: usize = 16384;
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const CORRUPTED: &str = "INVALIDOBJ Corrupted HLL object detected";

/// MurmurHash2, 64-bit version (`MurmurHash64A`), reading 8-byte blocks little-endian as
/// Redis's endian-neutral variant does.
pub fn murmur_hash64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut blocks = key.chunks_exact(8);
    for block in &mut blocks {
        let mut k = u64::from_le_bytes(block.try_into().unwrap());
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// `hllPatLen`: the register an element lands in, and the length of the `0…01` pattern above
/// the index bits (1..=Q+1).
fn pattern_len(element: &[u8]) -> (usize, u8) {
    let hash = murmur_hash64a(element, 0xadc8_3b19);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

// --- dense registers ------------------------------------------------------------------------

fn dense_get(regs: &[u8], i: usize) -> u8 {
    let byte = i * 6 / 8;
    let fb = (i * 6) & 7;
    let b0 = regs[byte] as u16;
    let b1 = regs.get(byte + 1).copied().unwrap_or(0) as u16;
    (((b0 >> fb) | (b1 << (8 - fb))) & REGISTER_MAX as u16) as u8
}

fn dense_set(regs: &mut [u8], i: usize, val: u8) {
    let byte = i * 6 / 8;
    let fb = (i * 6) & 7;
    let v = val as u16;
    regs[byte] &= !((REGISTER_MAX as u16) << fb) as u8;
    regs[byte] |= (v << fb) as u8;
    if byte + 1 < regs.len() {
        regs[byte + 1] &= !((REGISTER_MAX as u16) >> (8 - fb)) as u8;
        regs[byte + 1] |= (v >> (8 - fb)) as u8;
    }
}

// --- sparse opcodes -------------------------------------------------------------------------

/// One decoded sparse opcode at `at`: `(run length, value, bytes)`, value 0 for (X)ZERO. An
/// XZERO cut off by the end of the string reads its second byte as 0, as Redis reads the
/// string's terminating NUL.
fn opcode(s: &[u8], at: usize) -> (usize, u8, usize) {
    let b = s[at];
    if b & 0xc0 == 0 {
        ((b & 0x3f) as usize + 1, 0, 1)
    } else if b & 0xc0 == 0x40 {
        let lo = s.get(at + 1).copied().unwrap_or(0) as usize;
        ((((b & 0x3f) as usize) << 8 | lo) + 1, 0, 2)
    } else {
        ((b & 0x3) as usize + 1, ((b >> 2) & 0x1f) + 1, 1)
    }
}

fn val_op(value: u8, len: usize) -> u8 {
    0x80 | ((value - 1) << 2) | (len as u8 - 1)
}

fn push_zeros(seq: &mut Vec<u8>, len: usize) {
    if len > ZERO_MAX_LEN {
        let l = len - 1;
        seq.push(0x40 | (l >> 8) as u8);
        seq.push((l & 0xff) as u8);
    } else {
        seq.push(len as u8 - 1);
    }
}

/// Walk the sparse opcodes, calling `f(first register, run, value)` for each. True when they
/// cover exactly the 16384 registers; a run that would pass the last register stops the walk
/// and makes the HLL corrupted (the CVE-2025-32023 fix Debian's 7.0.15 carries).
fn walk_sparse(s: &[u8], mut f: impl FnMut(usize, usize, u8)) -> bool {
    let mut idx = 0;
    let mut at = HDR;
    while at < s.len() {
        let (run, value, len) = opcode(s, at);
        if idx + run > REGISTERS {
            return false;
        }
        f(idx, run, value);
        idx += run;
        at += len;
    }
    idx == REGISTERS
}

/// The registers of a sparse HLL, or `None` when it is corrupted.
fn sparse_registers(s: &[u8]) -> Option<Vec<u8>> {
    let mut regs = vec![0u8; REGISTERS];
    let valid = walk_sparse(s, |first, run, value| {
        if value > 0 {
            regs[first..first + run].fill(value);
        }
    });
    valid.then_some(regs)
}

/// `hllSparseToDense`: rewrite `s` densely, keeping the header (magic and cached count).
fn sparse_to_dense(s: &mut Vec<u8>) -> Result<(), Replied> {
    if s[4] == DENSE {
        return Ok(());
    }
    let regs = sparse_registers(s).ok_or(Replied)?;
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR].copy_from_slice(&s[..HDR]);
    dense[4] = DENSE;
    for (i, &v) in regs.iter().enumerate() {
        if v > 0 {
            dense_set(&mut dense[HDR..], i, v);
        }
    }
    *s = dense;
    Ok(())
}

/// `hllSparseSet`: raise register `index` to `count` in a sparse HLL, promoting it to dense
/// when needed. `Ok(true)` when the register grew; `Err` when the HLL is corrupted.
fn sparse_set(s: &mut Vec<u8>, index: usize, count: u8, max_bytes: usize) -> Result<bool, Replied> {
    if count > VAL_MAX_VALUE {
        return promote(s, index, count);
    }
    // Find the opcode covering `index`, and the one before it.
    let (mut at, mut first, mut prev) = (HDR, 0usize, None);
    let mut found = None;
    while at < s.len() {
        let (run, value, len) = opcode(s, at);
        if index < first + run {
            found = Some((run, value, len));
            break;
        }
        prev = Some(at);
        at += len;
        first += run;
    }
    let Some((run, value, oplen)) = found else { return Err(Replied) };
    if at + oplen > s.len() {
        // An XZERO cut off by the end: corrupted.
        return Err(Replied);
    }
    if value > 0 && value >= count {
        return Ok(false);
    }
    if run == 1 && oplen == 1 {
        // A single ZERO or VAL register: rewrite it in place.
        s[at] = val_op(count, 1);
    } else {
        let last = first + run - 1;
        let mut seq = Vec::with_capacity(5);
        if value == 0 {
            if index != first {
                push_zeros(&mut seq, index - first);
            }
            seq.push(val_op(count, 1));
            if index != last {
                push_zeros(&mut seq, last - index);
            }
        } else {
            if index != first {
                seq.push(val_op(value, index - first));
            }
            seq.push(val_op(count, 1));
            if index != last {
                seq.push(val_op(value, last - index));
            }
        }
        if seq.len() > oplen && s.len() + seq.len() - oplen > max_bytes {
            return promote(s, index, count);
        }
        s.splice(at..at + oplen, seq);
    }
    // Merge equal neighbouring VALs, scanning up to five opcodes from the one before.
    let mut p = prev.unwrap_or(HDR);
    let mut scan = 5;
    while p < s.len() && scan > 0 {
        scan -= 1;
        let b = s[p];
        if b & 0xc0 == 0x40 {
            p += 2;
            continue;
        } else if b & 0xc0 == 0 {
            p += 1;
            continue;
        }
        if p + 1 < s.len() && s[p + 1] & 0x80 != 0 {
            let (v1, l1) = (((b >> 2) & 0x1f) + 1, (b & 3) as usize + 1);
            let n = s[p + 1];
            let (v2, l2) = (((n >> 2) & 0x1f) + 1, (n & 3) as usize + 1);
            if v1 == v2 && l1 + l2 <= VAL_MAX_LEN {
                s[p + 1] = val_op(v1, l1 + l2);
                s.remove(p);
                // Try again to merge the merged opcode with the next one.
                continue;
            }
        }
        p += 1;
    }
    invalidate_cache(s);
    Ok(true)
}

fn promote(s: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Replied> {
    sparse_to_dense(s)?;
    let grew = dense_raise(&mut s[HDR..], index, count);
    debug_assert!(grew, "promotion happens only for a value the register did not hold");
    Ok(grew)
}

fn dense_raise(regs: &mut [u8], index: usize, count: u8) -> bool {
    if count > dense_get(regs, index) {
        dense_set(regs, index, count);
        true
    } else {
        false
    }
}

fn invalidate_cache(s: &mut [u8]) {
    s[15] |= 0x80;
}

/// `createHLLObject`: an empty sparse HLL, one XZERO over every register.
fn new_hll() -> Vec<u8> {
    let mut s = b"HYLL".to_vec();
    s.extend_from_slice(&[SPARSE, 0, 0, 0]);
    s.extend_from_slice(&[0; 8]);
    push_zeros(&mut s, XZERO_MAX_LEN);
    s
}

/// `hllAdd`: `Ok(true)` when a register grew.
fn add(s: &mut Vec<u8>, element: &[u8], max_bytes: usize) -> Result<bool, Replied> {
    let (index, count) = pattern_len(element);
    match s[4] {
        DENSE => {
            let grew = dense_raise(&mut s[HDR..], index, count);
            Ok(grew)
        }
        SPARSE => sparse_set(s, index, count, max_bytes),
        _ => Err(Replied),
    }
}

/// `hllMerge`: raise `max` to the registers of `s`; `Err` when it is corrupted.
fn merge_into(max: &mut [u8], s: &[u8]) -> Result<(), Replied> {
    if s[4] == DENSE {
        for (i, m) in max.iter_mut().enumerate() {
            *m = (*m).max(dense_get(&s[HDR..], i));
        }
        return Ok(());
    }
    let valid = walk_sparse(s, |first, run, value| {
        if value > 0 {
            for m in &mut max[first..first + run] {
                *m = (*m).max(value);
            }
        }
    });
    if valid {
        Ok(())
    } else {
        Err(Replied)
    }
}

/// `hllSigma`.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut y, mut z) = (1.0, x);
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if before == z {
            return z;
        }
    }
}

/// `hllTau`.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut y, mut z) = (1.0, 1.0 - x);
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if before == z {
            return z / 3.0;
        }
    }
}

/// `hllCount` over a register histogram (how many registers hold each value).
fn estimate(histogram: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - histogram[Q as usize + 1] as f64) / m);
    for j in (1..=Q as usize).rev() {
        z += histogram[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(histogram[0] as f64 / m);
    (ALPHA_INF * m * m / z).round() as u64
}

fn histogram_of(regs: impl IntoIterator<Item = u8>) -> [u32; 64] {
    let mut h = [0u32; 64];
    for r in regs {
        h[r as usize & 63] += 1;
    }
    h
}

/// The count of one stored HLL (`hllCount` with its `invalid` flag): `None` when a sparse one
/// does not cover exactly the 16384 registers.
fn count_of(s: &[u8]) -> Option<u64> {
    if s[4] == DENSE {
        return Some(estimate(&histogram_of((0..REGISTERS).map(|i| dense_get(&s[HDR..], i)))));
    }
    let mut h = [0u32; 64];
    let valid = walk_sparse(s, |_, run, value| h[value as usize] += run as u32);
    valid.then(|| estimate(&h))
}

/// `isHLLObjectOrReply`: `Err(reply)` unless `v` is a string holding a valid HLL header.
fn check_hll(v: &Value) -> Result<(), &'static str> {
    let Value::Str(s) = v else { return Err(WRONGTYPE) };
    let b = s.as_bytes();
    // (An int-encoded string, which Redis rejects first, cannot start with "HYLL".)
    let valid = b.len() >= HDR && &b[..4] == b"HYLL" && b[4] <= SPARSE && (b[4] != DENSE || b.len() == DENSE_SIZE);
    if valid {
        Ok(())
    } else {
        Err(NOT_HLL)
    }
}

/// Look the key up (for reading or writing) and check it: `Ok(None)` when missing, `Err`
/// after replying when it is not an HLL.
fn lookup_hll(ctx: &mut Ctx, key: &[u8], write: bool) -> Result<Option<()>, Replied> {
    let state = if write { ctx.lookup_write(key).map(|v| check_hll(v)) } else { ctx.lookup_read(key).map(check_hll) };
    match state {
        None => Ok(None),
        Some(Ok(())) => Ok(Some(())),
        Some(Err(msg)) => {
            ctx.error(msg);
            Err(Replied)
        }
    }
}

/// Raise `max` to the registers of the HLL at `key` (looked up and checked already).
fn merge_key(ctx: &Ctx, key: &[u8], max: &mut [u8]) -> Result<(), Replied> {
    match ctx.peek(key) {
        Some(Value::Str(s)) => merge_into(max, s.as_bytes()),
        _ => Ok(()),
    }
}

/// Run `f` on the stored bytes of the string at `key` (already checked to be an HLL).
fn with_hll_mut<R>(ctx: &mut Ctx, key: &[u8], f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    let mut out = None;
    if let Some(Value::Str(s)) = ctx.db().entries.get_mut(key) {
        modify_in_place(s, |v| out = Some(f(v)));
    }
    out.expect("checked to be a string")
}

fn hll_str(ctx: &Ctx, key: &[u8]) -> Vec<u8> {
    match ctx.peek(key) {
        Some(Value::Str(s)) => s.as_bytes().to_vec(),
        _ => Vec::new(),
    }
}

fn sparse_max_bytes(ctx: &Ctx) -> usize {
    ctx.srv.config.int("hll-sparse-max-bytes").max(0) as usize
}

/// `PFADD key [element …]`: 1 when some register grew (or the key was created).
fn pfadd(ctx: &mut Ctx, args: &mut [Bytes]) {
    let key = args[1].clone();
    let mut updated = 0;
    match lookup_hll(ctx, &key, true) {
        Err(Replied) => return,
        Ok(None) => {
            ctx.db().set_keep_ttl(&key, Value::Str(CompactBytes::from_vec(new_hll(), StrEncoding::Raw)));
            updated += 1;
        }
        Ok(Some(())) => {}
    }
    let max_bytes = sparse_max_bytes(ctx);
    let result = with_hll_mut(ctx, &key, |s| -> Result<usize, Replied> {
        let mut grew = 0;
        for element in &args[2..] {
            if add(s, element, max_bytes)? {
                grew += 1;
            }
        }
        Ok(grew)
    });
    let Ok(grew) = result else { return ctx.error(CORRUPTED) };
    updated += grew;
    if updated > 0 {
        with_hll_mut(ctx, &key, |s| invalidate_cache(s));
        ctx.modified(&key);
        ctx.srv.persist.dirty += updated as u64 - 1;
        ctx.notify(class::STRING, "pfadd", &key);
    }
    ctx.reply().int((updated > 0) as i64);
}

/// `PFCOUNT key [key …]`: one key answers from (and refreshes) its cached count; several are
/// merged register by register first, and nothing is cached.
fn pfcount(ctx: &mut Ctx, args: &mut [Bytes]) {
    if args.len() > 2 {
        let mut max = vec![0u8; REGISTERS];
        for key in &args[1..] {
            match lookup_hll(ctx, key, false) {
                Err(Replied) => return,
                Ok(None) => continue,
                Ok(Some(())) => {}
            }
            if merge_key(ctx, key, &mut max).is_err() {
                return ctx.error(CORRUPTED);
            }
        }
        let n = estimate(&histogram_of(max));
        return ctx.reply().int(n as i64);
    }
    let key = &args[1];
    match lookup_hll(ctx, key, false) {
        Err(Replied) => return,
        Ok(None) => return ctx.reply().int(0),
        Ok(Some(())) => {}
    }
    let s = hll_str(ctx, key);
    if s[15] & 0x80 == 0 {
        let card = u64::from_le_bytes(s[8..16].try_into().unwrap());
        return ctx.reply().int(card as i64);
    }
    let Some(card) = count_of(&s) else { return ctx.error(CORRUPTED) };
    with_hll_mut(ctx, key, |s| s[8..16].copy_from_slice(&card.to_le_bytes()));
    ctx.modified(key);
    ctx.reply().int(card as i64);
}

/// `PFMERGE destkey [sourcekey …]`: the destination (itself an input) becomes the
/// register-wise maximum; dense when any input was dense. Fires `pfadd`, as Redis does.
fn pfmerge(ctx: &mut Ctx, args: &mut [Bytes]) {
    let mut max = vec![0u8; REGISTERS];
    let mut use_dense = false;
    for key in &args[1..] {
        match lookup_hll(ctx, key, false) {
            Err(Replied) => return,
            Ok(None) => continue,
            Ok(Some(())) => {}
        }
        use_dense |= matches!(ctx.peek(key), Some(Value::Str(s)) if s.as_bytes()[4] == DENSE);
        if merge_key(ctx, key, &mut max).is_err() {
            return ctx.error(CORRUPTED);
        }
    }
    let dst = args[1].clone();
    if ctx.lookup_write(&dst).is_none() {
        ctx.db().set_keep_ttl(&dst, Value::Str(CompactBytes::from_vec(new_hll(), StrEncoding::Raw)));
    }
    let max_bytes = sparse_max_bytes(ctx);
    let result = with_hll_mut(ctx, &dst, |s| -> Result<(), Replied> {
        if use_dense {
            sparse_to_dense(s)?;
        }
        for (i, &m) in max.iter().enumerate() {
            if m == 0 {
                continue;
            }
            if s[4] == DENSE {
                dense_raise(&mut s[HDR..], i, m);
            } else {
                sparse_set(s, i, m, max_bytes)?;
            }
        }
        invalidate_cache(s);
        Ok(())
    });
    if result.is_err() {
        return ctx.error(CORRUPTED);
    }
    ctx.modified(&dst);
    ctx.notify(class::STRING, "pfadd", &dst);
    ctx.ok();
}

/// `PFDEBUG GETREG|DECODE|ENCODING|TODENSE key`: the registers, the sparse opcodes as text
/// (`z:` ZERO, `Z:` XZERO, `v:value,run`), the encoding, or a conversion to dense.
fn pfdebug(ctx: &mut Ctx, args: &mut [Bytes]) {
    let sub = String::from_utf8_lossy(&args[1]).into_owned();
    let key = args[2].clone();
    match lookup_hll(ctx, &key, true) {
        Err(Replied) => return,
        Ok(None) => return ctx.error("ERR The specified key does not exist"),
        Ok(Some(())) => {}
    }
    let arity_ok = args.len() == 3;
    let lower = sub.to_ascii_lowercase();
    if !matches!(lower.as_str(), "getreg" | "decode" | "encoding" | "todense") {
        return ctx.error(&format!("ERR Unknown PFDEBUG subcommand '{sub}'"));
    }
    if !arity_ok {
        return ctx.error(&format!("ERR Wrong number of arguments for the '{sub}' subcommand"));
    }
    let encoding = hll_str(ctx, &key)[4];
    match lower.as_str() {
        "getreg" | "todense" => {
            let converted = encoding == SPARSE;
            if converted {
                if with_hll_mut(ctx, &key, sparse_to_dense).is_err() {
                    return ctx.error(CORRUPTED);
                }
                // An encoding change is a change (Redis forces its propagation).
                ctx.modified(&key);
            }
            if lower == "todense" {
                return ctx.reply().int(converted as i64);
            }
            let s = hll_str(ctx, &key);
            ctx.reply().array(REGISTERS);
            for i in 0..REGISTERS {
                ctx.reply().int(dense_get(&s[HDR..], i) as i64);
            }
        }
        "decode" => {
            if encoding != SPARSE {
                return ctx.error("ERR HLL encoding is not sparse");
            }
            let s = hll_str(ctx, &key);
            let mut ops = Vec::new();
            let mut at = HDR;
            while at < s.len() {
                let (run, value, len) = opcode(&s, at);
                ops.push(match (value, len) {
                    (0, 1) => format!("z:{run}"),
                    (0, _) => format!("Z:{run}"),
                    _ => format!("v:{value},{run}"),
                });
                at += len;
            }
            ctx.reply().bulk(ops.join(" ").as_bytes());
        }
        _ => {
            ctx.reply().simple(if encoding == DENSE { "dense" } else { "sparse" });
        }
    }
}

/// `PFSELFTEST`: check the dense register packing and that sparse and dense HLLs fed the
/// same elements count the same (a shorter version of Redis's self test).
fn pfselftest(ctx: &mut Ctx, _args: &mut [Bytes]) {
    let mut regs = vec![0u8; DENSE_SIZE - HDR];
    let mut expected = vec![0u8; REGISTERS];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..4 {
        for (i, e) in expected.iter_mut().enumerate() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *e = (x & REGISTER_MAX as u64) as u8;
            dense_set(&mut regs, i, *e);
        }
        if (0..REGISTERS).any(|i| dense_get(&regs, i) != expected[i]) {
            return ctx.error("ERR TESTFAILED Register error");
        }
    }
    let (mut sparse, mut dense) = (new_hll(), new_hll());
    if sparse_to_dense(&mut dense).is_err() {
        return ctx.error("ERR TESTFAILED sparse to dense");
    }
    for j in 0..2000u32 {
        let e = j.to_le_bytes();
        let _ = add(&mut sparse, &e, usize::MAX);
        let _ = add(&mut dense, &e, usize::MAX);
    }
    if count_of(&sparse) != count_of(&dense) {
        return ctx.error("ERR TESTFAILED sparse and dense counts differ");
    }
    ctx.ok();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur_matches_the_reference_vectors() {
        // Values of Redis's MurmurHash64A with the HLL seed, as PFADD hashes them.
        assert_eq!(pattern_len(b"").0, (murmur_hash64a(b"", 0xadc83b19) & 16383) as usize);
        assert_ne!(murmur_hash64a(b"a", 0xadc83b19), murmur_hash64a(b"b", 0xadc83b19));
    }

    #[test]
    fn a_new_hll_is_one_xzero_and_counts_zero() {
        let s = new_hll();
        assert_eq!(s.len(), HDR + 2);
        assert_eq!(&s[HDR..], &[0x7f, 0xff]);
        assert_eq!(count_of(&s), Some(0));
    }

    #[test]
    fn sparse_and_dense_agree() {
        let (mut sparse, mut dense) = (new_hll(), new_hll());
        sparse_to_dense(&mut dense).unwrap();
        for j in 0..500u32 {
            let e = format!("e{j}");
            assert_eq!(add(&mut sparse, e.as_bytes(), 3000).unwrap(), add(&mut dense, e.as_bytes(), 3000).unwrap());
        }
        assert_eq!(sparse[4], SPARSE);
        assert_eq!(
            sparse_registers(&sparse).unwrap(),
            (0..REGISTERS).map(|i| dense_get(&dense[HDR..], i)).collect::<Vec<_>>()
        );
        assert_eq!(count_of(&sparse), count_of(&dense));
        let n = count_of(&sparse).unwrap();
        assert!((480..=520).contains(&n), "{n}");
    }
}
