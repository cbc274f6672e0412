//! `help <command>` and `help @<group>`: redis-cli 7.0 builds its help from the server's own
//! `COMMAND DOCS` (`cliInitHelp`), so the help always matches the server it talks to.
//!
//! ```text
//! 127.0.0.1:6379> help set
//!
//!   SET key value [NX|XX] [GET] [EX seconds|PX milliseconds|…|KEEPTTL]
//!   summary: Set the string value of a key
//!   since: 1.0.0
//!   group: string
//! ```
//!
//! Each documented argument becomes a piece of that synopsis as `cliAddArgument` writes it: a
//! token before its value (`EX seconds`), `[…]` around an optional one, `a|b` for a choice,
//! ` [x ...]` after one that repeats. Entries are sorted by name; `help x y` prints every
//! entry whose words start with `x y`; `help @string` every command of the group, without the
//! group line. Names are bold and arguments grey, in the same escape sequences and `\r\n` line
//! ends as redis-cli. Without a connection redis-cli falls back to a table compiled into it;
//! halab cli has none and prints only the final empty line.

use super::reply::Reply;

/// One command's (or subcommand's) help: redis-cli's `helpEntry`.
#[derive(Debug, Clone)]
pub struct HelpEntry {
    /// `SET`, or `CONFIG` `GET` for a subcommand.
    pub words: Vec<String>,
    pub params: String,
    pub summary: String,
    pub since: Option<String>,
    pub group: String,
}

impl HelpEntry {
    fn full(&self) -> String {
        self.words.join(" ")
    }
}

/// The pairs of a map, whether RESP3 sent a map or RESP2 a flat array.
fn pairs(r: &Reply) -> Vec<(&[u8], &Reply)> {
    match r {
        Reply::Map(items) | Reply::Array(items) => items
            .chunks(2)
            .filter_map(|kv| match kv {
                [Reply::String(k) | Reply::Status(k), v] => Some((k.as_slice(), v)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn text(r: &Reply) -> String {
    match r {
        Reply::String(s) | Reply::Status(s) | Reply::Verbatim(s) => String::from_utf8_lossy(s).into_owned(),
        _ => String::new(),
    }
}

fn items(r: &Reply) -> &[Reply] {
    match r {
        Reply::Array(v) | Reply::Set(v) | Reply::Map(v) => v,
        _ => &[],
    }
}

/// `sdscat_orempty`: an empty name or token shows as `""`.
fn or_empty(s: &str) -> &str {
    if s.is_empty() {
        "\"\""
    } else {
        s
    }
}

/// `cliConcatArguments`.
fn concat_arguments(arguments: &Reply, separator: &str) -> String {
    items(arguments).iter().map(argument).collect::<Vec<_>>().join(separator)
}

/// `cliAddArgument`: one argument's piece of the synopsis.
fn argument(spec: &Reply) -> String {
    let (mut name, mut kind, mut token) = (String::new(), String::new(), String::new());
    let (mut optional, mut multiple, mut multiple_token) = (false, false, false);
    let mut arguments = None;
    for (key, value) in pairs(spec) {
        match key {
            b"name" => name = text(value),
            b"token" => token = or_empty(&text(value)).to_string(),
            b"type" => kind = text(value),
            b"arguments" => arguments = Some(value),
            b"flags" => {
                for flag in items(value) {
                    match text(flag).as_str() {
                        "optional" => optional = true,
                        "multiple" => multiple = true,
                        "multiple_token" => multiple_token = true,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    let repeat = match kind.as_str() {
        "key" | "string" | "integer" | "double" | "pattern" | "unix-time" | "token" => or_empty(&name).to_string(),
        "oneof" => arguments.map(|a| concat_arguments(a, "|")).unwrap_or_default(),
        "block" => arguments.map(|a| concat_arguments(a, " ")).unwrap_or_default(),
        _ => String::new(),
    };
    if !token.is_empty() && kind != "pure-token" {
        token.push(' ');
    }
    let mut out = String::new();
    if optional {
        out.push('[');
    }
    out.push_str(&token);
    out.push_str(&repeat);
    if multiple {
        out.push_str(" [");
        if multiple_token {
            out.push_str(&token);
        }
        out.push_str(&repeat);
        out.push_str(" ...]");
    }
    if optional {
        out.push(']');
    }
    out
}

/// `cliInitCommandHelpEntry`, for a command and, recursively, its subcommands.
fn entries_of(command: &str, subcommand: Option<&str>, specs: &Reply, out: &mut Vec<HelpEntry>) {
    let mut words = vec![command.to_ascii_uppercase()];
    if let Some(sub) = subcommand {
        // A subcommand is named `config|get`.
        words.push(sub.split_once('|').map_or(sub, |(_, s)| s).to_ascii_uppercase());
    }
    let at = out.len();
    out.push(HelpEntry { words, params: String::new(), summary: String::new(), since: None, group: String::new() });
    for (key, value) in pairs(specs) {
        match key {
            b"summary" => out[at].summary = text(value),
            b"since" => out[at].since = Some(text(value)),
            b"group" => out[at].group = text(value),
            b"arguments" => out[at].params = concat_arguments(value, " "),
            b"subcommands" => {
                for (name, sub) in pairs(value) {
                    entries_of(command, Some(&String::from_utf8_lossy(name)), sub, out);
                }
            }
            _ => {}
        }
    }
}

/// `cliInitHelp`: every entry of a `COMMAND DOCS` reply, sorted by name.
pub fn entries(docs: &Reply) -> Vec<HelpEntry> {
    let mut out = Vec::new();
    for (name, specs) in pairs(docs) {
        entries_of(&String::from_utf8_lossy(name), None, specs, &mut out);
    }
    out.sort_by_key(HelpEntry::full);
    out
}

/// `cliOutputHelp` for a topic: the matching entries, then an empty line.
pub fn render(entries: &[HelpEntry], topic: &[Vec<u8>]) -> String {
    let topic: Vec<String> = topic.iter().map(|w| String::from_utf8_lossy(w).into_owned()).collect();
    let group = topic.first().and_then(|w| w.strip_prefix('@'));
    let mut out = String::new();
    for e in entries {
        match group {
            None => {
                let matches =
                    topic.len() <= e.words.len() && topic.iter().zip(&e.words).all(|(t, w)| t.eq_ignore_ascii_case(w));
                if matches {
                    entry(e, true, &mut out);
                }
            }
            Some(g) if g.eq_ignore_ascii_case(&e.group) => entry(e, false, &mut out),
            Some(_) => {}
        }
    }
    out.push_str("\r\n");
    out
}

/// `cliOutputCommandHelp`.
fn entry(e: &HelpEntry, with_group: bool, out: &mut String) {
    out.push_str(&format!("\r\n  \x1b[1m{}\x1b[0m \x1b[90m{}\x1b[0m\r\n", e.full(), e.params));
    out.push_str(&format!("  \x1b[33msummary:\x1b[0m {}\r\n", e.summary));
    if let Some(since) = &e.since {
        out.push_str(&format!("  \x1b[33msince:\x1b[0m {}\r\n", since));
    }
    if with_group {
        out.push_str(&format!("  \x1b[33mgroup:\x1b[0m {}\r\n", e.group));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Reply {
        Reply::String(x.as_bytes().to_vec())
    }

    fn arg(fields: &[(&str, Reply)]) -> Reply {
        Reply::Array(fields.iter().flat_map(|(k, v)| [s(k), v.clone()]).collect())
    }

    #[test]
    fn synopsis_as_cli_add_argument_writes_it() {
        let flags = |f: &[&str]| Reply::Array(f.iter().map(|x| Reply::Status(x.as_bytes().to_vec())).collect());
        let set = arg(&[
            ("summary", s("Set the string value of a key")),
            ("since", s("1.0.0")),
            ("group", s("string")),
            (
                "arguments",
                Reply::Array(vec![
                    arg(&[("name", s("key")), ("type", s("key"))]),
                    arg(&[
                        ("name", s("condition")),
                        ("type", s("oneof")),
                        ("flags", flags(&["optional"])),
                        (
                            "arguments",
                            Reply::Array(vec![
                                arg(&[("name", s("nx")), ("type", s("pure-token")), ("token", s("NX"))]),
                                arg(&[("name", s("xx")), ("type", s("pure-token")), ("token", s("XX"))]),
                            ]),
                        ),
                    ]),
                    arg(&[
                        ("name", s("seconds")),
                        ("type", s("integer")),
                        ("token", s("EX")),
                        ("flags", flags(&["optional"])),
                    ]),
                    arg(&[("name", s("field")), ("type", s("string")), ("flags", flags(&["multiple"]))]),
                ]),
            ),
        ]);
        let docs = Reply::Array(vec![s("set"), set]);
        let e = entries(&docs);
        assert_eq!(e[0].params, "key [NX|XX] [EX seconds] field [field ...]");
        let shown = render(&e, &[b"SeT".to_vec()]);
        assert!(shown.starts_with("\r\n  \x1b[1mSET\x1b[0m \x1b[90mkey [NX|XX]"), "{shown:?}");
        assert!(shown.ends_with("  \x1b[33mgroup:\x1b[0m string\r\n\r\n"), "{shown:?}");
        assert_eq!(render(&e, &[b"get".to_vec()]), "\r\n");
        assert!(!render(&e, &[b"@string".to_vec()]).contains("group:"));
    }
}
