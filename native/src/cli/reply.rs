//! A reply as redis-cli sees it: hiredis's `redisReply`, read by an incremental reader that
//! follows hiredis's `redisReaderGetReply` (`deps/hiredis/read.c`).
//!
//! Why not the core's [`halab_core::resp::Frame`]? redis-cli prints what came over the wire,
//! byte for byte, and hiredis keeps more of the wire than a server-side codec needs: a double's
//! own text (`,3.141` prints `3.141`, never a reformatted float), status and error lines as raw
//! bytes, a verbatim string with its `txt:` tag stripped. And it refuses what hiredis refuses
//! (RESP3 attributes `|`, blob errors `!`), with hiredis's messages, because redis-cli prints
//! them (`Error: Protocol error, got "|" as reply type byte`).
//!
//! ```text
//! +OK\r\n                 Status("OK")
//! -ERR wrong\r\n          Error("ERR wrong")
//! :1\r\n                  Integer(1)
//! $1\r\nv\r\n             String("v")         $-1\r\n and *-1\r\n and _\r\n: Nil
//! ,3.141\r\n              Double("3.141")     #t\r\n: Bool(true)   (123\r\n: BigNumber
//! =15\r\ntxt:Some string\r\n                  Verbatim("Some string")
//! *2 ~2 >2 %1             Array, Set, Push, Map (a map of n pairs holds 2n replies)
//! ```
//!
//! The reader keeps a stack of unfinished aggregates, so a reply arriving in many reads is
//! parsed once, not again from its start after every read (a million-element LRANGE would
//! otherwise cost the square of its size).

/// One reply, as hiredis builds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Status(Vec<u8>),
    Error(Vec<u8>),
    Integer(i64),
    /// The double's text as the server sent it (`3.141`, `inf`).
    Double(Vec<u8>),
    String(Vec<u8>),
    /// The text after the three-letter format and its colon.
    Verbatim(Vec<u8>),
    Nil,
    Bool(bool),
    BigNumber(Vec<u8>),
    Array(Vec<Reply>),
    Set(Vec<Reply>),
    Push(Vec<Reply>),
    /// Keys and values alternating, as hiredis stores a map (`elements` = 2 × pairs).
    Map(Vec<Reply>),
}

/// hiredis's `REDIS_REPLY_ERROR`, `REDIS_REPLY_NIL`: what redis-cli's `last_cmd_type` is
/// compared with.
pub const TYPE_ERROR: i32 = 6;
pub const TYPE_NIL: i32 = 4;

impl Reply {
    /// hiredis's `REDIS_REPLY_*` number, which redis-cli prints for a type it cannot format
    /// (`Unknown reply type: 13` for a big number).
    pub fn type_code(&self) -> i32 {
        match self {
            Reply::String(_) => 1,
            Reply::Array(_) => 2,
            Reply::Integer(_) => 3,
            Reply::Nil => 4,
            Reply::Status(_) => 5,
            Reply::Error(_) => 6,
            Reply::Double(_) => 7,
            Reply::Bool(_) => 8,
            Reply::Map(_) => 9,
            Reply::Set(_) => 10,
            Reply::Push(_) => 12,
            Reply::BigNumber(_) => 13,
            Reply::Verbatim(_) => 14,
        }
    }
}

/// A protocol error, with hiredis's message (redis-cli prints `Error: <message>`).
#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolError(pub String);

#[derive(Debug, Clone, Copy)]
enum Aggregate {
    Array,
    Set,
    Push,
    Map,
}

/// An aggregate whose elements are still arriving.
#[derive(Debug)]
struct Unfinished {
    kind: Aggregate,
    elements: usize,
    items: Vec<Reply>,
}

impl Unfinished {
    fn finish(self) -> Reply {
        match self.kind {
            Aggregate::Array => Reply::Array(self.items),
            Aggregate::Set => Reply::Set(self.items),
            Aggregate::Push => Reply::Push(self.items),
            Aggregate::Map => Reply::Map(self.items),
        }
    }
}

/// What one step of the reader consumed: a whole scalar, or an aggregate's header.
enum Item {
    Scalar(Reply),
    Header(Aggregate, usize),
}

/// hiredis's `redisReader`: feed it bytes, take replies out.
#[derive(Debug, Default)]
pub struct ReplyReader {
    buf: Vec<u8>,
    pos: usize,
    stack: Vec<Unfinished>,
}

impl ReplyReader {
    pub fn new() -> ReplyReader {
        ReplyReader::default()
    }

    pub fn feed(&mut self, data: &[u8]) {
        // Drop what earlier replies consumed before the buffer grows again.
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > 65536 && self.pos * 2 > self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// The next complete reply, `None` when more bytes are needed.
    pub fn next_reply(&mut self) -> Result<Option<Reply>, ProtocolError> {
        loop {
            let Some(item) = self.next_item()? else { return Ok(None) };
            let mut done = match item {
                Item::Scalar(r) => r,
                Item::Header(kind, 0) => Unfinished { kind, elements: 0, items: Vec::new() }.finish(),
                Item::Header(kind, elements) => {
                    self.stack.push(Unfinished { kind, elements, items: Vec::with_capacity(elements.min(4096)) });
                    continue;
                }
            };
            // Hand the finished reply to its parent; a parent that is now full is finished
            // in turn (hiredis's `moveToNextTask`).
            loop {
                let Some(top) = self.stack.last_mut() else { return Ok(Some(done)) };
                top.items.push(done);
                if top.items.len() < top.elements {
                    break;
                }
                done = self.stack.pop().expect("top exists").finish();
            }
        }
    }

    /// The line starting at `from`, without its CRLF, and the position after it.
    fn line_at(&self, from: usize) -> Option<(&[u8], usize)> {
        let rest = self.buf.get(from..)?;
        let cr = rest.windows(2).position(|w| w == b"\r\n")?;
        Some((&rest[..cr], from + cr + 2))
    }

    fn next_item(&mut self) -> Result<Option<Item>, ProtocolError> {
        let Some(&kind) = self.buf.get(self.pos) else { return Ok(None) };
        let Some((line, after)) = self.line_at(self.pos + 1) else {
            // An unknown type byte is refused as soon as it arrives, as hiredis does.
            return match kind {
                b'-' | b'+' | b':' | b',' | b'_' | b'$' | b'*' | b'%' | b'~' | b'#' | b'=' | b'>' | b'(' => Ok(None),
                other => Err(protocol_byte(other)),
            };
        };
        let err = |m: &str| Err(ProtocolError(m.to_string()));
        let item = match kind {
            b'+' | b'-' => {
                let text = line.to_vec();
                if kind == b'+' {
                    Item::Scalar(Reply::Status(text))
                } else {
                    Item::Scalar(Reply::Error(text))
                }
            }
            b':' => match string2ll(line) {
                Some(v) => Item::Scalar(Reply::Integer(v)),
                None => return err("Bad integer value"),
            },
            b',' => {
                if line.len() >= 326 {
                    return err("Double value is too large");
                }
                if !valid_double(line) {
                    return err("Bad double value");
                }
                Item::Scalar(Reply::Double(line.to_vec()))
            }
            b'_' => {
                if !line.is_empty() {
                    return err("Bad nil value");
                }
                Item::Scalar(Reply::Nil)
            }
            b'#' => match line {
                b"t" | b"T" => Item::Scalar(Reply::Bool(true)),
                b"f" | b"F" => Item::Scalar(Reply::Bool(false)),
                _ => return err("Bad bool value"),
            },
            b'(' => {
                let digits = line.strip_prefix(b"-").unwrap_or(line);
                if !digits.iter().all(u8::is_ascii_digit) {
                    return err("Bad bignum value");
                }
                Item::Scalar(Reply::BigNumber(line.to_vec()))
            }
            b'$' | b'=' => {
                let Some(len) = string2ll(line) else { return err("Bad bulk string length") };
                if len < -1 {
                    return err("Bulk string length out of range");
                }
                if len == -1 {
                    Item::Scalar(Reply::Nil)
                } else {
                    let len = len as usize;
                    if self.buf.len() < after + len + 2 {
                        return Ok(None);
                    }
                    let body = &self.buf[after..after + len];
                    let reply = if kind == b'$' {
                        Reply::String(body.to_vec())
                    } else {
                        if len < 4 || body[3] != b':' {
                            return err("Verbatim string 4 bytes of content type are missing or incorrectly encoded.");
                        }
                        Reply::Verbatim(body[4..].to_vec())
                    };
                    self.pos = after + len + 2;
                    return Ok(Some(Item::Scalar(reply)));
                }
            }
            b'*' | b'%' | b'~' | b'>' => {
                let Some(n) = string2ll(line) else { return err("Bad multi-bulk length") };
                if n < -1 || n > u32::MAX as i64 {
                    return err("Multi-bulk length out of range");
                }
                if n == -1 {
                    Item::Scalar(Reply::Nil)
                } else {
                    let agg = match kind {
                        b'*' => Aggregate::Array,
                        b'%' => Aggregate::Map,
                        b'~' => Aggregate::Set,
                        _ => Aggregate::Push,
                    };
                    let n = n as usize;
                    Item::Header(agg, if matches!(agg, Aggregate::Map) { n * 2 } else { n })
                }
            }
            other => return Err(protocol_byte(other)),
        };
        self.pos = after;
        Ok(Some(item))
    }
}

/// hiredis's `__redisReaderSetErrorProtocolByte`, with `chrtos`'s quoting.
fn protocol_byte(byte: u8) -> ProtocolError {
    let shown = match byte {
        b'\\' | b'"' => format!("\"\\{}\"", byte as char),
        b'\n' => "\"\\n\"".to_string(),
        b'\r' => "\"\\r\"".to_string(),
        b'\t' => "\"\\t\"".to_string(),
        7 => "\"\\a\"".to_string(),
        8 => "\"\\b\"".to_string(),
        c if (0x20..0x7f).contains(&c) => format!("\"{}\"", c as char),
        c => format!("\"\\x{:02x}\"", c),
    };
    ProtocolError(format!("Protocol error, got {} as reply type byte", shown))
}

/// Redis's `string2ll`: an optional minus, digits, no leading zeros, no overflow.
fn string2ll(s: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(s).ok()?;
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // "0" alone; never "01" or "-0".
    if digits.starts_with('0') && text != "0" {
        return None;
    }
    text.parse().ok()
}

/// What hiredis accepts after `,`: `inf`, `-inf`, or a finite number `strtod` reads whole.
fn valid_double(s: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(s) else { return false };
    if text.eq_ignore_ascii_case("inf") || text.eq_ignore_ascii_case("-inf") {
        return true;
    }
    if text.is_empty() || text.starts_with(char::is_whitespace) {
        return false;
    }
    matches!(text.parse::<f64>(), Ok(d) if d.is_finite())
        && text.bytes().all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(wire: &[u8]) -> Vec<Reply> {
        let mut r = ReplyReader::new();
        let mut out = Vec::new();
        // One byte at a time: the reader must never lose or re-read a piece.
        for b in wire {
            r.feed(&[*b]);
            while let Some(reply) = r.next_reply().unwrap() {
                out.push(reply);
            }
        }
        out
    }

    #[test]
    fn scalars_and_nested_aggregates_byte_by_byte() {
        let wire = b"+OK\r\n-ERR x\r\n:-5\r\n$-1\r\n*-1\r\n_\r\n,3.141\r\n#t\r\n(12345\r\n=9\r\ntxt:hello\r\n\
                     *2\r\n*1\r\n$1\r\na\r\n*0\r\n%1\r\n$1\r\nk\r\n~1\r\n:1\r\n";
        let s = |x: &str| x.as_bytes().to_vec();
        assert_eq!(
            parse_all(wire),
            vec![
                Reply::Status(s("OK")),
                Reply::Error(s("ERR x")),
                Reply::Integer(-5),
                Reply::Nil,
                Reply::Nil,
                Reply::Nil,
                Reply::Double(s("3.141")),
                Reply::Bool(true),
                Reply::BigNumber(s("12345")),
                Reply::Verbatim(s("hello")),
                Reply::Array(vec![Reply::Array(vec![Reply::String(s("a"))]), Reply::Array(vec![])]),
                Reply::Map(vec![Reply::String(s("k")), Reply::Set(vec![Reply::Integer(1)])]),
            ]
        );
    }

    #[test]
    fn refuses_what_hiredis_refuses() {
        let mut r = ReplyReader::new();
        r.feed(b"|1\r\n");
        assert_eq!(r.next_reply(), Err(ProtocolError("Protocol error, got \"|\" as reply type byte".into())));
        let mut r = ReplyReader::new();
        r.feed(b"\x01");
        assert_eq!(r.next_reply(), Err(ProtocolError("Protocol error, got \"\\x01\" as reply type byte".into())));
        let mut r = ReplyReader::new();
        r.feed(b":01\r\n");
        assert_eq!(r.next_reply(), Err(ProtocolError("Bad integer value".into())));
    }
}
