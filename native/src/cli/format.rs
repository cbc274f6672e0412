//! How redis-cli prints a reply: `cliFormatReply` picks one of its formatters by the output
//! mode, and this file follows each of them.
//!
//! * **Standard** (`cliFormatReplyTTY`), the default when stdout is a terminal, or forced with
//!   `--no-raw`: strings quoted by `sdscatrepr`, every type named, aggregates numbered.
//!
//!   ```text
//!   OK                       +OK
//!   "v"                      $1 v
//!   (integer) 1              :1
//!   (nil)                    $-1, *-1, _
//!   (error) ERR wrong        -ERR wrong
//!   (empty array)            *0
//!   1) "a"                   *2 $1 a *2 $1 b $1 c
//!   2) 1) "b"                (a nested aggregate indents by its parent's index width + 2)
//!      2) "c"
//!   1# "k" => (integer) 1    %1 (maps: `#`; sets: `~`)
//!   ```
//!
//! * **Raw** (`cliFormatReplyRaw`), the default when stdout is not a terminal, or `--raw`:
//!   bytes as they came, nil as nothing, aggregates flattened with `-d` (default `\n`)
//!   between elements, and `-D` (default `\n`) after each reply. Errors are printed like any
//!   string, on stdout: `ERR wrong`.
//! * **CSV** (`cliFormatReplyCSV`, `--csv`): one line per reply, elements comma-separated.
//!
//! A few commands (`INFO`, `CLIENT LIST`, `CLUSTER NODES`, … — [`prints_verbatim`]) print
//! their reply raw in every mode and without the `-D` delimiter: their text is meant for
//! humans already.
//!
//! hiredis's reply types that redis-cli 7.0 has no formatter for (the RESP3 big number) end
//! the program with `Unknown reply type: 13`, as redis-cli does; [`UnknownType`] carries it.

use super::reply::Reply;
use halab_core::resp::repr;

/// `config.output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    Standard,
    Raw,
    Csv,
}

/// A reply type redis-cli cannot print: it writes `Unknown reply type: N` and exits 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownType(pub i32);

/// The output settings: the mode, `-d` (between elements of a raw aggregate) and `-D`
/// (after every raw reply).
#[derive(Debug, Clone)]
pub struct Output {
    pub mode: OutputMode,
    pub element_delimiter: Vec<u8>,
    pub reply_delimiter: Vec<u8>,
}

impl Output {
    pub fn new(mode: OutputMode) -> Output {
        Output { mode, element_delimiter: b"\n".to_vec(), reply_delimiter: b"\n".to_vec() }
    }

    /// `cliFormatReply`: `verbatim` is set for the commands of [`prints_verbatim`].
    pub fn format(&self, reply: &Reply, verbatim: bool) -> Result<Vec<u8>, UnknownType> {
        let mut out = Vec::new();
        if verbatim {
            self.raw(reply, &mut out)?;
            return Ok(out);
        }
        match self.mode {
            OutputMode::Standard => tty(reply, b"", &mut out)?,
            OutputMode::Raw => {
                self.raw(reply, &mut out)?;
                out.extend_from_slice(&self.reply_delimiter);
            }
            OutputMode::Csv => {
                csv(reply, &mut out)?;
                out.push(b'\n');
            }
        }
        Ok(out)
    }

    /// A RESP3 push that arrives outside a reply, printed when stdout is a terminal
    /// (`cliPushHandler`): client-side caching's `invalidate` gets a line of its own.
    pub fn format_push(&self, reply: &Reply) -> Result<Vec<u8>, UnknownType> {
        if self.mode == OutputMode::Standard {
            if let Some(keys) = invalidated_keys(reply) {
                let mut out = b"-> invalidate: ".to_vec();
                for (i, key) in keys.iter().enumerate() {
                    out.push(b'\'');
                    out.extend_from_slice(cstr(key));
                    out.push(b'\'');
                    if i + 1 < keys.len() {
                        out.extend_from_slice(b", ");
                    }
                }
                out.push(b'\n');
                return Ok(out);
            }
        }
        self.format(reply, false)
    }

    /// `cliFormatReplyRaw`.
    fn raw(&self, reply: &Reply, out: &mut Vec<u8>) -> Result<(), UnknownType> {
        match reply {
            Reply::Nil => {}
            Reply::Error(s) => {
                out.extend_from_slice(s);
                out.push(b'\n');
            }
            Reply::Status(s) | Reply::String(s) | Reply::Verbatim(s) | Reply::Double(s) => out.extend_from_slice(s),
            Reply::Bool(b) => out.extend_from_slice(if *b { b"(true)" } else { b"(false)" }),
            Reply::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
            Reply::Array(items) | Reply::Set(items) | Reply::Push(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.extend_from_slice(&self.element_delimiter);
                    }
                    self.raw(item, out)?;
                }
            }
            Reply::Map(items) => {
                for (i, pair) in items.chunks(2).enumerate() {
                    if i > 0 {
                        out.extend_from_slice(&self.element_delimiter);
                    }
                    self.raw(&pair[0], out)?;
                    out.push(b' ');
                    if let Some(v) = pair.get(1) {
                        self.raw(v, out)?;
                    }
                }
            }
            Reply::BigNumber(_) => return Err(UnknownType(reply.type_code())),
        }
        Ok(())
    }
}

/// The commands redis-cli prints raw whatever the mode (`cliSendCommand`'s `output_raw`).
pub fn prints_verbatim(argv: &[Vec<u8>]) -> bool {
    let is = |i: usize, w: &str| argv.get(i).is_some_and(|a| a.eq_ignore_ascii_case(w.as_bytes()));
    let n = argv.len();
    is(0, "info")
        || is(0, "lolwut")
        || (n >= 2 && is(0, "debug") && (is(1, "htstats") || is(1, "htstats-key") || is(1, "client-eviction")))
        || (n >= 2 && is(0, "memory") && (is(1, "malloc-stats") || is(1, "doctor")))
        || (n == 2 && is(0, "cluster") && (is(1, "nodes") || is(1, "info")))
        || (n >= 2 && is(0, "client") && (is(1, "list") || is(1, "info")))
        || (n == 3 && is(0, "latency") && is(1, "graph"))
        || (n == 2 && is(0, "latency") && is(1, "doctor"))
        || (n >= 2 && is(0, "proxy") && is(1, "info"))
}

/// Up to the first NUL: where C's `%s` and `sdscat` stop.
fn cstr(s: &[u8]) -> &[u8] {
    match s.iter().position(|&c| c == 0) {
        Some(nul) => &s[..nul],
        None => s,
    }
}

/// `cliFormatReplyTTY`. `prefix` is the indentation of every line of an aggregate but its
/// first (the parent already wrote the first line's index).
fn tty(reply: &Reply, prefix: &[u8], out: &mut Vec<u8>) -> Result<(), UnknownType> {
    match reply {
        Reply::Error(s) => {
            out.extend_from_slice(b"(error) ");
            out.extend_from_slice(cstr(s));
            out.push(b'\n');
        }
        Reply::Status(s) => {
            out.extend_from_slice(cstr(s));
            out.push(b'\n');
        }
        Reply::Integer(i) => out.extend_from_slice(format!("(integer) {}\n", i).as_bytes()),
        Reply::Double(s) => {
            out.extend_from_slice(b"(double) ");
            out.extend_from_slice(cstr(s));
            out.push(b'\n');
        }
        Reply::String(s) => {
            out.extend_from_slice(repr(s).as_bytes());
            out.push(b'\n');
        }
        Reply::Verbatim(s) => {
            out.extend_from_slice(s);
            out.push(b'\n');
        }
        Reply::Nil => out.extend_from_slice(b"(nil)\n"),
        Reply::Bool(b) => out.extend_from_slice(if *b { b"(true)\n" } else { b"(false)\n" }),
        Reply::Array(items) | Reply::Set(items) | Reply::Push(items) | Reply::Map(items) => {
            if items.is_empty() {
                out.extend_from_slice(match reply {
                    Reply::Array(_) => b"(empty array)\n".as_slice(),
                    Reply::Map(_) => b"(empty hash)\n",
                    Reply::Set(_) => b"(empty set)\n",
                    _ => b"(empty push)\n",
                });
                return Ok(());
            }
            let is_map = matches!(reply, Reply::Map(_));
            let count = if is_map { items.len() / 2 } else { items.len() };
            let width = count.to_string().len();
            // Nested aggregates indent by the index's width and the two characters after it.
            let mut nested = prefix.to_vec();
            nested.extend(std::iter::repeat_n(b' ', width + 2));
            let sep = match reply {
                Reply::Set(_) => '~',
                Reply::Map(_) => '#',
                _ => ')',
            };
            let mut i = 0;
            while i < items.len() {
                let human = if is_map { i / 2 } else { i } + 1;
                if i > 0 {
                    out.extend_from_slice(prefix);
                }
                out.extend_from_slice(format!("{:>width$}{} ", human, sep).as_bytes());
                tty(&items[i], &nested, out)?;
                if is_map {
                    i += 1;
                    // The key's newline gives way to ` => ` and the value.
                    out.pop();
                    out.extend_from_slice(b" => ");
                    if let Some(value) = items.get(i) {
                        if is_multiline(value) {
                            // A multi-line value starts on a line of its own, aligned.
                            out.push(b'\n');
                            out.extend_from_slice(&nested);
                        }
                        tty(value, &nested, out)?;
                    }
                }
                i += 1;
            }
        }
        Reply::BigNumber(_) => return Err(UnknownType(reply.type_code())),
    }
    Ok(())
}

/// `cliIsMultilineValueTTY`: whether [`tty`] prints the reply on more than one line.
fn is_multiline(reply: &Reply) -> bool {
    match reply {
        Reply::Array(items) | Reply::Set(items) | Reply::Push(items) => match items.len() {
            0 => false,
            1 => is_multiline(&items[0]),
            _ => true,
        },
        Reply::Map(items) => match items.len() {
            0 => false,
            1 | 2 => items.get(1).is_some_and(is_multiline),
            _ => true,
        },
        _ => false,
    }
}

/// `cliFormatReplyCSV`.
fn csv(reply: &Reply, out: &mut Vec<u8>) -> Result<(), UnknownType> {
    match reply {
        Reply::Error(s) => {
            out.extend_from_slice(b"ERROR,");
            out.extend_from_slice(repr(cstr(s)).as_bytes());
        }
        Reply::Status(s) | Reply::String(s) | Reply::Verbatim(s) => out.extend_from_slice(repr(s).as_bytes()),
        Reply::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Reply::Double(s) => out.extend_from_slice(cstr(s)),
        Reply::Nil => out.extend_from_slice(b"NULL"),
        Reply::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Reply::Array(items) | Reply::Set(items) | Reply::Push(items) | Reply::Map(items) => {
            for (i, item) in items.iter().enumerate() {
                csv(item, out)?;
                if i + 1 != items.len() {
                    out.push(b',');
                }
            }
        }
        Reply::BigNumber(_) => return Err(UnknownType(reply.type_code())),
    }
    Ok(())
}

/// `isInvalidateReply`: `>2 "invalidate" [keys]`, the keys when it is one.
fn invalidated_keys(reply: &Reply) -> Option<Vec<&[u8]>> {
    let Reply::Push(items) = reply else { return None };
    match items.as_slice() {
        [Reply::String(kind), Reply::Array(keys)] if kind.starts_with(b"invalidate") => keys
            .iter()
            .map(|k| match k {
                Reply::String(s) => Some(s.as_slice()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Reply {
        Reply::String(x.as_bytes().to_vec())
    }

    fn tty_text(r: &Reply) -> String {
        String::from_utf8(Output::new(OutputMode::Standard).format(r, false).unwrap()).unwrap()
    }

    #[test]
    fn nested_arrays_indent_by_the_index_width() {
        let items: Vec<Reply> = (0..10).map(|i| s(&i.to_string())).collect();
        let r = Reply::Array(vec![s("a"), Reply::Array(vec![s("b"), Reply::Array(items)]), Reply::Array(vec![])]);
        let text = tty_text(&r);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "1) \"a\"");
        assert_eq!(lines[1], "2) 1) \"b\"");
        assert_eq!(lines[2], "   2)  1) \"0\"");
        assert_eq!(lines[3], "       2) \"1\"");
        assert_eq!(lines[11], "      10) \"9\"");
        assert_eq!(lines[12], "3) (empty array)");
    }

    #[test]
    fn maps_put_multiline_values_on_their_own_line() {
        let r = Reply::Map(vec![s("k"), Reply::Integer(1), s("l"), Reply::Array(vec![s("x"), s("y")])]);
        assert_eq!(tty_text(&r), "1# \"k\" => (integer) 1\n2# \"l\" => \n   1) \"x\"\n   2) \"y\"\n");
    }

    #[test]
    fn raw_flattens_and_prints_errors_bare() {
        let out = Output::new(OutputMode::Raw);
        let r = Reply::Array(vec![s("a"), Reply::Nil, Reply::Array(vec![Reply::Integer(2)])]);
        assert_eq!(out.format(&r, false).unwrap(), b"a\n\n2\n");
        assert_eq!(out.format(&Reply::Error(b"ERR x".to_vec()), false).unwrap(), b"ERR x\n\n");
        assert_eq!(out.format(&Reply::BigNumber(b"1".to_vec()), false), Err(UnknownType(13)));
    }
}
