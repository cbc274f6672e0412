//! `halab lesson run` from the command line: every lesson passes, in the simulator and against
//! live `halab server` processes; a wrong expectation fails the run with what was seen, and the
//! trace file is written.

use halab_tests::{halab_bin, TempDir};
use std::path::Path;
use std::process::Command;

fn lessons_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../lessons")
}

#[test]
fn every_lesson_file_passes_from_the_command_line() {
    let mut n = 0;
    for entry in std::fs::read_dir(lessons_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "md") || path.ends_with("README.md") {
            continue;
        }
        let out = Command::new(halab_bin()).args(["lesson", "run", path.to_str().unwrap()]).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{} failed:\n{}", path.display(), stdout);
        assert!(stdout.contains(" 0 failed"), "{}", stdout);
        n += 1;
    }
    assert!(n >= 3);
}

/// The web app lists its lessons by hand (in teaching order): a lesson file missing from that
/// list would pass CI and never appear in the lab.
#[test]
fn the_web_app_ships_every_lesson_file() {
    let lab = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/src/lab.rs")).unwrap();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(lessons_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".md") || name == "README.md" {
            continue;
        }
        if !lab.contains(&format!("include_str!(\"../../lessons/{}\")", name)) {
            missing.push(name);
        }
    }
    assert!(missing.is_empty(), "web/src/lab.rs LESSONS lacks {:?}", missing);
}

/// Every lesson, against real processes (`--live`): each run puts its nodes on its own
/// 127.x addresses, so the lessons run side by side.
#[test]
fn every_lesson_file_passes_against_live_processes() {
    let files: Vec<_> = std::fs::read_dir(lessons_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md") && !p.ends_with("README.md"))
        .collect();
    assert!(files.len() >= 10, "{:?}", files);
    let runs: Vec<_> = files
        .into_iter()
        .map(|path| {
            std::thread::spawn(move || {
                let out = Command::new(halab_bin())
                    .args(["lesson", "run", path.to_str().unwrap(), "--live"])
                    .output()
                    .unwrap();
                (path, out)
            })
        })
        .collect();
    for run in runs {
        let (path, out) = run.join().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{} failed live:\n{}\n{}",
            path.display(),
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("live halab server processes") && stdout.contains(" 0 failed"), "{}", stdout);
    }
}

#[test]
fn a_failing_expectation_exits_non_zero_and_shows_what_was_seen() {
    let dir = TempDir::new("lesson");
    let text = std::fs::read_to_string(lessons_dir().join("seed000-1.1.5-first-data-session.md")).unwrap();
    let broken = dir.path().join("broken.md");
    std::fs::write(&broken, text.replace("   → (integer) 3", "   → (integer) 4")).unwrap();
    let trace = dir.path().join("trace.txt");
    let out = Command::new(halab_bin())
        .args(["lesson", "run", broken.to_str().unwrap(), "--seed", "7", "--trace", trace.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", stdout);
    assert!(stdout.contains("✗ 4. cli> LPUSH menu pine"), "{}", stdout);
    assert!(stdout.contains("seen:     (integer) 3"), "{}", stdout);
    assert!(stdout.contains("14 passed, 1 failed"), "{}", stdout);
    let trace = std::fs::read_to_string(trace).unwrap();
    assert!(trace.contains("reply cli (integer) 3"), "{}", trace);
}

/// A replica that is still syncing, in a lesson with no `wait`: right after `REPLICAOF` its
/// `GET foo` answers `(nil)`.
const STILL_SYNCING: &str = "# Ask again | 再问一次\n\n## 中文\n\n副本还在同步：再读一次。\n\n## English\n\nThe replica is still syncing: read again.\n\n## Topology\n\n- node master 127.0.0.1:6379\n  ```conf\n  repl-diskless-sync no\n  ```\n- node replica 127.0.0.1:6380\n  ```conf\n  port 6380\n  ```\n- client m -> master\n- client r -> replica\n\n## Steps\n\n1. m> SET foo bar\n   → OK\n2. r> REPLICAOF 127.0.0.1 6379\n   → OK\n3. r> GET foo\n   → \"bar\"\n4. m> INCR n\n   → (integer) 2\n5. m> GET n\n   → \"1\"\n";

/// Live, a read whose expected reply has not come yet is asked again until it comes (the
/// replica's `GET foo` right after `REPLICAOF`), and shown as it matched; a write whose reply
/// is not the expected one fails at once and is not run again (`INCR n` answered 1, and `n`
/// is still 1). The simulator asks once: there the lesson would need a `wait`.
#[test]
fn live_reads_are_asked_again_and_writes_run_once() {
    let dir = TempDir::new("lesson-retry");
    let file = dir.path().join("still-syncing.md");
    std::fs::write(&file, STILL_SYNCING).unwrap();
    let run = |extra: &[&str]| {
        let out =
            Command::new(halab_bin()).args(["lesson", "run", file.to_str().unwrap()]).args(extra).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };

    let (code, live) = run(&["--live"]);
    assert_eq!(code, Some(1), "{}", live);
    assert!(live.contains("✓ 3. r> GET foo"), "{}", live);
    assert!(live.contains("✗ 4. m> INCR n") && live.contains("seen:     (integer) 1"), "{}", live);
    assert!(live.contains("✓ 5. m> GET n"), "{}", live);
    assert!(live.contains("4 passed, 1 failed"), "{}", live);

    let (code, sim) = run(&[]);
    assert_eq!(code, Some(1), "{}", sim);
    assert!(sim.contains("✗ 3. r> GET foo") && sim.contains("seen:     (nil)"), "{}", sim);
}
