//! The REPL: redis-cli's `repl()`, which also runs commands piped on stdin.
//!
//! With no command on the command line, redis-cli reads lines — from a terminal, after a
//! prompt (`127.0.0.1:6379> `, `127.0.0.1:6379[2]> `, `127.0.0.1:6379(TX)> `,
//! `not connected> `), or from a pipe, silently, one line each (linenoise's
//! `linenoiseNoTTY`) — and runs each as it is read:
//!
//! ```text
//! SET k "hello world"        split as sdssplitargs splits: "…" with \n \t \xHH escapes,
//! SET k 'it''s'              '…' with only \' — an unbalanced quote: Invalid argument(s)
//! 3 INCR n                   a leading number repeats the command (0 or less: refused)
//! connect 127.0.0.1 7001     a new connection (the prompt follows it)
//! quit | exit                leave (as does the end of input)
//! :set hints                 preferences (hints have no meaning here: accepted, ignored)
//! help                       redis-cli's own help text
//! ```
//!
//! Everything else goes to the server through [`Session::issue`]. Piped input is "interactive"
//! for redis-cli: errors do not end it, `-> Redirected to slot …` is printed under `-c`, and a
//! lost connection is reported and reopened for the next line. This reader has no line editing
//! of its own (linenoise's history and hints): a terminal's own line discipline edits the line.

use super::session::{elapsed_note, Session};
use halab_core::resp::split_args;
use std::io::BufRead;
use std::time::Instant;

/// What one input line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum LineAction {
    /// Empty, or only spaces: nothing happens.
    Nothing,
    /// Unbalanced quotes: `Invalid argument(s)`.
    InvalidArguments,
    /// A repeat count of 0, a negative one, or one out of range.
    InvalidRepeat,
    Quit,
    Clear,
    /// `connect host port`.
    Connect(String, i64),
    /// `:set …` and other lines starting with a colon: the text to print, if any.
    Preference(Option<String>),
    /// `restart` outside the Lua debugger.
    Restart,
    Command {
        repeat: i64,
        argv: Vec<Vec<u8>>,
    },
}

/// Read one line as redis-cli's `repl()` reads it.
pub fn parse_line(line: &[u8]) -> LineAction {
    if line.first().is_none_or(|&c| c == 0) {
        return LineAction::Nothing;
    }
    let Some(argv) = split_args(line) else { return LineAction::InvalidArguments };
    if argv.is_empty() {
        return LineAction::Nothing;
    }
    let mut repeat = 1;
    let mut skip = 0;
    if argv.len() > 1 {
        if let Some(n) = strtol_whole(&argv[0]) {
            match n {
                Some(n) if n > 0 => {
                    repeat = n;
                    skip = 1;
                }
                _ => return LineAction::InvalidRepeat,
            }
        }
    }
    let first = &argv[0];
    if first.eq_ignore_ascii_case(b"quit") || first.eq_ignore_ascii_case(b"exit") {
        LineAction::Quit
    } else if first.first() == Some(&b':') {
        LineAction::Preference(preference(&argv))
    } else if first.eq_ignore_ascii_case(b"restart") {
        LineAction::Restart
    } else if argv.len() == 3 && first.eq_ignore_ascii_case(b"connect") {
        let host = String::from_utf8_lossy(&argv[1]).into_owned();
        LineAction::Connect(host, super::redirect::atoi(&String::from_utf8_lossy(&argv[2])))
    } else if argv.len() == 1 && first.eq_ignore_ascii_case(b"clear") {
        LineAction::Clear
    } else {
        LineAction::Command { repeat, argv: argv[skip..].to_vec() }
    }
}

/// `cliSetPreferences`.
fn preference(argv: &[Vec<u8>]) -> Option<String> {
    let word = |i: usize| String::from_utf8_lossy(&argv[i]).into_owned();
    if argv[0].eq_ignore_ascii_case(b":set") && argv.len() >= 2 {
        if argv[1].eq_ignore_ascii_case(b"hints") || argv[1].eq_ignore_ascii_case(b"nohints") {
            None
        } else {
            Some(format!("unknown redis-cli preference '{}'\n", word(1)))
        }
    } else {
        Some(format!("unknown redis-cli internal command '{}'\n", word(0)))
    }
}

/// C's `strtol(s, &end, 10)` when it reads the whole string (`*end == '\0'`): `None` when
/// it stops early (not a number), `Some(None)` on overflow, `Some(Some(n))` otherwise. As
/// in C, the empty string is read whole, as 0.
fn strtol_whole(s: &[u8]) -> Option<Option<i64>> {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let negative = s.get(i) == Some(&b'-');
    if matches!(s.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let digits_start = i;
    while i < s.len() && s[i].is_ascii_digit() {
        i += 1;
    }
    if i == digits_start {
        // No digits: strtol leaves `end` at the start, which is the end only for "".
        return s.is_empty().then_some(Some(0));
    }
    if i != s.len() {
        return None;
    }
    let text = std::str::from_utf8(&s[digits_start..i]).ok()?;
    Some(text.parse::<i64>().ok().map(|v| if negative { -v } else { v }))
}

/// Run the REPL until the input ends or `quit`. The session is connected (or tried to) by
/// the caller. Returns the exit code.
pub fn run(session: &mut Session) -> i32 {
    session.interactive = true;
    // SAFETY: isatty only inspects the descriptor.
    let terminal = unsafe { libc::isatty(0) } == 1;
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut line = Vec::new();
    loop {
        if terminal {
            session.emit(session.prompt().as_bytes());
        }
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return 0,
            Ok(_) => {}
        }
        if line.last() == Some(&b'\n') {
            line.pop();
            // A terminal line ends with what the terminal sent (fgets, then trimmed); a piped
            // line keeps a carriage return, which sdssplitargs then reads as a space.
            while terminal && matches!(line.last(), Some(b'\r' | b'\n')) {
                line.pop();
            }
        }
        match parse_line(&line) {
            LineAction::Nothing => {}
            LineAction::InvalidArguments => session.emit(b"Invalid argument(s)\n"),
            LineAction::InvalidRepeat => session.emit(b"Invalid redis-cli repeat command option value.\n"),
            LineAction::Quit => return 0,
            LineAction::Clear => session.emit(b"\x1b[H\x1b[2J"),
            LineAction::Preference(text) => {
                if let Some(text) = text {
                    session.emit(text.as_bytes());
                }
            }
            LineAction::Restart => session.emit(b"Use 'restart' only in Lua debugging mode.\n"),
            LineAction::Connect(host, port) => session.connect_to(&host, port),
            LineAction::Command { repeat, argv } => {
                let started = Instant::now();
                session.issue(&argv, repeat);
                if session.opts.output.mode == super::format::OutputMode::Standard {
                    if let Some(note) = elapsed_note(started) {
                        session.emit(note.as_bytes());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(repeat: i64, argv: &[&str]) -> LineAction {
        LineAction::Command { repeat, argv: argv.iter().map(|a| a.as_bytes().to_vec()).collect() }
    }

    #[test]
    fn lines_split_like_sdssplitargs() {
        assert_eq!(parse_line(b"SET k \"a b\\x41\\n\""), cmd(1, &["SET", "k", "a bA\n"]));
        assert_eq!(parse_line(b"set k 'it\\'s'"), cmd(1, &["set", "k", "it's"]));
        assert_eq!(parse_line(b"set k \"unbalanced"), LineAction::InvalidArguments);
        assert_eq!(parse_line(b"set k \"a\"b"), LineAction::InvalidArguments);
        assert_eq!(parse_line(b"   "), LineAction::Nothing);
        assert_eq!(parse_line(b""), LineAction::Nothing);
        assert_eq!(parse_line(b"get k\r"), cmd(1, &["get", "k"]));
    }

    #[test]
    fn a_leading_number_repeats() {
        assert_eq!(parse_line(b"3 incr n"), cmd(3, &["incr", "n"]));
        assert_eq!(parse_line(b"+2 ping"), cmd(2, &["ping"]));
        assert_eq!(parse_line(b"0 ping"), LineAction::InvalidRepeat);
        assert_eq!(parse_line(b"-1 ping"), LineAction::InvalidRepeat);
        assert_eq!(parse_line(b"99999999999999999999 ping"), LineAction::InvalidRepeat);
        assert_eq!(parse_line(b"\"\" ping"), LineAction::InvalidRepeat);
        assert_eq!(parse_line(b"3x ping"), cmd(1, &["3x", "ping"]));
        // A lone number is a command.
        assert_eq!(parse_line(b"3"), cmd(1, &["3"]));
    }

    #[test]
    fn the_repl_own_words() {
        assert_eq!(parse_line(b"QUIT"), LineAction::Quit);
        assert_eq!(parse_line(b"exit now"), LineAction::Quit);
        assert_eq!(parse_line(b"connect 127.0.0.1 7001"), LineAction::Connect("127.0.0.1".into(), 7001));
        assert_eq!(parse_line(b"connect 127.0.0.1"), cmd(1, &["connect", "127.0.0.1"]));
        assert_eq!(parse_line(b"clear"), LineAction::Clear);
        assert_eq!(parse_line(b":set hints"), LineAction::Preference(None));
        assert_eq!(
            parse_line(b":set colour"),
            LineAction::Preference(Some("unknown redis-cli preference 'colour'\n".into()))
        );
        assert_eq!(
            parse_line(b":set"),
            LineAction::Preference(Some("unknown redis-cli internal command ':set'\n".into()))
        );
        // A repeated quit goes to the server.
        assert_eq!(parse_line(b"2 quit"), cmd(2, &["quit"]));
    }
}
