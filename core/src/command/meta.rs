//! Command metadata and the `COMMAND` command.
//!
//! Redis describes every command to clients: its arity (`2` = exactly two words including the
//! name, `-3` = at least three), flags (`write`, `readonly`, `fast`, `denyoom`…), where its keys
//! are (`first_key`, `last_key`, `key_step`, and since 7.0 the richer *key specs*), and its
//! ACL categories. Cluster clients use key positions to route a command to the node owning the
//! key's slot; redis-cli uses them for hints. The metadata itself is in the generated
//! [`super::table`]; this module renders it for `COMMAND INFO`, `COMMAND DOCS` and
//! `COMMAND GETKEYS`.

use crate::resp::ReplyBuf;
use bytes::Bytes;

/// A node of a key-spec tree, rendered as RESP (maps become flat arrays in RESP2).
#[derive(Debug)]
pub enum Meta {
    Int(i64),
    Str(&'static str),
    /// A status reply (`+RW`), as the flags inside key specs are sent.
    Status(&'static str),
    Arr(&'static [Meta]),
    /// A set (`~` in RESP3, an array in RESP2), as key-spec flags are sent.
    Set(&'static [Meta]),
    Map(&'static [(&'static str, Meta)]),
}

impl Meta {
    pub fn reply(&self, r: &mut ReplyBuf) {
        match self {
            Meta::Int(i) => r.int(*i),
            Meta::Str(s) => r.bulk_str(s),
            Meta::Status(s) => r.simple(s),
            Meta::Arr(items) => {
                r.array(items.len());
                for i in items.iter() {
                    i.reply(r);
                }
            }
            Meta::Set(items) => {
                r.set(items.len());
                for i in items.iter() {
                    i.reply(r);
                }
            }
            Meta::Map(pairs) => {
                r.map(pairs.len());
                for (k, v) in pairs.iter() {
                    r.bulk_str(k);
                    v.reply(r);
                }
            }
        }
    }
    fn get(&self, key: &str) -> Option<&Meta> {
        match self {
            Meta::Map(pairs) => pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    fn int(&self, key: &str) -> Option<i64> {
        match self.get(key) {
            Some(Meta::Int(i)) => Some(*i),
            _ => None,
        }
    }
    fn str(&self, key: &str) -> Option<&'static str> {
        match self.get(key) {
            Some(Meta::Str(s)) => Some(s),
            _ => None,
        }
    }
}

/// What Redis knows about one command (or subcommand such as `config|get`).
#[derive(Debug)]
pub struct CommandMeta {
    pub name: &'static str,
    pub arity: i32,
    pub flags: &'static [&'static str],
    pub first_key: i32,
    pub last_key: i32,
    pub key_step: i32,
    pub acl_categories: &'static [&'static str],
    pub tips: &'static [&'static str],
    pub key_specs: &'static [Meta],
    pub summary: &'static str,
    pub since: &'static str,
    pub group: &'static str,
    pub complexity: &'static str,
    pub subcommands: &'static [CommandMeta],
}

impl CommandMeta {
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.contains(&flag)
    }

    /// Arity check: positive = exact word count, negative = at least that many.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let a = self.arity;
        (a > 0 && argc == a as usize) || (a < 0 && argc >= (-a) as usize)
    }

    pub fn subcommand(&self, sub: &[u8]) -> Option<&'static CommandMeta> {
        let prefix_len = self.name.len() + 1;
        self.subcommands
            .iter()
            .find(|s| s.name.len() > prefix_len && s.name.as_bytes()[prefix_len..].eq_ignore_ascii_case(sub))
    }

    /// `COMMAND INFO` entry: name, arity, flags, first, last, step, categories, tips, key
    /// specs, subcommands.
    pub fn reply_info(&self, r: &mut ReplyBuf) {
        r.array(10);
        r.bulk_str(self.name);
        r.int(self.arity as i64);
        r.set(self.flags.len());
        for f in self.flags {
            r.simple(f);
        }
        r.int(self.first_key as i64);
        r.int(self.last_key as i64);
        r.int(self.key_step as i64);
        r.set(self.acl_categories.len());
        for c in self.acl_categories {
            r.simple(c);
        }
        r.set(self.tips.len());
        for t in self.tips {
            r.bulk_str(t);
        }
        r.set(self.key_specs.len());
        for k in self.key_specs {
            k.reply(r);
        }
        // An empty set, but subcommands as an array (7.0's `addReplyCommandSubCommands`).
        if self.subcommands.is_empty() {
            r.set(0);
        } else {
            r.array(self.subcommands.len());
        }
        for s in self.subcommands {
            s.reply_info(r);
        }
    }

    /// `COMMAND DOCS` entry (without the argument trees).
    pub fn reply_docs(&self, r: &mut ReplyBuf) {
        let mut n = 3;
        if !self.complexity.is_empty() {
            n += 1;
        }
        if !self.subcommands.is_empty() {
            n += 1;
        }
        r.map(n);
        r.bulk_str("summary");
        r.bulk_str(self.summary);
        r.bulk_str("since");
        r.bulk_str(self.since);
        r.bulk_str("group");
        r.bulk_str(self.group);
        if !self.complexity.is_empty() {
            r.bulk_str("complexity");
            r.bulk_str(self.complexity);
        }
        if !self.subcommands.is_empty() {
            r.bulk_str("subcommands");
            r.map(self.subcommands.len());
            for s in self.subcommands {
                r.bulk_str(s.name);
                s.reply_docs(r);
            }
        }
    }

    /// The positions of the keys in `args` (args[0] is the command name), following the key
    /// specs the way Redis's `getKeysUsingKeySpecs` does, falling back to first/last/step.
    pub fn key_positions(&self, args: &[Bytes]) -> Vec<usize> {
        self.key_positions_as(args, false).unwrap_or_default()
    }

    /// Like [`CommandMeta::key_positions`], but `None` when a key spec does not fit the
    /// arguments (a key count that is not a non-negative integer, or keys past the end):
    /// what `COMMAND GETKEYS` calls "Invalid arguments specified for command".
    pub fn key_positions_strict(&self, args: &[Bytes]) -> Option<Vec<usize>> {
        self.key_positions_as(args, true)
    }

    fn key_positions_as(&self, args: &[Bytes], strict: bool) -> Option<Vec<usize>> {
        let mut out = Vec::new();
        if self.key_specs.is_empty() {
            if self.first_key > 0 {
                push_range(&mut out, args.len(), self.first_key as usize, self.last_key, self.key_step.max(1) as usize);
            }
            return Some(out);
        }
        for spec in self.key_specs {
            let Some(begin) = spec.get("begin_search") else { continue };
            let bspec = begin.get("spec");
            let first = match begin.str("type") {
                Some("index") => bspec.and_then(|s| s.int("index")).unwrap_or(0) as usize,
                Some("keyword") => {
                    let Some(bs) = bspec else { continue };
                    let kw = bs.str("keyword").unwrap_or("");
                    let start = bs.int("startfrom").unwrap_or(1);
                    let found = if start >= 0 {
                        (start as usize..args.len()).find(|&i| args[i].eq_ignore_ascii_case(kw.as_bytes()))
                    } else {
                        let from = args.len() as i64 + start;
                        (1..=from.max(0) as usize).rev().find(|&i| args[i].eq_ignore_ascii_case(kw.as_bytes()))
                    };
                    match found {
                        Some(i) => i + 1,
                        None => continue,
                    }
                }
                _ => continue,
            };
            if first == 0 || first >= args.len() {
                if strict && first >= args.len() {
                    return None;
                }
                continue;
            }
            let Some(find) = spec.get("find_keys") else { continue };
            let fspec = find.get("spec");
            match find.str("type") {
                Some("range") => {
                    let fs = fspec.unwrap_or(&Meta::Int(0));
                    let last = fs.int("lastkey").unwrap_or(0) as i32;
                    let step = fs.int("keystep").unwrap_or(1).max(1) as usize;
                    let limit = fs.int("limit").unwrap_or(0);
                    let last_abs = if last >= 0 {
                        first as i64 + last as i64
                    } else if last == -1 && limit > 1 {
                        let remaining = (args.len() - first) as i64;
                        first as i64 + remaining / limit - 1
                    } else {
                        args.len() as i64 + last as i64
                    };
                    let mut i = first;
                    while (i as i64) <= last_abs && i < args.len() {
                        out.push(i);
                        i += step;
                    }
                }
                Some("keynum") => {
                    let Some(fs) = fspec else { continue };
                    let numidx = fs.int("keynumidx").unwrap_or(0) as usize;
                    let firstkey = fs.int("firstkey").unwrap_or(1) as usize;
                    let step = fs.int("keystep").unwrap_or(1).max(1) as usize;
                    let n = args.get(first + numidx).and_then(|a| crate::resp::parse_i64(a)).filter(|&n| n >= 0);
                    let Some(n) = n else {
                        if strict {
                            return None;
                        }
                        continue;
                    };
                    // `getKeysUsingKeySpecs`: `last = first + (int)numkeys - 1`, the count
                    // truncated to a C int (so 2^63-1 is -1) and the step not counted.
                    let start = (first + firstkey) as i64;
                    let last = start + (n as i32) as i64 - 1;
                    if strict && (last >= args.len() as i64 || last < start) {
                        return None;
                    }
                    let mut i = first + firstkey;
                    for _ in 0..n.max(0) {
                        if i >= args.len() {
                            break;
                        }
                        out.push(i);
                        i += step;
                    }
                }
                _ => {}
            }
        }
        Some(out)
    }
}

fn push_range(out: &mut Vec<usize>, argc: usize, first: usize, last: i32, step: usize) {
    let last = if last < 0 { argc as i64 + last as i64 } else { last as i64 };
    let mut i = first;
    while (i as i64) <= last && i < argc {
        out.push(i);
        i += step;
    }
}

/// Look a command up in the generated table by (case-insensitive) name.
pub fn lookup_meta(name: &[u8]) -> Option<&'static CommandMeta> {
    super::table::COMMANDS
        .binary_search_by(|c| cmp_ignore_case(c.name.as_bytes(), name))
        .ok()
        .map(|i| &super::table::COMMANDS[i])
}

fn cmp_ignore_case(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let la = a.iter().map(u8::to_ascii_lowercase);
    let lb = b.iter().map(u8::to_ascii_lowercase);
    la.cmp(lb)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<Bytes> {
        s.split(' ').map(|w| Bytes::copy_from_slice(w.as_bytes())).collect()
    }

    #[test]
    fn table_is_sorted_and_complete() {
        let t = super::super::table::COMMANDS;
        assert!(t.windows(2).all(|w| w[0].name < w[1].name));
        assert_eq!(lookup_meta(b"GET").unwrap().arity, 2);
        assert_eq!(lookup_meta(b"set").unwrap().arity, -3);
        assert!(lookup_meta(b"config").unwrap().subcommand(b"GET").is_some());
    }

    #[test]
    fn key_positions_follow_key_specs() {
        let set = lookup_meta(b"set").unwrap();
        assert_eq!(set.key_positions(&args("SET a b")), vec![1]);
        let mset = lookup_meta(b"mset").unwrap();
        assert_eq!(mset.key_positions(&args("MSET a 1 b 2")), vec![1, 3]);
        let zunion = lookup_meta(b"zunionstore").unwrap();
        assert_eq!(zunion.key_positions(&args("ZUNIONSTORE d 2 a b WEIGHTS 1 2")), vec![1, 3, 4]);
        let blpop = lookup_meta(b"blpop").unwrap();
        assert_eq!(blpop.key_positions(&args("BLPOP a b 0")), vec![1, 2]);
        let del = lookup_meta(b"del").unwrap();
        assert_eq!(del.key_positions(&args("DEL a b c")), vec![1, 2, 3]);
    }
}
