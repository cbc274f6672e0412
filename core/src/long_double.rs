//! The x87 80-bit `long double` that `INCRBYFLOAT` and `HINCRBYFLOAT` compute in.
//!
//! Redis parses the stored value and the increment with `strtold`, adds them in `long double`
//! (a 64-bit mantissa on x86-64, 11 bits more than an `f64`) and prints the sum with
//! `"%.17Lf"`, trimming trailing zeros (`ld2string(…, LD_STR_HUMAN)` in util.c). The extra
//! precision shows in replies:
//!
//! ```text
//! 127.0.0.1:6379> INCRBYFLOAT f 5000.6    → "5000.60000000000000009"
//! ```
//!
//! An `f64` cannot reproduce that, so this module does the same three steps exactly: a number is
//! `mantissa × 2^exponent` with a 64-bit mantissa; parsing and adding round to nearest, ties
//! to even; printing converts the exact binary value to 17 decimals. Big integers make every
//! step exact before the one rounding each operation performs, as the hardware does.

use num_bigint::{BigInt, BigUint, Sign};
use num_integer::Integer;
use num_traits::{One, Zero};

/// Largest binary exponent of a finite `long double` (mantissa × 2^exp with a 64-bit mantissa).
const MAX_EXP: i64 = 16383 - 63;
/// Inputs longer than this are refused (Redis's `string2ld` refuses > 5k characters too).
const MAX_INPUT: usize = 5 * 1024;

/// A finite `long double`: `(-1)^neg × mantissa × 2^exp`, mantissa normalized to 64 bits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongDouble {
    neg: bool,
    mantissa: u64,
    exp: i64,
}

/// Round `num / den` (both positive) to a 64-bit mantissa and exponent: the value is
/// `num / den × 2^exp0`.
fn round_ratio(num: &BigUint, den: &BigUint, exp0: i64) -> Option<(u64, i64)> {
    if num.is_zero() {
        return Some((0, 0));
    }
    // Choose a shift so that num·2^shift / den lands in [2^63, 2^64).
    let mut shift = 64 - (num.bits() as i64 - den.bits() as i64);
    loop {
        let (n, d) =
            if shift >= 0 { (num << shift as usize, den.clone()) } else { (num.clone(), den << (-shift) as usize) };
        let (q, r) = n.div_rem(&d);
        if q.bits() > 64 {
            shift -= 1;
            continue;
        }
        if q.bits() < 64 {
            shift += 1;
            continue;
        }
        let mut m = q;
        let twice = &r << 1usize;
        if twice > d || (twice == d && m.bit(0)) {
            m += 1u32;
        }
        let mut exp = exp0 - shift;
        if m.bits() > 64 {
            m >>= 1usize;
            exp += 1;
        }
        let digits = m.to_u64_digits();
        let mant = digits.first().copied().unwrap_or(0);
        if exp > MAX_EXP {
            return None;
        }
        return Some((mant, exp));
    }
}

impl LongDouble {
    /// Parse like Redis's `string2ld`: `strtold` over the whole string, no leading space,
    /// no NaN. Infinite or out-of-range values are `None` (they make INCRBYFLOAT fail).
    pub fn parse(s: &[u8]) -> Option<LongDouble> {
        if s.is_empty() || s.len() > MAX_INPUT || s[0].is_ascii_whitespace() {
            return None;
        }
        let (neg, body) = match s[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let (mantissa_part, exp_part) = match body.iter().position(|&c| c == b'e' || c == b'E') {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        };
        let (int_part, frac_part) = match mantissa_part.iter().position(|&c| c == b'.') {
            Some(i) => (&mantissa_part[..i], &mantissa_part[i + 1..]),
            None => (mantissa_part, &b""[..]),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        if !int_part.iter().chain(frac_part).all(u8::is_ascii_digit) {
            return None;
        }
        let exp10: i64 = match exp_part {
            None => 0,
            Some(e) => {
                let txt = std::str::from_utf8(e).ok()?;
                if txt.is_empty()
                    || txt.len() > 6
                    || !txt.trim_start_matches(['+', '-']).bytes().all(|c| c.is_ascii_digit())
                {
                    return None;
                }
                txt.parse().ok()?
            }
        };
        let digits: Vec<u8> = int_part.iter().chain(frac_part).copied().collect();
        let n = BigUint::parse_bytes(&digits, 10)?;
        let k = exp10 - frac_part.len() as i64;
        if n.is_zero() {
            return Some(LongDouble { neg, mantissa: 0, exp: 0 });
        }
        if k > 5000 {
            return None;
        }
        if k < -6000 {
            return Some(LongDouble { neg, mantissa: 0, exp: 0 });
        }
        let ten = BigUint::from(10u32);
        let (num, den) = if k >= 0 { (n * ten.pow(k as u32), BigUint::one()) } else { (n, ten.pow((-k) as u32)) };
        let (mantissa, exp) = round_ratio(&num, &den, 0)?;
        Some(LongDouble { neg, mantissa, exp })
    }

    fn to_bigint(&self) -> (BigInt, i64) {
        let m = BigInt::from(self.mantissa);
        (if self.neg { -m } else { m }, self.exp)
    }

    /// `a + b`, rounded once to a 64-bit mantissa. `None` on overflow to infinity.
    pub fn add(&self, other: &LongDouble) -> Option<LongDouble> {
        let (a, ea) = self.to_bigint();
        let (b, eb) = other.to_bigint();
        let e = ea.min(eb);
        if (ea - eb).abs() > 40_000 {
            // One operand is negligible beyond any rounding: the larger one is the sum.
            return Some(if ea > eb { self.clone() } else { other.clone() });
        }
        let sum = (a << (ea - e) as usize) + (b << (eb - e) as usize);
        let neg = sum.sign() == Sign::Minus;
        let mag = sum.magnitude();
        let (mantissa, exp) = round_ratio(mag, &BigUint::one(), e)?;
        Some(LongDouble { neg: neg && mantissa != 0, mantissa, exp })
    }

    /// `"%.17Lf"` with trailing zeros (and a trailing point) removed, `-0` written `0`:
    /// Redis's human-friendly `ld2string`.
    pub fn to_human_string(&self) -> String {
        let scale = BigUint::from(10u32).pow(17);
        let m = BigUint::from(self.mantissa) * scale;
        let scaled = if self.exp >= 0 {
            m << self.exp as usize
        } else {
            let den = BigUint::one() << (-self.exp) as usize;
            let (q, r) = m.div_rem(&den);
            let twice = r << 1usize;
            if twice > den || (twice == den && q.bit(0)) {
                q + 1u32
            } else {
                q
            }
        };
        let mut digits = scaled.to_str_radix(10);
        if digits.len() < 18 {
            digits = "0".repeat(18 - digits.len()) + &digits;
        }
        let (int, frac) = digits.split_at(digits.len() - 17);
        let frac = frac.trim_end_matches('0');
        let mut out = String::new();
        if self.neg {
            out.push('-');
        }
        out.push_str(int);
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        if out == "-0" {
            out = "0".into();
        }
        out
    }
}

/// Whether `strtold` would read an infinity from this text (`inf`, `-Infinity`, …).
pub fn is_infinite_text(s: &[u8]) -> bool {
    let body = s.strip_prefix(b"-").or_else(|| s.strip_prefix(b"+")).unwrap_or(s);
    body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity")
}

fn parse_operand(s: &[u8]) -> Result<LongDouble, IncrFloatError> {
    if is_infinite_text(s) {
        return Err(IncrFloatError::NotFinite);
    }
    LongDouble::parse(s).ok_or(IncrFloatError::NotAFloat)
}

/// `INCRBYFLOAT`'s arithmetic on texts: `current + increment` as Redis prints it. Both texts
/// are checked for being floats before an infinite one fails the sum, as in Redis.
pub fn incr_by_float_text(current: &[u8], increment: &[u8]) -> Result<String, IncrFloatError> {
    let a = parse_operand(current);
    let b = parse_operand(increment);
    let (a, b) = match (a, b) {
        (Err(IncrFloatError::NotAFloat), _) | (_, Err(IncrFloatError::NotAFloat)) => {
            return Err(IncrFloatError::NotAFloat)
        }
        (Ok(a), Ok(b)) => (a, b),
        _ => return Err(IncrFloatError::NotFinite),
    };
    Ok(a.add(&b).ok_or(IncrFloatError::NotFinite)?.to_human_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncrFloatError {
    NotAFloat,
    NotFinite,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incr(a: &str, b: &str) -> String {
        incr_by_float_text(a.as_bytes(), b.as_bytes()).unwrap()
    }

    /// Expected values are redis-server 7.0.15's replies on x86-64.
    #[test]
    fn matches_redis_long_double_replies() {
        assert_eq!(incr("0", "10.5"), "10.5");
        assert_eq!(incr("10.5", "0.1"), "10.6");
        assert_eq!(incr("10.6", "5.0e3"), "5010.60000000000000009");
        assert_eq!(incr("0", "5.0e3"), "5000");
        assert_eq!(incr("3", "-3"), "0");
        assert_eq!(incr("1", "-1.5"), "-0.5");
        assert_eq!(incr("0", "0.1"), "0.1");
        assert_eq!(incr("0.1", "0.2"), "0.3");
        assert_eq!(incr("1e20", "1"), "100000000000000000000");
        assert_eq!(incr("-0.1", "0.1"), "0");
        assert_eq!(incr("123456789.123456789", "0.000000001"), "123456789.12345678999554366");
    }

    #[test]
    fn rejects_what_strtold_would_not_fully_consume() {
        assert_eq!(LongDouble::parse(b" 1"), None);
        assert_eq!(LongDouble::parse(b"1 "), None);
        assert_eq!(LongDouble::parse(b"abc"), None);
        assert_eq!(LongDouble::parse(b"nan"), None);
        assert_eq!(LongDouble::parse(b"."), None);
        assert_eq!(LongDouble::parse(b"1e"), None);
        assert!(LongDouble::parse(b"1e5000").is_none());
        assert!(LongDouble::parse(b"-.5").is_some());
    }
}
