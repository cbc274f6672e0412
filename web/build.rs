//! Generates the web app's lesson list from `../lessons/`, so that a new lesson file appears in
//! the lab without anyone typing it into a list.
//!
//! **Which files**: every `*.md` directly in `lessons/` except `README.md`, the same files CI
//! runs (`core/tests/lessons.rs`, `tests/tests/lesson_cli.rs`).
//!
//! **In what order** (the learner's, and the `N` of a `#lesson=N` link): by what the lesson's
//! `## Topology` sets up, simplest first,
//!
//! 1. one node: a single Redis process (data, passwords, config, shutdown);
//! 2. several nodes: replication;
//! 3. a sentinel: a `sentinel monitor …` line in a node's conf block;
//! 4. a cluster: a `cluster-enabled yes` line in a node's conf block;
//!
//! and within a tier by file name, digits compared as numbers. Lesson files are named after the
//! seed and the seed's section (`seed000-1.1-…`, `seed000-1.1.9-…`, `seed000-1.2.1-…`,
//! `seed001-…`), so a tier follows the tutorials' own progression, as the lessons catalog lists
//! them. Nothing is left out: a lesson whose topology says none of this (or that has no
//! `## Topology` at all, which the lesson tests reject) sorts with the one-node lessons.
//!
//! **Output**: `$OUT_DIR/lessons.rs`, a `pub const LESSONS: &[(&str, &str)]` of (file name,
//! text) pairs, each text `include_str!`-ed by absolute path, which `src/lab.rs` `include!`s.
//! A build script runs on the host also when Trunk builds the app for wasm; it finds the
//! lessons from `CARGO_MANIFEST_DIR`, not from the working directory.
//!
//! `tests/tests/lesson_cli.rs` compiles this file as a module to check that the list holds
//! every lesson file: keep it std-only, with `main` the only function that reads the
//! environment or prints cargo's instructions.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

/// The generated file's name in `OUT_DIR`.
pub const GENERATED: &str = "lessons.rs";

fn main() {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = PathBuf::from(manifest).join("../lessons");
    let dir = dir.canonicalize().unwrap_or_else(|e| panic!("{}: {}", dir.display(), e));
    let files = lesson_files(&dir);
    // A changed, added or removed lesson runs this again (a directory is scanned whole).
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", dir.display());
    for file in &files {
        println!("cargo:rerun-if-changed={}", dir.join(file).display());
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join(GENERATED);
    std::fs::write(&out, generate(&dir, &files)).unwrap_or_else(|e| panic!("{}: {}", out.display(), e));
}

/// The lesson files in `dir`, by name, in teaching order (the rule above).
pub fn lesson_files(dir: &Path) -> Vec<String> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {}", dir.display(), e));
    let mut lessons: Vec<(Tier, String)> = Vec::new();
    for entry in entries {
        let path = entry.unwrap_or_else(|e| panic!("{}: {}", dir.display(), e)).path();
        if !is_lesson(&path) {
            continue;
        }
        let name = path.file_name().and_then(|n| n.to_str());
        let name = name.unwrap_or_else(|| panic!("{}: the name is not UTF-8", path.display())).to_string();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {}", path.display(), e));
        lessons.push((tier(&text), name));
    }
    lessons.sort_by(|(ta, a), (tb, b)| ta.cmp(tb).then_with(|| natural_cmp(a, b)));
    lessons.into_iter().map(|(_, name)| name).collect()
}

/// `LESSONS`, as Rust source, for the files of `dir` in the order given.
pub fn generate(dir: &Path, files: &[String]) -> String {
    let mut out = String::from(
        "/// The lessons shipped with the app (the same files CI runs), in teaching order: generated\n\
         /// by `web/build.rs` from `lessons/`, whose header states the order.\n\
         pub const LESSONS: &[(&str, &str)] = &[\n",
    );
    for file in files {
        let path = dir.join(file);
        let path = path.to_str().unwrap_or_else(|| panic!("{}: the path is not UTF-8", path.display()));
        // `{:?}` of a str is a Rust string literal, escapes included.
        out.push_str(&format!("    ({:?}, include_str!({:?})),\n", file, path));
    }
    out.push_str("];\n");
    out
}

/// A lesson file, as CI picks them: `*.md` but the folder's README.
fn is_lesson(path: &Path) -> bool {
    path.is_file() && path.extension().is_some_and(|x| x == "md") && path.file_name().is_some_and(|n| n != "README.md")
}

/// What a lesson's topology sets up, simplest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Tier {
    OneNode,
    Replication,
    Sentinel,
    Cluster,
}

/// The tier of a lesson, read from its `## Topology` section as `core::lesson` reads it: a
/// `- node …` item per node, each optionally followed by an indented conf block.
fn tier(text: &str) -> Tier {
    let mut in_topology = false;
    let (mut nodes, mut sentinel, mut cluster) = (0, false, false);
    for line in text.lines() {
        if let Some(heading) = line.trim_end().strip_prefix("## ") {
            in_topology = matches!(heading.trim().to_lowercase().as_str(), "topology" | "拓扑");
            continue;
        }
        if !in_topology {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["-", "node", ..] => nodes += 1,
            ["sentinel", "monitor", ..] => sentinel = true,
            ["cluster-enabled", "yes"] => cluster = true,
            _ => {}
        }
    }
    if cluster {
        Tier::Cluster
    } else if sentinel {
        Tier::Sentinel
    } else if nodes > 1 {
        Tier::Replication
    } else {
        Tier::OneNode
    }
}

/// File names compared with their runs of digits as numbers (`1.9` before `1.10`), and byte
/// by byte elsewhere; names that compare equal so (`01` and `1`) fall back to plain order.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) if p.is_ascii_digit() && q.is_ascii_digit() => {
                let (m, rest_x) = split_digits(x);
                let (n, rest_y) = split_digits(y);
                let (m, n) = (trim_zeros(m), trim_zeros(n));
                let by_number = m.len().cmp(&n.len()).then_with(|| m.cmp(n));
                if by_number != Ordering::Equal {
                    return by_number;
                }
                (x, y) = (rest_x, rest_y);
            }
            (Some(p), Some(q)) => {
                if p != q {
                    return p.cmp(q);
                }
                (x, y) = (&x[1..], &y[1..]);
            }
        }
    }
}

fn split_digits(s: &[u8]) -> (&[u8], &[u8]) {
    s.split_at(s.iter().position(|c| !c.is_ascii_digit()).unwrap_or(s.len()))
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    &digits[digits.iter().position(|&c| c != b'0').unwrap_or(digits.len())..]
}
