//! RESP, the REdis Serialization Protocol, in both directions.
//!
//! Three pieces live here:
//!
//! * [`RequestParser`] — the server side. It reads what a client sends, exactly the way
//!   Redis's `processInputBuffer` does: a request that starts with `*` is a *multibulk*
//!   (`*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n`), anything else is an *inline* command split on
//!   spaces with Redis's quoting rules (`SET "a b" 'c'`). It is streaming: bytes can arrive
//!   one at a time and a command is produced only when whole. Malformed input yields the
//!   error text Redis sends before it closes the connection, e.g.
//!
//!   ```text
//!   -ERR Protocol error: expected '$', got 'x'
//!   ```
//!
//! * [`ReplyBuf`] — the writer for replies. A connection speaks RESP2 until it says
//!   `HELLO 3`; the writer knows which and picks the right shape (a RESP2 client receives a
//!   map as a flat array and a double as a bulk string; a RESP3 client receives `%` and `,`).
//!
//! * [`Frame`] with [`Frame::encode`] and [`Frame::decode`] — the client side: every RESP2
//!   and RESP3 type as a value, for the lab's terminals, for tests and, later, for a replica
//!   reading its master's replies.

use bytes::{Buf, Bytes, BytesMut};
use std::fmt::Write as _;

/// Longest inline request or multibulk header Redis buffers before giving up
/// (`PROTO_INLINE_MAX_SIZE`).
pub const PROTO_INLINE_MAX_SIZE: usize = 64 * 1024;
/// Largest bulk string a request may carry (`proto-max-bulk-len` default, 512 MB).
pub const PROTO_MAX_BULK_LEN: i64 = 512 * 1024 * 1024;
/// Bulk argument size beyond which Redis reads the argument into its own buffer
/// (`PROTO_MBULK_BIG_ARG`); we use it to decide how much to reserve ahead.
const PROTO_MBULK_BIG_ARG: usize = 32 * 1024;

/// A protocol error: the message Redis replies with (without `-ERR `), after which the
/// connection is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl ProtocolError {
    fn new(msg: impl Into<String>) -> Self {
        ProtocolError(msg.into())
    }
    /// The full error line as Redis sends it.
    pub fn reply_line(&self) -> String {
        format!("-ERR Protocol error: {}\r\n", self.0)
    }
}

/// Streaming request parser. Keeps the state of a half-read multibulk between calls.
#[derive(Debug, Default)]
pub struct RequestParser {
    /// Number of bulk arguments still expected in the current multibulk (0 = none started).
    pending: usize,
    /// Arguments read so far for the current multibulk.
    args: Vec<Bytes>,
    /// Whether the client has authenticated: unauthenticated clients get tighter limits,
    /// as in Redis 7.0 (`unauthenticated multibulk length` / `bulk length`).
    pub authenticated: bool,
}

impl RequestParser {
    pub fn new(authenticated: bool) -> Self {
        RequestParser { pending: 0, args: Vec::new(), authenticated }
    }

    /// True when a multibulk request has been started but not finished.
    pub fn in_progress(&self) -> bool {
        self.pending > 0
    }

    /// Parse the next whole command out of `buf`, consuming its bytes.
    ///
    /// * `Ok(Some(args))` — a command (never empty).
    /// * `Ok(None)` — need more bytes (whatever is consumed is remembered).
    /// * `Err(e)` — protocol error; the caller replies `e.reply_line()` and closes.
    pub fn next(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        loop {
            if self.pending == 0 {
                if buf.is_empty() {
                    return Ok(None);
                }
                if buf[0] == b'*' {
                    match self.read_multibulk_header(buf)? {
                        None => return Ok(None),
                        Some(0) => continue, // `*0` or `*-1`: Redis ignores it
                        Some(n) => {
                            self.pending = n;
                            self.args = Vec::with_capacity(n.min(1024));
                        }
                    }
                } else {
                    match parse_inline(buf)? {
                        None => return Ok(None),
                        Some(args) if args.is_empty() => continue, // empty line
                        Some(args) => return Ok(Some(args)),
                    }
                }
            }
            // Read as many bulk arguments as are complete.
            while self.pending > 0 {
                match self.read_bulk(buf)? {
                    None => return Ok(None),
                    Some(arg) => {
                        self.args.push(arg);
                        self.pending -= 1;
                    }
                }
            }
            return Ok(Some(std::mem::take(&mut self.args)));
        }
    }

    fn read_multibulk_header(&mut self, buf: &mut BytesMut) -> Result<Option<usize>, ProtocolError> {
        let Some(eol) = find_crlf(buf) else {
            if buf.len() > PROTO_INLINE_MAX_SIZE {
                return Err(ProtocolError::new("too big mbulk count string"));
            }
            return Ok(None);
        };
        if eol > PROTO_INLINE_MAX_SIZE {
            return Err(ProtocolError::new("too big mbulk count string"));
        }
        let n = parse_i64(&buf[1..eol]);
        let max = if self.authenticated { 1024 * 1024 } else { 10 };
        let count = match n {
            Some(n) if n > 1024 * 1024 => return Err(ProtocolError::new("invalid multibulk length")),
            Some(n) if n > max => return Err(ProtocolError::new("unauthenticated multibulk length")),
            Some(n) => n,
            None => return Err(ProtocolError::new("invalid multibulk length")),
        };
        buf.advance(eol + 2);
        Ok(Some(count.max(0) as usize))
    }

    fn read_bulk(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, ProtocolError> {
        if buf.is_empty() {
            return Ok(None);
        }
        if buf[0] != b'$' {
            let got = buf[0] as char;
            return Err(ProtocolError(format!("expected '$', got '{}'", got)));
        }
        let Some(eol) = find_crlf(buf) else {
            if buf.len() > PROTO_INLINE_MAX_SIZE {
                return Err(ProtocolError::new("too big bulk count string"));
            }
            return Ok(None);
        };
        if eol > PROTO_INLINE_MAX_SIZE {
            return Err(ProtocolError::new("too big bulk count string"));
        }
        let len = match parse_i64(&buf[1..eol]) {
            Some(n) if (0..=PROTO_MAX_BULK_LEN).contains(&n) => n as usize,
            _ => return Err(ProtocolError::new("invalid bulk length")),
        };
        if !self.authenticated && len > 16384 {
            return Err(ProtocolError::new("unauthenticated bulk length"));
        }
        let total = eol + 2 + len + 2;
        if buf.len() < total {
            // Reserve for big arguments so they arrive without repeated reallocation.
            if len >= PROTO_MBULK_BIG_ARG {
                buf.reserve(total - buf.len());
            }
            return Ok(None);
        }
        buf.advance(eol + 2);
        // Small arguments are copied out so that a value stored in the keyspace does not pin
        // the whole input buffer it arrived in; big ones are split off without a copy, as
        // Redis does for arguments of PROTO_MBULK_BIG_ARG bytes and more.
        let arg =
            if len >= PROTO_MBULK_BIG_ARG { buf.split_to(len).freeze() } else { Bytes::copy_from_slice(&buf[..len]) };
        if len < PROTO_MBULK_BIG_ARG {
            buf.advance(len);
        }
        // Redis does not check the trailing CRLF of a bulk; it skips two bytes.
        buf.advance(2);
        Ok(Some(arg))
    }
}

fn find_crlf(buf: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = memchr(b'\r', &buf[from..]) {
        let at = from + i;
        if at + 1 >= buf.len() {
            return None;
        }
        if buf[at + 1] == b'\n' {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    memchr::memchr(needle, hay)
}

/// C's `atoi`: leading blanks, a sign, the digits that follow; 0 when there are none (saturating
/// where C's is undefined). How Redis reads the numbers of its own files (sentinel.conf,
/// nodes.conf) and redis-cli its arguments.
pub fn atoi(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n: i64 = digits
        .bytes()
        .take_while(|b| b.is_ascii_digit())
        .fold(0i64, |acc, b| acc.saturating_mul(10).saturating_add((b - b'0') as i64));
    if neg {
        -n
    } else {
        n
    }
}

/// Parse a signed decimal the way Redis's `string2ll` does: no spaces, no `+`, no leading
/// zeros (except "0" itself), fits in i64.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let (neg, digits) = if s[0] == b'-' { (true, &s[1..]) } else { (false, s) };
    if digits.is_empty() {
        return None;
    }
    if digits.len() > 1 && digits[0] == b'0' {
        return None;
    }
    if neg && digits == b"0" {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let d = (d - b'0') as i64;
        v = if neg { v.checked_mul(10)?.checked_sub(d)? } else { v.checked_mul(10)?.checked_add(d)? };
    }
    Some(v)
}

/// Split an inline command (everything up to `\n`) with Redis's `sdssplitargs` rules.
fn parse_inline(buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    let Some(nl) = memchr(b'\n', buf) else {
        if buf.len() > PROTO_INLINE_MAX_SIZE {
            return Err(ProtocolError::new("too big inline request"));
        }
        return Ok(None);
    };
    let line_end = if nl > 0 && buf[nl - 1] == b'\r' { nl - 1 } else { nl };
    let line = buf.split_to(nl + 1);
    match split_args(&line[..line_end]) {
        Some(args) => Ok(Some(args.into_iter().map(Bytes::from).collect())),
        None => Err(ProtocolError::new("unbalanced quotes in request")),
    }
}

/// Redis's `sdssplitargs`: split on whitespace; `"..."` supports `\n \r \t \b \a \\ \"` and
/// `\xHH`; `'...'` supports only `\'`. A closing quote must be followed by a space or the end.
/// Returns `None` for unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    // sdssplitargs works on a C string: a NUL byte ends the input.
    let line = match memchr(0, line) {
        Some(nul) => &line[..nul],
        None => line,
    };
    let mut out = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && (line[i].is_ascii_whitespace() || line[i] == 0x0b) {
            i += 1;
        }
        if i >= n {
            return Some(out);
        }
        let mut cur = Vec::new();
        let mut inq = false; // inside "double quotes"
        let mut insq = false; // inside 'single quotes'
        loop {
            if inq {
                if i >= n {
                    return None;
                }
                if line[i] == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && line[i + 2].is_ascii_hexdigit()
                    && line[i + 3].is_ascii_hexdigit()
                {
                    let h = |c: u8| (c as char).to_digit(16).unwrap() as u8;
                    cur.push(h(line[i + 2]) * 16 + h(line[i + 3]));
                    i += 3;
                } else if line[i] == b'\\' && i + 1 < n {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        c => c,
                    });
                } else if line[i] == b'"' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    inq = false;
                    i += 1;
                    break;
                } else {
                    cur.push(line[i]);
                }
            } else if insq {
                if i >= n {
                    return None;
                }
                if line[i] == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    i += 1;
                    cur.push(b'\'');
                } else if line[i] == b'\'' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    insq = false;
                    i += 1;
                    break;
                } else {
                    cur.push(line[i]);
                }
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0x0b | 0x0c => break,
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    c => cur.push(c),
                }
            }
            i += 1;
        }
        let _ = (inq, insq);
        out.push(cur);
    }
}

/// Which protocol a connection speaks, switched by `HELLO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    #[default]
    Resp2,
    Resp3,
}

/// Writer of replies into a connection's output buffer, shaped by the connection's protocol.
#[derive(Debug, Default)]
pub struct ReplyBuf {
    pub buf: BytesMut,
    pub proto: Protocol,
}

impl ReplyBuf {
    pub fn new(proto: Protocol) -> Self {
        ReplyBuf { buf: BytesMut::new(), proto }
    }
    pub fn is_resp3(&self) -> bool {
        self.proto == Protocol::Resp3
    }
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }
    pub fn simple(&mut self, s: &str) {
        self.buf.reserve(s.len() + 3);
        self.buf.extend_from_slice(b"+");
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }
    /// An error reply. `msg` includes the code, e.g. `ERR syntax error` or `WRONGTYPE ...`.
    /// Newlines are replaced by spaces, as Redis's `addReplyErrorLength` does.
    pub fn error(&mut self, msg: &str) {
        self.buf.extend_from_slice(b"-");
        for b in msg.bytes() {
            self.buf.extend_from_slice(&[if b == b'\r' || b == b'\n' { b' ' } else { b }]);
        }
        self.buf.extend_from_slice(b"\r\n");
    }
    pub fn int(&mut self, v: i64) {
        self.prefixed_len(b':', v);
    }
    fn prefixed_len(&mut self, prefix: u8, v: i64) {
        let mut tmp = itoa_buf(v);
        self.buf.reserve(tmp.len() + 3);
        self.buf.extend_from_slice(&[prefix]);
        self.buf.extend_from_slice(tmp.as_bytes_mut());
        self.buf.extend_from_slice(b"\r\n");
    }
    pub fn bulk(&mut self, b: &[u8]) {
        self.prefixed_len(b'$', b.len() as i64);
        self.buf.extend_from_slice(b);
        self.buf.extend_from_slice(b"\r\n");
    }
    pub fn bulk_str(&mut self, s: &str) {
        self.bulk(s.as_bytes());
    }
    pub fn bulk_i64(&mut self, v: i64) {
        self.bulk(itoa_buf(v).as_bytes_mut());
    }
    /// A missing value: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        if self.is_resp3() {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }
    /// A missing array: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        if self.is_resp3() {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }
    pub fn array(&mut self, n: usize) {
        self.prefixed_len(b'*', n as i64);
    }
    /// A map of `n` pairs: `%n` in RESP3, a flat array of `2n` items in RESP2.
    pub fn map(&mut self, n: usize) {
        if self.is_resp3() {
            self.prefixed_len(b'%', n as i64);
        } else {
            self.prefixed_len(b'*', 2 * n as i64);
        }
    }
    /// A set: `~n` in RESP3, an array in RESP2.
    pub fn set(&mut self, n: usize) {
        if self.is_resp3() {
            self.prefixed_len(b'~', n as i64);
        } else {
            self.array(n);
        }
    }
    /// A push message (pub/sub): `>n` in RESP3, an array in RESP2.
    pub fn push(&mut self, n: usize) {
        if self.is_resp3() {
            self.prefixed_len(b'>', n as i64);
        } else {
            self.array(n);
        }
    }
    /// A double: `,1.5` in RESP3, the bulk string `1.5` in RESP2 (Redis's `addReplyDouble`).
    pub fn double(&mut self, v: f64) {
        let s = format_double_reply(v);
        if self.is_resp3() {
            self.buf.extend_from_slice(b",");
            self.buf.extend_from_slice(s.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk_str(&s);
        }
    }
    /// A boolean: `#t` in RESP3, `:1`/`:0` in RESP2.
    pub fn boolean(&mut self, v: bool) {
        if self.is_resp3() {
            self.buf.extend_from_slice(if v { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(v as i64);
        }
    }
    /// Verbatim text (INFO, CLIENT LIST…): `=len\r\ntxt:…` in RESP3, a bulk string in RESP2.
    pub fn verbatim(&mut self, text: &str) {
        if self.is_resp3() {
            self.prefixed_len(b'=', text.len() as i64 + 4);
            self.buf.extend_from_slice(b"txt:");
            self.buf.extend_from_slice(text.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk_str(text);
        }
    }
    /// Write raw, already encoded bytes.
    pub fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
}

/// Format a double the way Redis's `addReplyDouble` does for replies (`%.17g`), with
/// `inf`/`-inf` spelled as Redis does.
pub fn format_double_reply(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    format_g17(v)
}

/// `%.17g`, as C's printf renders it.
pub fn format_g17(v: f64) -> String {
    format_g(v, 17)
}

/// C's `%.{prec}g`.
pub fn format_g(v: f64, prec: usize) -> String {
    if v == 0.0 {
        return if v.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let p = prec.max(1);
    // Exponent as %e would print it with p-1 digits after the point.
    let e_repr = format!("{:.*e}", p - 1, v);
    let (mantissa, exp) = e_repr.split_once('e').unwrap();
    let exp: i32 = exp.parse().unwrap();
    if exp < -4 || exp >= p as i32 {
        let m = trim_fraction(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", m, sign, exp.abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        trim_fraction(&format!("{:.*}", decimals, v)).to_string()
    }
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// The decimal text of `v` as an exact-size `Bytes` (one allocation, no intermediate String).
pub fn int_bytes(v: i64) -> Bytes {
    Bytes::copy_from_slice(itoa_buf(v).as_bytes_mut())
}

/// Append the decimal text of `v` to `out`, without allocating.
pub fn push_int(out: &mut BytesMut, v: i64) {
    out.extend_from_slice(itoa_buf(v).as_bytes_mut());
}

/// A small stack buffer for integer formatting without allocation.
struct ItoaBuf {
    bytes: [u8; 20],
    start: usize,
}
impl ItoaBuf {
    fn as_bytes_mut(&mut self) -> &[u8] {
        &self.bytes[self.start..]
    }
    fn len(&self) -> usize {
        20 - self.start
    }
}
fn itoa_buf(v: i64) -> ItoaBuf {
    let mut bytes = [0u8; 20];
    let mut i = 20;
    let neg = v < 0;
    let mut u = v.unsigned_abs();
    loop {
        i -= 1;
        bytes[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if neg {
        i -= 1;
        bytes[i] = b'-';
    }
    ItoaBuf { bytes, start: i }
}

/// Every RESP2/RESP3 value, for the client side of the protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Simple(String),
    Error(String),
    Integer(i64),
    Bulk(Bytes),
    /// `$-1` (RESP2 null bulk)
    NullBulk,
    /// `*-1` (RESP2 null array)
    NullArray,
    Array(Vec<Frame>),
    /// `_` (RESP3 null)
    Null,
    Double(f64),
    Boolean(bool),
    BigNumber(String),
    Verbatim {
        format: String,
        text: Bytes,
    },
    Map(Vec<(Frame, Frame)>),
    Set(Vec<Frame>),
    Push(Vec<Frame>),
    /// `|` attributes, followed by the value they describe.
    Attribute(Vec<(Frame, Frame)>, Box<Frame>),
}

/// Error decoding a frame from a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl Frame {
    /// Append this frame's wire form to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        fn line(out: &mut Vec<u8>, p: u8, s: &str) {
            out.push(p);
            out.extend_from_slice(s.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        match self {
            Frame::Simple(s) => line(out, b'+', s),
            Frame::Error(s) => line(out, b'-', s),
            Frame::Integer(i) => line(out, b':', &i.to_string()),
            Frame::Bulk(b) => {
                line(out, b'$', &b.len().to_string());
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            Frame::NullBulk => out.extend_from_slice(b"$-1\r\n"),
            Frame::NullArray => out.extend_from_slice(b"*-1\r\n"),
            Frame::Null => out.extend_from_slice(b"_\r\n"),
            Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
                let p = match self {
                    Frame::Array(_) => b'*',
                    Frame::Set(_) => b'~',
                    _ => b'>',
                };
                line(out, p, &items.len().to_string());
                for f in items {
                    f.encode(out);
                }
            }
            Frame::Double(d) => line(out, b',', &format_double_reply(*d)),
            Frame::Boolean(b) => line(out, b'#', if *b { "t" } else { "f" }),
            Frame::BigNumber(s) => line(out, b'(', s),
            Frame::Verbatim { format, text } => {
                line(out, b'=', &(text.len() + 4).to_string());
                out.extend_from_slice(format.as_bytes());
                out.push(b':');
                out.extend_from_slice(text);
                out.extend_from_slice(b"\r\n");
            }
            Frame::Map(pairs) | Frame::Attribute(pairs, _) => {
                let p = if matches!(self, Frame::Map(_)) { b'%' } else { b'|' };
                line(out, p, &pairs.len().to_string());
                for (k, v) in pairs {
                    k.encode(out);
                    v.encode(out);
                }
                if let Frame::Attribute(_, inner) = self {
                    inner.encode(out);
                }
            }
        }
    }

    /// Encode a command as a multibulk request.
    pub fn command<I, A>(args: I) -> Vec<u8>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        let args: Vec<A> = args.into_iter().collect();
        let mut out = Vec::with_capacity(16 + args.iter().map(|a| a.as_ref().len() + 16).sum::<usize>());
        let header = |out: &mut Vec<u8>, prefix: u8, n: usize| {
            out.push(prefix);
            out.extend_from_slice(itoa_buf(n as i64).as_bytes_mut());
            out.extend_from_slice(b"\r\n");
        };
        header(&mut out, b'*', args.len());
        for a in &args {
            let a = a.as_ref();
            header(&mut out, b'$', a.len());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    /// Decode one frame from the front of `buf`. `Ok(None)` means more bytes are needed and
    /// nothing was consumed.
    pub fn decode(buf: &mut BytesMut) -> Result<Option<Frame>, DecodeError> {
        let mut pos = 0;
        match decode_at(buf, &mut pos, 0)? {
            Some(f) => {
                buf.advance(pos);
                Ok(Some(f))
            }
            None => Ok(None),
        }
    }
}

const MAX_DEPTH: usize = 512;

fn decode_line<'a>(buf: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let start = *pos;
    let eol = find_crlf(&buf[start..])?;
    *pos = start + eol + 2;
    Some(&buf[start..start + eol])
}

fn decode_at(buf: &[u8], pos: &mut usize, depth: usize) -> Result<Option<Frame>, DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError("nesting too deep".into()));
    }
    if *pos >= buf.len() {
        return Ok(None);
    }
    let kind = buf[*pos];
    *pos += 1;
    let Some(line) = decode_line(buf, pos) else { return Ok(None) };
    let text = || String::from_utf8_lossy(line).into_owned();
    let int = || parse_i64(line).ok_or_else(|| DecodeError(format!("bad length or integer: {:?}", text())));
    let agg_len = |n: i64| -> Result<usize, DecodeError> {
        if !(0..=1 << 32).contains(&n) {
            Err(DecodeError(format!("bad aggregate length {n}")))
        } else {
            Ok(n as usize)
        }
    };
    let frame = match kind {
        b'+' => Frame::Simple(text()),
        b'-' => Frame::Error(text()),
        b':' => Frame::Integer(int()?),
        b'(' => Frame::BigNumber(text()),
        b'#' => match line {
            b"t" => Frame::Boolean(true),
            b"f" => Frame::Boolean(false),
            _ => return Err(DecodeError("bad boolean".into())),
        },
        b',' => {
            let s = text();
            let d = match s.as_str() {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                _ => s.parse::<f64>().map_err(|_| DecodeError(format!("bad double {s:?}")))?,
            };
            Frame::Double(d)
        }
        b'_' => Frame::Null,
        b'$' | b'=' | b'!' => {
            let n = int()?;
            if n == -1 && kind == b'$' {
                return Ok(Some(Frame::NullBulk));
            }
            if !(0..=PROTO_MAX_BULK_LEN).contains(&n) {
                return Err(DecodeError(format!("bad bulk length {n}")));
            }
            let n = n as usize;
            if buf.len() < *pos + n + 2 {
                return Ok(None);
            }
            let data = Bytes::copy_from_slice(&buf[*pos..*pos + n]);
            if &buf[*pos + n..*pos + n + 2] != b"\r\n" {
                return Err(DecodeError("bulk not terminated by CRLF".into()));
            }
            *pos += n + 2;
            match kind {
                b'$' => Frame::Bulk(data),
                b'!' => Frame::Error(String::from_utf8_lossy(&data).into_owned()),
                _ => {
                    if data.len() < 4 || data[3] != b':' {
                        return Err(DecodeError("bad verbatim string".into()));
                    }
                    Frame::Verbatim { format: String::from_utf8_lossy(&data[..3]).into_owned(), text: data.slice(4..) }
                }
            }
        }
        b'*' | b'~' | b'>' => {
            let n = int()?;
            if n == -1 && kind == b'*' {
                return Ok(Some(Frame::NullArray));
            }
            let n = agg_len(n)?;
            let mut items = Vec::with_capacity(n.min(1024));
            for _ in 0..n {
                match decode_at(buf, pos, depth + 1)? {
                    Some(f) => items.push(f),
                    None => return Ok(None),
                }
            }
            match kind {
                b'*' => Frame::Array(items),
                b'~' => Frame::Set(items),
                _ => Frame::Push(items),
            }
        }
        b'%' | b'|' => {
            let n = agg_len(int()?)?;
            let mut pairs = Vec::with_capacity(n.min(1024));
            for _ in 0..n {
                let Some(k) = decode_at(buf, pos, depth + 1)? else { return Ok(None) };
                let Some(v) = decode_at(buf, pos, depth + 1)? else { return Ok(None) };
                pairs.push((k, v));
            }
            if kind == b'%' {
                Frame::Map(pairs)
            } else {
                let Some(inner) = decode_at(buf, pos, depth + 1)? else { return Ok(None) };
                Frame::Attribute(pairs, Box::new(inner))
            }
        }
        other => return Err(DecodeError(format!("unknown frame type byte {:?}", other as char))),
    };
    Ok(Some(frame))
}

/// Whether redis-cli prints this command's reply raw (its `output_raw` list in redis-cli.c):
/// INFO, CLIENT LIST/INFO, CLUSTER NODES/INFO, MEMORY DOCTOR… come out as plain text.
pub fn cli_prints_raw(args: &[&[u8]]) -> bool {
    let is = |i: usize, w: &str| args.get(i).is_some_and(|a| a.eq_ignore_ascii_case(w.as_bytes()));
    let n = args.len();
    is(0, "info")
        || is(0, "lolwut")
        || (n >= 2 && is(0, "debug") && (is(1, "htstats") || is(1, "htstats-key") || is(1, "client-eviction")))
        || (n >= 2 && is(0, "memory") && (is(1, "malloc-stats") || is(1, "doctor")))
        || (n == 2 && is(0, "cluster") && (is(1, "nodes") || is(1, "info")))
        || (n >= 2 && is(0, "client") && (is(1, "list") || is(1, "info")))
        || (n == 3 && is(0, "latency") && is(1, "graph"))
        || (n == 2 && is(0, "latency") && is(1, "doctor"))
}

/// Render a reply as redis-cli prints the reply to this command: raw for the commands in
/// [`cli_prints_raw`], otherwise as [`render_cli`].
pub fn render_cli_for(args: &[&[u8]], frame: &Frame) -> String {
    if cli_prints_raw(args) {
        let mut out = render_raw(frame).replace("\r\n", "\n");
        while out.ends_with('\n') {
            out.pop();
        }
        out
    } else {
        render_cli(frame)
    }
}

/// redis-cli's `cliFormatReplyRaw`: strings and errors as they are, aggregates one element a
/// line.
fn render_raw(frame: &Frame) -> String {
    match frame {
        Frame::Simple(s) | Frame::Error(s) | Frame::BigNumber(s) => s.clone(),
        Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        Frame::Verbatim { text, .. } => String::from_utf8_lossy(text).into_owned(),
        Frame::Integer(i) => i.to_string(),
        Frame::Double(d) => format_double_reply(*d),
        Frame::Boolean(b) => if *b { "(true)" } else { "(false)" }.to_string(),
        Frame::NullBulk | Frame::NullArray | Frame::Null => String::new(),
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            items.iter().map(render_raw).collect::<Vec<_>>().join("\n")
        }
        Frame::Map(pairs) | Frame::Attribute(pairs, _) => {
            pairs.iter().flat_map(|(k, v)| [render_raw(k), render_raw(v)]).collect::<Vec<_>>().join("\n")
        }
    }
}

/// Render a reply the way `redis-cli` prints it in a terminal (`(integer) 2`, `1) "pine"`,
/// `(nil)`, `(error) ERR …`). Used by the lab's terminals and by tests comparing with
/// real redis-cli sessions.
pub fn render_cli(frame: &Frame) -> String {
    let mut out = String::new();
    render_cli_into(frame, 0, &mut out);
    if out.ends_with('\n') {
        out.pop();
    }
    out
}

/// Redis's `sdscatrepr`: a double-quoted string with C escapes, as redis-cli prints bulk
/// replies and as redis-server quotes command-line options into config lines.
pub fn repr(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() + 2);
    out.push('"');
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            c if c.is_ascii_graphic() || c == b' ' => out.push(c as char),
            c => {
                let _ = write!(out, "\\x{:02x}", c);
            }
        }
    }
    out.push('"');
    out
}

fn quote_cli(b: &[u8], out: &mut String) {
    out.push_str(&repr(b));
}

fn render_cli_into(frame: &Frame, indent: usize, out: &mut String) {
    match frame {
        Frame::Simple(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Frame::Error(s) => {
            out.push_str("(error) ");
            out.push_str(s);
            out.push('\n');
        }
        Frame::Integer(i) => {
            let _ = writeln!(out, "(integer) {i}");
        }
        Frame::Bulk(b) => {
            quote_cli(b, out);
            out.push('\n');
        }
        Frame::Verbatim { text, .. } => {
            out.push_str(&String::from_utf8_lossy(text));
            out.push('\n');
        }
        Frame::NullBulk | Frame::NullArray | Frame::Null => out.push_str("(nil)\n"),
        Frame::Double(d) => {
            let _ = writeln!(out, "(double) {}", format_double_reply(*d));
        }
        Frame::Boolean(b) => {
            let _ = writeln!(out, "({}) ", if *b { "true" } else { "false" });
        }
        Frame::BigNumber(s) => {
            let _ = writeln!(out, "(big number) {s}");
        }
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            if items.is_empty() {
                out.push_str(if matches!(frame, Frame::Set(_)) { "(empty set)\n" } else { "(empty array)\n" });
                return;
            }
            let width = items.len().to_string().len();
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(&" ".repeat(indent));
                }
                let prefix = format!("{:>width$}) ", i + 1, width = width);
                out.push_str(&prefix);
                render_cli_into(item, indent + prefix.len(), out);
            }
        }
        Frame::Map(pairs) | Frame::Attribute(pairs, _) => {
            if pairs.is_empty() {
                out.push_str("(empty hash)\n");
                return;
            }
            let width = pairs.len().to_string().len();
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push_str(&" ".repeat(indent));
                }
                let prefix = format!("{:>width$}# ", i + 1, width = width);
                out.push_str(&prefix);
                let mut key = String::new();
                render_cli_into(k, 0, &mut key);
                out.push_str(key.trim_end_matches('\n'));
                out.push_str(" => ");
                render_cli_into(v, indent + prefix.len() + key.trim_end().len() + 4, out);
            }
        }
    }
}

/// Parse a float the way Redis's `string2d` does with `strtod`: decimal or exponent notation,
/// C99 hexadecimal floats (`0x1p4`), `inf`/`-inf`/`infinity`, no spaces, no NaN; a value too
/// large for a double, or so small it rounds to zero, is refused (`ERANGE`), while a
/// subnormal one is kept.
pub fn parse_f64(arg: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(arg).ok()?;
    if s.is_empty() || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let (negative, body) = match lower.as_bytes()[0] {
        b'-' => (true, &lower[1..]),
        b'+' => (false, &lower[1..]),
        _ => (false, &lower[..]),
    };
    let magnitude = match body {
        "inf" | "infinity" => return Some(if negative { f64::NEG_INFINITY } else { f64::INFINITY }),
        b if b.contains("nan") || b.contains("inf") => return None,
        b if b.starts_with("0x") => parse_hex_float(&b[2..])?,
        b => {
            // Rust's parser takes what strtod takes here, but rounds overflow to infinity
            // and underflow to zero silently: tell those apart as strtod's ERANGE would.
            if !b.bytes().all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'+' | b'-')) {
                return None;
            }
            let v: f64 = b.parse().ok()?;
            let mantissa = b.split('e').next().unwrap_or("");
            if v == 0.0 && mantissa.bytes().any(|c| matches!(c, b'1'..=b'9')) {
                return None;
            }
            v
        }
    };
    if magnitude.is_infinite() || magnitude.is_nan() {
        return None;
    }
    Some(if negative { -magnitude } else { magnitude })
}

/// The digits of a hexadecimal float after `0x`: `h[.h][p[+-]d]` (at least one hex digit).
fn parse_hex_float(s: &str) -> Option<f64> {
    let (mantissa, exponent) = match s.split_once('p') {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (s, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int_part.chars().chain(frac_part.chars()) {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let scale = exponent.checked_sub(4 * frac_part.len() as i32)?;
    let v = v * 2f64.powi(scale);
    if v == 0.0 && (int_part.chars().chain(frac_part.chars())).any(|c| c != '0') {
        return None;
    }
    Some(v)
}

/// Encode a command as the RESP array a client would send.
pub fn encode_command(out: &mut BytesMut, args: &[&[u8]]) {
    out.extend_from_slice(b"*");
    push_int(out, args.len() as i64);
    out.extend_from_slice(b"\r\n");
    for a in args {
        out.extend_from_slice(b"$");
        push_int(out, a.len() as i64);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Decode what a handler replied (SPOP's popped members) to rewrite its propagation.
pub fn reply_items(reply: &[u8]) -> Vec<Bytes> {
    let mut buf = BytesMut::from(reply);
    match Frame::decode(&mut buf) {
        Ok(Some(Frame::Bulk(b))) => vec![b],
        Ok(Some(Frame::Array(items))) | Ok(Some(Frame::Set(items))) => items
            .into_iter()
            .filter_map(|f| match f {
                Frame::Bulk(b) => Some(b),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_encode_as_client_arrays() {
        let mut b = BytesMut::new();
        encode_command(&mut b, &[b"SET", b"k", b"v"]);
        assert_eq!(&b[..], b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
    }

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Bytes>>, ProtocolError> {
        let mut p = RequestParser::new(true);
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(cmd) = p.next(&mut buf)? {
            out.push(cmd);
        }
        Ok(out)
    }

    #[test]
    fn multibulk_and_inline() {
        let cmds = parse_all(b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\nPING\r\nSET \"a b\" 'c d'\n\r\n").unwrap();
        assert_eq!(cmds.len(), 3);
        assert_eq!(cmds[0], vec![Bytes::from("GET"), Bytes::from("key")]);
        assert_eq!(cmds[1], vec![Bytes::from("PING")]);
        assert_eq!(cmds[2], vec![Bytes::from("SET"), Bytes::from("a b"), Bytes::from("c d")]);
    }

    #[test]
    fn byte_at_a_time() {
        let input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n";
        let mut p = RequestParser::new(true);
        let mut buf = BytesMut::new();
        let mut got = None;
        for &b in input.iter() {
            buf.extend_from_slice(&[b]);
            if let Some(c) = p.next(&mut buf).unwrap() {
                got = Some(c);
            }
        }
        assert_eq!(got.unwrap()[2], Bytes::from("hello"));
    }

    #[test]
    fn protocol_errors_match_redis() {
        assert_eq!(parse_all(b"*1\r\nx").unwrap_err().0, "expected '$', got 'x'");
        assert_eq!(parse_all(b"*abc\r\n").unwrap_err().0, "invalid multibulk length");
        assert_eq!(parse_all(b"*1\r\n$-5\r\n").unwrap_err().0, "invalid bulk length");
        assert_eq!(parse_all(b"SET \"a\n").unwrap_err().0, "unbalanced quotes in request");
        let mut p = RequestParser::new(false);
        let mut buf = BytesMut::from(&b"*100\r\n"[..]);
        assert_eq!(p.next(&mut buf).unwrap_err().0, "unauthenticated multibulk length");
    }

    #[test]
    fn star_zero_is_ignored() {
        assert_eq!(parse_all(b"*0\r\n*-1\r\nPING\r\n").unwrap(), vec![vec![Bytes::from("PING")]]);
    }

    #[test]
    fn split_args_escapes() {
        assert_eq!(split_args(b"set k \"\\x41\\n\"").unwrap(), vec![b"set".to_vec(), b"k".to_vec(), b"A\n".to_vec()]);
        assert!(split_args(b"\"abc\"def").is_none());
        assert!(split_args(b"'abc").is_none());
    }

    #[test]
    fn parse_i64_like_string2ll() {
        assert_eq!(parse_i64(b"123"), Some(123));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"01"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b" 1"), None);
        assert_eq!(parse_i64(b"-0"), None);
    }

    #[test]
    fn doubles_like_printf_g17() {
        assert_eq!(format_g17(1.5), "1.5");
        assert_eq!(format_g17(10.5), "10.5");
        assert_eq!(format_g17(3.0), "3");
        assert_eq!(format_g17(0.1), "0.10000000000000001");
        assert_eq!(format_g17(1e20), "1e+20");
        assert_eq!(format_g17(1.0e-5), "1.0000000000000001e-05");
        assert_eq!(format_g(5.0e-5, 17), "5.0000000000000002e-05");
        assert_eq!(format_double_reply(f64::INFINITY), "inf");
    }

    #[test]
    fn reply_shapes_by_protocol() {
        let mut r2 = ReplyBuf::new(Protocol::Resp2);
        r2.map(1);
        r2.null();
        r2.double(1.5);
        assert_eq!(&r2.buf[..], b"*2\r\n$-1\r\n$3\r\n1.5\r\n");
        let mut r3 = ReplyBuf::new(Protocol::Resp3);
        r3.map(1);
        r3.null();
        r3.double(1.5);
        assert_eq!(&r3.buf[..], b"%1\r\n_\r\n,1.5\r\n");
    }

    #[test]
    fn info_and_client_list_print_raw_like_redis_cli() {
        let info = Frame::Bulk(Bytes::from("# Replication\r\nrole:master\r\n"));
        assert_eq!(render_cli_for(&[b"INFO", b"replication"], &info), "# Replication\nrole:master");
        let err = Frame::Error("NOAUTH Authentication required.".into());
        assert_eq!(render_cli_for(&[b"info"], &err), "NOAUTH Authentication required.");
        assert_eq!(render_cli_for(&[b"GET", b"k"], &err), "(error) NOAUTH Authentication required.");
    }

    #[test]
    fn render_like_redis_cli() {
        let f = Frame::Array(vec![
            Frame::Bulk(Bytes::from("pine")),
            Frame::Bulk(Bytes::from("banana")),
            Frame::Bulk(Bytes::from("apple")),
        ]);
        assert_eq!(render_cli(&f), "1) \"pine\"\n2) \"banana\"\n3) \"apple\"");
        assert_eq!(render_cli(&Frame::Integer(2)), "(integer) 2");
        assert_eq!(render_cli(&Frame::NullBulk), "(nil)");
        let nested = Frame::Array(vec![Frame::Array(vec![Frame::Integer(1), Frame::Integer(2)])]);
        assert_eq!(render_cli(&nested), "1) 1) (integer) 1\n   2) (integer) 2");
    }
}
