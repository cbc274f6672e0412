//! Bitmap commands: a string seen as an array of bits — `SETBIT GETBIT BITCOUNT BITPOS BITOP
//! BITFIELD BITFIELD_RO` (Redis's bitops.c).
//!
//! Bit 0 is the most significant bit of the first byte, so `SETBIT k 7 1` on an empty key
//! stores the single byte `\x01`:
//!
//! ```text
//! SETBIT key offset 0|1                  → the old bit; the string grows with zero bytes
//! BITCOUNT key [start end [BYTE|BIT]]    → how many bits are 1 in the range
//! BITPOS key 0|1 [start [end [BYTE|BIT]]]→ the first 0 (or 1) bit in the range, -1 if none
//! BITOP AND|OR|XOR|NOT dest key [key ...] → the length stored at dest
//! BITFIELD key [GET type offset] [SET type offset value] [INCRBY type offset increment]
//!              [OVERFLOW WRAP|SAT|FAIL] …
//! ```
//!
//! A `BITFIELD` type is `i1`…`i64` or `u1`…`u63`; an offset `#n` means `n × width`. Writes
//! leave the string `raw`, as Redis unshares it first (`lookupStringForBitCommand`). Offsets
//! are limited so the string stays within `proto-max-bulk-len` (512 MB).

use super::pubsub::class;
use super::strings::{grow_zeroed, modify_in_place};
use super::{arg_i64, eq_ic, Ctx, Handler, SYNTAX_ERR, WRONGTYPE};
use crate::keyspace::{CompactBytes, StrEncoding, Value};
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("setbit", setbit),
    ("getbit", getbit),
    ("bitcount", bitcount),
    ("bitpos", bitpos),
    ("bitop", bitop),
    ("bitfield", bitfield),
    ("bitfield_ro", bitfield_ro),
];

const BAD_OFFSET: &str = "ERR bit offset is not an integer or out of range";

fn max_bulk_len(ctx: &Ctx) -> u64 {
    ctx.srv.config.int("proto-max-bulk-len").max(0) as u64
}

/// `getBitOffsetFromArgument`: a bit offset, `#n` (times `width`) when `width` is given. The
/// byte it falls in must lie within `proto-max-bulk-len`, except for the master's stream.
fn bit_offset(ctx: &mut Ctx, arg: &[u8], width: Option<u64>) -> Option<u64> {
    let (digits, times) = match (arg.first(), width) {
        (Some(b'#'), Some(w)) => (&arg[1..], w as i64),
        _ => (arg, 1),
    };
    let v = crate::resp::parse_i64(digits).and_then(|v| v.checked_mul(times));
    let obey = ctx.client.role == crate::node::ClientRole::Master;
    match v {
        Some(v) if v >= 0 && (obey || ((v as u64) >> 3) < max_bulk_len(ctx)) => Some(v as u64),
        _ => {
            ctx.error(BAD_OFFSET);
            None
        }
    }
}

/// The string at `key` for a command that writes bits up to `max_bit`: created (`raw`, zero
/// filled) when missing, grown with zero bytes when short. Returns whether it was created or
/// grew, or `None` after a WRONGTYPE reply.
fn string_for_bits(ctx: &mut Ctx, key: &Bytes, max_bit: u64) -> Option<bool> {
    let need = (max_bit >> 3) as usize + 1;
    match ctx.lookup_write(key) {
        None => {
            let mut v = Vec::new();
            grow_zeroed(&mut v, need);
            ctx.db().set_keep_ttl(key.clone(), Value::Str(CompactBytes::from_vec(v, StrEncoding::Raw)));
            Some(true)
        }
        Some(Value::Str(s)) => {
            let grew = s.len() < need;
            modify_in_place(s, |v| grow_zeroed(v, need));
            Some(grew)
        }
        Some(_) => {
            ctx.error(WRONGTYPE);
            None
        }
    }
}

fn string_mut<'c>(ctx: &'c mut Ctx, key: &[u8]) -> &'c mut CompactBytes {
    match ctx.db().entries.get_mut(key) {
        Some(Value::Str(s)) => s,
        _ => unreachable!("string_for_bits made it a string"),
    }
}

/// Look at a string in place (a bitmap may be 512 MB: never copied): `Ok(None)` when
/// missing, `Err` after a WRONGTYPE reply.
fn with_string<R>(ctx: &mut Ctx, key: &[u8], f: impl FnOnce(&[u8]) -> R) -> Result<Option<R>, ()> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(Value::Str(s)) => Ok(Some(f(s))),
        Some(_) => {
            ctx.error(WRONGTYPE);
            Err(())
        }
    }
}

/// The bytes of a string just looked up (no second lookup counted in the statistics).
fn stored<'c>(ctx: &'c mut Ctx, key: &[u8]) -> &'c [u8] {
    match ctx.db().entries.get(key) {
        Some(Value::Str(s)) => s,
        _ => b"",
    }
}

fn get_bit(bytes: &[u8], bit: u64) -> bool {
    let byte = (bit >> 3) as usize;
    byte < bytes.len() && bytes[byte] & (0x80 >> (bit & 7)) != 0
}

fn set_bit(bytes: &mut [u8], bit: u64, on: bool) {
    let byte = (bit >> 3) as usize;
    let mask = 0x80u8 >> (bit & 7);
    if on {
        bytes[byte] |= mask;
    } else {
        bytes[byte] &= !mask;
    }
}

/// `SETBIT key offset value` → the bit's old value.
fn setbit(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Some(offset) = bit_offset(ctx, &args[2], None) else { return };
    let on = match crate::resp::parse_i64(&args[3]) {
        Some(0) => false,
        Some(1) => true,
        _ => return ctx.error("ERR bit is not an integer or out of range"),
    };
    let key = &args[1];
    let Some(grew) = string_for_bits(ctx, key, offset) else { return };
    let s = string_mut(ctx, key);
    let old = get_bit(s, offset);
    if grew || old != on {
        modify_in_place(s, |v| set_bit(v, offset, on));
        ctx.modified(key);
        ctx.notify(class::STRING, "setbit", key);
    }
    ctx.reply().int(old as i64);
}

/// `GETBIT key offset`: 0 past the end or for a missing key.
fn getbit(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Some(offset) = bit_offset(ctx, &args[2], None) else { return };
    let Ok(bit) = with_string(ctx, &args[1], |s| get_bit(s, offset)) else { return };
    ctx.reply().int(bit.unwrap_or(false) as i64);
}

/// A `start end [BYTE|BIT]` range normalized the way BITCOUNT and BITPOS do: negative
/// indexes count from the end, both ends are clamped; `None` when empty. Returned in bits,
/// inclusive.
fn bit_range(len: u64, start: i64, end: i64, in_bits: bool) -> Option<(u64, u64)> {
    let total = if in_bits { len as i64 * 8 } else { len as i64 };
    let mut s = if start < 0 { total + start } else { start };
    let mut e = if end < 0 { total + end } else { end };
    s = s.max(0);
    e = e.max(0);
    if e >= total {
        e = total - 1;
    }
    if s > e {
        return None;
    }
    Some(if in_bits { (s as u64, e as u64) } else { (s as u64 * 8, e as u64 * 8 + 7) })
}

/// Ones between bit `from` and bit `to`, inclusive.
fn count_ones(bytes: &[u8], from: u64, to: u64) -> u64 {
    let (first, last) = ((from >> 3) as usize, (to >> 3) as usize);
    let mut n: u64 = bytes[first..=last].iter().map(|b| b.count_ones() as u64).sum();
    // Take away the bits of the edge bytes outside the range.
    n -= (bytes[first] & !(0xFFu8 >> (from & 7))).count_ones() as u64;
    n -= (bytes[last] & 0xFFu8.checked_shr((to & 7) as u32 + 1).unwrap_or(0)).count_ones() as u64;
    n
}

fn parse_unit(ctx: &mut Ctx, arg: &[u8]) -> Option<bool> {
    if eq_ic(arg, "BIT") {
        Some(true)
    } else if eq_ic(arg, "BYTE") {
        Some(false)
    } else {
        ctx.error(SYNTAX_ERR);
        None
    }
}

/// `BITCOUNT key [start end [BYTE|BIT]]`: a missing key counts 0 before any argument is
/// looked at (`bitcountCommand`).
fn bitcount(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Ok(len) = with_string(ctx, &args[1], |s| s.len() as u64) else { return };
    let Some(len) = len else { return ctx.reply().int(0) };
    let range = match args.len() {
        2 => bit_range(len, 0, -1, false),
        4 | 5 => {
            let Some(start) = arg_i64(ctx, &args[2]) else { return };
            let Some(end) = arg_i64(ctx, &args[3]) else { return };
            if start < 0 && end < 0 && start > end {
                return ctx.reply().int(0);
            }
            let in_bits = if args.len() == 5 {
                let Some(b) = parse_unit(ctx, &args[4]) else { return };
                b
            } else {
                false
            };
            bit_range(len, start, end, in_bits)
        }
        _ => return ctx.error(SYNTAX_ERR),
    };
    let n = range.map(|(a, b)| count_ones(stored(ctx, &args[1]), a, b)).unwrap_or(0);
    ctx.reply().int(n as i64);
}

/// The first bit equal to `want` between bits `from` and `to`, inclusive.
fn find_bit(bytes: &[u8], from: u64, to: u64, want: bool) -> Option<u64> {
    let skip = if want { 0x00 } else { 0xFF };
    let mut bit = from;
    while bit <= to {
        if bit & 7 == 0 && bit + 7 <= to && bytes[(bit >> 3) as usize] == skip {
            bit += 8;
            continue;
        }
        if get_bit(bytes, bit) == want {
            return Some(bit);
        }
        bit += 1;
    }
    None
}

/// `BITPOS key bit [start [end [BYTE|BIT]]]` (`bitposCommand`). Looking for a 0 without an
/// end finds the first bit past the string when the string is all ones.
fn bitpos(ctx: &mut Ctx, args: &mut [Bytes]) {
    let Some(bit) = arg_i64(ctx, &args[2]) else { return };
    if bit != 0 && bit != 1 {
        return ctx.error("ERR The bit argument must be 1 or 0.");
    }
    let want = bit == 1;
    let Ok(len) = with_string(ctx, &args[1], |s| s.len() as u64) else { return };
    let Some(len) = len else { return ctx.reply().int(if want { -1 } else { 0 }) };
    let (range, end_given) = match args.len() {
        3 => (bit_range(len, 0, -1, false), false),
        4..=6 => {
            let Some(start) = arg_i64(ctx, &args[3]) else { return };
            let in_bits = if args.len() == 6 {
                let Some(b) = parse_unit(ctx, &args[5]) else { return };
                b
            } else {
                false
            };
            let end = if args.len() >= 5 {
                let Some(e) = arg_i64(ctx, &args[4]) else { return };
                e
            } else {
                -1
            };
            (bit_range(len, start, end, in_bits), args.len() >= 5)
        }
        _ => return ctx.error(SYNTAX_ERR),
    };
    let Some((from, to)) = range else { return ctx.reply().int(-1) };
    let pos = match find_bit(stored(ctx, &args[1]), from, to, want) {
        Some(p) => p as i64,
        None if want || end_given => -1,
        // The zero bits right after the string.
        None => ((to >> 3) as i64 + 1) * 8,
    };
    ctx.reply().int(pos);
}

/// `BITOP AND|OR|XOR|NOT destkey key [key ...]`: missing keys and the tails of shorter
/// strings count as zero bytes; an empty result deletes destkey.
fn bitop(ctx: &mut Ctx, args: &mut [Bytes]) {
    let op = &args[1];
    let kind = if eq_ic(op, "AND") {
        b'&'
    } else if eq_ic(op, "OR") {
        b'|'
    } else if eq_ic(op, "XOR") {
        b'^'
    } else if eq_ic(op, "NOT") {
        b'~'
    } else {
        return ctx.error(SYNTAX_ERR);
    };
    if kind == b'~' && args.len() != 4 {
        return ctx.error("ERR BITOP NOT must be called with a single source key.");
    }
    for key in &args[3..] {
        if with_string(ctx, key, |_| ()).is_err() {
            return;
        }
    }
    let db = &ctx.srv.keyspace.dbs[ctx.client.db];
    let inputs: Vec<&[u8]> = args[3..]
        .iter()
        .map(|k| match db.entries.get(&k[..]) {
            Some(Value::Str(s)) => s.as_bytes(),
            _ => b"",
        })
        .collect();
    let max = inputs.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = Vec::new();
    grow_zeroed(&mut out, max);
    for (i, byte) in out.iter_mut().enumerate() {
        let at = |s: &&[u8]| s.get(i).copied().unwrap_or(0);
        *byte = match kind {
            b'~' => !at(&inputs[0]),
            b'&' => inputs.iter().fold(0xFF, |acc, s| acc & at(s)),
            b'|' => inputs.iter().fold(0, |acc, s| acc | at(s)),
            _ => inputs.iter().fold(0, |acc, s| acc ^ at(s)),
        };
    }
    let dst = &args[2];
    if max == 0 {
        if ctx.db().remove(dst).is_some() {
            ctx.modified(dst);
            ctx.notify(class::GENERIC, "del", dst);
        }
    } else {
        ctx.db().set(dst.clone(), Value::Str(CompactBytes::from_vec(out, StrEncoding::Raw)));
        ctx.modified(dst);
        ctx.notify(class::STRING, "set", dst);
    }
    ctx.reply().int(max as i64);
}

#[derive(Clone, Copy, PartialEq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq)]
enum FieldOp {
    Get,
    Set(i64),
    IncrBy(i64),
}

struct Field {
    op: FieldOp,
    signed: bool,
    bits: u32,
    offset: u64,
    overflow: Overflow,
}

/// `i1`…`i64`, `u1`…`u63` (`getBitfieldTypeFromArgument`).
fn field_type(ctx: &mut Ctx, arg: &[u8]) -> Option<(bool, u32)> {
    let signed = match arg.first() {
        Some(b'i') => Some(true),
        Some(b'u') => Some(false),
        _ => None,
    };
    let bits = crate::resp::parse_i64(arg.get(1..).unwrap_or(b""));
    match (signed, bits) {
        (Some(s), Some(b)) if b >= 1 && b <= if s { 64 } else { 63 } => Some((s, b as u32)),
        _ => {
            ctx.error(
                "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
            );
            None
        }
    }
}

/// Read `bits` bits at bit `offset`, most significant first, as an unsigned number.
fn read_field(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    (0..bits as u64).fold(0u64, |v, i| (v << 1) | get_bit(bytes, offset + i) as u64)
}

fn write_field(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    for i in 0..bits as u64 {
        set_bit(bytes, offset + i, value & (1 << (bits as u64 - 1 - i)) != 0);
    }
}

fn sign_extend(v: u64, bits: u32) -> i64 {
    if bits < 64 && v & (1 << (bits - 1)) != 0 {
        (v | (u64::MAX << bits)) as i64
    } else {
        v as i64
    }
}

/// The value to store for `old + incr` (a SET is `incr` onto 0 and `value`), or `None` when
/// it overflows under FAIL (`checkSignedBitfieldOverflow` / `checkUnsignedBitfieldOverflow`):
/// WRAP keeps the low bits (two's complement for signed fields), SAT clamps to the limits.
fn apply_overflow(signed: bool, bits: u32, old: i128, incr: i128, mode: Overflow) -> Option<i128> {
    let (min, max): (i128, i128) =
        if signed { (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1) } else { (0, (1i128 << bits) - 1) };
    let sum = old + incr;
    if (min..=max).contains(&sum) {
        return Some(sum);
    }
    match mode {
        Overflow::Fail => None,
        Overflow::Sat => Some(if sum > max { max } else { min }),
        Overflow::Wrap => {
            let m = sum.rem_euclid(1i128 << bits);
            Some(if signed && m > max { m - (1i128 << bits) } else { m })
        }
    }
}

fn bitfield(ctx: &mut Ctx, args: &mut [Bytes]) {
    bitfield_generic(ctx, args, false);
}

fn bitfield_ro(ctx: &mut Ctx, args: &mut [Bytes]) {
    bitfield_generic(ctx, args, true);
}

/// `bitfieldGeneric`: every operation is parsed before the key is touched; then they run in
/// order, one reply each (nil for a write refused by OVERFLOW FAIL).
fn bitfield_generic(ctx: &mut Ctx, args: &[Bytes], read_only: bool) {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut highest_write: Option<u64> = None;
    let mut j = 2;
    while j < args.len() {
        let left = args.len() - j - 1;
        let sub = &args[j];
        let op_kind = if eq_ic(sub, "GET") && left >= 2 {
            0
        } else if eq_ic(sub, "SET") && left >= 3 {
            1
        } else if eq_ic(sub, "INCRBY") && left >= 3 {
            2
        } else if eq_ic(sub, "OVERFLOW") && left >= 1 {
            let t = &args[j + 1];
            overflow = if eq_ic(t, "WRAP") {
                Overflow::Wrap
            } else if eq_ic(t, "SAT") {
                Overflow::Sat
            } else if eq_ic(t, "FAIL") {
                Overflow::Fail
            } else {
                return ctx.error("ERR Invalid OVERFLOW type specified");
            };
            j += 2;
            continue;
        } else {
            return ctx.error(SYNTAX_ERR);
        };
        let Some((signed, bits)) = field_type(ctx, &args[j + 1]) else { return };
        let Some(offset) = bit_offset(ctx, &args[j + 2], Some(bits as u64)) else { return };
        let op = if op_kind == 0 {
            FieldOp::Get
        } else {
            let last = offset + bits as u64 - 1;
            highest_write = Some(highest_write.map_or(last, |h| h.max(last)));
            let Some(v) = arg_i64(ctx, &args[j + 3]) else { return };
            if op_kind == 1 {
                FieldOp::Set(v)
            } else {
                FieldOp::IncrBy(v)
            }
        };
        fields.push(Field { op, signed, bits, offset, overflow });
        j += if op_kind == 0 { 3 } else { 4 };
    }
    let key = &args[1];
    let replies = match highest_write {
        None => {
            let Ok(r) = with_string(ctx, key, |s| fields.iter().map(|f| Some(field_value(s, f))).collect::<Vec<_>>())
            else {
                return;
            };
            r.unwrap_or_else(|| fields.iter().map(|_| Some(0)).collect())
        }
        Some(_) if read_only => return ctx.error("ERR BITFIELD_RO only supports the GET subcommand"),
        Some(max_bit) => {
            let Some(grew) = string_for_bits(ctx, key, max_bit) else { return };
            let mut replies = Vec::with_capacity(fields.len());
            let mut changes = 0;
            modify_in_place(string_mut(ctx, key), |bytes| {
                for f in &fields {
                    let (reply, changed) = run_field(bytes, f, grew);
                    replies.push(reply);
                    changes += changed as usize;
                }
            });
            if changes > 0 {
                ctx.modified(key);
                ctx.notify(class::STRING, "setbit", key);
            }
            replies
        }
    };
    let r = ctx.reply();
    r.array(replies.len());
    for v in replies {
        match v {
            Some(v) => r.int(v),
            None => r.null(),
        }
    }
}

/// The value of a field, sign-extended for a signed type (bits past the end read as 0).
fn field_value(bytes: &[u8], f: &Field) -> i64 {
    let raw = read_field(bytes, f.offset, f.bits);
    if f.signed {
        sign_extend(raw, f.bits)
    } else {
        raw as i64
    }
}

/// Run one operation on the string: its reply (nil for a write refused by OVERFLOW FAIL) and
/// whether it changed something (`grew`: the string was created or lengthened for it).
fn run_field(bytes: &mut [u8], f: &Field, grew: bool) -> (Option<i64>, bool) {
    let old = field_value(bytes, f) as i128;
    let (new, reply) = match f.op {
        FieldOp::Get => return (Some(old as i64), false),
        FieldOp::Set(v) => {
            // Redis reads the value as unsigned for an unsigned field: a negative one
            // overflows upwards.
            let v = if f.signed { v as i128 } else { v as u64 as i128 };
            match apply_overflow(f.signed, f.bits, 0, v, f.overflow) {
                None => return (None, false),
                Some(new) => (new, old),
            }
        }
        FieldOp::IncrBy(incr) => match apply_overflow(f.signed, f.bits, old, incr as i128, f.overflow) {
            None => return (None, false),
            Some(new) => (new, new),
        },
    };
    write_field(bytes, f.offset, f.bits, new as u64);
    (Some(reply as i64), grew || new != old)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ones_are_counted_inside_bit_ranges_only() {
        let b = [0xFFu8, 0x0F, 0xF0];
        assert_eq!(count_ones(&b, 0, 23), 16);
        assert_eq!(count_ones(&b, 4, 11), 4);
        assert_eq!(count_ones(&b, 12, 19), 8);
        assert_eq!(count_ones(&b, 7, 7), 1);
        assert_eq!(count_ones(&b, 8, 8), 0);
    }

    #[test]
    fn fields_read_and_write_most_significant_bit_first() {
        let mut b = vec![0u8; 3];
        write_field(&mut b, 4, 8, 0xAB);
        assert_eq!(b, [0x0A, 0xB0, 0]);
        assert_eq!(read_field(&b, 4, 8), 0xAB);
        assert_eq!(sign_extend(0xF, 4), -1);
        assert_eq!(sign_extend(0x7, 4), 7);
    }

    #[test]
    fn overflow_wraps_saturates_or_fails() {
        assert_eq!(apply_overflow(false, 8, 250, 10, Overflow::Wrap), Some(4));
        assert_eq!(apply_overflow(false, 8, 250, 10, Overflow::Sat), Some(255));
        assert_eq!(apply_overflow(false, 8, 250, 10, Overflow::Fail), None);
        assert_eq!(apply_overflow(true, 8, 120, 10, Overflow::Wrap), Some(-126));
        assert_eq!(apply_overflow(true, 8, -120, -10, Overflow::Sat), Some(-128));
        assert_eq!(apply_overflow(true, 64, i64::MAX as i128, 1, Overflow::Wrap), Some(i64::MIN as i128));
    }

    #[test]
    fn ranges_normalize_like_bitcount() {
        assert_eq!(bit_range(3, 0, -1, false), Some((0, 23)));
        assert_eq!(bit_range(3, 1, 1, false), Some((8, 15)));
        assert_eq!(bit_range(3, 5, 30, true), Some((5, 23)));
        assert_eq!(bit_range(3, 2, 1, false), None);
        assert_eq!(bit_range(0, 0, -1, false), None);
    }
}
